//! 📊's customer-impact lines, and the summary's when customers are affected: the instance's target groups, its
//! health in each, and what each ALB group served in the minutes up to the transition.

use crate::config::Language;
use crate::evidence::impact::{CustomerImpact, Served, Target};
use crate::source::Source;

use super::phrasebook;
use super::text::{sanitize, Line};

/// Target groups listed in 📊, at most.
const GROUPS_SHOWN: usize = 3;

/// One line per target group the instance is in (none when it serves no load balancer).
pub(super) fn lines(impact: &Option<Source<CustomerImpact>>, lang: Language) -> Vec<Line> {
    let Some(Source::Available(i)) = impact else {
        return Vec::new();
    };
    let served = i.served.as_ref().and_then(|s| s.as_ref().ok());
    let unread = i.served.as_ref().and_then(|s| s.as_ref().err());
    i.targets
        .iter()
        .take(GROUPS_SHOWN)
        .map(|t| {
            let mut line = Line::new()
                .t(l!(
                    lang,
                    "로드 밸런서: target group ",
                    "Load balancer: target group "
                ))
                .u(sanitize(&t.group_name, 64))
                .t(health(t, lang));
            if let Some(s) = served.and_then(|s| s.iter().find(|s| s.group_name == t.group_name)) {
                line = line.t(traffic(s, lang));
            } else if let (Some(why), Some(_)) = (unread, t.alb_dimension()) {
                line = line
                    .t(l!(
                        lang,
                        " · 트래픽 조회 불가: ",
                        " · traffic unavailable: "
                    ))
                    .u(phrasebook::reason(why, lang));
            }
            line
        })
        .collect()
}

/// The summary's line when customers are affected: a group serving errors, or the balancer taking the instance out.
pub(super) fn summary(impact: &Option<Source<CustomerImpact>>, lang: Language) -> Option<Line> {
    let Some(Source::Available(i)) = impact else {
        return None;
    };
    let text = match (i.serving_errors(), i.taken_out()) {
        (Some(s), _) => l!(
            lang,
            "▶ 고객 영향: target group {}{}",
            "▶ Customer impact: target group {}{}",
            sanitize(&s.group_name, 64),
            traffic(s, lang)
        ),
        (None, Some(t)) => l!(
            lang,
            "▶ 고객 영향: target group {}{}",
            "▶ Customer impact: target group {}{}",
            sanitize(&t.group_name, 64),
            health(t, lang)
        ),
        (None, None) => return None,
    };
    Some(Line::from(text))
}

/// ` (port 80) — healthy`, ` — unhealthy (Target.FailedHealthChecks): the balancer sends it no traffic`.
fn health(t: &Target, lang: Language) -> String {
    let port = t.port.map(|p| format!(" (port {p})")).unwrap_or_default();
    let reason = t
        .reason
        .as_deref()
        .map(|r| format!(" ({})", sanitize(r, 64)))
        .unwrap_or_default();
    let state = sanitize(&t.state, 20);
    if t.taken_out() {
        l!(
            lang,
            "{} — {}{}: 로드 밸런서가 이 인스턴스로 트래픽을 보내지 않음",
            "{} — {}{}: the balancer sends it no traffic",
            port,
            state,
            reason
        )
    } else {
        format!("{port} — {state}{reason}")
    }
}

/// ` · last 10 min: 1200 requests, 37 5xx from the targets (3.1%), 0.42 s average response`.
fn traffic(s: &Served, lang: Language) -> String {
    let mut parts = Vec::new();
    if let Some(r) = s.requests {
        parts.push(l!(lang, "요청 {:.0}건", "{:.0} requests", r));
    }
    if let Some(e) = s.target_5xx {
        let rate = s
            .error_rate()
            .map(|r| format!(" ({:.1}%)", r * 100.0))
            .unwrap_or_default();
        parts.push(l!(
            lang,
            "target 5xx {:.0}건{}",
            "{:.0} 5xx from the targets{}",
            e,
            rate
        ));
    }
    if let Some(t) = s.response_secs {
        parts.push(l!(lang, "평균 응답 {:.2}초", "{:.2} s average response", t));
    }
    if parts.is_empty() {
        return l!(
            lang,
            " · 최근 {}분 트래픽 없음",
            " · no traffic in the last {} min",
            s.minutes
        );
    }
    l!(
        lang,
        " · 최근 {}분: {}",
        " · last {} min: {}",
        s.minutes,
        parts.join(", ")
    )
}
