//! Reports that lead with the answer: the alarm's own finding first, its commands on the first screen, priorities
//! that agree, notices that stay short (issue 22).

use super::commands::commands;
use super::*;

/// The alarm's metric, from the header's threshold line (`Threshold: disk_used_percent > 90.00% · …`).
fn alarm_metric(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let l = l.trim_start_matches("• ");
        l.strip_prefix("Threshold: ")
            .or_else(|| l.strip_prefix("임계값: "))
            .and_then(|r| r.split(' ').next())
    })
}

/// Defect 1: a disk alarm's first operator command looks at the disk, a memory alarm's at the memory — in 🔧, in
/// the summary's next step and in the chat's next steps.
#[test]
fn the_first_run_command_of_a_disk_or_memory_alarm_is_about_its_own_metric() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        let (own, other) = match alarm_metric(&text) {
            Some("disk_used_percent") => ("df -", "ps -eo"),
            Some("mem_used_percent") => ("ps -eo", "du -x"),
            _ => continue,
        };
        let first = commands(&text)
            .into_iter()
            .find(|c| c.starts_with("aws ssm send-command"))
            .unwrap_or_else(|| panic!("{name}: no Run Command"));
        assert!(
            first.contains(own) && !first.contains(other),
            "{name}: the first Run Command is not about the alarm's metric: {first}"
        );
        checked += 1;
    }
    assert!(checked >= 8, "disk and memory goldens checked: {checked}");
}

/// Defect 1: 📈 opens with the advice on the alarm's own metric.
#[test]
fn the_long_term_advice_of_a_disk_alarm_opens_with_the_disk() {
    for (name, text) in golden_texts() {
        if name.contains(".chatbot.") || alarm_metric(&text) != Some("disk_used_percent") {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.starts_with("4. 📈"))
            .unwrap_or_else(|| panic!("{name}: no 📈"));
        let first = lines[at + 1];
        assert!(
            !first.contains("memory") && !first.contains("메모리"),
            "{name}: 📈 opens with memory advice on a disk alarm: {first}"
        );
    }
}

/// The summary's cause line of a golden.
fn cause_line(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let l = l.trim_start_matches("• ");
        l.strip_prefix("▶ Most likely cause: ")
            .or_else(|| l.strip_prefix("▶ 추정 원인: "))
    })
}

/// Defect 2: the strongest evidence becomes the cause sentence — what the logs show (LOG-ERRORS), another alarm on
/// the instance that went off first, inbound data that led the CPU (NET-LEADS-CPU).
#[test]
fn the_cause_sentence_carries_the_strongest_evidence() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if name.contains(".chatbot.") {
            continue;
        }
        let Some(cause) = cause_line(&text) else {
            continue;
        };
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        // LOG-ERRORS: the signal it names.
        if let Some(signal) = lines.iter().find_map(|l| {
            l.strip_prefix("[LOG-ERRORS] the logs show ")
                .or_else(|| l.strip_prefix("[LOG-ERRORS] 전환 전후 로그에 "))
                .and_then(|r| r.split(" around").next())
                .map(|r| r.split(" (오류").next().unwrap_or(r))
        }) {
            assert!(
                cause.contains(signal),
                "{name}: {signal:?} not in the cause: {cause}"
            );
            checked += 1;
        }
        // Another alarm in ALARM on the instance before this one: its name.
        let other = lines
            .iter()
            .position(|l| {
                l.starts_with("Other alarms in ALARM on this instance (")
                    || l.starts_with("이 인스턴스의 다른 ALARM 알람 (")
            })
            .and_then(|at| lines.get(at + 1))
            .filter(|l| l.contains("before this alarm") || l.contains("먼저)"))
            .and_then(|l| l.trim_start_matches("· ").split(' ').next());
        if let Some(other) = other {
            assert!(
                cause.contains(other),
                "{name}: {other} not in the cause: {cause}"
            );
            checked += 1;
        }
        // NET-LEADS-CPU behind a CPU alarm: the inbound data.
        if lines.iter().any(|l| l.starts_with("[NET-LEADS-CPU]")) {
            assert!(
                cause.contains("NetworkIn"),
                "{name}: inbound data led the CPU, not in the cause: {cause}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 6, "goldens with evidence checked: {checked}");
}

/// Defect 2: an instance with an alarm on an agent metric has the agent: no report asks to install it.
#[test]
fn no_report_asks_to_install_the_agent_on_an_instance_whose_agent_metric_has_an_alarm() {
    for (name, text) in golden_texts() {
        let agent_alarm = text
            .lines()
            .any(|l| l.trim_start().starts_with("· ") && l.contains("(CWAgent "));
        if agent_alarm {
            assert!(
                !text.contains("AWS-ConfigureAWSPackage"),
                "{name}: asks to install the agent that an alarm already watches"
            );
        }
    }
}

/// Defect 13: the first screen lets you act — in every report (email, and the chat description) the summary's next
/// step is the command itself, whole (a Run Command with its wait and its output), within the first 25 lines.
#[test]
fn the_summary_carries_its_next_command_on_the_first_screen() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if name.contains("verify-")
            || name.contains("recheck-")
            || name.contains("recover-continuation")
            || name.contains(".ignored")
        {
            continue;
        }
        let lines: Vec<&str> = report_lines(&text)
            .map(|l| l.trim_start_matches("• "))
            .collect();
        let Some(at) = lines
            .iter()
            .position(|l| l.starts_with("▶ Who is acting: ") || l.starts_with("▶ 조치 주체: "))
        else {
            continue;
        };
        let step: Vec<&str> = lines
            .iter()
            .skip(at + 1)
            .take_while(|l| l.starts_with("▶ ") || l.trim_start().starts_with("$ "))
            .copied()
            .collect();
        // `▶ Safe next command (read-only): aws …` carries its command after the label.
        let joined = step
            .iter()
            .map(|l| match l.split_once(": aws ") {
                Some((_, c)) if l.starts_with("▶ ") => format!("aws {c}"),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let cmds = commands(&joined);
        assert!(
            !cmds.is_empty(),
            "{name}: the summary's next step carries no command: {joined}"
        );
        assert!(
            at + step.len() < 25,
            "{name}: the next command ends on line {} of the report",
            at + step.len() + 1
        );
        if cmds[0].starts_with("aws ssm send-command") {
            assert!(
                cmds.iter()
                    .any(|c| c.starts_with("aws ssm get-command-invocation")),
                "{name}: a Run Command in the summary without the reading of its output"
            );
        }
        checked += 1;
    }
    assert!(checked >= 40, "reports checked: {checked}");
}

/// `P1` out of a golden's `Subject: [P1] …`.
fn priority(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|l| l.strip_prefix("Subject: ["))
        .and_then(|l| l.split(']').next())
}

/// The alarm a golden is about (`Alarm: NAME (…)`).
fn alarm_name(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        l.strip_prefix("Alarm: ")
            .or_else(|| l.strip_prefix("알람: "))
            .and_then(|r| r.split(" (").next())
    })
}

/// Defect 16: a multi-time-series alarm's summary is as urgent as its most urgent contributor, no more: its
/// priority is the highest of its contributors' reports in ALARM.
#[test]
fn a_fleet_summary_takes_the_highest_priority_of_its_contributors() {
    let goldens = golden_texts();
    let mut checked = 0;
    for (name, text) in goldens.iter().filter(|(n, _)| n.contains(".email.")) {
        let summary = text.contains("Instance: alarm-level summary")
            || text.contains("인스턴스: 알람 단위 요약");
        if !summary {
            continue;
        }
        let lang = if name.contains(".ko.") {
            ".ko."
        } else {
            ".en."
        };
        let contributors: Vec<&str> = goldens
            .iter()
            .filter(|(n, t)| {
                n.contains(lang)
                    && n.contains(".email.")
                    && (t.contains("Contributor: ") || t.contains("기여자(contributor): "))
                    && t.lines().any(|l| l.contains("→ ALARM ·"))
                    && alarm_name(t) == alarm_name(text)
            })
            .filter_map(|(_, t)| priority(t))
            .collect();
        let highest = contributors
            .iter()
            .min()
            .unwrap_or_else(|| panic!("{name}: no contributor"));
        assert_eq!(
            priority(text),
            Some(*highest),
            "{name}: the summary's priority is not its contributors' highest {contributors:?}"
        );
        checked += 1;
    }
    assert!(checked >= 1, "summaries checked: {checked}");
}

/// Defect 6: an instance found stopped with nothing saying the stop was meant (no user-initiated shutdown in its
/// state reason) is P1 until the stop is explained — whatever the alarm's own state — and the report asks who
/// stopped it (CloudTrail) and why (EC2's StateReason).
#[test]
fn an_unexplained_stop_is_p1_and_asks_who_stopped_it_and_why() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if name.contains(".chatbot.") {
            continue;
        }
        let stopped = text.lines().any(|l| {
            (l.starts_with("Instance: ") || l.starts_with("인스턴스: "))
                && l.ends_with(" · stopped")
        });
        if !stopped || text.contains("UserInitiated") {
            continue;
        }
        let p = priority(&text).unwrap_or_default();
        assert!(
            p <= "P1",
            "{name}: an unexplained stop of production is {p}"
        );
        let cmds = commands(&text);
        assert!(
            cmds.iter()
                .any(|c| c.starts_with("aws cloudtrail lookup-events")),
            "{name}: no CloudTrail lookup of who stopped it"
        );
        assert!(
            cmds.iter()
                .any(|c| c.starts_with("aws ec2 describe-instances") && c.contains("StateReason")),
            "{name}: no read of EC2's StateReason"
        );
        checked += 1;
    }
    assert!(checked >= 4, "stopped instances checked: {checked}");
}

/// Whether a golden is the report of an input that is no alarm: an AWS Health event, an instance's own state change
/// or the sweep (`Event:` / `Found by:` in the header where an alarm's report has `Alarm:`).
fn not_an_alarm(text: &str) -> bool {
    text.lines().take(12).any(|l| {
        let l = l.trim_start_matches("• ");
        l.starts_with("Event: ")
            || l.starts_with("Found by: ")
            || l.starts_with("이벤트: ")
            || l.starts_with("발견: ")
    })
}

/// Defect 14: a Health event, a state change and the sweep have no alarm — no link to one, no `OK → ALARM`
/// transition in the header or the chat's summary, no `ALARM` keyword.
#[test]
fn a_report_of_no_alarm_links_to_no_alarm_and_shows_no_alarm_transition() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !not_an_alarm(&text) {
            continue;
        }
        checked += 1;
        assert!(
            !text.contains("#alarmsV2:alarm/"),
            "{name}: links to an alarm that does not exist"
        );
        assert!(
            !text.contains("Alarm description:") && !text.contains("알람 설명:"),
            "{name}: calls the event's text an alarm's description"
        );
        assert!(
            !text.contains("OK → ALARM") && !text.contains("ALARM → OK"),
            "{name}: shows an alarm's transition"
        );
        if name.contains(".chatbot.") {
            assert!(
                !text.contains("\"ALARM\""),
                "{name}: carries the ALARM keyword"
            );
        }
    }
    assert!(checked >= 6, "reports of no alarm checked: {checked}");
}

/// Defect 19: an alarm back to OK that needs nobody is a notice of at most eight lines — how long it was in ALARM,
/// the peak and how long it stayed past the threshold, the value now, the thread closed — with no section and no
/// deadline.
#[test]
fn an_ok_notice_is_eight_lines_with_the_peak_the_time_past_the_threshold_and_the_value_now() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".email.") || !is_ok_notice(&name) {
            continue;
        }
        checked += 1;
        // Below the subject and the title; above the footer.
        let body: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with('['))
            .skip(1)
            .take_while(|l| *l != "--")
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(
            body.len() <= 8,
            "{name}: {} lines:\n{}",
            body.len(),
            body.join("\n")
        );
        let all = body.join("\n");
        // A series that stopped reporting is not a recovery and says so; its event carries no threshold.
        let stopped = all.contains("stopped reporting") || all.contains("보고 중단");
        if !stopped {
            assert!(
                all.contains("minutes in ALARM") || all.contains("분 만에 OK"),
                "{name}: no time in ALARM:\n{all}"
            );
            assert!(
                all.contains("past the threshold") || all.contains("초과"),
                "{name}: no time past the threshold:\n{all}"
            );
        }
        for (what, en, ko) in [
            ("peak", "Peak ", "최고 "),
            ("value now", "Now: ", "현재 값: "),
            ("thread closed", "thread is closed", "thread는 종료"),
        ] {
            assert!(
                all.contains(en) || all.contains(ko),
                "{name}: no {what}:\n{all}"
            );
        }
        for deadline in ["respond within", "이내 대응", "🚨"] {
            assert!(
                !all.contains(deadline),
                "{name}: a deadline on an OK notice:\n{all}"
            );
        }
    }
    assert!(checked >= 4, "OK notices checked: {checked}");
}

/// Defect 10: the alarm histories of the goldens fire at about 12:00 KST each day; the recurrence line says that
/// pattern and what it suggests (a scheduled job), not only a count.
#[test]
fn a_recurrence_at_the_same_time_each_day_names_the_time_and_the_scheduled_job() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        for line in text.lines().filter(|l| {
            l.contains("ALARM transitions in the last 7 days") || l.contains("최근 7일간 ALARM")
        }) {
            checked += 1;
            assert!(
                (line.contains("12:0") && line.contains("KST"))
                    && (line.contains("scheduled job") || line.contains("예약 작업")),
                "{name}: the daily pattern is not named: {line}"
            );
        }
    }
    assert!(checked >= 7, "recurrence lines checked: {checked}");
}

/// Defect 11: persistence is the alarm's own evaluation ("5 out of the last 5 datapoints"), not a count from the
/// window read later, and it sits under the alarm metric's line.
#[test]
fn persistence_comes_from_the_alarms_evaluation_under_the_alarm_metrics_line() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if name.contains(".chatbot.") {
            continue;
        }
        let lines: Vec<&str> = text.lines().map(|l| l.trim_start()).collect();
        let Some(at) = lines
            .iter()
            .position(|l| l.starts_with("Persistence") || l.starts_with("지속성"))
        else {
            continue;
        };
        checked += 1;
        assert!(
            lines[at].contains("the alarm's evaluation") || lines[at].contains("알람 평가"),
            "{name}: persistence not from the alarm: {}",
            lines[at]
        );
        let Some(metric) = alarm_metric(&text) else {
            continue;
        };
        let shown = lines
            .iter()
            .take(at)
            .any(|l| l.starts_with(&format!("{metric}:")) || l.starts_with(&format!("{metric} ")));
        if shown {
            assert!(
                lines[at - 1].starts_with(metric),
                "{name}: persistence is not under the {metric} line but under: {}",
                lines[at - 1]
            );
        }
    }
    assert!(checked >= 10, "persistence lines checked: {checked}");
}

/// Defect 4: a recover that could not bring the instance back says that ec2ops stopped it and for how long, and
/// gives more than the call that just failed: stopped (no capacity) — retry, a same-size type of another family
/// while stopped, an image to launch elsewhere; a stop hung past the forced stop — AWS Health, a Support case, a
/// restore from the volumes' snapshots.
#[test]
fn a_failed_recover_says_ec2ops_stopped_it_for_how_long_and_the_ways_out() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains("recover-continuation") {
            continue;
        }
        let en = name.contains(".en.");
        let said = |en_text: &str, ko_text: &str| text.contains(if en { en_text } else { ko_text });
        assert!(
            said("ec2ops stopped it at", "ec2ops가") && said("down for 16 minutes", "16분째"),
            "{name}: does not say that ec2ops stopped it and for how long"
        );
        let cmds = commands(&text);
        if name.contains(".stopped.") {
            let other_type = cmds.iter().find(|c| {
                c.starts_with("aws ec2 modify-instance-attribute") && c.contains("--instance-type")
            });
            assert!(
                other_type.is_some_and(|c| !c.contains("m5.large")),
                "{name}: no same-size type of another family: {cmds:?}"
            );
            assert!(
                cmds.iter().any(|c| c.starts_with("aws ec2 create-image")),
                "{name}: no restore path: {cmds:?}"
            );
        } else {
            assert!(
                said("AWS Health", "AWS Health") && said("AWS Support", "AWS Support"),
                "{name}: a hung stop without AWS Health and Support"
            );
            assert!(
                cmds.iter()
                    .any(|c| c.starts_with("aws ec2 describe-snapshots")),
                "{name}: a hung stop without the snapshots to restore from: {cmds:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 4, "recover follow-ups checked");
}

/// The lines of an email golden's section `n` (`3. 🔧 …` up to the next numbered section).
fn email_section(text: &str, n: u8) -> Vec<&str> {
    let head = format!("{n}. ");
    let next = format!("{}. ", n + 1);
    text.lines()
        .skip_while(|l| !l.starts_with(&head))
        .skip(1)
        .take_while(|l| !l.starts_with(&next) && !l.starts_with("--"))
        .collect()
}

/// Defect 15: a failed attached-EBS check gets a plan, not a line: the volume's status, a time box (a clock time)
/// after which the instance is stopped and started, and the snapshot restore with its cost in lost writes; and
/// automatic recovery is never offered as help, since it does not act on attached-EBS check failures.
#[test]
fn a_failed_ebs_check_gets_a_time_boxed_plan_and_no_false_help_from_auto_recovery() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".email.") || !text.contains("[EBS-CHECK]") {
            continue;
        }
        let actions = email_section(&text, 3);
        // 🔧's commands, and the summary's that its first step points to.
        let head = text.split_once("\n1. ").map_or("", |(h, _)| h);
        let joined = format!("{head}\n{}", actions.join("\n"));
        let cmds = commands(&joined);
        assert!(
            cmds.iter()
                .any(|c| c.starts_with("aws ec2 describe-volume-status"))
                && cmds.iter().any(|c| c.starts_with("aws ec2 stop-instances")),
            "{name}: no plan past the volume's status: {cmds:?}"
        );
        let timed = actions.iter().any(|l| {
            l.as_bytes().windows(5).any(|w| {
                w[0].is_ascii_digit()
                    && w[1].is_ascii_digit()
                    && w[2] == b':'
                    && w[3].is_ascii_digit()
            }) && !l.trim_start().starts_with('$')
        });
        assert!(timed, "{name}: no time box in 🔧");
        assert!(
            actions
                .iter()
                .any(|l| l.contains("snapshot") && (l.contains("lost") || l.contains("잃"))),
            "{name}: a snapshot restore without the writes it loses"
        );
        for l in text.lines() {
            assert!(
                !l.contains("AWS recovers the instance") && !l.contains("AWS가 자동 복구"),
                "{name}: automatic recovery offered as help on an attached-EBS check: {l}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 2, "attached-EBS emails checked");
}

/// The chat card's next steps of a chat golden.
fn chat_next_steps(name: &str) -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let raw = std::fs::read_to_string(dir.join(name)).unwrap();
    let body = raw.splitn(3, "---\n").nth(2).unwrap_or(&raw);
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["content"]["nextSteps"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str())
                .map(|s| s.trim_matches('`').to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Defect 18: a state-change report says only what the event says (the new state, not a transition from a state
/// it does not give); an AWS-side stop is not asked "who stopped it" nor answered with stop protection (which does
/// not prevent AWS's stops); the start comes with what to check before it, and never bare in the chat card.
#[test]
fn a_stopped_instance_report_keeps_to_the_event_and_says_what_to_check_before_the_start() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !text.contains("EC2 Instance State-change Notification") {
            continue;
        }
        assert!(
            !text.contains("running → stopped"),
            "{name}: a previous state the event does not give"
        );
        let aws_side = text.contains("caused on the AWS side") || text.contains("AWS 측");
        if aws_side {
            for wrong in [
                "Find who stopped",
                "누가 중지/종료했는지",
                "disable-api-stop",
            ] {
                assert!(
                    !text.contains(wrong),
                    "{name}: an AWS-side stop with {wrong:?}"
                );
            }
        }
        if name.contains(".chatbot.") {
            let steps = chat_next_steps(&name);
            assert!(
                !steps
                    .iter()
                    .any(|c| c.starts_with("aws ec2 start-instances")),
                "{name}: a bare start in the chat's next steps: {steps:?}"
            );
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if l.contains("$ aws ec2 start-instances") || l.contains("$ `aws ec2 start-instances") {
                let step = lines[..i]
                    .iter()
                    .rev()
                    .find(|p| !p.contains("$ "))
                    .unwrap_or(&"");
                assert!(
                    step.contains("Before starting") || step.contains("시작 전"),
                    "{name}: a start without what to check before it: {step}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 4, "state-change goldens checked: {checked}");
}

/// Defect 5: when 🔧 recommends a stop/start, the change of an auto-assigned public IPv4 is part of it, not "not
/// about this incident"; an AWS Health report gets no threshold or Run Command advice, links to its Health event,
/// prices the stop/start, and names instance-store data only where the type has some (m5.large has none).
#[test]
fn a_recommended_stop_start_owns_its_public_ip_change_and_a_health_report_keeps_to_its_event() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".email.") || !text.contains("$ aws ec2 stop-instances") {
            continue;
        }
        for l in text.lines() {
            let aside =
                l.contains("Not about this incident:") || l.contains("이 incident와 무관한");
            assert!(
                !(aside && l.contains("public IPv4")),
                "{name}: a recommended stop/start with its public IP aside: {l}"
            );
        }
        if text.contains("Event: AWS Health") || text.contains("이벤트: AWS Health") {
            for wrong in [
                "Review the threshold",
                "임계값을 평소",
                "SSM Run Command",
                "instance store",
            ] {
                assert!(
                    !text.contains(wrong),
                    "{name}: a Health report with {wrong:?}"
                );
            }
            assert!(
                text.contains(
                    "https://health.aws.amazon.com/health/home#/account/event-log?eventID="
                ),
                "{name}: no link to the Health event"
            );
            let cost = email_section(&text, 5).join("\n");
            assert!(
                cost.contains("stop/start"),
                "{name}: the stop/start unpriced: {cost}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "stop/start emails checked: {checked}");
}

/// Korean reads native: EC2's state reason is said once (its message repeats the code) and what the code means is
/// said in the report's language.
#[test]
fn a_state_reason_is_said_once_with_its_meaning_in_the_reports_language() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        for line in text.lines().filter(|l| l.contains("StateReason ")) {
            let Some(rest) = line.split("StateReason ").nth(1) else {
                continue;
            };
            let code = rest.split([' ', ':']).next().unwrap_or_default();
            if !code.contains('.') {
                continue;
            }
            checked += 1;
            assert_eq!(
                line.matches(code).count(),
                1,
                "{name}: the code twice: {line}"
            );
            if code == "Server.InternalError" {
                let meaning = if name.contains(".ko.") {
                    "AWS 내부 오류"
                } else {
                    "internal error on AWS's side"
                };
                assert!(line.contains(meaning), "{name}: {line}");
            }
        }
    }
    assert!(checked >= 2, "state reasons checked: {checked}");
}

/// The summary's "who is acting" line of a golden.
fn who_line(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let l = l.trim_start_matches("• ");
        l.strip_prefix("▶ Who is acting: ")
            .or_else(|| l.strip_prefix("▶ 조치 주체: "))
    })
}

/// Defect 3: an Auto Scaling member failing its status check is replaced by its group on its own, so the group is
/// the one acting (unless the instance is in Standby or the group's processes are suspended: the report says how to
/// check); 🔧 captures the evidence first (console output, screenshot), then reads the scaling activities, and only
/// then offers `set-instance-health`, which terminates the instance — never as a bare chat next step.
#[test]
fn an_auto_scaling_member_is_replaced_by_its_group_after_the_evidence_is_captured() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !text.contains("aws autoscaling set-instance-health") {
            continue;
        }
        if let Some(who) = who_line(&text) {
            assert!(
                !who.starts_with("nobody") && !who.starts_with("아무도"),
                "{name}: the group acts on its own: {who}"
            );
            assert!(
                who.contains("Standby") && (who.contains("suspended") || who.contains("일시 중지")),
                "{name}: who acts without when the group does not: {who}"
            );
        }
        if name.contains(".chatbot.") {
            let steps = chat_next_steps(&name);
            assert!(
                !steps
                    .iter()
                    .any(|c| c.starts_with("aws autoscaling set-instance-health")),
                "{name}: a bare set-instance-health in the chat's next steps: {steps:?}"
            );
            continue;
        }
        let cmds = commands(&text);
        let at = |p: &str| cmds.iter().position(|c| c.starts_with(p));
        let health = at("aws autoscaling set-instance-health").unwrap_or(0);
        for before in [
            "aws ec2 get-console-output",
            "aws ec2 get-console-screenshot",
            "aws autoscaling describe-scaling-activities",
            "aws autoscaling describe-auto-scaling-instances",
        ] {
            assert!(
                at(before).is_some_and(|b| b < health),
                "{name}: {before} not before set-instance-health: {cmds:#?}"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 4,
        "Auto Scaling member emails checked: {checked}"
    );
}

/// Defect 12: a chat message cut to fit keeps in 📊 what the email's 📊 says about this alarm — the alarm metric's
/// line with its persistence right under it, and the top findings with one evidence line each (the first always,
/// the next two unless 🔧 had to be cut down to its first step) — and lets the other series, the sources and the
/// links go first.
#[test]
fn a_cut_chat_keeps_the_alarm_metric_its_persistence_and_the_top_findings_with_their_evidence() {
    let texts: std::collections::BTreeMap<String, String> = golden_texts().into_iter().collect();
    let mut checked = 0;
    for (name, text) in &texts {
        if !name.contains(".chatbot.") {
            continue;
        }
        let sections = super::reading::chat_sections(text);
        let Some((_, chat)) = sections.iter().find(|(e, _)| e == "📊") else {
            continue;
        };
        let cut = chat
            .iter()
            .any(|l| l.contains("lines cut") || l.contains("줄 생략"));
        let Some(email) = texts.get(&name.replace(".chatbot.", ".email.")) else {
            continue;
        };
        if !cut {
            continue;
        }
        let chat: Vec<&str> = chat
            .iter()
            .map(|l| l.trim_start_matches("• ").trim())
            .collect();
        let situation: Vec<&str> = email_section(email, 2).iter().map(|l| l.trim()).collect();
        let persistence = |l: &&str| l.starts_with("Persistence") || l.starts_with("지속성");
        if let Some(at) = situation.iter().position(persistence) {
            let shown = chat.iter().position(persistence);
            assert!(
                shown.is_some(),
                "{name}: the persistence cut from 📊: {chat:#?}"
            );
            // The alarm metric's series line, when the window read it: right above its persistence.
            let above = situation[at - 1];
            if above.contains(": last ") || above.contains(": 최근 ") {
                let metric = above.split(": ").next().unwrap_or_default();
                assert!(
                    shown
                        .is_some_and(|p| p > 0 && chat[p - 1].replace('`', "").starts_with(metric)),
                    "{name}: the alarm metric {metric:?} cut from 📊: {chat:#?}"
                );
            }
        }
        // The top finding always; the next two unless 🔧 is down to its first step (what to do comes first).
        let actions = sections
            .iter()
            .find(|(e, _)| e == "🔧")
            .map(|(_, ls)| ls.iter().filter(|l| !l.contains("…")).count())
            .unwrap_or_default();
        let top = if actions <= 4 { 1 } else { 3 };
        for finding in situation.iter().filter(|l| l.starts_with('[')).take(top) {
            let code = finding.split(']').next().unwrap_or_default();
            let at = chat.iter().position(|l| l.starts_with(code));
            assert!(
                at.is_some_and(|at| chat.get(at + 1).is_some_and(|e| e.starts_with("· "))),
                "{name}: the finding {code}] or its evidence cut from 📊: {chat:#?}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "cut chat goldens checked: {checked}");
}

/// Defect 21: a sub-item of a chat section (an evidence line, a held reason) is indented under its line, not a
/// bullet of its own followed by the sub-item's dot ("• · held").
#[test]
fn no_chat_line_is_a_bullet_before_a_sub_item_dot() {
    for (name, text) in golden_texts() {
        if let Some(l) = text.lines().find(|l| l.starts_with("• · ")) {
            panic!("{name}: {l}");
        }
    }
}

/// Defect 21: an alarm on an Auto Scaling group's metric names the group, not a missing InstanceId.
#[test]
fn an_alarm_on_an_auto_scaling_group_names_the_group_not_a_missing_instance_id() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.starts_with("golden__asg-cpu.") {
            continue;
        }
        assert!(
            !text.contains("no InstanceId") && !text.contains("InstanceId 없음"),
            "{name}: the group's alarm read as a missing InstanceId"
        );
        assert!(
            text.lines()
                .any(|l| l.contains("Auto Scaling group") && l.contains("web-asg-prod")),
            "{name}: the group is not named"
        );
        checked += 1;
    }
    assert_eq!(checked, 4, "ASG alarm goldens checked");
}

/// Defect 21: network traffic reads as a rate (bit/s), not as bytes per period.
#[test]
fn network_figures_are_rates() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        for l in report_lines(&text) {
            if !(l.contains("NetworkIn") || l.contains("NetworkOut")) {
                continue;
            }
            for unit in [" KB", " MB", " GB", "MB/min", "MB/분"] {
                assert!(!l.contains(unit), "{name}: network as bytes: {l}");
            }
            if l.contains("bit/s") {
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "network lines checked: {checked}");
}

/// Defect 21: a metric-math alarm whose label names its unit (`Total throughput MiB/s`) gives its values in it.
#[test]
fn a_metric_math_value_carries_the_unit_its_label_names() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.starts_with("golden__metric-math.") {
            continue;
        }
        let threshold = text
            .lines()
            .find(|l| l.contains("Threshold: ") || l.contains("임계값: "))
            .unwrap_or_else(|| panic!("{name}: no threshold line"));
        assert!(
            threshold.contains("> 100 MiB/s") && threshold.contains("166.9 MiB/s"),
            "{name}: {threshold}"
        );
        let trend = text
            .lines()
            .find(|l| l.contains("Trend") || l.contains("추세"))
            .unwrap_or_else(|| panic!("{name}: no trend line"));
        assert!(trend.contains("142.7 MiB/s →"), "{name}: {trend}");
        checked += 1;
    }
    assert_eq!(checked, 4, "metric-math goldens checked");
}

/// Defect 12: in chat, the summary's next step is on the first screen: 🔧 does not spend the message's room on the
/// same commands again.
#[test]
fn a_chat_message_does_not_repeat_the_summarys_commands_in_its_sections() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".chatbot.") {
            continue;
        }
        let head = text.split_once("\n\n*1.").map_or(text.as_str(), |(h, _)| h);
        let summary: Vec<&str> = head
            .lines()
            .filter_map(|l| l.trim().strip_prefix("$ "))
            .collect();
        let sections = super::reading::chat_sections(&text);
        // The sequence's first command names it (a later Run Command repeats only the wait and the read).
        if let Some(c) = summary.first() {
            for (emoji, lines) in &sections {
                assert!(
                    !lines.iter().any(|l| l.contains(c)),
                    "{name}: {c} repeated in {emoji}"
                );
            }
        }
        checked += usize::from(!summary.is_empty());
    }
    assert!(
        checked >= 8,
        "chat goldens with a summary sequence: {checked}"
    );
}

/// Defect 7: exposure is judged by who can reach a rule — a world-open rule × a public address. A 🔴 stands only
/// where the report names a public IPv4; a web port (80/443) open to the world is how a web server serves, never a
/// finding; and an admin port the internet reaches on an instance that spends CPU beyond its owner's (credits
/// exhausted, sustained) is the cryptominer's signature, in full, not "not about this incident".
#[test]
fn exposure_is_a_world_open_rule_on_a_public_address_and_a_web_port_is_no_finding() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".email.") {
            continue;
        }
        let security = email_section(&text, 6);
        let public = security.iter().any(|l| l.contains("ublic IPv4 "));
        for l in &security {
            assert!(
                !l.contains("tcp 80 ←") && !l.contains("tcp 443 ←"),
                "{name}: a web port as a finding: {l}"
            );
            assert!(
                !l.trim_start().starts_with("🔴") || public,
                "{name}: 🔴 on an instance the internet cannot reach: {l}"
            );
        }
        let cpu = text.contains("[CPU-CREDITS]") || text.contains("[CPU-SUSTAINED]");
        if public && cpu && security.iter().any(|l| l.contains("tcp 22 ←")) {
            assert!(
                security
                    .iter()
                    .any(|l| l.trim_start().starts_with("🔴") && l.contains("tcp 22 ←")),
                "{name}: an admin port the internet reaches, beside exhausted or sustained CPU, set aside:\n{}",
                security.join("\n")
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "public instances under CPU with SSH open checked: {checked}"
    );
}

/// Defect 8: 💰 prices only what the report recommends, from the load it observed — a one-minute spike offers no
/// bigger type; a scale-up says the load it was sized from; exhausted credits say the hours of burst left and what
/// unlimited mode costs at the demand the window showed before the throttle, not only a ceiling at 100 %.
#[test]
fn cost_prices_only_the_recommended_action_from_the_observed_load() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".email.") {
            continue;
        }
        let en = name.contains(".en.");
        let cost = email_section(&text, 5);
        if let Some(up) = cost.iter().find(|l| l.contains("Scale up")) {
            assert!(
                text.contains("[CPU-SUSTAINED]"),
                "{name}: a bigger type priced without a sustained load: {up}"
            );
            assert!(
                up.contains(if en { "at today's" } else { "오늘" }),
                "{name}: a scale-up not sized from the observed load: {up}"
            );
            checked += 1;
        }
        if text.contains("[CPU-CREDITS]") {
            let joined = cost.join("\n");
            for said in [
                if en {
                    "of burst left"
                } else {
                    "burst 남은 시간"
                },
                if en {
                    "at today's load"
                } else {
                    "오늘 부하"
                },
            ] {
                assert!(
                    joined.contains(said),
                    "{name}: 💰 does not say {said:?}:\n{joined}"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 6,
        "priced scale-ups and credit budgets checked: {checked}"
    );
}

/// Defect 9: a change named before the transition is connected to the alarm's daily recurrence that predates it
/// (the recurrence line names a daily time: the change cannot have started it), and the changes are listed once —
/// under the finding only the trigger, in "What changed" the window.
#[test]
fn a_change_before_a_daily_recurrence_is_not_its_trigger_and_changes_are_listed_once() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        if !name.contains(".email.") || !text.contains("[CHANGE-BEFORE]") {
            continue;
        }
        // A CloudTrail event by its minute and API name, under the finding and in "What changed" alike.
        let mut events: Vec<(&str, &str)> = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("· "))
            .filter_map(|l| {
                let head = l.split(" · ").next()?;
                let api = head.split_whitespace().find(|w| {
                    w.len() > 8
                        && *w != "CloudTrail"
                        && w.starts_with(|c: char| c.is_ascii_uppercase())
                        && w.chars().all(|c| c.is_ascii_alphabetic())
                })?;
                Some((head.split_whitespace().next()?, api))
            })
            .collect();
        let all = events.len();
        events.sort_unstable();
        events.dedup();
        assert_eq!(all, events.len(), "{name}: a CloudTrail event listed twice");
        let daily = text.lines().any(|l| {
            l.contains("ALARM transitions in the last 7 days") || l.contains("최근 7일간 ALARM")
        }) && (text.contains("scheduled job") || text.contains("예약 작업"));
        if daily {
            let finding =
                super::reading::finding_said(&text, "[CHANGE-BEFORE]").unwrap_or_default();
            assert!(
                !finding.contains("(the likely trigger)") && !finding.contains("(유력한 trigger)"),
                "{name}: the change named the trigger of a recurrence that predates it: {finding}"
            );
            assert!(
                finding.contains("before this change") || finding.contains("이 변경 전에도"),
                "{name}: the daily recurrence is not connected to the change: {finding}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 2,
        "change-before goldens with a daily recurrence: {checked}"
    );
}

/// Defect 20: advice and causes that read the same for any incident are gone where they do not apply — "run
/// stateless behind an ASG" for a database, a threshold review for an anomaly band (it has no threshold) or a Health
/// event; a composite's cause names the member that went off first, a breach's cause its size and duration instead
/// of "several conditions hold at once" or "sustained breach (N datapoints)".
#[test]
fn no_boilerplate_survives_where_it_does_not_apply() {
    let mut checked = 0;
    for (name, text) in golden_texts() {
        let database = text.lines().any(|l| {
            (l.starts_with("Instance: ") || l.starts_with("인스턴스: ")) && l.contains("-db-")
        });
        if database {
            assert!(
                !text.contains("stateless") && !text.contains("상태 없는"),
                "{name}: a database told to run stateless"
            );
            checked += 1;
        }
        let band = text.contains("(anomaly detection band)") || text.contains("(이상 탐지 band)");
        let health = text.contains("Event: AWS Health") || text.contains("이벤트: AWS Health");
        if band || health {
            assert!(
                !text.contains("Review the threshold") && !text.contains("임계값을 평소"),
                "{name}: a threshold review for an alarm without a threshold"
            );
            checked += 1;
        }
        if let Some(cause) = cause_line(&text) {
            for bare in [
                "several conditions hold at once",
                "여러 조건이 동시에 충족",
                "sustained breach (",
                "지속적인 임계값 초과 (",
            ] {
                assert!(
                    !cause.contains(bare),
                    "{name}: a bare reason as the cause: {cause}"
                );
            }
            if text.contains("(composite)") || text.contains("(복합)") {
                assert!(
                    cause.contains("prod-web-1-5xx-high")
                        && (cause.contains("07:43") || cause.contains("16:43")),
                    "{name}: the composite's cause does not name the member that went off first: {cause}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 8, "goldens checked for boilerplate: {checked}");
}

/// The names of a composite's member alarms, from its rule line (`Rule: ALARM("a") AND ALARM("b")`).
fn composite_members(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| l.starts_with("Rule: ") || l.starts_with("규칙: "))
        .flat_map(|l| l.split("ALARM(\"").skip(1))
        .filter_map(|r| r.split('"').next())
        .collect()
}

/// Defect 20: a 🚨 Why line gives the figures behind its reason — a sustained breach its duration and its values, a
/// composite the member alarm that fired first, a spike, a pressure or exhausted credits their value, a failed status
/// check which check — never the bare label.
#[test]
fn every_why_line_gives_the_figures_behind_its_reason() {
    let mut found = Vec::new();
    let mut checked = 0;
    for (name, text) in golden_texts() {
        let members = composite_members(&text);
        for l in report_lines(&text) {
            let l = l.trim().trim_start_matches("• ");
            let Some(why) = l.strip_prefix("Why: ").or_else(|| l.strip_prefix("근거: ")) else {
                continue;
            };
            let has = |s: &str| why.contains(s);
            let digit = why.chars().any(|c| c.is_ascii_digit());
            let bare = if has("sustained") || has("지속 초과") || has("지속적인 임계값 초과")
            {
                !((has(" min") || has("분")) && (has("≥") || has("≤")))
            } else if has("composite alarm") || has("복합(composite) 알람") {
                !members.iter().any(|m| why.contains(m))
            } else if has("CPU spike") || has("CPU 스파이크") || has("at its limit") || has("한계")
            {
                !why.contains('%')
            } else if has("CPU credits exhausted") || has("CPU credit 고갈") {
                !digit
            } else if has("status check failed") || has("상태 확인 실패") {
                !has("StatusCheckFailed")
            } else {
                continue;
            };
            checked += 1;
            if bare {
                found.push(format!("{name}: {l}"));
            }
        }
    }
    assert!(checked >= 20, "Why lines checked: {checked}");
    assert!(
        found.is_empty(),
        "Why lines without their figures:\n{}",
        found.join("\n")
    );
}
