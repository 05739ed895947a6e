//! The Slack app's request to the function URL (`approve` mode, optional): answered within Slack's 3 s. The request
//! is verified (signature over the raw body, timestamp within 300 s), its answer read (`user.id`, the pressed
//! button's `approve:`/`deny:` and nonce), its user checked against the approver list; then the ledger's conditional
//! move is made here, so the person hears at once whether the answer counted, and the rest of the handling — the
//! envelope again on fresh facts, the action, the post in the thread — goes over the work queue to the one approval
//! handler ([`super::approve`]), as the same answer, which resumes the recorded approval. Without a work queue, or
//! when it refuses the message, the handling runs here (Slack may then show a timeout; the thread has the outcome).
//!
//! Whatever is refused changes nothing, is logged, and gets a status: 401 for a bad or old signature, 403 for a user
//! not on the list, 400 for a payload that is not an ec2ops answer, 404 when no Slack app is configured.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tracing::{info, warn};

use super::{approve, Responder};
use crate::budget::{within, Budget};
use crate::ports::Moved;
use crate::remediation::approval::slack::{http_request, slack_answer_event, HttpReply};
use crate::remediation::approval::{
    allowed, slack_answer, verify_slack, Answer, AnswerRequest, Approver, State, Verdict,
};

/// What each of the request's calls (the app's settings, the ledger's move, the hand-over) may take: three of them
/// stay within the 3 s Slack gives.
const SLACK_CALL: Duration = Duration::from_millis(900);

/// The function URL's request, a POST carrying Slack's two signature headers with a timestamp from now — or the reply
/// that refuses it, before anything is read.
fn signed_request(
    event: &Value,
    now: DateTime<Utc>,
) -> Result<
    (
        crate::remediation::approval::slack::HttpRequest,
        String,
        String,
    ),
    HttpReply,
> {
    let req = match http_request(event) {
        Ok(r) if r.method == "POST" => r,
        Ok(r) => {
            warn!(method = %r.method, "Slack request refused: not a POST");
            return Err(HttpReply::new(405, "POST only"));
        }
        Err(e) => {
            warn!(error = %e, "Slack request refused: unreadable");
            return Err(HttpReply::new(400, "unreadable request"));
        }
    };
    let (Some(ts), Some(sig)) = (
        req.header("x-slack-request-timestamp"),
        req.header("x-slack-signature"),
    ) else {
        warn!("Slack request refused: unsigned");
        return Err(HttpReply::new(401, "unsigned request"));
    };
    // A request that is unsigned or not from now is refused before the settings are read: an unauthenticated
    // flood costs no SSM call.
    let fresh = ts.trim().parse::<i64>().is_ok_and(|t| {
        now.timestamp().saturating_sub(t).saturating_abs()
            <= crate::remediation::approval::SLACK_MAX_SKEW_SECONDS
    });
    if !fresh {
        warn!("Slack request refused: its timestamp is not from now");
        return Err(HttpReply::new(401, "invalid signature"));
    }
    let (ts, sig) = (ts.to_string(), sig.to_string());
    Ok((req, ts, sig))
}

fn mention(by: &Approver) -> String {
    match by {
        Approver::SlackUser(id) => format!("<@{id}>"),
        other => other.to_string(),
    }
}

impl Responder {
    /// Answer a function URL request (the Slack app's interactivity request).
    pub async fn respond_http(
        &self,
        event: &Value,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> HttpReply {
        let reply = self.slack_reply(event, now, &budget).await;
        info!(status = reply.status, "Slack request answered");
        reply
    }

    async fn slack_reply(&self, event: &Value, now: DateTime<Utc>, budget: &Budget) -> HttpReply {
        let Some(settings) = &self.slack else {
            warn!("a function URL request, but no Slack app is configured: refused");
            return HttpReply::new(404, "no Slack app is configured");
        };
        let (req, ts, sig) = match signed_request(event, now) {
            Ok(r) => r,
            Err(reply) => return reply,
        };
        let (ts, sig) = (ts.as_str(), sig.as_str());
        let app = match within(
            budget.limit(SLACK_CALL),
            "ssm",
            "GetParameter",
            settings.slack_app(),
        )
        .await
        {
            Ok(app) => app,
            Err(e) => {
                warn!(error = %e, "the Slack app's settings cannot be read: request refused");
                return HttpReply::new(503, "the approval settings cannot be read; try again");
            }
        };
        if let Err(e) = verify_slack(&app.signing_secret, ts, &req.body, sig, now) {
            warn!(error = %e, "Slack request refused: nothing changes");
            return HttpReply::new(401, "invalid signature");
        }
        let a = match slack_answer(&req.body, now) {
            Ok(a) => a,
            Err(e) => {
                warn!(error = %e, "signed Slack request that is not an ec2ops answer: nothing changes");
                return HttpReply::new(400, "not an ec2ops approval");
            }
        };
        // Who opted the instance in is not known here: the evidence leaves tagging calls out (docs/settings.md).
        if let Err(why) = allowed(&a.by, &app.approvers, None) {
            warn!(nonce = %a.nonce, by = %a.by, %why, "Slack answer refused: nothing changes");
            return HttpReply::new(403, format!("{why}"));
        }
        self.slack_answer(a, now, budget).await
    }

    /// A verified answer from a listed user: the ledger's move here, the rest by the approval handler.
    async fn slack_answer(&self, a: Answer, now: DateTime<Utc>, budget: &Budget) -> HttpReply {
        let Some(approvals) = &self.approvals else {
            warn!(nonce = %a.nonce, "a Slack answer, but no ledger table: refused");
            return HttpReply::new(503, "no ledger table: nothing can be approved");
        };
        let moved = within(
            budget.limit(SLACK_CALL),
            "dynamodb",
            "UpdateItem",
            approvals.answer(&a),
        )
        .await;
        let who = mention(&a.by);
        match moved {
            Err(e) => {
                warn!(nonce = %a.nonce, error = %e, "the ledger did not take the Slack answer");
                HttpReply::new(503, "the answer could not be recorded; press again")
            }
            // This user's own answer, already recorded (a press again after a reply lost in time): its handling is
            // taken up again, which resumes it or concludes it as too late — never left recorded and unhandled.
            Ok(Moved::Refused(crate::remediation::approval::Refused::AlreadyDecided(
                State::Approved { by, .. } | State::Denied { by, .. },
            ))) if by == a.by => {
                info!(nonce = %a.nonce, by = %a.by, "Slack answer already recorded: its handling is taken up again");
                self.hand_over(&a, now, budget).await;
                HttpReply::new(
                    200,
                    format!("Already recorded for {who}: the outcome follows in the thread."),
                )
            }
            Ok(Moved::Refused(why)) => {
                warn!(nonce = %a.nonce, by = %a.by, verdict = ?a.verdict, %why, "Slack answer refused: nothing changes");
                HttpReply::new(200, format!("Nothing changes: {why}."))
            }
            Ok(Moved::Moved(_)) => {
                info!(nonce = %a.nonce, by = %a.by, verdict = ?a.verdict, "proposal answered from Slack");
                self.hand_over(&a, now, budget).await;
                HttpReply::new(
                    200,
                    match a.verdict {
                        Verdict::Approve => format!(
                            "Approved by {who}: the safety envelope is checked again on fresh facts before acting; \
                             the outcome follows in the thread."
                        ),
                        Verdict::Deny => format!("Denied by {who}: nothing will be done."),
                    },
                )
            }
        }
    }

    /// The recorded answer goes to the approval handler: over the work queue, or here when there is none or it
    /// refuses (the answer is recorded: dropping it would lose an approved action).
    async fn hand_over(&self, a: &Answer, now: DateTime<Utc>, budget: &Budget) {
        let queued = match (&self.queue, slack_answer_event(a)) {
            (Some(q), Ok(event)) => within(
                budget.limit(SLACK_CALL),
                "sqs",
                "SendMessage",
                q.enqueue(&event),
            )
            .await
            .map_err(|e| e.to_string()),
            (None, _) => Err("no work queue".into()),
            (_, Err(e)) => Err(e.to_string()),
        };
        if let Err(why) = queued {
            warn!(nonce = %a.nonce, %why, "the Slack answer is handled here, not over the work queue");
            let req = AnswerRequest {
                nonce: a.nonce,
                verdict: a.verdict,
                by: a.by.clone(),
            };
            if let Err(e) = approve::answer(self, req, now, budget).await {
                warn!(nonce = %a.nonce, error = %e, "the Slack answer's handling failed: the same answer resumes it");
            }
        }
    }
}
