//! [`MemoryLedger`]: the ledger's three ports in memory, item for item the table of
//! `ec2ops_aws::DynamoLedger`.

mod actions;
mod approvals;
mod claims;
mod impairments;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use super::{from_epoch, locked, stamp, time_of};
use crate::ports::{Progress, RecordedAction};
use crate::remediation::ActionKind;

/// The least time the per-instance lock is held after an action (the adapter's `ACTION_LOCK`).
const ACTION_LOCK: Duration = Duration::minutes(20);
/// The AZ-EVENT window (the adapter's `AZ_WINDOW`).
const AZ_WINDOW: Duration = Duration::minutes(10);

/// The ledger in memory: a model of `ec2ops_aws::DynamoLedger` for unit tests and the simulation.
///
/// It keeps the adapter's items (incident records with their lease, action records, the per-instance lock, the
/// daily and hourly counters, the action history, impairments per AZ, AZ events, impairment notes) and applies the
/// adapter's condition expressions to them: the claim lifecycle absent → `IN_PROGRESS` with a lease → `COMPLETED`,
/// and the one all-or-nothing transaction of [`record_action`](crate::ports::ActionLedger::record_action), with
/// the same answers, holds and stored precision (stamps to the millisecond, leases and expiries to the second).
///
/// It does not model: DynamoDB's throttling, errors or latency (callers inject faults around it), transaction
/// conflicts between concurrent writers (each call is one atomic step, so the adapter's retries never happen),
/// and the background TTL deletion, which only [`MemoryLedger::sweep_ttl`] performs.
#[derive(Default)]
pub struct MemoryLedger {
    state: Mutex<State>,
}

/// Where a claimed incident stands ([`MemoryLedger::incident_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStatus {
    InProgress,
    Completed,
}

/// The table, one map per kind of item; keys are the adapter's partition and sort keys.
#[derive(Default)]
struct State {
    /// `incident#<key>`.
    incidents: HashMap<String, Incident>,
    /// `action#<key>`.
    actions: BTreeMap<String, Action>,
    /// `lock#<instance>`.
    locks: HashMap<String, Lock>,
    /// `cap#instance#<id>` / `<UTC day>` and `cap#account` / `<UTC hour>`.
    counters: HashMap<(String, String), Counter>,
    /// `instance#<id>` and `account` / `<time>#<key>`, to their expiry.
    history: BTreeMap<(String, String), i64>,
    /// `az#<az>` / `<time>#<instance>#<check>`.
    az: BTreeMap<(String, String), Noted>,
    /// `azevent#<az>`.
    az_events: HashMap<String, AzEvent>,
    /// `impaired#<id>#<check>`.
    impaired: HashMap<String, Note>,
    /// `approval#<nonce>`.
    proposals: HashMap<String, ProposalItem>,
    /// `proposal#<incident key>`: the nonce of the incident's one proposal.
    proposal_of: HashMap<String, String>,
}

/// `approval#<nonce>`: a proposed action and where it stands (times to the millisecond, as stored).
struct ProposalItem {
    proposal: crate::ports::Proposal,
    state: crate::remediation::approval::State,
    concluded: Option<String>,
    expires_at: i64,
}

/// `incident#<key>`. Only a claim writes `claim` and only `complete` writes `completion`, so the record is
/// `COMPLETED` exactly when `completion` is set and `IN_PROGRESS` otherwise (then always with a claim).
struct Incident {
    claim: Option<Lease>,
    completion: Option<Done>,
    expires_at: i64,
}

/// The claim's attributes.
struct Lease {
    /// Epoch seconds.
    lease: i64,
    attempts: i64,
    claimant: i64,
    /// The first claim's stamp.
    at: String,
}

/// The completion's attributes (`message_id` is `-` when nothing was published, as stored).
struct Done {
    message_id: String,
    outcome: String,
    az_report: bool,
}

/// `action#<key>`.
struct Action {
    owner: String,
    instance: String,
    action: ActionKind,
    progress: Progress,
    at: String,
    expires_at: i64,
}

/// `lock#<instance>`.
struct Lock {
    incident: String,
    /// Epoch seconds.
    until: i64,
    at: String,
    expires_at: i64,
}

/// A cap's counter.
struct Counter {
    n: i64,
    expires_at: i64,
}

/// An impairment's attributes beside its sort key.
struct Noted {
    incident: String,
    expires_at: i64,
}

/// `impaired#<id>#<check>`: when the report went out.
struct Note {
    at: String,
    expires_at: i64,
}

/// `azevent#<az>`.
struct AzEvent {
    incident: String,
    /// Epoch seconds.
    until: i64,
    instances: Vec<String>,
    expires_at: i64,
}

impl Incident {
    fn status(&self) -> IncidentStatus {
        match self.completion {
            Some(_) => IncidentStatus::Completed,
            None => IncidentStatus::InProgress,
        }
    }
}

impl Action {
    fn recorded(&self) -> RecordedAction {
        RecordedAction {
            owner: self.owner.clone(),
            instance_id: self.instance.clone(),
            at: time_of(&self.at).unwrap_or_default(),
            action: self.action,
            progress: self.progress.clone(),
        }
    }
}

/// `t + ttl` in epoch seconds: an item's `expires_at`.
fn expiry(t: DateTime<Utc>, ttl: Duration) -> i64 {
    super::later(t, ttl).timestamp()
}

/// The sort keys of partition `pk` from `since` on (the adapter's `sk >= :since` query), in order.
fn since<'a, V>(
    items: &'a BTreeMap<(String, String), V>,
    pk: &'a str,
    since: DateTime<Utc>,
) -> impl Iterator<Item = (&'a String, &'a V)> + 'a {
    items
        .range((pk.to_string(), stamp(since))..)
        .take_while(move |((p, _), _)| p == pk)
        .map(|((_, sk), v)| (sk, v))
}

impl MemoryLedger {
    /// The incident record's status and lease (`None` for a record `complete` wrote without a claim), if any.
    pub fn incident_status(
        &self,
        incident_key: &str,
    ) -> Option<(IncidentStatus, Option<DateTime<Utc>>)> {
        let state = locked(&self.state);
        let i = state.incidents.get(incident_key)?;
        let lease = i.claim.as_ref().and_then(|c| from_epoch(c.lease));
        Some((i.status(), lease))
    }

    /// Incidents left `IN_PROGRESS`, with their lease, sorted by key: what crashed deliveries left behind.
    pub fn left_in_progress(&self) -> Vec<(String, DateTime<Utc>)> {
        let state = locked(&self.state);
        let mut v: Vec<(String, DateTime<Utc>)> = state
            .incidents
            .iter()
            .filter(|(_, i)| i.status() == IncidentStatus::InProgress)
            .filter_map(|(k, i)| Some((k.clone(), from_epoch(i.claim.as_ref()?.lease)?)))
            .collect();
        v.sort();
        v
    }

    /// Every recorded action, by incident key.
    pub fn actions(&self) -> Vec<(String, RecordedAction)> {
        let state = locked(&self.state);
        state
            .actions
            .iter()
            .map(|(k, a)| (k.clone(), a.recorded()))
            .collect()
    }

    /// The incident holding the instance's lock and until when, expired or not, while the item exists.
    pub fn lock_holder(&self, instance_id: &str) -> Option<(String, DateTime<Utc>)> {
        let state = locked(&self.state);
        let l = state.locks.get(instance_id)?;
        Some((l.incident.clone(), from_epoch(l.until)?))
    }

    /// Delete every item whose TTL (`expires_at`) is before `now`, as DynamoDB's background process eventually
    /// does; nothing else deletes items.
    pub fn sweep_ttl(&self, now: DateTime<Utc>) {
        let now = now.timestamp();
        let mut state = locked(&self.state);
        state.incidents.retain(|_, i| i.expires_at >= now);
        state.actions.retain(|_, a| a.expires_at >= now);
        state.locks.retain(|_, l| l.expires_at >= now);
        state.counters.retain(|_, c| c.expires_at >= now);
        state.history.retain(|_, e| *e >= now);
        state.az.retain(|_, i| i.expires_at >= now);
        state.az_events.retain(|_, e| e.expires_at >= now);
        state.impaired.retain(|_, n| n.expires_at >= now);
        state.proposals.retain(|_, p| p.expires_at >= now);
        let State {
            proposals,
            proposal_of,
            ..
        } = &mut *state;
        proposal_of.retain(|_, nonce| proposals.contains_key(nonce));
    }
}
