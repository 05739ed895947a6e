//! Delivery formats and their limits: SNS subject and size, Chatbot shape, escaping of user-controlled text.

mod support;

use ec2ops::config::{Language, Settings};
use ec2ops::facts::Gap;
use ec2ops::facts::{Facts, InstanceLookup, Source};
use ec2ops::pipeline::compose;
use ec2ops::report::render::{self, CHAT_DESCRIPTION_MAX_CHARS, SNS_MAX_BYTES};
use serde_json::Value;

fn en() -> Settings {
    Settings {
        language: Language::En,
        ..Settings::default()
    }
}

#[test]
fn sns_message_is_json_with_chatbot_default_and_email_text() {
    let change = support::load("cpu-spike.json");
    let (_, _, msg) = compose(&change, &support::cpu_spike("t3.small", None), &en());
    let body: Value = serde_json::from_str(&msg.message).unwrap();
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert!(chat["content"]["title"]
        .as_str()
        .unwrap()
        .starts_with("[P2] CPU spike"));
    assert!(chat["content"]["nextSteps"].as_array().unwrap().len() >= 2);
    assert_eq!(chat["metadata"]["threadId"], change.thread_id());
    assert_eq!(
        chat["metadata"]["relatedResources"][0],
        "arn:aws:ec2:ap-northeast-2:123456789012:instance/i-0ae3d067021f08710"
    );
    let email = body["email"].as_str().unwrap();
    assert!(email.contains("1. 🚨 Urgency") && email.contains("7. 🤖 Automation opportunities"));
    assert_eq!(
        msg.subject,
        "[P2] CPU spike i-0ae3d067021f08710 (VPC02-Private-B)"
    );
}

#[test]
fn alarm_and_ok_reports_share_the_chat_thread() {
    let alarm = support::load("cpu-spike.json");
    let ok = support::load("ok-recovery.json");
    let t = |c, f: &Facts| {
        let (_, r, _) = compose(c, f, &en());
        render::chatbot(&r)["metadata"]["threadId"].clone()
    };
    assert_eq!(
        t(&alarm, &support::cpu_spike("t3.small", None)),
        t(&ok, &support::ok_recovery())
    );
}

/// Hostile user-controlled text everywhere: huge, multi-line, non-ASCII, with Slack control sequences.
fn hostile() -> (ec2ops::model::AlarmChange, Facts) {
    let mut change = support::load("cpu-spike.json");
    let evil = format!(
        "<!channel> *boom* `x` [link](http://e.vil) 한국어\n{}",
        "A".repeat(300_000)
    );
    change.alarm_name = evil.clone();
    change.description = Some(evil.clone());
    let mut facts = support::cpu_spike("t3.small", None);
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Name".into(), evil.clone());
        i.tags.insert("Environment".into(), evil);
    }
    (change, facts)
}

#[test]
fn hostile_user_text_is_escaped_bounded_and_kept_within_every_limit() {
    let (change, facts) = hostile();
    for lang in [Language::Ko, Language::En] {
        let settings = Settings {
            language: lang,
            ..Settings::default()
        };
        let (_, report, msg) = compose(&change, &facts, &settings);
        assert!(msg.message.len() <= SNS_MAX_BYTES);
        assert!(
            msg.subject.len() < 100 && msg.subject.is_ascii(),
            "{}",
            msg.subject
        );
        assert!(!msg.subject.contains('\n'));
        let chat = render::chatbot(&report);
        let desc = chat["content"]["description"].as_str().unwrap();
        assert!(desc.chars().count() <= CHAT_DESCRIPTION_MAX_CHARS);
        assert!(
            !desc.contains("<!channel>") && desc.contains("&lt;!channel&gt;"),
            "{}",
            &desc[..desc.len().min(600)]
        );
        // A markdown link from the account is only ever shown inside a code span, where Slack renders nothing.
        for line in desc.lines() {
            if let Some(at) = line.find("[link](http") {
                let ticks = line[..at].matches('`').count();
                assert!(ticks % 2 == 1, "a link outside code: {line}");
            }
        }
        let title = chat["content"]["title"].as_str().unwrap();
        assert!(!title.contains('<'));
        let email = render::email(&report);
        assert!(
            email.len() < 64 * 1024,
            "user text is bounded: {}",
            email.len()
        );
        assert!(!email.contains("A".repeat(300).as_str()));
    }
}

#[test]
fn an_oversized_report_is_cut_from_the_least_important_section_first() {
    let change = support::load("cpu-spike.json");
    let (_, report, _) = compose(&change, &support::cpu_spike("t3.small", None), &en());
    let full = render::email(&report);
    let cut = render::email_within(&report, full.len() - 200);
    assert!(cut.len() <= full.len() - 200);
    assert!(
        cut.contains("lines cut to fit") || cut.contains("left out to fit"),
        "{cut}"
    );
    // Urgency and the findings survive; automation (the last section) is what shrinks.
    assert!(cut.contains("P2 Medium") && cut.contains("[CPU-SPIKE]"));
    let automation = |s: &str| {
        s.split("7. 🤖")
            .nth(1)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    assert!(automation(&cut) < automation(&full));
}

#[test]
fn subject_of_an_instance_without_an_ascii_name_falls_back_to_the_id() {
    let change = support::load("cpu-spike.json");
    let mut facts = support::cpu_spike("t3.small", None);
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Name".into(), "운영서버".into());
    }
    let (_, _, msg) = compose(&change, &facts, &en());
    assert_eq!(msg.subject, "[P2] CPU spike i-0ae3d067021f08710");
}

/// Every hold ec2ops can give, one line each in both languages, under the 🔧 section.
#[test]
fn every_hold_reads_as_one_line_in_both_languages() {
    use ec2ops::analyze::assess;
    use ec2ops::model::Comparison;
    use ec2ops::pipeline::render_report;
    use ec2ops::remediation::silence::{Silence, Unread};
    use ec2ops::remediation::{ActionKind, ActionOutcome, Fact, Hold, Uncorroborated};

    let not = |why| Hold::NotCorroborated { why };
    let holds = vec![
        not(Uncorroborated::NotCheckAlarm {
            metric: Some("CPUUtilization".into()),
            check: "StatusCheckFailed_System".into(),
        }),
        not(Uncorroborated::NotCheckAlarm {
            metric: None,
            check: "StatusCheckFailed_System".into(),
        }),
        not(Uncorroborated::Namespace {
            metric: "StatusCheckFailed_System".into(),
            namespace: "Custom/Health".into(),
        }),
        not(Uncorroborated::SeveralInstances {
            ids: vec!["i-0c2d4e6f8a0b1c3d5".into(), "i-0aaaaaaaaaaaaaaaa".into()],
        }),
        not(Uncorroborated::Member {
            id: "m2".into(),
            metric: "CPUUtilization".into(),
        }),
        not(Uncorroborated::Comparison {
            comparison: Some(Comparison::Less),
            threshold: Some(1.0),
        }),
        not(Uncorroborated::NoFailedDatapoint { evaluated: 3 }),
        not(Uncorroborated::NotImpaired {
            check: "StatusCheckFailed_System".into(),
            state: Some("ok".into()),
        }),
        Hold::CannotVerify {
            fact: Fact::InstanceStatus,
            why: Gap::TimedOut { ms: 4000 },
        },
        Hold::CannotVerify {
            fact: Fact::InstanceType,
            why: Gap::Failed("throttled".into()),
        },
        Hold::CannotVerify {
            fact: Fact::StopProtection,
            why: Gap::Failed("UnauthorizedOperation".into()),
        },
        Hold::CannotVerify {
            fact: Fact::Tenancy,
            why: Gap::Unreturned {
                field: "Placement.Tenancy".into(),
            },
        },
        Hold::CannotVerify {
            fact: Fact::AutoRecovery,
            why: Gap::Unreturned {
                field: "MaintenanceOptions.AutoRecovery".into(),
            },
        },
        Hold::OptInNotExact {
            tag: "ec2ops:auto-remediate".into(),
            value: " TRUE ".into(),
        },
        Hold::Spot,
        Hold::StopProtection,
        Hold::DedicatedHost,
        Hold::Efa,
        Hold::AutoRecovery,
        Hold::Maintenance {
            until: ec2ops::event::parse_timestamp("2025-10-11T23:00:00.000+0000").unwrap(),
        },
        Hold::Silenced(Silence::Muted {
            rule: "nightly-backup".into(),
            expires: Some(ec2ops::event::parse_timestamp("2026-01-01T00:00:00.000+0000").unwrap()),
            alarm: None,
        }),
        Hold::Silenced(Silence::Muted {
            rule: "weekend".into(),
            expires: None,
            alarm: Some("db-1-status-check".into()),
        }),
        Hold::Silenced(Silence::Frozen {
            calendar: "release-freeze".into(),
            until: Some(ec2ops::event::parse_timestamp("2025-10-12T09:00:00.000+0000").unwrap()),
        }),
        Hold::Silenced(Silence::Frozen {
            calendar: "holidays".into(),
            until: None,
        }),
        Hold::Silenced(Silence::Suppressed(ec2ops::model::ActionsSuppressed {
            by: ec2ops::model::SuppressedBy::Alarm,
            suppressor: Some("deploy-in-progress".into()),
        })),
        Hold::SilenceUnread {
            what: Unread::MuteRules,
            why: Gap::Failed("AccessDenied: not authorized".into()),
        },
        Hold::SilenceUnread {
            what: Unread::Calendar("release-freeze".into()),
            why: Gap::TimedOut { ms: 4000 },
        },
    ];
    let change = support::load("status-system.json");
    let mut facts = support::prod_db(
        ec2ops::facts::Role::StatusSystem,
        "2025-10-11T22:13:00.000+0000",
    );
    // A maintenance tag ec2ops does not follow is named under the action.
    if let Source::Available(ec2ops::facts::InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert(
            ec2ops::remediation::maintenance::TAG.into(),
            "after the release".into(),
        );
    }
    let a = assess(&change, &facts);
    let action = ActionOutcome::Held {
        action: ActionKind::StopStart,
        holds: holds.clone(),
    };
    let expected_en = [
        "not corroborated — the alarm is on CPUUtilization, not StatusCheckFailed_System",
        "not corroborated — the incident is not an alarm on StatusCheckFailed_System",
        "is in namespace Custom/Health, not AWS/EC2",
        "the alarm covers 2 instances (i-0c2d4e6f8a0b1c3d5, i-0aaaaaaaaaaaaaaaa): no single instance to act on",
        "the expression's metric m2 (CPUUtilization) is not this instance's status check",
        "the alarm's condition < 1 does not mean \"check failed\"",
        "none of the 3 evaluated datapoints is a failure",
        "DescribeInstanceStatus shows StatusCheckFailed_System ok now, not impaired",
        "cannot verify the status checks and scheduled events (DescribeInstanceStatus) — unknown means no action: timed out after 4000 ms",
        "cannot verify the type's instance storage and automatic-recovery support (DescribeInstanceTypes)",
        "cannot verify stop protection (DescribeInstanceAttribute disableApiStop)",
        "cannot verify the tenancy (Placement.Tenancy)",
        "cannot verify the simplified automatic recovery setting (MaintenanceOptions.AutoRecovery)",
        "the opt-in tag ec2ops:auto-remediate=\" TRUE \" is not exactly true",
        "held: a Spot instance",
        "held: stop protection (DisableApiStop) is on",
        "held: runs on a Dedicated Host",
        "held: an Elastic Fabric Adapter is attached",
        "held: AWS simplified automatic recovery is on: let it recover first",
        "held: a maintenance window is declared on the instance (ec2ops:maintenance-until tag): nothing is done until 2025-10-11 23:00:00 UTC",
        "held: CloudWatch mute rule nightly-backup mutes this alarm's actions — the rule expires 2026-01-01 00:00:00 UTC",
        "held: CloudWatch mute rule weekend mutes the actions of db-1-status-check, the alarm on this instance's check",
        "held: change freeze: Change Calendar release-freeze is CLOSED until 2025-10-12 09:00:00 UTC",
        "held: change freeze: Change Calendar holidays is CLOSED — the calendar gives no opening time ahead",
        "held: the composite's actions suppressor deploy-in-progress is in ALARM",
        "held: cannot read this alarm's mute rules — it may be muted, so no action: AccessDenied: not authorized",
        "held: cannot read Change Calendar release-freeze — a change freeze may be on, so no action: timed out after 4000 ms",
    ];
    assert_eq!(expected_en.len(), holds.len());
    for lang in [Language::Ko, Language::En] {
        let settings = Settings {
            language: lang,
            ..Settings::default()
        };
        let (report, _) = render_report(&change, &facts, &a, &action, &settings);
        let actions = report.sections.iter().find(|s| s.emoji == "🔧").unwrap();
        let lines: Vec<String> = actions.lines.iter().map(|l| l.plain()).collect();
        let held: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with("    · 보류: ") || l.starts_with("    · held: "))
            .collect();
        assert_eq!(held.len(), holds.len(), "{lines:#?}");
        let ignored = match lang {
            Language::Ko => {
                "    · 무시한 태그 ec2ops:maintenance-until=after the release: RFC 3339 시각이 아님"
            }
            Language::En => {
                "    · ignored tag ec2ops:maintenance-until=after the release: not an RFC 3339 time"
            }
        }
        .to_string();
        assert!(lines.contains(&ignored), "{lines:#?}");
        if lang == Language::En {
            for (line, want) in held.iter().zip(expected_en) {
                assert!(line.contains(want), "{line:?} should say {want:?}");
            }
        } else {
            assert!(held.iter().all(|l| !l.contains("held")), "{held:#?}");
        }
    }
}

/// A status alarm the instance's status does not confirm: the finding says so, and the 🔧 section says why nothing
/// was done.
#[test]
fn an_unconfirmed_status_alarm_says_so_in_the_finding_and_the_hold() {
    let change = support::load("status-system.json");
    let mut facts = support::prod_db(
        ec2ops::facts::Role::StatusSystem,
        "2025-10-11T22:13:00.000+0000",
    );
    if let Source::Available(s) = &mut facts.status {
        s.system = Some("ok".into());
    }
    let (_, report, _) = compose(&change, &facts, &en());
    let email = render::email(&report);
    // The finding is the most likely cause: the summary says it with the note, 📊 points there with the advice.
    assert!(
        email.contains("▶ Most likely cause: system status check failed: a problem on the AWS host (hardware, network, power) — not confirmed by DescribeInstanceStatus (not impaired now)"),
        "{email}"
    );
    assert!(
        email.contains("[SYS-CHECK] ▶ the most likely cause above → AWS's simplified automatic recovery moves it to a new host"),
        "{email}"
    );
    assert!(email
        .contains("DescribeInstanceStatus: StatusCheckFailed_System check ok now (not impaired)"));
    assert!(email.contains(
        "held: not corroborated — DescribeInstanceStatus shows StatusCheckFailed_System ok now, not impaired"
    ));
}

fn settings(language: Language) -> Settings {
    Settings {
        language,
        ..Settings::default()
    }
}

/// The plain lines of one section (by emoji).
fn section(r: &ec2ops::report::Report, emoji: &str) -> Vec<String> {
    r.sections
        .iter()
        .find(|s| s.emoji == emoji)
        .unwrap()
        .lines
        .iter()
        .map(|l| l.plain())
        .collect()
}

fn all_lines(r: &ec2ops::report::Report) -> Vec<String> {
    r.sections
        .iter()
        .flat_map(|s| s.lines.iter().map(|l| l.plain()))
        .collect()
}

#[test]
fn a_system_check_failure_under_aws_recovery_says_aws_is_recovering_and_when_to_stop_start() {
    let change = support::load("status-system.json");
    let facts = support::prod_db(
        ec2ops::facts::Role::StatusSystem,
        "2025-10-11T22:13:00.000+0000",
    );
    let (_, r, _) = compose(&change, &facts, &en());
    let actions = section(&r, "🔧");
    let status = actions
        .iter()
        .position(|l| l == "Simplified automatic recovery: on — AWS is recovering the instance")
        .expect("🔧 states the auto-recovery status");
    let wait = actions
        .iter()
        .position(|l| l.contains("Do not stop/start now: AWS is recovering"))
        .unwrap();
    let fallback = actions
        .iter()
        .position(|l| l.contains("If it has not recovered within 15 minutes"))
        .unwrap();
    let stop = actions
        .iter()
        .position(|l| l.contains("$ aws ec2 stop-instances"))
        .unwrap();
    assert!(status < wait && wait < fallback && fallback < stop);
    for l in all_lines(&r) {
        assert!(!l.contains("--auto-recovery default"), "{l}");
        assert!(!l.contains("(or simplified automatic recovery)"), "{l}");
    }
    for lang in [Language::Ko, Language::En] {
        let (_, r, _) = compose(&change, &facts, &settings(lang));
        let lines = all_lines(&r);
        assert!(lines.iter().any(|l| l.contains("15")), "{lang:?}");
        assert!(
            !lines.iter().any(|l| l.contains("--auto-recovery default")),
            "{lang:?}"
        );
    }
}

#[test]
fn a_system_check_failure_with_auto_recovery_off_says_so_and_asks_to_turn_it_on() {
    let change = support::load("status-system.json");
    let mut facts = support::prod_db(
        ec2ops::facts::Role::StatusSystem,
        "2025-10-11T22:13:00.000+0000",
    );
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.auto_recovery = Some("disabled".into());
    }
    let (_, r, _) = compose(&change, &facts, &en());
    assert!(section(&r, "🔧")
        .iter()
        .any(|l| l.starts_with("Simplified automatic recovery: off")));
    assert!(section(&r, "🤖")
        .iter()
        .any(|l| l.contains("--auto-recovery default")));
    assert!(!all_lines(&r)
        .iter()
        .any(|l| l.contains("automatic recovery is on") || l.contains("recovery: on")));
}

#[test]
fn an_auto_scaling_member_with_a_failed_check_is_handed_to_its_group_not_rebooted() {
    let change = support::load("status-instance.json");
    for lang in [Language::Ko, Language::En] {
        let (_, r, _) = compose(&change, &support::status_instance(), &settings(lang));
        let actions = section(&r, "🔧").join("\n");
        assert!(actions.contains(
            "$ aws autoscaling set-instance-health --instance-id i-0d1e2f3a4b5c6d7e8 --health-status Unhealthy"
        ));
        assert!(actions.contains("$ aws autoscaling describe-scaling-activities --auto-scaling-group-name 'prod-web-asg'"));
        assert!(actions.contains("$ aws elbv2 describe-target-health"));
        for l in all_lines(&r) {
            assert!(!l.contains("reboot-instances"), "{lang:?}: {l}");
            assert!(!l.contains("stop-instances"), "{lang:?}: {l}");
            assert!(
                !l.contains("create-tags"),
                "{lang:?}: opt-in advice for a group member: {l}"
            );
        }
        assert!(!r.next_steps.iter().any(|s| s.contains("reboot-instances")));
    }
}

#[test]
fn a_lone_instance_is_offered_a_scale_out_first_and_a_type_change_only_as_a_labelled_downtime_sequence(
) {
    let change = support::load("cpu-sustained.json");
    for (lang, label) in [(Language::En, "DOWNTIME"), (Language::Ko, "다운타임")] {
        let (_, r, _) = compose(&change, &support::cpu_sustained(), &settings(lang));
        let actions = section(&r, "🔧");
        let at = |p: &str| actions.iter().position(|l| l.contains(p)).unwrap();
        let scale_out = at("$ aws ec2 create-image");
        let modify = at("$ aws ec2 modify-instance-attribute");
        assert!(scale_out < modify, "{lang:?}: scale-out comes first");
        assert!(
            actions[modify - 3].contains(label),
            "{lang:?}: {}",
            actions[modify - 3]
        );
        assert!(actions[modify - 2].contains("$ aws ec2 stop-instances"));
        assert!(actions[modify - 1].contains("$ aws ec2 wait instance-stopped"));
        assert!(actions[modify + 1].contains("$ aws ec2 start-instances"));
    }
}

#[test]
fn chat_never_shows_a_stop_sequence_without_its_downtime_note() {
    let change = support::load("cpu-sustained.json");
    let (_, r, _) = compose(&change, &support::cpu_sustained(), &en());
    for s in &r.next_steps {
        for c in [
            "stop-instances",
            "wait instance-stopped",
            "modify-instance-attribute",
            "start-instances",
        ] {
            assert!(!s.contains(c), "a bare {c} in next steps: {s}");
        }
    }
    let chat = render::chatbot(&r);
    let d = chat["content"]["description"].as_str().unwrap();
    if d.contains("modify-instance-attribute") {
        assert!(
            d.contains("DOWNTIME")
                && d.contains("wait instance-stopped")
                && d.contains("start-instances")
        );
    }
}

#[test]
fn a_full_gp2_root_volume_is_grown_and_moved_to_gp3_in_one_modification() {
    let change = support::load("disk-full.json");
    for lang in [Language::Ko, Language::En] {
        let (_, r, _) = compose(&change, &support::pressure(), &settings(lang));
        let modify: Vec<String> = all_lines(&r)
            .into_iter()
            .filter(|l| l.contains("$ aws ec2 modify-volume"))
            .collect();
        assert_eq!(modify.len(), 1, "{lang:?}: {modify:?}");
        assert!(
            modify[0].contains("--volume-id 'vol-0f1e2d3c4b5a69788' --volume-type gp3 --size 140")
        );
    }
}

fn join_group(facts: &mut Facts, group: &str) {
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags
            .insert("aws:autoscaling:groupName".into(), group.into());
    }
}

#[test]
fn a_saturated_group_member_scales_out_with_its_group_and_is_never_resized_by_hand() {
    let change = support::load("cpu-sustained.json");
    let mut facts = support::cpu_sustained();
    join_group(&mut facts, "api-asg");
    for lang in [Language::Ko, Language::En] {
        let (_, r, _) = compose(&change, &facts, &settings(lang));
        let lines = all_lines(&r);
        assert!(lines.iter().any(|l| l.contains(
            "$ aws autoscaling set-desired-capacity --auto-scaling-group-name 'api-asg' --desired-capacity $((desired+1))"
        )));
        assert!(
            !lines.iter().any(|l| l.contains("modify-instance-attribute")
                || l.contains("stop-instances")
                || l.contains("create-image"))
        );
    }
}

#[test]
fn a_group_member_under_a_retirement_notice_is_handed_to_its_group_not_stopped() {
    let bytes = std::fs::read(support::events_dir().join("health-retirement.json")).unwrap();
    let change = match ec2ops::event::parse_bytes(&bytes).unwrap() {
        ec2ops::event::Parsed::Health(mut c) => c.remove(0),
        other => panic!("{other:?}"),
    };
    let mut facts = support::scenario("health-retirement.json").unwrap();
    join_group(&mut facts, "db-asg");
    let (_, r, _) = compose(&change, &facts, &en());
    let actions = section(&r, "🔧").join("\n");
    assert!(actions.contains("--health-status Unhealthy"), "{actions}");
    assert!(!actions.contains("stop-instances"), "{actions}");
}

#[test]
fn the_header_gives_the_instance_s_vpc_and_subnet_and_nothing_when_they_are_not_known() {
    let change = support::load("cpu-spike.json");
    let header = |facts: &Facts, language| {
        let (_, report, _) = compose(
            &change,
            facts,
            &Settings {
                language,
                ..Settings::default()
            },
        );
        report.header.iter().map(|l| l.plain()).collect::<Vec<_>>()
    };
    let facts = support::cpu_spike("t3.small", None);
    assert!(header(&facts, Language::En)
        .contains(&"Network: vpc-0c4e2a8f1b3d5e7a9 · subnet-0f3e5d7c9b1a2468b".to_string()));
    assert!(header(&facts, Language::Ko)
        .iter()
        .any(|l| l.starts_with("네트워크: vpc-0c4e2a8f1b3d5e7a9 · subnet-0f3e5d7c9b1a2468b")));
    let mut unknown = facts.clone();
    if let Source::Available(InstanceLookup::Found(i)) = &mut unknown.instance {
        i.vpc_id = None;
        i.subnet_id = None;
    }
    for language in [Language::En, Language::Ko] {
        let lines = header(&unknown, language);
        assert!(
            !lines
                .iter()
                .any(|l| l.contains("vpc-") || l.contains("subnet") || l.contains("네트워크")),
            "{lines:?}"
        );
    }
}

#[test]
fn a_follow_up_goes_out_in_the_envelope_of_a_report() {
    use ec2ops::event::{parse_bytes, Parsed};
    let bytes = std::fs::read(support::events_dir().join("verify-reboot.json")).unwrap();
    let Ok(Parsed::Verify(req)) = parse_bytes(&bytes) else {
        panic!("a verification request");
    };
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
    let chat: Value = serde_json::from_str(body["default"].as_str().unwrap()).unwrap();
    let (_, report, incident) = compose(
        &support::load("status-instance.json"),
        &support::status_instance(),
        &en(),
    );
    let incident: Value = serde_json::from_str(&incident.message).unwrap();
    let incident: Value = serde_json::from_str(incident["default"].as_str().unwrap()).unwrap();
    let keys = |v: &Value, at: &str| -> Vec<String> {
        let mut k: Vec<String> = v[at].as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for at in ["content", "metadata"] {
        assert_eq!(keys(&chat, at), keys(&incident, at), "{at}");
    }
    assert_eq!(chat["metadata"]["eventType"], "ec2ops.followup");
    assert_eq!(incident["metadata"]["eventType"], "ec2ops.incident");
    // The same email layout: title, underline, header, numbered sections, the footer.
    let email = body["email"].as_str().unwrap();
    let report_email = render::email(&report);
    for text in [email, report_email.as_str()] {
        assert!(
            text.lines().any(|l| l.ends_with(". 🔧 Immediate actions")
                && l.starts_with(|c: char| c.is_ascii_digit())),
            "{text}"
        );
        assert!(text.contains("\n--\nec2ops · incident "), "{text}");
    }
    assert!(email.contains("       $ aws ec2 stop-instances"), "{email}");
}

/// Issue 22, defect 23: a Name tag that is not all ASCII is left out of the SNS subject whole — never cut to the
/// ASCII fragments it mixes in (`결제-API-서버` gave `(-API-)`); the body keeps the name as written.
#[test]
fn a_name_tag_mixing_korean_and_ascii_is_left_out_of_the_subject_whole() {
    let change = support::load("cpu-spike.json");
    let mut facts = support::cpu_spike("t3.small", None);
    if let Source::Available(InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert("Name".into(), "결제-API-서버".into());
    }
    let (_, report, msg) = compose(&change, &facts, &en());
    assert_eq!(msg.subject, "[P2] CPU spike i-0ae3d067021f08710");
    assert!(render::email(&report).contains("(결제-API-서버)"));
}

/// Issue 22, defect 23: when the evidence says compromise (sustained CPU, an outbound burst, SSH open to the
/// world), the title, the subject and the cause lead with the suspicion, not with the CPU.
#[test]
fn a_suspected_compromise_leads_the_title_and_the_cause() {
    let change = support::load("cpu-sustained.json");
    let (_, report, msg) = compose(&change, &support::compromised(), &en());
    assert!(
        msg.subject.starts_with("[P1] Possible compromise"),
        "{}",
        msg.subject
    );
    let email = render::email(&report);
    assert!(
        email.starts_with("[P1] Possible compromise"),
        "{}",
        email.lines().next().unwrap_or_default()
    );
    let cause = email
        .lines()
        .find(|l| l.starts_with("▶ Most likely cause: "))
        .unwrap_or_default();
    assert!(
        cause.starts_with("▶ Most likely cause: possible compromise"),
        "{cause}"
    );
}

#[test]
fn a_failed_target_group_read_is_named_as_a_gap_and_the_report_still_goes_out() {
    let change = support::load("cpu-spike.json");
    let mut facts = support::cpu_spike("t3.small", None);
    facts.evidence.impact = Some(Source::Unavailable(Gap::Failed(
        "elasticloadbalancing DescribeTargetGroups: AccessDenied".into(),
    )));
    let (_, report, _) = compose(&change, &facts, &en());
    let email = render::email(&report);
    assert!(
        email.contains("DescribeTargetHealth: unavailable") && email.contains("AccessDenied"),
        "{email}"
    );
    assert!(!email.contains("Customer impact"), "no impact is claimed");
}

/// A source that timed out or could not be claimed is said in the report's language: the reason is a value, not
/// English words translated back; AWS's own error text stays as AWS wrote it.
#[test]
fn a_korean_report_says_why_a_source_is_missing_in_korean_and_quotes_aws_as_written() {
    let change = support::load("cpu-spike.json");
    let mut facts = support::cpu_spike("t3.small", None);
    facts.instance_type = Source::Unavailable(Gap::TimedOut { ms: 4000 });
    facts.history = Source::Unavailable(Gap::Failed(
        "cloudwatch DescribeAlarmHistory: ThrottlingException: Rate exceeded".into(),
    ));
    facts.ledger = Source::Unavailable(Gap::Unclaimed(Box::new(Gap::Failed(
        "dynamodb PutItem: InternalServerError".into(),
    ))));
    facts.evidence.changes = Some(Source::Unavailable(
        ec2ops::ports::AwsError::late(
            "cloudtrail",
            "LookupEvents",
            std::time::Duration::from_millis(2500),
        )
        .gap(),
    ));
    let ko = Settings {
        language: Language::Ko,
        ..en()
    };
    let (_, report, _) = compose(&change, &facts, &ko);
    let email = render::email(&report);
    for korean in [
        "4000 ms 안에 응답 없음",
        "incident를 claim하지 못함: dynamodb PutItem: InternalServerError",
        "2500 ms 안에 응답 없음",
        "cloudwatch DescribeAlarmHistory: ThrottlingException: Rate exceeded",
    ] {
        assert!(email.contains(korean), "{korean:?} missing:\n{email}");
    }
    for english in [
        "timed out after",
        "could not be claimed",
        "no answer within",
    ] {
        assert!(
            !email.contains(english),
            "{english:?} in a Korean report:\n{email}"
        );
    }
    let (_, report, _) = compose(&change, &facts, &en());
    let email = render::email(&report);
    assert!(email.contains("timed out after 4000 ms"), "{email}");
}

/// The spike's watch step says who watches: ec2ops at the scheduled time of its second look, or — when none is
/// scheduled (turned off, no scheduler, the schedule failed) — the reader, as before.
#[test]
fn a_spikes_watch_step_names_ec2ops_second_look_only_when_it_is_scheduled() {
    let change = support::load("cpu-spike.json");
    let facts = support::scenario("cpu-spike.json").unwrap();
    let a = ec2ops::analyze::assess(&change, &facts);
    let action = ec2ops::remediation::ActionOutcome::AdviceOnly;
    let at = change.state.at + chrono::Duration::minutes(5);
    for (lang, scheduled, manual) in [
        (
            Language::En,
            "ec2ops looks again at 12:25 UTC and posts here only if the picture changed",
            "Watch whether the spike persists",
        ),
        (
            Language::Ko,
            "ec2ops가 21:25 KST에 다시 확인",
            "스파이크가 계속되는지 다음 몇 분간 관찰",
        ),
    ] {
        let settings = settings(lang);
        let email = |recheck_at| {
            let (report, _) = ec2ops::pipeline::render_incident_report(
                &change,
                &facts,
                &a,
                &action,
                &settings,
                &[],
                recheck_at,
            );
            render::email(&report)
        };
        let with = email(Some(at));
        assert!(with.contains(scheduled) && !with.contains(manual), "{with}");
        let without = email(None);
        assert!(
            without.contains(manual) && !without.contains(scheduled),
            "{without}"
        );
    }
}

/// A silenced incident's report: below P0 it is quiet (`[muted]` subject, 🔕 title, what silenced it first in the
/// header), in both languages; a P0 status-check failure under the same silence breaks through and says so; a mute
/// rule that could not be read leaves the report loud.
#[test]
fn a_silenced_report_is_quiet_below_p0_and_a_p0_status_check_failure_breaks_through() {
    use ec2ops::analyze::{assess, Priority};
    use ec2ops::pipeline::render_report;
    use ec2ops::remediation::ActionOutcome;
    use ec2ops::silence::{CalendarState, MuteRule, Silencers};

    let muted = Silencers {
        mute_rules: Some(Source::Available(vec![MuteRule {
            name: "nightly-backup".into(),
            expires: None,
            alarm: None,
        }])),
        calendars: vec![(
            "release-freeze".into(),
            Source::Available(CalendarState {
                open: false,
                next_transition: None,
            }),
        )],
        read_at: None,
    };
    let render = |file: &str, mut facts: Facts, silencers: Silencers, lang: Language| {
        facts.silencers = silencers;
        let change = support::load(file);
        let a = assess(&change, &facts);
        let settings = Settings {
            language: lang,
            ..Settings::default()
        };
        let (report, message) =
            render_report(&change, &facts, &a, &ActionOutcome::AdviceOnly, &settings);
        (a.priority, report, message)
    };
    for lang in [Language::En, Language::Ko] {
        let (p, report, message) = render(
            "cpu-sustained.json",
            support::cpu_sustained(),
            muted.clone(),
            lang,
        );
        assert_ne!(p, Priority::P0);
        assert!(
            message.subject.starts_with("[muted] [P"),
            "{}",
            message.subject
        );
        assert!(!message.urgent, "a silenced report never pages");
        assert!(
            report.title.plain().starts_with("🔕 [P"),
            "{}",
            report.title.plain()
        );
        let first = report.header[0].plain();
        let (quiet, freeze) = match lang {
            Language::En => (
                "🔕 Sent quietly: ",
                "change freeze: Change Calendar release-freeze is CLOSED",
            ),
            Language::Ko => (
                "🔕 조용히 발송: ",
                "변경 동결: Change Calendar release-freeze CLOSED",
            ),
        };
        assert!(first.starts_with(quiet), "{first}");
        assert!(first.contains("nightly-backup"), "{first}");
        assert!(
            !first.contains(freeze),
            "a freeze holds the action, it does not quiet the report: {first}"
        );
        // Under the freeze alone, the report is as loud as any.
        let frozen = Silencers {
            mute_rules: None,
            ..muted.clone()
        };
        let (_, report, message) =
            render("cpu-sustained.json", support::cpu_sustained(), frozen, lang);
        assert!(message.subject.starts_with("[P"), "{}", message.subject);
        assert!(message.urgent, "a P1 under a freeze still pages");
        assert!(!report.header[0].plain().starts_with('🔕'));

        let (p, report, message) = render(
            "status-system.json",
            support::prod_db(
                ec2ops::facts::Role::StatusSystem,
                "2025-10-11T22:13:00.000+0000",
            ),
            muted.clone(),
            lang,
        );
        assert_eq!(p, Priority::P0);
        assert!(message.subject.starts_with("[P0] "), "{}", message.subject);
        assert!(message.urgent, "a P0 that breaks through pages");
        let first = report.header[0].plain();
        let broke = match lang {
            Language::En => "🔔 A P0 status-check failure breaks through: ",
            Language::Ko => "🔔 P0 status check 장애라 조용히 보내지 않음: ",
        };
        assert!(first.starts_with(broke), "{first}");
    }
    let unread = Silencers {
        mute_rules: Some(Source::Unavailable(Gap::TimedOut { ms: 4000 })),
        calendars: vec![],
        read_at: None,
    };
    let (_, report, message) = render(
        "cpu-sustained.json",
        support::cpu_sustained(),
        unread,
        Language::En,
    );
    assert!(message.subject.starts_with("[P"), "{}", message.subject);
    assert!(!report.header[0].plain().starts_with('🔕'));
}

/// Which messages page (go to the paging topic when one is set): an unsilenced P0 or P1 report, a failed verification;
/// not a P2 report, nor a verification that found the instance fixed.
#[test]
fn urgent_messages_are_the_unsilenced_p0_and_p1_reports_and_the_failed_verifications() {
    use ec2ops::analyze::{assess, Priority};
    use ec2ops::pipeline::render_report;
    use ec2ops::remediation::ActionOutcome;
    use ec2ops::report::followup::{render as verification, Verdict};

    let settings = Settings::default();
    let report = |file: &str, facts: Facts| {
        let change = support::load(file);
        let a = assess(&change, &facts);
        let (_, m) = render_report(&change, &facts, &a, &ActionOutcome::AdviceOnly, &settings);
        (a.priority, m.urgent)
    };
    assert_eq!(
        report(
            "status-system.json",
            support::prod_db(
                ec2ops::facts::Role::StatusSystem,
                "2025-10-11T22:13:00.000+0000"
            )
        ),
        (Priority::P0, true)
    );
    let (p, urgent) = report(
        "cpu-spike.json",
        support::cpu_spike("t3.large", Some("dev")),
    );
    assert_eq!(urgent, matches!(p, Priority::P0 | Priority::P1), "{p:?}");
    assert!(!urgent, "a dev spike does not page: {p:?}");
    let req = ec2ops::remediation::VerifyRequest {
        instance_id: "i-0d1e2f3a4b5c6d7e8".into(),
        action: ec2ops::remediation::ActionKind::Reboot,
        acted_at: ec2ops::event::parse_timestamp("2025-10-12T04:32:00.000+0000").unwrap(),
        alarm_name: "web-1-instance-check".into(),
        thread_id: "t".into(),
        region: Some("ap-northeast-2".into()),
        incident_key: "k".into(),
    };
    let at = req.acted_at + chrono::Duration::minutes(10);
    let fixed = verification(&req, &Verdict::Fixed, at, Language::En, chrono_tz::UTC);
    assert!(!fixed.urgent);
    let unknown = Verdict::Unknown {
        why: Gap::TimedOut { ms: 4000 },
    };
    assert!(verification(&req, &unknown, at, Language::En, chrono_tz::UTC).urgent);
    // A note on a proposal (denied, expired) is for the record: its report paged already.
    let pending = ec2ops::remediation::approval::Pending::new(
        ec2ops::remediation::approval::Nonce::from_bytes([7; 16]),
        "k",
        "i-0d1e2f3a4b5c6d7e8",
        ec2ops::remediation::ActionKind::Reboot,
        req.acted_at,
        chrono::Duration::minutes(15),
    );
    let expired = ec2ops::report::followup::ApprovalNote::Expired { at };
    let note = ec2ops::report::followup::render_approval(
        &pending,
        "t",
        "web-1-instance-check",
        &expired,
        Language::En,
        chrono_tz::UTC,
    );
    assert!(!note.urgent);
}

/// The report judges its loudness at the time the silences were read — the decision's — not at the transition: a
/// maintenance window that ended in between is over for both (the action is not held, the report is not quiet).
#[test]
fn a_maintenance_window_that_ended_before_the_handling_quiets_nothing() {
    use ec2ops::analyze::assess;
    use ec2ops::pipeline::render_report;
    use ec2ops::remediation::ActionOutcome;

    let change = support::load("cpu-sustained.json");
    let mut facts = support::cpu_sustained();
    let until = change.state.at + chrono::Duration::minutes(1);
    if let Source::Available(ec2ops::facts::InstanceLookup::Found(i)) = &mut facts.instance {
        i.tags.insert(
            ec2ops::remediation::maintenance::TAG.into(),
            until.to_rfc3339(),
        );
    }
    let settings = Settings {
        language: Language::En,
        ..Settings::default()
    };
    let subject = |facts: &Facts| {
        let a = assess(&change, facts);
        render_report(&change, facts, &a, &ActionOutcome::AdviceOnly, &settings)
            .1
            .subject
    };
    assert!(
        subject(&facts).starts_with("[muted] "),
        "read at the transition: in the window"
    );
    facts.silencers.read_at = Some(until + chrono::Duration::minutes(1));
    assert!(
        subject(&facts).starts_with("[P"),
        "read after it ended: loud"
    );
}
