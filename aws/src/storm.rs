//! The storm ports on the ledger table (same `pk`/`sk`, TTL on `expires_at`): the publish-rate gate, the storm
//! windows' digest buffers, and the look-back log of recorded incidents.
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `gate#<epoch second>` | `-` | publishes started in that second: a conditional `ADD` below the limit (1 hour) |
//! | `digest#<window>` | `-` | the window's flush: `scheduled`, `closed_at` + lease, then `message_id` (2 days) |
//! | `digest#<window>` | `entry#<key>` | one incident of the window's digest (2 days) |
//! | `log#<UTC hour>` | `<time>#<key>` | a recorded incident, for `ec2ops incidents` (7 days) |
//! | `log#incident#<key>` | `-` | the same with its report text, for `ec2ops incidents show` (7 days) |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};

use ec2ops::ports::{AwsError, ErrorKind};
use ec2ops::report::digest::DigestEntry;
use ec2ops::storm::{
    hours, Buffered, DigestBuffer, FlushClaim, IncidentLog, LoggedIncident, PublishGate, Window,
    GATE_TTL, LOG_RETENTION,
};

use super::attributes::{build_error, epoch, key, later, n, number, s, stamp, text};
use super::aws_error;

/// How long a window's buffer and flush record live.
const DIGEST_TTL: Duration = Duration::days(2);

/// The storm ports on DynamoDB.
pub struct DynamoStorm {
    client: Client,
    table: String,
}

impl DynamoStorm {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStorm {
            client,
            table: table.into(),
        }
    }
}

fn expiry(t: DateTime<Utc>, ttl: Duration) -> AttributeValue {
    epoch(later(t, ttl))
}

fn decode<T: serde::de::DeserializeOwned>(
    i: &HashMap<String, AttributeValue>,
    op: &'static str,
) -> Result<T, AwsError> {
    let body = text(i, "body").unwrap_or_default();
    serde_json::from_str(&body).map_err(|e| build_error(op, format!("unreadable stored item: {e}")))
}

fn window_pk(w: &Window) -> String {
    format!("digest#{}", w.id())
}

impl DynamoStorm {
    async fn get(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "GetItem", e))?;
        Ok(out.item().cloned())
    }

    async fn query(
        &self,
        pk: String,
        sk_prefix: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        let mut out = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut values = HashMap::from([(":pk".to_string(), s(pk.clone()))]);
            let condition = match sk_prefix {
                Some(p) => {
                    values.insert(":p".to_string(), s(p));
                    "pk = :pk AND begins_with(sk, :p)"
                }
                None => "pk = :pk",
            };
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(condition)
                .set_expression_attribute_values(Some(values))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| aws_error("dynamodb", "Query", e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl PublishGate for DynamoStorm {
    async fn admit(&self, second: i64, limit: u32) -> Result<bool, AwsError> {
        let at = DateTime::from_timestamp(second, 0).unwrap_or_default();
        Ok(super::conditional(
            "dynamodb",
            "UpdateItem",
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(format!("gate#{second}"), "-")))
                .update_expression("ADD #n :one SET #exp = :exp")
                .condition_expression("attribute_not_exists(#n) OR #n < :limit")
                .expression_attribute_names("#n", "n")
                .expression_attribute_names("#exp", "expires_at")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(i64::from(limit)))
                .expression_attribute_values(":exp", expiry(at, GATE_TTL))
                .send()
                .await,
        )?
        .is_some())
    }
}

#[async_trait]
impl DigestBuffer for DynamoStorm {
    async fn buffer(&self, window: &Window, entry: &DigestEntry) -> Result<Buffered, AwsError> {
        const OP: &str = "TransactWriteItems";
        let body = serde_json::to_string(entry).map_err(|e| build_error(OP, e))?;
        let mut item = key(window_pk(window), format!("entry#{}", entry.incident_key));
        item.insert("body".into(), s(body));
        item.insert("expires_at".into(), expiry(window.start, DIGEST_TTL));
        for attempt in 0..4u64 {
            let open = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(window_pk(window), "-")))
                .condition_expression("attribute_not_exists(closed_at)")
                .build()
                .map_err(|e| build_error(OP, e))?;
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item.clone()))
                .build()
                .map_err(|e| build_error(OP, e))?;
            let sent = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().condition_check(open).build())
                .transact_items(TransactWriteItem::builder().put(put).build())
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(Buffered::Added),
                Err(e) => {
                    let err = aws_error("dynamodb", OP, e);
                    if err.kind != ErrorKind::Conflict {
                        return Err(err);
                    }
                    let flush = self.get(window_pk(window), "-").await?;
                    if flush.is_some_and(|f| f.contains_key("closed_at")) {
                        return Ok(Buffered::Closed);
                    }
                    // A conflict with a concurrent writer of the same items: back off and try again.
                    tokio::time::sleep(std::time::Duration::from_millis(40 * (attempt + 1))).await;
                }
            }
        }
        Err(AwsError::new(
            "dynamodb",
            OP,
            "buffering the digest entry kept conflicting with concurrent writers",
        )
        .with_code("TransactionConflict", ErrorKind::Conflict)
        .retryable(true))
    }

    async fn flush_scheduled(&self, window: &Window) -> Result<bool, AwsError> {
        Ok(self
            .get(window_pk(window), "-")
            .await?
            .is_some_and(|f| f.contains_key("scheduled")))
    }

    async fn note_scheduled(&self, window: &Window) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(window_pk(window), "-")))
            .update_expression("SET scheduled = :t, expires_at = :exp")
            .expression_attribute_values(":t", n(1))
            .expression_attribute_values(":exp", expiry(window.start, DIGEST_TTL))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }

    async fn close(
        &self,
        window: &Window,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<FlushClaim, AwsError> {
        let claimed = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(window_pk(window), "-")))
            .update_expression(
                "SET closed_at = if_not_exists(closed_at, :now), lease = :lease, expires_at = :exp",
            )
            .condition_expression(
                "attribute_not_exists(message_id) AND (attribute_not_exists(lease) OR lease < :nowe)",
            )
            .expression_attribute_values(":now", s(stamp(now)))
            .expression_attribute_values(":nowe", n(now.timestamp()))
            .expression_attribute_values(":lease", n(lease_until.timestamp()))
            .expression_attribute_values(":exp", expiry(window.start, DIGEST_TTL))
            .send()
            .await;
        match super::conditional("dynamodb", "UpdateItem", claimed)? {
            Some(_) => Ok(FlushClaim::Claimed),
            None => {
                let flush = self.get(window_pk(window), "-").await?.unwrap_or_default();
                Ok(match text(&flush, "message_id") {
                    Some(message_id) => FlushClaim::Published { message_id },
                    None => FlushClaim::InProgress {
                        until: number(&flush, "lease")
                            .and_then(|l| DateTime::from_timestamp(l, 0))
                            .unwrap_or(now),
                    },
                })
            }
        }
    }

    async fn entries(&self, window: &Window) -> Result<Vec<DigestEntry>, AwsError> {
        self.query(window_pk(window), Some("entry#"))
            .await?
            .iter()
            .map(|i| decode(i, "Query"))
            .collect()
    }

    async fn published(
        &self,
        window: &Window,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(window_pk(window), "-")))
            .update_expression("SET message_id = :m, published_at = :now")
            .expression_attribute_values(":m", s(message_id))
            .expression_attribute_values(":now", s(stamp(now)))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }
}

#[async_trait]
impl IncidentLog for DynamoStorm {
    async fn log(&self, incident: &LoggedIncident) -> Result<(), AwsError> {
        const OP: &str = "TransactWriteItems";
        let listed = LoggedIncident {
            report: String::new(),
            ..incident.clone()
        };
        let hour = Window::of(incident.at, Duration::hours(1)).start;
        let mut index = key(
            format!("log#{}", hour.format("%Y-%m-%dT%H")),
            format!("{}#{}", stamp(incident.at), incident.incident_key),
        );
        index.insert(
            "body".into(),
            s(serde_json::to_string(&listed).map_err(|e| build_error(OP, e))?),
        );
        index.insert("expires_at".into(), expiry(incident.at, LOG_RETENTION));
        let mut full = key(format!("log#incident#{}", incident.incident_key), "-");
        full.insert(
            "body".into(),
            s(serde_json::to_string(incident).map_err(|e| build_error(OP, e))?),
        );
        full.insert("expires_at".into(), expiry(incident.at, LOG_RETENTION));
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build())
                .map_err(|e| build_error(OP, e))
        };
        self.client
            .transact_write_items()
            .transact_items(put(index)?)
            .transact_items(put(full)?)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", OP, e))?;
        Ok(())
    }

    async fn list(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<LoggedIncident>, AwsError> {
        let mut out: Vec<LoggedIncident> = Vec::new();
        for h in hours(since, until) {
            for i in self
                .query(format!("log#{}", h.format("%Y-%m-%dT%H")), None)
                .await?
            {
                let l: LoggedIncident = decode(&i, "Query")?;
                if l.at >= since && l.at <= until {
                    out.push(l);
                }
            }
        }
        Ok(ec2ops::storm::listed(out))
    }

    async fn show(&self, incident_key: &str) -> Result<Option<LoggedIncident>, AwsError> {
        match self
            .get(format!("log#incident#{incident_key}"), "-")
            .await?
        {
            Some(i) => decode(&i, "GetItem").map(Some),
            None => Ok(None),
        }
    }
}
