//! Property tests for bad and hostile events: the parser never panics and fails with one short line, and every
//! report rendered from what it accepts stays escaped and within the delivery limits. `fuzz/` runs the same checks
//! under cargo-fuzz for longer.

mod support;

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
    support::scenario(name).unwrap_or_else(|| Facts::unavailable("no scenario"))
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
        Ok(Parsed::Verify(_) | Parsed::Sweep | Parsed::Continue(_)) => Ok(()),
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
        check_parsed(parse(&v), &Facts::unavailable("fuzz"))?;
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
        check_parsed(parse(&event), &Facts::unavailable("fuzz"))?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        check_parsed(parse_bytes(&bytes), &Facts::unavailable("fuzz"))?;
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
                check_reports(&change, &Facts::unavailable("fuzz"))?;
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
        check_reports(&change, &Facts::unavailable("fuzz"))?;
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
        check_parsed(parse(&event), &Facts::unavailable("fuzz"))?;
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
    check_reports(&change, &Facts::unavailable("fuzz")).unwrap();
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

// ---------------------------------------------------------------------------------------------------------------
// Suggested commands: whatever an alarm name, group name or mount path holds, a pasted command runs `aws` with
// exactly the arguments meant — checked by two independent parsers and, where there is one, a real `sh`.
// ---------------------------------------------------------------------------------------------------------------

/// What the operator's shell must never see unquoted, and text that must come through whole.
const SHELL_HOSTILE: &[&str] = &[
    "'",
    "\"",
    "$(touch /tmp/ec2ops-pwned)",
    "`id`",
    "${HOME}",
    "$HOME",
    " ",
    "  ",
    "\n",
    "\t",
    "\\",
    "\\'",
    "한국어 디스크",
    "!",
    "!!",
    "*",
    "?",
    "[a]",
    ";",
    "&",
    "&&",
    "|",
    ">",
    "<",
    "(",
    ")",
    "{a,b}",
    "~",
    "#",
    "-",
    "--endpoint-url=http://evil.example",
    "=",
    "%",
    "\u{202e}",
    "\u{2028}",
    "\u{85}",
    "/mnt/x",
    "data",
];

fn shell_hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::collection::vec(prop::sample::select(SHELL_HOSTILE), 1..10).prop_map(|p| p.concat()),
        1 => any::<String>(),
        1 => prop::collection::vec(prop::char::range('\0', '\u{a0}'), 0..30)
            .prop_map(|c| c.into_iter().collect()),
    ]
}

/// The words of a command line in the only grammar suggested commands may use: words separated by one space, each
/// made of characters no shell (zsh included) treats specially, single-quoted text and `\'`. Anything else is an
/// error, so an unquoted `;`, `$`, backtick, glob or newline fails here even where a word splitter would accept it.
fn strict_words(line: &str) -> Result<Vec<String>, String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c);
    let mut words = Vec::new();
    let mut word = String::new();
    let mut started = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' if started => {
                words.push(std::mem::take(&mut word));
                started = false;
            }
            ' ' => return Err(format!("two spaces in a row in {line:?}")),
            '\'' => {
                started = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(format!("unclosed quote in {line:?}")),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\'') => {
                    started = true;
                    word.push('\'');
                }
                other => return Err(format!("backslash before {other:?} in {line:?}")),
            },
            // zsh expands a word starting with `=` to a command's path.
            '=' if !started => return Err(format!("a bare word starts with `=` in {line:?}")),
            c if plain(c) => {
                started = true;
                word.push(c);
            }
            c => return Err(format!("unquoted {c:?} in {line:?}")),
        }
    }
    if started {
        words.push(word);
    }
    Ok(words)
}

/// The shell constructs of our own that a sequence may use, each a whole word: the variables its earlier commands
/// captured. Read as the plain word after the arrow; anything else with `$` still fails the strict grammar.
const OUR_EXPANSIONS: &[(&str, &str)] = &[
    ("\"$command_id\"", "COMMAND_ID"),
    ("\"$target_group\"", "TARGET_GROUP"),
    ("$((desired+1))", "DESIRED_PLUS_ONE"),
];

/// A suggested line as the command it runs: `var=$(aws …)` (our own lower-case variable) is the `aws …` inside,
/// and our own expansions are read as plain words.
fn our_shell_read(line: &str) -> String {
    let inner = line
        .split_once("=$(")
        .filter(|(var, _)| {
            !var.is_empty() && var.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(line);
    inner
        .split(' ')
        .map(|w| {
            OUR_EXPANSIONS
                .iter()
                .find(|(ours, _)| *ours == w)
                .map_or(w, |(_, plain)| plain)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A chat next step (an inline code span with Slack's entities) as the command line it shows.
fn chat_step(step: &str) -> String {
    step.strip_prefix('`')
        .and_then(|s| s.strip_suffix('`'))
        .unwrap_or(step)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The argument vector of a suggested command line, as both parsers read it; they must agree.
fn argv(line: &str) -> Result<Vec<String>, TestCaseError> {
    let line = &our_shell_read(line);
    let strict = strict_words(line).map_err(TestCaseError::fail)?;
    let split = shlex::split(line)
        .ok_or_else(|| TestCaseError::fail(format!("shlex cannot split {line:?}")))?;
    prop_assert_eq!(&strict, &split, "the parsers disagree on {:?}", line);
    prop_assert_eq!(strict.first().map(String::as_str), Some("aws"));
    Ok(strict)
}

/// Whether a real POSIX shell reads the same arguments (run only on lines both parsers found inert; skipped
/// without `sh`).
fn sh_agrees(line: &str, expected: &[String]) -> Result<(), TestCaseError> {
    let Some(rest) = line.strip_prefix("aws ") else {
        return Err(TestCaseError::fail(format!("not an aws command: {line:?}")));
    };
    let script = format!("printf '%s\\0' {rest}");
    let Ok(out) = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&script)
        .env_clear()
        .output()
    else {
        return Ok(());
    };
    prop_assert!(out.status.success(), "sh failed on {:?}", script);
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_terminator('\0')
        .map(str::to_string)
        .collect();
    prop_assert_eq!(&got[..], &expected[1..], "sh reads {:?} differently", line);
    Ok(())
}

/// What a value becomes in a command: itself, or the placeholder when a one-line command cannot show it exactly.
fn shown_as<'a>(value: &'a str, placeholder: &'a str) -> &'a str {
    let hidden = value.chars().any(ec2ops::report::shell::hidden);
    if hidden || value.chars().count() > ec2ops::report::shell::MAX_ARG_CHARS {
        placeholder
    } else {
        value
    }
}

/// `option value` as the AWS CLI must receive it: a value starting with `-` attached with `=`.
fn option_words(option: &str, value: &str) -> Vec<String> {
    if value.starts_with('-') {
        vec![format!("{option}={value}")]
    } else {
        vec![option.to_string(), value.to_string()]
    }
}

/// The suggested commands of the plain-text report, as lines without the `$ ` prompt.
fn email_commands(email: &str) -> Vec<String> {
    email
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .map(str::to_string)
        .collect()
}

/// The suggested commands of the chat description, with Slack's entities read back.
fn chat_commands(description: &str) -> Vec<String> {
    description
        .lines()
        .filter_map(|l| l.split_once("$ `").map(|(_, c)| c))
        .filter_map(|c| c.strip_suffix('`'))
        .map(|c| {
            c.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// Every command in both renderings of the report parses in the strict grammar, and the chat shows the same
/// arguments as the email (a backtick, which inline code cannot hold, aside).
fn check_commands(change: &AlarmChange, facts: &Facts) -> Result<Vec<Vec<String>>, TestCaseError> {
    let settings = Settings {
        language: Language::En,
        ..Settings::default()
    };
    let (_, report, _) = compose(change, facts, &settings);
    let email = email_commands(&render::email(&report));
    let mut out = Vec::new();
    for line in &email {
        out.push(argv(line)?);
    }
    let chat = render::chatbot(&report);
    let description = chat["content"]["description"].as_str().unwrap_or_default();
    for line in chat_commands(description) {
        let words = argv(&line)?;
        let same = out.iter().any(|e| {
            e.len() == words.len()
                && e.iter()
                    .zip(&words)
                    .all(|(a, b)| a.replace('`', "\u{2cb}") == *b)
        });
        prop_assert!(same, "chat command {:?} is in no email command", line);
    }
    for step in chat["content"]["nextSteps"]
        .as_array()
        .into_iter()
        .flatten()
    {
        argv(&chat_step(step.as_str().unwrap_or_default()))?;
    }
    Ok(out)
}

fn find<'a>(
    commands: &'a [Vec<String>],
    prefix: &[&str],
) -> Result<&'a Vec<String>, TestCaseError> {
    commands
        .iter()
        .find(|c| c.len() >= prefix.len() && c.iter().zip(prefix).all(|(a, b)| a == b))
        .ok_or_else(|| TestCaseError::fail(format!("no command {prefix:?} in {commands:?}")))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn any_value_in_a_built_command_splits_back_into_exactly_that_argument(
        name in shell_hostile(),
        value in shell_hostile(),
    ) {
        use ec2ops::report::shell::Command;
        let line = Command::new("aws cloudwatch describe-alarms")
            .name("--alarm-names", "ALARM_NAME", &name)
            .arg("--region", "REGION", &value)
            .render();
        let mut expected = vec!["aws".to_string(), "cloudwatch".into(), "describe-alarms".into()];
        expected.extend(option_words("--alarm-names", shown_as(&name, "ALARM_NAME")));
        expected.extend(option_words("--region", shown_as(&value, "REGION")));
        let words = argv(&line)?;
        prop_assert_eq!(&words, &expected);
        sh_agrees(&line, &expected)?;
    }

    #[test]
    fn any_alarm_name_reaches_the_suggested_commands_as_one_argument(name in shell_hostile()) {
        let mut event = sample("ok-recovery.json");
        event["detail"]["alarmName"] = name.clone().into();
        let Ok(Parsed::Alarm(change)) = parse(&event) else {
            return Err(TestCaseError::fail("the event parses"));
        };
        let commands = check_commands(&change, &facts_for("ok-recovery.json"))?;
        let history = find(&commands, &["aws", "cloudwatch", "describe-alarm-history"])?;
        let mut expected = vec!["aws".to_string(), "cloudwatch".into(), "describe-alarm-history".into()];
        expected.extend(option_words("--alarm-name", shown_as(&change.alarm_name, "ALARM_NAME")));
        prop_assert_eq!(&history[..expected.len()], &expected[..]);
    }

    #[test]
    fn any_auto_scaling_group_name_reaches_the_suggested_commands_as_one_argument(group in shell_hostile()) {
        let mut event = sample("asg-cpu.json");
        inject(Field::AsgDimension, &group, &mut event, &mut Facts::unavailable("fuzz"));
        let Ok(Parsed::Alarm(change)) = parse(&event) else {
            return Err(TestCaseError::fail("the event parses"));
        };
        let commands = check_commands(&change, &facts_for("asg-cpu.json"))?;
        let Some(asg) = change.primary_metric().and_then(|m| m.dimensions.get("AutoScalingGroupName")) else {
            return Ok(());
        };
        let groups = find(&commands, &["aws", "autoscaling", "describe-auto-scaling-groups"])?;
        let mut expected = vec!["aws".to_string(), "autoscaling".into(), "describe-auto-scaling-groups".into()];
        expected.extend(option_words("--auto-scaling-group-names", shown_as(asg, "ASG_NAME")));
        prop_assert_eq!(&groups[..expected.len()], &expected[..]);
    }

    #[test]
    fn any_mount_path_reaches_the_instance_as_one_argument_inside_exact_json(path in shell_hostile()) {
        let change = support::load("disk-full.json");
        let mut facts = support::pressure();
        if let Source::Available(w) = &mut facts.metrics {
            if let Some(s) = w.series.get_mut(&ec2ops::facts::Role::Disk(0)) {
                s.name = "disk_used_percent".into();
                s.dimension = Some(path.to_string());
            }
        }
        let commands = check_commands(&change, &facts)?;
        let ssm = commands
            .iter()
            .find(|c| c.iter().any(|w| w.contains("du -xh")))
            .ok_or_else(|| TestCaseError::fail(format!("no du command in {commands:?}")))?;
        let at = ssm.iter().position(|w| w == "--parameters").unwrap_or(usize::MAX);
        let json = ssm.get(at.wrapping_add(1)).cloned().unwrap_or_default();
        let parameters: Value = serde_json::from_str(&json)
            .map_err(|e| TestCaseError::fail(format!("--parameters is not JSON ({e}): {json:?}")))?;
        let remote = parameters["commands"][0].as_str().unwrap_or_default();
        // The instance's shell reads the remote command: the path must be its third word, exactly.
        let mut words = shlex::split(remote)
            .ok_or_else(|| TestCaseError::fail(format!("remote command does not split: {remote:?}")))?;
        // A path starting with `-` comes after `--`, so du cannot read it as an option.
        if path.starts_with('-') && path.chars().count() <= ec2ops::report::shell::MAX_ARG_CHARS {
            prop_assert_eq!(words.get(2).map(String::as_str), Some("--"), "{:?}", remote);
            words.remove(2);
        }
        let expected = path.as_str();
        if expected.chars().count() <= ec2ops::report::shell::MAX_ARG_CHARS {
            prop_assert_eq!(words.get(2).map(String::as_str), Some(expected), "{:?}", remote);
        } else {
            prop_assert_eq!(words.get(2).map(String::as_str), Some("MOUNT_PATH"));
        }
        prop_assert_eq!(&words[..2], &["du".to_string(), "-xh".to_string()][..]);
    }
}

#[test]
fn a_mount_path_that_closes_the_quote_cannot_run_anything_on_the_operators_machine() {
    // The DISK step put the quoted path inside a single-quoted `--parameters '…'`: its own quotes ended the outer
    // ones, so `$(…)` in a mount path ran on the operator's machine when the command was pasted.
    let change = support::load("disk-full.json");
    let mut facts = support::pressure();
    let path = "/mnt/x'$(touch /tmp/ec2ops-pwned)'";
    if let Source::Available(w) = &mut facts.metrics {
        if let Some(s) = w.series.get_mut(&ec2ops::facts::Role::Disk(0)) {
            s.name = "disk_used_percent".into();
            s.dimension = Some(path.to_string());
        }
    }
    let (_, report, _) = compose(&change, &facts, &Settings::default());
    let line = email_commands(&render::email(&report))
        .into_iter()
        .find(|c| c.contains("du -xh"))
        .expect("a du command");
    let words = strict_words(&our_shell_read(&line)).expect("inert");
    let at = words
        .iter()
        .position(|w| w == "--parameters")
        .expect("--parameters");
    let parameters: Value = serde_json::from_str(&words[at + 1]).expect("JSON");
    let remote = parameters["commands"][0].as_str().unwrap();
    assert_eq!(shlex::split(remote).unwrap()[2], path, "{remote}");
}

#[test]
fn a_command_too_long_for_a_chat_field_is_left_out_rather_than_cut() {
    // A cut command can end inside a quoted name: what the operator pasted next would continue it and run.
    let mut event = sample("ok-recovery.json");
    event["detail"]["alarmName"] = "a".repeat(600).into();
    let Ok(Parsed::Alarm(change)) = parse(&event) else {
        panic!("parses");
    };
    let (_, report, _) = compose(
        &change,
        &facts_for("ok-recovery.json"),
        &Settings::default(),
    );
    let steps = render::chatbot(&report)["content"]["nextSteps"].clone();
    for step in steps.as_array().unwrap() {
        let step = chat_step(step.as_str().unwrap());
        assert!(!step.ends_with('…'), "{step}");
        strict_words(&our_shell_read(&step)).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------------------------
// AWS Health times and verification requests: whatever they hold, a report with a warning or an error naming the
// field — never a panic in the arithmetic done on them.
// ---------------------------------------------------------------------------------------------------------------

/// RFC 2822 times as Health writes them, with years up to chrono's last.
fn rfc2822_time() -> impl Strategy<Value = String> {
    let generated = (
        prop::option::of(prop::sample::select(&["Mon, ", "Wed, ", "Sun, "][..])),
        1u32..=31,
        prop::sample::select(&["Jan", "Feb", "Nov", "Dec"][..]),
        prop_oneof![
            1900i64..=2100,
            9990i64..=10010,
            262_000i64..=262_143,
            any::<i64>()
        ],
        prop::sample::select(&["00:00:00", "23:59:59", "12:30"][..]),
        prop::sample::select(&["GMT", "+0000", "-1200", "+1400", "UT", "Z"][..]),
    )
        .prop_map(|(day_name, day, month, year, clock, zone)| {
            format!(
                "{}{day} {month} {year} {clock} {zone}",
                day_name.unwrap_or("")
            )
        });
    prop_oneof![
        1 => prop::sample::select(&["31 Dec 262142 23:59:59 GMT", "Fri, 31 Dec 9999 23:59:59 +0000"][..])
            .prop_map(str::to_string),
        3 => generated,
    ]
}

/// Run what is done with an incident's time: the metric window, the history window, the report.
fn check_incident(change: &AlarmChange) -> Result<(), TestCaseError> {
    let request = ec2ops::gather::plan_window(change, chrono::Duration::minutes(30));
    prop_assert!(request.start <= request.end);
    check_reports(change, &Facts::unavailable("fuzz"))?;
    check_reports(change, &facts_for("health-retirement.json"))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn any_health_time_gives_a_report_or_an_error_naming_the_field(
        time in prop::option::of(prop_oneof![timestamp(), rfc2822_time()]),
        start in prop::option::of(prop_oneof![timestamp(), rfc2822_time()]),
        end in prop::option::of(prop_oneof![timestamp(), rfc2822_time()]),
    ) {
        let mut event = sample_health();
        for (pointer, value) in [("/time", &time), ("/detail/startTime", &start), ("/detail/endTime", &end)] {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let object = if parent.is_empty() { &mut event } else { event.pointer_mut(parent).unwrap() };
            match value {
                Some(v) => object[key] = v.clone().into(),
                None => { object.as_object_mut().unwrap().remove(key); }
            }
        }
        match parse(&event) {
            Ok(Parsed::Health(changes)) => {
                for change in &changes {
                    check_incident(change)?;
                }
            }
            Err(e @ EventError::Timestamp { .. }) => {
                check_line("error", &e.to_string())?;
                let m = e.to_string();
                prop_assert!(m.starts_with("time:") || m.starts_with("detail.startTime:"), "{}", m);
            }
            other => prop_assert!(false, "gave {other:?}"),
        }
    }
}

fn sample_health() -> Value {
    sample("health-retirement.json")
}

#[test]
fn a_health_time_in_rfc_2822_at_the_end_of_chrono_time_is_a_warning_rather_than_a_panic() {
    // Found by review: chrono reads RFC 2822 years up to 262142, the Health parser took them unbounded, and the
    // metric window added a minute to the incident time taken from `startTime` — a panic.
    let huge = "31 Dec 262142 23:59:59 GMT";
    let mut event = sample_health();
    event["detail"]["startTime"] = huge.into();
    event["detail"]["endTime"] = huge.into();
    let Ok(Parsed::Health(changes)) = parse(&event) else {
        panic!("still reported");
    };
    check_incident(&changes[0]).unwrap();
    assert!(
        changes[0]
            .warnings
            .iter()
            .any(|w| w.starts_with("detail.startTime: unreadable time")),
        "{:?}",
        changes[0].warnings
    );
    assert!(changes[0].health().unwrap().end.is_none());

    event.as_object_mut().unwrap().remove("time");
    let err = parse(&event).unwrap_err().to_string();
    assert!(
        err.starts_with("detail.startTime: unreadable timestamp"),
        "{err}"
    );
}

#[test]
fn a_verification_request_names_the_field_it_cannot_use() {
    let mut event = sample("verify-reboot.json");
    event["detail"]["instance_id"] = "i-0d1e2f3a4b5c6d7e8 $(reboot)".into();
    let err = parse(&event).unwrap_err().to_string();
    assert!(err.contains("detail.instance_id"), "{err}");

    let mut event = sample("verify-reboot.json");
    event["detail"]["acted_at"] = "+262142-12-31T23:59:59Z".into();
    let err = parse(&event).unwrap_err().to_string();
    assert!(err.contains("detail.acted_at"), "{err}");
}

#[test]
fn the_metric_window_of_a_time_at_either_end_of_chrono_time_is_planned_without_a_panic() {
    // The parser keeps event times within 1970-9999; the window arithmetic is checked anyway, for incidents built
    // in code (the sweep's, from DescribeInstanceStatus).
    for at in [
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
    ] {
        let mut change = support::load("cpu-spike.json");
        change.state.at = at;
        let request = ec2ops::gather::plan_window(&change, chrono::Duration::minutes(30));
        assert!(request.start <= request.end, "{at}");
    }
}

#[test]
fn the_follow_ups_next_step_quotes_the_requests_region_and_cannot_mention_the_channel() {
    // The verification request is an event: its region reaches the follow-up's command and its chat card.
    let Ok(Parsed::Verify(mut req)) = parse(&sample("verify-reboot.json")) else {
        panic!("a verification request");
    };
    req.region = Some("<!channel>;reboot".into());
    let verdict = ec2ops::report::followup::Verdict::NotFixed {
        detail: "system ok, instance impaired".into(),
    };
    let msg = ec2ops::report::followup::render(
        &req,
        &verdict,
        req.acted_at + chrono::Duration::minutes(10),
        Language::En,
        chrono_tz::UTC,
    );
    let body: Value = serde_json::from_str(&msg.message).unwrap();
    let email = body["email"].as_str().unwrap();
    let command = email
        .split('`')
        .find(|c| c.starts_with("aws ec2 stop-instances"))
        .expect("the next step's command");
    assert_eq!(
        strict_words(command).unwrap(),
        [
            "aws",
            "ec2",
            "stop-instances",
            "--instance-ids",
            "i-0d1e2f3a4b5c6d7e8",
            "--region",
            "<!channel>;reboot"
        ]
    );
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    assert!(!chat["content"]["description"]
        .as_str()
        .unwrap()
        .contains('<'));
}
