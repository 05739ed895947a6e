//! The chat card's extras: its next-step commands (taken from 🔧) and its keywords, from the built sections and the
//! assessment.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::analyze::{
    Assessment, CheckNow, Detail, Environment, Finding, HealthKind, Pressure, Priority, Reason,
    RuleId, StopCause,
};
use crate::config::Language;
use crate::facts::{Facts, InstanceFacts, InstanceLookup, Role, Series, Source};
use crate::model::{AlarmChange, AlarmKind, AlarmState, Comparison, InputKind};
use crate::pricing::{self, HOURS_PER_MONTH};
use crate::remediation::{ActionKind, ActionOutcome, Fact, Hold, Uncorroborated};

use super::actions::{actions, auto_recovery_status, cli, clis, step, summary_actions};
use super::automation::automation;
use super::cost::{cost, monthly, signed_usd};
use super::findings::{finding_line, status_check_conclusion};
use super::header::{
    header, headline, kind_name, metric_label, subject, title, trend_points, window_value_at,
};
use super::improvements::long_term;
use super::outcome::{action_lines, action_name, fact_name, hold_line, not_corroborated_line};
use super::recovery::{self, AutoRecovery, NotAvailable};
use super::remedy::{asg_steps, capacity_steps, force_hint, lookup_events, volume_steps};
use super::security::security;
use super::shell::Command;
use super::situation::{contributors_situation, series_summary, situation};
use super::text::{
    self, bytes, day_minute, hm, span, sparkline, unit_of, usd, value, when_in, Line, Unit,
};
use super::urgency::{priority_name, reason_line, urgency};
use super::{evidence, fleet, section, steps, summary, Ctx, Recommended, Section};

/// Most commands the chat card lists as next steps.
pub(super) const MAX_NEXT_STEPS: usize = 5;

pub(super) fn next_steps(cx: &Ctx<'_>) -> Vec<String> {
    // The chat card's next steps: the operator commands of section 🔧, plain, a step's commands whole or not at
    // all (a Run Command without the reading of its output is no use) — and never a step that stops the instance,
    // which shown bare would lose the note that says so (downtime, a new public IP).
    let sec = if cx.change.is_series_summary() {
        summary_actions(cx)
    } else {
        actions(cx)
    };
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut in_group = false;
    for l in &sec.lines {
        let is_cmd = l.0.iter().any(|p| matches!(p, text::Piece::Code(_)));
        if is_cmd {
            let cmd = l.plain().trim().trim_start_matches("$ ").to_string();
            match groups.last_mut() {
                Some(g) if in_group => g.push(cmd),
                _ => groups.push(vec![cmd]),
            }
        }
        in_group = is_cmd;
    }
    let mut out = Vec::new();
    for g in groups
        .into_iter()
        .filter(|g| !g.iter().any(|c| stops_the_instance(c)))
    {
        if out.len() + g.len() > MAX_NEXT_STEPS {
            break;
        }
        out.extend(g);
    }
    out
}

/// Whether a command stops the instance (a stop, or a type change, which needs one).
pub(super) fn stops_the_instance(cmd: &str) -> bool {
    [
        "aws ec2 stop-instances",
        "aws ec2 modify-instance-attribute",
    ]
    .iter()
    .any(|p| cmd.starts_with(p))
}

pub(super) fn keywords(cx: &Ctx<'_>) -> Vec<String> {
    let mut k = vec![
        cx.a.priority.label().to_string(),
        cx.change.state.value.as_str().to_string(),
    ];
    k.extend(cx.a.findings.iter().map(|f| f.rule.code().to_string()));
    if let Some(id) = cx.instance_id {
        k.push(id.to_string());
    }
    k.push(cx.region.clone());
    if let Environment::Production(_) | Environment::NonProduction(_) = &cx.a.environment {
        if let Some(e) = cx.instance.and_then(InstanceFacts::environment) {
            k.push(text::sanitize(e, 30));
        }
    }
    k.dedup();
    k.truncate(10);
    k
}
