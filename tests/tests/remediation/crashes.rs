//! Crash safety: a delivery killed after each step of the pipeline loses no report, never acts twice and never
//! leaves an instance stopped.

use super::*;

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
    let ledger = TripLedger::wrap(Ledger::of(rig.ledger()), trip.clone());
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
