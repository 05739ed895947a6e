//! Section 💰 Cost impact: the billing effect of the recommended remedy and of right-sizing, from the instance's type
//! and the price table.

use crate::analyze::RuleId;
use crate::config::Language;
use crate::credits;
use crate::facts::Role;
use crate::model::AlarmState;
use crate::pricing::{self, HOURS_PER_MONTH};

use super::text::{number, usd, Line};
use super::{phrasebook, section, steps, Ctx, Part, Section};
use crate::analyze::Remedy;

/// A price difference with its sign.
pub(super) fn signed_usd(d: f64) -> String {
    if d < 0.0 {
        format!("-{}", usd(-d))
    } else {
        format!("+{}", usd(d))
    }
}

pub(super) fn monthly(usd_per_hour: f64) -> f64 {
    usd_per_hour * HOURS_PER_MONTH
}

/// The CPU the instance asked for: the last value, or — held to its baseline, where the last value is the ceiling,
/// not the demand — the median of the minutes when it still had credits to spend. `(percent, held)`.
fn demand(window: &crate::facts::MetricWindow, baseline: f64) -> Option<(f64, bool)> {
    let cpu = window.get(Role::Cpu)?;
    let (_, last) = cpu.last()?;
    let balance = window.get(Role::CpuCredits);
    let spent = balance
        .and_then(|b| b.last())
        .is_some_and(|(_, v)| v <= 1.0);
    if !(spent && last <= baseline + 1.0) {
        return Some((last, false));
    }
    let credited: std::collections::BTreeMap<_, _> = balance
        .map(|b| b.points.iter().copied().collect())
        .unwrap_or_default();
    let mut before: Vec<f64> = cpu
        .points
        .iter()
        .filter(|(at, _)| credited.get(at).is_some_and(|v| *v > 1.0))
        .map(|(_, v)| *v)
        .collect();
    before.sort_by(f64::total_cmp);
    let median = before.get(before.len() / 2).copied();
    Some((median.filter(|m| *m > baseline).unwrap_or(last), true))
}

/// The credit budget at the observed demand: what the instance spends and earns, the hours of burst left, and what
/// unlimited mode costs at that load (and at most, at 100 %) — the earned credits deducted.
fn credit_lines(cx: &Ctx<'_>, instance_type: &str, p: &pricing::TypePrice) -> Vec<Line> {
    let lang = cx.lang;
    let Some(window) = cx.facts.metrics.get() else {
        return Vec::new();
    };
    let balance = window
        .get(Role::CpuCredits)
        .and_then(|s| s.last())
        .map(|(_, v)| v);
    let baseline =
        pricing::burstable_baseline(instance_type).map_or(0.0, |b| b.baseline_cpu_percent);
    let Some((load, held)) = demand(window, baseline) else {
        return Vec::new();
    };
    let Some(b) = credits::budget(instance_type, p, load, balance) else {
        return Vec::new();
    };
    let left = match b.hours_to_empty {
        _ if held => l!(
            lang,
            "burst 남은 시간 0: 잔액이 바닥나 baseline {}%에 묶임",
            "0 h of burst left: the balance is spent and it is held to its {}% baseline",
            number(b.baseline_percent)
        ),
        Some(h) => l!(
            lang,
            "burst 남은 시간 약 {}시간 (잔액 {})",
            "about {} h of burst left (balance {})",
            number((h * 10.0).round() / 10.0),
            number(balance.unwrap_or(0.0))
        ),
        None => l!(
            lang,
            "적립이 사용 이상: burst 남은 시간 제한 없음",
            "it earns at least what it spends: no limit on the hours of burst left"
        ),
    };
    let today = if held {
        l!(
            lang,
            "{}% (throttle 전 수요)",
            "{}% (its demand before the throttle)",
            number(load)
        )
    } else {
        format!("{}%", number(load))
    };
    let mut lines = vec![
        Line::from(l!(
            lang,
            "CPU credit: CPU {}에서 시간당 {} 사용, {} 적립 (vCPU {}개 × baseline {}%) → {}",
            "CPU credits: at CPU {} it spends {}/hour and earns {}/hour ({} vCPU × {}% baseline) → {}",
            today,
            number(b.spent_per_hour),
            number(b.earned_per_hour),
            b.vcpus,
            number(b.baseline_percent),
            left
        )),
        Line::from(l!(
            lang,
            "Unlimited 모드 (오늘 부하 CPU {} 기준): baseline 초과분 약 {}/월 (vCPU-시간당 ${}, Linux, 적립분 차감); 100% 상시 사용 시 최대 약 {}/월",
            "Unlimited mode at today's load (CPU {}): about {}/month for the surplus above the baseline (${} per vCPU-hour, Linux, earned credits deducted); at most about {}/month at 100% all month",
            format!("{}%", number(load)),
            usd(b.surplus_usd_per_month),
            credits::SURPLUS_USD_PER_VCPU_HOUR,
            usd(b.full_load_usd_per_month)
        )),
    ];
    lines.extend(steady_line(cx, instance_type, p));
    lines
}

/// The non-burstable alternative, against unlimited mode: the CPU up to which unlimited stays the cheaper of the two.
fn steady_line(cx: &Ctx<'_>, instance_type: &str, p: &pricing::TypePrice) -> Option<Line> {
    let lang = cx.lang;
    let (alt, q) = pricing::steady_alternative(&cx.region, instance_type)?;
    let baseline = pricing::burstable_baseline(instance_type)?.baseline_cpu_percent;
    let diff = monthly(q.usd_per_hour - p.usd_per_hour);
    // Unlimited's surplus grows linearly above the baseline: vCPUs × (cpu − baseline) % × $/vCPU-hour × hours.
    let per_point =
        f64::from(p.vcpus) / 100.0 * credits::SURPLUS_USD_PER_VCPU_HOUR * HOURS_PER_MONTH;
    let even = baseline + diff / per_point;
    let verdict = if even >= 100.0 {
        l!(
            lang,
            "100%까지도 unlimited가 더 저렴",
            "unlimited stays cheaper even at 100%"
        )
    } else {
        l!(
            lang,
            "평균 CPU {}% 이상이면 {}가 더 저렴",
            "above an average {}% CPU {} is cheaper",
            number(even.round()),
            alt
        )
    };
    Some(Line::from(l!(
        lang,
        "비교: burstable이 아닌 {} ({} vCPU) {}/시간 (차이 {}/월) — {}",
        "Compare: the non-burstable {} ({} vCPU) is {}/hour ({}/month difference) — {}",
        alt,
        q.vcpus,
        usd(q.usd_per_hour),
        signed_usd(diff),
        verdict
    )))
}

/// A scale-up, priced and sized from the CPU the window saw: what the load would be on the larger type.
fn scale_up_line(cx: &Ctx<'_>, instance_type: &str, p: &pricing::TypePrice) -> Option<Line> {
    let lang = cx.lang;
    let (up, q) = credits::next_with_more_cpu(&cx.region, instance_type)?;
    let peak = cx.facts.metrics.get()?.get(Role::Cpu)?.max()?;
    let d = q.usd_per_hour - p.usd_per_hour;
    let on_up = peak * f64::from(p.vcpus) / f64::from(q.vcpus.max(1));
    Some(Line::from(l!(
        lang,
        "Scale up {} → {}: {}/시간 (+{}/시간, +{}/월) — 오늘 최고 {}%의 부하는 약 {}% ({} 기준)",
        "Scale up {} → {}: {}/hour (+{}/hour, +{}/month) — at today's peak of {}% it would run at about {}% on {}",
        instance_type,
        up,
        usd(q.usd_per_hour),
        usd(d),
        usd(monthly(d)),
        number(peak),
        number(on_up.round()),
        up
    )))
}

pub(super) fn cost(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = Vec::new();
    let Some(i) = cx.instance else {
        let why = cx
            .facts
            .instance
            .reason()
            .map(|why| phrasebook::reason(why, lang))
            .unwrap_or_else(|| l!(lang, "인스턴스를 특정할 수 없음", "no instance to price"));
        lines.push(Line::from(l!(
            lang,
            "인스턴스 비용: 조회 불가 ({})",
            "Instance cost: unavailable: {}",
            why
        )));
        return section(Part::Cost, lang, lines);
    };
    let price = pricing::instance_price(&cx.region, &i.instance_type);
    match price {
        Some(p) => lines.push(Line::from(l!(
            lang,
            "{} On-Demand: {}/시간 ≈ {}/월 (Linux 정가)",
            "{} On-Demand: {}/hour ≈ {}/month (Linux list price)",
            i.instance_type,
            usd(p.usd_per_hour),
            usd(monthly(p.usd_per_hour))
        ))),
        None => lines.push(Line::from(l!(
            lang,
            "{} ({}): 가격표에 없음 — https://aws.amazon.com/ec2/pricing/on-demand/ 참고",
            "{} ({}): not in the price table — see https://aws.amazon.com/ec2/pricing/on-demand/",
            i.instance_type,
            cx.region
        ))),
    }
    let ebs_text = ebs_text(cx);
    lines.push(Line::from(remedy_effect(cx, &ebs_text)));
    if let Some(p) = price {
        // Only the recommended action is priced: a spike recommends no bigger type.
        if cx.recommended == Remedy::Resize && cx.a.has(RuleId::CpuSustained) {
            lines.extend(scale_up_line(cx, &i.instance_type, &p));
        }
        if cx.a.has(RuleId::CpuCredits) {
            lines.extend(credit_lines(cx, &i.instance_type, &p));
        }
        if cx.change.state.value == AlarmState::Ok {
            lines.push(Line::from(l!(
                lang,
                "복구됨: 비용 변화 없음",
                "Recovered: no change in cost"
            )));
        }
    }
    section(Part::Cost, lang, lines)
}

/// What the attached volumes cost a month: billed whether the instance runs or not.
fn ebs_text(cx: &Ctx<'_>) -> String {
    let lang = cx.lang;
    let ebs: Option<(i32, f64)> = cx.facts.volumes.get().map(|vols| {
        vols.iter().fold((0, 0.0), |(gib, usd_m), v| {
            let p = pricing::ebs_price(&cx.region, &v.volume_type).unwrap_or(0.0);
            (gib + v.size_gib, usd_m + p * v.size_gib as f64)
        })
    });
    match ebs {
        Some((gib, m)) => l!(
            lang,
            "EBS {} GiB ≈ {}/월",
            "EBS {} GiB ≈ {}/month",
            gib,
            usd(m)
        ),
        None => l!(lang, "EBS 비용 조회 불가", "EBS cost unavailable"),
    }
}

/// The billing effect of the recommended remedy; `ebs_text` is what the volumes cost, billed even while stopped.
fn remedy_effect(cx: &Ctx<'_>, ebs_text: &str) -> String {
    let lang = cx.lang;
    match cx.recommended {
        Remedy::Reboot => l!(
            lang,
            "권장 조치 reboot: 과금 기간이 유지되어 추가 비용 없음",
            "Recommended reboot: the billing period continues — no extra cost"
        ),
        Remedy::StopStart => l!(
            lang,
            "권장 조치 stop/start: start 시 새 과금 기간 시작(초 단위, 최소 60초); 중지 중에도 {} 과금",
            "Recommended stop/start: start begins a new billing period (per second, 60 s minimum); while stopped you still pay for {}",
            ebs_text
        ),
        Remedy::AwsRecovers => l!(
            lang,
            "권장 조치 AWS 자동 복구 대기: 추가 비용 없음; {}분 후에도 복구되지 않아 직접 stop/start하면 start 시 새 과금 기간 시작, 중지 중에도 {} 과금",
            "Recommended wait for AWS's recovery: no extra cost; a stop/start of your own, if it has not recovered after {} minutes, begins a new billing period at the start, and {} is still billed while stopped",
            steps::AWS_RECOVERY_GRACE_MINUTES,
            ebs_text
        ),
        Remedy::Replace => l!(
            lang,
            "권장 조치 Auto Scaling 교체: 새 인스턴스가 새 과금 기간으로 시작되고 장애 인스턴스는 종료 시 과금 중단",
            "Recommended replacement by the Auto Scaling group: the new instance starts its own billing; the failed one stops billing once terminated"
        ),
        Remedy::Wait if cx.a.has(RuleId::EbsCheck) => l!(
            lang,
            "권장 조치 대기: 추가 비용 없음; 제때 ok가 아니면 stop/start는 start 시 새 과금 기간 시작, snapshot에서 복원한 볼륨은 새 볼륨으로 과금 ({})",
            "Recommended wait: no extra cost; the stop/start, if it comes to that, begins a new billing period at the start; a volume restored from a snapshot is billed as a new volume ({})",
            ebs_text
        ),
        Remedy::Wait => l!(
            lang,
            "권장 조치 대기/볼륨 교체: 교체 시 새 볼륨과 snapshot 복원 비용 발생 ({})",
            "Recommended wait or volume replacement: a replacement adds a new volume and snapshot restore ({})",
            ebs_text
        ),
        // Exhausted credits: 🔧's first step is unlimited mode, which needs no stop.
        Remedy::Resize if cx.a.has(RuleId::CpuCredits) && !cx.a.has(RuleId::CpuSustained) => l!(
            lang,
            "권장 조치 unlimited 모드: stop/start 없이 즉시 throttle 해제, baseline 초과분만 과금 (아래)",
            "Recommended unlimited mode: no stop/start, the throttle lifts at once; only the CPU above the baseline is billed (below)"
        ),
        Remedy::Resize => l!(
            lang,
            "타입 변경은 stop/start가 필요: 새 과금 기간 시작, 중지 중 {} 과금",
            "Changing the type needs a stop/start: a new billing period starts; while stopped you pay for {}",
            ebs_text
        ),
        Remedy::Investigate => l!(
            lang,
            "조사 단계는 비용 없음 (SSM Run Command 무료)",
            "Investigating costs nothing (Run Command is free)"
        ),
        Remedy::Nothing if cx.a.has(RuleId::Gone) || cx.a.has(RuleId::Stopped) => l!(
            lang,
            "중지된 인스턴스는 시간당 요금이 없지만 {} 계속 과금",
            "A stopped instance has no hourly charge, but {} is still billed",
            ebs_text
        ),
        Remedy::Nothing => l!(
            lang,
            "조치 없음: 추가 비용 없음 ({})",
            "No action: no extra cost ({})",
            ebs_text
        ),
    }
}
