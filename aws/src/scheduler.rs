//! EventBridge Scheduler adapter: a one-time `at()` schedule that invokes the function with ec2ops's own event (a
//! verification, a recover's continuation) and deletes itself afterwards.

use async_trait::async_trait;
use aws_sdk_scheduler::types::{
    ActionAfterCompletion, FlexibleTimeWindow, FlexibleTimeWindowMode, Target,
};
use aws_sdk_scheduler::Client;
use chrono::{DateTime, Utc};

use ec2ops::ports::{AwsError, ErrorKind, VerifyScheduler};

use super::aws_error;

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
        name: &str,
        event: &serde_json::Value,
        at: DateTime<Utc>,
        target_arn: &str,
    ) -> Result<String, AwsError> {
        let window = FlexibleTimeWindow::builder()
            .mode(FlexibleTimeWindowMode::Off)
            .build()
            .map_err(build_error)?;
        let target = Target::builder()
            .arn(target_arn)
            .role_arn(&self.role_arn)
            .input(event.to_string())
            .build()
            .map_err(build_error)?;
        // Every schedule of ec2ops is named `ec2ops-…`: the IAM policy allows only those.
        let name: String = format!("ec2ops-{name}").chars().take(64).collect();
        match self
            .client
            .create_schedule()
            .name(&name)
            .schedule_expression(format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")))
            .schedule_expression_timezone("UTC")
            .flexible_time_window(window)
            .target(target)
            .action_after_completion(ActionAfterCompletion::Delete)
            .send()
            .await
        {
            Ok(_) => Ok(name),
            Err(e) => {
                let err = aws_error("scheduler", "CreateSchedule", e);
                // The same step scheduled again by a resumed delivery: it is there, which is what was wanted.
                if err.kind == ErrorKind::Conflict {
                    Ok(name)
                } else {
                    Err(err)
                }
            }
        }
    }
}
