//! SNS delivery adapter: one Publish with `MessageStructure=json`.

use async_trait::async_trait;
use aws_sdk_sns::Client;

use ec2ops::message::SnsMessage;
use ec2ops::ports::{AwsError, ReportPublisher};

use super::aws_error;

pub struct SnsPublisher {
    client: Client,
}

impl SnsPublisher {
    pub fn new(client: Client) -> Self {
        SnsPublisher { client }
    }
}

#[async_trait]
impl ReportPublisher for SnsPublisher {
    async fn publish(&self, topic_arn: &str, message: &SnsMessage) -> Result<String, AwsError> {
        let out = self
            .client
            .publish()
            .topic_arn(topic_arn)
            .subject(&message.subject)
            .message(&message.message)
            .message_structure("json")
            .send()
            .await
            .map_err(|e| aws_error("sns", "Publish", e))?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}
