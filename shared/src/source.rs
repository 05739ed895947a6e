//! What one read returned, or why it is missing: the container every fact and every piece of evidence comes in.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One source of evidence: what it returned, or why it is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source<T> {
    Available(T),
    Unavailable(Gap),
}

impl<T> Source<T> {
    pub fn get(&self) -> Option<&T> {
        match self {
            Source::Available(t) => Some(t),
            Source::Unavailable(_) => None,
        }
    }

    pub fn reason(&self) -> Option<&Gap> {
        match self {
            Source::Available(_) => None,
            Source::Unavailable(r) => Some(r),
        }
    }
}

impl<T> Default for Source<T> {
    fn default() -> Self {
        Source::Unavailable(Gap::NotGathered)
    }
}

/// Why a source is missing, as a value: the report says it in its language; an AWS error is kept (and quoted) as
/// AWS wrote it. [`fmt::Display`] gives the English words, for logs, the CLI and the stored records (a gap is stored
/// as those words, and read back as [`Gap::Failed`]: nothing reads a stored gap to decide anything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gap {
    /// An AWS call failed: the adapter's account of it (`ec2 DescribeInstances: ThrottlingException: Rate exceeded`).
    Failed(String),
    /// The call got no answer within its deadline.
    TimedOut {
        ms: u64,
    },
    /// `--offline`: the call (`ec2 DescribeInstances`, when one call is meant) was not made.
    Offline {
        call: Option<String>,
    },
    NotGathered,
    NotReadYet,
    NotNeeded,
    /// The alarm names no instance.
    NoInstance,
    /// The instance named does not exist.
    NoSuchInstance,
    /// DescribeInstances did not find the instance.
    NotFound,
    /// DescribeInstances answered without this field (`Placement.Tenancy`).
    Unreturned {
        field: String,
    },
    /// The alarm-level event of a multi-time-series alarm: each contributor gets its own report.
    SummaryOnly,
    /// The read needs DescribeInstances's answer, which is missing for this reason.
    NeedsInstance(Box<Gap>),
    /// A composite alarm: no metric to chart.
    NoMetric,
    /// A fleet alarm's series is charted per instance, and no instance was ranked.
    FleetNotCharted,
    /// No ledger table is configured (`EC2OPS_LEDGER_TABLE`).
    NoLedger,
    /// The heartbeat's report does not read the ledger.
    HeartbeatNoLedger,
    /// The incident could not be claimed (the ledger's error).
    Unclaimed(Box<Gap>),
    /// The AZ's impairments could not be read again after the settle delay (the ledger's error).
    NotReread(Box<Gap>),
    /// A ranking path found no instance with datapoints of the metric in the window.
    NoDatapoints {
        metric: String,
    },
    /// The metric reader has no way to rank a fleet.
    CannotRank,
    /// The fleet alarm gives nothing to rank its instances by.
    Unrankable(Unrankable),
    /// `approve` mode without a ledger table to keep the proposal in.
    ApprovalsNeedLedger,
    /// This kind of incident has no event to check again, so it is not proposed for approval.
    NotProposable,
    /// No random nonce could be drawn (the error).
    NoNonce(String),
    /// The proposal could not be recorded (the ledger's error).
    ProposalNotRecorded(Box<Gap>),
    /// Whether an interrupted earlier delivery acted could not be read (the ledger's error).
    UnknownIfActed(Box<Gap>),
    /// Every one of several reads failed: what each read (a ranking path, a log group, a resource) and why.
    Each(Vec<(String, Gap)>),
}

impl Gap {
    /// The gap of a call that outlived its deadline.
    pub fn timed_out(limit: std::time::Duration) -> Gap {
        Gap::TimedOut {
            ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gap::Failed(why) => f.write_str(why),
            Gap::TimedOut { ms } => write!(f, "timed out after {ms} ms"),
            Gap::Offline { call: Some(call) } => {
                write!(f, "{call}: offline mode, no AWS call made")
            }
            Gap::Offline { call: None } => f.write_str("offline mode, no AWS call made"),
            Gap::NotGathered => f.write_str("not gathered"),
            Gap::NotReadYet => f.write_str("not read yet"),
            Gap::NotNeeded => f.write_str("not needed"),
            Gap::NoInstance => f.write_str("the alarm names no instance"),
            Gap::NoSuchInstance => f.write_str("the instance does not exist"),
            Gap::NotFound => f.write_str("the instance was not found"),
            Gap::Unreturned { field } => write!(f, "DescribeInstances did not return {field}"),
            Gap::SummaryOnly => f.write_str(
                "alarm-level event of a multi-time-series alarm: each contributor gets its own report",
            ),
            Gap::NeedsInstance(why) => {
                write!(f, "needs DescribeInstances, which was unavailable ({why})")
            }
            Gap::NoMetric => f.write_str("the alarm has no metric to chart (composite alarm)"),
            Gap::FleetNotCharted => f.write_str(
                "a fleet alarm's series is charted per instance, and no instance was ranked",
            ),
            Gap::NoLedger => f.write_str("no ledger table configured (EC2OPS_LEDGER_TABLE)"),
            Gap::HeartbeatNoLedger => f.write_str("the heartbeat does not read the ledger"),
            Gap::Unclaimed(e) => write!(f, "the incident could not be claimed: {e}"),
            Gap::NotReread(e) => write!(
                f,
                "the AZ's impairments could not be re-read after the settle delay: {e}"
            ),
            Gap::NoDatapoints { metric } => {
                write!(f, "no instance has {metric} datapoints in the window")
            }
            Gap::CannotRank => f.write_str("this metric reader cannot rank a fleet"),
            Gap::Unrankable(why) => write!(f, "{why}"),
            Gap::ApprovalsNeedLedger => {
                f.write_str("approvals need the ledger table (EC2OPS_LEDGER_TABLE)")
            }
            Gap::NotProposable => f.write_str(
                "this kind of incident is not proposed for approval (it has no event to check again)",
            ),
            Gap::NoNonce(e) => write!(f, "no random nonce could be drawn: {e}"),
            Gap::ProposalNotRecorded(e) => write!(f, "the proposal could not be recorded: {e}"),
            Gap::UnknownIfActed(e) => write!(
                f,
                "whether an interrupted earlier delivery acted could not be read ({e}); a later delivery reconciles it"
            ),
            Gap::Each(each) => {
                for (i, (what, why)) in each.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{what}: {why}")?;
                }
                Ok(())
            }
        }
    }
}

/// Why a fleet alarm's instances cannot be ranked (by its Metrics Insights query, or at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrankable {
    NotFleet,
    /// The alarm's query could not be read, so its metric is not known.
    MetricUnknown,
    /// A metric-math fleet alarm: no Metrics Insights query to rank by.
    MetricMath,
    /// The query could not be read: the parser's account of it (about the query's own text).
    QueryUnread(String),
    /// The query names no single metric (`SELECT AVG(*)`).
    NoSingleMetric,
    /// The query's `SCHEMA(…)` has no `InstanceId` key to group by: its keys.
    NoInstanceIdKey(String),
}

impl fmt::Display for Unrankable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unrankable::NotFleet => f.write_str("not a fleet alarm"),
            Unrankable::MetricUnknown => {
                f.write_str("the alarm's query could not be read, so its metric is not known")
            }
            Unrankable::MetricMath => {
                f.write_str("the alarm is metric math, not a Metrics Insights query")
            }
            Unrankable::QueryUnread(e) => write!(f, "the alarm's query could not be read ({e})"),
            Unrankable::NoSingleMetric => f.write_str("the alarm's query names no single metric"),
            Unrankable::NoInstanceIdKey(keys) => {
                write!(
                    f,
                    "the alarm's SCHEMA({keys}) has no InstanceId to group by"
                )
            }
        }
    }
}

impl Serialize for Gap {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Gap {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Gap::Failed)
    }
}
