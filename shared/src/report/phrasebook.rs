//! The report's one phrasebook: every phrase a reader sees exists here in Korean and English, Korean first. The
//! report's own sentences are `l!` pairs (a format string per language over the same arguments); the words of the
//! few texts the domain writes itself — the reasons a source is missing — are pairs of [`WORDS`], translated on
//! their way into a Korean report. The golden tests read both: no
//! English side may reach a Korean report.

use crate::config::Language;

/// Pick the Korean or English text. Both branches are format strings over the same arguments.
macro_rules! l {
    ($lang:expr, $ko:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            Language::Ko => format!($ko $(, $arg)*),
            Language::En => format!($en $(, $arg)*),
        }
    };
}

/// Words of the domain's language-neutral text, `(Korean, English)` like `l!`. Longer phrases come before the
/// shorter ones they contain.
pub const WORDS: &[(&str, &str)] = &[
    // Why a source is missing, as ec2ops's own words say it (an AWS error is quoted as AWS wrote it).
    (
        "offline 모드, AWS 호출 안 함",
        "offline mode, no AWS call made",
    ),
    (
        "차트로 그릴 메트릭 없음 (composite 알람)",
        "the alarm has no metric to chart (composite alarm)",
    ),
    ("알람에 인스턴스 없음", "the alarm names no instance"),
    ("수집하지 않음", "not gathered"),
    ("아직 읽지 않음", "not read yet"),
    ("필요 없음", "not needed"),
];

/// Text the domain wrote, in the report's language.
pub fn words(s: &str, lang: Language) -> String {
    match lang {
        Language::En => s.to_string(),
        Language::Ko => translate(s),
    }
}

/// A source's reason for being missing in the report's language.
pub fn reason(why: &str, lang: Language) -> String {
    words(why, lang)
}

/// The English words of the domain's text in Korean.
fn translate(s: &str) -> String {
    WORDS
        .iter()
        .fold(s.to_string(), |acc, (ko, en)| acc.replace(en, ko))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::Observation;
    use crate::catalogue;
    use crate::diagnostics::{CpuSample, Process};

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        crate::event::parse_timestamp(s).unwrap()
    }

    #[test]
    fn korean_evidence_keeps_no_english_phrase_of_the_book() {
        let p = Process {
            pid: 1,
            user: "app".into(),
            cpu_percent: 97.3,
            mem_percent: 58.2,
            rss_kib: 1,
            elapsed_secs: Some(4 * 3600 + 24 * 60),
            command: "java -jar app.jar".into(),
        };
        let t = at("2025-08-14T03:06:00.000+0000");
        let seen = [
            Observation::MedianBeforeRise { percent: 4.2 },
            Observation::NetworkInSurge {
                at: t,
                bytes: 120e6,
                factor: 30.0,
            },
            Observation::NetworkOutMedian {
                bytes: 4e6,
                factor: 12.0,
            },
            Observation::TopCpu {
                process: Box::new(p.clone()),
                sample: CpuSample::Current,
            },
            Observation::TopMemory {
                process: Box::new(p),
            },
            Observation::GuestMemory {
                used_mib: 3500,
                total_mib: 3785,
                percent: 92.5,
            },
            Observation::AlarmDatapoints {
                metric: catalogue::STATUS_CHECK_FAILED_INSTANCE,
                namespace: Some("Custom/Health".into()),
                failed: 2,
                evaluated: 3,
            },
            Observation::CheckNotImpaired {
                metric: catalogue::STATUS_CHECK_FAILED_INSTANCE,
                state: None,
            },
            Observation::StateReasonUnread {
                why: "offline mode, no AWS call made".into(),
            },
        ];
        for o in &seen {
            let ko = super::super::evidence::line(o, chrono_tz::Asia::Seoul, Language::Ko, 60);
            for english in [
                "median",
                " before",
                "% memory",
                "running",
                "since start",
                "sample",
                "evaluated",
                "not AWS",
                "not reported",
                "offline mode",
                "unavailable",
            ] {
                assert!(!ko.contains(english), "{english:?} left in {ko:?}");
            }
        }
    }

    #[test]
    fn an_english_report_keeps_the_domain_s_words() {
        assert_eq!(
            reason("offline mode, no AWS call made", Language::En),
            "offline mode, no AWS call made"
        );
        assert_eq!(
            reason("offline mode, no AWS call made", Language::Ko),
            "offline 모드, AWS 호출 안 함"
        );
    }
}
