//! A follow-up — a verification's verdict, a recover's escalation — goes out once, however often its schedule is
//! delivered (EventBridge Scheduler delivers at least once: now and then twice). It has its own record in the ledger's
//! incident records, under a key derived from what it follows: claimed before it is published, completed after. A
//! second delivery finds it completed and publishes nothing; one that finds it in progress is delivered again after the
//! lease. Without the ledger (or with it failing) the follow-up goes out anyway: the same message twice is better than
//! none.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::outbox::Gate;
use super::{HandleError, Responder};
use crate::budget::Budget;
use crate::message::SnsMessage;
use crate::ports::{Claim, Completion};

/// What the follow-up's record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Once {
    /// Publish it; `recorded`: this delivery holds its record (complete it once published, release it on failure).
    Go { recorded: bool },
    /// An earlier delivery published it.
    Sent,
}

impl Responder {
    /// Claim follow-up `key`. Another delivery holding it is an `InProgress` error: the event comes again after that
    /// delivery's lease.
    pub(super) async fn follow_up_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Once, HandleError> {
        match self.claim(key, now, budget).await {
            None => Ok(Once::Go { recorded: false }),
            Some(Ok(Claim::Claimed | Claim::Resumed { .. })) => Ok(Once::Go { recorded: true }),
            Some(Ok(Claim::Duplicate)) => Ok(Once::Sent),
            Some(Ok(Claim::InProgress { until })) => Err(HandleError::InProgress {
                incident_key: key.to_string(),
                until,
            }),
            Some(Err(e)) => {
                warn!(follow_up = %key, error = %e, "follow-up record unavailable: publishing without it");
                Ok(Once::Go { recorded: false })
            }
        }
    }

    /// The follow-up's publish ended: its record is completed when it went out, released when it did not (so that
    /// Lambda's retry publishes it at once).
    pub(super) async fn follow_up_done(
        &self,
        key: &str,
        once: Once,
        message_id: Option<&str>,
        now: DateTime<Utc>,
        budget: &Budget,
    ) {
        if once != (Once::Go { recorded: true }) {
            return;
        }
        match message_id {
            Some(id) => {
                let done = Completion {
                    message_id: Some(id.to_string()),
                    outcome: "follow-up".into(),
                    az_report: false,
                };
                self.complete(key, now, &done, budget).await;
            }
            None => self.release(key, now, budget).await,
        }
    }
}

/// What became of a follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum FollowUp {
    /// Published now (its message id; `None` without a delivery).
    Published(Option<String>),
    /// An earlier delivery published it: nothing now.
    AlreadySent,
}

impl Responder {
    /// Publish follow-up `message` once under record `key`, in the incident's thread (a message that goes out on its
    /// own: it waits briefly for a slot of the gate, never for a digest).
    pub(super) async fn send_follow_up(
        &self,
        key: &str,
        message: &SnsMessage,
        what: &'static str,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<FollowUp, HandleError> {
        let Some((outbox, topic)) = self.outbox() else {
            return Ok(FollowUp::Published(None));
        };
        let once = self.follow_up_once(key, now, budget).await?;
        if once == Once::Sent {
            info!(follow_up = %key, "follow-up published already by an earlier delivery");
            return Ok(FollowUp::AlreadySent);
        }
        let sent = outbox
            .send(topic, message, Gate::Bounded(what), Duration::ZERO, budget)
            .await;
        self.follow_up_done(
            key,
            once,
            sent.as_ref().ok().map(String::as_str),
            now,
            budget,
        )
        .await;
        sent.map(|id| FollowUp::Published(Some(id)))
            .map_err(HandleError::Publish)
    }
}
