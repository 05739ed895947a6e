//! The EventBridge rules of `template.yaml` against the sample events: each event the responder handles from
//! EventBridge is matched by exactly one rule (so it is handled once), and nothing else is matched — AWS's own
//! DynamoDB contributor sample included. The rules stay tight: only EC2 alarms reach the function.
//!
//! The patterns are evaluated by a small matcher written here from EventBridge's documented semantics, for the
//! operators the template uses (exact values, `exists`, `prefix`, `wildcard`; arrays in the event flattened, a list
//! in the pattern meaning "any of"). It always runs. Where the local emulator is up, every verdict is checked
//! against its `TestEventPattern` too (LocalStack implements EventBridge's pattern engine); without it that test
//! skips like the other emulator tests.

use std::collections::BTreeMap;

use serde_json::Value as Json;
use serde_yaml::Value as Yaml;

fn repo(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Yaml {
    serde_yaml::from_str(&std::fs::read_to_string(repo("template.yaml")).expect("template.yaml"))
        .expect("template.yaml is YAML")
}

/// A template value as JSON, with `!Ref <parameter>` replaced by the parameter's default (a CommaDelimitedList
/// becomes a list, as CloudFormation passes it).
fn resolve(v: &Yaml, parameters: &Yaml) -> Json {
    match v {
        Yaml::Tagged(t) if t.tag == "Ref" => {
            let name = t.value.as_str().expect("!Ref names a parameter");
            let p = &parameters[name];
            let default = p["Default"].as_str().unwrap_or_default();
            if p["Type"].as_str() == Some("CommaDelimitedList") {
                Json::Array(default.split(',').map(|s| Json::from(s.trim())).collect())
            } else {
                Json::from(default)
            }
        }
        Yaml::Tagged(t) => panic!("pattern uses {} which this test cannot resolve", t.tag),
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().expect("string keys").to_string(),
                        resolve(v, parameters),
                    )
                })
                .collect(),
        ),
        Yaml::Sequence(items) => {
            Json::Array(items.iter().map(|i| resolve(i, parameters)).collect())
        }
        Yaml::String(s) => Json::from(s.as_str()),
        Yaml::Bool(b) => Json::from(*b),
        Yaml::Number(n) => serde_json::to_value(n).expect("number"),
        Yaml::Null => Json::Null,
    }
}

/// The function's EventBridge rules: name → pattern.
fn rules() -> BTreeMap<String, Json> {
    let t = template();
    let events = t["Resources"]["ResponderFunction"]["Properties"]["Events"]
        .as_mapping()
        .expect("Events");
    events
        .iter()
        .filter(|(_, e)| e["Type"].as_str() == Some("EventBridgeRule"))
        .map(|(name, e)| {
            (
                name.as_str().unwrap().to_string(),
                resolve(&e["Properties"]["Pattern"], &t["Parameters"]),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// The matcher
// ---------------------------------------------------------------------------------------------------------------

/// The leaf values of the event at `path`, arrays flattened at every step (EventBridge matches an array when any of
/// its elements matches). Objects are not leaves.
fn leaves<'a>(event: &'a Json, path: &[&str], out: &mut Vec<&'a Json>) {
    match event {
        Json::Array(items) => items.iter().for_each(|i| leaves(i, path, out)),
        Json::Object(o) => {
            if let Some((first, rest)) = path.split_first() {
                if let Some(child) = o.get(*first) {
                    leaves(child, rest, out);
                }
            }
        }
        leaf if path.is_empty() => out.push(leaf),
        _ => {}
    }
}

/// EventBridge's wildcard: `*` matches any run of characters, `\*` a star, `\\` a backslash.
fn wildcard(pattern: &str, text: &str) -> bool {
    enum P {
        Star,
        Char(char),
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => parts.push(P::Char(chars.next().expect("escape at the end"))),
            '*' => parts.push(P::Star),
            c => parts.push(P::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic glob match with backtracking to the last star.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(P::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(P::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|x| matches!(x, P::Star))
}

/// Whether one element of a pattern's value list accepts the event's values at that field.
fn accepts(rule: &Json, values: &[&Json]) -> bool {
    match rule {
        Json::Object(op) => {
            assert_eq!(op.len(), 1, "one operator per element: {rule}");
            let (name, arg) = op.iter().next().unwrap();
            match name.as_str() {
                "exists" => {
                    let present = !values.is_empty();
                    arg.as_bool().expect("exists takes a boolean") == present
                }
                "prefix" => {
                    let p = arg.as_str().expect("prefix takes a string");
                    values
                        .iter()
                        .any(|v| v.as_str().is_some_and(|s| s.starts_with(p)))
                }
                "wildcard" => {
                    let p = arg.as_str().expect("wildcard takes a string");
                    values
                        .iter()
                        .any(|v| v.as_str().is_some_and(|s| wildcard(p, s)))
                }
                other => panic!("operator {other} is not implemented by this matcher"),
            }
        }
        exact => values.contains(&exact),
    }
}

/// Whether an EventBridge pattern matches an event: every field of the pattern matches (AND), and a field matches
/// when any element of its list accepts the event's values there (OR).
fn matches(pattern: &Json, event: &Json) -> bool {
    fn walk(pattern: &Json, event: &Json, path: &mut Vec<String>) -> bool {
        let Json::Object(fields) = pattern else {
            panic!("a pattern is an object: {pattern}")
        };
        fields.iter().all(|(key, sub)| {
            path.push(key.clone());
            let ok = match sub {
                Json::Object(_) => walk(sub, event, path),
                Json::Array(list) => {
                    let keys: Vec<&str> = path.iter().map(String::as_str).collect();
                    let mut values = Vec::new();
                    leaves(event, &keys, &mut values);
                    list.iter().any(|rule| accepts(rule, &values))
                }
                other => panic!("pattern values are lists: {key}: {other}"),
            };
            path.pop();
            ok
        })
    }
    walk(pattern, event, &mut Vec::new())
}

// ---------------------------------------------------------------------------------------------------------------
// The events
// ---------------------------------------------------------------------------------------------------------------

fn read_json(path: &str) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every EventBridge event among the samples and the bad-event fixtures that is JSON: (file, event).
fn eventbridge_events() -> Vec<(String, Json)> {
    let mut out = Vec::new();
    for dir in ["events", "shared/tests/fixtures/bad"] {
        let mut files: Vec<String> = std::fs::read_dir(repo(dir))
            .expect(dir)
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".json"))
            .collect();
        files.sort();
        for f in files {
            let path = repo(&format!("{dir}/{f}"));
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(event) = serde_json::from_str::<Json>(&text) else {
                continue;
            };
            // EventBridge events only: the alarm action's payload and ec2ops's own schedules reach the function
            // directly.
            let from_aws = event["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("aws."));
            if from_aws && event.get("detail-type").is_some() {
                out.push((format!("{dir}/{f}"), event));
            }
        }
    }
    out
}

fn matched_by(rules: &BTreeMap<String, Json>, event: &Json) -> Vec<String> {
    rules
        .iter()
        .filter(|(_, p)| matches(p, event))
        .map(|(n, _)| n.clone())
        .collect()
}

#[test]
fn the_matcher_follows_eventbridges_semantics() {
    assert!(wildcard(
        "*\"AWS/EC2\"*",
        "SELECT MAX(x) FROM SCHEMA(\"AWS/EC2\", InstanceId)"
    ));
    assert!(!wildcard(
        "*\"AWS/EC2\"*",
        "SELECT MAX(x) FROM \"AWS/EC2Spot\""
    ));
    assert!(wildcard("a*b*c", "aXXbYYc") && !wildcard("a*b*c", "aXXbYY"));
    assert!(wildcard("\\*x", "*x") && !wildcard("\\*x", "yx"));
    let event = serde_json::json!({"detail": {"m": [{"e": "one"}, {"s": {"n": "AWS/EC2"}}]}});
    assert!(matches(
        &serde_json::json!({"detail": {"m": {"s": {"n": ["AWS/EC2"]}}}}),
        &event
    ));
    assert!(matches(
        &serde_json::json!({"detail": {"m": {"e": [{"prefix": "on"}]}}}),
        &event
    ));
    assert!(!matches(
        &serde_json::json!({"detail": {"m": {"x": [{"exists": true}]}}}),
        &event
    ));
    assert!(matches(
        &serde_json::json!({"detail": {"m": {"x": [{"exists": false}]}}}),
        &event
    ));
}

#[test]
fn each_fleet_sample_is_routed_by_its_rule_and_awss_dynamodb_sample_by_none() {
    let rules = rules();
    for (file, rule) in [
        (
            "fleet-insights-alarm.json",
            "MetricsInsightsAlarmStateChange",
        ),
        (
            "fleet-multi-series-alarm.json",
            "MetricsInsightsAlarmStateChange",
        ),
        (
            "fleet-contributor-alarm.json",
            "AlarmContributorStateChange",
        ),
        ("fleet-contributor-ok.json", "AlarmContributorStateChange"),
        ("cpu-spike.json", "AlarmStateChange"),
        ("metric-math.json", "AlarmStateChange"),
        ("composite.json", "CompositeAlarmStateChange"),
    ] {
        let event = read_json(&repo(&format!("events/{file}")));
        assert_eq!(matched_by(&rules, &event), [rule], "{file}");
    }
    for (what, event, expected) in variants() {
        assert_eq!(matched_by(&rules, &event), expected, "{what}");
    }
}

/// AWS's DynamoDB contributor sample, the fleet samples' query on other namespaces, and on CWAgent written bare:
/// (what, event, the rules that must match).
fn variants() -> Vec<(String, Json, Vec<&'static str>)> {
    let mut out = vec![(
        "AWS's DynamoDB contributor sample".to_string(),
        read_json(&repo("events/contributor-dynamodb.json")),
        vec![],
    )];
    for namespace in ["AWS/Lambda", "AWS/EC2Spot", "AWS/RDS"] {
        for file in ["fleet-insights-alarm.json", "fleet-contributor-alarm.json"] {
            let mut event = read_json(&repo(&format!("events/{file}")));
            event["detail"]["configuration"]["metrics"][0]["expression"] = Json::from(format!(
                "SELECT MAX(CPUUtilization) FROM SCHEMA(\"{namespace}\", InstanceId) GROUP BY InstanceId"
            ));
            out.push((format!("{file} on {namespace}"), event, vec![]));
        }
    }
    let mut event = read_json(&repo("events/fleet-contributor-alarm.json"));
    event["detail"]["configuration"]["metrics"][0]["expression"] =
        Json::from("SELECT AVG(mem_used_percent) FROM CWAgent GROUP BY InstanceId");
    out.push((
        "a contributor on CWAgent written bare".into(),
        event,
        vec!["AlarmContributorStateChange"],
    ));
    out
}

/// The heartbeat reaches the function through its schedule's constant `Input`, which the parser reads as a
/// heartbeat; no pattern rule matches it, so the same event put on the default bus by anybody reaches nothing.
#[test]
fn the_heartbeat_schedules_input_is_a_heartbeat_and_no_pattern_rule_routes_it() {
    let t = template();
    let heartbeat = &t["Resources"]["ResponderFunction"]["Properties"]["Events"]["Heartbeat"];
    assert_eq!(heartbeat["Type"].as_str(), Some("Schedule"));
    let input: Json = serde_json::from_str(
        heartbeat["Properties"]["Input"]
            .as_str()
            .expect("a JSON string"),
    )
    .expect("JSON");
    assert_eq!(
        ec2ops::event::parse(&input),
        Ok(ec2ops::event::Parsed::Heartbeat)
    );
    assert_eq!(
        matched_by(&rules(), &input),
        Vec::<String>::new(),
        "{input}"
    );
}

#[test]
fn the_fleet_rules_name_the_namespaces_the_parser_reads() {
    let rules = rules();
    for name in [
        "MetricsInsightsAlarmStateChange",
        "AlarmContributorStateChange",
    ] {
        let list = &rules[name]["detail"]["configuration"]["metrics"]["expression"];
        let found: Vec<String> = list
            .as_array()
            .expect("a list")
            .iter()
            .map(|w| {
                w["wildcard"]
                    .as_str()
                    .expect("wildcards")
                    .replace(['*', '"'], "")
            })
            .collect();
        assert_eq!(found, ec2ops::insights::EC2_NAMESPACES, "{name}");
    }
}

/// Every EventBridge sample the parser handles is routed by exactly one rule (handled once), and every one it
/// ignores by none (the rules are no wider than the parser). A bad-event fixture is routed by one rule at most: some
/// are broken in ways no rule would pass on.
#[test]
fn every_eventbridge_sample_the_parser_handles_reaches_exactly_one_rule_and_no_other_does() {
    use ec2ops::event::{parse, Parsed};
    let rules = rules();
    let mut routed = 0;
    for (file, event) in eventbridge_events() {
        let hits = matched_by(&rules, &event);
        match parse(&event) {
            Ok(Parsed::Alarm(_) | Parsed::Health(_)) if file.starts_with("events/") => {
                assert_eq!(hits.len(), 1, "{file} is routed by {hits:?}");
                routed += 1;
            }
            Ok(Parsed::Alarm(_) | Parsed::Health(_)) => {
                assert!(hits.len() <= 1, "{file} is routed by {hits:?}");
            }
            Ok(Parsed::Ignored { .. }) => {
                // A state change to `running` is ignored by the parser but is not sent by the rule either (it
                // names stopped and terminated only).
                assert!(hits.is_empty(), "{file} is ignored but routed by {hits:?}");
            }
            // Malformed events that still match a rule: they fail and land in the failed-events queue.
            Ok(_) | Err(_) => {}
        }
    }
    assert!(routed >= 16, "only {routed} samples routed");
}

// ---------------------------------------------------------------------------------------------------------------
// The same verdicts from the emulator's TestEventPattern
// ---------------------------------------------------------------------------------------------------------------

/// EventBridge `TestEventPattern` on the emulator (JSON 1.1 protocol; the emulator does not check signatures).
async fn test_event_pattern(pattern: &Json, event: &Json) -> Result<bool, String> {
    let body = serde_json::json!({
        "EventPattern": pattern.to_string(),
        "Event": event.to_string(),
    })
    .to_string();
    let request = hyper::Request::post(ec2ops_tests::endpoint())
        .header("Content-Type", "application/x-amz-json-1.1")
        .header("X-Amz-Target", "AWSEvents.TestEventPattern")
        .header(
            "Authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/20250101/{}/events/aws4_request, SignedHeaders=host, \
                 Signature=0",
                ec2ops_tests::REGION
            ),
        )
        .body(hyper::Body::from(body))
        .map_err(|e| e.to_string())?;
    let response = hyper::Client::new()
        .request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let bytes = hyper::body::to_bytes(response.into_body())
        .await
        .map_err(|e| e.to_string())?;
    let answer: Json = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{status}: {answer}"));
    }
    answer["Result"]
        .as_bool()
        .ok_or_else(|| format!("no Result in {answer}"))
}

#[tokio::test]
async fn the_emulators_test_event_pattern_agrees_with_every_verdict() {
    if ec2ops_tests::Emulator::connect().await.is_none() {
        return;
    }
    let rules = rules();
    let mut events = eventbridge_events();
    events.extend(variants().into_iter().map(|(what, e, _)| (what, e)));
    // TestEventPattern refuses an event without EventBridge's envelope fields (a fixture without `time`).
    let envelope = [
        "id",
        "account",
        "time",
        "region",
        "resources",
        "source",
        "detail-type",
    ];
    events.retain(|(_, e)| envelope.iter().all(|k| e.get(k).is_some()));
    let mut disagreements = Vec::new();
    let mut checked = 0;
    for (file, event) in &events {
        for (name, pattern) in &rules {
            let ours = matches(pattern, event);
            match test_event_pattern(pattern, event).await {
                Ok(theirs) if theirs == ours => checked += 1,
                Ok(theirs) => disagreements.push(format!(
                    "{file} × {name}: emulator {theirs}, matcher {ours}"
                )),
                Err(e) => disagreements.push(format!("{file} × {name}: emulator error {e}")),
            }
        }
    }
    assert!(disagreements.is_empty(), "\n{}", disagreements.join("\n"));
    eprintln!(
        "{checked} verdicts ({} events × {} rules) agree with the emulator",
        events.len(),
        rules.len()
    );
    assert!(checked >= 100, "only {checked} verdicts checked");
}
