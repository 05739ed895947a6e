//! What changed (CloudTrail management events): the event model read from `LookupEvents`, which events are worth
//! showing, and the CHANGE-BEFORE rule — a change within a window before the transition is the likely trigger.
//!
//! Decisions where the product description is silent:
//! - Read-only calls (`Describe*`, `Get*`, `List*`, `readOnly: true`), failed calls (an `errorCode`, DryRun
//!   rehearsals included) and tagging are not changes; they are counted, not shown.
//! - A change made by an AWS service (Auto Scaling replacing an instance, AWS recovering it) is shown and can be the
//!   trigger, named as the service's.
//! - Only changes at or before the transition count for CHANGE-BEFORE: what happened after it is a reaction.
//! - CHANGE-BEFORE judges ALARM and INSUFFICIENT_DATA transitions (a stop makes metrics go missing); an OK
//!   transition has no trigger to name.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{AlarmChange, AlarmState};
use crate::source::{Gap, Source};

/// How far back CloudTrail is read before the transition.
pub const LOOKBACK_HOURS: i64 = 6;
/// LookupEvents calls per incident at most (CloudTrail allows 2 per second per account and region): the instance,
/// then one security group, and one volume where the budget allows ([`super::read`]).
pub const MAX_LOOKUPS: usize = 3;
/// Events one LookupEvents page holds (the API's maximum); a full page means older events were not read.
pub const PAGE: usize = 50;
/// Changes kept for the report.
pub const MAX_SHOWN: usize = 8;
/// Changes by one identity within this many minutes of the newest are one burst (stop, modify, start).
pub const BURST_MINUTES: i64 = 5;
/// Longest user-controlled string kept from an event (names, agents, request summaries).
const FIELD_MAX: usize = 160;

/// One CloudTrail management event as `LookupEvents` returns it, with the fields of its `CloudTrailEvent` JSON that
/// say who, from where and what.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrailEvent {
    pub id: String,
    /// `EventName`, e.g. `ModifyInstanceAttribute`.
    pub name: String,
    /// `EventSource`, e.g. `ec2.amazonaws.com`.
    pub source: String,
    pub at: DateTime<Utc>,
    /// `Username` of the lookup (a role session name, an IAM user, `root`, a service).
    pub username: Option<String>,
    /// `userIdentity.type`: `AssumedRole`, `IAMUser`, `Root`, `AWSService`, …
    pub identity_type: Option<String>,
    /// `userIdentity.arn`.
    pub identity_arn: Option<String>,
    /// `userIdentity.invokedBy`: the service that called on the user's behalf (`autoscaling.amazonaws.com`).
    pub invoked_by: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `errorCode`: the call failed (or was a DryRun).
    pub error_code: Option<String>,
    pub read_only: Option<bool>,
    /// What the request asked for, in a few words (`instanceType=c5.xlarge`, `tcp 22 from 0.0.0.0/0`).
    pub request: Option<String>,
    /// `Resources[].ResourceName`.
    pub resources: Vec<String>,
}

impl TrailEvent {
    /// Fill who, from where and what from the event's `CloudTrailEvent` JSON (absent or unreadable: left empty).
    pub fn with_record(mut self, record: Option<&str>) -> Self {
        let Some(v) = record.and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()) else {
            return self;
        };
        let s = |p: &str| {
            v.pointer(p)
                .and_then(serde_json::Value::as_str)
                .map(|x| super::one_line(x, FIELD_MAX))
        };
        self.identity_type = s("/userIdentity/type");
        self.identity_arn = s("/userIdentity/arn");
        self.invoked_by = s("/userIdentity/invokedBy");
        self.source_ip = s("/sourceIPAddress");
        self.user_agent = s("/userAgent");
        self.error_code = s("/errorCode");
        self.read_only = v.get("readOnly").and_then(serde_json::Value::as_bool);
        self.request = v
            .get("requestParameters")
            .and_then(|r| request_summary(&self.name, r));
        self
    }

    /// Who made the change, in a few words: a role session with its role, an IAM user, root, or a service.
    pub fn who(&self) -> String {
        if let Some(service) = &self.invoked_by {
            return service.clone();
        }
        if let Some(arn) = &self.identity_arn {
            // arn:aws:sts::123456789012:assumed-role/Role/session
            if let Some(rest) = arn.split(":assumed-role/").nth(1) {
                let mut parts = rest.splitn(2, '/');
                if let (Some(role), Some(session)) = (parts.next(), parts.next()) {
                    return format!("{session} ({role})");
                }
            }
            if let Some(user) = arn.split(":user/").nth(1) {
                return user.to_string();
            }
            if arn.ends_with(":root") {
                return "root".into();
            }
        }
        self.username.clone().unwrap_or_else(|| "unknown".into())
    }

    /// Whether an AWS service made the change (on its own or on a user's behalf).
    pub fn by_service(&self) -> bool {
        self.invoked_by.is_some() || self.identity_type.as_deref() == Some("AWSService")
    }

    /// Where from: the source IP (or calling service) and the kind of client.
    pub fn from_where(&self) -> Option<String> {
        let client = self.user_agent.as_deref().map(client_of);
        match (&self.source_ip, client) {
            (Some(ip), Some(c)) if ip != &c => Some(format!("{ip}, {c}")),
            (Some(ip), _) => Some(ip.clone()),
            (None, c) => c,
        }
    }
}

/// The kind of client a user agent names: the console, or the first known tool (Terraform, aws-cli, boto3, an SDK,
/// CloudFormation), else its first word.
fn client_of(agent: &str) -> String {
    let lower = agent.to_ascii_lowercase();
    if lower.contains("console") || agent == "AWS Internal" {
        return "console".into();
    }
    const KNOWN: [&str; 6] = [
        "terraform",
        "aws-cli",
        "boto3",
        "cloudformation",
        "aws-sdk-",
        "pulumi",
    ];
    let words = agent.split_whitespace();
    let name = |w: &str| {
        w.split('/')
            .next()
            .unwrap_or(w)
            .chars()
            .take(40)
            .collect::<String>()
    };
    for known in KNOWN {
        if let Some(w) = agent
            .split_whitespace()
            .find(|w| w.to_ascii_lowercase().starts_with(known))
        {
            return name(w);
        }
    }
    words.map(name).next().unwrap_or_default()
}

/// What a call asked for, for the calls whose parameters say what changed.
fn request_summary(name: &str, r: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Object(o) => o.get("value").and_then(|x| match x {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Bool(b) => Some(b.to_string()),
                _ => None,
            }),
            serde_json::Value::Bool(b) => Some(b.to_string()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    };
    let out = match name {
        "ModifyInstanceAttribute" => {
            let o = r.as_object()?;
            if o.contains_key("userData") {
                "userData (replaced)".to_string()
            } else {
                let (k, v) = o.iter().find(|(k, _)| k.as_str() != "instanceId")?;
                match text(v) {
                    Some(x) => format!("{k}={x}"),
                    None => k.clone(),
                }
            }
        }
        "RunInstances" => format!("image {}", text(r.get("imageId")?)?),
        "AuthorizeSecurityGroupIngress"
        | "AuthorizeSecurityGroupEgress"
        | "RevokeSecurityGroupIngress"
        | "RevokeSecurityGroupEgress" => {
            let group = r.get("groupId").and_then(text).unwrap_or_default();
            let perms: Vec<String> = r
                .pointer("/ipPermissions/items")
                .and_then(serde_json::Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .take(3)
                        .map(|p| {
                            let proto = p.get("ipProtocol").and_then(text).unwrap_or_default();
                            let from = p.get("fromPort").and_then(text).unwrap_or_default();
                            let to = p.get("toPort").and_then(text).unwrap_or_default();
                            let cidrs: Vec<String> = p
                                .pointer("/ipRanges/items")
                                .and_then(serde_json::Value::as_array)
                                .map(|c| {
                                    c.iter()
                                        .filter_map(|x| x.get("cidrIp").and_then(text))
                                        .take(2)
                                        .collect()
                                })
                                .unwrap_or_default();
                            let ports = if from == to {
                                from
                            } else {
                                format!("{from}-{to}")
                            };
                            if cidrs.is_empty() {
                                format!("{proto} {ports}")
                            } else {
                                format!("{proto} {ports} {}", cidrs.join(","))
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            format!("{group} {}", perms.join("; ")).trim().to_string()
        }
        "SendCommand" | "StartAutomationExecution" => text(r.get("documentName")?)?,
        "ModifyVolume" => {
            let o = r.as_object()?;
            o.iter()
                .filter(|(k, _)| k.as_str() != "volumeId" && k.as_str() != "ModifyVolumeRequest")
                .filter_map(|(k, v)| text(v).map(|x| format!("{k}={x}")))
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        }
        "StopInstances" => match r.get("force").and_then(serde_json::Value::as_bool) {
            Some(true) => "force".into(),
            _ => return None,
        },
        _ => return None,
    };
    let out = super::one_line(&out, FIELD_MAX);
    (!out.is_empty()).then_some(out)
}

/// The kinds of change an on-call engineer asks about first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Instance type changed.
    Resize,
    /// User data replaced.
    UserData,
    /// Another instance attribute (metadata options, credit specification, stop protection, …).
    Attribute,
    /// Stopped, started, rebooted or terminated.
    StopStart,
    /// Launched (the AMI it came from).
    Launch,
    /// A security-group rule added, removed or changed.
    SecurityGroup,
    /// A volume attached, detached or modified.
    Volume,
    /// An SSM command, session or automation on the instance.
    Command,
    /// Auto Scaling activity.
    AutoScaling,
    /// Instance profile (IAM role) associated or replaced.
    Role,
    /// Network interface or address changed.
    Network,
}

impl ChangeKind {
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Resize => "instance type change",
            ChangeKind::UserData => "user-data change",
            ChangeKind::Attribute => "attribute change",
            ChangeKind::StopStart => "stop/start/reboot",
            ChangeKind::Launch => "launch",
            ChangeKind::SecurityGroup => "security-group rule change",
            ChangeKind::Volume => "volume change",
            ChangeKind::Command => "SSM command",
            ChangeKind::AutoScaling => "Auto Scaling activity",
            ChangeKind::Role => "instance profile change",
            ChangeKind::Network => "network change",
        }
    }
}

/// A relevant event and what kind of change it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub event: TrailEvent,
}

/// Which kind of change an event is; `None` for what is not a change worth showing (read-only, failed, tagging,
/// calls that change nothing on the instance).
pub fn classify(e: &TrailEvent) -> Option<ChangeKind> {
    if e.error_code.is_some() || e.read_only == Some(true) {
        return None;
    }
    let n = e.name.as_str();
    if ["Describe", "Get", "List", "Lookup", "BatchGet"]
        .iter()
        .any(|p| n.starts_with(p))
    {
        return None;
    }
    let auto_scaling = e.source == "autoscaling.amazonaws.com"
        || e.invoked_by.as_deref() == Some("autoscaling.amazonaws.com");
    let kind = match n {
        "CreateTags" | "DeleteTags" => return None,
        _ if auto_scaling => ChangeKind::AutoScaling,
        "ModifyInstanceAttribute" => match e.request.as_deref() {
            Some(r) if r.starts_with("instanceType") => ChangeKind::Resize,
            Some(r) if r.starts_with("userData") => ChangeKind::UserData,
            Some(r) if r.starts_with("groupSet") => ChangeKind::SecurityGroup,
            _ => ChangeKind::Attribute,
        },
        "ModifyInstanceMetadataOptions"
        | "ModifyInstanceCreditSpecification"
        | "ModifyInstanceMaintenanceOptions"
        | "ModifyInstancePlacement" => ChangeKind::Attribute,
        "StopInstances" | "StartInstances" | "RebootInstances" | "TerminateInstances" => {
            ChangeKind::StopStart
        }
        "RunInstances" => ChangeKind::Launch,
        "AuthorizeSecurityGroupIngress"
        | "AuthorizeSecurityGroupEgress"
        | "RevokeSecurityGroupIngress"
        | "RevokeSecurityGroupEgress"
        | "ModifySecurityGroupRules"
        | "UpdateSecurityGroupRuleDescriptionsIngress" => ChangeKind::SecurityGroup,
        "AttachVolume" | "DetachVolume" | "ModifyVolume" | "DeleteVolume" => ChangeKind::Volume,
        "SendCommand" | "StartSession" | "StartAutomationExecution" => ChangeKind::Command,
        "AssociateIamInstanceProfile"
        | "ReplaceIamInstanceProfileAssociation"
        | "DisassociateIamInstanceProfile" => ChangeKind::Role,
        "ModifyNetworkInterfaceAttribute"
        | "AttachNetworkInterface"
        | "DetachNetworkInterface"
        | "AssociateAddress"
        | "DisassociateAddress" => ChangeKind::Network,
        _ => return None,
    };
    Some(kind)
}

/// What one resource's lookup returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// The `ResourceName` looked up (instance, security group or volume id).
    pub resource: String,
    pub events: Result<Vec<TrailEvent>, Gap>,
}

/// The changes found for the incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// The CHANGE-BEFORE window.
    pub window_minutes: i64,
    /// Resources looked up, in order.
    pub looked_up: Vec<String>,
    /// Relevant changes, newest first, at most [`MAX_SHOWN`].
    pub changes: Vec<Change>,
    /// Relevant changes found beyond [`MAX_SHOWN`].
    pub more: usize,
    /// Events read that are not changes (read-only, failed, tagging).
    pub ignored: usize,
    /// Resources whose page came back full: older events in the lookback were not read.
    pub full: Vec<String>,
    /// Resources whose lookup failed, with the reason (throttled, timed out).
    pub gaps: Vec<(String, Gap)>,
}

impl Changes {
    /// Put the lookups together: events deduplicated (one call can touch the instance and its volume), classified,
    /// newest first. Unavailable only when every lookup failed.
    pub fn assemble(
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        window_minutes: i64,
        lookups: Vec<Lookup>,
    ) -> Source<Changes> {
        if !lookups.is_empty() && lookups.iter().all(|l| l.events.is_err()) {
            let why: Vec<(String, Gap)> = lookups
                .iter()
                .filter_map(|l| {
                    l.events
                        .as_ref()
                        .err()
                        .map(|e| (l.resource.clone(), e.clone()))
                })
                .collect();
            return Source::Unavailable(Gap::Each(why));
        }
        let mut out = Changes {
            since: Some(since),
            until: Some(until),
            window_minutes,
            ..Changes::default()
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut all: Vec<Change> = Vec::new();
        for l in lookups {
            out.looked_up.push(l.resource.clone());
            match l.events {
                Err(e) => out.gaps.push((l.resource, e)),
                Ok(events) => {
                    if events.len() >= PAGE {
                        out.full.push(l.resource.clone());
                    }
                    for e in events {
                        if !seen.insert(e.id.clone()) {
                            continue;
                        }
                        match classify(&e) {
                            Some(kind) => all.push(Change { kind, event: e }),
                            None => out.ignored += 1,
                        }
                    }
                }
            }
        }
        all.sort_by(|a, b| {
            b.event
                .at
                .cmp(&a.event.at)
                .then(a.event.id.cmp(&b.event.id))
        });
        out.more = all.len().saturating_sub(MAX_SHOWN);
        all.truncate(MAX_SHOWN);
        out.changes = all;
        Source::Available(out)
    }
}

/// The likely trigger and every change in the window (newest first); `None` when the window holds no change or the
/// transition is to OK.
pub fn trigger<'a>(
    change: &AlarmChange,
    changes: &'a Changes,
) -> Option<(&'a Change, Vec<&'a Change>)> {
    if change.state.value == AlarmState::Ok {
        return None;
    }
    let at = change.state.at;
    let window = Duration::minutes(changes.window_minutes.max(0));
    let from = at.checked_sub_signed(window)?;
    // Newest first already: the first in the window is the closest to the transition.
    let within: Vec<&Change> = changes
        .changes
        .iter()
        .filter(|c| c.event.at <= at && c.event.at >= from)
        .collect();
    let newest = *within.first()?;
    // One person's burst (stop, modify, start within minutes) is one change: named by its most telling step.
    let latest = within
        .iter()
        .copied()
        .filter(|c| {
            newest.event.at - c.event.at <= Duration::minutes(BURST_MINUTES)
                && c.event.who() == newest.event.who()
        })
        .min_by_key(|c| c.kind)
        .unwrap_or(newest);
    Some((latest, within))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::evidence::change_before;
    use crate::analyze::{Detail, RuleId};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ev(id: &str, name: &str, at: &str, record: &str) -> TrailEvent {
        TrailEvent {
            id: id.into(),
            name: name.into(),
            source: "ec2.amazonaws.com".into(),
            at: t(at),
            username: Some("alice".into()),
            resources: vec!["i-0abc".into()],
            ..TrailEvent::default()
        }
        .with_record(Some(record))
    }

    const RESIZE: &str = r#"{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/OpsAdmin/alice@example.com"},"sourceIPAddress":"203.0.113.7","userAgent":"AWS Internal","requestParameters":{"instanceId":"i-0abc","instanceType":{"value":"t3.small"}},"readOnly":false}"#;

    fn alarm_at(at: &str) -> AlarmChange {
        crate::evidence::test_alarm(t(at))
    }

    #[test]
    fn a_resize_is_read_with_who_from_where_and_what() {
        let e = ev(
            "e1",
            "ModifyInstanceAttribute",
            "2025-07-20T11:50:00Z",
            RESIZE,
        );
        assert_eq!(classify(&e), Some(ChangeKind::Resize));
        assert_eq!(e.who(), "alice@example.com (OpsAdmin)");
        assert_eq!(e.from_where().as_deref(), Some("203.0.113.7, console"));
        assert_eq!(e.request.as_deref(), Some("instanceType=t3.small"));
    }

    #[test]
    fn the_client_is_the_console_or_the_tool_the_user_agent_names() {
        assert_eq!(client_of("AWS Internal"), "console");
        assert_eq!(
            client_of("APN/1.0 HashiCorp/1.0 Terraform/1.9.5 aws-sdk-go-v2/1.30.3"),
            "Terraform"
        );
        assert_eq!(
            client_of("aws-cli/2.15.0 Python/3.11.6 Linux/6.1"),
            "aws-cli"
        );
        assert_eq!(client_of("Boto3/1.34.0 md/Botocore#1.34.0"), "Boto3");
        assert_eq!(client_of("curl/8.0"), "curl");
    }

    #[test]
    fn read_only_failed_and_tagging_calls_are_not_changes() {
        let ro = ev(
            "a",
            "DescribeInstances",
            "2025-07-20T11:50:00Z",
            r#"{"readOnly":true}"#,
        );
        let dry = ev(
            "b",
            "RebootInstances",
            "2025-07-20T11:50:00Z",
            r#"{"errorCode":"Client.DryRunOperation","readOnly":false}"#,
        );
        let tag = ev(
            "c",
            "CreateTags",
            "2025-07-20T11:50:00Z",
            r#"{"readOnly":false}"#,
        );
        for e in [ro, dry, tag] {
            assert_eq!(classify(&e), None, "{}", e.name);
        }
    }

    #[test]
    fn auto_scaling_acting_on_the_instance_is_auto_scaling_activity() {
        let e = ev(
            "a",
            "TerminateInstances",
            "2025-07-20T11:50:00Z",
            r#"{"userIdentity":{"type":"AssumedRole","invokedBy":"autoscaling.amazonaws.com"},"sourceIPAddress":"autoscaling.amazonaws.com"}"#,
        );
        assert_eq!(classify(&e), Some(ChangeKind::AutoScaling));
        assert!(e.by_service());
        assert_eq!(e.who(), "autoscaling.amazonaws.com");
    }

    #[test]
    fn a_world_open_ingress_rule_is_summarized_by_port_and_range() {
        let e = ev(
            "a",
            "AuthorizeSecurityGroupIngress",
            "2025-07-20T11:50:00Z",
            r#"{"requestParameters":{"groupId":"sg-1","ipPermissions":{"items":[{"ipProtocol":"tcp","fromPort":22,"toPort":22,"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"}]}}]}}}"#,
        );
        assert_eq!(classify(&e), Some(ChangeKind::SecurityGroup));
        assert_eq!(e.request.as_deref(), Some("sg-1 tcp 22 0.0.0.0/0"));
    }

    #[test]
    fn a_change_within_the_window_before_the_alarm_is_named_as_the_likely_trigger() {
        let changes = Changes::assemble(
            t("2025-07-20T06:20:00Z"),
            t("2025-07-20T12:21:00Z"),
            60,
            vec![Lookup {
                resource: "i-0abc".into(),
                events: Ok(vec![
                    ev("old", "RebootInstances", "2025-07-20T09:00:00Z", "{}"),
                    ev(
                        "e1",
                        "ModifyInstanceAttribute",
                        "2025-07-20T11:50:00Z",
                        RESIZE,
                    ),
                    ev("after", "StopInstances", "2025-07-20T12:25:00Z", "{}"),
                ]),
            }],
        );
        let c = changes.get().unwrap();
        let f = change_before(&alarm_at("2025-07-20T12:20:28Z"), c).unwrap();
        assert_eq!(f.rule, RuleId::ChangeBefore);
        match f.detail {
            Detail::Evidence(crate::evidence::EvidenceDetail::ChangeBefore {
                kind,
                minutes_before,
                others,
                ..
            }) => {
                assert_eq!(kind, ChangeKind::Resize);
                assert_eq!(minutes_before, 30);
                assert_eq!(
                    others, 0,
                    "the reboot at 09:00 is outside the window, the stop is after"
                );
            }
            other => panic!("{other:?}"),
        }
        let english = crate::report::evidence::line(
            &f.evidence[0],
            chrono_tz::UTC,
            crate::config::Language::En,
            60,
        );
        assert_eq!(
            english,
            "11:50 UTC CloudTrail ModifyInstanceAttribute (instanceType=t3.small) · alice@example.com (OpsAdmin) · 203.0.113.7, console · event e1"
        );
    }

    #[test]
    fn a_stop_resize_start_burst_is_named_by_its_resize() {
        let changes = Changes::assemble(
            t("2025-07-20T06:20:00Z"),
            t("2025-07-20T12:21:00Z"),
            60,
            vec![Lookup {
                resource: "i-0abc".into(),
                events: Ok(vec![
                    ev("stop", "StopInstances", "2025-07-20T11:48:00Z", RESIZE),
                    ev(
                        "resize",
                        "ModifyInstanceAttribute",
                        "2025-07-20T11:49:00Z",
                        RESIZE,
                    ),
                    ev("start", "StartInstances", "2025-07-20T11:50:00Z", RESIZE),
                ]),
            }],
        );
        let f = change_before(&alarm_at("2025-07-20T12:20:28Z"), changes.get().unwrap()).unwrap();
        match f.detail {
            Detail::Evidence(crate::evidence::EvidenceDetail::ChangeBefore {
                kind,
                others,
                ..
            }) => {
                assert_eq!(kind, ChangeKind::Resize);
                assert_eq!(others, 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_change_in_the_window_or_an_ok_transition_names_no_trigger() {
        let changes = Changes::assemble(
            t("2025-07-20T06:20:00Z"),
            t("2025-07-20T12:21:00Z"),
            60,
            vec![Lookup {
                resource: "i-0abc".into(),
                events: Ok(vec![ev(
                    "e1",
                    "ModifyInstanceAttribute",
                    "2025-07-20T11:50:00Z",
                    RESIZE,
                )]),
            }],
        );
        let c = changes.get().unwrap();
        assert!(change_before(&alarm_at("2025-07-20T13:00:00Z"), c).is_none());
        let mut ok = alarm_at("2025-07-20T12:20:00Z");
        ok.state.value = AlarmState::Ok;
        assert!(change_before(&ok, c).is_none());
    }

    #[test]
    fn a_throttled_lookup_is_a_named_gap_and_all_failing_makes_the_source_unavailable() {
        let throttled = || {
            Err(Gap::Failed(
                "cloudtrail LookupEvents: ThrottlingException: Rate exceeded".into(),
            ))
        };
        let partial = Changes::assemble(
            t("2025-07-20T06:20:00Z"),
            t("2025-07-20T12:21:00Z"),
            60,
            vec![
                Lookup {
                    resource: "i-0abc".into(),
                    events: Ok(vec![]),
                },
                Lookup {
                    resource: "sg-1".into(),
                    events: throttled(),
                },
            ],
        );
        assert_eq!(partial.get().unwrap().gaps[0].0, "sg-1");
        let none = Changes::assemble(
            t("2025-07-20T06:20:00Z"),
            t("2025-07-20T12:21:00Z"),
            60,
            vec![Lookup {
                resource: "i-0abc".into(),
                events: throttled(),
            }],
        );
        assert!(none
            .reason()
            .unwrap()
            .to_string()
            .contains("ThrottlingException"));
    }

    #[test]
    fn one_event_touching_two_looked_up_resources_is_shown_once() {
        let e = ev("same", "AttachVolume", "2025-07-20T11:50:00Z", "{}");
        let c = Changes::assemble(
            t("2025-07-20T06:20:00Z"),
            t("2025-07-20T12:21:00Z"),
            60,
            vec![
                Lookup {
                    resource: "i-0abc".into(),
                    events: Ok(vec![e.clone()]),
                },
                Lookup {
                    resource: "vol-1".into(),
                    events: Ok(vec![e]),
                },
            ],
        );
        assert_eq!(c.get().unwrap().changes.len(), 1);
    }
}
