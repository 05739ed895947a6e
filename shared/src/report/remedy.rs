//! Step groups of 🔧 whose commands depend on the instance's setting: an Auto Scaling member is handed to its group,
//! a lone instance scales out before it scales up, a stop is forced only when stuck, an EBS volume is modified once.

use super::cli::Steps;
use super::shell::Command;
use super::text::hm;
use super::{steps, Ctx};
use crate::analyze::Detail;
use crate::config::Language;
use crate::credits;
use crate::evidence::changes::ChangeKind;
use crate::evidence::EvidenceDetail;
use crate::facts::{InstanceFacts, VolumeFacts};

/// After a stop sequence: what to do when the instance hangs in `stopping`.
pub(super) fn force_hint(cx: &Ctx<'_>, s: &mut Steps, id: &str) {
    s.step(l!(
            cx.lang,
            "10분 넘게 stopping 상태로 멈춰 있으면 강제 중지(OS 정상 종료 없음, 이 경우에만) 후 위의 wait 단계부터 계속:",
            "Still `stopping` after 10 minutes: force the stop (no clean OS shutdown: only then), then go on from the wait:"
        ),
    );
    s.cmd(cx, steps::force_stop(id));
}

/// An Auto Scaling member: its group replaces it on its own (the EC2 health check takes a failed status check or a
/// scheduled event), so nothing is rebooted or stopped by hand. With `evidence`, what the instance shows is captured
/// before the group terminates it; the group's replacement is read before anyone marks it Unhealthy, which
/// terminates it.
pub(super) fn asg_steps(cx: &Ctx<'_>, s: &mut Steps, id: &str, evidence: bool) {
    let lang = cx.lang;
    let Some(group) = cx.instance.and_then(InstanceFacts::asg) else {
        return;
    };
    if evidence {
        s.step(l!(
            lang,
            "Auto Scaling group이 곧 이 인스턴스를 종료하고 교체함: 그 전에 증거 확보 — console 출력(OOM, kernel panic, fsck)과 화면 캡처(base64 JPEG):",
            "Its Auto Scaling group terminates and replaces it on its own: capture the evidence first — the console output (OOM, kernel panic, fsck) and a screenshot (base64 JPEG):"
        ));
        s.cmds(cx, steps::console_evidence(id));
    }
    s.step(l!(
        lang,
        "그룹이 교체 중인지 확인: 인스턴스의 lifecycle 상태(Standby면 교체 안 함)와 health, 그룹의 일시 중지된 프로세스(HealthCheck, ReplaceUnhealthy), scaling 활동:",
        "Check the group is replacing it: the instance's lifecycle state (in Standby it is not replaced) and health, the group's suspended processes (HealthCheck, ReplaceUnhealthy), its scaling activities:"
    ));
    s.cmds(cx, steps::asg_replacing(id, group));
    s.step(l!(
        lang,
        "교체 활동이 없을 때만 (프로세스 일시 중지 등): Unhealthy로 표시 — 그룹이 이 인스턴스를 종료하고(RAM과 종료 시 삭제되는 볼륨 손실) 새로 시작함. reboot·stop/start는 직접 하지 않음:",
        "Only if no activity replaces it (processes suspended): mark it Unhealthy — the group terminates it (RAM and the volumes deleted on termination are lost) and launches another; never reboot or stop/start it by hand:"
    ));
    s.cmd(cx, steps::asg_mark_unhealthy(id));
    s.step(l!(
            lang,
            "Load balancer 상태 확인 (그룹의 첫 target group을 읽은 뒤 그 안에서 이 인스턴스의 target health):",
            "Check the load balancer's view (the group's first target group, then this instance's target health in it):"
        ),
    );
    s.cmds(cx, steps::asg_target_health(id, group));
}

/// More capacity for a saturated instance: a group member scales out with its group; a lone instance scales out
/// from an image first (no downtime), and scales up only with its downtime said on the step itself.
pub(super) fn capacity_steps(cx: &Ctx<'_>, s: &mut Steps, i: &InstanceFacts) {
    let lang = cx.lang;
    if let Some(group) = i.asg() {
        s.step(l!(
                lang,
                "부하가 정상 업무라면 그룹을 scale out (다운타임 없음): 현재 desired capacity 확인 후 늘리기:",
                "If the load is legitimate, scale the group out (no downtime): read the desired capacity, then raise it:"
            ),
        );
        s.cmds(cx, steps::asg_scale_out(group));
        return;
    }
    rollback_step(cx, s, i);
    s.step(l!(
            lang,
            "부하가 정상 업무라면 우선 scale out (다운타임 없음): 이 인스턴스의 AMI를 재부팅 없이 만들어 두 번째 인스턴스를 load balancer 뒤에 시작 (단일 인스턴스는 단일 장애점):",
            "If the load is legitimate, prefer scaling out (no downtime): image this instance without a reboot and launch a second one behind a load balancer (a lone instance is a single point of failure):"
        ),
    );
    s.cmd(cx, steps::image_for_scale_out(&i.id, cx.change.state.at));
    if let Some((up, _)) = credits::next_with_more_cpu(&cx.region, &i.instance_type) {
        s.step(l!(
                lang,
                "또는 점검 시간에 scale up {} → {} — 다운타임: 타입 변경은 중지된 인스턴스만 가능 (stop → stopped 대기 → 변경 → start, 수 분 중단; RAM 손실, 자동 할당 public IPv4 변경):",
                "Or, in a maintenance window, scale up {} → {} — DOWNTIME: only a stopped instance changes type (stop → wait until stopped → modify → start, minutes of outage; RAM lost, an auto-assigned public IPv4 changes):",
                i.instance_type,
                up
            ),
        );
        s.cmds(cx, steps::resize(&i.id, &up));
        force_hint(cx, s, &i.id);
    }
}

/// A type change before the transition is rolled back first: CloudTrail keeps only the new type, so the step reads
/// the type before from AWS Config, for the stop → wait → modify → start below.
fn rollback_step(cx: &Ctx<'_>, s: &mut Steps, i: &InstanceFacts) {
    let lang = cx.lang;
    let Some(at) = cx.a.findings.iter().find_map(|f| match &f.detail {
        Detail::Evidence(EvidenceDetail::ChangeBefore {
            kind: ChangeKind::Resize,
            at,
            ..
        }) => Some(*at),
        _ => None,
    }) else {
        return;
    };
    s.step(l!(
        lang,
        "{} 타입 변경을 되돌리기: CloudTrail에는 새 타입({})만 남으므로 이전 타입을 AWS Config 이력에서 읽은 뒤, 아래 stop → 대기 → 변경 → start 순서에 그 타입을 넣어 실행:",
        "Roll back the type change of {}: CloudTrail keeps only the new type ({}), so read the type before from AWS Config's history, then run the stop → wait → modify → start below with that type:",
        hm(at, cx.tz, lang),
        i.instance_type
    ));
    s.cmd(cx, steps::config_before(&i.id, at));
}

/// Device names EC2 gives a root volume.
const ROOT_DEVICES: [&str; 4] = ["/dev/xvda", "/dev/sda1", "/dev/sda", "/dev/nvme0n1"];

/// The volume holding a mount path, when the facts say so: only the root file system has a known device.
fn volume_of<'a>(cx: &'a Ctx<'_>, path: &str) -> Option<&'a VolumeFacts> {
    if path != "/" {
        return None;
    }
    let vols = cx.facts.volumes.get()?;
    match vols.as_slice() {
        [only] => Some(only),
        _ => vols.iter().find(|v| {
            v.device
                .as_deref()
                .is_some_and(|d| ROOT_DEVICES.contains(&d))
        }),
    }
}

/// Growing a full disk and moving a gp2 volume out of burst: one `modify-volume` per volume, type and size together,
/// since EBS takes a volume's next modification only six hours after the last.
pub(super) fn volume_steps(
    cx: &Ctx<'_>,
    s: &mut Steps,
    disk: Option<(Option<&str>, f64)>,
    burst: Option<Option<&str>>,
) {
    let lang = cx.lang;
    let grow = disk.and_then(|(path, percent)| {
        let v = volume_of(cx, path?)?;
        Some((v, steps::grown_size(i64::from(v.size_gib), percent)))
    });
    let then_guest = |s: &mut Steps, volume: &str| grow_in_guest(cx, s, volume, disk);
    match (grow, burst) {
        (Some((v, size)), Some(Some(b))) if v.id == b => {
            s.step(l!(
                    lang,
                    "한 번의 변경으로 gp2 → gp3 전환과 {} → {} GiB 확장을 함께 (온라인, 다운타임 없음; 같은 볼륨의 다음 변경은 6시간 후에야 가능):",
                    "One modification for both, gp2 → gp3 and {} → {} GiB (online, no downtime; EBS takes this volume's next change only 6 hours later):",
                    v.size_gib,
                    size
                ),
            );
            s.cmd(cx, steps::modify_volume(&v.id, Some("gp3"), Some(size)));
            then_guest(s, &v.id);
            return;
        }
        (Some((v, size)), _) => {
            s.step(l!(
                    lang,
                    "볼륨을 {} → {} GiB로 온라인 확장 (다음 변경은 6시간 후에야 가능하므로 크기와 타입을 지금 한 번에 정할 것):",
                    "Grow the volume {} → {} GiB online (the next change waits 6 hours, so settle size and type in this one call):",
                    v.size_gib,
                    size
                ),
            );
            s.cmd(cx, steps::modify_volume(&v.id, None, Some(size)));
            then_guest(s, &v.id);
        }
        (None, _) if disk.is_some() => s.step(l!(
                lang,
                "정리로 부족하면 볼륨 확장: 새 크기(타입 변경도 같이)를 한 번의 modify-volume으로 (다음 변경은 6시간 후), 이후 growpart와 resize2fs/xfs_growfs",
                "If clearing is not enough, grow the volume: the new size (and any type change) in one modify-volume (the next change waits 6 hours), then growpart and resize2fs/xfs_growfs"
            ),
        ),
        (None, _) => {}
    }
    if let Some(b) = burst {
        s.step(l!(
                lang,
                "gp2 → gp3로 온라인 변경 (다운타임 없음, 3,000 IOPS 기본 제공). 용량도 늘려야 하면 같은 호출에 --size 추가 (다음 변경은 6시간 후):",
                "Change gp2 → gp3 online (no downtime, 3,000 IOPS baseline). If it also needs space, add --size to this same call (the next change waits 6 hours):"
            ),
        );
        match b {
            Some(b) => s.cmd(cx, steps::modify_volume(b, Some("gp3"), None)),
            // The metric names no volume: the instance's gp2 volumes are the candidates.
            None => s.cmd(cx, Command::new("aws ec2 describe-volumes")
                    .json(
                        "--filters",
                        &serde_json::json!([
                            {"Name": "attachment.instance-id", "Values": [cx.instance_id.unwrap_or("INSTANCE_ID")]},
                            {"Name": "volume-type", "Values": ["gp2"]}
                        ]),
                    )
                    .arg("--query", "QUERY", "Volumes[].VolumeId"),
            ),
        }
    }
}

/// After a volume modification: wait until it is `optimizing`, then grow the partition and the file system — with
/// the exact commands when the disk alarm names the device and the file system of the full path.
fn grow_in_guest(cx: &Ctx<'_>, s: &mut Steps, volume: &str, disk: Option<(Option<&str>, f64)>) {
    let lang = cx.lang;
    let path = disk.and_then(|(p, _)| p);
    let grow = path.and_then(|path| {
        let m = cx
            .change
            .primary_metric()
            .filter(|m| m.name == crate::catalogue::DISK_USED_PERCENT)?;
        (m.dimensions.get("path").map(String::as_str) == Some(path)).then_some(())?;
        steps::grow_file_system(
            m.dimensions.get("device")?,
            m.dimensions.get("fstype")?,
            path,
        )
    });
    let Some(grow) = grow else {
        s.step(l!(
                lang,
                "볼륨이 optimizing 상태가 되면 OS에서 파티션과 파일시스템 확장 (growpart 후 resize2fs 또는 xfs_growfs)",
                "Once the volume is `optimizing`, extend the partition and the file system in the OS (growpart, then resize2fs or xfs_growfs)"
            ),
        );
        return;
    };
    s.step(l!(
        lang,
        "변경 상태가 optimizing 또는 completed가 될 때까지 확인 (보통 수 분):",
        "Check the modification until it reads `optimizing` or `completed` (usually minutes):"
    ));
    s.cmd(
        cx,
        Command::new("aws ec2 describe-volumes-modifications")
            .arg("--volume-ids", "VOLUME_ID", volume)
            .arg(
                "--query",
                "QUERY",
                "VolumesModifications[0].ModificationState",
            )
            .lit("--output text"),
    );
    s.step(l!(
        lang,
        "그다음 OS에서 파티션과 파일시스템 확장 (SSM Run Command):",
        "Then grow the partition and the file system in the OS (SSM Run Command):"
    ));
    let grow: Vec<&str> = grow.iter().map(String::as_str).collect();
    s.cmds(
        cx,
        steps::shell(cx.instance_id.unwrap_or("INSTANCE_ID"), &grow),
    );
}

/// EC2's own word on the instance's last state change: its state, `StateReason` and `StateTransitionReason`.
pub(super) fn state_reason(id: &str) -> Command {
    Command::new("aws ec2 describe-instances")
        .arg("--instance-ids", "INSTANCE_ID", id)
        .arg(
            "--query",
            "QUERY",
            "Reservations[0].Instances[0].[State.Name,StateReason.Code,StateReason.Message,StateTransitionReason]",
        )
        .lit("--output text")
}

/// CloudTrail's events about one resource (the id as JSON: the shorthand would read a `,` in it as a separator).
pub(super) fn lookup_events(id: &str) -> Command {
    Command::new("aws cloudtrail lookup-events")
        .json(
            "--lookup-attributes",
            &serde_json::json!([{ "AttributeKey": "ResourceName", "AttributeValue": id }]),
        )
        .lit("--max-results 10")
}
