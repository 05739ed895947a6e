//! Gather the facts of an incident concurrently, each source under its own deadline. Two rounds: everything that
//! needs only the instance id (stop protection among it), then what needs DescribeInstances' answer (instance
//! type, security groups).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Utc};
use tracing::{instrument, warn};

use crate::config::Settings;
use crate::facts::VolumeFacts;
use crate::facts::{Facts, InstanceLookup, MetricWindow, Role, Series, Source};
use crate::model::{AlarmChange, AlarmKind};
use crate::ports::AgentMetric;
use crate::ports::{
    AwsError, InstanceReader, Ledger, MetricData, MetricQuery, MetricReader, QueryKind,
    WindowRequest,
};

/// CloudWatch metrics per incident (the product's cost budget).
pub const MAX_METRICS: usize = 12;
/// How far back DescribeAlarmHistory looks for recurrence.
pub const HISTORY_DAYS: i64 = 7;

/// The AWS side of the responder, as the gather step sees it.
pub struct Readers<'a> {
    pub ec2: &'a dyn InstanceReader,
    pub metrics: &'a dyn MetricReader,
    /// The ledger; `None` when no table is configured (nothing is deduplicated or acted on).
    pub ledger: Option<&'a dyn Ledger>,
    /// In-guest diagnostics over SSM; `None` when not wired (offline, tests).
    pub diagnostics: Option<&'a dyn crate::ports::Diagnostics>,
}

/// Why the ledger is missing when no table is configured.
pub const NO_LEDGER: &str = "no ledger table configured (EC2OPS_LEDGER_TABLE)";

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
pub fn plan_window(change: &AlarmChange, window: chrono::Duration) -> WindowRequest {
    plan_window_with(change, window, &[], &[])
}

/// CWAgent memory with its real dimensions, disks (root first) and gp2 burst balances, in the order they are worth
/// a place in the 12-metric budget.
fn discovered(
    agent: &[AgentMetric],
    volumes: &[VolumeFacts],
) -> (Option<QueryKind>, Vec<(Role, String, QueryKind)>) {
    let agent_stat = |m: &AgentMetric| QueryKind::Stat {
        namespace: "CWAgent".into(),
        name: m.name.clone(),
        dimensions: m.dimensions.clone(),
        stat: "Maximum".into(),
    };
    let memory = agent
        .iter()
        .find(|m| m.name == "mem_used_percent")
        .map(|m| QueryKind::Stat {
            namespace: "CWAgent".into(),
            name: m.name.clone(),
            dimensions: m.dimensions.clone(),
            stat: "Average".into(),
        });
    let mut disks: Vec<&AgentMetric> = agent
        .iter()
        .filter(|m| m.name == "disk_used_percent")
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
    let mut d = disks.iter().take(3).enumerate();
    let mut b = bursts.iter().take(2).enumerate();
    // Interleave: root disk, first gp2 volume, next disk, next volume, last disk.
    loop {
        let mut added = false;
        if let Some((i, m)) = d.next() {
            let path = m
                .dimensions
                .get("path")
                .cloned()
                .unwrap_or_else(|| "?".into());
            out.push((Role::Disk(i as u8), path, agent_stat(m)));
            added = true;
        }
        if let Some((i, v)) = b.next() {
            out.push((
                Role::Burst(i as u8),
                v.id.clone(),
                QueryKind::Stat {
                    namespace: "AWS/EBS".into(),
                    name: "BurstBalance".into(),
                    dimensions: BTreeMap::from([("VolumeId".to_string(), v.id.clone())]),
                    stat: "Minimum".into(),
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
    change: &AlarmChange,
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
                queries.push(MetricQuery {
                    id: "alarm".into(),
                    roles: vec![Role::Alarm],
                    kind: QueryKind::Stat {
                        namespace: m.namespace.clone(),
                        name: m.name.clone(),
                        dimensions: m.dimensions.clone(),
                        stat: m.stat.clone(),
                    },
                    return_data: true,
                });
            }
        }
    }

    let (memory, extra) = discovered(agent, volumes);
    if let Some(id) = change.primary_instance() {
        let correlated = [
            (
                Role::Cpu,
                "x_cpu",
                stat("AWS/EC2", "CPUUtilization", id, "Average"),
            ),
            (
                Role::NetworkIn,
                "x_net_in",
                stat("AWS/EC2", "NetworkIn", id, "Sum"),
            ),
            (
                Role::NetworkOut,
                "x_net_out",
                stat("AWS/EC2", "NetworkOut", id, "Sum"),
            ),
            (
                Role::StatusSystem,
                "x_sys",
                stat("AWS/EC2", "StatusCheckFailed_System", id, "Maximum"),
            ),
            (
                Role::StatusInstance,
                "x_inst",
                stat("AWS/EC2", "StatusCheckFailed_Instance", id, "Maximum"),
            ),
            (
                Role::StatusEbs,
                "x_ebs",
                stat("AWS/EC2", "StatusCheckFailed_AttachedEBS", id, "Maximum"),
            ),
            (
                Role::CpuCredits,
                "x_credits",
                stat("AWS/EC2", "CPUCreditBalance", id, "Average"),
            ),
            (
                Role::Memory,
                "x_mem",
                memory
                    .clone()
                    .unwrap_or_else(|| stat("CWAgent", "mem_used_percent", id, "Average")),
            ),
        ];
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
                id: format!("x_extra{n}"),
                roles: vec![role],
                kind,
                return_data: true,
            });
        }
    }
    queries.truncate(MAX_METRICS);
    WindowRequest {
        start,
        end,
        period_secs: 60,
        queries,
    }
}

/// Turn GetMetricData's answer into series by role.
pub fn assemble(request: &WindowRequest, data: &MetricData) -> MetricWindow {
    let mut series = BTreeMap::new();
    for q in &request.queries {
        let Some(points) = data.get(&q.id) else {
            continue;
        };
        let label = match &q.kind {
            // A disk is known by its path, a volume by its id.
            QueryKind::Stat {
                name, dimensions, ..
            } => match dimensions.get("path").or(dimensions.get("VolumeId")) {
                Some(d) => format!("{name} {d}"),
                None => name.clone(),
            },
            QueryKind::Expression { label, expression } => {
                label.clone().unwrap_or_else(|| expression.clone())
            }
        };
        let mut points = points.clone();
        points.sort_by_key(|(t, _)| *t);
        points.retain(|(_, v)| v.is_finite());
        for role in &q.roles {
            series.insert(
                *role,
                Series {
                    label: label.clone(),
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
async fn deadline<T>(limit: Duration, fut: impl Future<Output = Result<T, AwsError>>) -> Source<T> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Source::Available(v),
        Ok(Err(e)) => {
            warn!(service = e.service, operation = e.operation, code = ?e.code, error = %e, "source unavailable");
            Source::Unavailable(e.to_string())
        }
        Err(_) => {
            warn!(timeout_ms = limit.as_millis() as u64, "source timed out");
            Source::Unavailable(format!("timed out after {} ms", limit.as_millis()))
        }
    }
}

/// Gather every fact of the incident (no gate, each source under the settings' deadlines).
pub async fn gather(
    change: &AlarmChange,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Facts {
    let limits = Limits {
        source: settings.source_timeout,
        diagnostics: settings.diagnostics_timeout,
        budget: None,
    };
    gather_gated(
        change,
        readers,
        settings,
        now,
        limits,
        std::future::ready(true),
    )
    .await
    .unwrap_or_else(|| Facts::unavailable("not gathered"))
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

/// Gather every fact of the incident. `gate` runs beside round one (the incident claim): when it answers `false`
/// (a duplicate delivery), round two is never started and `None` is returned.
#[instrument(skip_all, fields(alarm = %change.alarm_name, instance = change.primary_instance().unwrap_or("-")))]
pub async fn gather_gated(
    change: &AlarmChange,
    readers: &Readers<'_>,
    settings: &Settings,
    now: DateTime<Utc>,
    limits: Limits,
    gate: impl Future<Output = bool>,
) -> Option<Facts> {
    let limit = || limits.source_now();
    let history_until = change.state.at.max(now);
    // Checked: the transition time comes from the event (see `plan_window_with`).
    let history_since = change
        .state
        .at
        .checked_sub_signed(chrono::Duration::days(HISTORY_DAYS))
        .unwrap_or(change.state.at);
    let window = |agent: Vec<AgentMetric>, volumes: Vec<VolumeFacts>| async move {
        let request = plan_window_with(change, settings.metric_window, &agent, &volumes);
        if request.queries.is_empty() {
            Source::Unavailable("the alarm has no metric to chart (composite alarm)".into())
        } else {
            match deadline(limit(), readers.metrics.metric_data(&request)).await {
                Source::Available(data) => Source::Available(assemble(&request, &data)),
                Source::Unavailable(r) => Source::Unavailable(r),
            }
        }
    };
    let history = deadline(
        limit(),
        readers
            .metrics
            .alarm_history(&change.alarm_name, history_since, history_until),
    );

    let Some(id) = change.primary_instance() else {
        let (go, metrics, history) = tokio::join!(gate, window(Vec::new(), Vec::new()), history);
        if !go {
            return None;
        }
        let none = "the alarm names no instance";
        return Some(Facts {
            metrics,
            history,
            ..Facts::unavailable(none)
        });
    };

    // Round one: everything that needs only the instance id.
    let (mut instance, status, stop_protection, volumes, agent, history, go) = tokio::join!(
        deadline(limit(), readers.ec2.instance(id)),
        deadline(limit(), readers.ec2.instance_status(id)),
        deadline(limit(), readers.ec2.stop_protection(id)),
        deadline(limit(), readers.ec2.volumes(id)),
        deadline(limit(), readers.metrics.agent_metrics(id)),
        history,
        gate,
    );
    if !go {
        return None;
    }
    // Stop protection belongs to the instance's facts; DescribeInstances just does not carry it.
    if let Source::Available(InstanceLookup::Found(i)) = &mut instance {
        i.disable_api_stop = stop_protection;
    }
    // Without the agent list, memory is still asked for with the InstanceId dimension alone (the agent's default).
    let agent = agent.get().cloned().unwrap_or_default();
    let gp2 = volumes.get().cloned().unwrap_or_default();

    let az = match &instance {
        Source::Available(InstanceLookup::Found(i)) => i.availability_zone.clone(),
        _ => None,
    };
    let ledger = async {
        match readers.ledger {
            None => Source::Unavailable(NO_LEDGER.into()),
            Some(l) => {
                deadline(
                    limit(),
                    l.view(&change.incident_key(), id, az.as_deref(), now),
                )
                .await
            }
        }
    };
    let round_two = async {
        match &instance {
            Source::Available(InstanceLookup::Found(i)) => {
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
            Source::Available(InstanceLookup::NotFound) => {
                let r = "the instance does not exist";
                (Source::Unavailable(r.into()), Source::Unavailable(r.into()))
            }
            Source::Unavailable(why) => {
                let r = format!("needs DescribeInstances, which was unavailable ({why})");
                (Source::Unavailable(r.clone()), Source::Unavailable(r))
            }
        }
    };
    // Round two: what needs round one's answers, the metric window among them.
    let diagnostics = async {
        let running =
            matches!(&instance, Source::Available(InstanceLookup::Found(i)) if i.is_running());
        match (
            readers.diagnostics,
            settings.diagnostics_document.as_deref(),
            running,
        ) {
            (Some(d), Some(doc), true) => Some(
                {
                    let l = limits.diagnostics_now();
                    deadline(l, d.run(id, doc, l))
                }
                .await,
            ),
            _ => None,
        }
    };
    let ((instance_type, security_groups), ledger, metrics, diagnostics) =
        tokio::join!(round_two, ledger, window(agent, gp2), diagnostics);

    Some(Facts {
        instance,
        status,
        instance_type,
        metrics,
        history,
        security_groups,
        volumes,
        ledger,
        diagnostics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{parse_bytes, Parsed};

    fn change(file: &str) -> AlarmChange {
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
}
