//! Figure 3: peak memory and CPU time of one real invocation.

use super::*;

// ---------------------------------------------------------------------------------------------------------------
// 3. Memory

/// Peak resident set (VmHWM) of one process, in KiB.
pub(super) fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Peak memory and CPU of one process: cold start plus one real invocation.
pub(super) struct Footprint {
    peak_mib: f64,
    cpu_ms: f64,
}

/// CPU time of every live thread of a process, in milliseconds (nanosecond counters, unlike `/proc/<pid>/stat`'s
/// 10 ms ticks).
pub(super) fn cpu_ms(pid: u32) -> Option<f64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut ns = 0u64;
    for t in tasks.flatten() {
        let stat = std::fs::read_to_string(t.path().join("schedstat")).ok()?;
        ns += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(ns as f64 / 1e6)
}

pub(super) async fn memory_once(
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

pub(super) async fn memory(o: &Options, emu: &Emulator, table: &mut Table) {
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
