//! The short follow-up posted in an incident's chat thread after ec2ops acted: verified, or not fixed (escalated,
//! with the next step). A follow-up is a [`Report`] like any other — title, header, 🔧 with its steps and commands,
//! the chat card's next steps from those commands — so it goes out in the same envelope, escaped and cut the same way.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::card;
use super::cli::Steps;
use super::phrasebook;
use super::render::{self, SnsMessage};
use super::shell::Command;
use super::steps;
use super::text::{ascii, bound, hm, when_in, Line};
use super::{section, Part, Report, Section};
use crate::analyze::recheck::{Picture, RecheckRequest};
use crate::analyze::Priority;
use crate::config::Language;
use crate::facts::{InstanceLookup, Source, StatusFacts};
use crate::model::InstanceState;
use crate::remediation::approval::{Approver, Pending};
use crate::remediation::{ActionKind, Continuation, Stuck, VerifyRequest};

/// What the verification found.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Both status checks are `ok` again.
    Fixed,
    /// Still impaired (or not running): the operator must take the next step.
    NotFixed { detail: NotFixed },
    /// The status could not be read.
    Unknown { why: crate::source::Gap },
}

/// Judge the instance's status after the action.
pub fn verdict(instance: &Source<InstanceLookup>, status: &Source<StatusFacts>) -> Verdict {
    if let Some(InstanceLookup::Found(i)) = instance.get() {
        if !i.is_running() {
            return Verdict::NotFixed {
                detail: NotFixed::State(i.state),
            };
        }
    }
    match status {
        Source::Unavailable(why) => Verdict::Unknown { why: why.clone() },
        Source::Available(s) => {
            let ok = |v: &Option<String>| v.as_deref() == Some("ok");
            if ok(&s.system) && ok(&s.instance) {
                Verdict::Fixed
            } else {
                Verdict::NotFixed {
                    detail: NotFixed::Checks {
                        system: s.system.clone(),
                        instance: s.instance.clone(),
                    },
                }
            }
        }
    }
}

/// What is still wrong, in EC2's words (phrased in the report's language when rendered).
#[derive(Debug, Clone, PartialEq)]
pub enum NotFixed {
    /// The instance is not running.
    State(crate::model::InstanceState),
    /// The status checks' status (`None`: not reported).
    Checks {
        system: Option<String>,
        instance: Option<String>,
    },
}

impl NotFixed {
    fn phrase(&self, lang: Language) -> String {
        let or_none = |v: &Option<String>| {
            v.clone()
                .unwrap_or_else(|| l!(lang, "보고 없음", "not reported"))
        };
        match self {
            NotFixed::State(s) => l!(lang, "인스턴스 상태 {}", "instance state {}", s),
            NotFixed::Checks { system, instance } => l!(
                lang,
                "시스템 상태 확인 {}, 인스턴스 상태 확인 {}",
                "system status check {}, instance status check {}",
                or_none(system),
                or_none(instance)
            ),
        }
    }
}

/// The follow-up's priority: informational when fixed, critical (escalated) when not or unknown.
pub fn priority(v: &Verdict) -> Priority {
    match v {
        Verdict::Fixed => Priority::P3,
        _ => Priority::P0,
    }
}

/// Render the follow-up as an SNS message, in the envelope of a report.
pub fn render(
    req: &VerifyRequest,
    v: &Verdict,
    now: DateTime<Utc>,
    lang: Language,
    tz: Tz,
) -> SnsMessage {
    let minutes = (now - req.acted_at).num_minutes();
    let action = req.action.as_str();
    let id = &req.instance_id;
    // The request is an event: its instance id and region reach the commands only through the shell quoting.
    let region = req.region.as_deref().unwrap_or("us-east-1");
    let in_region = |c: Command| c.arg("--region", "REGION", region);
    let mut s = Steps::default();
    let headline = match v {
        Verdict::Fixed => {
            s.line(Line::from(l!(
                lang,
                "{} {}분 후 상태 확인 정상(ok). 조치 불필요, incident 종료 가능.",
                "Status checks are ok {1} minutes after the {0}. No action needed; the incident can be closed.",
                action,
                minutes
            )));
            (
                format!("Verified: {action} fixed"),
                l!(lang, "확인됨: {}로 해결", "Verified: {} fixed", action),
            )
        }
        Verdict::NotFixed { .. } | Verdict::Unknown { .. } => {
            let detail = match v {
                Verdict::NotFixed { detail } => detail.phrase(lang),
                Verdict::Unknown { why } => phrasebook::reason(why, lang),
                Verdict::Fixed => String::new(),
            };
            let (before, after) = match v {
                Verdict::Unknown { .. } => (
                    l!(
                        lang,
                        "{} {}분 후 상태 확인 불가: ",
                        "Could not read the status {1} minutes after the {0}: ",
                        action,
                        minutes
                    ),
                    String::new(),
                ),
                _ => (
                    l!(
                        lang,
                        "{} {}분 후에도 정상화되지 않음: ",
                        "Not fixed {1} minutes after the {0}: ",
                        action,
                        minutes
                    ),
                    l!(lang, " → 우선순위 상향", " → priority raised"),
                ),
            };
            // EC2's words (the instance's state, the checks' status) are quoted as they came.
            s.line(Line::new().t(before).u(&detail).t(after));
            match req.action {
                ActionKind::Reboot => {
                    s.step(l!(
                        lang,
                        "Console 출력으로 OS 오류(OOM, kernel panic, fsck) 확인:",
                        "Read the console output for OS errors (OOM, kernel panic, fsck):"
                    ));
                    s.command(in_region(console(id)));
                    s.step(l!(
                        lang,
                        "다음 단계: stop/start로 새 호스트 이동 (start는 stopped 확인 후):",
                        "Next step: stop/start onto a new host (start only once it is stopped):"
                    ));
                    for c in steps::stop_start(id) {
                        s.command(in_region(c));
                    }
                    s.step(l!(
                        lang,
                        "10분 넘게 stopping 상태면 강제 중지 후 위의 wait 단계부터 계속:",
                        "Stuck in `stopping` for more than 10 minutes: force the stop, then go on from the wait above:"
                    ));
                    s.command(in_region(steps::force_stop(id)));
                    s.step(l!(
                        lang,
                        "그래도 실패하면 EC2Rescue(AWSSupport-ExecuteEC2Rescue) 또는 AMI/snapshot에서 교체.",
                        "If that fails: EC2Rescue (AWSSupport-ExecuteEC2Rescue), or replace it from an AMI/snapshot."
                    ));
                }
                ActionKind::StopStart => {
                    s.step(l!(lang, "Console 출력 확인:", "Read the console output:"));
                    s.command(in_region(console(id)));
                    s.step(l!(
                        lang,
                        "다음 단계: EC2Rescue, 또는 AMI/snapshot에서 인스턴스 교체; AWS Support 문의.",
                        "Next step: run EC2Rescue, or replace the instance from an AMI/snapshot; open an AWS Support case."
                    ));
                }
            }
            (
                format!("Not fixed after {action}"),
                l!(
                    lang,
                    "{} 후에도 해결되지 않음",
                    "Not fixed after {}",
                    action
                ),
            )
        }
    };
    let (headline, title) = headline;
    message(
        &Thread {
            priority: priority(v),
            headline: &headline,
            title: &title,
            instance_id: id,
            alarm_name: &req.alarm_name,
            acted_at: req.acted_at,
            incident_key: &req.incident_key,
            thread_id: &req.thread_id,
            kind: req.action.as_str(),
            recheck: false,
        },
        s,
        lang,
        tz,
    )
}

/// The instance's latest console output: what the OS said while it failed.
fn console(id: &str) -> Command {
    Command::new("aws ec2 get-console-output")
        .arg("--instance-id", "INSTANCE_ID", id)
        .lit("--latest --output text")
}

/// What a follow-up says about its incident, whatever it reports.
struct Thread<'a> {
    priority: Priority,
    /// English, for the ASCII subject.
    headline: &'a str,
    /// The headline in the report's language, for the title a reader sees.
    title: &'a str,
    instance_id: &'a str,
    alarm_name: &'a str,
    acted_at: DateTime<Utc>,
    incident_key: &'a str,
    thread_id: &'a str,
    kind: &'a str,
    /// A second look at a spike (no action): the header names the first report's time instead of an action's.
    recheck: bool,
}

/// The follow-up as a report: its title, a header naming the alarm and the action's time, one 🔧 section, the chat
/// card's next steps from its commands; then the report's own rendering.
fn message(t: &Thread<'_>, s: Steps, lang: Language, tz: Tz) -> SnsMessage {
    let p = t.priority;
    let (headline, id) = (t.headline, t.instance_id);
    let report = Report {
        priority: p,
        language: lang,
        headline: headline.to_string(),
        cause: t.title.to_string(),
        subject: bound(&ascii(&format!("[{}] {headline} {id}", p.label())), 99),
        title: Line::from(format!("[{}] {} — {id}", p.label(), t.title)),
        header: vec![
            Line::new().t(l!(lang, "알람: ", "Alarm: ")).u(t.alarm_name),
            if t.recheck {
                Line::from(l!(
                    lang,
                    "첫 보고의 알람 시각: {}",
                    "Alarm of the first report: {}",
                    when_in(t.acted_at, tz, lang)
                ))
            } else {
                Line::from(l!(
                    lang,
                    "조치 시각: {}",
                    "Action at: {}",
                    when_in(t.acted_at, tz, lang)
                ))
            },
        ],
        next_steps: card::chosen(s.groups())
            .iter()
            .map(Command::render)
            .collect(),
        sections: vec![{
            // A cut keeps the first step whole, its commands with it.
            let head = s.head();
            Section {
                head,
                ..section(Part::Actions, lang, s.lines)
            }
        }],
        keywords: vec![
            p.label().to_string(),
            if t.recheck {
                "ec2ops-recheck".into()
            } else {
                "ec2ops-verify".into()
            },
            t.kind.to_string(),
            id.to_string(),
        ],
        summary: format!("[{}] {headline} {id}", p.label()),
        incident_key: t.incident_key.to_string(),
        thread_id: t.thread_id.to_string(),
        related_resources: Vec::new(),
        event_type: "ec2ops.followup",
        approval: None,
        quiet: false,
    };
    render::sns(&report)
}

/// How a recover's continuation ended when it could not bring the instance back: the P0 follow-up in the incident's
/// thread. It says that the instance is down because ec2ops stopped it, and for how long, then the ways out for the
/// state it is in — more than the call that just failed.
pub fn render_recover(
    c: &Continuation,
    state: Option<InstanceState>,
    stuck: &Stuck,
    now: DateTime<Utc>,
    lang: Language,
    tz: Tz,
) -> SnsMessage {
    let id = &c.instance_id;
    let region = c.region.as_deref().unwrap_or("us-east-1");
    let in_region = |cmd: Command| cmd.arg("--region", "REGION", region);
    let mut s = Steps::default();
    s.line(Line::from(l!(
        lang,
        "ec2ops가 {}에 복구(stop/start)를 위해 중지한 뒤 다시 시작하지 못해 {}분째 중단 상태.",
        "The instance has been down for {1} minutes because ec2ops stopped it at {0} to recover it (stop/start) and could not start it again.",
        hm(c.stopped_at, tz, lang),
        (now - c.stopped_at).num_minutes().max(0)
    )));
    s.line(stuck_line(
        Line::new().t(l!(
            lang,
            "인스턴스 상태 {}: ",
            "The instance is {}: ",
            state.map_or("unknown", |s| s.as_str())
        )),
        stuck,
        lang,
    ));
    ways_out(&mut s, c, state, &in_region, lang);
    message(
        &Thread {
            priority: Priority::P0,
            headline: "Recover incomplete",
            title: &l!(lang, "복구(recover) 미완료", "Recover incomplete"),
            instance_id: id,
            alarm_name: &c.alarm_name,
            acted_at: c.stopped_at,
            incident_key: &c.incident_key,
            thread_id: &c.thread_id,
            kind: ActionKind::StopStart.as_str(),
            recheck: false,
        },
        s,
        lang,
        tz,
    )
}

/// The operator's steps for the state the recover left the instance in.
fn ways_out(
    s: &mut Steps,
    c: &Continuation,
    state: Option<InstanceState>,
    in_region: &dyn Fn(Command) -> Command,
    lang: Language,
) {
    let id = &c.instance_id;
    match state {
        Some(InstanceState::Stopped) => stopped_ways_out(s, c, in_region, lang),
        Some(InstanceState::Stopping) => hung_stop_ways_out(s, c, in_region, lang),
        Some(InstanceState::Running | InstanceState::Pending) => {
            s.step(l!(lang, "상태 확인 점검:", "Check its status checks:"));
            s.command(in_region(
                Command::new("aws ec2 describe-instance-status").arg(
                    "--instance-ids",
                    "INSTANCE_ID",
                    id,
                ),
            ));
        }
        _ => {
            s.step(l!(lang, "인스턴스 상태 확인:", "Read its state:"));
            s.command(in_region(Command::new("aws ec2 describe-instances").arg(
                "--instance-ids",
                "INSTANCE_ID",
                id,
            )));
        }
    }
}

/// Why the recover is stuck, in the report's language; AWS's error text quoted once at the end.
// Stays long: one arm per way a recover gets stuck, each a Korean/English phrase pair.
fn stuck_line(line: Line, stuck: &Stuck, lang: Language) -> Line {
    let (said, aws) = match stuck {
        Stuck::LedgerUnreadable { error } => (
            l!(
                lang,
                "포기 시한이 지났고 ledger를 읽지 못해 이 복구를 확인할 수 없음",
                "the give-up time has passed and the ledger could not be read to confirm this recover"
            ),
            Some(error),
        ),
        Stuck::StateUnreadable { minutes, error } => (
            l!(
                lang,
                "{}분 동안 인스턴스 상태를 읽지 못함",
                "its state could not be read for {} minutes",
                minutes
            ),
            Some(error),
        ),
        Stuck::Gone => (
            l!(lang, "EC2가 더 이상 이 인스턴스를 모름", "EC2 no longer knows the instance"),
            None,
        ),
        Stuck::TooLate { minutes } => (
            l!(
                lang,
                "이 후속 처리가 중지 {}분 뒤에 실행됨: 묻지 않고 시작하기엔 너무 늦음",
                "this continuation ran {} minutes after the stop, too late to start the instance without asking",
                minutes
            ),
            None,
        ),
        Stuck::WentTo { state } => (
            l!(
                lang,
                "인스턴스가 {} 상태가 됨",
                "the instance went to {}",
                state.as_str()
            ),
            None,
        ),
        Stuck::DryRun { answer } => (
            l!(
                lang,
                "StartInstances가 DryRun으로 응답함",
                "StartInstances answered as a DryRun"
            ),
            Some(answer),
        ),
        Stuck::StartFailed { error } => (
            l!(lang, "StartInstances 실패", "StartInstances failed"),
            Some(error),
        ),
        Stuck::StillStopping { minutes, forced: true } => (
            l!(
                lang,
                "강제 중지 후에도 {}분째 stopping 상태",
                "it has been stopping for {} minutes despite a forced stop",
                minutes
            ),
            None,
        ),
        Stuck::StillStopping { minutes, forced: false } => (
            l!(
                lang,
                "{}분째 stopping 상태",
                "it has been stopping for {} minutes",
                minutes
            ),
            None,
        ),
        Stuck::NextCheckUnscheduled { error } => (
            l!(
                lang,
                "다음 확인을 예약하지 못함: 아무도 다시 보지 않음",
                "the next check could not be scheduled: nobody would look again"
            ),
            Some(error),
        ),
        Stuck::VerificationUnscheduled { error } => (
            l!(
                lang,
                "인스턴스는 시작 중이지만 검증을 예약하지 못함: 상태 확인 통과 여부를 직접 확인",
                "the instance is starting, but its verification could not be scheduled: check that its status checks pass"
            ),
            Some(error),
        ),
    };
    match aws {
        Some(e) => super::quoted::quote(line.t(said), true, e, super::quoted::QUOTED_CHARS, lang),
        None => line.t(said),
    }
}

/// Stopped, and StartInstances failed: start again in a few minutes (capacity comes back), or move to the same size
/// of another family while it is stopped, or launch an image of it elsewhere. A continuation that came too late to
/// start it (no start was tried) asks first whether someone stopped it on purpose since.
fn stopped_ways_out(
    s: &mut Steps,
    c: &Continuation,
    in_region: &dyn Fn(Command) -> Command,
    lang: Language,
) {
    let id = &c.instance_id;
    let no_capacity = c.start_failures > 0;
    s.step(if no_capacity {
        l!(
            lang,
            "용량은 보통 몇 분 안에 돌아옴: 몇 분 간격으로 다시 시작:",
            "Capacity usually comes back within minutes: start it again every few minutes:"
        )
    } else {
        l!(
            lang,
            "그 사이 누군가 의도적으로 중지한 것이 아니면 다시 시작:",
            "Unless someone has stopped it on purpose since, start it again:"
        )
    });
    s.command(in_region(steps::start(id)));
    let region = c.region.as_deref().unwrap_or("us-east-1");
    let ty = c.instance_type.as_deref().unwrap_or_default();
    let other = crate::pricing::same_size_elsewhere(region, ty);
    if let (true, Some(to)) = (no_capacity, other.first()) {
        s.step(l!(
            lang,
            "{} 용량이 계속 없으면: 중지된 동안 같은 크기의 다른 패밀리({})로 바꾼 뒤 시작:",
            "Still no {} capacity: while it is stopped, change it to the same size of another family ({}) and start it:",
            ty,
            other.join(", ")
        ));
        s.command(in_region(steps::wait_stopped(id)));
        s.command(in_region(
            Command::new("aws ec2 modify-instance-attribute")
                .arg("--instance-id", "INSTANCE_ID", id)
                .json("--instance-type", &serde_json::json!({ "Value": to })),
        ));
        s.command(in_region(steps::start(id)));
    }
    s.step(l!(
        lang,
        "또는 다른 곳에서 실행: 중지된 인스턴스의 이미지는 중지 시점까지의 모든 쓰기를 보존함 — 다른 가용 영역의 서브넷에서 시작(새 인스턴스, 새 사설 IP):",
        "Or run it elsewhere: an image of the stopped instance keeps every write up to the stop — launch it in another Availability Zone's subnet (a new instance, a new private IP):"
    ));
    s.command(in_region(
        Command::new("aws ec2 create-image")
            .arg("--instance-id", "INSTANCE_ID", id)
            .arg(
                "--name",
                "IMAGE_NAME",
                &format!("{id}-restore-{}", c.stopped_at.format("%Y%m%dT%H%M")),
            ),
    ));
}

/// A stop that hangs past the forced stop is AWS's to clear: AWS Health and a Support case; start it once it stops;
/// meanwhile the way back is its volumes' snapshots, which lose the writes made since each was taken.
fn hung_stop_ways_out(
    s: &mut Steps,
    c: &Continuation,
    in_region: &dyn Fn(Command) -> Command,
    lang: Language,
) {
    let id = &c.instance_id;
    s.step(l!(
        lang,
        "강제 중지 후에도 멈춘 중지는 AWS 측 장애로 AWS만 해소 가능: AWS Health에서 이 인스턴스의 이벤트를 확인하고 AWS Support 케이스(production system down)를 인스턴스 ID와 함께 열기.",
        "A stop that hangs past the forced stop is a fault on the AWS side that only AWS can clear: look for the instance in AWS Health and open an AWS Support case (production system down) naming it."
    ));
    s.line(Line::new().t("🔗 ").link(
        "AWS Health",
        "https://health.aws.amazon.com/health/home#/account/dashboard/open-issues",
    ));
    s.step(if c.forced {
        l!(
            lang,
            "stopped가 되면 시작:",
            "Once it is stopped, start it:"
        )
    } else {
        l!(
            lang,
            "강제 중지 후 stopped가 되면 시작:",
            "Force the stop, then start it once it is stopped:"
        )
    });
    if !c.forced {
        s.command(in_region(steps::force_stop(id)));
    }
    s.command(in_region(steps::wait_stopped(id)));
    s.command(in_region(steps::start(id)));
    if c.volume_ids.is_empty() {
        return;
    }
    let ids: Vec<&str> = c.volume_ids.iter().map(String::as_str).collect();
    s.step(l!(
        lang,
        "제때 돌아오지 않으면 볼륨의 최신 스냅샷에서 복원 (각 스냅샷 이후의 쓰기는 잃음):",
        "Not back in time: restore from its volumes' latest snapshots (the writes since each snapshot are lost):"
    ));
    s.command(in_region(
        Command::new("aws ec2 describe-snapshots")
            .lit("--owner-ids self")
            .arg(
                "--filters",
                "FILTERS",
                &format!("Name=volume-id,Values={}", ids.join(",")),
            )
            .arg(
                "--query",
                "QUERY",
                "sort_by(Snapshots,&StartTime)[-5:].[VolumeId,SnapshotId,StartTime]",
            )
            .lit("--output table"),
    ));
}

/// What became of a proposed action (`approve` mode), for its follow-up in the incident's thread. An approval that
/// acted, or that the envelope refused, is posted as the incident's report again, with that outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalNote {
    /// A person said no: nothing is done, and that is final.
    Denied { by: Approver, at: DateTime<Utc> },
    /// Nobody answered in time: nothing is done, and that is final.
    Expired { at: DateTime<Utc> },
    /// Approved, but the incident could not be checked again: nothing is done.
    Refused { by: Approver, why: RefusedWhy },
}

/// Why an approval could not be carried out.
#[derive(Debug, Clone, PartialEq)]
pub enum RefusedWhy {
    /// This run has no EC2 access (the CLI without AWS).
    NoEc2Access,
    /// The stored event reads as something other than an incident.
    NotAnIncident,
    /// The stored event cannot be read: the parser's account of it.
    EventUnreadable(String),
    /// The stored event is another incident than the proposal's.
    OtherIncident,
    /// The approval's handling did not complete within `minutes` of the approval at `at`.
    TooLate { minutes: i64, at: DateTime<Utc> },
}

impl std::fmt::Display for RefusedWhy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefusedWhy::NoEc2Access => f.write_str("no EC2 access in this run"),
            RefusedWhy::NotAnIncident => f.write_str("the stored event is not an incident"),
            RefusedWhy::EventUnreadable(e) => write!(f, "the stored event cannot be read: {e}"),
            RefusedWhy::OtherIncident => f.write_str("the stored event is not the proposal's incident"),
            RefusedWhy::TooLate { minutes, at } => write!(
                f,
                "its handling did not complete within {minutes} minutes of the approval (at {}): nothing is done",
                at.format("%H:%M:%S UTC")
            ),
        }
    }
}

fn refused_why(why: &RefusedWhy, lang: Language, tz: Tz) -> String {
    match why {
        RefusedWhy::NoEc2Access => l!(lang, "이 실행에는 EC2 접근 권한 없음", "no EC2 access in this run"),
        RefusedWhy::NotAnIncident => l!(
            lang,
            "저장된 이벤트가 incident가 아님",
            "the stored event is not an incident"
        ),
        RefusedWhy::EventUnreadable(e) => l!(
            lang,
            "저장된 이벤트를 읽을 수 없음: {}",
            "the stored event cannot be read: {}",
            e
        ),
        RefusedWhy::OtherIncident => l!(
            lang,
            "저장된 이벤트가 이 승인 요청의 incident가 아님",
            "the stored event is not the proposal's incident"
        ),
        RefusedWhy::TooLate { minutes, at } => l!(
            lang,
            "승인({}) 후 {}분 안에 처리가 끝나지 않음: 아무것도 하지 않음",
            "its handling did not complete within {1} minutes of the approval (at {0}): nothing is done",
            when_in(*at, tz, lang),
            minutes
        ),
    }
}

fn approver_phrase(by: &Approver, lang: Language) -> (String, String) {
    match by {
        Approver::ChatbotRole(id) => (
            l!(lang, "Chatbot 채널 역할 ", "Chatbot channel role "),
            id.clone(),
        ),
        Approver::SlackUser(id) => (l!(lang, "Slack 사용자 ", "Slack user "), id.clone()),
    }
}

/// The follow-up of a proposed action that was denied, expired, or approved but could not be checked again.
pub fn render_approval(
    pending: &Pending,
    thread_id: &str,
    alarm_name: &str,
    note: &ApprovalNote,
    lang: Language,
    tz: Tz,
) -> SnsMessage {
    let action = pending.action.as_str();
    let mut s = Steps::default();
    let (headline, title) = match note {
        ApprovalNote::Denied { by, at } => {
            let (who, id) = approver_phrase(by, lang);
            s.line(
                Line::new()
                    .t(l!(lang, "거부: ", "Denied by "))
                    .t(who)
                    .u(&id)
                    .t(l!(
                        lang,
                        " ({}) — {}은(는) 실행하지 않습니다. 최종 결정입니다.",
                        " at {} — the {} is not done. This is final.",
                        when_in(*at, tz, lang),
                        action
                    )),
            );
            (
                format!("Denied: {action} not done"),
                l!(lang, "거부됨: {} 실행 안 함", "Denied: {} not done", action),
            )
        }
        ApprovalNote::Expired { at } => {
            s.line(Line::from(l!(
                lang,
                "{}까지 승인이 없어 제안된 {}은(는) 만료되었습니다 ({}). 아무것도 하지 않았습니다.",
                "Nobody approved the proposed {1} by {0}: it expired at {2} and nothing was done.",
                when_in(pending.expires_at, tz, lang),
                action,
                when_in(*at, tz, lang)
            )));
            (
                format!("Expired: {action} not done"),
                l!(
                    lang,
                    "만료됨: {} 실행 안 함",
                    "Expired: {} not done",
                    action
                ),
            )
        }
        ApprovalNote::Refused { by, why } => {
            let (who, id) = approver_phrase(by, lang);
            s.line(
                Line::new()
                    .t(l!(lang, "승인: ", "Approved by "))
                    .t(who)
                    .u(&id)
                    .t(l!(
                        lang,
                        " — 그러나 다시 확인할 수 없어 실행하지 않습니다: ",
                        " — but the incident could not be checked again, so nothing is done: "
                    ))
                    .u(refused_why(why, lang, tz)),
            );
            (
                format!("Approved but not done: {action}"),
                l!(
                    lang,
                    "승인되었으나 실행 안 함: {}",
                    "Approved but not done: {}",
                    action
                ),
            )
        }
    };
    // A note in the proposal's thread: its report paged already; the note is for the record.
    let mut m = message(
        &Thread {
            priority: Priority::P1,
            headline: &headline,
            title: &title,
            instance_id: &pending.instance_id,
            alarm_name,
            acted_at: pending.requested_at,
            incident_key: &pending.incident_key,
            thread_id,
            kind: action,
            recheck: false,
        },
        s,
        lang,
        tz,
    );
    m.urgent = false;
    m
}

/// The second look at a spike, posted only when the picture changed: it became sustained (priority raised), peaked
/// higher, or recovered — each with the numbers that show it, compared with the first report's peak.
pub fn render_recheck(
    req: &RecheckRequest,
    picture: &Picture,
    now: DateTime<Utc>,
    lang: Language,
    tz: Tz,
) -> SnsMessage {
    let id = &req.instance_id;
    let region = req.region.as_deref().unwrap_or("us-east-1");
    let pct = |v: f64| format!("{v:.2}%");
    let first = l!(
        lang,
        "첫 보고의 피크 {} ({})",
        "the first report's peak of {} at {}",
        pct(req.peak),
        hm(req.peak_at, tz, lang)
    );
    let mut s = Steps::default();
    s.line(Line::from(l!(
        lang,
        "ec2ops가 {}에 알람 지표를 다시 확인 (알람 {}분 후):",
        "ec2ops looked at the alarm's metric again at {} ({} min after the alarm):",
        hm(now, tz, lang),
        (now - req.alarm_at).num_minutes().max(0)
    )));
    let priority = picture.priority(req);
    let (headline, title) = match picture {
        Picture::Sustained {
            since,
            minutes,
            datapoints,
            last,
            lowest,
        } => {
            s.line(Line::from(l!(
                lang,
                "{}부터 {}분 연속 임계값 {} 이상 (데이터포인트 {}개, 최저 {}, 현재 {}; {}) — 짧은 스파이크가 아니라 지속 상태.",
                "At or above the {2} threshold for {1} minutes in a row since {0} ({3} datapoints, lowest {4}, now {5}; {6}): no longer a short spike.",
                hm(*since, tz, lang),
                minutes,
                pct(req.threshold),
                datapoints,
                pct(*lowest),
                pct(*last),
                first
            )));
            s.line(Line::from(if req.production {
                l!(
                    lang,
                    "우선순위 {}로 상향: 운영(production) 인스턴스의 지속적인 CPU 포화.",
                    "Priority raised to {}: sustained high CPU on a production instance.",
                    priority.label()
                )
            } else {
                l!(
                    lang,
                    "우선순위 {}: 비운영 인스턴스의 지속적인 CPU 포화.",
                    "Priority {}: sustained high CPU on a non-production instance.",
                    priority.label()
                )
            }));
            s.step(l!(
                lang,
                "지금 CPU를 쓰는 프로세스 확인 (SSM Run Command, 읽기만 함):",
                "Find what uses the CPU now (SSM Run Command, read-only):"
            ));
            for c in steps::shell(id, &[steps::CPU_NOW]) {
                s.command(c.arg("--region", "REGION", region));
            }
            s.step(l!(
                lang,
                "예상된 부하라면 scale up/out (첫 보고의 📈 참고); 아니라면 해당 프로세스를 멈추거나 원인 작업을 조사.",
                "If it is the expected load, scale up or out (the first report's 📈); if not, stop the process or look into the job behind it."
            ));
            (
                "Spike became sustained",
                l!(
                    lang,
                    "스파이크가 지속 상태로 전환",
                    "Spike became sustained"
                ),
            )
        }
        Picture::Higher { peak, at } => {
            s.line(Line::from(l!(
                lang,
                "새 피크 {} ({}), {}보다 높음 — 스파이크가 커지는 중.",
                "A new peak of {} at {}, above {}: the spike is growing.",
                pct(*peak),
                hm(*at, tz, lang),
                first
            )));
            s.step(l!(
                lang,
                "지금 CPU를 쓰는 프로세스 확인 (SSM Run Command, 읽기만 함):",
                "Find what uses the CPU now (SSM Run Command, read-only):"
            ));
            for c in steps::shell(id, &[steps::CPU_NOW]) {
                s.command(c.arg("--region", "REGION", region));
            }
            (
                "Spike peaked higher",
                l!(lang, "스파이크 피크 상승", "Spike peaked higher"),
            )
        }
        Picture::Recovered {
            peak,
            peak_at,
            minutes_above,
            back_at,
            last,
        } => {
            s.line(Line::from(l!(
                lang,
                "임계값 {} 아래로 회복: 피크 {} ({}), 임계값 이상 {}분, {}부터 아래; 현재 {}.",
                "Back under the {} threshold: peak {} at {}, above it for {} min, under it since {}; now {}.",
                pct(req.threshold),
                pct(*peak),
                hm(*peak_at, tz, lang),
                minutes_above,
                hm(*back_at, tz, lang),
                pct(*last)
            )));
            s.line(Line::from(l!(
                lang,
                "조치 불필요; 같은 시각에 반복되면 예약 작업(cron/batch)을 확인.",
                "Nothing to do; if it recurs at the same time of day, look for a scheduled job (cron/batch)."
            )));
            (
                "Spike recovered",
                l!(lang, "스파이크 회복", "Spike recovered"),
            )
        }
        Picture::Unchanged { .. } => ("Spike unchanged", l!(lang, "변화 없음", "Unchanged")),
    };
    message(
        &Thread {
            priority,
            headline,
            title: &title,
            instance_id: id,
            alarm_name: &req.alarm_name,
            acted_at: req.alarm_at,
            incident_key: &req.incident_key,
            thread_id: &req.thread_id,
            kind: "recheck",
            recheck: true,
        },
        s,
        lang,
        tz,
    )
}
