//! Demo helper for `scripts/demo.sh`: seeds the lab's scenarios into the local emulator and reads back what the
//! responder published.
//!
//!   demo seed-fleet <OUT_DIR> seed the lab's fleet (VPC02-Private-B spiking, four cooler instances), topic + SQS
//!                             queue; write OUT_DIR/event.json (the unified fleet alarm, now) and OUT_DIR/env
//!   demo seed <OUT_DIR>       seed instance, metrics, alarm, topic + SQS queue; write OUT_DIR/event.json and OUT_DIR/env
//!   demo receive <QUEUE_URL>  print the notification that reached the queue (subject and report)

use std::time::Duration;

use ec2ops_tests::{event_for, fleet_event, seed_cpu_spike, seed_fleet, Emulator};

/// Write the event and the environment of a scenario into `dir`.
fn write(dir: &str, event: &serde_json::Value, topic: &str, queue: &str) -> bool {
    let dir = std::path::Path::new(dir);
    let put = |name: &str, text: String| {
        std::fs::write(dir.join(name), text)
            .map_err(|e| eprintln!("demo: writing {name}: {e}"))
            .is_ok()
    };
    put(
        "event.json",
        serde_json::to_string_pretty(event).unwrap_or_default(),
    ) && put(
        "env",
        format!("EC2OPS_TOPIC_ARN={topic}\nDEMO_QUEUE_URL={queue}\n"),
    )
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(emu) = Emulator::connect().await else {
        return std::process::ExitCode::FAILURE;
    };
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("seed-fleet"), Some(dir)) => {
            let fleet = seed_fleet(&emu, "CPUUtilization").await;
            let (topic, queue) = emu.topic_with_queue("ec2ops-demo-fleet").await;
            if !write(
                dir,
                &fleet_event("CPUUtilization", fleet.at),
                &topic,
                &queue,
            ) {
                return std::process::ExitCode::FAILURE;
            }
            eprintln!(
                "demo: seeded the lab's fleet: {} (t3.small VPC02-Private-B, CPU 0.28% → 0.26% → 0.24% → 1.75% → 39.58%)",
                fleet.hot
            );
            for (id, name, peak) in &fleet.others {
                eprintln!("demo:   and {id} ({name}), CPU peak {peak:.2}%");
            }
            std::process::ExitCode::SUCCESS
        }
        (Some("seed"), Some(dir)) => {
            let (id, at) = seed_cpu_spike(&emu).await;
            let (topic, queue) = emu.topic_with_queue("ec2ops-demo").await;
            if !write(dir, &event_for("cpu-spike.json", &id, at), &topic, &queue) {
                return std::process::ExitCode::FAILURE;
            }
            eprintln!("demo: seeded {id} (t3.small VPC02-Private-B): 30 min of CPU ending 0.28% → 0.26% → 0.24% → 1.75% → 39.58%, 3.32 MB NetworkIn burst, SSH open to 0.0.0.0/0, alarm EC2-HighCPU-VPC02-Private-B");
            std::process::ExitCode::SUCCESS
        }
        (Some("receive"), Some(queue)) => {
            let got = emu.notifications(queue, Duration::from_secs(10)).await;
            let Some(n) = got.first() else {
                eprintln!("demo: nothing arrived on the queue within 10 s");
                return std::process::ExitCode::FAILURE;
            };
            println!("Subject: {}\n\n{}", n.subject, n.message);
            std::process::ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "usage: demo seed-fleet <OUT_DIR> | demo seed <OUT_DIR> | demo receive <QUEUE_URL>"
            );
            std::process::ExitCode::from(2)
        }
    }
}
