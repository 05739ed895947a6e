//! Customer impact's reads ([`crate::evidence::impact`]): the instance's target groups in its VPC, then, for the
//! groups of an Application Load Balancer, what they served in the minutes up to the transition — one
//! GetMetricData. Never an error: "unavailable: why".

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::evidence::impact::{CustomerImpact, Served, Target};
use crate::ports::{MetricData, MetricQuery, MetricReader, QueryKind, TargetReader, WindowRequest};
use crate::source::Source;

use super::deadline;

/// Target groups of the VPC looked through, at most (one DescribeTargetHealth each).
pub const MAX_GROUPS: usize = 20;
/// Groups whose traffic is read, at most (three metrics each).
pub const MAX_SERVED_GROUPS: usize = 2;
/// Minutes of traffic read, up to and with the transition's minute.
pub const SERVED_MINUTES: i64 = 10;

const NAMESPACE: &str = "AWS/ApplicationELB";
/// Query id suffix, metric, statistic.
const METRICS: [(&str, &str, &str); 3] = [
    ("e", "HTTPCode_Target_5XX_Count", "Sum"),
    ("r", "RequestCount", "Sum"),
    ("t", "TargetResponseTime", "Average"),
];

/// Read the instance's customer impact; `vpc_id` from DescribeInstances.
pub async fn read(
    targets: &dyn TargetReader,
    metrics: &dyn MetricReader,
    instance_id: &str,
    vpc_id: &str,
    at: DateTime<Utc>,
    limit: impl Fn() -> Duration,
) -> Source<CustomerImpact> {
    let found = match deadline(limit(), targets.targets_of(instance_id, vpc_id, MAX_GROUPS)).await {
        Source::Available(m) => m,
        Source::Unavailable(why) => return Source::Unavailable(why),
    };
    let served = match served_request(&found.targets, at) {
        None => None,
        Some((request, names)) => Some(
            match deadline(limit(), metrics.metric_data(&request)).await {
                Source::Available(data) => Ok(assemble(&names, &data)),
                Source::Unavailable(why) => Err(why),
            },
        ),
    };
    Source::Available(CustomerImpact {
        targets: found.targets,
        groups_checked: found.groups_checked,
        groups_total: found.groups_total,
        served,
    })
}

/// The GetMetricData of the ALB groups' traffic, and the group names by query prefix (`None`: no ALB group).
pub fn served_request(
    targets: &[Target],
    at: DateTime<Utc>,
) -> Option<(WindowRequest, Vec<(String, String)>)> {
    let minute = at.timestamp().div_euclid(60).saturating_mul(60);
    let end = DateTime::from_timestamp(minute.saturating_add(60), 0)?;
    let start = DateTime::from_timestamp(minute.saturating_sub((SERVED_MINUTES - 1) * 60), 0)?;
    let mut queries = Vec::new();
    let mut names = Vec::new();
    let albs = targets
        .iter()
        .filter_map(|t| Some((t, t.group_dimension()?, t.alb_dimension()?)));
    for (n, (t, group, lb)) in albs.take(MAX_SERVED_GROUPS).enumerate() {
        let prefix = format!("g{n}");
        for (suffix, name, stat) in METRICS {
            queries.push(MetricQuery {
                id: format!("{prefix}{suffix}"),
                roles: vec![],
                kind: QueryKind::Stat {
                    namespace: NAMESPACE.into(),
                    name: name.into(),
                    dimensions: BTreeMap::from([
                        ("TargetGroup".to_string(), group.clone()),
                        ("LoadBalancer".to_string(), lb.clone()),
                    ]),
                    stat: stat.into(),
                },
                return_data: true,
            });
        }
        names.push((prefix, t.group_name.clone()));
    }
    (!queries.is_empty()).then_some((
        WindowRequest {
            start,
            end,
            period_secs: 60,
            queries,
        },
        names,
    ))
}

/// Each group's sums and average. ELB publishes no `HTTPCode_Target_5XX_Count` datapoint for a minute without
/// one: a group that served requests and has no 5xx datapoint served no 5xx.
pub fn assemble(names: &[(String, String)], data: &MetricData) -> Vec<Served> {
    let values = |id: String| -> Option<Vec<f64>> {
        data.get(&id).filter(|p| !p.is_empty()).map(|p| {
            p.iter()
                .map(|(_, v)| *v)
                .filter(|v| v.is_finite())
                .collect()
        })
    };
    names
        .iter()
        .map(|(prefix, group_name)| {
            let requests: Option<f64> = values(format!("{prefix}r")).map(|v| v.iter().sum());
            let errors = values(format!("{prefix}e"))
                .map(|v| v.iter().sum())
                .or(requests.map(|_| 0.0));
            let response_secs = values(format!("{prefix}t"))
                .filter(|v| !v.is_empty())
                .map(|v| v.iter().sum::<f64>() / v.len() as f64);
            Served {
                group_name: group_name.clone(),
                minutes: SERVED_MINUTES,
                requests,
                target_5xx: errors,
                response_secs,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alb_target(name: &str) -> Target {
        Target {
            group_arn: format!(
                "arn:aws:elasticloadbalancing:r:1:targetgroup/{name}/0123456789abcdef"
            ),
            group_name: name.into(),
            port: Some(80),
            load_balancers: vec![
                "arn:aws:elasticloadbalancing:r:1:loadbalancer/app/web/50dc6c495c0c9188".into(),
            ],
            state: "healthy".into(),
            reason: None,
        }
    }

    #[test]
    fn the_traffic_read_covers_ten_minutes_up_to_the_transition_for_at_most_two_alb_groups() {
        let at = "2025-08-14T03:07:31Z".parse::<DateTime<Utc>>().unwrap();
        let targets = [alb_target("a"), alb_target("b"), alb_target("c")];
        let (req, names) = served_request(&targets, at).unwrap();
        assert_eq!(req.start.to_rfc3339(), "2025-08-14T02:58:00+00:00");
        assert_eq!(req.end.to_rfc3339(), "2025-08-14T03:08:00+00:00");
        assert_eq!(req.queries.len(), 6);
        assert_eq!(names.len(), 2);
        let mut nlb = alb_target("n");
        nlb.load_balancers =
            vec!["arn:aws:elasticloadbalancing:r:1:loadbalancer/net/edge/1".into()];
        assert!(
            served_request(&[nlb], at).is_none(),
            "an NLB's group has no HTTP metrics"
        );
    }

    #[test]
    fn a_group_with_requests_and_no_5xx_datapoint_served_no_errors() {
        let at = "2025-08-14T03:07:00Z".parse::<DateTime<Utc>>().unwrap();
        let names = vec![("g0".to_string(), "web".to_string())];
        let data = MetricData::from([
            ("g0r".to_string(), vec![(at, 600.0), (at, 600.0)]),
            ("g0t".to_string(), vec![(at, 0.2), (at, 0.4)]),
        ]);
        let served = assemble(&names, &data);
        assert_eq!(served[0].requests, Some(1200.0));
        assert_eq!(served[0].target_5xx, Some(0.0));
        assert!((served[0].response_secs.unwrap_or_default() - 0.3).abs() < 1e-9);
        let none = assemble(&names, &MetricData::new());
        assert_eq!((none[0].requests, none[0].target_5xx), (None, None));
    }
}
