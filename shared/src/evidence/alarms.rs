//! Other alarms on the same instance currently in ALARM, oldest first, so that a CPU alarm that follows a memory
//! alarm says so. One DescribeAlarms call (state ALARM, one page of 100), filtered here by the `InstanceId`
//! dimension of any of the alarm's metrics (metric-math members included).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// DescribeAlarms' page size; a full page means alarms beyond it were not checked.
pub const PAGE: usize = 100;
/// Other alarms shown at most.
pub const MAX_SHOWN: usize = 5;

/// `(namespace, metric name, dimensions as (name, value))` of one metric an alarm watches.
pub type WatchedMetric = (String, String, Vec<(String, String)>);

/// An alarm in ALARM as DescribeAlarms lists it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedAlarm {
    pub name: String,
    pub arn: Option<String>,
    /// `(namespace, metric name, dimensions)` of the alarm's metric, or of each metric-math member.
    pub metrics: Vec<WatchedMetric>,
    pub since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

impl OtherAlarm {
    /// The metric it watches, as a reader names it: `CWAgent mem_used_percent`.
    pub fn watched(&self) -> Option<String> {
        let m = self.metric.as_deref()?;
        Some(match &self.namespace {
            Some(ns) => format!("{ns} {m}"),
            None => m.to_string(),
        })
    }
}

/// Another alarm of the instance in ALARM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherAlarm {
    pub name: String,
    pub arn: Option<String>,
    /// The namespace of the metric it watches on the instance (`CWAgent`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The name of the metric it watches on the instance (`mem_used_percent`).
    pub metric: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// The other alarms found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OtherAlarms {
    /// Oldest first, at most [`MAX_SHOWN`].
    pub alarms: Vec<OtherAlarm>,
    /// More alarms are in ALARM than one page held: some were not checked.
    pub truncated: bool,
}

/// The listed alarms that watch `instance_id`, other than `current`, oldest in ALARM first.
pub fn on_instance(
    instance_id: &str,
    current: &str,
    listed: &[ListedAlarm],
    truncated: bool,
) -> OtherAlarms {
    let mut alarms: Vec<OtherAlarm> = listed
        .iter()
        .filter(|a| a.name != current)
        .filter_map(|a| {
            let (ns, name, _) = a.metrics.iter().find(|(_, _, dims)| {
                dims.iter()
                    .any(|(k, v)| k == "InstanceId" && v == instance_id)
            })?;
            Some(OtherAlarm {
                name: crate::text::bound(&a.name, 255),
                arn: a.arn.clone(),
                namespace: Some(ns.clone()),
                metric: Some(name.clone()),
                since: a.since,
            })
        })
        .collect();
    // Oldest first; an alarm without a time last.
    alarms.sort_by_key(|a| (a.since.is_none(), a.since));
    alarms.truncate(MAX_SHOWN);
    OtherAlarms { alarms, truncated }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(name: &str, instance: &str, since: i64) -> ListedAlarm {
        ListedAlarm {
            name: name.into(),
            arn: None,
            metrics: vec![(
                "CWAgent".into(),
                "mem_used_percent".into(),
                vec![("InstanceId".into(), instance.into())],
            )],
            since: DateTime::from_timestamp(since, 0),
            reason: None,
        }
    }

    #[test]
    fn only_other_alarms_on_the_same_instance_are_kept_oldest_first() {
        let all = [
            listed("cpu-high", "i-1", 300),
            listed("mem-high", "i-1", 100),
            listed("disk-high", "i-1", 200),
            listed("elsewhere", "i-2", 50),
        ];
        let o = on_instance("i-1", "cpu-high", &all, false);
        let names: Vec<&str> = o.alarms.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["mem-high", "disk-high"]);
        assert_eq!(o.alarms[0].namespace.as_deref(), Some("CWAgent"));
        assert_eq!(o.alarms[0].metric.as_deref(), Some("mem_used_percent"));
    }
}
