//! Faults at every port call: each call of a wrapped port draws, from the run's seeded generator, success, an error,
//! no answer, a write carried out whose answer is lost, latency, or the death of the invocation just before or just
//! after the call. Every draw is written to the run's trace, so a failing seed reads as a story.

use crate::model::InstanceState;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::clock::Clock;
use super::rng::Rng;
use crate::facts::{
    Impaired, InstanceLookup, SecurityGroupFacts, StatusFacts, TypeFacts, VolumeFacts,
};
use crate::message::SnsMessage;
use crate::ports::{
    ActionLedger, ActionRecord, AwsError, AzDeclaration, CallResult, Claim, Completion, ErrorKind,
    Grant, Impairment, ImpairmentLog, IncidentClaims, InstanceReader, Progress, RecordedAction,
    Remediator, ReportPublisher, VerifyScheduler, WorkQueue,
};
use crate::remediation::LedgerView;

/// What one port call meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The service answers an error (retryable: throttling or 5xx).
    Error,
    /// No answer at all: the caller's deadline ends the wait.
    Hang,
    /// The call is carried out, and its answer lost on the way back.
    Lost,
    /// The answer comes late.
    Latency(Duration),
    /// The invocation dies just before the call.
    CrashBefore,
    /// The invocation dies just after the call was carried out.
    CrashAfter,
}

/// How often each fault is drawn, per mille of calls.
#[derive(Debug, Clone, Copy)]
pub struct FaultRates {
    pub error: u64,
    pub hang: u64,
    pub lost: u64,
    pub latency: u64,
    pub crash: u64,
}

impl FaultRates {
    pub const NONE: FaultRates = FaultRates {
        error: 0,
        hang: 0,
        lost: 0,
        latency: 0,
        crash: 0,
    };

    /// Rates drawn for one run: some runs calm, some stormy.
    pub fn drawn(rng: &mut Rng) -> FaultRates {
        let level = rng.below(4);
        let scale = [0, 20, 60, 120][usize::try_from(level).unwrap_or(0)];
        FaultRates {
            error: scale,
            hang: scale / 3,
            lost: scale / 2,
            latency: scale,
            crash: scale / 4,
        }
    }
}

/// The run's fault plan: the seeded generator every port call draws from, and the trace.
#[derive(Debug)]
pub struct FaultPlan {
    rng: Mutex<Rng>,
    /// Chosen faults: `(service, operation, nth call, fault)`; calls are counted per service and operation.
    script: &'static [(&'static str, &'static str, u32, Fault)],
    calls: Mutex<std::collections::BTreeMap<(&'static str, &'static str), u32>>,
    /// A fault at the first invocation's nth port call (the kill and fault tables).
    first_fault: Option<(u32, Fault)>,
    /// The first invocation's port calls, in order (`service operation`).
    first_calls: Mutex<Vec<String>>,
    /// Write every call and its answer to the trace, not only the faults (`EC2OPS_SIM_VERBOSE`, for a replay).
    verbose: bool,
    /// The redeliveries that could not be scheduled (their events), for the invariant that allows a record left in
    /// progress only then.
    unscheduled: Mutex<Vec<String>>,
    rates: FaultRates,
    clock: Clock,
    trace: Mutex<Vec<String>>,
}

impl FaultPlan {
    pub fn new(rng: Rng, rates: FaultRates, clock: Clock) -> Self {
        FaultPlan {
            rng: Mutex::new(rng),
            script: &[],
            calls: Mutex::default(),
            first_fault: None,
            first_calls: Mutex::default(),
            verbose: std::env::var_os("EC2OPS_SIM_VERBOSE").is_some(),
            unscheduled: Mutex::default(),
            rates,
            clock,
            trace: Mutex::new(Vec::new()),
        }
    }

    /// The same plan with chosen faults at chosen calls.
    pub fn with_script(
        mut self,
        script: &'static [(&'static str, &'static str, u32, Fault)],
    ) -> Self {
        self.script = script;
        self
    }

    /// The same plan, with a fault at the first invocation's nth port call.
    pub fn with_first_fault(mut self, at: Option<(u32, Fault)>) -> Self {
        self.first_fault = at;
        self
    }

    /// The events of redeliveries whose schedule could not be created.
    pub fn unscheduled(&self) -> Vec<String> {
        self.unscheduled
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default()
    }

    /// The first invocation's port calls, in order.
    pub fn first_calls(&self) -> Vec<String> {
        self.first_calls
            .lock()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    fn draw_for(&self, invocation: u64, service: &'static str, op: &'static str) -> Fault {
        if invocation == 1 {
            let n = match self.first_calls.lock() {
                Ok(mut c) => {
                    c.push(format!("{service} {op}"));
                    u32::try_from(c.len()).unwrap_or(u32::MAX)
                }
                Err(_) => 0,
            };
            if let Some((_, fault)) = self.first_fault.filter(|(nth, _)| *nth == n) {
                return fault;
            }
        }
        let nth = match self.calls.lock() {
            Ok(mut c) => {
                let n = c.entry((service, op)).or_insert(0);
                *n += 1;
                *n
            }
            Err(_) => 0,
        };
        if let Some((_, _, _, f)) = self
            .script
            .iter()
            .find(|(s, o, n, _)| *s == service && *o == op && *n == nth)
        {
            return *f;
        }
        self.draw()
    }

    fn draw(&self) -> Fault {
        let Ok(mut rng) = self.rng.lock() else {
            return Fault::None;
        };
        let r = self.rates;
        let roll = rng.below(1000);
        let mut edge = r.error;
        if roll < edge {
            return Fault::Error;
        }
        edge += r.hang;
        if roll < edge {
            return Fault::Hang;
        }
        edge += r.lost;
        if roll < edge {
            return Fault::Lost;
        }
        edge += r.latency;
        if roll < edge {
            return Fault::Latency(Duration::from_millis(50 + rng.below(3000)));
        }
        edge += r.crash;
        if roll < edge {
            return if rng.chance(500) {
                Fault::CrashBefore
            } else {
                Fault::CrashAfter
            };
        }
        Fault::None
    }

    /// Write one line to the trace, stamped with the virtual time.
    pub fn note(&self, line: impl AsRef<str>) {
        if let Ok(mut t) = self.trace.lock() {
            t.push(format!(
                "{} {}",
                self.clock.now().format("%H:%M:%S%.3f"),
                line.as_ref()
            ));
        }
    }

    pub fn trace(&self) -> Vec<String> {
        self.trace.lock().map(|t| t.clone()).unwrap_or_default()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// One invocation's death: fired by a crash fault, awaited by the simulation, which then drops the invocation.
#[derive(Debug, Default)]
pub struct Kill {
    fired: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Kill {
    pub fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Resolves once the invocation is killed.
    pub async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.fired() {
                return;
            }
            notified.await;
        }
    }
}

/// A port seen through the fault plan by one invocation.
pub struct Faulty<P: ?Sized> {
    pub inner: Arc<P>,
    pub plan: Arc<FaultPlan>,
    pub kill: Arc<Kill>,
    /// The invocation's number, for the trace.
    pub invocation: u64,
    pub service: &'static str,
}

impl<P: ?Sized> Faulty<P> {
    pub fn new(
        inner: Arc<P>,
        plan: &Arc<FaultPlan>,
        kill: &Arc<Kill>,
        invocation: u64,
        service: &'static str,
    ) -> Self {
        Faulty {
            inner,
            plan: plan.clone(),
            kill: kill.clone(),
            invocation,
            service,
        }
    }

    async fn call<T: std::fmt::Debug>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        let answer = self.answer(op, fut).await;
        if self.plan.verbose {
            let shown: String = format!("{answer:?}").chars().take(200).collect();
            self.plan.note(format!(
                "inv#{} {} {op} → {shown}",
                self.invocation, self.service
            ));
        }
        answer
    }

    async fn answer<T>(
        &self,
        op: &'static str,
        fut: impl Future<Output = Result<T, AwsError>>,
    ) -> Result<T, AwsError> {
        if self.kill.fired() {
            return std::future::pending().await;
        }
        let fault = self.plan.draw_for(self.invocation, self.service, op);
        if fault != Fault::None {
            self.plan.note(format!(
                "inv#{} {} {op}: {fault:?}",
                self.invocation, self.service
            ));
        }
        match fault {
            Fault::None => fut.await,
            Fault::Latency(d) => {
                tokio::time::sleep(d).await;
                fut.await
            }
            Fault::Error => Err(
                AwsError::new(self.service, op, "injected: service unavailable")
                    .with_code("ServiceUnavailable", ErrorKind::Service)
                    .retryable(true),
            ),
            Fault::Hang => std::future::pending().await,
            Fault::Lost => {
                let _ = fut.await;
                Err(
                    AwsError::new(self.service, op, "injected: the answer was lost")
                        .with_code("RequestTimeout", ErrorKind::Timeout)
                        .retryable(true),
                )
            }
            Fault::CrashBefore => {
                self.kill.fire();
                std::future::pending().await
            }
            Fault::CrashAfter => {
                let _ = fut.await;
                self.kill.fire();
                std::future::pending().await
            }
        }
    }
}

#[async_trait]
impl<P: IncidentClaims + ?Sized> IncidentClaims for Faulty<P> {
    async fn claim(
        &self,
        key: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Claim, AwsError> {
        self.call("claim", self.inner.claim(key, now, lease_until))
            .await
    }
    async fn complete(
        &self,
        key: &str,
        now: DateTime<Utc>,
        completion: &Completion,
    ) -> Result<(), AwsError> {
        self.call("complete", self.inner.complete(key, now, completion))
            .await
    }
    async fn completion(&self, key: &str) -> Result<Option<Completion>, AwsError> {
        self.call("completion", self.inner.completion(key)).await
    }
    async fn release(&self, key: &str, now: DateTime<Utc>) -> Result<(), AwsError> {
        self.call("release", self.inner.release(key, now)).await
    }
}

#[async_trait]
impl<P: crate::ports::Approvals + ?Sized> crate::ports::Approvals for Faulty<P> {
    async fn propose(
        &self,
        proposal: &crate::ports::Proposal,
    ) -> Result<Option<crate::ports::StoredProposal>, AwsError> {
        self.call("propose", self.inner.propose(proposal)).await
    }
    async fn proposal(
        &self,
        nonce: &crate::remediation::approval::Nonce,
    ) -> Result<Option<crate::ports::StoredProposal>, AwsError> {
        self.call("proposal", self.inner.proposal(nonce)).await
    }
    async fn answer(
        &self,
        answer: &crate::remediation::approval::Answer,
    ) -> Result<crate::ports::Moved, AwsError> {
        self.call("answer", self.inner.answer(answer)).await
    }
    async fn expire(
        &self,
        nonce: &crate::remediation::approval::Nonce,
        now: DateTime<Utc>,
    ) -> Result<crate::ports::Moved, AwsError> {
        self.call("expire", self.inner.expire(nonce, now)).await
    }
    async fn conclude(
        &self,
        nonce: &crate::remediation::approval::Nonce,
        outcome: &str,
    ) -> Result<bool, AwsError> {
        self.call("conclude", self.inner.conclude(nonce, outcome))
            .await
    }
}

#[async_trait]
impl<P: ActionLedger + ?Sized> ActionLedger for Faulty<P> {
    async fn view(
        &self,
        key: &str,
        instance_id: &str,
        az: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<LedgerView, AwsError> {
        self.call("view", self.inner.view(key, instance_id, az, now))
            .await
    }
    async fn record_action(
        &self,
        action: &ActionRecord,
        envelope: &crate::config::Envelope,
    ) -> Result<Grant, AwsError> {
        self.call("record_action", self.inner.record_action(action, envelope))
            .await
    }
    async fn progress(&self, key: &str, progress: &Progress) -> Result<(), AwsError> {
        self.call("progress", self.inner.progress(key, progress))
            .await
    }
    async fn recorded_action(&self, key: &str) -> Result<Option<RecordedAction>, AwsError> {
        self.call("recorded_action", self.inner.recorded_action(key))
            .await
    }
}

#[async_trait]
impl<P: ImpairmentLog + ?Sized> ImpairmentLog for Faulty<P> {
    async fn impaired_noted(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, AwsError> {
        self.call(
            "impaired_noted",
            self.inner.impaired_noted(instance_id, check, now),
        )
        .await
    }
    async fn note_impaired(
        &self,
        instance_id: &str,
        check: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        self.call(
            "note_impaired",
            self.inner.note_impaired(instance_id, check, now),
        )
        .await
    }
    async fn record_impairment(&self, az: &str, impairment: &Impairment) -> Result<(), AwsError> {
        self.call(
            "record_impairment",
            self.inner.record_impairment(az, impairment),
        )
        .await
    }
    async fn impairments(&self, az: &str, now: DateTime<Utc>) -> Result<Vec<Impairment>, AwsError> {
        self.call("impairments", self.inner.impairments(az, now))
            .await
    }
    async fn declare_az_event(
        &self,
        az: &str,
        key: &str,
        instances: &[String],
        now: DateTime<Utc>,
    ) -> Result<AzDeclaration, AwsError> {
        self.call(
            "declare_az_event",
            self.inner.declare_az_event(az, key, instances, now),
        )
        .await
    }
}

#[async_trait]
impl<P: Remediator + ?Sized> Remediator for Faulty<P> {
    async fn reboot(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.call("RebootInstances", self.inner.reboot(id, dry_run))
            .await
    }
    async fn stop(&self, id: &str, dry_run: bool, force: bool) -> Result<CallResult, AwsError> {
        self.call("StopInstances", self.inner.stop(id, dry_run, force))
            .await
    }
    async fn start(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.call("StartInstances", self.inner.start(id, dry_run))
            .await
    }
    async fn state(&self, id: &str) -> Result<Option<InstanceState>, AwsError> {
        self.call("DescribeInstances(state)", self.inner.state(id))
            .await
    }
}

#[async_trait]
impl<P: InstanceReader + ?Sized> InstanceReader for Faulty<P> {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError> {
        self.call("DescribeInstances", self.inner.instance(id))
            .await
    }
    async fn instance_status(&self, id: &str) -> Result<StatusFacts, AwsError> {
        self.call("DescribeInstanceStatus", self.inner.instance_status(id))
            .await
    }
    async fn instance_type(&self, t: &str) -> Result<TypeFacts, AwsError> {
        self.call("DescribeInstanceTypes", self.inner.instance_type(t))
            .await
    }
    async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        self.call("DescribeSecurityGroups", self.inner.security_groups(ids))
            .await
    }
    async fn volumes(&self, id: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        self.call("DescribeVolumes", self.inner.volumes(id)).await
    }
    async fn stop_protection(&self, id: &str) -> Result<bool, AwsError> {
        self.call("DescribeInstanceAttribute", self.inner.stop_protection(id))
            .await
    }
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        self.call(
            "DescribeInstanceStatus(sweep)",
            self.inner.impaired_instances(),
        )
        .await
    }
}

#[async_trait]
impl<P: crate::ports::MetricReader + ?Sized> crate::ports::MetricReader for Faulty<P> {
    async fn metric_data(
        &self,
        request: &crate::ports::WindowRequest,
    ) -> Result<crate::ports::MetricData, AwsError> {
        self.call("GetMetricData", self.inner.metric_data(request))
            .await
    }
    async fn agent_metrics(
        &self,
        instance_id: &str,
    ) -> Result<Vec<crate::ports::AgentMetric>, AwsError> {
        self.call("ListMetrics", self.inner.agent_metrics(instance_id))
            .await
    }
    async fn alarm_history(
        &self,
        alarm_name: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<crate::facts::AlarmHistory, AwsError> {
        self.call(
            "DescribeAlarmHistory",
            self.inner.alarm_history(alarm_name, since, until),
        )
        .await
    }
}

#[async_trait]
impl<P: ReportPublisher + ?Sized> ReportPublisher for Faulty<P> {
    async fn publish(&self, topic: &str, message: &SnsMessage) -> Result<String, AwsError> {
        self.call("Publish", self.inner.publish(topic, message))
            .await
    }
}

#[async_trait]
impl<P: VerifyScheduler + ?Sized> VerifyScheduler for Faulty<P> {
    async fn schedule(
        &self,
        name: &str,
        event: &serde_json::Value,
        at: DateTime<Utc>,
        target: &str,
    ) -> Result<String, AwsError> {
        // Noted before the call and taken back once it answers Ok: a call its caller's deadline cancels counts too.
        let redo = name.starts_with("redo-");
        let noted = event.to_string();
        if redo {
            if let Ok(mut u) = self.plan.unscheduled.lock() {
                u.push(noted.clone());
            }
        }
        let r = self
            .call(
                "CreateSchedule",
                self.inner.schedule(name, event, at, target),
            )
            .await;
        if redo && r.is_ok() {
            if let Ok(mut u) = self.plan.unscheduled.lock() {
                if let Some(k) = u.iter().rposition(|e| *e == noted) {
                    u.remove(k);
                }
            }
        }
        r
    }
}

#[async_trait]
impl<P: WorkQueue + ?Sized> WorkQueue for Faulty<P> {
    async fn enqueue(&self, event: &serde_json::Value) -> Result<(), AwsError> {
        self.call("SendMessage", self.inner.enqueue(event)).await
    }
}

#[async_trait]
impl<P: crate::ports::SilenceReader + ?Sized> crate::ports::SilenceReader for Faulty<P> {
    async fn active_mute_rules(
        &self,
        alarm_name: &str,
    ) -> Result<Vec<crate::silence::MuteRule>, AwsError> {
        self.call(
            "ListAlarmMuteRules",
            self.inner.active_mute_rules(alarm_name),
        )
        .await
    }
    async fn calendar_state(
        &self,
        calendar: &str,
        at: DateTime<Utc>,
    ) -> Result<crate::silence::CalendarState, AwsError> {
        self.call("GetCalendarState", self.inner.calendar_state(calendar, at))
            .await
    }
    async fn check_alarms(&self, instance_id: &str, check: &str) -> Result<Vec<String>, AwsError> {
        self.call(
            "DescribeAlarmsForMetric",
            self.inner.check_alarms(instance_id, check),
        )
        .await
    }
}
