//! The responder's one pipeline, shared by the Lambda function and the CLI:
//! parse → claim (exactly once) → gather → analyze → decide → act → render → publish.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, instrument, warn};

use crate::analyze::{assess, Assessment, RuleId};
use crate::config::{ConfigError, Settings};
use crate::event::{parse, EventError, Parsed};
use crate::facts::{Facts, InstanceLookup, Source};
use crate::gather::{gather, Readers};
use crate::model::AlarmChange;
use crate::ports::{
    ActionRecord, AwsError, CallResult, Claim, Remediator, ReportPublisher, VerifyScheduler,
};
use crate::remediation::{decide, ActionKind, ActionOutcome, Decision, VerifyRequest};
use crate::report::render::{self, SnsMessage};
use crate::report::{build, followup, Report, ReportInput};

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
}

impl HandleError {
    /// Whether Lambda's retry can help (shown in the error type the runtime reports).
    pub fn retryable(&self) -> bool {
        match self {
            HandleError::Malformed(_) | HandleError::Config(_) => false,
            HandleError::Publish(e) | HandleError::Source(e) => e.retryable,
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
}

/// What became of an event.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ignored {
        source: String,
        detail_type: String,
    },
    /// The same incident was already claimed by another delivery: no action, no report.
    Duplicate {
        incident_key: String,
    },
    Reported(Box<Incident>),
    /// The scheduled sweep: impaired instances found, and what became of each (new reports; duplicates of
    /// instances already reported stop at the ledger).
    Swept {
        impaired: usize,
        outcomes: Vec<Outcome>,
    },
    /// An AWS Health event: one outcome per affected instance.
    Health {
        outcomes: Vec<Outcome>,
    },
    /// A verification follow-up was posted in the incident's thread.
    Verified {
        request: VerifyRequest,
        fixed: bool,
        message: SnsMessage,
        message_id: Option<String>,
    },
}

/// Where reports go.
pub struct Delivery<'a> {
    pub publisher: &'a dyn ReportPublisher,
    pub topic_arn: &'a str,
}

/// What may change instances. Without it (the CLI's `--offline`) nothing is ever acted on.
pub struct Actors<'a> {
    pub remediator: &'a dyn Remediator,
    pub scheduler: Option<&'a dyn VerifyScheduler>,
    /// The function's own ARN: the target of the verification schedule.
    pub function_arn: Option<&'a str>,
}

/// How long a recover waits for the instance to stop (the function's timeout in template.yaml is above it).
pub const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(240);

/// Rendering: pure.
pub fn render_report(
    change: &AlarmChange,
    facts: &Facts,
    assessment: &Assessment,
    action: &ActionOutcome,
    settings: &Settings,
) -> (Report, SnsMessage) {
    let report = build(&ReportInput {
        change,
        facts,
        assessment,
        action,
        opt_in_tag: &settings.envelope.opt_in_tag,
        language: settings.language,
        time_zone: settings.time_zone,
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
        Decision::DryRun { action } | Decision::Act { action } => ActionOutcome::Held {
            action,
            holds: vec![crate::remediation::Hold::LedgerUnavailable {
                why: "no AWS access in this run (offline)".into(),
            }],
        },
    }
}

/// Handle one event end to end.
#[instrument(skip_all)]
pub async fn respond(
    event: &Value,
    readers: &Readers<'_>,
    actors: Option<&Actors<'_>>,
    delivery: Option<&Delivery<'_>>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Outcome, HandleError> {
    let change = match parse(event) {
        Ok(Parsed::Alarm(c)) => *c,
        Ok(Parsed::Verify(req)) => return verify(*req, readers, delivery, settings, now).await,
        Ok(Parsed::Sweep) => return sweep(readers, actors, delivery, settings, now).await,
        Ok(Parsed::Health(changes)) => {
            let mut outcomes = Vec::new();
            for change in changes {
                outcomes
                    .push(handle_change(change, readers, actors, delivery, settings, now).await?);
            }
            return Ok(Outcome::Health { outcomes });
        }
        Ok(Parsed::Ignored {
            source,
            detail_type,
        }) => {
            info!(%source, %detail_type, "event ignored: not an input ec2ops handles");
            return Ok(Outcome::Ignored {
                source,
                detail_type,
            });
        }
        Err(e) => {
            warn!(error = %e, "malformed event");
            return Err(e.into());
        }
    };
    handle_change(change, readers, actors, delivery, settings, now).await
}

/// One incident: claim, gather, analyze, decide, act, render, publish.
async fn handle_change(
    change: AlarmChange,
    readers: &Readers<'_>,
    actors: Option<&Actors<'_>>,
    delivery: Option<&Delivery<'_>>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Outcome, HandleError> {
    for w in &change.warnings {
        warn!(alarm = %change.alarm_name, warning = %w, "event partly unreadable");
    }
    let key = change.incident_key();

    // Exactly once: the first delivery to claim the key reports; duplicates (even concurrent ones) stop here. The
    // claim runs beside the gathering (both only read or write the ledger's own item), so it adds no round trip; a
    // duplicate wastes a few read calls, which is cheaper than making every incident wait for the claim.
    let claim = async {
        match readers.ledger {
            Some(ledger) => Some(ledger.claim(&key, now).await),
            None => None,
        }
    };
    let (claim, facts) = tokio::join!(claim, gather(&change, readers, settings, now));
    let mut claimed = false;
    match claim {
        Some(Ok(Claim::Duplicate)) => {
            info!(incident = %key, "duplicate delivery: already handled");
            return Ok(Outcome::Duplicate { incident_key: key });
        }
        Some(Ok(Claim::Claimed)) => claimed = true,
        // Report anyway; the ledger view is unavailable too then, so nothing is acted on (fail safe).
        Some(Err(e)) => {
            warn!(incident = %key, error = %e, "ledger unavailable: reporting without acting")
        }
        None => {}
    }

    let assessment = assess(&change, &facts);
    record_impairment(&change, &facts, &assessment, readers, now).await;
    let decision = decide(
        &change,
        &facts,
        &assessment,
        settings.remediation,
        &settings.envelope,
        now,
    );
    let action = match actors {
        Some(a) => act(&change, decision, readers, a, settings, now).await,
        None => outcome_without_acting(decision),
    };
    let (report, message) = render_report(&change, &facts, &assessment, &action, settings);
    info!(
        incident = %key,
        priority = assessment.priority.label(),
        findings = ?assessment.findings.iter().map(|f| f.rule.code()).collect::<Vec<_>>(),
        action = ?action_label(&action),
        gaps = facts.gaps().len(),
        bytes = message.message.len(),
        "incident assessed"
    );
    let message_id = match delivery {
        None => None,
        Some(d) => match d.publisher.publish(d.topic_arn, &message).await {
            Ok(id) => {
                info!(incident = %key, message_id = %id, "report published");
                Some(id)
            }
            Err(e) => {
                warn!(incident = %key, error = %e, code = ?e.code, "publish failed");
                // Give the claim back so Lambda's retry reports; an action already recorded is not repeated.
                if let (true, Some(ledger)) = (claimed, readers.ledger) {
                    if let Err(r) = ledger.release(&key).await {
                        warn!(incident = %key, error = %r, "could not release the claim");
                    }
                }
                return Err(HandleError::Publish(e));
            }
        },
    };
    Ok(Outcome::Reported(Box::new(Incident {
        change,
        facts,
        assessment,
        action,
        report,
        message,
        message_id,
    })))
}

fn action_label(a: &ActionOutcome) -> &'static str {
    match a {
        ActionOutcome::ReportOnly => "report-only",
        ActionOutcome::AdviceOnly => "advice-only",
        ActionOutcome::Held { .. } => "held",
        ActionOutcome::DryRun { .. } => "dry-run",
        ActionOutcome::Done { .. } => "done",
        ActionOutcome::AlreadyDone { .. } => "already-done",
        ActionOutcome::Failed { .. } => "failed",
    }
}

/// Remember a status-check failure per AZ, so that several in a short time read as an AZ event.
async fn record_impairment(
    change: &AlarmChange,
    facts: &Facts,
    assessment: &Assessment,
    readers: &Readers<'_>,
    now: DateTime<Utc>,
) {
    let status_check = [RuleId::SysCheck, RuleId::InstCheck, RuleId::EbsCheck]
        .iter()
        .any(|r| assessment.has(*r));
    let (Some(ledger), Some(i)) = (readers.ledger, facts.found_instance()) else {
        return;
    };
    if !status_check || change.state.value != crate::model::AlarmState::Alarm {
        return;
    }
    if let Some(az) = &i.availability_zone {
        if let Err(e) = ledger.record_impairment(az, &i.id, now).await {
            warn!(error = %e, "could not record the impairment");
        }
    }
    // Tell the sweep this failure is reported (an alarm got there first).
    if let Some(check) = change.primary_metric().map(|m| m.name.as_str()) {
        if change.input != crate::model::InputKind::Sweep && check.starts_with("StatusCheckFailed")
        {
            if let Err(e) = ledger.note_impaired(&i.id, check, now, false).await {
                warn!(error = %e, "could not note the impairment");
            }
        }
    }
}

async fn act(
    change: &AlarmChange,
    decision: Decision,
    readers: &Readers<'_>,
    actors: &Actors<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> ActionOutcome {
    let Some(id) = change.primary_instance() else {
        return outcome_without_acting(decision);
    };
    let r = actors.remediator;
    match decision {
        Decision::DryRun { action } => {
            let first = match action {
                ActionKind::Reboot => r.reboot(id, true).await,
                ActionKind::StopStart => r.stop(id, true).await,
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
        Decision::Act { action } => {
            // Record first, with a conditional write: of two deliveries only one gets to act.
            let Some(ledger) = readers.ledger else {
                return outcome_without_acting(Decision::Act { action });
            };
            let record = ActionRecord {
                incident_key: change.incident_key(),
                instance_id: id.to_string(),
                action,
                at: now,
            };
            match ledger.record_action(&record).await {
                Ok(Some(at)) => return ActionOutcome::AlreadyDone { action, at },
                Ok(None) => {}
                Err(e) => {
                    return ActionOutcome::Held {
                        action,
                        holds: vec![crate::remediation::Hold::LedgerUnavailable {
                            why: e.to_string(),
                        }],
                    }
                }
            }
            let calls = match action {
                ActionKind::Reboot => r.reboot(id, false).await.map(|c| vec![c]),
                ActionKind::StopStart => stop_start(r, id).await,
            };
            match calls {
                Err(e) => ActionOutcome::Failed {
                    action,
                    error: e.to_string(),
                },
                Ok(calls) => {
                    let request_ids = calls
                        .into_iter()
                        .filter_map(|c| match c {
                            CallResult::Done { request_id } => Some(request_id),
                            CallResult::DryRun { .. } => None,
                        })
                        .collect();
                    info!(instance = id, action = action.as_str(), "remediation done");
                    let (verify_at, verify_note) =
                        schedule_verify(change, action, actors, settings, now).await;
                    ActionOutcome::Done {
                        action,
                        at: now,
                        request_ids,
                        verify_at,
                        verify_note,
                    }
                }
            }
        }
        other => outcome_without_acting(other),
    }
}

async fn stop_start(r: &dyn Remediator, id: &str) -> Result<Vec<CallResult>, AwsError> {
    let stop = r.stop(id, false).await?;
    r.wait_stopped(id, STOP_WAIT).await?;
    let start = r.start(id, false).await?;
    Ok(vec![stop, start])
}

async fn schedule_verify(
    change: &AlarmChange,
    action: ActionKind,
    actors: &Actors<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<String>) {
    let Some(scheduler) = actors.scheduler else {
        return (
            None,
            Some("no scheduler configured (EC2OPS_SCHEDULER_ROLE_ARN)".into()),
        );
    };
    let Some(target) = actors.function_arn else {
        return (
            None,
            Some("the function's own ARN is unknown (not running in Lambda)".into()),
        );
    };
    let request = VerifyRequest {
        incident_key: change.incident_key(),
        thread_id: change.thread_id(),
        instance_id: change.primary_instance().unwrap_or_default().to_string(),
        action,
        acted_at: now,
        alarm_name: change.alarm_name.clone(),
        region: change.region.clone(),
    };
    let at = now + settings.verify_after;
    match scheduler.schedule(&request, at, target).await {
        Ok(_) => (Some(at), None),
        Err(e) => {
            warn!(error = %e, "verification not scheduled");
            (None, Some(e.to_string()))
        }
    }
}

/// The scheduled check after an action: read the status checks, post the verdict in the incident's thread.
async fn verify(
    request: VerifyRequest,
    readers: &Readers<'_>,
    delivery: Option<&Delivery<'_>>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Outcome, HandleError> {
    let limit = settings.source_timeout;
    let (instance, status) = tokio::join!(
        tokio::time::timeout(limit, readers.ec2.instance(&request.instance_id)),
        tokio::time::timeout(limit, readers.ec2.instance_status(&request.instance_id)),
    );
    let instance: Source<InstanceLookup> = flatten(instance, limit);
    let status = flatten(status, limit);
    let verdict = followup::verdict(&instance, &status);
    let fixed = verdict == followup::Verdict::Fixed;
    let message = followup::render(
        &request,
        &verdict,
        now,
        settings.language,
        settings.time_zone,
    );
    info!(incident = %request.incident_key, fixed, "verification done");
    let message_id = match delivery {
        None => None,
        Some(d) => Some(
            d.publisher
                .publish(d.topic_arn, &message)
                .await
                .map_err(HandleError::Publish)?,
        ),
    };
    Ok(Outcome::Verified {
        request,
        fixed,
        message,
        message_id,
    })
}

/// The scheduled sweep: every instance whose status checks are impaired becomes an incident — the same pipeline as
/// an alarm on that check, so instances without alarms are covered. The incident key uses the time the check became
/// impaired, so the ledger turns the next sweeps into duplicates until the instance recovers and fails again.
async fn sweep(
    readers: &Readers<'_>,
    actors: Option<&Actors<'_>>,
    delivery: Option<&Delivery<'_>>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Outcome, HandleError> {
    let impaired =
        match tokio::time::timeout(settings.source_timeout, readers.ec2.impaired_instances()).await
        {
            Ok(Ok(list)) => list,
            // Nothing to report without the list; fail the invocation so the failure is visible (the next sweep retries).
            Ok(Err(e)) => return Err(HandleError::Source(e)),
            Err(_) => {
                return Err(HandleError::Source(AwsError::new(
                    "ec2",
                    "DescribeInstanceStatus",
                    format!("timed out after {} ms", settings.source_timeout.as_millis()),
                )))
            }
        };
    info!(impaired = impaired.len(), "sweep");
    // Several impaired instances in one AZ are one AWS-side event: one AZ-EVENT report (its evidence names them all),
    // not one report each. Their impairments go to the ledger first, so the report's AZ-EVENT finding sees them.
    let mut by_az: std::collections::BTreeMap<&str, Vec<&crate::ports::Impaired>> =
        std::collections::BTreeMap::new();
    for i in &impaired {
        by_az
            .entry(i.availability_zone.as_deref().unwrap_or(""))
            .or_default()
            .push(i);
    }
    let mut outcomes = Vec::new();
    for (az, group) in by_az {
        let storm = !az.is_empty() && group.len() >= crate::analyze::AZ_EVENT_INSTANCES;
        if let (true, Some(ledger)) = (storm, readers.ledger) {
            for i in &group {
                if let Err(e) = ledger.record_impairment(az, &i.instance_id, now).await {
                    warn!(error = %e, "could not record the impairment");
                }
            }
        }
        let mut reported_in_group = false;
        for i in group {
            let change = crate::model::AlarmChange::from_sweep(i, now);
            // Reported already (by its alarm, or by a sweep within the hour)? Then nothing new to say.
            if let Some(ledger) = readers.ledger {
                match ledger
                    .note_impaired(&i.instance_id, &i.check, now, true)
                    .await
                {
                    Ok(false) => {
                        outcomes.push(Outcome::Duplicate {
                            incident_key: change.incident_key(),
                        });
                        continue;
                    }
                    Ok(true) => {}
                    Err(e) => {
                        warn!(error = %e, "ledger unavailable: the sweep reports without deduplication")
                    }
                }
            }
            if storm && reported_in_group {
                // Covered by the group's AZ-EVENT report.
                outcomes.push(Outcome::Duplicate {
                    incident_key: change.incident_key(),
                });
                continue;
            }
            reported_in_group = true;
            outcomes.push(handle_change(change, readers, actors, delivery, settings, now).await?);
        }
    }
    Ok(Outcome::Swept {
        impaired: impaired.len(),
        outcomes,
    })
}

fn flatten<T>(
    r: Result<Result<T, AwsError>, tokio::time::error::Elapsed>,
    limit: std::time::Duration,
) -> Source<T> {
    match r {
        Ok(Ok(v)) => Source::Available(v),
        Ok(Err(e)) => Source::Unavailable(e.to_string()),
        Err(_) => Source::Unavailable(format!("timed out after {} ms", limit.as_millis())),
    }
}
