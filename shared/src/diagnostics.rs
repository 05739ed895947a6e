//! In-guest diagnostics: parse the output of the fixed SSM command document (`docs/ssm-diagnostics.yaml`) into
//! facts, redacting secrets from every command line and log line on the way in. Pure, no I/O, never panics.
//!
//! The document prints sections `=== <name> ===`, a line `!! unavailable: <reason>` for a section the host could
//! not provide, and `=== end ===` last. Parsing is lenient: GetCommandInvocation returns only the first 24,000
//! characters of stdout, the emulator returns nothing at all, and a process can put anything in its command line,
//! so whatever cannot be read becomes an entry of [`Diagnostics::missing`] rather than an error.

use serde::{Deserialize, Serialize};

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
    /// Highest resident memory first.
    pub top_memory: Vec<Process>,
    /// OOM-killer lines of the kernel log (the last hour of the journal, or the ring buffer since boot), oldest
    /// first, at most five.
    pub oom_kills: Vec<OomKill>,
    /// Kernel log lines at level err or worse, oldest first, redacted.
    pub kernel_errors: Vec<String>,
    /// Sections absent or unreadable, each `<section>: <reason>` (`disk: df failed`, `oom: output cut short`).
    pub missing: Vec<String>,
    /// The output stopped before the end marker: cut at 24,000 characters, or the script was killed.
    pub truncated: bool,
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

/// One `ps` row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub pid: u32,
    pub user: String,
    /// CPU time over the process's lifetime (ps's %CPU, not an instant sample); 100 is one full core.
    pub cpu_percent: f64,
    pub mem_percent: f64,
    pub rss_kib: u64,
    /// Seconds since the process started.
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
            let reason = if truncated {
                "output cut short"
            } else {
                "not in output"
            };
            d.missing.push(format!("{name}: {reason}"));
            continue;
        };
        if let Some(reason) = lines.iter().find_map(|l| l.strip_prefix("!! unavailable:")) {
            d.missing.push(format!(
                "{name}: {}",
                clip(&redact(reason.trim()), MAX_REASON_CHARS)
            ));
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
            d.missing.push(format!("{name}: output cut short"));
        } else if !read {
            d.missing.push(format!("{name}: unreadable"));
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

/// Columns of `ps -eo pid,user,pcpu,pmem,rss,etimes,args`, the order the document asks for.
const PS_COLUMNS: [&str; 7] = ["PID", "USER", "%CPU", "%MEM", "RSS", "ELAPSED", "COMMAND"];

fn parse_processes(lines: &[&str]) -> Vec<Process> {
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
    let (mem_i, rss_i, elapsed_i) = (at(&["%MEM"]), at(&["RSS", "RSZ"]), at(&["ELAPSED"]));
    lines
        .iter()
        .filter(|l| !l.trim_start().starts_with("PID"))
        .filter_map(|line| {
            let w = words(line);
            let command_at = w.get(fixed)?.0;
            let field = |i: Option<usize>| i.filter(|&i| i < fixed).map(|i| w[i].1);
            let command = line[command_at..].trim_end();
            // The probe itself is not a finding.
            if command.starts_with("ps -eo pid,user,pcpu,pmem,rss,") {
                return None;
            }
            Some(Process {
                pid: field(pid_i)?.parse().ok()?,
                user: clip(field(user_i).unwrap_or_default(), 32),
                cpu_percent: field(cpu_i).and_then(number).unwrap_or(0.0),
                mem_percent: field(mem_i).and_then(number).unwrap_or(0.0),
                rss_kib: field(rss_i).and_then(|r| r.parse().ok()).unwrap_or(0),
                elapsed_secs: field(elapsed_i).and_then(elapsed),
                command: clip(&redact(command), MAX_COMMAND_CHARS),
            })
        })
        .take(MAX_PROCESSES)
        .collect()
}

/// `etimes` (seconds) or `etime` (`[[dd-]hh:]mm:ss`).
fn elapsed(s: &str) -> Option<u64> {
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

// ---------------------------------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------------------------------

/// Mask secrets in a command line or log line with `***`: values of password/secret/token/key/signature-like
/// `name=value` (ending at `&` in a URL query: `X-Amz-Signature=`), `name: value` and `--name value` arguments,
/// `-pSECRET` after mysql/psql-like programs and sshpass, `-a` after redis-cli, `-p` after `docker login` (and
/// podman, nerdctl, buildah, skopeo, helm, oras), the password of curl's `-u`/`--user`/`-U user:password`, Oracle's
/// `user/password@` (sqlplus and the other clients, `userid=`, `jdbc:oracle:thin:`), the value after
/// `aws_secret_access_key`/`aws_session_token`, `Authorization:` and `Bearer` credentials, `Cookie:` headers and
/// curl's `--cookie`/`-b`, URL user:password@, the body of a PEM private key, well-known token shapes (GitHub
/// `ghp_…`/`github_pat_…`, Slack `xoxb-…`, GitLab `glpat-…`, Stripe `sk_live_…`, Google `AIza…`, Vault `hvs.…` and
/// `s.` + 24), and AWS access key ids. Every rule swaps a non-empty value for three characters, so the output is
/// never more than about twice the input; applying it twice changes nothing more.
pub fn redact(text: &str) -> String {
    // A mask can make a word read differently to the next pass (`-u mysql://u:p@` becomes `-u mysql:***`, which
    // names a program whose `-p` is a password), so the rules run until nothing changes; each pass only masks
    // text not yet masked, so this ends within a few.
    let mut s = redact_once(text);
    for _ in 0..4 {
        let next = redact_once(&s);
        if next == s {
            break;
        }
        s = next;
    }
    s
}

fn redact_once(text: &str) -> String {
    let s = redact_private_keys(text);
    let s = redact_url_userinfo(&s);
    let s = redact_oracle_urls(&s);
    let s = redact_authorization(&s);
    let s = redact_cookies(&s);
    let s = redact_assignments(&s);
    let s = redact_arguments(&s);
    let s = redact_tokens(&s);
    redact_access_key_ids(&s)
}

/// The body of `-----BEGIN … PRIVATE KEY-----` … `-----END … PRIVATE KEY-----` (a key passed on a command line or
/// logged), markers kept; a block cut before its end marker goes to the end of the text.
fn redact_private_keys(s: &str) -> String {
    const BEGIN: &str = "-----BEGIN ";
    const END: &str = "-----END ";
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find(BEGIN) {
        let label_start = from + i + BEGIN.len();
        let Some(close) = s[label_start..].find("-----") else {
            break;
        };
        let label = &s[label_start..label_start + close];
        let body_start = label_start + close + "-----".len();
        from = body_start;
        if !label.contains("PRIVATE KEY") || label.len() > 40 {
            continue;
        }
        let body_end = s[body_start..]
            .find(END)
            .map_or(s.len(), |p| body_start + p);
        let body = &s[body_start..body_end];
        let start = body_start + (body.len() - body.trim_start().len());
        let end = body_start + body.trim_end().len();
        if end > start && &s[start..end] != REDACTED {
            spans.push((start, end));
        }
        from = body_end.max(from);
    }
    splice(s, &spans)
}

/// `jdbc:oracle:thin:scott/tiger@//host:1521/svc` → `jdbc:oracle:thin:scott/***@//host:1521/svc`.
fn redact_oracle_urls(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("jdbc:oracle:") {
        let start = from + i + "jdbc:oracle:".len();
        let end = word_end(s, start);
        from = end.max(start);
        // Past the driver (`thin:`, `oci:`), the user/password before the first `@`.
        let Some(driver) = s[start..end].find(':') else {
            continue;
        };
        let login_start = start + driver + 1;
        let Some(at) = s[login_start..end].find('@') else {
            continue;
        };
        if let Some(span) = oracle_password(s, login_start, login_start + at) {
            spans.push(span);
        }
    }
    splice(s, &spans)
}

/// The password of an Oracle `user/password` between `start` and `end`: after the first `/`, when a user name (an
/// Oracle identifier, so not `dumpfile=/u01` or a path) is before it and a password after it.
fn oracle_password(s: &str, start: usize, end: usize) -> Option<(usize, usize)> {
    let slash = s[start..end].find('/')?;
    let user = &s[start..start + slash];
    let identifier = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '#' | '"'));
    let (from, to) = (start + slash + 1, end);
    (!user.is_empty() && identifier && to > from && &s[from..to] != REDACTED).then_some((from, to))
}

/// Oracle's command-line clients, which take `user/password@connect` as an argument.
fn is_oracle_client(program: &str) -> bool {
    matches!(
        program,
        "sqlplus"
            | "sqlplus64"
            | "sql"
            | "rman"
            | "expdp"
            | "impdp"
            | "exp"
            | "imp"
            | "sqlldr"
            | "dgmgrl"
    )
}

/// Container and registry clients whose `login -p` takes the password.
fn is_registry_client(program: &str) -> bool {
    matches!(
        program,
        "docker" | "podman" | "nerdctl" | "buildah" | "skopeo" | "helm" | "oras"
    )
}

/// `Cookie:` and `Set-Cookie:` header values: to the closing quote when the header (or its value) is quoted, else
/// the words joined by `; `.
fn redact_cookies(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find("cookie") {
        let at = from + i;
        let after = at + "cookie".len();
        from = after;
        if lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        // The quote the header was opened with: `'Cookie: …'`, `"Set-Cookie: …"`.
        let header_start = if lower[..at].ends_with("set-") {
            at - 4
        } else {
            at
        };
        let opened = s[..header_start]
            .chars()
            .next_back()
            .filter(|c| is_quote(*c));
        let rest = s[after..].trim_start_matches(is_quote);
        let Some(value) = rest.strip_prefix(':') else {
            continue;
        };
        let mut start = s.len() - value.len();
        start += s[start..].len() - s[start..].trim_start_matches([' ', '\t']).len();
        let Some(first) = s[start..].chars().next() else {
            continue;
        };
        let (from_, to) = if is_quote(first) {
            let inner = start + 1;
            (inner, s[inner..].find(first).map_or(s.len(), |p| inner + p))
        } else if let Some(q) = opened {
            (start, s[start..].find(q).map_or(s.len(), |p| start + p))
        } else {
            // `a=1; b=2 next`: the words while each ends with `;`.
            let mut end = word_end(s, start);
            while s[..end].ends_with(';') && s[end..].starts_with(' ') {
                let next = end + 1;
                let next_end = word_end(s, next);
                if next_end == next {
                    break;
                }
                end = next_end;
            }
            (start, end)
        };
        if to > from_ && &s[from_..to] != REDACTED {
            spans.push((from_, to));
            from = to.max(from);
        }
    }
    splice(s, &spans)
}

/// A token prefix, the characters that may follow it, and how many must.
struct TokenShape {
    prefix: &'static str,
    min: usize,
    max: usize,
    body: fn(u8) -> bool,
}

fn alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

fn alnum_underscore(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn alnum_dash(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

fn alnum_dash_underscore(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Tokens that need no name beside them to be recognized, by their documented shapes.
const TOKEN_SHAPES: &[TokenShape] = &[
    // GitHub: classic, OAuth, user-to-server, server-to-server, refresh; fine-grained.
    TokenShape {
        prefix: "ghp_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "gho_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "ghu_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "ghs_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "ghr_",
        min: 30,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "github_pat_",
        min: 22,
        max: 255,
        body: alnum_underscore,
    },
    // Slack: bot, user, app-level, refresh, legacy workspace.
    TokenShape {
        prefix: "xoxb-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxp-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxa-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxr-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxe-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xoxs-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    TokenShape {
        prefix: "xapp-",
        min: 10,
        max: 255,
        body: alnum_dash,
    },
    // GitLab personal, deploy, runner tokens.
    TokenShape {
        prefix: "glpat-",
        min: 20,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "gldt-",
        min: 20,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "glrt-",
        min: 20,
        max: 255,
        body: alnum_dash_underscore,
    },
    // Stripe secret and restricted keys.
    TokenShape {
        prefix: "sk_live_",
        min: 16,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "rk_live_",
        min: 16,
        max: 255,
        body: alnum,
    },
    TokenShape {
        prefix: "sk_test_",
        min: 16,
        max: 255,
        body: alnum,
    },
    // Google API keys: `AIza` + 35.
    TokenShape {
        prefix: "AIza",
        min: 35,
        max: 35,
        body: alnum_dash_underscore,
    },
    // Vault service, batch and recovery tokens; legacy service tokens are `s.` + 24 (see `redact_tokens`).
    TokenShape {
        prefix: "hvs.",
        min: 24,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "hvb.",
        min: 24,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "hvr.",
        min: 24,
        max: 255,
        body: alnum_dash_underscore,
    },
    TokenShape {
        prefix: "s.",
        min: 24,
        max: 24,
        body: alnum,
    },
];

/// Bare tokens by shape, prefix kept (`ghp_***`): at a word start, the whole run of token characters, its length
/// within the shape's bounds. Vault's legacy `s.` + 24 also needs letters and digits mixed, so an ordinary
/// `s.` + 24 letters (a Java package, a host name) stays.
fn redact_tokens(s: &str) -> String {
    let b = s.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let boundary =
            i == 0 || !(b[i - 1].is_ascii_alphanumeric() || matches!(b[i - 1], b'_' | b'-' | b'.'));
        let shape = boundary
            .then(|| {
                TOKEN_SHAPES
                    .iter()
                    .find(|t| b[i..].starts_with(t.prefix.as_bytes()))
            })
            .flatten();
        let Some(t) = shape else {
            i += 1;
            continue;
        };
        let start = i + t.prefix.len();
        let run = b[start..].iter().take_while(|c| (t.body)(**c)).count();
        let body = &b[start..start + run];
        // A run that goes on with a `.` or `-` past the shape's own characters is a name, not a token.
        let after_ok = b
            .get(start + run)
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || *c == b'_'));
        let mixed = t.prefix != "s."
            || (body.iter().any(u8::is_ascii_digit) && body.iter().any(u8::is_ascii_alphabetic));
        if (t.min..=t.max).contains(&run) && after_ok && mixed {
            spans.push((start, start + run));
            i = start + run;
        } else {
            i += t.prefix.len();
        }
    }
    splice(s, &spans)
}

/// Replace the byte ranges (sorted, non-overlapping, on char boundaries) with [`REDACTED`].
fn splice(s: &str, spans: &[(usize, usize)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for &(start, end) in spans {
        if start < at || end <= start || end > s.len() {
            continue;
        }
        out.push_str(&s[at..start]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&s[at..]);
    out
}

fn is_quote(c: char) -> bool {
    c == '"' || c == '\''
}

/// The end of the word starting at `start` (whitespace or a quote ends it).
fn word_end(s: &str, start: usize) -> usize {
    s[start..]
        .find(|c: char| c.is_whitespace() || is_quote(c))
        .map_or(s.len(), |i| start + i)
}

/// `scheme://user:password@host` → `scheme://user:***@host`; a long bare userinfo (`https://TOKEN@host`) goes too.
fn redact_url_userinfo(s: &str) -> String {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let start = from + i + 3;
        let end = word_end(s, start);
        let authority = &s[start..end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) if !userinfo[..colon].contains('/') && colon + 1 < userinfo.len() => {
                    spans.push((start + colon + 1, start + at));
                }
                None if userinfo.len() >= 16 && !userinfo.contains('/') && userinfo != REDACTED => {
                    spans.push((start, start + at));
                }
                _ => {}
            }
        }
        from = end.max(start);
    }
    splice(s, &spans)
}

/// `Authorization: <scheme> <credentials>` (also `"Authorization": "…"` and `authorization=…`; a bare credential
/// without a scheme goes whole) and `Bearer <token>` anywhere.
fn redact_authorization(s: &str) -> String {
    let lower = s.to_ascii_lowercase();
    let mut spans = Vec::new();
    // The next word from `from`, past blanks and opening quotes.
    let next_word = |from: usize| -> Option<(usize, usize)> {
        let start = from + s[from..].find(|c: char| c != ' ' && c != '\t' && !is_quote(c))?;
        let end = word_end(s, start);
        (end > start).then_some((start, end))
    };
    let mut from = 0;
    while let Some(i) = lower[from..].find("authorization") {
        let after = from + i + "authorization".len();
        from = after;
        let rest = s[after..].trim_start_matches(is_quote);
        let Some(value) = rest.strip_prefix([':', '=']) else {
            continue;
        };
        let Some((w1, w1_end)) = next_word(s.len() - value.len()) else {
            continue;
        };
        let scheme = &s[w1..w1_end];
        let is_scheme = scheme.len() <= 10 && scheme.chars().all(|c| c.is_ascii_alphabetic());
        let credentials = next_word(w1_end).filter(|_| s[w1_end..].starts_with([' ', '\t']));
        match credentials {
            Some(span) if is_scheme => spans.push(span),
            // No scheme, or nothing after it: the first word is the credential.
            _ => spans.push((w1, w1_end)),
        }
    }
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer") {
        let at = from + i;
        let after = at + "bearer".len();
        from = after;
        let boundary = !lower[..at].ends_with(|c: char| c.is_ascii_alphanumeric());
        if boundary && s[after..].starts_with([' ', '\t']) {
            if let Some(span) = next_word(after) {
                spans.push(span);
            }
        }
    }
    spans.sort_unstable();
    spans.dedup();
    splice(s, &spans)
}

/// Whether an argument or key names a secret: `password`, `DB_PASSWORD`, `--api-key`, `clientSecret`,
/// `aws_secret_access_key`, `X-Auth-Token`, `pwd`, … but not `key_file` or `token_type`.
fn is_secret_name(name: &str) -> bool {
    let name = name.trim_start_matches('-');
    let mut normal = String::with_capacity(name.len() + 4);
    let mut previous_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && previous_lower {
            normal.push('_');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        normal.push(match c {
            '-' | '.' => '_',
            c => c.to_ascii_lowercase(),
        });
    }
    let last = normal.rsplit('_').next().unwrap_or_default();
    const LAST: [&str; 14] = [
        "signature",
        "sig",
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        "secret",
        "token",
        "key",
        "apikey",
        "credential",
        "credentials",
        "pw",
    ];
    const JOINED: [&str; 8] = [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
    ];
    let joined: String = normal.chars().filter(|c| *c != '_').collect();
    LAST.contains(&last) || JOINED.iter().any(|j| joined.ends_with(j))
}

/// `name=value` and `name: value` where the name is a secret's; a quoted value keeps its quotes.
fn redact_assignments(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut spans = Vec::new();
    let mut covered = 0;
    for (i, sep) in s.char_indices().filter(|(_, c)| *c == '=' || *c == ':') {
        if i < covered {
            continue;
        }
        // The name: identifier characters right before the separator, past one closing quote (`"token":`).
        let mut name_end = i;
        if name_end > 0 && is_quote(char::from(bytes[name_end - 1])) {
            name_end -= 1;
        }
        let name_start = s[..name_end]
            .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .len();
        let name = &s[name_start..name_end];
        if name.is_empty() || name_end - name_start > 64 || !is_secret_name(name) {
            continue;
        }
        let mut start = i + 1;
        if sep == ':' {
            start += s[start..].len() - s[start..].trim_start_matches([' ', '\t']).len();
        }
        let Some(first) = s[start..].chars().next() else {
            continue;
        };
        // In a URL query (`?X-Amz-Signature=…&X-Amz-Date=…`) the value ends at the next parameter.
        let in_query = sep == '=' && s[..name_start].ends_with(['?', '&']);
        let (from, to) = if is_quote(first) {
            let inner = start + 1;
            let close = s[inner..].find(first).map_or(s.len(), |p| inner + p);
            (inner, close)
        } else {
            let end = s[start..]
                .find(|c: char| c.is_whitespace() || (in_query && matches!(c, '&' | '#')))
                .map_or(s.len(), |p| start + p);
            (start, end)
        };
        if to > from {
            spans.push((from, to));
            covered = to;
        }
    }
    splice(s, &spans)
}

/// Programs whose `-p<password>` is attached to the flag (mysql family, MariaDB, PostgreSQL clients, sshpass).
fn takes_attached_password(program: &str) -> bool {
    program.starts_with("mysql")
        || program.starts_with("mariadb")
        || program.starts_with("pg_")
        || program == "psql"
        || program == "sshpass"
}

/// Argument-level rules: `--password VALUE`, `aws_secret_access_key VALUE`, `mysql … -pSECRET`,
/// `sshpass -p SECRET`, `redis-cli -a SECRET`, `docker login -p SECRET`, `curl -u user:SECRET`,
/// `curl --cookie a=SECRET`, `sqlplus scott/SECRET@db`, `expdp userid=scott/SECRET`.
fn redact_arguments(s: &str) -> String {
    let w = words(s);
    let mut spans = Vec::new();
    let mut program: Option<String> = None;
    // `docker login` seen: its `-p` is the password (elsewhere `docker -p` publishes a port).
    let mut login = false;
    for (k, &(start, word)) in w.iter().enumerate() {
        let wrapping = |c: char| is_quote(c) || matches!(c, ';' | '(' | ')');
        let bare = word.trim_matches(wrapping);
        let lead = word.len() - word.trim_start_matches(wrapping).len();
        let at = start + lead;
        // The program name, also inside `sh -c "mysql …"` or `proctitle="mysql …"`.
        let base = bare
            .rsplit(['/', '"', '\'', '='])
            .next()
            .unwrap_or(bare)
            .to_ascii_lowercase();
        // A word masked as the value before it (`--token curl`) starts no program: the second pass sees `***`
        // there, and a switch of rules between the passes would make masking twice mask more.
        let masked = spans.last().is_some_and(|&(from, _)| from == start);
        let program_word = takes_attached_password(&base)
            || base == "redis-cli"
            || base == "curl"
            || is_registry_client(&base)
            || is_oracle_client(&base);
        if program_word && !masked {
            program = Some(base);
            login = false;
            continue;
        }
        // The word at k + 1 (past a lone `=` or `:`), unless it looks like the next option.
        let value_at = |k: usize| -> Option<(usize, &str)> {
            let mut j = k + 1;
            if matches!(w.get(j), Some((_, "=" | ":"))) {
                j += 1;
            }
            let &(vs, v) = w.get(j)?;
            let option = v.starts_with("--") || (v.starts_with('-') && v.len() <= 2);
            (!option && v != REDACTED).then_some((vs, v))
        };
        let mut value_of = |k: usize| {
            if let Some((vs, v)) = value_at(k) {
                spans.push((vs, vs + v.len()));
            }
        };
        let lower = bare.to_ascii_lowercase();
        if bare.starts_with('-') && !bare.contains('=') && bare.len() > 1 && is_secret_name(bare)
            || lower == "aws_secret_access_key"
            || lower == "aws_session_token"
        {
            value_of(k);
            continue;
        }
        let Some(program) = program.as_deref() else {
            continue;
        };
        if program == "curl" {
            // `-u user:password`, `--user=user:password`, `-uuser:password`, the proxy's `-U`: the part after
            // the first colon (without one, curl prompts for the password: nothing to hide).
            let credentials = match bare {
                "-u" | "--user" | "-U" | "--proxy-user" => value_at(k),
                _ => ["--user=", "--proxy-user=", "-u", "-U"]
                    .iter()
                    .find_map(|p| bare.strip_prefix(p).filter(|v| !v.is_empty()))
                    .map(|v| (at + bare.len() - v.len(), v)),
            };
            if let Some((vs, v)) = credentials {
                if let Some(colon) = v.find(':').filter(|c| c + 1 < v.len()) {
                    let rest = v.trim_end_matches(wrapping);
                    if &rest[colon + 1..] != REDACTED && rest.len() > colon + 1 {
                        spans.push((vs + colon + 1, vs + rest.len()));
                    }
                }
            }
            // A cookie string (`name=value`), not a cookie file.
            if matches!(bare, "-b" | "--cookie") {
                if let Some((vs, v)) = value_at(k).filter(|(_, v)| v.contains('=')) {
                    spans.push((vs, vs + v.len()));
                }
            }
            continue;
        }
        if is_registry_client(program) {
            if bare == "login" {
                login = true;
            } else if login && bare == "-p" {
                value_of(k);
            } else if let Some(value) = bare.strip_prefix("-p").filter(|_| login) {
                if !value.is_empty() && value != REDACTED && !bare.starts_with("--") {
                    spans.push((at + 2, at + 2 + value.len()));
                }
            }
            continue;
        }
        if is_oracle_client(program) {
            // `scott/tiger@db`, `userid=scott/tiger`, `"sys/pw@db as sysdba"`; not `/nolog` or `@script.sql`.
            let account = match lower.strip_prefix("userid=") {
                Some(_) => &bare["userid=".len()..],
                None => bare,
            };
            let account_at = at + bare.len() - account.len();
            if !account.starts_with(['-', '/', '@']) {
                let end = account.find('@').unwrap_or(account.len());
                if let Some(span) = oracle_password(s, account_at, account_at + end) {
                    spans.push(span);
                }
            }
            continue;
        }
        let flag = match program {
            "redis-cli" => "-a",
            _ => "-p",
        };
        if bare == flag && (program == "sshpass" || program == "redis-cli") {
            value_of(k);
        } else if let Some(value) = bare.strip_prefix(flag) {
            if !value.is_empty() && value != REDACTED && !bare.starts_with("--") {
                let from = at + flag.len();
                spans.push((from, from + value.len()));
            }
        }
    }
    spans.sort_unstable();
    spans.dedup();
    splice(s, &spans)
}

/// `AKIA`/`ASIA` + 16 upper-case letters or digits (also a prefix of one, at least 8 long, cut at the end of the
/// text) → `AKIA***`.
fn redact_access_key_ids(s: &str) -> String {
    let b = s.as_bytes();
    let key_char = |c: u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 4 <= b.len() {
        let prefix = &b[i..i + 4];
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary && (prefix == b"AKIA" || prefix == b"ASIA") {
            let run = b[i + 4..].iter().take_while(|c| key_char(**c)).count();
            let at_end = i + 4 + run == b.len();
            let after_ok = b
                .get(i + 4 + run)
                .is_none_or(|c| !c.is_ascii_alphanumeric());
            if (run == 16 && after_ok) || (at_end && (8..16).contains(&run)) {
                spans.push((i + 4, i + 4 + run));
                i += 4 + run;
                continue;
            }
        }
        i += 1;
    }
    splice(s, &spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("", 0), "");
        assert_eq!(clip("é日本", 2), "é…");
    }

    #[test]
    fn elapsed_reads_seconds_and_clock_forms() {
        assert_eq!(elapsed("86399"), Some(86_399));
        assert_eq!(elapsed("01:02"), Some(62));
        assert_eq!(elapsed("1-02:03:04"), Some(93_784));
        assert_eq!(elapsed("x:1"), None);
    }

    #[test]
    fn uptime_reads_proc_and_the_uptime_command() {
        assert_eq!(parse_uptime("4546.60 2457.10"), Some(4546));
        assert_eq!(
            parse_uptime(" 10:12:01 up 3 days,  4:05,  2 users,  load average: 0.00, 0.01, 0.05"),
            Some(3 * 86_400 + 4 * 3600 + 5 * 60)
        );
        assert_eq!(parse_uptime(" 10:12:01 up 17 min,  1 user"), Some(17 * 60));
        assert_eq!(parse_uptime("inf 0"), None);
    }

    #[test]
    fn secret_names_follow_separators_and_camel_case() {
        for name in [
            "password",
            "--db-password",
            "DB_PASSWORD",
            "clientSecret",
            "apiKey",
            "X-Api-Key",
            "aws_secret_access_key",
            "pwd",
            "authToken",
            "APIKEY",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "key_file",
            "token_type",
            "monkey",
            "bypass",
            "user",
            "keyboard",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
