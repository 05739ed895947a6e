//! What the gather step learned about the instance and the metric window. Every piece is a [`Source`]: either
//! available, or unavailable with the reason — a failed or slow AWS call degrades the report, never the incident.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::model::InstanceState;

pub use crate::source::{Gap, Source};

/// From DescribeInstances.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceFacts {
    pub id: String,
    pub instance_type: String,
    pub state: InstanceState,
    pub availability_zone: Option<String>,
    /// The VPC and subnet the instance runs in, as DescribeInstances gives them.
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    /// `ebs` or `instance-store`.
    pub root_device_type: Option<String>,
    /// `required` means IMDSv2 only; `optional` allows IMDSv1.
    pub http_tokens: Option<String>,
    pub security_group_ids: Vec<String>,
    pub volume_ids: Vec<String>,
    /// `default` (simplified automatic recovery on) or `disabled`.
    pub auto_recovery: Option<String>,
    /// `enabled` (1-minute metrics) or `disabled` (5-minute basic monitoring).
    pub monitoring: Option<String>,
    /// `spot` or `scheduled`; absent for on-demand.
    pub lifecycle: Option<String>,
    pub platform: Option<String>,
    /// Why the instance last changed state (`StateReason.Code`, e.g. `Client.UserInitiatedShutdown`).
    #[serde(default)]
    pub state_reason_code: Option<String>,
    /// `StateReason.Message` / `StateTransitionReason`, as EC2 words it.
    #[serde(default)]
    pub state_reason: Option<String>,
    /// `Placement.Tenancy`: `default`, `dedicated` or `host` (a Dedicated Host).
    #[serde(default)]
    pub tenancy: Option<String>,
    /// An attached network interface is an Elastic Fabric Adapter (`InterfaceType` `efa`).
    #[serde(default)]
    pub efa: bool,
    /// Stop protection (`DisableApiStop`), from DescribeInstanceAttribute: a call of its own, so it can be missing
    /// while the rest of the instance is known.
    #[serde(default)]
    pub disable_api_stop: Source<bool>,
}

impl InstanceFacts {
    pub fn name(&self) -> Option<&str> {
        self.tags.get("Name").map(String::as_str)
    }

    /// The Auto Scaling group that owns the instance, from the tag EC2 Auto Scaling puts on its instances.
    pub fn asg(&self) -> Option<&str> {
        self.tags
            .get("aws:autoscaling:groupName")
            .map(String::as_str)
    }

    pub fn environment(&self) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("environment") || k.eq_ignore_ascii_case("env"))
            .map(|(_, v)| v.as_str())
    }

    /// The instance holds a database's data, as its Name or role tag says (`prod-db-1`, `orders-postgres`): it cannot
    /// be replaced like a stateless server.
    pub fn holds_data(&self) -> bool {
        const DATA: [&str; 11] = [
            "db",
            "database",
            "mysql",
            "mariadb",
            "postgres",
            "postgresql",
            "mongo",
            "mongodb",
            "redis",
            "cassandra",
            "oracle",
        ];
        self.tags
            .iter()
            .filter(|(k, _)| ["name", "role", "service"].contains(&k.to_ascii_lowercase().as_str()))
            .flat_map(|(_, v)| v.split(|c: char| !c.is_ascii_alphanumeric()))
            .any(|w| DATA.contains(&w.to_ascii_lowercase().as_str()))
    }

    pub fn is_running(&self) -> bool {
        self.state == InstanceState::Running
    }

    pub fn is_spot(&self) -> bool {
        self.lifecycle.as_deref() == Some("spot")
    }

    /// Whether the opt-in tag is set exactly as the IAM policy's `StringEquals` condition reads it: the value `true`,
    /// nothing else (`True` or ` true ` would pass a lenient check here and then fail in IAM, counted against the caps).
    pub fn opted_in(&self, tag: &str) -> bool {
        self.tags.get(tag).is_some_and(|v| v == "true")
    }
}

/// Result of looking the instance up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceLookup {
    Found(Box<InstanceFacts>),
    /// DescribeInstances said the id does not exist (terminated long ago, or wrong account/region).
    NotFound,
}

/// One status check's state: `ok`, `impaired`, `insufficient-data`, `initializing`, `not-applicable`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusFacts {
    pub system: Option<String>,
    pub instance: Option<String>,
    pub attached_ebs: Option<String>,
    pub scheduled_events: Vec<ScheduledEvent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduledEvent {
    pub code: String,
    pub description: Option<String>,
    pub not_before: Option<DateTime<Utc>>,
}

/// From DescribeInstanceTypes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TypeFacts {
    pub instance_type: String,
    pub vcpus: Option<i32>,
    pub memory_mib: Option<i64>,
    pub burstable: bool,
    pub auto_recovery_supported: bool,
    pub instance_storage: bool,
}

/// What one metric series measures, so the rules can find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The alarm's own metric or expression.
    Alarm,
    Cpu,
    NetworkIn,
    NetworkOut,
    StatusSystem,
    StatusInstance,
    StatusEbs,
    CpuCredits,
    Memory,
    /// CWAgent `disk_used_percent` of the n-th filesystem requested (dimension = its path), n below
    /// [`crate::catalogue::DISK_SLOTS`].
    Disk(u8),
    /// `AWS/EBS` `BurstBalance` of the n-th gp2 volume requested (dimension = its volume id), n below
    /// [`crate::catalogue::BURST_SLOTS`].
    Burst(u8),
}

/// One series of the window, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// The metric's name, or the expression's label (its text when it has none).
    pub name: String,
    /// What tells series of one metric apart: a filesystem's path, a volume's id.
    #[serde(default)]
    pub dimension: Option<String>,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

impl Series {
    /// The series as the report names it: `disk_used_percent /data`, `CPUUtilization`.
    pub fn label(&self) -> String {
        match &self.dimension {
            Some(d) => format!("{} {d}", self.name),
            None => self.name.clone(),
        }
    }

    pub fn values(&self) -> Vec<f64> {
        self.points.iter().map(|(_, v)| *v).collect()
    }

    pub fn last(&self) -> Option<(DateTime<Utc>, f64)> {
        self.points.last().copied()
    }

    pub fn max(&self) -> Option<f64> {
        self.points.iter().map(|(_, v)| *v).reduce(f64::max)
    }
}

/// The result of the one GetMetricData call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricWindow {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub period_secs: u64,
    pub series: BTreeMap<Role, Series>,
    /// How many metrics the call requested (the budget is 12).
    pub metrics_requested: usize,
}

impl MetricWindow {
    pub fn get(&self, role: Role) -> Option<&Series> {
        self.series.get(&role).filter(|s| !s.points.is_empty())
    }
}

/// One entry of DescribeAlarmHistory (state updates only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    pub at: DateTime<Utc>,
    pub summary: String,
}

/// Alarm history over the last 7 days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmHistory {
    pub items: Vec<HistoryItem>,
}

/// Transitions into ALARM that come back at the same time of day: the mark of a scheduled job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DailyPattern {
    /// The middle of the transitions' times of day (UTC), in minutes after midnight.
    pub center_minute: u32,
    /// Minutes from the middle to the farthest transition.
    pub within_minutes: u32,
    /// Distinct days the transitions fell on.
    pub days: usize,
}

/// The widest spread of times of day still read as one daily time (a job and the evaluation period that catches
/// it vary by minutes, not hours).
pub const DAILY_SPREAD_MINUTES: u32 = 30;

impl AlarmHistory {
    /// Transitions into ALARM, as CloudWatch summarizes them ("Alarm updated from OK to ALARM").
    pub fn alarm_transitions(&self) -> usize {
        self.alarm_times().count()
    }

    /// When the alarm went into ALARM.
    pub fn alarm_times(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.items
            .iter()
            .filter(|i| i.summary.ends_with("to ALARM"))
            .map(|i| i.at)
    }

    /// Whether the transitions into ALARM fell on three or more different days, each time within
    /// [`DAILY_SPREAD_MINUTES`] of the same time of day (measured around midnight too: 23:55 and 00:05 are close).
    pub fn daily_pattern(&self) -> Option<DailyPattern> {
        use chrono::Timelike;
        let mut minutes: Vec<u32> = self
            .alarm_times()
            .map(|t| t.hour() * 60 + t.minute())
            .collect();
        let mut days: Vec<chrono::NaiveDate> = self.alarm_times().map(|t| t.date_naive()).collect();
        days.sort();
        days.dedup();
        if days.len() < 3 {
            return None;
        }
        minutes.sort_unstable();
        // The spread is the day less the widest gap between consecutive times, the gap across midnight included.
        let (first, last) = (*minutes.first()?, *minutes.last()?);
        let (gap, after) = minutes
            .windows(2)
            .map(|w| (w[1] - w[0], w[1]))
            .chain(std::iter::once((first + 1440 - last, first)))
            .max()?;
        let spread = 1440 - gap;
        (spread <= DAILY_SPREAD_MINUTES).then(|| DailyPattern {
            center_minute: (after + spread / 2) % 1440,
            within_minutes: spread - spread / 2,
            days: days.len(),
        })
    }
}

/// An inbound rule open to the whole internet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenRule {
    pub protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr: String,
}

/// The ports an attacker from the internet logs in through.
pub const ADMIN_PORTS: [(i32, &str); 2] = [(22, "SSH"), (3389, "RDP")];

/// The ports a web server serves the internet on: open to the world by design.
pub const WEB_PORTS: [i32; 2] = [80, 443];

impl OpenRule {
    /// Only web ports (80, 443): how a web server serves, not a finding.
    pub fn web_only(&self) -> bool {
        let tcp = self.protocol == "tcp" || self.protocol == "6";
        match (self.from_port, self.to_port) {
            (Some(f), Some(t)) => tcp && f == t && WEB_PORTS.contains(&f),
            _ => false,
        }
    }

    /// Does the rule cover this TCP port?
    pub fn covers(&self, port: i32) -> bool {
        let proto_ok = self.protocol == "-1" || self.protocol == "tcp" || self.protocol == "6";
        let range_ok = match (self.from_port, self.to_port) {
            (Some(f), Some(t)) => (f == -1 && t == -1) || (f <= port && port <= t),
            _ => true,
        };
        proto_ok && range_ok
    }
}

/// From DescribeSecurityGroups: only what matters for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityGroupFacts {
    pub id: String,
    pub name: String,
    pub world_open: Vec<OpenRule>,
}

/// From DescribeVolumes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VolumeFacts {
    pub id: String,
    pub volume_type: String,
    pub size_gib: i32,
    pub encrypted: bool,
    pub device: Option<String>,
}

/// How a fleet was ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankPath {
    /// One GetMetricData call with a Metrics Insights query derived from the alarm's (`… GROUP BY InstanceId ORDER
    /// BY MAX() DESC LIMIT n`): CloudWatch ranks.
    MetricsInsights,
    /// ListMetrics (the metric's `InstanceId` series) and batched MetricStat queries, ranked here.
    ListMetrics,
}

/// One instance of a fleet ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    pub instance_id: String,
    /// The highest datapoint in the ranking window, and when.
    pub peak: f64,
    pub peak_at: DateTime<Utc>,
    /// The last datapoints of the window (at most five), oldest first.
    pub recent: Vec<(DateTime<Utc>, f64)>,
    /// Whether the peak breaches the alarm's threshold (`None`: the alarm's threshold is not known).
    #[serde(default)]
    pub breaching: Option<bool>,
    /// From DescribeInstances, when it answered.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    /// The Environment (or env) tag, as [`InstanceFacts::environment`] reads it; `None` when untagged or not looked up
    /// (`instance_type` tells which).
    #[serde(default)]
    pub environment: Option<String>,
}

/// A contributor of a multi-time-series alarm currently in ALARM (DescribeAlarmContributors).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InAlarm {
    pub id: String,
    /// The series' dimensions, e.g. `InstanceId`.
    pub attributes: BTreeMap<String, String>,
    pub reason: String,
    pub since: Option<DateTime<Utc>>,
    /// From DescribeInstances for the first [`CONTRIBUTORS_LOOKED_UP`] contributors with an
    /// `InstanceId`, when it answered (`instance_type` tells whether it did).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
}

impl InAlarm {
    pub fn instance_id(&self) -> Option<&str> {
        self.attributes.get("InstanceId").map(String::as_str)
    }
}

/// A fleet's instances ranked by the alarm's metric, hottest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ranking {
    pub path: RankPath,
    /// The ranking window.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub period_secs: u64,
    /// The top of the ranking (at most [`RANK_TOP`]).
    pub rows: Vec<Ranked>,
    /// Series ranked (the fleet seen, after any cap).
    pub series: usize,
    /// Breaching instances among those ranked; `more_may_breach` when the ranked top is all breaching and the path
    /// saw only the top (Metrics Insights `LIMIT`).
    pub breaching: usize,
    pub more_may_breach: bool,
    /// Why the fleet was ranked only in part (the fallback's fleet-size cap).
    pub capped: Option<String>,
    /// Why the Metrics Insights path was not used, when the fallback ranked.
    pub fallback: Option<Gap>,
    /// What the path could not apply of the alarm's query (the fallback cannot read a `WHERE` clause).
    pub caveat: Option<String>,
}

/// Everything gathered for one incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub instance: Source<InstanceLookup>,
    pub status: Source<StatusFacts>,
    pub instance_type: Source<TypeFacts>,
    pub metrics: Source<MetricWindow>,
    pub history: Source<AlarmHistory>,
    pub security_groups: Source<Vec<SecurityGroupFacts>>,
    pub volumes: Source<Vec<VolumeFacts>>,
    /// Recent actions and impairments from the ledger (DynamoDB).
    pub ledger: Source<LedgerView>,
    /// In-guest evidence over SSM; `None` when diagnostics are off or the instance is not running.
    #[serde(default)]
    pub diagnostics: Option<Source<crate::diagnostics::Diagnostics>>,
    /// The fleet's instances ranked by a fleet alarm's metric; `None` unless the alarm is a fleet's and names no
    /// instance. The other facts are then the top instance's.
    #[serde(default)]
    pub ranking: Option<Source<Ranking>>,
    /// The contributors in ALARM of a multi-time-series alarm, for the summary of its alarm-level event; `None` for
    /// any other incident.
    #[serde(default)]
    pub contributors: Option<Source<Vec<InAlarm>>>,
    /// What changed, what the logs say, what else is alarming (each `None` when its reader is not wired).
    #[serde(default)]
    pub evidence: crate::evidence::Evidence,
    /// The mute rules and Change Calendars read (each left out when its setting is off).
    #[serde(default)]
    pub silencers: crate::silence::Silencers,
}

impl Facts {
    /// Every source unavailable for the same reason (offline mode, or no instance to look up).
    pub fn unavailable(reason: Gap) -> Self {
        let r = || reason.clone();
        Facts {
            instance: Source::Unavailable(r()),
            status: Source::Unavailable(r()),
            instance_type: Source::Unavailable(r()),
            metrics: Source::Unavailable(r()),
            history: Source::Unavailable(r()),
            security_groups: Source::Unavailable(r()),
            volumes: Source::Unavailable(r()),
            ledger: Source::Unavailable(r()),
            diagnostics: None,
            ranking: None,
            contributors: None,
            evidence: Default::default(),
            silencers: Default::default(),
        }
    }

    pub fn found_instance(&self) -> Option<&InstanceFacts> {
        match self.instance.get() {
            Some(InstanceLookup::Found(i)) => Some(i),
            _ => None,
        }
    }

    /// The admin ports (SSH, RDP) the internet can reach: a security-group rule open to the world on an instance
    /// with a public address. A world-open rule on an instance without one reaches nobody outside the VPC.
    pub fn reachable_admin_ports(&self) -> Vec<i32> {
        if self
            .found_instance()
            .and_then(|i| i.public_ip.as_ref())
            .is_none()
        {
            return Vec::new();
        }
        let Some(groups) = self.security_groups.get() else {
            return Vec::new();
        };
        ADMIN_PORTS
            .iter()
            .map(|(p, _)| *p)
            .filter(|p| {
                groups
                    .iter()
                    .any(|g| g.world_open.iter().any(|r| r.covers(*p)))
            })
            .collect()
    }

    /// `(source name, reason)` for each missing source, for the report's list of gaps.
    pub fn gaps(&self) -> Vec<(&'static str, &Gap)> {
        [
            ("DescribeInstances", self.instance.reason()),
            ("DescribeInstanceStatus", self.status.reason()),
            ("DescribeInstanceTypes", self.instance_type.reason()),
            ("GetMetricData", self.metrics.reason()),
            ("DescribeAlarmHistory", self.history.reason()),
            ("DescribeSecurityGroups", self.security_groups.reason()),
            ("DescribeVolumes", self.volumes.reason()),
            ("Ledger", self.ledger.reason()),
            (
                "SSM diagnostics",
                self.diagnostics.as_ref().and_then(Source::reason),
            ),
            (
                "Fleet ranking",
                self.ranking.as_ref().and_then(Source::reason),
            ),
            (
                "DescribeAlarmContributors",
                self.contributors.as_ref().and_then(Source::reason),
            ),
        ]
        .into_iter()
        .filter_map(|(name, reason)| reason.map(|r| (name, r)))
        .chain(self.evidence.gaps())
        .collect()
    }
}

/// Contributors whose instance is looked up (Name, type, Environment tag) for the summary.
pub const CONTRIBUTORS_LOOKED_UP: usize = 5;

/// Instances a fleet ranking keeps (the lab's TOP list).
pub const RANK_TOP: usize = 5;

/// What the ledger knows about recent actions and impairments (gathered with the other facts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerView {
    /// When an earlier delivery of this same incident acted (a retry after a failed publish).
    pub this_incident_action: Option<DateTime<Utc>>,
    /// When ec2ops last acted on this instance, newest first (last 24 h).
    pub instance_actions: Vec<DateTime<Utc>>,
    /// Actions account-wide in the last hour.
    pub account_actions_last_hour: usize,
    /// Other instances with a status-check incident in the same AZ in the last 10 minutes.
    pub az_impaired: Vec<String>,
    /// Other incidents on this same instance's status checks in the last 10 minutes, so that their reports name each
    /// other (and a reboot can defer to a recover of the same instance).
    #[serde(default)]
    pub same_instance: Vec<SameInstance>,
}

/// Another incident on the same instance's status checks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SameInstance {
    /// The failing check's metric name (`StatusCheckFailed_System`, …).
    pub check: String,
    pub incident_key: String,
}

impl std::fmt::Display for SameInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.check, self.incident_key)
    }
}

/// An instance the sweep found impaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Impaired {
    pub instance_id: String,
    pub availability_zone: Option<String>,
    /// The failing check's metric (`StatusCheckFailed_System`, `…_Instance`, `…_AttachedEBS`), the most severe first.
    pub check: String,
    /// When the check became impaired (stable across sweeps, so the ledger recognizes the same failure).
    pub since: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(at: &[&str]) -> AlarmHistory {
        AlarmHistory {
            items: at
                .iter()
                .filter_map(|a| a.parse::<DateTime<Utc>>().ok())
                .map(|at| HistoryItem {
                    at,
                    summary: "Alarm updated from OK to ALARM".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn transitions_at_the_same_time_on_three_days_are_a_daily_pattern() {
        let h = history(&[
            "2025-08-09T02:58:00Z",
            "2025-08-11T03:04:00Z",
            "2025-08-12T03:01:00Z",
            "2025-08-13T03:05:00Z",
        ]);
        let d = h.daily_pattern();
        assert_eq!(
            d,
            Some(DailyPattern {
                center_minute: 3 * 60 + 1,
                within_minutes: 4,
                days: 4
            })
        );
    }

    #[test]
    fn a_daily_time_around_midnight_is_one_time_not_two() {
        let h = history(&[
            "2025-08-09T23:55:00Z",
            "2025-08-11T00:05:00Z",
            "2025-08-12T23:59:00Z",
        ]);
        let d = h
            .daily_pattern()
            .map(|d| (d.center_minute, d.within_minutes));
        assert_eq!(d, Some((0, 5)));
    }

    #[test]
    fn scattered_times_or_one_day_are_no_pattern() {
        let scattered = history(&[
            "2025-08-09T02:58:00Z",
            "2025-08-11T09:04:00Z",
            "2025-08-12T17:01:00Z",
        ]);
        assert_eq!(scattered.daily_pattern(), None);
        let one_day = history(&[
            "2025-08-09T03:00:00Z",
            "2025-08-09T03:01:00Z",
            "2025-08-09T03:02:00Z",
            "2025-08-10T03:02:00Z",
        ]);
        assert_eq!(one_day.daily_pattern(), None);
    }

    #[test]
    fn a_database_is_told_by_a_word_of_its_name_or_role_not_by_a_substring() {
        let named = |name: &str| InstanceFacts {
            tags: BTreeMap::from([("Name".to_string(), name.to_string())]),
            ..InstanceFacts::default()
        };
        assert!(named("prod-db-1").holds_data());
        assert!(named("orders_Postgres").holds_data());
        assert!(!named("prod-dbg-web").holds_data(), "`dbg` is not `db`");
        assert!(!named("prod-web-2").holds_data());
        let mut role = named("prod-7");
        role.tags.insert("Role".into(), "mysql".into());
        assert!(role.holds_data());
    }

    #[test]
    fn only_an_admin_port_open_to_the_world_on_a_public_instance_is_reachable() {
        let open = |port: i32| OpenRule {
            protocol: "tcp".into(),
            from_port: Some(port),
            to_port: Some(port),
            cidr: "0.0.0.0/0".into(),
        };
        let facts = |public: Option<&str>| Facts {
            instance: Source::Available(InstanceLookup::Found(Box::new(InstanceFacts {
                public_ip: public.map(str::to_string),
                ..InstanceFacts::default()
            }))),
            security_groups: Source::Available(vec![SecurityGroupFacts {
                id: "sg-1".into(),
                name: "web".into(),
                world_open: vec![open(22), open(443)],
            }]),
            ..Facts::unavailable(Gap::NotNeeded)
        };
        assert_eq!(facts(Some("3.35.120.7")).reachable_admin_ports(), [22]);
        assert!(facts(None).reachable_admin_ports().is_empty());
        assert!(open(443).web_only() && !open(22).web_only());
    }
}
