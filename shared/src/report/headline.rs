//! What the report's title says the incident is, as a value: chosen from the findings and the alarm once, then said
//! in each language by [`Headline::say`] — never written in English and translated back from its words.

use crate::analyze::{Detail, HealthKind, RuleId};
use crate::config::Language;
use crate::model::{AlarmChange, AlarmKind, AlarmState};

use super::{summary, text, Ctx};

/// The alarm's metric name or expression label: user-defined text, so bounded (and escaped on output, like all text).
pub(super) fn metric_label(change: &AlarmChange) -> String {
    text::sanitize(change.metric_name().unwrap_or("metric"), 64)
}

/// The incident in a few words. The English form is the SNS subject's (ASCII) and the digest's; the title says it
/// in the report's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Headline {
    /// The alarm went back to OK; its metric (or expression label).
    Resolved(String),
    /// The alarm went to INSUFFICIENT_DATA; its metric.
    InsufficientData(String),
    AzEvent,
    Stopped,
    HealthEvent,
    Gone,
    SystemCheck,
    InstanceCheck,
    AttachedEbsCheck,
    Compromise,
    Disk,
    Memory,
    EbsBurst,
    CpuCredits,
    CpuSustained,
    CpuSpike,
    Retirement,
    Maintenance,
    RecoverySucceeded,
    RecoveryFailed,
    Composite,
    /// An anomaly-detection alarm; its metric.
    OutsideBand(String),
    HighCpu,
    /// An alarm no rule explains; its metric.
    Alarm(String),
    /// A fleet alarm's incident that names no one instance (or names the top of its ranking).
    Fleet(Box<Headline>),
}

/// The headline of each rule that can lead, in the order a tie is broken.
const BY_RULE: [(RuleId, Headline); 14] = [
    (RuleId::AzEvent, Headline::AzEvent),
    (RuleId::Stopped, Headline::Stopped),
    (RuleId::Health, Headline::HealthEvent),
    (RuleId::Gone, Headline::Gone),
    (RuleId::SysCheck, Headline::SystemCheck),
    (RuleId::InstCheck, Headline::InstanceCheck),
    (RuleId::EbsCheck, Headline::AttachedEbsCheck),
    (RuleId::SecSuspect, Headline::Compromise),
    (RuleId::Disk, Headline::Disk),
    (RuleId::Mem, Headline::Memory),
    (RuleId::EbsBurst, Headline::EbsBurst),
    (RuleId::CpuCredits, Headline::CpuCredits),
    (RuleId::CpuSustained, Headline::CpuSustained),
    (RuleId::CpuSpike, Headline::CpuSpike),
];

impl Headline {
    /// The headline of an incident: its alarm's state, then an AWS Health event's kind, then the leading finding,
    /// then the kind of alarm.
    pub(super) fn of(cx: &Ctx<'_>) -> Headline {
        let a = cx.a;
        let metric = metric_label(cx.change);
        match cx.change.state.value {
            AlarmState::Ok => return Headline::Resolved(metric),
            AlarmState::InsufficientData => return Headline::InsufficientData(metric),
            AlarmState::Alarm => {}
        }
        if let Some(kind) = a.findings.iter().find_map(|f| match &f.detail {
            Detail::Health { kind, .. } => Some(*kind),
            _ => None,
        }) {
            return match kind {
                HealthKind::Retirement => Headline::Retirement,
                HealthKind::Maintenance => Headline::Maintenance,
                HealthKind::RecoverySucceeded => Headline::RecoverySucceeded,
                HealthKind::RecoveryFailed => Headline::RecoveryFailed,
                HealthKind::Other => Headline::HealthEvent,
            };
        }
        // The instance's own state and AWS-wide events come first, then a suspected compromise (whatever metric the
        // alarm watched); then the finding on the alarm's own metric (a memory alarm is about memory even when the
        // disk is fuller); then the rest in order of gravity.
        let leading = |r: &RuleId| {
            matches!(
                r,
                RuleId::AzEvent
                    | RuleId::Stopped
                    | RuleId::Health
                    | RuleId::Gone
                    | RuleId::SecSuspect
            )
        };
        let own = summary::own_finding(cx.change, a).map(|f| f.rule);
        if let Some((_, h)) = BY_RULE
            .iter()
            .filter(|(r, _)| leading(r))
            .chain(BY_RULE.iter().filter(|(r, _)| Some(*r) == own))
            .chain(BY_RULE.iter())
            .find(|(r, _)| a.has(*r))
        {
            return h.clone();
        }
        match &cx.change.kind {
            AlarmKind::Composite { .. } => Headline::Composite,
            AlarmKind::AnomalyBand => Headline::OutsideBand(metric),
            _ if metric == crate::catalogue::CPU_UTILIZATION => Headline::HighCpu,
            _ => Headline::Alarm(metric),
        }
    }

    /// The headline in `lang`.
    pub fn say(&self, lang: Language) -> String {
        match self {
            Headline::Resolved(m) => l!(lang, "복구됨: {}", "Resolved {}", m),
            Headline::InsufficientData(m) => l!(lang, "데이터 부족: {}", "Insufficient data {}", m),
            Headline::AzEvent => l!(lang, "AZ 전체 장애 가능성", "Probable AZ-wide event"),
            Headline::Stopped => l!(lang, "인스턴스 중지됨", "Instance stopped"),
            Headline::HealthEvent => l!(lang, "AWS Health 이벤트", "AWS Health event"),
            Headline::Gone => l!(lang, "인스턴스 중지 또는 없음", "Instance stopped or gone"),
            Headline::SystemCheck => {
                l!(lang, "시스템 상태 확인 실패", "System status check failed")
            }
            Headline::InstanceCheck => l!(
                lang,
                "인스턴스 상태 확인 실패",
                "Instance status check failed"
            ),
            Headline::AttachedEbsCheck => l!(
                lang,
                "연결된 EBS 상태 확인 실패",
                "Attached EBS check failed"
            ),
            Headline::Compromise => l!(lang, "침해 의심", "Possible compromise"),
            Headline::Disk => l!(lang, "디스크 거의 가득 참", "Disk almost full"),
            Headline::Memory => l!(lang, "메모리 압박", "Memory pressure"),
            Headline::EbsBurst => l!(lang, "EBS burst balance 부족", "EBS burst balance low"),
            Headline::CpuCredits => l!(lang, "CPU credit 고갈", "CPU credits exhausted"),
            Headline::CpuSustained => l!(lang, "지속적인 높은 CPU", "Sustained high CPU"),
            Headline::CpuSpike => l!(lang, "CPU 스파이크", "CPU spike"),
            Headline::Retirement => l!(
                lang,
                "인스턴스 retirement 예정",
                "Scheduled instance retirement"
            ),
            Headline::Maintenance => l!(lang, "유지보수 예정", "Scheduled maintenance"),
            Headline::RecoverySucceeded => {
                l!(lang, "자동 복구 성공", "Automatic recovery succeeded")
            }
            Headline::RecoveryFailed => l!(lang, "자동 복구 실패", "Automatic recovery failed"),
            Headline::Composite => l!(lang, "복합(composite) 알람", "Composite alarm"),
            Headline::OutsideBand(m) => l!(
                lang,
                "{}: 예상 범위(band) 밖",
                "{} outside expected band",
                m
            ),
            Headline::HighCpu => l!(lang, "높은 CPU", "High CPU"),
            Headline::Alarm(m) => l!(lang, "알람: {}", "Alarm {}", m),
            Headline::Fleet(h) => l!(lang, "플릿 {}", "Fleet {}", h.say(lang)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_headline_is_said_in_each_language_from_its_value() {
        assert_eq!(Headline::Memory.say(Language::Ko), "메모리 압박");
        assert_eq!(Headline::Memory.say(Language::En), "Memory pressure");
        let fleet = Headline::Fleet(Box::new(Headline::CpuSpike));
        assert_eq!(fleet.say(Language::Ko), "플릿 CPU 스파이크");
        assert_eq!(fleet.say(Language::En), "Fleet CPU spike");
        assert_eq!(
            Headline::Resolved("CPUUtilization".into()).say(Language::Ko),
            "복구됨: CPUUtilization"
        );
    }

    #[test]
    fn a_metric_whose_name_reads_like_a_headline_is_said_as_a_name() {
        // Read back from English words, `Fleet errors outside expected band` was a fleet's "errors" band.
        let band = Headline::OutsideBand("Fleet errors".into());
        assert_eq!(band.say(Language::Ko), "Fleet errors: 예상 범위(band) 밖");
        let alarm = Headline::Alarm("Resolved".into());
        assert_eq!(alarm.say(Language::Ko), "알람: Resolved");
    }
}
