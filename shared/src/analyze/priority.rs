//! The priority table: the environment an instance is in, how sure the alarm is, and what the findings weigh.

use super::*;
use crate::model::aws_text::AlarmReason;

pub(super) fn environment(facts: &Facts) -> Environment {
    match facts.found_instance() {
        None => Environment::Unknown,
        Some(i) => classify(i.environment()),
    }
}

/// An instance's environment from its Environment (or env) tag.
pub(super) fn classify(tag: Option<&str>) -> Environment {
    match tag {
        None => Environment::Untagged,
        Some(env) => {
            let e = env.trim().to_ascii_lowercase();
            if matches!(e.as_str(), "prod" | "production" | "prd" | "live") || e.starts_with("prod")
            {
                Environment::Production(env.to_string())
            } else {
                Environment::NonProduction(env.to_string())
            }
        }
    }
}

/// How critical an environment is for the priority: a tagged production first, then the ones treated as production.
pub(super) fn criticality(env: &Environment) -> u8 {
    match env {
        Environment::Production(_) => 3,
        Environment::Untagged => 2,
        Environment::Unknown => 1,
        Environment::NonProduction(_) => 0,
    }
}

/// An instance whose environment may set a summary's priority: id, Name, environment, and the datapoints its
/// contributor's reason says crossed the threshold (`None`: not said).
type Candidate = (String, Option<String>, Environment, Option<usize>);

/// The datapoints a contributor's reason says crossed the threshold: CloudWatch writes "Threshold Crossed: 1
/// datapoint was greater than …" or "Threshold Crossed: 3 out of the last 5 datapoints were …".
pub(super) fn crossed_datapoints(reason: &str) -> Option<usize> {
    crate::model::Crossed::parse(reason).map(|c| c.crossed)
}

/// A contributor's priority as its own report would give it without findings: a breach of fewer than 3 datapoints
/// is P2 in any environment (a spike); a sustained one (or one the reason does not count) P1 in production.
fn contributor_priority(env: &Environment, crossed: Option<usize>) -> Priority {
    match crossed {
        Some(n) if n < 3 => Priority::P2,
        _ if env.is_production() => Priority::P1,
        _ => Priority::P2,
    }
}

/// The summary of a multi-time-series alarm's alarm-level event: no per-instance analysis, so in ALARM the priority
/// is the highest its contributors' reports would have — the environment table's for an alarm breach (production
/// P1, otherwise P2), except that a contributor whose reason counts fewer than 3 breaching datapoints is P2 as its
/// report is — among the contributors in ALARM (those looked up), or from the most critical environment among the
/// ranking's instances not known to be below the threshold when the list of contributors is not available. Back to
/// OK or INSUFFICIENT_DATA as for any alarm.
pub(super) fn summary_priority(change: &Incident, facts: &Facts) -> (Priority, Vec<Reason>) {
    if change.state.value != AlarmState::Alarm {
        return priority(change, &[], &Environment::Unknown, None);
    }
    let env_of = |instance_type: &Option<String>, tag: &Option<String>| {
        if instance_type.is_some() {
            classify(tag.as_deref())
        } else {
            Environment::Unknown
        }
    };
    let (count, candidates): (Option<usize>, Vec<Candidate>) = match facts
        .contributors
        .as_ref()
        .and_then(crate::facts::Source::get)
    {
        Some(list) => (
            Some(list.len()),
            list.iter()
                .filter_map(|c| Some((c.instance_id()?.to_string(), c)))
                .take(crate::facts::CONTRIBUTORS_LOOKED_UP)
                .map(|(id, c)| {
                    (
                        id,
                        c.name.clone(),
                        env_of(&c.instance_type, &c.environment),
                        crossed_datapoints(&c.reason),
                    )
                })
                .collect(),
        ),
        None => (
            None,
            facts
                .ranking
                .as_ref()
                .and_then(crate::facts::Source::get)
                .map(|r| {
                    r.rows
                        .iter()
                        // The alarm-level event names no threshold: a row not known to be below it counts.
                        .filter(|x| x.breaching != Some(false))
                        .map(|x| {
                            (
                                x.instance_id.clone(),
                                x.name.clone(),
                                env_of(&x.instance_type, &x.environment),
                                None,
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        ),
    };
    // The most urgent contributor, then the most critical environment, then the highest ranked.
    let worst = candidates
        .into_iter()
        .rev()
        .max_by_key(|(_, _, e, crossed)| {
            (
                std::cmp::Reverse(contributor_priority(e, *crossed)),
                criticality(e),
            )
        });
    let mut reasons = vec![Reason::ContributorsInAlarm { count }];
    let p = match worst {
        Some((instance_id, name, environment, crossed)) => {
            let p = contributor_priority(&environment, crossed);
            if crossed == Some(1) {
                // The contributor's reason gives its datapoint and the threshold.
                let said = facts
                    .contributors
                    .as_ref()
                    .and_then(crate::facts::Source::get)
                    .and_then(|l| {
                        l.iter()
                            .find(|c| c.instance_id() == Some(instance_id.as_str()))
                    })
                    .map(|c| AlarmReason::parse(&c.reason));
                let (value, threshold) = match said {
                    Some(AlarmReason::Crossed {
                        latest, threshold, ..
                    }) => (latest, threshold),
                    _ => (None, None),
                };
                reasons.push(Reason::SingleBreach {
                    metric: change
                        .fleet
                        .as_ref()
                        .and_then(|f| f.metric.clone())
                        .or_else(|| change.metric_name().map(str::to_string)),
                    value,
                    threshold,
                });
            }
            reasons.push(Reason::FleetWorst {
                instance_id,
                name,
                environment,
            });
            p
        }
        None => {
            reasons.push(Reason::ProductionAssumedUnknownInstance);
            Priority::P1
        }
    };
    (p, reasons)
}

/// For a fleet alarm whose analysed instance is not production: the most critical environment among the ranking's
/// other breaching instances, when that one is treated as production, with the reason naming that instance (the
/// highest ranked of the most critical). `None` otherwise: the analysed instance's environment sets the priority.
pub(super) fn fleet_worst(
    change: &Incident,
    facts: &Facts,
    analysed: &Environment,
) -> Option<(Environment, Reason)> {
    if change.fleet.is_none() || analysed.is_production() {
        return None;
    }
    let ranking = facts.ranking.as_ref()?.get()?;
    let focused = change.primary_instance();
    let (row, env) = ranking
        .rows
        .iter()
        .filter(|r| r.breaching == Some(true) && Some(r.instance_id.as_str()) != focused)
        .map(|r| {
            let env = if r.instance_type.is_some() {
                classify(r.environment.as_deref())
            } else {
                Environment::Unknown
            };
            (r, env)
        })
        .rev()
        .max_by_key(|(_, e)| criticality(e))?;
    if !env.is_production() {
        return None;
    }
    let reason = Reason::FleetWorst {
        instance_id: row.instance_id.clone(),
        name: row.name.clone(),
        environment: env.clone(),
    };
    Some((env, reason))
}

/// The breach the alarm's evaluated datapoints show: how many were past the threshold (all of them for an alarm
/// without a static threshold), over how many minutes, and how far.
pub(super) fn breach_of(change: &Incident) -> Breach {
    let values = change.evaluated_values();
    let threshold = change.threshold();
    let comparison = change.comparison;
    let past: Vec<f64> = match (threshold, comparison) {
        (Some(t), Some(c)) if c != Comparison::OutsideBand => values
            .iter()
            .filter(|(_, v)| c.breaches(*v, t))
            .map(|(_, v)| *v)
            .collect(),
        _ => values.iter().map(|(_, v)| *v).collect(),
    };
    let below = matches!(comparison, Some(Comparison::Less | Comparison::LessOrEqual));
    let period = change
        .state
        .reason_data
        .as_ref()
        .and_then(|r| r.period)
        .unwrap_or(60);
    let minutes = (past.len() as u64).saturating_mul(period).div_ceil(60);
    let (least, most) = extremes(&past);
    Breach {
        datapoints: past.len(),
        of: values.len().max(past.len()),
        minutes: i64::try_from(minutes).unwrap_or(i64::MAX),
        lowest: if below { most } else { least },
        peak: if below { least } else { most },
        threshold: threshold.filter(|_| comparison != Some(Comparison::OutsideBand)),
        below,
        metric: change.metric_name().map(str::to_string),
    }
}

/// The smallest and the largest of some values (`None` for none).
fn extremes(values: &[f64]) -> (Option<f64>, Option<f64>) {
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let least = finite.clone().reduce(f64::min);
    (least, finite.reduce(f64::max))
}

/// A CPU-SUSTAINED finding as a breach: its run, and the highest value its evidence and the alarm's evaluated
/// datapoints show.
fn sustained_cpu(change: &Incident, f: &Finding) -> Option<Breach> {
    let Detail::CpuSustained {
        minutes,
        datapoints,
        threshold,
        lowest,
    } = f.detail
    else {
        return None;
    };
    let seen: Vec<f64> = f
        .evidence
        .iter()
        .filter_map(|e| match e {
            Observation::Datapoint { value, .. } => Some(*value),
            _ => None,
        })
        .chain(change.evaluated_values().iter().map(|(_, v)| *v))
        .collect();
    Some(Breach {
        datapoints,
        of: datapoints,
        minutes,
        lowest: Some(lowest),
        peak: extremes(&seen).1.filter(|p| *p >= lowest),
        threshold: Some(threshold),
        below: false,
        metric: Some(catalogue::CPU_UTILIZATION.to_string()),
    })
}

/// The memory, disk or burst-balance finding behind a pressure priority: the one on the alarm's own metric first.
fn pressure_of<'f>(change: &Incident, findings: &'f [Finding]) -> Option<&'f Pressure> {
    let pressures = findings.iter().filter_map(|f| match &f.detail {
        Detail::Pressure(p) if !matches!(p, Pressure::Suspect { .. }) => Some(p),
        _ => None,
    });
    let metric_of = |p: &Pressure| match p {
        Pressure::Memory { .. } => catalogue::MEM_USED_PERCENT,
        Pressure::Disk { .. } => catalogue::DISK_USED_PERCENT,
        _ => catalogue::BURST_BALANCE,
    };
    let own = change.metric_name();
    pressures
        .clone()
        .find(|p| own == Some(metric_of(p)))
        .or_else(|| pressures.clone().next())
}

/// A composite's member alarms that went to ALARM, the first first, as its reason data lists them.
fn members_fired(change: &Incident) -> Vec<MemberFired> {
    let mut fired: Vec<MemberFired> = change
        .state
        .reason_data
        .as_ref()
        .map(|r| {
            r.triggering
                .iter()
                .filter(|t| t.state == Some(AlarmState::Alarm))
                .filter_map(|t| {
                    Some(MemberFired {
                        name: t.name.clone(),
                        at: t.at?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    fired.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.name.cmp(&b.name)));
    fired
}

// Long on purpose: the priority table is one `match` over the transition, read top to bottom like the design's
// table; split, its rows would lose their order.
pub(super) fn priority(
    change: &Incident,
    findings: &[Finding],
    env: &Environment,
    fleet_worst: Option<Reason>,
) -> (Priority, Vec<Reason>) {
    let has = |r: RuleId| findings.iter().any(|f| f.rule == r);
    let mut reasons = Vec::new();
    let prod = env.is_production();
    let env_reason = fleet_worst.unwrap_or_else(|| match env {
        Environment::Production(e) => Reason::Production {
            environment: e.clone(),
        },
        Environment::NonProduction(e) => Reason::NonProduction {
            environment: e.clone(),
        },
        Environment::Untagged => Reason::ProductionAssumedUntagged,
        Environment::Unknown => Reason::ProductionAssumedUnknownInstance,
    });

    // An instance found stopped with nothing saying the stop was meant: the service may be down until the stop is
    // explained, whatever the alarm's own state says.
    let unexplained_stop = change.state.value != AlarmState::Ok
        && findings.iter().any(|f| f.detail.unexplained_stop());
    let p = match change.state.value {
        _ if unexplained_stop => {
            reasons.push(Reason::Stopped { intended: false });
            if prod {
                Priority::P1
            } else {
                Priority::P2
            }
        }
        AlarmState::Ok => {
            let minutes = change
                .previous
                .as_ref()
                .filter(|p| p.value == AlarmState::Alarm)
                .map(|p| (change.state.at - p.at).num_minutes());
            reasons.push(Reason::Recovered { minutes });
            Priority::P3
        }
        AlarmState::InsufficientData => {
            let after_alarm = change
                .previous
                .as_ref()
                .is_some_and(|p| p.value == AlarmState::Alarm);
            reasons.push(Reason::InsufficientData { after_alarm });
            if after_alarm {
                Priority::P2
            } else {
                Priority::P3
            }
        }
        AlarmState::Alarm if has(RuleId::Health) => {
            let (kind, deadline) = findings
                .iter()
                .find_map(|f| match &f.detail {
                    Detail::Health { kind, deadline, .. } => Some((*kind, *deadline)),
                    _ => None,
                })
                .unwrap_or((HealthKind::Other, None));
            let left = deadline.map(|d| d - change.state.at);
            reasons.push(Reason::Health {
                kind,
                hours_left: left.map(|l| l.num_hours()),
            });
            match kind {
                HealthKind::RecoverySucceeded => Priority::P3,
                HealthKind::RecoveryFailed if prod => Priority::P0,
                HealthKind::RecoveryFailed => Priority::P1,
                _ => match left {
                    Some(l) if l <= Duration::hours(24) && prod => Priority::P1,
                    Some(l) if l <= Duration::hours(24) => Priority::P2,
                    Some(l) if l <= Duration::days(7) => Priority::P2,
                    _ => Priority::P3,
                },
            }
        }
        AlarmState::Alarm if has(RuleId::Stopped) => {
            let cause = findings.iter().find_map(|f| match &f.detail {
                Detail::Stopped { cause, .. } => Some(*cause),
                _ => None,
            });
            reasons.push(Reason::Stopped {
                intended: cause == Some(StopCause::Intended),
            });
            match (cause, prod) {
                (Some(StopCause::Intended), _) => Priority::P3,
                (_, true) => Priority::P1,
                (_, false) => Priority::P2,
            }
        }
        AlarmState::Alarm if has(RuleId::AzEvent) => {
            // A probable AWS-side event hits every instance in the AZ, production or not.
            reasons.push(Reason::AzEvent);
            Priority::P0
        }
        AlarmState::Alarm if has(RuleId::Gone) => {
            reasons.push(Reason::Gone);
            Priority::P3
        }
        AlarmState::Alarm => {
            let p = if has(RuleId::SysCheck) || has(RuleId::InstCheck) || has(RuleId::EbsCheck) {
                let check = [
                    (RuleId::SysCheck, catalogue::STATUS_CHECK_FAILED_SYSTEM),
                    (RuleId::InstCheck, catalogue::STATUS_CHECK_FAILED_INSTANCE),
                    (
                        RuleId::EbsCheck,
                        catalogue::STATUS_CHECK_FAILED_ATTACHED_EBS,
                    ),
                ]
                .into_iter()
                .find(|(r, _)| has(*r))
                .map(|(_, m)| m);
                reasons.push(Reason::StatusCheckFailed { check });
                if prod {
                    Priority::P0
                } else {
                    Priority::P1
                }
            } else if matches!(change.kind, AlarmKind::Composite { .. }) {
                reasons.push(Reason::CompositeAlarm {
                    members: members_fired(change),
                });
                if prod {
                    Priority::P1
                } else {
                    Priority::P2
                }
            } else if has(RuleId::SecSuspect) {
                // A possible compromise spreads: high priority whatever the environment.
                reasons.push(Reason::SecuritySuspect);
                Priority::P1
            } else if let Some(p) = pressure_of(change, findings) {
                reasons.push(Reason::ResourcePressure(p.clone()));
                if prod {
                    Priority::P1
                } else {
                    Priority::P2
                }
            } else if has(RuleId::CpuSustained) || has(RuleId::CpuCredits) {
                if let Some(balance) = findings.iter().find_map(|f| match f.detail {
                    Detail::CpuCredits { balance, .. } => Some(balance),
                    _ => None,
                }) {
                    reasons.push(Reason::CreditsExhausted { balance });
                }
                if let Some(f) = findings.iter().find(|f| f.rule == RuleId::CpuSustained) {
                    reasons.extend(sustained_cpu(change, f).map(Reason::SustainedBreach));
                }
                if prod {
                    Priority::P1
                } else {
                    Priority::P2
                }
            } else if let Some((last, baseline, at)) =
                findings.iter().find_map(|f| match f.detail {
                    Detail::CpuSpike { last, baseline, at } => Some((last, baseline, at)),
                    _ => None,
                })
            {
                reasons.push(Reason::CpuSpike { last, baseline, at });
                Priority::P2
            } else {
                let breach = breach_of(change);
                if breach.datapoints >= 3 {
                    reasons.push(Reason::SustainedBreach(breach));
                    if prod {
                        Priority::P1
                    } else {
                        Priority::P2
                    }
                } else {
                    reasons.push(Reason::SingleBreach {
                        value: breach.peak,
                        threshold: breach.threshold,
                        metric: breach.metric,
                    });
                    Priority::P2
                }
            };
            p
        }
    };
    if (change.state.value == AlarmState::Alarm && !has(RuleId::Gone)) || unexplained_stop {
        reasons.push(env_reason);
    }
    (p, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alarms_reason_gives_how_many_of_its_last_datapoints_crossed() {
        use crate::model::Crossed;
        let parse = |r: &str| Crossed::parse(r).map(|c| (c.crossed, c.of));
        assert_eq!(parse("Threshold Crossed: 3 out of the last 5 datapoints [1.0 (…)] were greater than the threshold (80.0)"), Some((3, 5)));
        assert_eq!(
            parse("Threshold Crossed: 1 datapoint was greater than the threshold (20.0)."),
            Some((1, 1))
        );
        assert_eq!(
            parse("Threshold Crossed: 2 datapoints were less than the threshold (1.0)."),
            Some((2, 2))
        );
        // Nonsense counts from a hostile or broken reason are not believed.
        assert_eq!(
            parse("Threshold Crossed: 6 out of the last 5 datapoints"),
            None
        );
        assert_eq!(
            parse("Threshold Crossed: 99999999999999999999999 datapoints"),
            None
        );
        assert_eq!(
            parse("Threshold Crossed: 0 out of the last 0 datapoints"),
            None
        );
    }

    #[test]
    fn a_contributor_counts_the_datapoints_its_reason_says_crossed() {
        assert_eq!(
            crossed_datapoints(
                "Threshold Crossed: 1 datapoint was greater than the threshold (20.0)."
            ),
            Some(1)
        );
        assert_eq!(
            crossed_datapoints(
                "Threshold Crossed: 3 out of the last 5 datapoints were greater than the threshold (80.0)"
            ),
            Some(3)
        );
        assert_eq!(crossed_datapoints("No data was returned"), None);
        let prod = Environment::Production("prod".into());
        assert_eq!(contributor_priority(&prod, Some(1)), Priority::P2);
        assert_eq!(contributor_priority(&prod, Some(3)), Priority::P1);
        assert_eq!(contributor_priority(&prod, None), Priority::P1);
        let dev = Environment::NonProduction("dev".into());
        assert_eq!(contributor_priority(&dev, Some(5)), Priority::P2);
    }
}
