//! The short follow-up posted in an incident's chat thread after ec2ops acted: verified, or not fixed (escalated,
//! with the next step).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use super::render::SnsMessage;
use super::shell::{markdown_code, Command};
use super::steps;
use super::text::{ascii, bound, escape_entities, sanitize, when_in};
use crate::analyze::Priority;
use crate::config::Language;
use crate::facts::{InstanceLookup, Source, StatusFacts};
use crate::remediation::{ActionKind, Continuation, VerifyRequest};

/// What the verification found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Both status checks are `ok` again.
    Fixed,
    /// Still impaired (or not running): the operator must take the next step.
    NotFixed { detail: String },
    /// The status could not be read.
    Unknown { why: String },
}

/// Judge the instance's status after the action.
pub fn verdict(instance: &Source<InstanceLookup>, status: &Source<StatusFacts>) -> Verdict {
    if let Some(InstanceLookup::Found(i)) = instance.get() {
        if !i.is_running() {
            return Verdict::NotFixed {
                detail: format!("instance state {}", i.state),
            };
        }
    }
    match status {
        Source::Unavailable(why) => Verdict::Unknown { why: why.clone() },
        Source::Available(s) => {
            let ok = |v: &Option<String>| v.as_deref() == Some("ok");
            if ok(&s.system) && ok(&s.instance) {
                Verdict::Fixed
            } else {
                Verdict::NotFixed {
                    detail: format!(
                        "system {}, instance {}",
                        s.system.as_deref().unwrap_or("not reported"),
                        s.instance.as_deref().unwrap_or("not reported")
                    ),
                }
            }
        }
    }
}

/// The follow-up's priority: informational when fixed, critical (escalated) when not or unknown.
pub fn priority(v: &Verdict) -> Priority {
    match v {
        Verdict::Fixed => Priority::P3,
        _ => Priority::P0,
    }
}

/// Render the follow-up as an SNS message (same shape as a report: Chatbot JSON default, text for email/SQS).
pub fn render(
    req: &VerifyRequest,
    v: &Verdict,
    now: DateTime<Utc>,
    lang: Language,
    tz: Tz,
) -> SnsMessage {
    let p = priority(v);
    let minutes = (now - req.acted_at).num_minutes();
    let action = req.action.as_str();
    let id = &req.instance_id;
    let region = req.region.as_deref().unwrap_or("us-east-1");
    // The request is an event: its instance id and region reach the commands only through the shell quoting, and
    // the commands sit in chat backticks.
    // The stop sequence of a reboot that did not help: stop, wait until stopped, start, and the forced stop for an
    // instance stuck in `stopping`, each a whole command line.
    let with_region = |c: Command| markdown_code(&c.arg("--region", "REGION", region).render());
    let stop_start: Vec<String> = steps::stop_start(id).into_iter().map(with_region).collect();
    let force = with_region(steps::force_stop(id));
    let console = markdown_code(
        &Command::new("aws ec2 get-console-output")
            .arg("--instance-id", "INSTANCE_ID", id)
            .lit("--latest")
            .arg("--region", "REGION", region)
            .render(),
    );
    let (headline, lines): (String, Vec<String>) = match (v, lang) {
        (Verdict::Fixed, Language::Ko) => (
            format!("Verified: {action} fixed"),
            vec![format!("{action} {minutes}분 후 status check 정상(ok) 확인. 조치 불필요, incident 종료 가능.")],
        ),
        (Verdict::Fixed, Language::En) => (
            format!("Verified: {action} fixed"),
            vec![format!("Status checks are ok {minutes} minutes after the {action}. No action needed; the incident can be closed.")],
        ),
        (Verdict::NotFixed { detail }, _) | (Verdict::Unknown { why: detail }, _) => {
            let mut more: Vec<String> = Vec::new();
            let next = match (req.action, lang) {
                (ActionKind::Reboot, _) => {
                    more.extend(stop_start.iter().map(|c| format!("`{c}`")));
                    more.push(match lang {
                        Language::Ko => format!("10분 넘게 stopping 상태면 강제 중지 후 wait → start: `{force}`"),
                        Language::En => format!("Stuck in `stopping` for more than 10 minutes: force the stop, then wait and start: `{force}`"),
                    });
                    match lang {
                        Language::Ko => "다음 단계: stop/start로 새 호스트 이동 (start는 stopped 확인 후), 그래도 실패하면 EC2Rescue(AWSSupport-ExecuteEC2Rescue) 또는 AMI/snapshot에서 교체:".to_string(),
                        Language::En => "Next step: stop/start onto a new host (start only once it is stopped); if that fails, EC2Rescue (AWSSupport-ExecuteEC2Rescue) or replace from an AMI/snapshot:".to_string(),
                    }
                }
                (ActionKind::StopStart, Language::Ko) => format!(
                    "다음 단계: console 출력 확인 (`{console}`), EC2Rescue, 또는 AMI/snapshot에서 인스턴스 교체; AWS Support 문의"
                ),
                (ActionKind::StopStart, Language::En) => format!(
                    "Next step: read the console output (`{console}`), run EC2Rescue, or replace the instance from an AMI/snapshot; open an AWS Support case"
                ),
            };
            let first = match (v, lang) {
                (Verdict::Unknown { .. }, Language::Ko) => format!("{action} {minutes}분 후 상태 확인 불가: {detail}"),
                (Verdict::Unknown { .. }, Language::En) => {
                    format!("Could not read the status {minutes} minutes after the {action}: {detail}")
                }
                (_, Language::Ko) => format!("{action} {minutes}분 후에도 정상화되지 않음: {detail} → 우선순위 상향"),
                (_, Language::En) => {
                    format!("Not fixed {minutes} minutes after the {action}: {detail} → priority raised")
                }
            };
            let mut lines = vec![first, next];
            lines.extend(more);
            (format!("Not fixed after {action}"), lines)
        }
    };
    message(
        &Thread {
            priority: p,
            headline: &headline,
            instance_id: id,
            alarm_name: &req.alarm_name,
            acted_at: req.acted_at,
            incident_key: &req.incident_key,
            thread_id: &req.thread_id,
            kind: req.action.as_str(),
        },
        &lines,
        lang,
        tz,
    )
}

/// What a follow-up says about its incident, whatever it reports.
struct Thread<'a> {
    priority: Priority,
    headline: &'a str,
    instance_id: &'a str,
    alarm_name: &'a str,
    acted_at: DateTime<Utc>,
    incident_key: &'a str,
    thread_id: &'a str,
    kind: &'a str,
}

fn message(t: &Thread<'_>, lines: &[String], lang: Language, tz: Tz) -> SnsMessage {
    let p = t.priority;
    let (headline, id) = (t.headline, t.instance_id);
    let title = format!("[{}] {headline} — {id}", p.label());
    let subject = bound(&ascii(&format!("[{}] {headline} {id}", p.label())), 99);
    let mut text = format!("{title}\n{}\n", "=".repeat(title.chars().count().min(72)));
    text.push_str(&format!(
        "{}: {}\n",
        if lang == Language::Ko {
            "알람"
        } else {
            "Alarm"
        },
        sanitize(t.alarm_name, 256)
    ));
    text.push_str(&format!(
        "{}: {}\n\n",
        if lang == Language::Ko {
            "조치 시각"
        } else {
            "Action at"
        },
        when_in(t.acted_at, tz, lang)
    ));
    for l in lines {
        text.push_str(&format!("   {l}\n"));
    }
    text.push_str(&format!(
        "\n--\nec2ops · incident {} · thread {}\n",
        t.incident_key, t.thread_id
    ));
    // Our own text, but the commands quote the request's region and the detail quotes EC2's words: Slack's
    // entities, so nothing in them can become a mention.
    let description = lines
        .iter()
        .map(|l| format!("• {}", escape_entities(l)))
        .collect::<Vec<_>>()
        .join("\n");
    let chat = json!({
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": bound(&title, 250),
            "description": bound(&description, 3000),
            "keywords": [p.label(), "ec2ops-verify", t.kind, id],
        },
        "metadata": {
            "threadId": t.thread_id,
            "summary": bound(&format!("[{}] {headline} {id}", p.label()), 250),
            "eventType": "ec2ops.followup",
            "relatedResources": [],
            "additionalContext": { "priority": p.label(), "incidentKey": bound(t.incident_key, 512) }
        }
    });
    SnsMessage {
        subject,
        message: json!({ "default": chat.to_string(), "email": text, "sqs": text }).to_string(),
    }
}

/// How a recover's continuation ended when it could not bring the instance back: the P0 follow-up in the incident's
/// thread, with the instance's state and the exact commands for that state.
pub fn render_recover(
    c: &Continuation,
    state: Option<&str>,
    detail: &str,
    lang: Language,
    tz: Tz,
) -> SnsMessage {
    let id = &c.instance_id;
    let region = c.region.as_deref().unwrap_or("us-east-1");
    let state_text = state.unwrap_or("unknown");
    let mut lines = vec![match lang {
        Language::Ko => {
            format!("복구(stop/start)가 완료되지 않음: 인스턴스 상태 {state_text}. {detail}")
        }
        Language::En => format!(
            "The recover (stop/start) did not complete: the instance is {state_text}. {detail}"
        ),
    }];
    let cmd = |words: &str, id_option: &str| {
        Command::new(words)
            .arg(id_option, "INSTANCE_ID", id)
            .arg("--region", "REGION", region)
    };
    let commands: Vec<String> = match state {
        Some("stopped") => vec![cmd("aws ec2 start-instances", "--instance-ids").render()],
        Some("stopping") => vec![
            Command::new("aws ec2 stop-instances")
                .arg("--instance-ids", "INSTANCE_ID", id)
                .lit("--force")
                .arg("--region", "REGION", region)
                .render(),
            cmd("aws ec2 wait instance-stopped", "--instance-ids").render(),
            cmd("aws ec2 start-instances", "--instance-ids").render(),
        ],
        Some("running" | "pending") => {
            vec![cmd("aws ec2 describe-instance-status", "--instance-ids").render()]
        }
        _ => vec![cmd("aws ec2 describe-instances", "--instance-ids").render()],
    };
    lines.push(match lang {
        Language::Ko => "운영자 조치 (현재 상태 기준):".to_string(),
        Language::En => "Operator steps for the current state:".to_string(),
    });
    lines.extend(commands.into_iter().map(|c| format!("$ {c}")));
    let headline = "Recover incomplete";
    message(
        &Thread {
            priority: Priority::P0,
            headline,
            instance_id: id,
            alarm_name: &c.alarm_name,
            acted_at: c.stopped_at,
            incident_key: &c.incident_key,
            thread_id: &c.thread_id,
            kind: ActionKind::StopStart.as_str(),
        },
        &lines,
        lang,
        tz,
    )
}
