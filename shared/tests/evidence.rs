//! The evidence sources through the gather step with stand-in readers: which calls are made (how many LookupEvents,
//! paced how), and that a throttled or failing source leaves the report whole with the gap named.

mod support;

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ec2ops::analyze::{assess, RuleId};
use ec2ops::config::{Language, Settings};
use ec2ops::evidence::alarms::ListedAlarm;
use ec2ops::evidence::changes::TrailEvent;
use ec2ops::evidence::logs::RawLine;
use ec2ops::facts::{
    InstanceFacts, InstanceLookup, SecurityGroupFacts, StatusFacts, TypeFacts, VolumeFacts,
};
use ec2ops::gather::evidence::{EvidenceReaders, THIRD_LOOKUP_AFTER};
use ec2ops::gather::{gather, Readers};
use ec2ops::ports::{
    AlarmLister, AwsError, ChangeReader, Diagnostics, Impaired, InstanceReader, LogReader, Offline,
};
use ec2ops::remediation::ActionOutcome;
use ec2ops::report::render;

const ID: &str = "i-0b7e4c2d9a1f35c60";

struct Instance;

#[async_trait]
impl InstanceReader for Instance {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError> {
        Ok(InstanceLookup::Found(Box::new(InstanceFacts {
            id: id.into(),
            instance_type: "m5.large".into(),
            state: ec2ops::facts::InstanceState::Running,
            availability_zone: Some("ap-northeast-2a".into()),
            security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into(), "sg-second".into()],
            volume_ids: vec!["vol-0c2d4e6f8a0b1c3d5".into(), "vol-second".into()],
            ..InstanceFacts::default()
        })))
    }
    async fn instance_status(&self, _: &str) -> Result<StatusFacts, AwsError> {
        Ok(StatusFacts::default())
    }
    async fn instance_type(&self, _: &str) -> Result<TypeFacts, AwsError> {
        Err(AwsError::new("ec2", "DescribeInstanceTypes", "not needed"))
    }
    async fn security_groups(&self, _: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        Ok(Vec::new())
    }
    async fn volumes(&self, _: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        Ok(Vec::new())
    }
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        Ok(Vec::new())
    }
}

/// Answers LookupEvents from the recorded response, or throttles; keeps each call's resource and start.
struct Trail {
    throttle: bool,
    calls: Mutex<Vec<(String, Instant)>>,
    /// The time range each call asked for.
    ranges: Mutex<Vec<(DateTime<Utc>, DateTime<Utc>)>>,
}

fn new_trail(throttle: bool) -> Trail {
    Trail {
        throttle,
        calls: Mutex::new(Vec::new()),
        ranges: Mutex::new(Vec::new()),
    }
}

#[async_trait]
impl ChangeReader for Trail {
    async fn changes(
        &self,
        resource: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<TrailEvent>, AwsError> {
        self.ranges.lock().unwrap().push((since, until));
        self.calls
            .lock()
            .unwrap()
            .push((resource.to_string(), Instant::now()));
        if self.throttle {
            return Err(AwsError {
                code: Some("ThrottlingException".into()),
                retryable: true,
                ..AwsError::new("cloudtrail", "LookupEvents", "Rate exceeded")
            });
        }
        Ok(support::evidence::recorded_lookup("prod-api-1-resize.json")
            .into_iter()
            .filter(|e| e.resources.iter().any(|r| r == resource))
            .collect())
    }
}

/// One FilterLogEvents call as asked: since, until, limit.
type Asked = (DateTime<Utc>, DateTime<Utc>, usize);

/// Answers FilterLogEvents with a dozen exception lines; keeps each call's (since, until, limit).
#[derive(Default)]
struct Logs {
    asked: Mutex<Vec<Asked>>,
}

#[async_trait]
impl LogReader for Logs {
    async fn log_lines(
        &self,
        group: &str,
        prefix: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RawLine>, AwsError> {
        self.asked.lock().unwrap().push((since, until, limit));
        match group {
            "/missing" => Err(AwsError {
                code: Some("ResourceNotFoundException".into()),
                ..AwsError::new(
                    "logs",
                    "FilterLogEvents",
                    "The specified log group does not exist.",
                )
            }),
            _ => Ok((0..12)
                .map(|n| RawLine {
                    stream: prefix.to_string(),
                    at: since + chrono::Duration::seconds(30 * n),
                    message: format!("java.lang.IllegalStateException: pool exhausted ({n})"),
                })
                .collect()),
        }
    }
}

struct Alarms;

#[async_trait]
impl AlarmLister for Alarms {
    async fn in_alarm(&self) -> Result<(Vec<ListedAlarm>, bool), AwsError> {
        Ok((
            vec![ListedAlarm {
                name: "prod-api-1-mem-high".into(),
                metrics: vec![(
                    "CWAgent".into(),
                    "mem_used_percent".into(),
                    vec![("InstanceId".into(), ID.into())],
                )],
                since: ec2ops::event::parse_timestamp("2025-08-14T02:55:00.000+0000"),
                ..ListedAlarm::default()
            }],
            false,
        ))
    }
}

/// In-guest diagnostics that answer after a second and a half (the report waits for them).
struct SlowDiagnostics;

#[async_trait]
impl Diagnostics for SlowDiagnostics {
    async fn run(
        &self,
        _: &str,
        _: &str,
        _: Duration,
    ) -> Result<ec2ops::diagnostics::Diagnostics, AwsError> {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        Err(AwsError::new("ssm", "SendCommand", "not managed"))
    }
}

fn settings() -> Settings {
    Settings {
        language: Language::En,
        log_groups: vec!["/ec2/app".into(), "/missing".into()],
        diagnostics_document: Some("ec2ops-diagnostics".into()),
        ..Settings::default()
    }
}

async fn run(trail: &Trail) -> (ec2ops::model::AlarmChange, ec2ops::facts::Facts) {
    run_with(trail, None, &Logs::default()).await
}

async fn run_with(
    trail: &Trail,
    diagnostics: Option<&dyn Diagnostics>,
    logs: &Logs,
) -> (ec2ops::model::AlarmChange, ec2ops::facts::Facts) {
    let change = support::load("change-before.json");
    let readers = Readers {
        ec2: &Instance,
        metrics: &Offline,
        diagnostics,
        evidence: EvidenceReaders {
            changes: Some(trail),
            logs: Some(logs),
            alarms: Some(&Alarms),
            targets: None,
        },
        silence: None,
    };
    let now = change.state.at + chrono::Duration::seconds(3);
    let (_, facts) = gather(&change, &readers, &settings(), now).await;
    (change, facts)
}

fn email(change: &ec2ops::model::AlarmChange, facts: &ec2ops::facts::Facts) -> String {
    let a = assess(change, facts);
    let (report, message) =
        ec2ops::pipeline::render_report(change, facts, &a, &ActionOutcome::ReportOnly, &settings());
    assert!(message.message.len() <= render::SNS_MAX_BYTES);
    render::email(&report)
}

#[tokio::test]
async fn an_incident_makes_two_lookup_events_at_once_and_a_third_only_a_second_later_while_diagnostics_run(
) {
    let trail = new_trail(false);
    let (change, facts) = run(&trail).await;
    let calls = trail.calls.lock().unwrap().clone();
    let resources: Vec<&str> = calls.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        resources,
        [ID, "sg-0a1b2c3d4e5f60718"],
        "no diagnostics: no third lookup"
    );
    assert!(calls[1].1.duration_since(calls[0].1) < Duration::from_millis(500));

    let slow = new_trail(false);
    let logs = Logs::default();
    run_with(&slow, Some(&SlowDiagnostics), &logs).await;
    let calls = slow.calls.lock().unwrap().clone();
    let resources: Vec<&str> = calls.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        resources,
        [ID, "sg-0a1b2c3d4e5f60718", "vol-0c2d4e6f8a0b1c3d5"]
    );
    assert!(calls[2].1.duration_since(calls[0].1) + Duration::from_millis(5) >= THIRD_LOOKUP_AFTER);

    // Six hours of CloudTrail before the transition; logs from 10 minutes before to 2 after, 500 events a group.
    let at = change.state.at;
    for (since, until) in slow.ranges.lock().unwrap().iter() {
        assert_eq!(at - *since, chrono::Duration::hours(6));
        assert!(*until >= at);
    }
    for (since, until, limit) in logs.asked.lock().unwrap().iter() {
        assert_eq!(at - *since, chrono::Duration::minutes(10));
        assert_eq!(*until - at, chrono::Duration::minutes(2));
        assert_eq!(*limit, 500);
    }
    let cited = facts.evidence.logs.as_ref().and_then(|l| l.get()).unwrap();
    assert_eq!(cited.lines.len(), 6, "at most six lines cited");
    assert_eq!(cited.signals, 12);

    let a = assess(&change, &facts);
    let rank = |r: RuleId| a.findings.iter().position(|f| f.rule == r);
    assert!(
        rank(RuleId::ChangeBefore) < rank(RuleId::CpuSustained)
            && rank(RuleId::ChangeBefore).is_some(),
        "CHANGE-BEFORE ranks above the CPU rule: {:?}",
        a.findings.iter().map(|f| f.rule).collect::<Vec<_>>()
    );
    let text = email(&change, &facts);
    // The most likely cause: said by the summary, pointed to by its finding in 📊.
    assert!(
        text.contains("▶ Most likely cause: instance type change 26 min before the transition (the likely trigger) — ModifyInstanceAttribute (instanceType=m5.large) by jiwoo.park@example.com (PlatformAdmin) at 02:40 UTC; 2 other change(s) in the window"),
        "{text}"
    );
    assert!(
        text.contains("[CHANGE-BEFORE] ▶ the most likely cause above"),
        "{text}"
    );
    assert!(text.contains("/missing not found"), "{text}");
    assert!(
        text.contains(
            "prod-api-1-mem-high (CWAgent mem_used_percent) since 02:55 UTC (12 min before this alarm)"
        ),
        "{text}"
    );
    assert!(text.contains("[LOG-ERRORS]"), "{text}");
}

#[tokio::test]
async fn a_throttled_lookup_events_leaves_the_report_whole_and_names_the_gap() {
    let trail = new_trail(true);
    let (change, facts) = run(&trail).await;
    assert_eq!(trail.calls.lock().unwrap().len(), 2);
    let a = assess(&change, &facts);
    assert!(!a.findings.iter().any(|f| f.rule == RuleId::ChangeBefore));
    let text = email(&change, &facts);
    assert!(
        text.contains("CloudTrail LookupEvents: unavailable: i-0b7e4c2d9a1f35c60: cloudtrail LookupEvents: ThrottlingException: Rate exceeded"),
        "{text}"
    );
    // The other evidence is still there.
    assert!(
        text.contains("Other alarms in ALARM on this instance"),
        "{text}"
    );
    assert!(text.contains("7. 🤖"), "{text}");
}

#[tokio::test]
async fn without_evidence_readers_the_report_has_no_evidence_lines_but_keeps_its_links() {
    let change = support::load("change-before.json");
    let readers = Readers {
        ec2: &Instance,
        metrics: &Offline,
        diagnostics: None,
        evidence: EvidenceReaders::NONE,
        silence: None,
    };
    let (_, facts) = gather(&change, &readers, &settings(), change.state.at).await;
    assert_eq!(facts.evidence, Default::default());
    let text = email(&change, &facts);
    assert!(!text.contains("What changed (CloudTrail"), "{text}");
    assert!(text.contains(
        "🔗 Instance: https://ap-northeast-2.console.aws.amazon.com/ec2/home?region=ap-northeast-2#InstanceDetails:instanceId=i-0b7e4c2d9a1f35c60"
    ), "{text}");
}
