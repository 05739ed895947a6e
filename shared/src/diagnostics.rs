//! In-guest diagnostics: parse the output of the fixed SSM command document (`docs/ssm-diagnostics.yaml`) into
//! facts, redacting secrets from every command line and log line on the way in. Pure, no I/O, never panics.
//!
//! The document prints sections `=== <name> ===`, a line `!! unavailable: <reason>` for a section the host could
//! not provide, and `=== end ===` last. Parsing is lenient: GetCommandInvocation returns only the first 24,000
//! characters of stdout, the emulator returns nothing at all, and a process can put anything in its command line,
//! so whatever cannot be read becomes an entry of [`Diagnostics::missing`] rather than an error.

use serde::{Deserialize, Serialize};

mod processes;
mod redact;

use processes::{cpu_sample, parse_processes};
pub use redact::redact;

/// The sections the document prints, in order (the end marker aside).
pub const SECTIONS: [&str; 8] = [
    "uptime",
    "loadavg",
    "memory",
    "disk",
    "top-cpu",
    "top-mem",
    "oom",
    "kernel-errors",
];

/// The last section: its absence means the output was cut short.
pub const END_SECTION: &str = "end";

/// How much of stdout GetCommandInvocation returns.
pub const SSM_STDOUT_LIMIT_CHARS: usize = 24_000;

/// What replaces a secret.
pub const REDACTED: &str = "***";

/// Caps on what one parse keeps, whatever the input: the facts end up in a report with delivery limits.
const MAX_PROCESSES: usize = 20;
const MAX_FILESYSTEMS: usize = 50;
const MAX_LOG_LINES: usize = 20;
const MAX_COMMAND_CHARS: usize = 400;
const MAX_LINE_CHARS: usize = 400;
const MAX_NAME_CHARS: usize = 200;
const MAX_REASON_CHARS: usize = 120;

/// What the command document found on the instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Seconds since boot.
    pub uptime_secs: Option<u64>,
    pub load: Option<LoadAverage>,
    pub memory: Option<Memory>,
    /// Local filesystems as `df -P` lists them (tmpfs, devtmpfs, squashfs and overlay left out when df can).
    pub filesystems: Vec<Filesystem>,
    /// Highest CPU first.
    pub top_cpu: Vec<Process>,
    /// What the CPU figures of [`Diagnostics::top_cpu`] measure: the last second (top) or each process's lifetime
    /// (ps, on a host without a working top). Older stored facts, from ps only, read as the lifetime.
    #[serde(default)]
    pub top_cpu_sample: CpuSample,
    /// Highest resident memory first.
    pub top_memory: Vec<Process>,
    /// OOM-killer lines of the kernel log (the last hour of the journal, or the ring buffer since boot), oldest
    /// first, at most five.
    pub oom_kills: Vec<OomKill>,
    /// Kernel log lines at level err or worse, oldest first, redacted.
    pub kernel_errors: Vec<String>,
    /// Sections absent or unreadable, and why (`disk: df failed`, `oom: output cut short`).
    pub missing: Vec<Missing>,
    /// The output stopped before the end marker: cut at 24,000 characters, or the script was killed.
    pub truncated: bool,
}

/// A section of the output that is absent or could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missing {
    pub section: String,
    pub why: MissingWhy,
}

/// Why a section is missing: the report says ec2ops's own reasons in its language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingWhy {
    /// The section's marker is not in the output.
    NotInOutput,
    /// The output was cut before or inside the section.
    CutShort,
    /// The section is there and ec2ops could not read it.
    Unreadable,
    /// The script said why (`!! unavailable: ps failed`): the guest's words, redacted and bounded.
    Said(String),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let why = match &self.why {
            MissingWhy::NotInOutput => "not in output",
            MissingWhy::CutShort => "output cut short",
            MissingWhy::Unreadable => "unreadable",
            MissingWhy::Said(s) => s,
        };
        write!(f, "{}: {why}", self.section)
    }
}

impl Diagnostics {
    /// Nothing was collected (the emulator, or an output that is not this document's).
    pub fn is_empty(&self) -> bool {
        self.uptime_secs.is_none()
            && self.load.is_none()
            && self.memory.is_none()
            && self.filesystems.is_empty()
            && self.top_cpu.is_empty()
            && self.top_memory.is_empty()
            && self.oom_kills.is_empty()
            && self.kernel_errors.is_empty()
    }

    /// The filesystem mounted on `/`.
    pub fn root_filesystem(&self) -> Option<&Filesystem> {
        self.filesystems.iter().find(|f| f.mount == "/")
    }

    /// The filesystem with the highest use.
    pub fn fullest_filesystem(&self) -> Option<&Filesystem> {
        self.filesystems.iter().max_by_key(|f| f.used_percent)
    }
}

/// What a process's %CPU measures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum CpuSample {
    /// top's second iteration: the CPU used in the last second, the load now.
    Current,
    /// ps's %CPU: CPU time over the process's whole lifetime, which a busy minute hardly moves.
    #[default]
    SinceStart,
}

/// Run-queue averages over 1, 5 and 15 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadAverage {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// Memory in MiB, as `free -m` (or `/proc/meminfo`) reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memory {
    pub total_mib: u64,
    pub used_mib: u64,
    /// What new work can get without swapping; absent on kernels older than 3.14.
    pub available_mib: Option<u64>,
    pub swap_total_mib: Option<u64>,
    pub swap_used_mib: Option<u64>,
}

impl Memory {
    /// Available memory as a share of the total, 0–100.
    pub fn available_percent(&self) -> Option<f64> {
        let available = self.available_mib?;
        (self.total_mib > 0).then(|| available as f64 * 100.0 / self.total_mib as f64)
    }
}

/// One `df -P` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filesystem {
    /// The device (`/dev/nvme0n1p1`), redacted.
    pub device: String,
    pub mount: String,
    pub size_mib: u64,
    pub used_mib: u64,
    pub available_mib: u64,
    /// df's capacity: used over what non-root users can have, rounded up, so 100 means full for applications.
    pub used_percent: u8,
}

/// One `top` or `ps` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub user: String,
    /// %CPU as the list measures it ([`Diagnostics::top_cpu_sample`]; ps's is the lifetime average); 100 is one
    /// full core.
    pub cpu_percent: f64,
    pub mem_percent: f64,
    pub rss_kib: u64,
    /// Seconds since the process started (ps only: top does not list it).
    pub elapsed_secs: Option<u64>,
    /// The command line, redacted and at most 400 characters.
    pub command: String,
}

/// One OOM-killer line of the kernel log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OomKill {
    /// The line, redacted.
    pub line: String,
    /// The killed process, when the line names it (`Killed process 4242 (java)`).
    pub pid: Option<u32>,
    pub process: Option<String>,
}

/// Parse the document's stdout. Never fails: what cannot be read is listed in [`Diagnostics::missing`].
pub fn parse(stdout: &str) -> Diagnostics {
    let sections = split_sections(stdout);
    let seen_any = sections
        .found
        .iter()
        .any(|(name, _)| SECTIONS.contains(name));
    let truncated = seen_any && !sections.ended;
    let last_seen = sections.found.last().map(|(name, _)| *name);
    let mut d = Diagnostics {
        truncated,
        ..Diagnostics::default()
    };
    for name in SECTIONS {
        let Some(lines) = sections.get(name) else {
            let why = if truncated {
                MissingWhy::CutShort
            } else {
                MissingWhy::NotInOutput
            };
            d.missing.push(Missing {
                section: name.to_string(),
                why,
            });
            continue;
        };
        if let Some(reason) = lines.iter().find_map(|l| l.strip_prefix("!! unavailable:")) {
            d.missing.push(Missing {
                section: name.to_string(),
                why: MissingWhy::Said(clip(&redact(reason.trim()), MAX_REASON_CHARS)),
            });
            continue;
        }
        let read = match name {
            "uptime" => {
                d.uptime_secs = lines.iter().find_map(|l| parse_uptime(l));
                d.uptime_secs.is_some()
            }
            "loadavg" => {
                d.load = lines.iter().find_map(|l| parse_load(l));
                d.load.is_some()
            }
            "memory" => {
                d.memory = parse_memory(lines);
                d.memory.is_some()
            }
            "disk" => {
                d.filesystems = parse_disk(lines);
                !d.filesystems.is_empty()
            }
            "top-cpu" => {
                d.top_cpu = parse_processes(lines);
                d.top_cpu_sample = cpu_sample(lines);
                d.top_cpu
                    .sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
                !d.top_cpu.is_empty()
            }
            "top-mem" => {
                d.top_memory = parse_processes(lines);
                d.top_memory.sort_by_key(|p| std::cmp::Reverse(p.rss_kib));
                !d.top_memory.is_empty()
            }
            "oom" => {
                d.oom_kills = log_lines(lines).map(|l| oom_kill(&l)).collect();
                // No OOM line is a finding, not a gap.
                true
            }
            _ => {
                d.kernel_errors = log_lines(lines).collect();
                true
            }
        };
        if truncated && last_seen == Some(name) {
            // The cut went through this section: what it holds may be partial, and "no OOM kill" is unproven.
            d.missing.push(Missing {
                section: name.to_string(),
                why: MissingWhy::CutShort,
            });
        } else if !read {
            d.missing.push(Missing {
                section: name.to_string(),
                why: MissingWhy::Unreadable,
            });
        }
    }
    d
}

/// The output split at its section markers; the first occurrence of a name wins.
struct Sections<'a> {
    found: Vec<(&'a str, Vec<&'a str>)>,
    ended: bool,
}

impl<'a> Sections<'a> {
    fn get(&self, name: &str) -> Option<&[&'a str]> {
        self.found
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, lines)| lines.as_slice())
    }
}

fn split_sections(stdout: &str) -> Sections<'_> {
    let mut found: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut current: Option<usize> = None;
    let mut ended = false;
    for line in stdout.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(name) = marker(line) {
            if name == END_SECTION {
                ended = true;
                current = None;
            } else if let Some(known) = SECTIONS.iter().find(|s| **s == name) {
                current = if found.iter().any(|(n, _)| n == known) {
                    None
                } else {
                    found.push((known, Vec::new()));
                    Some(found.len() - 1)
                };
            } else {
                current = None;
            }
            continue;
        }
        if let Some(i) = current {
            if let Some((_, lines)) = found.get_mut(i) {
                if !line.trim().is_empty() {
                    lines.push(line);
                }
            }
        }
    }
    Sections { found, ended }
}

/// `=== name ===` → `name`.
fn marker(line: &str) -> Option<&str> {
    let name = line.strip_prefix("=== ")?.strip_suffix(" ===")?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')).then_some(name)
}

/// A finite, non-negative decimal (no `inf`, no `NaN`: both would break the JSON the facts travel in).
fn number(s: &str) -> Option<f64> {
    let s = s.trim_end_matches(',');
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `/proc/uptime` (`4546.60 2457.10`) or `uptime` (`10:12:01 up 3 days,  4:05,  2 users,  load average: …`).
fn parse_uptime(line: &str) -> Option<u64> {
    if let Some(secs) = line.split_whitespace().next().and_then(number) {
        return Some(secs as u64);
    }
    let after = &line[line.find(" up ")? + 4..];
    let mut total: u64 = 0;
    let mut any = false;
    for part in after.split(',') {
        let part = part.trim();
        if part.contains("user") || part.contains("load") {
            break;
        }
        let mut words = part.split_whitespace();
        let first = words.next().unwrap_or_default();
        let unit = words.next().unwrap_or_default();
        if let Some((h, m)) = first.split_once(':') {
            let (h, m) = (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?);
            // Saturating: the hours come from the instance (`up 99999999999999999:00`).
            total =
                total.saturating_add(h.saturating_mul(3600).saturating_add(m.saturating_mul(60)));
            any = true;
        } else if let Ok(n) = first.parse::<u64>() {
            let scale = match unit {
                u if u.starts_with("day") => 86_400,
                u if u.starts_with("hr") || u.starts_with("hour") => 3600,
                u if u.starts_with("min") => 60,
                u if u.starts_with("sec") => 1,
                _ => return None,
            };
            total = total.saturating_add(n.saturating_mul(scale));
            any = true;
        }
    }
    any.then_some(total)
}

/// `/proc/loadavg` (`0.52 0.58 0.59 1/123 4567`) or `uptime`'s `load average: 0.52, 0.58, 0.59`.
fn parse_load(line: &str) -> Option<LoadAverage> {
    let rest = match line.find("load average") {
        Some(i) => line[i..].split_once(':')?.1,
        None => line,
    };
    let mut values = rest
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(number);
    Some(LoadAverage {
        one: values.next()??,
        five: values.next()??,
        fifteen: values.next()??,
    })
}

fn parse_memory(lines: &[&str]) -> Option<Memory> {
    if lines.iter().any(|l| l.starts_with("MemTotal:")) {
        return parse_meminfo(lines);
    }
    // `free -m`: a header naming the columns, then `Mem:` and `Swap:` rows.
    let header: Vec<&str> = lines
        .iter()
        .find(|l| l.split_whitespace().any(|w| w == "total"))?
        .split_whitespace()
        .collect();
    let row = |label: &str| -> Option<Vec<Option<u64>>> {
        let line = lines.iter().find(|l| l.trim_start().starts_with(label))?;
        Some(
            line.split_whitespace()
                .skip(1)
                .map(|v| v.parse::<u64>().ok())
                .collect(),
        )
    };
    let column = |values: &[Option<u64>], name: &str| -> Option<u64> {
        let i = header.iter().position(|h| *h == name)?;
        values.get(i).copied().flatten()
    };
    let mem = row("Mem:")?;
    let total_mib = column(&mem, "total")?;
    let used_mib = column(&mem, "used")?;
    // procps before 3.3.10 has no `available` column; its `-/+ buffers/cache` row's free is the equivalent.
    let available_mib = column(&mem, "available").or_else(|| {
        lines
            .iter()
            .find(|l| l.contains("buffers/cache:"))
            .and_then(|l| l.split_whitespace().last()?.parse().ok())
    });
    let swap = row("Swap:");
    Some(Memory {
        total_mib,
        used_mib,
        available_mib,
        swap_total_mib: swap.as_deref().and_then(|s| column(s, "total")),
        swap_used_mib: swap.as_deref().and_then(|s| column(s, "used")),
    })
}

/// `/proc/meminfo` lines (`MemTotal:  8008636 kB`), the fallback when `free` is missing.
fn parse_meminfo(lines: &[&str]) -> Option<Memory> {
    let kib = |key: &str| -> Option<u64> {
        lines.iter().find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let total = kib("MemTotal")?;
    let available = kib("MemAvailable");
    let free_like = match (kib("MemFree"), kib("Buffers"), kib("Cached")) {
        // Saturating: three counts from the instance, each up to u64::MAX.
        (Some(f), b, c) => Some(
            f.saturating_add(b.unwrap_or(0))
                .saturating_add(c.unwrap_or(0)),
        ),
        _ => available,
    };
    let swap_total = kib("SwapTotal");
    Some(Memory {
        total_mib: total / 1024,
        used_mib: total.saturating_sub(free_like.unwrap_or(total)) / 1024,
        available_mib: available.map(|a| a / 1024),
        swap_total_mib: swap_total.map(|t| t / 1024),
        swap_used_mib: swap_total
            .zip(kib("SwapFree"))
            .map(|(t, f)| t.saturating_sub(f) / 1024),
    })
}

/// The words of a line with their byte offsets.
fn words(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

fn parse_disk(lines: &[&str]) -> Vec<Filesystem> {
    // `df -P` counts in the unit its header names: `1024-blocks` (GNU), `512-blocks`, `1K-blocks` (busybox).
    let block_bytes = lines
        .iter()
        .find(|l| l.starts_with("Filesystem"))
        .and_then(|h| h.split_whitespace().find_map(|w| w.strip_suffix("-blocks")))
        // Checked: a header like `99999999999999999999K-blocks` is not a block size, so the default holds.
        .and_then(|unit| match unit.strip_suffix(['K', 'k']) {
            Some(k) => k.parse::<u64>().ok()?.checked_mul(1024),
            None => match unit.strip_suffix('M') {
                Some(m) => m.parse::<u64>().ok()?.checked_mul(1024 * 1024),
                None => unit.parse::<u64>().ok(),
            },
        })
        .unwrap_or(1024);
    // In u128 the product cannot overflow; the quotient can still pass u64, so it saturates rather than wraps.
    let mib = |blocks: u64| {
        u64::try_from(u128::from(blocks) * u128::from(block_bytes) / (1024 * 1024))
            .unwrap_or(u64::MAX)
    };
    lines
        .iter()
        .filter(|l| !l.starts_with("Filesystem"))
        .filter_map(|line| {
            // The capacity (`NN%`) after three counts; the device before them and the mount after may hold
            // spaces.
            let w = words(line);
            let i = (4..w.len()).find(|&i| {
                w[i].1.ends_with('%') && w[i - 3..i].iter().all(|(_, t)| t.parse::<u64>().is_ok())
            })?;
            let count = |k: usize| w[k].1.parse::<u64>().ok();
            let device = line[..w[i - 3].0].trim();
            let mount = line[w[i].0 + w[i].1.len()..].trim();
            if device.is_empty() || mount.is_empty() {
                return None;
            }
            Some(Filesystem {
                device: clip(&redact(device), MAX_NAME_CHARS),
                mount: clip(&redact(mount), MAX_NAME_CHARS),
                size_mib: mib(count(i - 3)?),
                used_mib: mib(count(i - 2)?),
                available_mib: mib(count(i - 1)?),
                used_percent: w[i].1.trim_end_matches('%').parse().ok()?,
            })
        })
        .take(MAX_FILESYSTEMS)
        .collect()
}

fn log_lines<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = String> + 'a {
    lines
        .iter()
        .map(|l| clip(&redact(l.trim()), MAX_LINE_CHARS))
        .take(MAX_LOG_LINES)
}

/// `… Out of memory: Killed process 4242 (java) total-vm:…` → pid 4242, process `java`.
fn oom_kill(line: &str) -> OomKill {
    let lower = line.to_ascii_lowercase();
    let victim = ["killed process ", "kill process "].iter().find_map(|p| {
        let rest = &line[lower.find(p)? + p.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let pid = rest[..digits].parse::<u32>().ok()?;
        let name = rest[digits..]
            .strip_prefix(" (")
            .and_then(|r| r.split_once(')'))
            .map(|(n, _)| clip(n, 64));
        Some((pid, name))
    });
    OomKill {
        line: line.to_string(),
        pid: victim.as_ref().map(|(p, _)| *p),
        process: victim.and_then(|(_, n)| n),
    }
}

/// At most `max` characters, with `…` when cut.
fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s[i..].chars().nth(1).is_some() => format!("{}…", &s[..i]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
