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
