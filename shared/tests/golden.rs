//! Golden reports: every file in `events/`, both languages, email text and Chatbot JSON. Reviewed by eye once;
//! any change in wording or analysis shows up as a snapshot diff.

mod support;

use ec2ops::analyze::assess;
use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, parse_timestamp, Parsed};
use ec2ops::facts::{Facts, Source, StatusFacts};
use ec2ops::model::AlarmChange;
use ec2ops::pipeline::{compose, render_report};
use ec2ops::remediation::{decide, ActionOutcome, Decision};
use ec2ops::report::{followup, render};

/// The report as the pipeline renders it after acting, with EC2's answers stood in for: a dry run that EC2 accepts,
/// an action with a fixed request id. Holds come from the real envelope.
fn golden(
    change: &AlarmChange,
    facts: &Facts,
    settings: &Settings,
) -> (ec2ops::report::Report, render::SnsMessage) {
    // As the pipeline does: a ranked fleet alarm is analysed as an alarm on its hottest instance.
    let focused = ec2ops::gather::focus(change, facts);
    let change = focused.as_ref().unwrap_or(change);
    let a = assess(change, facts);
    let now = change.state.at + chrono::Duration::seconds(5);
    let action = match decide(
        change,
        facts,
        &a,
        settings.remediation,
        &settings.envelope,
        now,
    ) {
        Decision::Off => ActionOutcome::ReportOnly,
        Decision::AdviceOnly => ActionOutcome::AdviceOnly,
        Decision::Held { action, holds } => ActionOutcome::Held { action, holds },
        Decision::AlreadyDone { action, at } => ActionOutcome::AlreadyDone { action, at },
        Decision::DryRun { action } => ActionOutcome::DryRun {
            action,
            allowed: true,
            detail: "DryRunOperation: Request would have succeeded, but DryRun flag is set.".into(),
        },
        Decision::Act { action } => ActionOutcome::Done {
            action,
            at: now,
            request_ids: vec!["8f2e1c3a-golden".into()],
            verify_at: Some(now + chrono::Duration::minutes(10)),
            verify_note: None,
        },
    };
    render_report(change, facts, &a, &action, settings)
}

fn settings(language: Language) -> Settings {
    Settings {
        language,
        ..Settings::default()
    }
}

#[test]
fn every_sample_event_has_golden_reports_in_both_languages_and_formats() {
    let mut files: Vec<_> = std::fs::read_dir(support::events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert!(files.len() >= 13, "events/ should hold the sample events");
    for file in files {
        let stem = file.trim_end_matches(".json");
        let bytes = std::fs::read(support::events_dir().join(&file)).unwrap();
        let change = match parse_bytes(&bytes).unwrap() {
            Parsed::Alarm(c) => *c,
            Parsed::Health(mut changes) => changes.remove(0),
            // The sweep's schedule: its report is that of an impaired instance it finds (prod-web-2, instance check).
            Parsed::Sweep => {
                let found = ec2ops::facts::Impaired {
                    instance_id: "i-0d1e2f3a4b5c6d7e8".into(),
                    availability_zone: Some("ap-northeast-2c".into()),
                    check: "StatusCheckFailed_Instance".into(),
                    since: parse_timestamp("2025-10-12T04:29:00.000+0000"),
                };
                let now = parse_timestamp("2025-10-12T04:35:02.000+0000").unwrap();
                let change = AlarmChange::from_sweep(&found, now);
                for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
                    let (report, message) =
                        golden(&change, &support::status_instance(), &settings(lang));
                    insta::assert_snapshot!(
                        format!("{stem}.{l}.email"),
                        format!("Subject: {}\n\n{}", message.subject, render::email(&report))
                    );
                }
                continue;
            }
            // A recover's continuation that cannot complete: the P0 follow-up for each state it can be left in.
            Parsed::Continue(c) => {
                for (state, detail) in [
                    (Some("stopped"), "StartInstances failed: ec2 StartInstances: InsufficientInstanceCapacity: We currently do not have sufficient m5.large capacity."),
                    (Some("stopping"), "it has been stopping for 16 minutes despite a forced stop"),
                ] {
                    for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
                        let m = followup::render_recover(&c, state, detail, lang, chrono_tz::Asia::Seoul);
                        let published: serde_json::Value = serde_json::from_str(&m.message).unwrap();
                        insta::assert_snapshot!(
                            format!("{stem}.{}.{l}", state.unwrap_or("unknown")),
                            format!(
                                "Subject: {}\n\n{}",
                                m.subject,
                                published["email"].as_str().unwrap()
                            )
                        );
                    }
                }
                continue;
            }
            Parsed::SweepItem(_) => {
                panic!("{file}: sweep items are made by the sweep, not sample events")
            }
            Parsed::Verify(req) => {
                let now = parse_timestamp("2025-10-12T04:42:03.000+0000").unwrap();
                let fixed = Source::Available(StatusFacts {
                    system: Some("ok".into()),
                    instance: Some("ok".into()),
                    ..StatusFacts::default()
                });
                let broken = Source::Available(StatusFacts {
                    system: Some("ok".into()),
                    instance: Some("impaired".into()),
                    ..StatusFacts::default()
                });
                let instance = Source::Unavailable("not needed".into());
                for (status, tag) in [(fixed, "fixed"), (broken, "not-fixed")] {
                    let v = followup::verdict(&instance, &status);
                    for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
                        let m = followup::render(&req, &v, now, lang, chrono_tz::Asia::Seoul);
                        insta::assert_snapshot!(
                            format!("{stem}.{tag}.{l}"),
                            format!("Subject: {}\n\n{}", m.subject, m.message)
                        );
                    }
                }
                continue;
            }
            Parsed::Ignored {
                source,
                detail_type,
            } => {
                insta::assert_snapshot!(
                    format!("{stem}.ignored"),
                    format!("ignored: {source} / {detail_type}")
                );
                continue;
            }
        };
        let facts = support::scenario(&file)
            .unwrap_or_else(|| Facts::unavailable("offline mode, no AWS call made"));
        for (lang, tag) in [(Language::Ko, "ko"), (Language::En, "en")] {
            let (report, message) = golden(&change, &facts, &settings(lang));
            insta::assert_snapshot!(
                format!("{stem}.{tag}.email"),
                format!("Subject: {}\n\n{}", message.subject, render::email(&report))
            );
            let chat = serde_json::to_string_pretty(&render::chatbot(&report)).unwrap();
            insta::assert_snapshot!(format!("{stem}.{tag}.chatbot"), chat);
        }
    }
}

/// prod-db-1 with AWS's own recovery turned off: nothing holds the stop/start, so the default dry-run mode rehearses
/// it (with recovery on, as in `status-system`, ec2ops lets AWS recover first).
#[test]
fn a_system_check_failure_without_aws_recovery_is_rehearsed_in_dry_run() {
    let change = support::load("status-system.json");
    let mut facts = support::prod_db(
        ec2ops::facts::Role::StatusSystem,
        "2025-10-11T22:13:00.000+0000",
    );
    if let Source::Available(ec2ops::facts::InstanceLookup::Found(i)) = &mut facts.instance {
        i.auto_recovery = Some("disabled".into());
    }
    for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
        let (report, message) = golden(&change, &facts, &settings(lang));
        insta::assert_snapshot!(
            format!("status-system.recovery-off.{l}.email"),
            format!("Subject: {}\n\n{}", message.subject, render::email(&report))
        );
    }
}

#[test]
fn no_section_reads_the_same_for_a_dev_cpu_spike_and_a_prod_system_check_failure() {
    let spike = support::load("cpu-spike.json");
    let spike_facts = support::cpu_spike("t3.micro", Some("dev"));
    let system = support::load("status-system.json");
    let system_facts = support::prod_db(
        ec2ops::facts::Role::StatusSystem,
        "2025-10-11T22:13:00.000+0000",
    );
    for lang in [Language::Ko, Language::En] {
        let (a1, r1, _) = compose(&spike, &spike_facts, &settings(lang));
        let (a2, r2, _) = compose(&system, &system_facts, &settings(lang));
        assert_eq!(a1.priority, ec2ops::analyze::Priority::P2);
        assert_eq!(a2.priority, ec2ops::analyze::Priority::P0);
        assert_eq!(r1.sections.len(), 7);
        for (s1, s2) in r1.sections.iter().zip(&r2.sections) {
            let body =
                |s: &ec2ops::report::Section| s.lines.iter().map(|l| l.plain()).collect::<Vec<_>>();
            assert_eq!(s1.title, s2.title);
            assert_ne!(body(s1), body(s2), "section {} reads the same", s1.title);
        }
    }
}

#[test]
fn sections_come_in_the_seed_order_with_the_seed_emoji() {
    let change = support::load("cpu-sustained.json");
    let (_, report, _) = compose(&change, &support::cpu_sustained(), &settings(Language::Ko));
    let emoji: Vec<&str> = report.sections.iter().map(|s| s.emoji).collect();
    assert_eq!(emoji, ["🚨", "📊", "🔧", "📈", "💰", "🔒", "🤖"]);
    let titles: Vec<&str> = report.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "긴급도 평가",
            "현재 상황 분석",
            "즉시 조치사항",
            "장기 개선방안",
            "비용 영향도",
            "보안 고려사항",
            "자동화 가능성"
        ]
    );
}

/// Every golden as the reader sees it: the email text, or the chat description and next steps, or a follow-up's
/// email (each snapshot without insta's header).
fn golden_texts() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".snap"))
        .collect();
    names.sort();
    for name in names {
        let raw = std::fs::read_to_string(dir.join(&name)).unwrap();
        let body = raw.splitn(3, "---\n").nth(2).unwrap_or(&raw).to_string();
        let text = if name.contains(".chatbot.") {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            let mut t = v["content"]["description"].as_str().unwrap().to_string();
            for s in v["content"]["nextSteps"].as_array().unwrap() {
                t.push('\n');
                t.push_str(s.as_str().unwrap());
            }
            t.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        } else if let Some(json) = body.find("\n\n{\"default\"").map(|i| &body[i + 2..]) {
            let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
            v["email"].as_str().unwrap().to_string()
        } else {
            body
        };
        out.push((name, text));
    }
    assert!(out.len() >= 75, "the golden set: {}", out.len());
    out
}

/// The command lines of a golden, in order: `$ …` lines (plain or in chat backticks), next steps, and commands
/// quoted inline in backticks.
/// A captured command (`var=$(aws …)`) counts as the `aws …` it runs.
fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim().trim_start_matches("• ").trim();
        if let Some(c) = l.strip_prefix("$ ") {
            out.push(uncaptured(c.trim_matches('`')).to_string());
        } else if uncaptured(l).starts_with("aws ") {
            out.push(uncaptured(l).to_string());
        } else {
            out.extend(
                l.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(uncaptured)
                    .filter(|c| c.starts_with("aws "))
                    .map(str::to_string),
            );
        }
    }
    out
}

/// `aws …` out of `var=$(aws …)`; anything else as it is.
fn uncaptured(line: &str) -> &str {
    line.split_once("=$(aws ")
        .filter(|(var, _)| var.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .and_then(|(var, _)| line.get(var.len() + 3..))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(line)
}

fn words(cmd: &str) -> Vec<String> {
    shlex::split(cmd).unwrap_or_else(|| panic!("not one shell command line: {cmd}"))
}

fn option<'a>(w: &'a [String], name: &str) -> Option<&'a str> {
    w.iter()
        .position(|x| x == name)
        .and_then(|i| w.get(i + 1))
        .map(String::as_str)
}

#[test]
fn no_golden_starts_or_resizes_an_instance_before_waiting_for_its_stop() {
    for (name, text) in golden_texts() {
        let (mut stopping, mut waited) = (false, false);
        for c in commands(&text) {
            if c.starts_with("aws ec2 stop-instances") {
                stopping = true;
            } else if c.starts_with("aws ec2 wait instance-stopped") {
                (stopping, waited) = (false, true);
            } else if c.starts_with("aws ec2 start-instances") {
                assert!(!stopping, "{name}: start right after a stop, no wait: {c}");
            } else if c.starts_with("aws ec2 modify-instance-attribute")
                && c.contains("--instance-type")
            {
                assert!(
                    waited && !stopping,
                    "{name}: a type change without stop and wait first: {c}"
                );
            }
        }
    }
}

#[test]
fn every_golden_that_stops_an_instance_says_how_to_force_a_stuck_stop() {
    for (name, text) in golden_texts() {
        let cmds = commands(&text);
        let stops = cmds
            .iter()
            .any(|c| c.starts_with("aws ec2 stop-instances") && !c.contains("--force"));
        let forced = cmds
            .iter()
            .any(|c| c.starts_with("aws ec2 stop-instances") && c.contains("--force"));
        // A chat description may have cut the hint with its whole step; the email never does.
        if stops && !name.contains(".chatbot.") {
            assert!(forced, "{name}: a stop without the --force hint");
        }
    }
}

#[test]
fn no_golden_modifies_one_volume_twice() {
    for (name, text) in golden_texts() {
        let mut seen = std::collections::BTreeSet::new();
        for c in commands(&text)
            .iter()
            .filter(|c| c.starts_with("aws ec2 modify-volume"))
        {
            let w = words(c);
            let vol = option(&w, "--volume-id").unwrap().to_string();
            assert!(
                seen.insert(vol.clone()),
                "{name}: {vol} modified twice (EBS refuses a second change for 6 hours)"
            );
        }
    }
}

#[test]
fn every_run_command_in_a_golden_comes_with_the_way_to_read_its_output() {
    for (name, text) in golden_texts() {
        let cmds = commands(&text);
        for (i, c) in cmds.iter().enumerate() {
            if !c.starts_with("aws ssm send-command") {
                continue;
            }
            assert!(c.contains("--query Command.CommandId"), "{name}: {c}");
            if c.contains("AWS-RunShellScript") {
                let read = cmds[i + 1..]
                    .iter()
                    .take_while(|n| !n.starts_with("aws ssm send-command"))
                    .any(|n| {
                        n.starts_with("aws ssm get-command-invocation")
                            && n.contains("--query StandardOutputContent")
                    });
                assert!(read, "{name}: no get-command-invocation after {c}");
            }
        }
    }
}

#[test]
fn every_cloudwatch_agent_install_in_a_golden_is_followed_by_its_configuration() {
    for (name, text) in golden_texts() {
        let cmds = commands(&text);
        let Some(install) = cmds
            .iter()
            .position(|c| c.contains("AWS-ConfigureAWSPackage"))
        else {
            continue;
        };
        let rest = &cmds[install + 1..];
        let wait = rest
            .iter()
            .position(|c| c.starts_with("aws ssm wait command-executed"));
        let configure = rest.iter().position(|c| {
            c.contains("AmazonCloudWatch-ManageAgent") && c.contains(r#""action":["configure"]"#)
        });
        assert!(
            matches!((wait, configure), (Some(w), Some(c)) if w < c),
            "{name}: the agent is installed but not configured after the install"
        );
    }
}

/// `m5.large`, `t3.micro`, `c7gn.16xlarge`: a family with a generation digit, a dot, a size.
fn instance_types(text: &str) -> Vec<String> {
    const SIZES: [&str; 7] = [
        "nano", "micro", "small", "medium", "large", "xlarge", "metal",
    ];
    text.split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter_map(|t| {
            let (family, size) = t.split_once('.')?;
            let family_ok = family.starts_with(|c: char| c.is_ascii_lowercase())
                && family.chars().any(|c| c.is_ascii_digit())
                && family.len() <= 6;
            let size_ok = SIZES.contains(&size)
                || size
                    .strip_suffix("xlarge")
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            (family_ok && size_ok).then(|| t.to_string())
        })
        .collect()
}

#[test]
fn every_instance_type_named_in_a_golden_exists_in_the_price_table() {
    let mut named = 0;
    for (name, text) in golden_texts() {
        let region = commands(&text)
            .iter()
            .find_map(|c| option(&words(c), "--region").map(str::to_string));
        for ty in instance_types(&text) {
            named += 1;
            match &region {
                Some(r) => assert!(
                    ec2ops::pricing::instance_price(r, &ty).is_some(),
                    "{name}: {ty} is not in the price table for {r}"
                ),
                None => assert!(
                    ec2ops::pricing::is_known_type(&ty),
                    "{name}: {ty} is not in the price table"
                ),
            }
        }
    }
    assert!(named > 50, "the check found the types: {named}");
    assert_eq!(
        instance_types("m7i.micro / m5.xlarge."),
        ["m7i.micro", "m5.xlarge"]
    );
}

#[test]
fn a_report_never_both_recommends_enabling_auto_recovery_and_says_it_is_on() {
    for (name, text) in golden_texts() {
        let on = text.contains("Simplified automatic recovery is on")
            || text.contains("Simplified automatic recovery: on")
            || text.contains("Simplified automatic recovery 켜짐")
            || text.contains("Simplified automatic recovery: 켜짐");
        let enable = text.contains("--auto-recovery default")
            || text.contains("(or simplified automatic recovery)")
            || text.contains("Turn simplified automatic recovery back on")
            || text.contains("simplified automatic recovery를 설정")
            || text.contains("다시 켜고");
        assert!(
            !(on && enable),
            "{name}: says auto recovery is on and asks to enable it"
        );
    }
}

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

/// English phrases a Korean reader must never see: every `l!` English literal's text between its placeholders, and
/// the English side of the evidence and reason tables — less what the Korean side says the same way (AWS names,
/// commands, technical terms kept in English on purpose).
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
        if path.ends_with("evidence.rs") {
            // (en, ko) pairs of the tables.
            for pair in lits.windows(2) {
                let between = &src[pair[0].0 + 1..pair[1].0];
                if between.contains("\",") && !between.contains(')') {
                    keep(&pair[0].1, &pair[1].1);
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

/// The report part of a golden (email text or chat description), without the SNS subject.
fn report_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.starts_with("Subject: "))
}

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
                !text.contains("Status checks: system ok"),
                "{name}: status checks read ok on a stopped instance"
            );
        }
    }
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

#[test]
fn every_alarm_report_opens_with_its_cause_who_is_acting_and_the_next_step() {
    for (name, text) in golden_texts() {
        // Follow-ups (verify-, recover-continuation) are not reports.
        if name.contains("verify-")
            || name.contains("recover-continuation")
            || name.contains(".ignored")
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
        let Some(trend) = text
            .lines()
            .find(|l| l.trim_start_matches("• ").starts_with(trend))
        else {
            continue;
        };
        let a = number_after(threshold, actual).unwrap();
        let values = trend.split_once("): ").map_or(trend, |(_, v)| v);
        let last = values.rsplit(" → ").next().unwrap();
        let last = number_after(&format!(" {last}"), " ").unwrap_or_default();
        if a != last {
            assert!(
                threshold.contains(why),
                "{name}: actual {a} beside a trend ending {last}, unexplained"
            );
        }
    }
}

#[test]
fn a_sustained_breach_is_counted_once() {
    // The urgency's count of breaching datapoints is the finding's.
    for (name, text) in golden_texts() {
        let (why, finding) = if name.contains(".ko.") {
            ("지속적인 임계값 초과 (", "(datapoint ")
        } else {
            ("sustained breach (", " consecutive minutes (")
        };
        let (Some(w), Some(f)) = (
            text.lines().find(|l| l.contains(why)),
            text.lines().find(|l| l.contains("[CPU-SUSTAINED]")),
        ) else {
            continue;
        };
        assert_eq!(
            number_after(w, why),
            number_after(f, finding),
            "{name}: {w} / {f}"
        );
    }
}

#[test]
fn the_safe_next_command_of_a_summary_only_reads() {
    for (name, text) in golden_texts() {
        for l in text.lines() {
            let l = l.trim_start_matches("• ");
            let Some(cmd) = l
                .strip_prefix("▶ Safe next command (read-only): ")
                .or_else(|| l.strip_prefix("▶ 다음 명령 (안전, 읽기 전용): "))
            else {
                continue;
            };
            let w = words(cmd.trim_matches('`'));
            let verb = w.get(2).map(String::as_str).unwrap_or_default();
            assert!(
                w[1] != "ssm"
                    && ["describe-", "get-", "list-", "lookup-"]
                        .iter()
                        .any(|p| verb.starts_with(p)),
                "{name}: {cmd}"
            );
        }
    }
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

/// What a shell would pass for the variables our sequences capture (`"$command_id"`, `$((desired+1))`): values of
/// the shape AWS expects, so the CLI checks everything else as written.
fn expanded(word: &str) -> String {
    match word {
        "$command_id" => "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9".into(),
        "$target_group" => {
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web/0123456789abcdef".into()
        }
        "$((desired+1))" => "3".into(),
        w => w.to_string(),
    }
}

/// Every command line of every golden, run through the real AWS CLI (awscli, installed by `scripts/awscli.sh`,
/// `EC2OPS_AWS_CLI_PYTHON` set by `scripts/test.sh`) against a closed loopback endpoint: the CLI parses the
/// command, validates every parameter against the service model and only then tries to connect, so "could not
/// connect" means the command runs as written and anything else (unknown option, invalid value, bad JSON, a
/// parameter out of its range) is a command an operator could not run.
#[test]
fn every_command_in_every_golden_is_accepted_by_the_real_aws_cli() {
    let Some(python) = std::env::var_os("EC2OPS_AWS_CLI_PYTHON") else {
        assert!(
            std::env::var("EC2OPS_REQUIRE_EMULATOR").as_deref() != Ok("1"),
            "EC2OPS_AWS_CLI_PYTHON is not set: run scripts/test.sh (it installs the AWS CLI)"
        );
        eprintln!("skipped: EC2OPS_AWS_CLI_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    let mut argvs: Vec<Vec<String>> = golden_texts()
        .iter()
        .flat_map(|(_, text)| commands(text))
        .map(|c| words(&c).iter().map(|w| expanded(w)).collect())
        .collect();
    argvs.sort();
    argvs.dedup();
    assert!(argvs.len() >= 50, "commands found: {}", argvs.len());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/aws_cli_check.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the AWS CLI checker starts");
    let input = serde_json::to_vec(&argvs).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the checker failed: {out:?}");
    let verdicts: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts.len(), argvs.len());
    let refused: Vec<String> = verdicts
        .iter()
        .zip(&argvs)
        .filter(|(v, _)| v["runs"] != true)
        .map(|(v, argv)| format!("{}\n    → {}", argv.join(" "), v["error"]))
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {} commands refused by the AWS CLI:\n{}",
        refused.len(),
        argvs.len(),
        refused.join("\n")
    );
}

/// The sections of a chat description: (emoji, lines under the header).
fn chat_sections(text: &str) -> Vec<(String, Vec<String>)> {
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
            if line.starts_with("• ") {
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
        .filter(|(n, _)| n.contains(".chatbot."))
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
