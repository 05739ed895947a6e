//! The narrow interfaces through which the responder talks to AWS. Adapters in [`crate::aws`] implement them with
//! the SDK; [`Offline`] implements them without any call (the CLI's `--offline`, the degraded path).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::facts::{
    AlarmHistory, InstanceLookup, Role, SecurityGroupFacts, StatusFacts, TypeFacts, VolumeFacts,
};
use crate::report::render::SnsMessage;

/// An AWS call that failed, keeping the service's error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{service} {operation}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    /// The AWS error code (`ThrottlingException`, `InvalidInstanceID.NotFound`, …) when the service sent one.
    pub code: Option<String>,
    pub message: String,
    /// Whether trying again later can help (throttling, 5xx, timeouts, connection errors).
    pub retryable: bool,
}

impl AwsError {
    pub fn new(service: &'static str, operation: &'static str, message: impl Into<String>) -> Self {
        AwsError {
            service,
            operation,
            code: None,
            message: message.into(),
            retryable: false,
        }
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

/// An instance the sweep found impaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Impaired {
    pub instance_id: String,
    pub availability_zone: Option<String>,
    /// The failing check's metric (`StatusCheckFailed_System`, `…_Instance`, `…_AttachedEBS`), the most severe first.
    pub check: String,
    /// When the check became impaired (stable across sweeps, so the ledger recognizes the same failure).
    pub since: Option<DateTime<Utc>>,
}

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
    Err(AwsError::new(
        service,
        operation,
        "offline mode, no AWS call made",
    ))
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

/// What an earlier delivery of the same incident left in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This delivery owns the incident: it reports (and may act).
    Claimed,
    /// Another delivery already claimed it (a duplicate): no second action, no second report.
    Duplicate,
}

/// A recorded action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub incident_key: String,
    pub instance_id: String,
    pub action: crate::remediation::ActionKind,
    pub at: DateTime<Utc>,
}

/// The idempotency and rate ledger (DynamoDB, conditional writes, TTL).
#[async_trait]
pub trait Ledger: Send + Sync {
    /// Claim an incident key; exactly one delivery gets `Claimed`.
    async fn claim(&self, incident_key: &str, now: DateTime<Utc>) -> Result<Claim, AwsError>;
    /// Give a claim back (the report could not be delivered, so a retry must be able to report).
    async fn release(&self, incident_key: &str) -> Result<(), AwsError>;
    /// Recent actions on the instance, account-wide actions in the last hour, other impaired instances in the AZ.
    async fn view(
        &self,
        incident_key: &str,
        instance_id: &str,
        availability_zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<crate::remediation::LedgerView, AwsError>;
    /// Record the intent to act, once per incident. `None` when this call recorded it; `Some(when)` when an earlier
    /// delivery of the same incident already had (so nothing is done twice).
    async fn record_action(&self, action: &ActionRecord)
        -> Result<Option<DateTime<Utc>>, AwsError>;
    /// Note that an instance's check is impaired and reported, for an hour. With `only_if_new`, a note already
    /// there (an alarm or an earlier sweep reported it) makes this return `false` and writes nothing.
    async fn note_impaired(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
        only_if_new: bool,
    ) -> Result<bool, AwsError>;
    /// Remember that an instance in an AZ failed a status check (for AZ-EVENT).
    async fn record_impairment(
        &self,
        availability_zone: &str,
        instance_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError>;
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

/// The mutating EC2 calls, each conditioned in IAM on the opt-in tag.
#[async_trait]
pub trait Remediator: Send + Sync {
    async fn reboot(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError>;
    async fn stop(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError>;
    async fn start(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError>;
    /// Poll until the instance is stopped, at most `limit`.
    async fn wait_stopped(
        &self,
        instance_id: &str,
        limit: std::time::Duration,
    ) -> Result<(), AwsError>;
}

pub use crate::remediation::VerifyRequest;

/// Schedules the verification (EventBridge Scheduler, one-time `at()` schedule invoking the function).
#[async_trait]
pub trait VerifyScheduler: Send + Sync {
    /// Create a one-time schedule at `at` that invokes `target_arn` (the function) with the request; returns its name.
    async fn schedule(
        &self,
        request: &VerifyRequest,
        at: DateTime<Utc>,
        target_arn: &str,
    ) -> Result<String, AwsError>;
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
