//! Recording later: a report that went out while its incident record could not be written (the claim failed, the
//! completion failed, or an interrupted delivery's lease was found) is not left to chance. The event is delivered
//! again (a one-time schedule) carrying the message id of the report already out: that delivery claims the incident
//! and, instead of reporting it a second time, completes the record with that message id — or, when the record shows
//! an interrupted delivery that may have acted, resumes it (its report labelled "Resumed incident").

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, warn};

use super::{HandleError, Outcome, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::event::{parse, Parsed};
use crate::model::AlarmChange;
use crate::ports::{Claim, Completion};

/// The field a redelivered event carries: `{"message_id": …, "resume": true|false}`.
pub const MARK: &str = "ec2ops-reported";

/// What a redelivery to record later knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The report already out (`None` when it went into no message, e.g. a digest entry).
    pub message_id: Option<String>,
    /// Whether an interrupted delivery may have acted: then a resumed claim resumes the incident.
    pub resume: bool,
}

/// The mark of a redelivered event, if it carries one.
pub fn mark_of(event: &Value) -> Option<Mark> {
    let m = event.get(MARK)?;
    Some(Mark {
        message_id: m
            .get("message_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        resume: m.get("resume").and_then(Value::as_bool).unwrap_or(true),
    })
}

/// The event, marked.
pub fn marked(event: &Value, mark: &Mark) -> Value {
    let mut e = event.clone();
    if let Some(o) = e.as_object_mut() {
        o.insert(
            MARK.into(),
            serde_json::json!({"message_id": mark.message_id, "resume": mark.resume}),
        );
    }
    e
}

/// The event without its mark.
pub fn unmarked(event: &Value) -> Value {
    let mut e = event.clone();
    if let Some(o) = e.as_object_mut() {
        o.remove(MARK);
    }
    e
}

/// The incident a marked event is about (an alarm, or a sweep item).
fn incident_of(event: &Value, now: DateTime<Utc>) -> Option<AlarmChange> {
    match parse(event).ok()? {
        Parsed::Alarm(c) => Some(*c),
        Parsed::SweepItem(i) => Some(AlarmChange::from_sweep(&i, now)),
        _ => None,
    }
}

impl Responder {
    /// A redelivery to record a report that is already out.
    pub(super) async fn record_later(
        &self,
        event: &Value,
        mark: Mark,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Outcome, HandleError> {
        let plain = unmarked(event);
        let (Some(change), Some(ledger)) = (incident_of(&plain, now), &self.ledger) else {
            return self.dispatch(&plain, now, budget).await;
        };
        let key = change.incident_key();
        let claim = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "PutItem",
            ledger.claims.claim(&key, now, budget.lease_until()),
        )
        .await
        .map_err(HandleError::Source)?;
        match claim {
            Claim::Duplicate => Ok(Outcome::Duplicate { incident_key: key }),
            Claim::InProgress { until } => Err(HandleError::InProgress {
                incident_key: key,
                until,
            }),
            Claim::Resumed { .. } if mark.resume => {
                info!(incident = %key, "recording later: an interrupted delivery's incident, resumed");
                self.dispatch(&plain, now, budget).await
            }
            Claim::Claimed | Claim::Resumed { .. } => {
                let done = Completion {
                    message_id: mark.message_id.clone(),
                    outcome:
                        "reported before its record could be written; recorded by a redelivery"
                            .into(),
                    az_report: false,
                };
                if self.complete(&key, now, &done, budget).await {
                    info!(incident = %key, "recorded after its report went out");
                    Ok(Outcome::Duplicate { incident_key: key })
                } else {
                    warn!(incident = %key, "still not recorded: delivered again later");
                    self.release(&key, now, budget).await;
                    Err(HandleError::Released {
                        incident_key: key,
                        message_id: mark.message_id,
                        resume: mark.resume,
                        until: now,
                        outcome: None,
                        must_retry: true,
                    })
                }
            }
        }
    }
}
