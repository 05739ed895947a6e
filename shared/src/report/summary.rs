//! The three lines under the header: the most likely cause (one sentence, from the top finding), who is acting on
//! the incident, and the one safe next command — what a reader woken at 3 a.m. needs before the seven sections.

use crate::analyze::{Assessment, Detail, Finding, Observation, RuleId};
use crate::catalogue;
use crate::config::Language;
use crate::evidence::logs::Signal;
use crate::evidence::EvidenceDetail;
use crate::facts::InstanceFacts;
use crate::model::{AlarmChange, AlarmState};
use crate::remediation::ActionOutcome;
use chrono::{DateTime, Utc};

use super::cli::command_line;
use super::findings::finding_phrase;
use super::outcome::action_name;
use super::shell::Command;
use super::sources::signal as log_signal;
use super::text::when_in as when;
use super::text::Line;
use super::text::{hm as when_hm, sanitize, value};
use super::urgency::reason_line;
use super::{steps, Ctx};
use crate::analyze::Remedy;

/// The metrics a rule's finding is about, to match a finding with the alarm's own metric.
fn metrics_of(rule: RuleId) -> &'static [&'static str] {
    match rule {
        RuleId::Mem => &[catalogue::MEM_USED_PERCENT],
        RuleId::Disk => &[catalogue::DISK_USED_PERCENT],
        RuleId::EbsBurst => &[catalogue::BURST_BALANCE],
        RuleId::CpuCredits => &[
            catalogue::CPU_CREDIT_BALANCE,
            catalogue::CPU_SURPLUS_CREDIT_BALANCE,
            catalogue::CPU_CREDIT_USAGE,
        ],
        RuleId::CpuSustained | RuleId::CpuSpike => &[catalogue::CPU_UTILIZATION],
        RuleId::NetLeadsCpu => &[catalogue::NETWORK_IN],
        RuleId::SysCheck => &[catalogue::STATUS_CHECK_FAILED_SYSTEM],
        RuleId::InstCheck => &[
            catalogue::STATUS_CHECK_FAILED_INSTANCE,
            catalogue::STATUS_CHECK_FAILED,
        ],
        RuleId::EbsCheck => &[catalogue::STATUS_CHECK_FAILED_ATTACHED_EBS],
        RuleId::Gone
        | RuleId::Stopped
        | RuleId::Health
        | RuleId::AzEvent
        | RuleId::SecSuspect
        | RuleId::ChangeBefore
        | RuleId::LogErrors => &[],
    }
}

/// The finding on the alarm's own metric, if any: what the alarm is about, whatever else the window shows.
pub(super) fn own_finding<'a>(change: &AlarmChange, a: &'a Assessment) -> Option<&'a Finding> {
    let metric = change.primary_metric().map(|m| m.name.as_str())?;
    a.findings
        .iter()
        .find(|f| metrics_of(f.rule).contains(&metric))
}

/// The finding the summary and the headline lead with: the instance's own state and AWS-wide events first, then a
/// suspected compromise (SEC-SUSPECT: the sustained CPU it explains is its evidence), then a change just before the
/// transition (CHANGE-BEFORE, the likely trigger — unless the alarm's own finding is an
/// AWS-side check a change does not cause), then the finding on the alarm's metric, then the first finding.
/// The top finding when it is the most likely cause: in ALARM, or out of it when it is the instance's own state (only
/// that explains more than the alarm's reason does).
fn leading<'a>(cx: &Ctx<'a>) -> Option<&'a Finding> {
    top_finding(cx).filter(|f| {
        cx.change.state.value == AlarmState::Alarm
            || matches!(
                f.rule,
                RuleId::AzEvent | RuleId::Stopped | RuleId::Health | RuleId::Gone
            )
    })
}

/// The most likely cause when a finding gives it: one finding in its own words, or a sentence built from the evidence.
enum Lead<'a> {
    Finding(&'a Finding),
    Said(String),
}

fn lead<'a>(cx: &Ctx<'a>) -> Option<Lead<'a>> {
    let f = leading(cx)?;
    Some(evidence_cause(cx, f).unwrap_or(Lead::Finding(f)))
}

/// The finding the summary gives, in the finding's own words, as the most likely cause ([`cause`]): 📊 points to it
/// instead of saying it again. `None` when the cause is a sentence of its own (the evidence, the alarm, its reasons).
pub(super) fn cause_finding<'a>(cx: &Ctx<'a>) -> Option<&'a Finding> {
    match lead(cx)? {
        Lead::Finding(f) => Some(f),
        Lead::Said(_) => None,
    }
}

fn top_finding<'a>(cx: &Ctx<'a>) -> Option<&'a Finding> {
    let a = cx.a;
    let first = [
        RuleId::AzEvent,
        RuleId::Stopped,
        RuleId::Health,
        RuleId::Gone,
        RuleId::SecSuspect,
    ];
    let own = own_finding(cx.change, a);
    let aws_side = own.is_some_and(|f| matches!(f.rule, RuleId::SysCheck | RuleId::EbsCheck));
    first
        .iter()
        .find_map(|r| a.findings.iter().find(|f| f.rule == *r))
        .or_else(|| {
            a.findings
                .iter()
                .find(|f| f.rule == RuleId::ChangeBefore && !aws_side)
        })
        .or(own)
        .or_else(|| a.findings.first())
}

/// The most likely cause, as one sentence: the top finding without its advice (which 🔧 gives), else the first
/// reason of the urgency. The summary's first line, and the digest's entry (through [`super::Report::cause`]).
pub(super) fn cause(cx: &Ctx<'_>) -> String {
    match lead(cx) {
        Some(Lead::Finding(f)) => return finding_phrase(f, cx).without_advice().trim().to_string(),
        Some(Lead::Said(said)) => return said,
        None => {}
    }
    if cx.change.state.value == AlarmState::Alarm {
        if let Some(c) = composite_cause(cx).or_else(|| breach_cause(cx)) {
            return c;
        }
    }
    cx.a.reasons
        .first()
        .map(|r| reason_line(r, cx))
        .unwrap_or_else(|| {
            l!(
                cx.lang,
                "규칙에 맞는 원인 없음: 알람의 데이터를 직접 확인",
                "no rule names a cause: read the alarm's data"
            )
        })
}

/// A composite alarm's cause: the member alarm that went to ALARM first, and the ones that followed and completed
/// the rule, with their times — the order says which condition came first.
fn composite_cause(cx: &Ctx<'_>) -> Option<String> {
    let lang = cx.lang;
    let r = cx.change.state.reason_data.as_ref()?;
    let mut fired: Vec<(DateTime<Utc>, &str)> = r
        .triggering
        .iter()
        .filter(|t| t.state == Some(AlarmState::Alarm))
        .filter_map(|t| Some((t.at?, t.name.as_str())))
        .collect();
    fired.sort();
    let ((first_at, first), rest) = fired.split_first()?;
    let first = sanitize(first, 120);
    let Some((then_at, _)) = rest.last() else {
        return Some(l!(
            lang,
            "{} ALARM ({}) → composite 규칙 충족",
            "{} went to ALARM at {} and completed the composite's rule",
            first,
            when_hm(*first_at, cx.tz, lang)
        ));
    };
    let then: Vec<String> = rest.iter().map(|(_, n)| sanitize(n, 120)).collect();
    Some(l!(
        lang,
        "먼저 ALARM: {} ({}) → 이어서 {} ({})로 composite 규칙 충족",
        "{} went to ALARM first, at {}; {} followed at {} and completed the composite's rule",
        first,
        when_hm(*first_at, cx.tz, lang),
        then.join(", "),
        when_hm(*then_at, cx.tz, lang)
    ))
}

/// A breach no rule explains, by its size and duration: the last evaluated value against the threshold or the band,
/// and how many of the evaluated datapoints were past it, over how many minutes.
fn breach_cause(cx: &Ctx<'_>) -> Option<String> {
    let lang = cx.lang;
    let c = cx.change;
    let r = c.state.reason_data.as_ref()?;
    let values = c.evaluated_values();
    let (at, last) = *values.last()?;
    let metric = sanitize(c.metric_name().unwrap_or("metric"), 64);
    let unit = catalogue::unit_of(&metric);
    let (limit, past): (f64, Box<dyn Fn(f64) -> bool>) = match (r.upper.last(), r.lower.last()) {
        (Some(up), lo) if matches!(c.kind, crate::model::AlarmKind::AnomalyBand) => {
            let (up, lo) = (*up, lo.copied());
            let below = lo.filter(|lo| last < *lo);
            (
                below.unwrap_or(up),
                Box::new(move |v| v > up || lo.is_some_and(|lo| v < lo)),
            )
        }
        _ => {
            let t = c.threshold()?;
            let cmp = c.comparison?;
            (t, Box::new(move |v| cmp.breaches(v, t)))
        }
    };
    let n = values.iter().filter(|(_, v)| past(*v)).count();
    if n == 0 {
        return None;
    }
    let minutes = (n as u64 * r.period.unwrap_or(60)).div_ceil(60);
    let size = if limit.abs() > f64::EPSILON && last / limit >= 1.1 {
        l!(lang, " ({:.1}배)", " ({:.1}×)", last / limit)
    } else {
        String::new()
    };
    let band = matches!(c.kind, crate::model::AlarmKind::AnomalyBand);
    let edge = if band {
        l!(lang, "예상 범위 경계", "the band's edge")
    } else {
        l!(lang, "임계값", "the threshold")
    };
    Some(l!(
        lang,
        "{0} {1} ({2}), {3}({4}) 넘어섬{5}: 평가된 datapoint {6}개 중 {7}개, 약 {8}분",
        "{0} {1} at {2}, past {3} {4}{5}: {7} of its {6} evaluated datapoints, about {8} min",
        metric,
        value(last, unit),
        when_hm(at, cx.tz, lang),
        edge,
        value(limit, unit),
        size,
        values.len(),
        n,
        minutes
    ))
}

/// The strongest evidence behind the top finding, as the cause sentence: what the logs show around the transition
/// (LOG-ERRORS) and another alarm on the instance that went off first; for a CPU alarm, the inbound data that led
/// the rise (NET-LEADS-CPU). `None` when the top finding is already evidence (a change, the instance's own state)
/// or an AWS-side check the instance's own logs do not explain.
fn evidence_cause<'a>(cx: &Ctx<'a>, top: &Finding) -> Option<Lead<'a>> {
    let lang = cx.lang;
    if cx.change.state.value != AlarmState::Alarm
        || matches!(
            top.rule,
            RuleId::AzEvent
                | RuleId::Stopped
                | RuleId::Health
                | RuleId::Gone
                | RuleId::ChangeBefore
                | RuleId::SysCheck
                | RuleId::EbsCheck
        )
    {
        return None;
    }
    let logs = cx.a.findings.iter().find_map(|f| match &f.detail {
        Detail::Evidence(EvidenceDetail::LogErrors { signal, group, .. }) => {
            let at = f.evidence.iter().find_map(|o| match o {
                Observation::LogLine(l) if l.signal == Some(*signal) => Some(l.at),
                _ => None,
            });
            Some((*signal, group.as_str(), at))
        }
        _ => None,
    });
    let at = cx.change.state.at;
    let earlier = cx
        .other_alarms()
        .iter()
        .filter_map(|a| Some((a, a.since?)))
        .find(|(_, since)| *since < at)
        .map(|(a, since)| {
            let name = sanitize(&a.name, 120);
            let metric = a
                .watched()
                .map(|m| format!(" ({})", sanitize(&m, 80)))
                .unwrap_or_default();
            let when = when_hm(since, cx.tz, lang);
            let minutes = (at - since).num_minutes();
            (name, metric, when, minutes)
        });
    if let Some((signal, group, seen)) = logs {
        let lead = match signal {
            Signal::Oom => l!(
                lang,
                "알람 전에 메모리 고갈",
                "memory ran out before the alarm"
            ),
            Signal::DiskFull => l!(
                lang,
                "알람 전에 디스크가 가득 참",
                "the disk filled up before the alarm"
            ),
            Signal::Kernel => l!(
                lang,
                "알람 전에 커널 오류",
                "the kernel reported errors before the alarm"
            ),
            Signal::Exception => l!(
                lang,
                "알람 전에 애플리케이션 예외",
                "the application threw exceptions before the alarm"
            ),
            Signal::Error => l!(
                lang,
                "알람 전후 오류 로그",
                "errors were logged around the alarm"
            ),
        };
        let what = log_signal(signal, lang);
        let group = sanitize(group, 120);
        let mut out = match seen {
            Some(t) => l!(
                lang,
                "{}: {} {}에 {}",
                "{}: {3} in {2} at {1}",
                lead,
                when_hm(t, cx.tz, lang),
                group,
                what
            ),
            None => l!(lang, "{}: {}에 {}", "{}: {2} in {1}", lead, group, what),
        };
        if let Some((name, metric, when, _)) = earlier {
            out.push_str(&l!(
                lang,
                "; {}{} {}부터 ALARM",
                "; {}{} in ALARM since {}",
                name,
                metric,
                when
            ));
        }
        return Some(Lead::Said(out));
    }
    if let Some((name, metric, when, minutes)) = earlier {
        return Some(Lead::Said(l!(
            lang,
            "{}{}가 {}부터 ALARM (이 알람보다 {}분 먼저): 먼저 시작된 원인일 가능성 — {}",
            "{}{} in ALARM since {} ({} min before this alarm): likely where it started — {}",
            name,
            metric,
            when,
            minutes,
            finding_phrase(top, cx).without_advice().trim()
        )));
    }
    if matches!(top.rule, RuleId::CpuSpike | RuleId::CpuSustained) {
        if let Some(net) = cx.a.findings.iter().find(|f| f.rule == RuleId::NetLeadsCpu) {
            return Some(Lead::Finding(net));
        }
    }
    None
}

/// Who is acting on the incident now: ec2ops, AWS, the Auto Scaling group — or nobody, and the operator must.
fn who(cx: &Ctx<'_>) -> String {
    let lang = cx.lang;
    if cx.change.is_series_summary() && cx.change.state.value == AlarmState::Alarm {
        return l!(
            lang,
            "이 요약에서는 아무도 조치하지 않음: 기여자별 보고서가 각 인스턴스의 조치 주체를 알려줌",
            "nobody from this summary: each contributor's report says who acts on its instance"
        );
    }
    match cx.change.state.value {
        AlarmState::Ok => {
            return l!(
                lang,
                "조치 필요 없음: 정보성 알림",
                "nobody needs to: informational"
            )
        }
        AlarmState::InsufficientData
            if cx.a.findings.iter().any(|f| f.detail.unexplained_stop()) =>
        {
            return l!(
                lang,
                "아무도 조치하지 않음: 누가 왜 인스턴스를 중지했는지 직접 확인 — 아래 🔧",
                "nobody: you must find who stopped the instance and why — steps in 🔧 below"
            )
        }
        AlarmState::InsufficientData => {
            return l!(
                lang,
                "아무도 조치하지 않음: 데이터가 끊긴 이유를 직접 확인 — 아래 🔧",
                "nobody: you must check why the data stopped — steps in 🔧 below"
            )
        }
        AlarmState::Alarm => {}
    }
    if let Some(acting) = acted(cx) {
        return acting;
    }
    match cx.recommended {
        Remedy::AwsRecovers => l!(
            lang,
            "AWS가 복구 중 (simplified automatic recovery) — {}분 안에 복구되지 않으면 직접 조치",
            "AWS is recovering it (simplified automatic recovery) — act yourself if it has not recovered within {} minutes",
            steps::AWS_RECOVERY_GRACE_MINUTES
        ),
        Remedy::Replace => l!(
            lang,
            "Auto Scaling group({})이 EC2 health check로 스스로 교체함 — 인스턴스가 Standby이거나 그룹의 HealthCheck·ReplaceUnhealthy 프로세스가 일시 중지된 경우만 예외 (확인은 🔧)",
            "its Auto Scaling group {} replaces it on its own (EC2 health check) — unless the instance is in Standby or the group's HealthCheck or ReplaceUnhealthy process is suspended (check in 🔧)",
            sanitize(cx.instance.and_then(InstanceFacts::asg).unwrap_or(""), 64)
        ),
        Remedy::Wait => l!(
            lang,
            "아무도 조치하지 않음: EBS 경로 복구를 지켜보고 필요하면 직접 조치",
            "nobody: watch the EBS path recover and act yourself if it does not"
        ),
        Remedy::Nothing if cx.a.findings.is_empty() => l!(
            lang,
            "아무도 조치하지 않음: 직접 확인 필요",
            "nobody: you must look into it"
        ),
        _ if matches!(cx.action, ActionOutcome::ReportOnly) => l!(
            lang,
            "아무도 조치하지 않음 (remediation mode off: ec2ops는 보고만 함): 직접 조치 필요 — 아래 🔧",
            "nobody: remediation is off, ec2ops only reports — you must (🔧)"
        ),
        _ => l!(
            lang,
            "아무도 조치하지 않음 (ec2ops는 이 incident에 자동 조치하지 않음): 직접 조치 필요 — 아래 🔧",
            "nobody: ec2ops does not act on this kind of incident — you must (🔧)"
        ),
    }
}

/// What ec2ops did, started or was held from, when that is the answer to who is acting.
fn acted(cx: &Ctx<'_>) -> Option<String> {
    let lang = cx.lang;
    match cx.action {
        ActionOutcome::Done { action, at, .. } | ActionOutcome::AlreadyDone { action, at } => {
            Some(l!(
                lang,
                "ec2ops가 {}에 {} 실행함 — 결과 확인은 아래 🔧",
                "ec2ops ran {1} at {0} — check the result below (🔧)",
                when(*at, cx.tz, lang),
                action_name(*action, lang)
            ))
        }
        ActionOutcome::Recovering { at, .. } => Some(l!(
            lang,
            "ec2ops가 {}에 recover(stop → start) 시작함 — 진행 상황은 같은 thread에 게시",
            "ec2ops started a recover (stop → start) at {} — progress follows in this thread",
            when(*at, cx.tz, lang)
        )),
        // A hold that waits for AWS or for the group: they are the ones acting (below).
        ActionOutcome::Held { action, .. }
            if !matches!(
                cx.recommended,
                Remedy::AwsRecovers | Remedy::Replace | Remedy::Wait
            ) =>
        {
            Some(l!(
                lang,
                "아무도 조치하지 않음: ec2ops가 {}를 보류함 (사유는 🔧) — 직접 조치 필요",
                "nobody: ec2ops held its {} (reasons in 🔧) — you must act",
                action_name(*action, lang)
            ))
        }
        ActionOutcome::DryRun { action, .. } => Some(l!(
            lang,
            "아무도 조치하지 않음: ec2ops는 {}를 dry run으로만 점검함 — 직접 조치 필요",
            "nobody: ec2ops only rehearsed {} as a dry run — you must act",
            action_name(*action, lang)
        )),
        ActionOutcome::Failed { action, .. } => Some(l!(
            lang,
            "ec2ops의 {} 호출이 실패함 (오류는 🔧) — 직접 조치 필요",
            "ec2ops's {} call failed (the error is in 🔧) — you must act",
            action_name(*action, lang)
        )),
        ActionOutcome::Interrupted { action, .. } => Some(l!(
            lang,
            "ec2ops의 {} 실행이 중단됨: 인스턴스 상태 확인 필요 (재시도하지 않음)",
            "ec2ops's {} was interrupted: check the instance's state (it is not retried)",
            action_name(*action, lang)
        )),
        _ => None,
    }
}

/// The summary lines: cause, who is acting, and the first safe command of 🔧 (never one that stops the instance),
/// itself — the first screen lets the reader act. A Run Command is three commands that only work together: the
/// summary carries all three (send, wait, read the output).
pub(super) fn lines(cx: &Ctx<'_>, cause: &str, next_steps: &[Command]) -> Vec<Line> {
    let lang = cx.lang;
    let mut out = vec![
        Line::from(l!(
            lang,
            "▶ 추정 원인: {}",
            "▶ Most likely cause: {}",
            cause
        )),
        Line::from(l!(lang, "▶ 조치 주체: {}", "▶ Who is acting: {}", who(cx))),
    ];
    // Customers affected: said on the first screen, before the next step.
    out.extend(super::impact::summary(&cx.facts.evidence.impact, lang));
    let run_command = |c: &Command| c.runs("aws ssm send-command");
    // The Run Command's three commands: the send, then up to and with the reading of its output.
    let run_group = |from: usize| -> Vec<Line> {
        let rest = &next_steps[from..];
        let end = rest
            .iter()
            .position(|c| c.runs("aws ssm get-command-invocation"))
            .map_or(rest.len(), |i| i + 1);
        rest[..end].iter().map(command_line).collect()
    };
    let step = Line::from(l!(
        lang,
        "▶ 다음 조치 (안전, SSM Run Command로 읽기만 함 — 세 명령을 차례로):",
        "▶ Safe next step (read-only SSM Run Command, the three lines in order):"
    ));
    // Safe means it changes nothing: a read, or a Run Command step that reads. A command that changes something
    // (a credit mode that bills, a health mark) is named as the next command, not as a safe one.
    if next_steps.first().is_some_and(run_command) {
        out.push(step);
        out.extend(run_group(0));
    } else if let Some(read) = next_steps.iter().find(|c| reads_only(c)) {
        // On a line of its own, as 🔧's commands are: the step of 🔧 that gives it points here instead.
        out.push(Line::from(l!(
            lang,
            "▶ 다음 명령 (안전, 읽기 전용):",
            "▶ Safe next command (read-only):"
        )));
        out.push(command_line(read));
    } else if let Some(at) = next_steps.iter().position(run_command) {
        out.push(step);
        out.extend(run_group(at));
    } else if let Some(cmd) = next_steps.first() {
        out.push(Line::from(l!(
            lang,
            "▶ 다음 명령 (변경을 일으킴, 🔧의 설명 확인):",
            "▶ Next command (it changes something: read its step in 🔧):"
        )));
        out.push(command_line(cmd));
    }
    out
}

/// Whether a CLI command only reads, alone: describe, get, list, lookup, or a wait — not a Run Command's wait or
/// read, which mean nothing without the command they follow.
fn reads_only(cmd: &Command) -> bool {
    // A captured read (`desired=$(aws …)`) only prepares the command after it.
    if cmd.captures() || cmd.runs("aws ssm") || !cmd.runs("aws") {
        return false;
    }
    let verb = cmd.word(2).unwrap_or_default();
    ["describe-", "get-", "list-", "lookup-"]
        .iter()
        .any(|p| verb.starts_with(p))
        || verb == "wait"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_safe_command_only_reads_and_stands_alone() {
        assert!(reads_only(
            &Command::new("aws ec2 describe-instance-status").arg("--instance-ids", "ID", "i-1")
        ));
        assert!(reads_only(
            &Command::new("aws ec2 get-console-output").lit("--latest")
        ));
        assert!(reads_only(&Command::new(
            "aws cloudtrail lookup-events --max-results 10"
        )));
        assert!(!reads_only(
            &Command::new("aws autoscaling describe-auto-scaling-groups").into_var("desired")
        ));
        assert!(!reads_only(
            &Command::new("aws ssm wait command-executed").var("--command-id", "command_id")
        ));
        assert!(!reads_only(
            &Command::new("aws ssm get-command-invocation").var("--command-id", "command_id")
        ));
        assert!(!reads_only(&Command::new(
            "aws ec2 modify-instance-credit-specification"
        )));
        assert!(!reads_only(&Command::new(
            "aws autoscaling set-instance-health --health-status Unhealthy"
        )));
    }
}
