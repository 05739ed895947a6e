//! Approval from the chat (`RemediationMode=approve`, being built): an action the envelope would take is proposed,
//! recorded pending under a nonce with an expiry, and taken only when a person approves it before the expiry — and
//! only after the envelope is checked again on fresh facts. No answer means no action; a denial and an expiry are
//! final.
//!
//! This module is the pure part: the pending request, what an answer or the expiry does to it, who may answer, and the
//! verification of a request from the Slack app (its signature, its age, its payload). The ledger applies a transition
//! with a condition on the nonce and the state, so of two concurrent answers only one wins.

use chrono::{DateTime, Duration, Utc};
use hmac::{KeyInit, Mac};

use super::ActionKind;

/// How long a proposed action can be approved, unless configured.
pub const DEFAULT_EXPIRY: Duration = Duration::minutes(crate::config::DEFAULT_APPROVAL_MINUTES);
/// Slack's bound on a request's age: an older (or future) timestamp is a replay.
pub const SLACK_MAX_SKEW_SECONDS: i64 = 300;
/// The largest Slack request body read (an interactivity payload is a few KiB).
pub const SLACK_MAX_BODY: usize = 64 * 1024;

/// 128 random bits naming one pending action: the only thing an approval button carries.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Nonce([u8; 16]);

impl Nonce {
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Nonce(bytes)
    }

    /// Exactly 32 lowercase hex digits, as [`Nonce`]'s `Display` writes them.
    pub fn parse(s: &str) -> Result<Self, ApprovalError> {
        let bad =
            || ApprovalError::Payload(format!("not a nonce (32 lowercase hex digits): {s:.40}"));
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        hex::decode_to_slice(s, &mut out).map_err(|_| bad())?;
        Ok(Nonce(out))
    }
}

impl std::fmt::Display for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Nonce({self})")
    }
}

/// An action the envelope would take, waiting for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub nonce: Nonce,
    pub incident_key: String,
    pub instance_id: String,
    pub action: ActionKind,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Pending {
    pub fn new(
        nonce: Nonce,
        incident_key: &str,
        instance_id: &str,
        action: ActionKind,
        now: DateTime<Utc>,
        expiry: Duration,
    ) -> Self {
        Pending {
            nonce,
            incident_key: incident_key.to_string(),
            instance_id: instance_id.to_string(),
            action,
            requested_at: now,
            expires_at: now + expiry,
        }
    }
}

/// Who answered: the IAM role a Chatbot channel ran the custom action as (Chatbot does not say which person pressed
/// it), or the Slack user the signed request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approver {
    ChatbotRole(String),
    SlackUser(String),
}

impl std::fmt::Display for Approver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Approver::ChatbotRole(arn) => write!(f, "Chatbot channel role {arn}"),
            Approver::SlackUser(id) => write!(f, "Slack user {id}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Deny,
}

/// One answer to a proposed action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub nonce: Nonce,
    pub verdict: Verdict,
    pub by: Approver,
    pub at: DateTime<Utc>,
}

/// Where a proposed action stands. Every state but `Pending` is final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Pending,
    Approved { by: Approver, at: DateTime<Utc> },
    Denied { by: Approver, at: DateTime<Utc> },
    Expired { at: DateTime<Utc> },
}

/// Why an answer changes nothing (said in the thread and logged).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("no action is pending under this nonce")]
    UnknownNonce,
    #[error("the approval window closed at {expires_at}")]
    Expired { expires_at: DateTime<Utc> },
    #[error("the action was already decided: {0:?}")]
    AlreadyDecided(State),
    #[error("{0} may not approve actions: {1}")]
    NotAllowed(Approver, String),
    #[error("the approval window is open until {expires_at}: nothing expires yet")]
    NotYetExpired { expires_at: DateTime<Utc> },
}

/// Why `state` refuses a move of `pending` (approve, deny: `expiring` false; the expiry: true) that its condition did
/// not allow — what a ledger says after its conditional write failed.
pub fn refusal(pending: &Pending, state: &State, expiring: bool) -> Refused {
    if *state != State::Pending {
        return Refused::AlreadyDecided(state.clone());
    }
    if expiring {
        Refused::NotYetExpired {
            expires_at: pending.expires_at,
        }
    } else {
        Refused::Expired {
            expires_at: pending.expires_at,
        }
    }
}

/// What `answer` does to the pending action in `state`: its next state, or why nothing changes.
pub fn answer(pending: &Pending, state: &State, a: &Answer) -> Result<State, Refused> {
    if a.nonce != pending.nonce {
        return Err(Refused::UnknownNonce);
    }
    if *state != State::Pending {
        return Err(Refused::AlreadyDecided(state.clone()));
    }
    if a.at >= pending.expires_at {
        return Err(Refused::Expired {
            expires_at: pending.expires_at,
        });
    }
    Ok(match a.verdict {
        Verdict::Approve => State::Approved {
            by: a.by.clone(),
            at: a.at,
        },
        Verdict::Deny => State::Denied {
            by: a.by.clone(),
            at: a.at,
        },
    })
}

/// The expiry's one-shot: a still pending action expires (no answer means no action); anything decided stays.
pub fn expire(pending: &Pending, state: &State, now: DateTime<Utc>) -> Option<State> {
    (*state == State::Pending && now >= pending.expires_at).then_some(State::Expired { at: now })
}

/// Whether `by` may answer for an instance opted in by `opted_in_by` (when CloudTrail says who tagged it): a Slack user
/// must be on the approver list and must not be the person who opted the instance in; a Chatbot role must be on the
/// list of roles allowed to run the custom action.
pub fn allowed(
    by: &Approver,
    approvers: &[String],
    opted_in_by: Option<&str>,
) -> Result<(), Refused> {
    let id = match by {
        Approver::ChatbotRole(arn) | Approver::SlackUser(arn) => arn.as_str(),
    };
    if !approvers.iter().any(|a| a == id) {
        return Err(Refused::NotAllowed(
            by.clone(),
            "not on the approver list".into(),
        ));
    }
    if matches!(by, Approver::SlackUser(_)) && opted_in_by == Some(id) {
        return Err(Refused::NotAllowed(
            by.clone(),
            "the person who opted the instance in cannot approve its action".into(),
        ));
    }
    Ok(())
}

/// Why a request is not an answer at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalError {
    #[error("the Slack signature does not match the request")]
    BadSignature,
    #[error("the Slack request is {age_seconds} s from now, more than {SLACK_MAX_SKEW_SECONDS} s: a replay")]
    Stale { age_seconds: i64 },
    #[error("malformed Slack request: {0}")]
    Malformed(String),
    #[error("not an ec2ops approval: {0}")]
    Payload(String),
}

/// Verify a request from the Slack app: `X-Slack-Request-Timestamp` within [`SLACK_MAX_SKEW_SECONDS`] of `now`, and
/// `X-Slack-Signature` = `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}` under the signing secret (compared in
/// constant time).
pub fn verify_slack(
    secret: &[u8],
    timestamp: &str,
    body: &[u8],
    signature: &str,
    now: DateTime<Utc>,
) -> Result<(), ApprovalError> {
    let ts: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| ApprovalError::Malformed(format!("timestamp {timestamp:.20}")))?;
    let age = now.timestamp().saturating_sub(ts);
    if age.saturating_abs() > SLACK_MAX_SKEW_SECONDS {
        return Err(ApprovalError::Stale { age_seconds: age });
    }
    if body.len() > SLACK_MAX_BODY {
        return Err(ApprovalError::Malformed(format!(
            "a body of {} bytes (at most {SLACK_MAX_BODY})",
            body.len()
        )));
    }
    let hex_sig = signature
        .strip_prefix("v0=")
        .ok_or_else(|| ApprovalError::Malformed("a signature without v0=".into()))?;
    let mut expected = [0u8; 32];
    hex::decode_to_slice(hex_sig, &mut expected)
        .map_err(|_| ApprovalError::Malformed("a signature that is not 64 hex digits".into()))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret)
        .map_err(|_| ApprovalError::Malformed("an unusable signing secret".into()))?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| ApprovalError::BadSignature)
}

/// The answer in a verified Slack interactivity request: the form field `payload` holds JSON naming the user
/// (`user.id`) and the pressed button, whose value is `approve:<nonce>` or `deny:<nonce>`.
pub fn slack_answer(body: &[u8], at: DateTime<Utc>) -> Result<Answer, ApprovalError> {
    let payload = form_urlencoded::parse(body)
        .find(|(k, _)| k == "payload")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| ApprovalError::Payload("no payload field".into()))?;
    let v: serde_json::Value = serde_json::from_str(&payload)
        .map_err(|e| ApprovalError::Payload(format!("payload is not JSON: {e}")))?;
    let user = v
        .pointer("/user/id")
        .and_then(serde_json::Value::as_str)
        .filter(|u| !u.is_empty() && u.len() <= 32 && u.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or_else(|| ApprovalError::Payload("no user.id of Slack's shape".into()))?;
    let value = v
        .pointer("/actions/0/value")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| ApprovalError::Payload("no pressed button (actions[0].value)".into()))?;
    let (verdict, nonce) = match value.split_once(':') {
        Some(("approve", n)) => (Verdict::Approve, n),
        Some(("deny", n)) => (Verdict::Deny, n),
        _ => {
            return Err(ApprovalError::Payload(format!(
                "a button value that is not approve:/deny: {value:.40}"
            )))
        }
    };
    Ok(Answer {
        nonce: Nonce::parse(nonce)?,
        verdict,
        by: Approver::SlackUser(user.to_string()),
        at,
    })
}

/// The detail type of the expiry's one-shot (`{"source": "ec2ops", "detail-type": "ec2ops.approval-expiry", "detail":
/// {"nonce": "…"}}`).
pub const EXPIRY_DETAIL_TYPE: &str = "ec2ops.approval-expiry";
/// The longest `by` an approval event may name (an IAM role ARN is at most 2,048; a name of the caller's choosing,
/// shown in the thread, needs far less).
pub const MAX_BY: usize = 256;
/// Who an approval event names when it names nobody: the function's invoker, whoever IAM let in.
pub const UNNAMED_INVOKER: &str = "the function's invoker (unnamed)";

/// The expiry's one-shot event for the proposal `nonce`.
pub fn expiry_event(nonce: &Nonce) -> serde_json::Value {
    serde_json::json!({
        "source": super::VERIFY_SOURCE,
        "detail-type": EXPIRY_DETAIL_TYPE,
        "detail": { "nonce": nonce.to_string() },
    })
}

/// The expiry's schedule name: one per proposal (`[0-9a-zA-Z-_.]`, within Scheduler's 64 with the adapter's prefix).
pub fn expiry_schedule_name(nonce: &Nonce) -> String {
    format!("approval-{nonce}")
}

/// An answer as an event carries it, before the handler stamps its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    pub nonce: Nonce,
    pub verdict: Verdict,
    pub by: Approver,
}

impl AnswerRequest {
    /// The answer, given at `at` (the handler's clock, never the event's).
    pub fn at(&self, at: DateTime<Utc>) -> Answer {
        Answer {
            nonce: self.nonce,
            verdict: self.verdict,
            by: self.by.clone(),
            at,
        }
    }
}

/// Read an approval event: `{"approval": {"nonce": "<32 lowercase hex>", "decision": "approve" | "deny", "by":
/// "<who>"}}` — what a Chatbot custom action's `lambda invoke` and `ec2ops approve` send. `by` is optional and not
/// proven (whoever may invoke the function may write it): it is recorded as the Chatbot channel role it names.
/// Anything else in the object is ignored; a missing or mistyped field is an error naming it.
pub fn answer_request(event: &serde_json::Value) -> Result<AnswerRequest, ApprovalError> {
    let a = event
        .get("approval")
        .and_then(serde_json::Value::as_object)
        .ok_or_else(|| ApprovalError::Payload("approval is not an object".into()))?;
    let field = |k: &str| a.get(k).and_then(serde_json::Value::as_str);
    let nonce = Nonce::parse(
        field("nonce").ok_or_else(|| ApprovalError::Payload("approval.nonce: no string".into()))?,
    )?;
    let verdict = match field("decision") {
        Some("approve") => Verdict::Approve,
        Some("deny") => Verdict::Deny,
        other => {
            return Err(ApprovalError::Payload(format!(
                "approval.decision: {:.20} is not approve or deny",
                other.unwrap_or("(no string)")
            )))
        }
    };
    let by = match a.get("by") {
        None | Some(serde_json::Value::Null) => UNNAMED_INVOKER.to_string(),
        Some(serde_json::Value::String(b))
            if !b.trim().is_empty()
                && b.chars().count() <= MAX_BY
                && !b.chars().any(char::is_control) =>
        {
            b.trim().to_string()
        }
        Some(_) => {
            return Err(ApprovalError::Payload(format!(
                "approval.by: not a name of 1 to {MAX_BY} printable characters"
            )))
        }
    };
    Ok(AnswerRequest {
        nonce,
        verdict,
        by: Approver::ChatbotRole(by),
    })
}

pub mod slack;

#[cfg(test)]
mod tests;
