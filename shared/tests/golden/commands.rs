//! The suggested commands of every golden: in a safe order, complete, on instance types that exist, read-only
//! where the report only summarises, and accepted by the real AWS CLI.

use super::*;

/// The command lines of a golden, in order: `$ …` lines (plain or in chat backticks), next steps, and commands
/// quoted inline in backticks.
/// A captured command (`var=$(aws …)`) counts as the `aws …` it runs.
pub(super) fn commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let l = line.trim().trim_start_matches("• ").trim();
        if let Some(c) = l.strip_prefix("$ ") {
            out.push(uncaptured(c.trim_matches('`')).to_string());
        } else if uncaptured(l).starts_with("aws ") {
            out.push(uncaptured(l).to_string());
        } else {
            out.extend(
                l.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(uncaptured)
                    .filter(|c| c.starts_with("aws "))
                    .map(str::to_string),
            );
        }
    }
    out
}

/// `aws …` out of `var=$(aws …)`; anything else as it is.
fn uncaptured(line: &str) -> &str {
    line.split_once("=$(aws ")
        .filter(|(var, _)| var.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .and_then(|(var, _)| line.get(var.len() + 3..))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(line)
}

pub(super) fn words(cmd: &str) -> Vec<String> {
    shlex::split(cmd).unwrap_or_else(|| panic!("not one shell command line: {cmd}"))
}

fn option<'a>(w: &'a [String], name: &str) -> Option<&'a str> {
    w.iter()
        .position(|x| x == name)
        .and_then(|i| w.get(i + 1))
        .map(String::as_str)
}

#[test]
fn no_golden_starts_or_resizes_an_instance_before_waiting_for_its_stop() {
    for (name, text) in golden_texts() {
        let (mut stopping, mut waited) = (false, false);
        for c in commands(&text) {
            if c.starts_with("aws ec2 stop-instances") {
                stopping = true;
            } else if c.starts_with("aws ec2 wait instance-stopped") {
                (stopping, waited) = (false, true);
            } else if c.starts_with("aws ec2 start-instances") {
                assert!(!stopping, "{name}: start right after a stop, no wait: {c}");
            } else if c.starts_with("aws ec2 modify-instance-attribute")
                && c.contains("--instance-type")
            {
                assert!(
                    waited && !stopping,
                    "{name}: a type change without stop and wait first: {c}"
                );
            }
        }
    }
}

#[test]
fn every_golden_that_stops_an_instance_says_how_to_force_a_stuck_stop() {
    for (name, text) in golden_texts() {
        let cmds = commands(&text);
        let stops = cmds
            .iter()
            .any(|c| c.starts_with("aws ec2 stop-instances") && !c.contains("--force"));
        let forced = cmds
            .iter()
            .any(|c| c.starts_with("aws ec2 stop-instances") && c.contains("--force"));
        // A chat description may have cut the hint with its whole step; the email never does.
        if stops && !name.contains(".chatbot.") {
            assert!(forced, "{name}: a stop without the --force hint");
        }
    }
}

#[test]
fn no_golden_modifies_one_volume_twice() {
    for (name, text) in golden_texts() {
        let mut seen = std::collections::BTreeSet::new();
        for c in commands(&text)
            .iter()
            .filter(|c| c.starts_with("aws ec2 modify-volume"))
        {
            let w = words(c);
            let vol = option(&w, "--volume-id").unwrap().to_string();
            assert!(
                seen.insert(vol.clone()),
                "{name}: {vol} modified twice (EBS refuses a second change for 6 hours)"
            );
        }
    }
}

#[test]
fn every_run_command_in_a_golden_comes_with_the_way_to_read_its_output() {
    for (name, text) in golden_texts() {
        let cmds = commands(&text);
        for (i, c) in cmds.iter().enumerate() {
            if !c.starts_with("aws ssm send-command") {
                continue;
            }
            assert!(c.contains("--query Command.CommandId"), "{name}: {c}");
            if c.contains("AWS-RunShellScript") {
                let read = cmds[i + 1..]
                    .iter()
                    .take_while(|n| !n.starts_with("aws ssm send-command"))
                    .any(|n| {
                        n.starts_with("aws ssm get-command-invocation")
                            && n.contains("--query StandardOutputContent")
                    });
                assert!(read, "{name}: no get-command-invocation after {c}");
            }
        }
    }
}

#[test]
fn every_cloudwatch_agent_install_in_a_golden_is_followed_by_its_configuration() {
    for (name, text) in golden_texts() {
        let cmds = commands(&text);
        let Some(install) = cmds
            .iter()
            .position(|c| c.contains("AWS-ConfigureAWSPackage"))
        else {
            continue;
        };
        let rest = &cmds[install + 1..];
        let wait = rest
            .iter()
            .position(|c| c.starts_with("aws ssm wait command-executed"));
        let configure = rest.iter().position(|c| {
            c.contains("AmazonCloudWatch-ManageAgent") && c.contains(r#""action":["configure"]"#)
        });
        assert!(
            matches!((wait, configure), (Some(w), Some(c)) if w < c),
            "{name}: the agent is installed but not configured after the install"
        );
    }
}

/// `m5.large`, `t3.micro`, `c7gn.16xlarge`: a family with a generation digit, a dot, a size.
fn instance_types(text: &str) -> Vec<String> {
    const SIZES: [&str; 7] = [
        "nano", "micro", "small", "medium", "large", "xlarge", "metal",
    ];
    text.split(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.'))
        .map(|t| t.trim_matches('.'))
        .filter_map(|t| {
            let (family, size) = t.split_once('.')?;
            let family_ok = family.starts_with(|c: char| c.is_ascii_lowercase())
                && family.chars().any(|c| c.is_ascii_digit())
                && family.len() <= 6;
            let size_ok = SIZES.contains(&size)
                || size
                    .strip_suffix("xlarge")
                    .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            (family_ok && size_ok).then(|| t.to_string())
        })
        .collect()
}

#[test]
fn every_instance_type_named_in_a_golden_exists_in_the_price_table() {
    let mut named = 0;
    for (name, text) in golden_texts() {
        let region = commands(&text)
            .iter()
            .find_map(|c| option(&words(c), "--region").map(str::to_string));
        for ty in instance_types(&text) {
            named += 1;
            match &region {
                Some(r) => assert!(
                    ec2ops::pricing::instance_price(r, &ty).is_some(),
                    "{name}: {ty} is not in the price table for {r}"
                ),
                None => assert!(
                    ec2ops::pricing::is_known_type(&ty),
                    "{name}: {ty} is not in the price table"
                ),
            }
        }
    }
    assert!(named > 50, "the check found the types: {named}");
    assert_eq!(
        instance_types("m7i.micro / m5.xlarge."),
        ["m7i.micro", "m5.xlarge"]
    );
}

#[test]
fn a_report_never_both_recommends_enabling_auto_recovery_and_says_it_is_on() {
    for (name, text) in golden_texts() {
        let on = text.contains("Simplified automatic recovery is on")
            || text.contains("Simplified automatic recovery: on")
            || text.contains("Simplified automatic recovery 켜짐")
            || text.contains("Simplified automatic recovery: 켜짐");
        let enable = text.contains("--auto-recovery default")
            || text.contains("(or simplified automatic recovery)")
            || text.contains("Turn simplified automatic recovery back on")
            || text.contains("simplified automatic recovery를 설정")
            || text.contains("다시 켜고");
        assert!(
            !(on && enable),
            "{name}: says auto recovery is on and asks to enable it"
        );
    }
}

#[test]
fn the_safe_next_command_of_a_summary_only_reads() {
    for (name, text) in golden_texts() {
        for l in text.lines() {
            let l = l.trim_start_matches("• ");
            let Some(cmd) = l
                .strip_prefix("▶ Safe next command (read-only): ")
                .or_else(|| l.strip_prefix("▶ 다음 명령 (안전, 읽기 전용): "))
            else {
                continue;
            };
            let w = words(cmd.trim_matches('`'));
            let verb = w.get(2).map(String::as_str).unwrap_or_default();
            assert!(
                w[1] != "ssm"
                    && ["describe-", "get-", "list-", "lookup-"]
                        .iter()
                        .any(|p| verb.starts_with(p)),
                "{name}: {cmd}"
            );
        }
    }
}

/// What a shell would pass for the variables our sequences capture (`"$command_id"`, `$((desired+1))`): values of
/// the shape AWS expects, so the CLI checks everything else as written.
fn expanded(word: &str) -> String {
    match word {
        "$command_id" => "0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9".into(),
        "$target_group" => {
            "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/web/0123456789abcdef".into()
        }
        "$((desired+1))" => "3".into(),
        w => w.to_string(),
    }
}

/// Every command line of every golden, run through the real AWS CLI (awscli, installed by `scripts/awscli.sh`,
/// `EC2OPS_AWS_CLI_PYTHON` set by `scripts/test.sh`) against a closed loopback endpoint: the CLI parses the
/// command, validates every parameter against the service model and only then tries to connect, so "could not
/// connect" means the command runs as written and anything else (unknown option, invalid value, bad JSON, a
/// parameter out of its range) is a command an operator could not run.
#[test]
fn every_command_in_every_golden_is_accepted_by_the_real_aws_cli() {
    let Some(python) = std::env::var_os("EC2OPS_AWS_CLI_PYTHON") else {
        assert!(
            std::env::var("EC2OPS_REQUIRE_EMULATOR").as_deref() != Ok("1"),
            "EC2OPS_AWS_CLI_PYTHON is not set: run scripts/test.sh (it installs the AWS CLI)"
        );
        eprintln!("skipped: EC2OPS_AWS_CLI_PYTHON not set (scripts/test.sh sets it)");
        return;
    };
    let mut argvs: Vec<Vec<String>> = golden_texts()
        .iter()
        .flat_map(|(_, text)| commands(text))
        .map(|c| words(&c).iter().map(|w| expanded(w)).collect())
        .collect();
    argvs.sort();
    argvs.dedup();
    assert!(argvs.len() >= 50, "commands found: {}", argvs.len());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/aws_cli_check.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the AWS CLI checker starts");
    let input = serde_json::to_vec(&argvs).unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the checker failed: {out:?}");
    let verdicts: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdicts.len(), argvs.len());
    let refused: Vec<String> = verdicts
        .iter()
        .zip(&argvs)
        .filter(|(v, _)| v["runs"] != true)
        .map(|(v, argv)| format!("{}\n    → {}", argv.join(" "), v["error"]))
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {} commands refused by the AWS CLI:\n{}",
        refused.len(),
        argvs.len(),
        refused.join("\n")
    );
}
