//! Lambda entry point: settings and SDK clients once at cold start, then the shared pipeline per event.

use chrono::Utc;
use ec2ops::aws::{AwsClients, DynamoLedger, Scheduler, SsmDiagnostics};
use ec2ops::config::Settings;
use ec2ops::gather::Readers;
use ec2ops::pipeline::{respond, Actors, Delivery, HandleError, Outcome};
use ec2ops::ports::{Diagnostics, Ledger, VerifyScheduler};
use lambda_runtime::{service_fn, Diagnostic, Error, LambdaEvent};
use serde_json::{json, Value};

/// The invocation failed; Lambda retries it and then sends it to the on-failure destination.
#[derive(Debug)]
struct Failure(HandleError);

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Self {
        let kind = match &f.0 {
            HandleError::Malformed(_) => "MalformedEvent",
            HandleError::Config(_) => "InvalidSetting",
            HandleError::Publish(_) => "PublishFailed",
            HandleError::Source(_) => "SourceFailed",
        };
        let retry = if f.0.retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        Diagnostic {
            error_type: format!("{retry}.{kind}"),
            error_message: f.0.to_string(),
        }
    }
}

/// Everything built once at cold start.
struct Function {
    clients: AwsClients,
    ledger: Option<DynamoLedger>,
    scheduler: Option<Scheduler>,
    diagnostics: Option<SsmDiagnostics>,
    settings: Settings,
    topic: String,
}

async fn handle(event: LambdaEvent<Value>, f: &Function) -> Result<Value, Failure> {
    let readers = Readers {
        ec2: &f.clients.ec2,
        metrics: &f.clients.cloudwatch,
        ledger: f.ledger.as_ref().map(|l| l as &dyn Ledger),
        diagnostics: f.diagnostics.as_ref().map(|d| d as &dyn Diagnostics),
    };
    let actors = Actors {
        remediator: &f.clients.remediator,
        scheduler: f.scheduler.as_ref().map(|s| s as &dyn VerifyScheduler),
        function_arn: Some(event.context.invoked_function_arn.as_str()),
    };
    let delivery = Delivery {
        publisher: &f.clients.sns,
        topic_arn: &f.topic,
    };
    let outcome = respond(
        &event.payload,
        &readers,
        Some(&actors),
        Some(&delivery),
        &f.settings,
        Utc::now(),
    )
    .await;
    match outcome {
        Ok(Outcome::Ignored {
            source,
            detail_type,
        }) => Ok(json!({ "status": "ignored", "source": source, "detailType": detail_type })),
        Ok(Outcome::Health { outcomes }) => Ok(json!({
            "status": "health",
            "reported": outcomes.iter().filter(|o| matches!(o, Outcome::Reported(_))).count(),
        })),
        Ok(Outcome::Swept { impaired, outcomes }) => Ok(json!({
            "status": "swept",
            "impaired": impaired,
            "reported": outcomes.iter().filter(|o| matches!(o, Outcome::Reported(_))).count(),
        })),
        Ok(Outcome::Duplicate { incident_key }) => {
            Ok(json!({ "status": "duplicate", "incident": incident_key }))
        }
        Ok(Outcome::Reported(i)) => Ok(json!({
            "status": "reported",
            "incident": i.change.incident_key(),
            "priority": i.assessment.priority.label(),
            "action": serde_json::to_value(&i.action).unwrap_or(Value::Null),
            "messageId": i.message_id,
        })),
        Ok(Outcome::Verified {
            request,
            fixed,
            message_id,
            ..
        }) => Ok(json!({
            "status": "verified",
            "incident": request.incident_key,
            "fixed": fixed,
            "messageId": message_id,
        })),
        Err(e) => Err(Failure(e)),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_current_span(false)
        .without_time() // CloudWatch Logs stamps every line
        .init();

    // Invalid settings fail the cold start with the setting's name, before any event is taken.
    let settings = Settings::from_env()?;
    let topic = settings.require_topic()?.to_string();
    let clients = AwsClients::load(None).await;
    let ledger = settings.ledger_table.as_deref().map(|t| clients.ledger(t));
    let scheduler = settings
        .scheduler_role_arn
        .as_deref()
        .map(|r| clients.scheduler(r));
    let diagnostics = settings
        .diagnostics_document
        .as_ref()
        .map(|_| clients.diagnostics());
    tracing::info!(
        mode = settings.remediation.as_str(),
        ledger = ledger.is_some(),
        verify = scheduler.is_some(),
        diagnostics = diagnostics.is_some(),
        "ec2ops responder ready"
    );
    let function = Function {
        clients,
        ledger,
        scheduler,
        diagnostics,
        settings,
        topic,
    };
    lambda_runtime::run(service_fn(|event| handle(event, &function))).await
}
