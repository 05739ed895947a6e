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
async fn a_recover_survives_describe_errors_a_stuck_stop_and_two_capacity_errors() {
    use std::sync::atomic::Ordering;
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    rig.remediator.describe_errors.store(2, Ordering::SeqCst);
    rig.remediator.stuck_stopping.store(2, Ordering::SeqCst);
    rig.remediator.capacity_errors.store(2, Ordering::SeqCst);
    let o = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    assert!(
        matches!(action(&o), ActionOutcome::Recovering { .. }),
        "{o:?}"
    );
    let ran = rig.drive_continuations(&id, 12).await;
    let steps: Vec<String> = ran
        .iter()
        .map(|o| match o {
            Outcome::Continued { state, step, .. } => {
                format!("{}→{step}", state.as_deref().unwrap_or("?"))
            }
            other => format!("{other:?}"),
        })
        .collect();
    eprintln!("continuations: {steps:?}");
    assert_eq!(
        rig.remediator.starts(),
        3,
        "two capacity errors, then started: {steps:?}"
    );
    assert!(
        matches!(ran.last(), Some(Outcome::Continued { step, .. }) if step == "started"),
        "{steps:?}"
    );
    assert!(matches!(
        rig.emu.state(&id).await.as_str(),
        "running" | "pending"
    ));
    assert_eq!(rig.reports().await.len(), 1, "no escalation was needed");
}

#[tokio::test]
async fn a_stop_that_hangs_is_forced_and_one_that_never_ends_is_escalated_with_its_state() {
    use std::sync::atomic::Ordering;
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.remediator.stuck_stopping.store(100, Ordering::SeqCst);
    let (id, first) = recover_under_way(&rig).await;
    // The continuation EventBridge Scheduler delivers, run six minutes after the stop: forced.
    let at = |minutes| {
        let now = Utc::now() + chrono::Duration::minutes(minutes);
        (now, Budget::new(Duration::from_secs(60), now))
    };
    let (now, budget) = at(6);
    let o = rig
        .responder(None, None, None)
        .respond(&first, now, budget)
        .await
        .unwrap();
    assert!(
        matches!(&o, Outcome::Continued { step, .. } if step == "again"),
        "{o:?}"
    );
    assert_eq!(
        rig.remediator.forced(),
        1,
        "force stop after 5 minutes in stopping"
    );
    // Sixteen minutes after the stop it is still stopping: a P0 follow-up with the state and the commands for it.
    let mut forced = first.clone();
    forced["detail"]["forced"] = Value::Bool(true);
    let (now, budget) = at(16);
    let o = rig
        .responder(None, None, None)
        .respond(&forced, now, budget)
        .await
        .unwrap();
    assert!(
        matches!(&o, Outcome::Continued { step, .. } if step == "escalated"),
        "{o:?}"
    );
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].subject.starts_with("[P0] Recover incomplete"),
        "{}",
        got[0].subject
    );
    assert!(
        got[0].message.contains("the instance is stopping"),
        "{}",
        got[0].message
    );
    assert!(got[0].message.contains(&format!(
        "aws ec2 stop-instances --instance-ids {id} --force"
    )));
    assert!(got[0].message.contains(&format!(
        "aws ec2 wait instance-stopped --instance-ids {id}"
    )));
}

#[tokio::test]
async fn a_recover_whose_continuation_cannot_be_scheduled_starts_the_instance_inline() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    let now = Utc::now();
    // No function ARN: nothing can be scheduled.
    let mut responder = rig.responder(None, None, None);
    if let Some(a) = responder.actors.as_mut() {
        a.function_arn = None;
    }
    let o = responder
        .respond(
            &incident("status-system.json", &id, now),
            now,
            Budget::new(Duration::from_secs(60), now),
        )
        .await
        .unwrap();
    let ActionOutcome::Recovering {
        continue_at, note, ..
    } = action(&o).clone()
    else {
        panic!("{o:?}")
    };
    assert!(continue_at.is_none());
    assert!(note
        .unwrap_or_default()
        .contains("started again within this invocation"));
    assert_eq!(rig.remediator.starts(), 1);
    assert!(matches!(
        rig.emu.state(&id).await.as_str(),
        "running" | "pending"
    ));
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
async fn a_continuation_that_cannot_schedule_its_next_look_escalates_with_the_state() {
    use std::sync::atomic::Ordering;
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.remediator.stuck_stopping.store(100, Ordering::SeqCst);
    let (_, first) = recover_under_way(&rig).await;
    // The scheduler refuses now (no function ARN to target).
    let mut responder = rig.responder(None, None, None);
    if let Some(a) = responder.actors.as_mut() {
        a.function_arn = None;
    }
    let now = Utc::now() + chrono::Duration::minutes(1);
    let o = responder
        .respond(&first, now, Budget::new(Duration::from_secs(60), now))
        .await
        .unwrap();
    assert!(
        matches!(&o, Outcome::Continued { step, .. } if step == "escalated"),
        "{o:?}"
    );
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].subject.starts_with("[P0] Recover incomplete"));
    assert!(got[0].message.contains("the instance is stopping"));
    assert!(got[0]
        .message
        .contains("the next check could not be scheduled"));
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
