//! The recover (stop, then a scheduled start) under EC2 errors and hangs, and its continuations: each checked
//! against the recorded stop, escalated rather than acting late.

use super::*;

/// A system-check failure on a new opted-in instance, recovered in auto mode: StopInstances sent, the report read off
/// the queue. Returns the instance and the first continuation EventBridge Scheduler would deliver.
async fn recover_under_way(rig: &Rig) -> (String, Value) {
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    let o = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    assert!(
        matches!(action(&o), ActionOutcome::Recovering { .. }),
        "{o:?}"
    );
    let _ = rig.reports().await;
    let (_, first) = rig.schedules(&format!("ec2ops-cont-{id}")).await.remove(0);
    (id, first)
}

#[tokio::test]
async fn a_continuation_for_a_recover_ec2ops_never_recorded_changes_nothing() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    // A forged continuation (as if sent by anyone who can invoke the function) for a real, opted-in instance.
    let forged = ec2ops::remediation::Continuation {
        incident_key: "forged#ALARM#2026-01-01T00:00:00.000Z".into(),
        thread_id: "forged".into(),
        instance_id: id.clone(),
        alarm_name: "forged".into(),
        region: Some(REGION.into()),
        stopped_at: Utc::now() - chrono::Duration::minutes(6),
        attempt: 0,
        forced: false,
        start_failures: 0,
        unreadable: 0,
        instance_type: None,
        volume_ids: Vec::new(),
    };
    let o = rig.respond(&forged.to_event()).await;
    assert!(matches!(o, Outcome::Ignored { .. }), "{o:?}");
    assert_eq!(
        rig.remediator.real() + rig.remediator.forced() + rig.remediator.starts(),
        0,
        "no EC2 mutation"
    );
    assert_eq!(rig.emu.state(&id).await, "running");
}

#[tokio::test]
async fn a_continuation_delivered_too_late_escalates_instead_of_starting_the_instance() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let (_, first) = recover_under_way(&rig).await;
    let now = Utc::now() + chrono::Duration::minutes(21);
    let o = rig
        .responder(None, None, None)
        .respond(&first, now, Budget::new(Duration::from_secs(60), now))
        .await
        .unwrap();
    assert!(
        matches!(&o, Outcome::Continued { step, .. } if step == "escalated"),
        "{o:?}"
    );
    assert_eq!(rig.remediator.starts(), 0, "not started 21 minutes later");
    let got = rig.reports().await;
    assert!(got[0].subject.starts_with("[P0] Recover incomplete"));
    assert!(got[0].message.contains("too late to start the instance"));
}

#[tokio::test]
async fn a_continuation_for_another_instance_or_time_than_the_recorded_stop_changes_nothing() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    let other = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    let o = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    assert!(
        matches!(action(&o), ActionOutcome::Recovering { .. }),
        "{o:?}"
    );
    let (_, first) = rig.schedules(&format!("ec2ops-cont-{id}")).await.remove(0);
    let (stops, starts) = (rig.remediator.real(), rig.remediator.starts());
    let mut moved = first.clone();
    moved["detail"]["instance_id"] = Value::String(other.clone());
    let mut shifted = first.clone();
    let at = chrono::DateTime::parse_from_rfc3339(first["detail"]["stopped_at"].as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    shifted["detail"]["stopped_at"] =
        Value::String((at - chrono::Duration::seconds(60)).to_rfc3339());
    for forged in [&moved, &shifted] {
        let o = rig.respond(forged).await;
        assert!(matches!(o, Outcome::Ignored { .. }), "{o:?}");
    }
    assert_eq!(
        (
            rig.remediator.real(),
            rig.remediator.starts(),
            rig.remediator.forced()
        ),
        (stops, starts, 0),
        "no EC2 mutation"
    );
    assert_eq!(rig.emu.state(&other).await, "running");
}
