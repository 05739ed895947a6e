//! How a command and a numbered step appear in a report: a command for this incident's region on its own `$` line,
//! a step numbered in order. Shared by every section that suggests commands.

use super::shell::Command;
use super::text::Line;
use super::Ctx;

/// A suggested command for this incident's region. Every value in it goes through [`super::shell`]: the region comes from
/// the event too.
pub(super) fn cli(cx: &Ctx<'_>, cmd: Command) -> Line {
    Line::new()
        .t("    $ ")
        .c(cmd.arg("--region", "REGION", &cx.region).render())
}

/// A sequence of operator commands, one line each, in order.
pub(super) fn clis(cx: &Ctx<'_>, cmds: Vec<Command>) -> Vec<Line> {
    cmds.into_iter().map(|c| cli(cx, c)).collect()
}

pub(super) fn step(lines: &mut Vec<Line>, n: &mut usize, text: String) {
    *n += 1;
    lines.push(Line::from(format!("{n}. {text}")));
}
