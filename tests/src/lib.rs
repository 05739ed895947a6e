//! Test harness for the local AWS emulator (LocalStack on 127.0.0.1:4566, started by `scripts/emulator.sh`):
//! SDK configuration pointed at it, seeding of instances, metrics, alarms and topics, and event rewriting so the
//! sample events name the seeded instance at the current time.

pub mod proxy;
pub mod rig;
pub mod runtime_stub;
pub mod stub;

use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use chrono::{DateTime, DurationRound, Utc};
use ec2ops::budget::Budget;
use ec2ops::config::Settings;
use ec2ops::pipeline::{HandleError, Outcome, Responder, DEFAULT_BUDGET};
use ec2ops::ports::Ledger;
use ec2ops_aws::DynamoLedger;

pub const REGION: &str = "ap-northeast-2";

/// The emulator's endpoint: `AWS_ENDPOINT_URL` when set, else LocalStack's default.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

/// SDK configuration for an endpoint with dummy credentials (no profile or environment needed).
pub async fn config_for(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint_url)
        .credentials_provider(Credentials::new("test", "test", None, None, "ec2ops-tests"))
        .load()
        .await
}

/// A connection to the running emulator.
pub struct Emulator {
    pub config: SdkConfig,
    pub ec2: aws_sdk_ec2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub scheduler: aws_sdk_scheduler::Client,
}

/// moto's endpoint for DynamoDB (LocalStack community does not serve it here).
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| "http://127.0.0.1:5000".into())
}

/// The one way the tests and the benchmark wire a responder: as the function does ([`ec2ops_aws::responder`]) on
/// `config` (the emulator's, or a proxy's in front of it), with the ledger on `dynamodb` (moto serves DynamoDB on
/// its own port). Tests then swap in the seams they need (an EC2 reader that reports impaired checks, a crashing
/// ledger, a failing publisher). The evidence readers are left out: neither emulator serves CloudTrail
/// `LookupEvents`, so every report would carry that gap; the evidence tests and the benchmark's evidence run wire
/// them ([`responder_with_evidence`]) against a recorded CloudTrail answer.
pub fn responder(
    config: &SdkConfig,
    dynamodb: &aws_sdk_dynamodb::Client,
    settings: &Settings,
) -> Responder {
    let mut r = responder_with_evidence(config, dynamodb, settings);
    r.evidence = Default::default();
    r
}

/// [`responder`] with the evidence readers wired as the function wires them (CloudTrail, CloudWatch Logs,
/// DescribeAlarms on `config`).
pub fn responder_with_evidence(
    config: &SdkConfig,
    dynamodb: &aws_sdk_dynamodb::Client,
    settings: &Settings,
) -> Responder {
    let mut r = ec2ops_aws::responder(config, settings);
    let ledger = settings
        .ledger_table
        .as_deref()
        .map(|t| Arc::new(DynamoLedger::new(dynamodb.clone(), t)));
    r.approvals = ledger
        .clone()
        .map(|l| l as Arc<dyn ec2ops::ports::Approvals>);
    r.ledger = ledger.map(Ledger::of);
    r.storm = settings.ledger_table.as_deref().map(|t| {
        ec2ops::pipeline::storm::Storm::of(Arc::new(ec2ops_aws::DynamoStorm::new(
            dynamodb.clone(),
            t,
        )))
    });
    r
}

/// Whether `url` accepts connections. When it does not, the one skip path of the emulator tests: with
/// `EC2OPS_REQUIRE_EMULATOR=1` (set by `scripts/test.sh` and CI) a failure, otherwise a message and `false`, so a plain
/// `cargo test` still runs every pure test.
pub async fn reachable_or_skip(url: &str, what: &str) -> bool {
    let hostport = url
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .to_string();
    let reachable = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(&hostport),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if !reachable {
        let msg = format!("{what} not reachable at {url}: start it with scripts/emulator.sh start");
        if std::env::var("EC2OPS_REQUIRE_EMULATOR").as_deref() == Ok("1") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    reachable
}

/// Handle `event` now, with the budget of a run that has no Lambda deadline.
pub async fn respond_now(
    responder: &Responder,
    event: &serde_json::Value,
) -> Result<Outcome, HandleError> {
    let now = Utc::now();
    responder
        .respond(event, now, Budget::new(DEFAULT_BUDGET, now))
        .await
}

impl Emulator {
    /// The responder on the emulator, as the function would build it with `settings` ([`responder`]).
    pub fn responder(&self, settings: &Settings) -> Responder {
        responder(&self.config, &self.dynamodb, settings)
    }

    /// The responder on the emulator reporting only: nothing may change an instance.
    pub fn report_only(&self, settings: &Settings) -> Responder {
        let mut r = self.responder(settings);
        r.actors = None;
        r
    }

    /// The production adapters' factory on the emulator.
    pub fn aws(&self) -> ec2ops_aws::AwsClients {
        ec2ops_aws::AwsClients::from_config(&self.config)
    }

    /// Write the SSM SecureString parameter `name` (overwriting it).
    pub async fn secure_parameter(&self, name: &str, value: &str) {
        aws_sdk_ssm::Client::new(&self.config)
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .overwrite(true)
            .send()
            .await
            .expect("SSM PutParameter");
    }

    /// Connect, or skip ([`reachable_or_skip`]).
    pub async fn connect() -> Option<Emulator> {
        let url = endpoint();
        if !reachable_or_skip(&url, "local AWS emulator").await {
            return None;
        }
        let config = config_for(&url).await;
        // DynamoDB is served by moto on its own port (as AWS_ENDPOINT_URL_DYNAMODB routes it for the function).
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&config)
                .endpoint_url(dynamodb_endpoint())
                .build(),
        );
        Some(Emulator {
            dynamodb,
            scheduler: aws_sdk_scheduler::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            config,
        })
    }

    /// Every client on moto alone (EC2, Elastic Load Balancing, CloudWatch, …), or skip: for what LocalStack
    /// community does not serve beside the instances it reads (customer impact's target groups).
    pub async fn connect_moto() -> Option<Emulator> {
        let url = dynamodb_endpoint();
        if !reachable_or_skip(&url, "moto").await {
            return None;
        }
        let config = config_for(&url).await;
        Some(Emulator {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            scheduler: aws_sdk_scheduler::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&config),
            sns: aws_sdk_sns::Client::new(&config),
            sqs: aws_sdk_sqs::Client::new(&config),
            config,
        })
    }

    /// An image id the emulator knows.
    pub async fn image(&self) -> String {
        let out = self
            .ec2
            .describe_images()
            .owners("amazon")
            .send()
            .await
            .expect("describe_images");
        out.images()
            .iter()
            .find_map(|i| i.image_id().map(str::to_string))
            .unwrap_or_else(|| "ami-df5de72bdb3b".into())
    }

    /// A security group with the given TCP ports open to 0.0.0.0/0.
    pub async fn security_group(&self, name: &str, open_ports: &[i32]) -> String {
        let unique = format!("{name}-{}", unique_suffix());
        let id = self
            .ec2
            .create_security_group()
            .group_name(&unique)
            .description("ec2ops test group")
            .send()
            .await
            .expect("create_security_group")
            .group_id()
            .unwrap_or_default()
            .to_string();
        for port in open_ports {
            self.ec2
                .authorize_security_group_ingress()
                .group_id(&id)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("tcp")
                        .from_port(*port)
                        .to_port(*port)
                        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .expect("authorize_security_group_ingress");
        }
        id
    }

    /// Launch one instance with tags and security groups; returns its id.
    pub async fn instance(
        &self,
        instance_type: &str,
        tags: &[(&str, &str)],
        groups: &[String],
    ) -> String {
        self.instance_placed(instance_type, tags, groups, None)
            .await
    }

    /// Launch one instance, in a given availability zone when `az` is set; returns its id.
    pub async fn instance_placed(
        &self,
        instance_type: &str,
        tags: &[(&str, &str)],
        groups: &[String],
        az: Option<&str>,
    ) -> String {
        let image = self.image().await;
        let spec = TagSpecification::builder()
            .resource_type(ResourceType::Instance)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .build();
        let out = self
            .ec2
            .run_instances()
            .image_id(image)
            .instance_type(instance_type.into())
            .min_count(1)
            .max_count(1)
            .set_security_group_ids(Some(groups.to_vec()))
            .set_placement(az.map(|z| {
                aws_sdk_ec2::types::Placement::builder()
                    .availability_zone(z)
                    .build()
            }))
            .tag_specifications(spec)
            .send()
            .await
            .expect("run_instances");
        out.instances()[0]
            .instance_id()
            .unwrap_or_default()
            .to_string()
    }

    /// Put one EC2 metric series for an instance (one datapoint per entry).
    pub async fn series(
        &self,
        namespace: &str,
        metric: &str,
        instance: &str,
        points: &[(DateTime<Utc>, f64)],
    ) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        for chunk in points.chunks(20) {
            let data = chunk
                .iter()
                .map(|(t, v)| {
                    MetricDatum::builder()
                        .metric_name(metric)
                        .dimensions(
                            Dimension::builder()
                                .name("InstanceId")
                                .value(instance)
                                .build(),
                        )
                        .timestamp(aws_smithy_types::DateTime::from_millis(
                            t.timestamp_millis(),
                        ))
                        .value(*v)
                        .build()
                })
                .collect();
            self.cloudwatch
                .put_metric_data()
                .namespace(namespace)
                .set_metric_data(Some(data))
                .send()
                .await
                .expect("put_metric_data");
        }
    }

    /// A metric alarm on the instance, driven to ALARM so its history has a state update.
    pub async fn alarm(&self, name: &str, metric: &str, instance: &str, threshold: f64) {
        use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/EC2")
            .metric_name(metric)
            .dimensions(
                Dimension::builder()
                    .name("InstanceId")
                    .value(instance)
                    .build(),
            )
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(1)
            .threshold(threshold)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .send()
            .await
            .expect("put_metric_alarm");
        self.cloudwatch
            .set_alarm_state()
            .alarm_name(name)
            .state_value(StateValue::Alarm)
            .state_reason("seeded by ec2ops tests")
            .send()
            .await
            .expect("set_alarm_state");
    }

    /// An SNS topic with an SQS queue subscribed to it; returns (topic ARN, queue URL).
    pub async fn topic_with_queue(&self, name: &str) -> (String, String) {
        let name = format!("{name}-{}", unique_suffix());
        let topic = self
            .sns
            .create_topic()
            .name(&name)
            .send()
            .await
            .expect("create_topic");
        let topic_arn = topic.topic_arn().unwrap_or_default().to_string();
        let queue = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .expect("create_queue");
        let queue_url = queue.queue_url().unwrap_or_default().to_string();
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("get_queue_attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .unwrap_or_default();
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("subscribe");
        (topic_arn, queue_url)
    }

    /// Receive the SNS notifications that reached the queue within `wait`.
    pub async fn notifications(&self, queue_url: &str, wait: Duration) -> Vec<Notification> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut out = Vec::new();
        while tokio::time::Instant::now() < deadline {
            let got = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive_message");
            for m in got.messages() {
                let body: serde_json::Value =
                    serde_json::from_str(m.body().unwrap_or("{}")).unwrap_or_default();
                out.push(Notification {
                    subject: body["Subject"].as_str().unwrap_or_default().to_string(),
                    message: body["Message"].as_str().unwrap_or_default().to_string(),
                });
                if let Some(h) = m.receipt_handle() {
                    let _ = self
                        .sqs
                        .delete_message()
                        .queue_url(queue_url)
                        .receipt_handle(h)
                        .send()
                        .await;
                }
            }
            if !out.is_empty() && got.messages().is_empty() {
                break;
            }
        }
        out
    }
}

impl Emulator {
    /// A fresh ledger table (pk/sk strings, on-demand), as template.yaml defines it.
    pub async fn ledger_table(&self) -> String {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let name = format!("ec2ops-ledger-{}", unique_suffix());
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute")
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .expect("key")
        };
        self.dynamodb
            .create_table()
            .table_name(&name)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("sk"))
            .key_schema(key("pk", KeyType::Hash))
            .key_schema(key("sk", KeyType::Range))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .expect("create_table");
        name
    }

    /// The state of an instance (running, stopped, …).
    pub async fn state(&self, id: &str) -> String {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(id)
            .send()
            .await
            .expect("describe_instances");
        out.reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find_map(|i| {
                i.state()
                    .and_then(|s| s.name())
                    .map(|n| n.as_str().to_string())
            })
            .unwrap_or_default()
    }
}

/// One SNS notification as an SQS subscriber receives it.
#[derive(Debug, Clone)]
pub struct Notification {
    pub subject: String,
    pub message: String,
}

/// A per-run suffix for names the emulators keep between runs.
pub fn unique_suffix() -> String {
    format!(
        "{}",
        Utc::now().timestamp_nanos_opt().unwrap_or_default() % 1_000_000_000
    )
}

/// The current minute: seeded series end at `now_minute() - 1 min`, the transition is 28.989 s into this minute.
pub fn now_minute() -> DateTime<Utc> {
    let now = Utc::now();
    now.duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(now)
}

/// A sample event from `events/`, made to name `instance` and to have happened at `at`: every CloudWatch timestamp
/// in it is shifted by the same offset, so datapoints keep their spacing.
pub fn event_for(file: &str, instance: &str, at: DateTime<Utc>) -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(file);
    let mut text = std::fs::read_to_string(&path).expect("event file");
    let value: serde_json::Value = serde_json::from_str(&text).expect("event JSON");
    let detail = value
        .get("detail")
        .or_else(|| value.get("alarmData"))
        .expect("alarm event");
    let old_at =
        ec2ops::event::parse_timestamp(detail["state"]["timestamp"].as_str().expect("timestamp"))
            .expect("timestamp");
    let offset = at - old_at;
    if let Some(old_id) = first_instance_id(&value) {
        text = text.replace(&old_id, instance);
    }
    text = shift_timestamps(&text, offset);
    let mut value: serde_json::Value = serde_json::from_str(&text).expect("rewritten JSON");
    if value.get("time").is_some() {
        value["time"] = serde_json::Value::String(at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    value
}

fn first_instance_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::String(id)) = m.get("InstanceId") {
                return Some(id.clone());
            }
            m.values().find_map(first_instance_id)
        }
        serde_json::Value::Array(a) => a.iter().find_map(first_instance_id),
        _ => None,
    }
}

/// Shift every `YYYY-MM-DDTHH:MM:SS.mmm+0000` in the text (also inside the reasonData string).
fn shift_timestamps(text: &str, offset: chrono::Duration) -> String {
    const LEN: usize = "2025-07-20T12:20:28.989+0000".len();
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("+0000") {
        let end = pos + 5;
        if end >= LEN && rest.is_char_boundary(end - LEN) {
            let candidate = &rest[end - LEN..end];
            if let Some(t) = ec2ops::event::parse_timestamp(candidate) {
                out.push_str(&rest[..end - LEN]);
                out.push_str(
                    &(t + offset)
                        .format("%Y-%m-%dT%H:%M:%S%.3f+0000")
                        .to_string(),
                );
                rest = &rest[end..];
                continue;
            }
        }
        out.push_str(&rest[..end]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The seed's incident as a scenario: a t3.small whose CPU idles near 0.27 % and jumps to 39.58 % one minute after
/// 3.32 MB arrive. Returns (instance id, transition time).
pub async fn seed_cpu_spike(emu: &Emulator) -> (String, DateTime<Utc>) {
    let sg = emu.security_group("vpc02-private-b-sg", &[22]).await;
    let id = emu
        .instance(
            "t3.small",
            &[("Name", "VPC02-Private-B"), ("Project", "ec2ops-demo")],
            &[sg],
        )
        .await;
    let minute = now_minute();
    let at = minute + chrono::Duration::milliseconds(28_989);
    let mut cpu: Vec<f64> = (0..25).map(|i| 0.25 + 0.01 * (i % 4) as f64).collect();
    cpu.extend([0.28, 0.26, 0.24, 1.75, 39.58]);
    let mut net: Vec<f64> = (0..28)
        .map(|i| 150_000.0 + 4_000.0 * (i % 5) as f64)
        .collect();
    net.extend([3_320_000.0, 2_950_000.0]);
    let stamp = |values: &[f64]| -> Vec<(DateTime<Utc>, f64)> {
        let n = values.len() as i64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (minute - chrono::Duration::minutes(n - i as i64), *v))
            .collect()
    };
    emu.series("AWS/EC2", "CPUUtilization", &id, &stamp(&cpu))
        .await;
    emu.series("AWS/EC2", "NetworkIn", &id, &stamp(&net)).await;
    emu.series("AWS/EC2", "NetworkOut", &id, &stamp(&[98_000.0; 30]))
        .await;
    emu.series("AWS/EC2", "CPUCreditBalance", &id, &stamp(&[144.0; 30]))
        .await;
    emu.series(
        "AWS/EC2",
        "StatusCheckFailed_System",
        &id,
        &stamp(&[0.0; 30]),
    )
    .await;
    emu.series(
        "AWS/EC2",
        "StatusCheckFailed_Instance",
        &id,
        &stamp(&[0.0; 30]),
    )
    .await;
    emu.alarm("EC2-HighCPU-VPC02-Private-B", "CPUUtilization", &id, 25.0)
        .await;
    (id, at)
}

/// The lab's fleet: one instance of it per line, with the peak of its last five minutes.
pub struct Fleet {
    /// VPC02-Private-B, the seed's spiking t3.small (the hottest).
    pub hot: String,
    /// The cooler instances: (id, Name, peak).
    pub others: Vec<(String, &'static str, f64)>,
    /// The transition time of the fleet alarm.
    pub at: DateTime<Utc>,
}

/// The lab's fleet for its unified alarm: VPC02-Private-B (the seed's spike, see [`seed_cpu_spike`]) and four cooler
/// instances, two of them above the lab's 20 % threshold, each publishing `metric` in `AWS/EC2` (the demo uses
/// `CPUUtilization`; a test uses a name of its own so that other tests' instances are not in its fleet).
pub async fn seed_fleet(emu: &Emulator, metric: &str) -> Fleet {
    let (hot, at) = seed_cpu_spike(emu).await;
    // The hot instance's minute, not the clock's again: creating the cooler instances may cross a minute boundary,
    // which would shift their series a minute past the hot one's and out of the ranking's window.
    let minute =
        chrono::DurationRound::duration_trunc(at, chrono::Duration::minutes(1)).unwrap_or(at);
    let stamp = |values: &[f64]| -> Vec<(DateTime<Utc>, f64)> {
        let n = values.len() as i64;
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (minute - chrono::Duration::minutes(n - i as i64), *v))
            .collect()
    };
    if metric != "CPUUtilization" {
        let mut cpu: Vec<f64> = (0..25).map(|i| 0.25 + 0.01 * (i % 4) as f64).collect();
        cpu.extend([0.28, 0.26, 0.24, 1.75, 39.58]);
        emu.series("AWS/EC2", metric, &hot, &stamp(&cpu)).await;
    }
    let cooler: [(&str, &str, [f64; 5]); 4] = [
        (
            "VPC02-Private-A",
            "m5.large",
            [22.1, 23.4, 24.3, 23.8, 22.9],
        ),
        ("VPC01-Batch-1", "c5.large", [18.2, 19.6, 21.7, 20.4, 19.9]),
        ("VPC01-Public-A", "t3.micro", [11.8, 12.4, 12.1, 11.6, 12.0]),
        ("VPC01-Private-A", "t3.medium", [4.2, 4.8, 5.1, 4.6, 4.4]),
    ];
    let mut others = Vec::new();
    for (name, ty, last) in cooler {
        let id = emu
            .instance(ty, &[("Name", name), ("Project", "ec2ops-demo")], &[])
            .await;
        let mut values: Vec<f64> = (0..25)
            .map(|i| last[0] * (0.8 + 0.01 * (i % 5) as f64))
            .collect();
        values.extend(last);
        emu.series("AWS/EC2", metric, &id, &stamp(&values)).await;
        let peak = last.iter().copied().fold(f64::MIN, f64::max);
        others.push((id, name, peak));
    }
    Fleet { hot, others, at }
}

/// The lab's fleet alarm (`events/fleet-insights-alarm.json`) at `at`, its query on `metric`.
pub fn fleet_event(metric: &str, at: DateTime<Utc>) -> serde_json::Value {
    let mut v = event_for("fleet-insights-alarm.json", "-", at);
    if metric != "CPUUtilization" {
        let m = &mut v["detail"]["configuration"]["metrics"][0]["expression"];
        let q = m
            .as_str()
            .unwrap_or_default()
            .replace("CPUUtilization", metric);
        *m = serde_json::Value::String(q);
    }
    v
}

/// The alarm-level event of the per-instance alarm (`events/fleet-multi-series-alarm.json`) at `at`, its query on
/// `metric`.
pub fn fleet_summary_event(metric: &str, at: DateTime<Utc>) -> serde_json::Value {
    let mut v = event_for("fleet-multi-series-alarm.json", "-", at);
    let m = &mut v["detail"]["configuration"]["metrics"][0]["expression"];
    let q = m
        .as_str()
        .unwrap_or_default()
        .replace("CPUUtilization", metric);
    *m = serde_json::Value::String(q);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_an_event_moves_every_timestamp_and_the_instance() {
        let at = ec2ops::event::parse_timestamp("2026-01-01T00:00:28.989+0000").unwrap();
        let v = event_for("cpu-spike.json", "i-0123456789abcdef0", at);
        let text = v.to_string();
        assert!(!text.contains("i-0ae3d067021f08710"));
        assert!(text.contains("2026-01-01T00:00:28.989+0000"));
        assert!(
            text.contains("2025-12-31T23:59:00.000+0000"),
            "evaluated datapoint shifted: {text}"
        );
        assert_eq!(v["time"], "2026-01-01T00:00:28Z");
    }
}
