//! The benchmark suite behind `scripts/bench.sh`: cold start of the release `responder` beside a Python/boto3 peer,
//! critical-path depth through the latency proxy, peak memory of one real invocation, package size, and a storm of
//! duplicate and distinct alarm deliveries. Each figure is the median of repeated runs with min and max; every
//! comparison is a ratio of figures measured in the same run. Prints a Markdown table for BENCHMARKS.md.
//!
//!   bench [--only cold,path,memory,package,storm] [--runs N] [--path-runs N] [--mem-runs N]
//!         [--storm-events N] [--storm-instances N] [--concurrency N] [--no-ledger]
//!         [--responder PATH] [--alt PATH --alt-label TEXT] [--python PATH]
//!
//! Benchmarks are not tests: nothing here fails on a missed target; the table says by how much.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ec2ops::config::Settings;
use ec2ops::gather::NO_LEDGER;
use ec2ops::pipeline::{HandleError, Outcome, Responder};
use ec2ops_tests::proxy::{sequential_depth, Proxy};
use ec2ops_tests::runtime_stub::{lambda_env, RuntimeStub};
use ec2ops_tests::{
    config_for, dynamodb_endpoint, endpoint, event_for, respond_now, seed_cpu_spike, Emulator,
};

const TOPIC_FOR_COLD_START: &str = "arn:aws:sns:ap-northeast-2:000000000000:bench";
const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-2:000000000000:function:ec2ops";

/// The Python peer: what a boto3 handler does before it can take its first event (interpreter, `import boto3`,
/// the three clients at module level), then the runtime's first long poll.
const PEER_HANDLER: &str = r#"
import os, urllib.request
import boto3
ec2 = boto3.client("ec2")
cloudwatch = boto3.client("cloudwatch")
sns = boto3.client("sns")
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next").read()
"#;

// ---------------------------------------------------------------------------------------------------------------
// Options

struct Options {
    only: Vec<String>,
    runs: usize,
    path_runs: usize,
    mem_runs: usize,
    storm_events: usize,
    storm_instances: usize,
    concurrency: usize,
    ledger: bool,
    responder: PathBuf,
    alt: Option<(PathBuf, String)>,
    python: Option<PathBuf>,
}

fn options() -> Result<Options, String> {
    let here = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut o = Options {
        only: vec![],
        runs: 15,
        path_runs: 15,
        mem_runs: 5,
        storm_events: 500,
        storm_instances: 100,
        concurrency: 50,
        ledger: true,
        responder: here.with_file_name("responder"),
        alt: None,
        python: None,
    };
    let mut alt_path = None;
    let mut alt_label = String::from("alternative profile");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let number = |v: String| {
            v.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{a}: expected a positive number, got {v:?}"))
        };
        match a.as_str() {
            "--only" => o.only = value()?.split(',').map(str::to_string).collect(),
            "--runs" => o.runs = number(value()?)?,
            "--path-runs" => o.path_runs = number(value()?)?,
            "--mem-runs" => o.mem_runs = number(value()?)?,
            "--storm-events" => o.storm_events = number(value()?)?,
            "--storm-instances" => o.storm_instances = number(value()?)?,
            "--concurrency" => o.concurrency = number(value()?)?,
            "--no-ledger" => o.ledger = false,
            "--responder" => o.responder = value()?.into(),
            "--alt" => alt_path = Some(PathBuf::from(value()?)),
            "--alt-label" => alt_label = value()?,
            "--python" => o.python = Some(value()?.into()),
            "-h" | "--help" => {
                return Err("usage: bench [--only cold,path,memory,package,storm] [--runs N] [--path-runs N] \
                            [--mem-runs N] [--storm-events N] [--storm-instances N] [--concurrency N] [--no-ledger] \
                            [--responder PATH] [--alt PATH --alt-label TEXT] [--python PATH]"
                    .into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    o.alt = alt_path.map(|p| (p, alt_label));
    Ok(o)
}

impl Options {
    fn wants(&self, section: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|s| s == section)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Statistics and the table

#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn stats(values: &[f64]) -> Option<Stats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some(Stats {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    })
}

struct Row {
    figure: String,
    median: String,
    range: String,
    runs: String,
    target: String,
    result: String,
}

struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    fn row(
        &mut self,
        figure: &str,
        median: String,
        range: String,
        runs: usize,
        target: &str,
        result: String,
    ) {
        self.rows.push(Row {
            figure: figure.into(),
            median,
            range,
            runs: runs.to_string(),
            target: target.into(),
            result,
        });
    }

    fn fact(&mut self, figure: &str, value: String, target: &str, result: String) {
        self.rows.push(Row {
            figure: figure.into(),
            median: value,
            range: "–".into(),
            runs: "–".into(),
            target: target.into(),
            result,
        });
    }

    fn timed(&mut self, figure: &str, s: Option<Stats>, unit: &str, target: &str, result: String) {
        match s {
            Some(s) => self.row(
                figure,
                format!("{:.1} {unit}", s.median),
                format!("{:.1} – {:.1}", s.min, s.max),
                s.n,
                target,
                result,
            ),
            None => self.fact(figure, "unavailable".into(), target, result),
        }
    }

    fn print(&self) {
        println!("| figure | median | min – max | runs | target | result |");
        println!("|---|---|---|---|---|---|");
        for r in &self.rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.figure, r.median, r.range, r.runs, r.target, r.result
            );
        }
        if !self.notes.is_empty() {
            println!();
            for n in &self.notes {
                println!("- {n}");
            }
        }
    }
}

fn verdict(ok: bool, detail: String) -> String {
    if ok {
        format!("met ({detail})")
    } else {
        format!("**missed** ({detail})")
    }
}

fn log(msg: impl AsRef<str>) {
    eprintln!("bench: {}", msg.as_ref());
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Cold start

/// A Lambda-like environment: only what Lambda sets, pointed at the stub and the emulator.
fn function_env(stub: &RuntimeStub, topic: &str) -> Vec<(String, String)> {
    let mut env = lambda_env(stub);
    for (k, v) in [
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "C.UTF-8"),
        ("TZ", ":UTC"),
        ("EC2OPS_TOPIC_ARN", topic),
        ("AWS_ENDPOINT_URL", endpoint().as_str()),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", ec2ops_tests::REGION),
        ("AWS_DEFAULT_REGION", ec2ops_tests::REGION),
    ] {
        env.push((k.to_string(), v.to_string()));
    }
    env
}

/// Time from exec to the first `GET …/invocation/next` of one fresh process.
async fn cold_start_once(program: &Path, args: &[&str]) -> Result<Duration, String> {
    let stub = RuntimeStub::start(vec![]).await;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(function_env(&stub, TOPIC_FOR_COLD_START))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let limit = started + Duration::from_secs(30);
    let first = loop {
        if let Some(t) = stub.next_calls().first() {
            break *t;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut err).await;
            }
            return Err(format!(
                "{} exited with {status} before taking an event: {}",
                program.display(),
                err.trim()
            ));
        }
        if Instant::now() > limit {
            return Err(format!("{}: no GET /next within 30 s", program.display()));
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    Ok(first.saturating_duration_since(started))
}

/// A Python with boto3: the emulator venv's (LocalStack ships boto3), else the system's.
fn peer_python(explicit: Option<&Path>) -> Option<PathBuf> {
    let home = std::env::var("EC2OPS_EMULATOR_HOME")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache/ec2ops-emulator")))
        .ok();
    let candidates = explicit
        .map(Path::to_path_buf)
        .into_iter()
        .chain(home.map(|h| h.join("localstack/bin/python")))
        .chain([PathBuf::from("python3")]);
    for p in candidates {
        let ok = std::process::Command::new(&p)
            .args(["-c", "import boto3"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(p);
        }
    }
    None
}

async fn cold_start(o: &Options, table: &mut Table) {
    log(format!("cold start: {} runs each", o.runs));
    let handler = std::env::temp_dir().join(format!("ec2ops-bench-peer-{}.py", std::process::id()));
    let python = peer_python(o.python.as_deref());
    let peer_ready = python.is_some() && std::fs::write(&handler, PEER_HANDLER).is_ok();
    let handler_arg = handler.to_string_lossy().into_owned();

    let mut ours = Vec::new();
    let mut alt = Vec::new();
    let mut peer = Vec::new();
    let mut errors: BTreeMap<&str, String> = BTreeMap::new();
    // Interleaved, so drift in machine load affects every contender alike.
    for _ in 0..o.runs {
        match cold_start_once(&o.responder, &[]).await {
            Ok(d) => ours.push(d.as_secs_f64() * 1e3),
            Err(e) => {
                errors.insert("responder", e);
            }
        }
        if let Some((path, _)) = &o.alt {
            match cold_start_once(path, &[]).await {
                Ok(d) => alt.push(d.as_secs_f64() * 1e3),
                Err(e) => {
                    errors.insert("alt", e);
                }
            }
        }
        if let (true, Some(py)) = (peer_ready, &python) {
            match cold_start_once(py, &[handler_arg.as_str()]).await {
                Ok(d) => peer.push(d.as_secs_f64() * 1e3),
                Err(e) => {
                    errors.insert("peer", e);
                }
            }
        }
    }
    let _ = std::fs::remove_file(&handler);
    for (who, e) in &errors {
        table.notes.push(format!("cold start {who}: {e}"));
    }

    let s_ours = stats(&ours);
    let s_peer = stats(&peer);
    let ratio = match (s_ours, s_peer) {
        (Some(a), Some(b)) if a.median > 0.0 => Some(b.median / a.median),
        _ => None,
    };
    table.timed(
        "1. cold start, Rust `responder` (exec → first GET /next)",
        s_ours,
        "ms",
        "≤ 25 ms",
        s_ours.map_or("unavailable".into(), |s| {
            verdict(s.median <= 25.0, format!("{:.1} ms", s.median))
        }),
    );
    if let Some((_, label)) = &o.alt {
        let s_alt = stats(&alt);
        let cmp = match (s_alt, s_ours) {
            (Some(a), Some(b)) if b.median > 0.0 => {
                format!("{:.2}× the current profile's time", a.median / b.median)
            }
            _ => "unavailable".into(),
        };
        table.timed(
            &format!("1. cold start, `responder` built with {label}"),
            s_alt,
            "ms",
            "≤ 25 ms",
            cmp,
        );
    }
    match (&python, s_peer) {
        (Some(py), Some(_)) => {
            table.timed(
                "1. cold start, peer: Python + boto3, 3 clients",
                s_peer,
                "ms",
                "–",
                format!("`{}`", py.display()),
            );
            table.fact(
                "1. cold start ratio peer / Rust (medians)",
                ratio.map_or("unavailable".into(), |r| format!("{r:.1}×")),
                "≥ 10×",
                ratio.map_or("unavailable".into(), |r| {
                    verdict(r >= 10.0, format!("{r:.1}×"))
                }),
            );
        }
        _ => table.fact(
            "1. cold start, peer",
            "peer: unavailable".into(),
            "–",
            "no Python with boto3".into(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The handler as the Lambda function builds it (functions/responder/src/main.rs), for in-process runs.

struct Handler {
    responder: Responder,
    config: aws_config::SdkConfig,
    settings: Settings,
}

impl Handler {
    fn new(config: &aws_config::SdkConfig, topic: &str, ledger_table: Option<&str>) -> Handler {
        let settings = Settings {
            topic_arn: Some(topic.to_string()),
            ledger_table: ledger_table.map(str::to_string),
            ..Settings::default()
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let mut responder =
            ec2ops_tests::responder(config, &dynamodb, &settings).with_function_arn(FUNCTION_ARN);
        // The figures before the evidence sources: without CloudTrail, CloudWatch Logs and DescribeAlarms.
        responder.evidence = Default::default();
        Handler {
            responder,
            config: config.clone(),
            settings,
        }
    }

    /// With the evidence sources wired as the function wires them, reading one log group.
    fn with_evidence(self) -> Handler {
        let settings = Settings {
            log_groups: vec![BENCH_LOG_GROUP.to_string()],
            ..self.settings
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(&self.config);
        let responder = ec2ops_tests::responder(&self.config, &dynamodb, &settings)
            .with_function_arn(FUNCTION_ARN);
        Handler {
            responder,
            config: self.config,
            settings,
        }
    }

    async fn handle(&self, event: &serde_json::Value) -> Result<Outcome, HandleError> {
        respond_now(&self.responder, event).await
    }
}

/// Whether moto (DynamoDB) answers, so the ledger can be measured.
async fn ledger_reachable() -> bool {
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
const BENCH_LOG_GROUP: &str = "/ec2ops-bench/app";

/// The recorded LookupEvents answer the CloudTrail stub serves.
fn recorded_lookup() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/tests/fixtures/cloudtrail/prod-api-1-resize.json"
    ))
    .unwrap_or_else(|_| r#"{"Events":[]}"#.into())
}

struct PathRun {
    elapsed: Duration,
    requests: BTreeMap<(String, String), u64>,
    metrics_requested: Option<usize>,
}

async fn critical_path_variant(
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

async fn critical_path(o: &Options, emu: &Emulator, table: &mut Table) {
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

// ---------------------------------------------------------------------------------------------------------------
// 3. Memory

/// Peak resident set (VmHWM) of one process, in KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak memory and CPU of one process: cold start plus one real invocation.
struct Footprint {
    peak_mib: f64,
    cpu_ms: f64,
}

/// CPU time of every live thread of a process, in milliseconds (nanosecond counters, unlike `/proc/<pid>/stat`'s
/// 10 ms ticks).
fn cpu_ms(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns = 0u64;
    for t in tasks.flatten() {
        let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e6)
}

async fn memory_once(
    program: &Path,
    event: serde_json::Value,
    topic: &str,
) -> Result<Footprint, String> {
    let stub = RuntimeStub::start(vec![event]).await;
    let mut child = tokio::process::Command::new(program)
        .env_clear()
        .envs(function_env(&stub, topic))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", program.display()))?;
    let pid = child.id().ok_or("the responder exited at once")?;
    let posted = stub.wait_for(1, Duration::from_secs(60)).await;
    // Read before killing: after the first invocation the process waits on the next long poll, still alive.
    let hwm = vm_hwm_kib(pid);
    let cpu = cpu_ms(pid);
    let _ = child.start_kill();
    let _ = child.wait().await;
    match posted.first() {
        Some(p) if p.kind == "response" && p.body["status"] == "reported" => {}
        Some(p) => return Err(format!("invocation answered {} {}", p.kind, p.body)),
        None => return Err("no answer to the invocation within 60 s".into()),
    }
    Ok(Footprint {
        peak_mib: hwm.ok_or_else(|| format!("no VmHWM in /proc/{pid}/status"))? as f64 / 1024.0,
        cpu_ms: cpu.ok_or_else(|| format!("no schedstat in /proc/{pid}/task"))?,
    })
}

async fn memory(o: &Options, emu: &Emulator, table: &mut Table) {
    log(format!("memory: {} invocations", o.mem_runs));
    let (instance, at) = seed_cpu_spike(emu).await;
    let (topic, _queue) = emu.topic_with_queue("bench-memory").await;
    let mut peaks = Vec::new();
    let mut alt_peaks = Vec::new();
    let mut cpus = Vec::new();
    let mut alt_cpus = Vec::new();
    for i in 0..o.mem_runs {
        // A distinct incident each time (the transition shifted by a millisecond).
        let event = event_for(
            "cpu-spike.json",
            &instance,
            at + chrono::Duration::milliseconds(i as i64),
        );
        match memory_once(&o.responder, event.clone(), &topic).await {
            Ok(f) => {
                peaks.push(f.peak_mib);
                cpus.push(f.cpu_ms);
            }
            Err(e) => table.notes.push(format!("memory: {e}")),
        }
        if let Some((alt, _)) = &o.alt {
            match memory_once(alt, event, &topic).await {
                Ok(f) => {
                    alt_peaks.push(f.peak_mib);
                    alt_cpus.push(f.cpu_ms);
                }
                Err(e) => table.notes.push(format!("memory (alternative): {e}")),
            }
        }
    }
    let s = stats(&peaks);
    table.timed(
        "3. peak RSS (VmHWM) after one cpu-spike invocation",
        s,
        "MiB",
        "≤ 40 MB",
        s.map_or("unavailable".into(), |s| {
            // The target is in MB (10^6 bytes); VmHWM is in KiB.
            let mb = s.median * 1.048_576;
            verdict(mb <= 40.0, format!("{mb:.1} MB"))
        }),
    );
    let c = stats(&cpus);
    table.timed(
        "3. CPU time of the process: cold start + one invocation",
        c,
        "ms",
        "–",
        "all threads, from /proc/<pid>/task/*/schedstat".into(),
    );
    if let Some((_, label)) = &o.alt {
        let ac = stats(&alt_cpus);
        let cmp = match (ac, c) {
            (Some(a), Some(b)) if b.median > 0.0 => {
                format!("{:.2}× the current profile's CPU time", a.median / b.median)
            }
            _ => "unavailable".into(),
        };
        table.timed(
            &format!("3. CPU time, `responder` built with {label}"),
            ac,
            "ms",
            "–",
            cmp,
        );
        let a = stats(&alt_peaks);
        table.timed(
            &format!("3. peak RSS, `responder` built with {label}"),
            a,
            "MiB",
            "≤ 40 MB",
            a.map_or("unavailable".into(), |a| {
                format!("{:.1} MB", a.median * 1.048_576)
            }),
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Package

/// `[profile.release]` of the workspace's Cargo.toml, as one line.
fn release_profile() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return "unreadable".into();
    };
    let mut inside = false;
    let mut keys = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('[') {
            inside = l == "[profile.release]";
            continue;
        }
        if inside && !l.is_empty() && !l.starts_with('#') {
            keys.push(l.replace('"', "'"));
        }
    }
    let overrides: Vec<String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("CARGO_PROFILE_RELEASE_"))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let mut s = if keys.is_empty() {
        "defaults".to_string()
    } else {
        keys.join(", ")
    };
    if !overrides.is_empty() {
        s.push_str(&format!(
            " (environment overrides: {})",
            overrides.join(" ")
        ));
    }
    s
}

/// Size of a Lambda zip holding the binary as `bootstrap` (deflate, as `cargo lambda build --output-format zip`).
fn zip_size(binary: &Path, python: Option<&Path>) -> Result<u64, String> {
    let python = python.ok_or("no Python to build the zip")?;
    let out = std::env::temp_dir().join(format!("ec2ops-bench-{}.zip", std::process::id()));
    let script = "import sys, zipfile\n\
                  zi = zipfile.ZipInfo('bootstrap', date_time=(2020, 1, 1, 0, 0, 0))\n\
                  zi.external_attr = 0o100755 << 16\n\
                  zi.compress_type = zipfile.ZIP_DEFLATED\n\
                  with zipfile.ZipFile(sys.argv[2], 'w') as z, open(sys.argv[1], 'rb') as f:\n    z.writestr(zi, f.read())\n";
    let status = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(binary)
        .arg(&out)
        .status()
        .map_err(|e| format!("python: {e}"))?;
    if !status.success() {
        return Err(format!("python zipfile exited with {status}"));
    }
    let size = std::fs::metadata(&out)
        .map(|m| m.len())
        .map_err(|e| e.to_string());
    let _ = std::fs::remove_file(&out);
    size
}

fn mib(bytes: u64) -> String {
    format!("{:.2} MiB ({bytes} B)", bytes as f64 / 1_048_576.0)
}

fn package(o: &Options, table: &mut Table) {
    log("package");
    let python = peer_python(o.python.as_deref());
    let mut contenders = vec![(
        o.responder.clone(),
        format!("current profile: {}", release_profile()),
    )];
    if let Some((p, label)) = &o.alt {
        contenders.push((p.clone(), label.clone()));
    }
    let mut sizes = Vec::new();
    for (path, label) in &contenders {
        match std::fs::metadata(path) {
            Ok(m) => {
                sizes.push(m.len());
                table.fact(
                    "4. binary size (`responder`)",
                    mib(m.len()),
                    "–",
                    label.clone(),
                );
                match zip_size(path, python.as_deref()) {
                    Ok(z) => table.fact(
                        "4. zip size (`bootstrap`, deflate)",
                        mib(z),
                        "–",
                        label.clone(),
                    ),
                    Err(e) => table.fact("4. zip size", "unavailable".into(), "–", e),
                }
            }
            Err(e) => table.notes.push(format!("package {}: {e}", path.display())),
        }
    }
    if let [a, b] = sizes.as_slice() {
        table.fact(
            "4. binary size ratio alternative / current",
            format!("{:.2}×", *b as f64 / *a as f64),
            "–",
            "same run".into(),
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Storm

/// Launch `n` instances in one call (seeding one by one would take minutes in the emulator).
async fn storm_instances(emu: &Emulator, n: usize) -> Result<Vec<String>, String> {
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
struct StormTally {
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

async fn storm_variant(
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
fn alarm_of(mut event: serde_json::Value, instance: &str) -> serde_json::Value {
    let name = format!("EC2-HighCPU-{instance}");
    let arn = format!(
        "arn:aws:cloudwatch:{}:123456789012:alarm:{name}",
        ec2ops_tests::REGION
    );
    event["detail"]["alarmName"] = serde_json::Value::String(name);
    event["resources"] = serde_json::json!([arn]);
    event
}

async fn storm(o: &Options, emu: &Emulator, table: &mut Table) {
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

// ---------------------------------------------------------------------------------------------------------------

/// CPU time (user + system) of this process so far, in seconds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the state.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let hz = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    Some(ticks / hz)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut table = Table {
        rows: vec![],
        notes: vec![],
    };
    let load_before = loadavg();
    if o.wants("cold") {
        cold_start(&o, &mut table).await;
    }
    let needs_emulator = ["path", "memory", "storm"].iter().any(|s| o.wants(s));
    let emu = if needs_emulator {
        Emulator::connect().await
    } else {
        None
    };
    if needs_emulator && emu.is_none() {
        table
            .notes
            .push("emulator not reachable: critical path, memory and storm skipped".into());
    }
    if let Some(emu) = &emu {
        if o.wants("path") {
            critical_path(&o, emu, &mut table).await;
        }
        if o.wants("memory") {
            memory(&o, emu, &mut table).await;
        }
    }
    if o.wants("package") {
        package(&o, &mut table);
    }
    if let (Some(emu), true) = (&emu, o.wants("storm")) {
        storm(&o, emu, &mut table).await;
    }
    table.notes.push(format!(
        "load average before: {load_before}; after: {}",
        loadavg()
    ));
    table.print();
    std::process::ExitCode::SUCCESS
}
