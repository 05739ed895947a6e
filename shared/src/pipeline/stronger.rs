//! "Recover beats reboot": several incidents on one instance act once, and a reboot defers to a recover of the same
//! instance — but only to a recover that another incident recorded as started, never to one that was merely possible
//! (held by auto-recovery, Spot, instance store, or not corroborated).

use std::time::Duration;

use tracing::info;

use super::{Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::catalogue;
use crate::facts::{Facts, SameInstance};
use crate::ports::{Ledger, Progress};
use crate::remediation::{ActionKind, Decision, Hold};

/// How long a reboot waits for the system-check incident of the same instance to decide (both settled at the same
/// time, so it is usually decided already).
pub const DECISION_WAIT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(500);

/// What another incident of the same instance did about it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Other {
    /// It recorded a stop/start that did not fail: the reboot defers to it.
    Recovering,
    /// It completed without a stop/start, or its stop/start failed: the reboot goes ahead.
    NoRecover,
    /// Not decided yet (or unreadable): look again while the wait allows.
    Undecided,
}

impl Responder {
    /// The reboot decided for this incident, held when a system-check incident of the same instance has recorded a
    /// recover (the per-instance lock makes it one action in any case; this makes it the stronger one).
    pub(super) async fn defer_to_stronger(
        &self,
        decision: Decision,
        facts: &Facts,
        budget: &Budget,
    ) -> Decision {
        let action = match &decision {
            Decision::Act { action }
            | Decision::DryRun { action }
            | Decision::Propose { action } => *action,
            _ => return decision,
        };
        let (ActionKind::Reboot, Some(ledger)) = (action, &self.ledger) else {
            return decision;
        };
        let candidates: Vec<&SameInstance> = facts
            .ledger
            .get()
            .map(|v| {
                v.same_instance
                    .iter()
                    .filter(|s| s.check == catalogue::STATUS_CHECK_FAILED_SYSTEM)
                    .collect()
            })
            .unwrap_or_default();
        let until = tokio::time::Instant::now() + DECISION_WAIT.min(budget.spendable() / 2);
        let mut open = candidates;
        while !open.is_empty() {
            let mut undecided = Vec::new();
            for other in open {
                match what_it_did(ledger, &other.incident_key, budget).await {
                    Other::Recovering => {
                        info!(by = %other.incident_key, "reboot deferred to the recover of the same instance");
                        return Decision::Held {
                            action,
                            holds: vec![Hold::DeferredTo {
                                action: ActionKind::StopStart,
                                incident: other.incident_key.clone(),
                            }],
                        };
                    }
                    Other::NoRecover => {}
                    Other::Undecided => undecided.push(other),
                }
            }
            if undecided.is_empty() || tokio::time::Instant::now() + POLL > until {
                break;
            }
            tokio::time::sleep(POLL).await;
            open = undecided;
        }
        decision
    }
}

async fn what_it_did(ledger: &Ledger, key: &str, budget: &Budget) -> Other {
    let recorded = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "GetItem",
        ledger.actions.recorded_action(key),
    )
    .await;
    match recorded {
        Ok(Some(r)) if r.action == ActionKind::StopStart => match r.progress {
            Progress::Failed { .. } => Other::NoRecover,
            Progress::Started | Progress::Called { .. } => Other::Recovering,
        },
        Ok(Some(_)) => Other::NoRecover,
        Ok(None) => {
            let done = within(
                budget.limit(CALL_TIMEOUT),
                "dynamodb",
                "GetItem",
                ledger.claims.completion(key),
            )
            .await;
            match done {
                Ok(Some(_)) => Other::NoRecover,
                _ => Other::Undecided,
            }
        }
        Err(_) => Other::Undecided,
    }
}
