//! What the report recommends for an incident, decided once from the findings and the facts so that every section
//! renders the same decision: the remedy, whether AWS's automatic recovery covers the instance, and which advice
//! bears on the incident (exposure, recurrence, availability, in-guest metrics).

use serde::Serialize;

use crate::facts::{DailyPattern, Facts, InstanceFacts, Source};
use crate::model::{AlarmState, Incident};

use super::{Finding, RuleId};
use crate::catalogue;

/// ALARM transitions in 7 days that make a pattern worth automating.
pub const RECURRING_TRANSITIONS: usize = 3;

/// What the operator should do about the instance; it also decides the billing effect and which advice bears on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Remedy {
    Reboot,
    StopStart,
    /// AWS's simplified automatic recovery is on and recovering the instance: wait for it, stop/start only if it
    /// has not recovered within the grace the report states.
    AwsRecovers,
    /// An Auto Scaling member: the group replaces it.
    Replace,
    Wait,
    Resize,
    Investigate,
    Nothing,
}

/// Simplified automatic recovery for one instance (EC2 user guide: on by default on supported types; not for Auto
/// Scaling members, Dedicated Hosts, EFA or instance-store types).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AutoRecovery {
    /// On: AWS recovers the instance itself after a system status check failure.
    On,
    /// Turned off on the instance (`MaintenanceOptions.AutoRecovery=disabled`); it can be turned back on.
    Off,
    /// Not available for this instance; the reason is one of ours, for the report.
    NotAvailable(NotAvailable),
    /// The setting or the type's support could not be read.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum NotAvailable {
    /// An Auto Scaling member: the group replaces it instead.
    AutoScalingMember,
    /// The type does not support it (instance store and the like), or it runs on a Dedicated Host or with EFA.
    Unsupported,
}

/// The recommendation: one value every section reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub remedy: Remedy,
    /// The instance's automatic recovery (`None`: no instance facts).
    pub auto_recovery: Option<AutoRecovery>,
    /// Exposure to the internet bears on the incident: an admin port the internet can reach (a world-open rule on
    /// an instance with a public address) on an incident that may be an attack (a suspected compromise, inbound
    /// traffic that led the CPU, CPU spent beyond the owner's: sustained, or the credits exhausted).
    pub exposure_matters: bool,
    /// ALARM transitions of the alarm in the last 7 days, when they make a pattern (≥ [`RECURRING_TRANSITIONS`]).
    pub recurring: Option<usize>,
    /// The transitions came at the same time of day on three or more days: a scheduled job is the likely trigger.
    pub daily: Option<DailyPattern>,
    /// The incident is about the instance being down or out of capacity: who replaces or recovers it (Auto Scaling,
    /// automatic recovery) bears on it.
    pub availability_matters: bool,
    /// In-guest memory or disk figures bear on the incident: a memory or disk alarm or finding, or an instance check
    /// (the kernel's OOM killer and a full root volume are common causes).
    pub guest_metrics_matter: bool,
    /// Opting the instance in would let ec2ops act on this incident: not where it would hold anyway (a group
    /// member, which the group replaces; a system check that AWS's own recovery covers).
    pub opt_in_would_act: bool,
}

pub fn auto_recovery(i: &InstanceFacts, facts: &Facts) -> AutoRecovery {
    if i.asg().is_some() {
        return AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember);
    }
    let supported = facts
        .instance_type
        .get()
        .map(|t| t.auto_recovery_supported && !t.instance_storage);
    if supported == Some(false)
        || i.root_device_type.as_deref() == Some("instance-store")
        || i.tenancy.as_deref() == Some("host")
        || i.efa
    {
        return AutoRecovery::NotAvailable(NotAvailable::Unsupported);
    }
    match (i.auto_recovery.as_deref(), supported) {
        (Some("disabled"), _) => AutoRecovery::Off,
        (Some("default"), Some(true)) => AutoRecovery::On,
        _ => AutoRecovery::Unknown,
    }
}

/// Decide the recommendation from the incident, its findings and the facts.
pub fn recommend(change: &Incident, findings: &[Finding], facts: &Facts) -> Recommendation {
    let has = |rule: RuleId| findings.iter().any(|f| f.rule == rule);
    let instance = facts.found_instance();
    let auto = instance.map(|i| auto_recovery(i, facts));
    let mut remedy = remedy(change, &has, instance, auto.as_ref());
    // A retirement, a maintenance or a failed recovery that AWS announces is met by a stop/start before its deadline
    // (🔧's steps), on an EBS-backed instance that no group replaces.
    let announced = findings.iter().any(|f| {
        matches!(
            f.detail,
            super::Detail::Health {
                kind: super::HealthKind::Retirement
                    | super::HealthKind::Maintenance
                    | super::HealthKind::RecoveryFailed,
                ..
            }
        )
    });
    let ebs_lone = instance.is_some_and(|i| {
        i.asg().is_none() && i.root_device_type.as_deref() != Some("instance-store")
    });
    if remedy == Remedy::Investigate && announced && ebs_lone {
        remedy = Remedy::StopStart;
    }
    let (recurring, daily) = match &facts.history {
        Source::Available(h) => (
            Some(h.alarm_transitions()).filter(|n| *n >= RECURRING_TRANSITIONS),
            h.daily_pattern(),
        ),
        Source::Unavailable(_) => (None, None),
    };
    let availability_matters = [
        RuleId::SysCheck,
        RuleId::InstCheck,
        RuleId::EbsCheck,
        RuleId::AzEvent,
        RuleId::Stopped,
        RuleId::Health,
        RuleId::CpuSustained,
    ]
    .into_iter()
    .any(has)
        || matches!(
            remedy,
            Remedy::Reboot | Remedy::StopStart | Remedy::AwsRecovers | Remedy::Resize
        );
    let guest_metrics_matter = [RuleId::Mem, RuleId::Disk, RuleId::InstCheck]
        .into_iter()
        .any(has)
        || matches!(
            change.metric_name(),
            Some(
                catalogue::MEM_USED_PERCENT
                    | catalogue::DISK_USED_PERCENT
                    | catalogue::MEMORY_UTILIZATION
            )
        );
    let opt_in_would_act = match remedy {
        // ec2ops acts on status checks, never on an AWS Health notice.
        Remedy::Reboot | Remedy::StopStart => !has(RuleId::Health),
        Remedy::AwsRecovers => has(RuleId::InstCheck),
        _ => false,
    };
    Recommendation {
        opt_in_would_act,
        remedy,
        auto_recovery: auto,
        exposure_matters: exposure_matters(facts, &has),
        recurring,
        daily,
        availability_matters,
        guest_metrics_matter,
    }
}

/// Exposure bears on the incident when the internet can reach an admin port and the incident has the shape of a
/// break-in: a suspected compromise, inbound data that led the CPU, or CPU spent beyond what the owner expects
/// (sustained, or the credits exhausted — a cryptominer's signature).
fn exposure_matters(facts: &Facts, has: &dyn Fn(RuleId) -> bool) -> bool {
    has(RuleId::SecSuspect)
        || (!facts.reachable_admin_ports().is_empty()
            && [
                RuleId::NetLeadsCpu,
                RuleId::CpuSustained,
                RuleId::CpuCredits,
            ]
            .into_iter()
            .any(has))
}

fn remedy(
    change: &Incident,
    has: &dyn Fn(RuleId) -> bool,
    instance: Option<&InstanceFacts>,
    auto: Option<&AutoRecovery>,
) -> Remedy {
    let member = instance.is_some_and(|i| i.asg().is_some());
    if change.state.value != AlarmState::Alarm || has(RuleId::Gone) || has(RuleId::Stopped) {
        Remedy::Nothing
    } else if has(RuleId::EbsCheck) {
        Remedy::Wait
    } else if (has(RuleId::SysCheck) || has(RuleId::InstCheck)) && member {
        Remedy::Replace
    } else if has(RuleId::SysCheck) {
        // Instance-store roots cannot be stopped and started: the data would be lost.
        if instance.and_then(|i| i.root_device_type.as_deref()) == Some("instance-store") {
            Remedy::Investigate
        } else if auto == Some(&AutoRecovery::On) {
            Remedy::AwsRecovers
        } else {
            Remedy::StopStart
        }
    } else if has(RuleId::InstCheck) {
        Remedy::Reboot
    } else if has(RuleId::CpuSustained) || has(RuleId::CpuCredits) {
        Remedy::Resize
    } else {
        Remedy::Investigate
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::TypeFacts;
    use crate::source::Gap;

    fn facts(supported: bool) -> Facts {
        Facts {
            instance_type: Source::Available(TypeFacts {
                auto_recovery_supported: supported,
                ..TypeFacts::default()
            }),
            ..Facts::unavailable(Gap::NotNeeded)
        }
    }

    fn instance(setting: Option<&str>) -> InstanceFacts {
        InstanceFacts {
            root_device_type: Some("ebs".into()),
            tenancy: Some("default".into()),
            auto_recovery: setting.map(str::to_string),
            ..InstanceFacts::default()
        }
    }

    #[test]
    fn auto_recovery_is_on_only_when_set_by_default_on_a_supported_type_outside_a_group() {
        assert_eq!(
            auto_recovery(&instance(Some("default")), &facts(true)),
            AutoRecovery::On
        );
        assert_eq!(
            auto_recovery(&instance(Some("disabled")), &facts(true)),
            AutoRecovery::Off
        );
        assert_eq!(
            auto_recovery(&instance(Some("default")), &facts(false)),
            AutoRecovery::NotAvailable(NotAvailable::Unsupported)
        );
        assert_eq!(
            auto_recovery(
                &instance(Some("default")),
                &Facts::unavailable(Gap::Failed("x".into()))
            ),
            AutoRecovery::Unknown
        );
        let mut member = instance(Some("default"));
        member
            .tags
            .insert("aws:autoscaling:groupName".into(), "web".into());
        assert_eq!(
            auto_recovery(&member, &facts(true)),
            AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember)
        );
    }
}
