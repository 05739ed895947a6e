//! Delivery formats and their limits: SNS subject and size, Chatbot shape, escaping of user-controlled text.

mod support;

use ec2ops::config::{Language, Settings};
use ec2ops::facts::{Facts, InstanceLookup, Source};
use ec2ops::pipeline::compose;
use ec2ops::report::render::{self, CHAT_DESCRIPTION_MAX_CHARS, SNS_MAX_BYTES};
use serde_json::Value;

fn en() -> Settings {
    Settings {
        language: Language::En,
        ..Settings::default()
    }
}

#[test]
fn sns_message_is_json_with_chatbot_default_and_email_text() {
    let change = support::load("cpu-spike.json");
    let (_, _, msg) = compose(&change, &support::cpu_spike("t3.small", None), &en());
    let body: Value = serde_json::from_str(&msg.message).unwrap();
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(chat["content"]["title"]
        .as_str()
        .unwrap()
        .starts_with("[P2] CPU spike"));
    assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
    assert_eq!(chat["metadata"]["threadId"], change.thread_id());
    assert_eq!(
        chat["metadata"]["relatedResources"][0],
        "arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0ae3d067021f08710"
    );
    let email = body["email"].as_str().unwrap();
    assert!(email.contains("1. 🚨 Urgency") && email.contains("7. 🤖 Automation opportunities"));
    assert_eq!(
        msg.subject,
        "[P2] CPU spike i-0ae3d067021f08710 (VPC02-Private-B)"
    );
}

#[test]
fn alarm_and_ok_reports_share_the_chat_thread() {
    let alarm = support::load("cpu-spike.json");
    let ok = support::load("ok-recovery.json");
    let t = |c, f: &Facts| {
        let (_, r, _) = compose(c, f, &en());
        render::chatbot(&r)["metadata"]["threadId"].clone()
    };
    assert_eq!(
        t(&alarm, &support::cpu_spike("t3.small", None)),
        t(&ok, &support::ok_recovery())
    );
}

/// Hostile user-controlled text everywhere: huge, multi-line, non-ASCII, with Slack control sequences.
fn hostile() -> (ec2ops::model::AlarmChange, Facts) {
    let mut change = support::load("cpu-spike.json");
    let evil = format!(
        "<!channel> *boom* `x` [link](http://e.vil) 한국어\n{}",
        "A".repeat(300_000)
    );
    change.alarm_name = evil.clone();
    change.description = Some(evil.clone());
    let mut facts = support::cpu_spike("t3.small", None);
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Name".into(), evil.clone());
        i.tags.insert("Environment".into(), evil);
    }
    (change, facts)
}

#[test]
fn hostile_user_text_is_escaped_bounded_and_kept_within_every_limit() {
    let (change, facts) = hostile();
    for lang in [Language::Ko, Language::En] {
        let settings = Settings {
            language: lang,
            ..Settings::default()
        };
        let (_, report, msg) = compose(&change, &facts, &settings);
        assert!(msg.message.len() <= SNS_MAX_BYTES);
        assert!(
            msg.subject.len() < 100 && msg.subject.is_ascii(),
            "{}",
            msg.subject
        );
        assert!(!msg.subject.contains('\n'));
        let chat = render::chatbot(&report);
        let desc = chat["content"]["description"].as_str().unwrap();
        assert!(desc.chars().count() <= CHAT_DESCRIPTION_MAX_CHARS);
        assert!(
            !desc.contains("<!channel>") && desc.contains("&lt;\\!channel&gt;"),
            "{}",
            &desc[..desc.len().min(600)]
        );
        assert!(!desc.contains("[link](http"));
        let title = chat["content"]["title"].as_str().unwrap();
        assert!(!title.contains('<'));
        let email = render::email(&report);
        assert!(
            email.len() < 64 * 1024,
            "user text is bounded: {}",
            email.len()
        );
        assert!(!email.contains("A".repeat(300).as_str()));
    }
}

#[test]
fn an_oversized_report_is_cut_from_the_least_important_section_first() {
    let change = support::load("cpu-spike.json");
    let (_, report, _) = compose(&change, &support::cpu_spike("t3.small", None), &en());
    let full = render::email(&report);
    let cut = render::email_within(&report, full.len() - 200);
    assert!(cut.len() <= full.len() - 200);
    assert!(cut.contains("lines cut to fit"));
    // Urgency and the findings survive; automation (the last section) is what shrinks.
    assert!(cut.contains("P2 Medium") && cut.contains("[CPU-SPIKE]"));
    let automation = |s: &str| {
        s.split("7. 🤖")
            .nth(1)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    assert!(automation(&cut) < automation(&full));
}

#[test]
fn subject_of_an_instance_without_an_ascii_name_falls_back_to_the_id() {
    let change = support::load("cpu-spike.json");
    let mut facts = support::cpu_spike("t3.small", None);
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Name".into(), "운영서버".into());
    }
    let (_, _, msg) = compose(&change, &facts, &en());
    assert_eq!(msg.subject, "[P2] CPU spike i-0ae3d067021f08710");
}
