//! Demo helper for `scripts/demo.sh`: seeds the seed incident into the local emulator and reads back what the
//! responder published.
//!
//!   demo seed <OUT_DIR>      seed instance, metrics, alarm, topic + SQS queue; write OUT_DIR/event.json and OUT_DIR/env
//!   demo receive <QUEUE_URL> print the notification that reached the queue (subject and report)

use std::time::Duration;

use ec2ops_tests::{event_for, seed_cpu_spike, Emulator};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let Some(emu) = Emulator::connect().await else {
        return std::process::ExitCode::FAILURE;
    };
    match (args.get(1).map(String::as_str), args.get(2)) {
        (Some("seed"), Some(dir)) => {
            let (id, at) = seed_cpu_spike(&emu).await;
            let (topic, queue) = emu.topic_with_queue("ec2ops-demo").await;
            let event = event_for("cpu-spike.json", &id, at);
            let dir = std::path::Path::new(dir);
            let write = |name: &str, text: String| {
                std::fs::write(dir.join(name), text)
                    .map_err(|e| eprintln!("demo: writing {name}: {e}"))
            };
            let pretty = serde_json::to_string_pretty(&event).unwrap_or_default();
            if write("event.json", pretty).is_err()
                || write(
                    "env",
                    format!("EC2OPS_TOPIC_ARN={topic}\nDEMO_QUEUE_URL={queue}\n"),
                )
                .is_err()
            {
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
            eprintln!("usage: demo seed <OUT_DIR> | demo receive <QUEUE_URL>");
            std::process::ExitCode::from(2)
        }
    }
}
