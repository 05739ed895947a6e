//! The scheduled sweep against the emulator: impaired instances without alarms become incidents, once.
//! (Emulated status checks are always `ok`, so the list of impaired instances is given through the adapter's trait;
//! every other call — DescribeInstances, metrics, DynamoDB, SNS — is real.)

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ec2ops::aws::{AwsClients, DynamoLedger, Ec2Reader};
use ec2ops::config::{Language, RemediationMode, Settings};
use ec2ops::facts::{InstanceLookup, SecurityGroupFacts, StatusFacts, TypeFacts, VolumeFacts};
use ec2ops::gather::Readers;
use ec2ops::pipeline::{respond, Delivery, Outcome};
use ec2ops::ports::{AwsError, Impaired, InstanceReader};
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
    let ledger = DynamoLedger::new(emu.dynamodb.clone(), table.clone());
    let (topic, queue) = emu.topic_with_queue("sweep").await;
    let clients = AwsClients::from_config(&emu.config);
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
    let readers = Readers {
        ec2: &ec2,
        metrics: &clients.cloudwatch,
        ledger: Some(&ledger),
        diagnostics: None,
    };
    let delivery = Delivery {
        publisher: &clients.sns,
        topic_arn: &topic,
    };
    let settings = Settings {
        language: Language::En,
        remediation: RemediationMode::Off,
        ledger_table: Some(table),
        topic_arn: Some(topic.clone()),
        // Generous: on a loaded 2-core machine the emulator can be slow, and a late source would drop the Name tag.
        source_timeout: Duration::from_secs(10),
        ..Settings::default()
    };

    // The alarm on `alarmed` fired first and was reported.
    let alarm = event_for(
        "status-instance.json",
        &alarmed,
        Utc::now() - chrono::Duration::minutes(1),
    );
    assert!(matches!(
        respond(
            &alarm,
            &readers,
            None,
            Some(&delivery),
            &settings,
            Utc::now()
        )
        .await
        .unwrap(),
        Outcome::Reported(_)
    ));
    assert_eq!(
        emu.notifications(&queue, Duration::from_secs(5))
            .await
            .len(),
        1
    );

    let tick = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
    let Outcome::Swept { impaired, outcomes } = respond(
        &tick,
        &readers,
        None,
        Some(&delivery),
        &settings,
        Utc::now(),
    )
    .await
    .unwrap() else {
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
    assert!(got[0].message.contains("found by the ec2ops sweep"));

    // Five minutes later the same failures are not reported again.
    let Outcome::Swept { outcomes, .. } = respond(
        &tick,
        &readers,
        None,
        Some(&delivery),
        &settings,
        Utc::now(),
    )
    .await
    .unwrap() else {
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
    let ledger = DynamoLedger::new(emu.dynamodb.clone(), table.clone());
    let (topic, queue) = emu.topic_with_queue("sweep-az").await;
    let clients = AwsClients::from_config(&emu.config);
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
    let readers = Readers {
        ec2: &ec2,
        metrics: &clients.cloudwatch,
        ledger: Some(&ledger),
        diagnostics: None,
    };
    let delivery = Delivery {
        publisher: &clients.sns,
        topic_arn: &topic,
    };
    let settings = Settings {
        language: Language::En,
        remediation: RemediationMode::Auto,
        ledger_table: Some(table),
        topic_arn: Some(topic.clone()),
        // Generous: on a loaded 2-core machine the emulator can be slow, and a late source would drop the Name tag.
        source_timeout: Duration::from_secs(10),
        ..Settings::default()
    };
    let tick = json!({"source": "ec2ops", "detail-type": "ec2ops.sweep"});
    let Outcome::Swept { impaired, outcomes } = respond(
        &tick,
        &readers,
        None,
        Some(&delivery),
        &settings,
        Utc::now(),
    )
    .await
    .unwrap() else {
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
