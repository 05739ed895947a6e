//! The ledger on DynamoDB: one table, `pk`/`sk` string keys, TTL on `expires_at`. Conditional writes make claims and
//! actions exactly-once under concurrent duplicate deliveries.
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `incident#<key>` | `-` | the claim of one incident (7 days) |
//! | `action#<key>` | `-` | the one action of an incident (2 days) |
//! | `instance#<id>` | `<time>#<key>` | actions on an instance: cooldown, daily cap (2 days) |
//! | `account` | `<time>#<key>` | actions account-wide: hourly cap (2 days) |
//! | `az#<az>` | `<time>#<id>` | status-check failures per AZ: AZ-EVENT (1 day) |
//! | `impaired#<id>#<check>` | `-` | a reported status-check failure, so the sweep does not repeat it (1 hour) |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};

use super::aws_error;
use crate::ports::{ActionRecord, AwsError, Claim, Ledger};
use crate::remediation::LedgerView;

pub struct DynamoLedger {
    client: Client,
    table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn item(
    pk: String,
    sk: String,
    at: DateTime<Utc>,
    ttl: Duration,
) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(sk)),
        ("at".to_string(), s(stamp(at))),
        (
            "expires_at".to_string(),
            AttributeValue::N((at + ttl).timestamp().to_string()),
        ),
    ])
}

fn conditional_failed(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ConditionalCheckFailedException")
}

impl DynamoLedger {
    async fn put_once(
        &self,
        item: HashMap<String, AttributeValue>,
        op: &'static str,
    ) -> Result<bool, AwsError> {
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = aws_error("dynamodb", op, e);
                if conditional_failed(&err) {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn put(&self, item: HashMap<String, AttributeValue>) -> Result<(), AwsError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "PutItem", e))?;
        Ok(())
    }

    /// Sort keys of a partition from `since` on.
    async fn since(&self, pk: String, since: DateTime<Utc>) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":since", s(stamp(since)))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("dynamodb", "Query", e))?;
            out.extend(
                page.items()
                    .iter()
                    .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned()),
            );
        }
        Ok(out)
    }
}

impl DynamoLedger {
    /// When the action of an incident was recorded, if it was.
    async fn action_at(&self, incident_key: &str) -> Result<Option<DateTime<Utc>>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("action#{incident_key}")))
            .key("sk", s("-"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "GetItem", e))?;
        Ok(out
            .item()
            .and_then(|i| i.get("at"))
            .and_then(|v| v.as_s().ok())
            .and_then(|t| time_of(t)))
    }
}

fn time_of(sk: &str) -> Option<DateTime<Utc>> {
    let t = sk.split('#').next()?;
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[async_trait]
impl Ledger for DynamoLedger {
    async fn claim(&self, incident_key: &str, now: DateTime<Utc>) -> Result<Claim, AwsError> {
        let fresh = self
            .put_once(
                item(
                    format!("incident#{incident_key}"),
                    "-".into(),
                    now,
                    Duration::days(7),
                ),
                "PutItem",
            )
            .await?;
        Ok(if fresh {
            Claim::Claimed
        } else {
            Claim::Duplicate
        })
    }

    async fn release(&self, incident_key: &str) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("incident#{incident_key}")))
            .key("sk", s("-"))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "DeleteItem", e))?;
        Ok(())
    }

    async fn view(
        &self,
        incident_key: &str,
        instance_id: &str,
        availability_zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<LedgerView, AwsError> {
        let instance = self.since(format!("instance#{instance_id}"), now - Duration::hours(24));
        let account = self.since("account".into(), now - Duration::hours(1));
        let az = async {
            match availability_zone {
                Some(az) => {
                    self.since(format!("az#{az}"), now - Duration::minutes(10))
                        .await
                }
                None => Ok(Vec::new()),
            }
        };
        let (instance, account, az, this) =
            tokio::try_join!(instance, account, az, self.action_at(incident_key))?;
        let mut instance_actions: Vec<DateTime<Utc>> =
            instance.iter().filter_map(|k| time_of(k)).collect();
        instance_actions.sort_by(|a, b| b.cmp(a));
        let mut az_impaired: Vec<String> = az
            .iter()
            .filter_map(|k| k.split('#').nth(1).map(str::to_string))
            .filter(|id| id != instance_id)
            .collect();
        az_impaired.sort();
        az_impaired.dedup();
        Ok(LedgerView {
            this_incident_action: this,
            instance_actions,
            account_actions_last_hour: account.len(),
            az_impaired,
        })
    }

    async fn record_action(
        &self,
        action: &ActionRecord,
    ) -> Result<Option<DateTime<Utc>>, AwsError> {
        let key = &action.incident_key;
        let mut once = item(
            format!("action#{key}"),
            "-".into(),
            action.at,
            Duration::days(2),
        );
        once.insert("instance".into(), s(&action.instance_id));
        once.insert("action".into(), s(action.action.as_str()));
        if !self.put_once(once, "PutItem").await? {
            return Ok(Some(self.action_at(key).await?.unwrap_or(action.at)));
        }
        let sk = format!("{}#{key}", stamp(action.at));
        let history = item(
            format!("instance#{}", action.instance_id),
            sk.clone(),
            action.at,
            Duration::days(2),
        );
        let account = item("account".into(), sk, action.at, Duration::days(2));
        tokio::try_join!(self.put(history), self.put(account))?;
        Ok(None)
    }

    async fn note_impaired(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
        only_if_new: bool,
    ) -> Result<bool, AwsError> {
        let note = item(
            format!("impaired#{instance_id}#{check}"),
            "-".into(),
            now,
            Duration::hours(1),
        );
        if !only_if_new {
            self.put(note).await?;
            return Ok(true);
        }
        // TTL deletion is lazy: an expired note counts as absent.
        match self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(note))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = aws_error("dynamodb", "PutItem", e);
                if conditional_failed(&err) {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn record_impairment(
        &self,
        availability_zone: &str,
        instance_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        self.put(item(
            format!("az#{availability_zone}"),
            format!("{}#{instance_id}", stamp(now)),
            now,
            Duration::days(1),
        ))
        .await
    }
}
