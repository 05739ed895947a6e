//! What the logs say: lines from the instance's CloudWatch Logs streams around the transition, error-level lines
//! first, redacted as the in-guest diagnostics are, and the LOG-ERRORS rule.
//!
//! Expected layout (the CloudWatch agent's common one): the log groups named in `EC2OPS_LOG_GROUPS`
//! (`/var/log/messages`, `/ec2/app`, …), one stream per instance named by (or starting with) the instance id, as the
//! agent's default `log_stream_name` `{instance_id}` gives. A group that does not exist, or has no stream of this
//! instance, is said in one line, not treated as an error.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::source::{Gap, Source};

/// Minutes read before the transition.
pub const BEFORE_MINUTES: i64 = 10;
/// Minutes read after it (what the failure wrote while the alarm evaluated).
pub const AFTER_MINUTES: i64 = 2;
/// Events read per log group at most (FilterLogEvents pages until this many).
pub const READ_PER_GROUP: usize = 500;
/// Lines kept for the report.
pub const MAX_LINES: usize = 6;
/// Longest line kept (after redaction).
const LINE_MAX: usize = 240;

/// One event of a log stream, as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLine {
    pub stream: String,
    pub at: DateTime<Utc>,
    pub message: String,
}

/// Why a group gave no lines.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// The group does not exist.
    NotFound,
    /// The read failed (throttled, timed out, denied).
    Failed(Gap),
}

/// What an error-level line says, gravest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Signal {
    /// The OOM killer, or an out-of-memory error.
    Oom,
    /// A full disk (`No space left on device`).
    DiskFull,
    /// Kernel trouble: panic, hung task, I/O or filesystem errors.
    Kernel,
    /// An application exception or panic.
    Exception,
    /// Any other error-level line.
    Error,
}

impl Signal {
    pub fn label(self) -> &'static str {
        match self {
            Signal::Oom => "out of memory (OOM killer)",
            Signal::DiskFull => "disk full",
            Signal::Kernel => "kernel errors",
            Signal::Exception => "application exceptions",
            Signal::Error => "errors",
        }
    }
}

/// The error-level signal of a line, if any.
pub fn signal(message: &str) -> Option<Signal> {
    let m = message.to_ascii_lowercase();
    let any = |ps: &[&str]| ps.iter().any(|p| m.contains(p));
    if any(&[
        "out of memory",
        "oom-kill",
        "oom_kill",
        "oom-killer",
        "outofmemoryerror",
        "cannot allocate memory",
    ]) {
        Some(Signal::Oom)
    } else if any(&[
        "no space left on device",
        "disk full",
        "enospc",
        "disk quota exceeded",
    ]) {
        Some(Signal::DiskFull)
    } else if any(&[
        "kernel panic",
        "blocked for more than",
        "i/o error",
        "ext4-fs error",
        "xfs_error",
        "segfault",
        "call trace",
        "soft lockup",
    ]) {
        Some(Signal::Kernel)
    } else if any(&["exception", "traceback", "panicked at", "stack trace"]) {
        Some(Signal::Exception)
    } else if any(&["error", "fatal", "critical", "emerg", "severe"]) {
        Some(Signal::Error)
    } else {
        None
    }
}

/// A line cited in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub group: String,
    pub stream: String,
    pub at: DateTime<Utc>,
    pub signal: Option<Signal>,
    /// Redacted, one line, bounded.
    pub text: String,
}

/// How reading one group went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRead {
    /// Lines of this instance's streams in the window.
    Read {
        lines: usize,
    },
    NotFound,
    Failed(Gap),
}

/// What the logs said.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogEvidence {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The stream prefix read (the instance id).
    pub stream_prefix: String,
    /// Each configured group and how it read; empty when none is configured.
    pub groups: Vec<(String, GroupRead)>,
    /// The cited lines: error-level first (gravest, then closest to the transition), then the closest others.
    pub lines: Vec<LogLine>,
    /// Error-level lines found in all (cited or not).
    pub signals: usize,
}

impl LogEvidence {
    /// Whether any group was read at all.
    pub fn configured(&self) -> bool {
        !self.groups.is_empty()
    }
}

/// The window read around a transition.
pub fn window(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        at.checked_sub_signed(Duration::minutes(BEFORE_MINUTES))
            .unwrap_or(at),
        at.checked_add_signed(Duration::minutes(AFTER_MINUTES))
            .unwrap_or(at),
    )
}

/// Put the groups' reads together and pick the lines to cite. Unavailable only when every group's read failed.
pub fn assemble(
    at: DateTime<Utc>,
    stream_prefix: &str,
    reads: Vec<(String, Result<Vec<RawLine>, ReadError>)>,
) -> Source<LogEvidence> {
    let failed: Vec<(String, Gap)> = reads
        .iter()
        .filter_map(|(g, r)| match r {
            Err(ReadError::Failed(why)) => Some((g.clone(), why.clone())),
            _ => None,
        })
        .collect();
    if !reads.is_empty() && failed.len() == reads.len() {
        return Source::Unavailable(Gap::Each(failed));
    }
    let (since, until) = window(at);
    let mut out = LogEvidence {
        since: Some(since),
        until: Some(until),
        stream_prefix: stream_prefix.to_string(),
        ..LogEvidence::default()
    };
    let mut all: Vec<LogLine> = Vec::new();
    for (group, read) in reads {
        match read {
            Ok(lines) => {
                out.groups
                    .push((group.clone(), GroupRead::Read { lines: lines.len() }));
                all.extend(
                    lines
                        .into_iter()
                        .filter(|l| l.at >= since && l.at <= until)
                        .map(|l| {
                            let text =
                                super::one_line(&crate::diagnostics::redact(&l.message), LINE_MAX);
                            LogLine {
                                group: group.clone(),
                                stream: l.stream,
                                at: l.at,
                                signal: signal(&l.message),
                                text: text.trim().to_string(),
                            }
                        }),
                );
            }
            Err(ReadError::NotFound) => out.groups.push((group, GroupRead::NotFound)),
            Err(ReadError::Failed(why)) => out.groups.push((group, GroupRead::Failed(why))),
        }
    }
    all.retain(|l| !l.text.is_empty());
    out.signals = all.iter().filter(|l| l.signal.is_some()).count();
    let distance = |l: &LogLine| (l.at - at).num_milliseconds().abs();
    all.sort_by(|a, b| match (a.signal, b.signal) {
        (Some(x), Some(y)) => x.cmp(&y).then(distance(a).cmp(&distance(b))),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => distance(a).cmp(&distance(b)),
    });
    // The same message repeated (a crash loop) is cited once.
    let mut seen = std::collections::BTreeSet::new();
    all.retain(|l| seen.insert(l.text.clone()));
    all.truncate(MAX_LINES);
    out.lines = all;
    Source::Available(out)
}

pub fn with_signal<'a>(
    l: &'a LogEvidence,
    wanted: &'a [Signal],
) -> impl Iterator<Item = &'a LogLine> {
    l.lines
        .iter()
        .filter(move |x| x.signal.is_some_and(|s| wanted.contains(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::evidence::{corroborate, log_errors};
    use crate::analyze::{Detail, Finding, RuleId};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn line(at: &str, m: &str) -> RawLine {
        RawLine {
            stream: "i-0abc".into(),
            at: t(at),
            message: m.into(),
        }
    }

    #[test]
    fn error_level_patterns_are_recognized_gravest_first() {
        assert_eq!(
            signal("kernel: Out of memory: Killed process 4242 (java)"),
            Some(Signal::Oom)
        );
        assert_eq!(
            signal("write /var/lib/app/x: No space left on device"),
            Some(Signal::DiskFull)
        );
        assert_eq!(
            signal("INFO: task jbd2 blocked for more than 120 seconds"),
            Some(Signal::Kernel)
        );
        assert_eq!(
            signal("java.lang.IllegalStateException: boom"),
            Some(Signal::Exception)
        );
        assert_eq!(signal("ERROR db pool exhausted"), Some(Signal::Error));
        assert_eq!(signal("GET /health 200"), None);
    }

    #[test]
    fn cited_lines_are_error_level_first_redacted_bounded_and_inside_the_window() {
        let at = t("2025-07-20T12:20:00Z");
        let reads = vec![(
            "/ec2/app".to_string(),
            Ok(vec![
                line("2025-07-20T12:19:50Z", "GET /health 200"),
                line(
                    "2025-07-20T12:15:00Z",
                    "ERROR login failed password=hunter2",
                ),
                line(
                    "2025-07-20T12:18:00Z",
                    "kernel: Out of memory: Killed process 4242 (java)",
                ),
                line("2025-07-20T11:00:00Z", "FATAL long before the window"),
                line(
                    "2025-07-20T12:19:00Z",
                    &format!("ERROR {}", "x".repeat(1000)),
                ),
            ]),
        )];
        let l = assemble(at, "i-0abc", reads);
        let l = l.get().unwrap();
        assert_eq!(l.lines[0].signal, Some(Signal::Oom));
        assert!(
            l.lines.iter().all(|x| !x.text.contains("hunter2")),
            "{:?}",
            l.lines
        );
        assert!(l.lines.iter().all(|x| x.text.chars().count() <= 240));
        assert!(!l.lines.iter().any(|x| x.text.contains("long before")));
        assert_eq!(l.lines.last().unwrap().text, "GET /health 200");
        assert_eq!(l.signals, 3);
    }

    #[test]
    fn a_missing_group_is_a_line_not_an_error_and_all_failing_is_unavailable() {
        let at = t("2025-07-20T12:20:00Z");
        let l = assemble(
            at,
            "i-0abc",
            vec![
                ("/gone".to_string(), Err(ReadError::NotFound)),
                ("/ec2/app".to_string(), Ok(vec![])),
            ],
        );
        assert_eq!(l.get().unwrap().groups[0].1, GroupRead::NotFound);
        let l = assemble(
            at,
            "i-0abc",
            vec![(
                "/ec2/app".to_string(),
                Err(ReadError::Failed(Gap::Failed("ThrottlingException".into()))),
            )],
        );
        assert!(l
            .reason()
            .unwrap()
            .to_string()
            .contains("ThrottlingException"));
    }

    #[test]
    fn an_oom_in_the_logs_is_a_log_errors_finding_unless_memory_pressure_already_cites_it() {
        let at = t("2025-07-20T12:20:00Z");
        let change = crate::evidence::test_alarm(at);
        let l = assemble(
            at,
            "i-0abc",
            vec![(
                "/var/log/messages".to_string(),
                Ok(vec![line(
                    "2025-07-20T12:18:00Z",
                    "kernel: Out of memory: Killed process 4242 (java)",
                )]),
            )],
        );
        let l = l.get().unwrap();
        let f = log_errors(&change, l, &[]).unwrap();
        assert_eq!(f.rule, RuleId::LogErrors);
        let english =
            |o| crate::report::evidence::line(o, chrono_tz::UTC, crate::config::Language::En, 60);
        assert!(english(&f.evidence[0]).contains("Killed process 4242"));
        let mut mem = vec![Finding {
            rule: RuleId::Mem,
            detail: Detail::Pressure(crate::analyze::Pressure::Memory { percent: 97.0 }),
            evidence: vec![],
        }];
        corroborate(l, &mut mem);
        assert!(english(&mem[0].evidence[0])
            .starts_with("12:18 UTC log /var/log/messages: kernel: Out of memory"));
        assert!(log_errors(&change, l, &mem).is_none());
    }
}
