//! Exactly once: however an incident is delivered (again, at once, by several alarms, after a failed
//! publish or a lost ledger), it acts at most once and is reported.

use super::*;

#[tokio::test]
async fn instance_check_on_an_opted_in_instance_in_auto_reboots_once_and_schedules_the_check() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let outcome = rig
        .respond(&incident("status-instance.json", &id, Utc::now()))
        .await;
    let ActionOutcome::Done {
        action,
        request_ids,
        verify_at,
        ..
    } = action(&outcome).clone()
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(action, ActionKind::Reboot);
    assert_eq!(request_ids.len(), 1);
    assert!(verify_at.is_some(), "verification scheduled");
    assert_eq!(rig.remediator.real(), 1, "exactly one RebootInstances");

    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .message
        .contains("Automatic action done: reboot (RebootInstances)"));
    assert!(
        got[0].message.contains(&request_ids[0]),
        "the request id is in the report"
    );

    // The schedule exists in EventBridge Scheduler, aimed at the function with the verification request.
    let name = format!("ec2ops-verify-{id}-");
    let list = rig
        .emu
        .scheduler
        .list_schedules()
        .name_prefix(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(list.schedules().len(), 1);
    let schedule_name = list.schedules()[0].name().unwrap().to_string();
    let schedule = rig
        .emu
        .scheduler
        .get_schedule()
        .name(&schedule_name)
        .send()
        .await
        .unwrap();
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), FUNCTION_ARN);
    let expression = schedule.schedule_expression().unwrap();
    assert!(expression.starts_with("at("));
    // Ten minutes after the action (EC2OPS_VERIFY_MINUTES), and deleted after it runs.
    let when = chrono::NaiveDateTime::parse_from_str(
        expression.trim_start_matches("at(").trim_end_matches(')'),
        "%Y-%m-%dT%H:%M:%S",
    )
    .unwrap()
    .and_utc();
    let minutes = (when - Utc::now()).num_seconds() as f64 / 60.0;
    assert!(
        (9.0..=10.5).contains(&minutes),
        "verification in {minutes:.1} min"
    );
    assert_eq!(
        schedule.action_after_completion().map(|a| a.as_str()),
        Some("DELETE")
    );

    // When the schedule fires, the function reads the status checks and posts in the same thread.
    let verify_event: Value = serde_json::from_str(target.input().unwrap()).unwrap();
    rig.status.heal(&id);
    let outcome = rig.respond(&verify_event).await;
    let Outcome::Verified { fixed, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(fixed, "LocalStack reports ok status checks");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].subject.starts_with("[P3] Verified: reboot fixed"));
}

#[tokio::test]
async fn the_same_event_delivered_three_times_two_at_once_acts_once_and_reports_once() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let event = incident("status-instance.json", &id, Utc::now());
    let (a, b) = tokio::join!(rig.try_respond(&event), rig.try_respond(&event));
    // Of two concurrent deliveries one owns the incident; the other finds it in progress and schedules the event
    // again for after the owner's lease (or, if it came late, finds it completed).
    let mut results = vec![a, b, rig.try_respond(&event).await];
    for r in results.iter_mut() {
        if let Ok(Outcome::Deferred { until, .. }) = r {
            assert!(*until > Utc::now(), "redelivered after the lease");
            let redo = rig.schedules("ec2ops-redo-").await;
            assert!(
                redo.iter().any(|(_, input)| *input == event),
                "a redelivery schedule carries the same event"
            );
            *r = rig.try_respond(&event).await;
        }
    }
    let reported = results
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Reported(_))))
        .count();
    let duplicates = results
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Duplicate { .. })))
        .count();
    assert_eq!((reported, duplicates), (1, 2), "{results:?}");
    assert_eq!(rig.remediator.real(), 1);
    assert_eq!(rig.reports().await.len(), 1);
}

#[tokio::test]
async fn system_check_recovers_by_a_stop_and_a_scheduled_start_and_instance_store_is_refused() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    let outcome = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    let ActionOutcome::Recovering { continue_at, .. } = action(&outcome).clone() else {
        panic!("{outcome:?}")
    };
    assert!(
        continue_at.is_some(),
        "the start is a scheduled continuation"
    );
    assert_eq!(rig.remediator.real(), 1, "StopInstances only, no waiting");
    let report = &rig.reports().await[0].message;
    assert!(
        report.contains("Automatic action under way: recover (StopInstances → StartInstances)"),
        "{report}"
    );
    // An m5.large has no instance store: only what was in RAM is lost.
    assert!(
        report.contains("A stop/start loses what was in RAM"),
        "{report}"
    );

    // EventBridge Scheduler runs the continuation: the instance is stopped, so it is started and verified later.
    let ran = rig.drive_continuations(&id, 5).await;
    assert!(
        matches!(ran.last(), Some(Outcome::Continued { step, .. }) if step == "started"),
        "{ran:?}"
    );
    assert_eq!(rig.remediator.starts(), 1);
    assert!(matches!(
        rig.emu.state(&id).await.as_str(),
        "running" | "pending"
    ));
    assert_eq!(rig.schedules(&format!("ec2ops-verify-{id}")).await.len(), 1);

    let store = rig.instance("m5d.large", true, &[]).await;
    rig.status.impair(&store, SYSTEM);
    let outcome = rig
        .respond(&incident("status-system.json", &store, Utc::now()))
        .await;
    assert_eq!(holds(&outcome), vec![Hold::InstanceStore]);
    assert_eq!(rig.remediator.real(), 1, "no new call");
    assert!(rig.reports().await[0]
        .message
        .contains("instance-store volumes would lose their data on stop/start"));
}

#[tokio::test]
async fn dry_run_changes_nothing_and_says_what_it_would_have_done() {
    let Some(rig) = Rig::new(RemediationMode::DryRun).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    let o = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    assert!(
        matches!(
            action(&o),
            ActionOutcome::DryRun {
                allowed: true,
                action: ActionKind::StopStart,
                ..
            }
        ),
        "{o:?}"
    );
    assert_eq!(rig.remediator.real(), 0);
    assert_eq!(rig.emu.state(&id).await, "running");
    let report = &rig.reports().await[0].message;
    assert!(report.contains("Dry-run: EC2 accepted recover"), "{report}");
}

#[tokio::test]
async fn an_unreachable_ledger_still_reports_but_never_acts() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let dead = DynamoLedger::new(
        aws_sdk_dynamodb::Client::new(&config_for("http://127.0.0.1:9").await),
        "ec2ops-ledger",
    );
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let now = Utc::now();
    let o = rig
        .responder(Some(Ledger::of(Arc::new(dead))), None, None)
        .respond(
            &incident("status-instance.json", &id, now),
            now,
            Budget::new(Duration::from_secs(60), now),
        )
        .await
        .unwrap();
    assert!(matches!(holds(&o)[..], [Hold::LedgerUnavailable { .. }]));
    assert_eq!(rig.remediator.real(), 0);
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "the report still goes out");
    assert!(got[0]
        .message
        .contains("the ledger (DynamoDB) is unavailable, so ec2ops does not act"));
}

#[tokio::test]
async fn a_delivery_that_finds_the_incident_leased_schedules_a_redelivery_or_fails_retryably() {
    use ec2ops::ports::IncidentClaims;
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let at = Utc::now();
    let event = incident("status-instance.json", &id, at);
    let key = ec2ops::event::parse(&event)
        .ok()
        .and_then(|p| match p {
            ec2ops::event::Parsed::Alarm(c) => Some(c.incident_key()),
            _ => None,
        })
        .unwrap();
    // Another delivery owns it, its lease running for another minute.
    let lease = Utc::now() + chrono::Duration::minutes(1);
    rig.ledger().claim(&key, Utc::now(), lease).await.unwrap();
    let o = rig.respond(&event).await;
    let Outcome::Deferred { until, .. } = o else {
        panic!("{o:?}")
    };
    assert!(until > lease, "after the owner's lease");
    let redo = rig.schedules("ec2ops-redo-").await;
    assert!(
        redo.iter().any(|(_, input)| *input == event),
        "the same event is scheduled again"
    );
    // Without a scheduler the delivery fails retryably, so Lambda delivers it again.
    let mut responder = rig.responder(None, None, None);
    responder.actors = None;
    let now = Utc::now();
    let e = responder
        .respond(&event, now, Budget::new(Duration::from_secs(60), now))
        .await
        .unwrap_err();
    assert!(
        matches!(e, HandleError::InProgress { .. }) && e.retryable(),
        "{e}"
    );
    assert_eq!(rig.remediator.real(), 0);
    assert!(
        rig.reports().await.is_empty(),
        "the owner reports, not these"
    );
}
