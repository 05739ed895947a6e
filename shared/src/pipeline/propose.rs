//! Proposing an action (`approve` mode): instead of acting, the action the envelope would take is recorded `PENDING`
//! under a random nonce (once per incident: a redelivery keeps the first nonce), with a one-shot at its expiry; the
//! report asks for the approval ([`super::approve`] handles the answer).

use crate::source::Gap;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, warn};

use super::schedule::{schedule, scheduling_time};
use super::{Actors, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::model::AlarmChange;
use crate::ports::{Proposal, StoredProposal};
use crate::remediation::approval::{expiry_event, expiry_schedule_name, Nonce, Pending, State};
use crate::remediation::{ActionKind, ActionOutcome, Hold};

/// A fresh nonce: 128 bits from the operating system's generator.
fn new_nonce() -> Result<Nonce, String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| e.to_string())?;
    Ok(Nonce::from_bytes(bytes))
}

fn held(action: ActionKind, why: Gap) -> ActionOutcome {
    ActionOutcome::Held {
        action,
        holds: vec![Hold::LedgerUnavailable { why }],
    }
}

/// Propose `action` for the incident raised by `origin` (its event): record it pending and schedule its expiry.
pub(super) async fn propose(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    origin: Option<&Value>,
    action: ActionKind,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    let (Some(approvals), Some(id)) = (&rsp.approvals, change.primary_instance()) else {
        return held(action, Gap::ApprovalsNeedLedger);
    };
    let Some(origin) = origin else {
        return held(action, Gap::NotProposable);
    };
    let nonce = match new_nonce() {
        Ok(n) => n,
        Err(e) => return held(action, Gap::NoNonce(e.to_string())),
    };
    let key = change.incident_key();
    let proposal = Proposal {
        pending: Pending::new(nonce, &key, id, action, now, rsp.settings.approval_expiry),
        account: change.account.clone(),
        region: change.region.clone(),
        thread_id: change.thread_id(),
        alarm_name: change.alarm_name.clone(),
        origin: origin.clone(),
    };
    let recorded = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "TransactWriteItems",
        approvals.propose(&proposal),
    )
    .await;
    let stored = match recorded {
        Err(e) => return held(action, Gap::ProposalNotRecorded(Box::new(e.gap()))),
        Ok(None) => StoredProposal {
            proposal,
            state: State::Pending,
            concluded: None,
        },
        // An earlier delivery of this incident proposed it: the same nonce, never a second proposal.
        Ok(Some(existing)) => existing,
    };
    announced(actors, &stored, now, budget).await
}

/// The recorded proposal, its expiry's one-shot scheduled: what the report says of it.
async fn announced(
    actors: &Actors,
    stored: &StoredProposal,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    let p = &stored.proposal.pending;
    info!(incident = %p.incident_key, nonce = %p.nonce, action = p.action.as_str(), expires = %p.expires_at, "action proposed for approval");
    let at = p.expires_at.max(scheduling_time(now, budget));
    let scheduled = schedule(
        actors,
        &expiry_schedule_name(&p.nonce),
        &expiry_event(&p.nonce),
        at,
        budget,
    )
    .await;
    let mut notes = Vec::new();
    if let Err(why) = scheduled {
        warn!(nonce = %p.nonce, %why, "the expiry's one-shot was not scheduled");
        notes.push(format!(
            "the expiry's one-shot could not be scheduled ({why}); the proposal still expires, unannounced"
        ));
    }
    if stored.state != State::Pending {
        notes.push(format!("already decided: {:?}", stored.state));
    }
    ActionOutcome::Proposed {
        action: p.action,
        nonce: p.nonce.to_string(),
        expires_at: p.expires_at,
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}
