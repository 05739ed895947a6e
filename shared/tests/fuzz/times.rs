//! AWS Health times and verification requests: whatever they hold, a report with a warning or an error naming the
//! field — never a panic in the arithmetic done on them.

use super::commands::strict_words;
use super::*;
use ec2ops::facts::Gap;

/// RFC 2822 times as Health writes them, with years up to chrono's last.
fn rfc2822_time() -> impl Strategy<Value = String> {
    let generated = (
        prop::option::of(prop::sample::select(&["Mon, ", "Wed, ", "Sun, "][..])),
        1u32..=31,
        prop::sample::select(&["Jan", "Feb", "Nov", "Dec"][..]),
        prop_oneof![
            1900i64..=2100,
            9990i64..=10010,
            262_000i64..=262_143,
            any::<i64>()
        ],
        prop::sample::select(&["00:00:00", "23:59:59", "12:30"][..]),
        prop::sample::select(&["GMT", "+0000", "-1200", "+1400", "UT", "Z"][..]),
    )
        .prop_map(|(day_name, day, month, year, clock, zone)| {
            format!(
                "{}{day} {month} {year} {clock} {zone}",
                day_name.unwrap_or("")
            )
        });
    prop_oneof![
        1 => prop::sample::select(&["31 Dec 262142 23:59:59 GMT", "Fri, 31 Dec 9999 23:59:59 +0000"][..])
            .prop_map(str::to_string),
        3 => generated,
    ]
}

/// Run what is done with an incident's time: the metric window, the history window, the report.
fn check_incident(change: &AlarmChange) -> Result<(), TestCaseError> {
    let request = ec2ops::gather::plan_window(change, chrono::Duration::minutes(30));
    prop_assert!(request.start <= request.end);
    check_reports(change, &Facts::unavailable(Gap::Failed("fuzz".into())))?;
    check_reports(change, &facts_for("health-retirement.json"))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn any_health_time_gives_a_report_or_an_error_naming_the_field(
        time in prop::option::of(prop_oneof![timestamp(), rfc2822_time()]),
        start in prop::option::of(prop_oneof![timestamp(), rfc2822_time()]),
        end in prop::option::of(prop_oneof![timestamp(), rfc2822_time()]),
    ) {
        let mut event = sample_health();
        for (pointer, value) in [("/time", &time), ("/detail/startTime", &start), ("/detail/endTime", &end)] {
            let (parent, key) = pointer.rsplit_once('/').unwrap();
            let object = if parent.is_empty() { &mut event } else { event.pointer_mut(parent).unwrap() };
            match value {
                Some(v) => object[key] = v.clone().into(),
                None => { object.as_object_mut().unwrap().remove(key); }
            }
        }
        match parse(&event) {
            Ok(Parsed::Health(changes)) => {
                for change in &changes {
                    check_incident(change)?;
                }
            }
            Err(e @ EventError::Timestamp { .. }) => {
                check_line("error", &e.to_string())?;
                let m = e.to_string();
                prop_assert!(m.starts_with("time:") || m.starts_with("detail.startTime:"), "{}", m);
            }
            other => prop_assert!(false, "gave {other:?}"),
        }
    }
}

fn sample_health() -> Value {
    sample("health-retirement.json")
}

#[test]
fn a_health_time_in_rfc_2822_at_the_end_of_chrono_time_is_a_warning_rather_than_a_panic() {
    // Found by review: chrono reads RFC 2822 years up to 262142, the Health parser took them unbounded, and the
    // metric window added a minute to the incident time taken from `startTime` — a panic.
    let huge = "31 Dec 262142 23:59:59 GMT";
    let mut event = sample_health();
    event["detail"]["startTime"] = huge.into();
    event["detail"]["endTime"] = huge.into();
    let Ok(Parsed::Health(changes)) = parse(&event) else {
        panic!("still reported");
    };
    check_incident(&changes[0]).unwrap();
    assert!(
        changes[0]
            .warnings
            .iter()
            .any(|w| w.starts_with("detail.startTime: unreadable time")),
        "{:?}",
        changes[0].warnings
    );
    assert!(changes[0].health().unwrap().end.is_none());

    event.as_object_mut().unwrap().remove("time");
    let err = parse(&event).unwrap_err().to_string();
    assert!(
        err.starts_with("detail.startTime: unreadable timestamp"),
        "{err}"
    );
}

#[test]
fn a_verification_request_names_the_field_it_cannot_use() {
    let mut event = sample("verify-reboot.json");
    event["detail"]["instance_id"] = "i-0d1e2f3a4b5c6d7e8 $(reboot)".into();
    let err = parse(&event).unwrap_err().to_string();
    assert!(err.contains("detail.instance_id"), "{err}");

    let mut event = sample("verify-reboot.json");
    event["detail"]["acted_at"] = "+262142-12-31T23:59:59Z".into();
    let err = parse(&event).unwrap_err().to_string();
    assert!(err.contains("detail.acted_at"), "{err}");
}

#[test]
fn the_metric_window_of_a_time_at_either_end_of_chrono_time_is_planned_without_a_panic() {
    // The parser keeps event times within 1970-9999; the window arithmetic is checked anyway, for incidents built
    // in code (the sweep's, from DescribeInstanceStatus).
    for at in [
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
    ] {
        let mut change = support::load("cpu-spike.json");
        change.state.at = at;
        let request = ec2ops::gather::plan_window(&change, chrono::Duration::minutes(30));
        assert!(request.start <= request.end, "{at}");
    }
}

#[test]
fn the_follow_ups_next_step_quotes_the_requests_region_and_cannot_mention_the_channel() {
    // The verification request is an event: its region reaches the follow-up's command and its chat card.
    let Ok(Parsed::Verify(mut req)) = parse(&sample("verify-reboot.json")) else {
        panic!("a verification request");
    };
    req.region = Some("<!channel>;reboot".into());
    let verdict = ec2ops::report::followup::Verdict::NotFixed {
        detail: ec2ops::report::followup::NotFixed::Checks {
            system: Some("ok".into()),
            instance: Some("impaired".into()),
        },
    };
    let msg = ec2ops::report::followup::render(
        &req,
        &verdict,
        req.acted_at + chrono::Duration::minutes(10),
        Language::En,
        chrono_tz::UTC,
    );
    let body: Value = serde_json::from_str(&msg.message).unwrap();
    let email = body["email"].as_str().unwrap();
    let command = email
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("$ "))
        .find(|c| c.starts_with("aws ec2 stop-instances"))
        .expect("the next step's command");
    assert_eq!(
        strict_words(command).unwrap(),
        [
            "aws",
            "ec2",
            "stop-instances",
            "--instance-ids",
            "i-0c2d4e6f8a0b1c3d5",
            "--region",
            "<!channel>;reboot"
        ]
    );
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    assert!(!chat["content"]["description"]
        .as_str()
        .unwrap()
        .contains('<'));
}
