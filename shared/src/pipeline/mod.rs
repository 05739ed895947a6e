//! The responder's one pipeline, shared by the Lambda function and the CLI:
//! parse → claim (incident record) → gather → settle (status checks) → analyze → decide → act → render → publish →
//! complete. Every AWS call runs under a deadline carved from the invocation's [`Budget`].
//!
//! Crash safety: the incident record goes `IN_PROGRESS` (leased until the invocation's deadline plus a margin) →
//! `COMPLETED`. A delivery that finds it completed stops; one that finds it leased fails retryably (Lambda tries
//! again later); one that finds the lease expired takes over and says so in the report. Actions are recorded, and
//! their counters moved, in one transaction before the EC2 call ([`act`]); the record's own steps are in [`record`].

mod act;
mod approve;
pub mod heartbeat;
mod incident;
pub mod later;
mod once;
mod open;
mod outbox;
mod propose;
mod recheck;
mod record;
mod recover;
mod schedule;
#[cfg(test)]
mod shape;
mod slack;
pub mod storm;
mod stronger;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, instrument, warn};

use crate::analyze::{assess, Assessment};
use crate::budget::{within, Budget};
use crate::config::{ConfigError, Settings};
use crate::event::{parse, EventError, Parsed};
use crate::facts::{Facts, Source};
use crate::gather::Readers;
use crate::model::AlarmChange;
use crate::ports::{
    AwsError, Diagnostics, InstanceReader, Ledger, MetricReader, Remediator, ReportPublisher,
    VerifyScheduler, WorkQueue,
};
use crate::remediation::{decide, ActionOutcome, Decision, Hold, VerifyRequest};
use crate::report::render::{self, SnsMessage};
use crate::report::{build, Report, ReportInput};

pub use sweep::fan_out_health;

/// Why an event could not be handled. Every variant makes the Lambda invocation fail, so Lambda retries it and
/// finally keeps it in the on-failure destination.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event cannot be read; retrying will not help, but the failure destination keeps it for a human.
    #[error("malformed event: {0}")]
    Malformed(#[from] EventError),
    /// The report could not be delivered; a retry may succeed.
    #[error("report not delivered: {0}")]
    Publish(AwsError),
    /// A source the input cannot do without (the sweep's instance list) failed; the next run retries.
    #[error("{0}")]
    Source(AwsError),
    /// The responder is misconfigured.
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// Another delivery owns the incident and may still be working on it: try again after its lease.
    #[error(
        "incident {incident_key} is in progress in another delivery until {until}; retry later"
    )]
    InProgress {
        incident_key: String,
        until: DateTime<Utc>,
    },
    /// The report is out (`message_id`) but the incident's record could not be completed by this delivery (the claim
    /// or the completion failed, or an interrupted delivery's lease was found): the event is delivered again, marked,
    /// to record it ([`later`]) — resuming the incident when an interrupted delivery may have acted (`resume`).
    #[error("incident {incident_key} is reported but not recorded; a redelivery records it")]
    Released {
        incident_key: String,
        message_id: Option<String>,
        resume: bool,
        until: DateTime<Utc>,
        /// What this delivery did (its report is out): the invocation's result once the redelivery is scheduled —
        /// and also when none can be, unless `must_retry`.
        outcome: Option<Box<Outcome>>,
        /// An interrupted delivery may have acted: without a scheduled redelivery, Lambda's retry must come (it
        /// resumes the incident). Otherwise (the ledger failing) a retry would only publish the report again.
        must_retry: bool,
    },
    /// Fanning work out to the work queue failed; the invocation is retried (nothing was handled yet).
    #[error("fan-out failed: {0}")]
    Enqueue(AwsError),
}

impl HandleError {
    /// Whether Lambda's retry can help (shown in the error type the runtime reports).
    pub fn retryable(&self) -> bool {
        match self {
            HandleError::Malformed(_) | HandleError::Config(_) => false,
            HandleError::InProgress { .. } | HandleError::Released { .. } => true,
            HandleError::Publish(e) | HandleError::Source(e) | HandleError::Enqueue(e) => {
                e.retryable
            }
        }
    }
}

/// One handled incident.
#[derive(Debug, Clone)]
pub struct Incident {
    pub change: AlarmChange,
    pub facts: Facts,
    pub assessment: Assessment,
    pub action: ActionOutcome,
    pub report: Report,
    pub message: SnsMessage,
    /// The SNS message id, when published.
    pub message_id: Option<String>,
    /// This delivery took over an incident an earlier delivery had claimed and not completed.
    pub resumed: bool,
}

/// What became of an event.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ignored {
        source: String,
        detail_type: String,
    },
    /// The same incident was already completed by another delivery: no action, no report.
    Duplicate {
        incident_key: String,
    },
    Reported(Box<Incident>),
    /// Part of an AZ event whose one report (published by incident `by`) names this instance: recorded, not
    /// published again.
    Covered {
        incident_key: String,
        by: String,
    },
    /// The scheduled sweep handled inline (no work queue): impaired instances found, and what became of each.
    Swept {
        impaired: usize,
        outcomes: Vec<Outcome>,
    },
    /// An AWS Health event handled inline: one outcome per affected instance.
    Health {
        outcomes: Vec<Outcome>,
    },
    /// Work fanned out to the work queue: one message per instance incident.
    FannedOut {
        what: &'static str,
        enqueued: usize,
    },
    /// A verification follow-up was posted in the incident's thread.
    Verified {
        request: VerifyRequest,
        fixed: bool,
        message: SnsMessage,
        message_id: Option<String>,
    },
    /// The second look at a spike ran: what it found (`sustained`, `higher`, `recovered`, `unchanged`, or why it was
    /// refused), and the follow-up's message id when the picture changed and it was posted.
    Rechecked {
        incident_key: String,
        picture: String,
        message_id: Option<String>,
    },
    /// Another delivery owned the incident: this event is scheduled to be delivered again at `until`, after that
    /// delivery's lease (if it completed by then, the redelivery is a duplicate).
    Deferred {
        incident_key: String,
        until: DateTime<Utc>,
    },
    /// A storm window's digest: published now (`message_id`), or found published by an earlier flush (`already`).
    Digest {
        window: String,
        incidents: usize,
        message_id: Option<String>,
        already: bool,
    },
    /// A recover's continuation ran: the instance's state, the next continuation if one was scheduled, and the
    /// follow-up published when the recover could not complete.
    Continued {
        instance_id: String,
        state: Option<crate::model::InstanceState>,
        step: String,
        next_at: Option<DateTime<Utc>>,
        message_id: Option<String>,
    },
    /// An answer to a proposed action, or its expiry (`approve` mode): what became of it (`refused: …` when the ledger
    /// changed nothing), and the follow-up posted in the incident's thread.
    Approval {
        nonce: String,
        step: String,
        message_id: Option<String>,
    },
    /// The heartbeat ran the pipeline on its built-in alarm: its one line, and where it was posted (`None` without a
    /// delivery).
    Heartbeat {
        line: String,
        topic_arn: Option<String>,
        message_id: Option<String>,
    },
}

/// Where reports go.
#[derive(Clone)]
pub struct Delivery {
    pub publisher: Arc<dyn ReportPublisher>,
    pub topic_arn: String,
}

/// What may change instances. Without it (the CLI's `--offline`) nothing is ever acted on.
#[derive(Clone)]
pub struct Actors {
    pub remediator: Arc<dyn Remediator>,
    pub scheduler: Option<Arc<dyn VerifyScheduler>>,
    /// The function's own ARN: the target of the verification and continuation schedules.
    pub function_arn: Option<String>,
}

/// The budget of a run that has no Lambda deadline (the CLI, tests).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(120);
/// What one ledger or EC2 mutation call is given at most (the budget may give less).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything one event is handled with: the ports and the settings. Built once (`ec2ops_aws::responder` for
/// the function and the CLI; [`Responder::new`] and the `with_*` steps over in-memory or emulator ports for tests),
/// cheap to clone (the ports are shared).
#[derive(Clone)]
pub struct Responder {
    pub ec2: Arc<dyn InstanceReader>,
    pub metrics: Arc<dyn MetricReader>,
    /// In-guest diagnostics over SSM; `None` when not wired (offline, tests).
    pub diagnostics: Option<Arc<dyn Diagnostics>>,
    /// The ledger; `None` when no table is configured (nothing is deduplicated or acted on).
    pub ledger: Option<Ledger>,
    /// Proposed actions (`approve` mode), on the ledger's table; `None` without it (nothing is proposed).
    pub approvals: Option<Arc<dyn crate::ports::Approvals>>,
    /// The Slack app's settings (`approve` mode with the function URL); `None`: the function URL answers nothing.
    pub slack: Option<Arc<dyn crate::ports::SlackSettings>>,
    pub actors: Option<Actors>,
    pub delivery: Option<Delivery>,
    /// Where the sweep and multi-instance Health events fan out; `None` handles them inline.
    pub queue: Option<Arc<dyn WorkQueue>>,
    /// The publish-rate gate, the storm digests and the incident log; `None` publishes every report as it comes.
    pub storm: Option<storm::Storm>,
    /// CloudTrail, CloudWatch Logs and DescribeAlarms; a reader left `None` leaves its source out of the report.
    pub evidence: EvidencePorts,
    /// Mute rules and Change Calendars; `None` reads none of them, whatever the settings say.
    pub silence: Option<Arc<dyn crate::ports::SilenceReader>>,
    pub settings: Arc<Settings>,
}

/// The evidence readers a [`Responder`] owns ([`crate::gather::evidence`] reads through them).
#[derive(Clone, Default)]
pub struct EvidencePorts {
    pub changes: Option<Arc<dyn crate::ports::ChangeReader>>,
    pub logs: Option<Arc<dyn crate::ports::LogReader>>,
    pub alarms: Option<Arc<dyn crate::ports::AlarmLister>>,
    pub targets: Option<Arc<dyn crate::ports::TargetReader>>,
}

impl Responder {
    /// A responder that reads through `ec2` and `metrics` and does nothing else: no ledger, no actions, no
    /// delivery, no fan-out (add them with the `with_*` steps).
    pub fn new(
        settings: Settings,
        ec2: Arc<dyn InstanceReader>,
        metrics: Arc<dyn MetricReader>,
    ) -> Self {
        Responder {
            ec2,
            metrics,
            diagnostics: None,
            ledger: None,
            approvals: None,
            slack: None,
            actors: None,
            delivery: None,
            queue: None,
            storm: None,
            evidence: EvidencePorts::default(),
            silence: None,
            settings: Arc::new(settings),
        }
    }

    pub fn with_storm(mut self, storm: storm::Storm) -> Self {
        self.storm = Some(storm);
        self
    }

    /// The same responder reading mute rules and Change Calendars through `silence` (each when its setting is on).
    pub fn with_silence(mut self, silence: Arc<dyn crate::ports::SilenceReader>) -> Self {
        self.silence = Some(silence);
        self
    }

    pub fn with_diagnostics(mut self, diagnostics: Arc<dyn Diagnostics>) -> Self {
        self.diagnostics = Some(diagnostics);
        self
    }

    pub fn with_ledger(mut self, ledger: Ledger) -> Self {
        self.ledger = Some(ledger);
        self
    }

    pub fn with_approvals(mut self, approvals: Arc<dyn crate::ports::Approvals>) -> Self {
        self.approvals = Some(approvals);
        self
    }

    pub fn with_slack(mut self, slack: Arc<dyn crate::ports::SlackSettings>) -> Self {
        self.slack = Some(slack);
        self
    }

    pub fn with_actors(mut self, actors: Actors) -> Self {
        self.actors = Some(actors);
        self
    }

    pub fn with_delivery(mut self, publisher: Arc<dyn ReportPublisher>, topic_arn: &str) -> Self {
        self.delivery = Some(Delivery {
            publisher,
            topic_arn: topic_arn.to_string(),
        });
        self
    }

    pub fn with_queue(mut self, queue: Arc<dyn WorkQueue>) -> Self {
        self.queue = Some(queue);
        self
    }

    /// The same responder scheduling its follow-ups to `arn` (the Lambda function learns its ARN per invocation).
    pub fn with_function_arn(&self, arn: &str) -> Self {
        let mut r = self.clone();
        if let Some(a) = &mut r.actors {
            a.function_arn = Some(arn.to_string());
        }
        r
    }

    /// The readers, as the gather step takes them.
    pub fn readers(&self) -> Readers<'_> {
        Readers {
            ec2: &*self.ec2,
            metrics: &*self.metrics,
            diagnostics: self.diagnostics.as_deref(),
            evidence: crate::gather::evidence::EvidenceReaders {
                changes: self.evidence.changes.as_deref(),
                logs: self.evidence.logs.as_deref(),
                alarms: self.evidence.alarms.as_deref(),
                targets: self.evidence.targets.as_deref(),
            },
            silence: self.silence.as_deref(),
        }
    }
}

/// Rendering: pure.
pub fn render_report(
    change: &AlarmChange,
    facts: &Facts,
    assessment: &Assessment,
    action: &ActionOutcome,
    settings: &Settings,
) -> (Report, SnsMessage) {
    render_report_with(change, facts, assessment, action, settings, &[])
}

/// Rendering with notices about the handling itself (a resumed incident, an unclaimed one).
pub fn render_report_with(
    change: &AlarmChange,
    facts: &Facts,
    assessment: &Assessment,
    action: &ActionOutcome,
    settings: &Settings,
    notices: &[String],
) -> (Report, SnsMessage) {
    render_incident_report(change, facts, assessment, action, settings, notices, None)
}

/// Rendering as an incident's delivery does: with its notices and the time of the second look at a spike when one
/// is scheduled (`None`: the report asks the reader to watch).
pub fn render_incident_report(
    change: &AlarmChange,
    facts: &Facts,
    assessment: &Assessment,
    action: &ActionOutcome,
    settings: &Settings,
    notices: &[String],
    recheck_at: Option<DateTime<Utc>>,
) -> (Report, SnsMessage) {
    let report = build(&ReportInput {
        change,
        facts,
        assessment,
        action,
        opt_in_tag: &settings.envelope.opt_in_tag,
        language: settings.language,
        time_zone: settings.time_zone,
        notices,
        recheck_at,
    });
    let message = render::sns(&report);
    (report, message)
}

/// Analysis, decision and rendering without acting: a decision to act is shown as held for lack of the means
/// (used by `--offline` and by tests of the pure path).
pub fn compose(
    change: &AlarmChange,
    facts: &Facts,
    settings: &Settings,
) -> (Assessment, Report, SnsMessage) {
    let focused = crate::gather::focus(change, facts);
    let change = focused.as_ref().unwrap_or(change);
    let assessment = assess(change, facts);
    let action = outcome_without_acting(decide(
        change,
        facts,
        &assessment,
        settings.remediation,
        &settings.envelope,
        change.state.at,
    ));
    let (report, message) = render_report(change, facts, &assessment, &action, settings);
    (assessment, report, message)
}

fn outcome_without_acting(d: Decision) -> ActionOutcome {
    match d {
        Decision::Off => ActionOutcome::ReportOnly,
        Decision::AdviceOnly => ActionOutcome::AdviceOnly,
        Decision::Held { action, holds } => ActionOutcome::Held { action, holds },
        Decision::AlreadyDone { action, at } => ActionOutcome::AlreadyDone { action, at },
        Decision::DryRun { action } | Decision::Act { action } | Decision::Propose { action } => {
            ActionOutcome::Held {
                action,
                holds: vec![Hold::LedgerUnavailable {
                    why: crate::source::Gap::Offline {
                        call: Some("dynamodb TransactWriteItems".into()),
                    },
                }],
            }
        }
    }
}

impl Responder {
    /// Handle one event end to end within `budget`.
    #[instrument(skip_all)]
    pub async fn respond(
        &self,
        event: &Value,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<Outcome, HandleError> {
        let handled = match later::mark_of(event) {
            Some(mark) => self.record_later(event, mark, now, &budget).await,
            None => self.dispatch(event, now, &budget).await,
        };
        match handled {
            Err(HandleError::InProgress {
                incident_key,
                until,
            }) => self.redeliver(event, incident_key, until, &budget).await,
            Err(HandleError::Released {
                incident_key,
                message_id,
                resume,
                until,
                outcome,
                must_retry,
            }) => {
                let mark = later::Mark {
                    message_id: message_id.clone(),
                    resume,
                };
                let again = later::marked(&later::unmarked(event), &mark);
                match (
                    self.redeliver(&again, incident_key.clone(), until, &budget)
                        .await,
                    outcome,
                ) {
                    (Ok(_), Some(o)) => Ok(*o),
                    (Ok(deferred), None) => Ok(deferred),
                    (Err(_), Some(o)) if !must_retry => {
                        warn!(incident = %incident_key, "reported, but its record is left: no redelivery could be scheduled");
                        Ok(*o)
                    }
                    (Err(_), outcome) => Err(HandleError::Released {
                        incident_key,
                        message_id,
                        resume,
                        until,
                        outcome,
                        must_retry,
                    }),
                }
            }
            other => other,
        }
    }

    /// Another delivery holds the incident's lease. If it dies, Lambda's retries of this event might all come
    /// before its lease ends; so the event is scheduled again for just after the lease, and this delivery ends
    /// without error. Without a scheduler it fails retryably, as before.
    async fn redeliver(
        &self,
        event: &Value,
        incident_key: String,
        until: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Outcome, HandleError> {
        let in_progress = HandleError::InProgress {
            incident_key: incident_key.clone(),
            until,
        };
        let Some(actors) = &self.actors else {
            return Err(in_progress);
        };
        let at = schedule::scheduling_time(until, budget) + chrono::Duration::seconds(5);
        let name = format!("redo-{:016x}-{}", fnv1a(&incident_key), until.timestamp());
        match schedule::schedule(actors, &name, event, at, budget).await {
            Ok(()) => {
                info!(incident = %incident_key, %at, "in progress elsewhere: redelivery scheduled after its lease");
                Ok(Outcome::Deferred {
                    incident_key,
                    until: at,
                })
            }
            Err(why) => {
                warn!(incident = %incident_key, %why, "redelivery not scheduled: failing retryably");
                Err(in_progress)
            }
        }
    }

    async fn dispatch(
        &self,
        event: &Value,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Outcome, HandleError> {
        let budget = *budget;
        if let Some(window) = crate::storm::flush_request(event) {
            return self.flush_digest(window, &budget).await;
        }
        match parse(event) {
            Ok(Parsed::Alarm(c)) => self.incident(*c, Some(event), now, &budget).await,
            Ok(Parsed::Approval(req)) => approve::answer(self, *req, now, &budget).await,
            Ok(Parsed::ApprovalExpiry(nonce)) => approve::expire(self, nonce, now, &budget).await,
            Ok(Parsed::Verify(req)) => sweep::verify(self, *req, now, &budget).await,
            Ok(Parsed::Continue(c)) => recover::continue_recover(self, *c, now, &budget).await,
            Ok(Parsed::Recheck(r)) => recheck::recheck(self, *r, now, &budget).await,
            Ok(Parsed::Sweep) => sweep::sweep(self, now, &budget).await,
            Ok(Parsed::SweepItem(i)) => sweep::sweep_item(self, *i, now, &budget).await,
            Ok(Parsed::Heartbeat) => heartbeat::heartbeat(self, now, &budget).await,
            Ok(Parsed::Health(changes)) => sweep::health(self, event, changes, now, &budget).await,
            Ok(Parsed::Ignored {
                source,
                detail_type,
            }) => {
                info!(%source, %detail_type, "event ignored: not an input ec2ops handles");
                Ok(Outcome::Ignored {
                    source,
                    detail_type,
                })
            }
            Err(e) => {
                warn!(error = %e, "malformed event");
                Err(e.into())
            }
        }
    }

    /// Publish the digest of a storm window (its scheduled flush).
    async fn flush_digest(
        &self,
        window: Result<crate::storm::Window, String>,
        budget: &Budget,
    ) -> Result<Outcome, HandleError> {
        let window = window.map_err(|message| EventError::Field {
            context: "ec2ops digest flush",
            path: "detail".into(),
            message,
        })?;
        let (Some(st), Some(d)) = (&self.storm, &self.delivery) else {
            return Err(HandleError::Config(crate::config::ConfigError {
                name: crate::config::names::LEDGER_TABLE,
                value: String::new(),
                expected: "a ledger table and a topic, to publish a storm window's digest".into(),
            }));
        };
        let f = storm::flush(
            st,
            &*d.publisher,
            &d.topic_arn,
            window,
            &self.settings,
            budget,
        )
        .await?;
        Ok(Outcome::Digest {
            window: f.window.id(),
            incidents: f.incidents,
            message_id: f.message_id,
            already: f.already,
        })
    }

    /// Keep the incident for `ec2ops incidents`. A failure loses only the look-back: the report is out.
    async fn log_incident(&self, incident: crate::storm::LoggedIncident, budget: &Budget) {
        let Some(log) = self.storm.as_ref().and_then(|s| s.log.as_ref()) else {
            return;
        };
        let r = within(
            budget.limit_reserved(CALL_TIMEOUT, Duration::ZERO),
            "dynamodb",
            "TransactWriteItems",
            log.log(&incident),
        )
        .await;
        if let Err(e) = r {
            warn!(incident = %incident.incident_key, error = %e, "could not log the incident for ec2ops incidents");
        }
    }
}

/// FNV-1a, for schedule names derived from an incident key (names allow only `[0-9a-zA-Z-_.]`).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn flatten<T>(
    r: Result<Result<T, AwsError>, tokio::time::error::Elapsed>,
    limit: Duration,
) -> Source<T> {
    match r {
        Ok(Ok(v)) => Source::Available(v),
        Ok(Err(e)) => Source::Unavailable(e.gap()),
        Err(_) => Source::Unavailable(crate::source::Gap::timed_out(limit)),
    }
}
