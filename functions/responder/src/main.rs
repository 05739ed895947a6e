//! Lambda entry point: settings and SDK clients once at cold start, then the shared pipeline per event.

use chrono::Utc;
use ec2ops::aws::AwsClients;
use ec2ops::config::Settings;
use ec2ops::gather::Readers;
use ec2ops::pipeline::{respond, Delivery, HandleError, Outcome};
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

async fn handle(
    event: LambdaEvent<Value>,
    clients: &AwsClients,
    settings: &Settings,
    topic: &str,
) -> Result<Value, Failure> {
    let readers = Readers {
        ec2: &clients.ec2,
        metrics: &clients.cloudwatch,
    };
    let delivery = Delivery {
        publisher: &clients.sns,
        topic_arn: topic,
    };
    match respond(
        &event.payload,
        &readers,
        Some(&delivery),
        settings,
        Utc::now(),
    )
    .await
    {
        Ok(Outcome::Ignored {
            source,
            detail_type,
        }) => Ok(json!({ "status": "ignored", "source": source, "detailType": detail_type })),
        Ok(Outcome::Reported(i)) => Ok(json!({
            "status": "reported",
            "incident": i.change.incident_key(),
            "priority": i.assessment.priority.label(),
            "messageId": i.message_id,
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
    lambda_runtime::run(service_fn(|event| {
        handle(event, &clients, &settings, &topic)
    }))
    .await
}
