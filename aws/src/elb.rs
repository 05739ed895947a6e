//! Elastic Load Balancing read adapter: the instance-type target groups of a VPC (`DescribeTargetGroups`, every
//! page), then each group's registered targets (`DescribeTargetHealth`, at most the caller's cap of groups), kept
//! where the instance is one of them.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{TargetGroup, TargetTypeEnum};
use aws_sdk_elasticloadbalancingv2::Client;

use ec2ops::evidence::impact::Target;
use ec2ops::ports::{AwsError, Memberships, TargetReader};

use super::aws_error;

const SERVICE: &str = "elasticloadbalancing";
/// Pages of 400 target groups read at most.
const MAX_PAGES: usize = 25;

pub struct ElbReader {
    client: Client,
}

impl ElbReader {
    pub fn new(client: Client) -> Self {
        ElbReader { client }
    }

    /// The VPC's target groups whose targets are instances, every page (at most [`MAX_PAGES`]: an account has at
    /// most a few thousand groups; a marker that never ends is an error, not a loop).
    async fn groups(&self, vpc_id: &str) -> Result<Vec<TargetGroup>, AwsError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .describe_target_groups()
                .set_marker(marker.take())
                .page_size(400)
                .send()
                .await
                .map_err(|e| aws_error(SERVICE, "DescribeTargetGroups", e))?;
            out.extend(
                page.target_groups()
                    .iter()
                    .filter(|g| {
                        g.vpc_id() == Some(vpc_id)
                            && g.target_type() == Some(&TargetTypeEnum::Instance)
                    })
                    .cloned(),
            );
            match page.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(out),
            }
        }
        Err(AwsError::new(
            SERVICE,
            "DescribeTargetGroups",
            format!("more than {MAX_PAGES} pages of target groups"),
        ))
    }

    /// The instance's registration in one group, if it has one.
    async fn membership(
        &self,
        g: &TargetGroup,
        instance_id: &str,
    ) -> Result<Option<Target>, AwsError> {
        let Some(arn) = g.target_group_arn() else {
            return Ok(None);
        };
        let out = self
            .client
            .describe_target_health()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| aws_error(SERVICE, "DescribeTargetHealth", e))?;
        Ok(out
            .target_health_descriptions()
            .iter()
            .find(|d| d.target().and_then(|t| t.id()) == Some(instance_id))
            .map(|d| {
                let health = d.target_health();
                Target {
                    group_arn: arn.to_string(),
                    group_name: g.target_group_name().unwrap_or_default().to_string(),
                    port: d.target().and_then(|t| t.port()),
                    load_balancers: g.load_balancer_arns().to_vec(),
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_string()),
                }
            }))
    }
}

#[async_trait]
impl TargetReader for ElbReader {
    async fn targets_of(
        &self,
        instance_id: &str,
        vpc_id: &str,
        max_groups: usize,
    ) -> Result<Memberships, AwsError> {
        let groups = self.groups(vpc_id).await?;
        let mut targets = Vec::new();
        // One group after the other: a handful of calls, well under ELB's describe rate.
        for g in groups.iter().take(max_groups) {
            targets.extend(self.membership(g, instance_id).await?);
        }
        Ok(Memberships {
            targets,
            groups_checked: groups.len().min(max_groups),
            groups_total: groups.len(),
        })
    }
}
