//! 📊 lines of the evidence sources ([`crate::evidence`]): what changed (CloudTrail), what the logs say, the other
//! alarms in ALARM on the instance, and the console deep links (email: `label: url`; chat: markdown links). Each
//! source that was not wired shows nothing; one that was asked and found nothing says so in one line.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::phrasebook;
use super::text::{hm, sanitize, span, Line, Phrase};
use crate::config::Language;
use crate::evidence::changes::{Change, ChangeKind};
use crate::evidence::links::Console;
use crate::evidence::logs::{GroupRead, Signal};
use crate::evidence::EvidenceDetail;
use crate::facts::{Facts, Source};
use crate::model::AlarmChange;

/// Changes listed in 📊 at most.
const CHANGES_SHOWN: usize = 5;

/// A kind of change in the report's language.
fn kind(k: ChangeKind, lang: Language) -> String {
    match k {
        ChangeKind::Resize => l!(lang, "인스턴스 타입 변경", "instance type change"),
        ChangeKind::UserData => l!(lang, "user data 변경", "user-data change"),
        ChangeKind::Attribute => l!(lang, "속성 변경", "attribute change"),
        ChangeKind::StopStart => l!(lang, "stop/start/reboot", "stop/start/reboot"),
        ChangeKind::Launch => l!(lang, "launch", "launch"),
        ChangeKind::SecurityGroup => l!(lang, "보안 그룹 규칙 변경", "security-group rule change"),
        ChangeKind::Volume => l!(lang, "볼륨 변경", "volume change"),
        ChangeKind::Command => l!(lang, "SSM 명령", "SSM command"),
        ChangeKind::AutoScaling => l!(lang, "Auto Scaling 활동", "Auto Scaling activity"),
        ChangeKind::Role => l!(lang, "instance profile 변경", "instance profile change"),
        ChangeKind::Network => l!(lang, "네트워크 변경", "network change"),
    }
}

/// What the logs show, in the report's language.
pub(super) fn signal(s: Signal, lang: Language) -> String {
    match s {
        Signal::Oom => l!(
            lang,
            "메모리 부족 (OOM killer)",
            "out of memory (OOM killer)"
        ),
        Signal::DiskFull => l!(lang, "디스크 가득 참", "disk full"),
        Signal::Kernel => l!(lang, "커널 오류", "kernel errors"),
        Signal::Exception => l!(lang, "애플리케이션 예외", "application exceptions"),
        Signal::Error => l!(lang, "오류", "errors"),
    }
}

/// The conclusion of a CHANGE-BEFORE or LOG-ERRORS finding.
pub(super) fn finding_phrase(d: &EvidenceDetail, lang: Language, tz: Tz) -> Phrase {
    match d {
        EvidenceDetail::ChangeBefore {
            kind: k,
            name,
            request,
            who,
            by_service,
            at,
            minutes_before,
            window_minutes,
            others,
            recurs_before,
        } => {
            let what = match request {
                Some(r) => format!("{name} ({})", sanitize(r, 160)),
                None => name.clone(),
            };
            let who = sanitize(who, 120);
            let by = match by_service {
                true => l!(lang, "AWS 서비스 {}", "the AWS service {}", who),
                false => who,
            };
            let more = match others {
                0 => String::new(),
                n => l!(
                    lang,
                    ", window 안의 다른 변경 {}건",
                    "; {} other change(s) in the window",
                    n
                ),
            };
            if let Some((minute, days)) = recurs_before {
                return Phrase::advised(
                    l!(
                        lang,
                        "이 변경 전에도 {0}일 동안 매일 {1} 무렵 알람 발생 — 그 시각의 예약 작업이 유력한 trigger; {4}의 {3}({2})로 여유 용량이 줄었을 수 있음",
                        "the alarm went off near {1} on {0} days before this change — a scheduled job at that time is the likely trigger; the {3} at {2} by {4} may have cut the headroom",
                        days,
                        super::text::daily_clock(*at, *minute, lang, tz),
                        hm(*at, tz, lang),
                        kind(*k, lang),
                        by
                    ),
                    l!(
                        lang,
                        "그 시각의 작업을 찾고(🤖), 변경이 용량을 줄였다면 되돌리기",
                        "find the job at that time (🤖) and roll the change back if it cut the capacity"
                    ),
                );
            }
            Phrase::advised(
                l!(
                    lang,
                    "전환 {}분 전 {} (유력한 trigger) — {} {}의 {}{} (window {}분)",
                    "{1} {0} min before the transition (the likely trigger) — {4} by {3} at {2}{5} (window {6} min)",
                    minutes_before,
                    kind(*k, lang),
                    hm(*at, tz, lang),
                    by,
                    what,
                    more,
                    window_minutes
                ),
                l!(
                    lang,
                    "이 변경을 먼저 확인하고 필요하면 되돌리기",
                    "check this change first and roll it back if needed"
                ),
            )
        }
        EvidenceDetail::LogErrors {
            signal: s,
            lines,
            group,
        } => Phrase::advised(
            l!(
                lang,
                "전환 전후 로그에 {} (오류 수준 {}줄, 첫 줄은 {})",
                "the logs show {} around the transition ({} error-level line(s), the first in {})",
                signal(*s, lang),
                lines,
                sanitize(group, 120)
            ),
            l!(
                lang,
                "인용된 줄과 log stream 확인",
                "read the cited lines and the log stream"
            ),
        ),
    }
}

/// A change's minute, with its day when that is not the transition's (in the report's zone).
fn when(t: DateTime<Utc>, around: DateTime<Utc>, lang: Language, tz: Tz) -> String {
    // Korean reports give the configured zone's time, English ones UTC (as `hm` does).
    let same_day = match lang {
        Language::Ko => t.with_timezone(&tz).date_naive() == around.with_timezone(&tz).date_naive(),
        Language::En => t.date_naive() == around.date_naive(),
    };
    if same_day {
        hm(t, tz, lang)
    } else {
        super::text::day_minute(t, tz, lang)
    }
}

fn change_line(c: &Change, around: DateTime<Utc>, lang: Language, tz: Tz) -> Line {
    let mut l = Line::sub().t(format!(
        "{} {} ",
        when(c.event.at, around, lang, tz),
        kind(c.kind, lang)
    ));
    l = l.c(c.event.name.clone());
    if let Some(r) = &c.event.request {
        l = l.t(" (").u(r).t(")");
    }
    l = l.t(" · ").u(c.event.who());
    if let Some(w) = c.event.from_where() {
        l = l.t(" · ").u(w);
    }
    l
}

/// What changed, what the logs say, what else is alarming: the 📊 lines of each wired source.
pub(super) fn situation(change: &AlarmChange, facts: &Facts, lang: Language, tz: Tz) -> Vec<Line> {
    let ev = &facts.evidence;
    let mut lines = super::impact::lines(&ev.impact, lang);
    if let Some(Source::Available(c)) = &ev.changes {
        lines.extend(changes_lines(c, change, lang, tz));
    }
    if let Some(Source::Available(l)) = &ev.logs {
        lines.extend(log_lines(l, lang, tz));
    }
    if let Some(Source::Available(o)) = &ev.alarms {
        lines.extend(alarm_lines(o, change, lang, tz));
    }
    lines
}

/// 📊: what changed before the transition (CloudTrail).
fn changes_lines(
    c: &crate::evidence::changes::Changes,
    change: &AlarmChange,
    lang: Language,
    tz: Tz,
) -> Vec<Line> {
    let mut lines = Vec::new();
    let looked = sanitize(&c.looked_up.join(", "), 200);
    let hours = crate::evidence::changes::LOOKBACK_HOURS;
    if c.changes.is_empty() {
        let others = match c.ignored {
            0 => String::new(),
            n => l!(
                lang,
                " (다른 이벤트 {}건은 읽기·실패·태그 호출)",
                " ({} other event(s): reads, failed calls, tags)",
                n
            ),
        };
        lines.push(Line::from(l!(
            lang,
            "변경 이력 (CloudTrail, {} 최근 {}시간): 관련 변경 없음{}",
            "What changed (CloudTrail, {}, last {} h): no relevant change{}",
            looked,
            hours,
            others
        )));
    } else {
        lines.push(Line::from(l!(
            lang,
            "변경 이력 (CloudTrail, {} 최근 {}시간, 최신순):",
            "What changed (CloudTrail, {}, last {} h, newest first):",
            looked,
            hours
        )));
        // The trigger is cited under its finding, with its event id: not twice.
        let trigger = crate::evidence::changes::trigger(change, c).map(|(t, _)| t);
        for ch in c
            .changes
            .iter()
            .filter(|ch| trigger.is_none_or(|t| !std::ptr::eq(*ch, t)))
            .take(CHANGES_SHOWN)
        {
            lines.push(change_line(ch, change.state.at, lang, tz));
        }
        let more = c.changes.len().saturating_sub(CHANGES_SHOWN) + c.more;
        if more > 0 {
            lines.push(Line::sub().t(l!(
                lang,
                "… 이전 변경 {}건 더",
                "… {} older change(s)",
                more
            )));
        }
    }
    for (resource, why) in &c.gaps {
        lines.push(
            Line::sub()
                .t(l!(lang, "조회 불가 ", "unavailable for "))
                .u(resource)
                .t(": ")
                .u(phrasebook::reason(why, lang)),
        );
    }
    if !c.full.is_empty() {
        lines.push(
            Line::sub()
                .t(l!(
                    lang,
                    "한 페이지(50건)가 가득 참, 더 오래된 이벤트는 읽지 않음: ",
                    "a full page (50 events): older events not read for "
                ))
                .u(c.full.join(", ")),
        );
    }
    lines
}

/// 📊: the log lines around the transition (CloudWatch Logs).
fn log_lines(l: &crate::evidence::logs::LogEvidence, lang: Language, tz: Tz) -> Vec<Line> {
    let mut lines = Vec::new();
    if !l.configured() {
        lines.push(Line::from(l!(
            lang,
            "로그: 설정된 log group 없음 (EC2OPS_LOG_GROUPS)",
            "Logs: no log groups configured (EC2OPS_LOG_GROUPS)"
        )));
    } else {
        let window = match (l.since, l.until) {
            (Some(s), Some(u)) => span(s, u, tz, lang),
            _ => String::new(),
        };
        let status: Vec<String> = l
            .groups
            .iter()
            .map(|(g, r)| {
                let g = sanitize(g, 120);
                match r {
                    GroupRead::Read { lines } => l!(lang, "{} {}줄", "{} {} line(s)", g, lines),
                    GroupRead::NotFound => l!(lang, "{} 없음", "{} not found", g),
                    GroupRead::Failed(why) => {
                        l!(
                            lang,
                            "{} 조회 불가: {}",
                            "{} unavailable: {}",
                            g,
                            sanitize(&phrasebook::reason(why, lang), 160)
                        )
                    }
                }
            })
            .collect();
        if l.lines.is_empty() {
            lines.push(
                Line::new()
                    .t(l!(
                        lang,
                        "로그 ({} stream, {}): 줄 없음 — ",
                        "Logs ({} streams, {}): no lines — ",
                        sanitize(&l.stream_prefix, 64),
                        window
                    ))
                    .u(status.join("; ")),
            );
        } else {
            lines.push(
                Line::new()
                    .t(l!(
                        lang,
                        "로그 ({} stream, {}, 오류 줄 우선, redact됨) — ",
                        "Logs ({} streams, {}, error-level first, redacted) — ",
                        sanitize(&l.stream_prefix, 64),
                        window
                    ))
                    .u(status.join("; ")),
            );
            for x in &l.lines {
                let tag = x
                    .signal
                    .map(|s| format!("[{}] ", signal(s, lang)))
                    .unwrap_or_default();
                lines.push(
                    Line::sub()
                        .t(format!("{} {tag}", hm(x.at, tz, lang)))
                        .u(&x.text),
                );
            }
        }
    }
    lines
}

/// 📊: the instance's other alarms in ALARM.
fn alarm_lines(
    o: &crate::evidence::alarms::OtherAlarms,
    change: &AlarmChange,
    lang: Language,
    tz: Tz,
) -> Vec<Line> {
    let mut lines = Vec::new();
    if o.alarms.is_empty() {
        lines.push(Line::from(l!(
            lang,
            "이 인스턴스의 다른 ALARM 알람: 없음",
            "Other alarms in ALARM on this instance: none"
        )));
    } else {
        lines.push(Line::from(l!(
            lang,
            "이 인스턴스의 다른 ALARM 알람 (오래된 순):",
            "Other alarms in ALARM on this instance (oldest first):"
        )));
        for a in &o.alarms {
            let mut l = Line::sub().u(&a.name);
            if let Some(m) = a.watched() {
                l = l.t(" (").u(m).t(")");
            }
            if let Some(since) = a.since {
                l = l.t(since_text(since, change.state.at, lang, tz));
            }
            lines.push(l);
        }
    }
    if o.truncated {
        lines.push(Line::sub().t(l!(
            lang,
            "ALARM 알람이 100개를 넘어 일부만 확인함",
            "more than 100 alarms in ALARM: only the first page was checked"
        )));
    }
    lines
}

/// `since 12:05 (15 min before this alarm)`, or after it.
fn since_text(since: DateTime<Utc>, at: DateTime<Utc>, lang: Language, tz: Tz) -> String {
    let minutes = (at - since).num_minutes();
    let when = hm(since, tz, lang);
    if minutes >= 0 {
        l!(
            lang,
            " {}부터 (이 알람보다 {}분 먼저)",
            " since {} ({} min before this alarm)",
            when,
            minutes
        )
    } else {
        l!(
            lang,
            " {}부터 (이 알람보다 {}분 뒤)",
            " since {} ({} min after this alarm)",
            when,
            -minutes
        )
    }
}

/// Console deep links: the instance (its Connect button opens Session Manager), the alarm (its page graphs the
/// metric; the window's own graph only when there is no alarm page), the CloudTrail events found (the likely trigger's own event when there is one) and the stream of the first cited log line.
pub(super) fn links(
    change: &AlarmChange,
    facts: &Facts,
    region: &str,
    lang: Language,
) -> Vec<Line> {
    let Some(console) = Console::new(region) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let id = change.primary_instance();
    if let Some(id) = id {
        out.push((l!(lang, "인스턴스", "Instance"), console.instance(id)));
    }
    // A Health event, a state change and the sweep name no alarm: their `alarm_name` is a label, not a link.
    if change.is_alarm() {
        out.push((l!(lang, "알람", "Alarm"), console.alarm(&change.alarm_name)));
    }
    if let crate::model::Cause::Health(h) = &change.cause {
        out.push((
            l!(lang, "AWS Health 이벤트", "AWS Health event"),
            console.health_event(&h.event_arn),
        ));
    }
    // An alarm's console page graphs its metric: the window's own graph is only for what has no alarm page.
    if let (Some(w), Some(m), false) = (
        facts.metrics.get(),
        change.primary_metric(),
        change.is_alarm(),
    ) {
        if let (Some(start), Some(end)) = (w.start, w.end) {
            let dims: Vec<(String, String)> = m
                .dimensions
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out.push((
                l!(lang, "메트릭 (window)", "Metric graph (window)"),
                console.metric_graph(
                    &m.namespace,
                    &m.name,
                    &dims,
                    &m.stat,
                    w.period_secs,
                    (start, end),
                ),
            ));
        }
    }
    if let Some(Source::Available(c)) = &facts.evidence.changes {
        let trigger = crate::evidence::changes::trigger(change, c).map(|(t, _)| t);
        match (trigger, id) {
            (Some(t), _) => out.push((
                l!(
                    lang,
                    "CloudTrail 이벤트 (유력한 trigger)",
                    "CloudTrail event (likely trigger)"
                ),
                console.trail_event(&t.event.id),
            )),
            (None, Some(id)) => out.push((
                l!(lang, "CloudTrail 이벤트 기록", "CloudTrail event history"),
                console.trail_resource(id),
            )),
            _ => {}
        }
    }
    if let Some(Source::Available(l)) = &facts.evidence.logs {
        if let Some(x) = l.lines.first() {
            out.push((
                l!(lang, "로그 stream", "Log stream"),
                console.log_stream(&x.group, &x.stream, x.at),
            ));
        }
    }
    out.into_iter()
        .filter_map(|(label, url)| url.map(|u| Line::new().t("🔗 ").link(label, u)))
        .collect()
}

/// Chatbot related resources beside the instance and the alarm: the other alarms in ALARM on the instance and the
/// log group of the first cited line, as ARNs (what Chatbot links to the console).
pub(super) fn related(change: &AlarmChange, facts: &Facts, region: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(Source::Available(o)) = &facts.evidence.alarms {
        out.extend(o.alarms.iter().filter_map(|a| a.arn.clone()));
    }
    if let (Some(Source::Available(l)), Some(account), Some(_)) = (
        &facts.evidence.logs,
        change.account.as_deref(),
        Console::new(region),
    ) {
        if let Some(x) = l.lines.first() {
            out.push(format!(
                "arn:aws:logs:{region}:{account}:log-group:{}",
                x.group
            ));
        }
    }
    out.retain(|a| a.len() <= 1024 && a.starts_with("arn:"));
    out
}
