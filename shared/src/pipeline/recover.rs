//! The rest of a recover after StopInstances, as scheduled continuations (no invocation waits minutes): start the
//! instance once it is stopped, force-stop it when it hangs in `stopping`, retry StartInstances with backoff on
//! capacity errors and transient failures, for a bounded time. Every path ends with the instance running (and the
//! verification scheduled) or a P0 follow-up in the incident's thread naming its state and the commands to run.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::once::FollowUp;
use super::schedule::{schedule, schedule_verification, scheduling_time};
use super::{Actors, HandleError, Outcome, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::model::InstanceState;
use crate::ports::CallResult;
use crate::remediation::{ActionKind, Continuation, Stuck, VerifyRequest};
use crate::report::followup;

/// After this long in `stopping`, the stop is forced (degraded hardware can hang a normal stop).
pub const FORCE_AFTER: chrono::Duration = chrono::Duration::minutes(5);
/// After this long, the continuation gives up and escalates.
pub const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::minutes(15);
/// Between two looks at the instance.
pub const POLL: chrono::Duration = chrono::Duration::seconds(30);

/// What one continuation decided.
enum Step {
    /// Look again later (with the continuation to send then).
    Again {
        next: Box<Continuation>,
        after: chrono::Duration,
        why: String,
    },
    /// The instance is starting or running: schedule the verification.
    Started { detail: String },
    /// The recover cannot complete: the P0 follow-up.
    Escalate { stuck: Stuck },
}

pub(super) async fn continue_recover(
    rsp: &Responder,
    c: Continuation,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let Some(actors) = &rsp.actors else {
        return Err(HandleError::Config(crate::config::ConfigError {
            name: "actors",
            value: String::new(),
            expected: "a recover's continuation needs EC2 access (not offline)".into(),
        }));
    };
    let r = &*actors.remediator;
    let id = c.instance_id.clone();
    let elapsed = now - c.stopped_at;
    let limit = budget.limit(CALL_TIMEOUT);
    // Only a recover ec2ops recorded is continued: a continuation event from anywhere else (a forged message, a
    // schedule of another stack) changes nothing. A ledger that cannot be read proves nothing either way: look again
    // (past the give-up time: escalate, with no EC2 call).
    match authentic(rsp, &c, budget).await {
        Ok(()) => {}
        Err(Refusal::Unrecorded(why)) => {
            warn!(instance = %id, %why, "continuation refused");
            return Ok(Outcome::Ignored {
                source: crate::remediation::VERIFY_SOURCE.into(),
                detail_type: format!(
                    "{} refused: {why}",
                    crate::remediation::CONTINUE_DETAIL_TYPE
                ),
            });
        }
        Err(Refusal::Unreadable(e)) if elapsed < GIVE_UP_AFTER => {
            return look_again_later(actors, &c, e, now, budget).await;
        }
        Err(Refusal::Unreadable(e)) => {
            return unconfirmed_past_give_up(rsp, actors, &c, e, now, budget).await;
        }
    }
    let state = within(limit, "ec2", "DescribeInstances", r.state(&id)).await;
    let state_name = state.as_ref().ok().copied().flatten();
    let step = next_step(r, &c, state.as_ref().copied(), elapsed, limit).await;
    let (step_name, next_at, message_id) =
        carry_out(rsp, actors, &c, step, state_name, now, budget).await?;
    Ok(Outcome::Continued {
        instance_id: id,
        state: state_name,
        step: step_name,
        next_at,
        message_id,
    })
}

/// Past the give-up time an unproven continuation changes nothing on the instance, but it does not wait either:
/// looking again (or Lambda's retries) could push the P0 past 20 minutes after the stop. It escalates with the
/// instance's state — a message in the incident's thread, no EC2 call — unless the instance is running and needs
/// nobody (a late duplicate of an earlier look, say).
async fn unconfirmed_past_give_up(
    rsp: &Responder,
    actors: &Actors,
    c: &Continuation,
    e: crate::ports::AwsError,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let id = c.instance_id.clone();
    let limit = budget.limit(CALL_TIMEOUT);
    let state = within(
        limit,
        "ec2",
        "DescribeInstances",
        actors.remediator.state(&id),
    )
    .await;
    let state_name = state.ok().flatten();
    if state_name.is_some_and(InstanceState::is_up) {
        return Ok(Outcome::Continued {
            instance_id: id,
            state: state_name,
            step: "unconfirmed, and the instance is running: nothing to do".into(),
            next_at: None,
            message_id: None,
        });
    }
    let step = Step::Escalate {
        stuck: Stuck::LedgerUnreadable {
            error: e.to_string(),
        },
    };
    let (step_name, next_at, message_id) =
        carry_out(rsp, actors, c, step, state_name, now, budget).await?;
    Ok(Outcome::Continued {
        instance_id: id,
        state: state_name,
        step: step_name,
        next_at,
        message_id,
    })
}

/// What the instance's state makes of the recover now (the one EC2 call it may take: StartInstances, or a forced
/// StopInstances).
async fn next_step(
    r: &dyn crate::ports::Remediator,
    c: &Continuation,
    state: Result<Option<InstanceState>, &crate::ports::AwsError>,
    elapsed: chrono::Duration,
    limit: Duration,
) -> Step {
    match state {
        Err(e) if elapsed < GIVE_UP_AFTER => {
            again(c, POLL, format!("state unreadable ({e}); looking again"))
        }
        Err(e) => Step::Escalate {
            stuck: Stuck::StateUnreadable {
                minutes: elapsed.num_minutes(),
                error: e.to_string(),
            },
        },
        Ok(None) => Step::Escalate { stuck: Stuck::Gone },
        Ok(Some(InstanceState::Stopped)) if elapsed > GIVE_UP_AFTER + POLL * 10 => Step::Escalate {
            // A continuation delivered this late (Scheduler's own retries) must not start an instance that somebody
            // may have stopped on purpose since.
            stuck: Stuck::TooLate {
                minutes: elapsed.num_minutes(),
            },
        },
        Ok(Some(InstanceState::Stopped)) => start(r, c, elapsed, limit).await,
        Ok(Some(InstanceState::Stopping)) => still_stopping(r, c, elapsed, limit).await,
        Ok(Some(InstanceState::Pending | InstanceState::Running)) => Step::Started {
            detail: "the instance is already starting or running".into(),
        },
        Ok(Some(other)) => Step::Escalate {
            stuck: Stuck::WentTo { state: other },
        },
    }
}

/// Look again after `after`: the next attempt of the same recover.
fn again(c: &Continuation, after: chrono::Duration, why: String) -> Step {
    Step::Again {
        next: Box::new(Continuation {
            attempt: c.attempt.saturating_add(1),
            unreadable: 0,
            ..c.clone()
        }),
        after,
        why,
    }
}

/// The instance stopped: StartInstances, retried with backoff on capacity errors and throttling until the give-up
/// time.
async fn start(
    r: &dyn crate::ports::Remediator,
    c: &Continuation,
    elapsed: chrono::Duration,
    limit: Duration,
) -> Step {
    let id = c.instance_id.as_str();
    match within(limit, "ec2", "StartInstances", r.start(id, false)).await {
        Ok(CallResult::Done { request_id }) => Step::Started {
            detail: format!("StartInstances accepted (request id {request_id})"),
        },
        Ok(CallResult::DryRun { detail, .. }) => Step::Escalate {
            stuck: Stuck::DryRun { answer: detail },
        },
        Err(e) if elapsed < GIVE_UP_AFTER && startable_later(&e) => {
            let failures = c.start_failures.saturating_add(1);
            let backoff = POLL.checked_mul(1 << failures.min(3)).unwrap_or(POLL);
            let mut s = again(c, backoff, format!("StartInstances failed ({e}); retrying"));
            if let Step::Again { next, .. } = &mut s {
                next.start_failures = failures;
            }
            s
        }
        Err(e) => Step::Escalate {
            stuck: Stuck::StartFailed {
                error: e.to_string(),
            },
        },
    }
}

/// The instance is still stopping: wait, force the stop after [`FORCE_AFTER`], escalate at the give-up time.
async fn still_stopping(
    r: &dyn crate::ports::Remediator,
    c: &Continuation,
    elapsed: chrono::Duration,
    limit: Duration,
) -> Step {
    if elapsed >= GIVE_UP_AFTER {
        return Step::Escalate {
            stuck: Stuck::StillStopping {
                minutes: elapsed.num_minutes(),
                forced: c.forced,
            },
        };
    }
    if elapsed < FORCE_AFTER || c.forced {
        return again(c, POLL, "still stopping".into());
    }
    let id = c.instance_id.as_str();
    let forced = within(limit, "ec2", "StopInstances", r.stop(id, false, true)).await;
    let why = match &forced {
        Ok(_) => "stuck in stopping: stop forced".to_string(),
        Err(e) => format!("stuck in stopping; the forced stop failed ({e})"),
    };
    let mut s = again(c, POLL, why);
    if let (Step::Again { next, .. }, Ok(_)) = (&mut s, &forced) {
        next.forced = true;
    }
    s
}

/// Schedule what comes next (the next look, or the verification), or escalate: the step's name, when the next
/// schedule runs, and the follow-up's message id.
async fn carry_out(
    rsp: &Responder,
    actors: &Actors,
    c: &Continuation,
    step: Step,
    state_name: Option<InstanceState>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<(String, Option<DateTime<Utc>>, Option<String>), HandleError> {
    Ok(match step {
        Step::Again { next, after, why } => {
            // Never look later than the give-up time: an instance that stays stopped is escalated within 20 minutes of
            // the stop, a late schedule and Lambda's retries of the escalation included (the simulation's invariant).
            let to_give_up = (c.stopped_at + GIVE_UP_AFTER) - now;
            let after = after.min(to_give_up).max(POLL);
            let at = scheduling_time(now, budget) + after;
            info!(instance = %c.instance_id, attempt = next.attempt, %why, "recover continues later");
            match schedule(actors, &next.schedule_name(), &next.to_event(), at, budget).await {
                Ok(()) => ("again".to_string(), Some(at), None),
                Err(e) => {
                    // Nobody would look again: say so now, in the thread, with the commands for its state.
                    let stuck = Stuck::NextCheckUnscheduled {
                        error: e.to_string(),
                    };
                    let mid = escalate(rsp, c, state_name, &stuck, budget).await?;
                    ("escalated".to_string(), None, mid)
                }
            }
        }
        Step::Started { detail } => {
            info!(instance = %c.instance_id, %detail, "recover: instance starting");
            let request = VerifyRequest {
                incident_key: c.incident_key.clone(),
                thread_id: c.thread_id.clone(),
                instance_id: c.instance_id.clone(),
                action: ActionKind::StopStart,
                acted_at: c.stopped_at,
                alarm_name: c.alarm_name.clone(),
                region: c.region.clone(),
            };
            match schedule_verification(rsp, actors, &request, now, budget).await {
                Ok(at) => ("started".to_string(), Some(at), None),
                Err(e) => {
                    // Nobody would check that it came back: say so in the thread now.
                    warn!(error = %e, "verification after the recover not scheduled");
                    let stuck = Stuck::VerificationUnscheduled {
                        error: e.to_string(),
                    };
                    let mid = escalate(rsp, c, state_name, &stuck, budget).await?;
                    ("started".to_string(), None, mid)
                }
            }
        }
        Step::Escalate { stuck } => {
            warn!(instance = %c.instance_id, detail = %stuck, "recover cannot complete: escalating");
            let mid = escalate(rsp, c, state_name, &stuck, budget).await?;
            ("escalated".to_string(), None, mid)
        }
    })
}

/// Why a continuation is not carried out now.
enum Refusal {
    /// The ledger holds no such recover: ignored.
    Unrecorded(String),
    /// The ledger could not be read: the continuation is neither proven nor disproven.
    Unreadable(crate::ports::AwsError),
}

/// The continuation matches a stop-start ec2ops recorded for this incident and instance, at this time.
async fn authentic(rsp: &Responder, c: &Continuation, budget: &Budget) -> Result<(), Refusal> {
    let Some(ledger) = &rsp.ledger else {
        return Err(Refusal::Unrecorded("no ledger to check it against".into()));
    };
    let recorded = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "GetItem",
        ledger.actions.recorded_action(&c.incident_key),
    )
    .await
    .map_err(Refusal::Unreadable)?
    .ok_or_else(|| Refusal::Unrecorded("no action is recorded for this incident".into()))?;
    if recorded.action != ActionKind::StopStart || recorded.instance_id != c.instance_id {
        return Err(Refusal::Unrecorded(format!(
            "the recorded action is a {} of {}",
            recorded.action.as_str(),
            recorded.instance_id
        )));
    }
    if (recorded.at - c.stopped_at).num_seconds().abs() > 1 {
        return Err(Refusal::Unrecorded(
            "the recorded stop was at another time".into(),
        ));
    }
    // The continuation is scheduled before the stop: a stop that EC2 refused leaves nothing to continue.
    if let crate::ports::Progress::Failed { error } = &recorded.progress {
        return Err(Refusal::Unrecorded(format!(
            "the recorded stop failed ({error}): nothing to continue"
        )));
    }
    Ok(())
}

/// How many times in a row an unreadable ledger reschedules the same continuation before the invocation fails
/// instead (Lambda then retries it twice and keeps it in the failed-events queue, which the stack's alarm watches).
pub const UNREADABLE_RETRIES: u32 = 30;

/// The ledger could not be read, so the continuation is unproven: nothing is done to the instance now, and the same
/// step is scheduled again (the next attempt's name). Without a schedule — or after [`UNREADABLE_RETRIES`] — the
/// invocation fails retryably, so the recover is never silently dropped.
async fn look_again_later(
    actors: &Actors,
    c: &Continuation,
    e: crate::ports::AwsError,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let id = c.instance_id.clone();
    let unreadable = || crate::ports::AwsError {
        message: format!(
            "the ledger could not be read to authenticate the continuation: {}",
            e.message
        ),
        retryable: true,
        ..e.clone()
    };
    if c.unreadable >= UNREADABLE_RETRIES {
        warn!(instance = %id, error = %e, "ledger unreadable: failing the continuation retryably");
        return Err(HandleError::Source(unreadable()));
    }
    let next = Continuation {
        attempt: c.attempt.saturating_add(1),
        unreadable: c.unreadable.saturating_add(1),
        ..c.clone()
    };
    let at = scheduling_time(now, budget) + POLL;
    match schedule(actors, &next.schedule_name(), &next.to_event(), at, budget).await {
        Ok(()) => {
            warn!(instance = %id, error = %e, %at, "ledger unreadable: the continuation looks again later");
            Ok(Outcome::Continued {
                instance_id: id,
                state: None,
                step: "ledger unreadable: again".into(),
                next_at: Some(at),
                message_id: None,
            })
        }
        Err(why) => {
            warn!(instance = %id, error = %e, %why, "ledger unreadable and nothing scheduled: failing retryably");
            Err(HandleError::Source(unreadable()))
        }
    }
}

/// Capacity errors and throttling pass: try StartInstances again later.
fn startable_later(e: &crate::ports::AwsError) -> bool {
    e.retryable || e.kind == crate::ports::ErrorKind::Capacity
}

async fn escalate(
    rsp: &Responder,
    c: &Continuation,
    state: Option<InstanceState>,
    stuck: &Stuck,
    budget: &Budget,
) -> Result<Option<String>, HandleError> {
    let message = followup::render_recover(
        c,
        state,
        stuck,
        budget.wall_now(),
        rsp.settings.language,
        rsp.settings.time_zone,
    );
    // One escalation per recover, however often its continuation is delivered.
    let key = format!(
        "{}#recover-followup#{}",
        c.incident_key,
        c.stopped_at.timestamp()
    );
    let sent = rsp
        .send_follow_up(
            &key,
            &message,
            "recover follow-up",
            budget.wall_now(),
            budget,
        )
        .await?;
    Ok(match sent {
        FollowUp::Published(id) => id,
        FollowUp::AlreadySent => None,
    })
}

/// No continuation could be scheduled: wait for the stop within what the budget can spare, start the instance if it
/// stopped, and otherwise say in the report exactly what state it is in and what to run.
pub(super) async fn finish_inline(
    rsp: &Responder,
    actors: &Actors,
    c: &Continuation,
    budget: &Budget,
) -> String {
    let r = &*actors.remediator;
    let id = &c.instance_id;
    let region = c.region.as_deref().unwrap_or("us-east-1");
    let _ = rsp;
    // The id and region come from the continuation event: they reach the commands only through the shell quoting.
    let in_region =
        |cmd: crate::report::shell::Command| cmd.arg("--region", "REGION", region).render();
    let start = in_region(crate::report::steps::start(id));
    let force_stop = in_region(crate::report::steps::force_stop(id));
    let mut last = None;
    while budget.spendable() > Duration::from_secs(3) {
        match within(
            budget.limit(CALL_TIMEOUT),
            "ec2",
            "DescribeInstances",
            r.state(id),
        )
        .await
        {
            Ok(Some(InstanceState::Stopped)) => {
                return match within(
                    budget.limit(CALL_TIMEOUT),
                    "ec2",
                    "StartInstances",
                    r.start(id, false),
                )
                .await
                {
                    Ok(_) => {
                        "the instance stopped and was started again within this invocation".into()
                    }
                    Err(e) => format!(
                        "the instance is stopped and StartInstances failed ({e}): run `{start}`"
                    ),
                };
            }
            Ok(Some(s)) if s.is_up() => {
                return format!("the instance is {s}");
            }
            Ok(s) => last = s,
            Err(e) => warn!(error = %e, "state unreadable while finishing the recover inline"),
        }
        tokio::time::sleep(Duration::from_secs(2).min(budget.spendable())).await;
    }
    format!(
        "the instance is still {}: once it is stopped run `{start}` (if it hangs in stopping: `{force_stop}`)",
        last.map_or("stopping", InstanceState::as_str)
    )
}
