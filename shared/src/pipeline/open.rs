//! Opening an incident: round one of the gathering beside the incident's claim (no extra round trip), and — unless the
//! claim says another delivery has it — round two beside the ledger's view of the instance and the early record of a
//! status-check failure. The gathering itself takes no ledger: each ledger call is made here, beside it.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::{Responder, CALL_TIMEOUT};
use crate::budget::{within, Budget};
use crate::facts::LedgerView;
use crate::facts::{Facts, Source};
use crate::gather::{deadline, first_round, second_round, Gathering, Limits};
use crate::model::AlarmChange;
use crate::ports::{AwsError, Claim, Impairment};

/// An incident as the claim and the gathering left it.
pub(super) struct Opened {
    /// The alarm as analysed (a fleet alarm that names no instance: its top instance).
    pub subject: AlarmChange,
    /// `None` when the claim stopped the gathering before round two (a duplicate, or held by another delivery).
    pub facts: Option<Facts>,
    /// The claim's answer (`None` without a ledger).
    pub claim: Option<Result<Claim, AwsError>>,
    /// The status-check failure was recorded in the AZ's impairment log beside round two.
    pub recorded_early: bool,
}

impl Responder {
    pub(super) async fn open(
        &self,
        change: &AlarmChange,
        key: &str,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Opened {
        let settings = &*self.settings;
        let readers = self.readers();
        let limits = Limits {
            source: settings.source_timeout,
            diagnostics: settings.diagnostics_timeout,
            budget: Some(*budget),
        };
        let (first, claim) = tokio::join!(
            first_round(change, &readers, settings, now, limits),
            self.claim(key, now, budget)
        );
        if matches!(claim, Some(Ok(Claim::Duplicate | Claim::InProgress { .. }))) {
            return Opened {
                subject: first.subject().clone(),
                facts: None,
                claim,
                recorded_early: false,
            };
        }
        let early = self.early_impairment(change, &first, key, now);
        let view = first.instance_id().map(|id| {
            (
                id.to_string(),
                first.instance().and_then(|i| i.availability_zone.clone()),
            )
        });
        let ((subject, mut facts), ledger, recorded_early) = tokio::join!(
            second_round(first, &readers, settings, limits),
            self.ledger_view(key, view, now, budget),
            self.record_early(early, budget)
        );
        if let Some(ledger) = ledger {
            facts.ledger = ledger;
        }
        Opened {
            subject,
            facts: Some(facts),
            claim,
            recorded_early,
        }
    }

    /// The incident read again, without a claim: both rounds and the ledger's view, as [`Responder::open`] reads them
    /// (an approved proposal decides again on these fresh facts).
    pub(super) async fn reread(
        &self,
        change: &AlarmChange,
        key: &str,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> (AlarmChange, Facts) {
        let settings = &*self.settings;
        let readers = self.readers();
        let limits = Limits {
            source: settings.source_timeout,
            diagnostics: settings.diagnostics_timeout,
            budget: Some(*budget),
        };
        let first = first_round(change, &readers, settings, now, limits).await;
        let view = first.instance_id().map(|id| {
            (
                id.to_string(),
                first.instance().and_then(|i| i.availability_zone.clone()),
            )
        });
        let ((subject, mut facts), ledger) = tokio::join!(
            second_round(first, &readers, settings, limits),
            self.ledger_view(key, view, now, budget)
        );
        if let Some(ledger) = ledger {
            facts.ledger = ledger;
        }
        (subject, facts)
    }

    /// The incident's claim (`None` without a ledger). A claim that timed out or lost its answer may still have been
    /// written: claimed again (same instant), the ledger recognises its own write. Without this, the write would hold
    /// the incident for the lease while this delivery reported it without owning it, and nobody would record it
    /// complete.
    pub(super) async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Option<Result<Claim, AwsError>> {
        let ledger = self.ledger.as_ref()?;
        let claim = || {
            within(
                budget.limit(CALL_TIMEOUT),
                "dynamodb",
                "PutItem",
                ledger.claims.claim(key, now, budget.lease_until()),
            )
        };
        let mut r = claim().await;
        if matches!(&r, Err(e) if e.retryable) && budget.spendable() > 2 * CALL_TIMEOUT {
            warn!(incident = %key, "claim failed or timed out: claiming again");
            r = claim().await;
        }
        Some(r)
    }

    /// The ledger's view of the instance (`instance`: its id and AZ), read beside round two: `None` when the
    /// incident names no instance.
    async fn ledger_view(
        &self,
        key: &str,
        instance: Option<(String, Option<String>)>,
        now: DateTime<Utc>,
        budget: &Budget,
    ) -> Option<Source<LedgerView>> {
        let (id, az) = instance?;
        Some(match &self.ledger {
            None => Source::Unavailable(crate::source::Gap::NoLedger),
            Some(l) => {
                let limit = budget.limit(self.settings.source_timeout);
                deadline(limit, l.actions.view(key, &id, az.as_deref(), now)).await
            }
        })
    }

    /// A status-check failure to record as soon as round one names the instance's AZ (`None`: nothing to record).
    /// Only an alarm on the instance itself whose event shows the failure, on a running instance: a stopped
    /// instance publishes no status checks, so its alarm fired on missing data, not on a failure.
    fn early_impairment(
        &self,
        change: &AlarmChange,
        first: &Gathering,
        key: &str,
        now: DateTime<Utc>,
    ) -> Option<(String, Impairment)> {
        self.ledger.as_ref()?;
        if first.focused() || !crate::remediation::check_failure_shown_by_event(change) {
            return None;
        }
        let i = first.instance().filter(|i| i.is_running())?;
        let impairment = Impairment {
            instance_id: i.id.clone(),
            check: change.primary_metric()?.name.clone(),
            incident_key: key.to_string(),
            at: now,
        };
        Some((i.availability_zone.clone()?, impairment))
    }

    /// Record the failure in the AZ's impairment log, beside round two: concurrent incidents of one AZ then see each
    /// other however long the rest of their gathering takes. Whether it was recorded (the settle step then does not
    /// record it again).
    async fn record_early(&self, early: Option<(String, Impairment)>, budget: &Budget) -> bool {
        let (Some((az, impairment)), Some(ledger)) = (early, &self.ledger) else {
            return false;
        };
        let limit = budget.limit(self.settings.source_timeout);
        match tokio::time::timeout(
            limit,
            ledger.impairments.record_impairment(&az, &impairment),
        )
        .await
        {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                warn!(error = %err, "could not record the impairment early");
                false
            }
            Err(_) => {
                warn!("recording the impairment timed out");
                false
            }
        }
    }
}
