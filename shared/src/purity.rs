//! The pure domain stays pure: the modules that parse, analyze, decide and render — and the values under them — do no
//! I/O, read no clock and never wait. The clock comes in as data (`now`), the facts come in gathered, and the result
//! goes out as data: which is why `shared/tests/rules.rs`, `golden.rs` and `render.rs` call them with no port and no
//! runtime. A source scan, unit tests left out; `config` alone reads the environment (the settings, validated once at
//! cold start).

use std::path::{Path, PathBuf};

/// The pure modules: every layer above `ports` (see `layering.rs`).
const PURE: &[&str] = &[
    "model",
    "message",
    "source",
    "insights",
    "text",
    "pricing",
    "diagnostics",
    "config",
    "evidence",
    "credits",
    "facts",
    "catalogue",
    "analyze",
    "remediation",
    "event",
    "report",
];

/// What pure code never writes: a clock, the file system, the network, the environment, a process, a wait.
const IMPURE: &[&str] = &[
    "Utc::now",
    "Local::now",
    "SystemTime",
    "Instant::now",
    "std::fs",
    "std::net",
    "std::env",
    "std::process",
    "tokio::",
    "thread::sleep",
    ".await",
    "async fn",
];

/// The one exception: the settings are read from the environment at cold start.
const ALLOWED: &[(&str, &str)] = &[("config.rs", "std::env")];

/// The source files of module `m` (its `m.rs` and everything under `m/`), unit-test files left out.
fn files_of(src: &Path, m: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src.join(format!("{m}.rs"));
    if file.is_file() {
        out.push(file);
    }
    let mut dirs = vec![src.join(m)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(path);
            }
        }
    }
    out
}

/// Every impure word in `source` (before its unit tests; comments left out): `(line, word)`.
fn impurities(name: &str, source: &str) -> Vec<(usize, &'static str)> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut found = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or_default();
        for word in IMPURE {
            let allowed = ALLOWED.iter().any(|(f, w)| name.ends_with(f) && w == word);
            if line.contains(word) && !allowed {
                found.push((i + 1, *word));
            }
        }
    }
    found
}

#[test]
fn the_pure_domain_does_no_io_reads_no_clock_and_never_waits() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut read = 0;
    for m in PURE {
        for path in files_of(&src, m) {
            let Ok(source) = std::fs::read_to_string(&path) else {
                continue;
            };
            read += 1;
            let name = path.display().to_string();
            for (line, word) in impurities(&name, &source) {
                found.push(format!("{name}:{line}: {word}"));
            }
        }
    }
    assert!(read > 40, "read the pure modules' {read} files");
    assert!(
        found.is_empty(),
        "impure code in the pure domain:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_clock_read_a_wait_or_a_file_read_is_found_and_a_comment_or_a_test_is_not() {
    let source = "fn f() -> DateTime<Utc> {\n    // Utc::now would be wrong here\n    Utc::now()\n}\nasync fn g() { x.await }\nfn h() { std::fs::read(\"a\"); }\n#[cfg(test)]\nmod tests { fn t() { Utc::now(); } }\n";
    let found = impurities("report/x.rs", source);
    assert_eq!(
        found,
        [
            (3, "Utc::now"),
            (5, ".await"),
            (5, "async fn"),
            (6, "std::fs")
        ]
    );
    assert!(impurities("config.rs", "let v = std::env::vars();").is_empty());
    assert_eq!(
        impurities("report/y.rs", "let v = std::env::vars();"),
        [(1, "std::env")]
    );
}
