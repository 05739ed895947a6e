//! The responder's one pipeline, shared by the Lambda function and the CLI:
//! parse → gather → analyze → decide → render → publish.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, instrument, warn};

use crate::analyze::{assess, Assessment};
use crate::config::{ConfigError, Settings};
use crate::event::{parse, EventError, Parsed};
use crate::facts::Facts;
use crate::gather::{gather, Readers};
use crate::model::AlarmChange;
use crate::ports::{AwsError, ReportPublisher};
use crate::report::render::{self, SnsMessage};
use crate::report::{build, ActionOutcome, Report, ReportInput};

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
    /// The responder is misconfigured.
    #[error("{0}")]
    Config(#[from] ConfigError),
}

impl HandleError {
    /// Whether Lambda's retry can help (shown in the error type the runtime reports).
    pub fn retryable(&self) -> bool {
        match self {
            HandleError::Malformed(_) | HandleError::Config(_) => false,
            HandleError::Publish(e) => e.retryable,
        }
    }
}

/// One handled incident.
#[derive(Debug, Clone)]
pub struct Incident {
    pub change: AlarmChange,
    pub facts: Facts,
    pub assessment: Assessment,
    pub report: Report,
    pub message: SnsMessage,
    /// The SNS message id, when published.
    pub message_id: Option<String>,
}

/// What became of an event.
#[derive(Debug, Clone)]
pub enum Outcome {
    Ignored { source: String, detail_type: String },
    Reported(Box<Incident>),
}

/// Where reports go. `None` only for the CLI without `--publish`.
pub struct Delivery<'a> {
    pub publisher: &'a dyn ReportPublisher,
    pub topic_arn: &'a str,
}

/// Analysis, decision and rendering: pure.
pub fn compose(
    change: &AlarmChange,
    facts: &Facts,
    settings: &Settings,
) -> (Assessment, Report, SnsMessage) {
    let assessment = assess(change, facts);
    let report = build(&ReportInput {
        change,
        facts,
        assessment: &assessment,
        action: &ActionOutcome::ReportOnly,
        language: settings.language,
        time_zone: settings.time_zone,
    });
    let message = render::sns(&report);
    (assessment, report, message)
}

/// Handle one event end to end.
#[instrument(skip_all)]
pub async fn respond(
    event: &Value,
    readers: &Readers<'_>,
    delivery: Option<&Delivery<'_>>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Outcome, HandleError> {
    let change = match parse(event) {
        Ok(Parsed::Alarm(c)) => *c,
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
    for w in &change.warnings {
        warn!(alarm = %change.alarm_name, warning = %w, "event partly unreadable");
    }
    let facts = gather(&change, readers, settings, now).await;
    let (assessment, report, message) = compose(&change, &facts, settings);
    let key = change.incident_key();
    info!(
        incident = %key,
        priority = assessment.priority.label(),
        findings = ?assessment.findings.iter().map(|f| f.rule.code()).collect::<Vec<_>>(),
        gaps = facts.gaps().len(),
        bytes = message.message.len(),
        "incident assessed"
    );
    let message_id = match delivery {
        None => None,
        Some(d) => {
            let id = d
                .publisher
                .publish(d.topic_arn, &message)
                .await
                .map_err(|e| {
                    warn!(incident = %key, error = %e, code = ?e.code, "publish failed");
                    HandleError::Publish(e)
                })?;
            info!(incident = %key, message_id = %id, "report published");
            Some(id)
        }
    };
    Ok(Outcome::Reported(Box::new(Incident {
        change,
        facts,
        assessment,
        report,
        message,
        message_id,
    })))
}
