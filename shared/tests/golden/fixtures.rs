//! The goldens' fixtures against their events: a golden judges the code only when its facts are what a live account
//! would answer for that event, so the window, the alarm history, the CloudTrail lookups, the launch time and the disk
//! sizes must agree with the event and with each other.

use super::*;
use chrono::{DateTime, DurationRound, Utc};
use ec2ops::facts::{InstanceFacts, InstanceLookup, Role};

/// Every sample event with a scenario, as the golden test renders it (a Health event by its first change).
fn scenarios() -> Vec<(String, AlarmChange, Facts)> {
    let mut files: Vec<_> = std::fs::read_dir(support::events_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let bytes = std::fs::read(support::events_dir().join(&file)).unwrap();
        let change = match parse_bytes(&bytes).unwrap() {
            Parsed::Alarm(c) => *c,
            Parsed::Health(changes) => changes[0].clone(),
            _ => continue,
        };
        if let Some(facts) = support::scenario(&file) {
            out.push((file, change, facts));
        }
    }
    assert!(out.len() >= 15, "scenarios: {}", out.len());
    out
}

fn instance_of(facts: &Facts) -> Option<&InstanceFacts> {
    match facts.instance.get() {
        Some(InstanceLookup::Found(i)) => Some(i),
        _ => None,
    }
}

fn minute(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::Duration::minutes(1)).unwrap()
}

#[test]
fn the_windows_alarm_series_has_the_events_evaluated_datapoints_at_the_same_minutes() {
    for (file, change, facts) in scenarios() {
        let Some(window) = facts.metrics.get() else {
            continue;
        };
        let Some(series) = window.get(Role::Alarm) else {
            continue;
        };
        let evaluated = change
            .state
            .reason_data
            .iter()
            .flat_map(|r| &r.evaluated)
            .filter_map(|d| d.value.map(|v| (d.at, v)));
        for (at, value) in evaluated {
            let read = series.points.iter().find(|(t, _)| *t == at);
            let Some((_, read)) = read else {
                panic!(
                    "{file}: the window has no point at {at}, which the alarm evaluated ({value})"
                );
            };
            // The event's values are rounded to a tenth.
            assert!(
                (read - value).abs() <= 0.05 + 1e-9,
                "{file}: the alarm evaluated {value} at {at}, the window reads {read}"
            );
        }
    }
}

#[test]
fn the_windows_alarm_series_comes_at_the_alarms_period() {
    // The window is read at 60 s; a metric published every 5 minutes (CPUCreditBalance) answers every 5 minutes.
    for (file, change, facts) in scenarios() {
        let Some(window) = facts.metrics.get() else {
            continue;
        };
        assert_eq!(
            window.period_secs, 60,
            "{file}: the window is requested at 60 s"
        );
        let Some(series) = window.get(Role::Alarm) else {
            continue;
        };
        let Some(period) = change
            .state
            .reason_data
            .as_ref()
            .and_then(|r| r.period)
            .or_else(|| change.primary_metric().map(|m| m.period))
        else {
            continue;
        };
        // A gap (a stopped instance) skips whole periods.
        for pair in series.points.windows(2) {
            let step = (pair[1].0 - pair[0].0).num_seconds();
            assert!(
                step > 0 && step % period as i64 == 0,
                "{file}: the alarm's period is {period} s, its series has points at {} and {}",
                pair[0].0,
                pair[1].0
            );
        }
        for (t, _) in &series.points {
            assert_eq!(
                t.timestamp() % period as i64,
                0,
                "{file}: {t} is not on the alarm's {period} s period"
            );
        }
    }
}

#[test]
fn each_alarm_has_its_own_history_and_an_incident_without_an_alarm_has_none() {
    let all = scenarios();
    for (file, change, facts) in &all {
        let Some(history) = facts.history.get() else {
            continue;
        };
        if !change.is_alarm() {
            assert!(
                history.items.is_empty(),
                "{file}: no CloudWatch alarm is named {}, so DescribeAlarmHistory has nothing for it",
                change.alarm_name
            );
            continue;
        }
        // DescribeAlarmHistory reads the last 7 days up to the transition.
        for item in &history.items {
            assert!(
                item.at <= change.state.at
                    && item.at >= change.state.at - chrono::Duration::days(7),
                "{file}: a history item at {} is outside the 7 days before the transition",
                item.at
            );
        }
        if let Some(prev) = &change.previous {
            let last_alarm = history.alarm_times().max();
            match prev.value {
                // The ALARM this transition leaves is the alarm's latest transition into ALARM.
                ec2ops::model::AlarmState::Alarm => assert_eq!(
                    last_alarm.map(|t| t.timestamp()),
                    Some(prev.at.timestamp()),
                    "{file}: the previous state is ALARM since {}, the history's last ALARM is {last_alarm:?}",
                    prev.at
                ),
                // The alarm was not in ALARM since its previous transition.
                _ => assert!(
                    last_alarm.is_none_or(|t| t < prev.at),
                    "{file}: the history has an ALARM at {last_alarm:?}, after the previous state ({}) began at {}",
                    prev.value.as_str(),
                    prev.at
                ),
            }
        }
        for (other, other_change, other_facts) in &all {
            let Some(other_history) = other_facts.history.get() else {
                continue;
            };
            if other_change.alarm_name != change.alarm_name && !history.items.is_empty() {
                assert_ne!(
                    history, other_history,
                    "{file} ({}) and {other} ({}) read the same alarm history",
                    change.alarm_name, other_change.alarm_name
                );
            }
        }
    }
}

#[test]
fn cloudtrail_is_asked_about_the_instance_and_its_own_groups_and_volumes() {
    for (file, _, facts) in scenarios() {
        let Some(changes) = facts.evidence.changes.as_ref().and_then(|c| c.get()) else {
            continue;
        };
        let i = instance_of(&facts).expect("CloudTrail is read for a known instance");
        let volumes: Vec<String> = facts
            .volumes
            .get()
            .map(|v| v.iter().map(|v| v.id.clone()).collect())
            .unwrap_or_default();
        for r in &changes.looked_up {
            assert!(
                *r == i.id || i.security_group_ids.contains(r) || i.volume_ids.contains(r),
                "{file}: CloudTrail is asked about {r}, which is not {}'s (groups {:?}, volumes {:?})",
                i.id,
                i.security_group_ids,
                i.volume_ids
            );
        }
        assert_eq!(
            i.volume_ids, volumes,
            "{file}: DescribeVolumes and the instance's block devices"
        );
    }
}

#[test]
fn the_launch_time_is_the_instances_last_start_before_the_transition() {
    for (file, change, facts) in scenarios() {
        let Some(i) = instance_of(&facts) else {
            continue;
        };
        let Some(launched) = i.launch_time else {
            continue;
        };
        assert!(
            launched <= change.state.at,
            "{file}: launched {launched}, after the transition"
        );
        // EC2 sets LaunchTime on every start: a StartInstances before the transition is the launch time at the latest.
        let starts = facts
            .evidence
            .changes
            .as_ref()
            .and_then(|c| c.get())
            .into_iter()
            .flat_map(|c| &c.changes)
            .filter(|c| c.event.name == "StartInstances" && c.event.at <= change.state.at)
            .map(|c| c.event.at);
        for started in starts {
            assert!(
                launched >= started,
                "{file}: started at {started} (CloudTrail), yet launched {launched}"
            );
        }
        // A stopped instance publishes nothing: no datapoint between a stop and the start after it.
        let stopped = facts
            .evidence
            .changes
            .as_ref()
            .and_then(|c| c.get())
            .into_iter()
            .flat_map(|c| &c.changes)
            .filter(|c| c.event.name == "StopInstances" && c.event.at <= launched)
            .map(|c| c.event.at)
            .max();
        if let (Some(stopped), Some(window)) = (stopped, facts.metrics.get()) {
            for (role, series) in &window.series {
                for (at, _) in &series.points {
                    assert!(
                        *at < minute(stopped) || *at >= minute(launched),
                        "{file}: {role:?} has a datapoint at {at}, while the instance was stopped ({stopped} to {launched})"
                    );
                }
            }
        }
        // The host cannot have booted before the instance was launched.
        if let Some(Source::Available(d)) = &facts.diagnostics {
            if let Some(up) = d.uptime_secs {
                let booted = change.state.at - chrono::Duration::seconds(up as i64);
                assert!(
                    booted >= launched,
                    "{file}: up since {booted}, launched {launched}"
                );
            }
        }
    }
}

#[test]
fn the_root_file_system_fills_its_root_volume() {
    for (file, _, facts) in scenarios() {
        let Some(Source::Available(d)) = &facts.diagnostics else {
            continue;
        };
        let Some(root) = d.root_filesystem() else {
            continue;
        };
        let Some(volume) = facts.volumes.get().and_then(|v| {
            v.iter()
                .find(|v| matches!(v.device.as_deref(), Some("/dev/xvda" | "/dev/sda1")))
        }) else {
            continue;
        };
        let volume_mib = volume.size_gib as u64 * 1024;
        assert!(
            root.size_mib <= volume_mib,
            "{file}: / is {} MiB on a {} GiB root volume",
            root.size_mib,
            volume.size_gib
        );
        // cloud-init grows the root partition and file system to the volume at boot.
        assert!(
            root.size_mib * 10 >= volume_mib * 9,
            "{file}: / is {} MiB on a {} GiB root volume, which boot would have grown it to",
            root.size_mib,
            volume.size_gib
        );
    }
}

#[test]
fn a_verification_follows_an_action_ec2ops_would_take_on_that_instance() {
    // ec2ops never reboots an Auto Scaling member (the group replaces it), so no verification of one exists.
    let members: Vec<String> = scenarios()
        .iter()
        .filter_map(|(_, _, f)| instance_of(f))
        .filter(|i| i.asg().is_some())
        .map(|i| i.id.clone())
        .collect();
    let mut seen = 0;
    for entry in std::fs::read_dir(support::events_dir()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        if let Ok(Parsed::Verify(req)) = parse_bytes(&bytes) {
            seen += 1;
            assert!(
                !members.contains(&req.instance_id),
                "{}: a verification of an action on {}, an Auto Scaling member ec2ops does not act on",
                path.display(),
                req.instance_id
            );
        }
    }
    assert!(seen > 0, "a sample verification event");
}
