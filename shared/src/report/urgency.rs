//! Section 🚨 Urgency: the priority, the deadline to respond by and each reason for the priority, from the assessment.

use crate::analyze::{Breach, Environment, HealthKind, MemberFired, Pressure, Priority, Reason};
use crate::catalogue;
use crate::config::Language;

use super::text::{hm, sanitize, value, when_in, Line};
use super::{section, Ctx, Part, Section};

pub(super) fn priority_name(p: Priority, lang: Language) -> String {
    match p {
        Priority::P0 => l!(lang, "P0 Critical (긴급)", "P0 Critical"),
        Priority::P1 => l!(lang, "P1 High (높음)", "P1 High"),
        Priority::P2 => l!(lang, "P2 Medium (보통)", "P2 Medium"),
        Priority::P3 => l!(lang, "P3 Low (낮음)", "P3 Low"),
    }
}

// Stays long: one arm per reason for the priority, each a Korean/English phrase pair: split, the phrasebook would scatter.
pub(super) fn reason_line(r: &Reason, cx: &Ctx<'_>) -> String {
    let lang = cx.lang;
    match r {
        Reason::Recovered { minutes: Some(m) } => l!(
            lang,
            "ALARM {}분 만에 OK로 복구됨 (MTTR {}분): 정보성 알림, 같은 thread에서 종료",
            "recovered to OK after {} minutes in ALARM (MTTR {} min): informational, closes the thread",
            m,
            m
        ),
        Reason::Recovered { minutes: None } => l!(lang, "알람이 OK로 복구됨: 정보성 알림", "the alarm recovered to OK: informational"),
        Reason::ServingErrors { group, errors, requests: Some(r), minutes } => l!(
            lang,
            "고객 영향: target group {}가 최근 {}분간 요청 {}건 중 {}건에 5xx 응답",
            "customer impact: target group {} answered {3} of {2} requests with a 5xx in the last {1} minutes",
            crate::text::bound(group, 64),
            minutes,
            r,
            errors
        ),
        Reason::ServingErrors { group, errors, requests: None, minutes } => l!(
            lang,
            "고객 영향: target group {}가 최근 {}분간 5xx {}건 응답",
            "customer impact: target group {} answered with {2} 5xx in the last {1} minutes",
            crate::text::bound(group, 64),
            minutes,
            errors
        ),
        Reason::InsufficientData { after_alarm: true } => l!(
            lang,
            "ALARM 상태에서 데이터가 끊김: 인스턴스 중지·장애 또는 메트릭 수집 중단 가능성",
            "data stopped while the alarm was in ALARM: the instance may be down or has stopped publishing"
        ),
        Reason::InsufficientData { after_alarm: false } => l!(
            lang,
            "평가할 데이터 부족 (INSUFFICIENT_DATA)",
            "not enough data to evaluate the alarm (INSUFFICIENT_DATA)"
        ),
        Reason::Stopped { intended: true } => l!(
            lang,
            "의도된 중지/종료 (API/콘솔 또는 Auto Scaling): 정보성 알림",
            "an intended stop or termination (API/console or Auto Scaling): informational"
        ),
        Reason::Stopped { intended: false } => l!(
            lang,
            "예상치 못한 중지/종료이거나 원인 불명: 서비스 중단 가능",
            "an unexpected or unexplained stop: the service may be down"
        ),
        Reason::Health { kind, hours_left } => {
            let left = hours_left
                .map(|h| l!(lang, ", 기한까지 {}시간", ", {} hours to the deadline", h))
                .unwrap_or_default();
            match kind {
                HealthKind::RecoverySucceeded => l!(lang, "AWS 자동 복구 성공: 정보성 알림", "AWS automatic recovery succeeded: informational"),
                HealthKind::RecoveryFailed => l!(lang, "AWS 자동 복구 실패: 인스턴스가 손상된 상태", "AWS automatic recovery failed: the instance is impaired"),
                _ => l!(lang, "AWS Health 예정 이벤트{}", "AWS Health scheduled event{}", left),
            }
        }
        Reason::SecuritySuspect => l!(
            lang,
            "침해 의심 (지속 CPU + 대량 외부 전송 + 관리 포트 공개): 환경 무관 P1",
            "suspected compromise (sustained CPU + heavy outbound traffic + open admin port): P1 whatever the environment"
        ),
        Reason::ResourcePressure(p) => pressure_line(p, lang),
        Reason::AzEvent => l!(
            lang,
            "같은 AZ에서 여러 인스턴스 동시 장애: AWS 측 이벤트 가능성 (환경 무관 P0)",
            "several instances failed in one AZ at once: probable AWS-side event (P0 whatever the environment)"
        ),
        Reason::Gone => l!(
            lang,
            "인스턴스가 중지/종료되었거나 존재하지 않아 알람의 의미가 없음",
            "the instance is stopped, terminated or gone: the alarm is moot"
        ),
        Reason::StatusCheckFailed { check: Some(check) } => l!(
            lang,
            "상태 확인 실패 ({}): 인스턴스가 서비스 불가 상태일 수 있음",
            "a status check failed ({}): the instance may be unreachable",
            check
        ),
        Reason::StatusCheckFailed { check: None } => l!(
            lang,
            "상태 확인 실패: 인스턴스가 서비스 불가 상태일 수 있음",
            "a status check failed: the instance may be unreachable"
        ),
        Reason::CompositeAlarm { members } => composite_line(members, cx),
        Reason::SustainedBreach(b) => sustained_line(b, lang),
        Reason::SingleBreach { metric, value: Some(v), threshold: Some(t) } => {
            let unit = catalogue::unit_of(metric.as_deref().unwrap_or_default());
            l!(
                lang,
                "단일 datapoint 초과: {} (임계값 {}), 지속성 미확인",
                "single-datapoint breach: {} against a threshold of {}; persistence not shown",
                value(*v, unit),
                value(*t, unit)
            )
        }
        Reason::SingleBreach { .. } => l!(
            lang,
            "단일 datapoint 초과: 지속성 미확인",
            "single-datapoint breach: persistence not shown"
        ),
        Reason::CpuSpike { last, baseline, at } => l!(
            lang,
            "단기 CPU 스파이크: {}에 {} (평소 {}의 {:.0}배)",
            "short CPU spike: {1} at {0}, x{3:.0} the usual {2}",
            hm(*at, cx.tz, lang),
            value(*last, catalogue::Unit::Percent),
            value(*baseline, catalogue::Unit::Percent),
            last / baseline.max(0.01)
        ),
        Reason::CreditsExhausted { balance } => l!(
            lang,
            "CPU credit 고갈 (잔액 {:.1}): baseline으로 throttling",
            "CPU credits exhausted (balance {:.1}): throttled to baseline",
            balance
        ),
        Reason::Production { .. } => l!(lang, "운영 환경", "production"),
        Reason::NonProduction { .. } => l!(lang, "비운영 환경", "non-production"),
        Reason::ProductionAssumedUntagged => l!(
            lang,
            "Environment 태그 없음: 운영 환경으로 간주",
            "no Environment tag: treated as production"
        ),
        Reason::ProductionAssumedUnknownInstance => l!(
            lang,
            "인스턴스 정보 없음: 운영 환경으로 간주",
            "instance not known: treated as production"
        ),
        Reason::FleetWorst {
            instance_id,
            environment: Environment::Untagged,
            ..
        } => l!(
            lang,
            "임계값 초과 인스턴스에 Environment 태그 없음, 운영 환경으로 간주: {}",
            "a breaching instance has no Environment tag, treated as production: {}",
            instance_id
        ),
        Reason::FleetWorst {
            instance_id,
            environment: Environment::Unknown,
            ..
        } => l!(
            lang,
            "임계값 초과 인스턴스 정보 없음, 운영 환경으로 간주: {}",
            "a breaching instance is not known, treated as production: {}",
            instance_id
        ),
        Reason::FleetWorst {
            instance_id,
            environment: Environment::NonProduction(_),
            ..
        } => l!(
            lang,
            "비운영 환경 (조회한 초과 인스턴스 모두): {}",
            "non-production (every breaching instance looked up): {}",
            instance_id
        ),
        Reason::FleetWorst { instance_id, .. } => l!(
            lang,
            "운영 환경 (임계값 초과 인스턴스): {}",
            "production (a breaching instance): {}",
            instance_id
        ),
        Reason::ContributorsInAlarm { count: Some(n) } => l!(
            lang,
            "ALARM 상태 기여자(contributor) {}개 (기여자별 보고서 별도 발송)",
            "contributors in ALARM: {} (each has its own report)",
            n
        ),
        Reason::ContributorsInAlarm { count: None } => l!(
            lang,
            "ALARM 상태 기여자(contributor) 목록 없음 (기여자별 보고서 별도 발송)",
            "contributors in ALARM not listed (each has its own report)"
        ),
    }
}

/// A sustained breach by its size and duration: `sustained: 8 min in a row ≥ 82.40% (peak 96.30%)`, or `3 of the
/// last 5 datapoints (about 3 min) ≥ …` when the breaching datapoints are not all of those evaluated. The threshold
/// is the header's; it is named here only when the run's values are not known.
fn sustained_line(b: &Breach, lang: Language) -> String {
    let unit = catalogue::unit_of(b.metric.as_deref().unwrap_or_default());
    let side = if b.below { "≤" } else { "≥" };
    let run = if b.datapoints == b.of {
        l!(lang, "{}분 연속", "{} min in a row", b.minutes)
    } else {
        l!(
            lang,
            "최근 datapoint {}개 중 {}개 (약 {}분)",
            "{1} of the last {0} datapoints (about {2} min)",
            b.of,
            b.datapoints,
            b.minutes
        )
    };
    let size = match (b.lowest, b.threshold) {
        (Some(v), _) => format!(" {side} {}", value(v, unit)),
        (None, Some(t)) => l!(lang, ", 임계값 {}", ", threshold {}", value(t, unit)),
        (None, None) => String::new(),
    };
    let peak = b
        .peak
        .filter(|p| Some(*p) != b.lowest)
        .map(|v| {
            let word = if b.below {
                l!(lang, "최저", "lowest")
            } else {
                l!(lang, "최고", "peak")
            };
            format!(" ({word} {})", value(v, unit))
        })
        .unwrap_or_default();
    l!(
        lang,
        "지속 초과: {}{}{}",
        "sustained: {}{}{}",
        run,
        size,
        peak
    )
}

/// A composite alarm by its members: the one that went to ALARM first and when, what it watches when DescribeAlarms
/// read it, and the ones that followed.
fn composite_line(members: &[MemberFired], cx: &Ctx<'_>) -> String {
    let lang = cx.lang;
    let Some((first, rest)) = members.split_first() else {
        return l!(
            lang,
            "복합(composite) 알람: 이벤트에 ALARM 상태 멤버 알람 없음 (멤버 알람 직접 확인)",
            "composite alarm: the event names no member alarm in ALARM (check the members)"
        );
    };
    let watches = cx
        .other_alarms()
        .iter()
        .find(|o| o.name == first.name)
        .and_then(|o| o.metric.as_deref())
        .map(|m| l!(lang, ", {} 감시", ", watching {}", sanitize(m, 80)))
        .unwrap_or_default();
    let then = if rest.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = rest
            .iter()
            .map(|m| format!("{} ({})", sanitize(&m.name, 120), hm(m.at, cx.tz, lang)))
            .collect();
        l!(lang, " → 이어서 {}", ", then {}", names.join(", "))
    };
    l!(
        lang,
        "복합(composite) 알람: 먼저 ALARM된 멤버 {} ({}{}){}",
        "composite alarm: member {} went to ALARM first ({}{}){}",
        sanitize(&first.name, 120),
        hm(first.at, cx.tz, lang),
        watches,
        then
    )
}

/// Memory, disk or EBS burst balance at its limit, by its figure.
fn pressure_line(p: &Pressure, lang: Language) -> String {
    let percent = catalogue::Unit::Percent;
    match p {
        Pressure::Memory { percent: v } => l!(
            lang,
            "메모리 한계: {} {}",
            "memory at its limit: {} {}",
            catalogue::MEM_USED_PERCENT,
            value(*v, percent)
        ),
        Pressure::Disk { path, percent: v } => l!(
            lang,
            "디스크 한계: {}{} {}",
            "disk at its limit: {}{} {}",
            catalogue::DISK_USED_PERCENT,
            path.as_deref()
                .map(|p| format!(" {}", sanitize(p, 80)))
                .unwrap_or_default(),
            value(*v, percent)
        ),
        Pressure::Burst { volume, percent: v } => l!(
            lang,
            "EBS I/O 한계: {}{} {}",
            "EBS I/O at its limit: {}{} {}",
            catalogue::BURST_BALANCE,
            volume
                .as_deref()
                .map(|v| format!(" {}", sanitize(v, 40)))
                .unwrap_or_default(),
            value(*v, percent)
        ),
        Pressure::Suspect { .. } => l!(
            lang,
            "메모리/디스크/EBS I/O 한계 도달",
            "memory, disk or EBS I/O at its limit"
        ),
    }
}

pub(super) fn urgency(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let a = cx.a;
    let within = match a.priority {
        Priority::P0 => l!(lang, "15분 이내", "15 minutes"),
        Priority::P1 => l!(lang, "1시간 이내", "1 hour"),
        Priority::P2 => l!(lang, "4시간 이내", "4 hours"),
        Priority::P3 => l!(lang, "24시간 이내", "24 hours"),
    };
    let mut lines = vec![Line::from(l!(
        lang,
        "{} — {} 대응, 기한 {}",
        "{} — respond within {}, by {}",
        priority_name(a.priority, lang),
        within,
        when_in(a.respond_by, cx.tz, cx.lang)
    ))];
    for r in &a.reasons {
        let mut line = Line::from(l!(lang, "근거: {}", "Why: {}", reason_line(r, cx)));
        if let Reason::Production { environment } | Reason::NonProduction { environment } = r {
            line = line.t(" (Environment=").u(environment).t(")");
        }
        if let Reason::FleetWorst {
            name, environment, ..
        } = r
        {
            if let Some(n) = name {
                line = line.t(" (").u(n).t(")");
            }
            if let Environment::Production(e) | Environment::NonProduction(e) = environment {
                line = line.t(" (Environment=").u(e).t(")");
            }
        }
        lines.push(line);
    }
    section(Part::Urgency, lang, lines)
}
