//! Broken events, one file each in `fixtures/bad/`, each getting the outcome `fixtures/bad/EXPECTED.md` documents:
//! malformed (the invocation fails with one short line naming the problem), reported with a warning, or ignored.

use ec2ops::facts::Gap;
use std::collections::BTreeSet;
use std::path::PathBuf;

use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, Parsed};
use ec2ops::facts::Facts;
use ec2ops::model::AlarmChange;
use ec2ops::pipeline::compose;
use ec2ops::report::render::{self, CHAT_DESCRIPTION_MAX_CHARS, SNS_MAX_BYTES};

/// Errors go to the logs and the failure destination's record: one line, never an echo of a megabyte.
const MAX_ERROR_CHARS: usize = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Malformed,
    ReportedWithWarning,
    Reported,
    Ignored,
}

#[derive(Debug)]
struct Row {
    file: String,
    outcome: Outcome,
    needle: String,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

/// A markdown code span's text: `` `x` `` or ``` `` x `` ``` (the form for text holding a backtick).
fn code_span(cell: &str) -> String {
    let cell = cell.trim();
    let inner = if let Some(s) = cell.strip_prefix("``") {
        s.strip_suffix("``").expect("closing ``")
    } else {
        cell.strip_prefix('`')
            .and_then(|s| s.strip_suffix('`'))
            .unwrap_or_else(|| panic!("{cell:?} is not a code span"))
    };
    let inner = inner.strip_prefix(' ').unwrap_or(inner);
    inner.strip_suffix(' ').unwrap_or(inner).to_string()
}

/// The rows of EXPECTED.md's table.
fn table() -> Vec<Row> {
    let text = std::fs::read_to_string(dir().join("EXPECTED.md")).expect("EXPECTED.md");
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            assert!(cells.len() >= 3, "row {l:?} needs file, outcome, text");
            let outcome = match cells[1].trim() {
                "malformed" => Outcome::Malformed,
                "reported-with-warning" => Outcome::ReportedWithWarning,
                "reported" => Outcome::Reported,
                "ignored" => Outcome::Ignored,
                other => panic!("unknown outcome {other:?} in {l:?}"),
            };
            Row {
                file: code_span(cells[0]),
                outcome,
                needle: code_span(cells[2]),
            }
        })
        .collect()
}

fn files() -> BTreeSet<String> {
    std::fs::read_dir(dir())
        .expect("fixtures/bad")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect()
}

/// Why `change` does not render within the delivery limits, if it does not.
fn limits(change: &AlarmChange) -> Option<String> {
    for language in [Language::Ko, Language::En] {
        let settings = Settings {
            language,
            ..Settings::default()
        };
        let (_, report, msg) = compose(
            change,
            &Facts::unavailable(Gap::Failed("bad event test".into())),
            &settings,
        );
        let desc = render::chatbot(&report)["content"]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let problem = if msg.message.len() > SNS_MAX_BYTES {
            format!("SNS message of {} bytes", msg.message.len())
        } else if !(msg.subject.is_ascii() && msg.subject.len() < 100) {
            format!("subject {:?}", msg.subject)
        } else if desc.chars().count() > CHAT_DESCRIPTION_MAX_CHARS || desc.contains('<') {
            "chat description too long or with a raw `<`".to_string()
        } else {
            continue;
        };
        return Some(format!("{language:?}: {problem}"));
    }
    None
}

/// What is wrong with the outcome of one file, if anything.
fn check(row: &Row) -> Option<String> {
    let bytes = std::fs::read(dir().join(&row.file)).expect("fixture");
    let one_line = |what: &str, s: &str| -> Option<String> {
        if s.contains(['\n', '\r']) || s.chars().count() >= MAX_ERROR_CHARS {
            Some(format!(
                "{what} is not one short line ({} chars): {:?}",
                s.chars().count(),
                s.chars().take(400).collect::<String>()
            ))
        } else {
            None
        }
    };
    let missing = |what: &str, haystack: &str| {
        Some(format!(
            "{what} lacks {:?}: {:?}",
            row.needle,
            haystack.chars().take(400).collect::<String>()
        ))
    };
    // A Health event is one incident per affected instance; these name one, so it reads like one alarm.
    let parsed = match parse_bytes(&bytes) {
        Ok(Parsed::Health(mut changes)) if changes.len() == 1 => {
            Ok(Parsed::Alarm(Box::new(changes.remove(0))))
        }
        other => other,
    };
    match (row.outcome, parsed) {
        (Outcome::Malformed, Err(e)) => {
            let msg = e.to_string();
            one_line("error", &msg).or_else(|| {
                if msg.contains(&row.needle) {
                    None
                } else {
                    missing("error", &msg)
                }
            })
        }
        (Outcome::ReportedWithWarning | Outcome::Reported, Ok(Parsed::Alarm(change))) => {
            if let Some(bad) = change.warnings.iter().find_map(|w| one_line("warning", w)) {
                return Some(bad);
            }
            if let Some(bad) = limits(&change) {
                return Some(bad);
            }
            if row.outcome == Outcome::ReportedWithWarning {
                if change.warnings.iter().any(|w| w.contains(&row.needle)) {
                    None
                } else {
                    missing("warnings", &change.warnings.join(" / "))
                }
            } else if !change.warnings.is_empty() {
                Some(format!("unexpected warnings {:?}", change.warnings))
            } else {
                let settings = Settings {
                    language: Language::En,
                    ..Settings::default()
                };
                let (_, report, _) = compose(
                    &change,
                    &Facts::unavailable(Gap::Failed("bad event".into())),
                    &settings,
                );
                let email = render::email(&report);
                if email.contains(&row.needle) {
                    None
                } else {
                    missing("email", &email)
                }
            }
        }
        (Outcome::Ignored, Ok(Parsed::Alarm(_))) => Some("reported, not ignored".into()),
        (Outcome::Ignored, Ok(other)) => {
            let Parsed::Ignored {
                source,
                detail_type,
            } = other
            else {
                return Some(format!("not ignored: {other:?}"));
            };
            let seen = format!("{source} / {detail_type}");
            if seen.contains(&row.needle) {
                None
            } else {
                missing("source / detail-type", &seen)
            }
        }
        (expected, got) => Some(format!(
            "expected {expected:?}, got {}",
            match got {
                Err(e) => format!(
                    "error {:?}",
                    e.to_string().chars().take(300).collect::<String>()
                ),
                Ok(Parsed::Alarm(c)) => format!("an alarm with warnings {:?}", c.warnings),
                Ok(other) => format!("{other:?}"),
            }
        )),
    }
}

#[test]
fn every_bad_event_file_has_a_row_in_expected_md_and_every_row_a_file() {
    let rows: BTreeSet<String> = table().into_iter().map(|r| r.file).collect();
    let files = files();
    let undocumented: Vec<_> = files.difference(&rows).collect();
    let missing: Vec<_> = rows.difference(&files).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "files without a row: {undocumented:?}; rows without a file: {missing:?}"
    );
    assert!(
        files.len() >= 20,
        "fixtures/bad/ should hold the bad events"
    );
}

#[test]
fn every_bad_event_gets_the_outcome_expected_md_documents() {
    let failures: Vec<String> = table()
        .iter()
        .filter_map(|row| check(row).map(|why| format!("{}: {why}", row.file)))
        .collect();
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_megabyte_of_input_never_reaches_an_error_message() {
    for file in ["state-is-a-1mb-string.json", "description-1mb.json"] {
        let bytes = std::fs::read(dir().join(file)).unwrap();
        assert!(bytes.len() > 1_000_000, "{file} should be 1 MB");
    }
    let bytes = std::fs::read(dir().join("state-is-a-1mb-string.json")).unwrap();
    let err = parse_bytes(&bytes).unwrap_err().to_string();
    assert!(err.len() < MAX_ERROR_CHARS, "{} chars", err.len());
    assert!(
        err.ends_with("expected struct RawState"),
        "says what was expected: {err}"
    );
}

#[test]
fn every_malformed_row_names_a_field_or_the_json_problem() {
    // A bare "invalid type" would send the on-call engineer hunting through the whole event.
    for row in table().iter().filter(|r| r.outcome == Outcome::Malformed) {
        assert!(
            row.needle.starts_with("event is not")
                || row.needle.contains("detail")
                || row.needle.contains("alarmData")
                || row.needle.contains("(top)")
                || row.needle.starts_with("resources:"),
            "{}: {:?} names neither a field nor the JSON problem",
            row.file,
            row.needle
        );
    }
}
