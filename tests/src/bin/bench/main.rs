//! The benchmark suite behind `scripts/bench.sh`: cold start of the release `responder` beside a Python/boto3 peer,
//! critical-path depth through the latency proxy, peak memory of one real invocation, package size, and a storm
//! (1,000 alarm deliveries over 200 instances in 3 AZs, 50 failing status checks in one, through the publish gate,
//! digests and the incident log; `EC2OPS_BENCH_LOG=FILE` keeps the responder's warnings). Each figure is the median of repeated runs with min and max; every
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
use ec2ops::pipeline::{HandleError, Outcome, Responder};
use ec2ops_tests::proxy::{sequential_depth, Proxy};
use ec2ops_tests::runtime_stub::{lambda_env, RuntimeStub};
use ec2ops_tests::{
    config_for, dynamodb_endpoint, endpoint, event_for, respond_now, seed_cpu_spike, Emulator,
};

mod cold;
mod memory;
mod package;
mod path;
mod storm;
use cold::*;
use memory::*;
use package::*;
use path::*;
use storm::*;

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
        storm_events: 1000,
        storm_instances: 200,
        concurrency: 10,
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
    // The responder's warnings (a source that failed, a claim that timed out), one JSON line each, when asked for.
    if let Some(path) = std::env::var_os("EC2OPS_BENCH_LOG") {
        match std::fs::File::create(&path) {
            Ok(file) => tracing_subscriber::fmt()
                .json()
                .with_max_level(tracing_subscriber::filter::LevelFilter::WARN)
                .with_writer(std::sync::Mutex::new(file))
                .init(),
            Err(e) => eprintln!("EC2OPS_BENCH_LOG: {e}"),
        }
    }
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
