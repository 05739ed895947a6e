//! Figure 5: a storm — 1,000 EventBridge deliveries for 200 instances in 3 AZs: 50 instances of one AZ failing their
//! status checks together (each its own alarm, delivered twice), CPU alarms on every instance (a second transition on
//! half of them), every CPU incident delivered three times. Run through the counting proxy with the ledger, the
//! publish gate, digests flushed by their schedules and the incident log, as the function runs them.

use super::*;
use ec2ops::ports::{AwsError, ReportPublisher};
use ec2ops_tests::rig::Status;

mod rates;
use rates::*;

/// The storm's shape (the scenario; `--storm-events` / `--storm-instances` scale the CPU part).
const AZS: [&str; 3] = ["ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c"];
/// Instances of the first AZ whose instance status check fails in the same minute.
const IMPAIRED: usize = 50;
const STATUS_COPIES: usize = 2;
const CPU_COPIES: usize = 3;

/// Launch `n` instances spread over [`AZS`], one RunInstances call per AZ (seeding one by one would take minutes in
/// the emulator). The first AZ's instances come first.
pub(super) async fn storm_instances(emu: &Emulator, n: usize) -> Result<Vec<String>, String> {
    use aws_sdk_ec2::types::{Placement, ResourceType, Tag, TagSpecification};
    let image = emu.image().await;
    let mut ids = Vec::with_capacity(n);
    for (i, az) in AZS.iter().enumerate() {
        // 200 → 67, 67, 66.
        let count = n / AZS.len() + usize::from(i < n % AZS.len());
        if count == 0 {
            continue;
        }
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .tags(
                Tag::builder()
                    .key("Name")
                    .value(format!("storm-{az}"))
                    .build(),
            )
            .tags(Tag::builder().key("Project").value("ec2ops-bench").build())
            .build();
        let count = i32::try_from(count).map_err(|_| "too many instances".to_string())?;
        let out = emu
            .ec2
            .run_instances()
            .image_id(&image)
            .instance_type("t3.small".into())
            .placement(Placement::builder().availability_zone(*az).build())
            .min_count(count)
            .max_count(count)
            .tag_specifications(spec)
            .send()
            .await
            .map_err(|e| format!("run_instances in {az}: {e}"))?;
        ids.extend(
            out.instances()
                .iter()
                .filter_map(|i| i.instance_id().map(str::to_string)),
        );
    }
    Ok(ids)
}

/// The alarm of `instance`'s own (`name`): in a fleet every instance has its own alarms, and the alarm (its ARN) is
/// part of the incident key.
fn own_alarm(mut event: serde_json::Value, name: &str) -> serde_json::Value {
    let arn = format!(
        "arn:aws:cloudwatch:{}:123456789012:alarm:{name}",
        ec2ops_tests::REGION
    );
    event["detail"]["alarmName"] = serde_json::Value::String(name.to_string());
    event["resources"] = serde_json::json!([arn]);
    event
}

/// The sample CPU event as the alarm of `instance`'s own.
pub(super) fn alarm_of(event: serde_json::Value, instance: &str) -> serde_json::Value {
    own_alarm(event, &format!("EC2-HighCPU-{instance}"))
}

fn key_of(event: &serde_json::Value) -> Option<String> {
    match ec2ops::event::parse(event) {
        Ok(ec2ops::event::Parsed::Alarm(c)) => Some(c.incident_key()),
        _ => None,
    }
}

/// The storm's deliveries, in arrival order: the 50 status-check alarms (twice each) interleaved with the first CPU
/// alarms, so that they arrive together, then the rest of the CPU alarms. `(incident key, event)`.
fn storm_events(
    instances: &[String],
    impaired: &[String],
    cpu_events: usize,
    at: DateTime<Utc>,
) -> Vec<(String, serde_json::Value)> {
    let mut status = Vec::new();
    for id in impaired {
        let event = own_alarm(
            event_for("status-instance.json", id, at),
            &format!("EC2-StatusCheck-{id}"),
        );
        if let Some(key) = key_of(&event) {
            for _ in 0..STATUS_COPIES {
                status.push((key.clone(), event.clone()));
            }
        }
    }
    // CPU: incident A on every instance, then incident B (a later transition) — each delivered three times —
    // cycling until the count is reached.
    let mut cpu = Vec::with_capacity(cpu_events);
    'fill: for incident in 0i64.. {
        for id in instances {
            let shift = chrono::Duration::seconds(incident);
            let event = alarm_of(event_for("cpu-spike.json", id, at + shift), id);
            let Some(key) = key_of(&event) else { continue };
            for _ in 0..CPU_COPIES {
                if cpu.len() >= cpu_events {
                    break 'fill;
                }
                cpu.push((key.clone(), event.clone()));
            }
        }
    }
    let mut events = Vec::with_capacity(status.len() + cpu.len());
    let mut cpu = cpu.into_iter();
    for s in status {
        events.push(s);
        events.extend(cpu.next());
    }
    events.extend(cpu);
    events
}

/// Records every message the responder publishes (and publishes it on the emulator's SNS).
struct Recording {
    inner: Arc<dyn ReportPublisher>,
    /// The UTC second each publish started (as the gate counts), and the message.
    sent: std::sync::Mutex<Vec<(i64, ec2ops::message::SnsMessage)>>,
}

#[async_trait::async_trait]
impl ReportPublisher for Recording {
    async fn publish(
        &self,
        topic: &str,
        m: &ec2ops::message::SnsMessage,
    ) -> Result<String, AwsError> {
        let started = Utc::now().timestamp();
        let id = self.inner.publish(topic, m).await?;
        if let Ok(mut sent) = self.sent.lock() {
            sent.push((started, m.clone()));
        }
        Ok(id)
    }
}

#[derive(Default)]
pub(super) struct StormTally {
    reported: usize,
    covered: usize,
    duplicates: usize,
    errors: BTreeMap<String, usize>,
    panics: usize,
    /// Deliveries that found their incident in progress (delivered again after the storm, as Lambda would).
    in_progress: usize,
}

impl StormTally {
    fn count(
        &mut self,
        result: Result<Outcome, HandleError>,
        retries: &mut Vec<String>,
        key: String,
    ) {
        match result {
            Ok(Outcome::Reported(_)) => self.reported += 1,
            Ok(Outcome::Covered { .. }) => self.covered += 1,
            Ok(Outcome::Duplicate { .. }) => self.duplicates += 1,
            // With a scheduler, a delivery that finds its incident in progress schedules its own redelivery; here
            // it is delivered again once the storm is over.
            Ok(Outcome::Deferred { .. }) | Err(HandleError::InProgress { .. }) => retries.push(key),
            Ok(other) => {
                *self
                    .errors
                    .entry(format!("unexpected outcome {other:?}"))
                    .or_default() += 1
            }
            Err(e) => *self.errors.entry(e.to_string()).or_default() += 1,
        }
    }
}

// Stays long: one scenario read top to bottom — seed, run through the proxy, tally, verdict — whose steps share
// a dozen locals; split, each step would take them all as arguments.
pub(super) async fn storm_run(
    o: &Options,
    emu: &Emulator,
    instances: &[String],
    events: &[(String, serde_json::Value)],
    impaired: &[String],
    table: &mut Table,
) -> Result<(), String> {
    let proxy = Proxy::start(&endpoint())
        .await
        .map_err(|e| format!("proxy: {e}"))?;
    // The proxy's spans are on the monotonic clock: this pair maps them to UTC seconds.
    let clock = (Instant::now(), Utc::now());
    proxy
        .route("dynamodb", &dynamodb_endpoint())
        .map_err(|e| format!("proxy route: {e}"))?;
    // A topic without subscribers: the storm measures the responder, not SQS fan-out. Every subscription of a topic
    // receives every message, so publishes per second are what each email subscription would receive.
    let topic = emu
        .sns
        .create_topic()
        .name(format!("bench-storm-{}", Utc::now().timestamp_millis()))
        .send()
        .await
        .map_err(|e| format!("create_topic: {e}"))?
        .topic_arn()
        .unwrap_or_default()
        .to_string();
    let table_name = emu.ledger_table().await;
    // The function's own SDK settings (timeouts, adaptive retries) on the proxy's endpoint.
    let config = config_for(proxy.url())
        .await
        .into_builder()
        .timeout_config(ec2ops_aws::timeouts())
        .retry_config(ec2ops_aws::retries())
        .build();
    let mut handler = Handler::new(&config, &topic, Some(&table_name));
    // Status checks: the emulator cannot impair an instance, so the status read is the tests' seam over the real
    // EC2 reader (every other EC2 call is the emulator's, through the proxy).
    let status = Arc::new(Status::new(ec2ops_aws::Ec2Reader::new(
        aws_sdk_ec2::Client::new(&config),
    )));
    for id in impaired {
        status.impair(id, "StatusCheckFailed_Instance");
    }
    handler.responder.ec2 = status;
    // Deferred incidents are flushed as digests by one-time schedules (EventBridge Scheduler on the emulator), run
    // below once the storm is over, as Scheduler would run them.
    if let Some(a) = &mut handler.responder.actors {
        a.scheduler = Some(Arc::new(ec2ops_aws::Scheduler::new(
            aws_sdk_scheduler::Client::new(&config),
            "arn:aws:iam::000000000000:role/ec2ops-scheduler",
        )));
    }
    let recording = handler.responder.delivery.as_mut().map(|d| {
        let r = Arc::new(Recording {
            inner: d.publisher.clone(),
            sent: std::sync::Mutex::new(Vec::new()),
        });
        d.publisher = r.clone();
        r
    });
    let handler = Arc::new(handler);
    let limit = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    let cpu_before = cpu_seconds();
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let since = Utc::now() - chrono::Duration::seconds(5);
    for (key, event) in events.iter().cloned() {
        let handler = handler.clone();
        let limit = limit.clone();
        tasks.spawn(async move {
            // Closed only if the semaphore is dropped, which it is not while tasks run.
            let _permit = limit.acquire_owned().await.ok();
            (key, handler.handle(&event).await)
        });
    }
    let mut t = StormTally::default();
    let mut retries: Vec<String> = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Err(e) if e.is_panic() => t.panics += 1,
            Err(_) => *t.errors.entry("task cancelled".into()).or_default() += 1,
            Ok((key, result)) => t.count(result, &mut retries, key),
        }
    }
    t.in_progress = retries.len();
    let mut again = Vec::new();
    for key in retries {
        let Some((_, event)) = events.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        t.count(handler.handle(event).await, &mut again, key);
    }
    for key in again {
        *t.errors
            .entry(format!("{key}: still in progress when delivered again"))
            .or_default() += 1;
    }
    let digests = flush_digests(emu, &handler).await;
    let wall = started.elapsed();
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(a), Some(b)) => format!(
            "; this process (pipeline, SDK and proxy) used {:.1} s CPU = {:.1} ms per event",
            b - a,
            (b - a) * 1e3 / events.len() as f64
        ),
        _ => String::new(),
    };
    let handled = t.reported + t.covered + t.duplicates;
    let distinct: std::collections::BTreeSet<&String> = events.iter().map(|(k, _)| k).collect();
    let secs = wall.as_secs_f64();
    table.fact(
        &format!(
            "5. storm wall time, {} events / {} instances in {} AZs ({IMPAIRED} failing status checks in one), concurrency {}",
            events.len(),
            instances.len(),
            AZS.len(),
            o.concurrency
        ),
        format!("{secs:.1} s"),
        "all handled, no panic",
        verdict(
            handled == events.len() && t.panics == 0,
            format!(
                "{handled} handled ({} reported, {} covered by an AZ report, {} duplicate, of which {} found the incident in progress and were delivered again afterwards, as Lambda retries them), {} failed, {} panics, {:.1} events/s, {} AWS requests{cpu}",
                t.reported,
                t.covered,
                t.duplicates,
                t.in_progress,
                t.errors.values().sum::<usize>(),
                t.panics,
                events.len() as f64 / secs,
                proxy.total_requests()
            ),
        ),
    );

    // Recorded exactly once: the incident log against the distinct keys.
    let log = ec2ops_aws::DynamoStorm::new(emu.dynamodb.clone(), table_name.clone());
    let logged =
        ec2ops::storm::IncidentLog::list(&log, since, Utc::now() + chrono::Duration::seconds(5))
            .await
            .map_err(|e| format!("incident log: {e}"))?;
    let mut times: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &logged {
        *times.entry(l.incident_key.as_str()).or_default() += 1;
    }
    let once = distinct
        .iter()
        .filter(|k| times.get(k.as_str()) == Some(&1))
        .count();
    let strays = times
        .keys()
        .filter(|k| !distinct.iter().any(|d| d == *k))
        .count();
    table.fact(
        "5. storm incidents recorded vs distinct incident keys",
        format!("{} / {}", logged.len(), distinct.len()),
        "equal, each once",
        verdict(
            logged.len() == distinct.len() && once == distinct.len() && strays == 0,
            format!(
                "{once} keys recorded exactly once, {} never, {strays} not of this storm; {} published on their own, {} listed in a digest, {} covered by the AZ report",
                distinct.len() - once.min(distinct.len()),
                logged.iter().filter(|l| l.message_id.is_some()).count(),
                logged.iter().filter(|l| l.digest.is_some()).count(),
                logged.iter().filter(|l| l.action.starts_with("covered by")).count(),
            ),
        ),
    );

    let sent = recording
        .map(|r| r.sent.lock().map(|s| s.clone()).unwrap_or_default())
        .unwrap_or_default();
    let digest_texts: Vec<(&str, &str)> = sent
        .iter()
        .filter(|(_, m)| m.message.contains("ec2ops-digest#"))
        .map(|(_, m)| (m.subject.as_str(), m.message.as_str()))
        .collect();
    let az_reports = sent
        .iter()
        .filter(|(_, m)| m.subject.contains("AZ-wide"))
        .count();
    let (flushed, listed) = digests.as_ref().copied().unwrap_or((0, 0));
    table.fact(
        "5. storm messages published (reports + digests)",
        sent.len().to_string(),
        &format!("≤ {} (one per incident at most)", distinct.len()),
        verdict(
            sent.len() <= distinct.len() && digests.is_ok(),
            format!(
                "{} reports on their own (of which {az_reports} AZ-wide), {flushed} digest(s) listing {listed} incident(s){}",
                sent.len() - digest_texts.len(),
                digests
                    .as_ref()
                    .err()
                    .map(|e| format!("; digests not flushed: {e}"))
                    .unwrap_or_default()
            ),
        ),
    );
    p0_in_digests(&logged, &digest_texts, table);
    publish_rate(&proxy, clock, &sent, table);
    api_rates(&proxy, clock, wall, table);
    for (e, n) in &t.errors {
        table.notes.push(format!("storm: {n} × {e}"));
    }
    Ok(())
}

/// Every P0 deferred to a digest is listed in its window's one message, whose subject leads with `[P0]` (digests
/// order their groups with P0s first, and P0s first within each group).
fn p0_in_digests(
    logged: &[ec2ops::storm::LoggedIncident],
    digests: &[(&str, &str)],
    table: &mut Table,
) {
    let p0: Vec<_> = logged.iter().filter(|l| l.priority == "P0").collect();
    let deferred: Vec<_> = p0.iter().filter(|l| l.digest.is_some()).collect();
    let misplaced = deferred
        .iter()
        .filter(|l| {
            let quoted = format!("ec2ops incidents show '{}'", l.incident_key);
            !digests
                .iter()
                .any(|(subject, text)| subject.starts_with("[P0]") && text.contains(&quoted))
        })
        .count();
    table.fact(
        "5. storm P0 incidents in the first message a reader opens",
        format!("{} P0", p0.len()),
        "every P0 published on its own or in its window's digest, whose subject leads with [P0]",
        verdict(
            misplaced == 0,
            format!(
                "{} published on their own, {} in a digest ({misplaced} missing from a [P0] digest), {} covered by the AZ report",
                p0.iter().filter(|l| l.message_id.is_some()).count(),
                deferred.len(),
                p0.iter().filter(|l| l.action.starts_with("covered by")).count()
            ),
        ),
    );
}

/// Run every digest flush the storm scheduled for the bench's function (each once, as EventBridge Scheduler would):
/// how many digests were published, and how many incidents they listed.
async fn flush_digests(emu: &Emulator, handler: &Handler) -> Result<(usize, usize), String> {
    let list = emu
        .scheduler
        .list_schedules()
        .name_prefix("ec2ops-digest-")
        .send()
        .await
        .map_err(|e| format!("list_schedules: {e}"))?;
    let (mut digests, mut listed) = (0, 0);
    for s in list.schedules() {
        let Some(name) = s.name() else { continue };
        let got = emu
            .scheduler
            .get_schedule()
            .name(name)
            .send()
            .await
            .map_err(|e| format!("get_schedule: {e}"))?;
        if got.target().map(|t| t.arn()) != Some(FUNCTION_ARN) {
            continue;
        }
        let Some(event) = got
            .target()
            .and_then(|t| t.input())
            .and_then(|i| serde_json::from_str::<serde_json::Value>(i).ok())
        else {
            continue;
        };
        match handler.handle(&event).await {
            Ok(Outcome::Digest {
                incidents,
                message_id: Some(_),
                already: false,
                ..
            }) => {
                digests += 1;
                listed += incidents;
            }
            Ok(_) => {}
            Err(e) => return Err(format!("flush {name}: {e}")),
        }
    }
    Ok((digests, listed))
}

pub(super) async fn storm(o: &Options, emu: &Emulator, table: &mut Table) {
    if !ledger_reachable().await {
        table.notes.push(format!(
            "storm: DynamoDB (moto) not reachable at {}: the storm needs the ledger (gate, digests, log)",
            dynamodb_endpoint()
        ));
        return;
    }
    log(format!(
        "storm: {} events for {} instances in {} AZs, concurrency {}",
        o.storm_events,
        o.storm_instances,
        AZS.len(),
        o.concurrency
    ));
    let instances = match storm_instances(emu, o.storm_instances).await {
        Ok(i) if i.len() > IMPAIRED => i,
        Ok(i) => {
            table.notes.push(format!(
                "storm: the emulator launched {} instances, {IMPAIRED} needed",
                i.len()
            ));
            return;
        }
        Err(e) => {
            table.notes.push(format!("storm: {e}"));
            return;
        }
    };
    // The first AZ's instances come first: its first 50 fail their checks.
    let impaired: Vec<String> = instances.iter().take(IMPAIRED).cloned().collect();
    let at = ec2ops_tests::now_minute() + chrono::Duration::milliseconds(28_989);
    let cpu_events = o
        .storm_events
        .saturating_sub(IMPAIRED * STATUS_COPIES)
        .max(1);
    let events = storm_events(&instances, &impaired, cpu_events, at);
    if let Err(e) = storm_run(o, emu, &instances, &events, &impaired, table).await {
        table.notes.push(format!("storm: {e}"));
    }
}
