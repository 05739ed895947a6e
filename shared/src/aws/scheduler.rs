//! EventBridge Scheduler adapter: a one-time `at()` schedule that invokes the function with the verification
//! request and deletes itself afterwards.

use async_trait::async_trait;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use aws_sdk_scheduler::Client;
use chrono::{DateTime, Utc};

use super::aws_error;
use crate::ports::{AwsError, VerifyRequest, VerifyScheduler};

pub struct Scheduler {
    client: Client,
    role_arn: String,
}

impl Scheduler {
    pub fn new(client: Client, role_arn: impl Into<String>) -> Self {
        Scheduler {
            client,
            role_arn: role_arn.into(),
        }
    }
}

fn build_error(e: impl std::fmt::Display) -> AwsError {
    AwsError::new("scheduler", "CreateSchedule", e.to_string())
}

#[async_trait]
impl VerifyScheduler for Scheduler {
    async fn schedule(
        &self,
        request: &VerifyRequest,
        at: DateTime<Utc>,
        target_arn: &str,
    ) -> Result<String, AwsError> {
        // Names: [0-9a-zA-Z-_.]{1,64}; instance id + second is unique per action (cooldown ≥ 0 min).
        let name: String = format!(
            "ec2ops-verify-{}-{}",
            request.instance_id,
            request.acted_at.timestamp()
        )
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect();
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(build_error)?;
        let target = Target::builder()
            .arn(target_arn)
            .role_arn(&self.role_arn)
            .input(request.to_event().to_string())
            .build()
            .map_err(build_error)?;
        self.client
            .create_schedule()
            .name(&name)
            .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await
            .map_err(|e| aws_error("scheduler", "CreateSchedule", e))?;
        Ok(name)
    }
}
