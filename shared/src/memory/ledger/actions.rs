//! The action record and the safety envelope, as `DynamoLedger`'s one transaction makes them: every condition holds
//! and every write happens, or none does and the reads after it say which hold (or earlier record) explains it.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{expiry, since, Action, Counter, Lock, MemoryLedger, State, ACTION_LOCK};
use crate::config::Envelope;
use crate::memory::{condition_failed, from_epoch, later, locked, stamp, time_of};
use crate::ports::{
    ActionLedger, ActionRecord, AwsError, ErrorKind, Grant, ImpairmentLog, Progress, RecordedAction,
};
use crate::remediation::{Hold, LedgerView};

/// How long the action's record, the lock item, the counters and the history live.
const ACTION_TTL: Duration = Duration::days(2);

/// The day and hour counters' sort keys.
fn periods(at: DateTime<Utc>) -> (String, String) {
    (
        at.format("%Y-%m-%d").to_string(),
        at.format("%Y-%m-%dT%H").to_string(),
    )
}

/// A cap as the counter's condition compares it.
fn cap_of(cap: usize) -> i64 {
    i64::try_from(cap).unwrap_or(i64::MAX)
}

/// The daily and the hourly counter's keys.
fn counter_keys(action: &ActionRecord, day: &str, hour: &str) -> [(String, String); 2] {
    [
        (format!("cap#instance#{}", action.instance_id), day.into()),
        ("cap#account".into(), hour.into()),
    ]
}

impl State {
    /// Whether every condition of the transaction holds: no record of this incident's action, the lock free or
    /// past its `until`, both counters below their cap, and no AZ event open in the action's AZ.
    fn transaction_holds(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
        day: &str,
        hour: &str,
    ) -> bool {
        let now = action.at.timestamp();
        let [daily, hourly] = counter_keys(action, day, hour);
        let below = |k: &(String, String), cap: usize| {
            self.counters.get(k).is_none_or(|c| c.n < cap_of(cap))
        };
        !self.actions.contains_key(&action.incident_key)
            && self
                .locks
                .get(&action.instance_id)
                .is_none_or(|l| l.until < now)
            && below(&daily, envelope.daily_cap)
            && below(&hourly, envelope.hourly_cap)
            && action
                .availability_zone
                .as_ref()
                .and_then(|az| self.az_events.get(az))
                .is_none_or(|e| e.until < now)
    }

    /// Every write of the transaction.
    fn apply(&mut self, action: &ActionRecord, envelope: &Envelope, day: &str, hour: &str) {
        let at = action.at;
        let expires_at = expiry(at, ACTION_TTL);
        self.actions.insert(
            action.incident_key.clone(),
            Action {
                owner: action.owner.clone(),
                instance: action.instance_id.clone(),
                action: action.action,
                progress: Progress::Started,
                at: stamp(at),
                expires_at,
            },
        );
        self.locks.insert(
            action.instance_id.clone(),
            Lock {
                incident: action.incident_key.clone(),
                until: later(at, envelope.cooldown.max(ACTION_LOCK)).timestamp(),
                at: stamp(at),
                expires_at,
            },
        );
        for k in counter_keys(action, day, hour) {
            let c = self
                .counters
                .entry(k)
                .or_insert(Counter { n: 0, expires_at });
            c.n += 1;
            c.expires_at = expires_at;
        }
        let sk = format!("{}#{}", stamp(at), action.incident_key);
        self.history.insert(
            (format!("instance#{}", action.instance_id), sk.clone()),
            expires_at,
        );
        self.history.insert(("account".into(), sk), expires_at);
    }

    /// The adapter's reads after a cancelled transaction: this incident's record, else the holds in force at the
    /// action's instant (compared at full precision, unlike the transaction's epoch seconds). `None` when nothing
    /// explains the cancellation.
    fn why_refused(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
        day: &str,
        hour: &str,
    ) -> Option<Grant> {
        let now = action.at;
        if let Some(r) = self.actions.get(&action.incident_key) {
            // Our own record: the transaction had committed and its answer was lost.
            if r.owner == action.owner {
                return Some(Grant::Granted);
            }
            return Some(Grant::Recorded(r.recorded()));
        }
        let mut holds = Vec::new();
        if let Some(l) = self.locks.get(&action.instance_id) {
            if let Some(until) = from_epoch(l.until).filter(|u| *u >= now) {
                let last = time_of(&l.at).unwrap_or(now);
                let cooldown_until = later(last, envelope.cooldown);
                holds.push(if cooldown_until >= now {
                    Hold::Cooldown {
                        last,
                        until: cooldown_until,
                    }
                } else {
                    Hold::InstanceBusy {
                        incident: l.incident.clone(),
                        until,
                    }
                });
            }
        }
        let [daily, hourly] = counter_keys(action, day, hour);
        let count = |k| {
            self.counters
                .get(&k)
                .map_or(0, |c| usize::try_from(c.n).unwrap_or(0))
        };
        if count(daily) >= envelope.daily_cap {
            holds.push(Hold::DailyCap {
                cap: envelope.daily_cap,
            });
        }
        if count(hourly) >= envelope.hourly_cap {
            holds.push(Hold::HourlyCap {
                cap: envelope.hourly_cap,
            });
        }
        let event = action
            .availability_zone
            .as_ref()
            .and_then(|az| self.az_events.get(az));
        if let Some(e) = event.filter(|e| from_epoch(e.until).is_some_and(|u| u >= now)) {
            holds.push(Hold::AzEvent {
                impaired: e.instances.len().max(crate::analyze::AZ_EVENT_INSTANCES),
            });
        }
        (!holds.is_empty()).then_some(Grant::Refused(holds))
    }
}

#[async_trait]
impl ActionLedger for MemoryLedger {
    async fn view(
        &self,
        incident_key: &str,
        instance_id: &str,
        availability_zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<LedgerView, AwsError> {
        let az = match availability_zone {
            Some(az) => self.impairments(az, now).await?,
            None => Vec::new(),
        };
        let state = locked(&self.state);
        let pk = format!("instance#{instance_id}");
        let mut instance_actions: Vec<DateTime<Utc>> =
            since(&state.history, &pk, now - Duration::hours(24))
                .filter_map(|(sk, _)| time_of(sk))
                .collect();
        instance_actions.sort_by(|a, b| b.cmp(a));
        Ok(LedgerView {
            this_incident_action: state.actions.get(incident_key).map(|a| a.recorded().at),
            instance_actions,
            account_actions_last_hour: since(&state.history, "account", now - Duration::hours(1))
                .count(),
            az_impaired: crate::ports::others_in_az(&az, instance_id),
            same_instance: crate::ports::same_instance(&az, instance_id, incident_key),
        })
    }

    async fn record_action(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
    ) -> Result<Grant, AwsError> {
        // A cap of 0 refuses every action before anything is read (as the adapter does).
        let zero = crate::remediation::zero_cap_holds(envelope);
        if !zero.is_empty() {
            return Ok(Grant::Refused(zero));
        }
        let (day, hour) = periods(action.at);
        let mut state = locked(&self.state);
        if state.transaction_holds(action, envelope, &day, &hour) {
            state.apply(action, envelope, &day, &hour);
            return Ok(Grant::Granted);
        }
        // Nothing changes between the adapter's attempts here: what explains none of them explains none of four.
        state
            .why_refused(action, envelope, &day, &hour)
            .ok_or_else(|| {
                AwsError::new(
                    "dynamodb",
                    "TransactWriteItems",
                    "the action transaction kept conflicting with concurrent writers",
                )
                .with_code("TransactionConflict", ErrorKind::Conflict)
                .retryable(true)
            })
    }

    async fn progress(&self, incident_key: &str, progress: &Progress) -> Result<(), AwsError> {
        let mut state = locked(&self.state);
        let a = state
            .actions
            .get_mut(incident_key)
            .ok_or_else(|| condition_failed("UpdateItem"))?;
        a.progress = progress.clone();
        Ok(())
    }

    async fn recorded_action(
        &self,
        incident_key: &str,
    ) -> Result<Option<RecordedAction>, AwsError> {
        Ok(locked(&self.state)
            .actions
            .get(incident_key)
            .map(Action::recorded))
    }
}
