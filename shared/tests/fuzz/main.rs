//! Property tests for bad and hostile events: the parser never panics and fails with one short line, and every
//! report rendered from what it accepts stays escaped and within the delivery limits. `fuzz/` runs the same checks
//! under cargo-fuzz for longer.

#[path = "../support/mod.rs"]
mod support;

mod commands;
mod times;

use commands::check_commands;
use ec2ops::facts::Gap;

use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse, parse_bytes, EventError, Parsed};
use ec2ops::facts::{Facts, InstanceLookup, Source};
use ec2ops::model::AlarmChange;
use ec2ops::pipeline::compose;
use ec2ops::report::render::{self, CHAT_DESCRIPTION_MAX_CHARS, SNS_MAX_BYTES};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Number, Value};

/// Errors and warnings are logged and kept with the failed event: one line, never an echo of a huge input.
const MAX_LINE_CHARS: usize = 300;

/// Events the hostile-text properties start from; [`facts_for`] gives each its support scenario's facts, or every
/// source unavailable (the degraded path).
const BASES: &[&str] = &[
    "cpu-spike.json",
    "alarm-action.json",
    "composite.json",
    "asg-cpu.json",
    "metric-math.json",
    "anomaly-band.json",
    "ok-recovery.json",
    "fleet-insights-alarm.json",
];

/// Slack / Teams control sequences, markdown, line breaks, invisible and bidi characters, shell metacharacters.
const SPECIALS: &[&str] = &[
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U024BE7LH>",
    "<#C024BE7LR>",
    "<https://evil.example|click here>",
    "[click](https://evil.example)",
    "*",
    "_",
    "~",
    "`",
    "```",
    ">",
    "<",
    "&",
    "&lt;",
    "\\",
    "#",
    "|",
    "!",
    ":",
    "@channel",
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{1b}[31m",
    "\u{7f}",
    "\u{85}",
    "\u{200b}",
    "\u{202e}",
    "\u{2028}",
    "\u{feff}",
    "한국어",
    "🔥",
    "👨‍👩‍👧",
    "e\u{301}",
    "'",
    "\"",
    "$(reboot)",
    "%s",
    "{}",
    "{\"",
    "null",
    " ",
];

/// Names the parser looks for, so arbitrary JSON reaches past the first checks now and then.
const KEYS: &[&str] = &[
    "source",
    "detail-type",
    "detail",
    "alarmData",
    "alarmArn",
    "accountId",
    "account",
    "region",
    "resources",
    "alarmName",
    "state",
    "previousState",
    "value",
    "reason",
    "reasonData",
    "timestamp",
    "configuration",
    "description",
    "alarmRule",
    "metrics",
    "id",
    "metricStat",
    "metric",
    "namespace",
    "name",
    "dimensions",
    "period",
    "stat",
    "expression",
    "label",
    "returnData",
    "incident_key",
    "thread_id",
    "instance_id",
    "action",
    "acted_at",
    "alarm_name",
];

const WORDS: &[&str] = &[
    "aws.cloudwatch",
    "CloudWatch Alarm State Change",
    "ALARM",
    "OK",
    "INSUFFICIENT_DATA",
    "2025-07-20T12:20:28.989+0000",
    "i-0ae3d067021f08710",
    "CPUUtilization",
    "AWS/EC2",
    "InstanceId",
    "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:x",
    "ANOMALY_DETECTION_BAND(m1, 2)",
    "{\"threshold\":25.0,\"recentDatapoints\":[39.58]}",
    "ec2ops",
    "ec2ops.verify",
    "Reboot",
    "StopStart",
];

/// Numbers at the edges of the types the parser reads into (u64 periods, f64 thresholds).
const EDGE_NUMBERS: &[f64] = &[0.0, -0.0, -1.0, 1e308, -1e308, 5e-324, 4294967296.0];

/// Periods at the edges of what CloudWatch allows and of the integer types the analysis converts them to.
const EDGE_PERIODS: &[u64] = &[
    0,
    1,
    10,
    60,
    86_400,
    604_800,
    604_801,
    u32::MAX as u64,
    i64::MAX as u64 - 59,
    i64::MAX as u64,
    i64::MAX as u64 + 1,
    u64::MAX,
];

/// Timestamps chrono reads but date arithmetic cannot go much past, and the edges of what we accept.
const EDGE_TIMESTAMPS: &[&str] = &[
    "+262142-12-31T23:59:59.999+0000",
    "+262143-01-01T00:00:00.000+0000",
    "-262143-01-01T00:00:00.000+0000",
    "-262144-01-01T00:00:00Z",
    "+10000-01-01T00:00:00.000+0000",
    "9999-12-31T23:59:59.999+0000",
    "9999-12-31T23:59:59.999-2359",
    "1970-01-01T00:00:00.000+0000",
    "1969-12-31T23:59:59.999+0000",
    "0000-01-01T00:00:00Z",
    "2025-07-20T12:20:28.989+2400",
    "2025-02-29T00:00:00.000+0000",
    "2024-02-29T24:00:00.000+0000",
    "2025-07-20T12:20:60.000+0000",
    "2025-07-20T12:20:28.98999999999999999999+0000",
];

fn sample(name: &str) -> Value {
    let bytes = std::fs::read(support::events_dir().join(name)).expect("sample event");
    serde_json::from_slice(&bytes).expect("sample event is JSON")
}

fn facts_for(name: &str) -> Facts {
    support::scenario(name).unwrap_or_else(|| Facts::unavailable(Gap::Failed("no scenario".into())))
}

/// Short hostile text: arbitrary unicode, ASCII with C0/C1 controls, or a mix of the specials.
fn hostile_short() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::collection::vec(prop::char::range('\0', '\u{a0}'), 0..40)
            .prop_map(|c| c.into_iter().collect()),
        prop::collection::vec(prop::sample::select(SPECIALS), 0..12).prop_map(|p| p.concat()),
    ]
}

/// Hostile text, sometimes repeated up to 100k chars.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => hostile_short(),
        1 => (hostile_short(), 1usize..=100_000).prop_map(|(seed, n)| long(&seed, n)),
    ]
}

fn long(seed: &str, chars: usize) -> String {
    let seed = if seed.is_empty() { "<!channel>" } else { seed };
    seed.chars().cycle().take(chars).collect()
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(&[i64::MIN, i64::MAX, u32::MAX as i64][..]).prop_map(Value::from),
        Just(Value::from(u64::MAX)),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(EDGE_NUMBERS).prop_map(Value::from),
        hostile_short().prop_map(Value::String),
        // Long enough that an error echoing it would be too long to log.
        (hostile_short(), 300usize..3000).prop_map(|(seed, n)| Value::String(long(&seed, n))),
        prop::sample::select(WORDS).prop_map(Value::from),
        prop::sample::select(EDGE_TIMESTAMPS).prop_map(Value::from),
        prop::sample::select(EDGE_PERIODS).prop_map(Value::from),
    ]
}

/// Any JSON value, at most 5 levels deep and about 64 nodes.
fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(5, 64, 6, |inner| {
        let key = prop_oneof![
            3 => prop::sample::select(KEYS).prop_map(str::to_string),
            1 => hostile_short(),
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// JSON pointers of every node of `v`, the root included.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(child, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                pointers(child, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// User-controlled places of an event and of the facts about its instance.
#[derive(Debug, Clone, Copy)]
enum Field {
    AlarmName,
    Description,
    StateReason,
    PreviousReason,
    /// The whole reasonData string, JSON or not.
    ReasonData,
    /// Strings inside a well-formed reasonData: statistic, triggering alarm names, datapoint timestamps.
    ReasonDataStrings,
    InstanceIdDimension,
    AsgDimension,
    DimensionName,
    MetricName,
    Namespace,
    Stat,
    ExpressionAndLabel,
    AlarmRule,
    /// A Metrics Insights query naming the text as metric, filter value and grouping key.
    InsightsQuery,
    /// A contributor whose InstanceId attribute, and another attribute's key and value, are the text.
    ContributorAttributes,
    NameTag,
    EnvironmentTag,
    SecurityGroupName,
}

const FIELDS: &[Field] = &[
    Field::AlarmName,
    Field::Description,
    Field::StateReason,
    Field::PreviousReason,
    Field::ReasonData,
    Field::ReasonDataStrings,
    Field::InstanceIdDimension,
    Field::AsgDimension,
    Field::DimensionName,
    Field::MetricName,
    Field::Namespace,
    Field::Stat,
    Field::ExpressionAndLabel,
    Field::AlarmRule,
    Field::InsightsQuery,
    Field::ContributorAttributes,
    Field::NameTag,
    Field::EnvironmentTag,
    Field::SecurityGroupName,
];

fn detail_mut(event: &mut Value) -> &mut Value {
    if event.get("alarmData").is_some() {
        &mut event["alarmData"]
    } else {
        &mut event["detail"]
    }
}

/// Put `s` into `field`; a field the event or facts do not have is left alone.
fn inject(field: Field, s: &str, event: &mut Value, facts: &mut Facts) {
    let detail = detail_mut(event);
    let mut each_metric = |f: &mut dyn FnMut(&mut Value)| {
        if let Some(Value::Array(metrics)) = detail.pointer_mut("/configuration/metrics") {
            metrics
                .iter_mut()
                .filter_map(|m| m.pointer_mut("/metricStat/metric"))
                .for_each(f);
        }
    };
    let tag = |facts: &mut Facts, key: &str| {
        if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
            i.tags.insert(key.into(), s.into());
        }
    };
    match field {
        Field::AlarmName => detail["alarmName"] = s.into(),
        Field::Description => detail["configuration"]["description"] = s.into(),
        Field::StateReason => detail["state"]["reason"] = s.into(),
        Field::PreviousReason => detail["previousState"]["reason"] = s.into(),
        Field::ReasonData => detail["state"]["reasonData"] = s.into(),
        Field::ReasonDataStrings => {
            let data = json!({
                "statistic": s,
                "threshold": 25.0,
                "recentDatapoints": [1.0, 39.58],
                "evaluatedDatapoints": [{"timestamp": s, "value": 39.58}],
                "triggeringAlarms": [{
                    "arn": format!("arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:{s}"),
                    "state": {"value": s, "timestamp": s}
                }, {"arn": s}]
            });
            detail["state"]["reasonData"] = data.to_string().into();
        }
        Field::InstanceIdDimension => {
            each_metric(&mut |m| m["dimensions"]["InstanceId"] = s.into())
        }
        Field::AsgDimension => {
            each_metric(&mut |m| m["dimensions"]["AutoScalingGroupName"] = s.into())
        }
        Field::DimensionName => each_metric(&mut |m| m["dimensions"][s] = "x".into()),
        Field::MetricName => each_metric(&mut |m| m["name"] = s.into()),
        Field::Namespace => each_metric(&mut |m| m["namespace"] = s.into()),
        Field::Stat => {
            if let Some(Value::Array(metrics)) = detail.pointer_mut("/configuration/metrics") {
                for m in metrics.iter_mut().filter(|m| m.get("metricStat").is_some()) {
                    m["metricStat"]["stat"] = s.into();
                }
            }
        }
        Field::ExpressionAndLabel => {
            if let Some(Value::Array(metrics)) = detail.pointer_mut("/configuration/metrics") {
                metrics.push(json!({"id": "e9", "expression": s, "label": s, "returnData": false}));
            }
        }
        Field::AlarmRule => detail["configuration"]["alarmRule"] = s.into(),
        Field::InsightsQuery => {
            if let Some(Value::Array(metrics)) = detail.pointer_mut("/configuration/metrics") {
                let query = format!(
                    "SELECT MAX(\"{s}\") FROM SCHEMA(\"AWS/EC2\", InstanceId) WHERE InstanceType = '{s}' \
                     GROUP BY \"{s}\" ORDER BY MAX() DESC"
                );
                metrics.push(
                    json!({"id": "q9", "expression": query, "returnData": false, "period": 60}),
                );
            }
        }
        Field::ContributorAttributes => {
            detail["alarmContributor"] =
                json!({"id": "8c1f4e7a2b9d3605", "attributes": {"InstanceId": s, s: s}})
        }
        Field::NameTag => tag(facts, "Name"),
        Field::EnvironmentTag => tag(facts, "Environment"),
        Field::SecurityGroupName => {
            if let Source::Available(groups) = &mut facts.security_groups {
                for g in groups {
                    g.name = s.into();
                }
            }
        }
    }
}

fn check_line(what: &str, line: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        !line.contains(['\n', '\r']),
        "{what} is not one line: {:?}",
        excerpt(line)
    );
    prop_assert!(
        line.chars().count() < MAX_LINE_CHARS,
        "{what} has {} chars: {:?}",
        line.chars().count(),
        excerpt(line)
    );
    Ok(())
}

fn excerpt(s: &str) -> String {
    s.chars().take(400).collect()
}

/// Some context before and after byte `at` of `s`.
fn around(s: &str, at: usize) -> String {
    let start = s.floor_char_boundary(at.saturating_sub(200));
    excerpt(&s[start..])
}

/// Whatever the parser made of an event: a short one-line error, a bounded ignore, or an alarm whose reports hold.
fn check_parsed(parsed: Result<Parsed, EventError>, facts: &Facts) -> Result<(), TestCaseError> {
    match parsed {
        Err(e) => check_line("error", &e.to_string()),
        Ok(Parsed::Ignored {
            source,
            detail_type,
        }) => {
            prop_assert!(source.chars().count() <= 128 && detail_type.chars().count() <= 128);
            Ok(())
        }
        Ok(Parsed::Alarm(change)) => check_reports(&change, facts),
        Ok(Parsed::Health(changes)) => changes.iter().try_for_each(|c| check_reports(c, facts)),
        // ec2ops's own verification request: nothing to render from the event itself.
        Ok(
            Parsed::Verify(_)
            | Parsed::Sweep
            | Parsed::Continue(_)
            | Parsed::Recheck(_)
            | Parsed::Heartbeat
            | Parsed::Approval(_)
            | Parsed::ApprovalExpiry(_),
        ) => Ok(()),
        Ok(Parsed::SweepItem(i)) => check_reports(
            &AlarmChange::from_sweep(&i, i.since.unwrap_or_default()),
            facts,
        ),
    }
}

/// Both languages: the SNS message, its subject and the Chatbot payload are within their limits and user text is
/// inert in chat.
fn check_reports(change: &AlarmChange, facts: &Facts) -> Result<(), TestCaseError> {
    for w in &change.warnings {
        check_line("warning", w)?;
    }
    for language in [Language::Ko, Language::En] {
        let settings = Settings {
            language,
            ..Settings::default()
        };
        let (_, report, msg) = compose(change, facts, &settings);

        prop_assert!(
            msg.message.len() <= SNS_MAX_BYTES,
            "{} bytes",
            msg.message.len()
        );
        let body: Value = serde_json::from_str(&msg.message)
            .map_err(|e| TestCaseError::fail(format!("SNS message is not JSON: {e}")))?;
        for key in ["default", "email", "sqs"] {
            prop_assert!(body[key].is_string(), "SNS message lacks {key}");
        }
        let default: Value = serde_json::from_str(body["default"].as_str().unwrap())
            .map_err(|e| TestCaseError::fail(format!("default is not JSON: {e}")))?;
        prop_assert_eq!(&default["version"], "1.0");

        let subject = &msg.subject;
        prop_assert!(
            subject.is_ascii() && subject.len() < 100 && !subject.chars().any(char::is_control),
            "subject {:?}",
            subject
        );
        prop_assert!(!subject.trim().is_empty(), "empty subject");

        let chat = render::chatbot(&report);
        prop_assert_eq!(&chat, &default, "the SNS default is the Chatbot payload");
        let content = &chat["content"];
        let desc = content["description"].as_str().unwrap_or_default();
        prop_assert!(
            desc.chars().count() <= CHAT_DESCRIPTION_MAX_CHARS,
            "description has {} chars",
            desc.chars().count()
        );
        // Slack reads `<!channel>`, `<@user>` and `<url|text>` anywhere in what it shows, so nothing shown may
        // hold a raw `<`; the markdown fields hold no raw `>` either.
        let title = content["title"].as_str().unwrap_or_default();
        for (what, text) in [("description", desc), ("title", title)] {
            prop_assert!(
                !text.contains(['<', '>']),
                "raw angle bracket in the chat {what}: {:?}",
                around(text, text.find(['<', '>']).unwrap_or(0))
            );
        }
        let summary = chat["metadata"]["summary"].as_str().unwrap_or_default();
        let lists = ["nextSteps", "keywords"]
            .into_iter()
            .flat_map(|list| content[list].as_array().into_iter().flatten());
        for text in lists.filter_map(Value::as_str).chain([summary, title]) {
            prop_assert!(!text.contains('<'), "raw `<` in {:?}", excerpt(text));
            prop_assert!(
                !text.contains(char::is_control),
                "a chat field breaks its line: {:?}",
                excerpt(text)
            );
        }
    }
    // Whatever the user text, every suggested command stays inert.
    check_commands(change, facts)?;
    Ok(())
}

fn parse_sample_with(
    base: &str,
    injections: &[(Field, String)],
) -> (Result<Parsed, EventError>, Facts) {
    let mut event = sample(base);
    let mut facts = facts_for(base);
    for (field, s) in injections {
        inject(*field, s, &mut event, &mut facts);
    }
    (parse(&event), facts)
}

/// `cases` per property, no regression files: a failure prints its minimal input, and a fixed one becomes a named
/// test below.
/// `PROPTEST_CASES` overrides the count for a longer run.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_json_parses_or_fails_with_a_short_typed_error(v in json_value()) {
        check_parsed(parse(&v), &Facts::unavailable(Gap::Failed("fuzz".into())))?;
    }

    #[test]
    fn arbitrary_json_under_each_envelope_parses_or_fails_cleanly(
        detail in json_value(),
        envelope in 0..4,
    ) {
        let event = match envelope {
            0 => json!({"source": "aws.cloudwatch", "alarmArn": "arn:aws:cloudwatch:us-east-1:1:alarm:x", "alarmData": detail}),
            1 => json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm State Change", "detail": detail}),
            2 => json!({"source": "aws.cloudwatch", "detail-type": "CloudWatch Alarm Contributor State Change", "detail": detail}),
            _ => json!({"source": "ec2ops", "detail-type": "ec2ops.verify", "detail": detail}),
        };
        check_parsed(parse(&event), &Facts::unavailable(Gap::Failed("fuzz".into())))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        check_parsed(parse_bytes(&bytes), &Facts::unavailable(Gap::Failed("fuzz".into())))?;
    }

    #[test]
    fn sample_events_with_corrupted_bytes_parse_or_fail_cleanly(
        base in prop::sample::select(BASES),
        edits in prop::collection::vec((any::<Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = std::fs::read(support::events_dir().join(base)).unwrap();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => bytes[i] = byte,
                _ => bytes.truncate(i),
            }
        }
        check_parsed(parse_bytes(&bytes), &facts_for(base))?;
    }
}

proptest! {
    // Each case renders two full reports, some from 100k-char fields.
    #![proptest_config(config(128))]

    #[test]
    fn sample_events_with_any_one_node_replaced_parse_or_fail_cleanly(
        base in prop::sample::select(BASES),
        at in any::<Index>(),
        replacement in json_value(),
    ) {
        let mut event = sample(base);
        let mut all = Vec::new();
        pointers(&event, String::new(), &mut all);
        let pointer = all[at.index(all.len())].clone();
        match event.pointer_mut(&pointer) {
            Some(node) => *node = replacement,
            None => unreachable!("{pointer} was listed"),
        }
        check_parsed(parse(&event), &facts_for(base))?;
    }

    #[test]
    fn hostile_text_in_user_fields_stays_escaped_and_within_limits(
        base in prop::sample::select(BASES),
        injections in prop::collection::vec((prop::sample::select(FIELDS), hostile()), 1..4),
    ) {
        let (parsed, facts) = parse_sample_with(base, &injections);
        check_parsed(parsed, &facts)?;
    }

    #[test]
    fn one_hostile_string_in_every_user_field_at_once_stays_within_limits(
        base in prop::sample::select(BASES),
        s in hostile(),
    ) {
        let all: Vec<(Field, String)> = FIELDS.iter().map(|f| (*f, s.clone())).collect();
        let (parsed, facts) = parse_sample_with(base, &all);
        check_parsed(parsed, &facts)?;
    }

    #[test]
    fn any_state_timestamp_parses_or_is_a_timestamp_error(
        base in prop::sample::select(BASES),
        ts in timestamp(),
        previous in any::<bool>(),
    ) {
        let mut event = sample(base);
        let field = if previous { "previousState" } else { "state" };
        detail_mut(&mut event)[field]["timestamp"] = ts.clone().into();
        match parse(&event) {
            Ok(Parsed::Alarm(change)) => {
                check_reports(&change, &facts_for(base))?;
                check_reports(&change, &Facts::unavailable(Gap::Failed("fuzz".into())))?;
            }
            Err(e @ EventError::Timestamp { .. }) => {
                check_line("error", &e.to_string())?;
                let EventError::Timestamp { path, .. } = e else { unreachable!() };
                prop_assert!(path.ends_with(&format!("{field}.timestamp")), "{path}");
            }
            other => prop_assert!(false, "timestamp {ts:?} gave {other:?}"),
        }
    }

    #[test]
    fn any_datapoint_timestamp_is_read_or_skipped_with_a_warning(
        base in prop::sample::select(&["alarm-action.json", "cpu-spike.json", "asg-cpu.json"][..]),
        ts in timestamp(),
    ) {
        let mut event = sample(base);
        let data = json!({
            "threshold": 25.0,
            "evaluatedDatapoints": [
                {"timestamp": ts, "value": 97.0},
                {"timestamp": "2025-07-20T12:19:00.000+0000", "value": 96.0}
            ],
            "triggeringAlarms": [{"arn": "arn:aws:cloudwatch:us-east-1:1:alarm:x", "state": {"value": "ALARM", "timestamp": ts}}]
        });
        detail_mut(&mut event)["state"]["reasonData"] = data.to_string().into();
        let Ok(Parsed::Alarm(change)) = parse(&event) else {
            return Err(TestCaseError::fail("a datapoint timestamp rejected the event"));
        };
        // Without gathered metrics the CPU rules read these datapoints.
        check_reports(&change, &Facts::unavailable(Gap::Failed("fuzz".into())))?;
    }

    #[test]
    fn any_metric_period_is_read_or_dropped_with_a_warning(
        base in prop::sample::select(&["alarm-action.json", "cpu-spike.json", "asg-cpu.json", "metric-math.json"][..]),
        period in prop_oneof![any::<u64>(), prop::sample::select(EDGE_PERIODS)],
    ) {
        let mut event = sample(base);
        if let Some(Value::Array(metrics)) = detail_mut(&mut event).pointer_mut("/configuration/metrics") {
            for m in metrics.iter_mut().filter(|m| m.get("metricStat").is_some()) {
                m["metricStat"]["period"] = period.into();
            }
        }
        check_parsed(parse(&event), &Facts::unavailable(Gap::Failed("fuzz".into())))?;
        check_parsed(parse(&event), &facts_for(base))?;
    }
}

fn timestamp() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        prop::sample::select(EDGE_TIMESTAMPS).prop_map(str::to_string),
        "[+-]?[0-9]{1,7}-[0-9]{1,2}-[0-9]{1,2}T[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\\.[0-9]{0,12})?([+-][0-9]{4}|Z|[+-][0-9]{2}:[0-9]{2})?",
    ]
}

#[test]
fn slack_commands_and_line_breaks_in_every_user_field_stay_inert() {
    let s = "<!channel> hi\r\nINJECTED *bold* `code` <https://evil.example|click>";
    for base in BASES {
        let all: Vec<(Field, String)> = FIELDS.iter().map(|f| (*f, s.to_string())).collect();
        let (parsed, facts) = parse_sample_with(base, &all);
        let Ok(Parsed::Alarm(change)) = parsed else {
            panic!("{base}: {parsed:?}");
        };
        check_reports(&change, &facts).unwrap();
        let (_, report, _) = compose(&change, &facts, &Settings::default());
        // User text never starts a line of its own in the plain-text report.
        let email = render::email(&report);
        assert!(
            !email
                .lines()
                .any(|l| l.trim_start().starts_with("INJECTED")),
            "{base}: {email}"
        );
    }
}

#[test]
fn a_timestamp_near_the_end_of_chrono_time_is_unreadable_rather_than_a_panic() {
    // Caught by the timestamp property: chrono reads year +262142, and adding the respond-by time to it panicked.
    for ts in [
        "+262142-12-31T23:59:59.999+0000",
        "-262143-01-01T00:00:00.000+0000",
    ] {
        let mut event = sample("cpu-spike.json");
        event["detail"]["state"]["timestamp"] = ts.into();
        let err = parse(&event).unwrap_err();
        assert!(matches!(err, EventError::Timestamp { .. }), "{err}");
    }
}

#[test]
fn a_period_beyond_seven_days_is_dropped_with_a_warning_rather_than_overflowing() {
    // Caught by the period property: the sustained-CPU rule adds the period to a duration and overflowed.
    let mut event = sample("alarm-action.json");
    event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["period"] = i64::MAX.into();
    let Ok(Parsed::Alarm(change)) = parse(&event) else {
        panic!("the alarm is still reported");
    };
    assert_eq!(change.metrics[0].period, 60);
    assert!(
        change.warnings.iter().any(|w| w.contains("period")),
        "{:?}",
        change.warnings
    );
    check_reports(&change, &Facts::unavailable(Gap::Failed("fuzz".into()))).unwrap();
}

#[test]
fn a_custom_metric_name_can_neither_mention_the_channel_nor_break_the_title() {
    // Caught by the hostile-text property: the headline quotes the metric name as our own text, unescaped.
    let mut event = sample("ok-recovery.json");
    event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["name"] =
        "<!channel>\nINJECTED".into();
    let Ok(Parsed::Alarm(change)) = parse(&event) else {
        panic!("parses");
    };
    let (_, report, _) = compose(&change, &support::ok_recovery(), &Settings::default());
    let title = render::chatbot(&report)["content"]["title"].clone();
    assert!(
        title
            .as_str()
            .unwrap()
            .contains("&lt;!channel&gt; INJECTED"),
        "{title}"
    );
    assert!(!render::email(&report).contains("\nINJECTED"));
}
