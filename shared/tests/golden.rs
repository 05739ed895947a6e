//! Golden reports: every file in `events/`, both languages, email text and Chatbot JSON. Reviewed by eye once;
//! any change in wording or analysis shows up as a snapshot diff.

mod support;

// The snapshot tests stay in this file: insta files snapshots by the directory and module of the assertion.
#[path = "golden/commands.rs"]
mod commands;
#[path = "golden/fixtures.rs"]
mod fixtures;
#[path = "golden/language.rs"]
mod language;
#[path = "golden/lead.rs"]
mod lead;
#[path = "golden/reading.rs"]
mod reading;

use ec2ops::analyze::assess;
use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, parse_timestamp, Parsed};
use ec2ops::facts::Gap;
use ec2ops::facts::{Facts, Source, StatusFacts};
use ec2ops::model::AlarmChange;
use ec2ops::pipeline::compose;
use ec2ops::remediation::{decide, ActionOutcome, Continuation, Decision, Stuck, VerifyRequest};
use ec2ops::report::{followup, render};

/// The report as the pipeline renders it after acting, with EC2's and Scheduler's answers stood in for: a dry run that
/// EC2 accepts, an action with a fixed request id, a second look at a spike scheduled. Holds come from the real
/// envelope.
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
        Decision::Propose { action } => ActionOutcome::Proposed {
            action,
            nonce: "0123456789abcdef0123456789abcdef".into(),
            expires_at: now + chrono::Duration::minutes(15),
            note: None,
        },
    };
    // And the scheduler's: a spike whose advice is to watch it gets its second look at the setting's minutes.
    let recheck_at = ec2ops::analyze::recheck::RecheckRequest::of(change, &a)
        .and(settings.recheck_after)
        .map(|after| now + after);
    ec2ops::pipeline::render_incident_report(change, facts, &a, &action, settings, &[], recheck_at)
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
        match parse_bytes(&bytes).unwrap() {
            Parsed::Alarm(c) => alarm_goldens(stem, &file, &c),
            Parsed::Health(changes) => alarm_goldens(stem, &file, &changes[0]),
            Parsed::Sweep => sweep_goldens(stem),
            Parsed::Continue(c) => recover_followup_goldens(stem, &c),
            Parsed::SweepItem(_) => {
                panic!("{file}: sweep items are made by the sweep, not sample events")
            }
            Parsed::Heartbeat => {
                panic!(
                    "{file}: the heartbeat's alarm is built in (shared/src/pipeline/heartbeat.rs)"
                )
            }
            Parsed::Approval(_) | Parsed::ApprovalExpiry(_) => {
                panic!("{file}: an answer to a proposed action has no report of its own")
            }
            Parsed::Verify(req) => verification_goldens(stem, &req),
            Parsed::Recheck(req) => recheck_goldens(stem, &req),
            Parsed::Ignored {
                source,
                detail_type,
            } => {
                insta::assert_snapshot!(
                    format!("{stem}.ignored"),
                    format!("ignored: {source} / {detail_type}")
                );
            }
        }
    }
}

/// An alarm's (or a Health event's first) report, email and chat, with its scenario's facts (or none: the degraded
/// path).
fn alarm_goldens(stem: &str, file: &str, change: &AlarmChange) {
    let facts =
        support::scenario(file).unwrap_or_else(|| Facts::unavailable(Gap::Offline { call: None }));
    for (lang, tag) in [(Language::Ko, "ko"), (Language::En, "en")] {
        let (report, message) = golden(change, &facts, &settings(lang));
        insta::assert_snapshot!(
            format!("{stem}.{tag}.email"),
            format!("Subject: {}\n\n{}", message.subject, render::email(&report))
        );
        let chat = serde_json::to_string_pretty(&render::chatbot(&report)).unwrap();
        insta::assert_snapshot!(format!("{stem}.{tag}.chatbot"), chat);
    }
}

/// The sweep's schedule: its report is that of an impaired instance it finds (prod-web-2, instance check).
fn sweep_goldens(stem: &str) {
    let found = ec2ops::facts::Impaired {
        instance_id: "i-0d1e2f3a4b5c6d7e8".into(),
        availability_zone: Some("ap-northeast-2c".into()),
        check: "StatusCheckFailed_Instance".into(),
        since: parse_timestamp("2025-10-12T04:29:00.000+0000"),
    };
    let now = parse_timestamp("2025-10-12T04:35:02.000+0000").unwrap();
    let change = AlarmChange::from_sweep(&found, now);
    for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
        let (report, message) = golden(&change, &support::status_instance(), &settings(lang));
        insta::assert_snapshot!(
            format!("{stem}.{l}.email"),
            format!("Subject: {}\n\n{}", message.subject, render::email(&report))
        );
    }
}

/// A recover's continuation that cannot complete: the P0 follow-up for each state it can be left in.
fn recover_followup_goldens(stem: &str, c: &Continuation) {
    for (state, stuck) in [
        (
            Some("stopped"),
            Stuck::StartFailed {
                error: "ec2 StartInstances: InsufficientInstanceCapacity: We currently do not have sufficient m5.large capacity.".into(),
            },
        ),
        (
            Some("stopping"),
            Stuck::StillStopping {
                minutes: 16,
                forced: true,
            },
        ),
    ] {
        for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
            let now = c.stopped_at + chrono::Duration::minutes(16);
            let typed = state.and_then(ec2ops::facts::InstanceState::parse);
            let m = followup::render_recover(c, typed, &stuck, now, lang, chrono_tz::Asia::Seoul);
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
}

/// A verification request: the follow-up when the checks read ok again and when they still fail.
fn verification_goldens(stem: &str, req: &VerifyRequest) {
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
    let instance = Source::Unavailable(Gap::NotNeeded);
    for (status, tag) in [(fixed, "fixed"), (broken, "not-fixed")] {
        let v = followup::verdict(&instance, &status);
        for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
            let m = followup::render(req, &v, now, lang, chrono_tz::Asia::Seoul);
            insta::assert_snapshot!(
                format!("{stem}.{tag}.{l}"),
                format!("Subject: {}\n\n{}", m.subject, m.message)
            );
        }
    }
}

/// The second look at the seed's spike, once for each picture that is posted: it became sustained (the lab's "88 %+ a
/// minute later"), it peaked higher, it recovered.
fn recheck_goldens(stem: &str, req: &ec2ops::analyze::recheck::RecheckRequest) {
    use ec2ops::analyze::recheck::{classify, Picture};
    let now = req.alarm_at + chrono::Duration::minutes(5);
    let minute = |m: i64| req.peak_at + chrono::Duration::minutes(m);
    let series = |values: &[f64]| -> Vec<_> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (minute(i as i64 - 2), *v))
            .collect()
    };
    for (tag, values) in [
        (
            "sustained",
            series(&[0.24, 1.75, 39.58, 88.21, 91.40, 90.02, 89.67]),
        ),
        ("higher", series(&[0.24, 1.75, 39.58, 12.40, 61.35, 8.10])),
        ("recovered", series(&[0.24, 1.75, 39.58, 3.12, 0.41, 0.30])),
    ] {
        let picture = classify(req, &values, now);
        assert!(
            matches!(
                (tag, &picture),
                ("sustained", Picture::Sustained { .. })
                    | ("higher", Picture::Higher { .. })
                    | ("recovered", Picture::Recovered { .. })
            ),
            "{tag}: {picture:?}"
        );
        for (lang, l) in [(Language::Ko, "ko"), (Language::En, "en")] {
            let m = followup::render_recheck(req, &picture, now, lang, chrono_tz::Asia::Seoul);
            let published: serde_json::Value = serde_json::from_str(&m.message).unwrap();
            insta::assert_snapshot!(
                format!("{stem}.{tag}.{l}"),
                format!(
                    "Subject: {}\n\n{}",
                    m.subject,
                    published["email"].as_str().unwrap()
                )
            );
        }
    }
}

/// The sample re-check is the one the seed's spike report schedules: the same incident, thread, metric and peak.
#[test]
fn the_sample_recheck_is_what_the_cpu_spike_report_schedules() {
    let change = support::load("cpu-spike.json");
    let facts = support::scenario("cpu-spike.json").unwrap();
    let scheduled = ec2ops::analyze::recheck::RecheckRequest::of(&change, &assess(&change, &facts))
        .expect("the spike's advice is to watch: a re-check");
    let bytes =
        std::fs::read(support::events_dir().join("recheck-cpu-spike.json")).unwrap_or_default();
    let Ok(Parsed::Recheck(sample)) = parse_bytes(&bytes) else {
        panic!(
            "events/recheck-cpu-spike.json should be:\n{}",
            serde_json::to_string_pretty(&scheduled.to_event()).unwrap()
        );
    };
    assert_eq!(*sample, scheduled);
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

/// Whether a golden is an OK notice: an alarm back to OK that needs nobody, a few lines with no section.
fn is_ok_notice(name: &str) -> bool {
    name.contains("ok-recovery") || name.contains("-ok.")
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

/// The report part of a golden (email text or chat description), without the SNS subject.
fn report_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.starts_with("Subject: "))
}
