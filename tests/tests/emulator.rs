//! Every adapter over HTTP against the local emulator, and the whole pipeline: seed an instance, its metrics and
//! alarm, run the handler on an event, receive the published report through an SQS subscription.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use ec2ops::config::{Language, Settings};
use ec2ops::facts::{InstanceLookup, Role};
use ec2ops::gather::{plan_window, Readers};
use ec2ops::pipeline::{HandleError, Outcome};
use ec2ops::ports::{InstanceReader, MetricReader, ReportPublisher};
use ec2ops_aws::{AwsClients, CloudWatchReader, Ec2Reader, SnsPublisher};
use ec2ops_tests::*;

// The contract suite of the in-memory ports and their DynamoDB adapters (a module of this binary: each test binary
// links the whole SDK).
#[path = "emulator/contract.rs"]
mod contract;
// Customer impact on moto: the ELB adapter and its model, and the report of an instance behind a failing ALB.
#[path = "emulator/impact.rs"]
mod impact;

macro_rules! emulator {
    () => {
        match Emulator::connect().await {
            Some(e) => e,
            None => return,
        }
    };
}

fn settings(language: Language, topic: &str) -> Settings {
    Settings {
        language,
        topic_arn: Some(topic.to_string()),
        ..Settings::default()
    }
}

#[tokio::test]
async fn ec2_adapter_reads_instance_status_type_groups_and_volumes() {
    let emu = emulator!();
    let sg = emu.security_group("adapter-sg", &[22, 443]).await;
    let id = emu
        .instance(
            "t3.small",
            &[("Name", "adapter-test"), ("Environment", "dev")],
            std::slice::from_ref(&sg),
        )
        .await;
    let ec2 = Ec2Reader::new(emu.ec2.clone());

    let InstanceLookup::Found(i) = ec2.instance(&id).await.unwrap() else {
        panic!("instance not found")
    };
    assert_eq!(i.instance_type, "t3.small");
    assert_eq!(i.name(), Some("adapter-test"));
    assert_eq!(i.environment(), Some("dev"));
    assert_eq!(i.state, ec2ops::facts::InstanceState::Running);
    assert!(i.private_ip.is_some());
    // The header's network line: DescribeInstances gives the VPC and the subnet.
    assert!(
        i.vpc_id.as_deref().is_some_and(|v| v.starts_with("vpc-")),
        "{:?}",
        i.vpc_id
    );
    assert!(
        i.subnet_id
            .as_deref()
            .is_some_and(|s| s.starts_with("subnet-")),
        "{:?}",
        i.subnet_id
    );
    assert_eq!(i.security_group_ids, vec![sg.clone()]);

    let status = ec2.instance_status(&id).await.unwrap();
    assert_eq!(status.system.as_deref(), Some("ok"));
    assert_eq!(status.instance.as_deref(), Some("ok"));

    let ty = ec2.instance_type("t3.small").await.unwrap();
    assert!(ty.burstable);
    assert_eq!(ty.vcpus, Some(2));

    let groups = ec2.security_groups(&[sg]).await.unwrap();
    let open: Vec<Option<i32>> = groups[0].world_open.iter().map(|r| r.from_port).collect();
    assert!(
        open.contains(&Some(22)) && open.contains(&Some(443)),
        "{open:?}"
    );

    // Volumes: whatever the emulator attaches, the call succeeds through the real client.
    ec2.volumes(&id).await.unwrap();
}

#[tokio::test]
async fn ec2_adapter_reports_an_unknown_instance_as_not_found() {
    let emu = emulator!();
    let ec2 = Ec2Reader::new(emu.ec2.clone());
    assert_eq!(
        ec2.instance("i-0123456789abcdef0").await.unwrap(),
        InstanceLookup::NotFound
    );
}

#[tokio::test]
async fn cloudwatch_adapter_returns_the_seeded_window_and_alarm_history() {
    let emu = emulator!();
    let (id, at) = seed_cpu_spike(&emu).await;
    let event = event_for("cpu-spike.json", &id, at);
    let ec2ops::event::Parsed::Alarm(change) = ec2ops::event::parse(&event).unwrap() else {
        panic!("not an alarm")
    };
    let cw = CloudWatchReader::new(emu.cloudwatch.clone());
    let request = plan_window(&change, chrono::Duration::minutes(30));
    let data = cw.metric_data(&request).await.unwrap();
    let window = ec2ops::gather::assemble(&request, &data);
    let cpu = window.get(Role::Cpu).expect("cpu series");
    assert_eq!(cpu.last().unwrap().1, 39.58);
    assert!(cpu.points.len() >= 25, "{}", cpu.points.len());
    assert_eq!(
        window.get(Role::NetworkIn).unwrap().max(),
        Some(3_320_000.0)
    );

    let history = cw
        .alarm_history(
            "EC2-HighCPU-VPC02-Private-B",
            at - chrono::Duration::days(7),
            Utc::now(),
        )
        .await
        .unwrap();
    assert!(
        !history.items.is_empty(),
        "set_alarm_state leaves a StateUpdate"
    );
}

#[tokio::test]
async fn sns_adapter_publishes_one_json_structured_message_per_incident() {
    let emu = emulator!();
    let (topic, queue) = emu.topic_with_queue("adapter").await;
    let sns = SnsPublisher::new(emu.sns.clone());
    let msg = ec2ops::report::render::SnsMessage {
        subject: "[P3] test".into(),
        message: serde_json::json!({"default": "{}", "email": "E", "sqs": "Q"}).to_string(),
        urgent: false,
    };
    let id = sns.publish(&topic, &msg).await.unwrap();
    assert!(!id.is_empty());
    let got = emu.notifications(&queue, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].subject, "[P3] test");
    assert_eq!(
        got[0].message, "Q",
        "the SQS subscriber receives its protocol's body"
    );
}

#[tokio::test]
async fn seed_incident_end_to_end_publishes_a_p2_cpu_spike_report() {
    let emu = emulator!();
    let (id, at) = seed_cpu_spike(&emu).await;
    let (topic, queue) = emu.topic_with_queue("pipeline").await;
    let responder = emu.report_only(&settings(Language::En, &topic));
    let event = event_for("cpu-spike.json", &id, at);
    let outcome = respond_now(&responder, &event).await.unwrap();
    let Outcome::Reported(incident) = outcome else {
        panic!("ignored")
    };
    let gaps: Vec<_> = incident
        .facts
        .gaps()
        .into_iter()
        .filter(|(name, _)| *name != "Ledger")
        .collect();
    assert!(gaps.is_empty(), "every AWS source answered: {gaps:?}");

    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "exactly one publish");
    let n = &got[0];
    assert_eq!(n.subject, format!("[P2] CPU spike {id} (VPC02-Private-B)"));
    for needle in [
        "[CPU-SPIKE]",
        "[NET-LEADS-CPU]",
        "0.26% → 0.24% → 1.75% → 39.58%",
        "t3.small",
        "1. 🚨 Urgency",
        "2. 📊 Current situation",
        "3. 🔧 Immediate actions",
        "4. 📈 Long-term improvements",
        "5. 💰 Cost impact",
        "6. 🔒 Security considerations",
        "7. 🤖 Automation opportunities",
        "admin port (SSH) reachable from the internet",
        "P2 Medium",
    ] {
        assert!(
            n.message.contains(needle),
            "missing {needle:?} in:\n{}",
            n.message
        );
    }
}

#[tokio::test]
async fn status_check_failure_on_an_untagged_instance_is_p0_with_the_recover_steps() {
    let emu = emulator!();
    let id = emu
        .instance("m5.large", &[("Name", "prod-db-1")], &[])
        .await;
    let minute = now_minute();
    let points: Vec<_> = (1..=30)
        .map(|m| {
            (
                minute - chrono::Duration::minutes(m),
                if m <= 2 { 1.0 } else { 0.0 },
            )
        })
        .collect();
    emu.series("AWS/EC2", "StatusCheckFailed_System", &id, &points)
        .await;
    let (topic, queue) = emu.topic_with_queue("syscheck").await;
    let responder = emu.report_only(&settings(Language::Ko, &topic));
    let at = minute + chrono::Duration::seconds(3);
    let event = event_for("status-system.json", &id, at);
    respond_now(&responder, &event).await.unwrap();
    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].subject,
        format!("[P0] System status check failed {id} (prod-db-1)")
    );
    assert!(got[0].message.contains("[SYS-CHECK]"));
    assert!(got[0]
        .message
        .contains(&format!("aws ec2 stop-instances --instance-ids {id}")));
    assert!(got[0]
        .message
        .contains("Environment 태그 없음: 운영 환경으로 간주"));
}

#[tokio::test]
async fn unreachable_ec2_and_cloudwatch_degrade_the_report_instead_of_losing_it() {
    let emu = emulator!();
    let (topic, queue) = emu.topic_with_queue("degraded").await;
    // Port 9 (discard) on loopback: nothing listens, connections are refused at once.
    let dead = config_for("http://127.0.0.1:9").await;
    let ec2 = Ec2Reader::new(aws_sdk_ec2::Client::new(&dead));
    let cw = CloudWatchReader::new(aws_sdk_cloudwatch::Client::new(&dead));
    let mut responder = emu.report_only(&settings(Language::En, &topic));
    responder.ec2 = Arc::new(ec2);
    responder.metrics = Arc::new(cw);
    let event = event_for("status-instance.json", "i-0d1e2f3a4b5c6d7e8", Utc::now());
    let outcome = respond_now(&responder, &event).await.unwrap();
    let Outcome::Reported(incident) = outcome else {
        panic!("ignored")
    };
    // Seven AWS sources, plus the ledger (none configured here).
    assert_eq!(incident.facts.gaps().len(), 8);
    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .subject
        .starts_with("[P0] Instance status check failed"));
    assert!(
        got[0]
            .message
            .contains("unavailable: ec2 DescribeInstances"),
        "{}",
        got[0].message
    );
}

#[tokio::test]
async fn a_publish_failure_is_an_error_so_lambda_retries_the_event() {
    let emu = emulator!();
    let missing = "arn:aws:sns:ap-northeast-2:000000000000:does-not-exist";
    let responder = emu.report_only(&settings(Language::En, missing));
    let event = event_for("cpu-spike.json", "i-0ae3d067021f08710", Utc::now());
    let err = respond_now(&responder, &event).await.unwrap_err();
    match err {
        HandleError::Publish(e) => {
            assert_eq!(e.service, "sns");
            assert!(e.code.is_some(), "the AWS error code is kept: {e}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn cloudwatch_agent_metrics_are_discovered_and_each_filesystem_is_charted_by_path() {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    let emu = emulator!();
    let id = emu
        .instance("m5.large", &[("Name", "agent-test")], &[])
        .await;
    let minute = now_minute();
    let dims = |extra: &[(&str, &str)]| {
        let mut d = vec![Dimension::builder().name("InstanceId").value(&id).build()];
        d.extend(
            extra
                .iter()
                .map(|(k, v)| Dimension::builder().name(*k).value(*v).build()),
        );
        d
    };
    let mut data = Vec::new();
    for m in 1..=10 {
        let at = aws_smithy_types::DateTime::from_millis(
            (minute - chrono::Duration::minutes(m)).timestamp_millis(),
        );
        for (name, extra, value) in [
            (
                "disk_used_percent",
                vec![("path", "/"), ("device", "nvme0n1p1"), ("fstype", "xfs")],
                95.5,
            ),
            (
                "disk_used_percent",
                vec![("path", "/data"), ("device", "nvme1n1"), ("fstype", "xfs")],
                40.0,
            ),
            ("mem_used_percent", vec![("ImageId", "ami-12c6146b")], 91.0),
        ] {
            data.push(
                MetricDatum::builder()
                    .metric_name(name)
                    .set_dimensions(Some(dims(&extra)))
                    .timestamp(at)
                    .value(value)
                    .build(),
            );
        }
    }
    for chunk in data.chunks(20) {
        emu.cloudwatch
            .put_metric_data()
            .namespace("CWAgent")
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
    }
    // No delivery: the report is only looked at.
    let mut responder = emu.report_only(&settings(
        Language::En,
        "arn:aws:sns:ap-northeast-2:000000000000:t",
    ));
    responder.delivery = None;
    let event = event_for(
        "disk-full.json",
        &id,
        minute + chrono::Duration::seconds(41),
    );
    let Outcome::Reported(incident) = respond_now(&responder, &event).await.unwrap() else {
        panic!("ignored")
    };
    let window = incident.facts.metrics.get().expect("metric window");
    let root = window
        .get(Role::Disk(0))
        .expect("root filesystem charted first");
    assert_eq!(root.label(), "disk_used_percent /");
    assert_eq!(
        window.get(Role::Disk(1)).unwrap().label(),
        "disk_used_percent /data"
    );
    assert_eq!(
        window.get(Role::Memory).unwrap().last().unwrap().1,
        91.0,
        "memory found with its real dimensions"
    );
    let rules: Vec<&str> = incident
        .assessment
        .findings
        .iter()
        .map(|f| f.rule.code())
        .collect();
    assert_eq!(rules, ["MEM", "DISK"]);
    assert!(window.metrics_requested <= 12);
}

#[tokio::test]
async fn the_diagnostics_document_registers_and_runs_through_ssm() {
    use ec2ops::ports::Diagnostics as _;
    use ec2ops_aws::SsmDiagnostics;
    let emu = emulator!();
    let ssm = aws_sdk_ssm::Client::new(&emu.config);
    let content = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/ssm-diagnostics.yaml"
    ))
    .unwrap();
    let name = format!("ec2ops-diagnostics-{}", Utc::now().timestamp_millis());
    ssm.create_document()
        .name(&name)
        .content(content)
        .document_type(aws_sdk_ssm::types::DocumentType::Command)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Yaml)
        .send()
        .await
        .expect("SSM accepts the shipped document");
    let id = emu.instance("m5.large", &[("Name", "ssm-test")], &[]).await;
    let started = std::time::Instant::now();
    // The emulated Run Command reports Success with empty output: every section comes back missing, not an error.
    let d = SsmDiagnostics::from_config(&emu.config)
        .run(&id, &name, Duration::from_secs(10))
        .await
        .expect("emulated run");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(d.is_empty());
    assert_eq!(d.missing.len(), ec2ops::diagnostics::SECTIONS.len());
}

#[tokio::test]
async fn the_slack_apps_settings_are_read_from_a_secure_string_once_kept_and_never_quoted() {
    use ec2ops::ports::SlackSettings as _;
    let emu = emulator!();
    let name = format!("/ec2ops-test/slack-app-{}", ec2ops_tests::unique_suffix());
    emu.secure_parameter(
        &name,
        r#"{"signingSecret": "s3cret-value", "approvers": ["U0ONCALL1", "U0ONCALL2"]}"#,
    )
    .await;
    let settings = emu.aws().slack_settings(&name);
    let app = settings.slack_app().await.expect("read through SSM");
    assert_eq!(app.signing_secret, b"s3cret-value");
    assert_eq!(app.approvers, ["U0ONCALL1", "U0ONCALL2"]);
    // Kept: a changed parameter is read again only by a new execution environment.
    emu.secure_parameter(&name, r#"{"signingSecret": "other", "approvers": ["U9"]}"#)
        .await;
    assert_eq!(settings.slack_app().await.expect("kept"), app);
    // A missing parameter keeps SSM's code; an unreadable one is named without its text.
    let missing = emu
        .aws()
        .slack_settings(&format!("{name}-missing"))
        .slack_app()
        .await
        .expect_err("no such parameter");
    assert_eq!(
        missing.code.as_deref(),
        Some("ParameterNotFound"),
        "{missing}"
    );
    let bad = format!("{name}-bad");
    emu.secure_parameter(&bad, r#"{"signingSecret": "leak-me", "approvers": []}"#)
        .await;
    let e = emu
        .aws()
        .slack_settings(&bad)
        .slack_app()
        .await
        .expect_err("no approvers");
    assert!(!e.to_string().contains("leak-me"), "{e}");
    assert!(e.to_string().contains(&bad), "{e}");
}

/// A metric name of this run's own: the emulator is shared, and a fleet is every instance publishing the metric.
fn fleet_metric() -> String {
    format!(
        "FleetCpu{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default() % 1_000_000_000
    )
}

#[tokio::test]
async fn a_fleet_is_ranked_through_list_metrics_where_metrics_insights_is_not_served() {
    let emu = emulator!();
    let metric = fleet_metric();
    let fleet = seed_fleet(&emu, &metric).await;
    let ec2ops::event::Parsed::Alarm(change) =
        ec2ops::event::parse(&fleet_event(&metric, fleet.at)).unwrap()
    else {
        panic!("not an alarm")
    };
    let clients = AwsClients::from_config(&emu.config);
    let readers = Readers {
        ec2: &clients.ec2,
        metrics: &clients.cloudwatch,
        diagnostics: None,
        evidence: ec2ops::gather::evidence::EvidenceReaders::NONE,
        silence: None,
    };
    let limits = ec2ops::gather::Limits {
        source: Duration::from_secs(20),
        diagnostics: Duration::from_secs(5),
        budget: None,
    };
    let ranking = ec2ops::gather::rank_fleet(&change, &readers, &limits).await;
    let r = ranking.get().unwrap_or_else(|| panic!("{ranking:?}"));
    assert_eq!(r.path, ec2ops::facts::RankPath::ListMetrics);
    // LocalStack answers the Metrics Insights query with an error: the fallback says so.
    assert!(
        r.fallback.as_ref().is_some_and(|f| f
            .to_string()
            .starts_with("Metrics Insights: cloudwatch GetMetricData")),
        "{:?}",
        r.fallback
    );
    assert_eq!(r.series, 5);
    let ids: Vec<&str> = r.rows.iter().map(|x| x.instance_id.as_str()).collect();
    let mut expected = vec![fleet.hot.as_str()];
    expected.extend(fleet.others.iter().map(|(id, _, _)| id.as_str()));
    assert_eq!(ids, expected, "hottest first");
    let top = &r.rows[0];
    assert_eq!(top.name.as_deref(), Some("VPC02-Private-B"));
    assert_eq!(top.instance_type.as_deref(), Some("t3.small"));
    assert_eq!(
        top.recent.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        [0.28, 0.26, 0.24, 1.75, 39.58]
    );
    assert_eq!(
        top.peak_at,
        fleet.at - chrono::Duration::milliseconds(88_989)
    );
    assert_eq!(
        r.breaching, 3,
        "VPC02-Private-B, VPC02-Private-A, VPC01-Batch-1"
    );
}

#[tokio::test]
async fn the_labs_fleet_alarm_publishes_one_report_ranking_the_fleet_and_analysing_the_hottest() {
    let emu = emulator!();
    let metric = fleet_metric();
    let fleet = seed_fleet(&emu, &metric).await;
    let (topic, queue) = emu.topic_with_queue("fleet").await;
    let outcome = report_only(&emu, &topic, &fleet_event(&metric, fleet.at)).await;
    let Outcome::Reported(incident) = outcome else {
        panic!("not reported")
    };
    assert_eq!(incident.change.primary_instance(), Some(fleet.hot.as_str()));
    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "one report for the fleet");
    let n = &got[0];
    // The metric is this test's own, so the subject's headline names it rather than CPU.
    assert!(
        n.subject.starts_with("[P2] Fleet ")
            && n.subject
                .ends_with(&format!(": {} (VPC02-Private-B) +2 more", fleet.hot)),
        "{}",
        n.subject
    );
    for needle in [
        "Instances breaching (> 20): 3 of 5 ranked".to_string(),
        format!("🔴 1. {} (VPC02-Private-B) · t3.small", fleet.hot),
        "trend 0.28 → 0.26 → 0.24 → 1.75 → 39.58 · breaching".into(),
        format!("🟢 5. {} (VPC01-Private-A) · t3.medium", fleet.others[3].0),
        "Ranked by ListMetrics + GetMetricData MetricStat queries (the fallback, ranked here)"
            .into(),
        "Why the fallback: Metrics Insights: cloudwatch GetMetricData".into(),
        format!(
            "The analysis below is the hottest instance's: {} (VPC02-Private-B)",
            fleet.hot
        ),
        format!("Instance: {} (VPC02-Private-B) · t3.small", fleet.hot),
        "NetworkIn 393.33 kbit/s".into(),
        "nobody: ec2ops does not act on this kind of incident".into(),
    ] {
        assert!(
            n.message.contains(&needle),
            "missing {needle:?} in:\n{}",
            n.message
        );
    }
}

#[tokio::test]
async fn a_multi_series_alarm_level_event_is_one_summary_listing_the_ranking_where_contributors_are_not_served(
) {
    let emu = emulator!();
    let metric = fleet_metric();
    let fleet = seed_fleet(&emu, &metric).await;
    let (topic, queue) = emu.topic_with_queue("fleet-summary").await;
    let outcome = report_only(&emu, &topic, &fleet_summary_event(&metric, fleet.at)).await;
    let Outcome::Reported(incident) = outcome else {
        panic!("not reported")
    };
    // Not focused on the top of the ranking: each contributor has its own report.
    assert_eq!(incident.change.primary_instance(), None);
    let got = emu.notifications(&queue, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "one summary for the transition");
    let n = &got[0];
    for needle in [
        "Instance: alarm-level summary — each contributor has its own report".to_string(),
        // LocalStack has no DescribeAlarmContributors: the summary says why and lists the ranking instead.
        "Contributors unavailable: cloudwatch DescribeAlarmContributors".into(),
        "The alarm's metric ranked instead:".into(),
        format!("1. {} (VPC02-Private-B) · t3.small", fleet.hot),
        "This is the alarm-level summary: each contributor gets its own report".into(),
        "aws cloudwatch describe-alarm-contributors --alarm-name".into(),
    ] {
        assert!(
            n.message.contains(&needle),
            "missing {needle:?} in:\n{}",
            n.message
        );
    }
    for absent in [
        "The analysis below is",
        "NetworkIn",
        "Long-term improvements",
    ] {
        assert!(!n.message.contains(absent), "{absent:?} in:\n{}", n.message);
    }
}

/// The responder as the function wires it, report only (no ledger, no actions), in English, on `topic`.
async fn report_only(emu: &Emulator, topic: &str, event: &serde_json::Value) -> Outcome {
    respond_now(&emu.report_only(&settings(Language::En, topic)), event)
        .await
        .expect("handled")
}
