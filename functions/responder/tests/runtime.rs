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

#[tokio::test]
async fn invalid_settings_fail_the_cold_start_naming_the_setting() {
    let stub = RuntimeStub::start(vec![]).await;
    let child = run_function(
        &stub,
        &[
            ("EC2OPS_LANGUAGE", "fr"),
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
    assert!(text.contains("EC2OPS_LANGUAGE"), "{text}");
    assert!(
        stub.next_calls().is_empty(),
        "no event is taken with bad settings"
    );
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
    let posted = stub.wait_for(3, Duration::from_secs(60)).await;
    assert_eq!(posted.len(), 3, "{posted:?}");

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

    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "one report for three events");
    assert!(got[0].subject.starts_with("[P2] CPU spike"));
}
