//! The stack watches itself: its own CloudWatch alarms on an operations topic of its own (the failed-events queue,
//! the function's errors, throttles and lost failure records, the queues' oldest message), the heartbeat's schedule,
//! and the check that ReservedConcurrency covers both queues' event sources. None of it grants the function anything
//! but the heartbeat's publish.

use super::*;

const TOPIC: &str = "OperationsTopic";

fn topic_ref() -> Value {
    yaml(&format!("!Ref {TOPIC}"))
}

/// What one alarm must watch: logical id, namespace, metric, dimension, the resource it names, the comparison and
/// threshold, and its condition.
struct Watch {
    id: &'static str,
    namespace: &'static str,
    metric: &'static str,
    dimension: &'static str,
    resource: &'static str,
    comparison: &'static str,
    threshold: u64,
    condition: Option<&'static str>,
}

const WATCHES: [Watch; 6] = [
    Watch {
        id: "FailedEventsAlarm",
        namespace: "AWS/SQS",
        metric: "ApproximateNumberOfMessagesVisible",
        dimension: "QueueName",
        resource: "!GetAtt FailedEventsQueue.QueueName",
        comparison: "GreaterThanThreshold",
        threshold: 0,
        condition: None,
    },
    Watch {
        id: "FunctionErrorsAlarm",
        namespace: "AWS/Lambda",
        metric: "Errors",
        dimension: "FunctionName",
        resource: "!Ref ResponderFunction",
        comparison: "GreaterThanOrEqualToThreshold",
        threshold: 3,
        condition: None,
    },
    Watch {
        id: "FunctionThrottlesAlarm",
        namespace: "AWS/Lambda",
        metric: "Throttles",
        dimension: "FunctionName",
        resource: "!Ref ResponderFunction",
        comparison: "GreaterThanThreshold",
        threshold: 0,
        condition: None,
    },
    Watch {
        id: "DestinationDeliveryFailuresAlarm",
        namespace: "AWS/Lambda",
        metric: "DestinationDeliveryFailures",
        dimension: "FunctionName",
        resource: "!Ref ResponderFunction",
        comparison: "GreaterThanThreshold",
        threshold: 0,
        condition: None,
    },
    Watch {
        id: "WorkQueueAgeAlarm",
        namespace: "AWS/SQS",
        metric: "ApproximateAgeOfOldestMessage",
        dimension: "QueueName",
        resource: "!GetAtt WorkQueue.QueueName",
        comparison: "GreaterThanThreshold",
        threshold: 900,
        condition: None,
    },
    Watch {
        id: "AlarmBufferAgeAlarm",
        namespace: "AWS/SQS",
        metric: "ApproximateAgeOfOldestMessage",
        dimension: "QueueName",
        resource: "!GetAtt AlarmBufferQueue.QueueName",
        comparison: "GreaterThanThreshold",
        threshold: 900,
        condition: Some("AlarmBufferOn"),
    },
];

/// The template's alarms: logical id → resource.
fn alarms(t: &Value) -> BTreeMap<String, Value> {
    t["Resources"]
        .as_mapping()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(id, r)| (id.as_str().expect("logical id").to_string(), r.clone()))
        .collect()
}

#[test]
fn the_stack_has_exactly_its_own_alarms_each_watching_its_resource_and_metric() {
    let t = template();
    let alarms = alarms(&t);
    let expected: BTreeSet<&str> = WATCHES.iter().map(|w| w.id).collect();
    assert_eq!(
        alarms.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected
    );
    for w in &WATCHES {
        let a = &alarms[w.id];
        let p = &a["Properties"];
        assert_eq!(p["Namespace"].as_str(), Some(w.namespace), "{}", w.id);
        assert_eq!(p["MetricName"].as_str(), Some(w.metric), "{}", w.id);
        assert_eq!(
            as_list(&p["Dimensions"]),
            vec![yaml(&format!(
                "{{Name: {}, Value: {}}}",
                w.dimension, w.resource
            ))],
            "{}",
            w.id
        );
        assert_eq!(
            p["ComparisonOperator"].as_str(),
            Some(w.comparison),
            "{}",
            w.id
        );
        assert_eq!(p["Threshold"].as_u64(), Some(w.threshold), "{}", w.id);
        assert_eq!(a["Condition"].as_str(), w.condition, "{}", w.id);
        assert!(p.get("Metrics").is_none(), "{}: one metric", w.id);
    }
}

#[test]
fn every_alarm_pages_the_operations_topic_and_counts_missing_data_as_healthy() {
    let t = template();
    for (id, a) in alarms(&t) {
        let p = &a["Properties"];
        assert_eq!(as_list(&p["AlarmActions"]), vec![topic_ref()], "{id}");
        assert!(
            p.get("OKActions").is_none() && p.get("InsufficientDataActions").is_none(),
            "{id}: pages on ALARM only"
        );
        assert_eq!(p["TreatMissingData"].as_str(), Some("notBreaching"), "{id}");
        assert!(p["ActionsEnabled"].as_bool().unwrap_or(true), "{id}");
        let period = p["Period"].as_u64().expect("Period");
        assert!(period >= 60 && period % 60 == 0, "{id}: period {period}");
        let evaluation = p["EvaluationPeriods"].as_u64().expect("EvaluationPeriods");
        let to_alarm = p["DatapointsToAlarm"].as_u64().unwrap_or(evaluation);
        assert!((1..=evaluation).contains(&to_alarm), "{id}");
        let description = p["AlarmDescription"].as_str().unwrap_or_default();
        assert!(description.starts_with("ec2ops: "), "{id}: {description}");
        assert!(description.len() <= 1024, "{id}: CloudWatch's limit");
    }
}

#[test]
fn the_failed_events_alarm_watches_the_queue_every_failure_path_ends_in() {
    let t = template();
    let failed = yaml("!GetAtt FailedEventsQueue.Arn");
    let f = function_properties(&t);
    assert_eq!(
        f["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
        failed
    );
    for queue in ["WorkQueue", "AlarmBufferQueue"] {
        assert_eq!(
            t["Resources"][queue]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"], failed,
            "{queue}"
        );
    }
    for (name, e) in f["Events"].as_mapping().expect("Events") {
        let dlq = &e["Properties"]["DeadLetterConfig"];
        if !dlq.is_null() {
            assert_eq!(dlq["Arn"], failed, "{name:?}");
        }
    }
    let watched = &alarms(&t)["FailedEventsAlarm"]["Properties"]["Dimensions"];
    assert_eq!(
        as_list(watched)[0]["Value"],
        yaml("!GetAtt FailedEventsQueue.QueueName")
    );
}

#[test]
fn a_queue_age_alarm_waits_longer_than_one_retry_of_a_message() {
    let t = template();
    let alarms = alarms(&t);
    for (alarm, queue) in [
        ("WorkQueueAgeAlarm", "WorkQueue"),
        ("AlarmBufferAgeAlarm", "AlarmBufferQueue"),
    ] {
        let visibility = t["Resources"][queue]["Properties"]["VisibilityTimeout"]
            .as_u64()
            .expect("VisibilityTimeout");
        let threshold = alarms[alarm]["Properties"]["Threshold"]
            .as_u64()
            .expect("Threshold");
        assert!(
            threshold > visibility,
            "{alarm}: {threshold} s would page on one failed receive ({visibility} s visibility)"
        );
        assert_eq!(
            alarms[alarm]["Properties"]["Statistic"].as_str(),
            Some("Maximum")
        );
    }
    assert_eq!(
        alarms["AlarmBufferAgeAlarm"]["Condition"], t["Resources"]["AlarmBufferQueue"]["Condition"],
        "the buffer's alarm exists exactly when the buffer does"
    );
}

#[test]
fn the_operations_topic_is_not_the_report_topic_and_takes_alarms_and_the_heartbeat_only() {
    let t = template();
    let topic = resource(&t, TOPIC, "AWS::SNS::Topic");
    assert!(
        topic.get("Condition").is_none(),
        "always there: the alarms need it"
    );
    assert!(
        topic["Properties"].get("KmsMasterKeyId").is_none(),
        "CloudWatch cannot use the AWS managed SNS key: an encrypted topic would swallow the alarms"
    );
    let policy = resource(&t, "OperationsTopicPolicy", "AWS::SNS::TopicPolicy");
    assert_eq!(as_list(&policy["Properties"]["Topics"]), vec![topic_ref()]);
    let statements = as_list(&policy["Properties"]["PolicyDocument"]["Statement"]);
    let alarm_arns =
        yaml("!Sub arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*");
    let mut allowed = Vec::new();
    for s in &statements {
        assert_eq!(actions(s), ["sns:Publish"], "{s:?}");
        assert_eq!(s["Resource"], topic_ref(), "{s:?}");
        match s["Effect"].as_str() {
            Some("Allow") => allowed.push(s["Principal"].clone()),
            Some("Deny") => {
                assert_eq!(s["Principal"], yaml("'*'"), "{s:?}");
                assert_eq!(
                    s["Condition"],
                    yaml(
                        "ArnNotEquals: {aws:PrincipalArn: !GetAtt ResponderFunctionRole.Arn}\n\
                         ArnNotLike: {aws:SourceArn: !Sub 'arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*'}"
                    ),
                    "the deny spares the role and this account's alarms only"
                );
            }
            other => panic!("effect {other:?}"),
        }
    }
    assert_eq!(
        allowed,
        vec![
            yaml("Service: cloudwatch.amazonaws.com"),
            yaml("AWS: !GetAtt ResponderFunctionRole.Arn"),
        ]
    );
    let cloudwatch = &statements[0];
    assert_eq!(
        cloudwatch["Condition"]["StringEquals"]["aws:SourceAccount"],
        yaml("!Ref AWS::AccountId")
    );
    assert_eq!(
        cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"],
        alarm_arns
    );
    assert_eq!(t["Outputs"]["OperationsTopicArn"]["Value"], topic_ref());
}

#[test]
fn the_operations_email_is_optional_and_subscribes_to_the_operations_topic_only() {
    let t = template();
    let p = &t["Parameters"]["OperationsEmail"];
    assert_eq!(p["Default"].as_str(), Some(""));
    assert_eq!(
        p["AllowedPattern"],
        t["Parameters"]["NotificationEmail"]["AllowedPattern"]
    );
    let s = resource(&t, "OperationsEmailSubscription", "AWS::SNS::Subscription");
    assert_eq!(s["Condition"].as_str(), Some("HasOperationsEmail"));
    assert_eq!(
        t["Conditions"]["HasOperationsEmail"],
        yaml("!Not [!Equals [!Ref OperationsEmail, '']]")
    );
    assert_eq!(s["Properties"]["TopicArn"], topic_ref());
    assert_eq!(s["Properties"]["Protocol"].as_str(), Some("email"));
    assert_eq!(s["Properties"]["Endpoint"], yaml("!Ref OperationsEmail"));
}

#[test]
fn the_alarms_grant_the_function_nothing_and_the_heartbeat_only_its_publish() {
    let t = template();
    let operations: Vec<String> = alarms(&t)
        .into_keys()
        .chain([TOPIC.to_string(), "OperationsTopicPolicy".into()])
        .collect();
    let mut heartbeat = Vec::new();
    for s in function_statements(&t) {
        let text = serde_yaml::to_string(&s).expect("YAML");
        for a in actions(&s) {
            assert!(
                !a.starts_with("cloudwatch:")
                    || ["Get", "List", "Describe"]
                        .iter()
                        .any(|read| a["cloudwatch:".len()..].starts_with(read)),
                "the function may not change alarms: {a}"
            );
        }
        if operations.iter().any(|id| text.contains(id.as_str())) {
            heartbeat.push(s.clone());
        }
    }
    assert_eq!(
        heartbeat,
        vec![yaml(
            "{Sid: PublishHeartbeat, Effect: Allow, Action: 'sns:Publish', Resource: !Ref OperationsTopic}"
        )],
        "one statement names the operations resources: the heartbeat's publish"
    );
    // The report topic's grant is as before: the heartbeat did not widen it.
    let report = function_statements(&t)
        .into_iter()
        .find(|s| s["Sid"].as_str() == Some("PublishReport"))
        .expect("PublishReport");
    assert_eq!(
        report,
        yaml("{Sid: PublishReport, Effect: Allow, Action: 'sns:Publish', Resource: !Ref ReportTopic}")
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The heartbeat's schedule
// ---------------------------------------------------------------------------------------------------------------

#[test]
fn the_heartbeat_schedule_sends_what_the_parser_reads_as_a_heartbeat_and_is_on_by_default() {
    let t = template();
    let e = &function_properties(&t)["Events"]["Heartbeat"];
    assert_eq!(e["Type"].as_str(), Some("Schedule"));
    let p = &e["Properties"];
    let input: serde_json::Value =
        serde_json::from_str(p["Input"].as_str().expect("Input is a JSON string")).expect("JSON");
    assert_eq!(
        ec2ops::event::parse(&input),
        Ok(ec2ops::event::Parsed::Heartbeat)
    );
    assert_eq!(input["detail-type"], ec2ops::event::HEARTBEAT_DETAIL_TYPE);
    assert_eq!(
        p["Schedule"],
        yaml("!If [HeartbeatOn, !Ref HeartbeatSchedule, 'rate(1 day)']")
    );
    assert_eq!(p["State"], yaml("!If [HeartbeatOn, ENABLED, DISABLED]"));
    assert_eq!(
        t["Conditions"]["HeartbeatOn"],
        yaml("!Not [!Equals [!Ref HeartbeatSchedule, '']]")
    );
    let parameter = &t["Parameters"]["HeartbeatSchedule"];
    let default = parameter["Default"].as_str().expect("a default");
    assert!(
        default.starts_with("cron(") || default.starts_with("rate("),
        "on by default: {default}"
    );
    assert!(parameter["AllowedPattern"]
        .as_str()
        .is_some_and(|p| p.starts_with("^$|")));
    // A heartbeat that cannot be delivered ends where the failed-events alarm sees it.
    assert_eq!(
        p["DeadLetterConfig"]["Arn"],
        yaml("!GetAtt FailedEventsQueue.Arn")
    );
    assert_eq!(
        function_properties(&t)["Environment"]["Variables"]
            [ec2ops::config::names::OPERATIONS_TOPIC_ARN],
        topic_ref()
    );
}

// ---------------------------------------------------------------------------------------------------------------
// ReservedConcurrency >= AlarmBufferConcurrency + the work queue's 10
// ---------------------------------------------------------------------------------------------------------------

/// A value of a rule's expression.
#[derive(Debug, Clone, PartialEq)]
enum Rv {
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

/// Evaluate a CloudFormation rule expression (`Fn::And`, `Fn::Or`, `Fn::Not`, `Fn::Equals`, `Fn::Contains`, `Ref`,
/// literals) with the parameters' `values`.
fn evaluate(v: &Value, values: &BTreeMap<&str, String>) -> Rv {
    let args = |v: &Value| -> Vec<Rv> { as_list(v).iter().map(|a| evaluate(a, values)).collect() };
    let truth = |r: &Rv| match r {
        Rv::Bool(b) => *b,
        other => panic!("not a condition: {other:?}"),
    };
    match v {
        Value::String(s) => Rv::Text(s.clone()),
        Value::Number(n) => Rv::Text(n.to_string()),
        Value::Tagged(t) if t.tag == "Ref" => {
            let name = t.value.as_str().expect("a parameter name");
            Rv::Text(
                values
                    .get(name)
                    .unwrap_or_else(|| panic!("no value for {name}"))
                    .clone(),
            )
        }
        Value::Sequence(items) => Rv::List(
            items
                .iter()
                .map(|i| match evaluate(i, values) {
                    Rv::Text(s) => s,
                    other => panic!("a list of {other:?}"),
                })
                .collect(),
        ),
        // The short forms (`!Equals [...]`) as the long ones.
        Value::Tagged(t) if t.tag != "Ref" => {
            let long = format!("Fn::{}", t.tag.to_string().trim_start_matches('!'));
            let mut m = serde_yaml::Mapping::new();
            m.insert(Value::String(long), t.value.clone());
            evaluate(&Value::Mapping(m), values)
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (f, a) = m.iter().next().expect("one entry");
            match f.as_str().expect("a function") {
                "Fn::And" => Rv::Bool(args(a).iter().all(truth)),
                "Fn::Or" => Rv::Bool(args(a).iter().any(truth)),
                "Fn::Not" => Rv::Bool(!truth(&args(a)[0])),
                "Fn::Equals" => {
                    let a = args(a);
                    Rv::Bool(a[0] == a[1])
                }
                "Fn::Contains" => match &args(a)[..] {
                    [Rv::List(list), Rv::Text(x)] => Rv::Bool(list.contains(x)),
                    other => panic!("Fn::Contains of {other:?}"),
                },
                other => panic!("a rule function the test does not know: {other}"),
            }
        }
        other => panic!("not a rule expression: {other:?}"),
    }
}

/// Whether CloudFormation accepts the parameters: every assertion of every rule whose condition holds. A parameter
/// not in `values` has its default.
pub(super) fn rules_accept(t: &Value, given: &BTreeMap<&str, String>) -> bool {
    let mut values = given.clone();
    for (name, p) in t["Parameters"].as_mapping().expect("Parameters") {
        let (Some(name), Some(default)) = (name.as_str(), p.get("Default")) else {
            continue;
        };
        let default = match default {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => continue,
        };
        values.entry(name).or_insert(default);
    }
    let values = &values;
    t["Rules"]
        .as_mapping()
        .expect("Rules")
        .values()
        .all(|rule| {
            let applies = rule
                .get("RuleCondition")
                .is_none_or(|c| evaluate(c, values) == Rv::Bool(true));
            !applies
                || as_list(&rule["Assertions"])
                    .iter()
                    .all(|a| evaluate(&a["Assert"], values) == Rv::Bool(true))
        })
}

/// The work queue's event source concurrency, as the template sets it.
fn work_queue_concurrency(t: &Value) -> u64 {
    function_properties(t)["Events"]["WorkQueueMessages"]["Properties"]["ScalingConfig"]
        ["MaximumConcurrency"]
        .as_u64()
        .expect("MaximumConcurrency")
}

#[test]
fn the_rule_refuses_every_reserved_concurrency_no_buffer_setting_allows_and_nothing_a_setting_allows(
) {
    let t = template();
    let buffer = &t["Parameters"]["AlarmBufferConcurrency"];
    let (lo, hi) = (
        buffer["MinValue"].as_u64().expect("MinValue"),
        buffer["MaxValue"].as_u64().expect("MaxValue"),
    );
    let queue = work_queue_concurrency(&t);
    let pattern = t["Parameters"]["ReservedConcurrency"]["AllowedPattern"]
        .as_str()
        .expect("pattern");
    assert_eq!(
        pattern, "^$|^[1-9][0-9]{0,3}$",
        "the values enumerated below"
    );
    let mut refused = 0;
    // Every allowed ReservedConcurrency, against the smallest, a middle and the largest AlarmBufferConcurrency, with
    // the buffer on and off; then every AlarmBufferConcurrency against the values around its bound.
    let reserved: Vec<String> = std::iter::once(String::new())
        .chain((1..=9999).map(|n: u64| n.to_string()))
        .collect();
    let mut pairs: Vec<(String, u64)> = Vec::new();
    for r in &reserved {
        for b in [lo, 5, 100, hi] {
            pairs.push((r.clone(), b));
        }
    }
    for b in lo..=hi {
        for r in [b + queue - 1, b + queue, 9999] {
            pairs.push((r.to_string(), b));
        }
    }
    for (r, b) in pairs {
        for on in ["true", "false"] {
            let values = BTreeMap::from([
                ("AlarmBuffer", on.to_string()),
                ("ReservedConcurrency", r.clone()),
                ("AlarmBufferConcurrency", b.to_string()),
            ]);
            let accepted = rules_accept(&t, &values);
            let starves = on == "true" && r.parse::<u64>().is_ok_and(|r| r < b + queue);
            if !accepted {
                refused += 1;
                assert!(
                    starves,
                    "the rule refuses a setting that covers both queues: {values:?}"
                );
            }
            let below_any = on == "true" && r.parse::<u64>().is_ok_and(|r| r < lo + queue);
            if below_any {
                assert!(
                    !accepted,
                    "no AlarmBufferConcurrency allows this, yet the rule accepts it: {values:?}"
                );
            }
        }
    }
    assert!(refused > 0);
    assert_eq!(
        lo + queue,
        12,
        "the rule's list and its description say 12: update them with the bounds"
    );
}

/// Run scripts/check_parameters.py with `args` (samconfig.toml ignored unless given): exit code and stderr.
fn check_parameters(args: &[&str]) -> (i32, String) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/check_parameters.py"
    );
    let mut all = vec!["--samconfig", "none"];
    if args.first() == Some(&"--samconfig") {
        all.clear();
    }
    all.extend_from_slice(args);
    let out = std::process::Command::new("python3")
        .arg(script)
        .args(&all)
        .output()
        .expect("python3 runs (the scripts need it)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_deployment_check_compares_reserved_concurrency_with_the_buffer_and_the_work_queue_exactly() {
    // The template's defaults (buffer off, unreserved) hold.
    assert_eq!(check_parameters(&[]).0, 0);
    // With the buffer on: AlarmBufferConcurrency (5 by default) + the work queue's 10.
    let (code, err) = check_parameters(&["AlarmBuffer=true", "ReservedConcurrency=14"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(
            "ReservedConcurrency=14 is below AlarmBufferConcurrency=5 + the work queue's 10 = 15"
        ),
        "{err}"
    );
    assert_eq!(
        check_parameters(&["AlarmBuffer=true", "ReservedConcurrency=15"]).0,
        0
    );
    assert_eq!(
        check_parameters(&[
            "AlarmBuffer=true",
            "ReservedConcurrency=40",
            "AlarmBufferConcurrency=31"
        ])
        .0,
        1
    );
    // Unreserved, or without the buffer, there is nothing to compare.
    assert_eq!(check_parameters(&["AlarmBuffer=true"]).0, 0);
    assert_eq!(
        check_parameters(&["AlarmBuffer=false", "ReservedConcurrency=3"]).0,
        0
    );
    // A name that is no parameter is a usage error, not a silent pass.
    assert_eq!(check_parameters(&["AlarmBufer=true"]).0, 2);
}

#[test]
fn the_deployment_check_reads_samconfigs_parameter_overrides_as_sam_deploy_does() {
    let dir = std::env::temp_dir().join(format!("ec2ops-samconfig-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("samconfig.toml");
    std::fs::write(
        &path,
        "version = 0.1\n[default.deploy.parameters]\n\
         parameter_overrides = \"AlarmBuffer=true ReservedConcurrency=\\\"20\\\" AlarmBufferConcurrency=11\"\n",
    )
    .expect("write");
    let path = path.to_string_lossy().into_owned();
    let (code, err) = check_parameters(&["--samconfig", &path]);
    assert_eq!(code, 1, "20 < 11 + 10: {err}");
    // An argument overrides samconfig.toml, as `sam deploy --parameter-overrides` does.
    let (code, err) = check_parameters(&["--samconfig", &path, "AlarmBufferConcurrency=10"]);
    assert_eq!(code, 0, "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SAM turns a schedule's `Enabled: <condition>` into `State: ENABLED` whatever the condition holds: the sweep's
/// switch is its `State`, chosen explicitly.
#[test]
fn sweep_enabled_false_turns_the_sweep_schedule_off() {
    let t = template();
    let p = &function_properties(&t)["Events"]["ImpairedInstanceSweep"]["Properties"];
    assert!(p.get("Enabled").is_none(), "{p:?}");
    assert_eq!(p["State"], yaml("!If [SweepOn, ENABLED, DISABLED]"));
    assert_eq!(
        t["Conditions"]["SweepOn"],
        yaml("!Equals [!Ref SweepEnabled, 'true']")
    );
}
