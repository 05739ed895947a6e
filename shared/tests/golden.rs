//! Golden reports: every file in `events/`, both languages, email text and Chatbot JSON. Reviewed by eye once;
//! any change in wording or analysis shows up as a snapshot diff.

mod support;

use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, Parsed};
use ec2ops::facts::Facts;
use ec2ops::pipeline::compose;
use ec2ops::report::render;

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
            let (_, report, message) = compose(&change, &facts, &settings(lang));
            insta::assert_snapshot!(
                format!("{stem}.{tag}.email"),
                format!("Subject: {}\n\n{}", message.subject, render::email(&report))
            );
            let chat = serde_json::to_string_pretty(&render::chatbot(&report)).unwrap();
            insta::assert_snapshot!(format!("{stem}.{tag}.chatbot"), chat);
        }
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
