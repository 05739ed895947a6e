//! CloudWatch `DescribeAlarms` for the alarms currently in ALARM: one page (100), metric alarms only; the caller
//! keeps those on the incident's instance.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{AlarmType, StateValue};
use aws_sdk_cloudwatch::Client;

use ec2ops::evidence::alarms::{ListedAlarm, PAGE};
use ec2ops::ports::{AlarmLister, AwsError};

use super::{aws_error, to_chrono};

pub struct AlarmsReader {
    client: Client,
}

impl AlarmsReader {
    pub fn new(client: Client) -> Self {
        AlarmsReader { client }
    }
}

fn dims(d: &[aws_sdk_cloudwatch::types::Dimension]) -> Vec<(String, String)> {
    d.iter()
        .filter_map(|x| Some((x.name()?.to_string(), x.value()?.to_string())))
        .collect()
}

#[async_trait]
impl AlarmLister for AlarmsReader {
    async fn in_alarm(&self) -> Result<(Vec<ListedAlarm>, bool), AwsError> {
        let out = self
            .client
            .describe_alarms()
            .state_value(StateValue::Alarm)
            .alarm_types(AlarmType::MetricAlarm)
            .max_records(PAGE as i32)
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch", "DescribeAlarms", e))?;
        let listed = out
            .metric_alarms()
            .iter()
            .filter_map(|a| {
                let mut metrics = Vec::new();
                if let (Some(ns), Some(name)) = (a.namespace(), a.metric_name()) {
                    metrics.push((ns.to_string(), name.to_string(), dims(a.dimensions())));
                }
                for q in a.metrics() {
                    if let Some(m) = q.metric_stat().and_then(|s| s.metric()) {
                        if let (Some(ns), Some(name)) = (m.namespace(), m.metric_name()) {
                            metrics.push((ns.to_string(), name.to_string(), dims(m.dimensions())));
                        }
                    }
                }
                Some(ListedAlarm {
                    name: a.alarm_name()?.to_string(),
                    arn: a.alarm_arn().map(str::to_string),
                    metrics,
                    since: a
                        .state_transitioned_timestamp()
                        .or(a.state_updated_timestamp())
                        .and_then(to_chrono),
                    reason: a.state_reason().map(str::to_string),
                })
            })
            .collect();
        Ok((listed, out.next_token().is_some()))
    }
}
