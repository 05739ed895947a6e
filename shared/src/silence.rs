//! What the account says about staying quiet, as read for one incident: the CloudWatch alarm mute rules muting the
//! alarm's actions now, and the SSM Change Calendars configured as change freezes. Both are optional: each is read
//! only when its setting turns it on (`EC2OPS_MUTE_RULES`, `EC2OPS_CHANGE_CALENDARS`). The other two ways to be
//! quiet need no read: a composite's suppressor comes in the event ([`crate::model::ActionsSuppressed`]) and a
//! maintenance window is a tag of the instance (`remediation::maintenance`). `remediation::silence` combines the four
//! into what the incident may do and how loud its report is.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::source::Source;

/// A mute rule muting the alarm's actions now (ListAlarmMuteRules, status `ACTIVE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MuteRule {
    /// The rule's name (the last part of its ARN), bounded.
    pub name: String,
    /// When the rule itself expires (its `ExpireDate`), when it has one. This is not the end of the current mute
    /// window: a recurring rule mutes for its duration at every occurrence until then.
    pub expires: Option<DateTime<Utc>>,
    /// The alarm it mutes, when that is not the incident's own (the sweep's incident: the instance's check alarm).
    #[serde(default)]
    pub alarm: Option<String>,
}

/// Alarms whose mute rules a sweep incident looks up at most (the first names DescribeAlarmsForMetric gives).
pub const MAX_CHECK_ALARMS: usize = 3;

/// A Change Calendar's state at the time asked (GetCalendarState).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarState {
    /// `OPEN`: changes are allowed; `CLOSED`: a change freeze.
    pub open: bool,
    /// When the state next changes, when the calendar says.
    pub next_transition: Option<DateTime<Utc>>,
}

/// What was read of the account's silences for one incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Silencers {
    /// The mute rules muting the alarm now; `None` when not looked up (mute rules off, or no alarm behind the
    /// incident: a state change, a Health event, the sweep).
    #[serde(default)]
    pub mute_rules: Option<Source<Vec<MuteRule>>>,
    /// Each configured Change Calendar, in the settings' order, with its state now.
    #[serde(default)]
    pub calendars: Vec<(String, Source<CalendarState>)>,
    /// When they were read: the time the decision is taken at, which the report's loudness is judged at too (a
    /// maintenance window that ended between the transition and the handling is over for both).
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
}

/// A mute rule's name from its ARN (`arn:aws:cloudwatch:<region>:<account>:alarm-mute-rule:<name>`); the ARN itself,
/// bounded, when it has no such part.
pub fn rule_name(arn: &str) -> String {
    let name = arn
        .rsplit_once(":alarm-mute-rule:")
        .map(|(_, n)| n)
        .or_else(|| arn.rsplit_once(':').map(|(_, n)| n))
        .unwrap_or(arn);
    crate::text::bound(name.trim(), 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mute_rules_name_is_the_last_part_of_its_arn() {
        assert_eq!(
            rule_name(
                "arn:aws:cloudwatch:ap-northeast-2:111122223333:alarm-mute-rule:nightly-backup"
            ),
            "nightly-backup"
        );
        assert_eq!(rule_name("weekend"), "weekend");
        assert_eq!(rule_name(&"x".repeat(400)).chars().count(), 128);
    }
}
