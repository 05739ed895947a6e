//! `ec2ops incidents`: the incidents recorded in the ledger (time, priority, rule ids, action, message id), and one
//! incident's full report — what a digest reader, or anyone after a storm, needs to see each one.

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, Utc};
use ec2ops::storm::{IncidentLog, LoggedIncident, LOG_RETENTION};

/// `90s`, `30m`, `2h`, `1d` (a bare number is minutes), at most the log's retention.
pub fn parse_since(s: &str) -> anyhow::Result<Duration> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "m"),
    };
    let n: i64 = digits.parse().with_context(|| {
        format!("--since {s:?}: expected a number and a unit (s, m, h, d), e.g. 2h")
    })?;
    let d = match unit {
        "s" => Duration::try_seconds(n),
        "m" => Duration::try_minutes(n),
        "h" => Duration::try_hours(n),
        "d" => Duration::try_days(n),
        _ => bail!("--since {s:?}: the unit must be s, m, h or d"),
    };
    match d {
        Some(d) if d > Duration::zero() && d <= LOG_RETENTION => Ok(d),
        _ => bail!(
            "--since {s:?}: must be more than 0 and at most {} days (how long the ledger keeps incidents)",
            LOG_RETENTION.num_days()
        ),
    }
}

/// The listing: one line per incident, oldest first, with a header.
/// Text from the ledger (alarm names, Name tags, reports: written by whoever can name an alarm or tag an instance) as
/// a terminal may show it: control characters (C1 escapes included), Unicode separators and bidirectional formatting
/// become `�`, so that nothing stored can move the cursor or make a line read differently; the report's own line
/// breaks stay.
fn terminal(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c != '\n' && ec2ops::report::shell::hidden(c) {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}

pub fn format_list(incidents: &[LoggedIncident]) -> String {
    let mut out = String::from("TIME (UTC)           PRI  RULES                    ACTION        MESSAGE                INSTANCE             INCIDENT KEY\n");
    for i in incidents {
        let message = match (&i.message_id, &i.digest) {
            (Some(id), _) => id.clone(),
            (None, Some(w)) => format!("digest {w}"),
            (None, None) => "-".into(),
        };
        let rules = if i.rules.is_empty() {
            "-".to_string()
        } else {
            i.rules.join(",")
        };
        out.push_str(&format!(
            "{:<20} {:<4} {:<24} {:<13} {:<22} {:<20} {}\n",
            i.at.format("%Y-%m-%d %H:%M:%S"),
            i.priority,
            rules,
            terminal(&i.action),
            terminal(&message),
            terminal(i.instance.as_deref().unwrap_or("-")),
            terminal(&i.incident_key)
        ));
    }
    out.push_str(&format!(
        "{} incident(s). Full report: ec2ops incidents show KEY\n",
        incidents.len()
    ));
    out
}

/// The proposed actions still waiting for an answer at `now` (`approve` mode), soonest expiry first, each with the
/// command that approves it; empty when none is pending.
pub fn format_pending(incidents: &[LoggedIncident], now: DateTime<Utc>) -> String {
    let mut pending: Vec<(&LoggedIncident, &ec2ops::storm::LoggedApproval)> = incidents
        .iter()
        .filter_map(|i| i.approval.as_ref().map(|a| (i, a)))
        .filter(|(_, a)| a.pending_at(now))
        .collect();
    if pending.is_empty() {
        return String::new();
    }
    pending.sort_by_key(|(_, a)| a.expires_at);
    let mut out = String::from(
        "\nPENDING APPROVALS\nEXPIRES (UTC)        ACTION        INSTANCE             NONCE                             INCIDENT KEY\n",
    );
    for (i, a) in &pending {
        out.push_str(&format!(
            "{:<20} {:<13} {:<20} {:<33} {}\n",
            a.expires_at.format("%Y-%m-%d %H:%M:%S"),
            terminal(&a.action),
            terminal(i.instance.as_deref().unwrap_or("-")),
            terminal(&a.nonce),
            terminal(&i.incident_key)
        ));
    }
    out.push_str(&format!(
        "{} pending. Approve: ec2ops approve NONCE · deny: ec2ops approve NONCE --deny\n",
        pending.len()
    ));
    out
}

/// One incident: what was recorded, then its report.
pub fn format_show(i: &LoggedIncident) -> String {
    let mut out = format!(
        "incident {}\nrecorded {} · {} · rules {} · action {}\n",
        terminal(&i.incident_key),
        i.at.format("%Y-%m-%d %H:%M:%S UTC"),
        i.priority,
        if i.rules.is_empty() {
            "-".to_string()
        } else {
            i.rules.join(",")
        },
        terminal(&i.action)
    );
    match (&i.message_id, &i.digest) {
        (Some(id), _) => out.push_str(&format!("published as SNS message {id}\n")),
        (None, Some(w)) => out.push_str(&format!("listed in the digest of storm window {w}\n")),
        (None, None) => out.push_str("not published on its own (covered by another report)\n"),
    }
    if let Some(a) = &i.approval {
        out.push_str(&format!(
            "proposed {} (nonce {}, until {}): {}\n",
            terminal(&a.action),
            terminal(&a.nonce),
            a.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
            terminal(&a.state)
        ));
        for d in &a.decisions {
            out.push_str(&format!("  {}\n", terminal(d)));
        }
    }
    out.push('\n');
    out.push_str(&terminal(&i.report));
    if !i.report.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// The incidents from `since` ago to `now`, on one instance when `instance` is given.
pub async fn list(
    log: &dyn IncidentLog,
    since: Duration,
    instance: Option<&str>,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<LoggedIncident>> {
    let from = now.checked_sub_signed(since).unwrap_or(now);
    let all = log.list(from, now).await?;
    Ok(all
        .into_iter()
        .filter(|i| instance.is_none_or(|id| i.instance.as_deref() == Some(id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_seconds_minutes_hours_and_days_and_refuses_more_than_the_retention() {
        assert_eq!(parse_since("90s").ok(), Some(Duration::seconds(90)));
        assert_eq!(parse_since("30").ok(), Some(Duration::minutes(30)));
        assert_eq!(parse_since("2h").ok(), Some(Duration::hours(2)));
        assert_eq!(parse_since("7d").ok(), Some(Duration::days(7)));
        for bad in ["8d", "0h", "2w", "h", "", "-1h", "99999999999999999999d"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    fn logged(key: &str, message: Option<&str>, digest: Option<&str>) -> LoggedIncident {
        LoggedIncident {
            incident_key: key.into(),
            at: DateTime::from_timestamp(1_796_115_600, 0).unwrap_or_default(),
            priority: "P0".into(),
            rules: vec!["SYS-CHECK".into(), "AZ-EVENT".into()],
            instance: Some("i-0abc".into()),
            alarm: "sys".into(),
            action: "held".into(),
            message_id: message.map(str::to_string),
            digest: digest.map(str::to_string),
            report: "[P0] report\n".into(),
            approval: None,
        }
    }

    #[test]
    fn the_listing_names_the_message_or_the_digest_of_each_incident() {
        let out = format_list(&[
            logged("k1", Some("msg-1"), None),
            logged("k2", None, Some("20261201T090000Z-60")),
        ]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(lines[1].contains("P0") && lines[1].contains("SYS-CHECK,AZ-EVENT"));
        assert!(lines[1].contains("msg-1") && lines[1].ends_with("k1"));
        assert!(lines[2].contains("digest 20261201T090000Z-60") && lines[2].ends_with("k2"));
        assert!(lines[3].starts_with("2 incident(s)"));
    }

    #[test]
    fn show_prints_the_record_then_the_report() {
        let out = format_show(&logged("k2", None, Some("w")));
        assert!(out.starts_with("incident k2\n"));
        assert!(out.contains("listed in the digest of storm window w"));
        assert!(out.ends_with("\n[P0] report\n"));
    }

    fn proposed(key: &str, nonce: &str, expires_in_minutes: i64, state: &str) -> LoggedIncident {
        let mut i = logged(key, Some("m"), None);
        i.action = "proposed".into();
        i.approval = Some(ec2ops::storm::LoggedApproval {
            nonce: nonce.into(),
            action: "reboot".into(),
            expires_at: i.at + Duration::minutes(expires_in_minutes),
            state: state.into(),
            decisions: Vec::new(),
        });
        i
    }

    #[test]
    fn the_listing_ends_with_the_approvals_still_pending_soonest_expiry_first_and_how_to_answer_them(
    ) {
        let base = logged("k", None, None).at;
        let list = [
            proposed("late", "bbbb", 15, "pending"),
            proposed("soon", "aaaa", 5, "pending"),
            proposed("denied", "cccc", 15, "denied"),
            proposed("expired", "dddd", -1, "pending"),
            logged("plain", Some("m"), None),
        ];
        let out = format_pending(&list, base);
        let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines[0], "PENDING APPROVALS", "{out}");
        assert!(
            lines[2].contains("aaaa") && lines[2].ends_with("soon"),
            "{out}"
        );
        assert!(
            lines[3].contains("bbbb") && lines[3].ends_with("late"),
            "{out}"
        );
        assert!(
            lines[4].starts_with("2 pending. Approve: ec2ops approve NONCE"),
            "{out}"
        );
        assert_eq!(
            lines.len(),
            5,
            "a decided or expired proposal is not pending: {out}"
        );
        assert_eq!(
            format_pending(&list[2..], base),
            "",
            "nothing pending, nothing printed"
        );
    }

    #[test]
    fn show_prints_every_decision_on_a_proposed_action() {
        let mut i = proposed("k", "aaaa", 15, "approved");
        if let Some(a) = i.approval.as_mut() {
            a.decisions
                .push("2026-12-01 09:05:00 UTC  Slack user U1: approved; the envelope checked again: done".into());
        }
        let out = format_show(&i);
        assert!(out.contains("proposed reboot (nonce aaaa, until "), "{out}");
        assert!(out.contains("): approved\n"), "{out}");
        assert!(
            out.contains("  2026-12-01 09:05:00 UTC  Slack user U1: approved"),
            "{out}"
        );
    }

    #[test]
    fn stored_escape_and_bidi_characters_reach_the_terminal_as_replacement_characters() {
        let mut i = logged("alarm:db\u{9b}31m\u{202e}evil#ALARM#t", Some("m-1"), None);
        i.report = "line one\nline \u{1b}[2Jtwo\n".into();
        for out in [format_list(std::slice::from_ref(&i)), format_show(&i)] {
            assert!(
                !out.chars()
                    .any(|c| c != '\n' && ec2ops::report::shell::hidden(c)),
                "{out:?}"
            );
            assert!(out.contains("db\u{fffd}31m\u{fffd}evil"), "{out:?}");
        }
        assert!(format_show(&i).contains("line one\nline \u{fffd}[2Jtwo"));
    }
}
