//! Figure 1: cold start of the responder against a Python/boto3 peer.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// 1. Cold start

/// A Lambda-like environment: only what Lambda sets, pointed at the stub and the emulator.
pub(super) fn function_env(stub: &RuntimeStub, topic: &str) -> Vec<(String, String)> {
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
pub(super) async fn cold_start_once(program: &Path, args: &[&str]) -> Result<Duration, String> {
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
pub(super) fn peer_python(explicit: Option<&Path>) -> Option<PathBuf> {
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

pub(super) async fn cold_start(o: &Options, table: &mut Table) {
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
