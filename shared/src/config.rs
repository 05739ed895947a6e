//! Settings: every environment variable name in one place, validated once at cold start.

use std::collections::HashMap;
use std::time::Duration;

use chrono_tz::Tz;

/// Environment variable names, exactly as `template.yaml` sets them.
pub mod names {
    pub const TOPIC_ARN: &str = "EC2OPS_TOPIC_ARN";
    pub const LANGUAGE: &str = "EC2OPS_LANGUAGE";
    pub const TIME_ZONE: &str = "EC2OPS_TIME_ZONE";
    pub const REMEDIATION_MODE: &str = "EC2OPS_REMEDIATION_MODE";
    pub const METRIC_WINDOW_MINUTES: &str = "EC2OPS_METRIC_WINDOW_MINUTES";
    pub const SOURCE_TIMEOUT_MS: &str = "EC2OPS_SOURCE_TIMEOUT_MS";
    pub const OPT_IN_TAG: &str = "EC2OPS_OPT_IN_TAG";
    pub const COOLDOWN_MINUTES: &str = "EC2OPS_COOLDOWN_MINUTES";
    pub const DAILY_CAP: &str = "EC2OPS_DAILY_CAP";
    pub const HOURLY_CAP: &str = "EC2OPS_HOURLY_CAP";
    pub const LEDGER_TABLE: &str = "EC2OPS_LEDGER_TABLE";
    pub const VERIFY_MINUTES: &str = "EC2OPS_VERIFY_MINUTES";
    pub const SCHEDULER_ROLE_ARN: &str = "EC2OPS_SCHEDULER_ROLE_ARN";
    pub const DIAGNOSTICS: &str = "EC2OPS_DIAGNOSTICS";
    pub const DIAGNOSTICS_DOCUMENT: &str = "EC2OPS_DIAGNOSTICS_DOCUMENT";
    pub const DIAGNOSTICS_TIMEOUT_MS: &str = "EC2OPS_DIAGNOSTICS_TIMEOUT_MS";
    pub const WORK_QUEUE_URL: &str = "EC2OPS_WORK_QUEUE_URL";
    pub const SETTLE_SECONDS: &str = "EC2OPS_SETTLE_SECONDS";
    pub const PUBLISH_PER_SECOND: &str = "EC2OPS_PUBLISH_PER_SECOND";
    pub const STORM_WINDOW_SECONDS: &str = "EC2OPS_STORM_WINDOW_SECONDS";
    pub const LOG_GROUPS: &str = "EC2OPS_LOG_GROUPS";
    pub const CHANGE_WINDOW_MINUTES: &str = "EC2OPS_CHANGE_WINDOW_MINUTES";
    /// Optional: where the heartbeat's line goes (template.yaml's operations topic, which also takes the stack's
    /// own alarms); unset, the heartbeat goes to the report topic.
    pub const OPERATIONS_TOPIC_ARN: &str = "EC2OPS_OPERATIONS_TOPIC_ARN";
    /// In `approve` mode: how long a proposed action can be approved, in minutes.
    pub const APPROVAL_MINUTES: &str = "EC2OPS_APPROVAL_MINUTES";
    /// Minutes after a report whose advice is to watch a short spike before ec2ops looks again (0: never).
    pub const RECHECK_MINUTES: &str = "EC2OPS_RECHECK_MINUTES";
    /// Optional, in `approve` mode: the SSM SecureString parameter (a name starting with `/`) holding the Slack app's
    /// signing secret and approver list; unset or empty, the function URL answers no Slack request.
    pub const SLACK_APP_PARAMETER: &str = "EC2OPS_SLACK_APP_PARAMETER";
    /// `on`: look up the CloudWatch alarm mute rules muting the alarm, and hold the action while one is active
    /// (`off`, the default: not looked up).
    pub const MUTE_RULES: &str = "EC2OPS_MUTE_RULES";
    /// Comma-separated SSM Change Calendars (names or ARNs, at most `config::MAX_CALENDARS`): while one is CLOSED
    /// (a change freeze), no action is taken. Empty, the default: none.
    pub const CHANGE_CALENDARS: &str = "EC2OPS_CHANGE_CALENDARS";
    /// Optional: the topic urgent messages are copied to (a P0 or P1 report that is not silenced, a failed
    /// verification, a recover that could not finish, a storm digest listing one); every message still goes to the
    /// report topic.
    pub const PAGING_TOPIC_ARN: &str = "EC2OPS_PAGING_TOPIC_ARN";

    /// Every setting, for the test that checks `template.yaml` passes each one.
    pub const ALL: [&str; 29] = [
        TOPIC_ARN,
        LANGUAGE,
        TIME_ZONE,
        REMEDIATION_MODE,
        METRIC_WINDOW_MINUTES,
        SOURCE_TIMEOUT_MS,
        OPT_IN_TAG,
        COOLDOWN_MINUTES,
        DAILY_CAP,
        HOURLY_CAP,
        LEDGER_TABLE,
        VERIFY_MINUTES,
        SCHEDULER_ROLE_ARN,
        DIAGNOSTICS,
        DIAGNOSTICS_DOCUMENT,
        DIAGNOSTICS_TIMEOUT_MS,
        WORK_QUEUE_URL,
        SETTLE_SECONDS,
        PUBLISH_PER_SECOND,
        STORM_WINDOW_SECONDS,
        LOG_GROUPS,
        CHANGE_WINDOW_MINUTES,
        OPERATIONS_TOPIC_ARN,
        APPROVAL_MINUTES,
        RECHECK_MINUTES,
        SLACK_APP_PARAMETER,
        MUTE_RULES,
        CHANGE_CALENDARS,
        PAGING_TOPIC_ARN,
    ];
}

/// Report language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Korean with English technical terms (the seed format's default).
    Ko,
    En,
}

impl Language {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ko" | "kr" | "korean" => Some(Language::Ko),
            "en" | "english" => Some(Language::En),
            _ => None,
        }
    }
}

/// What the responder may do to an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemediationMode {
    /// Report only.
    Off,
    /// Call EC2 with `DryRun=true`: the report says what would have happened (and whether IAM would allow it).
    DryRun,
    /// Reboot / recover opted-in instances under the safety envelope.
    Auto,
    /// Propose what `auto` would do and act only when a person approves it before the approval expires, after
    /// checking the envelope again on fresh facts ([`crate::remediation::approval`]). No answer means no action.
    Approve,
}

impl RemediationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationMode::Off => "off",
            RemediationMode::DryRun => "dry-run",
            RemediationMode::Auto => "auto",
            RemediationMode::Approve => "approve",
        }
    }
}

/// How long a proposed action can be approved when `EC2OPS_APPROVAL_MINUTES` is not set.
pub const DEFAULT_APPROVAL_MINUTES: i64 = 15;
/// When ec2ops looks again at a short spike when `EC2OPS_RECHECK_MINUTES` is not set.
pub const DEFAULT_RECHECK_MINUTES: i64 = 5;

/// The safety envelope's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Tag key an instance must carry with value `true` to be remediated.
    pub opt_in_tag: String,
    pub cooldown: chrono::Duration,
    pub daily_cap: usize,
    pub hourly_cap: usize,
}

impl Default for Envelope {
    fn default() -> Self {
        Envelope {
            opt_in_tag: "ec2ops:auto-remediate".into(),
            cooldown: chrono::Duration::minutes(30),
            daily_cap: 3,
            hourly_cap: 10,
        }
    }
}

/// Default publishes per second: half of SNS's 10-per-second limit of an email subscription. The gate counts the
/// second in which a publish *starts*; SNS counts when it *arrives*. A publish's latency can move one gate-second's
/// messages into the next SNS second, so in the worst case SNS sees two gate-seconds' worth in one second: 2 × 5 = 10,
/// still not above the limit.
pub const DEFAULT_PER_SECOND: u32 = 5;
/// Highest allowed setting: above it, two adjacent gate-seconds could exceed SNS's 10 per second.
pub const MAX_PER_SECOND: u32 = 5;
// Two adjacent gate-seconds can land in one SNS second: checked when compiling.
const _: () = assert!(2 * MAX_PER_SECOND <= 10 && DEFAULT_PER_SECOND <= MAX_PER_SECOND);
/// Default storm window: incidents deferred within one minute share one digest.
pub const DEFAULT_WINDOW_SECONDS: i64 = 60;
/// The storm settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StormSettings {
    /// Publishes started per second across all invocations (incident reports and digests).
    pub per_second: u32,
    /// The storm window: one digest per window.
    pub window: chrono::Duration,
}

impl Default for StormSettings {
    fn default() -> Self {
        StormSettings {
            per_second: DEFAULT_PER_SECOND,
            window: chrono::Duration::seconds(DEFAULT_WINDOW_SECONDS),
        }
    }
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where reports go; `None` is allowed only for the CLI without `--publish`.
    pub topic_arn: Option<String>,
    /// Where the heartbeat's line goes; `None` sends it to the report topic.
    pub operations_topic_arn: Option<String>,
    /// Where urgent messages are copied to ([`crate::message::SnsMessage::urgent`]); `None`: no copy.
    pub paging_topic_arn: Option<String>,
    pub language: Language,
    pub time_zone: Tz,
    pub remediation: RemediationMode,
    pub envelope: Envelope,
    /// DynamoDB table of incidents and actions; without it nothing is deduplicated and nothing is acted on.
    pub ledger_table: Option<String>,
    /// When to check that an action worked.
    pub verify_after: chrono::Duration,
    /// In `approve` mode: how long a proposed action can be approved (then it expires, and nothing is done).
    pub approval_expiry: chrono::Duration,
    /// When ec2ops looks again at a short spike whose advice is to watch it; `None`: it does not (the report asks a
    /// person to watch).
    pub recheck_after: Option<chrono::Duration>,
    /// The SSM parameter holding the Slack app's settings; `None`: no Slack approvals.
    pub slack_app_parameter: Option<String>,
    /// Role EventBridge Scheduler assumes to invoke the function for the verification.
    pub scheduler_role_arn: Option<String>,
    pub metric_window: chrono::Duration,
    pub source_timeout: Duration,
    /// The SSM command document to run for in-guest evidence; `None` = diagnostics off.
    pub diagnostics_document: Option<String>,
    /// How long the report waits for the in-guest diagnostics (it goes out without them when they are late).
    pub diagnostics_timeout: Duration,
    /// The SQS queue the sweep and multi-instance Health events fan out to (one message per instance incident);
    /// `None` handles them one after another in the same invocation (the CLI, tests).
    pub work_queue_url: Option<String>,
    /// How long a status-check incident waits after recording its impairment before it decides, so that concurrent
    /// incidents in the same AZ (an AZ event) and on the same instance see each other.
    pub settle: Duration,
    /// The publish-rate gate and the storm window.
    pub storm: StormSettings,
    /// CloudWatch Logs groups the instances ship to (streams named by instance id); empty = logs not read.
    pub log_groups: Vec<String>,
    /// CHANGE-BEFORE: a change this long before the transition is named as its likely trigger.
    pub change_window: chrono::Duration,
    /// Look up the alarm's active mute rules (`EC2OPS_MUTE_RULES`).
    pub mute_rules: bool,
    /// The Change Calendars whose CLOSED state is a change freeze (`EC2OPS_CHANGE_CALENDARS`).
    pub change_calendars: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            topic_arn: None,
            operations_topic_arn: None,
            paging_topic_arn: None,
            language: Language::Ko,
            time_zone: chrono_tz::Asia::Seoul,
            remediation: RemediationMode::DryRun,
            envelope: Envelope::default(),
            ledger_table: None,
            verify_after: chrono::Duration::minutes(10),
            approval_expiry: chrono::Duration::minutes(DEFAULT_APPROVAL_MINUTES),
            recheck_after: Some(chrono::Duration::minutes(DEFAULT_RECHECK_MINUTES)),
            slack_app_parameter: None,
            scheduler_role_arn: None,
            diagnostics_document: None,
            diagnostics_timeout: Duration::from_millis(8000),
            metric_window: chrono::Duration::minutes(30),
            source_timeout: Duration::from_millis(4000),
            work_queue_url: None,
            settle: Duration::from_secs(10),
            storm: StormSettings::default(),
            log_groups: Vec::new(),
            change_window: chrono::Duration::minutes(DEFAULT_CHANGE_WINDOW_MINUTES),
            mute_rules: false,
            change_calendars: Vec::new(),
        }
    }
}

/// A setting that cannot be used. The message names the variable and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {name}={value:?} is invalid: {expected}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub expected: String,
}

impl Settings {
    /// Read the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_map(&std::env::vars().collect())
    }

    /// Read settings from a map (the environment, or a test's map). Unset or empty means the default. Each step
    /// reads a group of settings, in the order their errors are reported.
    pub fn from_map(env: &HashMap<String, String>) -> Result<Self, ConfigError> {
        let env = Vars(env);
        let mut s = Settings::default();
        read_report(&env, &mut s)?;
        read_envelope(&env, &mut s)?;
        read_stores(&env, &mut s)?;
        read_diagnostics(&env, &mut s)?;
        read_scheduling_and_gathering(&env, &mut s)?;
        read_storm(&env, &mut s)?;
        read_evidence(&env, &mut s)?;
        Ok(s)
    }

    /// The Lambda function cannot deliver without a topic: fail at cold start, not at the first alarm.
    pub fn require_topic(&self) -> Result<&str, ConfigError> {
        self.topic_arn.as_deref().ok_or(ConfigError {
            name: names::TOPIC_ARN,
            value: String::new(),
            expected: "the report topic's ARN (required by the Lambda function and by --publish)"
                .into(),
        })
    }
}

/// The environment as settings read it: unset and empty are the same, surrounding blanks are not part of a value.
struct Vars<'a>(&'a HashMap<String, String>);

impl Vars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// A whole number from `lo` to `hi`, when set.
    fn number(&self, name: &'static str, lo: i64, hi: i64) -> Result<Option<i64>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse::<i64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .map(Some)
                .ok_or_else(|| bad(name, v, &format!("a whole number from {lo} to {hi}"))),
        }
    }
}

fn bad(name: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        name,
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

/// An SNS topic ARN setting, when set.
fn topic_arn(env: &Vars<'_>, name: &'static str) -> Result<Option<String>, ConfigError> {
    match env.get(name) {
        None => Ok(None),
        Some(v) if v.starts_with("arn:") && v.contains(":sns:") => Ok(Some(v.to_string())),
        Some(v) => Err(bad(
            name,
            v,
            "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
        )),
    }
}

/// Where and how the report is delivered: the topics, the language, the time zone.
fn read_report(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    s.topic_arn = topic_arn(env, names::TOPIC_ARN)?;
    s.operations_topic_arn = topic_arn(env, names::OPERATIONS_TOPIC_ARN)?;
    s.paging_topic_arn = topic_arn(env, names::PAGING_TOPIC_ARN)?;
    if let Some(v) = env.get(names::LANGUAGE) {
        s.language = Language::parse(v).ok_or_else(|| bad(names::LANGUAGE, v, "ko or en"))?;
    }
    if let Some(v) = env.get(names::TIME_ZONE) {
        s.time_zone = v.parse::<Tz>().map_err(|_| {
            bad(
                names::TIME_ZONE,
                v,
                "an IANA time zone such as Asia/Seoul or UTC",
            )
        })?;
    }
    Ok(())
}

/// The remediation mode and the safety envelope: opt-in tag, cooldown, caps, verification delay.
fn read_envelope(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    if let Some(v) = env.get(names::REMEDIATION_MODE) {
        s.remediation = match v.to_ascii_lowercase().as_str() {
            "off" => RemediationMode::Off,
            "dry-run" | "dryrun" => RemediationMode::DryRun,
            "auto" => RemediationMode::Auto,
            "approve" => RemediationMode::Approve,
            _ => {
                return Err(bad(
                    names::REMEDIATION_MODE,
                    v,
                    "off, dry-run, auto or approve",
                ))
            }
        };
    }
    if let Some(n) = env.number(names::APPROVAL_MINUTES, 1, 1440)? {
        s.approval_expiry = chrono::Duration::minutes(n);
    }
    if let Some(v) = env.get(names::SLACK_APP_PARAMETER) {
        let ok = v.starts_with('/')
            && v.len() <= 1011
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-/".contains(&b));
        if !ok {
            return Err(bad(
                names::SLACK_APP_PARAMETER,
                v,
                "empty, or an SSM parameter name starting with / (letters, digits, _ . - /)",
            ));
        }
        s.slack_app_parameter = Some(v.to_string());
    }
    if let Some(v) = env.get(names::OPT_IN_TAG) {
        if v.len() > 128 {
            return Err(bad(
                names::OPT_IN_TAG,
                v,
                "a tag key of at most 128 characters",
            ));
        }
        s.envelope.opt_in_tag = v.to_string();
    }
    if let Some(n) = env.number(names::COOLDOWN_MINUTES, 0, 1440)? {
        s.envelope.cooldown = chrono::Duration::minutes(n);
    }
    if let Some(n) = env.number(names::DAILY_CAP, 0, 100)? {
        s.envelope.daily_cap = n as usize;
    }
    if let Some(n) = env.number(names::HOURLY_CAP, 0, 1000)? {
        s.envelope.hourly_cap = n as usize;
    }
    if let Some(n) = env.number(names::VERIFY_MINUTES, 1, 120)? {
        s.verify_after = chrono::Duration::minutes(n);
    }
    if let Some(n) = env.number(names::RECHECK_MINUTES, 0, 60)? {
        s.recheck_after = (n > 0).then(|| chrono::Duration::minutes(n));
    }
    Ok(())
}

/// The ledger table, the work queue and the settle time.
fn read_stores(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    s.ledger_table = env.get(names::LEDGER_TABLE).map(str::to_string);
    if let Some(v) = env.get(names::WORK_QUEUE_URL) {
        if !v.starts_with("https://") && !v.starts_with("http://") {
            return Err(bad(
                names::WORK_QUEUE_URL,
                v,
                "an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)",
            ));
        }
        s.work_queue_url = Some(v.to_string());
    }
    if let Some(n) = env.number(names::SETTLE_SECONDS, 0, 60)? {
        s.settle = Duration::from_secs(n as u64);
    }
    Ok(())
}

/// In-guest diagnostics: on or off, the SSM document, its timeout.
fn read_diagnostics(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    let diagnostics_on = match env.get(names::DIAGNOSTICS).map(|v| v.to_ascii_lowercase()) {
        None => true,
        Some(v) if v == "on" || v == "true" => true,
        Some(v) if v == "off" || v == "false" => false,
        Some(v) => return Err(bad(names::DIAGNOSTICS, &v, "on or off")),
    };
    if diagnostics_on {
        s.diagnostics_document = env.get(names::DIAGNOSTICS_DOCUMENT).map(str::to_string);
    }
    if let Some(n) = env.number(names::DIAGNOSTICS_TIMEOUT_MS, 1000, 60_000)? {
        s.diagnostics_timeout = Duration::from_millis(n as u64);
    }
    Ok(())
}

/// The verification scheduler's role, the metric window and the per-source timeout.
fn read_scheduling_and_gathering(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    if let Some(v) = env.get(names::SCHEDULER_ROLE_ARN) {
        if !v.starts_with("arn:") || !v.contains(":iam:") {
            return Err(bad(names::SCHEDULER_ROLE_ARN, v, "an IAM role ARN"));
        }
        s.scheduler_role_arn = Some(v.to_string());
    }
    if let Some(v) = env.get(names::METRIC_WINDOW_MINUTES) {
        let n: i64 = v
            .parse()
            .ok()
            .filter(|n| (5..=1440).contains(n))
            .ok_or_else(|| {
                bad(
                    names::METRIC_WINDOW_MINUTES,
                    v,
                    "whole minutes from 5 to 1440",
                )
            })?;
        s.metric_window = chrono::Duration::minutes(n);
    }
    if let Some(v) = env.get(names::SOURCE_TIMEOUT_MS) {
        let n: u64 = v
            .parse()
            .ok()
            .filter(|n| (100..=60_000).contains(n))
            .ok_or_else(|| {
                bad(
                    names::SOURCE_TIMEOUT_MS,
                    v,
                    "milliseconds from 100 to 60000",
                )
            })?;
        s.source_timeout = Duration::from_millis(n);
    }
    Ok(())
}

/// The publish-rate gate and the storm window.
fn read_storm(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    if let Some(n) = env.number(names::PUBLISH_PER_SECOND, 1, i64::from(MAX_PER_SECOND))? {
        s.storm.per_second = n as u32;
    }
    if let Some(n) = env.number(names::STORM_WINDOW_SECONDS, 30, 900)? {
        s.storm.window = chrono::Duration::seconds(n);
    }
    Ok(())
}

/// The CHANGE-BEFORE window when none is configured.
pub const DEFAULT_CHANGE_WINDOW_MINUTES: i64 = 60;
/// Log groups read per incident at most.
pub const MAX_LOG_GROUPS: usize = 5;

/// The evidence sources: the CHANGE-BEFORE window and the log groups.
fn read_evidence(env: &Vars<'_>, s: &mut Settings) -> Result<(), ConfigError> {
    if let Some(n) = env.number(names::CHANGE_WINDOW_MINUTES, 1, 360)? {
        s.change_window = chrono::Duration::minutes(n);
    }
    if let Some(v) = env.get(names::LOG_GROUPS) {
        s.log_groups = parse_log_groups(v).map_err(|why| bad(names::LOG_GROUPS, v, &why))?;
    }
    s.mute_rules = match env.get(names::MUTE_RULES).map(|v| v.to_ascii_lowercase()) {
        None => false,
        Some(v) if v == "on" || v == "true" => true,
        Some(v) if v == "off" || v == "false" || v.is_empty() => false,
        Some(v) => return Err(bad(names::MUTE_RULES, &v, "on or off")),
    };
    if let Some(v) = env.get(names::CHANGE_CALENDARS) {
        s.change_calendars =
            parse_calendars(v).map_err(|why| bad(names::CHANGE_CALENDARS, v, &why))?;
    }
    Ok(())
}

/// How many Change Calendars may be configured: one GetCalendarState each, concurrently, in the first round.
pub const MAX_CALENDARS: usize = 5;

/// Read `EC2OPS_CHANGE_CALENDARS`: comma-separated Change Calendar names (SSM document names: 3–128 characters of
/// `[A-Za-z0-9._-]`) or their ARNs (`arn:<partition>:ssm:<region>:<account>:document/<name>`), at most
/// [`MAX_CALENDARS`], duplicates dropped.
fn parse_calendars(v: &str) -> Result<Vec<String>, String> {
    let expected = format!(
        "comma-separated Change Calendar names or document ARNs (at most {}, names of 3-128 characters of A-Z a-z 0-9 . _ -)",
        MAX_CALENDARS
    );
    let name_ok = |n: &str| {
        (3..=128).contains(&n.len())
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    let ok = |c: &str| match c.strip_prefix("arn:") {
        Some(rest) => {
            let parts: Vec<&str> = rest.splitn(5, ':').collect();
            parts.len() == 5
                && parts[1] == "ssm"
                && parts[4].strip_prefix("document/").is_some_and(name_ok)
        }
        None => name_ok(c),
    };
    comma_list(v, MAX_CALENDARS, ok).ok_or(expected)
}

/// A comma-separated list: items trimmed, empty ones skipped, duplicates dropped; `None` when an item is not `ok` or
/// more than `max` remain.
fn comma_list(v: &str, max: usize, ok: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for item in v.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        if !ok(item) {
            return None;
        }
        if !out.iter().any(|x| x == item) {
            out.push(item.to_string());
        }
    }
    (out.len() <= max).then_some(out)
}

/// Read `EC2OPS_LOG_GROUPS`: comma-separated log group names (CloudWatch's own rules: 1–512 characters of
/// `[A-Za-z0-9._/#-]`), at most [`MAX_LOG_GROUPS`], duplicates dropped.
fn parse_log_groups(v: &str) -> Result<Vec<String>, String> {
    let expected = format!(
        "comma-separated CloudWatch Logs group names (at most {MAX_LOG_GROUPS}, each of A-Z a-z 0-9 . _ / # -)"
    );
    let ok = |g: &str| {
        g.len() <= 512
            && g.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'#' | b'-'))
    };
    comma_list(v, MAX_LOG_GROUPS, ok).ok_or(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_are_korean_seoul_thirty_minutes_and_dry_run() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.language, Language::Ko);
        assert_eq!(s.time_zone, chrono_tz::Asia::Seoul);
        assert_eq!(s.metric_window, chrono::Duration::minutes(30));
        assert_eq!(s.remediation, RemediationMode::DryRun);
        assert_eq!(s.envelope, Envelope::default());
        assert!(s.require_topic().is_err());
        assert_eq!(s.operations_topic_arn, None);
    }

    #[test]
    fn the_operations_topic_is_optional_and_read_beside_the_report_topic() {
        let ops = "arn:aws:sns:us-east-1:000000000000:ec2ops-operations";
        let s = Settings::from_map(&env(&[(names::OPERATIONS_TOPIC_ARN, ops)])).unwrap();
        assert_eq!(s.operations_topic_arn.as_deref(), Some(ops));
        assert_eq!(s.topic_arn, None, "one does not stand in for the other");
        let s = Settings::from_map(&env(&[(names::OPERATIONS_TOPIC_ARN, " ")])).unwrap();
        assert_eq!(s.operations_topic_arn, None, "empty is unset");
    }

    #[test]
    fn invalid_settings_name_the_variable() {
        for (name, value) in [
            (names::LANGUAGE, "fr"),
            (names::TIME_ZONE, "Mars/Olympus"),
            (names::METRIC_WINDOW_MINUTES, "2"),
            (names::SOURCE_TIMEOUT_MS, "abc"),
            (names::TOPIC_ARN, "my-topic"),
            (names::OPERATIONS_TOPIC_ARN, "ops@example.com"),
            (names::REMEDIATION_MODE, "yolo"),
            (names::COOLDOWN_MINUTES, "-5"),
            (names::DAILY_CAP, "many"),
            (names::SCHEDULER_ROLE_ARN, "role"),
            (names::PUBLISH_PER_SECOND, "10"),
            (names::PUBLISH_PER_SECOND, "0"),
            (names::STORM_WINDOW_SECONDS, "5"),
            (names::APPROVAL_MINUTES, "0"),
            (names::APPROVAL_MINUTES, "1441"),
            (names::RECHECK_MINUTES, "61"),
            (names::RECHECK_MINUTES, "soon"),
        ] {
            let err = Settings::from_map(&env(&[(name, value)])).unwrap_err();
            assert_eq!(err.name, name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn valid_settings_are_read() {
        let s = Settings::from_map(&env(&[
            (names::LANGUAGE, "en"),
            (names::TIME_ZONE, "UTC"),
            (names::METRIC_WINDOW_MINUTES, "60"),
            (
                names::TOPIC_ARN,
                "arn:aws:sns:us-east-1:000000000000:reports",
            ),
        ]))
        .unwrap();
        assert_eq!(s.language, Language::En);
        assert_eq!(s.metric_window, chrono::Duration::minutes(60));
        assert_eq!(
            s.require_topic().unwrap(),
            "arn:aws:sns:us-east-1:000000000000:reports"
        );
    }

    #[test]
    fn the_slack_app_parameter_is_optional_and_must_be_an_ssm_parameter_path() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.slack_app_parameter, None);
        let s = Settings::from_map(&env(&[(names::SLACK_APP_PARAMETER, "")])).unwrap();
        assert_eq!(s.slack_app_parameter, None);
        let s =
            Settings::from_map(&env(&[(names::SLACK_APP_PARAMETER, "/ec2ops/slack-app")])).unwrap();
        assert_eq!(s.slack_app_parameter.as_deref(), Some("/ec2ops/slack-app"));
        for bad in [
            "ec2ops/slack",
            "/a b",
            "arn:aws:ssm:us-east-1:1:parameter/x",
        ] {
            let e = Settings::from_map(&env(&[(names::SLACK_APP_PARAMETER, bad)])).unwrap_err();
            assert_eq!(e.name, names::SLACK_APP_PARAMETER, "{bad}");
        }
    }

    #[test]
    fn approve_is_a_third_mode_whose_approvals_expire_after_fifteen_minutes_unless_configured() {
        let s = Settings::from_map(&env(&[(names::REMEDIATION_MODE, "approve")])).unwrap();
        assert_eq!(s.remediation, RemediationMode::Approve);
        assert_eq!(s.remediation.as_str(), "approve");
        assert_eq!(s.approval_expiry, chrono::Duration::minutes(15));
        let s = Settings::from_map(&env(&[
            (names::REMEDIATION_MODE, "Approve"),
            (names::APPROVAL_MINUTES, "60"),
        ]))
        .unwrap();
        assert_eq!(s.remediation, RemediationMode::Approve);
        assert_eq!(s.approval_expiry, chrono::Duration::minutes(60));
        let err = Settings::from_map(&env(&[(names::REMEDIATION_MODE, "approved")])).unwrap_err();
        assert!(err.expected.contains("approve"), "{err}");
    }

    #[test]
    fn a_spike_is_looked_at_again_after_five_minutes_unless_configured_and_zero_turns_it_off() {
        let s = Settings::from_map(&env(&[])).unwrap();
        assert_eq!(s.recheck_after, Some(chrono::Duration::minutes(5)));
        let s = Settings::from_map(&env(&[(names::RECHECK_MINUTES, "10")])).unwrap();
        assert_eq!(s.recheck_after, Some(chrono::Duration::minutes(10)));
        let s = Settings::from_map(&env(&[(names::RECHECK_MINUTES, "0")])).unwrap();
        assert_eq!(s.recheck_after, None);
    }

    #[test]
    fn the_log_group_setting_takes_up_to_five_valid_names() {
        assert_eq!(
            parse_log_groups(" /var/log/messages, /ec2/app ,/ec2/app").unwrap(),
            ["/var/log/messages", "/ec2/app"]
        );
        assert!(parse_log_groups("/a,/b,/c,/d,/e,/f").is_err());
        assert!(parse_log_groups("bad group").is_err());
        assert!(parse_log_groups("").unwrap().is_empty());
    }

    #[test]
    fn change_calendars_are_names_or_document_arns_and_at_most_five() {
        assert_eq!(
            parse_calendars(" release-freeze, arn:aws:ssm:ap-northeast-2:111122223333:document/holidays ,release-freeze")
                .unwrap(),
            ["release-freeze", "arn:aws:ssm:ap-northeast-2:111122223333:document/holidays"]
        );
        for bad in [
            "a b",
            "x",
            "arn:aws:s3:::bucket",
            "arn:aws:ssm:r:1:parameter/x",
            "a1,b2,c3,d4,e5,f6",
        ] {
            assert!(parse_calendars(bad).is_err(), "{bad}");
        }
        let e = Settings::from_map(&env(&[(names::CHANGE_CALENDARS, "no way")])).unwrap_err();
        assert_eq!(e.name, names::CHANGE_CALENDARS);
        let e = Settings::from_map(&env(&[(names::MUTE_RULES, "maybe")])).unwrap_err();
        assert_eq!(e.name, names::MUTE_RULES);
        let s = Settings::from_map(&env(&[(names::MUTE_RULES, "on")])).unwrap();
        assert!(s.mute_rules);
    }
}
