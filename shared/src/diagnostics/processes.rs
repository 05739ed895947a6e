//! The process lists of the diagnostics output: top's current sample (`top-cpu`) or ps's lifetime figures (`top-mem`,
//! and `top-cpu` on a host without a working top), and the program a command line runs.

use super::{clip, number, redact, words, CpuSample, Process, MAX_COMMAND_CHARS, MAX_PROCESSES};

impl Process {
    /// The program as an operator names it, kept whole however the command line is cut: the executable's file name,
    /// and for an interpreter the jar, script or module it runs (`java orders-service.jar`, `python3 worker.py`,
    /// `node server.js`); a kernel thread as listed (`[kswapd0]`).
    pub fn program(&self) -> String {
        program(&self.command)
    }
}

/// Interpreters whose own name says little: the program is the jar, script or module they run.
const INTERPRETERS: [&str; 14] = [
    "java", "python", "python2", "python3", "node", "nodejs", "ruby", "perl", "php", "bash", "sh",
    "dotnet", "deno", "bun",
];

/// Options of an interpreter that take the next word as their value (`java -cp <path>`, `python -W ignore`), so that
/// word is not the program.
fn value_options(interpreter: &str) -> &'static [&'static str] {
    match interpreter {
        "java" => &["-cp", "-classpath", "--class-path", "-p", "--module-path"],
        "python" | "python2" | "python3" => &["-W", "-X", "-Q"],
        "node" | "nodejs" => &["-r", "--require"],
        _ => &[],
    }
}

fn program(command: &str) -> String {
    let mut words = command.split_whitespace();
    let Some(first) = words.next() else {
        return String::new();
    };
    if first.starts_with('[') {
        return clip(command.trim(), 64);
    }
    let base = |w: &str| clip(w.rsplit('/').next().unwrap_or(w), 64);
    let exe = base(first);
    let versioned = exe.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if !INTERPRETERS.contains(&exe.as_str()) && !INTERPRETERS.contains(&versioned) {
        return exe;
    }
    let mut after_value_option = false;
    let mut runs = None;
    let mut words = words.peekable();
    while let Some(w) = words.next() {
        if after_value_option {
            after_value_option = false;
            continue;
        }
        match w {
            // `java -jar x.jar`, `python -m module`: the next word is the program.
            "-jar" | "-m" => {
                runs = words.next().map(base);
                break;
            }
            // `python -c '…'`, `bash -c '…'`: inline code, no program file to name.
            "-c" | "-e" => break,
            w if value_options(versioned).contains(&w) => after_value_option = true,
            w if w.starts_with('-') => {}
            w => {
                runs = Some(base(w));
                break;
            }
        }
    }
    match runs {
        Some(r) if !r.is_empty() => format!("{exe} {r}"),
        _ => exe,
    }
}

/// Columns of `ps -eo pid,user,pcpu,pmem,rss,etimes,args`, the order the document asks for.
const PS_COLUMNS: [&str; 7] = ["PID", "USER", "%CPU", "%MEM", "RSS", "ELAPSED", "COMMAND"];

/// The commands of the document's own probes, which are not findings.
const PROBES: [&str; 2] = ["ps -eo pid,user,pcpu,pmem,rss,", "top -b "];

/// What a process list's %CPU measures, from its header: ps's has ELAPSED (the document asks for it), top's
/// (procps: `PID USER PR NI VIRT RES SHR S %CPU %MEM TIME+ COMMAND`; busybox: `PID PPID USER STAT VSZ %VSZ CPU %CPU
/// COMMAND`) does not. No header at all reads as ps's columns.
pub(super) fn cpu_sample(lines: &[&str]) -> CpuSample {
    match lines.iter().find(|l| l.trim_start().starts_with("PID")) {
        Some(h) if h.split_whitespace().any(|w| w == "%CPU") && !h.contains("ELAPSED") => {
            CpuSample::Current
        }
        _ => CpuSample::SinceStart,
    }
}

/// A resident size in KiB: ps's and procps top's plain KiB, or top's scaled `2.1g`, `512.0m`, `1.5t`.
fn kib(s: &str) -> Option<u64> {
    if let Ok(k) = s.parse::<u64>() {
        return Some(k);
    }
    let (value, scale) = match s.char_indices().last()? {
        (i, 'm' | 'M') => (&s[..i], 1024.0),
        (i, 'g' | 'G') => (&s[..i], 1024.0 * 1024.0),
        (i, 't' | 'T') => (&s[..i], 1024.0 * 1024.0 * 1024.0),
        (i, 'k' | 'K') => (&s[..i], 1.0),
        _ => return None,
    };
    // `as` saturates at u64::MAX: a figure from the instance cannot wrap.
    number(value).map(|v| (v * scale) as u64)
}

pub(super) fn parse_processes(lines: &[&str]) -> Vec<Process> {
    // Read the columns from the header when there is one: the command (last) may hold any text.
    let header: Vec<String> = lines
        .iter()
        .find(|l| l.trim_start().starts_with("PID"))
        .map(|h| h.split_whitespace().map(str::to_ascii_uppercase).collect())
        .filter(|h: &Vec<String>| h.len() >= 2)
        .unwrap_or_else(|| PS_COLUMNS.iter().map(|c| c.to_string()).collect());
    let fixed = header.len() - 1;
    let at = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (pid_i, user_i, cpu_i) = (at(&["PID"]), at(&["USER", "UID"]), at(&["%CPU"]));
    let (mem_i, rss_i, elapsed_i) = (at(&["%MEM"]), at(&["RSS", "RSZ", "RES"]), at(&["ELAPSED"]));
    lines
        .iter()
        .filter(|l| !l.trim_start().starts_with("PID"))
        .filter_map(|line| {
            let w = words(line);
            let command_at = w.get(fixed)?.0;
            let field = |i: Option<usize>| i.filter(|&i| i < fixed).map(|i| w[i].1);
            let command = line[command_at..].trim_end();
            // The probes themselves are not findings.
            if PROBES.iter().any(|p| command.starts_with(p)) {
                return None;
            }
            Some(Process {
                pid: field(pid_i)?.parse().ok()?,
                user: clip(field(user_i).unwrap_or_default(), 32),
                cpu_percent: field(cpu_i).and_then(number).unwrap_or(0.0),
                mem_percent: field(mem_i).and_then(number).unwrap_or(0.0),
                rss_kib: field(rss_i).and_then(kib).unwrap_or(0),
                elapsed_secs: field(elapsed_i).and_then(elapsed),
                command: clip(&redact(command), MAX_COMMAND_CHARS),
            })
        })
        .take(MAX_PROCESSES)
        .collect()
}

/// `etimes` (seconds) or `etime` (`[[dd-]hh:]mm:ss`).
pub(super) fn elapsed(s: &str) -> Option<u64> {
    if let Ok(secs) = s.parse::<u64>() {
        return Some(secs);
    }
    let (days, clock) = match s.split_once('-') {
        Some((d, rest)) => (d.parse::<u64>().ok()?, rest),
        None => (0, s),
    };
    let parts: Vec<u64> = clock
        .split(':')
        .map(|p| p.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = match parts[..] {
        [m, s] => (0, m, s),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    days.checked_mul(86_400)?
        .checked_add(h.checked_mul(3600)?)?
        .checked_add(m.checked_mul(60)?)?
        .checked_add(sec)
}
