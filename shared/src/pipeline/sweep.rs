//! Inputs that name several instances (the scheduled sweep, AWS Health events) and ec2ops's own verification.
//! With a work queue, several instances fan out: one message per instance incident, each handled by its own
//! invocation with its own budget, so one slow instance cannot time out the others. Without one (the CLI, tests),
//! they are handled one after another.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, warn};

use super::once::FollowUp;
use super::{flatten, HandleError, Outcome, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::facts::{InstanceLookup, Source};
use crate::model::AlarmChange;
use crate::ports::{AwsError, Impaired, Impairment};
use crate::remediation::VerifyRequest;
use crate::report::followup;

/// The scheduled sweep: every instance whose status checks are impaired becomes an incident — the same pipeline as
/// an alarm on that check, so instances without alarms are covered. The incident key uses the time the check became
/// impaired, so the ledger turns the next sweeps into duplicates until the instance recovers and fails again.
pub(super) async fn sweep(
    rsp: &Responder,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let limit = budget.limit(rsp.settings.source_timeout);
    let impaired = within(
        limit,
        "ec2",
        "DescribeInstanceStatus",
        rsp.ec2.impaired_instances(),
    )
    .await
    .map_err(HandleError::Source)?;
    info!(impaired = impaired.len(), "sweep");
    if let Some(queue) = &rsp.queue {
        let mut enqueued = 0;
        for i in &impaired {
            within(
                budget.limit(CALL_TIMEOUT),
                "sqs",
                "SendMessage",
                queue.enqueue(&crate::event::sweep_item_event(i)),
            )
            .await
            .map_err(HandleError::Enqueue)?;
            enqueued += 1;
        }
        return Ok(Outcome::FannedOut {
            what: "sweep",
            enqueued,
        });
    }
    record_all(rsp, &impaired, now, budget).await;
    let mut outcomes = Vec::new();
    for i in &impaired {
        outcomes.push(sweep_item(rsp, i.clone(), now, budget).await?);
    }
    Ok(Outcome::Swept {
        impaired: impaired.len(),
        outcomes,
    })
}

/// Inline: record every impairment first, so that the first incident of an AZ already sees the others.
async fn record_all(rsp: &Responder, impaired: &[Impaired], now: DateTime<Utc>, budget: &Budget) {
    let Some(ledger) = &rsp.ledger else {
        return;
    };
    for i in impaired {
        let Some(az) = &i.availability_zone else {
            continue;
        };
        let change = AlarmChange::from_sweep(i, now);
        let impairment = Impairment {
            instance_id: i.instance_id.clone(),
            check: i.check.clone(),
            incident_key: change.incident_key(),
            at: now,
        };
        let r = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "PutItem",
            ledger.impairments.record_impairment(az, &impairment),
        )
        .await;
        if let Err(e) = r {
            warn!(error = %e, "could not record the impairment");
        }
    }
}

/// One impaired instance of the sweep: reported already (by its alarm, or a sweep within the hour)? Then nothing new
/// to say; otherwise the incident, noted as reported once its report is out.
pub(super) async fn sweep_item(
    rsp: &Responder,
    i: Impaired,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let change = AlarmChange::from_sweep(&i, now);
    if let Some(ledger) = &rsp.ledger {
        let noted = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "GetItem",
            ledger
                .impairments
                .impaired_noted(&i.instance_id, &i.check, now),
        )
        .await;
        match noted {
            // Reported already, and the failure it reported is this one (it began before that report went out) —
            // unless this incident acted and may not have finished (a delivery died after its stop): then the
            // incident's own record decides (a completed one is a duplicate, an interrupted one is resumed).
            Ok(Some(at))
                if i.since.is_none_or(|since| since <= at)
                    && !acted(rsp, &change.incident_key(), budget).await =>
            {
                return settle_reported(rsp, &change.incident_key(), at, now, budget).await;
            }
            Ok(Some(at)) => {
                info!(instance = %i.instance_id, check = %i.check, reported = %at, "the check failed again since its last report: a new incident");
            }
            Ok(None) => {}
            Err(e) => {
                warn!(error = %e, "ledger unavailable: the sweep reports without deduplication")
            }
        }
    }
    let origin = crate::event::sweep_item_event(&i);
    rsp.incident(change, Some(&origin), now, budget).await
}

/// A sweep item another report already covers: a duplicate. If an earlier delivery of this item claimed it and died
/// (it never acted: [`acted`] said so), its record is completed here as covered, rather than left in progress.
async fn settle_reported(
    rsp: &Responder,
    key: &str,
    reported: DateTime<Utc>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let duplicate = || Outcome::Duplicate {
        incident_key: key.to_string(),
    };
    let Some(ledger) = &rsp.ledger else {
        return Ok(duplicate());
    };
    let claim = || {
        within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "PutItem",
            ledger.claims.claim(key, now, budget.lease_until()),
        )
    };
    // A claim whose answer was lost may have been written: claimed again (the same instant), it is recognised.
    let mut answer = claim().await;
    if answer.is_err() {
        answer = claim().await;
    }
    match answer {
        Ok(crate::ports::Claim::Resumed { .. }) | Ok(crate::ports::Claim::Claimed) => {
            let done = crate::ports::Completion {
                message_id: None,
                outcome: format!("reported already (at {reported}): not reported again"),
                az_report: false,
            };
            if rsp.complete(key, now, &done, budget).await {
                return Ok(duplicate());
            }
            // Not completed: released, and the item delivered again to settle it (its redelivery claims the record
            // after the lease and completes it); ending as a duplicate would leave the record in progress for good.
            rsp.release(key, now, budget).await;
            Err(HandleError::Source(
                AwsError::new(
                    "dynamodb",
                    "UpdateItem",
                    "the covered item's record could not be completed: delivered again to settle it",
                )
                .retryable(true),
            ))
        }
        Ok(crate::ports::Claim::InProgress { until }) => Err(HandleError::InProgress {
            incident_key: key.to_string(),
            until,
        }),
        Ok(crate::ports::Claim::Duplicate) => Ok(duplicate()),
        // Unknown whether this delivery's claim was written: the item is delivered again to settle it.
        Err(e) => Err(HandleError::Source(e)),
    }
}

/// Whether the ledger holds an action of incident `key` (or cannot tell: then the incident's claim decides).
async fn acted(rsp: &Responder, key: &str, budget: &Budget) -> bool {
    let Some(ledger) = &rsp.ledger else {
        return false;
    };
    !matches!(
        within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "GetItem",
            ledger.actions.recorded_action(key),
        )
        .await,
        Ok(None)
    )
}

/// An AWS Health event: one incident per affected instance; several instances fan out when a work queue is set.
pub(super) async fn health(
    rsp: &Responder,
    event: &Value,
    changes: Vec<AlarmChange>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    if let (Some(queue), true) = (&rsp.queue, changes.len() > 1) {
        let mut enqueued = 0;
        for c in &changes {
            let Some(id) = c.primary_instance() else {
                continue;
            };
            within(
                budget.limit(CALL_TIMEOUT),
                "sqs",
                "SendMessage",
                queue.enqueue(&fan_out_health(event, id)),
            )
            .await
            .map_err(HandleError::Enqueue)?;
            enqueued += 1;
        }
        return Ok(Outcome::FannedOut {
            what: "health",
            enqueued,
        });
    }
    let mut outcomes = Vec::new();
    for change in changes {
        outcomes.push(rsp.incident(change, None, now, budget).await?);
    }
    Ok(Outcome::Health { outcomes })
}

/// The Health event narrowed to one affected instance (the message fanned out for it).
pub fn fan_out_health(event: &Value, instance_id: &str) -> Value {
    let mut one = event.clone();
    if let Some(detail) = one.get_mut("detail").and_then(Value::as_object_mut) {
        detail.insert(
            "affectedEntities".into(),
            serde_json::json!([{ "entityValue": instance_id }]),
        );
    }
    one
}

/// The scheduled check after an action: read the status checks, post the verdict in the incident's thread.
pub(super) async fn verify(
    rsp: &Responder,
    request: VerifyRequest,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let limit = budget.limit(rsp.settings.source_timeout);
    let ec2 = &*rsp.ec2;
    let (instance, status) = tokio::join!(
        tokio::time::timeout(limit, ec2.instance(&request.instance_id)),
        tokio::time::timeout(limit, ec2.instance_status(&request.instance_id)),
    );
    let instance: Source<InstanceLookup> = flatten(instance, limit);
    let status = flatten(status, limit);
    let verdict = followup::verdict(&instance, &status);
    let fixed = verdict == followup::Verdict::Fixed;
    let message = followup::render(
        &request,
        &verdict,
        now,
        rsp.settings.language,
        rsp.settings.time_zone,
    );
    info!(incident = %request.incident_key, fixed, "verification done");
    let key = format!(
        "{}#verify#{}",
        request.incident_key,
        request.acted_at.timestamp()
    );
    let message_id = match rsp
        .send_follow_up(&key, &message, "verification", now, budget)
        .await?
    {
        FollowUp::Published(id) => id,
        FollowUp::AlreadySent => return Ok(Outcome::Duplicate { incident_key: key }),
    };
    Ok(Outcome::Verified {
        request,
        fixed,
        message,
        message_id,
    })
}
