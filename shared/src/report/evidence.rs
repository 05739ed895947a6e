//! Evidence lines in the report's language. The analysis hands over what it read as data ([`Observation`]: an
//! instant, a metric of the catalogue, what the account wrote); here each is phrased once, its time in the report's
//! zone (the configured zone in Korean reports, UTC in English ones).

use chrono_tz::Tz;

use crate::analyze::Observation;
use crate::catalogue;
use crate::config::Language;
use crate::diagnostics::{CpuSample, Process};

use super::phrasebook;
use super::text::{bit_rate, hm, value};

/// Most characters of a command line an evidence line quotes.
const COMMAND_CHARS: usize = 80;

/// A finding's evidence lines, without their bullets: a run of datapoints of one series a period apart is one line
/// (`03:01–03:06 UTC CPUUtilization 88.10% → 91.20% → …`), anything else one line each, but for what the finding's
/// own line already says (the CPU rise and the level before it).
pub fn lines(evidence: &[Observation], tz: Tz, lang: Language, period_secs: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(first) = evidence.get(at) {
        // The finding's own line states when the CPU rose and its usual level before: not said twice.
        // A check's latest datapoint is among the alarm's evaluated ones, said on their line.
        let evaluated = |m: &str| {
            evidence.iter().any(
                |o| matches!(o, Observation::AlarmDatapoints { metric, failed, .. } if *metric == m && *failed > 0),
            )
        };
        let said = match first {
            Observation::CpuRise { .. } | Observation::MedianBeforeRise { .. } => true,
            Observation::CheckDatapoint { metric, .. } => evaluated(metric),
            _ => false,
        };
        if said {
            at += 1;
            continue;
        }
        let run = series_run(&evidence[at..], period_secs);
        if run < 2 {
            out.push(line(first, tz, lang, period_secs));
            at += 1;
            continue;
        }
        let points = &evidence[at..at + run];
        let (
            Some(Observation::Datapoint {
                at: start,
                metric,
                dimension,
                ..
            }),
            Some(Observation::Datapoint { at: end, .. }),
        ) = (points.first(), points.last())
        else {
            at += run;
            continue;
        };
        let values: Vec<String> = points
            .iter()
            .filter_map(|o| match o {
                Observation::Datapoint { value: v, .. } => Some(shown(metric, *v, period_secs)),
                _ => None,
            })
            .collect();
        let dimension = dimension
            .as_deref()
            .map(|d| format!(" {d}"))
            .unwrap_or_default();
        out.push(format!(
            "{} {metric}{dimension} {}",
            super::text::span(*start, *end, tz, lang),
            values.join(" → ")
        ));
        at += run;
    }
    out
}

/// How many observations from the first are datapoints of the same series, each one period after the one before.
fn series_run(obs: &[Observation], period_secs: u64) -> usize {
    let step = i64::try_from(period_secs).unwrap_or(i64::MAX);
    let mut run = 0;
    let mut before: Option<(&chrono::DateTime<chrono::Utc>, &str, &Option<String>)> = None;
    for o in obs {
        let Observation::Datapoint {
            at,
            metric,
            dimension,
            ..
        } = o
        else {
            break;
        };
        if let Some((t, m, d)) = before {
            if *m != **metric || d != dimension || (*at - *t).num_seconds() != step {
                break;
            }
        }
        before = Some((at, metric, dimension));
        run += 1;
    }
    run
}

/// A datapoint's value with its unit: network bytes (a `Sum` over the period) as a rate.
fn shown(metric: &str, v: f64, period_secs: u64) -> String {
    if matches!(metric, catalogue::NETWORK_IN | catalogue::NETWORK_OUT) {
        bit_rate(v, period_secs)
    } else {
        value(v, catalogue::unit_of(metric))
    }
}

/// One evidence line, without its bullet; `period_secs` is the metric window's (network bytes are a `Sum` over it).
// Stays long: one arm per kind of observation, each a Korean/English pair.
pub fn line(o: &Observation, tz: Tz, lang: Language, period_secs: u64) -> String {
    match o {
        Observation::Datapoint {
            at,
            metric,
            dimension,
            value: v,
        } => {
            let dimension = dimension
                .as_deref()
                .map(|d| format!(" {d}"))
                .unwrap_or_default();
            format!(
                "{} {metric}{dimension} {}",
                hm(*at, tz, lang),
                shown(metric, *v, period_secs)
            )
        }
        Observation::CheckDatapoint {
            at,
            metric,
            value: v,
        } => format!("{} {metric} = {v}", hm(*at, tz, lang)),
        Observation::AlarmDatapoints {
            metric,
            namespace,
            failed,
            evaluated,
        } => {
            let namespace = namespace
                .as_deref()
                .map(|ns| {
                    l!(
                        lang,
                        " (namespace {}, {} 아님)",
                        " (namespace {}, not {})",
                        ns,
                        catalogue::EC2
                    )
                })
                .unwrap_or_default();
            l!(
                lang,
                "알람 {}{}: {}/{} 평가 datapoint = 1",
                "alarm {}{}: {}/{} evaluated datapoints = 1",
                metric,
                namespace,
                failed,
                evaluated
            )
        }
        Observation::AlarmWithoutDatapoints { metric } => l!(
            lang,
            "알람 {} ALARM 상태, 이벤트에 평가 datapoint 없음",
            "alarm {} in ALARM; the event carries no evaluated datapoints",
            metric
        ),
        Observation::CombinedCheckFailed => l!(
            lang,
            "알람 {} (결합 메트릭) = 1, 어느 검사인지 불명",
            "alarm {} (combined) = 1; the failing check is not identified",
            catalogue::STATUS_CHECK_FAILED
        ),
        Observation::SweepListed { metric } => l!(
            lang,
            "ec2ops sweep: DescribeInstanceStatus가 impaired로 보고: {} impaired",
            "ec2ops sweep: DescribeInstanceStatus listed {} impaired",
            metric
        ),
        Observation::CheckImpaired { metric } => l!(
            lang,
            "DescribeInstanceStatus: {} check impaired 상태",
            "DescribeInstanceStatus: {} check impaired",
            metric
        ),
        Observation::CheckNotImpaired { metric, state } => {
            let state = state
                .clone()
                .unwrap_or_else(|| l!(lang, "보고 없음", "not reported"));
            l!(
                lang,
                "DescribeInstanceStatus: {} check {} (현재 impaired 아님)",
                "DescribeInstanceStatus: {} check {} now (not impaired)",
                metric,
                state
            )
        }
        Observation::AzImpaired { instances, az } => l!(
            lang,
            "{}대 인스턴스 상태 확인 실패, AZ {}, 10분 이내",
            "{} instances with failed status checks in {} within 10 minutes",
            instances,
            az
        ),
        Observation::AlsoImpaired { instance } => {
            l!(lang, "같이 impaired: {}", "also impaired: {}", instance)
        }
        Observation::HealthEvent { code, category } => format!("AWS Health {code} ({category})"),
        Observation::InstanceNotFound => "DescribeInstances: InvalidInstanceID.NotFound".into(),
        Observation::InstanceState { state } => format!("DescribeInstances: State.Name = {state}"),
        Observation::StateChangeNotice { state } => {
            format!("EC2 Instance State-change Notification: {state}")
        }
        // EC2's message repeats the code ("Server.InternalError: Internal error on launch"): what the code means in
        // the report's language, then EC2's text once.
        Observation::StateReason { code, message } => {
            super::quoted::state_reason(code.as_deref(), message.as_deref(), lang, tz)
                .unwrap_or_else(|| {
                    l!(
                        lang,
                        "EC2가 상태 사유를 알려주지 않음",
                        "EC2 gives no state reason"
                    )
                })
        }
        Observation::StateReasonUnread { why } => l!(
            lang,
            "DescribeInstances 조회 불가 ({}): 사유 알 수 없음",
            "DescribeInstances unavailable ({}): reason unknown",
            phrasebook::reason(why, lang)
        ),
        Observation::MedianBeforeRise { percent } => l!(
            lang,
            "상승 전 window 중앙값 {:.2}%",
            "window median before the rise {:.2}%",
            percent
        ),
        Observation::NetworkInSurge { at, bytes, factor } => l!(
            lang,
            "{} {} {} (window 중앙값의 {:.0}배)",
            "{} {} {} (x{:.0} the window median)",
            hm(*at, tz, lang),
            catalogue::NETWORK_IN,
            bit_rate(*bytes, period_secs),
            factor
        ),
        Observation::CpuRise { at } => {
            l!(
                lang,
                "{} CPU 상승 시작",
                "{} CPU rise begins",
                hm(*at, tz, lang)
            )
        }
        Observation::NetworkOutMedian { bytes, factor } => l!(
            lang,
            "{} 최근 5분 중앙값 {} (이전의 {:.0}배)",
            "{} median of the last 5 min {} (x{:.0} before)",
            catalogue::NETWORK_OUT,
            bit_rate(*bytes, period_secs),
            factor
        ),
        Observation::WorldOpenPorts { ports } => l!(
            lang,
            "전체 공개 관리 포트: {:?}",
            "world-open admin ports: {:?}",
            ports
        ),
        Observation::AlsoFound { rule } => rule.code().to_string(),
        // The process's whole line is the in-guest list's, in the same section: the evidence names it and its share.
        Observation::TopCpu { process: p, sample } => l!(
            lang,
            "게스트 OS CPU 상위 프로세스: {} (pid {}) CPU {:.1}% {}",
            "in-guest top CPU: {} (pid {}) {:.1}% CPU {}",
            p.program(),
            p.pid,
            p.cpu_percent,
            measure(*sample, lang)
        ),
        Observation::TopMemory { process: p } => l!(
            lang,
            "게스트 OS 메모리 상위 프로세스: {} (pid {}) 메모리 {:.1}%",
            "in-guest top memory: {} (pid {}) {:.1}% memory",
            p.program(),
            p.pid,
            p.mem_percent
        ),
        Observation::OomKill { line } => format!("OOM: {line}"),
        Observation::KernelError { line } => format!("kernel: {line}"),
        Observation::GuestMemory {
            used_mib,
            total_mib,
            percent,
        } => l!(
            lang,
            "게스트 OS 메모리 {} of {} MiB 사용 ({:.1}%)",
            "in-guest memory {} of {} MiB used ({:.1}%)",
            used_mib,
            total_mib,
            percent
        ),
        Observation::GuestDisk(fs) => l!(
            lang,
            "게스트 OS df: {} on {} {}% 사용 ({} MiB 여유)",
            "in-guest df: {} on {} {}% used ({} MiB free)",
            fs.mount,
            fs.device,
            fs.used_percent,
            fs.available_mib
        ),
        Observation::Change(c) => {
            let what = match &c.event.request {
                Some(r) => format!("{} ({r})", c.event.name),
                None => c.event.name.clone(),
            };
            let from = c
                .event
                .from_where()
                .map(|w| format!(" · {w}"))
                .unwrap_or_default();
            format!(
                "{} CloudTrail {what} · {}{from} · event {}",
                hm(c.event.at, tz, lang),
                c.event.who(),
                crate::text::bound(&c.event.id, 64)
            )
        }
        Observation::LogLine(l) => {
            format!("{} log {}: {}", hm(l.at, tz, lang), l.group, l.text)
        }
    }
}

/// A process as one line: `java orders-service.jar (pid 4242, app) 97.3% CPU now (1 s sample), 58.2% memory:
/// <command>`. The program (with the jar or script an interpreter runs) comes first, so a command line cut to fit
/// still says what runs; the CPU figure says what it measures (`sample`): the last second, or, from ps, the average
/// since the process started.
pub fn process(p: &Process, sample: CpuSample, lang: Language) -> String {
    let running = p
        .elapsed_secs
        .map(|s| {
            l!(
                lang,
                ", 실행 시간 {}h {:02}m",
                ", running {}h {:02}m",
                s / 3600,
                (s % 3600) / 60
            )
        })
        .unwrap_or_default();
    let mut command: String = p.command.chars().take(COMMAND_CHARS).collect();
    if p.command.chars().nth(COMMAND_CHARS).is_some() {
        command.push('…');
    }
    let measure = measure(sample, lang);
    l!(
        lang,
        "{} (pid {}, {}) {:.1}% CPU {}, {:.1}% 메모리{}: {}",
        "{} (pid {}, {}) {:.1}% CPU {}, {:.1}% memory{}: {}",
        p.program(),
        p.pid,
        p.user,
        p.cpu_percent,
        measure,
        p.mem_percent,
        running,
        command
    )
}

/// What a CPU figure measures: the last second, or ps's average since the process started.
fn measure(sample: CpuSample, lang: Language) -> String {
    match sample {
        CpuSample::Current => l!(lang, "(현재, 1초 샘플)", "now (1 s sample)"),
        CpuSample::SinceStart => l!(lang, "(프로세스 시작 이후 평균)", "(average since start)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        crate::event::parse_timestamp(s).unwrap()
    }

    #[test]
    fn an_evidence_minute_is_shown_in_the_configured_zone_in_korean_reports() {
        let seoul = chrono_tz::Asia::Seoul;
        let memory = Observation::Datapoint {
            at: at("2025-08-14T03:06:00.000+0000"),
            metric: catalogue::MEM_USED_PERCENT,
            dimension: None,
            value: 94.7,
        };
        assert_eq!(
            line(&memory, seoul, Language::Ko, 60),
            "12:06 KST mem_used_percent 94.70%"
        );
        assert_eq!(
            line(&memory, seoul, Language::En, 60),
            "03:06 UTC mem_used_percent 94.70%"
        );
        // Just before midnight UTC: the instant is the datum, so no day is guessed.
        let rise = Observation::CpuRise {
            at: at("2025-08-13T23:58:00.000+0000"),
        };
        assert_eq!(
            line(&rise, seoul, Language::Ko, 60),
            "08:58 KST CPU 상승 시작"
        );
    }
}
