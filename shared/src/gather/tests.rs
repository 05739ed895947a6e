use super::*;
use crate::event::{parse_bytes, Parsed};
use crate::source::{Gap, Unrankable};

fn change(file: &str) -> Incident {
    let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).unwrap();
    match parse_bytes(&bytes).unwrap() {
        Parsed::Alarm(c) => *c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn cpu_alarm_shares_its_query_with_the_correlated_cpu_metric() {
    let r = plan_window(&change("cpu-spike.json"), chrono::Duration::minutes(30));
    let alarm = r
        .queries
        .iter()
        .find(|q| q.roles.contains(&Role::Alarm))
        .unwrap();
    assert!(alarm.roles.contains(&Role::Cpu));
    assert_eq!(r.queries.len(), 8, "alarm/cpu + 7 correlated");
    assert_eq!((r.end - r.start).num_minutes(), 30);
}

#[test]
fn metric_math_keeps_member_ids_and_returns_only_the_expression_as_alarm() {
    let r = plan_window(&change("metric-math.json"), chrono::Duration::minutes(30));
    // m1 is the instance's NetworkIn: it doubles as the correlated NetworkIn series instead of a second query.
    let m1 = r.queries.iter().find(|q| q.id == "m1").unwrap();
    assert_eq!(m1.roles, vec![Role::NetworkIn]);
    assert!(!r.queries.iter().any(|q| q.id == "x_net_in"));
    let e1 = r.queries.iter().find(|q| q.id == "e1").unwrap();
    assert_eq!(e1.roles, vec![Role::Alarm]);
    assert!(r.metrics_requested() <= MAX_METRICS);
}

#[test]
fn the_labs_fleet_alarm_derives_its_ranking_query_and_window() {
    let r = rank_request(&change("fleet-insights-alarm.json")).unwrap();
    assert_eq!(
        r.insights_query.as_deref(),
        Ok(
            "SELECT MAX(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", InstanceId) GROUP BY InstanceId \
                ORDER BY MAX() DESC LIMIT 5"
        )
    );
    assert_eq!(
        (r.metric.as_str(), r.stat.as_str()),
        ("CPUUtilization", "Maximum")
    );
    // The five complete minutes before the 12:20:28 transition: 12:15 … 12:19.
    assert_eq!(r.start.format("%H:%M").to_string(), "12:15");
    assert_eq!(r.end.format("%H:%M").to_string(), "12:20");
}

#[test]
fn a_where_clause_is_kept_and_a_query_without_instance_id_is_not_derivable() {
    let mut c = change("fleet-insights-alarm.json");
    let f = c.fleet.as_mut().unwrap();
    f.query = "SELECT AVG(\"mem_used_percent\") FROM CWAgent WHERE Environment = 'prod' \
                   GROUP BY InstanceId ORDER BY AVG() DESC"
        .into();
    assert_eq!(
            insights_query(f, 3).as_deref(),
            Ok("SELECT AVG(mem_used_percent) FROM \"CWAgent\" WHERE Environment = 'prod' GROUP BY InstanceId \
                ORDER BY MAX() DESC LIMIT 3")
        );
    f.query = "SELECT MAX(CPUUtilization) FROM SCHEMA(\"AWS/EC2\", AutoScalingGroupName)".into();
    assert_eq!(
        insights_query(f, 5),
        Err(Unrankable::NoInstanceIdKey("AutoScalingGroupName".into()))
    );
    f.metric = None;
    assert_eq!(rank_request(&c).err(), Some(Unrankable::MetricUnknown));
}

struct Ranker(RankPath, Result<Vec<(&'static str, f64)>, &'static str>);

#[async_trait::async_trait]
impl crate::ports::FleetRanker for Ranker {
    fn path(&self) -> RankPath {
        self.0
    }
    async fn rank(&self, r: &RankRequest) -> Result<Ranking, AwsError> {
        let rows = self
            .1
            .clone()
            .map_err(|m| AwsError::new("cloudwatch", "GetMetricData", m))?;
        Ok(Ranking {
            path: self.0,
            start: r.start,
            end: r.end,
            period_secs: r.period_secs,
            series: rows.len(),
            rows: rows
                .iter()
                .map(|(id, peak)| crate::facts::Ranked {
                    instance_id: id.to_string(),
                    peak: *peak,
                    peak_at: r.start,
                    recent: vec![(r.start, *peak)],
                    breaching: None,
                    name: None,
                    instance_type: None,
                    availability_zone: None,
                    environment: None,
                })
                .collect(),
            breaching: 0,
            more_may_breach: false,
            capped: None,
            fallback: None,
            caveat: None,
        })
    }
}

struct Rankers(Vec<Ranker>);

#[async_trait::async_trait]
impl MetricReader for Rankers {
    async fn metric_data(&self, r: &WindowRequest) -> Result<MetricData, AwsError> {
        crate::ports::Offline.metric_data(r).await
    }
    async fn agent_metrics(&self, id: &str) -> Result<Vec<AgentMetric>, AwsError> {
        crate::ports::Offline.agent_metrics(id).await
    }
    async fn alarm_history(
        &self,
        n: &str,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<crate::facts::AlarmHistory, AwsError> {
        crate::ports::Offline.alarm_history(n, a, b).await
    }
    fn fleet_rankers(&self) -> Vec<&dyn crate::ports::FleetRanker> {
        self.0
            .iter()
            .map(|r| r as &dyn crate::ports::FleetRanker)
            .collect()
    }
}

async fn ranked(rankers: Vec<Ranker>) -> Source<Ranking> {
    let metrics = Rankers(rankers);
    let readers = Readers {
        ec2: &crate::ports::Offline,
        metrics: &metrics,
        diagnostics: None,
        evidence: crate::gather::evidence::EvidenceReaders::NONE,
        silence: None,
    };
    let limits = Limits {
        source: Duration::from_secs(2),
        diagnostics: Duration::from_secs(2),
        budget: None,
    };
    rank_fleet(&change("fleet-insights-alarm.json"), &readers, &limits).await
}

#[tokio::test]
async fn the_fallback_ranks_when_metrics_insights_fails_and_says_why() {
    let fleet: Vec<(&str, f64)> = (0..7)
        .map(|n| {
            (
                [
                    "i-0000000000000000a",
                    "i-0ae3d067021f08710",
                    "i-0000000000000000b",
                    "i-0000000000000000c",
                    "i-0000000000000000d",
                    "i-0000000000000000e",
                    "i-0000000000000000f",
                ][n],
                [3.0, 39.58, 21.0, 25.5, 1.0, 0.5, 0.2][n],
            )
        })
        .collect();
    let mut sorted = fleet.clone();
    sorted.sort_by(|a, b| b.1.total_cmp(&a.1));
    let r = ranked(vec![
        Ranker(
            RankPath::MetricsInsights,
            Err("InternalError: expressions are not supported"),
        ),
        Ranker(RankPath::ListMetrics, Ok(sorted)),
    ])
    .await;
    let r = r.get().expect("ranked");
    assert_eq!(r.path, RankPath::ListMetrics);
    assert!(r
        .fallback
        .as_ref()
        .unwrap()
        .to_string()
        .starts_with("Metrics Insights: cloudwatch GetMetricData: InternalError"));
    assert_eq!(r.rows.len(), RANK_TOP);
    assert_eq!(r.rows[0].instance_id, "i-0ae3d067021f08710");
    assert_eq!(r.breaching, 3, "above the alarm's 20.0: 39.58, 25.5, 21.0");
    assert!(!r.more_may_breach);
    assert_eq!(r.rows[3].breaching, Some(false));
}

#[tokio::test]
async fn without_any_ranking_the_reasons_of_both_paths_are_kept() {
    let r = ranked(vec![
        Ranker(RankPath::MetricsInsights, Err("InternalError")),
        Ranker(RankPath::ListMetrics, Ok(vec![])),
    ])
    .await;
    assert_eq!(
            r.reason().map(|g| g.to_string()).as_deref(),
            Some("Metrics Insights: cloudwatch GetMetricData: InternalError; ListMetrics: no instance has \
                  CPUUtilization datapoints in the window")
        );
    // A top instance focuses the incident on it; no ranking leaves the fleet alarm as it is.
    let facts = Facts {
        ranking: Some(r),
        ..Facts::unavailable(Gap::Failed("-".into()))
    };
    assert!(focus(&change("fleet-insights-alarm.json"), &facts).is_none());
}

#[tokio::test]
async fn the_top_instance_becomes_the_incidents_instance() {
    let r = ranked(vec![Ranker(
        RankPath::MetricsInsights,
        Ok(vec![
            ("i-0ae3d067021f08710", 39.58),
            ("i-0000000000000000a", 3.0),
        ]),
    )])
    .await;
    assert_eq!(r.get().unwrap().fallback, None);
    let facts = Facts {
        ranking: Some(r),
        ..Facts::unavailable(Gap::Failed("-".into()))
    };
    let c = focus(&change("fleet-insights-alarm.json"), &facts).unwrap();
    assert_eq!(c.single_instance(), Ok("i-0ae3d067021f08710"));
    let plan = plan_window(&c, chrono::Duration::minutes(30));
    let alarm = plan
        .queries
        .iter()
        .find(|q| q.roles.contains(&Role::Alarm))
        .unwrap();
    assert_eq!(
        alarm.kind,
        stat(
            "AWS/EC2",
            "CPUUtilization",
            "i-0ae3d067021f08710",
            "Maximum"
        )
    );
}

/// A reader that lists `contributors` (or, without them, does not serve DescribeAlarmContributors) and ranks.
struct Contributing(Option<Vec<crate::facts::InAlarm>>, Rankers);

#[async_trait::async_trait]
impl MetricReader for Contributing {
    async fn metric_data(&self, r: &WindowRequest) -> Result<MetricData, AwsError> {
        self.1.metric_data(r).await
    }
    async fn agent_metrics(&self, id: &str) -> Result<Vec<AgentMetric>, AwsError> {
        self.1.agent_metrics(id).await
    }
    async fn alarm_history(
        &self,
        n: &str,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<crate::facts::AlarmHistory, AwsError> {
        self.1.alarm_history(n, a, b).await
    }
    fn fleet_rankers(&self) -> Vec<&dyn crate::ports::FleetRanker> {
        self.1.fleet_rankers()
    }
    async fn alarm_contributors(&self, name: &str) -> Result<Vec<crate::facts::InAlarm>, AwsError> {
        match &self.0 {
            Some(c) => Ok(c.clone()),
            None => crate::ports::Offline.alarm_contributors(name).await,
        }
    }
}

async fn summary_facts(contributors: Option<Vec<crate::facts::InAlarm>>) -> Facts {
    let metrics = Contributing(
        contributors,
        Rankers(vec![Ranker(
            RankPath::MetricsInsights,
            Ok(vec![("i-0ae3d067021f08710", 39.58)]),
        )]),
    );
    let readers = Readers {
        ec2: &crate::ports::Offline,
        metrics: &metrics,
        diagnostics: None,
        evidence: crate::gather::evidence::EvidenceReaders::NONE,
        silence: None,
    };
    let limits = Limits {
        source: Duration::from_secs(2),
        diagnostics: Duration::from_secs(2),
        budget: None,
    };
    let change = change("fleet-multi-series-alarm.json");
    assert!(change.is_series_summary());
    let first = first_round(&change, &readers, &Settings::default(), Utc::now(), limits).await;
    second_round(first, &readers, &Settings::default(), limits)
        .await
        .1
}

#[tokio::test]
async fn the_alarm_level_event_of_a_multi_series_alarm_gathers_its_contributors_and_no_instance() {
    let listed = crate::facts::InAlarm {
        id: "8c1f4e7a2b9d3605".into(),
        attributes: BTreeMap::from([("InstanceId".into(), "i-0ae3d067021f08710".into())]),
        reason: "Threshold Crossed".into(),
        since: None,
        name: None,
        instance_type: None,
        environment: None,
    };
    let facts = summary_facts(Some(vec![listed.clone()])).await;
    assert_eq!(facts.contributors, Some(Source::Available(vec![listed])));
    assert_eq!(facts.ranking, None, "the list is enough: no ranking");
    assert_eq!(facts.instance.reason(), Some(&Gap::SummaryOnly));
    assert!(focus(&change("fleet-multi-series-alarm.json"), &facts).is_none());

    // Not served: the summary says why and ranks the fleet instead, without focusing on its top.
    let facts = summary_facts(None).await;
    assert!(facts
        .contributors
        .as_ref()
        .and_then(Source::reason)
        .is_some_and(|r| r.to_string().contains("DescribeAlarmContributors")));
    assert_eq!(
        facts
            .ranking
            .as_ref()
            .and_then(Source::get)
            .map(|r| r.rows.len()),
        Some(1)
    );
    assert_eq!(facts.instance.reason(), Some(&Gap::SummaryOnly));
    assert!(focus(&change("fleet-multi-series-alarm.json"), &facts).is_none());
}

#[test]
fn composite_alarms_request_no_metrics_and_every_plan_fits_the_budget() {
    assert!(
        plan_window(&change("composite.json"), chrono::Duration::minutes(30))
            .queries
            .is_empty()
    );
    for f in std::fs::read_dir(format!("{}/../events", env!("CARGO_MANIFEST_DIR"))).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        if let Ok(Parsed::Alarm(c)) = parse_bytes(&bytes) {
            let r = plan_window(&c, chrono::Duration::minutes(30));
            assert!(r.metrics_requested() <= MAX_METRICS);
            assert!(r.queries.iter().all(|q| valid_query_id(&q.id)));
        }
    }
}

#[test]
fn a_fleet_alarm_with_an_absurd_period_ranks_over_a_bounded_window_without_panicking() {
    let mut c = change("fleet-insights-alarm.json");
    if let Some(f) = c.fleet.as_mut() {
        f.period = Some(u64::MAX / 2);
    }
    let r = rank_request(&c).expect("a ranking request");
    assert_eq!(r.period_secs, MAX_RANK_PERIOD);
    assert!(r.start <= r.end);
}

/// Check alarms answering `n` alarm names, each muted by one rule named after it.
struct CheckAlarms(usize);

#[async_trait::async_trait]
impl crate::ports::SilenceReader for CheckAlarms {
    async fn active_mute_rules(
        &self,
        alarm_name: &str,
    ) -> Result<Vec<crate::silence::MuteRule>, AwsError> {
        Ok(vec![crate::silence::MuteRule {
            name: format!("rule-of-{alarm_name}"),
            expires: None,
            alarm: None,
        }])
    }
    async fn calendar_state(
        &self,
        _: &str,
        _: DateTime<Utc>,
    ) -> Result<crate::silence::CalendarState, AwsError> {
        Err(AwsError::new("ssm", "GetCalendarState", "not asked"))
    }
    async fn check_alarms(&self, _: &str, _: &str) -> Result<Vec<String>, AwsError> {
        Ok((1..=self.0).map(|n| format!("check-alarm-{n}")).collect())
    }
}

/// The sweep's incident reads the rules of every alarm on the instance's check, each named with its alarm; more
/// alarms than it reads is an error (it holds the action: a rule on an unread alarm could mute this one).
#[tokio::test]
async fn the_sweeps_incident_reads_the_rules_of_each_check_alarm_and_more_than_it_reads_is_an_error(
) {
    let rules = check_alarms_rules(
        &CheckAlarms(3),
        "i-0d1e2f3a4b5c6d7e8",
        "StatusCheckFailed_System",
    )
    .await
    .unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[2].name, "rule-of-check-alarm-3");
    assert_eq!(rules[2].alarm.as_deref(), Some("check-alarm-3"));
    let e = check_alarms_rules(
        &CheckAlarms(4),
        "i-0d1e2f3a4b5c6d7e8",
        "StatusCheckFailed_System",
    )
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("4 alarms watch this instance's check"),
        "{e}"
    );
    assert!(
        check_alarms_rules(&CheckAlarms(0), "i-1", "StatusCheckFailed_Instance")
            .await
            .unwrap()
            .is_empty()
    );
}
