//! Safe automatic remediation against the emulator (LocalStack EC2/SNS/SQS/Scheduler + moto DynamoDB), through the
//! real SDK: exactly once, under the safety envelope, verified afterwards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ec2ops::aws::{AwsClients, DynamoLedger, Ec2Remediator, Scheduler};
use ec2ops::config::{Language, RemediationMode, Settings};
use ec2ops::gather::Readers;
use ec2ops::pipeline::{respond, Actors, Delivery, HandleError, Outcome};
use ec2ops::ports::{AwsError, CallResult, Ledger, Remediator, VerifyScheduler};
use ec2ops::remediation::{ActionKind, ActionOutcome, Hold};
use ec2ops_tests::*;
use serde_json::Value;

/// The real EC2 remediator, counting the calls that change an instance.
struct Counting {
    inner: Ec2Remediator,
    real: AtomicUsize,
    dry: AtomicUsize,
}

impl Counting {
    fn real(&self) -> usize {
        self.real.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Remediator for Counting {
    async fn reboot(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.count(dry_run);
        self.inner.reboot(id, dry_run).await
    }
    async fn stop(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.count(dry_run);
        self.inner.stop(id, dry_run).await
    }
    async fn start(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.count(dry_run);
        self.inner.start(id, dry_run).await
    }
    async fn wait_stopped(&self, id: &str, limit: Duration) -> Result<(), AwsError> {
        self.inner.wait_stopped(id, limit).await
    }
}

impl Counting {
    fn count(&self, dry_run: bool) {
        if dry_run { &self.dry } else { &self.real }.fetch_add(1, Ordering::SeqCst);
    }
}

/// Everything wired as the Lambda function wires it, on the emulator.
struct Rig {
    emu: Emulator,
    clients: AwsClients,
    ledger: DynamoLedger,
    remediator: Counting,
    scheduler: Scheduler,
    topic: String,
    queue: String,
    settings: Settings,
}

const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-2:000000000000:function:ec2ops";

impl Rig {
    async fn new(mode: RemediationMode) -> Option<Rig> {
        let emu = Emulator::connect().await?;
        let table = emu.ledger_table().await;
        let (topic, queue) = emu.topic_with_queue("remediation").await;
        let clients = AwsClients::from_config(&emu.config);
        Some(Rig {
            ledger: DynamoLedger::new(emu.dynamodb.clone(), table.clone()),
            remediator: Counting {
                inner: Ec2Remediator::new(emu.ec2.clone()),
                real: AtomicUsize::new(0),
                dry: AtomicUsize::new(0),
            },
            scheduler: Scheduler::new(
                emu.scheduler.clone(),
                "arn:aws:iam::000000000000:role/ec2ops-scheduler",
            ),
            settings: Settings {
                language: Language::En,
                topic_arn: Some(topic.clone()),
                remediation: mode,
                ledger_table: Some(table),
                ..Settings::default()
            },
            clients,
            topic,
            queue,
            emu,
        })
    }

    async fn respond_with(
        &self,
        event: &Value,
        ledger: &dyn Ledger,
        topic: &str,
    ) -> Result<Outcome, HandleError> {
        let readers = Readers {
            ec2: &self.clients.ec2,
            metrics: &self.clients.cloudwatch,
            ledger: Some(ledger),
            diagnostics: None,
        };
        let actors = Actors {
            remediator: &self.remediator,
            scheduler: Some(&self.scheduler as &dyn VerifyScheduler),
            function_arn: Some(FUNCTION_ARN),
        };
        let delivery = Delivery {
            publisher: &self.clients.sns,
            topic_arn: topic,
        };
        respond(
            event,
            &readers,
            Some(&actors),
            Some(&delivery),
            &self.settings,
            Utc::now(),
        )
        .await
    }

    /// Start over with an empty ledger (earlier steps' impairments would otherwise add up to an AZ event).
    async fn fresh_ledger(&mut self) {
        let table = self.emu.ledger_table().await;
        self.ledger = DynamoLedger::new(self.emu.dynamodb.clone(), table.clone());
        self.settings.ledger_table = Some(table);
    }

    async fn respond(&self, event: &Value) -> Outcome {
        self.respond_with(event, &self.ledger, &self.topic)
            .await
            .expect("handled")
    }

    async fn instance(&self, ty: &str, opted_in: bool, extra: &[(&str, &str)]) -> String {
        let mut tags = vec![("Name", "remediation-test"), ("Environment", "production")];
        if opted_in {
            tags.push(("ec2ops:auto-remediate", "true"));
        }
        tags.extend_from_slice(extra);
        self.emu.instance(ty, &tags, &[]).await
    }

    async fn reports(&self) -> Vec<Notification> {
        self.emu
            .notifications(&self.queue, Duration::from_secs(5))
            .await
    }
}

/// An instance-check (or other) alarm event for `id`, at `at` (distinct times are distinct incidents).
fn incident(file: &str, id: &str, at: DateTime<Utc>) -> Value {
    event_for(file, id, at)
}

fn action(o: &Outcome) -> &ActionOutcome {
    match o {
        Outcome::Reported(i) => &i.action,
        other => panic!("expected a report, got {other:?}"),
    }
}

fn holds(o: &Outcome) -> Vec<Hold> {
    match action(o) {
        ActionOutcome::Held { holds, .. } => holds.clone(),
        other => panic!("expected a hold, got {other:?}"),
    }
}

#[tokio::test]
async fn instance_check_on_an_opted_in_instance_in_auto_reboots_once_and_schedules_the_check() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    let outcome = rig
        .respond(&incident("status-instance.json", &id, Utc::now()))
        .await;
    let ActionOutcome::Done {
        action,
        request_ids,
        verify_at,
        ..
    } = action(&outcome).clone()
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(action, ActionKind::Reboot);
    assert_eq!(request_ids.len(), 1);
    assert!(verify_at.is_some(), "verification scheduled");
    assert_eq!(rig.remediator.real(), 1, "exactly one RebootInstances");

    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .message
        .contains("Automatic action done: reboot (RebootInstances)"));
    assert!(
        got[0].message.contains(&request_ids[0]),
        "the request id is in the report"
    );

    // The schedule exists in EventBridge Scheduler, aimed at the function with the verification request.
    let name = format!("ec2ops-verify-{id}-");
    let list = rig
        .emu
        .scheduler
        .list_schedules()
        .name_prefix(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(list.schedules().len(), 1);
    let schedule_name = list.schedules()[0].name().unwrap().to_string();
    let schedule = rig
        .emu
        .scheduler
        .get_schedule()
        .name(&schedule_name)
        .send()
        .await
        .unwrap();
    let target = schedule.target().unwrap();
    assert_eq!(target.arn(), FUNCTION_ARN);
    assert!(schedule.schedule_expression().unwrap().starts_with("at("));

    // When the schedule fires, the function reads the status checks and posts in the same thread.
    let verify_event: Value = serde_json::from_str(target.input().unwrap()).unwrap();
    let outcome = rig.respond(&verify_event).await;
    let Outcome::Verified { fixed, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(fixed, "LocalStack reports ok status checks");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0].subject.starts_with("[P3] Verified: reboot fixed"));
}

#[tokio::test]
async fn the_same_event_delivered_three_times_two_at_once_acts_once_and_reports_once() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    let event = incident("status-instance.json", &id, Utc::now());
    let (a, b) = tokio::join!(rig.respond(&event), rig.respond(&event));
    let c = rig.respond(&event).await;
    let reported = [&a, &b, &c]
        .iter()
        .filter(|o| matches!(o, Outcome::Reported(_)))
        .count();
    let duplicates = [&a, &b, &c]
        .iter()
        .filter(|o| matches!(o, Outcome::Duplicate { .. }))
        .count();
    assert_eq!((reported, duplicates), (1, 2));
    assert_eq!(rig.remediator.real(), 1);
    assert_eq!(rig.reports().await.len(), 1);
}

#[tokio::test]
async fn system_check_recovers_by_stop_then_start_and_instance_store_is_refused() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    let outcome = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    let ActionOutcome::Done {
        action,
        request_ids,
        ..
    } = action(&outcome).clone()
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(action, ActionKind::StopStart);
    assert_eq!(request_ids.len(), 2, "StopInstances and StartInstances");
    assert_eq!(rig.remediator.real(), 2);
    assert!(matches!(
        rig.emu.state(&id).await.as_str(),
        "running" | "pending"
    ));
    let report = &rig.reports().await[0].message;
    assert!(report.contains("Automatic action done: recover (StopInstances → StartInstances)"));
    assert!(report.contains("A stop/start loses RAM and instance-store data"));

    let store = rig.instance("m5d.large", true, &[]).await;
    let outcome = rig
        .respond(&incident("status-system.json", &store, Utc::now()))
        .await;
    assert_eq!(holds(&outcome), vec![Hold::InstanceStore]);
    assert_eq!(rig.remediator.real(), 2, "no new call");
    assert!(rig.reports().await[0]
        .message
        .contains("instance-store volumes would lose their data on stop/start"));
}

#[tokio::test]
async fn each_envelope_refusal_is_reported_with_its_reason() {
    let Some(mut rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    // Not opted in.
    let plain = rig.instance("m5.large", false, &[]).await;
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
async fn five_instances_failing_in_one_az_are_an_az_event_at_p0_with_no_action() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    // Distinct AZ per test run is not possible on the emulator (all in ap-northeast-2a), so this test's ledger
    // table is its own: the AZ count starts at zero.
    let mut last = None;
    for n in 0..5 {
        let id = rig.instance("m5.large", n == 4, &[]).await;
        last = Some(
            rig.respond(&incident("status-instance.json", &id, Utc::now()))
                .await,
        );
    }
    let Some(Outcome::Reported(i)) = last else {
        panic!("no report")
    };
    assert!(i.assessment.has(ec2ops::analyze::RuleId::AzEvent));
    assert_eq!(i.assessment.priority, ec2ops::analyze::Priority::P0);
    assert!(
        matches!(&i.action, ActionOutcome::Held { holds, .. } if holds.contains(&Hold::AzEvent { impaired: 5 }))
    );
    assert_eq!(rig.remediator.real(), 0);
    let texts = rig.reports().await;
    assert_eq!(texts.len(), 5);
    assert!(texts
        .iter()
        .any(|n| n.subject.starts_with("[P0] Probable AZ-wide event")));
}

#[tokio::test]
async fn dry_run_changes_nothing_and_says_what_it_would_have_done() {
    let Some(rig) = Rig::new(RemediationMode::DryRun).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    let o = rig
        .respond(&incident("status-system.json", &id, Utc::now()))
        .await;
    assert!(
        matches!(
            action(&o),
            ActionOutcome::DryRun {
                allowed: true,
                action: ActionKind::StopStart,
                ..
            }
        ),
        "{o:?}"
    );
    assert_eq!(rig.remediator.real(), 0);
    assert_eq!(rig.emu.state(&id).await, "running");
    let report = &rig.reports().await[0].message;
    assert!(
        report.contains("Dry-run: would have done recover"),
        "{report}"
    );
}

#[tokio::test]
async fn an_unreachable_ledger_still_reports_but_never_acts() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let dead = DynamoLedger::new(
        aws_sdk_dynamodb::Client::new(&config_for("http://127.0.0.1:9").await),
        "ec2ops-ledger",
    );
    let id = rig.instance("m5.large", true, &[]).await;
    let o = rig
        .respond_with(
            &incident("status-instance.json", &id, Utc::now()),
            &dead,
            &rig.topic,
        )
        .await
        .unwrap();
    assert!(matches!(holds(&o)[..], [Hold::LedgerUnavailable { .. }]));
    assert_eq!(rig.remediator.real(), 0);
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "the report still goes out");
    assert!(got[0]
        .message
        .contains("the ledger (DynamoDB) is unavailable, so ec2ops does not act"));
}

#[tokio::test]
async fn a_retry_after_a_failed_publish_reports_without_acting_again() {
    let Some(rig) = Rig::new(RemediationMode::Auto).await else {
        return;
    };
    let id = rig.instance("m5.large", true, &[]).await;
    let event = incident("status-instance.json", &id, Utc::now());
    let missing = "arn:aws:sns:ap-northeast-2:000000000000:missing-topic";
    let first = rig.respond_with(&event, &rig.ledger, missing).await;
    assert!(matches!(first, Err(HandleError::Publish(_))));
    assert_eq!(
        rig.remediator.real(),
        1,
        "the reboot happened before the publish failed"
    );
    let retry = rig.respond(&event).await;
    assert!(
        matches!(
            action(&retry),
            ActionOutcome::AlreadyDone {
                action: ActionKind::Reboot,
                ..
            }
        ),
        "{retry:?}"
    );
    assert_eq!(rig.remediator.real(), 1, "not rebooted twice");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(got[0]
        .message
        .contains("was already done for this incident by an earlier delivery"));
}
