//! The seven-section report, built from this incident's change, facts and assessment (pure: no I/O, no clock).
//!
//! [`build`] produces a [`Report`] of rich lines; [`render`] turns it into the email text, the AWS Chatbot custom
//! notification and the SNS message, within their size limits.

/// Pick the Korean or English text. Both branches are format strings over the same arguments.
macro_rules! l {
    ($lang:expr, $ko:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            Language::Ko => format!($ko $(, $arg)*),
            Language::En => format!($en $(, $arg)*),
        }
    };
}

mod evidence;
mod fleet;
pub mod followup;
pub mod recovery;
mod remedy;
pub mod render;
pub mod shell;
mod sources;
pub mod steps;
mod summary;
pub mod text;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::analyze::{
    Assessment, Detail, Environment, Finding, Pressure, Priority, Reason, RuleId,
};
use crate::analyze::{CheckNow, HealthKind, StopCause};
use crate::config::Language;
use crate::facts::{Facts, InstanceFacts, InstanceLookup, Role, Series, Source};
use crate::model::{AlarmChange, AlarmKind, AlarmState, Comparison, InputKind};
use crate::pricing::{self, HOURS_PER_MONTH};
use remedy::{asg_steps, capacity_steps, force_hint, lookup_events, volume_steps};
use shell::Command;
use text::{bytes, day_minute, hm, span, sparkline, unit_of, usd, value, when_in, Line, Unit};

pub use crate::remediation::ActionOutcome;
use crate::remediation::{ActionKind, Fact, Hold, Uncorroborated};
use recovery::{AutoRecovery, NotAvailable};

/// Everything the report is computed from.
pub struct ReportInput<'a> {
    pub change: &'a AlarmChange,
    pub facts: &'a Facts,
    pub assessment: &'a Assessment,
    pub action: &'a ActionOutcome,
    /// The tag key instances opt in with (for the how-to-opt-in advice).
    pub opt_in_tag: &'a str,
    pub language: Language,
    pub time_zone: Tz,
    /// Notices about the handling itself (a resumed incident, one the ledger could not record), shown in 📊.
    pub notices: &'a [String],
}

/// One of the seven sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub emoji: &'static str,
    pub title: String,
    pub lines: Vec<Line>,
    /// Lower numbers are kept longer when the message must be cut.
    pub keep_rank: u8,
}

/// A built report, format-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub priority: Priority,
    /// The language the report is written in (its cut notices are too).
    pub language: Language,
    /// Short English title, e.g. `High CPU`.
    pub headline: String,
    pub subject: String,
    pub title: Line,
    pub header: Vec<Line>,
    pub sections: Vec<Section>,
    /// Operator commands for the chat card's "next steps".
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    pub summary: String,
    pub incident_key: String,
    pub thread_id: String,
    pub related_resources: Vec<String>,
}

/// What the operator should do about the instance, which also decides the billing effect shown in 💰.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recommended {
    Reboot,
    StopStart,
    /// AWS's simplified automatic recovery is on and recovering the instance: wait for it, stop/start only if it
    /// has not recovered within [`steps::AWS_RECOVERY_GRACE_MINUTES`].
    AwsRecovers,
    /// An Auto Scaling member: the group replaces it.
    Replace,
    Wait,
    Resize,
    Investigate,
    Nothing,
}

struct Ctx<'a> {
    change: &'a AlarmChange,
    facts: &'a Facts,
    a: &'a Assessment,
    lang: Language,
    tz: Tz,
    instance: Option<&'a InstanceFacts>,
    instance_id: Option<&'a str>,
    region: String,
    recommended: Recommended,
    action: &'a ActionOutcome,
    opt_in_tag: &'a str,
    notices: &'a [String],
}

/// Build the report.
pub fn build(input: &ReportInput<'_>) -> Report {
    let change = input.change;
    let instance = input.facts.found_instance();
    let region = change
        .region
        .clone()
        .or_else(|| {
            instance
                .and_then(|i| i.availability_zone.as_deref())
                .map(|az| {
                    az.trim_end_matches(|c: char| c.is_ascii_lowercase())
                        .to_string()
                })
        })
        .unwrap_or_else(|| "us-east-1".into());
    let cx = Ctx {
        change,
        facts: input.facts,
        a: input.assessment,
        lang: input.language,
        tz: input.time_zone,
        instance,
        instance_id: change.primary_instance(),
        region,
        recommended: recommended(change, input.assessment, instance, input.facts),
        action: input.action,
        opt_in_tag: input.opt_in_tag,
        notices: input.notices,
    };
    let headline = fleet::headline(change, input.facts, headline(&cx));
    let subject = subject(&cx, &headline);
    let summary_only = change.is_series_summary();
    let sections = if summary_only {
        vec![
            urgency(&cx),
            contributors_situation(&cx),
            summary_actions(&cx),
        ]
    } else {
        vec![
            urgency(&cx),
            situation(&cx),
            actions(&cx),
            long_term(&cx),
            cost(&cx),
            security(&cx),
            automation(&cx),
        ]
    };
    let (next_steps, keywords) = (next_steps(&cx), keywords(&cx));
    let mut related = Vec::new();
    if let (Some(id), Some(account)) = (cx.instance_id, change.account.as_deref()) {
        related.push(format!("arn:aws:ec2:{}:{account}:instance/{id}", cx.region));
    }
    if let Some(arn) = &change.alarm_arn {
        related.push(arn.clone());
    }
    let target = cx.instance_id.unwrap_or("-");
    Report {
        priority: cx.a.priority,
        language: cx.lang,
        summary: {
            // An AWS Health event or an instance's own state change has no previous alarm state: no placeholder.
            let previous = change
                .previous
                .as_ref()
                .map(|p| p.value.as_str())
                .or_else(|| fleet::implied_previous(change));
            let transition = match (change.input, previous) {
                (InputKind::Health, _) => "AWS Health".to_string(),
                (_, Some(p)) => format!("{p} -> {}", change.state.value.as_str()),
                (_, None) => change.state.value.as_str().to_string(),
            };
            format!(
                "[{}] {headline}: {} ({target}) {transition}",
                cx.a.priority.label(),
                text::sanitize(&change.alarm_name, 80),
            )
        },
        title: title(&cx, &headline),
        header: {
            let mut h = header(&cx);
            h.extend(summary::lines(&cx, &next_steps));
            h
        },
        headline,
        subject,
        sections,
        next_steps,
        keywords,
        incident_key: change.incident_key(),
        thread_id: change.thread_id(),
        related_resources: related,
    }
}

fn recommended(
    change: &AlarmChange,
    a: &Assessment,
    instance: Option<&InstanceFacts>,
    facts: &Facts,
) -> Recommended {
    let member = instance.is_some_and(|i| i.asg().is_some());
    if change.state.value != AlarmState::Alarm {
        return Recommended::Nothing;
    }
    if a.has(RuleId::Gone) || a.has(RuleId::Stopped) {
        Recommended::Nothing
    } else if a.has(RuleId::EbsCheck) {
        Recommended::Wait
    } else if (a.has(RuleId::SysCheck) || a.has(RuleId::InstCheck)) && member {
        Recommended::Replace
    } else if a.has(RuleId::SysCheck) {
        // Instance-store roots cannot be stopped and started: the data would be lost.
        if instance.and_then(|i| i.root_device_type.as_deref()) == Some("instance-store") {
            Recommended::Investigate
        } else if instance
            .is_some_and(|i| recovery::auto_recovery(i, facts) == recovery::AutoRecovery::On)
        {
            Recommended::AwsRecovers
        } else {
            Recommended::StopStart
        }
    } else if a.has(RuleId::InstCheck) {
        Recommended::Reboot
    } else if a.has(RuleId::CpuSustained) || a.has(RuleId::CpuCredits) {
        Recommended::Resize
    } else {
        Recommended::Investigate
    }
}

/// The alarm's metric name or expression label: user-defined text, so bounded (and escaped on output, like all text).
fn metric_label(change: &AlarmChange) -> String {
    text::sanitize(change.metric_name().unwrap_or("metric"), 64)
}

fn headline(cx: &Ctx<'_>) -> String {
    let a = cx.a;
    let metric = metric_label(cx.change);
    match cx.change.state.value {
        AlarmState::Ok => return format!("Resolved {metric}"),
        AlarmState::InsufficientData => return format!("Insufficient data {metric}"),
        AlarmState::Alarm => {}
    }
    let by_rule = [
        (RuleId::AzEvent, "Probable AZ-wide event"),
        (RuleId::Stopped, "Instance stopped"),
        (RuleId::Health, "AWS Health event"),
        (RuleId::Gone, "Instance stopped or gone"),
        (RuleId::SysCheck, "System status check failed"),
        (RuleId::InstCheck, "Instance status check failed"),
        (RuleId::EbsCheck, "Attached EBS check failed"),
        (RuleId::SecSuspect, "Possible compromise"),
        (RuleId::Disk, "Disk almost full"),
        (RuleId::Mem, "Memory pressure"),
        (RuleId::EbsBurst, "EBS burst balance low"),
        (RuleId::CpuCredits, "CPU credits exhausted"),
        (RuleId::CpuSustained, "Sustained high CPU"),
        (RuleId::CpuSpike, "CPU spike"),
    ];
    if let Some(kind) = a.findings.iter().find_map(|f| match &f.detail {
        Detail::Health { kind, .. } => Some(*kind),
        _ => None,
    }) {
        return match kind {
            HealthKind::Retirement => "Scheduled instance retirement",
            HealthKind::Maintenance => "Scheduled maintenance",
            HealthKind::RecoverySucceeded => "Automatic recovery succeeded",
            HealthKind::RecoveryFailed => "Automatic recovery failed",
            HealthKind::Other => "AWS Health event",
        }
        .into();
    }
    // The instance's own state and AWS-wide events come first; then the finding on the alarm's own metric (a
    // memory alarm is about memory even when the disk is fuller); then the rest in order of gravity.
    let first_four = |r: &RuleId| {
        matches!(
            r,
            RuleId::AzEvent | RuleId::Stopped | RuleId::Health | RuleId::Gone
        )
    };
    let own = summary::own_finding(cx.change, a).map(|f| f.rule);
    if let Some((_, h)) = by_rule
        .iter()
        .filter(|(r, _)| first_four(r))
        .chain(by_rule.iter().filter(|(r, _)| Some(*r) == own))
        .chain(by_rule.iter())
        .find(|(r, _)| a.has(*r))
    {
        return h.to_string();
    }
    match &cx.change.kind {
        AlarmKind::Composite { .. } => "Composite alarm".into(),
        AlarmKind::AnomalyBand => format!("{metric} outside expected band"),
        _ if metric == "CPUUtilization" => "High CPU".into(),
        _ => format!("Alarm {metric}"),
    }
}

fn subject(cx: &Ctx<'_>, headline: &str) -> String {
    let who = match (cx.instance_id, cx.instance.and_then(InstanceFacts::name)) {
        (Some(id), Some(name)) if !text::ascii(name).is_empty() => {
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
    let s = text::ascii(&format!(
        "[{}] {}{sep} {who}{more}",
        cx.a.priority.label(),
        text::ascii(headline),
    ));
    // SNS: fewer than 100 characters.
    if s.len() > 99 {
        format!("{}...", &s[..96])
    } else {
        s
    }
}

fn title(cx: &Ctx<'_>, headline: &str) -> Line {
    let mut t = Line::new().t(format!(
        "[{}] {} — ",
        cx.a.priority.label(),
        summary::headline_in(headline, cx.lang)
    ));
    match (cx.instance_id, cx.instance.and_then(InstanceFacts::name)) {
        (Some(id), Some(name)) => t = t.c(id).t(" (").u(name).t(")"),
        (Some(id), None) => t = t.c(id),
        (None, _) => t = t.u(&cx.change.alarm_name),
    }
    t
}

fn priority_name(p: Priority, lang: Language) -> String {
    match (p, lang) {
        (Priority::P0, Language::Ko) => "P0 Critical (긴급)".into(),
        (Priority::P1, Language::Ko) => "P1 High (높음)".into(),
        (Priority::P2, Language::Ko) => "P2 Medium (보통)".into(),
        (Priority::P3, Language::Ko) => "P3 Low (낮음)".into(),
        (Priority::P0, Language::En) => "P0 Critical".into(),
        (Priority::P1, Language::En) => "P1 High".into(),
        (Priority::P2, Language::En) => "P2 Medium".into(),
        (Priority::P3, Language::En) => "P3 Low".into(),
    }
}

fn kind_name(kind: &AlarmKind, lang: Language) -> String {
    match kind {
        AlarmKind::Metric => l!(lang, "단일 메트릭", "single metric"),
        AlarmKind::MetricMath => l!(lang, "metric math", "metric math"),
        AlarmKind::AnomalyBand => l!(lang, "anomaly detection band", "anomaly detection band"),
        AlarmKind::Composite { .. } => l!(lang, "composite", "composite"),
        AlarmKind::MetricsInsights => l!(lang, "Metrics Insights", "Metrics Insights"),
    }
}

/// The series the header's trend shows: the alarm's own metric from the window, else its evaluated datapoints.
fn trend_points(cx: &Ctx<'_>) -> Vec<(DateTime<Utc>, f64)> {
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
fn window_value_at(cx: &Ctx<'_>, at: DateTime<Utc>) -> Option<f64> {
    let s = cx.facts.metrics.get()?.get(Role::Alarm)?;
    s.points.iter().find(|(t, _)| *t == at).map(|(_, v)| *v)
}

fn header(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let c = cx.change;
    let mut out = Vec::new();
    out.push(match c.input {
        InputKind::StateChange => Line::from(l!(
            lang,
            "이벤트: EC2 Instance State-change Notification",
            "Event: EC2 Instance State-change Notification"
        )),
        InputKind::Health => Line::new()
            .t(l!(lang, "이벤트: AWS Health ", "Event: AWS Health "))
            .u(c.health
                .as_ref()
                .map(|h| h.type_code.as_str())
                .unwrap_or_default()),
        InputKind::Sweep => Line::new()
            .t(l!(
                lang,
                "발견: ec2ops sweep (알람 없음) · ",
                "Found by: the ec2ops sweep (no alarm) · "
            ))
            .u(&c.alarm_name),
        _ => Line::new()
            .t(l!(lang, "알람: ", "Alarm: "))
            .u(&c.alarm_name)
            .t(format!(" ({})", kind_name(&c.kind, lang))),
    });
    out.extend(fleet::header_lines(c, cx.facts, lang));
    let mut inst = Line::new().t(l!(lang, "인스턴스: ", "Instance: "));
    match cx.instance_id {
        None => {
            inst = inst.t(fleet::no_instance(c, cx.facts, lang).unwrap_or_else(|| {
                l!(
                    lang,
                    "알람 dimension에 InstanceId 없음",
                    "no InstanceId in the alarm's dimensions"
                )
            }))
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
                parts.push(i.state.clone());
                inst = inst.t(format!(" · {}", parts.join(" · ")));
            } else if let Some(InstanceLookup::NotFound) = cx.facts.instance.get() {
                inst = inst.t(l!(lang, " · 존재하지 않음 (not found)", " · not found"));
            } else if let Some(r) = cx.facts.instance.reason() {
                inst = inst.t(l!(
                    lang,
                    " · 상세 정보 조회 불가 ({})",
                    " · details unavailable: {}",
                    evidence::reason(r, lang)
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
    out.push(inst);
    let (prev, now_state) = match c.input {
        // The instance's own transition, not an alarm's.
        InputKind::StateChange => (
            "running",
            c.alarm_name.rsplit('/').next().unwrap_or("stopped"),
        ),
        InputKind::Health => (
            "AWS Health",
            c.health
                .as_ref()
                .map(|h| h.category.as_str())
                .unwrap_or("event"),
        ),
        _ => (
            c.previous
                .as_ref()
                .map(|p| p.value.as_str())
                .or_else(|| fleet::implied_previous(c))
                .unwrap_or(""),
            c.state.value.as_str(),
        ),
    };
    out.push(Line::from(if prev.is_empty() {
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
    }));

    let metric = metric_label(c);
    let unit = unit_of(&metric);
    let trend = trend_points(cx);
    let actual = c
        .evaluated_values()
        .last()
        .copied()
        .or_else(|| trend.last().copied());
    let threshold = match (&c.kind, c.threshold(), c.comparison) {
        (AlarmKind::Composite { rule }, _, _) => {
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
    if !trend.is_empty() {
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

fn section(
    emoji: &'static str,
    ko: &str,
    en: &str,
    lang: Language,
    lines: Vec<Line>,
    keep_rank: u8,
) -> Section {
    Section {
        emoji,
        title: match lang {
            Language::Ko => ko.to_string(),
            Language::En => en.to_string(),
        },
        lines,
        keep_rank,
    }
}

fn reason_line(r: &Reason, lang: Language) -> String {
    match r {
        Reason::Recovered { minutes: Some(m) } => l!(
            lang,
            "ALARM {}분 만에 OK로 복구됨 (MTTR {}분): 정보성 알림, 같은 thread에서 종료",
            "recovered to OK after {} minutes in ALARM (MTTR {} min): informational, closes the thread",
            m,
            m
        ),
        Reason::Recovered { minutes: None } => l!(lang, "알람이 OK로 복구됨: 정보성 알림", "the alarm recovered to OK: informational"),
        Reason::InsufficientData { after_alarm: true } => l!(
            lang,
            "ALARM 상태에서 데이터가 끊김: 인스턴스 중지·장애 또는 메트릭 수집 중단 가능성",
            "data stopped while the alarm was in ALARM: the instance may be down or has stopped publishing"
        ),
        Reason::InsufficientData { after_alarm: false } => l!(
            lang,
            "평가할 데이터 부족 (INSUFFICIENT_DATA)",
            "not enough data to evaluate the alarm (INSUFFICIENT_DATA)"
        ),
        Reason::Stopped { intended: true } => l!(
            lang,
            "의도된 중지/종료 (API/콘솔 또는 Auto Scaling): 정보성 알림",
            "an intended stop or termination (API/console or Auto Scaling): informational"
        ),
        Reason::Stopped { intended: false } => l!(
            lang,
            "예상치 못한 중지/종료이거나 원인 불명: 서비스 중단 가능",
            "an unexpected or unexplained stop: the service may be down"
        ),
        Reason::Health { kind, hours_left } => {
            let left = hours_left
                .map(|h| l!(lang, ", 기한까지 {}시간", ", {} hours to the deadline", h))
                .unwrap_or_default();
            match kind {
                HealthKind::RecoverySucceeded => l!(lang, "AWS 자동 복구 성공: 정보성 알림", "AWS automatic recovery succeeded: informational"),
                HealthKind::RecoveryFailed => l!(lang, "AWS 자동 복구 실패: 인스턴스가 손상된 상태", "AWS automatic recovery failed: the instance is impaired"),
                _ => l!(lang, "AWS Health 예정 이벤트{}", "AWS Health scheduled event{}", left),
            }
        }
        Reason::SecuritySuspect => l!(
            lang,
            "침해 의심 (지속 CPU + 대량 외부 전송 + 관리 포트 공개): 환경 무관 P1",
            "suspected compromise (sustained CPU + heavy outbound traffic + open admin port): P1 whatever the environment"
        ),
        Reason::ResourcePressure => l!(
            lang,
            "메모리/디스크/EBS I/O 한계 도달",
            "memory, disk or EBS I/O at its limit"
        ),
        Reason::AzEvent => l!(
            lang,
            "같은 AZ에서 여러 인스턴스 동시 장애: AWS 측 이벤트 가능성 (환경 무관 P0)",
            "several instances failed in one AZ at once: probable AWS-side event (P0 whatever the environment)"
        ),
        Reason::Gone => l!(
            lang,
            "인스턴스가 중지/종료되었거나 존재하지 않아 알람의 의미가 없음",
            "the instance is stopped, terminated or gone: the alarm is moot"
        ),
        Reason::StatusCheckFailed => l!(
            lang,
            "Status check 실패: 인스턴스가 서비스 불가 상태일 수 있음",
            "a status check failed: the instance may be unreachable"
        ),
        Reason::CompositeAlarm => l!(
            lang,
            "복합(composite) 알람: 여러 조건이 동시에 충족됨",
            "composite alarm: several conditions hold at once"
        ),
        Reason::SustainedBreach { datapoints } => l!(
            lang,
            "지속적인 임계값 초과 ({}개 datapoint)",
            "sustained breach ({} datapoints)",
            datapoints
        ),
        Reason::SingleBreach => l!(
            lang,
            "단일 datapoint 초과: 지속성 미확인",
            "single-datapoint breach: persistence not shown"
        ),
        Reason::CpuSpike => l!(lang, "단기 CPU 스파이크", "short CPU spike"),
        Reason::CreditsExhausted => l!(
            lang,
            "CPU credit 고갈: baseline으로 throttling",
            "CPU credits exhausted: throttled to baseline"
        ),
        Reason::Production { .. } => l!(lang, "운영 환경", "production"),
        Reason::NonProduction { .. } => l!(lang, "비운영 환경", "non-production"),
        Reason::ProductionAssumedUntagged => l!(
            lang,
            "Environment 태그 없음: 운영 환경으로 간주",
            "no Environment tag: treated as production"
        ),
        Reason::ProductionAssumedUnknownInstance => l!(
            lang,
            "인스턴스 정보 없음: 운영 환경으로 간주",
            "instance not known: treated as production"
        ),
        Reason::FleetWorst {
            instance_id,
            environment: Environment::Untagged,
            ..
        } => l!(
            lang,
            "임계값 초과 인스턴스에 Environment 태그 없음, 운영 환경으로 간주: {}",
            "a breaching instance has no Environment tag, treated as production: {}",
            instance_id
        ),
        Reason::FleetWorst {
            instance_id,
            environment: Environment::Unknown,
            ..
        } => l!(
            lang,
            "임계값 초과 인스턴스 정보 없음, 운영 환경으로 간주: {}",
            "a breaching instance is not known, treated as production: {}",
            instance_id
        ),
        Reason::FleetWorst {
            instance_id,
            environment: Environment::NonProduction(_),
            ..
        } => l!(
            lang,
            "비운영 환경 (조회한 초과 인스턴스 모두): {}",
            "non-production (every breaching instance looked up): {}",
            instance_id
        ),
        Reason::FleetWorst { instance_id, .. } => l!(
            lang,
            "운영 환경 (임계값 초과 인스턴스): {}",
            "production (a breaching instance): {}",
            instance_id
        ),
        Reason::ContributorsInAlarm { count: Some(n) } => l!(
            lang,
            "ALARM 상태 기여자(contributor) {}개 (기여자별 보고서 별도 발송)",
            "contributors in ALARM: {} (each has its own report)",
            n
        ),
        Reason::ContributorsInAlarm { count: None } => l!(
            lang,
            "ALARM 상태 기여자(contributor) 목록 없음 (기여자별 보고서 별도 발송)",
            "contributors in ALARM not listed (each has its own report)"
        ),
    }
}

fn urgency(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let a = cx.a;
    let within = match a.priority {
        Priority::P0 => l!(lang, "15분 이내", "15 minutes"),
        Priority::P1 => l!(lang, "1시간 이내", "1 hour"),
        Priority::P2 => l!(lang, "4시간 이내", "4 hours"),
        Priority::P3 => l!(lang, "24시간 이내", "24 hours"),
    };
    let mut lines = vec![Line::from(l!(
        lang,
        "{} — {} 대응, 기한 {}",
        "{} — respond within {}, by {}",
        priority_name(a.priority, lang),
        within,
        when_in(a.respond_by, cx.tz, cx.lang)
    ))];
    for r in &a.reasons {
        let mut line = Line::from(l!(lang, "근거: {}", "Why: {}", reason_line(r, lang)));
        if let Reason::Production { environment } | Reason::NonProduction { environment } = r {
            line = line.t(" (Environment=").u(environment).t(")");
        }
        if let Reason::FleetWorst {
            name, environment, ..
        } = r
        {
            if let Some(n) = name {
                line = line.t(" (").u(n).t(")");
            }
            if let Environment::Production(e) | Environment::NonProduction(e) = environment {
                line = line.t(" (Environment=").u(e).t(")");
            }
        }
        lines.push(line);
    }
    section("🚨", "긴급도 평가", "Urgency", lang, lines, 0)
}

fn finding_line(f: &Finding, cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let ty = cx
        .instance
        .map(|i| i.instance_type.clone())
        .unwrap_or_else(|| l!(lang, "인스턴스", "the instance"));
    let text = match &f.detail {
        Detail::Health { kind, code, deadline } => {
            let at = deadline
                .map(|d| when_in(d, cx.tz, cx.lang))
                .unwrap_or_else(|| l!(lang, "AWS가 알릴 시각", "a time AWS will announce"));
            let store = cx
                .facts
                .instance_type
                .get()
                .is_some_and(|t| t.instance_storage)
                || cx.instance.and_then(|i| i.root_device_type.as_deref()) == Some("instance-store");
            match kind {
                HealthKind::Retirement => l!(
                    lang,
                    "{} — 호스트 성능 저하로 {}에 인스턴스 retirement (중지/종료){}",
                    "{} — the host is degraded: the instance is retired (stopped or terminated) at {}{}",
                    code,
                    at,
                    if store {
                        l!(lang, "; instance store 데이터는 사라짐", "; instance-store data is lost")
                    } else {
                        l!(lang, "; 그 전에 stop/start하면 새 호스트로 이동", "; a stop/start before then moves it to a healthy host")
                    }
                ),
                HealthKind::Maintenance => l!(
                    lang,
                    "{} — {}부터 예정된 유지보수(reboot): 원하는 시간에 직접 reboot/stop-start 가능",
                    "{} — maintenance (reboot) scheduled from {}: reboot or stop/start yourself at a time that suits you",
                    code,
                    at
                ),
                HealthKind::RecoverySucceeded => l!(
                    lang,
                    "{} — AWS가 인스턴스를 새 호스트로 자동 복구함 (IP·EBS 유지, RAM 손실)",
                    "{} — AWS moved the instance to a new host (IPs and EBS kept, RAM lost)",
                    code
                ),
                HealthKind::RecoveryFailed => l!(
                    lang,
                    "{} — AWS 자동 복구 실패: 직접 stop/start 또는 교체 필요",
                    "{} — AWS automatic recovery failed: stop/start or replace it yourself",
                    code
                ),
                HealthKind::Other => l!(lang, "{} — AWS Health 이벤트 ({})", "{} — AWS Health event ({})", code, at),
            }
        }
        Detail::Stopped { state, cause, code, message } => {
            let why = match (code, message) {
                // EC2's message usually repeats the code.
                (Some(c), Some(m)) if m.starts_with(c.as_str()) => text::sanitize(m, 160),
                (Some(c), Some(m)) => format!("{c}: {}", text::sanitize(m, 160)),
                (Some(c), None) => c.clone(),
                (None, Some(m)) => text::sanitize(m, 160),
                (None, None) => l!(lang, "사유 정보 없음", "no reason given"),
            };
            match cause {
                StopCause::Intended => l!(lang, "인스턴스 {} — 의도된 조치로 보임 ({})", "instance {} — looks intended ({})", state, why),
                StopCause::Unexpected => l!(
                    lang,
                    "인스턴스 {} — AWS 측 원인 ({}): 누구도 의도하지 않은 중지",
                    "instance {} — caused on the AWS side ({}): nobody meant this",
                    state,
                    why
                ),
                StopCause::Uncertain => l!(
                    lang,
                    "인스턴스 {} — 의도 여부 불확실 ({}): OS 내부 shutdown이거나 장애일 수 있음, CloudTrail로 확인 필요",
                    "instance {} — intent uncertain ({}): a shutdown from inside the OS or a crash; CloudTrail tells who called the API",
                    state,
                    why
                ),
            }
        }
        Detail::Pressure(Pressure::Memory { percent }) => l!(
            lang,
            "메모리 사용률 {}: 메모리 압박 (OOM 위험) → 메모리 사용 프로세스 확인, 메모리 큰 타입 고려",
            "memory {} used: memory pressure (OOM risk) → find the process, consider a larger-memory type",
            value(*percent, Unit::Percent)
        ),
        Detail::Pressure(Pressure::Disk { path, percent }) => l!(
            lang,
            "{} 디스크 사용률 {}: 디스크 가득 참 → 로그/임시 파일 정리, 볼륨 확장",
            "disk {} is {} full → clear logs and temporary files, grow the volume",
            text::sanitize(path, 64),
            value(*percent, Unit::Percent)
        ),
        Detail::Pressure(Pressure::Burst { volume, percent }) => l!(
            lang,
            "gp2 볼륨 {} BurstBalance {}: I/O throttling → gp3(기준 3,000 IOPS) 또는 io2로 변경",
            "gp2 volume {} BurstBalance {}: I/O throttled → move to gp3 (3,000 IOPS baseline) or io2",
            text::sanitize(volume, 64),
            value(*percent, Unit::Percent)
        ),
        Detail::Pressure(Pressure::Suspect { net_out, factor, ports }) => l!(
            lang,
            "침해 의심: 지속 CPU + NetworkOut {}/분 (평소의 {:.0}배) + 관리 포트 {:?} 전체 공개 (예: 채굴, 데이터 유출)",
            "possible compromise: sustained CPU + NetworkOut {}/min ({:.0}x usual) + admin port {:?} open to the world (e.g. mining, exfiltration)",
            bytes(*net_out),
            factor,
            ports
        ),
        Detail::AzEvent { az, impaired } => l!(
            lang,
            "{}에서 10분 내 {}대 인스턴스 status check 실패: AWS 측 AZ 이벤트 가능성 → 자동 조치 보류, AWS Health 확인",
            "{1} instances failed status checks in {0} within 10 minutes: probable AWS-side AZ event → automatic actions held; check AWS Health",
            az,
            impaired
        ),
        Detail::Gone { state: None } => l!(
            lang,
            "인스턴스가 존재하지 않음 (종료 후 정리되었거나 다른 계정/리전): 알람은 의미 없음",
            "the instance does not exist (terminated and purged, or another account/region): the alarm is moot"
        ),
        Detail::Gone { state: Some(s) } => l!(
            lang,
            "인스턴스 상태가 {}: 알람은 의미 없음 (의도된 중지인지 확인)",
            "the instance is {}: the alarm is moot (check the stop was intended)",
            s
        ),
        Detail::StatusCheck { combined_metric, now } => {
            let conclusion = status_check_conclusion(f.rule, *combined_metric, cx.recommended, lang);
            match now {
                CheckNow::Impaired => conclusion,
                CheckNow::NotImpaired { .. } => l!(
                    lang,
                    "{} — DescribeInstanceStatus로 확인되지 않음 (현재 impaired 아님)",
                    "{} — not confirmed by DescribeInstanceStatus (not impaired now)",
                    conclusion
                ),
                CheckNow::Unknown => l!(
                    lang,
                    "{} — 확인되지 않음 (DescribeInstanceStatus 사용 불가)",
                    "{} — not confirmed (DescribeInstanceStatus unavailable)",
                    conclusion
                ),
            }
        }
        Detail::CpuCredits { balance, baseline_percent } => match baseline_percent {
            Some(b) => l!(
                lang,
                "CPU credit 잔액 {:.1}: {} baseline(vCPU당 {}%)으로 제한되고 있음",
                "CPU credit balance {:.1}: {} is throttled to its {}% baseline",
                balance,
                match lang {
                    Language::Ko => summary::topic(&ty),
                    Language::En => ty.clone(),
                },
                b
            ),
            None => l!(
                lang,
                "CPU credit 잔액 {:.1}: baseline으로 제한되고 있음",
                "CPU credit balance {:.1}: throttled to baseline",
                balance
            ),
        },
        Detail::CpuSustained { minutes, datapoints, threshold, lowest } => {
            let shown = f.evidence.iter().filter(|e| e.contains(" CPUUtilization ")).count();
            let tail = if shown < *datapoints {
                l!(lang, ", 아래는 마지막 {}개", ", the last {} below", shown)
            } else {
                String::new()
            };
            l!(
                lang,
                "{}분 연속 CPU ≥ {} (datapoint {}개{}, 최저 {}): 지속 포화 → scale up/out 필요",
                "CPU ≥ {1} for {0} consecutive minutes ({2} datapoints{3}, lowest {4}): sustained saturation → scale up/out",
                minutes,
                value(*threshold, Unit::Percent),
                datapoints,
                tail,
                value(*lowest, Unit::Percent)
            )
        }
        Detail::CpuSpike { last, baseline, at } => l!(
            lang,
            "{}에 CPU {} (평소 {}의 {:.0}배): 급격한 스파이크 (작업 시작, 배치, 트래픽 급증)",
            "CPU {1} at {0}, {3:.0}x the window's usual {2}: sudden spike (job start, batch, traffic burst)",
            hm(*at, cx.tz, cx.lang),
            value(*last, Unit::Percent),
            value(*baseline, Unit::Percent),
            last / baseline.max(0.01)
        ),
        Detail::NetLeadsCpu { bytes: b, factor, net_at, cpu_at } => l!(
            lang,
            "{}에 NetworkIn {} (평소의 {:.0}배) 직후 {}에 CPU 상승: 대량 수신 데이터 처리",
            "NetworkIn {1} at {0} ({2:.0}x usual) just before the CPU rise at {3}: large inbound data being processed",
            hm(*net_at, cx.tz, cx.lang),
            bytes(*b),
            factor,
            hm(*cpu_at, cx.tz, cx.lang)
        ),
        Detail::Evidence(d) => sources::finding_text(d, lang, cx.tz),
    };
    Line::new().t(format!("[{}] ", f.rule.code())).t(text)
}

/// What a status-check finding concludes, before DescribeInstanceStatus's word on it.
/// The remedy it names is the one 🔧 gives: AWS's own recovery when that is on, the group for a member.
fn status_check_conclusion(
    rule: RuleId,
    combined_metric: bool,
    recommended: Recommended,
    lang: Language,
) -> String {
    match (rule, combined_metric) {
        (RuleId::SysCheck | RuleId::InstCheck, false) if recommended == Recommended::Replace => {
            let plain = status_check_conclusion(rule, false, Recommended::Nothing, lang);
            let what = plain.rsplit_once(" → ").map_or(plain.as_str(), |(w, _)| w);
            l!(
                lang,
                "{} → Auto Scaling group이 교체",
                "{} → the Auto Scaling group replaces it",
                what
            )
        }
        (RuleId::SysCheck, false) if recommended == Recommended::AwsRecovers => l!(
            lang,
            "System status check 실패: AWS 호스트(하드웨어/네트워크/전원) 문제 → AWS simplified automatic recovery가 새 호스트로 복구",
            "system status check failed: a problem on the AWS host (hardware, network, power) → AWS's simplified automatic recovery moves it to a new host"
        ),
        (_, true) => l!(
            lang,
            "Status check 실패 (결합 메트릭): 어느 검사인지 불명, instance check로 간주",
            "status check failed (combined metric): which check is unknown; treated as the instance check"
        ),
        (RuleId::SysCheck, _) => l!(
            lang,
            "System status check 실패: AWS 호스트(하드웨어/네트워크/전원) 문제 → recover (stop/start로 새 호스트)",
            "system status check failed: a problem on the AWS host (hardware, network, power) → recover (stop/start onto a new host)"
        ),
        (RuleId::InstCheck, _) => l!(
            lang,
            "Instance status check 실패: OS 수준 문제(메모리 고갈, 파일시스템 손상, 커널, 네트워크 설정) → reboot",
            "instance status check failed: an OS-level problem (memory exhaustion, file system corruption, kernel, network config) → reboot"
        ),
        _ => l!(
            lang,
            "Attached EBS status check 실패: EBS 경로 문제 → reboot 금지, 대기 또는 stop/start, 볼륨 교체",
            "attached EBS status check failed: an EBS path problem → do not reboot; wait, stop/start, or replace the volume"
        ),
    }
}

fn series_summary(name: &str, s: &Series, cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let unit = unit_of(name);
    let values = s.values();
    let avg = values.iter().sum::<f64>() / values.len().max(1) as f64;
    let (last_at, last) = s.last().unwrap_or_default();
    let max = s.max().unwrap_or_default();
    Line::from(l!(
        lang,
        "{}: 최근 {} ({}), 최대 {}, 평균 {} · {}",
        "{}: last {} ({}), max {}, avg {} · {}",
        name,
        value(last, unit),
        hm(last_at, cx.tz, cx.lang),
        value(max, unit),
        value(avg, unit),
        sparkline(&values, unit)
    ))
}

/// 📊 of the summary of a multi-time-series alarm's alarm-level event: the contributors in ALARM.
fn contributors_situation(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = fleet::contributor_lines(cx.change, cx.facts, lang, cx.tz);
    if let Some(d) = &cx.change.description {
        lines.push(
            Line::new()
                .t(l!(lang, "알람 설명: ", "Alarm description: "))
                .u(d),
        );
    }
    section("📊", "현재 상황 분석", "Current situation", lang, lines, 1)
}

/// 🔧 of the summary: no action here (each contributor's report carries its own advice), one read-only command.
fn summary_actions(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let lines = vec![
        Line::from(l!(
            lang,
            "자동 조치: 없음 — 알람 단위 요약이며, 조치 안내는 기여자별 보고서에 있습니다.",
            "Automatic action: none — this is the alarm-level summary; each contributor's report carries its advice."
        )),
        Line::from(l!(
            lang,
            "ALARM 상태 기여자 확인:",
            "List the contributors in ALARM:"
        )),
        cli(
            cx,
            Command::new("aws cloudwatch describe-alarm-contributors").name(
                "--alarm-name",
                "ALARM_NAME",
                &cx.change.alarm_name,
            ),
        ),
    ];
    section("🔧", "즉시 조치사항", "Immediate actions", lang, lines, 2)
}

fn situation(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = fleet::ranking_lines(cx.change, cx.facts, lang, cx.tz);
    // A sweep's or a state change's description is ec2ops's own restatement of the header: not repeated.
    if let Some(d) = cx
        .change
        .description
        .as_ref()
        .filter(|_| !matches!(cx.change.input, InputKind::Sweep | InputKind::StateChange))
    {
        lines.push(
            Line::new()
                .t(l!(lang, "알람 설명: ", "Alarm description: "))
                .u(d),
        );
    }
    if let Some(i) = cx.instance {
        let launched = i
            .launch_time
            .map(|t| {
                l!(
                    lang,
                    ", 시작 {}",
                    ", launched {}",
                    day_minute(t, cx.tz, lang)
                )
            })
            .unwrap_or_default();
        lines.push(Line::from(l!(
            lang,
            "인스턴스 상태: {}{}",
            "Instance state: {}{}",
            i.state,
            launched
        )));
    }
    // A stopped instance has no status checks: whatever DescribeInstanceStatus kept is not about now.
    let not_running = cx
        .instance
        .filter(|i| !matches!(i.state.as_str(), "running" | "pending"));
    match &cx.facts.status {
        Source::Available(_) if not_running.is_some() => lines.push(Line::from(l!(
            lang,
            "Status checks: 인스턴스가 {} 상태라 검사 없음",
            "Status checks: none while the instance is {}",
            not_running.map(|i| i.state.as_str()).unwrap_or_default()
        ))),
        Source::Available(s) => {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            lines.push(Line::from(l!(
                lang,
                "Status checks: system {}, instance {}, attached EBS {}",
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
                    line = line.t(" — ").u(d);
                }
                lines.push(line);
            }
        }
        Source::Unavailable(_) if cx.instance_id.is_none() => {}
        Source::Unavailable(r) => lines.push(Line::from(l!(
            lang,
            "Status checks: 조회 불가 ({})",
            "Status checks: unavailable: {}",
            evidence::reason(r, lang)
        ))),
    }
    if let Some(w) = cx.facts.metrics.get() {
        // A window with no datapoints has no span to show: say so rather than print a placeholder.
        lines.push(Line::from(match (w.start, w.end) {
            (Some(s), Some(e)) => l!(
                lang,
                "메트릭 window {} · period {}s · {}개 메트릭 조회",
                "Metric window {} · period {}s · {} metrics requested",
                span(s, e, cx.tz, lang),
                w.period_secs,
                w.metrics_requested
            ),
            _ => l!(
                lang,
                "메트릭: {}개 조회, datapoint 없음 (period {}s)",
                "Metrics: {} requested, no datapoints returned (period {}s)",
                w.metrics_requested,
                w.period_secs
            ),
        }));
        let names = [
            (Role::Cpu, "CPUUtilization"),
            (Role::NetworkIn, "NetworkIn"),
            (Role::NetworkOut, "NetworkOut"),
            (Role::CpuCredits, "CPUCreditBalance"),
            (Role::Memory, "mem_used_percent"),
        ];
        for (role, name) in names {
            if let Some(s) = w.get(role) {
                lines.push(series_summary(name, s, cx));
            }
        }
        // Disks and burst balances carry their path / volume id in the label.
        for role in (0..3).map(Role::Disk).chain((0..2).map(Role::Burst)) {
            if let Some(s) = w.get(role) {
                let unit_name = if matches!(role, Role::Disk(_)) {
                    "disk_used_percent"
                } else {
                    "BurstBalance"
                };
                let mut line = series_summary(unit_name, s, cx);
                line = Line::new().u(&s.label).t(": ").t(line
                    .plain()
                    .split_once(": ")
                    .map(|(_, r)| r.to_string())
                    .unwrap_or_default());
                lines.push(line);
            }
        }
    }
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
            "In-guest (SSM): {}",
            "In-guest (SSM): {}",
            parts.join(" · ")
        )));
        let process = |p| match lang {
            Language::Ko => evidence::translate(&crate::analyze::process_line(p)),
            Language::En => crate::analyze::process_line(p),
        };
        for p in d.top_cpu.iter().take(3) {
            lines.push(Line::new().t("    · top CPU: ").u(process(p)));
        }
        if let Some(p) = d.top_memory.first() {
            lines.push(Line::new().t("    · top memory: ").u(process(p)));
        }
        if let Some(fs) = d.fullest_filesystem() {
            lines.push(Line::new().t("    · df: ").u(&fs.mount).t(l!(
                lang,
                " {}% 사용, {} MiB 여유",
                " {}% used, {} MiB free",
                fs.used_percent,
                fs.available_mib
            )));
        }
        for k in d.oom_kills.iter().take(3) {
            lines.push(Line::new().t("    · OOM: ").u(&k.line));
        }
        if !d.missing.is_empty() {
            lines.push(
                Line::new()
                    .t(l!(lang, "    · 읽지 못함: ", "    · not read: "))
                    .u(d.missing.join("; ")),
            );
        }
    }
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
            Line::new()
                .t(l!(
                    lang,
                    "일치하는 RCA 규칙 없음, 이벤트에 평가 datapoint 없음: 알람의 상태 사유가 유일한 근거 — ",
                    "no root-cause rule matched and the event carries no evaluated datapoints: the alarm's state reason is the only evidence — "
                ))
                .u(&cx.change.state.reason)
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
        lines.push(
            Line::new()
                .t(l!(lang, "상태 사유: ", "State reason: "))
                .u(&cx.change.state.reason),
        );
    }
    for f in &cx.a.findings {
        lines.push(finding_line(f, cx));
        for e in &f.evidence {
            lines.push(Line::from(format!(
                "    · {}",
                evidence::localize(e, cx.change.state.at, cx.tz, lang)
            )));
        }
    }
    lines.extend(sources::situation(cx.change, cx.facts, lang, cx.tz));
    if cx.instance_id.is_some() {
        // Sources that failed for the same reason share one line (offline mode would otherwise repeat it 7 times).
        let mut groups: Vec<(Vec<&str>, &str)> = Vec::new();
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
                evidence::reason(why, lang)
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
                .u(v.same_instance.join("; ")),
        );
    }
    lines.extend(sources::links(cx.change, cx.facts, &cx.region, lang));
    section("📊", "현재 상황 분석", "Current situation", lang, lines, 1)
}

/// A suggested command for this incident's region. Every value in it goes through [`shell`]: the region comes from
/// the event too.
fn cli(cx: &Ctx<'_>, cmd: Command) -> Line {
    Line::new()
        .t("    $ ")
        .c(cmd.arg("--region", "REGION", &cx.region).render())
}

/// A sequence of operator commands, one line each, in order.
fn clis(cx: &Ctx<'_>, cmds: Vec<Command>) -> Vec<Line> {
    cmds.into_iter().map(|c| cli(cx, c)).collect()
}

fn step(lines: &mut Vec<Line>, n: &mut usize, text: String) {
    *n += 1;
    lines.push(Line::from(format!("{n}. {text}")));
}

fn action_name(a: ActionKind, lang: Language) -> String {
    match a {
        ActionKind::Reboot => l!(lang, "reboot (RebootInstances)", "reboot (RebootInstances)"),
        ActionKind::StopStart => l!(
            lang,
            "recover (StopInstances → StartInstances)",
            "recover (StopInstances → StartInstances)"
        ),
    }
}

fn hold_line(h: &Hold, cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let text = match h {
        Hold::NotOptedIn { tag } => {
            return Line::new()
                .t(l!(
                    lang,
                    "    · 보류: opt-in 태그 없음 (",
                    "    · held: the instance has not opted in ("
                ))
                .u(format!("{tag}=true"))
                .t(")")
        }
        Hold::NotRunning { state } => l!(
            lang,
            "인스턴스 상태가 {} (running 아님)",
            "the instance is {} (not running)",
            state
        ),
        Hold::InstanceStore => l!(
            lang,
            "instance store 볼륨이 있어 stop/start 시 데이터 손실",
            "instance-store volumes would lose their data on stop/start"
        ),
        Hold::AutoScalingGroup { group } => {
            return Line::new()
                .t(l!(
                    lang,
                    "    · 보류: Auto Scaling group ",
                    "    · held: member of Auto Scaling group "
                ))
                .u(group)
                .t(l!(lang, " 소속 (그룹이 교체)", " (the group replaces it)"))
        }
        Hold::ScheduledEvent { code } => l!(
            lang,
            "예정된 이벤트 {} 진행 중 (AWS가 조치 예정)",
            "scheduled event {} is open (AWS will act)",
            code
        ),
        Hold::AzEvent { impaired } => l!(
            lang,
            "같은 AZ에서 10분 내 {}대 장애: AWS 측 이벤트 가능성, 조치 보류",
            "{} instances impaired in this AZ within 10 minutes: probable AWS-side event",
            impaired
        ),
        Hold::Cooldown { last, until } => l!(
            lang,
            "cooldown: 마지막 조치 {}, {}까지 대기",
            "cooldown: last action at {}, no new one before {}",
            hm(*last, cx.tz, cx.lang),
            hm(*until, cx.tz, cx.lang)
        ),
        Hold::DailyCap { cap } => l!(
            lang,
            "인스턴스별 일일 한도 {}회 도달",
            "per-instance daily cap of {} reached",
            cap
        ),
        Hold::HourlyCap { cap } => l!(
            lang,
            "계정 시간당 한도 {}회 도달",
            "account-wide hourly cap of {} reached",
            cap
        ),
        Hold::LedgerUnavailable { why } => l!(
            lang,
            "ledger(DynamoDB) 사용 불가 — 안전을 위해 조치 안 함: {}",
            "the ledger (DynamoDB) is unavailable, so ec2ops does not act (fail safe): {}",
            why
        ),
        Hold::InstanceUnknown { why } => l!(
            lang,
            "인스턴스 정보 없음: {}",
            "instance facts unavailable: {}",
            why
        ),
        Hold::DeferredTo { action, incident } => {
            return Line::new()
                .t(l!(
                    lang,
                    "    · 보류: 같은 인스턴스의 더 강한 조치 {}가 처리 (incident ",
                    "    · held: the stronger {} of the same instance covers it (incident ",
                    action_name(*action, lang)
                ))
                .u(incident)
                .t(")")
        }
        Hold::InstanceBusy { incident, until } => {
            return Line::new()
                .t(l!(
                    lang,
                    "    · 보류: 다른 incident가 이 인스턴스에 조치 중 ({}까지 잠금): ",
                    "    · held: another incident is acting on this instance (locked until {}): ",
                    hm(*until, cx.tz, cx.lang)
                ))
                .u(incident)
        }
        Hold::OptInNotExact { tag, value } => {
            return Line::new()
                .t(l!(lang, "    · 보류: opt-in 태그 ", "    · held: the opt-in tag "))
                .u(format!("{tag}={value:?}"))
                .t(l!(
                    lang,
                    "의 값이 정확히 true가 아님 (IAM StringEquals는 대소문자·공백까지 비교해 거부함)",
                    " is not exactly true (IAM's StringEquals compares case and spaces too, and would refuse)"
                ))
        }
        Hold::NotCorroborated { why } => return not_corroborated_line(why, lang),
        Hold::CannotVerify { fact, why } => l!(
            lang,
            "{} 확인 불가 — 모르면 조치 안 함: {}",
            "cannot verify {} — unknown means no action: {}",
            fact_name(*fact, lang),
            why
        ),
        Hold::Spot => l!(
            lang,
            "Spot 인스턴스: stop 후 용량을 다시 얻지 못할 수 있음 (일회성 요청은 stop 불가)",
            "a Spot instance: once stopped it may not get capacity back (a one-time request cannot be stopped at all)"
        ),
        Hold::StopProtection => l!(
            lang,
            "중지 보호(DisableApiStop) 켜짐: StopInstances가 거부되며, 중지하지 않기로 한 인스턴스",
            "stop protection (DisableApiStop) is on: StopInstances would be refused, and someone meant it never to stop"
        ),
        Hold::DedicatedHost => l!(
            lang,
            "Dedicated Host(tenancy host)에서 실행 중: start가 호스트 affinity와 용량에 좌우됨",
            "runs on a Dedicated Host (tenancy host): the start depends on host affinity and the host's capacity"
        ),
        Hold::Efa => l!(
            lang,
            "EFA(Elastic Fabric Adapter) 연결됨: stop/start 후 클러스터 배치를 되찾지 못할 수 있음",
            "an Elastic Fabric Adapter is attached: after a stop/start it may not get its place in the cluster back"
        ),
        Hold::AutoRecovery => l!(
            lang,
            "AWS simplified automatic recovery가 켜져 있음: AWS가 먼저 복구하도록 대기 (결과는 AWS Health로 통보, 복구 후 다시 실패하면 sweep이 새 incident로 보고)",
            "AWS simplified automatic recovery is on: let it recover first (AWS Health reports the outcome; a check that fails again after the recovery is a new incident for the sweep)"
        ),
    };
    Line::from(l!(lang, "    · 보류: {}", "    · held: {}", text))
}

/// The fact a "cannot verify" hold names, with the call that tells it.
fn fact_name(fact: Fact, lang: Language) -> String {
    match fact {
        Fact::InstanceStatus => l!(
            lang,
            "status check와 예정된 이벤트 (DescribeInstanceStatus)",
            "the status checks and scheduled events (DescribeInstanceStatus)"
        ),
        Fact::InstanceType => l!(
            lang,
            "인스턴스 타입의 instance store 및 자동 복구 지원 여부 (DescribeInstanceTypes)",
            "the type's instance storage and automatic-recovery support (DescribeInstanceTypes)"
        ),
        Fact::StopProtection => l!(
            lang,
            "중지 보호 (DescribeInstanceAttribute disableApiStop)",
            "stop protection (DescribeInstanceAttribute disableApiStop)"
        ),
        Fact::Tenancy => l!(
            lang,
            "테넌시 (Placement.Tenancy)",
            "the tenancy (Placement.Tenancy)"
        ),
        Fact::AutoRecovery => l!(
            lang,
            "simplified automatic recovery 설정 (MaintenanceOptions.AutoRecovery)",
            "the simplified automatic recovery setting (MaintenanceOptions.AutoRecovery)"
        ),
    }
}

/// Why the incident does not prove the check failed (names from the alarm are the user's text).
fn not_corroborated_line(why: &Uncorroborated, lang: Language) -> Line {
    let head = Line::new().t(l!(
        lang,
        "    · 보류: 확증 없음 — ",
        "    · held: not corroborated — "
    ));
    match why {
        Uncorroborated::NotCheckAlarm {
            metric: Some(metric),
            check,
        } => head
            .t(l!(lang, "알람 메트릭이 ", "the alarm is on "))
            .u(metric)
            .t(l!(
                lang,
                "이며 {}이(가) 아님: 자동 조치는 해당 검사 알람 또는 sweep(DescribeInstanceStatus)으로만",
                ", not {}: only an alarm on that check, or the sweep (DescribeInstanceStatus), acts",
                check
            )),
        Uncorroborated::NotCheckAlarm {
            metric: None,
            check,
        } => head.t(l!(
            lang,
            "{} 알람이 아님: 자동 조치는 해당 검사 알람 또는 sweep(DescribeInstanceStatus)으로만",
            "the incident is not an alarm on {}: only an alarm on that check, or the sweep (DescribeInstanceStatus), acts",
            check
        )),
        Uncorroborated::Namespace { metric, namespace } => head
            .t(l!(lang, "메트릭 ", "the metric "))
            .u(metric)
            .t(l!(lang, "의 namespace가 ", " is in namespace "))
            .u(namespace)
            .t(l!(
                lang,
                " (AWS/EC2 아님: EC2 status check가 아님)",
                ", not AWS/EC2: it is not EC2's status check"
            )),
        Uncorroborated::SeveralInstances { ids } => head.t(l!(
            lang,
            "알람이 인스턴스 {}대를 포함 ({}): 조치할 단일 인스턴스 없음",
            "the alarm covers {} instances ({}): no single instance to act on",
            ids.len(),
            ids.join(", ")
        )),
        Uncorroborated::Member { id, metric } => head
            .t(l!(lang, "수식의 메트릭 ", "the expression's metric "))
            .u(format!("{id} ({metric})"))
            .t(l!(
                lang,
                "이(가) 이 인스턴스의 status check가 아님",
                " is not this instance's status check"
            )),
        Uncorroborated::Comparison {
            comparison,
            threshold,
        } => {
            let rule = match (comparison, threshold) {
                (Some(Comparison::OutsideBand), _) => {
                    l!(lang, "(anomaly band 밖)", "(outside an anomaly band)")
                }
                (Some(c), Some(t)) => format!("{} {}", c.symbol(), text::number(*t)),
                (Some(c), None) => c.symbol().to_string(),
                (None, Some(t)) => format!("vs {}", text::number(*t)),
                (None, None) => l!(lang, "(조건 없음)", "(no condition given)"),
            };
            head.t(l!(
                lang,
                "알람 조건 {}은(는) \"검사 실패\"를 뜻하지 않음 (> 0 또는 >= 1이어야 함)",
                "the alarm's condition {} does not mean \"check failed\" (it takes > 0 or >= 1)",
                rule
            ))
        }
        Uncorroborated::NoFailedDatapoint { evaluated } => head.t(l!(
            lang,
            "평가된 datapoint {}개 중 실패(값 ≥ 1)가 없음",
            "none of the {} evaluated datapoints is a failure (value ≥ 1)",
            evaluated
        )),
        Uncorroborated::NotImpaired { check, state } => {
            let state = state
                .clone()
                .unwrap_or_else(|| l!(lang, "보고 없음", "not reported"));
            head.t(l!(
                lang,
                "DescribeInstanceStatus에서 {}이(가) 현재 {} (impaired 아님)",
                "DescribeInstanceStatus shows {} {} now, not impaired",
                check,
                state
            ))
        }
    }
}

fn action_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    match cx.action {
        ActionOutcome::ReportOnly => vec![Line::from(l!(
            lang,
            "자동 조치: 없음 — remediation mode off (보고 전용). 아래 단계는 운영자가 직접 수행합니다.",
            "Automatic action: none — remediation mode is off (report only). The steps below are for the operator."
        ))],
        ActionOutcome::AdviceOnly => vec![Line::from(l!(
            lang,
            "자동 조치: 해당 없음 — 이 유형은 자동 조치 대상이 아님 (조언만 제공). 아래 단계를 수행하세요.",
            "Automatic action: none — ec2ops does not act on this kind of incident (advice only). The steps below are for the operator."
        ))],
        ActionOutcome::Held { action, holds } => {
            let mut v = vec![Line::from(l!(
                lang,
                "자동 조치 보류: {} — 안전 조건 미충족:",
                "Automatic action held: {} — the safety envelope refused it:",
                action_name(*action, lang)
            ))];
            v.extend(holds.iter().map(|h| hold_line(h, cx)));
            v
        }
        ActionOutcome::DryRun { action, allowed, detail } => vec![Line::from(if *allowed {
            l!(
                lang,
                "Dry-run: {}을(를) 실행했을 것 (EC2 DryRun 성공: {}). auto 모드에서 실제 실행됩니다.",
                "Dry-run: would have done {} (EC2 DryRun succeeded: {}). In auto mode it would run.",
                action_name(*action, lang),
                detail
            )
        } else {
            l!(
                lang,
                "Dry-run: {}은(는) 거부되었을 것 (EC2 DryRun: {}) — IAM 태그 조건 확인",
                "Dry-run: {} would have been refused (EC2 DryRun: {}) — check the IAM tag condition",
                action_name(*action, lang),
                detail
            )
        })],
        ActionOutcome::Done { action, at, request_ids, verify_at, verify_note } => {
            let mut v = vec![Line::from(l!(
                lang,
                "자동 조치 완료: {} at {} · request id {}",
                "Automatic action done: {} at {} · request id {}",
                action_name(*action, lang),
                when_in(*at, cx.tz, cx.lang),
                request_ids.join(", ")
            ))];
            match (verify_at, verify_note) {
                (Some(t), _) => v.push(Line::from(l!(
                    lang,
                    "    · 검증 예약: {}에 status check 확인 후 같은 thread에 결과 보고",
                    "    · verification scheduled for {}: status checks are re-read and the result posted in this thread",
                    when_in(*t, cx.tz, cx.lang)
                ))),
                (None, Some(note)) => v.push(Line::from(l!(
                    lang,
                    "    · 검증 예약 실패: {} — 직접 확인하세요",
                    "    · verification could not be scheduled: {} — check by hand",
                    note
                ))),
                (None, None) => {}
            }
            v
        }
        ActionOutcome::AlreadyDone { action, at } => vec![Line::from(l!(
            lang,
            "자동 조치: {}는 이 incident의 이전 전달에서 이미 실행됨 ({}) — 중복 실행 안 함",
            "Automatic action: {} was already done for this incident by an earlier delivery ({}) — not repeated",
            action_name(*action, lang),
            when_in(*at, cx.tz, cx.lang)
        ))],
        ActionOutcome::Failed { action, error } => vec![Line::from(l!(
            lang,
            "자동 조치 실패: {} — {}. 아래 단계를 직접 수행하세요.",
            "Automatic action failed: {} — {}. Do the steps below by hand.",
            action_name(*action, lang),
            error
        ))],
        ActionOutcome::Recovering { at, request_id, continue_at, note } => {
            let mut v = vec![Line::from(l!(
                lang,
                "자동 조치 진행 중: {} — StopInstances {} · request id {}",
                "Automatic action under way: {} — StopInstances sent at {} · request id {}",
                action_name(ActionKind::StopStart, lang),
                when_in(*at, cx.tz, cx.lang),
                request_id
            ))];
            match (continue_at, note) {
                (Some(t), _) => v.push(Line::from(l!(
                    lang,
                    "    · 중지 완료 후 StartInstances는 예약된 후속 실행이 수행 (첫 확인 {}); 결과는 이 thread에 보고",
                    "    · once the instance is stopped a scheduled continuation starts it (first check {}); the result is posted in this thread",
                    when_in(*t, cx.tz, cx.lang)
                ))),
                (None, Some(n)) => v.push(Line::from(l!(
                    lang,
                    "    · 후속 실행 예약 실패: {}",
                    "    · the continuation could not be scheduled: {}",
                    n
                ))),
                (None, None) => {}
            }
            v
        }
        ActionOutcome::Interrupted { action, at, detail } => vec![Line::from(l!(
            lang,
            "자동 조치: {}는 이전 전달이 {}에 기록 후 중단됨 — {}",
            "Automatic action: {} was recorded at {} by a delivery that was interrupted — {}",
            action_name(*action, lang),
            when_in(*at, cx.tz, cx.lang),
            detail
        ))],
    }
}

/// 🔧's statement of who recovers a host failure: the same status 📈 and 🤖 advise from.
fn auto_recovery_status(i: &InstanceFacts, cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    Line::from(match recovery::auto_recovery(i, cx.facts) {
        AutoRecovery::On => l!(
            lang,
            "Simplified automatic recovery: 켜짐 — AWS가 복구 중",
            "Simplified automatic recovery: on — AWS is recovering the instance"
        ),
        AutoRecovery::Off => l!(
            lang,
            "Simplified automatic recovery: 꺼짐 — AWS가 스스로 복구하지 않음",
            "Simplified automatic recovery: off — AWS will not recover the instance on its own"
        ),
        AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember) => l!(
            lang,
            "Simplified automatic recovery: Auto Scaling 멤버에는 해당 없음 — 그룹이 교체",
            "Simplified automatic recovery: not for Auto Scaling members — the group replaces the instance"
        ),
        AutoRecovery::NotAvailable(NotAvailable::Unsupported) => l!(
            lang,
            "Simplified automatic recovery: 이 인스턴스에는 사용 불가",
            "Simplified automatic recovery: not available for this instance"
        ),
        AutoRecovery::Unknown => l!(
            lang,
            "Simplified automatic recovery: 설정 확인 불가 — 켜져 있다고 가정하지 말 것",
            "Simplified automatic recovery: the setting could not be read — do not count on it"
        ),
    })
}

fn actions(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = action_lines(cx);
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let alarm = cx.change.alarm_name.as_str();
    let mut n = 0;
    let a = cx.a;
    let state = cx.change.state.value;

    if state == AlarmState::Ok {
        let duration = cx
            .change
            .previous
            .as_ref()
            .filter(|p| p.value == AlarmState::Alarm)
            .map(|p| (cx.change.state.at - p.at).num_minutes());
        step(
            &mut lines,
            &mut n,
            match duration {
                Some(m) => l!(
                    lang,
                    "조치 불필요: {}분 만에 복구됨. 원인이 해소되었는지 확인하고 incident를 종료하세요.",
                    "No action needed: recovered after {} minutes. Confirm the cause is gone and close the incident.",
                    m
                ),
                None => l!(
                    lang,
                    "조치 불필요: 알람이 OK 상태입니다.",
                    "No action needed: the alarm is OK."
                ),
            },
        );
        lines.push(cli(
            cx,
            Command::new("aws cloudwatch describe-alarm-history")
                .name("--alarm-name", "ALARM_NAME", alarm)
                .lit("--history-item-type StateUpdate --max-records 5"),
        ));
        return section("🔧", "즉시 조치사항", "Immediate actions", lang, lines, 2);
    }
    if state == AlarmState::InsufficientData {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "인스턴스가 실행 중이고 메트릭을 보내는지 확인:",
                "Check the instance is running and publishing metrics:"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws ec2 describe-instance-status")
                .arg("--instance-ids", "INSTANCE_ID", id)
                .lit("--include-all-instances"),
        ));
        lines.push(cli(
            cx,
            Command::new("aws cloudwatch describe-alarms").name(
                "--alarm-names",
                "ALARM_NAME",
                alarm,
            ),
        ));
        return section("🔧", "즉시 조치사항", "Immediate actions", lang, lines, 2);
    }

    if cx.instance_id.is_none() {
        if let Some(asg) = cx
            .change
            .primary_metric()
            .and_then(|m| m.dimensions.get("AutoScalingGroupName"))
        {
            step(
                &mut lines,
                &mut n,
                l!(
                    lang,
                    "Auto Scaling group의 인스턴스와 scaling 활동 확인:",
                    "Check the Auto Scaling group's instances and scaling activity:"
                ),
            );
            lines.push(cli(
                cx,
                Command::new("aws autoscaling describe-auto-scaling-groups").name(
                    "--auto-scaling-group-names",
                    "ASG_NAME",
                    asg,
                ),
            ));
            lines.push(cli(
                cx,
                Command::new("aws autoscaling describe-scaling-activities")
                    .name("--auto-scaling-group-name", "ASG_NAME", asg)
                    .lit("--max-items 5"),
            ));
        }
    }
    if let AlarmKind::Composite { .. } = cx.change.kind {
        let names: Vec<&str> = cx
            .change
            .state
            .reason_data
            .as_ref()
            .map(|r| r.triggering.iter().map(|t| t.name.as_str()).collect())
            .unwrap_or_default();
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "트리거된 하위 알람을 각각 확인:",
                "Check each triggering member alarm:"
            ),
        );
        if !names.is_empty() {
            lines.push(cli(
                cx,
                Command::new("aws cloudwatch describe-alarms").names(
                    "--alarm-names",
                    "ALARM_NAME",
                    &names,
                ),
            ));
        }
    }
    if let Some(Finding {
        detail: Detail::Health { kind, .. },
        ..
    }) = a.findings.iter().find(|f| f.rule == RuleId::Health)
    {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "예정된 이벤트와 상태 확인:",
                "Check the scheduled events and the status:"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws ec2 describe-instance-status")
                .arg("--instance-ids", "INSTANCE_ID", id)
                .lit("--include-all-instances"),
        ));
        match kind {
            // A group member is the group's to replace: a stop would only make the group replace it unplanned.
            HealthKind::Retirement | HealthKind::Maintenance | HealthKind::RecoveryFailed
                if cx.instance.and_then(InstanceFacts::asg).is_some() =>
            {
                asg_steps(cx, &mut lines, &mut n, id)
            }
            HealthKind::Retirement | HealthKind::Maintenance | HealthKind::RecoveryFailed => {
                step(&mut lines, &mut n, l!(lang, "기한 전 원하는 시간에 stop/start (EBS-backed: 새 호스트로 이동; instance store는 먼저 백업). start는 stopped 확인 후:", "Before the deadline, at a time that suits you, stop/start (EBS-backed: moves to a new host; back up instance store first); start only once it is stopped:"));
                lines.extend(clis(cx, steps::stop_start(id)));
                force_hint(cx, &mut lines, &mut n, id);
            }
            _ => step(
                &mut lines,
                &mut n,
                l!(
                    lang,
                    "애플리케이션이 정상인지 확인 (RAM 상태는 초기화됨).",
                    "Check the application is healthy (in-memory state was reset)."
                ),
            ),
        }
    }
    if let Some(Finding {
        detail: Detail::Stopped { state, cause, .. },
        ..
    }) = a.findings.iter().find(|f| f.rule == RuleId::Stopped)
    {
        step(&mut lines, &mut n, l!(lang, "누가 중지/종료했는지 CloudTrail에서 확인 (StopInstances/TerminateInstances):", "Find who stopped or terminated it in CloudTrail (StopInstances / TerminateInstances):"));
        lines.push(cli(cx, lookup_events(id)));
        if *cause != StopCause::Intended {
            if state == "terminated" || state == "shutting-down" {
                step(&mut lines, &mut n, l!(lang, "종료된 인스턴스는 복구 불가: AMI/최근 snapshot에서 대체 인스턴스 시작", "A terminated instance cannot come back: launch a replacement from its AMI or latest snapshots"));
            } else {
                step(&mut lines, &mut n, l!(lang, "원인 확인 후 다시 시작 (EBS 데이터 유지, 자동 할당 public IPv4는 변경):", "Once the cause is known, start it again (EBS data kept; an auto-assigned public IPv4 changes):"));
                lines.push(cli(
                    cx,
                    Command::new("aws ec2 start-instances").arg(
                        "--instance-ids",
                        "INSTANCE_ID",
                        id,
                    ),
                ));
            }
        }
    }
    if a.has(RuleId::Gone) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "누가 인스턴스를 중지/종료했는지 CloudTrail에서 확인:",
                "Find who stopped or terminated the instance in CloudTrail:"
            ),
        );
        lines.push(cli(cx, lookup_events(id)));
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "의도된 중지라면 알람 동작을 끄거나 알람을 삭제:",
                "If intended, disable the alarm's actions or delete the alarm:"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws cloudwatch disable-alarm-actions").name(
                "--alarm-names",
                "ALARM_NAME",
                alarm,
            ),
        ));
    }
    if a.has(RuleId::EbsCheck) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "Reboot 하지 마세요 (EBS 경로 문제는 reboot로 해결되지 않음). 볼륨 상태 확인:",
                "Do not reboot (an EBS path problem is not fixed by a reboot). Check the volumes:"
            ),
        );
        let vols: Vec<&str> = cx
            .instance
            .map(|i| i.volume_ids.iter().map(String::as_str).collect())
            .filter(|v: &Vec<&str>| !v.is_empty())
            .unwrap_or_else(|| vec!["VOLUME_ID"]);
        lines.push(cli(
            cx,
            Command::new("aws ec2 describe-volume-status").values(
                "--volume-ids",
                "VOLUME_ID",
                &vols,
            ),
        ));
        step(&mut lines, &mut n, l!(lang, "AWS 쪽 문제면 복구를 기다리거나, stop/start, 또는 snapshot에서 볼륨 교체.", "If AWS-side, wait for recovery, or stop/start, or replace the volume from a snapshot."));
    }
    if a.has(RuleId::SysCheck) {
        if let Some(i) = cx.instance {
            lines.push(auto_recovery_status(i, cx));
        }
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "Status 확인 및 AWS Health의 예정된 이벤트 확인:",
                "Confirm the status and look for AWS Health events:"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws ec2 describe-instance-status")
                .arg("--instance-ids", "INSTANCE_ID", id)
                .lit("--include-all-instances"),
        ));
        match cx.recommended {
            Recommended::Replace => asg_steps(cx, &mut lines, &mut n, id),
            Recommended::AwsRecovers => {
                step(&mut lines, &mut n, l!(
                    lang,
                    "지금은 stop/start 하지 말고 대기: AWS가 새 호스트로 복구 중 (instance id·private/public IP·EBS 유지, RAM 손실). 결과는 AWS Health 이벤트(AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_SUCCESS/_FAILURE)로 통보됨.",
                    "Do not stop/start now: AWS is recovering the instance onto a new host (instance id, private and public IPs and EBS kept, RAM lost). AWS Health reports the outcome (AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_SUCCESS/_FAILURE)."
                ));
                let by = when_in(
                    cx.change.state.at + chrono::Duration::minutes(steps::AWS_RECOVERY_GRACE_MINUTES),
                    cx.tz,
                    cx.lang,
                );
                step(&mut lines, &mut n, l!(
                    lang,
                    "{}분 안에, 즉 {}까지 복구되지 않거나 복구 실패가 통보되면 직접 stop/start (새 호스트로 이동; 자동 할당 public IPv4 변경). start는 stopped 확인 후:",
                    "If it has not recovered within {} minutes, by {}, or AWS reports the recovery failed, stop/start it yourself (moves to a new host; an auto-assigned public IPv4 changes); start only once it is stopped:",
                    steps::AWS_RECOVERY_GRACE_MINUTES,
                    by
                ));
                lines.extend(clis(cx, steps::stop_start(id)));
                force_hint(cx, &mut lines, &mut n, id);
            }
            Recommended::StopStart => {
                step(&mut lines, &mut n, l!(lang, "Recover: stop 후 start (새 호스트로 이동; RAM 내용 손실, 자동 할당 public IPv4 변경). start는 stopped 확인 후:", "Recover: stop then start (moves to a new host; RAM is lost, an auto-assigned public IPv4 changes); start only once it is stopped:"));
                lines.extend(clis(cx, steps::stop_start(id)));
                force_hint(cx, &mut lines, &mut n, id);
            }
            _ => step(&mut lines, &mut n, l!(lang, "Root device가 instance store이거나 불명: stop/start 금지 (데이터 손실). AMI/ASG로 교체하세요.", "The root device is instance store or unknown: do not stop/start (data loss). Replace it from an AMI or let the ASG replace it.")),
        }
    }
    if a.has(RuleId::InstCheck) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "Console 출력으로 OS 오류(OOM, kernel panic, fsck) 확인:",
                "Read the console output for OS errors (OOM, kernel panic, fsck):"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws ec2 get-console-output")
                .arg("--instance-id", "INSTANCE_ID", id)
                .lit("--latest --output text"),
        ));
        if cx.recommended == Recommended::Replace {
            // SysCheck gave the group's steps already.
            if !a.has(RuleId::SysCheck) {
                asg_steps(cx, &mut lines, &mut n, id);
            }
        } else {
            step(
                &mut lines,
                &mut n,
                l!(
                    lang,
                    "Reboot (IP와 instance store 유지, 과금 기간 유지):",
                    "Reboot (keeps IPs, instance store and the billing period):"
                ),
            );
            lines.push(cli(
                cx,
                Command::new("aws ec2 reboot-instances").arg("--instance-ids", "INSTANCE_ID", id),
            ));
            step(&mut lines, &mut n, l!(lang, "계속 실패하면 stop/start 또는 EC2Rescue (AWSSupport-ExecuteEC2Rescue)로 진단.", "If it keeps failing: stop/start, or diagnose with EC2Rescue (AWSSupport-ExecuteEC2Rescue)."));
        }
    }
    if a.has(RuleId::CpuCredits) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "Unlimited 모드로 전환해 throttling 해제 (초과 사용분 과금):",
                "Switch to unlimited mode to lift the throttle (surplus usage is billed):"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws ec2 modify-instance-credit-specification").json(
                "--instance-credit-specifications",
                &serde_json::json!([{ "InstanceId": id, "CpuCredits": "unlimited" }]),
            ),
        ));
    }
    let cpu_related = a.has(RuleId::CpuSustained)
        || a.has(RuleId::CpuSpike)
        || a.has(RuleId::CpuCredits)
        || metric_label(cx.change) == "CPUUtilization";
    if cpu_related && cx.instance_id.is_some() && !a.has(RuleId::Gone) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "CPU를 쓰는 프로세스 확인 (SSM Run Command):",
                "Find the processes using the CPU (SSM Run Command):"
            ),
        );
        lines.extend(clis(
            cx,
            steps::shell(
                id,
                &["ps -eo pid,user,pcpu,pmem,etime,comm --sort=-pcpu | head -15"],
            ),
        ));
    }
    if a.has(RuleId::NetLeadsCpu) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "대량 수신 트래픽의 출처 확인 (연결 목록, VPC Flow Logs):",
                "Identify the source of the inbound traffic (connections, VPC Flow Logs):"
            ),
        );
        lines.extend(clis(
            cx,
            steps::shell(id, &["ss -tnp state established | head -30"]),
        ));
    }
    if a.has(RuleId::CpuSustained) {
        if let Some(i) = cx.instance {
            capacity_steps(cx, &mut lines, &mut n, i);
        }
    }
    if a.has(RuleId::SecSuspect) {
        step(&mut lines, &mut n, l!(lang, "침해 의심: 관리 포트를 즉시 닫고, 포렌식용 EBS snapshot을 만든 뒤 프로세스/연결 확인 (인스턴스는 아직 종료하지 말 것):", "Suspected compromise: close the admin ports now, snapshot the volumes for forensics, then look at processes and connections (do not terminate yet):"));
        if let Some(i) = cx.instance {
            for g in &i.security_group_ids {
                lines.push(cli(
                    cx,
                    Command::new("aws ec2 revoke-security-group-ingress")
                        .arg("--group-id", "GROUP_ID", g)
                        .lit("--protocol tcp --port 22 --cidr 0.0.0.0/0"),
                ));
            }
            for v in &i.volume_ids {
                lines.push(cli(
                    cx,
                    Command::new("aws ec2 create-snapshot")
                        .arg("--volume-id", "VOLUME_ID", v)
                        .arg(
                            "--description",
                            "DESCRIPTION",
                            &format!("ec2ops-forensics-{id}"),
                        ),
                ));
            }
        }
    }
    if a.has(RuleId::Mem) {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "메모리를 쓰는 프로세스와 OOM 기록 확인 (SSM Run Command):",
                "Find the processes using the memory and any OOM kills (SSM Run Command):"
            ),
        );
        lines.extend(clis(
            cx,
            steps::shell(
                id,
                &[
                    "ps -eo pid,user,pmem,rss,comm --sort=-rss | head -15",
                    "dmesg -T | grep -i oom | tail -5",
                ],
            ),
        ));
    }
    let disk = a.findings.iter().find_map(|f| match &f.detail {
        Detail::Pressure(Pressure::Disk { path, percent }) if f.rule == RuleId::Disk => {
            Some((path.as_str(), *percent))
        }
        _ => None,
    });
    if let Some((path, _)) = disk {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "가장 큰 디렉터리를 찾아 로그·임시 파일 정리:",
                "Find the largest directories, then clear logs and temporary files:"
            ),
        );
        // Quoted for the instance's shell, then carried as a JSON string, then the JSON quoted for the operator's.
        // `--` before a path starting with `-`, which du would read as an option.
        let du = format!(
            "du -xh {}{} 2>/dev/null | sort -rh | head -15",
            if path.starts_with('-') { "-- " } else { "" },
            shell::remote_word("MOUNT_PATH", path)
        );
        lines.extend(clis(cx, steps::shell(id, &[&du])));
    }
    let burst = a.findings.iter().find_map(|f| match &f.detail {
        Detail::Pressure(Pressure::Burst { volume, .. }) if f.rule == RuleId::EbsBurst => {
            Some(volume.as_str())
        }
        _ => None,
    });
    volume_steps(cx, &mut lines, &mut n, disk, burst);
    if a.has(RuleId::CpuSpike) {
        step(&mut lines, &mut n, l!(lang, "스파이크가 계속되는지 다음 몇 분간 관찰 (cron/batch 작업 시작 시각과 비교).", "Watch whether the spike persists over the next minutes (compare with cron/batch start times)."));
    }
    if n == 0 {
        step(
            &mut lines,
            &mut n,
            l!(
                lang,
                "알람 메트릭과 최근 이력 확인:",
                "Review the alarm's metric and recent history:"
            ),
        );
        lines.push(cli(
            cx,
            Command::new("aws cloudwatch describe-alarm-history")
                .name("--alarm-name", "ALARM_NAME", alarm)
                .lit("--history-item-type StateUpdate --max-records 10"),
        ));
    }
    section("🔧", "즉시 조치사항", "Immediate actions", lang, lines, 2)
}

fn long_term(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let a = cx.a;
    let mut lines: Vec<Line> = Vec::new();
    let ty = cx.instance.map(|i| i.instance_type.clone());
    if a.has(RuleId::CpuSustained) {
        let up = ty
            .as_deref()
            .and_then(|t| pricing::neighbour_size(&cx.region, t, true));
        lines.push(Line::from(match up {
            Some((up, p)) => l!(
                lang,
                "Right-size: {} → {} ({} vCPU, {} GiB) 또는 Auto Scaling group으로 scale out; 애플리케이션 프로파일링",
                "Right-size {} → {} ({} vCPU, {} GiB), or scale out behind an Auto Scaling group; profile the application",
                ty.clone().unwrap_or_default(),
                up,
                p.vcpus,
                p.memory_gib
            ),
            None => l!(
                lang,
                "더 큰 인스턴스 타입 또는 Auto Scaling group으로 scale out; 애플리케이션 프로파일링",
                "A larger instance type or scale-out behind an Auto Scaling group; profile the application"
            ),
        }));
    }
    if a.has(RuleId::CpuCredits) {
        let alt = ty
            .as_deref()
            .and_then(|t| pricing::steady_alternative(&cx.region, t));
        // The price and its difference are in 💰, once.
        lines.push(Line::from(match alt {
            Some((alt, q)) => l!(
                lang,
                "상시 baseline 이상 CPU가 필요하면 burstable이 아닌 {}({} vCPU, {} GiB; 가격 차이는 💰, 변경은 stop/start 필요)로 옮기거나 unlimited 모드 유지",
                "If the workload needs more than the baseline all the time, move to the non-burstable {} ({} vCPU, {} GiB; price difference in 💰; the change needs a stop/start) or keep unlimited mode",
                alt,
                q.vcpus,
                q.memory_gib
            ),
            _ => l!(
                lang,
                "상시 baseline 이상 CPU가 필요하면 burstable이 아닌 타입으로 옮기거나 unlimited 모드 유지",
                "If the workload needs more than the baseline all the time, move to a non-burstable type or keep unlimited mode"
            ),
        }));
    }
    if a.has(RuleId::CpuSpike) {
        let single = cx.change.evaluated_values().len() <= 1;
        lines.push(Line::from(l!(
            lang,
            "배치/cron 작업을 비피크 시간대로 이동하거나 동시성 제한",
            "Move batch/cron work off-peak or cap its concurrency"
        )));
        if single {
            lines.push(Line::from(l!(
                lang,
                "알람이 1개 datapoint로 발생: 'M of N' 평가(예: 5개 중 3개)로 일시적 스파이크 알림 감소",
                "The alarm fires on one datapoint: use 'M out of N' evaluation (e.g. 3 of 5) so short spikes do not page"
            )));
        }
    }
    if a.has(RuleId::Mem) {
        lines.push(Line::from(l!(
            lang,
            "메모리 누수 점검과 메모리 최적화 타입(r 계열) 검토; mem_used_percent 알람(85%, 5분)",
            "Check for memory leaks and consider a memory-optimized type (r family); alarm on mem_used_percent (85 %, 5 min)"
        )));
    }
    if a.has(RuleId::Disk) {
        lines.push(Line::from(l!(
            lang,
            "logrotate 설정과 로그를 CloudWatch Logs/S3로 이전; disk_used_percent 알람(90%)",
            "Set up logrotate and ship logs to CloudWatch Logs or S3; alarm on disk_used_percent (90 %)"
        )));
    }
    if a.has(RuleId::EbsBurst) {
        lines.push(Line::from(l!(
            lang,
            "남은 gp2 볼륨을 gp3로 일괄 전환 (GB당 약 20% 저렴, burst 없음)",
            "Move the remaining gp2 volumes to gp3 (about 20 % cheaper per GB, no burst bucket)"
        )));
    }
    if a.has(RuleId::SecSuspect) {
        lines.push(Line::from(l!(
            lang,
            "SSH/RDP 대신 Session Manager, GuardDuty 활성화, 침해 시 AMI에서 재구축",
            "Replace SSH/RDP with Session Manager, turn on GuardDuty, rebuild from a clean AMI if compromised"
        )));
    }
    if a.has(RuleId::NetLeadsCpu) {
        lines.push(Line::from(l!(
            lang,
            "대량 수신 데이터는 큐(SQS/Kinesis)로 받아 처리 속도를 조절",
            "Take bulk inbound data through a queue (SQS/Kinesis) to pace its processing"
        )));
    }
    if a.has(RuleId::SysCheck) || a.has(RuleId::InstCheck) {
        // Advice from the same auto-recovery status that 🔧 states and 🤖 reports.
        let status = cx.instance.map(|i| recovery::auto_recovery(i, cx.facts));
        lines.push(Line::from(match status {
            Some(AutoRecovery::On) => l!(
                lang,
                "호스트 장애는 simplified automatic recovery가 처리: 그 밖의 장애에도 서비스가 유지되도록 상태 없는(stateless) 구성으로 ASG 뒤에 배치",
                "Host failures are covered by simplified automatic recovery: to survive the other failures too, run stateless behind an ASG"
            ),
            Some(AutoRecovery::Off) => l!(
                lang,
                "꺼진 simplified automatic recovery를 다시 켜고(🤖 참고) 상태 없는(stateless) 구성으로 ASG 뒤에 배치",
                "Turn simplified automatic recovery back on (see 🤖) and run stateless behind an ASG"
            ),
            Some(AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember)) => l!(
                lang,
                "그룹 멤버는 상태 없이(stateless) 유지해 교체로 잃는 것이 없게 하고, ELB health check를 켜서 load balancer가 보는 장애도 그룹이 교체하게 함",
                "Keep group members stateless so a replacement loses nothing, and use the ELB health check type so the group also replaces what the load balancer finds unhealthy"
            ),
            Some(AutoRecovery::NotAvailable(NotAvailable::Unsupported)) => l!(
                lang,
                "자동 복구를 쓸 수 없는 인스턴스: 상태 없는(stateless) 구성으로 ASG 뒤에 두어 장애 시 교체",
                "Auto recovery does not cover this instance: run stateless behind an ASG so a failed one is replaced"
            ),
            _ => l!(
                lang,
                "StatusCheckFailed_System에 recover 알람 동작을 설정하고, 상태 없는(stateless) 구성으로 ASG 뒤에 배치",
                "Set a recover alarm action on StatusCheckFailed_System and run stateless behind an ASG"
            ),
        }));
    }
    if a.has(RuleId::InstCheck) {
        lines.push(Line::from(l!(
            lang,
            "OS 원인 제거: 메모리 한도/스왑, 디스크 여유, 커널·드라이버(ENA/NVMe) 업데이트",
            "Remove the OS cause: memory limits/swap, free disk space, kernel and driver (ENA/NVMe) updates"
        )));
    }
    if a.has(RuleId::EbsCheck) {
        lines.push(Line::from(l!(
            lang,
            "정기 EBS snapshot(Data Lifecycle Manager)과 다중 AZ 복제로 볼륨 장애에 대비",
            "Prepare for volume failures with scheduled EBS snapshots (Data Lifecycle Manager) and multi-AZ replication"
        )));
    }
    if a.has(RuleId::Stopped) {
        lines.push(Line::from(l!(
            lang,
            "운영 인스턴스는 stop/termination protection(disable-api-stop, disable-api-termination) 설정, 단일 인스턴스 대신 ASG로 자동 교체",
            "Turn on stop and termination protection (disable-api-stop, disable-api-termination) for production, and let an ASG replace instances instead of relying on one"
        )));
    }
    if a.has(RuleId::Gone) {
        lines.push(Line::from(l!(
            lang,
            "중지/종료된 인스턴스를 감시하는 고아 알람 정리 (인스턴스 수명주기와 함께 알람 관리: IaC)",
            "Clean up orphan alarms that watch stopped or terminated instances (manage alarms with the instance lifecycle: IaC)"
        )));
    }
    if let Some(i) = cx.instance {
        if i.monitoring.as_deref() == Some("disabled") && cx.change.state.value == AlarmState::Alarm
        {
            lines.push(Line::from(l!(
                lang,
                "Basic monitoring(5분) 사용 중: 빠른 탐지를 위해 detailed monitoring(1분) 활성화",
                "Basic (5-minute) monitoring is on: enable detailed (1-minute) monitoring for faster detection"
            )));
        }
    }
    if cx.instance_id.is_none() && cx.change.state.value == AlarmState::Alarm {
        lines.push(Line::from(l!(
            lang,
            "알람에 InstanceId가 없어 인스턴스 수준 분석 불가: 그룹 알람과 함께 인스턴스별 알람 고려",
            "The alarm names no InstanceId, so no instance-level analysis: add per-instance alarms beside the group alarm"
        )));
    }
    if lines.is_empty() {
        lines.push(Line::from(match cx.change.state.value {
            AlarmState::Ok => l!(
                lang,
                "같은 알람이 반복되면 임계값과 평가 기간을 평소 부하에 맞게 조정",
                "If this alarm keeps flapping, fit its threshold and evaluation period to the normal load"
            ),
            _ => l!(
                lang,
                "알람의 임계값을 평소 기준선(baseline)과 비교해 검토하고 원인별 runbook 작성",
                "Review the threshold against the normal baseline and write a runbook for this alarm"
            ),
        }));
    }
    section(
        "📈",
        "장기 개선방안",
        "Long-term improvements",
        lang,
        lines,
        3,
    )
}

/// A price difference with its sign.
fn signed_usd(d: f64) -> String {
    if d < 0.0 {
        format!("-{}", usd(-d))
    } else {
        format!("+{}", usd(d))
    }
}

fn monthly(usd_per_hour: f64) -> f64 {
    usd_per_hour * HOURS_PER_MONTH
}

fn cost(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = Vec::new();
    let Some(i) = cx.instance else {
        let why = cx
            .facts
            .instance
            .reason()
            .map(str::to_string)
            .unwrap_or_else(|| l!(lang, "인스턴스를 특정할 수 없음", "no instance to price"));
        lines.push(Line::from(l!(
            lang,
            "인스턴스 비용: 조회 불가 ({})",
            "Instance cost: unavailable: {}",
            evidence::reason(&why, lang)
        )));
        return section("💰", "비용 영향도", "Cost impact", lang, lines, 4);
    };
    let price = pricing::instance_price(&cx.region, &i.instance_type);
    match price {
        Some(p) => lines.push(Line::from(l!(
            lang,
            "{} ({}) On-Demand: {}/시간 ≈ {}/월 (Linux 기준 추정치, 가격표 기준)",
            "{} ({}) On-Demand: {}/hour ≈ {}/month (Linux, estimate from the bundled price table)",
            i.instance_type,
            cx.region,
            usd(p.usd_per_hour),
            usd(monthly(p.usd_per_hour))
        ))),
        None => lines.push(Line::from(l!(
            lang,
            "{} ({}): 가격표에 없음 — https://aws.amazon.com/ec2/pricing/on-demand/ 참고",
            "{} ({}): not in the price table — see https://aws.amazon.com/ec2/pricing/on-demand/",
            i.instance_type,
            cx.region
        ))),
    }
    let ebs: Option<(i32, f64)> = cx.facts.volumes.get().map(|vols| {
        vols.iter().fold((0, 0.0), |(gib, usd_m), v| {
            let p = pricing::ebs_price(&cx.region, &v.volume_type).unwrap_or(0.0);
            (gib + v.size_gib, usd_m + p * v.size_gib as f64)
        })
    });
    let ebs_text = match ebs {
        Some((gib, m)) => l!(
            lang,
            "EBS {} GiB ≈ {}/월",
            "EBS {} GiB ≈ {}/month",
            gib,
            usd(m)
        ),
        None => l!(lang, "EBS 비용 조회 불가", "EBS cost unavailable"),
    };
    let effect = match cx.recommended {
        Recommended::Reboot => l!(
            lang,
            "권장 조치 reboot: 과금 기간이 유지되어 추가 비용 없음",
            "Recommended reboot: the billing period continues — no extra cost"
        ),
        Recommended::StopStart => l!(
            lang,
            "권장 조치 stop/start: start 시 새 과금 기간 시작(초 단위, 최소 60초); 중지 중에도 {} 과금",
            "Recommended stop/start: start begins a new billing period (per second, 60 s minimum); while stopped you still pay for {}",
            ebs_text
        ),
        Recommended::AwsRecovers => l!(
            lang,
            "권장 조치 AWS 자동 복구 대기: 추가 비용 없음; {}분 후에도 복구되지 않아 직접 stop/start하면 start 시 새 과금 기간 시작, 중지 중에도 {} 과금",
            "Recommended wait for AWS's recovery: no extra cost; a stop/start of your own, if it has not recovered after {} minutes, begins a new billing period at the start, and {} is still billed while stopped",
            steps::AWS_RECOVERY_GRACE_MINUTES,
            ebs_text
        ),
        Recommended::Replace => l!(
            lang,
            "권장 조치 Auto Scaling 교체: 새 인스턴스가 새 과금 기간으로 시작되고 장애 인스턴스는 종료 시 과금 중단",
            "Recommended replacement by the Auto Scaling group: the new instance starts its own billing; the failed one stops billing once terminated"
        ),
        Recommended::Wait => l!(
            lang,
            "권장 조치 대기/볼륨 교체: 교체 시 새 볼륨과 snapshot 복원 비용 발생 ({})",
            "Recommended wait or volume replacement: a replacement adds a new volume and snapshot restore ({})",
            ebs_text
        ),
        Recommended::Resize => l!(
            lang,
            "타입 변경은 stop/start가 필요: 새 과금 기간 시작, 중지 중 {} 과금",
            "Changing the type needs a stop/start: a new billing period starts; while stopped you pay for {}",
            ebs_text
        ),
        Recommended::Investigate => l!(
            lang,
            "조사 단계는 비용 없음 (SSM Run Command 무료)",
            "Investigation costs nothing (SSM Run Command is free)"
        ),
        Recommended::Nothing if cx.a.has(RuleId::Gone) || cx.a.has(RuleId::Stopped) => l!(
            lang,
            "중지된 인스턴스는 시간당 요금이 없지만 {} 계속 과금",
            "A stopped instance has no hourly charge, but {} is still billed",
            ebs_text
        ),
        Recommended::Nothing => l!(
            lang,
            "조치 없음: 추가 비용 없음 ({})",
            "No action: no extra cost ({})",
            ebs_text
        ),
    };
    lines.push(Line::from(effect));
    if let Some(p) = price {
        if cx.a.has(RuleId::CpuSustained) || cx.a.has(RuleId::CpuSpike) {
            if let Some((up, q)) = pricing::neighbour_size(&cx.region, &i.instance_type, true) {
                let d = q.usd_per_hour - p.usd_per_hour;
                lines.push(Line::from(l!(
                    lang,
                    "Scale up {} → {}: {}/시간 (+{}/시간, +{}/월)",
                    "Scale up {} → {}: {}/hour (+{}/hour, +{}/month)",
                    i.instance_type,
                    up,
                    usd(q.usd_per_hour),
                    usd(d),
                    usd(monthly(d))
                )));
            }
        }
        if cx.a.has(RuleId::CpuCredits) {
            let vcpus = pricing::burstable_baseline(&i.instance_type)
                .map(|_| p.vcpus)
                .unwrap_or(p.vcpus);
            lines.push(Line::from(l!(
                lang,
                "Unlimited 모드: baseline 초과분 vCPU-시간당 $0.05 (Linux) — 100% 상시 사용 시 최대 약 {}/월 추가",
                "Unlimited mode: $0.05 per surplus vCPU-hour (Linux) — at most about {}/month extra at 100% all month",
                usd(0.05 * vcpus as f64 * HOURS_PER_MONTH)
            )));
            if let Some((alt, q)) = pricing::steady_alternative(&cx.region, &i.instance_type) {
                lines.push(Line::from(l!(
                    lang,
                    "비교: burstable이 아닌 {} ({} vCPU) {}/시간 (차이 {}/월)",
                    "Compare: the non-burstable {} ({} vCPU) is {}/hour ({}/month difference)",
                    alt,
                    q.vcpus,
                    usd(q.usd_per_hour),
                    signed_usd(monthly(q.usd_per_hour - p.usd_per_hour))
                )));
            }
        }
        if cx.change.state.value == AlarmState::Ok {
            lines.push(Line::from(l!(
                lang,
                "복구됨: 비용 변화 없음",
                "Recovered: no change in cost"
            )));
        }
    }
    section("💰", "비용 영향도", "Cost impact", lang, lines, 4)
}

const ADMIN_PORTS: [(i32, &str); 2] = [(22, "SSH"), (3389, "RDP")];

fn security(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = Vec::new();
    let Some(i) = cx.instance else {
        lines.push(Line::from(l!(
            lang,
            "보안 점검: 인스턴스 정보 없음 (조회 불가)",
            "Security review: no instance facts (unavailable)"
        )));
        return section(
            "🔒",
            "보안 고려사항",
            "Security considerations",
            lang,
            lines,
            5,
        );
    };
    match &cx.facts.security_groups {
        Source::Available(groups) => {
            let mut open_any = false;
            for g in groups {
                for r in &g.world_open {
                    open_any = true;
                    let ports = match (r.from_port, r.to_port) {
                        (Some(f), Some(t)) if f == t => f.to_string(),
                        (Some(-1), _) | (None, _) => "all".into(),
                        (Some(f), Some(t)) => format!("{f}-{t}"),
                        (Some(f), None) => f.to_string(),
                    };
                    let admin: Vec<&str> = ADMIN_PORTS
                        .iter()
                        .filter(|(p, _)| r.covers(*p))
                        .map(|(_, n)| *n)
                        .collect();
                    let mut line = Line::new()
                        .t(if admin.is_empty() { "⚠️ " } else { "🔴 " })
                        .c(g.id.clone())
                        .t(" (")
                        .u(&g.name)
                        .t(format!(
                            ") {} {ports} ← {}",
                            r.protocol.replace("-1", "all"),
                            r.cidr
                        ));
                    if !admin.is_empty() {
                        line = line.t(l!(
                            lang,
                            " — 관리 포트({}) 전체 공개: Session Manager 사용 후 규칙 제거",
                            " — admin port ({}) open to the world: use Session Manager and remove the rule",
                            admin.join("/")
                        ));
                    }
                    lines.push(line);
                }
            }
            if !open_any {
                lines.push(Line::from(l!(
                    lang,
                    "Security group {}개: 0.0.0.0/0 또는 ::/0에 열린 inbound 규칙 없음",
                    "{} security group(s): no inbound rule open to 0.0.0.0/0 or ::/0",
                    groups.len()
                )));
            }
        }
        Source::Unavailable(r) => lines.push(Line::from(l!(
            lang,
            "Security groups: 조회 불가 ({})",
            "Security groups: unavailable: {}",
            evidence::reason(r, lang)
        ))),
    }
    match i.http_tokens.as_deref() {
        Some("optional") => {
            lines.push(Line::from(l!(
                lang,
                "IMDSv1 허용 (HttpTokens=optional): SSRF로 자격 증명 탈취 위험 → IMDSv2 강제",
                "IMDSv1 allowed (HttpTokens=optional): credentials can leak through SSRF → require IMDSv2"
            )));
            lines.push(cli(
                cx,
                Command::new("aws ec2 modify-instance-metadata-options")
                    .arg("--instance-id", "INSTANCE_ID", &i.id)
                    .lit("--http-tokens required"),
            ));
        }
        Some("required") => lines.push(Line::from(l!(lang, "IMDSv2 강제됨", "IMDSv2 required"))),
        _ => {}
    }
    match &cx.facts.volumes {
        Source::Available(vols) => {
            let plain: Vec<&str> = vols
                .iter()
                .filter(|v| !v.encrypted)
                .map(|v| v.id.as_str())
                .collect();
            if plain.is_empty() {
                lines.push(Line::from(l!(
                    lang,
                    "EBS 볼륨 {}개 모두 암호화됨",
                    "All {} EBS volume(s) encrypted",
                    vols.len()
                )));
            } else {
                lines.push(Line::from(l!(
                    lang,
                    "암호화되지 않은 EBS 볼륨: {} → snapshot 복사로 암호화, 계정 기본 암호화 활성화",
                    "Unencrypted EBS volumes: {} → encrypt through a snapshot copy; turn on default encryption",
                    plain.join(", ")
                )));
            }
        }
        Source::Unavailable(r) => lines.push(Line::from(l!(
            lang,
            "EBS 암호화: 조회 불가 ({})",
            "EBS encryption: unavailable: {}",
            evidence::reason(r, lang)
        ))),
    }
    match (&i.public_ip, cx.recommended) {
        (Some(ip), Recommended::AwsRecovers) => lines.push(Line::from(l!(
            lang,
            "Public IPv4 {}: AWS 자동 복구는 유지; 복구 실패 시의 직접 stop/start는 자동 할당 IP를 바꿈 (Elastic IP는 유지) → DNS/허용 목록 갱신 필요",
            "Public IPv4 {}: AWS's recovery keeps it; a stop/start of your own (if the recovery fails) changes an auto-assigned address (an Elastic IP stays) → update DNS and allow-lists",
            ip
        ))),
        (Some(ip), Recommended::StopStart | Recommended::Resize) => lines.push(Line::from(l!(
            lang,
            "Public IPv4 {}: stop/start 시 자동 할당 IP가 바뀜 (Elastic IP는 유지) → DNS/허용 목록 갱신 필요",
            "Public IPv4 {}: a stop/start changes an auto-assigned address (an Elastic IP stays) → update DNS and allow-lists",
            ip
        ))),
        (Some(ip), _) => lines.push(Line::from(l!(
            lang,
            "Public IPv4 {}로 인터넷에 노출됨",
            "Reachable from the internet on public IPv4 {}",
            ip
        ))),
        (None, _) => {}
    }
    match cx.recommended {
        Recommended::StopStart => lines.push(Line::from(l!(
            lang,
            "Stop/start 시 RAM과 instance store 데이터 손실",
            "A stop/start loses RAM and instance-store data"
        ))),
        Recommended::AwsRecovers => lines.push(Line::from(l!(
            lang,
            "자동 복구도 stop/start도 RAM 내용은 잃음",
            "The recovery, like a stop/start, loses what was in RAM"
        ))),
        _ => {}
    }
    section(
        "🔒",
        "보안 고려사항",
        "Security considerations",
        lang,
        lines,
        5,
    )
}

fn automation(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = Vec::new();
    match &cx.facts.history {
        Source::Available(h) => {
            let n = h.alarm_transitions();
            lines.push(Line::from(if n >= 3 {
                l!(
                    lang,
                    "반복 발생: 최근 7일간 ALARM {}회 → 원인 자동 조치(runbook/SSM Automation) 또는 임계값 조정",
                    "Recurring: {} ALARM transitions in the last 7 days → automate the fix (runbook / SSM Automation) or tune the threshold",
                    n
                )
            } else {
                l!(
                    lang,
                    "최근 7일간 ALARM {}회: 반복 패턴 아님",
                    "ALARM transitions in the last 7 days: {} (not a recurring pattern)",
                    n
                )
            }));
        }
        Source::Unavailable(r) => lines.push(Line::from(l!(
            lang,
            "알람 이력 (DescribeAlarmHistory): 조회 불가 ({})",
            "Alarm history (DescribeAlarmHistory): unavailable: {}",
            evidence::reason(r, lang)
        ))),
    }
    if let Some(i) = cx.instance {
        if let Some(w) = cx.facts.metrics.get() {
            if w.get(Role::Memory).is_none() {
                lines.push(Line::from(l!(
                    lang,
                    "CloudWatch agent 메모리 메트릭(CWAgent mem_used_percent) 없음: agent를 설치하고 설정해야 메트릭이 나옴 (설정은 Parameter Store {}, 인스턴스 role에 CloudWatchAgentServerPolicy 필요) — 설치 완료 후 설정:",
                    "No CloudWatch agent memory metric (CWAgent mem_used_percent): install the agent and configure it, or it publishes nothing (configuration in Parameter Store {}; the instance role needs CloudWatchAgentServerPolicy) — configure once the install has run:",
                    steps::AGENT_CONFIG_PARAMETER
                )));
                lines.extend(clis(cx, steps::agent_install_and_configure(&i.id)));
            }
        }
        match i.asg() {
            Some(g) => lines.push(
                Line::new()
                    .t(l!(lang, "Auto Scaling group ", "Auto Scaling group "))
                    .u(g)
                    .t(l!(lang, " 소속: 장애 인스턴스는 그룹이 교체", " member: the group replaces a failed instance")),
            ),
            None => lines.push(Line::from(l!(
                lang,
                "Auto Scaling group 없음: 단일 장애점(SPOF) → 최소 1대 ASG 또는 다중 AZ 구성으로 자동 교체",
                "No Auto Scaling group: a single point of failure → an ASG (even min 1) or multi-AZ replaces it automatically"
            ))),
        }
        match recovery::auto_recovery(i, cx.facts) {
            AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember) => {}
            AutoRecovery::NotAvailable(NotAvailable::Unsupported) => lines.push(Line::from(l!(
                lang,
                "{} 자동 복구(auto recovery) 미지원 (instance store, Dedicated Host, EFA 등): ASG로 교체 자동화",
                "{} is not covered by auto recovery (instance store, Dedicated Host, EFA and the like): automate replacement with an ASG",
                match lang {
                    Language::Ko => summary::topic(&i.instance_type),
                    Language::En => i.instance_type.clone(),
                }
            ))),
            AutoRecovery::Off => {
                lines.push(Line::from(l!(
                    lang,
                    "Simplified automatic recovery가 꺼져 있음 → 켜서 호스트 장애 시 자동 복구",
                    "Simplified automatic recovery is disabled → enable it so host failures recover automatically"
                )));
                lines.push(cli(cx, Command::new("aws ec2 modify-instance-maintenance-options").arg("--instance-id", "INSTANCE_ID", &i.id).lit("--auto-recovery default")));
            }
            AutoRecovery::On => lines.push(Line::from(l!(
                lang,
                "Simplified automatic recovery 켜짐 (기본값): 시스템 장애 시 AWS가 자동 복구",
                "Simplified automatic recovery is on (default): AWS recovers the instance on a system failure"
            ))),
            AutoRecovery::Unknown => {}
        }
    } else if cx.instance_id.is_some() {
        lines.push(Line::from(l!(
            lang,
            "인스턴스 정보 없음: ASG/자동 복구 점검 불가",
            "No instance facts: ASG and auto-recovery checks skipped"
        )));
    }
    let opted_in = cx.instance.is_some_and(|i| i.opted_in(cx.opt_in_tag));
    // Opting in changes nothing where ec2ops would hold anyway: a group member (the group replaces it), or a
    // system check that AWS's own recovery covers.
    let could_act = match cx.recommended {
        Recommended::Reboot | Recommended::StopStart => true,
        Recommended::AwsRecovers => cx.a.has(RuleId::InstCheck),
        _ => false,
    };
    if could_act && !opted_in {
        if let Some(id) = cx.instance_id {
            lines.push(
                Line::new()
                    .t(l!(
                        lang,
                        "Status check 장애는 ec2ops가 자동 reboot/recover 가능: 태그로 opt-in (",
                        "ec2ops can reboot/recover status-check failures automatically once the instance opts in ("
                    ))
                    .u(format!("{}=true", cx.opt_in_tag))
                    .t("):"),
            );
            // JSON rather than the CLI's `Key=…,Value=…` shorthand: a tag key may hold `,` and `=`.
            lines.push(cli(
                cx,
                Command::new("aws ec2 create-tags")
                    .arg("--resources", "INSTANCE_ID", id)
                    .json(
                        "--tags",
                        &serde_json::json!([{"Key": cx.opt_in_tag, "Value": "true"}]),
                    ),
            ));
        }
    }
    section(
        "🤖",
        "자동화 가능성",
        "Automation opportunities",
        lang,
        lines,
        6,
    )
}

/// Most commands the chat card lists as next steps.
const MAX_NEXT_STEPS: usize = 5;

fn next_steps(cx: &Ctx<'_>) -> Vec<String> {
    // The chat card's next steps: the operator commands of section 🔧, plain, a step's commands whole or not at
    // all (a Run Command without the reading of its output is no use) — and never a step that stops the instance,
    // which shown bare would lose the note that says so (downtime, a new public IP).
    let sec = if cx.change.is_series_summary() {
        summary_actions(cx)
    } else {
        actions(cx)
    };
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut in_group = false;
    for l in &sec.lines {
        let is_cmd = l.0.iter().any(|p| matches!(p, text::Piece::Code(_)));
        if is_cmd {
            let cmd = l.plain().trim().trim_start_matches("$ ").to_string();
            match groups.last_mut() {
                Some(g) if in_group => g.push(cmd),
                _ => groups.push(vec![cmd]),
            }
        }
        in_group = is_cmd;
    }
    let mut out = Vec::new();
    for g in groups
        .into_iter()
        .filter(|g| !g.iter().any(|c| stops_the_instance(c)))
    {
        if out.len() + g.len() > MAX_NEXT_STEPS {
            break;
        }
        out.extend(g);
    }
    out
}

/// Whether a command stops the instance (a stop, or a type change, which needs one).
fn stops_the_instance(cmd: &str) -> bool {
    [
        "aws ec2 stop-instances",
        "aws ec2 modify-instance-attribute",
    ]
    .iter()
    .any(|p| cmd.starts_with(p))
}

fn keywords(cx: &Ctx<'_>) -> Vec<String> {
    let mut k = vec![
        cx.a.priority.label().to_string(),
        cx.change.state.value.as_str().to_string(),
    ];
    k.extend(cx.a.findings.iter().map(|f| f.rule.code().to_string()));
    if let Some(id) = cx.instance_id {
        k.push(id.to_string());
    }
    k.push(cx.region.clone());
    if let Environment::Production(_) | Environment::NonProduction(_) = &cx.a.environment {
        if let Some(e) = cx.instance.and_then(InstanceFacts::environment) {
            k.push(text::sanitize(e, 30));
        }
    }
    k.dedup();
    k.truncate(10);
    k
}
