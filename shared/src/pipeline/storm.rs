//! Storm-aware delivery ([`crate::storm`]): a report is published when the shared gate has a slot this second;
//! otherwise its entry goes into the storm window's digest buffer, and the window's flush is scheduled (once per
//! window, by name). The flush closes the window, publishes one digest, and records it — run again, it publishes
//! nothing. Every path that cannot defer safely (no scheduler, the ledger failing) publishes the report itself:
//! a report is never lost to the gate.

use std::time::Duration;

use chrono::Utc;
use tracing::{info, warn};

use crate::budget::{within, Budget};
use crate::config::Settings;
use crate::ports::{AwsError, ReportPublisher, VerifyScheduler};
use crate::report::digest::{Digest, DigestEntry, Origin};
use crate::report::render::SnsMessage;
use crate::storm::{Buffered, FlushClaim, LoggedIncident, Window, MAX_STORED_REPORT_BYTES};

use super::outbox::{slot, Gate, Outbox};
pub use super::outbox::{LocalGate, Storm, SLOT_WAIT};
use super::{HandleError, CALL_TIMEOUT};

/// The digest entry of an incident's report.
pub fn entry(
    change: &crate::model::AlarmChange,
    facts: &crate::facts::Facts,
    report: &crate::report::Report,
    action: &str,
) -> DigestEntry {
    let instance = facts.found_instance();
    DigestEntry::new(
        report,
        Origin {
            instance: change.primary_instance().map(str::to_string),
            name: instance.and_then(|i| i.name()).map(str::to_string),
            az: instance.and_then(|i| i.availability_zone.clone()),
            alarm: change.alarm_name.clone(),
            metric: change.primary_metric().map(|m| m.name.clone()),
            fleet: (change.fleet.is_some() || change.contributor().is_some())
                .then(|| change.alarm_name.clone()),
            action: (!matches!(action, "report-only" | "advice-only")).then(|| action.to_string()),
            at: change.state.at,
        },
    )
}

/// The look-back record of a completed incident, its report text cut to [`MAX_STORED_REPORT_BYTES`].
pub fn logged(
    entry: &DigestEntry,
    assessment: &crate::analyze::Assessment,
    report: &crate::report::Report,
    message_id: Option<String>,
    digest: Option<Window>,
    now: chrono::DateTime<Utc>,
) -> LoggedIncident {
    LoggedIncident {
        incident_key: entry.incident_key.clone(),
        at: now,
        priority: entry.priority.label().to_string(),
        rules: assessment
            .findings
            .iter()
            .map(|f| f.rule.code().to_string())
            .collect(),
        instance: entry.instance.clone(),
        alarm: entry.alarm.clone(),
        action: entry.action.clone().unwrap_or_else(|| "report-only".into()),
        message_id,
        digest: digest.map(|w| w.id()),
        report: crate::report::render::email_within(report, MAX_STORED_REPORT_BYTES),
        approval: None,
    }
}

/// The incident log's record of an action proposed for approval: pending, no decision yet.
pub fn proposed(
    action: &crate::remediation::ActionOutcome,
) -> Option<crate::storm::LoggedApproval> {
    match action {
        crate::remediation::ActionOutcome::Proposed {
            action,
            nonce,
            expires_at,
            ..
        } => Some(crate::storm::LoggedApproval {
            nonce: nonce.clone(),
            action: action.as_str().to_string(),
            expires_at: *expires_at,
            state: "pending".into(),
            decisions: Vec::new(),
        }),
        _ => None,
    }
}

/// The look-back record of an incident covered by an AZ event's report (it has no report of its own): listed like
/// any incident, and `ec2ops incidents show` names the report that covers it.
pub fn covered(
    change: &crate::model::AlarmChange,
    key: &str,
    assessment: &crate::analyze::Assessment,
    by: &str,
    language: crate::config::Language,
    now: chrono::DateTime<Utc>,
) -> LoggedIncident {
    let action = format!("covered by {by}");
    // The key holds the alarm's name: it reaches the command only through the shell quoting.
    let show = crate::report::shell::Command::new("ec2ops incidents show")
        .operand("KEY", by)
        .render();
    let report = match language {
        crate::config::Language::Ko => {
            format!("이 인시던트는 같은 AZ의 AZ-EVENT 보고서 하나로 함께 보고되었습니다: {show}")
        }
        crate::config::Language::En => {
            format!("This incident was reported in its AZ's one AZ-EVENT report: {show}")
        }
    };
    LoggedIncident {
        incident_key: key.to_string(),
        at: now,
        priority: assessment.priority.label().to_string(),
        rules: assessment
            .findings
            .iter()
            .map(|f| f.rule.code().to_string())
            .collect(),
        instance: change.primary_instance().map(str::to_string),
        alarm: change.alarm_name.clone(),
        action,
        message_id: None,
        digest: None,
        report,
        approval: None,
    }
}

/// Where the flush of a window is scheduled: the scheduler and the function's own ARN.
pub type FlushScheduler<'a> = (&'a dyn VerifyScheduler, &'a str);

/// How a report went out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Published on its own (the SNS message id).
    Published(String),
    /// Listed in the digest of this storm window.
    Digest(Window),
}

/// Publish `message`, or defer it to the digest of the current storm window when the gate has no slot — or at once
/// when `to_digest` (an incident of an AZ event whose one report is out already).
#[allow(clippy::too_many_arguments)]
pub async fn deliver(
    storm: Option<&Storm>,
    to_digest: bool,
    flush: Option<FlushScheduler<'_>>,
    publisher: &dyn ReportPublisher,
    topic: &str,
    message: &SnsMessage,
    entry: &DigestEntry,
    settings: &Settings,
    budget: &Budget,
) -> Result<Delivered, AwsError> {
    let outbox = Outbox {
        publisher,
        storm,
        settings,
    };
    // The gate was passed below (or deferring failed, or there is no gate); the completion follows the publish.
    let publish = || async {
        outbox
            .send(topic, message, Gate::Taken, Duration::from_secs(2), budget)
            .await
            .map(Delivered::Published)
    };
    let (Some(storm), Some(flush)) = (storm, flush) else {
        return publish().await;
    };
    let now = budget.wall_now();
    if !to_digest {
        match slot(&*storm.gate, settings.storm.per_second, budget).await {
            Ok(true) => return publish().await,
            Ok(false) => {}
            Err(e) => {
                // Fail open (a report matters more than the rate), at this process's own share of the rate.
                warn!(incident = %entry.incident_key, error = %e, "publish gate unavailable: publishing within this process's rate");
                storm.local.slot(settings.storm.per_second, budget).await;
                return publish().await;
            }
        }
    }
    match defer(
        storm,
        flush,
        entry,
        Window::of(now, settings.storm.window),
        budget,
    )
    .await
    {
        Ok(w) => {
            info!(incident = %entry.incident_key, window = %w.id(), "above the publish rate: listed in the window's digest");
            Ok(Delivered::Digest(w))
        }
        Err(e) => {
            warn!(incident = %entry.incident_key, error = %e, "could not defer to a digest: publishing");
            publish().await
        }
    }
}

/// Buffer the entry in `window` (or the next window when its flush has closed it), and make sure the flush of that
/// window is scheduled.
async fn defer(
    storm: &Storm,
    (scheduler, target): FlushScheduler<'_>,
    entry: &DigestEntry,
    window: Window,
    budget: &Budget,
) -> Result<Window, AwsError> {
    let window = buffer_in(storm, entry, window, budget).await?;
    let scheduled = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "GetItem",
        storm.buffer.flush_scheduled(&window),
    )
    .await?;
    if !scheduled {
        // The schedule's name is the window's: creating it twice (two deferred incidents racing) is harmless.
        let at = window.flush_at().max(budget.wall_now());
        within(
            budget.limit(CALL_TIMEOUT),
            "scheduler",
            "CreateSchedule",
            scheduler.schedule(
                &window.schedule_name(target),
                &window.flush_event(),
                at,
                target,
            ),
        )
        .await?;
        within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "UpdateItem",
            storm.buffer.note_scheduled(&window),
        )
        .await?;
    }
    Ok(window)
}

/// Buffer the entry in `window`, or in the next one while a window's flush has closed it (three at most): the
/// window that took it.
async fn buffer_in(
    storm: &Storm,
    entry: &DigestEntry,
    mut window: Window,
    budget: &Budget,
) -> Result<Window, AwsError> {
    for _ in 0..3 {
        let b = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "TransactWriteItems",
            storm.buffer.buffer(&window, entry),
        )
        .await?;
        if b == Buffered::Added {
            return Ok(window);
        }
        window = window.next();
    }
    Err(AwsError::new(
        "dynamodb",
        "TransactWriteItems",
        "three storm windows in a row were closed",
    ))
}

/// What a flush did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flushed {
    pub window: Window,
    /// Incidents the digest listed (0 when it had been published already).
    pub incidents: usize,
    pub message_id: Option<String>,
    /// The digest had been published by an earlier flush: nothing was published now.
    pub already: bool,
}

/// Publish the digest of `window`, once.
pub async fn flush(
    storm: &Storm,
    publisher: &dyn ReportPublisher,
    topic: &str,
    window: Window,
    settings: &Settings,
    budget: &Budget,
) -> Result<Flushed, HandleError> {
    if let Some(already) = close(storm, &window, budget).await? {
        return Ok(already);
    }
    let outbox = Outbox {
        publisher,
        storm: Some(storm),
        settings,
    };
    let (incidents, message_id) = publish_digest(outbox, topic, &window, budget).await?;
    let recorded = within(
        budget.limit_reserved(CALL_TIMEOUT, Duration::ZERO),
        "dynamodb",
        "UpdateItem",
        storm.buffer.published(
            &window,
            message_id.as_deref().unwrap_or("-"),
            budget.wall_now(),
        ),
    )
    .await;
    if let Err(e) = recorded {
        warn!(window = %window.id(), error = %e, "could not record the digest as published");
    }
    Ok(Flushed {
        window,
        incidents,
        message_id,
        already: false,
    })
}

/// Close the window for this flush: `Some` when an earlier flush published its digest already; an error while
/// another flush holds it.
async fn close(
    storm: &Storm,
    window: &Window,
    budget: &Budget,
) -> Result<Option<Flushed>, HandleError> {
    let claim = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "UpdateItem",
        storm
            .buffer
            .close(window, budget.wall_now(), budget.lease_until()),
    )
    .await
    .map_err(HandleError::Source)?;
    match claim {
        FlushClaim::Published { message_id } => {
            info!(window = %window.id(), "digest already published");
            Ok(Some(Flushed {
                window: *window,
                incidents: 0,
                message_id: Some(message_id),
                already: true,
            }))
        }
        FlushClaim::InProgress { until } => Err(HandleError::InProgress {
            incident_key: format!("digest#{}", window.id()),
            until,
        }),
        FlushClaim::Claimed => Ok(None),
    }
}

/// Read the closed window's entries and publish their digest: how many it lists, and its message id (`None` for an
/// empty window, which publishes nothing).
async fn publish_digest(
    outbox: Outbox<'_>,
    topic: &str,
    window: &Window,
    budget: &Budget,
) -> Result<(usize, Option<String>), HandleError> {
    let Some(storm) = outbox.storm else {
        return Ok((0, None));
    };
    let entries = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "Query",
        storm.buffer.entries(window),
    )
    .await
    .map_err(HandleError::Source)?;
    let settings = outbox.settings;
    let digest = Digest::new(
        entries,
        window.start,
        window.end(),
        settings.language,
        settings.time_zone,
        settings.storm.per_second,
    );
    let incidents = digest.len();
    if digest.is_empty() {
        return Ok((0, None));
    }
    // The digest takes a slot of the gate like any report: wait for one while the budget allows.
    let id = outbox
        .send(
            topic,
            &digest.sns(),
            Gate::UntilDeadline,
            Duration::from_secs(2),
            budget,
        )
        .await
        .map_err(HandleError::Publish)?;
    info!(window = %window.id(), incidents, message_id = %id, "digest published");
    Ok((incidents, Some(id)))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use chrono::DateTime;

    use super::*;
    use crate::analyze::Priority;
    use crate::pipeline::outbox::{slot_or_go, wait_for_slot};
    use crate::storm::{DigestBuffer, PublishGate};

    /// A gate, buffer and scheduler that fail (the ledger unreachable), and a publisher that counts.
    struct Broken;

    fn down<T>() -> Result<T, AwsError> {
        Err(AwsError::new("dynamodb", "UpdateItem", "unreachable").retryable(true))
    }

    #[async_trait]
    impl PublishGate for Broken {
        async fn admit(&self, _: i64, _: u32) -> Result<bool, AwsError> {
            down()
        }
    }

    /// A gate that is always full.
    struct Full;

    #[async_trait]
    impl PublishGate for Full {
        async fn admit(&self, _: i64, _: u32) -> Result<bool, AwsError> {
            Ok(false)
        }
    }

    #[async_trait]
    impl DigestBuffer for Broken {
        async fn buffer(&self, _: &Window, _: &DigestEntry) -> Result<Buffered, AwsError> {
            down()
        }
        async fn flush_scheduled(&self, _: &Window) -> Result<bool, AwsError> {
            down()
        }
        async fn note_scheduled(&self, _: &Window) -> Result<(), AwsError> {
            down()
        }
        async fn close(
            &self,
            _: &Window,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
        ) -> Result<FlushClaim, AwsError> {
            down()
        }
        async fn entries(&self, _: &Window) -> Result<Vec<DigestEntry>, AwsError> {
            down()
        }
        async fn published(&self, _: &Window, _: &str, _: DateTime<Utc>) -> Result<(), AwsError> {
            down()
        }
    }

    #[async_trait]
    impl VerifyScheduler for Broken {
        async fn schedule(
            &self,
            _: &str,
            _: &serde_json::Value,
            _: DateTime<Utc>,
            _: &str,
        ) -> Result<String, AwsError> {
            down()
        }
    }

    #[derive(Default)]
    struct Count(Mutex<usize>);

    #[async_trait]
    impl ReportPublisher for Count {
        async fn publish(&self, _: &str, _: &SnsMessage) -> Result<String, AwsError> {
            let mut n = self
                .0
                .lock()
                .map_err(|_| AwsError::new("sns", "Publish", "poisoned"))?;
            *n += 1;
            Ok(format!("m{n}"))
        }
    }

    fn entry() -> DigestEntry {
        DigestEntry {
            incident_key: "k".into(),
            thread_id: "t".into(),
            priority: Priority::P0,
            headline: "h".into(),
            cause: "c".into(),
            instance: None,
            name: None,
            az: None,
            alarm: "a".into(),
            family: "other".into(),
            fleet: None,
            action: None,
            at: Utc::now(),
            quiet: false,
        }
    }

    async fn delivered(gate: Arc<dyn PublishGate>) -> (Result<Delivered, AwsError>, usize) {
        let storm = Storm {
            gate,
            buffer: Arc::new(Broken),
            log: None,
            local: Default::default(),
        };
        let publisher = Count::default();
        let message = SnsMessage {
            subject: "s".into(),
            message: "{}".into(),
            urgent: false,
        };
        let budget = Budget::new(Duration::from_secs(30), Utc::now());
        let r = deliver(
            Some(&storm),
            false,
            Some((&Broken, "arn:aws:lambda:x")),
            &publisher,
            "topic",
            &message,
            &entry(),
            &Settings::default(),
            &budget,
        )
        .await;
        let n = publisher.0.lock().map(|n| *n).unwrap_or_default();
        (r, n)
    }

    #[tokio::test]
    async fn an_unreachable_gate_publishes_the_report_rather_than_lose_it() {
        let (r, n) = delivered(Arc::new(Broken)).await;
        assert!(matches!(r, Ok(Delivered::Published(_))), "{r:?}");
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn a_full_gate_with_an_unreachable_digest_buffer_publishes_the_report_rather_than_lose_it(
    ) {
        let (r, n) = delivered(Arc::new(Full)).await;
        assert!(matches!(r, Ok(Delivered::Published(_))), "{r:?}");
        assert_eq!(n, 1);
    }

    /// A gate whose every slot is taken until the second after its first call.
    #[derive(Default)]
    struct BusyThisSecond(Mutex<Option<i64>>);

    #[async_trait]
    impl PublishGate for BusyThisSecond {
        async fn admit(&self, second: i64, _: u32) -> Result<bool, AwsError> {
            let mut first = self
                .0
                .lock()
                .map_err(|_| AwsError::new("dynamodb", "UpdateItem", "poisoned"))?;
            Ok(second > *first.get_or_insert(second))
        }
    }

    fn storm_of(gate: Arc<dyn PublishGate>) -> Storm {
        Storm {
            gate,
            buffer: Arc::new(Broken),
            log: None,
            local: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_follow_up_waits_for_a_slot_of_the_gate_instead_of_publishing_above_the_rate() {
        let storm = storm_of(Arc::new(BusyThisSecond::default()));
        let started = Utc::now();
        let budget = Budget::new(Duration::from_secs(30), started);
        let r = wait_for_slot(Some(&storm), &Settings::default(), &budget).await;
        assert!(r.is_ok(), "{r:?}");
        assert!(
            Utc::now().timestamp() > started.timestamp(),
            "the slot came from a later second"
        );
    }

    #[tokio::test]
    async fn a_digest_that_finds_no_slot_before_the_deadline_fails_retryably_instead_of_publishing()
    {
        let storm = storm_of(Arc::new(Full));
        let budget = Budget::new(Duration::from_secs(5), Utc::now());
        let r = wait_for_slot(Some(&storm), &Settings::default(), &budget).await;
        let e = r.err().map(|e| (e.code.clone(), e.retryable));
        assert_eq!(e, Some((Some("PublishRateExceeded".to_string()), true)));
    }

    #[tokio::test]
    async fn a_follow_up_with_the_gate_unreachable_or_no_storm_ports_is_published_at_once() {
        let budget = Budget::new(Duration::from_secs(30), Utc::now());
        let storm = storm_of(Arc::new(Broken));
        assert!(wait_for_slot(Some(&storm), &Settings::default(), &budget)
            .await
            .is_ok());
        assert!(wait_for_slot(None, &Settings::default(), &budget)
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_message_that_must_go_out_on_its_own_waits_at_most_ten_seconds_for_a_full_gate() {
        let storm = storm_of(Arc::new(Full));
        let budget = Budget::new(Duration::from_secs(60), Utc::now());
        let started = std::time::Instant::now();
        slot_or_go(Some(&storm), &Settings::default(), &budget, "test").await;
        let waited = started.elapsed();
        assert!(
            waited >= SLOT_WAIT - Duration::from_millis(500)
                && waited < SLOT_WAIT + Duration::from_secs(3),
            "waited {waited:?}: it must try for {SLOT_WAIT:?}, then go"
        );
    }

    #[tokio::test]
    async fn with_the_gate_unreachable_one_process_still_publishes_at_most_the_rate_in_any_second()
    {
        let started = Utc::now();
        let gate = Arc::new(LocalGate::default());
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let gate = gate.clone();
            tasks.spawn(async move {
                let budget = Budget::new(Duration::from_secs(60), Utc::now());
                gate.slot(5, &budget).await;
                Utc::now().timestamp()
            });
        }
        let mut per_second: std::collections::BTreeMap<i64, u32> = Default::default();
        while let Some(Ok(second)) = tasks.join_next().await {
            *per_second.entry(second).or_default() += 1;
        }
        assert!(per_second.values().all(|n| *n <= 5), "{per_second:?}");
        assert_eq!(per_second.values().sum::<u32>(), 12);
        assert!(
            Utc::now().timestamp() - started.timestamp() >= 2,
            "12 at 5 per second span 3 seconds"
        );
    }
}
