//! `template.yaml` against the code: every setting is passed, the function's IAM policy grants exactly the AWS
//! operations the adapters call (read from their source, `aws/src/*.rs`), mutating EC2 calls are allowed only
//! on instances that carry the opt-in tag, only the function may publish to the report topic, and the binary SAM
//! builds exists; the stack's own alarms, the heartbeat's schedule and the ReservedConcurrency check are in
//! `operations.rs`. (`cfn-lint` runs in scripts/test.sh for validity.)
//!
//! What the IAM comparison does not see, because SAM adds it to the role outside the template's text: the
//! `AWSLambdaBasicExecutionRole` managed policy (CloudWatch Logs), `AWSLambdaSQSQueueExecutionRole` for the SQS event
//! source (Lambda itself polls the work queue with the role), and `sqs:SendMessage` on the failed-events queue for
//! the on-failure destination. None of them is called by the adapters. Nor is the alarm buffer's polling
//! (`PollAlarmBuffer`, Lambda's event source mapping with the role), which `buffer.rs` checks on its own.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;

mod approval;
mod buffer;
mod calls;
pub(crate) mod operations;
mod silence;
use calls::*;

fn template_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml")
}

fn template() -> Value {
    serde_yaml::from_str(&template_text()).expect("template.yaml is YAML")
}

/// A YAML value written the way the template writes it (`!GetAtt X.Arn`, `!Sub …`).
fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).expect("YAML")
}

/// Every IAM statement anywhere in the template.
fn statements(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Mapping(m) => {
            for (k, child) in m {
                if k.as_str() == Some("Statement") {
                    if let Value::Sequence(items) = child {
                        out.extend(items.iter().cloned());
                    }
                }
                statements(child, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|i| statements(i, out)),
        Value::Tagged(t) => statements(&t.value, out),
        _ => {}
    }
}

fn actions(statement: &Value) -> Vec<String> {
    match statement.get("Action") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Sequence(list)) => list
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn opt_in_tag() -> String {
    let t = template();
    let vars = &t["Resources"]["ResponderFunction"]["Properties"]["Environment"]["Variables"];
    vars["EC2OPS_OPT_IN_TAG"]
        .as_str()
        .expect("EC2OPS_OPT_IN_TAG is a literal")
        .to_string()
}

#[test]
fn every_setting_is_passed_to_the_function() {
    let t = template();
    let vars = &t["Resources"]["ResponderFunction"]["Properties"]["Environment"]["Variables"];
    for name in ec2ops::config::names::ALL {
        assert!(!vars[name].is_null(), "template.yaml does not set {name}");
    }
}

/// An EC2 action that changes something (not Describe*/Get*/List*).
fn is_ec2_write(action: &str) -> bool {
    action.strip_prefix("ec2:").is_some_and(|op| {
        !["Describe", "Get", "List"]
            .iter()
            .any(|read| op.starts_with(read))
    })
}

#[test]
fn mutating_ec2_actions_are_allowed_only_on_opted_in_instances() {
    let mut all = Vec::new();
    statements(&template(), &mut all);
    assert!(!all.is_empty());
    let tag_condition = format!("aws:ResourceTag/{}", opt_in_tag());
    let mut granted_writes = BTreeSet::new();
    for s in &all {
        for a in actions(s) {
            assert_ne!(a, "*", "a wildcard action: {s:?}");
            assert!(
                !(a.starts_with("ec2:") && a.contains('*')),
                "a wildcard EC2 action: {s:?}"
            );
            if !is_ec2_write(&a) {
                continue;
            }
            let value = &s["Condition"]["StringEquals"][tag_condition.as_str()];
            assert_eq!(
                value.as_str(),
                Some("true"),
                "{a} is allowed without the {tag_condition} condition: {s:?}"
            );
            assert_eq!(
                s["Resource"],
                yaml("!Sub arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"),
                "{a} is allowed on more than instances: {s:?}"
            );
            assert!(
                [
                    "ec2:RebootInstances",
                    "ec2:StopInstances",
                    "ec2:StartInstances"
                ]
                .contains(&a.as_str()),
                "unexpected EC2 write permission {a}"
            );
            granted_writes.insert(a);
        }
    }
    let called_writes: BTreeSet<String> = adapter_needs()
        .into_keys()
        .filter(|a| is_ec2_write(a))
        .collect();
    assert_eq!(
        granted_writes, called_writes,
        "the EC2 writes granted (under the condition) are exactly the ones the remediator calls"
    );
    assert_eq!(granted_writes.len(), 3, "reboot, stop and start");
}

#[test]
fn the_opt_in_tag_of_the_template_is_the_code_default() {
    assert_eq!(opt_in_tag(), ec2ops::config::Envelope::default().opt_in_tag);
}

#[test]
fn sam_builds_the_responder_binary_with_cargo_lambda_on_al2023() {
    let t = template_text();
    assert!(t.contains("BuildMethod: rust-cargolambda"));
    assert!(t.contains("Binary: responder"));
    assert!(t.contains("provided.al2023"));
    let manifest = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../functions/responder/Cargo.toml"
    ))
    .expect("manifest");
    assert!(manifest.contains("name = \"responder\""));
}

#[test]
fn the_template_ships_exactly_the_diagnostics_document_the_parser_is_tested_against() {
    let doc: Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/ssm-diagnostics.yaml"
        ))
        .expect("doc"),
    )
    .expect("YAML");
    let t = template();
    let shipped = &t["Resources"]["DiagnosticsDocument"]["Properties"]["Content"];
    assert_eq!(shipped, &doc);
    assert!(
        !serde_yaml::to_string(shipped).unwrap().contains("{{"),
        "the document takes no parameters"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// What the template grants the function
// ---------------------------------------------------------------------------------------------------------------

fn function_properties(t: &Value) -> &Value {
    &t["Resources"]["ResponderFunction"]["Properties"]
}

/// The statements of the function's inline policies; a `!If` statement counts with both branches. Anything in
/// `Policies` that is not an inline document (a managed policy, a SAM policy template) grants actions this file
/// cannot see, and is refused.
fn function_statements(t: &Value) -> Vec<Value> {
    let props = function_properties(t);
    assert!(
        props.get("Role").is_none(),
        "the function names its own Role: its permissions are no longer the Policies checked here"
    );
    let policies = match &props["Policies"] {
        Value::Sequence(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut out = Vec::new();
    for policy in policies {
        let Some(Value::Sequence(statements)) = policy.get("Statement") else {
            panic!(
                "the function's Policies hold only inline documents (explicit statements); found {policy:?}, \
                 which grants actions the IAM test cannot compare with the code"
            );
        };
        for s in statements {
            match s {
                Value::Tagged(t) if t.tag == "If" => {
                    if let Value::Sequence(branches) = &t.value {
                        out.extend(branches.iter().skip(1).filter(|b| b.is_mapping()).cloned());
                    }
                }
                other => out.push(other.clone()),
            }
        }
    }
    out
}

/// IAM action → Sids of the function's Allow statements that grant it.
fn granted(t: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in function_statements(t) {
        assert!(
            s.get("NotAction").is_none(),
            "NotAction grants everything else: {s:?}"
        );
        if s["Effect"].as_str() != Some("Allow") {
            continue;
        }
        let sid = s["Sid"].as_str().unwrap_or("(no Sid)").to_string();
        if sid == buffer::POLL_SID {
            continue; // Lambda's, not the adapters' (buffer.rs)
        }
        for a in actions(&s) {
            out.entry(a).or_default().insert(sid.clone());
        }
    }
    out
}

/// The difference between what the code needs and what the template grants, as a readable report; empty when they
/// agree.
fn iam_difference(needs: &Needs, granted: &BTreeMap<String, BTreeSet<String>>) -> String {
    let mut report = String::new();
    let pending: BTreeSet<&str> = PENDING.iter().copied().collect();
    let missing: Vec<_> = needs
        .iter()
        .filter(|(a, _)| !granted.contains_key(*a))
        .collect();
    if !missing.is_empty() {
        report.push_str(
            "called by the adapters but not granted to ResponderFunction in template.yaml \
             (add it to its Policies):\n",
        );
        for (a, origins) in missing {
            let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
            report.push_str(&format!("  + {a}    <- {}\n", origins.join(", ")));
        }
    }
    let unused: Vec<_> = granted
        .iter()
        .filter(|(a, _)| !needs.contains_key(*a) && !pending.contains(a.as_str()))
        .collect();
    if !unused.is_empty() {
        report.push_str(
            "granted to ResponderFunction but called by no adapter (remove it, or list it in PENDING if its \
             adapter is on the way):\n",
        );
        for (a, sids) in unused {
            let sids: Vec<&str> = sids.iter().map(String::as_str).collect();
            report.push_str(&format!("  - {a}    in {}\n", sids.join(", ")));
        }
    }
    let landed: Vec<_> = PENDING.iter().filter(|a| needs.contains_key(**a)).collect();
    if !landed.is_empty() {
        report.push_str(
            "called by the adapters now: remove from PENDING in tests/tests/template.rs:\n",
        );
        for a in landed {
            report.push_str(&format!("  * {a}    <- {:?}\n", needs[*a]));
        }
    }
    let ungranted: Vec<_> = PENDING
        .iter()
        .filter(|a| !granted.contains_key(**a))
        .collect();
    if !ungranted.is_empty() {
        report.push_str("in PENDING but not granted (grant it, or drop it from PENDING):\n");
        for a in ungranted {
            report.push_str(&format!("  ? {a}\n"));
        }
    }
    report
}

#[test]
fn the_function_is_granted_exactly_the_aws_operations_the_adapters_call() {
    let t = template();
    let report = iam_difference(&adapter_needs(), &granted(&t));
    assert!(report.is_empty(), "IAM does not match the code:\n{report}");
}

#[test]
fn nothing_else_in_the_template_attaches_permissions_to_the_function_role() {
    let t = template();
    for (id, r) in t["Resources"].as_mapping().expect("Resources") {
        let ty = r["Type"].as_str().unwrap_or_default();
        if matches!(
            ty,
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "AWS::IAM::RolePolicy"
        ) {
            let body = serde_yaml::to_string(r).unwrap();
            assert!(
                !body.contains("ResponderFunctionRole"),
                "{id:?} ({ty}) attaches permissions to the function's role outside its Policies"
            );
        }
    }
}

#[test]
fn the_derivation_sees_every_kind_of_call_in_the_real_adapters() {
    let needs = adapter_needs();
    for (action, why) in [
        ("ec2:DescribeInstances", "a chain over several lines"),
        ("ec2:DescribeInstanceStatus", "a paginator"),
        ("cloudwatch:ListMetrics", "the CWAgent metrics"),
        ("ec2:RebootInstances", "an operation named through a macro"),
        ("ec2:StopInstances", "an operation named through a macro"),
        ("ec2:StartInstances", "an operation named through a macro"),
        ("ssm:GetCommandInvocation", "a builder sent under a timeout"),
        ("iam:PassRole", "a dependent action of CreateSchedule"),
    ] {
        assert!(
            needs.contains_key(action),
            "{action} ({why}) not found in aws/src; found {:?}",
            needs.keys().collect::<Vec<_>>()
        );
    }
}

/// A second adapter directory, made up, with every shape the reader must handle.
fn made_up_adapters() -> Vec<(String, String)> {
    vec![
        (
            "ec2.rs".into(),
            r#"
            use aws_sdk_ec2::Client;
            // self.client.terminate_instances().send()   <- a comment is no call
            /* self.client.delete_volume().send() */
            const NOTE: &str = "self.client.create_image().send() (";
            async fn a(&self) {
                let out = self
                    .client
                    .describe_snapshots()
                    .owner_ids("self")
                    .send()
                    .await?;
                let mut pages = self.client.describe_images().into_paginator().send();
                let c = '(';
                let q = ['\'', ')', '\u{28}'];
            }
            macro_rules! act {
                ($self:ident, $call:ident, $op:literal) => {{ $self.client.$call().dry_run(true).send().await }};
            }
            async fn b(&self) { act!(self, modify_instance_attribute, "ModifyInstanceAttribute") }
            "#
            .into(),
        ),
        (
            "ledger.rs".into(),
            r#"
            use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
            use aws_sdk_sqs as _;
            async fn c(&self) {
                let claim = TransactWriteItem::builder().put(Put::builder().build()?).build();
                let cap = TransactWriteItem::builder()
                    .condition_check(ConditionCheck::builder().build()?)
                    .build();
                self.dynamodb.transact_write_items().transact_items(claim).send().await?;
                self.sqs_client.send_message().queue_url(&self.url).send().await?;
            }
            "#
            .into(),
        ),
        (
            "scheduler.rs".into(),
            "use aws_sdk_scheduler::Client; async fn d(&self) { self.client.create_schedule().send().await }"
                .into(),
        ),
        (
            // Two SDK crates and a receiver that names neither: the directory names the service.
            "sqs/mod.rs".into(),
            "use aws_sdk_sqs::Client; use aws_sdk_sns as _; \
             async fn g(&self) { self.client.delete_message().send().await }"
                .into(),
        ),
    ]
}

#[test]
fn the_call_reader_handles_chains_paginators_macros_transactions_and_ignores_comments_and_strings()
{
    let needs = derive_needs(&made_up_adapters()).expect("readable");
    let found: Vec<&str> = needs.keys().map(String::as_str).collect();
    assert_eq!(
        found,
        [
            "dynamodb:ConditionCheckItem",
            "dynamodb:PutItem",
            "ec2:DescribeImages",
            "ec2:DescribeSnapshots",
            "ec2:ModifyInstanceAttribute",
            "iam:PassRole",
            "scheduler:CreateSchedule",
            "sqs:DeleteMessage",
            "sqs:SendMessage",
        ]
    );
    assert_eq!(
        needs["dynamodb:PutItem"],
        BTreeSet::from(["ledger.rs: transact_write_items".to_string()])
    );
}

#[test]
fn a_call_that_cannot_be_read_is_reported_not_skipped() {
    let problems = derive_needs(&[(
        "mixed.rs".into(),
        "use aws_sdk_ec2 as a; use aws_sdk_sns as b; async fn e(&self) { let r = self.c.publish(); \
         r.send().await; self.inner.describe_regions().send().await }"
            .into(),
    )])
    .expect_err("unreadable");
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("cannot tell which operation `r.send()`"));
    assert!(problems[1].contains("which service?"));
}

#[test]
fn an_ungranted_call_and_an_uncalled_grant_are_both_reported() {
    let t = template();
    let mut files = adapter_sources();
    files.push((
        "ec2_more.rs".into(),
        "use aws_sdk_ec2::Client; async fn f(&self) { self.client.describe_snapshots().send().await }"
            .into(),
    ));
    let needs = derive_needs(&files).expect("readable");
    let mut grants = granted(&t);
    grants
        .entry("ec2:TerminateInstances".into())
        .or_default()
        .insert("Extra".into());
    let report = iam_difference(&needs, &grants);
    assert!(
        report.contains("  + ec2:DescribeSnapshots    <- ec2_more.rs: describe_snapshots\n"),
        "{report}"
    );
    assert!(
        report.contains("  - ec2:TerminateInstances    in Extra\n"),
        "{report}"
    );
    assert_eq!(
        report.lines().filter(|l| l.starts_with("  ")).count(),
        2,
        "{report}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Resource policies, trust, concurrency, the work queue
// ---------------------------------------------------------------------------------------------------------------

fn resource<'a>(t: &'a Value, id: &str, ty: &str) -> &'a Value {
    let r = &t["Resources"][id];
    assert_eq!(r["Type"].as_str(), Some(ty), "{id} is a {ty}");
    r
}

fn as_list(v: &Value) -> Vec<Value> {
    match v {
        Value::Sequence(items) => items.clone(),
        Value::Null => vec![],
        other => vec![other.clone()],
    }
}

#[test]
fn only_the_function_role_may_publish_to_the_report_topic() {
    let t = template();
    let policy = resource(&t, "ReportTopicPolicy", "AWS::SNS::TopicPolicy");
    assert_eq!(
        as_list(&policy["Properties"]["Topics"]),
        vec![yaml("!Ref ReportTopic")]
    );
    let statements = as_list(&policy["Properties"]["PolicyDocument"]["Statement"]);
    let publishes = |s: &Value| {
        actions(s)
            .iter()
            .any(|a| a == "sns:Publish" || a == "sns:*")
    };
    // The deny: everybody whose principal ARN is not the function's role.
    let denies: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Deny") && publishes(s))
        .collect();
    assert_eq!(denies.len(), 1, "one deny of sns:Publish: {statements:?}");
    let deny = denies[0];
    assert!(
        deny["Principal"] == yaml("'*'") || deny["Principal"]["AWS"] == yaml("'*'"),
        "the deny applies to every principal: {deny:?}"
    );
    assert_eq!(deny["Resource"], yaml("!Ref ReportTopic"));
    assert_eq!(
        deny["Condition"],
        yaml("ArnNotEquals: {aws:PrincipalArn: !GetAtt ResponderFunctionRole.Arn}"),
        "the deny spares the function's role and nobody else"
    );
    // Allows: only the function's role, and only to publish.
    for s in statements
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
    {
        assert_eq!(
            s["Principal"],
            yaml("AWS: !GetAtt ResponderFunctionRole.Arn"),
            "the topic policy allows only the function's role: {s:?}"
        );
        assert_eq!(actions(s), ["sns:Publish"], "{s:?}");
    }
    // The role named is the one SAM creates for the function (it has no Role of its own).
    assert!(function_properties(&t).get("Role").is_none());
}

#[test]
fn only_the_function_role_may_send_to_the_work_queue() {
    let t = template();
    let policy = resource(&t, "WorkQueuePolicy", "AWS::SQS::QueuePolicy");
    assert_eq!(
        as_list(&policy["Properties"]["Queues"]),
        vec![yaml("!Ref WorkQueue")]
    );
    let statements = as_list(&policy["Properties"]["PolicyDocument"]["Statement"]);
    let denies: Vec<&Value> = statements
        .iter()
        .filter(|s| {
            s["Effect"].as_str() == Some("Deny")
                && actions(s)
                    .iter()
                    .any(|a| a == "sqs:SendMessage" || a == "sqs:*")
        })
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
    assert_eq!(deny["Resource"], yaml("!GetAtt WorkQueue.Arn"));
    assert_eq!(
        deny["Condition"],
        yaml("ArnNotEquals: {aws:PrincipalArn: !GetAtt ResponderFunctionRole.Arn}"),
        "the deny spares the function's role and nobody else"
    );
    assert!(
        statements.iter().all(|s| s["Effect"].as_str() == Some("Deny")),
        "the policy grants nothing: the function's role sends by its own IAM policy: {statements:?}"
    );
}

/// The schedule group the scheduler adapter creates its schedules in (`.group_name("…")`, or the default group).
fn schedule_group() -> String {
    let src = adapter_source("scheduler.rs");
    match src.find(".group_name(") {
        None => "default".into(),
        Some(at) => {
            let rest = &src[at + ".group_name(".len()..];
            let literal = rest
                .trim_start()
                .strip_prefix('"')
                .and_then(|r| r.split('"').next())
                .expect("the schedule group is a string literal in scheduler.rs");
            literal.to_string()
        }
    }
}

/// The fixed start of the schedule names the scheduler adapter creates (`ec2ops-verify-`).
fn schedule_name_prefix() -> String {
    let src = adapter_source("scheduler.rs");
    let at = src
        .find("\"ec2ops-")
        .expect("scheduler.rs names its schedules ec2ops-…");
    src[at + 1..].split(['{', '"']).next().unwrap().to_string()
}

#[test]
fn the_scheduler_role_trusts_only_this_accounts_schedules_in_the_functions_group() {
    let t = template();
    let role = resource(&t, "VerifySchedulerRole", "AWS::IAM::Role");
    let trust = as_list(&role["Properties"]["AssumeRolePolicyDocument"]["Statement"]);
    assert_eq!(trust.len(), 1, "{trust:?}");
    let s = &trust[0];
    assert_eq!(s["Principal"], yaml("Service: scheduler.amazonaws.com"));
    assert_eq!(actions(s), ["sts:AssumeRole"]);
    assert_eq!(
        s["Condition"]["StringEquals"]["aws:SourceAccount"],
        yaml("!Ref AWS::AccountId")
    );
    // Scheduler sets aws:SourceArn to the schedule group's ARN (never a schedule's).
    assert_eq!(
        s["Condition"]["ArnEquals"]["aws:SourceArn"],
        yaml(&format!(
            "!Sub arn:${{AWS::Partition}}:scheduler:${{AWS::Region}}:${{AWS::AccountId}}:schedule-group/{}",
            schedule_group()
        ))
    );
    // And the function may create (and delete) only the schedules the adapter names, in that group.
    let expected = yaml(&format!(
        "!Sub arn:${{AWS::Partition}}:scheduler:${{AWS::Region}}:${{AWS::AccountId}}:schedule/{}/{}*",
        schedule_group(),
        schedule_name_prefix()
    ));
    let scheduler_statements: Vec<Value> = function_statements(&t)
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("scheduler:")))
        .collect();
    assert!(!scheduler_statements.is_empty());
    for s in scheduler_statements {
        assert_eq!(s["Resource"], expected, "{s:?}");
    }
}

#[test]
fn reserved_concurrency_is_optional_and_left_out_when_empty() {
    let t = template();
    let p = &t["Parameters"]["ReservedConcurrency"];
    assert_eq!(
        p["Type"].as_str(),
        Some("String"),
        "a Number cannot be empty"
    );
    assert_eq!(p["Default"].as_str(), Some(""), "unreserved by default");
    let pattern = p["AllowedPattern"].as_str().expect("a pattern");
    assert!(pattern.starts_with("^$|"), "empty is allowed: {pattern}");
    assert_eq!(
        t["Conditions"]["HasReservedConcurrency"],
        yaml("!Not [!Equals [!Ref ReservedConcurrency, '']]")
    );
    assert_eq!(
        function_properties(&t)["ReservedConcurrentExecutions"],
        yaml("!If [HasReservedConcurrency, !Ref ReservedConcurrency, !Ref AWS::NoValue]")
    );
}

#[test]
fn the_work_queue_feeds_the_function_one_message_at_a_time_and_dead_letters_into_the_failed_events_queue(
) {
    let t = template();
    let queue = resource(&t, "WorkQueue", "AWS::SQS::Queue");
    let q = &queue["Properties"];
    assert_eq!(
        q["RedrivePolicy"]["deadLetterTargetArn"],
        yaml("!GetAtt FailedEventsQueue.Arn")
    );
    assert!(q["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap_or(0) >= 1);
    // Lambda refuses an SQS event source whose visibility timeout is shorter than the function's timeout.
    let timeout = function_properties(&t)["Timeout"]
        .as_u64()
        .expect("Timeout");
    let visibility = q["VisibilityTimeout"].as_u64().expect("VisibilityTimeout");
    assert!(
        visibility >= timeout,
        "visibility {visibility} s < function timeout {timeout} s"
    );
    assert_eq!(q["SqsManagedSseEnabled"].as_bool(), Some(true));
    // The dead-letter queue must keep messages longer than the work queue (a dead letter keeps its first
    // enqueue time).
    let retention = |r: &Value| {
        r["Properties"]["MessageRetentionPeriod"]
            .as_u64()
            .unwrap_or(345_600)
    };
    assert!(retention(queue) < retention(&t["Resources"]["FailedEventsQueue"]));

    let events = function_properties(&t)["Events"]
        .as_mapping()
        .expect("Events");
    let sqs: Vec<&Value> = events
        .values()
        .filter(|e| e["Type"].as_str() == Some("SQS"))
        .collect();
    assert_eq!(sqs.len(), 1, "one SQS event source");
    let e = &sqs[0]["Properties"];
    assert_eq!(e["Queue"], yaml("!GetAtt WorkQueue.Arn"));
    assert_eq!(e["BatchSize"].as_u64(), Some(1));
    assert_eq!(
        e["FunctionResponseTypes"],
        yaml("[ReportBatchItemFailures]")
    );
    // A storm's fan-out is capped (API rate limits): docs/deploy.md promises 10 at once.
    assert_eq!(e["ScalingConfig"]["MaximumConcurrency"].as_u64(), Some(10));

    assert_eq!(
        function_properties(&t)["Environment"]["Variables"]["EC2OPS_WORK_QUEUE_URL"],
        yaml("!Ref WorkQueue")
    );
    // The function sends to the work queue and to nothing else (polling the alarm buffer: buffer.rs).
    for s in function_statements(&t) {
        if s["Sid"].as_str() == Some(buffer::POLL_SID) {
            continue;
        }
        if actions(&s).iter().any(|a| a.starts_with("sqs:")) {
            assert_eq!(actions(&s), ["sqs:SendMessage"], "{s:?}");
            assert_eq!(s["Resource"], yaml("!GetAtt WorkQueue.Arn"), "{s:?}");
        }
    }
}

#[test]
fn every_rule_with_a_dead_letter_queue_may_send_to_it() {
    let t = template();
    let policy = resource(&t, "FailedEventsQueuePolicy", "AWS::SQS::QueuePolicy");
    let allowed: Vec<Value> = as_list(&policy["Properties"]["PolicyDocument"]["Statement"])
        .iter()
        .flat_map(|s| as_list(&s["Condition"]["ArnEquals"]["aws:SourceArn"]))
        .collect();
    let events = function_properties(&t)["Events"]
        .as_mapping()
        .expect("Events");
    let mut with_dlq = 0;
    for (name, e) in events {
        if e["Properties"]["DeadLetterConfig"].is_null() {
            continue;
        }
        with_dlq += 1;
        let name = name.as_str().expect("event name");
        let rule = yaml(&format!("!GetAtt ResponderFunction{name}.Arn"));
        assert!(
            allowed.contains(&rule),
            "rule {name} has a dead-letter queue but the queue policy does not let it send: {allowed:?}"
        );
    }
    assert!(
        with_dlq >= 6,
        "every EventBridge rule has a dead-letter queue ({with_dlq})"
    );
}

/// A template parameter's default, as text.
fn parameter_default(t: &Value, name: &str) -> String {
    let d = &t["Parameters"][name]["Default"];
    d.as_str()
        .map(str::to_string)
        .or_else(|| d.as_u64().map(|n| n.to_string()))
        .unwrap_or_else(|| panic!("parameter {name} has a default"))
}

#[test]
fn the_template_defaults_are_the_code_defaults() {
    let t = template();
    let s = ec2ops::config::Settings::default();
    let pairs = [
        (
            "CooldownMinutes",
            s.envelope.cooldown.num_minutes().to_string(),
        ),
        ("DailyCap", s.envelope.daily_cap.to_string()),
        ("HourlyCap", s.envelope.hourly_cap.to_string()),
        ("SettleSeconds", s.settle.as_secs().to_string()),
        (
            "ChangeWindowMinutes",
            s.change_window.num_minutes().to_string(),
        ),
        ("VerifyMinutes", s.verify_after.num_minutes().to_string()),
        (
            "ApprovalMinutes",
            s.approval_expiry.num_minutes().to_string(),
        ),
        (
            "RecheckMinutes",
            s.recheck_after.map_or(0, |d| d.num_minutes()).to_string(),
        ),
        ("SourceTimeoutMs", s.source_timeout.as_millis().to_string()),
        (
            "DiagnosticsTimeoutMs",
            s.diagnostics_timeout.as_millis().to_string(),
        ),
        (
            "MetricWindowMinutes",
            s.metric_window.num_minutes().to_string(),
        ),
        ("RemediationMode", s.remediation.as_str().to_string()),
        ("TimeZone", s.time_zone.name().to_string()),
    ];
    for (parameter, code) in pairs {
        assert_eq!(parameter_default(&t, parameter), code, "{parameter}");
    }
    assert_eq!(parameter_default(&t, "ReportLanguage"), "ko");
    assert_eq!(s.language, ec2ops::config::Language::Ko);
}

#[test]
fn a_failed_invocation_is_retried_twice_within_an_hour_then_kept_in_the_failed_events_queue() {
    let t = template();
    let c = &function_properties(&t)["EventInvokeConfig"];
    assert_eq!(c["MaximumRetryAttempts"].as_u64(), Some(2));
    assert_eq!(c["MaximumEventAgeInSeconds"].as_u64(), Some(3600));
    assert_eq!(
        c["DestinationConfig"]["OnFailure"]["Type"].as_str(),
        Some("SQS")
    );
    assert_eq!(
        c["DestinationConfig"]["OnFailure"]["Destination"],
        yaml("!GetAtt FailedEventsQueue.Arn")
    );
    // The function's timeout leaves room for the lease: deadline + 10 s is over before Lambda's first retry
    // (about a minute later).
    let timeout = function_properties(&t)["Timeout"]
        .as_u64()
        .expect("Timeout");
    assert!(timeout <= 90, "timeout {timeout} s");
}
