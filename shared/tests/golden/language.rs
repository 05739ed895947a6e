//! Korean goldens: no English phrase of the phrasebook, every time in the configured zone first.

use super::*;

/// The string literals of a Rust source, in order (escapes resolved as far as a phrase check needs).
fn string_literals(src: &str) -> Vec<(usize, String)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // Skip line comments (doc comments quote English on purpose).
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            // A char literal such as '"' is not a string.
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 3,
            b'\'' if b.get(i + 1) == Some(&b'\\') && b.get(i + 3) == Some(&b'\'') => i += 4,
            b'"' => {
                let start = i;
                let mut s = String::new();
                i += 1;
                let mut chars = src[i..].char_indices();
                while let Some((k, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, e)) = chars.next() {
                                s.push(match e {
                                    'n' => '\n',
                                    other => other,
                                });
                            }
                        }
                        '"' => {
                            i += k;
                            break;
                        }
                        c => s.push(c),
                    }
                }
                out.push((start, s));
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// English phrases a Korean reader must never see — the English side of the phrasebook (`report/phrasebook.rs`):
/// every `l!` English literal's text between its placeholders, and the English side of its `WORDS` — less what the
/// Korean side says the same way (AWS names, commands, technical terms kept in English on purpose).
fn english_phrases() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report");
    let mut phrases = std::collections::BTreeSet::new();
    let mut keep = |en: &str, ko: &str| {
        for part in en.split(['{', '}', '\n', '(', ')', ':', '—', '·', ';', '"']) {
            let p = part.trim().trim_matches(|c: char| c == ',' || c == '.');
            let words: Vec<&str> = p
                .split_whitespace()
                .filter(|w| w.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 2)
                .collect();
            let prose = words
                .iter()
                .any(|w| w.len() >= 3 && w.chars().all(|c| c.is_ascii_lowercase()));
            if words.len() >= 3 && prose && p.len() >= 14 && !ko.contains(p) {
                phrases.insert(p.to_string());
            }
        }
    };
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        let lits = string_literals(&src);
        if path.ends_with("phrasebook.rs") {
            // (ko, en) pairs of WORDS, as `l!` orders them (the unit tests' sample lines aside).
            let book_end = src.find("#[cfg(test)]").unwrap_or(src.len());
            for pair in lits.windows(2).filter(|p| p[1].0 < book_end) {
                let between = &src[pair[0].0 + 1..pair[1].0];
                if between.contains("\",") && !between.contains(')') {
                    keep(&pair[1].1, &pair[0].1);
                }
            }
        }
        // l!(lang, "ko", "en", …): the literal after `l!(`'s first two.
        for (at, _) in src.match_indices("l!(") {
            let mut next = lits.iter().filter(|(p, _)| *p > at);
            if let (Some(ko), Some(en)) = (next.next(), next.next()) {
                keep(&en.1, &ko.1);
            }
        }
    }
    phrases.into_iter().collect()
}

#[test]
fn no_korean_golden_contains_an_english_phrase_of_the_phrasebook() {
    let phrases = english_phrases();
    assert!(phrases.len() > 100, "the English book: {}", phrases.len());
    for known in [
        "window median before the rise",
        "CPU rise begins",
        "lines cut to fit the message size",
        "offline mode, no AWS call made",
        "start it again every few minutes",
        "security-group rule change",
    ] {
        assert!(
            phrases.iter().any(|p| p == known),
            "{known} not in the English book"
        );
    }
    let mut found = Vec::new();
    for (name, text) in golden_texts() {
        if !name.contains(".ko.") {
            continue;
        }
        // The alarm's description and state reason are the account's own words, quoted as written; an SNS subject
        // must be ASCII, so it keeps the English headline.
        let ours: String = text
            .lines()
            .filter(|l| {
                !l.contains("알람 설명: ")
                    && !l.contains("상태 사유: ")
                    && !l.starts_with("Subject: ")
            })
            .collect::<Vec<_>>()
            .join("\n");
        for p in &phrases {
            if ours.contains(p.as_str()) {
                found.push(format!("{name}: {p:?}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn korean_goldens_give_every_time_in_the_configured_zone_first() {
    for (name, text) in golden_texts() {
        if !name.contains(".ko.") {
            continue;
        }
        for l in report_lines(&text).filter(|l| !l.contains("상태 사유: ") && !l.contains("사유: "))
        {
            if let Some(utc) = l.find("UTC") {
                let kst = l.find("KST");
                assert!(
                    kst.is_some_and(|k| k < utc),
                    "{name}: UTC before the configured zone in {l}"
                );
            }
        }
    }
}

/// Every Korean snapshot as the reader sees it — the reports, the follow-ups and the storm digests — without the
/// SNS subject (ASCII by necessity) and the account's own quoted words.
fn korean_texts() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = golden_texts()
        .into_iter()
        .filter(|(n, _)| n.contains(".ko."))
        .collect();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/digest");
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.contains(".ko.") && name.ends_with(".snap") && !name.contains(".subject.") {
            let raw = std::fs::read_to_string(dir.join(&name)).unwrap();
            out.push((
                name,
                raw.splitn(3, "---\n").nth(2).unwrap_or(&raw).to_string(),
            ));
        }
    }
    out.into_iter()
        .map(|(n, t)| {
            let ours = t
                .lines()
                .filter(|l| {
                    !l.starts_with("Subject: ")
                        && !l.contains("알람 설명: ")
                        && !l.contains("상태 사유: ")
                        && !l.contains("\"summary\": ")
                })
                .collect::<Vec<_>>()
                .join("\n");
            (n, ours)
        })
        .collect()
}

/// Defect 17: the words a reader of a Korean report kept meeting in English — the status checks' names and states,
/// the in-guest lines, the follow-ups' titles — are Korean in every Korean snapshot, digests included.
#[test]
fn no_korean_snapshot_names_the_status_checks_or_follow_ups_in_english() {
    let english = [
        "Status checks",
        "system ok",
        "instance ok",
        "attached EBS ok",
        "In-guest",
        "top memory",
        "Recover incomplete",
        "Verified: ",
        "status check failed",
        "Status check 실패",
    ];
    let texts = korean_texts();
    assert!(
        texts.iter().any(|(n, _)| n.starts_with("digest__")),
        "the digests are read"
    );
    let mut found = Vec::new();
    for (name, text) in &texts {
        for e in english {
            if text.contains(e) {
                found.push(format!("{name}: {e:?}"));
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
