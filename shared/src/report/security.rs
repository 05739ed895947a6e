//! Section 🔒 Security review: admin ports open to the world, IMDSv1, public addresses, from the instance's security
//! groups and metadata options.

use crate::config::Language;
use crate::facts::Source;

use super::advice::Advice;
use super::cli::cli;
use super::shell::Command;
use super::text::Line;
use super::{phrasebook, section, Ctx, Part, Section};
use crate::analyze::{Remedy, RuleId};

use crate::facts::ADMIN_PORTS;

pub(super) fn security(cx: &Ctx<'_>) -> Section {
    let lang = cx.lang;
    let mut lines = Vec::new();
    let Some(i) = cx.instance else {
        lines.push(Line::from(l!(
            lang,
            "보안 점검: 인스턴스 정보 없음 (조회 불가)",
            "Security review: no instance facts (unavailable)"
        )));
        return section(Part::Security, lang, lines);
    };
    let exposure_matters = cx.a.recommendation.exposure_matters;
    let mut advice = Advice::default();
    port_lines(cx, exposure_matters, &mut advice);
    if i.http_tokens.as_deref() == Some("optional") {
        if exposure_matters {
            advice.bears(Line::from(l!(
                lang,
                "IMDSv1 허용 (HttpTokens=optional): SSRF로 자격 증명 탈취 위험 → IMDSv2 강제",
                "IMDSv1 allowed (HttpTokens=optional): credentials can leak through SSRF → require IMDSv2"
            )));
            advice.bears(cli(
                cx,
                Command::new("aws ec2 modify-instance-metadata-options")
                    .arg("--instance-id", "INSTANCE_ID", &i.id)
                    .lit("--http-tokens required"),
            ));
        } else {
            advice.hygiene(l!(
                lang,
                "IMDSv1 허용 (IMDSv2 강제 권장)",
                "IMDSv1 allowed (require IMDSv2)"
            ));
        }
    }
    encryption_lines(cx, &mut advice);
    match (&i.public_ip, cx.recommended) {
        (Some(ip), _) if exposure_matters => reachable_lines(cx, ip, &mut advice),
        (Some(ip), Remedy::AwsRecovers) => advice.bears(Line::from(l!(
            lang,
            "Public IPv4 {}: AWS 자동 복구는 유지; 복구 실패 시의 직접 stop/start는 자동 할당 IP를 바꿈 (Elastic IP는 유지) → DNS/허용 목록 갱신 필요",
            "Public IPv4 {}: AWS's recovery keeps it; a stop/start of your own (if the recovery fails) changes an auto-assigned address (an Elastic IP stays) → update DNS and allow-lists",
            ip
        ))),
        (Some(ip), Remedy::Wait) if cx.a.has(crate::analyze::RuleId::EbsCheck) => advice.bears(Line::from(l!(
            lang,
            "Public IPv4 {}: 볼륨이 제때 ok가 되지 않아 stop/start하면 자동 할당 IP가 바뀜 (Elastic IP는 유지) → DNS/허용 목록 갱신 필요",
            "Public IPv4 {}: the stop/start, if the volumes are not ok in time, changes an auto-assigned address (an Elastic IP stays) → update DNS and allow-lists",
            ip
        ))),
        (Some(ip), Remedy::StopStart | Remedy::Resize) => advice.bears(Line::from(l!(
            lang,
            "Public IPv4 {}: stop/start 시 자동 할당 IP가 바뀜 (Elastic IP는 유지) → DNS/허용 목록 갱신 필요",
            "Public IPv4 {}: a stop/start changes an auto-assigned address (an Elastic IP stays) → update DNS and allow-lists",
            ip
        ))),
        (Some(ip), _) => advice.hygiene(l!(lang, "public IPv4 {}", "public IPv4 {}", ip)),
        (None, _) => {}
    }
    match cx.recommended {
        // What is lost, from the type's facts: instance-store data only where the type has some.
        Remedy::StopStart => advice.bears(Line::from(
            match cx.facts.instance_type.get().map(|t| t.instance_storage) {
                Some(false) => l!(
                    lang,
                    "Stop/start 시 RAM 내용 손실",
                    "A stop/start loses what was in RAM"
                ),
                _ => l!(
                    lang,
                    "Stop/start 시 RAM과 instance store 데이터 손실",
                    "A stop/start loses RAM and instance-store data"
                ),
            },
        )),
        Remedy::AwsRecovers => advice.bears(Line::from(l!(
            lang,
            "자동 복구도 stop/start도 RAM 내용은 잃음",
            "The recovery, like a stop/start, loses what was in RAM"
        ))),
        _ => {}
    }
    section(Part::Security, lang, advice.finish(lang))
}

/// The address the internet reaches the instance on, and why that bears on this incident: CPU spent beyond the
/// owner's on an instance whose admin port the internet reaches is what a cryptominer looks like.
fn reachable_lines(cx: &Ctx<'_>, ip: &str, advice: &mut Advice) {
    let lang = cx.lang;
    let changes = matches!(cx.recommended, Remedy::StopStart | Remedy::Resize);
    advice.bears(Line::from(if changes {
        l!(
            lang,
            "Public IPv4 {}로 인터넷에서 접근 가능; stop/start 시 자동 할당 IP는 바뀜 (Elastic IP는 유지)",
            "Reachable from the internet on public IPv4 {}; a stop/start changes an auto-assigned address (an Elastic IP stays)",
            ip
        )
    } else {
        l!(
            lang,
            "Public IPv4 {}로 인터넷에서 접근 가능",
            "Reachable from the internet on public IPv4 {}",
            ip
        )
    }));
    let cpu = [RuleId::CpuCredits, RuleId::CpuSustained]
        .into_iter()
        .find(|r| cx.a.has(*r));
    if let (Some(rule), false) = (cpu, cx.a.has(RuleId::SecSuspect)) {
        advice.bears(Line::from(l!(
            lang,
            "[{}]에 인터넷에서 접근 가능한 관리 포트까지 겹치면 채굴 악성코드를 의심: 🔧의 top 결과에서 모르는 프로세스와 로그인 기록(`last -i`, /var/log/secure)을 확인",
            "[{}] on an instance whose admin port the internet reaches is what a cryptominer looks like: look for an unknown process in 🔧's top output and at the logins (`last -i`, /var/log/secure)",
            rule.code()
        )));
    }
}

/// Unencrypted EBS volumes (hygiene: encryption does not change an incident); all encrypted is not news.
fn encryption_lines(cx: &Ctx<'_>, advice: &mut Advice) {
    let lang = cx.lang;
    match &cx.facts.volumes {
        Source::Available(vols) => {
            let plain: Vec<&str> = vols
                .iter()
                .filter(|v| !v.encrypted)
                .map(|v| v.id.as_str())
                .collect();
            if !plain.is_empty() {
                advice.hygiene(l!(
                    lang,
                    "암호화되지 않은 EBS 볼륨 {} (snapshot 복사로 암호화)",
                    "unencrypted EBS volumes {} (encrypt via a snapshot copy)",
                    plain.join(", ")
                ));
            }
        }
        Source::Unavailable(r) => advice.bears(Line::from(l!(
            lang,
            "EBS 암호화: 조회 불가 ({})",
            "EBS encryption: unavailable: {}",
            phrasebook::reason(r, lang)
        ))),
    }
}

/// Security-group rules open to the world, judged by who can reach them: a web port (80, 443) is how a web server
/// serves, not a finding; on an instance without a public address nobody outside the VPC reaches a rule, so it is
/// hygiene, said once; on a public one, in full when exposure bears on the incident, else in the hygiene line.
fn port_lines(cx: &Ctx<'_>, exposure_matters: bool, advice: &mut Advice) {
    let lang = cx.lang;
    let groups = match &cx.facts.security_groups {
        Source::Available(groups) => groups,
        Source::Unavailable(r) => {
            return advice.bears(Line::from(l!(
                lang,
                "Security groups: 조회 불가 ({})",
                "Security groups: unavailable: {}",
                phrasebook::reason(r, lang)
            )))
        }
    };
    let public = cx.instance.is_some_and(|i| i.public_ip.is_some());
    let mut private = Vec::new();
    for g in groups {
        for r in g.world_open.iter().filter(|r| !r.web_only()) {
            let rule = rule_text(r);
            if !public {
                private.push(format!("{} {rule}", g.id));
            } else if exposure_matters {
                advice.bears(open_line(lang, g, r, &rule));
            } else {
                advice.hygiene(l!(
                    lang,
                    "{} 전체 공개 {}",
                    "{} open to the world {}",
                    g.id,
                    rule
                ));
            }
        }
    }
    if !private.is_empty() {
        advice.hygiene(l!(
            lang,
            "{} (public IPv4 없음: 규칙은 VPC 범위로 좁히기)",
            "{} (no public IPv4: narrow it to the VPC's range)",
            private.join(", ")
        ));
    }
}

/// `tcp 22 ← 0.0.0.0/0`.
fn rule_text(r: &crate::facts::OpenRule) -> String {
    let ports = match (r.from_port, r.to_port) {
        (Some(f), Some(t)) if f == t => f.to_string(),
        (Some(-1), _) | (None, _) => "all".into(),
        (Some(f), Some(t)) => format!("{f}-{t}"),
        (Some(f), None) => f.to_string(),
    };
    format!("{} {ports} ← {}", r.protocol.replace("-1", "all"), r.cidr)
}

/// A world-open rule the internet reaches, on an incident exposure bears on: 🔴 for an admin port.
fn open_line(
    lang: Language,
    g: &crate::facts::SecurityGroupFacts,
    r: &crate::facts::OpenRule,
    rule: &str,
) -> Line {
    let admin: Vec<&str> = ADMIN_PORTS
        .iter()
        .filter(|(p, _)| r.covers(*p))
        .map(|(_, n)| *n)
        .collect();
    let mut line = Line::new()
        .t(if admin.is_empty() { "⚠️ " } else { "🔴 " })
        .c(g.id.clone())
        .t(" (")
        .u(&g.name)
        .t(format!(") {rule}"));
    if !admin.is_empty() {
        line = line.t(l!(
            lang,
            " — 관리 포트({})가 인터넷에 열림: Session Manager 사용 후 규칙 제거",
            " — admin port ({}) reachable from the internet: use Session Manager and remove the rule",
            admin.join("/")
        ));
    }
    line
}
