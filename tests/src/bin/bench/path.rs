//! Figure 2: the critical path — round trips and AWS requests per incident through the latency proxy.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// The handler as the Lambda function builds it (functions/responder/src/main.rs), for in-process runs.

pub(super) struct Handler {
    pub(super) responder: Responder,
    config: aws_config::SdkConfig,
    settings: Settings,
}

impl Handler {
    pub(super) fn new(
        config: &aws_config::SdkConfig,
        topic: &str,
        ledger_table: Option<&str>,
    ) -> Handler {
        let settings = Settings {
            topic_arn: Some(topic.to_string()),
            ledger_table: ledger_table.map(str::to_string),
            ..Settings::default()
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let responder =
            ec2ops_tests::responder(config, &dynamodb, &settings).with_function_arn(FUNCTION_ARN);
        Handler {
            responder,
            config: config.clone(),
            settings,
        }
    }

    /// With the evidence sources wired as the function wires them, reading one log group.
    pub(super) fn with_evidence(self) -> Handler {
        let settings = Settings {
            log_groups: vec![BENCH_LOG_GROUP.to_string()],
            ..self.settings
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.config);
        let responder = ec2ops_tests::responder_with_evidence(&self.config, &dynamodb, &settings)
            .with_function_arn(FUNCTION_ARN);
        Handler {
            responder,
            config: self.config,
            settings,
        }
    }

    pub(super) async fn handle(&self, event: &serde_json::Value) -> Result<Outcome, HandleError> {
        respond_now(&self.responder, event).await
    }
}

/// Whether moto (DynamoDB) answers, so the ledger can be measured.
pub(super) async fn ledger_reachable() -> bool {
    let url = dynamodb_endpoint();
    let hostport = url.trim_start_matches("http://").to_string();
    tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(hostport),
    )
    .await
    .is_ok_and(|r| r.is_ok())
}

// ---------------------------------------------------------------------------------------------------------------
// 2. Critical path depth

/// The log group the critical-path runs read (absent: one FilterLogEvents answered "not found").
pub(super) const BENCH_LOG_GROUP: &str = "/ec2ops-bench/app";

/// The recorded LookupEvents answer the CloudTrail stub serves.
pub(super) fn recorded_lookup() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/fixtures/cloudtrail/prod-api-1-resize.json"
    ))
    .unwrap_or_else(|_| r#"{"Events":[]}"#.into())
}

pub(super) struct PathRun {
    elapsed: Duration,
    requests: BTreeMap<(String, String), u64>,
    metrics_requested: Option<usize>,
}

// Stays long: one scenario read top to bottom — seed, run through the proxy, tally, verdict — whose steps share
// a dozen locals; split, each step would take them all as arguments.
pub(super) async fn critical_path_variant(
    o: &Options,
    emu: &Emulator,
    instance: &str,
    at: DateTime<Utc>,
    with_ledger: bool,
    table: &mut Table,
) -> Result<(), String> {
    let proxy = Proxy::start(&endpoint())
        .await
        .map_err(|e| format!("proxy: {e}"))?;
    // DynamoDB is moto's, on its own port: the proxy routes it there so its calls are counted and delayed too.
    proxy
        .route("dynamodb", &dynamodb_endpoint())
        .map_err(|e| format!("proxy route: {e}"))?;
    // CloudTrail LookupEvents, which the emulators do not serve: a recorded answer on loopback. CloudWatch Logs: moto.
    let (trail, _) = ec2ops_tests::stub::stub(200, recorded_lookup()).await;
    proxy
        .route("cloudtrail", &trail)
        .map_err(|e| format!("proxy route: {e}"))?;
    proxy
        .route("logs", &dynamodb_endpoint())
        .map_err(|e| format!("proxy route: {e}"))?;
    let (topic, _queue) = emu.topic_with_queue("bench-path").await;
    let table_name = if with_ledger {
        Some(emu.ledger_table().await)
    } else {
        None
    };
    let config = config_for(proxy.url()).await;
    let handler = Handler::new(&config, &topic, table_name.as_deref()).with_evidence();

    let label = if with_ledger {
        "with DynamoDB ledger"
    } else {
        "no ledger"
    };
    // Each run is a distinct incident (the transition shifted by a millisecond), so a ledger never sees a duplicate.
    let mut k = 0i64;
    let mut next_event = || {
        k += 1;
        event_for(
            "cpu-spike.json",
            instance,
            at + chrono::Duration::milliseconds(k),
        )
    };
    // Warm-up: connections, credentials, first-call costs in the emulator.
    let _ = handler.handle(&next_event()).await;

    let mut by_latency: BTreeMap<u64, Vec<f64>> = BTreeMap::new();
    let mut chains: Vec<f64> = Vec::new();
    let mut to_publish: Vec<f64> = Vec::new();
    let mut last: Option<PathRun> = None;
    for _ in 0..o.path_runs {
        for latency_ms in [0u64, 50] {
            proxy.set_latency(Duration::from_millis(latency_ms));
            proxy.reset_counts();
            let event = next_event();
            let started = Instant::now();
            let outcome = handler.handle(&event).await;
            let elapsed = started.elapsed();
            let metrics_requested = match &outcome {
                Ok(Outcome::Reported(i)) => i.facts.metrics.get().map(|w| w.metrics_requested),
                Ok(other) => return Err(format!("{label}: not reported: {other:?}")),
                Err(e) => return Err(format!("{label}: {e}")),
            };
            by_latency
                .entry(latency_ms)
                .or_default()
                .push(elapsed.as_secs_f64() * 1e3);
            if latency_ms == 50 {
                let timeline = proxy.timeline();
                chains.push(sequential_depth(&timeline) as f64);
                // Up to the report: the requests that began before the Publish ended (the completion record
                // written after it is not on the report's path).
                if let Some(publish) = timeline.iter().find(|s| s.operation == "Publish") {
                    let before: Vec<_> = timeline
                        .iter()
                        .filter(|s| s.start < publish.end)
                        .cloned()
                        .collect();
                    to_publish.push(sequential_depth(&before) as f64);
                }
            }
            if latency_ms == 0 {
                last = Some(PathRun {
                    elapsed,
                    requests: proxy.operations(),
                    metrics_requested,
                });
            }
        }
    }
    let s0 = stats(by_latency.get(&0).map(Vec::as_slice).unwrap_or_default());
    let s50 = stats(by_latency.get(&50).map(Vec::as_slice).unwrap_or_default());
    table.timed(
        &format!("2. handler time at L = 0 ({label})"),
        s0,
        "ms",
        "–",
        "through the proxy".into(),
    );
    table.timed(
        &format!("2. handler time at L = 50 ms ({label})"),
        s50,
        "ms",
        "–",
        "every AWS call +50 ms".into(),
    );
    // With the ledger, the incident record is completed after the publish: one more round trip for the handler,
    // none for the report (the row "until the report is published").
    let (whole, whole_target) = if label.starts_with("with") {
        (4.0, "≤ 4 (3 + the completion record)")
    } else {
        (3.0, "≤ 3")
    };
    if let (Some(a), Some(b)) = (s0, s50) {
        let depth = (b.median - a.median) / 50.0;
        // Per-pair spread: the same figure from the fastest and slowest runs.
        let lo = (b.min - a.max) / 50.0;
        let hi = (b.max - a.min) / 50.0;
        table.row(
            &format!("2. critical path depth = (t50 − t0) / 50 ms ({label})"),
            format!("{depth:.2} round trips"),
            format!("{:.1} – {:.1}", lo.max(0.0), hi),
            a.n,
            whole_target,
            verdict(depth <= whole + 0.25, format!("{depth:.2}")),
        );
    }
    if let Some(c) = stats(&to_publish) {
        table.row(
            &format!("2. round trips until the report is published, at L = 50 ms ({label})"),
            format!("{:.0} round trips", c.median),
            format!("{:.0} – {:.0}", c.min, c.max),
            c.n,
            "≤ 3",
            verdict(c.median <= 3.0, format!("{:.0}", c.median)),
        );
    }
    let chain = stats(&chains);
    table.row(
        &format!("2. critical path depth from the proxy's timeline at L = 50 ms ({label})"),
        chain.map_or("unavailable".into(), |c| {
            format!("{:.0} round trips", c.median)
        }),
        chain.map_or("–".into(), |c| format!("{:.0} – {:.0}", c.min, c.max)),
        chain.map_or(0, |c| c.n),
        whole_target,
        chain.map_or("unavailable".into(), |c| {
            verdict(
                c.median <= whole,
                format!(
                    "{:.0}: the longest chain of requests that waited for each other",
                    c.median
                ),
            )
        }),
    );
    if let Some(run) = last {
        let mut per_service: BTreeMap<&str, u64> = BTreeMap::new();
        for ((svc, _), n) in &run.requests {
            *per_service.entry(svc.as_str()).or_default() += n;
        }
        let total: u64 = per_service.values().sum();
        let detail = run
            .requests
            .iter()
            .map(|((svc, op), n)| format!("{svc} {op} ×{n}"))
            .collect::<Vec<_>>()
            .join(", ");
        table.fact(
            &format!("2. AWS requests per incident ({label})"),
            total.to_string(),
            "–",
            detail,
        );
        if !with_ledger {
            table.fact(
                "2. CloudWatch metrics requested per incident",
                run.metrics_requested
                    .map_or("unavailable".into(), |n| n.to_string()),
                "≤ 12",
                run.metrics_requested.map_or("unavailable".into(), |n| {
                    verdict(n <= 12, format!("{n} in one GetMetricData"))
                }),
            );
        }
        let _ = run.elapsed;
    }
    Ok(())
}

pub(super) async fn critical_path(o: &Options, emu: &Emulator, table: &mut Table) {
    log(format!(
        "critical path: {} runs at L = 0 and at L = 50 ms",
        o.path_runs
    ));
    let (instance, at) = seed_cpu_spike(emu).await;
    if let Err(e) = critical_path_variant(o, emu, &instance, at, false, table).await {
        table.notes.push(format!("critical path: {e}"));
    }
    if o.ledger {
        if ledger_reachable().await {
            if let Err(e) = critical_path_variant(o, emu, &instance, at, true, table).await {
                table.notes.push(format!("critical path with ledger: {e}"));
            }
        } else {
            table.notes.push(format!(
                "critical path with ledger: DynamoDB (moto) not reachable at {}",
                dynamodb_endpoint()
            ));
        }
    }
}
