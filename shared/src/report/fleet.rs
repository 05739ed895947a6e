//! What the report says about fleet alarms (Metrics Insights queries, metric math over several instances) and
//! contributors of multi-time-series alarms: the header lines that say which it is, and the words for an incident
//! that names no instance. The ranking of the fleet's instances is not built yet; the report says so.

use crate::config::Language;
use crate::model::{AlarmChange, AlarmState, FleetSource};

use super::text::{self, Line};

/// Longest part of the alarm's query shown in the header.
const QUERY_MAX: usize = 200;

/// The header lines after the alarm line: the fleet query, and the contributor with its attributes.
pub(super) fn header_lines(c: &AlarmChange, lang: Language) -> Vec<Line> {
    let mut out = Vec::new();
    if let Some(f) = &c.fleet {
        let what = match (f.source, f.multi_series()) {
            (FleetSource::MetricMath, _) => l!(
                lang,
                "플릿 알람 (metric math, 인스턴스 {}개): ",
                "Fleet alarm (metric math over {} instances): ",
                f.instances.len()
            ),
            (FleetSource::MetricsInsights, true) => l!(
                lang,
                "플릿 알람 (Metrics Insights, 시계열별 평가 · GROUP BY {}): ",
                "Fleet alarm (Metrics Insights, one series per {}): ",
                f.group_by.join(", ")
            ),
            (FleetSource::MetricsInsights, false) => l!(
                lang,
                "플릿 알람 (Metrics Insights, 단일 시계열): ",
                "Fleet alarm (Metrics Insights, single series): "
            ),
        };
        out.push(Line::new().t(what).c(text::sanitize(&f.query, QUERY_MAX)));
        // The alarm-level reason of a multi-time-series alarm counts its series ("1 out of 6 time series evaluated
        // to ALARM"): the only fleet-wide figure the event carries.
        if f.multi_series() && c.contributor.is_none() && !c.state.reason.trim().is_empty() {
            out.push(
                Line::new()
                    .t(l!(lang, "시계열: ", "Series: "))
                    .u(&c.state.reason),
            );
        }
    }
    if let Some(k) = &c.contributor {
        let mut line = Line::new()
            .t(l!(lang, "기여자(contributor): ", "Contributor: "))
            .c(k.id.clone());
        if k.attributes.is_empty() {
            line = line.t(l!(lang, " · 속성 없음", " · no attributes"));
        }
        for (key, value) in &k.attributes {
            line = line.t(" · ").u(key).t("=").u(value);
        }
        out.push(line);
        if !c.state.reason.trim().is_empty() {
            let mut reason = Line::new()
                .t(l!(lang, "사유: ", "Reason: "))
                .u(&c.state.reason);
            if c.state.value == AlarmState::Ok && c.state.reason.contains("No data was returned") {
                reason = reason.t(l!(
                    lang,
                    " — 시계열 보고 중단 (인스턴스 중지·종료 또는 필터 변경 가능)",
                    " — the series stopped reporting (the instance may be stopped or gone, or left the query's filter)"
                ));
            }
            out.push(reason);
        }
    }
    out
}

/// The instance line's text when the incident names no instance, for a fleet alarm or a contributor.
pub(super) fn no_instance(c: &AlarmChange, lang: Language) -> Option<String> {
    if c.contributor.is_some() {
        return Some(l!(
            lang,
            "contributor에 InstanceId 없음 — 플릿 인시던트: 순위(ranking)는 아직 제공되지 않음",
            "the contributor has no InstanceId — fleet incident: ranking not available yet"
        ));
    }
    c.fleet.as_ref().map(|_| {
        l!(
            lang,
            "플릿 알람: 순위(ranking)는 아직 제공되지 않음",
            "fleet alarm: ranking not available yet"
        )
    })
}

/// The headline of a fleet incident that names no instance says it is a fleet's.
pub(super) fn headline(c: &AlarmChange, headline: String) -> String {
    if c.fleet.is_some() && c.primary_instance().is_none() && c.state.value == AlarmState::Alarm {
        format!("Fleet {headline}")
    } else {
        headline
    }
}

/// The state a contributor left: its events carry no previous state, and a contributor is only ever ALARM or OK.
pub(super) fn implied_previous(c: &AlarmChange) -> Option<&'static str> {
    c.contributor.as_ref()?;
    match c.state.value {
        AlarmState::Alarm => Some("OK"),
        AlarmState::Ok => Some("ALARM"),
        AlarmState::InsufficientData => None,
    }
}
