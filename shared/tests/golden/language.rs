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
/// every `l!` English literal's text between its placeholders (the reasons a source is missing among them) — less what the
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

/// A line of a Korean report with what may stay in English taken out: AWS's own text quoted after `AWS 원문: "`
/// (to the line's last quote), URLs, ARNs and inline code (identifiers, commands).
fn without_quoted_aws_text(line: &str) -> String {
    let mut l = line.to_string();
    if let Some(at) = l.find("AWS 원문: \"") {
        let end = l.rfind('"').filter(|e| *e > at + "AWS 원문: \"".len() - 1);
        l.replace_range(at..end.map_or(l.len(), |e| e + 1), "");
    }
    while let Some(at) = l.find('`') {
        let end = l[at + 1..].find('`').map_or(l.len(), |e| at + e + 2);
        l.replace_range(at..end, " ");
    }
    l.split_whitespace()
        .filter(|w| !w.contains("http://") && !w.contains("https://") && !w.contains("arn:"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest run of English words in a line, when it reads as English prose: four words or more (words all in
/// capitals, such as ALARM or OOM, extend a run but do not count), two of them lower-case.
fn english_run(line: &str) -> Option<String> {
    let words = line
        .split(|c: char| c.is_whitespace() || ",;:()[]".contains(c))
        .map(|w| w.trim_matches(|c| c == '.' || c == '\'' || c == '"'));
    let counted = |run: &[&str]| {
        let prose = run
            .iter()
            .filter(|w| !w.chars().all(|c| c.is_ascii_uppercase()))
            .count();
        let lower = run
            .iter()
            .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()))
            .count();
        (prose, lower)
    };
    let (mut run, mut best): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    for w in words {
        let english = (w.len() >= 2 && w.chars().all(|c| c.is_ascii_alphabetic())) || w == "a";
        if english {
            run.push(w);
            if counted(&run).0 > counted(&best).0 {
                best = run.clone();
            }
        } else {
            run.clear();
        }
    }
    let (prose, lower) = counted(&best);
    (prose >= 4 && lower >= 2).then(|| best.join(" "))
}

#[test]
fn the_english_run_detector_reads_prose_and_leaves_terms() {
    assert_eq!(
        english_run("사유: Threshold Crossed: 1 datapoint was greater than the threshold (20.0)."),
        Some("datapoint was greater than the threshold".into())
    );
    assert!(english_run("transitioned to ALARM at Wednesday 05 November").is_some());
    for term in [
        "예약 작업(cron, systemd timer, 백업, 배치)",
        "console 출력(OOM, kernel panic, fsck)",
        "AWS가 복구 중 (simplified automatic recovery)",
        "알람: prod-web-1-cpu-anomaly (anomaly detection band)",
    ] {
        assert_eq!(english_run(term), None, "{term}");
    }
    assert_eq!(
        without_quoted_aws_text(
            "사유: 임계값 초과 — AWS 원문: \"Threshold Crossed: 1 datapoint was greater\""
        ),
        "사유: 임계값 초과 —"
    );
}

/// A Korean report says in Korean what AWS wrote in English — a state reason, EC2's reason for a stop, a Health
/// event — and quotes AWS's text once after `AWS 원문:`. Outside that quote, identifiers, commands, URLs, the
/// account's own words (the alarm's description, the instance's log lines) and the ASCII subject, no run of English
/// prose is left.
#[test]
fn a_korean_report_has_no_english_prose_outside_quoted_aws_text() {
    let mut found = Vec::new();
    let mut read = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".ko.") {
            continue;
        }
        read += 1;
        for l in report_lines(&text) {
            let t = l.trim().trim_start_matches("• ").trim_start_matches("· ");
            let account =
                t.contains("알람 설명: ") || t.contains(" KST log ") || t.contains(" KST [");
            if t.starts_with("$ ") || account {
                continue;
            }
            if let Some(run) = english_run(&without_quoted_aws_text(t)) {
                found.push(format!("{name}: {run:?} in {t}"));
            }
        }
    }
    assert!(read >= 40, "Korean goldens read: {read}");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// AWS's text is quoted once in a report: the same quote (`AWS 원문: "…"`, `AWS: "…"`) never comes back.
#[test]
fn no_report_quotes_the_same_aws_text_twice() {
    let mut quotes = 0;
    for (name, text) in golden_texts() {
        for marker in ["AWS 원문: \"", "AWS: \""] {
            for (at, _) in text.match_indices(marker) {
                let rest = &text[at + marker.len()..];
                let quoted = rest
                    .lines()
                    .next()
                    .and_then(|l| l.rsplit_once('"'))
                    .map(|(q, _)| q);
                let Some(q) = quoted.filter(|q| !q.is_empty()) else {
                    continue;
                };
                quotes += 1;
                assert_eq!(text.matches(q).count(), 1, "{name}: quoted twice: {q}");
            }
        }
    }
    assert!(quotes >= 20, "quotes read: {quotes}");
}
