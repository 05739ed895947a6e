//! The documentation is a front door, checked like code (no other code here):
//!
//! - **The README stays short**: at most [`README_LINES`] lines — what ec2ops is, the flow, the two commands, a
//!   report, links — and every page under `docs/` is one click from it.
//! - **Every relative link resolves**: in the README, `ARCHITECTURE.md`, `CONTRIBUTING.md`, `BENCHMARKS.md` and
//!   `docs/*.md`, a link to a file names one that exists and a link to a heading (`page.md#anchor`, `#anchor`) names
//!   one of that page's headings, as GitHub spells its anchors.
//! - **Each invariant names the tests that enforce it**: every bullet under `ARCHITECTURE.md`'s "Invariants" names
//!   at least one test, and every test name it gives (a backticked `snake_case` sentence) is a function in the tree.

/// The README's length limit, in lines.
#[cfg(test)]
const README_LINES: usize = 150;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::README_LINES;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn read(path: &Path) -> String {
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The Markdown outside fenced code blocks (a link in a sample report is not a link).
    fn prose(md: &str) -> String {
        let mut fenced = false;
        md.lines()
            .filter(|l| {
                if l.trim_start().starts_with("```") {
                    fenced = !fenced;
                    return false;
                }
                !fenced
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// GitHub's anchor of a heading: lower case, punctuation dropped (letters, digits, `-` and `_` kept), spaces as
    /// hyphens.
    fn slug(heading: &str) -> String {
        heading
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect()
    }

    fn anchors(md: &str) -> BTreeSet<String> {
        prose(md)
            .lines()
            .filter_map(|l| {
                let t = l.trim_start_matches('#');
                (l.starts_with('#') && t.starts_with(' ')).then(|| slug(t))
            })
            .collect()
    }

    /// The targets of a page's inline links, `[text](target)`, outside code blocks.
    fn links(md: &str) -> Vec<String> {
        let text = prose(md);
        let mut out = Vec::new();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("](") {
            rest = &rest[i + 2..];
            if let Some(end) = rest.find(')') {
                let target = &rest[..end];
                if !target.contains(char::is_whitespace) {
                    out.push(target.to_string());
                }
            }
        }
        out
    }

    fn pages() -> Vec<PathBuf> {
        let root = root();
        let mut pages: Vec<PathBuf> = [
            "README.md",
            "ARCHITECTURE.md",
            "CONTRIBUTING.md",
            "BENCHMARKS.md",
        ]
        .iter()
        .map(|p| root.join(p))
        .collect();
        let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        docs.retain(|p| p.extension().is_some_and(|x| x == "md"));
        docs.sort();
        pages.extend(docs);
        pages
    }

    /// The links of the pages that name no file, or no heading of the page they name.
    fn broken_links(pages: &[(PathBuf, String)]) -> Vec<String> {
        let mut broken = Vec::new();
        for (page, md) in pages {
            for target in links(md) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, anchor) = match target.split_once('#') {
                    Some((f, a)) => (f, Some(a)),
                    None => (target.as_str(), None),
                };
                let path = match file {
                    "" => page.clone(),
                    f => page.parent().unwrap_or(Path::new(".")).join(f),
                };
                if !path.exists() {
                    broken.push(format!("{}: {target} (no such file)", page.display()));
                    continue;
                }
                if let Some(anchor) = anchor {
                    let is_md = path.extension().is_some_and(|x| x == "md");
                    if is_md && !anchors(&read(&path)).contains(anchor) {
                        broken.push(format!("{}: {target} (no such heading)", page.display()));
                    }
                }
            }
        }
        broken
    }

    #[test]
    fn the_readme_is_at_most_a_hundred_and_fifty_lines_and_links_every_page_of_the_docs() {
        let readme = read(&root().join("README.md"));
        let lines = readme.lines().count();
        assert!(lines <= README_LINES, "README.md: {lines} lines");
        let linked: BTreeSet<String> = links(&readme).into_iter().collect();
        let unlinked: Vec<String> = pages()
            .iter()
            .filter_map(|p| p.strip_prefix(root()).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .filter(|p| p != "README.md")
            .filter(|p| {
                !linked
                    .iter()
                    .any(|l| l.split('#').next() == Some(p.as_str()))
            })
            .collect();
        assert!(
            unlinked.is_empty(),
            "not linked from the README: {unlinked:?}"
        );
    }

    #[test]
    fn every_relative_link_of_the_documentation_names_a_file_and_a_heading_that_exist() {
        let pages: Vec<(PathBuf, String)> =
            pages().into_iter().map(|p| (p.clone(), read(&p))).collect();
        assert!(pages.len() > 10, "the documentation: {} pages", pages.len());
        let broken = broken_links(&pages);
        assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
    }

    #[test]
    fn a_missing_page_and_a_missing_heading_are_broken_links() {
        let page = root().join("README.md");
        let md = "[a](docs/nowhere.md) [b](#no-such-heading) [c](#two-commands) [d](https://x.example/y)\n\
                  ```\n[e](in/a/code/block.md)\n```\n## Two commands\n";
        let broken = broken_links(&[(page, md.to_string())]);
        assert_eq!(broken.len(), 2, "{broken:?}");
        assert!(broken[0].contains("docs/nowhere.md (no such file)"));
        assert!(broken[1].contains("#no-such-heading (no such heading)"));
        assert_eq!(
            slug("`shared/` — the library, crate `ec2ops`"),
            "shared--the-library-crate-ec2ops"
        );
    }

    /// The names of every function in the repository's Rust sources (`fn name`), test or not.
    fn functions() -> BTreeSet<String> {
        fn walk(dir: &Path, out: &mut BTreeSet<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                let name = e.file_name().to_string_lossy().to_string();
                if path.is_dir() && name != "target" && !name.starts_with('.') {
                    walk(&path, out);
                } else if name.ends_with(".rs") {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    for (i, _) in text.match_indices("fn ") {
                        let name: String = text[i + 3..]
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        out.insert(name);
                    }
                }
            }
        }
        let mut out = BTreeSet::new();
        for dir in ["shared", "aws", "functions", "cli", "tests"] {
            walk(&root().join(dir), &mut out);
        }
        out
    }

    /// A backticked `snake_case` sentence of at least four words: how a test is named here.
    fn test_names(text: &str) -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .filter(|w| {
                w.split('_').count() >= 4
                    && w.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_invariant_of_the_architecture_names_tests_that_exist() {
        let md = read(&root().join("ARCHITECTURE.md"));
        let Some((_, invariants)) = md.split_once("\n## Invariants") else {
            panic!("ARCHITECTURE.md has no Invariants section");
        };
        let invariants = invariants.split("\n## ").next().unwrap_or_default();
        // One bullet is its first line and the indented lines under it.
        let mut bullets: Vec<String> = Vec::new();
        for line in invariants.lines() {
            if line.starts_with("- ") {
                bullets.push(line.to_string());
            } else if line.starts_with("  ") {
                if let Some(b) = bullets.last_mut() {
                    b.push(' ');
                    b.push_str(line.trim());
                }
            }
        }
        assert!(bullets.len() > 30, "{} invariants", bullets.len());
        let fns = functions();
        let mut faults = Vec::new();
        for b in &bullets {
            let names = test_names(b);
            let head: String = b.chars().take(80).collect();
            if names.is_empty() {
                faults.push(format!("names no test: {head}"));
            }
            for n in names.iter().filter(|n| !fns.contains(*n)) {
                faults.push(format!("no test `{n}`: {head}"));
            }
        }
        assert!(faults.is_empty(), "{}", faults.join("\n"));
    }
}
