//! The storm digest (pure): when incidents arrive faster than they can be published one by one, a storm window's
//! incidents are published as one message listing them all, grouped by fleet alarm, by availability zone and alarm
//! family, or by family alone; groups holding P0s first, each group's incidents P0 first. Every entry keeps its
//! incident key (to print the full report with `ec2ops incidents show KEY`) and its thread id (so the incident's own
//! follow-ups, which thread on it, can be matched with it).
//!
//! One message per window rather than one per group: the digests themselves then never add more than one publish per
//! window, and every P0 of the window is in the first message a reader opens. Rendered as the plain-text email and an
//! AWS Chatbot custom notification, within the same limits and with the same cut notices as a report.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::render::{SnsMessage, CHAT_DESCRIPTION_MAX_CHARS, CHAT_TITLE_MAX_CHARS, SNS_MAX_BYTES};
use super::shell::Command;
use super::text::{ascii, bound, code_span, escape_entities, sanitize, Line};
use super::Report;
use crate::analyze::Priority;
use crate::config::Language;

/// Longest cause sentence kept per entry (chars): a digest lists many incidents, each full report is a command away.
pub const MAX_CAUSE_CHARS: usize = 200;
/// Longest user-controlled name (alarm, Name tag) kept per entry (chars).
pub const MAX_NAME_CHARS: usize = 100;

/// One incident as a digest lists it: plain data, stored in the ledger's digest buffer until the window closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub incident_key: String,
    pub thread_id: String,
    #[serde(with = "priority_label")]
    pub priority: Priority,
    /// The report's short English title, e.g. `High CPU`.
    pub headline: String,
    /// The most likely cause, one sentence in the report's language (the report's top finding).
    pub cause: String,
    pub instance: Option<String>,
    /// The instance's `Name` tag (user text).
    pub name: Option<String>,
    pub az: Option<String>,
    /// The alarm's name (user text).
    pub alarm: String,
    /// What kind of alarm, from its metric ([`family`]): `status checks`, `CPU`, …
    pub family: String,
    /// The fleet alarm the incident belongs to (a contributor of a multi-time-series alarm, or the fleet summary).
    pub fleet: Option<String>,
    /// What ec2ops did, in a few words (`dry-run reboot`), when it did anything.
    pub action: Option<String>,
    /// When the alarm changed state.
    pub at: DateTime<Utc>,
    /// Its report was silenced (`[muted]`): listed, never a reason for the digest to page.
    #[serde(default)]
    pub quiet: bool,
}

/// Where an incident comes from, beside its report: what the pipeline knows of the change and the facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    pub instance: Option<String>,
    pub name: Option<String>,
    pub az: Option<String>,
    pub alarm: String,
    /// The alarm's metric name, when it has one.
    pub metric: Option<String>,
    pub fleet: Option<String>,
    pub action: Option<String>,
    pub at: DateTime<Utc>,
}

impl DigestEntry {
    /// The entry of a built report.
    pub fn new(report: &Report, origin: Origin) -> Self {
        DigestEntry {
            incident_key: report.incident_key.clone(),
            thread_id: report.thread_id.clone(),
            priority: report.priority,
            headline: report.headline.clone(),
            cause: sanitize(&report.cause, MAX_CAUSE_CHARS),
            family: family(origin.metric.as_deref()).to_string(),
            instance: origin.instance,
            name: origin.name.map(|n| sanitize(&n, MAX_NAME_CHARS)),
            az: origin.az,
            alarm: sanitize(&origin.alarm, MAX_NAME_CHARS),
            fleet: origin.fleet.map(|f| sanitize(&f, MAX_NAME_CHARS)),
            action: origin.action,
            at: origin.at,
            quiet: report.quiet,
        }
    }
}

pub use crate::catalogue::family;

/// A digest's grouping of incidents.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Every incident of one fleet alarm, whatever the zone: one alarm, one group.
    Fleet(String),
    /// One availability zone and alarm family: an AZ-wide event shows as one group.
    Az { az: String, family: String },
    /// One alarm family where the zone is unknown.
    Family(String),
}

impl Group {
    /// The group of an entry.
    pub fn of(e: &DigestEntry) -> Group {
        match (&e.fleet, &e.az) {
            (Some(f), _) => Group::Fleet(f.clone()),
            (None, Some(az)) => Group::Az {
                az: az.clone(),
                family: e.family.clone(),
            },
            (None, None) => Group::Family(e.family.clone()),
        }
    }

    fn line(&self, lang: Language) -> Line {
        match self {
            Group::Fleet(name) => Line::new()
                .t(l!(lang, "플릿 알람 ", "fleet alarm "))
                .u(name),
            Group::Az { az, family } => Line::new().c(az.clone()).t(format!(" · {family}")),
            Group::Family(family) => {
                Line::from(l!(lang, "{} (AZ 정보 없음)", "{} (zone unknown)", family))
            }
        }
    }
}

/// A storm window's incidents, grouped and ordered.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// Groups holding the most urgent incidents first; in each, P0 first, then by time.
    pub groups: Vec<(Group, Vec<DigestEntry>)>,
    pub language: Language,
    pub time_zone: Tz,
    /// The publish rate above which incidents went to the digest, per second (said in the message).
    pub rate_per_second: u32,
}

impl Digest {
    /// Group and order a window's entries; an incident listed twice (a buffered entry written again by a retry)
    /// appears once.
    pub fn new(
        entries: Vec<DigestEntry>,
        window_start: DateTime<Utc>,
        window_end: DateTime<Utc>,
        language: Language,
        time_zone: Tz,
        rate_per_second: u32,
    ) -> Digest {
        let mut seen = BTreeSet::new();
        let mut by_group: BTreeMap<Group, Vec<DigestEntry>> = BTreeMap::new();
        for e in entries {
            if seen.insert(e.incident_key.clone()) {
                by_group.entry(Group::of(&e)).or_default().push(e);
            }
        }
        let mut groups: Vec<(Group, Vec<DigestEntry>)> = by_group
            .into_iter()
            .map(|(g, mut es)| {
                es.sort_by(|a, b| {
                    (a.priority, a.at, &a.incident_key).cmp(&(b.priority, b.at, &b.incident_key))
                });
                (g, es)
            })
            .collect();
        groups.sort_by_key(|(g, es)| {
            let best = es.iter().map(|e| e.priority).min();
            let top = es.iter().filter(|e| Some(e.priority) == best).count();
            (best, Reverse(top), Reverse(es.len()), g.clone())
        });
        Digest {
            window_start,
            window_end,
            groups,
            language,
            time_zone,
            rate_per_second,
        }
    }

    pub fn len(&self) -> usize {
        self.groups.iter().map(|(_, es)| es.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most urgent priority of the window.
    pub fn priority(&self) -> Option<Priority> {
        self.entries().map(|e| e.priority).min()
    }

    /// Every entry, in the order shown.
    pub fn entries(&self) -> impl Iterator<Item = &DigestEntry> {
        self.groups.iter().flat_map(|(_, es)| es.iter())
    }

    /// The chat thread of the digest itself: one per window.
    pub fn thread_id(&self) -> String {
        format!(
            "ec2ops-digest#{}",
            self.window_start.format("%Y%m%dT%H%M%SZ")
        )
    }

    /// How many incidents of each priority, e.g. `P0 50 · P2 7`.
    fn counts(&self) -> String {
        let mut n: BTreeMap<Priority, usize> = BTreeMap::new();
        for e in self.entries() {
            *n.entry(e.priority).or_default() += 1;
        }
        n.iter()
            .map(|(p, c)| format!("{} {c}", p.label()))
            .collect::<Vec<_>>()
            .join(" · ")
    }

    fn window(&self) -> String {
        let lang = self.language;
        let (s, e) = (self.window_start, self.window_end);
        match lang {
            Language::Ko => format!(
                "{}–{} ({}–{} UTC)",
                s.with_timezone(&self.time_zone).format("%Y-%m-%d %H:%M:%S"),
                e.with_timezone(&self.time_zone).format("%H:%M:%S %Z"),
                s.format("%H:%M:%S"),
                e.format("%H:%M:%S")
            ),
            Language::En => format!(
                "{}–{} UTC",
                s.format("%Y-%m-%d %H:%M:%S"),
                e.format("%H:%M:%S")
            ),
        }
    }

    fn title(&self) -> String {
        let p0 = self
            .entries()
            .filter(|e| e.priority == Priority::P0)
            .count();
        l!(
            self.language,
            "[{}] 🌀 폭주 요약(digest): 인시던트 {}건 (P0 {}건)",
            "[{}] 🌀 Storm digest: {} incidents ({} P0)",
            self.priority().map_or("P3", Priority::label),
            self.len(),
            p0
        )
    }

    /// ASCII, under 100 characters.
    pub fn subject(&self) -> String {
        let p0 = self
            .entries()
            .filter(|e| e.priority == Priority::P0)
            .count();
        let s = format!(
            "[{}] ec2ops digest: {} incidents ({} P0) {}-{} UTC",
            self.priority().map_or("P3", Priority::label),
            self.len(),
            p0,
            self.window_start.format("%H:%M:%S"),
            self.window_end.format("%H:%M:%S")
        );
        bound(&ascii(&s), 99)
    }

    /// The lines above the groups: that this is a digest, why, and how to see each incident.
    fn intro(&self) -> Vec<Line> {
        let lang = self.language;
        vec![
            Line::from(l!(
                lang,
                "이 메시지는 요약(digest)입니다: 인시던트가 초당 {}건보다 빠르게 발생해 하나씩 보내지 않고 모아서 보냅니다. 각 인시던트는 평소처럼 분석·기록되었고 안전 규칙 안에서 조치되었습니다.",
                "This is a digest: incidents arrived faster than {} per second, so they are listed here instead of sent one by one. Each one was analysed, recorded and acted on under the safety rules as usual.",
                self.rate_per_second
            )),
            Line::new()
                .t(l!(lang, "인시던트 하나의 전체 보고서: ", "Full report of one incident: "))
                .c("ec2ops incidents show KEY"),
            Line::from(l!(lang, "기간: {}", "Window: {}", self.window())),
            Line::from(l!(lang, "우선순위: {}", "Priorities: {}", self.counts())),
        ]
    }

    fn group_title(&self, g: &Group, es: &[DigestEntry]) -> Line {
        let lang = self.language;
        let mut n: BTreeMap<Priority, usize> = BTreeMap::new();
        for e in es {
            *n.entry(e.priority).or_default() += 1;
        }
        let counts = n
            .iter()
            .map(|(p, c)| format!("{} {c}", p.label()))
            .collect::<Vec<_>>()
            .join(", ");
        g.line(lang).t(l!(
            lang,
            " — 인시던트 {}건 ({})",
            " — {} incidents ({})",
            es.len(),
            counts
        ))
    }

    /// An entry's two lines: what and why, then how to see it.
    fn entry_lines(&self, e: &DigestEntry) -> [Line; 2] {
        let lang = self.language;
        let mut first = Line::new().t(format!("[{}] ", e.priority.label()));
        match &e.instance {
            Some(i) => first = first.c(i.clone()),
            None => first = first.u(&e.alarm),
        }
        if let Some(n) = &e.name {
            first = first.t(" (").u(n).t(")");
        }
        // Korean reports give times in the configured zone, English ones in UTC (as the reports do).
        let at = match lang {
            Language::Ko => {
                e.at.with_timezone(&self.time_zone)
                    .format("%H:%M:%S %Z")
                    .to_string()
            }
            Language::En => e.at.format("%H:%M:%S UTC").to_string(),
        };
        first = first.t(format!(" {at} — ")).t(e.cause.clone());
        if let Some(a) = &e.action {
            first = first.t(l!(lang, " · 조치: {}", " · action: {}", a));
        }
        let second = Line::new()
            .c(show(&e.incident_key))
            .t(l!(lang, " · 스레드 ", " · thread "))
            .c(e.thread_id.clone());
        [first, second]
    }

    fn footer(&self) -> String {
        format!("ec2ops · digest · thread {}", self.thread_id())
    }

    /// Entries shown when only the `k` most urgent fit: rank = priority, then position.
    fn shown(&self, k: usize) -> Vec<Vec<bool>> {
        let mut ranked: Vec<(Priority, usize, usize)> = self
            .groups
            .iter()
            .enumerate()
            .flat_map(|(gi, (_, es))| {
                es.iter()
                    .enumerate()
                    .map(move |(ei, e)| (e.priority, gi, ei))
            })
            .collect();
        ranked.sort();
        let mut shown: Vec<Vec<bool>> = self
            .groups
            .iter()
            .map(|(_, es)| vec![false; es.len()])
            .collect();
        for (_, gi, ei) in ranked.into_iter().take(k) {
            if let Some(s) = shown.get_mut(gi).and_then(|g| g.get_mut(ei)) {
                *s = true;
            }
        }
        shown
    }

    /// `ec2ops incidents --since 10m`: every incident of the window.
    fn list_all(&self) -> String {
        let since = format!("{}m", since_minutes(self.window_start, self.window_end));
        Command::new("ec2ops incidents")
            .arg("--since", "DURATION", &since)
            .render()
    }

    /// The line that says how many incidents of a group are not shown, and how to list them.
    fn cut_line(&self, n: usize) -> Line {
        Line::new()
            .t(l!(
                self.language,
                "… (메시지 크기 제한으로 인시던트 {}건 생략 — 전체 목록: ",
                "… ({} incidents left out to fit the message size — list them all: ",
                n
            ))
            .c(self.list_all())
            .t(")")
    }

    fn text(&self, shown: &[Vec<bool>]) -> String {
        let mut out = String::new();
        let title = self.title();
        out.push_str(&title);
        out.push('\n');
        out.push_str(&"=".repeat(title.chars().count().min(72)));
        out.push('\n');
        for l in self.intro() {
            out.push_str(&l.plain());
            out.push('\n');
        }
        for (i, ((g, es), show)) in self.groups.iter().zip(shown).enumerate() {
            out.push_str(&format!(
                "\n{}. {}\n",
                i + 1,
                self.group_title(g, es).plain()
            ));
            for (e, s) in es.iter().zip(show) {
                if *s {
                    let [a, b] = self.entry_lines(e);
                    out.push_str(&format!("   {}\n       {}\n", a.plain(), b.plain()));
                }
            }
            let hidden = show.iter().filter(|s| !**s).count();
            if hidden > 0 {
                out.push_str("   ");
                out.push_str(&self.cut_line(hidden).plain());
                out.push('\n');
            }
        }
        out.push_str(&format!("\n--\n{}\n", self.footer()));
        out
    }

    fn markdown(&self, shown: &[Vec<bool>]) -> String {
        let mut out = String::new();
        for l in self.intro() {
            out.push_str(&l.markdown());
            out.push('\n');
        }
        for ((g, es), show) in self.groups.iter().zip(shown) {
            out.push_str(&format!("\n*{}*\n", self.group_title(g, es).markdown()));
            for (e, s) in es.iter().zip(show) {
                if *s {
                    let [a, b] = self.entry_lines(e);
                    out.push_str(&format!("• {}\n    {}\n", a.markdown(), b.markdown()));
                }
            }
            let hidden = show.iter().filter(|s| !**s).count();
            if hidden > 0 {
                out.push_str(&format!("• {}\n", self.cut_line(hidden).markdown()));
            }
        }
        out
    }

    /// The most entries, most urgent first, whose rendering fits `limit` (as measured by `size`).
    fn fit(
        &self,
        limit: usize,
        size: impl Fn(&str) -> usize,
        render: impl Fn(&[Vec<bool>]) -> String,
    ) -> String {
        let all = self.len();
        let full = render(&self.shown(all));
        if size(&full) <= limit {
            return full;
        }
        // More entries never make the rendering shorter (a cut line replaces at least one entry's two lines): the
        // largest fitting count by bisection.
        let (mut lo, mut hi) = (0usize, all);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if size(&render(&self.shown(mid))) <= limit {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let mut out = render(&self.shown(lo));
        while size(&out) > limit {
            let keep = out.chars().count() * 9 / 10;
            out = out.chars().take(keep).collect();
        }
        out
    }

    /// The plain-text digest, whole.
    pub fn email(&self) -> String {
        self.text(&self.shown(self.len()))
    }

    /// The plain-text digest cut to `max_bytes`, least urgent incidents left out first.
    pub fn email_within(&self, max_bytes: usize) -> String {
        self.fit(max_bytes, str::len, |s| self.text(s))
    }

    /// The chat description, cut to what Slack shows, least urgent incidents left out first.
    pub fn chat_description(&self) -> String {
        self.fit(
            CHAT_DESCRIPTION_MAX_CHARS,
            |s| s.chars().count(),
            |s| self.markdown(s),
        )
    }

    /// The AWS Chatbot custom notification of the digest.
    pub fn chatbot(&self) -> Value {
        let mut next = vec![code_span(&self.list_all())];
        if let Some(e) = self.entries().next() {
            let cmd = code_span(&show(&e.incident_key));
            if cmd.chars().count() <= 500 {
                next.push(cmd);
            }
        }
        let mut keywords = vec!["digest".to_string()];
        keywords.extend(self.priority().map(|p| p.label().to_string()));
        for (g, _) in &self.groups {
            if let Group::Az { az, .. } = g {
                if !keywords.contains(az) {
                    keywords.push(az.clone());
                }
            }
        }
        json!({
            "version": "1.0",
            "source": "custom",
            "content": {
                "textType": "client-markdown",
                "title": bound(&escape_entities(&self.title()), CHAT_TITLE_MAX_CHARS),
                "description": self.chat_description(),
                "nextSteps": next,
                "keywords": keywords.iter().map(|k| bound(&escape_entities(k), 60)).collect::<Vec<_>>(),
            },
            "metadata": {
                "threadId": self.thread_id(),
                "summary": bound(&self.subject(), 250),
                "eventType": "ec2ops.digest",
                "relatedResources": [],
                "additionalContext": {
                    "priority": self.priority().map_or("P3", Priority::label),
                    "incidents": self.len(),
                }
            }
        })
    }

    /// Whether the digest lists a P0 or a P1 that was not silenced: then it pages like its own report would have.
    pub fn urgent(&self) -> bool {
        self.entries()
            .any(|e| matches!(e.priority, Priority::P0 | Priority::P1) && !e.quiet)
    }

    /// The one SNS message: Chatbot JSON as `default`, the text as `email` and `sqs`, whole message ≤ 256 KiB.
    pub fn sns(&self) -> SnsMessage {
        let default = self.chatbot().to_string();
        let envelope =
            |text: &str| json!({ "default": default, "email": text, "sqs": text }).to_string();
        let mut budget = SNS_MAX_BYTES.saturating_sub(default.len() + 1024) / 2;
        loop {
            let text = self.email_within(budget);
            let message = envelope(&text);
            if message.len() <= SNS_MAX_BYTES || budget == 0 {
                return SnsMessage {
                    subject: self.subject(),
                    message,
                    urgent: self.urgent(),
                };
            }
            budget = budget.saturating_sub((message.len() - SNS_MAX_BYTES) / 2 + 1024);
        }
    }
}

/// `ec2ops incidents show KEY` for one incident: the key holds the alarm's name, so it is quoted like any value.
fn show(incident_key: &str) -> String {
    Command::new("ec2ops incidents show")
        .operand("KEY", incident_key)
        .render()
}

/// Minutes back from the end of the window that cover it, rounded up, at least 10 (a reader runs it a bit later).
fn since_minutes(start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
    let secs = (end - start).num_seconds().max(0);
    (secs / 60 + 1).max(10)
}

/// A priority as its label (`P0`) in stored entries.
mod priority_label {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::analyze::Priority;

    pub fn serialize<S: Serializer>(p: &Priority, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.label())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Priority, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "P0" => Ok(Priority::P0),
            "P1" => Ok(Priority::P1),
            "P2" => Ok(Priority::P2),
            "P3" => Ok(Priority::P3),
            other => Err(serde::de::Error::custom(format!(
                "unknown priority {other:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 18, 2, s)
            .single()
            .unwrap_or_default()
    }

    fn entry(
        key: &str,
        p: Priority,
        az: Option<&str>,
        family: &str,
        fleet: Option<&str>,
        s: u32,
    ) -> DigestEntry {
        DigestEntry {
            incident_key: key.into(),
            thread_id: format!("thread-{key}"),
            priority: p,
            headline: "x".into(),
            cause: format!("cause of {key}"),
            instance: Some(format!("i-{key}")),
            name: None,
            az: az.map(str::to_string),
            alarm: format!("alarm-{key}"),
            family: family.into(),
            fleet: fleet.map(str::to_string),
            action: None,
            at: at(s),
            quiet: false,
        }
    }

    fn digest(es: Vec<DigestEntry>) -> Digest {
        Digest::new(es, at(0), at(59), Language::En, chrono_tz::Asia::Seoul, 5)
    }

    fn keys(d: &Digest) -> Vec<&str> {
        d.entries().map(|e| e.incident_key.as_str()).collect()
    }

    #[test]
    fn a_fleet_alarm_is_one_group_whatever_the_zone_and_zones_split_by_family() {
        let d = digest(vec![
            entry("a", Priority::P2, Some("az1"), "CPU", Some("Fleet"), 1),
            entry("b", Priority::P2, Some("az2"), "CPU", Some("Fleet"), 2),
            entry("c", Priority::P0, Some("az1"), "status checks", None, 3),
            entry("d", Priority::P2, Some("az1"), "CPU", None, 4),
            entry("e", Priority::P3, None, "CPU", None, 5),
        ]);
        let groups: Vec<&Group> = d.groups.iter().map(|(g, _)| g).collect();
        assert_eq!(
            groups,
            [
                &Group::Az {
                    az: "az1".into(),
                    family: "status checks".into()
                },
                &Group::Fleet("Fleet".into()),
                &Group::Az {
                    az: "az1".into(),
                    family: "CPU".into()
                },
                &Group::Family("CPU".into()),
            ]
        );
    }

    #[test]
    fn groups_with_p0s_come_first_and_each_group_lists_p0s_first_then_by_time() {
        let d = digest(vec![
            entry("late-p2", Priority::P2, Some("az2"), "CPU", None, 9),
            entry("p3", Priority::P3, Some("az1"), "CPU", None, 1),
            entry("early-p2", Priority::P2, Some("az2"), "CPU", None, 2),
            entry("p0-late", Priority::P0, Some("az2"), "CPU", None, 8),
            entry("p0-sc", Priority::P0, Some("az3"), "status checks", None, 3),
            entry(
                "p0-sc2",
                Priority::P0,
                Some("az3"),
                "status checks",
                None,
                1,
            ),
        ]);
        // az3 has two P0s, az2 one: more P0s first.
        assert_eq!(
            keys(&d),
            ["p0-sc2", "p0-sc", "p0-late", "early-p2", "late-p2", "p3"]
        );
    }

    #[test]
    fn an_incident_buffered_twice_is_listed_once() {
        let d = digest(vec![
            entry("a", Priority::P1, Some("az1"), "CPU", None, 1),
            entry("a", Priority::P1, Some("az1"), "CPU", None, 1),
        ]);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn family_groups_status_checks_and_cpu_metrics() {
        assert_eq!(family(Some("StatusCheckFailed_System")), "status checks");
        assert_eq!(
            family(Some("StatusCheckFailed_AttachedEBS")),
            "status checks"
        );
        assert_eq!(family(Some("CPUCreditBalance")), "CPU");
        assert_eq!(family(Some("mem_used_percent")), "memory");
        assert_eq!(family(None), "other");
    }

    #[test]
    fn a_stored_entry_reads_back_the_same() {
        let e = entry("k#1", Priority::P0, Some("az1"), "CPU", None, 1);
        let json = serde_json::to_string(&e).unwrap_or_default();
        assert!(json.contains("\"priority\":\"P0\""), "{json}");
        let back: DigestEntry = serde_json::from_str(&json)
            .unwrap_or_else(|_| entry("x", Priority::P3, None, "", None, 0));
        assert_eq!(back, e);
    }

    #[test]
    fn a_digest_too_long_for_chat_keeps_every_p0_and_says_how_many_were_left_out() {
        let mut es = Vec::new();
        for i in 0..60u32 {
            es.push(entry(
                &format!("cpu-{i:02}"),
                Priority::P2,
                Some("az1"),
                "CPU",
                None,
                i % 60,
            ));
        }
        for i in 0..8u32 {
            es.push(entry(
                &format!("sc-{i:02}"),
                Priority::P0,
                Some("az2"),
                "status checks",
                None,
                i,
            ));
        }
        let d = digest(es);
        let chat = d.chat_description();
        assert!(chat.chars().count() <= CHAT_DESCRIPTION_MAX_CHARS);
        for i in 0..8 {
            assert!(chat.contains(&format!("i-sc-{i:02}")), "{chat}");
        }
        let shown = (0..60)
            .filter(|i| chat.contains(&format!("i-cpu-{i:02}`")))
            .count();
        assert!(shown < 60);
        assert!(
            chat.contains(&format!(
                "{} incidents left out to fit the message size",
                60 - shown
            )),
            "{chat}"
        );
        // The email has room for all of them.
        let email = d.email_within(100_000);
        assert!((0..60).all(|i| email.contains(&format!("i-cpu-{i:02} "))));
    }

    #[test]
    fn the_sns_message_fits_even_for_thousands_of_incidents() {
        let es: Vec<DigestEntry> = (0..3000u32)
            .map(|i| {
                entry(
                    &format!("{i:04}-{}", "k".repeat(150)),
                    Priority::P1,
                    Some("az1"),
                    "CPU",
                    None,
                    i % 60,
                )
            })
            .collect();
        let m = digest(es).sns();
        assert!(m.message.len() <= SNS_MAX_BYTES);
        assert!(m.subject.len() < 100 && m.subject.is_ascii());
        assert!(m
            .message
            .contains("incidents left out to fit the message size"));
    }
}
