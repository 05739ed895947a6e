//! The incident's record in the ledger: what the claim makes of this delivery, the settle of a status-check incident and its AZ event, the completion, and the late claim of a report
//! that went out without one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::{storm, HandleError, Outcome, Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::config::Settings;
use crate::facts::{Facts, Source};
use crate::model::AlarmChange;
use crate::ports::{AwsError, AzDeclaration, Claim, Completion, Impairment, IncidentClaims};

/// What the late claim of a report that went out without its claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Late {
    /// Claimed now: this delivery records the incident.
    Recorded,
    /// Completed by another delivery: nothing to record.
    NotRecorded,
    /// The ledger failed: a redelivery records it.
    Failed,
    /// An interrupted delivery's incident, whose lease this delivery released: a later delivery must resume it.
    LeftToResume,
    /// Another delivery holds the incident until then: the event is delivered again after it.
    HeldElsewhere(DateTime<Utc>),
}

/// What an incident of an AZ event is to that event's one report.
pub(super) enum AzPart {
    /// Its own report: it declared the event (the AZ report, published without deferral), the AZ report naming it
    /// is not out, or the event could not be declared.
    Own,
    /// It declared the event: its report is the AZ report, published on its own (waiting briefly for a gate slot).
    Declared,
    /// Named by the AZ report, which is out: completed without a report of its own.
    /// (`recorded`: whether its record was completed; if not, a marked redelivery completes it.)
    Covered {
        outcome: Box<Outcome>,
        recorded: bool,
    },
    /// Part of an event another incident declared, not named by its report: listed in the storm window's digest.
    Joins,
}

impl Responder {
    /// What the claim makes of this delivery: `None` for a duplicate, an error while another delivery holds the
    /// incident, else whether this delivery owns it (may act) and the notices the report carries about it.
    pub(super) fn ownership(
        &self,
        key: &str,
        claim: &Option<Result<Claim, AwsError>>,
    ) -> Result<Option<(bool, Vec<String>)>, HandleError> {
        let mut notices = Vec::new();
        let owned = match claim {
            Some(Ok(Claim::Duplicate)) => {
                info!(incident = %key, "duplicate delivery: already completed");
                return Ok(None);
            }
            Some(Ok(Claim::InProgress { until })) => {
                info!(incident = %key, %until, "incident in progress in another delivery");
                return Err(HandleError::InProgress {
                    incident_key: key.to_string(),
                    until: *until,
                });
            }
            Some(Ok(Claim::Claimed)) => true,
            Some(Ok(Claim::Resumed {
                attempt,
                first_claimed,
            })) => {
                warn!(incident = %key, attempt, "resuming an interrupted incident");
                notices.push(resumed_notice(*attempt, *first_claimed, &self.settings));
                true
            }
            Some(Err(e)) => {
                warn!(incident = %key, error = %e, "ledger unavailable: reporting without acting");
                notices.push(unclaimed_notice(e, &self.settings));
                false
            }
            None => false,
        };
        Ok(Some((owned, notices)))
    }

    /// An AZ event makes one report: the first incident to declare it publishes it, the others it names are
    /// recorded as covered by it (`Some`, the incident completed without a report of its own).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn covered_by_az_event(
        &self,
        change: &AlarmChange,
        facts: &Facts,
        assessment: &crate::analyze::Assessment,
        key: &str,
        az: &str,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> AzPart {
        let (Some(ledger), Some(id)) = (self.ledger.as_ref(), change.primary_instance()) else {
            return AzPart::Own;
        };
        let mut named = facts
            .ledger
            .get()
            .map(|v| v.az_impaired.clone())
            .unwrap_or_default();
        named.push(id.to_string());
        named.sort();
        named.dedup();
        let declared = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "PutItem",
            ledger.impairments.declare_az_event(az, key, &named, now),
        )
        .await;
        match declared {
            Ok(AzDeclaration::Covered { by, named })
                if named.iter().any(|n| n == id)
                    && self.published(&*ledger.claims, &by, budget).await =>
            {
                self.record_covered(change, assessment, key, by, now, budget)
                    .await
            }
            // Named by the AZ report, which is not out (yet, or it failed): its own report, rather than rely on one
            // that may never arrive.
            Ok(AzDeclaration::Covered { named, .. }) if named.iter().any(|n| n == id) => {
                AzPart::Own
            }
            // Declared by another incident whose report does not name this instance (it failed later, or the
            // alarm is on another metric of an impaired instance): part of the same event, so it goes to the storm
            // window's digest, grouped under its AZ, instead of a second AZ-wide report.
            Ok(AzDeclaration::Covered { by, .. }) => {
                info!(incident = %key, by = %by, "joins the AZ event declared by another incident: digest");
                AzPart::Joins
            }
            Ok(AzDeclaration::Declared) => AzPart::Declared,
            Err(e) => {
                warn!(incident = %key, error = %e, "could not declare the AZ event");
                AzPart::Own
            }
        }
    }

    /// Named by the AZ report, which is out: completed without a report of its own, and logged as covered by it.
    async fn record_covered(
        &self,
        change: &AlarmChange,
        assessment: &crate::analyze::Assessment,
        key: &str,
        by: String,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> AzPart {
        info!(incident = %key, by = %by, "covered by the AZ event's report");
        let done = Completion {
            message_id: None,
            outcome: format!("covered by the AZ-EVENT report of {by}"),
            az_report: false,
        };
        let recorded = self.complete(key, now, &done, budget).await;
        self.log_incident(
            storm::covered(change, key, assessment, &by, self.settings.language, now),
            budget,
        )
        .await;
        AzPart::Covered {
            outcome: Box::new(Outcome::Covered {
                incident_key: key.to_string(),
                by,
            }),
            recorded,
        }
    }

    /// Tell the sweep a status-check failure is reported, once its report is out.
    pub(super) async fn note_reported(
        &self,
        change: &AlarmChange,
        facts: &Facts,
        now: DateTime<Utc>,
        budget: &Budget,
    ) {
        let (Some(ledger), Some(i), true) = (
            &self.ledger,
            facts.found_instance(),
            is_status_check_alarm(change, facts),
        ) else {
            return;
        };
        let Some(check) = change.primary_metric().map(|m| m.name.clone()) else {
            return;
        };
        let noted = within(
            budget.limit_reserved(CALL_TIMEOUT, Duration::ZERO),
            "dynamodb",
            "PutItem",
            ledger.impairments.note_impaired(&i.id, &check, now),
        )
        .await;
        if let Err(e) = noted {
            warn!(error = %e, "could not note the impairment for the sweep");
        }
    }

    /// Whether incident `key` completed with a report that reached readers (published, or in a digest), waiting for it while the budget allows (the incident
    /// that declared an AZ event is usually publishing at that moment). `false` makes the caller publish its own.
    pub(super) async fn published(
        &self,
        ledger: &dyn IncidentClaims,
        key: &str,
        budget: &Budget,
    ) -> bool {
        let until = tokio::time::Instant::now() + budget.spendable().min(Duration::from_secs(20));
        loop {
            let done = within(
                budget.limit(CALL_TIMEOUT),
                "dynamodb",
                "GetItem",
                ledger.completion(key),
            )
            .await;
            match done {
                // The AZ report published (never deferred to a digest). A report of the declaring incident that is not
                // the AZ report (a resumed delivery that could not read the instance's AZ) names nobody else.
                Ok(Some(c)) => return c.message_id.is_some() && c.az_report,
                Ok(None) if tokio::time::Instant::now() < until => {
                    tokio::time::sleep(Duration::from_millis(500)).await
                }
                Ok(None) | Err(_) => return false,
            }
        }
    }

    /// A claim after the report went out without one ([`Responder::respond`]): whether the incident is this delivery's
    /// to record now (a fresh claim, or its own earlier write). An expired lease of another delivery is not taken.
    pub(super) async fn claim_late(&self, key: &str, now: DateTime<Utc>, budget: &Budget) -> Late {
        let Some(ledger) = &self.ledger else {
            return Late::NotRecorded;
        };
        let r = within(
            budget.limit_reserved(CALL_TIMEOUT, Duration::ZERO),
            "dynamodb",
            "PutItem",
            ledger.claims.claim(key, now, budget.lease_until()),
        )
        .await;
        match r {
            Ok(Claim::Claimed) => {
                info!(incident = %key, "claimed after its report went out: recorded");
                Late::Recorded
            }
            // An earlier delivery's expired lease: it may have acted. This delivery decided without the record, so it
            // must not complete it: the lease ends at once, and this delivery ends so that a next one comes to resume
            // and reconcile (a redelivery is scheduled, or the invocation fails retryably).
            Ok(Claim::Resumed { .. }) => {
                warn!(incident = %key, "an interrupted delivery's incident: released for a redelivery to resume");
                self.release(key, now, budget).await;
                Late::LeftToResume
            }
            // Another delivery holds it (perhaps a dead one): the event is delivered again after its lease, to find it
            // completed (a duplicate) or to resume it.
            Ok(Claim::InProgress { until }) => {
                info!(incident = %key, %until, "held by another delivery: redelivered after its lease");
                Late::HeldElsewhere(until)
            }
            Ok(_) => Late::NotRecorded,
            Err(e) => {
                warn!(incident = %key, error = %e, "the incident could not be recorded after its report went out");
                Late::Failed
            }
        }
    }

    /// End this delivery's lease on the incident at once, so that the next delivery resumes it without waiting.
    pub(super) async fn release(&self, key: &str, now: DateTime<Utc>, budget: &Budget) {
        let Some(ledger) = &self.ledger else {
            return;
        };
        let released = within(
            budget.limit_reserved(CALL_TIMEOUT, Duration::ZERO),
            "dynamodb",
            "UpdateItem",
            ledger.claims.release(key, now),
        )
        .await;
        if let Err(e) = released {
            warn!(incident = %key, error = %e, "could not release the claim; the next delivery waits for the lease to expire");
        }
    }

    /// Complete the incident record, trying three times: whether it is recorded. A record left `IN_PROGRESS` would
    /// be resumed (and its report repeated) by a later delivery, or stay in progress when none comes; the caller ends
    /// the delivery retryably when all three fail.
    pub(super) async fn complete(
        &self,
        key: &str,
        now: DateTime<Utc>,
        completion: &Completion,
        budget: &Budget,
    ) -> bool {
        let Some(ledger) = &self.ledger else {
            return true;
        };
        for attempt in 1..=3 {
            let r = within(
                budget.limit_reserved(CALL_TIMEOUT, Duration::ZERO),
                "dynamodb",
                "UpdateItem",
                ledger.claims.complete(key, now, completion),
            )
            .await;
            match r {
                Ok(()) => return true,
                Err(e) => {
                    warn!(incident = %key, attempt, error = %e, "could not complete the incident record")
                }
            }
        }
        false
    }

    /// For a status-check ALARM on an instance in a known AZ: record the impairment, wait `settle` so that
    /// concurrent incidents (an AZ event, other checks of the same instance) are recorded too, then re-read the AZ's
    /// impairments into the ledger view. Returns the AZ.
    pub(super) async fn settle_status_check(
        &self,
        change: &AlarmChange,
        facts: &mut Facts,
        key: &str,
        now: DateTime<Utc>,
        budget: &Budget,
        recorded_early: bool,
    ) -> Option<String> {
        let ledger = &*self.ledger.as_ref()?.impairments;
        if !is_status_check_alarm(change, facts) {
            return None;
        }
        let instance = facts.found_instance()?;
        let az = instance.availability_zone.clone()?;
        let check = change.primary_metric()?.name.clone();
        let impairment = Impairment {
            instance_id: instance.id.clone(),
            check,
            incident_key: key.to_string(),
            at: now,
        };
        if !recorded_early {
            let recorded = within(
                budget.limit(CALL_TIMEOUT),
                "dynamodb",
                "PutItem",
                ledger.record_impairment(&az, &impairment),
            )
            .await;
            if let Err(e) = recorded {
                warn!(error = %e, "could not record the impairment");
                return Some(az);
            }
        }
        let wait = self.settings.settle.min(budget.spendable() / 2);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let read = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "Query",
            ledger.impairments(
                &az,
                now + chrono::Duration::from_std(wait).unwrap_or_default(),
            ),
        )
        .await;
        reread_into(facts, read, &impairment.instance_id, key);
        Some(az)
    }
}

/// The AZ's impairments, re-read after the settle delay, into the ledger view: the others in the AZ and this
/// instance's other checks. Unreadable, the view is unavailable (nothing is acted on).
fn reread_into(
    facts: &mut Facts,
    read: Result<Vec<Impairment>, crate::ports::AwsError>,
    id: &str,
    key: &str,
) {
    match (read, &mut facts.ledger) {
        (Ok(list), Source::Available(view)) => {
            view.az_impaired = crate::ports::others_in_az(&list, id);
            view.same_instance = crate::ports::same_instance(&list, id, key);
        }
        (Ok(_), Source::Unavailable(_)) => {}
        (Err(e), _) => {
            warn!(error = %e, "could not re-read the AZ's impairments");
            facts.ledger = Source::Unavailable(crate::source::Gap::NotReread(Box::new(e.gap())));
        }
    }
}

/// A corroborated status-check ALARM (alarm, sweep): the incidents that take part in AZ-EVENT and same-instance
/// grouping, and that the sweep's note records ([`crate::remediation::check_failure_corroborated`]).
pub(super) fn is_status_check_alarm(change: &AlarmChange, facts: &Facts) -> bool {
    crate::remediation::check_failure_corroborated(change, facts)
}

pub(super) fn resumed_notice(
    attempt: u32,
    first: Option<DateTime<Utc>>,
    settings: &Settings,
) -> String {
    let first = first
        .map(|t| crate::report::text::when_in(t, settings.time_zone, settings.language))
        .unwrap_or_else(|| "-".into());
    match settings.language {
        crate::config::Language::Ko => format!(
            "재개된 incident: 이전 전달({first} 시작)이 완료 전에 중단됨 — 이 전달(시도 {attempt})이 이어서 보고합니다. 같은 thread에 이전 알림이 있을 수 있습니다."
        ),
        crate::config::Language::En => format!(
            "Resumed incident: an earlier delivery (started {first}) was interrupted before it completed; this delivery (attempt {attempt}) takes over. An earlier notice may exist in this thread."
        ),
    }
}

pub(super) fn unclaimed_notice(e: &AwsError, settings: &Settings) -> String {
    match settings.language {
        crate::config::Language::Ko => format!(
            "ledger에 incident를 기록하지 못함 ({e}): 자동 조치 없음, 중복 알림 가능"
        ),
        crate::config::Language::En => format!(
            "The incident could not be recorded in the ledger ({e}): nothing is acted on, and a duplicate notice is possible"
        ),
    }
}
