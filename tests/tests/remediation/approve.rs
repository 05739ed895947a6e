//! `approve` mode over the real adapters: the proposal and its answers in DynamoDB (moto), the expiry's one-shot in
//! EventBridge Scheduler, the reboot through EC2 (LocalStack), the reports as the SNS subscriber reads them.

use super::*;

/// The proposal's nonce, from the incident's outcome.
fn nonce_of(o: &Outcome) -> String {
    match action(o) {
        ActionOutcome::Proposed { nonce, .. } => nonce.clone(),
        other => panic!("expected a proposal, got {other:?}"),
    }
}

fn answer(nonce: &str, decision: &str, by: &str) -> Value {
    serde_json::json!({"approval": {"nonce": nonce, "decision": decision, "by": by}})
}

fn step_of(o: &Outcome) -> &str {
    match o {
        Outcome::Approval { step, .. } => step,
        other => panic!("expected an approval's outcome, got {other:?}"),
    }
}

/// A rig in approve mode, an opted-in instance whose instance check fails, and its incident proposed.
async fn proposed(expiry: chrono::Duration) -> Option<(Rig, String)> {
    let mut rig = Rig::new(RemediationMode::Approve).await?;
    rig.settings.approval_expiry = expiry;
    let id = rig.instance("m5.large", true, &[]).await;
    rig.status.impair(&id, INSTANCE);
    let outcome = rig
        .respond(&incident("status-instance.json", &id, Utc::now()))
        .await;
    let nonce = nonce_of(&outcome);
    assert_eq!(rig.remediator.real(), 0, "a proposal acts on nothing");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].message.contains(&format!("ec2ops approve {nonce}")),
        "the report carries the command that approves"
    );
    Some((rig, nonce))
}

#[tokio::test]
async fn an_approval_reboots_once_even_when_two_arrive_at_once_and_the_expiry_then_changes_nothing()
{
    let Some((rig, nonce)) = proposed(chrono::Duration::minutes(15)).await else {
        return;
    };
    // The expiry's one-shot waits in EventBridge Scheduler, aimed at the function with the expiry event.
    let schedules = rig.schedules(&format!("ec2ops-approval-{nonce}")).await;
    assert_eq!(schedules.len(), 1, "{schedules:?}");
    let expiry = schedules[0].1.clone();
    assert_eq!(
        expiry,
        ec2ops::remediation::approval::expiry_event(
            &ec2ops::remediation::approval::Nonce::parse(&nonce).expect("nonce")
        )
    );

    let (first, second) = (
        answer(&nonce, "approve", "role/oncall-a"),
        answer(&nonce, "approve", "role/oncall-b"),
    );
    let (a, b) = tokio::join!(rig.respond(&first), rig.respond(&second));
    let mut steps = [step_of(&a).to_string(), step_of(&b).to_string()];
    steps.sort();
    assert_eq!(steps[0], "approved: done", "{steps:?}");
    assert!(
        steps[1].starts_with("refused: the action was already decided"),
        "{steps:?}"
    );
    assert_eq!(rig.remediator.real(), 1, "exactly one RebootInstances");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1, "one report of the approval");
    assert!(got[0]
        .message
        .contains("Approved by Chatbot channel role role/oncall-"));
    assert!(got[0]
        .message
        .contains("Automatic action done: reboot (RebootInstances)"));

    assert!(step_of(&rig.respond(&expiry).await).starts_with("refused"));
    assert_eq!(rig.remediator.real(), 1);
    assert!(rig.reports().await.is_empty(), "nothing more is posted");
}

#[tokio::test]
async fn a_denial_is_final_and_an_approval_after_it_does_nothing() {
    let Some((rig, nonce)) = proposed(chrono::Duration::minutes(15)).await else {
        return;
    };
    let o = rig.respond(&answer(&nonce, "deny", "role/oncall")).await;
    assert_eq!(step_of(&o), "denied");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].subject.contains("Denied: reboot not done"),
        "{}",
        got[0].subject
    );
    let o = rig.respond(&answer(&nonce, "approve", "role/oncall")).await;
    assert!(step_of(&o).starts_with("refused"), "{o:?}");
    assert_eq!(rig.remediator.real(), 0);
    assert!(rig.reports().await.is_empty());
}

#[tokio::test]
async fn silence_expires_the_proposal_and_nothing_is_done() {
    let Some((rig, nonce)) = proposed(chrono::Duration::seconds(2)).await else {
        return;
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    let n = ec2ops::remediation::approval::Nonce::parse(&nonce).expect("nonce");
    let expiry = ec2ops::remediation::approval::expiry_event(&n);
    assert_eq!(step_of(&rig.respond(&expiry).await), "expired");
    let got = rig.reports().await;
    assert_eq!(got.len(), 1);
    assert!(
        got[0].subject.contains("Expired: reboot not done"),
        "{}",
        got[0].subject
    );
    let o = rig.respond(&answer(&nonce, "approve", "role/oncall")).await;
    assert!(step_of(&o).starts_with("refused"), "{o:?}");
    assert_eq!(rig.remediator.real(), 0);
}
