//! CloudTrail read adapter: one `LookupEvents` page per resource (CloudTrail allows 2 calls per second per account
//! and region, so the caller bounds and paces the calls; nothing here pages on).

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_cloudtrail::Client;
use chrono::{DateTime, Utc};

use ec2ops::evidence::changes::{TrailEvent, PAGE};
use ec2ops::ports::{AwsError, ChangeReader};

use super::{aws_error, to_chrono, to_smithy};

pub struct CloudTrailReader {
    client: Client,
}

impl CloudTrailReader {
    pub fn new(client: Client) -> Self {
        CloudTrailReader { client }
    }
}

#[async_trait]
impl ChangeReader for CloudTrailReader {
    async fn changes(
        &self,
        resource: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<TrailEvent>, AwsError> {
        let attribute = LookupAttribute::builder()
            .attribute_key(LookupAttributeKey::ResourceName)
            .attribute_value(resource)
            .build()
            .map_err(|e| AwsError::new("cloudtrail", "LookupEvents", e.to_string()))?;
        let out = self
            .client
            .lookup_events()
            .lookup_attributes(attribute)
            .start_time(to_smithy(since))
            .end_time(to_smithy(until))
            .max_results(PAGE as i32)
            .send()
            .await
            .map_err(|e| aws_error("cloudtrail", "LookupEvents", e))?;
        Ok(out
            .events()
            .iter()
            .filter_map(|e| {
                let event = TrailEvent {
                    id: e.event_id()?.to_string(),
                    name: e.event_name().unwrap_or_default().to_string(),
                    source: e.event_source().unwrap_or_default().to_string(),
                    at: e.event_time().and_then(to_chrono)?,
                    username: e.username().map(str::to_string),
                    read_only: e.read_only().map(|r| r.eq_ignore_ascii_case("true")),
                    resources: e
                        .resources()
                        .iter()
                        .filter_map(|r| r.resource_name().map(str::to_string))
                        .collect(),
                    ..TrailEvent::default()
                };
                // The record's own readOnly wins over the lookup's when both are given (they agree on AWS).
                let read_only = event.read_only;
                let mut event = event.with_record(e.cloud_trail_event());
                event.read_only = event.read_only.or(read_only);
                Some(event)
            })
            .collect())
    }
}
