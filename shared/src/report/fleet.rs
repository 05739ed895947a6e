//! What the report says about fleet alarms (Metrics Insights queries, metric math over several instances) and
//! contributors of multi-time-series alarms: the header lines that say which it is and how many instances breach,
//! the ranking table that opens 📊 (the rest of the report is the hottest instance's analysis), the subject that
//! names the hottest instance, and the words for an incident that names no instance.

use crate::config::Language;
use crate::facts::{Facts, Gap, InAlarm, RankPath, Ranking, Source};
use crate::model::aws_text::AlarmReason;
use crate::model::{AlarmChange, AlarmState, FleetSource};

use super::headline::Headline;
use super::phrasebook;
use super::text::{self, value, Line};
use crate::catalogue::unit_of;

/// The ranking of a fleet incident, when one was attempted.
fn ranking(facts: &Facts) -> Option<&Source<Ranking>> {
    facts.ranking.as_ref()
}

/// The ranking, when it ranked an instance (the report is then that instance's).
pub(super) fn ranked(facts: &Facts) -> Option<&Ranking> {
    ranking(facts)?.get().filter(|r| !r.rows.is_empty())
}

/// The other breaching instances the subject counts (`+2 more`).
pub(super) fn subject_more(facts: &Facts) -> Option<String> {
    let r = ranked(facts)?;
    let top_breaches = r.rows.first().and_then(|x| x.breaching) == Some(true);
    let more = r.breaching.saturating_sub(usize::from(top_breaches));
    (more > 0).then(|| {
        if r.more_may_breach {
            format!(" +{more} or more")
        } else {
            format!(" +{more} more")
        }
    })
}

fn path_words(p: RankPath, lang: Language) -> String {
    match p {
        RankPath::MetricsInsights => l!(
            lang,
            "Metrics Insights 쿼리 (GetMetricData 1회, 알람 쿼리에서 도출)",
            "a Metrics Insights query (one GetMetricData call, derived from the alarm's query)"
        ),
        RankPath::ListMetrics => l!(
            lang,
            "ListMetrics + GetMetricData MetricStat (대체 경로, 여기서 순위 계산)",
            "ListMetrics + GetMetricData MetricStat queries (the fallback, ranked here)"
        ),
    }
}

/// The ranking table that opens 📊: one line per ranked instance, then how it was ranked, then whose analysis
/// follows.
pub(super) fn ranking_lines(
    c: &AlarmChange,
    facts: &Facts,
    lang: Language,
    tz: chrono_tz::Tz,
) -> Vec<Line> {
    let Some(r) = ranked(facts) else {
        return Vec::new();
    };
    let metric = c
        .fleet
        .as_ref()
        .and_then(|f| f.metric.as_deref())
        .unwrap_or("metric");
    let unit = unit_of(metric);
    let function = c
        .fleet
        .as_ref()
        .and_then(|f| f.function.as_deref())
        .unwrap_or("MAX");
    let last = r.end - chrono::Duration::seconds(r.period_secs as i64);
    let mut out = vec![Line::new()
        .t(l!(
            lang,
            "최근 {}분 상위 인스턴스 — ",
            "Top instances of the last {} minutes by ",
            (r.end - r.start).num_minutes()
        ))
        .u(metric)
        .t(l!(
            lang,
            " ({}, {}초 단위, {}):",
            " ({}, per {}s, {}):",
            function,
            r.period_secs,
            text::span(r.start, last, tz, lang)
        ))];
    for (n, row) in r.rows.iter().enumerate() {
        let mark = match row.breaching {
            Some(true) => "🔴",
            Some(false) => "🟢",
            None => "⚪",
        };
        let mut line = Line::new()
            .t(l!(lang, "{} {}위: ", "{} {}. ", mark, n + 1))
            .c(row.instance_id.clone());
        if let Some(name) = &row.name {
            line = line.t(" (").u(name).t(")");
        }
        let mut parts: Vec<String> = Vec::new();
        parts.extend(row.instance_type.clone());
        parts.extend(row.availability_zone.clone());
        if !parts.is_empty() {
            line = line.t(format!(" · {}", parts.join(" · ")));
        }
        let trend: Vec<String> = row.recent.iter().map(|(_, v)| value(*v, unit)).collect();
        line = line.t(l!(
            lang,
            " · 최고 {} ({}) · 트렌드 {}",
            " · peak {} ({}) · trend {}",
            value(row.peak, unit),
            text::hm(row.peak_at, tz, lang),
            trend.join(" → ")
        ));
        line = line.t(match row.breaching {
            Some(true) => l!(lang, " · 임계값 초과", " · breaching"),
            Some(false) => l!(lang, " · 임계값 이하", " · below the threshold"),
            None => l!(lang, " · 임계값 알 수 없음", " · threshold not known"),
        });
        out.push(line);
    }
    out.push(Line::from(l!(
        lang,
        "순위 방법: {} · 인스턴스 {}개 평가",
        "Ranked by {} · {} instances ranked",
        path_words(r.path, lang),
        r.series
    )));
    if let Some(why) = &r.fallback {
        out.push(
            Line::new()
                .t(l!(lang, "대체 경로 사유: ", "Why the fallback: "))
                .u(text::bound(&phrasebook::reason(why, lang), 300)),
        );
    }
    for note in [&r.capped, &r.caveat].into_iter().flatten() {
        out.push(Line::new().t(l!(lang, "주의: ", "Note: ")).u(note));
    }
    if let Some(top) = r.rows.first().filter(|_| !c.is_series_summary()) {
        let mut line = Line::new()
            .t(l!(
                lang,
                "아래 분석은 1위 인스턴스: ",
                "The analysis below is the hottest instance's: "
            ))
            .c(top.instance_id.clone());
        if let Some(name) = &top.name {
            line = line.t(" (").u(name).t(")");
        }
        out.push(line);
    }
    out
}

/// Longest part of the alarm's query shown in the header.
const QUERY_MAX: usize = 200;

/// The header lines after the alarm line: the fleet query, and the contributor with its attributes.
pub(super) fn header_lines(
    c: &AlarmChange,
    facts: &Facts,
    lang: Language,
    tz: chrono_tz::Tz,
) -> Vec<Line> {
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
                "Fleet query (one series per {}): ",
                f.group_by.join(", ")
            ),
            (FleetSource::MetricsInsights, false) => l!(
                lang,
                "플릿 알람 (Metrics Insights, 단일 시계열): ",
                "Fleet query (single series): "
            ),
        };
        out.push(Line::new().t(what).c(text::sanitize(&f.query, QUERY_MAX)));
        match ranking(facts) {
            Some(Source::Available(r)) => {
                let threshold = c.threshold().map(|t| {
                    let unit = unit_of(f.metric.as_deref().unwrap_or(""));
                    let op = c.comparison.map(|x| x.symbol()).unwrap_or(">");
                    format!(" ({op} {})", value(t, unit))
                });
                out.push(Line::from(match threshold {
                    Some(t) => l!(
                        lang,
                        "임계값 초과 인스턴스{}: {}{}개 (순위 평가 {}개 중)",
                        "Instances breaching{}: {}{} of {} ranked",
                        t,
                        if r.more_may_breach { "≥ " } else { "" },
                        r.breaching,
                        r.series
                    ),
                    None => l!(
                        lang,
                        "순위 평가 인스턴스: {}개 (알람 임계값 알 수 없음)",
                        "Instances ranked: {} (the alarm's threshold is not known)",
                        r.series
                    ),
                }));
            }
            Some(Source::Unavailable(why)) => out.push(
                Line::new()
                    .t(l!(
                        lang,
                        "순위(ranking) unavailable: ",
                        "Ranking unavailable: "
                    ))
                    .u(text::bound(&phrasebook::reason(why, lang), 400)),
            ),
            None => {}
        }
        // The alarm-level reason of a multi-time-series alarm counts its series ("1 out of 6 time series evaluated
        // to ALARM"): the only fleet-wide figure the event carries.
        if f.multi_series() && c.contributor().is_none() && !c.state.reason.trim().is_empty() {
            out.push(super::quoted::alarm_reason(
                Line::new().t(l!(lang, "시계열: ", "Series: ")),
                &c.state.reason,
                super::quoted::QUOTED_CHARS,
                lang,
                tz,
            ));
        }
    }
    if let Some(k) = c.contributor() {
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
        // A threshold crossing is said by the persistence line (📊), in the report's words; other reasons here.
        if !c.state.reason.trim().is_empty()
            && crate::model::Crossed::parse(&c.state.reason).is_none()
        {
            let no_data = c.state.value == AlarmState::Ok
                && AlarmReason::parse(&c.state.reason) == AlarmReason::NoDataReturned;
            let mut reason = super::quoted::alarm_reason(
                Line::new().t(l!(lang, "사유: ", "Reason: ")),
                &c.state.reason,
                super::quoted::QUOTED_CHARS,
                lang,
                tz,
            );
            if no_data {
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

/// Contributors listed in the summary (the rest are counted).
const CONTRIBUTORS_LISTED: usize = 10;

/// 📊 of the summary of a multi-time-series alarm's alarm-level event: the contributors in ALARM
/// (DescribeAlarmContributors), or why they are not known and the ranking instead.
pub(super) fn contributor_lines(
    c: &AlarmChange,
    facts: &Facts,
    lang: Language,
    tz: chrono_tz::Tz,
) -> Vec<Line> {
    let mut out = Vec::new();
    match facts.contributors.as_ref() {
        Some(Source::Available(list)) if list.is_empty() => out.push(Line::from(l!(
            lang,
            "ALARM 상태 기여자(contributor) 없음 (DescribeAlarmContributors)",
            "No contributor in ALARM (DescribeAlarmContributors)"
        ))),
        Some(Source::Available(list)) => {
            out.push(Line::from(l!(
                lang,
                "ALARM 상태 기여자(contributor) {}개 (DescribeAlarmContributors):",
                "Contributors in ALARM: {} (DescribeAlarmContributors):",
                list.len()
            )));
            out.extend(
                list.iter()
                    .take(CONTRIBUTORS_LISTED)
                    .map(|k| in_alarm_line(k, lang, tz)),
            );
            if list.len() > CONTRIBUTORS_LISTED {
                out.push(Line::from(l!(
                    lang,
                    "… 외 {}개",
                    "… and {} more",
                    list.len() - CONTRIBUTORS_LISTED
                )));
            }
        }
        Some(Source::Unavailable(why)) => {
            out.push(
                Line::new()
                    .t(l!(
                        lang,
                        "기여자(contributor) 목록 unavailable: ",
                        "Contributors unavailable: "
                    ))
                    .u(text::bound(&phrasebook::reason(why, lang), 300)),
            );
            let ranked = ranking_lines(c, facts, lang, tz);
            if !ranked.is_empty() {
                out.push(Line::from(l!(
                    lang,
                    "대신 알람 메트릭 순위:",
                    "The alarm's metric ranked instead:"
                )));
            }
            out.extend(ranked);
        }
        // Not gathered at all (offline): the reason every source gives.
        None => out.push(
            Line::new()
                .t(l!(
                    lang,
                    "기여자(contributor) 목록 unavailable: ",
                    "Contributors unavailable: "
                ))
                .u(text::bound(
                    &phrasebook::reason(facts.instance.reason().unwrap_or(&Gap::NotGathered), lang),
                    300,
                )),
        ),
    }
    out.push(Line::from(l!(
        lang,
        "이 알림은 알람 단위 요약: 기여자마다 인스턴스 분석이 담긴 보고서가 따로 발송됩니다",
        "This is the alarm-level summary: each contributor gets its own report with its instance's analysis"
    )));
    out
}

fn in_alarm_line(k: &InAlarm, lang: Language, tz: chrono_tz::Tz) -> Line {
    let mut line = Line::new().t("🔴 ");
    match k.instance_id() {
        Some(id) => line = line.c(id.to_string()),
        None => line = line.c(k.id.clone()),
    }
    if let Some(name) = &k.name {
        line = line.t(" (").u(name).t(")");
    }
    if let Some(ty) = &k.instance_type {
        line = line.t(format!(" · {ty}"));
        line = match &k.environment {
            Some(e) => line.t(" · Environment=").u(e),
            None => line.t(l!(
                lang,
                " · Environment 태그 없음",
                " · no Environment tag"
            )),
        };
    }
    for (key, value) in k
        .attributes
        .iter()
        .filter(|(key, _)| key.as_str() != "InstanceId")
    {
        line = line.t(" · ").u(key).t("=").u(value);
    }
    if let Some(at) = k.since {
        line = line.t(l!(lang, " · {}부터", " · since {}", text::hm(at, tz, lang)));
    }
    if !k.reason.trim().is_empty() {
        line = super::quoted::alarm_reason(line.t(" · "), &k.reason, 160, lang, tz);
    }
    line
}

/// The instance line's text when the incident names no instance, for a fleet alarm or a contributor.
pub(super) fn no_instance(c: &AlarmChange, facts: &Facts, lang: Language) -> Option<String> {
    if c.is_series_summary() {
        return Some(l!(
            lang,
            "알람 단위 요약 — 기여자별 보고서가 따로 발송됨",
            "alarm-level summary — each contributor has its own report"
        ));
    }
    let why = match ranking(facts) {
        Some(_) => l!(
            lang,
            "순위 없음 (위 사유) — 인스턴스별 분석 없음",
            "no ranking (see above) — no instance-level analysis"
        ),
        None => l!(lang, "순위(ranking) 없음", "not ranked"),
    };
    if c.contributor().is_some() {
        return Some(l!(
            lang,
            "contributor에 InstanceId 없음 — 플릿 인시던트: {}",
            "the contributor has no InstanceId — fleet incident: {}",
            why
        ));
    }
    c.fleet
        .as_ref()
        .map(|_| l!(lang, "플릿 알람: {}", "fleet alarm: {}", why))
}

/// The headline of a fleet incident that names no instance (or names the top of its ranking) says it is a fleet's.
pub(super) fn headline(c: &AlarmChange, facts: &Facts, headline: Headline) -> Headline {
    let fleet_wide = c.primary_instance().is_none() || ranked(facts).is_some();
    if c.fleet.is_some() && fleet_wide && c.state.value == AlarmState::Alarm {
        Headline::Fleet(Box::new(headline))
    } else {
        headline
    }
}

/// The state a contributor left: its events carry no previous state, and a contributor is only ever ALARM or OK.
pub(super) fn implied_previous(c: &AlarmChange) -> Option<&'static str> {
    c.contributor()?;
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
            plain(&header_lines(
                &c,
                &Facts::default(),
                Language::En,
                chrono_tz::UTC
            )),
            ["Fleet alarm (metric math over 2 instances): MAX([m1, m2])"]
        );
        // It names its instances, so the instance line shows the first (the others counted); the fleet words are
        // for incidents that name none.
        assert_eq!(c.primary_instance(), Some("i-0ae3d067021f08710"));
        assert_eq!(
            no_instance(&c, &Facts::default(), Language::En),
            Some("fleet alarm: not ranked".into())
        );
        assert_eq!(
            headline(&c, &Facts::default(), Headline::HighCpu).say(Language::En),
            "High CPU"
        );
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
        let lines = plain(&header_lines(
            &c,
            &Facts::default(),
            Language::En,
            chrono_tz::UTC,
        ));
        assert!(
            lines.contains(&"Contributor: 8c1f4e7a2b9d3605 · no attributes".to_string()),
            "{lines:?}"
        );
        assert_eq!(
            no_instance(&c, &Facts::default(), Language::En).as_deref(),
            Some("the contributor has no InstanceId — fleet incident: not ranked")
        );
        assert_eq!(implied_previous(&c), Some("OK"));
        assert_eq!(
            headline(&c, &Facts::default(), Headline::HighCpu).say(Language::En),
            "Fleet High CPU"
        );
    }

    #[test]
    fn a_fleet_that_could_not_be_ranked_says_why_and_stays_a_fleet_incident() {
        let c = change(
            serde_json::from_str(
                &std::fs::read_to_string(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../events/fleet-insights-alarm.json"
                ))
                .unwrap(),
            )
            .unwrap(),
        );
        let facts = Facts {
            ranking: Some(Source::Unavailable(Gap::Each(vec![
                (
                    "Metrics Insights".into(),
                    Gap::Failed("cloudwatch GetMetricData: InternalError".into()),
                ),
                ("ListMetrics".into(), Gap::TimedOut { ms: 5000 }),
            ]))),
            ..Facts::unavailable(Gap::Failed("-".into()))
        };
        let lines = plain(&header_lines(&c, &facts, Language::En, chrono_tz::UTC));
        assert_eq!(
            lines.last().map(String::as_str),
            Some("Ranking unavailable: Metrics Insights: cloudwatch GetMetricData: InternalError; ListMetrics: timed out after 5000 ms")
        );
        assert_eq!(
            no_instance(&c, &facts, Language::En).as_deref(),
            Some("fleet alarm: no ranking (see above) — no instance-level analysis")
        );
        assert!(ranking_lines(&c, &facts, Language::En, chrono_tz::UTC).is_empty());
        assert_eq!(subject_more(&facts), None);
        assert_eq!(
            headline(&c, &facts, Headline::HighCpu).say(Language::En),
            "Fleet High CPU"
        );
    }
}
