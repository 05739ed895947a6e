//! CloudWatch read adapter: one GetMetricData call for the window, DescribeAlarmHistory for recurrence, and the two
//! ways of ranking a fleet ([`InsightsRanker`], [`ListedRanker`]).

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    Dimension, DimensionFilter, HistoryItemType, Metric, MetricDataQuery, MetricDataResult,
    MetricStat, ScanBy,
};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Utc};

use ec2ops::facts::{AlarmHistory, HistoryItem, InAlarm, RankPath, Ranked, Ranking};
use ec2ops::model::looks_like_instance_id;
use ec2ops::ports::{
    AgentMetric, AwsError, FleetRanker, MetricData, MetricQuery, MetricReader, QueryKind,
    RankRequest, WindowRequest,
};

use super::{aws_error, to_chrono, to_smithy};

pub struct CloudWatchReader {
    client: Client,
    insights: InsightsRanker,
    listed: ListedRanker,
}

impl CloudWatchReader {
    pub fn new(client: Client) -> Self {
        CloudWatchReader {
            insights: InsightsRanker {
                client: client.clone(),
            },
            listed: ListedRanker {
                client: client.clone(),
                cap: FLEET_CAP,
            },
            client,
        }
    }
}

fn query(q: &ec2ops::ports::MetricQuery, period: i32) -> MetricDataQuery {
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

/// Datapoints, oldest first.
type Points = Vec<(DateTime<Utc>, f64)>;
/// GetMetricData's answer: `(query id, label, datapoints)` per series.
type Answer = Vec<(String, String, Points)>;

/// GetMetricData, every page: `(query id, label, datapoints)` per series. A Metrics Insights query answers with
/// several series under its one id, told apart by their labels.
async fn get_metric_data(client: &Client, request: &WindowRequest) -> Result<Answer, AwsError> {
    let period = i32::try_from(request.period_secs).unwrap_or(60);
    let queries: Vec<MetricDataQuery> = request.queries.iter().map(|q| query(q, period)).collect();
    let mut data: std::collections::BTreeMap<(String, String), Points> =
        std::collections::BTreeMap::new();
    let mut pages = client
        .get_metric_data()
        .start_time(to_smithy(request.start))
        .end_time(to_smithy(request.end))
        .scan_by(ScanBy::TimestampAscending)
        .set_metric_data_queries(Some(queries))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("cloudwatch", "GetMetricData", e))?;
        for (id, label, points) in results(page.metric_data_results()) {
            data.entry((id, label)).or_default().extend(points);
        }
    }
    Ok(data
        .into_iter()
        .map(|((id, label), mut points)| {
            points.sort_by_key(|(t, _)| *t);
            points.dedup_by_key(|(t, _)| *t);
            (id, label, points)
        })
        .collect())
}

/// One page's results as plain data.
fn results(page: &[MetricDataResult]) -> Answer {
    page.iter()
        .filter_map(|r| {
            Some((
                r.id()?.to_string(),
                r.label().unwrap_or_default().to_string(),
                r.timestamps()
                    .iter()
                    .zip(r.values())
                    .filter_map(|(t, v)| Some((to_chrono(t)?, *v)))
                    .collect(),
            ))
        })
        .collect()
}

/// Instances the fallback ranks at most: one GetMetricData call's worth of MetricStat queries (500), a bounded
/// cost (about $0.005 per ranking at $0.01 per 1,000 metrics) and time.
pub const FLEET_CAP: usize = 500;
/// MetricStat queries per GetMetricData call (the API's limit).
const QUERIES_PER_CALL: usize = 500;

/// Ranks with one GetMetricData call holding the Metrics Insights query derived from the alarm's: CloudWatch
/// orders the series and keeps the top (`ORDER BY MAX() DESC LIMIT n`); each series is labelled by its InstanceId.
pub struct InsightsRanker {
    client: Client,
}

/// Ranks with ListMetrics (the metric's series that have exactly the `InstanceId` dimension) and MetricStat
/// queries in batches, ordered here: what an emulator without Metrics Insights serves. At most [`FLEET_CAP`]
/// instances.
pub struct ListedRanker {
    client: Client,
    cap: usize,
}

/// A series' datapoints as a ranking row: its peak and its last five points (`None` without a datapoint).
pub(crate) fn ranked(instance_id: &str, points: &[(DateTime<Utc>, f64)]) -> Option<Ranked> {
    let points: Vec<(DateTime<Utc>, f64)> = points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    let (peak_at, peak) = points
        .iter()
        .copied()
        .reduce(|best, p| if p.1 > best.1 { p } else { best })?;
    Some(Ranked {
        instance_id: instance_id.to_string(),
        peak,
        peak_at,
        recent: points[points.len().saturating_sub(5)..].to_vec(),
        breaching: None,
        name: None,
        instance_type: None,
        availability_zone: None,
        environment: None,
    })
}

/// Hottest first; of equal peaks the latest first (the likelier cause of the alarm's latest datapoint), then by
/// instance id, so the order is stable.
fn sort_rows(rows: &mut [Ranked]) {
    rows.sort_by(|a, b| {
        b.peak
            .total_cmp(&a.peak)
            .then_with(|| b.peak_at.cmp(&a.peak_at))
            .then_with(|| a.instance_id.cmp(&b.instance_id))
    });
}

/// The instance a Metrics Insights series is about, from its label: `GROUP BY InstanceId` labels each series with
/// the instance id (alone, or among the other `GROUP BY` values).
fn label_instance(label: &str) -> Option<&str> {
    label
        .split(|c: char| c.is_whitespace() || c == ',' || c == '/' || c == '=')
        .find(|w| looks_like_instance_id(w))
}

/// The Metrics Insights answer as rows: one per series whose label names an instance.
fn insights_rows(series: &[(String, Points)]) -> (Vec<Ranked>, usize) {
    let mut rows: Vec<Ranked> = series
        .iter()
        .filter_map(|(label, points)| ranked(label_instance(label)?, points))
        .collect();
    sort_rows(&mut rows);
    let seen = rows.len();
    (rows, seen)
}

fn ranking(request: &RankRequest, path: RankPath, rows: Vec<Ranked>, series: usize) -> Ranking {
    Ranking {
        path,
        start: request.start,
        end: request.end,
        period_secs: request.period_secs,
        rows,
        series,
        breaching: 0,
        more_may_breach: false,
        capped: None,
        fallback: None,
        caveat: None,
    }
}

#[async_trait]
impl FleetRanker for InsightsRanker {
    fn path(&self) -> RankPath {
        RankPath::MetricsInsights
    }

    async fn rank(&self, request: &RankRequest) -> Result<Ranking, AwsError> {
        let query = request
            .insights_query
            .clone()
            .map_err(|why| AwsError::new("cloudwatch", "GetMetricData", why.to_string()))?;
        let window = WindowRequest {
            start: request.start,
            end: request.end,
            period_secs: request.period_secs,
            queries: vec![MetricQuery {
                id: "rank".into(),
                roles: vec![],
                kind: QueryKind::Expression {
                    expression: query,
                    label: None,
                },
                return_data: true,
            }],
        };
        let series: Vec<(String, Points)> = get_metric_data(&self.client, &window)
            .await?
            .into_iter()
            .map(|(_, label, points)| (label, points))
            .collect();
        let (mut rows, seen) = insights_rows(&series);
        rows.truncate(request.top);
        Ok(ranking(request, RankPath::MetricsInsights, rows, seen))
    }
}

#[async_trait]
impl FleetRanker for ListedRanker {
    fn path(&self) -> RankPath {
        RankPath::ListMetrics
    }

    async fn rank(&self, request: &RankRequest) -> Result<Ranking, AwsError> {
        let mut ids: Vec<String> = Vec::new();
        let mut more = false;
        let mut pages = self
            .client
            .list_metrics()
            .namespace(&request.namespace)
            .metric_name(&request.metric)
            .dimensions(DimensionFilter::builder().name("InstanceId").build())
            .into_paginator()
            .send();
        'pages: while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("cloudwatch", "ListMetrics", e))?;
            for m in page.metrics() {
                // The per-instance series only (`SCHEMA(ns, InstanceId)`), not those with more dimensions.
                let [d] = m.dimensions() else { continue };
                let Some(id) = d.value().filter(|_| d.name() == Some("InstanceId")) else {
                    continue;
                };
                if ids.iter().any(|i| i == id) {
                    continue;
                }
                if ids.len() >= self.cap {
                    more = true;
                    break 'pages;
                }
                ids.push(id.to_string());
            }
        }
        let mut rows = Vec::new();
        for (batch, chunk) in ids.chunks(QUERIES_PER_CALL).enumerate() {
            let window = WindowRequest {
                start: request.start,
                end: request.end,
                period_secs: request.period_secs,
                queries: chunk
                    .iter()
                    .enumerate()
                    .map(|(n, id)| MetricQuery {
                        id: format!("r{batch}_{n}"),
                        roles: vec![],
                        kind: QueryKind::Stat {
                            namespace: request.namespace.clone(),
                            name: request.metric.clone(),
                            dimensions: std::collections::BTreeMap::from([(
                                "InstanceId".to_string(),
                                id.clone(),
                            )]),
                            stat: request.stat.clone(),
                        },
                        return_data: true,
                    })
                    .collect(),
            };
            for (qid, _, points) in get_metric_data(&self.client, &window).await? {
                let n = qid.rsplit('_').next().and_then(|n| n.parse::<usize>().ok());
                if let Some(id) = n.and_then(|n| chunk.get(n)) {
                    rows.extend(ranked(id, &points));
                }
            }
        }
        sort_rows(&mut rows);
        let seen = rows.len();
        let mut r = ranking(request, RankPath::ListMetrics, rows, seen);
        if more {
            r.capped = Some(format!(
                "more than {} instances publish {}: the first {} listed were ranked",
                self.cap, request.metric, self.cap
            ));
        }
        Ok(r)
    }
}

#[async_trait]
impl MetricReader for CloudWatchReader {
    async fn metric_data(&self, request: &WindowRequest) -> Result<MetricData, AwsError> {
        let mut data = MetricData::new();
        for (id, _, points) in get_metric_data(&self.client, request).await? {
            let all = data.entry(id).or_default();
            all.extend(points);
            all.sort_by_key(|(t, _)| *t);
            all.dedup_by_key(|(t, _)| *t);
        }
        Ok(data)
    }

    fn fleet_rankers(&self) -> Vec<&dyn FleetRanker> {
        vec![&self.insights, &self.listed]
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

    async fn alarm_contributors(&self, alarm_name: &str) -> Result<Vec<InAlarm>, AwsError> {
        // No paginator in the SDK: follow NextToken (at most 100 contributors are in ALARM per alarm).
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .describe_alarm_contributors()
                .alarm_name(alarm_name)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("cloudwatch", "DescribeAlarmContributors", e))?;
            out.extend(page.alarm_contributors().iter().map(|c| {
                InAlarm {
                    id: c.contributor_id().unwrap_or_default().to_string(),
                    attributes: c
                        .contributor_attributes()
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                    reason: c.state_reason().unwrap_or_default().to_string(),
                    since: c.state_transitioned_timestamp().and_then(to_chrono),
                    name: None,
                    instance_type: None,
                    environment: None,
                }
            }));
            match page.next_token() {
                Some(t) if !t.is_empty() && out.len() < 1000 => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.instance_id().cmp(&b.instance_id()).then(a.id.cmp(&b.id)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatch::types::StatusCode;

    fn at(m: u32) -> DateTime<Utc> {
        chrono::NaiveDate::from_ymd_opt(2025, 7, 20)
            .unwrap()
            .and_hms_opt(12, m, 0)
            .unwrap()
            .and_utc()
    }

    /// A Metrics Insights answer as CloudWatch shapes it (`GROUP BY InstanceId`: one result per series, all with
    /// the query's id, labelled by the instance id), written by hand: the workspace has no replay client.
    fn result(label: &str, values: &[f64]) -> MetricDataResult {
        let mut b = MetricDataResult::builder()
            .id("rank")
            .label(label)
            .status_code(StatusCode::Complete);
        for (n, v) in values.iter().enumerate() {
            b = b.timestamps(to_smithy(at(15 + n as u32))).values(*v);
        }
        b.build()
    }

    #[test]
    fn a_metrics_insights_answer_ranks_the_labs_instance_first() {
        let page = [
            result("i-0c3d5e7f9a1b2c3d4", &[4.1, 3.9, 4.4, 5.0, 4.2]),
            result("i-0ae3d067021f08710", &[0.28, 0.26, 0.24, 1.75, 39.58]),
            result("Other", &[99.0]),
            result("i-0b7e4c2d9a1f35c60", &[12.0, 11.5, 12.2, 13.1, 12.9]),
        ];
        let series: Vec<_> = results(&page)
            .into_iter()
            .map(|(id, label, points)| {
                assert_eq!(id, "rank");
                (label, points)
            })
            .collect();
        let (rows, seen) = insights_rows(&series);
        assert_eq!(seen, 3, "a label that names no instance is not ranked");
        let top = &rows[0];
        assert_eq!(top.instance_id, "i-0ae3d067021f08710");
        assert_eq!((top.peak, top.peak_at), (39.58, at(19)));
        assert_eq!(
            top.recent.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            [0.28, 0.26, 0.24, 1.75, 39.58]
        );
        assert_eq!(rows[1].instance_id, "i-0b7e4c2d9a1f35c60");
        assert_eq!(rows[2].instance_id, "i-0c3d5e7f9a1b2c3d4");
    }

    #[test]
    fn of_two_equal_peaks_the_latest_ranks_first() {
        let page = [
            result("i-0000000000000000a", &[39.58, 0.3]),
            result("i-0ae3d067021f08710", &[0.28, 0.26, 0.24, 1.75, 39.58]),
        ];
        let series: Vec<_> = results(&page)
            .into_iter()
            .map(|(_, label, points)| (label, points))
            .collect();
        assert_eq!(
            insights_rows(&series).0[0].instance_id,
            "i-0ae3d067021f08710"
        );
    }

    #[test]
    fn a_label_with_several_group_values_still_names_its_instance() {
        assert_eq!(
            label_instance("t3.small i-0ae3d067021f08710"),
            Some("i-0ae3d067021f08710")
        );
        assert_eq!(
            label_instance("InstanceId=i-0ae3d067021f08710"),
            Some("i-0ae3d067021f08710")
        );
        assert_eq!(label_instance("i-xyz"), None);
    }
}
