//! SQS adapter for the fan-out: one message per instance incident on the work queue, which invokes the function
//! (event source mapping, batch size 1) so that each incident has its own invocation and budget.

use async_trait::async_trait;
use aws_sdk_sqs::Client;

use ec2ops::ports::{AwsError, WorkQueue};

use super::aws_error;

pub struct SqsWorkQueue {
    client: Client,
    queue_url: String,
}

impl SqsWorkQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsWorkQueue {
            client,
            queue_url: queue_url.into(),
        }
    }
}

#[async_trait]
impl WorkQueue for SqsWorkQueue {
    async fn enqueue(&self, event: &serde_json::Value) -> Result<(), AwsError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(event.to_string())
            .send()
            .await
            .map_err(|e| aws_error("sqs", "SendMessage", e))?;
        Ok(())
    }
}
