//! The evidence an engineer looks up first, gathered so that nobody has to log in for it: what changed just before
//! the transition (CloudTrail, [`changes`]), what the instance's logs say around it (CloudWatch Logs, [`logs`]), what
//! else is alarming on the same instance ([`alarms`]), and console deep links to all of it ([`links`]).
//!
//! Pure but for [`read`] (the reads under their deadlines): the adapters of `ec2ops-aws` read, these modules model,
//! filter, rank and judge. Each source is an `Option<Source<_>>`: `None` when no reader was wired (offline, tests),
//! so an incident gathered without them reads as before; `Some(Unavailable(why))` when the read failed, which the
//! report names as a gap.

pub mod alarms;
pub mod changes;
pub mod impact;
pub mod links;
pub mod logs;

use serde::{Deserialize, Serialize};

use crate::source::{Gap, Source};

/// One line of at most `max` chars: control characters (newlines included) as spaces, the cut marked. What the
/// account wrote (user agents, request parameters, log lines) never breaks the report's layout.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::text::bound(&flat, max)
}

/// What the three evidence sources returned for one incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// CloudTrail management events on the instance, its security groups and volumes.
    #[serde(default)]
    pub changes: Option<Source<changes::Changes>>,
    /// Lines from the instance's CloudWatch Logs streams around the transition.
    #[serde(default)]
    pub logs: Option<Source<logs::LogEvidence>>,
    /// Other alarms on the same instance currently in ALARM.
    #[serde(default)]
    pub alarms: Option<Source<alarms::OtherAlarms>>,
    /// The instance's target groups and what they served (customer impact).
    #[serde(default)]
    pub impact: Option<Source<impact::CustomerImpact>>,
}

impl Evidence {
    /// `(source name, reason)` for each evidence source that was asked and did not answer.
    pub fn gaps(&self) -> Vec<(&'static str, &Gap)> {
        let mut out = Vec::new();
        if let Some(r) = self.changes.as_ref().and_then(Source::reason) {
            out.push(("CloudTrail LookupEvents", r));
        }
        if let Some(r) = self.logs.as_ref().and_then(Source::reason) {
            out.push(("CloudWatch Logs FilterLogEvents", r));
        }
        if let Some(r) = self.alarms.as_ref().and_then(Source::reason) {
            out.push(("DescribeAlarms", r));
        }
        if let Some(r) = self.impact.as_ref().and_then(Source::reason) {
            out.push(("DescribeTargetHealth", r));
        }
        out
    }
}

/// The numbers behind a finding of these rules; the report words them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum EvidenceDetail {
    /// CHANGE-BEFORE: the change closest before the transition, within the window.
    ChangeBefore {
        kind: changes::ChangeKind,
        name: String,
        request: Option<String>,
        who: String,
        by_service: bool,
        at: chrono::DateTime<chrono::Utc>,
        minutes_before: i64,
        window_minutes: i64,
        /// Other changes in the window.
        others: usize,
        /// The alarm went off at this time of day on days before the change (its minute of the day in UTC and the
        /// number of days): a daily pattern the change did not start.
        #[serde(skip_serializing_if = "Option::is_none")]
        recurs_before: Option<(u32, usize)>,
    },
    /// LOG-ERRORS: the instance's logs show `signal` (the gravest found) around the transition.
    LogErrors {
        signal: logs::Signal,
        /// Lines with an error-level signal.
        lines: usize,
        group: String,
    },
}

#[cfg(test)]
pub(crate) use testing::test_alarm;

/// What the unit tests of the evidence rules share.
#[cfg(test)]
mod testing {
    /// An ALARM transition of the sample `cpu-sustained` event at `at` (tests of the rules).
    pub(crate) fn test_alarm(at: chrono::DateTime<chrono::Utc>) -> crate::model::AlarmChange {
        let bytes = include_bytes!("../../../events/cpu-sustained.json");
        match crate::event::parse_bytes(bytes) {
            Ok(crate::event::Parsed::Alarm(c)) => {
                let mut c = *c;
                c.state.at = at;
                c
            }
            other => panic!("{other:?}"),
        }
    }
}
