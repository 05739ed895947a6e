//! A test of the library's shape: no module imports from a module that imports it, directly or through others —
//! among the top-level modules (`facts`, `report`, `aws`, …) and among the files of each directory module
//! (`report/actions.rs`, `report/remedy.rs`, …). Read from the source files, so a new `use` that closes a circle
//! fails here, naming it.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    type Graph = BTreeMap<String, BTreeSet<String>>;

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// The code of a file without its unit tests (a `#[cfg(test)]` module may use anything) and without comments
    /// (a doc link names a module without importing it).
    fn non_test_code(text: &str) -> String {
        let code = text
            .find("#[cfg(test)]\nmod ")
            .map_or(text, |at| &text[..at]);
        code.lines()
            .map(|l| l.find("//").map_or(l, |at| &l[..at]))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Module paths a file names: `crate::a::b` → ["a", "b"], `super::b` → relative to the file's parent.
    fn references(code: &str, own: &[String]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(own))] {
            let mut rest = code;
            while let Some(at) = rest.find(prefix) {
                let before = rest[..at].chars().last();
                rest = &rest[at + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let path: Vec<String> = rest
                    .split("::")
                    .map(|seg| {
                        seg.chars()
                            .take_while(|c| {
                                c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'
                            })
                            .collect::<String>()
                    })
                    .take_while(|s| !s.is_empty())
                    .collect();
                if !path.is_empty() {
                    let mut full = base.clone();
                    full.extend(path);
                    out.push(full);
                }
            }
        }
        out
    }

    fn parent(own: &[String]) -> Vec<String> {
        own[..own.len().saturating_sub(1)].to_vec()
    }

    /// The module path of a source file: `report/actions.rs` → ["report", "actions"], `report/mod.rs` → ["report"].
    fn module_of(src: &Path, file: &Path) -> Vec<String> {
        let rel = file.strip_prefix(src).unwrap_or(file);
        let mut parts: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
            parts.pop();
        }
        parts
    }

    /// The graph at one level: among the children of `scope` (the top level when empty).
    fn graph(files: &[(Vec<String>, String)], scope: &[String]) -> Graph {
        let mut g = Graph::new();
        for (module, code) in files {
            if module.len() <= scope.len() || module[..scope.len()] != *scope {
                continue;
            }
            let from = &module[scope.len()];
            g.entry(from.clone()).or_default();
            for r in references(code, module) {
                if r.len() > scope.len() && r[..scope.len()] == *scope {
                    let to = &r[scope.len()];
                    if to != from
                        && files.iter().any(|(m, _)| {
                            m.get(scope.len()) == Some(to) && m[..scope.len()] == *scope
                        })
                    {
                        g.entry(from.clone()).or_default().insert(to.clone());
                    }
                }
            }
        }
        g
    }

    /// A circle through the graph, if any, as the list of modules on it.
    fn circle(g: &Graph) -> Option<Vec<String>> {
        fn visit(
            g: &Graph,
            node: &str,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) -> Option<Vec<String>> {
            if let Some(at) = path.iter().position(|p| p == node) {
                let mut c = path[at..].to_vec();
                c.push(node.to_string());
                return Some(c);
            }
            if done.contains(node) {
                return None;
            }
            path.push(node.to_string());
            for next in g.get(node).into_iter().flatten() {
                if let Some(c) = visit(g, next, path, done) {
                    return Some(c);
                }
            }
            path.pop();
            done.insert(node.to_string());
            None
        }
        let mut done = BTreeSet::new();
        g.keys()
            .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
    }

    #[test]
    fn no_module_imports_from_a_module_that_imports_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut paths = Vec::new();
        rust_files(&src, &mut paths);
        let files: Vec<(Vec<String>, String)> = paths
            .iter()
            // Unit tests in their own file (`#[cfg(test)] mod tests;`) may use anything, like inline ones.
            .filter(|p| p.file_stem().is_some_and(|s| s != "tests"))
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap_or_default();
                (module_of(&src, p), non_test_code(&text))
            })
            .collect();
        assert!(files.len() > 20, "source files found: {}", files.len());
        let mut scopes: BTreeSet<Vec<String>> = BTreeSet::new();
        scopes.insert(Vec::new());
        for (m, _) in &files {
            for depth in 1..m.len() {
                scopes.insert(m[..depth].to_vec());
            }
        }
        let circles: Vec<String> = scopes
            .iter()
            .filter_map(|scope| {
                circle(&graph(&files, scope)).map(|c| {
                    let at = if scope.is_empty() {
                        "crate".to_string()
                    } else {
                        scope.join("::")
                    };
                    format!("in {at}: {}", c.join(" → "))
                })
            })
            .collect();
        assert!(
            circles.is_empty(),
            "module circles:\n{}",
            circles.join("\n")
        );
    }

    #[test]
    fn a_circle_is_found_where_there_is_one() {
        let files = vec![
            (vec!["a".to_string()], "use crate::b::X;".to_string()),
            (vec!["b".to_string()], "use crate::c::Y;".to_string()),
            (
                vec!["c".to_string()],
                "fn f() { crate::a::z() }".to_string(),
            ),
            (vec!["d".to_string()], "use crate::a::X;".to_string()),
        ];
        assert_eq!(
            circle(&graph(&files, &[])),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        let files = vec![
            (vec!["r".into(), "x".into()], "use super::y::f;".to_string()),
            (vec!["r".into(), "y".into()], "use super::x::g;".to_string()),
        ];
        assert!(circle(&graph(&files, &["r".to_string()])).is_some());
        assert!(circle(&graph(&files, &[])).is_none());
    }
}
