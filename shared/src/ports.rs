//! The narrow interfaces through which the responder talks to AWS. The adapters of the crate `ec2ops-aws` implement
//! them with the SDK; [`Offline`] implements them without any call (the CLI's `--offline`, the degraded path).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::facts::{
    AlarmHistory, InAlarm, InstanceLookup, RankPath, Ranking, Role, SecurityGroupFacts,
    StatusFacts, TypeFacts, VolumeFacts,
};
use crate::message::SnsMessage;
use crate::model::InstanceState;
use crate::source::Gap;

/// What kind of failure an AWS call met, classified once where the SDK error is converted (`ec2ops-aws`):
/// callers branch on it, never on the code's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The service throttled the call (`ThrottlingException`, `RequestLimitExceeded`, …): retry later.
    Throttled,
    /// IAM refused the call (`AccessDenied*`, `UnauthorizedOperation`).
    AccessDenied,
    /// What the call names does not exist (`InvalidInstanceID.NotFound`, SSM's `InvocationDoesNotExist`, …).
    NotFound,
    /// The instance cannot run SSM commands (SSM's `InvalidInstanceId`: no agent registered, or not running).
    NotManaged,
    /// A conditional write found its condition false (`ConditionalCheckFailedException`).
    ConditionFailed,
    /// The write conflicts with the current state: a cancelled or conflicting transaction, a resource that already
    /// exists (`TransactionCanceledException`, `TransactionConflictException`, `ConflictException`).
    Conflict,
    /// A DryRun call that would have succeeded (`DryRunOperation`).
    DryRunPassed,
    /// Not enough capacity to start the instance here now (`InsufficientInstanceCapacity`, …).
    Capacity,
    /// No answer in time: the SDK's timeout, or the invocation's budget (`DeadlineExceeded`).
    Timeout,
    /// The request never got an answer (connection refused or reset, DNS).
    Network,
    /// The service failed (5xx, `InternalError`, `ServiceUnavailable`).
    Service,
    /// The service rejected the request (any other error code).
    InvalidRequest,
    /// Anything else: a response that could not be read, a failure without a code.
    Other,
    /// No call was made: the CLI's `--offline` ([`Offline`]).
    Offline,
}

/// An AWS call that failed, keeping the service's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    /// The AWS error code (`ThrottlingException`, `InvalidInstanceID.NotFound`, …) when the service sent one.
    pub code: Option<String>,
    /// What the failure means, for the callers that branch on it.
    pub kind: ErrorKind,
    pub message: String,
    /// Whether trying again later can help (throttling, 5xx, timeouts, connection errors).
    pub retryable: bool,
    /// ec2ops's own deadline for the call, in milliseconds, when that is what failed ([`AwsError::late`]): the
    /// failure is ec2ops's words, said in the report's language, not AWS's.
    pub late_ms: Option<u64>,
}

impl AwsError {
    /// Why the source this call would have read is missing: an offline call or ec2ops's own deadline is said as
    /// such, any other failure as the adapter wrote it (AWS's words).
    pub fn gap(&self) -> Gap {
        if self.kind == ErrorKind::Offline {
            Gap::Offline {
                call: Some(format!("{} {}", self.service, self.operation)),
            }
        } else if let Some(ms) = self.late_ms {
            Gap::TimedOut { ms }
        } else {
            Gap::Failed(self.to_string())
        }
    }

    /// The call got no answer within ec2ops's own deadline (`limit`): retryable, code `DeadlineExceeded`.
    pub fn late(
        service: &'static str,
        operation: &'static str,
        limit: std::time::Duration,
    ) -> Self {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        AwsError {
            late_ms: Some(ms),
            ..AwsError::new(service, operation, format!("no answer within {ms} ms"))
                .with_code("DeadlineExceeded", ErrorKind::Timeout)
                .retryable(true)
        }
    }

    pub fn new(service: &'static str, operation: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            service,
            operation,
            code: None,
            kind: ErrorKind::Other,
            message: message.into(),
            retryable: false,
            late_ms: None,
        }
    }

    /// The same error with the service's `code` and its `kind`.
    pub fn with_code(self, code: &str, kind: ErrorKind) -> Self {
        AwsError {
            code: Some(code.to_string()),
            kind,
            ..self
        }
    }

    /// The same error, retryable or not.
    pub fn retryable(self, retryable: bool) -> Self {
        AwsError { retryable, ..self }
    }
}

/// One query of the metric window.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    /// CloudWatch query id (`^[a-z][a-zA-Z0-9_]*$`).
    pub id: String,
    pub roles: Vec<Role>,
    pub kind: QueryKind,
    pub return_data: bool,
}

impl MetricQuery {
    /// The alarm's own metric (its namespace, name, dimensions and statistic), read for [`Role::Alarm`].
    pub fn alarm(m: &crate::model::MetricRef) -> MetricQuery {
        MetricQuery {
            id: "alarm".into(),
            roles: vec![Role::Alarm],
            kind: QueryKind::Stat {
                namespace: m.namespace.clone(),
                name: m.name.clone(),
                dimensions: m.dimensions.clone(),
                stat: m.stat.clone(),
            },
            return_data: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryKind {
    Stat {
        namespace: String,
        name: String,
        dimensions: BTreeMap<String, String>,
        stat: String,
    },
    Expression {
        expression: String,
        label: Option<String>,
    },
}

/// The one GetMetricData call of an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRequest {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub period_secs: u64,
    pub queries: Vec<MetricQuery>,
}

impl WindowRequest {
    /// Metrics requested (what CloudWatch bills): stat queries plus expressions.
    pub fn metrics_requested(&self) -> usize {
        self.queries.len()
    }
}

/// Datapoints by query id, oldest first.
pub type MetricData = BTreeMap<String, Vec<(DateTime<Utc>, f64)>>;

/// EC2 read calls.
#[async_trait]
pub trait InstanceReader: Send + Sync {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError>;
    async fn instance_status(&self, id: &str) -> Result<StatusFacts, AwsError>;
    async fn instance_type(&self, instance_type: &str) -> Result<TypeFacts, AwsError>;
    async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError>;
    async fn volumes(&self, instance_id: &str) -> Result<Vec<VolumeFacts>, AwsError>;
    /// Whether stop protection is on (DescribeInstanceAttribute `disableApiStop`). A reader that cannot tell
    /// answers with an error, so a stop/start is held as unverifiable (fail closed) rather than attempted.
    async fn stop_protection(&self, _instance_id: &str) -> Result<bool, AwsError> {
        Err(AwsError::new(
            "ec2",
            "DescribeInstanceAttribute",
            "this reader does not read stop protection",
        ))
    }
    /// Running instances with at least one impaired status check (the sweep).
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError>;
}

pub use crate::facts::Impaired;

/// A CloudWatch agent metric the instance publishes, with its full dimension set (ListMetrics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMetric {
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
}

/// CloudWatch read calls.
#[async_trait]
pub trait MetricReader: Send + Sync {
    async fn metric_data(&self, request: &WindowRequest) -> Result<MetricData, AwsError>;
    /// The `CWAgent` metrics published with this InstanceId (memory, and disk per filesystem).
    async fn agent_metrics(&self, instance_id: &str) -> Result<Vec<AgentMetric>, AwsError>;
    async fn alarm_history(
        &self,
        alarm_name: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<AlarmHistory, AwsError>;
    /// The ways this reader can rank a fleet, in the order to try them (none: fleets are not ranked).
    fn fleet_rankers(&self) -> Vec<&dyn FleetRanker> {
        Vec::new()
    }
    /// The contributors of a multi-time-series alarm currently in ALARM (DescribeAlarmContributors).
    async fn alarm_contributors(&self, _alarm_name: &str) -> Result<Vec<InAlarm>, AwsError> {
        Err(AwsError::new(
            "cloudwatch",
            "DescribeAlarmContributors",
            "not served by this reader",
        ))
    }
}

/// The account's silences (`crate::silence`): CloudWatch alarm mute rules and SSM Change Calendars.
#[async_trait]
pub trait SilenceReader: Send + Sync {
    /// ListAlarmMuteRules `{AlarmName, Statuses: [ACTIVE]}`: the rules muting the alarm's actions now.
    async fn active_mute_rules(
        &self,
        alarm_name: &str,
    ) -> Result<Vec<crate::silence::MuteRule>, AwsError>;
    /// GetCalendarState `{CalendarNames: [calendar], AtTime: at}`: whether the calendar is open at `at`.
    async fn calendar_state(
        &self,
        calendar: &str,
        at: DateTime<Utc>,
    ) -> Result<crate::silence::CalendarState, AwsError>;
    /// DescribeAlarmsForMetric on `AWS/EC2` `check` and the combined `StatusCheckFailed` with `InstanceId`: the names
    /// of the alarms watching this instance's check (whose mute rules hold the sweep's incident on it too).
    async fn check_alarms(&self, instance_id: &str, check: &str) -> Result<Vec<String>, AwsError>;
}

/// What a fleet alarm's ranking asks for: the alarm's metric, per instance, over the last few periods.
#[derive(Debug, Clone, PartialEq)]
pub struct RankRequest {
    pub namespace: String,
    pub metric: String,
    /// The GetMetricData statistic of the alarm's aggregate (`MAX` → `Maximum`).
    pub stat: String,
    /// The Metrics Insights query derived from the alarm's own (same metric, namespace and `WHERE`, `GROUP BY
    /// InstanceId ORDER BY MAX() DESC LIMIT n`), or why none could be derived.
    pub insights_query: Result<String, crate::source::Unrankable>,
    /// The alarm's `WHERE` clause, which only the Metrics Insights path can apply.
    pub filter: Option<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub period_secs: u64,
    /// How many instances the ranking keeps.
    pub top: usize,
}

/// Ranks a fleet's instances by one metric: hottest first.
#[async_trait]
pub trait FleetRanker: Send + Sync {
    fn path(&self) -> RankPath;
    /// The ranked series, hottest first (`breaching` and the instances' names are left for the caller to fill).
    async fn rank(&self, request: &RankRequest) -> Result<Ranking, AwsError>;
}

/// Delivery of the report.
#[async_trait]
pub trait ReportPublisher: Send + Sync {
    /// Publish; returns the SNS message id.
    async fn publish(&self, topic_arn: &str, message: &SnsMessage) -> Result<String, AwsError>;
}

/// Makes no AWS call: every source reports that it was not asked.
pub struct Offline;

fn offline<T>(service: &'static str, operation: &'static str) -> Result<T, AwsError> {
    Err(AwsError {
        kind: ErrorKind::Offline,
        ..AwsError::new(service, operation, "offline mode, no AWS call made")
    })
}

#[async_trait]
impl InstanceReader for Offline {
    async fn instance(&self, _: &str) -> Result<InstanceLookup, AwsError> {
        offline("ec2", "DescribeInstances")
    }
    async fn instance_status(&self, _: &str) -> Result<StatusFacts, AwsError> {
        offline("ec2", "DescribeInstanceStatus")
    }
    async fn instance_type(&self, _: &str) -> Result<TypeFacts, AwsError> {
        offline("ec2", "DescribeInstanceTypes")
    }
    async fn security_groups(&self, _: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        offline("ec2", "DescribeSecurityGroups")
    }
    async fn volumes(&self, _: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        offline("ec2", "DescribeVolumes")
    }
    async fn stop_protection(&self, _: &str) -> Result<bool, AwsError> {
        offline("ec2", "DescribeInstanceAttribute")
    }
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        offline("ec2", "DescribeInstanceStatus")
    }
}

#[async_trait]
impl MetricReader for Offline {
    async fn metric_data(&self, _: &WindowRequest) -> Result<MetricData, AwsError> {
        offline("cloudwatch", "GetMetricData")
    }
    async fn agent_metrics(&self, _: &str) -> Result<Vec<AgentMetric>, AwsError> {
        offline("cloudwatch", "ListMetrics")
    }
    async fn alarm_history(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<AlarmHistory, AwsError> {
        offline("cloudwatch", "DescribeAlarmHistory")
    }
}

/// What an earlier delivery of the same incident left in the ledger (the incident record's lifecycle:
/// absent → `IN_PROGRESS` with a lease → `COMPLETED`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This delivery owns the incident: it reports (and may act).
    Claimed,
    /// An earlier delivery claimed the incident and died before completing it (its lease expired): this one takes
    /// over and says so in the report. `attempt` counts deliveries that owned it, this one included.
    Resumed {
        attempt: u32,
        first_claimed: Option<DateTime<Utc>>,
    },
    /// The incident was completed by another delivery: no action, no report.
    Duplicate,
    /// Another delivery owns the incident and may still be working on it: fail retryably, Lambda tries later.
    InProgress { until: DateTime<Utc> },
}

/// What a completed incident published and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The SNS message id, or why nothing was published (covered by an AZ report, …).
    pub message_id: Option<String>,
    /// One line: the action's outcome (for people: `ec2ops incidents`; nothing decides on its words).
    pub outcome: String,
    /// The published report was its AZ's one AZ-EVENT report, which names the instances the declaration covers.
    /// A record written before this field existed reads `false`: a covered incident then publishes its own report
    /// (one report too many, never one lost).
    pub az_report: bool,
}

/// What a [`Completion`]'s outcome carries when the report went into a storm window's digest.
pub const DIGEST_MARK: &str = " · digest ";
/// What a [`Completion`]'s outcome says, for people, when the published report was its AZ's one AZ-EVENT report
/// ([`Completion::az_report`] is what the code reads).
pub const AZ_REPORT_MARK: &str = " · AZ report";

/// An action about to be taken.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    /// This delivery's own token: a retried transaction that finds its own record knows it was granted.
    pub owner: String,
    pub incident_key: String,
    pub instance_id: String,
    pub availability_zone: Option<String>,
    pub action: crate::remediation::ActionKind,
    pub at: DateTime<Utc>,
}

/// How far an action got, as the ledger recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Recorded before the EC2 call: if nothing else is recorded, the call may or may not have reached EC2.
    Started,
    /// EC2 accepted the call (its request id).
    Called { request_id: String },
    /// The call failed: nothing was done.
    Failed { error: String },
}

impl Progress {
    pub fn label(&self) -> &'static str {
        match self {
            Progress::Started => "started",
            Progress::Called { .. } => "called",
            Progress::Failed { .. } => "failed",
        }
    }
}

/// An action an earlier delivery of the same incident recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAction {
    pub owner: String,
    pub instance_id: String,
    pub at: DateTime<Utc>,
    pub action: crate::remediation::ActionKind,
    pub progress: Progress,
}

/// The answer of the one transaction that records an action and moves its counters.
#[derive(Debug, Clone, PartialEq)]
pub enum Grant {
    /// Recorded (status `started`), the instance locked, the caps counted: act now.
    Granted,
    /// An earlier delivery of this incident recorded it already: never twice.
    Recorded(RecordedAction),
    /// A hold enforced atomically at action time (lock/cooldown, daily cap, hourly cap, AZ event).
    Refused(Vec<crate::remediation::Hold>),
}

/// A status-check failure remembered per AZ (for AZ-EVENT) and per instance (several incidents, one action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impairment {
    pub instance_id: String,
    /// The failing check's metric name (`StatusCheckFailed_System`, …).
    pub check: String,
    pub incident_key: String,
    pub at: DateTime<Utc>,
}

/// Other incidents on the same instance's status checks, sorted and unique.
pub fn same_instance(
    az: &[Impairment],
    instance_id: &str,
    incident_key: &str,
) -> Vec<crate::facts::SameInstance> {
    let mut v: Vec<crate::facts::SameInstance> = az
        .iter()
        .filter(|i| i.instance_id == instance_id && i.incident_key != incident_key)
        .map(|i| crate::facts::SameInstance {
            check: i.check.clone(),
            incident_key: i.incident_key.clone(),
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Other instances impaired in the AZ, sorted and unique.
pub fn others_in_az(az: &[Impairment], instance_id: &str) -> Vec<String> {
    let mut v: Vec<String> = az
        .iter()
        .map(|i| i.instance_id.clone())
        .filter(|id| id != instance_id)
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The AZ event declared for an AZ: the first incident to declare it publishes the one AZ report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AzDeclaration {
    /// This incident declared it: its report is the AZ report.
    Declared,
    /// Another incident declared it and its report named these instances.
    Covered { by: String, named: Vec<String> },
}

/// Incident records (DynamoDB, conditional writes, TTL): the lifecycle absent → `IN_PROGRESS` with a lease →
/// `COMPLETED` that makes a delivery own an incident, or see it is a duplicate.
#[async_trait]
pub trait IncidentClaims: Send + Sync {
    /// Claim an incident key with a lease until `lease_until` (the invocation's deadline plus a margin).
    async fn claim(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError>;
    /// Mark the incident `COMPLETED` with what was published and done.
    async fn complete(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        completion: &Completion,
    ) -> Result<(), AwsError>;
    /// What a completed incident published; `None` while it is not completed (or unknown).
    async fn completion(&self, incident_key: &str) -> Result<Option<Completion>, AwsError>;
    /// End this delivery's lease now (the report could not be delivered): a retry takes over at once.
    async fn release(&self, incident_key: &str, now: DateTime<Utc>) -> Result<(), AwsError>;
}

/// Action history and the atomic envelope (DynamoDB transactions): what was done, and whether acting now is
/// within the caps.
#[async_trait]
pub trait ActionLedger: Send + Sync {
    /// Recent actions on the instance, account-wide actions in the last hour, other impaired instances in the AZ,
    /// and this incident's own recorded action (for the report; the holds themselves are enforced by
    /// [`ActionLedger::record_action`]).
    async fn view(
        &self,
        incident_key: &str,
        instance_id: &str,
        availability_zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<crate::remediation::LedgerView, AwsError>;
    /// One transaction: the action record (once per incident), the per-instance lock that is also the cooldown,
    /// the per-instance daily and account-wide hourly counters, and no AZ event declared for the AZ.
    async fn record_action(
        &self,
        action: &ActionRecord,
        envelope: &crate::config::Envelope,
    ) -> Result<Grant, AwsError>;
    /// Record how far the action got (after the EC2 call).
    async fn progress(&self, incident_key: &str, progress: &Progress) -> Result<(), AwsError>;
    /// The action an earlier delivery of this incident recorded, if any.
    async fn recorded_action(&self, incident_key: &str)
        -> Result<Option<RecordedAction>, AwsError>;
}

/// Impairment memory: status-check failures per AZ (AZ-EVENT) and per instance (the sweep's deduplication).
#[async_trait]
pub trait ImpairmentLog: Send + Sync {
    /// When a report about this instance's failing check went out within the hour (an alarm's, or an earlier
    /// sweep's), if one did. It covers a failure that began before then, not a new one after an automatic recovery.
    async fn impaired_noted(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AwsError>;
    /// Note, after its report went out, that an instance's check is impaired and reported (for an hour).
    async fn note_impaired(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError>;
    /// Remember a status-check failure in an AZ (before deciding, so concurrent incidents see each other).
    async fn record_impairment(
        &self,
        availability_zone: &str,
        impairment: &Impairment,
    ) -> Result<(), AwsError>;
    /// Status-check failures recorded in the AZ within the AZ-EVENT window (10 minutes).
    async fn impairments(
        &self,
        availability_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Impairment>, AwsError>;
    /// Declare an AZ event naming `instances`, once per AZ and window.
    async fn declare_az_event(
        &self,
        availability_zone: &str,
        incident_key: &str,
        instances: &[String],
        now: DateTime<Utc>,
    ) -> Result<AzDeclaration, AwsError>;
}

/// A proposed action as the ledger keeps it (`approve` mode): the pending request, where it happened, the thread its
/// decisions are posted in, and the event that raised the incident — read again on approval, so that the envelope is
/// checked on the incident itself with fresh facts.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub pending: crate::remediation::approval::Pending,
    pub account: Option<String>,
    pub region: Option<String>,
    pub thread_id: String,
    pub alarm_name: String,
    /// The event the incident came from (ec2ops's own data, read back as input all the same).
    pub origin: serde_json::Value,
}

/// A proposal and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProposal {
    pub proposal: Proposal,
    pub state: crate::remediation::approval::State,
    /// What the approved proposal's handling concluded (its action's outcome), once recorded: until then an
    /// interrupted handling may be resumed by a retry of the same answer.
    pub concluded: Option<String>,
}

/// What a conditional move of a proposal did: moved (the proposal as it is now), or refused (why nothing changed).
#[derive(Debug, Clone, PartialEq)]
pub enum Moved {
    Moved(Box<StoredProposal>),
    Refused(crate::remediation::approval::Refused),
}

/// The version of the proposal record's layout this code writes and reads (attribute `v`): a record of another
/// layout is an error, never guessed at.
pub const PROPOSAL_LAYOUT: i64 = 1;

/// Proposed actions (`approve` mode) in the ledger: recorded `PENDING` once per incident, then moved once —
/// `APPROVED` or `DENIED` by an answer before the expiry, `EXPIRED` by the expiry's one-shot — each move a conditional
/// write, so of two concurrent answers one wins and the other is refused.
#[async_trait]
pub trait Approvals: Send + Sync {
    /// Record the proposal `PENDING`, unless the incident has one already: then that one, as it stands (a redelivery
    /// keeps the first nonce), and nothing is written.
    async fn propose(&self, proposal: &Proposal) -> Result<Option<StoredProposal>, AwsError>;
    /// The proposal a nonce names, if any.
    async fn proposal(
        &self,
        nonce: &crate::remediation::approval::Nonce,
    ) -> Result<Option<StoredProposal>, AwsError>;
    /// Apply an answer: `PENDING` → `APPROVED` / `DENIED` when the nonce names a proposal still pending whose expiry is
    /// after the answer's time ([`crate::remediation::approval::answer`], as one conditional write).
    async fn answer(
        &self,
        answer: &crate::remediation::approval::Answer,
    ) -> Result<Moved, AwsError>;
    /// The expiry: `PENDING` → `EXPIRED` when the proposal is still pending at `now`, at or after its expiry
    /// ([`crate::remediation::approval::expire`]).
    async fn expire(
        &self,
        nonce: &crate::remediation::approval::Nonce,
        now: DateTime<Utc>,
    ) -> Result<Moved, AwsError>;
    /// Record what an approved proposal's handling concluded (its action's outcome), once: `false` when it was
    /// recorded already, or the proposal is not approved.
    async fn conclude(
        &self,
        nonce: &crate::remediation::approval::Nonce,
        outcome: &str,
    ) -> Result<bool, AwsError>;
}

/// The Slack app's settings (signing secret, approver list), read from where the stack's deployer cannot write them
/// (an SSM SecureString parameter the function may only read). An adapter reads them once and keeps them; a failed
/// read is not kept, so the next request tries again.
#[async_trait]
pub trait SlackSettings: Send + Sync {
    async fn slack_app(&self) -> Result<crate::remediation::approval::slack::SlackApp, AwsError>;
}

/// The three ledger ports, usually one store (the DynamoDB table) seen three ways.
#[derive(Clone)]
pub struct Ledger {
    pub claims: std::sync::Arc<dyn IncidentClaims>,
    pub actions: std::sync::Arc<dyn ActionLedger>,
    pub impairments: std::sync::Arc<dyn ImpairmentLog>,
}

impl Ledger {
    /// One store that keeps all three: incident claims, actions and impairments.
    pub fn of<L>(store: std::sync::Arc<L>) -> Self
    where
        L: IncidentClaims + ActionLedger + ImpairmentLog + 'static,
    {
        Ledger {
            claims: store.clone(),
            actions: store.clone(),
            impairments: store,
        }
    }
}

/// Result of a mutating EC2 call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    /// Done; the API request id.
    Done { request_id: String },
    /// DryRun: `allowed` is whether the real call would have been authorized (DryRunOperation vs
    /// UnauthorizedOperation), with the service's message.
    DryRun { allowed: bool, detail: String },
}

/// The mutating EC2 calls, each conditioned in IAM on the opt-in tag, and the one read a recover's continuation
/// needs. None of them waits: a recover's start is a scheduled continuation.
#[async_trait]
pub trait Remediator: Send + Sync {
    async fn reboot(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError>;
    /// StopInstances; `force` for an instance stuck in `stopping` on degraded hardware.
    async fn stop(
        &self,
        instance_id: &str,
        dry_run: bool,
        force: bool,
    ) -> Result<CallResult, AwsError>;
    async fn start(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError>;
    /// The instance's state name (`stopping`, `stopped`, `running`, …); `None` when EC2 does not know it.
    async fn state(&self, instance_id: &str) -> Result<Option<InstanceState>, AwsError>;
}

pub use crate::remediation::VerifyRequest;

/// Schedules ec2ops's own later work (EventBridge Scheduler, one-time `at()` schedule invoking the function): the
/// verification after an action and the continuation of a recover.
#[async_trait]
pub trait VerifyScheduler: Send + Sync {
    /// Create the one-time schedule `name` at `at` that invokes `target_arn` (the function) with `event`. A
    /// schedule of that name that exists already counts as created (a resumed delivery scheduling again).
    async fn schedule(
        &self,
        name: &str,
        event: &serde_json::Value,
        at: DateTime<Utc>,
        target_arn: &str,
    ) -> Result<String, AwsError>;
}

/// Fans work out: one message per instance incident (the sweep, Health events naming several instances), each
/// handled by its own invocation with its own budget.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    async fn enqueue(&self, event: &serde_json::Value) -> Result<(), AwsError>;
}

/// In-guest diagnostics (SSM Run Command of the fixed, parameterless command document).
#[async_trait]
pub trait Diagnostics: Send + Sync {
    /// Run `document` (name or ARN) on the instance and parse its output, giving up after `deadline` (sending and
    /// polling included). An instance that is not SSM-managed fails with code `InvalidInstanceId`.
    async fn run(
        &self,
        instance_id: &str,
        document: &str,
        deadline: std::time::Duration,
    ) -> Result<crate::diagnostics::Diagnostics, AwsError>;
}

/// The target groups an instance is registered in, with the instance's health in each.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memberships {
    pub targets: Vec<crate::evidence::impact::Target>,
    /// Target groups of the VPC looked through (at most the cap), of how many.
    pub groups_checked: usize,
    pub groups_total: usize,
}

/// Elastic Load Balancing (`DescribeTargetGroups`, `DescribeTargetHealth`), for customer impact.
#[async_trait]
pub trait TargetReader: Send + Sync {
    /// The instance's memberships among the instance-type target groups of `vpc_id`, looking through at most
    /// `max_groups` of them.
    async fn targets_of(
        &self,
        instance_id: &str,
        vpc_id: &str,
        max_groups: usize,
    ) -> Result<Memberships, AwsError>;
}

/// CloudTrail management events (`LookupEvents`), for what changed before an incident.
#[async_trait]
pub trait ChangeReader: Send + Sync {
    /// One page (at most [`crate::evidence::changes::PAGE`] events, newest first) of the events naming `resource`
    /// (`ResourceName`) between `since` and `until`.
    async fn changes(
        &self,
        resource: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<crate::evidence::changes::TrailEvent>, AwsError>;
}

/// CloudWatch Logs (`FilterLogEvents`), for what the instance's logs say around an incident.
#[async_trait]
pub trait LogReader: Send + Sync {
    /// Events of `group`'s streams whose name starts with `stream_prefix`, between `since` and `until`, oldest
    /// first, at most `limit`. A group that does not exist fails with code `ResourceNotFoundException`.
    async fn log_lines(
        &self,
        group: &str,
        stream_prefix: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<crate::evidence::logs::RawLine>, AwsError>;
}

/// CloudWatch `DescribeAlarms` with a state filter, for the other alarms on an instance.
#[async_trait]
pub trait AlarmLister: Send + Sync {
    /// One page of the alarms in ALARM, and whether more pages exist.
    async fn in_alarm(&self)
        -> Result<(Vec<crate::evidence::alarms::ListedAlarm>, bool), AwsError>;
}
