//! The report's one phrasebook: every phrase a reader sees exists here in Korean and English, Korean first. The
//! report's own sentences are `l!` pairs (a format string per language over the same arguments); the words of the
//! text the domain writes language-neutral — evidence lines, the reasons a source is missing, labels of evidence
//! kinds — are pairs of [`WORDS`], translated on their way into a Korean report. The golden tests read both: no
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
    // Evidence lines of the analysis and in-guest process lines.
    ("상승 전 window 중앙값", "window median before the rise"),
    (
        "NetworkOut 최근 5분 중앙값 ",
        "NetworkOut median of the last 5 min ",
    ),
    ("전체 공개 관리 포트: ", "world-open admin ports: "),
    ("CPU 상승 시작", "CPU rise begins"),
    ("(프로세스 시작 이후 평균)", "(average since start)"),
    ("% CPU (현재, 1초 샘플)", "% CPU now (1 s sample)"),
    ("% 메모리, 실행 시간 ", "% memory, running "),
    ("% 메모리", "% memory"),
    ("게스트 OS top CPU: ", "in-guest top CPU: "),
    ("게스트 OS top memory: ", "in-guest top memory: "),
    ("게스트 OS 메모리 ", "in-guest memory "),
    ("게스트 OS df: ", "in-guest df: "),
    (" MiB 사용 (", " MiB used ("),
    (" MiB 여유)", " MiB free)"),
    ("% 사용 (", "% used ("),
    (" 평가 datapoint = 1", " evaluated datapoints = 1"),
    (
        " ALARM 상태, 이벤트에 평가 datapoint 없음",
        " in ALARM; the event carries no evaluated datapoints",
    ),
    (
        " (결합 메트릭) = 1, 어느 검사인지 불명",
        " (combined) = 1; the failing check is not identified",
    ),
    (
        "대 인스턴스 status check 실패, AZ ",
        " instances with failed status checks in ",
    ),
    (", 10분 이내", " within 10 minutes"),
    ("같이 impaired: ", "also impaired: "),
    (
        "ec2ops sweep: DescribeInstanceStatus가 impaired로 보고: ",
        "ec2ops sweep: DescribeInstanceStatus listed ",
    ),
    (" check impaired 상태", " check impaired"),
    (" (현재 impaired 아님)", " now (not impaired)"),
    ("보고 없음", "not reported"),
    (", AWS/EC2 아님)", ", not AWS/EC2)"),
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

/// The English words of an analysis line in Korean.
pub fn translate(s: &str) -> String {
    let s = match s.strip_prefix("alarm ") {
        Some(rest) => format!("알람 {rest}"),
        None => s.to_string(),
    };
    let s = factors(&s);
    WORDS.iter().fold(s, |acc, (ko, en)| acc.replace(en, ko))
}

/// `(x22 the window median)` → `(window 중앙값의 22배)`, `(x5 before)` → `(이전의 5배)`.
fn factors(s: &str) -> String {
    const OF: [(&str, &str); 2] = [
        ("window 중앙값의 ", " the window median)"),
        ("이전의 ", " before)"),
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
            .find(|(_, en)| digits > 0 && after[digits..].starts_with(en))
        {
            Some((ko, en)) => {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn korean_evidence_keeps_no_english_phrase_of_the_book() {
        let lines = [
            "window median before the rise 4.20%",
            "03:01 NetworkIn 120.00 MB (x30 the window median)",
            "NetworkOut median of the last 5 min 4.0 MB/min (x12 before)",
            "in-guest top CPU: java app.jar (pid 1, app) 97.3% CPU now (1 s sample), 58.2% memory: java",
            "in-guest top memory: java (pid 1, app) 97.3% CPU (average since start), 58.2% memory, running 4h 24m: java",
            "in-guest memory 3500 of 3785 MiB used (92.5%)",
            "in-guest df: / on /dev/nvme0n1p1 95% used (100 MiB free)",
            "alarm StatusCheckFailed_Instance: 2/3 evaluated datapoints = 1",
            "DescribeInstanceStatus: StatusCheckFailed_Instance check ok now (not impaired)",
            "offline mode, no AWS call made",
        ];
        for l in lines {
            let ko = translate(l);
            for (_, en) in WORDS.iter().filter(|(_, en)| en.trim().len() > 4) {
                assert!(!ko.contains(en), "{en:?} left in {ko:?}");
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
