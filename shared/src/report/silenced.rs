//! What silenced an incident, said once for the header (the report is quiet, or a P0 broke through) and once per
//! hold under 🔧 (`remediation::silence`).

use crate::config::Language;
use crate::model::SuppressedBy;
use crate::remediation::silence::{loudness, Loudness, Silence, Unread};
use crate::source::Gap;

use super::phrasebook;
use super::text::{when_in, Line};
use super::Ctx;

/// The subject's prefix of a quiet report.
pub const QUIET: &str = "[muted] ";

/// How loud the report is: the silences when they were read (the decision's time), else at the transition's.
pub(super) fn loud(cx: &Ctx<'_>) -> Loudness {
    let at = cx.facts.silencers.read_at.unwrap_or(cx.change.state.at);
    loudness(cx.change, cx.facts, cx.a, at)
}

/// One silence, as a line's words (names as written by their owners).
pub(super) fn said(s: &Silence, cx: &Ctx<'_>, mut line: Line) -> Line {
    let lang = cx.lang;
    match s {
        Silence::Muted {
            rule,
            expires,
            alarm,
        } => {
            line = line
                .t(l!(lang, "CloudWatch mute rule ", "CloudWatch mute rule "))
                .u(rule);
            line = match alarm {
                None => line.t(l!(
                    lang,
                    "이(가) 이 알람의 action을 음소거 중",
                    " mutes this alarm's actions"
                )),
                Some(a) => line
                    .t(l!(
                        lang,
                        "이(가) 이 인스턴스의 check 알람 ",
                        " mutes the actions of "
                    ))
                    .u(a)
                    .t(l!(
                        lang,
                        "의 action을 음소거 중",
                        ", the alarm on this instance's check"
                    )),
            };
            match expires {
                Some(t) => line.t(l!(
                    lang,
                    " — 규칙 만료 {}",
                    " — the rule expires {}",
                    when_in(*t, cx.tz, lang)
                )),
                None => line,
            }
        }
        Silence::Frozen { calendar, until } => {
            line = line
                .t(l!(
                    lang,
                    "변경 동결: Change Calendar ",
                    "change freeze: Change Calendar "
                ))
                .u(calendar)
                .t(l!(lang, " CLOSED 상태", " is CLOSED"));
            match until {
                Some(t) => line.t(l!(
                    lang,
                    " — {}에 OPEN",
                    " until {}",
                    when_in(*t, cx.tz, lang)
                )),
                None => line.t(l!(
                    lang,
                    " — 앞으로 열리는 시각은 calendar에 없음",
                    " — the calendar gives no opening time ahead"
                )),
            }
        }
        Silence::Maintenance { until } => line.t(l!(
            lang,
            "인스턴스에 {}까지 유지보수 기간 선언 — {} 태그",
            "a maintenance window is declared on the instance until {} — {} tag",
            when_in(*until, cx.tz, lang),
            crate::remediation::maintenance::TAG
        )),
        Silence::Suppressed(s) => {
            let line = line.t(l!(
                lang,
                "composite의 actions suppressor ",
                "the composite's actions suppressor "
            ));
            let line = match &s.suppressor {
                Some(name) => line.u(name),
                None => line.t(l!(lang, "(이름 없음)", "(unnamed)")),
            };
            line.t(match s.by {
                SuppressedBy::Alarm => l!(lang, "이(가) ALARM 상태", " is in ALARM"),
                SuppressedBy::WaitPeriod => l!(
                    lang,
                    "의 ALARM 전환을 composite가 기다리는 중 (WaitPeriod)",
                    " may go into ALARM: the composite waits for it (WaitPeriod)"
                ),
                SuppressedBy::ExtensionPeriod => l!(
                    lang,
                    "이(가) ALARM을 벗어났지만 composite의 ExtensionPeriod 동안 계속 억제",
                    " left ALARM, and the composite's ExtensionPeriod still suppresses its actions"
                ),
            })
        }
    }
}

/// A silence source that could not be read, as a hold's words.
pub(super) fn unread(what: &Unread, why: &Gap, lang: Language, line: Line) -> Line {
    let line = match what {
        Unread::MuteRules => line.t(l!(
            lang,
            "이 알람의 mute rule 조회 불가 — 음소거 중일 수 있어 조치 안 함: ",
            "cannot read this alarm's mute rules — it may be muted, so no action: "
        )),
        Unread::Calendar(c) => line
            .t(l!(lang, "Change Calendar ", "cannot read Change Calendar "))
            .u(c)
            .t(l!(
                lang,
                " 조회 불가 — 변경 동결 중일 수 있어 조치 안 함: ",
                " — a change freeze may be on, so no action: "
            )),
    };
    line.t(phrasebook::reason(why, lang))
}

/// The header's first line when something silences the incident: why the report is quiet, or what a P0 broke
/// through.
pub(super) fn header_line(cx: &Ctx<'_>) -> Option<Line> {
    let lang = cx.lang;
    let (silences, line) = match loud(cx) {
        Loudness::Loud => return None,
        Loudness::Quiet(s) => (
            s,
            Line::new().t(l!(lang, "🔕 조용히 발송: ", "🔕 Sent quietly: ")),
        ),
        Loudness::BrokeThrough(s) => (
            s,
            Line::new().t(l!(
                lang,
                "🔔 P0 status check 장애라 조용히 보내지 않음: ",
                "🔔 A P0 status-check failure breaks through: "
            )),
        ),
    };
    let mut line = line;
    for (n, s) in silences.iter().enumerate() {
        if n > 0 {
            line = line.t("; ");
        }
        line = said(s, cx, line);
    }
    Some(line)
}

/// The subject with the quiet prefix when the report is quiet.
pub(super) fn subject(cx: &Ctx<'_>, subject: String) -> String {
    match loud(cx) {
        Loudness::Quiet(_) => format!("{QUIET}{subject}"),
        _ => subject,
    }
}

/// The title's mark of a quiet report (the chat card's title, where a channel's eye goes first).
pub(super) fn title_mark(cx: &Ctx<'_>) -> &'static str {
    match loud(cx) {
        Loudness::Quiet(_) => "🔕 ",
        _ => "",
    }
}
