//! Customer impact against moto, which serves EC2, Elastic Load Balancing and CloudWatch (LocalStack community serves
//! no ELB): the ELB adapter and its in-memory model give the same memberships (each case written once), and the
//! responder wired as the function wires it reports an instance whose ALB target group serves errors as P1, with the
//! impact on the first screen and the group's traffic in 📊.

use std::sync::Arc;

use aws_sdk_elasticloadbalancingv2 as elb;
use chrono::{DateTime, Duration, Utc};
use ec2ops::analyze::{Priority, Reason};
use ec2ops::config::{Language, Settings};
use ec2ops::evidence::impact::Target;
use ec2ops::memory::{MemoryGroup, MemoryTargets};
use ec2ops::pipeline::Outcome;
use ec2ops::ports::TargetReader;
use ec2ops_aws::ElbReader;
use ec2ops_tests::*;

/// Group names: unique per run (moto keeps its state), at most 32 characters.
fn group_name(kind: &str, suffix: &str) -> String {
    format!("{kind}-{suffix}")
}

/// A VPC with two subnets; returns (VPC, subnets).
async fn vpc(emu: &Emulator, cidr: u8) -> (String, Vec<String>) {
    let vpc = emu
        .ec2
        .create_vpc()
        .cidr_block(format!("10.{cidr}.0.0/16"))
        .send()
        .await
        .expect("create_vpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap_or_default()
        .to_string();
    let mut subnets = Vec::new();
    for (n, az) in ["a", "b"].iter().enumerate() {
        let s = emu
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.{cidr}.{n}.0/24"))
            .availability_zone(format!("{REGION}{az}"))
            .send()
            .await
            .expect("create_subnet");
        subnets.extend(s.subnet().and_then(|s| s.subnet_id()).map(str::to_string));
    }
    (vpc, subnets)
}

/// An ALB in `subnets`; returns its ARN.
async fn alb(client: &elb::Client, name: &str, subnets: &[String]) -> String {
    client
        .create_load_balancer()
        .name(name)
        .set_subnets(Some(subnets.to_vec()))
        .send()
        .await
        .expect("create_load_balancer")
        .load_balancers()
        .first()
        .and_then(|l| l.load_balancer_arn())
        .unwrap_or_default()
        .to_string()
}

/// An instance target group with `targets` registered, forwarded to by a listener of `lb` when given.
async fn group(
    client: &elb::Client,
    name: &str,
    vpc: &str,
    lb: Option<(&str, i32)>,
    targets: &[(&str, i32)],
) -> String {
    use elb::types::{Action, ActionTypeEnum, ProtocolEnum, TargetDescription, TargetTypeEnum};
    let arn = client
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id(vpc)
        .target_type(TargetTypeEnum::Instance)
        .send()
        .await
        .expect("create_target_group")
        .target_groups()
        .first()
        .and_then(|g| g.target_group_arn())
        .unwrap_or_default()
        .to_string();
    if !targets.is_empty() {
        client
            .register_targets()
            .target_group_arn(&arn)
            .set_targets(Some(
                targets
                    .iter()
                    .map(|(id, port)| TargetDescription::builder().id(*id).port(*port).build())
                    .collect(),
            ))
            .send()
            .await
            .expect("register_targets");
    }
    if let Some((lb, port)) = lb {
        client
            .create_listener()
            .load_balancer_arn(lb)
            .protocol(ProtocolEnum::Http)
            .port(port)
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&arn)
                    .build(),
            )
            .send()
            .await
            .expect("create_listener");
    }
    arn
}

/// The world both readers are asked about: in VPC A, `web` (the instance on 8080, behind an ALB) and `admin` (not
/// registered); in VPC B, `other` (the instance on 80).
struct World {
    instance: String,
    vpc_a: String,
    vpc_b: String,
    web: String,
    other: String,
}

/// The same memberships on any reader.
async fn memberships_case(reader: &dyn TargetReader, w: &World) {
    let a = reader
        .targets_of(&w.instance, &w.vpc_a, 20)
        .await
        .expect("targets_of");
    assert_eq!((a.groups_checked, a.groups_total), (2, 2));
    let names: Vec<&str> = a.targets.iter().map(|t| t.group_name.as_str()).collect();
    assert_eq!(
        names,
        [w.web.as_str()],
        "only the group the instance is registered in"
    );
    let t: &Target = &a.targets[0];
    assert_eq!((t.port, t.state.as_str()), (Some(8080), "healthy"));
    assert!(
        t.alb_dimension().is_some(),
        "the ALB is known: {:?}",
        t.load_balancers
    );
    assert!(t.group_dimension().is_some(), "{}", t.group_arn);

    let capped = reader
        .targets_of(&w.instance, &w.vpc_a, 1)
        .await
        .expect("targets_of");
    assert_eq!((capped.groups_checked, capped.groups_total), (1, 2));

    let stranger = reader
        .targets_of("i-0fffffffffffffff0", &w.vpc_a, 20)
        .await
        .expect("targets_of");
    assert!(stranger.targets.is_empty());

    let b = reader
        .targets_of(&w.instance, &w.vpc_b, 20)
        .await
        .expect("targets_of");
    let found: Vec<(&str, Option<i32>)> = b
        .targets
        .iter()
        .map(|t| (t.group_name.as_str(), t.port))
        .collect();
    assert_eq!(found, [(w.other.as_str(), Some(80))]);
}

#[tokio::test]
async fn the_elb_adapter_and_its_model_find_the_same_target_groups_of_an_instance() {
    let Some(emu) = Emulator::connect_moto().await else {
        return;
    };
    let client = elb::Client::new(&emu.config);
    let suffix = unique_suffix();
    let (vpc_a, subnets_a) = vpc(&emu, 31).await;
    let (vpc_b, _) = vpc(&emu, 32).await;
    let instance = "i-0123456789abcdef0".to_string();
    let lb = alb(&client, &format!("web-{suffix}"), &subnets_a).await;
    let (web, admin, other) = (
        group_name("web", &suffix),
        group_name("admin", &suffix),
        group_name("other", &suffix),
    );
    let web_arn = group(&client, &web, &vpc_a, Some((&lb, 80)), &[(&instance, 8080)]).await;
    let admin_arn = group(&client, &admin, &vpc_a, None, &[]).await;
    let other_arn = group(&client, &other, &vpc_b, None, &[(&instance, 80)]).await;
    let world = World {
        instance: instance.clone(),
        vpc_a: vpc_a.clone(),
        vpc_b: vpc_b.clone(),
        web: web.clone(),
        other: other.clone(),
    };

    memberships_case(&ElbReader::new(client), &world).await;

    let model = MemoryTargets::new(vec![
        MemoryGroup {
            vpc_id: vpc_a.clone(),
            instances: true,
            arn: web_arn,
            name: web,
            load_balancers: vec![lb],
            registered: vec![(instance.clone(), 8080)],
        },
        MemoryGroup {
            vpc_id: vpc_a,
            instances: true,
            arn: admin_arn,
            name: admin,
            load_balancers: vec![],
            registered: vec![],
        },
        MemoryGroup {
            vpc_id: vpc_b,
            instances: true,
            arn: other_arn,
            name: other,
            load_balancers: vec![],
            registered: vec![(instance, 80)],
        },
    ]);
    memberships_case(&model, &world).await;
}

/// `HTTPCode_Target_5XX_Count`, `RequestCount` and `TargetResponseTime` of one ALB group, one datapoint a minute
/// for the ten minutes up to and with `minute`.
async fn seed_traffic(emu: &Emulator, group: &Target, minute: DateTime<Utc>, errors: f64) {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
    // In the order the adapter asks (sorted by name): moto matches a query's dimensions in order, AWS in any.
    let dims = [
        (
            "LoadBalancer",
            group.alb_dimension().expect("ALB dimension"),
        ),
        (
            "TargetGroup",
            group.group_dimension().expect("group dimension"),
        ),
    ];
    for (metric, value) in [
        ("HTTPCode_Target_5XX_Count", errors),
        ("RequestCount", 600.0),
        ("TargetResponseTime", 1.5),
    ] {
        let data = (0..10)
            .map(|m| {
                MetricDatum::builder()
                    .metric_name(metric)
                    .set_dimensions(Some(
                        dims.iter()
                            .map(|(k, v)| Dimension::builder().name(*k).value(v).build())
                            .collect(),
                    ))
                    .timestamp(aws_smithy_types::DateTime::from_millis(
                        (minute - Duration::minutes(m)).timestamp_millis(),
                    ))
                    .value(value)
                    .build()
            })
            .collect();
        emu.cloudwatch
            .put_metric_data()
            .namespace("AWS/ApplicationELB")
            .set_metric_data(Some(data))
            .send()
            .await
            .expect("put_metric_data");
    }
}

#[tokio::test]
async fn an_instance_whose_target_group_serves_errors_is_reported_p1_with_the_impact_first() {
    let Some(emu) = Emulator::connect_moto().await else {
        return;
    };
    let client = elb::Client::new(&emu.config);
    let suffix = unique_suffix();
    let id = emu
        .instance(
            "t3.small",
            &[("Name", "web-1"), ("Environment", "staging")],
            &[],
        )
        .await;
    let described = emu
        .ec2
        .describe_instances()
        .instance_ids(&id)
        .send()
        .await
        .expect("describe_instances");
    let vpc = described
        .reservations()
        .first()
        .and_then(|r| r.instances().first())
        .and_then(|i| i.vpc_id())
        .expect("the instance is in a VPC")
        .to_string();
    let subnets: Vec<String> = emu
        .ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc)
                .build(),
        )
        .send()
        .await
        .expect("describe_subnets")
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .take(2)
        .collect();
    let lb = alb(&client, &format!("shop-{suffix}"), &subnets).await;
    let name = group_name("shop", &suffix);
    group(&client, &name, &vpc, Some((&lb, 80)), &[(&id, 8080)]).await;
    let reader = ElbReader::new(client);
    let found = reader.targets_of(&id, &vpc, 20).await.expect("targets_of");
    let minute = now_minute();
    seed_traffic(&emu, &found.targets[0], minute, 40.0).await;

    let settings = Settings {
        language: Language::En,
        ..Settings::default()
    };
    let mut responder = responder(&emu.config, &emu.dynamodb, &settings);
    responder.actors = None;
    responder.evidence.targets = Some(Arc::new(reader));
    let at = minute + Duration::milliseconds(28_989);
    let event = event_for("cpu-spike.json", &id, at);
    let Outcome::Reported(incident) = respond_now(&responder, &event).await.expect("handled")
    else {
        panic!("not reported")
    };
    assert_eq!(
        incident.assessment.priority,
        Priority::P1,
        "{:?} {:?}",
        incident.assessment.reasons,
        incident.facts.evidence.impact
    );
    assert!(
        matches!(
            &incident.assessment.reasons[0],
            Reason::ServingErrors {
                errors: 400,
                requests: Some(6000),
                ..
            }
        ),
        "{:?}",
        incident.assessment.reasons
    );
    let email = ec2ops::report::render::email(&incident.report);
    let first_screen: Vec<&str> = email.lines().take(16).collect();
    assert!(
        first_screen
            .iter()
            .any(|l| l.starts_with("▶ Customer impact: target group shop-")
                && l.contains("6000 requests, 400 5xx from the targets (6.7%)")),
        "{}",
        first_screen.join("\n")
    );
    assert!(
        email.contains(&format!(
            "Load balancer: target group {name} (port 8080) — healthy"
        )),
        "{email}"
    );
}
