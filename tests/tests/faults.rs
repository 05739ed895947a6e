//! Fault injection: EC2, CloudWatch, the DynamoDB ledger and SNS failing in each way an AWS call fails in practice
//! (HTTP 500, HTTP 503, a dropped connection, an answer later than the source deadline), through the proxy in front
//! of the emulator. A failed source must degrade the report, never lose it; a failed publish must be a retryable
//! error, so Lambda redelivers the event. docs/resilience.md tabulates what these tests verify.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ec2ops::config::Settings;
use ec2ops::pipeline::{HandleError, Incident, Outcome};
use ec2ops_tests::proxy::Fault;
use ec2ops_tests::rig::Rig;
use ec2ops_tests::*;

/// Operations each service's faults take away from the report (DescribeInstanceTypes and DescribeSecurityGroups
/// need DescribeInstances' answer, so they go with it).
const EC2_OPERATIONS: [&str; 5] = [
    "DescribeInstances",
    "DescribeInstanceStatus",
    "DescribeInstanceTypes",
    "DescribeSecurityGroups",
    "DescribeVolumes",
];
const CLOUDWATCH_OPERATIONS: [&str; 2] = ["GetMetricData", "DescribeAlarmHistory"];
/// The proxy's error messages say this, so a gap can be traced to the injected fault.
const INJECTED: &str = "fault injected by the ec2ops test proxy";

/// The deadline of the delay cases, and the delay that overruns it. 3 s rather than 1 s: on a busy 2-core machine the
/// emulator itself can take over a second for an unfaulted GetMetricData, which must not read as the fault leaking.
const SHORT_DEADLINE: Duration = Duration::from_secs(3);
const OVERRUN: Duration = Duration::from_secs(10);
/// The deadline of the other cases: generous, so only the injected fault can make a source unavailable even when
/// the machine is busy.
const LONG_DEADLINE: Duration = Duration::from_secs(10);

/// The seed's incident, seeded once for the whole file: seeding takes seconds (the emulator's image catalog, a
/// dozen metric puts) and every case only reads it. Each test has its own runtime and SDK clients are bound to the
/// runtime that made them, so the seeding runs on a runtime of its own and only the instance id and time are shared.
fn seeded_incident() -> (String, DateTime<Utc>) {
    static SEEDED: OnceLock<(String, DateTime<Utc>)> = OnceLock::new();
    SEEDED
        .get_or_init(|| {
            let seeding = std::thread::spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime for seeding");
                rt.block_on(async {
                    let emu = Emulator::connect().await.expect("emulator");
                    seed_cpu_spike(&emu).await
                })
            });
            seeding
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
        .clone()
}

/// The seed's CPU-spike alarm: on the seeded instance, or (`seeded` false) on an instance that does not exist, enough
/// when only the publish matters and it skips the slowest part of seeding (the emulator's image catalog). Seeding
/// goes straight to the emulator: only the responder's own calls cross the proxy.
fn cpu_spike(seeded: bool) -> serde_json::Value {
    let (id, at) = if seeded {
        seeded_incident()
    } else {
        ("i-0123456789abcdef0".to_string(), Utc::now())
    };
    event_for("cpu-spike.json", &id, at)
}

/// Respond to `event` through the rig's proxy with the given source deadline.
async fn respond(
    rig: &Rig,
    event: &serde_json::Value,
    deadline: Duration,
) -> Result<Outcome, HandleError> {
    let responder = rig.proxied_responder(Settings {
        source_timeout: deadline,
        ..Settings::default()
    });
    respond_now(&responder, event).await
}

/// Respond with `fault` on `service`, and return the incident, the one report that reached the queue and how long
/// the handler took.
async fn degraded(
    rig: &Rig,
    event: &serde_json::Value,
    service: &str,
    fault: Fault,
    deadline: Duration,
) -> (Incident, Notification, Duration) {
    rig.proxy().inject(service, fault);
    let started = std::time::Instant::now();
    let outcome = respond(rig, event, deadline).await;
    let took = started.elapsed();
    let Ok(Outcome::Reported(incident)) = outcome else {
        panic!("{service} {fault}: the report must still be published, got {outcome:?}")
    };
    // Shown with --nocapture: what docs/resilience.md quotes.
    eprintln!(
        "{service} {fault}: handled in {took:?}, gaps {:#?}",
        incident.facts.gaps()
    );
    assert!(
        rig.proxy().faulted() > 0,
        "{service} {fault}: the fault was never hit: {:?}",
        rig.proxy().requests()
    );
    assert_eq!(
        rig.proxy().requests().get("sns"),
        Some(&1),
        "one Publish, unfaulted"
    );
    let got = rig
        .emu
        .notifications(&rig.queue, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1, "{service} {fault}: exactly one report");
    (*incident, got[0].clone(), took)
}

/// The report names every `lost` source as unavailable with `reason`, and keeps the other service's evidence
/// (`kept`): the fault does not leak beyond its service.
fn assert_names_missing(
    incident: &Incident,
    report: &Notification,
    lost: &[&str],
    kept: &[&str],
    reason: &str,
) {
    let gaps = incident.facts.gaps();
    let names: Vec<&str> = gaps.iter().map(|(n, _)| *n).collect();
    for op in lost {
        assert!(names.contains(op), "{op} should be a gap: {gaps:?}");
    }
    for op in kept {
        assert!(!names.contains(op), "{op} should have been kept: {gaps:?}");
    }
    for (name, why) in &gaps {
        assert!(
            lost.contains(name) || !why.to_string().contains(INJECTED),
            "the fault leaked into {name}: {why}"
        );
    }
    let text = &report.message;
    assert!(
        text.contains("unavailable"),
        "report does not say unavailable:\n{text}"
    );
    assert!(
        text.contains(lost[0]),
        "report does not name {}:\n{text}",
        lost[0]
    );
    assert!(
        text.contains(reason),
        "report does not give the reason {reason:?}:\n{text}"
    );
    assert!(
        report.subject.starts_with("[P"),
        "still a prioritised report: {}",
        report.subject
    );
}

/// A proxied rig with its topic named `$name` and the seed's CPU-spike alarm: seeded (the default) or `unseeded`, or
/// seeded with the ledger in the path (`with_ledger`). Returns from the test (a skip) without the emulator.
macro_rules! rig {
    ($name:expr) => {
        rig!(seeded, $name)
    };
    (seeded, $name:expr) => {
        match Rig::through_proxy($name).await {
            Some(r) => (r, cpu_spike(true)),
            None => return,
        }
    };
    (unseeded, $name:expr) => {
        match Rig::through_proxy($name).await {
            Some(r) => (r, cpu_spike(false)),
            None => return,
        }
    };
    (with_ledger, $name:expr) => {
        match Rig::through_proxy($name).await {
            Some(r) => match r.with_ledger().await {
                Some(r) => (r, cpu_spike(true)),
                None => return,
            },
            None => return,
        }
    };
}

// EC2: every Describe* call fails; the report says so and keeps CloudWatch's evidence.

#[tokio::test]
async fn ec2_answering_500_leaves_a_report_that_names_describe_instances_unavailable() {
    let (rig, event) = rig!("fault-ec2-500");
    let (incident, report, _) =
        degraded(&rig, &event, "ec2", Fault::InternalError, LONG_DEADLINE).await;
    assert_names_missing(
        &incident,
        &report,
        &EC2_OPERATIONS,
        &["GetMetricData"],
        "ec2 DescribeInstances: InternalError",
    );
}

#[tokio::test]
async fn ec2_answering_503_leaves_a_report_that_names_describe_instances_unavailable() {
    let (rig, event) = rig!("fault-ec2-503");
    let (incident, report, _) = degraded(
        &rig,
        &event,
        "ec2",
        Fault::ServiceUnavailable,
        LONG_DEADLINE,
    )
    .await;
    assert_names_missing(
        &incident,
        &report,
        &EC2_OPERATIONS,
        &["GetMetricData"],
        "ec2 DescribeInstances: Unavailable",
    );
}

#[tokio::test]
async fn ec2_dropping_the_connection_leaves_a_report_that_names_describe_instances_unavailable() {
    let (rig, event) = rig!("fault-ec2-drop");
    let (incident, report, _) = degraded(&rig, &event, "ec2", Fault::Drop, LONG_DEADLINE).await;
    assert_names_missing(
        &incident,
        &report,
        &EC2_OPERATIONS,
        &["GetMetricData"],
        "ec2 DescribeInstances:",
    );
}

#[tokio::test]
async fn ec2_answering_after_the_deadline_leaves_a_report_that_names_describe_instances_timed_out()
{
    let (rig, event) = rig!("fault-ec2-late");
    let (incident, report, took) =
        degraded(&rig, &event, "ec2", Fault::Delay(OVERRUN), SHORT_DEADLINE).await;
    assert_names_missing(
        &incident,
        &report,
        &EC2_OPERATIONS,
        &[],
        "timed out after 3000 ms",
    );
    // The deadline, not the delay, bounds the handler (two rounds of at most 1 s each, then the publish).
    assert!(
        took < OVERRUN,
        "the handler waited for the late answer: {took:?}"
    );
}

// CloudWatch: GetMetricData and DescribeAlarmHistory fail; the report keeps EC2's evidence.

#[tokio::test]
async fn cloudwatch_answering_500_leaves_a_report_that_names_get_metric_data_unavailable() {
    let (rig, event) = rig!("fault-cw-500");
    let (incident, report, _) = degraded(
        &rig,
        &event,
        "monitoring",
        Fault::InternalError,
        LONG_DEADLINE,
    )
    .await;
    assert_names_missing(
        &incident,
        &report,
        &CLOUDWATCH_OPERATIONS,
        &["DescribeInstances"],
        "cloudwatch GetMetricData: InternalServiceFault",
    );
}

#[tokio::test]
async fn cloudwatch_answering_503_leaves_a_report_that_names_get_metric_data_unavailable() {
    let (rig, event) = rig!("fault-cw-503");
    let (incident, report, _) = degraded(
        &rig,
        &event,
        "monitoring",
        Fault::ServiceUnavailable,
        LONG_DEADLINE,
    )
    .await;
    assert_names_missing(
        &incident,
        &report,
        &CLOUDWATCH_OPERATIONS,
        &["DescribeInstances"],
        "cloudwatch GetMetricData: ServiceUnavailable",
    );
}

#[tokio::test]
async fn cloudwatch_dropping_the_connection_leaves_a_report_that_names_get_metric_data_unavailable()
{
    let (rig, event) = rig!("fault-cw-drop");
    let (incident, report, _) =
        degraded(&rig, &event, "monitoring", Fault::Drop, LONG_DEADLINE).await;
    assert_names_missing(
        &incident,
        &report,
        &CLOUDWATCH_OPERATIONS,
        &["DescribeInstances"],
        "cloudwatch GetMetricData:",
    );
}

#[tokio::test]
async fn cloudwatch_answering_after_the_deadline_leaves_a_report_that_names_get_metric_data_timed_out(
) {
    let (rig, event) = rig!("fault-cw-late");
    let (incident, report, took) = degraded(
        &rig,
        &event,
        "monitoring",
        Fault::Delay(OVERRUN),
        SHORT_DEADLINE,
    )
    .await;
    assert_names_missing(
        &incident,
        &report,
        &CLOUDWATCH_OPERATIONS,
        &[],
        "timed out after 3000 ms",
    );
    assert!(
        took < OVERRUN,
        "the handler waited for the late answer: {took:?}"
    );
}

// DynamoDB (the ledger): duplicates cannot be collapsed and nothing may be acted on, but the report goes out.

async fn ledger_fault_still_reports(name: &str, fault: Fault, deadline: Duration) {
    let (rig, event) = rig!(with_ledger, name);
    // No bound on the handler's time here: the claim has no deadline yet (docs/resilience.md).
    let (incident, report, _took) = degraded(&rig, &event, "dynamodb", fault, deadline).await;
    // With the short deadline of the late case, a busy emulator may miss it for other sources too.
    let kept: &[&str] = if deadline < LONG_DEADLINE {
        &[]
    } else {
        &["DescribeInstances", "GetMetricData"]
    };
    assert_names_missing(&incident, &report, &["Ledger"], kept, "Ledger");
}

#[tokio::test]
async fn dynamodb_answering_500_still_publishes_the_report_and_names_the_ledger_unavailable() {
    ledger_fault_still_reports("fault-ddb-500", Fault::InternalError, LONG_DEADLINE).await;
}

#[tokio::test]
async fn dynamodb_answering_503_still_publishes_the_report_and_names_the_ledger_unavailable() {
    ledger_fault_still_reports("fault-ddb-503", Fault::ServiceUnavailable, LONG_DEADLINE).await;
}

#[tokio::test]
async fn dynamodb_dropping_the_connection_still_publishes_the_report_and_names_the_ledger_unavailable(
) {
    ledger_fault_still_reports("fault-ddb-drop", Fault::Drop, LONG_DEADLINE).await;
}

#[tokio::test]
async fn dynamodb_answering_after_the_deadline_still_publishes_the_report() {
    ledger_fault_still_reports("fault-ddb-late", Fault::Delay(OVERRUN), SHORT_DEADLINE).await;
}

#[tokio::test]
async fn a_claim_whose_answer_is_lost_is_recognised_as_its_own_and_the_incident_is_recorded_complete(
) {
    let (rig, event) = rig!(with_ledger, "fault-ddb-lost-claim");
    // The claim's write reaches DynamoDB, its answer does not: the SDK tries again and finds the record written.
    rig.proxy()
        .inject_times("dynamodb PutItem", Fault::LoseAnswer, 1);
    let outcome = respond(&rig, &event, LONG_DEADLINE)
        .await
        .expect("a claim whose answer was lost is the delivery's own, not another's in progress");
    assert_eq!(rig.proxy().faulted(), 1, "the fault was applied");
    let Outcome::Reported(incident) = outcome else {
        panic!("expected a report, got {outcome:?}")
    };
    assert!(incident.message_id.is_some(), "published");
    assert!(
        incident.facts.ledger.get().is_some(),
        "owned: the ledger is not reported unavailable: {:?}",
        incident.facts.ledger
    );
    let done = ec2ops::ports::IncidentClaims::completion(
        rig.ledger().as_ref(),
        &incident.change.incident_key(),
    )
    .await
    .expect("the ledger answers")
    .expect("recorded COMPLETED, not left IN_PROGRESS until its lease runs out");
    assert_eq!(done.message_id, incident.message_id);
}

#[tokio::test]
async fn an_incident_reported_without_its_claim_is_recorded_after_the_report_and_a_redelivery_is_a_duplicate(
) {
    let (rig, event) = rig!(with_ledger, "fault-ddb-late-claim");
    // Both tries of the claim fail (two attempts each); the ledger answers again once the report is out.
    rig.proxy()
        .inject_times("dynamodb PutItem", Fault::InternalError, 4);
    let outcome = respond(&rig, &event, LONG_DEADLINE)
        .await
        .expect("reported without the claim");
    let Outcome::Reported(incident) = outcome else {
        panic!("expected a report, got {outcome:?}")
    };
    assert!(incident.message_id.is_some(), "published");
    assert!(
        incident.facts.ledger.get().is_none(),
        "the report says the claim failed (nothing was acted on)"
    );
    let done = ec2ops::ports::IncidentClaims::completion(
        rig.ledger().as_ref(),
        &incident.change.incident_key(),
    )
    .await
    .expect("the ledger answers")
    .expect("recorded once its report was out");
    assert_eq!(done.message_id, incident.message_id);
    let again = respond(&rig, &event, LONG_DEADLINE).await.expect("handled");
    assert!(
        matches!(again, Outcome::Duplicate { .. }),
        "a redelivery is a duplicate, not a second report: {again:?}"
    );
}

// SNS: the report cannot be delivered; the invocation must fail as retryable so Lambda delivers the event again.

async fn publish_fails_retryably(name: &str, fault: Fault) {
    let (rig, event) = rig!(unseeded, name);
    rig.proxy().inject("sns", fault);
    let err = respond(&rig, &event, LONG_DEADLINE)
        .await
        .expect_err("a report that was not delivered must fail the invocation");
    assert!(
        err.retryable(),
        "sns {fault}: Lambda must retry the event: {err}"
    );
    let HandleError::Publish(e) = &err else {
        panic!("sns {fault}: expected a publish error, got {err}")
    };
    eprintln!("sns {fault}: {err} (retryable: {})", err.retryable());
    assert_eq!((e.service, e.operation), ("sns", "Publish"));
    assert!(e.retryable);
    assert!(rig.proxy().requests().get("sns").is_some_and(|n| *n >= 1));
    // Nothing half-delivered: the proxy never forwarded the Publish.
    let got = rig
        .emu
        .notifications(&rig.queue, Duration::from_secs(2))
        .await;
    assert!(got.is_empty(), "sns {fault}: {got:?}");
}

#[tokio::test]
async fn sns_answering_500_fails_the_invocation_as_retryable() {
    publish_fails_retryably("fault-sns-500", Fault::InternalError).await;
}

#[tokio::test]
async fn sns_answering_503_fails_the_invocation_as_retryable() {
    publish_fails_retryably("fault-sns-503", Fault::ServiceUnavailable).await;
}

#[tokio::test]
async fn sns_dropping_the_connection_fails_the_invocation_as_retryable() {
    publish_fails_retryably("fault-sns-drop", Fault::Drop).await;
}

// One transient failure per service: the SDK's own retry absorbs it and the report is complete.

async fn one_transient_503_is_absorbed(service: &str) {
    let (rig, event) = rig!(&format!("fault-{service}-once"));
    rig.proxy()
        .inject_times(service, Fault::ServiceUnavailable, 1);
    let outcome = respond(&rig, &event, LONG_DEADLINE).await;
    let Ok(Outcome::Reported(incident)) = outcome else {
        panic!("{service}: {outcome:?}")
    };
    assert_eq!(rig.proxy().faulted(), 1);
    let gaps = incident.facts.gaps();
    assert!(
        gaps.iter()
            .all(|(_, why)| !why.to_string().contains(INJECTED)),
        "{service}: the retry should have hidden the fault: {gaps:?}"
    );
    let primary = if service == "monitoring" {
        "GetMetricData"
    } else {
        "DescribeInstances"
    };
    assert!(
        gaps.iter().all(|(name, _)| *name != primary),
        "{service}: {gaps:?}"
    );
    let got = rig
        .emu
        .notifications(&rig.queue, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1, "{service}: one report, not two");
}

#[tokio::test]
async fn one_transient_ec2_503_is_retried_by_the_sdk_and_leaves_no_gap() {
    one_transient_503_is_absorbed("ec2").await;
}

#[tokio::test]
async fn one_transient_cloudwatch_503_is_retried_by_the_sdk_and_leaves_no_gap() {
    one_transient_503_is_absorbed("monitoring").await;
}

#[tokio::test]
async fn one_transient_sns_503_is_retried_by_the_sdk_and_publishes_once() {
    one_transient_503_is_absorbed("sns").await;
}

#[tokio::test]
async fn with_every_dependency_answering_late_the_handler_returns_within_its_budget_with_the_report(
) {
    use ec2ops::budget::Budget;
    let (rig, event) = rig!(with_ledger, "bounded");
    // EC2, CloudWatch and the DynamoDB ledger (claim, view, completion) all answer 30 s late; SNS answers.
    for service in ["ec2", "monitoring", "dynamodb"] {
        rig.proxy()
            .inject(service, Fault::Delay(Duration::from_secs(30)));
    }
    let budget_secs = 12;
    // As configured in template.yaml's maxima: the budget must cut them short, not the sources' own deadlines.
    let responder = rig.proxied_responder(Settings {
        source_timeout: Duration::from_secs(60),
        diagnostics_timeout: Duration::from_secs(60),
        ..Settings::default()
    });
    let now = Utc::now();
    let started = std::time::Instant::now();
    let outcome = responder
        .respond(
            &event,
            now,
            Budget::new(Duration::from_secs(budget_secs), now),
        )
        .await;
    let took = started.elapsed();
    eprintln!("every dependency 30 s late, budget {budget_secs} s: handled in {took:?}");
    let Ok(Outcome::Reported(incident)) = outcome else {
        panic!("the report must be published: {outcome:?}")
    };
    assert!(
        took < Duration::from_secs(budget_secs),
        "returned after {took:?}, past its {budget_secs} s budget"
    );
    let gaps: Vec<&str> = incident.facts.gaps().iter().map(|(n, _)| *n).collect();
    assert!(
        gaps.contains(&"DescribeInstances") && gaps.contains(&"GetMetricData"),
        "{gaps:?}"
    );
    let got = rig
        .emu
        .notifications(&rig.queue, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1, "exactly one report");
    assert!(
        got[0].message.contains("unavailable"),
        "the report names the gaps"
    );
}
