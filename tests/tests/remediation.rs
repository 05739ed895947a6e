//! Safe automatic remediation against the emulator (LocalStack EC2/SNS/SQS/Scheduler + moto DynamoDB), through the
//! real SDK: exactly once, under the safety envelope, crash-safe, verified afterwards. Status impairment comes
//! through the status reader of the rig (the emulator's checks are always `ok`); see `ec2ops_tests::rig`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ec2ops::aws::DynamoLedger;
use ec2ops::budget::Budget;
use ec2ops::config::RemediationMode;
use ec2ops::pipeline::{HandleError, Outcome};
use ec2ops::ports::{ActionLedger, Ledger};
use ec2ops::remediation::{ActionKind, ActionOutcome, Hold};
use ec2ops_tests::rig::{FailingPublisher, Rig, Trip, TripLedger, TripScheduler, FUNCTION_ARN};
use ec2ops_tests::*;
use serde_json::Value;

const SYSTEM: &str = "StatusCheckFailed_System";
const INSTANCE: &str = "StatusCheckFailed_Instance";

/// An instance-check (or other) alarm event for `id`, at `at` (distinct times are distinct incidents).
fn incident(file: &str, id: &str, at: DateTime<Utc>) -> Value {
    event_for(file, id, at)
}

fn action(o: &Outcome) -> &ActionOutcome {
    match o {
        Outcome::Reported(i) => &i.action,
        other => panic!("expected a report, got {other:?}"),
    }
}

fn holds(o: &Outcome) -> Vec<Hold> {
    match action(o) {
        ActionOutcome::Held { holds, .. } => holds.clone(),
        other => panic!("expected a hold, got {other:?}"),
    }
}

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
    assert!(report.contains("A stop/start loses RAM and instance-store data"));

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
async fn each_envelope_refusal_is_reported_with_its_reason() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::ZERO;
    // Not opted in.
    let plain = rig.instance("m5.large", false, &[]).await;
    rig.status.impair(&plain, INSTANCE);
    let o = rig
        .respond(&incident("status-instance.json", &plain, Utc::now()))
        .await;
    assert!(matches!(holds(&o)[..], [Hold::NotOptedIn { .. }]));
    // Auto Scaling group member.
    let member = rig
        .instance(
            "m5.large",
            true,
            &[("aws:autoscaling:groupName", "web-asg")],
        )
        .await;
    rig.status.impair(&member, INSTANCE);
    let o = rig
        .respond(&incident("status-instance.json", &member, Utc::now()))
        .await;
    assert_eq!(
        holds(&o),
        vec![Hold::AutoScalingGroup {
            group: "web-asg".into()
        }]
    );
    // Cooldown: a second incident on the same instance right after an action.
    rig.fresh_ledger().await;
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let t0 = Utc::now();
    assert!(matches!(
        action(
            &rig.respond(&incident("status-instance.json", &id, t0))
                .await
        ),
        ActionOutcome::Done { .. }
    ));
    let o = rig
        .respond(&incident(
            "status-instance.json",
            &id,
            t0 + chrono::Duration::seconds(1),
        ))
        .await;
    assert!(matches!(holds(&o)[..], [Hold::Cooldown { .. }]));
    // Daily cap: without a cooldown, the second action of the day is refused when the cap is 1.
    rig.settings.envelope.cooldown = chrono::Duration::zero();
    rig.settings.envelope.daily_cap = 1;
    let o = rig
        .respond(&incident(
            "status-instance.json",
            &id,
            t0 + chrono::Duration::seconds(2),
        ))
        .await;
    assert_eq!(holds(&o), vec![Hold::DailyCap { cap: 1 }]);
    // Hourly cap, account-wide: another instance is refused once the account has used its hourly actions.
    rig.settings.envelope.daily_cap = 3;
    rig.settings.envelope.hourly_cap = 1;
    let other = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&other, INSTANCE);
    let o = rig
        .respond(&incident("status-instance.json", &other, Utc::now()))
        .await;
    assert!(holds(&o).contains(&Hold::HourlyCap { cap: 1 }));
    assert_eq!(
        rig.remediator.real(),
        1,
        "only the first opted-in incident acted"
    );
    let texts: Vec<String> = rig.reports().await.into_iter().map(|n| n.message).collect();
    for reason in [
        "held: the instance has not opted in (ec2ops:auto-remediate=true)",
        "held: member of Auto Scaling group web-asg",
        "held: cooldown: last action at",
        "held: per-instance daily cap of 1 reached",
        "held: account-wide hourly cap of 1 reached",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(reason)),
            "no report says {reason:?}"
        );
    }
}

#[tokio::test]
async fn five_instance_check_incidents_in_one_az_at_once_make_one_az_report_and_no_action() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    // Concurrent deliveries gather at different speeds on a loaded machine: the settle delay must cover the spread
    // (10 s in production).
    rig.settings.settle = Duration::from_secs(4);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = rig.instance("m5.large", true, &[]).await;
        rig.status.impair(&id, INSTANCE);
        ids.push(id);
    }
    let at = Utc::now();
    // One alarm per instance: distinct incidents (the sample event's alarm is renamed after each instance).
    let events: Vec<Value> = ids
        .iter()
        .map(|id| own_alarm(incident("status-instance.json", id, at), id))
        .collect();
    // Delivered concurrently, as Lambda scales out for a storm.
    let outcomes = futures_join_all(events.iter().map(|e| rig.try_respond(e))).await;
    let reported: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(Outcome::Reported(i)) => Some(i),
            _ => None,
        })
        .collect();
    let covered = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Covered { .. })))
        .count();
    assert_eq!(
        (reported.len(), covered),
        (1, 4),
        "{:?}",
        summaries(&outcomes)
    );
    let az = &reported[0];
    assert!(az.assessment.has(ec2ops::analyze::RuleId::AzEvent));
    assert_eq!(az.assessment.priority, ec2ops::analyze::Priority::P0);
    assert!(
        matches!(&az.action, ActionOutcome::Held { holds, .. } if holds.contains(&Hold::AzEvent { impaired: 5 })),
        "{:?}",
        az.action
    );
    assert_eq!(rig.remediator.real(), 0, "no action on any of them");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "one AZ report for the storm");
    assert!(got[0].subject.starts_with("[P0] Probable AZ-wide event"));
    for id in &ids {
        assert!(
            got[0].message.contains(id.as_str()),
            "the AZ report names {id}"
        );
    }
}

#[tokio::test]
async fn concurrent_incidents_across_azs_never_exceed_the_hourly_cap() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.envelope.hourly_cap = 3;
    // Two instances per AZ: below the AZ-EVENT threshold, so only the cap can refuse.
    let mut ids = Vec::new();
    for az in ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"] {
        for _ in 0..2 {
            let id = rig.instance_in(az).await;
            rig.status.impair(&id, INSTANCE);
            ids.push(id);
        }
    }
    let at = Utc::now();
    // One alarm per instance: distinct incidents (the sample event's alarm is renamed after each instance).
    let events: Vec<Value> = ids
        .iter()
        .map(|id| own_alarm(incident("status-instance.json", id, at), id))
        .collect();
    let outcomes = futures_join_all(events.iter().map(|e| rig.try_respond(e))).await;
    let done = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Reported(i)) if matches!(i.action, ActionOutcome::Done { .. })))
        .count();
    let capped = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Reported(i)) if matches!(&i.action, ActionOutcome::Held { holds, .. } if holds.contains(&Hold::HourlyCap { cap: 3 }))))
        .count();
    assert_eq!((done, capped), (3, 3), "{:?}", summaries(&outcomes));
    assert_eq!(rig.remediator.real(), 3, "exactly the cap");
}

#[tokio::test]
async fn twenty_concurrent_action_transactions_with_an_hourly_cap_of_ten_grant_exactly_ten() {
    use ec2ops::config::Envelope;
    use ec2ops::ports::{ActionRecord, Grant};
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let envelope = Envelope {
        hourly_cap: 10,
        ..Envelope::default()
    };
    let now = Utc::now();
    let records: Vec<ActionRecord> = (0..20)
        .map(|n| ActionRecord {
            owner: format!("delivery-{n}"),
            incident_key: format!("cap-test#{n}"),
            instance_id: format!("i-{n:017x}"),
            availability_zone: Some(format!("az-{}", n % 10)),
            action: ActionKind::Reboot,
            at: now,
        })
        .collect();
    let grants = futures_join_all(
        records
            .iter()
            .map(|r| rig.ledger.record_action(r, &envelope)),
    )
    .await;
    let granted = grants
        .iter()
        .filter(|g| matches!(g, Ok(Grant::Granted)))
        .count();
    let refused = grants
        .iter()
        .filter(|g| matches!(g, Ok(Grant::Refused(h)) if h.contains(&Hold::HourlyCap { cap: 10 })))
        .count();
    assert_eq!((granted, refused), (10, 10), "{grants:?}");
}

#[tokio::test]
async fn a_system_alarm_an_instance_alarm_and_the_sweep_on_one_instance_at_once_act_once() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::from_secs(4);
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, SYSTEM);
    rig.status.impair(&id, INSTANCE);
    let at = Utc::now();
    let system = incident("status-system.json", &id, at);
    let instance = incident(
        "status-instance.json",
        &id,
        at + chrono::Duration::seconds(3),
    );
    let sweep = ec2ops::event::sweep_item_event(&ec2ops::ports::Impaired {
        instance_id: id.clone(),
        availability_zone: Some("ap-northeast-2a".into()),
        check: SYSTEM.into(),
        since: Some(at - chrono::Duration::minutes(1)),
    });
    let (a, b, c) = tokio::join!(
        rig.try_respond(&system),
        rig.try_respond(&instance),
        rig.try_respond(&sweep)
    );
    let outcomes = [a, b, c];
    assert_eq!(rig.remediator.real(), 1, "one action: {outcomes:?}");
    let acted: Vec<ActionKind> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(Outcome::Reported(i)) => match &i.action {
                ActionOutcome::Recovering { .. } => Some(ActionKind::StopStart),
                ActionOutcome::Done { action, .. } => Some(*action),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(acted, vec![ActionKind::StopStart], "recover beats reboot");
    let texts: Vec<String> = rig.reports().await.into_iter().map(|n| n.message).collect();
    assert!(
        texts
            .iter()
            .filter(|t| t.contains("Other incidents on this instance:"))
            .count()
            >= 2,
        "the reports name each other"
    );
    rig.drive_continuations(&id, 5).await;
    assert!(matches!(
        rig.emu.state(&id).await.as_str(),
        "running" | "pending"
    ));
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
    assert!(
        report.contains("Dry-run: would have done recover"),
        "{report}"
    );
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
async fn a_retry_after_a_failed_publish_reports_without_acting_again() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let event = incident("status-instance.json", &id, Utc::now());
    let now = Utc::now();
    let first = rig
        .responder(None, None, Some(Arc::new(FailingPublisher)))
        .respond(&event, now, Budget::new(Duration::from_secs(60), now))
        .await;
    assert!(matches!(first, Err(HandleError::Publish(_))));
    assert_eq!(
        rig.remediator.real(),
        1,
        "the reboot happened before the publish failed"
    );
    // The failed delivery ended its lease: the retry takes over at once.
    let retry = rig.respond(&event).await;
    assert!(
        matches!(
            action(&retry),
            ActionOutcome::AlreadyDone {
                action: ActionKind::Reboot,
                ..
            }
        ),
        "{retry:?}"
    );
    assert_eq!(rig.remediator.real(), 1, "not rebooted twice");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .message
        .contains("was already done for this incident by an earlier delivery"));
    assert!(got[0].message.contains("Resumed incident"));
}

/// The steps a delivery can die after, in pipeline order.
const STEPS: [&str; 8] = [
    "claim", "gather", "decide", "record", "ec2", "schedule", "publish", "complete",
];

/// Run one delivery and kill it at `step`: the future is dropped there, as a Lambda timeout or a crash would.
/// Returns whether the step was reached.
async fn kill_at(
    rig: &Rig,
    trip: &Arc<Trip>,
    event: &Value,
    step: &'static str,
    now: DateTime<Utc>,
) -> bool {
    trip.arm(step);
    let ledger = TripLedger::wrap(Ledger::of(rig.ledger.clone()), trip.clone());
    let scheduler = TripScheduler {
        inner: rig.scheduler(),
        trip: trip.clone(),
    };
    let responder = rig.responder(Some(ledger), Some(Arc::new(scheduler)), None);
    // A 20 s budget: the lease of the killed delivery ends 30 s after it started.
    let run = responder.respond(event, now, Budget::new(Duration::from_secs(20), now));
    let killed = tokio::select! {
        r = run => { r.expect("the delivery that was not killed completes"); false }
        _ = trip.fired() => true,
    };
    trip.disarm();
    killed
}

#[tokio::test]
async fn killing_a_reboot_at_every_step_loses_no_report_and_never_reboots_twice() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::ZERO;
    let trip = std::sync::Arc::new(Trip::default());
    rig.remediator.set_trip(trip.clone());
    rig.status.set_trip(trip.clone());
    let mut table = Vec::new();
    for step in STEPS {
        rig.fresh_ledger().await;
        let id = rig.instance("m5.large", true, &[]).await;
        rig.status.impair(&id, INSTANCE);
        let before = rig.remediator.real();
        let t0 = Utc::now();
        let event = incident("status-instance.json", &id, t0);
        assert!(
            kill_at(&rig, &trip, &event, step, t0).await,
            "{step} reached"
        );
        // Lambda retries after the invocation timed out: the lease (deadline + 10 s) has expired by then.
        let later = t0 + chrono::Duration::seconds(45);
        let retry = rig
            .responder(None, None, None)
            .respond(&event, later, Budget::new(Duration::from_secs(60), later))
            .await
            .expect("the retry is handled");
        // And once more, as EventBridge may deliver the event again.
        let again = rig
            .responder(None, None, None)
            .respond(&event, later, Budget::new(Duration::from_secs(60), later))
            .await
            .expect("the duplicate is handled");
        assert!(
            matches!(again, Outcome::Duplicate { .. }),
            "{step}: {again:?}"
        );
        let reboots = rig.remediator.real() - before;
        let got = rig.reports().await;
        let state = rig.emu.state(&id).await;
        table.push(format!(
            "{step:>8}: reports {} · reboots {reboots} · retry {} · instance {state}",
            got.len(),
            match &retry {
                Outcome::Reported(i) => ec2ops_action(&i.action).to_string(),
                Outcome::Duplicate { .. } => "duplicate".into(),
                other => format!("{other:?}"),
            }
        ));
        assert!(reboots <= 1, "{step}: rebooted {reboots} times");
        let expected_reports = if step == "publish" { 2 } else { 1 };
        assert_eq!(
            got.len(),
            expected_reports,
            "{step}: {:?}",
            got.iter().map(|n| &n.subject).collect::<Vec<_>>()
        );
        if step == "publish" {
            assert!(
                got[1].message.contains("Resumed incident"),
                "the second copy says it resumes"
            );
        }
        if step == "complete" {
            assert!(
                matches!(retry, Outcome::Duplicate { .. }),
                "completed: {retry:?}"
            );
        }
        assert_eq!(state, "running");
    }
    eprintln!("kill-at-every-step (reboot):\n{}", table.join("\n"));
}

fn ec2ops_action(a: &ActionOutcome) -> &'static str {
    match a {
        ActionOutcome::Done { .. } => "done",
        ActionOutcome::AlreadyDone { .. } => "already-done",
        ActionOutcome::Interrupted { .. } => "interrupted",
        ActionOutcome::Recovering { .. } => "recovering",
        ActionOutcome::Held { .. } => "held",
        ActionOutcome::Failed { .. } => "failed",
        _ => "other",
    }
}

#[tokio::test]
async fn killing_a_recover_at_every_step_never_leaves_the_instance_stopped() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::ZERO;
    let trip = std::sync::Arc::new(Trip::default());
    rig.remediator.set_trip(trip.clone());
    rig.status.set_trip(trip.clone());
    let mut table = Vec::new();
    for step in STEPS {
        rig.fresh_ledger().await;
        let id = rig.instance("m5.large", true, &[]).await;
        rig.status.impair(&id, SYSTEM);
        let (stops, starts) = (rig.remediator.real(), rig.remediator.starts());
        let t0 = Utc::now();
        let event = incident("status-system.json", &id, t0);
        assert!(
            kill_at(&rig, &trip, &event, step, t0).await,
            "{step} reached"
        );
        let later = t0 + chrono::Duration::seconds(45);
        let retry = rig
            .responder(None, None, None)
            .respond(&event, later, Budget::new(Duration::from_secs(60), later))
            .await
            .expect("the retry is handled");
        // EventBridge Scheduler runs whatever continuations exist.
        rig.drive_continuations(&id, 6).await;
        let got = rig.reports().await;
        let state = rig.emu.state(&id).await;
        let stops = rig.remediator.real() - stops;
        let starts = rig.remediator.starts() - starts;
        table.push(format!(
            "{step:>8}: reports {} · stops {stops} · starts {starts} · retry {} · instance {state}",
            got.len(),
            match &retry {
                Outcome::Reported(i) => ec2ops_action(&i.action).to_string(),
                other => format!("{other:?}").chars().take(40).collect(),
            }
        ));
        assert!(stops <= 1, "{step}: stopped {stops} times");
        let expected_reports = if step == "publish" { 2 } else { 1 };
        assert_eq!(
            got.len(),
            expected_reports,
            "{step}: {:?}",
            got.iter().map(|n| &n.subject).collect::<Vec<_>>()
        );
        assert!(
            matches!(state.as_str(), "running" | "pending"),
            "{step}: the instance is left {state}"
        );
    }
    eprintln!("kill-at-every-step (recover):\n{}", table.join("\n"));
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

/// The event with its alarm renamed after the instance (each instance has its own alarm).
fn own_alarm(event: Value, id: &str) -> Value {
    let text = event
        .to_string()
        .replace("prod-web-2-instance-check", &format!("{id}-instance-check"));
    serde_json::from_str(&text).expect("renamed event")
}

/// One line per outcome, for assertion messages.
fn summaries(outcomes: &[Result<Outcome, HandleError>]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Ok(Outcome::Reported(i)) => format!(
                "reported {} {:?} {}",
                i.change.primary_instance().unwrap_or("-"),
                i.assessment
                    .findings
                    .iter()
                    .map(|f| f.rule.code())
                    .collect::<Vec<_>>(),
                match &i.action {
                    ActionOutcome::Held { holds, .. } => format!("held {holds:?}"),
                    other => ec2ops_action(other).to_string(),
                }
            ),
            Ok(other) => format!("{other:?}").chars().take(120).collect(),
            Err(e) => format!("error {e}"),
        })
        .collect()
}

/// Await every future (they run concurrently on the test's runtime).
async fn futures_join_all<F: std::future::Future>(
    futs: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(futs.len());
    let mut pending: Vec<_> = futs.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (i, slot) in pending.iter_mut().enumerate() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        results[i] = Some(v);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    out.extend(results.into_iter().flatten());
    out
}

#[tokio::test]
async fn hostile_alarms_on_opted_in_instances_never_change_an_instance() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::ZERO;
    let healthy = rig.instance("m5.large", true, &[]).await;
    let sick = rig.instance("m5.large", true, &[]).await;
    let other = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&sick, INSTANCE);
    rig.status.impair(&other, INSTANCE);
    let at = Utc::now();

    // 1. "Check failed" inverted: LessThanThreshold 1 fires on a healthy instance whose check reads 0.
    let mut inverted = incident("status-instance.json", &healthy, at);
    let state = &mut inverted["detail"]["state"];
    state["reason"] = Value::String(
        "Threshold Crossed: 3 out of the last 3 datapoints [0.0 (12/10/25 04:30:00), 0.0 (12/10/25 04:29:00), 0.0 (12/10/25 04:28:00)] were less than the threshold (1.0) (minimum 3 datapoints for OK -> ALARM transition).".into(),
    );
    let data = state["reasonData"]
        .as_str()
        .unwrap()
        .replace("1.0", "0.0")
        .replace("\"threshold\":0.0", "\"threshold\":1.0");
    state["reasonData"] = Value::String(data);

    // 2. The metric's name in an attacker's own namespace, on an instance that is impaired.
    let mut namespaced = incident(
        "status-instance.json",
        &sick,
        at + chrono::Duration::seconds(1),
    );
    namespaced["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["namespace"] =
        Value::String("Custom/Attacker".into());

    // 3. Metric math over two instances' checks: which one would a reboot hit?
    let mut math = incident(
        "status-instance.json",
        &sick,
        at + chrono::Duration::seconds(2),
    );
    let member = |id: &str, mid: &str| {
        serde_json::json!({
            "id": mid,
            "metricStat": {
                "metric": {"namespace": "AWS/EC2", "name": "StatusCheckFailed_Instance", "dimensions": {"InstanceId": id}},
                "period": 60, "stat": "Maximum"
            },
            "returnData": false
        })
    };
    math["detail"]["configuration"]["metrics"] = serde_json::json!([
        member(&sick, "m1"),
        member(&other, "m2"),
        {"id": "e1", "expression": "MAX([m1, m2])", "label": "worst check", "returnData": true}
    ]);

    for (name, event) in [
        ("inverted", &inverted),
        ("namespace", &namespaced),
        ("math", &math),
    ] {
        let o = rig.respond(event).await;
        let h = holds(&o);
        assert!(
            h.iter().any(|h| matches!(h, Hold::NotCorroborated { .. })),
            "{name}: {h:?}"
        );
    }
    assert_eq!(
        rig.remediator.real() + rig.remediator.dry(),
        0,
        "no EC2 call at all"
    );
    let texts: Vec<String> = rig.reports().await.into_iter().map(|n| n.message).collect();
    assert_eq!(texts.len(), 3);
    for reason in [
        "does not mean \"check failed\"",
        "not AWS/EC2",
        "the alarm covers 2 instances",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(reason)),
            "no report says {reason:?}"
        );
    }
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
async fn the_instance_lock_holds_twenty_minutes_and_the_daily_cap_counts_in_the_transaction() {
    use ec2ops::config::Envelope;
    use ec2ops::ports::{ActionRecord, Grant};
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    // A fixed hour of one UTC day, so that the day does not turn during the test.
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-04T01:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let envelope = |daily_cap| Envelope {
        cooldown: chrono::Duration::zero(),
        daily_cap,
        hourly_cap: 100,
        ..Envelope::default()
    };
    let record = |n: i64| ActionRecord {
        owner: format!("delivery-{n}"),
        incident_key: format!("lock-test#{n}"),
        instance_id: "i-0123456789abcdef0".into(),
        availability_zone: None,
        action: ActionKind::Reboot,
        at: t0 + chrono::Duration::minutes(n),
    };
    let ledger = &rig.ledger;
    let grant = |n, cap| {
        let r = record(n);
        async move { ledger.record_action(&r, &envelope(cap)).await.unwrap() }
    };
    assert_eq!(grant(0, 3).await, Grant::Granted);
    // Five minutes later, without any cooldown: the lock of the first action still holds (one action in flight).
    assert!(
        matches!(grant(5, 3).await, Grant::Refused(h) if matches!(h[..], [Hold::InstanceBusy { .. }])),
        "locked"
    );
    // Twenty-one minutes later the lock is free; a daily cap of 1 refuses, in the transaction itself.
    assert_eq!(
        grant(21, 1).await,
        Grant::Refused(vec![Hold::DailyCap { cap: 1 }])
    );
    assert_eq!(grant(22, 3).await, Grant::Granted);
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
    rig.ledger.claim(&key, Utc::now(), lease).await.unwrap();
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
