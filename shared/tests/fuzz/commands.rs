//! Suggested commands: whatever an alarm name, group name or mount path holds, a pasted command runs `aws` with
//! exactly the arguments meant — checked by two independent parsers and, where there is one, a real `sh`.

use super::*;

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
pub(super) fn strict_words(line: &str) -> Result<Vec<String>, String> {
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
pub(super) fn check_commands(
    change: &AlarmChange,
    facts: &Facts,
) -> Result<Vec<Vec<String>>, TestCaseError> {
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
