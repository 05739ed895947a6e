//! The safety envelope: whether ec2ops may reboot or recover an instance, as a pure decision over the assessment,
//! the facts and the ledger's view of recent actions. Every refusal carries its reason for the report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analyze::{Assessment, RuleId};
use crate::config::{Envelope, RemediationMode};
use crate::facts::{Facts, Source};
use crate::model::{AlarmChange, AlarmState};

/// What ec2ops can do to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionKind {
    /// RebootInstances (instance status check failed).
    Reboot,
    /// StopInstances, wait for stopped, StartInstances (system status check failed; EBS-backed only).
    StopStart,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Reboot => "reboot",
            ActionKind::StopStart => "stop-start",
        }
    }
}

/// What the ledger knows about recent actions and impairments (gathered with the other facts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerView {
    /// When an earlier delivery of this same incident acted (a retry after a failed publish).
    pub this_incident_action: Option<DateTime<Utc>>,
    /// When ec2ops last acted on this instance, newest first (last 24 h).
    pub instance_actions: Vec<DateTime<Utc>>,
    /// Actions account-wide in the last hour.
    pub account_actions_last_hour: usize,
    /// Other instances with a status-check incident in the same AZ in the last 10 minutes.
    pub az_impaired: Vec<String>,
    /// Other incidents on this same instance's status checks in the last 10 minutes (`check: alarm or key`), so
    /// that their reports name each other.
    #[serde(default)]
    pub same_instance: Vec<String>,
}

/// Why an action was not taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Hold {
    NotOptedIn {
        tag: String,
    },
    NotRunning {
        state: String,
    },
    InstanceStore,
    AutoScalingGroup {
        group: String,
    },
    ScheduledEvent {
        code: String,
    },
    AzEvent {
        impaired: usize,
    },
    Cooldown {
        last: DateTime<Utc>,
        until: DateTime<Utc>,
    },
    DailyCap {
        cap: usize,
    },
    HourlyCap {
        cap: usize,
    },
    LedgerUnavailable {
        why: String,
    },
    InstanceUnknown {
        why: String,
    },
    /// Another incident on the same instance takes the stronger action (recover beats reboot).
    DeferredTo {
        action: ActionKind,
        incident: String,
    },
    /// Another incident on the same instance is acting on it now (the per-instance lock).
    InstanceBusy {
        incident: String,
        until: DateTime<Utc>,
    },
}

/// The decision for one incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Decision {
    /// Remediation mode is off.
    Off,
    /// Nothing ec2ops would do automatically for this incident (CPU, EBS path, OK, …): advice only.
    AdviceOnly,
    /// An action fits, but the envelope refuses it.
    Held {
        action: ActionKind,
        holds: Vec<Hold>,
    },
    /// Call EC2 with DryRun.
    DryRun { action: ActionKind },
    /// Act.
    Act { action: ActionKind },
    /// An earlier delivery of this incident already acted: never twice.
    AlreadyDone {
        action: ActionKind,
        at: DateTime<Utc>,
    },
}

/// The action a finding calls for, if any.
pub fn action_for(change: &AlarmChange, assessment: &Assessment) -> Option<ActionKind> {
    if change.state.value != AlarmState::Alarm
        || assessment.has(RuleId::Gone)
        || assessment.has(RuleId::EbsCheck)
    {
        // An attached-EBS failure is not fixed by a reboot; a gone instance has nothing to fix.
        return None;
    }
    if assessment.has(RuleId::SysCheck) {
        Some(ActionKind::StopStart)
    } else if assessment.has(RuleId::InstCheck) {
        Some(ActionKind::Reboot)
    } else {
        None
    }
}

/// Decide under the envelope. Every applicable hold is listed, not just the first.
pub fn decide(
    change: &AlarmChange,
    facts: &Facts,
    assessment: &Assessment,
    mode: RemediationMode,
    envelope: &Envelope,
    now: DateTime<Utc>,
) -> Decision {
    let Some(action) = action_for(change, assessment) else {
        return if mode == RemediationMode::Off {
            Decision::Off
        } else {
            Decision::AdviceOnly
        };
    };
    if mode == RemediationMode::Off {
        return Decision::Off;
    }
    if let Some(at) = facts.ledger.get().and_then(|v| v.this_incident_action) {
        return Decision::AlreadyDone { action, at };
    }
    let mut holds = Vec::new();
    match facts.found_instance() {
        None => holds.push(Hold::InstanceUnknown {
            why: facts
                .instance
                .reason()
                .unwrap_or("the instance was not found")
                .to_string(),
        }),
        Some(i) => {
            let opted_in = i
                .tags
                .get(&envelope.opt_in_tag)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            if !opted_in {
                holds.push(Hold::NotOptedIn {
                    tag: envelope.opt_in_tag.clone(),
                });
            }
            if !i.is_running() {
                holds.push(Hold::NotRunning {
                    state: i.state.clone(),
                });
            }
            let instance_store = i.root_device_type.as_deref() == Some("instance-store")
                || facts
                    .instance_type
                    .get()
                    .is_some_and(|t| t.instance_storage);
            if action == ActionKind::StopStart && instance_store {
                holds.push(Hold::InstanceStore);
            }
            if let Some(group) = i.asg() {
                holds.push(Hold::AutoScalingGroup {
                    group: group.to_string(),
                });
            }
        }
    }
    if let Some(e) = facts.status.get().and_then(|s| s.scheduled_events.first()) {
        holds.push(Hold::ScheduledEvent {
            code: e.code.clone(),
        });
    }
    match &facts.ledger {
        Source::Unavailable(why) => holds.push(Hold::LedgerUnavailable { why: why.clone() }),
        Source::Available(view) => {
            if assessment.has(RuleId::AzEvent) {
                holds.push(Hold::AzEvent {
                    impaired: view.az_impaired.len() + 1,
                });
            }
            if let Some(last) = view.instance_actions.iter().max() {
                let until = *last + envelope.cooldown;
                if now < until {
                    holds.push(Hold::Cooldown { last: *last, until });
                }
            }
            let today = view
                .instance_actions
                .iter()
                .filter(|t| now - **t < chrono::Duration::hours(24))
                .count();
            if today >= envelope.daily_cap {
                holds.push(Hold::DailyCap {
                    cap: envelope.daily_cap,
                });
            }
            if view.account_actions_last_hour >= envelope.hourly_cap {
                holds.push(Hold::HourlyCap {
                    cap: envelope.hourly_cap,
                });
            }
        }
    }
    if !holds.is_empty() {
        return Decision::Held { action, holds };
    }
    match mode {
        RemediationMode::DryRun => Decision::DryRun { action },
        _ => Decision::Act { action },
    }
}

/// A one-time check, later, that an action worked: the payload EventBridge Scheduler sends back to the function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub incident_key: String,
    pub thread_id: String,
    pub instance_id: String,
    pub action: ActionKind,
    pub acted_at: DateTime<Utc>,
    pub alarm_name: String,
    pub region: Option<String>,
}

/// The event source and detail type of a verification event.
pub const VERIFY_SOURCE: &str = "ec2ops";
pub const VERIFY_DETAIL_TYPE: &str = "ec2ops.verify";

impl VerifyRequest {
    /// The event the schedule delivers.
    pub fn to_event(&self) -> serde_json::Value {
        serde_json::json!({ "source": VERIFY_SOURCE, "detail-type": VERIFY_DETAIL_TYPE, "detail": self })
    }
}

/// What happened, for the report's 🔧 section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ActionOutcome {
    /// Remediation mode is off: advice only.
    ReportOnly,
    /// No automatic action fits this incident.
    AdviceOnly,
    Held {
        action: ActionKind,
        holds: Vec<Hold>,
    },
    /// EC2 answered the DryRun call: `allowed` is whether the real call would have been authorized.
    DryRun {
        action: ActionKind,
        allowed: bool,
        detail: String,
    },
    /// Done: the API request ids of each call, and when the verification runs.
    Done {
        action: ActionKind,
        at: DateTime<Utc>,
        request_ids: Vec<String>,
        verify_at: Option<DateTime<Utc>>,
        verify_note: Option<String>,
    },
    /// An earlier delivery of this same incident already acted.
    AlreadyDone {
        action: ActionKind,
        at: DateTime<Utc>,
    },
    /// The EC2 call failed.
    Failed { action: ActionKind, error: String },
    /// A recover is under way: StopInstances was accepted; the start follows in a scheduled continuation once the
    /// instance is stopped, and a follow-up posts in the incident's thread.
    Recovering {
        at: DateTime<Utc>,
        request_id: String,
        continue_at: Option<DateTime<Utc>>,
        note: Option<String>,
    },
    /// An earlier delivery recorded the action and was interrupted before confirming the EC2 call: whether it
    /// reached EC2 is reconciled from the instance's state, and it is never repeated.
    Interrupted {
        action: ActionKind,
        at: DateTime<Utc>,
        detail: String,
    },
}

/// The rest of a recover, run by a scheduled invocation: start the instance once it is stopped (force-stop after a
/// bounded wait, retry StartInstances on capacity errors with backoff), for a bounded time, then verify or escalate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    pub incident_key: String,
    pub thread_id: String,
    pub instance_id: String,
    pub alarm_name: String,
    pub region: Option<String>,
    /// When StopInstances was sent.
    pub stopped_at: DateTime<Utc>,
    /// How many continuations ran before this one.
    pub attempt: u32,
    /// Whether a force stop was already sent.
    #[serde(default)]
    pub forced: bool,
    /// StartInstances attempts that failed (capacity).
    #[serde(default)]
    pub start_failures: u32,
}

pub const CONTINUE_DETAIL_TYPE: &str = "ec2ops.continue";

impl Continuation {
    /// The event the schedule delivers.
    pub fn to_event(&self) -> serde_json::Value {
        serde_json::json!({ "source": VERIFY_SOURCE, "detail-type": CONTINUE_DETAIL_TYPE, "detail": self })
    }

    /// The schedule's name: unique per recover and attempt, so a resumed delivery scheduling the same step again
    /// finds it already there. Names allow `[0-9a-zA-Z-_.]{1,64}`.
    pub fn schedule_name(&self) -> String {
        schedule_name(
            "ec2ops-cont",
            &self.instance_id,
            self.stopped_at,
            &self.attempt.to_string(),
        )
    }
}

/// A one-time schedule's name from its parts, restricted to what EventBridge Scheduler accepts.
pub fn schedule_name(prefix: &str, instance: &str, at: DateTime<Utc>, suffix: &str) -> String {
    format!("{prefix}-{instance}-{}-{suffix}", at.timestamp())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect()
}

impl VerifyRequest {
    pub fn schedule_name(&self) -> String {
        schedule_name("ec2ops-verify", &self.instance_id, self.acted_at, "v")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::assess;
    use crate::event::{parse_bytes, Parsed};
    use crate::facts::{InstanceFacts, InstanceLookup, ScheduledEvent, StatusFacts, TypeFacts};

    fn change(file: &str) -> AlarmChange {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        match parse_bytes(&std::fs::read(path).unwrap()).unwrap() {
            Parsed::Alarm(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    fn now() -> DateTime<Utc> {
        crate::event::parse_timestamp("2025-10-12T04:32:00.000+0000").unwrap()
    }

    fn facts(tags: &[(&str, &str)]) -> Facts {
        let mut i = InstanceFacts {
            id: "i-0d1e2f3a4b5c6d7e8".into(),
            instance_type: "m5.large".into(),
            state: "running".into(),
            root_device_type: Some("ebs".into()),
            ..InstanceFacts::default()
        };
        for (k, v) in tags {
            i.tags.insert(k.to_string(), v.to_string());
        }
        Facts {
            instance: Source::Available(InstanceLookup::Found(Box::new(i))),
            status: Source::Available(StatusFacts::default()),
            instance_type: Source::Available(TypeFacts::default()),
            ledger: Source::Available(LedgerView::default()),
            ..Facts::unavailable("not needed")
        }
    }

    fn opted() -> Facts {
        facts(&[("ec2ops:auto-remediate", "true")])
    }

    fn run(file: &str, f: &Facts, mode: RemediationMode) -> Decision {
        let c = change(file);
        let a = assess(&c, f);
        decide(&c, f, &a, mode, &Envelope::default(), now())
    }

    fn holds(d: Decision) -> Vec<Hold> {
        match d {
            Decision::Held { holds, .. } => holds,
            other => panic!("expected a hold, got {other:?}"),
        }
    }

    #[test]
    fn instance_check_on_an_opted_in_instance_is_a_reboot_in_auto() {
        assert_eq!(
            run("status-instance.json", &opted(), RemediationMode::Auto),
            Decision::Act {
                action: ActionKind::Reboot
            }
        );
    }

    #[test]
    fn system_check_is_a_stop_start_and_dry_run_only_rehearses_it() {
        assert_eq!(
            run("status-system.json", &opted(), RemediationMode::DryRun),
            Decision::DryRun {
                action: ActionKind::StopStart
            }
        );
    }

    #[test]
    fn off_mode_never_acts_and_advice_only_incidents_have_no_action() {
        assert_eq!(
            run("status-instance.json", &opted(), RemediationMode::Off),
            Decision::Off
        );
        assert_eq!(
            run("status-ebs.json", &opted(), RemediationMode::Auto),
            Decision::AdviceOnly
        );
        assert_eq!(
            run("cpu-sustained.json", &opted(), RemediationMode::Auto),
            Decision::AdviceOnly
        );
        assert_eq!(
            run("ok-recovery.json", &opted(), RemediationMode::Auto),
            Decision::AdviceOnly
        );
    }

    #[test]
    fn an_instance_without_the_opt_in_tag_is_held() {
        let h = holds(run(
            "status-instance.json",
            &facts(&[]),
            RemediationMode::Auto,
        ));
        assert_eq!(
            h,
            vec![Hold::NotOptedIn {
                tag: "ec2ops:auto-remediate".into()
            }]
        );
        let h = holds(run(
            "status-instance.json",
            &facts(&[("ec2ops:auto-remediate", "false")]),
            RemediationMode::Auto,
        ));
        assert!(matches!(h[0], Hold::NotOptedIn { .. }));
    }

    #[test]
    fn instance_store_instances_are_never_stopped() {
        let mut f = opted();
        if let Source::Available(t) = &mut f.instance_type {
            t.instance_storage = true;
        }
        assert_eq!(
            holds(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Hold::InstanceStore]
        );
        // A reboot keeps instance store: allowed.
        assert!(matches!(
            run("status-instance.json", &f, RemediationMode::Auto),
            Decision::Act { .. }
        ));
    }

    #[test]
    fn asg_members_stopped_instances_and_open_scheduled_events_are_held() {
        let f = facts(&[
            ("ec2ops:auto-remediate", "true"),
            ("aws:autoscaling:groupName", "web"),
        ]);
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::AutoScalingGroup {
                group: "web".into()
            }]
        );
        let mut f = opted();
        if let Source::Available(InstanceLookup::Found(i)) = &mut f.instance {
            i.state = "pending".into();
        }
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::NotRunning {
                state: "pending".into()
            }]
        );
        let mut f = opted();
        if let Source::Available(s) = &mut f.status {
            s.scheduled_events.push(ScheduledEvent {
                code: "system-reboot".into(),
                description: None,
                not_before: None,
            });
        }
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::ScheduledEvent {
                code: "system-reboot".into()
            }]
        );
    }

    #[test]
    fn cooldown_daily_cap_and_hourly_cap_each_hold() {
        let mut f = opted();
        f.ledger = Source::Available(LedgerView {
            instance_actions: vec![now() - chrono::Duration::minutes(10)],
            ..LedgerView::default()
        });
        assert!(matches!(
            holds(run("status-instance.json", &f, RemediationMode::Auto))[..],
            [Hold::Cooldown { .. }]
        ));
        f.ledger = Source::Available(LedgerView {
            instance_actions: (1..=3)
                .map(|h| now() - chrono::Duration::hours(h * 2))
                .collect(),
            ..LedgerView::default()
        });
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::DailyCap { cap: 3 }]
        );
        f.ledger = Source::Available(LedgerView {
            account_actions_last_hour: 10,
            ..LedgerView::default()
        });
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::HourlyCap { cap: 10 }]
        );
    }

    #[test]
    fn cooldown_ends_after_thirty_minutes() {
        let mut f = opted();
        f.ledger = Source::Available(LedgerView {
            instance_actions: vec![now() - chrono::Duration::minutes(31)],
            ..LedgerView::default()
        });
        assert!(matches!(
            run("status-instance.json", &f, RemediationMode::Auto),
            Decision::Act { .. }
        ));
    }

    #[test]
    fn three_impaired_instances_in_one_az_hold_everything() {
        let mut f = opted();
        if let Source::Available(InstanceLookup::Found(i)) = &mut f.instance {
            i.availability_zone = Some("ap-northeast-2a".into());
        }
        f.ledger = Source::Available(LedgerView {
            az_impaired: vec!["i-1".into(), "i-2".into()],
            ..LedgerView::default()
        });
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::AzEvent { impaired: 3 }]
        );
    }

    #[test]
    fn an_unreachable_ledger_fails_safe() {
        let mut f = opted();
        f.ledger = Source::Unavailable("dynamodb: connection refused".into());
        assert!(matches!(
            holds(run("status-instance.json", &f, RemediationMode::Auto))[..],
            [Hold::LedgerUnavailable { .. }]
        ));
    }

    #[test]
    fn every_applicable_hold_is_listed() {
        let mut f = facts(&[("aws:autoscaling:groupName", "web")]);
        f.ledger = Source::Unavailable("down".into());
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)).len(),
            3
        );
    }
}
