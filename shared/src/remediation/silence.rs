//! Being quiet when the account says so: one pure fact from four sources — an active CloudWatch alarm mute rule on
//! the alarm, a closed SSM Change Calendar (a change freeze), the instance's maintenance tag ([`super::maintenance`])
//! and a composite alarm's actions suppressor — and its two effects:
//! - **The action is held** while any of them holds, whatever the priority. A mute rule mutes the alarm's actions in
//!   CloudWatch too (its EC2 reboot or recover actions included), a freeze and a maintenance window are their
//!   owners' explicit word, and a suppressor is there to stop this very alarm's actions: ec2ops acting where
//!   CloudWatch would not is the surprise none of them expects. A source that was configured but could not be read
//!   holds the action as well (fail closed: the freeze may be on), and is named.
//! - **The report is published quietly** — under a mute rule, a maintenance window or a suppressor in ALARM, not under
//!   a change freeze (a freeze stops changes, not pages): its subject starts with `[muted]`, it never goes to the
//!   paging topic, and its header says what silenced it — still recorded in the ledger and listed by `ec2ops
//!   incidents`. A source that could not be read never makes a report quiet (a read failure must not hide a page).
//!   A **P0 status-check failure breaks through**: its report goes out as loud as any and says what it broke
//!   through; its action stays held, and the report gives the command for a person to run.
//!
//! Mute rules apply to an alarm's incidents, and to the sweep's through the alarms watching the instance's check
//! (DescribeAlarmsForMetric): a rule muting the instance's check alarm holds the sweep's action on it too. AWS
//! Health's incidents have no alarm: a freeze or a maintenance tag holds them, a mute rule does not.

use chrono::{DateTime, Utc};

use crate::analyze::{Assessment, Priority, RuleId};
use crate::facts::Facts;
use crate::model::{ActionsSuppressed, AlarmKind, Cause, Incident, SuppressedBy};
use crate::source::{Gap, Source};

use super::maintenance::{maintenance, Maintenance};

/// One thing that silences the incident now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Silence {
    /// A CloudWatch alarm mute rule mutes the alarm's actions now; `expires`: when the rule itself ends; `alarm`: the
    /// alarm it mutes when that is not the incident's own (the sweep's incident: the instance's check alarm).
    Muted {
        rule: String,
        expires: Option<DateTime<Utc>>,
        alarm: Option<String>,
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
            alarm: r.alarm.clone(),
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
    // A fleet alarm's own event is about the fleet: the maintenance of the instance it was focused on (its busiest,
    // likely the one being worked on) silences none of the others.
    let fleet_wide = change.fleet.is_some() && matches!(change.cause, Cause::Alarm(_));
    if let (Some(i), false) = (facts.found_instance(), fleet_wide) {
        if let Maintenance::Until(until) = maintenance(&i.tags, now) {
            out.push(Silence::Maintenance { until });
        }
    }
    // Only a suppressor in ALARM silences: in its WaitPeriod or ExtensionPeriod CloudWatch performs the composite's
    // actions once the period ends, and no later event would tell ec2ops.
    if let AlarmKind::Composite {
        suppressed: Some(s),
        ..
    } = &change.kind
    {
        if s.by == SuppressedBy::Alarm {
            out.push(Silence::Suppressed(s.clone()));
        }
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

/// How loud the incident's report is at `now`. A change freeze holds the action but does not quiet the report: it is
/// a promise not to change production, not a promise not to be told (a freeze is when a page matters most).
pub fn loudness(
    change: &Incident,
    facts: &Facts,
    assessment: &Assessment,
    now: DateTime<Utc>,
) -> Loudness {
    let active: Vec<Silence> = silences(change, facts, now)
        .into_iter()
        .filter(|s| !matches!(s, Silence::Frozen { .. }))
        .collect();
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
