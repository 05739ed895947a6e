//! The sweep's edge: an impaired instance DescribeInstanceStatus listed becomes an incident.

use super::*;

impl Incident {
    /// The incident the sweep raises for an impaired instance: as if an alarm on the failing check had gone to ALARM
    /// when the check became impaired.
    pub fn from_sweep(i: &crate::facts::Impaired, now: DateTime<Utc>) -> Incident {
        // Without an impaired-since time, the hour: the ledger's hourly note keeps repeats out either way.
        let since = i.since.unwrap_or_else(|| {
            now.duration_trunc(chrono::Duration::hours(1))
                .unwrap_or(now)
        });
        let metric = MetricRef {
            id: "sweep".into(),
            namespace: crate::catalogue::EC2.into(),
            name: i.check.clone(),
            dimensions: BTreeMap::from([("InstanceId".to_string(), i.instance_id.clone())]),
            period: 60,
            stat: "Maximum".into(),
            return_data: true,
        };
        Incident {
            cause: Cause::Sweep {
                check: i.check.clone(),
            },
            alarm_name: format!("ec2ops-sweep/{}/{}", i.check, i.instance_id),
            alarm_arn: None,
            account: None,
            region: i
                .availability_zone
                .as_deref()
                .map(|az| az.trim_end_matches(|c: char| c.is_ascii_lowercase()).to_string()),
            description: Some(format!(
                "found by the ec2ops sweep: DescribeInstanceStatus reports {} impaired (no alarm needed)",
                i.check
            )),
            kind: AlarmKind::Metric,
            metrics: vec![metric],
            expressions: vec![],
            state: StateInfo {
                value: AlarmState::Alarm,
                reason: format!("{} impaired since {}", i.check, since.format("%Y-%m-%dT%H:%M:%SZ")),
                at: since,
                reason_data: None,
            },
            // The check was passing before it became impaired.
            previous: Some(StateInfo {
                value: AlarmState::Ok,
                reason: String::new(),
                at: since,
                reason_data: None,
            }),
            comparison: None,
            instance_ids: vec![i.instance_id.clone()],
            warnings: vec![],
            fleet: None,
        }
    }
}
