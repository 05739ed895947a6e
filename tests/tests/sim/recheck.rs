//! The second look at a short spike through the whole pipeline on the in-memory ports: the first report schedules it
//! once, and the scheduled delivery posts in the thread only when the picture changed — once, however often
//! Scheduler delivers it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use ec2ops::budget::Budget;
use ec2ops::catalogue::{CPU_UTILIZATION, EC2};
use ec2ops::config::{Language, RemediationMode, Settings};
use ec2ops::facts::AlarmHistory;
use ec2ops::memory::MemoryLedger;
use ec2ops::pipeline::{Actors, Outcome, Responder};
use ec2ops::ports::{
    AgentMetric, AwsError, Ledger, MetricData, MetricReader, QueryKind, WindowRequest,
};
use ec2ops::sim::clock::Clock;
use ec2ops::sim::ec2::{Ec2World, SimInstance};
use ec2ops::sim::faults::{Fault, FaultPlan, FaultRates, Faulty, Kill};
use ec2ops::sim::ports::{Recorder, Schedule, SimScheduler};
use ec2ops::sim::rng::Rng;
use ec2ops::sim::workload::alarm_event;

const ID: &str = "i-00000000000000002";
const AZ: &str = "ap-northeast-2a";
const TOPIC: &str = "arn:aws:sns:ap-northeast-2:123456789012:ec2ops-reports";

/// CloudWatch with one instance's CPU, which the test writes as time goes on.
#[derive(Default)]
struct Cpu {
    points: Mutex<Vec<(DateTime<Utc>, f64)>>,
}

impl Cpu {
    fn put(&self, at: DateTime<Utc>, value: f64) {
        if let Ok(mut p) = self.points.lock() {
            p.push((at, value));
        }
    }
}

#[async_trait]
impl MetricReader for Cpu {
    async fn metric_data(&self, request: &WindowRequest) -> Result<MetricData, AwsError> {
        let points = self.points.lock().map(|p| p.clone()).unwrap_or_default();
        let mut out = MetricData::new();
        for q in &request.queries {
            if let QueryKind::Stat { name, .. } = &q.kind {
                if name == CPU_UTILIZATION {
                    let within = points
                        .iter()
                        .copied()
                        .filter(|(t, _)| *t >= request.start && *t < request.end);
                    out.insert(q.id.clone(), within.collect());
                }
            }
        }
        Ok(out)
    }
    async fn agent_metrics(&self, _: &str) -> Result<Vec<AgentMetric>, AwsError> {
        Ok(Vec::new())
    }
    async fn alarm_history(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<AlarmHistory, AwsError> {
        Ok(AlarmHistory { items: Vec::new() })
    }
}

struct World {
    clock: Clock,
    cpu: Arc<Cpu>,
    sns: Arc<Recorder>,
    scheduler: Arc<SimScheduler>,
    ledger: Arc<MemoryLedger>,
    responder: Responder,
}

fn world(recheck_after: Option<chrono::Duration>) -> World {
    let clock = Clock::new(DateTime::from_timestamp(1_772_323_200, 0).unwrap_or_default());
    let ec2 = Arc::new(Ec2World::new(clock, vec![SimInstance::new(ID, AZ)]));
    let cpu = Arc::new(Cpu::default());
    let sns = Arc::new(Recorder::new(clock));
    let scheduler = Arc::new(SimScheduler::default());
    let settings = Settings {
        topic_arn: Some(TOPIC.into()),
        language: Language::En,
        time_zone: "UTC".parse().unwrap_or_default(),
        remediation: RemediationMode::Auto,
        ledger_table: Some("ec2ops-recheck".into()),
        scheduler_role_arn: Some("arn:aws:iam::123456789012:role/ec2ops-scheduler".into()),
        recheck_after,
        ..Settings::default()
    };
    let ledger = Arc::new(MemoryLedger::default());
    let responder = Responder::new(settings, ec2.clone(), cpu.clone())
        .with_ledger(Ledger::of(ledger.clone()))
        .with_actors(Actors {
            remediator: ec2,
            scheduler: Some(scheduler.clone()),
            function_arn: Some("arn:aws:lambda:ap-northeast-2:123456789012:function:ec2ops".into()),
        })
        .with_delivery(sns.clone(), TOPIC);
    World {
        clock,
        cpu,
        sns,
        scheduler,
        ledger,
        responder,
    }
}

impl World {
    async fn deliver(&self, event: &Value) -> Outcome {
        let now = self.clock.now();
        match self
            .responder
            .respond(event, now, Budget::new(Duration::from_secs(90), now))
            .await
        {
            Ok(o) => o,
            Err(e) => panic!("handled with an error: {e}"),
        }
    }

    fn messages(&self) -> Vec<String> {
        self.sns
            .published()
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    fn minute(&self) -> DateTime<Utc> {
        use chrono::DurationRound;
        let now = self.clock.now();
        now.duration_trunc(chrono::Duration::minutes(1))
            .unwrap_or(now)
    }

    /// Half an hour of an idle CPU, then one minute at 39.58 % (the seed's spike), and the alarm on it: its first
    /// report, and the schedules it left.
    async fn spike(&self) -> (String, Vec<Schedule>) {
        let at = self.minute();
        for m in (2..32).rev() {
            self.cpu.put(at - chrono::Duration::minutes(m), 0.3);
        }
        self.cpu.put(at - chrono::Duration::minutes(1), 39.58);
        tokio::time::advance(Duration::from_secs(28)).await;
        let alarm = alarm_event(
            "web-2 high cpu",
            EC2,
            CPU_UTILIZATION,
            ID,
            self.clock.now(),
            "greater than",
            25.0,
            &[39.58],
        );
        let report = match self.deliver(&alarm).await {
            Outcome::Reported(i) => {
                assert!(
                    i.assessment.has(ec2ops::analyze::RuleId::CpuSpike),
                    "{:?}",
                    i.assessment.findings
                );
                i.message.message
            }
            other => panic!("not reported: {other:?}"),
        };
        assert!(
            matches!(self.deliver(&alarm).await, Outcome::Duplicate { .. }),
            "the same alarm again is a duplicate"
        );
        (report, self.scheduler.take_new())
    }

    /// Let the schedule come due, with `after` written into CloudWatch one value a minute after the spike.
    async fn at_the_schedule(&self, schedule: &Schedule, after: &[f64]) {
        let spike = self.minute() - chrono::Duration::minutes(1);
        for (i, v) in after.iter().enumerate() {
            let m = i64::try_from(i).unwrap_or(0) + 1;
            self.cpu.put(spike + chrono::Duration::minutes(m), *v);
        }
        let wait = (schedule.at - self.clock.now())
            .to_std()
            .unwrap_or_default();
        tokio::time::advance(wait).await;
    }
}

fn rechecks(schedules: &[Schedule]) -> Vec<&Schedule> {
    schedules
        .iter()
        .filter(|s| s.name.starts_with("recheck-"))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_spike_schedules_one_second_look_in_five_minutes_and_its_report_says_when() {
    let w = world(Some(chrono::Duration::minutes(5)));
    let (report, schedules) = w.spike().await;
    let looks = rechecks(&schedules);
    assert_eq!(looks.len(), 1, "{schedules:?}");
    let due = looks[0].at - w.clock.now();
    assert!(
        due <= chrono::Duration::minutes(5) && due > chrono::Duration::minutes(4),
        "{due}"
    );
    assert_eq!(looks[0].event["detail-type"], json!("ec2ops.recheck"));
    assert!(
        report.contains("ec2ops looks again at") && !report.contains("Watch whether the spike"),
        "{report}"
    );
    assert_eq!(w.messages().len(), 1);
}

/// A spike on an alarm muted by a mute rule is reported quietly and not looked at again: the second look would be a
/// message of its own, outside the quiet.
#[tokio::test(start_paused = true)]
async fn a_muted_spike_is_reported_quietly_and_not_looked_at_again() {
    let mut w = world(Some(chrono::Duration::minutes(5)));
    let mut settings = (*w.responder.settings).clone();
    settings.mute_rules = true;
    w.responder.settings = Arc::new(settings);
    w.responder = w
        .responder
        .with_silence(Arc::new(ec2ops::sim::ports::SimSilence {
            mute_every_alarm: true,
            calendar_closed: false,
        }));
    let (report, schedules) = w.spike().await;
    assert!(rechecks(&schedules).is_empty(), "{schedules:?}");
    assert!(report.contains("Sent quietly"), "{report}");
    let published = w.sns.published();
    assert_eq!(published.len(), 1);
    assert!(
        published[0].subject.starts_with("[muted] "),
        "{}",
        published[0].subject
    );
}

#[tokio::test(start_paused = true)]
async fn a_spike_that_became_sustained_is_posted_once_in_its_thread_with_the_priority_raised() {
    let w = world(Some(chrono::Duration::minutes(5)));
    let (_, schedules) = w.spike().await;
    let look = rechecks(&schedules)[0].clone();
    w.at_the_schedule(&look, &[88.2, 91.4, 90.0, 89.7]).await;
    match w.deliver(&look.event).await {
        Outcome::Rechecked {
            picture,
            message_id: Some(_),
            ..
        } => assert_eq!(picture, "sustained"),
        other => panic!("{other:?}"),
    }
    let posted = w.sns.published();
    assert_eq!(posted.len(), 2);
    assert!(
        posted[1].subject.starts_with("[P1] Spike became sustained"),
        "{}",
        posted[1].subject
    );
    let thread = |m: &str| -> Value {
        let sns: Value = serde_json::from_str(m).unwrap_or_default();
        let card: Value =
            serde_json::from_str(sns["default"].as_str().unwrap_or_default()).unwrap_or_default();
        card["metadata"]["threadId"].clone()
    };
    assert_eq!(thread(&posted[0].message), thread(&posted[1].message));
    assert!(thread(&posted[1].message).is_string());
    // Scheduler delivers at least once: the same look again posts nothing more.
    assert!(matches!(
        w.deliver(&look.event).await,
        Outcome::Duplicate { .. }
    ));
    assert_eq!(w.sns.published().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_second_look_that_finds_no_change_posts_nothing() {
    let w = world(Some(chrono::Duration::minutes(5)));
    let (_, schedules) = w.spike().await;
    let look = rechecks(&schedules)[0].clone();
    // CloudWatch has nothing newer than the spike (the agentless instance stopped publishing, or lags).
    w.at_the_schedule(&look, &[]).await;
    match w.deliver(&look.event).await {
        Outcome::Rechecked {
            picture,
            message_id: None,
            ..
        } => assert_eq!(picture, "unchanged"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.messages().len(), 1, "only the first report");
}

#[tokio::test(start_paused = true)]
async fn a_spike_that_recovered_is_posted_with_its_peak_and_how_long_it_lasted() {
    let w = world(Some(chrono::Duration::minutes(5)));
    let (_, schedules) = w.spike().await;
    let look = rechecks(&schedules)[0].clone();
    w.at_the_schedule(&look, &[31.0, 2.0, 0.4, 0.3]).await;
    assert!(matches!(
        w.deliver(&look.event).await,
        Outcome::Rechecked { ref picture, message_id: Some(_), .. } if picture == "recovered"
    ));
    let posted = w.sns.published();
    assert!(posted[1].subject.starts_with("[P3] Spike recovered"));
    assert!(
        posted[1].message.contains("peak 39.58%")
            && posted[1].message.contains("above it for 2 min"),
        "{}",
        posted[1].message
    );
}

/// DescribeAlarms with no alarm in ALARM: the spike's alarm went back to OK.
struct NoneInAlarm;

#[async_trait]
impl ec2ops::ports::AlarmLister for NoneInAlarm {
    async fn in_alarm(
        &self,
    ) -> Result<(Vec<ec2ops::evidence::alarms::ListedAlarm>, bool), AwsError> {
        Ok((Vec::new(), false))
    }
}

#[tokio::test(start_paused = true)]
async fn a_recovered_spike_whose_alarm_went_back_to_ok_is_left_to_the_ok_notice() {
    let mut w = world(Some(chrono::Duration::minutes(5)));
    w.responder.evidence.alarms = Some(Arc::new(NoneInAlarm));
    let (_, schedules) = w.spike().await;
    let look = rechecks(&schedules)[0].clone();
    w.at_the_schedule(&look, &[31.0, 2.0, 0.4, 0.3]).await;
    match w.deliver(&look.event).await {
        Outcome::Rechecked {
            ref picture,
            message_id: None,
            ..
        } => assert_eq!(picture, "recovered: the OK notice says it"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        w.messages().len(),
        1,
        "only the first report: the OK notice closes the thread"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crafted_second_look_at_an_incident_ec2ops_never_reported_posts_nothing() {
    let w = world(Some(chrono::Duration::minutes(5)));
    let (_, schedules) = w.spike().await;
    let genuine = rechecks(&schedules)[0].event.clone();
    // Another incident's key beside this one's thread: refused as malformed, naming the field (nothing is read or
    // posted; the event ends in the failed-events queue).
    let mut foreign = genuine.clone();
    foreign["detail"]["incident_key"] = json!(
        "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:other#ALARM#2026-03-01T00:00:00.000Z"
    );
    let now = w.clock.now();
    let refused = w
        .responder
        .respond(&foreign, now, Budget::new(Duration::from_secs(90), now))
        .await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("detail.thread_id")),
        "{refused:?}"
    );
    // A look whose key, thread, alarm and times agree, at a time this alarm never fired: no such reported incident.
    let mut crafted = genuine.clone();
    let key = genuine["detail"]["incident_key"]
        .as_str()
        .unwrap_or_default();
    let (alarm, _) = key.split_once("#ALARM#").unwrap_or_default();
    crafted["detail"]["incident_key"] = json!(format!("{alarm}#ALARM#2026-02-27T00:00:00.000Z"));
    crafted["detail"]["thread_id"] = json!(format!("20260227T000000.000Z#{alarm}"));
    crafted["detail"]["alarm_at"] = json!("2026-02-27T00:00:00Z");
    crafted["detail"]["peak_at"] = json!("2026-02-26T23:59:00Z");
    w.at_the_schedule(
        &rechecks(&schedules)[0].clone(),
        &[88.0, 90.0, 91.0, 92.0, 93.0],
    )
    .await;
    match w.deliver(&crafted).await {
        Outcome::Rechecked {
            picture,
            message_id: None,
            ..
        } => assert!(picture.starts_with("refused"), "{picture}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.messages().len(), 1, "only the first report");
}

#[tokio::test(start_paused = true)]
async fn with_the_second_look_turned_off_nothing_is_scheduled_and_the_report_asks_a_person_to_watch(
) {
    let w = world(None);
    let (report, schedules) = w.spike().await;
    assert!(rechecks(&schedules).is_empty(), "{schedules:?}");
    assert!(
        report.contains("Watch whether the spike persists") && !report.contains("looks again"),
        "{report}"
    );
}

impl World {
    /// The responder of the second look's delivery with `plan`'s fault at its calls: the ledger, CloudWatch and SNS.
    fn faulty(&self, plan: &Arc<FaultPlan>, kill: &Arc<Kill>) -> Responder {
        let ledger = ec2ops::sim::faulty_ledger(&self.ledger, plan, kill, 1);
        let mut r = Responder::new(
            (*self.responder.settings).clone(),
            Arc::new(Ec2World::new(self.clock, Vec::new())),
            Arc::new(Faulty::new(self.cpu.clone(), plan, kill, 1, "cloudwatch")),
        )
        .with_ledger(ledger)
        .with_delivery(
            Arc::new(Faulty::new(self.sns.clone(), plan, kill, 1, "sns")),
            TOPIC,
        );
        r.settings = self.responder.settings.clone();
        r
    }
}

/// The second look killed, failed or answered late at each of its port calls in turn (before or after the call,
/// an error, a write whose answer is lost), then delivered again as Scheduler and Lambda do: a spike that became
/// sustained is posted, and at most twice only when SNS took the message and its record was lost with the
/// invocation — never not at all, never a third time.
#[tokio::test(start_paused = true)]
async fn a_fault_at_every_call_of_the_second_look_never_loses_its_post_nor_posts_it_twice() {
    for fault in [
        Fault::CrashBefore,
        Fault::CrashAfter,
        Fault::Error,
        Fault::Lost,
    ] {
        let mut nth = 1;
        loop {
            let w = world(Some(chrono::Duration::minutes(5)));
            let (_, schedules) = w.spike().await;
            let look = rechecks(&schedules)[0].clone();
            w.at_the_schedule(&look, &[88.0, 90.0, 91.0, 92.0, 93.0])
                .await;
            let plan = Arc::new(
                FaultPlan::new(Rng::new(u64::from(nth)), FaultRates::NONE, w.clock)
                    .with_first_fault(Some((nth, fault))),
            );
            let kill = Arc::new(Kill::default());
            let r = w.faulty(&plan, &kill);
            let now = w.clock.now();
            let budget = Budget::new(Duration::from_secs(90), now);
            let first = tokio::select! {
                biased;
                () = kill.wait() => None,
                o = r.respond(&look.event, now, budget) => Some(o),
            };
            let calls = plan.first_calls();
            let at = usize::try_from(nth).unwrap_or(usize::MAX) - 1;
            let faulted = at < calls.len();
            // SNS took the message and the record of it is what the fault hit (the one case a follow-up can be
            // posted twice, as every follow-up of ec2ops).
            let publish = |i: usize| calls.get(i).is_some_and(|c| c == "sns Publish");
            let published_unrecorded = (publish(at)
                && matches!(fault, Fault::CrashAfter | Fault::Lost))
                || (at > 0 && publish(at - 1));
            let story = format!("{fault:?} at call {nth} of {calls:?}: {first:?}");
            // Lambda's retry (or Scheduler's) a minute later, and any redelivery the lease left behind.
            tokio::time::advance(Duration::from_secs(60)).await;
            let _ = w.deliver(&look.event).await;
            for redo in w
                .scheduler
                .take_new()
                .into_iter()
                .filter(|s| s.name.starts_with("redo-"))
            {
                let wait_for = (redo.at - w.clock.now()).to_std().unwrap_or_default();
                tokio::time::advance(wait_for).await;
                let _ = w.deliver(&redo.event).await;
            }
            let posts = w
                .messages()
                .iter()
                .filter(|m| m.contains("became sustained") || m.contains("지속"))
                .count();
            let most = if published_unrecorded { 2 } else { 1 };
            assert!((1..=most).contains(&posts), "{story}: posted {posts} times");
            if !faulted {
                break;
            }
            nth += 1;
            assert!(nth < 30, "the second look makes fewer than 30 port calls");
        }
    }
}
