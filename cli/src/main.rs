//! `ec2ops` command line: runs exactly the pipeline the Lambda function runs, on an event file.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use ec2ops::aws::AwsClients;
use ec2ops::budget::Budget;
use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, Parsed};
use ec2ops::gather::Readers;
use ec2ops::pipeline::{Actors, Delivery, HandleError, Outcome, Responder};
use ec2ops::ports::{Diagnostics, Ledger, Offline};

#[derive(Parser)]
#[command(
    name = "ec2ops",
    version,
    about = "EC2 incident responder: alarm event in, seven-section report out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the responder on one event (EventBridge alarm state change or alarm-action payload).
    Respond {
        /// Event JSON file, or `-` for standard input.
        event_file: PathBuf,
        /// Make no AWS call at all: every source is reported unavailable (the degraded path).
        #[arg(long, conflicts_with = "publish")]
        offline: bool,
        /// What to print on standard output.
        #[arg(long, value_enum, default_value_t = Format::Email)]
        format: Format,
        /// Also publish the report to the topic in EC2OPS_TOPIC_ARN.
        #[arg(long)]
        publish: bool,
        /// Report language (overrides EC2OPS_LANGUAGE).
        #[arg(long, value_parser = ["ko", "en"])]
        language: Option<String>,
        /// The time budget every AWS call is carved from, as the function's timeout is in Lambda.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=900))]
        budget_seconds: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// The plain-text report (the email body).
    Email,
    /// The AWS Chatbot custom notification JSON.
    Chatbot,
    /// The exact SNS message published (MessageStructure=json).
    Sns,
}

fn read_event(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the event from standard input")?;
        Ok(buf)
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let Command::Respond {
        event_file,
        offline,
        format,
        publish,
        language,
        budget_seconds,
    } = cli.command;
    let budget = |now| Budget::new(std::time::Duration::from_secs(budget_seconds), now);
    let mut settings = Settings::from_env()?;
    if let Some(l) = language.as_deref().and_then(Language::parse) {
        settings.language = l;
    }
    let bytes = read_event(&event_file)?;
    // Parse once up front: a malformed file fails before any client is built, and the event's region picks the
    // region of the clients.
    let region = match parse_bytes(&bytes) {
        Err(e) => return Err(HandleError::Malformed(e).into()),
        Ok(Parsed::Alarm(c)) => c.region.clone(),
        Ok(Parsed::Verify(v)) => v.region.clone(),
        Ok(Parsed::Health(changes)) => changes.first().and_then(|c| c.region.clone()),
        Ok(Parsed::Continue(c)) => c.region.clone(),
        Ok(Parsed::SweepItem(i)) => i.availability_zone.as_deref().map(|az| {
            az.trim_end_matches(|c: char| c.is_ascii_lowercase())
                .to_string()
        }),
        Ok(Parsed::Ignored { .. } | Parsed::Sweep) => None,
    };
    let event: serde_json::Value = serde_json::from_slice(&bytes)?;

    let outcome = if offline {
        let readers = Readers {
            ec2: &Offline,
            metrics: &Offline,
            ledger: None,
            diagnostics: None,
            evidence: ec2ops::evidence::read::EvidenceReaders::NONE,
        };
        let now = Utc::now();
        Responder {
            readers,
            actors: None,
            delivery: None,
            queue: None,
            settings: &settings,
        }
        .respond(&event, now, budget(now))
        .await?
    } else {
        let clients = AwsClients::load(region).await;
        let ledger = settings.ledger_table.as_deref().map(|t| clients.ledger(t));
        let diagnostics = settings
            .diagnostics_document
            .as_ref()
            .map(|_| clients.diagnostics());
        let readers = Readers {
            ec2: &clients.ec2,
            metrics: &clients.cloudwatch,
            ledger: ledger.as_ref().map(|l| l as &dyn Ledger),
            diagnostics: diagnostics.as_ref().map(|d| d as &dyn Diagnostics),
            evidence: clients.evidence(),
        };
        // The CLI acts like the function (dry-run by default); it has no function ARN, so no verification schedule.
        let actors = Actors {
            remediator: &clients.remediator,
            scheduler: None,
            function_arn: None,
        };
        let topic = if publish {
            Some(settings.require_topic()?.to_string())
        } else {
            None
        };
        let delivery = topic.as_deref().map(|t| Delivery {
            publisher: &clients.sns,
            topic_arn: t,
        });
        let now = Utc::now();
        Responder {
            readers,
            actors: Some(actors),
            delivery,
            queue: None,
            settings: &settings,
        }
        .respond(&event, now, budget(now))
        .await?
    };

    match outcome {
        Outcome::Ignored {
            source,
            detail_type,
        } => {
            eprintln!("ignored: source {source:?}, detail-type {detail_type:?} is not an input ec2ops handles");
        }
        Outcome::Health { outcomes } => {
            for o in &outcomes {
                if let Outcome::Reported(incident) = o {
                    let published: serde_json::Value =
                        serde_json::from_str(&incident.message.message)?;
                    print!("{}", published["email"].as_str().unwrap_or_default());
                    eprintln!(
                        "{} · subject: {}",
                        incident.assessment.priority.label(),
                        incident.message.subject
                    );
                }
            }
        }
        Outcome::Swept { impaired, outcomes } => {
            let reported = outcomes
                .iter()
                .filter(|o| matches!(o, Outcome::Reported(_)))
                .count();
            eprintln!("sweep: {impaired} impaired instance(s), {reported} new report(s)");
        }
        Outcome::Duplicate { incident_key } => {
            eprintln!("duplicate: incident {incident_key} was already handled (ledger)");
        }
        Outcome::Covered { incident_key, by } => {
            eprintln!("covered: incident {incident_key} is named by the AZ-EVENT report of {by}");
        }
        Outcome::Deferred {
            incident_key,
            until,
        } => {
            eprintln!("in progress: incident {incident_key} is handled by another delivery; redelivery at {until}");
        }
        Outcome::FannedOut { what, enqueued } => {
            eprintln!("{what}: {enqueued} incident(s) sent to the work queue");
        }
        Outcome::Continued {
            instance_id,
            state,
            step,
            next_at,
            ..
        } => {
            eprintln!(
                "recover of {instance_id}: state {}, {step}{}",
                state.as_deref().unwrap_or("unknown"),
                next_at
                    .map(|t| format!(", next at {t}"))
                    .unwrap_or_default()
            );
        }
        Outcome::Verified { message, fixed, .. } => {
            let published: serde_json::Value = serde_json::from_str(&message.message)?;
            print!("{}", published["email"].as_str().unwrap_or_default());
            eprintln!(
                "verification: {} · subject: {}",
                if fixed { "fixed" } else { "not fixed" },
                message.subject
            );
        }
        Outcome::Reported(incident) => {
            let published: serde_json::Value = serde_json::from_str(&incident.message.message)?;
            match format {
                Format::Email => print!("{}", published["email"].as_str().unwrap_or_default()),
                Format::Chatbot => {
                    let chat: serde_json::Value =
                        serde_json::from_str(published["default"].as_str().unwrap_or("null"))?;
                    println!("{}", serde_json::to_string_pretty(&chat)?);
                }
                Format::Sns => println!("{}", incident.message.message),
            }
            eprintln!(
                "{} · subject: {}{}",
                incident.assessment.priority.label(),
                incident.message.subject,
                incident
                    .message_id
                    .map(|id| format!(" · published as {id}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ec2ops: {e:#}");
            ExitCode::from(2)
        }
    }
}
