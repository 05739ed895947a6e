//! Section 🔧 Immediate actions: the operator's numbered steps and commands for this incident, from the alarm
//! change, the findings, the instance facts and the recommended remedy.

use crate::analyze::{Detail, Finding, HealthKind, Pressure, RuleId, StopCause};
use crate::config::Language;
use crate::facts::InstanceFacts;
use crate::model::{AlarmKind, AlarmState, InstanceState};

use super::cli::Steps;
use super::headline::metric_label;
use super::outcome::action_lines;
use super::remedy::{
    asg_steps, capacity_steps, force_hint, lookup_events, state_reason, volume_steps,
};
use super::shell::{self, Command};
use super::text::{hm, when_in, Line};
use super::{section, steps, Ctx, Part, Section};
use crate::analyze::Remedy;
use crate::analyze::{AutoRecovery, NotAvailable};

/// 🔧's statement of who recovers a host failure: the same status 📈 and 🤖 advise from.
pub(super) fn auto_recovery_status(status: &AutoRecovery, cx: &Ctx<'_>) -> Line {
    let lang = cx.lang;
    Line::from(match status {
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

pub(super) fn actions(cx: &Ctx<'_>) -> Section {
    let plan = plan(cx);
    let head = plan.head();
    Section {
        head,
        ..section(Part::Actions, cx.lang, plan.lines)
    }
}

/// 🔧 as steps: what ec2ops did, then the operator's numbered steps with their commands.
pub(super) fn plan(cx: &Ctx<'_>) -> Steps {
    let lang = cx.lang;
    let mut s = Steps::after(action_lines(cx));
    let alarm = cx.change.alarm_name.as_str();
    let state = cx.change.state.value;

    if state == AlarmState::Ok {
        recovered_steps(cx, &mut s);
        return s;
    }
    if state == AlarmState::InsufficientData {
        no_data_steps(cx, &mut s);
        return s;
    }

    source_steps(cx, &mut s);
    event_steps(cx, &mut s);
    status_check_steps(cx, &mut s);
    // The alarm's own finding leads: a memory, disk or burst alarm's steps before the CPU's.
    if matches!(cx.own, Some(RuleId::Mem | RuleId::Disk | RuleId::EbsBurst)) {
        resource_steps(cx, &mut s);
        cpu_steps(cx, &mut s);
    } else {
        cpu_steps(cx, &mut s);
        resource_steps(cx, &mut s);
    }
    if s.count() == 0 {
        s.step(l!(
            lang,
            "알람 메트릭과 최근 이력 확인:",
            "Review the alarm's metric and recent history:"
        ));
        s.cmd(
            cx,
            Command::new("aws cloudwatch describe-alarm-history")
                .name("--alarm-name", "ALARM_NAME", alarm)
                .lit("--history-item-type StateUpdate --max-records 10"),
        );
    }
    s
}

/// An alarm back to OK: nothing to do but confirm and close.
fn recovered_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let alarm = cx.change.alarm_name.as_str();
    let duration = cx
        .change
        .previous
        .as_ref()
        .filter(|p| p.value == AlarmState::Alarm)
        .map(|p| (cx.change.state.at - p.at).num_minutes());
    s.step(match duration {
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
    s.cmd(
        cx,
        Command::new("aws cloudwatch describe-alarm-history")
            .name("--alarm-name", "ALARM_NAME", alarm)
            .lit("--history-item-type StateUpdate --max-records 5"),
    );
}

/// An alarm without data: check the instance runs and publishes.
fn no_data_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let alarm = cx.change.alarm_name.as_str();
    unexplained_stop_steps(cx, s);
    s.step(l!(
        lang,
        "인스턴스가 실행 중이고 메트릭을 보내는지 확인:",
        "Check the instance is running and publishing metrics:"
    ));
    s.cmd(
        cx,
        Command::new("aws ec2 describe-instance-status")
            .arg("--instance-ids", "INSTANCE_ID", id)
            .lit("--include-all-instances"),
    );
    s.cmd(
        cx,
        Command::new("aws cloudwatch describe-alarms").name("--alarm-names", "ALARM_NAME", alarm),
    );
}

/// An instance found stopped with nothing saying why: who stopped it (CloudTrail) and EC2's own reason, first.
fn unexplained_stop_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    if !cx.a.findings.iter().any(|f| f.detail.unexplained_stop()) {
        return;
    }
    s.step(l!(
        lang,
        "누가 중지했는지 CloudTrail에서 확인 (StopInstances), EC2가 밝힌 이유(StateReason) 확인:",
        "Find who stopped it in CloudTrail (StopInstances) and the reason EC2 gives (StateReason):"
    ));
    s.cmd(cx, lookup_events(id));
    s.cmd(cx, state_reason(id));
}

/// What the alarm's source calls for: a group without an instance id, a composite's member alarms.
fn source_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    if cx.instance_id.is_none() {
        if let Some(asg) = cx
            .change
            .primary_metric()
            .and_then(|m| m.dimensions.get("AutoScalingGroupName"))
        {
            s.step(l!(
                lang,
                "Auto Scaling group의 인스턴스와 scaling 활동 확인:",
                "Check the Auto Scaling group's instances and scaling activity:"
            ));
            s.cmd(
                cx,
                Command::new("aws autoscaling describe-auto-scaling-groups").name(
                    "--auto-scaling-group-names",
                    "ASG_NAME",
                    asg,
                ),
            );
            s.cmd(
                cx,
                Command::new("aws autoscaling describe-scaling-activities")
                    .name("--auto-scaling-group-name", "ASG_NAME", asg)
                    .lit("--max-items 5"),
            );
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
        s.step(l!(
            lang,
            "트리거된 하위 알람을 각각 확인:",
            "Check each triggering member alarm:"
        ));
        if !names.is_empty() {
            s.cmd(
                cx,
                Command::new("aws cloudwatch describe-alarms").names(
                    "--alarm-names",
                    "ALARM_NAME",
                    &names,
                ),
            );
        }
    }
}

/// What the event calls for: a Health event, a stop, an instance that is gone.
fn event_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let alarm = cx.change.alarm_name.as_str();
    let a = cx.a;
    if let Some(Finding {
        detail: Detail::Health { kind, .. },
        ..
    }) = a.findings.iter().find(|f| f.rule == RuleId::Health)
    {
        s.step(l!(
            lang,
            "예정된 이벤트와 상태 확인:",
            "Check the scheduled events and the status:"
        ));
        s.cmd(
            cx,
            Command::new("aws ec2 describe-instance-status")
                .arg("--instance-ids", "INSTANCE_ID", id)
                .lit("--include-all-instances"),
        );
        match kind {
            // A group member is the group's to replace: a stop would only make the group replace it unplanned.
            HealthKind::Retirement | HealthKind::Maintenance | HealthKind::RecoveryFailed
                if cx.instance.and_then(InstanceFacts::asg).is_some() =>
            {
                asg_steps(cx, s, id, false)
            }
            HealthKind::Retirement | HealthKind::Maintenance | HealthKind::RecoveryFailed => {
                let store = cx.facts.instance_type.get().map(|t| t.instance_storage) != Some(false);
                s.step(if store {
                    l!(lang, "기한 전 원하는 시간에 stop/start (EBS-backed: 새 호스트로 이동; RAM과 instance store 데이터는 지워지니 먼저 백업; 자동 할당 public IPv4 변경). start는 stopped 확인 후:", "Before the deadline, at a time that suits you, stop/start (EBS-backed: moves to a new host; RAM and instance-store data are erased: back them up first; an auto-assigned public IPv4 changes); start only once it is stopped:")
                } else {
                    l!(lang, "기한 전 원하는 시간에 stop/start (EBS-backed: 새 호스트로 이동; RAM 손실, 자동 할당 public IPv4 변경). start는 stopped 확인 후:", "Before the deadline, at a time that suits you, stop/start (EBS-backed: moves to a new host; RAM is lost, an auto-assigned public IPv4 changes); start only once it is stopped:")
                });
                s.cmds(cx, steps::stop_start(id));
                force_hint(cx, s, id);
            }
            _ => s.step(l!(
                lang,
                "애플리케이션이 정상인지 확인 (RAM 상태는 초기화됨).",
                "Check the application is healthy (in-memory state was reset)."
            )),
        }
    }
    if let Some(Finding {
        detail: Detail::Stopped { state, cause, .. },
        ..
    }) = a.findings.iter().find(|f| f.rule == RuleId::Stopped)
    {
        stopped_steps(cx, s, *state, *cause);
    }
    if a.findings.iter().any(|f| f.detail.unexplained_stop()) {
        unexplained_stop_steps(cx, s);
    } else if a.has(RuleId::Gone) {
        s.step(l!(
            lang,
            "누가 인스턴스를 중지/종료했는지 CloudTrail에서 확인:",
            "Find who stopped or terminated the instance in CloudTrail:"
        ));
        s.cmd(cx, lookup_events(id));
    }
    if a.has(RuleId::Gone) {
        s.step(l!(
            lang,
            "의도된 중지라면 알람 동작을 끄거나 알람을 삭제:",
            "If intended, disable the alarm's actions or delete the alarm:"
        ));
        s.cmd(
            cx,
            Command::new("aws cloudwatch disable-alarm-actions").name(
                "--alarm-names",
                "ALARM_NAME",
                alarm,
            ),
        );
    }
}

/// An instance the state-change event found stopped or terminated. An AWS-side stop (EC2's state reason) is read
/// first, with AWS Health; any other is asked who stopped it. A start comes with what to check before it.
fn stopped_steps(cx: &Ctx<'_>, s: &mut Steps, state: InstanceState, cause: StopCause) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let aws_side = cause == StopCause::Unexpected;
    if aws_side {
        s.step(l!(
            lang,
            "EC2의 상태 사유가 AWS 측 중지를 가리킴: 사유를 읽고 AWS Health에서 이 인스턴스의 이벤트 확인; CloudTrail로 그 전에 StopInstances 호출이 없었는지 확인:",
            "EC2's state reason points at the AWS side: read it and look for the instance in AWS Health; CloudTrail shows whether a StopInstances call came first:"
        ));
        s.cmd(cx, state_reason(id));
        s.cmd(cx, lookup_events(id));
    } else {
        s.step(l!(
            lang,
            "누가 중지/종료했는지 CloudTrail에서 확인 (StopInstances/TerminateInstances):",
            "Find who stopped or terminated it in CloudTrail (StopInstances / TerminateInstances):"
        ));
        s.cmd(cx, lookup_events(id));
        s.cmd(cx, state_reason(id));
    }
    if cause == StopCause::Intended {
        return;
    }
    if matches!(
        state,
        InstanceState::Terminated | InstanceState::ShuttingDown
    ) {
        s.step(l!(lang, "종료된 인스턴스는 복구 불가: AMI/최근 snapshot에서 대체 인스턴스 시작", "A terminated instance cannot come back: launch a replacement from its AMI or latest snapshots"));
        return;
    }
    s.step(if aws_side {
        l!(
            lang,
            "시작 전 확인: AWS Health에 이 인스턴스나 AZ의 미해결 이벤트가 없음 (있으면 다시 멈춤). 그다음 시작 (EBS 데이터 유지, 자동 할당 public IPv4는 변경):",
            "Before starting, check that AWS Health shows no open issue for the instance or its AZ (it would stop again); then start it (EBS data kept; an auto-assigned public IPv4 changes):"
        )
    } else {
        l!(
            lang,
            "시작 전 확인: 위 CloudTrail과 상태 사유상 의도된 중지(점검, 비용 절감 스케줄)가 아니고 지금 이 인스턴스를 변경 중인 사람이 없음. 그다음 시작 (EBS 데이터 유지, 자동 할당 public IPv4는 변경):",
            "Before starting, check in CloudTrail and the state reason above that the stop was not meant (maintenance, a cost-saving schedule) and nobody is changing the instance now; then start it (EBS data kept; an auto-assigned public IPv4 changes):"
        )
    });
    s.cmd(cx, steps::start(id));
}

/// A failed status check: the attached EBS, the host (with who recovers it) or the OS.
fn status_check_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let a = cx.a;
    if a.has(RuleId::EbsCheck) {
        ebs_check_steps(cx, s);
    }
    host_check_steps(cx, s);
    if a.has(RuleId::InstCheck) {
        if cx.recommended == Remedy::Replace {
            // SysCheck gave the group's steps already.
            if !a.has(RuleId::SysCheck) {
                asg_steps(cx, s, id, true);
            }
            return;
        }
        s.step(l!(
            lang,
            "Console 출력으로 OS 오류(OOM, kernel panic, fsck) 확인:",
            "Read the console output for OS errors (OOM, kernel panic, fsck):"
        ));
        s.cmd(
            cx,
            Command::new("aws ec2 get-console-output")
                .arg("--instance-id", "INSTANCE_ID", id)
                .lit("--latest --output text"),
        );
        s.step(l!(
            lang,
            "Reboot (IP와 instance store 유지, 과금 기간 유지):",
            "Reboot (keeps IPs, instance store and the billing period):"
        ));
        s.cmd(
            cx,
            Command::new("aws ec2 reboot-instances").arg("--instance-ids", "INSTANCE_ID", id),
        );
        s.step(l!(lang, "계속 실패하면 stop/start 또는 EC2Rescue (AWSSupport-ExecuteEC2Rescue)로 진단.", "If it keeps failing: stop/start, or diagnose with EC2Rescue (AWSSupport-ExecuteEC2Rescue)."));
    }
}

/// A failed attached-EBS check: no reboot; the volumes' status; a time box after which a stop/start re-attaches them
/// on a new host (never on an instance-store root); then the snapshot restore, which loses the writes since the
/// snapshot. AWS's automatic recovery does not act on this check, so nothing else brings the instance back.
fn ebs_check_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    s.step(l!(
        lang,
        "Reboot 하지 마세요 (EBS 경로 문제는 reboot로 해결되지 않음). 볼륨 상태 확인:",
        "Do not reboot (an EBS path problem is not fixed by a reboot). Check the volumes:"
    ));
    let vols: Vec<&str> = cx
        .instance
        .map(|i| i.volume_ids.iter().map(String::as_str).collect())
        .filter(|v: &Vec<&str>| !v.is_empty())
        .unwrap_or_else(|| vec!["VOLUME_ID"]);
    s.cmd(
        cx,
        Command::new("aws ec2 describe-volume-status").values("--volume-ids", "VOLUME_ID", &vols),
    );
    let instance_store =
        cx.instance.and_then(|i| i.root_device_type.as_deref()) == Some("instance-store");
    if cx.instance_id.is_some() && !instance_store {
        let by = when_in(
            cx.change.state.at + chrono::Duration::minutes(steps::AWS_RECOVERY_GRACE_MINUTES),
            cx.tz,
            lang,
        );
        s.step(l!(
            lang,
            "{}까지 볼륨 상태가 ok가 아니면 stop/start (새 호스트에서 볼륨 재연결; RAM 손실, 자동 할당 public IPv4 변경). start는 stopped 확인 후:",
            "Not ok by {}: stop/start it (the volumes re-attach on a new host; RAM is lost, an auto-assigned public IPv4 changes); start only once it is stopped:",
            by
        ));
        s.cmds(cx, steps::stop_start(id));
        force_hint(cx, s, id);
    }
    s.step(l!(
        lang,
        "그래도 impaired면 최신 snapshot에서 볼륨 교체 — 그 snapshot 이후의 쓰기는 모두 잃음 (DB는 복제본이나 자체 로그로만 되살림):",
        "Still impaired: replace the volume from its latest snapshot — every write since that snapshot is lost (a database gets them back only from a replica or its own logs):"
    ));
    if vols == ["VOLUME_ID"] {
        return;
    }
    s.cmd(
        cx,
        Command::new("aws ec2 describe-snapshots")
            .lit("--owner-ids self")
            .arg(
                "--filters",
                "FILTERS",
                &format!("Name=volume-id,Values={}", vols.join(",")),
            )
            .arg(
                "--query",
                "QUERY",
                "sort_by(Snapshots,&StartTime)[-3:].[VolumeId,SnapshotId,StartTime]",
            )
            .lit("--output table"),
    );
}

/// A failed system check: who recovers the host (AWS, the group, or the operator's stop/start).
fn host_check_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let a = cx.a;
    if a.has(RuleId::SysCheck) {
        if let Some(status) = &cx.a.recommendation.auto_recovery {
            s.line(auto_recovery_status(status, cx));
        }
        s.step(l!(
            lang,
            "Status 확인 및 AWS Health의 예정된 이벤트 확인:",
            "Confirm the status and look for AWS Health events:"
        ));
        s.cmd(
            cx,
            Command::new("aws ec2 describe-instance-status")
                .arg("--instance-ids", "INSTANCE_ID", id)
                .lit("--include-all-instances"),
        );
        match cx.recommended {
            Remedy::Replace => asg_steps(cx, s, id, true),
            Remedy::AwsRecovers => {
                s.step(l!(
                    lang,
                    "지금은 stop/start 하지 말고 대기: AWS가 새 호스트로 복구 중 (instance id·private/public IP·EBS 유지, RAM 손실). 결과는 AWS Health 이벤트(AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_SUCCESS/_FAILURE)로 통보됨.",
                    "Do not stop/start now: AWS is recovering the instance onto a new host (instance id, private and public IPs and EBS kept, RAM lost). AWS Health reports the outcome (AWS_EC2_SIMPLIFIED_AUTO_RECOVERY_SUCCESS/_FAILURE)."
                ));
                let by = when_in(
                    cx.change.state.at + chrono::Duration::minutes(steps::AWS_RECOVERY_GRACE_MINUTES),
                    cx.tz,
                    cx.lang,
                );
                s.step(l!(
                    lang,
                    "{}분 안에, 즉 {}까지 복구되지 않거나 복구 실패가 통보되면 직접 stop/start (새 호스트로 이동; 자동 할당 public IPv4 변경). start는 stopped 확인 후:",
                    "If it has not recovered within {} minutes, by {}, or AWS reports the recovery failed, stop/start it yourself (moves to a new host; an auto-assigned public IPv4 changes); start only once it is stopped:",
                    steps::AWS_RECOVERY_GRACE_MINUTES,
                    by
                ));
                s.cmds(cx, steps::stop_start(id));
                force_hint(cx, s, id);
            }
            Remedy::StopStart => {
                s.step(l!(lang, "Recover: stop 후 start (새 호스트로 이동; RAM 내용 손실, 자동 할당 public IPv4 변경). start는 stopped 확인 후:", "Recover: stop then start (moves to a new host; RAM is lost, an auto-assigned public IPv4 changes); start only once it is stopped:"));
                s.cmds(cx, steps::stop_start(id));
                force_hint(cx, s, id);
            }
            _ => s.step(l!(lang, "Root device가 instance store이거나 불명: stop/start 금지 (데이터 손실). AMI/ASG로 교체하세요.", "The root device is instance store or unknown: do not stop/start (data loss). Replace it from an AMI or let the ASG replace it.")),
        }
    }
}

/// CPU: credits, the busiest processes, inbound traffic before the rise, capacity.
fn cpu_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let a = cx.a;
    if a.has(RuleId::CpuCredits) {
        s.step(l!(
            lang,
            "Unlimited 모드로 전환해 throttling 해제 (초과 사용분 과금):",
            "Switch to unlimited mode to lift the throttle (surplus usage is billed):"
        ));
        s.cmd(
            cx,
            Command::new("aws ec2 modify-instance-credit-specification").json(
                "--instance-credit-specifications",
                &serde_json::json!([{ "InstanceId": id, "CpuCredits": "unlimited" }]),
            ),
        );
    }
    let cpu_related = a.has(RuleId::CpuSustained)
        || a.has(RuleId::CpuSpike)
        || a.has(RuleId::CpuCredits)
        || metric_label(cx.change) == crate::catalogue::CPU_UTILIZATION;
    let reads_cpu = cpu_related && cx.instance_id.is_some() && !a.has(RuleId::Gone);
    if reads_cpu && a.has(RuleId::NetLeadsCpu) {
        // One Run Command reads both: the processes and the connections that brought the data.
        s.step(l!(
                lang,
                "지금 CPU를 쓰는 프로세스(top의 두 번째 1초 샘플)와 데이터가 들어온 연결(ss; 출처는 VPC Flow Logs) 확인:",
                "Find the processes using the CPU now (top's 1-second sample) and the connections the data came over (ss; VPC Flow Logs name the source):"
            ),
        );
        s.cmds(cx, steps::shell(id, &[steps::CPU_NOW, steps::CONNECTIONS]));
    } else if reads_cpu {
        s.step(l!(
                lang,
                "지금 CPU를 쓰는 프로세스 확인 (SSM Run Command; top의 두 번째 1초 샘플 — ps의 %CPU는 프로세스 시작 이후 평균):",
                "Find the processes using the CPU now (SSM Run Command; top's second one-second sample — ps's %CPU is the average since each process started):"
            ),
        );
        s.cmds(cx, steps::shell(id, &[steps::CPU_NOW]));
    } else if a.has(RuleId::NetLeadsCpu) {
        s.step(l!(
            lang,
            "대량 수신 트래픽의 출처 확인 (연결 목록, VPC Flow Logs):",
            "Identify the source of the inbound traffic (connections, VPC Flow Logs):"
        ));
        s.cmds(cx, steps::shell(id, &[steps::CONNECTIONS]));
    }
    if a.has(RuleId::CpuSustained) {
        if let Some(i) = cx.instance {
            capacity_steps(cx, s, i);
        }
    }
}

/// A suspected compromise, memory, disk, EBS burst balance, a spike.
fn resource_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let a = cx.a;
    if a.has(RuleId::SecSuspect) {
        s.step(l!(lang, "침해 의심: 관리 포트를 즉시 닫고, 포렌식용 EBS snapshot을 만든 뒤 프로세스/연결 확인 (인스턴스는 아직 종료하지 말 것):", "Suspected compromise: close the admin ports now, snapshot the volumes for forensics, then look at processes and connections (do not terminate yet):"));
        if let Some(i) = cx.instance {
            for g in &i.security_group_ids {
                s.cmd(
                    cx,
                    Command::new("aws ec2 revoke-security-group-ingress")
                        .arg("--group-id", "GROUP_ID", g)
                        .lit("--protocol tcp --port 22 --cidr 0.0.0.0/0"),
                );
            }
            for v in &i.volume_ids {
                s.cmd(
                    cx,
                    Command::new("aws ec2 create-snapshot")
                        .arg("--volume-id", "VOLUME_ID", v)
                        .arg(
                            "--description",
                            "DESCRIPTION",
                            &format!("ec2ops-forensics-{id}"),
                        ),
                );
            }
        }
    }
    // The alarm's own resource first: a disk alarm on a host whose memory is also high looks at the disk first.
    if matches!(cx.own, Some(RuleId::Disk | RuleId::EbsBurst)) {
        disk_steps(cx, s);
        memory_steps(cx, s);
    } else {
        memory_steps(cx, s);
        disk_steps(cx, s);
    }
    if a.has(RuleId::CpuSpike) {
        s.step(match cx.recheck_at {
            // Scheduled: ec2ops takes the watch over, and says when; the person compares with the job schedules.
            Some(at) => l!(
                lang,
                "ec2ops가 {}에 다시 확인, 상황이 바뀐 경우(지속·피크 상승·회복)에만 이 스레드에 알림 — 그 사이 cron/batch 시작 시각과 비교.",
                "ec2ops looks again at {} and posts here only if the picture changed (sustained, higher, recovered); meanwhile compare with cron/batch start times.",
                hm(at, cx.tz, lang)
            ),
            None => l!(lang, "스파이크가 계속되는지 다음 몇 분간 관찰 (cron/batch 작업 시작 시각과 비교).", "Watch whether the spike persists over the next minutes (compare with cron/batch start times)."),
        });
    }
}

/// Memory: the processes holding it and the kernel's OOM kills.
fn memory_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    if !cx.a.has(RuleId::Mem) {
        return;
    }
    s.step(l!(
        lang,
        "메모리를 쓰는 프로세스와 OOM 기록 확인 (SSM Run Command):",
        "Find the processes using the memory and any OOM kills (SSM Run Command):"
    ));
    s.cmds(
        cx,
        steps::shell(
            id,
            &[
                "ps -eo pid,user,pmem,rss,comm --sort=-rss | head -15",
                "dmesg -T | grep -i oom | tail -5",
            ],
        ),
    );
}

/// A full disk: what fills it (space, inodes, the largest directories, deleted files still held open), then one
/// volume modification and the file system grown over it; an EBS burst balance rides on the same modification.
fn disk_steps(cx: &Ctx<'_>, s: &mut Steps) {
    let lang = cx.lang;
    let id = cx.instance_id.unwrap_or("INSTANCE_ID");
    let a = cx.a;
    let disk = a.findings.iter().find_map(|f| match &f.detail {
        Detail::Pressure(Pressure::Disk { path, percent }) if f.rule == RuleId::Disk => {
            Some((path.as_deref(), *percent))
        }
        _ => None,
    });
    if let Some((Some(path), _)) = disk {
        s.step(l!(
            lang,
            "{}를 채운 것 찾기: 공간과 inode (df), 가장 큰 디렉터리 (du), 지워졌지만 아직 열려 있는 파일 (lsof +L1) — 이후 로그·임시 파일 정리:",
            "Find what fills {}: space and inodes (df), the largest directories (du), deleted files still held open (lsof +L1) — then clear logs and temporary files:",
            path
        ));
        // Quoted for the instance's shell, then carried as a JSON string, then the JSON quoted for the operator's.
        // `--` before a path starting with `-`, which df and du would read as an option.
        let df = format!(
            "df -hP {}{}",
            if path.starts_with('-') { "-- " } else { "" },
            shell::remote_word("MOUNT_PATH", path)
        );
        let dfi = format!(
            "df -iP {}{}",
            if path.starts_with('-') { "-- " } else { "" },
            shell::remote_word("MOUNT_PATH", path)
        );
        let du = format!(
            "du -xh {}{} 2>/dev/null | sort -rh | head -15",
            if path.starts_with('-') { "-- " } else { "" },
            shell::remote_word("MOUNT_PATH", path)
        );
        s.cmds(cx, steps::shell(id, &[&df, &dfi, &du, steps::DELETED_OPEN]));
    } else if disk.is_some() {
        s.step(l!(
                lang,
                "가득 찬 파일시스템을 찾고 (df: 공간과 inode), 가장 큰 디렉터리와 지워졌지만 열려 있는 파일 (lsof +L1)을 찾아 로그·임시 파일 정리:",
                "Find the full file system (df: space and inodes), its largest directories and deleted files still held open (lsof +L1), then clear logs and temporary files:"
            ),
        );
        s.cmds(
            cx,
            steps::shell(
                id,
                &[
                    "df -hP -x tmpfs -x devtmpfs",
                    "df -iP -x tmpfs -x devtmpfs",
                    "du -xh / 2>/dev/null | sort -rh | head -15",
                    steps::DELETED_OPEN,
                ],
            ),
        );
    }
    let burst = a.findings.iter().find_map(|f| match &f.detail {
        Detail::Pressure(Pressure::Burst { volume, .. }) if f.rule == RuleId::EbsBurst => {
            Some(volume.as_deref())
        }
        _ => None,
    });
    volume_steps(cx, s, disk, burst);
}

/// 🔧 of the summary: no action here (each contributor's report carries its own advice), one read-only command.
pub(super) fn summary_actions(cx: &Ctx<'_>) -> Section {
    section(Part::Actions, cx.lang, summary_plan(cx).lines)
}

/// The summary's 🔧 as steps.
pub(super) fn summary_plan(cx: &Ctx<'_>) -> Steps {
    let lang = cx.lang;
    let mut s = Steps::default();
    s.line(Line::from(l!(
        lang,
        "자동 조치: 없음 — 알람 단위 요약이며, 조치 안내는 기여자별 보고서에 있습니다.",
        "Automatic action: none — this is the alarm-level summary; each contributor's report carries its advice."
    )));
    s.line(Line::from(l!(
        lang,
        "ALARM 상태 기여자 확인:",
        "List the contributors in ALARM:"
    )));
    s.cmd(
        cx,
        Command::new("aws cloudwatch describe-alarm-contributors").name(
            "--alarm-name",
            "ALARM_NAME",
            &cx.change.alarm_name,
        ),
    );
    s
}
