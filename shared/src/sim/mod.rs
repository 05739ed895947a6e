//! The deterministic simulation tier: the whole pipeline against in-memory ports ([`crate::memory`] for the ledger,
//! [`ec2`] for EC2), on a virtual clock, with a seeded fault at every port call ([`faults`]) and Lambda's delivery
//! semantics around it — asynchronous retries (twice, one and two minutes later), the function's timeout killing an
//! invocation, the failed-events queue, EventBridge delivering an event twice, Scheduler firing late or twice. After
//! each run the README's safety promises are checked as invariants ([`invariants`]). A seed replays exactly: a failing
//! one prints its story, its trace and the command that replays it.
//!
//! What it does not model: see the README's "Known limits" (DynamoDB's eventual consistency, SNS and Chatbot
//! formatting limits, CloudWatch data — the metric readers answer with nothing —, SSM diagnostics, CloudTrail and Logs,
//! the storm gate's digests, real network timing).

pub mod clock;
pub mod ec2;
pub mod faults;
pub mod invariants;
pub mod ports;
pub mod rng;
pub mod workload;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::budget::Budget;
use crate::config::{Language, RemediationMode, Settings};
use crate::memory::MemoryLedger;
use crate::pipeline::{Actors, HandleError, Outcome, Responder};
use crate::ports::Ledger;
use clock::Clock;
use ec2::Ec2World;
use faults::{FaultPlan, FaultRates, Faulty, Kill};
use ports::{QuietMetrics, Recorder, SimQueue, SimScheduler};
use rng::Rng;
use workload::{Scenario, Workload};

/// The function's timeout (template.yaml's `Timeout`).
pub const LAMBDA_TIMEOUT: Duration = Duration::from_secs(90);
/// How long after its start a run stops looking (every schedule and retry of a run falls well within it).
pub const HORIZON: chrono::Duration = chrono::Duration::hours(3);
pub const TOPIC: &str = "arn:aws:sns:ap-northeast-2:123456789012:ec2ops-reports";
/// The paging topic urgent messages are copied to (every run but a regression's one story).
pub const PAGING: &str = "arn:aws:sns:ap-northeast-2:123456789012:ec2ops-paging";
pub const FUNCTION: &str = "arn:aws:lambda:ap-northeast-2:123456789012:function:ec2ops";
/// The work queue's visibility timeout and redrive (template.yaml: 6 × the function's timeout, 5 receives).
pub const VISIBILITY_TIMEOUT: chrono::Duration = chrono::Duration::seconds(540);
pub const MAX_RECEIVES: u32 = 5;

/// How one run is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Draw no faults (the calm world: every promise must hold without any help from luck).
    pub calm: bool,
    /// Make this the run's first scenario.
    pub scenario: Option<Scenario>,
    /// Only the chosen scenario, with the default envelope (a regression's one story).
    pub only: bool,
    /// Kill the first invocation just after its nth port call (the kill table).
    pub kill_first_after: Option<u32>,
    /// A fault at the first invocation's nth port call (the fault table).
    pub first_fault: Option<(u32, faults::Fault)>,
    /// The recovering instance's hardware (drawn when not set).
    pub hardware: Option<Hardware>,
    /// Faults at chosen calls instead of drawn ones: `(service, operation, nth call of it from 1, fault)`.
    pub script: &'static [(&'static str, &'static str, u32, faults::Fault)],
}

/// How the hardware of an instance whose system check fails misbehaves when ec2ops recovers it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Hardware {
    /// A normal stop never completes; a forced one does.
    pub stop_hangs: bool,
    /// Not even a forced stop completes.
    pub forced_stop_hangs: bool,
    /// StartInstances answers InsufficientInstanceCapacity this many times first.
    pub capacity_errors: u32,
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Handled(String),
    Failed(String),
    /// Killed by a crash fault between two port calls.
    Killed,
    /// The function's timeout ended it.
    TimedOut,
}

/// One invocation of the function.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub number: u64,
    pub at: DateTime<Utc>,
    pub label: String,
    pub attempt: u32,
    pub ending: Ending,
    /// The priority of the report it published (an incident's own report).
    pub reported: Option<crate::analyze::Priority>,
}

/// What one run did and what it broke.
#[derive(Debug, Clone)]
pub struct Run {
    pub seed: u64,
    pub story: Vec<String>,
    pub trace: Vec<String>,
    pub invocations: Vec<Invocation>,
    /// Events that ended in the failed-events queue after Lambda's retries.
    pub failed_events: Vec<String>,
    pub violations: Vec<String>,
    pub published: usize,
    pub mutations: usize,
    /// The first invocation's port calls, in order.
    pub first_calls: Vec<String>,
    /// What the run left behind, per instance: the messages naming it, its reboots, stops and starts, its state.
    pub instances: Vec<InstanceEnd>,
}

/// One instance at the end of a run.
#[derive(Debug, Clone)]
pub struct InstanceEnd {
    pub id: String,
    pub messages: usize,
    /// Priorities of the messages naming it, in order (`P0`, …; `-` for a message without one).
    pub priorities: Vec<String>,
    /// Subjects of the messages naming it, in order.
    pub subjects: Vec<String>,
    pub reboots: usize,
    pub stops: usize,
    pub starts: usize,
    /// Of the stops, those forced.
    pub forced: usize,
    /// Minutes from ec2ops's first stop to its last start (`None`: stopped and never started, or never stopped).
    pub stopped_for: Option<i64>,
    pub state: crate::model::InstanceState,
}

impl Run {
    /// The run as a failing seed prints it.
    pub fn explain(&self) -> String {
        let mut out = vec![format!(
            "seed {} broke {} promise(s):",
            self.seed,
            self.violations.len()
        )];
        out.extend(self.violations.iter().map(|v| format!("  ✗ {v}")));
        out.push("story:".into());
        out.extend(self.story.iter().map(|s| format!("  {s}")));
        out.push("trace:".into());
        out.extend(self.trace.iter().map(|s| format!("  {s}")));
        out.push(format!(
            "replay: EC2OPS_SIM_SEED={} cargo test -p ec2ops-tests --test sim -- --nocapture",
            self.seed
        ));
        out.join("\n")
    }
}

/// Run one seed to the end of its horizon on a fresh paused runtime.
pub fn run_seed(seed: u64, options: Options) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    match rt {
        Ok(rt) => rt.block_on(run(seed, options)),
        Err(e) => Run {
            seed,
            story: Vec::new(),
            trace: Vec::new(),
            invocations: Vec::new(),
            failed_events: Vec::new(),
            violations: vec![format!("no runtime: {e}")],
            published: 0,
            mutations: 0,
            first_calls: Vec::new(),
            instances: Vec::new(),
        },
    }
}

/// The simulated account of one run.
pub struct World {
    pub clock: Clock,
    pub ec2: Arc<Ec2World>,
    pub ledger: Arc<MemoryLedger>,
    pub recorder: Arc<Recorder>,
    pub scheduler: Arc<SimScheduler>,
    pub queue: Arc<SimQueue>,
    pub settings: Arc<Settings>,
    pub plan: Arc<FaultPlan>,
    /// The account's mute rules and change calendar in this run.
    pub silence: Arc<ports::SimSilence>,
}

impl World {
    /// The responder of one invocation: every port seen through the fault plan, with this invocation's death.
    fn responder(&self, kill: &Arc<Kill>, n: u64) -> Responder {
        let plan = &self.plan;
        let ledger = faulty_ledger(&self.ledger, plan, kill, n);
        let mut r = Responder::new(
            (*self.settings).clone(),
            Arc::new(Faulty::new(self.ec2.clone(), plan, kill, n, "ec2")),
            Arc::new(QuietMetrics),
        )
        .with_ledger(ledger)
        .with_actors(Actors {
            remediator: Arc::new(Faulty::new(self.ec2.clone(), plan, kill, n, "ec2")),
            scheduler: Some(Arc::new(Faulty::new(
                self.scheduler.clone(),
                plan,
                kill,
                n,
                "scheduler",
            ))),
            function_arn: Some(FUNCTION.into()),
        })
        .with_delivery(
            Arc::new(Faulty::new(self.recorder.clone(), plan, kill, n, "sns")),
            TOPIC,
        )
        .with_queue(Arc::new(Faulty::new(
            self.queue.clone(),
            plan,
            kill,
            n,
            "sqs",
        )))
        .with_silence(Arc::new(Faulty::new(
            self.silence.clone(),
            plan,
            kill,
            n,
            "silence",
        )));
        r.settings = self.settings.clone();
        r
    }
}

/// The in-memory ledger's three ports, each seen through the fault plan as invocation `n` (service `dynamodb`).
pub fn faulty_ledger(
    ledger: &Arc<MemoryLedger>,
    plan: &Arc<FaultPlan>,
    kill: &Arc<Kill>,
    n: u64,
) -> Ledger {
    Ledger {
        claims: Arc::new(Faulty::new(ledger.clone(), plan, kill, n, "dynamodb")),
        actions: Arc::new(Faulty::new(ledger.clone(), plan, kill, n, "dynamodb")),
        impairments: Arc::new(Faulty::new(ledger.clone(), plan, kill, n, "dynamodb")),
    }
}

/// The settings of a run: acting for real, English reports in UTC, the envelope's caps sometimes tight.
fn settings(rng: &mut Rng) -> Settings {
    let mut s = Settings {
        topic_arn: Some(TOPIC.into()),
        language: Language::En,
        time_zone: chrono_tz::UTC,
        remediation: RemediationMode::Auto,
        ledger_table: Some("ec2ops-sim".into()),
        scheduler_role_arn: Some("arn:aws:iam::123456789012:role/ec2ops-scheduler".into()),
        // Both silence sources on: every incident reads them, so every read meets the faults too.
        mute_rules: true,
        change_calendars: vec![ports::SIM_CALENDAR.into()],
        ..Settings::default()
    };
    if rng.chance(250) {
        s.envelope.hourly_cap = 1 + usize::try_from(rng.below(2)).unwrap_or(0);
    }
    s
}

/// An invocation waiting to happen.
#[derive(Debug, Clone)]
struct Due {
    event: Value,
    label: String,
    attempt: u32,
    /// A work-queue message (redelivered after the visibility timeout) rather than an asynchronous invocation
    /// (retried twice by Lambda).
    sqs: bool,
}

async fn run(seed: u64, options: Options) -> Run {
    let mut rng = Rng::new(seed);
    let start = DateTime::<Utc>::from_timestamp(1_772_323_200, 0).unwrap_or_default();
    let clock = Clock::new(start);
    let mut workload: Workload = workload::draw(&mut rng, start, options.scenario, options.only);
    if let Some(h) = options.hardware {
        for i in workload.instances.iter_mut().filter(|i| i.system_impaired) {
            i.stop_hangs = h.stop_hangs;
            i.forced_stop_hangs = h.forced_stop_hangs;
            i.capacity_errors = h.capacity_errors;
        }
    }
    let rates = if options.calm || !options.script.is_empty() {
        FaultRates::NONE
    } else {
        FaultRates::drawn(&mut rng)
    };
    let mut settings = settings(&mut rng);
    if options.only {
        settings.envelope = crate::config::Envelope::default();
    } else {
        settings.paging_topic_arn = Some(PAGING.into());
    }
    let settings = Arc::new(settings);
    // Drawn apart from the workload's numbers (a seed's scenarios stay what they were); never in a regression's one
    // story.
    let silence = if options.only {
        ports::SimSilence::default()
    } else {
        let mut s = Rng::new(seed ^ 0x5113_0000_0000_0001);
        ports::SimSilence {
            mute_every_alarm: s.chance(100),
            calendar_closed: s.chance(100),
        }
    };
    if silence.mute_every_alarm {
        workload.story.push(format!(
            "silence: every alarm muted by rule {}",
            ports::SIM_MUTE_RULE
        ));
    }
    if silence.calendar_closed {
        workload.story.push(format!(
            "silence: change calendar {} CLOSED",
            ports::SIM_CALENDAR
        ));
    }
    let world = World {
        clock,
        ec2: Arc::new(Ec2World::new(clock, workload.instances.clone())),
        ledger: Arc::new(MemoryLedger::default()),
        recorder: Arc::new(Recorder::new(clock)),
        scheduler: Arc::new(SimScheduler::default()),
        queue: Arc::new(SimQueue::default()),
        settings,
        silence: Arc::new(silence),
        plan: Arc::new(
            FaultPlan::new(Rng::new(rng.next_u64()), rates, clock)
                .with_script(options.script)
                .with_first_fault(
                    options
                        .kill_first_after
                        .map(|n| (n, faults::Fault::CrashAfter))
                        .or(options.first_fault),
                ),
        ),
    };
    let mut story = workload.story.clone();
    story.push(format!("faults per mille: {rates:?}"));
    let mut queue: BTreeMap<(DateTime<Utc>, u64), Due> = BTreeMap::new();
    let mut seq = 0u64;
    for a in &workload.arrivals {
        seq += 1;
        queue.insert(
            (start + a.after, seq),
            Due {
                event: a.event.clone(),
                label: a.label.clone(),
                attempt: 0,
                sqs: false,
            },
        );
    }
    let mut refail_steps = if story.iter().any(|s| s.starts_with("refail")) {
        vec![workload::REFAIL_CLEARS, workload::REFAIL_AGAIN]
    } else {
        Vec::new()
    };
    let mut running = tokio::task::JoinSet::new();
    let mut invocations = Vec::new();
    let mut failed_events = Vec::new();
    let mut number = 0u64;
    loop {
        for s in world.scheduler.take_new() {
            // Scheduler fires at the time or somewhat late, and (rarely) twice.
            let late = chrono::Duration::seconds(i64::try_from(rng.below(60)).unwrap_or(0));
            let copies = if rng.chance(50) { 2 } else { 1 };
            for c in 0..copies {
                seq += 1;
                queue.insert(
                    (
                        s.at.max(clock.now()) + late + chrono::Duration::seconds(c * 7),
                        seq,
                    ),
                    Due {
                        event: s.event.clone(),
                        label: format!("schedule {}", s.name),
                        attempt: 0,
                        sqs: false,
                    },
                );
            }
        }
        for m in world.queue.take_new() {
            seq += 1;
            let item = m
                .pointer("/detail/instance_id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            queue.insert(
                (clock.now() + chrono::Duration::seconds(1), seq),
                Due {
                    event: m,
                    label: format!("work-queue item {item}"),
                    attempt: 0,
                    sqs: true,
                },
            );
        }
        if let Some(step) = refail_steps.first().copied() {
            if clock.now() >= start + step {
                refail_steps.remove(0);
                let again = step == workload::REFAIL_AGAIN;
                for i in world.ec2.instances() {
                    if story
                        .iter()
                        .any(|s| s.starts_with(&format!("refail: {}", i.id)))
                    {
                        world.ec2.update(&i.id, |i| {
                            i.instance_impaired = again;
                            i.impaired_since = again.then(|| clock.now());
                        });
                    }
                }
                continue;
            }
        }
        let next = queue.keys().next().copied().map(|(t, _)| t);
        let wake = match (next, refail_steps.first()) {
            (Some(t), Some(s)) => Some(t.min(start + *s)),
            (Some(t), None) => Some(t),
            (None, Some(s)) => Some(start + *s),
            (None, None) => None,
        };
        if running.is_empty() && wake.is_none() {
            break;
        }
        if clock.now() > start + HORIZON {
            break;
        }
        tokio::select! {
            biased;
            Some(done) = running.join_next(), if !running.is_empty() => {
                let Ok((due, inv)): Result<(Due, Invocation), _> = done else { continue };
                let failed = !matches!(inv.ending, Ending::Handled(_));
                world.plan.note(format!("inv#{} {} → {:?}", inv.number, inv.label, inv.ending));
                invocations.push(inv);
                if failed && due.sqs {
                    // SQS: the message comes back after the visibility timeout, until its receives are spent.
                    if due.attempt + 1 < MAX_RECEIVES {
                        seq += 1;
                        queue.insert((clock.now() + VISIBILITY_TIMEOUT, seq), Due { attempt: due.attempt + 1, ..due });
                    } else {
                        failed_events.push(format!("{}: {}", due.label, due.event));
                    }
                } else if failed {
                    // Lambda's asynchronous retries: twice, a minute and two minutes later; then the failed-events queue.
                    if due.attempt < 2 {
                        seq += 1;
                        let after = chrono::Duration::minutes(i64::from(due.attempt) + 1);
                        queue.insert((clock.now() + after, seq), Due { attempt: due.attempt + 1, ..due });
                    } else {
                        failed_events.push(format!("{}: {}", due.label, due.event));
                    }
                }
            }
            _ = tokio::time::sleep_until(clock.instant_of(wake.unwrap_or(start + HORIZON))) => {
                let now = clock.now();
                let ready: Vec<(DateTime<Utc>, u64)> = queue.keys().copied().filter(|(t, _)| *t <= now).collect();
                for k in ready {
                    let Some(due) = queue.remove(&k) else { continue };
                    number += 1;
                    let kill = Arc::new(Kill::default());
                    let responder = world.responder(&kill, number);
                    let n = number;
                    world.plan.note(format!("inv#{n} starts: {} (attempt {})", due.label, due.attempt + 1));
                    running.spawn(async move {
                        let at = clock.now();
                        let (ending, reported) = invoke(&responder, &due.event, at, &kill).await;
                        let inv = Invocation { number: n, at, label: due.label.clone(), attempt: due.attempt, ending, reported };
                        (due, inv)
                    });
                }
            }
        }
    }
    let mut r = Run {
        seed,
        story,
        trace: Vec::new(),
        invocations,
        failed_events,
        violations: Vec::new(),
        published: world.recorder.published().len(),
        mutations: world.ec2.mutations().len(),
        first_calls: world.plan.first_calls(),
        instances: ends(&world),
    };
    r.violations = invariants::check(&world, &workload, &r);
    let left = invariants::in_progress(&world, &r);
    r.violations.extend(left);
    r.trace = world.plan.trace();
    r
}

fn ends(world: &World) -> Vec<InstanceEnd> {
    let published = world.recorder.published();
    let mutations = world.ec2.mutations();
    world
        .ec2
        .instances()
        .into_iter()
        .map(|i| {
            let named: Vec<_> = published
                .iter()
                .filter(|m| m.subject.contains(&i.id) || m.message.contains(&i.id))
                .collect();
            let count = |f: &dyn Fn(&ec2::MutationKind) -> bool| {
                mutations
                    .iter()
                    .filter(|m| m.instance_id == i.id && f(&m.kind))
                    .count()
            };
            InstanceEnd {
                id: i.id.clone(),
                messages: named.len(),
                priorities: named
                    .iter()
                    .map(|m| {
                        m.subject
                            .get(1..3)
                            .filter(|p| p.starts_with('P'))
                            .unwrap_or("-")
                            .to_string()
                    })
                    .collect(),
                subjects: named.iter().map(|m| m.subject.clone()).collect(),
                reboots: count(&|k| *k == ec2::MutationKind::Reboot),
                stops: count(&|k| matches!(k, ec2::MutationKind::Stop { .. })),
                starts: count(&|k| *k == ec2::MutationKind::Start),
                forced: count(&|k| *k == ec2::MutationKind::Stop { forced: true }),
                stopped_for: {
                    let own = || mutations.iter().filter(|m| m.instance_id == i.id);
                    let stop = own()
                        .filter(|m| matches!(m.kind, ec2::MutationKind::Stop { .. }))
                        .map(|m| m.at)
                        .min();
                    let start = own()
                        .filter(|m| m.kind == ec2::MutationKind::Start)
                        .map(|m| m.at)
                        .max();
                    stop.zip(start).map(|(a, b)| (b - a).num_minutes())
                },
                state: i.state(),
            }
        })
        .collect()
}

/// One invocation, as Lambda runs it: under the function's timeout, dead at once when a crash fault fires.
async fn invoke(
    responder: &Responder,
    event: &Value,
    now: DateTime<Utc>,
    kill: &Kill,
) -> (Ending, Option<crate::analyze::Priority>) {
    let budget = Budget::new(LAMBDA_TIMEOUT, now);
    let handled = tokio::time::timeout(LAMBDA_TIMEOUT, responder.respond(event, now, budget));
    tokio::select! {
        biased;
        () = kill.wait() => (Ending::Killed, None),
        r = handled => match r {
            Err(_) => (Ending::TimedOut, None),
            Ok(Ok(o)) => {
                let p = match &o {
                    Outcome::Reported(i) if i.message_id.is_some() => Some(i.assessment.priority),
                    _ => None,
                };
                (Ending::Handled(outcome_name(&o)), p)
            }
            Ok(Err(e)) => (Ending::Failed(failure_name(&e)), None),
        },
    }
}

fn outcome_name(o: &Outcome) -> String {
    match o {
        Outcome::Ignored { detail_type, .. } => format!("ignored ({detail_type})"),
        Outcome::Duplicate { .. } => "duplicate".into(),
        Outcome::Reported(i) => format!(
            "reported {} {}",
            i.assessment.priority.label(),
            if i.resumed { "(resumed)" } else { "" }
        ),
        Outcome::Covered { by, .. } => format!("covered by {by}"),
        Outcome::Swept { impaired, outcomes } => format!(
            "swept {impaired}: {}",
            outcomes
                .iter()
                .map(outcome_name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Outcome::Health { .. } => "health".into(),
        Outcome::FannedOut { enqueued, .. } => format!("fanned out {enqueued}"),
        Outcome::Verified { fixed, .. } => format!("verified (fixed {fixed})"),
        Outcome::Rechecked { picture, .. } => format!("rechecked: {picture}"),
        Outcome::Deferred { until, .. } => format!("deferred until {until}"),
        Outcome::Digest { .. } => "digest".into(),
        Outcome::Continued { step, state, .. } => format!("continued: {step} ({state:?})"),
        Outcome::Heartbeat { .. } => "heartbeat".into(),
        Outcome::Approval { step, .. } => format!("approval: {step}"),
    }
}

fn failure_name(e: &HandleError) -> String {
    e.to_string()
}
