//! How a command and a numbered step appear in a report: a command for this incident's region on its own `$` line,
//! a step numbered in order. Shared by every section that suggests commands. [`Steps`] keeps the commands of each
//! step as data beside the lines, so the chat card's next steps and the summary's safe next command are chosen from
//! the commands themselves, never read back from rendered text.

use super::shell::Command;
use super::text::Line;
use super::Ctx;

/// A command's line in a section: `    $ <command>`, the command a code piece.
pub(super) fn command_line(cmd: &Command) -> Line {
    Line::new().t("    ").prompt().c(cmd.render())
}

/// A command for this incident's region. Every value in it goes through [`super::shell`]: the region comes from the
/// event too.
pub(super) fn in_region(cx: &Ctx<'_>, cmd: Command) -> Command {
    cmd.arg("--region", "REGION", &cx.region)
}

/// A suggested command for this incident's region, as a line.
pub(super) fn cli(cx: &Ctx<'_>, cmd: Command) -> Line {
    command_line(&in_region(cx, cmd))
}

/// A sequence of operator commands, one line each, in order.
pub(super) fn clis(cx: &Ctx<'_>, cmds: Vec<Command>) -> Vec<Line> {
    cmds.into_iter().map(|c| cli(cx, c)).collect()
}

/// The lines of a section of operator steps, with each step's commands kept as data: consecutive commands form one
/// group (a sequence that only works whole: stop → wait → start, send-command → wait → read).
#[derive(Debug, Default)]
pub(super) struct Steps {
    pub(super) lines: Vec<Line>,
    numbered: usize,
    groups: Vec<Vec<Command>>,
    /// The last line is a command: the next one joins its group.
    in_group: bool,
    /// Where the second numbered step starts.
    second: Option<usize>,
}

impl Steps {
    /// Steps after lines that carry no command (what ec2ops did).
    pub(super) fn after(lines: Vec<Line>) -> Self {
        Steps {
            lines,
            ..Steps::default()
        }
    }

    /// A numbered step.
    pub(super) fn step(&mut self, text: String) {
        if self.numbered == 1 {
            self.second = Some(self.lines.len());
        }
        self.numbered += 1;
        self.line(Line::from(format!("{}. {text}", self.numbered)));
    }

    /// A line that is not a command.
    pub(super) fn line(&mut self, line: Line) {
        self.lines.push(line);
        self.in_group = false;
    }

    /// A command for this incident's region, in the current step's group.
    pub(super) fn cmd(&mut self, cx: &Ctx<'_>, cmd: Command) {
        self.command(in_region(cx, cmd));
    }

    /// Commands for this incident's region, in order, in the current step's group.
    pub(super) fn cmds(&mut self, cx: &Ctx<'_>, cmds: impl IntoIterator<Item = Command>) {
        for c in cmds {
            self.cmd(cx, c);
        }
    }

    /// A command as given (its region already in it).
    pub(super) fn command(&mut self, cmd: Command) {
        self.lines.push(command_line(&cmd));
        match self.groups.last_mut() {
            Some(g) if self.in_group => g.push(cmd),
            _ => self.groups.push(vec![cmd]),
        }
        self.in_group = true;
    }

    /// How many numbered steps there are.
    pub(super) fn count(&self) -> usize {
        self.numbered
    }

    /// How many lines say what ec2ops did and give the first step (all of them when there is one step or none).
    pub(super) fn head(&self) -> usize {
        self.second.unwrap_or(self.lines.len())
    }

    /// The command groups, in order.
    pub(super) fn groups(&self) -> &[Vec<Command>] {
        &self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_commands_make_one_group_and_a_line_between_them_starts_another() {
        let mut s = Steps::default();
        s.step("Stop and start:".into());
        s.command(Command::new("aws ec2 stop-instances"));
        s.command(Command::new("aws ec2 start-instances"));
        s.step("Read:".into());
        s.command(Command::new("aws ec2 describe-instances"));
        let groups: Vec<Vec<String>> = s
            .groups()
            .iter()
            .map(|g| g.iter().map(Command::render).collect())
            .collect();
        assert_eq!(
            groups,
            [
                vec!["aws ec2 stop-instances", "aws ec2 start-instances"],
                vec!["aws ec2 describe-instances"]
            ]
        );
        assert_eq!(s.count(), 2);
        assert_eq!(s.lines.len(), 5);
    }
}
