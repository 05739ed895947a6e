//! One line per finding of the assessment (the root-cause rules that matched), worded from its detail and the
//! instance facts; shared by 📊 and the summary under the header.

use crate::analyze::{
    CheckNow, Detail, Finding, HealthKind, Observation, Pressure, RuleId, StopCause,
};
use crate::catalogue;
use crate::config::Language;
use crate::model::aws_text::{StateCode, TransitionReason};

use super::text::{self, bit_rate, hm, value, when_in, Line, Phrase};
use super::Ctx;
use crate::analyze::Remedy;
use crate::catalogue::Unit;

/// The finding's line: its rule code and what it says.
pub(super) fn finding_line(f: &Finding, cx: &Ctx<'_>) -> Line {
    Line::new()
        .t(format!("[{}] ", f.rule.code()))
        .t(finding_phrase(f, cx).text())
}

// Stays long: one arm per kind of finding, each a Korean/English phrase pair: split, the phrasebook would scatter.
pub(super) fn finding_phrase(f: &Finding, cx: &Ctx<'_>) -> Phrase {
    let lang = cx.lang;
    let ty = cx
        .instance
        .map(|i| i.instance_type.clone())
        .unwrap_or_else(|| l!(lang, "인스턴스", "the instance"));
    match &f.detail {
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
            Phrase::cause(match kind {
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
            })
        }
        Detail::Stopped { state, cause, code, message } => {
            // What EC2's code means and the code; its message is quoted once, in the evidence line below.
            let why = match (code, message) {
                (Some(c), _) => match StateCode::parse(c) {
                    Some(k) => format!("{}, {}", super::quoted::state_code(k, lang), text::sanitize(c, 64)),
                    None => text::sanitize(c, 64),
                },
                (None, Some(m)) => match TransitionReason::parse(m) {
                    Some(TransitionReason::Code(k)) => super::quoted::state_code(k, lang),
                    Some(TransitionReason::UserInitiated { .. }) => {
                        l!(lang, "사용자 요청", "user initiated")
                    }
                    None => l!(lang, "EC2 사유는 아래 근거에", "EC2's reason quoted below"),
                },
                (None, None) => l!(lang, "사유 정보 없음", "no reason given"),
            };
            Phrase::cause(match cause {
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
            })
        }
        Detail::Pressure(Pressure::Memory { percent }) => Phrase::advised(
            l!(
                lang,
                "메모리 사용률 {}: 메모리 압박 (OOM 위험)",
                "memory {} used: memory pressure (OOM risk)",
                value(*percent, Unit::Percent)
            ),
            l!(lang, "메모리 사용 프로세스 확인, 메모리 큰 타입 고려", "find the process, consider a larger-memory type"),
        ),
        Detail::Pressure(Pressure::Disk { path, percent }) => Phrase::advised(
            match path {
                Some(path) => l!(
                    lang,
                    "{} 디스크 사용률 {}: 디스크 가득 참",
                    "disk {} is {} full",
                    text::sanitize(path, 64),
                    value(*percent, Unit::Percent)
                ),
                None => l!(
                    lang,
                    "디스크 사용률 {} (경로는 메트릭에 없음): 디스크 가득 참",
                    "a disk is {} full (the metric names no path)",
                    value(*percent, Unit::Percent)
                ),
            },
            l!(lang, "로그/임시 파일 정리, 볼륨 확장", "clear logs and temporary files, grow the volume"),
        ),
        Detail::Pressure(Pressure::Burst { volume, percent }) => Phrase::advised(
            match volume {
                Some(volume) => l!(
                    lang,
                    "gp2 볼륨 {} {} {}: I/O throttling",
                    "gp2 volume {} {} {}: I/O throttled",
                    text::sanitize(volume, 64),
                    catalogue::BURST_BALANCE,
                    value(*percent, Unit::Percent)
                ),
                None => l!(
                    lang,
                    "gp2 볼륨 {} {} (볼륨 ID는 메트릭에 없음): I/O throttling",
                    "a gp2 volume's {} is {} (the metric names no volume): I/O throttled",
                    catalogue::BURST_BALANCE,
                    value(*percent, Unit::Percent)
                ),
            },
            l!(lang, "gp3(기준 3,000 IOPS) 또는 io2로 변경", "move to gp3 (3,000 IOPS baseline) or io2"),
        ),
        Detail::Pressure(Pressure::Suspect { net_out, factor, ports }) => Phrase::cause(l!(
            lang,
            "침해 의심: 지속 CPU + {} {} (평소의 {:.0}배) + 관리 포트 {:?} 전체 공개 (예: 채굴, 데이터 유출)",
            "possible compromise: sustained CPU + {} {} ({:.0}x usual) + admin port {:?} open to the world (e.g. mining, exfiltration)",
            catalogue::NETWORK_OUT,
            bit_rate(*net_out, cx.period_secs()),
            factor,
            ports
        )),
        Detail::AzEvent { az, impaired } => Phrase::advised(
            l!(
                lang,
                "{}에서 10분 내 {}대 인스턴스 상태 확인 실패: AWS 측 AZ 이벤트 가능성",
                "{1} instances failed status checks in {0} within 10 minutes: probable AWS-side AZ event",
                az,
                impaired
            ),
            l!(lang, "자동 조치 보류, AWS Health 확인", "automatic actions held; check AWS Health"),
        ),
        Detail::Gone { state: Some(s), .. } if f.detail.unexplained_stop() => Phrase::advised(
            l!(
                lang,
                "인스턴스 상태가 {}인데 중지 이유가 확인되지 않음: 서비스가 중단되었을 수 있음",
                "the instance is {} and nothing explains the stop: the service may be down",
                s
            ),
            l!(
                lang,
                "누가 중지했는지(CloudTrail)와 EC2의 StateReason 확인",
                "find who stopped it (CloudTrail) and EC2's StateReason"
            ),
        ),
        Detail::Gone { state: None, .. } => Phrase::cause(l!(
            lang,
            "인스턴스가 존재하지 않음 (종료 후 정리되었거나 다른 계정/리전): 알람은 의미 없음",
            "the instance does not exist (terminated and purged, or another account/region): the alarm is moot"
        )),
        Detail::Gone { state: Some(s), .. } => Phrase::cause(l!(
            lang,
            "인스턴스 상태가 {}: 알람은 의미 없음 (의도된 중지인지 확인)",
            "the instance is {}: the alarm is moot (check the stop was intended)",
            s
        )),
        Detail::StatusCheck { combined_metric, now } => {
            let conclusion = status_check_conclusion(f.rule, *combined_metric, cx.recommended, lang);
            Phrase {
                note: match now {
                    CheckNow::Impaired => None,
                    CheckNow::NotImpaired { .. } => Some(l!(
                        lang,
                        "DescribeInstanceStatus로 확인되지 않음 (현재 impaired 아님)",
                        "not confirmed by DescribeInstanceStatus (not impaired now)"
                    )),
                    CheckNow::Unknown => Some(l!(
                        lang,
                        "확인되지 않음 (DescribeInstanceStatus 사용 불가)",
                        "not confirmed (DescribeInstanceStatus unavailable)"
                    )),
                },
                ..conclusion
            }
        }
        Detail::CpuCredits { balance, baseline_percent } => Phrase::cause(match baseline_percent {
            Some(b) => l!(
                lang,
                "CPU credit 잔액 {:.1}: {} baseline(vCPU당 {}%)으로 제한되고 있음",
                "CPU credit balance {:.1}: {} is throttled to its {}% baseline",
                balance,
                match lang {
                    Language::Ko => text::topic(&ty),
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
        }),
        Detail::CpuSustained { minutes, datapoints, threshold, lowest } => {
            let shown = f
                .evidence
                .iter()
                .filter(|e| matches!(e, Observation::Datapoint { metric, .. } if *metric == catalogue::CPU_UTILIZATION))
                .count();
            let tail = if shown < *datapoints {
                l!(lang, ", 아래는 마지막 {}개", ", the last {} below", shown)
            } else {
                String::new()
            };
            Phrase::advised(
                l!(
                    lang,
                    "{}분 연속 CPU ≥ {} (datapoint {}개{}, 최저 {}): 지속 포화",
                    "CPU ≥ {1} for {0} consecutive minutes ({2} datapoints{3}, lowest {4}): sustained saturation",
                    minutes,
                    value(*threshold, Unit::Percent),
                    datapoints,
                    tail,
                    value(*lowest, Unit::Percent)
                ),
                l!(lang, "scale up/out 필요", "scale up/out"),
            )
        }
        Detail::CpuSpike { last, baseline, at } => Phrase::cause(l!(
            lang,
            "{}에 CPU {} (평소 {}의 {:.0}배): 급격한 스파이크 (작업 시작, 배치, 트래픽 급증)",
            "CPU {1} at {0}, {3:.0}x the window's usual {2}: sudden spike (job start, batch, traffic burst)",
            hm(*at, cx.tz, cx.lang),
            value(*last, Unit::Percent),
            value(*baseline, Unit::Percent),
            last / baseline.max(0.01)
        )),
        Detail::NetLeadsCpu { bytes: b, factor, net_at, cpu_at } => Phrase::cause(l!(
            lang,
            "{0}에 {4} {1} (평소의 {2:.0}배) 직후 {3}에 CPU 상승: 대량 수신 데이터 처리",
            "{4} {1} at {0} ({2:.0}x usual) just before the CPU rise at {3}: large inbound data being processed",
            hm(*net_at, cx.tz, cx.lang),
            bit_rate(*b, cx.period_secs()),
            factor,
            hm(*cpu_at, cx.tz, cx.lang),
            catalogue::NETWORK_IN
        )),
        Detail::Evidence(d) => super::sources::finding_phrase(d, lang, cx.tz),
    }
}

/// What a status-check finding concludes, before DescribeInstanceStatus's word on it.
/// The remedy it names is the one 🔧 gives: AWS's own recovery when that is on, the group for a member.
pub(super) fn status_check_conclusion(
    rule: RuleId,
    combined_metric: bool,
    recommended: Remedy,
    lang: Language,
) -> Phrase {
    let host = || {
        l!(
            lang,
            "시스템 상태 확인 실패: AWS 호스트(하드웨어/네트워크/전원) 문제",
            "system status check failed: a problem on the AWS host (hardware, network, power)"
        )
    };
    match (rule, combined_metric) {
        (_, true) => Phrase::cause(l!(
            lang,
            "상태 확인 실패 (결합 메트릭): 어느 검사인지 불명, 인스턴스 상태 확인으로 간주",
            "status check failed (combined metric): which check is unknown; treated as the instance check"
        )),
        (RuleId::SysCheck | RuleId::InstCheck, false) if recommended == Remedy::Replace => Phrase::advised(
            status_check_conclusion(rule, false, Remedy::Nothing, lang).cause,
            l!(lang, "Auto Scaling group이 교체", "the Auto Scaling group replaces it"),
        ),
        (RuleId::SysCheck, false) if recommended == Remedy::AwsRecovers => Phrase::advised(
            host(),
            l!(
                lang,
                "AWS simplified automatic recovery가 새 호스트로 복구",
                "AWS's simplified automatic recovery moves it to a new host"
            ),
        ),
        (RuleId::SysCheck, _) => Phrase::advised(
            host(),
            l!(lang, "recover (stop/start로 새 호스트)", "recover (stop/start onto a new host)"),
        ),
        (RuleId::InstCheck, _) => Phrase::advised(
            l!(
                lang,
                "인스턴스 상태 확인 실패: OS 수준 문제(메모리 고갈, 파일시스템 손상, 커널, 네트워크 설정)",
                "instance status check failed: an OS-level problem (memory exhaustion, file system corruption, kernel, network config)"
            ),
            "reboot".to_string(),
        ),
        _ => Phrase::advised(
            l!(
                lang,
                "연결된 EBS 상태 확인 실패: EBS 경로 문제",
                "attached EBS status check failed: an EBS path problem"
            ),
            l!(lang, "reboot 금지, 대기 또는 stop/start, 볼륨 교체", "do not reboot; wait, stop/start, or replace the volume"),
        ),
    }
}
