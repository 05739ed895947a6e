//! The README's safety promises as code, checked after every simulated run.

use chrono::Duration;

use super::ec2::{MutationKind, Phase};
use super::workload::Workload;
use super::{Ending, Run, World};

/// How soon a P0 message must name an instance ec2ops stopped and could not start.
pub const ESCALATION_WITHIN: Duration = Duration::minutes(20);

/// The record keys of follow-ups (a verification's verdict, a recover's escalation), which `pipeline/once.rs` keeps
/// beside the incident records.
const FOLLOW_UP_KEYS: [&str; 2] = ["#verify#", "#recover-followup#"];

/// No incident record is left `IN_PROGRESS` past its lease and Lambda's retries, unless its event is in the
/// failed-events queue, which the stack's alarm watches. A follow-up's record is not an incident's: one whose publish
/// failed is released, and stays so when the retry finds nothing left to say (the instance running by then); its
/// promise is [`check`]'s "sent twice".
pub fn in_progress(world: &World, run: &Run) -> Vec<String> {
    let mut v = Vec::new();
    let end = world.clock.now();
    for (key, lease) in world.ledger.left_in_progress() {
        if FOLLOW_UP_KEYS.iter().any(|k| key.contains(k)) {
            continue;
        }
        // The event names the alarm; a sweep item names the instance.
        let head = key.split('#').next().unwrap_or(&key);
        let alarm = head.rsplit(':').next().unwrap_or(head).to_string();
        let instance = head.rsplit('/').next().unwrap_or(head).to_string();
        // A report out without its record whose redelivery could not be scheduled either is left so on purpose: a
        // retry would only publish it again (README, "Crash safety").
        let unscheduled = world.plan.unscheduled();
        let failed = run.failed_events.iter().chain(unscheduled.iter()).any(|l| {
            l.contains(&alarm) || (head.starts_with("ec2ops-sweep/") && l.contains(&instance))
        });
        if lease + Duration::minutes(10) < end && !failed {
            v.push(format!(
                "left in progress: {key} (lease until {})",
                lease.format("%H:%M:%S")
            ));
        }
    }

    v
}

/// The follow-up deliveries (a verification's, a recover's) whose own record could not be claimed: each claim that
/// met a fault other than latency, once per invocation.
fn unrecorded_follow_ups(trace: &[String]) -> usize {
    let invocation = |l: &str| {
        l.split_whitespace()
            .find(|w| w.starts_with("inv#"))
            .map(str::to_string)
    };
    let follow_ups: std::collections::BTreeSet<String> = trace
        .iter()
        .filter(|l| {
            l.contains(" starts: schedule verify-") || l.contains(" starts: schedule cont-")
        })
        .filter_map(|l| invocation(l))
        .collect();
    trace
        .iter()
        .filter(|l| l.contains(" dynamodb claim: ") && !l.contains(": Latency("))
        .filter_map(|l| invocation(l))
        .filter(|inv| follow_ups.contains(inv))
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Every promise the run broke, one line each.
pub fn check(world: &World, workload: &Workload, run: &Run) -> Vec<String> {
    let mut v = Vec::new();
    let published = world.recorder.published();
    let mutations = world.ec2.mutations();
    let mentions = |id: &str| {
        published
            .iter()
            .any(|m| m.subject.contains(id) || m.message.contains(id))
    };
    let failed = |id: &str| run.failed_events.iter().any(|l| l.contains(id));

    // Every incident reaches SNS (its own report, a digest or a covering report), or its event the failed-events
    // queue: nothing is lost.
    for a in workload.arrivals.iter().filter(|a| a.reportable) {
        if let Some(id) = &a.instance {
            if !mentions(id) && !failed(id) {
                v.push(format!("lost: no message names {id} ({})", a.label));
            }
        }
    }

    // No follow-up twice: however often Scheduler delivers a verification or a recover's continuation, its message
    // (the same subject and text) goes out once — unless a publish's answer was lost or its invocation died right
    // after it: SNS has no idempotency key, so the retry cannot know the message is out, and sends it again.
    // Nor can it when its own record could not be claimed: a follow-up then goes out without it (`pipeline/once.rs`:
    // the same message twice is better than none).
    let trace = world.plan.trace();
    let unknown = trace
        .iter()
        .filter(|l| l.ends_with("sns Publish: Lost") || l.ends_with("sns Publish: CrashAfter"))
        .count()
        + unrecorded_follow_ups(&trace);
    let follow_ups: Vec<_> = published
        .iter()
        .filter(|m| m.topic == super::TOPIC)
        .filter(|m| {
            ["] Verified", "] Not fixed", "] Recover incomplete"]
                .iter()
                .any(|h| m.subject.contains(h))
        })
        .collect();
    let twice: Vec<_> = follow_ups
        .iter()
        .enumerate()
        .filter(|(k, m)| {
            follow_ups[..*k]
                .iter()
                .any(|e| e.subject == m.subject && e.message == m.message)
        })
        .collect();
    if twice.len() > unknown {
        if let Some((_, m)) = twice.first() {
            v.push(format!("sent twice: {}", m.subject));
        }
    }

    // No EC2 mutation twice for one incident: one reboot or one stop per instance in a run (the cooldown spans it).
    for i in &workload.instances {
        let primary = mutations
            .iter()
            .filter(|m| m.instance_id == i.id)
            .filter(|m| {
                matches!(
                    m.kind,
                    MutationKind::Reboot | MutationKind::Stop { forced: false }
                )
            })
            .count();
        if primary > 1 {
            v.push(format!("twice: {primary} reboots/stops of {}", i.id));
        }
    }

    // No action on a hostile or uncorroborated alarm.
    for id in &workload.untouchable {
        if let Some(m) = mutations.iter().find(|m| &m.instance_id == id) {
            v.push(format!(
                "acted on an uncorroborated alarm: {:?} of {id}",
                m.kind
            ));
        }
    }

    // The account-wide hourly cap.
    let cap = world.settings.envelope.hourly_cap;
    let actions: Vec<_> = mutations
        .iter()
        .filter(|m| {
            matches!(
                m.kind,
                MutationKind::Reboot | MutationKind::Stop { forced: false }
            )
        })
        .collect();
    for (k, m) in actions.iter().enumerate() {
        let in_hour = actions[k..]
            .iter()
            .take_while(|n| n.at < m.at + Duration::hours(1))
            .count();
        if in_hour > cap {
            v.push(format!(
                "cap: {in_hour} actions within the hour from {} (cap {cap})",
                m.at
            ));
            break;
        }
    }

    // No instance left stopped: what ec2ops stopped is running again, or a P0 message names it within 20 minutes of
    // the stop (or the continuation's event is in the failed-events queue, which the stack's alarm watches).
    for i in world.ec2.instances() {
        let Some(stop) = mutations
            .iter()
            .find(|m| m.instance_id == i.id && matches!(m.kind, MutationKind::Stop { .. }))
        else {
            continue;
        };
        if matches!(i.phase, Phase::Running | Phase::Pending { .. }) {
            continue;
        }
        let escalated = published.iter().any(|m| {
            m.subject.starts_with("[P0]")
                && (m.subject.contains(&i.id) || m.message.contains(&i.id))
                && m.at > stop.at
                && m.at <= stop.at + ESCALATION_WITHIN
        });
        if !escalated && !failed(&i.id) {
            v.push(format!(
                "left {}: {} was stopped at {} and no P0 message named it within 20 minutes",
                i.state(),
                i.id,
                stop.at.format("%H:%M:%S")
            ));
        }
    }

    // A report keeps the priority of its cause: never below what the workload expects, and a resumed delivery's never
    // below the first report's.
    for a in &workload.arrivals {
        if a.instance
            .as_ref()
            .is_some_and(|i| workload.untouchable.contains(i))
        {
            // A report made on degraded facts (the instance unreadable) may be corrected by a later, better one.
            continue;
        }
        let label = a.label.trim_end_matches(" (again)");
        let reports: Vec<_> = run
            .invocations
            .iter()
            .filter(|inv| inv.label.trim_end_matches(" (again)") == label)
            .filter_map(|inv| inv.reported.map(|p| (inv, p)))
            .collect();
        if let Some(floor) = a.at_least {
            if let Some((inv, p)) = reports.iter().find(|(_, p)| *p > floor) {
                v.push(format!(
                    "priority: {label} reported {} by inv#{} (at least {} expected)",
                    p.label(),
                    inv.number,
                    floor.label()
                ));
            }
        }
        if let Some((_, first)) = reports.first() {
            if let Some((inv, p)) = reports.iter().find(|(_, p)| p > first) {
                v.push(format!(
                    "priority: {label} first reported {}, then {} by inv#{}",
                    first.label(),
                    p.label(),
                    inv.number
                ));
            }
        }
    }

    // A check that fails again after AWS's recovery is a new incident: the sweep reports it.
    for line in workload.story.iter().filter(|s| s.starts_with("refail: ")) {
        let Some(id) = line.trim_start_matches("refail: ").split(' ').next() else {
            continue;
        };
        let again = world.clock.base() + super::workload::REFAIL_AGAIN;
        let reported = published
            .iter()
            .any(|m| m.at > again && (m.subject.contains(id) || m.message.contains(id)));
        let sweep_failed = run
            .failed_events
            .iter()
            .any(|l| l.contains(crate::event::SWEEP_DETAIL_TYPE) || l.contains(id));
        if !reported && !sweep_failed {
            v.push(format!(
                "refail: the second failure of {id} was never reported"
            ));
        }
    }

    // In a calm world, what nothing should hold is acted on (a reboot never defers to a recover that never happens,
    // crafted alarms hold no real action).
    if run
        .story
        .iter()
        .any(|s| s.contains("FaultRates { error: 0, hang: 0, lost: 0, latency: 0, crash: 0 }"))
        && run.story.len() == 2
    {
        for id in &workload.must_act {
            if !mutations.iter().any(|m| &m.instance_id == id) {
                v.push(format!("not acted on: {id}, which nothing should hold"));
            }
        }
    }

    // Every invocation ended: none hangs past the function's timeout unnoticed.
    let hung = run
        .invocations
        .iter()
        .filter(|i| i.ending == Ending::TimedOut)
        .count();
    if hung > 0 && run.failed_events.is_empty() && run.invocations.len() < 2 {
        v.push(format!(
            "{hung} invocation(s) ran into the function's timeout"
        ));
    }
    v.extend(silences(world));
    v.extend(paging(world));
    v.sort();
    v.dedup();
    v
}

/// The paging topic gets copies of urgent messages only: each one is on the report topic too, none is silenced or
/// below P1; and a loud P0 on the report topic is copied there unless an SNS publish met a fault in the run.
fn paging(world: &World) -> Vec<String> {
    let mut v = Vec::new();
    let published = world.recorder.published();
    let (paged, reported): (Vec<_>, Vec<_>) =
        published.iter().partition(|m| m.topic == super::PAGING);
    for p in &paged {
        let copied = reported
            .iter()
            .any(|r| r.at <= p.at && r.subject == p.subject && r.message == p.message);
        if !copied {
            v.push(format!("paged without a report: {}", p.subject));
        }
        if !(p.subject.starts_with("[P0] ") || p.subject.starts_with("[P1] ")) {
            v.push(format!("paged though not urgent: {}", p.subject));
        }
    }
    let sns_faulted = world
        .plan
        .trace()
        .iter()
        .any(|l| l.contains(" sns Publish: ") && !l.contains(": Latency("));
    if !sns_faulted && world.settings.paging_topic_arn.is_some() {
        for r in reported.iter().filter(|r| r.subject.starts_with("[P0] ")) {
            if !paged
                .iter()
                .any(|p| p.subject == r.subject && p.message == r.message)
            {
                v.push(format!("a loud P0 not paged: {}", r.subject));
            }
        }
    }
    v
}

/// The account's silences are kept: while the change calendar is closed nothing is done to any instance, and while
/// every alarm is muted nothing is (the sweep's incidents included: the alarms on the instance's checks are muted);
/// under the mute a report below P0 goes out quietly (`[muted]`) — a read that met a fault holds the action and may
/// leave the report loud, never quieter than promised. (A freeze holds actions, it does not quiet reports.)
fn silences(world: &World) -> Vec<String> {
    let mut v = Vec::new();
    let s = *world.silence;
    let mutations = world.ec2.mutations();
    if s.calendar_closed || s.mute_every_alarm {
        if let Some(m) = mutations.first() {
            v.push(format!(
                "acted while silenced: {:?} of {} (calendar closed: {}, every alarm muted: {})",
                m.kind, m.instance_id, s.calendar_closed, s.mute_every_alarm
            ));
        }
    }
    // A silence read that met a fault may leave a report loud (never quiet by mistake): only a run whose every read
    // answered is held to the quiet.
    let read_failed = world.plan.trace().iter().any(|l| l.contains(" silence "));
    if s.mute_every_alarm && !read_failed {
        for p in world.recorder.published() {
            if ["[P1]", "[P2]", "[P3]"]
                .iter()
                .any(|l| p.subject.starts_with(l))
            {
                v.push(format!("loud while silenced: {}", p.subject));
            }
        }
    }
    v
}
