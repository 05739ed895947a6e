//! SSM Run Command adapter for in-guest diagnostics: SendCommand of the fixed document, then GetCommandInvocation
//! every 500 ms until the command ends or the deadline passes; stdout goes through [`diagnostics::parse`].

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ssm::types::CommandInvocationStatus;
use aws_sdk_ssm::Client;
use tokio::time::{sleep_until, timeout_at, Instant};

use ec2ops::diagnostics::{self, Diagnostics};
use ec2ops::ports::{self, AwsError, ErrorKind};

use super::aws_error;

/// How often GetCommandInvocation is polled: the script takes well under a second on a healthy host, and the
/// API's rate limit is shared with every other SSM user of the account.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// SendCommand's TimeoutSeconds bounds how long the command may wait for the agent before it is dropped; SSM
/// accepts no less than 30 s, and a command still queued ten minutes later is of no use to the incident.
const MIN_SEND_TIMEOUT_SECS: u64 = 30;
const MAX_SEND_TIMEOUT_SECS: u64 = 600;

/// What the SSM service sends back when the instance is not a managed node (classified as
/// [`ErrorKind::NotManaged`] where SDK errors are converted).
#[cfg(test)]
const NOT_MANAGED: &str = "InvalidInstanceId";

pub struct SsmDiagnostics {
    client: Client,
}

impl SsmDiagnostics {
    pub fn new(client: Client) -> Self {
        SsmDiagnostics { client }
    }

    /// Built from the shared SDK configuration, so callers outside this crate need not name the SSM crate.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }
}

/// The instance cannot run commands: keep the code, say what it means.
fn not_managed(operation: &'static str, instance_id: &str, err: AwsError) -> AwsError {
    AwsError {
        message: format!(
            "instance {instance_id} is not SSM-managed (no SSM Agent registered with Systems Manager, or the \
             instance is not running): {}",
            err.message
        ),
        operation,
        retryable: false,
        ..err
    }
}

fn deadline_passed(operation: &'static str, deadline: Duration, status: &str) -> AwsError {
    // The deadline is ec2ops's (said in the report's language), and the last status SSM reported stays with it.
    AwsError {
        message: format!(
            "no result within {} ms (last status: {status})",
            deadline.as_millis()
        ),
        ..AwsError::late("ssm", operation, deadline)
    }
}

#[async_trait]
impl ports::Diagnostics for SsmDiagnostics {
    async fn run(
        &self,
        instance_id: &str,
        document: &str,
        deadline: Duration,
    ) -> Result<Diagnostics, AwsError> {
        let end = Instant::now() + deadline;
        let command_id = self.send(instance_id, document, deadline, end).await?;
        let mut last_status = String::from("not yet registered");
        loop {
            // The invocation takes a moment to exist; the first poll waits one interval too.
            let next = Instant::now() + POLL_INTERVAL;
            if next >= end {
                // The script is read-only and the document kills it after 60 s, so it is left to finish alone.
                return Err(deadline_passed(
                    "GetCommandInvocation",
                    deadline,
                    &last_status,
                ));
            }
            sleep_until(next).await;
            match self.poll(instance_id, &command_id, end).await {
                Poll::Again(Some(status)) => last_status = status,
                Poll::Again(None) => {}
                Poll::Done(result) => return *result,
            }
        }
    }
}

/// What one GetCommandInvocation said.
enum Poll {
    /// Not finished (the status to report if the deadline passes, when there is a new one).
    Again(Option<String>),
    Done(Box<Result<Diagnostics, AwsError>>),
}

impl SsmDiagnostics {
    /// SendCommand of the fixed document; the command id.
    async fn send(
        &self,
        instance_id: &str,
        document: &str,
        deadline: Duration,
        end: Instant,
    ) -> Result<String, AwsError> {
        let send_timeout = deadline
            .as_secs()
            .clamp(MIN_SEND_TIMEOUT_SECS, MAX_SEND_TIMEOUT_SECS);
        // No parameters: the document is fixed text, so nothing from the event reaches the shell.
        let send = self
            .client
            .send_command()
            .document_name(document)
            .instance_ids(instance_id)
            .timeout_seconds(i32::try_from(send_timeout).unwrap_or(i32::MAX))
            .comment("ec2ops in-guest diagnostics")
            .send();
        let sent = match timeout_at(end, send).await {
            Err(_) => return Err(deadline_passed("SendCommand", deadline, "not sent")),
            Ok(Err(e)) => {
                let err = aws_error("ssm", "SendCommand", e);
                return Err(match err.kind {
                    ErrorKind::NotManaged => not_managed("SendCommand", instance_id, err),
                    _ => err,
                });
            }
            Ok(Ok(out)) => out,
        };
        Ok(sent
            .command()
            .and_then(|c| c.command_id())
            .ok_or_else(|| AwsError::new("ssm", "SendCommand", "response without a command id"))?
            .to_string())
    }

    /// One GetCommandInvocation.
    async fn poll(&self, instance_id: &str, command_id: &str, end: Instant) -> Poll {
        let poll = self
            .client
            .get_command_invocation()
            .command_id(command_id)
            .instance_id(instance_id)
            .send();
        let out = match timeout_at(end, poll).await {
            Err(_) => {
                // The last status is what the caller knows: it reports the deadline itself.
                return Poll::Again(None);
            }
            Ok(Err(e)) => {
                let err = aws_error("ssm", "GetCommandInvocation", e);
                return match err.kind {
                    // Normal right after SendCommand: the invocation is not registered yet.
                    ErrorKind::NotFound => Poll::Again(None),
                    ErrorKind::NotManaged => Poll::Done(Box::new(Err(not_managed(
                        "GetCommandInvocation",
                        instance_id,
                        err,
                    )))),
                    _ if err.retryable => Poll::Again(Some(format!("poll failed: {err}"))),
                    _ => Poll::Done(Box::new(Err(err))),
                };
            }
            Ok(Ok(out)) => out,
        };
        let stdout = out.standard_output_content().unwrap_or_default();
        let Some(status) = out.status() else {
            return Poll::Again(None);
        };
        let last = Some(status.as_str().to_string());
        match status {
            CommandInvocationStatus::Success => {
                Poll::Done(Box::new(Ok(diagnostics::parse(stdout))))
            }
            CommandInvocationStatus::Pending
            | CommandInvocationStatus::InProgress
            | CommandInvocationStatus::Delayed
            | CommandInvocationStatus::Cancelling => Poll::Again(last),
            // Failed or timed out part-way: whatever sections were printed still count.
            CommandInvocationStatus::Failed | CommandInvocationStatus::TimedOut
                if !stdout.trim().is_empty() =>
            {
                Poll::Done(Box::new(Ok(diagnostics::parse(stdout))))
            }
            CommandInvocationStatus::Failed
            | CommandInvocationStatus::TimedOut
            | CommandInvocationStatus::Cancelled => {
                let detail = out.status_details().unwrap_or(status.as_str());
                let stderr = out.standard_error_content().unwrap_or_default().trim();
                let mut message = format!(
                    "command {command_id} ended {detail} (exit {})",
                    out.response_code()
                );
                if !stderr.is_empty() {
                    // stderr can echo a command line: it is redacted like stdout.
                    message.push_str(": ");
                    message.push_str(&diagnostics::redact(stderr));
                }
                Poll::Done(Box::new(Err(AwsError::new(
                    "ssm",
                    "GetCommandInvocation",
                    ec2ops::text::bound(&message, 400),
                ))))
            }
            // A status added after this SDK was built: keep polling until the deadline decides.
            _ => Poll::Again(last),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unmanaged_instance_keeps_the_code_and_says_what_it_means() {
        let err = AwsError {
            code: Some(NOT_MANAGED.into()),
            kind: ErrorKind::NotManaged,
            retryable: true,
            ..AwsError::new(
                "ssm",
                "SendCommand",
                "Instances [[i-0abc]] not in a valid state",
            )
        };
        let err = not_managed("SendCommand", "i-0abc", err);
        assert_eq!(err.code.as_deref(), Some("InvalidInstanceId"));
        assert!(!err.retryable);
        assert!(err
            .message
            .starts_with("instance i-0abc is not SSM-managed"));
        assert!(err.message.ends_with("not in a valid state"));
    }

    #[test]
    fn a_passed_deadline_is_retryable_and_names_the_last_status() {
        let err = deadline_passed(
            "GetCommandInvocation",
            Duration::from_millis(2500),
            "InProgress",
        );
        assert!(err.retryable);
        assert_eq!(err.code.as_deref(), Some("DeadlineExceeded"));
        assert_eq!(
            err.to_string(),
            "ssm GetCommandInvocation: DeadlineExceeded: no result within 2500 ms (last status: InProgress)"
        );
        // ec2ops's own deadline: the report says it in its language.
        assert_eq!(err.gap(), ec2ops::facts::Gap::TimedOut { ms: 2500 });
    }
}
