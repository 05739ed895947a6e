//! Whether AWS's simplified automatic recovery covers an instance: one answer, read by every section that speaks of
//! it (🔧 states it, 📈 and 🤖 advise from it), so the report cannot say both "it is on" and "turn it on".

use crate::facts::{Facts, InstanceFacts};

/// Simplified automatic recovery for one instance (EC2 user guide: on by default on supported types; not for Auto
/// Scaling members, Dedicated Hosts, EFA or instance-store types).
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAvailable {
    /// An Auto Scaling member: the group replaces it instead.
    AutoScalingMember,
    /// The type does not support it (instance store and the like), or it runs on a Dedicated Host or with EFA.
    Unsupported,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Source, TypeFacts};

    fn facts(supported: bool) -> Facts {
        Facts {
            instance_type: Source::Available(TypeFacts {
                auto_recovery_supported: supported,
                ..TypeFacts::default()
            }),
            ..Facts::unavailable("not needed")
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
            auto_recovery(&instance(Some("default")), &Facts::unavailable("x")),
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
