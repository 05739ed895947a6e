//! The message the publisher port sends: built by the report, published by the SNS adapter.

/// The SNS publish request body for one incident.
#[derive(Debug, Clone, PartialEq)]
pub struct SnsMessage {
    pub subject: String,
    /// JSON object with `default` (Chatbot), `email` and `sqs` (plain text), for `MessageStructure=json`.
    pub message: String,
    /// A P0 or P1 that is not silenced: besides the report topic, it is copied to the paging topic when one is
    /// configured (`EC2OPS_PAGING_TOPIC_ARN`).
    pub urgent: bool,
}
