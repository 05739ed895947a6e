//! The safety envelope: whether ec2ops may reboot or recover an instance, as a pure decision over the assessment,
//! the facts and the ledger's view of recent actions. Every refusal carries its reason for the report.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::analyze::{Assessment, RuleId};
use crate::catalogue;
use crate::config::{Envelope, RemediationMode};
use crate::facts::{Facts, Gap, InstanceFacts, Source, StatusFacts};
use crate::model::{AlarmKind, AlarmState, Comparison, Incident, InstanceState, NotSingle};

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
        state: InstanceState,
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
        why: Gap,
    },
    InstanceUnknown {
        why: Gap,
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
        why: Gap,
    },
    /// The instance's owner declared a maintenance window on it (`ec2ops:maintenance-until`): nothing is done on it
    /// until then ([`maintenance`]).
    Maintenance {
        until: DateTime<Utc>,
    },
    /// Something silences the incident: a mute rule, a change freeze, a composite's suppressor ([`silence`]; the
    /// maintenance tag is [`Hold::Maintenance`]).
    Silenced(silence::Silence),
    /// A silence source was configured but could not be read: it may be on, so nothing is done (fail closed).
    SilenceUnread {
        what: silence::Unread,
        why: Gap,
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
    /// An approved proposal (`approve` mode) whose incident now calls for another action (`now`): the approval was
    /// for the proposed one, so neither is taken.
    ProposalChanged {
        now: ActionKind,
    },
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
const COMBINED_CHECK: &str = catalogue::STATUS_CHECK_FAILED;

/// The metric of the check an action repairs.
fn check_metric(action: ActionKind) -> &'static str {
    match action {
        ActionKind::Reboot => catalogue::STATUS_CHECK_FAILED_INSTANCE,
        ActionKind::StopStart => catalogue::STATUS_CHECK_FAILED_SYSTEM,
    }
}

/// That check's state in DescribeInstanceStatus.
fn check_state(action: ActionKind, status: &StatusFacts) -> Option<&str> {
    match action {
        ActionKind::Reboot => status.instance.as_deref(),
        ActionKind::StopStart => status.system.as_deref(),
    }
}

fn means_failed(comparison: Option<Comparison>, threshold: Option<f64>) -> bool {
    crate::model::means_failed(comparison, threshold)
}

/// The holds of a cap set to 0: every action is refused before the ledger is read (the adapter and its model both).
pub fn zero_cap_holds(envelope: &Envelope) -> Vec<Hold> {
    let mut zero = Vec::new();
    if envelope.daily_cap == 0 {
        zero.push(Hold::DailyCap { cap: 0 });
    }
    if envelope.hourly_cap == 0 {
        zero.push(Hold::HourlyCap { cap: 0 });
    }
    zero
}

/// Whether the incident says a status check failed at all ([`Incident::claims_check_failure`]).
pub fn claims_check_failure(change: &Incident) -> bool {
    change.claims_check_failure()
}

/// Whether a status-check incident proves, from the event alone, that the check failed
/// ([`crate::analyze::check_failure_shown`]).
pub fn check_failure_shown_by_event(change: &Incident) -> bool {
    crate::analyze::check_failure_shown(change)
}

/// Whether a status-check incident is corroborated enough to drive shared state — the AZ's impairment log (and so
/// AZ-EVENT and its hold), the sweep's note, membership of an AZ event: the instance is running, and either the event
/// shows the failure ([`check_failure_shown_by_event`]) or the alarm is EC2's own with a comparison meaning "failed"
/// and DescribeInstanceStatus shows a check impaired now. An alarm anybody can create (`StatusCheckFailed_Instance <
/// 1`), or one that fired on a stopped instance's missing data, drives nothing but its own report.
pub fn check_failure_corroborated(change: &Incident, facts: &Facts) -> bool {
    if !claims_check_failure(change) {
        return false;
    }
    let running = facts.found_instance().is_some_and(|i| i.is_running());
    if !running {
        return false;
    }
    if check_failure_shown_by_event(change) {
        return true;
    }
    let impaired = facts.status.get().is_some_and(|s| {
        [&s.system, &s.instance, &s.attached_ebs]
            .iter()
            .any(|c| c.as_deref() == Some("impaired"))
    });
    impaired
        && change.is_alarm()
        && change.fleet.is_none()
        && change.metrics.iter().all(|m| m.namespace == catalogue::EC2)
        && means_failed(change.comparison, change.threshold())
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
        if m.namespace != catalogue::EC2 {
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
    now: DateTime<Utc>,
    holds: &mut Vec<Hold>,
) {
    if let maintenance::Maintenance::Until(until) = maintenance::maintenance(&i.tags, now) {
        holds.push(Hold::Maintenance { until });
    }
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
        holds.push(Hold::NotRunning { state: i.state });
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
            why: Gap::Unreturned {
                field: "Placement.Tenancy".into(),
            },
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
            why: Gap::Unreturned {
                field: "MaintenanceOptions.AutoRecovery".into(),
            },
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
    /// `approve` mode: the envelope would act; ask a person first (the action is recorded pending, never taken
    /// without an approval, and the envelope is checked again then).
    Propose { action: ActionKind },
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
            why: facts.instance.reason().cloned().unwrap_or(Gap::NotFound),
        }),
        Some(i) => instance_holds(i, facts, action, envelope, now, &mut holds),
    }
    status_holds(&facts.status, action, &mut holds);
    ledger_holds(&facts.ledger, assessment, envelope, now, &mut holds);
    silence_holds(change, facts, now, &mut holds);
    if !holds.is_empty() {
        return Decision::Held { action, holds };
    }
    match mode {
        RemediationMode::DryRun => Decision::DryRun { action },
        RemediationMode::Approve => Decision::Propose { action },
        RemediationMode::Off | RemediationMode::Auto => Decision::Act { action },
    }
}

/// What the account's silences say against acting: an active mute rule, a closed calendar, a composite's suppressor
/// (the maintenance tag is among the instance's holds), and each configured source that could not be read.
fn silence_holds(change: &Incident, facts: &Facts, now: DateTime<Utc>, holds: &mut Vec<Hold>) {
    holds.extend(
        silence::silences(change, facts, now)
            .into_iter()
            .filter(|s| !matches!(s, silence::Silence::Maintenance { .. }))
            .map(Hold::Silenced),
    );
    holds.extend(
        silence::unread(facts)
            .into_iter()
            .map(|(what, why)| Hold::SilenceUnread { what, why }),
    );
}

/// What DescribeInstanceStatus says against acting: the check is not impaired now, an event is scheduled, or the
/// status is unknown.
fn status_holds(status: &Source<StatusFacts>, action: ActionKind, holds: &mut Vec<Hold>) {
    match status {
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
}

/// What the ledger says against acting: an AZ event, the cooldown, the daily and hourly caps, or the ledger is
/// unavailable.
fn ledger_holds(
    ledger: &Source<LedgerView>,
    assessment: &Assessment,
    envelope: &Envelope,
    now: DateTime<Utc>,
    holds: &mut Vec<Hold>,
) {
    match ledger {
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
    /// `approve` mode: the action is proposed and waits for a person until `expires_at`; `nonce` names it (the only
    /// thing an approval carries). `note` says what went wrong around it (the expiry's schedule, say).
    Proposed {
        action: ActionKind,
        nonce: String,
        expires_at: DateTime<Utc>,
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

/// Why a recover's continuation cannot bring the instance back: the P0 follow-up says it in the report's language,
/// AWS's own error text quoted as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Stuck {
    /// The give-up time has passed and the ledger could not be read to confirm the recover.
    LedgerUnreadable { error: String },
    /// The instance's state could not be read for `minutes`.
    StateUnreadable { minutes: i64, error: String },
    /// EC2 no longer knows the instance.
    Gone,
    /// The continuation ran `minutes` after the stop: too late to start the instance without asking.
    TooLate { minutes: i64 },
    /// The instance went to a state a recover does not lead to.
    WentTo { state: InstanceState },
    /// StartInstances answered as a dry run.
    DryRun { answer: String },
    /// StartInstances failed for good (or at the give-up time).
    StartFailed { error: String },
    /// Still stopping at the give-up time.
    StillStopping { minutes: i64, forced: bool },
    /// The next check could not be scheduled: nobody would look again.
    NextCheckUnscheduled { error: String },
    /// The instance is starting, but the verification after it could not be scheduled.
    VerificationUnscheduled { error: String },
}

impl std::fmt::Display for Stuck {
    /// The log's wording.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stuck::LedgerUnreadable { error } => write!(
                f,
                "the give-up time has passed and the ledger could not be read to confirm this recover ({error})"
            ),
            Stuck::StateUnreadable { minutes, error } => {
                write!(f, "its state could not be read for {minutes} minutes: {error}")
            }
            Stuck::Gone => write!(f, "EC2 no longer knows the instance"),
            Stuck::TooLate { minutes } => write!(
                f,
                "this continuation ran {minutes} minutes after the stop, too late to start the instance without asking"
            ),
            Stuck::WentTo { state } => write!(f, "the instance went to {state}"),
            Stuck::DryRun { answer } => write!(f, "StartInstances answered as a DryRun: {answer}"),
            Stuck::StartFailed { error } => write!(f, "StartInstances failed: {error}"),
            Stuck::StillStopping { minutes, forced } => write!(
                f,
                "it has been stopping for {minutes} minutes{}",
                if *forced { " despite a forced stop" } else { "" }
            ),
            Stuck::NextCheckUnscheduled { error } => {
                write!(f, "the next check could not be scheduled ({error})")
            }
            Stuck::VerificationUnscheduled { error } => write!(
                f,
                "the instance is starting, but its verification could not be scheduled ({error})"
            ),
        }
    }
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
    /// Continuations in a row that could not read the ledger to authenticate themselves.
    #[serde(default)]
    pub unreadable: u32,
    /// The instance's type and EBS volumes when it was stopped, for the escalation's way out (another type of the
    /// same size, the volumes' snapshots); absent when the stop was resumed without the instance's facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volume_ids: Vec<String>,
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

pub mod approval;
pub mod maintenance;
pub mod silence;

#[cfg(test)]
mod tests;
