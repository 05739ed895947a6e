//! ec2ops on AWS: the adapters, the only code that imports `aws_sdk_*`. Each implements one port of
//! [`ec2ops::ports`] (or [`ec2ops::storm`]) with the real SDK client, maps the SDK's types into ours and keeps AWS
//! error codes. [`responder`] assembles them into the production [`Responder`].
//!
//! A crate of its own so that the core, `ec2ops`, builds and tests without the SDK: its `Cargo.toml` names no
//! `aws-*` crate (`the_core_the_function_and_the_cli_depend_on_no_aws_crate`,
//! `shared/src/layering.rs`).

mod alarms;
mod approvals;
mod attributes;
mod cloudtrail;
mod cloudwatch;
mod dynamodb;
mod ec2;
mod elb;
mod logs;
mod scheduler;
mod silence;
mod slack;
mod sns;
mod sqs;
mod ssm;
mod storm;

pub use alarms::AlarmsReader;
pub use cloudtrail::CloudTrailReader;
pub use cloudwatch::CloudWatchReader;
pub use dynamodb::DynamoLedger;
pub use ec2::{Ec2Reader, Ec2Remediator};
pub use elb::ElbReader;
pub use logs::LogsReader;
pub use scheduler::Scheduler;
pub use silence::SilenceAdapter;
pub use slack::SsmSlackSettings;
pub use sns::SnsPublisher;
pub use sqs::SqsWorkQueue;
pub use ssm::SsmDiagnostics;
pub use storm::DynamoStorm;

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_types::DateTime as SmithyTime;
use chrono::{DateTime, Utc};

use ec2ops::config::Settings;
use ec2ops::pipeline::{Actors, Responder};
use ec2ops::ports::{AwsError, ErrorKind, Ledger};

/// The responder on AWS, as the settings ask for it: the ledger when a table is configured, the verification
/// scheduler when a role is, in-guest diagnostics when a document is, the work queue when a URL is, and the report
/// to the topic when one is. The function's own ARN is learnt per invocation ([`Responder::with_function_arn`]).
/// The one production construction: the Lambda function and the CLI call it; the tests' `ec2ops_tests::responder`
/// calls it over the emulator.
///
/// A free function rather than `Responder::from_aws`: `Responder` belongs to the core, which cannot name the SDK,
/// so an inherent constructor cannot live here; an extension trait would keep the method syntax but make every
/// caller import a trait for one call. `ec2ops_aws::responder(&config, &settings)` says at the call site where the
/// ports come from.
pub fn responder(config: &SdkConfig, settings: &Settings) -> Responder {
    let clients = AwsClients::from_config(config);
    let ledger = settings.ledger_table.as_deref().map(|t| clients.ledger(t));
    let scheduler = settings
        .scheduler_role_arn
        .as_deref()
        .map(|r| clients.scheduler(r));
    let diagnostics = settings
        .diagnostics_document
        .as_ref()
        .map(|_| clients.diagnostics());
    let queue = settings
        .work_queue_url
        .as_deref()
        .map(|u| clients.work_queue(u));
    let slack = settings
        .slack_app_parameter
        .as_deref()
        .map(|p| clients.slack_settings(p));
    let storm = settings
        .ledger_table
        .as_deref()
        .map(|t| ec2ops::pipeline::storm::Storm::of(Arc::new(clients.storm(t))));
    let AwsClients {
        ec2,
        cloudwatch,
        sns,
        remediator,
        evidence: (changes, logs, alarms, targets),
        ..
    } = clients;
    let mut responder = Responder::new(settings.clone(), Arc::new(ec2), Arc::new(cloudwatch))
        .with_actors(Actors {
            remediator: Arc::new(remediator),
            scheduler: scheduler.map(|s| Arc::new(s) as _),
            function_arn: None,
        });
    let ledger = ledger.map(Arc::new);
    responder.approvals = ledger
        .clone()
        .map(|l| l as Arc<dyn ec2ops::ports::Approvals>);
    responder.ledger = ledger.map(Ledger::of);
    responder.diagnostics = diagnostics.map(|d| Arc::new(d) as _);
    responder.queue = queue.map(|q| Arc::new(q) as _);
    responder.storm = storm;
    responder.slack = slack.map(|s| Arc::new(s) as _);
    responder.evidence = ec2ops::pipeline::EvidencePorts {
        changes: Some(Arc::new(changes)),
        logs: Some(Arc::new(logs)),
        alarms: Some(Arc::new(alarms)),
        targets: Some(Arc::new(targets)),
    };
    if settings.mute_rules || !settings.change_calendars.is_empty() {
        responder = responder.with_silence(Arc::new(SilenceAdapter::new(
            aws_sdk_cloudwatch::Client::new(config),
            aws_sdk_ssm::Client::new(config),
        )));
    }
    if let Some(t) = settings.topic_arn.as_deref() {
        responder = responder.with_delivery(Arc::new(sns), t);
    }
    responder
}

/// The SDK configuration from the environment (credentials, region, `AWS_ENDPOINT_URL*`), optionally forcing a
/// region (the CLI uses the event's region), with explicit timeouts and retries ([`timeouts`], [`retries`]): the
/// SDK sets no operation or attempt timeout by default, so a hung connection would otherwise hold a call until the
/// function's own timeout.
pub async fn sdk_config(region: Option<String>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts())
        .retry_config(retries());
    if let Some(r) = region {
        loader = loader.region(Region::new(r));
    }
    loader.load().await
}

/// Every client the responder uses, built once (at cold start in Lambda).
pub struct AwsClients {
    pub ec2: Ec2Reader,
    pub cloudwatch: CloudWatchReader,
    pub sns: SnsPublisher,
    pub remediator: Ec2Remediator,
    evidence: (CloudTrailReader, LogsReader, AlarmsReader, ElbReader),
    config: SdkConfig,
}

impl AwsClients {
    /// Every client on the configuration [`sdk_config`] loads.
    pub async fn load(region: Option<String>) -> Self {
        Self::from_config(&sdk_config(region).await)
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
                ElbReader::new(aws_sdk_elasticloadbalancingv2::Client::new(config)),
            ),
            config: config.clone(),
        }
    }

    /// In-guest diagnostics over SSM Run Command.
    pub fn diagnostics(&self) -> SsmDiagnostics {
        SsmDiagnostics::from_config(&self.config)
    }

    /// The ledger on `table`.
    pub fn ledger(&self, table: &str) -> DynamoLedger {
        DynamoLedger::new(aws_sdk_dynamodb::Client::new(&self.config), table)
    }

    /// The storm ports (publish gate, digest buffers, incident log) on the ledger table.
    pub fn storm(&self, table: &str) -> DynamoStorm {
        DynamoStorm::new(aws_sdk_dynamodb::Client::new(&self.config), table)
    }

    /// The work queue the sweep and multi-instance Health events fan out to.
    pub fn work_queue(&self, queue_url: &str) -> SqsWorkQueue {
        SqsWorkQueue::new(aws_sdk_sqs::Client::new(&self.config), queue_url)
    }

    /// The Slack app's settings, from the SSM parameter `name`.
    pub fn slack_settings(&self, name: &str) -> SsmSlackSettings {
        SsmSlackSettings::new(aws_sdk_ssm::Client::new(&self.config), name)
    }

    /// The verification scheduler, assuming `role_arn` to invoke the function.
    pub fn scheduler(&self, role_arn: &str) -> Scheduler {
        Scheduler::new(aws_sdk_scheduler::Client::new(&self.config), role_arn)
    }
}

/// Every client's timeouts: connect 3.1 s (the SDK's default, made explicit), 4 s per attempt, 10 s per operation
/// (all attempts and backoff). Each call is also bounded by the invocation's budget ([`ec2ops::budget`]), which is
/// usually shorter; these keep a call that nobody bounds from outliving the function.
pub fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_millis(3100))
        .operation_attempt_timeout(std::time::Duration::from_secs(4))
        .operation_timeout(std::time::Duration::from_secs(10))
        .build()
}

/// Adaptive retry mode: 3 attempts, 200 ms initial backoff with full jitter, the SDK's retry token bucket (stops
/// retry storms) and, once a service throttles, its client-side rate limiter (one per service in the process, so
/// every incident a warm instance handles slows down together, then ramps back up on success). In a storm this keeps
/// a throttled source from being hammered by retries; every call is still bounded by the budget, so a limiter that
/// makes a call wait longer than the budget allows degrades that source ("unavailable: …"), never the alert.
pub fn retries() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::adaptive()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(200))
}

/// A conditional write's answer: `Some(output)` when it was written, `None` when its condition failed (another
/// writer was first: an answer, not an error), else the error.
fn conditional<T, E>(
    service: &'static str,
    operation: &'static str,
    result: Result<T, SdkError<E, HttpResponse>>,
) -> Result<Option<T>, AwsError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) => {
            let err = aws_error(service, operation, e);
            if err.kind == ErrorKind::ConditionFailed {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
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

/// What a service error code means. `service` tells apart codes that mean different things in different services
/// (SSM's `InvalidInstanceId` is an instance it cannot manage).
fn kind_of(service: &str, code: &str, status: u16) -> ErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "RequestThrottled"
        | "TooManyRequestsException"
        | "KMSThrottlingException" => ErrorKind::Throttled,
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError" => ErrorKind::AccessDenied,
        "InvalidInstanceId" if service == "ssm" => ErrorKind::NotManaged,
        "ConditionalCheckFailedException" => ErrorKind::ConditionFailed,
        "TransactionCanceledException" | "TransactionConflictException" | "ConflictException" => {
            ErrorKind::Conflict
        }
        "DryRunOperation" => ErrorKind::DryRunPassed,
        "InsufficientInstanceCapacity" | "InsufficientHostCapacity" | "Unsupported" => {
            ErrorKind::Capacity
        }
        "InvocationDoesNotExist" | "ResourceNotFoundException" | "NotFound" => ErrorKind::NotFound,
        c if c.ends_with(".NotFound") => ErrorKind::NotFound,
        _ if retryable_code(code) || status >= 500 => ErrorKind::Service,
        _ => ErrorKind::InvalidRequest,
    }
}

/// Convert an SDK error, keeping the service's code and message, and classifying it once ([`ErrorKind`]).
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
    let (kind, retryable) = match &err {
        SdkError::TimeoutError(_) => (ErrorKind::Timeout, true),
        SdkError::DispatchFailure(d) if d.is_timeout() => (ErrorKind::Timeout, true),
        SdkError::DispatchFailure(_) => (ErrorKind::Network, true),
        SdkError::ResponseError(_) => (ErrorKind::Other, true),
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let retryable = code.as_deref().is_some_and(retryable_code) || status >= 500;
            let kind = match code.as_deref() {
                Some(c) => kind_of(service, c, status),
                None if status >= 500 => ErrorKind::Service,
                None => ErrorKind::Other,
            };
            (kind, retryable)
        }
        _ => (ErrorKind::Other, false),
    };
    AwsError {
        service,
        operation,
        code,
        kind,
        message: ec2ops::text::bound(&message, 400),
        retryable,
        late_ms: None,
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
    fn each_error_code_callers_branch_on_is_classified_once_by_its_meaning() {
        let cases = [
            (
                "ec2",
                "InvalidInstanceID.NotFound",
                400,
                ErrorKind::NotFound,
            ),
            ("ssm", "InvocationDoesNotExist", 400, ErrorKind::NotFound),
            ("ssm", "InvalidInstanceId", 400, ErrorKind::NotManaged),
            ("ec2", "InvalidInstanceId", 400, ErrorKind::InvalidRequest),
            (
                "dynamodb",
                "ConditionalCheckFailedException",
                400,
                ErrorKind::ConditionFailed,
            ),
            (
                "dynamodb",
                "TransactionCanceledException",
                400,
                ErrorKind::Conflict,
            ),
            ("scheduler", "ConflictException", 409, ErrorKind::Conflict),
            ("ec2", "DryRunOperation", 412, ErrorKind::DryRunPassed),
            ("ec2", "UnauthorizedOperation", 403, ErrorKind::AccessDenied),
            (
                "ec2",
                "InsufficientInstanceCapacity",
                500,
                ErrorKind::Capacity,
            ),
            (
                "cloudwatch",
                "ThrottlingException",
                400,
                ErrorKind::Throttled,
            ),
            ("ec2", "RequestLimitExceeded", 503, ErrorKind::Throttled),
            ("sns", "InternalError", 500, ErrorKind::Service),
            ("sns", "SomethingNew", 503, ErrorKind::Service),
            ("sns", "InvalidParameter", 400, ErrorKind::InvalidRequest),
        ];
        for (service, code, status, kind) in cases {
            assert_eq!(kind_of(service, code, status), kind, "{service} {code}");
        }
    }

    #[test]
    fn every_client_has_connect_attempt_and_operation_timeouts_and_three_adaptive_attempts() {
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
        assert_eq!(
            retries().mode(),
            aws_config::retry::RetryMode::Adaptive,
            "throttled sources are slowed down client-side in a storm"
        );
    }
}
