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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{parse, Parsed};
    use serde_json::json;

    fn change(v: serde_json::Value) -> AlarmChange {
        match parse(&v) {
            Ok(Parsed::Alarm(c)) => *c,
            other => panic!("{other:?}"),
        }
    }

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(Line::plain).collect()
    }

    #[test]
    fn metric_math_over_two_instances_says_it_is_a_fleet_alarm() {
        let member = |id: &str, instance: &str| json!({"id": id, "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {"InstanceId": instance}}, "period": 60, "stat": "Average"}, "returnData": false});
        let c = change(json!({
            "source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
            "detail": {
                "alarmName": "web-pair-cpu",
                "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2025-07-20T12:20:28.989+0000"},
                "configuration": {"metrics": [
                    member("m1", "i-0ae3d067021f08710"),
                    member("m2", "i-0123456789abcdef0"),
                    {"id": "e1", "expression": "MAX([m1, m2])", "returnData": true}
                ]}
            }
        }));
        assert_eq!(
            plain(&header_lines(&c, Language::En)),
            ["Fleet alarm (metric math over 2 instances): MAX([m1, m2])"]
        );
        // It names its instances, so the instance line shows the first (the others counted); the fleet words are
        // for incidents that name none.
        assert_eq!(c.primary_instance(), Some("i-0ae3d067021f08710"));
        assert_eq!(
            no_instance(&c, Language::En),
            Some("fleet alarm: ranking not available yet".into())
        );
        assert_eq!(headline(&c, "High CPU".into()), "High CPU");
    }

    #[test]
    fn a_contributor_without_attributes_is_a_fleet_incident_in_the_header() {
        let mut v: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../events/fleet-contributor-alarm.json"
            ))
            .unwrap(),
        )
        .unwrap();
        v["detail"]["alarmContributor"]
            .as_object_mut()
            .unwrap()
            .remove("attributes");
        let c = change(v);
        let lines = plain(&header_lines(&c, Language::En));
        assert!(
            lines.contains(&"Contributor: 8c1f4e7a2b9d3605 · no attributes".to_string()),
            "{lines:?}"
        );
        assert_eq!(
            no_instance(&c, Language::En).as_deref(),
            Some("the contributor has no InstanceId — fleet incident: ranking not available yet")
        );
        assert_eq!(implied_previous(&c), Some("OK"));
        assert_eq!(headline(&c, "High CPU".into()), "Fleet High CPU");
    }
}
