//! The Slack app's settings from SSM Parameter Store: one SecureString parameter (GetParameter with decryption),
//! read on the first Slack request and kept for the life of the execution environment. A failed or unreadable read is
//! not kept: the next request reads again. The function may only read the parameter; whoever writes it (the approver
//! list's owner) need not be the stack's deployer.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_ssm::Client;

use ec2ops::ports::{AwsError, SlackSettings};
use ec2ops::remediation::approval::slack::{slack_app, SlackApp};

use super::aws_error;

pub struct SsmSlackSettings {
    client: Client,
    parameter: String,
    cached: Mutex<Option<SlackApp>>,
}

impl SsmSlackSettings {
    pub fn new(client: Client, parameter: &str) -> Self {
        SsmSlackSettings {
            client,
            parameter: parameter.to_string(),
            cached: Mutex::new(None),
        }
    }

    fn kept(&self) -> Option<SlackApp> {
        self.cached.lock().ok().and_then(|c| c.clone())
    }
}

#[async_trait]
impl SlackSettings for SsmSlackSettings {
    async fn slack_app(&self) -> Result<SlackApp, AwsError> {
        if let Some(app) = self.kept() {
            return Ok(app);
        }
        let out = self
            .client
            .get_parameter()
            .name(&self.parameter)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| aws_error("ssm", "GetParameter", e))?;
        let text = out.parameter().and_then(|p| p.value()).unwrap_or_default();
        // The parameter's text is never quoted in the error: it holds the signing secret.
        let app = slack_app(text).map_err(|e| {
            AwsError::new("ssm", "GetParameter", format!("{}: {e}", self.parameter))
                .retryable(false)
        })?;
        if let Ok(mut c) = self.cached.lock() {
            *c = Some(app.clone());
        }
        Ok(app)
    }
}
