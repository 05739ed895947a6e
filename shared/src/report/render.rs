//! Output formats: plain-text email, AWS Chatbot custom notification, and the one SNS message carrying both —
//! each within its limit, cutting the least important lines first.

use serde_json::{json, Value};

use super::text::{bound, code_span, escape_entities, sanitize, Line};
use super::{Report, Section};
use crate::config::Language;

/// SNS message limit (bytes of the whole message).
pub const SNS_MAX_BYTES: usize = 262_144;
/// About what Slack shows of one block of text.
pub const CHAT_DESCRIPTION_MAX_CHARS: usize = 3_000;
/// Chatbot card title.
pub const CHAT_TITLE_MAX_CHARS: usize = 250;

/// The message type lives beside the publisher port so that publishing does not depend on the report.
pub use crate::message::SnsMessage;

/// What a section keeps at each stage of cutting: a stage starts when no section is above its floor of the stage
/// before. Advice (📈 💰 🔒 🤖, rank 3 and up) goes first and whole, and 📊 (rank 2) its spare lines (other
/// series, sources, links); then 🔧 (rank 1) loses its last steps, keeping its head (what ec2ops did and the first
/// step); then 📊 what it kept (the alarm metric, its persistence, the findings with their first
/// evidence); 🚨 (rank 0) last. What to do comes before background.
const FLOORS: [[Floor; 4]; 4] = {
    use Floor::{All, Head, Kept, Lines};
    [
        // 🚨, 🔧, 📊, advice
        [All, All, Kept, Lines(0)],
        [All, Head, Kept, Lines(0)],
        [All, Head, Lines(0), Lines(0)],
        [Lines(0), Lines(0), Lines(0), Lines(0)],
    ]
};

/// How many lines a section keeps at a stage of cutting.
#[derive(Clone, Copy)]
enum Floor {
    All,
    /// The lines that are not spare.
    Kept,
    /// The section's head ([`Section::head`]).
    Head,
    Lines(usize),
}

fn floor(s: &Section, stage: &[Floor; 4]) -> usize {
    match stage[usize::from(s.keep_rank).min(3)] {
        Floor::All => usize::MAX,
        Floor::Kept => s.lines.len() - s.spare.len(),
        Floor::Head => s.head,
        Floor::Lines(n) => n,
    }
}

/// Cut a section's next line: its last spare line, or else its last line (with its command group). Returns how
/// many lines went.
fn cut_next(s: &mut Section) -> usize {
    match s.spare.pop() {
        Some(i) if i < s.lines.len() => {
            s.lines.remove(i);
            1
        }
        _ => cut_last_group(&mut s.lines),
    }
}

/// The section to lose its last line next: the least important one above its floor at the earliest stage that
/// still has one.
fn victim(work: &[Section]) -> Option<usize> {
    FLOORS.iter().find_map(|stage| {
        (0..work.len())
            .filter(|i| work[*i].lines.len() > floor(&work[*i], stage))
            .max_by_key(|i| (work[*i].keep_rank, *i))
    })
}

/// The sections as shown after cutting: a section that lost lines ends with a line saying how many; the sections
/// at the end that lost every line are not shown as empty headers but named in one line after the last one shown.
fn with_cut_notices(work: &[Section], cut: &[usize], lang: Language) -> Vec<Section> {
    let emptied_tail = work
        .iter()
        .zip(cut)
        .rev()
        .take_while(|(s, n)| s.lines.is_empty() && **n > 0)
        .count()
        .min(work.len().saturating_sub(1));
    let shown = work.len() - emptied_tail;
    let mut out: Vec<Section> = work[..shown]
        .iter()
        .zip(cut)
        .map(|(s, n)| {
            let mut s = s.clone();
            if *n > 0 {
                s.lines.push(Line::from(cut_notice(*n, lang)));
            }
            s
        })
        .collect();
    if emptied_tail > 0 {
        let names: Vec<&str> = work[shown..].iter().map(|s| s.emoji).collect();
        let lines: usize = cut[shown..].iter().sum();
        if let Some(last) = out.last_mut() {
            last.lines.push(Line::from(sections_cut_notice(
                &names.join(" "),
                lines,
                lang,
            )));
        }
    }
    out
}

/// Cut the sections until `render(sections)` fits `limit` (as measured by `size`), dropping lines from the least
/// important section above its floor ([`FLOORS`]) first and saying what was cut.
fn fit(
    sections: &[Section],
    lang: Language,
    limit: usize,
    size: impl Fn(&str) -> usize,
    render: impl Fn(&[Section]) -> String,
) -> String {
    let mut work: Vec<Section> = sections.to_vec();
    let mut cut = vec![0usize; work.len()];
    loop {
        let out = render(&with_cut_notices(&work, &cut, lang));
        if size(&out) <= limit {
            return out;
        }
        match victim(&work) {
            Some(i) => {
                cut[i] += cut_next(&mut work[i]);
            }
            None => {
                // Only the header is left and it is still too long: cut the text itself.
                let mut s = out;
                while size(&s) > limit {
                    let keep = s.chars().count() * 9 / 10;
                    s = s.chars().take(keep).collect();
                }
                return s;
            }
        }
    }
}

/// The line that names the sections left out at the end, in the report's language.
pub fn sections_cut_notice(sections: &str, lines: usize, lang: Language) -> String {
    if lines == 1 {
        return l!(
            lang,
            "… (메시지 크기 제한으로 {} 섹션 1줄 생략)",
            "… ({} left out to fit the message size: 1 line)",
            sections
        );
    }
    l!(
        lang,
        "… (메시지 크기 제한으로 {} 섹션 {}줄 생략)",
        "… ({} left out to fit the message size: {} lines)",
        sections,
        lines
    )
}

/// The line that says a section was cut, in the report's language.
pub fn cut_notice(n: usize, lang: Language) -> String {
    if n == 1 {
        return l!(
            lang,
            "… (메시지 크기 제한으로 1줄 생략)",
            "… (1 line cut to fit the message size)"
        );
    }
    l!(
        lang,
        "… (메시지 크기 제한으로 {}줄 생략)",
        "… ({} lines cut to fit the message size)",
        n
    )
}

/// A command line of a section (`$ aws …`).
fn is_command(l: &Line) -> bool {
    l.is_command()
}

/// Remove the last line; when it is a command, remove its whole group — every command of the step and the line
/// that introduces it — so a cut never shows part of a sequence (a stop without its start) or a command without
/// the note that says what it costs (downtime). Returns how many lines went.
fn cut_last_group(lines: &mut Vec<Line>) -> usize {
    let Some(last) = lines.pop() else {
        return 0;
    };
    if !is_command(&last) {
        return 1;
    }
    let mut n = 1;
    while lines.last().is_some_and(is_command) {
        lines.pop();
        n += 1;
    }
    if lines.pop().is_some() {
        n += 1;
    }
    n
}

fn email_text(report: &Report, sections: &[Section]) -> String {
    let mut out = String::new();
    let title = report.title.plain();
    out.push_str(&title);
    out.push('\n');
    for l in &report.header {
        out.push_str(&l.plain());
        out.push('\n');
    }
    for (i, s) in sections.iter().enumerate() {
        out.push_str(&format!("\n{}. {} {}\n", i + 1, s.emoji, s.title));
        for l in &s.lines {
            out.push_str("   ");
            out.push_str(&l.plain());
            out.push('\n');
        }
    }
    out.push_str(&format!(
        "\n--\nec2ops · incident {}\n",
        report.incident_key
    ));
    out
}

/// The full plain-text report.
pub fn email(report: &Report) -> String {
    email_text(report, &without_repeated_commands(report))
}

/// The plain-text report cut to `max_bytes`.
pub fn email_within(report: &Report, max_bytes: usize) -> String {
    fit(
        &without_repeated_commands(report),
        report.language,
        max_bytes,
        str::len,
        |s| email_text(report, s),
    )
}

fn markdown(report: &Report, sections: &[Section]) -> String {
    let mut out = String::new();
    for l in &report.header {
        out.push_str(&l.markdown());
        out.push('\n');
    }
    for (i, s) in sections.iter().enumerate() {
        // Slack's bold is one asterisk on each side.
        out.push_str(&format!("\n*{}. {} {}*\n", i + 1, s.emoji, s.title));
        for l in &s.lines {
            let md = l.markdown();
            let text = md.trim_start();
            // A sub-item (an evidence line, a held reason) is indented under its line, not a bullet of its own.
            out.push_str(if l.is_sub() { "    " } else { "• " });
            out.push_str(text);
            out.push('\n');
        }
    }
    out
}

/// The commands the summary shows on its own lines (a Run Command's three).
fn summary_commands(report: &Report) -> Vec<Option<&str>> {
    report
        .header
        .iter()
        .filter(|l| is_command(l))
        .map(Line::command)
        .collect()
}

/// A step of 🔧 whose commands are the summary's, on the first screen already, points to them instead of repeating
/// them, in chat and in the email alike: the room goes to the findings and the next steps.
fn without_repeated_commands(report: &Report) -> Vec<Section> {
    let summary = summary_commands(report);
    let mut sections = report.sections.clone();
    if summary.is_empty() {
        return sections;
    }
    for s in sections.iter_mut().filter(|s| s.spare.is_empty()) {
        let texts: Vec<Option<&str>> = s.lines.iter().map(Line::command).collect();
        // The summary's commands open a step's group (the rest of the group, if any, follows the pointer in order).
        let whole = |at: usize| {
            texts[at..].starts_with(&summary) && (at == 0 || !is_command(&s.lines[at - 1]))
        };
        if let Some(at) = (0..texts.len()).find(|at| whole(*at)) {
            let pointer = Line::from(if summary.len() == 1 {
                l!(
                    report.language,
                    "    (위 요약의 다음 명령)",
                    "    (the summary's next command above)"
                )
            } else {
                l!(
                    report.language,
                    "    (위 요약의 명령 {}개)",
                    "    (the summary's {} commands above)",
                    summary.len()
                )
            });
            s.lines.splice(at..at + summary.len(), [pointer]);
            if at < s.head {
                s.head = s.head.saturating_sub(summary.len() - 1).max(at + 1);
            }
        }
    }
    sections
}

/// The chat description (markdown), cut to what Slack shows.
pub fn chat_description(report: &Report) -> String {
    fit(
        &without_repeated_commands(report),
        report.language,
        CHAT_DESCRIPTION_MAX_CHARS,
        |s| s.chars().count(),
        |s| markdown(report, s),
    )
}

/// A keyword: a label in chat carrying tag values and metric names, so one line with Slack's entities, at most
/// `max` chars.
fn chat_field(s: &str, max: usize) -> String {
    bound(&escape_entities(&sanitize(s, usize::MAX)), max)
}

/// The thread summary: plain text (no markup is rendered there), so nothing is escaped as markup; Slack's three
/// control characters, which could still form a mention or a link, become look-alikes (‹ › ＆).
fn plain_chat_field(s: &str, max: usize) -> String {
    let plain: String = sanitize(s, usize::MAX)
        .chars()
        .map(|c| match c {
            '<' => '‹',
            '>' => '›',
            '&' => '＆',
            c => c,
        })
        .collect();
    bound(&plain, max)
}

/// A command as a chat next step — a code span, so Slack formats nothing in it and it copies as it runs — or nothing
/// when it does not fit: a command cut short can end inside a quoted name, and whatever the operator pastes after it
/// would continue that name and run.
fn whole_chat_field(s: &str, max: usize) -> Option<String> {
    let field = code_span(&sanitize(s, usize::MAX));
    (field.chars().count() <= max).then_some(field)
}

/// AWS Chatbot custom notification (a payload that does not conform is dropped silently by Chatbot, so this shape
/// is pinned by tests).
pub fn chatbot(report: &Report) -> Value {
    let mut card = json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": bound(&report.title.markdown(), CHAT_TITLE_MAX_CHARS),
            "description": chat_description(report),
            "nextSteps": report.next_steps.iter().filter_map(|s| whole_chat_field(s, 500)).collect::<Vec<_>>(),
            "keywords": report.keywords.iter().map(|s| chat_field(s, 60)).collect::<Vec<_>>(),
        },
        "metadata": {
            "threadId": report.thread_id,
            "summary": plain_chat_field(&report.summary, 250),
            "eventType": report.event_type,
            "relatedResources": report.related_resources,
            "additionalContext": {
                "priority": report.priority.label(),
                "incidentKey": bound(&report.incident_key, 512),
            }
        }
    });
    // A proposed action: the Approve / Deny custom actions read the nonce (and nothing else) from the notification.
    if let Some(nonce) = &report.approval {
        card["metadata"]["enableCustomActions"] = json!(true);
        card["metadata"]["additionalContext"]["approval"] = json!(bound(nonce, 64));
    }
    card
}

/// The one SNS message: Chatbot JSON as `default` (Chatbot, HTTPS and Lambda subscribers), the plain-text report
/// as `email` and as `sqs` (archives and ticketing bridges read text), whole message ≤ 256 KiB.
pub fn sns(report: &Report) -> SnsMessage {
    let default = chatbot(report).to_string();
    let envelope =
        |text: &str| json!({ "default": default, "email": text, "sqs": text }).to_string();
    // The text appears twice.
    let mut budget = SNS_MAX_BYTES.saturating_sub(default.len() + 1024) / 2;
    loop {
        let text = email_within(report, budget);
        let message = envelope(&text);
        if message.len() <= SNS_MAX_BYTES || budget == 0 {
            return SnsMessage {
                subject: report.subject.clone(),
                message,
                urgent: report.urgent(),
            };
        }
        // JSON escaping grew the text past the limit: shrink by the overshoot and try again.
        budget = budget.saturating_sub((message.len() - SNS_MAX_BYTES) / 2 + 1024);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(sections: &[Section]) -> String {
        sections
            .iter()
            .flat_map(|s| s.lines.iter().map(|l| l.plain() + "\n"))
            .collect()
    }

    #[test]
    fn a_cut_notice_counts_one_line_in_the_singular() {
        assert_eq!(
            cut_notice(1, Language::En),
            "… (1 line cut to fit the message size)"
        );
        assert_eq!(
            cut_notice(2, Language::En),
            "… (2 lines cut to fit the message size)"
        );
        assert_eq!(
            sections_cut_notice("🤖", 1, Language::En),
            "… (🤖 left out to fit the message size: 1 line)"
        );
    }

    #[test]
    fn a_cut_never_shows_part_of_a_command_sequence_or_a_command_without_its_note() {
        let lines = [
            "1. Find the processes:",
            "    $ aws ssm send-command",
            "2. Scale up — DOWNTIME: stop, wait, modify, start:",
            "    $ aws ec2 stop-instances",
            "    $ aws ec2 wait instance-stopped",
            "    $ aws ec2 modify-instance-attribute",
            "    $ aws ec2 start-instances",
            "3. Watch it.",
        ];
        let section = Section {
            emoji: "🔧",
            title: "Immediate actions".into(),
            lines: lines
                .iter()
                .map(|l| match l.strip_prefix("    $ ") {
                    Some(cmd) => Line::new().t("    ").prompt().c(cmd),
                    None => Line::from(l.to_string()),
                })
                .collect(),
            keep_rank: 2,
            spare: Vec::new(),
            head: 4,
        };
        let full = plain(std::slice::from_ref(&section)).len();
        for limit in 0..=full {
            let out = fit(
                std::slice::from_ref(&section),
                Language::En,
                limit,
                str::len,
                plain,
            );
            let stops = out.contains("stop-instances");
            assert_eq!(stops, out.contains("DOWNTIME"), "limit {limit}:\n{out}");
            assert_eq!(
                stops,
                out.contains("start-instances"),
                "limit {limit}:\n{out}"
            );
            assert_eq!(
                out.contains("send-command"),
                out.contains("Find the processes"),
                "limit {limit}:\n{out}"
            );
        }
    }
}
