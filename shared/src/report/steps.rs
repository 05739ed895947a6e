//! Operator command sequences whose order and completeness matter: a stop is always followed by the wait before
//! anything that needs a stopped instance, a Run Command always comes with the way to read its output, an EBS volume
//! is modified in one call. Built only with [`Command`], so every value from an event or an instance is quoted.

use serde_json::{json, Value};

use super::shell::Command;

/// Where the CloudWatch agent's configuration is kept: the `AmazonCloudWatch-` prefix is what the managed policy
/// `CloudWatchAgentServerPolicy` lets the instance read.
pub const AGENT_CONFIG_PARAMETER: &str = "AmazonCloudWatch-ec2ops";

/// Minutes to let AWS's own recovery (simplified automatic recovery) work before acting by hand.
pub const AWS_RECOVERY_GRACE_MINUTES: i64 = 15;

/// The processes using the CPU now: top's first iteration reports each process's average since it started, like
/// `ps`; the second, one second later, is the current use. Sorted by CPU, full command lines (a JVM's jar, a
/// script's name), the header and the first 15 processes.
pub const CPU_NOW: &str =
    "top -b -c -n 2 -d 1 -o %CPU -w 512 | awk '/^top -/{n++} n==2' | head -22";

/// The established TCP connections and the process holding each.
pub const CONNECTIONS: &str = "ss -tnp state established | head -30";

/// Deleted files a process still holds open: their space comes back only when the process closes them (or
/// restarts), however much is deleted.
pub const DELETED_OPEN: &str = "lsof -nP +L1 2>/dev/null | head -20";

/// Share of a grown volume the file system should use right after growing it.
const GROW_TO_USED_PERCENT: f64 = 70.0;

pub fn stop(id: &str) -> Command {
    Command::new("aws ec2 stop-instances").arg("--instance-ids", "INSTANCE_ID", id)
}

/// The forced stop, for an instance stuck in `stopping` (skips the OS's clean shutdown).
pub fn force_stop(id: &str) -> Command {
    stop(id).lit("--force")
}

pub fn wait_stopped(id: &str) -> Command {
    Command::new("aws ec2 wait instance-stopped").arg("--instance-ids", "INSTANCE_ID", id)
}

pub fn start(id: &str) -> Command {
    Command::new("aws ec2 start-instances").arg("--instance-ids", "INSTANCE_ID", id)
}

/// Stop, wait until EC2 reports `stopped`, start: a start sent while the instance is still stopping fails with
/// IncorrectInstanceState.
pub fn stop_start(id: &str) -> Vec<Command> {
    vec![stop(id), wait_stopped(id), start(id)]
}

/// A type change: only a stopped instance can change type, so stop → wait → modify → start (downtime).
pub fn resize(id: &str, to: &str) -> Vec<Command> {
    vec![
        stop(id),
        wait_stopped(id),
        Command::new("aws ec2 modify-instance-attribute")
            .arg("--instance-id", "INSTANCE_ID", id)
            .json("--instance-type", &json!({ "Value": to })),
        start(id),
    ]
}

/// The disk and the partition number of a block device as the CloudWatch agent names it (`nvme0n1p1` →
/// `/dev/nvme0n1` and 1, `xvda1` → `/dev/xvda` and 1); `None` for a whole disk without a partition table
/// (`nvme1n1`, `xvdf`) or a name that is not a plain device name.
pub fn partition_of(device: &str) -> Option<(String, String)> {
    let d = device.strip_prefix("/dev/").unwrap_or(device);
    if d.is_empty()
        || !d
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return None;
    }
    let (disk, part) = if d.starts_with("nvme") {
        let (disk, part) = d.rsplit_once('p')?;
        (disk, part)
    } else {
        let disk = d.trim_end_matches(|c: char| c.is_ascii_digit());
        (disk, &d[disk.len()..])
    };
    let numbered = !part.is_empty() && part.chars().all(|c| c.is_ascii_digit());
    (numbered && disk.ends_with(|c: char| c.is_ascii_alphanumeric()))
        .then(|| (format!("/dev/{disk}"), part.to_string()))
}

/// The in-guest commands that grow a partition and its file system over a grown volume: `growpart` on the
/// partition (when there is one), then `xfs_growfs` on the mount path or `resize2fs` on the device, then `df` to
/// show the new size. `None` when the file system is not one of those two kinds or the device is not a plain name.
pub fn grow_file_system(device: &str, fstype: &str, path: &str) -> Option<Vec<String>> {
    let d = device.strip_prefix("/dev/").unwrap_or(device);
    if d.is_empty()
        || !d
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return None;
    }
    let grow_fs = match fstype {
        "xfs" => format!(
            "xfs_growfs -d {}{}",
            if path.starts_with('-') { "-- " } else { "" },
            super::shell::remote_word("MOUNT_PATH", path)
        ),
        "ext4" | "ext3" | "ext2" => format!(
            "resize2fs {}",
            super::shell::remote_word("DEVICE", &["/dev/", d].concat())
        ),
        _ => return None,
    };
    let mut out = Vec::new();
    if let Some((disk, part)) = partition_of(d) {
        out.push(format!(
            "growpart {} {}",
            super::shell::remote_word("DISK", &disk),
            super::shell::remote_word("PARTITION", &part)
        ));
    }
    out.push(grow_fs);
    out.push(format!(
        "df -hP {}{}",
        if path.starts_with('-') { "-- " } else { "" },
        super::shell::remote_word("MOUNT_PATH", path)
    ));
    Some(out)
}

/// The shell variable a Run Command's id is captured into, for the wait and the output that follow it.
const COMMAND_ID: &str = "command_id";

/// A Run Command and the two commands that read its result: the send's command id is captured in `$command_id`;
/// the wait ends when the command has run; the invocation's standard output is the answer. Pasted in order into
/// one shell, the three run as written.
pub fn ssm(id: &str, document: &str, parameters: &Value) -> Vec<Command> {
    vec![
        ssm_send(id, document, parameters).into_var(COMMAND_ID),
        ssm_wait(id),
        Command::new("aws ssm get-command-invocation")
            .var("--command-id", COMMAND_ID)
            .arg("--instance-id", "INSTANCE_ID", id)
            .lit("--query StandardOutputContent --output text"),
    ]
}

/// `commands` run by `AWS-RunShellScript`, with the reading of the output.
pub fn shell(id: &str, commands: &[&str]) -> Vec<Command> {
    ssm(id, "AWS-RunShellScript", &json!({ "commands": commands }))
}

fn ssm_send(id: &str, document: &str, parameters: &Value) -> Command {
    debug_assert!(document
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-'));
    Command::new("aws ssm send-command")
        .lit(&format!("--document-name {document}"))
        .arg("--instance-ids", "INSTANCE_ID", id)
        .json("--parameters", parameters)
        .lit("--query Command.CommandId --output text")
}

fn ssm_wait(id: &str) -> Command {
    Command::new("aws ssm wait command-executed")
        .var("--command-id", COMMAND_ID)
        .arg("--instance-id", "INSTANCE_ID", id)
}

/// The agent's configuration: memory and disk use, the metrics the report reads.
fn agent_config() -> String {
    json!({
        "metrics": {
            "append_dimensions": { "InstanceId": "${aws:InstanceId}" },
            "metrics_collected": {
                "mem": { "measurement": [crate::catalogue::MEM_USED_PERCENT] },
                "disk": { "measurement": ["used_percent"], "resources": ["*"] }
            }
        }
    })
    .to_string()
}

/// Install the CloudWatch agent and configure it: `AWS-ConfigureAWSPackage` only installs it (an agent without a
/// configuration publishes nothing), so the configuration goes to Parameter Store and `AmazonCloudWatch-ManageAgent`
/// applies it once the install has run.
pub fn agent_install_and_configure(id: &str) -> Vec<Command> {
    vec![
        Command::new("aws ssm put-parameter")
            .arg("--name", "PARAMETER_NAME", AGENT_CONFIG_PARAMETER)
            .lit("--type String")
            .arg("--value", "CONFIG", &agent_config()),
        ssm_send(
            id,
            "AWS-ConfigureAWSPackage",
            &json!({ "action": ["Install"], "name": ["AmazonCloudWatchAgent"] }),
        )
        .into_var(COMMAND_ID),
        ssm_wait(id),
        ssm_send(
            id,
            "AmazonCloudWatch-ManageAgent",
            &json!({
                "action": ["configure"],
                "mode": ["ec2"],
                "optionalConfigurationSource": ["ssm"],
                "optionalConfigurationLocation": [AGENT_CONFIG_PARAMETER],
                "optionalRestart": ["yes"]
            }),
        ),
    ]
}

/// One `modify-volume` with everything the volume needs: after a modification EBS refuses the next one for six
/// hours, so a type change and a size change must go together.
pub fn modify_volume(volume: &str, volume_type: Option<&str>, size_gib: Option<i64>) -> Command {
    let mut c = Command::new("aws ec2 modify-volume").name("--volume-id", "VOLUME_ID", volume);
    if let Some(t) = volume_type {
        c = c.arg("--volume-type", "VOLUME_TYPE", t);
    }
    if let Some(s) = size_gib {
        c = c.arg("--size", "SIZE_GIB", &s.to_string());
    }
    c
}

/// The size that brings a file system `used_percent` full back to about 70 %, in whole 10 GiB, and always larger.
pub fn grown_size(size_gib: i64, used_percent: f64) -> i64 {
    let needed = (size_gib as f64 * used_percent / GROW_TO_USED_PERCENT).ceil() as i64;
    let rounded = (needed.max(0) + 9) / 10 * 10;
    rounded.max(size_gib + 1)
}

/// What an impaired instance shows before its group terminates it: the console output and a screenshot of the
/// console (a base64 JPEG).
pub fn console_evidence(id: &str) -> Vec<Command> {
    vec![
        Command::new("aws ec2 get-console-output")
            .arg("--instance-id", "INSTANCE_ID", id)
            .lit("--latest --output text"),
        Command::new("aws ec2 get-console-screenshot")
            .arg("--instance-id", "INSTANCE_ID", id)
            .lit("--query ImageData --output text"),
    ]
}

/// Whether the group is replacing its member: the member's lifecycle state (one in `Standby` is not replaced) and
/// health, the group's suspended processes (`HealthCheck`, `ReplaceUnhealthy`), then its scaling activities.
pub fn asg_replacing(id: &str, group: &str) -> Vec<Command> {
    vec![
        Command::new("aws autoscaling describe-auto-scaling-instances")
            .values("--instance-ids", "INSTANCE_ID", &[id])
            .arg(
                "--query",
                "QUERY",
                "AutoScalingInstances[0].[LifecycleState,HealthStatus]",
            )
            .lit("--output text"),
        Command::new("aws autoscaling describe-auto-scaling-groups")
            .names("--auto-scaling-group-names", "ASG_NAME", &[group])
            .arg(
                "--query",
                "QUERY",
                "AutoScalingGroups[0].SuspendedProcesses[].ProcessName",
            )
            .lit("--output text"),
        Command::new("aws autoscaling describe-scaling-activities")
            .name("--auto-scaling-group-name", "ASG_NAME", group)
            .lit("--max-items 5"),
    ]
}

/// Hand a member the group does not replace on its own to the group: marked Unhealthy, it is terminated.
pub fn asg_mark_unhealthy(id: &str) -> Command {
    Command::new("aws autoscaling set-instance-health")
        .arg("--instance-id", "INSTANCE_ID", id)
        .lit("--health-status Unhealthy")
}

/// The shell variable the group's first load-balancer target group is captured into.
const TARGET_GROUP: &str = "target_group";

/// The load balancer's view of an instance: the group's first Elastic Load Balancing v2 target group (captured in
/// `$target_group`; `TargetGroupARNs` lists only those), then the instance's health in it. A group without one
/// prints `None` and the second command says the ARN is not valid: there is no load balancer to ask.
pub fn asg_target_health(id: &str, group: &str) -> Vec<Command> {
    vec![
        Command::new("aws autoscaling describe-auto-scaling-groups")
            .names("--auto-scaling-group-names", "ASG_NAME", &[group])
            .arg(
                "--query",
                "QUERY",
                "AutoScalingGroups[0].TargetGroupARNs[0]",
            )
            .lit("--output text")
            .into_var(TARGET_GROUP),
        Command::new("aws elbv2 describe-target-health")
            .var("--target-group-arn", TARGET_GROUP)
            .json("--targets", &json!([{ "Id": id }])),
    ]
}

/// More instances in the group: the desired capacity is read into `$desired`, then raised by one (the group's
/// maximum still applies: above it, Auto Scaling refuses with a ValidationError naming the maximum).
pub fn asg_scale_out(group: &str) -> Vec<Command> {
    vec![
        Command::new("aws autoscaling describe-auto-scaling-groups")
            .names("--auto-scaling-group-names", "ASG_NAME", &[group])
            .arg("--query", "QUERY", "AutoScalingGroups[0].DesiredCapacity")
            .lit("--output text")
            .into_var("desired"),
        Command::new("aws autoscaling set-desired-capacity")
            .name("--auto-scaling-group-name", "ASG_NAME", group)
            .arithmetic("--desired-capacity", "desired+1"),
    ]
}

/// An image of a lone instance to launch a second one from, without rebooting it. Its name (unique in the account
/// and region, as EC2 requires) is the instance and the incident's minute: `i-…-scale-out-20250720T1220`.
pub fn image_for_scale_out(id: &str, at: chrono::DateTime<chrono::Utc>) -> Command {
    Command::new("aws ec2 create-image")
        .arg("--instance-id", "INSTANCE_ID", id)
        .arg(
            "--name",
            "IMAGE_NAME",
            &format!("{id}-scale-out-{}", at.format("%Y%m%dT%H%M")),
        )
        .lit("--no-reboot")
}

/// The instance's configuration as AWS Config last recorded it at or before `at`: the type before a type change, which
/// CloudTrail does not keep (its event has only the new one).
pub fn config_before(id: &str, at: chrono::DateTime<chrono::Utc>) -> Command {
    Command::new("aws configservice get-resource-config-history --resource-type AWS::EC2::Instance")
        .arg("--resource-id", "INSTANCE_ID", id)
        .arg(
            "--later-time",
            "TIME",
            &(at - chrono::Duration::seconds(1))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        )
        .lit("--limit 1")
        .arg("--query", "QUERY", "configurationItems[0].configuration")
        .lit("--output text")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_system_is_grown_on_its_own_partition_with_its_own_tool() {
        assert_eq!(
            partition_of("nvme0n1p1"),
            Some(("/dev/nvme0n1".into(), "1".into()))
        );
        assert_eq!(
            partition_of("/dev/xvda1"),
            Some(("/dev/xvda".into(), "1".into()))
        );
        assert_eq!(partition_of("nvme1n1"), None);
        assert_eq!(partition_of("xvdf"), None);
        assert_eq!(partition_of("sda1;reboot"), None);
        assert_eq!(
            grow_file_system("nvme0n1p1", "xfs", "/").unwrap(),
            ["growpart /dev/nvme0n1 1", "xfs_growfs -d /", "df -hP /"]
        );
        assert_eq!(
            grow_file_system("nvme1n1", "ext4", "/data").unwrap(),
            ["resize2fs /dev/nvme1n1", "df -hP /data"]
        );
        assert_eq!(grow_file_system("xvda1", "btrfs", "/"), None);
    }

    fn rendered(cs: &[Command]) -> Vec<String> {
        cs.iter().map(Command::render).collect()
    }

    #[test]
    fn a_stop_start_waits_for_the_stop_before_starting() {
        let r = rendered(&stop_start("i-1"));
        assert_eq!(
            r,
            [
                "aws ec2 stop-instances --instance-ids i-1",
                "aws ec2 wait instance-stopped --instance-ids i-1",
                "aws ec2 start-instances --instance-ids i-1",
            ]
        );
    }

    #[test]
    fn a_type_change_stops_waits_modifies_and_starts() {
        let r = rendered(&resize("i-1", "m5.xlarge"));
        assert_eq!(r[1], "aws ec2 wait instance-stopped --instance-ids i-1");
        assert_eq!(
            r[2],
            r#"aws ec2 modify-instance-attribute --instance-id i-1 --instance-type '{"Value":"m5.xlarge"}'"#
        );
        assert_eq!(r[3], "aws ec2 start-instances --instance-ids i-1");
    }

    #[test]
    fn a_run_command_comes_with_the_wait_and_the_output() {
        let r = rendered(&shell("i-1", &["uptime"]));
        assert!(r[0].starts_with("command_id=$(aws ssm send-command "));
        assert!(r[0].ends_with("--query Command.CommandId --output text)"));
        assert_eq!(
            r[1],
            "aws ssm wait command-executed --command-id \"$command_id\" --instance-id i-1"
        );
        assert_eq!(
            r[2],
            "aws ssm get-command-invocation --command-id \"$command_id\" --instance-id i-1 --query StandardOutputContent --output text"
        );
    }

    #[test]
    fn a_scale_out_raises_the_capacity_it_read_by_one() {
        let r = rendered(&asg_scale_out("web"));
        assert_eq!(
            r[0],
            "desired=$(aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names 'web' --query 'AutoScalingGroups[0].DesiredCapacity' --output text)"
        );
        assert_eq!(
            r[1],
            "aws autoscaling set-desired-capacity --auto-scaling-group-name 'web' --desired-capacity $((desired+1))"
        );
    }

    #[test]
    fn the_target_health_asks_the_target_group_the_group_uses() {
        let r = rendered(&asg_target_health("i-1", "web"));
        assert!(r[0].starts_with("target_group=$(aws autoscaling describe-auto-scaling-groups"));
        assert!(
            r[1].contains("--target-group-arn \"$target_group\""),
            "{}",
            r[1]
        );
    }

    #[test]
    fn an_image_is_named_by_its_instance_and_minute() {
        let at = chrono::DateTime::parse_from_rfc3339("2025-07-20T12:20:28Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        assert_eq!(
            image_for_scale_out("i-1", at).render(),
            "aws ec2 create-image --instance-id i-1 --name i-1-scale-out-20250720T1220 --no-reboot"
        );
    }

    #[test]
    fn the_agent_is_configured_after_it_is_installed() {
        let r = rendered(&agent_install_and_configure("i-1"));
        let install = r
            .iter()
            .position(|c| c.contains("AWS-ConfigureAWSPackage"))
            .unwrap();
        let wait = r
            .iter()
            .position(|c| c.contains("wait command-executed"))
            .unwrap();
        let configure = r
            .iter()
            .position(|c| c.contains("AmazonCloudWatch-ManageAgent"))
            .unwrap();
        assert!(install < wait && wait < configure);
        assert!(r[0].contains("mem_used_percent") && r[0].contains(AGENT_CONFIG_PARAMETER));
        assert!(
            r[configure].contains(r#""optionalConfigurationLocation":["AmazonCloudWatch-ec2ops"]"#)
        );
    }

    #[test]
    fn a_volume_changes_type_and_size_in_one_call() {
        assert_eq!(
            modify_volume("vol-1", Some("gp3"), Some(140)).render(),
            "aws ec2 modify-volume --volume-id 'vol-1' --volume-type gp3 --size 140"
        );
    }

    #[test]
    fn a_grown_volume_is_about_seventy_percent_used_and_always_larger() {
        assert_eq!(grown_size(100, 94.09), 140);
        assert_eq!(grown_size(8, 10.0), 10);
        assert_eq!(grown_size(1000, 1.0), 1001);
    }
}
