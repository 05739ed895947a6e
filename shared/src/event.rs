//! Lenient wire types for the events we accept, and their conversion into [`Incident`].
//!
//! We own these types rather than use `aws_lambda_events`' alarm types: those reject metric-math alarms, composite
//! alarms without a suppressor, periods over 65535 and metrics without dimensions, and misread anomaly reasonData.
//! Unknown fields are ignored everywhere; only what a report cannot do without is required.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, DurationRound, FixedOffset, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::insights;
use crate::model::{
    looks_like_instance_id, ActionsSuppressed, AlarmKind, AlarmState, Cause, Comparison,
    Contributor, Datapoint, Delivery, Expression, FleetAlarm, FleetSource, Incident, InstanceState,
    MetricRef, ReasonData, StateInfo, SuppressedBy, TriggeringAlarm,
};

mod convert;
mod health;
mod sweep;

use convert::*;
use health::*;

/// What the parser made of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An alarm state change we report on.
    Alarm(Box<Incident>),
    /// The scheduled sweep for impaired instances (EventBridge Scheduler or a rate rule).
    Sweep,
    /// An AWS Health event for EC2: one incident per affected instance.
    Health(Vec<Incident>),
    /// ec2ops's own scheduled check that an action worked.
    Verify(Box<crate::remediation::VerifyRequest>),
    /// The rest of a recover (start once stopped), scheduled by ec2ops.
    Continue(Box<crate::remediation::Continuation>),
    /// ec2ops's own second look at a short spike, scheduled by its first report.
    Recheck(Box<crate::analyze::recheck::RecheckRequest>),
    /// One impaired instance the sweep fanned out (its own invocation and budget).
    SweepItem(Box<crate::facts::Impaired>),
    /// ec2ops's own heartbeat (its schedule, template.yaml): run the pipeline on a built-in alarm and say so in one
    /// line.
    Heartbeat,
    /// An answer to a proposed action (`approve` mode): `{"approval": {"nonce", "decision", "by"}}`.
    Approval(Box<crate::remediation::approval::AnswerRequest>),
    /// The expiry's one-shot of a proposed action.
    ApprovalExpiry(crate::remediation::approval::Nonce),
    /// An event of a kind we do not handle; logged and dropped on purpose.
    Ignored { source: String, detail_type: String },
}

/// Why an event could not be read. The function returns it as an error so Lambda retries the event and finally
/// keeps it in the on-failure destination: nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The payload is not a JSON object.
    #[error("event is not a JSON object (found {0})")]
    NotAnObject(&'static str),
    /// The payload is not JSON at all.
    #[error("event is not valid JSON: {0}")]
    NotJson(String),
    /// A field is missing or has the wrong type.
    #[error("{context}: {path}: {message}")]
    Field {
        context: &'static str,
        path: String,
        message: String,
    },
    /// A timestamp we need could not be read.
    #[error("{path}: unreadable timestamp {} (expected e.g. 2025-07-20T12:20:28.989+0000)", quote(.value))]
    Timestamp { path: String, value: String },
    /// The state value is not one of ALARM, OK, INSUFFICIENT_DATA.
    #[error("{path}: unknown alarm state {} (expected ALARM, OK or INSUFFICIENT_DATA)", quote(.value))]
    State { path: String, value: String },
}

const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";
/// One series (contributor) of a multi-time-series Metrics Insights alarm changed state.
const CONTRIBUTOR_DETAIL_TYPE: &str = "CloudWatch Alarm Contributor State Change";
/// The detail type of the sweep's schedule payload (`{"source": "ec2ops", "detail-type": "ec2ops.sweep"}`).
pub const SWEEP_DETAIL_TYPE: &str = "ec2ops.sweep";
/// The detail type of one impaired instance the sweep fanned out.
pub const SWEEP_ITEM_DETAIL_TYPE: &str = "ec2ops.sweep-item";
/// The detail type of the heartbeat's schedule payload (`{"source": "ec2ops", "detail-type": "ec2ops.heartbeat",
/// "detail": {}}`): `detail` is an object, its fields are ignored.
pub const HEARTBEAT_DETAIL_TYPE: &str = "ec2ops.heartbeat";

/// The event for one impaired instance found by the sweep (a work-queue message).
pub fn sweep_item_event(i: &crate::facts::Impaired) -> Value {
    serde_json::json!({
        "source": crate::remediation::VERIFY_SOURCE,
        "detail-type": SWEEP_ITEM_DETAIL_TYPE,
        "detail": i,
    })
}
/// The longest period CloudWatch lets an alarm have.
const MAX_PERIOD_SECS: u64 = 604_800;

/// Parse raw bytes (the CLI path).
pub fn parse_bytes(bytes: &[u8]) -> Result<Parsed, EventError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| EventError::NotJson(clip(&e.to_string())))?;
    parse(&value)
}

/// Classify and parse one event.
pub fn parse(event: &Value) -> Result<Parsed, EventError> {
    let obj = match event {
        Value::Object(o) => o,
        Value::Null => return Err(EventError::NotAnObject("null")),
        Value::Array(_) => return Err(EventError::NotAnObject("an array")),
        Value::String(_) => return Err(EventError::NotAnObject("a string")),
        Value::Number(_) => return Err(EventError::NotAnObject("a number")),
        Value::Bool(_) => return Err(EventError::NotAnObject("a boolean")),
    };
    let text = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or_default();
    let source = text("source");
    let detail_type = text("detail-type");

    // An answer is invoked directly, never through EventBridge or a queue: an event with a source is never one (an
    // alarm that somehow carries an `approval` field is read as the alarm).
    if obj.contains_key("approval")
        && !obj.contains_key("source")
        && !obj.contains_key("detail-type")
    {
        return crate::remediation::approval::answer_request(event)
            .map(|r| Parsed::Approval(Box::new(r)))
            .map_err(|e| EventError::Field {
                context: "ec2ops approval",
                path: "approval".into(),
                message: e.to_string(),
            });
    }
    if source == "aws.health" {
        return parse_health(event);
    }
    if source == "aws.ec2" && detail_type == "EC2 Instance State-change Notification" {
        return parse_state_change(event, source, detail_type);
    }
    if let Some(parsed) = parse_own(event, source, detail_type)? {
        return Ok(parsed);
    }
    if let Some(parsed) = parse_cloudwatch(event, obj, source, detail_type)? {
        return Ok(parsed);
    }
    Ok(Parsed::Ignored {
        source: bounded(source, 128),
        detail_type: bounded(detail_type, 128),
    })
}

/// `EC2 Instance State-change Notification`: an incident when the instance is going or gone, else ignored.
fn parse_state_change(
    event: &Value,
    source: &str,
    detail_type: &str,
) -> Result<Parsed, EventError> {
    #[derive(Deserialize)]
    struct Raw {
        time: Option<String>,
        region: Option<String>,
        account: Option<String>,
        detail: RawStateDetail,
    }
    #[derive(Deserialize)]
    struct RawStateDetail {
        #[serde(rename = "instance-id")]
        instance_id: String,
        state: String,
    }
    let raw: Raw = from_value(event, "EC2 Instance State-change Notification")?;
    let Some(state) = InstanceState::parse(&raw.detail.state).filter(|s| s.is_down()) else {
        // pending/running: nothing went wrong.
        return Ok(Parsed::Ignored {
            source: source.into(),
            detail_type: format!("{detail_type} ({})", bounded(&raw.detail.state, 20)),
        });
    };
    if !looks_like_instance_id(&raw.detail.instance_id) {
        return Err(EventError::Field {
            context: "EC2 Instance State-change Notification",
            path: "detail.instance-id".into(),
            message: format!("{} is not an instance id", quote(&raw.detail.instance_id)),
        });
    }
    let at = raw
        .time
        .as_deref()
        .and_then(parse_timestamp)
        .ok_or_else(|| EventError::Timestamp {
            path: "time".into(),
            value: bounded(raw.time.as_deref().unwrap_or(""), QUOTE_MAX + 1),
        })?;
    Ok(Parsed::Alarm(Box::new(Incident::from_state_change(
        &raw.detail.instance_id,
        state,
        at,
        raw.region,
        raw.account,
    ))))
}

/// ec2ops's own messages (the sweep and its items, verification, a recover's continuation, the heartbeat), or
/// `None` for any other event.
fn parse_own(event: &Value, source: &str, detail_type: &str) -> Result<Option<Parsed>, EventError> {
    if source == crate::remediation::VERIFY_SOURCE && detail_type == HEARTBEAT_DETAIL_TYPE {
        // Nothing in it is read, but a payload of another shape is not what the schedule sends: refused, so that a
        // mistyped schedule input fails where it can be seen (the invocation's error, the failed-events queue).
        #[derive(Deserialize)]
        struct Raw {
            #[serde(rename = "detail")]
            _detail: serde_json::Map<String, Value>,
        }
        from_value::<Raw>(event, "ec2ops heartbeat")?;
        return Ok(Some(Parsed::Heartbeat));
    }
    if (source == crate::remediation::VERIFY_SOURCE && detail_type == SWEEP_DETAIL_TYPE)
        || (source == "aws.events" && detail_type == "Scheduled Event")
    {
        return Ok(Some(Parsed::Sweep));
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::remediation::VERIFY_DETAIL_TYPE
    {
        #[derive(Deserialize)]
        struct Raw {
            detail: crate::remediation::VerifyRequest,
        }
        let raw: Raw = from_value(event, "ec2ops verification")?;
        return check_verify(raw.detail).map(|v| Some(Parsed::Verify(Box::new(v))));
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::remediation::CONTINUE_DETAIL_TYPE
    {
        #[derive(Deserialize)]
        struct Raw {
            detail: crate::remediation::Continuation,
        }
        let raw: Raw = from_value(event, "ec2ops recover continuation")?;
        return Ok(Some(Parsed::Continue(Box::new(raw.detail))));
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::analyze::recheck::RECHECK_DETAIL_TYPE
    {
        #[derive(Deserialize)]
        struct Raw {
            detail: crate::analyze::recheck::RecheckRequest,
        }
        let raw: Raw = from_value(event, "ec2ops re-check")?;
        return check_recheck(raw.detail).map(|r| Some(Parsed::Recheck(Box::new(r))));
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::remediation::approval::EXPIRY_DETAIL_TYPE
    {
        let nonce = event
            .pointer("/detail/nonce")
            .and_then(Value::as_str)
            .ok_or_else(|| "no string".to_string())
            .and_then(|n| crate::remediation::approval::Nonce::parse(n).map_err(|e| e.to_string()))
            .map_err(|message| EventError::Field {
                context: "ec2ops approval expiry",
                path: "detail.nonce".into(),
                message,
            })?;
        return Ok(Some(Parsed::ApprovalExpiry(nonce)));
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::remediation::approval::slack::SLACK_ANSWER_DETAIL_TYPE
    {
        // A verified Slack answer, from the work queue (the entry point refuses it from anywhere else).
        let req =
            crate::remediation::approval::slack::slack_answer_request(event).map_err(|e| {
                EventError::Field {
                    context: "ec2ops Slack answer",
                    path: "detail".into(),
                    message: e.to_string(),
                }
            })?;
        return Ok(Some(Parsed::Approval(Box::new(req))));
    }
    if source == crate::remediation::VERIFY_SOURCE && detail_type == SWEEP_ITEM_DETAIL_TYPE {
        #[derive(Deserialize)]
        struct Raw {
            detail: crate::facts::Impaired,
        }
        let raw: Raw = from_value(event, "ec2ops sweep item")?;
        if !looks_like_instance_id(&raw.detail.instance_id) {
            return Err(EventError::Field {
                context: "ec2ops sweep item",
                path: "detail.instance_id".into(),
                message: format!("{} is not an instance id", quote(&raw.detail.instance_id)),
            });
        }
        return Ok(Some(Parsed::SweepItem(Box::new(raw.detail))));
    }
    Ok(None)
}

/// A CloudWatch alarm's (or contributor's) state change, from EventBridge or an alarm action; `None` for any other
/// event.
fn parse_cloudwatch(
    event: &Value,
    obj: &serde_json::Map<String, Value>,
    source: &str,
    detail_type: &str,
) -> Result<Option<Parsed>, EventError> {
    if source == "aws.cloudwatch" && obj.contains_key("alarmData") {
        let raw: RawAlarmAction = from_value(event, "alarm action payload")?;
        return convert(
            Delivery::AlarmAction,
            raw.alarm_data,
            "alarmData",
            Some(raw.alarm_arn),
            raw.account_id,
            raw.region,
        )
        .map(Some);
    }
    if source == "aws.cloudwatch"
        && (detail_type == ALARM_DETAIL_TYPE || detail_type == CONTRIBUTOR_DETAIL_TYPE)
    {
        let context = if detail_type == ALARM_DETAIL_TYPE {
            ALARM_DETAIL_TYPE
        } else {
            CONTRIBUTOR_DETAIL_TYPE
        };
        let raw: RawEnvelope = from_value(event, context)?;
        if detail_type == CONTRIBUTOR_DETAIL_TYPE && raw.detail.alarm_contributor.is_none() {
            return Err(EventError::Field {
                context,
                path: "detail".into(),
                message: "missing field `alarmContributor`".into(),
            });
        }
        let arn = raw
            .resources
            .unwrap_or_default()
            .into_iter()
            .find(|r| r.contains(":alarm:"));
        return convert(
            Delivery::EventBridge,
            raw.detail,
            "detail",
            arn,
            raw.account,
            raw.region,
        )
        .map(Some);
    }
    Ok(None)
}

/// A verification request is an event like any other: its instance id reaches EC2 calls and the follow-up's
/// commands, and its action time is added to, so both must have the shape ec2ops writes.
fn check_verify(
    v: crate::remediation::VerifyRequest,
) -> Result<crate::remediation::VerifyRequest, EventError> {
    const CONTEXT: &str = "ec2ops verification";
    if !looks_like_instance_id(&v.instance_id) {
        return Err(EventError::Field {
            context: CONTEXT,
            path: "detail.instance_id".into(),
            message: format!("{} is not an instance id", quote(&v.instance_id)),
        });
    }
    if !readable_year(&v.acted_at) {
        return Err(EventError::Field {
            context: CONTEXT,
            path: "detail.acted_at".into(),
            message: format!(
                "{} is outside the years 1970-9999",
                quote(&v.acted_at.to_rfc3339())
            ),
        });
    }
    Ok(v)
}

/// A re-check is an event like any other: its metric is read and its values phrased, so it must have the shape ec2ops
/// writes — one instance's own CPU metric of `AWS/EC2`, a period CloudWatch allows, times within reach. (Whether
/// ec2ops reported the incident at all is asked of the ledger when it runs.)
fn check_recheck(
    r: crate::analyze::recheck::RecheckRequest,
) -> Result<crate::analyze::recheck::RecheckRequest, EventError> {
    const CONTEXT: &str = "ec2ops re-check";
    let field = |path: &str, message: String| EventError::Field {
        context: CONTEXT,
        path: path.into(),
        message,
    };
    if !looks_like_instance_id(&r.instance_id) {
        return Err(field(
            "detail.instance_id",
            format!("{} is not an instance id", quote(&r.instance_id)),
        ));
    }
    let m = &r.metric;
    let own = m.namespace == crate::catalogue::EC2
        && m.name == crate::catalogue::CPU_UTILIZATION
        && m.dimensions.len() == 1
        && m.dimensions.get("InstanceId") == Some(&r.instance_id);
    if !own {
        return Err(field(
            "detail.metric",
            "not the instance's own CPU metric of AWS/EC2".into(),
        ));
    }
    if !((60..=3600).contains(&m.period) && m.period.is_multiple_of(60)) {
        return Err(field(
            "detail.metric.period",
            format!(
                "{} is not a whole number of minutes up to an hour",
                m.period
            ),
        ));
    }
    let percentile = m.stat.strip_prefix('p').is_some_and(|p| {
        !p.is_empty()
            && p.len() <= 6
            && p.chars().all(|c| c.is_ascii_digit() || c == '.')
            && p.parse::<f64>().is_ok_and(|v| v > 0.0 && v < 100.0)
    });
    if !matches!(
        m.stat.as_str(),
        "Average" | "Maximum" | "Minimum" | "Sum" | "SampleCount"
    ) && !percentile
    {
        return Err(field(
            "detail.metric.stat",
            format!("{} is not a statistic", quote(&m.stat)),
        ));
    }
    if !(r.threshold.is_finite() && r.peak.is_finite()) {
        return Err(field("detail.threshold", "not a finite number".into()));
    }
    if !(1..=100).contains(&r.datapoints_to_alarm) {
        return Err(field(
            "detail.datapoints_to_alarm",
            format!("{} is not from 1 to 100", r.datapoints_to_alarm),
        ));
    }
    for (path, t) in [
        ("detail.alarm_at", r.alarm_at),
        ("detail.peak_at", r.peak_at),
    ] {
        if !readable_year(&t) {
            return Err(field(
                path,
                format!("{} is outside the years 1970-9999", quote(&t.to_rfc3339())),
            ));
        }
    }
    // The incident the look belongs to names its alarm, its time and its thread: a look whose thread, alarm or time
    // is not its incident's could post into another incident's thread.
    let Some((alarm_id, contributor, at)) = recheck_key_parts(&r.incident_key) else {
        return Err(field(
            "detail.incident_key",
            format!(
                "{} is not an alarm's ALARM incident key",
                quote(&r.incident_key)
            ),
        ));
    };
    let thread: String = match contributor {
        Some(c) => format!("contributor/{c}#{alarm_id}"),
        None => format!("{}#{alarm_id}", at.format("%Y%m%dT%H%M%S%.3fZ")),
    }
    .chars()
    .take(256)
    .collect();
    if r.thread_id != thread {
        return Err(field(
            "detail.thread_id",
            "not the thread of its incident key".into(),
        ));
    }
    let named = alarm_id == r.alarm_name
        || alarm_id
            .rsplit_once(":alarm:")
            .is_some_and(|(_, name)| name == r.alarm_name);
    if !named {
        return Err(field(
            "detail.alarm_name",
            "not the alarm of its incident key".into(),
        ));
    }
    // The key keeps milliseconds.
    if (r.alarm_at - at).num_milliseconds() != 0 || r.peak_at > at + chrono::Duration::minutes(5) {
        return Err(field(
            "detail.alarm_at",
            "not the time of its incident key (or a peak after it)".into(),
        ));
    }
    // A spike is never the most urgent thing: a look raises a sustained spike to P1 at most.
    let mut r = r;
    r.priority = r.priority.max(crate::analyze::Priority::P1);
    Ok(r)
}

/// An ALARM incident key's alarm id (ARN or name), contributor id and time:
/// `<alarm>[#contributor/<id>]#ALARM#<%Y-%m-%dT%H:%M:%S%.3fZ>`.
fn recheck_key_parts(key: &str) -> Option<(&str, Option<&str>, DateTime<Utc>)> {
    let (rest, at) = key.rsplit_once('#')?;
    let rest = rest.strip_suffix("#ALARM")?;
    let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    let (alarm, contributor) = match rest.rsplit_once("#contributor/") {
        Some((alarm, c)) => (alarm, Some(c)),
        None => (rest, None),
    };
    (!alarm.is_empty()).then_some((alarm, contributor, at))
}

fn bounded(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Longest excerpt of the input a message quotes, in chars once escaped.
const QUOTE_MAX: usize = 40;
/// Longest message taken from serde: errors and warnings are logged and kept with the failed event, so they stay
/// one short line even when the input is a megabyte.
const DETAIL_MAX: usize = 160;

/// `s` quoted and escaped for a one-line message, cut after [`QUOTE_MAX`] chars of the escaped text (control
/// characters escape to up to 10 chars each).
fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    let mut len = 0;
    for c in s.chars() {
        let escaped = c.escape_debug();
        len += escaped.len();
        if len > QUOTE_MAX {
            out.push('…');
            break;
        }
        out.extend(escaped);
    }
    out.push('"');
    out
}

/// A message from serde, which quotes the offending value whole (`invalid type: string "…1 MB…", expected u64`):
/// one line, its middle cut so both the start and what was expected survive.
fn clip(message: &str) -> String {
    let one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = one_line.chars().count();
    if n <= DETAIL_MAX {
        return one_line;
    }
    let tail = DETAIL_MAX / 3;
    let head: String = one_line.chars().take(DETAIL_MAX - tail - 1).collect();
    let end: String = one_line.chars().skip(n - tail).collect();
    format!("{head}…{end}")
}

fn from_value<T: for<'de> Deserialize<'de>>(
    v: &Value,
    context: &'static str,
) -> Result<T, EventError> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        EventError::Field {
            context,
            path: if path == "." {
                "(top)".into()
            } else {
                clip(&path)
            },
            message: clip(&e.into_inner().to_string()),
        }
    })
}

#[derive(Deserialize)]
struct RawEnvelope {
    account: Option<String>,
    region: Option<String>,
    resources: Option<Vec<String>>,
    detail: RawDetail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAlarmAction {
    alarm_arn: String,
    account_id: Option<String>,
    region: Option<String>,
    alarm_data: RawDetail,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDetail {
    alarm_name: String,
    state: RawState,
    previous_state: Option<RawState>,
    configuration: Option<RawConfiguration>,
    alarm_contributor: Option<RawContributor>,
}

#[derive(Deserialize)]
struct RawContributor {
    id: String,
    attributes: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawState {
    value: String,
    reason: Option<String>,
    reason_data: Option<String>,
    timestamp: String,
    /// A composite's: why its actions are suppressed now (`Alarm`, `WaitPeriod`, `ExtensionPeriod`).
    actions_suppressed_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfiguration {
    description: Option<String>,
    metrics: Option<Vec<RawMetric>>,
    alarm_rule: Option<String>,
    actions_suppressor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    id: Option<String>,
    metric_stat: Option<RawMetricStat>,
    expression: Option<String>,
    label: Option<String>,
    return_data: Option<bool>,
    period: Option<u64>,
}

#[derive(Deserialize)]
struct RawMetricStat {
    metric: RawMetricName,
    period: Option<u64>,
    stat: Option<String>,
}

#[derive(Deserialize)]
struct RawMetricName {
    namespace: Option<String>,
    name: String,
    dimensions: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawReasonData {
    threshold: Option<f64>,
    statistic: Option<String>,
    period: Option<u64>,
    recent_datapoints: Option<Vec<Option<f64>>>,
    evaluated_datapoints: Option<Vec<RawDatapoint>>,
    recent_upper_thresholds: Option<Vec<Option<f64>>>,
    recent_lower_thresholds: Option<Vec<Option<f64>>>,
    triggering_alarms: Option<Vec<RawTriggering>>,
}

#[derive(Deserialize)]
struct RawDatapoint {
    timestamp: String,
    value: Option<f64>,
    threshold: Option<f64>,
}

#[derive(Deserialize)]
struct RawTriggering {
    arn: String,
    state: Option<RawTriggeringState>,
}

#[derive(Deserialize)]
struct RawTriggeringState {
    value: Option<String>,
    timestamp: Option<String>,
}

/// CloudWatch and Health write years 1970–9999; date arithmetic near chrono's limits panics.
fn readable_year(t: &DateTime<Utc>) -> bool {
    (1970..=9999).contains(&t.year())
}

/// Read CloudWatch's timestamps: `2025-07-20T12:20:28.989+0000`, or RFC 3339. Years outside 1970–9999 are
/// unreadable: CloudWatch writes none, and date arithmetic near chrono's limits (`+262142-12-31…`) panics.
pub fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::<FixedOffset>::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(readable_year)
}

#[cfg(test)]
mod tests;
