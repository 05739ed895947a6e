//! Section 🤖 Automation: how often this alarm fires and what could handle it unattended, from the alarm history and
//! the instance facts.

use crate::config::Language;
use crate::facts::{InstanceFacts, Role, Source};

use super::advice::Advice;
use super::cli::{cli, clis};
use super::shell::Command;
use super::text::{topic, Line};
use super::{phrasebook, section, steps, Ctx, Part, Section};
use crate::analyze::{AutoRecovery, NotAvailable, RuleId};

/// A time of day (minutes after midnight UTC) in the report's zone, and in English in UTC with the zone beside it.
fn daily_time(cx: &Ctx<'_>, minute_utc: u32) -> String {
    super::text::daily_clock(cx.change.state.at, minute_utc, cx.lang, cx.tz)
}

pub(super) fn automation(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut advice = Advice::default();
    // A pattern is worth automating; the absence of one is not news.
    if let Some(n) = cx.a.recommendation.recurring {
        advice.bears(Line::from(match cx.a.recommendation.daily {
            Some(d) => l!(
                lang,
                "반복 발생: 최근 7일간 ALARM {0}회, {1}일 동안 매일 {3} 전후 {2}분 이내 → 그 시각의 예약 작업(cron, systemd timer, 백업, 배치)이 유력: 찾아서 시각을 옮기거나 분산하거나 그 부하에 맞게 크기 조정",
                "Recurring: {0} ALARM transitions in the last 7 days, on {1} days, each within {2} minutes of {3} → likely a scheduled job at that time (cron, systemd timer, backup, batch): find it, then move it, spread it or size for it",
                n,
                d.days,
                d.within_minutes,
                daily_time(cx, d.center_minute)
            ),
            None => l!(
                lang,
                "반복 발생: 최근 7일간 ALARM {}회 → 원인 자동 조치(runbook/SSM Automation) 또는 임계값 조정",
                "Recurring: {} ALARM transitions in the last 7 days → automate the fix (runbook / SSM Automation) or tune the threshold",
                n
            ),
        }));
    }
    match &cx.facts.history {
        Source::Available(_) => {}
        Source::Unavailable(r) => advice.bears(Line::from(l!(
            lang,
            "알람 이력 (DescribeAlarmHistory): 조회 불가 ({})",
            "Alarm history (DescribeAlarmHistory): unavailable: {}",
            phrasebook::reason(r, lang)
        ))),
    }
    instance_lines(cx, &mut advice);
    let opted_in = cx.instance.is_some_and(|i| i.opted_in(cx.opt_in_tag));
    if cx.a.recommendation.opt_in_would_act && !opted_in {
        if let Some(id) = cx.instance_id {
            advice.bears(
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
            advice.bears(cli(
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
    section(Part::Automation, lang, advice.finish(lang))
}

/// What the instance's own settings offer: automatic recovery, Auto Scaling, the agent, opting in — in full where
/// they bear on the incident, else in the hygiene line.
fn instance_lines(cx: &Ctx<'_>, advice: &mut Advice) {
    let lang = cx.lang;
    let Some(i) = cx.instance else {
        if cx.instance_id.is_some() {
            advice.bears(Line::from(l!(
                lang,
                "인스턴스 정보 없음: ASG/자동 복구 점검 불가",
                "No instance facts: ASG and auto-recovery checks skipped"
            )));
        }
        return;
    };
    let availability = cx.a.recommendation.availability_matters;
    if cx
        .facts
        .metrics
        .get()
        .is_some_and(|w| w.get(Role::Memory).is_none())
    {
        // Another alarm on the instance watching an agent metric: the agent is installed and publishing.
        let agent_alarm = cx
            .other_alarms()
            .iter()
            .find(|a| a.namespace.as_deref() == Some(crate::catalogue::AGENT));
        if let Some(a) = agent_alarm.filter(|_| cx.a.recommendation.guest_metrics_matter) {
            advice.bears(
                Line::new()
                    .t(l!(
                        lang,
                        "CloudWatch agent는 설치되어 메트릭을 보냄 (알람 ",
                        "The CloudWatch agent is installed and publishing (alarm "
                    ))
                    .u(&a.name)
                    .t(l!(
                        lang,
                        "이 감시 중) — 그 알람의 최근 datapoint와 사유:",
                        " watches it) — that alarm's latest datapoints and reason:"
                    )),
            );
            advice.bear(vec![cli(
                cx,
                Command::new("aws cloudwatch describe-alarms")
                    .name("--alarm-names", "ALARM_NAME", &a.name)
                    .arg("--query", "QUERY", "MetricAlarms[0].StateReason")
                    .lit("--output text"),
            )]);
        } else if cx.a.recommendation.guest_metrics_matter {
            advice.bears(Line::from(l!(
                lang,
                "CloudWatch agent 메모리 메트릭({} {}) 없음: agent를 설치하고 설정해야 메트릭이 나옴 (설정은 Parameter Store {}, 인스턴스 role에 CloudWatchAgentServerPolicy 필요) — 설치 완료 후 설정:",
                "No CloudWatch agent memory metric ({} {}): install the agent and configure it, or it publishes nothing (configuration in Parameter Store {}; the instance role needs CloudWatchAgentServerPolicy) — configure once the install has run:",
                crate::catalogue::AGENT,
                crate::catalogue::MEM_USED_PERCENT,
                steps::AGENT_CONFIG_PARAMETER
            )));
            advice.bear(clis(cx, steps::agent_install_and_configure(&i.id)));
        } else {
            advice.hygiene(l!(
                lang,
                "CloudWatch agent 메모리/디스크 메트릭 없음",
                "no CloudWatch agent memory/disk metrics"
            ));
        }
    }
    match i.asg() {
        Some(g) if availability => advice.bears(
            Line::new()
                .t(l!(lang, "Auto Scaling group ", "Auto Scaling group "))
                .u(g)
                .t(l!(lang, " 소속: 장애 인스턴스는 그룹이 교체", " member: the group replaces a failed instance")),
        ),
        Some(_) => {}
        None if availability => advice.bears(Line::from(l!(
            lang,
            "Auto Scaling group 없음: 단일 장애점(SPOF) → 최소 1대 ASG 또는 다중 AZ 구성으로 자동 교체",
            "No Auto Scaling group: a single point of failure → an ASG (even min 1) or multi-AZ replaces it automatically"
        ))),
        None => advice.hygiene(l!(
            lang,
            "Auto Scaling group 없음 (단일 장애점)",
            "no Auto Scaling group (a single point of failure)"
        )),
    }
    recovery_lines(cx, i, availability, advice);
}

/// Simplified automatic recovery: in full where availability bears on the incident; disabled or unsupported is
/// hygiene otherwise; on (the default) is not news.
fn recovery_lines(cx: &Ctx<'_>, i: &InstanceFacts, availability: bool, advice: &mut Advice) {
    let Some(status) = &cx.a.recommendation.auto_recovery else {
        return;
    };
    let lang = cx.lang;
    // Automatic recovery acts on a failed system status check only: on an attached-EBS check it is no help, and
    // turning it on would change nothing for this incident.
    let ebs_only = cx.a.has(RuleId::EbsCheck) && !cx.a.has(RuleId::SysCheck);
    if ebs_only {
        if *status == AutoRecovery::On {
            advice.bears(Line::from(l!(
                lang,
                "Simplified automatic recovery는 켜져 있지만 연결된 EBS 상태 확인 실패에는 동작하지 않음: 위 조치 외에 이 인스턴스를 되살리는 것은 없음",
                "Simplified automatic recovery is on but does not act on attached-EBS check failures: nothing but the steps above brings this instance back"
            )));
        }
        return;
    }
    match status {
        AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember) => {}
        AutoRecovery::NotAvailable(NotAvailable::Unsupported) if availability => advice.bears(Line::from(l!(
            lang,
            "{} 자동 복구(auto recovery) 미지원 (instance store, Dedicated Host, EFA 등): ASG로 교체 자동화",
            "{} is not covered by auto recovery (instance store, Dedicated Host, EFA and the like): automate replacement with an ASG",
            match lang {
                Language::Ko => topic(&i.instance_type),
                Language::En => i.instance_type.clone(),
            }
        ))),
        AutoRecovery::NotAvailable(NotAvailable::Unsupported) => advice.hygiene(l!(
            lang,
            "자동 복구 미지원 타입",
            "a type auto recovery does not cover"
        )),
        AutoRecovery::Off if availability => {
            advice.bears(Line::from(l!(
                lang,
                "Simplified automatic recovery가 꺼져 있음 → 켜서 호스트 장애 시 자동 복구",
                "Simplified automatic recovery is disabled → enable it so host failures recover automatically"
            )));
            advice.bears(cli(cx, Command::new("aws ec2 modify-instance-maintenance-options").arg("--instance-id", "INSTANCE_ID", &i.id).lit("--auto-recovery default")));
        }
        AutoRecovery::Off => advice.hygiene(l!(
            lang,
            "simplified automatic recovery 꺼짐",
            "simplified automatic recovery disabled"
        )),
        // A failed system check's 🔧 says it already (the recovery is the answer there).
        AutoRecovery::On if availability && !cx.a.has(RuleId::SysCheck) => advice.bears(Line::from(l!(
            lang,
            "Simplified automatic recovery 켜짐 (기본값): 시스템 장애 시 AWS가 자동 복구",
            "Simplified automatic recovery is on (default): AWS recovers the instance on a system failure"
        ))),
        AutoRecovery::On | AutoRecovery::Unknown => {}
    }
}
