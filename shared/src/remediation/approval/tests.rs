use chrono::TimeZone;

use super::*;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TIMESTAMP: &str = "1531420618";
const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().unwrap()
}

fn slack_now() -> DateTime<Utc> {
    at(1_531_420_618 + 12)
}

#[test]
fn slacks_published_signature_vector_verifies() {
    assert_eq!(
        verify_slack(
            SECRET.as_bytes(),
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE,
            slack_now()
        ),
        Ok(())
    );
}

#[test]
fn a_tampered_body_timestamp_signature_or_secret_is_refused() {
    let v = |secret: &str, ts: &str, body: &str, sig: &str| {
        verify_slack(secret.as_bytes(), ts, body.as_bytes(), sig, slack_now())
    };
    let body = BODY.replace("user_id=U2CERLKJA", "user_id=U2CERLKJB");
    assert_eq!(
        v(SECRET, TIMESTAMP, &body, SIGNATURE),
        Err(ApprovalError::BadSignature)
    );
    assert_eq!(
        v(SECRET, "1531420619", BODY, SIGNATURE),
        Err(ApprovalError::BadSignature)
    );
    let flipped = SIGNATURE.replace("b503", "b504");
    assert_eq!(
        v(SECRET, TIMESTAMP, BODY, &flipped),
        Err(ApprovalError::BadSignature)
    );
    assert_eq!(
        v(
            "8f742231b10e8888abcd99yyyzzz85a6",
            TIMESTAMP,
            BODY,
            SIGNATURE
        ),
        Err(ApprovalError::BadSignature)
    );
    assert!(matches!(
        v(SECRET, TIMESTAMP, BODY, &SIGNATURE[3..]),
        Err(ApprovalError::Malformed(_))
    ));
    assert!(matches!(
        v(SECRET, TIMESTAMP, BODY, "v0=zz"),
        Err(ApprovalError::Malformed(_))
    ));
    assert!(matches!(
        v(SECRET, "yesterday", BODY, SIGNATURE),
        Err(ApprovalError::Malformed(_))
    ));
}

#[test]
fn a_request_older_or_newer_than_five_minutes_is_a_replay_even_when_signed() {
    let late = at(1_531_420_618 + 301);
    assert_eq!(
        verify_slack(
            SECRET.as_bytes(),
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE,
            late
        ),
        Err(ApprovalError::Stale { age_seconds: 301 })
    );
    let early = at(1_531_420_618 - 301);
    assert!(matches!(
        verify_slack(
            SECRET.as_bytes(),
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE,
            early
        ),
        Err(ApprovalError::Stale { .. })
    ));
    let edge = at(1_531_420_618 + 300);
    assert_eq!(
        verify_slack(
            SECRET.as_bytes(),
            TIMESTAMP,
            BODY.as_bytes(),
            SIGNATURE,
            edge
        ),
        Ok(())
    );
    let huge = "i64::MAX";
    assert!(verify_slack(
        SECRET.as_bytes(),
        "9223372036854775807",
        b"",
        SIGNATURE,
        edge
    )
    .is_err());
    assert!(verify_slack(SECRET.as_bytes(), huge, b"", SIGNATURE, edge).is_err());
}

fn nonce() -> Nonce {
    Nonce::from_bytes([0xab; 16])
}

fn pending() -> Pending {
    Pending::new(
        nonce(),
        "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:db-1#ALARM#2026-03-01T00:00:00.000Z",
        "i-0123456789abcdef0",
        ActionKind::StopStart,
        at(1_000_000),
        DEFAULT_EXPIRY,
    )
}

fn by(user: &str) -> Approver {
    Approver::SlackUser(user.into())
}

fn said(verdict: Verdict, seconds: i64) -> Answer {
    Answer {
        nonce: nonce(),
        verdict,
        by: by("U111"),
        at: at(seconds),
    }
}

#[test]
fn an_approval_before_the_expiry_approves_and_a_denial_denies() {
    let p = pending();
    assert_eq!(
        answer(&p, &State::Pending, &said(Verdict::Approve, 1_000_060)),
        Ok(State::Approved {
            by: by("U111"),
            at: at(1_000_060)
        })
    );
    assert_eq!(
        answer(&p, &State::Pending, &said(Verdict::Deny, 1_000_060)),
        Ok(State::Denied {
            by: by("U111"),
            at: at(1_000_060)
        })
    );
}

#[test]
fn a_second_answer_a_late_one_or_one_for_another_nonce_changes_nothing() {
    let p = pending();
    let approved = State::Approved {
        by: by("U111"),
        at: at(1_000_060),
    };
    assert_eq!(
        answer(&p, &approved, &said(Verdict::Approve, 1_000_070)),
        Err(Refused::AlreadyDecided(approved.clone()))
    );
    let denied = State::Denied {
        by: by("U111"),
        at: at(1_000_060),
    };
    assert_eq!(
        answer(&p, &denied, &said(Verdict::Approve, 1_000_070)),
        Err(Refused::AlreadyDecided(denied))
    );
    let expiry = 1_000_000 + DEFAULT_EXPIRY.num_seconds();
    assert_eq!(
        answer(&p, &State::Pending, &said(Verdict::Approve, expiry)),
        Err(Refused::Expired {
            expires_at: p.expires_at
        })
    );
    let mut other = said(Verdict::Approve, 1_000_060);
    other.nonce = Nonce::from_bytes([0xac; 16]);
    assert_eq!(
        answer(&p, &State::Pending, &other),
        Err(Refused::UnknownNonce)
    );
}

#[test]
fn silence_expires_the_action_and_a_decided_one_stays_decided() {
    let p = pending();
    assert_eq!(expire(&p, &State::Pending, at(1_000_899)), None);
    assert_eq!(
        expire(&p, &State::Pending, at(1_000_900)),
        Some(State::Expired { at: at(1_000_900) })
    );
    let approved = State::Approved {
        by: by("U111"),
        at: at(1_000_060),
    };
    assert_eq!(expire(&p, &approved, at(1_000_900)), None);
    let expired = State::Expired { at: at(1_000_900) };
    assert!(matches!(
        answer(&p, &expired, &said(Verdict::Approve, 1_000_100)),
        Err(Refused::AlreadyDecided(_))
    ));
}

#[test]
fn only_a_listed_approver_who_did_not_opt_the_instance_in_may_answer() {
    let list = vec![
        "U111".to_string(),
        "arn:aws:iam::123456789012:role/chat-approvers".into(),
    ];
    assert_eq!(allowed(&by("U111"), &list, Some("U222")), Ok(()));
    assert!(matches!(
        allowed(&by("U333"), &list, None),
        Err(Refused::NotAllowed(..))
    ));
    assert!(matches!(
        allowed(&by("U111"), &list, Some("U111")),
        Err(Refused::NotAllowed(..))
    ));
    let role = Approver::ChatbotRole("arn:aws:iam::123456789012:role/chat-approvers".into());
    assert_eq!(allowed(&role, &list, None), Ok(()));
}

fn form(payload: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", payload)
        .finish()
        .into_bytes()
}

#[test]
fn a_slack_button_press_reads_as_the_users_answer_to_its_nonce() {
    let n = nonce().to_string();
    let body = form(&format!(
        r#"{{"type":"block_actions","user":{{"id":"U2CERLKJA"}},"actions":[{{"value":"approve:{n}"}}]}}"#
    ));
    assert_eq!(
        slack_answer(&body, at(5)),
        Ok(Answer {
            nonce: nonce(),
            verdict: Verdict::Approve,
            by: by("U2CERLKJA"),
            at: at(5)
        })
    );
    let body = form(&format!(
        r#"{{"user":{{"id":"U2CERLKJA"}},"actions":[{{"value":"deny:{n}"}}]}}"#
    ));
    assert_eq!(
        slack_answer(&body, at(5)).map(|a| a.verdict),
        Ok(Verdict::Deny)
    );
}

#[test]
fn a_payload_that_is_not_ours_is_refused_with_what_is_wrong() {
    let n = nonce().to_string();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"token=x".to_vec(), "no payload field"),
        (form("{not json"), "not JSON"),
        (form(r#"{"actions":[{"value":"approve:x"}]}"#), "user.id"),
        (
            form(r#"{"user":{"id":"U1; rm -rf /"},"actions":[{"value":"approve:x"}]}"#),
            "user.id",
        ),
        (form(r#"{"user":{"id":"U1"}}"#), "pressed button"),
        (
            form(&format!(
                r#"{{"user":{{"id":"U1"}},"actions":[{{"value":"reboot:{n}"}}]}}"#
            )),
            "approve:/deny:",
        ),
        (
            form(
                r#"{"user":{"id":"U1"},"actions":[{"value":"approve:ABABABABABABABABABABABABABABABAB"}]}"#,
            ),
            "nonce",
        ),
        (
            form(r#"{"user":{"id":"U1"},"actions":[{"value":"approve:abab"}]}"#),
            "nonce",
        ),
    ];
    for (body, want) in cases {
        match slack_answer(&body, at(5)) {
            Err(ApprovalError::Payload(why)) => assert!(why.contains(want), "{why} / {want}"),
            other => panic!("{want}: {other:?}"),
        }
    }
}

#[test]
fn a_nonce_reads_back_as_written_and_nothing_else_reads_as_one() {
    let n = Nonce::from_bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255]);
    assert_eq!(n.to_string(), "000102030405060708090a0b0c0d0eff");
    assert_eq!(Nonce::parse(&n.to_string()), Ok(n));
    for bad in [
        "",
        "00",
        "000102030405060708090a0b0c0d0eff00",
        "000102030405060708090a0b0c0d0eFF",
        "g00102030405060708090a0b0c0d0eff",
    ] {
        assert!(Nonce::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn an_approval_event_names_a_nonce_a_decision_and_optionally_who() {
    let n = "000102030405060708090a0b0c0d0eff";
    let v =
        serde_json::json!({"approval": {"nonce": n, "decision": "approve", "by": " oncall-role "}});
    assert_eq!(
        answer_request(&v),
        Ok(AnswerRequest {
            nonce: Nonce::parse(n).unwrap(),
            verdict: Verdict::Approve,
            by: Approver::ChatbotRole("oncall-role".into()),
        })
    );
    let v = serde_json::json!({"approval": {"nonce": n, "decision": "deny"}});
    let r = answer_request(&v).unwrap();
    assert_eq!(r.verdict, Verdict::Deny);
    assert_eq!(r.by, Approver::ChatbotRole(UNNAMED_INVOKER.into()));
    assert_eq!(r.at(at(7)).at, at(7));
}

#[test]
fn a_malformed_approval_event_is_refused_naming_the_field() {
    let n = "000102030405060708090a0b0c0d0eff";
    let long = "x".repeat(MAX_BY + 1);
    for (v, want) in [
        (serde_json::json!({"approval": n}), "not an object"),
        (
            serde_json::json!({"approval": {"decision": "approve"}}),
            "approval.nonce",
        ),
        (
            serde_json::json!({"approval": {"nonce": "ABC", "decision": "approve"}}),
            "not a nonce",
        ),
        (
            serde_json::json!({"approval": {"nonce": n, "decision": "yes"}}),
            "approval.decision",
        ),
        (
            serde_json::json!({"approval": {"nonce": n}}),
            "approval.decision",
        ),
        (
            serde_json::json!({"approval": {"nonce": n, "decision": "approve", "by": 7}}),
            "approval.by",
        ),
        (
            serde_json::json!({"approval": {"nonce": n, "decision": "approve", "by": long}}),
            "approval.by",
        ),
        (
            serde_json::json!({"approval": {"nonce": n, "decision": "approve", "by": "a\nb"}}),
            "approval.by",
        ),
    ] {
        match answer_request(&v) {
            Err(ApprovalError::Payload(why)) => assert!(why.contains(want), "{why} / {want}"),
            other => panic!("{want}: {other:?}"),
        }
    }
}

#[test]
fn the_expiry_one_shot_names_its_proposal_within_the_schedule_name_rules() {
    let n = Nonce::from_bytes([0xab; 16]);
    let name = expiry_schedule_name(&n);
    assert!(name.len() <= 57, "{name}");
    assert!(name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
    let e = expiry_event(&n);
    assert_eq!(e["detail-type"], EXPIRY_DETAIL_TYPE);
    assert_eq!(e["detail"]["nonce"], n.to_string());
}
