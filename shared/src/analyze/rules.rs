//! The root-cause rules: each reads the incident and the facts and adds its findings with their evidence.

use super::*;
use crate::diagnostics::CpuSample;

pub(super) fn is_cpu_alarm(change: &Incident) -> bool {
    change.kind != AlarmKind::MetricMath
        && change
            .primary_metric()
            .is_some_and(|m| m.name == catalogue::CPU_UTILIZATION)
}

pub(super) fn cpu_threshold(change: &Incident) -> f64 {
    match (is_cpu_alarm(change), change.threshold(), change.comparison) {
        (true, Some(t), Some(Comparison::Greater | Comparison::GreaterOrEqual)) => t,
        _ => DEFAULT_CPU_THRESHOLD,
    }
}

pub(super) fn period_secs(change: &Incident, facts: &Facts) -> i64 {
    facts
        .metrics
        .get()
        .map(|m| m.period_secs)
        .filter(|p| *p > 0)
        .or_else(|| change.primary_metric().map(|m| m.period))
        .unwrap_or(60) as i64
}

/// CPU datapoints, oldest first: the gathered window, or the alarm's own evaluated datapoints when the window is
/// unavailable and the alarm is on CPU.
pub(super) fn cpu_points(change: &Incident, facts: &Facts) -> Vec<(DateTime<Utc>, f64)> {
    if let Some(s) = facts.metrics.get().and_then(|m| m.get(Role::Cpu)) {
        return s.points.clone();
    }
    if is_cpu_alarm(change) {
        return change.evaluated_values();
    }
    Vec::new()
}

pub(super) fn gone(change: &Incident, facts: &Facts, out: &mut Vec<Finding>) {
    if acted_on(change, facts) {
        // Out of `running` because ec2ops's own stop/start stopped it (this incident's, resumed, or another incident's
        // recover of the same failure): not gone, and the incident keeps the priority of its cause.
        return;
    }
    match facts.instance.get() {
        Some(InstanceLookup::NotFound) => out.push(Finding {
            rule: RuleId::Gone,
            detail: Detail::Gone {
                state: None,
                cause: None,
            },
            evidence: vec![Observation::InstanceNotFound],
        }),
        Some(InstanceLookup::Found(i)) if i.state.is_down() => {
            // A stopped instance's state reason says whether the stop was meant; a terminated one is gone.
            let stopped = matches!(i.state, InstanceState::Stopping | InstanceState::Stopped);
            let cause =
                stopped.then(|| stop_cause(i.state_reason_code.as_deref(), i.asg().is_some()));
            let mut evidence = vec![Observation::InstanceState { state: i.state }];
            if stopped && (i.state_reason_code.is_some() || i.state_reason.is_some()) {
                evidence.push(Observation::StateReason {
                    code: i.state_reason_code.clone(),
                    message: i.state_reason.clone(),
                });
            }
            out.push(Finding {
                rule: RuleId::Gone,
                detail: Detail::Gone {
                    state: Some(i.state),
                    cause,
                },
                evidence,
            })
        }
        _ => {}
    }
}

pub(super) fn stopped(state: InstanceState, facts: &Facts, out: &mut Vec<Finding>) {
    let i = facts.found_instance();
    let code = i.and_then(|i| i.state_reason_code.clone());
    let message = i.and_then(|i| i.state_reason.clone());
    let cause = stop_cause(code.as_deref(), i.and_then(|i| i.asg()).is_some());
    let mut evidence = vec![Observation::StateChangeNotice { state }];
    evidence.push(match (facts.instance.reason(), &code, &message) {
        (Some(why), None, None) => Observation::StateReasonUnread { why: why.clone() },
        _ => Observation::StateReason {
            code: code.clone(),
            message: message.clone(),
        },
    });
    out.push(Finding {
        rule: RuleId::Stopped,
        detail: Detail::Stopped {
            state,
            cause,
            code,
            message,
        },
        evidence,
    });
}

// Long on purpose: the three checks share one loop, so each says the same things in the same order.
pub(super) fn status_checks(change: &Incident, facts: &Facts, out: &mut Vec<Finding>) {
    let alarm_metric = change.primary_metric().map(|m| m.name.as_str());
    let in_alarm = change.state.value == AlarmState::Alarm;
    let status = facts.status.get();
    let window = facts.metrics.get();
    let checks = [
        (
            RuleId::SysCheck,
            catalogue::STATUS_CHECK_FAILED_SYSTEM,
            status.and_then(|s| s.system.as_deref()),
            Role::StatusSystem,
        ),
        (
            RuleId::InstCheck,
            catalogue::STATUS_CHECK_FAILED_INSTANCE,
            status.and_then(|s| s.instance.as_deref()),
            Role::StatusInstance,
        ),
        (
            RuleId::EbsCheck,
            catalogue::STATUS_CHECK_FAILED_ATTACHED_EBS,
            status.and_then(|s| s.attached_ebs.as_deref()),
            Role::StatusEbs,
        ),
    ];
    let now = |current: Option<&str>| match (status, current) {
        (None, _) => CheckNow::Unknown,
        (Some(_), Some("impaired")) => CheckNow::Impaired,
        (Some(_), state) => CheckNow::NotImpaired {
            state: state.map(str::to_string),
        },
    };
    for (rule, metric, current, role) in checks {
        let mut evidence = Vec::new();
        // The alarm's own word, as it is: its evaluated datapoints, or that the event carries none (the sweep
        // names what DescribeInstanceStatus listed). An alarm on a stopped instance without datapoints fired on
        // missing data — a stopped instance publishes no status checks — and is no failed check.
        let values = change.evaluated_values();
        if in_alarm && alarm_metric == Some(metric) {
            if !values.is_empty() {
                let failed = values.iter().filter(|(_, v)| *v >= 1.0).count();
                // A metric of that name elsewhere is somebody's own, not EC2's check: say so.
                let namespace = match change.primary_metric().map(|m| m.namespace.as_str()) {
                    Some(catalogue::EC2) | None => None,
                    Some(ns) => Some(ns.to_string()),
                };
                evidence.push(Observation::AlarmDatapoints {
                    metric,
                    namespace,
                    failed,
                    evaluated: values.len(),
                });
            } else if change.is_sweep() {
                evidence.push(Observation::SweepListed { metric });
            } else if !not_running(facts) || acted_on(change, facts) {
                evidence.push(Observation::AlarmWithoutDatapoints { metric });
            }
        }
        if current == Some("impaired") {
            evidence.push(Observation::CheckImpaired { metric });
        }
        if let Some((at, value)) = window
            .and_then(|w| w.get(role))
            .and_then(|s| s.points.iter().rev().find(|(_, v)| *v >= 1.0).copied())
        {
            evidence.push(Observation::CheckDatapoint { at, metric, value });
        }
        if !evidence.is_empty() && status.is_some() && current != Some("impaired") {
            evidence.push(Observation::CheckNotImpaired {
                metric,
                state: current.map(str::to_string),
            });
        }
        if !evidence.is_empty() {
            out.push(Finding {
                rule,
                detail: Detail::StatusCheck {
                    combined_metric: false,
                    now: now(current),
                },
                evidence,
            });
        }
    }
    // The combined StatusCheckFailed metric does not say which check failed; when nothing else tells, treat it as
    // the instance check (the common case) and say the attribution is uncertain.
    let combined_failed = change.evaluated_values().iter().any(|(_, v)| *v >= 1.0)
        || (change.evaluated_values().is_empty()
            && (!not_running(facts) || acted_on(change, facts)));
    if in_alarm
        && alarm_metric == Some(catalogue::STATUS_CHECK_FAILED)
        && combined_failed
        && !out.iter().any(|f| {
            matches!(
                f.rule,
                RuleId::SysCheck | RuleId::InstCheck | RuleId::EbsCheck
            )
        })
    {
        // Reached only when DescribeInstanceStatus shows no check impaired, or was unavailable.
        out.push(Finding {
            rule: RuleId::InstCheck,
            detail: Detail::StatusCheck {
                combined_metric: true,
                now: now(status.and_then(|s| s.instance.as_deref())),
            },
            evidence: vec![Observation::CombinedCheckFailed],
        });
    }
}

/// Whether the instance is known to be out of `running` (stopped, stopping, …): it publishes no status checks, so an
/// alarm on them that fires then has fired on missing data.
pub(super) fn not_running(facts: &Facts) -> bool {
    facts.found_instance().is_some_and(|i| !i.state.is_up())
}

/// How recent an action of ec2ops on the instance must be for its state to be ec2ops's doing (a recover's
/// continuations give up after 15 minutes; the cooldown is 30).
pub const OWN_ACTION_WINDOW: chrono::Duration = chrono::Duration::minutes(30);

/// Whether the instance's state since the transition may be ec2ops's doing, not the incident's cause: the ledger holds
/// an action of this very incident (an earlier delivery acted on it), or an action of ec2ops on the instance within
/// [`OWN_ACTION_WINDOW`] of the transition — or the ledger cannot tell, and the event itself shows a failed check (an
/// instance that stops after its check failed is most likely being recovered: the report stays as urgent as its
/// cause rather than calling the alarm moot).
pub(super) fn acted_on(change: &Incident, facts: &Facts) -> bool {
    match facts.ledger.get() {
        Some(v) => {
            v.this_incident_action.is_some()
                || v.instance_actions
                    .iter()
                    .any(|t| (change.state.at - *t).abs() <= OWN_ACTION_WINDOW)
        }
        None => super::check_failure_shown(change),
    }
}

/// AZ-EVENT: this status-check failure is one of several in the same AZ within 10 minutes (from the ledger).
pub(super) fn az_event(facts: &Facts, out: &mut Vec<Finding>) {
    let status_check = out.iter().any(|f| {
        matches!(
            f.rule,
            RuleId::SysCheck | RuleId::InstCheck | RuleId::EbsCheck
        )
    });
    let (Some(view), Some(az)) = (
        facts.ledger.get(),
        facts
            .found_instance()
            .and_then(|i| i.availability_zone.clone()),
    ) else {
        return;
    };
    let impaired = view.az_impaired.len() + 1;
    if status_check && impaired >= AZ_EVENT_INSTANCES {
        let mut evidence = vec![Observation::AzImpaired {
            instances: impaired,
            az: az.clone(),
        }];
        evidence.extend(
            view.az_impaired
                .iter()
                .take(10)
                .map(|i| Observation::AlsoImpaired {
                    instance: i.clone(),
                }),
        );
        out.push(Finding {
            rule: RuleId::AzEvent,
            detail: Detail::AzEvent { az, impaired },
            evidence,
        });
    }
}

pub(super) fn cpu_credits(change: &Incident, facts: &Facts, out: &mut Vec<Finding>) {
    let instance_type = facts
        .found_instance()
        .map(|i| i.instance_type.clone())
        .or_else(|| facts.instance_type.get().map(|t| t.instance_type.clone()));
    let burstable = facts
        .instance_type
        .get()
        .map(|t| t.burstable)
        .unwrap_or(false)
        || instance_type
            .as_deref()
            .is_some_and(pricing::is_burstable_family);
    let alarm_on_credits = change
        .primary_metric()
        .is_some_and(|m| m.name == catalogue::CPU_CREDIT_BALANCE);
    let series_last = facts
        .metrics
        .get()
        .and_then(|m| m.get(Role::CpuCredits))
        .and_then(Series::last);
    let (at, balance) = match series_last {
        Some(p) => p,
        None if alarm_on_credits => match change.evaluated_values().last() {
            Some(p) => *p,
            None => return,
        },
        None => return,
    };
    if !(burstable || alarm_on_credits) {
        return;
    }
    let baseline = instance_type
        .as_deref()
        .and_then(pricing::burstable_baseline);
    let near_zero = match baseline {
        Some(b) => balance <= (0.05 * b.max_earned_credits).max(1.0),
        None => balance <= 5.0,
    };
    if near_zero {
        out.push(Finding {
            rule: RuleId::CpuCredits,
            detail: Detail::CpuCredits {
                balance,
                baseline_percent: baseline.map(|b| b.baseline_cpu_percent),
            },
            evidence: vec![Observation::Datapoint {
                at,
                metric: catalogue::CPU_CREDIT_BALANCE,
                dimension: None,
                value: balance,
            }],
        });
    }
}

/// The last value of a series: when, what, and the series' dimension (a path, a volume id).
pub(super) fn series_last(
    facts: &Facts,
    role: Role,
) -> Option<(DateTime<Utc>, f64, Option<String>)> {
    let s = facts.metrics.get().and_then(|m| m.get(role))?;
    s.last().map(|(t, v)| (t, v, s.dimension.clone()))
}

/// The last value of a series of the window, or of the alarm's own datapoints when the alarm is on that metric.
pub(super) fn last_of(
    change: &Incident,
    facts: &Facts,
    role: Role,
    metric: &str,
) -> Option<(DateTime<Utc>, f64, Option<String>)> {
    if let Some(found) = series_last(facts, role) {
        return Some(found);
    }
    if change.primary_metric().is_some_and(|m| m.name == metric) {
        let path = change
            .primary_metric()
            .and_then(|m| m.dimensions.get("path").cloned());
        return change
            .evaluated_values()
            .last()
            .map(|(t, v)| (*t, *v, path));
    }
    None
}

/// MEM, DISK, EBS-BURST: the agent's memory and disk metrics and gp2 burst balances.
pub(super) fn pressure(change: &Incident, facts: &Facts, out: &mut Vec<Finding>) {
    if let Some((at, v, _)) = last_of(change, facts, Role::Memory, catalogue::MEM_USED_PERCENT) {
        if v > MEM_PERCENT {
            out.push(Finding {
                rule: RuleId::Mem,
                detail: Detail::Pressure(Pressure::Memory { percent: v }),
                evidence: vec![Observation::Datapoint {
                    at,
                    metric: catalogue::MEM_USED_PERCENT,
                    dimension: None,
                    value: v,
                }],
            });
        }
    }
    let disk = catalogue::DISK.name;
    let mut disks: Vec<(DateTime<Utc>, f64, Option<String>)> = (0..catalogue::DISK_SLOTS)
        .filter_map(|n| series_last(facts, Role::Disk(n)))
        .collect();
    if disks.is_empty() {
        disks.extend(last_of(change, facts, Role::Disk(0), disk));
    }
    disks.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some((_, v, path)) = disks.first().cloned() {
        if v > DISK_PERCENT {
            out.push(Finding {
                rule: RuleId::Disk,
                detail: Detail::Pressure(Pressure::Disk { path, percent: v }),
                evidence: disks
                    .iter()
                    .map(|(at, value, dimension)| Observation::Datapoint {
                        at: *at,
                        metric: disk,
                        dimension: dimension.clone(),
                        value: *value,
                    })
                    .collect(),
            });
        }
    }
    let burst = catalogue::BURST.name;
    let mut bursts: Vec<(DateTime<Utc>, f64, Option<String>)> = (0..catalogue::BURST_SLOTS)
        .filter_map(|n| series_last(facts, Role::Burst(n)))
        .collect();
    if bursts.is_empty() {
        bursts.extend(last_of(change, facts, Role::Burst(0), burst));
    }
    bursts.sort_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((at, v, volume)) = bursts.first().cloned() {
        if v < BURST_PERCENT {
            out.push(Finding {
                rule: RuleId::EbsBurst,
                detail: Detail::Pressure(Pressure::Burst {
                    volume: volume.clone(),
                    percent: v,
                }),
                evidence: vec![Observation::Datapoint {
                    at,
                    metric: burst,
                    dimension: volume,
                    value: v,
                }],
            });
        }
    }
}

/// SEC-SUSPECT: sustained CPU, outbound traffic far above its usual level, and SSH/RDP open to the world on an
/// instance with a public address — the shape of a cryptominer or a data exfiltration on a compromised host.
pub(super) fn sec_suspect(facts: &Facts, out: &mut Vec<Finding>) {
    if !out.iter().any(|f| f.rule == RuleId::CpuSustained) {
        return;
    }
    let Some(net) = facts.metrics.get().and_then(|m| m.get(Role::NetworkOut)) else {
        return;
    };
    let values = net.values();
    if values.len() < 6 {
        return;
    }
    let (before, recent) = values.split_at(values.len() - 5);
    let (Some(base), Some(now)) = (median(before), median(recent)) else {
        return;
    };
    let factor = now / base.max(1.0);
    // Only a port the internet can reach is a way in.
    let ports = facts.reachable_admin_ports();
    if factor >= 5.0 && now >= 50_000_000.0 && !ports.is_empty() {
        out.push(Finding {
            rule: RuleId::SecSuspect,
            detail: Detail::Pressure(Pressure::Suspect {
                net_out: now,
                factor,
                ports: ports.clone(),
            }),
            evidence: vec![
                Observation::NetworkOutMedian { bytes: now, factor },
                Observation::WorldOpenPorts { ports },
                Observation::AlsoFound {
                    rule: RuleId::CpuSustained,
                },
            ],
        });
    }
}

/// The memory list is ps's, sorted by resident size: its %CPU is the lifetime average.
pub const MEMORY_LIST: CpuSample = CpuSample::SinceStart;

/// In-guest evidence (SSM diagnostics): the process behind a CPU finding, memory and disk from inside the OS when
/// the CloudWatch agent does not publish them, OOM kills and kernel errors behind an instance-check failure.
pub(super) fn in_guest(facts: &Facts, out: &mut Vec<Finding>) {
    let Some(d) = facts
        .diagnostics
        .as_ref()
        .and_then(crate::facts::Source::get)
    else {
        return;
    };
    let top_cpu = d.top_cpu.iter().find(|p| p.cpu_percent >= 20.0);
    for f in out.iter_mut() {
        match f.rule {
            RuleId::CpuSpike | RuleId::CpuSustained | RuleId::CpuCredits | RuleId::SecSuspect => {
                if let Some(p) = top_cpu {
                    f.evidence.push(Observation::TopCpu {
                        process: Box::new(p.clone()),
                        sample: d.top_cpu_sample,
                    });
                }
            }
            RuleId::Mem => {
                if let Some(p) = d.top_memory.first() {
                    f.evidence.push(Observation::TopMemory {
                        process: Box::new(p.clone()),
                    });
                }
                f.evidence.extend(oom_kills(d));
            }
            RuleId::InstCheck => {
                f.evidence.extend(oom_kills(d));
                f.evidence.extend(
                    d.kernel_errors
                        .iter()
                        .take(3)
                        .map(|k| Observation::KernelError { line: k.clone() }),
                );
            }
            _ => {}
        }
    }
    if !out.iter().any(|f| f.rule == RuleId::Mem) {
        if let Some(m) = &d.memory {
            let used = if m.total_mib > 0 {
                100.0 * m.used_mib as f64 / m.total_mib as f64
            } else {
                0.0
            };
            if used > MEM_PERCENT || !d.oom_kills.is_empty() {
                let mut evidence = vec![Observation::GuestMemory {
                    used_mib: m.used_mib,
                    total_mib: m.total_mib,
                    percent: used,
                }];
                evidence.extend(d.top_memory.first().map(|p| Observation::TopMemory {
                    process: Box::new(p.clone()),
                }));
                evidence.extend(oom_kills(d));
                out.push(Finding {
                    rule: RuleId::Mem,
                    detail: Detail::Pressure(Pressure::Memory { percent: used }),
                    evidence,
                });
            }
        }
    }
    if !out.iter().any(|f| f.rule == RuleId::Disk) {
        if let Some(fs) = d
            .fullest_filesystem()
            .filter(|fs| f64::from(fs.used_percent) > DISK_PERCENT)
        {
            out.push(Finding {
                rule: RuleId::Disk,
                detail: Detail::Pressure(Pressure::Disk {
                    path: Some(fs.mount.clone()),
                    percent: f64::from(fs.used_percent),
                }),
                evidence: vec![Observation::GuestDisk(Box::new(fs.clone()))],
            });
        }
    }
    out.sort_by_key(|f| f.rule);
}

/// The first three OOM-killer lines.
fn oom_kills(d: &crate::diagnostics::Diagnostics) -> impl Iterator<Item = Observation> + '_ {
    d.oom_kills.iter().take(3).map(|k| Observation::OomKill {
        line: k.line.clone(),
    })
}

/// A CPUUtilization datapoint.
fn cpu_datapoint(at: DateTime<Utc>, value: f64) -> Observation {
    Observation::Datapoint {
        at,
        metric: catalogue::CPU_UTILIZATION,
        dimension: None,
        value,
    }
}

pub(super) fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// CPU-SUSTAINED (a run at or above the threshold lasting 5 minutes or more) or CPU-SPIKE (a short run far above the
/// window's baseline). They exclude each other.
pub(super) fn cpu_shape(
    points: &[(DateTime<Utc>, f64)],
    period: i64,
    threshold: f64,
    out: &mut Vec<Finding>,
) {
    let Some(&(last_at, last)) = points.last() else {
        return;
    };
    let run = points
        .iter()
        .rev()
        .take_while(|(_, v)| *v >= threshold)
        .count();
    if run == 0 {
        return;
    }
    let run_points = &points[points.len() - run..];
    let run_start = run_points[0].0;
    let minutes = (last_at - run_start).num_seconds().saturating_add(period) / 60;
    if minutes >= SUSTAINED_MINUTES {
        let lowest = run_points
            .iter()
            .map(|(_, v)| *v)
            .fold(f64::INFINITY, f64::min);
        out.push(Finding {
            rule: RuleId::CpuSustained,
            detail: Detail::CpuSustained {
                minutes,
                datapoints: run_points.len(),
                threshold,
                lowest,
            },
            // The run's last datapoints; the count of the whole run is in the detail, never the number of lines.
            evidence: run_points
                .iter()
                .rev()
                .take(6)
                .rev()
                .map(|(at, value)| cpu_datapoint(*at, *value))
                .collect(),
        });
        return;
    }
    let before: Vec<f64> = points[..points.len() - run]
        .iter()
        .map(|(_, v)| *v)
        .collect();
    let Some(baseline) = median(&before) else {
        return;
    };
    if last >= 3.0 * baseline.max(0.1) || last - baseline >= 20.0 {
        let mut evidence: Vec<Observation> = points
            .iter()
            .rev()
            .take(run + 3)
            .rev()
            .map(|(at, value)| cpu_datapoint(*at, *value))
            .collect();
        evidence.push(Observation::MedianBeforeRise { percent: baseline });
        out.push(Finding {
            rule: RuleId::CpuSpike,
            detail: Detail::CpuSpike {
                last,
                baseline,
                at: last_at,
            },
            evidence,
        });
    }
}

/// NET-LEADS-CPU: NetworkIn jumped in the 5 minutes up to the CPU rise.
pub(super) fn net_leads_cpu(
    cpu: &[(DateTime<Utc>, f64)],
    facts: &Facts,
    threshold: f64,
    out: &mut Vec<Finding>,
) {
    let Some(net) = facts.metrics.get().and_then(|m| m.get(Role::NetworkIn)) else {
        return;
    };
    let run = cpu
        .iter()
        .rev()
        .take_while(|(_, v)| *v >= threshold)
        .count();
    if run == 0 {
        return;
    }
    let rise = cpu[cpu.len() - run].0;
    let from = rise - Duration::minutes(5);
    let baseline_values: Vec<f64> = net
        .points
        .iter()
        .filter(|(t, _)| *t < from)
        .map(|(_, v)| *v)
        .collect();
    let Some(base) = median(&baseline_values).or_else(|| median(&net.values())) else {
        return;
    };
    let surge = net
        .points
        .iter()
        .filter(|(t, _)| *t >= from && *t <= rise)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some(&(net_at, bytes)) = surge {
        let factor = bytes / base.max(1.0);
        if factor >= 3.0 && bytes >= 1_048_576.0 {
            out.push(Finding {
                rule: RuleId::NetLeadsCpu,
                detail: Detail::NetLeadsCpu {
                    bytes,
                    factor,
                    net_at,
                    cpu_at: rise,
                },
                evidence: vec![
                    Observation::NetworkInSurge {
                        at: net_at,
                        bytes,
                        factor,
                    },
                    Observation::CpuRise { at: rise },
                ],
            });
        }
    }
}
