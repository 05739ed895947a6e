//! The Slack app's way in (optional): a request to the function URL (Lambda's payload format 2.0) read into its
//! method, headers and raw body; the app's settings (the signing secret and the approver list, kept in one
//! SecureString parameter the function only reads); the HTTP answer Slack gets within its 3 s; and the event that
//! carries a verified Slack answer over the work queue to the one approval handler.
//!
//! What a Slack user id proves: Slack signed the request with the app's secret, so the user id in it is the person
//! who pressed the button — unlike a Chatbot custom action, whose caller is the channel's IAM role.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{Answer, AnswerRequest, ApprovalError, Approver, Nonce, Verdict, SLACK_MAX_BODY};

/// The Slack app's settings: the signing secret, and the Slack user ids that may answer.
#[derive(Clone, PartialEq, Eq)]
pub struct SlackApp {
    pub signing_secret: Vec<u8>,
    pub approvers: Vec<String>,
}

impl std::fmt::Debug for SlackApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret never reaches a log line.
        f.debug_struct("SlackApp")
            .field("signing_secret", &"(hidden)")
            .field("approvers", &self.approvers)
            .finish()
    }
}

/// Whether `s` has the shape of a Slack user id (`U…` / `W…`, letters and digits, at most 32).
pub fn is_slack_user_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Read the app's settings from the parameter's text: `{"signingSecret": "…", "approvers": ["U0123ABCD", …]}`. An
/// empty approver list is refused (nobody could answer: a misconfiguration, not a policy).
pub fn slack_app(text: &str) -> Result<SlackApp, ApprovalError> {
    let bad = |m: &str| ApprovalError::Malformed(format!("Slack app settings: {m}"));
    let v: Value = serde_json::from_str(text).map_err(|_| bad("not JSON"))?;
    let secret = v
        .get("signingSecret")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad("no signingSecret string"))?;
    let approvers = v
        .get("approvers")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no approvers list"))?;
    let mut out = Vec::new();
    for a in approvers {
        match a.as_str().map(str::trim) {
            Some(id) if is_slack_user_id(id) => out.push(id.to_string()),
            _ => return Err(bad("an approver that is not a Slack user id")),
        }
    }
    if out.is_empty() {
        return Err(bad("an empty approvers list"));
    }
    Ok(SlackApp {
        signing_secret: secret.as_bytes().to_vec(),
        approvers: out,
    })
}

/// A request to the function URL: its method, its headers (names in lowercase) and its raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl HttpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Whether an invocation event is a function URL's HTTP request (payload format 2.0: `requestContext.http`).
pub fn is_http_request(event: &Value) -> bool {
    event
        .pointer("/requestContext/http")
        .is_some_and(Value::is_object)
}

/// The HTTP request in a function URL event: the body exactly as sent (base64-decoded when flagged), since the
/// signature covers its bytes.
pub fn http_request(event: &Value) -> Result<HttpRequest, ApprovalError> {
    let method = event
        .pointer("/requestContext/http/method")
        .and_then(Value::as_str)
        .ok_or_else(|| ApprovalError::Malformed("no requestContext.http.method".into()))?
        .to_ascii_uppercase();
    let headers = event
        .get("headers")
        .and_then(Value::as_object)
        .map(|h| {
            h.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let text = event
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // Base64 is 4/3 of the bytes: a text beyond that bound cannot decode into an acceptable body.
    if text.len() > SLACK_MAX_BODY.saturating_mul(2) {
        return Err(ApprovalError::Malformed(format!(
            "a body of more than {SLACK_MAX_BODY} bytes"
        )));
    }
    let body = if event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        base64_decode(text)
            .ok_or_else(|| ApprovalError::Malformed("a body that is not base64".into()))?
    } else {
        text.as_bytes().to_vec()
    };
    Ok(HttpRequest {
        method,
        headers,
        body,
    })
}

/// Standard base64 (padding optional), as Lambda encodes a binary or form body; `None` for anything else.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = text.trim_end_matches('=');
    if text.len().saturating_sub(trimmed.len()) > 2 {
        return None;
    }
    let mut out = Vec::with_capacity((trimmed.len() / 4).saturating_mul(3).saturating_add(3));
    for chunk in trimmed.as_bytes().chunks(4) {
        let mut acc: u32 = 0;
        for &c in chunk {
            acc = (acc << 6) | value(c)?;
        }
        match chunk.len() {
            4 => out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]),
            3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
            2 => out.push((acc >> 4) as u8),
            _ => return None,
        }
    }
    Some(out)
}

/// What Slack sends as `X-Slack-Signature` for `body` at `timestamp`: `v0=` + hex HMAC-SHA256 of
/// `v0:{timestamp}:{body}` (what [`super::verify_slack`] checks; the tests sign requests with it).
pub fn slack_signature(secret: &[u8], timestamp: &str, body: &[u8]) -> Option<String> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).ok()?;
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    Some(format!("v0={}", hex::encode(mac.finalize().into_bytes())))
}

/// The function URL's answer to Slack: a status and a short text (Slack shows a failure to the person who pressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub text: String,
}

impl HttpReply {
    pub fn new(status: u16, text: impl Into<String>) -> Self {
        HttpReply {
            status,
            text: text.into(),
        }
    }

    /// As the function URL returns it (payload format 2.0's response).
    pub fn to_event(&self) -> Value {
        json!({
            "statusCode": self.status,
            "headers": {"content-type": "text/plain; charset=utf-8"},
            "body": self.text,
        })
    }
}

/// The detail type of a verified Slack answer on its way to the approval handler over the work queue.
pub const SLACK_ANSWER_DETAIL_TYPE: &str = "ec2ops.slack-answer";

/// The work queue's message for a verified Slack answer. Only the function itself sends it (the queue's policy);
/// a direct invocation carrying it is refused (the function's entry point), so no invoker can claim a Slack user.
pub fn slack_answer_event(a: &Answer) -> Result<Value, ApprovalError> {
    let Approver::SlackUser(user) = &a.by else {
        return Err(ApprovalError::Payload(
            "only a Slack user's answer travels as a Slack answer".into(),
        ));
    };
    Ok(json!({
        "source": super::super::VERIFY_SOURCE,
        "detail-type": SLACK_ANSWER_DETAIL_TYPE,
        "detail": {
            "nonce": a.nonce.to_string(),
            "decision": match a.verdict { Verdict::Approve => "approve", Verdict::Deny => "deny" },
            "user": user,
        },
    }))
}

/// Whether an event is a Slack answer (from the work queue only).
pub fn is_slack_answer(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some(super::super::VERIFY_SOURCE)
        && event.get("detail-type").and_then(Value::as_str) == Some(SLACK_ANSWER_DETAIL_TYPE)
}

/// Read a Slack answer event back into the answer it carries.
pub fn slack_answer_request(event: &Value) -> Result<AnswerRequest, ApprovalError> {
    let field = |k: &str| {
        event
            .pointer(&format!("/detail/{k}"))
            .and_then(Value::as_str)
    };
    let nonce = Nonce::parse(field("nonce").unwrap_or_default())?;
    let verdict = match field("decision") {
        Some("approve") => Verdict::Approve,
        Some("deny") => Verdict::Deny,
        _ => {
            return Err(ApprovalError::Payload(
                "detail.decision: not approve or deny".into(),
            ))
        }
    };
    let user = field("user")
        .filter(|u| is_slack_user_id(u))
        .ok_or_else(|| ApprovalError::Payload("detail.user: not a Slack user id".into()))?;
    Ok(AnswerRequest {
        nonce,
        verdict,
        by: Approver::SlackUser(user.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_the_tests_send_is_slacks_published_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            slack_signature(
                b"8f742231b10e8888abcd99yyyzzz85a5",
                "1531420618",
                body.as_bytes()
            )
            .as_deref(),
            Some("v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
        );
    }

    #[test]
    fn base64_bodies_decode_with_and_without_padding_and_garbage_is_refused() {
        assert_eq!(base64_decode("cGF5bG9hZD0x").unwrap(), b"payload=1");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI=").unwrap(), b"ab");
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("YW*=").is_none());
        assert!(base64_decode("YQ===").is_none());
    }

    #[test]
    fn the_app_settings_need_a_secret_and_at_least_one_slack_user_and_never_show_the_secret() {
        let app = slack_app(r#"{"signingSecret": "s3cret", "approvers": ["U01", "W02"]}"#).unwrap();
        assert_eq!(app.signing_secret, b"s3cret");
        assert_eq!(app.approvers, ["U01", "W02"]);
        assert!(!format!("{app:?}").contains("s3cret"));
        for bad in [
            "not json",
            r#"{"approvers": ["U01"]}"#,
            r#"{"signingSecret": "", "approvers": ["U01"]}"#,
            r#"{"signingSecret": "s", "approvers": []}"#,
            r#"{"signingSecret": "s", "approvers": ["<@U01>"]}"#,
            r#"{"signingSecret": "s", "approvers": "U01"}"#,
        ] {
            assert!(slack_app(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_function_url_event_is_read_with_lowercase_headers_and_its_raw_body() {
        let e = json!({
            "version": "2.0",
            "requestContext": {"http": {"method": "post", "path": "/"}},
            "headers": {"X-Slack-Signature": "v0=ab", "content-type": "application/x-www-form-urlencoded"},
            "body": "cGF5bG9hZD0x",
            "isBase64Encoded": true
        });
        assert!(is_http_request(&e));
        let r = http_request(&e).unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("x-slack-signature"), Some("v0=ab"));
        assert_eq!(r.body, b"payload=1");
        assert!(!is_http_request(&json!({"approval": {}})));
        assert!(!is_http_request(&json!({"requestContext": {"http": "x"}})));
    }

    #[test]
    fn a_slack_answer_event_round_trips_and_names_only_a_slack_user() {
        let a = Answer {
            nonce: Nonce::from_bytes([7; 16]),
            verdict: Verdict::Deny,
            by: Approver::SlackUser("U0ABC".into()),
            at: chrono::Utc::now(),
        };
        let e = slack_answer_event(&a).unwrap();
        assert!(is_slack_answer(&e));
        let r = slack_answer_request(&e).unwrap();
        assert_eq!(
            (r.nonce, r.verdict, r.by),
            (a.nonce, a.verdict, a.by.clone())
        );
        let role = Answer {
            by: Approver::ChatbotRole("arn".into()),
            ..a
        };
        assert!(slack_answer_event(&role).is_err());
        let mut forged = e.clone();
        forged["detail"]["user"] = json!("<!channel>");
        assert!(slack_answer_request(&forged).is_err());
    }
}
