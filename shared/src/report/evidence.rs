//! Evidence lines in the report's language. The analysis writes them language-neutral (`03:06 mem_used_percent
//! 94.7%`, with a few English words); here their leading minute is given its zone (the configured zone first in
//! Korean reports) and the English words are translated from one table, which the golden tests also read: no phrase
//! of it may reach a Korean report.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::config::Language;

use super::text::hm;

/// English words of the analysis's evidence and of in-guest process lines, with their Korean. Longer phrases come
/// before the shorter ones they contain.
pub const PHRASES: &[(&str, &str)] = &[
    ("window median before the rise", "상승 전 window 중앙값"),
    (
        "NetworkOut median of the last 5 min ",
        "NetworkOut 최근 5분 중앙값 ",
    ),
    ("world-open admin ports: ", "전체 공개 관리 포트: "),
    ("CPU rise begins", "CPU 상승 시작"),
    ("(average since start)", "(프로세스 시작 이후 평균)"),
    ("% CPU now (1 s sample)", "% CPU (현재, 1초 샘플)"),
    ("% memory, running ", "% 메모리, 실행 시간 "),
    ("% memory", "% 메모리"),
    ("in-guest top CPU: ", "게스트 OS top CPU: "),
    ("in-guest top memory: ", "게스트 OS top memory: "),
    ("in-guest memory ", "게스트 OS 메모리 "),
    ("in-guest df: ", "게스트 OS df: "),
    (" MiB used (", " MiB 사용 ("),
    (" MiB free)", " MiB 여유)"),
    ("% used (", "% 사용 ("),
    (" evaluated datapoints = 1", " 평가 datapoint = 1"),
    (
        " in ALARM; the event carries no evaluated datapoints",
        " ALARM 상태, 이벤트에 평가 datapoint 없음",
    ),
    (
        " (combined) = 1; the failing check is not identified",
        " (결합 메트릭) = 1, 어느 검사인지 불명",
    ),
    (
        " instances with failed status checks in ",
        "대 인스턴스 status check 실패, AZ ",
    ),
    (" within 10 minutes", ", 10분 이내"),
    ("also impaired: ", "같이 impaired: "),
    (
        "ec2ops sweep: DescribeInstanceStatus listed ",
        "ec2ops sweep: DescribeInstanceStatus가 impaired로 보고: ",
    ),
    (" check impaired", " check impaired 상태"),
    (" now (not impaired)", " (현재 impaired 아님)"),
    ("not reported", "보고 없음"),
    (", not AWS/EC2)", ", AWS/EC2 아님)"),
];

/// Why a source is missing, as ec2ops's own words say it (an AWS error is quoted as AWS wrote it).
pub const REASONS: &[(&str, &str)] = &[
    (
        "offline mode, no AWS call made",
        "offline 모드, AWS 호출 안 함",
    ),
    (
        "the alarm has no metric to chart (composite alarm)",
        "차트로 그릴 메트릭 없음 (composite 알람)",
    ),
    ("the alarm names no instance", "알람에 인스턴스 없음"),
    ("not gathered", "수집하지 않음"),
    ("not read yet", "아직 읽지 않음"),
    ("not needed", "필요 없음"),
];

/// A source's reason for being missing in the report's language.
pub fn reason(why: &str, lang: Language) -> String {
    match lang {
        Language::En => why.to_string(),
        Language::Ko => REASONS
            .iter()
            .fold(why.to_string(), |acc, (en, ko)| acc.replace(en, ko)),
    }
}

/// One evidence line for the report: its leading `HH:MM` (UTC, near the alarm's time) in the report's zone, its
/// English words in Korean for a Korean report.
pub fn localize(e: &str, around: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    let timed = match leading_minute(e, around) {
        Some((t, rest)) => format!("{} {rest}", hm(t, tz, lang)),
        None => e.to_string(),
    };
    match lang {
        Language::En => timed,
        Language::Ko => translate(&timed),
    }
}

/// The English words of an analysis line in Korean.
pub fn translate(s: &str) -> String {
    let s = match s.strip_prefix("alarm ") {
        Some(rest) => format!("알람 {rest}"),
        None => s.to_string(),
    };
    let s = factors(&s);
    PHRASES.iter().fold(s, |acc, (en, ko)| acc.replace(en, ko))
}

/// `(x22 the window median)` → `(window 중앙값의 22배)`, `(x5 before)` → `(이전의 5배)`.
fn factors(s: &str) -> String {
    const OF: [(&str, &str); 2] = [
        (" the window median)", "window 중앙값의 "),
        (" before)", "이전의 "),
    ];
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("(x") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let digits = after
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(after.len());
        match OF
            .iter()
            .find(|(en, _)| digits > 0 && after[digits..].starts_with(en))
        {
            Some((en, ko)) => {
                out.push_str(&format!("({ko}{}배)", &after[..digits]));
                rest = &after[digits + en.len()..];
            }
            None => {
                out.push_str("(x");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `03:06 rest` → the UTC time of that minute nearest to `around`, and the rest.
fn leading_minute(e: &str, around: DateTime<Utc>) -> Option<(DateTime<Utc>, &str)> {
    let (head, rest) = e.split_once(' ')?;
    if head.len() != 5 {
        return None;
    }
    let time = NaiveTime::parse_from_str(head, "%H:%M").ok()?;
    let mut t = around.date_naive().and_time(time).and_utc();
    if t - around > Duration::hours(12) {
        t -= Duration::days(1);
    } else if around - t > Duration::hours(12) {
        t += Duration::days(1);
    }
    Some((t, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        crate::event::parse_timestamp(s).unwrap()
    }

    #[test]
    fn an_evidence_minute_is_shown_in_the_configured_zone_in_korean_reports() {
        let around = at("2025-08-14T03:07:41.000+0000");
        let seoul = chrono_tz::Asia::Seoul;
        assert_eq!(
            localize("03:06 mem_used_percent 94.7%", around, seoul, Language::Ko),
            "12:06 KST mem_used_percent 94.7%"
        );
        assert_eq!(
            localize("03:06 mem_used_percent 94.7%", around, seoul, Language::En),
            "03:06 UTC mem_used_percent 94.7%"
        );
        // Just before midnight UTC, for an alarm just after it.
        let around = at("2025-08-14T00:01:00.000+0000");
        assert_eq!(
            localize("23:58 CPU rise begins", around, seoul, Language::Ko),
            "08:58 KST CPU 상승 시작"
        );
    }

    #[test]
    fn a_factor_reads_as_korean_times() {
        assert_eq!(
            translate("12:18 NetworkIn 3.32 MB (x22 the window median)"),
            "12:18 NetworkIn 3.32 MB (window 중앙값의 22배)"
        );
        assert_eq!(translate("a (x12 before)"), "a (이전의 12배)");
        assert_eq!(translate("(xyz) (x"), "(xyz) (x");
    }

    #[test]
    fn korean_evidence_keeps_no_english_phrase_of_the_table() {
        let lines = [
            "window median before the rise 4.20%",
            "03:01 NetworkIn 120.00 MB (x30 the window median)",
            "NetworkOut median of the last 5 min 4.0 MB/min (x12 before)",
            "in-guest top CPU: java (pid 1, app) 97.3% CPU (average since start), 58.2% memory, running 4h 24m: java",
            "in-guest memory 3500 of 3785 MiB used (92.5%)",
            "in-guest df: / on /dev/nvme0n1p1 95% used (100 MiB free)",
            "alarm StatusCheckFailed_Instance: 2/3 evaluated datapoints = 1",
            "DescribeInstanceStatus: StatusCheckFailed_Instance check ok now (not impaired)",
        ];
        for l in lines {
            let ko = translate(l);
            for (en, _) in PHRASES.iter().filter(|(en, _)| en.trim().len() > 4) {
                assert!(!ko.contains(en), "{en:?} left in {ko:?}");
            }
        }
    }
}
