//! The real Lambda binary against a stub Runtime API on loopback and the local emulator: what Lambda sees.

use std::process::Stdio;
use std::time::Duration;

use ec2ops_tests::runtime_stub::{lambda_env, RuntimeStub};
use ec2ops_tests::{endpoint, event_for, seed_cpu_spike, Emulator};
use serde_json::json;

async fn run_function(stub: &RuntimeStub, extra: &[(&str, &str)]) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_responder"));
    cmd.envs(lambda_env(stub))
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", ec2ops_tests::REGION)
        .envs(extra.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().expect("spawn responder")
}

/// Start the function with `setting` set to `value` (and a valid topic): it must exit before taking an event, and
/// say which setting is wrong.
async fn cold_start_fails_naming(setting: &str, value: &str) {
    let stub = RuntimeStub::start(vec![]).await;
    let child = run_function(
        &stub,
        &[
            (setting, value),
            (
                "EC2OPS_TOPIC_ARN",
                "arn:aws:sns:ap-northeast-2:000000000000:t",
            ),
        ],
    )
    .await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("exits")
        .expect("output");
    assert!(!out.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(setting), "{text}");
    assert!(
        stub.next_calls().is_empty(),
        "no event is taken with bad settings"
    );
}

#[tokio::test]
async fn invalid_settings_fail_the_cold_start_naming_the_setting() {
    cold_start_fails_naming("EC2OPS_LANGUAGE", "fr").await;
}

#[tokio::test]
async fn an_alarm_buffer_setting_that_is_not_a_queue_arn_fails_the_cold_start_naming_it() {
    cold_start_fails_naming("EC2OPS_ALARM_BUFFER_QUEUE_ARN", "https://sqs.example/q").await;
}

#[tokio::test]
async fn an_operations_topic_setting_that_is_not_a_topic_arn_fails_the_cold_start_naming_it() {
    cold_start_fails_naming("EC2OPS_OPERATIONS_TOPIC_ARN", "ops@example.com").await;
}

/// The heartbeat through the binary as Lambda runs it: the pipeline on the built-in alarm against the emulator's
/// services, its one line on the operations topic and nothing on the report topic; a heartbeat of another shape is
/// an invocation error.
#[tokio::test]
async fn a_heartbeat_posts_one_line_to_the_operations_topic_and_nothing_to_the_report_topic() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let (reports, report_queue) = emu.topic_with_queue("runtime-heartbeat-reports").await;
    let (operations, operations_queue) = emu.topic_with_queue("runtime-heartbeat-ops").await;
    let events = vec![
        json!({"source": "ec2ops", "detail-type": "ec2ops.heartbeat", "detail": {}}),
        json!({"source": "ec2ops", "detail-type": "ec2ops.heartbeat", "detail": "daily"}),
    ];
    let stub = RuntimeStub::start(events).await;
    let _child = run_function(
        &stub,
        &[
            ("EC2OPS_TOPIC_ARN", reports.as_str()),
            ("EC2OPS_OPERATIONS_TOPIC_ARN", operations.as_str()),
        ],
    )
    .await;
    let posted = stub.wait_for(2, Duration::from_secs(60)).await;
    assert_eq!(posted.len(), 2, "{posted:?}");
    assert_eq!(posted[0].kind, "response");
    assert_eq!(posted[0].body["status"], "heartbeat");
    assert_eq!(posted[0].body["topic"], operations.as_str());
    let line = posted[0].body["line"].as_str().unwrap_or_default();
    assert!(
        line.starts_with("ec2ops heartbeat ok · pipeline rendered a P"),
        "{line}"
    );
    assert_eq!(posted[1].kind, "error");
    assert_eq!(posted[1].body["errorType"], "NonRetryable.MalformedEvent");

    let got = emu
        .notifications(&operations_queue, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].subject.starts_with("ec2ops heartbeat ok ("),
        "{got:?}"
    );
    assert_eq!(got[0].message, line, "the SQS body is the one line");
    let reported = emu
        .notifications(&report_queue, Duration::from_secs(3))
        .await;
    assert!(reported.is_empty(), "{reported:?}");
}

#[tokio::test]
async fn an_alarm_through_the_buffer_is_handled_as_an_alarm_and_each_queue_carries_only_its_own_kind(
) {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let (id, at) = seed_cpu_spike(&emu).await;
    let (topic, queue) = emu.topic_with_queue("runtime-buffer").await;
    let buffer = "arn:aws:sqs:ap-northeast-2:000000000000:ec2ops-AlarmBufferQueue-X";
    let work = "arn:aws:sqs:ap-northeast-2:000000000000:ec2ops-WorkQueue-Y";
    // An alarm that fails to parse: handled, it is a failure of the batch; dropped, it is not.
    let malformed_alarm =
        json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change",
                                 "detail": {"alarmName": "x"}})
        .to_string();
    // A work item that would fail if it were handled (no such instance).
    let failing_sweep_item = json!({"source": "ec2ops", "detail-type": "ec2ops.sweep-item",
        "detail": {"instance_id": "not-an-instance", "check": "StatusCheckFailed_Instance"}})
    .to_string();
    let record = |id: &str, arn: &str, body: String| json!({"eventSource": "aws:sqs", "eventSourceARN": arn, "messageId": id, "body": body});
    let events = vec![json!({"Records": [
        record("b1", buffer, event_for("cpu-spike.json", &id, at).to_string()),
        record("b2", buffer, failing_sweep_item.clone()),
        record("b3", buffer, malformed_alarm.clone()),
        record("w1", work, malformed_alarm),
    ]})];
    let stub = RuntimeStub::start(events).await;
    let _child = run_function(
        &stub,
        &[
            ("EC2OPS_TOPIC_ARN", topic.as_str()),
            ("EC2OPS_LANGUAGE", "en"),
            ("EC2OPS_ALARM_BUFFER_QUEUE_ARN", buffer),
        ],
    )
    .await;
    let posted = stub.wait_for(1, Duration::from_secs(60)).await;
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].kind, "response");
    // b1 is handled as an alarm (its report below); b2, a work item on the buffer, and w1, an alarm on the work
    // queue, are dropped unhandled; b3 is the one failure, reported alone so that only it goes back to the queue.
    assert_eq!(
        posted[0].body,
        json!({"batchItemFailures": [{"itemIdentifier": "b3"}]})
    );
    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "the buffered alarm's report only: {got:?}");
    assert!(got[0].subject.starts_with("[P2] CPU spike"), "{got:?}");
    assert!(got[0].subject.contains(&id), "{got:?}");
}

#[tokio::test]
async fn the_function_reports_ignores_and_rejects_events_as_lambda_expects() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let (id, at) = seed_cpu_spike(&emu).await;
    let (topic, queue) = emu.topic_with_queue("runtime").await;
    let events = vec![
        event_for("cpu-spike.json", &id, at),
        json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
        json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": {"alarmName": "x"}}),
        // The work queue's batch (SQS event source): a sweep item is handled, a continuation (never put on the queue
        // by ec2ops) is dropped, a malformed item is the one failure of the batch.
        json!({"Records": [
            {"eventSource": "aws:sqs", "messageId": "m1", "body": json!({
                "source": "ec2ops", "detail-type": "ec2ops.sweep-item",
                "detail": {"instance_id": id, "availability_zone": "ap-northeast-2a",
                           "check": "StatusCheckFailed_Instance", "since": "2026-01-01T00:00:00Z"}}).to_string()},
            {"eventSource": "aws:sqs", "messageId": "m2", "body": json!({
                "source": "ec2ops", "detail-type": "ec2ops.continue", "detail": {}}).to_string()},
            {"eventSource": "aws:sqs", "messageId": "m3", "body": json!({
                "source": "ec2ops", "detail-type": "ec2ops.sweep-item",
                "detail": {"instance_id": "not-an-instance", "check": "StatusCheckFailed_Instance"}}).to_string()}
        ]}),
    ];
    let stub = RuntimeStub::start(events).await;
    let _child = run_function(
        &stub,
        &[
            ("EC2OPS_TOPIC_ARN", topic.as_str()),
            ("EC2OPS_LANGUAGE", "en"),
        ],
    )
    .await;
    let posted = stub.wait_for(4, Duration::from_secs(60)).await;
    assert_eq!(posted.len(), 4, "{posted:?}");

    assert_eq!(posted[0].kind, "response");
    assert_eq!(posted[0].body["status"], "reported");
    assert_eq!(posted[0].body["priority"], "P2");
    assert!(posted[0].body["messageId"].is_string());

    assert_eq!(posted[1].kind, "response");
    assert_eq!(posted[1].body["status"], "ignored");

    // A malformed event is an invocation error: Lambda retries it and then keeps it in the failure destination.
    assert_eq!(posted[2].kind, "error");
    assert_eq!(posted[2].body["errorType"], "NonRetryable.MalformedEvent");
    assert!(posted[2].body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("missing field `state`"));

    // Partial batch response: only the malformed item goes back to the queue.
    assert_eq!(posted[3].kind, "response");
    assert_eq!(
        posted[3].body,
        json!({"batchItemFailures": [{"itemIdentifier": "m3"}]})
    );

    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(
        got.len(),
        2,
        "the alarm's report and the sweep item's: {got:?}"
    );
    assert!(got.iter().any(|n| n.subject.starts_with("[P2] CPU spike")));
    assert!(got
        .iter()
        .any(|n| n.subject.contains("Instance status check failed")));
}

#[tokio::test]
async fn the_function_url_refuses_a_forged_or_unlisted_slack_request_and_a_direct_slack_answer() {
    use ec2ops::remediation::approval::slack::{slack_signature, SLACK_ANSWER_DETAIL_TYPE};
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let name = format!(
        "/ec2ops-test/runtime-slack-{}",
        ec2ops_tests::unique_suffix()
    );
    let secret = "runtime-signing-secret";
    emu.secure_parameter(
        &name,
        &json!({"signingSecret": secret, "approvers": ["U0ONCALL1"]}).to_string(),
    )
    .await;
    let (topic, _queue) = emu.topic_with_queue("runtime-slack").await;
    let nonce = "0123456789abcdef0123456789abcdef";
    let form = |user: &str| {
        let payload =
            json!({"user": {"id": user}, "actions": [{"value": format!("approve:{nonce}")}]});
        format!(
            "payload={}",
            payload
                .to_string()
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect::<String>()
        )
    };
    let url_event = |body: &str, sig: &str, ts: &str| {
        json!({
            "version": "2.0",
            "headers": {"x-slack-signature": sig, "x-slack-request-timestamp": ts},
            "requestContext": {"http": {"method": "POST", "path": "/"}},
            "body": body,
            "isBase64Encoded": false
        })
    };
    let ts = chrono::Utc::now().timestamp().to_string();
    let signed =
        |body: &str| slack_signature(secret.as_bytes(), &ts, body.as_bytes()).unwrap_or_default();
    let listed = form("U0ONCALL1");
    let unlisted = form("U0STRANGER");
    let events = vec![
        url_event(&listed, &signed(&unlisted), &ts),
        url_event(&unlisted, &signed(&unlisted), &ts),
        json!({"source": "ec2ops", "detail-type": SLACK_ANSWER_DETAIL_TYPE,
               "detail": {"nonce": nonce, "decision": "approve", "user": "U0ONCALL1"}}),
    ];
    let stub = RuntimeStub::start(events).await;
    let _child = run_function(
        &stub,
        &[
            ("EC2OPS_TOPIC_ARN", topic.as_str()),
            ("EC2OPS_REMEDIATION_MODE", "approve"),
            ("EC2OPS_SLACK_APP_PARAMETER", name.as_str()),
        ],
    )
    .await;
    let posted = stub.wait_for(3, Duration::from_secs(60)).await;
    assert_eq!(posted.len(), 3, "{posted:?}");
    assert!(posted.iter().all(|p| p.kind == "response"), "{posted:?}");
    assert_eq!(
        posted[0].body["statusCode"], 401,
        "a body other than the signed one"
    );
    assert_eq!(posted[1].body["statusCode"], 403, "a user not on the list");
    assert_eq!(
        posted[2].body["status"], "refused",
        "a Slack answer invoked directly"
    );
}
