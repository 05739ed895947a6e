//! The contract suite: every case is written once, generic over the ports, and runs on the in-memory model
//! (`ec2ops::memory`) and on the DynamoDB adapter against the emulator, each case on a fresh store. The adapter is the
//! truth: a case that passes on it and fails on the model is a bug in the model.
//!
//! Times are fixed a quarter second into a second (`t`), so that the adapters' second-granular conditions (leases,
//! locks, AZ events, expiries are stored in epoch seconds) and their full-precision reads can be told apart.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use ec2ops::analyze::Priority;
use ec2ops::config::Envelope;
use ec2ops::memory::{MemoryLedger, MemoryStorm};
use ec2ops::ports::{
    ActionLedger, ActionRecord, Approvals, AzDeclaration, Claim, Completion, ErrorKind, Grant,
    Impairment, ImpairmentLog, IncidentClaims, Moved, Progress, Proposal, RecordedAction,
    StoredProposal,
};
use ec2ops::remediation::approval::{Answer, Approver, Nonce, Pending, Refused, State, Verdict};
use ec2ops::remediation::{ActionKind, Hold};
use ec2ops::report::digest::DigestEntry;
use ec2ops::storm::{
    Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
};
use ec2ops_aws::{DynamoLedger, DynamoStorm};
use ec2ops_tests::Emulator;

/// The ledger ports, as one store offers them.
trait LedgerPorts: IncidentClaims + ActionLedger + ImpairmentLog + Approvals {}
impl<T: IncidentClaims + ActionLedger + ImpairmentLog + Approvals> LedgerPorts for T {}

/// The three storm ports, as one store offers them.
trait StormPorts: PublishGate + DigestBuffer + IncidentLog {}
impl<T: PublishGate + DigestBuffer + IncidentLog> StormPorts for T {}

/// 2031-03-04 09:00:00.250 UTC plus `secs` (in the future, so no TTL process could have deleted anything).
fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_930_381_200, 250_000_000).unwrap_or_default()
        + Duration::seconds(secs)
}

fn minutes(m: i64) -> i64 {
    m * 60
}

/// The second a time falls in, as an epoch-seconds attribute keeps it.
fn floor(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(at.timestamp(), 0).unwrap_or_default()
}

fn action(key: &str, instance: &str, az: Option<&str>, at: DateTime<Utc>) -> ActionRecord {
    ActionRecord {
        owner: format!("owner-{key}"),
        incident_key: key.into(),
        instance_id: instance.into(),
        availability_zone: az.map(str::to_string),
        action: ActionKind::StopStart,
        at,
    }
}

fn envelope(cooldown_minutes: i64, daily_cap: usize, hourly_cap: usize) -> Envelope {
    Envelope {
        cooldown: Duration::minutes(cooldown_minutes),
        daily_cap,
        hourly_cap,
        ..Envelope::default()
    }
}

async fn grant<L: LedgerPorts>(l: &L, a: &ActionRecord, e: &Envelope) -> Grant {
    l.record_action(a, e).await.expect("record_action")
}

/// Run each case on a fresh store, naming it first so a failure says which.
macro_rules! cases {
    ($fresh:expr; $($case:ident),+ $(,)?) => {
        $(
            eprintln!("contract case: {}", stringify!($case));
            $case(&$fresh().await).await;
        )+
    };
}

async fn ledger_contract<L, F, Fut>(fresh: F)
where
    L: LedgerPorts,
    F: Fn() -> Fut,
    Fut: Future<Output = L>,
{
    cases!(fresh;
        a_claim_owns_the_incident_another_waits_for_its_lease_and_then_resumes_it,
        a_claim_recognises_its_own_earlier_write,
        a_completed_incident_is_a_duplicate_with_its_completion,
        a_released_lease_lets_the_next_claim_take_over_at_once,
        an_action_is_recorded_once_per_incident_and_its_progress_reads_back,
        the_lock_is_the_cooldown_and_holds_the_instance_for_twenty_minutes_at_least,
        within_the_second_a_lock_ends_the_action_fails_retryably_without_a_hold,
        the_daily_cap_counts_per_instance_and_utc_day,
        the_hourly_cap_counts_account_wide_per_clock_hour,
        a_cap_of_zero_refuses_before_anything_else,
        an_open_az_event_holds_actions_in_its_az,
        the_view_reads_history_and_the_azs_other_impairments,
        impairments_are_read_within_the_az_window,
        an_az_event_is_declared_once_per_az_and_window,
        a_noted_impairment_counts_for_an_hour,
        a_proposal_is_recorded_once_per_incident_and_read_back_by_its_nonce,
        of_two_answers_only_the_first_moves_a_proposal_and_the_second_is_refused,
        an_answer_at_the_expiry_is_refused_and_the_expiry_moves_a_pending_proposal_once,
        an_unknown_nonce_is_refused_and_changes_nothing,
        an_approved_proposal_concludes_once,
    );
}

async fn storm_contract<S, F, Fut>(fresh: F)
where
    S: StormPorts,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    cases!(fresh;
        the_gate_admits_its_limit_per_second_then_refuses,
        a_digest_window_takes_entries_until_its_flush_closes_it,
        a_flush_is_claimed_once_per_lease_and_then_reports_its_publication,
        the_incident_log_lists_each_incident_once_and_shows_it_whole,
    );
}

#[tokio::test]
async fn the_memory_ledger_keeps_the_ledger_contract() {
    ledger_contract(|| async { MemoryLedger::default() }).await;
}

#[tokio::test]
async fn the_dynamodb_ledger_keeps_the_ledger_contract() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    ledger_contract(|| async { DynamoLedger::new(emu.dynamodb.clone(), emu.ledger_table().await) })
        .await;
}

#[tokio::test]
async fn the_memory_storm_store_keeps_the_storm_contract() {
    storm_contract(|| async { MemoryStorm::default() }).await;
}

#[tokio::test]
async fn the_dynamodb_storm_store_keeps_the_storm_contract() {
    let Some(emu) = Emulator::connect().await else {
        return;
    };
    storm_contract(|| async { DynamoStorm::new(emu.dynamodb.clone(), emu.ledger_table().await) })
        .await;
}

// The ledger's cases.

async fn a_claim_owns_the_incident_another_waits_for_its_lease_and_then_resumes_it<
    L: LedgerPorts,
>(
    l: &L,
) {
    assert_eq!(l.claim("k", t(0), t(60)).await, Ok(Claim::Claimed));
    let waits = Claim::InProgress {
        until: floor(t(60)),
    };
    assert_eq!(l.claim("k", t(1), t(61)).await, Ok(waits.clone()));
    // The lease is kept to the second: a delivery within its last second still waits.
    assert_eq!(
        l.claim("k", t(60) + Duration::milliseconds(500), t(120))
            .await,
        Ok(waits)
    );
    assert_eq!(l.completion("k").await, Ok(None));
    let resumed = Claim::Resumed {
        attempt: 2,
        first_claimed: Some(t(0)),
    };
    assert_eq!(l.claim("k", t(61), t(120)).await, Ok(resumed.clone()));
    // The delivery that took over claims again (its answer was lost): still its own, same attempt.
    assert_eq!(l.claim("k", t(61), t(120)).await, Ok(resumed));
    let third = l.claim("k", t(121), t(180)).await;
    assert_eq!(
        third,
        Ok(Claim::Resumed {
            attempt: 3,
            first_claimed: Some(t(0))
        })
    );
}

async fn a_claim_recognises_its_own_earlier_write<L: LedgerPorts>(l: &L) {
    assert_eq!(l.claim("k", t(0), t(60)).await, Ok(Claim::Claimed));
    assert_eq!(l.claim("k", t(0), t(60)).await, Ok(Claim::Claimed));
    // Another delivery one nanosecond later is another claimant.
    let other = t(0) + Duration::nanoseconds(1);
    let waits = Claim::InProgress {
        until: floor(t(60)),
    };
    assert_eq!(l.claim("k", other, t(60)).await, Ok(waits));
}

async fn a_completed_incident_is_a_duplicate_with_its_completion<L: LedgerPorts>(l: &L) {
    l.claim("k", t(0), t(60)).await.expect("claim");
    let done = Completion {
        message_id: Some("m-1".into()),
        outcome: "stop-start: called".into(),
        az_report: false,
    };
    l.complete("k", t(10), &done).await.expect("complete");
    assert_eq!(l.completion("k").await, Ok(Some(done)));
    assert_eq!(l.claim("k", t(11), t(70)).await, Ok(Claim::Duplicate));
    // Past the record's TTL (7 days) it is still a duplicate: only the deletion, whenever it comes, forgets it.
    let week = Duration::days(7).num_seconds();
    assert_eq!(
        l.claim("k", t(week + 60), t(week + 120)).await,
        Ok(Claim::Duplicate)
    );
    // Completing is an unconditional update: an incident never claimed is completed all the same.
    let quiet = Completion {
        message_id: None,
        outcome: "covered by the AZ report".into(),
        az_report: false,
    };
    l.complete("never-claimed", t(0), &quiet)
        .await
        .expect("complete");
    assert_eq!(l.completion("never-claimed").await, Ok(Some(quiet)));
    assert_eq!(
        l.claim("never-claimed", t(1), t(60)).await,
        Ok(Claim::Duplicate)
    );
    assert_eq!(l.completion("unknown").await, Ok(None));
    // The AZ report's completion says so as a field, read back as written.
    let az = Completion {
        message_id: Some("m-az".into()),
        outcome: "no action".into(),
        az_report: true,
    };
    l.complete("az", t(0), &az).await.expect("complete");
    assert_eq!(l.completion("az").await, Ok(Some(az)));
}

async fn a_released_lease_lets_the_next_claim_take_over_at_once<L: LedgerPorts>(l: &L) {
    l.claim("k", t(0), t(60)).await.expect("claim");
    l.release("k", t(5)).await.expect("release");
    let resumed = Claim::Resumed {
        attempt: 2,
        first_claimed: Some(t(0)),
    };
    assert_eq!(l.claim("k", t(5), t(65)).await, Ok(resumed));
    // Releasing a completed incident, or one never claimed, changes nothing.
    let done = Completion {
        message_id: Some("m".into()),
        outcome: "ok".into(),
        az_report: false,
    };
    l.complete("k", t(6), &done).await.expect("complete");
    l.release("k", t(7)).await.expect("release");
    assert_eq!(l.claim("k", t(8), t(68)).await, Ok(Claim::Duplicate));
    l.release("unknown", t(0)).await.expect("release");
    assert_eq!(l.claim("unknown", t(1), t(61)).await, Ok(Claim::Claimed));
}

async fn an_action_is_recorded_once_per_incident_and_its_progress_reads_back<L: LedgerPorts>(
    l: &L,
) {
    let e = Envelope::default();
    let a = action("k", "i-1", Some("az-a"), t(0));
    assert_eq!(l.recorded_action("k").await, Ok(None));
    assert_eq!(grant(l, &a, &e).await, Grant::Granted);
    // The same delivery's retried transaction finds its own record by its owner token.
    assert_eq!(grant(l, &a, &e).await, Grant::Granted);
    let recorded = RecordedAction {
        owner: "owner-k".into(),
        instance_id: "i-1".into(),
        at: t(0),
        action: ActionKind::StopStart,
        progress: Progress::Started,
    };
    let other_delivery = ActionRecord {
        owner: "another-delivery".into(),
        at: t(30),
        ..a.clone()
    };
    assert_eq!(
        grant(l, &other_delivery, &e).await,
        Grant::Recorded(recorded.clone())
    );
    for progress in [
        Progress::Called {
            request_id: "req-1".into(),
        },
        Progress::Failed {
            error: "IncorrectInstanceState".into(),
        },
        Progress::Started,
    ] {
        l.progress("k", &progress).await.expect("progress");
        let expected = RecordedAction {
            progress,
            ..recorded.clone()
        };
        assert_eq!(l.recorded_action("k").await, Ok(Some(expected)));
    }
    let missing = l.progress("unknown", &Progress::Started).await;
    assert_eq!(missing.map_err(|e| e.kind), Err(ErrorKind::ConditionFailed));
}

async fn the_lock_is_the_cooldown_and_holds_the_instance_for_twenty_minutes_at_least<
    L: LedgerPorts,
>(
    l: &L,
) {
    let e = envelope(5, 3, 10);
    assert_eq!(
        grant(l, &action("a", "i-1", None, t(0)), &e).await,
        Grant::Granted
    );
    let cooldown = Hold::Cooldown {
        last: t(0),
        until: t(minutes(5)),
    };
    assert_eq!(
        grant(l, &action("b", "i-1", None, t(minutes(2))), &e).await,
        Grant::Refused(vec![cooldown])
    );
    let busy = Hold::InstanceBusy {
        incident: "a".into(),
        until: floor(t(minutes(20))),
    };
    assert_eq!(
        grant(l, &action("b", "i-1", None, t(minutes(10))), &e).await,
        Grant::Refused(vec![busy])
    );
    assert_eq!(
        grant(l, &action("c", "i-2", None, t(minutes(10))), &e).await,
        Grant::Granted
    );
    assert_eq!(
        grant(l, &action("b", "i-1", None, t(minutes(20) + 1)), &e).await,
        Grant::Granted
    );
    // A cooldown longer than the lock's least time holds the instance for all of it.
    let long = envelope(45, 3, 10);
    assert_eq!(
        grant(l, &action("x", "i-3", None, t(0)), &long).await,
        Grant::Granted
    );
    let cooldown = Hold::Cooldown {
        last: t(0),
        until: t(minutes(45)),
    };
    assert_eq!(
        grant(l, &action("y", "i-3", None, t(minutes(40))), &long).await,
        Grant::Refused(vec![cooldown])
    );
    assert_eq!(
        grant(l, &action("y", "i-3", None, t(minutes(45) + 1)), &long).await,
        Grant::Granted
    );
}

async fn within_the_second_a_lock_ends_the_action_fails_retryably_without_a_hold<L: LedgerPorts>(
    l: &L,
) {
    // The transaction compares the lock's `until` (seconds) with the action's second, the reads that explain a
    // refusal with the action's instant: in the lock's last second the first refuses and the second finds no hold.
    let e = envelope(0, 3, 10);
    assert_eq!(
        grant(l, &action("a", "i-1", None, t(0)), &e).await,
        Grant::Granted
    );
    let failed = l
        .record_action(&action("b", "i-1", None, t(minutes(20))), &e)
        .await
        .map_err(|e| (e.kind, e.retryable));
    assert_eq!(failed, Err((ErrorKind::Conflict, true)));
    assert_eq!(l.recorded_action("b").await, Ok(None));
}

async fn the_daily_cap_counts_per_instance_and_utc_day<L: LedgerPorts>(l: &L) {
    let e = envelope(0, 2, 10);
    assert_eq!(
        grant(l, &action("a", "i-1", None, t(0)), &e).await,
        Grant::Granted
    );
    assert_eq!(
        grant(l, &action("b", "i-1", None, t(minutes(21))), &e).await,
        Grant::Granted
    );
    assert_eq!(
        grant(l, &action("c", "i-1", None, t(minutes(42))), &e).await,
        Grant::Refused(vec![Hold::DailyCap { cap: 2 }])
    );
    assert_eq!(
        grant(l, &action("c", "i-2", None, t(minutes(42))), &e).await,
        Grant::Granted
    );
    // The next UTC day (09:00 + 15 h = 00:00 the day after) counts afresh.
    assert_eq!(
        grant(l, &action("d", "i-1", None, t(minutes(15 * 60))), &e).await,
        Grant::Granted
    );
}

async fn the_hourly_cap_counts_account_wide_per_clock_hour<L: LedgerPorts>(l: &L) {
    let e = envelope(30, 3, 2);
    assert_eq!(
        grant(l, &action("a", "i-1", None, t(0)), &e).await,
        Grant::Granted
    );
    assert_eq!(
        grant(l, &action("b", "i-2", None, t(60)), &e).await,
        Grant::Granted
    );
    assert_eq!(
        grant(l, &action("c", "i-3", None, t(120)), &e).await,
        Grant::Refused(vec![Hold::HourlyCap { cap: 2 }])
    );
    // Both holds at once: the instance's cooldown and the account's cap.
    let both = grant(l, &action("d", "i-1", None, t(180)), &e).await;
    let cooldown = Hold::Cooldown {
        last: t(0),
        until: t(minutes(30)),
    };
    assert_eq!(
        both,
        Grant::Refused(vec![cooldown, Hold::HourlyCap { cap: 2 }])
    );
    assert_eq!(
        grant(l, &action("c", "i-3", None, t(minutes(60))), &e).await,
        Grant::Granted
    );
}

async fn a_cap_of_zero_refuses_before_anything_else<L: LedgerPorts>(l: &L) {
    let a = action("k", "i-1", None, t(0));
    assert_eq!(grant(l, &a, &Envelope::default()).await, Grant::Granted);
    let zero = envelope(30, 0, 0);
    let refused = vec![Hold::DailyCap { cap: 0 }, Hold::HourlyCap { cap: 0 }];
    assert_eq!(grant(l, &a, &zero).await, Grant::Refused(refused));
    let hourly_only = envelope(30, 3, 0);
    assert_eq!(
        grant(l, &action("j", "i-9", None, t(0)), &hourly_only).await,
        Grant::Refused(vec![Hold::HourlyCap { cap: 0 }])
    );
}

async fn an_open_az_event_holds_actions_in_its_az<L: LedgerPorts>(l: &L) {
    let e = Envelope::default();
    let two = vec!["i-1".to_string(), "i-2".to_string()];
    let declared = l.declare_az_event("az-a", "k0", &two, t(0)).await;
    assert_eq!(declared, Ok(AzDeclaration::Declared));
    // The hold names at least the AZ-EVENT threshold of instances.
    assert_eq!(
        grant(l, &action("k1", "i-1", Some("az-a"), t(60)), &e).await,
        Grant::Refused(vec![Hold::AzEvent { impaired: 3 }])
    );
    assert_eq!(
        grant(l, &action("k2", "i-2", Some("az-b"), t(60)), &e).await,
        Grant::Granted
    );
    assert_eq!(
        grant(l, &action("k3", "i-3", None, t(60)), &e).await,
        Grant::Granted
    );
    let four: Vec<String> = ["i-1", "i-2", "i-3", "i-4"].map(String::from).to_vec();
    l.declare_az_event("az-c", "k4", &four, t(0))
        .await
        .expect("declare");
    assert_eq!(
        grant(l, &action("k5", "i-5", Some("az-c"), t(60)), &e).await,
        Grant::Refused(vec![Hold::AzEvent { impaired: 4 }])
    );
    assert_eq!(
        grant(
            l,
            &action("k1", "i-1", Some("az-a"), t(minutes(10) + 1)),
            &e
        )
        .await,
        Grant::Granted
    );
}

async fn the_view_reads_history_and_the_azs_other_impairments<L: LedgerPorts>(l: &L) {
    let e = envelope(0, 3, 10);
    let empty = l.view("k", "i-1", Some("az-a"), t(0)).await.expect("view");
    assert_eq!(empty, Default::default());
    for (key, m) in [("a", 0), ("b", 30)] {
        let granted = grant(l, &action(key, "i-1", None, t(minutes(m))), &e).await;
        assert_eq!(granted, Grant::Granted);
    }
    grant(l, &action("c", "i-2", None, t(minutes(31))), &e).await;
    let (system, instance) = ("StatusCheckFailed_System", "StatusCheckFailed_Instance");
    for (id, key, check) in [
        ("i-1", "x", system),
        ("i-1", "b", instance),
        ("i-2", "y", system),
        ("i-3", "z", system),
    ] {
        let i = Impairment {
            instance_id: id.into(),
            check: check.into(),
            incident_key: key.into(),
            at: t(minutes(29)),
        };
        l.record_impairment("az-a", &i).await.expect("record");
    }
    let v = l
        .view("b", "i-1", Some("az-a"), t(minutes(31)))
        .await
        .expect("view");
    assert_eq!(v.this_incident_action, Some(t(minutes(30))));
    assert_eq!(v.instance_actions, vec![t(minutes(30)), t(0)]);
    assert_eq!(v.account_actions_last_hour, 3);
    assert_eq!(v.az_impaired, vec!["i-2".to_string(), "i-3".to_string()]);
    let same: Vec<String> = v.same_instance.iter().map(|s| s.to_string()).collect();
    assert_eq!(same, ["StatusCheckFailed_System: x"]);
    // An hour and a day later: the account's hour and the instance's day have passed.
    let later = l
        .view("b", "i-1", None, t(minutes(24 * 60 + 1)))
        .await
        .expect("view");
    assert_eq!(later.instance_actions, vec![t(minutes(30))]);
    assert_eq!(later.account_actions_last_hour, 0);
    assert!(later.az_impaired.is_empty());
}

async fn impairments_are_read_within_the_az_window<L: LedgerPorts>(l: &L) {
    for (i, s) in [-601, -600, 0, 30].into_iter().enumerate() {
        let imp = Impairment {
            instance_id: format!("i-{i}"),
            check: "StatusCheckFailed_Instance".into(),
            incident_key: format!("k{i}"),
            at: t(s),
        };
        l.record_impairment("az-a", &imp).await.expect("record");
    }
    let other = Impairment {
        instance_id: "i-9".into(),
        check: "StatusCheckFailed_System".into(),
        incident_key: "k9".into(),
        at: t(0),
    };
    l.record_impairment("az-b", &other).await.expect("record");
    let found = l.impairments("az-a", t(0)).await.expect("impairments");
    let expected: Vec<Impairment> = [(1, -600), (2, 0), (3, 30)]
        .into_iter()
        .map(|(i, s)| Impairment {
            instance_id: format!("i-{i}"),
            check: "StatusCheckFailed_Instance".into(),
            incident_key: format!("k{i}"),
            at: t(s),
        })
        .collect();
    assert_eq!(found, expected);
    assert_eq!(l.impairments("az-b", t(0)).await, Ok(vec![other]));
    assert_eq!(l.impairments("az-z", t(0)).await, Ok(vec![]));
}

async fn an_az_event_is_declared_once_per_az_and_window<L: LedgerPorts>(l: &L) {
    let named = vec!["i-1".to_string(), "i-2".to_string(), "i-3".to_string()];
    assert_eq!(
        l.declare_az_event("az-a", "k1", &named, t(0)).await,
        Ok(AzDeclaration::Declared)
    );
    assert_eq!(
        l.declare_az_event("az-a", "k1", &[], t(5)).await,
        Ok(AzDeclaration::Declared)
    );
    let covered = AzDeclaration::Covered {
        by: "k1".into(),
        named: named.clone(),
    };
    assert_eq!(
        l.declare_az_event("az-a", "k2", &[], t(30)).await,
        Ok(covered.clone())
    );
    assert_eq!(
        l.declare_az_event("az-b", "k2", &[], t(30)).await,
        Ok(AzDeclaration::Declared)
    );
    // The window is kept to the second: its last second still covers.
    assert_eq!(
        l.declare_az_event("az-a", "k2", &[], t(minutes(10))).await,
        Ok(covered)
    );
    let next = vec!["i-4".to_string()];
    assert_eq!(
        l.declare_az_event("az-a", "k2", &next, t(minutes(10) + 1))
            .await,
        Ok(AzDeclaration::Declared)
    );
    assert_eq!(
        l.declare_az_event("az-a", "k1", &[], t(minutes(11))).await,
        Ok(AzDeclaration::Covered {
            by: "k2".into(),
            named: next
        })
    );
}

async fn a_noted_impairment_counts_for_an_hour<L: LedgerPorts>(l: &L) {
    let check = "StatusCheckFailed_System";
    assert_eq!(l.impaired_noted("i-1", check, t(0)).await, Ok(None));
    l.note_impaired("i-1", check, t(0)).await.expect("note");
    assert_eq!(l.impaired_noted("i-1", check, t(1)).await, Ok(Some(t(0))));
    assert_eq!(
        l.impaired_noted("i-1", check, t(minutes(60))).await,
        Ok(Some(t(0)))
    );
    assert_eq!(
        l.impaired_noted("i-1", check, t(minutes(60) + 1)).await,
        Ok(None)
    );
    assert_eq!(
        l.impaired_noted("i-1", "StatusCheckFailed_Instance", t(1))
            .await,
        Ok(None)
    );
    // Noting again starts the hour again.
    l.note_impaired("i-1", check, t(minutes(90)))
        .await
        .expect("note");
    assert_eq!(
        l.impaired_noted("i-1", check, t(minutes(100))).await,
        Ok(Some(t(minutes(90))))
    );
}

// The storm store's cases.

fn entry(key: &str, headline: &str) -> DigestEntry {
    DigestEntry {
        incident_key: key.into(),
        thread_id: format!("thread-{key}"),
        priority: Priority::P1,
        headline: headline.into(),
        cause: "sustained saturation".into(),
        instance: Some("i-1".into()),
        name: Some("web-1".into()),
        az: Some("az-a".into()),
        alarm: "cpu".into(),
        family: "CPU".into(),
        fleet: None,
        action: Some("dry-run reboot".into()),
        at: t(0) + Duration::nanoseconds(123_456_789),
        quiet: true,
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
        // One incident with a proposed action and its decisions: they list and show as written.
        approval: (key == "a").then(|| ec2ops::storm::LoggedApproval {
            nonce: "0123456789abcdef0123456789abcdef".into(),
            action: "reboot".into(),
            expires_at: at + chrono::Duration::minutes(15),
            state: "approved".into(),
            decisions: vec!["2026-01-01 00:05:00 UTC  Slack user U1: approved".into()],
        }),
    }
}

async fn the_gate_admits_its_limit_per_second_then_refuses<S: StormPorts>(s: &S) {
    let second = t(0).timestamp();
    for _ in 0..3 {
        assert_eq!(s.admit(second, 3).await, Ok(true));
    }
    assert_eq!(s.admit(second, 3).await, Ok(false));
    assert_eq!(s.admit(second, 3).await, Ok(false));
    // A higher limit for the same second admits up to it.
    assert_eq!(s.admit(second, 4).await, Ok(true));
    assert_eq!(s.admit(second, 4).await, Ok(false));
    assert_eq!(s.admit(second + 1, 3).await, Ok(true));
    // A second without a counter admits one, whatever the limit.
    assert_eq!(s.admit(second + 2, 0).await, Ok(true));
    assert_eq!(s.admit(second + 2, 0).await, Ok(false));
}

async fn a_digest_window_takes_entries_until_its_flush_closes_it<S: StormPorts>(s: &S) {
    let w = Window::of(t(0), Duration::seconds(60));
    assert_eq!(s.flush_scheduled(&w).await, Ok(false));
    assert_eq!(s.entries(&w).await, Ok(vec![]));
    assert_eq!(
        s.buffer(&w, &entry("b", "first")).await,
        Ok(Buffered::Added)
    );
    assert_eq!(
        s.buffer(&w, &entry("a", "High CPU")).await,
        Ok(Buffered::Added)
    );
    // A retry replaces its own entry.
    assert_eq!(
        s.buffer(&w, &entry("b", "again")).await,
        Ok(Buffered::Added)
    );
    s.note_scheduled(&w).await.expect("note_scheduled");
    assert_eq!(s.flush_scheduled(&w).await, Ok(true));
    assert_eq!(s.flush_scheduled(&w.next()).await, Ok(false));
    // Scheduling does not close the window.
    assert_eq!(
        s.buffer(&w, &entry("c", "third")).await,
        Ok(Buffered::Added)
    );
    assert_eq!(s.close(&w, t(75), t(135)).await, Ok(FlushClaim::Claimed));
    assert_eq!(
        s.buffer(&w, &entry("d", "late")).await,
        Ok(Buffered::Closed)
    );
    assert_eq!(
        s.buffer(&w.next(), &entry("d", "late")).await,
        Ok(Buffered::Added)
    );
    let expected = vec![
        entry("a", "High CPU"),
        entry("b", "again"),
        entry("c", "third"),
    ];
    assert_eq!(s.entries(&w).await, Ok(expected));
    assert_eq!(s.entries(&w.next()).await, Ok(vec![entry("d", "late")]));
    // The same start with another length is another window.
    let longer = Window::of(t(0), Duration::seconds(120));
    assert_eq!(s.entries(&longer).await, Ok(vec![]));
    assert_eq!(
        s.buffer(&longer, &entry("e", "other")).await,
        Ok(Buffered::Added)
    );
}

async fn a_flush_is_claimed_once_per_lease_and_then_reports_its_publication<S: StormPorts>(s: &S) {
    let w = Window::of(t(0), Duration::seconds(60));
    // A window nobody buffered into can still be closed.
    assert_eq!(s.close(&w, t(75), t(135)).await, Ok(FlushClaim::Claimed));
    let until = floor(t(135));
    assert_eq!(
        s.close(&w, t(100), t(160)).await,
        Ok(FlushClaim::InProgress { until })
    );
    // The lease is kept to the second.
    assert_eq!(
        s.close(&w, t(135), t(195)).await,
        Ok(FlushClaim::InProgress { until })
    );
    assert_eq!(s.close(&w, t(136), t(196)).await, Ok(FlushClaim::Claimed));
    assert_eq!(
        s.buffer(&w, &entry("a", "late")).await,
        Ok(Buffered::Closed)
    );
    s.published(&w, "m-1", t(140)).await.expect("published");
    let published = FlushClaim::Published {
        message_id: "m-1".into(),
    };
    assert_eq!(s.close(&w, t(141), t(201)).await, Ok(published.clone()));
    assert_eq!(s.close(&w, t(400), t(460)).await, Ok(published));
    // A publication recorded for a window never closed: its flush reports it, its buffer stays open.
    let other = w.next();
    s.published(&other, "m-2", t(140)).await.expect("published");
    assert_eq!(
        s.close(&other, t(141), t(201)).await,
        Ok(FlushClaim::Published {
            message_id: "m-2".into()
        })
    );
    assert_eq!(
        s.buffer(&other, &entry("b", "x")).await,
        Ok(Buffered::Added)
    );
}

async fn the_incident_log_lists_each_incident_once_and_shows_it_whole<S: StormPorts>(s: &S) {
    s.log(&logged("a", t(0))).await.expect("log");
    s.log(&logged("b", t(3600))).await.expect("log");
    s.log(&logged("a", t(7200))).await.expect("log");
    s.log(&logged("c", t(7201))).await.expect("log");
    let listed = |l: Vec<LoggedIncident>| -> Vec<LoggedIncident> {
        l.into_iter()
            .map(|i| LoggedIncident {
                report: String::new(),
                ..i
            })
            .collect()
    };
    let all = s.list(t(0), t(7200)).await.expect("list");
    assert_eq!(
        all,
        listed(vec![logged("b", t(3600)), logged("a", t(7200))])
    );
    // Bounds are inclusive; an incident logged again later lists at its last record only while it is in range.
    let first_hours = s.list(t(0), t(3600)).await.expect("list");
    assert_eq!(
        first_hours,
        listed(vec![logged("a", t(0)), logged("b", t(3600))])
    );
    assert_eq!(s.list(t(1), t(3599)).await, Ok(vec![]));
    assert_eq!(s.show("a").await, Ok(Some(logged("a", t(7200)))));
    assert_eq!(s.show("c").await, Ok(Some(logged("c", t(7201)))));
    assert_eq!(s.show("unknown").await, Ok(None));
}

// The proposals' cases (`approve` mode).

fn nonce(b: u8) -> Nonce {
    Nonce::from_bytes([b; 16])
}

fn proposal(key: &str, n: Nonce, at: DateTime<Utc>) -> Proposal {
    Proposal {
        pending: Pending::new(
            n,
            key,
            "i-0abc",
            ActionKind::Reboot,
            at,
            Duration::minutes(15),
        ),
        account: Some("123456789012".into()),
        region: Some("ap-northeast-2".into()),
        thread_id: format!("thread-{key}"),
        alarm_name: "web-1 instance check".into(),
        origin: serde_json::json!({"source": "aws.cloudwatch", "detail": {"alarmName": "web-1 instance check"}}),
    }
}

fn answer(n: Nonce, verdict: Verdict, by: &str, at: DateTime<Utc>) -> Answer {
    Answer {
        nonce: n,
        verdict,
        by: Approver::ChatbotRole(by.into()),
        at,
    }
}

fn moved(m: Moved) -> StoredProposal {
    match m {
        Moved::Moved(p) => *p,
        Moved::Refused(r) => panic!("refused: {r}"),
    }
}

fn refused(m: Moved) -> Refused {
    match m {
        Moved::Refused(r) => r,
        Moved::Moved(p) => panic!("moved: {p:?}"),
    }
}

async fn a_proposal_is_recorded_once_per_incident_and_read_back_by_its_nonce<L: LedgerPorts>(
    l: &L,
) {
    let first = proposal("k", nonce(1), t(0));
    assert_eq!(l.propose(&first).await, Ok(None));
    let stored = StoredProposal {
        proposal: first.clone(),
        state: State::Pending,
        concluded: None,
    };
    assert_eq!(l.proposal(&nonce(1)).await, Ok(Some(stored.clone())));
    // A redelivery proposing again with a new nonce gets the first one back; nothing is written.
    assert_eq!(
        l.propose(&proposal("k", nonce(2), t(30))).await,
        Ok(Some(stored))
    );
    assert_eq!(l.proposal(&nonce(2)).await, Ok(None));
    // Another incident is proposed on its own.
    assert_eq!(l.propose(&proposal("k2", nonce(3), t(30))).await, Ok(None));
}

async fn of_two_answers_only_the_first_moves_a_proposal_and_the_second_is_refused<
    L: LedgerPorts,
>(
    l: &L,
) {
    l.propose(&proposal("k", nonce(1), t(0)))
        .await
        .expect("propose");
    let yes = answer(
        nonce(1),
        Verdict::Approve,
        "arn:aws:iam::1:role/oncall",
        t(60),
    );
    let approved = State::Approved {
        by: yes.by.clone(),
        at: t(60),
    };
    assert_eq!(moved(l.answer(&yes).await.expect("answer")).state, approved);
    let again = answer(
        nonce(1),
        Verdict::Approve,
        "arn:aws:iam::1:role/other",
        t(61),
    );
    assert_eq!(
        refused(l.answer(&again).await.expect("answer")),
        Refused::AlreadyDecided(approved.clone())
    );
    let no = answer(nonce(1), Verdict::Deny, "arn:aws:iam::1:role/other", t(62));
    assert_eq!(
        refused(l.answer(&no).await.expect("answer")),
        Refused::AlreadyDecided(approved.clone())
    );
    // Nor does the expiry change a decided proposal.
    assert_eq!(
        refused(l.expire(&nonce(1), t(minutes(20))).await.expect("expire")),
        Refused::AlreadyDecided(approved.clone())
    );
    let read = l.proposal(&nonce(1)).await.expect("read").expect("stored");
    assert_eq!(read.state, approved);
    // A denial is final too.
    l.propose(&proposal("k2", nonce(2), t(0)))
        .await
        .expect("propose");
    let no = answer(nonce(2), Verdict::Deny, "arn:aws:iam::1:role/oncall", t(5));
    let denied = moved(l.answer(&no).await.expect("answer")).state;
    assert!(matches!(denied, State::Denied { .. }), "{denied:?}");
    let yes = answer(
        nonce(2),
        Verdict::Approve,
        "arn:aws:iam::1:role/oncall",
        t(6),
    );
    assert_eq!(
        refused(l.answer(&yes).await.expect("answer")),
        Refused::AlreadyDecided(denied)
    );
}

async fn an_answer_at_the_expiry_is_refused_and_the_expiry_moves_a_pending_proposal_once<
    L: LedgerPorts,
>(
    l: &L,
) {
    l.propose(&proposal("k", nonce(1), t(0)))
        .await
        .expect("propose");
    let expires_at = t(minutes(15));
    // Before the expiry, the expiry's one-shot changes nothing.
    assert_eq!(
        refused(
            l.expire(&nonce(1), expires_at - Duration::milliseconds(1))
                .await
                .expect("expire")
        ),
        Refused::NotYetExpired { expires_at }
    );
    // An answer a millisecond before the expiry would be in time; at the expiry it is late.
    let late = answer(
        nonce(1),
        Verdict::Approve,
        "arn:aws:iam::1:role/oncall",
        expires_at,
    );
    assert_eq!(
        refused(l.answer(&late).await.expect("answer")),
        Refused::Expired { expires_at }
    );
    let expired = moved(l.expire(&nonce(1), expires_at).await.expect("expire"));
    assert_eq!(expired.state, State::Expired { at: expires_at });
    assert_eq!(
        refused(
            l.expire(&nonce(1), expires_at + Duration::seconds(1))
                .await
                .expect("expire")
        ),
        Refused::AlreadyDecided(State::Expired { at: expires_at })
    );
    l.propose(&proposal("k2", nonce(2), t(0)))
        .await
        .expect("propose");
    let in_time = answer(
        nonce(2),
        Verdict::Approve,
        "arn:aws:iam::1:role/oncall",
        expires_at - Duration::milliseconds(1),
    );
    assert!(matches!(
        moved(l.answer(&in_time).await.expect("answer")).state,
        State::Approved { .. }
    ));
}

async fn an_unknown_nonce_is_refused_and_changes_nothing<L: LedgerPorts>(l: &L) {
    l.propose(&proposal("k", nonce(1), t(0)))
        .await
        .expect("propose");
    let stranger = answer(
        nonce(9),
        Verdict::Approve,
        "arn:aws:iam::1:role/oncall",
        t(1),
    );
    assert_eq!(
        refused(l.answer(&stranger).await.expect("answer")),
        Refused::UnknownNonce
    );
    assert_eq!(
        refused(l.expire(&nonce(9), t(minutes(30))).await.expect("expire")),
        Refused::UnknownNonce
    );
    assert_eq!(l.proposal(&nonce(9)).await, Ok(None));
    let read = l.proposal(&nonce(1)).await.expect("read").expect("stored");
    assert_eq!(read.state, State::Pending);
}

async fn an_approved_proposal_concludes_once<L: LedgerPorts>(l: &L) {
    l.propose(&proposal("k", nonce(1), t(0)))
        .await
        .expect("propose");
    assert_eq!(l.conclude(&nonce(1), "done").await, Ok(false), "pending");
    let yes = answer(
        nonce(1),
        Verdict::Approve,
        "arn:aws:iam::1:role/oncall",
        t(5),
    );
    assert_eq!(moved(l.answer(&yes).await.expect("answer")).concluded, None);
    assert_eq!(l.conclude(&nonce(1), "done").await, Ok(true));
    assert_eq!(l.conclude(&nonce(1), "held").await, Ok(false), "once");
    let read = l.proposal(&nonce(1)).await.expect("read").expect("stored");
    assert_eq!(read.concluded.as_deref(), Some("done"));
    assert!(matches!(read.state, State::Approved { .. }));
    l.propose(&proposal("k2", nonce(2), t(0)))
        .await
        .expect("propose");
    let no = answer(nonce(2), Verdict::Deny, "arn:aws:iam::1:role/oncall", t(5));
    l.answer(&no).await.expect("answer");
    assert_eq!(l.conclude(&nonce(2), "done").await, Ok(false), "denied");
    assert_eq!(l.conclude(&nonce(9), "done").await, Ok(false), "unknown");
}
