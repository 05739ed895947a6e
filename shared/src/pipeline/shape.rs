//! The pipeline stays readable: no function in `src/pipeline/` is longer than [`MAX_LINES`] lines, from its `fn`
//! line to its closing brace (doc comments and attributes not counted; unit tests left out). A longer one is split
//! into named steps, as `incident.rs` shows.

use std::path::Path;

/// The longest a function of the pipeline may be.
const MAX_LINES: usize = 60;

/// Every function of `source` with its first line (1-based) and its length in lines, up to the first `#[cfg(test)]`.
fn functions(source: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#[cfg(test)]"))
        .unwrap_or(lines.len());
    let mut out = Vec::new();
    for (i, line) in lines[..end].iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let Some(name) = fn_name(trimmed) else {
            continue;
        };
        if trimmed.trim_end().ends_with('}') {
            // A function on one line.
            continue;
        }
        // The body opens on the line that ends with `{` (a declaration ending with `;` has none).
        let Some(open) = (i..end).find(|&j| {
            let t = lines[j].trim_end();
            t.ends_with('{') || t.ends_with(';')
        }) else {
            continue;
        };
        if lines[open].trim_end().ends_with(';') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        if let Some(last) = (open..end).find(|&j| lines[j].trim_end() == close) {
            out.push((name, i + 1, last - i + 1));
        }
    }
    out
}

/// The name of the function a line declares, if it does.
fn fn_name(line: &str) -> Option<String> {
    let mut words = line.split_whitespace().peekable();
    while let Some(w) = words.next() {
        match w {
            "pub" | "async" | "const" | "unsafe" => {}
            w if w.starts_with("pub(") => {}
            "fn" => {
                let name = words.next()?;
                let name: String = name
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                return (!name.is_empty()).then_some(name);
            }
            _ => return None,
        }
    }
    None
}

#[test]
fn no_function_of_the_pipeline_is_longer_than_sixty_lines() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/pipeline");
    let mut long = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        files += 1;
        for (name, line, len) in functions(&source) {
            if len > MAX_LINES {
                long.push(format!("{}:{line} {name}: {len} lines", path.display()));
            }
        }
    }
    assert!(
        files >= 10,
        "read the pipeline's files in {}",
        dir.display()
    );
    assert!(
        long.is_empty(),
        "split these into named steps:\n{}",
        long.join("\n")
    );
}

#[test]
fn a_long_function_is_measured_from_its_fn_line_to_its_closing_brace() {
    let body = "    let x = 1;\n".repeat(70);
    let source = format!(
        "/// Doc.\npub(super) async fn long(\n    a: u8,\n) -> u8 {{\n{body}    x\n}}\n\nfn short() {{}}\n\nfn declared();\n\n#[cfg(test)]\nfn in_tests() {{\n{body}}}\n"
    );
    let found = functions(&source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "long");
    assert_eq!(found[0].1, 2);
    assert_eq!(found[0].2, 75);
}

/// Every `.publish(` call in the library's own sources outside the in-memory adapters (`memory/`, `sim/`; the AWS
/// adapters are another crate), unit tests left out: `file:line`.
fn publish_calls(src: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let adapter = ["memory", "sim"].iter().any(|a| path == src.join(a));
            if path.is_dir() && !adapter {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let Ok(source) = std::fs::read_to_string(&path) else {
                    continue;
                };
                let code = source.split("#[cfg(test)]").next().unwrap_or_default();
                for (i, line) in code.lines().enumerate() {
                    if line.contains(".publish(") && !line.trim_start().starts_with("//") {
                        found.push(format!("{}:{}", path.display(), i + 1));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn every_message_leaves_through_the_one_call_in_the_outbox() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let calls = publish_calls(&src);
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert!(calls[0].contains("pipeline/outbox.rs"), "{calls:#?}");
}
