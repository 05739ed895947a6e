//! EC2 read adapter: DescribeInstances, DescribeInstanceStatus, DescribeInstanceAttribute (stop protection),
//! DescribeInstanceTypes, DescribeSecurityGroups, DescribeVolumes.

use async_trait::async_trait;
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{Filter, Instance, InstanceAttributeName, InstanceType, IpPermission};
use aws_sdk_ec2::Client;

use ec2ops::facts::{
    InstanceFacts, InstanceLookup, InstanceState, OpenRule, ScheduledEvent, SecurityGroupFacts,
    Source, StatusFacts, TypeFacts, VolumeFacts,
};
use ec2ops::ports::{AwsError, CallResult, ErrorKind, Impaired, InstanceReader, Remediator};

use super::{aws_error, to_chrono};

pub struct Ec2Reader {
    client: Client,
}

impl Ec2Reader {
    pub fn new(client: Client) -> Self {
        Ec2Reader { client }
    }
}

/// The facts of one instance DescribeInstances described; an error when it gave no state ec2ops knows (the facts would
/// claim one it does not).
fn instance_facts(i: &Instance) -> Result<InstanceFacts, AwsError> {
    let name = i.state().and_then(|s| s.name()).map(|n| n.as_str());
    let state = name.and_then(InstanceState::parse).ok_or_else(|| {
        AwsError::new(
            "ec2",
            "DescribeInstances",
            format!("the instance's State.Name is {}", name.unwrap_or("missing")),
        )
    })?;
    Ok(InstanceFacts {
        id: i.instance_id().unwrap_or_default().to_string(),
        instance_type: i
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        state,
        availability_zone: i
            .placement()
            .and_then(|p| p.availability_zone())
            .map(str::to_string),
        vpc_id: i.vpc_id().map(str::to_string),
        subnet_id: i.subnet_id().map(str::to_string),
        private_ip: i.private_ip_address().map(str::to_string),
        public_ip: i.public_ip_address().map(str::to_string),
        launch_time: i.launch_time().and_then(to_chrono),
        tags: i
            .tags()
            .iter()
            .filter_map(|t| {
                Some((
                    t.key()?.to_string(),
                    t.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
        root_device_type: i.root_device_type().map(|d| d.as_str().to_string()),
        http_tokens: i
            .metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str().to_string()),
        security_group_ids: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        volume_ids: i
            .block_device_mappings()
            .iter()
            .filter_map(|b| b.ebs().and_then(|e| e.volume_id()).map(str::to_string))
            .collect(),
        auto_recovery: i
            .maintenance_options()
            .and_then(|m| m.auto_recovery())
            .map(|a| a.as_str().to_string()),
        monitoring: i
            .monitoring()
            .and_then(|m| m.state())
            .map(|s| s.as_str().to_string()),
        lifecycle: i.instance_lifecycle().map(|l| l.as_str().to_string()),
        platform: i.platform_details().map(str::to_string),
        state_reason_code: i.state_reason().and_then(|r| r.code()).map(str::to_string),
        state_reason: i
            .state_reason()
            .and_then(|r| r.message())
            .or(i.state_transition_reason())
            .filter(|m| !m.is_empty())
            .map(str::to_string),
        tenancy: i
            .placement()
            .and_then(|p| p.tenancy())
            .map(|t| t.as_str().to_string()),
        efa: i
            .network_interfaces()
            .iter()
            .any(|n| n.interface_type() == Some("efa")),
        // DescribeInstances does not carry it: the gather step asks DescribeInstanceAttribute.
        disable_api_stop: Source::Unavailable(ec2ops::facts::Gap::NotReadYet),
    })
}

fn world_open(p: &IpPermission) -> Vec<OpenRule> {
    let rule = |cidr: &str| OpenRule {
        protocol: p.ip_protocol().unwrap_or("-1").to_string(),
        from_port: p.from_port(),
        to_port: p.to_port(),
        cidr: cidr.to_string(),
    };
    let v4 = p
        .ip_ranges()
        .iter()
        .filter_map(|r| r.cidr_ip())
        .filter(|c| *c == "0.0.0.0/0");
    let v6 = p
        .ipv6_ranges()
        .iter()
        .filter_map(|r| r.cidr_ipv6())
        .filter(|c| *c == "::/0");
    v4.chain(v6).map(rule).collect()
}

#[async_trait]
impl InstanceReader for Ec2Reader {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError> {
        let out = match self
            .client
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = aws_error("ec2", "DescribeInstances", e);
                return match err.kind {
                    ErrorKind::NotFound => Ok(InstanceLookup::NotFound),
                    _ => Err(err),
                };
            }
        };
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(id))
            .map(|i| instance_facts(i).map(|f| InstanceLookup::Found(Box::new(f))))
            .unwrap_or(Ok(InstanceLookup::NotFound))
    }

    async fn instance_status(&self, id: &str) -> Result<StatusFacts, AwsError> {
        let out = self
            .client
            .describe_instance_status()
            .instance_ids(id)
            .include_all_instances(true)
            .send()
            .await
            .map_err(|e| aws_error("ec2", "DescribeInstanceStatus", e))?;
        let Some(s) = out
            .instance_statuses()
            .iter()
            .find(|s| s.instance_id() == Some(id))
        else {
            return Ok(StatusFacts::default());
        };
        let summary =
            |st: Option<&aws_sdk_ec2::types::SummaryStatus>| st.map(|x| x.as_str().to_string());
        Ok(StatusFacts {
            system: summary(s.system_status().and_then(|x| x.status())),
            instance: summary(s.instance_status().and_then(|x| x.status())),
            attached_ebs: summary(s.attached_ebs_status().and_then(|x| x.status())),
            scheduled_events: s
                .events()
                .iter()
                .filter(|e| {
                    !e.description()
                        .unwrap_or_default()
                        .starts_with("[Completed]")
                })
                .map(|e| ScheduledEvent {
                    code: e
                        .code()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_else(|| "unknown".into()),
                    description: e.description().map(str::to_string),
                    not_before: e.not_before().and_then(to_chrono),
                })
                .collect(),
        })
    }

    async fn stop_protection(&self, id: &str) -> Result<bool, AwsError> {
        let out = self
            .client
            .describe_instance_attribute()
            .instance_id(id)
            .attribute(InstanceAttributeName::DisableApiStop)
            .send()
            .await
            .map_err(|e| aws_error("ec2", "DescribeInstanceAttribute", e))?;
        // An answer without the attribute is not a "no": the caller must not assume stop protection is off.
        out.disable_api_stop()
            .and_then(|v| v.value())
            .ok_or_else(|| {
                AwsError::new(
                    "ec2",
                    "DescribeInstanceAttribute",
                    "the answer has no disableApiStop value",
                )
            })
    }

    async fn instance_type(&self, instance_type: &str) -> Result<TypeFacts, AwsError> {
        let out = self
            .client
            .describe_instance_types()
            .instance_types(InstanceType::from(instance_type))
            .send()
            .await
            .map_err(|e| aws_error("ec2", "DescribeInstanceTypes", e))?;
        let t = out.instance_types().first().ok_or_else(|| {
            AwsError::new(
                "ec2",
                "DescribeInstanceTypes",
                format!("no data for instance type {instance_type}"),
            )
        })?;
        Ok(TypeFacts {
            instance_type: instance_type.to_string(),
            vcpus: t.v_cpu_info().and_then(|v| v.default_v_cpus()),
            memory_mib: t.memory_info().and_then(|m| m.size_in_mib()),
            burstable: t.burstable_performance_supported().unwrap_or(false),
            auto_recovery_supported: t.auto_recovery_supported().unwrap_or(false),
            instance_storage: t.instance_storage_supported().unwrap_or(false),
        })
    }

    async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        let out = self
            .client
            .describe_security_groups()
            .set_group_ids(Some(ids.to_vec()))
            .send()
            .await
            .map_err(|e| aws_error("ec2", "DescribeSecurityGroups", e))?;
        Ok(out
            .security_groups()
            .iter()
            .map(|g| SecurityGroupFacts {
                id: g.group_id().unwrap_or_default().to_string(),
                name: g.group_name().unwrap_or_default().to_string(),
                world_open: g.ip_permissions().iter().flat_map(world_open).collect(),
            })
            .collect())
    }

    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        use aws_sdk_ec2::types::{StatusName, StatusType, SummaryStatus};
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_instance_status()
            // Paginated (MaxResults): EC2 meters unfiltered, unpaginated Describe calls from its smaller bucket.
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ec2", "DescribeInstanceStatus", e))?;
            for s in page.instance_statuses() {
                let Some(id) = s.instance_id() else { continue };
                // Impaired since: the "reachability" detail's timestamp.
                let since = |details: &[aws_sdk_ec2::types::InstanceStatusDetails]| {
                    details
                        .iter()
                        .find(|d| {
                            d.name() == Some(&StatusName::Reachability)
                                && d.status() == Some(&StatusType::Failed)
                        })
                        .and_then(|d| d.impaired_since())
                        .and_then(to_chrono)
                };
                let impaired = |st: Option<&SummaryStatus>| st == Some(&SummaryStatus::Impaired);
                let check = if impaired(s.system_status().and_then(|x| x.status())) {
                    Some((
                        ec2ops::catalogue::STATUS_CHECK_FAILED_SYSTEM,
                        s.system_status()
                            .map(|x| since(x.details()))
                            .unwrap_or_default(),
                    ))
                } else if impaired(s.instance_status().and_then(|x| x.status())) {
                    Some((
                        ec2ops::catalogue::STATUS_CHECK_FAILED_INSTANCE,
                        s.instance_status()
                            .map(|x| since(x.details()))
                            .unwrap_or_default(),
                    ))
                } else if impaired(s.attached_ebs_status().and_then(|x| x.status())) {
                    Some((ec2ops::catalogue::STATUS_CHECK_FAILED_ATTACHED_EBS, None))
                } else {
                    None
                };
                if let Some((check, since)) = check {
                    out.push(Impaired {
                        instance_id: id.to_string(),
                        availability_zone: s.availability_zone().map(str::to_string),
                        check: check.to_string(),
                        since,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn volumes(&self, instance_id: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        let filter = Filter::builder()
            .name("attachment.instance-id")
            .values(instance_id)
            .build();
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_volumes()
            .filters(filter)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("ec2", "DescribeVolumes", e))?;
            out.extend(page.volumes().iter().map(|v| {
                VolumeFacts {
                    id: v.volume_id().unwrap_or_default().to_string(),
                    volume_type: v
                        .volume_type()
                        .map(|t| t.as_str().to_string())
                        .unwrap_or_default(),
                    size_gib: v.size().unwrap_or_default(),
                    encrypted: v.encrypted().unwrap_or(false),
                    device: v
                        .attachments()
                        .iter()
                        .find(|a| a.instance_id() == Some(instance_id))
                        .and_then(|a| a.device())
                        .map(str::to_string),
                }
            }));
        }
        Ok(out)
    }
}

/// Mutating EC2 calls. IAM allows them only on instances carrying the opt-in tag.
pub struct Ec2Remediator {
    client: Client,
}

impl Ec2Remediator {
    pub fn new(client: Client) -> Self {
        Ec2Remediator { client }
    }
}

/// DryRun answers with an error: `DryRunOperation` means the call would have succeeded, `UnauthorizedOperation`
/// that IAM would refuse it.
fn dry_run_result(err: AwsError) -> Result<CallResult, AwsError> {
    match err.kind {
        ErrorKind::DryRunPassed => Ok(CallResult::DryRun {
            allowed: true,
            detail: format!("DryRunOperation: {}", err.message),
        }),
        ErrorKind::AccessDenied => Ok(CallResult::DryRun {
            allowed: false,
            detail: format!(
                "{}: {}",
                err.code.as_deref().unwrap_or("UnauthorizedOperation"),
                err.message
            ),
        }),
        _ => Err(err),
    }
}

/// A mutating call's answer: its request id, or for DryRun whether it would have been allowed.
fn mutation<O, E>(
    result: Result<O, SdkError<E, HttpResponse>>,
    op: &'static str,
    dry_run: bool,
) -> Result<CallResult, AwsError>
where
    O: aws_sdk_ec2::operation::RequestId,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) if dry_run => Ok(CallResult::DryRun {
            allowed: true,
            detail: format!(
                "{op} accepted without executing (request id {})",
                out.request_id().unwrap_or("-")
            ),
        }),
        Ok(out) => Ok(CallResult::Done {
            request_id: out.request_id().unwrap_or("-").to_string(),
        }),
        Err(e) => {
            let err = aws_error("ec2", op, e);
            if dry_run {
                dry_run_result(err)
            } else {
                Err(err)
            }
        }
    }
}

#[async_trait]
impl Remediator for Ec2Remediator {
    async fn reboot(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        let r = self
            .client
            .reboot_instances()
            .instance_ids(instance_id)
            .dry_run(dry_run)
            .send()
            .await;
        mutation(r, "RebootInstances", dry_run)
    }

    async fn stop(
        &self,
        instance_id: &str,
        dry_run: bool,
        force: bool,
    ) -> Result<CallResult, AwsError> {
        let r = self
            .client
            .stop_instances()
            .instance_ids(instance_id)
            .dry_run(dry_run)
            .force(force)
            .send()
            .await;
        mutation(r, "StopInstances", dry_run)
    }

    async fn start(&self, instance_id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        let r = self
            .client
            .start_instances()
            .instance_ids(instance_id)
            .dry_run(dry_run)
            .send()
            .await;
        mutation(r, "StartInstances", dry_run)
    }

    async fn state(&self, instance_id: &str) -> Result<Option<InstanceState>, AwsError> {
        let out = match self
            .client
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = aws_error("ec2", "DescribeInstances", e);
                if err.kind == ErrorKind::NotFound {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        let Some(name) = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find_map(|i| i.state().and_then(|s| s.name()))
        else {
            return Ok(None);
        };
        InstanceState::parse(name.as_str())
            .map(Some)
            .ok_or_else(|| {
                AwsError::new(
                    "ec2",
                    "DescribeInstances",
                    format!("the instance's State.Name is {}", name.as_str()),
                )
            })
    }
}
