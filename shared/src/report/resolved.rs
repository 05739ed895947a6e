//! The OK notice: an alarm back to OK closes its thread in a few lines — how long it was in ALARM, how far it went
//! and how long it stayed past the threshold, the value now, and that the thread is closed — not a seven-section
//! report with a 24-hour deadline. A recovery the assessment still ranks above P3 (an instance impaired while the
//! alarm recovered, say) keeps the full report: someone still has work.

use chrono::{DateTime, Utc};

use crate::analyze::{Priority, Reason};
use crate::catalogue::unit_of;
use crate::config::Language;
use crate::facts::Role;
use crate::model::{AlarmState, Comparison};

use super::header::{event_line, instance_line, trend_points};
use super::headline::metric_label;
use super::shell::Command;
use super::text::{hm, value, when_in, Line};
use super::Ctx;

/// Whether this report is an OK notice: an alarm's (or a contributor's) return to OK that needs nobody.
pub(super) fn is_notice(cx: &Ctx<'_>) -> bool {
    cx.change.is_alarm()
        && !cx.change.is_series_summary()
        && cx.change.state.value == AlarmState::Ok
        && cx.a.priority == Priority::P3
        && cx
            .a
            .reasons
            .iter()
            .any(|r| matches!(r, Reason::Recovered { .. }))
}

/// The notice's lines (at most seven under its title): the alarm, the instance, the recovery and its time in
/// ALARM, the worst reading and the time past the threshold, the value now, the thread closed, the command that
/// shows the alarm's history.
pub(super) fn lines(cx: &Ctx<'_>, next_steps: &[Command]) -> Vec<Line> {
    let lang = cx.lang;
    let mut out = vec![event_line(cx), instance_line(cx)];
    let minutes = cx.a.reasons.iter().find_map(|r| match r {
        Reason::Recovered { minutes } => *minutes,
        _ => None,
    });
    let at = when_in(cx.change.state.at, cx.tz, lang);
    // A series of a multi-time-series alarm also goes back to OK when it stops reporting: not a recovery.
    let stopped_reporting = cx.change.contributor().is_some()
        && cx.change.state.reason.contains("No data was returned");
    out.push(Line::from(match minutes {
        _ if stopped_reporting => l!(
            lang,
            "OK: 이 시계열의 데이터가 없음 — 보고 중단 (인스턴스 중지·종료 또는 쿼리 필터에서 빠짐 가능) · {}",
            "OK: no data for this series — it stopped reporting (the instance may be stopped or gone, or left the query's filter) · {}",
            at
        ),
        Some(m) => l!(
            lang,
            "복구: ALARM {}분 만에 OK · {}",
            "Resolved: OK after {} minutes in ALARM · {}",
            m,
            at
        ),
        None => l!(lang, "복구: OK · {}", "Resolved: OK · {}", at),
    }));
    out.extend(worst_line(cx));
    out.extend(now_line(cx));
    out.push(Line::from(if stopped_reporting {
        l!(
            lang,
            "이 thread는 종료됨. 인스턴스가 계속 보고해야 한다면 시계열이 끊긴 이유를 확인 (다시 ALARM이 되면 새 incident로 보고함)",
            "This thread is closed. If the instance should still report, find why its series stopped (ec2ops reports a new incident if it fires again)"
        )
    } else {
        l!(
            lang,
            "조치 필요 없음: 이 thread는 종료됨. 다시 ALARM이 되면 새 incident로 보고함",
            "Nothing to do: this thread is closed. If the alarm fires again, ec2ops reports a new incident"
        )
    }));
    // The alarm's history (read-only), as 🔧 shows a command: the line is the command.
    if let Some(cmd) = next_steps.first() {
        out.push(Line::new().prompt().c(cmd.render()));
    }
    out
}

/// The worst reading in the window (the highest for an upper threshold, the lowest for a lower one) and, when the
/// threshold is known, how long the window's readings were past it.
fn worst_line(cx: &Ctx<'_>) -> Option<Line> {
    let lang = cx.lang;
    let c = cx.change;
    let series = cx.facts.metrics.get()?;
    let points = &series.get(Role::Alarm)?.points;
    let metric = metric_label(c);
    let unit = unit_of(&metric);
    let lower = matches!(
        c.comparison,
        Some(Comparison::Less | Comparison::LessOrEqual)
    );
    let worst: (DateTime<Utc>, f64) = points.iter().copied().reduce(|a, b| {
        let better = if lower { b.1 < a.1 } else { b.1 > a.1 };
        if better {
            b
        } else {
            a
        }
    })?;
    // The metric's name is the account's text: escaped, and never the start of the line.
    let mut line = Line::new()
        .t(if lower {
            l!(lang, "최저 ", "Lowest ")
        } else {
            l!(lang, "최고 ", "Peak ")
        })
        .u(metric)
        .t(format!(
            ": {} ({})",
            value(worst.1, unit),
            hm(worst.0, cx.tz, lang)
        ));
    if let (Some(t), Some(cmp)) = (c.threshold(), c.comparison) {
        let past = points.iter().filter(|(_, v)| cmp.breaches(*v, t)).count();
        let minutes = u64::try_from(past)
            .unwrap_or(u64::MAX)
            .saturating_mul(series.period_secs)
            / 60;
        line = line.t(l!(
            lang,
            " · 임계값({} {}) 초과 {}분 (window {}분 중)",
            " · past the threshold ({} {}) for {} of the window's {} minutes",
            cmp.symbol(),
            value(t, unit),
            minutes,
            u64::try_from(points.len())
                .unwrap_or(u64::MAX)
                .saturating_mul(series.period_secs)
                / 60
        ));
    }
    Some(line)
}

/// The value now: the datapoint the alarm evaluated to return to OK, else the window's last reading.
fn now_line(cx: &Ctx<'_>) -> Option<Line> {
    let c = cx.change;
    let unit = unit_of(&metric_label(c));
    let (at, v) = c
        .evaluated_values()
        .last()
        .copied()
        .or_else(|| trend_points(cx).last().copied())?;
    Some(Line::from(l!(
        cx.lang,
        "현재 값: {} ({})",
        "Now: {} ({})",
        value(v, unit),
        hm(at, cx.tz, cx.lang)
    )))
}
