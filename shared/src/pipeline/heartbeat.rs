//! The heartbeat: on its schedule (template.yaml, `HeartbeatSchedule`) the pipeline runs for real on a built-in
//! alarm — parse, gather through whatever readers are wired, assess, decide, render — and one line says that it did,
//! on the operations topic (`EC2OPS_OPERATIONS_TOPIC_ARN`), else the report topic. Silence means the responder is
//! broken.
//!
//! The sample is no incident: the heartbeat never claims it or reads the ledger, never acts, never records it and
//! never defers its line to a storm digest. Its instance exists in no account, so most sources answer
//! "unavailable" — the degraded path any real report may take — and the line counts the sources that answered.

use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use tracing::{info, warn};

use super::outbox::Gate;
use super::{outcome_without_acting, render_report, HandleError, Outcome, Responder};
use crate::analyze::assess;
use crate::budget::Budget;
use crate::event::{parse, EventError, Parsed};
use crate::facts::{Facts, Source};
use crate::gather::{first_round, second_round, Limits};
use crate::message::SnsMessage;
use crate::remediation::decide;

/// The built-in alarm's instance: a well-formed id that no account has.
pub const SAMPLE_INSTANCE: &str = "i-00000000000000000";
/// The built-in alarm's name.
pub const SAMPLE_ALARM: &str = "ec2ops-heartbeat";
/// The largest message SNS accepts (the rendered report must fit, as every real one does).
const SNS_MAX_BYTES: usize = 256 * 1024;

/// The built-in alarm: the shape of `events/cpu-spike.json` (a CPU alarm from EventBridge) on
/// [`SAMPLE_INSTANCE`], changing state at `now`, in `region` and `account`.
pub fn sample_alarm(now: DateTime<Utc>, region: &str, account: &str) -> Value {
    let stamp = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string();
    let minute = now - chrono::Duration::minutes(1);
    let reason_data = |value: f64| {
        json!({
            "version": "1.0",
            "queryDate": stamp(now),
            "startDate": stamp(minute),
            "statistic": "Average",
            "period": 60,
            "recentDatapoints": [value],
            "threshold": 25.0,
            "evaluatedDatapoints": [{"timestamp": stamp(minute), "sampleCount": 1.0, "value": value}],
        })
        .to_string()
    };
    json!({
        "version": "0",
        "id": "ec2ops-heartbeat",
        "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch",
        "account": account,
        "time": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:{account}:alarm:{SAMPLE_ALARM}")],
        "detail": {
            "alarmName": SAMPLE_ALARM,
            "state": {
                "value": "ALARM",
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [39.58] was greater than the threshold (25.0).",
                "reasonData": reason_data(39.58),
                "timestamp": stamp(now),
            },
            "previousState": {
                "value": "OK",
                "reason": "Threshold Crossed: 1 out of the last 1 datapoints [17.86] was not greater than the threshold (25.0).",
                "reasonData": reason_data(17.86),
                "timestamp": stamp(now - chrono::Duration::hours(1)),
            },
            "configuration": {
                "description": "ec2ops heartbeat: a built-in sample alarm, never a real incident",
                "metrics": [{
                    "id": "m1",
                    "metricStat": {
                        "metric": {
                            "namespace": "AWS/EC2",
                            "name": crate::catalogue::CPU_UTILIZATION,
                            "dimensions": {"InstanceId": SAMPLE_INSTANCE},
                        },
                        "period": 60,
                        "stat": "Average",
                    },
                    "returnData": true,
                }],
            },
        },
    })
}

/// Run the pipeline on the built-in alarm and post one line about it.
pub(super) async fn heartbeat(
    r: &Responder,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let settings = &*r.settings;
    let topic = r.delivery.as_ref().map(|d| {
        settings
            .operations_topic_arn
            .clone()
            .unwrap_or_else(|| d.topic_arn.clone())
    });
    let (region, account) = topic.as_deref().map_or(("-", "000000000000"), place);
    let (region, account) = (region.to_string(), account.to_string());
    let (ok, line) = rehearse(r, now, &region, &account, budget).await?;
    let (Some((outbox, _)), Some(topic)) = (r.outbox(), topic) else {
        info!(%line, "heartbeat: no delivery configured, nothing posted");
        return Ok(Outcome::Heartbeat {
            line,
            topic_arn: None,
            message_id: None,
        });
    };
    // On the report topic the line is one more message to its subscribers: within the publish rate, as every
    // message there (waiting at most storm::SLOT_WAIT; the line is never deferred to a digest).
    let gate = match settings.operations_topic_arn {
        None => Gate::Bounded("heartbeat"),
        Some(_) => Gate::Taken,
    };
    let message = message_of(ok, &line, &region);
    match outbox
        .send(&topic, &message, gate, Duration::ZERO, budget)
        .await
    {
        Ok(id) => {
            info!(message_id = %id, %topic, "heartbeat posted");
            Ok(Outcome::Heartbeat {
                line,
                topic_arn: Some(topic),
                message_id: Some(id),
            })
        }
        Err(e) => {
            warn!(error = %e, code = ?e.code, %topic, "heartbeat not posted");
            Err(HandleError::Publish(e))
        }
    }
}

/// Run the pipeline on the built-in alarm — parse, gather, assess, decide, render, never act — and say whether the
/// report could be published, and in one line how it went.
async fn rehearse(
    r: &Responder,
    now: DateTime<Utc>,
    region: &str,
    account: &str,
    budget: &Budget,
) -> Result<(bool, String), HandleError> {
    let started = Instant::now();
    let settings = &*r.settings;
    let change = match parse(&sample_alarm(now, region, account))? {
        Parsed::Alarm(c) => *c,
        other => {
            return Err(HandleError::Malformed(EventError::Field {
                context: "ec2ops heartbeat",
                path: "(built-in sample)".into(),
                message: format!("parsed as {other:?}, not as an alarm"),
            }))
        }
    };
    let limits = Limits {
        source: settings.source_timeout,
        diagnostics: settings.diagnostics_timeout,
        budget: Some(*budget),
    };
    // No claim and no ledger access: the sample is never an incident.
    let first = first_round(&change, &r.readers(), settings, now, limits).await;
    let (_, mut facts) = second_round(first, &r.readers(), settings, limits).await;
    facts.ledger = Source::Unavailable(crate::source::Gap::HeartbeatNoLedger);
    let assessment = assess(&change, &facts);
    // Decided as any incident is, and never acted on: a decision to act is shown as held.
    let action = outcome_without_acting(decide(
        &change,
        &facts,
        &assessment,
        settings.remediation,
        &settings.envelope,
        now,
    ));
    let (_, message) = render_report(&change, &facts, &assessment, &action, settings);
    let took = started.elapsed().as_millis();
    let (answered, asked) = sources(&facts);
    let priority = assessment.priority.label();
    let why = unpublishable(&message);
    let verdict = match &why {
        None => format!("ok · pipeline rendered a {priority} report in {took} ms"),
        Some(why) => {
            warn!(why, "heartbeat: the rendered report could not be published");
            format!(
                "FAILED · pipeline rendered a {priority} report in {took} ms that could not be published: {why}"
            )
        }
    };
    info!(ms = took as u64, answered, asked, "heartbeat rehearsed");
    let held = unread_silences(&facts);
    let line = format!(
        "ec2ops heartbeat {verdict} · sources: {answered}/{asked} available{held} · {region} {}",
        env!("CARGO_PKG_VERSION")
    );
    Ok((why.is_none(), line))
}

/// The region and account of a topic ARN (`arn:aws:sns:REGION:ACCOUNT:NAME`), reduced to the characters they
/// can hold (the line and the subject are built from them).
fn place(topic_arn: &str) -> (&str, &str) {
    let mut parts = topic_arn.split(':').skip(3);
    let region = parts
        .next()
        .filter(|r| !r.is_empty() && r.len() <= 32)
        .filter(|r| {
            r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .unwrap_or("-");
    let account = parts
        .next()
        .filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
        .unwrap_or("000000000000");
    (region, account)
}

/// The configured silences that could not be read, said on the line: while one cannot be read, every action is held
/// (a calendar in another account without a grant would otherwise hold them all without a word).
fn unread_silences(facts: &Facts) -> String {
    use crate::remediation::silence::{unread, Unread};
    let names: Vec<String> = unread(facts)
        .into_iter()
        .map(|(what, why)| match what {
            Unread::MuteRules => format!("mute rules ({why})"),
            Unread::Calendar(c) => format!("Change Calendar {c} ({why})"),
        })
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" · every action held: cannot read {}", names.join(", "))
    }
}

/// The sources that answered, and the sources asked (the ledger, which the heartbeat never reads, is neither).
pub fn sources(facts: &Facts) -> (usize, usize) {
    let silences = facts
        .silencers
        .mute_rules
        .iter()
        .map(|s| Some(s.get().is_some()))
        .chain(
            facts
                .silencers
                .calendars
                .iter()
                .map(|(_, s)| Some(s.get().is_some())),
        );
    let asked: [Option<bool>; 13] = [
        Some(facts.instance.get().is_some()),
        Some(facts.status.get().is_some()),
        Some(facts.instance_type.get().is_some()),
        Some(facts.metrics.get().is_some()),
        Some(facts.history.get().is_some()),
        Some(facts.security_groups.get().is_some()),
        Some(facts.volumes.get().is_some()),
        facts.diagnostics.as_ref().map(|s| s.get().is_some()),
        facts.ranking.as_ref().map(|s| s.get().is_some()),
        facts.contributors.as_ref().map(|s| s.get().is_some()),
        facts.evidence.changes.as_ref().map(|s| s.get().is_some()),
        facts.evidence.logs.as_ref().map(|s| s.get().is_some()),
        facts.evidence.alarms.as_ref().map(|s| s.get().is_some()),
    ];
    let asked: Vec<bool> = asked.into_iter().chain(silences).flatten().collect();
    (asked.iter().filter(|a| **a).count(), asked.len())
}

/// Why the rendered report could not go out as a real one would, or `None` when it could: an SNS message within
/// SNS's size, a JSON object with the Chatbot, e-mail and SQS bodies, a short ASCII subject.
fn unpublishable(message: &SnsMessage) -> Option<String> {
    if message.message.len() > SNS_MAX_BYTES {
        return Some(format!(
            "{} bytes, above SNS's 256 KiB",
            message.message.len()
        ));
    }
    let subject = &message.subject;
    if subject.is_empty() || subject.len() >= 100 || !subject.is_ascii() {
        return Some("its subject is empty, too long or not ASCII".into());
    }
    let body: Value = match serde_json::from_str(&message.message) {
        Ok(v) => v,
        Err(_) => return Some("its message is not JSON".into()),
    };
    ["default", "email", "sqs"]
        .into_iter()
        .find(|k| body[*k].as_str().is_none_or(str::is_empty))
        .map(|k| format!("its `{k}` body is missing"))
}

/// The one-line message: the line itself for e-mail and SQS subscribers, a Chatbot custom notification holding it
/// for everyone else (AWS Chatbot drops a message it cannot read).
fn message_of(ok: bool, line: &str, region: &str) -> SnsMessage {
    // Slack's three entities: the line holds none today, but a region or a reason must never form a mention.
    let chat_text = line
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": if ok { "ec2ops heartbeat" } else { "ec2ops heartbeat FAILED" },
            "description": chat_text,
        },
    });
    SnsMessage {
        subject: format!(
            "ec2ops heartbeat {} ({region})",
            if ok { "ok" } else { "FAILED" }
        ),
        message: json!({ "default": chat.to_string(), "email": line, "sqs": line }).to_string(),
        // The heartbeat has its own topic (or the report topic): never the paging one.
        urgent: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_sample_parses_as_a_cpu_alarm_on_the_sample_instance() {
        let now = Utc::now();
        let Ok(Parsed::Alarm(change)) = parse(&sample_alarm(now, "ap-northeast-2", "123456789012"))
        else {
            panic!("the sample is an alarm");
        };
        assert_eq!(change.primary_instance(), Some(SAMPLE_INSTANCE));
        assert_eq!(change.alarm_name, SAMPLE_ALARM);
        assert_eq!(change.state.at.timestamp_millis(), now.timestamp_millis());
        assert!(change.warnings.is_empty(), "{:?}", change.warnings);
    }

    #[test]
    fn a_topic_arn_gives_its_region_and_account_and_anything_else_gives_placeholders() {
        assert_eq!(
            place("arn:aws:sns:ap-northeast-2:123456789012:ec2ops-ops"),
            ("ap-northeast-2", "123456789012")
        );
        assert_eq!(
            place("arn:aws:sns:<b>:12:x"),
            ("-", "000000000000"),
            "nothing odd reaches the line or the subject"
        );
        assert_eq!(place("arn:aws:sns"), ("-", "000000000000"));
    }

    #[test]
    fn the_message_is_the_line_for_mail_and_queues_and_a_chatbot_notification_for_chat() {
        let line = "ec2ops heartbeat ok · pipeline rendered a P2 report in 41 ms · sources: 3/9 available · ap-northeast-2 0.1.0";
        let m = message_of(true, line, "ap-northeast-2");
        assert_eq!(m.subject, "ec2ops heartbeat ok (ap-northeast-2)");
        let body: Value = serde_json::from_str(&m.message).expect("JSON");
        assert_eq!(body["email"], line);
        assert_eq!(body["sqs"], line);
        let chat: Value =
            serde_json::from_str(body["default"].as_str().expect("default")).expect("JSON");
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["content"]["description"], line);
        assert_eq!(unpublishable(&m), None);
    }

    #[test]
    fn a_rendered_message_that_sns_would_refuse_is_named_not_passed() {
        let too_big = SnsMessage {
            subject: "s".into(),
            message: "x".repeat(SNS_MAX_BYTES + 1),
            urgent: false,
        };
        assert!(unpublishable(&too_big).is_some_and(|w| w.contains("256 KiB")));
        let no_email = SnsMessage {
            subject: "s".into(),
            message: json!({"default": "{}", "sqs": "t"}).to_string(),
            urgent: false,
        };
        assert_eq!(
            unpublishable(&no_email).as_deref(),
            Some("its `email` body is missing")
        );
    }
}
