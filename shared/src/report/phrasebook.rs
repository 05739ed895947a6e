//! The report's one phrasebook: every phrase a reader sees exists here in Korean and English, Korean first. The
//! report's own sentences are `l!` pairs (a format string per language over the same arguments); the reasons a source
//! is missing are values ([`Gap`]) said here by [`reason`], never text translated back from its words. The golden
//! tests read the book: no English side may reach a Korean report.

use crate::config::Language;
use crate::diagnostics::{Missing, MissingWhy};
use crate::source::{Gap, Unrankable};

/// Pick the Korean or English text. Both branches are format strings over the same arguments.
macro_rules! l {
    ($lang:expr, $ko:literal, $en:literal $(, $arg:expr)* $(,)?) => {
        match $lang {
            Language::Ko => format!($ko $(, $arg)*),
            Language::En => format!($en $(, $arg)*),
        }
    };
}

/// A diagnostics section that is missing, and why, in the report's language (the script's own reason as written).
pub fn missing(m: &Missing, lang: Language) -> String {
    let why = match &m.why {
        MissingWhy::NotInOutput => l!(lang, "출력에 없음", "not in output"),
        MissingWhy::CutShort => l!(lang, "출력이 잘림", "output cut short"),
        MissingWhy::Unreadable => l!(lang, "읽을 수 없음", "unreadable"),
        MissingWhy::Said(s) => s.clone(),
    };
    format!("{}: {why}", m.section)
}

/// Why a fleet cannot be ranked, in the report's language; the parser's account of an unreadable query is about the
/// query's own text and kept as written.
fn unrankable(why: &Unrankable, lang: Language) -> String {
    match why {
        Unrankable::NotFleet => l!(lang, "플릿 알람이 아님", "not a fleet alarm"),
        Unrankable::MetricUnknown => l!(
            lang,
            "알람의 쿼리를 읽지 못해 메트릭을 알 수 없음",
            "the alarm's query could not be read, so its metric is not known"
        ),
        Unrankable::MetricMath => l!(
            lang,
            "알람이 Metrics Insights 쿼리가 아닌 metric math임",
            "the alarm is metric math, not a Metrics Insights query"
        ),
        Unrankable::QueryUnread(e) => l!(
            lang,
            "알람의 쿼리를 읽지 못함 ({})",
            "the alarm's query could not be read ({})",
            e
        ),
        Unrankable::NoSingleMetric => l!(
            lang,
            "알람의 쿼리가 하나의 메트릭을 지정하지 않음",
            "the alarm's query names no single metric"
        ),
        Unrankable::NoInstanceIdKey(keys) => l!(
            lang,
            "알람의 SCHEMA({})에 묶을 InstanceId가 없음",
            "the alarm's SCHEMA({}) has no InstanceId to group by",
            keys
        ),
    }
}

/// Why a source is missing, in the report's language: each of ec2ops's own reasons is a phrase here; an AWS error
/// is AWS's own words and is kept as written.
pub fn reason(gap: &Gap, lang: Language) -> String {
    match gap {
        Gap::Failed(why) => why.clone(),
        Gap::TimedOut { ms } => l!(lang, "{} ms 안에 응답 없음", "timed out after {} ms", ms),
        Gap::Offline { call: Some(call) } => l!(
            lang,
            "{}: offline 모드, AWS 호출 안 함",
            "{}: offline mode, no AWS call made",
            call
        ),
        Gap::Offline { call: None } => l!(
            lang,
            "offline 모드, AWS 호출 안 함",
            "offline mode, no AWS call made"
        ),
        Gap::NotGathered => l!(lang, "수집하지 않음", "not gathered"),
        Gap::NotReadYet => l!(lang, "아직 읽지 않음", "not read yet"),
        Gap::NotNeeded => l!(lang, "필요 없음", "not needed"),
        Gap::NoInstance => l!(lang, "알람에 인스턴스 없음", "the alarm names no instance"),
        Gap::NoSuchInstance => l!(lang, "인스턴스가 존재하지 않음", "the instance does not exist"),
        Gap::NotFound => l!(lang, "인스턴스를 찾지 못함", "the instance was not found"),
        Gap::Unreturned { field } => l!(
            lang,
            "DescribeInstances 응답에 {} 없음",
            "DescribeInstances did not return {}",
            field
        ),
        Gap::SummaryOnly => l!(
            lang,
            "multi-time-series 알람의 알람 수준 이벤트: 각 contributor가 따로 보고됨",
            "alarm-level event of a multi-time-series alarm: each contributor gets its own report"
        ),
        Gap::NeedsInstance(why) => l!(
            lang,
            "DescribeInstances 결과가 필요하지만 사용 불가 ({})",
            "needs DescribeInstances, which was unavailable ({})",
            reason(why, lang)
        ),
        Gap::NoMetric => l!(
            lang,
            "차트로 그릴 메트릭 없음 (composite 알람)",
            "the alarm has no metric to chart (composite alarm)"
        ),
        Gap::FleetNotCharted => l!(
            lang,
            "플릿 알람의 시계열은 인스턴스별로 그리는데, 순위에 오른 인스턴스가 없음",
            "a fleet alarm's series is charted per instance, and no instance was ranked"
        ),
        Gap::NoLedger => l!(
            lang,
            "ledger 테이블 설정 없음 (EC2OPS_LEDGER_TABLE)",
            "no ledger table configured (EC2OPS_LEDGER_TABLE)"
        ),
        Gap::HeartbeatNoLedger => l!(
            lang,
            "heartbeat는 ledger를 읽지 않음",
            "the heartbeat does not read the ledger"
        ),
        Gap::Unclaimed(e) => l!(
            lang,
            "incident를 claim하지 못함: {}",
            "the incident could not be claimed: {}",
            reason(e, lang)
        ),
        Gap::NotReread(e) => l!(
            lang,
            "안정화 대기 후 AZ의 장애 목록을 다시 읽지 못함: {}",
            "the AZ's impairments could not be re-read after the settle delay: {}",
            reason(e, lang)
        ),
        Gap::NoDatapoints { metric } => l!(
            lang,
            "창 안에 {} 데이터포인트가 있는 인스턴스 없음",
            "no instance has {} datapoints in the window",
            metric
        ),
        Gap::CannotRank => l!(
            lang,
            "이 메트릭 reader는 플릿 순위를 매길 수 없음",
            "this metric reader cannot rank a fleet"
        ),
        Gap::Unrankable(why) => unrankable(why, lang),
        Gap::ApprovalsNeedLedger => l!(
            lang,
            "승인에는 ledger 테이블(EC2OPS_LEDGER_TABLE)이 필요함",
            "approvals need the ledger table (EC2OPS_LEDGER_TABLE)"
        ),
        Gap::NotProposable => l!(
            lang,
            "이 종류의 incident는 승인 요청 대상이 아님 (다시 확인할 이벤트가 없음)",
            "this kind of incident is not proposed for approval (it has no event to check again)"
        ),
        Gap::NoNonce(e) => l!(
            lang,
            "무작위 nonce를 만들지 못함: {}",
            "no random nonce could be drawn: {}",
            e
        ),
        Gap::ProposalNotRecorded(e) => l!(
            lang,
            "승인 요청을 기록하지 못함: {}",
            "the proposal could not be recorded: {}",
            reason(e, lang)
        ),
        Gap::UnknownIfActed(e) => l!(
            lang,
            "중단된 이전 전달이 조치했는지 읽지 못함 ({}); 이후 전달이 맞춤",
            "whether an interrupted earlier delivery acted could not be read ({}); a later delivery reconciles it",
            reason(e, lang)
        ),
        Gap::Each(each) => each
            .iter()
            .map(|(what, why)| format!("{what}: {}", reason(why, lang)))
            .collect::<Vec<_>>()
            .join("; "),
    }
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
                why: Gap::Offline {
                    call: Some("ec2 DescribeInstances".into()),
                },
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
    fn every_gap_is_said_in_english_as_its_display_and_in_korean_apart() {
        let failed =
            Gap::Failed("ec2 DescribeInstances: ThrottlingException: Rate exceeded".into());
        let gaps = [
            failed.clone(),
            Gap::TimedOut { ms: 3000 },
            Gap::Offline {
                call: Some("ec2 DescribeInstances".into()),
            },
            Gap::NotGathered,
            Gap::NotReadYet,
            Gap::NotNeeded,
            Gap::NoInstance,
            Gap::NoSuchInstance,
            Gap::NotFound,
            Gap::Unreturned {
                field: "Placement.Tenancy".into(),
            },
            Gap::SummaryOnly,
            Gap::NeedsInstance(Box::new(Gap::TimedOut { ms: 3000 })),
            Gap::NoMetric,
            Gap::FleetNotCharted,
            Gap::NoLedger,
            Gap::HeartbeatNoLedger,
            Gap::Unclaimed(Box::new(Gap::Failed("dynamodb PutItem: boom".into()))),
            Gap::NotReread(Box::new(Gap::TimedOut { ms: 3000 })),
            Gap::NoDatapoints {
                metric: "CPUUtilization".into(),
            },
            Gap::CannotRank,
            Gap::ApprovalsNeedLedger,
            Gap::NotProposable,
            Gap::NoNonce("e".into()),
            Gap::ProposalNotRecorded(Box::new(Gap::NoLedger)),
            Gap::UnknownIfActed(Box::new(Gap::TimedOut { ms: 1 })),
            Gap::Unrankable(Unrankable::NotFleet),
            Gap::Unrankable(Unrankable::QueryUnread("expected FROM".into())),
            Gap::Each(vec![
                ("Metrics Insights".into(), Gap::CannotRank),
                ("ListMetrics".into(), failed),
            ]),
        ];
        for g in &gaps {
            assert_eq!(reason(g, Language::En), g.to_string());
            let quoted = matches!(g, Gap::Failed(_));
            assert_eq!(
                reason(g, Language::Ko) == g.to_string(),
                quoted,
                "{g:?}: only AWS's words are kept whole as written"
            );
        }
    }

    #[test]
    fn an_english_report_keeps_the_domain_s_words() {
        let offline = Gap::Offline {
            call: Some("ec2 DescribeInstances".into()),
        };
        assert_eq!(
            reason(&offline, Language::En),
            "ec2 DescribeInstances: offline mode, no AWS call made"
        );
        assert_eq!(offline.to_string(), reason(&offline, Language::En));
        assert_eq!(
            reason(&offline, Language::Ko),
            "ec2 DescribeInstances: offline 모드, AWS 호출 안 함"
        );
    }
}
