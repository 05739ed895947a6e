//! Root-cause rules and priority, one behaviour per test.

mod support;

use ec2ops::analyze::{
    assess, CheckNow, Detail, Environment, Observation, Priority, Reason, RuleId,
};
use ec2ops::facts::Gap;
use ec2ops::facts::{Facts, InstanceLookup, Role, Source};
use support::*;

fn offline() -> Facts {
    Facts::unavailable(Gap::Offline { call: None })
}

/// An evidence line as an English report prints it.
fn english(o: &Observation) -> String {
    ec2ops::report::evidence::line(o, chrono_tz::UTC, ec2ops::config::Language::En, 60)
}

fn rules(a: &ec2ops::analyze::Assessment) -> Vec<&'static str> {
    a.findings.iter().map(|f| f.rule.code()).collect()
}

#[test]
fn seed_spike_with_inbound_surge_is_cpu_spike_and_net_leads_cpu_at_p2() {
    let a = assess(&load("cpu-spike.json"), &cpu_spike("t3.small", None));
    assert_eq!(rules(&a), ["CPU-SPIKE", "NET-LEADS-CPU"]);
    assert_eq!(a.priority, Priority::P2);
    let spike = a
        .findings
        .iter()
        .find(|f| f.rule == RuleId::CpuSpike)
        .unwrap();
    match spike.detail {
        Detail::CpuSpike { last, baseline, .. } => {
            assert_eq!(last, 39.58);
            assert!(baseline < 0.5);
        }
        ref d => panic!("{d:?}"),
    }
    assert!(english(&a.findings[1].evidence[0]).starts_with("12:18 UTC NetworkIn 442.67 kbit/s"));
    assert!(matches!(
        a.findings[1].evidence[0],
        Observation::NetworkInSurge { bytes, .. } if bytes == 3_320_000.0
    ));
}

#[test]
fn respond_by_is_the_transition_plus_the_priority_window() {
    let change = load("cpu-spike.json");
    let a = assess(&change, &cpu_spike("t3.small", None));
    assert_eq!(a.respond_by - change.state.at, chrono::Duration::hours(4));
}

#[test]
fn five_breaching_minutes_on_production_are_cpu_sustained_at_p1() {
    let a = assess(&load("cpu-sustained.json"), &cpu_sustained());
    assert_eq!(rules(&a), ["CPU-SUSTAINED"]);
    assert_eq!(a.priority, Priority::P1);
    assert!(matches!(a.environment, Environment::Production(_)));
    match a.findings[0].detail {
        Detail::CpuSustained {
            minutes, threshold, ..
        } => {
            assert_eq!(minutes, 8);
            assert_eq!(threshold, 80.0);
        }
        ref d => panic!("{d:?}"),
    }
}

#[test]
fn sustained_breach_is_found_from_the_alarm_datapoints_when_metrics_are_unavailable() {
    let a = assess(&load("cpu-sustained.json"), &offline());
    assert_eq!(rules(&a), ["CPU-SUSTAINED"]);
    assert_eq!(
        a.priority,
        Priority::P1,
        "unknown instance is treated as production"
    );
    assert!(a
        .reasons
        .contains(&Reason::ProductionAssumedUnknownInstance));
}

#[test]
fn same_breach_on_a_non_production_instance_is_p2() {
    let mut facts = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Environment".into(), "staging".into());
    }
    let a = assess(&load("cpu-sustained.json"), &facts);
    assert_eq!(a.priority, Priority::P2);
    assert!(matches!(a.environment, Environment::NonProduction(_)));
}

#[test]
fn drained_credits_on_a_burstable_type_are_cpu_credits_with_its_baseline() {
    let a = assess(&load("cpu-credits.json"), &cpu_credits());
    assert_eq!(rules(&a), ["CPU-CREDITS"]);
    assert_eq!(a.priority, Priority::P2, "dev instance");
    match a.findings[0].detail {
        Detail::CpuCredits {
            balance,
            baseline_percent,
        } => {
            assert_eq!(balance, 0.0);
            assert_eq!(baseline_percent, Some(10.0));
        }
        ref d => panic!("{d:?}"),
    }
}

#[test]
fn status_check_failures_on_production_are_p0_each_with_its_own_rule() {
    for (file, role, rule) in [
        ("status-system.json", Role::StatusSystem, "SYS-CHECK"),
        ("status-ebs.json", Role::StatusEbs, "EBS-CHECK"),
    ] {
        let a = assess(&load(file), &prod_db(role, "2025-10-11T22:13:00.000+0000"));
        assert_eq!(rules(&a), [rule], "{file}");
        assert_eq!(a.priority, Priority::P0, "{file}");
        assert_eq!(
            a.findings[0].evidence.len(),
            3,
            "alarm, DescribeInstanceStatus and the metric agree"
        );
    }
    let a = assess(&load("status-instance.json"), &status_instance());
    assert_eq!(rules(&a), ["INST-CHECK"]);
    assert_eq!(a.priority, Priority::P0);
}

#[test]
fn status_check_alarm_alone_still_finds_the_check_when_everything_else_is_unavailable() {
    let a = assess(&load("status-instance.json"), &offline());
    assert_eq!(rules(&a), ["INST-CHECK"]);
    assert_eq!(a.priority, Priority::P0);
}

#[test]
fn a_status_finding_says_whether_describe_instance_status_confirms_it() {
    let now = |a: &ec2ops::analyze::Assessment| match &a.findings[0].detail {
        Detail::StatusCheck { now, .. } => now.clone(),
        d => panic!("{d:?}"),
    };
    let change = load("status-instance.json");
    assert_eq!(
        now(&assess(&change, &status_instance())),
        CheckNow::Impaired
    );
    // The alarm alone is what the alarm says: kept as a finding, marked unconfirmed.
    assert_eq!(now(&assess(&change, &offline())), CheckNow::Unknown);
    let mut healthy = status_instance();
    if let Source::Available(s) = &mut healthy.status {
        s.instance = Some("ok".into());
    }
    let a = assess(&change, &healthy);
    assert_eq!(rules(&a), ["INST-CHECK"]);
    assert_eq!(
        now(&a),
        CheckNow::NotImpaired {
            state: Some("ok".into())
        }
    );
    assert!(a.findings[0]
        .evidence
        .contains(&Observation::CheckNotImpaired {
            metric: ec2ops::catalogue::STATUS_CHECK_FAILED_INSTANCE,
            state: Some("ok".into()),
        }));
}

#[test]
fn a_status_alarm_on_a_custom_namespace_names_it_in_the_evidence() {
    let mut change = load("status-instance.json");
    change.metrics[0].namespace = "Custom/Health".into();
    let a = assess(&change, &offline());
    assert_eq!(
        a.findings[0].evidence[0],
        Observation::AlarmDatapoints {
            metric: ec2ops::catalogue::STATUS_CHECK_FAILED_INSTANCE,
            namespace: Some("Custom/Health".into()),
            failed: 3,
            evaluated: 3,
        }
    );
    assert!(english(&a.findings[0].evidence[0]).starts_with(
        "alarm StatusCheckFailed_Instance (namespace Custom/Health, not AWS/EC2): 3/3"
    ));
}

#[test]
fn status_check_failure_on_non_production_is_p1() {
    let mut facts = status_instance();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Environment".into(), "dev".into());
    }
    assert_eq!(
        assess(&load("status-instance.json"), &facts).priority,
        Priority::P1
    );
}

#[test]
fn a_stopped_or_missing_instance_makes_the_alarm_moot_at_p3() {
    let mut facts = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.state = ec2ops::facts::InstanceState::Stopped;
        i.state_reason_code = Some("Client.UserInitiatedShutdown".into());
    }
    let a = assess(&load("cpu-sustained.json"), &facts);
    assert!(a.has(RuleId::Gone));
    assert_eq!(a.priority, Priority::P3);

    facts.instance = Source::Available(InstanceLookup::NotFound);
    let a = assess(&load("cpu-sustained.json"), &facts);
    assert!(matches!(
        a.findings[0].detail,
        Detail::Gone { state: None, .. }
    ));
    assert_eq!(a.priority, Priority::P3);
}

#[test]
fn ok_and_insufficient_data_are_p3_and_carry_no_cpu_findings() {
    let a = assess(&load("ok-recovery.json"), &ok_recovery());
    assert_eq!(a.priority, Priority::P3);
    assert!(a.findings.is_empty());
    assert_eq!(
        a.reasons,
        vec![Reason::Recovered { minutes: Some(21) }],
        "MTTR of the episode"
    );
    let a = assess(&load("insufficient-data.json"), &insufficient_data());
    assert!(
        a.has(RuleId::Gone),
        "the instance was stopped: that is why data stopped"
    );
}

#[test]
fn an_unexplained_stop_of_production_is_p1_until_explained_whatever_the_alarm_state() {
    // prod-api-1 found stopped, EC2 giving no state reason: the service may be down.
    let a = assess(&load("insufficient-data.json"), &insufficient_data());
    assert_eq!(a.priority, Priority::P1);
    assert!(a.reasons.contains(&Reason::Stopped { intended: false }));
    let a = assess(&load("cpu-sustained.json"), &insufficient_data());
    assert_eq!(a.priority, Priority::P1);
    // Once EC2 says a user stopped it, the alarm is moot again.
    let mut facts = insufficient_data();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.state_reason_code = Some("Client.UserInitiatedShutdown".into());
    }
    assert_eq!(
        assess(&load("insufficient-data.json"), &facts).priority,
        Priority::P3
    );
}

#[test]
fn insufficient_data_right_after_alarm_is_p2() {
    let mut change = load("ok-recovery.json");
    change.state.value = ec2ops::model::AlarmState::InsufficientData;
    let a = assess(&change, &offline());
    assert_eq!(a.priority, Priority::P2);
    assert_eq!(
        a.reasons,
        vec![Reason::InsufficientData { after_alarm: true }]
    );
}

#[test]
fn composite_alarm_on_unknown_instances_is_p1() {
    let a = assess(&load("composite.json"), &offline());
    assert_eq!(a.priority, Priority::P1);
    assert!(a
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::CompositeAlarm { members } if members.len() == 2)));
}

#[test]
fn a_single_datapoint_breach_without_history_is_p2_and_three_breaching_datapoints_are_p1() {
    // cpu-spike offline: one evaluated datapoint, no baseline to call it a spike.
    let a = assess(&load("cpu-spike.json"), &offline());
    assert!(a.findings.is_empty());
    assert_eq!(a.priority, Priority::P2);
    assert!(a
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::SingleBreach { value: Some(_), .. })));
    // metric math: 3 of 3 breaching datapoints, production assumed.
    let a = assess(&load("metric-math.json"), &offline());
    assert_eq!(a.priority, Priority::P1);
    assert!(a
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::SustainedBreach(b) if b.datapoints == 3 && b.minutes == 3)));
}

#[test]
fn no_rule_fires_on_a_quiet_window() {
    let mut facts = cpu_spike("t3.small", None);
    if let Source::Available(w) = &mut facts.metrics {
        let quiet = series(chrono::Utc::now(), &[3.0; 30]);
        w.series.insert(Role::Cpu, quiet.clone());
        w.series.insert(Role::NetworkIn, quiet);
    }
    let a = assess(&load("cpu-spike.json"), &facts);
    assert!(a.findings.is_empty(), "{:?}", rules(&a));
}

#[test]
fn memory_disk_and_burst_pressure_are_found_with_their_paths_and_volumes() {
    let a = assess(&load("memory-high.json"), &pressure());
    assert_eq!(rules(&a), ["MEM", "DISK", "EBS-BURST"]);
    assert_eq!(a.priority, Priority::P1, "production");
    let disk = a.findings.iter().find(|f| f.rule == RuleId::Disk).unwrap();
    assert!(
        matches!(&disk.detail, Detail::Pressure(ec2ops::analyze::Pressure::Disk { path, .. }) if path.as_deref() == Some("/"))
    );
    assert_eq!(
        disk.evidence.len(),
        2,
        "every filesystem is evidence, the fullest first"
    );
    assert!(english(&disk.evidence[0]).contains("disk_used_percent / 94.10%"));
}

#[test]
fn disk_and_memory_alarms_are_diagnosed_from_their_own_datapoints_offline() {
    assert_eq!(
        rules(&assess(&load("disk-full.json"), &offline())),
        ["DISK"]
    );
    assert_eq!(
        rules(&assess(&load("memory-high.json"), &offline())),
        ["MEM"]
    );
}

#[test]
fn sustained_cpu_with_an_outbound_surge_and_open_ssh_is_a_suspected_compromise_at_p1() {
    let mut facts = support::compromised();
    // Without a public address nobody outside the VPC reaches the open port: no way in.
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.public_ip = None;
    }
    let a = assess(&load("cpu-sustained.json"), &facts);
    assert_eq!(rules(&a), ["CPU-SUSTAINED"]);
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.public_ip = Some("3.35.120.9".into());
    }
    let a = assess(&load("cpu-sustained.json"), &facts);
    assert_eq!(rules(&a), ["CPU-SUSTAINED", "SEC-SUSPECT"]);
    assert_eq!(
        a.priority,
        Priority::P1,
        "a suspected compromise is P1 even off production"
    );
    // Without the open admin port it is only saturation.
    if let Source::Available(groups) = &mut facts.security_groups {
        groups[0].world_open.retain(|r| r.from_port != Some(22));
    }
    assert_eq!(
        rules(&assess(&load("cpu-sustained.json"), &facts)),
        ["CPU-SUSTAINED"]
    );
}

#[test]
fn a_production_instance_stopped_by_aws_is_an_unexpected_stop_at_p1() {
    let a = assess(&load("state-stopped.json"), &stopped_by_aws());
    assert_eq!(rules(&a), ["STOPPED"]);
    assert_eq!(a.priority, Priority::P1);
    assert!(matches!(
        a.findings[0].detail,
        Detail::Stopped {
            cause: ec2ops::analyze::StopCause::Unexpected,
            ..
        }
    ));
}

#[test]
fn a_user_initiated_stop_is_informational_and_an_unexplained_one_is_uncertain() {
    let mut facts = stopped_by_aws();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.state_reason_code = Some("Client.UserInitiatedShutdown".into());
    }
    assert_eq!(
        assess(&load("state-stopped.json"), &facts).priority,
        Priority::P3
    );
    let a = assess(&load("state-stopped.json"), &offline());
    assert!(matches!(
        a.findings[0].detail,
        Detail::Stopped {
            cause: ec2ops::analyze::StopCause::Uncertain,
            ..
        }
    ));
    assert_eq!(
        a.priority,
        Priority::P1,
        "uncertain on an unknown (so production) instance"
    );
}

#[test]
fn a_retirement_within_a_day_on_production_is_p1_with_its_deadline() {
    let bytes = std::fs::read(events_dir().join("health-retirement.json")).unwrap();
    let ec2ops::event::Parsed::Health(changes) = ec2ops::event::parse_bytes(&bytes).unwrap() else {
        panic!("not a health event")
    };
    assert_eq!(changes.len(), 1);
    let a = assess(
        &changes[0],
        &prod_db(Role::Cpu, "2025-11-18T08:59:00.000+0000"),
    );
    assert_eq!(rules(&a), ["HEALTH"]);
    assert_eq!(a.priority, Priority::P1);
    assert!(matches!(
        a.findings[0].detail,
        Detail::Health {
            kind: ec2ops::analyze::HealthKind::Retirement,
            deadline: Some(_),
            ..
        }
    ));
}

#[test]
fn a_status_alarm_that_fired_on_missing_data_for_a_stopped_instance_is_no_failed_check() {
    // GIVEN an instance-check alarm whose event carries no evaluated datapoint (treat missing data as breaching)
    let mut change = load("status-instance.json");
    if let Some(r) = change.state.reason_data.as_mut() {
        r.evaluated.clear();
    }
    // AND the instance is stopped: it publishes no status checks and DescribeInstanceStatus reports none
    let mut facts = status_instance();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.state = ec2ops::facts::InstanceState::Stopped;
    }
    facts.status = Source::Available(Default::default());
    facts.metrics = Source::Unavailable(Gap::Failed("no datapoints".into()));
    // THEN no status-check finding (and so no reboot advice) comes from the alarm alone
    let a = assess(&change, &facts);
    assert!(
        !a.has(RuleId::InstCheck) && !a.has(RuleId::SysCheck),
        "{:?}",
        rules(&a)
    );
}

#[test]
fn an_alarm_evaluation_is_never_reported_as_zero_of_zero_datapoints() {
    // The sweep's incident and an alarm event without datapoints carry none: the evidence says so in words.
    let mut change = load("status-instance.json");
    if let Some(r) = change.state.reason_data.as_mut() {
        r.evaluated.clear();
    }
    let a = assess(&change, &status_instance());
    let evidence: Vec<String> = a
        .findings
        .iter()
        .flat_map(|f| &f.evidence)
        .map(english)
        .collect();
    assert!(!evidence.is_empty());
    assert!(evidence.iter().all(|e| !e.contains("0/0")), "{evidence:?}");
}

#[test]
fn the_sustained_breach_counts_the_runs_datapoints_not_the_evidence_lines() {
    // In-guest evidence adds lines to the finding; the count of breaching datapoints must not move with them.
    let facts = Facts {
        diagnostics: Some(recorded("cpu-bound-java.txt")),
        ..cpu_sustained()
    };
    let a = assess(&load("cpu-sustained.json"), &facts);
    let run = a
        .findings
        .iter()
        .find_map(|f| match f.detail {
            Detail::CpuSustained { datapoints, .. } => Some(datapoints),
            _ => None,
        })
        .unwrap();
    assert_eq!(run, 8);
    assert!(a.reasons.iter().any(|r| matches!(
        r,
        Reason::SustainedBreach(b) if b.datapoints == run && b.peak == Some(96.3)
    )));
}

/// The lab's fleet alarm with the top instance tagged `staging` (CPU sustained above the threshold) and the ranking's
/// second instance, also breaching, with the Environment tag `env2` (`None`: untagged).
fn fleet_top_staging(env2: Option<&str>) -> ec2ops::analyze::Assessment {
    let mut facts = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Environment".into(), "staging".into());
    }
    let mut ranking = lab_ranking();
    ranking.rows[0].instance_id = "i-0b7e4c2d9a1f35c60".into();
    ranking.rows[0].environment = Some("staging".into());
    ranking.rows[1].environment = env2.map(str::to_string);
    for row in &mut ranking.rows[2..] {
        row.environment = Some("staging".into());
    }
    facts.ranking = Some(Source::Available(ranking));
    let change =
        ec2ops::gather::focus(&load("fleet-insights-alarm.json"), &facts).expect("focused");
    assert_eq!(change.primary_instance(), Some("i-0b7e4c2d9a1f35c60"));
    assess(&change, &facts)
}

#[test]
fn a_fleet_alarm_takes_its_priority_from_the_worst_breaching_instances_environment() {
    let staging = fleet_top_staging(Some("staging"));
    assert_eq!(staging.priority, Priority::P2);
    assert!(staging.reasons.contains(&Reason::NonProduction {
        environment: "staging".into()
    }));

    let a = fleet_top_staging(Some("production"));
    assert_eq!(a.priority, Priority::P1);
    // The analysed instance's own environment is still staging; the reason names the production one.
    assert_eq!(a.environment, Environment::NonProduction("staging".into()));
    assert!(a.reasons.contains(&Reason::FleetWorst {
        instance_id: "i-0c41d9e2b7a835f01".into(),
        name: Some("VPC02-Private-A".into()),
        environment: Environment::Production("production".into()),
    }));
    assert!(!a
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::NonProduction { .. })));

    // The urgency section names that instance in both languages.
    let mut facts = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Environment".into(), "staging".into());
    }
    let mut ranking = lab_ranking();
    ranking.rows[0].instance_id = "i-0b7e4c2d9a1f35c60".into();
    ranking.rows[1].environment = Some("production".into());
    for row in &mut ranking.rows[2..] {
        row.environment = Some("staging".into());
    }
    facts.ranking = Some(Source::Available(ranking));
    for (language, why) in [
        (
            ec2ops::config::Language::En,
            "Why: production (a breaching instance): i-0c41d9e2b7a835f01 (VPC02-Private-A) \
             (Environment=production)",
        ),
        (
            ec2ops::config::Language::Ko,
            "근거: 운영 환경 (임계값 초과 인스턴스): i-0c41d9e2b7a835f01 (VPC02-Private-A) \
             (Environment=production)",
        ),
    ] {
        let settings = ec2ops::config::Settings {
            language,
            ..Default::default()
        };
        let (_, _, msg) =
            ec2ops::pipeline::compose(&load("fleet-insights-alarm.json"), &facts, &settings);
        assert!(msg.subject.starts_with("[P1] "), "{}", msg.subject);
        assert!(msg.message.contains(why), "{language:?}: {}", msg.message);
    }

    // Untagged is treated as production too.
    let untagged = fleet_top_staging(None);
    assert_eq!(untagged.priority, Priority::P1);
    assert!(untagged.reasons.contains(&Reason::FleetWorst {
        instance_id: "i-0c41d9e2b7a835f01".into(),
        name: Some("VPC02-Private-A".into()),
        environment: Environment::Untagged,
    }));
}

#[test]
fn a_non_breaching_production_instance_does_not_raise_a_fleets_priority() {
    let mut facts = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Environment".into(), "staging".into());
    }
    let mut ranking = lab_ranking();
    ranking.rows[0].instance_id = "i-0b7e4c2d9a1f35c60".into();
    for (n, row) in ranking.rows.iter_mut().enumerate() {
        // Breaching: rows 0–2 (staging); below the threshold: rows 3–4 (production).
        row.environment = Some(if n < 3 { "staging" } else { "production" }.into());
    }
    facts.ranking = Some(Source::Available(ranking));
    let change = ec2ops::gather::focus(&load("fleet-insights-alarm.json"), &facts).unwrap();
    let a = assess(&change, &facts);
    assert_eq!(a.priority, Priority::P2);
    assert!(!a
        .reasons
        .iter()
        .any(|r| matches!(r, Reason::FleetWorst { .. })));
}

fn in_alarm(id: &str, name: &str, env: Option<&str>) -> ec2ops::facts::InAlarm {
    ec2ops::facts::InAlarm {
        id: format!("c-{id}"),
        attributes: [("InstanceId".to_string(), id.to_string())].into(),
        reason: "Threshold Crossed".into(),
        since: None,
        name: Some(name.into()),
        instance_type: Some("t3.small".into()),
        environment: env.map(str::to_string),
    }
}

#[test]
fn a_multi_series_alarm_level_event_is_a_summary_prioritised_by_its_worst_contributor() {
    let change = load("fleet-multi-series-alarm.json");
    assert!(change.is_series_summary());
    let summary = |contributors| Facts {
        contributors: Some(contributors),
        ..Facts::unavailable(Gap::SummaryOnly)
    };
    let staging = assess(
        &change,
        &summary(Source::Available(vec![
            in_alarm("i-0aaaaaaaaaaaaaaa1", "stg-1", Some("staging")),
            in_alarm("i-0aaaaaaaaaaaaaaa2", "stg-2", Some("staging")),
        ])),
    );
    assert_eq!(staging.priority, Priority::P2);
    assert!(staging.findings.is_empty());
    assert_eq!(
        staging.reasons[0],
        Reason::ContributorsInAlarm { count: Some(2) }
    );

    let a = assess(
        &change,
        &summary(Source::Available(vec![
            in_alarm("i-0aaaaaaaaaaaaaaa1", "stg-1", Some("staging")),
            in_alarm("i-0bbbbbbbbbbbbbbb2", "prod-api", Some("prod")),
        ])),
    );
    assert_eq!(a.priority, Priority::P1);
    assert!(a.findings.is_empty(), "no per-instance analysis");
    assert_eq!(
        a.reasons[1],
        Reason::FleetWorst {
            instance_id: "i-0bbbbbbbbbbbbbbb2".into(),
            name: Some("prod-api".into()),
            environment: Environment::Production("prod".into()),
        }
    );

    // Without the list of contributors, the ranking's breaching instances stand in for them.
    let mut ranking = lab_ranking();
    for row in &mut ranking.rows {
        row.environment = Some("staging".into());
    }
    let mut facts = summary(Source::Unavailable(Gap::Failed("not served".into())));
    facts.ranking = Some(Source::Available(ranking.clone()));
    let ranked = assess(&change, &facts);
    assert_eq!(ranked.priority, Priority::P2);
    assert_eq!(
        ranked.reasons[0],
        Reason::ContributorsInAlarm { count: None }
    );
    ranking.rows[2].environment = None;
    facts.ranking = Some(Source::Available(ranking));
    let untagged = assess(&change, &facts);
    assert_eq!(untagged.priority, Priority::P1);
    assert!(matches!(
        &untagged.reasons[1],
        Reason::FleetWorst { instance_id, environment: Environment::Untagged, .. }
            if instance_id == "i-0d5a7e3c19b2f4682"
    ));
}

#[test]
fn the_summary_is_one_short_message_without_remediation_or_instance_analysis() {
    let change = load("fleet-multi-series-alarm.json");
    let mut ranking = lab_ranking();
    ranking.path = ec2ops::facts::RankPath::ListMetrics;
    let facts = Facts {
        contributors: Some(Source::Unavailable(Gap::Failed(
            "DescribeAlarmContributors: InvalidAction".into(),
        ))),
        ranking: Some(Source::Available(ranking)),
        ..Facts::unavailable(Gap::SummaryOnly)
    };
    let settings = ec2ops::config::Settings {
        language: ec2ops::config::Language::En,
        ..Default::default()
    };
    let (a, report, msg) = ec2ops::pipeline::compose(&change, &facts, &settings);
    assert!(a.findings.is_empty());
    // Not focused on the top of the ranking: the summary names no instance of its own.
    assert!(report
        .related_resources
        .iter()
        .all(|r| !r.contains(":instance/")));
    let emojis: Vec<&str> = report.sections.iter().map(|s| s.emoji).collect();
    assert_eq!(emojis, ["🚨", "📊", "🔧"]);
    assert!(msg
        .message
        .contains("Contributors unavailable: DescribeAlarmContributors: InvalidAction"));
    assert!(msg.message.contains("The alarm's metric ranked instead:"));
    assert!(msg
        .message
        .contains("1. i-0ae3d067021f08710 (VPC02-Private-B)"));
    assert!(!msg.message.contains("The analysis below is"));
    assert!(!msg.message.contains("reboot-instances"));
}

/// A `?` standing for a value the report did not have: not part of a word, a URL's query or a question.
fn lone_question_mark(line: &str) -> bool {
    let chars: Vec<char> = line.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        *c == '?'
            && !i
                .checked_sub(1)
                .and_then(|p| chars.get(p))
                .is_some_and(|p| p.is_alphanumeric() || *p == '/')
            && !chars.get(i + 1).is_some_and(|n| n.is_alphanumeric())
    })
}

#[test]
fn a_disk_or_burst_alarm_whose_metric_names_no_path_or_volume_is_phrased_without_a_placeholder() {
    use ec2ops::analyze::Pressure;
    use ec2ops::config::{Language, Settings};
    use ec2ops::event::{parse_bytes, Parsed};
    let disk = std::fs::read_to_string(events_dir().join("disk-full.json"))
        .expect("event")
        .replace("\"path\": \"/\",", "");
    let burst = disk
        .replace("\"namespace\": \"CWAgent\"", "\"namespace\": \"AWS/EBS\"")
        .replace(
            "\"name\": \"disk_used_percent\"",
            "\"name\": \"BurstBalance\"",
        )
        .replace("\"greater than\"", "\"less than\"")
        // The values inside reasonData, a JSON string: `\"value\":94.1` → `\"value\":14.1`.
        .replace("value\\\":9", "value\\\":1");
    for (json, rule) in [(disk, RuleId::Disk), (burst, RuleId::EbsBurst)] {
        let Parsed::Alarm(change) = parse_bytes(json.as_bytes()).expect("parses") else {
            panic!("not an alarm");
        };
        let facts = offline();
        let a = assess(&change, &facts);
        let f = a
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("{rule:?}: {:?}", rules(&a)));
        match &f.detail {
            Detail::Pressure(Pressure::Disk { path, .. }) => assert_eq!(path, &None),
            Detail::Pressure(Pressure::Burst { volume, .. }) => assert_eq!(volume, &None),
            other => panic!("{other:?}"),
        }
        for e in f.evidence.iter().map(english) {
            assert!(!lone_question_mark(&e), "{e}");
        }
        for language in [Language::En, Language::Ko] {
            let settings = Settings {
                language,
                ..Settings::default()
            };
            let (report, _) = ec2ops::pipeline::render_report(
                &change,
                &facts,
                &a,
                &ec2ops::remediation::ActionOutcome::ReportOnly,
                &settings,
            );
            let text = ec2ops::report::render::email(&report);
            for l in text.lines() {
                assert!(!lone_question_mark(l), "{rule:?} {language:?}: {l}");
            }
        }
    }
}

#[test]
fn a_lone_question_mark_is_told_from_words_urls_and_questions() {
    assert!(lone_question_mark("disk ? is 95% full"));
    assert!(lone_question_mark("volume ?"));
    assert!(lone_question_mark("(?)"));
    assert!(!lone_question_mark(
        "https://console.aws.amazon.com/ec2/home?region=x"
    ));
    assert!(!lone_question_mark("is it full?"));
}

#[test]
fn the_recommendation_is_decided_with_the_assessment_from_the_findings_and_the_facts() {
    use ec2ops::analyze::{AutoRecovery, NotAvailable, Remedy};
    let a = assess(
        &load("status-system.json"),
        &prod_db(Role::StatusSystem, "2025-10-11T22:13:00.000+0000"),
    );
    let r = &a.recommendation;
    assert_eq!(r.remedy, Remedy::AwsRecovers);
    assert_eq!(r.auto_recovery, Some(AutoRecovery::On));
    assert!(
        !r.opt_in_would_act,
        "AWS's own recovery covers a system check"
    );
    assert!(r.availability_matters && !r.exposure_matters);

    let r = assess(&load("status-instance.json"), &status_instance()).recommendation;
    assert_eq!(r.remedy, Remedy::Replace, "an Auto Scaling member");
    assert_eq!(
        r.auto_recovery,
        Some(AutoRecovery::NotAvailable(NotAvailable::AutoScalingMember))
    );
    assert!(r.guest_metrics_matter, "an instance check");
    assert!(!r.opt_in_would_act, "the group replaces it");

    let r = assess(&load("cpu-sustained.json"), &cpu_sustained()).recommendation;
    assert_eq!(r.remedy, Remedy::Resize);
    assert_eq!(r.recurring, Some(4), "four ALARM transitions in 7 days");

    let r = assess(&load("cpu-spike.json"), &cpu_spike("t3.small", None)).recommendation;
    assert_eq!(r.remedy, Remedy::Investigate);
    assert!(
        !r.exposure_matters,
        "NET-LEADS-CPU, but no public address: the open SSH reaches nobody outside the VPC"
    );
    let credits = assess(&load("cpu-credits.json"), &cpu_credits()).recommendation;
    assert!(
        credits.exposure_matters,
        "credits exhausted on a public instance with SSH and RDP open to the world"
    );
    assert!(!r.availability_matters && !r.guest_metrics_matter);
    assert_eq!(r.recurring, None, "one ALARM transition is no pattern");

    let r = assess(&load("ok-recovery.json"), &ok_recovery()).recommendation;
    assert_eq!(r.remedy, Remedy::Nothing);
}

#[test]
fn a_spike_whose_target_group_serves_errors_is_p1_and_the_errors_are_the_first_reason() {
    let mut facts = cpu_spike("t3.small", None);
    facts.evidence.impact = Some(Source::Available(api_behind_alb()));
    let a = assess(&load("cpu-spike.json"), &facts);
    assert_eq!(a.priority, Priority::P1);
    assert!(
        matches!(
            &a.reasons[0],
            Reason::ServingErrors {
                errors: 478,
                requests: Some(11_950),
                ..
            }
        ),
        "{:?}",
        a.reasons
    );
}

#[test]
fn a_target_group_with_few_errors_or_an_alarm_back_to_ok_leaves_the_priority_alone() {
    let mut quiet = api_behind_alb();
    if let Some(Ok(served)) = &mut quiet.served {
        served[0].target_5xx = Some(3.0);
    }
    let mut facts = cpu_spike("t3.small", None);
    facts.evidence.impact = Some(Source::Available(quiet));
    assert_eq!(
        assess(&load("cpu-spike.json"), &facts).priority,
        Priority::P2
    );

    let mut facts = ok_recovery();
    facts.evidence.impact = Some(Source::Available(api_behind_alb()));
    assert_eq!(
        assess(&load("ok-recovery.json"), &facts).priority,
        Priority::P3
    );
}
