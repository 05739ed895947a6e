//! The second look at a short spike: the first report schedules it (one one-time schedule per incident, named after
//! it), and the scheduled invocation reads the alarm's metric again and posts in the incident's thread only when the
//! picture changed. A re-check of an incident ec2ops did not report (a crafted event, a lost record) posts nothing.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::once::FollowUp;
use super::{schedule, HandleError, Outcome, Responder, CALL_TIMEOUT};
use crate::analyze::recheck::{classify, RecheckRequest};
use crate::analyze::Assessment;
use crate::budget::{within, Budget};
use crate::facts::Role;
use crate::gather::{assemble, deadline};
use crate::model::AlarmChange;
use crate::ports::{MetricQuery, WindowRequest};
use crate::report::followup;

/// Schedule the second look when the incident's advice is to watch a spike: when it runs, or `None` when it is not
/// scheduled (not a spike, turned off, no scheduler, or the schedule failed — then the report asks a person to watch).
pub(super) async fn schedule_recheck(
    rsp: &Responder,
    change: &AlarmChange,
    assessment: &Assessment,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Option<DateTime<Utc>> {
    let after = rsp.settings.recheck_after?;
    let request = RecheckRequest::of(change, assessment)?;
    let actors = rsp.actors.as_ref()?;
    let at = schedule::scheduling_time(now, budget) + after;
    let name = request.schedule_name();
    match schedule::schedule(actors, &name, &request.to_event(), at, budget).await {
        Ok(()) => {
            info!(incident = %request.incident_key, %at, schedule = %name, "second look at the spike scheduled");
            Some(at)
        }
        Err(why) => {
            warn!(incident = %request.incident_key, %why, "second look not scheduled: the report asks a person to watch");
            None
        }
    }
}

/// The scheduled second look: authenticate it against the ledger, read the alarm's metric, compare, and post only a
/// changed picture.
pub(super) async fn recheck(
    rsp: &Responder,
    req: RecheckRequest,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let key = req.incident_key.clone();
    if !reported(rsp, &key, budget).await? {
        warn!(incident = %key, "re-check of an incident ec2ops has no completed record of: nothing posted");
        return Ok(rechecked(key, "refused: no such reported incident", None));
    }
    let limit = budget.limit(rsp.settings.source_timeout);
    let request = window_request(&req, now);
    let points = match deadline(limit, rsp.metrics.metric_data(&request)).await {
        crate::facts::Source::Available(data) => assemble(&request, &data)
            .get(Role::Alarm)
            .map(|s| s.points.clone())
            .unwrap_or_default(),
        crate::facts::Source::Unavailable(why) => {
            // Retryable: Lambda delivers the schedule's event again, and a later look still compares.
            return Err(HandleError::Source(
                crate::ports::AwsError::new("cloudwatch", "GetMetricData", why.to_string())
                    .retryable(true),
            ));
        }
    };
    let picture = classify(&req, &points, now);
    info!(
        incident = %key,
        picture = picture.label(),
        datapoints = points.len(),
        first_peak = req.peak,
        "second look at the spike"
    );
    if !picture.changed() {
        return Ok(rechecked(key, picture.label(), None));
    }
    if matches!(picture, crate::analyze::recheck::Picture::Recovered { .. })
        && alarm_left_alarm(rsp, &req.alarm_name, budget).await
    {
        info!(incident = %key, "the spike recovered and its alarm left ALARM: the OK notice closes the thread");
        return Ok(rechecked(key, "recovered: the OK notice says it", None));
    }
    let lang = rsp.settings.language;
    let message = followup::render_recheck(&req, &picture, now, lang, rsp.settings.time_zone);
    let once = format!("{key}#recheck");
    match rsp
        .send_follow_up(&once, &message, "re-check", now, budget)
        .await?
    {
        FollowUp::Published(id) => Ok(rechecked(key, picture.label(), id)),
        FollowUp::AlreadySent => Ok(Outcome::Duplicate { incident_key: once }),
    }
}

/// Whether the alarm is no longer in ALARM, read from DescribeAlarms' alarms in ALARM (one page): then its OK notice
/// says the recovery in the thread, and the second look does not say it again. Unknown (no reader, the read failed,
/// more pages than one) counts as still in ALARM: the recovery is said once more rather than not at all.
async fn alarm_left_alarm(rsp: &Responder, alarm_name: &str, budget: &Budget) -> bool {
    let Some(lister) = &rsp.evidence.alarms else {
        return false;
    };
    match within(
        budget.limit(CALL_TIMEOUT),
        "cloudwatch",
        "DescribeAlarms",
        lister.in_alarm(),
    )
    .await
    {
        Ok((alarms, false)) => !alarms.iter().any(|a| a.name == alarm_name),
        Ok((_, true)) => false,
        Err(e) => {
            warn!(error = %e, "alarms in ALARM unread: the recovery is said");
            false
        }
    }
}

/// Whether the ledger holds the incident's completed record. Without a ledger nothing can be checked (nor
/// deduplicated) and the look goes on; an unreadable ledger fails the invocation retryably.
async fn reported(rsp: &Responder, key: &str, budget: &Budget) -> Result<bool, HandleError> {
    let Some(ledger) = &rsp.ledger else {
        return Ok(true);
    };
    within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "GetItem",
        ledger.claims.completion(key),
    )
    .await
    .map(|c| c.is_some())
    .map_err(HandleError::Source)
}

/// The alarm's own metric at its period over the re-check's window: one GetMetricData.
fn window_request(req: &RecheckRequest, now: DateTime<Utc>) -> WindowRequest {
    let (start, end) = req.window(now);
    WindowRequest {
        start,
        end,
        period_secs: u64::try_from(req.period_secs()).unwrap_or(60),
        queries: vec![MetricQuery::alarm(&req.metric)],
    }
}

fn rechecked(incident_key: String, picture: &str, message_id: Option<String>) -> Outcome {
    Outcome::Rechecked {
        incident_key,
        picture: picture.to_string(),
        message_id,
    }
}
