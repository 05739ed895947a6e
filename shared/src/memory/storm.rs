//! [`MemoryStorm`]: the storm ports in memory, item for item the storm items of
//! `ec2ops_aws::DynamoStorm`.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{from_epoch, later, locked, stamp};
use crate::ports::AwsError;
use crate::report::digest::DigestEntry;
use crate::storm::{
    hours, Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
    GATE_TTL, LOG_RETENTION,
};

/// How long a window's buffer and flush record live (the adapter's `DIGEST_TTL`).
const DIGEST_TTL: Duration = Duration::days(2);

/// The storm store in memory: a model of `ec2ops_aws::DynamoStorm` for unit tests and the
/// simulation.
///
/// It keeps the adapter's items — the publish gate's counter per second, each storm window's flush record (scheduled,
/// closed with a lease, published) and its entries, the look-back log's hourly index and full records — and applies
/// the adapter's conditions to them. Entries and logged incidents are stored as the adapter stores them, serialized,
/// so what reads back is what the adapter would read back.
///
/// It does not model: DynamoDB's throttling, errors or latency (callers inject faults around it), transaction
/// conflicts between concurrent buffers and a flush (each call is one atomic step), Query pagination, and the
/// background TTL deletion, which only [`MemoryStorm::sweep_ttl`] performs.
#[derive(Default)]
pub struct MemoryStorm {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// `gate#<second>`.
    gates: BTreeMap<i64, Expiring<i64>>,
    /// `digest#<window>` / `-`, by window id.
    flushes: HashMap<String, Flush>,
    /// `digest#<window>` / `entry#<key>`: the entry's JSON.
    entries: BTreeMap<(String, String), Expiring<String>>,
    /// `log#<UTC hour>` / `<time>#<key>`: the listed incident's JSON (without its report).
    index: BTreeMap<(String, String), Expiring<String>>,
    /// `log#incident#<key>`: the incident's JSON with its report.
    full: HashMap<String, Expiring<String>>,
}

/// An item's one attribute that matters here, and its TTL.
struct Expiring<T> {
    value: T,
    expires_at: i64,
}

/// A window's flush record. Every attribute is optional: `note_scheduled`, `close` and `published` each create it
/// when it is absent, and `published` sets no expiry.
#[derive(Default)]
struct Flush {
    scheduled: bool,
    closed: bool,
    /// Epoch seconds.
    lease: Option<i64>,
    message_id: Option<String>,
    expires_at: Option<i64>,
}

fn build_error(op: &'static str, e: impl std::fmt::Display) -> AwsError {
    AwsError::new("dynamodb", op, e.to_string())
}

/// A stored body back as its value (the adapter's `decode`).
fn decode<T: serde::de::DeserializeOwned>(body: &str, op: &'static str) -> Result<T, AwsError> {
    serde_json::from_str(body).map_err(|e| build_error(op, format!("unreadable stored item: {e}")))
}

fn window_expiry(window: &Window) -> i64 {
    later(window.start, DIGEST_TTL).timestamp()
}

/// The look-back log's partition of `t`'s hour.
fn log_pk(t: DateTime<Utc>) -> String {
    format!(
        "log#{}",
        Window::of(t, Duration::hours(1))
            .start
            .format("%Y-%m-%dT%H")
    )
}

impl MemoryStorm {
    /// How many publishes the gate admitted in the UTC second `second` (0 when none, or its counter was swept).
    pub fn admitted(&self, second: i64) -> u32 {
        let state = locked(&self.state);
        state
            .gates
            .get(&second)
            .map_or(0, |g| u32::try_from(g.value).unwrap_or(u32::MAX))
    }

    /// Every second with a gate counter and what it admitted, oldest first.
    pub fn admissions(&self) -> BTreeMap<i64, u32> {
        let state = locked(&self.state);
        state
            .gates
            .iter()
            .map(|(s, g)| (*s, u32::try_from(g.value).unwrap_or(u32::MAX)))
            .collect()
    }

    /// The SNS message id of the window's published digest, if recorded.
    pub fn published_digest(&self, window: &Window) -> Option<String> {
        let state = locked(&self.state);
        state.flushes.get(&window.id())?.message_id.clone()
    }

    /// Delete every item whose TTL (`expires_at`) is before `now`, as DynamoDB's background process eventually
    /// does; nothing else deletes items.
    pub fn sweep_ttl(&self, now: DateTime<Utc>) {
        let now = now.timestamp();
        let mut state = locked(&self.state);
        state.gates.retain(|_, g| g.expires_at >= now);
        state
            .flushes
            .retain(|_, f| f.expires_at.is_none_or(|e| e >= now));
        state.entries.retain(|_, e| e.expires_at >= now);
        state.index.retain(|_, e| e.expires_at >= now);
        state.full.retain(|_, e| e.expires_at >= now);
    }
}

#[async_trait]
impl PublishGate for MemoryStorm {
    async fn admit(&self, second: i64, limit: u32) -> Result<bool, AwsError> {
        let at = DateTime::from_timestamp(second, 0).unwrap_or_default();
        let mut state = locked(&self.state);
        // `attribute_not_exists(#n) OR #n < :limit`: an absent counter admits, whatever the limit.
        if let Some(g) = state.gates.get(&second) {
            if g.value >= i64::from(limit) {
                return Ok(false);
            }
        }
        let gate = state.gates.entry(second).or_insert(Expiring {
            value: 0,
            expires_at: 0,
        });
        gate.value += 1;
        gate.expires_at = later(at, GATE_TTL).timestamp();
        Ok(true)
    }
}

#[async_trait]
impl DigestBuffer for MemoryStorm {
    async fn buffer(&self, window: &Window, entry: &DigestEntry) -> Result<Buffered, AwsError> {
        let body =
            serde_json::to_string(entry).map_err(|e| build_error("TransactWriteItems", e))?;
        let mut state = locked(&self.state);
        if state.flushes.get(&window.id()).is_some_and(|f| f.closed) {
            return Ok(Buffered::Closed);
        }
        state.entries.insert(
            (window.id(), format!("entry#{}", entry.incident_key)),
            Expiring {
                value: body,
                expires_at: window_expiry(window),
            },
        );
        Ok(Buffered::Added)
    }

    async fn flush_scheduled(&self, window: &Window) -> Result<bool, AwsError> {
        let state = locked(&self.state);
        Ok(state.flushes.get(&window.id()).is_some_and(|f| f.scheduled))
    }

    async fn note_scheduled(&self, window: &Window) -> Result<(), AwsError> {
        let mut state = locked(&self.state);
        let flush = state.flushes.entry(window.id()).or_default();
        flush.scheduled = true;
        flush.expires_at = Some(window_expiry(window));
        Ok(())
    }

    async fn close(
        &self,
        window: &Window,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<FlushClaim, AwsError> {
        let mut state = locked(&self.state);
        let flush = state.flushes.entry(window.id()).or_default();
        // `attribute_not_exists(message_id) AND (attribute_not_exists(lease) OR lease < :now)`, epoch seconds.
        if flush.message_id.is_none() && flush.lease.is_none_or(|l| l < now.timestamp()) {
            flush.closed = true;
            flush.lease = Some(lease_until.timestamp());
            flush.expires_at = Some(window_expiry(window));
            return Ok(FlushClaim::Claimed);
        }
        Ok(match &flush.message_id {
            Some(message_id) => FlushClaim::Published {
                message_id: message_id.clone(),
            },
            None => FlushClaim::InProgress {
                until: flush.lease.and_then(from_epoch).unwrap_or(now),
            },
        })
    }

    async fn entries(&self, window: &Window) -> Result<Vec<DigestEntry>, AwsError> {
        let state = locked(&self.state);
        let id = window.id();
        state
            .entries
            .range((id.clone(), String::new())..)
            .take_while(|((w, _), _)| *w == id)
            .map(|(_, e)| decode(&e.value, "Query"))
            .collect()
    }

    async fn published(
        &self,
        window: &Window,
        message_id: &str,
        _now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let mut state = locked(&self.state);
        state.flushes.entry(window.id()).or_default().message_id = Some(message_id.to_string());
        Ok(())
    }
}

#[async_trait]
impl IncidentLog for MemoryStorm {
    async fn log(&self, incident: &LoggedIncident) -> Result<(), AwsError> {
        const OP: &str = "TransactWriteItems";
        let listed = LoggedIncident {
            report: String::new(),
            ..incident.clone()
        };
        let expires_at = later(incident.at, LOG_RETENTION).timestamp();
        let listed = serde_json::to_string(&listed).map_err(|e| build_error(OP, e))?;
        let full = serde_json::to_string(incident).map_err(|e| build_error(OP, e))?;
        let sk = format!("{}#{}", stamp(incident.at), incident.incident_key);
        let mut state = locked(&self.state);
        state.index.insert(
            (log_pk(incident.at), sk),
            Expiring {
                value: listed,
                expires_at,
            },
        );
        state.full.insert(
            incident.incident_key.clone(),
            Expiring {
                value: full,
                expires_at,
            },
        );
        Ok(())
    }

    async fn list(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<LoggedIncident>, AwsError> {
        let state = locked(&self.state);
        let mut out: Vec<LoggedIncident> = Vec::new();
        for h in hours(since, until) {
            let pk = log_pk(h);
            for (_, i) in state
                .index
                .range((pk.clone(), String::new())..)
                .take_while(|((p, _), _)| *p == pk)
            {
                let l: LoggedIncident = decode(&i.value, "Query")?;
                if l.at >= since && l.at <= until {
                    out.push(l);
                }
            }
        }
        Ok(crate::storm::listed(out))
    }

    async fn show(&self, incident_key: &str) -> Result<Option<LoggedIncident>, AwsError> {
        let state = locked(&self.state);
        match state.full.get(incident_key) {
            Some(i) => decode(&i.value, "GetItem").map(Some),
            None => Ok(None),
        }
    }
}
