//! Section 📊 Current situation: instance state, status checks, the metric window, in-guest diagnostics, findings
//! with their evidence and the sources that could not be read, from the facts and the assessment.

use chrono::{DateTime, Utc};

use crate::config::Language;
use crate::facts::{Role, Series, Source};
use crate::model::{AlarmKind, AlarmState, Cause};
use crate::source::Gap;

use super::findings::{finding_line, finding_phrase};
use super::text::{bit_rate, day_minute, hm, span, sparkline, value, when_in, Line};
use super::{evidence, fleet, phrasebook, section, Ctx, Part, Section};
use crate::catalogue::unit_of;

pub(super) fn series_summary(
    name: &str,
    s: &Series,
    cx: &Ctx<'_>,
    said_at: Option<DateTime<Utc>>,
) -> Line {
    Line::from(format!("{name}: {}", series_figures(name, s, cx, said_at)))
}

/// A value of a series in its metric's unit; network bytes (a `Sum` over the period) as the rate they were.
fn shown(metric: &str, v: f64, cx: &Ctx<'_>) -> String {
    if matches!(
        metric,
        crate::catalogue::NETWORK_IN | crate::catalogue::NETWORK_OUT
    ) {
        bit_rate(v, cx.period_secs())
    } else {
        value(v, unit_of(metric))
    }
}

/// Whether a finding's evidence reads this series: one of its datapoints, or a figure drawn from it.
fn cited(cx: &Ctx<'_>, metric: &str, s: &Series) -> bool {
    use crate::analyze::Observation as O;
    use crate::catalogue::{CPU_UTILIZATION, NETWORK_IN, NETWORK_OUT};
    cx.a.findings
        .iter()
        .flat_map(|f| &f.evidence)
        .any(|o| match o {
            O::Datapoint {
                metric: m,
                dimension,
                ..
            } => metric == *m && s.dimension == *dimension,
            O::NetworkInSurge { .. } => metric == NETWORK_IN,
            O::NetworkOutMedian { .. } => metric == NETWORK_OUT,
            O::CpuRise { .. } | O::MedianBeforeRise { .. } => metric == CPU_UTILIZATION,
            _ => false,
        })
}

/// A series' last, highest and average values and its sparkline, in the unit of its metric; the minute of its last
/// value unless it is `said_at` (the alarm's series line, just above, gave it).
fn series_figures(
    metric: &str,
    s: &Series,
    cx: &Ctx<'_>,
    said_at: Option<DateTime<Utc>>,
) -> String {
    let lang = cx.lang;
    let unit = unit_of(metric);
    let values = s.values();
    let avg = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let (last_at, last) = s.last().unwrap_or_default();
    let max = s.max().unwrap_or_default();
    let shown = |v: f64| shown(metric, v, cx);
    let at = if said_at == Some(last_at) {
        String::new()
    } else {
        format!(" ({})", hm(last_at, cx.tz, cx.lang))
    };
    l!(
        lang,
        "최근 {}{}, 최대 {}, 평균 {} · {}",
        "last {}{}, max {}, avg {} · {}",
        shown(last),
        at,
        shown(max),
        shown(avg),
        sparkline(&values, unit)
    )
}

/// 📊 of the summary of a multi-time-series alarm's alarm-level event: the contributors in ALARM.
pub(super) fn contributors_situation(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut out = Lines::default();
    let contributors = fleet::contributor_lines(cx.change, cx.facts, lang, cx.tz);
    out.marked(
        contributors
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, i < RANKING_KEPT)),
    );
    if let Some(d) = &cx.change.description {
        out.spare([Line::new()
            .t(l!(lang, "알람 설명: ", "Alarm description: "))
            .u(d)]);
    }
    out.section(lang)
}

/// 📊's lines, each kept or spare when a message must be cut (`render::FLOORS`): spare ones go first.
#[derive(Default)]
struct Lines {
    lines: Vec<Line>,
    spare: Vec<usize>,
}

impl Lines {
    fn push(&mut self, line: Line, kept: bool) {
        if !kept {
            self.spare.push(self.lines.len());
        }
        self.lines.push(line);
    }

    fn spare(&mut self, lines: impl IntoIterator<Item = Line>) {
        for l in lines {
            self.push(l, false);
        }
    }

    fn marked(&mut self, lines: impl IntoIterator<Item = (Line, bool)>) {
        for (l, kept) in lines {
            self.push(l, kept);
        }
    }

    fn section(self, lang: Language) -> Section {
        Section {
            spare: self.spare,
            ..section(Part::Situation, lang, self.lines)
        }
    }
}

/// How many lines of a fleet ranking a cut keeps: its heading and the top contributor.
const RANKING_KEPT: usize = 2;

pub(super) fn situation(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut out = Lines::default();
    let ranking = fleet::ranking_lines(cx.change, cx.facts, lang, cx.tz);
    out.marked(
        ranking
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, i < RANKING_KEPT)),
    );
    // A sweep's or a state change's description is ec2ops's own restatement of the header: not repeated.
    if let Some(d) = cx.change.description.as_ref().filter(|_| {
        !matches!(
            cx.change.cause,
            Cause::Sweep { .. } | Cause::StateChange { .. }
        )
    }) {
        // A Health event's text is AWS's description of the event, not an alarm's: its gist, then AWS's text.
        let line = match cx.change.health() {
            Some(h) => super::quoted::event_description(
                Line::new().t(l!(lang, "이벤트 설명: ", "Event description: ")),
                &h.type_code,
                d,
                lang,
            ),
            None if cx.change.is_alarm() => Line::new()
                .t(l!(lang, "알람 설명: ", "Alarm description: "))
                .u(d),
            None => Line::new()
                .t(l!(lang, "이벤트 설명: ", "Event description: "))
                .u(d),
        };
        out.push(line, false);
    }
    out.spare(state_lines(cx));
    out.marked(window_lines(cx));
    out.spare(diagnostics_lines(cx));
    out.marked(finding_lines(cx));
    out.spare(super::sources::situation(cx.change, cx.facts, lang, cx.tz));
    out.spare(note_lines(cx));
    out.spare(super::sources::links(cx.change, cx.facts, &cx.region, lang));
    out.section(lang)
}

/// When the instance started and its status checks (none while it is not running), with scheduled events.
fn state_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let mut lines = Vec::new();
    // The state itself is the header's (the instance line): only when the instance started is said here.
    if let Some(t) = cx.instance.and_then(|i| i.launch_time) {
        lines.push(Line::from(l!(
            lang,
            "시작 시각: {}",
            "Launched {}",
            day_minute(t, cx.tz, lang)
        )));
    }
    // A stopped instance has no status checks: whatever DescribeInstanceStatus kept is not about now.
    let not_running = cx.instance.filter(|i| !i.state.is_up());
    match &cx.facts.status {
        Source::Available(_) if not_running.is_some() => lines.push(Line::from(l!(
            lang,
            "상태 확인: 인스턴스가 {} 상태라 검사 없음",
            "Status checks: none while the instance is {}",
            not_running.map(|i| i.state.as_str()).unwrap_or_default()
        ))),
        Source::Available(s)
            if [&s.system, &s.instance, &s.attached_ebs]
                .iter()
                .all(|v| v.as_deref() == Some("ok"))
                && s.scheduled_events.is_empty() =>
        {
            // As the console says it: nothing to name when every check passed.
            lines.push(Line::from(l!(
                lang,
                "상태 확인: 3/3 통과",
                "Status checks: 3/3 passed"
            )));
        }
        Source::Available(s) => {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            lines.push(Line::from(l!(
                lang,
                "상태 확인: 시스템 상태 확인 {}, 인스턴스 상태 확인 {}, 연결된 EBS 상태 확인 {}",
                "Status checks: system {}, instance {}, attached EBS {}",
                show(&s.system),
                show(&s.instance),
                show(&s.attached_ebs)
            )));
            for e in &s.scheduled_events {
                let mut line =
                    Line::new().t(l!(lang, "예정된 이벤트: {}", "Scheduled event: {}", e.code));
                if let Some(t) = e.not_before {
                    line = line.t(format!(" ({})", when_in(t, cx.tz, cx.lang)));
                }
                if let Some(d) = &e.description {
                    line = super::quoted::event_description(line.t(": "), &e.code, d, lang);
                }
                lines.push(line);
            }
        }
        Source::Unavailable(_) if cx.instance_id.is_none() => {}
        Source::Unavailable(r) => lines.push(Line::from(l!(
            lang,
            "상태 확인: 조회 불가 ({})",
            "Status checks: unavailable: {}",
            phrasebook::reason(r, lang)
        ))),
    }
    lines
}

/// The metric window and a summary line per gathered series; kept in a cut: the alarm metric's line and its
/// persistence.
fn window_lines(cx: &Ctx<'_>) -> Vec<(Line, bool)> {
    let lang = cx.lang;
    let mut lines = Vec::new();
    if let Some(w) = cx.facts.metrics.get() {
        // A window with no datapoints has no span to show: say so rather than print a placeholder.
        lines.push((
            Line::from(match (w.start, w.end) {
                (Some(s), Some(e)) => l!(
                    lang,
                    "메트릭 window {} · period {}s",
                    "Metric window {} · period {}s",
                    span(s, e, cx.tz, lang),
                    w.period_secs
                ),
                _ => l!(
                    lang,
                    "메트릭: {}개 조회, datapoint 없음 (period {}s)",
                    "Metrics: {} requested, no datapoints returned (period {}s)",
                    w.metrics_requested,
                    w.period_secs
                ),
            }),
            false,
        ));
        let roles = DRAWN;
        // The persistence line goes under the alarm's own metric: the series the window read for the alarm, or
        // (for a CPU alarm without one) the CPU series.
        let alarm_series = alarm_series(cx, w);
        let mut persistence = persistence_line(cx, w);
        // A series no finding reads and that is not the alarm's own is one figure (its last value) on a shared line:
        // the reader's eye goes to what the incident is about. No judgement is made of it: no rule read it.
        let mut quiet: Vec<String> = Vec::new();
        // The alarm's series line gives the minute of its last value: another series ending then does not repeat it.
        let alarm_last = alarm_series
            .filter(|_| alarm_series_drawn(cx, w))
            .and_then(|a| a.last())
            .map(|(t, _)| t);
        let said_at = |s: &Series| {
            let own = alarm_series.is_some_and(|a| {
                a.name == s.name && a.dimension == s.dimension && a.points == s.points
            });
            if own {
                None
            } else {
                alarm_last
            }
        };
        let mut push = |lines: &mut Vec<(Line, bool)>, line: Line, metric: &str, s: &Series| {
            // The same metric read once for both roles: the same name, dimension and readings.
            let own = alarm_series.is_some_and(|a| {
                a.name == s.name && a.dimension == s.dimension && a.points == s.points
            });
            // The alarm's metric read at another statistic than the alarm's (its Maximum beside the window's Average)
            // is still the metric the incident is about: drawn in full.
            let alarms_metric = s.dimension.is_none() && cx.change.metric_name() == Some(metric);
            if !own && !alarms_metric && !cited(cx, metric, s) {
                if let Some((_, last)) = s.last() {
                    let label = match &s.dimension {
                        Some(d) => format!("{metric} {d}"),
                        None => metric.to_string(),
                    };
                    quiet.push(format!("{label} {}", shown(metric, last, cx)));
                }
                return;
            }
            lines.push((line, own));
            if own {
                lines.extend(persistence.take().map(|p| (p, true)));
            }
        };
        for (role, name) in roles
            .into_iter()
            .filter_map(|r| Some((r, crate::catalogue::metric_of(r)?)))
        {
            if let Some(s) = w.get(role) {
                let line = series_summary(name, s, cx, said_at(s));
                push(&mut lines, line, name, s);
            }
        }
        // Disks and burst balances carry their path / volume id in the label.
        for role in crate::catalogue::slot_roles() {
            if let Some(s) = w.get(role) {
                let metric = crate::catalogue::metric_of(role).unwrap_or_default();
                let line =
                    Line::new()
                        .u(s.label())
                        .t(": ")
                        .t(series_figures(metric, s, cx, said_at(s)));
                push(&mut lines, line, metric, s);
            }
        }
        if quiet.is_empty() {
        } else if lines.len() == 1 {
            // Nothing but quiet series: the window's own line says so.
            if let Some((window, _)) = lines.first_mut() {
                *window = std::mem::take(window)
                    .t(l!(lang, " — 시계열: ", " — series: "))
                    .u(quiet.join(" · "));
            }
        } else {
            lines.push((
                Line::new()
                    .t(l!(lang, "그 밖의 시계열: ", "Other series: "))
                    .u(quiet.join(" · ")),
                false,
            ));
        }
        // No series of the alarm's own metric is shown: under the window's line, not under another metric's.
        if let Some(p) = persistence {
            lines.insert(1.min(lines.len()), (p, true));
        }
    }
    lines
}

/// The series 📊 draws on a line of their own (besides the disks and burst balances), in order.
const DRAWN: [Role; 5] = [
    Role::Cpu,
    Role::NetworkIn,
    Role::NetworkOut,
    Role::CpuCredits,
    Role::Memory,
];

/// Whether 📊 draws the alarm's own series (its last, highest and average values and its sparkline).
pub(super) fn alarm_series_drawn(cx: &Ctx<'_>, w: &crate::facts::MetricWindow) -> bool {
    let Some(a) = alarm_series(cx, w) else {
        return false;
    };
    DRAWN
        .into_iter()
        .chain(crate::catalogue::slot_roles())
        .filter_map(|r| w.get(r))
        .any(|s| a.name == s.name && a.dimension == s.dimension && a.points == s.points)
}

/// The window's series of the alarm's own metric: the one read for the alarm, or the CPU series for a CPU alarm.
fn alarm_series<'w>(
    cx: &Ctx<'_>,
    w: &'w crate::facts::MetricWindow,
) -> Option<&'w crate::facts::Series> {
    w.get(Role::Alarm).or_else(|| {
        (cx.change.metric_name() == Some(crate::catalogue::CPU_UTILIZATION))
            .then(|| w.get(Role::Cpu))
            .flatten()
    })
}

/// How long the alarm's own metric has been past its threshold: the seed's "지속성" line (a single-datapoint spike
/// reads differently from minutes of saturation). The alarm's own evaluation says it ("5 out of the last 5
/// datapoints"); the window read afterwards adds how long the run has lasted when it is longer, or that the metric is
/// back within the threshold. Only for an alarm in ALARM with a static threshold.
fn persistence_line(cx: &Ctx<'_>, w: &crate::facts::MetricWindow) -> Option<Line> {
    let lang = cx.lang;
    let c = cx.change;
    if c.state.value != crate::model::AlarmState::Alarm {
        return None;
    }
    let (threshold, comparison) = (c.threshold()?, c.comparison?);
    if comparison == crate::model::Comparison::OutsideBand {
        return None;
    }
    // A failed check's finding gives the alarm's failed evaluated datapoints as its first evidence.
    let evaluated_in_finding = cx.a.findings.iter().flat_map(|f| &f.evidence).any(
        |o| matches!(o, crate::analyze::Observation::AlarmDatapoints { failed, .. } if *failed > 0),
    );
    if c.claims_check_failure() && evaluated_in_finding {
        return None;
    }
    let window = alarm_series(cx, w).map(|series| {
        let past = |(_, v): &&(_, f64)| comparison.breaches(*v, threshold);
        let trailing = series.points.iter().rev().take_while(past).count();
        let breaching = series.points.iter().filter(past).count();
        (trailing, breaching)
    });
    let minutes = |n: usize, period: u64| (n as u64).saturating_mul(period) / 60;
    let Some(e) = crate::model::Crossed::parse(&c.state.reason) else {
        return window
            .map(|(trailing, breaching)| window_only(cx, trailing, breaching, w.period_secs));
    };
    let period = c
        .state
        .reason_data
        .as_ref()
        .and_then(|r| r.period)
        .unwrap_or(w.period_secs);
    let alarm = match (e.crossed, e.of) {
        (1, 1) => l!(
            lang,
            "지속성 (알람 평가): 단일 datapoint 초과",
            "Persistence (the alarm's evaluation): a single datapoint past the threshold"
        ),
        (m, n) if m == n => l!(
            lang,
            "지속성 (알람 평가): 마지막 {}개 datapoint 모두 임계값 초과 (약 {}분 연속)",
            "Persistence (the alarm's evaluation): its last {} datapoints all past the threshold (about {} min)",
            n,
            minutes(n, period)
        ),
        (m, n) => l!(
            lang,
            "지속성 (알람 평가): 최근 {}개 중 {}개 datapoint 임계값 초과 (M of N)",
            "Persistence (the alarm's evaluation): {1} of its last {0} datapoints past the threshold (M of N)",
            n,
            m
        ),
    };
    let after = match window {
        Some((0, _)) => l!(
            lang,
            "; 이후 읽은 window의 마지막 값은 임계값 이내",
            "; the window read after ends back within the threshold"
        ),
        Some((trailing, _)) if trailing > e.of => l!(
            lang,
            "; 이후 읽은 window에서는 마지막 {}개 연속 (약 {}분)",
            "; the window read after shows the last {} in a row (about {} min)",
            trailing,
            minutes(trailing, w.period_secs)
        ),
        _ => String::new(),
    };
    Some(Line::from(format!("{alarm}{after}")))
}

/// The persistence line when the alarm's reason does not count its datapoints: from the window alone.
fn window_only(cx: &Ctx<'_>, trailing: usize, breaching: usize, period: u64) -> Line {
    let lang = cx.lang;
    let minutes = (trailing as u64).saturating_mul(period) / 60;
    Line::from(match trailing {
        0 => l!(
            lang,
            "지속성: window의 마지막 datapoint는 임계값 이내 (window 안에서 {}개 초과)",
            "Persistence: the window's last datapoint is within the threshold ({} above it in the window)",
            breaching
        ),
        1 => l!(
            lang,
            "지속성: 단일 데이터 포인트 스파이크 (마지막 1개만 임계값 초과, window 안에서 {}개)",
            "Persistence: a single-datapoint spike (only the last datapoint past the threshold; {} in the window)",
            breaching
        ),
        n => l!(
            lang,
            "지속성: 마지막 {}개 datapoint 연속 임계값 초과 (약 {}분)",
            "Persistence: the last {} datapoints in a row past the threshold (about {} min)",
            n,
            minutes
        ),
    })
}

/// What SSM read inside the guest: load, memory, uptime, top processes, the fullest file system, OOM kills.
fn diagnostics_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let mut lines = Vec::new();
    if let Some(d) = cx.facts.diagnostics.as_ref().and_then(Source::get) {
        let mut parts = Vec::new();
        if let Some(l) = &d.load {
            parts.push(format!("load {:.2}/{:.2}/{:.2}", l.one, l.five, l.fifteen));
        }
        if let Some(m) = &d.memory {
            parts.push(l!(
                lang,
                "메모리 {}/{} MiB 사용",
                "memory {}/{} MiB used",
                m.used_mib,
                m.total_mib
            ));
        }
        if let Some(u) = d.uptime_secs {
            parts.push(format!("uptime {}d {}h", u / 86_400, (u % 86_400) / 3600));
        }
        lines.push(Line::from(l!(
            lang,
            "게스트 OS (SSM): {}",
            "In-guest (SSM): {}",
            parts.join(" · ")
        )));
        let process = |p, sample| evidence::process(p, sample, lang);
        for p in d.top_cpu.iter().take(3) {
            lines.push(
                Line::sub()
                    .t(l!(lang, "CPU 상위: ", "top CPU: "))
                    .u(process(p, d.top_cpu_sample)),
            );
        }
        if let Some(p) = d.top_memory.first() {
            // The process at the top of the CPU list already has its line: only its memory and age are new.
            let listed = d.top_cpu.iter().take(3).any(|c| c.pid == p.pid);
            let text = if listed {
                l!(
                    lang,
                    "위의 {} (pid {}), 메모리 {:.1}%",
                    "the same {} (pid {}) as above, {:.1}% memory",
                    p.program(),
                    p.pid,
                    p.mem_percent
                )
            } else {
                process(p, crate::analyze::MEMORY_LIST)
            };
            lines.push(
                Line::sub()
                    .t(l!(lang, "메모리 상위: ", "top memory: "))
                    .u(text),
            );
        }
        if let Some(fs) = d.fullest_filesystem() {
            lines.push(Line::sub().t("df: ").u(&fs.mount).t(l!(
                lang,
                " {}% 사용, {} MiB 여유",
                " {}% used, {} MiB free",
                fs.used_percent,
                fs.available_mib
            )));
        }
        for k in d.oom_kills.iter().take(3) {
            lines.push(Line::sub().t("OOM: ").u(&k.line));
        }
        if !d.missing.is_empty() {
            lines.push(
                Line::sub().t(l!(lang, "읽지 못함: ", "not read: ")).u(d
                    .missing
                    .iter()
                    .map(|m| phrasebook::missing(m, lang))
                    .collect::<Vec<_>>()
                    .join("; ")),
            );
        }
    }
    lines
}

/// How many findings a cut keeps, each with its first evidence line.
const FINDINGS_KEPT: usize = 3;

/// Each finding with its evidence, or what stands as evidence when no rule matched; kept in a cut: the top findings
/// with their first evidence line.
fn finding_lines(cx: &Ctx<'_>) -> Vec<(Line, bool)> {
    let lang = cx.lang;
    let mut lines = Vec::new();
    if cx.change.state.value == AlarmState::Alarm && cx.a.findings.is_empty() {
        let n = cx.change.evaluated_values().len();
        let composite = matches!(cx.change.kind, AlarmKind::Composite { .. });
        lines.push(if n == 0 && composite {
            Line::from(l!(
                lang,
                "일치하는 RCA 규칙 없음: 복합 알람의 상태 사유(아래)와 트리거 알람이 근거",
                "no root-cause rule matched: the composite alarm's state reason (below) and triggering alarms are the evidence"
            ))
        } else if n == 0 {
            super::quoted::alarm_reason(
                Line::new().t(l!(
                    lang,
                    "일치하는 RCA 규칙 없음, 이벤트에 평가 datapoint 없음: 알람의 상태 사유가 유일한 근거 — ",
                    "no root-cause rule matched and the event carries no evaluated datapoints: the alarm's state reason is the only evidence — "
                )),
                &cx.change.state.reason,
                super::quoted::QUOTED_CHARS,
                lang,
                cx.tz,
            )
        } else {
            Line::from(l!(
                lang,
                "일치하는 RCA 규칙 없음: 알람의 평가 datapoint {}개가 근거",
                "no root-cause rule matched: the alarm's {} evaluated datapoints are the evidence",
                n
            ))
        });
    }
    if let AlarmKind::Composite { .. } = cx.change.kind {
        lines.push(super::quoted::alarm_reason(
            Line::new().t(l!(lang, "상태 사유: ", "State reason: ")),
            &cx.change.state.reason,
            super::quoted::QUOTED_CHARS,
            lang,
            cx.tz,
        ));
    }
    let mut lines: Vec<(Line, bool)> = lines.into_iter().map(|l| (l, true)).collect();
    // The finding the summary gives as the most likely cause points there instead of saying it again.
    let cause = super::summary::cause_finding(cx);
    for (n, f) in cx.a.findings.iter().enumerate() {
        let top = n < FINDINGS_KEPT;
        let phrase = finding_phrase(f, cx);
        let line = if cause.is_some_and(|c| std::ptr::eq(c, f)) {
            let mut line = Line::new().t(format!("[{}] ", f.rule.code())).t(l!(
                lang,
                "▶ 위의 추정 원인",
                "▶ the most likely cause above"
            ));
            if let Some(advice) = &phrase.advice {
                line = line.t(format!(" → {advice}"));
            }
            line
        } else {
            finding_line(f, cx)
        };
        lines.push((line, top));
        let evidence = evidence::lines(&f.evidence, cx.tz, lang, cx.period_secs());
        for (i, e) in evidence.into_iter().enumerate() {
            lines.push((Line::sub().t(e), top && i == 0));
        }
    }
    lines
}

/// Sources that could not be read, event warnings, notices about the handling, other incidents on the instance.
fn note_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let mut lines = Vec::new();
    if cx.instance_id.is_some() {
        // Sources that failed for the same reason share one line (offline mode would otherwise repeat it 7 times).
        let mut groups: Vec<(Vec<&str>, &Gap)> = Vec::new();
        for (name, why) in cx.facts.gaps() {
            match groups.iter_mut().find(|(_, w)| *w == why) {
                Some((names, _)) => names.push(name),
                None => groups.push((vec![name], why)),
            }
        }
        for (names, why) in groups {
            lines.push(Line::from(l!(
                lang,
                "{}: 조회 불가 ({})",
                "{}: unavailable: {}",
                names.join(", "),
                phrasebook::reason(why, lang)
            )));
        }
    }
    for w in &cx.change.warnings {
        lines.push(
            Line::new()
                .t(l!(lang, "이벤트 경고: ", "Event warning: "))
                .u(w),
        );
    }
    for n in cx.notices {
        lines.push(Line::from(format!("ec2ops: {n}")));
    }
    if let Some(v) = cx
        .facts
        .ledger
        .get()
        .filter(|v| !v.same_instance.is_empty())
    {
        lines.push(
            Line::new()
                .t(l!(
                    lang,
                    "같은 인스턴스의 다른 incident: ",
                    "Other incidents on this instance: "
                ))
                .u(v.same_instance
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")),
        );
    }
    lines
}
