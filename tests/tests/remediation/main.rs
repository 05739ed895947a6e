//! Safe automatic remediation against the emulator (LocalStack EC2/SNS/SQS/Scheduler + moto DynamoDB), through the
//! real SDK: what only the adapters end to end can show — a reboot and a stop/start that EC2 carries out, schedules
//! Scheduler holds, DynamoDB's conditional writes and transactions under concurrent deliveries, the opt-in and group
//! tags as EC2 returns them, reasons as the SNS subscriber reads them, crafted alarms as EventBridge delivers them,
//! continuations authenticated against the real ledger. Status impairment comes through the status reader of the rig
//! (the emulator's checks are always `ok`); see `ec2ops_tests::rig`.
//!
//! Crashes at every step, faults at every call and a misbehaving EC2 (stops that hang, capacity errors, reads that
//! fail during a recover's wait, schedules that cannot be created) are the simulation tier's (`tests/sim.rs`): its
//! kill, fault and recover tables, and its invariants over thousands of seeds.

mod approve;
mod envelope;
mod once;
mod recheck;
mod recover;
mod silence;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ec2ops::budget::Budget;
use ec2ops::config::RemediationMode;
use ec2ops::pipeline::{HandleError, Outcome};
use ec2ops::ports::{ActionLedger, Ledger};
use ec2ops::remediation::{ActionKind, ActionOutcome, Hold};
use ec2ops_aws::DynamoLedger;
use ec2ops_tests::rig::{Rig, FUNCTION_ARN};
use ec2ops_tests::*;
use serde_json::Value;

const SYSTEM: &str = "StatusCheckFailed_System";
const INSTANCE: &str = "StatusCheckFailed_Instance";

/// An instance-check (or other) alarm event for `id`, at `at` (distinct times are distinct incidents).
fn incident(file: &str, id: &str, at: DateTime<Utc>) -> Value {
    event_for(file, id, at)
}

fn action(o: &Outcome) -> &ActionOutcome {
    match o {
        Outcome::Reported(i) => &i.action,
        other => panic!("expected a report, got {other:?}"),
    }
}

fn holds(o: &Outcome) -> Vec<Hold> {
    match action(o) {
        ActionOutcome::Held { holds, .. } => holds.clone(),
        other => panic!("expected a hold, got {other:?}"),
    }
}

/// The kind of an action's outcome, one word, for tables and assertion messages.
fn ec2ops_action(a: &ActionOutcome) -> &'static str {
    match a {
        ActionOutcome::Done { .. } => "done",
        ActionOutcome::AlreadyDone { .. } => "already-done",
        ActionOutcome::Interrupted { .. } => "interrupted",
        ActionOutcome::Recovering { .. } => "recovering",
        ActionOutcome::Held { .. } => "held",
        ActionOutcome::Failed { .. } => "failed",
        _ => "other",
    }
}
