//! The heartbeat through the responder: the real pipeline (parse, gather, assess, decide, render) on the built-in
//! alarm, one line posted to the operations topic — else the report topic — and nothing else: no claim, no ledger
//! read or write, no action, no schedule, no digest. A heartbeat event of another shape is a malformed event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ec2ops::budget::Budget;
use ec2ops::config::{Envelope, Settings};
use ec2ops::event::{parse, EventError, Parsed, HEARTBEAT_DETAIL_TYPE};
use ec2ops::message::SnsMessage;
use ec2ops::pipeline::storm::Storm;
use ec2ops::pipeline::{Actors, HandleError, Outcome, Responder};
use ec2ops::ports::{
    ActionLedger, ActionRecord, AwsError, AzDeclaration, CallResult, Claim, Completion, Grant,
    Impairment, ImpairmentLog, IncidentClaims, Ledger, Offline, Progress, RecordedAction,
    Remediator, ReportPublisher, VerifyScheduler, WorkQueue,
};
use ec2ops::remediation::LedgerView;
use ec2ops::report::digest::DigestEntry;
use ec2ops::storm::{
    Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
};
use serde_json::{json, Value};

const REPORTS: &str = "arn:aws:sns:ap-northeast-2:123456789012:ec2ops-reports";
const OPERATIONS: &str = "arn:aws:sns:ap-northeast-2:123456789012:ec2ops-operations";

/// The schedule's input, as template.yaml sends it.
fn heartbeat_event() -> Value {
    json!({"source": "ec2ops", "detail-type": HEARTBEAT_DETAIL_TYPE, "detail": {}})
}

/// Every publish: (topic, message).
#[derive(Default)]
struct Recording(Mutex<Vec<(String, SnsMessage)>>);

#[async_trait]
impl ReportPublisher for Recording {
    async fn publish(&self, topic_arn: &str, message: &SnsMessage) -> Result<String, AwsError> {
        let mut all = self
            .0
            .lock()
            .map_err(|_| AwsError::new("sns", "Publish", "poisoned"))?;
        all.push((topic_arn.to_string(), message.clone()));
        Ok(format!("m{}", all.len()))
    }
}

impl Recording {
    fn published(&self) -> Vec<(String, SnsMessage)> {
        self.0.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Every port a heartbeat must never use: the ledger's three, the storm's three, the remediator, the scheduler and
/// the work queue. Each call is noted and fails.
#[derive(Default)]
struct Tripwire(Mutex<Vec<&'static str>>);

impl Tripwire {
    fn trip<T>(&self, what: &'static str) -> Result<T, AwsError> {
        if let Ok(mut calls) = self.0.lock() {
            calls.push(what);
        }
        Err(AwsError::new(
            "tripwire",
            what,
            "a heartbeat must not call this",
        ))
    }

    fn calls(&self) -> Vec<&'static str> {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

#[async_trait]
impl IncidentClaims for Tripwire {
    async fn claim(&self, _: &str, _: DateTime<Utc>, _: DateTime<Utc>) -> Result<Claim, AwsError> {
        self.trip("claim")
    }
    async fn complete(&self, _: &str, _: DateTime<Utc>, _: &Completion) -> Result<(), AwsError> {
        self.trip("complete")
    }
    async fn completion(&self, _: &str) -> Result<Option<Completion>, AwsError> {
        self.trip("completion")
    }
    async fn release(&self, _: &str, _: DateTime<Utc>) -> Result<(), AwsError> {
        self.trip("release")
    }
}

#[async_trait]
impl ActionLedger for Tripwire {
    async fn view(
        &self,
        _: &str,
        _: &str,
        _: Option<&str>,
        _: DateTime<Utc>,
    ) -> Result<LedgerView, AwsError> {
        self.trip("view")
    }
    async fn record_action(&self, _: &ActionRecord, _: &Envelope) -> Result<Grant, AwsError> {
        self.trip("record_action")
    }
    async fn progress(&self, _: &str, _: &Progress) -> Result<(), AwsError> {
        self.trip("progress")
    }
    async fn recorded_action(&self, _: &str) -> Result<Option<RecordedAction>, AwsError> {
        self.trip("recorded_action")
    }
}

#[async_trait]
impl ImpairmentLog for Tripwire {
    async fn impaired_noted(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AwsError> {
        self.trip("impaired_noted")
    }
    async fn note_impaired(&self, _: &str, _: &str, _: DateTime<Utc>) -> Result<(), AwsError> {
        self.trip("note_impaired")
    }
    async fn record_impairment(&self, _: &str, _: &Impairment) -> Result<(), AwsError> {
        self.trip("record_impairment")
    }
    async fn impairments(&self, _: &str, _: DateTime<Utc>) -> Result<Vec<Impairment>, AwsError> {
        self.trip("impairments")
    }
    async fn declare_az_event(
        &self,
        _: &str,
        _: &str,
        _: &[String],
        _: DateTime<Utc>,
    ) -> Result<AzDeclaration, AwsError> {
        self.trip("declare_az_event")
    }
}

#[async_trait]
impl PublishGate for Tripwire {
    async fn admit(&self, _: i64, _: u32) -> Result<bool, AwsError> {
        self.trip("admit")
    }
}

#[async_trait]
impl DigestBuffer for Tripwire {
    async fn buffer(&self, _: &Window, _: &DigestEntry) -> Result<Buffered, AwsError> {
        self.trip("buffer")
    }
    async fn flush_scheduled(&self, _: &Window) -> Result<bool, AwsError> {
        self.trip("flush_scheduled")
    }
    async fn note_scheduled(&self, _: &Window) -> Result<(), AwsError> {
        self.trip("note_scheduled")
    }
    async fn close(
        &self,
        _: &Window,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<FlushClaim, AwsError> {
        self.trip("close")
    }
    async fn entries(&self, _: &Window) -> Result<Vec<DigestEntry>, AwsError> {
        self.trip("entries")
    }
    async fn published(&self, _: &Window, _: &str, _: DateTime<Utc>) -> Result<(), AwsError> {
        self.trip("published")
    }
}

#[async_trait]
impl IncidentLog for Tripwire {
    async fn log(&self, _: &LoggedIncident) -> Result<(), AwsError> {
        self.trip("log")
    }
    async fn list(
        &self,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<Vec<LoggedIncident>, AwsError> {
        self.trip("list")
    }
    async fn show(&self, _: &str) -> Result<Option<LoggedIncident>, AwsError> {
        self.trip("show")
    }
}

#[async_trait]
impl Remediator for Tripwire {
    async fn reboot(&self, _: &str, _: bool) -> Result<CallResult, AwsError> {
        self.trip("reboot")
    }
    async fn stop(&self, _: &str, _: bool, _: bool) -> Result<CallResult, AwsError> {
        self.trip("stop")
    }
    async fn start(&self, _: &str, _: bool) -> Result<CallResult, AwsError> {
        self.trip("start")
    }
    async fn state(&self, _: &str) -> Result<Option<ec2ops::facts::InstanceState>, AwsError> {
        self.trip("state")
    }
}

#[async_trait]
impl VerifyScheduler for Tripwire {
    async fn schedule(
        &self,
        _: &str,
        _: &Value,
        _: DateTime<Utc>,
        _: &str,
    ) -> Result<String, AwsError> {
        self.trip("schedule")
    }
}

#[async_trait]
impl WorkQueue for Tripwire {
    async fn enqueue(&self, _: &Value) -> Result<(), AwsError> {
        self.trip("enqueue")
    }
}

/// A responder as the function builds it, offline sources, with every port it must not use tripwired. Remediation
/// is `auto`, so that only the heartbeat's own restraint keeps it from acting.
fn responder(operations: Option<&str>) -> (Responder, Arc<Recording>, Arc<Tripwire>) {
    let settings = Settings {
        topic_arn: Some(REPORTS.into()),
        operations_topic_arn: operations.map(str::to_string),
        remediation: ec2ops::config::RemediationMode::Auto,
        ..Settings::default()
    };
    let publisher = Arc::new(Recording::default());
    let trip = Arc::new(Tripwire::default());
    let responder = Responder::new(settings, Arc::new(Offline), Arc::new(Offline))
        .with_delivery(publisher.clone(), REPORTS)
        .with_ledger(Ledger::of(trip.clone()))
        .with_storm(Storm::of(trip.clone()))
        .with_queue(trip.clone())
        .with_actors(Actors {
            remediator: trip.clone(),
            scheduler: Some(trip.clone()),
            function_arn: Some(
                "arn:aws:lambda:ap-northeast-2:123456789012:function:ec2ops-responder".into(),
            ),
        });
    (responder, publisher, trip)
}

fn budget() -> Budget {
    Budget::new(Duration::from_secs(60), Utc::now())
}

#[tokio::test]
async fn a_heartbeat_runs_the_pipeline_and_posts_exactly_one_line_to_the_operations_topic() {
    let (responder, publisher, trip) = responder(Some(OPERATIONS));
    let outcome = responder
        .respond(&heartbeat_event(), Utc::now(), budget())
        .await
        .expect("handled");
    let Outcome::Heartbeat {
        line,
        topic_arn,
        message_id,
    } = outcome
    else {
        panic!("a heartbeat outcome: {outcome:?}");
    };
    assert_eq!(topic_arn.as_deref(), Some(OPERATIONS));
    assert_eq!(message_id.as_deref(), Some("m1"));
    // The pipeline ran: it rendered a report and gave it a priority; the offline sources all answered "unavailable"
    // (the ledger, never read, is not counted).
    assert!(
        line.starts_with("ec2ops heartbeat ok · pipeline rendered a P"),
        "{line}"
    );
    assert!(line.contains(" report in "), "{line}");
    assert!(line.contains(" · sources: 0/7 available · "), "{line}");
    assert!(
        line.ends_with(&format!("· ap-northeast-2 {}", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    let published = publisher.published();
    assert_eq!(published.len(), 1, "exactly one message");
    let (topic, message) = &published[0];
    assert_eq!(topic, OPERATIONS, "not the report topic");
    assert_eq!(message.subject, "ec2ops heartbeat ok (ap-northeast-2)");
    let body: Value = serde_json::from_str(&message.message).expect("JSON");
    for format in ["email", "sqs"] {
        assert_eq!(body[format], line.as_str(), "{format} is the one line");
    }
    assert!(!line.contains('\n'), "one line: {line:?}");
    let chat: Value = serde_json::from_str(body["default"].as_str().expect("chat")).expect("JSON");
    assert_eq!(chat["content"]["description"], line.as_str());
    // Nothing else: no claim, no ledger, no action, no schedule, no digest, no gate slot, no fan-out.
    assert_eq!(trip.calls(), Vec::<&str>::new());
}

#[tokio::test]
async fn without_an_operations_topic_the_line_goes_to_the_report_topic_within_the_publish_rate() {
    let (responder, publisher, trip) = responder(None);
    let outcome = responder
        .respond(&heartbeat_event(), Utc::now(), budget())
        .await
        .expect("handled");
    assert!(
        matches!(&outcome, Outcome::Heartbeat { topic_arn: Some(t), .. } if t == REPORTS),
        "{outcome:?}"
    );
    let published = publisher.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, REPORTS);
    // On the report topic the line asks the publish gate for a slot (the gate here fails: it goes anyway); it
    // touches nothing else.
    let calls = trip.calls();
    assert!(calls.iter().all(|c| *c == "admit"), "{calls:?}");
}

#[tokio::test]
async fn a_heartbeat_that_cannot_post_is_a_retryable_publish_failure() {
    struct Down;
    #[async_trait]
    impl ReportPublisher for Down {
        async fn publish(&self, _: &str, _: &SnsMessage) -> Result<String, AwsError> {
            Err(AwsError::new("sns", "Publish", "connection refused")
                .with_code("ServiceUnavailable", ec2ops::ports::ErrorKind::Service)
                .retryable(true))
        }
    }
    let (responder, _, trip) = responder(Some(OPERATIONS));
    let responder = responder.with_delivery(Arc::new(Down), REPORTS);
    let e = responder
        .respond(&heartbeat_event(), Utc::now(), budget())
        .await
        .expect_err("not posted");
    assert!(matches!(e, HandleError::Publish(_)), "{e}");
    assert!(
        e.retryable(),
        "Lambda retries it, then keeps it in the failed-events queue"
    );
    assert_eq!(trip.calls(), Vec::<&str>::new());
}

#[tokio::test]
async fn without_a_delivery_the_heartbeat_still_runs_and_returns_its_line() {
    let settings = Settings::default();
    let responder = Responder::new(settings, Arc::new(Offline), Arc::new(Offline));
    let outcome = responder
        .respond(&heartbeat_event(), Utc::now(), budget())
        .await
        .expect("handled");
    let Outcome::Heartbeat {
        line,
        topic_arn: None,
        message_id: None,
    } = outcome
    else {
        panic!("not posted anywhere: {outcome:?}");
    };
    assert!(line.starts_with("ec2ops heartbeat ok"), "{line}");
}

#[tokio::test]
async fn a_heartbeat_of_another_shape_is_a_malformed_event_naming_the_field() {
    let (responder, publisher, trip) = responder(Some(OPERATIONS));
    for (event, path, says) in [
        (
            json!({"source": "ec2ops", "detail-type": HEARTBEAT_DETAIL_TYPE}),
            "(top)",
            "missing field `detail`",
        ),
        (
            json!({"source": "ec2ops", "detail-type": HEARTBEAT_DETAIL_TYPE, "detail": "daily"}),
            "detail",
            "invalid type: string \"daily\"",
        ),
        (
            json!({"source": "ec2ops", "detail-type": HEARTBEAT_DETAIL_TYPE, "detail": [1]}),
            "detail",
            "invalid type: sequence",
        ),
    ] {
        let Err(EventError::Field {
            context,
            path: p,
            message,
        }) = parse(&event)
        else {
            panic!("{event}: {:?}", parse(&event));
        };
        assert_eq!(context, "ec2ops heartbeat", "{event}");
        assert_eq!(p, path, "{event}");
        assert!(message.contains(says), "{event}: {message}");
        let e = responder
            .respond(&event, Utc::now(), budget())
            .await
            .expect_err("malformed");
        assert!(matches!(e, HandleError::Malformed(_)), "{e}");
        assert!(!e.retryable(), "a retry cannot help");
        assert!(
            e.to_string()
                .starts_with("malformed event: ec2ops heartbeat: "),
            "{e}"
        );
    }
    assert!(publisher.published().is_empty());
    assert_eq!(trip.calls(), Vec::<&str>::new());
}

#[test]
fn a_heartbeat_reads_no_field_of_its_detail_and_only_ec2ops_sends_one() {
    let event = json!({"source": "ec2ops", "detail-type": HEARTBEAT_DETAIL_TYPE, "detail": {"anything": 1}});
    assert_eq!(parse(&event), Ok(Parsed::Heartbeat));
    let other = json!({"source": "aws.events", "detail-type": HEARTBEAT_DETAIL_TYPE, "detail": {}});
    assert!(
        matches!(parse(&other), Ok(Parsed::Ignored { .. })),
        "another source is not ec2ops's heartbeat"
    );
}

/// A configured silence the function cannot read holds every action: the heartbeat counts it among its sources and
/// says so on its line, so a calendar in another account without a grant does not hold them all without a word.
#[tokio::test]
async fn a_silence_that_cannot_be_read_is_counted_and_named_on_the_heartbeat_line() {
    struct Unreadable;
    #[async_trait]
    impl ec2ops::ports::SilenceReader for Unreadable {
        async fn active_mute_rules(
            &self,
            _: &str,
        ) -> Result<Vec<ec2ops::silence::MuteRule>, AwsError> {
            Ok(vec![])
        }
        async fn calendar_state(
            &self,
            _: &str,
            _: DateTime<Utc>,
        ) -> Result<ec2ops::silence::CalendarState, AwsError> {
            Err(
                AwsError::new("ssm", "GetCalendarState", "not authorized").with_code(
                    "AccessDeniedException",
                    ec2ops::ports::ErrorKind::AccessDenied,
                ),
            )
        }
        async fn check_alarms(&self, _: &str, _: &str) -> Result<Vec<String>, AwsError> {
            Ok(vec![])
        }
    }
    let (mut responder, _, _) = responder(Some(OPERATIONS));
    let mut settings = (*responder.settings).clone();
    settings.mute_rules = true;
    settings.change_calendars = vec!["release-freeze".into()];
    responder.settings = Arc::new(settings);
    let responder = responder.with_silence(Arc::new(Unreadable));
    let Outcome::Heartbeat { line, .. } = responder
        .respond(&heartbeat_event(), Utc::now(), budget())
        .await
        .expect("handled")
    else {
        panic!("a heartbeat outcome")
    };
    assert!(line.contains(" · sources: 1/9 available"), "{line}");
    assert!(
        line.contains("every action held: cannot read Change Calendar release-freeze"),
        "{line}"
    );
    assert!(line.contains("AccessDeniedException"), "{line}");
}
