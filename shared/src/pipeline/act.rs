//! Acting on a decision: a DryRun call, or the one transaction that records the action and enforces the envelope
//! atomically, then the EC2 call, then its progress. A resumed delivery reconciles an action an interrupted one
//! recorded instead of repeating it.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::schedule::{schedule, schedule_verification, scheduling_time};
use super::{outcome_without_acting, Actors, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::facts::{Facts, InstanceFacts};
use crate::model::AlarmChange;
use crate::ports::{
    ActionRecord, AwsError, CallResult, ErrorKind, Grant, Progress, RecordedAction,
};
use crate::remediation::{ActionKind, ActionOutcome, Continuation, Decision, Hold, VerifyRequest};

/// When a recover's first continuation looks at the instance.
pub const FIRST_CONTINUATION: chrono::Duration = chrono::Duration::seconds(30);

pub(super) async fn act(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    decision: Decision,
    facts: &Facts,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    let Some(id) = change.primary_instance() else {
        return outcome_without_acting(decision);
    };
    match decision {
        Decision::DryRun { action } => {
            dry_run(&*actors.remediator, id, action, budget.limit(CALL_TIMEOUT)).await
        }
        Decision::Act { action } => match &rsp.ledger {
            Some(ledger) => {
                grant_and_call(rsp, actors, ledger, change, action, facts, now, budget).await
            }
            None => outcome_without_acting(Decision::Act { action }),
        },
        Decision::AlreadyDone { action, at } => {
            // An earlier delivery of this incident recorded the action: reconcile with how far it got.
            let recorded = match &rsp.ledger {
                Some(ledger) => within(
                    budget.limit(CALL_TIMEOUT),
                    "dynamodb",
                    "GetItem",
                    ledger.actions.recorded_action(&change.incident_key()),
                )
                .await
                .ok()
                .flatten(),
                None => None,
            };
            match recorded {
                // What was recorded, not what this delivery decided (a combined-check alarm can read either way).
                Some(r) => reconcile(rsp, actors, change, r.action, r, now, budget).await,
                None => ActionOutcome::AlreadyDone { action, at },
            }
        }
        other => outcome_without_acting(other),
    }
}

/// The one transaction that records the action and enforces the envelope atomically; granted, the EC2 call.
#[allow(clippy::too_many_arguments)]
async fn grant_and_call(
    rsp: &Responder,
    actors: &Actors,
    ledger: &crate::ports::Ledger,
    change: &AlarmChange,
    action: ActionKind,
    facts: &Facts,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    let id = change.primary_instance().unwrap_or_default();
    let record = ActionRecord {
        owner: owner_token(now),
        incident_key: change.incident_key(),
        instance_id: id.to_string(),
        availability_zone: facts
            .found_instance()
            .and_then(|i| i.availability_zone.clone()),
        action,
        at: now,
    };
    let grant = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "TransactWriteItems",
        ledger
            .actions
            .record_action(&record, &rsp.settings.envelope),
    )
    .await;
    match grant {
        Err(e) => ActionOutcome::Held {
            action,
            holds: vec![Hold::LedgerUnavailable { why: e.gap() }],
        },
        Ok(Grant::Refused(holds)) => ActionOutcome::Held { action, holds },
        Ok(Grant::Recorded(recorded)) => {
            reconcile(rsp, actors, change, action, recorded, now, budget).await
        }
        Ok(Grant::Granted) => {
            info!(
                instance = id,
                action = action.as_str(),
                "action recorded: calling EC2"
            );
            let instance = facts.found_instance();
            call(rsp, actors, change, action, instance, now, budget).await
        }
    }
}

/// DryRun of the decided call: whether IAM would allow it, nothing changed.
async fn dry_run(
    r: &dyn crate::ports::Remediator,
    id: &str,
    action: ActionKind,
    limit: std::time::Duration,
) -> ActionOutcome {
    let first = match action {
        ActionKind::Reboot => within(limit, "ec2", "RebootInstances", r.reboot(id, true)).await,
        ActionKind::StopStart => {
            within(limit, "ec2", "StopInstances", r.stop(id, true, false)).await
        }
    };
    match first {
        Ok(CallResult::DryRun { allowed, detail }) => ActionOutcome::DryRun {
            action,
            allowed,
            detail,
        },
        Ok(CallResult::Done { .. }) => ActionOutcome::Failed {
            action,
            error: "EC2 ignored DryRun and acted".into(),
        },
        Err(e) => ActionOutcome::Failed {
            action,
            error: e.to_string(),
        },
    }
}

/// The EC2 call of a granted action, then its progress in the ledger, then what follows it (verification, or a
/// recover's continuation).
async fn call(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    action: ActionKind,
    instance: Option<&InstanceFacts>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    let id = change.primary_instance().unwrap_or_default();
    let r = &*actors.remediator;
    let limit = budget.limit(CALL_TIMEOUT);
    let ahead = match write_ahead(rsp, actors, change, action, instance, now, budget).await {
        Ok(ahead) => ahead,
        Err(not_sent) => return not_sent,
    };
    let result = match action {
        ActionKind::Reboot => within(limit, "ec2", "RebootInstances", r.reboot(id, false)).await,
        ActionKind::StopStart => {
            within(limit, "ec2", "StopInstances", r.stop(id, false, false)).await
        }
    };
    if let Some(progress) = progress_of(&result) {
        record_progress(rsp, &change.incident_key(), &progress, budget).await;
    }
    match (action, result) {
        (ActionKind::Reboot, Ok(CallResult::Done { request_id })) => {
            rebooted(rsp, actors, change, request_id, now, budget).await
        }
        (ActionKind::StopStart, Ok(CallResult::Done { request_id })) => {
            info!(
                instance = id,
                "stop requested: the start follows in a continuation"
            );
            ActionOutcome::Recovering {
                at: now,
                request_id,
                continue_at: ahead,
                note: None,
            }
        }
        // No answer is not a no: the stop may have reached EC2. The continuation reads the state and starts the
        // instance if it stopped, so it can never be left stopped.
        (ActionKind::StopStart, Err(e)) if !definitely_refused(&e) => ActionOutcome::Recovering {
            at: now,
            request_id: format!("unknown ({e})"),
            continue_at: ahead,
            note: None,
        },
        (_, Ok(CallResult::DryRun { .. })) => ActionOutcome::Failed {
            action,
            error: "EC2 answered a real call as a DryRun".into(),
        },
        (_, Err(e)) => ActionOutcome::Failed {
            action,
            error: e.to_string(),
        },
    }
}

/// RebootInstances was accepted: the verification is scheduled.
async fn rebooted(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    request_id: String,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    info!(
        instance = change.primary_instance().unwrap_or_default(),
        "reboot done"
    );
    let action = ActionKind::Reboot;
    let (verify_at, verify_note) =
        schedule_verify(rsp, actors, change, action, now, now, budget).await;
    ActionOutcome::Done {
        action,
        at: now,
        request_ids: vec![request_id],
        verify_at,
        verify_note,
    }
}

/// Write-ahead: a recover's first continuation is scheduled before the stop (when it runs), so that an instance this
/// delivery stops is looked at (and started) even if the delivery dies right after StopInstances. Without that
/// schedule the stop is not sent (`Err`, the outcome): a delivery dying after it would leave the instance stopped until
/// the event's redelivery (the work queue's is minutes away, and may die too), so nothing is stopped that nobody is
/// sure to start. A reboot needs nothing ahead.
async fn write_ahead(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    action: ActionKind,
    instance: Option<&InstanceFacts>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Option<DateTime<Utc>>, ActionOutcome> {
    if action == ActionKind::Reboot {
        return Ok(None);
    }
    match try_schedule_continuation(actors, change, instance, now, budget).await {
        Ok(at) => Ok(Some(at)),
        Err(why) => {
            let error = format!(
                "StopInstances was not sent: the continuation that would start the instance again could not be scheduled ({why})"
            );
            warn!(instance = change.primary_instance().unwrap_or_default(), %why, "recover not started: no continuation");
            let failed = Progress::Failed {
                error: error.clone(),
            };
            record_progress(rsp, &change.incident_key(), &failed, budget).await;
            Err(ActionOutcome::Failed { action, error })
        }
    }
}

/// What the EC2 call's answer means for the record: called, failed, or — no answer — nothing (the record stays
/// `started`, so a resumed delivery reads the instance's state; no answer is not a no).
fn progress_of(result: &Result<CallResult, AwsError>) -> Option<Progress> {
    match result {
        Ok(CallResult::Done { request_id }) => Some(Progress::Called {
            request_id: request_id.clone(),
        }),
        Ok(CallResult::DryRun { detail, .. }) => Some(Progress::Failed {
            error: detail.clone(),
        }),
        Err(e) if definitely_refused(e) => Some(Progress::Failed {
            error: e.to_string(),
        }),
        Err(_) => None,
    }
}

/// EC2 said no (a service error with a code): the call did not change the instance.
fn definitely_refused(e: &AwsError) -> bool {
    !e.retryable
        && matches!(
            e.kind,
            ErrorKind::AccessDenied
                | ErrorKind::NotFound
                | ErrorKind::NotManaged
                | ErrorKind::ConditionFailed
                | ErrorKind::Conflict
                | ErrorKind::DryRunPassed
                | ErrorKind::Capacity
                | ErrorKind::InvalidRequest
        )
}

async fn record_progress(rsp: &Responder, key: &str, progress: &Progress, budget: &Budget) {
    let Some(ledger) = &rsp.ledger else {
        return;
    };
    let r = within(
        budget.limit_reserved(CALL_TIMEOUT, std::time::Duration::from_secs(3)),
        "dynamodb",
        "UpdateItem",
        ledger.actions.progress(key, progress),
    )
    .await;
    if let Err(e) = r {
        // The record stays `started`: a resumed delivery reconciles from the instance's state.
        warn!(incident = %key, error = %e, "could not record the action's progress");
    }
}

/// What a resumed delivery found of its interrupted predecessor's action.
pub(super) enum Resumed {
    /// Nothing recorded: the predecessor did not act.
    Nothing,
    /// Recorded at this time; the outcome after reconciling it.
    Acted(DateTime<Utc>, ActionOutcome),
    /// The ledger could not be read (twice): whether the predecessor acted is unknown, so nothing is done and a later
    /// delivery reconciles.
    Unknown(AwsError),
}

/// A resumed delivery whose interrupted predecessor recorded an action: whatever the incident looks like now (a
/// stopped instance reads as GONE, so no action would be decided), finish what was started.
pub(super) async fn resume(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Resumed {
    let Some(ledger) = rsp.ledger.as_ref() else {
        return Resumed::Nothing;
    };
    let key = change.incident_key();
    let read = || {
        within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "GetItem",
            ledger.actions.recorded_action(&key),
        )
    };
    let mut recorded = read().await;
    if recorded.is_err() {
        recorded = read().await;
    }
    match recorded {
        Ok(Some(recorded)) => {
            let (action, at) = (recorded.action, recorded.at);
            Resumed::Acted(
                at,
                reconcile(rsp, actors, change, action, recorded, now, budget).await,
            )
        }
        Ok(None) => Resumed::Nothing,
        Err(e) => {
            warn!(incident = %change.incident_key(), error = %e, "a resumed delivery could not read its predecessor's action");
            Resumed::Unknown(e)
        }
    }
}

/// An earlier delivery of this incident recorded the action: never repeat it; make sure what follows it happens.
async fn reconcile(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    action: ActionKind,
    recorded: RecordedAction,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    match (&recorded.progress, action) {
        (Progress::Failed { error }, _) => ActionOutcome::Failed {
            action,
            error: error.clone(),
        },
        (Progress::Called { .. }, ActionKind::Reboot) => ActionOutcome::AlreadyDone {
            action,
            at: recorded.at,
        },
        (Progress::Called { .. }, ActionKind::StopStart) => {
            // The interrupted delivery may have died before scheduling the continuation: schedule it again (the
            // schedule's name is the same, so an existing one is kept).
            match schedule_continuation_at(rsp, actors, change, recorded.at, now, budget).await {
                (None, Some(note)) => ActionOutcome::Interrupted {
                    action,
                    at: recorded.at,
                    detail: format!("StopInstances was accepted; the continuation could not be scheduled: {note}"),
                },
                _ => ActionOutcome::AlreadyDone {
                    action,
                    at: recorded.at,
                },
            }
        }
        (Progress::Started, ActionKind::Reboot) => {
            let (verify_at, _) =
                schedule_verify(rsp, actors, change, action, recorded.at, now, budget).await;
            ActionOutcome::Interrupted {
                action,
                at: recorded.at,
                detail: match verify_at {
                    Some(t) => format!(
                        "whether RebootInstances reached EC2 is unknown; it is not repeated, and the verification at {} tells whether the instance recovered",
                        t.format("%H:%M UTC")
                    ),
                    None => "whether RebootInstances reached EC2 is unknown; it is not repeated: check the status checks by hand".into(),
                },
            }
        }
        (Progress::Started, ActionKind::StopStart) => ActionOutcome::Interrupted {
            action,
            at: recorded.at,
            detail: stop_unknown(rsp, actors, change, recorded.at, now, budget).await,
        },
    }
}

/// A recorded stop whose answer never came: the instance's state tells whether it reached EC2; if it did (or the
/// state is unreadable), the continuation that starts the instance is scheduled again.
async fn stop_unknown(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    stopped_at: DateTime<Utc>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> String {
    let id = change.primary_instance().unwrap_or_default();
    let state = within(
        budget.limit(CALL_TIMEOUT),
        "ec2",
        "DescribeInstances",
        actors.remediator.state(id),
    )
    .await;
    let state = match state.as_ref().copied() {
        Ok(Some(s)) if s.is_up() => {
            return "the stop did not take effect (the instance is running); it is not repeated"
                .to_string()
        }
        Ok(None) => return "the instance no longer exists".to_string(),
        Ok(Some(s)) => Ok(s),
        Err(e) => Err(e),
    };
    let scheduled = schedule_continuation_at(rsp, actors, change, stopped_at, now, budget).await;
    match (state, scheduled) {
        (Ok(s), (Some(at), _)) => format!(
            "StopInstances had reached EC2 (the instance is {s}); the start follows in a continuation at {}",
            at.format("%H:%M:%S UTC")
        ),
        // The inline fallback's outcome: started again, or what to run.
        (Ok(s), (None, note)) => format!(
            "StopInstances had reached EC2 (the instance was {s}); {}",
            note.unwrap_or_default()
        ),
        (Err(e), (Some(_), _)) => {
            format!("the instance's state is unreadable ({e}); a continuation will read it again")
        }
        (Err(e), (None, note)) => format!(
            "the instance's state is unreadable ({e}) and no continuation could be scheduled: {}",
            note.unwrap_or_default()
        ),
    }
}

async fn schedule_verify(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    action: ActionKind,
    acted_at: DateTime<Utc>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> (Option<DateTime<Utc>>, Option<String>) {
    let request = VerifyRequest {
        incident_key: change.incident_key(),
        thread_id: change.thread_id(),
        instance_id: change.primary_instance().unwrap_or_default().to_string(),
        action,
        acted_at,
        alarm_name: change.alarm_name.clone(),
        region: change.region.clone(),
    };
    match schedule_verification(rsp, actors, &request, now, budget).await {
        Ok(at) => (Some(at), None),
        Err(why) => {
            warn!(error = %why, "verification not scheduled");
            (None, Some(why))
        }
    }
}

/// The first continuation of the recover whose stop is sent at `stopped_at` (with the instance's type and volumes
/// when its facts are at hand).
fn first_continuation(
    change: &AlarmChange,
    stopped_at: DateTime<Utc>,
    instance: Option<&InstanceFacts>,
) -> Continuation {
    Continuation {
        incident_key: change.incident_key(),
        thread_id: change.thread_id(),
        instance_id: change.primary_instance().unwrap_or_default().to_string(),
        alarm_name: change.alarm_name.clone(),
        region: change.region.clone(),
        stopped_at,
        attempt: 0,
        forced: false,
        start_failures: 0,
        unreadable: 0,
        instance_type: instance.map(|i| i.instance_type.clone()),
        volume_ids: instance.map(|i| i.volume_ids.clone()).unwrap_or_default(),
    }
}

/// Schedule the first continuation, with no fallback: when it runs.
async fn try_schedule_continuation(
    actors: &Actors,
    change: &AlarmChange,
    instance: Option<&InstanceFacts>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<DateTime<Utc>, String> {
    // The stop is sent now: the continuation's stop time.
    let c = first_continuation(change, now, instance);
    let at = scheduling_time(now, budget) + FIRST_CONTINUATION;
    schedule(actors, &c.schedule_name(), &c.to_event(), at, budget)
        .await
        .map(|()| at)
}

/// Schedule the first continuation of the recover whose stop was sent at `stopped_at`.
async fn schedule_continuation_at(
    rsp: &Responder,
    actors: &Actors,
    change: &AlarmChange,
    stopped_at: DateTime<Utc>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> (Option<DateTime<Utc>>, Option<String>) {
    // The write-ahead's schedule, of the same name, carries the instance's facts: an existing one is kept.
    let c = first_continuation(change, stopped_at, None);
    let at = scheduling_time(now, budget) + FIRST_CONTINUATION;
    match schedule(actors, &c.schedule_name(), &c.to_event(), at, budget).await {
        Ok(()) => (Some(at), None),
        Err(why) => {
            warn!(error = %why, "continuation not scheduled: finishing the recover inline");
            let _ = rsp;
            let note = super::recover::finish_inline(rsp, actors, &c, budget).await;
            (None, Some(format!("{why}; {note}")))
        }
    }
}

/// A token unique to one delivery's action (an SDK retry of its own committed transaction recognizes it).
fn owner_token(now: DateTime<Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}-{}",
        std::process::id(),
        now.timestamp_nanos_opt().unwrap_or_default(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
