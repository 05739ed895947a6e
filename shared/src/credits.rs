//! CPU capacity and credit arithmetic for right-sizing and for burstable (T2/T3/T3a/T4g) instances — pure, from the
//! bundled tables (`pricing`).
//!
//! A CPU credit is one vCPU at 100 % for one minute. A burstable instance earns `credits_per_hour` (its vCPUs × its
//! baseline per vCPU × 60) and spends `vCPUs × utilisation × 60` credits an hour; when the balance is empty it is
//! held to its baseline (standard mode) or keeps bursting and pays for the surplus (unlimited mode: $0.05 per
//! vCPU-hour on Linux for T2/T3/T3a/T4g). The capacity that matters for sizing is what a type can sustain:
//! `vCPUs × 100 %` for a fixed-performance type, `vCPUs × baseline %` for a burstable one — so t3.small → t3.medium
//! (2 vCPUs at 20 % each, both) adds memory but not one minute of CPU.

use crate::pricing::{self, Baseline, TypePrice, HOURS_PER_MONTH};

/// The surplus-credit charge of unlimited mode on Linux, per vCPU-hour (T2, T3, T3a, T4g).
pub const SURPLUS_USD_PER_VCPU_HOUR: f64 = 0.05;

/// Minutes in an hour: a credit is one vCPU-minute.
const MINUTES: f64 = 60.0;

/// What a type can run all the time, in percent of one vCPU (2 vCPUs at 100 % = 200).
pub fn sustained_capacity(instance_type: &str, p: &TypePrice) -> f64 {
    let per_vcpu =
        pricing::burstable_baseline(instance_type).map_or(100.0, |b| b.baseline_cpu_percent);
    f64::from(p.vcpus) * per_vcpu
}

/// The credit budget of a burstable instance at an observed utilisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CreditBudget {
    pub vcpus: u32,
    /// Baseline per vCPU, percent.
    pub baseline_percent: f64,
    /// Credits earned per hour.
    pub earned_per_hour: f64,
    /// Credits spent per hour at the observed utilisation.
    pub spent_per_hour: f64,
    /// Hours until the balance is empty at this rate; `None` when the instance earns at least what it spends.
    pub hours_to_empty: Option<f64>,
    /// Unlimited mode at the observed utilisation, once the balance is empty: USD per month of surplus credits.
    pub surplus_usd_per_month: f64,
    /// Unlimited mode at 100 % all month: USD per month (the earned credits deducted).
    pub full_load_usd_per_month: f64,
}

/// The credit budget of `instance_type` at `utilisation` percent (the instance's CPUUtilization, 0–100) with
/// `balance` credits left; `None` for a type that is not burstable or not in the tables.
pub fn budget(
    instance_type: &str,
    p: &TypePrice,
    utilisation: f64,
    balance: Option<f64>,
) -> Option<CreditBudget> {
    let b: Baseline = pricing::burstable_baseline(instance_type)?;
    let vcpus = f64::from(p.vcpus);
    let utilisation = utilisation.clamp(0.0, 100.0);
    let spent = vcpus * utilisation / 100.0 * MINUTES;
    let net = spent - b.credits_per_hour;
    let hours_to_empty = (net > 0.0).then(|| balance.unwrap_or(0.0).max(0.0) / net);
    let surplus_vcpu_hours = |spent: f64| (spent - b.credits_per_hour).max(0.0) / MINUTES;
    Some(CreditBudget {
        vcpus: p.vcpus,
        baseline_percent: b.baseline_cpu_percent,
        earned_per_hour: b.credits_per_hour,
        spent_per_hour: spent,
        hours_to_empty,
        surplus_usd_per_month: surplus_vcpu_hours(spent)
            * SURPLUS_USD_PER_VCPU_HOUR
            * HOURS_PER_MONTH,
        full_load_usd_per_month: surplus_vcpu_hours(vcpus * MINUTES)
            * SURPLUS_USD_PER_VCPU_HOUR
            * HOURS_PER_MONTH,
    })
}

/// The cheapest larger size of the family whose sustained capacity covers `load` (percent of one vCPU, e.g. a
/// 2-vCPU instance at 95 % is 190) — and is larger than the current type's, so a step up always adds CPU; `None`
/// when no size of the family does (then the answer is a fixed-performance type or more instances).
pub fn scale_up_for(region: &str, instance_type: &str, load: f64) -> Option<(String, TypePrice)> {
    let current = pricing::instance_price(region, instance_type)?;
    let now = sustained_capacity(instance_type, &current);
    pricing::larger_sizes(region, instance_type)
        .into_iter()
        .filter(|(ty, p)| {
            let cap = sustained_capacity(ty, p);
            cap > now && cap >= load
        })
        .min_by(|(a, pa), (b, pb)| {
            pa.usd_per_hour
                .total_cmp(&pb.usd_per_hour)
                .then_with(|| a.cmp(b))
        })
}

/// The next larger size that adds sustained CPU at all (for a saturated instance whose demand is unknown because it
/// is pinned at its ceiling): `t3.small` → `t3.large`, not `t3.medium`.
pub fn next_with_more_cpu(region: &str, instance_type: &str) -> Option<(String, TypePrice)> {
    scale_up_for(region, instance_type, 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(ty: &str) -> TypePrice {
        pricing::instance_price("us-east-1", ty).unwrap_or(TypePrice {
            usd_per_hour: 0.0,
            vcpus: 0,
            memory_gib: 0.0,
        })
    }

    #[test]
    fn a_step_up_from_t3_small_adds_cpu_so_it_skips_t3_medium() {
        let up = |ty| next_with_more_cpu("us-east-1", ty).map(|(t, _)| t);
        assert_eq!(up("t3.small").as_deref(), Some("t3.large"));
        assert_eq!(up("m5.large").as_deref(), Some("m5.xlarge"));
    }

    #[test]
    fn the_right_size_is_the_cheapest_that_sustains_the_load() {
        // t3.micro at 95 %: 2 vCPUs × 95 = 190 % of a vCPU; t3 baselines: large 2×30=60, xlarge 4×40=160,
        // 2xlarge 8×40=320.
        let ty = scale_up_for("us-east-1", "t3.micro", 190.0).map(|(t, _)| t);
        assert_eq!(ty.as_deref(), Some("t3.2xlarge"));
        assert!(scale_up_for("us-east-1", "t3.micro", 10_000.0).is_none());
    }

    #[test]
    fn a_t3_micro_at_full_load_burns_its_credits_and_pays_for_the_surplus_above_its_baseline() {
        let b = budget("t3.micro", &price("t3.micro"), 100.0, Some(36.0)).unwrap_or_else(|| {
            panic!("t3.micro is burstable");
        });
        // 2 vCPUs × 60 = 120 spent, 12 earned: 108 net, 36 left → 20 minutes.
        assert_eq!(b.spent_per_hour, 120.0);
        assert_eq!(b.earned_per_hour, 12.0);
        assert!((b.hours_to_empty.unwrap_or_default() - 1.0 / 3.0).abs() < 1e-9);
        // 1.8 surplus vCPU-hours an hour × $0.05 × 730 = $65.70, not 2 × $0.05 × 730 = $73.
        assert!((b.full_load_usd_per_month - 65.7).abs() < 1e-9);
        assert_eq!(b.surplus_usd_per_month, b.full_load_usd_per_month);
    }

    #[test]
    fn below_its_baseline_a_burstable_instance_never_runs_dry_or_pays() {
        let b = budget("t3.micro", &price("t3.micro"), 8.0, Some(0.0)).unwrap_or_else(|| {
            panic!("t3.micro is burstable");
        });
        assert_eq!(b.hours_to_empty, None);
        assert_eq!(b.surplus_usd_per_month, 0.0);
        assert!(budget("m5.large", &price("m5.large"), 100.0, None).is_none());
    }
}
