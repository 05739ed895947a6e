//! Customer impact: whether the instance serves traffic behind a load balancer, how its target group sees it
//! (DescribeTargetHealth), and what the group served in the minutes before the transition — 5xx from the targets,
//! requests, response time (`AWS/ApplicationELB` in CloudWatch). The first thing an on-call engineer looks up: an
//! instance the balancer has taken out, or a group answering with errors, changes the priority.

use serde::{Deserialize, Serialize};

/// One target group that has the instance registered, and the instance's health in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub group_arn: String,
    pub group_name: String,
    /// The port the instance is registered on.
    pub port: Option<i32>,
    /// The load balancers the group is attached to (ARNs).
    pub load_balancers: Vec<String>,
    /// `healthy`, `unhealthy`, `initial`, `draining`, `unavailable`, … as ELB writes it.
    pub state: String,
    /// ELB's reason code (`Target.FailedHealthChecks`, `Target.Timeout`, …).
    pub reason: Option<String>,
}

impl Target {
    /// Whether the balancer sends this target no new traffic because of its health (not while it warms up or
    /// drains on purpose).
    pub fn taken_out(&self) -> bool {
        self.state == "unhealthy"
    }

    /// The group's `TargetGroup` dimension (`targetgroup/name/id`), from its ARN.
    pub fn group_dimension(&self) -> Option<String> {
        dimension_after(&self.group_arn, ":targetgroup/").map(|d| format!("targetgroup/{d}"))
    }

    /// The Application Load Balancer's `LoadBalancer` dimension (`app/name/id`): the first ALB the group is
    /// attached to (a Network Load Balancer has no HTTP status metrics).
    pub fn alb_dimension(&self) -> Option<String> {
        self.load_balancers
            .iter()
            .find_map(|arn| dimension_after(arn, ":loadbalancer/app/").map(|d| format!("app/{d}")))
    }
}

/// `name/id` after `marker` in an ELB ARN, when it has exactly that shape.
fn dimension_after(arn: &str, marker: &str) -> Option<String> {
    let rest = arn.split_once(marker)?.1;
    let mut parts = rest.split('/');
    let (name, id) = (parts.next()?, parts.next()?);
    let ok = |s: &str| {
        !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    (parts.next().is_none() && ok(name) && ok(id)).then(|| format!("{name}/{id}"))
}

/// What one target group served in the minutes before the transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Served {
    pub group_name: String,
    /// Minutes summed over.
    pub minutes: i64,
    pub requests: Option<f64>,
    /// `HTTPCode_Target_5XX_Count`: errors the targets answered with.
    pub target_5xx: Option<f64>,
    /// `TargetResponseTime`, average over the minutes, in seconds.
    pub response_secs: Option<f64>,
}

/// A group serving errors: at least this many 5xx…
pub const ERRORS_MIN: f64 = 5.0;
/// …and at least this share of its requests (when the requests are known).
pub const ERROR_RATE_MIN: f64 = 0.01;

impl Served {
    /// The share of requests answered with a 5xx, when both are known.
    pub fn error_rate(&self) -> Option<f64> {
        match (self.target_5xx, self.requests) {
            (Some(e), Some(r)) if r > 0.0 => Some(e / r),
            _ => None,
        }
    }

    /// Whether customers got errors: [`ERRORS_MIN`] or more 5xx, and at least [`ERROR_RATE_MIN`] of the requests.
    pub fn serving_errors(&self) -> bool {
        let errors = self.target_5xx.unwrap_or(0.0);
        errors >= ERRORS_MIN && self.error_rate().is_none_or(|r| r >= ERROR_RATE_MIN)
    }
}

/// The instance behind load balancers: its target groups, and (for an Application Load Balancer's groups) what
/// they served.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerImpact {
    /// The groups that have the instance registered (empty: it serves no load balancer).
    pub targets: Vec<Target>,
    /// Target groups in the instance's VPC looked through, and how many there were: a cap bounds the calls.
    pub groups_checked: usize,
    pub groups_total: usize,
    /// What the groups served; `None` when no group is an ALB's, `Some(Err(why))` when CloudWatch did not answer.
    pub served: Option<Result<Vec<Served>, crate::source::Gap>>,
}

impl CustomerImpact {
    /// The first group whose targets answered customers with errors.
    pub fn serving_errors(&self) -> Option<&Served> {
        self.served
            .as_ref()
            .and_then(|s| s.as_ref().ok())
            .and_then(|s| s.iter().find(|g| g.serving_errors()))
    }

    /// The first group that has taken the instance out.
    pub fn taken_out(&self) -> Option<&Target> {
        self.targets.iter().find(|t| t.taken_out())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(arn: &str, lbs: &[&str]) -> Target {
        Target {
            group_arn: arn.into(),
            group_name: "web".into(),
            port: Some(80),
            load_balancers: lbs.iter().map(|s| s.to_string()).collect(),
            state: "healthy".into(),
            reason: None,
        }
    }

    #[test]
    fn the_metric_dimensions_come_from_the_arns_of_the_group_and_its_application_load_balancer() {
        let t = target(
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web-tg/6d0ecf831eec9f09",
            &[
                "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/net/edge/50dc6c495c0c9188",
                "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
            ],
        );
        assert_eq!(
            t.group_dimension().as_deref(),
            Some("targetgroup/web-tg/6d0ecf831eec9f09")
        );
        assert_eq!(
            t.alb_dimension().as_deref(),
            Some("app/web/50dc6c495c0c9188")
        );
    }

    #[test]
    fn an_arn_of_another_shape_gives_no_dimension() {
        for arn in [
            "arn:aws:elasticloadbalancing:r:1:targetgroup/web-tg",
            "arn:aws:elasticloadbalancing:r:1:targetgroup/web tg/1",
            "arn:aws:elasticloadbalancing:r:1:targetgroup/a/b/c",
            "not an arn",
        ] {
            assert_eq!(target(arn, &[]).group_dimension(), None, "{arn}");
        }
        let nlb = target(
            "arn:aws:elasticloadbalancing:r:1:targetgroup/t/1",
            &["arn:aws:elasticloadbalancing:r:1:loadbalancer/net/edge/1"],
        );
        assert_eq!(nlb.alb_dimension(), None);
    }

    #[test]
    fn a_group_serves_errors_from_five_5xx_and_one_percent_of_its_requests() {
        let served = |errors: Option<f64>, requests: Option<f64>| Served {
            group_name: "web".into(),
            minutes: 5,
            requests,
            target_5xx: errors,
            response_secs: None,
        };
        assert!(served(Some(37.0), Some(1200.0)).serving_errors());
        assert!(served(Some(5.0), None).serving_errors());
        assert!(
            !served(Some(4.0), Some(10.0)).serving_errors(),
            "too few errors"
        );
        assert!(
            !served(Some(50.0), Some(100_000.0)).serving_errors(),
            "0.05 %"
        );
        assert!(!served(None, Some(100.0)).serving_errors());
    }
}
