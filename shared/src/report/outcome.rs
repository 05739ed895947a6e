//! The opening lines of 🔧: what ec2ops did, held back or left to the operator, from the remediation outcome.

use crate::config::Language;
use crate::model::Comparison;
use crate::remediation::{ActionKind, ActionOutcome, Fact, Hold, Uncorroborated};

use super::phrasebook;
use super::shell::Command;
use super::text::{self, hm, when_in, Line};
use super::Ctx;

pub(super) fn action_name(a: ActionKind, lang: Language) -> String {
    match a {
        ActionKind::Reboot => l!(lang, "reboot (RebootInstances)", "reboot (RebootInstances)"),
        ActionKind::StopStart => l!(
            lang,
            "recover (StopInstances → StartInstances)",
            "recover (StopInstances → StartInstances)"
        ),
    }
}

// Stays long: one arm per reason to hold, each a Korean/English phrase pair: split, the phrasebook would scatter.
pub(super) fn hold_line(h: &Hold, cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    let text = match h {
        Hold::NotOptedIn { tag } => {
            return Line::sub()
                .t(l!(
                    lang,
                    "보류: opt-in 태그 없음 (",
                    "held: the instance has not opted in ("
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
            return Line::sub()
                .t(l!(
                    lang,
                    "보류: Auto Scaling group ",
                    "held: member of Auto Scaling group "
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
        Hold::ProposalChanged { now } => l!(
            lang,
            "제안 이후 incident가 바뀌어 이제 {}이(가) 필요: 승인된 조치와 달라 실행하지 않음",
            "the incident changed since the proposal and now calls for {}: not what was approved, so nothing is done",
            action_name(*now, lang)
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
            phrasebook::reason(why, lang)
        ),
        Hold::InstanceUnknown { why } => l!(
            lang,
            "인스턴스 정보 없음: {}",
            "instance facts unavailable: {}",
            phrasebook::reason(why, lang)
        ),
        Hold::DeferredTo { action, incident } => {
            return Line::sub()
                .t(l!(
                    lang,
                    "보류: 같은 인스턴스의 더 강한 조치 {}가 처리 (incident ",
                    "held: the stronger {} of the same instance covers it (incident ",
                    action_name(*action, lang)
                ))
                .u(incident)
                .t(")")
        }
        Hold::InstanceBusy { incident, until } => {
            return Line::sub()
                .t(l!(
                    lang,
                    "보류: 다른 incident가 이 인스턴스에 조치 중 ({}까지 잠금): ",
                    "held: another incident is acting on this instance (locked until {}): ",
                    hm(*until, cx.tz, cx.lang)
                ))
                .u(incident)
        }
        Hold::OptInNotExact { tag, value } => {
            return Line::sub()
                .t(l!(lang, "보류: opt-in 태그 ", "held: the opt-in tag "))
                .u(format!("{tag}={value:?}"))
                .t(l!(
                    lang,
                    "의 값이 정확히 true가 아님 (IAM StringEquals는 대소문자·공백까지 비교해 거부함)",
                    " is not exactly true (IAM's StringEquals compares case and spaces too, and would refuse)"
                ))
        }
        Hold::NotCorroborated { why } => return not_corroborated_line(why, lang),
        Hold::Silenced(s) => {
            return super::silenced::said(s, cx, Line::sub().t(l!(lang, "보류: ", "held: ")))
        }
        Hold::SilenceUnread { what, why } => {
            return super::silenced::unread(what, why, lang, Line::sub().t(l!(lang, "보류: ", "held: ")))
        }
        Hold::CannotVerify { fact, why } => l!(
            lang,
            "{} 확인 불가 — 모르면 조치 안 함: {}",
            "cannot verify {} — unknown means no action: {}",
            fact_name(*fact, lang),
            phrasebook::reason(why, lang)
        ),
        Hold::Maintenance { until } => l!(
            lang,
            "인스턴스에 유지보수 기간이 선언됨 ({} 태그): {}까지 조치하지 않음",
            "a maintenance window is declared on the instance ({} tag): nothing is done until {}",
            crate::remediation::maintenance::TAG,
            when_in(*until, cx.tz, lang)
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
    Line::sub().t(l!(lang, "보류: {}", "held: {}", text))
}

/// A maintenance tag ec2ops does not follow, named under the action it would have held: its owner thinks the
/// instance is protected and it is not.
fn ignored_maintenance(cx: &Ctx<'_>) -> Option<Line> {
    let lang = cx.lang;
    use crate::remediation::maintenance::{
        maintenance, Ignored, Maintenance, MAX_AHEAD_HOURS, TAG,
    };
    let i = cx.instance?;
    // Judged when the silences were read, as the hold was (the decision's time).
    let at = cx.facts.silencers.read_at.unwrap_or(cx.change.state.at);
    let Maintenance::Ignored { value, why } = maintenance(&i.tags, at) else {
        return None;
    };
    let why = match why {
        Ignored::NotATime => l!(lang, "RFC 3339 시각이 아님", "not an RFC 3339 time"),
        Ignored::TooFarAhead => l!(
            lang,
            "{}시간보다 먼 미래",
            "more than {} hours ahead",
            MAX_AHEAD_HOURS
        ),
    };
    Some(
        Line::sub()
            .t(l!(lang, "무시한 태그 {}=", "ignored tag {}=", TAG))
            .u(value)
            .t(format!(": {why}")),
    )
}

/// The fact a "cannot verify" hold names, with the call that tells it.
pub(super) fn fact_name(fact: Fact, lang: Language) -> String {
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
pub(super) fn not_corroborated_line(why: &Uncorroborated, lang: Language) -> Line {
    let head = Line::sub().t(l!(lang, "보류: 확증 없음 — ", "held: not corroborated — "));
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

/// What ec2ops did, held or proposes, and — under it — a maintenance tag it does not follow.
pub(super) fn action_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let mut v = outcome_lines(cx);
    if !v.is_empty() {
        v.extend(ignored_maintenance(cx));
    }
    v
}

// Stays long: one arm per remediation outcome, each a Korean/English phrase pair: split, the phrasebook would scatter.
fn outcome_lines(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    match cx.action {
        // Who acts (nobody, and why) is the summary's line: 🔧 goes straight to the steps.
        ActionOutcome::ReportOnly | ActionOutcome::AdviceOnly => Vec::new(),
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
        // EC2's answer to an accepted dry run is always the same sentence: its meaning is enough.
        ActionOutcome::DryRun {
            action,
            allowed: true,
            ..
        } => vec![Line::from(l!(
            lang,
            "Dry-run: EC2가 {}을(를) 허용함 (DryRun 성공) — auto 모드라면 실행됨",
            "Dry-run: EC2 accepted {} (DryRun succeeded) — in auto mode it would run",
            action_name(*action, lang)
        ))],
        // A refusal is EC2's own English text: said in the report's language, then quoted once at the end.
        ActionOutcome::DryRun { action, detail, .. } => vec![super::quoted::quote(
            Line::from(l!(
                lang,
                "Dry-run: {}은(는) 거부되었을 것 (EC2 DryRun 거부) — IAM 태그 조건 확인",
                "Dry-run: {} would have been refused (EC2 DryRun refused) — check the IAM tag condition",
                action_name(*action, lang)
            )),
            true,
            detail,
            super::quoted::QUOTED_CHARS,
            lang,
        )],
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
                (Some(t), _) => v.push(Line::sub().t(l!(
                    lang,
                    "검증 예약: {}에 status check 확인 후 같은 thread에 결과 보고",
                    "verification scheduled for {}: status checks are re-read and the result posted in this thread",
                    when_in(*t, cx.tz, cx.lang)
                ))),
                (None, Some(note)) => v.push(Line::sub().t(l!(
                    lang,
                    "검증 예약 실패: {} — 직접 확인하세요",
                    "verification could not be scheduled: {} — check by hand",
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
                (Some(t), _) => v.push(Line::sub().t(l!(
                    lang,
                    "중지 완료 후 StartInstances는 예약된 후속 실행이 수행 (첫 확인 {}); 결과는 이 thread에 보고",
                    "once the instance is stopped a scheduled continuation starts it (first check {}); the result is posted in this thread",
                    when_in(*t, cx.tz, cx.lang)
                ))),
                (None, Some(n)) => v.push(Line::sub().t(l!(
                    lang,
                    "후속 실행 예약 실패: {}",
                    "the continuation could not be scheduled: {}",
                    n
                ))),
                (None, None) => {}
            }
            v
        }
        ActionOutcome::Proposed { action, nonce, expires_at, note } => {
            proposed_lines(cx, *action, nonce, *expires_at, note.as_deref())
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

/// `approve` mode: what would be done and why, until when it can be approved, the nonce, and the command that
/// approves it (the same path as the chat's buttons).
fn proposed_lines(
    cx: &Ctx<'_>,
    action: ActionKind,
    nonce: &str,
    expires_at: chrono::DateTime<chrono::Utc>,
    note: Option<&str>,
) -> Vec<Line> {
    let lang = cx.lang;
    let why = match action {
        ActionKind::Reboot => l!(
            lang,
            "instance status check 실패, 안전 조건 충족",
            "the instance status check failed and the safety envelope allows it"
        ),
        ActionKind::StopStart => l!(
            lang,
            "system status check 실패, 안전 조건 충족",
            "the system status check failed and the safety envelope allows it"
        ),
    };
    let mut v = vec![
        Line::from(l!(
            lang,
            "승인 대기: {} — {}. {}까지 승인이 없으면 아무것도 하지 않습니다.",
            "Approval requested: {} — {}. Unless someone approves it by {}, nothing is done.",
            action_name(action, lang),
            why,
            when_in(expires_at, cx.tz, cx.lang)
        )),
        Line::sub()
            .t(l!(lang, "nonce ", "nonce "))
            .c(nonce.to_string()),
        Line::sub().t(l!(
            lang,
            "승인 시 안전 조건을 최신 정보로 다시 확인한 뒤 실행합니다. 승인 명령:",
            "on approval the safety envelope is checked again on fresh facts before acting. To approve:"
        )),
        super::cli::command_line(&Command::new("ec2ops approve").operand("NONCE", nonce)),
    ];
    if let Some(n) = note {
        v.push(Line::sub().t(l!(lang, "참고: {}", "note: {}", n)));
    }
    v
}
