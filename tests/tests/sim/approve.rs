//! `approve` mode through the whole pipeline on the in-memory ports: the simulated EC2, the in-memory ledger, a
//! recording SNS and Scheduler, on tokio's paused clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use serde_json::{json, Value};

use ec2ops::budget::Budget;
use ec2ops::catalogue::{EC2, STATUS_CHECK_FAILED_INSTANCE};
use ec2ops::config::{Language, RemediationMode, Settings};
use ec2ops::memory::MemoryLedger;
use ec2ops::pipeline::{Actors, Outcome, Responder};
use ec2ops::ports::{Approvals, Impairment, ImpairmentLog, Ledger};
use ec2ops::remediation::approval::{Nonce, State};
use ec2ops::remediation::ActionOutcome;
use ec2ops::sim::clock::Clock;
use ec2ops::sim::ec2::{Ec2World, MutationKind, SimInstance};
use ec2ops::sim::faults::{Fault, FaultPlan, FaultRates, Faulty, Kill};
use ec2ops::sim::ports::{QuietMetrics, Recorder, SimScheduler};
use ec2ops::sim::rng::Rng;
use ec2ops::sim::workload::alarm_event;

// The Slack app's function URL on the same world.
#[path = "approve_slack.rs"]
mod slack;

const ID: &str = "i-00000000000000001";
const AZ: &str = "ap-northeast-2a";
const TOPIC: &str = "arn:aws:sns:ap-northeast-2:123456789012:ec2ops-reports";

/// One account in approve mode: an opted-in instance whose instance check fails.
struct World {
    clock: Clock,
    ec2: Arc<Ec2World>,
    ledger: Arc<MemoryLedger>,
    sns: Arc<Recorder>,
    scheduler: Arc<SimScheduler>,
    responder: Responder,
}

fn world() -> World {
    let clock = Clock::new(DateTime::from_timestamp(1_772_323_200, 0).unwrap_or_default());
    let mut i = SimInstance::new(ID, AZ);
    i.instance_impaired = true;
    i.impaired_since = Some(clock.now() - chrono::Duration::minutes(3));
    let ec2 = Arc::new(Ec2World::new(clock, vec![i]));
    let ledger = Arc::new(MemoryLedger::default());
    let sns = Arc::new(Recorder::new(clock));
    let scheduler = Arc::new(SimScheduler::default());
    let settings = Settings {
        topic_arn: Some(TOPIC.into()),
        language: Language::En,
        time_zone: "UTC".parse().unwrap_or_default(),
        remediation: RemediationMode::Approve,
        ledger_table: Some("ec2ops-approve".into()),
        scheduler_role_arn: Some("arn:aws:iam::123456789012:role/ec2ops-scheduler".into()),
        // Both silence sources read (nothing silenced): the approval's second look reads them too, and the kill
        // table kills it at each of those reads as well.
        mute_rules: true,
        change_calendars: vec![ec2ops::sim::ports::SIM_CALENDAR.into()],
        ..Settings::default()
    };
    let responder = Responder::new(settings, ec2.clone(), Arc::new(QuietMetrics))
        .with_silence(Arc::new(ec2ops::sim::ports::SimSilence::default()))
        .with_ledger(Ledger::of(ledger.clone()))
        .with_approvals(ledger.clone())
        .with_actors(Actors {
            remediator: ec2.clone(),
            scheduler: Some(scheduler.clone()),
            function_arn: Some("arn:aws:lambda:ap-northeast-2:123456789012:function:ec2ops".into()),
        })
        .with_delivery(sns.clone(), TOPIC);
    World {
        clock,
        ec2,
        ledger,
        sns,
        scheduler,
        responder,
    }
}

impl World {
    async fn deliver(&self, event: &Value) -> Outcome {
        let now = self.clock.now();
        match self
            .responder
            .respond(event, now, Budget::new(Duration::from_secs(90), now))
            .await
        {
            Ok(o) => o,
            Err(e) => panic!("handled with an error: {e}"),
        }
    }

    /// The instance-check alarm: proposed, not acted on; its nonce.
    async fn proposed(&self) -> Nonce {
        let at = self.clock.now();
        let alarm = alarm_event(
            "web-1 instance check",
            EC2,
            STATUS_CHECK_FAILED_INSTANCE,
            ID,
            at,
            "greater than or equal to",
            1.0,
            &[1.0, 1.0],
        );
        let nonce = match self.deliver(&alarm).await {
            Outcome::Reported(i) => match &i.action {
                ActionOutcome::Proposed { nonce, .. } => nonce.clone(),
                other => panic!("not proposed: {other:?}"),
            },
            other => panic!("not reported: {other:?}"),
        };
        assert_eq!(self.reboots(), 0, "a proposal acts on nothing");
        Nonce::parse(&nonce).unwrap_or_else(|e| panic!("{e}"))
    }

    fn reboots(&self) -> usize {
        self.ec2
            .mutations()
            .iter()
            .filter(|m| m.kind == MutationKind::Reboot)
            .count()
    }

    async fn state(&self, nonce: &Nonce) -> State {
        match self.ledger.proposal(nonce).await {
            Ok(Some(p)) => p.state,
            other => panic!("no proposal: {other:?}"),
        }
    }

    /// What the answer's delivery did (`Outcome::Approval`'s step).
    async fn answer(&self, nonce: &Nonce, decision: &str, by: &str) -> String {
        let event =
            json!({"approval": {"nonce": nonce.to_string(), "decision": decision, "by": by}});
        step_of(self.deliver(&event).await)
    }

    /// The responder of one invocation whose every port call goes through `plan` (invocation 1: its first fault).
    fn faulty(&self, plan: &Arc<FaultPlan>, kill: &Arc<Kill>) -> Responder {
        let ledger = ec2ops::sim::faulty_ledger(&self.ledger, plan, kill, 1);
        let mut r = Responder::new(
            (*self.responder.settings).clone(),
            Arc::new(Faulty::new(self.ec2.clone(), plan, kill, 1, "ec2")),
            Arc::new(QuietMetrics),
        )
        .with_ledger(ledger)
        .with_approvals(Arc::new(Faulty::new(
            self.ledger.clone(),
            plan,
            kill,
            1,
            "dynamodb",
        )))
        .with_actors(Actors {
            remediator: Arc::new(Faulty::new(self.ec2.clone(), plan, kill, 1, "ec2")),
            scheduler: Some(Arc::new(Faulty::new(
                self.scheduler.clone(),
                plan,
                kill,
                1,
                "scheduler",
            ))),
            function_arn: Some("arn:aws:lambda:ap-northeast-2:123456789012:function:ec2ops".into()),
        })
        .with_delivery(
            Arc::new(Faulty::new(self.sns.clone(), plan, kill, 1, "sns")),
            TOPIC,
        )
        .with_silence(Arc::new(Faulty::new(
            Arc::new(ec2ops::sim::ports::SimSilence::default()),
            plan,
            kill,
            1,
            "silence",
        )));
        r.settings = self.responder.settings.clone();
        r
    }

    fn messages(&self) -> Vec<String> {
        self.sns
            .published()
            .into_iter()
            .map(|p| p.message)
            .collect()
    }
}

fn step_of(o: Outcome) -> String {
    match o {
        Outcome::Approval { step, .. } => step,
        other => panic!("not an approval: {other:?}"),
    }
}

async fn wait(minutes: i64) {
    tokio::time::sleep(Duration::from_secs(
        u64::try_from(minutes * 60).unwrap_or(0),
    ))
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_proposal_reports_what_why_until_when_and_the_command_that_approves_and_schedules_its_expiry(
) {
    let w = world();
    let nonce = w.proposed().await;
    let report = w.messages().join("\n");
    assert!(report.contains("Approval requested"), "{report}");
    assert!(report.contains("instance status check failed"), "{report}");
    assert!(
        report.contains(&format!("ec2ops approve {nonce}")),
        "{report}"
    );
    assert_eq!(w.state(&nonce).await, State::Pending);
    // The chat card carries the nonce, and only it, for the Approve / Deny custom actions.
    let sns: Value = serde_json::from_str(&w.messages()[0]).unwrap_or_default();
    let card: Value =
        serde_json::from_str(sns["default"].as_str().unwrap_or_default()).unwrap_or_default();
    assert_eq!(card["metadata"]["enableCustomActions"], json!(true));
    assert_eq!(
        card["metadata"]["additionalContext"]["approval"],
        json!(nonce.to_string())
    );
    let schedules = w.scheduler.take_new();
    let expiry: Vec<_> = schedules
        .iter()
        .filter(|s| s.name == format!("approval-{nonce}"))
        .collect();
    assert_eq!(expiry.len(), 1, "{schedules:?}");
    let stored = match w.ledger.proposal(&nonce).await {
        Ok(Some(p)) => p.proposal.pending,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        stored.expires_at - stored.requested_at,
        chrono::Duration::minutes(15),
        "fifteen minutes by default"
    );
    assert_eq!(
        expiry[0].at, stored.expires_at,
        "the one-shot fires at the expiry"
    );
    assert_eq!(
        expiry[0].event,
        ec2ops::remediation::approval::expiry_event(&nonce)
    );
}

/// A change freeze that began after the proposal holds the approved action: the approval re-reads the silences with
/// the rest of the envelope, and the thread says why nothing was done.
#[tokio::test(start_paused = true)]
async fn an_approval_during_a_freeze_that_began_after_the_proposal_is_held() {
    let mut w = world();
    let nonce = w.proposed().await;
    let posted = w.messages().len();
    w.responder = w
        .responder
        .clone()
        .with_silence(Arc::new(ec2ops::sim::ports::SimSilence {
            mute_every_alarm: false,
            calendar_closed: true,
        }));
    w.answer(&nonce, "approve", "role/oncall").await;
    assert_eq!(w.reboots(), 0, "nothing done during the freeze");
    let said = w.messages()[posted..].join("\n");
    assert!(
        said.contains("change freeze: Change Calendar release-freeze is CLOSED"),
        "{said}"
    );
}

#[tokio::test(start_paused = true)]
async fn two_concurrent_approvals_act_once_and_the_second_is_refused() {
    let w = world();
    let nonce = w.proposed().await;
    wait(2).await;
    let (a, b) = tokio::join!(
        w.answer(&nonce, "approve", "role/oncall-a"),
        w.answer(&nonce, "approve", "role/oncall-b")
    );
    let mut steps = [a, b];
    steps.sort();
    assert_eq!(steps[0], "approved: done", "{steps:?}");
    assert!(
        steps[1].starts_with("refused: the action was already decided"),
        "{steps:?}"
    );
    assert_eq!(w.reboots(), 1, "acted once");
    assert!(matches!(w.state(&nonce).await, State::Approved { .. }));
    // Approving again later, or the expiry's one-shot, changes nothing.
    wait(20).await;
    assert!(w
        .answer(&nonce, "approve", "role/oncall-a")
        .await
        .starts_with("refused"));
    let expiry = ec2ops::remediation::approval::expiry_event(&nonce);
    assert!(step_of(w.deliver(&expiry).await).starts_with("refused"));
    assert_eq!(w.reboots(), 1);
    let messages = w.messages();
    let last: Value =
        serde_json::from_str(messages.last().map_or("", String::as_str)).unwrap_or_default();
    assert!(
        !last["default"]
            .as_str()
            .unwrap_or_default()
            .contains("enableCustomActions"),
        "the approval's own report asks for nothing"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("Approved by Chatbot channel role role/oncall-")),
        "the approval's report names who approved"
    );
}

#[tokio::test(start_paused = true)]
async fn a_denial_is_final_and_posted_and_nothing_is_ever_done() {
    let w = world();
    let nonce = w.proposed().await;
    assert_eq!(w.answer(&nonce, "deny", "role/oncall").await, "denied");
    assert!(w.messages().iter().any(|m| m.contains("Denied by")));
    let posted = w.messages().len();
    assert!(w
        .answer(&nonce, "approve", "role/oncall")
        .await
        .starts_with("refused"));
    // The same denial delivered again posts nothing more.
    assert_eq!(w.answer(&nonce, "deny", "role/oncall").await, "decided");
    wait(16).await;
    let expiry = ec2ops::remediation::approval::expiry_event(&nonce);
    assert!(step_of(w.deliver(&expiry).await).starts_with("refused"));
    assert_eq!(w.messages().len(), posted);
    assert_eq!(w.reboots(), 0);
    assert!(matches!(w.state(&nonce).await, State::Denied { .. }));
}

#[tokio::test(start_paused = true)]
async fn silence_expires_the_proposal_posts_it_and_a_late_approval_does_nothing() {
    let w = world();
    let nonce = w.proposed().await;
    let expiry = ec2ops::remediation::approval::expiry_event(&nonce);
    // Early (a one-shot delivered before its time): nothing changes.
    assert!(step_of(w.deliver(&expiry).await).starts_with("refused: the approval window is open"));
    wait(15).await;
    assert_eq!(step_of(w.deliver(&expiry).await), "expired");
    assert!(w.messages().iter().any(|m| m.contains("it expired")));
    let posted = w.messages().len();
    // Scheduler delivering twice posts once.
    assert_eq!(step_of(w.deliver(&expiry).await), "decided");
    assert_eq!(w.messages().len(), posted);
    assert!(w
        .answer(&nonce, "approve", "role/oncall")
        .await
        .starts_with("refused"));
    assert_eq!(w.reboots(), 0);
    assert!(matches!(w.state(&nonce).await, State::Expired { .. }));
}

#[tokio::test(start_paused = true)]
async fn an_approval_after_the_instance_recovered_is_refused_with_the_reason() {
    let w = world();
    let nonce = w.proposed().await;
    w.ec2.update(ID, |i| i.instance_impaired = false);
    wait(3).await;
    assert_eq!(
        w.answer(&nonce, "approve", "role/oncall").await,
        "approved: held"
    );
    assert_eq!(w.reboots(), 0);
    let last = w.messages().pop().unwrap_or_default();
    assert!(
        last.contains("not impaired"),
        "the reason is posted: {last}"
    );
    assert!(last.contains("Approved by"), "{last}");
}

#[tokio::test(start_paused = true)]
async fn an_approval_once_an_az_event_started_is_refused_with_the_reason() {
    let w = world();
    let nonce = w.proposed().await;
    for other in ["i-00000000000000002", "i-00000000000000003"] {
        let impairment = Impairment {
            instance_id: other.into(),
            check: STATUS_CHECK_FAILED_INSTANCE.into(),
            incident_key: format!("other#{other}"),
            at: w.clock.now(),
        };
        w.ledger
            .record_impairment(AZ, &impairment)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(
        w.answer(&nonce, "approve", "role/oncall").await,
        "approved: held"
    );
    assert_eq!(w.reboots(), 0);
    let last = w.messages().pop().unwrap_or_default();
    assert!(last.contains("probable AWS-side event"), "{last}");
}

#[tokio::test(start_paused = true)]
async fn a_wrong_nonce_or_an_answer_that_is_not_ours_changes_nothing() {
    let w = world();
    let nonce = w.proposed().await;
    let stranger = Nonce::from_bytes([0x5a; 16]);
    assert_eq!(
        w.answer(&stranger, "approve", "role/oncall").await,
        "refused: no action is pending under this nonce"
    );
    let posted = w.messages().len();
    let now = w.clock.now();
    for bad in [
        json!({"approval": {"nonce": nonce.to_string(), "decision": "yes"}}),
        json!({"approval": {"nonce": "ABCD", "decision": "approve"}}),
        json!({"approval": nonce.to_string()}),
    ] {
        let r = w
            .responder
            .respond(&bad, now, Budget::new(Duration::from_secs(90), now))
            .await;
        assert!(r.is_err(), "{bad}: {r:?}");
    }
    assert_eq!(w.state(&nonce).await, State::Pending);
    assert_eq!(w.messages().len(), posted);
    assert_eq!(w.reboots(), 0);
}

/// Kill the approval's delivery at its nth port call (`fault`: before or after the call); Lambda's retry of the same
/// answer a minute later. Whether it was killed, and whether the publish had reached SNS with its record left
/// unwritten (the one case a follow-up can be posted twice, as every follow-up of ec2ops).
async fn killed_then_retried(w: &World, nonce: &Nonce, nth: u32, fault: Fault) -> (bool, bool) {
    let plan = Arc::new(
        FaultPlan::new(Rng::new(u64::from(nth)), FaultRates::NONE, w.clock)
            .with_first_fault(Some((nth, fault))),
    );
    let kill = Arc::new(Kill::default());
    let r = w.faulty(&plan, &kill);
    let event = json!({"approval": {"nonce": nonce.to_string(), "decision": "approve", "by": "role/oncall"}});
    let now = w.clock.now();
    let budget = Budget::new(Duration::from_secs(90), now);
    let killed = tokio::select! {
        biased;
        () = kill.wait() => true,
        _ = r.respond(&event, now, budget) => false,
    };
    let calls = plan.first_calls();
    let published_unrecorded = killed
        && match fault {
            Fault::CrashAfter => calls.last().is_some_and(|c| c == "sns Publish"),
            _ => calls.len() >= 2 && calls[calls.len() - 2] == "sns Publish",
        };
    wait(1).await;
    let now = w.clock.now();
    let _ = w
        .responder
        .respond(&event, now, Budget::new(Duration::from_secs(90), now))
        .await;
    // A follow-up still held by the killed delivery's lease: the retry scheduled its redelivery after the lease.
    for redo in w
        .scheduler
        .take_new()
        .into_iter()
        .filter(|s| s.name.starts_with("redo-"))
    {
        let wait_for = (redo.at - w.clock.now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait_for).await;
        let now = w.clock.now();
        let _ = w
            .responder
            .respond(&redo.event, now, Budget::new(Duration::from_secs(90), now))
            .await;
    }
    (killed, published_unrecorded)
}

#[tokio::test(start_paused = true)]
async fn killing_the_approvals_delivery_at_every_step_acts_once_and_posts_its_outcome_once() {
    for fault in [Fault::CrashBefore, Fault::CrashAfter] {
        let mut nth = 1;
        loop {
            let w = world();
            let nonce = w.proposed().await;
            let posted = w.messages().len();
            let (killed, twice_allowed) = killed_then_retried(&w, &nonce, nth, fault).await;
            let story = format!("killed {fault:?} call {nth}");
            // A reboot whose call may have reached EC2 is never repeated (as in auto): the outcome says so.
            let reboots = w.reboots();
            assert!(reboots <= 1, "{story}: {reboots} reboots");
            let approvals = w.messages()[posted..]
                .iter()
                .filter(|m| m.contains("Approved by"))
                .count();
            let most = if twice_allowed { 2 } else { 1 };
            assert!(
                (1..=most).contains(&approvals),
                "{story}: the outcome is posted {approvals} times"
            );
            match w.ledger.proposal(&nonce).await {
                Ok(Some(p)) => {
                    // Acted: done (or, when its answer was not recorded, interrupted and verified later). Not
                    // acted: interrupted, never silently.
                    let concluded = p.concluded.as_deref().unwrap_or("none");
                    let allowed: &[&str] = if reboots == 1 {
                        &["done", "already-done", "interrupted"]
                    } else {
                        &["interrupted"]
                    };
                    assert!(
                        allowed.contains(&concluded),
                        "{story}: concluded {concluded}"
                    );
                }
                other => panic!("{story}: {other:?}"),
            }
            if !killed {
                break;
            }
            nth += 1;
            assert!(
                nth < 60,
                "the approval's delivery makes fewer than 60 port calls"
            );
        }
    }
}
