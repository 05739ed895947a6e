//! The seven-section report, built from this incident's change, facts and assessment (pure: no I/O, no clock).
//!
//! [`build`] produces a [`Report`] of rich lines; [`render`] turns it into the email text, the AWS Chatbot custom
//! notification and the SNS message, within their size limits.

// The phrasebook first: its `l!` macro serves every module below.
#[macro_use]
mod phrasebook;
mod quoted;

mod actions;
mod advice;
mod automation;
mod card;
mod cli;
mod cost;
pub mod digest;
pub mod evidence;
mod findings;
mod fleet;
pub mod followup;
mod header;
mod headline;
mod impact;
mod improvements;
mod outcome;
mod remedy;
pub mod render;
mod resolved;
mod security;
pub mod shell;
mod silenced;
mod situation;
mod sources;
pub mod steps;
mod summary;
pub mod text;
mod urgency;

use chrono_tz::Tz;

use crate::analyze::{Assessment, Priority, Remedy};
use crate::config::Language;
use crate::facts::{Facts, InstanceFacts};
use crate::model::AlarmChange;
use text::Line;

use actions::{actions, summary_actions};
use automation::automation;
use card::{keywords, next_steps};
use cost::cost;
use header::{header, subject, title};
use headline::Headline;
use improvements::long_term;
use security::security;
use situation::{contributors_situation, situation};
use urgency::urgency;

pub use crate::remediation::ActionOutcome;

/// Everything the report is computed from.
pub struct ReportInput<'a> {
    pub change: &'a AlarmChange,
    pub facts: &'a Facts,
    pub assessment: &'a Assessment,
    pub action: &'a ActionOutcome,
    /// The tag key instances opt in with (for the how-to-opt-in advice).
    pub opt_in_tag: &'a str,
    pub language: Language,
    pub time_zone: Tz,
    /// Notices about the handling itself (a resumed incident, one the ledger could not record), shown in 📊.
    pub notices: &'a [String],
    /// When ec2ops looks at a spike again (its schedule was created); `None`: nobody but the reader will.
    pub recheck_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One of the seven sections.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub emoji: &'static str,
    pub title: String,
    pub lines: Vec<Line>,
    /// Lower numbers are kept longer when the message must be cut: 🚨 0, 🔧 1, 📊 2, then the advice sections
    /// (see `render::FLOORS` for what each keeps).
    pub keep_rank: u8,
    /// The lines, by index in ascending order, that a cut takes before any other (the last first): 📊's lines that
    /// are not about the alarm's own metric or findings. Empty: the cut takes the last lines.
    pub spare: Vec<usize>,
    /// 🔧: how many lines from the top say what ec2ops did and give the first step; a cut keeps them until its last
    /// stage (see `render::FLOORS`).
    pub head: usize,
}

/// A built report, format-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub priority: Priority,
    /// The language the report is written in (its cut notices are too).
    pub language: Language,
    /// Short English title, e.g. `High CPU`.
    pub headline: String,
    /// The most likely cause, one sentence in the report's language (the summary's first line; a follow-up's
    /// headline).
    pub cause: String,
    pub subject: String,
    pub title: Line,
    pub header: Vec<Line>,
    pub sections: Vec<Section>,
    /// Operator commands for the chat card's "next steps".
    pub next_steps: Vec<String>,
    pub keywords: Vec<String>,
    pub summary: String,
    pub incident_key: String,
    pub thread_id: String,
    pub related_resources: Vec<String>,
    /// The chat card's `eventType`: an incident's report, or a follow-up in its thread.
    pub event_type: &'static str,
    /// A proposed action's nonce (`approve` mode): the one thing the chat card's Approve / Deny buttons carry.
    pub approval: Option<String>,
    /// Silenced (a mute rule, a maintenance window, a suppressor in ALARM; not a freeze) and sent quietly: never
    /// urgent.
    pub quiet: bool,
}

impl Report {
    /// A P0 or P1 that is not silenced: the paging topic's, when one is configured.
    pub fn urgent(&self) -> bool {
        matches!(self.priority, Priority::P0 | Priority::P1) && !self.quiet
    }
}

struct Ctx<'a> {
    change: &'a AlarmChange,
    facts: &'a Facts,
    a: &'a Assessment,
    lang: Language,
    tz: Tz,
    instance: Option<&'a InstanceFacts>,
    instance_id: Option<&'a str>,
    region: String,
    /// The assessment's recommended remedy, which every section renders.
    recommended: Remedy,
    /// The rule of the finding on the alarm's own metric: the steps and advice about it come first.
    own: Option<crate::analyze::RuleId>,
    action: &'a ActionOutcome,
    opt_in_tag: &'a str,
    notices: &'a [String],
    /// When ec2ops looks at a spike again (scheduled), for 🔧's watch step.
    recheck_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Ctx<'_> {
    /// The other alarms in ALARM on the instance (DescribeAlarms), when they were read.
    fn other_alarms(&self) -> &[crate::evidence::alarms::OtherAlarm] {
        self.facts
            .evidence
            .alarms
            .as_ref()
            .and_then(|s| s.get())
            .map_or(&[], |o| o.alarms.as_slice())
    }

    /// The metric window's period: what one datapoint of a `Sum` (network bytes) counts over.
    fn period_secs(&self) -> u64 {
        self.facts
            .metrics
            .get()
            .map_or(60, |w| w.period_secs)
            .max(1)
    }
}

/// Build the report.
pub fn build(input: &ReportInput<'_>) -> Report {
    let change = input.change;
    let instance = input.facts.found_instance();
    let region = change
        .region
        .clone()
        .or_else(|| {
            instance
                .and_then(|i| i.availability_zone.as_deref())
                .map(|az| {
                    az.trim_end_matches(|c: char| c.is_ascii_lowercase())
                        .to_string()
                })
        })
        .unwrap_or_else(|| "us-east-1".into());
    let cx = Ctx {
        change,
        facts: input.facts,
        a: input.assessment,
        lang: input.language,
        tz: input.time_zone,
        instance,
        instance_id: change.primary_instance(),
        region,
        recommended: input.assessment.recommendation.remedy,
        own: summary::own_finding(change, input.assessment).map(|f| f.rule),
        action: input.action,
        opt_in_tag: input.opt_in_tag,
        notices: input.notices,
        recheck_at: input.recheck_at,
    };
    let said = fleet::headline(change, input.facts, Headline::of(&cx));
    // The English words: the SNS subject (ASCII), the summary line and the digest's entry.
    let headline = said.say(Language::En);
    let subject = subject(&cx, &headline);
    let summary_only = change.is_series_summary();
    let notice = resolved::is_notice(&cx);
    let sections = if notice {
        Vec::new()
    } else if summary_only {
        vec![
            urgency(&cx),
            contributors_situation(&cx),
            summary_actions(&cx),
        ]
    } else {
        vec![
            urgency(&cx),
            situation(&cx),
            actions(&cx),
            long_term(&cx),
            cost(&cx),
            security(&cx),
            automation(&cx),
        ]
    };
    let (next_steps, keywords) = (next_steps(&cx), keywords(&cx));
    let cause = summary::cause(&cx);
    let mut related = Vec::new();
    if let (Some(id), Some(account)) = (cx.instance_id, change.account.as_deref()) {
        related.push(format!("arn:aws:ec2:{}:{account}:instance/{id}", cx.region));
    }
    if let Some(arn) = &change.alarm_arn {
        related.push(arn.clone());
    }
    related.extend(sources::related(change, cx.facts, &cx.region));
    let target = cx.instance_id.unwrap_or("-");
    Report {
        approval: match input.action {
            ActionOutcome::Proposed { nonce, .. } => Some(nonce.clone()),
            _ => None,
        },
        priority: cx.a.priority,
        language: cx.lang,
        summary: {
            // An alarm's summary names the alarm and its transition; a Health event, a state change and the
            // sweep name no alarm and have no alarm transition: their own state instead.
            let (prev, now) = header::transition(change, cx.lang);
            let p = cx.a.priority.label();
            if !change.is_alarm() {
                format!("[{p}] {headline}: {target} ({now})")
            } else if prev.is_empty() {
                format!(
                    "[{p}] {headline}: {} ({target}) {now}",
                    text::sanitize(&change.alarm_name, 80)
                )
            } else {
                format!(
                    "[{p}] {headline}: {} ({target}) {prev} → {now}",
                    text::sanitize(&change.alarm_name, 80)
                )
            }
        },
        title: title(&cx, &said),
        header: if notice {
            resolved::lines(&cx, &next_steps)
        } else {
            let mut h = header(&cx);
            h.extend(summary::lines(&cx, &cause, &next_steps));
            h
        },
        headline,
        cause,
        subject,
        sections,
        next_steps: next_steps.iter().map(shell::Command::render).collect(),
        keywords,
        incident_key: change.incident_key(),
        thread_id: change.thread_id(),
        related_resources: related,
        event_type: "ec2ops.incident",
        quiet: matches!(
            silenced::loud(&cx),
            crate::remediation::silence::Loudness::Quiet(_)
        ),
    }
}

/// The seven parts of a report, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Urgency,
    Situation,
    Actions,
    Improvements,
    Cost,
    Security,
    Automation,
}

impl Part {
    fn emoji(self) -> &'static str {
        match self {
            Part::Urgency => "🚨",
            Part::Situation => "📊",
            Part::Actions => "🔧",
            Part::Improvements => "📈",
            Part::Cost => "💰",
            Part::Security => "🔒",
            Part::Automation => "🤖",
        }
    }

    fn title(self, lang: Language) -> String {
        match self {
            Part::Urgency => l!(lang, "긴급도 평가", "Urgency"),
            Part::Situation => l!(lang, "현재 상황 분석", "Current situation"),
            Part::Actions => l!(lang, "즉시 조치사항", "Immediate actions"),
            Part::Improvements => l!(lang, "장기 개선방안", "Long-term improvements"),
            Part::Cost => l!(lang, "비용 영향도", "Cost impact"),
            Part::Security => l!(lang, "보안 고려사항", "Security considerations"),
            Part::Automation => l!(lang, "자동화 가능성", "Automation opportunities"),
        }
    }

    /// Lower numbers are kept longer when a message must be cut (see `render::FLOORS`).
    fn keep_rank(self) -> u8 {
        match self {
            Part::Urgency => 0,
            Part::Actions => 1,
            Part::Situation => 2,
            Part::Improvements => 3,
            Part::Cost => 4,
            Part::Security => 5,
            Part::Automation => 6,
        }
    }
}

/// A section whose first lines (four, unless the section says otherwise) survive a cut the longest.
fn section(part: Part, lang: Language, lines: Vec<Line>) -> Section {
    let lines_head = lines.len().min(4);
    Section {
        emoji: part.emoji(),
        title: part.title(lang),
        lines,
        keep_rank: part.keep_rank(),
        spare: Vec::new(),
        head: lines_head,
    }
}
