//! Proposed actions (`approve` mode) on the ledger table, beside the ledger's other items:
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `approval#<nonce>` | `-` | the proposal (layout `v` = [`PROPOSAL_LAYOUT`]) and its state: `PENDING`, then `APPROVED`, `DENIED` or `EXPIRED`; an approved one's `concluded` outcome |
//! | `proposal#<incident key>` | `-` | the incident's one proposal: its nonce |
//!
//! Both items are put in one transaction, each only if absent, so an incident is proposed once; every move is one
//! conditional update on the state (and the expiry, in epoch milliseconds), so of two concurrent answers one wins.
//! Both live a week past the expiry (TTL).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};

use ec2ops::ports::{
    Approvals, AwsError, ErrorKind, Moved, Proposal, StoredProposal, PROPOSAL_LAYOUT,
};
use ec2ops::remediation::approval::{self, Answer, Approver, Nonce, Pending, State, Verdict};
use ec2ops::remediation::ActionKind;

use super::attributes::{n, number, s, stamp, text, time_of};
use super::{aws_error, conditional, DynamoLedger};

/// How long the items live after the proposal's expiry.
const PROPOSAL_TTL: chrono::Duration = chrono::Duration::days(7);

fn unreadable(op: &'static str, why: &str) -> AwsError {
    AwsError::new("dynamodb", op, format!("unreadable approval record: {why}"))
}

fn approval_key(nonce: &Nonce) -> HashMap<String, AttributeValue> {
    key(format!("approval#{nonce}"))
}

/// The proposal's item, `PENDING`.
fn proposal_item(p: &Proposal) -> HashMap<String, AttributeValue> {
    let pending = &p.pending;
    let ttl = pending
        .expires_at
        .checked_add_signed(PROPOSAL_TTL)
        .unwrap_or(pending.expires_at);
    let mut i = approval_key(&pending.nonce);
    i.extend([
        ("v".to_string(), n(PROPOSAL_LAYOUT)),
        ("nonce".to_string(), s(pending.nonce.to_string())),
        ("state".to_string(), s("PENDING")),
        ("incident".to_string(), s(&pending.incident_key)),
        ("instance".to_string(), s(&pending.instance_id)),
        ("action".to_string(), s(pending.action.as_str())),
        ("requested".to_string(), s(stamp(pending.requested_at))),
        ("expires".to_string(), s(stamp(pending.expires_at))),
        (
            "until_ms".to_string(),
            n(pending.expires_at.timestamp_millis()),
        ),
        ("thread".to_string(), s(&p.thread_id)),
        ("alarm".to_string(), s(&p.alarm_name)),
        ("origin".to_string(), s(p.origin.to_string())),
        ("expires_at".to_string(), n(ttl.timestamp())),
    ]);
    for (k, v) in [("account", &p.account), ("region", &p.region)] {
        if let Some(v) = v {
            i.insert(k.to_string(), s(v));
        }
    }
    i
}

fn approver_of(i: &HashMap<String, AttributeValue>) -> Option<Approver> {
    let by = text(i, "by")?;
    match text(i, "by_kind").as_deref() {
        Some("chatbot") => Some(Approver::ChatbotRole(by)),
        Some("slack") => Some(Approver::SlackUser(by)),
        _ => None,
    }
}

/// A stored proposal back, of this layout only.
fn stored(
    i: &HashMap<String, AttributeValue>,
    op: &'static str,
) -> Result<StoredProposal, AwsError> {
    if number(i, "v") != Some(PROPOSAL_LAYOUT) {
        return Err(unreadable(
            op,
            &format!("layout {:?}, not {PROPOSAL_LAYOUT}", number(i, "v")),
        ));
    }
    let field = |k: &str| text(i, k).ok_or_else(|| unreadable(op, &format!("no {k}")));
    let time = |k: &str| {
        text(i, k)
            .as_deref()
            .and_then(time_of)
            .ok_or_else(|| unreadable(op, &format!("no time {k}")))
    };
    let nonce = Nonce::parse(&field("nonce")?).map_err(|e| unreadable(op, &e.to_string()))?;
    let action = match field("action")?.as_str() {
        "reboot" => ActionKind::Reboot,
        "stop-start" => ActionKind::StopStart,
        other => return Err(unreadable(op, &format!("action {other:.20}"))),
    };
    let origin = serde_json::from_str(&field("origin")?)
        .map_err(|e| unreadable(op, &format!("origin: {e}")))?;
    let decided = || -> Result<(Approver, DateTime<Utc>), AwsError> {
        let by = approver_of(i).ok_or_else(|| unreadable(op, "a decision without its approver"))?;
        Ok((by, time("decided")?))
    };
    let state = match field("state")?.as_str() {
        "PENDING" => State::Pending,
        "APPROVED" => decided().map(|(by, at)| State::Approved { by, at })?,
        "DENIED" => decided().map(|(by, at)| State::Denied { by, at })?,
        "EXPIRED" => State::Expired {
            at: time("decided")?,
        },
        other => return Err(unreadable(op, &format!("state {other:.20}"))),
    };
    Ok(StoredProposal {
        proposal: Proposal {
            pending: Pending {
                nonce,
                incident_key: field("incident")?,
                instance_id: field("instance")?,
                action,
                requested_at: time("requested")?,
                expires_at: time("expires")?,
            },
            account: text(i, "account"),
            region: text(i, "region"),
            thread_id: field("thread")?,
            alarm_name: field("alarm")?,
            origin,
        },
        state,
        concluded: text(i, "concluded"),
    })
}

impl DynamoLedger {
    fn tx_put_absent(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<TransactWriteItem, AwsError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| AwsError::new("dynamodb", "TransactWriteItems", e.to_string()))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The incident's existing proposal after a cancelled put: through its pointer, else under the same nonce.
    async fn existing_proposal(&self, p: &Proposal) -> Result<Option<StoredProposal>, AwsError> {
        let pointer = self
            .get(format!("proposal#{}", p.pending.incident_key))
            .await?;
        let nonce = match pointer.as_ref().and_then(|i| text(i, "nonce")) {
            Some(n) => Nonce::parse(&n).map_err(|e| unreadable("GetItem", &e.to_string()))?,
            None => p.pending.nonce,
        };
        self.proposal(&nonce).await
    }

    /// One conditional move of the proposal `nonce` to `new` (with its approver and time); refused, the reason.
    async fn move_to(
        &self,
        nonce: &Nonce,
        new: &State,
        condition: &str,
        at: DateTime<Utc>,
        expiring: bool,
    ) -> Result<Moved, AwsError> {
        let (label, by) = match new {
            State::Approved { by, .. } => ("APPROVED", Some(by)),
            State::Denied { by, .. } => ("DENIED", Some(by)),
            State::Expired { .. } => ("EXPIRED", None),
            State::Pending => ("PENDING", None),
        };
        let mut update = "SET #state = :new, #decided = :at".to_string();
        let mut names = HashMap::from([
            ("#state".to_string(), "state".to_string()),
            ("#decided".to_string(), "decided".to_string()),
            ("#until".to_string(), "until_ms".to_string()),
        ]);
        let mut values = HashMap::from([
            (":new".to_string(), s(label)),
            (":pending".to_string(), s("PENDING")),
            (":at".to_string(), s(stamp(at))),
            (":at_ms".to_string(), n(at.timestamp_millis())),
        ]);
        if let Some(by) = by {
            let (kind, id) = match by {
                Approver::ChatbotRole(id) => ("chatbot", id),
                Approver::SlackUser(id) => ("slack", id),
            };
            update.push_str(", #by = :by, #kind = :kind");
            names.insert("#by".into(), "by".into());
            names.insert("#kind".into(), "by_kind".into());
            values.insert(":by".into(), s(id));
            values.insert(":kind".into(), s(kind));
        }
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(approval_key(nonce)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match conditional("dynamodb", "UpdateItem", answer)? {
            Some(out) => {
                let attrs = out.attributes().cloned().unwrap_or_default();
                Ok(Moved::Moved(Box::new(stored(&attrs, "UpdateItem")?)))
            }
            None => match self.proposal(nonce).await? {
                None => Ok(Moved::Refused(approval::Refused::UnknownNonce)),
                Some(p) => Ok(Moved::Refused(approval::refusal(
                    &p.proposal.pending,
                    &p.state,
                    expiring,
                ))),
            },
        }
    }
}

/// `at` as the ledger keeps it: to the millisecond.
fn ms(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

#[async_trait]
impl Approvals for DynamoLedger {
    async fn propose(&self, p: &Proposal) -> Result<Option<StoredProposal>, AwsError> {
        let mut pointer = key(format!("proposal#{}", p.pending.incident_key));
        pointer.insert("nonce".into(), s(p.pending.nonce.to_string()));
        let ttl = p
            .pending
            .expires_at
            .checked_add_signed(PROPOSAL_TTL)
            .unwrap_or(p.pending.expires_at);
        pointer.insert("expires_at".into(), n(ttl.timestamp()));
        let items = vec![
            self.tx_put_absent(proposal_item(p))?,
            self.tx_put_absent(pointer)?,
        ];
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(None),
            Err(e) => {
                let err = aws_error("dynamodb", "TransactWriteItems", e);
                if err.kind != ErrorKind::Conflict {
                    return Err(err);
                }
                match self.existing_proposal(p).await? {
                    Some(existing) => Ok(Some(existing)),
                    // A conflict with a concurrent writer that left nothing: try again later.
                    None => Err(err.retryable(true)),
                }
            }
        }
    }

    async fn proposal(&self, nonce: &Nonce) -> Result<Option<StoredProposal>, AwsError> {
        match self.get(format!("approval#{nonce}")).await? {
            Some(i) => stored(&i, "GetItem").map(Some),
            None => Ok(None),
        }
    }

    async fn answer(&self, a: &Answer) -> Result<Moved, AwsError> {
        let at = ms(a.at);
        let new = match a.verdict {
            Verdict::Approve => State::Approved {
                by: a.by.clone(),
                at,
            },
            Verdict::Deny => State::Denied {
                by: a.by.clone(),
                at,
            },
        };
        self.move_to(
            &a.nonce,
            &new,
            "#state = :pending AND #until > :at_ms",
            at,
            false,
        )
        .await
    }

    async fn expire(&self, nonce: &Nonce, now: DateTime<Utc>) -> Result<Moved, AwsError> {
        let at = ms(now);
        self.move_to(
            nonce,
            &State::Expired { at },
            "#state = :pending AND #until <= :at_ms",
            at,
            true,
        )
        .await
    }

    async fn conclude(&self, nonce: &Nonce, outcome: &str) -> Result<bool, AwsError> {
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(approval_key(nonce)))
            .update_expression("SET #concluded = :outcome")
            .condition_expression("#state = :approved AND attribute_not_exists(#concluded)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#concluded", "concluded")
            .expression_attribute_values(":approved", s("APPROVED"))
            .expression_attribute_values(":outcome", s(outcome))
            .send()
            .await;
        Ok(conditional("dynamodb", "UpdateItem", answer)?.is_some())
    }
}

/// The key of an item with no sort key of its own (`sk` = `-`).
fn key(pk: String) -> HashMap<String, AttributeValue> {
    super::attributes::key(pk, "-")
}
