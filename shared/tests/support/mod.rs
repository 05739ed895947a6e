//! Realistic facts for the sample events, as the gather step would return them from a live account. Golden
//! reports are rendered from these (events without a scenario are rendered with every source unavailable: the
//! degraded path).
#![allow(dead_code)]

use ec2ops::facts::Gap;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use ec2ops::event::{parse_bytes, parse_timestamp, Parsed};
use ec2ops::facts::*;
use ec2ops::model::AlarmChange;

pub mod evidence;

pub fn events_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

pub fn load(name: &str) -> AlarmChange {
    let bytes = std::fs::read(events_dir().join(name)).expect("event file");
    match parse_bytes(&bytes).expect("parses") {
        Parsed::Alarm(c) => *c,
        other => panic!("{name}: {other:?}"),
    }
}

fn t(s: &str) -> DateTime<Utc> {
    parse_timestamp(s).expect("timestamp")
}

/// A minute series ending at `end` (inclusive), oldest first.
pub fn series(end: DateTime<Utc>, values: &[f64]) -> Series {
    series_every(end, 1, values)
}

/// A series of a metric published every `minutes` (CPUCreditBalance: every 5 minutes), ending at `end`, oldest
/// first: GetMetricData at a 60 s period answers it only at the minutes it was published.
pub fn series_every(end: DateTime<Utc>, minutes: i64, values: &[f64]) -> Series {
    let n = values.len() as i64;
    Series {
        name: String::new(),
        dimension: None,
        points: values
            .iter()
            .enumerate()
            .map(|(i, v)| (end - Duration::minutes(minutes * (n - 1 - i as i64)), *v))
            .collect(),
    }
}

fn flat(n: usize, base: f64, wiggle: f64) -> Vec<f64> {
    (0..n)
        .map(|i| base + wiggle * ((i * 7 % 5) as f64 - 2.0) / 2.0)
        .collect()
}

pub struct Instance<'a> {
    pub id: &'a str,
    pub ty: &'a str,
    pub name: &'a str,
    pub env: Option<&'a str>,
    pub az: &'a str,
    pub ip: &'a str,
    pub public_ip: Option<&'a str>,
}

pub fn instance(i: &Instance<'_>) -> InstanceFacts {
    let mut tags = BTreeMap::from([("Name".to_string(), i.name.to_string())]);
    if let Some(e) = i.env {
        tags.insert("Environment".into(), e.into());
    }
    InstanceFacts {
        id: i.id.into(),
        instance_type: i.ty.into(),
        state: ec2ops::facts::InstanceState::Running,
        availability_zone: Some(i.az.into()),
        vpc_id: Some("vpc-0c4e2a8f1b3d5e7a9".into()),
        // One subnet per AZ, named after the zone's letter.
        subnet_id: i
            .az
            .chars()
            .last()
            .map(|zone| format!("subnet-0f3e5d7c9b1a2468{zone}")),
        private_ip: Some(i.ip.into()),
        public_ip: i.public_ip.map(str::to_string),
        launch_time: Some(t("2025-03-02T01:15:00.000+0000")),
        tags,
        root_device_type: Some("ebs".into()),
        http_tokens: Some("required".into()),
        security_group_ids: vec!["sg-0a1b2c3d4e5f60718".into()],
        volume_ids: vec!["vol-0f1e2d3c4b5a69788".into()],
        auto_recovery: Some("default".into()),
        monitoring: Some("enabled".into()),
        lifecycle: None,
        platform: Some("Linux/UNIX".into()),
        state_reason_code: None,
        state_reason: None,
        tenancy: Some("default".into()),
        efa: false,
        disable_api_stop: Source::Available(false),
    }
}

fn type_facts(ty: &str, vcpus: i32, mib: i64) -> TypeFacts {
    TypeFacts {
        instance_type: ty.into(),
        vcpus: Some(vcpus),
        memory_mib: Some(mib),
        burstable: ty.starts_with('t'),
        auto_recovery_supported: true,
        instance_storage: false,
    }
}

fn sg(name: &str, open: &[(i32, &str)]) -> Vec<SecurityGroupFacts> {
    vec![SecurityGroupFacts {
        id: "sg-0a1b2c3d4e5f60718".into(),
        name: name.into(),
        world_open: open
            .iter()
            .map(|(p, cidr)| OpenRule {
                protocol: "tcp".into(),
                from_port: Some(*p),
                to_port: Some(*p),
                cidr: (*cidr).into(),
            })
            .collect(),
    }]
}

fn vol(ty: &str, gib: i32, encrypted: bool) -> Vec<VolumeFacts> {
    vec![VolumeFacts {
        id: "vol-0f1e2d3c4b5a69788".into(),
        volume_type: ty.into(),
        size_gib: gib,
        encrypted,
        device: Some("/dev/xvda".into()),
    }]
}

fn history(alarm_at: &[&str]) -> AlarmHistory {
    AlarmHistory {
        items: alarm_at
            .iter()
            .map(|a| HistoryItem {
                at: t(a),
                summary: "Alarm updated from OK to ALARM".into(),
            })
            .collect(),
    }
}

fn status(system: &str, inst: &str, ebs: &str) -> StatusFacts {
    StatusFacts {
        system: Some(system.into()),
        instance: Some(inst.into()),
        attached_ebs: Some(ebs.into()),
        scheduled_events: vec![],
    }
}

fn window(end: DateTime<Utc>, series: Vec<(Role, Series)>, requested: usize) -> MetricWindow {
    MetricWindow {
        start: Some(end - Duration::minutes(29)),
        end: Some(end + Duration::minutes(1)),
        period_secs: 60,
        series: series.into_iter().collect(),
        metrics_requested: requested,
    }
}

fn zeros(end: DateTime<Utc>) -> Series {
    series(end, &[0.0; 30])
}

fn found(i: InstanceFacts) -> Source<InstanceLookup> {
    Source::Available(InstanceLookup::Found(Box::new(i)))
}

/// The seed incident: t3.small VPC02-Private-B, a CPU spike right after a burst of inbound traffic.
pub fn cpu_spike(ty: &str, env: Option<&str>) -> Facts {
    let end = t("2025-07-20T12:19:00.000+0000");
    let mut cpu = flat(26, 0.27, 0.02);
    cpu.extend([0.28, 0.26, 0.24, 1.75, 39.58]);
    let cpu = series(end, &cpu[1..]);
    let mut net = flat(28, 152_000.0, 20_000.0);
    net.extend([3_320_000.0, 2_950_000.0]);
    let net = series(end, &net);
    let credits = series(end, &flat(30, 144.0, 0.5));
    let mut i = instance(&Instance {
        id: "i-0ae3d067021f08710",
        ty,
        name: "VPC02-Private-B",
        env,
        az: "ap-northeast-2b",
        ip: "10.2.24.104",
        public_ip: None,
    });
    i.http_tokens = Some("optional".into());
    Facts {
        instance: found(i),
        status: Source::Available(status("ok", "ok", "ok")),
        instance_type: Source::Available(type_facts(ty, 2, 2048)),
        metrics: Source::Available(window(
            end,
            vec![
                (Role::Alarm, cpu.clone()),
                (Role::Cpu, cpu),
                (Role::NetworkIn, net),
                (Role::NetworkOut, series(end, &flat(30, 98_000.0, 9_000.0))),
                (Role::StatusSystem, zeros(end)),
                (Role::StatusInstance, zeros(end)),
                (Role::StatusEbs, zeros(end)),
                (Role::CpuCredits, credits),
            ],
            8,
        )),
        history: Source::Available(history(&["2025-07-18T03:02:11.000+0000"])),
        security_groups: Source::Available(sg("vpc02-private-b-sg", &[(22, "0.0.0.0/0")])),
        volumes: Source::Available(vol("gp2", 8, false)),
        ledger: Source::Available(Default::default()),
        diagnostics: None,
        ranking: None,
        contributors: None,
        evidence: Default::default(),
        silencers: Default::default(),
    }
}

/// A recorded run of the diagnostics document.
pub fn recorded(name: &str) -> Source<ec2ops::diagnostics::Diagnostics> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/diagnostics")
        .join(name);
    Source::Available(ec2ops::diagnostics::parse(
        &std::fs::read_to_string(path).expect("fixture"),
    ))
}

pub fn cpu_sustained() -> Facts {
    let end = t("2025-08-14T03:06:00.000+0000");
    let mut cpu = flat(22, 46.0, 4.0);
    cpu.extend([82.4, 86.9, 88.1, 91.2, 93.8, 95.1, 94.6, 96.3]);
    let cpu = series(end, &cpu);
    let mut i = instance(&Instance {
        id: "i-0b7e4c2d9a1f35c60",
        ty: "m5.large",
        name: "prod-api-1",
        env: Some("production"),
        az: "ap-northeast-2a",
        ip: "10.1.10.21",
        public_ip: None,
    });
    i.auto_recovery = Some("disabled".into());
    Facts {
        instance: found(i),
        status: Source::Available(status("ok", "ok", "ok")),
        instance_type: Source::Available(type_facts("m5.large", 2, 8192)),
        metrics: Source::Available(window(
            end,
            vec![
                (Role::Alarm, cpu.clone()),
                (Role::Cpu, cpu),
                (
                    Role::NetworkIn,
                    series(end, &flat(30, 41_000_000.0, 3_000_000.0)),
                ),
                (
                    Role::NetworkOut,
                    series(end, &flat(30, 63_000_000.0, 5_000_000.0)),
                ),
                (Role::StatusSystem, zeros(end)),
                (Role::StatusInstance, zeros(end)),
                (Role::StatusEbs, zeros(end)),
                (Role::Memory, series(end, &flat(30, 71.0, 2.0))),
            ],
            8,
        )),
        history: Source::Available(history(&[
            "2025-08-09T02:58:00.000+0000",
            "2025-08-11T03:04:00.000+0000",
            "2025-08-12T03:01:00.000+0000",
            "2025-08-13T03:05:00.000+0000",
        ])),
        security_groups: Source::Available(sg("prod-api-sg", &[(443, "0.0.0.0/0")])),
        volumes: Source::Available(vol("gp3", 50, true)),
        ledger: Source::Available(Default::default()),
        diagnostics: None,
        ranking: None,
        contributors: None,
        evidence: Default::default(),
        silencers: Default::default(),
    }
}

/// The sustained-CPU instance with the shape of a compromise: outbound traffic far above its usual level, SSH open to
/// the world, off production.
pub fn compromised() -> Facts {
    let mut facts = cpu_sustained();
    let end = chrono::Utc::now();
    if let Source::Available(w) = &mut facts.metrics {
        let mut out = vec![2_000_000.0; 25];
        out.extend([180e6, 190e6, 185e6, 200e6, 195e6]);
        w.series.insert(Role::NetworkOut, series(end, &out));
        let cpu = w.series[&Role::Cpu].clone();
        w.series.insert(
            Role::Cpu,
            ec2ops::facts::Series {
                points: cpu
                    .points
                    .iter()
                    .map(|(_, v)| *v)
                    .zip(series(end, &[0.0; 30]).points)
                    .map(|(v, (t, _))| (t, v))
                    .collect(),
                ..cpu
            },
        );
    }
    if let Source::Available(groups) = &mut facts.security_groups {
        groups[0].world_open.push(ec2ops::facts::OpenRule {
            protocol: "tcp".into(),
            from_port: Some(22),
            to_port: Some(22),
            cidr: "0.0.0.0/0".into(),
        });
    }
    // Reachable: the open admin port is on a public address.
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Environment".into(), "dev".into());
        i.public_ip = Some("3.35.120.9".into());
    }
    facts
}

pub fn cpu_credits() -> Facts {
    // Read at the 16:45 transition: the CPU of every minute up to 16:44, the balance (published every 5 minutes,
    // the alarm's Minimum at 300 s) at 16:15 … 16:40, the last three as the alarm evaluated them.
    let end = t("2025-09-02T16:44:00.000+0000");
    let credits = series_every(
        t("2025-09-02T16:40:00.000+0000"),
        5,
        &[19.0, 14.8, 10.9, 6.4, 2.1, 0.0],
    );
    // About 50 % on 2 vCPUs spends 60 credits an hour against 12 earned: 4 per 5 minutes, as the balance falls;
    // once it is spent (about 16:38) the instance is held to its 10 % baseline.
    let mut cpu = flat(23, 50.0, 3.0);
    cpu.extend([24.0, 10.6, 10.1, 9.9, 10.0, 10.0, 10.1]);
    let i = instance(&Instance {
        id: "i-03f9a8b7c6d5e4f21",
        ty: "t3.micro",
        name: "dev-batch-1",
        env: Some("dev"),
        az: "ap-northeast-2c",
        ip: "10.3.7.42",
        public_ip: Some("3.35.120.7"),
    });
    Facts {
        instance: found(i),
        status: Source::Available(status("ok", "ok", "ok")),
        instance_type: Source::Available(type_facts("t3.micro", 2, 1024)),
        metrics: Source::Available(window(
            end,
            vec![
                (Role::Cpu, series(end, &cpu)),
                (Role::CpuCredits, credits.clone()),
                (Role::Alarm, credits),
                (
                    Role::NetworkIn,
                    series(end, &flat(30, 2_000_000.0, 200_000.0)),
                ),
            ],
            8,
        )),
        history: Source::Available(history(&[])),
        security_groups: Source::Available(sg(
            "dev-batch-sg",
            &[(22, "0.0.0.0/0"), (3389, "0.0.0.0/0")],
        )),
        volumes: Source::Available(vol("gp3", 20, true)),
        ledger: Source::Available(Default::default()),
        diagnostics: None,
        ranking: None,
        contributors: None,
        evidence: Default::default(),
        silencers: Default::default(),
    }
}

/// prod-db-1: m5.large with a public IP; `failing` picks which check is impaired.
pub fn prod_db(failing: Role, at: &str) -> Facts {
    let end = t(at);
    let impaired = |r: Role| if r == failing { "impaired" } else { "ok" };
    let mut bad = vec![0.0; 28];
    bad.extend([1.0, 1.0]);
    let pick = |r: Role| {
        if r == failing {
            series(end, &bad)
        } else {
            zeros(end)
        }
    };
    let mut i = instance(&Instance {
        id: "i-0c2d4e6f8a0b1c3d5",
        ty: "m5.large",
        name: "prod-db-1",
        env: Some("prod"),
        az: "ap-northeast-2a",
        ip: "10.1.20.15",
        public_ip: Some("13.125.44.201"),
    });
    i.tags.insert("ec2ops:auto-remediate".into(), "true".into());
    Facts {
        instance: found(i),
        status: Source::Available(StatusFacts {
            system: Some(impaired(Role::StatusSystem).into()),
            instance: Some(impaired(Role::StatusInstance).into()),
            attached_ebs: Some(impaired(Role::StatusEbs).into()),
            scheduled_events: vec![],
        }),
        instance_type: Source::Available(type_facts("m5.large", 2, 8192)),
        metrics: Source::Available(window(
            end,
            vec![
                (Role::Alarm, pick(failing)),
                (Role::Cpu, series(end, &flat(30, 18.0, 3.0))),
                (Role::StatusSystem, pick(Role::StatusSystem)),
                (Role::StatusInstance, pick(Role::StatusInstance)),
                (Role::StatusEbs, pick(Role::StatusEbs)),
            ],
            8,
        )),
        history: Source::Available(history(&[])),
        security_groups: Source::Available(sg("prod-db-sg", &[])),
        volumes: Source::Available(vol("gp3", 200, true)),
        ledger: Source::Available(Default::default()),
        diagnostics: None,
        ranking: None,
        contributors: None,
        evidence: Default::default(),
        silencers: Default::default(),
    }
}

pub fn status_instance() -> Facts {
    // The alarm evaluated 04:28–04:30 failed at 04:31:55; the window read then ends on the same minute.
    let end = t("2025-10-12T04:30:00.000+0000");
    let mut bad = vec![0.0; 27];
    bad.extend([1.0, 1.0, 1.0]);
    let mut i = instance(&Instance {
        id: "i-0d1e2f3a4b5c6d7e8",
        ty: "c6i.xlarge",
        name: "prod-web-2",
        env: Some("production"),
        az: "ap-northeast-2c",
        ip: "10.1.30.8",
        public_ip: None,
    });
    i.tags
        .insert("aws:autoscaling:groupName".into(), "prod-web-asg".into());
    Facts {
        instance: found(i),
        status: Source::Available(status("ok", "impaired", "ok")),
        instance_type: Source::Available(type_facts("c6i.xlarge", 4, 8192)),
        metrics: Source::Available(window(
            end,
            vec![
                (Role::Alarm, series(end, &bad)),
                (Role::StatusInstance, series(end, &bad)),
                (Role::StatusSystem, zeros(end)),
                (Role::Cpu, series(end, &flat(30, 35.0, 5.0))),
            ],
            8,
        )),
        // OK since 2 October (the event's previous state): no ALARM in the last 7 days.
        history: Source::Available(history(&[])),
        security_groups: Source::Available(sg(
            "prod-web-sg",
            &[(80, "0.0.0.0/0"), (443, "0.0.0.0/0")],
        )),
        volumes: Source::Available(vol("gp3", 30, true)),
        ledger: Source::Available(Default::default()),
        diagnostics: None,
        ranking: None,
        contributors: None,
        evidence: Default::default(),
        silencers: Default::default(),
    }
}

pub fn ok_recovery() -> Facts {
    let mut f = cpu_spike("t3.small", None);
    let end = t("2025-07-20T12:40:00.000+0000");
    let mut cpu = vec![0.3; 8];
    cpu.extend([39.58, 88.2, 91.0, 90.4, 62.0, 21.5, 8.3, 4.1, 3.5]);
    cpu.extend(vec![3.2; 13]);
    cpu[29] = 3.12;
    let cpu = series(end, &cpu);
    if let Source::Available(w) = &mut f.metrics {
        w.series.insert(Role::Alarm, cpu.clone());
        w.series.insert(Role::Cpu, cpu);
        w.series
            .insert(Role::NetworkIn, series(end, &flat(30, 150_000.0, 10_000.0)));
        // The window is read at the OK transition: every series and the window itself end there.
        for role in [Role::NetworkOut, Role::CpuCredits] {
            if let Some(values) = w.series.get(&role).map(Series::values) {
                w.series.insert(role, series(end, &values));
            }
        }
        w.start = Some(end - Duration::minutes(29));
        w.end = Some(end + Duration::minutes(1));
    }
    // The ALARM this OK ends (cpu-spike.json) is the alarm's latest.
    f.history = Source::Available(history(&[
        "2025-07-18T03:02:11.000+0000",
        "2025-07-20T12:20:28.989+0000",
    ]));
    f
}

pub fn insufficient_data() -> Facts {
    let mut f = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut f.instance {
        i.state = ec2ops::facts::InstanceState::Stopped;
    }
    // EC2 runs no status checks on a stopped instance: DescribeInstanceStatus says not-applicable.
    f.status = Source::Available(status("not-applicable", "not-applicable", "not-applicable"));
    f.metrics = Source::Available(MetricWindow {
        period_secs: 60,
        metrics_requested: 8,
        ..Default::default()
    });
    // The CPU alarm's history a day after cpu-sustained.json: that ALARM and the OK that followed (the event's
    // previous state) are in it too.
    f.history = Source::Available(AlarmHistory {
        items: [
            ("2025-08-09T02:58:00.000+0000", "OK to ALARM"),
            ("2025-08-11T03:04:00.000+0000", "OK to ALARM"),
            ("2025-08-12T03:01:00.000+0000", "OK to ALARM"),
            ("2025-08-13T03:05:00.000+0000", "OK to ALARM"),
            ("2025-08-14T03:07:41.512+0000", "OK to ALARM"),
            ("2025-08-14T03:24:52.338+0000", "ALARM to OK"),
        ]
        .iter()
        .map(|(at, change)| HistoryItem {
            at: t(at),
            summary: format!("Alarm updated from {change}"),
        })
        .collect(),
    });
    f
}

/// prod-api-1 under memory and disk pressure, with a gp2 volume out of burst credits.
pub fn pressure() -> Facts {
    let mut f = cpu_sustained();
    let end = t("2025-08-14T03:06:00.000+0000");
    if let Source::Available(w) = &mut f.metrics {
        let mut cpu = flat(30, 41.0, 4.0);
        cpu[29] = 44.0;
        // Memory rises to the threshold (85 %) and past it for the five minutes the memory alarm evaluated
        // (memory-high.json); the root disk likewise past 90 % for the five minutes of its alarm (disk-full.json).
        let mut mem: Vec<f64> = (0..25).map(|i| 62.0 + i as f64 * 0.95).collect();
        mem.extend([88.1, 90.4, 91.7, 93.2, 94.8]);
        let mut root: Vec<f64> = (0..25).map(|i| 86.0 + i as f64 * 0.16).collect();
        root.extend([91.2, 92.0, 92.9, 93.5, 94.1]);
        let mut disk_root = series(end, &root);
        disk_root.name = "disk_used_percent".into();
        disk_root.dimension = Some("/".into());
        let mut disk_data = series(end, &[41.0; 30]);
        disk_data.name = "disk_used_percent".into();
        disk_data.dimension = Some("/data".into());
        let mut burst = series(
            end,
            &(0..30).map(|i| 60.0 - i as f64 * 1.9).collect::<Vec<_>>(),
        );
        burst.name = "BurstBalance".into();
        burst.dimension = Some("vol-0f1e2d3c4b5a69788".into());
        w.series.insert(Role::Cpu, series(end, &cpu));
        w.series.insert(Role::Alarm, series(end, &mem));
        w.series.insert(Role::Memory, series(end, &mem));
        w.series.insert(Role::Disk(0), disk_root);
        w.series.insert(Role::Disk(1), disk_data);
        w.series.insert(Role::Burst(0), burst);
        w.metrics_requested = 11;
    }
    f.volumes = Source::Available(vol("gp2", 100, true));
    // The memory alarm's own history: it last changed state before the window (the event's previous state) and
    // has not been in ALARM in the last 7 days.
    f.history = Source::Available(history(&[]));
    f
}

/// The same host, for its root-disk alarm: the alarm's own series is the disk's, not the memory's.
pub fn disk_pressure() -> Facts {
    let mut f = pressure();
    if let Source::Available(w) = &mut f.metrics {
        if let Some(disk) = w.series.get(&Role::Disk(0)).cloned() {
            w.series.insert(Role::Alarm, disk);
        }
    }
    f
}

/// prod-api-1 stopped by AWS (host failure), as DescribeInstances tells it after the state change.
pub fn stopped_by_aws() -> Facts {
    let mut f = cpu_sustained();
    if let Source::Available(InstanceLookup::Found(i)) = &mut f.instance {
        i.state = ec2ops::facts::InstanceState::Stopped;
        i.state_reason_code = Some("Server.InternalError".into());
        i.state_reason = Some("Server.InternalError: Internal error on launch".into());
    }
    f.status = Source::Available(status("not-applicable", "not-applicable", "not-applicable"));
    f.metrics = Source::Available(MetricWindow {
        period_secs: 60,
        metrics_requested: 8,
        ..Default::default()
    });
    // A state change is no alarm: DescribeAlarmHistory has nothing under its name.
    f.history = Source::Available(history(&[]));
    f
}

/// Facts for an event file, or `None` for the degraded (all unavailable) path.
pub fn scenario(file: &str) -> Option<Facts> {
    Some(match file {
        // The lab's VPC02-Private-B, as the contributor of the per-instance fleet alarm.
        "cpu-spike.json" => cpu_spike("t3.small", None),
        // The fleet alarms are other alarms, with histories of their own: no ALARM in the last 7 days.
        "fleet-contributor-alarm.json" | "fleet-contributor-action.json" => Facts {
            history: Source::Available(history(&[])),
            ..cpu_spike("t3.small", None)
        },
        // The lab's unified alarm: the fleet ranked by Metrics Insights, VPC02-Private-B on top and analysed.
        "fleet-insights-alarm.json" => Facts {
            ranking: Some(Source::Available(lab_ranking())),
            history: Source::Available(history(&[])),
            ..cpu_spike("t3.small", None)
        },
        "cpu-sustained.json" => {
            let mut f = Facts {
                diagnostics: Some(recorded("cpu-bound-java.txt")),
                ..cpu_sustained()
            };
            f.evidence.impact = Some(Source::Available(api_behind_alb()));
            f
        }
        "alarm-action.json" => Facts {
            diagnostics: Some(recorded("cpu-bound-java.txt")),
            ..cpu_sustained()
        },
        // The alarm-level event of the per-instance alarm: a summary of the contributors in ALARM, no instance facts.
        "fleet-multi-series-alarm.json" => Facts {
            contributors: Some(Source::Available(vec![ec2ops::facts::InAlarm {
                id: "8c1f4e7a2b9d3605".into(),
                attributes: BTreeMap::from([(
                    "InstanceId".to_string(),
                    "i-0ae3d067021f08710".to_string(),
                )]),
                reason: "Threshold Crossed: 1 datapoint was greater than the threshold (20.0). The most recent \
                         datapoint which crossed the threshold: [39.58 (20/07/25 12:19:00)]."
                    .into(),
                since: Some(t("2025-07-20T12:20:31.204+0000")),
                name: Some("VPC02-Private-B".into()),
                instance_type: Some("t3.small".into()),
                environment: None,
            }])),
            ..Facts::unavailable(Gap::SummaryOnly)
        },
        "change-before.json" => evidence::change_before(),
        "instance-check-oom.json" => evidence::instance_check_oom(),
        "cpu-credits.json" => cpu_credits(),
        "status-system.json" => prod_db(Role::StatusSystem, "2025-10-11T22:13:00.000+0000"),
        "status-ebs.json" => prod_db(Role::StatusEbs, "2025-10-13T09:01:00.000+0000"),
        "status-instance.json" => status_instance(),
        // The same failure while the owner's maintenance window (until 15:00 KST) is declared on the instance: a P0
        // status-check failure, so the report breaks through the window's quiet; the action stays held.
        "status-instance-maintenance.json" => {
            let mut f = status_instance();
            if let Source::Available(InstanceLookup::Found(i)) = &mut f.instance {
                i.tags.insert(
                    ec2ops::remediation::maintenance::TAG.into(),
                    "2025-10-12T15:00:00+09:00".into(),
                );
            }
            f
        }
        "ok-recovery.json" => ok_recovery(),
        "fleet-contributor-ok.json" => Facts {
            history: Source::Available(history(&[])),
            ..ok_recovery()
        },
        "insufficient-data.json" => insufficient_data(),
        "memory-high.json" => pressure(),
        "disk-full.json" => disk_pressure(),
        "state-stopped.json" => stopped_by_aws(),
        "health-retirement.json" => {
            let mut f = prod_db(Role::Cpu, "2025-11-18T08:59:00.000+0000");
            f.status = Source::Available(status("ok", "ok", "ok"));
            // A Health event names no metric of its own.
            if let Source::Available(w) = &mut f.metrics {
                w.series.remove(&Role::Alarm);
            }
            f
        }
        _ => return None,
    })
}

/// prod-api-1 behind its Application Load Balancer, still healthy in its target group while the saturated CPU makes
/// the API answer 4 % of requests with a 5xx.
pub fn api_behind_alb() -> ec2ops::evidence::impact::CustomerImpact {
    use ec2ops::evidence::impact::{CustomerImpact, Served, Target};
    CustomerImpact {
        targets: vec![Target {
            group_arn: "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:targetgroup/prod-api-tg/6d0ecf831eec9f09"
                .into(),
            group_name: "prod-api-tg".into(),
            port: Some(8080),
            load_balancers: vec![
                "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:loadbalancer/app/prod-api/50dc6c495c0c9188"
                    .into(),
            ],
            state: "healthy".into(),
            reason: None,
        }],
        groups_checked: 3,
        groups_total: 3,
        served: Some(Ok(vec![Served {
            group_name: "prod-api-tg".into(),
            minutes: 10,
            requests: Some(11_950.0),
            target_5xx: Some(478.0),
            response_secs: Some(1.84),
        }])),
    }
}

/// The lab's fleet as the Metrics Insights path ranks it for `EC2-Fleet-HighCPU-Threshold-Count` (threshold 20 %):
/// VPC02-Private-B at the lab's trend, two more instances above the threshold, two below.
pub fn lab_ranking() -> ec2ops::facts::Ranking {
    let end = t("2025-07-20T12:20:00.000+0000");
    let start = t("2025-07-20T12:15:00.000+0000");
    let row = |id: &str, name: &str, ty: &str, az: &str, values: [f64; 5]| {
        let recent: Vec<_> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (start + chrono::Duration::minutes(i as i64), *v))
            .collect();
        let (peak_at, peak) = recent
            .iter()
            .copied()
            .reduce(|a, b| if b.1 > a.1 { b } else { a })
            .unwrap();
        ec2ops::facts::Ranked {
            instance_id: id.into(),
            peak,
            peak_at,
            recent,
            breaching: Some(peak > 20.0),
            name: Some(name.into()),
            instance_type: Some(ty.into()),
            availability_zone: Some(az.into()),
            environment: None,
        }
    };
    ec2ops::facts::Ranking {
        path: ec2ops::facts::RankPath::MetricsInsights,
        start,
        end,
        period_secs: 60,
        rows: vec![
            row(
                "i-0ae3d067021f08710",
                "VPC02-Private-B",
                "t3.small",
                "ap-northeast-2b",
                [0.28, 0.26, 0.24, 1.75, 39.58],
            ),
            row(
                "i-0c41d9e2b7a835f01",
                "VPC02-Private-A",
                "m5.large",
                "ap-northeast-2a",
                [22.1, 23.4, 24.3, 23.8, 22.9],
            ),
            row(
                "i-0d5a7e3c19b2f4682",
                "VPC01-Batch-1",
                "c5.large",
                "ap-northeast-2c",
                [18.2, 19.6, 21.7, 20.4, 19.9],
            ),
            row(
                "i-0e6b8f4d2ac3057a3",
                "VPC01-Public-A",
                "t3.micro",
                "ap-northeast-2a",
                [11.8, 12.4, 12.1, 11.6, 12.0],
            ),
            row(
                "i-0f7c9a5e3bd4168b4",
                "VPC01-Private-A",
                "t3.medium",
                "ap-northeast-2c",
                [4.2, 4.8, 5.1, 4.6, 4.4],
            ),
        ],
        series: 5,
        breaching: 3,
        more_may_breach: false,
        capped: None,
        fallback: None,
        caveat: None,
    }
}
