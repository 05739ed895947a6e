//! One-time schedules the pipeline leaves behind: the check after an action and a recover's continuations, each an
//! EventBridge Scheduler schedule invoking the function with its event. Used by the first action (`act`) and by the
//! continuations (`recover`), so neither imports the other for it.

use chrono::{DateTime, Utc};

use super::{Actors, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::remediation::VerifyRequest;

/// Schedule the check after an action (`verify_after` from now); returns when it runs.
pub(super) async fn schedule_verification(
    rsp: &Responder,
    actors: &Actors,
    request: &VerifyRequest,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<DateTime<Utc>, String> {
    let at = scheduling_time(now, budget) + rsp.settings.verify_after;
    schedule(
        actors,
        &request.schedule_name(),
        &request.to_event(),
        at,
        budget,
    )
    .await
    .map(|()| at)
}

/// When a schedule is created: the clock at that moment (the incident's `now` was taken before the settle delay and
/// the gathering), never earlier than `now`. The clock is the budget's ([`Budget::wall_now`]), so a simulated
/// invocation schedules on its virtual clock.
pub(super) fn scheduling_time(now: DateTime<Utc>, budget: &Budget) -> DateTime<Utc> {
    budget.wall_now().max(now)
}

/// Create a one-time schedule invoking the function with `event`.
pub(super) async fn schedule(
    actors: &Actors,
    name: &str,
    event: &serde_json::Value,
    at: DateTime<Utc>,
    budget: &Budget,
) -> Result<(), String> {
    let Some(scheduler) = &actors.scheduler else {
        return Err("no scheduler configured (EC2OPS_SCHEDULER_ROLE_ARN)".into());
    };
    let Some(target) = actors.function_arn.as_deref() else {
        return Err("the function's own ARN is unknown (not running in Lambda)".into());
    };
    within(
        budget.limit(CALL_TIMEOUT),
        "scheduler",
        "CreateSchedule",
        scheduler.schedule(name, event, at, target),
    )
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}
