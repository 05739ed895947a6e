//! The ledger on DynamoDB: one table, `pk`/`sk` string keys, TTL on `expires_at`. Conditional writes and one
//! transaction per action make the incident lifecycle and the safety envelope hold under concurrent deliveries.
//!
//! | pk | sk | what |
//! |---|---|---|
//! | `incident#<key>` | `-` | the incident record: `IN_PROGRESS` with a lease, then `COMPLETED` (7 days) |
//! | `action#<key>` | `-` | the one action of an incident and how far it got (2 days) |
//! | `lock#<instance>` | `-` | the per-instance lock, held for the cooldown (at least [`ACTION_LOCK`]) |
//! | `cap#instance#<id>` | `<UTC day>` | actions on the instance that day: the daily cap (2 days) |
//! | `cap#account` | `<UTC hour>` | actions account-wide that clock hour: the hourly cap (2 days) |
//! | `instance#<id>` | `<time>#<key>` | action history of an instance, for the report (2 days) |
//! | `account` | `<time>#<key>` | action history account-wide, for the report (2 days) |
//! | `az#<az>` | `<time>#<instance>#<check>` | status-check failures per AZ: AZ-EVENT (1 day) |
//! | `azevent#<az>` | `-` | the AZ event declared for the window, and the instances its report named |
//! | `impaired#<id>#<check>` | `-` | a reported status-check failure, so the sweep does not repeat it (1 hour) |

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Put, ReturnValue, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Duration, Utc};

use ec2ops::config::Envelope;
use ec2ops::ports::{
    ActionLedger, ActionRecord, AwsError, AzDeclaration, Claim, Completion, ErrorKind, Grant,
    Impairment, ImpairmentLog, IncidentClaims, Progress, RecordedAction,
};
use ec2ops::remediation::{ActionKind, Hold, LedgerView};

use super::attributes::{build_error, epoch, later, n, number, s, stamp, text, time_of};
use super::aws_error;

/// The least time the per-instance lock is held after an action, whatever the cooldown: one action in flight per
/// instance (a recover's continuation runs for up to 15 minutes).
pub const ACTION_LOCK: Duration = Duration::minutes(20);
/// The AZ-EVENT window.
pub const AZ_WINDOW: Duration = Duration::minutes(10);

pub struct DynamoLedger {
    pub(crate) client: Client,
    pub(crate) table: String,
}

impl DynamoLedger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoLedger {
            client,
            table: table.into(),
        }
    }
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
        ("expires_at".to_string(), epoch(later(at, ttl))),
    ])
}

/// Who wrote a claim: the claiming delivery's own instant, in nanoseconds. Every delivery takes its `now` once, at
/// its start (the function: per event, and per message of an SQS batch, which it handles one after another); two
/// deliveries of one incident starting in the same nanosecond in different invocations is not a case to plan for. A claim that finds the record written by
/// its own earlier attempt — a write that succeeded but whose answer was lost — recognises it as its own instead of
/// waiting for its own lease to expire.
fn claimant(now: DateTime<Utc>) -> i64 {
    now.timestamp_nanos_opt()
        .unwrap_or_else(|| now.timestamp_millis())
}

fn from_epoch(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

impl DynamoLedger {
    /// The item (with no sort key of its own) under `pk`, read consistently.
    pub(crate) async fn get(
        &self,
        pk: String,
    ) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "GetItem", e))?;
        Ok(out.item().cloned())
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

    /// Put unless an item is there; `Ok(false)` when the condition failed.
    async fn put_if(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        values: &[(&str, AttributeValue)],
        names: &[(&str, &str)],
    ) -> Result<bool, AwsError> {
        let values: HashMap<String, AttributeValue> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let names: HashMap<String, String> = names
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(super::conditional(
            "dynamodb",
            "PutItem",
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .set_expression_attribute_values((!values.is_empty()).then_some(values))
                .set_expression_attribute_names((!names.is_empty()).then_some(names))
                .send()
                .await,
        )?
        .is_some())
    }

    /// Items of a partition from `since` on.
    async fn since(
        &self,
        pk: String,
        since: DateTime<Utc>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk >= :since")
            .expression_attribute_values(":pk", s(pk))
            .expression_attribute_values(":since", s(stamp(since)))
            .consistent_read(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| aws_error("dynamodb", "Query", e))?;
            out.extend(page.items().iter().cloned());
        }
        Ok(out)
    }

    async fn sort_keys_since(
        &self,
        pk: String,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, AwsError> {
        Ok(self
            .since(pk, since)
            .await?
            .iter()
            .filter_map(|i| text(i, "sk"))
            .collect())
    }

    /// The incident record, read consistently.
    async fn incident(
        &self,
        incident_key: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        self.get(format!("incident#{incident_key}")).await
    }

    /// Take over an expired IN_PROGRESS record; `None` when it is not expired (or not in progress).
    async fn take_over(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Claim>, AwsError> {
        let answer = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("incident#{incident_key}"))))
            .update_expression(
                "SET #lease = :lease, #attempts = #attempts + :one, #claimant = :claimant",
            )
            .condition_expression("#s = :progress AND #lease < :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#lease", "lease")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_names("#claimant", "claimant")
            .expression_attribute_values(":lease", epoch(lease_until))
            .expression_attribute_values(":claimant", n(claimant(now)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":progress", s("IN_PROGRESS"))
            .expression_attribute_values(":now", epoch(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match super::conditional("dynamodb", "UpdateItem", answer)? {
            Some(out) => {
                let attrs = out.attributes().cloned().unwrap_or_default();
                let attempt = number(&attrs, "attempts")
                    .and_then(|a| u32::try_from(a).ok())
                    .unwrap_or(2);
                let first_claimed = text(&attrs, "at").as_deref().and_then(time_of);
                Ok(Some(Claim::Resumed {
                    attempt,
                    first_claimed,
                }))
            }
            None => Ok(None),
        }
    }

    /// After a cancelled action transaction: which hold (or earlier record) explains it. `None` when nothing does
    /// (a transaction conflict with a concurrent writer: try again).
    async fn why_refused(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
        day: &str,
        hour: &str,
    ) -> Result<Option<Grant>, AwsError> {
        let now = action.at;
        let (recorded, lock, daily, hourly, az) = tokio::try_join!(
            self.recorded_action(&action.incident_key),
            self.get(format!("lock#{}", action.instance_id)),
            self.get_sk(format!("cap#instance#{}", action.instance_id), day),
            self.get_sk("cap#account".into(), hour),
            async {
                match &action.availability_zone {
                    Some(az) => self.get(format!("azevent#{az}")).await,
                    None => Ok(None),
                }
            },
        )?;
        if let Some(r) = recorded {
            // Our own record: the SDK retried a transaction that had committed (its answer was lost).
            if r.owner == action.owner {
                return Ok(Some(Grant::Granted));
            }
            return Ok(Some(Grant::Recorded(r)));
        }
        let mut holds = Vec::new();
        if let Some(l) = lock {
            let until = number(&l, "until").and_then(from_epoch);
            if let Some(until) = until.filter(|u| *u >= now) {
                let last = text(&l, "at").as_deref().and_then(time_of).unwrap_or(now);
                let holder = text(&l, "incident").unwrap_or_default();
                if later(last, envelope.cooldown) >= now {
                    holds.push(Hold::Cooldown {
                        last,
                        until: later(last, envelope.cooldown),
                    });
                } else {
                    holds.push(Hold::InstanceBusy {
                        incident: holder,
                        until,
                    });
                }
            }
        }
        let count = |i: &Option<HashMap<String, AttributeValue>>| {
            i.as_ref()
                .and_then(|i| number(i, "n"))
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0)
        };
        if count(&daily) >= envelope.daily_cap {
            holds.push(Hold::DailyCap {
                cap: envelope.daily_cap,
            });
        }
        if count(&hourly) >= envelope.hourly_cap {
            holds.push(Hold::HourlyCap {
                cap: envelope.hourly_cap,
            });
        }
        if let Some(e) = az {
            let open = number(&e, "until")
                .and_then(from_epoch)
                .is_some_and(|u| u >= now);
            if open {
                let named = e
                    .get("instances")
                    .and_then(|v| v.as_l().ok())
                    .map(|l| l.len())
                    .unwrap_or(0);
                holds.push(Hold::AzEvent {
                    impaired: named.max(ec2ops::analyze::AZ_EVENT_INSTANCES),
                });
            }
        }
        Ok((!holds.is_empty()).then_some(Grant::Refused(holds)))
    }

    async fn get_sk(
        &self,
        pk: String,
        sk: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "GetItem", e))?;
        Ok(out.item().cloned())
    }

    /// The writes of one action, all or none: its record, the instance's lock, both caps, the instance's and the
    /// account's history entries, and (for an action in a zone) the check that no AZ event holds it.
    fn action_transaction(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
        day: &str,
        hour: &str,
    ) -> Result<Vec<TransactWriteItem>, AwsError> {
        let at = action.at;
        let instance = &action.instance_id;
        let sk = format!("{}#{}", stamp(at), action.incident_key);
        let mut items = vec![
            self.tx_put(action_record(action), Some("attribute_not_exists(pk)"))?,
            self.tx_lock(action, envelope)?,
            self.tx_counter(
                format!("cap#instance#{instance}"),
                day,
                envelope.daily_cap,
                at,
            )?,
            self.tx_counter("cap#account".into(), hour, envelope.hourly_cap, at)?,
            self.tx_put(
                item(
                    format!("instance#{instance}"),
                    sk.clone(),
                    at,
                    Duration::days(2),
                ),
                None,
            )?,
            self.tx_put(item("account".into(), sk, at, Duration::days(2)), None)?,
        ];
        if let Some(az) = &action.availability_zone {
            items.push(self.tx_no_az_event(az, at)?);
        }
        Ok(items)
    }

    /// A put of `item` in the transaction, under `condition` if any.
    fn tx_put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, AwsError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_string))
            .build()
            .map_err(|e| build_error(TRANSACT, e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The instance's lock, taken unless another incident holds it: held for the cooldown, at least the action's.
    fn tx_lock(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
    ) -> Result<TransactWriteItem, AwsError> {
        let at = action.at;
        let mut lock = item(
            format!("lock#{}", action.instance_id),
            "-".into(),
            at,
            Duration::days(2),
        );
        lock.insert("incident".into(), s(&action.incident_key));
        lock.insert(
            "until".into(),
            epoch(later(at, envelope.cooldown.max(ACTION_LOCK))),
        );
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(lock))
            .condition_expression("attribute_not_exists(pk) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", epoch(at))
            .build()
            .map_err(|e| build_error(TRANSACT, e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One more action on the counter `pk`/`sk`, refused once it has reached `cap`.
    fn tx_counter(
        &self,
        pk: String,
        sk: &str,
        cap: usize,
        at: DateTime<Utc>,
    ) -> Result<TransactWriteItem, AwsError> {
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(pk))
            .key("sk", s(sk))
            .update_expression("ADD #n :one SET #exp = :exp")
            .condition_expression("attribute_not_exists(#n) OR #n < :cap")
            .expression_attribute_names("#n", "n")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":exp", epoch(later(at, Duration::days(2))))
            .expression_attribute_values(":cap", n(i64::try_from(cap).unwrap_or(i64::MAX)))
            .build()
            .map_err(|e| build_error(TRANSACT, e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The check that no AZ event in `az` is open at `at`.
    fn tx_no_az_event(&self, az: &str, at: DateTime<Utc>) -> Result<TransactWriteItem, AwsError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(format!("azevent#{az}"))))
            .condition_expression("attribute_not_exists(pk) OR #until < :now")
            .expression_attribute_names("#until", "until")
            .expression_attribute_values(":now", epoch(at))
            .build()
            .map_err(|e| build_error(TRANSACT, e))?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

const TRANSACT: &str = "TransactWriteItems";

/// The action's own record, in progress from the start.
fn action_record(action: &ActionRecord) -> HashMap<String, AttributeValue> {
    let mut record = item(
        format!("action#{}", action.incident_key),
        "-".into(),
        action.at,
        Duration::days(2),
    );
    record.insert("instance".into(), s(&action.instance_id));
    record.insert("owner".into(), s(&action.owner));
    record.insert("action".into(), s(action.action.as_str()));
    record.insert("progress".into(), s(Progress::Started.label()));
    record
}

#[async_trait]
impl IncidentClaims for DynamoLedger {
    async fn claim(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        // A record can vanish between the steps (TTL): a few rounds settle it.
        for _ in 0..3 {
            let mut record = item(
                format!("incident#{incident_key}"),
                "-".into(),
                now,
                Duration::days(7),
            );
            record.insert("status".into(), s("IN_PROGRESS"));
            record.insert("lease".into(), epoch(lease_until));
            record.insert("attempts".into(), n(1));
            record.insert("claimant".into(), n(claimant(now)));
            if self
                .put_if(record, "attribute_not_exists(pk)", &[], &[])
                .await?
            {
                return Ok(Claim::Claimed);
            }
            if let Some(resumed) = self.take_over(incident_key, now, lease_until).await? {
                return Ok(resumed);
            }
            match self.incident(incident_key).await? {
                None => continue,
                Some(i) => {
                    return Ok(match text(&i, "status").as_deref() {
                        // Our own write, whose answer was lost (the SDK retried it, or the caller claims again
                        // after a timeout): the claim is ours.
                        Some("IN_PROGRESS") if number(&i, "claimant") == Some(claimant(now)) => {
                            match number(&i, "attempts").and_then(|a| u32::try_from(a).ok()) {
                                Some(attempt) if attempt > 1 => Claim::Resumed {
                                    attempt,
                                    first_claimed: text(&i, "at").as_deref().and_then(time_of),
                                },
                                _ => Claim::Claimed,
                            }
                        }
                        Some("IN_PROGRESS") => Claim::InProgress {
                            until: number(&i, "lease")
                                .and_then(from_epoch)
                                .unwrap_or(lease_until),
                        },
                        // COMPLETED, or a record from before the lifecycle: handled.
                        _ => Claim::Duplicate,
                    });
                }
            }
        }
        Err(AwsError::new(
            "dynamodb",
            "PutItem",
            "the incident record kept changing while it was claimed",
        ))
    }

    async fn complete(
        &self,
        incident_key: &str,
        now: DateTime<Utc>,
        completion: &Completion,
    ) -> Result<(), AwsError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("incident#{incident_key}"))))
            .update_expression(
                "SET #s = :done, #c = :at, #o = :outcome, #m = :mid, #az = :az, #exp = :exp",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#c", "completed_at")
            .expression_attribute_names("#o", "outcome")
            .expression_attribute_names("#m", "message_id")
            .expression_attribute_names("#az", "az_report")
            .expression_attribute_names("#exp", "expires_at")
            .expression_attribute_values(":done", s("COMPLETED"))
            .expression_attribute_values(":az", AttributeValue::Bool(completion.az_report))
            .expression_attribute_values(":at", s(stamp(now)))
            .expression_attribute_values(":outcome", s(&completion.outcome))
            .expression_attribute_values(":mid", s(completion.message_id.as_deref().unwrap_or("-")))
            .expression_attribute_values(":exp", epoch(later(now, Duration::days(7))))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }

    async fn completion(&self, incident_key: &str) -> Result<Option<Completion>, AwsError> {
        Ok(self.incident(incident_key).await?.and_then(|i| {
            (text(&i, "status").as_deref() == Some("COMPLETED")).then(|| Completion {
                message_id: text(&i, "message_id").filter(|m| m != "-"),
                outcome: text(&i, "outcome").unwrap_or_default(),
                // Absent in a record written before the field: not the AZ report.
                az_report: i
                    .get("az_report")
                    .and_then(|v| v.as_bool().ok())
                    .copied()
                    .unwrap_or(false),
            })
        }))
    }

    async fn release(&self, incident_key: &str, now: DateTime<Utc>) -> Result<(), AwsError> {
        // Not in progress (completed, or released already): nothing to end.
        super::conditional(
            "dynamodb",
            "UpdateItem",
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(format!("incident#{incident_key}"))))
                .update_expression("SET #lease = :past")
                .condition_expression("#s = :progress")
                .expression_attribute_names("#s", "status")
                .expression_attribute_names("#lease", "lease")
                .expression_attribute_values(":progress", s("IN_PROGRESS"))
                .expression_attribute_values(":past", epoch(later(now, Duration::seconds(-1))))
                .send()
                .await,
        )?;
        Ok(())
    }
}

#[async_trait]
impl ActionLedger for DynamoLedger {
    async fn view(
        &self,
        incident_key: &str,
        instance_id: &str,
        availability_zone: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<LedgerView, AwsError> {
        let instance =
            self.sort_keys_since(format!("instance#{instance_id}"), now - Duration::hours(24));
        let account = self.sort_keys_since("account".into(), now - Duration::hours(1));
        let az = async {
            match availability_zone {
                Some(az) => self.impairments(az, now).await,
                None => Ok(Vec::new()),
            }
        };
        let (instance, account, az, this) =
            tokio::try_join!(instance, account, az, self.recorded_action(incident_key))?;
        let mut instance_actions: Vec<DateTime<Utc>> =
            instance.iter().filter_map(|k| time_of(k)).collect();
        instance_actions.sort_by(|a, b| b.cmp(a));
        Ok(LedgerView {
            this_incident_action: this.map(|r| r.at),
            instance_actions,
            account_actions_last_hour: account.len(),
            az_impaired: ec2ops::ports::others_in_az(&az, instance_id),
            same_instance: ec2ops::ports::same_instance(&az, instance_id, incident_key),
        })
    }

    async fn record_action(
        &self,
        action: &ActionRecord,
        envelope: &Envelope,
    ) -> Result<Grant, AwsError> {
        // A cap of 0 refuses every action; the counter's condition cannot express it for an absent counter.
        let zero = ec2ops::remediation::zero_cap_holds(envelope);
        if !zero.is_empty() {
            return Ok(Grant::Refused(zero));
        }
        let day = action.at.format("%Y-%m-%d").to_string();
        let hour = action.at.format("%Y-%m-%dT%H").to_string();
        for attempt in 0..4u32 {
            let items = self.action_transaction(action, envelope, &day, &hour)?;
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await
            {
                Ok(_) => return Ok(Grant::Granted),
                Err(e) => {
                    let err = aws_error("dynamodb", "TransactWriteItems", e);
                    if err.kind != ErrorKind::Conflict {
                        return Err(err);
                    }
                    if let Some(grant) = self.why_refused(action, envelope, &day, &hour).await? {
                        return Ok(grant);
                    }
                    // A conflict with a concurrent transaction on the same items: back off and try again.
                    let jitter = u64::from(action.at.timestamp_subsec_millis() % 50);
                    tokio::time::sleep(std::time::Duration::from_millis(
                        50 * u64::from(attempt + 1) + jitter,
                    ))
                    .await;
                }
            }
        }
        Err(AwsError::new(
            "dynamodb",
            "TransactWriteItems",
            "the action transaction kept conflicting with concurrent writers",
        )
        .with_code("TransactionConflict", ErrorKind::Conflict)
        .retryable(true))
    }

    async fn progress(&self, incident_key: &str, progress: &Progress) -> Result<(), AwsError> {
        let detail = match progress {
            Progress::Started => "-".to_string(),
            Progress::Called { request_id } => request_id.clone(),
            Progress::Failed { error } => error.clone(),
        };
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("action#{incident_key}"))))
            .update_expression("SET #p = :p, #d = :d")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#p", "progress")
            .expression_attribute_names("#d", "detail")
            .expression_attribute_values(":p", s(progress.label()))
            .expression_attribute_values(":d", s(detail))
            .send()
            .await
            .map_err(|e| aws_error("dynamodb", "UpdateItem", e))?;
        Ok(())
    }

    async fn recorded_action(
        &self,
        incident_key: &str,
    ) -> Result<Option<RecordedAction>, AwsError> {
        let Some(i) = self.get(format!("action#{incident_key}")).await? else {
            return Ok(None);
        };
        let at = text(&i, "at")
            .as_deref()
            .and_then(time_of)
            .unwrap_or_default();
        let detail = text(&i, "detail").unwrap_or_default();
        let progress = match text(&i, "progress").as_deref() {
            Some("called") => Progress::Called { request_id: detail },
            Some("failed") => Progress::Failed { error: detail },
            _ => Progress::Started,
        };
        let action = match text(&i, "action").as_deref() {
            Some("stop-start") => ActionKind::StopStart,
            _ => ActionKind::Reboot,
        };
        Ok(Some(RecordedAction {
            owner: text(&i, "owner").unwrap_or_default(),
            instance_id: text(&i, "instance").unwrap_or_default(),
            at,
            action,
            progress,
        }))
    }
}

#[async_trait]
impl ImpairmentLog for DynamoLedger {
    async fn impaired_noted(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AwsError> {
        // TTL deletion is lazy: an expired note counts as absent. A note without a readable time (written before the
        // time was read back) counts as written an hour before it expires.
        Ok(self
            .get(format!("impaired#{instance_id}#{check}"))
            .await?
            .and_then(|i| {
                let expires = number(&i, "expires_at")?;
                (expires >= now.timestamp()).then(|| {
                    text(&i, "at")
                        .as_deref()
                        .and_then(time_of)
                        .or_else(|| {
                            DateTime::from_timestamp(expires, 0).map(|e| e - Duration::hours(1))
                        })
                        .unwrap_or(now)
                })
            }))
    }

    async fn note_impaired(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        self.put(item(
            format!("impaired#{instance_id}#{check}"),
            "-".into(),
            now,
            Duration::hours(1),
        ))
        .await
    }

    async fn record_impairment(
        &self,
        availability_zone: &str,
        impairment: &Impairment,
    ) -> Result<(), AwsError> {
        let mut i = item(
            format!("az#{availability_zone}"),
            format!(
                "{}#{}#{}",
                stamp(impairment.at),
                impairment.instance_id,
                impairment.check
            ),
            impairment.at,
            Duration::days(1),
        );
        i.insert("incident".into(), s(&impairment.incident_key));
        self.put(i).await
    }

    async fn impairments(
        &self,
        availability_zone: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Impairment>, AwsError> {
        let items = self
            .since(format!("az#{availability_zone}"), now - AZ_WINDOW)
            .await?;
        Ok(items
            .iter()
            .filter_map(|i| {
                let sk = text(i, "sk")?;
                let mut parts = sk.splitn(3, '#');
                let at = time_of(parts.next()?)?;
                Some(Impairment {
                    instance_id: parts.next()?.to_string(),
                    check: parts.next().unwrap_or_default().to_string(),
                    incident_key: text(i, "incident").unwrap_or_default(),
                    at,
                })
            })
            .collect())
    }

    async fn declare_az_event(
        &self,
        availability_zone: &str,
        incident_key: &str,
        instances: &[String],
        now: DateTime<Utc>,
    ) -> Result<AzDeclaration, AwsError> {
        let pk = format!("azevent#{availability_zone}");
        let mut event = item(pk.clone(), "-".into(), now, Duration::days(1));
        event.insert("incident".into(), s(incident_key));
        event.insert("until".into(), epoch(later(now, AZ_WINDOW)));
        event.insert(
            "instances".into(),
            AttributeValue::L(instances.iter().map(s).collect()),
        );
        if self
            .put_if(
                event,
                "attribute_not_exists(pk) OR #until < :now",
                &[(":now", epoch(now))],
                &[("#until", "until")],
            )
            .await?
        {
            return Ok(AzDeclaration::Declared);
        }
        let existing = self.get(pk).await?.unwrap_or_default();
        let by = text(&existing, "incident").unwrap_or_default();
        if by == incident_key {
            return Ok(AzDeclaration::Declared);
        }
        let named = existing
            .get("instances")
            .and_then(|v| v.as_l().ok())
            .map(|l| l.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
            .unwrap_or_default();
        Ok(AzDeclaration::Covered { by, named })
    }
}

/// The key of an item with no sort key of its own (`sk` = `-`).
fn key(pk: String) -> HashMap<String, AttributeValue> {
    super::attributes::key(pk, "-")
}
