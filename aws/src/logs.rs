//! CloudWatch Logs read adapter: `FilterLogEvents` on one group, streams by name prefix (the instance id), paged
//! until the caller's limit (at most three pages).

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::Client;
use chrono::{DateTime, Utc};

use ec2ops::evidence::logs::RawLine;
use ec2ops::ports::{AwsError, LogReader};

use super::aws_error;

/// Pages read per group at most (FilterLogEvents can return empty pages with a token while it scans).
const MAX_PAGES: usize = 3;

pub struct LogsReader {
    client: Client,
}

impl LogsReader {
    pub fn new(client: Client) -> Self {
        LogsReader { client }
    }
}

#[async_trait]
impl LogReader for LogsReader {
    async fn log_lines(
        &self,
        group: &str,
        stream_prefix: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<RawLine>, AwsError> {
        let mut out: Vec<RawLine> = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let want = limit.saturating_sub(out.len()).clamp(1, 10_000);
            let page = self
                .client
                .filter_log_events()
                .log_group_name(group)
                .log_stream_name_prefix(stream_prefix)
                .start_time(since.timestamp_millis())
                .end_time(until.timestamp_millis())
                .limit(i32::try_from(want).unwrap_or(10_000))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| aws_error("logs", "FilterLogEvents", e))?;
            // The prefix is applied here too: an emulator that ignores it must not mix other instances' lines in.
            out.extend(page.events().iter().filter_map(|e| {
                let stream = e
                    .log_stream_name()
                    .filter(|s| s.starts_with(stream_prefix))?;
                Some(RawLine {
                    stream: stream.to_string(),
                    at: DateTime::from_timestamp_millis(e.timestamp()?)?,
                    message: e.message()?.to_string(),
                })
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() || out.len() >= limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
    }
}
