//! The account's silences: CloudWatch `ListAlarmMuteRules` (the rules muting the alarm's actions now),
//! `DescribeAlarmsForMetric` (the alarms watching an instance's status check, for the sweep's incidents) and SSM
//! `GetCalendarState` (whether a Change Calendar is OPEN or CLOSED). Neither emulator serves them: the adapter is
//! tested over HTTP against recorded answers on a loopback stub (`tests/tests/emulator/silence.rs`).

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};

use ec2ops::catalogue;
use ec2ops::ports::{AwsError, ErrorKind, SilenceReader};
use ec2ops::silence::{rule_name, CalendarState, MuteRule};

use super::{aws_error, to_chrono};

/// Mute rules listed per incident at most (one page). An alarm with more rules than this muting it at once is muted
/// either way: the first page is enough to hold the action.
pub const MUTE_RULES_PAGE: i32 = 20;

pub struct SilenceAdapter {
    cloudwatch: aws_sdk_cloudwatch::Client,
    ssm: aws_sdk_ssm::Client,
}

impl SilenceAdapter {
    pub fn new(cloudwatch: aws_sdk_cloudwatch::Client, ssm: aws_sdk_ssm::Client) -> Self {
        SilenceAdapter { cloudwatch, ssm }
    }
}

/// An ISO 8601 time of GetCalendarState (`2026-12-08T09:00:00Z`).
fn iso(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[async_trait]
impl SilenceReader for SilenceAdapter {
    async fn active_mute_rules(&self, alarm_name: &str) -> Result<Vec<MuteRule>, AwsError> {
        use aws_sdk_cloudwatch::types::AlarmMuteRuleStatus;
        let sent = self
            .cloudwatch
            .list_alarm_mute_rules()
            .alarm_name(alarm_name)
            .statuses(AlarmMuteRuleStatus::Active)
            .max_records(MUTE_RULES_PAGE)
            .send()
            .await
            .map_err(|e| aws_error("cloudwatch", "ListAlarmMuteRules", e));
        let out = match sent {
            Ok(out) => out,
            // No such alarm (the heartbeat's sample, an alarm deleted since): no rule can mute it.
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        // Asked for ACTIVE only; a rule answered with another status (SCHEDULED, EXPIRED) mutes nothing now.
        Ok(out
            .alarm_mute_rule_summaries()
            .iter()
            .filter(|r| r.status() == Some(&AlarmMuteRuleStatus::Active))
            .map(|r| MuteRule {
                name: rule_name(r.alarm_mute_rule_arn().unwrap_or("(unnamed)")),
                expires: r.expire_date().and_then(to_chrono),
                alarm: None,
            })
            .collect())
    }

    async fn calendar_state(
        &self,
        calendar: &str,
        at: DateTime<Utc>,
    ) -> Result<CalendarState, AwsError> {
        use aws_sdk_ssm::types::CalendarState as Wire;
        let out = self
            .ssm
            .get_calendar_state()
            .calendar_names(calendar)
            .at_time(at.to_rfc3339_opts(SecondsFormat::Secs, true))
            .send()
            .await
            .map_err(|e| aws_error("ssm", "GetCalendarState", e))?;
        let open = match out.state() {
            Some(Wire::Open) => true,
            Some(Wire::Closed) => false,
            // Neither OPEN nor CLOSED: the state is unknown, which holds the action like an unread calendar.
            other => {
                return Err(AwsError::new(
                    "ssm",
                    "GetCalendarState",
                    format!(
                        "State is {}: neither OPEN nor CLOSED",
                        other.map_or("missing", |s| s.as_str())
                    ),
                ))
            }
        };
        Ok(CalendarState {
            open,
            next_transition: out.next_transition_time().and_then(iso),
        })
    }

    async fn check_alarms(&self, instance_id: &str, check: &str) -> Result<Vec<String>, AwsError> {
        use aws_sdk_cloudwatch::types::Dimension;
        let on = |metric: &str| {
            self.cloudwatch
                .describe_alarms_for_metric()
                .namespace(catalogue::EC2)
                .metric_name(metric)
                .dimensions(
                    Dimension::builder()
                        .name("InstanceId")
                        .value(instance_id)
                        .build(),
                )
                .send()
        };
        // The check's own metric and the combined one, at once.
        let (own, combined) = tokio::join!(on(check), on(catalogue::STATUS_CHECK_FAILED));
        let mut names: Vec<String> = Vec::new();
        for out in [own, combined] {
            let out = out.map_err(|e| aws_error("cloudwatch", "DescribeAlarmsForMetric", e))?;
            for a in out.metric_alarms() {
                if let Some(n) = a.alarm_name().filter(|n| !names.iter().any(|x| x == n)) {
                    names.push(n.to_string());
                }
            }
        }
        Ok(names)
    }
}
