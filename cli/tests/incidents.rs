//! `ec2ops incidents` against the ledger on the emulator (moto DynamoDB): incidents recorded by the responder are
//! listed by time and instance, and one prints its full report.

use std::process::{Command, Output};

use chrono::{Duration, Utc};
use ec2ops::storm::{IncidentLog, LoggedIncident};
use ec2ops_aws::DynamoStorm;
use ec2ops_tests::{dynamodb_endpoint, endpoint, Emulator, REGION};

fn ec2ops(table: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ec2ops"))
        .args(args)
        .env("EC2OPS_LEDGER_TABLE", table)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .output()
        .expect("run ec2ops")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test]
async fn incidents_lists_the_recorded_incidents_by_time_and_instance_and_show_prints_one_report() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    let table = emu.ledger_table().await;
    let log = DynamoStorm::new(emu.dynamodb.clone(), &table);
    let now = Utc::now();
    let logged = |key: &str, instance: &str, ago: Duration, digest: Option<&str>| LoggedIncident {
        incident_key: key.into(),
        at: now - ago,
        priority: "P0".into(),
        rules: vec!["SYS-CHECK".into()],
        instance: Some(instance.into()),
        alarm: "sys".into(),
        action: "dry-run".into(),
        message_id: digest.is_none().then(|| format!("msg-{key}")),
        digest: digest.map(str::to_string),
        report: format!("[P0] full report of {key}\n"),
        approval: None,
    };
    let key =
        "arn:aws:cloudwatch:ap-northeast-2:000000000000:alarm:web 1#ALARM#2026-12-01T09:00:00.000Z";
    for l in [
        logged(
            key,
            "i-0aaa",
            Duration::minutes(5),
            Some("20261201T090000Z-60"),
        ),
        logged("b#ALARM#2", "i-0bbb", Duration::minutes(50), None),
        logged("old#ALARM#3", "i-0aaa", Duration::hours(5), None),
    ] {
        log.log(&l).await.expect("log");
    }

    let o = ec2ops(&table, &["incidents", "--since", "2h"]);
    assert!(o.status.success(), "{}", err(&o));
    let listing = out(&o);
    assert!(
        listing.contains(key) && listing.contains("b#ALARM#2"),
        "{listing}"
    );
    assert!(!listing.contains("old#ALARM#3"), "{listing}");
    assert!(listing.contains("digest 20261201T090000Z-60") && listing.contains("msg-b#ALARM#2"));
    // Oldest first.
    assert!(listing.find("b#ALARM#2") < listing.find(key));

    let o = ec2ops(
        &table,
        &["incidents", "--since", "1d", "--instance", "i-0aaa"],
    );
    let listing = out(&o);
    assert!(
        listing.contains(key) && listing.contains("old#ALARM#3") && !listing.contains("b#ALARM#2"),
        "{listing}"
    );

    let o = ec2ops(&table, &["incidents", "show", key]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).ends_with(&format!("[P0] full report of {key}\n")),
        "{}",
        out(&o)
    );

    let o = ec2ops(&table, &["incidents", "show", "nope"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("no incident nope"), "{}", err(&o));
}
