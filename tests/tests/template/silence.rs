//! The optional silence sources and the paging topic in `template.yaml`: each grant exists only when its parameter
//! turns it on, and the parameter reaches the function as its setting.

use serde_yaml::Value;

use super::{actions, function_properties, template, yaml};

/// The function's statements that sit under an `!If`, as (condition, statement).
fn conditional_statements(t: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let Value::Sequence(policies) = &function_properties(t)["Policies"] else {
        return out;
    };
    for policy in policies {
        let Some(Value::Sequence(statements)) = policy.get("Statement") else {
            continue;
        };
        for s in statements {
            if let Value::Tagged(tagged) = s {
                if let Value::Sequence(b) = &tagged.value {
                    if let (Some(c), Some(stmt)) = (b.first().and_then(Value::as_str), b.get(1)) {
                        out.push((c.to_string(), stmt.clone()));
                    }
                }
            }
        }
    }
    out
}

#[test]
fn the_mute_rule_and_change_calendar_reads_are_granted_only_when_their_parameters_turn_them_on() {
    let t = template();
    let under = conditional_statements(&t);
    let grant = |action: &str| {
        under
            .iter()
            .find(|(_, s)| actions(s).iter().any(|a| a == action))
            .map(|(c, s)| (c.clone(), s.clone()))
            .unwrap_or_else(|| panic!("{action} is granted only under an !If"))
    };
    let (mute, s) = grant("cloudwatch:ListAlarmMuteRules");
    assert_eq!(mute, "MuteRulesOn");
    assert_eq!(
        actions(&s),
        [
            "cloudwatch:ListAlarmMuteRules",
            "cloudwatch:DescribeAlarmsForMetric"
        ],
        "read only"
    );
    assert_eq!(
        t["Conditions"]["MuteRulesOn"],
        yaml("!Equals [!Ref MuteRules, \"on\"]")
    );
    assert_eq!(
        t["Parameters"]["MuteRules"]["Default"].as_str(),
        Some("off")
    );

    let (calendars, s) = grant("ssm:GetCalendarState");
    assert_eq!(calendars, "HasChangeCalendars");
    assert_eq!(actions(&s), ["ssm:GetCalendarState"], "read only");
    let arn = serde_yaml::to_string(&s["Resource"]).unwrap_or_default();
    assert!(arn.contains(":document/"), "documents only: {arn}");
    assert_eq!(
        t["Conditions"]["HasChangeCalendars"],
        yaml("!Not [!Equals [!Ref ChangeCalendars, \"\"]]")
    );
    assert_eq!(
        t["Parameters"]["ChangeCalendars"]["Default"].as_str(),
        Some("")
    );

    let vars = &function_properties(&t)["Environment"]["Variables"];
    assert_eq!(
        vars[ec2ops::config::names::MUTE_RULES],
        yaml("!Ref MuteRules")
    );
    assert_eq!(
        vars[ec2ops::config::names::CHANGE_CALENDARS],
        yaml("!Ref ChangeCalendars")
    );
}

#[test]
fn the_paging_topic_is_optional_and_granted_only_when_given() {
    let t = template();
    let (condition, s) = conditional_statements(&t)
        .into_iter()
        .find(|(_, s)| s["Sid"].as_str() == Some("PublishUrgent"))
        .expect("PublishUrgent is granted only under an !If");
    assert_eq!(condition, "HasPagingTopic");
    assert_eq!(actions(&s), ["sns:Publish"]);
    assert_eq!(
        s["Resource"],
        yaml("!Ref PagingTopicArn"),
        "that topic alone"
    );
    assert_eq!(
        t["Conditions"]["HasPagingTopic"],
        yaml("!Not [!Equals [!Ref PagingTopicArn, \"\"]]")
    );
    assert_eq!(
        t["Parameters"]["PagingTopicArn"]["Default"].as_str(),
        Some("")
    );
    let vars = &function_properties(&t)["Environment"]["Variables"];
    assert_eq!(
        vars[ec2ops::config::names::PAGING_TOPIC_ARN],
        yaml("!Ref PagingTopicArn")
    );
}
