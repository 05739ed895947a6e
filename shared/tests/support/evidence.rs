//! Facts with the evidence sources (CloudTrail, CloudWatch Logs, DescribeAlarms) for the change-before and
//! log-evidenced sample events.

use chrono::{DateTime, Duration, Utc};
use ec2ops::evidence::alarms::{self, ListedAlarm};
use ec2ops::evidence::changes::{Changes, Lookup, TrailEvent};
use ec2ops::evidence::logs::{self, RawLine};
use ec2ops::evidence::Evidence;
use ec2ops::facts::{Facts, Source};

fn t(s: &str) -> DateTime<Utc> {
    ec2ops::event::parse_timestamp(s).expect("timestamp")
}

/// A recorded `LookupEvents` answer (`shared/tests/fixtures/cloudtrail/NAME`), read as the adapter reads it.
pub fn recorded_lookup(name: &str) -> Vec<TrailEvent> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cloudtrail")
        .join(name);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("json");
    v["Events"]
        .as_array()
        .expect("Events")
        .iter()
        .map(|e| {
            TrailEvent {
                id: e["EventId"].as_str().unwrap_or_default().into(),
                name: e["EventName"].as_str().unwrap_or_default().into(),
                source: e["EventSource"].as_str().unwrap_or_default().into(),
                at: DateTime::from_timestamp(e["EventTime"].as_i64().unwrap_or_default(), 0)
                    .expect("time"),
                username: e["Username"].as_str().map(str::to_string),
                read_only: e["ReadOnly"].as_str().map(|r| r == "true"),
                resources: e["Resources"]
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter_map(|x| x["ResourceName"].as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..TrailEvent::default()
            }
            .with_record(e["CloudTrailEvent"].as_str())
        })
        .collect()
}

fn lookups(at: DateTime<Utc>, events: Vec<TrailEvent>, resources: &[&str]) -> Source<Changes> {
    let lookups = resources
        .iter()
        .map(|r| Lookup {
            resource: r.to_string(),
            events: Ok(events
                .iter()
                .filter(|e| e.resources.iter().any(|x| x == r))
                .cloned()
                .collect()),
        })
        .collect();
    Changes::assemble(
        at - Duration::hours(6),
        at + Duration::seconds(5),
        60,
        lookups,
    )
}

/// prod-api-1 (cpu-sustained's instance) resized from m5.2xlarge to m5.large 27 minutes before its CPU alarm: stop,
/// modify, start by one engineer from the console; an older security-group change by Terraform; no log group set.
pub fn change_before() -> Facts {
    let at = t("2025-08-14T03:07:41.512+0000");
    let events = recorded_lookup("prod-api-1-resize.json");
    let mut f = super::cpu_sustained();
    // EC2 sets LaunchTime on every start: the console's StartInstances at 02:41:37 (the instance was running a
    // second later).
    if let Source::Available(ec2ops::facts::InstanceLookup::Found(i)) = &mut f.instance {
        i.launch_time = Some(t("2025-08-14T02:41:38.000+0000"));
    }
    // Stopped from 02:38:12 to 02:41:37: no datapoint for the minutes it was not running.
    if let Source::Available(w) = &mut f.metrics {
        let (stopped, started) = (
            t("2025-08-14T02:38:00.000+0000"),
            t("2025-08-14T02:41:00.000+0000"),
        );
        for s in w.series.values_mut() {
            s.points.retain(|(at, _)| *at < stopped || *at > started);
        }
    }
    f.evidence = Evidence {
        changes: Some(lookups(
            at,
            events,
            &[
                "i-0b7e4c2d9a1f35c60",
                "sg-0a1b2c3d4e5f60718",
                "vol-0f1e2d3c4b5a69788",
            ],
        )),
        logs: Some(logs::assemble(at, "i-0b7e4c2d9a1f35c60", Vec::new())),
        alarms: Some(Source::Available(alarms::on_instance(
            "i-0b7e4c2d9a1f35c60",
            "prod-api-1-cpu-high",
            &[],
            false,
        ))),
        impact: None,
    };
    f
}

/// prod-web-2 (status-instance's instance) failing its instance check after the OOM killer, as its
/// `/var/log/messages` stream says; its memory alarm went off 19 minutes earlier; nothing changed in CloudTrail.
pub fn instance_check_oom() -> Facts {
    let at = t("2025-10-12T04:31:55.870+0000");
    let id = "i-0d1e2f3a4b5c6d7e8";
    let line = |s: &str, stream: &str, m: &str| RawLine {
        stream: stream.into(),
        at: t(s),
        message: m.into(),
    };
    let messages = vec![
        line("2025-10-12T04:24:10.000+0000", id, "systemd[1]: Started Session 412 of user ec2-user."),
        line(
            "2025-10-12T04:27:31.000+0000",
            id,
            "kernel: node invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0",
        ),
        line(
            "2025-10-12T04:27:31.000+0000",
            id,
            "kernel: Out of memory: Killed process 2817 (node) total-vm:9832120kB, anon-rss:7433412kB, file-rss:0kB, shmem-rss:0kB, UID:1001 pgtables:15220kB oom_score_adj:0",
        ),
        line(
            "2025-10-12T04:28:02.000+0000",
            id,
            "kernel: INFO: task jbd2/nvme0n1p1-8:231 blocked for more than 120 seconds.",
        ),
        line("2025-10-12T04:29:40.000+0000", id, "systemd[1]: web.service: Main process exited, code=killed, status=9/KILL"),
    ];
    let app = vec![
        line(
            "2025-10-12T04:26:58.000+0000",
            &format!("{id}/web"),
            "ERROR [api] request failed: Error: connect ECONNREFUSED 10.1.40.12:5432 (token=eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.abc)",
        ),
        line("2025-10-12T04:27:12.000+0000", &format!("{id}/web"), "WARN heap used 7.1 GiB of 7.5 GiB"),
    ];
    let mut f = super::status_instance();
    f.evidence = Evidence {
        changes: Some(lookups(
            at,
            Vec::new(),
            &[id, "sg-0a1b2c3d4e5f60718", "vol-0f1e2d3c4b5a69788"],
        )),
        logs: Some(logs::assemble(
            at,
            id,
            vec![
                ("/ec2/var/log/messages".into(), Ok(messages)),
                ("/ec2/prod-web/app".into(), Ok(app)),
                ("/ec2/nginx/error".into(), Err(logs::ReadError::NotFound)),
            ],
        )),
        alarms: Some(Source::Available(alarms::on_instance(
            id,
            "prod-web-2-instance-check",
            &[
                ListedAlarm {
                    name: "prod-web-2-mem-high".into(),
                    arn: Some(
                        "arn:aws:cloudwatch:ap-northeast-2:123456789012:alarm:prod-web-2-mem-high"
                            .into(),
                    ),
                    metrics: vec![(
                        "CWAgent".into(),
                        "mem_used_percent".into(),
                        vec![("InstanceId".into(), id.into())],
                    )],
                    since: Some(t("2025-10-12T04:12:30.000+0000")),
                    reason: None,
                },
                ListedAlarm {
                    name: "prod-web-2-instance-check".into(),
                    arn: None,
                    metrics: vec![(
                        "AWS/EC2".into(),
                        "StatusCheckFailed_Instance".into(),
                        vec![("InstanceId".into(), id.into())],
                    )],
                    since: Some(at),
                    reason: None,
                },
            ],
            false,
        ))),
        impact: None,
    };
    f
}
