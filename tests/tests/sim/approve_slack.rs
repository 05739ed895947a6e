//! The Slack app's way in, on the same in-memory world: a signed request to the function URL, its answer recorded at
//! once and handed over the work queue to the one approval handler; and every hostile request — a bad or old
//! signature, a tampered body, a payload that is not ours, a user not on the list, a reused nonce, another incident's,
//! a second answer, one after the expiry — changing nothing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use ec2ops::budget::Budget;
use ec2ops::memory::MemoryStorm;
use ec2ops::pipeline::storm::Storm;
use ec2ops::ports::Approvals as _;
use ec2ops::remediation::approval::slack::{slack_signature, SlackApp, SLACK_ANSWER_DETAIL_TYPE};
use ec2ops::remediation::approval::{Approver, Nonce, State};
use ec2ops::sim::ports::{SimQueue, SimSlackSettings};
use ec2ops::storm::IncidentLog;

use super::{step_of, wait, world, World};

const SECRET: &[u8] = b"8f742231b10e8888abcd99yyyzzz85a5";
const ON_CALL: &str = "U0ONCALL1";
const SECOND: &str = "U0ONCALL2";
const STRANGER: &str = "U0STRANGER";

struct SlackWorld {
    w: World,
    queue: Arc<SimQueue>,
    storm: Arc<MemoryStorm>,
}

fn slack_world() -> SlackWorld {
    let mut w = world();
    let queue = Arc::new(SimQueue::default());
    let storm = Arc::new(MemoryStorm::default());
    let app = SlackApp {
        signing_secret: SECRET.to_vec(),
        approvers: vec![ON_CALL.into(), SECOND.into()],
    };
    w.responder = w
        .responder
        .clone()
        .with_queue(queue.clone())
        .with_storm(Storm::of(storm.clone()))
        .with_slack(Arc::new(SimSlackSettings { app: Some(app) }));
    SlackWorld { w, queue, storm }
}

/// Slack's interactivity body: the form field `payload` with the user and the pressed button.
fn body(user: &str, value: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone"},
        "actions": [{"action_id": "ec2ops", "value": value}],
    })
    .to_string();
    form_urlencoded_payload(&payload)
}

fn form_urlencoded_payload(payload: &str) -> String {
    let mut out = String::from("payload=");
    for b in payload.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A function URL event (payload format 2.0) carrying `body`, signed at `ts` with `secret`.
fn request(body: &str, ts: i64, secret: &[u8], base64: bool) -> Value {
    let ts = ts.to_string();
    let sig = slack_signature(secret, &ts, body.as_bytes()).unwrap_or_default();
    url_event(body, &ts, &sig, base64)
}

fn url_event(body: &str, ts: &str, sig: &str, base64: bool) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": sig,
        },
        "requestContext": {"http": {"method": "POST", "path": "/", "sourceIp": "203.0.113.9"}},
        "body": if base64 { encode64(body.as_bytes()) } else { body.to_string() },
        "isBase64Encoded": base64,
    })
}

fn encode64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(T[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl SlackWorld {
    async fn http(&self, event: &Value) -> (u16, String) {
        let now = self.w.clock.now();
        let r = self
            .w
            .responder
            .respond_http(event, now, Budget::new(Duration::from_secs(90), now))
            .await;
        (r.status, r.text)
    }

    /// A press of `decision` on `nonce` by `user`, signed now.
    async fn press(&self, user: &str, decision: &str, nonce: &Nonce) -> (u16, String) {
        let b = body(user, &format!("{decision}:{nonce}"));
        self.http(&request(&b, self.w.clock.now().timestamp(), SECRET, true))
            .await
    }

    /// Deliver what the function URL put on the work queue, as the queue's invocations would.
    async fn drain(&self) -> Vec<String> {
        let mut steps = Vec::new();
        for m in self.queue.take_new() {
            assert_eq!(m["detail-type"], SLACK_ANSWER_DETAIL_TYPE, "{m}");
            steps.push(step_of(self.w.deliver(&m).await));
        }
        steps
    }

    /// Nothing changed: still pending, nothing queued, acted on nothing, posted nothing new.
    async fn unchanged(&self, nonce: &Nonce, posted: usize, story: &str) {
        assert_eq!(self.w.state(nonce).await, State::Pending, "{story}");
        assert!(self.queue.take_new().is_empty(), "{story}: queued");
        assert_eq!(self.w.reboots(), 0, "{story}: acted");
        assert_eq!(self.w.messages().len(), posted, "{story}: posted");
    }
}

#[tokio::test(start_paused = true)]
async fn a_listed_slack_users_signed_approval_is_recorded_at_once_and_acted_once_through_the_work_queue(
) {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    wait(1).await;
    let (status, text) = s.press(ON_CALL, "approve", &nonce).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        text.starts_with(&format!("Approved by <@{ON_CALL}>")),
        "{text}"
    );
    assert!(
        matches!(s.w.state(&nonce).await, State::Approved { by: Approver::SlackUser(u), .. } if u == ON_CALL),
        "the ledger names the Slack user"
    );
    assert_eq!(s.w.reboots(), 0, "the answer is recorded; the handler acts");
    assert_eq!(s.drain().await, ["approved: done"]);
    assert_eq!(s.w.reboots(), 1);
    assert!(
        s.w.messages()
            .iter()
            .any(|m| m.contains(&format!("Approved by Slack user {ON_CALL}"))),
        "the thread names who approved"
    );
    // The queue delivering the same message again acts on nothing.
    let again = ec2ops::remediation::approval::slack::slack_answer_event(
        &ec2ops::remediation::approval::Answer {
            nonce,
            verdict: ec2ops::remediation::approval::Verdict::Approve,
            by: Approver::SlackUser(ON_CALL.into()),
            at: s.w.clock.now(),
        },
    )
    .unwrap_or_default();
    assert!(step_of(s.w.deliver(&again).await).starts_with("refused"));
    assert_eq!(s.w.reboots(), 1, "no action twice");
    // The incident log keeps who decided, when, and what happened.
    let key = s
        .storm
        .list(
            s.w.clock.now() - chrono::Duration::hours(1),
            s.w.clock.now(),
        )
        .await
        .unwrap_or_default()
        .into_iter()
        .next()
        .map(|i| i.incident_key)
        .unwrap_or_default();
    let logged = s.storm.show(&key).await.ok().flatten();
    let approval = logged.as_ref().and_then(|i| i.approval.clone());
    let Some(a) = approval else {
        panic!("no approval in the incident log: {logged:?}")
    };
    assert_eq!(a.state, "approved");
    assert_eq!(a.nonce, nonce.to_string());
    assert_eq!(a.decisions.len(), 1, "{:?}", a.decisions);
    assert!(
        a.decisions[0].contains(&format!(
            "Slack user {ON_CALL}: approved; the envelope checked again: done"
        )),
        "{:?}",
        a.decisions
    );
}

#[tokio::test(start_paused = true)]
async fn a_slack_denial_is_final_posted_once_and_logged_and_nothing_is_done() {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let listed = s
        .storm
        .list(
            s.w.clock.now() - chrono::Duration::hours(1),
            s.w.clock.now(),
        )
        .await
        .unwrap_or_default();
    assert!(
        listed.iter().any(|i| i
            .approval
            .as_ref()
            .is_some_and(|a| a.pending_at(s.w.clock.now()))),
        "ec2ops incidents sees the proposal pending: {listed:?}"
    );
    let (status, text) = s.press(SECOND, "deny", &nonce).await;
    assert_eq!(
        (status, text.as_str()),
        (
            200,
            format!("Denied by <@{SECOND}>: nothing will be done.").as_str()
        )
    );
    assert_eq!(s.drain().await, ["decided"]);
    assert!(s.w.messages().iter().any(|m| m.contains("Denied by")));
    let (status, text) = s.press(ON_CALL, "approve", &nonce).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with("Nothing changes: the action was already decided"),
        "{text}"
    );
    assert!(s.queue.take_new().is_empty());
    assert_eq!(s.w.reboots(), 0);
    let listed = s
        .storm
        .list(
            s.w.clock.now() - chrono::Duration::hours(1),
            s.w.clock.now(),
        )
        .await
        .unwrap_or_default();
    let a = listed.iter().find_map(|i| i.approval.clone());
    assert!(
        a.as_ref().is_some_and(|a| a.state == "denied"
            && a.decisions
                .iter()
                .any(|d| d.contains(&format!("Slack user {SECOND}: denied")))),
        "{a:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_forged_stale_tampered_foreign_or_unlisted_request_changes_nothing() {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let posted = s.w.messages().len();
    let now = s.w.clock.now().timestamp();
    let good = body(ON_CALL, &format!("approve:{nonce}"));
    let cases: Vec<(&str, Value, u16)> = vec![
        (
            "signed with another secret",
            request(&good, now, b"not-the-secret", false),
            401,
        ),
        (
            "signed six minutes ago",
            request(&good, now - 360, SECRET, false),
            401,
        ),
        (
            "signed six minutes ahead",
            request(&good, now + 360, SECRET, false),
            401,
        ),
        (
            "a body changed after signing",
            {
                let mut e = request(&good, now, SECRET, false);
                e["body"] = json!(body(STRANGER, &format!("approve:{nonce}")));
                e
            },
            401,
        ),
        (
            "a timestamp changed after signing",
            {
                let mut e = request(&good, now, SECRET, false);
                e["headers"]["x-slack-request-timestamp"] = json!((now - 1).to_string());
                e
            },
            401,
        ),
        (
            "a signature of the wrong shape",
            url_event(&good, &now.to_string(), "v1=deadbeef", false),
            401,
        ),
        (
            "no signature",
            {
                let mut e = request(&good, now, SECRET, false);
                if let Some(h) = e["headers"].as_object_mut() {
                    h.remove("x-slack-signature");
                }
                e
            },
            401,
        ),
        (
            "a signed payload that is not ours",
            request(&body(ON_CALL, "open-the-pod-bay-doors"), now, SECRET, false),
            400,
        ),
        (
            "a signed form without a payload",
            request("token=x&user_id=U0ONCALL1", now, SECRET, false),
            400,
        ),
        (
            "a signed answer from a user not on the list",
            request(
                &body(STRANGER, &format!("approve:{nonce}")),
                now,
                SECRET,
                true,
            ),
            403,
        ),
        (
            "a body flagged base64 that is not",
            request(&good, now, SECRET, false)
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("isBase64Encoded".into(), json!(true));
                    o.insert("body".into(), json!("%%%not base64%%%"));
                    Value::Object(o)
                })
                .unwrap_or_default(),
            400,
        ),
        (
            "a GET",
            {
                let mut e = request(&good, now, SECRET, false);
                e["requestContext"]["http"]["method"] = json!("GET");
                e
            },
            405,
        ),
    ];
    for (story, event, want) in cases {
        let (status, text) = s.http(&event).await;
        assert_eq!(status, want, "{story}: {text}");
        s.unchanged(&nonce, posted, story).await;
    }
    // The genuine request still counts afterwards.
    let (status, _) = s.press(ON_CALL, "approve", &nonce).await;
    assert_eq!(status, 200);
}

#[tokio::test(start_paused = true)]
async fn a_reused_nonce_another_incidents_nonce_a_second_answer_and_a_late_one_change_nothing() {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let posted = s.w.messages().len();
    // A nonce no proposal has (another incident's, long gone, or made up).
    let other = Nonce::from_bytes([0x42; 16]);
    let (status, text) = s.press(ON_CALL, "approve", &other).await;
    assert_eq!(status, 200);
    assert_eq!(
        text,
        "Nothing changes: no action is pending under this nonce."
    );
    s.unchanged(&nonce, posted, "another nonce").await;
    // The same signed request replayed within the five minutes: the first counts; the replay records nothing new and
    // only takes the recorded answer's handling up again (a press again after a reply lost in time), which acts on
    // nothing twice.
    let b = body(ON_CALL, &format!("approve:{nonce}"));
    let replayed = request(&b, s.w.clock.now().timestamp(), SECRET, false);
    assert_eq!(s.http(&replayed).await.0, 200);
    let (status, text) = s.http(&replayed).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("Already recorded for"), "{text}");
    // A second approver's answer: nothing changes.
    let (_, text) = s.press(SECOND, "approve", &nonce).await;
    assert!(text.starts_with("Nothing changes"), "{text}");
    let steps = s.drain().await;
    assert_eq!(
        steps.first().map(String::as_str),
        Some("approved: done"),
        "{steps:?}"
    );
    assert!(
        steps[1..].iter().all(|s| !s.starts_with("approved")),
        "one action: {steps:?}"
    );
    assert_eq!(s.w.reboots(), 1);

    // A fresh world: an answer after the expiry.
    let s = slack_world();
    let nonce = s.w.proposed().await;
    wait(16).await;
    let (status, text) = s.press(ON_CALL, "approve", &nonce).await;
    assert_eq!(status, 200);
    assert!(
        text.starts_with("Nothing changes: the approval window closed"),
        "{text}"
    );
    assert!(s.queue.take_new().is_empty());
    assert_eq!(s.w.reboots(), 0);
}

#[tokio::test(start_paused = true)]
async fn without_a_slack_app_or_its_settings_the_function_url_answers_nothing() {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let posted = s.w.messages().len();
    let event = request(
        &body(ON_CALL, &format!("approve:{nonce}")),
        s.w.clock.now().timestamp(),
        SECRET,
        false,
    );
    let mut unset = s.w.responder.clone();
    unset.slack = None;
    let now = s.w.clock.now();
    let r = unset
        .respond_http(&event, now, Budget::new(Duration::from_secs(90), now))
        .await;
    assert_eq!(r.status, 404);
    let unreadable =
        s.w.responder
            .clone()
            .with_slack(Arc::new(SimSlackSettings { app: None }));
    let r = unreadable
        .respond_http(&event, now, Budget::new(Duration::from_secs(90), now))
        .await;
    assert_eq!(r.status, 503);
    s.unchanged(&nonce, posted, "no settings").await;
}

#[tokio::test(start_paused = true)]
async fn without_a_work_queue_the_recorded_slack_answer_is_handled_at_once() {
    let mut s = slack_world();
    s.w.responder.queue = None;
    let nonce = s.w.proposed().await;
    let (status, _) = s.press(ON_CALL, "approve", &nonce).await;
    assert_eq!(status, 200);
    assert_eq!(s.w.reboots(), 1, "handled in the request: none lost");
}

/// Seed 115 of the seeded runs: the work queue delivered the recorded Slack approval more than 15 minutes after it
/// (a backlog), past the window in which an approval's handling resumes, and the approval stayed approved, never
/// acted on, never said: lost.
#[tokio::test(start_paused = true)]
async fn a_slack_approval_handed_over_after_the_resume_window_is_concluded_refused_and_said_in_the_thread(
) {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let (status, _) = s.press(SECOND, "approve", &nonce).await;
    assert_eq!(status, 200);
    let queued = s.queue.take_new();
    wait(16).await;
    let posted = s.w.messages().len();
    for m in &queued {
        assert_eq!(step_of(s.w.deliver(m).await), "refused");
    }
    assert_eq!(s.w.reboots(), 0, "not acted on this late");
    let said = s.w.messages()[posted..].join("\n");
    assert!(
        said.contains("did not complete within 15 minutes"),
        "{said}"
    );
    let concluded =
        s.w.ledger
            .proposal(&nonce)
            .await
            .ok()
            .flatten()
            .and_then(|p| p.concluded);
    assert_eq!(concluded.as_deref(), Some("refused: too late"));
    // Delivered again: nothing more.
    for m in &queued {
        assert!(
            step_of(s.w.deliver(m).await).starts_with("refused: the action was already decided")
        );
    }
    assert_eq!(s.w.messages().len(), posted + 1);
}

/// Anyone who can invoke the function can send what the work queue carries (a Slack answer naming a listed user,
/// even wrapped as an SQS batch): it was not signed by Slack, so it records nothing — only the function-URL request,
/// verified, records a Slack user's answer; the queue's message can only take that decision up.
#[tokio::test(start_paused = true)]
async fn a_slack_answer_sent_as_a_work_queue_message_without_the_signed_request_changes_nothing() {
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let posted = s.w.messages().len();
    let forged = ec2ops::remediation::approval::slack::slack_answer_event(
        &ec2ops::remediation::approval::Answer {
            nonce,
            verdict: ec2ops::remediation::approval::Verdict::Approve,
            by: Approver::SlackUser(ON_CALL.into()),
            at: s.w.clock.now(),
        },
    )
    .unwrap_or_default();
    assert_eq!(
        step_of(s.w.deliver(&forged).await),
        "refused: a Slack answer is recorded only by the Slack app's signed request"
    );
    // As a work-queue batch a direct invocation can fake.
    let batch = serde_json::json!({"Records": [{
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-northeast-2:123456789012:anything",
        "messageId": "m-1",
        "body": forged.to_string(),
    }]});
    s.deliver_any(&batch).await;
    s.unchanged(&nonce, posted, "a forged Slack answer").await;
    // The signed press still works afterwards, and is acted on once.
    let (status, text) = s.press(ON_CALL, "approve", &nonce).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(s.drain().await, ["approved: done"]);
    assert_eq!(s.w.reboots(), 1);
}

#[test]
fn the_chatbot_custom_actions_read_the_nonce_where_the_chat_card_puts_it() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))
        .unwrap_or_default();
    let t: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or(serde_yaml::Value::Null);
    // The card of a proposed action, as the sim renders it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    let Ok(rt) = rt else { panic!("runtime") };
    let (card, nonce) = rt.block_on(async {
        let w = world();
        let nonce = w.proposed().await;
        let sns: Value = serde_json::from_str(&w.messages()[0]).unwrap_or_default();
        let card: Value =
            serde_json::from_str(sns["default"].as_str().unwrap_or_default()).unwrap_or_default();
        (card, nonce)
    });
    let mut seen = 0;
    for (id, r) in t["Resources"].as_mapping().into_iter().flatten() {
        if r["Type"].as_str() != Some("AWS::Chatbot::CustomAction") {
            continue;
        }
        seen += 1;
        for att in r["Properties"]["Attachments"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            assert_eq!(att["NotificationType"].as_str(), Some("custom"), "{id:?}");
            let vars = att["Variables"].as_mapping().cloned().unwrap_or_default();
            assert_eq!(vars.len(), 1, "{id:?}: the nonce and nothing else");
            let path = vars
                .get("approval")
                .and_then(serde_yaml::Value::as_str)
                .unwrap_or_default();
            // JSONPath `$.a.b.c` → JSON pointer `/a/b/c` into the notification.
            let pointer = path
                .strip_prefix("$.")
                .map(|p| format!("/{}", p.replace('.', "/")))
                .unwrap_or_default();
            assert_eq!(
                card.pointer(&pointer),
                Some(&json!(nonce.to_string())),
                "{id:?}: {path} is not where the card carries the nonce: {card}"
            );
            let criteria = att["Criteria"].as_sequence().cloned().unwrap_or_default();
            assert!(
                criteria
                    .iter()
                    .any(|c| c["VariableName"].as_str() == Some("approval")
                        && c["Operator"].as_str() == Some("HAS_VALUE")),
                "{id:?}: the button shows only on a notification that carries a nonce"
            );
        }
    }
    assert_eq!(seen, 2, "Approve and Deny");
}

// ---------------------------------------------------------------------------------------------------------------
// Seeded runs: answers from every way in, concurrent, killed, or none at all
// ---------------------------------------------------------------------------------------------------------------

impl SlackWorld {
    /// Deliver an event as Lambda would, whatever becomes of it (an error is retried by the settling below).
    async fn deliver_any(&self, event: &Value) {
        let now = self.w.clock.now();
        let _ = self
            .w
            .responder
            .respond(event, now, Budget::new(Duration::from_secs(90), now))
            .await;
    }

    /// What the platform still owes: the work queue's messages and the redeliveries scheduled after a lease,
    /// delivered until none is left.
    async fn settle(&self) {
        for _ in 0..10 {
            let queued = self.queue.take_new();
            let redo: Vec<_> = self
                .w
                .scheduler
                .take_new()
                .into_iter()
                .filter(|s| s.name.starts_with("redo-"))
                .collect();
            if queued.is_empty() && redo.is_empty() {
                return;
            }
            for m in queued {
                self.deliver_any(&m).await;
            }
            for r in redo {
                let wait_for = (r.at - self.w.clock.now()).to_std().unwrap_or_default();
                tokio::time::sleep(wait_for).await;
                self.deliver_any(&r.event).await;
            }
        }
    }
}

fn cli_answer(nonce: &Nonce, decision: &str, by: &str) -> Value {
    json!({"approval": {"nonce": nonce.to_string(), "decision": decision, "by": by}})
}

/// One seeded run: a proposal, then up to eight steps drawn from: a CLI / Chatbot answer, a Slack press (a listed
/// user or not), two approvals at once from both ways in, time passing, the expiry's one-shot, the work queue's
/// delivery, and an approval whose delivery is killed at a drawn port call and retried. Then the platform settles.
async fn approval_run(seed: u64) -> Result<(), String> {
    use ec2ops::sim::faults::Fault;
    use ec2ops::sim::rng::Rng;
    let mut rng = Rng::new(seed);
    let s = slack_world();
    let nonce = s.w.proposed().await;
    let mut story = Vec::new();
    let decisions = ["approve", "deny"];
    let users = [ON_CALL, SECOND, STRANGER];
    for _ in 0..=rng.below(8) {
        match rng.below(7) {
            0 => {
                let d = rng.pick(&decisions).copied().unwrap_or("approve");
                story.push(format!("cli {d}"));
                s.deliver_any(&cli_answer(&nonce, d, "role/oncall")).await;
            }
            1 => {
                let d = rng.pick(&decisions).copied().unwrap_or("approve");
                let u = rng.pick(&users).copied().unwrap_or(ON_CALL);
                story.push(format!("slack {u} {d}"));
                let _ = s.press(u, d, &nonce).await;
            }
            2 => {
                story.push("cli and slack approve at once".into());
                let event = cli_answer(&nonce, "approve", "role/oncall-b");
                let _ = tokio::join!(s.deliver_any(&event), s.press(SECOND, "approve", &nonce));
            }
            3 => {
                let m = 1 + rng.below(9);
                story.push(format!("wait {m} min"));
                wait(i64::try_from(m).unwrap_or(1)).await;
            }
            4 => {
                story.push("expiry one-shot".into());
                s.deliver_any(&ec2ops::remediation::approval::expiry_event(&nonce))
                    .await;
            }
            5 => {
                story.push("work queue delivers".into());
                for m in s.queue.take_new() {
                    s.deliver_any(&m).await;
                }
            }
            _ => {
                let nth = 1 + u32::try_from(rng.below(24)).unwrap_or(0);
                let fault = if rng.chance(500) {
                    Fault::CrashBefore
                } else {
                    Fault::CrashAfter
                };
                story.push(format!("approval killed {fault:?} call {nth}, retried"));
                let _ = super::killed_then_retried(&s.w, &nonce, nth, fault).await;
            }
        }
    }
    s.settle().await;
    // Past the expiry: the one-shot runs, the platform settles again.
    wait(16).await;
    s.deliver_any(&ec2ops::remediation::approval::expiry_event(&nonce))
        .await;
    s.settle().await;
    let reboots = s.w.reboots();
    let stored =
        s.w.ledger
            .proposal(&nonce)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the proposal is gone")?;
    let fail = |why: &str| {
        Err(format!(
            "seed {seed}: {why}; story {story:?}; {stored:?}; {reboots} reboot(s)"
        ))
    };
    if reboots > 1 {
        return fail("an action twice");
    }
    match &stored.state {
        State::Approved { .. } => {
            if stored.concluded.is_none() {
                return fail("an approval lost: approved, never concluded");
            }
        }
        State::Pending => return fail("still pending after the expiry's one-shot"),
        State::Denied { .. } | State::Expired { .. } => {
            if reboots != 0 {
                return fail("an action without an approval");
            }
        }
    }
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn seeded_runs_of_answers_kills_and_silence_never_act_twice_never_lose_an_approval_and_never_act_unapproved(
) {
    // `EC2OPS_SIM_APPROVAL_SEEDS` runs more (the default keeps the tier fast).
    let seeds = std::env::var("EC2OPS_SIM_APPROVAL_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150u64);
    let mut broken = Vec::new();
    for seed in 0..seeds {
        if let Err(e) = approval_run(seed).await {
            broken.push(e);
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}
