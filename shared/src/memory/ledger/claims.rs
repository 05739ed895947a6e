//! The incident record's lifecycle, as `DynamoLedger`'s conditional writes make it: put if absent, take over if
//! `IN_PROGRESS` with a lease in the past, else read who holds it.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{expiry, Done, Incident, IncidentStatus, Lease, MemoryLedger};
use crate::memory::{from_epoch, later, locked, stamp, time_of};
use crate::ports::{AwsError, Claim, Completion, IncidentClaims};

/// How long an incident record lives after its claim or its completion.
const RECORD_TTL: Duration = Duration::days(7);

/// Who wrote a claim: the claiming delivery's own instant, in nanoseconds (as the adapter stores it).
fn claimant(now: DateTime<Utc>) -> i64 {
    now.timestamp_nanos_opt()
        .unwrap_or_else(|| now.timestamp_millis())
}

/// The adapter's take-over: `#s = :progress AND #lease < :now` (epoch seconds), then `attempts + 1`.
fn take_over(i: &mut Incident, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Option<Claim> {
    if i.status() != IncidentStatus::InProgress {
        return None;
    }
    let c = i.claim.as_mut()?;
    if c.lease >= now.timestamp() {
        return None;
    }
    c.lease = lease_until.timestamp();
    c.attempts += 1;
    c.claimant = claimant(now);
    Some(Claim::Resumed {
        attempt: u32::try_from(c.attempts).unwrap_or(2),
        first_claimed: time_of(&c.at),
    })
}

/// What a claim that could neither create nor take over the record reads in it.
fn held(i: &Incident, now: DateTime<Utc>, lease_until: DateTime<Utc>) -> Claim {
    match (&i.completion, &i.claim) {
        // Our own write, whose answer was lost: the claim is ours.
        (None, Some(c)) if c.claimant == claimant(now) => match u32::try_from(c.attempts) {
            Ok(attempt) if attempt > 1 => Claim::Resumed {
                attempt,
                first_claimed: time_of(&c.at),
            },
            _ => Claim::Claimed,
        },
        (None, c) => Claim::InProgress {
            until: c
                .as_ref()
                .and_then(|c| from_epoch(c.lease))
                .unwrap_or(lease_until),
        },
        (Some(_), _) => Claim::Duplicate,
    }
}

#[async_trait]
impl IncidentClaims for MemoryLedger {
    async fn claim(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        let mut state = locked(&self.state);
        let Some(i) = state.incidents.get_mut(incident_key) else {
            let record = Incident {
                claim: Some(Lease {
                    lease: lease_until.timestamp(),
                    attempts: 1,
                    claimant: claimant(now),
                    at: stamp(now),
                }),
                completion: None,
                expires_at: expiry(now, RECORD_TTL),
            };
            state.incidents.insert(incident_key.to_string(), record);
            return Ok(Claim::Claimed);
        };
        if let Some(resumed) = take_over(i, now, lease_until) {
            return Ok(resumed);
        }
        Ok(held(i, now, lease_until))
    }

    async fn complete(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        completion: &Completion,
    ) -> Result<(), AwsError> {
        // An unconditional update: it creates the record when there is none.
        let mut state = locked(&self.state);
        let i = state
            .incidents
            .entry(incident_key.to_string())
            .or_insert(Incident {
                claim: None,
                completion: None,
                expires_at: 0,
            });
        i.completion = Some(Done {
            message_id: completion.message_id.clone().unwrap_or_else(|| "-".into()),
            outcome: completion.outcome.clone(),
            az_report: completion.az_report,
        });
        i.expires_at = expiry(now, RECORD_TTL);
        Ok(())
    }

    async fn completion(&self, incident_key: &str) -> Result<Option<Completion>, AwsError> {
        let state = locked(&self.state);
        Ok(state
            .incidents
            .get(incident_key)
            .and_then(|i| i.completion.as_ref())
            .map(|d| Completion {
                message_id: Some(d.message_id.clone()).filter(|m| m != "-"),
                outcome: d.outcome.clone(),
                az_report: d.az_report,
            }))
    }

    async fn release(&self, incident_key: &str, now: DateTime<Utc>) -> Result<(), AwsError> {
        // Conditional on `IN_PROGRESS`: a completed, or absent, record is left as it is.
        let mut state = locked(&self.state);
        if let Some(i) = state.incidents.get_mut(incident_key) {
            if i.completion.is_none() {
                if let Some(c) = i.claim.as_mut() {
                    c.lease = later(now, Duration::seconds(-1)).timestamp();
                }
            }
        }
        Ok(())
    }
}
