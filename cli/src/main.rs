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
    ///
    /// Without --publish this is a preview: it only reads (EC2, CloudWatch, CloudTrail, CloudWatch Logs) and
    /// prints the report. It never writes the ledger — no claim, action record, impairment, AZ event, storm log or
    /// digest, even with EC2OPS_LEDGER_TABLE set —, never acts on or runs anything on an instance (no remediation,
    /// no in-guest diagnostics), and schedules, enqueues and publishes nothing: the function's own delivery of the
    /// same alarm is handled as if the preview had not run. With --publish the run is a delivery like the
    /// function's: it claims and records the incident in the ledger and acts within the remediation settings.
    Respond {
        /// Event JSON file, or `-` for standard input.
        event_file: PathBuf,
        /// Make no AWS call at all: every source is reported unavailable (the degraded path).
        #[arg(long, conflicts_with = "publish")]
        offline: bool,
        /// What to print on standard output.
        #[arg(long, value_enum, default_value_t = Format::Email)]
        format: Format,
        /// Deliver like the function: publish to EC2OPS_TOPIC_ARN, and with EC2OPS_LEDGER_TABLE claim and record
        /// the incident and act within the remediation settings. Without it: a read-only preview.
        #[arg(long)]
        publish: bool,
        /// Report language (overrides EC2OPS_LANGUAGE).
        #[arg(long, value_parser = ["ko", "en"])]
        language: Option<String>,
        /// The time budget every AWS call is carved from, as the function's timeout is in Lambda.
        #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(5..=900))]
        budget_seconds: u64,
    },
    /// Answer a proposed action (RemediationMode approve) by the nonce its report carries: approve it (or deny it with
    /// --deny) through the function's own handler. An approval moves the proposal only while it is pending and before
    /// its expiry, then checks the whole safety envelope again on fresh facts and acts, with this machine's
    /// credentials, only if it still allows; the outcome is posted in the incident's thread. Exit 0 when the answer
    /// was taken, 1 when the ledger refused it (unknown nonce, already decided, expired).
    Approve {
        /// The proposal's nonce (32 lowercase hex digits).
        nonce: String,
        /// Deny instead of approving: nothing is done, and that is final.
        #[arg(long)]
        deny: bool,
        /// Who answers, as the thread shows it (not proven: whoever may write the ledger may write it).
        #[arg(long, default_value = "ec2ops approve (command line)")]
        by: String,
        /// The time budget every AWS call is carved from.
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
        Command::Approve {
            nonce,
            deny,
            by,
            budget_seconds,
        } => return approve(&nonce, deny, &by, budget_seconds).await,
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

/// The approval event `ec2ops approve` hands to the function's handler (the same a Chatbot custom action sends).
fn approval_event(nonce: &str, deny: bool, by: &str) -> serde_json::Value {
    serde_json::json!({
        "approval": {
            "nonce": nonce,
            "decision": if deny { "deny" } else { "approve" },
            "by": by,
        }
    })
}

/// `ec2ops approve NONCE`: the proposal is read first for its region (the clients act there), then the answer goes
/// through the function's handler, published like `respond --publish`.
async fn approve(
    nonce: &str,
    deny: bool,
    by: &str,
    budget_seconds: u64,
) -> anyhow::Result<ExitCode> {
    let settings = Settings::from_env()?;
    let parsed = ec2ops::remediation::approval::Nonce::parse(nonce)?;
    let Some(table) = settings.ledger_table.as_deref() else {
        anyhow::bail!(
            "{} is not set: proposals are in the ledger table",
            ec2ops::config::names::LEDGER_TABLE
        );
    };
    let config = ec2ops_aws::sdk_config(None).await;
    let ledger = ec2ops_aws::AwsClients::from_config(&config).ledger(table);
    let Some(stored) = ec2ops::ports::Approvals::proposal(&ledger, &parsed).await? else {
        eprintln!("ec2ops: no proposal {nonce} in {table}");
        return Ok(ExitCode::from(1));
    };
    let responder = on_aws(stored.proposal.region.clone(), &settings, true).await?;
    let now = Utc::now();
    let budget = Budget::new(std::time::Duration::from_secs(budget_seconds), now);
    let outcome = responder
        .respond(&approval_event(nonce, deny, by), now, budget)
        .await?;
    let refused = matches!(&outcome, Outcome::Approval { step, .. } if step.starts_with("refused"));
    print_outcome(outcome, Format::Email)?;
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
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
    let config = ec2ops_aws::sdk_config(None).await;
    let log = ec2ops_aws::AwsClients::from_config(&config).storm(table);
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
            let now = Utc::now();
            let list = incidents::list(&log, since, instance, now).await?;
            print!("{}", incidents::format_list(&list));
            print!("{}", incidents::format_pending(&list, now));
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
        Ok(Parsed::Recheck(r)) => r.region.clone(),
        Ok(Parsed::SweepItem(i)) => i.availability_zone.as_deref().map(|az| {
            az.trim_end_matches(|c: char| c.is_ascii_lowercase())
                .to_string()
        }),
        Ok(
            Parsed::Ignored { .. }
            | Parsed::Sweep
            | Parsed::Heartbeat
            | Parsed::Approval(_)
            | Parsed::ApprovalExpiry(_),
        ) => None,
    })
}

/// The responder the function builds, in `region`, as a command line runs it ([`for_cli`]).
async fn on_aws(
    region: Option<String>,
    settings: &Settings,
    publish: bool,
) -> anyhow::Result<Responder> {
    if publish {
        settings.require_topic()?;
    }
    let function = ec2ops_aws::responder(&ec2ops_aws::sdk_config(region).await, settings);
    Ok(for_cli(function, publish))
}

/// The function's responder as `respond` runs it. Published, it is the function's own, acting like it (dry-run by
/// default), without the verification schedule (the CLI has no function ARN) and handling sweeps and Health events
/// inline whatever work queue the function fans out to. A preview keeps only the readers — EC2, CloudWatch, the
/// evidence readers — and no port that writes: no ledger (the function's delivery of the same alarm would find it
/// claimed and completed, a duplicate nobody is told about), no actors, no storm gate, digest or incident log, no
/// work queue, no topic, and no in-guest diagnostics (SSM Run Command runs a script on the instance). Built from
/// the readers up, so a port added later stays out of a preview until it is put here.
fn for_cli(function: Responder, publish: bool) -> Responder {
    if publish {
        let mut r = function;
        if let Some(a) = &mut r.actors {
            a.scheduler = None;
        }
        r.queue = None;
        return r;
    }
    let mut preview = Responder::new((*function.settings).clone(), function.ec2, function.metrics);
    preview.evidence = function.evidence;
    preview
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
                state.map_or("unknown", |s| s.as_str()),
                next_at
                    .map(|t| format!(", next at {t}"))
                    .unwrap_or_default()
            );
        }
        Outcome::Approval { nonce, step, .. } => {
            eprintln!("proposal {nonce}: {step}");
        }
        Outcome::Rechecked {
            incident_key,
            picture,
            message_id,
        } => {
            eprintln!(
                "second look at {incident_key}: {picture}{}",
                if message_id.is_some() { ", posted" } else { "" }
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
        Outcome::Heartbeat {
            line, message_id, ..
        } => {
            println!("{line}");
            if let Some(id) = message_id {
                eprintln!("heartbeat posted as {id}");
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every port the function can write through, configured.
    fn everything() -> Settings {
        Settings {
            topic_arn: Some("arn:aws:sns:ap-northeast-2:000000000000:ec2ops".into()),
            ledger_table: Some("ec2ops-ledger".into()),
            scheduler_role_arn: Some("arn:aws:iam::000000000000:role/ec2ops-scheduler".into()),
            diagnostics_document: Some("ec2ops-diagnostics".into()),
            work_queue_url: Some(
                "https://sqs.ap-northeast-2.amazonaws.com/000000000000/ec2ops-work".into(),
            ),
            ..Settings::default()
        }
    }

    #[test]
    fn incidents_show_reads_a_key_after_dashes_as_the_key_as_reports_print_one_starting_with_a_dash(
    ) {
        let cli = Cli::try_parse_from(["ec2ops", "incidents", "show", "--", "-x#ALARM#t"]);
        match cli.map(|c| c.command) {
            Ok(Command::Incidents {
                show: Some(IncidentsCommand::Show { key }),
                ..
            }) => assert_eq!(key, "-x#ALARM#t"),
            _ => panic!("`incidents show -- KEY` is not read as the key"),
        }
    }

    #[test]
    fn approve_sends_the_nonce_the_decision_and_who_as_the_handler_reads_them() {
        let n = "000102030405060708090a0b0c0d0eff";
        let cli = Cli::try_parse_from(["ec2ops", "approve", n, "--deny", "--by", "kim"]);
        let Ok(Command::Approve {
            nonce, deny, by, ..
        }) = cli.map(|c| c.command)
        else {
            panic!("`approve NONCE --deny --by NAME` is not read");
        };
        match ec2ops::event::parse(&approval_event(&nonce, deny, &by)) {
            Ok(Parsed::Approval(r)) => {
                assert_eq!(r.nonce.to_string(), n);
                assert_eq!(r.verdict, ec2ops::remediation::approval::Verdict::Deny);
                assert_eq!(
                    r.by,
                    ec2ops::remediation::approval::Approver::ChatbotRole("kim".into())
                );
            }
            other => panic!("{other:?}"),
        }
        let Ok(Command::Approve { deny, by, .. }) =
            Cli::try_parse_from(["ec2ops", "approve", n]).map(|c| c.command)
        else {
            panic!("`approve NONCE` is not read");
        };
        match ec2ops::event::parse(&approval_event(n, deny, &by)) {
            Ok(Parsed::Approval(r)) => {
                assert_eq!(r.verdict, ec2ops::remediation::approval::Verdict::Approve)
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_preview_keeps_only_the_readers_and_a_published_run_the_functions_writers() {
        let config = ec2ops_aws::sdk_config(Some("ap-northeast-2".into())).await;
        let function = ec2ops_aws::responder(&config, &everything());
        assert!(
            function.ledger.is_some()
                && function.approvals.is_some()
                && function.storm.is_some()
                && function.actors.is_some()
                && function.delivery.is_some()
                && function.queue.is_some()
                && function.diagnostics.is_some(),
            "the function wires every port"
        );

        let preview = for_cli(function.clone(), false);
        assert!(preview.ledger.is_none(), "no claim, action or impairment");
        assert!(preview.approvals.is_none(), "no proposal, no answer");
        assert!(
            preview.storm.is_none(),
            "no publish gate, digest or incident log"
        );
        assert!(preview.actors.is_none(), "nothing acts on an instance");
        assert!(preview.diagnostics.is_none(), "nothing runs on an instance");
        assert!(preview.delivery.is_none() && preview.queue.is_none());
        assert!(preview.evidence.changes.is_some() && preview.evidence.logs.is_some());

        let live = for_cli(function, true);
        assert!(live.ledger.is_some() && live.storm.is_some() && live.delivery.is_some());
        assert!(live.actors.as_ref().is_some_and(|a| a.scheduler.is_none()));
        assert!(live.queue.is_none(), "sweeps are handled inline");
    }
}
