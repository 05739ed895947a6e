//! Root-cause rules and priority: pure functions from the alarm change and the gathered facts to findings with
//! evidence, a priority with its reasons, and the respond-by time.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::facts::{Facts, InstanceLookup, Role, Series};
use crate::model::{AlarmChange, AlarmKind, AlarmState, Comparison, InputKind};
use crate::pricing;

/// Root-cause rule identifiers, stable across versions (operators grep for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum RuleId {
    Gone,
    Stopped,
    Health,
    AzEvent,
    SysCheck,
    InstCheck,
    EbsCheck,
    ChangeBefore,
    LogErrors,
    CpuCredits,
    CpuSustained,
    CpuSpike,
    NetLeadsCpu,
    Mem,
    Disk,
    EbsBurst,
    SecSuspect,
}

impl RuleId {
    pub fn code(self) -> &'static str {
        match self {
            RuleId::Gone => "GONE",
            RuleId::Stopped => "STOPPED",
            RuleId::Health => "HEALTH",
            RuleId::AzEvent => "AZ-EVENT",
            RuleId::SysCheck => "SYS-CHECK",
            RuleId::InstCheck => "INST-CHECK",
            RuleId::EbsCheck => "EBS-CHECK",
            RuleId::ChangeBefore => "CHANGE-BEFORE",
            RuleId::LogErrors => "LOG-ERRORS",
            RuleId::CpuCredits => "CPU-CREDITS",
            RuleId::CpuSustained => "CPU-SUSTAINED",
            RuleId::CpuSpike => "CPU-SPIKE",
            RuleId::NetLeadsCpu => "NET-LEADS-CPU",
            RuleId::Mem => "MEM",
            RuleId::Disk => "DISK",
            RuleId::EbsBurst => "EBS-BURST",
            RuleId::SecSuspect => "SEC-SUSPECT",
        }
    }
}

/// The numbers behind a finding; the renderer turns them into a sentence in the report's language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Detail {
    Pressure(Pressure),
    /// An AWS Health event for the instance.
    Health {
        kind: HealthKind,
        code: String,
        deadline: Option<DateTime<Utc>>,
    },
    /// The instance left `running`: who or what stopped it, as far as EC2 says.
    Stopped {
        state: String,
        cause: StopCause,
        code: Option<String>,
        message: Option<String>,
    },
    /// `state` is `None` when the instance does not exist any more.
    Gone {
        state: Option<String>,
    },
    /// Several instances in one AZ failed status checks within 10 minutes.
    AzEvent {
        az: String,
        impaired: usize,
    },
    /// A status check failed, as the alarm, DescribeInstanceStatus or the window tells; `now` is whether
    /// DescribeInstanceStatus confirms it (an alarm alone is what the alarm says, not proof: the envelope acts only
    /// on a confirmed check).
    StatusCheck {
        combined_metric: bool,
        now: CheckNow,
    },
    CpuCredits {
        balance: f64,
        baseline_percent: Option<f64>,
    },
    CpuSustained {
        minutes: i64,
        /// Consecutive datapoints at or above the threshold: the one count the report gives for the run.
        datapoints: usize,
        threshold: f64,
        lowest: f64,
    },
    CpuSpike {
        last: f64,
        baseline: f64,
        at: DateTime<Utc>,
    },
    NetLeadsCpu {
        bytes: f64,
        factor: f64,
        net_at: DateTime<Utc>,
        cpu_at: DateTime<Utc>,
    },
    /// CHANGE-BEFORE and LOG-ERRORS, from CloudTrail and CloudWatch Logs ([`crate::evidence`]).
    Evidence(crate::evidence::EvidenceDetail),
}

/// What DescribeInstanceStatus says now about the check a status finding names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CheckNow {
    /// Impaired: the finding is confirmed.
    Impaired,
    /// Not impaired: `state` as DescribeInstanceStatus reports it (`ok`, `initializing`, …), `None` when it does
    /// not report the check (e.g. the instance is not running).
    NotImpaired { state: Option<String> },
    /// DescribeInstanceStatus was unavailable.
    Unknown,
}

/// What an AWS Health event means for the instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HealthKind {
    /// The host is degraded: the instance will be stopped/terminated at the deadline.
    Retirement,
    /// AWS will reboot the instance or its host in a window.
    Maintenance,
    /// Simplified automatic recovery moved the instance.
    RecoverySucceeded,
    RecoveryFailed,
    Other,
}

pub fn health_kind(code: &str) -> HealthKind {
    let c = code.to_ascii_uppercase();
    if c.contains("RETIREMENT") {
        HealthKind::Retirement
    } else if c.contains("AUTO_RECOVERY") && (c.contains("FAIL") || c.contains("UNSUCCESSFUL")) {
        HealthKind::RecoveryFailed
    } else if c.contains("AUTO_RECOVERY") {
        HealthKind::RecoverySucceeded
    } else if c.contains("MAINTENANCE") || c.contains("REBOOT") {
        HealthKind::Maintenance
    } else {
        HealthKind::Other
    }
}

/// Whether a stop was meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StopCause {
    /// Stopped or terminated through the API or console (or by the instance's Auto Scaling group).
    Intended,
    /// AWS stopped it: host failure, capacity, Spot interruption, scheduled retirement.
    Unexpected,
    /// Shut down from inside the OS, or EC2 gives no reason: maybe intended, maybe a crash.
    Uncertain,
}

/// Read EC2's state reason (`StateReason.Code`).
pub fn stop_cause(code: Option<&str>, asg_member: bool) -> StopCause {
    match code {
        Some("Client.UserInitiatedShutdown" | "Client.UserInitiatedHibernate") => {
            StopCause::Intended
        }
        Some(c) if c.starts_with("Server.") => StopCause::Unexpected,
        Some(
            "Client.VolumeLimitExceeded"
            | "Client.InternalError"
            | "Client.InvalidSnapshot.NotFound",
        ) => StopCause::Unexpected,
        _ if asg_member => StopCause::Intended,
        _ => StopCause::Uncertain,
    }
}

/// Memory, disk and burst details (split out to keep [`Detail`] readable).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Pressure {
    /// CWAgent `mem_used_percent` above 85 %.
    Memory { percent: f64 },
    /// CWAgent `disk_used_percent` above 90 % on `path`.
    Disk { path: String, percent: f64 },
    /// gp2 `BurstBalance` below 20 %.
    Burst { volume: String, percent: f64 },
    /// Sustained CPU, heavy outbound traffic and an admin port open to the world.
    Suspect {
        net_out: f64,
        factor: f64,
        ports: Vec<i32>,
    },
}

/// One conclusion of one rule, with the datapoints that prove it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: RuleId,
    pub detail: Detail,
    /// Language-neutral evidence lines, e.g. `12:19 CPUUtilization 39.58 %`.
    pub evidence: Vec<String>,
}

/// Priority levels of the seed's escalation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
}

impl Priority {
    pub fn label(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
        }
    }

    /// How soon someone must respond (seed: 15 min / 1 h / 4 h / 24 h).
    pub fn response_time(self) -> Duration {
        match self {
            Priority::P0 => Duration::minutes(15),
            Priority::P1 => Duration::hours(1),
            Priority::P2 => Duration::hours(4),
            Priority::P3 => Duration::hours(24),
        }
    }
}

/// Why the priority is what it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Reason {
    /// Back to OK; `minutes` in ALARM when the previous state was ALARM (the time to recover, MTTR).
    Recovered {
        minutes: Option<i64>,
    },
    InsufficientData {
        after_alarm: bool,
    },
    Gone,
    AzEvent,
    StatusCheckFailed,
    CompositeAlarm,
    SustainedBreach {
        datapoints: usize,
    },
    SingleBreach,
    CpuSpike,
    CreditsExhausted,
    SecuritySuspect,
    ResourcePressure,
    Stopped {
        intended: bool,
    },
    Production {
        environment: String,
    },
    ProductionAssumedUntagged,
    ProductionAssumedUnknownInstance,
    NonProduction {
        environment: String,
    },
    /// The summary of a multi-time-series alarm's alarm-level event: how many contributors are in ALARM (`None`:
    /// DescribeAlarmContributors did not answer); each contributor has its own report.
    ContributorsInAlarm {
        count: Option<usize>,
    },
    /// A fleet alarm: another breaching instance of the ranking is more critical than the one analysed, and its
    /// environment (production, untagged or not known) sets the priority.
    FleetWorst {
        instance_id: String,
        name: Option<String>,
        environment: Environment,
    },
    Health {
        kind: HealthKind,
        hours_left: Option<i64>,
    },
}

/// Whether the instance is production, as far as the tags tell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Environment {
    Production(String),
    NonProduction(String),
    /// No Environment tag: treated as production (the safe assumption).
    Untagged,
    /// The instance is not known (no instance dimension, or DescribeInstances unavailable): treated as production.
    Unknown,
}

impl Environment {
    pub fn is_production(&self) -> bool {
        !matches!(self, Environment::NonProduction(_))
    }
}

/// The outcome of analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub findings: Vec<Finding>,
    pub priority: Priority,
    pub reasons: Vec<Reason>,
    pub respond_by: DateTime<Utc>,
    pub environment: Environment,
    /// CPU threshold the CPU rules used.
    pub cpu_threshold: f64,
}

impl Assessment {
    pub fn has(&self, rule: RuleId) -> bool {
        self.findings.iter().any(|f| f.rule == rule)
    }
}

const SUSTAINED_MINUTES: i64 = 5;
const MEM_PERCENT: f64 = 85.0;
const DISK_PERCENT: f64 = 90.0;
const BURST_PERCENT: f64 = 20.0;
/// Impaired instances in one AZ within 10 minutes that point to an AWS-side event.
pub const AZ_EVENT_INSTANCES: usize = 3;
const DEFAULT_CPU_THRESHOLD: f64 = 80.0;

/// Run every rule and the priority table.
pub fn assess(change: &AlarmChange, facts: &Facts) -> Assessment {
    let environment = environment(facts);
    let cpu_threshold = cpu_threshold(change);
    if change.is_series_summary() {
        let (priority, reasons) = summary_priority(change, facts);
        return Assessment {
            respond_by: change.state.at + priority.response_time(),
            findings: Vec::new(),
            priority,
            reasons,
            environment: Environment::Unknown,
            cpu_threshold,
        };
    }
    let mut findings = Vec::new();

    if let Some(h) = &change.health {
        findings.push(Finding {
            rule: RuleId::Health,
            detail: Detail::Health {
                kind: health_kind(&h.type_code),
                code: h.type_code.clone(),
                deadline: h.start,
            },
            evidence: vec![format!("AWS Health {} ({})", h.type_code, h.category)],
        });
    } else if change.input == crate::model::InputKind::StateChange {
        stopped(change, facts, &mut findings);
    } else {
        gone(facts, &mut findings);
    }
    status_checks(change, facts, &mut findings);
    az_event(facts, &mut findings);
    let cpu = cpu_points(change, facts);
    let period = period_secs(change, facts);
    if change.state.value == AlarmState::Alarm {
        cpu_credits(change, facts, &mut findings);
        cpu_shape(&cpu, period, cpu_threshold, &mut findings);
        net_leads_cpu(&cpu, facts, cpu_threshold, &mut findings);
        pressure(change, facts, &mut findings);
        sec_suspect(facts, &mut findings);
        in_guest(facts, &mut findings);
    }
    crate::evidence::findings(change, facts, &mut findings);
    findings.sort_by_key(|f| f.rule);

    let (priority, reasons) = match fleet_worst(change, facts, &environment) {
        Some((env, reason)) => priority(change, &findings, &env, Some(reason)),
        None => priority(change, &findings, &environment, None),
    };
    Assessment {
        respond_by: change.state.at + priority.response_time(),
        findings,
        priority,
        reasons,
        environment,
        cpu_threshold,
    }
}

fn environment(facts: &Facts) -> Environment {
    match facts.found_instance() {
        None => Environment::Unknown,
        Some(i) => classify(i.environment()),
    }
}

/// An instance's environment from its Environment (or env) tag.
fn classify(tag: Option<&str>) -> Environment {
    match tag {
        None => Environment::Untagged,
        Some(env) => {
            let e = env.trim().to_ascii_lowercase();
            if matches!(e.as_str(), "prod" | "production" | "prd" | "live") || e.starts_with("prod")
            {
                Environment::Production(env.to_string())
            } else {
                Environment::NonProduction(env.to_string())
            }
        }
    }
}

/// How critical an environment is for the priority: a tagged production first, then the ones treated as production.
fn criticality(env: &Environment) -> u8 {
    match env {
        Environment::Production(_) => 3,
        Environment::Untagged => 2,
        Environment::Unknown => 1,
        Environment::NonProduction(_) => 0,
    }
}

/// The summary of a multi-time-series alarm's alarm-level event: no per-instance analysis, so in ALARM the priority
/// is the environment table's for an alarm breach (production P1, otherwise P2) from the most critical environment
/// among the contributors in ALARM (those looked up), or among the ranking's instances not known to be below the
/// threshold when the list of contributors is not available. Back to OK or INSUFFICIENT_DATA as for any alarm.
/// An instance whose environment may set a summary's priority: id, Name, environment.
type Candidate = (String, Option<String>, Environment);

fn summary_priority(change: &AlarmChange, facts: &Facts) -> (Priority, Vec<Reason>) {
    if change.state.value != AlarmState::Alarm {
        return priority(change, &[], &Environment::Unknown, None);
    }
    let env_of = |instance_type: &Option<String>, tag: &Option<String>| {
        if instance_type.is_some() {
            classify(tag.as_deref())
        } else {
            Environment::Unknown
        }
    };
    let (count, candidates): (Option<usize>, Vec<Candidate>) = match facts
        .contributors
        .as_ref()
        .and_then(crate::facts::Source::get)
    {
        Some(list) => (
            Some(list.len()),
            list.iter()
                .filter_map(|c| Some((c.instance_id()?.to_string(), c)))
                .take(crate::gather::CONTRIBUTORS_LOOKED_UP)
                .map(|(id, c)| (id, c.name.clone(), env_of(&c.instance_type, &c.environment)))
                .collect(),
        ),
        None => (
            None,
            facts
                .ranking
                .as_ref()
                .and_then(crate::facts::Source::get)
                .map(|r| {
                    r.rows
                        .iter()
                        // The alarm-level event names no threshold: a row not known to be below it counts.
                        .filter(|x| x.breaching != Some(false))
                        .map(|x| {
                            (
                                x.instance_id.clone(),
                                x.name.clone(),
                                env_of(&x.instance_type, &x.environment),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
    };
    let worst = candidates
        .into_iter()
        .rev()
        .max_by_key(|(_, _, e)| criticality(e));
    let (env, reason) = match worst {
        Some((instance_id, name, environment)) => (
            environment.clone(),
            Reason::FleetWorst {
                instance_id,
                name,
                environment,
            },
        ),
        None => (
            Environment::Unknown,
            Reason::ProductionAssumedUnknownInstance,
        ),
    };
    let p = if env.is_production() {
        Priority::P1
    } else {
        Priority::P2
    };
    (p, vec![Reason::ContributorsInAlarm { count }, reason])
}

/// For a fleet alarm whose analysed instance is not production: the most critical environment among the ranking's
/// other breaching instances, when that one is treated as production, with the reason naming that instance (the
/// highest ranked of the most critical). `None` otherwise: the analysed instance's environment sets the priority.
fn fleet_worst(
    change: &AlarmChange,
    facts: &Facts,
    analysed: &Environment,
) -> Option<(Environment, Reason)> {
    if change.fleet.is_none() || analysed.is_production() {
        return None;
    }
    let ranking = facts.ranking.as_ref()?.get()?;
    let focused = change.primary_instance();
    let (row, env) = ranking
        .rows
        .iter()
        .filter(|r| r.breaching == Some(true) && Some(r.instance_id.as_str()) != focused)
        .map(|r| {
            let env = if r.instance_type.is_some() {
                classify(r.environment.as_deref())
            } else {
                Environment::Unknown
            };
            (r, env)
        })
        .rev()
        .max_by_key(|(_, e)| criticality(e))?;
    if !env.is_production() {
        return None;
    }
    let reason = Reason::FleetWorst {
        instance_id: row.instance_id.clone(),
        name: row.name.clone(),
        environment: env.clone(),
    };
    Some((env, reason))
}

fn is_cpu_alarm(change: &AlarmChange) -> bool {
    change.kind != AlarmKind::MetricMath
        && change
            .primary_metric()
            .is_some_and(|m| m.name == "CPUUtilization")
}

fn cpu_threshold(change: &AlarmChange) -> f64 {
    match (is_cpu_alarm(change), change.threshold(), change.comparison) {
        (true, Some(t), Some(Comparison::Greater | Comparison::GreaterOrEqual)) => t,
        _ => DEFAULT_CPU_THRESHOLD,
    }
}

fn period_secs(change: &AlarmChange, facts: &Facts) -> i64 {
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
fn cpu_points(change: &AlarmChange, facts: &Facts) -> Vec<(DateTime<Utc>, f64)> {
    if let Some(s) = facts.metrics.get().and_then(|m| m.get(Role::Cpu)) {
        return s.points.clone();
    }
    if is_cpu_alarm(change) {
        return change.evaluated_values();
    }
    Vec::new()
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M").to_string()
}

fn gone(facts: &Facts, out: &mut Vec<Finding>) {
    match facts.instance.get() {
        Some(InstanceLookup::NotFound) => out.push(Finding {
            rule: RuleId::Gone,
            detail: Detail::Gone { state: None },
            evidence: vec!["DescribeInstances: InvalidInstanceID.NotFound".into()],
        }),
        Some(InstanceLookup::Found(i))
            if matches!(
                i.state.as_str(),
                "stopping" | "stopped" | "shutting-down" | "terminated"
            ) =>
        {
            out.push(Finding {
                rule: RuleId::Gone,
                detail: Detail::Gone {
                    state: Some(i.state.clone()),
                },
                evidence: vec![format!("DescribeInstances: State.Name = {}", i.state)],
            })
        }
        _ => {}
    }
}

fn stopped(change: &AlarmChange, facts: &Facts, out: &mut Vec<Finding>) {
    let state = change
        .alarm_name
        .rsplit('/')
        .next()
        .unwrap_or("stopped")
        .to_string();
    let i = facts.found_instance();
    let code = i.and_then(|i| i.state_reason_code.clone());
    let message = i.and_then(|i| i.state_reason.clone());
    let cause = stop_cause(code.as_deref(), i.and_then(|i| i.asg()).is_some());
    let mut evidence = vec![format!("EC2 Instance State-change Notification: {state}")];
    match (&code, &message) {
        (Some(c), Some(m)) => evidence.push(format!("StateReason {c}: {m}")),
        (Some(c), None) => evidence.push(format!("StateReason {c}")),
        (None, Some(m)) => evidence.push(format!("StateTransitionReason: {m}")),
        (None, None) => evidence.push(match facts.instance.reason() {
            Some(why) => format!("DescribeInstances unavailable ({why}): reason unknown"),
            None => "EC2 gives no state reason".into(),
        }),
    }
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

fn status_checks(change: &AlarmChange, facts: &Facts, out: &mut Vec<Finding>) {
    let alarm_metric = change.primary_metric().map(|m| m.name.as_str());
    let in_alarm = change.state.value == AlarmState::Alarm;
    let status = facts.status.get();
    let window = facts.metrics.get();
    let checks = [
        (
            RuleId::SysCheck,
            "StatusCheckFailed_System",
            status.and_then(|s| s.system.as_deref()),
            Role::StatusSystem,
        ),
        (
            RuleId::InstCheck,
            "StatusCheckFailed_Instance",
            status.and_then(|s| s.instance.as_deref()),
            Role::StatusInstance,
        ),
        (
            RuleId::EbsCheck,
            "StatusCheckFailed_AttachedEBS",
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
                    Some("AWS/EC2") | None => String::new(),
                    Some(ns) => format!(" (namespace {ns}, not AWS/EC2)"),
                };
                evidence.push(format!(
                    "alarm {metric}{namespace}: {failed}/{} evaluated datapoints = 1",
                    values.len()
                ));
            } else if change.input == InputKind::Sweep {
                evidence.push(format!(
                    "ec2ops sweep: DescribeInstanceStatus listed {metric} impaired"
                ));
            } else if !not_running(facts) {
                evidence.push(format!(
                    "alarm {metric} in ALARM; the event carries no evaluated datapoints"
                ));
            }
        }
        if current == Some("impaired") {
            evidence.push(format!("DescribeInstanceStatus: {metric} check impaired"));
        }
        if let Some((at, v)) = window
            .and_then(|w| w.get(role))
            .and_then(|s| s.points.iter().rev().find(|(_, v)| *v >= 1.0).copied())
        {
            evidence.push(format!("{} {metric} = {v}", hhmm(at)));
        }
        if !evidence.is_empty() && status.is_some() && current != Some("impaired") {
            evidence.push(format!(
                "DescribeInstanceStatus: {metric} check {} now (not impaired)",
                current.unwrap_or("not reported")
            ));
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
        || (change.evaluated_values().is_empty() && !not_running(facts));
    if in_alarm
        && alarm_metric == Some("StatusCheckFailed")
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
            evidence: vec![
                "alarm StatusCheckFailed (combined) = 1; the failing check is not identified"
                    .into(),
            ],
        });
    }
}

/// Whether the instance is known to be out of `running` (stopped, stopping, …): it publishes no status checks, so an
/// alarm on them that fires then has fired on missing data.
fn not_running(facts: &Facts) -> bool {
    facts
        .found_instance()
        .is_some_and(|i| !matches!(i.state.as_str(), "running" | "pending"))
}

/// AZ-EVENT: this status-check failure is one of several in the same AZ within 10 minutes (from the ledger).
fn az_event(facts: &Facts, out: &mut Vec<Finding>) {
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
        let mut evidence = vec![format!(
            "{impaired} instances with failed status checks in {az} within 10 minutes"
        )];
        evidence.extend(
            view.az_impaired
                .iter()
                .take(10)
                .map(|i| format!("also impaired: {i}")),
        );
        out.push(Finding {
            rule: RuleId::AzEvent,
            detail: Detail::AzEvent { az, impaired },
            evidence,
        });
    }
}

fn cpu_credits(change: &AlarmChange, facts: &Facts, out: &mut Vec<Finding>) {
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
        .is_some_and(|m| m.name == "CPUCreditBalance");
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
            evidence: vec![format!("{} CPUCreditBalance {balance:.1}", hhmm(at))],
        });
    }
}

fn series_last(facts: &Facts, role: Role) -> Option<(DateTime<Utc>, f64, String)> {
    let s = facts.metrics.get().and_then(|m| m.get(role))?;
    s.last().map(|(t, v)| (t, v, s.label.clone()))
}

/// The last value of a series of the window, or of the alarm's own datapoints when the alarm is on that metric.
fn last_of(
    change: &AlarmChange,
    facts: &Facts,
    role: Role,
    metric: &str,
) -> Option<(DateTime<Utc>, f64, String)> {
    if let Some(found) = series_last(facts, role) {
        return Some(found);
    }
    if change.primary_metric().is_some_and(|m| m.name == metric) {
        let label = change
            .primary_metric()
            .and_then(|m| m.dimensions.get("path").cloned())
            .map(|p| format!("{metric} {p}"))
            .unwrap_or_else(|| metric.to_string());
        return change
            .evaluated_values()
            .last()
            .map(|(t, v)| (*t, *v, label));
    }
    None
}

/// MEM, DISK, EBS-BURST: the agent's memory and disk metrics and gp2 burst balances.
fn pressure(change: &AlarmChange, facts: &Facts, out: &mut Vec<Finding>) {
    if let Some((at, v, _)) = last_of(change, facts, Role::Memory, "mem_used_percent") {
        if v > MEM_PERCENT {
            out.push(Finding {
                rule: RuleId::Mem,
                detail: Detail::Pressure(Pressure::Memory { percent: v }),
                evidence: vec![format!("{} mem_used_percent {v:.2}%", hhmm(at))],
            });
        }
    }
    let mut disks: Vec<(DateTime<Utc>, f64, String)> = (0..3)
        .filter_map(|n| series_last(facts, Role::Disk(n)))
        .collect();
    if disks.is_empty() {
        disks.extend(last_of(change, facts, Role::Disk(0), "disk_used_percent"));
    }
    disks.sort_by(|a, b| b.1.total_cmp(&a.1));
    if let Some((_, v, label)) = disks.first().cloned() {
        if v > DISK_PERCENT {
            let path = label
                .split_once(' ')
                .map(|(_, p)| p.to_string())
                .unwrap_or_else(|| "?".into());
            out.push(Finding {
                rule: RuleId::Disk,
                detail: Detail::Pressure(Pressure::Disk { path, percent: v }),
                evidence: disks
                    .iter()
                    .map(|(t, v, l)| format!("{} {l} {v:.2}%", hhmm(*t)))
                    .collect(),
            });
        }
    }
    let mut bursts: Vec<(DateTime<Utc>, f64, String)> = (0..2)
        .filter_map(|n| series_last(facts, Role::Burst(n)))
        .collect();
    if bursts.is_empty() {
        bursts.extend(last_of(change, facts, Role::Burst(0), "BurstBalance"));
    }
    bursts.sort_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((at, v, label)) = bursts.first().cloned() {
        if v < BURST_PERCENT {
            let volume = label
                .split_once(' ')
                .map(|(_, p)| p.to_string())
                .unwrap_or_else(|| "?".into());
            out.push(Finding {
                rule: RuleId::EbsBurst,
                detail: Detail::Pressure(Pressure::Burst { volume, percent: v }),
                evidence: vec![format!("{} {label} {v:.2}%", hhmm(at))],
            });
        }
    }
}

/// SEC-SUSPECT: sustained CPU, outbound traffic far above its usual level, and SSH/RDP open to the world — the
/// shape of a cryptominer or a data exfiltration on a compromised host.
fn sec_suspect(facts: &Facts, out: &mut Vec<Finding>) {
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
    let ports: Vec<i32> = facts
        .security_groups
        .get()
        .map(|groups| {
            [22, 3389]
                .into_iter()
                .filter(|p| {
                    groups
                        .iter()
                        .any(|g| g.world_open.iter().any(|r| r.covers(*p)))
                })
                .collect()
        })
        .unwrap_or_default();
    if factor >= 5.0 && now >= 50_000_000.0 && !ports.is_empty() {
        out.push(Finding {
            rule: RuleId::SecSuspect,
            detail: Detail::Pressure(Pressure::Suspect {
                net_out: now,
                factor,
                ports: ports.clone(),
            }),
            evidence: vec![
                format!(
                    "NetworkOut median of the last 5 min {:.1} MB/min (x{factor:.0} before)",
                    now / 1e6
                ),
                format!("world-open admin ports: {ports:?}"),
                "CPU-SUSTAINED".into(),
            ],
        });
    }
}

/// A process as one evidence line: `java (pid 4242, app) 97.3% CPU, 58.2% memory, running 4h 24m: <command>`.
pub fn process_line(p: &crate::diagnostics::Process) -> String {
    let name = p
        .command
        .split_whitespace()
        .next()
        .and_then(|c| c.rsplit('/').next())
        .unwrap_or("?");
    let running = p
        .elapsed_secs
        .map(|s| format!(", running {}h {:02}m", s / 3600, (s % 3600) / 60))
        .unwrap_or_default();
    let command: String = p.command.chars().take(120).collect();
    format!(
        "{name} (pid {}, {}) {:.1}% CPU (average since start), {:.1}% memory{running}: {command}",
        p.pid, p.user, p.cpu_percent, p.mem_percent
    )
}

/// In-guest evidence (SSM diagnostics): the process behind a CPU finding, memory and disk from inside the OS when
/// the CloudWatch agent does not publish them, OOM kills and kernel errors behind an instance-check failure.
fn in_guest(facts: &Facts, out: &mut Vec<Finding>) {
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
                    f.evidence
                        .push(format!("in-guest top CPU: {}", process_line(p)));
                }
            }
            RuleId::Mem => {
                if let Some(p) = d.top_memory.first() {
                    f.evidence
                        .push(format!("in-guest top memory: {}", process_line(p)));
                }
                f.evidence.extend(
                    d.oom_kills
                        .iter()
                        .take(3)
                        .map(|k| format!("OOM: {}", k.line)),
                );
            }
            RuleId::InstCheck => {
                f.evidence.extend(
                    d.oom_kills
                        .iter()
                        .take(3)
                        .map(|k| format!("OOM: {}", k.line)),
                );
                f.evidence.extend(
                    d.kernel_errors
                        .iter()
                        .take(3)
                        .map(|k| format!("kernel: {k}")),
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
                let mut evidence = vec![format!(
                    "in-guest memory {} of {} MiB used ({used:.1}%)",
                    m.used_mib, m.total_mib
                )];
                evidence.extend(
                    d.top_memory
                        .first()
                        .map(|p| format!("in-guest top memory: {}", process_line(p))),
                );
                evidence.extend(
                    d.oom_kills
                        .iter()
                        .take(3)
                        .map(|k| format!("OOM: {}", k.line)),
                );
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
                    path: fs.mount.clone(),
                    percent: f64::from(fs.used_percent),
                }),
                evidence: vec![format!(
                    "in-guest df: {} on {} {}% used ({} MiB free)",
                    fs.mount, fs.device, fs.used_percent, fs.available_mib
                )],
            });
        }
    }
    out.sort_by_key(|f| f.rule);
}

fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// CPU-SUSTAINED (a run at or above the threshold lasting 5 minutes or more) or CPU-SPIKE (a short run far above the
/// window's baseline). They exclude each other.
fn cpu_shape(points: &[(DateTime<Utc>, f64)], period: i64, threshold: f64, out: &mut Vec<Finding>) {
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
                .map(|(t, v)| format!("{} CPUUtilization {v:.2}%", hhmm(*t)))
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
        let mut evidence: Vec<String> = points
            .iter()
            .rev()
            .take(run + 3)
            .rev()
            .map(|(t, v)| format!("{} CPUUtilization {v:.2}%", hhmm(*t)))
            .collect();
        evidence.push(format!("window median before the rise {baseline:.2}%"));
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
fn net_leads_cpu(
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
                    format!(
                        "{} NetworkIn {:.2} MB (x{factor:.0} the window median)",
                        hhmm(net_at),
                        bytes / 1e6
                    ),
                    format!("{} CPU rise begins", hhmm(rise)),
                ],
            });
        }
    }
}

fn breaching_datapoints(change: &AlarmChange) -> usize {
    let values = change.evaluated_values();
    match (change.threshold(), change.comparison) {
        (Some(t), Some(c)) if c != Comparison::OutsideBand => {
            values.iter().filter(|(_, v)| c.breaches(*v, t)).count()
        }
        _ => values.len(),
    }
}

fn priority(
    change: &AlarmChange,
    findings: &[Finding],
    env: &Environment,
    fleet_worst: Option<Reason>,
) -> (Priority, Vec<Reason>) {
    let has = |r: RuleId| findings.iter().any(|f| f.rule == r);
    let mut reasons = Vec::new();
    let prod = env.is_production();
    let env_reason = fleet_worst.unwrap_or_else(|| match env {
        Environment::Production(e) => Reason::Production {
            environment: e.clone(),
        },
        Environment::NonProduction(e) => Reason::NonProduction {
            environment: e.clone(),
        },
        Environment::Untagged => Reason::ProductionAssumedUntagged,
        Environment::Unknown => Reason::ProductionAssumedUnknownInstance,
    });

    let p = match change.state.value {
        AlarmState::Ok => {
            let minutes = change
                .previous
                .as_ref()
                .filter(|p| p.value == AlarmState::Alarm)
                .map(|p| (change.state.at - p.at).num_minutes());
            reasons.push(Reason::Recovered { minutes });
            Priority::P3
        }
        AlarmState::InsufficientData => {
            let after_alarm = change
                .previous
                .as_ref()
                .is_some_and(|p| p.value == AlarmState::Alarm);
            reasons.push(Reason::InsufficientData { after_alarm });
            if after_alarm {
                Priority::P2
            } else {
                Priority::P3
            }
        }
        AlarmState::Alarm if has(RuleId::Health) => {
            let (kind, deadline) = findings
                .iter()
                .find_map(|f| match &f.detail {
                    Detail::Health { kind, deadline, .. } => Some((*kind, *deadline)),
                    _ => None,
                })
                .unwrap_or((HealthKind::Other, None));
            let left = deadline.map(|d| d - change.state.at);
            reasons.push(Reason::Health {
                kind,
                hours_left: left.map(|l| l.num_hours()),
            });
            match kind {
                HealthKind::RecoverySucceeded => Priority::P3,
                HealthKind::RecoveryFailed if prod => Priority::P0,
                HealthKind::RecoveryFailed => Priority::P1,
                _ => match left {
                    Some(l) if l <= Duration::hours(24) && prod => Priority::P1,
                    Some(l) if l <= Duration::hours(24) => Priority::P2,
                    Some(l) if l <= Duration::days(7) => Priority::P2,
                    _ => Priority::P3,
                },
            }
        }
        AlarmState::Alarm if has(RuleId::Stopped) => {
            let cause = findings.iter().find_map(|f| match &f.detail {
                Detail::Stopped { cause, .. } => Some(*cause),
                _ => None,
            });
            reasons.push(Reason::Stopped {
                intended: cause == Some(StopCause::Intended),
            });
            match (cause, prod) {
                (Some(StopCause::Intended), _) => Priority::P3,
                (_, true) => Priority::P1,
                (_, false) => Priority::P2,
            }
        }
        AlarmState::Alarm if has(RuleId::AzEvent) => {
            // A probable AWS-side event hits every instance in the AZ, production or not.
            reasons.push(Reason::AzEvent);
            Priority::P0
        }
        AlarmState::Alarm if has(RuleId::Gone) => {
            reasons.push(Reason::Gone);
            Priority::P3
        }
        AlarmState::Alarm => {
            let p = if has(RuleId::SysCheck) || has(RuleId::InstCheck) || has(RuleId::EbsCheck) {
                reasons.push(Reason::StatusCheckFailed);
                if prod {
                    Priority::P0
                } else {
                    Priority::P1
                }
            } else if matches!(change.kind, AlarmKind::Composite { .. }) {
                reasons.push(Reason::CompositeAlarm);
                if prod {
                    Priority::P1
                } else {
                    Priority::P2
                }
            } else if has(RuleId::SecSuspect) {
                // A possible compromise spreads: high priority whatever the environment.
                reasons.push(Reason::SecuritySuspect);
                Priority::P1
            } else if has(RuleId::Mem) || has(RuleId::Disk) || has(RuleId::EbsBurst) {
                reasons.push(Reason::ResourcePressure);
                if prod {
                    Priority::P1
                } else {
                    Priority::P2
                }
            } else if has(RuleId::CpuSustained) || has(RuleId::CpuCredits) {
                if has(RuleId::CpuCredits) {
                    reasons.push(Reason::CreditsExhausted);
                }
                if let Some(Finding {
                    detail: Detail::CpuSustained { datapoints, .. },
                    ..
                }) = findings.iter().find(|f| f.rule == RuleId::CpuSustained)
                {
                    reasons.push(Reason::SustainedBreach {
                        datapoints: *datapoints,
                    });
                }
                if prod {
                    Priority::P1
                } else {
                    Priority::P2
                }
            } else if has(RuleId::CpuSpike) {
                reasons.push(Reason::CpuSpike);
                Priority::P2
            } else {
                let breaching = breaching_datapoints(change);
                if breaching >= 3 {
                    reasons.push(Reason::SustainedBreach {
                        datapoints: breaching,
                    });
                    if prod {
                        Priority::P1
                    } else {
                        Priority::P2
                    }
                } else {
                    reasons.push(Reason::SingleBreach);
                    Priority::P2
                }
            };
            p
        }
    };
    if change.state.value == AlarmState::Alarm && !has(RuleId::Gone) {
        reasons.push(env_reason);
    }
    (p, reasons)
}
