//! CloudWatch read adapter: one GetMetricData call for the window, DescribeAlarmHistory for recurrence.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, HistoryItemType, Metric, MetricDataQuery, MetricStat, ScanBy,
};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};

use super::{aws_error, to_chrono, to_smithy};
use crate::facts::{AlarmHistory, HistoryItem};
use crate::ports::{AgentMetric, AwsError, MetricData, MetricReader, QueryKind, WindowRequest};

pub struct CloudWatchReader {
    client: Client,
}

impl CloudWatchReader {
    pub fn new(client: Client) -> Self {
        CloudWatchReader { client }
    }
}

fn query(q: &crate::ports::MetricQuery, period: i32) -> MetricDataQuery {
    let b = MetricDataQuery::builder()
        .id(&q.id)
        .return_data(q.return_data);
    match &q.kind {
        QueryKind::Stat {
            namespace,
            name,
            dimensions,
            stat,
        } => {
            let metric = Metric::builder()
                .namespace(namespace)
                .metric_name(name)
                .set_dimensions(Some(
                    dimensions
                        .iter()
                        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                        .collect(),
                ))
                .build();
            b.metric_stat(
                MetricStat::builder()
                    .metric(metric)
                    .period(period)
                    .stat(stat)
                    .build(),
            )
        }
        QueryKind::Expression { expression, label } => b
            .expression(expression)
            .set_label(label.clone())
            .period(period),
    }
    .build()
}

#[async_trait]
impl MetricReader for CloudWatchReader {
    async fn metric_data(&self, request: &WindowRequest) -> Result<MetricData, AwsError> {
        let period = i32::try_from(request.period_secs).unwrap_or(60);
        let queries: Vec<MetricDataQuery> =
            request.queries.iter().map(|q| query(q, period)).collect();
        let mut data = MetricData::new();
        let mut pages = self
            .client
            .get_metric_data()
            .start_time(to_smithy(request.start))
            .end_time(to_smithy(request.end))
            .scan_by(ScanBy::TimestampAscending)
            .set_metric_data_queries(Some(queries))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("cloudwatch", "GetMetricData", e))?;
            for r in page.metric_data_results() {
                let Some(id) = r.id() else { continue };
                let points = data.entry(id.to_string()).or_default();
                points.extend(
                    r.timestamps()
                        .iter()
                        .zip(r.values())
                        .filter_map(|(t, v)| Some((to_chrono(t)?, *v))),
                );
            }
        }
        for points in data.values_mut() {
            points.sort_by_key(|(t, _)| *t);
            points.dedup_by_key(|(t, _)| *t);
        }
        Ok(data)
    }

    async fn agent_metrics(&self, instance_id: &str) -> Result<Vec<AgentMetric>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_metrics()
            .namespace("CWAgent")
            .dimensions(
                DimensionFilter::builder()
                    .name("InstanceId")
                    .value(instance_id)
                    .build(),
            )
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("cloudwatch", "ListMetrics", e))?;
            out.extend(page.metrics().iter().filter_map(|m| {
                Some(AgentMetric {
                    name: m.metric_name()?.to_string(),
                    dimensions: m
                        .dimensions()
                        .iter()
                        .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                        .collect(),
                })
            }));
        }
        Ok(out)
    }

    async fn alarm_history(
        &self,
        alarm_name: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<AlarmHistory, AwsError> {
        // No StartDate/EndDate in the request: the newest 100 state updates, filtered here. (LocalStack's filter
        // compares naive and aware datetimes and fails once its own evaluator has written history; AWS keeps
        // 30 days, so 100 items cover a 7-day recurrence count unless the alarm flaps more than that.)
        let out = self
            .client
            .describe_alarm_history()
            .alarm_name(alarm_name)
            .history_item_type(HistoryItemType::StateUpdate)
            .max_records(100)
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch", "DescribeAlarmHistory", e))?;
        Ok(AlarmHistory {
            items: out
                .alarm_history_items()
                .iter()
                .filter_map(|i| {
                    Some(HistoryItem {
                        at: i.timestamp().and_then(to_chrono)?,
                        summary: i.history_summary().unwrap_or_default().to_string(),
                    })
                })
                .filter(|i| i.at >= since && i.at <= until)
                .collect(),
        })
    }
}
