//! One incident, as typed steps, each a small function with a typed result:
//!
//! open (the claim beside the reads, [`super::open`]) → own (a duplicate stops; no claim, no action) → settle (a
//! status-check failure recorded and its AZ re-read) → resume (what an interrupted delivery did) → assess → route (an
//! AZ event's part: covered, in the digest, or its declaration) → decide and act → render → send (the outbox, or the
//! storm window's digest) → record (the late claim, the completion, the incident log, the sweep's note).
//!
//! A step that ends the incident early returns the [`Outcome`] or the [`HandleError`] the invocation ends with.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::outbox::Gate;
use super::record::{self, AzPart, Late};
use super::{
    act, open, propose, recheck, render_incident_report, storm, HandleError, Incident, Outcome,
    Responder,
};
use crate::analyze::{assess, Assessment, RuleId};
use crate::budget::Budget;
use crate::facts::{Facts, Source};
use crate::model::AlarmChange;
use crate::ports::{AwsError, Claim, Completion};
use crate::remediation::{decide, ActionOutcome, Decision, Hold};
use crate::report::digest::DigestEntry;
use crate::report::render::SnsMessage;
use crate::report::Report;

/// An incident this delivery goes on with: what the claim and the reads left.
struct Claimed {
    key: String,
    /// The alarm as analysed (a fleet alarm that names no instance: its top instance).
    change: AlarmChange,
    facts: Facts,
    claim: Option<Result<Claim, AwsError>>,
    /// This delivery holds the incident's claim: it may act, defer to a digest, and completes the record.
    owned: bool,
    /// It took over from an interrupted delivery.
    resumed: bool,
    /// What the report says about the handling itself (resumed, unclaimed).
    notices: Vec<String>,
    recorded_early: bool,
    /// The event that raised the incident, kept with a proposal (`approve` mode) to check it again on approval.
    origin: Option<serde_json::Value>,
}

/// What an interrupted earlier delivery of the incident did, as far as this one can tell.
#[derive(Default)]
struct Predecessor {
    /// When it acted (its action is this incident's own: a stopped instance is ec2ops's doing).
    acted_at: Option<DateTime<Utc>>,
    /// Its action, reconciled (never repeated).
    action: Option<ActionOutcome>,
    /// Whether it acted could not be read: nothing is acted on, and a later delivery reconciles.
    unknown: Option<AwsError>,
}

/// How an incident's report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Through the publish gate, or into the storm window's digest when the gate has no slot (the owner's report).
    Gate,
    /// Into the storm window's digest at once: part of an AZ event whose one report is the AZ report.
    Digest,
    /// On its own, after waiting up to [`storm::SLOT_WAIT`] for a slot: the AZ report itself, and a report whose
    /// claim failed (only the owner may defer).
    Direct,
}

/// The route, or the end of the incident (covered by its AZ's report).
enum Routing {
    Route {
        route: Route,
        /// This report declared the AZ event: its completion covers the incidents the declaration names.
        az_report: bool,
    },
    Ended(Box<Result<Outcome, HandleError>>),
}

/// The incident, assessed, acted on and rendered.
struct Rendered {
    assessment: Assessment,
    action: ActionOutcome,
    report: Report,
    message: SnsMessage,
    entry: DigestEntry,
}

/// A report that is out while its record is not: the event is delivered again, marked, at `until`.
struct Unrecorded {
    until: DateTime<Utc>,
    /// An interrupted delivery may have acted: the redelivery resumes the incident.
    resume: bool,
    /// Without a schedulable redelivery only Lambda's retry can resume it (else a retry would only publish the
    /// report again).
    must_retry: bool,
}

/// Where the report went: published (its message id) or listed in a storm window's digest.
struct Sent {
    message_id: Option<String>,
    digest: Option<crate::storm::Window>,
}

impl Responder {
    /// One incident: claim, gather, settle, analyze, decide, act, render, publish, complete.
    pub(crate) async fn incident(
        &self,
        change: AlarmChange,
        origin: Option<&serde_json::Value>,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Outcome, HandleError> {
        for w in &change.warnings {
            warn!(alarm = %change.alarm_name, warning = %w, "event partly unreadable");
        }
        let key = change.incident_key();
        let Some(mut cx) = self.claimed(&change, key.clone(), now, budget).await? else {
            return Ok(Outcome::Duplicate { incident_key: key });
        };
        cx.origin = origin.cloned();
        let az = self
            .settle_status_check(
                &cx.change,
                &mut cx.facts,
                &cx.key,
                now,
                budget,
                cx.recorded_early,
            )
            .await;
        let before = self.predecessor(&cx, now, budget).await;
        let assessment = assess_knowing_own_action(&cx.change, &cx.facts, before.acted_at);
        let (route, az_report) = match self
            .route(&cx, &assessment, az.as_deref(), now, budget)
            .await
        {
            Routing::Route { route, az_report } => (route, az_report),
            Routing::Ended(end) => return *end,
        };
        let action = self
            .decide_and_act(&cx, &assessment, &before, now, budget)
            .await;
        // A silenced spike is not looked at again: its second look would be a message of its own, outside the quiet.
        let quiet = matches!(
            crate::remediation::silence::loudness(&cx.change, &cx.facts, &assessment, now),
            crate::remediation::silence::Loudness::Quiet(_)
        );
        let recheck_at = match cx.owned && !quiet {
            true => recheck::schedule_recheck(self, &cx.change, &assessment, now, budget).await,
            false => None,
        };
        let rendered = self.rendered(&cx, assessment, action, recheck_at);
        let sent = self.send(&cx, &rendered, route, now, budget).await?;
        self.record(
            cx,
            rendered,
            sent,
            az_report,
            before.unknown.is_some(),
            now,
            budget,
        )
        .await
    }

    /// Open the incident and read what the claim makes of this delivery: `None` for a duplicate.
    async fn claimed(
        &self,
        change: &AlarmChange,
        key: String,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Option<Claimed>, HandleError> {
        let open::Opened {
            subject,
            facts,
            claim,
            recorded_early,
        } = self.open(change, &key, now, budget).await;
        let Some((owned, notices)) = self.ownership(&key, &claim)? else {
            return Ok(None);
        };
        let mut facts =
            facts.unwrap_or_else(|| Facts::unavailable(crate::source::Gap::NotGathered));
        if let (Some(Err(e)), Some(_)) = (&claim, &self.ledger) {
            // Fail closed: without the claim nothing is acted on.
            facts.ledger = Source::Unavailable(crate::source::Gap::Unclaimed(Box::new(e.gap())));
        }
        Ok(Some(Claimed {
            key,
            change: subject,
            facts,
            resumed: matches!(claim, Some(Ok(Claim::Resumed { .. }))),
            claim,
            owned,
            notices,
            recorded_early,
            origin: None,
        }))
    }

    /// A resumed delivery finishes what its interrupted predecessor recorded, whatever the incident looks like now.
    async fn predecessor(&self, cx: &Claimed, now: DateTime<Utc>, budget: &Budget) -> Predecessor {
        let (Some(actors), true) = (&self.actors, cx.resumed) else {
            return Predecessor::default();
        };
        match act::resume(self, actors, &cx.change, now, budget).await {
            act::Resumed::Nothing => Predecessor::default(),
            act::Resumed::Acted(at, outcome) => Predecessor {
                acted_at: Some(at),
                action: Some(outcome),
                unknown: None,
            },
            // Read as if it acted (a stopped instance is then its doing, and the incident keeps the priority of its
            // cause), act on nothing, and leave it to a later delivery.
            act::Resumed::Unknown(e) => Predecessor {
                acted_at: Some(now),
                action: None,
                unknown: Some(e),
            },
        }
    }

    /// How the report goes out, given the incident's part in an AZ event.
    async fn route(
        &self,
        cx: &Claimed,
        assessment: &Assessment,
        az: Option<&str>,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Routing {
        let route = |route, az_report| Routing::Route { route, az_report };
        if !(assessment.has(RuleId::AzEvent) && cx.owned) {
            return route(if cx.owned { Route::Gate } else { Route::Direct }, false);
        }
        if !record::is_status_check_alarm(&cx.change, &cx.facts) {
            // An alarm on another metric of an impaired instance: part of the AZ event, never its declaration (only
            // settled status-check incidents declare): listed in the window's digest under its AZ.
            return route(Route::Digest, false);
        }
        let Some(az) = az else {
            return route(Route::Gate, false);
        };
        let part = self
            .covered_by_az_event(&cx.change, &cx.facts, assessment, &cx.key, az, now, budget)
            .await;
        match part {
            AzPart::Own => route(Route::Gate, false),
            AzPart::Joins => route(Route::Digest, false),
            AzPart::Declared => route(Route::Direct, true),
            AzPart::Covered {
                outcome,
                recorded: true,
            } => Routing::Ended(Box::new(Ok(*outcome))),
            AzPart::Covered { outcome, .. } => {
                // The record could not be completed: a marked redelivery completes it.
                self.release(&cx.key, now, budget).await;
                Routing::Ended(Box::new(Err(HandleError::Released {
                    incident_key: cx.key.clone(),
                    message_id: None,
                    resume: false,
                    until: budget.wall_now(),
                    outcome: Some(outcome),
                    must_retry: false,
                })))
            }
        }
    }

    /// Decide, then act — or finish what the predecessor started, or hold what cannot be acted on.
    async fn decide_and_act(
        &self,
        cx: &Claimed,
        assessment: &Assessment,
        before: &Predecessor,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> ActionOutcome {
        let settings = &*self.settings;
        let decision = decide(
            &cx.change,
            &cx.facts,
            assessment,
            settings.remediation,
            &settings.envelope,
            now,
        );
        let decision = self.defer_to_stronger(decision, &cx.facts, budget).await;
        match (&before.action, &before.unknown, &self.actors, cx.owned) {
            (Some(a), _, _, _) => a.clone(),
            (None, Some(e), _, _) => held_unknown(decision, e),
            (None, None, Some(actors), true) => match decision {
                Decision::Propose { action } => {
                    let origin = cx.origin.as_ref();
                    propose::propose(self, actors, &cx.change, origin, action, now, budget).await
                }
                d => act::act(self, actors, &cx.change, d, &cx.facts, now, budget).await,
            },
            (None, None, Some(_), false) | (None, None, None, _) => {
                super::outcome_without_acting(decision)
            }
        }
    }

    /// Render the report (pure) and its digest entry.
    fn rendered(
        &self,
        cx: &Claimed,
        assessment: Assessment,
        action: ActionOutcome,
        recheck_at: Option<DateTime<Utc>>,
    ) -> Rendered {
        let (report, message) = render_incident_report(
            &cx.change,
            &cx.facts,
            &assessment,
            &action,
            &self.settings,
            &cx.notices,
            recheck_at,
        );
        info!(
            incident = %cx.key,
            priority = assessment.priority.label(),
            findings = ?assessment.findings.iter().map(|f| f.rule.code()).collect::<Vec<_>>(),
            action = action_label(&action),
            gaps = cx.facts.gaps().len(),
            bytes = message.message.len(),
            resumed = cx.resumed,
            "incident assessed"
        );
        let entry = storm::entry(&cx.change, &cx.facts, &report, action_label(&action));
        Rendered {
            assessment,
            action,
            report,
            message,
            entry,
        }
    }

    /// Send the report by its route. When that fails, the lease of an owned incident ends at once so that Lambda's
    /// retry takes over; a recorded action is not repeated.
    async fn send(
        &self,
        cx: &Claimed,
        r: &Rendered,
        route: Route,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Sent, HandleError> {
        let Some((outbox, topic)) = self.outbox() else {
            return Ok(Sent {
                message_id: None,
                digest: None,
            });
        };
        let published = self.deliver(outbox, topic, r, route, budget).await;
        match published {
            Ok(storm::Delivered::Published(id)) => {
                info!(incident = %cx.key, message_id = %id, "report published");
                Ok(Sent {
                    message_id: Some(id),
                    digest: None,
                })
            }
            Ok(storm::Delivered::Digest(w)) => Ok(Sent {
                message_id: None,
                digest: Some(w),
            }),
            Err(e) => {
                warn!(incident = %cx.key, error = %e, code = ?e.code, "publish failed");
                if cx.owned {
                    self.release(&cx.key, now, budget).await;
                }
                Err(HandleError::Publish(e))
            }
        }
    }

    /// Publish the report on its own, or through the gate (and into the digest when the gate is full).
    async fn deliver(
        &self,
        outbox: super::outbox::Outbox<'_>,
        topic: &str,
        r: &Rendered,
        route: Route,
        budget: &Budget,
    ) -> Result<storm::Delivered, AwsError> {
        match route {
            Route::Direct => outbox
                .send(
                    topic,
                    &r.message,
                    Gate::Bounded("report"),
                    std::time::Duration::from_secs(2),
                    budget,
                )
                .await
                .map(storm::Delivered::Published),
            Route::Gate | Route::Digest => {
                // Only the incident's owner may defer it to a digest: the digest entry is its record of delivery.
                let flush = self
                    .actors
                    .as_ref()
                    .and_then(|a| Some((a.scheduler.as_deref()?, a.function_arn.as_deref()?)));
                storm::deliver(
                    self.storm.as_ref(),
                    route == Route::Digest,
                    flush,
                    outbox.publisher,
                    topic,
                    &r.message,
                    &r.entry,
                    &self.settings,
                    budget,
                )
                .await
            }
        }
    }

    /// Record the incident whose report is out: claimed late when the claim had failed, completed, logged for
    /// `ec2ops incidents`, and noted for the sweep. A report out without its record ends `Released`: a marked
    /// redelivery records it (or resumes an interrupted delivery that may have acted).
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        cx: Claimed,
        r: Rendered,
        sent: Sent,
        az_report: bool,
        unknown: bool,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Result<Outcome, HandleError> {
        let left = self
            .left_unrecorded(&cx, &r, &sent, az_report, unknown, now, budget)
            .await;
        if left.is_none() && (sent.message_id.is_some() || sent.digest.is_some()) {
            self.note_reported(&cx.change, &cx.facts, now, budget).await;
        }
        let key = cx.key.clone();
        let reported = Outcome::Reported(Box::new(Incident {
            change: cx.change,
            facts: cx.facts,
            assessment: r.assessment,
            action: r.action,
            report: r.report,
            message: r.message,
            message_id: sent.message_id.clone(),
            resumed: cx.resumed,
        }));
        match left {
            None => Ok(reported),
            Some(l) => Err(HandleError::Released {
                incident_key: key,
                message_id: sent.message_id,
                resume: l.resume,
                until: l.until,
                outcome: Some(Box::new(reported)),
                must_retry: l.must_retry,
            }),
        }
    }

    /// Record the reported incident; `Some` when this delivery cannot, and a marked redelivery must.
    #[allow(clippy::too_many_arguments)]
    async fn left_unrecorded(
        &self,
        cx: &Claimed,
        r: &Rendered,
        sent: &Sent,
        az_report: bool,
        unknown: bool,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Option<Unrecorded> {
        let late = match (cx.owned, &cx.claim, &sent.message_id) {
            (false, Some(Err(_)), Some(_)) => self.claim_late(&cx.key, now, budget).await,
            _ => Late::NotRecorded,
        };
        let left = |until, resume, must_retry| {
            Some(Unrecorded {
                until,
                resume,
                must_retry,
            })
        };
        match late {
            Late::HeldElsewhere(until) => left(until, true, true),
            Late::LeftToResume => left(budget.wall_now(), true, true),
            Late::Failed => left(budget.wall_now(), true, false),
            Late::Recorded | Late::NotRecorded if unknown => {
                // Not completed: the lease ends now and the event is delivered again, to reconcile what the
                // interrupted delivery may have done once the ledger answers.
                self.release(&cx.key, now, budget).await;
                left(budget.wall_now(), true, true)
            }
            Late::Recorded | Late::NotRecorded if cx.owned || late == Late::Recorded => {
                self.complete_and_log(cx, r, sent, az_report, now, budget)
                    .await
            }
            Late::Recorded | Late::NotRecorded => None,
        }
    }

    /// Complete the record of a reported incident and log it. When the completion fails the report is out but the
    /// record is not: a marked redelivery completes it (this delivery's whole flow ran, so nothing is resumed) rather
    /// than leave it in progress with nobody coming.
    async fn complete_and_log(
        &self,
        cx: &Claimed,
        r: &Rendered,
        sent: &Sent,
        az_report: bool,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Option<Unrecorded> {
        let label = action_label(&r.action);
        let done = Completion {
            message_id: sent.message_id.clone(),
            outcome: match &sent.digest {
                Some(w) => format!("{label}{}{}", crate::ports::DIGEST_MARK, w.id()),
                None if az_report => format!("{label}{}", crate::ports::AZ_REPORT_MARK),
                None => label.to_string(),
            },
            az_report: az_report && sent.digest.is_none(),
        };
        if !self.complete(&cx.key, now, &done, budget).await {
            self.release(&cx.key, now, budget).await;
            return Some(Unrecorded {
                until: budget.wall_now(),
                resume: false,
                must_retry: false,
            });
        }
        let mut logged = storm::logged(
            &r.entry,
            &r.assessment,
            &r.report,
            sent.message_id.clone(),
            sent.digest,
            now,
        );
        logged.approval = storm::proposed(&r.action);
        self.log_incident(logged, budget).await;
        None
    }
}

/// A resumed delivery that could not read whether its predecessor acted acts on nothing: what it would have done is
/// held for the unreadable ledger.
fn held_unknown(decision: Decision, e: &AwsError) -> ActionOutcome {
    let why = crate::source::Gap::UnknownIfActed(Box::new(e.gap()));
    match decision {
        Decision::Act { action }
        | Decision::DryRun { action }
        | Decision::Propose { action }
        | Decision::Held { action, .. } => ActionOutcome::Held {
            action,
            holds: vec![Hold::LedgerUnavailable { why }],
        },
        other => super::outcome_without_acting(other),
    }
}

/// The assessment, knowing that this incident's own action was recorded at `own_action` (a resumed delivery read
/// it): its state since then is ec2ops's doing, so the rules see it even when the ledger's view was unreadable.
fn assess_knowing_own_action(
    change: &AlarmChange,
    facts: &Facts,
    own_action: Option<DateTime<Utc>>,
) -> Assessment {
    let Some(at) = own_action else {
        return assess(change, facts);
    };
    if facts
        .ledger
        .get()
        .is_some_and(|v| v.this_incident_action.is_some())
    {
        return assess(change, facts);
    }
    let mut known = facts.clone();
    let mut view = known.ledger.get().cloned().unwrap_or_default();
    view.this_incident_action = Some(at);
    known.ledger = Source::Available(view);
    assess(change, &known)
}

/// The action's name in logs, digests and the record's completion.
pub(super) fn action_label(a: &ActionOutcome) -> &'static str {
    match a {
        ActionOutcome::ReportOnly => "report-only",
        ActionOutcome::AdviceOnly => "advice-only",
        ActionOutcome::Held { .. } => "held",
        ActionOutcome::DryRun { .. } => "dry-run",
        ActionOutcome::Done { .. } => "done",
        ActionOutcome::AlreadyDone { .. } => "already-done",
        ActionOutcome::Failed { .. } => "failed",
        ActionOutcome::Recovering { .. } => "recovering",
        ActionOutcome::Interrupted { .. } => "interrupted",
        ActionOutcome::Proposed { .. } => "proposed",
    }
}
