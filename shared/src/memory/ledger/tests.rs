use chrono::{DateTime, Duration, Utc};

use super::{IncidentStatus, MemoryLedger};
use crate::config::Envelope;
use crate::ports::{
    ActionLedger, ActionRecord, AzDeclaration, Claim, Completion, ErrorKind, Grant, Impairment,
    ImpairmentLog, IncidentClaims, Progress,
};
use crate::remediation::{ActionKind, Hold};

/// 2031-03-04 09:00:00.250 UTC plus `secs`: a quarter second into a second, so that second-granular conditions
/// and full-precision ones can differ.
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_930_381_200, 250_000_000).unwrap_or_default()
        + Duration::seconds(secs)
}

fn minutes(m: i64) -> i64 {
    m * 60
}

fn action(key: &str, instance: &str, az: Option<&str>, at: DateTime<Utc>) -> ActionRecord {
    ActionRecord {
        owner: format!("owner-{key}"),
        incident_key: key.into(),
        instance_id: instance.into(),
        availability_zone: az.map(str::to_string),
        action: ActionKind::Reboot,
        at,
    }
}

fn floor(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or_default()
}

#[tokio::test]
async fn a_first_claim_owns_the_incident_and_another_delivery_waits_for_the_lease_to_its_second() {
    let l = MemoryLedger::default();
    assert_eq!(l.claim("k", t(0), t(60)).await, Ok(Claim::Claimed));
    // The same delivery claiming again (its answer was lost) finds its own write.
    assert_eq!(l.claim("k", t(0), t(60)).await, Ok(Claim::Claimed));
    assert_eq!(
        l.claim("k", t(1), t(61)).await,
        Ok(Claim::InProgress {
            until: floor(t(60))
        })
    );
    // The lease is kept to the second: still held within its last second.
    assert!(matches!(
        l.claim("k", t(60) + Duration::milliseconds(700), t(120))
            .await,
        Ok(Claim::InProgress { .. })
    ));
    assert_eq!(
        l.incident_status("k"),
        Some((IncidentStatus::InProgress, Some(floor(t(60)))))
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_counts_the_attempt_and_the_taker_recognises_its_write()
{
    let l = MemoryLedger::default();
    l.claim("k", t(0), t(60)).await.ok();
    let resumed = Claim::Resumed {
        attempt: 2,
        first_claimed: Some(t(0)),
    };
    assert_eq!(l.claim("k", t(61), t(120)).await, Ok(resumed.clone()));
    assert_eq!(l.claim("k", t(61), t(120)).await, Ok(resumed));
    assert!(matches!(
        l.claim("k", t(121), t(180)).await,
        Ok(Claim::Resumed { attempt: 3, .. })
    ));
}

#[tokio::test]
async fn a_released_incident_is_taken_over_at_once_and_a_completed_one_stays_completed() {
    let l = MemoryLedger::default();
    l.claim("k", t(0), t(60)).await.ok();
    l.release("k", t(5)).await.ok();
    assert!(matches!(
        l.claim("k", t(5), t(65)).await,
        Ok(Claim::Resumed { attempt: 2, .. })
    ));
    let done = Completion {
        message_id: Some("m-1".into()),
        outcome: "rebooted".into(),
        az_report: false,
    };
    l.complete("k", t(10), &done).await.ok();
    l.release("k", t(11)).await.ok();
    assert_eq!(l.claim("k", t(12), t(70)).await, Ok(Claim::Duplicate));
    assert_eq!(l.completion("k").await, Ok(Some(done)));
    // Releasing an unknown incident creates nothing.
    l.release("other", t(0)).await.ok();
    assert_eq!(l.incident_status("other"), None);
}

#[tokio::test]
async fn completing_an_unclaimed_incident_records_it_completed_and_an_absent_message_id_reads_as_none(
) {
    let l = MemoryLedger::default();
    assert_eq!(l.completion("k").await, Ok(None));
    let done = Completion {
        message_id: None,
        outcome: "covered".into(),
        az_report: false,
    };
    l.complete("k", t(0), &done).await.ok();
    assert_eq!(l.completion("k").await, Ok(Some(done)));
    assert_eq!(l.claim("k", t(1), t(60)).await, Ok(Claim::Duplicate));
    assert_eq!(
        l.incident_status("k"),
        Some((IncidentStatus::Completed, None))
    );
    assert!(l.left_in_progress().is_empty());
}

#[tokio::test]
async fn an_action_is_recorded_once_per_incident_and_its_own_retried_transaction_is_granted() {
    let l = MemoryLedger::default();
    let e = Envelope::default();
    let a = action("k", "i-1", None, t(0));
    assert_eq!(l.record_action(&a, &e).await, Ok(Grant::Granted));
    assert_eq!(l.record_action(&a, &e).await, Ok(Grant::Granted));
    let other = ActionRecord {
        owner: "someone-else".into(),
        ..a.clone()
    };
    let Ok(Grant::Recorded(r)) = l.record_action(&other, &e).await else {
        panic!("the second delivery must find the record")
    };
    assert_eq!(
        (r.owner.as_str(), r.progress),
        ("owner-k", Progress::Started)
    );
    l.progress(
        "k",
        &Progress::Called {
            request_id: "req".into(),
        },
    )
    .await
    .ok();
    let recorded = l
        .recorded_action("k")
        .await
        .ok()
        .flatten()
        .map(|r| r.progress);
    assert_eq!(
        recorded,
        Some(Progress::Called {
            request_id: "req".into()
        })
    );
    let err = l
        .progress("none", &Progress::Started)
        .await
        .err()
        .map(|e| e.kind);
    assert_eq!(err, Some(ErrorKind::ConditionFailed));
    assert_eq!(l.actions().len(), 1);
}

#[tokio::test]
async fn another_incident_on_the_instance_is_held_by_the_cooldown_then_by_the_lock_until_it_ends() {
    let l = MemoryLedger::default();
    let e = Envelope {
        cooldown: Duration::minutes(5),
        ..Envelope::default()
    };
    l.record_action(&action("a", "i-1", None, t(0)), &e)
        .await
        .ok();
    let refused = l
        .record_action(&action("b", "i-1", None, t(minutes(2))), &e)
        .await;
    let cooldown = Hold::Cooldown {
        last: t(0),
        until: t(minutes(5)),
    };
    assert_eq!(refused, Ok(Grant::Refused(vec![cooldown])));
    let refused = l
        .record_action(&action("b", "i-1", None, t(minutes(10))), &e)
        .await;
    let busy = Hold::InstanceBusy {
        incident: "a".into(),
        until: floor(t(minutes(20))),
    };
    assert_eq!(refused, Ok(Grant::Refused(vec![busy])));
    assert_eq!(
        l.lock_holder("i-1"),
        Some(("a".into(), floor(t(minutes(20)))))
    );
    let granted = l
        .record_action(&action("b", "i-1", None, t(minutes(20) + 1)), &e)
        .await;
    assert_eq!(granted, Ok(Grant::Granted));
}

#[tokio::test]
async fn within_the_second_the_lock_ends_the_transaction_fails_and_no_hold_explains_it() {
    let l = MemoryLedger::default();
    let e = Envelope {
        cooldown: Duration::zero(),
        ..Envelope::default()
    };
    l.record_action(&action("a", "i-1", None, t(0)), &e)
        .await
        .ok();
    let err = l
        .record_action(&action("b", "i-1", None, t(minutes(20))), &e)
        .await
        .err()
        .map(|e| (e.kind, e.retryable));
    assert_eq!(err, Some((ErrorKind::Conflict, true)));
}

#[tokio::test]
async fn the_daily_cap_counts_an_instances_actions_per_utc_day_and_the_hourly_cap_the_accounts_per_hour(
) {
    let l = MemoryLedger::default();
    let e = Envelope {
        cooldown: Duration::zero(),
        daily_cap: 2,
        hourly_cap: 3,
        ..Envelope::default()
    };
    for (i, m) in [0, 21].into_iter().enumerate() {
        let granted = l
            .record_action(&action(&format!("d{i}"), "i-1", None, t(minutes(m))), &e)
            .await;
        assert_eq!(granted, Ok(Grant::Granted));
    }
    let third = l
        .record_action(&action("d2", "i-1", None, t(minutes(42))), &e)
        .await;
    assert_eq!(third, Ok(Grant::Refused(vec![Hold::DailyCap { cap: 2 }])));
    assert_eq!(
        l.record_action(&action("h", "i-2", None, t(minutes(43))), &e)
            .await,
        Ok(Grant::Granted)
    );
    let over = l
        .record_action(&action("h2", "i-3", None, t(minutes(44))), &e)
        .await;
    assert_eq!(over, Ok(Grant::Refused(vec![Hold::HourlyCap { cap: 3 }])));
    let next_hour = l
        .record_action(&action("h3", "i-3", None, t(minutes(61))), &e)
        .await;
    assert_eq!(next_hour, Ok(Grant::Granted));
}

#[tokio::test]
async fn an_open_az_event_holds_actions_in_its_az_until_its_window_ends() {
    let l = MemoryLedger::default();
    let e = Envelope::default();
    let named: Vec<String> = ["i-1", "i-2", "i-3", "i-4"].map(String::from).to_vec();
    l.declare_az_event("az-a", "k0", &named, t(0)).await.ok();
    let held = l
        .record_action(&action("k1", "i-1", Some("az-a"), t(60)), &e)
        .await;
    assert_eq!(
        held,
        Ok(Grant::Refused(vec![Hold::AzEvent { impaired: 4 }]))
    );
    let elsewhere = l
        .record_action(&action("k2", "i-2", Some("az-b"), t(60)), &e)
        .await;
    assert_eq!(elsewhere, Ok(Grant::Granted));
    let later = l
        .record_action(&action("k1", "i-1", Some("az-a"), t(minutes(10) + 1)), &e)
        .await;
    assert_eq!(later, Ok(Grant::Granted));
}

#[tokio::test]
async fn the_view_lists_the_instances_actions_newest_first_and_the_azs_other_impairments() {
    let l = MemoryLedger::default();
    let e = Envelope {
        cooldown: Duration::zero(),
        ..Envelope::default()
    };
    l.record_action(&action("a", "i-1", None, t(0)), &e)
        .await
        .ok();
    l.record_action(&action("b", "i-1", None, t(minutes(30))), &e)
        .await
        .ok();
    for (id, key, check) in [
        ("i-1", "x", "StatusCheckFailed_System"),
        ("i-2", "y", "StatusCheckFailed_System"),
    ] {
        let i = Impairment {
            instance_id: id.into(),
            check: check.into(),
            incident_key: key.into(),
            at: t(minutes(29)),
        };
        l.record_impairment("az-a", &i).await.ok();
    }
    let v = l
        .view("b", "i-1", Some("az-a"), t(minutes(31)))
        .await
        .unwrap_or_default();
    assert_eq!(v.instance_actions, vec![t(minutes(30)), t(0)]);
    assert_eq!(v.account_actions_last_hour, 2);
    assert_eq!(v.az_impaired, vec!["i-2".to_string()]);
    let same: Vec<String> = v.same_instance.iter().map(|s| s.to_string()).collect();
    assert_eq!(same, ["StatusCheckFailed_System: x"]);
    assert_eq!(v.this_incident_action, Some(t(minutes(30))));
}

#[tokio::test]
async fn impairments_are_read_from_ten_minutes_back_to_any_later_time() {
    let l = MemoryLedger::default();
    for (i, s) in [-601, -600, 0, 30].into_iter().enumerate() {
        let imp = Impairment {
            instance_id: format!("i-{i}"),
            check: "c".into(),
            incident_key: format!("k{i}"),
            at: t(s),
        };
        l.record_impairment("az-a", &imp).await.ok();
    }
    let ids: Vec<String> = l
        .impairments("az-a", t(0))
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.instance_id)
        .collect();
    assert_eq!(ids, ["i-1", "i-2", "i-3"]);
}

#[tokio::test]
async fn an_az_event_is_declared_once_per_window_and_covers_other_incidents_to_its_last_second() {
    let l = MemoryLedger::default();
    let named = vec!["i-1".to_string(), "i-2".to_string()];
    assert_eq!(
        l.declare_az_event("az", "k1", &named, t(0)).await,
        Ok(AzDeclaration::Declared)
    );
    assert_eq!(
        l.declare_az_event("az", "k1", &[], t(5)).await,
        Ok(AzDeclaration::Declared)
    );
    let covered = AzDeclaration::Covered {
        by: "k1".into(),
        named: named.clone(),
    };
    assert_eq!(
        l.declare_az_event("az", "k2", &[], t(minutes(10))).await,
        Ok(covered)
    );
    assert_eq!(
        l.declare_az_event("az", "k2", &[], t(minutes(10) + 1))
            .await,
        Ok(AzDeclaration::Declared)
    );
}

#[tokio::test]
async fn an_impairment_note_counts_for_an_hour_even_while_its_item_is_not_yet_deleted() {
    let l = MemoryLedger::default();
    assert_eq!(l.impaired_noted("i-1", "c", t(0)).await, Ok(None));
    l.note_impaired("i-1", "c", t(0)).await.ok();
    assert_eq!(
        l.impaired_noted("i-1", "c", t(minutes(60))).await,
        Ok(Some(t(0)))
    );
    assert_eq!(
        l.impaired_noted("i-1", "c", t(minutes(60) + 1)).await,
        Ok(None)
    );
    assert_eq!(l.impaired_noted("i-1", "other", t(0)).await, Ok(None));
}

#[tokio::test]
async fn only_the_ttl_sweep_deletes_and_a_swept_completed_incident_can_be_claimed_again() {
    let l = MemoryLedger::default();
    let done = Completion {
        message_id: Some("m".into()),
        outcome: "ok".into(),
        az_report: false,
    };
    l.complete("k", t(0), &done).await.ok();
    let week = Duration::days(7).num_seconds();
    l.sweep_ttl(t(week));
    assert_eq!(
        l.claim("k", t(week + 2), t(week + 60)).await,
        Ok(Claim::Duplicate)
    );
    l.sweep_ttl(t(week + 1));
    assert_eq!(
        l.claim("k", t(week + 2), t(week + 60)).await,
        Ok(Claim::Claimed)
    );
    assert_eq!(
        l.left_in_progress(),
        vec![("k".to_string(), floor(t(week + 60)))]
    );
}
