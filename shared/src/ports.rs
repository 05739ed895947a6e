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
}

/// CloudWatch read calls.
#[async_trait]
pub trait MetricReader: Send + Sync {
    async fn metric_data(&self, request: &WindowRequest) -> Result<MetricData, AwsError>;
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
}

#[async_trait]
impl MetricReader for Offline {
    async fn metric_data(&self, _: &WindowRequest) -> Result<MetricData, AwsError> {
        offline("cloudwatch", "GetMetricData")
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
