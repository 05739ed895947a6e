//! The storm ports on the ledger table against the emulator (moto DynamoDB): the publish gate shared by concurrent
//! callers, the digest buffer and its flush, and the look-back log.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ec2ops::analyze::Priority;
use ec2ops::report::digest::DigestEntry;
use ec2ops::storm::{
    Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
};
use ec2ops_aws::DynamoStorm;
use ec2ops_tests::*;

macro_rules! emulator {
    () => {
        match Emulator::connect().await {
            Some(e) => e,
            None => return,
        }
    };
}

async fn storm(emu: &Emulator) -> Arc<DynamoStorm> {
    let table = emu.ledger_table().await;
    Arc::new(DynamoStorm::new(emu.dynamodb.clone(), table))
}

fn entry(key: &str, at: DateTime<Utc>) -> DigestEntry {
    DigestEntry {
        incident_key: key.into(),
        thread_id: format!("thread-{key}"),
        priority: Priority::P1,
        headline: "High CPU".into(),
        cause: "sustained saturation".into(),
        instance: Some("i-0123".into()),
        name: None,
        az: Some("ap-northeast-2a".into()),
        alarm: "cpu".into(),
        family: "CPU".into(),
        fleet: None,
        action: None,
        at,
        quiet: false,
    }
}

#[tokio::test]
async fn concurrent_callers_get_exactly_the_gate_limit_of_slots_per_second() {
    let emu = emulator!();
    let gate = storm(&emu).await;
    let second = Utc::now().timestamp();
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let g = gate.clone();
            tokio::spawn(async move { g.admit(second, 4).await })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        if t.await.expect("task").expect("admit") {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 4);
    // The next second has its own slots.
    assert!(gate.admit(second + 1, 4).await.expect("admit"));
}

#[tokio::test]
async fn every_entry_buffered_before_the_flush_closed_the_window_is_in_its_digest_and_later_ones_are_refused(
) {
    let emu = emulator!();
    let buffer = storm(&emu).await;
    let now = Utc::now();
    let w = Window::of(now, Duration::seconds(60));
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let b = buffer.clone();
            tokio::spawn(async move {
                let key = format!("k{i:02}");
                let r = b.buffer(&w, &entry(&key, now)).await;
                (key, r)
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let claim = buffer
        .close(&w, now, now + Duration::seconds(60))
        .await
        .expect("close");
    assert_eq!(claim, FlushClaim::Claimed);
    let listed: Vec<String> = buffer
        .entries(&w)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| e.incident_key)
        .collect();
    let mut added = 0;
    for t in tasks {
        let (key, r) = t.await.expect("task");
        match r.expect("buffer") {
            Buffered::Added => {
                added += 1;
                assert!(listed.contains(&key), "{key} added but not in the digest");
            }
            Buffered::Closed => assert!(!listed.contains(&key)),
        }
    }
    assert_eq!(added, listed.len());
    assert_eq!(
        buffer
            .buffer(&w, &entry("late", now))
            .await
            .expect("buffer"),
        Buffered::Closed
    );
}

#[tokio::test]
async fn a_window_flushes_once_a_second_flush_waits_or_finds_it_published() {
    let emu = emulator!();
    let buffer = storm(&emu).await;
    let now = Utc::now();
    let w = Window::of(now, Duration::seconds(60));
    assert!(!buffer.flush_scheduled(&w).await.expect("read"));
    buffer.note_scheduled(&w).await.expect("note");
    assert!(buffer.flush_scheduled(&w).await.expect("read"));
    assert_eq!(
        buffer.buffer(&w, &entry("a", now)).await.expect("buffer"),
        Buffered::Added
    );
    let lease = now + Duration::seconds(60);
    assert_eq!(
        buffer.close(&w, now, lease).await.expect("close"),
        FlushClaim::Claimed
    );
    assert!(matches!(
        buffer.close(&w, now, lease).await.expect("close"),
        FlushClaim::InProgress { .. }
    ));
    // A flush that died: its lease expires and another takes over.
    let later = lease + Duration::seconds(1);
    assert_eq!(
        buffer
            .close(&w, later, later + Duration::seconds(60))
            .await
            .expect("close"),
        FlushClaim::Claimed
    );
    buffer
        .published(&w, "msg-1", later)
        .await
        .expect("published");
    assert_eq!(
        buffer.close(&w, later, later).await.expect("close"),
        FlushClaim::Published {
            message_id: "msg-1".into()
        }
    );
}

#[tokio::test]
async fn the_incident_log_lists_by_time_and_shows_one_incident_with_its_report() {
    let emu = emulator!();
    let log = storm(&emu).await;
    let now = Utc::now();
    let logged = |key: &str, at: DateTime<Utc>| LoggedIncident {
        incident_key: key.into(),
        at,
        priority: "P0".into(),
        rules: vec!["SYS-CHECK".into()],
        instance: Some("i-0abc".into()),
        alarm: "sys".into(),
        action: "dry-run".into(),
        message_id: None,
        digest: Some("20261201T090000Z-60".into()),
        report: format!("report of {key}"),
        approval: None,
    };
    log.log(&logged("old", now - Duration::hours(3)))
        .await
        .expect("log");
    log.log(&logged("a#1", now - Duration::minutes(70)))
        .await
        .expect("log");
    log.log(&logged("b#2", now)).await.expect("log");
    let listed = log
        .list(now - Duration::hours(2), now + Duration::seconds(1))
        .await
        .expect("list");
    let keys: Vec<&str> = listed.iter().map(|l| l.incident_key.as_str()).collect();
    assert_eq!(keys, ["a#1", "b#2"]);
    assert!(listed.iter().all(|l| l.report.is_empty()));
    let shown = log.show("a#1").await.expect("show").expect("found");
    assert_eq!(shown.report, "report of a#1");
    assert_eq!(shown.digest.as_deref(), Some("20261201T090000Z-60"));
    assert!(log.show("nope").await.expect("show").is_none());
}

/// Records when each message was published (the second, by the wall clock) and what it said.
#[derive(Default)]
struct Recording {
    sent: std::sync::Mutex<Vec<(i64, ec2ops::message::SnsMessage)>>,
}

#[async_trait::async_trait]
impl ec2ops::ports::ReportPublisher for Recording {
    async fn publish(
        &self,
        _: &str,
        m: &ec2ops::message::SnsMessage,
    ) -> Result<String, ec2ops::ports::AwsError> {
        let mut sent = self.sent.lock().expect("lock");
        sent.push((Utc::now().timestamp(), m.clone()));
        Ok(format!("msg-{}", sent.len()))
    }
}

/// Records the schedules created, by name (creating one twice is harmless, as on EventBridge Scheduler).
#[derive(Default)]
struct Schedules {
    made: std::sync::Mutex<std::collections::BTreeMap<String, serde_json::Value>>,
}

#[async_trait::async_trait]
impl ec2ops::ports::VerifyScheduler for Schedules {
    async fn schedule(
        &self,
        name: &str,
        event: &serde_json::Value,
        _: DateTime<Utc>,
        _: &str,
    ) -> Result<String, ec2ops::ports::AwsError> {
        self.made
            .lock()
            .expect("lock")
            .insert(name.to_string(), event.clone());
        Ok(name.to_string())
    }
}

#[tokio::test]
async fn a_storm_of_concurrent_deliveries_never_publishes_above_the_gate_and_every_incident_is_published_or_in_one_digest(
) {
    use ec2ops::budget::Budget;
    use ec2ops::config::Settings;
    use ec2ops::pipeline::storm::{deliver, flush, Delivered, Storm};
    use ec2ops::storm::{flush_request, StormSettings};

    let emu = emulator!();
    let ports = storm(&emu).await;
    let publisher = Arc::new(Recording::default());
    let schedules = Arc::new(Schedules::default());
    let settings = Arc::new(Settings {
        storm: StormSettings {
            per_second: 3,
            window: Duration::seconds(60),
        },
        ..Settings::default()
    });
    let n = 40;
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (ports, publisher, schedules, settings) = (
                ports.clone(),
                publisher.clone(),
                schedules.clone(),
                settings.clone(),
            );
            tokio::spawn(async move {
                let now = Utc::now();
                let e = entry(&format!("incident-{i:02}"), now);
                let message = ec2ops::message::SnsMessage {
                    subject: e.incident_key.clone(),
                    message: "{}".into(),
                    urgent: false,
                };
                let storm = Storm {
                    gate: ports.clone(),
                    buffer: ports.clone(),
                    log: None,
                    local: Default::default(),
                };
                let budget = Budget::new(std::time::Duration::from_secs(60), now);
                let d = deliver(
                    Some(&storm),
                    false,
                    Some((
                        schedules.as_ref(),
                        "arn:aws:lambda:ap-northeast-2:000000000000:function:ec2ops",
                    )),
                    publisher.as_ref(),
                    "arn:aws:sns:ap-northeast-2:000000000000:reports",
                    &message,
                    &e,
                    &settings,
                    &budget,
                )
                .await
                .expect("delivered");
                (e.incident_key, d)
            })
        })
        .collect();
    let mut published = Vec::new();
    let mut deferred = Vec::new();
    for t in tasks {
        match t.await.expect("task") {
            (k, Delivered::Published(_)) => published.push(k),
            (k, Delivered::Digest(_)) => deferred.push(k),
        }
    }
    assert!(!deferred.is_empty(), "40 at once must exceed 3 per second");
    // Every window with a deferred incident has its flush scheduled; run each flush twice (a duplicate invocation).
    let windows: Vec<Window> = schedules
        .made
        .lock()
        .expect("lock")
        .values()
        .filter_map(|ev| flush_request(ev).and_then(Result::ok))
        .collect();
    assert!(!windows.is_empty());
    let storm = Storm {
        gate: ports.clone(),
        buffer: ports.clone(),
        log: None,
        local: Default::default(),
    };
    let mut in_digests = 0;
    for w in &windows {
        for run in 0..2 {
            let budget = Budget::new(std::time::Duration::from_secs(60), Utc::now());
            let f = flush(&storm, publisher.as_ref(), "topic", *w, &settings, &budget)
                .await
                .expect("flush");
            assert_eq!(f.already, run == 1);
            in_digests += f.incidents;
        }
    }
    let sent = publisher.sent.lock().expect("lock").clone();
    let mut per_second = std::collections::BTreeMap::<i64, u32>::new();
    for (s, _) in &sent {
        *per_second.entry(*s).or_default() += 1;
    }
    assert!(
        per_second.values().all(|c| *c <= 3),
        "published per second: {per_second:?}"
    );
    // Each incident exactly once: on its own or in one digest, never both, never neither.
    assert_eq!(published.len() + deferred.len(), n);
    assert_eq!(in_digests, deferred.len());
    let digests: Vec<&str> = sent
        .iter()
        .filter(|(_, m)| m.subject.contains("ec2ops digest"))
        .map(|(_, m)| m.message.as_str())
        .collect();
    assert_eq!(digests.len(), windows.len());
    for k in &deferred {
        let times = digests
            .iter()
            .filter(|d| d.contains(&format!("ec2ops incidents show {k}")))
            .count();
        assert_eq!(times, 1, "{k} in {times} digests");
    }
    for k in &published {
        assert!(!digests
            .iter()
            .any(|d| d.contains(&format!("ec2ops incidents show {k} "))));
    }
}

/// The sample CPU alarm as `instance`'s own alarm (the alarm's ARN is part of the incident key).
fn cpu_alarm_of(instance: &str, at: DateTime<Utc>) -> serde_json::Value {
    let mut event = event_for("cpu-spike.json", instance, at);
    let name = format!("EC2-HighCPU-{instance}");
    event["detail"]["alarmName"] = serde_json::Value::String(name.clone());
    event["resources"] = serde_json::json!([format!(
        "arn:aws:cloudwatch:{REGION}:123456789012:alarm:{name}"
    )]);
    event
}

#[tokio::test]
async fn a_storm_through_the_responder_is_recorded_once_per_incident_within_the_gate_and_every_deferred_incident_is_in_one_digest(
) {
    use ec2ops::budget::Budget;
    use ec2ops::config::RemediationMode;
    use ec2ops::pipeline::Outcome;
    use ec2ops::storm::StormSettings;
    use ec2ops_tests::rig::Rig;

    let Some(mut rig) = Rig::new(RemediationMode::DryRun).await else {
        return;
    };
    rig.settings.storm = StormSettings {
        per_second: 2,
        window: Duration::seconds(60),
    };
    let publisher = Arc::new(Recording::default());
    let schedules = Arc::new(Schedules::default());
    let responder = rig.responder(None, Some(schedules.clone()), Some(publisher.clone()));
    let n = 12;
    let mut instances = Vec::new();
    for _ in 0..n {
        instances.push(rig.instance("t3.small", false, &[]).await);
    }
    let at = now_minute();
    // Every incident delivered twice at once (EventBridge delivers at least once).
    let events: Vec<serde_json::Value> = instances
        .iter()
        .flat_map(|id| {
            let e = cpu_alarm_of(id, at);
            [e.clone(), e]
        })
        .collect();
    let keys: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|e| match ec2ops::event::parse(e) {
            Ok(ec2ops::event::Parsed::Alarm(c)) => Some(c.incident_key()),
            _ => None,
        })
        .collect();
    assert_eq!(keys.len(), n);
    let run = |event: serde_json::Value| {
        let r = responder.clone();
        tokio::spawn(async move {
            let now = Utc::now();
            r.respond(
                &event,
                now,
                Budget::new(std::time::Duration::from_secs(60), now),
            )
            .await
        })
    };
    let mut reported = std::collections::BTreeMap::<String, usize>::new();
    let tasks: Vec<_> = events.into_iter().map(run).collect();
    for t in tasks {
        match t.await.expect("task").expect("handled") {
            Outcome::Reported(i) => *reported.entry(i.change.incident_key()).or_default() += 1,
            Outcome::Duplicate { .. } | Outcome::Deferred { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // Redeliveries scheduled for incidents in progress elsewhere, then every digest flush, each run twice.
    let scheduled: Vec<(String, serde_json::Value)> = schedules
        .made
        .lock()
        .expect("lock")
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut digests = 0;
    for (name, event) in scheduled
        .iter()
        .filter(|(n, _)| n.starts_with("redo-"))
        .chain(scheduled.iter().filter(|(n, _)| n.starts_with("digest-")))
    {
        for _ in 0..2 {
            let now = Utc::now();
            match responder
                .respond(
                    event,
                    now,
                    Budget::new(std::time::Duration::from_secs(60), now),
                )
                .await
                .expect("handled")
            {
                Outcome::Reported(i) => *reported.entry(i.change.incident_key()).or_default() += 1,
                Outcome::Duplicate { .. } => {}
                Outcome::Digest { already, .. } => digests += usize::from(!already),
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
    }
    // Recorded exactly once per incident key.
    assert_eq!(reported.len(), n, "{reported:?}");
    assert!(reported.values().all(|c| *c == 1), "{reported:?}");

    let sent = publisher.sent.lock().expect("lock").clone();
    let mut per_second = std::collections::BTreeMap::<i64, u32>::new();
    for (s, _) in &sent {
        *per_second.entry(*s).or_default() += 1;
    }
    assert!(
        per_second.values().all(|c| *c <= 2),
        "published per second: {per_second:?}"
    );
    let digest_texts: Vec<&str> = sent
        .iter()
        .filter(|(_, m)| m.subject.contains("ec2ops digest"))
        .map(|(_, m)| m.message.as_str())
        .collect();
    assert_eq!(digest_texts.len(), digests);
    assert!(
        digests >= 1,
        "{n} incidents at once at 2 per second make a digest"
    );
    let log = DynamoStorm::new(
        rig.emu.dynamodb.clone(),
        rig.settings.ledger_table.clone().unwrap_or_default(),
    );
    let logged = log
        .list(
            Utc::now() - Duration::minutes(10),
            Utc::now() + Duration::seconds(1),
        )
        .await
        .expect("list");
    assert_eq!(logged.len(), n);
    for k in &keys {
        let completion = ec2ops::ports::IncidentClaims::completion(rig.ledger().as_ref(), k)
            .await
            .expect("read")
            .expect("completed");
        let quoted = format!("ec2ops incidents show '{k}'");
        let in_digests = digest_texts.iter().filter(|d| d.contains(&quoted)).count();
        let l = logged
            .iter()
            .find(|l| &l.incident_key == k)
            .expect("logged");
        match completion.message_id {
            Some(id) => {
                assert_eq!(in_digests, 0, "{k} published as {id} and in a digest");
                assert_eq!(l.message_id.as_deref(), Some(id.as_str()));
            }
            None => {
                assert_eq!(in_digests, 1, "{k} deferred but in {in_digests} digests");
                assert!(
                    completion.outcome.contains("digest"),
                    "{}",
                    completion.outcome
                );
                assert!(l.digest.is_some());
            }
        }
        let shown = log.show(k).await.expect("show").expect("found");
        assert!(
            shown.report.contains(k.as_str()),
            "the stored report names its incident"
        );
    }
}
