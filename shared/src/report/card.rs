//! The chat card's extras: its next-step commands (🔧's command groups) and its keywords (the assessment).

use crate::analyze::Environment;
use crate::facts::InstanceFacts;
use crate::model::Cause;

use super::actions::{plan, summary_plan};
use super::shell::Command;
use super::text;
use super::Ctx;

/// Most commands the chat card lists as next steps.
pub(super) const MAX_NEXT_STEPS: usize = 5;

pub(super) fn next_steps(cx: &Ctx<'_>) -> Vec<Command> {
    let plan = if cx.change.is_series_summary() {
        summary_plan(cx)
    } else {
        plan(cx)
    };
    chosen(plan.groups())
}

/// The chat card's next steps from 🔧's command groups: a step's commands whole or not at all (a Run Command without
/// the reading of its output is no use), and never a step that stops or starts the instance, which shown bare would
/// lose the note that says so (downtime, a new public IP, a termination) or what to check before it, nor a volume change or
/// anything after it.
pub(super) fn chosen(groups: &[Vec<Command>]) -> Vec<Command> {
    let mut out = Vec::new();
    let changes_state = |c: &Command| {
        stops_the_instance(c)
            || c.runs("aws ec2 start-instances")
            || c.runs("aws autoscaling set-instance-health")
    };
    for g in groups.iter().filter(|g| !g.iter().any(changes_state)) {
        // A volume change is not a bare next step (EBS takes the next one only six hours later), and what follows
        // it (the check of the modification, the file system grown over it) means nothing without it.
        if g.iter().any(|c| c.runs("aws ec2 modify-volume")) {
            break;
        }
        if out.len() + g.len() > MAX_NEXT_STEPS {
            break;
        }
        out.extend(g.iter().cloned());
    }
    out
}

/// Whether a command stops the instance (a stop, or a type change, which needs one).
pub(super) fn stops_the_instance(cmd: &Command) -> bool {
    cmd.runs("aws ec2 stop-instances") || cmd.runs("aws ec2 modify-instance-attribute")
}

pub(super) fn keywords(cx: &Ctx<'_>) -> Vec<String> {
    // The input's own state: an alarm's (ALARM, OK), an instance's (STOPPED), a Health event or the sweep's finding.
    let state = match &cx.change.cause {
        Cause::StateChange { state } => state.as_str().to_ascii_uppercase(),
        Cause::Health(_) => "HEALTH".to_string(),
        Cause::Sweep { .. } => "IMPAIRED".to_string(),
        Cause::Alarm(_) | Cause::Contributor { .. } => cx.change.state.value.as_str().to_string(),
    };
    let mut k = vec![cx.a.priority.label().to_string(), state];
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_steps_are_whole_command_groups_that_do_not_stop_the_instance() {
        let send = vec![
            Command::new("aws ssm send-command"),
            Command::new("aws ssm wait command-executed"),
            Command::new("aws ssm get-command-invocation"),
        ];
        let resize = vec![
            Command::new("aws ec2 stop-instances"),
            Command::new("aws ec2 wait instance-stopped"),
            Command::new("aws ec2 start-instances"),
        ];
        let image = vec![Command::new("aws ec2 create-image")];
        let again = send.clone();
        let chosen: Vec<String> = chosen(&[send, resize, image, again])
            .iter()
            .map(Command::render)
            .collect();
        assert_eq!(
            chosen,
            [
                "aws ssm send-command",
                "aws ssm wait command-executed",
                "aws ssm get-command-invocation",
                "aws ec2 create-image"
            ],
            "the stop sequence is left out, and a group that does not fit whole is not cut"
        );
    }
}
