//! The storm digest as a reader gets it: golden renderings of one storm window in both languages and both formats,
//! and the entry built from a real report.

mod support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ec2ops::analyze::Priority;
use ec2ops::config::{Language, Settings};
use ec2ops::pipeline::compose;
use ec2ops::report::digest::{Digest, DigestEntry, Origin};
use ec2ops::report::render::SNS_MAX_BYTES;
use serde_json::Value;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .expect("valid time")
}

#[allow(clippy::too_many_arguments)]
fn entry(
    n: u32,
    p: Priority,
    az: &str,
    family: &str,
    fleet: Option<&str>,
    cause: &str,
    action: Option<&str>,
    secs: i64,
) -> DigestEntry {
    let alarm = format!("web-{n:02}-{family}");
    let at = t0() + Duration::seconds(secs);
    DigestEntry {
        incident_key: format!(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}#ALARM#{}",
            at.format("%Y-%m-%dT%H:%M:%S%.3fZ")
        ),
        thread_id: format!(
            "{}#arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}",
            at.format("%Y%m%dT%H%M%S%.3fZ")
        ),
        priority: p,
        headline: "x".into(),
        cause: cause.into(),
        instance: Some(format!("i-0{n:016x}")),
        name: Some(format!("web-{n:02}")),
        az: Some(az.into()),
        alarm,
        family: family.into(),
        fleet: fleet.map(str::to_string),
        action: action.map(str::to_string),
        at,
        quiet: false,
    }
}

/// An AZ event (four instances failing status checks in us-east-1a), two CPU alarms elsewhere, two contributors of
/// the fleet alarm, and a hostile Name tag.
fn storm(language: Language) -> Digest {
    let sys = "StatusCheckFailed_System: AWS host problem";
    let mut es = vec![
        entry(
            1,
            Priority::P0,
            "us-east-1a",
            "status checks",
            None,
            sys,
            Some("held: AZ-EVENT"),
            3,
        ),
        entry(
            2,
            Priority::P0,
            "us-east-1a",
            "status checks",
            None,
            sys,
            Some("held: AZ-EVENT"),
            1,
        ),
        entry(
            3,
            Priority::P0,
            "us-east-1a",
            "status checks",
            None,
            sys,
            Some("held: AZ-EVENT"),
            2,
        ),
        entry(
            4,
            Priority::P1,
            "us-east-1a",
            "status checks",
            None,
            sys,
            None,
            4,
        ),
        entry(
            5,
            Priority::P2,
            "us-east-1b",
            "CPU",
            None,
            "sudden spike (job start, batch, traffic burst)",
            None,
            5,
        ),
        entry(
            6,
            Priority::P1,
            "us-east-1b",
            "CPU",
            None,
            "sustained saturation: scale up/out",
            None,
            7,
        ),
        entry(
            7,
            Priority::P2,
            "us-east-1c",
            "CPU",
            Some("EC2-Fleet-HighCPU"),
            "sudden spike",
            None,
            6,
        ),
        entry(
            8,
            Priority::P2,
            "us-east-1b",
            "CPU",
            Some("EC2-Fleet-HighCPU"),
            "sudden spike",
            None,
            8,
        ),
    ];
    es[4].name = Some("<!channel> *bold* `tick`\nsecond line".into());
    Digest::new(
        es,
        t0(),
        t0() + Duration::seconds(60),
        language,
        chrono_tz::Asia::Seoul,
        5,
    )
}

#[test]
fn a_storm_digest_reads_as_in_the_golden_files_in_both_languages_and_formats() {
    // In a directory of their own: the report goldens' tests read every snapshot beside them as a report.
    for (lang, tag) in [(Language::En, "en"), (Language::Ko, "ko")] {
        let d = storm(lang);
        insta::with_settings!({ snapshot_path => "snapshots/digest" }, {
            insta::assert_snapshot!(format!("storm.{tag}.email"), d.email());
            let chat = serde_json::to_string_pretty(&d.chatbot()).expect("json");
            insta::assert_snapshot!(format!("storm.{tag}.chatbot"), chat);
            insta::assert_snapshot!(format!("storm.{tag}.subject"), d.sns().subject);
        });
    }
}

#[test]
fn the_digest_says_it_is_a_digest_and_how_to_see_each_incident() {
    let d = storm(Language::En);
    let email = d.email();
    assert!(email.contains("This is a digest"));
    for e in d.entries() {
        assert!(
            email.contains(&format!("ec2ops incidents show '{}'", e.incident_key)),
            "{email}"
        );
        assert!(email.contains(&e.thread_id));
    }
    let chat = d.chatbot();
    assert_eq!(chat["metadata"]["eventType"], "ec2ops.digest");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    let desc = chat["content"]["description"].as_str().unwrap_or_default();
    assert!(desc.contains("`ec2ops incidents show KEY`"), "{desc}");
    // The hostile Name tag cannot mention the channel or break the layout.
    assert!(!desc.contains("<!channel>") && !email.contains("<!channel> *bold* `tick`\n"));
}

#[test]
fn the_first_lines_of_the_digest_are_the_p0s_of_the_az_event() {
    let d = storm(Language::En);
    let order: Vec<Priority> = d.entries().map(|e| e.priority).collect();
    assert_eq!(&order[..3], [Priority::P0; 3]);
    let first_group = &d.groups[0].1;
    assert!(first_group
        .iter()
        .all(|e| e.az.as_deref() == Some("us-east-1a")));
    assert_eq!(first_group.len(), 4);
}

#[test]
fn the_sns_message_of_a_digest_is_json_with_chatbot_default_and_email_text() {
    let m = storm(Language::Ko).sns();
    assert!(m.message.len() <= SNS_MAX_BYTES);
    let body: Value = serde_json::from_str(&m.message).expect("json");
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap_or("{}")).expect("json");
    assert_eq!(chat["version"], "1.0");
    assert!(body["email"]
        .as_str()
        .unwrap_or_default()
        .contains("요약(digest)"));
    assert_eq!(body["email"], body["sqs"]);
    assert!(m.subject.is_ascii() && m.subject.len() < 100);
}

#[test]
fn an_entry_built_from_a_report_carries_its_key_thread_priority_and_top_finding() {
    let change = support::load("status-system.json");
    let facts = support::scenario("status-system.json").expect("scenario");
    let settings = Settings {
        language: Language::En,
        ..Settings::default()
    };
    let (_, report, _) = compose(&change, &facts, &settings);
    let e = DigestEntry::new(
        &report,
        Origin {
            instance: Some("i-1".into()),
            alarm: "a".repeat(500),
            metric: Some("StatusCheckFailed_System".into()),
            at: t0(),
            ..Origin::default()
        },
    );
    assert_eq!(e.incident_key, report.incident_key);
    assert_eq!(e.thread_id, report.thread_id);
    assert_eq!(e.priority, report.priority);
    assert_eq!(e.family, "status checks");
    assert!(e.alarm.chars().count() <= 100);
    let cause_line = report
        .header
        .iter()
        .map(|l| l.plain())
        .find(|l| l.starts_with("▶ Most likely cause: "))
        .expect("cause line");
    assert!(
        cause_line.ends_with(&e.cause) && !e.cause.is_empty(),
        "{}",
        e.cause
    );
}

/// A digest pages (is copied to the paging topic) when it lists a P0 or P1 that was not silenced: silenced entries
/// are listed, never a reason to page.
#[test]
fn a_digest_of_silenced_incidents_does_not_page_and_one_unsilenced_p1_makes_it_page() {
    let cpu = |n, quiet| DigestEntry {
        quiet,
        ..entry(
            n,
            Priority::P1,
            "us-east-1a",
            "CPU",
            None,
            "CPU saturated",
            None,
            10,
        )
    };
    let digest = |entries: Vec<DigestEntry>| {
        Digest::new(
            entries,
            t0(),
            t0() + Duration::seconds(60),
            Language::En,
            chrono_tz::UTC,
            5,
        )
    };
    let quiet = digest(vec![cpu(1, true), cpu(2, true)]);
    assert!(!quiet.urgent() && !quiet.sns().urgent);
    let loud = digest(vec![cpu(1, true), cpu(2, false)]);
    assert!(loud.urgent() && loud.sns().urgent);
    let p2 = digest(vec![DigestEntry {
        priority: Priority::P2,
        ..cpu(3, false)
    }]);
    assert!(!p2.urgent());
}
