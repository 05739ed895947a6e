//! What a reader of every golden sees: the finding in the title, the cause and next step first, figures that
//! agree with each other and with the metric window, and chat cut advice first.

use super::*;

#[test]
fn an_alarm_is_titled_by_the_finding_on_its_own_metric() {
    // The memory alarm of a host whose disk is fuller is about memory.
    for (name, text) in golden_texts() {
        if !name.starts_with("golden__memory-high.") || name.contains(".chatbot.") {
            continue;
        }
        let title = text.lines().find(|l| l.starts_with("Subject: ")).unwrap();
        assert!(title.contains("Memory pressure"), "{name}: {title}");
        assert!(!text.contains("Disk almost full"), "{name}");
    }
}

#[test]
fn no_golden_shows_a_placeholder_or_a_count_of_nothing() {
    let placeholders = [
        "window ?",
        " ? ",
        "(?)",
        ": ?",
        "? →",
        "? ->",
        "? -&gt;",
        ": 0/0",
        " 0/0 ",
        "datapoints 0",
        "datapoint 0개",
        " 0 evaluated datapoints",
    ];
    for (name, text) in golden_texts() {
        for l in report_lines(&text) {
            for p in placeholders {
                assert!(!l.contains(p), "{name}: {p:?} in {l}");
            }
            // A `?` standing alone (not in a word, a URL's query or at the end of a question) stands for a value.
            let chars: Vec<char> = l.chars().collect();
            let lone = chars.iter().enumerate().any(|(i, c)| {
                *c == '?'
                    && !i
                        .checked_sub(1)
                        .and_then(|p| chars.get(p))
                        .is_some_and(|p| p.is_alphanumeric() || *p == '/')
                    && !chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())
            });
            assert!(!lone, "{name}: a lone ? in {l}");
        }
    }
}

#[test]
fn a_stopped_instance_is_never_reported_with_status_checks_ok() {
    for (name, text) in golden_texts() {
        let stopped = text.lines().any(|l| {
            (l.starts_with("인스턴스: ") || l.starts_with("Instance: "))
                && l.ends_with(" · stopped")
        });
        if stopped {
            assert!(
                !text.contains("Status checks: system ok")
                    && !text.contains("상태 확인: 시스템 상태 확인 ok"),
                "{name}: status checks read ok on a stopped instance"
            );
        }
    }
}

#[test]
fn every_alarm_report_opens_with_its_cause_who_is_acting_and_the_next_step() {
    for (name, text) in golden_texts() {
        // Follow-ups (verify-, recheck-, recover-continuation) are not reports.
        // Nor is an OK notice, which is a few lines (checked in `lead`).
        if name.contains("verify-")
            || name.contains("recheck-")
            || name.contains("recover-continuation")
            || name.contains(".ignored")
            || is_ok_notice(&name)
        {
            continue;
        }
        let (cause, who) = if name.contains(".ko.") {
            ("▶ 추정 원인: ", "▶ 조치 주체: ")
        } else {
            ("▶ Most likely cause: ", "▶ Who is acting: ")
        };
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim_start_matches("• ").starts_with(cause))
            .unwrap_or_else(|| panic!("{name}: no summary"));
        // Under the header: before the first section.
        let first_section = lines
            .iter()
            .position(|l| l.contains("🚨"))
            .unwrap_or_else(|| panic!("{name}: no urgency section"));
        assert!(
            at < first_section,
            "{name}: the summary comes after the sections"
        );
        assert!(
            lines[at + 1].trim_start_matches("• ").starts_with(who),
            "{name}"
        );
    }
}

/// The first `N.NN%`-style number after `marker` in `line`.
fn number_after(line: &str, marker: &str) -> Option<String> {
    let rest = &line[line.find(marker)? + marker.len()..];
    let n: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!n.is_empty()).then_some(n)
}

#[test]
fn the_alarms_value_and_the_trends_agree_or_the_report_says_why() {
    for (name, text) in golden_texts() {
        let (actual, trend, why) = if name.contains(".ko.") {
            ("실제 값: ", "추세 (", "나중에 읽은 window")
        } else {
            ("actual: ", "Trend (", "the window read later")
        };
        let Some(threshold) = text.lines().find(|l| l.contains(actual)) else {
            continue;
        };
        let a = number_after(threshold, actual).unwrap();
        // The header's trend, or, where 📊 draws the alarm's series, that series' last value.
        let metric = threshold
            .split_once(": ")
            .and_then(|(_, m)| m.split_whitespace().next())
            .unwrap_or_default();
        let series = format!("{metric}: ");
        let last = if let Some(trend) = text
            .lines()
            .find(|l| l.trim_start_matches("• ").starts_with(trend))
        {
            let values = trend.split_once("): ").map_or(trend, |(_, v)| v);
            let last = values.rsplit(" → ").next().unwrap();
            number_after(&format!(" {last}"), " ").unwrap_or_default()
        } else if let Some(line) = text.lines().find(|l| {
            let l = l.trim_start().trim_start_matches("• ").replace('`', "");
            l.starts_with(&series) && (l.contains(": last ") || l.contains(": 최근 "))
        }) {
            let marker = if name.contains(".ko.") {
                "최근 "
            } else {
                "last "
            };
            number_after(line, marker).unwrap_or_default()
        } else {
            continue;
        };
        if a != last {
            assert!(
                threshold.contains(why),
                "{name}: actual {a} beside a trend ending {last}, unexplained"
            );
        }
    }
}

/// What a report says for the finding `code` (`[CPU-SUSTAINED]`): its line in 📊, or, where that line points to the
/// summary's most likely cause, the cause line with the finding's own advice.
pub(super) fn finding_said(text: &str, code: &str) -> Option<String> {
    let line = text
        .lines()
        .find(|l| l.trim_start().trim_start_matches("• ").starts_with(code))?;
    if !line.contains("▶ the most likely cause above") && !line.contains("▶ 위의 추정 원인")
    {
        return Some(line.to_string());
    }
    let cause = text
        .lines()
        .find(|l| l.starts_with("▶ Most likely cause: ") || l.starts_with("▶ 추정 원인: "))?;
    Some(format!("{cause} {line}"))
}

#[test]
fn a_sustained_breach_is_counted_once() {
    // The urgency's minutes past the threshold are the finding's.
    let mut checked = 0;
    for (name, text) in golden_texts() {
        let (why, finding) = if name.contains(".ko.") {
            ("지속 초과: ", "[CPU-SUSTAINED] ")
        } else {
            ("sustained: ", " for ")
        };
        let (Some(w), Some(f)) = (
            text.lines().find(|l| l.contains(why)),
            finding_said(&text, "[CPU-SUSTAINED]"),
        ) else {
            continue;
        };
        // Where the finding is the most likely cause, its minutes open the summary's cause line.
        let finding = if f.starts_with("▶ 추정 원인: ") {
            "▶ 추정 원인: "
        } else {
            finding
        };
        assert_eq!(
            number_after(w, why),
            number_after(&f, finding),
            "{name}: {w} / {f}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "sustained breaches checked: {checked}");
}

/// `HH:MM` at the start of `s`, as minutes of the day.
fn minute_of_day(s: &str) -> Option<u32> {
    let (h, m) = s.get(..5)?.split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

#[test]
fn every_series_of_a_golden_ends_within_its_metric_window() {
    for (name, text) in golden_texts() {
        let Some(window) = text.lines().find_map(|l| {
            let l = l.trim_start().trim_start_matches("• ");
            l.strip_prefix("Metric window ")
                .or_else(|| l.strip_prefix("메트릭 window "))
                .map(str::to_string)
        }) else {
            continue;
        };
        let (start, end) = window.split_once('–').unwrap();
        let (Some(start), Some(end)) = (minute_of_day(start), minute_of_day(end)) else {
            continue;
        };
        if end < start {
            continue; // across midnight: not in the sample set
        }
        for l in text.lines() {
            let Some((_, rest)) = l.split_once(": last ").or_else(|| l.split_once(": 최근 "))
            else {
                continue;
            };
            let Some(at) = rest.split_once(" (").and_then(|(_, t)| minute_of_day(t)) else {
                continue;
            };
            assert!(
                (start..=end).contains(&at),
                "{name}: a series ends at {at} outside the window {window}: {l}"
            );
        }
    }
}

/// The sections of a chat description: (emoji, lines under the header).
pub(super) fn chat_sections(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        let header = line
            .strip_prefix('*')
            .and_then(|l| l.strip_suffix('*'))
            .and_then(|l| l.split_once(". "))
            .filter(|(n, _)| n.parse::<u8>().is_ok());
        if let Some((_, title)) = header {
            let emoji = title.split(' ').next().unwrap_or_default().to_string();
            out.push((emoji, Vec::new()));
        } else if let Some(last) = out.last_mut() {
            if line.starts_with("• ") || line.starts_with("    · ") {
                last.1.push(line.to_string());
            }
        }
    }
    out
}

/// Chat shows about 3,000 characters; what is cut first is advice: in every chat golden, neither 🔧 nor 📊 loses a
/// line while an advice section (📈 💰 🔒 🤖) still shows one, and no section is shown as an empty header.
#[test]
fn a_chat_message_cuts_advice_first_and_never_the_immediate_actions() {
    let cut = |l: &String| l.contains("lines cut") || l.contains("줄 생략");
    let mut cut_somewhere = 0;
    for (name, text) in golden_texts()
        .into_iter()
        .filter(|(n, _)| n.contains(".chatbot.") && !is_ok_notice(n))
    {
        let sections = chat_sections(&text);
        assert!(sections.len() >= 3, "{name}: sections not found");
        for (emoji, lines) in &sections {
            assert!(
                !lines.is_empty(),
                "{name}: {emoji} shown as an empty header"
            );
        }
        let advice_shown = sections.iter().any(|(e, ls)| {
            ["📈", "💰", "🔒", "🤖"].contains(&e.as_str()) && ls.iter().any(|l| !cut(l))
        });
        let cut_in = |emoji: &str| {
            sections
                .iter()
                .any(|(e, ls)| e == emoji && ls.iter().any(cut))
        };
        if cut_in("🔧") {
            assert!(!advice_shown, "{name}: 🔧 cut while advice is shown");
        }
        if cut_in("📊") {
            assert!(!advice_shown, "{name}: 📊 cut while advice is shown");
        }
        if sections.iter().any(|(_, ls)| ls.iter().any(cut))
            || text.contains("left out")
            || text.contains("섹션")
        {
            cut_somewhere += 1;
        }
    }
    assert!(
        cut_somewhere > 0,
        "no chat golden is cut: the test would prove nothing"
    );
}

/// An advice line with its ids and numbers masked, so "2 EBS volumes" and "3 EBS volumes" count as one line.
fn masked(line: &str) -> String {
    let mut out = String::new();
    let mut last_masked = false;
    for word in line.split_inclusive(|c: char| !c.is_alphanumeric() && c != '-') {
        let (body, sep) = word.split_at(
            word.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '-')
                .len(),
        );
        let id = ["i-", "vol-", "sg-", "ami-"]
            .iter()
            .any(|p| body.starts_with(p));
        if id || body.chars().any(|c| c.is_ascii_digit()) {
            if !last_masked {
                out.push('#');
            }
            last_masked = true;
        } else {
            out.push_str(body);
            last_masked = false;
        }
        out.push_str(sep);
    }
    out
}

/// Signal, not boilerplate: across the email goldens of one language, no line of the advice sections (📈 💰 🔒 🤖;
/// ids and numbers masked) appears in more than half of the reports — a line that reads the same for most incidents
/// is not about this one. A section with nothing that bears on the incident says so in one line, which is not
/// advice and not counted.
#[test]
fn no_advice_line_appears_in_more_than_half_of_the_reports() {
    for lang in ["en", "ko"] {
        let reports: Vec<(String, String)> = golden_texts()
            .into_iter()
            .filter(|(n, _)| n.contains(&format!(".{lang}.email.")))
            .collect();
        let mut seen: std::collections::BTreeMap<String, usize> = Default::default();
        for (_, text) in &reports {
            let mut section = "";
            let mut lines = std::collections::BTreeSet::new();
            for line in text.lines() {
                if let Some((n, rest)) = line.split_once(". ") {
                    if n.len() == 1 && n.chars().all(|c| c.is_ascii_digit()) {
                        section = rest.split(' ').next().unwrap_or_default();
                        continue;
                    }
                }
                let advice = ["📈", "💰", "🔒", "🤖"].contains(&section);
                if advice && line.starts_with("   ") && !line.contains(NOTHING_MARK) {
                    lines.insert(format!("{section} {}", masked(line.trim())));
                }
            }
            for l in lines {
                *seen.entry(l).or_default() += 1;
            }
        }
        let half = reports.len() / 2;
        let common: Vec<String> = seen
            .iter()
            .filter(|(_, n)| **n > half)
            .map(|(l, n)| format!("{n}/{}: {l}", reports.len()))
            .collect();
        assert!(
            common.is_empty(),
            "{lang}: advice lines in more than half of the reports:\n{}",
            common.join("\n")
        );
    }
}

/// How a section that has nothing bearing on the incident starts its one line.
const NOTHING_MARK: &str = "—";

/// The median English email golden, in characters, before the reports were cut down to what the reader needs:
/// the 26 goldens of commit 3a25b48 (the title's underline, every series on its own line, 🔧's first commands
/// repeated under the summary's, console links to the metric graph and Session Manager, the thread id in the footer).
const MEDIAN_EMAIL_BEFORE: usize = 5_677;

/// Reports that lead with the answer are short: the median English email is at least a quarter shorter than before,
/// measured the way it was then (the snapshot's text below its header, in characters). Every finding is still said
/// (the other golden checks hold the findings, the commands and the first screen).
#[test]
fn the_median_english_email_is_a_quarter_shorter_than_before() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut lengths: Vec<usize> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("golden__") && n.ends_with(".en.email.snap"))
        .map(|n| {
            let raw = std::fs::read_to_string(dir.join(&n)).unwrap();
            raw.splitn(3, "---\n")
                .nth(2)
                .unwrap_or(&raw)
                .chars()
                .count()
        })
        .collect();
    lengths.sort_unstable();
    assert!(
        lengths.len() >= 26,
        "English email goldens: {}",
        lengths.len()
    );
    let mid = lengths.len() / 2;
    let median = if lengths.len().is_multiple_of(2) {
        (lengths[mid - 1] + lengths[mid]) as f64 / 2.0
    } else {
        lengths[mid] as f64
    };
    let most = MEDIAN_EMAIL_BEFORE as f64 * 0.75;
    println!(
        "median English email: {median} characters (before: {MEDIAN_EMAIL_BEFORE}; at most {most})"
    );
    assert!(
        median <= most,
        "the median English email is {median} characters: more than three quarters of {MEDIAN_EMAIL_BEFORE}"
    );
}
