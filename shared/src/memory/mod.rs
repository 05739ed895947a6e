//! In-memory ports for tests and simulation: the ledger ([`MemoryLedger`]), the storm store ([`MemoryStorm`]) and
//! load balancers' target groups ([`MemoryTargets`]), each a model of its adapter that a contract suite
//! (`tests/tests/emulator/contract.rs`, `tests/tests/emulator/impact.rs`) holds to the same answers as the adapter on
//! the emulator.
//!
//! What both model: the adapter's items and their conditional writes, with the same stored precision (times as
//! millisecond stamps, leases and expiries as epoch seconds) so that every comparison falls on the same side. What
//! neither models: the network, throttling and errors (callers inject faults), eventual consistency (the adapters
//! read consistently anyway), and the interleaving of an adapter's several calls — each port call here is one atomic
//! step. DynamoDB deletes items past their TTL lazily, at some time after it; the models keep them until a caller
//! runs that deletion with `sweep_ttl`, so only the expiry checks the adapters make themselves apply on their own.

mod ledger;
mod storm;
mod targets;

pub use ledger::{IncidentStatus, MemoryLedger};
pub use storm::MemoryStorm;
pub use targets::{MemoryGroup, MemoryTargets};

use chrono::{DateTime, Duration, Utc};

use crate::ports::{AwsError, ErrorKind};

/// A time as the adapters store it in an attribute or a sort key (millisecond stamp; sorts as it compares).
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The time a stamp (or a sort key starting with one) holds.
fn time_of(sk: &str) -> Option<DateTime<Utc>> {
    let t = sk.split('#').next()?;
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// `t + d`, or `t` when that overflows (as the adapters do).
fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(t)
}

/// An epoch-seconds attribute back as a time.
fn from_epoch(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

/// The error of a write whose condition failed where the adapter treats it as an error, not as an answer.
fn condition_failed(operation: &'static str) -> AwsError {
    AwsError::new("dynamodb", operation, "The conditional request failed").with_code(
        "ConditionalCheckFailedException",
        ErrorKind::ConditionFailed,
    )
}

/// The state behind a model's one mutex: a panic elsewhere while it was held leaves whole items behind (every
/// write is a plain assignment), so the poison is ignored rather than failing every later call.
fn locked<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
