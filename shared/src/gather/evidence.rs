//! The evidence reads of one incident, each under the source deadline, joined to the gathering rounds so the
//! critical path stays at three sequential round trips:
//! - round one (needs only the instance id): LookupEvents on the instance, FilterLogEvents on each configured group
//!   (concurrently), one DescribeAlarms;
//! - round two (needs DescribeInstances' answer): LookupEvents on the first security group, and on the first volume
//!   where the budget allows it.
//!
//! CloudTrail allows 2 LookupEvents per second per account and region. The instance's and the security group's
//! lookups are the two of the first second; a third (the volume's) would have to wait a second
//! ([`THIRD_LOOKUP_AFTER`]), so it is made only when the report waits that long anyway — for the in-guest
//! diagnostics, which take seconds. A throttled lookup, after the SDK's retries, is a named gap, never a failed
//! incident.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use tracing::warn;

use crate::evidence::changes::{Changes, Lookup, LOOKBACK_HOURS};
use crate::evidence::logs::{self, LogEvidence, ReadError, READ_PER_GROUP};
use crate::evidence::{alarms, Evidence};
use crate::facts::Source;
use crate::model::AlarmChange;
use crate::ports::{AlarmLister, AwsError, ChangeReader, LogReader};

/// When the third LookupEvents of an incident may start, after the first (CloudTrail's 2 per second).
pub const THIRD_LOOKUP_AFTER: Duration = Duration::from_secs(1);

/// The evidence readers; each `None` when not wired (offline mode, tests): its source is then left out of the
/// report rather than shown as unavailable.
#[derive(Clone, Copy, Default)]
pub struct EvidenceReaders<'a> {
    pub changes: Option<&'a dyn ChangeReader>,
    pub logs: Option<&'a dyn LogReader>,
    pub alarms: Option<&'a dyn AlarmLister>,
    pub targets: Option<&'a dyn crate::ports::TargetReader>,
}

impl EvidenceReaders<'_> {
    /// No evidence reader.
    pub const NONE: EvidenceReaders<'static> = EvidenceReaders {
        changes: None,
        logs: None,
        alarms: None,
        targets: None,
    };
}

async fn under<T>(
    limit: Duration,
    (service, operation): (&'static str, &'static str),
    fut: impl Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(r) => r,
        Err(_) => Err(AwsError::late(service, operation, limit)),
    }
}

/// Log a failed read and keep its reason for the report.
fn reason(e: AwsError) -> crate::source::Gap {
    warn!(service = e.service, operation = e.operation, code = ?e.code, error = %e, "evidence source unavailable");
    e.gap()
}

const LOOKUP: (&str, &str) = ("cloudtrail", "LookupEvents");

/// What round one read, waiting for round two.
pub struct RoundOne {
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    window_minutes: i64,
    /// When the first LookupEvents started (the pacing of the later ones counts from it).
    started: Instant,
    instance: Option<Lookup>,
    logs: Option<Source<LogEvidence>>,
    alarms: Option<Source<alarms::OtherAlarms>>,
}

/// Round one of the evidence: everything that needs only the instance id.
pub async fn round_one(
    change: &AlarmChange,
    instance_id: &str,
    readers: &EvidenceReaders<'_>,
    settings: &crate::config::Settings,
    now: DateTime<Utc>,
    limit: impl Fn() -> Duration,
) -> RoundOne {
    let at = change.state.at;
    let since = at
        .checked_sub_signed(chrono::Duration::hours(LOOKBACK_HOURS))
        .unwrap_or(at);
    let until = at.max(now);
    let started = Instant::now();
    let trail = async {
        let r = readers.changes?;
        let events = under(limit(), LOOKUP, r.changes(instance_id, since, until))
            .await
            .map_err(reason);
        Some(Lookup {
            resource: instance_id.to_string(),
            events,
        })
    };
    let log_reads = async {
        let r = readers.logs?;
        let (from, to) = logs::window(at);
        let groups = &settings.log_groups;
        let read = |n: usize| {
            let group = groups.get(n).cloned();
            let l = limit();
            async move {
                let g = group?;
                let read = r.log_lines(&g, instance_id, from, to, READ_PER_GROUP);
                let res = match under(l, ("logs", "FilterLogEvents"), read).await {
                    Ok(lines) => Ok(lines),
                    Err(e) if e.code.as_deref() == Some("ResourceNotFoundException") => {
                        Err(ReadError::NotFound)
                    }
                    Err(e) => Err(ReadError::Failed(reason(e))),
                };
                Some((g, res))
            }
        };
        let found = tokio::join!(read(0), read(1), read(2), read(3), read(4));
        let reads: Vec<_> = [found.0, found.1, found.2, found.3, found.4]
            .into_iter()
            .flatten()
            .collect();
        Some(logs::assemble(at, instance_id, reads))
    };
    let other_alarms = async {
        let r = readers.alarms?;
        Some(
            match under(limit(), ("cloudwatch", "DescribeAlarms"), r.in_alarm())
                .await
                .map_err(reason)
            {
                Ok((listed, more)) => Source::Available(alarms::on_instance(
                    instance_id,
                    &change.alarm_name,
                    &listed,
                    more,
                )),
                Err(why) => Source::Unavailable(why),
            },
        )
    };
    let (instance, logs, alarms) = tokio::join!(trail, log_reads, other_alarms);
    RoundOne {
        since,
        until,
        window_minutes: settings.change_window.num_minutes(),
        started,
        instance,
        logs,
        alarms,
    }
}

/// Round two of the evidence: the lookups of the instance's first security group and (when given: the report waits
/// for the diagnostics anyway) its first volume, a second after the first lookup; then everything put together.
pub async fn round_two(
    first: RoundOne,
    readers: &EvidenceReaders<'_>,
    group: Option<&str>,
    volume: Option<&str>,
    limit: impl Fn() -> Duration,
) -> Evidence {
    let lookup = |resource: Option<&str>, after: Duration| {
        let resource = resource.map(str::to_string);
        let start_at = first.started + after;
        let l = &limit;
        async move {
            let (r, resource) = (readers.changes?, resource?);
            tokio::time::sleep_until(start_at).await;
            let events = under(l(), LOOKUP, r.changes(&resource, first.since, first.until))
                .await
                .map_err(reason);
            Some(Lookup { resource, events })
        }
    };
    let (g, v) = tokio::join!(
        lookup(group, Duration::ZERO),
        lookup(volume, THIRD_LOOKUP_AFTER)
    );
    let changes = first.instance.map(|i| {
        let lookups: Vec<Lookup> = std::iter::once(i).chain(g).chain(v).collect();
        Changes::assemble(first.since, first.until, first.window_minutes, lookups)
    });
    Evidence {
        changes,
        logs: first.logs,
        alarms: first.alarms,
        impact: None,
    }
}
