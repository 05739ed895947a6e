//! Console deep links: region-correct (partition by region), every user-controlled part percent-encoded the way the
//! console reads it, and each link bounded in length (a link longer than [`MAX_URL`] is left out, not cut).

use chrono::{DateTime, Utc};

/// Longest link kept.
pub const MAX_URL: usize = 2_000;

/// The AWS console of one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Console {
    base: String,
    region: String,
}

/// RFC 3986 percent-encoding: everything but unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The CloudWatch Logs console's path encoding: percent-encoding with `%` itself written `$25`.
fn logs_encode(s: &str) -> String {
    encode(s).replace('%', "$25")
}

/// A string in the console's metric-graph notation (JSURL): `'` then the text, every character but
/// `[A-Za-z0-9_.-]` as `*XX` (or `**XXXX` beyond one byte).
fn jsurl(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("*{:02x}", c as u32));
        } else if (c as u32) < 0x10000 {
            out.push_str(&format!("**{:04x}", c as u32));
        }
    }
    out
}

fn bounded(url: String) -> Option<String> {
    (url.len() <= MAX_URL).then_some(url)
}

impl Console {
    /// The console of `region`; `None` for a region name that is not one (so no link is made up).
    pub fn new(region: &str) -> Option<Console> {
        let valid = !region.is_empty()
            && region.len() <= 32
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && region.bytes().any(|b| b.is_ascii_digit());
        if !valid || region.starts_with("us-iso") {
            return None;
        }
        let base = if region.starts_with("cn-") {
            format!("https://{region}.console.amazonaws.cn")
        } else if region.starts_with("us-gov-") {
            "https://console.amazonaws-us-gov.com".to_string()
        } else {
            format!("https://{region}.console.aws.amazon.com")
        };
        Some(Console {
            base,
            region: region.to_string(),
        })
    }

    pub fn instance(&self, id: &str) -> Option<String> {
        bounded(format!(
            "{}/ec2/home?region={}#InstanceDetails:instanceId={}",
            self.base,
            self.region,
            encode(id)
        ))
    }

    pub fn alarm(&self, name: &str) -> Option<String> {
        bounded(format!(
            "{}/cloudwatch/home?region={}#alarmsV2:alarm/{}",
            self.base,
            self.region,
            encode(name)
        ))
    }

    /// A metric graph of the window: `metric` (namespace, name, dimensions) with `stat` per `period_secs`.
    pub fn metric_graph(
        &self,
        namespace: &str,
        metric: &str,
        dimensions: &[(String, String)],
        stat: &str,
        period_secs: u64,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
    ) -> Option<String> {
        let mut m = format!("~{}~{}", jsurl(namespace), jsurl(metric));
        for (k, v) in dimensions {
            m.push_str(&format!("~{}~{}", jsurl(k), jsurl(v)));
        }
        let time = |t: DateTime<Utc>| jsurl(&t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        bounded(format!(
            "{}/cloudwatch/home?region={}#metricsV2:graph=~(metrics~(~({m}))~view~'timeSeries~stacked~false~region~{}~stat~{}~period~{}~start~{}~end~{})",
            self.base,
            self.region,
            jsurl(&self.region),
            jsurl(stat),
            period_secs.max(1),
            time(start),
            time(end),
        ))
    }

    /// One AWS Health event in the account's Health Dashboard (a global console, whatever the region).
    pub fn health_event(&self, event_arn: &str) -> Option<String> {
        bounded(format!(
            "https://health.aws.amazon.com/health/home#/account/event-log?eventID={}&eventTab=details",
            encode(event_arn)
        ))
    }

    /// One CloudTrail event.
    pub fn trail_event(&self, event_id: &str) -> Option<String> {
        bounded(format!(
            "{}/cloudtrailv2/home?region={}#/events/{}",
            self.base,
            self.region,
            encode(event_id)
        ))
    }

    /// CloudTrail's event history filtered on one resource.
    pub fn trail_resource(&self, resource: &str) -> Option<String> {
        bounded(format!(
            "{}/cloudtrailv2/home?region={}#/events?ResourceName={}",
            self.base,
            self.region,
            encode(resource)
        ))
    }

    /// One log stream, opened at `at`.
    pub fn log_stream(&self, group: &str, stream: &str, at: DateTime<Utc>) -> Option<String> {
        bounded(format!(
            "{}/cloudwatch/home?region={}#logsV2:log-groups/log-group/{}/log-events/{}$3Fstart$3D{}",
            self.base,
            self.region,
            logs_encode(group),
            logs_encode(stream),
            at.timestamp_millis()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_region_correct_for_every_partition_and_refuse_a_made_up_region() {
        let seoul = Console::new("ap-northeast-2").unwrap();
        assert_eq!(
            seoul.instance("i-0abc").unwrap(),
            "https://ap-northeast-2.console.aws.amazon.com/ec2/home?region=ap-northeast-2#InstanceDetails:instanceId=i-0abc"
        );
        assert!(Console::new("cn-north-1")
            .unwrap()
            .alarm("a")
            .unwrap()
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert!(Console::new("us-gov-west-1")
            .unwrap()
            .alarm("a")
            .unwrap()
            .starts_with("https://console.amazonaws-us-gov.com/"));
        for bad in ["", "evil.com/x", "us-east-1\n", "EU-WEST-1", "nowhere"] {
            assert_eq!(Console::new(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn user_controlled_names_are_percent_encoded_and_cannot_break_out_of_the_link() {
        let c = Console::new("us-east-1").unwrap();
        let url = c.alarm("cpu high) <!channel> [x](evil)/ü").unwrap();
        let fragment = url.split('#').nth(1).unwrap();
        assert_eq!(
            fragment,
            "alarmsV2:alarm/cpu%20high%29%20%3C%21channel%3E%20%5Bx%5D%28evil%29%2F%C3%BC"
        );
        let logs = c
            .log_stream(
                "/ec2/app",
                "i-0abc",
                DateTime::from_timestamp(0, 0).unwrap(),
            )
            .unwrap();
        assert!(logs.contains("log-group/$252Fec2$252Fapp/log-events/i-0abc$3Fstart$3D0"));
    }

    #[test]
    fn the_metric_graph_names_the_metric_the_instance_and_the_window() {
        let c = Console::new("ap-northeast-2").unwrap();
        let start = DateTime::parse_from_rfc3339("2025-07-20T11:51:00Z")
            .unwrap()
            .to_utc();
        let end = DateTime::parse_from_rfc3339("2025-07-20T12:21:00Z")
            .unwrap()
            .to_utc();
        let url = c
            .metric_graph(
                "AWS/EC2",
                "CPUUtilization",
                &[("InstanceId".into(), "i-0abc".into())],
                "Average",
                60,
                (start, end),
            )
            .unwrap();
        assert!(
            url.contains("metrics~(~(~'AWS*2fEC2~'CPUUtilization~'InstanceId~'i-0abc))"),
            "{url}"
        );
        assert!(
            url.contains("~start~'2025-07-20T11*3a51*3a00Z~end~'2025-07-20T12*3a21*3a00Z"),
            "{url}"
        );
        assert!(!url.contains(' '));
    }

    #[test]
    fn a_link_longer_than_the_bound_is_left_out() {
        let c = Console::new("us-east-1").unwrap();
        assert!(c.alarm(&"x".repeat(MAX_URL)).is_none());
    }
}
