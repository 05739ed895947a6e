use super::processes::elapsed;
use super::redact::is_secret_name;
use super::*;

#[test]
fn clip_keeps_short_text_and_marks_a_cut() {
    assert_eq!(clip("abc", 3), "abc");
    assert_eq!(clip("abcd", 3), "ab…");
    assert_eq!(clip("", 0), "");
    assert_eq!(clip("é日本", 2), "é…");
}

#[test]
fn elapsed_reads_seconds_and_clock_forms() {
    assert_eq!(elapsed("86399"), Some(86_399));
    assert_eq!(elapsed("01:02"), Some(62));
    assert_eq!(elapsed("1-02:03:04"), Some(93_784));
    assert_eq!(elapsed("x:1"), None);
}

#[test]
fn uptime_reads_proc_and_the_uptime_command() {
    assert_eq!(parse_uptime("4546.60 2457.10"), Some(4546));
    assert_eq!(
        parse_uptime(" 10:12:01 up 3 days,  4:05,  2 users,  load average: 0.00, 0.01, 0.05"),
        Some(3 * 86_400 + 4 * 3600 + 5 * 60)
    );
    assert_eq!(parse_uptime(" 10:12:01 up 17 min,  1 user"), Some(17 * 60));
    assert_eq!(parse_uptime("inf 0"), None);
}

#[test]
fn secret_names_follow_separators_and_camel_case() {
    for name in [
        "password",
        "--db-password",
        "DB_PASSWORD",
        "clientSecret",
        "apiKey",
        "X-Api-Key",
        "aws_secret_access_key",
        "pwd",
        "authToken",
        "APIKEY",
    ] {
        assert!(is_secret_name(name), "{name}");
    }
    for name in [
        "key_file",
        "token_type",
        "monkey",
        "bypass",
        "user",
        "keyboard",
    ] {
        assert!(!is_secret_name(name), "{name}");
    }
}
