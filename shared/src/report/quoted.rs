//! AWS's own English texts in the report's language: what the text says first, in a sentence of the report's
//! language, then AWS's words quoted once (`AWS 원문: "…"`, `AWS: "…"`). A text the domain cannot read
//! ([`crate::model::aws_text`]) is quoted alone.

use chrono_tz::Tz;

use crate::config::Language;
use crate::model::aws_text::{AlarmReason, HealthEvent, Relation, StateCode, TransitionReason};

use super::text::{hm, sanitize, Line};

/// Most characters of AWS's text a report quotes.
pub(super) const QUOTED_CHARS: usize = 400;

/// AWS's words, quoted once after what they say: ` — AWS 원문: "…"`, or alone when nothing is said before them.
pub(super) fn quote(line: Line, said: bool, raw: &str, max: usize, lang: Language) -> Line {
    let label = match (said, lang) {
        (true, Language::Ko) => " — AWS 원문: \"",
        (true, Language::En) => " — AWS: \"",
        (false, Language::Ko) => "AWS 원문: \"",
        (false, Language::En) => "AWS: \"",
    };
    line.t(label).u(crate::text::bound(raw.trim(), max)).t("\"")
}

/// An alarm's (or a contributor's) state reason: what it says, then CloudWatch's text once.
pub(super) fn alarm_reason(line: Line, raw: &str, max: usize, lang: Language, tz: Tz) -> Line {
    match alarm_sentence(&AlarmReason::parse(raw), lang, tz) {
        Some(s) => quote(line.t(s), true, raw, max, lang),
        None => quote(line, false, raw, max, lang),
    }
}

fn relation(relation: Relation, not: bool, lang: Language) -> String {
    match (relation, not) {
        (Relation::Greater, false) | (Relation::LessOrEqual, true) => l!(lang, "초과", "above"),
        (Relation::GreaterOrEqual, false) | (Relation::Less, true) => {
            l!(lang, "이상", "at or above")
        }
        (Relation::Less, false) | (Relation::GreaterOrEqual, true) => l!(lang, "미만", "below"),
        (Relation::LessOrEqual, false) | (Relation::Greater, true) => {
            l!(lang, "이하", "at or below")
        }
    }
}

/// What a state reason says, in the report's language; `None` for a text not read.
// Stays long: one arm per form of CloudWatch's reason, each a Korean/English phrase pair.
fn alarm_sentence(r: &AlarmReason, lang: Language, tz: Tz) -> Option<String> {
    Some(match r {
        AlarmReason::Crossed {
            crossed,
            of,
            not,
            relation: rel,
            threshold,
            latest,
        } => {
            let threshold = threshold
                .map(|t| l!(lang, "임계값({})", "the threshold ({})", t))
                .unwrap_or_else(|| l!(lang, "임계값", "the threshold"));
            let latest = latest
                .map(|v| l!(lang, " (가장 최근 값 {})", " (latest {})", v))
                .unwrap_or_default();
            let rel = relation(*rel, *not, lang);
            if *of == 1 {
                l!(
                    lang,
                    "datapoint 1개가 {} {}{}",
                    "1 datapoint {1} {0}{2}",
                    threshold,
                    rel,
                    latest
                )
            } else if crossed == of {
                l!(
                    lang,
                    "최근 datapoint {}개 모두 {} {}{}",
                    "all of the last {} datapoints {2} {1}{3}",
                    of,
                    threshold,
                    rel,
                    latest
                )
            } else {
                l!(
                    lang,
                    "최근 datapoint {}개 중 {}개가 {} {}{}",
                    "{1} of the last {0} datapoints {3} {2}{4}",
                    of,
                    crossed,
                    threshold,
                    rel,
                    latest
                )
            }
        }
        AlarmReason::BandCrossed {
            crossed,
            of,
            within,
            latest,
        } => {
            let latest = latest
                .map(|v| l!(lang, " (가장 최근 값 {})", " (latest {})", v))
                .unwrap_or_default();
            if *within {
                l!(
                    lang,
                    "최근 datapoint {}개 중 {}개가 예상 범위(band) 안{}",
                    "{1} of the last {0} datapoints inside the expected band{2}",
                    of,
                    crossed,
                    latest
                )
            } else {
                l!(
                    lang,
                    "최근 datapoint {}개 중 {}개가 예상 범위(band) 밖{}",
                    "{1} of the last {0} datapoints outside the expected band{2}",
                    of,
                    crossed,
                    latest
                )
            }
        }
        AlarmReason::Unknown { datapoints } => l!(
            lang,
            "datapoint {}개가 값 없음 (데이터 미수신)",
            "{} datapoints without a value (no data received)",
            datapoints
        ),
        AlarmReason::NoDatapoints {
            periods,
            treated_as,
        } => {
            let treated = treated_as
                .as_deref()
                .map(|t| {
                    l!(
                        lang,
                        ", 누락분은 {}로 처리",
                        "; the missing ones treated as {}",
                        sanitize(t, 32)
                    )
                })
                .unwrap_or_default();
            l!(
                lang,
                "{}개 period 동안 datapoint 미수신{}",
                "no datapoints received for {} periods{}",
                periods,
                treated
            )
        }
        AlarmReason::MemberTransition { member, state, at } => {
            let at = at
                .map(|t| l!(lang, " {}에", " at {}", hm(t, tz, lang)))
                .unwrap_or_default();
            l!(
                lang,
                "멤버 알람 {}이(가){} {}(으)로 전환",
                "member alarm {} went to {2}{1}",
                sanitize(member, 120),
                at,
                sanitize(state, 20)
            )
        }
        AlarmReason::SeriesInAlarm { in_alarm, of } => l!(
            lang,
            "{}개 중 {}개가 ALARM",
            "{1} of {0} time series in ALARM",
            of,
            in_alarm
        ),
        AlarmReason::NoDataReturned => l!(
            lang,
            "이 시계열의 데이터가 더 이상 반환되지 않음",
            "no data returned for this series any more"
        ),
        AlarmReason::Other => return None,
    })
}

/// What an EC2 state code means, in the report's language.
pub(super) fn state_code(code: StateCode, lang: Language) -> String {
    match code {
        StateCode::InternalError => l!(lang, "AWS 내부 오류", "an internal error on AWS's side"),
        StateCode::InsufficientCapacity => {
            l!(lang, "AWS 용량 부족", "AWS had no capacity for the type")
        }
        StateCode::ScheduledStop => l!(
            lang,
            "예정된 retirement로 AWS가 중지",
            "stopped by AWS for a scheduled retirement"
        ),
        StateCode::SpotReclaimed => l!(lang, "Spot 용량 회수", "Spot capacity reclaimed"),
        StateCode::UserShutdown => l!(
            lang,
            "API 또는 콘솔에서 사용자가 중지",
            "stopped by a user through the API or console"
        ),
        StateCode::UserHibernate => l!(lang, "사용자가 최대 절전", "hibernated by a user"),
        StateCode::InstanceShutdown => l!(
            lang,
            "인스턴스 안에서 shutdown 실행",
            "shut down from inside the instance"
        ),
        StateCode::VolumeLimit => l!(
            lang,
            "EBS 볼륨 한도 초과",
            "the EBS volume limit was exceeded"
        ),
        StateCode::ClientInternalError => l!(
            lang,
            "EBS 암호화 키 등 클라이언트 측 오류",
            "a client-side error, such as an EBS encryption key"
        ),
        StateCode::SnapshotNotFound => l!(
            lang,
            "루트 볼륨의 스냅샷 없음",
            "the root volume's snapshot is missing"
        ),
    }
}

/// EC2's reason for a state, as an evidence line: what the code (or the transition reason) means, then EC2's
/// message quoted once.
pub(super) fn state_reason(
    code: Option<&str>,
    message: Option<&str>,
    lang: Language,
    tz: Tz,
) -> Option<String> {
    let quoted = |s: &str| {
        l!(
            lang,
            " — AWS 원문: \"{}\"",
            " — AWS: \"{}\"",
            sanitize(s, QUOTED_CHARS)
        )
    };
    let meaning = |c: &str| {
        StateCode::parse(c)
            .map(|k| format!(" ({})", state_code(k, lang)))
            .unwrap_or_default()
    };
    Some(match (code, message) {
        // EC2's message repeats the code: the code is said once, its message quoted after it.
        (Some(c), Some(m)) => l!(
            lang,
            "StateReason {}{}{}",
            "StateReason {}{}{}",
            sanitize(c, 64),
            meaning(c),
            quoted(m.strip_prefix(&format!("{c}:")).map_or(m, str::trim_start))
        ),
        (Some(c), None) => l!(
            lang,
            "StateReason {}{}",
            "StateReason {}{}",
            sanitize(c, 64),
            meaning(c)
        ),
        (None, Some(m)) => {
            let said = match TransitionReason::parse(m) {
                Some(TransitionReason::UserInitiated { at }) => {
                    let at = at
                        .map(|t| l!(lang, ", {}", ", {}", super::text::when_in(t, tz, lang)))
                        .unwrap_or_default();
                    l!(
                        lang,
                        ": 사용자가 API 또는 콘솔에서 요청{}",
                        ": requested by a user through the API or console{}",
                        at
                    )
                }
                Some(TransitionReason::Code(k)) => format!(": {}", state_code(k, lang)),
                None => String::new(),
            };
            l!(
                lang,
                "StateTransitionReason{}{}",
                "StateTransitionReason{}{}",
                said,
                quoted(m)
            )
        }
        (None, None) => return None,
    })
}

/// The gist of an AWS Health event type in one line of the report's language; `None` for a type not known here.
pub(super) fn health_gist(code: &str, lang: Language) -> Option<String> {
    Some(match HealthEvent::parse(code)? {
        HealthEvent::Retirement => l!(
            lang,
            "호스트 하드웨어 성능 저하: 기한에 AWS가 인스턴스를 중지(또는 종료), 그 전에 stop/start하면 새 호스트로 이동",
            "the host's hardware is degraded: AWS stops (or terminates) the instance at the deadline; a stop and start before then moves it to a new host"
        ),
        HealthEvent::SystemReboot => l!(lang, "AWS가 호스트 점검을 위해 재부팅 예정 (인스턴스도 함께 재부팅)", "AWS will reboot the host for maintenance (the instance reboots with it)"),
        HealthEvent::InstanceReboot => l!(lang, "AWS가 점검을 위해 인스턴스를 재부팅 예정", "AWS will reboot the instance for maintenance"),
        HealthEvent::Maintenance => l!(lang, "AWS 예정 점검 (중지 또는 재부팅)", "scheduled AWS maintenance (a stop or a reboot)"),
        HealthEvent::RecoverySucceeded => l!(lang, "AWS가 인스턴스를 새 호스트로 자동 복구함", "AWS recovered the instance onto a new host"),
        HealthEvent::RecoveryFailed => l!(lang, "AWS 자동 복구 실패", "AWS automatic recovery failed"),
    })
}

/// An AWS Health event's (or a scheduled event's) description: the gist of its type, then AWS's text once.
pub(super) fn event_description(line: Line, code: &str, raw: &str, lang: Language) -> Line {
    match health_gist(code, lang) {
        Some(g) => quote(line.t(g), true, raw, QUOTED_CHARS, lang),
        None => quote(line, false, raw, QUOTED_CHARS, lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEOUL: Tz = chrono_tz::Asia::Seoul;

    #[test]
    fn a_korean_state_reason_is_a_korean_sentence_then_awss_text_once() {
        let raw = "Threshold Crossed: 1 datapoint was greater than the threshold (20.0). The most recent datapoint which crossed the threshold: [39.58 (20/07/25 12:19:00)].";
        let line = alarm_reason(Line::new(), raw, QUOTED_CHARS, Language::Ko, SEOUL).plain();
        assert_eq!(
            line,
            format!("datapoint 1개가 임계값(20) 초과 (가장 최근 값 39.58) — AWS 원문: \"{raw}\"")
        );
        assert_eq!(line.matches(raw).count(), 1);
        let en = alarm_reason(Line::new(), raw, QUOTED_CHARS, Language::En, SEOUL).plain();
        assert!(
            en.starts_with("1 datapoint above the threshold (20) (latest 39.58) — AWS: "),
            "{en}"
        );
    }

    #[test]
    fn a_reason_not_read_is_quoted_alone() {
        let raw = "Something AWS never wrote before";
        assert_eq!(
            alarm_reason(Line::new(), raw, QUOTED_CHARS, Language::Ko, SEOUL).plain(),
            format!("AWS 원문: \"{raw}\"")
        );
    }

    #[test]
    fn a_composite_reason_names_the_member_and_its_time_in_the_configured_zone() {
        let raw = "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:prod-web-1-cpu-high transitioned to ALARM at Wednesday 05 November, 2025 07:44:10 UTC";
        let line = alarm_reason(Line::new(), raw, QUOTED_CHARS, Language::Ko, SEOUL).plain();
        assert!(
            line.starts_with(
                "멤버 알람 prod-web-1-cpu-high이(가) 16:44 KST에 ALARM(으)로 전환 — AWS 원문: "
            ),
            "{line}"
        );
    }

    #[test]
    fn ec2s_reasons_say_what_they_mean_and_quote_the_message_once() {
        let ko = state_reason(
            Some("Server.InternalError"),
            Some("Server.InternalError: Internal error on launch"),
            Language::Ko,
            SEOUL,
        )
        .unwrap_or_default();
        assert_eq!(
            ko,
            "StateReason Server.InternalError (AWS 내부 오류) — AWS 원문: \"Internal error on launch\""
        );
        let user = state_reason(
            None,
            Some("User initiated (2025-07-20 12:00:00 GMT)"),
            Language::Ko,
            SEOUL,
        )
        .unwrap_or_default();
        assert!(
            user.starts_with(
                "StateTransitionReason: 사용자가 API 또는 콘솔에서 요청, 2025-07-20 21:00"
            ),
            "{user}"
        );
        assert_eq!(user.matches("User initiated").count(), 1);
        assert_eq!(state_reason(None, None, Language::Ko, SEOUL), None);
    }

    #[test]
    fn a_known_health_event_gets_a_gist_and_an_unknown_one_only_its_text() {
        let line = event_description(
            Line::new(),
            "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED",
            "EC2 has detected degradation",
            Language::Ko,
        )
        .plain();
        assert!(line.starts_with("호스트 하드웨어 성능 저하"), "{line}");
        assert!(line.ends_with("AWS 원문: \"EC2 has detected degradation\""));
        let other =
            event_description(Line::new(), "AWS_EC2_OPERATIONAL_ISSUE", "x", Language::Ko).plain();
        assert_eq!(other, "AWS 원문: \"x\"");
    }
}
