//! Section 📈 Long-term improvements: right-sizing, monitoring and resilience advice that bears on this incident,
//! from the findings, the instance facts and its instance type.

use crate::analyze::{Detail, RuleId, StopCause};
use crate::config::Language;
use crate::credits;
use crate::model::AlarmState;
use crate::pricing;

use super::text::{number, Line};
use super::{section, Ctx, Part, Section};
use crate::analyze::{AutoRecovery, NotAvailable};

pub(super) fn long_term(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = load_advice(cx);
    lines.extend(availability_advice(cx));
    if lines.is_empty() && cx.a.has(RuleId::Health) {
        lines.push(Line::from(l!(
            lang,
            "단일 인스턴스의 retirement·점검은 곧 중단: 두 번째 인스턴스(최소 1대 ASG 또는 다른 AZ의 대기 인스턴스)가 있으면 중단 없이 처리",
            "A retirement or maintenance of a lone instance is downtime: a second instance (an ASG, even min 1, or a standby in another AZ) makes it none"
        )));
    }
    if lines.is_empty() {
        lines.push(Line::from(match cx.change.state.value {
            AlarmState::Ok => l!(
                lang,
                "같은 알람이 반복되면 임계값과 평가 기간을 평소 부하에 맞게 조정",
                "If this alarm keeps flapping, fit its threshold and evaluation period to the normal load"
            ),
            // An anomaly band has no threshold: it is learned from the metric's history.
            _ if matches!(cx.change.kind, crate::model::AlarmKind::AnomalyBand) => l!(
                lang,
                "band는 지난 2주의 값으로 학습됨: 이 수준이 새 정상(배포, 트래픽 증가)이면 anomaly detector 설정의 ExcludedTimeRanges로 이상 구간을 학습에서 빼고, 아니면 원인별 runbook 작성",
                "The band is learned from the metric's last two weeks: if this level is the new normal (a release, more traffic), keep anomalies out of its training with the detector's ExcludedTimeRanges; if not, write a runbook for this alarm"
            ),
            _ => l!(
                lang,
                "알람의 임계값을 평소 기준선(baseline)과 비교해 검토하고 원인별 runbook 작성",
                "Review the threshold against the normal baseline and write a runbook for this alarm"
            ),
        }));
    }
    section(Part::Improvements, lang, lines)
}

/// Advice on the load behind the incident: CPU, memory, disk, EBS burst, a suspected compromise, inbound traffic.
fn load_advice(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let a = cx.a;
    let ty = cx.instance.map(|i| i.instance_type.clone());
    let mut lines = Vec::new();
    // The rule each line is about, to put the alarm's own first.
    let mut rules: Vec<RuleId> = Vec::new();
    if a.has(RuleId::CpuSustained) {
        // A step up must add CPU the type can sustain: t3.small → t3.medium (2 vCPUs at 20 % each, both) would
        // add memory only.
        let up = ty.as_deref().and_then(|t| {
            let now = pricing::instance_price(&cx.region, t)?;
            let (up, p) = credits::next_with_more_cpu(&cx.region, t)?;
            Some((
                up.clone(),
                p,
                credits::sustained_capacity(t, &now),
                credits::sustained_capacity(&up, &p),
            ))
        });
        lines.push(Line::from(match up {
            Some((up, p, now, then)) => l!(
                lang,
                "Right-size: {} → {} ({} vCPU, {} GiB; 상시 사용 가능한 CPU가 vCPU 1개 기준 {}% → {}%) 또는 Auto Scaling group으로 scale out; 애플리케이션 프로파일링",
                "Right-size {} → {} ({} vCPU, {} GiB; the CPU it can sustain goes from {}% to {}% of one vCPU), or scale out behind an Auto Scaling group; profile the application",
                ty.clone().unwrap_or_default(),
                up,
                p.vcpus,
                p.memory_gib,
                number(now),
                number(then)
            ),
            None => l!(
                lang,
                "더 큰 인스턴스 타입 또는 Auto Scaling group으로 scale out; 애플리케이션 프로파일링",
                "A larger instance type or scale-out behind an Auto Scaling group; profile the application"
            ),
        }));
    }
    rules.resize(lines.len(), RuleId::CpuSustained);
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
    rules.resize(lines.len(), RuleId::CpuCredits);
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
    rules.resize(lines.len(), RuleId::CpuSpike);
    if a.has(RuleId::Mem) {
        lines.push(Line::from(l!(
            lang,
            "메모리 누수 점검과 메모리 최적화 타입(r 계열) 검토; {} 알람(85%, 5분)",
            "Check for memory leaks and consider a memory-optimized type (r family); alarm on {} (85 %, 5 min)",
            crate::catalogue::MEM_USED_PERCENT
        )));
    }
    rules.resize(lines.len(), RuleId::Mem);
    if a.has(RuleId::Disk) {
        lines.push(Line::from(l!(
            lang,
            "logrotate 설정과 로그를 CloudWatch Logs/S3로 이전; {} 알람(90%)",
            "Set up logrotate and ship logs to CloudWatch Logs or S3; alarm on {} (90 %)",
            crate::catalogue::DISK_USED_PERCENT
        )));
    }
    rules.resize(lines.len(), RuleId::Disk);
    if a.has(RuleId::EbsBurst) {
        lines.push(Line::from(l!(
            lang,
            "남은 gp2 볼륨을 gp3로 일괄 전환 (GB당 약 20% 저렴, burst 없음)",
            "Move the remaining gp2 volumes to gp3 (about 20 % cheaper per GB, no burst bucket)"
        )));
    }
    rules.resize(lines.len(), RuleId::EbsBurst);
    if a.has(RuleId::SecSuspect) {
        lines.push(Line::from(l!(
            lang,
            "SSH/RDP 대신 Session Manager, GuardDuty 활성화, 침해 시 AMI에서 재구축",
            "Replace SSH/RDP with Session Manager, turn on GuardDuty, rebuild from a clean AMI if compromised"
        )));
    }
    rules.resize(lines.len(), RuleId::SecSuspect);
    if a.has(RuleId::NetLeadsCpu) {
        lines.push(Line::from(l!(
            lang,
            "대량 수신 데이터는 큐(SQS/Kinesis)로 받아 처리 속도를 조절",
            "Take bulk inbound data through a queue (SQS/Kinesis) to pace its processing"
        )));
    }
    rules.resize(lines.len(), RuleId::NetLeadsCpu);
    // The alarm's own finding first (a disk alarm's advice before the memory's), the rest in their order.
    let mut tagged: Vec<(bool, Line)> = rules
        .into_iter()
        .map(|r| Some(r) != cx.own)
        .zip(lines)
        .collect();
    tagged.sort_by_key(|(other, _)| *other);
    tagged.into_iter().map(|(_, l)| l).collect()
}

/// What keeps a production instance from being stopped again: stop protection for a stop through the API; for an
/// AWS-side stop, which stop protection does not prevent, a second instance.
fn stop_advice(cx: &Ctx<'_>, unexplained: bool) -> Option<Line> {
    let (a, lang) = (cx.a, cx.lang);
    // Stop protection stops API calls only: it does not prevent a stop on the AWS side.
    let aws_side = a.findings.iter().any(|f| {
        matches!(
            f.detail,
            Detail::Stopped {
                cause: StopCause::Unexpected,
                ..
            } | Detail::Gone {
                cause: Some(StopCause::Unexpected),
                ..
            }
        )
    });
    if (a.has(RuleId::Stopped) || unexplained) && !aws_side {
        return Some(Line::from(l!(
            lang,
            "운영 인스턴스는 stop/termination protection(disable-api-stop, disable-api-termination) 설정, 단일 인스턴스 대신 ASG로 자동 교체",
            "Turn on stop and termination protection (disable-api-stop, disable-api-termination) for production, and let an ASG replace instances instead of relying on one"
        )));
    }
    if aws_side {
        return Some(Line::from(l!(
            lang,
            "Stop protection으로는 AWS 측 중지를 막을 수 없음: 두 번째 인스턴스(최소 1대 ASG 또는 다른 AZ의 복제본)만 서비스를 유지",
            "Stop protection would not have prevented this AWS-side stop: only a second instance (an ASG, even min 1, or a replica in another AZ) keeps the service up"
        )));
    }
    None
}

/// How the service outlives its instance: a stateless server behind an Auto Scaling group, a database (which keeps
/// its state on the instance) by a replica in another AZ or a managed database, and snapshots that bound a restore.
fn redundancy(cx: &Ctx<'_>) -> String {
    if cx.instance.is_some_and(|i| i.holds_data()) {
        l!(
            cx.lang,
            "다른 AZ에 이 데이터베이스의 replica를 두고(또는 RDS Multi-AZ 같은 관리형 DB로 이전), 정기 EBS snapshot(Data Lifecycle Manager)으로 복원 시 잃는 범위를 제한",
            "keep a replica of this database in another AZ (or move it to a managed database such as RDS Multi-AZ) and bound what a restore loses with scheduled EBS snapshots (Data Lifecycle Manager)"
        )
    } else {
        l!(
            cx.lang,
            "상태 없는(stateless) 구성으로 ASG 뒤에 두어 장애 시 교체",
            "run stateless behind an ASG so a failed one is replaced"
        )
    }
}

/// Advice on availability: status checks, stops, a gone instance, the instance itself, an alarm without one.
fn availability_advice(cx: &Ctx<'_>) -> Vec<Line> {
    let lang = cx.lang;
    let a = cx.a;
    let mut lines = Vec::new();
    if a.has(RuleId::SysCheck) || a.has(RuleId::InstCheck) {
        // Advice from the same auto-recovery status that 🔧 states and 🤖 reports.
        let status = cx.a.recommendation.auto_recovery.clone();
        let tail = redundancy(cx);
        lines.push(Line::from(match status {
            Some(AutoRecovery::On) => l!(
                lang,
                "호스트 장애는 simplified automatic recovery가 처리: 그 밖의 장애에도 서비스가 유지되도록 {}",
                "Host failures are covered by simplified automatic recovery: to survive the other failures too, {}",
                tail
            ),
            Some(AutoRecovery::Off) => l!(
                lang,
                "꺼진 simplified automatic recovery를 다시 켜고(🤖 참고) {}",
                "Turn simplified automatic recovery back on (see 🤖); {}",
                tail
            ),
            Some(AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember)) => l!(
                lang,
                "그룹 멤버는 상태 없이(stateless) 유지해 교체로 잃는 것이 없게 하고, ELB health check를 켜서 load balancer가 보는 장애도 그룹이 교체하게 함",
                "Keep group members stateless so a replacement loses nothing, and use the ELB health check type so the group also replaces what the load balancer finds unhealthy"
            ),
            Some(AutoRecovery::NotAvailable(NotAvailable::Unsupported)) => l!(
                lang,
                "자동 복구를 쓸 수 없는 인스턴스: {}",
                "Auto recovery does not cover this instance: {}",
                tail
            ),
            _ => l!(
                lang,
                "{}에 recover 알람 동작을 설정하고, {}",
                "Set a recover alarm action on {}; {}",
                crate::catalogue::STATUS_CHECK_FAILED_SYSTEM,
                tail
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
    let unexplained = a.findings.iter().any(|f| f.detail.unexplained_stop());
    lines.extend(stop_advice(cx, unexplained));
    if a.has(RuleId::Gone) && !unexplained {
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
            "알람이 단일 인스턴스를 보지 않아 인스턴스 수준 분석 불가: 그룹 알람과 함께 인스턴스별 알람 고려",
            "The alarm watches no single instance, so no instance-level analysis: add per-instance alarms beside the group alarm"
        )));
    }
    lines
}
