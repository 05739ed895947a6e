//! Lambda entry point: settings and SDK clients once at cold start, then the shared pipeline per event, within the
//! invocation's own deadline. Messages of the work queue (SQS, batch size 1) are handled one by one, reporting
//! partial batch failures.

use chrono::Utc;
use ec2ops::budget::Budget;
use ec2ops::config::Settings;
use ec2ops::pipeline::{HandleError, Outcome, Responder, DEFAULT_BUDGET};
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
            HandleError::InProgress { .. } => "IncidentInProgress",
            HandleError::Enqueue(_) => "FanOutFailed",
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
    responder: Responder,
    /// Test hook of scripts/package.sh (see `PANIC_TOKEN`).
    panic_token: Option<String>,
}

/// Test hook: proves that the packaged binary turns a handler panic into an invocation error and keeps serving
/// (`panic = "unwind"`). Armed only when this variable is set, which template.yaml never does, and then only by an
/// event `{"ec2ops-test-panic": <the same value>}`; no AWS event has that key, so a deployed function cannot be made
/// to panic by any event it receives.
const PANIC_TOKEN: &str = "EC2OPS_TEST_PANIC_TOKEN";

/// Work-queue messages (an SQS event): each body is one event of ours.
fn queue_messages(event: &Value) -> Option<Vec<(String, Value)>> {
    let records = event.get("Records")?.as_array()?;
    let all_sqs = !records.is_empty()
        && records
            .iter()
            .all(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs"));
    if !all_sqs {
        return None;
    }
    Some(
        records
            .iter()
            .map(|r| {
                let id = r["messageId"].as_str().unwrap_or_default().to_string();
                let body = r["body"].as_str().unwrap_or_default();
                // A body that is not JSON is handled as a string, which the pipeline rejects as malformed.
                let v = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.into()));
                (id, v)
            })
            .collect(),
    )
}

async fn handle(event: LambdaEvent<Value>, f: &Function) -> Result<Value, Failure> {
    if let Some(token) = &f.panic_token {
        if event
            .payload
            .get("ec2ops-test-panic")
            .and_then(Value::as_str)
            == Some(token.as_str())
        {
            panic!("forced panic ({PANIC_TOKEN})");
        }
    }
    let now = Utc::now();
    // The invocation's own deadline: every AWS call is carved from it.
    let budget = Budget::from_epoch_millis(event.context.deadline, now, DEFAULT_BUDGET);
    let responder = f
        .responder
        .with_function_arn(&event.context.invoked_function_arn);
    if let Some(messages) = queue_messages(&event.payload) {
        // Partial batch response: only failed messages go back to the queue (and, after its retries, to the
        // failed-events queue).
        let mut failures = Vec::new();
        for (id, body) in messages {
            // The work queue carries only what the fan-out puts on it: one sweep item or one narrowed Health event.
            // Anything else (a continuation, an alarm) is dropped, so a sender to the queue cannot drive a recover.
            if !fanned_out(&body) {
                tracing::warn!(message = %id, "work item of a kind the fan-out never sends: dropped");
                continue;
            }
            match responder.respond(&body, now, budget).await {
                Ok(o) => {
                    tracing::info!(message = %id, status = status(&o)["status"].as_str().unwrap_or("-"), "work item handled")
                }
                Err(e) => {
                    tracing::warn!(message = %id, error = %e, "work item failed");
                    failures.push(json!({ "itemIdentifier": id }));
                }
            }
        }
        return Ok(json!({ "batchItemFailures": failures }));
    }
    match responder.respond(&event.payload, now, budget).await {
        Ok(o) => Ok(status(&o)),
        Err(e) => Err(Failure(e)),
    }
}

/// What the fan-out sends to the work queue.
fn fanned_out(body: &Value) -> bool {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    matches!(
        (text("source"), text("detail-type")),
        (
            ec2ops::remediation::VERIFY_SOURCE,
            ec2ops::event::SWEEP_ITEM_DETAIL_TYPE
        ) | ("aws.health", _)
    )
}

/// The invocation's result: what became of the event.
fn status(outcome: &Outcome) -> Value {
    let reported = |outcomes: &[Outcome]| {
        outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Reported(_)))
            .count()
    };
    match outcome {
        Outcome::Ignored {
            source,
            detail_type,
        } => json!({ "status": "ignored", "source": source, "detailType": detail_type }),
        Outcome::Health { outcomes } => {
            json!({ "status": "health", "reported": reported(outcomes) })
        }
        Outcome::Swept { impaired, outcomes } => json!({
            "status": "swept",
            "impaired": impaired,
            "reported": reported(outcomes),
        }),
        Outcome::Deferred {
            incident_key,
            until,
        } => json!({ "status": "deferred", "incident": incident_key, "redeliveryAt": until }),
        Outcome::FannedOut { what, enqueued } => {
            json!({ "status": "fanned-out", "what": what, "enqueued": enqueued })
        }
        Outcome::Duplicate { incident_key } => {
            json!({ "status": "duplicate", "incident": incident_key })
        }
        Outcome::Covered { incident_key, by } => {
            json!({ "status": "covered", "incident": incident_key, "by": by })
        }
        Outcome::Reported(i) => json!({
            "status": "reported",
            "incident": i.change.incident_key(),
            "priority": i.assessment.priority.label(),
            "action": serde_json::to_value(&i.action).unwrap_or(Value::Null),
            "messageId": i.message_id,
            "resumed": i.resumed,
        }),
        Outcome::Verified {
            request,
            fixed,
            message_id,
            ..
        } => json!({
            "status": "verified",
            "incident": request.incident_key,
            "fixed": fixed,
            "messageId": message_id,
        }),
        Outcome::Continued {
            instance_id,
            state,
            step,
            next_at,
            message_id,
        } => json!({
            "status": "continued",
            "instance": instance_id,
            "state": state,
            "step": step,
            "nextAt": next_at,
            "messageId": message_id,
        }),
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
    settings.require_topic()?;
    let responder = Responder::from_aws(&ec2ops::aws::sdk_config(None).await, &settings);
    tracing::info!(
        mode = settings.remediation.as_str(),
        ledger = responder.ledger.is_some(),
        verify = responder
            .actors
            .as_ref()
            .is_some_and(|a| a.scheduler.is_some()),
        diagnostics = responder.diagnostics.is_some(),
        fan_out = responder.queue.is_some(),
        "ec2ops responder ready"
    );
    let function = Function {
        responder,
        panic_token: std::env::var(PANIC_TOKEN).ok().filter(|t| !t.is_empty()),
    };
    lambda_runtime::run(service_fn(|event| handle(event, &function))).await
}
