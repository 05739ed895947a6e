//! EC2 as a state machine: instances that stop, start and reboot over virtual time, status checks that fail and
//! clear, capacity errors, and stops that hang until forced. Implements the readers and the remediator the pipeline
//! uses, and logs every mutation it accepted so the invariants can count them.

use crate::model::InstanceState;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use super::clock::Clock;
use crate::facts::{
    Impaired, InstanceFacts, InstanceLookup, SecurityGroupFacts, Source, StatusFacts, TypeFacts,
    VolumeFacts,
};
use crate::ports::{AwsError, CallResult, ErrorKind, InstanceReader, Remediator};

/// How long a normal stop takes, a forced one, and a start.
pub const STOP_TAKES: Duration = Duration::seconds(40);
pub const FORCED_STOP_TAKES: Duration = Duration::seconds(10);
pub const START_TAKES: Duration = Duration::seconds(20);

/// One simulated instance.
#[derive(Debug, Clone)]
pub struct SimInstance {
    pub id: String,
    pub az: String,
    pub tags: BTreeMap<String, String>,
    pub phase: Phase,
    pub system_impaired: bool,
    pub instance_impaired: bool,
    /// When its checks became impaired (DescribeInstanceStatus's `ImpairedSince`).
    pub impaired_since: Option<DateTime<Utc>>,
    /// A normal stop never completes (degraded hardware): only a forced stop does.
    pub stop_hangs: bool,
    /// Even a forced stop never completes (a host AWS has to retire): set only by a table's row, never drawn.
    pub forced_stop_hangs: bool,
    /// StartInstances fails with InsufficientInstanceCapacity this many more times.
    pub capacity_errors: u32,
    /// AWS's own simplified automatic recovery is on (`default`), which holds ec2ops's recover.
    pub auto_recovery: bool,
}

/// Where an instance is in its lifecycle; a transition completes at its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Running,
    Stopping { done: Option<DateTime<Utc>> },
    Stopped,
    Pending { done: DateTime<Utc> },
}

impl SimInstance {
    pub fn new(id: &str, az: &str) -> Self {
        SimInstance {
            id: id.into(),
            az: az.into(),
            tags: BTreeMap::from([
                ("Name".to_string(), format!("sim-{id}")),
                ("Environment".to_string(), "prod".to_string()),
                ("ec2ops:auto-remediate".to_string(), "true".to_string()),
            ]),
            phase: Phase::Running,
            system_impaired: false,
            instance_impaired: false,
            impaired_since: None,
            stop_hangs: false,
            forced_stop_hangs: false,
            capacity_errors: 0,
            auto_recovery: false,
        }
    }

    fn settle(&mut self, now: DateTime<Utc>) {
        match self.phase {
            Phase::Stopping { done: Some(t) } if t <= now => {
                self.phase = Phase::Stopped;
                // A stop moves the instance off its host: the system check's cause is gone.
                self.system_impaired = false;
                self.instance_impaired = false;
                self.impaired_since = None;
            }
            Phase::Pending { done } if done <= now => self.phase = Phase::Running,
            _ => {}
        }
    }

    pub fn state(&self) -> InstanceState {
        match self.phase {
            Phase::Running => InstanceState::Running,
            Phase::Stopping { .. } => InstanceState::Stopping,
            Phase::Stopped => InstanceState::Stopped,
            Phase::Pending { .. } => InstanceState::Pending,
        }
    }
}

/// A mutating EC2 call that EC2 accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub at: DateTime<Utc>,
    pub instance_id: String,
    pub kind: MutationKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MutationKind {
    Reboot,
    Stop { forced: bool },
    Start,
}

#[derive(Debug, Default)]
struct State {
    instances: BTreeMap<String, SimInstance>,
    mutations: Vec<Mutation>,
}

/// The simulated EC2 of one run.
#[derive(Debug, Clone)]
pub struct Ec2World {
    clock: Clock,
    state: Arc<Mutex<State>>,
}

fn poisoned(op: &'static str) -> AwsError {
    AwsError::new("ec2", op, "simulated EC2 state poisoned")
}

impl Ec2World {
    pub fn new(clock: Clock, instances: Vec<SimInstance>) -> Self {
        Ec2World {
            clock,
            state: Arc::new(Mutex::new(State {
                instances: instances.into_iter().map(|i| (i.id.clone(), i)).collect(),
                mutations: Vec::new(),
            })),
        }
    }

    fn with<T>(
        &self,
        op: &'static str,
        id: &str,
        f: impl FnOnce(&mut SimInstance, DateTime<Utc>, &mut Vec<Mutation>) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let now = self.clock.now();
        let mut s = self.state.lock().map_err(|_| poisoned(op))?;
        let State {
            instances,
            mutations,
        } = &mut *s;
        let i = instances.get_mut(id).ok_or_else(|| {
            AwsError::new("ec2", op, format!("The instance ID '{id}' does not exist"))
                .with_code("InvalidInstanceID.NotFound", ErrorKind::NotFound)
        })?;
        i.settle(now);
        f(i, now, mutations)
    }

    /// Every instance as it is now.
    pub fn instances(&self) -> Vec<SimInstance> {
        let now = self.clock.now();
        self.state
            .lock()
            .map(|mut s| {
                s.instances
                    .values_mut()
                    .map(|i| {
                        i.settle(now);
                        i.clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every mutation EC2 accepted, in order.
    pub fn mutations(&self) -> Vec<Mutation> {
        self.state
            .lock()
            .map(|s| s.mutations.clone())
            .unwrap_or_default()
    }

    /// Change an instance (the workload's faults: a check failing, a stop that hangs).
    pub fn update(&self, id: &str, f: impl FnOnce(&mut SimInstance)) {
        if let Ok(mut s) = self.state.lock() {
            if let Some(i) = s.instances.get_mut(id) {
                f(i);
            }
        }
    }
}

fn facts_of(i: &SimInstance) -> InstanceFacts {
    InstanceFacts {
        id: i.id.clone(),
        instance_type: "m5.large".into(),
        state: i.state(),
        availability_zone: Some(i.az.clone()),
        vpc_id: Some("vpc-0sim".into()),
        subnet_id: Some(format!("subnet-0sim-{}", i.az)),
        private_ip: Some("10.0.0.10".into()),
        public_ip: None,
        launch_time: None,
        tags: i.tags.clone(),
        root_device_type: Some("ebs".into()),
        http_tokens: Some("required".into()),
        security_group_ids: Vec::new(),
        volume_ids: vec![format!("vol-{}", i.id)],
        auto_recovery: Some(
            if i.auto_recovery {
                "default"
            } else {
                "disabled"
            }
            .into(),
        ),
        monitoring: Some("enabled".into()),
        lifecycle: None,
        platform: Some("Linux/UNIX".into()),
        state_reason_code: None,
        state_reason: None,
        tenancy: Some("default".into()),
        efa: false,
        disable_api_stop: Source::Available(false),
    }
}

fn check(impaired: bool) -> Option<String> {
    Some(if impaired { "impaired" } else { "ok" }.into())
}

#[async_trait]
impl InstanceReader for Ec2World {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError> {
        match self.with("DescribeInstances", id, |i, _, _| Ok(facts_of(i))) {
            Ok(f) => Ok(InstanceLookup::Found(Box::new(f))),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(InstanceLookup::NotFound),
            Err(e) => Err(e),
        }
    }
    async fn instance_status(&self, id: &str) -> Result<StatusFacts, AwsError> {
        self.with("DescribeInstanceStatus", id, |i, _, _| {
            // Only running instances report status checks.
            Ok(match i.phase {
                Phase::Running => StatusFacts {
                    system: check(i.system_impaired),
                    instance: check(i.instance_impaired),
                    attached_ebs: check(false),
                    scheduled_events: Vec::new(),
                },
                _ => StatusFacts::default(),
            })
        })
    }
    async fn instance_type(&self, instance_type: &str) -> Result<TypeFacts, AwsError> {
        Ok(TypeFacts {
            instance_type: instance_type.into(),
            vcpus: Some(2),
            memory_mib: Some(8192),
            burstable: false,
            auto_recovery_supported: true,
            instance_storage: false,
        })
    }
    async fn security_groups(&self, _: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        Ok(Vec::new())
    }
    async fn volumes(&self, instance_id: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        Ok(vec![VolumeFacts {
            id: format!("vol-{instance_id}"),
            volume_type: "gp3".into(),
            size_gib: 20,
            encrypted: true,
            device: Some("/dev/xvda".into()),
        }])
    }
    async fn stop_protection(&self, _: &str) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        Ok(self
            .instances()
            .into_iter()
            .filter(|i| i.phase == Phase::Running && (i.system_impaired || i.instance_impaired))
            .map(|i| Impaired {
                instance_id: i.id.clone(),
                availability_zone: Some(i.az.clone()),
                check: if i.system_impaired {
                    crate::catalogue::STATUS_CHECK_FAILED_SYSTEM
                } else {
                    crate::catalogue::STATUS_CHECK_FAILED_INSTANCE
                }
                .into(),
                since: i.impaired_since,
            })
            .collect())
    }
}

fn request_id(m: &[Mutation]) -> String {
    format!("req-{}", m.len())
}

fn dry(allowed: bool) -> CallResult {
    CallResult::DryRun {
        allowed,
        detail: "Request would have succeeded, but DryRun flag is set.".into(),
    }
}

#[async_trait]
impl Remediator for Ec2World {
    async fn reboot(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.with("RebootInstances", id, |i, now, log| {
            if dry_run {
                return Ok(dry(true));
            }
            if i.phase != Phase::Running {
                return Err(incorrect_state("RebootInstances", i));
            }
            // A reboot clears what the guest caused; a host fault stays.
            i.instance_impaired = false;
            if !i.system_impaired {
                i.impaired_since = None;
            }
            log.push(Mutation {
                at: now,
                instance_id: i.id.clone(),
                kind: MutationKind::Reboot,
            });
            Ok(CallResult::Done {
                request_id: request_id(log),
            })
        })
    }
    async fn stop(&self, id: &str, dry_run: bool, force: bool) -> Result<CallResult, AwsError> {
        self.with("StopInstances", id, |i, now, log| {
            if dry_run {
                return Ok(dry(true));
            }
            match i.phase {
                Phase::Stopped => {}
                Phase::Pending { .. } => return Err(incorrect_state("StopInstances", i)),
                Phase::Running | Phase::Stopping { .. } => {
                    let done = if force && !i.forced_stop_hangs {
                        Some(now + FORCED_STOP_TAKES)
                    } else if i.stop_hangs || i.forced_stop_hangs {
                        match i.phase {
                            Phase::Stopping { done } => done,
                            _ => None,
                        }
                    } else {
                        Some(now + STOP_TAKES)
                    };
                    i.phase = Phase::Stopping { done };
                }
            }
            log.push(Mutation {
                at: now,
                instance_id: i.id.clone(),
                kind: MutationKind::Stop { forced: force },
            });
            Ok(CallResult::Done {
                request_id: request_id(log),
            })
        })
    }
    async fn start(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.with("StartInstances", id, |i, now, log| {
            if dry_run {
                return Ok(dry(true));
            }
            match i.phase {
                Phase::Running | Phase::Pending { .. } => {}
                Phase::Stopping { .. } => return Err(incorrect_state("StartInstances", i)),
                Phase::Stopped if i.capacity_errors > 0 => {
                    i.capacity_errors -= 1;
                    return Err(AwsError::new(
                        "ec2",
                        "StartInstances",
                        "We currently do not have sufficient capacity in the Availability Zone you requested.",
                    )
                    .with_code("InsufficientInstanceCapacity", ErrorKind::Capacity));
                }
                Phase::Stopped => {
                    i.phase = Phase::Pending {
                        done: now + START_TAKES,
                    }
                }
            }
            log.push(Mutation {
                at: now,
                instance_id: i.id.clone(),
                kind: MutationKind::Start,
            });
            Ok(CallResult::Done {
                request_id: request_id(log),
            })
        })
    }
    async fn state(&self, id: &str) -> Result<Option<InstanceState>, AwsError> {
        match self.with("DescribeInstances", id, |i, _, _| Ok(i.state())) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

fn incorrect_state(op: &'static str, i: &SimInstance) -> AwsError {
    AwsError::new(
        "ec2",
        op,
        format!(
            "The instance '{}' is not in a state from which it can be {op}: {}",
            i.id,
            i.state()
        ),
    )
    .with_code("IncorrectInstanceState", ErrorKind::InvalidRequest)
}
