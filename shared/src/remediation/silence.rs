//! Being quiet when the account says so: one pure fact from four sources — an active CloudWatch alarm mute rule on
//! the alarm, a closed SSM Change Calendar (a change freeze), the instance's maintenance tag ([`super::maintenance`])
//! and a composite alarm's actions suppressor — and its two effects:
//! - **The action is held** while any of them holds, whatever the priority. A mute rule mutes the alarm's actions in
//!   CloudWatch too (its EC2 reboot or recover actions included), a freeze and a maintenance window are their
//!   owners' explicit word, and a suppressor is there to stop this very alarm's actions: ec2ops acting where
//!   CloudWatch would not is the surprise none of them expects. A source that was configured but could not be read
//!   holds the action as well (fail closed: the freeze may be on), and is named.
//! - **The report is published quietly**: its subject starts with `[muted]` and its header says what silenced it —
//!   still recorded in the ledger and listed by `ec2ops incidents`. A source that could not be read never makes a
//!   report quiet (a read failure must not hide a page). A **P0 status-check failure breaks through**: its report
//!   goes out as loud as any and says what it broke through; its action stays held, and the report gives the
//!   command for a person to run.

use chrono::{DateTime, Utc};

use crate::analyze::{Assessment, Priority, RuleId};
use crate::facts::Facts;
use crate::model::{ActionsSuppressed, AlarmKind, Incident};
use crate::source::{Gap, Source};

use super::maintenance::{maintenance, Maintenance};

/// One thing that silences the incident now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Silence {
    /// A CloudWatch alarm mute rule mutes the alarm's actions now; `expires`: when the rule itself ends.
    Muted {
        rule: String,
        expires: Option<DateTime<Utc>>,
    },
    /// A configured Change Calendar is CLOSED; `until`: when it opens again, when it says.
    Frozen {
        calendar: String,
        until: Option<DateTime<Utc>>,
    },
    /// The instance's maintenance tag declares a window until then.
    Maintenance { until: DateTime<Utc> },
    /// The composite alarm's suppressor suppresses its actions.
    Suppressed(ActionsSuppressed),
}

/// A silence source that was configured but could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Unread {
    /// ListAlarmMuteRules.
    MuteRules,
    /// GetCalendarState of this calendar.
    Calendar(String),
}

/// How loud the report is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loudness {
    /// Nothing silences the incident.
    Loud,
    /// Published quietly: `[muted]` in the subject, what silenced it in the header.
    Quiet(Vec<Silence>),
    /// A P0 status-check failure, as loud as any: it says what it broke through.
    BrokeThrough(Vec<Silence>),
}

/// Everything that silences the incident at `now`, in a fixed order: mute rules, calendars, maintenance, suppressor.
pub fn silences(change: &Incident, facts: &Facts, now: DateTime<Utc>) -> Vec<Silence> {
    let mut out = Vec::new();
    if let Some(Source::Available(rules)) = &facts.silencers.mute_rules {
        out.extend(rules.iter().map(|r| Silence::Muted {
            rule: r.name.clone(),
            expires: r.expires,
        }));
    }
    for (calendar, state) in &facts.silencers.calendars {
        if let Source::Available(s) = state {
            if !s.open {
                out.push(Silence::Frozen {
                    calendar: calendar.clone(),
                    until: s.next_transition.filter(|t| *t > now),
                });
            }
        }
    }
    if let Some(i) = facts.found_instance() {
        if let Maintenance::Until(until) = maintenance(&i.tags, now) {
            out.push(Silence::Maintenance { until });
        }
    }
    if let AlarmKind::Composite {
        suppressed: Some(s),
        ..
    } = &change.kind
    {
        out.push(Silence::Suppressed(s.clone()));
    }
    out
}

/// The configured silence sources that could not be read, with why.
pub fn unread(facts: &Facts) -> Vec<(Unread, Gap)> {
    let mut out = Vec::new();
    if let Some(Source::Unavailable(why)) = &facts.silencers.mute_rules {
        out.push((Unread::MuteRules, why.clone()));
    }
    for (calendar, state) in &facts.silencers.calendars {
        if let Source::Unavailable(why) = state {
            out.push((Unread::Calendar(calendar.clone()), why.clone()));
        }
    }
    out
}

/// Whether the incident is a P0 status-check failure, which breaks through every silence's quiet.
pub fn breaks_through(assessment: &Assessment) -> bool {
    assessment.priority == Priority::P0
        && [RuleId::SysCheck, RuleId::InstCheck, RuleId::EbsCheck]
            .iter()
            .any(|r| assessment.has(*r))
}

/// How loud the incident's report is at `now`.
pub fn loudness(
    change: &Incident,
    facts: &Facts,
    assessment: &Assessment,
    now: DateTime<Utc>,
) -> Loudness {
    let active = silences(change, facts, now);
    if active.is_empty() {
        Loudness::Loud
    } else if breaks_through(assessment) {
        Loudness::BrokeThrough(active)
    } else {
        Loudness::Quiet(active)
    }
}

#[cfg(test)]
mod tests;
