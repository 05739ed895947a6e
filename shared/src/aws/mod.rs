//! AWS adapters: the only code that imports `aws_sdk_*`. Each implements one port of [`crate::ports`] with the
//! real SDK client, maps the SDK's types into ours and keeps AWS error codes.

mod alarms;
mod cloudtrail;
mod cloudwatch;
mod dynamodb;
mod ec2;
mod logs;
mod scheduler;
mod sns;
mod sqs;
mod ssm;

pub use alarms::AlarmsReader;
pub use cloudtrail::CloudTrailReader;
pub use cloudwatch::CloudWatchReader;
pub use dynamodb::DynamoLedger;
pub use ec2::{Ec2Reader, Ec2Remediator};
pub use logs::LogsReader;
pub use scheduler::Scheduler;
pub use sns::SnsPublisher;
pub use sqs::SqsWorkQueue;
pub use ssm::SsmDiagnostics;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};

use crate::ports::AwsError;

/// Every client the responder uses, built once (at cold start in Lambda).
pub struct AwsClients {
    pub ec2: Ec2Reader,
    pub cloudwatch: CloudWatchReader,
    pub sns: SnsPublisher,
    pub remediator: Ec2Remediator,
    evidence: (CloudTrailReader, LogsReader, AlarmsReader),
    config: SdkConfig,
}

impl AwsClients {
    /// Load the SDK configuration from the environment (credentials, region, `AWS_ENDPOINT_URL*`), optionally
    /// forcing a region (the CLI uses the event's region), with explicit timeouts and retries ([`timeouts`],
    /// [`retries`]): the SDK sets no operation or attempt timeout by default, so a hung connection would otherwise
    /// hold a call until the function's own timeout.
    pub async fn load(region: Option<String>) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retries());
        if let Some(r) = region {
            loader = loader.region(Region::new(r));
        }
        Self::from_config(&loader.load().await)
    }

    pub fn from_config(config: &SdkConfig) -> Self {
        let ec2 = aws_sdk_ec2::Client::new(config);
        AwsClients {
            ec2: Ec2Reader::new(ec2.clone()),
            cloudwatch: CloudWatchReader::new(aws_sdk_cloudwatch::Client::new(config)),
            sns: SnsPublisher::new(aws_sdk_sns::Client::new(config)),
            remediator: Ec2Remediator::new(ec2),
            evidence: (
                CloudTrailReader::new(aws_sdk_cloudtrail::Client::new(config)),
                LogsReader::new(aws_sdk_cloudwatchlogs::Client::new(config)),
                AlarmsReader::new(aws_sdk_cloudwatch::Client::new(config)),
            ),
            config: config.clone(),
        }
    }

    /// In-guest diagnostics over SSM Run Command.
    pub fn diagnostics(&self) -> SsmDiagnostics {
        SsmDiagnostics::from_config(&self.config)
    }

    /// The evidence readers (CloudTrail, CloudWatch Logs, DescribeAlarms), all wired.
    pub fn evidence(&self) -> crate::evidence::read::EvidenceReaders<'_> {
        crate::evidence::read::EvidenceReaders {
            changes: Some(&self.evidence.0),
            logs: Some(&self.evidence.1),
            alarms: Some(&self.evidence.2),
        }
    }

    /// The ledger on `table`.
    pub fn ledger(&self, table: &str) -> DynamoLedger {
        DynamoLedger::new(aws_sdk_dynamodb::Client::new(&self.config), table)
    }

    /// The work queue the sweep and multi-instance Health events fan out to.
    pub fn work_queue(&self, queue_url: &str) -> SqsWorkQueue {
        SqsWorkQueue::new(aws_sdk_sqs::Client::new(&self.config), queue_url)
    }

    /// The verification scheduler, assuming `role_arn` to invoke the function.
    pub fn scheduler(&self, role_arn: &str) -> Scheduler {
        Scheduler::new(aws_sdk_scheduler::Client::new(&self.config), role_arn)
    }
}

/// Every client's timeouts: connect 3.1 s (the SDK's default, made explicit), 4 s per attempt, 10 s per operation
/// (all attempts and backoff). Each call is also bounded by the invocation's budget ([`crate::budget`]), which is
/// usually shorter; these keep a call that nobody bounds from outliving the function.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(3100))
        .operation_attempt_timeout(std::time::Duration::from_secs(4))
        .operation_timeout(std::time::Duration::from_secs(10))
        .build()
}

/// Standard retry mode, 3 attempts, 200 ms initial backoff with jitter (the SDK's token bucket stops retry storms).
pub fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(200))
}

/// Error codes that mean "try again later".
fn retryable_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "TooManyRequestsException"
            | "InternalError"
            | "InternalFailure"
            | "InternalServerError"
            | "ServiceUnavailable"
            | "ServiceUnavailableException"
            | "Unavailable"
            | "KMSThrottlingException"
    )
}

/// Convert an SDK error, keeping the service's code and message.
fn aws_error<E>(
    service: &'static str,
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = err.code().map(str::to_string);
    let message = match (&err, err.message()) {
        (_, Some(m)) => m.to_string(),
        (SdkError::TimeoutError(_), None) => "request timed out".into(),
        _ => DisplayErrorContext(&err).to_string(),
    };
    let retryable = match &err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            code.as_deref().is_some_and(retryable_code) || s.raw().status().as_u16() >= 500
        }
        _ => false,
    };
    AwsError {
        service,
        operation,
        code,
        message: crate::text::bound(&message, 400),
        retryable,
    }
}

fn to_chrono(t: &SmithyTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn to_smithy(t: DateTime<Utc>) -> SmithyTime {
    SmithyTime::from_millis(t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_has_connect_attempt_and_operation_timeouts_and_three_attempts() {
        let t = timeouts();
        assert_eq!(
            t.connect_timeout(),
            Some(std::time::Duration::from_millis(3100))
        );
        assert_eq!(
            t.operation_attempt_timeout(),
            Some(std::time::Duration::from_secs(4))
        );
        assert_eq!(
            t.operation_timeout(),
            Some(std::time::Duration::from_secs(10))
        );
        assert_eq!(retries().max_attempts(), 3);
    }
}
