//! The rules fed by the evidence sources (`crate::evidence`): CHANGE-BEFORE from CloudTrail, LOG-ERRORS from
//! CloudWatch Logs, and the log lines that corroborate MEM and DISK.

use crate::evidence::changes::{self, Changes};
use crate::evidence::logs::{self, LogEvidence, Signal};
use crate::evidence::EvidenceDetail;
use crate::facts::{Facts, Source};
use crate::model::{AlarmChange, AlarmState};

use super::{Detail, Finding, Observation, RuleId};

/// The rules fed by this evidence (CHANGE-BEFORE, LOG-ERRORS) and the log lines that corroborate the other rules'
/// findings (an OOM kill behind MEM, "No space left on device" behind DISK), given the findings so far.
pub fn findings(change: &AlarmChange, facts: &Facts, so_far: &mut Vec<Finding>) {
    let ev = &facts.evidence;
    if let Some(c) = ev.changes.as_ref().and_then(Source::get) {
        so_far.extend(change_before(change, c).map(|f| with_recurrence(f, change, facts)));
    }
    if let Some(l) = ev.logs.as_ref().and_then(Source::get) {
        corroborate(l, so_far);
        so_far.extend(log_errors(change, l, so_far));
    }
}

/// CHANGE-BEFORE: the latest change at most `window_minutes` before the transition is named as the likely trigger
/// (of a burst of changes by one identity, the most telling: a resize over the stop and start around it); every
/// change in the window is evidence.
pub fn change_before(change: &AlarmChange, changes: &Changes) -> Option<Finding> {
    let (latest, within) = changes::trigger(change, changes)?;
    let at = change.state.at;
    let minutes_before = (at - latest.event.at).num_minutes();
    Some(Finding {
        rule: RuleId::ChangeBefore,
        detail: Detail::Evidence(EvidenceDetail::ChangeBefore {
            kind: latest.kind,
            name: latest.event.name.clone(),
            request: latest.event.request.clone(),
            who: latest.event.who(),
            by_service: latest.event.by_service(),
            at: latest.event.at,
            minutes_before,
            window_minutes: changes.window_minutes,
            others: within.len().saturating_sub(1),
            recurs_before: None,
        }),
        // The trigger alone: 📊's "What changed" lists every change in the window.
        evidence: vec![Observation::Change(Box::new(latest.clone()))],
    })
}

/// A change is not the trigger of an alarm that went off at the same time of day on three or more days before it:
/// the finding says so, with the pattern's time, and the change is what may have cut the headroom.
fn with_recurrence(mut f: Finding, change: &AlarmChange, facts: &Facts) -> Finding {
    use chrono::Timelike;
    let Some(history) = facts.history.get() else {
        return f;
    };
    let Some(pattern) = history.daily_pattern() else {
        return f;
    };
    if let Detail::Evidence(EvidenceDetail::ChangeBefore {
        at, recurs_before, ..
    }) = &mut f.detail
    {
        let mut days: Vec<_> = history
            .alarm_times()
            .filter(|t| t < at)
            .map(|t| t.date_naive())
            .collect();
        days.sort();
        days.dedup();
        let now = change.state.at.hour() * 60 + change.state.at.minute();
        let off = now.abs_diff(pattern.center_minute);
        let near = off.min(1440 - off) <= crate::facts::DAILY_SPREAD_MINUTES;
        if days.len() >= 3 && near {
            *recurs_before = Some((pattern.center_minute, days.len()));
        }
    }
    f
}

/// Cite the log lines that back the findings so far: OOM lines behind MEM, disk-full lines behind DISK. (Behind a
/// failed instance check, the lines make a LOG-ERRORS finding of their own, which names what they show.)
pub fn corroborate(l: &LogEvidence, findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        let wanted: &[Signal] = match f.rule {
            RuleId::Mem => &[Signal::Oom],
            RuleId::Disk => &[Signal::DiskFull],
            _ => continue,
        };
        f.evidence.extend(
            logs::with_signal(l, wanted)
                .take(2)
                .map(|l| Observation::LogLine(Box::new(l.clone()))),
        );
    }
}

/// LOG-ERRORS: error-level lines around an ALARM (or INSUFFICIENT_DATA) transition, named by the gravest signal —
/// unless that signal already backs a MEM or DISK finding (its lines are cited there).
pub fn log_errors(change: &AlarmChange, l: &LogEvidence, findings: &[Finding]) -> Option<Finding> {
    if change.state.value == AlarmState::Ok {
        return None;
    }
    let gravest = l.lines.iter().filter_map(|x| x.signal).min()?;
    let covered = match gravest {
        Signal::Oom => findings.iter().any(|f| f.rule == RuleId::Mem),
        Signal::DiskFull => findings.iter().any(|f| f.rule == RuleId::Disk),
        _ => false,
    };
    if covered {
        return None;
    }
    let first = l.lines.iter().find(|x| x.signal == Some(gravest))?;
    Some(Finding {
        rule: RuleId::LogErrors,
        detail: Detail::Evidence(EvidenceDetail::LogErrors {
            signal: gravest,
            lines: l.signals,
            group: first.group.clone(),
        }),
        evidence: l
            .lines
            .iter()
            .filter(|x| x.signal.is_some())
            .take(3)
            .map(|l| Observation::LogLine(Box::new(l.clone())))
            .collect(),
    })
}
