//! The silence adapter over HTTP against answers written from the API reference, on a loopback stub: CloudWatch
//! `ListAlarmMuteRules` (Smithy RPC v2 CBOR) and SSM `GetCalendarState` (AWS JSON 1.1). Neither emulator serves
//! them.

use chrono::{DateTime, Utc};
use ec2ops::ports::{ErrorKind, SilenceReader};
use ec2ops_aws::SilenceAdapter;
use ec2ops_tests::stub::{cloudwatch_stub, stub};
use ec2ops_tests::*;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../shared/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn adapter(cloudwatch: &str, ssm: &str) -> SilenceAdapter {
    let config = config_for(cloudwatch).await;
    SilenceAdapter::new(
        aws_sdk_cloudwatch::Client::from_conf(
            aws_sdk_cloudwatch::config::Builder::from(&config)
                .endpoint_url(cloudwatch)
                .build(),
        ),
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&config)
                .endpoint_url(ssm)
                .build(),
        ),
    )
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The alarm's rules are asked for by name and status ACTIVE; a rule answered as SCHEDULED or EXPIRED mutes nothing
/// now and is left out; an active rule is named by its ARN's last part, with its expiry.
#[tokio::test]
async fn the_mute_rule_adapter_asks_for_the_alarms_active_rules_and_keeps_only_those() {
    let answer: serde_json::Value =
        serde_json::from_str(&fixture("cloudwatch/list-alarm-mute-rules.json")).unwrap();
    let (url, seen) = cloudwatch_stub(200, &answer).await;
    let rules = adapter(&url, &url)
        .await
        .active_mute_rules("prod-web-1-instance-check")
        .await
        .unwrap();
    assert_eq!(
        rules,
        [ec2ops::silence::MuteRule {
            name: "nightly-backup".into(),
            expires: Some(at("2027-01-01T00:00:00Z")),
            alarm: None,
        }]
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0]
            .headers
            .contains("/service/graniteserviceversion20100801/operation/listalarmmuterules"),
        "{}",
        requests[0].headers
    );
    // CBOR text strings are the UTF-8 bytes: the name and the status are in the body as written.
    for needle in [
        "prod-web-1-instance-check",
        "ACTIVE",
        "AlarmName",
        "Statuses",
    ] {
        assert!(requests[0].body.contains(needle), "{needle} in the request");
    }
}

/// A closed calendar is a freeze until its next transition; an open one is not; the time asked about is sent.
#[tokio::test]
async fn the_calendar_adapter_reads_a_closed_calendar_with_its_opening_time_and_an_open_one() {
    let (closed, seen) = stub(200, fixture("ssm/get-calendar-state-closed.json")).await;
    let (open, _) = stub(200, fixture("ssm/get-calendar-state-open.json")).await;
    let now = at("2026-12-07T23:40:00Z");
    let state = adapter(&closed, &closed)
        .await
        .calendar_state("release-freeze", now)
        .await
        .unwrap();
    assert_eq!(
        state,
        ec2ops::silence::CalendarState {
            open: false,
            next_transition: Some(at("2026-12-08T09:00:00Z")),
        }
    );
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests[0]
            .headers
            .contains("x-amz-target: amazonssm.getcalendarstate"),
        "{}",
        requests[0].headers
    );
    let body: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    assert_eq!(body["CalendarNames"], serde_json::json!(["release-freeze"]));
    assert_eq!(body["AtTime"], "2026-12-07T23:40:00Z");
    let state = adapter(&open, &open)
        .await
        .calendar_state("release-freeze", now)
        .await
        .unwrap();
    assert!(state.open);
}

/// A refusal keeps AWS's code and is classified as such; a state that is neither OPEN nor CLOSED is an error (it
/// holds the action like an unread calendar), never read as open.
#[tokio::test]
async fn a_refused_read_keeps_its_code_and_an_unknown_calendar_state_is_an_error() {
    let (denied, _) = stub(
        400,
        r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform: ssm:GetCalendarState"}"#
            .into(),
    )
    .await;
    let e = adapter(&denied, &denied)
        .await
        .calendar_state("release-freeze", Utc::now())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{e}");
    assert_eq!(e.code.as_deref(), Some("AccessDeniedException"));
    let (odd, _) = stub(200, r#"{"State":"HALF_OPEN"}"#.into()).await;
    let e = adapter(&odd, &odd)
        .await
        .calendar_state("release-freeze", Utc::now())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("HALF_OPEN"), "{e}");
    let (muted_denied, _) = cloudwatch_stub(
        400,
        &serde_json::json!({"__type": "AccessDenied", "message": "not authorized to perform cloudwatch:ListAlarmMuteRules"}),
    )
    .await;
    let e = adapter(&muted_denied, &muted_denied)
        .await
        .active_mute_rules("a")
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{e}");
    // No such alarm (the heartbeat's sample alarm, one deleted since): no rule mutes it.
    let (gone, _) = cloudwatch_stub(
        400,
        &serde_json::json!({"__type": "ResourceNotFoundException", "message": "Alarm not found"}),
    )
    .await;
    let rules = adapter(&gone, &gone)
        .await
        .active_mute_rules("ec2ops-heartbeat-sample")
        .await
        .unwrap();
    assert!(rules.is_empty());
}

/// For the sweep's incident (no alarm of its own): the alarms on the instance's check and on the combined check, asked
/// at once by metric and `InstanceId`, each named once.
#[tokio::test]
async fn the_adapter_finds_the_alarms_watching_an_instances_check() {
    let answer = serde_json::json!({
        "MetricAlarms": [
            {"AlarmName": "db-1-status-check", "Namespace": "AWS/EC2", "MetricName": "StatusCheckFailed_System"},
            {"AlarmName": "db-1-any-check", "Namespace": "AWS/EC2", "MetricName": "StatusCheckFailed"}
        ]
    });
    let (url, seen) = cloudwatch_stub(200, &answer).await;
    let alarms = adapter(&url, &url)
        .await
        .check_alarms("i-0d1e2f3a4b5c6d7e8", "StatusCheckFailed_System")
        .await
        .unwrap();
    assert_eq!(alarms, ["db-1-status-check", "db-1-any-check"], "each once");
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "the check's metric and the combined one");
    for r in &requests {
        assert!(
            r.headers.contains("/operation/describealarmsformetric"),
            "{}",
            r.headers
        );
        for needle in ["AWS/EC2", "InstanceId", "i-0d1e2f3a4b5c6d7e8"] {
            assert!(r.body.contains(needle), "{needle} in the request");
        }
    }
    let asks_system =
        |r: &&ec2ops_tests::stub::Received| r.body.contains("StatusCheckFailed_System");
    assert_eq!(
        requests.iter().filter(asks_system).count(),
        1,
        "one asks the check's own metric, the other the combined StatusCheckFailed"
    );
    assert!(requests
        .iter()
        .all(|r| r.body.contains("StatusCheckFailed")));
}
