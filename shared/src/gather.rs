//! Gather the facts of an incident concurrently, each source under its own deadline. Two rounds: everything that
//! needs only the instance id (stop protection among it), then what needs DescribeInstances' answer (instance
//! type, security groups).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use tracing::{instrument, warn};

use crate::catalogue;
use crate::config::Settings;
use crate::facts::VolumeFacts;
use crate::facts::{Facts, InstanceLookup, MetricWindow, RankPath, Ranking, Role, Series, Source};
use crate::insights;
use crate::model::{AlarmKind, FleetSource, Incident, MetricRef};
use crate::ports::AgentMetric;
use crate::ports::{
    AwsError, InstanceReader, MetricData, MetricQuery, MetricReader, QueryKind, RankRequest,
    WindowRequest,
};
use crate::source::{Gap, Unrankable};

/// CloudWatch metrics per incident (the product's cost budget).
pub const MAX_METRICS: usize = 12;
/// How far back DescribeAlarmHistory looks for recurrence.
pub const HISTORY_DAYS: i64 = 7;

/// The AWS side of the responder, as the gather step sees it: readers only (the ledger's view is the pipeline's).
pub struct Readers<'a> {
    pub ec2: &'a dyn InstanceReader,
    pub metrics: &'a dyn MetricReader,
    /// In-guest diagnostics over SSM; `None` when not wired (offline, tests).
    pub diagnostics: Option<&'a dyn crate::ports::Diagnostics>,
    /// CloudTrail, CloudWatch Logs and DescribeAlarms for the evidence ([`crate::evidence`]).
    pub evidence: crate::gather::evidence::EvidenceReaders<'a>,
    /// Mute rules and Change Calendars ([`crate::silence`]); `None` when not wired (offline, tests): nothing is
    /// read, whatever the settings say.
    pub silence: Option<&'a dyn crate::ports::SilenceReader>,
}

/// Why the ledger is missing when no table is configured.
fn valid_query_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

fn stat(namespace: &str, name: &str, instance: &str, stat: &str) -> QueryKind {
    QueryKind::Stat {
        namespace: namespace.into(),
        name: name.into(),
        dimensions: BTreeMap::from([("InstanceId".to_string(), instance.to_string())]),
        stat: stat.into(),
    }
}

/// Plan the one GetMetricData call: the alarm's own metric (or metric-math expression with its members), then the
/// correlated metrics of the primary instance, deduplicated, at most [`MAX_METRICS`].
pub fn plan_window(change: &Incident, window: chrono::Duration) -> WindowRequest {
    plan_window_with(change, window, &[], &[])
}

/// CWAgent memory with its real dimensions, disks (root first) and gp2 burst balances, in the order they are worth
/// a place in the 12-metric budget.
fn discovered(
    agent: &[AgentMetric],
    volumes: &[VolumeFacts],
) -> (Option<QueryKind>, Vec<(Role, String, QueryKind)>) {
    let agent_stat = |m: &AgentMetric, stat: &str| QueryKind::Stat {
        namespace: catalogue::AGENT.into(),
        name: m.name.clone(),
        dimensions: m.dimensions.clone(),
        stat: stat.into(),
    };
    let memory = agent
        .iter()
        .find(|m| m.name == catalogue::MEM_USED_PERCENT)
        .map(|m| agent_stat(m, "Average"));
    let mut disks: Vec<&AgentMetric> = agent
        .iter()
        .filter(|m| m.name == catalogue::DISK.name)
        .collect();
    // The root filesystem first, then by path; skip pseudo filesystems.
    disks.retain(|m| {
        !matches!(
            m.dimensions.get("fstype").map(String::as_str),
            Some("tmpfs" | "devtmpfs" | "overlay" | "squashfs")
        )
    });
    disks.sort_by_key(|m| {
        let path = m.dimensions.get("path").cloned().unwrap_or_default();
        (path != "/", path)
    });
    let bursts: Vec<&VolumeFacts> = volumes.iter().filter(|v| v.volume_type == "gp2").collect();
    let mut out = Vec::new();
    let mut d = (0..catalogue::DISK_SLOTS).zip(disks.iter());
    let mut b = (0..catalogue::BURST_SLOTS).zip(bursts.iter());
    // Interleave: root disk, first gp2 volume, next disk, next volume, last disk.
    loop {
        let mut added = false;
        if let Some((i, m)) = d.next() {
            let path = m
                .dimensions
                .get("path")
                .or_else(|| m.dimensions.get("device"))
                .cloned()
                .unwrap_or_default();
            out.push((Role::Disk(i), path, agent_stat(m, catalogue::DISK.stat)));
            added = true;
        }
        if let Some((i, v)) = b.next() {
            out.push((
                Role::Burst(i),
                v.id.clone(),
                QueryKind::Stat {
                    namespace: catalogue::BURST.namespace.into(),
                    name: catalogue::BURST.name.into(),
                    dimensions: BTreeMap::from([("VolumeId".to_string(), v.id.clone())]),
                    stat: catalogue::BURST.stat.into(),
                },
            ));
            added = true;
        }
        if !added {
            break;
        }
    }
    (memory, out)
}

/// Plan the window with what round one discovered: the instance's CWAgent metrics and its volumes.
pub fn plan_window_with(
    change: &Incident,
    window: chrono::Duration,
    agent: &[AgentMetric],
    volumes: &[VolumeFacts],
) -> WindowRequest {
    // End on the minute after the transition so the transition's own minute is inside the window. The transition
    // time comes from the event: checked arithmetic, so a time at the edge of chrono's range (which the parser
    // already refuses) gives a shorter window rather than a panic.
    let at = change.state.at;
    let end = at
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(at)
        .checked_add_signed(chrono::Duration::minutes(1))
        .unwrap_or(at);
    let start = end.checked_sub_signed(window).unwrap_or(end);
    let mut queries = alarm_queries(change);
    if let Some(id) = change.primary_instance() {
        instance_queries(&mut queries, id, agent, volumes);
    }
    queries.truncate(MAX_METRICS);
    WindowRequest {
        start,
        end,
        period_secs: 60,
        queries,
    }
}

/// The alarm's own queries: its metric (query id `alarm`), or its metric-math members and expressions under their
/// own ids; none for a composite.
fn alarm_queries(change: &Incident) -> Vec<MetricQuery> {
    let mut queries: Vec<MetricQuery> = Vec::new();
    match change.kind {
        AlarmKind::Composite { .. } => {}
        AlarmKind::MetricMath
            if change.metrics.iter().all(|m| valid_query_id(&m.id))
                && change.expressions.iter().all(|e| valid_query_id(&e.id)) =>
        {
            let primary = change.primary_expression().map(|e| e.id.clone());
            for m in &change.metrics {
                queries.push(MetricQuery {
                    id: m.id.clone(),
                    roles: vec![],
                    kind: QueryKind::Stat {
                        namespace: m.namespace.clone(),
                        name: m.name.clone(),
                        dimensions: m.dimensions.clone(),
                        stat: m.stat.clone(),
                    },
                    return_data: false,
                });
            }
            for e in &change.expressions {
                let is_primary = Some(&e.id) == primary.as_ref();
                queries.push(MetricQuery {
                    id: e.id.clone(),
                    roles: if is_primary {
                        vec![Role::Alarm]
                    } else {
                        vec![]
                    },
                    kind: QueryKind::Expression {
                        expression: e.expression.clone(),
                        label: e.label.clone(),
                    },
                    return_data: is_primary,
                });
            }
        }
        _ => {
            if let Some(m) = change.primary_metric() {
                queries.push(MetricQuery::alarm(m));
            }
        }
    }
    queries
}

/// The instance's correlated metrics (the catalogue's, deduplicated against the alarm's own queries), then the
/// discovered disks and burst balances, while the budget of [`MAX_METRICS`] lasts.
fn instance_queries(
    queries: &mut Vec<MetricQuery>,
    id: &str,
    agent: &[AgentMetric],
    volumes: &[VolumeFacts],
) {
    let (memory, extra) = discovered(agent, volumes);
    let correlated = catalogue::CORRELATED.iter().map(|s| {
        let kind = match (s.role, &memory) {
            // The agent's memory metric with the dimensions it is really published with.
            (Role::Memory, Some(found)) => found.clone(),
            _ => stat(s.namespace, s.name, id, s.stat),
        };
        (s.role, s.query_id, kind)
    });
    for (role, qid, kind) in correlated {
        if let Some(existing) = queries.iter_mut().find(|q| q.kind == kind) {
            existing.roles.push(role);
            existing.return_data = true;
            continue;
        }
        if queries.len() >= MAX_METRICS {
            break;
        }
        queries.push(MetricQuery {
            id: qid.into(),
            roles: vec![role],
            kind,
            return_data: true,
        });
    }
    for (n, (role, _label, kind)) in extra.into_iter().enumerate() {
        if queries.len() >= MAX_METRICS {
            break;
        }
        queries.push(MetricQuery {
            id: format!("{}{n}", catalogue::EXTRA_QUERY_PREFIX),
            roles: vec![role],
            kind,
            return_data: true,
        });
    }
}

/// Turn GetMetricData's answer into series by role.
pub fn assemble(request: &WindowRequest, data: &MetricData) -> MetricWindow {
    let mut series = BTreeMap::new();
    for q in &request.queries {
        let Some(points) = data.get(&q.id) else {
            continue;
        };
        let (name, dimension) = match &q.kind {
            // A disk is known by its path, a volume by its id.
            QueryKind::Stat {
                name, dimensions, ..
            } => (
                name.clone(),
                dimensions
                    .get("path")
                    .or(dimensions.get("VolumeId"))
                    .cloned(),
            ),
            QueryKind::Expression { label, expression } => {
                (label.clone().unwrap_or_else(|| expression.clone()), None)
            }
        };
        let mut points = points.clone();
        points.sort_by_key(|(t, _)| *t);
        points.retain(|(_, v)| v.is_finite());
        for role in &q.roles {
            series.insert(
                *role,
                Series {
                    name: name.clone(),
                    dimension: dimension.clone(),
                    points: points.clone(),
                },
            );
        }
    }
    MetricWindow {
        start: Some(request.start),
        end: Some(request.end),
        period_secs: request.period_secs,
        series,
        metrics_requested: request.metrics_requested(),
    }
}

/// Run a source under its deadline; an error or a late answer becomes the reason it is unavailable.
pub async fn deadline<T>(
    limit: Duration,
    fut: impl Future<Output = Result<T, AwsError>>,
) -> Source<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Source::Available(v),
        Ok(Err(e)) => {
            warn!(service = e.service, operation = e.operation, code = ?e.code, error = %e, "source unavailable");
            Source::Unavailable(e.gap())
        }
        Err(_) => {
            warn!(timeout_ms = limit.as_millis() as u64, "source timed out");
            Source::Unavailable(Gap::timed_out(limit))
        }
    }
}

/// Deadlines of one gathering: what each source wants, cut to what the invocation's budget has left when the call
/// starts (so a second round never gets the time the first one used).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub source: Duration,
    pub diagnostics: Duration,
    pub budget: Option<crate::budget::Budget>,
}

impl Limits {
    fn source_now(&self) -> Duration {
        self.budget.map_or(self.source, |b| b.limit(self.source))
    }

    fn diagnostics_now(&self) -> Duration {
        self.budget
            .map_or(self.diagnostics, |b| b.limit(self.diagnostics))
    }
}

/// Gather every fact of the incident: both rounds, each source under the settings' deadlines, without the ledger
/// (its view is the pipeline's; here it is [`Gap::NoLedger`]). Returns the subject (the alarm as analysed: see
/// [`Gathering::subject`]) and its facts.
pub async fn gather(
    change: &Incident,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> (Incident, Facts) {
    let limits = Limits {
        source: settings.source_timeout,
        diagnostics: settings.diagnostics_timeout,
        budget: None,
    };
    let first = first_round(change, readers, settings, now, limits).await;
    second_round(first, readers, settings, limits).await
}

/// A gathering after its first round: the subject, and what the second round needs. The pipeline runs the incident's
/// claim beside the first round and, unless the claim stops it, the ledger's view beside the second.
pub struct Gathering {
    subject: Incident,
    /// The mute rules and calendars, read beside round one.
    silencers: crate::silence::Silencers,
    /// The subject is a fleet alarm's top instance, not the alarm's own.
    focused: bool,
    ranking: Option<Source<Ranking>>,
    stage: Stage,
}

enum Stage {
    /// A multi-time-series alarm's summary: its contributors in ALARM.
    Summary(Source<Vec<crate::facts::InAlarm>>),
    /// An alarm that names no instance: its facts are complete.
    Done(Box<Facts>),
    /// An incident on one instance, after round one.
    Instance(Box<RoundOne>),
}

/// Round one of an incident on one instance: everything that needs only the instance id.
struct RoundOne {
    id: String,
    instance: Source<InstanceLookup>,
    status: Source<crate::facts::StatusFacts>,
    volumes: Source<Vec<VolumeFacts>>,
    agent: Vec<AgentMetric>,
    history: Source<crate::facts::AlarmHistory>,
    evidence: crate::gather::evidence::RoundOne,
}

impl Gathering {
    /// The alarm as analysed and reported: a fleet alarm that names no instance becomes an alarm on the top of its
    /// ranking (same incident key and thread); any other alarm is itself.
    pub fn subject(&self) -> &Incident {
        &self.subject
    }

    /// Whether the subject was chosen from a fleet alarm's ranking.
    pub fn focused(&self) -> bool {
        self.focused
    }

    /// The instance the incident is about, when it names one (whatever DescribeInstances answered).
    pub fn instance_id(&self) -> Option<&str> {
        match &self.stage {
            Stage::Instance(one) => Some(&one.id),
            _ => None,
        }
    }

    /// The instance as round one found it (`None`: no instance, not found, or DescribeInstances unavailable).
    pub fn instance(&self) -> Option<&crate::facts::InstanceFacts> {
        match &self.stage {
            Stage::Instance(one) => match &one.instance {
                Source::Available(InstanceLookup::Found(i)) => Some(i),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Round one: a multi-series alarm's contributors; a fleet alarm's ranking and then round one of its top instance;
/// or round one of the alarm's instance (instance, status, stop protection, volumes, agent metrics, alarm history,
/// the evidence's first lookups).
#[instrument(skip_all, fields(alarm = %change.alarm_name, instance = change.primary_instance().unwrap_or("-")))]
pub async fn first_round(
    change: &Incident,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
    limits: Limits,
) -> Gathering {
    let (mut gathering, silencers) = tokio::join!(
        first_reads(change, readers, settings, now, limits),
        silencers(change, readers, settings, now, limits)
    );
    gathering.silencers = silencers;
    gathering
}

/// The mute rules muting the alarm now (when `EC2OPS_MUTE_RULES` is on and an alarm is behind the incident) and the
/// state now of each configured Change Calendar, concurrently, each under the source deadline.
async fn silencers(
    change: &Incident,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
    limits: Limits,
) -> crate::silence::Silencers {
    let Some(reader) = readers.silence else {
        return crate::silence::Silencers {
            read_at: Some(now),
            ..Default::default()
        };
    };
    let mutes = async {
        if !settings.mute_rules {
            return None;
        }
        if change.is_alarm() {
            let rules = reader.active_mute_rules(&change.alarm_name);
            return Some(deadline(limits.source_now(), rules).await);
        }
        match (&change.cause, change.primary_instance()) {
            // The sweep's incident has no alarm of its own: the alarms watching the instance's check mute it.
            (crate::model::Cause::Sweep { check }, Some(id)) => {
                let rules = check_alarms_rules(reader, id, check);
                Some(deadline(limits.source_now(), rules).await)
            }
            _ => None,
        }
    };
    let calendars =
        futures_util::future::join_all(settings.change_calendars.iter().map(|c| async move {
            let state = deadline(limits.source_now(), reader.calendar_state(c, now)).await;
            (c.clone(), state)
        }));
    let (mute_rules, calendars) = tokio::join!(mutes, calendars);
    crate::silence::Silencers {
        mute_rules,
        calendars,
        read_at: Some(now),
    }
}

/// The mute rules active on the alarms watching an instance's check (at most `silence::MAX_CHECK_ALARMS` of them,
/// concurrently; more is an error, which holds the action), each named with its alarm; any read that fails fails the
/// whole (it holds the action).
async fn check_alarms_rules(
    reader: &dyn crate::ports::SilenceReader,
    instance_id: &str,
    check: &str,
) -> Result<Vec<crate::silence::MuteRule>, AwsError> {
    let alarms = reader.check_alarms(instance_id, check).await?;
    if alarms.len() > crate::silence::MAX_CHECK_ALARMS {
        // A rule on an alarm left unread could mute this one: unknown, so held (named in the report).
        return Err(AwsError::new(
            "cloudwatch",
            "ListAlarmMuteRules",
            format!(
                "{} alarms watch this instance's check, more than the {} whose mute rules are read",
                alarms.len(),
                crate::silence::MAX_CHECK_ALARMS
            ),
        ));
    }
    let rules = futures_util::future::try_join_all(alarms.iter().map(|alarm| async move {
        let rules = reader.active_mute_rules(alarm).await?;
        Ok::<_, AwsError>(rules.into_iter().map(move |r| crate::silence::MuteRule {
            alarm: Some(alarm.clone()),
            ..r
        }))
    }))
    .await?;
    Ok(rules.into_iter().flatten().collect())
}

async fn first_reads(
    change: &Incident,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
    limits: Limits,
) -> Gathering {
    if change.is_series_summary() {
        return Gathering {
            subject: change.clone(),
            silencers: Default::default(),
            focused: false,
            ranking: None,
            stage: Stage::Summary(contributors_in_alarm(change, readers, &limits).await),
        };
    }
    if change.fleet.is_none() || change.primary_instance().is_some() {
        let stage = instance_round_one(change, readers, settings, now, limits).await;
        return Gathering {
            subject: change.clone(),
            silencers: Default::default(),
            focused: false,
            ranking: None,
            stage,
        };
    }
    let ranking = rank_fleet(change, readers, &limits).await;
    let top = ranking
        .get()
        .and_then(|r| r.rows.first())
        .and_then(|top| focus_on(change, &top.instance_id));
    let focused = top.is_some();
    let subject = top.unwrap_or_else(|| change.clone());
    let stage = instance_round_one(&subject, readers, settings, now, limits).await;
    Gathering {
        subject,
        silencers: Default::default(),
        focused,
        ranking: Some(ranking),
        stage,
    }
}

/// Round two: what needs round one's answers (type, security groups, the metric window, diagnostics, the evidence's
/// later lookups). The ledger's view is left [`Gap::NoLedger`]: the pipeline reads it beside this round.
pub async fn second_round(
    first: Gathering,
    readers: &Readers<'_>,
    settings: &Settings,
    limits: Limits,
) -> (Incident, Facts) {
    let Gathering {
        subject,
        ranking,
        stage,
        silencers,
        ..
    } = first;
    let mut facts = match stage {
        Stage::Summary(contributors) => {
            let mut facts = Facts::unavailable(Gap::SummaryOnly);
            // Without the list of contributors, the summary lists the ranking instead (never focused on its top).
            if contributors.get().is_none() {
                facts.ranking = Some(rank_fleet(&subject, readers, &limits).await);
            }
            facts.contributors = Some(contributors);
            facts
        }
        Stage::Done(facts) => *facts,
        Stage::Instance(one) => instance_round_two(&subject, *one, readers, settings, limits).await,
    };
    if ranking.is_some() {
        facts.ranking = ranking;
    }
    facts.silencers = silencers;
    (subject, facts)
}

/// The metric window of the alarm's metrics and their correlates, as one GetMetricData.
async fn metric_window(
    change: &Incident,
    readers: &Readers<'_>,
    settings: &Settings,
    limit: Duration,
    agent: &[AgentMetric],
    volumes: &[VolumeFacts],
) -> Source<MetricWindow> {
    let request = plan_window_with(change, settings.metric_window, agent, volumes);
    if request.queries.is_empty() {
        return Source::Unavailable(match change.kind {
            // The fleet's own series is the query over every instance: only a ranked instance is charted.
            AlarmKind::MetricsInsights => Gap::FleetNotCharted,
            _ => Gap::NoMetric,
        });
    }
    match deadline(limit, readers.metrics.metric_data(&request)).await {
        Source::Available(data) => Source::Available(assemble(&request, &data)),
        Source::Unavailable(r) => Source::Unavailable(r),
    }
}

/// Round one of an incident on one instance; an alarm that names none gets its metric window and history at once.
async fn instance_round_one(
    change: &Incident,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
    limits: Limits,
) -> Stage {
    let limit = || limits.source_now();
    let history_until = change.state.at.max(now);
    // Checked: the transition time comes from the event (see `plan_window_with`).
    let history_since = change
        .state
        .at
        .checked_sub_signed(chrono::Duration::days(HISTORY_DAYS))
        .unwrap_or(change.state.at);
    let history = deadline(
        limit(),
        readers
            .metrics
            .alarm_history(&change.alarm_name, history_since, history_until),
    );
    let Some(id) = change.primary_instance() else {
        let (metrics, history) = tokio::join!(
            metric_window(change, readers, settings, limit(), &[], &[]),
            history
        );
        return Stage::Done(Box::new(Facts {
            metrics,
            history,
            ..Facts::unavailable(Gap::NoInstance)
        }));
    };
    let (mut instance, status, stop_protection, volumes, agent, history, evidence) = tokio::join!(
        deadline(limit(), readers.ec2.instance(id)),
        deadline(limit(), readers.ec2.instance_status(id)),
        deadline(limit(), readers.ec2.stop_protection(id)),
        deadline(limit(), readers.ec2.volumes(id)),
        deadline(limit(), readers.metrics.agent_metrics(id)),
        history,
        crate::gather::evidence::round_one(change, id, &readers.evidence, settings, now, limit),
    );
    // Stop protection belongs to the instance's facts; DescribeInstances just does not carry it.
    if let Source::Available(InstanceLookup::Found(i)) = &mut instance {
        i.disable_api_stop = stop_protection;
    }
    Stage::Instance(Box::new(RoundOne {
        id: id.to_string(),
        instance,
        status,
        volumes,
        // Without the agent list, memory is still asked for with the InstanceId dimension alone (the agent's
        // default).
        agent: agent.get().cloned().unwrap_or_default(),
        history,
        evidence,
    }))
}

/// Round two of an incident on one instance.
async fn instance_round_two(
    change: &Incident,
    one: RoundOne,
    readers: &Readers<'_>,
    settings: &Settings,
    limits: Limits,
) -> Facts {
    let limit = || limits.source_now();
    let found = match &one.instance {
        Source::Available(InstanceLookup::Found(i)) => Some(i),
        _ => None,
    };
    let type_and_groups = async {
        match (&one.instance, found) {
            (_, Some(i)) => {
                let groups = async {
                    if i.security_group_ids.is_empty() {
                        Source::Available(Vec::new())
                    } else {
                        deadline(limit(), readers.ec2.security_groups(&i.security_group_ids)).await
                    }
                };
                tokio::join!(
                    deadline(limit(), readers.ec2.instance_type(&i.instance_type)),
                    groups
                )
            }
            (Source::Unavailable(why), _) => {
                let r = Gap::NeedsInstance(Box::new(why.clone()));
                (Source::Unavailable(r.clone()), Source::Unavailable(r))
            }
            _ => {
                let r = Gap::NoSuchInstance;
                (Source::Unavailable(r.clone()), Source::Unavailable(r))
            }
        }
    };
    let diagnostics = async {
        let running = found.is_some_and(|i| i.is_running());
        match (
            readers.diagnostics,
            settings.diagnostics_document.as_deref(),
            running,
        ) {
            (Some(d), Some(doc), true) => {
                let l = limits.diagnostics_now();
                Some(deadline(l, d.run(&one.id, doc, l)).await)
            }
            _ => None,
        }
    };
    // The volume's lookup, a second after the first, only when the report waits for the diagnostics anyway.
    let waits = readers.diagnostics.is_some() && settings.diagnostics_document.is_some();
    let gp2 = one.volumes.get().cloned().unwrap_or_default();
    let evidence = crate::gather::evidence::round_two(
        one.evidence,
        &readers.evidence,
        found.and_then(|i| i.security_group_ids.first().map(String::as_str)),
        found
            .filter(|i| waits && i.is_running())
            .and_then(|i| i.volume_ids.first().map(String::as_str)),
        limit,
    );
    // Customer impact, when a target reader is wired and the instance's VPC is known.
    let impact = async {
        let (targets, vpc) = (readers.evidence.targets?, found?.vpc_id.as_deref()?);
        let at = change.state.at;
        Some(impact::read(targets, readers.metrics, &one.id, vpc, at, limit).await)
    };
    let ((instance_type, security_groups), metrics, diagnostics, mut evidence, impact) = tokio::join!(
        type_and_groups,
        metric_window(change, readers, settings, limit(), &one.agent, &gp2),
        diagnostics,
        evidence,
        impact
    );
    evidence.impact = impact;
    Facts {
        instance: one.instance,
        status: one.status,
        instance_type,
        metrics,
        history: one.history,
        security_groups,
        volumes: one.volumes,
        ledger: Source::Unavailable(Gap::NoLedger),
        diagnostics,
        ranking: None,
        contributors: None,
        evidence,
        silencers: Default::default(),
    }
}

pub use crate::facts::CONTRIBUTORS_LOOKED_UP;

/// The contributors in ALARM of a multi-time-series alarm (DescribeAlarmContributors), the first
/// [`CONTRIBUTORS_LOOKED_UP`] with an `InstanceId` named by DescribeInstances. Never an error: "unavailable: why".
pub async fn contributors_in_alarm(
    change: &Incident,
    readers: &Readers<'_>,
    limits: &Limits,
) -> Source<Vec<crate::facts::InAlarm>> {
    let mut found = match deadline(
        limits.source_now(),
        readers.metrics.alarm_contributors(&change.alarm_name),
    )
    .await
    {
        Source::Available(c) => c,
        unavailable => return unavailable,
    };
    let ids: Vec<(usize, String)> = found
        .iter()
        .enumerate()
        .filter_map(|(n, c)| c.instance_id().map(|id| (n, id.to_string())))
        .take(CONTRIBUTORS_LOOKED_UP)
        .collect();
    let wanted: Vec<String> = ids.iter().map(|(_, id)| id.clone()).collect();
    let looked = look_up_instances(&wanted, readers, limits).await;
    for ((n, _), lookup) in ids.iter().zip(looked) {
        if let (Some(c), Some(InstanceLookup::Found(i))) = (found.get_mut(*n), lookup) {
            c.name = i.name().map(str::to_string);
            c.instance_type = Some(i.instance_type.clone());
            c.environment = i.environment().map(str::to_string);
        }
    }
    Source::Available(found)
}

/// The longest period a ranking window takes from an alarm (a week; CloudWatch's longest period is a day).
pub const MAX_RANK_PERIOD: u64 = 7 * 86_400;

pub use crate::facts::RANK_TOP;
/// Periods in the ranking window: the lab's "last 5 minutes", one trend point each.
pub const RANK_PERIODS: i32 = 5;

/// What ranking a fleet alarm's instances asks for: the alarm's metric and statistic over the [`RANK_PERIODS`]
/// complete periods before the transition, and the Metrics Insights query derived from the alarm's own. `Err`: the
/// alarm gives nothing to rank by.
pub fn rank_request(change: &Incident) -> Result<RankRequest, Unrankable> {
    let f = change.fleet.as_ref().ok_or(Unrankable::NotFleet)?;
    let metric = f.metric.clone().ok_or(Unrankable::MetricUnknown)?;
    let stat = match f.function.as_deref() {
        Some(func) => insights::stat_of(func).unwrap_or(match func {
            "Maximum" | "Minimum" | "Average" | "Sum" | "SampleCount" => func,
            _ => "Maximum",
        }),
        None => "Maximum",
    };
    // The period comes from the event: bounded (CloudWatch's longest is a day; a week leaves room) so that the window
    // arithmetic below cannot overflow.
    let period = f
        .period
        .filter(|p| *p > 0)
        .unwrap_or(60)
        .min(MAX_RANK_PERIOD);
    let step = chrono::Duration::seconds(i64::try_from(period).unwrap_or(60));
    // The transition's own period is still incomplete when the alarm fires: end at its start.
    let at = change.state.at;
    let end = at.duration_trunc(step).unwrap_or(at);
    let start = end.checked_sub_signed(step * RANK_PERIODS).unwrap_or(end);
    Ok(RankRequest {
        namespace: f.namespace.clone(),
        metric,
        stat: stat.to_string(),
        insights_query: insights_query(f, RANK_TOP),
        filter: f.filter.clone(),
        start,
        end,
        period_secs: period,
        top: RANK_TOP,
    })
}

/// The alarm's query turned into a ranking: same aggregate, metric, `FROM` and `WHERE`, one series per instance,
/// the hottest `top` first.
fn insights_query(f: &crate::model::FleetAlarm, top: usize) -> Result<String, Unrankable> {
    if f.source != FleetSource::MetricsInsights {
        return Err(Unrankable::MetricMath);
    }
    let q = insights::parse(&f.query).map_err(Unrankable::QueryUnread)?;
    if q.metric == "*" {
        return Err(Unrankable::NoSingleMetric);
    }
    if !q.schema_keys.is_empty() && !q.schema_keys.iter().any(|k| k == "InstanceId") {
        return Err(Unrankable::NoInstanceIdKey(q.schema_keys.join(", ")));
    }
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\\\""));
    let word = |s: &str| {
        if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            s.to_string()
        } else {
            quote(s)
        }
    };
    let from = if q.schema_keys.is_empty() {
        quote(&q.namespace)
    } else {
        let keys: Vec<String> = q.schema_keys.iter().map(|k| word(k)).collect();
        format!("SCHEMA({}, {})", quote(&q.namespace), keys.join(", "))
    };
    let filter = q
        .filter
        .as_deref()
        .map(|w| format!(" WHERE {w}"))
        .unwrap_or_default();
    Ok(format!(
        "SELECT {}({}) FROM {from}{filter} GROUP BY InstanceId ORDER BY MAX() DESC LIMIT {top}",
        q.function,
        word(&q.metric)
    ))
}

fn path_name(p: RankPath) -> &'static str {
    match p {
        RankPath::MetricsInsights => "Metrics Insights",
        RankPath::ListMetrics => "ListMetrics",
    }
}

/// Rank the fleet of a fleet alarm: the reader's rankers in order (Metrics Insights first, then the ListMetrics
/// fallback), each under the source deadline; the first that ranks at least one instance wins, and what the others
/// said is kept. Then each ranked instance's name, type and AZ. Never an error: "unavailable: why".
pub async fn rank_fleet(
    change: &Incident,
    readers: &Readers<'_>,
    limits: &Limits,
) -> Source<Ranking> {
    let request = match rank_request(change) {
        Ok(r) => r,
        Err(why) => return Source::Unavailable(Gap::Unrankable(why)),
    };
    let rankers = readers.metrics.fleet_rankers();
    if rankers.is_empty() {
        return Source::Unavailable(Gap::CannotRank);
    }
    let mut passed: Vec<(String, Gap)> = Vec::new();
    for ranker in rankers {
        let path = ranker.path();
        if let (RankPath::MetricsInsights, Err(why)) = (path, &request.insights_query) {
            passed.push((path_name(path).to_string(), Gap::Unrankable(why.clone())));
            continue;
        }
        match deadline(limits.source_now(), ranker.rank(&request)).await {
            Source::Available(r) if r.rows.is_empty() => passed.push((
                path_name(path).to_string(),
                Gap::NoDatapoints {
                    metric: request.metric.clone(),
                },
            )),
            Source::Available(mut r) => {
                if !passed.is_empty() {
                    r.fallback = Some(Gap::Each(passed.clone()));
                }
                if let (RankPath::ListMetrics, Some(w)) = (path, &request.filter) {
                    r.caveat = Some(format!(
                        "the query's WHERE ({}) is not applied on this path: every instance publishing {} is ranked",
                        crate::text::bound(w, 120),
                        request.metric
                    ));
                }
                finish(&mut r, change, request.top);
                name_rows(&mut r, readers, limits).await;
                return Source::Available(r);
            }
            Source::Unavailable(why) => passed.push((path_name(path).to_string(), why)),
        }
    }
    Source::Unavailable(Gap::Each(passed))
}

/// Mark the breaching rows, count them, keep the top.
fn finish(r: &mut Ranking, change: &Incident, top: usize) {
    let (comparison, threshold) = (change.comparison, change.threshold());
    for row in &mut r.rows {
        row.breaching = match (comparison, threshold) {
            (Some(c), Some(t)) => Some(c.breaches(row.peak, t)),
            _ => None,
        };
    }
    r.breaching = r.rows.iter().filter(|x| x.breaching == Some(true)).count();
    r.more_may_breach =
        r.path == RankPath::MetricsInsights && r.rows.len() >= top && r.breaching == r.rows.len();
    r.rows.truncate(top);
}

/// DescribeInstances for the first five of `ids`, concurrently, each under its deadline; a failed lookup is `None`.
async fn look_up_instances(
    ids: &[String],
    readers: &Readers<'_>,
    limits: &Limits,
) -> Vec<Option<InstanceLookup>> {
    let look = |k: usize| {
        let id = ids.get(k).cloned();
        async move {
            match id {
                Some(id) => deadline(limits.source_now(), readers.ec2.instance(&id))
                    .await
                    .get()
                    .cloned(),
                None => None,
            }
        }
    };
    let found = tokio::join!(look(0), look(1), look(2), look(3), look(4));
    vec![found.0, found.1, found.2, found.3, found.4]
}

/// The ranked instances' Name, type and AZ (DescribeInstances, concurrently; a failed lookup leaves them blank).
async fn name_rows(r: &mut Ranking, readers: &Readers<'_>, limits: &Limits) {
    let wanted: Vec<String> = r.rows.iter().map(|x| x.instance_id.clone()).collect();
    let found = look_up_instances(&wanted, readers, limits).await;
    for (row, lookup) in r.rows.iter_mut().zip(found) {
        if let Some(InstanceLookup::Found(i)) = lookup {
            row.name = i.name().map(str::to_string);
            row.instance_type = Some(i.instance_type.clone());
            row.availability_zone = i.availability_zone.clone();
            row.environment = i.environment().map(str::to_string);
        }
    }
}

/// The fleet alarm as an alarm on one of its instances: that instance named, the alarm's metric on it as the
/// alarm's own series (as a contributor's is). `None` when the alarm's metric is not known.
fn focus_on(change: &Incident, instance_id: &str) -> Option<Incident> {
    let f = change.fleet.as_ref()?;
    let metric = f.metric.clone()?;
    let stat = rank_request(change)
        .map(|r| r.stat)
        .unwrap_or_else(|_| "Maximum".into());
    let mut c = change.clone();
    c.instance_ids = vec![instance_id.to_string()];
    c.metrics.push(MetricRef {
        id: "ranked".into(),
        namespace: f.namespace.clone(),
        name: metric,
        dimensions: BTreeMap::from([("InstanceId".to_string(), instance_id.to_string())]),
        period: f.period.unwrap_or(60),
        stat,
        return_data: true,
    });
    Some(c)
}

/// The change the analysis and the report work on: a fleet alarm that names no instance becomes an alarm on the
/// top of its ranking (the facts were gathered for that instance); `None` for any other incident.
pub fn focus(change: &Incident, facts: &Facts) -> Option<Incident> {
    if change.primary_instance().is_some() || change.is_series_summary() {
        return None;
    }
    let top = facts.ranking.as_ref()?.get()?.rows.first()?;
    focus_on(change, &top.instance_id)
}

pub mod evidence;
pub mod impact;

#[cfg(test)]
mod tests;
