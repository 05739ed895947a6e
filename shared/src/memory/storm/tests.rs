use chrono::{DateTime, Duration, Utc};

use super::MemoryStorm;
use crate::analyze::Priority;
use crate::report::digest::DigestEntry;
use crate::storm::{
    Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
};

/// 2031-03-04 09:00:00.250 UTC plus `secs`.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_930_381_200, 250_000_000).unwrap_or_default()
        + Duration::seconds(secs)
}

fn entry(key: &str, headline: &str) -> DigestEntry {
    DigestEntry {
        incident_key: key.into(),
        thread_id: format!("thread-{key}"),
        priority: Priority::P1,
        headline: headline.into(),
        cause: "sustained saturation".into(),
        instance: Some("i-1".into()),
        name: None,
        az: Some("az-a".into()),
        alarm: "cpu".into(),
        family: "CPU".into(),
        fleet: None,
        action: None,
        at: t(0),
        quiet: false,
    }
}

fn logged(key: &str, at: DateTime<Utc>) -> LoggedIncident {
    LoggedIncident {
        incident_key: key.into(),
        at,
        priority: "P2".into(),
        rules: vec!["CPU-HIGH".into()],
        instance: Some("i-1".into()),
        alarm: "cpu".into(),
        action: "none".into(),
        message_id: Some(format!("m-{key}")),
        digest: None,
        report: format!("the report of {key}"),
        approval: None,
    }
}

#[tokio::test]
async fn the_gate_admits_its_limit_in_each_second_and_counts_what_it_admitted() {
    let s = MemoryStorm::default();
    let second = t(0).timestamp();
    let mut admitted = Vec::new();
    for _ in 0..5 {
        admitted.push(s.admit(second, 3).await);
    }
    assert_eq!(
        admitted,
        [Ok(true), Ok(true), Ok(true), Ok(false), Ok(false)]
    );
    assert_eq!(s.admit(second + 1, 3).await, Ok(true));
    assert_eq!(s.admitted(second), 3);
    assert_eq!(
        s.admissions().into_iter().collect::<Vec<_>>(),
        [(second, 3), (second + 1, 1)]
    );
}

#[tokio::test]
async fn a_second_without_a_counter_admits_one_publish_even_at_a_limit_of_zero() {
    let s = MemoryStorm::default();
    assert_eq!(s.admit(10, 0).await, Ok(true));
    assert_eq!(s.admit(10, 0).await, Ok(false));
}

#[tokio::test]
async fn a_gate_counter_lives_until_the_sweep_an_hour_after_its_second() {
    let s = MemoryStorm::default();
    let second = t(0).timestamp();
    s.admit(second, 1).await.ok();
    s.sweep_ttl(t(3600));
    assert_eq!(s.admitted(second), 1);
    s.sweep_ttl(t(3601));
    assert_eq!(s.admitted(second), 0);
}

#[tokio::test]
async fn a_window_takes_entries_until_its_flush_closes_it_and_a_retry_replaces_its_own_entry() {
    let s = MemoryStorm::default();
    let w = Window::of(t(0), Duration::seconds(60));
    assert_eq!(s.flush_scheduled(&w).await, Ok(false));
    assert_eq!(
        s.buffer(&w, &entry("b", "first")).await,
        Ok(Buffered::Added)
    );
    assert_eq!(
        s.buffer(&w, &entry("a", "High CPU")).await,
        Ok(Buffered::Added)
    );
    assert_eq!(
        s.buffer(&w, &entry("b", "again")).await,
        Ok(Buffered::Added)
    );
    s.note_scheduled(&w).await.ok();
    assert_eq!(s.flush_scheduled(&w).await, Ok(true));
    assert_eq!(s.close(&w, t(75), t(135)).await, Ok(FlushClaim::Claimed));
    assert_eq!(
        s.buffer(&w, &entry("c", "late")).await,
        Ok(Buffered::Closed)
    );
    assert_eq!(
        s.buffer(&w.next(), &entry("c", "late")).await,
        Ok(Buffered::Added)
    );
    let listed: Vec<(String, String)> = s
        .entries(&w)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.incident_key, e.headline))
        .collect();
    assert_eq!(
        listed,
        [
            ("a".into(), "High CPU".into()),
            ("b".into(), "again".into())
        ]
    );
}

#[tokio::test]
async fn a_flush_is_claimed_once_per_lease_and_once_published_reports_its_message() {
    let s = MemoryStorm::default();
    let w = Window::of(t(0), Duration::seconds(60));
    assert_eq!(s.close(&w, t(75), t(135)).await, Ok(FlushClaim::Claimed));
    let until = DateTime::from_timestamp(t(135).timestamp(), 0).unwrap_or_default();
    assert_eq!(
        s.close(&w, t(135), t(200)).await,
        Ok(FlushClaim::InProgress { until })
    );
    assert_eq!(s.close(&w, t(136), t(200)).await, Ok(FlushClaim::Claimed));
    s.published(&w, "m-1", t(140)).await.ok();
    let published = FlushClaim::Published {
        message_id: "m-1".into(),
    };
    assert_eq!(s.close(&w, t(400), t(460)).await, Ok(published));
    assert_eq!(s.published_digest(&w), Some("m-1".into()));
}

#[tokio::test]
async fn the_log_lists_each_incident_once_oldest_first_without_its_report_and_shows_it_whole() {
    let s = MemoryStorm::default();
    s.log(&logged("a", t(0))).await.ok();
    s.log(&logged("b", t(3600))).await.ok();
    s.log(&logged("a", t(7200))).await.ok();
    s.log(&logged("c", t(7201))).await.ok();
    let keys = |l: Vec<LoggedIncident>| -> Vec<(String, DateTime<Utc>, String)> {
        l.into_iter()
            .map(|i| (i.incident_key, i.at, i.report))
            .collect()
    };
    let all = keys(s.list(t(0), t(7200)).await.unwrap_or_default());
    assert_eq!(
        all,
        [
            ("b".into(), t(3600), String::new()),
            ("a".into(), t(7200), String::new())
        ]
    );
    assert_eq!(
        keys(s.list(t(1), t(3600)).await.unwrap_or_default()).len(),
        1
    );
    let shown = s.show("a").await.ok().flatten();
    assert_eq!(shown, Some(logged("a", t(7200))));
    assert_eq!(s.show("none").await, Ok(None));
}
