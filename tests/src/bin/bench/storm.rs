//! Figure 5: a storm of duplicate and distinct alarm deliveries.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// 5. Storm

/// Launch `n` instances in one call (seeding one by one would take minutes in the emulator).
pub(super) async fn storm_instances(emu: &Emulator, n: usize) -> Result<Vec<String>, String> {
    use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
    let image = emu.image().await;
    let spec = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(Tag::builder().key("Name").value("storm").build())
        .tags(Tag::builder().key("Project").value("ec2ops-bench").build())
        .build();
    let count = i32::try_from(n).map_err(|_| "too many instances".to_string())?;
    let out = emu
        .ec2
        .run_instances()
        .image_id(image)
        .instance_type("t3.small".into())
        .min_count(count)
        .max_count(count)
        .tag_specifications(spec)
        .send()
        .await
        .map_err(|e| format!("run_instances: {e}"))?;
    Ok(out
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect())
}

#[derive(Default)]
pub(super) struct StormTally {
    reported: usize,
    duplicates: usize,
    errors: BTreeMap<String, usize>,
    panics: usize,
    with_gaps: usize,
    /// Reports missing each source, with one reason.
    gaps: BTreeMap<&'static str, (usize, String)>,
    /// Reports published per incident key.
    published: BTreeMap<String, usize>,
    /// Deliveries that found their incident in progress (delivered again after the storm).
    in_progress: usize,
}

// Stays long: one scenario read top to bottom — seed, run through the proxy, tally, verdict — whose steps share
// a dozen locals; split, each step would take them all as arguments.
pub(super) async fn storm_variant(
    o: &Options,
    emu: &Emulator,
    events: &[(String, serde_json::Value)],
    with_ledger: bool,
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
    // A topic without subscribers: the storm measures the responder, not SQS fan-out.
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
    let table_name = if with_ledger {
        Some(emu.ledger_table().await)
    } else {
        None
    };
    let config = config_for(proxy.url()).await;
    let mut handler = Handler::new(&config, &topic, table_name.as_deref());
    if with_ledger {
        // With a ledger the storm goes through the publish gate, and deferred incidents are flushed as digests by
        // one-time schedules (EventBridge Scheduler on the emulator), run below once the storm is over.
        if let Some(a) = &mut handler.responder.actors {
            a.scheduler = Some(Arc::new(ec2ops::aws::Scheduler::new(
                aws_sdk_scheduler::Client::new(&config),
                "arn:aws:iam::000000000000:role/ec2ops-scheduler",
            )));
        }
    }
    let handler = Arc::new(handler);
    let limit = Arc::new(tokio::sync::Semaphore::new(o.concurrency));
    let cpu_before = cpu_seconds();
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
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
            Ok((key, Ok(Outcome::Reported(i)))) => {
                t.reported += 1;
                let gaps = i.facts.gaps();
                // Without a ledger table the ledger is always missing: that is the configuration, not a failure.
                let real: Vec<_> = gaps.iter().filter(|(_, why)| *why != NO_LEDGER).collect();
                if !real.is_empty() {
                    t.with_gaps += 1;
                }
                for (name, why) in real {
                    let e = t.gaps.entry(name).or_insert((0, why.to_string()));
                    e.0 += 1;
                }
                if i.message_id.is_some() {
                    *t.published.entry(key).or_default() += 1;
                }
            }
            Ok((_, Ok(Outcome::Duplicate { .. }))) => t.duplicates += 1,
            // With a scheduler, a delivery that finds its incident in progress schedules its own redelivery.
            Ok((key, Ok(Outcome::Deferred { .. }))) => retries.push(key),
            Ok((_, Ok(other))) => {
                *t.errors
                    .entry(format!("unexpected outcome {other:?}"))
                    .or_default() += 1
            }
            // Another delivery held the incident: Lambda retries this one later (here: once the storm is over).
            Ok((key, Err(HandleError::InProgress { .. }))) => retries.push(key),
            Ok((_, Err(e))) => *t.errors.entry(e.to_string()).or_default() += 1,
        }
    }
    t.in_progress = retries.len();
    for key in retries {
        let Some((_, event)) = events.iter().find(|(k, _)| *k == key) else {
            continue;
        };
        match handler.handle(event).await {
            Ok(Outcome::Duplicate { .. }) => t.duplicates += 1,
            Ok(Outcome::Reported(i)) => {
                t.reported += 1;
                if i.message_id.is_some() {
                    *t.published.entry(key).or_default() += 1;
                }
            }
            Ok(other) => {
                *t.errors
                    .entry(format!("unexpected outcome {other:?}"))
                    .or_default() += 1
            }
            Err(e) => *t.errors.entry(e.to_string()).or_default() += 1,
        }
    }
    let digests = if with_ledger {
        flush_digests(emu, &handler).await
    } else {
        Ok((0, 0))
    };
    let wall = started.elapsed();
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(a), Some(b)) => format!(
            "; this process (pipeline, SDK and proxy) used {:.1} s CPU = {:.1} ms per event",
            b - a,
            (b - a) * 1e3 / events.len() as f64
        ),
        _ => String::new(),
    };
    let label = if with_ledger {
        "with DynamoDB ledger"
    } else {
        "no ledger"
    };
    let handled = t.reported + t.duplicates;
    let distinct: std::collections::BTreeSet<&String> = events.iter().map(|(k, _)| k).collect();
    let mut per_key: BTreeMap<usize, usize> = BTreeMap::new();
    for k in &distinct {
        *per_key
            .entry(t.published.get(*k).copied().unwrap_or(0))
            .or_default() += 1;
    }
    let spread = per_key
        .iter()
        .map(|(reports, keys)| format!("{keys} keys × {reports}"))
        .collect::<Vec<_>>()
        .join(", ");
    let published: usize = t.published.values().sum();
    let in_digests = digests.as_ref().map_or(0, |(_, listed)| *listed);
    let secs = wall.as_secs_f64();
    table.fact(
        &format!("5. storm wall time, {} events / {} instances, concurrency {} ({label})", events.len(), o.storm_instances, o.concurrency),
        format!("{secs:.1} s"),
        "all handled, no panic",
        verdict(
            handled == events.len() && t.panics == 0,
            format!(
                "{handled} handled ({} reported, {} duplicate, of which {} found the incident in progress and were delivered again afterwards, as Lambda retries them), {} failed, {} panics, {:.1} events/s, {} AWS requests{cpu}",
                t.reported,
                t.duplicates,
                t.in_progress,
                t.errors.values().sum::<usize>(),
                t.panics,
                events.len() as f64 / secs,
                proxy.total_requests()
            ),
        ),
    );
    table.fact(
        &format!("5. storm reports published per distinct incident key ({label})"),
        format!(
            "{:.2}",
            (published + in_digests) as f64 / distinct.len().max(1) as f64
        ),
        "1 (on its own or in a digest)",
        verdict(
            per_key.keys().all(|n| *n <= 1)
                && per_key.get(&0).copied().unwrap_or(0) == in_digests,
            format!(
                "{published} reports for {} keys: {spread}; {in_digests} listed in digests; {} reports with a gap",
                distinct.len(),
                t.with_gaps
            ),
        ),
    );
    // Publishes per UTC second (the gate's seconds), as the emulator received them.
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for span in proxy
        .timeline()
        .iter()
        .filter(|s| s.service == "sns" && s.operation == "Publish")
    {
        let since = span.start.saturating_duration_since(clock.0);
        let wall = clock.1 + chrono::Duration::from_std(since).unwrap_or_default();
        *per_second.entry(wall.timestamp()).or_default() += 1;
    }
    let highest = per_second.values().copied().max().unwrap_or(0);
    let gate = ec2ops::config::DEFAULT_PER_SECOND as usize;
    table.fact(
        &format!("5. storm highest publishes in one second ({label})"),
        highest.to_string(),
        &format!("≤ {gate} with a ledger (the gate)"),
        verdict(
            !with_ledger || highest <= gate,
            match &digests {
                Ok((n, listed)) => format!(
                    "{} publishes in all; {n} digest(s) listing {listed} incident(s)",
                    per_second.values().sum::<usize>()
                ),
                Err(e) => format!("digests not flushed: {e}"),
            },
        ),
    );
    for (e, n) in &t.errors {
        table.notes.push(format!("storm ({label}): {n} × {e}"));
    }
    // Where the time went: how long the emulator took per operation, as the proxy saw it (a call the handler gave
    // up on ends when its connection closed, at the source deadline).
    let mut spans: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for span in proxy.timeline() {
        spans
            .entry(format!("{} {}", span.service, span.operation))
            .or_default()
            .push(span.end.saturating_duration_since(span.start).as_secs_f64() * 1e3);
    }
    let slowest = spans
        .iter()
        .filter_map(|(op, v)| stats(v).map(|s| (op, s)))
        .map(|(op, s)| format!("{op} {:.0} ms (max {:.0})", s.median, s.max))
        .collect::<Vec<_>>()
        .join(", ");
    table.notes.push(format!(
        "storm ({label}): emulator answer time per operation, median: {slowest}"
    ));
    for (name, (n, why)) in &t.gaps {
        table.notes.push(format!(
            "storm ({label}): {n} reports without {name}, e.g. {why}"
        ));
    }
    Ok(())
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
        if let Ok(Outcome::Digest {
            incidents,
            message_id: Some(_),
            already: false,
            ..
        }) = handler.handle(&event).await
        {
            digests += 1;
            listed += incidents;
        }
    }
    Ok((digests, listed))
}

/// The sample event as the alarm of `instance`'s own: in a fleet every instance has its own CPU alarm, and the
/// alarm (its ARN) is part of the incident key.
pub(super) fn alarm_of(mut event: serde_json::Value, instance: &str) -> serde_json::Value {
    let name = format!("EC2-HighCPU-{instance}");
    let arn = format!(
        "arn:aws:cloudwatch:{}:123456789012:alarm:{name}",
        ec2ops_tests::REGION
    );
    event["detail"]["alarmName"] = serde_json::Value::String(name);
    event["resources"] = serde_json::json!([arn]);
    event
}

pub(super) async fn storm(o: &Options, emu: &Emulator, table: &mut Table) {
    log(format!(
        "storm: {} events for {} instances, concurrency {}",
        o.storm_events, o.storm_instances, o.concurrency
    ));
    let instances = match storm_instances(emu, o.storm_instances).await {
        Ok(i) if !i.is_empty() => i,
        Ok(_) => {
            table
                .notes
                .push("storm: the emulator launched no instance".into());
            return;
        }
        Err(e) => {
            table.notes.push(format!("storm: {e}"));
            return;
        }
    };
    // Per instance: incident A delivered 3 times and incident B (a later transition) twice — EventBridge delivers at
    // least once, and Lambda retries — cycling until the event count is reached.
    let at = ec2ops_tests::now_minute() + chrono::Duration::milliseconds(28_989);
    let deliveries = [(0i64, 0usize), (0, 1), (0, 2), (1, 0), (1, 1)];
    let mut events = Vec::with_capacity(o.storm_events);
    'fill: for round in 0.. {
        for id in &instances {
            for (incident, _copy) in deliveries {
                if events.len() >= o.storm_events {
                    break 'fill;
                }
                // Later rounds (more events than 5 per instance) are new incidents, not more duplicates.
                let shift =
                    chrono::Duration::seconds(incident) + chrono::Duration::milliseconds(round);
                let event = alarm_of(event_for("cpu-spike.json", id, at + shift), id);
                let key = match ec2ops::event::parse(&event) {
                    Ok(ec2ops::event::Parsed::Alarm(c)) => c.incident_key(),
                    _ => format!("{id}#{incident}#{round}"),
                };
                events.push((key, event));
            }
        }
    }
    if let Err(e) = storm_variant(o, emu, &events, false, table).await {
        table.notes.push(format!("storm: {e}"));
    }
    if o.ledger {
        if ledger_reachable().await {
            if let Err(e) = storm_variant(o, emu, &events, true, table).await {
                table.notes.push(format!("storm with ledger: {e}"));
            }
        } else {
            table.notes.push(format!(
                "storm with ledger: DynamoDB (moto) not reachable at {}",
                dynamodb_endpoint()
            ));
        }
    }
}
