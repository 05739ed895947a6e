//! What an advice section (📈 💰 🔒 🤖) shows: each line that bears on this incident or on the action recommended
//! for it in full, the rest of the instance's hygiene folded into one line, and one line saying so when nothing
//! does — so advice that would read the same for most incidents does not bury the advice that matters.

use crate::config::Language;

use super::text::Line;

/// The lines of one advice section being built.
#[derive(Default)]
pub(super) struct Advice {
    lines: Vec<Line>,
    hygiene: Vec<String>,
}

impl Advice {
    /// A line that bears on this incident or its action.
    pub(super) fn bears(&mut self, line: Line) {
        self.lines.push(line);
    }

    /// Lines that bear on this incident or its action.
    pub(super) fn bear(&mut self, lines: impl IntoIterator<Item = Line>) {
        self.lines.extend(lines);
    }

    /// A hygiene finding about the instance that does not bear on this incident: named in the one hygiene line.
    pub(super) fn hygiene(&mut self, finding: String) {
        self.hygiene.push(finding);
    }

    /// The section's lines: the ones that bear on the incident, then the hygiene line; when there is neither, one
    /// line starting with `—` that says nothing here bears on this incident.
    pub(super) fn finish(self, lang: Language) -> Vec<Line> {
        let mut lines = self.lines;
        if !self.hygiene.is_empty() {
            lines.push(Line::from(l!(
                lang,
                "이 incident와 무관한 점검 결과: {}",
                "Not about this incident: {}",
                self.hygiene.join(" · ")
            )));
        }
        if lines.is_empty() {
            lines.push(Line::from(l!(
                lang,
                "— 이 incident와 관련된 사항 없음",
                "— nothing here bears on this incident"
            )));
        }
        lines
    }
}
