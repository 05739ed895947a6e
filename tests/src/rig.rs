//! The responder wired as the Lambda function wires it, on the emulator (LocalStack EC2/SNS/SQS/Scheduler + moto
//! DynamoDB), with the seams the safety tests need:
//! - [`Counting`]: the real EC2 remediator, counting every mutating call. What the emulator cannot produce (capacity
//!   errors, stops that hang, reads failing during a recover's wait) and crashes at every step are the simulation
//!   tier's (`ec2ops::sim`, `tests/sim.rs`).
//! - [`Status`]: the real EC2 reader, except that DescribeInstanceStatus reports the checks the test marks impaired
//!   (the emulator's checks are always `ok`), and that the facts the emulator leaves out of DescribeInstances
//!   (tenancy, the auto-recovery setting) are filled as `default` and `disabled`.
//! - [`Rig::through_proxy`]: the same rig reporting only, its responder calling AWS through the fault-injecting
//!   [`Proxy`] (HTTP errors, dropped connections, late answers; `tests/faults.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use chrono::{DateTime, Utc};
use ec2ops::budget::Budget;
use ec2ops::config::{Language, RemediationMode, Settings};
use ec2ops::facts::{InstanceLookup, SecurityGroupFacts, StatusFacts, TypeFacts, VolumeFacts};
use ec2ops::pipeline::{HandleError, Outcome, Responder};
use ec2ops::ports::{
    AwsError, CallResult, Impaired, InstanceReader, Ledger, Remediator, ReportPublisher,
    VerifyScheduler,
};
use ec2ops_aws::{DynamoLedger, Ec2Reader, Ec2Remediator};
use serde_json::Value;

use crate::proxy::Proxy;
use crate::{
    dynamodb_endpoint, endpoint, reachable_or_skip, responder, Emulator, Notification, REGION,
};

/// The function's ARN the schedules target.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-2:000000000000:function:ec2ops";

/// The real EC2 remediator, counting the calls that change an instance.
pub struct Counting {
    inner: Ec2Remediator,
    real: AtomicUsize,
    dry: AtomicUsize,
    starts: AtomicUsize,
    forced: AtomicUsize,
}

impl Counting {
    pub fn new(inner: Ec2Remediator) -> Self {
        Counting {
            inner,
            real: AtomicUsize::new(0),
            dry: AtomicUsize::new(0),
            starts: AtomicUsize::new(0),
            forced: AtomicUsize::new(0),
        }
    }

    /// Real (not DryRun) RebootInstances and StopInstances calls: the mutations an incident decides.
    pub fn real(&self) -> usize {
        self.real.load(Ordering::SeqCst)
    }

    pub fn dry(&self) -> usize {
        self.dry.load(Ordering::SeqCst)
    }

    /// Real StartInstances calls (accepted or not).
    pub fn starts(&self) -> usize {
        self.starts.load(Ordering::SeqCst)
    }

    /// Forced stops.
    pub fn forced(&self) -> usize {
        self.forced.load(Ordering::SeqCst)
    }

    fn count(&self, dry_run: bool) {
        if dry_run { &self.dry } else { &self.real }.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait]
impl Remediator for Counting {
    async fn reboot(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        self.count(dry_run);
        let r = self.inner.reboot(id, dry_run).await;
        r
    }
    async fn stop(&self, id: &str, dry_run: bool, force: bool) -> Result<CallResult, AwsError> {
        if force {
            self.forced.fetch_add(1, Ordering::SeqCst);
        } else {
            self.count(dry_run);
        }
        let r = self.inner.stop(id, dry_run, force).await;
        r
    }
    async fn start(&self, id: &str, dry_run: bool) -> Result<CallResult, AwsError> {
        if !dry_run {
            self.starts.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.start(id, dry_run).await
    }
    async fn state(&self, id: &str) -> Result<Option<ec2ops::facts::InstanceState>, AwsError> {
        self.inner.state(id).await
    }
}

/// The real EC2 reader, with DescribeInstanceStatus answering for the instances a test marks impaired.
pub struct Status {
    pub inner: Ec2Reader,
    /// instance id → (system, instance) check status.
    pub checks: Mutex<HashMap<String, (String, String)>>,
}

impl Status {
    pub fn new(inner: Ec2Reader) -> Self {
        Status {
            inner,
            checks: Mutex::new(HashMap::new()),
        }
    }

    /// Mark a check impaired: `"StatusCheckFailed_System"` or `"StatusCheckFailed_Instance"`.
    pub fn impair(&self, id: &str, check: &str) {
        if let Ok(mut m) = self.checks.lock() {
            let e = m
                .entry(id.to_string())
                .or_insert(("ok".into(), "ok".into()));
            if check.ends_with("_System") {
                e.0 = "impaired".into();
            } else {
                e.1 = "impaired".into();
            }
        }
    }

    /// The instance's checks pass again (the action worked).
    pub fn heal(&self, id: &str) {
        if let Ok(mut m) = self.checks.lock() {
            m.remove(id);
        }
    }

    fn override_for(&self, id: &str) -> Option<(String, String)> {
        self.checks.lock().ok().and_then(|m| m.get(id).cloned())
    }
}

#[async_trait]
impl InstanceReader for Status {
    async fn instance(&self, id: &str) -> Result<InstanceLookup, AwsError> {
        let mut found = self.inner.instance(id).await?;
        // The emulator leaves out Placement.Tenancy and MaintenanceOptions.AutoRecovery: fill them as a default
        // tenancy instance whose operators turned AWS's own recovery off (so that ec2ops recovers it).
        if let InstanceLookup::Found(i) = &mut found {
            i.tenancy.get_or_insert_with(|| "default".into());
            i.auto_recovery.get_or_insert_with(|| "disabled".into());
        }
        Ok(found)
    }
    async fn stop_protection(&self, id: &str) -> Result<bool, AwsError> {
        self.inner.stop_protection(id).await
    }
    async fn instance_status(&self, id: &str) -> Result<StatusFacts, AwsError> {
        let mut s = self.inner.instance_status(id).await?;
        if let Some((system, instance)) = self.override_for(id) {
            s.system = Some(system);
            s.instance = Some(instance);
        }
        Ok(s)
    }
    async fn instance_type(&self, t: &str) -> Result<TypeFacts, AwsError> {
        self.inner.instance_type(t).await
    }
    async fn security_groups(&self, ids: &[String]) -> Result<Vec<SecurityGroupFacts>, AwsError> {
        self.inner.security_groups(ids).await
    }
    async fn volumes(&self, id: &str) -> Result<Vec<VolumeFacts>, AwsError> {
        self.inner.volumes(id).await
    }
    async fn impaired_instances(&self) -> Result<Vec<Impaired>, AwsError> {
        let marked: Vec<(String, (String, String))> = self
            .checks
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for (id, (system, _)) in marked {
            let az = match self.inner.instance(&id).await? {
                InstanceLookup::Found(i) => i.availability_zone,
                InstanceLookup::NotFound => None,
            };
            out.push(Impaired {
                instance_id: id,
                availability_zone: az,
                check: if system == "impaired" {
                    "StatusCheckFailed_System".into()
                } else {
                    "StatusCheckFailed_Instance".into()
                },
                since: None,
            });
        }
        out.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        Ok(out)
    }
}

/// Everything wired as the Lambda function wires it, on the emulator: to act ([`Rig::new`]), or reporting only with a
/// fault-injecting proxy between the responder and the emulator ([`Rig::through_proxy`]).
pub struct Rig {
    pub emu: Emulator,
    pub remediator: Arc<Counting>,
    pub status: Arc<Status>,
    pub topic: String,
    pub queue: String,
    pub settings: Settings,
    /// Set by [`Rig::through_proxy`]: the proxy and the SDK configuration pointed at it.
    pub proxied: Option<Proxied>,
}

/// The proxy a rig's responder calls AWS through, for fault injection (see [`crate::proxy`]).
pub struct Proxied {
    pub proxy: Proxy,
    /// The SDK configuration the function would build, pointed at the proxy.
    pub config: SdkConfig,
}

/// The role the rig's verification schedules assume.
pub const SCHEDULER_ROLE_ARN: &str = "arn:aws:iam::000000000000:role/ec2ops-scheduler";

impl Rig {
    /// A rig with its own ledger table and topic; `settle` 1 s (status-check incidents wait that long for each other).
    pub async fn new(mode: RemediationMode) -> Option<Rig> {
        let emu = Emulator::connect().await?;
        let table = emu.ledger_table().await;
        let (topic, queue) = emu.topic_with_queue("remediation").await;
        Some(Rig {
            remediator: Arc::new(Counting::new(Ec2Remediator::new(emu.ec2.clone()))),
            status: Arc::new(Status::new(Ec2Reader::new(emu.ec2.clone()))),
            settings: Settings {
                language: Language::En,
                topic_arn: Some(topic.clone()),
                remediation: mode,
                ledger_table: Some(table),
                scheduler_role_arn: Some(SCHEDULER_ROLE_ARN.into()),
                settle: Duration::from_secs(1),
                ..Settings::default()
            },
            topic,
            queue,
            emu,
            proxied: None,
        })
    }

    /// A rig reporting only (remediation off, no ledger until [`Rig::with_ledger`]) whose responder calls AWS
    /// through a fault-injecting proxy in front of the emulator, with a topic of its own named `name`. The test's own
    /// calls (seeding, reading the queue) go straight to the emulator.
    pub async fn through_proxy(name: &str) -> Option<Rig> {
        let emu = Emulator::connect().await?;
        let proxy = Proxy::start(&endpoint()).await.expect("proxy on loopback");
        let config = config_through(&proxy).await;
        let (topic, queue) = emu.topic_with_queue(name).await;
        Some(Rig {
            // Unused by the proxied responder, which reports only and reads EC2 through the proxy.
            remediator: Arc::new(Counting::new(Ec2Remediator::new(emu.ec2.clone()))),
            status: Arc::new(Status::new(Ec2Reader::new(emu.ec2.clone()))),
            settings: Settings {
                language: Language::En,
                topic_arn: Some(topic.clone()),
                remediation: RemediationMode::Off,
                ledger_table: None,
                ..Settings::default()
            },
            topic,
            queue,
            emu,
            proxied: Some(Proxied { proxy, config }),
        })
    }

    /// The proxied rig with the DynamoDB ledger in the path, as the function runs with `EC2OPS_LEDGER_TABLE`; `None`
    /// (a skip) without moto.
    pub async fn with_ledger(mut self) -> Option<Rig> {
        let dynamodb = dynamodb_endpoint();
        if !reachable_or_skip(&dynamodb, "DynamoDB (moto)").await {
            return None;
        }
        // moto serves DynamoDB on its own port: the proxy sends the ledger's calls there.
        self.proxy()
            .route("dynamodb", &dynamodb)
            .expect("moto's endpoint is a URL");
        self.settings.ledger_table = Some(self.emu.ledger_table().await);
        Some(self)
    }

    /// The proxy of a rig built by [`Rig::through_proxy`].
    pub fn proxy(&self) -> &Proxy {
        &self
            .proxied
            .as_ref()
            .expect("a rig built through_proxy")
            .proxy
    }

    /// The rig's ledger (the table of its settings), straight on the emulator.
    pub fn ledger(&self) -> Arc<DynamoLedger> {
        let table = self.settings.ledger_table.clone();
        Arc::new(DynamoLedger::new(
            self.emu.dynamodb.clone(),
            table.expect("a rig with a ledger table"),
        ))
    }

    /// The responder over the given ledger, scheduler and publisher (defaults: the rig's own), built as the
    /// function builds it ([`Emulator::responder`]) with the rig's EC2 seams.
    pub fn responder(
        &self,
        ledger: Option<Ledger>,
        scheduler: Option<Arc<dyn VerifyScheduler>>,
        publisher: Option<Arc<dyn ReportPublisher>>,
    ) -> Responder {
        let mut r = self
            .emu
            .responder(&self.settings)
            .with_function_arn(FUNCTION_ARN);
        r.ec2 = self.status.clone();
        r.ledger = Some(ledger.unwrap_or_else(|| Ledger::of(self.ledger())));
        r.approvals = Some(self.ledger());
        if let Some(a) = &mut r.actors {
            a.remediator = self.remediator.clone();
            if let Some(s) = scheduler {
                a.scheduler = Some(s);
            }
        }
        if let (Some(d), Some(p)) = (&mut r.delivery, publisher) {
            d.publisher = p;
        }
        r
    }

    /// The rig's own scheduler (as the responder gets it).
    pub fn scheduler(&self) -> Arc<dyn VerifyScheduler> {
        Arc::new(ec2ops_aws::Scheduler::new(
            self.emu.scheduler.clone(),
            SCHEDULER_ROLE_ARN,
        ))
    }

    /// The responder of a rig built by [`Rig::through_proxy`], as the function builds it on the proxy's configuration,
    /// reporting only: the only AWS calls are the gathering, the ledger (when there is one) and the publish. The rig's
    /// language, topic, mode and ledger table over `settings`.
    pub fn proxied_responder(&self, settings: Settings) -> Responder {
        let config = &self
            .proxied
            .as_ref()
            .expect("a rig built through_proxy")
            .config;
        let settings = Settings {
            language: self.settings.language,
            topic_arn: self.settings.topic_arn.clone(),
            remediation: self.settings.remediation,
            ledger_table: self.settings.ledger_table.clone(),
            ..settings
        };
        let dynamodb = aws_sdk_dynamodb::Client::new(config);
        let mut r = responder(config, &dynamodb, &settings);
        r.actors = None;
        r
    }

    /// Handle an event now, with a generous budget.
    pub async fn try_respond(&self, event: &Value) -> Result<Outcome, HandleError> {
        let now = Utc::now();
        self.responder(None, None, None)
            .respond(event, now, Budget::new(Duration::from_secs(60), now))
            .await
    }

    pub async fn respond(&self, event: &Value) -> Outcome {
        self.try_respond(event).await.expect("handled")
    }

    /// Start over with an empty ledger.
    pub async fn fresh_ledger(&mut self) {
        self.settings.ledger_table = Some(self.emu.ledger_table().await);
    }

    /// An instance tagged as production, opted in or not.
    pub async fn instance(&self, ty: &str, opted_in: bool, extra: &[(&str, &str)]) -> String {
        let mut tags = vec![("Name", "remediation-test"), ("Environment", "production")];
        if opted_in {
            tags.push(("ec2ops:auto-remediate", "true"));
        }
        tags.extend_from_slice(extra);
        self.emu.instance(ty, &tags, &[]).await
    }

    /// An opted-in production instance in a given AZ.
    pub async fn instance_in(&self, az: &str) -> String {
        let tags = [
            ("Name", "az-test"),
            ("Environment", "production"),
            ("ec2ops:auto-remediate", "true"),
        ];
        self.emu
            .instance_placed("m5.large", &tags, &[], Some(az))
            .await
    }

    /// The reports that reached the topic's SQS subscription.
    pub async fn reports(&self) -> Vec<Notification> {
        self.emu
            .notifications(&self.queue, Duration::from_secs(5))
            .await
    }

    /// The incident log (`ec2ops incidents`) from `since` to a few seconds from now.
    pub async fn logged(&self, since: DateTime<Utc>) -> Vec<ec2ops::storm::LoggedIncident> {
        let log = ec2ops_aws::DynamoStorm::new(
            self.emu.dynamodb.clone(),
            self.settings.ledger_table.clone().expect("a ledger table"),
        );
        ec2ops::storm::IncidentLog::list(&log, since, Utc::now() + chrono::Duration::seconds(5))
            .await
            .expect("the incident log")
    }

    /// The inputs of the schedules whose names start with `prefix`, oldest name first.
    pub async fn schedules(&self, prefix: &str) -> Vec<(String, Value)> {
        let list = self
            .emu
            .scheduler
            .list_schedules()
            .name_prefix(prefix)
            .send()
            .await
            .expect("list_schedules");
        let mut out = Vec::new();
        for s in list.schedules() {
            let Some(name) = s.name() else { continue };
            let got = self
                .emu
                .scheduler
                .get_schedule()
                .name(name)
                .send()
                .await
                .expect("get_schedule");
            let input = got
                .target()
                .and_then(|t| t.input())
                .and_then(|i| serde_json::from_str(i).ok())
                .unwrap_or(Value::Null);
            out.push((name.to_string(), input));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Run the recover's scheduled continuations of `id` as EventBridge Scheduler would (each once, the newest
    /// first), until none is left to run or `max` ran. Returns the outcomes.
    pub async fn drive_continuations(&self, id: &str, max: usize) -> Vec<Outcome> {
        let mut ran: Vec<String> = Vec::new();
        let mut out = Vec::new();
        while out.len() < max {
            let pending: Vec<(String, Value)> = self
                .schedules(&format!("ec2ops-cont-{id}"))
                .await
                .into_iter()
                .filter(|(n, _)| !ran.contains(n))
                .collect();
            let Some((name, input)) = pending
                .into_iter()
                .max_by_key(|(_, v)| v["detail"]["attempt"].as_u64().unwrap_or_default())
            else {
                break;
            };
            ran.push(name);
            out.push(self.respond(&input).await);
        }
        out
    }
}

/// The SDK configuration the responder would build, pointed at the proxy. Two attempts with a short backoff instead
/// of the default three with a 1 s base keep each fault case short; the outcome is the same, only sooner.
async fn config_through(proxy: &Proxy) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(proxy.url())
        .credentials_provider(Credentials::new("test", "test", None, None, "faults"))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .load()
        .await
}
