//! Approvals from the chat in `template.yaml`: the Chatbot channel's Approve / Deny custom actions (what they run, who
//! may press them, when they exist) and the Slack app's function URL (its two permissions, its settings, its read-only
//! grant). Where the buttons read the nonce is checked against the card itself in `tests/tests/sim/approve_slack.rs`.

use serde_yaml::Value;

use super::{actions, as_list, function_statements, resource, template, yaml};

const FUNCTION_NAME: &str = "${AWS::StackName}-responder";

/// A condition's definition, `!Condition` references expanded one level.
fn condition(t: &Value, name: &str) -> String {
    serde_yaml::to_string(&t["Conditions"][name]).unwrap_or_default()
}

/// With the Slack app answering, its approver list is the gate: Chatbot's role-based buttons, which anyone in the
/// channel can press as the role, are not created beside it.
#[test]
fn the_approve_and_deny_buttons_exist_only_in_approve_mode_with_a_chatbot_channel() {
    let t = template();
    assert!(condition(&t, "ApproveMode").contains("approve"));
    let chat = condition(&t, "ChatApprovals");
    assert!(
        chat.contains("HasSlack") && chat.contains("ApproveMode"),
        "{chat}"
    );
    assert!(
        chat.contains("!Not") && chat.contains("SlackApprovalOn"),
        "the Chatbot buttons exist beside the Slack app: {chat}"
    );
    // And the channel shows them: a custom action appears only in the channels it is associated with.
    let channel = serde_yaml::to_string(
        &t["Resources"]["ChatbotSlackChannel"]["Properties"]["CustomizationResourceArns"],
    )
    .unwrap_or_default();
    assert!(
        channel.contains("ApproveAction.CustomActionArn")
            && channel.contains("DenyAction.CustomActionArn")
            && channel.contains("ChatApprovals"),
        "{channel}"
    );
    for id in ["ApproveAction", "DenyAction", "ApprovalInvokePolicy"] {
        assert_eq!(
            t["Resources"][id]["Condition"].as_str(),
            Some("ChatApprovals"),
            "{id}"
        );
    }
}

/// The JSON a button's command sends, with Chatbot's `$approval` and the role's ARN filled in.
fn payload_of(command: &str, nonce: &str) -> serde_json::Value {
    let (_, payload) = command
        .split_once("--payload ")
        .unwrap_or_else(|| panic!("no --payload in {command}"));
    let filled = payload.trim().replace("$approval", nonce).replace(
        "${ChatbotChannelRole.Arn}",
        "arn:aws:iam::123456789012:role/ec2ops-ChatbotChannelRole-X",
    );
    serde_json::from_str(&filled).unwrap_or_else(|e| panic!("{filled}: {e}"))
}

#[test]
fn each_button_invokes_the_responder_with_an_answer_its_handler_reads_as_that_decision_by_the_channel_role(
) {
    let t = template();
    let nonce = "0123456789abcdef0123456789abcdef";
    for (id, decision, button) in [
        (
            "ApproveAction",
            ec2ops::remediation::approval::Verdict::Approve,
            "Approve",
        ),
        (
            "DenyAction",
            ec2ops::remediation::approval::Verdict::Deny,
            "Deny",
        ),
    ] {
        let r = resource(&t, id, "AWS::Chatbot::CustomAction");
        let p = &r["Properties"];
        let name = serde_yaml::to_string(&p["ActionName"]).unwrap_or_default();
        assert!(name.contains("${AWS::StackName}-"), "{id}: {name}");
        let alias = p["AliasName"].as_str().unwrap_or_default();
        assert!(
            !alias.is_empty()
                && alias.len() <= 30
                && alias
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}: alias {alias:?}"
        );
        let Value::Tagged(sub) = &p["Definition"]["CommandText"] else {
            panic!("{id}: CommandText is a !Sub")
        };
        let command = sub.value.as_str().unwrap_or_default();
        assert!(
            command.starts_with(&format!("lambda invoke --function-name {FUNCTION_NAME} ")),
            "{id}: {command}"
        );
        let answer = ec2ops::remediation::approval::answer_request(&payload_of(command, nonce))
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(answer.nonce.to_string(), nonce, "{id}");
        assert_eq!(answer.verdict, decision, "{id}");
        assert!(
            matches!(&answer.by, ec2ops::remediation::approval::Approver::ChatbotRole(r) if r.contains(":role/")),
            "{id}: the approver is the channel's role: {:?}",
            answer.by
        );
        let attachments = as_list(&p["Attachments"]);
        assert_eq!(attachments.len(), 1, "{id}");
        let a = &attachments[0];
        assert_eq!(a["ButtonText"].as_str(), Some(button), "{id}");
        assert!(button.chars().count() <= 50);
        assert_eq!(a["NotificationType"].as_str(), Some("custom"), "{id}");
    }
}

#[test]
fn only_the_channels_role_may_invoke_the_responder_and_only_the_responder() {
    let t = template();
    let policy = resource(&t, "ApprovalInvokePolicy", "AWS::IAM::ManagedPolicy");
    let statements = as_list(&policy["Properties"]["PolicyDocument"]["Statement"]);
    assert_eq!(statements.len(), 1);
    assert_eq!(actions(&statements[0]), ["lambda:InvokeFunction"]);
    let resource_arn = serde_yaml::to_string(&statements[0]["Resource"]).unwrap_or_default();
    assert!(
        resource_arn.contains(&format!(":function:{FUNCTION_NAME}")) && !resource_arn.contains('*'),
        "{resource_arn}"
    );
    // Attached to the channel's role, and the channel's guardrail allows it (no user role can do more with Lambda).
    let on_role = yaml("!If [ChatApprovals, !Ref ApprovalInvokePolicy, !Ref AWS::NoValue]");
    assert!(
        as_list(&t["Resources"]["ChatbotChannelRole"]["Properties"]["ManagedPolicyArns"])
            .contains(&on_role)
    );
    assert!(
        as_list(&t["Resources"]["ChatbotSlackChannel"]["Properties"]["GuardrailPolicies"])
            .contains(&on_role)
    );
    // Nothing else in the template grants lambda:InvokeFunction to a role.
    let mut all = Vec::new();
    super::statements(&t, &mut all);
    let invokers = all
        .iter()
        .filter(|s| actions(s).iter().any(|a| a == "lambda:InvokeFunction"))
        .count();
    assert_eq!(
        invokers, 2,
        "the channel's policy and the scheduler role's, nothing else"
    );
}

#[test]
fn the_slack_function_url_is_optional_unauthenticated_and_granted_both_permissions() {
    let t = template();
    let on = condition(&t, "SlackApprovalOn");
    assert!(
        on.contains("ApproveMode")
            && on.contains("SlackApproval")
            && on.contains("SlackAppParameter"),
        "{on}"
    );
    assert_eq!(
        t["Parameters"]["SlackApproval"]["Default"].as_str(),
        Some("disabled")
    );
    let url = resource(&t, "SlackApprovalUrl", "AWS::Lambda::Url");
    assert_eq!(url["Condition"].as_str(), Some("SlackApprovalOn"));
    assert_eq!(url["Properties"]["AuthType"].as_str(), Some("NONE"));
    assert_eq!(
        url["Properties"]["TargetFunctionArn"],
        yaml("!GetAtt ResponderFunction.Arn")
    );
    let url_permission = resource(&t, "SlackApprovalUrlPermission", "AWS::Lambda::Permission");
    let p = &url_permission["Properties"];
    assert_eq!(
        url_permission["Condition"].as_str(),
        Some("SlackApprovalOn")
    );
    assert_eq!(p["Action"].as_str(), Some("lambda:InvokeFunctionUrl"));
    assert_eq!(p["Principal"].as_str(), Some("*"));
    assert_eq!(p["FunctionUrlAuthType"].as_str(), Some("NONE"));
    let invoke = resource(
        &t,
        "SlackApprovalInvokePermission",
        "AWS::Lambda::Permission",
    );
    let p = &invoke["Properties"];
    assert_eq!(invoke["Condition"].as_str(), Some("SlackApprovalOn"));
    assert_eq!(p["Action"].as_str(), Some("lambda:InvokeFunction"));
    assert_eq!(p["Principal"].as_str(), Some("*"));
    assert_eq!(
        p["InvokedViaFunctionUrl"].as_bool(),
        Some(true),
        "anyone may invoke through the URL, nobody directly"
    );
}

#[test]
fn the_function_may_read_the_slack_apps_parameter_and_nothing_else_in_ssm_parameter_store() {
    let t = template();
    let vars = &t["Resources"]["ResponderFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        vars[ec2ops::config::names::SLACK_APP_PARAMETER],
        yaml("!If [SlackApprovalOn, !Ref SlackAppParameter, \"\"]")
    );
    let reads: Vec<Value> = function_statements(&t)
        .into_iter()
        .filter(|s| {
            actions(s)
                .iter()
                .any(|a| a.starts_with("ssm:") && a.contains("Parameter"))
        })
        .collect();
    assert_eq!(reads.len(), 1, "{reads:?}");
    assert_eq!(actions(&reads[0]), ["ssm:GetParameter"], "read only");
    let arn = serde_yaml::to_string(&reads[0]["Resource"]).unwrap_or_default();
    assert!(arn.contains(":parameter${SlackAppParameter}"), "{arn}");
    // Only under the condition: the whole statement is an !If on SlackApprovalOn.
    let props =
        serde_yaml::to_string(&t["Resources"]["ResponderFunction"]["Properties"]["Policies"])
            .unwrap_or_default();
    let at = props.find("ReadSlackAppSettings").unwrap_or(0);
    assert!(
        props[..at]
            .rfind("SlackApprovalOn")
            .is_some_and(|c| at - c < 120),
        "ReadSlackAppSettings is granted only with SlackApprovalOn"
    );
}

#[test]
fn the_slack_app_needs_its_parameter_and_approve_mode_or_the_stack_is_refused() {
    let t = template();
    let accepts = |slack: &str, parameter: &str, mode: &str| {
        super::operations::rules_accept(
            &t,
            &std::collections::BTreeMap::from([
                ("SlackApproval", slack.to_string()),
                ("SlackAppParameter", parameter.to_string()),
                ("RemediationMode", mode.to_string()),
            ]),
        )
    };
    assert!(accepts("enabled", "/ec2ops/slack-app", "approve"));
    assert!(
        !accepts("enabled", "", "approve"),
        "no secret, no approvers"
    );
    assert!(
        !accepts("enabled", "/ec2ops/slack-app", "auto"),
        "nothing to approve"
    );
    assert!(accepts("disabled", "", "dry-run"));
    assert!(
        accepts("disabled", "", "approve"),
        "Chatbot's buttons alone"
    );
}
