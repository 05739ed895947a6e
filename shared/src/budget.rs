//! One time budget per invocation. Lambda gives the function a deadline; every AWS call runs under a deadline carved
//! from what is left of it, and a reserve is kept so that the report can always be published and the incident
//! record completed, whatever the sources did.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use crate::ports::AwsError;

/// What is kept back for publishing the report and completing the incident record.
pub const RESERVE: Duration = Duration::from_secs(6);
/// The least a call is given even when the budget is nearly spent (a call with no time at all cannot succeed).
pub const FLOOR: Duration = Duration::from_millis(200);
/// How long past the invocation's deadline an IN_PROGRESS incident record stays owned: after that a retry may
/// take over (the invocation is certainly dead by then).
pub const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// The invocation's deadline, as a monotonic instant and as wall-clock time (for the ledger's lease).
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    deadline: Instant,
    wall_deadline: DateTime<Utc>,
}

impl Budget {
    /// A budget of `total` from `now` (the CLI, tests, and Lambda when its context has no usable deadline).
    pub fn new(total: Duration, now: DateTime<Utc>) -> Self {
        let wall = chrono::Duration::from_std(total)
            .ok()
            .and_then(|d| now.checked_add_signed(d))
            .unwrap_or(now);
        Budget {
            deadline: Instant::now() + total,
            wall_deadline: wall,
        }
    }

    /// From the Lambda context's deadline (milliseconds since the epoch). A deadline in the past or unreadable
    /// gives the fallback, so a clock skew never makes every call time out at once.
    pub fn from_epoch_millis(deadline_ms: u64, now: DateTime<Utc>, fallback: Duration) -> Self {
        let total = i64::try_from(deadline_ms)
            .ok()
            .and_then(DateTime::<Utc>::from_timestamp_millis)
            .and_then(|d| (d - now).to_std().ok())
            .filter(|d| !d.is_zero())
            .unwrap_or(fallback);
        Budget::new(total, now)
    }

    /// The wall-clock time now, read off the budget's monotonic clock: the deadline's wall time less what remains.
    /// In Lambda it is the clock; under a paused tokio clock (the simulation) it is the virtual clock, so every
    /// time the pipeline reads after its start (schedules, the publish gate's second) follows the same clock.
    pub fn wall_now(&self) -> DateTime<Utc> {
        chrono::Duration::from_std(self.remaining())
            .ok()
            .and_then(|r| self.wall_deadline.checked_sub_signed(r))
            .unwrap_or(self.wall_deadline)
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Time left for work that must leave the reserve untouched.
    pub fn spendable(&self) -> Duration {
        self.remaining().saturating_sub(RESERVE)
    }

    /// The deadline for one call that wants `want`: never past the spendable budget, never below [`FLOOR`].
    pub fn limit(&self, want: Duration) -> Duration {
        want.min(self.spendable()).max(FLOOR)
    }

    /// The deadline for a call made from the reserve (publishing, completing the record): the whole remaining time
    /// less a small margin for the completion after it.
    pub fn limit_reserved(&self, want: Duration, keep: Duration) -> Duration {
        want.min(self.remaining().saturating_sub(keep)).max(FLOOR)
    }

    /// Until when an IN_PROGRESS record of this invocation is its own.
    pub fn lease_until(&self) -> DateTime<Utc> {
        chrono::Duration::from_std(LEASE_MARGIN)
            .ok()
            .and_then(|m| self.wall_deadline.checked_add_signed(m))
            .unwrap_or(self.wall_deadline)
    }

    /// Whether less than the reserve is left (start no optional work).
    pub fn exhausted(&self) -> bool {
        self.remaining() <= RESERVE
    }
}

/// Run an AWS call under `limit`; a late answer becomes an error saying so, with the operation's name.
pub async fn within<T>(
    limit: Duration,
    service: &'static str,
    operation: &'static str,
    fut: impl Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(AwsError::late(service, operation, limit)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_never_gets_more_than_the_budget_less_the_reserve() {
        let b = Budget::new(Duration::from_secs(10), Utc::now());
        let l = b.limit(Duration::from_secs(60));
        assert!(l <= Duration::from_secs(4), "{l:?}");
        assert!(l >= Duration::from_secs(3), "{l:?}");
    }

    #[tokio::test]
    async fn a_spent_budget_still_gives_each_call_the_floor() {
        let b = Budget::new(Duration::from_secs(1), Utc::now());
        assert_eq!(b.limit(Duration::from_secs(5)), FLOOR);
        assert!(b.exhausted());
    }

    #[test]
    fn a_deadline_in_the_past_falls_back_instead_of_timing_everything_out() {
        let now = Utc::now();
        let past = (now.timestamp_millis() - 5_000) as u64;
        let b = Budget::from_epoch_millis(past, now, Duration::from_secs(30));
        assert!(b.lease_until() > now + chrono::Duration::seconds(30));
    }

    #[tokio::test]
    async fn a_late_call_is_an_error_naming_the_operation() {
        let r: Result<(), AwsError> = within(
            Duration::from_millis(10),
            "sns",
            "Publish",
            std::future::pending(),
        )
        .await;
        let e = r.unwrap_err();
        assert_eq!(e.operation, "Publish");
        assert_eq!(e.code.as_deref(), Some("DeadlineExceeded"));
        assert!(e.retryable);
    }
}
