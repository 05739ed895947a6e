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
    looks_like_instance_id, AlarmKind, AlarmState, Cause, Comparison, Contributor, Datapoint,
    Delivery, Expression, FleetAlarm, FleetSource, Incident, InstanceState, MetricRef, ReasonData,
    StateInfo, TriggeringAlarm,
};

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
    /// One impaired instance the sweep fanned out (its own invocation and budget).
    SweepItem(Box<crate::facts::Impaired>),
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

    if source == "aws.health" {
        return parse_health(event);
    }
    if source == "aws.ec2" && detail_type == "EC2 Instance State-change Notification" {
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
        return Ok(Parsed::Alarm(Box::new(Incident::from_state_change(
            &raw.detail.instance_id,
            state,
            at,
            raw.region,
            raw.account,
        ))));
    }
    if (source == crate::remediation::VERIFY_SOURCE && detail_type == SWEEP_DETAIL_TYPE)
        || (source == "aws.events" && detail_type == "Scheduled Event")
    {
        return Ok(Parsed::Sweep);
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::remediation::VERIFY_DETAIL_TYPE
    {
        #[derive(Deserialize)]
        struct Raw {
            detail: crate::remediation::VerifyRequest,
        }
        let raw: Raw = from_value(event, "ec2ops verification")?;
        return check_verify(raw.detail).map(|v| Parsed::Verify(Box::new(v)));
    }
    if source == crate::remediation::VERIFY_SOURCE
        && detail_type == crate::remediation::CONTINUE_DETAIL_TYPE
    {
        #[derive(Deserialize)]
        struct Raw {
            detail: crate::remediation::Continuation,
        }
        let raw: Raw = from_value(event, "ec2ops recover continuation")?;
        return Ok(Parsed::Continue(Box::new(raw.detail)));
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
        return Ok(Parsed::SweepItem(Box::new(raw.detail)));
    }
    if source == "aws.cloudwatch" && obj.contains_key("alarmData") {
        let raw: RawAlarmAction = from_value(event, "alarm action payload")?;
        return convert(
            Delivery::AlarmAction,
            raw.alarm_data,
            "alarmData",
            Some(raw.alarm_arn),
            raw.account_id,
            raw.region,
        );
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
        );
    }
    Ok(Parsed::Ignored {
        source: bounded(source, 128),
        detail_type: bounded(detail_type, 128),
    })
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
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfiguration {
    description: Option<String>,
    metrics: Option<Vec<RawMetric>>,
    alarm_rule: Option<String>,
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

/// AWS Health: EC2 events become one incident per affected instance; other services are ignored.
fn parse_health(event: &Value) -> Result<Parsed, EventError> {
    #[derive(Deserialize)]
    struct Raw {
        time: Option<String>,
        account: Option<String>,
        region: Option<String>,
        detail: RawHealth,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawHealth {
        event_arn: String,
        service: Option<String>,
        event_type_code: String,
        event_type_category: Option<String>,
        start_time: Option<String>,
        end_time: Option<String>,
        event_region: Option<String>,
        event_description: Option<Vec<RawDescription>>,
        affected_entities: Option<Vec<RawEntity>>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawDescription {
        language: Option<String>,
        latest_description: Option<String>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawEntity {
        entity_value: Option<String>,
    }
    let raw: Raw = from_value(event, "AWS Health Event")?;
    let d = raw.detail;
    if d.service.as_deref().is_some_and(|s| s != "EC2") {
        return Ok(Parsed::Ignored {
            source: "aws.health".into(),
            detail_type: format!(
                "AWS Health Event ({})",
                bounded(d.service.as_deref().unwrap_or(""), 20)
            ),
        });
    }
    let description = d
        .event_description
        .unwrap_or_default()
        .into_iter()
        .find_map(|x| {
            (x.language.as_deref().unwrap_or("en_US").starts_with("en"))
                .then_some(x.latest_description)
                .flatten()
        });
    // An unreadable start or end (a year chrono reads but cannot add to, a garbled date) loses the deadline, not
    // the report: each incident says which field it could not read.
    let mut warnings = Vec::new();
    let mut health_time = |path: &str, text: Option<&str>| {
        let text = text?;
        let t = parse_health_time(text);
        if t.is_none() {
            warnings.push(format!(
                "{path}: unreadable time {}; the deadline is unknown",
                quote(text)
            ));
        }
        t
    };
    let start = health_time("detail.startTime", d.start_time.as_deref());
    let end = health_time("detail.endTime", d.end_time.as_deref());
    let notice = crate::model::HealthNotice {
        event_arn: d.event_arn,
        type_code: d.event_type_code,
        category: d.event_type_category.unwrap_or_default(),
        start,
        end,
        description: description.map(|t| bounded(&t, 2000)),
    };
    let at = raw
        .time
        .as_deref()
        .and_then(parse_timestamp)
        .or(notice.start)
        .ok_or_else(|| {
            // Name the field the time would have come from: `time`, else the start it falls back to.
            let (path, value) = match (raw.time.as_deref(), d.start_time.as_deref()) {
                (None, Some(start)) => ("detail.startTime", start),
                (time, _) => ("time", time.unwrap_or("")),
            };
            EventError::Timestamp {
                path: path.into(),
                // Raw: the message quotes it.
                value: bounded(value, QUOTE_MAX + 1),
            }
        })?;
    let region = d.event_region.or(raw.region);
    let changes: Vec<Incident> = d
        .affected_entities
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| e.entity_value)
        .filter(|v| looks_like_instance_id(v))
        .map(|id| {
            let mut c =
                Incident::from_health(&notice, &id, at, region.clone(), raw.account.clone());
            c.warnings.extend(warnings.iter().cloned());
            c
        })
        .collect();
    if changes.is_empty() {
        return Ok(Parsed::Ignored {
            source: "aws.health".into(),
            detail_type: format!(
                "AWS Health Event ({}: no EC2 instance affected)",
                bounded(&notice.type_code, 60)
            ),
        });
    }
    Ok(Parsed::Health(changes))
}

/// Health writes `Wed, 20 Nov 2025 09:00:00 GMT` in some events and RFC 3339 in others. Both forms get the same
/// year bound as [`parse_timestamp`]: chrono reads RFC 2822 up to `31 Dec 262142 …`, and the deadline and the metric
/// window are computed from these times.
fn parse_health_time(s: &str) -> Option<DateTime<Utc>> {
    parse_timestamp(s).or_else(|| {
        DateTime::parse_from_rfc2822(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
            .filter(readable_year)
    })
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

fn convert(
    delivery: Delivery,
    detail: RawDetail,
    base: &str,
    alarm_arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
) -> Result<Parsed, EventError> {
    let mut warnings = Vec::new();
    let mut state = convert_state(detail.state, &format!("{base}.state"), &mut warnings)?;
    let previous = match detail.previous_state {
        Some(p) => Some(convert_state(
            p,
            &format!("{base}.previousState"),
            &mut warnings,
        )?),
        None => None,
    };

    let config = detail.configuration.unwrap_or(RawConfiguration {
        description: None,
        metrics: None,
        alarm_rule: None,
    });
    let mut metrics = Vec::new();
    let mut expressions = Vec::new();
    // For each expression: its index in configuration.metrics[] and its period (Metrics Insights entries have one).
    let mut expression_at: Vec<(usize, Option<u64>)> = Vec::new();
    for (i, m) in config.metrics.unwrap_or_default().into_iter().enumerate() {
        let id = m.id.unwrap_or_else(|| format!("m{i}"));
        let return_data = m.return_data.unwrap_or(true);
        if let Some(stat) = m.metric_stat {
            let dimensions = stat
                .metric
                .dimensions
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect();
            let period = match stat.period {
                // No real alarm has one (period × evaluation periods ≤ 7 days), and the analysis adds periods to
                // times: an absurd one is dropped like a missing one.
                Some(p) if p > MAX_PERIOD_SECS => {
                    warnings.push(format!(
                        "metric {} has period {p} s, beyond CloudWatch's 7 days; using 60",
                        quote(&id)
                    ));
                    60
                }
                p => p.unwrap_or(60),
            };
            metrics.push(MetricRef {
                id,
                namespace: stat.metric.namespace.unwrap_or_default(),
                name: stat.metric.name,
                dimensions,
                period,
                stat: stat.stat.unwrap_or_else(|| "Average".into()),
                return_data,
            });
        } else if let Some(expression) = m.expression {
            expression_at.push((i, m.period.filter(|p| (1..=MAX_PERIOD_SECS).contains(p))));
            expressions.push(Expression {
                id,
                expression,
                label: m.label,
                return_data,
            });
        } else {
            warnings.push(format!(
                "{base}.configuration.metrics[{i}] has neither metricStat nor expression; skipped"
            ));
        }
    }

    let mut kind = if let Some(rule) = config.alarm_rule {
        AlarmKind::Composite { rule }
    } else if expressions
        .iter()
        .any(|e| e.expression.contains("ANOMALY_DETECTION_BAND"))
    {
        AlarmKind::AnomalyBand
    } else if !expressions.is_empty() {
        AlarmKind::MetricMath
    } else {
        AlarmKind::Metric
    };

    let mut instance_ids: Vec<String> = Vec::new();
    for m in &metrics {
        if let Some(id) = m.dimensions.get("InstanceId") {
            if looks_like_instance_id(id) {
                if !instance_ids.contains(id) {
                    instance_ids.push(id.clone());
                }
            } else {
                warnings.push(format!(
                    "metric {} names InstanceId {}, which is not an instance id; ignored",
                    quote(&m.id),
                    quote(id)
                ));
            }
        }
    }

    let fleet = match fleet_alarm(
        &mut kind,
        &metrics,
        &expressions,
        &expression_at,
        &instance_ids,
        base,
        &mut warnings,
    ) {
        Ok(f) => f,
        Err(why) => {
            return Ok(Parsed::Ignored {
                source: "aws.cloudwatch".into(),
                detail_type: why,
            })
        }
    };
    let contributor = match detail.alarm_contributor {
        None => None,
        Some(raw) => {
            let c = convert_contributor(raw, base, &mut warnings)?;
            if let Some(id) = c.attributes.get("InstanceId") {
                // The contributor's series is its instance's: that instance is the incident's, whatever else the
                // alarm's configuration names.
                instance_ids = vec![id.clone()];
                if let Some(m) = contributor_metric(&c, fleet.as_ref()) {
                    metrics.push(m);
                }
            } else {
                instance_ids.clear();
            }
            if state.reason_data.is_none() {
                state.reason_data = reason_figures(&state.reason);
            }
            Some(c)
        }
    };

    let comparison = if kind == AlarmKind::AnomalyBand {
        Some(Comparison::OutsideBand)
    } else {
        comparison_from_reason(&state.reason).or_else(|| {
            previous
                .as_ref()
                .and_then(|p| comparison_from_reason(&p.reason))
        })
    };

    let cause = match contributor {
        Some(c) => Cause::Contributor(c),
        None => Cause::Alarm(delivery),
    };
    Ok(Parsed::Alarm(Box::new(Incident {
        cause,
        alarm_name: detail.alarm_name,
        alarm_arn,
        account,
        region,
        description: config.description.filter(|d| !d.trim().is_empty()),
        kind,
        metrics,
        expressions,
        state,
        previous,
        comparison,
        instance_ids,
        warnings,
        fleet,
    })))
}

/// Whether the alarm watches a fleet, and what over: a Metrics Insights query on an EC2 namespace (the kind becomes
/// [`AlarmKind::MetricsInsights`]), or metric math over several instances. `Err` is the detail of an alarm ec2ops
/// ignores: a query on another namespace (the EventBridge rules do not route those; an alarm action can).
fn fleet_alarm(
    kind: &mut AlarmKind,
    metrics: &[MetricRef],
    expressions: &[Expression],
    expression_at: &[(usize, Option<u64>)],
    instance_ids: &[String],
    base: &str,
    warnings: &mut Vec<String>,
) -> Result<Option<FleetAlarm>, String> {
    if matches!(kind, AlarmKind::Composite { .. } | AlarmKind::AnomalyBand) {
        return Ok(None);
    }
    let queries: Vec<(&Expression, &(usize, Option<u64>))> = expressions
        .iter()
        .zip(expression_at)
        .filter(|(e, _)| insights::is_query(&e.expression))
        .collect();
    // The query whose value the alarm compares: the returned one, else the first.
    let query = queries
        .iter()
        .find(|(e, _)| e.return_data)
        .or_else(|| queries.first());
    if let Some((e, (i, period))) = query {
        let path = format!("{base}.configuration.metrics[{i}].expression");
        *kind = AlarmKind::MetricsInsights;
        let fleet = match insights::parse(&e.expression) {
            Ok(q) => {
                if !insights::EC2_NAMESPACES.contains(&q.namespace.as_str()) {
                    return Err(format!(
                        "Metrics Insights alarm on {}, not an EC2 namespace",
                        quote(&q.namespace)
                    ));
                }
                FleetAlarm {
                    source: FleetSource::MetricsInsights,
                    query: e.expression.clone(),
                    namespace: q.namespace,
                    metric: Some(q.metric).filter(|m| m != "*"),
                    function: Some(q.function),
                    filter: q.filter,
                    group_by: q.group_by,
                    period: *period,
                    instances: vec![],
                }
            }
            Err(why) => match insights::mentioned_ec2_namespace(&e.expression) {
                Some(ns) => {
                    warnings.push(format!(
                        "{path}: Metrics Insights query not understood ({}); ranking unavailable",
                        clip(&why)
                    ));
                    FleetAlarm {
                        source: FleetSource::MetricsInsights,
                        query: e.expression.clone(),
                        namespace: ns.into(),
                        metric: None,
                        function: None,
                        filter: None,
                        group_by: vec![],
                        period: *period,
                        instances: vec![],
                    }
                }
                None => {
                    return Err(format!(
                        "Metrics Insights alarm naming no EC2 namespace; query not understood: {}",
                        clip(&why)
                    ))
                }
            },
        };
        return Ok(Some(fleet));
    }
    if metrics.is_empty() {
        // Only expressions, none of them a query: metric math over nothing the event names.
        if let Some((i, _)) = expression_at.first() {
            warnings.push(format!(
                "{base}.configuration.metrics[{i}].expression is not a Metrics Insights query (SELECT …) and \
                 the alarm names no metric; only the alarm's own datapoints are shown"
            ));
        }
        return Ok(None);
    }
    if *kind == AlarmKind::MetricMath && instance_ids.len() >= 2 {
        let first = &metrics[0];
        let same = |f: fn(&MetricRef) -> &str| {
            metrics
                .iter()
                .all(|m| f(m) == f(first))
                .then(|| f(first).to_string())
        };
        return Ok(Some(FleetAlarm {
            source: FleetSource::MetricMath,
            query: expressions
                .iter()
                .find(|e| e.return_data)
                .or_else(|| expressions.first())
                .map(|e| e.expression.clone())
                .unwrap_or_default(),
            namespace: same(|m| &m.namespace).unwrap_or_else(|| first.namespace.clone()),
            metric: same(|m| &m.name),
            function: same(|m| &m.stat),
            filter: None,
            group_by: vec![],
            period: Some(first.period),
            instances: instance_ids.to_vec(),
        }));
    }
    Ok(None)
}

/// A contributor's state carries no reasonData; its reason names the threshold and the latest breaching datapoint
/// ("… greater than the threshold (20.0). The most recent datapoint which crossed the threshold: [39.58 (20/07/25
/// 12:19:00)].").
fn reason_figures(reason: &str) -> Option<ReasonData> {
    let number = |s: &str| s.trim().parse::<f64>().ok().filter(|v| v.is_finite());
    let threshold = reason
        .split("threshold (")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(number);
    let latest = reason
        .rsplit_once('[')
        .and_then(|(_, r)| r.split_once(']'))
        .and_then(|(inner, _)| {
            let (v, t) = inner.split_once(" (")?;
            let at =
                chrono::NaiveDateTime::parse_from_str(t.strip_suffix(')')?, "%d/%m/%y %H:%M:%S")
                    .ok()?
                    .and_utc();
            Some(Datapoint {
                at,
                value: Some(number(v)?),
                threshold,
            })
        })
        .filter(|d| readable_year(&d.at));
    if threshold.is_none() && latest.is_none() {
        return None;
    }
    Some(ReasonData {
        threshold,
        recent: latest.iter().filter_map(|d| d.value).collect(),
        evaluated: latest.into_iter().collect(),
        ..ReasonData::default()
    })
}

/// The longest contributor id accepted: CloudWatch's are 16 characters; the id goes into the incident key.
const CONTRIBUTOR_ID_MAX: usize = 128;

fn convert_contributor(
    raw: RawContributor,
    base: &str,
    warnings: &mut Vec<String>,
) -> Result<Contributor, EventError> {
    let path = format!("{base}.alarmContributor");
    let id_ok = !raw.id.is_empty()
        && raw.id.chars().count() <= CONTRIBUTOR_ID_MAX
        && raw
            .id
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '#' && c != '/');
    if !id_ok {
        return Err(EventError::Field {
            context: "alarm contributor",
            path: format!("{path}.id"),
            message: format!(
                "{} is not a contributor id (1-{CONTRIBUTOR_ID_MAX} printable ASCII characters)",
                quote(&raw.id)
            ),
        });
    }
    let mut attributes = BTreeMap::new();
    for (k, v) in raw.attributes.unwrap_or_default() {
        let v = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        if k == "InstanceId" && !looks_like_instance_id(&v) {
            warnings.push(format!(
                "{path}.attributes.InstanceId {} is not an instance id; reported as a fleet incident",
                quote(&v)
            ));
            continue;
        }
        attributes.insert(k, v);
    }
    if attributes.is_empty() {
        warnings.push(format!(
            "{path} {} has no attributes; reported as a fleet incident",
            quote(&raw.id)
        ));
    }
    Ok(Contributor {
        id: raw.id,
        attributes,
    })
}

/// The contributor's own series, as a single-metric alarm on its instance would name it: the query's metric with
/// the contributor's `GROUP BY` dimensions. Gathering reads it as the alarm's metric and the CPU rules apply.
fn contributor_metric(c: &Contributor, fleet: Option<&FleetAlarm>) -> Option<MetricRef> {
    let f = fleet.filter(|f| f.source == FleetSource::MetricsInsights)?;
    let name = f.metric.clone()?;
    let dimensions = c
        .attributes
        .iter()
        .filter(|(k, _)| *k == "InstanceId" || f.group_by.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let stat = f
        .function
        .as_deref()
        .and_then(insights::stat_of)
        .unwrap_or("Average");
    Some(MetricRef {
        id: "contributor".into(),
        namespace: f.namespace.clone(),
        name,
        dimensions,
        period: f.period.unwrap_or(60),
        stat: stat.into(),
        return_data: true,
    })
}

fn convert_state(
    raw: RawState,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<StateInfo, EventError> {
    let value = AlarmState::parse(&raw.value).ok_or_else(|| EventError::State {
        path: format!("{path}.value"),
        value: bounded(&raw.value, QUOTE_MAX + 1),
    })?;
    let at = parse_timestamp(&raw.timestamp).ok_or_else(|| EventError::Timestamp {
        path: format!("{path}.timestamp"),
        value: bounded(&raw.timestamp, QUOTE_MAX + 1),
    })?;
    let reason_data = raw.reason_data.as_deref().and_then(|text| {
        match parse_reason_data(text, &format!("{path}.reasonData"), warnings) {
            Ok(r) => Some(r),
            Err(w) => {
                warnings.push(w);
                None
            }
        }
    });
    Ok(StateInfo {
        value,
        reason: raw.reason.unwrap_or_default(),
        at,
        reason_data,
    })
}

/// reasonData is a JSON document inside a string. When it cannot be read the report still goes out (the alarm
/// matters more than its datapoints) and says so.
fn parse_reason_data(
    text: &str,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<ReasonData, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        format!(
            "{path} is not JSON ({}); datapoints unavailable",
            clip(&e.to_string())
        )
    })?;
    let raw: RawReasonData = serde_path_to_error::deserialize(&value).map_err(|e| {
        format!(
            "{path}: {}: {}; datapoints unavailable",
            clip(&e.path().to_string()),
            clip(&e.inner().to_string())
        )
    })?;
    let mut evaluated = Vec::new();
    for (i, d) in raw
        .evaluated_datapoints
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        match parse_timestamp(&d.timestamp) {
            Some(at) => evaluated.push(Datapoint {
                at,
                value: d.value,
                threshold: d.threshold,
            }),
            None => warnings.push(format!(
                "{path}.evaluatedDatapoints[{i}].timestamp {} unreadable; datapoint skipped",
                quote(&d.timestamp)
            )),
        }
    }
    evaluated.sort_by_key(|d| d.at);
    let flat = |v: Option<Vec<Option<f64>>>| v.unwrap_or_default().into_iter().flatten().collect();
    let triggering = raw
        .triggering_alarms
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let name = t.arn.split(":alarm:").nth(1).unwrap_or(&t.arn).to_string();
            let (state, at) = match t.state {
                Some(s) => (
                    s.value.as_deref().and_then(AlarmState::parse),
                    s.timestamp.as_deref().and_then(parse_timestamp),
                ),
                None => (None, None),
            };
            TriggeringAlarm {
                arn: t.arn,
                name,
                state,
                at,
            }
        })
        .collect();
    Ok(ReasonData {
        threshold: raw.threshold,
        statistic: raw.statistic,
        period: raw.period,
        recent: flat(raw.recent_datapoints),
        evaluated,
        upper: flat(raw.recent_upper_thresholds),
        lower: flat(raw.recent_lower_thresholds),
        triggering,
    })
}

/// CloudWatch's reason text is the only place that names the comparison ("was greater than the threshold").
fn comparison_from_reason(reason: &str) -> Option<Comparison> {
    let r = reason.to_ascii_lowercase();
    if r.contains("upper thresholds") || r.contains("lower thresholds") || r.contains("band") {
        Some(Comparison::OutsideBand)
    } else if r.contains("greater than or equal to") {
        Some(Comparison::GreaterOrEqual)
    } else if r.contains("less than or equal to") {
        Some(Comparison::LessOrEqual)
    } else if r.contains("greater than") {
        Some(Comparison::Greater)
    } else if r.contains("less than") {
        Some(Comparison::Less)
    } else {
        None
    }
}

impl Incident {
    /// The incident the sweep raises for an impaired instance: as if an alarm on the failing check had gone to ALARM
    /// when the check became impaired.
    pub fn from_sweep(i: &crate::facts::Impaired, now: DateTime<Utc>) -> Incident {
        // Without an impaired-since time, the hour: the ledger's hourly note keeps repeats out either way.
        let since = i.since.unwrap_or_else(|| {
            now.duration_trunc(chrono::Duration::hours(1))
                .unwrap_or(now)
        });
        let metric = MetricRef {
            id: "sweep".into(),
            namespace: "AWS/EC2".into(),
            name: i.check.clone(),
            dimensions: BTreeMap::from([("InstanceId".to_string(), i.instance_id.clone())]),
            period: 60,
            stat: "Maximum".into(),
            return_data: true,
        };
        Incident {
            cause: Cause::Sweep {
                check: i.check.clone(),
            },
            alarm_name: format!("ec2ops-sweep/{}/{}", i.check, i.instance_id),
            alarm_arn: None,
            account: None,
            region: i
                .availability_zone
                .as_deref()
                .map(|az| az.trim_end_matches(|c: char| c.is_ascii_lowercase()).to_string()),
            description: Some(format!(
                "found by the ec2ops sweep: DescribeInstanceStatus reports {} impaired (no alarm needed)",
                i.check
            )),
            kind: AlarmKind::Metric,
            metrics: vec![metric],
            expressions: vec![],
            state: StateInfo {
                value: AlarmState::Alarm,
                reason: format!("{} impaired since {}", i.check, since.format("%Y-%m-%dT%H:%M:%SZ")),
                at: since,
                reason_data: None,
            },
            // The check was passing before it became impaired.
            previous: Some(StateInfo {
                value: AlarmState::Ok,
                reason: String::new(),
                at: since,
                reason_data: None,
            }),
            comparison: None,
            instance_ids: vec![i.instance_id.clone()],
            warnings: vec![],
            fleet: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alarm_event(detail: Value) -> Value {
        json!({
            "version": "0", "id": "x", "detail-type": "CloudWatch Alarm State Change",
            "source": "aws.cloudwatch", "account": "123456789012", "time": "2025-07-20T12:20:28Z",
            "region": "ap-northeast-2",
            "resources": ["arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:cpu"],
            "detail": detail
        })
    }

    fn single_metric_detail() -> Value {
        json!({
            "alarmName": "cpu",
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [39.58 (20/07/25 12:19:00)] was greater than the threshold (25.0)",
                "reasonData": "{\"version\":\"1.0\",\"threshold\":25.0,\"recentDatapoints\":[39.58],\"evaluatedDatapoints\":[{\"timestamp\":\"2025-07-20T12:19:00.000+0000\",\"sampleCount\":1.0,\"value\":39.58}]}",
                "timestamp": "2025-07-20T12:20:28.989+0000"
            },
            "previousState": {"value": "OK", "reason": "", "timestamp": "2025-07-19T12:00:00.000+0000"},
            "configuration": {"metrics": [{"id": "m", "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {"InstanceId": "i-0ae3d067021f08710"}}, "period": 60, "stat": "Average"}, "returnData": true}]}
        })
    }

    fn alarm(v: &Value) -> Incident {
        match parse(v) {
            Ok(Parsed::Alarm(a)) => *a,
            other => panic!("expected an alarm, got {other:?}"),
        }
    }

    #[test]
    fn single_metric_alarm_yields_instance_threshold_and_comparison() {
        let a = alarm(&alarm_event(single_metric_detail()));
        assert_eq!(a.instance_ids, vec!["i-0ae3d067021f08710"]);
        assert_eq!(a.threshold(), Some(25.0));
        assert_eq!(a.comparison, Some(Comparison::Greater));
        assert_eq!(a.kind, AlarmKind::Metric);
        assert_eq!(a.evaluated_values().len(), 1);
        assert!(a.warnings.is_empty());
    }

    #[test]
    fn period_above_u16_and_missing_dimensions_are_accepted() {
        let mut d = single_metric_detail();
        d["configuration"]["metrics"][0]["metricStat"]["period"] = json!(86400);
        d["configuration"]["metrics"][0]["metricStat"]["metric"]
            .as_object_mut()
            .unwrap()
            .remove("dimensions");
        let a = alarm(&alarm_event(d));
        assert_eq!(a.metrics[0].period, 86400);
        assert!(a.instance_ids.is_empty());
    }

    #[test]
    fn reason_data_that_is_not_json_degrades_to_a_warning() {
        let mut d = single_metric_detail();
        d["state"]["reasonData"] = json!("{not json");
        let a = alarm(&alarm_event(d));
        assert!(a.state.reason_data.is_none());
        assert!(a.warnings[0].contains("detail.state.reasonData is not JSON"));
    }

    #[test]
    fn missing_alarm_name_is_an_error_that_names_the_field() {
        let mut d = single_metric_detail();
        d.as_object_mut().unwrap().remove("alarmName");
        let err = parse(&alarm_event(d)).unwrap_err();
        assert!(err.to_string().contains("alarmName"), "{err}");
    }

    #[test]
    fn wrong_type_error_names_the_path() {
        let mut d = single_metric_detail();
        d["state"]["timestamp"] = json!(5);
        let err = parse(&alarm_event(d)).unwrap_err().to_string();
        assert!(err.contains("detail.state.timestamp"), "{err}");
    }

    #[test]
    fn bad_timestamp_and_unknown_state_are_errors() {
        let mut d = single_metric_detail();
        d["state"]["timestamp"] = json!("yesterday");
        assert!(matches!(
            parse(&alarm_event(d)),
            Err(EventError::Timestamp { .. })
        ));
        let mut d = single_metric_detail();
        d["state"]["value"] = json!("BROKEN");
        assert!(matches!(
            parse(&alarm_event(d)),
            Err(EventError::State { .. })
        ));
    }

    #[test]
    fn unknown_events_are_ignored_not_rejected() {
        let v = json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}});
        assert!(matches!(parse(&v), Ok(Parsed::Ignored { .. })));
    }

    #[test]
    fn non_objects_are_malformed() {
        assert!(matches!(
            parse(&json!([1])),
            Err(EventError::NotAnObject(_))
        ));
        assert!(matches!(
            parse_bytes(b"{\"truncated"),
            Err(EventError::NotJson(_))
        ));
    }

    #[test]
    fn thread_of_an_ok_after_alarm_is_the_alarm_episode() {
        let alarm_change = alarm(&alarm_event(single_metric_detail()));
        let mut ok = single_metric_detail();
        ok["previousState"] = ok["state"].clone();
        ok["state"] = json!({"value": "OK", "reason": "was not greater than the threshold", "timestamp": "2025-07-20T12:41:29.120+0000"});
        let ok_change = alarm(&alarm_event(ok));
        assert_eq!(alarm_change.thread_id(), ok_change.thread_id());
        assert_ne!(alarm_change.incident_key(), ok_change.incident_key());
    }

    fn sample(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../events/");
        serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
    }

    #[test]
    fn the_labs_metrics_insights_alarm_is_a_fleet_alarm_without_an_instance() {
        let a = alarm(&sample("fleet-insights-alarm.json"));
        assert_eq!(a.kind, AlarmKind::MetricsInsights);
        let f = a.fleet.as_ref().expect("a fleet alarm");
        assert_eq!(f.source, FleetSource::MetricsInsights);
        assert_eq!(f.namespace, "AWS/EC2");
        assert_eq!(f.metric.as_deref(), Some("CPUUtilization"));
        assert_eq!(f.function.as_deref(), Some("MAX"));
        assert_eq!(f.period, Some(60));
        assert!(!f.multi_series());
        assert!(a.instance_ids.is_empty() && a.metrics.is_empty() && a.contributor().is_none());
        assert_eq!(a.metric_name(), Some("CPUUtilization"));
        assert_eq!(a.threshold(), Some(20.0));
        assert_eq!(a.comparison, Some(Comparison::Greater));
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn a_multi_time_series_alarm_level_event_groups_by_instance() {
        let a = alarm(&sample("fleet-multi-series-alarm.json"));
        let f = a.fleet.as_ref().expect("a fleet alarm");
        assert_eq!(f.group_by, ["InstanceId"]);
        assert!(f.multi_series());
        assert!(a.instance_ids.is_empty() && a.contributor().is_none());
    }

    #[test]
    fn a_contributor_is_an_incident_of_its_own_instance() {
        let a = alarm(&sample("fleet-contributor-alarm.json"));
        assert_eq!(a.cause, Cause::Alarm(Delivery::EventBridge));
        let c = a.contributor().expect("a contributor");
        assert_eq!(c.id, "8c1f4e7a2b9d3605");
        assert_eq!(a.instance_ids, ["i-0ae3d067021f08710"]);
        assert_eq!(a.single_instance(), Ok("i-0ae3d067021f08710"));
        // Its own series, as a single-metric alarm on the instance would name it.
        let m = a.primary_metric().expect("the contributor's metric");
        assert_eq!(
            (m.namespace.as_str(), m.name.as_str(), m.stat.as_str()),
            ("AWS/EC2", "CPUUtilization", "Maximum")
        );
        assert_eq!(m.dimensions["InstanceId"], "i-0ae3d067021f08710");
        assert!(a.previous.is_none());
        // No reasonData: threshold and the breaching datapoint come from the reason.
        assert_eq!(a.threshold(), Some(20.0));
        assert_eq!(a.evaluated_values().last().map(|(_, v)| *v), Some(39.58));
        assert_eq!(a.comparison, Some(Comparison::Greater));
        assert!(a
            .incident_key()
            .contains("#contributor/8c1f4e7a2b9d3605#ALARM#"));
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
    }

    #[test]
    fn two_contributors_of_one_transition_are_two_incidents() {
        let one = sample("fleet-contributor-alarm.json");
        let mut other = one.clone();
        other["detail"]["alarmContributor"] =
            json!({"id": "f00dfeed12345678", "attributes": {"InstanceId": "i-0123456789abcdef0"}});
        let (a, b) = (alarm(&one), alarm(&other));
        assert_ne!(a.incident_key(), b.incident_key());
        assert_ne!(a.thread_id(), b.thread_id());
        assert_eq!(b.instance_ids, ["i-0123456789abcdef0"]);
    }

    #[test]
    fn a_contributor_going_ok_without_data_parses() {
        let a = alarm(&sample("fleet-contributor-ok.json"));
        assert_eq!(a.state.value, AlarmState::Ok);
        assert_eq!(a.state.reason, "No data was returned for this contributor");
        assert!(a.state.reason_data.is_none());
        assert_eq!(a.instance_ids, ["i-0ae3d067021f08710"]);
    }

    #[test]
    fn a_contributors_alarm_and_its_later_ok_share_one_thread() {
        let a = alarm(&sample("fleet-contributor-alarm.json"));
        let ok = alarm(&sample("fleet-contributor-ok.json"));
        assert_eq!(a.thread_id(), ok.thread_id());
        assert_ne!(a.incident_key(), ok.incident_key());
        assert_eq!(
            a.thread_id(),
            "contributor/8c1f4e7a2b9d3605#arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:EC2-Fleet-HighCPU-PerInstance"
        );
        // The alarm-level event of the same alarm keeps its own episode thread.
        let level = alarm(&sample("fleet-multi-series-alarm.json"));
        assert_eq!(level.alarm_arn, a.alarm_arn);
        assert_ne!(level.thread_id(), a.thread_id());
    }

    #[test]
    fn the_direct_alarm_action_carries_contributors_too() {
        let a = alarm(&sample("fleet-contributor-action.json"));
        assert_eq!(a.cause, Cause::Alarm(Delivery::AlarmAction));
        assert_eq!(
            a.contributor().map(|c| c.id.as_str()),
            Some("8c1f4e7a2b9d3605")
        );
        assert_eq!(a.instance_ids, ["i-0ae3d067021f08710"]);
        let mut v = sample("fleet-insights-alarm.json");
        let detail = v["detail"].take();
        let action = json!({"source": "aws.cloudwatch", "alarmArn": "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:EC2-Fleet-HighCPU-Threshold-Count", "alarmData": detail});
        let a = alarm(&action);
        assert_eq!(a.kind, AlarmKind::MetricsInsights);
        assert!(a.fleet.is_some());
    }

    #[test]
    fn a_contributor_without_an_instance_id_is_a_fleet_incident() {
        let mut v = sample("fleet-contributor-alarm.json");
        v["detail"]["alarmContributor"] =
            json!({"id": "8c1f4e7a2b9d3605", "attributes": {"AutoScalingGroupName": "web"}});
        let a = alarm(&v);
        assert!(a.instance_ids.is_empty() && a.metrics.is_empty());
        assert!(a.warnings.is_empty(), "{:?}", a.warnings);
        v["detail"]["alarmContributor"] =
            json!({"id": "8c1f4e7a2b9d3605", "attributes": {"InstanceId": "not-an-instance"}});
        let a = alarm(&v);
        assert!(a.instance_ids.is_empty());
        assert!(a.warnings[0].contains("detail.alarmContributor.attributes.InstanceId"));
    }

    #[test]
    fn a_contributor_event_without_a_contributor_or_with_a_bad_id_names_the_field() {
        let mut v = sample("fleet-contributor-alarm.json");
        v["detail"]
            .as_object_mut()
            .unwrap()
            .remove("alarmContributor");
        let err = parse(&v).unwrap_err().to_string();
        assert!(
            err.contains("detail: missing field `alarmContributor`"),
            "{err}"
        );
        let mut v = sample("fleet-contributor-alarm.json");
        v["detail"]["alarmContributor"]["id"] = json!("a#b");
        let err = parse(&v).unwrap_err().to_string();
        assert!(err.contains("detail.alarmContributor.id"), "{err}");
        let mut v = sample("fleet-contributor-alarm.json");
        v["detail"]["alarmContributor"]["attributes"] = json!(["InstanceId"]);
        let err = parse(&v).unwrap_err().to_string();
        assert!(err.contains("detail.alarmContributor.attributes"), "{err}");
    }

    #[test]
    fn awss_dynamodb_contributor_sample_is_ignored_as_another_namespace() {
        match parse(&sample("contributor-dynamodb.json")) {
            Ok(Parsed::Ignored { detail_type, .. }) => {
                assert!(
                    detail_type.contains("\"AWS/DynamoDB\", not an EC2 namespace"),
                    "{detail_type}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_query_that_cannot_be_read_on_an_ec2_namespace_is_still_a_fleet_alarm() {
        let mut v = sample("fleet-insights-alarm.json");
        v["detail"]["configuration"]["metrics"][0]["expression"] =
            json!("SELECT MAX(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId) HAVING x");
        let a = alarm(&v);
        let f = a.fleet.as_ref().expect("a fleet alarm");
        assert_eq!(
            (f.namespace.as_str(), f.metric.as_deref()),
            ("AWS/EC2", None)
        );
        assert!(a.warnings[0].contains(
            "detail.configuration.metrics[0].expression: Metrics Insights query not understood"
        ));
        v["detail"]["configuration"]["metrics"][0]["expression"] = json!("SELECT MAX(x) FROM");
        assert!(matches!(parse(&v), Ok(Parsed::Ignored { .. })));
    }

    #[test]
    fn metric_math_over_several_instances_is_a_fleet_alarm() {
        let mut d = single_metric_detail();
        let member = |id: &str, instance: &str| json!({"id": id, "metricStat": {"metric": {"namespace": "AWS/EC2", "name": "CPUUtilization", "dimensions": {"InstanceId": instance}}, "period": 60, "stat": "Average"}, "returnData": false});
        d["configuration"]["metrics"] = json!([
            member("m1", "i-0ae3d067021f08710"),
            member("m2", "i-0123456789abcdef0"),
            {"id": "e1", "expression": "MAX([m1, m2])", "returnData": true}
        ]);
        let a = alarm(&alarm_event(d));
        assert_eq!(a.kind, AlarmKind::MetricMath);
        let f = a.fleet.as_ref().expect("a fleet alarm");
        assert_eq!(f.source, FleetSource::MetricMath);
        assert_eq!(f.instances, ["i-0ae3d067021f08710", "i-0123456789abcdef0"]);
        assert_eq!(
            (f.metric.as_deref(), f.query.as_str()),
            (Some("CPUUtilization"), "MAX([m1, m2])")
        );
        // One instance's metric math is not a fleet.
        assert!(alarm(&sample("metric-math.json")).fleet.is_none());
        assert!(alarm(&sample("cpu-spike.json")).fleet.is_none());
    }
}
