//! The second look at a short spike over the real adapters: the one-time schedule in EventBridge Scheduler
//! (LocalStack), the instance's CPU as CloudWatch (LocalStack) holds it before the first report and after it, the
//! incident's record in DynamoDB (moto) that authenticates the look, the follow-up as the SNS subscriber reads it.

use super::*;

/// The seed's spike on a production t3.small, eight minutes ago: half an hour of an idle CPU, then 39.58 % for one
/// minute. Returns the instance and the minute of the spike.
async fn spike_minutes_ago(rig: &Rig) -> (String, DateTime<Utc>) {
    let id = rig.instance("t3.small", false, &[]).await;
    let base = now_minute() - chrono::Duration::minutes(8);
    let spike = base - chrono::Duration::minutes(1);
    let mut cpu: Vec<(DateTime<Utc>, f64)> = (2..30)
        .map(|m| (base - chrono::Duration::minutes(m), 0.26))
        .collect();
    cpu.push((spike, 39.58));
    rig.emu.series("AWS/EC2", "CPUUtilization", &id, &cpu).await;
    (id, spike)
}

/// The first report of the spike, delivered twice as EventBridge may: one report, one second look scheduled. Returns
/// the report and the schedule's input (the event Scheduler will deliver).
async fn first_report(rig: &Rig, id: &str, spike: DateTime<Utc>) -> (String, Value) {
    let at = spike + chrono::Duration::milliseconds(60_000 + 28_989);
    let event = event_for("cpu-spike.json", id, at);
    let report = match rig.respond(&event).await {
        Outcome::Reported(i) => {
            assert!(
                i.assessment.has(ec2ops::analyze::RuleId::CpuSpike),
                "{:?}",
                i.assessment.findings
            );
            ec2ops::report::render::email(&i.report)
        }
        other => panic!("not reported: {other:?}"),
    };
    assert!(matches!(
        rig.respond(&event).await,
        Outcome::Duplicate { .. }
    ));
    let looks = rig.schedules(&format!("ec2ops-recheck-{id}")).await;
    assert_eq!(looks.len(), 1, "one second look per incident: {looks:?}");
    assert!(report.contains("ec2ops looks again at"), "{report}");
    (report, looks[0].1.clone())
}

#[tokio::test]
async fn a_spike_whose_cpu_stays_high_in_cloudwatch_is_posted_by_its_second_look_as_sustained() {
    let Some(rig) = Rig::new(RemediationMode::DryRun).await else {
        return;
    };
    let (id, spike) = spike_minutes_ago(&rig).await;
    let (_, look) = first_report(&rig, &id, spike).await;
    // After the first report CloudWatch gets five more minutes at 88–92 %: the lab's "sustained a minute later".
    let after: Vec<(DateTime<Utc>, f64)> = [88.2, 91.4, 90.0, 89.7, 92.1]
        .iter()
        .enumerate()
        .map(|(i, v)| (spike + chrono::Duration::minutes(i as i64 + 1), *v))
        .collect();
    rig.emu
        .series("AWS/EC2", "CPUUtilization", &id, &after)
        .await;
    match rig.respond(&look).await {
        Outcome::Rechecked {
            picture,
            message_id: Some(_),
            ..
        } => assert_eq!(picture, "sustained"),
        other => panic!("{other:?}"),
    }
    let reports = rig.reports().await;
    assert_eq!(reports.len(), 2, "the report and the follow-up");
    let follow_up = &reports[1];
    assert!(
        follow_up.subject.starts_with("[P1] Spike became sustained"),
        "{}",
        follow_up.subject
    );
    assert!(
        follow_up.message.contains("Priority raised to P1"),
        "{}",
        follow_up.message
    );
}

#[tokio::test]
async fn a_spike_whose_cpu_is_unchanged_in_cloudwatch_gets_a_second_look_that_posts_nothing() {
    let Some(rig) = Rig::new(RemediationMode::DryRun).await else {
        return;
    };
    let (id, spike) = spike_minutes_ago(&rig).await;
    let (_, look) = first_report(&rig, &id, spike).await;
    // Nothing newer reaches CloudWatch: the picture is the first report's.
    match rig.respond(&look).await {
        Outcome::Rechecked {
            picture,
            message_id: None,
            ..
        } => assert_eq!(picture, "unchanged"),
        other => panic!("{other:?}"),
    }
    let reports = rig.reports().await;
    assert_eq!(reports.len(), 1, "only the first report: {reports:?}");
}
