//! The metric catalogue: every CloudWatch metric ec2ops reads by name, and for each role a series plays in the
//! metric window the namespace, metric, statistic, unit and GetMetricData query id. The one place a metric name is
//! spelled; planning, rules and rendering look it up here.

use crate::facts::Role;

/// `AWS/EC2`: the metrics EC2 publishes for every instance.
pub const EC2: &str = "AWS/EC2";
/// `CWAgent`: the CloudWatch agent's metrics (memory, disk), with the dimensions the agent's configuration chose.
pub const AGENT: &str = "CWAgent";
/// `AWS/EBS`: volume metrics.
pub const EBS: &str = "AWS/EBS";

pub const CPU_UTILIZATION: &str = "CPUUtilization";
pub const NETWORK_IN: &str = "NetworkIn";
pub const NETWORK_OUT: &str = "NetworkOut";
pub const CPU_CREDIT_BALANCE: &str = "CPUCreditBalance";
/// The combined status metric: 1 when either the instance or the system check fails.
pub const STATUS_CHECK_FAILED: &str = "StatusCheckFailed";
pub const STATUS_CHECK_FAILED_SYSTEM: &str = "StatusCheckFailed_System";
pub const STATUS_CHECK_FAILED_INSTANCE: &str = "StatusCheckFailed_Instance";
pub const STATUS_CHECK_FAILED_ATTACHED_EBS: &str = "StatusCheckFailed_AttachedEBS";
pub const MEM_USED_PERCENT: &str = "mem_used_percent";
pub const DISK_USED_PERCENT: &str = "disk_used_percent";
pub const BURST_BALANCE: &str = "BurstBalance";
/// Credits spent beyond the earned balance (unlimited mode).
pub const CPU_SURPLUS_CREDIT_BALANCE: &str = "CPUSurplusCreditBalance";
pub const CPU_CREDIT_USAGE: &str = "CPUCreditUsage";
pub const EBS_READ_BYTES: &str = "EBSReadBytes";
pub const EBS_WRITE_BYTES: &str = "EBSWriteBytes";
/// The memory metric of some other agents (not the CloudWatch agent's name for it).
pub const MEMORY_UTILIZATION: &str = "MemoryUtilization";

/// Every metric name above: what the source scan (`shared/tests/catalogue_sources.rs`) finds spelled elsewhere.
pub const METRICS: &[&str] = &[
    CPU_UTILIZATION,
    NETWORK_IN,
    NETWORK_OUT,
    CPU_CREDIT_BALANCE,
    STATUS_CHECK_FAILED,
    STATUS_CHECK_FAILED_SYSTEM,
    STATUS_CHECK_FAILED_INSTANCE,
    STATUS_CHECK_FAILED_ATTACHED_EBS,
    MEM_USED_PERCENT,
    DISK_USED_PERCENT,
    BURST_BALANCE,
    CPU_SURPLUS_CREDIT_BALANCE,
    CPU_CREDIT_USAGE,
    EBS_READ_BYTES,
    EBS_WRITE_BYTES,
    MEMORY_UTILIZATION,
];

/// The query ids of the discovered per-filesystem and per-volume series: `x_extra0`, `x_extra1`, … in the order
/// they were added.
pub const EXTRA_QUERY_PREFIX: &str = "x_extra";

/// Filesystems (`disk_used_percent`, one series per path) the window keeps: [`Role::Disk`] `0..DISK_SLOTS`.
pub const DISK_SLOTS: u8 = 3;
/// gp2 volumes (`BurstBalance`, one series per volume) the window keeps: [`Role::Burst`] `0..BURST_SLOTS`.
pub const BURST_SLOTS: u8 = 2;

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Percent,
    Bytes,
    Count,
    Credits,
    Plain,
}

/// The unit of a metric, by name (the alarm's own metric included, whatever role it plays).
pub fn unit_of(metric: &str) -> Unit {
    match metric {
        CPU_UTILIZATION | MEM_USED_PERCENT | DISK_USED_PERCENT | BURST_BALANCE => Unit::Percent,
        NETWORK_IN | NETWORK_OUT | EBS_READ_BYTES | EBS_WRITE_BYTES => Unit::Bytes,
        m if m.starts_with(STATUS_CHECK_FAILED) => Unit::Count,
        CPU_CREDIT_BALANCE | CPU_SURPLUS_CREDIT_BALANCE | CPU_CREDIT_USAGE => Unit::Credits,
        _ => Unit::Plain,
    }
}

/// The alarm family of a metric: what a reader groups alarms by (all status checks together, all CPU together).
pub fn family(metric: Option<&str>) -> &'static str {
    let Some(m) = metric else {
        return "other";
    };
    if m.starts_with(STATUS_CHECK_FAILED) {
        "status checks"
    } else if m.starts_with("CPU") {
        "CPU"
    } else if m.starts_with("mem_") {
        "memory"
    } else if m.starts_with("disk_") {
        "disk"
    } else if m.starts_with("Network") {
        "network"
    } else if m == BURST_BALANCE || m.starts_with("Volume") || m.starts_with("EBS") {
        "EBS"
    } else {
        "other"
    }
}

/// Where a role's series comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricSpec {
    pub role: Role,
    pub namespace: &'static str,
    pub name: &'static str,
    pub stat: &'static str,
    pub unit: Unit,
    /// The GetMetricData query id (the window's own; the alarm's queries keep theirs).
    pub query_id: &'static str,
}

const fn spec(
    role: Role,
    namespace: &'static str,
    name: &'static str,
    stat: &'static str,
    unit: Unit,
    query_id: &'static str,
) -> MetricSpec {
    MetricSpec {
        role,
        namespace,
        name,
        stat,
        unit,
        query_id,
    }
}

/// The instance's correlated metrics, in the order they are worth a place in the window's 12-metric budget. Memory
/// is the agent's default (`InstanceId` only); a discovered `mem_used_percent` with its real dimensions replaces it.
pub const CORRELATED: [MetricSpec; 8] = [
    spec(
        Role::Cpu,
        EC2,
        CPU_UTILIZATION,
        "Average",
        Unit::Percent,
        "x_cpu",
    ),
    spec(
        Role::NetworkIn,
        EC2,
        NETWORK_IN,
        "Sum",
        Unit::Bytes,
        "x_net_in",
    ),
    spec(
        Role::NetworkOut,
        EC2,
        NETWORK_OUT,
        "Sum",
        Unit::Bytes,
        "x_net_out",
    ),
    spec(
        Role::StatusSystem,
        EC2,
        STATUS_CHECK_FAILED_SYSTEM,
        "Maximum",
        Unit::Count,
        "x_sys",
    ),
    spec(
        Role::StatusInstance,
        EC2,
        STATUS_CHECK_FAILED_INSTANCE,
        "Maximum",
        Unit::Count,
        "x_inst",
    ),
    spec(
        Role::StatusEbs,
        EC2,
        STATUS_CHECK_FAILED_ATTACHED_EBS,
        "Maximum",
        Unit::Count,
        "x_ebs",
    ),
    spec(
        Role::CpuCredits,
        EC2,
        CPU_CREDIT_BALANCE,
        "Average",
        Unit::Credits,
        "x_credits",
    ),
    spec(
        Role::Memory,
        AGENT,
        MEM_USED_PERCENT,
        "Average",
        Unit::Percent,
        "x_mem",
    ),
];

/// A filesystem's `disk_used_percent` (the agent's own dimensions, discovered with ListMetrics).
pub const DISK: MetricSpec = spec(
    Role::Disk(0),
    AGENT,
    DISK_USED_PERCENT,
    "Maximum",
    Unit::Percent,
    EXTRA_QUERY_PREFIX,
);

/// A gp2 volume's `BurstBalance` (by `VolumeId`).
pub const BURST: MetricSpec = spec(
    Role::Burst(0),
    EBS,
    BURST_BALANCE,
    "Minimum",
    Unit::Percent,
    EXTRA_QUERY_PREFIX,
);

/// The metric a role's series is (the alarm's own has none: it is whatever the alarm watches).
pub fn metric_of(role: Role) -> Option<&'static str> {
    match role {
        Role::Alarm => None,
        Role::Disk(_) => Some(DISK.name),
        Role::Burst(_) => Some(BURST.name),
        other => CORRELATED.iter().find(|s| s.role == other).map(|s| s.name),
    }
}

/// The per-filesystem and per-volume roles, in the order the report lists them.
pub fn slot_roles() -> impl Iterator<Item = Role> {
    (0..DISK_SLOTS)
        .map(Role::Disk)
        .chain((0..BURST_SLOTS).map(Role::Burst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_correlated_role_has_one_spec_and_its_own_query_id() {
        let mut ids: Vec<&str> = CORRELATED.iter().map(|s| s.query_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CORRELATED.len());
        for s in CORRELATED {
            assert_eq!(metric_of(s.role), Some(s.name));
            assert_eq!(unit_of(s.name), s.unit);
        }
    }

    #[test]
    fn slot_roles_list_every_disk_then_every_volume() {
        let roles: Vec<Role> = slot_roles().collect();
        assert_eq!(
            roles,
            vec![
                Role::Disk(0),
                Role::Disk(1),
                Role::Disk(2),
                Role::Burst(0),
                Role::Burst(1)
            ]
        );
    }
}
