//! Silences end to end on the emulator: an alarm muted by an active CloudWatch mute rule (the rule read over HTTP from
//! a recorded answer: neither emulator serves mute rules) is not acted on; below P0 its report goes out quietly, a P0
//! status-check failure's report breaks through and says so; both stay in the incident log (`ec2ops incidents`).

use super::*;
use ec2ops::analyze::Priority;
use ec2ops::remediation::silence::Silence;
use ec2ops_aws::SilenceAdapter;
use ec2ops_tests::stub::cloudwatch_stub;

/// The silence adapter on a loopback stub that answers every ListAlarmMuteRules with the recorded answer (one ACTIVE
/// rule, `nightly-backup`), and the requests it received.
async fn muted_by_recorded_rule() -> (
    Arc<SilenceAdapter>,
    Arc<std::sync::Mutex<Vec<ec2ops_tests::stub::Received>>>,
) {
    let answer: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/tests/fixtures/cloudwatch/list-alarm-mute-rules.json"
        ))
        .expect("fixture"),
    )
    .expect("JSON");
    let (url, seen) = cloudwatch_stub(200, &answer).await;
    let config = config_for(&url).await;
    let silence = Arc::new(SilenceAdapter::new(
        aws_sdk_cloudwatch::Client::new(&config),
        aws_sdk_ssm::Client::new(&config),
    ));
    (silence, seen)
}

#[tokio::test]
async fn a_muted_alarm_is_held_quiet_below_p0_loud_at_p0_and_still_in_the_incident_log() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    rig.settings.mute_rules = true;
    let (silence, seen) = muted_by_recorded_rule().await;
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let mut responder = rig.responder(None, None, None);
    responder.silence = Some(silence);
    let run = |event: Value| {
        let r = &responder;
        async move {
            let now = Utc::now();
            r.respond(&event, now, Budget::new(Duration::from_secs(60), now))
                .await
                .expect("handled")
        }
    };
    let at = Utc::now();

    // The production instance's failed check: P0, held by the rule, and loud.
    let o = run(incident("status-instance.json", &id, at)).await;
    let Outcome::Reported(check) = &o else {
        panic!("{o:?}")
    };
    assert_eq!(check.assessment.priority, Priority::P0);
    assert!(
        matches!(&check.action, ActionOutcome::Held { holds, .. }
            if holds.iter().any(|h| matches!(h, Hold::Silenced(Silence::Muted { rule, .. }) if rule == "nightly-backup"))),
        "{:?}",
        check.action
    );
    assert_eq!(rig.remediator.real(), 0, "nothing done under the mute rule");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].subject.starts_with("[P0] "), "{}", got[0].subject);
    assert!(
        got[0].message.contains("breaks through") && got[0].message.contains("nightly-backup"),
        "{}",
        got[0].message
    );

    // A CPU alarm of another instance (its checks pass), below P0: quiet.
    let busy = rig.instance("m5.large", true, &[]).await;
    let o = run(incident("cpu-sustained.json", &busy, at)).await;
    let Outcome::Reported(cpu) = &o else {
        panic!("{o:?}")
    };
    assert_ne!(cpu.assessment.priority, Priority::P0);
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].subject.starts_with("[muted] [P"),
        "{}",
        got[0].subject
    );
    assert!(
        got[0].message.contains("Sent quietly"),
        "{}",
        got[0].message
    );
    assert_eq!(
        seen.lock().map(|s| s.len()).unwrap_or(0),
        2,
        "one ListAlarmMuteRules per incident"
    );

    // Both are in the look-back log, as any incident.
    let logged = rig.logged(at - chrono::Duration::minutes(5)).await;
    let keys: Vec<&str> = logged
        .iter()
        .filter(|l| {
            [&id, &busy]
                .iter()
                .any(|i| l.instance.as_deref() == Some(i.as_str()))
        })
        .map(|l| l.incident_key.as_str())
        .collect();
    for i in [check, cpu] {
        assert!(keys.contains(&i.change.incident_key().as_str()), "{keys:?}");
    }
}

/// With a paging topic, an unsilenced P0 is copied there (the report topic keeps every report: the record, the chat,
/// the approval buttons); a report below P1, or a silenced one, goes to the report topic only.
#[tokio::test]
async fn urgent_reports_are_copied_to_the_paging_topic_and_quiet_or_lesser_ones_are_not() {
    let Some(mut rig) = Rig::new(RemediationMode::DryRun).await else {
        return;
    };
    let (paging, paging_queue) = rig.emu.topic_with_queue("paging").await;
    rig.settings.paging_topic_arn = Some(paging);
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let at = Utc::now();
    let o = rig
        .respond(&incident("status-instance.json", &id, at))
        .await;
    let Outcome::Reported(check) = &o else {
        panic!("{o:?}")
    };
    assert_eq!(check.assessment.priority, Priority::P0);
    let paged = rig
        .emu
        .notifications(&paging_queue, Duration::from_secs(5))
        .await;
    assert_eq!(paged.len(), 1, "{paged:?}");
    assert!(
        paged[0].subject.starts_with("[P0] "),
        "{}",
        paged[0].subject
    );
    let reported = rig.reports().await;
    assert_eq!(
        reported.len(),
        1,
        "the report topic has it too: {reported:?}"
    );
    assert_eq!(reported[0].message, paged[0].message);

    // A CPU alarm of a healthy development instance: below P1, the report topic.
    let dev = rig
        .emu
        .instance(
            "m5.large",
            &[("Name", "dev-box"), ("Environment", "dev")],
            &[],
        )
        .await;
    let o = rig.respond(&incident("cpu-sustained.json", &dev, at)).await;
    let Outcome::Reported(cpu) = &o else {
        panic!("{o:?}")
    };
    assert!(
        matches!(cpu.assessment.priority, Priority::P2 | Priority::P3),
        "{:?}",
        cpu.assessment.priority
    );
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(rig
        .emu
        .notifications(&paging_queue, Duration::from_secs(2))
        .await
        .is_empty());

    // A CPU alarm of a production instance under an active mute rule: quiet, the report topic (the P0 that breaks
    // through a rule is urgent: `a_silenced_report_is_quiet_below_p0_and_a_p0_status_check_failure_breaks_through`).
    rig.settings.mute_rules = true;
    let mut responder = rig.responder(None, None, None);
    responder.silence = Some(muted_by_recorded_rule().await.0);
    let prod = rig.instance("m5.large", true, &[]).await;
    let now = Utc::now();
    let o = responder
        .respond(
            &incident(
                "cpu-sustained.json",
                &prod,
                at + chrono::Duration::seconds(1),
            ),
            now,
            Budget::new(Duration::from_secs(60), now),
        )
        .await
        .expect("handled");
    let Outcome::Reported(muted) = &o else {
        panic!("{o:?}")
    };
    assert_ne!(muted.assessment.priority, Priority::P0);
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].subject.starts_with("[muted] "), "{}", got[0].subject);
    assert!(rig
        .emu
        .notifications(&paging_queue, Duration::from_secs(2))
        .await
        .is_empty());
}
