//! DynamoDB attribute values as the three adapters on the ledger table (`dynamodb.rs`, `storm.rs`, `approvals.rs`)
//! write and read them: times as millisecond stamps (they sort as they compare), expiries in epoch seconds.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};

use ec2ops::ports::AwsError;

pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(crate) fn epoch(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp())
}

/// `t + d`, or `t` when that overflows.
pub(crate) fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(t)
}

pub(crate) fn key(pk: String, sk: impl Into<String>) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub(crate) fn text(i: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    i.get(k).and_then(|v| v.as_s().ok()).cloned()
}

pub(crate) fn number(i: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    i.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The time a stamp (or a sort key starting with one, `<stamp>#…`) holds.
pub(crate) fn time_of(v: &str) -> Option<DateTime<Utc>> {
    let t = v.split('#').next()?;
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A request the SDK could not build (a missing required field).
pub(crate) fn build_error(op: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::new("dynamodb", op, e.to_string())
}
