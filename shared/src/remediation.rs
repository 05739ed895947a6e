//! The safety envelope: whether ec2ops may reboot or recover an instance, as a pure decision over the assessment,
//! the facts and the ledger's view of recent actions. Every refusal carries its reason for the report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analyze::{Assessment, RuleId};
use crate::config::{Envelope, RemediationMode};
use crate::facts::{Facts, InstanceFacts, Source, StatusFacts};
use crate::model::{AlarmKind, AlarmState, Comparison, Incident, NotSingle};

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

pub use crate::facts::LedgerView;

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
    /// The opt-in tag is there, but its value is not exactly `true` (`True`, ` true `): the IAM policy's
    /// `StringEquals` condition would refuse the call (and the refusal would count against the caps).
    OptInNotExact {
        tag: String,
        value: String,
    },
    /// The incident does not prove the check failed (see [`Uncorroborated`]): advice only.
    NotCorroborated {
        why: Uncorroborated,
    },
    /// A fact a hold depends on is unknown, so the hold cannot be ruled out (fail closed).
    CannotVerify {
        fact: Fact,
        why: String,
    },
    /// A Spot instance, for a stop/start: a stopped Spot instance may not get its capacity back (and a one-time
    /// request cannot be stopped at all). A reboot keeps the instance on its host and its request, so it is allowed.
    Spot,
    /// Stop protection (`DisableApiStop`) is on, for a stop/start: StopInstances would be refused, and someone
    /// meant this instance never to be stopped.
    StopProtection,
    /// On a Dedicated Host (tenancy `host`), for a stop/start: the start depends on host affinity and the host's
    /// capacity, which ec2ops does not manage.
    DedicatedHost,
    /// An Elastic Fabric Adapter is attached, for a stop/start: the instance may not get its place back next to its
    /// peers (cluster placement), and EFA workloads are restarted as a whole, not one node.
    Efa,
    /// Simplified automatic recovery is on and the type supports it, for a system-check failure: AWS is already
    /// recovering the instance, and a stop/start of ec2ops's own would race it. AWS Health reports the outcome (a
    /// failed recovery is its own P0/P1 incident, advice only); a check that fails again after the recovery has a
    /// new impaired-since time, so the scheduled sweep raises it as a new incident, decided afresh. An impairment
    /// that never ends keeps its incident key, and the sweep's later runs are duplicates of it.
    AutoRecovery,
}

/// Why an incident does not prove the check failed: an automatic action needs an alarm on the check's own AWS/EC2
/// metric, of exactly one instance, that means "failed" (`> 0` or `>= 1`), with a failed datapoint, and
/// DescribeInstanceStatus showing the check impaired now. The sweep's incidents come from DescribeInstanceStatus
/// itself: only the last condition applies to them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Uncorroborated {
    /// The incident is not an alarm on the check's metric: `metric` is the alarm's metric (`None`: not a metric
    /// alarm, e.g. a composite alarm, an AWS Health event, a state change). The sweep acts on the check's own.
    NotCheckAlarm {
        metric: Option<String>,
        check: String,
    },
    /// The metric is not in `AWS/EC2` (a custom metric of the same name proves nothing about EC2's checks).
    Namespace { metric: String, namespace: String },
    /// The alarm covers several instances: none of them is the one to act on.
    SeveralInstances { ids: Vec<String> },
    /// A metric of the alarm (a member of its expression) is not the check of the instance: another metric, another
    /// instance, or no `InstanceId`.
    Member { id: String, metric: String },
    /// The comparison and threshold do not mean "the check failed".
    Comparison {
        comparison: Option<Comparison>,
        threshold: Option<f64>,
    },
    /// None of the evaluated datapoints is a failure (value ≥ 1).
    NoFailedDatapoint { evaluated: usize },
    /// DescribeInstanceStatus does not show the check impaired now (`state` as it reports it; `None`: not reported).
    NotImpaired {
        check: String,
        state: Option<String>,
    },
}

/// A fact some hold depends on, for [`Hold::CannotVerify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Fact {
    /// DescribeInstanceStatus: whether the check is impaired now, and open scheduled events.
    InstanceStatus,
    /// DescribeInstanceTypes: instance storage, and support of simplified automatic recovery.
    InstanceType,
    /// DescribeInstanceAttribute `disableApiStop`.
    StopProtection,
    /// DescribeInstances `Placement.Tenancy`.
    Tenancy,
    /// DescribeInstances `MaintenanceOptions.AutoRecovery`.
    AutoRecovery,
}

/// The combined status metric: 1 when either the instance or the system check fails.
const COMBINED_CHECK: &str = "StatusCheckFailed";

/// The metric of the check an action repairs.
fn check_metric(action: ActionKind) -> &'static str {
    match action {
        ActionKind::Reboot => "StatusCheckFailed_Instance",
        ActionKind::StopStart => "StatusCheckFailed_System",
    }
}

/// That check's state in DescribeInstanceStatus.
fn check_state(action: ActionKind, status: &StatusFacts) -> Option<&str> {
    match action {
        ActionKind::Reboot => status.instance.as_deref(),
        ActionKind::StopStart => status.system.as_deref(),
    }
}

/// Whether the alarm's comparison and threshold mean "the check failed": `> t` with 0 ≤ t < 1, or `>= t` with
/// 0 < t ≤ 1 (status metrics are 0 or 1). `< 1`, `>= 0` or an anomaly band would fire on a healthy instance.
fn means_failed(comparison: Option<Comparison>, threshold: Option<f64>) -> bool {
    match (comparison, threshold) {
        (Some(Comparison::Greater), Some(t)) => (0.0..1.0).contains(&t),
        (Some(Comparison::GreaterOrEqual), Some(t)) => t > 0.0 && t <= 1.0,
        _ => false,
    }
}

/// The alarm's side of corroboration for `action` (the instance's side is DescribeInstanceStatus, in [`decide`]).
fn alarm_corroboration(change: &Incident, action: ActionKind) -> Vec<Uncorroborated> {
    if change.is_sweep() {
        return Vec::new();
    }
    let check = check_metric(action);
    let names_check = |name: &str| name == check || name == COMBINED_CHECK;
    // A fleet alarm's series (or a contributor's, read back from its attributes) is not a metric the alarm names for
    // exactly this instance: advice only.
    let is_metric_alarm = change.is_alarm()
        && !matches!(change.kind, AlarmKind::Composite { .. })
        && change.fleet.is_none();
    let metric = change.primary_metric();
    if !is_metric_alarm || !metric.is_some_and(|m| names_check(&m.name)) {
        return vec![Uncorroborated::NotCheckAlarm {
            metric: metric.filter(|_| is_metric_alarm).map(|m| m.name.clone()),
            check: check.into(),
        }];
    }
    for m in &change.metrics {
        if m.namespace != "AWS/EC2" {
            return vec![Uncorroborated::Namespace {
                metric: m.name.clone(),
                namespace: m.namespace.clone(),
            }];
        }
        if !names_check(&m.name) {
            return vec![Uncorroborated::Member {
                id: m.id.clone(),
                metric: m.name.clone(),
            }];
        }
    }
    match change.single_instance() {
        Ok(_) => {}
        Err(NotSingle::Several(ids)) => return vec![Uncorroborated::SeveralInstances { ids }],
        Err(NotSingle::Member { id, metric }) => {
            return vec![Uncorroborated::Member { id, metric }]
        }
        Err(NotSingle::NoInstance) => {
            return vec![Uncorroborated::NotCheckAlarm {
                metric: None,
                check: check.into(),
            }]
        }
    }
    let mut out = Vec::new();
    if !means_failed(change.comparison, change.threshold()) {
        out.push(Uncorroborated::Comparison {
            comparison: change.comparison,
            threshold: change.threshold(),
        });
    }
    let values = change.evaluated_values();
    if !values.iter().any(|(_, v)| *v >= 1.0) {
        out.push(Uncorroborated::NoFailedDatapoint {
            evaluated: values.len(),
        });
    }
    out
}

/// The holds that come from the instance's own facts (DescribeInstances, DescribeInstanceTypes, stop protection).
/// A stop/start needs more of them known than a reboot.
fn instance_holds(
    i: &InstanceFacts,
    facts: &Facts,
    action: ActionKind,
    envelope: &Envelope,
    holds: &mut Vec<Hold>,
) {
    if !i.opted_in(&envelope.opt_in_tag) {
        holds.push(match i.tags.get(&envelope.opt_in_tag) {
            Some(v) if v.trim().eq_ignore_ascii_case("true") => Hold::OptInNotExact {
                tag: envelope.opt_in_tag.clone(),
                value: v.clone(),
            },
            _ => Hold::NotOptedIn {
                tag: envelope.opt_in_tag.clone(),
            },
        });
    }
    if !i.is_running() {
        holds.push(Hold::NotRunning {
            state: i.state.clone(),
        });
    }
    if let Some(group) = i.asg() {
        holds.push(Hold::AutoScalingGroup {
            group: group.to_string(),
        });
    }
    if action != ActionKind::StopStart {
        return;
    }
    // The type answers two questions for a stop/start: instance storage (unless the root device already says so)
    // and whether AWS's own recovery is on; one "cannot verify" covers both.
    let root_instance_store = i.root_device_type.as_deref() == Some("instance-store");
    let mut type_unknown = false;
    match &facts.instance_type {
        Source::Available(t) if t.instance_storage || root_instance_store => {
            holds.push(Hold::InstanceStore)
        }
        Source::Available(_) => {}
        Source::Unavailable(_) if root_instance_store => holds.push(Hold::InstanceStore),
        Source::Unavailable(_) => type_unknown = true,
    }
    if i.is_spot() {
        holds.push(Hold::Spot);
    }
    match &i.disable_api_stop {
        Source::Available(true) => holds.push(Hold::StopProtection),
        Source::Available(false) => {}
        Source::Unavailable(why) => holds.push(Hold::CannotVerify {
            fact: Fact::StopProtection,
            why: why.clone(),
        }),
    }
    match i.tenancy.as_deref() {
        Some("host") => holds.push(Hold::DedicatedHost),
        Some(_) => {}
        None => holds.push(Hold::CannotVerify {
            fact: Fact::Tenancy,
            why: "DescribeInstances did not return Placement.Tenancy".into(),
        }),
    }
    if i.efa {
        holds.push(Hold::Efa);
    }
    match (i.auto_recovery.as_deref(), &facts.instance_type) {
        (Some("default"), Source::Available(t)) if t.auto_recovery_supported => {
            holds.push(Hold::AutoRecovery)
        }
        (Some("default"), Source::Unavailable(_)) => type_unknown = true,
        (Some(_), _) => {}
        (None, _) => holds.push(Hold::CannotVerify {
            fact: Fact::AutoRecovery,
            why: "DescribeInstances did not return MaintenanceOptions.AutoRecovery".into(),
        }),
    }
    if let (true, Source::Unavailable(why)) = (type_unknown, &facts.instance_type) {
        holds.push(Hold::CannotVerify {
            fact: Fact::InstanceType,
            why: why.clone(),
        });
    }
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
pub fn action_for(change: &Incident, assessment: &Assessment) -> Option<ActionKind> {
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

/// Decide under the envelope. Every applicable hold is listed, not just the first; a fact a hold depends on that is
/// unknown holds too ([`Hold::CannotVerify`]), and so does an incident that does not prove the check failed
/// ([`Hold::NotCorroborated`]).
pub fn decide(
    change: &Incident,
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
    if let Err(NotSingle::Several(ids)) = change.single_instance() {
        // No target at all: the facts gathered are the first instance's, which is no more at fault than the others.
        return Decision::Held {
            action,
            holds: vec![Hold::NotCorroborated {
                why: Uncorroborated::SeveralInstances { ids },
            }],
        };
    }
    let mut holds: Vec<Hold> = alarm_corroboration(change, action)
        .into_iter()
        .map(|why| Hold::NotCorroborated { why })
        .collect();
    match facts.found_instance() {
        None => holds.push(Hold::InstanceUnknown {
            why: facts
                .instance
                .reason()
                .unwrap_or("the instance was not found")
                .to_string(),
        }),
        Some(i) => instance_holds(i, facts, action, envelope, &mut holds),
    }
    match &facts.status {
        Source::Unavailable(why) => holds.push(Hold::CannotVerify {
            fact: Fact::InstanceStatus,
            why: why.clone(),
        }),
        Source::Available(s) => {
            let state = check_state(action, s);
            if state != Some("impaired") {
                holds.push(Hold::NotCorroborated {
                    why: Uncorroborated::NotImpaired {
                        check: check_metric(action).into(),
                        state: state.map(str::to_string),
                    },
                });
            }
            if let Some(e) = s.scheduled_events.first() {
                holds.push(Hold::ScheduledEvent {
                    code: e.code.clone(),
                });
            }
        }
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
            "cont",
            &self.instance_id,
            self.stopped_at,
            &self.attempt.to_string(),
        )
    }
}

/// A one-time schedule's name from its parts, restricted to what EventBridge Scheduler accepts (the scheduler adapter
/// prefixes it with `ec2ops-`, within the 64 characters allowed).
pub fn schedule_name(prefix: &str, instance: &str, at: DateTime<Utc>, suffix: &str) -> String {
    format!("{prefix}-{instance}-{}-{suffix}", at.timestamp())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(57)
        .collect()
}

impl VerifyRequest {
    pub fn schedule_name(&self) -> String {
        schedule_name("verify", &self.instance_id, self.acted_at, "v")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::assess;
    use crate::event::{parse, parse_bytes, Parsed};
    use crate::facts::{InstanceFacts, InstanceLookup, ScheduledEvent, StatusFacts, TypeFacts};
    use serde_json::{json, Value};

    fn event(file: &str) -> Value {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn parsed(v: &Value) -> Incident {
        match parse(v).unwrap() {
            Parsed::Alarm(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    fn change(file: &str) -> Incident {
        let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
        match parse_bytes(&std::fs::read(path).unwrap()).unwrap() {
            Parsed::Alarm(c) => *c,
            other => panic!("{other:?}"),
        }
    }

    fn now() -> DateTime<Utc> {
        crate::event::parse_timestamp("2025-10-12T04:32:00.000+0000").unwrap()
    }

    /// A healthy, running, EBS-backed on-demand instance with every fact known.
    fn facts(tags: &[(&str, &str)]) -> Facts {
        let mut i = InstanceFacts {
            id: "i-0d1e2f3a4b5c6d7e8".into(),
            instance_type: "m5.large".into(),
            state: "running".into(),
            root_device_type: Some("ebs".into()),
            tenancy: Some("default".into()),
            auto_recovery: Some("disabled".into()),
            disable_api_stop: Source::Available(false),
            ..InstanceFacts::default()
        };
        for (k, v) in tags {
            i.tags.insert(k.to_string(), v.to_string());
        }
        Facts {
            instance: Source::Available(InstanceLookup::Found(Box::new(i))),
            status: Source::Available(StatusFacts {
                system: Some("ok".into()),
                instance: Some("ok".into()),
                attached_ebs: Some("ok".into()),
                scheduled_events: vec![],
            }),
            instance_type: Source::Available(TypeFacts::default()),
            ledger: Source::Available(LedgerView::default()),
            ..Facts::unavailable("not needed")
        }
    }

    fn opted() -> Facts {
        facts(&[("ec2ops:auto-remediate", "true")])
    }

    /// DescribeInstanceStatus shows the instance check impaired.
    fn inst(mut f: Facts) -> Facts {
        if let Source::Available(s) = &mut f.status {
            s.instance = Some("impaired".into());
        }
        f
    }

    /// DescribeInstanceStatus shows the system check impaired.
    fn sys(mut f: Facts) -> Facts {
        if let Source::Available(s) = &mut f.status {
            s.system = Some("impaired".into());
        }
        f
    }

    fn instance(f: &mut Facts) -> &mut InstanceFacts {
        match &mut f.instance {
            Source::Available(InstanceLookup::Found(i)) => i,
            other => panic!("{other:?}"),
        }
    }

    fn run(file: &str, f: &Facts, mode: RemediationMode) -> Decision {
        decide_on(&change(file), f, mode)
    }

    fn decide_on(c: &Incident, f: &Facts, mode: RemediationMode) -> Decision {
        let a = assess(c, f);
        decide(c, f, &a, mode, &Envelope::default(), now())
    }

    fn holds(d: Decision) -> Vec<Hold> {
        match d {
            Decision::Held { holds, .. } => holds,
            other => panic!("expected a hold, got {other:?}"),
        }
    }

    fn not_corroborated(why: Uncorroborated) -> Hold {
        Hold::NotCorroborated { why }
    }

    fn cannot_verify(d: Decision) -> Vec<Fact> {
        holds(d)
            .into_iter()
            .filter_map(|h| match h {
                Hold::CannotVerify { fact, .. } => Some(fact),
                _ => None,
            })
            .collect()
    }

    const REBOOT: Decision = Decision::Act {
        action: ActionKind::Reboot,
    };
    const STOP_START: Decision = Decision::Act {
        action: ActionKind::StopStart,
    };

    #[test]
    fn instance_check_on_an_opted_in_instance_is_a_reboot_in_auto() {
        assert_eq!(
            run(
                "status-instance.json",
                &inst(opted()),
                RemediationMode::Auto
            ),
            REBOOT
        );
    }

    #[test]
    fn system_check_is_a_stop_start_and_dry_run_only_rehearses_it() {
        assert_eq!(
            run("status-system.json", &sys(opted()), RemediationMode::DryRun),
            Decision::DryRun {
                action: ActionKind::StopStart
            }
        );
    }

    #[test]
    fn off_mode_never_acts_and_advice_only_incidents_have_no_action() {
        assert_eq!(
            run("status-instance.json", &inst(opted()), RemediationMode::Off),
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
            &inst(facts(&[])),
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
            &inst(facts(&[("ec2ops:auto-remediate", "false")])),
            RemediationMode::Auto,
        ));
        assert!(matches!(h[..], [Hold::NotOptedIn { .. }]));
    }

    #[test]
    fn an_opt_in_value_iam_would_refuse_is_not_opted_in() {
        // IAM's StringEquals "true" refuses these; counting them as opted in would only spend the caps on failures.
        for value in [" TRUE ", "True", "true "] {
            let f = inst(facts(&[("ec2ops:auto-remediate", value)]));
            assert_eq!(
                holds(run("status-instance.json", &f, RemediationMode::Auto)),
                vec![Hold::OptInNotExact {
                    tag: "ec2ops:auto-remediate".into(),
                    value: value.into()
                }],
                "{value:?}"
            );
        }
    }

    #[test]
    fn instance_store_instances_are_never_stopped() {
        let mut f = opted();
        if let Source::Available(t) = &mut f.instance_type {
            t.instance_storage = true;
        }
        assert_eq!(
            holds(run(
                "status-system.json",
                &sys(f.clone()),
                RemediationMode::Auto
            )),
            vec![Hold::InstanceStore]
        );
        // A reboot keeps instance store: allowed.
        assert_eq!(
            run("status-instance.json", &inst(f), RemediationMode::Auto),
            REBOOT
        );
    }

    #[test]
    fn asg_members_stopped_instances_and_open_scheduled_events_are_held() {
        let f = inst(facts(&[
            ("ec2ops:auto-remediate", "true"),
            ("aws:autoscaling:groupName", "web"),
        ]));
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::AutoScalingGroup {
                group: "web".into()
            }]
        );
        let mut f = inst(opted());
        instance(&mut f).state = "pending".into();
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::NotRunning {
                state: "pending".into()
            }]
        );
        let mut f = inst(opted());
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
        let mut f = inst(opted());
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
        let mut f = inst(opted());
        f.ledger = Source::Available(LedgerView {
            instance_actions: vec![now() - chrono::Duration::minutes(31)],
            ..LedgerView::default()
        });
        assert_eq!(
            run("status-instance.json", &f, RemediationMode::Auto),
            REBOOT
        );
    }

    #[test]
    fn three_impaired_instances_in_one_az_hold_everything() {
        let mut f = inst(opted());
        instance(&mut f).availability_zone = Some("ap-northeast-2a".into());
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
        let mut f = inst(opted());
        f.ledger = Source::Unavailable("dynamodb: connection refused".into());
        assert!(matches!(
            holds(run("status-instance.json", &f, RemediationMode::Auto))[..],
            [Hold::LedgerUnavailable { .. }]
        ));
    }

    #[test]
    fn every_applicable_hold_is_listed() {
        let mut f = inst(facts(&[("aws:autoscaling:groupName", "web")]));
        f.ledger = Source::Unavailable("down".into());
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)).len(),
            3
        );
    }

    // Corroboration: the alarm must prove the check failed, and DescribeInstanceStatus must agree now.

    #[test]
    fn a_less_than_threshold_status_alarm_on_a_healthy_opted_in_instance_is_not_acted_on() {
        let mut v = event("status-instance.json");
        v["detail"]["state"]["reason"] = json!("Threshold Crossed: 3 out of the last 3 datapoints [0.0 (12/10/25 04:30:00), 0.0 (12/10/25 04:29:00), 0.0 (12/10/25 04:28:00)] were less than the threshold (1.0).");
        v["detail"]["state"]["reasonData"] = json!(
            r#"{"version":"1.0","statistic":"Maximum","period":60,"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2025-10-12T04:30:00.000+0000","value":0.0},{"timestamp":"2025-10-12T04:29:00.000+0000","value":0.0},{"timestamp":"2025-10-12T04:28:00.000+0000","value":0.0}]}"#
        );
        let c = parsed(&v);
        assert_eq!(c.comparison, Some(Comparison::Less));
        assert_eq!(
            holds(decide_on(&c, &opted(), RemediationMode::Auto)),
            vec![
                not_corroborated(Uncorroborated::Comparison {
                    comparison: Some(Comparison::Less),
                    threshold: Some(1.0)
                }),
                not_corroborated(Uncorroborated::NoFailedDatapoint { evaluated: 3 }),
                not_corroborated(Uncorroborated::NotImpaired {
                    check: "StatusCheckFailed_Instance".into(),
                    state: Some("ok".into())
                }),
            ]
        );
    }

    #[test]
    fn only_greater_than_zero_or_at_least_one_means_the_check_failed() {
        let with = |reason: &str, threshold: f64| {
            let mut v = event("status-instance.json");
            v["detail"]["state"]["reason"] = json!(reason);
            let data = v["detail"]["state"]["reasonData"]
                .as_str()
                .unwrap()
                .replace("\"threshold\":0.0", &format!("\"threshold\":{threshold:?}"));
            v["detail"]["state"]["reasonData"] = json!(data);
            decide_on(&parsed(&v), &inst(opted()), RemediationMode::Auto)
        };
        let gt = "3 datapoints were greater than the threshold";
        let ge = "3 datapoints were greater than or equal to the threshold";
        assert_eq!(with(gt, 0.0), REBOOT);
        assert_eq!(with(gt, 0.5), REBOOT);
        assert_eq!(with(ge, 1.0), REBOOT);
        assert_eq!(with(ge, 0.5), REBOOT);
        for (reason, t) in [(gt, 1.0), (gt, -1.0), (ge, 0.0), (ge, 2.0)] {
            assert!(
                matches!(
                    holds(with(reason, t))[..],
                    [Hold::NotCorroborated {
                        why: Uncorroborated::Comparison { .. }
                    }]
                ),
                "{reason} {t}"
            );
        }
    }

    #[test]
    fn an_anomaly_band_on_a_status_metric_is_not_corroborated() {
        let mut v = event("status-instance.json");
        let metrics = &mut v["detail"]["configuration"]["metrics"];
        metrics[0]["id"] = json!("m1");
        metrics.as_array_mut().unwrap().push(
            json!({"id": "ad1", "expression": "ANOMALY_DETECTION_BAND(m1, 2)", "returnData": true}),
        );
        let c = parsed(&v);
        assert_eq!(c.comparison, Some(Comparison::OutsideBand));
        assert_eq!(
            holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::Comparison {
                comparison: Some(Comparison::OutsideBand),
                threshold: Some(0.0)
            })]
        );
    }

    #[test]
    fn a_contributor_of_a_fleet_status_check_alarm_is_advice_only() {
        // GIVEN a multi-time-series alarm on the instance check, its contributor for an opted-in, impaired instance
        let mut v = event("fleet-contributor-alarm.json");
        v["detail"]["configuration"]["metrics"][0]["expression"] = json!(
            "SELECT MAX(StatusCheckFailed_Instance) FROM SCHEMA(\"AWS/EC2\", InstanceId) GROUP BY InstanceId"
        );
        v["detail"]["alarmContributor"]["attributes"]["InstanceId"] = json!("i-0d1e2f3a4b5c6d7e8");
        v["detail"]["state"]["reason"] = json!("Threshold Crossed: 1 datapoint was greater than or equal to the threshold (1.0). The most recent datapoint which crossed the threshold: [1.0 (12/10/25 04:29:00)].");
        let c = parsed(&v);
        assert_eq!(c.single_instance(), Ok("i-0d1e2f3a4b5c6d7e8"));
        // THEN no automatic action: the series is read back from the contributor, not named by the alarm
        assert_eq!(
            holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::NotCheckAlarm {
                metric: None,
                check: "StatusCheckFailed_Instance".into()
            })]
        );
    }

    #[test]
    fn a_status_alarm_in_another_namespace_is_not_corroborated() {
        let mut v = event("status-instance.json");
        v["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["namespace"] =
            json!("Custom/Health");
        assert_eq!(
            holds(decide_on(
                &parsed(&v),
                &inst(opted()),
                RemediationMode::Auto
            )),
            vec![not_corroborated(Uncorroborated::Namespace {
                metric: "StatusCheckFailed_Instance".into(),
                namespace: "Custom/Health".into()
            })]
        );
    }

    fn metric_math(members: &[(&str, &str, Option<&str>)]) -> Incident {
        let mut v = event("status-instance.json");
        let mut metrics: Vec<Value> = members
            .iter()
            .map(|(id, name, instance)| {
                let dims = match instance {
                    Some(i) => json!({ "InstanceId": i }),
                    None => json!({}),
                };
                json!({"id": id, "metricStat": {"metric": {"namespace": "AWS/EC2", "name": name, "dimensions": dims}, "period": 60, "stat": "Maximum"}, "returnData": false})
            })
            .collect();
        let ids: Vec<&str> = members.iter().map(|m| m.0).collect();
        metrics.push(json!({"id": "e1", "expression": format!("MAX([{}])", ids.join(", ")), "label": "worst check", "returnData": true}));
        v["detail"]["configuration"]["metrics"] = Value::Array(metrics);
        parsed(&v)
    }

    #[test]
    fn a_metric_math_alarm_over_two_instances_has_no_instance_to_act_on() {
        // MAX([m1, m2]) over two instances' checks: rebooting the first would reboot the wrong one half the time.
        let c = metric_math(&[
            (
                "m1",
                "StatusCheckFailed_Instance",
                Some("i-0d1e2f3a4b5c6d7e8"),
            ),
            (
                "m2",
                "StatusCheckFailed_Instance",
                Some("i-0aaaaaaaaaaaaaaaa"),
            ),
        ]);
        assert_eq!(
            c.primary_instance(),
            Some("i-0d1e2f3a4b5c6d7e8"),
            "reported"
        );
        assert_eq!(
            holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::SeveralInstances {
                ids: vec!["i-0d1e2f3a4b5c6d7e8".into(), "i-0aaaaaaaaaaaaaaaa".into()]
            })]
        );
    }

    #[test]
    fn a_metric_math_alarm_over_one_instances_checks_can_act() {
        let c = metric_math(&[
            (
                "m1",
                "StatusCheckFailed_Instance",
                Some("i-0d1e2f3a4b5c6d7e8"),
            ),
            ("m2", "StatusCheckFailed", Some("i-0d1e2f3a4b5c6d7e8")),
        ]);
        assert_eq!(c.single_instance(), Ok("i-0d1e2f3a4b5c6d7e8"));
        assert_eq!(decide_on(&c, &inst(opted()), RemediationMode::Auto), REBOOT);
    }

    #[test]
    fn a_metric_math_member_without_the_instance_or_of_another_metric_is_not_corroborated() {
        let c = metric_math(&[
            (
                "m1",
                "StatusCheckFailed_Instance",
                Some("i-0d1e2f3a4b5c6d7e8"),
            ),
            ("m2", "StatusCheckFailed_Instance", None),
        ]);
        assert_eq!(
            holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::Member {
                id: "m2".into(),
                metric: "StatusCheckFailed_Instance".into()
            })]
        );
        let c = metric_math(&[
            (
                "m1",
                "StatusCheckFailed_Instance",
                Some("i-0d1e2f3a4b5c6d7e8"),
            ),
            ("m2", "CPUUtilization", Some("i-0d1e2f3a4b5c6d7e8")),
        ]);
        assert_eq!(
            holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::Member {
                id: "m2".into(),
                metric: "CPUUtilization".into()
            })]
        );
    }

    #[test]
    fn a_status_alarm_with_zero_failing_datapoints_is_not_corroborated() {
        let mut v = event("status-instance.json");
        let data = v["detail"]["state"]["reasonData"]
            .as_str()
            .unwrap()
            .replace("\"value\":1.0", "\"value\":0.0");
        v["detail"]["state"]["reasonData"] = json!(data);
        assert_eq!(
            holds(decide_on(
                &parsed(&v),
                &inst(opted()),
                RemediationMode::Auto
            )),
            vec![not_corroborated(Uncorroborated::NoFailedDatapoint {
                evaluated: 3
            })]
        );
        // No reasonData at all: nothing shows a failure either.
        let mut v = event("status-instance.json");
        v["detail"]["state"]
            .as_object_mut()
            .unwrap()
            .remove("reasonData");
        assert!(holds(decide_on(
            &parsed(&v),
            &inst(opted()),
            RemediationMode::Auto
        ))
        .contains(&not_corroborated(Uncorroborated::NoFailedDatapoint {
            evaluated: 0
        })));
    }

    #[test]
    fn a_status_alarm_whose_check_is_not_impaired_now_is_not_corroborated() {
        assert_eq!(
            holds(run("status-instance.json", &opted(), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::NotImpaired {
                check: "StatusCheckFailed_Instance".into(),
                state: Some("ok".into())
            })]
        );
        // A stopped instance has no status to report.
        let mut f = opted();
        if let Source::Available(s) = &mut f.status {
            s.system = None;
        }
        assert!(
            holds(run("status-system.json", &f, RemediationMode::Auto)).contains(
                &not_corroborated(Uncorroborated::NotImpaired {
                    check: "StatusCheckFailed_System".into(),
                    state: None
                })
            )
        );
    }

    #[test]
    fn a_cpu_alarm_on_an_impaired_instance_leaves_the_action_to_the_sweep() {
        assert_eq!(
            holds(run(
                "cpu-sustained.json",
                &inst(opted()),
                RemediationMode::Auto
            )),
            vec![not_corroborated(Uncorroborated::NotCheckAlarm {
                metric: Some("CPUUtilization".into()),
                check: "StatusCheckFailed_Instance".into()
            })]
        );
    }

    #[test]
    fn the_sweeps_own_incident_is_corroborated_by_describe_instance_status() {
        let found = crate::facts::Impaired {
            instance_id: "i-0d1e2f3a4b5c6d7e8".into(),
            availability_zone: Some("ap-northeast-2c".into()),
            check: "StatusCheckFailed_Instance".into(),
            since: Some(now()),
        };
        let c = Incident::from_sweep(&found, now());
        assert_eq!(decide_on(&c, &inst(opted()), RemediationMode::Auto), REBOOT);
        // Recovered between the sweep's list and the gathering: the re-read is what counts.
        assert_eq!(
            holds(decide_on(&c, &opted(), RemediationMode::Auto)),
            vec![not_corroborated(Uncorroborated::NotImpaired {
                check: "StatusCheckFailed_Instance".into(),
                state: Some("ok".into())
            })]
        );
    }

    // Fail closed: a fact a hold depends on that is unknown holds.

    #[test]
    fn describe_instance_status_unavailable_holds_with_cannot_verify() {
        let mut f = opted();
        f.status = Source::Unavailable("ec2 DescribeInstanceStatus: timed out".into());
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::CannotVerify {
                fact: Fact::InstanceStatus,
                why: "ec2 DescribeInstanceStatus: timed out".into()
            }]
        );
    }

    #[test]
    fn instance_type_unavailable_holds_a_stop_start_with_cannot_verify_but_not_a_reboot() {
        let mut f = opted();
        f.instance_type = Source::Unavailable("timed out after 4000 ms".into());
        assert_eq!(
            holds(run(
                "status-system.json",
                &sys(f.clone()),
                RemediationMode::Auto
            )),
            vec![Hold::CannotVerify {
                fact: Fact::InstanceType,
                why: "timed out after 4000 ms".into()
            }]
        );
        assert_eq!(
            run(
                "status-instance.json",
                &inst(f.clone()),
                RemediationMode::Auto
            ),
            REBOOT
        );
        // An instance-store root needs no type to know: that hold, not a "cannot verify".
        instance(&mut f).root_device_type = Some("instance-store".into());
        assert_eq!(
            holds(run("status-system.json", &sys(f), RemediationMode::Auto)),
            vec![Hold::InstanceStore]
        );
    }

    #[test]
    fn stop_protection_unavailable_holds_a_stop_start_with_cannot_verify() {
        let mut f = opted();
        instance(&mut f).disable_api_stop =
            Source::Unavailable("ec2 DescribeInstanceAttribute: UnauthorizedOperation".into());
        assert_eq!(
            cannot_verify(run(
                "status-system.json",
                &sys(f.clone()),
                RemediationMode::Auto
            )),
            vec![Fact::StopProtection]
        );
        assert_eq!(
            run("status-instance.json", &inst(f), RemediationMode::Auto),
            REBOOT
        );
    }

    #[test]
    fn tenancy_unknown_holds_a_stop_start_with_cannot_verify() {
        let mut f = sys(opted());
        instance(&mut f).tenancy = None;
        assert_eq!(
            cannot_verify(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Fact::Tenancy]
        );
    }

    #[test]
    fn auto_recovery_setting_unknown_holds_a_stop_start_with_cannot_verify() {
        let mut f = sys(opted());
        instance(&mut f).auto_recovery = None;
        assert_eq!(
            cannot_verify(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Fact::AutoRecovery]
        );
        // On, but the type's support is unknown.
        instance(&mut f).auto_recovery = Some("default".into());
        f.instance_type = Source::Unavailable("throttled".into());
        assert_eq!(
            cannot_verify(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Fact::InstanceType]
        );
    }

    #[test]
    fn instance_facts_unavailable_hold_with_the_reason() {
        // ASG membership, lifecycle, tenancy and the opt-in tag all come from DescribeInstances.
        let mut f = sys(opted());
        f.instance = Source::Unavailable("ec2 DescribeInstances: InternalError".into());
        assert_eq!(
            holds(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Hold::InstanceUnknown {
                why: "ec2 DescribeInstances: InternalError".into()
            }]
        );
    }

    // Instance facts that rule out a stop/start.

    #[test]
    fn a_spot_instance_is_not_stopped_but_may_be_rebooted() {
        let mut f = opted();
        instance(&mut f).lifecycle = Some("spot".into());
        assert_eq!(
            holds(run(
                "status-system.json",
                &sys(f.clone()),
                RemediationMode::Auto
            )),
            vec![Hold::Spot]
        );
        assert_eq!(
            run("status-instance.json", &inst(f), RemediationMode::Auto),
            REBOOT
        );
    }

    #[test]
    fn stop_protection_holds_a_stop_start() {
        let mut f = opted();
        instance(&mut f).disable_api_stop = Source::Available(true);
        assert_eq!(
            holds(run(
                "status-system.json",
                &sys(f.clone()),
                RemediationMode::Auto
            )),
            vec![Hold::StopProtection]
        );
        assert_eq!(
            run("status-instance.json", &inst(f), RemediationMode::Auto),
            REBOOT
        );
    }

    #[test]
    fn a_dedicated_host_holds_a_stop_start_but_dedicated_tenancy_does_not() {
        let mut f = sys(opted());
        instance(&mut f).tenancy = Some("host".into());
        assert_eq!(
            holds(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Hold::DedicatedHost]
        );
        instance(&mut f).tenancy = Some("dedicated".into());
        assert_eq!(
            run("status-system.json", &f, RemediationMode::Auto),
            STOP_START
        );
    }

    #[test]
    fn an_efa_instance_holds_a_stop_start() {
        let mut f = sys(opted());
        instance(&mut f).efa = true;
        assert_eq!(
            holds(run("status-system.json", &f, RemediationMode::Auto)),
            vec![Hold::Efa]
        );
    }

    #[test]
    fn simplified_automatic_recovery_on_a_supported_type_lets_aws_recover_first() {
        let mut f = opted();
        instance(&mut f).auto_recovery = Some("default".into());
        if let Source::Available(t) = &mut f.instance_type {
            t.auto_recovery_supported = true;
        }
        assert_eq!(
            holds(run(
                "status-system.json",
                &sys(f.clone()),
                RemediationMode::Auto
            )),
            vec![Hold::AutoRecovery]
        );
        // An instance check is not AWS's to recover.
        assert_eq!(
            run(
                "status-instance.json",
                &inst(f.clone()),
                RemediationMode::Auto
            ),
            REBOOT
        );
        // A type without support: AWS does nothing, ec2ops may.
        if let Source::Available(t) = &mut f.instance_type {
            t.auto_recovery_supported = false;
        }
        assert_eq!(
            run("status-system.json", &sys(f), RemediationMode::Auto),
            STOP_START
        );
    }
}
