//! A CloudWatch alarm's (or contributor's) state change, from its wire form into an [`Incident`]: the alarm's
//! configuration, its transition and reasonData, what it watches (one instance, several, a fleet).

use super::*;

pub(super) fn convert(
    delivery: Delivery,
    detail: RawDetail,
    base: &str,
    alarm_arn: Option<String>,
    account: Option<String>,
    region: Option<String>,
) -> Result<Parsed, EventError> {
    let mut warnings = Vec::new();
    let suppressed_by = detail.state.actions_suppressed_by.clone();
    let (mut state, previous) =
        convert_states(detail.state, detail.previous_state, base, &mut warnings)?;

    let config = detail.configuration.unwrap_or(RawConfiguration {
        description: None,
        metrics: None,
        alarm_rule: None,
        actions_suppressor: None,
    });
    let Members {
        mut metrics,
        expressions,
        expression_at,
    } = convert_members(config.metrics.unwrap_or_default(), base, &mut warnings);
    let mut kind = alarm_kind(config.alarm_rule, &expressions);
    if let AlarmKind::Composite { suppressed, .. } = &mut kind {
        *suppressed = actions_suppressed(
            suppressed_by.as_deref(),
            config.actions_suppressor.as_deref(),
            base,
            &mut warnings,
        );
    }
    let mut instance_ids = named_instances(&metrics, &mut warnings);

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
    let cause = match detail.alarm_contributor {
        None => Cause::Alarm(delivery),
        Some(raw) => {
            let series = convert_contributor(raw, base, &mut warnings)?;
            narrow_to_contributor(
                &series,
                fleet.as_ref(),
                &mut metrics,
                &mut instance_ids,
                &mut state,
            );
            Cause::Contributor { delivery, series }
        }
    };
    let comparison = comparison(&kind, &state, previous.as_ref());

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

/// The alarm's state and, when the event has one, its previous state.
fn convert_states(
    state: RawState,
    previous: Option<RawState>,
    base: &str,
    warnings: &mut Vec<String>,
) -> Result<(StateInfo, Option<StateInfo>), EventError> {
    let state = convert_state(state, &format!("{base}.state"), warnings)?;
    let previous = match previous {
        Some(p) => Some(convert_state(
            p,
            &format!("{base}.previousState"),
            warnings,
        )?),
        None => None,
    };
    Ok((state, previous))
}

/// A contributor's incident is about its own series: its instance (if it names one) and that instance's metric,
/// and the figures of the state's reason when reasonData has none.
fn narrow_to_contributor(
    series: &Contributor,
    fleet: Option<&FleetAlarm>,
    metrics: &mut Vec<MetricRef>,
    instance_ids: &mut Vec<String>,
    state: &mut StateInfo,
) {
    if let Some(id) = series.attributes.get("InstanceId") {
        // The contributor's series is its instance's: that instance is the incident's, whatever else the
        // alarm's configuration names.
        *instance_ids = vec![id.clone()];
        if let Some(m) = contributor_metric(series, fleet) {
            metrics.push(m);
        }
    } else {
        instance_ids.clear();
    }
    if state.reason_data.is_none() {
        state.reason_data = reason_figures(&state.reason);
    }
}

/// How the value compares with the threshold: outside the band for an anomaly alarm, else as the state's reason
/// (or the previous state's) says.
fn comparison(
    kind: &AlarmKind,
    state: &StateInfo,
    previous: Option<&StateInfo>,
) -> Option<Comparison> {
    if *kind == AlarmKind::AnomalyBand {
        Some(Comparison::OutsideBand)
    } else {
        comparison_from_reason(&state.reason)
            .or_else(|| previous.and_then(|p| comparison_from_reason(&p.reason)))
    }
}

/// The alarm's metrics and metric-math expressions, as its configuration lists them.
struct Members {
    metrics: Vec<MetricRef>,
    expressions: Vec<Expression>,
    /// For each expression: its index in `configuration.metrics[]` and its period (Metrics Insights entries have
    /// one).
    expression_at: Vec<(usize, Option<u64>)>,
}

/// Read `configuration.metrics[]`: single metrics (an absurd period dropped with a warning) and expressions; an
/// entry with neither is skipped with a warning.
fn convert_members(raw: Vec<RawMetric>, base: &str, warnings: &mut Vec<String>) -> Members {
    let mut metrics = Vec::new();
    let mut expressions = Vec::new();
    let mut expression_at: Vec<(usize, Option<u64>)> = Vec::new();
    for (i, m) in raw.into_iter().enumerate() {
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

    Members {
        metrics,
        expressions,
        expression_at,
    }
}

/// A composite (it has a rule), an anomaly band, metric math, or a single metric; a Metrics Insights query is told
/// apart later, by [`fleet_alarm`].
fn alarm_kind(alarm_rule: Option<String>, expressions: &[Expression]) -> AlarmKind {
    if let Some(rule) = alarm_rule {
        AlarmKind::Composite {
            rule,
            suppressed: None,
        }
    } else if expressions
        .iter()
        .any(|e| e.expression.contains("ANOMALY_DETECTION_BAND"))
    {
        AlarmKind::AnomalyBand
    } else if !expressions.is_empty() {
        AlarmKind::MetricMath
    } else {
        AlarmKind::Metric
    }
}

/// A composite's suppressed actions: `state.actionsSuppressedBy` with the suppressor it names. A value CloudWatch
/// does not document is a warning, and the actions count as not suppressed (the report stays as loud as any).
fn actions_suppressed(
    by: Option<&str>,
    suppressor: Option<&str>,
    base: &str,
    warnings: &mut Vec<String>,
) -> Option<ActionsSuppressed> {
    let raw = by.filter(|b| !b.trim().is_empty())?;
    let Some(by) = SuppressedBy::parse(raw) else {
        warnings.push(format!(
            "{base}.state.actionsSuppressedBy is {:?}: not a value CloudWatch documents (Alarm, WaitPeriod, ExtensionPeriod), read as not suppressed",
            bounded(raw, QUOTE_MAX)
        ));
        return None;
    };
    Some(ActionsSuppressed {
        by,
        suppressor: suppressor
            .map(|s| bounded(s.trim(), 256))
            .filter(|s| !s.is_empty()),
    })
}

/// The instances the alarm's metrics name by `InstanceId`, in order of appearance, deduplicated; a value that is not
/// an instance id is skipped with a warning.
fn named_instances(metrics: &[MetricRef], warnings: &mut Vec<String>) -> Vec<String> {
    let mut instance_ids: Vec<String> = Vec::new();
    for m in metrics {
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
    instance_ids
}

/// Whether the alarm watches a fleet, and what over: a Metrics Insights query on an EC2 namespace (the kind becomes
/// [`AlarmKind::MetricsInsights`]), or metric math over several instances. `Err` is the detail of an alarm ec2ops
/// ignores: a query on another namespace (the EventBridge rules do not route those; an alarm action can).
// Long on purpose: one decision over the two fleet shapes (Metrics Insights, metric math); each branch is short.
pub(super) fn fleet_alarm(
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
pub(super) fn reason_figures(reason: &str) -> Option<ReasonData> {
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
pub(super) const CONTRIBUTOR_ID_MAX: usize = 128;

pub(super) fn convert_contributor(
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
pub(super) fn contributor_metric(c: &Contributor, fleet: Option<&FleetAlarm>) -> Option<MetricRef> {
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

pub(super) fn convert_state(
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
pub(super) fn parse_reason_data(
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
pub(super) fn comparison_from_reason(reason: &str) -> Option<Comparison> {
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
