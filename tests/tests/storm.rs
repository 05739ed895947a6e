//! The storm ports on the ledger table against the emulator (moto DynamoDB): the publish gate shared by concurrent
//! callers, the digest buffer and its flush, and the look-back log.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ec2ops::analyze::Priority;
use ec2ops::aws::DynamoStorm;
use ec2ops::report::digest::DigestEntry;
use ec2ops::storm::{
    Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
};
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
