//! Root-cause rules and priority: pure functions from the alarm change and the gathered facts to findings with
//! evidence, a priority with its reasons, and the respond-by time.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::catalogue;
use crate::diagnostics::CpuSample;
use crate::facts::{Facts, InstanceLookup, Role, Series};
use crate::model::{AlarmKind, AlarmState, Cause, Comparison, Incident, InstanceState};
use crate::pricing;

pub mod evidence;
mod priority;
pub mod recheck;
pub mod recommend;
mod rules;

use priority::*;
pub use recommend::{AutoRecovery, NotAvailable, Recommendation, Remedy};
pub use rules::MEMORY_LIST;
use rules::*;

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
        state: InstanceState,
        cause: StopCause,
        code: Option<String>,
        message: Option<String>,
    },
    /// `state` is `None` when the instance does not exist any more; `cause` is what EC2's state reason says of a
    /// stopped or stopping instance (`None` otherwise).
    Gone {
        state: Option<InstanceState>,
        cause: Option<StopCause>,
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

impl Detail {
    /// The instance is stopped (or stopping) and nothing says the stop was meant: until it is explained, the service
    /// may be down.
    pub fn unexplained_stop(&self) -> bool {
        matches!(self, Detail::Gone { cause: Some(c), .. } if *c != StopCause::Intended)
    }
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
    /// CWAgent `disk_used_percent` above 90 % on `path` (`None`: the alarm's metric names no path).
    Disk { path: Option<String>, percent: f64 },
    /// gp2 `BurstBalance` below 20 % on `volume` (`None`: the alarm's metric names no volume).
    Burst {
        volume: Option<String>,
        percent: f64,
    },
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
    /// What proves it, as data: the report phrases each in its language and time zone.
    pub evidence: Vec<Observation>,
}

/// One thing the analysis read that backs a finding: an instant as a time, a metric as its catalogue name, what
/// the account wrote as it wrote it. Only the report turns it into words (`report/evidence.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Observation {
    /// A datapoint of a metric series (its unit from the catalogue); `dimension` names the file system or volume.
    Datapoint {
        at: DateTime<Utc>,
        metric: &'static str,
        dimension: Option<String>,
        value: f64,
    },
    /// The latest datapoint of a status check's metric at or above 1.
    CheckDatapoint {
        at: DateTime<Utc>,
        metric: &'static str,
        value: f64,
    },
    /// The alarm's evaluated datapoints on a status check's metric: `failed` of `evaluated` were failures;
    /// `namespace` when the metric is not EC2's own.
    AlarmDatapoints {
        metric: &'static str,
        namespace: Option<String>,
        failed: usize,
        evaluated: usize,
    },
    /// The alarm on a status check's metric is in ALARM and its event carries no evaluated datapoints.
    AlarmWithoutDatapoints { metric: &'static str },
    /// The combined status check alarm fired; which check failed is not known.
    CombinedCheckFailed,
    /// The sweep found the check impaired.
    SweepListed { metric: &'static str },
    /// DescribeInstanceStatus reports the check impaired.
    CheckImpaired { metric: &'static str },
    /// DescribeInstanceStatus reports the check in `state` (`None`: it does not report it), not impaired.
    CheckNotImpaired {
        metric: &'static str,
        state: Option<String>,
    },
    /// Instances with failed status checks in the AZ within 10 minutes, this one included.
    AzImpaired { instances: usize, az: String },
    /// Another instance impaired in the same AZ.
    AlsoImpaired { instance: String },
    /// The AWS Health event.
    HealthEvent { code: String, category: String },
    /// DescribeInstances does not know the instance.
    InstanceNotFound,
    /// DescribeInstances reports the instance in `state`.
    InstanceState { state: InstanceState },
    /// EC2's state-change notification.
    StateChangeNotice { state: InstanceState },
    /// EC2's reason for the state: `StateReason` code and message, or only `StateTransitionReason` (`message`).
    StateReason {
        code: Option<String>,
        message: Option<String>,
    },
    /// EC2's reason could not be read: DescribeInstances was unavailable (`why`, the source's own reason).
    StateReasonUnread { why: crate::source::Gap },
    /// The window's median of CPU before the rise (percent).
    MedianBeforeRise { percent: f64 },
    /// A NetworkIn datapoint `factor` times the window's median.
    NetworkInSurge {
        at: DateTime<Utc>,
        bytes: f64,
        factor: f64,
    },
    /// When CPU rose to the threshold.
    CpuRise { at: DateTime<Utc> },
    /// NetworkOut's median over the last 5 minutes (bytes a minute), `factor` times its level before.
    NetworkOutMedian { bytes: f64, factor: f64 },
    /// Admin ports open to the world.
    WorldOpenPorts { ports: Vec<i32> },
    /// Another finding this one rests on.
    AlsoFound { rule: RuleId },
    /// The process using the most CPU inside the OS, as the list measured it.
    TopCpu {
        process: Box<crate::diagnostics::Process>,
        sample: CpuSample,
    },
    /// The process using the most memory inside the OS (ps's list: its CPU is the average since it started).
    TopMemory {
        process: Box<crate::diagnostics::Process>,
    },
    /// A line of the OOM killer, redacted.
    OomKill { line: String },
    /// A kernel error line, redacted.
    KernelError { line: String },
    /// Memory used inside the OS.
    GuestMemory {
        used_mib: u64,
        total_mib: u64,
        percent: f64,
    },
    /// The fullest file system inside the OS.
    GuestDisk(Box<crate::diagnostics::Filesystem>),
    /// A CloudTrail event of the window.
    Change(Box<crate::evidence::changes::Change>),
    /// A log line around the transition.
    LogLine(Box<crate::evidence::logs::LogLine>),
}

/// Whether a status-check incident proves, from the event alone, that the check failed: the sweep (it read
/// DescribeInstanceStatus), or an alarm whose every metric is EC2's own (`AWS/EC2`), whose comparison means "failed"
/// and one of whose evaluated datapoints is a failure (≥ 1). An alarm anybody can create (`StatusCheckFailed_Instance
/// < 1`) or one that fired on missing data shows nothing.
pub fn check_failure_shown(change: &Incident) -> bool {
    if !change.claims_check_failure() {
        return false;
    }
    if change.is_sweep() {
        return true;
    }
    change.is_alarm()
        && change.fleet.is_none()
        && change.metrics.iter().all(|m| m.namespace == catalogue::EC2)
        && crate::model::means_failed(change.comparison, change.threshold())
        && change.evaluated_values().iter().any(|(_, v)| *v >= 1.0)
}

/// Priority levels of the seed's escalation table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
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
    /// A status check failed: the failing check's metric (`StatusCheckFailed_System`, …) when a finding names it.
    StatusCheckFailed {
        check: Option<&'static str>,
    },
    /// A composite alarm in ALARM: its member alarms that went to ALARM, the first first (from the reason data).
    CompositeAlarm {
        members: Vec<MemberFired>,
    },
    /// The alarm's metric stayed past its threshold: how long, how far.
    SustainedBreach(Breach),
    /// One datapoint past the threshold: its value and the threshold, when the event carries them.
    SingleBreach {
        metric: Option<String>,
        value: Option<f64>,
        threshold: Option<f64>,
    },
    CpuSpike {
        last: f64,
        baseline: f64,
        at: DateTime<Utc>,
    },
    CreditsExhausted {
        balance: f64,
    },
    SecuritySuspect,
    /// Memory, disk or EBS burst balance at its limit: which, and how full.
    ResourcePressure(Pressure),
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
    /// The instance's target group answered customers with errors in the minutes up to the transition.
    ServingErrors {
        group: String,
        errors: u64,
        requests: Option<u64>,
        minutes: i64,
    },
}

/// Datapoints past the alarm's threshold: `datapoints` of the last `of` (in a row when they are all) over `minutes`, between `lowest` and
/// `peak` (the least and the most extreme of the run), against `threshold` of `metric` (for its unit); `below` when
/// the alarm fires under its threshold (`<`, `<=`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    pub datapoints: usize,
    /// The datapoints evaluated: `datapoints` when the run is all of them.
    pub of: usize,
    pub minutes: i64,
    pub lowest: Option<f64>,
    pub peak: Option<f64>,
    pub threshold: Option<f64>,
    pub below: bool,
    pub metric: Option<String>,
}

/// A member alarm of a composite that went to ALARM, and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberFired {
    pub name: String,
    pub at: DateTime<Utc>,
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
    /// What the report recommends, decided from the findings and the facts.
    pub recommendation: Recommendation,
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

/// The reason "serving errors" when the instance's target group answered with errors and the incident is not back
/// to OK.
fn serving_errors(change: &Incident, facts: &Facts) -> Option<Reason> {
    if change.state.value == AlarmState::Ok {
        return None;
    }
    let served = facts.evidence.impact.as_ref()?.get()?.serving_errors()?;
    // Counts of requests: whole, non-negative, far below u64::MAX (a NaN casts to 0).
    let count = |v: f64| v.clamp(0.0, 1e15).round() as u64;
    Some(Reason::ServingErrors {
        group: served.group_name.clone(),
        errors: count(served.target_5xx.unwrap_or(0.0)),
        requests: served.requests.map(count),
        minutes: served.minutes,
    })
}

/// Run every rule and the priority table.
pub fn assess(change: &Incident, facts: &Facts) -> Assessment {
    let environment = environment(facts);
    let cpu_threshold = cpu_threshold(change);
    if change.is_series_summary() {
        let (priority, reasons) = summary_priority(change, facts);
        return Assessment {
            respond_by: change.state.at + priority.response_time(),
            recommendation: recommend::recommend(change, &[], facts),
            findings: Vec::new(),
            priority,
            reasons,
            environment: Environment::Unknown,
            cpu_threshold,
        };
    }
    let mut findings = Vec::new();

    if let Some(h) = change.health() {
        findings.push(Finding {
            rule: RuleId::Health,
            detail: Detail::Health {
                kind: health_kind(&h.type_code),
                code: h.type_code.clone(),
                deadline: h.start,
            },
            evidence: vec![Observation::HealthEvent {
                code: h.type_code.clone(),
                category: h.category.clone(),
            }],
        });
    } else if let Cause::StateChange { state } = change.cause {
        stopped(state, facts, &mut findings);
    } else {
        gone(change, facts, &mut findings);
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
    evidence::findings(change, facts, &mut findings);
    findings.sort_by_key(|f| f.rule);

    let (mut priority, mut reasons) = match fleet_worst(change, facts, &environment) {
        Some((env, reason)) => priority(change, &findings, &env, Some(reason)),
        None => priority(change, &findings, &environment, None),
    };
    // Customers getting errors from the instance's target group: at least P1 while the incident is open.
    if let Some(s) = serving_errors(change, facts) {
        priority = priority.min(Priority::P1);
        reasons.insert(0, s);
    }
    Assessment {
        respond_by: change.state.at + priority.response_time(),
        recommendation: recommend::recommend(change, &findings, facts),
        findings,
        priority,
        reasons,
        environment,
        cpu_threshold,
    }
}
