//! Any bytes through the parser and, when they are an alarm, through both languages' reports: the limits
//! `shared/tests/fuzz.rs` checks in seconds on every `cargo test`, here for as long as libFuzzer is given.
#![no_main]

use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, Parsed};
use ec2ops::facts::Facts;
use ec2ops::pipeline::compose;
use ec2ops::report::render::{self, CHAT_DESCRIPTION_MAX_CHARS, SNS_MAX_BYTES};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Errors and warnings are logged and kept with the failed event: one line, never an echo of a huge input.
const MAX_LINE_CHARS: usize = 300;

fn one_short_line(what: &str, s: &str) {
    assert!(
        !s.contains(['\n', '\r']) && s.chars().count() < MAX_LINE_CHARS,
        "{what} is not one short line: {s:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let change = match parse_bytes(data) {
        Ok(Parsed::Alarm(change)) => change,
        // Ignored (and any other kind of input): nothing is rendered.
        Ok(_) => return,
        Err(e) => {
            one_short_line("error", &e.to_string());
            return;
        }
    };
    for w in &change.warnings {
        one_short_line("warning", w);
    }
    // Offline facts: the fuzzer explores the event, not the account.
    let facts = Facts::unavailable("fuzz");
    for language in [Language::Ko, Language::En] {
        let settings = Settings {
            language,
            ..Settings::default()
        };
        let (_, report, msg) = compose(&change, &facts, &settings);

        assert!(msg.message.len() <= SNS_MAX_BYTES, "{} bytes", msg.message.len());
        let body: Value = serde_json::from_str(&msg.message).expect("the SNS message is JSON");
        for key in ["default", "email", "sqs"] {
            assert!(body[key].is_string(), "the SNS message lacks {key}");
        }
        let default: Value =
            serde_json::from_str(body["default"].as_str().unwrap()).expect("default is JSON");
        assert_eq!(default["version"], "1.0");

        let subject = &msg.subject;
        assert!(
            subject.is_ascii()
                && subject.len() < 100
                && !subject.contains(char::is_control)
                && !subject.trim().is_empty(),
            "subject {subject:?}"
        );

        let chat = render::chatbot(&report);
        let desc = chat["content"]["description"].as_str().unwrap_or_default();
        assert!(desc.chars().count() <= CHAT_DESCRIPTION_MAX_CHARS);
        // Slack reads `<!channel>` and `<url|text>` anywhere: nothing shown in chat holds a raw `<`.
        let title = chat["content"]["title"].as_str().unwrap_or_default();
        let summary = chat["metadata"]["summary"].as_str().unwrap_or_default();
        for text in [desc, title, summary] {
            assert!(!text.contains('<'), "raw `<` in chat: {text:?}");
        }
    }
});
