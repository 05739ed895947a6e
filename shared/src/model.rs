//! Domain types for one incident (an alarm state change, a contributor's, an instance state change, an AWS Health
//! event, a sweep finding), independent of the wire format it arrived in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub mod aws_text;

/// The three states a CloudWatch alarm can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    /// The name CloudWatch uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "OK" => Some(AlarmState::Ok),
            "ALARM" => Some(AlarmState::Alarm),
            "INSUFFICIENT_DATA" => Some(AlarmState::InsufficientData),
            _ => None,
        }
    }
}

/// How a CloudWatch alarm's state change reached us.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Delivery {
    /// EventBridge `CloudWatch Alarm State Change` (or `… Contributor State Change`).
    EventBridge,
    /// The payload of an alarm action that invokes the function directly.
    AlarmAction,
}

/// What raised an incident, built where the input is read (event parsing, the sweep). The rest of the code branches
/// on it, never on the incident's name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Cause {
    /// A CloudWatch alarm changed state: an alarm on one instance, metric math, a composite, or the alarm-level
    /// event of a fleet alarm ([`Incident::fleet`] says which fleet).
    Alarm(Delivery),
    /// One time series of a multi-time-series alarm changed state: the incident is that series' (its instance's,
    /// when it has one).
    Contributor {
        delivery: Delivery,
        series: Contributor,
    },
    /// `EC2 Instance State-change Notification`: the instance left `running`.
    StateChange { state: InstanceState },
    /// An AWS Health event for EC2 (retirement, maintenance, automatic recovery) naming the instance.
    Health(HealthNotice),
    /// The scheduled sweep found a status check impaired (DescribeInstanceStatus, no alarm).
    Sweep {
        /// The failing check's metric (`StatusCheckFailed_System`, `…_Instance`, `…_AttachedEBS`).
        check: String,
    },
}

/// An EC2 instance's lifecycle state, as `State.Name` and state-change notifications spell it (and as it is stored:
/// `running`, `shutting-down`, …). Read once at the edge — the event's parsing, the EC2 adapter — and matched as a
/// value everywhere else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceState {
    Pending,
    /// The default of facts built field by field (tests): an instance is usually running.
    #[default]
    Running,
    Stopping,
    Stopped,
    ShuttingDown,
    Terminated,
}

impl std::fmt::Display for InstanceState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl InstanceState {
    /// The name EC2 uses on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::ShuttingDown => "shutting-down",
            InstanceState::Terminated => "terminated",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(InstanceState::Pending),
            "running" => Some(InstanceState::Running),
            "stopping" => Some(InstanceState::Stopping),
            "stopped" => Some(InstanceState::Stopped),
            "shutting-down" => Some(InstanceState::ShuttingDown),
            "terminated" => Some(InstanceState::Terminated),
            _ => None,
        }
    }

    /// Running or about to run: nothing stopped it.
    pub fn is_up(self) -> bool {
        matches!(self, InstanceState::Pending | InstanceState::Running)
    }

    /// Whether the instance is going or gone: the states a state-change notification raises an incident for.
    pub fn is_down(self) -> bool {
        !matches!(self, InstanceState::Pending | InstanceState::Running)
    }
}

/// An AWS Health event for EC2, for one affected instance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthNotice {
    pub event_arn: String,
    pub type_code: String,
    pub category: String,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub description: Option<String>,
}

/// The kind of alarm, which decides how the threshold and datapoints read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum AlarmKind {
    /// One metric against a static threshold.
    Metric,
    /// A metric-math expression against a static threshold.
    MetricMath,
    /// A metric against an anomaly-detection band (no static threshold).
    AnomalyBand,
    /// A composite alarm over other alarms; `suppressed` when its actions are suppressed now (its suppressor alarm).
    Composite {
        rule: String,
        suppressed: Option<ActionsSuppressed>,
    },
    /// A Metrics Insights query (`SELECT … FROM …`): one series, or one per contributor (`GROUP BY`).
    MetricsInsights,
}

/// A composite alarm whose actions its suppressor alarm suppresses: the event's `state.actionsSuppressedBy`, and
/// `configuration.actionsSuppressor` (the suppressor's name or ARN, bounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionsSuppressed {
    pub by: SuppressedBy,
    pub suppressor: Option<String>,
}

/// Why a composite's actions are suppressed (CloudWatch's `ActionsSuppressedBy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SuppressedBy {
    /// The suppressor alarm is in ALARM.
    Alarm,
    /// The composite waits (up to `ActionsSuppressorWaitPeriod`) for the suppressor to go into ALARM.
    WaitPeriod,
    /// The suppressor left ALARM; the composite waits out `ActionsSuppressorExtensionPeriod`.
    ExtensionPeriod,
}

impl SuppressedBy {
    /// CloudWatch's value (`Alarm`, `WaitPeriod`, `ExtensionPeriod`; the documentation also writes `ALARM`).
    pub fn parse(v: &str) -> Option<SuppressedBy> {
        match v.trim().to_ascii_lowercase().as_str() {
            "alarm" => Some(SuppressedBy::Alarm),
            "waitperiod" => Some(SuppressedBy::WaitPeriod),
            "extensionperiod" => Some(SuppressedBy::ExtensionPeriod),
            _ => None,
        }
    }
}

/// How the alarm compares its datapoints, read from the reason text (the event carries no operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    OutsideBand,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::Greater => ">",
            Comparison::GreaterOrEqual => ">=",
            Comparison::Less => "<",
            Comparison::LessOrEqual => "<=",
            Comparison::OutsideBand => "outside",
        }
    }

    /// Does `value` breach `threshold` under this comparison?
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
            Comparison::OutsideBand => false,
        }
    }
}

/// One metric an alarm watches (or a member of its metric-math expression).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricRef {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub dimensions: BTreeMap<String, String>,
    pub period: u64,
    pub stat: String,
    pub return_data: bool,
}

/// A metric-math expression of an alarm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expression {
    pub id: String,
    pub expression: String,
    pub label: Option<String>,
    pub return_data: bool,
}

/// What a fleet alarm's series are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FleetSource {
    /// A Metrics Insights query over a namespace.
    MetricsInsights,
    /// Metric math over the metrics of several instances.
    MetricMath,
}

/// An alarm over many instances: the lab's unified `EC2-Fleet-HighCPU-…` alarm, a multi-time-series Metrics
/// Insights alarm, or metric math over several instances. What a ranking of the fleet's instances starts from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetAlarm {
    pub source: FleetSource,
    /// The query or expression as the alarm holds it (user text: escaped and bounded on output).
    pub query: String,
    /// `AWS/EC2` or `CWAgent`.
    pub namespace: String,
    /// The metric, when the query could be read (and, for metric math, every member names the same one).
    pub metric: Option<String>,
    /// The query's aggregate (`MAX`) or the members' statistic.
    pub function: Option<String>,
    /// The `WHERE` clause, verbatim.
    pub filter: Option<String>,
    /// `GROUP BY` keys: non-empty for a multi-time-series alarm (one contributor per group).
    pub group_by: Vec<String>,
    pub period: Option<u64>,
    /// The instances the alarm names (metric math); empty for a query over the namespace.
    pub instances: Vec<String>,
}

impl FleetAlarm {
    /// Whether CloudWatch evaluates one series per contributor.
    pub fn multi_series(&self) -> bool {
        !self.group_by.is_empty()
    }
}

/// One time series of a multi-time-series alarm, from a `CloudWatch Alarm Contributor State Change` event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contributor {
    /// CloudWatch's id of the series (up to 16 characters).
    pub id: String,
    /// The series' dimensions (the query's `GROUP BY` keys), e.g. `InstanceId`.
    pub attributes: BTreeMap<String, String>,
}

/// One datapoint CloudWatch evaluated for the transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datapoint {
    pub at: DateTime<Utc>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
}

/// A member alarm that triggered a composite alarm.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriggeringAlarm {
    pub arn: String,
    pub name: String,
    pub state: Option<AlarmState>,
    pub at: Option<DateTime<Utc>>,
}

/// The parsed `reasonData` of a state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReasonData {
    pub threshold: Option<f64>,
    pub statistic: Option<String>,
    pub period: Option<u64>,
    /// Oldest first.
    pub recent: Vec<f64>,
    /// Oldest first (CloudWatch lists them newest first; we reverse).
    pub evaluated: Vec<Datapoint>,
    pub upper: Vec<f64>,
    pub lower: Vec<f64>,
    pub triggering: Vec<TriggeringAlarm>,
}

/// What CloudWatch's reason says the alarm evaluated: `crossed` datapoints past the threshold out of the last `of`
/// ("Threshold Crossed: 5 out of the last 5 datapoints [...] were greater than the threshold (90.0)"; "Threshold
/// Crossed: 1 datapoint was greater than …" is 1 of 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Crossed {
    pub crossed: usize,
    pub of: usize,
}

impl Crossed {
    /// Read from an alarm's (or a contributor's) state reason; `None` when it does not say.
    pub fn parse(reason: &str) -> Option<Crossed> {
        let rest = reason.split_once("Threshold Crossed: ")?.1;
        let number = |s: &str| -> Option<(usize, usize)> {
            let digits = s.bytes().take_while(u8::is_ascii_digit).count();
            Some((s.get(..digits)?.parse().ok()?, digits))
        };
        let (crossed, used) = number(rest)?;
        let after = rest.get(used..)?;
        let of = match after.strip_prefix(" out of the last ") {
            Some(tail) => number(tail)?.0,
            // "1 datapoint was …", "2 datapoints were …": all of those evaluated.
            None if after.starts_with(" datapoint") => crossed,
            None => return None,
        };
        (crossed <= of && of > 0).then_some(Crossed { crossed, of })
    }
}

/// One side of a transition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateInfo {
    pub value: AlarmState,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub reason_data: Option<ReasonData>,
}

/// One incident: what raised it ([`Cause`]), and the alarm's definition and transition as the input carried them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub cause: Cause,
    /// The alarm's name; for an incident without an alarm (state change, Health, sweep), the name ec2ops gives it
    /// (`ec2ops-state/{id}/{state}`, `aws-health/{code}/{id}`, `ec2ops-sweep/{check}/{id}`). Incident keys and
    /// threads are built from it (and persisted in the ledger), so it stays as it is; nothing reads facts back
    /// out of it: they are in [`Incident::cause`].
    pub alarm_name: String,
    pub alarm_arn: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub description: Option<String>,
    pub kind: AlarmKind,
    pub metrics: Vec<MetricRef>,
    pub expressions: Vec<Expression>,
    pub state: StateInfo,
    pub previous: Option<StateInfo>,
    pub comparison: Option<Comparison>,
    /// Instance ids named by any metric's `InstanceId` dimension, in order of appearance, deduplicated.
    pub instance_ids: Vec<String>,
    /// Things in the event we could not read but that did not stop the report (e.g. reasonData not JSON).
    pub warnings: Vec<String>,
    /// Set when the alarm watches a fleet rather than one instance.
    pub fleet: Option<FleetAlarm>,
}

/// Whether an alarm's comparison and threshold mean "the check failed": `> t` with 0 ≤ t < 1, or `>= t` with
/// 0 < t ≤ 1 (status metrics are 0 or 1). `< 1`, `>= 0` or an anomaly band would fire on a healthy instance.
pub fn means_failed(comparison: Option<Comparison>, threshold: Option<f64>) -> bool {
    match (comparison, threshold) {
        (Some(Comparison::Greater), Some(t)) => (0.0..1.0).contains(&t),
        (Some(Comparison::GreaterOrEqual), Some(t)) => t > 0.0 && t <= 1.0,
        _ => false,
    }
}

/// The former name of [`Incident`], kept while the adapters, the pipeline and the report move to the new one.
pub type AlarmChange = Incident;

impl Incident {
    /// The AWS Health event behind this incident, when that is its cause.
    pub fn health(&self) -> Option<&HealthNotice> {
        match &self.cause {
            Cause::Health(h) => Some(h),
            _ => None,
        }
    }

    /// The series of a multi-time-series alarm whose own state change this is.
    pub fn contributor(&self) -> Option<&Contributor> {
        match &self.cause {
            Cause::Contributor { series, .. } => Some(series),
            _ => None,
        }
    }

    /// Whether the incident says a status check failed at all: an ALARM on a `StatusCheckFailed*` metric, or the
    /// sweep. Such an incident is only a *claim* until corroborated (`remediation::check_failure_corroborated`).
    pub fn claims_check_failure(&self) -> bool {
        self.state.value == AlarmState::Alarm
            && self
                .primary_metric()
                .is_some_and(|m| m.name.starts_with("StatusCheckFailed"))
    }

    /// Whether the sweep raised this incident (DescribeInstanceStatus, no alarm).
    pub fn is_sweep(&self) -> bool {
        matches!(self.cause, Cause::Sweep { .. })
    }

    /// Whether a CloudWatch alarm (or one of its contributors) raised this incident.
    pub fn is_alarm(&self) -> bool {
        matches!(self.cause, Cause::Alarm(_) | Cause::Contributor { .. })
    }

    /// The idempotency key: one alarm (one contributor of it), one state, one transition time. The contributor's
    /// id keeps the series of one alarm that change state together (same timestamp) apart.
    pub fn incident_key(&self) -> String {
        format!(
            "{}{}#{}#{}",
            self.alarm_id(),
            self.contributor_suffix(),
            self.state.value.as_str(),
            self.state.at.format("%Y-%m-%dT%H:%M:%S%.3fZ")
        )
    }

    /// `#contributor/<id>` for a contributor's change, else nothing.
    fn contributor_suffix(&self) -> String {
        self.contributor()
            .map(|c| format!("#contributor/{}", c.id))
            .unwrap_or_default()
    }

    /// The chat thread of the alarm episode: an ALARM opens it; the OK or INSUFFICIENT_DATA that follows names the
    /// ALARM's timestamp as its previous state, so both land in the same thread without any stored state.
    ///
    /// A contributor's change carries no previous state, so its thread is the contributor's own, without a
    /// timestamp: its ALARM and the OK that follows ("No data was returned for this contributor" included) land in one
    /// thread; the contributor id comes first so bounding a very long alarm ARN never merges two contributors.
    pub fn thread_id(&self) -> String {
        if let Some(c) = self.contributor() {
            let id = format!("contributor/{}#{}", c.id, self.alarm_id());
            return id.chars().take(256).collect();
        }
        let episode = match (&self.previous, self.state.value) {
            (Some(prev), AlarmState::Ok | AlarmState::InsufficientData)
                if prev.value == AlarmState::Alarm =>
            {
                prev.at
            }
            _ => self.state.at,
        };
        // Timestamp first, so bounding a very long alarm ARN never merges two episodes.
        let id = format!(
            "{}{}#{}",
            episode.format("%Y%m%dT%H%M%S%.3fZ"),
            self.contributor_suffix(),
            self.alarm_id()
        );
        id.chars().take(256).collect()
    }

    fn alarm_id(&self) -> &str {
        self.alarm_arn.as_deref().unwrap_or(&self.alarm_name)
    }

    /// The metric the alarm is about: the first returned single metric, else the first metric at all.
    pub fn primary_metric(&self) -> Option<&MetricRef> {
        self.metrics
            .iter()
            .find(|m| m.return_data)
            .or_else(|| self.metrics.first())
    }

    /// The expression whose value the alarm compares, when it is a metric-math alarm.
    pub fn primary_expression(&self) -> Option<&Expression> {
        match self.kind {
            AlarmKind::MetricMath => self
                .expressions
                .iter()
                .find(|e| e.return_data)
                .or_else(|| self.expressions.first()),
            _ => None,
        }
    }

    /// The instance the report is about: the first one the alarm names. A metric-math alarm can name several (e.g.
    /// `MAX([m1, m2])` over two instances' checks), and then the first is not more at fault than the others: an
    /// automatic action needs [`Incident::single_instance`] instead.
    pub fn primary_instance(&self) -> Option<&str> {
        self.instance_ids.first().map(String::as_str)
    }

    /// The alarm-level event of a multi-time-series alarm: its contributors each get their own report, so this one
    /// is a summary of the transition (which contributors are in ALARM), without any per-instance analysis.
    pub fn is_series_summary(&self) -> bool {
        self.contributor().is_none()
            && self.instance_ids.is_empty()
            && self.fleet.as_ref().is_some_and(FleetAlarm::multi_series)
    }

    /// The one instance an automatic action may target: the incident names exactly one instance, and every metric
    /// of the alarm (each member of a metric-math expression) carries that same `InstanceId`.
    pub fn single_instance(&self) -> Result<&str, NotSingle> {
        let id = match self.instance_ids.as_slice() {
            [] => return Err(NotSingle::NoInstance),
            [id] => id.as_str(),
            several => return Err(NotSingle::Several(several.to_vec())),
        };
        match self
            .metrics
            .iter()
            .find(|m| m.dimensions.get("InstanceId").map(String::as_str) != Some(id))
        {
            Some(m) => Err(NotSingle::Member {
                id: m.id.clone(),
                metric: m.name.clone(),
            }),
            None => Ok(id),
        }
    }

    /// The static threshold, when the alarm has one.
    pub fn threshold(&self) -> Option<f64> {
        self.state.reason_data.as_ref().and_then(|r| r.threshold)
    }

    /// The evaluated values oldest first (from reasonData), skipping missing datapoints.
    pub fn evaluated_values(&self) -> Vec<(DateTime<Utc>, f64)> {
        self.state
            .reason_data
            .as_ref()
            .map(|r| {
                r.evaluated
                    .iter()
                    .filter_map(|d| d.value.map(|v| (d.at, v)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of the metric the alarm compares, for titles and units: the primary metric's name, or the expression's
    /// label for metric math.
    pub fn metric_name(&self) -> Option<&str> {
        match self.kind {
            AlarmKind::MetricsInsights => self
                .fleet
                .as_ref()
                .and_then(|f| f.metric.as_deref())
                .or_else(|| self.primary_metric().map(|m| m.name.as_str())),
            AlarmKind::MetricMath => self
                .primary_expression()
                .and_then(|e| e.label.as_deref())
                .or_else(|| self.primary_metric().map(|m| m.name.as_str())),
            _ => self.primary_metric().map(|m| m.name.as_str()),
        }
    }
}

/// Why an incident has no single instance to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NotSingle {
    /// No metric names an instance.
    NoInstance,
    /// The alarm covers several instances (in order of appearance).
    Several(Vec<String>),
    /// A metric of the alarm (a member of its expression) is not on the instance: no `InstanceId`, or another one.
    Member { id: String, metric: String },
}

/// Whether an id has the shape of an EC2 instance id.
pub fn looks_like_instance_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("i-") else {
        return false;
    };
    (8..=17).contains(&rest.len()) && rest.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Incident {
    /// The incident for an instance that left `running` (an EC2 state-change notification).
    pub fn from_state_change(
        instance_id: &str,
        state: InstanceState,
        at: DateTime<Utc>,
        region: Option<String>,
        account: Option<String>,
    ) -> Incident {
        Incident {
            cause: Cause::StateChange { state },
            alarm_name: format!("ec2ops-state/{instance_id}/{}", state.as_str()),
            alarm_arn: None,
            account,
            region,
            description: Some(format!(
                "EC2 Instance State-change Notification: the instance is {}",
                state.as_str()
            )),
            kind: AlarmKind::Metric,
            metrics: vec![],
            expressions: vec![],
            state: StateInfo {
                value: AlarmState::Alarm,
                reason: format!("instance {instance_id} entered {}", state.as_str()),
                at,
                reason_data: None,
            },
            previous: Some(StateInfo {
                value: AlarmState::Ok,
                reason: String::new(),
                at,
                reason_data: None,
            }),
            comparison: None,
            instance_ids: vec![instance_id.to_string()],
            warnings: vec![],
            fleet: None,
        }
    }
}

impl Incident {
    /// The incident of one instance named by an AWS Health event.
    pub fn from_health(
        notice: &HealthNotice,
        instance_id: &str,
        at: DateTime<Utc>,
        region: Option<String>,
        account: Option<String>,
    ) -> Incident {
        Incident {
            cause: Cause::Health(notice.clone()),
            alarm_name: format!("aws-health/{}/{instance_id}", notice.type_code),
            alarm_arn: Some(format!("{}/{instance_id}", notice.event_arn)),
            account,
            region,
            description: notice.description.clone(),
            kind: AlarmKind::Metric,
            metrics: vec![],
            expressions: vec![],
            state: StateInfo {
                value: AlarmState::Alarm,
                reason: format!("AWS Health {} ({})", notice.type_code, notice.category),
                at,
                reason_data: None,
            },
            previous: None,
            comparison: None,
            instance_ids: vec![instance_id.to_string()],
            warnings: vec![],
            fleet: None,
        }
    }
}
