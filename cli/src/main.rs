//! `ec2ops` command line: runs exactly the pipeline the Lambda function runs, on an event file.

mod incidents;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use ec2ops::budget::Budget;
use ec2ops::config::{Language, Settings};
use ec2ops::event::{parse_bytes, Parsed};
use ec2ops::pipeline::{HandleError, Outcome, Responder};
use ec2ops::ports::Offline;

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
    /// List the incidents recorded in the ledger (EC2OPS_LEDGER_TABLE), oldest first; `show KEY` prints one
    /// incident's full report.
    #[command(args_conflicts_with_subcommands = true)]
    Incidents {
        #[command(subcommand)]
        show: Option<IncidentsCommand>,
        /// How far back: 90s, 30m, 2h, 1d (at most 7d, how long the ledger keeps incidents).
        #[arg(long, default_value = "2h")]
        since: String,
        /// Only this instance's incidents.
        #[arg(long)]
        instance: Option<String>,
    },
}

#[derive(Subcommand)]
enum IncidentsCommand {
    /// Print one incident's full report, as recorded when it was handled.
    Show {
        /// The incident key (as a digest or the listing prints it).
        key: String,
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

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (event_file, offline, format, publish, language, budget_seconds) = match cli.command {
        Command::Incidents {
            show,
            since,
            instance,
        } => return look_back(show, &since, instance.as_deref()).await,
        Command::Respond {
            event_file,
            offline,
            format,
            publish,
            language,
            budget_seconds,
        } => (
            event_file,
            offline,
            format,
            publish,
            language,
            budget_seconds,
        ),
    };
    let mut settings = Settings::from_env()?;
    if let Some(l) = language.as_deref().and_then(Language::parse) {
        settings.language = l;
    }
    let bytes = read_event(&event_file)?;
    // Parse once up front: a malformed file fails before any client is built, and the event's region picks the
    // region of the clients.
    let region = event_region(&bytes)?;
    let event: serde_json::Value = serde_json::from_slice(&bytes)?;
    let responder = if offline {
        Responder::new(settings, Arc::new(Offline), Arc::new(Offline))
    } else {
        on_aws(region, &settings, publish).await?
    };
    let now = Utc::now();
    let budget = Budget::new(std::time::Duration::from_secs(budget_seconds), now);
    let outcome = responder.respond(&event, now, budget).await?;
    print_outcome(outcome, format)?;
    Ok(ExitCode::SUCCESS)
}

/// `ec2ops incidents`: list, or show one (exit 1 when it is not in the ledger).
async fn look_back(
    show: Option<IncidentsCommand>,
    since: &str,
    instance: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let Some(table) = settings.ledger_table.as_deref() else {
        anyhow::bail!(
            "{} is not set: the incidents are in the ledger table",
            ec2ops::config::names::LEDGER_TABLE
        );
    };
    let config = ec2ops::aws::sdk_config(None).await;
    let log = ec2ops::aws::AwsClients::from_config(&config).storm(table);
    match show {
        Some(IncidentsCommand::Show { key }) => {
            match ec2ops::storm::IncidentLog::show(&log, &key).await? {
                Some(i) => print!("{}", incidents::format_show(&i)),
                None => {
                    eprintln!("ec2ops: no incident {key} in {table} (kept 7 days)");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        None => {
            let since = incidents::parse_since(since)?;
            let list = incidents::list(&log, since, instance, Utc::now()).await?;
            print!("{}", incidents::format_list(&list));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The region of the event's resources, when it names one.
fn event_region(bytes: &[u8]) -> Result<Option<String>, HandleError> {
    Ok(match parse_bytes(bytes) {
        Err(e) => return Err(HandleError::Malformed(e)),
        Ok(Parsed::Alarm(c)) => c.region.clone(),
        Ok(Parsed::Verify(v)) => v.region.clone(),
        Ok(Parsed::Health(changes)) => changes.first().and_then(|c| c.region.clone()),
        Ok(Parsed::Continue(c)) => c.region.clone(),
        Ok(Parsed::SweepItem(i)) => i.availability_zone.as_deref().map(|az| {
            az.trim_end_matches(|c: char| c.is_ascii_lowercase())
                .to_string()
        }),
        Ok(Parsed::Ignored { .. } | Parsed::Sweep) => None,
    })
}

/// The responder the function builds, in `region`, as a command line runs it.
async fn on_aws(
    region: Option<String>,
    settings: &Settings,
    publish: bool,
) -> anyhow::Result<Responder> {
    if publish {
        settings.require_topic()?;
    }
    let mut r = Responder::from_aws(&ec2ops::aws::sdk_config(region).await, settings);
    // The CLI acts like the function (dry-run by default); it has no function ARN, so no verification schedule.
    if let Some(a) = &mut r.actors {
        a.scheduler = None;
    }
    if !publish {
        r.delivery = None;
    }
    // Sweeps and Health events are handled inline here, whatever work queue the function fans out to.
    r.queue = None;
    Ok(r)
}

/// What became of the event: the report on standard output, one line about it on standard error.
fn print_outcome(outcome: Outcome, format: Format) -> anyhow::Result<()> {
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
        Outcome::Digest {
            window,
            incidents,
            message_id,
            already,
        } => {
            if already {
                eprintln!("digest of window {window}: already published");
            } else {
                eprintln!(
                    "digest of window {window}: {incidents} incident(s){}",
                    message_id
                        .map(|id| format!(", published as {id}"))
                        .unwrap_or_default()
                );
            }
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
        Ok(code) => code,
        Err(e) => {
            eprintln!("ec2ops: {e:#}");
            ExitCode::from(2)
        }
    }
}
