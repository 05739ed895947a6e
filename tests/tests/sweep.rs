//! The scheduled sweep against the emulator: impaired instances without alarms become incidents, once.
//! (Emulated status checks are always `ok`, so the list of impaired instances is given through the adapter's trait;
//! every other call — DescribeInstances, metrics, DynamoDB, SNS — is real.)

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ec2ops::budget::Budget;
use ec2ops::config::{Language, RemediationMode, Settings};
use ec2ops::facts::{InstanceLookup, SecurityGroupFacts, StatusFacts, TypeFacts, VolumeFacts};
use ec2ops::pipeline::{Outcome, Responder};
use ec2ops::ports::{AwsError, Impaired, InstanceReader};
use ec2ops_aws::Ec2Reader;
use ec2ops_tests::*;
use serde_json::json;

/// The real EC2 reader, with the impaired list stood in.
struct WithImpaired {
    real: Ec2Reader,
    impaired: Vec<Impaired>,
}

#[async_trait]
impl InstanceReader for WithImpaired {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError> {
        self.real.instance(id).await
    }
    async fn instance_status(&self, id: &str) -> Result<StatusFacts, AwsError> {
        self.real.instance_status(id).await
    }
    async fn instance_type(&self, t: &str) -> Result<TypeFacts, AwsError> {
        self.real.instance_type(t).await
    }
    async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        self.real.security_groups(ids).await
    }
    async fn volumes(&self, id: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        self.real.volumes(id).await
    }
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        Ok(self.impaired.clone())
    }
}

fn impaired(id: &str, check: &str, since: DateTime<Utc>) -> Impaired {
    Impaired {
        instance_id: id.into(),
        availability_zone: Some("ap-northeast-2a".into()),
        check: check.into(),
        since: Some(since),
    }
}

#[tokio::test]
async fn the_sweep_reports_each_impaired_instance_once_and_skips_those_an_alarm_reported() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let table = emu.ledger_table().await;
    let (topic, queue) = emu.topic_with_queue("sweep").await;
    let quiet = emu
        .instance(
            "m5.large",
            &[("Name", "no-alarm-host"), ("Environment", "production")],
            &[],
        )
        .await;
    let alarmed = emu
        .instance(
            "m5.large",
            &[("Name", "alarmed-host"), ("Environment", "production")],
            &[],
        )
        .await;
    let since = Utc::now() - chrono::Duration::minutes(3);
    let ec2 = WithImpaired {
        real: Ec2Reader::new(emu.ec2.clone()),
        impaired: vec![
            impaired(&quiet, "StatusCheckFailed_System", since),
            impaired(&alarmed, "StatusCheckFailed_Instance", since),
        ],
    };
    let settings = Settings {
        language: Language::En,
        remediation: RemediationMode::Off,
        ledger_table: Some(table),
        topic_arn: Some(topic.clone()),
        // Generous: on a loaded 2-core machine the emulator can be slow, and a late source would drop the Name tag.
        source_timeout: Duration::from_secs(10),
        settle: Duration::from_secs(1),
        ..Settings::default()
    };
    let mut responder = emu.report_only(&settings);
    responder.ec2 = Arc::new(ec2);

    // The alarm on `alarmed` fired first and was reported.
    let alarm = event_for(
        "status-instance.json",
        &alarmed,
        Utc::now() - chrono::Duration::minutes(1),
    );
    assert!(matches!(
        respond_now(&responder, &alarm).await.unwrap(),
        Outcome::Reported(_)
    ));
    assert_eq!(
        emu.notifications(&queue, Duration::from_secs(5))
            .await
            .len(),
        1
    );

    let tick = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let Outcome::Swept { impaired, outcomes } = respond_now(&responder, &tick).await.unwrap()
    else {
        panic!("not a sweep")
    };
    assert_eq!(impaired, 2);
    let reported: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Reported(_)))
        .collect();
    assert_eq!(
        reported.len(),
        1,
        "only the instance no alarm reported: {outcomes:?}"
    );
    let got = emu.notifications(&queue, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].subject,
        format!("[P0] System status check failed {quiet} (no-alarm-host)")
    );
    assert!(got[0]
        .message
        .contains("Found by: the ec2ops sweep (no alarm)"));

    // Five minutes later the same failures are not reported again.
    let Outcome::Swept { outcomes, .. } = respond_now(&responder, &tick).await.unwrap() else {
        panic!("not a sweep")
    };
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Outcome::Duplicate { .. })),
        "{outcomes:?}"
    );
    assert!(emu
        .notifications(&queue, Duration::from_secs(3))
        .await
        .is_empty());
}

#[tokio::test]
async fn many_impaired_instances_in_one_az_make_one_az_event_report() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let table = emu.ledger_table().await;
    let (topic, queue) = emu.topic_with_queue("sweep-az").await;
    let since = Utc::now() - chrono::Duration::minutes(2);
    let mut list = Vec::new();
    for n in 0..4 {
        let id = emu
            .instance(
                "m5.large",
                &[
                    ("Name", &format!("az-host-{n}")),
                    ("Environment", "production"),
                ],
                &[],
            )
            .await;
        list.push(impaired(&id, "StatusCheckFailed_System", since));
    }
    let ec2 = WithImpaired {
        real: Ec2Reader::new(emu.ec2.clone()),
        impaired: list,
    };
    let settings = Settings {
        language: Language::En,
        remediation: RemediationMode::Auto,
        ledger_table: Some(table),
        topic_arn: Some(topic.clone()),
        // Generous: on a loaded 2-core machine the emulator can be slow, and a late source would drop the Name tag.
        source_timeout: Duration::from_secs(10),
        settle: Duration::from_secs(1),
        ..Settings::default()
    };
    let mut responder = emu.report_only(&settings);
    responder.ec2 = Arc::new(ec2);
    let tick = json!({"source": "ec2ops", "detail-type": "ec2ops.sweep"});
    let Outcome::Swept { impaired, outcomes } = respond_now(&responder, &tick).await.unwrap()
    else {
        panic!("not a sweep")
    };
    assert_eq!(impaired, 4);
    let reports: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Reported(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1, "one report for the AZ");
    assert!(reports[0].assessment.has(ec2ops::analyze::RuleId::AzEvent));
    assert_eq!(
        reports[0].assessment.priority,
        ec2ops::analyze::Priority::P0
    );
    let got = emu.notifications(&queue, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].subject.starts_with("[P0] Probable AZ-wide event"),
        "{}",
        got[0].subject
    );
    assert_eq!(
        got[0].message.matches("also impaired: i-").count(),
        3,
        "the report names the other three"
    );
}

#[tokio::test]
async fn a_sweep_and_a_health_event_naming_several_instances_fan_out_one_message_per_instance() {
    use ec2ops_aws::SqsWorkQueue;
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let table = emu.ledger_table().await;
    let (topic, reports) = emu.topic_with_queue("fanout-reports").await;
    let work = work_queue(&emu).await;
    let ids = impaired_in_two_azs(&emu).await;
    let settings = Settings {
        language: Language::En,
        remediation: RemediationMode::Off,
        ledger_table: Some(table),
        topic_arn: Some(topic.clone()),
        source_timeout: Duration::from_secs(10),
        settle: Duration::ZERO,
        ..Settings::default()
    };
    let mut responder = emu
        .report_only(&settings)
        .with_queue(Arc::new(SqsWorkQueue::new(emu.sqs.clone(), &work)));
    responder.ec2 = Arc::new(WithImpaired {
        real: Ec2Reader::new(emu.ec2.clone()),
        impaired: ids.iter().map(|(_, i)| i.clone()).collect(),
    });

    let tick = json!({"source": "ec2ops", "detail-type": "ec2ops.sweep"});
    assert_fans_out(&responder, &tick, "sweep").await;
    // A Health event naming both instances: one message each as well.
    assert_fans_out(&responder, &health_naming(&ids), "health").await;
    assert!(
        emu.notifications(&reports, Duration::from_secs(2))
            .await
            .is_empty(),
        "nothing handled inline"
    );

    let handled = handle_work(&emu, &responder, &work, 4).await;
    let reported = reported_instances(&handled);
    assert_eq!(
        reported.len(),
        4,
        "two sweep items and two Health incidents: {handled:?}"
    );
    for (id, _) in &ids {
        assert_eq!(reported.iter().filter(|r| *r == id).count(), 2, "{id}");
    }
    assert_eq!(
        emu.notifications(&reports, Duration::from_secs(5))
            .await
            .len(),
        4
    );
}

/// A work queue of the test's own.
async fn work_queue(emu: &Emulator) -> String {
    emu.sqs
        .create_queue()
        .queue_name(format!(
            "ec2ops-work-{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default() % 1_000_000_000
        ))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string()
}

/// Two instances, one per AZ, each with a failing instance check.
async fn impaired_in_two_azs(emu: &Emulator) -> Vec<(String, Impaired)> {
    let since = Utc::now() - chrono::Duration::minutes(2);
    let mut ids = Vec::new();
    for (n, az) in ["ap-northeast-2a", "ap-northeast-2b"].iter().enumerate() {
        let id = emu
            .instance("m5.large", &[("Name", &format!("fan-{n}"))], &[])
            .await;
        let mut i = impaired(&id, "StatusCheckFailed_Instance", since);
        i.availability_zone = Some(az.to_string());
        ids.push((id, i));
    }
    ids
}

/// The sample Health event, naming the given instances.
fn health_naming(ids: &[(String, Impaired)]) -> serde_json::Value {
    let mut health: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../events/health-retirement.json"
        ))
        .unwrap(),
    )
    .unwrap();
    health["detail"]["affectedEntities"] = json!(ids
        .iter()
        .map(|(id, _)| json!({"entityValue": id}))
        .collect::<Vec<_>>());
    health
}

/// `event` is fanned out as `what`: one work message per instance (two), nothing handled inline.
async fn assert_fans_out(responder: &Responder, event: &serde_json::Value, what: &str) {
    let now = Utc::now();
    let budget = Budget::new(Duration::from_secs(60), now);
    let fanned = responder.respond(event, now, budget).await.unwrap();
    assert!(
        matches!(
            fanned,
            Outcome::FannedOut { what: w, enqueued: 2 } if w == what
        ),
        "{fanned:?}"
    );
}

/// Handle the work queue's messages, each as its own invocation (the function's SQS event source, batch size 1),
/// until `want` were handled or ten receives came back.
async fn handle_work(
    emu: &Emulator,
    responder: &Responder,
    work: &str,
    want: usize,
) -> Vec<Outcome> {
    let mut handled = Vec::new();
    for _ in 0..10 {
        let got = emu
            .sqs
            .receive_message()
            .queue_url(work)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in got.messages() {
            let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            let o = responder
                .respond(
                    &body,
                    Utc::now(),
                    Budget::new(Duration::from_secs(60), Utc::now()),
                )
                .await
                .unwrap();
            handled.push(o);
        }
        if handled.len() >= want {
            break;
        }
    }
    handled
}

/// The instance of each report among the outcomes (a Health event's outcomes counted one by one).
fn reported_instances(handled: &[Outcome]) -> Vec<String> {
    handled
        .iter()
        .flat_map(|o| match o {
            Outcome::Health { outcomes } => outcomes.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .filter_map(|o| match o {
            Outcome::Reported(i) => i.change.primary_instance().map(str::to_string),
            _ => None,
        })
        .collect()
}
