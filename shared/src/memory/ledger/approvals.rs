//! Proposed actions (`approve` mode), as `DynamoLedger` keeps them: the proposal item and the incident's pointer to it
//! put together only if neither exists, and each move one conditional update on the state and the expiry (compared in
//! epoch milliseconds, as stored).

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::{expiry, MemoryLedger, ProposalItem};
use crate::memory::{locked, time_of};
use crate::ports::{Approvals, AwsError, Moved, Proposal, StoredProposal};
use crate::remediation::approval::{self, Answer, Nonce, State, Verdict};

/// How long a proposal's items live after its expiry (for the look-back).
pub(crate) const PROPOSAL_TTL: Duration = Duration::days(7);

/// A time as the adapter stores it: to the millisecond.
fn ms(t: DateTime<Utc>) -> DateTime<Utc> {
    time_of(&crate::memory::stamp(t)).unwrap_or(t)
}

impl ProposalItem {
    fn stored(&self) -> StoredProposal {
        StoredProposal {
            proposal: self.proposal.clone(),
            state: self.state.clone(),
            concluded: self.concluded.clone(),
        }
    }
}

#[async_trait]
impl Approvals for MemoryLedger {
    async fn propose(&self, proposal: &Proposal) -> Result<Option<StoredProposal>, AwsError> {
        let mut state = locked(&self.state);
        let nonce = proposal.pending.nonce.to_string();
        let existing = state
            .proposal_of
            .get(&proposal.pending.incident_key)
            .cloned()
            .or_else(|| state.proposals.contains_key(&nonce).then(|| nonce.clone()));
        if let Some(n) = existing {
            return Ok(state.proposals.get(&n).map(ProposalItem::stored));
        }
        let mut p = proposal.clone();
        p.pending.requested_at = ms(p.pending.requested_at);
        p.pending.expires_at = ms(p.pending.expires_at);
        let expires_at = expiry(p.pending.expires_at, PROPOSAL_TTL);
        state
            .proposal_of
            .insert(p.pending.incident_key.clone(), nonce.clone());
        state.proposals.insert(
            nonce,
            ProposalItem {
                proposal: p,
                state: State::Pending,
                concluded: None,
                expires_at,
            },
        );
        Ok(None)
    }

    async fn proposal(&self, nonce: &Nonce) -> Result<Option<StoredProposal>, AwsError> {
        Ok(locked(&self.state)
            .proposals
            .get(&nonce.to_string())
            .map(ProposalItem::stored))
    }

    async fn answer(&self, a: &Answer) -> Result<Moved, AwsError> {
        let mut state = locked(&self.state);
        let Some(item) = state.proposals.get_mut(&a.nonce.to_string()) else {
            return Ok(Moved::Refused(approval::Refused::UnknownNonce));
        };
        let at = ms(a.at);
        if item.state != State::Pending || at >= item.proposal.pending.expires_at {
            return Ok(Moved::Refused(approval::refusal(
                &item.proposal.pending,
                &item.state,
                false,
            )));
        }
        item.state = match a.verdict {
            Verdict::Approve => State::Approved {
                by: a.by.clone(),
                at,
            },
            Verdict::Deny => State::Denied {
                by: a.by.clone(),
                at,
            },
        };
        Ok(Moved::Moved(Box::new(item.stored())))
    }

    async fn expire(&self, nonce: &Nonce, now: DateTime<Utc>) -> Result<Moved, AwsError> {
        let mut state = locked(&self.state);
        let Some(item) = state.proposals.get_mut(&nonce.to_string()) else {
            return Ok(Moved::Refused(approval::Refused::UnknownNonce));
        };
        let now = ms(now);
        if item.state != State::Pending || now < item.proposal.pending.expires_at {
            return Ok(Moved::Refused(approval::refusal(
                &item.proposal.pending,
                &item.state,
                true,
            )));
        }
        item.state = State::Expired { at: now };
        Ok(Moved::Moved(Box::new(item.stored())))
    }

    async fn conclude(&self, nonce: &Nonce, outcome: &str) -> Result<bool, AwsError> {
        let mut state = locked(&self.state);
        let Some(item) = state.proposals.get_mut(&nonce.to_string()) else {
            return Ok(false);
        };
        if !matches!(item.state, State::Approved { .. }) || item.concluded.is_some() {
            return Ok(false);
        }
        item.concluded = Some(outcome.to_string());
        Ok(true)
    }
}
