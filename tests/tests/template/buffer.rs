//! The optional alarm buffer (`AlarmBuffer=true`): off by default; when on, every alarm rule of the function is
//! disabled and a twin with the same pattern sends to an SQS queue instead, which only those twins may write to and
//! which the function drains one alarm at a time at a bounded concurrency.

use super::*;

/// The function statement that lets Lambda poll the buffer with the function's role. No adapter calls these
/// operations, so the IAM comparison of `main.rs` leaves this statement to the tests here.
pub(super) const POLL_SID: &str = "PollAlarmBuffer";

const CONDITION: &str = "AlarmBufferOn";
const QUEUE: &str = "AlarmBufferQueue";
/// What Lambda's SQS event source calls with the function's role (AWSLambdaSQSQueueExecutionRole holds the same).
const POLLING: [&str; 3] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
];

fn queue_arn() -> Value {
    yaml(&format!("!GetAtt {QUEUE}.Arn"))
}

/// The function's EventBridge rules (SAM events) that deliver CloudWatch alarm events: name → properties.
fn direct_alarm_rules(t: &Value) -> Vec<(String, Value)> {
    function_properties(t)["Events"]
        .as_mapping()
        .expect("Events")
        .iter()
        .filter(|(_, e)| e["Type"].as_str() == Some("EventBridgeRule"))
        .filter(|(_, e)| {
            as_list(&e["Properties"]["Pattern"]["source"]).contains(&yaml("aws.cloudwatch"))
        })
        .map(|(name, e)| {
            (
                name.as_str().expect("event name").to_string(),
                e["Properties"].clone(),
            )
        })
        .collect()
}

/// The template's `AWS::Events::Rule` resources that target the buffer queue: logical id → resource.
fn buffered_rules(t: &Value) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Events::Rule"))
        .filter(|(_, r)| {
            as_list(&r["Properties"]["Targets"])
                .iter()
                .any(|target| target["Arn"] == queue_arn())
        })
        .map(|(id, r)| (id.as_str().expect("logical id").to_string(), r.clone()))
        .collect()
}

#[test]
fn the_alarm_buffer_is_off_by_default() {
    let t = template();
    let p = &t["Parameters"]["AlarmBuffer"];
    assert_eq!(p["AllowedValues"], yaml("['true', 'false']"));
    assert_eq!(
        p["Default"].as_str(),
        Some("false"),
        "direct delivery (lowest latency) is the default"
    );
    assert_eq!(
        t["Conditions"][CONDITION],
        yaml("!Equals [!Ref AlarmBuffer, 'true']")
    );
}

#[test]
fn with_the_buffer_on_every_alarm_rule_is_disabled_and_a_twin_with_the_same_pattern_sends_to_the_queue(
) {
    let t = template();
    let direct = direct_alarm_rules(&t);
    let names: BTreeSet<&str> = direct.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "AlarmStateChange",
            "AlarmContributorStateChange",
            "CompositeAlarmStateChange",
            "MetricsInsightsAlarmStateChange",
        ]),
        "the alarm rules of the function (a new one needs a Buffered twin)"
    );
    let buffered = buffered_rules(&t);
    assert_eq!(
        buffered.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        names
            .iter()
            .map(|n| format!("Buffered{n}"))
            .collect::<BTreeSet<_>>()
            .iter()
            .map(String::as_str)
            .collect::<BTreeSet<_>>(),
        "one twin per alarm rule, and no other rule sends to the buffer"
    );
    for (name, props) in &direct {
        assert_eq!(
            props["State"],
            yaml(&format!("!If [{CONDITION}, DISABLED, ENABLED]")),
            "{name} must stop delivering directly when the buffer is on"
        );
        let twin = &buffered[&format!("Buffered{name}")];
        assert_eq!(twin["Condition"].as_str(), Some(CONDITION), "{name}");
        let p = &twin["Properties"];
        assert_eq!(p["State"].as_str(), Some("ENABLED"), "{name}");
        assert_eq!(
            p["EventPattern"], props["Pattern"],
            "Buffered{name}'s pattern has drifted from {name}'s"
        );
        let targets = as_list(&p["Targets"]);
        assert_eq!(targets.len(), 1, "{name}: {targets:?}");
        assert_eq!(targets[0]["Arn"], queue_arn());
        // The same delivery retries and dead-letter queue as the direct rule.
        assert_eq!(targets[0]["RetryPolicy"], props["RetryPolicy"], "{name}");
        assert_eq!(
            targets[0]["DeadLetterConfig"], props["DeadLetterConfig"],
            "{name}"
        );
    }
    // The function's other rules are not touched by the buffer.
    for (name, e) in function_properties(&t)["Events"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        if !names.contains(name) {
            let body = serde_yaml::to_string(e).unwrap();
            assert!(!body.contains(CONDITION), "{name}: {body}");
        }
    }
}

#[test]
fn every_part_of_the_alarm_buffer_exists_only_with_the_buffer_on() {
    let t = template();
    let mut ids = vec![
        QUEUE.to_string(),
        "AlarmBufferQueuePolicy".into(),
        "AlarmBufferMessages".into(),
    ];
    ids.extend(buffered_rules(&t).into_keys());
    for id in &ids {
        assert_eq!(
            t["Resources"][id.as_str()]["Condition"].as_str(),
            Some(CONDITION),
            "{id}"
        );
    }
    assert_eq!(
        t["Outputs"]["AlarmBufferQueueUrl"]["Condition"].as_str(),
        Some(CONDITION)
    );
    // The function learns the queue's ARN from the variable main.rs reads, empty without the buffer.
    let main_rs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/responder/src/main.rs"
    ))
    .expect("main.rs");
    assert!(main_rs.contains("\"EC2OPS_ALARM_BUFFER_QUEUE_ARN\""));
    assert_eq!(
        function_properties(&t)["Environment"]["Variables"]["EC2OPS_ALARM_BUFFER_QUEUE_ARN"],
        yaml(&format!("!If [{CONDITION}, !GetAtt {QUEUE}.Arn, '']"))
    );
}

#[test]
fn only_the_buffered_alarm_rules_may_send_to_the_alarm_buffer_and_every_other_sender_is_denied() {
    let t = template();
    let policy = resource(&t, "AlarmBufferQueuePolicy", "AWS::SQS::QueuePolicy");
    assert_eq!(
        as_list(&policy["Properties"]["Queues"]),
        vec![yaml(&format!("!Ref {QUEUE}"))]
    );
    let rules: BTreeSet<String> = buffered_rules(&t)
        .keys()
        .map(|id| serde_yaml::to_string(&yaml(&format!("!GetAtt {id}.Arn"))).unwrap())
        .collect();
    assert_eq!(rules.len(), 4);
    let arns = |v: &Value| -> BTreeSet<String> {
        as_list(v)
            .iter()
            .map(|a| serde_yaml::to_string(a).unwrap())
            .collect()
    };
    let statements = as_list(&policy["Properties"]["PolicyDocument"]["Statement"]);
    let sends = |s: &Value| {
        actions(s)
            .iter()
            .any(|a| a == "sqs:SendMessage" || a == "sqs:*")
    };
    let allows: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .collect();
    assert_eq!(allows.len(), 1, "{statements:?}");
    let allow = allows[0];
    assert_eq!(allow["Principal"], yaml("Service: events.amazonaws.com"));
    assert_eq!(actions(allow), ["sqs:SendMessage"]);
    assert_eq!(allow["Resource"], queue_arn());
    assert_eq!(
        arns(&allow["Condition"]["ArnEquals"]["aws:SourceArn"]),
        rules,
        "EventBridge may send for the buffered rules only"
    );
    // The deny: every principal, every request not made by one of those rules (another source, or none: the
    // negated operator holds when the key is absent), so no IAM policy of the account can open the queue.
    let denies: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Deny") && sends(s))
        .collect();
    assert_eq!(
        denies.len(),
        1,
        "one deny of sqs:SendMessage: {statements:?}"
    );
    let deny = denies[0];
    assert!(
        deny["Principal"] == yaml("'*'") || deny["Principal"]["AWS"] == yaml("'*'"),
        "the deny applies to every principal: {deny:?}"
    );
    assert_eq!(deny["Resource"], queue_arn());
    let condition = deny["Condition"].as_mapping().expect("a condition");
    assert_eq!(condition.len(), 1, "{deny:?}");
    assert_eq!(
        arns(&deny["Condition"]["ArnNotEquals"]["aws:SourceArn"]),
        rules,
        "the deny spares exactly the buffered rules"
    );
}

#[test]
fn the_alarm_buffer_feeds_the_function_one_alarm_at_a_time_at_a_bounded_concurrency() {
    let t = template();
    let queue = resource(&t, QUEUE, "AWS::SQS::Queue");
    let q = &queue["Properties"];
    assert_eq!(q["SqsManagedSseEnabled"].as_bool(), Some(true));
    assert_eq!(
        q["RedrivePolicy"]["deadLetterTargetArn"],
        yaml("!GetAtt FailedEventsQueue.Arn")
    );
    // docs/delivery.md: five receives, then the failed-events queue.
    assert_eq!(q["RedrivePolicy"]["maxReceiveCount"].as_u64(), Some(5));
    let timeout = function_properties(&t)["Timeout"]
        .as_u64()
        .expect("Timeout");
    let visibility = q["VisibilityTimeout"].as_u64().expect("VisibilityTimeout");
    // Lambda asks for at least six times the function's timeout; docs/delivery.md says six times.
    assert_eq!(
        visibility,
        6 * timeout,
        "visibility {visibility} s, function timeout {timeout} s"
    );
    let retention = |r: &Value| r["Properties"]["MessageRetentionPeriod"].as_u64();
    assert!(
        retention(queue).expect("retention")
            < retention(&t["Resources"]["FailedEventsQueue"]).expect("14 days")
    );

    let m = &resource(&t, "AlarmBufferMessages", "AWS::Lambda::EventSourceMapping")["Properties"];
    assert_eq!(m["FunctionName"], yaml("!Ref ResponderFunction"));
    assert_eq!(m["EventSourceArn"], queue_arn());
    assert_eq!(m["BatchSize"].as_u64(), Some(1));
    assert_eq!(
        m["FunctionResponseTypes"],
        yaml("[ReportBatchItemFailures]")
    );
    assert_eq!(
        m["ScalingConfig"]["MaximumConcurrency"],
        yaml("!Ref AlarmBufferConcurrency")
    );
    // Lambda's floor for an SQS maximum concurrency is 2; docs/delivery.md promises a default of 5.
    let p = &t["Parameters"]["AlarmBufferConcurrency"];
    assert_eq!(p["Type"].as_str(), Some("Number"));
    assert!(p["MinValue"].as_u64().unwrap_or(0) >= 2, "{p:?}");
    assert!(p["MaxValue"].as_u64().unwrap_or(u64::MAX) <= 1000, "{p:?}");
    assert_eq!(parameter_default(&t, "AlarmBufferConcurrency"), "5");
}

#[test]
fn the_function_may_poll_the_alarm_buffer_and_nothing_else_with_those_actions() {
    let t = template();
    let statements = function_statements(&t);
    let poll: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Sid"].as_str() == Some(POLL_SID))
        .collect();
    assert_eq!(poll.len(), 1);
    let s = poll[0];
    assert_eq!(s["Effect"].as_str(), Some("Allow"));
    assert_eq!(
        actions(s).into_iter().collect::<BTreeSet<_>>(),
        POLLING.iter().map(|a| a.to_string()).collect()
    );
    assert_eq!(s["Resource"], queue_arn(), "the buffer queue only");
    assert!(s.get("Condition").is_none());
    // Granted only with the buffer: the statement is the true branch of an `!If` on the buffer's condition.
    let guarded = as_list(&function_properties(&t)["Policies"])
        .iter()
        .flat_map(|p| as_list(&p["Statement"]))
        .any(|s| match s {
            Value::Tagged(tagged) if tagged.tag == "If" => {
                let branches = as_list(&tagged.value);
                branches.len() == 3
                    && branches[0].as_str() == Some(CONDITION)
                    && branches[1]["Sid"].as_str() == Some(POLL_SID)
                    && branches[2] == yaml("!Ref AWS::NoValue")
            }
            _ => false,
        });
    assert!(guarded, "{POLL_SID} is granted only when {CONDITION}");
    // No other statement grants the polling actions, so the buffer's grant is the only one to read.
    for other in statements
        .iter()
        .filter(|s| s["Sid"].as_str() != Some(POLL_SID))
    {
        for a in actions(other) {
            assert!(!POLLING.contains(&a.as_str()), "{a} in {other:?}");
        }
    }
}

#[test]
fn the_buffered_rules_may_dead_letter_into_the_failed_events_queue() {
    let t = template();
    let policy = resource(&t, "FailedEventsQueuePolicy", "AWS::SQS::QueuePolicy");
    let allowed: Vec<Value> = as_list(&policy["Properties"]["PolicyDocument"]["Statement"])
        .iter()
        .flat_map(|s| as_list(&s["Condition"]["ArnEquals"]["aws:SourceArn"]))
        .collect();
    for (id, r) in buffered_rules(&t) {
        for target in as_list(&r["Properties"]["Targets"]) {
            assert_eq!(
                target["DeadLetterConfig"]["Arn"],
                yaml("!GetAtt FailedEventsQueue.Arn")
            );
        }
        let entry = yaml(&format!(
            "!If [{CONDITION}, !GetAtt {id}.Arn, !Ref AWS::NoValue]"
        ));
        assert!(
            allowed.contains(&entry),
            "{id} has a dead-letter queue but the failed-events queue policy does not let it send: {allowed:?}"
        );
    }
}
