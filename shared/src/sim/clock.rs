//! The virtual clock: wall time derived from tokio's clock, which the simulation runs paused (it jumps to the next
//! timer whenever every task waits), so hours of schedules and retries take milliseconds and replay exactly.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

/// Wall-clock time for the simulated world: `base` at the instant the run started, moving with tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base: DateTime<Utc>,
    start: Instant,
}

impl Clock {
    pub fn new(base: DateTime<Utc>) -> Self {
        Clock {
            base,
            start: Instant::now(),
        }
    }

    /// When the run started.
    pub fn base(&self) -> DateTime<Utc> {
        self.base
    }

    pub fn now(&self) -> DateTime<Utc> {
        chrono::Duration::from_std(self.start.elapsed())
            .ok()
            .and_then(|d| self.base.checked_add_signed(d))
            .unwrap_or(self.base)
    }

    /// The tokio instant of wall time `at` (now when `at` is past).
    pub fn instant_of(&self, at: DateTime<Utc>) -> Instant {
        let from_base = (at - self.base).to_std().unwrap_or_default();
        self.start + from_base
    }
}
