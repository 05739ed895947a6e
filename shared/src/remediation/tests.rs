use super::*;
use crate::analyze::assess;
use crate::event::{parse, parse_bytes, Parsed};
use crate::facts::{InstanceFacts, InstanceLookup, ScheduledEvent, StatusFacts, TypeFacts};
use crate::model::InstanceState;
use crate::source::Gap;
use serde_json::{json, Value};

fn event(file: &str) -> Value {
    let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn parsed(v: &Value) -> Incident {
    match parse(v).unwrap() {
        Parsed::Alarm(c) => *c,
        other => panic!("{other:?}"),
    }
}

fn change(file: &str) -> Incident {
    let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
    match parse_bytes(&std::fs::read(path).unwrap()).unwrap() {
        Parsed::Alarm(c) => *c,
        other => panic!("{other:?}"),
    }
}

fn now() -> DateTime<Utc> {
    crate::event::parse_timestamp("2025-10-12T04:32:00.000+0000").unwrap()
}

/// A healthy, running, EBS-backed on-demand instance with every fact known.
fn facts(tags: &[(&str, &str)]) -> Facts {
    let mut i = InstanceFacts {
        id: "i-0d1e2f3a4b5c6d7e8".into(),
        instance_type: "m5.large".into(),
        state: InstanceState::Running,
        root_device_type: Some("ebs".into()),
        tenancy: Some("default".into()),
        auto_recovery: Some("disabled".into()),
        disable_api_stop: Source::Available(false),
        ..InstanceFacts::default()
    };
    for (k, v) in tags {
        i.tags.insert(k.to_string(), v.to_string());
    }
    Facts {
        instance: Source::Available(InstanceLookup::Found(Box::new(i))),
        status: Source::Available(StatusFacts {
            system: Some("ok".into()),
            instance: Some("ok".into()),
            attached_ebs: Some("ok".into()),
            scheduled_events: vec![],
        }),
        instance_type: Source::Available(TypeFacts::default()),
        ledger: Source::Available(LedgerView::default()),
        ..Facts::unavailable(Gap::NotNeeded)
    }
}

fn opted() -> Facts {
    facts(&[("ec2ops:auto-remediate", "true")])
}

/// DescribeInstanceStatus shows the instance check impaired.
fn inst(mut f: Facts) -> Facts {
    if let Source::Available(s) = &mut f.status {
        s.instance = Some("impaired".into());
    }
    f
}

/// DescribeInstanceStatus shows the system check impaired.
fn sys(mut f: Facts) -> Facts {
    if let Source::Available(s) = &mut f.status {
        s.system = Some("impaired".into());
    }
    f
}

fn instance(f: &mut Facts) -> &mut InstanceFacts {
    match &mut f.instance {
        Source::Available(InstanceLookup::Found(i)) => i,
        other => panic!("{other:?}"),
    }
}

fn run(file: &str, f: &Facts, mode: RemediationMode) -> Decision {
    decide_on(&change(file), f, mode)
}

fn decide_on(c: &Incident, f: &Facts, mode: RemediationMode) -> Decision {
    let a = assess(c, f);
    decide(c, f, &a, mode, &Envelope::default(), now())
}

fn holds(d: Decision) -> Vec<Hold> {
    match d {
        Decision::Held { holds, .. } => holds,
        other => panic!("expected a hold, got {other:?}"),
    }
}

fn not_corroborated(why: Uncorroborated) -> Hold {
    Hold::NotCorroborated { why }
}

fn cannot_verify(d: Decision) -> Vec<Fact> {
    holds(d)
        .into_iter()
        .filter_map(|h| match h {
            Hold::CannotVerify { fact, .. } => Some(fact),
            _ => None,
        })
        .collect()
}

const REBOOT: Decision = Decision::Act {
    action: ActionKind::Reboot,
};
const STOP_START: Decision = Decision::Act {
    action: ActionKind::StopStart,
};

#[test]
fn instance_check_on_an_opted_in_instance_is_a_reboot_in_auto() {
    assert_eq!(
        run(
            "status-instance.json",
            &inst(opted()),
            RemediationMode::Auto
        ),
        REBOOT
    );
}

#[test]
fn system_check_is_a_stop_start_and_dry_run_only_rehearses_it() {
    assert_eq!(
        run("status-system.json", &sys(opted()), RemediationMode::DryRun),
        Decision::DryRun {
            action: ActionKind::StopStart
        }
    );
}

#[test]
fn approve_mode_proposes_what_auto_would_do_and_holds_what_auto_would_hold() {
    assert_eq!(
        run(
            "status-instance.json",
            &inst(opted()),
            RemediationMode::Approve
        ),
        Decision::Propose {
            action: ActionKind::Reboot
        }
    );
    assert_eq!(
        run(
            "status-system.json",
            &sys(opted()),
            RemediationMode::Approve
        ),
        Decision::Propose {
            action: ActionKind::StopStart
        }
    );
    // The same envelope: an instance without the opt-in tag is held, not proposed.
    let f = inst(facts(&[]));
    assert_eq!(
        run("status-instance.json", &f, RemediationMode::Approve),
        run("status-instance.json", &f, RemediationMode::Auto)
    );
    assert!(matches!(
        run("status-instance.json", &f, RemediationMode::Approve),
        Decision::Held { .. }
    ));
    assert_eq!(
        run("cpu-sustained.json", &opted(), RemediationMode::Approve),
        Decision::AdviceOnly
    );
}

#[test]
fn off_mode_never_acts_and_advice_only_incidents_have_no_action() {
    assert_eq!(
        run("status-instance.json", &inst(opted()), RemediationMode::Off),
        Decision::Off
    );
    assert_eq!(
        run("status-ebs.json", &opted(), RemediationMode::Auto),
        Decision::AdviceOnly
    );
    assert_eq!(
        run("cpu-sustained.json", &opted(), RemediationMode::Auto),
        Decision::AdviceOnly
    );
    assert_eq!(
        run("ok-recovery.json", &opted(), RemediationMode::Auto),
        Decision::AdviceOnly
    );
}

#[test]
fn an_instance_without_the_opt_in_tag_is_held() {
    let h = holds(run(
        "status-instance.json",
        &inst(facts(&[])),
        RemediationMode::Auto,
    ));
    assert_eq!(
        h,
        vec![Hold::NotOptedIn {
            tag: "ec2ops:auto-remediate".into()
        }]
    );
    let h = holds(run(
        "status-instance.json",
        &inst(facts(&[("ec2ops:auto-remediate", "false")])),
        RemediationMode::Auto,
    ));
    assert!(matches!(h[..], [Hold::NotOptedIn { .. }]));
}

#[test]
fn an_opt_in_value_iam_would_refuse_is_not_opted_in() {
    // IAM's StringEquals "true" refuses these; counting them as opted in would only spend the caps on failures.
    for value in [" TRUE ", "True", "true "] {
        let f = inst(facts(&[("ec2ops:auto-remediate", value)]));
        assert_eq!(
            holds(run("status-instance.json", &f, RemediationMode::Auto)),
            vec![Hold::OptInNotExact {
                tag: "ec2ops:auto-remediate".into(),
                value: value.into()
            }],
            "{value:?}"
        );
    }
}

#[test]
fn instance_store_instances_are_never_stopped() {
    let mut f = opted();
    if let Source::Available(t) = &mut f.instance_type {
        t.instance_storage = true;
    }
    assert_eq!(
        holds(run(
            "status-system.json",
            &sys(f.clone()),
            RemediationMode::Auto
        )),
        vec![Hold::InstanceStore]
    );
    // A reboot keeps instance store: allowed.
    assert_eq!(
        run("status-instance.json", &inst(f), RemediationMode::Auto),
        REBOOT
    );
}

#[test]
fn asg_members_stopped_instances_and_open_scheduled_events_are_held() {
    let f = inst(facts(&[
        ("ec2ops:auto-remediate", "true"),
        ("aws:autoscaling:groupName", "web"),
    ]));
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::AutoScalingGroup {
            group: "web".into()
        }]
    );
    let mut f = inst(opted());
    instance(&mut f).state = InstanceState::Pending;
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::NotRunning {
            state: InstanceState::Pending
        }]
    );
    let mut f = inst(opted());
    if let Source::Available(s) = &mut f.status {
        s.scheduled_events.push(ScheduledEvent {
            code: "system-reboot".into(),
            description: None,
            not_before: None,
        });
    }
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::ScheduledEvent {
            code: "system-reboot".into()
        }]
    );
}

#[test]
fn cooldown_daily_cap_and_hourly_cap_each_hold() {
    let mut f = inst(opted());
    f.ledger = Source::Available(LedgerView {
        instance_actions: vec![now() - chrono::Duration::minutes(10)],
        ..LedgerView::default()
    });
    assert!(matches!(
        holds(run("status-instance.json", &f, RemediationMode::Auto))[..],
        [Hold::Cooldown { .. }]
    ));
    f.ledger = Source::Available(LedgerView {
        instance_actions: (1..=3)
            .map(|h| now() - chrono::Duration::hours(h * 2))
            .collect(),
        ..LedgerView::default()
    });
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::DailyCap { cap: 3 }]
    );
    f.ledger = Source::Available(LedgerView {
        account_actions_last_hour: 10,
        ..LedgerView::default()
    });
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::HourlyCap { cap: 10 }]
    );
}

#[test]
fn cooldown_ends_after_thirty_minutes() {
    let mut f = inst(opted());
    f.ledger = Source::Available(LedgerView {
        instance_actions: vec![now() - chrono::Duration::minutes(31)],
        ..LedgerView::default()
    });
    assert_eq!(
        run("status-instance.json", &f, RemediationMode::Auto),
        REBOOT
    );
}

#[test]
fn three_impaired_instances_in_one_az_hold_everything() {
    let mut f = inst(opted());
    instance(&mut f).availability_zone = Some("ap-northeast-2a".into());
    f.ledger = Source::Available(LedgerView {
        az_impaired: vec!["i-1".into(), "i-2".into()],
        ..LedgerView::default()
    });
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::AzEvent { impaired: 3 }]
    );
}

#[test]
fn an_unreachable_ledger_fails_safe() {
    let mut f = inst(opted());
    f.ledger = Source::Unavailable(Gap::Failed("dynamodb: connection refused".into()));
    assert!(matches!(
        holds(run("status-instance.json", &f, RemediationMode::Auto))[..],
        [Hold::LedgerUnavailable { .. }]
    ));
}

#[test]
fn every_applicable_hold_is_listed() {
    let mut f = inst(facts(&[("aws:autoscaling:groupName", "web")]));
    f.ledger = Source::Unavailable(Gap::Failed("down".into()));
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)).len(),
        3
    );
}

// Corroboration: the alarm must prove the check failed, and DescribeInstanceStatus must agree now.

#[test]
fn a_less_than_threshold_status_alarm_on_a_healthy_opted_in_instance_is_not_acted_on() {
    let mut v = event("status-instance.json");
    v["detail"]["state"]["reason"] = json!("Threshold Crossed: 3 out of the last 3 datapoints [0.0 (12/10/25 04:30:00), 0.0 (12/10/25 04:29:00), 0.0 (12/10/25 04:28:00)] were less than the threshold (1.0).");
    v["detail"]["state"]["reasonData"] = json!(
        r#"{"version":"1.0","statistic":"Maximum","period":60,"threshold":1.0,"evaluatedDatapoints":[{"timestamp":"2025-10-12T04:30:00.000+0000","value":0.0},{"timestamp":"2025-10-12T04:29:00.000+0000","value":0.0},{"timestamp":"2025-10-12T04:28:00.000+0000","value":0.0}]}"#
    );
    let c = parsed(&v);
    assert_eq!(c.comparison, Some(Comparison::Less));
    assert_eq!(
        holds(decide_on(&c, &opted(), RemediationMode::Auto)),
        vec![
            not_corroborated(Uncorroborated::Comparison {
                comparison: Some(Comparison::Less),
                threshold: Some(1.0)
            }),
            not_corroborated(Uncorroborated::NoFailedDatapoint { evaluated: 3 }),
            not_corroborated(Uncorroborated::NotImpaired {
                check: "StatusCheckFailed_Instance".into(),
                state: Some("ok".into())
            }),
        ]
    );
}

#[test]
fn only_greater_than_zero_or_at_least_one_means_the_check_failed() {
    let with = |reason: &str, threshold: f64| {
        let mut v = event("status-instance.json");
        v["detail"]["state"]["reason"] = json!(reason);
        let data = v["detail"]["state"]["reasonData"]
            .as_str()
            .unwrap()
            .replace("\"threshold\":0.0", &format!("\"threshold\":{threshold:?}"));
        v["detail"]["state"]["reasonData"] = json!(data);
        decide_on(&parsed(&v), &inst(opted()), RemediationMode::Auto)
    };
    let gt = "3 datapoints were greater than the threshold";
    let ge = "3 datapoints were greater than or equal to the threshold";
    assert_eq!(with(gt, 0.0), REBOOT);
    assert_eq!(with(gt, 0.5), REBOOT);
    assert_eq!(with(ge, 1.0), REBOOT);
    assert_eq!(with(ge, 0.5), REBOOT);
    for (reason, t) in [(gt, 1.0), (gt, -1.0), (ge, 0.0), (ge, 2.0)] {
        assert!(
            matches!(
                holds(with(reason, t))[..],
                [Hold::NotCorroborated {
                    why: Uncorroborated::Comparison { .. }
                }]
            ),
            "{reason} {t}"
        );
    }
}

#[test]
fn an_anomaly_band_on_a_status_metric_is_not_corroborated() {
    let mut v = event("status-instance.json");
    let metrics = &mut v["detail"]["configuration"]["metrics"];
    metrics[0]["id"] = json!("m1");
    metrics.as_array_mut().unwrap().push(
        json!({"id": "ad1", "expression": "ANOMALY_DETECTION_BAND(m1, 2)", "returnData": true}),
    );
    let c = parsed(&v);
    assert_eq!(c.comparison, Some(Comparison::OutsideBand));
    assert_eq!(
        holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::Comparison {
            comparison: Some(Comparison::OutsideBand),
            threshold: Some(0.0)
        })]
    );
}

#[test]
fn a_contributor_of_a_fleet_status_check_alarm_is_advice_only() {
    // GIVEN a multi-time-series alarm on the instance check, its contributor for an opted-in, impaired instance
    let mut v = event("fleet-contributor-alarm.json");
    v["detail"]["configuration"]["metrics"][0]["expression"] = json!(
            "SELECT MAX(StatusCheckFailed_Instance) FROM SCHEMA(\"AWS/EC2\", InstanceId) GROUP BY InstanceId"
        );
    v["detail"]["alarmContributor"]["attributes"]["InstanceId"] = json!("i-0d1e2f3a4b5c6d7e8");
    v["detail"]["state"]["reason"] = json!("Threshold Crossed: 1 datapoint was greater than or equal to the threshold (1.0). The most recent datapoint which crossed the threshold: [1.0 (12/10/25 04:29:00)].");
    let c = parsed(&v);
    assert_eq!(c.single_instance(), Ok("i-0d1e2f3a4b5c6d7e8"));
    // THEN no automatic action: the series is read back from the contributor, not named by the alarm
    assert_eq!(
        holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::NotCheckAlarm {
            metric: None,
            check: "StatusCheckFailed_Instance".into()
        })]
    );
}

#[test]
fn a_status_alarm_in_another_namespace_is_not_corroborated() {
    let mut v = event("status-instance.json");
    v["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["namespace"] =
        json!("Custom/Health");
    assert_eq!(
        holds(decide_on(
            &parsed(&v),
            &inst(opted()),
            RemediationMode::Auto
        )),
        vec![not_corroborated(Uncorroborated::Namespace {
            metric: "StatusCheckFailed_Instance".into(),
            namespace: "Custom/Health".into()
        })]
    );
}

fn metric_math(members: &[(&str, &str, Option<&str>)]) -> Incident {
    let mut v = event("status-instance.json");
    let mut metrics: Vec<Value> = members
            .iter()
            .map(|(id, name, instance)| {
                let dims = match instance {
                    Some(i) => json!({ "InstanceId": i }),
                    None => json!({}),
                };
                json!({"id": id, "metricStat": {"metric": {"namespace": "AWS/EC2", "name": name, "dimensions": dims}, "period": 60, "stat": "Maximum"}, "returnData": false})
            })
            .collect();
    let ids: Vec<&str> = members.iter().map(|m| m.0).collect();
    metrics.push(json!({"id": "e1", "expression": format!("MAX([{}])", ids.join(", ")), "label": "worst check", "returnData": true}));
    v["detail"]["configuration"]["metrics"] = Value::Array(metrics);
    parsed(&v)
}

#[test]
fn a_metric_math_alarm_over_two_instances_has_no_instance_to_act_on() {
    // MAX([m1, m2]) over two instances' checks: rebooting the first would reboot the wrong one half the time.
    let c = metric_math(&[
        (
            "m1",
            "StatusCheckFailed_Instance",
            Some("i-0d1e2f3a4b5c6d7e8"),
        ),
        (
            "m2",
            "StatusCheckFailed_Instance",
            Some("i-0aaaaaaaaaaaaaaaa"),
        ),
    ]);
    assert_eq!(
        c.primary_instance(),
        Some("i-0d1e2f3a4b5c6d7e8"),
        "reported"
    );
    assert_eq!(
        holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::SeveralInstances {
            ids: vec!["i-0d1e2f3a4b5c6d7e8".into(), "i-0aaaaaaaaaaaaaaaa".into()]
        })]
    );
}

#[test]
fn a_metric_math_alarm_over_one_instances_checks_can_act() {
    let c = metric_math(&[
        (
            "m1",
            "StatusCheckFailed_Instance",
            Some("i-0d1e2f3a4b5c6d7e8"),
        ),
        ("m2", "StatusCheckFailed", Some("i-0d1e2f3a4b5c6d7e8")),
    ]);
    assert_eq!(c.single_instance(), Ok("i-0d1e2f3a4b5c6d7e8"));
    assert_eq!(decide_on(&c, &inst(opted()), RemediationMode::Auto), REBOOT);
}

#[test]
fn a_metric_math_member_without_the_instance_or_of_another_metric_is_not_corroborated() {
    let c = metric_math(&[
        (
            "m1",
            "StatusCheckFailed_Instance",
            Some("i-0d1e2f3a4b5c6d7e8"),
        ),
        ("m2", "StatusCheckFailed_Instance", None),
    ]);
    assert_eq!(
        holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::Member {
            id: "m2".into(),
            metric: "StatusCheckFailed_Instance".into()
        })]
    );
    let c = metric_math(&[
        (
            "m1",
            "StatusCheckFailed_Instance",
            Some("i-0d1e2f3a4b5c6d7e8"),
        ),
        ("m2", "CPUUtilization", Some("i-0d1e2f3a4b5c6d7e8")),
    ]);
    assert_eq!(
        holds(decide_on(&c, &inst(opted()), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::Member {
            id: "m2".into(),
            metric: "CPUUtilization".into()
        })]
    );
}

#[test]
fn a_status_alarm_with_zero_failing_datapoints_is_not_corroborated() {
    let mut v = event("status-instance.json");
    let data = v["detail"]["state"]["reasonData"]
        .as_str()
        .unwrap()
        .replace("\"value\":1.0", "\"value\":0.0");
    v["detail"]["state"]["reasonData"] = json!(data);
    assert_eq!(
        holds(decide_on(
            &parsed(&v),
            &inst(opted()),
            RemediationMode::Auto
        )),
        vec![not_corroborated(Uncorroborated::NoFailedDatapoint {
            evaluated: 3
        })]
    );
    // No reasonData at all: nothing shows a failure either.
    let mut v = event("status-instance.json");
    v["detail"]["state"]
        .as_object_mut()
        .unwrap()
        .remove("reasonData");
    assert!(holds(decide_on(
        &parsed(&v),
        &inst(opted()),
        RemediationMode::Auto
    ))
    .contains(&not_corroborated(Uncorroborated::NoFailedDatapoint {
        evaluated: 0
    })));
}

#[test]
fn a_status_alarm_whose_check_is_not_impaired_now_is_not_corroborated() {
    assert_eq!(
        holds(run("status-instance.json", &opted(), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::NotImpaired {
            check: "StatusCheckFailed_Instance".into(),
            state: Some("ok".into())
        })]
    );
    // A stopped instance has no status to report.
    let mut f = opted();
    if let Source::Available(s) = &mut f.status {
        s.system = None;
    }
    assert!(
        holds(run("status-system.json", &f, RemediationMode::Auto)).contains(&not_corroborated(
            Uncorroborated::NotImpaired {
                check: "StatusCheckFailed_System".into(),
                state: None
            }
        ))
    );
}

#[test]
fn a_cpu_alarm_on_an_impaired_instance_leaves_the_action_to_the_sweep() {
    assert_eq!(
        holds(run(
            "cpu-sustained.json",
            &inst(opted()),
            RemediationMode::Auto
        )),
        vec![not_corroborated(Uncorroborated::NotCheckAlarm {
            metric: Some("CPUUtilization".into()),
            check: "StatusCheckFailed_Instance".into()
        })]
    );
}

#[test]
fn the_sweeps_own_incident_is_corroborated_by_describe_instance_status() {
    let found = crate::facts::Impaired {
        instance_id: "i-0d1e2f3a4b5c6d7e8".into(),
        availability_zone: Some("ap-northeast-2c".into()),
        check: "StatusCheckFailed_Instance".into(),
        since: Some(now()),
    };
    let c = Incident::from_sweep(&found, now());
    assert_eq!(decide_on(&c, &inst(opted()), RemediationMode::Auto), REBOOT);
    // Recovered between the sweep's list and the gathering: the re-read is what counts.
    assert_eq!(
        holds(decide_on(&c, &opted(), RemediationMode::Auto)),
        vec![not_corroborated(Uncorroborated::NotImpaired {
            check: "StatusCheckFailed_Instance".into(),
            state: Some("ok".into())
        })]
    );
}

// Fail closed: a fact a hold depends on that is unknown holds.

#[test]
fn describe_instance_status_unavailable_holds_with_cannot_verify() {
    let mut f = opted();
    f.status = Source::Unavailable(Gap::Failed("ec2 DescribeInstanceStatus: timed out".into()));
    assert_eq!(
        holds(run("status-instance.json", &f, RemediationMode::Auto)),
        vec![Hold::CannotVerify {
            fact: Fact::InstanceStatus,
            why: Gap::Failed("ec2 DescribeInstanceStatus: timed out".into())
        }]
    );
}

#[test]
fn instance_type_unavailable_holds_a_stop_start_with_cannot_verify_but_not_a_reboot() {
    let mut f = opted();
    f.instance_type = Source::Unavailable(Gap::TimedOut { ms: 4000 });
    assert_eq!(
        holds(run(
            "status-system.json",
            &sys(f.clone()),
            RemediationMode::Auto
        )),
        vec![Hold::CannotVerify {
            fact: Fact::InstanceType,
            why: Gap::TimedOut { ms: 4000 }
        }]
    );
    assert_eq!(
        run(
            "status-instance.json",
            &inst(f.clone()),
            RemediationMode::Auto
        ),
        REBOOT
    );
    // An instance-store root needs no type to know: that hold, not a "cannot verify".
    instance(&mut f).root_device_type = Some("instance-store".into());
    assert_eq!(
        holds(run("status-system.json", &sys(f), RemediationMode::Auto)),
        vec![Hold::InstanceStore]
    );
}

#[test]
fn stop_protection_unavailable_holds_a_stop_start_with_cannot_verify() {
    let mut f = opted();
    instance(&mut f).disable_api_stop = Source::Unavailable(Gap::Failed(
        "ec2 DescribeInstanceAttribute: UnauthorizedOperation".into(),
    ));
    assert_eq!(
        cannot_verify(run(
            "status-system.json",
            &sys(f.clone()),
            RemediationMode::Auto
        )),
        vec![Fact::StopProtection]
    );
    assert_eq!(
        run("status-instance.json", &inst(f), RemediationMode::Auto),
        REBOOT
    );
}

#[test]
fn tenancy_unknown_holds_a_stop_start_with_cannot_verify() {
    let mut f = sys(opted());
    instance(&mut f).tenancy = None;
    assert_eq!(
        cannot_verify(run("status-system.json", &f, RemediationMode::Auto)),
        vec![Fact::Tenancy]
    );
}

#[test]
fn auto_recovery_setting_unknown_holds_a_stop_start_with_cannot_verify() {
    let mut f = sys(opted());
    instance(&mut f).auto_recovery = None;
    assert_eq!(
        cannot_verify(run("status-system.json", &f, RemediationMode::Auto)),
        vec![Fact::AutoRecovery]
    );
    // On, but the type's support is unknown.
    instance(&mut f).auto_recovery = Some("default".into());
    f.instance_type = Source::Unavailable(Gap::Failed("throttled".into()));
    assert_eq!(
        cannot_verify(run("status-system.json", &f, RemediationMode::Auto)),
        vec![Fact::InstanceType]
    );
}

#[test]
fn instance_facts_unavailable_hold_with_the_reason() {
    // ASG membership, lifecycle, tenancy and the opt-in tag all come from DescribeInstances.
    let mut f = sys(opted());
    f.instance = Source::Unavailable(Gap::Failed("ec2 DescribeInstances: InternalError".into()));
    assert_eq!(
        holds(run("status-system.json", &f, RemediationMode::Auto)),
        vec![Hold::InstanceUnknown {
            why: Gap::Failed("ec2 DescribeInstances: InternalError".into())
        }]
    );
}

// Instance facts that rule out a stop/start.

#[test]
fn a_spot_instance_is_not_stopped_but_may_be_rebooted() {
    let mut f = opted();
    instance(&mut f).lifecycle = Some("spot".into());
    assert_eq!(
        holds(run(
            "status-system.json",
            &sys(f.clone()),
            RemediationMode::Auto
        )),
        vec![Hold::Spot]
    );
    assert_eq!(
        run("status-instance.json", &inst(f), RemediationMode::Auto),
        REBOOT
    );
}

#[test]
fn stop_protection_holds_a_stop_start() {
    let mut f = opted();
    instance(&mut f).disable_api_stop = Source::Available(true);
    assert_eq!(
        holds(run(
            "status-system.json",
            &sys(f.clone()),
            RemediationMode::Auto
        )),
        vec![Hold::StopProtection]
    );
    assert_eq!(
        run("status-instance.json", &inst(f), RemediationMode::Auto),
        REBOOT
    );
}

#[test]
fn a_dedicated_host_holds_a_stop_start_but_dedicated_tenancy_does_not() {
    let mut f = sys(opted());
    instance(&mut f).tenancy = Some("host".into());
    assert_eq!(
        holds(run("status-system.json", &f, RemediationMode::Auto)),
        vec![Hold::DedicatedHost]
    );
    instance(&mut f).tenancy = Some("dedicated".into());
    assert_eq!(
        run("status-system.json", &f, RemediationMode::Auto),
        STOP_START
    );
}

#[test]
fn an_efa_instance_holds_a_stop_start() {
    let mut f = sys(opted());
    instance(&mut f).efa = true;
    assert_eq!(
        holds(run("status-system.json", &f, RemediationMode::Auto)),
        vec![Hold::Efa]
    );
}

#[test]
fn simplified_automatic_recovery_on_a_supported_type_lets_aws_recover_first() {
    let mut f = opted();
    instance(&mut f).auto_recovery = Some("default".into());
    if let Source::Available(t) = &mut f.instance_type {
        t.auto_recovery_supported = true;
    }
    assert_eq!(
        holds(run(
            "status-system.json",
            &sys(f.clone()),
            RemediationMode::Auto
        )),
        vec![Hold::AutoRecovery]
    );
    // An instance check is not AWS's to recover.
    assert_eq!(
        run(
            "status-instance.json",
            &inst(f.clone()),
            RemediationMode::Auto
        ),
        REBOOT
    );
    // A type without support: AWS does nothing, ec2ops may.
    if let Source::Available(t) = &mut f.instance_type {
        t.auto_recovery_supported = false;
    }
    assert_eq!(
        run("status-system.json", &sys(f), RemediationMode::Auto),
        STOP_START
    );
}

/// A maintenance window declared on the instance holds the action until it ends; an ended, malformed or too distant
/// one holds nothing (the report names a tag it does not follow).
#[test]
fn a_maintenance_window_on_the_instance_holds_the_action_until_it_ends() {
    let tag = crate::remediation::maintenance::TAG;
    let tagged = |until: &str| inst(facts(&[("ec2ops:auto-remediate", "true"), (tag, until)]));
    // now() is 2025-10-12 04:32 UTC.
    assert_eq!(
        holds(run(
            "status-instance.json",
            &tagged("2025-10-12T15:00:00+09:00"),
            RemediationMode::Auto
        )),
        vec![Hold::Maintenance {
            until: crate::event::parse_timestamp("2025-10-12T06:00:00.000+0000").unwrap()
        }]
    );
    for (until, why) in [
        ("2025-10-12T04:31:59Z", "ended"),
        ("next tuesday", "not a time"),
        ("2025-10-13T04:32:01Z", "more than a day ahead"),
    ] {
        assert_eq!(
            run(
                "status-instance.json",
                &tagged(until),
                RemediationMode::Auto
            ),
            REBOOT,
            "{why}: {until}"
        );
    }
    // A dry run is held the same way: it would say what it would have done to an instance under maintenance.
    assert!(matches!(
        run(
            "status-system.json",
            &sys(facts(&[
                ("ec2ops:auto-remediate", "true"),
                (tag, "2025-10-12T05:00:00Z")
            ])),
            RemediationMode::DryRun
        ),
        Decision::Held { .. }
    ));
}

fn at(s: &str) -> DateTime<Utc> {
    crate::event::parse_timestamp(s).unwrap()
}

fn with_silencers(
    mut f: Facts,
    mute_rules: Option<Source<Vec<crate::silence::MuteRule>>>,
    calendars: Vec<(&str, Source<crate::silence::CalendarState>)>,
) -> Facts {
    f.silencers = crate::silence::Silencers {
        mute_rules,
        calendars: calendars
            .into_iter()
            .map(|(c, s)| (c.to_string(), s))
            .collect(),
        read_at: None,
    };
    f
}

fn calendar(open: bool) -> Source<crate::silence::CalendarState> {
    Source::Available(crate::silence::CalendarState {
        open,
        next_transition: Some(at("2025-10-12T09:00:00.000+0000")),
    })
}

/// An active mute rule on the alarm and a closed Change Calendar each hold the action, named; an open calendar and
/// no active rule hold nothing; a source that could not be read holds it too (the freeze may be on).
#[test]
fn an_active_mute_rule_or_a_closed_change_calendar_holds_the_action_and_an_unread_one_holds_it_too()
{
    let rule = crate::silence::MuteRule {
        name: "nightly-backup".into(),
        expires: None,
        alarm: None,
    };
    let muted = with_silencers(inst(opted()), Some(Source::Available(vec![rule])), vec![]);
    assert_eq!(
        holds(run("status-instance.json", &muted, RemediationMode::Auto)),
        vec![Hold::Silenced(silence::Silence::Muted {
            rule: "nightly-backup".into(),
            expires: None,
            alarm: None
        })]
    );
    let frozen = with_silencers(
        inst(opted()),
        Some(Source::Available(vec![])),
        vec![
            ("release-freeze", calendar(false)),
            ("holidays", calendar(true)),
        ],
    );
    assert_eq!(
        holds(run("status-instance.json", &frozen, RemediationMode::Auto)),
        vec![Hold::Silenced(silence::Silence::Frozen {
            calendar: "release-freeze".into(),
            until: Some(at("2025-10-12T09:00:00.000+0000"))
        })]
    );
    let open = with_silencers(
        inst(opted()),
        Some(Source::Available(vec![])),
        vec![("holidays", calendar(true))],
    );
    assert_eq!(
        run("status-instance.json", &open, RemediationMode::Auto),
        REBOOT
    );
    let unread = with_silencers(
        inst(opted()),
        Some(Source::Unavailable(Gap::Failed(
            "AccessDenied: not authorized".into(),
        ))),
        vec![("holidays", Source::Unavailable(Gap::TimedOut { ms: 4000 }))],
    );
    assert_eq!(
        holds(run("status-instance.json", &unread, RemediationMode::Auto)),
        vec![
            Hold::SilenceUnread {
                what: silence::Unread::MuteRules,
                why: Gap::Failed("AccessDenied: not authorized".into())
            },
            Hold::SilenceUnread {
                what: silence::Unread::Calendar("holidays".into()),
                why: Gap::TimedOut { ms: 4000 }
            }
        ]
    );
}

/// A P0 system-check failure under a mute rule is still held: the break-through is the report's, not the action's.
#[test]
fn a_p0_status_check_failure_under_a_mute_rule_is_still_held() {
    let rule = crate::silence::MuteRule {
        name: "weekend".into(),
        expires: Some(at("2025-10-13T00:00:00.000+0000")),
        alarm: None,
    };
    let f = with_silencers(sys(opted()), Some(Source::Available(vec![rule])), vec![]);
    let c = change("status-system.json");
    let a = assess(&c, &f);
    assert_eq!(a.priority, crate::analyze::Priority::P0);
    assert!(matches!(
        decide(&c, &f, &a, RemediationMode::Auto, &Envelope::default(), now()),
        Decision::Held { ref holds, .. } if matches!(holds[..], [Hold::Silenced(silence::Silence::Muted { .. })])
    ));
}
