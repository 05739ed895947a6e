//! `ec2ops respond` without `--publish` is a preview: with a ledger table configured it still writes nothing (no
//! claim, action, impairment, AZ declaration, completion, storm log or digest) and acts on nothing, so the Lambda's
//! own delivery of the same alarm is not taken for a duplicate. Every AWS endpoint is one loopback stub that records
//! each request it gets; no emulator needed.

use std::process::{Command, Output};

use ec2ops_tests::stub::{stub, Received};

/// The AWS service a request was signed for (`Credential=…/<date>/<region>/<service>/aws4_request`).
fn service(r: &Received) -> String {
    r.headers
        .split("credential=")
        .nth(1)
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unsigned")
        .to_string()
}

/// The operation a request calls, lower-case: from `x-amz-target` (JSON protocols), the `Action=` of a query body,
/// or the `/operation/…` of an RPC v2 path.
fn operation(r: &Received) -> String {
    let header = |name: &str| {
        r.headers
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
    };
    if let Some(target) = header("x-amz-target:") {
        return target.rsplit('.').next().unwrap_or_default().to_string();
    }
    if let Some(action) = r.body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return action.to_ascii_lowercase();
    }
    let request_line = r.headers.lines().next().unwrap_or_default();
    request_line
        .split_whitespace()
        .nth(1)
        .and_then(|path| path.rsplit_once("/operation/"))
        .map_or_else(|| request_line.to_string(), |(_, op)| op.to_string())
}

/// Calls that only read.
fn reads(op: &str) -> bool {
    ["describe", "get", "list", "lookup", "filter"]
        .iter()
        .any(|verb| op.starts_with(verb))
}

fn preview(endpoint: &str, event: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ec2ops"))
        .args(["respond", event, "--language", "en"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env("EC2OPS_LEDGER_TABLE", "ec2ops-ledger-preview")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
        .env_remove("EC2OPS_TOPIC_ARN")
        .env_remove("EC2OPS_WORK_QUEUE_URL")
        .env_remove("EC2OPS_LANGUAGE")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "ap-northeast-2")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run ec2ops")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_with_a_ledger_table_configured_reads_but_never_writes_the_ledger_or_acts() {
    // GIVEN every endpoint answering success (a claim would be granted, a completion recorded)
    let (url, seen) = stub(200, "{}".into()).await;
    for event in ["events/status-system.json", "events/cpu-spike.json"] {
        // WHEN the operator previews an alarm the Lambda function will also receive
        let o = {
            let url = url.clone();
            tokio::task::spawn_blocking(move || preview(&url, event))
                .await
                .expect("the CLI ran")
        };
        // THEN the report is printed, and not one request went to the ledger or changed anything
        assert!(
            o.status.success(),
            "{event}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            String::from_utf8_lossy(&o.stdout).starts_with('['),
            "{event}: no report printed"
        );
    }
    let requests = seen.lock().expect("the stub's log").clone();
    let calls: Vec<(String, String)> = requests
        .iter()
        .map(|r| (service(r), operation(r)))
        .collect();
    // The preview did reach the stub (the check below is not vacuous): it read the instance from EC2.
    assert!(
        calls
            .iter()
            .any(|(s, op)| s == "ec2" && op.starts_with("describe")),
        "{calls:?}"
    );
    let ledger: Vec<&(String, String)> = calls.iter().filter(|(s, _)| s == "dynamodb").collect();
    assert!(ledger.is_empty(), "the preview used the ledger: {ledger:?}");
    let writes: Vec<&(String, String)> = calls.iter().filter(|(_, op)| !reads(op)).collect();
    assert!(
        writes.is_empty(),
        "the preview made calls that write: {writes:?}"
    );
}
