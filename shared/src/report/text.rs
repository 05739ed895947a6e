//! Text primitives of the report: rich lines that keep user-controlled text apart from ours (so each output format
//! can escape it), value formatting, sparklines, time stamps and sanitizing.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::catalogue::Unit;
use crate::config::Language;

/// Longest user-controlled string (alarm name, description, tag value) shown in a report.
pub const MAX_USER_TEXT: usize = 256;

/// One piece of a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Our own text.
    Text(String),
    /// Text that came from the user's account (alarm names, descriptions, tags): escaped and bounded on output.
    User(String),
    /// A command or identifier shown verbatim (code in markdown).
    Code(String),
    /// A console deep link: `label: url` in email and in chat (Slack links a bare URL). The URL is built
    /// percent-encoded ([`crate::evidence::links`]); the label is our own text.
    Link { label: String, url: String },
    /// The shell prompt `$ ` that makes the line a command line ([`Line::is_command`]).
    Prompt,
    /// The indented bullet `    · ` of a sub-item (an evidence line, a held reason) under the line before it
    /// ([`Line::sub`]).
    Bullet,
}

/// A line of a report section.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line(pub Vec<Piece>);

impl Line {
    pub fn new() -> Self {
        Line(Vec::new())
    }

    pub fn t(mut self, s: impl Into<String>) -> Self {
        self.0.push(Piece::Text(s.into()));
        self
    }

    pub fn u(mut self, s: impl AsRef<str>) -> Self {
        self.0.push(Piece::User(s.as_ref().to_string()));
        self
    }

    pub fn link(mut self, label: impl Into<String>, url: impl Into<String>) -> Self {
        self.0.push(Piece::Link {
            label: label.into(),
            url: url.into(),
        });
        self
    }

    pub fn c(mut self, s: impl Into<String>) -> Self {
        self.0.push(Piece::Code(s.into()));
        self
    }

    /// A sub-item under the line before it: `    · ` in text, indented under its line in chat.
    pub fn sub() -> Self {
        Line(vec![Piece::Bullet])
    }

    /// Whether the line is a sub-item ([`Line::sub`]).
    pub fn is_sub(&self) -> bool {
        matches!(self.0.first(), Some(Piece::Bullet))
    }

    /// The shell prompt of a command line.
    pub fn prompt(mut self) -> Self {
        self.0.push(Piece::Prompt);
        self
    }

    /// Whether the line is a command (it carries the prompt): what a cut keeps whole with its group.
    pub fn is_command(&self) -> bool {
        self.0.iter().any(|p| matches!(p, Piece::Prompt))
    }

    /// The command of a command line: the code after its prompt.
    pub fn command(&self) -> Option<&str> {
        let at = self.0.iter().position(|p| matches!(p, Piece::Prompt))?;
        self.0[at..].iter().find_map(|p| match p {
            Piece::Code(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// Plain text for email: user text sanitized and bounded, code as-is. Our own text and code quote
    /// user-defined names too (a custom metric's name in the headline), so no piece may break the line.
    pub fn plain(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(s) | Piece::Code(s) => one_line(s),
                Piece::Prompt => "$ ".to_string(),
                Piece::Bullet => "    · ".to_string(),
                Piece::User(s) => sanitize(s, MAX_USER_TEXT),
                Piece::Link { label, url } => format!("{}: {}", one_line(label), one_line(url)),
            })
            .collect()
    }

    /// Markdown for chat, in Slack's style (AWS Chatbot's `client-markdown` renders a notification "in the target
    /// chat platform's markdown"; Slack's has entities and no backslash escapes). Every piece gets Slack's three
    /// entities (`&`, `<`, `>`): our own text quotes user-defined names (a custom metric's name in the headline),
    /// and Slack reads `<!channel>` even inside backticks. Text from the account (alarm names, descriptions, tags,
    /// process command lines) is an inline code span: Slack formats nothing inside one, so an alarm named
    /// `*urgent*` or `_x_` reads as it is and copies exactly — backslash escapes would show as backslashes. A
    /// backtick inside code is swapped for a look-alike, never for a quote: a quote would end the shell quoting of
    /// the name it is in.
    pub fn markdown(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(s) => escape_entities(&one_line(s)),
                Piece::User(s) => code_span(&sanitize(s, MAX_USER_TEXT)),
                Piece::Code(s) => code_span(&one_line(s)),
                Piece::Prompt => "$ ".to_string(),
                Piece::Bullet => "    · ".to_string(),
                // A bare URL, which Slack links by itself: `<url|label>` would be the one raw `<` in a message that
                // otherwise has none (no mention can be smuggled in), and the URL is percent-encoded already.
                Piece::Link { label, url } => format!(
                    "{}: {}",
                    escape_entities(&one_line(label)),
                    escape_entities(&one_line(url))
                ),
            })
            .collect()
    }
}

/// `s` as an inline code span for Slack: backticks swapped for a look-alike, entities for `&`, `<`, `>`; the empty
/// string as nothing (an empty span would show two backticks).
pub fn code_span(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    format!("`{}`", escape_entities(&super::shell::markdown_code(s)))
}

impl From<String> for Line {
    fn from(s: String) -> Self {
        Line::new().t(s)
    }
}

impl From<&str> for Line {
    fn from(s: &str) -> Self {
        Line::new().t(s)
    }
}

/// What a finding says, in parts: the cause it names, what to do about it (🔧 gives the steps), and a note on how
/// sure it is. The line joins them (`cause → advice — note`); the summary takes the cause and the note.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Phrase {
    pub cause: String,
    pub advice: Option<String>,
    pub note: Option<String>,
}

impl Phrase {
    pub fn cause(cause: String) -> Self {
        Phrase {
            cause,
            advice: None,
            note: None,
        }
    }

    pub fn advised(cause: String, advice: String) -> Self {
        Phrase {
            cause,
            advice: Some(advice),
            note: None,
        }
    }

    /// The whole sentence.
    pub fn text(&self) -> String {
        let mut s = self.cause.clone();
        if let Some(a) = &self.advice {
            s.push_str(" → ");
            s.push_str(a);
        }
        if let Some(n) = &self.note {
            s.push_str(" — ");
            s.push_str(n);
        }
        s
    }

    /// The cause without the advice, as the summary gives it.
    pub fn without_advice(&self) -> String {
        match &self.note {
            Some(n) => format!("{} — {n}", self.cause),
            None => self.cause.clone(),
        }
    }
}

/// Control characters (newlines included) as spaces.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Drop control characters (newlines included: user text never breaks our layout), trim, and bound the length in
/// chars. Reads no further than it keeps: every render sanitizes every user piece again, and user text can be huge.
pub fn sanitize(s: &str, max: usize) -> String {
    let mut chars = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .skip_while(|c| c.is_whitespace());
    let kept: String = chars.by_ref().take(max).collect();
    if chars.any(|c| !c.is_whitespace()) {
        let mut out: String = kept.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    } else {
        kept.trim_end().to_string()
    }
}

/// Slack's three control characters as entities, markdown punctuation left alone.
pub fn escape_entities(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// ASCII only, printable, for SNS subjects.
pub fn ascii(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Bounding is shared with the adapters, which must not depend on the report.
pub use crate::text::bound;

/// A value with its unit, the way the seed writes it (`39.58%`, `3.32 MB`).
pub fn value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Percent => format!("{v:.2}%"),
        Unit::Bytes => bytes(v),
        Unit::Count => format!("{v:.0}"),
        Unit::Credits => format!("{v:.1}"),
        Unit::Plain => number(v),
    }
}

/// A number without needless decimals.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Bytes counted over a period (a `Sum` datapoint of NetworkIn or NetworkOut) as the rate it was, in bits per
/// second with decimal prefixes, as links are rated.
pub fn bit_rate(bytes: f64, period_secs: u64) -> String {
    let units = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];
    let mut x = bytes * 8.0 / period_secs.max(1) as f64;
    let mut i = 0;
    while x.abs() >= 1000.0 && i < units.len() - 1 {
        x /= 1000.0;
        i += 1;
    }
    format!("{x:.2} {}", units[i])
}

/// Decimal byte units, as CloudWatch's console shows them.
pub fn bytes(v: f64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1000.0 && i < units.len() - 1 {
        x /= 1000.0;
        i += 1;
    }
    if i == 0 {
        format!("{x:.0} B")
    } else {
        format!("{x:.2} {}", units[i])
    }
}

/// The range a sparkline of the metric is drawn against: its natural range (percent 0–100, a status check 0–1),
/// else from zero to the highest value, so a flat series reads flat (144.0–144.5 is not a full swing).
pub fn natural_range(values: &[f64], unit: Unit) -> Option<(f64, f64)> {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let (min, max) = finite.fold(None, |acc: Option<(f64, f64)>, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })?;
    Some(match unit {
        Unit::Percent => (min.min(0.0), max.max(100.0)),
        Unit::Count => (min.min(0.0), max.max(1.0)),
        _ => (min.min(0.0), max.max(0.0)),
    })
}

/// A sparkline of the values (▁ … █), scaled over the metric's [`natural_range`].
pub fn sparkline(values: &[f64], unit: Unit) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let Some((min, max)) = natural_range(values, unit) else {
        return String::new();
    };
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .map(|v| {
            if (max - min).abs() < f64::EPSILON {
                BARS[0]
            } else {
                let idx = ((v - min) / (max - min) * 7.0).round() as usize;
                BARS[idx.min(7)]
            }
        })
        .collect()
}

/// `2025-07-20 12:20:28 UTC (2025-07-20 21:20:28 KST)`.
pub fn when(t: DateTime<Utc>, tz: Tz) -> String {
    let local = t.with_timezone(&tz);
    if tz == chrono_tz::UTC {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        // The local date only when it is not the UTC one.
        let local_format = if local.date_naive() == t.date_naive() {
            "%H:%M:%S %Z"
        } else {
            "%Y-%m-%d %H:%M:%S %Z"
        };
        format!(
            "{} ({})",
            t.format("%Y-%m-%d %H:%M:%S UTC"),
            local.format(local_format)
        )
    }
}

/// `12:19 UTC`.
pub fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%H:%M UTC").to_string()
}

/// A time stamp in the report's language: Korean reports put the configured zone first
/// (`2025-07-20 21:20:28 KST (12:20:28 UTC)`), English ones UTC first, as [`when`].
pub fn when_in(t: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    if lang == Language::En || tz == chrono_tz::UTC {
        return when(t, tz);
    }
    format!(
        "{} ({})",
        t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S %Z"),
        t.format("%H:%M:%S UTC")
    )
}

/// A date and minute in the report's language: `2025-03-02 10:15 KST` in Korean reports, `2025-03-02 01:15 UTC`
/// in English ones.
pub fn day_minute(t: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    match lang {
        Language::Ko => t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string(),
        Language::En => t.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// A minute in the report's language: `12:19 KST` in Korean reports, `03:19 UTC` in English ones.
pub fn hm(t: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    match lang {
        Language::Ko => t.with_timezone(&tz).format("%H:%M %Z").to_string(),
        Language::En => hhmm(t),
    }
}

/// A span of minutes in the report's language: `11:37–12:07 KST` or `02:37–03:07 UTC`.
pub fn span(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    match lang {
        Language::Ko => format!(
            "{}–{}",
            start.with_timezone(&tz).format("%H:%M"),
            end.with_timezone(&tz).format("%H:%M %Z")
        ),
        Language::En => format!("{}–{}", start.format("%H:%M"), end.format("%H:%M UTC")),
    }
}

/// US dollars with cents, or four decimals below a dollar.
pub fn usd(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("${v:.4}")
    } else {
        format!("${v:.2}")
    }
}

/// An instance type with the Korean topic particle its spoken name takes: `t3.micro는`, `t3.small은`,
/// `m5.large는`; `은(는)` when the size is not one we know.
pub(super) fn topic(instance_type: &str) -> String {
    let size = instance_type.rsplit('.').next().unwrap_or(instance_type);
    let particle = if size.ends_with("small") || size.ends_with("medium") || size.ends_with("metal")
    {
        "은"
    } else if size.ends_with("nano") || size.ends_with("micro") || size.ends_with("large") {
        "는"
    } else {
        "은(는)"
    };
    format!("{instance_type}{particle}")
}

/// A time of day (minutes after midnight, UTC) on `day`'s date, as a daily job's clock: a daily job runs on someone's
/// local clock, so an English report names the configured zone's time too.
pub fn daily_clock(day: DateTime<Utc>, minute_utc: u32, lang: Language, tz: Tz) -> String {
    let at = day
        .date_naive()
        .and_hms_opt(minute_utc / 60, minute_utc % 60, 0)
        .map(|t| t.and_utc())
        .unwrap_or(day);
    match lang {
        Language::En if tz != chrono_tz::UTC => format!(
            "{} ({})",
            hm(at, tz, lang),
            at.with_timezone(&tz).format("%H:%M %Z")
        ),
        _ => hm(at, tz, lang),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_the_account_is_code_that_slack_neither_formats_nor_mentions() {
        let l = Line::new().u("<!channel> *bold* _x_ [a](http://e) `c` a&b");
        let s = l.markdown();
        assert_eq!(
            s,
            "`&lt;!channel&gt; *bold* _x_ [a](http://e) \u{2cb}c\u{2cb} a&amp;b`"
        );
        assert!(!s.contains('\\'), "Slack shows backslashes: {s}");
        assert_eq!(Line::new().u("").markdown(), "");
    }

    #[test]
    fn code_and_our_own_text_get_slacks_entities_and_stay_on_one_line() {
        // Our text quotes metric names and code quotes alarm names: both are user-defined.
        let l = Line::new().t("CPU > 25%\n").c("aws x --name '<!channel>'");
        assert_eq!(
            l.markdown(),
            "CPU &gt; 25% `aws x --name '&lt;!channel&gt;'`"
        );
        assert_eq!(l.plain(), "CPU > 25% aws x --name '<!channel>'");
    }

    #[test]
    fn sanitize_reads_no_further_than_it_keeps_yet_marks_every_cut() {
        assert_eq!(sanitize("  ab  ", 2), "ab");
        assert_eq!(sanitize("  ab  c", 2), "a…");
        assert_eq!(sanitize("ab \n\t ", 2), "ab");
        assert_eq!(sanitize(&format!("{}x", " ".repeat(10)), 1), "x");
        assert_eq!(sanitize("", 0), "");
    }

    #[test]
    fn user_text_loses_control_characters_and_is_bounded() {
        let s = sanitize("line1\nline2\t\u{7}", 100);
        assert_eq!(s, "line1 line2");
        let long = "x".repeat(1000);
        assert_eq!(sanitize(&long, 10).chars().count(), 10);
    }

    #[test]
    fn a_flat_series_draws_flat_against_its_natural_range() {
        // 144.0–144.5 (a count) is not a full swing.
        let flat = sparkline(&[144.0, 144.5, 144.0, 144.5], Unit::Plain);
        assert_eq!(flat, "████");
        // Percent from 0 to 100.
        assert_eq!(
            sparkline(&[0.28, 0.26, 0.24, 1.75, 39.58], Unit::Percent),
            "▁▁▁▁▄"
        );
        assert_eq!(sparkline(&[94.0, 94.65], Unit::Percent), "██");
        // A status check from 0 to 1.
        assert_eq!(sparkline(&[0.0, 0.0, 1.0], Unit::Count), "▁▁█");
        assert_eq!(sparkline(&[0.0, 0.0], Unit::Count), "▁▁");
        assert_eq!(sparkline(&[], Unit::Plain), "");
    }

    #[test]
    fn korean_times_put_the_configured_zone_first() {
        let t = crate::event::parse_timestamp("2025-07-20T12:20:28.989+0000").unwrap();
        let seoul = chrono_tz::Asia::Seoul;
        assert_eq!(
            when_in(t, seoul, Language::Ko),
            "2025-07-20 21:20:28 KST (12:20:28 UTC)"
        );
        assert_eq!(
            when_in(t, seoul, Language::En),
            "2025-07-20 12:20:28 UTC (21:20:28 KST)"
        );
        assert_eq!(hm(t, seoul, Language::Ko), "21:20 KST");
        assert_eq!(hm(t, seoul, Language::En), "12:20 UTC");
    }

    #[test]
    fn values_read_like_the_seed() {
        assert_eq!(value(39.58, Unit::Percent), "39.58%");
        assert_eq!(value(3_320_000.0, Unit::Bytes), "3.32 MB");
        assert_eq!(bit_rate(3_320_000.0, 60), "442.67 kbit/s");
        assert_eq!(bit_rate(42_500_000.0, 60), "5.67 Mbit/s");
        assert_eq!(value(1.0, Unit::Count), "1");
    }

    #[test]
    fn seoul_time_is_shown_as_kst() {
        let t = crate::event::parse_timestamp("2025-07-20T12:20:28.989+0000").unwrap();
        assert_eq!(
            when(t, chrono_tz::Asia::Seoul),
            "2025-07-20 12:20:28 UTC (21:20:28 KST)"
        );
        // Past midnight in Seoul, the local date is said.
        let late = crate::event::parse_timestamp("2025-07-20T16:20:28.989+0000").unwrap();
        assert_eq!(
            when(late, chrono_tz::Asia::Seoul),
            "2025-07-20 16:20:28 UTC (2025-07-21 01:20:28 KST)"
        );
    }

    #[test]
    fn an_instance_type_takes_the_particle_its_spoken_size_needs() {
        assert_eq!(topic("t3.micro"), "t3.micro는");
        assert_eq!(topic("t3.small"), "t3.small은");
        assert_eq!(topic("t3.medium"), "t3.medium은");
        assert_eq!(topic("m5.2xlarge"), "m5.2xlarge는");
        assert_eq!(topic("c6i.metal"), "c6i.metal은");
        assert_eq!(topic("weird"), "weird은(는)");
    }
}
