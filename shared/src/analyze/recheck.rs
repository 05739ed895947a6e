//! The second look at a short spike: when a report's advice is to watch a CPU spike (CPU-SPIKE), ec2ops looks at the
//! alarm's metric again a few minutes later (`EC2OPS_RECHECK_MINUTES`) and says in the incident's thread whether the
//! picture changed — the spike became sustained, peaked higher, or recovered. This file is the pure part: what the
//! schedule carries ([`RecheckRequest`]), the window it reads, and the judgement ([`classify`]), the clock passed in.

use chrono::{DateTime, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use super::{Assessment, Detail, Priority, RuleId, SUSTAINED_MINUTES};
use crate::catalogue;
use crate::model::{AlarmState, Incident, MetricRef};

/// The detail type of the re-check's event (source `ec2ops`, as every event ec2ops sends itself).
pub const RECHECK_DETAIL_TYPE: &str = "ec2ops.recheck";

/// What the first report saw, carried by the one-time schedule that brings the re-check back to the function: the
/// alarm's metric to read again, the threshold, and the spike as the report described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecheckRequest {
    pub incident_key: String,
    pub thread_id: String,
    pub instance_id: String,
    pub alarm_name: String,
    pub region: Option<String>,
    /// The alarm's own metric (its namespace, name, the instance's dimension, period and statistic).
    pub metric: MetricRef,
    /// The CPU threshold the rules used (a datapoint at or above it is past it).
    pub threshold: f64,
    /// How many datapoints past the threshold the alarm needs (its M of N; 1 when the reason does not say).
    pub datapoints_to_alarm: usize,
    /// The transition of the first report.
    pub alarm_at: DateTime<Utc>,
    /// The spike as the first report saw it: its highest datapoint, when, and how many datapoints were past the
    /// threshold in a row.
    pub peak: f64,
    pub peak_at: DateTime<Utc>,
    pub datapoints_above: usize,
    /// The first report's priority, and whether the instance counts as production (sustained on production is P1).
    pub priority: Priority,
    pub production: bool,
}

impl RecheckRequest {
    /// The re-check of an incident whose advice is to watch a spike: an alarm in ALARM on one instance's CPU whose
    /// assessment found CPU-SPIKE (which excludes CPU-SUSTAINED); `None` for any other incident.
    pub fn of(change: &Incident, a: &Assessment) -> Option<RecheckRequest> {
        if change.state.value != AlarmState::Alarm || !a.has(RuleId::CpuSpike) {
            return None;
        }
        let instance_id = change.single_instance().ok()?.to_string();
        let metric = change.primary_metric()?.clone();
        let names_it = metric.dimensions.get("InstanceId") == Some(&instance_id);
        if !(names_it && metric.namespace == catalogue::EC2) {
            return None;
        }
        let spike = a.findings.iter().find(|f| f.rule == RuleId::CpuSpike)?;
        let Detail::CpuSpike { last, at, .. } = &spike.detail else {
            return None;
        };
        let (last, at) = (*last, *at);
        let datapoints_above = spike
            .evidence
            .iter()
            .filter(|o| matches!(o, super::Observation::Datapoint { value, .. } if *value >= a.cpu_threshold))
            .count()
            .max(1);
        let datapoints_to_alarm =
            crate::model::Crossed::parse(&change.state.reason).map_or(1, |c| c.crossed.max(1));
        Some(RecheckRequest {
            incident_key: change.incident_key(),
            thread_id: change.thread_id(),
            instance_id,
            alarm_name: change.alarm_name.clone(),
            region: change.region.clone(),
            metric,
            threshold: a.cpu_threshold,
            datapoints_to_alarm,
            alarm_at: change.state.at,
            peak: last,
            peak_at: at,
            datapoints_above,
            priority: a.priority,
            production: a.environment.is_production(),
        })
    }

    /// The event the schedule delivers.
    pub fn to_event(&self) -> serde_json::Value {
        serde_json::json!({ "source": "ec2ops", "detail-type": RECHECK_DETAIL_TYPE, "detail": self })
    }

    /// The schedule's name: one per incident, so a second delivery of the incident scheduling it again finds it
    /// there. Names allow `[0-9a-zA-Z-_.]{1,64}` (the adapter adds `ec2ops-`).
    pub fn schedule_name(&self) -> String {
        let hash = self
            .incident_key
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        format!(
            "recheck-{}-{}-{hash:016x}",
            self.instance_id,
            self.alarm_at.timestamp()
        )
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(57)
        .collect()
    }

    /// The alarm's period in seconds (a minute when the event said none).
    pub fn period_secs(&self) -> i64 {
        i64::try_from(self.metric.period)
            .ok()
            .filter(|p| *p > 0)
            .unwrap_or(60)
    }

    /// The window the re-check reads: from ten periods before the spike to the minute after `now`, at the alarm's
    /// period — the alarm's own view of its metric.
    pub fn window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let period = chrono::Duration::seconds(self.period_secs());
        let start = self
            .peak_at
            .checked_sub_signed(period * 10)
            .unwrap_or(self.peak_at);
        let end = now
            .duration_trunc(chrono::Duration::minutes(1))
            .unwrap_or(now)
            .checked_add_signed(chrono::Duration::minutes(1))
            .unwrap_or(now);
        (start, end.max(start))
    }
}

/// What the second look found, compared with the first report.
#[derive(Debug, Clone, PartialEq)]
pub enum Picture {
    /// Past the threshold for [`SUSTAINED_MINUTES`] or more in a row, and for at least the alarm's M datapoints:
    /// no longer a spike.
    Sustained {
        since: DateTime<Utc>,
        minutes: i64,
        datapoints: usize,
        last: f64,
        lowest: f64,
    },
    /// A datapoint after the first peak well above it (by 5 points or a tenth, whichever is more).
    Higher { peak: f64, at: DateTime<Utc> },
    /// Back under the threshold: the highest datapoint, how long it stayed past the threshold, and the value now.
    Recovered {
        peak: f64,
        peak_at: DateTime<Utc>,
        minutes_above: i64,
        back_at: DateTime<Utc>,
        last: f64,
    },
    /// Still past the threshold but not for long, or no datapoint since the first report: nothing to post.
    Unchanged { last: Option<(DateTime<Utc>, f64)> },
}

impl Picture {
    /// Whether the thread hears about it.
    pub fn changed(&self) -> bool {
        !matches!(self, Picture::Unchanged { .. })
    }

    /// Its name in logs.
    pub fn label(&self) -> &'static str {
        match self {
            Picture::Sustained { .. } => "sustained",
            Picture::Higher { .. } => "higher",
            Picture::Recovered { .. } => "recovered",
            Picture::Unchanged { .. } => "unchanged",
        }
    }

    /// The follow-up's priority: sustained is the sustained rules' (P1 in production, else P2), never below the
    /// first report's; higher keeps the first report's; recovered is informational.
    pub fn priority(&self, req: &RecheckRequest) -> Priority {
        match self {
            Picture::Sustained { .. } => {
                let sustained = if req.production {
                    Priority::P1
                } else {
                    Priority::P2
                };
                sustained.min(req.priority)
            }
            Picture::Higher { .. } | Picture::Unchanged { .. } => req.priority,
            Picture::Recovered { .. } => Priority::P3,
        }
    }
}

/// Compare the alarm's metric now (`points`, any order) with the first report's spike. Sustained first (it is the
/// change that matters most), then higher, then recovered.
pub fn classify(
    req: &RecheckRequest,
    points: &[(DateTime<Utc>, f64)],
    now: DateTime<Utc>,
) -> Picture {
    let mut points: Vec<(DateTime<Utc>, f64)> = points
        .iter()
        .copied()
        .filter(|(t, v)| v.is_finite() && *t <= now)
        .collect();
    points.sort_by_key(|(t, _)| *t);
    let past = |v: f64| v >= req.threshold;
    let period = req.period_secs();
    let Some(&(last_at, last)) = points.last() else {
        return Picture::Unchanged { last: None };
    };
    let run = points.iter().rev().take_while(|(_, v)| past(*v)).count();
    if run > 0 {
        let since = points[points.len() - run].0;
        let minutes = (last_at - since).num_seconds().saturating_add(period) / 60;
        if minutes >= SUSTAINED_MINUTES && run >= req.datapoints_to_alarm {
            let lowest = points[points.len() - run..]
                .iter()
                .map(|(_, v)| *v)
                .fold(f64::INFINITY, f64::min);
            return Picture::Sustained {
                since,
                minutes,
                datapoints: run,
                last,
                lowest,
            };
        }
    }
    let after: Vec<(DateTime<Utc>, f64)> = points
        .iter()
        .copied()
        .filter(|(t, _)| *t > req.peak_at)
        .collect();
    if after.is_empty() {
        return Picture::Unchanged {
            last: Some((last_at, last)),
        };
    }
    let margin = 5.0_f64.max(req.peak.abs() * 0.1);
    if let Some(&(at, peak)) = after.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        if peak >= req.peak + margin {
            return Picture::Higher { peak, at };
        }
    }
    if past(last) {
        return Picture::Unchanged {
            last: Some((last_at, last)),
        };
    }
    // Back under: the run past the threshold that holds the first peak (or the highest since), to the first datapoint
    // under the threshold after it.
    let (peak_at, peak) = points
        .iter()
        .copied()
        .filter(|(t, _)| *t >= req.peak_at)
        .fold(
            (req.peak_at, req.peak),
            |best, p| {
                if p.1 > best.1 {
                    p
                } else {
                    best
                }
            },
        );
    let back_at = after
        .iter()
        .find(|(t, v)| *t > peak_at && !past(*v))
        .map_or(last_at, |(t, _)| *t);
    let from = points
        .iter()
        .rev()
        .filter(|(t, _)| *t <= peak_at)
        .take_while(|(_, v)| past(*v))
        .last()
        .map_or(peak_at, |(t, _)| *t);
    Picture::Recovered {
        peak,
        peak_at,
        minutes_above: ((back_at - from).num_seconds() / 60).max(period / 60),
        back_at,
        last,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn at(minute: u32) -> DateTime<Utc> {
        chrono::TimeZone::with_ymd_and_hms(&Utc, 2025, 7, 20, 12, minute, 0).unwrap()
    }

    /// The seed's spike: 39.58 % at 12:19 against a 25 % threshold, one datapoint, 1 of 1.
    fn request() -> RecheckRequest {
        RecheckRequest {
            incident_key: "k".into(),
            thread_id: "t".into(),
            instance_id: "i-0ae3d067021f08710".into(),
            alarm_name: "EC2-HighCPU".into(),
            region: Some("ap-northeast-2".into()),
            metric: MetricRef {
                id: "m".into(),
                namespace: catalogue::EC2.into(),
                name: catalogue::CPU_UTILIZATION.into(),
                dimensions: BTreeMap::from([(
                    "InstanceId".to_string(),
                    "i-0ae3d067021f08710".to_string(),
                )]),
                period: 60,
                stat: "Average".into(),
                return_data: true,
            },
            threshold: 25.0,
            datapoints_to_alarm: 1,
            alarm_at: at(20),
            peak: 39.58,
            peak_at: at(19),
            datapoints_above: 1,
            priority: Priority::P2,
            production: true,
        }
    }

    fn series(values: &[(u32, f64)]) -> Vec<(DateTime<Utc>, f64)> {
        values.iter().map(|(m, v)| (at(*m), *v)).collect()
    }

    #[test]
    fn a_spike_that_stays_past_the_threshold_for_five_minutes_became_sustained_and_is_p1_in_production(
    ) {
        let r = request();
        let p = classify(
            &r,
            &series(&[
                (17, 0.3),
                (18, 1.7),
                (19, 39.58),
                (20, 88.0),
                (21, 91.0),
                (22, 90.0),
                (23, 89.0),
            ]),
            at(25),
        );
        assert!(
            matches!(p, Picture::Sustained { minutes: 5, datapoints: 5, lowest, .. } if lowest == 39.58),
            "{p:?}"
        );
        assert!(p.changed());
        assert_eq!(p.priority(&r), Priority::P1);
        let dev = RecheckRequest {
            production: false,
            ..r
        };
        assert_eq!(p.priority(&dev), Priority::P2);
    }

    #[test]
    fn a_run_shorter_than_the_alarms_m_datapoints_is_not_sustained() {
        let r = RecheckRequest {
            datapoints_to_alarm: 10,
            metric: MetricRef {
                period: 60,
                ..request().metric
            },
            ..request()
        };
        let p = classify(
            &r,
            &series(&[(19, 39.58), (20, 30.0), (21, 31.0), (22, 30.0), (23, 32.0)]),
            at(25),
        );
        assert!(matches!(p, Picture::Unchanged { .. }), "{p:?}");
    }

    #[test]
    fn a_datapoint_well_above_the_first_peak_is_a_higher_peak() {
        let p = classify(
            &request(),
            &series(&[(19, 39.58), (20, 12.0), (21, 61.0), (22, 10.0)]),
            at(25),
        );
        assert_eq!(
            p,
            Picture::Higher {
                peak: 61.0,
                at: at(21)
            }
        );
    }

    #[test]
    fn a_little_above_the_first_peak_is_not_higher() {
        let p = classify(&request(), &series(&[(19, 39.58), (20, 42.0)]), at(25));
        assert!(matches!(p, Picture::Unchanged { .. }), "{p:?}");
    }

    #[test]
    fn back_under_the_threshold_is_recovered_with_the_peak_the_minutes_above_and_the_value_now() {
        let p = classify(
            &request(),
            &series(&[(18, 1.7), (19, 39.58), (20, 3.0), (21, 0.4), (22, 0.3)]),
            at(25),
        );
        assert_eq!(
            p,
            Picture::Recovered {
                peak: 39.58,
                peak_at: at(19),
                minutes_above: 1,
                back_at: at(20),
                last: 0.3
            }
        );
        assert_eq!(p.priority(&request()), Priority::P3);
    }

    #[test]
    fn no_datapoint_since_the_first_report_is_unchanged_and_posts_nothing() {
        let p = classify(&request(), &series(&[(18, 1.7), (19, 39.58)]), at(25));
        assert!(!p.changed(), "{p:?}");
        assert_eq!(
            classify(&request(), &[], at(25)),
            Picture::Unchanged { last: None }
        );
    }

    #[test]
    fn datapoints_after_the_clock_or_not_finite_are_not_read() {
        let p = classify(
            &request(),
            &series(&[(19, 39.58), (20, f64::NAN), (30, 99.0)]),
            at(25),
        );
        assert!(matches!(p, Picture::Unchanged { .. }), "{p:?}");
    }

    #[test]
    fn the_schedule_name_is_the_same_for_every_delivery_of_an_incident_and_differs_between_incidents(
    ) {
        let a = request();
        assert_eq!(a.schedule_name(), request().schedule_name());
        assert!(a.schedule_name().len() <= 57);
        let b = RecheckRequest {
            incident_key: "other".into(),
            ..request()
        };
        assert_ne!(a.schedule_name(), b.schedule_name());
    }

    #[test]
    fn the_window_starts_ten_periods_before_the_spike_and_ends_the_minute_after_now() {
        let (start, end) = request().window(at(25) + chrono::Duration::seconds(30));
        assert_eq!((start, end), (at(9), at(26)));
    }
}
