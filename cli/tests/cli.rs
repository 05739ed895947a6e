//! The `ec2ops` binary as an operator runs it.

use std::process::{Command, Output};

fn ec2ops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ec2ops"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("EC2OPS_TOPIC_ARN")
        .env_remove("EC2OPS_LANGUAGE")
        .output()
        .expect("run ec2ops")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn offline_respond_prints_the_degraded_email_report_and_exits_zero() {
    let o = ec2ops(&[
        "respond",
        "events/status-instance.json",
        "--offline",
        "--language",
        "en",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("[P0] Instance status check failed — i-0d1e2f3a4b5c6d7e8"),
        "{out}"
    );
    assert!(out.contains("unavailable: ec2 DescribeInstances: offline mode, no AWS call made"));
    assert!(stderr(&o).contains("subject: [P0] Instance status check failed i-0d1e2f3a4b5c6d7e8"));
}

#[test]
fn sns_format_prints_the_exact_message_body() {
    let o = ec2ops(&[
        "respond",
        "events/cpu-spike.json",
        "--offline",
        "--format",
        "sns",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let body: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("JSON");
    let chat: serde_json::Value =
        serde_json::from_str(body["default"].as_str().unwrap()).expect("chatbot JSON");
    assert_eq!(chat["version"], "1.0");
    assert!(
        body["email"].as_str().unwrap().contains("🚨 긴급도 평가"),
        "Korean by default"
    );
}

#[test]
fn chatbot_format_prints_the_notification() {
    let o = ec2ops(&[
        "respond",
        "events/composite.json",
        "--offline",
        "--format",
        "chatbot",
    ]);
    assert!(o.status.success());
    let chat: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(chat["content"]["title"]
        .as_str()
        .unwrap()
        .starts_with("[P1] 복합(composite) 알람"));
}

#[test]
fn an_unknown_event_is_ignored_with_exit_zero() {
    let o = ec2ops(&["respond", "events/unrelated-event.json", "--offline"]);
    assert!(o.status.success());
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("ignored: source \"aws.s3\""));
}

#[test]
fn a_malformed_event_fails_with_one_line_naming_the_problem() {
    let dir = std::env::temp_dir().join(format!("ec2ops-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "truncated.json",
            "{\"source\": \"aws.cloudwatch\", \"detail-type\": \"CloudWatch Al",
            "not valid JSON",
        ),
        (
            "no-state.json",
            r#"{"source":"aws.cloudwatch","detail-type":"CloudWatch Alarm State Change","detail":{"alarmName":"x"}}"#,
            "missing field `state`",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let o = ec2ops(&["respond", path.to_str().unwrap(), "--offline"]);
        assert_eq!(o.status.code(), Some(2), "{name}");
        let err = stderr(&o);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(
            err.contains("malformed event") && err.contains(expected),
            "{err}"
        );
    }
    let o = ec2ops(&["respond", "does/not/exist.json", "--offline"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("reading does/not/exist.json"));
}

#[test]
fn publish_without_a_topic_names_the_missing_setting() {
    let o = ec2ops(&["respond", "events/cpu-spike.json", "--publish"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("EC2OPS_TOPIC_ARN"), "{}", stderr(&o));
}

#[test]
fn offline_and_publish_cannot_be_combined() {
    let o = ec2ops(&["respond", "events/cpu-spike.json", "--offline", "--publish"]);
    assert!(!o.status.success());
}
