//! Storm-aware delivery: a publish-rate gate shared by every concurrent invocation, the storm window whose digest
//! takes the incidents published above that rate, and the look-back log of recorded incidents — their ports, and the
//! pure arithmetic of windows and flush events.
//!
//! SNS disables an email subscription that receives more than 10 messages per second. Every publish first takes a
//! slot of the current second from the gate (one counter item per second in the ledger, a conditional `ADD`, so
//! concurrent invocations share it). An incident that finds no slot is still analysed, acted on and recorded; its
//! summary goes into the buffer of the current storm window, and the first such incident schedules the window's
//! flush (EventBridge Scheduler, one-time, named after the window, so scheduling twice is harmless). The flush
//! closes the window for new entries, publishes one digest of everything buffered, and records that it did: run
//! twice, it publishes once.

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::ports::AwsError;
use crate::report::digest::DigestEntry;

pub use crate::config::{
    StormSettings, DEFAULT_PER_SECOND, DEFAULT_WINDOW_SECONDS, MAX_PER_SECOND,
};

/// The flush runs this long after its window ends, so that an incident that took its window just before the end
/// has buffered its entry.
pub const FLUSH_GRACE: Duration = Duration::seconds(15);
/// How long a gate counter lives.
pub const GATE_TTL: Duration = Duration::hours(1);
/// The detail type of a window's flush (`{"source": "ec2ops", "detail-type": "ec2ops.digest-flush", …}`).
pub const FLUSH_DETAIL_TYPE: &str = "ec2ops.digest-flush";

/// A storm window: `[start, start + length)`, aligned to multiples of its length since the epoch, so every
/// invocation computes the same window for the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub length: Duration,
}

impl Window {
    /// The window holding `t`.
    pub fn of(t: DateTime<Utc>, length: Duration) -> Window {
        let len = length.num_seconds().max(1);
        let secs = t.timestamp();
        let start = secs - secs.rem_euclid(len);
        Window {
            start: Utc.timestamp_opt(start, 0).single().unwrap_or(t),
            length: Duration::seconds(len),
        }
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.start
            .checked_add_signed(self.length)
            .unwrap_or(self.start)
    }

    /// The window after this one.
    pub fn next(&self) -> Window {
        Window {
            start: self.end(),
            length: self.length,
        }
    }

    /// The window's id in the ledger and in schedule names: `20261201T090000Z-60`.
    pub fn id(&self) -> String {
        format!(
            "{}-{}",
            self.start.format("%Y%m%dT%H%M%SZ"),
            self.length.num_seconds()
        )
    }

    /// When the flush runs.
    pub fn flush_at(&self) -> DateTime<Utc> {
        self.end()
            .checked_add_signed(FLUSH_GRACE)
            .unwrap_or(self.end())
    }

    /// The flush's one-time schedule name (schedule names allow `[0-9a-zA-Z-_.]`) for the function `target`: the
    /// schedule group is the account's, so two deployments in one account must not share a window's name (the
    /// second would find the first's schedule, take it as its own, and never flush).
    pub fn schedule_name(&self, target: &str) -> String {
        let h = target.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("digest-{}-{:08x}", self.id(), h & 0xffff_ffff)
    }

    /// The event the flush's schedule invokes the function with.
    pub fn flush_event(&self) -> Value {
        json!({
            "source": "ec2ops",
            "detail-type": FLUSH_DETAIL_TYPE,
            "detail": {
                "window_start": self.start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "window_seconds": self.length.num_seconds(),
            }
        })
    }
}

/// The flush event's window, when `event` is a flush event: `Some(Err(why))` when it is one but cannot be read.
pub fn flush_request(event: &Value) -> Option<Result<Window, String>> {
    if event.get("source").and_then(Value::as_str) != Some("ec2ops")
        || event.get("detail-type").and_then(Value::as_str) != Some(FLUSH_DETAIL_TYPE)
    {
        return None;
    }
    let detail = event.get("detail");
    let start = detail
        .and_then(|d| d.get("window_start"))
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc));
    let secs = detail
        .and_then(|d| d.get("window_seconds"))
        .and_then(Value::as_i64)
        .filter(|s| (1..=3600).contains(s));
    Some(match (start, secs) {
        (Some(start), Some(secs)) => Ok(Window::of(start, Duration::seconds(secs))),
        _ => Err(format!(
            "{FLUSH_DETAIL_TYPE}: detail needs window_start (RFC 3339) and window_seconds (1 to 3600)"
        )),
    })
}

/// The publish-rate gate, shared across concurrent invocations.
#[async_trait]
pub trait PublishGate: Send + Sync {
    /// Take one of the `limit` publish slots of the UTC second `second` (epoch seconds); `false` when all are
    /// taken.
    async fn admit(&self, second: i64, limit: u32) -> Result<bool, AwsError>;
}

/// Where an entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buffered {
    /// In the window's buffer: the window's digest will list it.
    Added,
    /// The window's digest is already being published: use the next window.
    Closed,
}

/// What a flush found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlushClaim {
    /// This flush closed the window (no entry can be added any more) and owns its publication.
    Claimed,
    /// The window's digest was published already (its SNS message id).
    Published { message_id: String },
    /// Another flush owns it until `until`.
    InProgress { until: DateTime<Utc> },
}

/// The storm windows' digest buffers.
#[async_trait]
pub trait DigestBuffer: Send + Sync {
    /// Add an incident's entry to the window (once per incident key: a retry overwrites its own entry), unless the
    /// window's flush has closed it.
    async fn buffer(&self, window: &Window, entry: &DigestEntry) -> Result<Buffered, AwsError>;
    /// Whether the window's flush is known to be scheduled.
    async fn flush_scheduled(&self, window: &Window) -> Result<bool, AwsError>;
    /// Note that the window's flush is scheduled (after the schedule was created).
    async fn note_scheduled(&self, window: &Window) -> Result<(), AwsError>;
    /// Close the window to new entries and claim its publication until `lease_until`.
    async fn close(
        &self,
        window: &Window,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<FlushClaim, AwsError>;
    /// Every entry of the window.
    async fn entries(&self, window: &Window) -> Result<Vec<DigestEntry>, AwsError>;
    /// Record the window's digest as published.
    async fn published(
        &self,
        window: &Window,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError>;
}

/// The longest report text kept per incident for `ec2ops incidents show` (bytes). A report that is longer is cut
/// the way the email is (least important lines first, with cut notices): the full report of most incidents is 4 to
/// 12 KiB, and a DynamoDB item holds 400 KB.
pub const MAX_STORED_REPORT_BYTES: usize = 48 * 1024;
/// How long the look-back log keeps an incident (as the incident record).
pub const LOG_RETENTION: Duration = Duration::days(7);

/// One recorded incident, as `ec2ops incidents` lists it and `ec2ops incidents show` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedIncident {
    pub incident_key: String,
    /// When it was recorded (completed).
    pub at: DateTime<Utc>,
    /// `P0`…`P3`.
    pub priority: String,
    pub rules: Vec<String>,
    pub instance: Option<String>,
    pub alarm: String,
    /// What ec2ops did (`dry-run`, `held`, …).
    pub action: String,
    /// The SNS message id of its report; `None` when it went into a digest or was covered by an AZ report.
    pub message_id: Option<String>,
    /// The storm window whose digest lists it, when it went into one.
    pub digest: Option<String>,
    /// The plain-text report, at most [`MAX_STORED_REPORT_BYTES`]; empty in listings.
    #[serde(default)]
    pub report: String,
    /// The action proposed for approval (`approve` mode) and every decision on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<LoggedApproval>,
}

/// A proposed action as the incident log keeps it: what would be done, under which nonce, until when, where it stands,
/// and every decision on it (who, when, what happened), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedApproval {
    pub nonce: String,
    pub action: String,
    pub expires_at: DateTime<Utc>,
    /// `pending`, `approved`, `denied` or `expired`.
    pub state: String,
    #[serde(default)]
    pub decisions: Vec<String>,
}

impl LoggedApproval {
    /// Still waiting for an answer at `now`.
    pub fn pending_at(&self, now: DateTime<Utc>) -> bool {
        self.state == "pending" && now < self.expires_at
    }
}

/// The incidents of a look-back, oldest first: the same incident recorded again (a resumed delivery) lists once, at its
/// last record (the adapter and its model both).
pub fn listed(mut out: Vec<LoggedIncident>) -> Vec<LoggedIncident> {
    out.sort_by(|a, b| (a.at, &a.incident_key).cmp(&(b.at, &b.incident_key)));
    let mut seen = std::collections::HashSet::new();
    let mut dedup: Vec<LoggedIncident> = out
        .into_iter()
        .rev()
        .filter(|l| seen.insert(l.incident_key.clone()))
        .collect();
    dedup.reverse();
    dedup
}

/// The look-back log of recorded incidents.
#[async_trait]
pub trait IncidentLog: Send + Sync {
    /// Record a completed incident (again: the same key overwrites).
    async fn log(&self, incident: &LoggedIncident) -> Result<(), AwsError>;
    /// Incidents recorded from `since` to `until`, oldest first, without their report text.
    async fn list(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<LoggedIncident>, AwsError>;
    /// One incident with its report text.
    async fn show(&self, incident_key: &str) -> Result<Option<LoggedIncident>, AwsError>;
}

/// The UTC hours from `since` to `until` (inclusive), oldest first: the look-back log's partitions.
pub fn hours(since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let first = Window::of(since, Duration::hours(1)).start;
    let mut out = Vec::new();
    let mut h = first;
    while h <= until && out.len() <= 24 * 8 {
        out.push(h);
        h = match h.checked_add_signed(Duration::hours(1)) {
            Some(n) => n,
            None => break,
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn every_instant_of_a_window_maps_to_the_same_window_and_the_next_starts_at_its_end() {
        let w = Window::of(t("2026-12-01T09:00:59.999Z"), Duration::seconds(60));
        assert_eq!(w.start, t("2026-12-01T09:00:00Z"));
        assert_eq!(
            Window::of(t("2026-12-01T09:00:00Z"), Duration::seconds(60)),
            w
        );
        assert_eq!(w.next().start, t("2026-12-01T09:01:00Z"));
        assert_eq!(w.flush_at(), t("2026-12-01T09:01:15Z"));
        assert_eq!(w.id(), "20261201T090000Z-60");
    }

    #[test]
    fn a_flush_event_reads_back_as_its_window_and_other_events_are_not_flushes() {
        let w = Window::of(t("2026-12-01T09:00:30Z"), Duration::seconds(120));
        assert_eq!(flush_request(&w.flush_event()), Some(Ok(w)));
        assert_eq!(flush_request(&json!({"source": "aws.cloudwatch"})), None);
        let bad = json!({"source": "ec2ops", "detail-type": FLUSH_DETAIL_TYPE, "detail": {}});
        assert!(matches!(flush_request(&bad), Some(Err(_))));
    }

    #[test]
    fn schedule_names_use_only_the_characters_scheduler_allows_and_differ_between_deployments() {
        let w = Window::of(t("2026-12-01T09:00:30Z"), Duration::seconds(60));
        let a = "arn:aws:lambda:us-east-1:123456789012:function:prod-ec2ops";
        let name = format!("ec2ops-{}", w.schedule_name(a));
        assert!(name.len() <= 64);
        assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_eq!(w.schedule_name(a), w.schedule_name(a));
        assert_ne!(
            w.schedule_name(a),
            w.schedule_name("arn:aws:lambda:us-east-1:123456789012:function:staging-ec2ops")
        );
    }

    #[test]
    fn look_back_hours_cover_the_range_and_are_bounded() {
        let h = hours(t("2026-12-01T09:59:00Z"), t("2026-12-01T11:00:00Z"));
        assert_eq!(
            h,
            [
                t("2026-12-01T09:00:00Z"),
                t("2026-12-01T10:00:00Z"),
                t("2026-12-01T11:00:00Z")
            ]
        );
        assert!(hours(t("2026-01-01T00:00:00Z"), t("2026-12-01T00:00:00Z")).len() <= 24 * 8 + 1);
    }
}
