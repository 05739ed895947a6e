//! The evidence adapters over HTTP: CloudWatch Logs `FilterLogEvents` (moto, which serves it on the DynamoDB port)
//! and CloudWatch `DescribeAlarms` (LocalStack) against the emulator; CloudTrail `LookupEvents`, which neither
//! emulator serves, against a recorded response on a loopback stub. Then the whole pipeline with LookupEvents
//! throttled: the report is still published and names the gap.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ec2ops::config::{Language, Settings};
use ec2ops::evidence::changes::{classify, ChangeKind};
use ec2ops::pipeline::{EvidencePorts, Outcome};
use ec2ops::ports::{AlarmLister, ChangeReader, LogReader};
use ec2ops_aws::{AlarmsReader, CloudTrailReader, LogsReader};
use ec2ops_tests::stub::stub;
use ec2ops_tests::*;

macro_rules! emulator {
    () => {
        match Emulator::connect().await {
            Some(e) => e,
            None => return,
        }
    };
}

/// CloudWatch Logs is served by moto (LocalStack's service list is fixed when it starts, without `logs`).
fn logs_client(emu: &Emulator) -> aws_sdk_cloudwatchlogs::Client {
    let endpoint =
        std::env::var("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS").unwrap_or_else(|_| dynamodb_endpoint());
    aws_sdk_cloudwatchlogs::Client::from_conf(
        aws_sdk_cloudwatchlogs::config::Builder::from(&emu.config)
            .endpoint_url(endpoint)
            .build(),
    )
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default()
    )
}

fn recorded_lookup() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/fixtures/cloudtrail/prod-api-1-resize.json"
    ))
    .unwrap()
}

fn trail_at(url: &str, config: &aws_config::SdkConfig) -> CloudTrailReader {
    CloudTrailReader::new(aws_sdk_cloudtrail::Client::from_conf(
        aws_sdk_cloudtrail::config::Builder::from(config)
            .endpoint_url(url)
            .build(),
    ))
}

#[tokio::test]
async fn cloudtrail_adapter_reads_a_recorded_lookup_events_response_over_http() {
    let (url, seen) = stub(200, recorded_lookup()).await;
    let config = config_for(&url).await;
    let trail = trail_at(&url, &config);
    let until = Utc::now();
    let since = until - chrono::Duration::hours(6);
    let events = trail
        .changes("i-0b7e4c2d9a1f35c60", since, until)
        .await
        .unwrap();

    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0]
            .headers
            .contains("x-amz-target: cloudtrail_20131101.lookupevents"),
        "{}",
        requests[0].headers
    );
    let body: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(
        body["LookupAttributes"],
        serde_json::json!([{"AttributeKey": "ResourceName", "AttributeValue": "i-0b7e4c2d9a1f35c60"}])
    );
    assert_eq!(body["MaxResults"], 50);
    assert_eq!(
        body["StartTime"].as_f64().map(|t| t as i64),
        Some(since.timestamp())
    );

    assert_eq!(events.len(), 6);
    let resize = events
        .iter()
        .find(|e| e.name == "ModifyInstanceAttribute")
        .unwrap();
    assert_eq!(resize.who(), "jiwoo.park@example.com (PlatformAdmin)");
    assert_eq!(resize.request.as_deref(), Some("instanceType=m5.large"));
    assert_eq!(
        resize.from_where().as_deref(),
        Some("203.0.113.24, console")
    );
    assert_eq!(classify(resize), Some(ChangeKind::Resize));
    let read = events
        .iter()
        .find(|e| e.name == "DescribeInstances")
        .unwrap();
    assert_eq!(read.read_only, Some(true));
    assert_eq!(classify(read), None);
}

#[tokio::test]
async fn cloudwatch_logs_adapter_reads_only_the_instances_streams_in_the_window() {
    let emu = emulator!();
    let logs = logs_client(&emu);
    let group = unique("/ec2ops-test/app");
    let id = "i-0aaaabbbbccccdddd";
    logs.create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let now = Utc::now();
    for (stream, lines) in [
        (
            id,
            vec![
                (5, "ERROR pool exhausted"),
                (2, "GET /health 200"),
                (90, "long before the window"),
            ],
        ),
        ("i-0other0000000000", vec![(3, "ERROR not this instance")]),
    ] {
        logs.create_log_stream()
            .log_group_name(&group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        let mut events: Vec<_> = lines
            .into_iter()
            .map(|(ago, m)| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp((now - chrono::Duration::minutes(ago)).timestamp_millis())
                    .message(m)
                    .build()
                    .unwrap()
            })
            .collect();
        events.sort_by_key(|e| e.timestamp());
        logs.put_log_events()
            .log_group_name(&group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    }
    let reader = LogsReader::new(logs.clone());
    let (since, until) = ec2ops::evidence::logs::window(now);
    let lines = reader
        .log_lines(&group, id, since, until, 500)
        .await
        .unwrap();
    let mut messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    messages.sort();
    assert_eq!(messages, ["ERROR pool exhausted", "GET /health 200"]);
    assert!(lines.iter().all(|l| l.stream == id));

    let missing = reader
        .log_lines(&unique("/ec2ops-test/missing"), id, since, until, 500)
        .await
        .unwrap_err();
    assert_eq!(missing.code.as_deref(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn describe_alarms_adapter_lists_the_alarms_in_alarm_with_their_instance() {
    let emu = emulator!();
    let id = format!(
        "i-0{:016x}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default() as u64
    );
    let name = unique("ec2ops-test-netout");
    emu.alarm(&name, "NetworkOut", &id, 1.0).await;
    let (listed, _more) = AlarmsReader::new(emu.cloudwatch.clone())
        .in_alarm()
        .await
        .unwrap();
    let found = ec2ops::evidence::alarms::on_instance(&id, "the-current-alarm", &listed, false);
    assert_eq!(found.alarms.len(), 1, "{listed:?}");
    assert_eq!(found.alarms[0].name, name);
    assert_eq!(found.alarms[0].namespace.as_deref(), Some("AWS/EC2"));
    assert_eq!(found.alarms[0].metric.as_deref(), Some("NetworkOut"));
    assert!(found.alarms[0].since.is_some());
}

#[tokio::test]
async fn a_throttled_lookup_events_still_publishes_the_report_with_the_gap_named() {
    let emu = emulator!();
    let (id, at) = seed_cpu_spike(&emu).await;
    emu.alarm(&unique("ec2ops-test-other"), "NetworkIn", &id, 1.0)
        .await;
    let (topic, queue) = emu.topic_with_queue("evidence").await;
    let (url, seen) = stub(
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
    )
    .await;
    let trail = trail_at(&url, &emu.config);
    let settings = Settings {
        language: Language::En,
        topic_arn: Some(topic.clone()),
        log_groups: vec![unique("/ec2ops-test/none")],
        ..Settings::default()
    };
    // Reporting only, as the function builds it, with CloudTrail answering through the throttling stub.
    let mut responder = emu.report_only(&settings);
    responder.evidence = EvidencePorts {
        changes: Some(Arc::new(trail)),
        logs: Some(Arc::new(LogsReader::new(logs_client(&emu)))),
        alarms: Some(Arc::new(AlarmsReader::new(emu.cloudwatch.clone()))),
        targets: None,
    };
    let event = event_for("cpu-spike.json", &id, at);
    let outcome = respond_now(&responder, &event).await.unwrap();
    assert!(matches!(outcome, Outcome::Reported(_)));
    assert!(!seen.lock().unwrap().is_empty(), "LookupEvents was called");

    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "exactly one publish");
    let m = &got[0].message;
    for needle in [
        "CloudTrail LookupEvents: unavailable:",
        "ThrottlingException: Rate exceeded",
        "Other alarms in ALARM on this instance (oldest first):",
        "not found",
        "🔗 Instance: https://ap-northeast-2.console.aws.amazon.com/ec2/home?region=ap-northeast-2#InstanceDetails:instanceId=",
        "7. 🤖 Automation opportunities",
    ] {
        assert!(m.contains(needle), "missing {needle:?} in:\n{m}");
    }
}

// The silence adapter (mute rules, Change Calendars) against recorded answers: neither emulator serves them.
#[path = "evidence/silence.rs"]
mod silence;
