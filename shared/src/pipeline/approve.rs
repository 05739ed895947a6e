//! `approve` mode: an action the envelope would take is proposed instead — recorded `PENDING` under a random nonce,
//! with a one-shot at its expiry — and taken only when a person approves it in time: the approval moves the proposal
//! `APPROVED` (one conditional write: of two concurrent answers one wins), the incident is read again from the event
//! that raised it, the whole envelope decides again on fresh facts, and a granted action goes through the same
//! transaction and EC2 call as `auto`. A denial and the expiry are final and posted in the incident's thread; an answer
//! the ledger refuses (an unknown nonce, a second answer, one after the expiry) changes nothing and is logged.
//!
//! An approval whose handling dies after the ledger recorded it is resumed by a retry of the same answer (the same
//! approver, within [`RESUME_WITHIN`]) as long as the handling's outcome is not recorded on the proposal
//! (`Approvals::conclude`, after the outcome is posted): the action transaction makes the action once and the thread's
//! follow-up is posted once. Later than that, the same answer concludes it as refused, said in the thread: an
//! approval is acted on within the window or not at all, never lost silently. Any other answer to an approved
//! proposal changes nothing.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::incident::action_label;
use super::once::FollowUp;
use super::{act, outcome_without_acting, Actors, HandleError, Outcome, Responder, CALL_TIMEOUT};
use crate::analyze::assess;
use crate::budget::{within, Budget};
use crate::config::RemediationMode;
use crate::event::{parse, Parsed};
use crate::model::AlarmChange;
use crate::ports::{Approvals, Moved, Proposal, StoredProposal};
use crate::remediation::approval::{AnswerRequest, Approver, Nonce, Pending, State};
use crate::remediation::{decide, ActionOutcome, Decision, Hold};
use crate::report::followup::{render_approval, ApprovalNote, RefusedWhy};

/// How long after an approval a retry of the same answer may resume its interrupted handling (Lambda retries an
/// asynchronous invocation after about one and two minutes; a delivery lives at most the function's timeout).
pub const RESUME_WITHIN: chrono::Duration = chrono::Duration::minutes(15);

fn no_approvals() -> HandleError {
    HandleError::Config(crate::config::ConfigError {
        name: crate::config::names::LEDGER_TABLE,
        value: String::new(),
        expected: "a ledger table, to answer a proposed action".into(),
    })
}

fn step(nonce: &Nonce, step: String, message_id: Option<String>) -> Outcome {
    Outcome::Approval {
        nonce: nonce.to_string(),
        step,
        message_id,
    }
}

/// An answer to a proposed action: applied by the ledger's conditional write, then — approved — the envelope again
/// and the action, or — denied — the denial in the thread.
pub(super) async fn answer(
    rsp: &Responder,
    req: AnswerRequest,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let approvals = rsp.approvals.as_ref().ok_or_else(no_approvals)?;
    let a = req.at(now);
    // A Slack user's answer is recorded only by the signed function-URL request (`super::slack`), which moves the
    // proposal before handing the rest over: from any other way in (the work queue, a direct invocation) it can only
    // take up the decision that request recorded, never make one — a message naming a Slack user proves nothing.
    if matches!(a.by, Approver::SlackUser(_)) {
        return slack_hand_over(rsp, approvals.as_ref(), &a, now, budget).await;
    }
    let moved = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "UpdateItem",
        approvals.answer(&a),
    )
    .await
    .map_err(HandleError::Source)?;
    let stored = match moved {
        Moved::Moved(p) => *p,
        Moved::Refused(why) => return refused(rsp, approvals.as_ref(), &a, why, now, budget).await,
    };
    info!(nonce = %a.nonce, by = %a.by, verdict = ?a.verdict, "proposal answered");
    match stored.state.clone() {
        State::Approved { by, .. } => approved(rsp, &stored, &by, now, budget).await,
        State::Denied { by, at } => {
            post_note(
                rsp,
                &stored,
                &ApprovalNote::Denied { by, at },
                "denied",
                now,
                budget,
            )
            .await
        }
        other => Ok(step(&a.nonce, format!("unexpected state {other:?}"), None)),
    }
}

/// An answer the ledger refused: a denial or an approval whose handling may be unfinished is taken up again (once);
/// anything else changes nothing and is logged.
async fn refused(
    rsp: &Responder,
    approvals: &dyn Approvals,
    a: &crate::remediation::approval::Answer,
    why: crate::remediation::approval::Refused,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    use crate::remediation::approval::{Refused, Verdict};
    match why {
        // A denial whose follow-up may not have gone out (its delivery died): posted once, never twice.
        Refused::AlreadyDecided(State::Denied { .. }) if a.verdict == Verdict::Deny => {
            decided_again(rsp, approvals, &a.nonce, now, budget).await
        }
        Refused::AlreadyDecided(State::Approved { by, at })
            if a.verdict == Verdict::Approve && by == a.by && now - at < RESUME_WITHIN =>
        {
            resumed(rsp, approvals, &a.nonce, now, budget).await
        }
        // The same approver's answer after the resume window (a late retry, a backlogged work queue): an approval
        // whose handling never concluded is not acted on this late, but it is not lost either — it is concluded as
        // refused and the thread says why.
        Refused::AlreadyDecided(State::Approved { by, at })
            if a.verdict == Verdict::Approve && by == a.by =>
        {
            too_late(rsp, approvals, &a.nonce, by, at, now, budget).await
        }
        why => {
            warn!(nonce = %a.nonce, by = %a.by, verdict = ?a.verdict, %why, "answer refused: nothing changes");
            Ok(step(&a.nonce, format!("refused: {why}"), None))
        }
    }
}

/// A Slack answer handed over by the function-URL request: the decision the ledger recorded for this very user is
/// taken up (resumed, or concluded as too late); a proposal still pending, or decided by someone else, was not
/// answered by a verified request: nothing changes, and it is logged.
async fn slack_hand_over(
    rsp: &Responder,
    approvals: &dyn Approvals,
    a: &crate::remediation::approval::Answer,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    use crate::remediation::approval::Refused;
    let Some(stored) = read_proposal(approvals, &a.nonce, budget).await? else {
        warn!(nonce = %a.nonce, by = %a.by, "Slack answer for no proposal: nothing changes");
        return Ok(step(
            &a.nonce,
            format!("refused: {}", Refused::UnknownNonce),
            None,
        ));
    };
    match &stored.state {
        State::Approved { by, .. } | State::Denied { by, .. } if *by == a.by => {
            let why = Refused::AlreadyDecided(stored.state.clone());
            refused(rsp, approvals, a, why, now, budget).await
        }
        state => {
            warn!(
                nonce = %a.nonce,
                by = %a.by,
                ?state,
                "a Slack answer that no signed request recorded: nothing changes"
            );
            Ok(step(
                &a.nonce,
                "refused: a Slack answer is recorded only by the Slack app's signed request".into(),
                None,
            ))
        }
    }
}

/// The proposal a nonce names, read under the budget.
async fn read_proposal(
    approvals: &dyn Approvals,
    nonce: &Nonce,
    budget: &Budget,
) -> Result<Option<crate::ports::StoredProposal>, HandleError> {
    within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "GetItem",
        approvals.proposal(nonce),
    )
    .await
    .map_err(HandleError::Source)
}

/// The same approver's answer again, soon after its approval: the handling is resumed unless its outcome is
/// recorded (then the answer is refused like any other).
async fn resumed(
    rsp: &Responder,
    approvals: &dyn Approvals,
    nonce: &Nonce,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let read = read_proposal(approvals, nonce, budget).await?;
    match read {
        Some(stored) if stored.concluded.is_none() => {
            let State::Approved { by, .. } = stored.state.clone() else {
                return Ok(step(
                    nonce,
                    format!("refused: already {:?}", stored.state),
                    None,
                ));
            };
            warn!(nonce = %nonce, "an approval's handling was interrupted: resuming it");
            approved(rsp, &stored, &by, now, budget).await
        }
        Some(stored) => Ok(step(
            nonce,
            format!(
                "refused: the action was already decided: {}",
                stored.concluded.unwrap_or_default()
            ),
            None,
        )),
        None => Ok(step(nonce, "refused: no such proposal".into(), None)),
    }
}

/// An approval whose handling did not conclude within [`RESUME_WITHIN`] of it: concluded as refused, and said in the
/// thread, unless its outcome is recorded already (then the answer is refused like any other).
async fn too_late(
    rsp: &Responder,
    approvals: &dyn Approvals,
    nonce: &Nonce,
    by: Approver,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let read = read_proposal(approvals, nonce, budget).await?;
    let Some(stored) = read else {
        return Ok(step(nonce, "refused: no such proposal".into(), None));
    };
    if let Some(done) = &stored.concluded {
        return Ok(step(
            nonce,
            format!("refused: the action was already decided: {done}"),
            None,
        ));
    }
    warn!(nonce = %nonce, %at, "an approval's handling did not conclude in time: concluded as refused");
    let why = RefusedWhy::TooLate {
        minutes: RESUME_WITHIN.num_minutes(),
        at,
    };
    let note = ApprovalNote::Refused { by, why };
    let out = post_note(rsp, &stored, &note, "refused", now, budget).await?;
    conclude(rsp, nonce, "refused: too late", budget).await;
    Ok(out)
}

/// A proposal already denied or expired: its follow-up is posted once (an earlier delivery may have died before it).
async fn decided_again(
    rsp: &Responder,
    approvals: &dyn Approvals,
    nonce: &Nonce,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let read = read_proposal(approvals, nonce, budget).await?;
    let Some(stored) = read else {
        return Ok(step(nonce, "refused: no such proposal".into(), None));
    };
    let note = match stored.state.clone() {
        State::Denied { by, at } => ApprovalNote::Denied { by, at },
        State::Expired { at } => ApprovalNote::Expired { at },
        other => {
            return Ok(step(nonce, format!("refused: already {other:?}"), None));
        }
    };
    post_note(rsp, &stored, &note, "decided", now, budget).await
}

/// The expiry's one-shot: a proposal still pending expires, and the thread hears it; anything decided stays.
pub(super) async fn expire(
    rsp: &Responder,
    nonce: Nonce,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let approvals = rsp.approvals.as_ref().ok_or_else(no_approvals)?;
    let moved = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "UpdateItem",
        approvals.expire(&nonce, now),
    )
    .await
    .map_err(HandleError::Source)?;
    match moved {
        Moved::Moved(stored) => {
            let at = match stored.state {
                State::Expired { at } => at,
                _ => now,
            };
            info!(nonce = %nonce, "proposal expired: nothing is done");
            post_note(
                rsp,
                &stored,
                &ApprovalNote::Expired { at },
                "expired",
                now,
                budget,
            )
            .await
        }
        Moved::Refused(crate::remediation::approval::Refused::AlreadyDecided(State::Expired {
            ..
        })) => decided_again(rsp, approvals.as_ref(), &nonce, now, budget).await,
        Moved::Refused(why) => {
            warn!(nonce = %nonce, %why, "expiry refused: nothing changes");
            Ok(step(&nonce, format!("refused: {why}"), None))
        }
    }
}

/// Post a denial, an expiry or a refusal in the incident's thread, once per proposal.
async fn post_note(
    rsp: &Responder,
    stored: &StoredProposal,
    note: &ApprovalNote,
    what: &'static str,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let p = &stored.proposal;
    let settings = &rsp.settings;
    let message = render_approval(
        &p.pending,
        &p.thread_id,
        &p.alarm_name,
        note,
        settings.language,
        settings.time_zone,
    );
    let message_id = in_thread(rsp, stored, &message, now, budget).await?;
    let (state, at, who, said) = match note {
        ApprovalNote::Denied { by, at } => (
            "denied",
            *at,
            by.to_string(),
            "denied: nothing is done".to_string(),
        ),
        ApprovalNote::Expired { at } => (
            "expired",
            *at,
            "nobody".to_string(),
            "no answer before the expiry: nothing is done".to_string(),
        ),
        ApprovalNote::Refused { by, why } => (
            "approved",
            now,
            by.to_string(),
            format!("approved, but nothing is done: {why}"),
        ),
    };
    log_decision(rsp, p, state, at, &who, &said, budget).await;
    Ok(step(&p.pending.nonce, what.to_string(), message_id))
}

/// One decision as the incident log keeps it: when (UTC), who, what happened.
fn decision_line(at: DateTime<Utc>, who: &str, what: &str) -> String {
    format!("{} UTC  {who}: {what}", at.format("%Y-%m-%d %H:%M:%S"))
}

/// Keep a decision on a proposal in its incident's log entry (`ec2ops incidents`), once: the entry moves to the
/// decision's state and time, and its report gains the line. A failure loses only the look-back (the thread has it).
async fn log_decision(
    rsp: &Responder,
    p: &Proposal,
    state: &str,
    at: DateTime<Utc>,
    who: &str,
    what: &str,
    budget: &Budget,
) {
    let line = decision_line(at, who, what);
    let Some(log) = rsp.storm.as_ref().and_then(|s| s.log.as_ref()) else {
        return;
    };
    let key = &p.pending.incident_key;
    let read = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "GetItem",
        log.show(key),
    )
    .await;
    let mut entry = match read {
        Ok(Some(e)) => e,
        Ok(None) => {
            warn!(incident = %key, nonce = %p.pending.nonce, "the proposal's incident is not in the incident log: its decision is not kept there");
            return;
        }
        Err(e) => {
            warn!(incident = %key, error = %e, "could not read the incident log to keep a decision");
            return;
        }
    };
    let approval = entry
        .approval
        .get_or_insert_with(|| crate::storm::LoggedApproval {
            nonce: p.pending.nonce.to_string(),
            action: p.pending.action.as_str().to_string(),
            expires_at: p.pending.expires_at,
            state: "pending".into(),
            decisions: Vec::new(),
        });
    if approval.decisions.contains(&line) {
        return;
    }
    approval.state = state.to_string();
    approval.decisions.push(line.clone());
    entry.action = format!("approval-{state}");
    entry.report.push_str(&format!("\n{line}\n"));
    entry.at = at.max(entry.at);
    rsp.log_incident(entry, budget).await;
}

/// Record the approved proposal's outcome, after it is posted: from then on a retry of the answer changes nothing. A
/// failure leaves the handling resumable for [`RESUME_WITHIN`] (the action and the post are each once anyway).
async fn conclude(rsp: &Responder, nonce: &Nonce, outcome: &str, budget: &Budget) {
    let Some(approvals) = &rsp.approvals else {
        return;
    };
    let r = within(
        budget.limit(CALL_TIMEOUT),
        "dynamodb",
        "UpdateItem",
        approvals.conclude(nonce, outcome),
    )
    .await;
    if let Err(e) = r {
        warn!(nonce = %nonce, error = %e, "could not record the approval's outcome");
    }
}

/// Publish what became of a proposal in the incident's thread, once per proposal however often it is delivered:
/// its message id (`None`: an earlier delivery published it, or no delivery).
async fn in_thread(
    rsp: &Responder,
    stored: &StoredProposal,
    message: &crate::message::SnsMessage,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Option<String>, HandleError> {
    let key = format!("approval#{}", stored.proposal.pending.nonce);
    // In the proposal's thread, whatever was decided: the proposal's report paged already (a recover that then cannot
    // finish pages with its own escalation).
    let message = crate::message::SnsMessage {
        urgent: false,
        ..message.clone()
    };
    let sent = rsp
        .send_follow_up(&key, &message, "approval", now, budget)
        .await?;
    Ok(match sent {
        FollowUp::Published(id) => id,
        FollowUp::AlreadySent => None,
    })
}

/// The incident a proposal was made for, read again from its event: the same incident key, or nothing.
fn incident_of(p: &Proposal) -> Result<AlarmChange, RefusedWhy> {
    let change = match parse(&p.origin) {
        Ok(Parsed::Alarm(c)) => *c,
        Ok(Parsed::SweepItem(i)) => AlarmChange::from_sweep(&i, p.pending.requested_at),
        Ok(_) => return Err(RefusedWhy::NotAnIncident),
        Err(e) => return Err(RefusedWhy::EventUnreadable(e.to_string())),
    };
    if change.incident_key() != p.pending.incident_key {
        return Err(RefusedWhy::OtherIncident);
    }
    Ok(change)
}

/// Approved: the incident read again, the whole envelope on fresh facts, and — granted — the action of `auto`; the
/// outcome posted in the thread as the incident's report.
async fn approved(
    rsp: &Responder,
    stored: &StoredProposal,
    by: &Approver,
    now: DateTime<Utc>,
    budget: &Budget,
) -> Result<Outcome, HandleError> {
    let Some(actors) = &rsp.actors else {
        let note = ApprovalNote::Refused {
            by: by.clone(),
            why: RefusedWhy::NoEc2Access,
        };
        return post_note(rsp, stored, &note, "refused", now, budget).await;
    };
    let change = match incident_of(&stored.proposal) {
        Ok(c) => c,
        Err(why) => {
            warn!(nonce = %stored.proposal.pending.nonce, %why, "approved, but the incident cannot be read again");
            let note = ApprovalNote::Refused {
                by: by.clone(),
                why,
            };
            return post_note(rsp, stored, &note, "refused", now, budget).await;
        }
    };
    let key = change.incident_key();
    let (change, facts) = rsp.reread(&change, &key, now, budget).await;
    let assessment = assess(&change, &facts);
    let settings = &rsp.settings;
    let action = decided_again_and_acted(
        rsp,
        actors,
        stored,
        &change,
        &facts,
        &assessment,
        now,
        budget,
    )
    .await;
    info!(incident = %key, action = action_label(&action), "approved proposal decided again");
    let notice = approved_notice(by, &stored.proposal.pending, settings);
    let (_, message) =
        super::render_report_with(&change, &facts, &assessment, &action, settings, &[notice]);
    let message_id = in_thread(rsp, stored, &message, now, budget).await?;
    concluded(rsp, stored, by, action_label(&action), budget).await;
    Ok(step(
        &stored.proposal.pending.nonce,
        format!("approved: {}", action_label(&action)),
        message_id,
    ))
}

/// The approved proposal's outcome recorded on it and kept in its incident's log entry.
async fn concluded(
    rsp: &Responder,
    stored: &StoredProposal,
    by: &Approver,
    label: &str,
    budget: &Budget,
) {
    conclude(rsp, &stored.proposal.pending.nonce, label, budget).await;
    let State::Approved { at, .. } = &stored.state else {
        return;
    };
    let what = format!("approved; the envelope checked again: {label}");
    log_decision(
        rsp,
        &stored.proposal,
        "approved",
        *at,
        &by.to_string(),
        &what,
        budget,
    )
    .await;
}

/// The envelope again, on the fresh facts, as `auto` decides; granted for the proposed action, the action.
#[allow(clippy::too_many_arguments)]
async fn decided_again_and_acted(
    rsp: &Responder,
    actors: &Actors,
    stored: &StoredProposal,
    change: &AlarmChange,
    facts: &crate::facts::Facts,
    assessment: &crate::analyze::Assessment,
    now: DateTime<Utc>,
    budget: &Budget,
) -> ActionOutcome {
    let decision = decide(
        change,
        facts,
        assessment,
        RemediationMode::Auto,
        &rsp.settings.envelope,
        now,
    );
    let decision = rsp.defer_to_stronger(decision, facts, budget).await;
    let proposed = stored.proposal.pending.action;
    match decision {
        Decision::Act { action } if action == proposed => {
            act::act(rsp, actors, change, decision, facts, now, budget).await
        }
        Decision::Act { action } => ActionOutcome::Held {
            action: proposed,
            holds: vec![Hold::ProposalChanged { now: action }],
        },
        // A resumed handling whose action is recorded: reconciled as `auto` does (never repeated).
        Decision::AlreadyDone { .. } => {
            act::act(rsp, actors, change, decision, facts, now, budget).await
        }
        other => outcome_without_acting(other),
    }
}

/// The report's notice of an approval: who, when, and that the envelope was checked again.
fn approved_notice(by: &Approver, p: &Pending, settings: &crate::config::Settings) -> String {
    let who = match (by, settings.language) {
        (Approver::ChatbotRole(id), crate::config::Language::Ko) => {
            format!("Chatbot 채널 역할 {id}")
        }
        (Approver::SlackUser(id), crate::config::Language::Ko) => format!("Slack 사용자 {id}"),
        (by, crate::config::Language::En) => by.to_string(),
    };
    match settings.language {
        crate::config::Language::Ko => format!(
            "승인됨: {who} (nonce {}) — 실행 전에 최신 정보로 안전 조건을 다시 확인했습니다.",
            p.nonce
        ),
        crate::config::Language::En => format!(
            "Approved by {who} (nonce {}): the safety envelope was checked again on fresh facts before acting.",
            p.nonce
        ),
    }
}
