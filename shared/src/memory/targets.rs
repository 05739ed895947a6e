//! The target groups of load balancers, as the ELB adapter reads them: a model held to the adapter's answers by the
//! contract suite (`tests/tests/emulator/impact.rs`).

use async_trait::async_trait;

use crate::evidence::impact::Target;
use crate::ports::{AwsError, Memberships, TargetReader};

/// One target group: its VPC, whether its targets are instances, and the instances registered with their port.
#[derive(Debug, Clone)]
pub struct MemoryGroup {
    pub vpc_id: String,
    pub instances: bool,
    pub arn: String,
    pub name: String,
    pub load_balancers: Vec<String>,
    pub registered: Vec<(String, i32)>,
}

/// Target groups in the order `DescribeTargetGroups` lists them (by name); every registered target healthy.
#[derive(Debug, Clone, Default)]
pub struct MemoryTargets {
    groups: Vec<MemoryGroup>,
}

impl MemoryTargets {
    pub fn new(mut groups: Vec<MemoryGroup>) -> Self {
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        MemoryTargets { groups }
    }
}

#[async_trait]
impl TargetReader for MemoryTargets {
    async fn targets_of(
        &self,
        instance_id: &str,
        vpc_id: &str,
        max_groups: usize,
    ) -> Result<Memberships, AwsError> {
        let groups: Vec<&MemoryGroup> = self
            .groups
            .iter()
            .filter(|g| g.vpc_id == vpc_id && g.instances)
            .collect();
        let targets = groups
            .iter()
            .take(max_groups)
            .filter_map(|g| {
                let (_, port) = g.registered.iter().find(|(id, _)| id == instance_id)?;
                Some(Target {
                    group_arn: g.arn.clone(),
                    group_name: g.name.clone(),
                    port: Some(*port),
                    load_balancers: g.load_balancers.clone(),
                    state: "healthy".into(),
                    reason: None,
                })
            })
            .collect();
        Ok(Memberships {
            targets,
            groups_checked: groups.len().min(max_groups),
            groups_total: groups.len(),
        })
    }
}
