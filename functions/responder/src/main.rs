//! Lambda entry point: settings and SDK clients once at cold start, then the shared pipeline per event, within the
//! invocation's own deadline. Queue messages (SQS, batch size 1) are handled one by one, reporting partial batch
//! failures: from the alarm buffer (template.yaml, `AlarmBuffer`) CloudWatch alarm events only, from the work queue
//! only what the fan-out sends.

use chrono::Utc;
use ec2ops::budget::Budget;
use ec2ops::config::{ConfigError, Settings};
use ec2ops::pipeline::{HandleError, Outcome, Responder, DEFAULT_BUDGET};
use ec2ops::remediation::approval::slack;
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
            HandleError::Released { .. } => "IncidentReleased",
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
    /// ARN of the alarm buffer queue, when the stack has one (`ALARM_BUFFER_QUEUE_ARN`).
    alarm_buffer: Option<String>,
    /// Test hook of scripts/package.sh (see `PANIC_TOKEN`).
    panic_token: Option<String>,
}

/// Test hook: proves that the packaged binary turns a handler panic into an invocation error and keeps serving
/// (`panic = "unwind"`). Armed only when this variable is set, which template.yaml never does, and then only by an
/// event `{"ec2ops-test-panic": <the same value>}`; no AWS event has that key, so a deployed function cannot be made
/// to panic by any event it receives.
const PANIC_TOKEN: &str = "EC2OPS_TEST_PANIC_TOKEN";

/// The alarm buffer queue's ARN (set by template.yaml when `AlarmBuffer` is true; unset or empty: no buffer). Only
/// records from this queue may carry CloudWatch alarm events.
const ALARM_BUFFER_QUEUE_ARN: &str = "EC2OPS_ALARM_BUFFER_QUEUE_ARN";

/// The alarm buffer's ARN as configured; anything but an SQS queue ARN fails the cold start, naming the setting.
fn alarm_buffer_arn(value: Option<&str>) -> Result<Option<String>, ConfigError> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Ok(None);
    }
    let parts: Vec<&str> = value.split(':').collect();
    let well_formed = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sqs"
        && parts.iter().all(|p| !p.is_empty());
    if !well_formed {
        return Err(ConfigError {
            name: ALARM_BUFFER_QUEUE_ARN,
            value: value.chars().take(256).collect(),
            expected: "empty or an SQS queue ARN (arn:PARTITION:sqs:REGION:ACCOUNT:NAME)".into(),
        });
    }
    Ok(Some(value.to_string()))
}

/// One message of an SQS event: its id, the ARN of the queue it came from, and its body.
struct Message {
    id: String,
    queue: String,
    body: Value,
}

/// The messages of an SQS event (every record from SQS), or None for any other event.
fn queue_messages(event: &Value) -> Option<Vec<Message>> {
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
                let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
                let body = text("body");
                Message {
                    id: text("messageId").to_string(),
                    queue: text("eventSourceARN").to_string(),
                    // A body that is not JSON is handled as a string, which the pipeline rejects as malformed.
                    body: serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.into())),
                }
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
    // The Slack app's request to the function URL: an HTTP answer, whatever happens (within Slack's 3 s).
    if slack::is_http_request(&event.payload) {
        return Ok(responder
            .respond_http(&event.payload, now, budget)
            .await
            .to_event());
    }
    // A Slack answer comes from the work queue only, where the function put it after checking Slack's signature: a
    // direct invocation carrying one would claim a Slack user it cannot prove.
    if slack::is_slack_answer(&event.payload) {
        tracing::warn!("a Slack answer invoked directly, not from the work queue: refused");
        return Ok(
            json!({ "status": "refused", "why": "a Slack answer comes from the work queue only" }),
        );
    }
    if let Some(messages) = queue_messages(&event.payload) {
        // Partial batch response: only failed messages go back to the queue (and, after its retries, to the
        // failed-events queue).
        let mut failures = Vec::new();
        for Message { id, queue, body } in messages {
            let carrier = carrier(&queue, f.alarm_buffer.as_deref());
            if !carrier.admits(&body) {
                tracing::warn!(message = %id, queue = carrier.name(), "message of a kind this queue never carries: dropped");
                continue;
            }
            // Each message is its own delivery, with its own instant (the incident record's claimant is that instant).
            match responder.respond(&body, Utc::now(), budget).await {
                Ok(o) => {
                    tracing::info!(message = %id, queue = carrier.name(), status = status(&o)["status"].as_str().unwrap_or("-"), "message handled")
                }
                Err(e) => {
                    tracing::warn!(message = %id, queue = carrier.name(), error = %e, "message failed");
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

/// The queue a message came from, which decides what it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carrier {
    /// The alarm buffer: one CloudWatch alarm event per message, as EventBridge delivered it.
    AlarmBuffer,
    /// The work queue (any queue but the alarm buffer): what the fan-out sends.
    WorkQueue,
}

/// By the record's `eventSourceARN`; a record that names no queue, or another one, is held to the work queue's rule.
fn carrier(queue_arn: &str, alarm_buffer: Option<&str>) -> Carrier {
    match alarm_buffer {
        Some(buffer) if queue_arn == buffer => Carrier::AlarmBuffer,
        _ => Carrier::WorkQueue,
    }
}

impl Carrier {
    fn name(self) -> &'static str {
        match self {
            Carrier::AlarmBuffer => "alarm-buffer",
            Carrier::WorkQueue => "work-queue",
        }
    }

    /// Whether a body is what this queue carries. The alarm buffer's queue policy lets only the stack's alarm rules
    /// send, and this check holds it to their events (a CloudWatch alarm or contributor state change) even so. The
    /// work queue carries one sweep item or one narrowed Health event; anything else (a continuation, an alarm) is
    /// dropped, so a sender to the queue cannot drive a recover. It also carries the Slack answers the function
    /// itself verified (only the function may send to it).
    fn admits(self, body: &Value) -> bool {
        match self {
            Carrier::AlarmBuffer => buffered_alarm(body),
            Carrier::WorkQueue => fanned_out(body),
        }
    }
}

/// What the alarm rules send to the alarm buffer.
fn buffered_alarm(body: &Value) -> bool {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    text("source") == "aws.cloudwatch"
        && matches!(
            text("detail-type"),
            "CloudWatch Alarm State Change" | "CloudWatch Alarm Contributor State Change"
        )
}

/// What the fan-out sends to the work queue, and the Slack answers the function URL hands over.
fn fanned_out(body: &Value) -> bool {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    slack::is_slack_answer(body)
        || matches!(
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
        Outcome::Digest {
            window,
            incidents,
            message_id,
            already,
        } => json!({
            "status": if *already { "digest-already-published" } else { "digest" },
            "window": window,
            "incidents": incidents,
            "messageId": message_id,
        }),
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
        Outcome::Rechecked {
            incident_key,
            picture,
            message_id,
        } => json!({
            "status": "rechecked",
            "incident": incident_key,
            "picture": picture,
            "messageId": message_id,
        }),
        Outcome::Approval {
            nonce,
            step,
            message_id,
        } => json!({
            "status": "approval",
            "nonce": nonce,
            "step": step,
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
        Outcome::Heartbeat {
            line,
            topic_arn,
            message_id,
        } => json!({
            "status": "heartbeat",
            "line": line,
            "topic": topic_arn,
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
    let alarm_buffer = alarm_buffer_arn(std::env::var(ALARM_BUFFER_QUEUE_ARN).ok().as_deref())?;
    let responder = ec2ops_aws::responder(&ec2ops_aws::sdk_config(None).await, &settings);
    tracing::info!(
        mode = settings.remediation.as_str(),
        ledger = responder.ledger.is_some(),
        verify = responder
            .actors
            .as_ref()
            .is_some_and(|a| a.scheduler.is_some()),
        diagnostics = responder.diagnostics.is_some(),
        fan_out = responder.queue.is_some(),
        alarm_buffer = alarm_buffer.is_some(),
        slack_app = responder.slack.is_some(),
        // Where the heartbeat's line goes: the operations topic, else the report topic.
        operations_topic = settings.operations_topic_arn.is_some(),
        "ec2ops responder ready"
    );
    let function = Function {
        responder,
        alarm_buffer,
        panic_token: std::env::var(PANIC_TOKEN).ok().filter(|t| !t.is_empty()),
    };
    lambda_runtime::run(service_fn(|event| handle(event, &function))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUFFER: &str = "arn:aws:sqs:ap-northeast-2:123456789012:ec2ops-AlarmBufferQueue-1A2B3C";
    const WORK: &str = "arn:aws:sqs:ap-northeast-2:123456789012:ec2ops-WorkQueue-4D5E6F";

    fn event(source: &str, detail_type: &str) -> Value {
        json!({"source": source, "detail-type": detail_type, "detail": {}})
    }

    #[test]
    fn an_unset_or_empty_alarm_buffer_setting_means_no_buffer() {
        assert_eq!(alarm_buffer_arn(None).unwrap(), None);
        assert_eq!(alarm_buffer_arn(Some("")).unwrap(), None);
        assert_eq!(alarm_buffer_arn(Some("  ")).unwrap(), None);
        assert_eq!(
            alarm_buffer_arn(Some(BUFFER)).unwrap().as_deref(),
            Some(BUFFER)
        );
    }

    #[test]
    fn an_alarm_buffer_setting_that_is_not_an_sqs_queue_arn_fails_naming_the_setting() {
        for bad in [
            "my-queue",
            "https://sqs.ap-northeast-2.amazonaws.com/123456789012/q",
            "arn:aws:sns:ap-northeast-2:123456789012:q",
            "arn:aws:sqs:ap-northeast-2:123456789012:",
            "arn:aws:sqs::123456789012:q",
        ] {
            let e = alarm_buffer_arn(Some(bad)).expect_err(bad);
            assert_eq!(e.name, ALARM_BUFFER_QUEUE_ARN);
            assert!(e.to_string().contains(ALARM_BUFFER_QUEUE_ARN), "{e}");
        }
    }

    #[test]
    fn only_records_from_the_configured_buffer_are_alarm_buffer_records() {
        assert_eq!(carrier(BUFFER, Some(BUFFER)), Carrier::AlarmBuffer);
        assert_eq!(carrier(WORK, Some(BUFFER)), Carrier::WorkQueue);
        // A record that names no queue is held to the stricter rule, with or without a buffer.
        assert_eq!(carrier("", Some(BUFFER)), Carrier::WorkQueue);
        assert_eq!(carrier("", None), Carrier::WorkQueue);
        assert_eq!(carrier(BUFFER, None), Carrier::WorkQueue);
    }

    #[test]
    fn the_alarm_buffer_admits_cloudwatch_alarm_and_contributor_changes_and_nothing_else() {
        let admitted = |e: &Value| Carrier::AlarmBuffer.admits(e);
        assert!(admitted(&event(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change"
        )));
        assert!(admitted(&event(
            "aws.cloudwatch",
            "CloudWatch Alarm Contributor State Change"
        )));
        for (source, detail_type) in [
            ("ec2ops", "ec2ops.sweep-item"),
            ("ec2ops", "ec2ops.continue"),
            ("ec2ops", "CloudWatch Alarm State Change"),
            ("aws.ec2", "EC2 Instance State-change Notification"),
            ("aws.health", "AWS Health Event"),
            ("aws.cloudwatch", "CloudWatch Alarm Configuration Change"),
        ] {
            assert!(
                !admitted(&event(source, detail_type)),
                "{source} / {detail_type}"
            );
        }
        assert!(!admitted(&Value::String("not JSON".into())));
    }

    #[test]
    fn the_work_queue_still_drops_alarms_and_takes_only_what_the_fan_out_sends() {
        let admitted = |e: &Value| Carrier::WorkQueue.admits(e);
        assert!(!admitted(&event(
            "aws.cloudwatch",
            "CloudWatch Alarm State Change"
        )));
        assert!(!admitted(&event("ec2ops", "ec2ops.continue")));
        assert!(admitted(&event(
            ec2ops::remediation::VERIFY_SOURCE,
            ec2ops::event::SWEEP_ITEM_DETAIL_TYPE
        )));
        assert!(admitted(&event("aws.health", "AWS Health Event")));
    }

    #[test]
    fn the_work_queue_carries_the_slack_answers_the_function_verified_and_the_buffer_never_does() {
        let answer = event(
            ec2ops::remediation::VERIFY_SOURCE,
            slack::SLACK_ANSWER_DETAIL_TYPE,
        );
        assert!(slack::is_slack_answer(&answer));
        assert!(Carrier::WorkQueue.admits(&answer));
        assert!(!Carrier::AlarmBuffer.admits(&answer));
    }

    #[test]
    fn every_record_carries_its_queue_and_a_non_sqs_event_is_no_batch() {
        let batch = json!({"Records": [
            {"eventSource": "aws:sqs", "eventSourceARN": BUFFER, "messageId": "a", "body": "{\"k\": 1}"},
            {"eventSource": "aws:sqs", "messageId": "b", "body": "not JSON"}
        ]});
        let m = queue_messages(&batch).expect("an SQS batch");
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].id.as_str(), m[0].queue.as_str()), ("a", BUFFER));
        assert_eq!(m[0].body, json!({"k": 1}));
        assert_eq!((m[1].id.as_str(), m[1].queue.as_str()), ("b", ""));
        assert_eq!(m[1].body, Value::String("not JSON".into()));
        assert!(queue_messages(&json!({"Records": []})).is_none());
        assert!(queue_messages(&json!({"Records": [{"eventSource": "aws:sns"}]})).is_none());
        assert!(
            queue_messages(&event("aws.cloudwatch", "CloudWatch Alarm State Change")).is_none()
        );
    }
}
