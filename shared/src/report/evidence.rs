//! Evidence lines in the report's language. The analysis writes them language-neutral (`03:06 mem_used_percent
//! 94.7%`, with a few English words); here their leading minute is given its zone (the configured zone first in
//! Korean reports) and their words go through the phrasebook.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::config::Language;

use super::phrasebook;
use super::text::hm;

/// One evidence line for the report: its leading `HH:MM` (UTC, near the alarm's time) in the report's zone, its
/// English words in Korean for a Korean report.
pub fn localize(e: &str, around: DateTime<Utc>, tz: Tz, lang: Language) -> String {
    let timed = match leading_minute(e, around) {
        Some((t, rest)) => format!("{} {rest}", hm(t, tz, lang)),
        None => e.to_string(),
    };
    match lang {
        Language::En => timed,
        Language::Ko => phrasebook::translate(&timed),
    }
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
}
