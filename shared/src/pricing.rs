//! Reference prices and burstable baselines, from the CSV tables in `shared/data/` (sources and dates are in their
//! header comments). Prices are estimates: the report says so.

use std::collections::HashMap;
use std::sync::LazyLock;

const EC2_PRICES: &str = include_str!("../data/ec2-prices.csv");
const EBS_PRICES: &str = include_str!("../data/ebs-prices.csv");
const BURSTABLE: &str = include_str!("../data/burstable-baselines.csv");

/// Hours in a billing month, as AWS's calculator counts them.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// One instance type in one region.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TypePrice {
    pub usd_per_hour: f64,
    pub vcpus: u32,
    pub memory_gib: f64,
}

/// Baseline performance of a burstable type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    pub baseline_cpu_percent: f64,
    pub credits_per_hour: f64,
    pub max_earned_credits: f64,
}

struct Tables {
    ec2: HashMap<(String, String), TypePrice>,
    ebs: HashMap<(String, String), f64>,
    burstable: HashMap<String, Baseline>,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .skip(1) // header
        .map(|l| l.split(',').map(str::trim).collect())
}

static TABLES: LazyLock<Tables> = LazyLock::new(|| {
    let mut ec2 = HashMap::new();
    for r in rows(EC2_PRICES) {
        if let [region, ty, price, vcpus, mem] = r[..] {
            if let (Ok(p), Ok(v), Ok(m)) = (price.parse(), vcpus.parse(), mem.parse()) {
                ec2.insert(
                    (region.to_string(), ty.to_string()),
                    TypePrice {
                        usd_per_hour: p,
                        vcpus: v,
                        memory_gib: m,
                    },
                );
            }
        }
    }
    let mut ebs = HashMap::new();
    for r in rows(EBS_PRICES) {
        if let [region, ty, price] = r[..] {
            if let Ok(p) = price.parse() {
                ebs.insert((region.to_string(), ty.to_string()), p);
            }
        }
    }
    let mut burstable = HashMap::new();
    for r in rows(BURSTABLE) {
        if let [ty, _vcpus, base, credits, max] = r[..] {
            if let (Ok(b), Ok(c), Ok(m)) = (base.parse(), credits.parse(), max.parse()) {
                burstable.insert(
                    ty.to_string(),
                    Baseline {
                        baseline_cpu_percent: b,
                        credits_per_hour: c,
                        max_earned_credits: m,
                    },
                );
            }
        }
    }
    Tables {
        ec2,
        ebs,
        burstable,
    }
});

/// The on-demand Linux price of a type in a region, if the table has it.
pub fn instance_price(region: &str, instance_type: &str) -> Option<TypePrice> {
    TABLES
        .ec2
        .get(&(region.to_string(), instance_type.to_string()))
        .copied()
}

/// USD per GiB-month of an EBS volume type in a region.
pub fn ebs_price(region: &str, volume_type: &str) -> Option<f64> {
    TABLES
        .ebs
        .get(&(region.to_string(), volume_type.to_string()))
        .copied()
}

/// Baseline of a burstable type (t2, t3, t3a, t4g).
pub fn burstable_baseline(instance_type: &str) -> Option<Baseline> {
    TABLES.burstable.get(instance_type).copied()
}

/// Whether a type is burstable, from its family name (used when DescribeInstanceTypes is unavailable).
pub fn is_burstable_family(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    family.starts_with('t')
        && family.len() <= 3
        && family[1..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
}

/// Whether a type runs on Arm (Graviton): its family has a `g` after the generation (`t4g`, `m7g`, `c6gd`, `c7gn`).
/// An instance keeps its architecture when it changes type (the AMI is built for one).
pub fn is_arm(instance_type: &str) -> bool {
    let family = instance_type.split('.').next().unwrap_or_default();
    let suffix = family
        .trim_start_matches(|c: char| c.is_ascii_lowercase())
        .trim_start_matches(|c: char| c.is_ascii_digit());
    suffix.contains('g')
}

/// Whether the price table knows a type in any region.
pub fn is_known_type(instance_type: &str) -> bool {
    TABLES.ec2.keys().any(|(_, ty)| ty == instance_type)
}

/// The cheapest general-purpose or compute type in `region` that is not burstable, has the architecture of
/// `instance_type` and at least its vCPUs and memory: where a burstable type goes when it needs its CPU all the time.
pub fn steady_alternative(region: &str, instance_type: &str) -> Option<(String, TypePrice)> {
    let current = instance_price(region, instance_type)?;
    let arm = is_arm(instance_type);
    TABLES
        .ec2
        .iter()
        .filter(|((r, ty), p)| {
            r == region
                && matches!(ty.chars().next(), Some('m' | 'c'))
                && !is_burstable_family(ty)
                && is_arm(ty) == arm
                && p.vcpus >= current.vcpus
                && p.memory_gib >= current.memory_gib
        })
        .min_by(|((_, a), pa), ((_, b), pb)| {
            pa.usd_per_hour
                .total_cmp(&pb.usd_per_hour)
                .then_with(|| a.cmp(b))
        })
        .map(|((_, ty), p)| (ty.clone(), *p))
}

/// Types of other families with the same vCPUs and memory, architecture and category (`m5.large` → `m6i.large`,
/// `m7i.large`), without burstable or instance-store families, cheapest first: where an instance goes when EC2 has
/// no capacity for its own type.
pub fn same_size_elsewhere(region: &str, instance_type: &str) -> Vec<String> {
    let Some(current) = instance_price(region, instance_type) else {
        return Vec::new();
    };
    let family = |ty: &str| ty.split('.').next().unwrap_or_default().to_string();
    let (own, arm) = (family(instance_type), is_arm(instance_type));
    let mut out: Vec<(&String, &TypePrice)> = TABLES
        .ec2
        .iter()
        .filter(|((r, ty), p)| {
            let f = family(ty);
            r == region
                && f != own
                && f.chars().next() == own.chars().next()
                && !is_burstable_family(ty)
                && !f
                    .trim_start_matches(|c: char| c.is_ascii_lowercase())
                    .contains('d')
                && is_arm(ty) == arm
                && p.vcpus == current.vcpus
                && p.memory_gib == current.memory_gib
        })
        .map(|((_, ty), p)| (ty, p))
        .collect();
    out.sort_by(|(a, pa), (b, pb)| {
        pa.usd_per_hour
            .total_cmp(&pb.usd_per_hour)
            .then_with(|| a.cmp(b))
    });
    out.into_iter().map(|(ty, _)| ty.clone()).collect()
}

const SIZES: [&str; 16] = [
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "3xlarge", "4xlarge",
    "8xlarge", "9xlarge", "12xlarge", "16xlarge", "18xlarge", "24xlarge", "48xlarge",
];

/// The next size in the same family that the price table knows (`up` = larger), for right-size advice.
pub fn neighbour_size(region: &str, instance_type: &str, up: bool) -> Option<(String, TypePrice)> {
    let (family, size) = instance_type.split_once('.')?;
    let pos = SIZES.iter().position(|s| *s == size)?;
    let candidates: Box<dyn Iterator<Item = &&str>> = if up {
        Box::new(SIZES[pos + 1..].iter())
    } else {
        Box::new(SIZES[..pos].iter().rev())
    };
    for s in candidates {
        let ty = format!("{family}.{s}");
        if let Some(p) = instance_price(region, &ty) {
            return Some((ty, p));
        }
    }
    None
}

/// The larger sizes of a type's family that the price table knows in `region`, smallest first.
pub fn larger_sizes(region: &str, instance_type: &str) -> Vec<(String, TypePrice)> {
    let Some((family, size)) = instance_type.split_once('.') else {
        return Vec::new();
    };
    let Some(pos) = SIZES.iter().position(|s| *s == size) else {
        return Vec::new();
    };
    SIZES[pos + 1..]
        .iter()
        .filter_map(|s| {
            let ty = format!("{family}.{s}");
            instance_price(region, &ty).map(|p| (ty, p))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_without_capacity_has_same_size_types_of_other_families_of_its_kind() {
        let alternatives = same_size_elsewhere("ap-northeast-2", "m5.large");
        assert_eq!(alternatives.first().map(String::as_str), Some("m6i.large"));
        assert!(alternatives.iter().all(|t| t.ends_with(".large")
            && t.starts_with('m')
            && !t.starts_with("m5")
            && !is_arm(t)
            && !t.contains("d.")));
        assert!(same_size_elsewhere("ap-northeast-2", "x9.huge").is_empty());
    }

    #[test]
    fn every_data_row_of_the_tables_is_read() {
        let count = |t: &str| rows(t).count();
        assert_eq!(TABLES.ec2.len(), count(EC2_PRICES));
        assert_eq!(TABLES.ebs.len(), count(EBS_PRICES));
        assert_eq!(TABLES.burstable.len(), count(BURSTABLE));
        assert!(TABLES.ec2.len() > 200);
    }

    #[test]
    fn both_required_regions_have_common_types() {
        for region in ["us-east-1", "ap-northeast-2"] {
            for ty in [
                "t3.micro",
                "t3.small",
                "m5.large",
                "c6i.xlarge",
                "r6g.large",
            ] {
                assert!(instance_price(region, ty).is_some(), "{region} {ty}");
            }
            assert!(ebs_price(region, "gp3").is_some());
        }
    }

    #[test]
    fn right_size_steps_within_the_family() {
        let (up, _) = neighbour_size("us-east-1", "m5.large", true).unwrap();
        assert_eq!(up, "m5.xlarge");
        let (down, _) = neighbour_size("us-east-1", "t3.small", false).unwrap();
        assert_eq!(down, "t3.micro");
        assert!(neighbour_size("us-east-1", "weird", true).is_none());
    }

    #[test]
    fn a_steady_alternative_exists_keeps_the_architecture_and_is_not_burstable() {
        for (region, ty) in [
            ("ap-northeast-2", "t3.micro"),
            ("us-east-1", "t4g.small"),
            ("us-east-1", "t3.2xlarge"),
        ] {
            let (alt, p) = steady_alternative(region, ty).unwrap();
            assert!(instance_price(region, &alt).is_some(), "{alt}");
            assert!(!is_burstable_family(&alt), "{alt}");
            assert_eq!(is_arm(&alt), is_arm(ty), "{ty} -> {alt}");
            assert!(p.vcpus >= instance_price(region, ty).unwrap().vcpus);
        }
        assert!(
            is_arm("c7gn.large")
                && is_arm("t4g.micro")
                && !is_arm("m5d.large")
                && !is_arm("g5.xlarge")
        );
        assert!(
            !is_known_type("m7i.micro")
                && !is_known_type("m6i.micro")
                && is_known_type("m7i.large")
        );
    }

    #[test]
    fn burstable_families_are_recognized() {
        assert!(is_burstable_family("t3.micro"));
        assert!(is_burstable_family("t4g.large"));
        assert!(!is_burstable_family("m5.large"));
        assert!(!is_burstable_family("trn1.2xlarge"));
        assert_eq!(
            burstable_baseline("t3.micro").unwrap().baseline_cpu_percent,
            10.0
        );
    }
}
