//! `template.yaml` against the code: every setting is passed, mutating EC2 calls are allowed only on instances that
//! carry the opt-in tag, and the binary SAM builds exists. (`cfn-lint` runs in scripts/test.sh for validity.)

use serde_yaml::Value;

fn template_text() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml")
}

fn template() -> Value {
    serde_yaml::from_str(&template_text()).expect("template.yaml is YAML")
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

#[test]
fn mutating_ec2_actions_are_allowed_only_on_opted_in_instances() {
    let mut all = Vec::new();
    statements(&template(), &mut all);
    assert!(!all.is_empty());
    let tag_condition = format!("aws:ResourceTag/{}", opt_in_tag());
    let mut mutating_seen = 0;
    for s in &all {
        for a in actions(s) {
            assert_ne!(a, "*", "a wildcard action: {s:?}");
            assert_ne!(a, "ec2:*", "a wildcard EC2 action: {s:?}");
            let Some(op) = a.strip_prefix("ec2:") else {
                continue;
            };
            if op.starts_with("Describe") || op.starts_with("Get") {
                continue;
            }
            mutating_seen += 1;
            let value = &s["Condition"]["StringEquals"][tag_condition.as_str()];
            assert_eq!(
                value.as_str(),
                Some("true"),
                "{a} is allowed without the {tag_condition} condition: {s:?}"
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
        }
    }
    assert_eq!(
        mutating_seen, 3,
        "reboot, stop and start are granted (under the condition)"
    );
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
