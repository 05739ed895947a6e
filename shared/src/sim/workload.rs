//! What happens to the simulated account in one run: instances, which of their checks fail and how, and the events
//! EventBridge delivers about it — real failures, AZ events, both checks of one instance at once, the sweep,
//! duplicates, and alarms crafted to look like status checks (an attacker's `< 1`, a stopped instance's missing
//! data).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::ec2::{Phase, SimInstance};
use super::rng::Rng;
use crate::catalogue::{STATUS_CHECK_FAILED_INSTANCE, STATUS_CHECK_FAILED_SYSTEM};

/// One event EventBridge delivers, and what the invariants expect of it.
#[derive(Debug, Clone)]
pub struct Arrival {
    pub after: Duration,
    pub event: Value,
    pub label: String,
    /// The instance the event is about (none for the sweep).
    pub instance: Option<String>,
    /// A report about it must reach the topic (or the event the failed-events queue).
    pub reportable: bool,
    /// Its reports may be no less urgent than this (an incident that acted keeps the priority of its cause).
    pub at_least: Option<crate::analyze::Priority>,
}

/// What a run throws at the account.
#[derive(Debug, Clone)]
pub struct Workload {
    pub instances: Vec<SimInstance>,
    pub arrivals: Vec<Arrival>,
    /// Instances only hostile or uncorroborated alarms are about: nothing may ever be done to them.
    pub untouchable: Vec<String>,
    /// Instances that must be acted on when the world is calm (nothing holds them but a wrong reading).
    pub must_act: Vec<String>,
    /// What was drawn, in one line per scenario.
    pub story: Vec<String>,
}

/// The scenarios a run draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// The instance check fails: a reboot.
    Reboot,
    /// The system check fails: a recover (stop, then start in a continuation), maybe with capacity errors or a stop
    /// that hangs until forced.
    Recover,
    /// Both checks of one instance fail at once, each with its alarm, and the sweep runs too.
    BothChecks,
    /// Three or four instances of one AZ fail their system check within a minute.
    AzEvent,
    /// `StatusCheckFailed_Instance < 1` on a healthy instance: anybody with PutMetricAlarm can create it.
    Hostile,
    /// A check alarm of a stopped instance that treats missing data as breaching.
    StoppedMissingData,
    /// A CPU alarm: report only.
    Cpu,
    /// The check fails, AWS recovers it, and it fails again within the hour: the sweep must report the second.
    Refail,
    /// The system check failed and cleared (its alarm still fires, so its recover is held: not impaired now) while
    /// the instance check fails: the reboot must not defer to a recover that never happens.
    SystemCleared,
    /// Three crafted `StatusCheckFailed_Instance < 1` alarms on healthy instances of one AZ, and a real instance-check
    /// failure in the same AZ: no false AZ event, and the real reboot goes ahead.
    HostileAz,
}

pub const SCENARIOS: [Scenario; 10] = [
    Scenario::Reboot,
    Scenario::Recover,
    Scenario::BothChecks,
    Scenario::AzEvent,
    Scenario::Hostile,
    Scenario::StoppedMissingData,
    Scenario::Cpu,
    Scenario::Refail,
    Scenario::SystemCleared,
    Scenario::HostileAz,
];

const AZS: [&str; 3] = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"];

/// A CloudWatch alarm state change as EventBridge delivers it.
#[allow(clippy::too_many_arguments)]
pub fn alarm_event(
    alarm: &str,
    namespace: &str,
    metric: &str,
    instance: &str,
    at: DateTime<Utc>,
    comparison: &str,
    threshold: f64,
    values: &[f64],
) -> Value {
    let ts = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    let points: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let back = i64::try_from(i).unwrap_or(0) + 1;
            json!({"timestamp": ts(at - Duration::minutes(back)), "sampleCount": 1.0, "value": v})
        })
        .collect();
    let shown: Vec<String> = values.iter().map(|v| format!("{v:.1}")).collect();
    let reason = if values.is_empty() {
        format!("Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [Breaching]. {comparison} the threshold ({threshold:.1}).")
    } else {
        format!(
            "Threshold Crossed: {n} out of the last {n} datapoints [{}] were {comparison} the threshold ({threshold:.1}) (minimum {n} datapoints for OK -> ALARM transition).",
            shown.join(", "),
            n = values.len()
        )
    };
    let reason_data = json!({
        "version": "1.0",
        "queryDate": ts(at),
        "startDate": ts(at - Duration::minutes(3)),
        "statistic": "Maximum",
        "period": 60,
        "recentDatapoints": values,
        "threshold": threshold,
        "evaluatedDatapoints": points,
    });
    json!({
        "version": "0",
        "id": format!("{alarm}-{}", at.timestamp()),
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": "123456789012",
        "time": at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "ap-northeast-2",
        "resources": [format!("arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:{alarm}")],
        "detail": {
            "alarmName": alarm,
            "state": {"value": "ALARM", "reason": reason, "reasonData": reason_data.to_string(), "timestamp": ts(at)},
            "previousState": {"value": "OK", "reason": "Threshold Crossed", "timestamp": ts(at - Duration::hours(6))},
            "configuration": {
                "description": format!("{metric} of {instance}"),
                "metrics": [{
                    "id": "m1",
                    "metricStat": {
                        "metric": {"namespace": namespace, "name": metric, "dimensions": {"InstanceId": instance}},
                        "period": 60,
                        "stat": "Maximum"
                    },
                    "returnData": true
                }]
            }
        }
    })
}

/// The sweep's scheduled event.
pub fn sweep_event() -> Value {
    json!({
        "source": crate::remediation::VERIFY_SOURCE,
        "detail-type": crate::event::SWEEP_DETAIL_TYPE,
        "detail": {}
    })
}

fn check_alarm(instance: &str, metric: &str, at: DateTime<Utc>) -> Value {
    alarm_event(
        &format!("{instance}-{metric}"),
        crate::catalogue::EC2,
        metric,
        instance,
        at,
        "greater than or equal to",
        1.0,
        &[1.0, 1.0],
    )
}

struct Builder<'a> {
    rng: &'a mut Rng,
    start: DateTime<Utc>,
    w: Workload,
}

impl Builder<'_> {
    fn instance(&mut self, az: &str) -> String {
        let id = format!("i-{:017x}", self.w.instances.len() + 1);
        self.w.instances.push(SimInstance::new(&id, az));
        id
    }

    fn last(&mut self) -> Option<&mut SimInstance> {
        self.w.instances.last_mut()
    }

    fn arrive(
        &mut self,
        after_s: i64,
        event: Value,
        label: String,
        instance: Option<&str>,
        reportable: bool,
    ) {
        let after = Duration::seconds(after_s);
        // EventBridge delivers at least once: sometimes twice.
        let copies = if self.rng.chance(150) { 2 } else { 1 };
        for c in 0..copies {
            self.w.arrivals.push(Arrival {
                after: after
                    + Duration::seconds(c * i64::try_from(self.rng.below(90)).unwrap_or(0)),
                event: event.clone(),
                label: if c == 0 {
                    label.clone()
                } else {
                    format!("{label} (again)")
                },
                instance: instance.map(str::to_string),
                reportable,
                at_least: None,
            });
        }
    }

    /// The arrivals of the last scenario whose label starts with `label` keep at least `p`.
    fn at_least(&mut self, label: &str, p: crate::analyze::Priority) {
        for a in self
            .w
            .arrivals
            .iter_mut()
            .filter(|a| a.label.starts_with(label))
        {
            a.at_least = Some(p);
        }
    }

    fn az(&mut self) -> &'static str {
        AZS[usize::try_from(self.rng.below(3)).unwrap_or(0)]
    }

    fn scenario(&mut self, s: Scenario) {
        let t = i64::try_from(self.rng.below(120)).unwrap_or(0);
        let at = self.start + Duration::seconds(t);
        let az = self.az();
        match s {
            Scenario::Reboot => {
                let id = self.instance(az);
                let since = at - Duration::minutes(3);
                if let Some(i) = self.last() {
                    i.instance_impaired = true;
                    i.impaired_since = Some(since);
                }
                self.arrive(
                    t,
                    check_alarm(&id, STATUS_CHECK_FAILED_INSTANCE, at),
                    format!("instance check of {id}"),
                    Some(&id),
                    true,
                );
                self.at_least(
                    &format!("instance check of {id}"),
                    crate::analyze::Priority::P1,
                );
                self.w
                    .story
                    .push(format!("reboot: {id} in {az}, instance check failing"));
            }
            Scenario::Recover => {
                let id = self.instance(az);
                let hangs = self.rng.chance(300);
                let capacity = u32::try_from(self.rng.below(4)).unwrap_or(0);
                if let Some(i) = self.last() {
                    i.system_impaired = true;
                    i.impaired_since = Some(at - Duration::minutes(3));
                    i.stop_hangs = hangs;
                    i.capacity_errors = capacity;
                }
                self.arrive(
                    t,
                    check_alarm(&id, STATUS_CHECK_FAILED_SYSTEM, at),
                    format!("system check of {id}"),
                    Some(&id),
                    true,
                );
                self.at_least(
                    &format!("system check of {id}"),
                    crate::analyze::Priority::P1,
                );
                self.w.story.push(format!("recover: {id} in {az}, system check failing, stop hangs {hangs}, {capacity} capacity errors"));
            }
            Scenario::BothChecks => {
                let id = self.instance(az);
                if let Some(i) = self.last() {
                    i.system_impaired = true;
                    i.instance_impaired = true;
                    i.impaired_since = Some(at - Duration::minutes(3));
                }
                let lag = i64::try_from(self.rng.below(20)).unwrap_or(0);
                self.arrive(
                    t,
                    check_alarm(&id, STATUS_CHECK_FAILED_INSTANCE, at),
                    format!("instance check of {id}"),
                    Some(&id),
                    true,
                );
                self.arrive(
                    t + lag,
                    check_alarm(&id, STATUS_CHECK_FAILED_SYSTEM, at + Duration::seconds(lag)),
                    format!("system check of {id}"),
                    Some(&id),
                    true,
                );
                if self.rng.chance(500) {
                    self.arrive(t + 30, sweep_event(), "sweep".into(), None, false);
                }
                self.w.story.push(format!(
                    "both checks: {id} in {az}, system and instance checks failing"
                ));
            }
            Scenario::AzEvent => {
                let n = 3 + self.rng.below(2);
                let mut ids = Vec::new();
                for k in 0..n {
                    let id = self.instance(az);
                    if let Some(i) = self.last() {
                        i.system_impaired = true;
                        i.impaired_since = Some(at - Duration::minutes(2));
                    }
                    let lag = i64::try_from(self.rng.below(60)).unwrap_or(0)
                        + i64::try_from(k).unwrap_or(0);
                    self.arrive(
                        t + lag,
                        check_alarm(&id, STATUS_CHECK_FAILED_SYSTEM, at + Duration::seconds(lag)),
                        format!("system check of {id} (AZ event)"),
                        Some(&id),
                        true,
                    );
                    ids.push(id);
                }
                self.w
                    .story
                    .push(format!("AZ event in {az}: {}", ids.join(", ")));
            }
            Scenario::Hostile => {
                let id = self.instance(az);
                let event = alarm_event(
                    &format!("{id}-looks-like-a-check"),
                    crate::catalogue::EC2,
                    STATUS_CHECK_FAILED_INSTANCE,
                    &id,
                    at,
                    "less than",
                    1.0,
                    &[0.0, 0.0, 0.0],
                );
                self.arrive(t, event, format!("hostile alarm on {id}"), Some(&id), true);
                self.w.untouchable.push(id.clone());
                self.w.story.push(format!(
                    "hostile: {} < 1 on healthy {id} in {az}",
                    STATUS_CHECK_FAILED_INSTANCE
                ));
            }
            Scenario::StoppedMissingData => {
                let id = self.instance(az);
                if let Some(i) = self.last() {
                    i.phase = Phase::Stopped;
                }
                let event = alarm_event(
                    &format!("{id}-instance-check"),
                    crate::catalogue::EC2,
                    STATUS_CHECK_FAILED_INSTANCE,
                    &id,
                    at,
                    "greater than or equal to",
                    1.0,
                    &[],
                );
                self.arrive(
                    t,
                    event,
                    format!("missing-data alarm of stopped {id}"),
                    Some(&id),
                    true,
                );
                self.w.untouchable.push(id.clone());
                self.w.story.push(format!(
                    "stopped: {id} in {az}, its check alarm fires on missing data"
                ));
            }
            Scenario::Cpu => {
                let id = self.instance(az);
                let event = alarm_event(
                    &format!("{id}-cpu"),
                    crate::catalogue::EC2,
                    crate::catalogue::CPU_UTILIZATION,
                    &id,
                    at,
                    "greater than",
                    80.0,
                    &[93.0, 95.5, 97.2],
                );
                self.arrive(t, event, format!("CPU alarm of {id}"), Some(&id), true);
                self.w.untouchable.push(id.clone());
                self.w
                    .story
                    .push(format!("cpu: {id} in {az}, CPU above 80 %"));
            }
            Scenario::SystemCleared => {
                let id = self.instance(az);
                if let Some(i) = self.last() {
                    i.instance_impaired = true;
                    i.impaired_since = Some(at - Duration::minutes(3));
                }
                let lag = i64::try_from(self.rng.below(5)).unwrap_or(0);
                self.arrive(
                    t + lag,
                    check_alarm(&id, STATUS_CHECK_FAILED_SYSTEM, at + Duration::seconds(lag)),
                    format!("system check of {id}"),
                    Some(&id),
                    true,
                );
                self.arrive(
                    t,
                    check_alarm(&id, STATUS_CHECK_FAILED_INSTANCE, at),
                    format!("instance check of {id}"),
                    Some(&id),
                    true,
                );
                self.w.must_act.push(id.clone());
                self.w.story.push(format!("system check cleared: {id} in {az}, its alarm fires, the instance check fails: the reboot must go ahead"));
            }
            Scenario::HostileAz => {
                let mut crafted = Vec::new();
                for k in 0..3 {
                    let id = self.instance(az);
                    let event = alarm_event(
                        &format!("{id}-looks-like-a-check"),
                        crate::catalogue::EC2,
                        STATUS_CHECK_FAILED_INSTANCE,
                        &id,
                        at + Duration::seconds(k),
                        "less than",
                        1.0,
                        &[0.0, 0.0, 0.0],
                    );
                    self.arrive(
                        t + k,
                        event,
                        format!("hostile alarm on {id}"),
                        Some(&id),
                        true,
                    );
                    self.w.untouchable.push(id.clone());
                    crafted.push(id);
                }
                let id = self.instance(az);
                if let Some(i) = self.last() {
                    i.instance_impaired = true;
                    i.impaired_since = Some(at - Duration::minutes(3));
                }
                self.arrive(
                    t + 5,
                    check_alarm(&id, STATUS_CHECK_FAILED_INSTANCE, at + Duration::seconds(5)),
                    format!("instance check of {id}"),
                    Some(&id),
                    true,
                );
                self.w.must_act.push(id.clone());
                self.w.story.push(format!("hostile AZ: crafted check alarms on {} and a real instance-check failure of {id}, all in {az}", crafted.join(", ")));
            }
            Scenario::Refail => {
                let id = self.instance(az);
                if let Some(i) = self.last() {
                    i.instance_impaired = true;
                    i.impaired_since = Some(at - Duration::minutes(3));
                    // Not opted in: reported, never acted on, so the second failure is the sweep's to find.
                    i.tags.remove("ec2ops:auto-remediate");
                }
                self.arrive(
                    t,
                    check_alarm(&id, STATUS_CHECK_FAILED_INSTANCE, at),
                    format!("instance check of {id}"),
                    Some(&id),
                    true,
                );
                self.w.story.push(format!("refail: {id} in {az}, instance check fails, recovers, fails again 20 min later"));
            }
        }
    }
}

/// When the check of a `Refail` instance clears, and when it fails again (relative to the run's start).
pub const REFAIL_CLEARS: Duration = Duration::minutes(10);
pub const REFAIL_AGAIN: Duration = Duration::minutes(20);
/// When the sweep runs that must report the second failure.
pub const REFAIL_SWEEP: Duration = Duration::minutes(25);

/// Draw one run's workload.
pub fn draw(rng: &mut Rng, start: DateTime<Utc>, forced: Option<Scenario>, only: bool) -> Workload {
    let mut b = Builder {
        rng,
        start,
        w: Workload {
            instances: Vec::new(),
            arrivals: Vec::new(),
            untouchable: Vec::new(),
            must_act: Vec::new(),
            story: Vec::new(),
        },
    };
    let n = if only && forced.is_some() {
        1
    } else {
        1 + b.rng.below(3)
    };
    for k in 0..n {
        let s = match (forced, k) {
            (Some(s), 0) => s,
            _ => *b.rng.pick(&SCENARIOS).unwrap_or(&Scenario::Reboot),
        };
        b.scenario(s);
    }
    if b.w.story.iter().any(|s| s.starts_with("refail")) {
        b.arrive(
            REFAIL_SWEEP.num_seconds(),
            sweep_event(),
            "sweep after the re-failure".into(),
            None,
            false,
        );
    }
    b.w.arrivals.sort_by_key(|a| a.after);
    b.w
}
