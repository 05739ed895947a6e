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

/// The credit budget at the CPU the window last saw: what the instance spends and earns, how long its balance lasts,
/// and what unlimited mode would cost at that load and at full load — the earned credits deducted.
fn credit_lines(cx: &Ctx<'_>, instance_type: &str, p: &pricing::TypePrice) -> Vec<Line> {
    let lang = cx.lang;
    let window = cx.facts.metrics.get();
    let last = |role| {
        window
            .and_then(|w| w.get(role))
            .and_then(|s| s.last())
            .map(|(_, v)| v)
    };
    let (Some(cpu), balance) = (last(Role::Cpu), last(Role::CpuCredits)) else {
        return Vec::new();
    };
    let Some(b) = credits::budget(instance_type, p, cpu, balance) else {
        return Vec::new();
    };
    // Held to the baseline, the CPU it shows is the ceiling, not the demand.
    let held = balance.is_some_and(|v| v <= 1.0) && cpu <= b.baseline_percent + 1.0;
    let lasts = match b.hours_to_empty {
        _ if held => l!(
            lang,
            "잔액 소진: baseline에 묶여 적립분만큼만 사용 가능",
            "the balance is spent: held to the baseline, it can spend only what it earns"
        ),
        Some(h) => l!(
            lang,
            "잔액 {}은 약 {}시간 후 소진",
            "the balance of {} runs out in about {} h",
            number(balance.unwrap_or(0.0)),
            number((h * 10.0).round() / 10.0)
        ),
        None => l!(
            lang,
            "적립이 사용 이상이라 잔액이 줄지 않음",
            "it earns at least what it spends"
        ),
    };
    let unlimited = if held {
        l!(
            lang,
            "Unlimited 모드: baseline 초과분 vCPU-시간당 ${} (Linux) — 100% 상시 사용 시 최대 약 {}/월 (적립분 차감); baseline에 묶인 동안은 실제 수요를 알 수 없음",
            "Unlimited mode: ${} per surplus vCPU-hour (Linux) — at most about {}/month at 100% all month (earned credits deducted); the real demand is hidden while it is held to the baseline",
            credits::SURPLUS_USD_PER_VCPU_HOUR,
            usd(b.full_load_usd_per_month)
        )
    } else {
        l!(
            lang,
            "Unlimited 모드: baseline 초과분 vCPU-시간당 ${} (Linux) — 현재 부하 {}%면 약 {}/월, 100% 상시 사용 시 약 {}/월 (적립분 차감)",
            "Unlimited mode: ${} per surplus vCPU-hour (Linux) — about {}/month at the current {}%, about {}/month at 100% all month (earned credits deducted)",
            credits::SURPLUS_USD_PER_VCPU_HOUR,
            usd(b.surplus_usd_per_month),
            number(cpu),
            usd(b.full_load_usd_per_month)
        )
    };
    vec![
        Line::from(l!(
            lang,
            "CPU credit: CPU {}%에서 시간당 {} 사용, {} 적립 (vCPU {}개 × baseline {}%) → {}",
            "CPU credits: at {}% CPU it spends {}/hour and earns {}/hour ({} vCPU × {}% baseline) → {}",
            number(cpu),
            number(b.spent_per_hour),
            number(b.earned_per_hour),
            b.vcpus,
            number(b.baseline_percent),
            lasts
        )),
        Line::from(unlimited),
    ]
}

pub(super) fn cost(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = Vec::new();
    let Some(i) = cx.instance else {
        let why = cx
            .facts
            .instance
            .reason()
            .map(str::to_string)
            .unwrap_or_else(|| l!(lang, "인스턴스를 특정할 수 없음", "no instance to price"));
        lines.push(Line::from(l!(
            lang,
            "인스턴스 비용: 조회 불가 ({})",
            "Instance cost: unavailable: {}",
            phrasebook::reason(&why, lang)
        )));
        return section(Part::Cost, lang, lines);
    };
    let price = pricing::instance_price(&cx.region, &i.instance_type);
    match price {
        Some(p) => lines.push(Line::from(l!(
            lang,
            "{} ({}) On-Demand: {}/시간 ≈ {}/월 (Linux 기준 추정치, 가격표 기준)",
            "{} ({}) On-Demand: {}/hour ≈ {}/month (Linux, estimate from the bundled price table)",
            i.instance_type,
            cx.region,
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
        if cx.a.has(RuleId::CpuSustained) || cx.a.has(RuleId::CpuSpike) {
            if let Some((up, q)) = credits::next_with_more_cpu(&cx.region, &i.instance_type) {
                let d = q.usd_per_hour - p.usd_per_hour;
                lines.push(Line::from(l!(
                    lang,
                    "Scale up {} → {}: {}/시간 (+{}/시간, +{}/월)",
                    "Scale up {} → {}: {}/hour (+{}/hour, +{}/month)",
                    i.instance_type,
                    up,
                    usd(q.usd_per_hour),
                    usd(d),
                    usd(monthly(d))
                )));
            }
        }
        if cx.a.has(RuleId::CpuCredits) {
            lines.extend(credit_lines(cx, &i.instance_type, &p));
            if let Some((alt, q)) = pricing::steady_alternative(&cx.region, &i.instance_type) {
                lines.push(Line::from(l!(
                    lang,
                    "비교: burstable이 아닌 {} ({} vCPU) {}/시간 (차이 {}/월)",
                    "Compare: the non-burstable {} ({} vCPU) is {}/hour ({}/month difference)",
                    alt,
                    q.vcpus,
                    usd(q.usd_per_hour),
                    signed_usd(monthly(q.usd_per_hour - p.usd_per_hour))
                )));
            }
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
        Remedy::Resize => l!(
            lang,
            "타입 변경은 stop/start가 필요: 새 과금 기간 시작, 중지 중 {} 과금",
            "Changing the type needs a stop/start: a new billing period starts; while stopped you pay for {}",
            ebs_text
        ),
        Remedy::Investigate => l!(
            lang,
            "조사 단계는 비용 없음 (SSM Run Command 무료)",
            "Investigation costs nothing (SSM Run Command is free)"
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
