//! The chat card's extras: its next-step commands (taken from 🔧) and its keywords, from the built sections and the
//! assessment.

use crate::analyze::Environment;
use crate::facts::InstanceFacts;

use super::actions::{actions, summary_actions};
use super::text;
use super::Ctx;

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
