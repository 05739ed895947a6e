//! The safety envelope: each refusal reported with its reason, AZ events, the hourly and daily caps and the
//! instance lock under concurrency, and hostile alarms that must never change an instance.

use super::*;

#[tokio::test]
async fn each_envelope_refusal_is_reported_with_its_reason() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::ZERO;
    // Not opted in.
    let plain = rig.instance("m5.large", false, &[]).await;
    rig.status.impair(&plain, INSTANCE);
    let o = rig
        .respond(&incident("status-instance.json", &plain, Utc::now()))
        .await;
    assert!(matches!(holds(&o)[..], [Hold::NotOptedIn { .. }]));
    // Auto Scaling group member.
    let member = rig
        .instance(
            "m5.large",
            true,
            &[("aws:autoscaling:groupName", "web-asg")],
        )
        .await;
    rig.status.impair(&member, INSTANCE);
    let o = rig
        .respond(&incident("status-instance.json", &member, Utc::now()))
        .await;
    assert_eq!(
        holds(&o),
        vec![Hold::AutoScalingGroup {
            group: "web-asg".into()
        }]
    );
    // Cooldown: a second incident on the same instance right after an action.
    rig.fresh_ledger().await;
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let t0 = Utc::now();
    assert!(matches!(
        action(
            &rig.respond(&incident("status-instance.json", &id, t0))
                .await
        ),
        ActionOutcome::Done { .. }
    ));
    let o = rig
        .respond(&incident(
            "status-instance.json",
            &id,
            t0 + chrono::Duration::seconds(1),
        ))
        .await;
    assert!(matches!(holds(&o)[..], [Hold::Cooldown { .. }]));
    // Daily cap: without a cooldown, the second action of the day is refused when the cap is 1.
    rig.settings.envelope.cooldown = chrono::Duration::zero();
    rig.settings.envelope.daily_cap = 1;
    let o = rig
        .respond(&incident(
            "status-instance.json",
            &id,
            t0 + chrono::Duration::seconds(2),
        ))
        .await;
    assert_eq!(holds(&o), vec![Hold::DailyCap { cap: 1 }]);
    // Hourly cap, account-wide: another instance is refused once the account has used its hourly actions.
    rig.settings.envelope.daily_cap = 3;
    rig.settings.envelope.hourly_cap = 1;
    let other = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&other, INSTANCE);
    let o = rig
        .respond(&incident("status-instance.json", &other, Utc::now()))
        .await;
    assert!(holds(&o).contains(&Hold::HourlyCap { cap: 1 }));
    assert_eq!(
        rig.remediator.real(),
        1,
        "only the first opted-in incident acted"
    );
    let texts: Vec<String> = rig.reports().await.into_iter().map(|n| n.message).collect();
    for reason in [
        "held: the instance has not opted in (ec2ops:auto-remediate=true)",
        "held: member of Auto Scaling group web-asg",
        "held: cooldown: last action at",
        "held: per-instance daily cap of 1 reached",
        "held: account-wide hourly cap of 1 reached",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(reason)),
            "no report says {reason:?}"
        );
    }
}

#[tokio::test]
async fn five_instance_check_incidents_in_one_az_at_once_make_one_az_report_and_no_action() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    // Concurrent deliveries gather at different speeds on a loaded machine: the settle delay must cover the spread
    // (10 s in production).
    rig.settings.settle = Duration::from_secs(4);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let id = rig.instance("m5.large", true, &[]).await;
        rig.status.impair(&id, INSTANCE);
        ids.push(id);
    }
    let at = Utc::now();
    // One alarm per instance: distinct incidents (the sample event's alarm is renamed after each instance).
    let events: Vec<Value> = ids
        .iter()
        .map(|id| own_alarm(incident("status-instance.json", id, at), id))
        .collect();
    // Delivered concurrently, as Lambda scales out for a storm.
    let outcomes = futures_util::future::join_all(events.iter().map(|e| rig.try_respond(e))).await;
    let reported: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Ok(Outcome::Reported(i)) => Some(i),
            _ => None,
        })
        .collect();
    let covered = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Outcome::Covered { .. })))
        .count();
    assert_eq!(
        (reported.len(), covered),
        (1, 4),
        "{:?}",
        summaries(&outcomes)
    );
    let az = &reported[0];
    assert!(az.assessment.has(ec2ops::analyze::RuleId::AzEvent));
    assert_eq!(az.assessment.priority, ec2ops::analyze::Priority::P0);
    assert!(
        matches!(&az.action, ActionOutcome::Held { holds, .. } if holds.contains(&Hold::AzEvent { impaired: 5 })),
        "{:?}",
        az.action
    );
    assert_eq!(rig.remediator.real(), 0, "no action on any of them");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "one AZ report for the storm");
    assert!(got[0].subject.starts_with("[P0] Probable AZ-wide event"));
    for id in &ids {
        assert!(
            got[0].message.contains(id.as_str()),
            "the AZ report names {id}"
        );
    }
    // Every incident is in the look-back log (`ec2ops incidents`): the AZ report's own, and the four it covers,
    // each naming the report that covers it.
    let logged = rig.logged(at - chrono::Duration::minutes(5)).await;
    let log = ec2ops_aws::DynamoStorm::new(
        rig.emu.dynamodb.clone(),
        rig.settings.ledger_table.clone().expect("a ledger table"),
    );
    let ours: Vec<_> = logged
        .iter()
        .filter(|l| {
            l.instance
                .as_deref()
                .is_some_and(|i| ids.iter().any(|id| id == i))
        })
        .collect();
    assert_eq!(ours.len(), 5, "{ours:?}");
    let by = &az.change.incident_key();
    let covered_by: Vec<_> = ours
        .iter()
        .filter(|l| l.action == format!("covered by {by}"))
        .collect();
    assert_eq!(covered_by.len(), 4, "{ours:?}");
    for l in covered_by {
        let shown = ec2ops::storm::IncidentLog::show(&log, &l.incident_key)
            .await
            .expect("show")
            .expect("recorded");
        assert!(
            shown
                .report
                .contains(&format!("ec2ops incidents show '{by}'")),
            "{}",
            shown.report
        );
    }
    // A sixth instance of the AZ fails after the AZ report went out: part of the same event, not named by that
    // report — listed in the storm window's digest, not a second AZ-wide report.
    let late = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&late, INSTANCE);
    let o = rig
        .respond(&own_alarm(
            incident("status-instance.json", &late, Utc::now()),
            &late,
        ))
        .await;
    let Outcome::Reported(joined) = o else {
        panic!("expected the incident recorded, got {o:?}")
    };
    assert!(joined.assessment.has(ec2ops::analyze::RuleId::AzEvent));
    assert_eq!(joined.message_id, None, "not published on its own");
    let more = rig.reports().await;
    assert!(
        more.is_empty(),
        "no second AZ-wide report (the digest is published by its flush): {:?}",
        more.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let logged = ec2ops::storm::IncidentLog::show(&log, &joined.change.incident_key())
        .await
        .expect("show")
        .expect("recorded");
    assert!(logged.digest.is_some(), "listed in a digest: {logged:?}");
}

#[tokio::test]
async fn twenty_concurrent_action_transactions_with_an_hourly_cap_of_ten_grant_exactly_ten() {
    use ec2ops::config::Envelope;
    use ec2ops::ports::{ActionRecord, Grant};
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let envelope = Envelope {
        hourly_cap: 10,
        ..Envelope::default()
    };
    let now = Utc::now();
    let records: Vec<ActionRecord> = (0..20)
        .map(|n| ActionRecord {
            owner: format!("delivery-{n}"),
            incident_key: format!("cap-test#{n}"),
            instance_id: format!("i-{n:017x}"),
            availability_zone: Some(format!("az-{}", n % 10)),
            action: ActionKind::Reboot,
            at: now,
        })
        .collect();
    let ledger = rig.ledger();
    let grants =
        futures_util::future::join_all(records.iter().map(|r| ledger.record_action(r, &envelope)))
            .await;
    let granted = grants
        .iter()
        .filter(|g| matches!(g, Ok(Grant::Granted)))
        .count();
    let refused = grants
        .iter()
        .filter(|g| matches!(g, Ok(Grant::Refused(h)) if h.contains(&Hold::HourlyCap { cap: 10 })))
        .count();
    assert_eq!((granted, refused), (10, 10), "{grants:?}");
}

#[tokio::test]
async fn the_instance_lock_holds_twenty_minutes_and_the_daily_cap_counts_in_the_transaction() {
    use ec2ops::config::Envelope;
    use ec2ops::ports::{ActionRecord, Grant};
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    // A fixed hour of one UTC day, so that the day does not turn during the test.
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-03-04T01:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let envelope = |daily_cap| Envelope {
        cooldown: chrono::Duration::zero(),
        daily_cap,
        hourly_cap: 100,
        ..Envelope::default()
    };
    let record = |n: i64| ActionRecord {
        owner: format!("delivery-{n}"),
        incident_key: format!("lock-test#{n}"),
        instance_id: "i-0123456789abcdef0".into(),
        availability_zone: None,
        action: ActionKind::Reboot,
        at: t0 + chrono::Duration::minutes(n),
    };
    let ledger = &rig.ledger();
    let grant = |n, cap| {
        let r = record(n);
        async move { ledger.record_action(&r, &envelope(cap)).await.unwrap() }
    };
    assert_eq!(grant(0, 3).await, Grant::Granted);
    // Five minutes later, without any cooldown: the lock of the first action still holds (one action in flight).
    assert!(
        matches!(grant(5, 3).await, Grant::Refused(h) if matches!(h[..], [Hold::InstanceBusy { .. }])),
        "locked"
    );
    // Twenty-one minutes later the lock is free; a daily cap of 1 refuses, in the transaction itself.
    assert_eq!(
        grant(21, 1).await,
        Grant::Refused(vec![Hold::DailyCap { cap: 1 }])
    );
    assert_eq!(grant(22, 3).await, Grant::Granted);
}

#[tokio::test]
async fn hostile_alarms_on_opted_in_instances_never_change_an_instance() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.settle = Duration::ZERO;
    let healthy = rig.instance("m5.large", true, &[]).await;
    let sick = rig.instance("m5.large", true, &[]).await;
    let other = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&sick, INSTANCE);
    rig.status.impair(&other, INSTANCE);
    let at = Utc::now();

    // 1. "Check failed" inverted: LessThanThreshold 1 fires on a healthy instance whose check reads 0.
    let mut inverted = incident("status-instance.json", &healthy, at);
    let state = &mut inverted["detail"]["state"];
    state["reason"] = Value::String(
        "Threshold Crossed: 3 out of the last 3 datapoints [0.0 (12/10/25 04:30:00), 0.0 (12/10/25 04:29:00), 0.0 (12/10/25 04:28:00)] were less than the threshold (1.0) (minimum 3 datapoints for OK -> ALARM transition).".into(),
    );
    let data = state["reasonData"]
        .as_str()
        .unwrap()
        .replace("1.0", "0.0")
        .replace("\"threshold\":0.0", "\"threshold\":1.0");
    state["reasonData"] = Value::String(data);

    // 2. The metric's name in an attacker's own namespace, on an instance that is impaired.
    let mut namespaced = incident(
        "status-instance.json",
        &sick,
        at + chrono::Duration::seconds(1),
    );
    namespaced["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]["namespace"] =
        Value::String("Custom/Attacker".into());

    // 3. Metric math over two instances' checks: which one would a reboot hit?
    let mut math = incident(
        "status-instance.json",
        &sick,
        at + chrono::Duration::seconds(2),
    );
    let member = |id: &str, mid: &str| {
        serde_json::json!({
            "id": mid,
            "metricStat": {
                "metric": {"namespace": "AWS/EC2", "name": "StatusCheckFailed_Instance", "dimensions": {"InstanceId": id}},
                "period": 60, "stat": "Maximum"
            },
            "returnData": false
        })
    };
    math["detail"]["configuration"]["metrics"] = serde_json::json!([
        member(&sick, "m1"),
        member(&other, "m2"),
        {"id": "e1", "expression": "MAX([m1, m2])", "label": "worst check", "returnData": true}
    ]);

    for (name, event) in [
        ("inverted", &inverted),
        ("namespace", &namespaced),
        ("math", &math),
    ] {
        let o = rig.respond(event).await;
        let h = holds(&o);
        assert!(
            h.iter().any(|h| matches!(h, Hold::NotCorroborated { .. })),
            "{name}: {h:?}"
        );
    }
    assert_eq!(
        rig.remediator.real() + rig.remediator.dry(),
        0,
        "no EC2 call at all"
    );
    let texts: Vec<String> = rig.reports().await.into_iter().map(|n| n.message).collect();
    assert_eq!(texts.len(), 3);
    for reason in [
        "does not mean \"check failed\"",
        "not AWS/EC2",
        "the alarm covers 2 instances",
    ] {
        assert!(
            texts.iter().any(|t| t.contains(reason)),
            "no report says {reason:?}"
        );
    }
}

/// The event with its alarm renamed after the instance (each instance has its own alarm).
fn own_alarm(event: Value, id: &str) -> Value {
    let text = event
        .to_string()
        .replace("prod-web-2-instance-check", &format!("{id}-instance-check"));
    serde_json::from_str(&text).expect("renamed event")
}

/// One line per outcome, for assertion messages.
fn summaries(outcomes: &[Result<Outcome, HandleError>]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            Ok(Outcome::Reported(i)) => format!(
                "reported {} {:?} {}",
                i.change.primary_instance().unwrap_or("-"),
                i.assessment
                    .findings
                    .iter()
                    .map(|f| f.rule.code())
                    .collect::<Vec<_>>(),
                match &i.action {
                    ActionOutcome::Held { holds, .. } => format!("held {holds:?}"),
                    other => ec2ops_action(other).to_string(),
                }
            ),
            Ok(other) => format!("{other:?}").chars().take(120).collect(),
            Err(e) => format!("error {e}"),
        })
        .collect()
}
