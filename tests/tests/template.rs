//! `template.yaml` against the code: every setting is passed, the function only reads EC2, and the binary named for
//! SAM's cargo-lambda build exists. (`cfn-lint` runs in scripts/test.sh for the template's own validity.)

fn template() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .expect("template.yaml")
}

#[test]
fn every_setting_is_passed_to_the_function() {
    let t = template();
    for name in ec2ops::config::names::ALL {
        assert!(
            t.contains(&format!("{name}:")),
            "template.yaml does not set {name}"
        );
    }
}

#[test]
fn the_function_has_no_ec2_write_permission() {
    let t = template();
    let ec2_actions: Vec<&str> = t
        .lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("- ec2:")
                .or_else(|| l.strip_prefix("Action: ec2:"))
        })
        .collect();
    assert!(!ec2_actions.is_empty());
    for a in ec2_actions {
        assert!(a.starts_with("Describe"), "ec2:{a} is not read-only");
    }
    assert!(!t.contains("ec2:*"));
}

#[test]
fn sam_builds_the_responder_binary_with_cargo_lambda_on_al2023() {
    let t = template();
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
