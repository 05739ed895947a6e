//! The report's top: headline, SNS subject, title and header lines (event, instance, transition, threshold, trend),
//! from the alarm change, the instance facts and the gathered window of the alarm's own metric.

use chrono::{DateTime, Utc};

use crate::config::Language;
use crate::facts::{InstanceFacts, InstanceLookup, Role};
use crate::model::{AlarmChange, AlarmKind, Cause};

use super::headline::{metric_label, Headline};
use super::text::{self, hm, sparkline, value, when_in, Line};
use super::{fleet, phrasebook, Ctx};
use crate::catalogue::{unit_of, Unit};

pub(super) fn subject(cx: &Ctx<'_>, headline: &str) -> String {
    let who = match (cx.instance_id, cx.instance.and_then(InstanceFacts::name)) {
        // A name that is not all ASCII is left out whole: its ASCII fragments alone (`(-API-)` of `결제-API-서버`)
        // would name nothing.
        (Some(id), Some(name)) if !text::ascii(name).is_empty() && name.is_ascii() => {
            format!("{id} ({})", text::ascii(name))
        }
        (Some(id), _) => id.to_string(),
        (None, _) => text::ascii(&cx.change.alarm_name),
    };
    // A ranked fleet: `[P1] Fleet CPU spike: i-… (VPC02-Private-B) +2 more`.
    let (sep, more) = match fleet::ranked(cx.facts) {
        Some(_) => (":", fleet::subject_more(cx.facts).unwrap_or_default()),
        None => ("", String::new()),
    };
    let s = super::silenced::subject(
        cx,
        text::ascii(&format!(
            "[{}] {}{sep} {who}{more}",
            cx.a.priority.label(),
            text::ascii(headline),
        )),
    );
    // SNS: fewer than 100 characters.
    if s.len() > 99 {
        format!("{}...", &s[..96])
    } else {
        s
    }
}

pub(super) fn title(cx: &Ctx<'_>, headline: &Headline) -> Line {
    let mut t = Line::new().t(format!(
        "{}[{}] {} — ",
        super::silenced::title_mark(cx),
        cx.a.priority.label(),
        headline.say(cx.lang)
    ));
    match (cx.instance_id, cx.instance.and_then(InstanceFacts::name)) {
        (Some(id), Some(name)) => t = t.c(id).t(" (").u(name).t(")"),
        (Some(id), None) => t = t.c(id),
        (None, _) => t = t.u(&cx.change.alarm_name),
    }
    t
}

pub(super) fn kind_name(kind: &AlarmKind, lang: Language) -> String {
    match kind {
        AlarmKind::Metric => l!(lang, "단일 메트릭", "single metric"),
        AlarmKind::MetricMath => l!(lang, "metric math", "metric math"),
        AlarmKind::AnomalyBand => l!(lang, "anomaly detection band", "anomaly detection band"),
        AlarmKind::Composite { .. } => l!(lang, "composite", "composite"),
        AlarmKind::MetricsInsights => l!(lang, "Metrics Insights", "Metrics Insights"),
    }
}

/// The series the header's trend shows: the alarm's own metric from the window, else its evaluated datapoints.
pub(super) fn trend_points(cx: &Ctx<'_>) -> Vec<(DateTime<Utc>, f64)> {
    if let Some(s) = cx.facts.metrics.get().and_then(|m| m.get(Role::Alarm)) {
        return s.points.clone();
    }
    let evaluated = cx.change.evaluated_values();
    if !evaluated.is_empty() {
        return evaluated;
    }
    let recent = cx
        .change
        .state
        .reason_data
        .as_ref()
        .map(|r| r.recent.clone())
        .unwrap_or_default();
    recent
        .into_iter()
        .map(|v| (cx.change.state.at, v))
        .collect()
}

/// The gathered window's value of the alarm's own metric at `at`, if it has one.
pub(super) fn window_value_at(cx: &Ctx<'_>, at: DateTime<Utc>) -> Option<f64> {
    let s = cx.facts.metrics.get()?.get(Role::Alarm)?;
    s.points.iter().find(|(t, _)| *t == at).map(|(_, v)| *v)
}

/// The header: what fired, the instance, the transition, then the alarm's threshold, reading and trend.
pub(super) fn header(cx: &Ctx<'_>) -> Vec<Line> {
    let mut out: Vec<Line> = super::silenced::header_line(cx).into_iter().collect();
    out.push(event_line(cx));
    out.extend(fleet::header_lines(cx.change, cx.facts, cx.lang, cx.tz));
    out.push(instance_line(cx));
    out.extend(network_line(cx));
    out.push(transition_line(cx));
    out.extend(alarm_lines(cx));
    out
}

/// What fired: the alarm (and its kind), the state-change or Health event, or the sweep.
pub(super) fn event_line(cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let c = cx.change;
    match &c.cause {
        Cause::StateChange { .. } => Line::from(l!(
            lang,
            "이벤트: EC2 Instance State-change Notification",
            "Event: EC2 Instance State-change Notification"
        )),
        Cause::Health(h) => Line::new()
            .t(l!(lang, "이벤트: AWS Health ", "Event: AWS Health "))
            .u(&h.type_code),
        Cause::Sweep { .. } => Line::new()
            .t(l!(
                lang,
                "발견: ec2ops sweep (알람 없음) · ",
                "Found by: the ec2ops sweep (no alarm) · "
            ))
            .u(&c.alarm_name),
        // A single-metric alarm is the common case, and a fleet alarm's own line says what it is: only the other
        // kinds say it here.
        _ if matches!(c.kind, AlarmKind::Metric) || c.fleet.is_some() => Line::new()
            .t(l!(lang, "알람: ", "Alarm: "))
            .u(&c.alarm_name),
        _ => Line::new()
            .t(l!(lang, "알람: ", "Alarm: "))
            .u(&c.alarm_name)
            .t(format!(" ({})", kind_name(&c.kind, lang))),
    }
}

/// The instance: id, name, type, AZ, IP and state, or why they are not known.
pub(super) fn instance_line(cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let c = cx.change;
    let mut inst = Line::new().t(l!(lang, "인스턴스: ", "Instance: "));
    match cx.instance_id {
        None => {
            let group = c
                .primary_metric()
                .and_then(|m| m.dimensions.get("AutoScalingGroupName"));
            inst = match (fleet::no_instance(c, cx.facts, lang), group) {
                (Some(fleet), _) => inst.t(fleet),
                // An alarm on a group's aggregate: the group is what it watches.
                (None, Some(group)) => inst
                    .t(l!(lang, "Auto Scaling group ", "Auto Scaling group "))
                    .u(group)
                    .t(l!(
                        lang,
                        " 전체 (알람 dimension AutoScalingGroupName)",
                        " as a whole (the alarm's AutoScalingGroupName dimension)"
                    )),
                (None, None) => inst.t(l!(
                    lang,
                    "알람 dimension에 InstanceId 없음",
                    "no InstanceId in the alarm's dimensions"
                )),
            }
        }
        Some(id) => {
            inst = inst.c(id);
            if let Some(i) = cx.instance {
                if let Some(name) = i.name() {
                    inst = inst.t(" (").u(name).t(")");
                }
                let mut parts = vec![i.instance_type.clone()];
                parts.extend(i.availability_zone.clone());
                parts.extend(i.private_ip.clone());
                parts.push(i.state.to_string());
                inst = inst.t(format!(" · {}", parts.join(" · ")));
            } else if let Some(InstanceLookup::NotFound) = cx.facts.instance.get() {
                inst = inst.t(l!(lang, " · 존재하지 않음 (not found)", " · not found"));
            } else if let Some(r) = cx.facts.instance.reason() {
                inst = inst.t(l!(
                    lang,
                    " · 상세 정보 조회 불가 ({})",
                    " · details unavailable: {}",
                    phrasebook::reason(r, lang)
                ));
            }
            if c.instance_ids.len() > 1 {
                inst = inst.t(l!(
                    lang,
                    " (+{}개 인스턴스)",
                    " (+{} more)",
                    c.instance_ids.len() - 1
                ));
            }
        }
    }
    inst
}

/// Where the instance sits in the network: its VPC, and its subnet with the subnet's AZ. Only what DescribeInstances
/// gave: nothing known, no line.
fn network_line(cx: &Ctx<'_>) -> Option<Line> {
    let i = cx.instance?;
    if i.vpc_id.is_none() && i.subnet_id.is_none() {
        return None;
    }
    // The ids name their kind (`vpc-`, `subnet-`); the subnet's AZ is the instance line's.
    let mut line = Line::new().t(l!(cx.lang, "네트워크: ", "Network: "));
    if let Some(vpc) = &i.vpc_id {
        line = line.c(vpc);
    }
    if let Some(subnet) = &i.subnet_id {
        if i.vpc_id.is_some() {
            line = line.t(" · ");
        }
        line = line.c(subnet);
    }
    Some(line)
}

/// The input's own transition, as `(before, now)`; `before` is empty where the input says only the state now. An
/// alarm's is its previous and new state; an instance's state change (the event gives the new state only), a Health
/// event and the sweep have no alarm state, and none is invented for them.
pub(super) fn transition(c: &AlarmChange, lang: Language) -> (String, String) {
    match &c.cause {
        // The instance's own state: the event gives the new one only, not the one before.
        Cause::StateChange { state } => (String::new(), state.as_str().to_string()),
        Cause::Health(h) => ("AWS Health".to_string(), h.category.clone()),
        Cause::Sweep { check } => (
            String::new(),
            l!(lang, "{} 손상(impaired)", "{} impaired", check),
        ),
        Cause::Alarm(_) | Cause::Contributor { .. } => (
            c.previous
                .as_ref()
                .map(|p| p.value.as_str())
                .or_else(|| fleet::implied_previous(c))
                .unwrap_or("")
                .to_string(),
            c.state.value.as_str().to_string(),
        ),
    }
}

fn transition_line(cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let c = cx.change;
    let (prev, now_state) = transition(c, lang);
    Line::from(if prev.is_empty() {
        l!(
            lang,
            "상태: {} · {}",
            "State: {} · {}",
            now_state,
            when_in(c.state.at, cx.tz, cx.lang)
        )
    } else {
        l!(
            lang,
            "상태 변화: {} → {} · {}",
            "Transition: {} → {} · {}",
            prev,
            now_state,
            when_in(c.state.at, cx.tz, cx.lang)
        )
    })
}

/// Units a metric-math label may end with (`Total throughput MiB/s`, `Latency (ms)`).
const LABEL_UNITS: [&str; 18] = [
    "B/s", "KB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s", "bit/s", "kbit/s", "Mbit/s",
    "Gbit/s", "bps", "Mbps", "Gbps", "ms", "IOPS", "req/s", "/s",
];

/// The unit a metric-math label names as its last word, if any.
fn label_unit(label: &str) -> Option<&'static str> {
    let last = label
        .split_whitespace()
        .last()?
        .trim_matches(|c| matches!(c, '(' | ')' | '[' | ']'));
    LABEL_UNITS.into_iter().find(|u| *u == last)
}

/// A value of the alarm's metric: in its catalogue unit, or a plain number in the unit its label names.
fn in_unit(v: f64, unit: Unit, label: &str) -> String {
    match (unit, label_unit(label)) {
        (Unit::Plain, Some(named)) => format!("{} {named}", value(v, unit)),
        (Unit::Plain, None) if label.ends_with('%') => value(v, Unit::Percent),
        _ => value(v, unit),
    }
}

/// The alarm's threshold (or rule, or band) with its reading, a composite's triggering alarms, and the trend.
fn alarm_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let c = cx.change;
    let mut out = Vec::new();
    let metric = metric_label(c);
    let unit = unit_of(&metric);
    let value = |v: f64, unit: Unit| in_unit(v, unit, &metric);
    let trend = trend_points(cx);
    let actual = c
        .evaluated_values()
        .last()
        .copied()
        .or_else(|| trend.last().copied());
    let threshold = match (&c.kind, c.threshold(), c.comparison) {
        (AlarmKind::Composite { rule, .. }, _, _) => {
            Some(Line::new().t(l!(lang, "규칙: ", "Rule: ")).u(rule))
        }
        (AlarmKind::AnomalyBand, _, _) => {
            let band = c.state.reason_data.as_ref().and_then(|r| {
                let up = r.upper.last()?;
                Some(match r.lower.last() {
                    Some(lo) => format!("{} – {}", value(*lo, unit), value(*up, unit)),
                    None => format!("≤ {}", value(*up, unit)),
                })
            });
            Some(Line::from(match band {
                Some(band) => l!(lang, "예상 범위(band): {}", "Expected band: {}", band),
                None => l!(
                    lang,
                    "예상 범위(band): 이벤트에 없음",
                    "Expected band: not in the event"
                ),
            }))
        }
        (_, Some(t), cmp) => Some(Line::from(l!(
            lang,
            "임계값: {} {} {}",
            "Threshold: {} {} {}",
            metric,
            cmp.map(|c| c.symbol()).unwrap_or("vs"),
            value(t, unit)
        ))),
        (_, None, _) => None,
    };
    if let Some(mut t) = threshold {
        if let Some((at, v)) = actual {
            t = t.t(l!(
                lang,
                " · 실제 값: {} ({})",
                " · actual: {} ({})",
                value(v, unit),
                hm(at, cx.tz, cx.lang)
            ));
            // The alarm's datapoint and the window's value for the same minute are two readings: when they differ,
            // say which is which rather than let two numbers disagree.
            if let Some(w) = window_value_at(cx, at).filter(|w| value(*w, unit) != value(v, unit)) {
                t = t.t(l!(
                    lang,
                    " — 알람이 평가한 datapoint; 나중에 읽은 window의 같은 분 값은 {} (늦게 도착한 샘플 또는 다른 통계)",
                    " — the alarm's evaluated datapoint; the window read later has {} for the same minute (late samples or another statistic)",
                    value(w, unit)
                ));
            }
        }
        out.push(t);
    }
    if let Some(AlarmKind::Composite { .. }) = Some(&c.kind) {
        if let Some(r) = &c.state.reason_data {
            for t in &r.triggering {
                out.push(
                    Line::new()
                        .t(l!(lang, "트리거 알람: ", "Triggering alarm: "))
                        .u(&t.name)
                        .t(t.state
                            .map(|s| format!(" {}", s.as_str()))
                            .unwrap_or_default()),
                );
            }
        }
    }
    // The window's line of the alarm's metric (📊) draws the series with its last, highest and average values, and
    // a spike's or a saturation's evidence lists the run: a trend here would say it again.
    let drawn_below = cx
        .facts
        .metrics
        .get()
        .is_some_and(|w| super::situation::alarm_series_drawn(cx, w));
    // A failed status check is 0 or 1: its persistence line and the checks' own state (📊) say what a trend would.
    if !trend.is_empty() && !drawn_below && !c.claims_check_failure() {
        let last: Vec<String> = trend
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(|(_, v)| value(*v, unit))
            .collect();
        let spark_values: Vec<f64> = trend.iter().rev().take(30).rev().map(|(_, v)| *v).collect();
        out.push(Line::from(l!(
            lang,
            "추세 ({}개 중 최근 {}): {}  {}",
            "Trend (last {1} of {0}): {2}  {3}",
            trend.len(),
            last.len(),
            last.join(" → "),
            sparkline(&spark_values, unit)
        )));
    }
    out
}
