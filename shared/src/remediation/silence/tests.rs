use super::*;
use crate::analyze::assess;
use crate::event::{parse_bytes, Parsed};
use crate::facts::{InstanceFacts, InstanceLookup};
use crate::model::SuppressedBy;
use crate::silence::{CalendarState, MuteRule, Silencers};

fn change(file: &str) -> Incident {
    let path = format!("{}/../events/{file}", env!("CARGO_MANIFEST_DIR"));
    match parse_bytes(&std::fs::read(path).unwrap()).unwrap() {
        Parsed::Alarm(c) => *c,
        other => panic!("{other:?}"),
    }
}

fn at(s: &str) -> DateTime<Utc> {
    crate::event::parse_timestamp(s).unwrap()
}

fn muted(rules: &[&str]) -> Facts {
    Facts {
        silencers: Silencers {
            mute_rules: Some(Source::Available(
                rules
                    .iter()
                    .map(|r| MuteRule {
                        name: r.to_string(),
                        expires: None,
                        alarm: None,
                    })
                    .collect(),
            )),
            calendars: vec![],
            read_at: None,
        },
        ..Facts::unavailable(Gap::NotNeeded)
    }
}

#[test]
fn a_muted_cpu_alarm_is_quiet_and_an_unmuted_one_is_loud() {
    let c = change("cpu-sustained.json");
    let f = muted(&["deploy-window"]);
    let a = assess(&c, &f);
    assert_eq!(
        loudness(&c, &f, &a, c.state.at),
        Loudness::Quiet(vec![Silence::Muted {
            rule: "deploy-window".into(),
            expires: None,
            alarm: None
        }])
    );
    let f = muted(&[]);
    assert_eq!(
        loudness(&c, &f, &assess(&c, &f), c.state.at),
        Loudness::Loud
    );
}

/// A P0 status-check failure breaks through the quiet and says what it broke through; a P1 check failure does not.
#[test]
fn only_a_p0_status_check_failure_breaks_through() {
    let c = change("status-system.json");
    let mut f = muted(&["weekend"]);
    let mut i = InstanceFacts {
        id: "i-0d1e2f3a4b5c6d7e8".into(),
        ..InstanceFacts::default()
    };
    i.tags.insert("Environment".into(), "prod".into());
    f.instance = Source::Available(InstanceLookup::Found(Box::new(i)));
    let a = assess(&c, &f);
    assert_eq!(a.priority, Priority::P0, "{:?}", a.reasons);
    assert!(matches!(
        loudness(&c, &f, &a, c.state.at),
        Loudness::BrokeThrough(ref s) if s.len() == 1
    ));
    let mut lower = a.clone();
    lower.priority = Priority::P1;
    assert!(matches!(
        loudness(&c, &f, &lower, c.state.at),
        Loudness::Quiet(_)
    ));
}

/// A source that could not be read never makes a report quiet: a read failure must not hide a page.
#[test]
fn an_unread_source_is_never_quiet() {
    let c = change("cpu-sustained.json");
    let f = Facts {
        silencers: Silencers {
            mute_rules: Some(Source::Unavailable(Gap::TimedOut { ms: 4000 })),
            calendars: vec![(
                "release-freeze".into(),
                Source::Unavailable(Gap::Failed("AccessDeniedException: no".into())),
            )],
            read_at: None,
        },
        ..Facts::unavailable(Gap::NotNeeded)
    };
    assert_eq!(
        loudness(&c, &f, &assess(&c, &f), c.state.at),
        Loudness::Loud
    );
    assert_eq!(unread(&f).len(), 2);
}

/// A closed calendar is a freeze until its next transition (a transition already past is no time to give); an open
/// one is nothing.
#[test]
fn a_closed_calendar_is_a_freeze_until_it_opens() {
    let c = change("cpu-sustained.json");
    let now = at("2025-10-12T04:32:00.000+0000");
    let cal = |open, next: &str| {
        Source::Available(CalendarState {
            open,
            next_transition: Some(at(next)),
        })
    };
    let f = Facts {
        silencers: Silencers {
            mute_rules: None,
            calendars: vec![
                ("a".into(), cal(false, "2025-10-12T09:00:00.000+0000")),
                ("b".into(), cal(true, "2025-10-12T09:00:00.000+0000")),
                ("c".into(), cal(false, "2025-10-12T04:00:00.000+0000")),
            ],
            read_at: None,
        },
        ..Facts::unavailable(Gap::NotNeeded)
    };
    assert_eq!(
        silences(&c, &f, now),
        vec![
            Silence::Frozen {
                calendar: "a".into(),
                until: Some(at("2025-10-12T09:00:00.000+0000"))
            },
            Silence::Frozen {
                calendar: "c".into(),
                until: None
            }
        ]
    );
}

/// A composite whose event says its actions are suppressed is silenced by its suppressor; the same composite
/// without `actionsSuppressedBy` is not, and a value CloudWatch does not document is read as not suppressed.
#[test]
fn a_composite_suppressed_by_its_suppressor_is_silenced() {
    let c = change("composite-suppressed.json");
    let f = Facts::unavailable(Gap::NotNeeded);
    assert_eq!(
        silences(&c, &f, c.state.at),
        vec![Silence::Suppressed(crate::model::ActionsSuppressed {
            by: SuppressedBy::Alarm,
            suppressor: Some("prod-maintenance-window".into())
        })]
    );
    assert!(silences(&change("composite.json"), &f, c.state.at).is_empty());
    let path = format!(
        "{}/../events/composite-suppressed.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).unwrap().replace(
        "\"actionsSuppressedBy\": \"Alarm\"",
        "\"actionsSuppressedBy\": \"Sometimes\"",
    );
    let Ok(Parsed::Alarm(odd)) = parse_bytes(text.as_bytes()) else {
        panic!("parses")
    };
    assert!(silences(&odd, &f, c.state.at).is_empty());
    assert!(
        odd.warnings
            .iter()
            .any(|w| w.contains("actionsSuppressedBy")),
        "{:?}",
        odd.warnings
    );
    // Waiting for the suppressor, or waiting out its extension, CloudWatch performs the actions when the period ends:
    // no silence (no later event would lift it).
    for period in ["WaitPeriod", "ExtensionPeriod"] {
        let text = std::fs::read_to_string(format!(
            "{}/../events/composite-suppressed.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .replace(
            "\"actionsSuppressedBy\": \"Alarm\"",
            &format!("\"actionsSuppressedBy\": \"{period}\""),
        );
        let Ok(Parsed::Alarm(waiting)) = parse_bytes(text.as_bytes()) else {
            panic!("parses")
        };
        assert!(matches!(
            &waiting.kind,
            crate::model::AlarmKind::Composite {
                suppressed: Some(_),
                ..
            }
        ));
        assert!(silences(&waiting, &f, c.state.at).is_empty(), "{period}");
    }
}

/// A fleet alarm's own event is not silenced by the maintenance of the instance it was focused on; a contributor's
/// event, about that one instance, is.
#[test]
fn a_fleet_alarm_is_not_silenced_by_its_top_instances_maintenance_but_its_contributor_is() {
    let mut i = InstanceFacts {
        id: "i-0ae3d067021f08710".into(),
        ..InstanceFacts::default()
    };
    i.tags.insert(
        crate::remediation::maintenance::TAG.into(),
        "2025-07-20T18:00:00Z".into(),
    );
    let f = Facts {
        instance: Source::Available(InstanceLookup::Found(Box::new(i))),
        ..Facts::unavailable(Gap::NotNeeded)
    };
    let fleet = change("fleet-insights-alarm.json");
    assert!(fleet.fleet.is_some());
    assert!(silences(&fleet, &f, fleet.state.at).is_empty());
    let contributor = change("fleet-contributor-alarm.json");
    assert!(matches!(
        silences(&contributor, &f, contributor.state.at)[..],
        [Silence::Maintenance { .. }]
    ));
}
