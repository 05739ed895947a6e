//! The outbox: the one place a message leaves ec2ops. Every kind of message — an incident's report, a storm window's
//! digest, a verification, a recover's follow-up, the heartbeat — is sent by [`Outbox::send`], which takes a slot of
//! the publish gate the way its [`Gate`] says and publishes under a deadline carved from the invocation's budget.
//! Whether a report goes out at all or into a digest is decided before, in [`super::storm::deliver`].

use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use crate::budget::{within, Budget};
use crate::config::Settings;
use crate::message::SnsMessage;
use crate::ports::{AwsError, ErrorKind, ReportPublisher};
use crate::storm::{DigestBuffer, IncidentLog, PublishGate};

use super::{Responder, CALL_TIMEOUT};

/// The longest one Publish call may take.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(10);

/// How a message takes its slot of the publish gate (the rate its subscribers see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Gate {
    /// The slot was taken already (a report the gate admitted), or the message goes elsewhere than the report topic
    /// (the heartbeat on its operations topic).
    Taken,
    /// Wait at most [`super::storm::SLOT_WAIT`], then go anyway: a message that goes out on its own (named for the
    /// logs).
    Bounded(&'static str),
    /// Wait while the budget allows; no slot before the deadline is a retryable `PublishRateExceeded` (the digest,
    /// which nothing else would carry).
    UntilDeadline,
}

/// Where messages go, and the gate they pass.
#[derive(Clone, Copy)]
pub(super) struct Outbox<'a> {
    pub publisher: &'a dyn ReportPublisher,
    pub storm: Option<&'a Storm>,
    pub settings: &'a Settings,
}

impl Outbox<'_> {
    /// Publish `message` to `topic`: its message id. `reserve` is the budget kept back for what must follow the
    /// publish (the incident's completion).
    pub(super) async fn send(
        &self,
        topic: &str,
        message: &SnsMessage,
        gate: Gate,
        reserve: Duration,
        budget: &Budget,
    ) -> Result<String, AwsError> {
        match gate {
            Gate::Taken => {}
            Gate::Bounded(what) => slot_or_go(self.storm, self.settings, budget, what).await,
            Gate::UntilDeadline => wait_for_slot(self.storm, self.settings, budget).await?,
        }
        let id = self.post(topic, message, reserve, budget).await?;
        if let Some(paging) = pages(self.settings, topic, message) {
            // The report is out on its topic (the record, the chat, the approval buttons); the page is a copy. A
            // failed copy is logged, never a failed incident: a retry would publish the report again.
            if let Err(e) = self.post(paging, message, reserve, budget).await {
                warn!(topic = paging, code = ?e.code, error = %e, "page not published to the paging topic");
            }
        }
        Ok(id)
    }

    /// The one Publish call, under a deadline carved from the budget.
    async fn post(
        &self,
        topic: &str,
        message: &SnsMessage,
        reserve: Duration,
        budget: &Budget,
    ) -> Result<String, AwsError> {
        within(
            budget.limit_reserved(PUBLISH_TIMEOUT, reserve),
            "sns",
            "Publish",
            self.publisher.publish(topic, message),
        )
        .await
    }
}

/// The paging topic an urgent message is copied to, when one is configured (and is not where it went already). The
/// heartbeat is never urgent: its own topic stays its own.
pub(super) fn pages<'a>(
    settings: &'a Settings,
    topic: &str,
    message: &SnsMessage,
) -> Option<&'a str> {
    settings
        .paging_topic_arn
        .as_deref()
        .filter(|p| message.urgent && *p != topic)
}

impl Responder {
    /// The outbox to the report topic, and the topic (`None` without a delivery).
    pub(super) fn outbox(&self) -> Option<(Outbox<'_>, &str)> {
        let d = self.delivery.as_ref()?;
        let outbox = Outbox {
            publisher: &*d.publisher,
            storm: self.storm.as_ref(),
            settings: &self.settings,
        };
        Some((outbox, d.topic_arn.as_str()))
    }
}

/// The storm ports; without them every report is published as it comes.
#[derive(Clone)]
pub struct Storm {
    pub gate: Arc<dyn PublishGate>,
    pub buffer: Arc<dyn DigestBuffer>,
    /// The look-back log `ec2ops incidents` reads.
    pub log: Option<Arc<dyn IncidentLog>>,
    /// This process's own gate, for when the shared one cannot be reached.
    pub local: Arc<LocalGate>,
}

impl Storm {
    /// One store that keeps all three: the gate, the digest buffers and the incident log.
    pub fn of<S>(store: Arc<S>) -> Self
    where
        S: PublishGate + DigestBuffer + IncidentLog + 'static,
    {
        Storm {
            gate: store.clone(),
            buffer: store.clone(),
            log: Some(store),
            local: Arc::default(),
        }
    }
}

/// A publish must start in the second whose slot it took, and not in its last [`SLOT_MARGIN_MS`]: so publishes
/// *started* in any one second never exceed the gate, whatever the ledger's latency.
const SLOT_MARGIN_MS: u32 = 100;

/// Take a slot of the current second. A slot granted too late to use in its second is given up (it still counts,
/// which only makes the gate stricter) and the next second is tried, twice at most.
pub(super) async fn slot(
    gate: &dyn PublishGate,
    per_second: u32,
    budget: &Budget,
) -> Result<bool, AwsError> {
    for _ in 0..3 {
        let now = budget.wall_now();
        if now.timestamp_subsec_millis() >= 1000 - SLOT_MARGIN_MS {
            let ms = 1000 - now.timestamp_subsec_millis().min(999);
            tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
        }
        let second = budget.wall_now().timestamp();
        let admitted = within(
            budget.limit(CALL_TIMEOUT),
            "dynamodb",
            "UpdateItem",
            gate.admit(second, per_second),
        )
        .await?;
        if !admitted {
            return Ok(false);
        }
        let after = budget.wall_now();
        if after.timestamp() == second && after.timestamp_subsec_millis() < 1000 - SLOT_MARGIN_MS {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How long a message that must go out on its own waits for a slot of the gate before it goes without one.
pub const SLOT_WAIT: Duration = Duration::from_secs(10);

/// Wait up to [`SLOT_WAIT`] for a slot of the gate, then go: for messages that must be published on their own — the
/// follow-ups of an incident (its thread), the AZ report, a report whose claim failed (it may not defer). The rate
/// holds whenever the gate answers in time; the message never waits longer than that.
pub async fn slot_or_go(storm: Option<&Storm>, settings: &Settings, budget: &Budget, what: &str) {
    match tokio::time::timeout(SLOT_WAIT, wait_for_slot(storm, settings, budget)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => warn!(what, error = %e, "no publish slot: publishing anyway"),
        Err(_) => warn!(what, "no publish slot within 10 s: publishing anyway"),
    }
}

/// Wait for a slot of the gate while the budget allows (one try per second): for messages that must not be deferred
/// to a digest — the digest itself, and (bounded by [`slot_or_go`]) the messages that go out on their own. Without storm ports, or with the gate unreachable, it returns at once (a message matters more than the
/// rate). No slot before the budget runs short is a retryable `PublishRateExceeded`: the delivery is retried, the
/// rate holds.
pub async fn wait_for_slot(
    storm: Option<&Storm>,
    settings: &Settings,
    budget: &Budget,
) -> Result<(), AwsError> {
    let Some(storm) = storm else {
        return Ok(());
    };
    loop {
        match slot(&*storm.gate, settings.storm.per_second, budget).await {
            Ok(true) => return Ok(()),
            Ok(false) if budget.spendable() > Duration::from_secs(12) => {
                let ms = 1000 - u64::from(budget.wall_now().timestamp_subsec_millis()).min(999);
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Ok(false) => {
                return Err(
                    AwsError::new("sns", "Publish", "no publish slot before the deadline")
                        .with_code("PublishRateExceeded", ErrorKind::Throttled)
                        .retryable(true),
                )
            }
            Err(e) => {
                warn!(error = %e, "publish gate unavailable: publishing within this process's rate");
                storm.local.slot(settings.storm.per_second, budget).await;
                return Ok(());
            }
        }
    }
}

/// The fallback when the shared gate cannot be reached (the ledger failing): this process's own gate, the same number
/// of publishes per UTC second. It cannot bound what other concurrent invocations publish — only the shared gate
/// does — but it keeps one warm instance, which handles incidents one after another or many at once (the CLI, the
/// work queue), from publishing a burst. One per [`Storm`], which the function builds once per process.
#[derive(Debug, Default)]
pub struct LocalGate(std::sync::Mutex<(i64, u32)>);

impl LocalGate {
    /// Take a slot, waiting for a later second while this one is full (at most 3 seconds: then go).
    pub async fn slot(&self, per_second: u32, budget: &Budget) {
        for _ in 0..3 {
            let now = budget.wall_now();
            let second = now.timestamp();
            let granted = match self.0.lock() {
                Ok(mut g) => {
                    if g.0 != second {
                        *g = (second, 0);
                    }
                    if g.1 < per_second {
                        g.1 += 1;
                        true
                    } else {
                        false
                    }
                }
                // A poisoned lock: a panic elsewhere held it; the gate is only a courtesy, go.
                Err(_) => true,
            };
            if granted {
                return;
            }
            let ms = 1000 - u64::from(now.timestamp_subsec_millis()).min(999);
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_urgent_message_is_copied_to_the_paging_topic_when_one_is_set_and_nothing_else_is() {
        let message = |urgent| SnsMessage {
            subject: "s".into(),
            message: "{}".into(),
            urgent,
        };
        let mut settings = Settings::default();
        assert_eq!(pages(&settings, "reports", &message(true)), None);
        settings.paging_topic_arn = Some("paging".into());
        assert_eq!(pages(&settings, "reports", &message(true)), Some("paging"));
        assert_eq!(pages(&settings, "reports", &message(false)), None);
        assert_eq!(pages(&settings, "operations", &message(false)), None);
        assert_eq!(
            pages(&settings, "paging", &message(true)),
            None,
            "not twice"
        );
    }
}
