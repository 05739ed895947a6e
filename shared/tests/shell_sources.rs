//! Every command line ec2ops prints is built by `shared/src/report/shell.rs`. Read from the source of the library,
//! the CLI and the Lambda function: no format string may put a value into command-looking text (`aws ec2 …`,
//! `ec2ops incidents …`, `sudo …`, `du -…`) unless the value comes out of a shell.rs helper (`shell::word`,
//! `shell::quote`, `shell::remote_word`, a rendered `Command`) or is our own literal; and no command-looking literal
//! may end where a value would be appended by hand (`"… --instance-ids "`). A new raw command fails here, naming
//! the file and line; a proven-safe exception goes in [`ALLOWED`] with its reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Findings proven safe without a shell.rs helper: (file, text of the literal, the interpolated expression — empty
/// for an open-ended literal —, why no value from an event or an instance can reach a printed command through it).
const ALLOWED: &[(&str, &str, &str, &str)] = &[(
    "shared/src/diagnostics/processes.rs",
    "top -b ",
    "",
    "PROBES: a prefix the diagnostics' own probe lines are recognised by in the output, never printed",
)];

/// Raw commands in files owned by another change, to be quoted there: (file, text of the literal, what to do). The
/// test fails when one is no longer found, so the entry is removed with the fix.
const PENDING: &[(&str, &str, &str)] = &[];

/// Programs whose command lines we print or could: a literal holding one of these (at a word boundary) is a command.
const PROGRAMS: &[&str] = &[
    "sudo ",
    "systemctl ",
    "journalctl ",
    "curl ",
    "wget ",
    "ssh ",
    "scp ",
    "chmod ",
    "chown ",
    "xfs_growfs ",
    "resize2fs ",
    "growpart ",
    "sh -c",
    "bash -c",
    "du -",
    "df -",
    "rm -",
    "kill -",
    "ps -",
    "top -",
    "tail -",
    "grep -",
    "dmesg -",
    "cat /",
    "ls /",
    "find /",
];

/// The `ec2ops` subcommands, read from the CLI's `enum Command` (`cli/src/main.rs`): its variants in kebab case, so
/// a new subcommand is a command here too.
fn ec2ops_subcommands() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let src = std::fs::read_to_string(workspace().join("cli/src/main.rs")).expect("the CLI");
        let toks = lex(&src);
        let (parent, _) = nesting(&toks);
        let at = toks
            .windows(3)
            .position(|w| {
                w[0].kind == Kind::Ident("enum".into())
                    && w[1].kind == Kind::Ident("Command".into())
                    && w[2].kind == Kind::Punct('{')
            })
            .expect("enum Command in cli/src/main.rs")
            + 2;
        let mut names = Vec::new();
        let mut previous = Kind::Punct('{');
        for (i, t) in toks.iter().enumerate().skip(at + 1) {
            if parent[i] != Some(at) {
                if parent[i].is_none_or(|p| p < at) {
                    break;
                }
                continue;
            }
            if let Kind::Ident(variant) = &t.kind {
                if matches!(previous, Kind::Punct('{' | ',' | ']' | '}')) {
                    let mut kebab = String::new();
                    for (n, c) in variant.chars().enumerate() {
                        if c.is_ascii_uppercase() && n > 0 {
                            kebab.push('-');
                        }
                        kebab.push(c.to_ascii_lowercase());
                    }
                    names.push(kebab);
                }
            }
            previous = t.kind.clone();
        }
        names
    })
}

/// Where `text` starts a command line: `aws <service> <operation>`, `ec2ops <subcommand>`, or one of [`PROGRAMS`].
fn command_start(text: &str) -> Option<usize> {
    let boundary = |at: usize| {
        text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || "_-./".contains(c)))
    };
    let lower_word = |s: &str| {
        let n = s
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(s.len());
        (n > 0).then_some(n)
    };
    text.char_indices().map(|(i, _)| i).find(|&i| {
        if !boundary(i) {
            return false;
        }
        let rest = &text[i..];
        if let Some(after) = rest.strip_prefix("aws ") {
            // `aws ec2 start-instances`: a service, then an operation.
            return lower_word(after).is_some_and(|n| {
                after[n..]
                    .strip_prefix(' ')
                    .is_some_and(|op| op.starts_with(|c: char| c.is_ascii_lowercase()))
            });
        }
        if let Some(after) = rest.strip_prefix("ec2ops ") {
            return ec2ops_subcommands().iter().any(|s| {
                after
                    .strip_prefix(s.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
            });
        }
        PROGRAMS.iter().any(|p| rest.starts_with(p))
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A string literal, its escapes decoded.
    Str(String),
    Ident(String),
    Punct(char),
    /// Numbers, char literals, lifetimes.
    Other,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
}

/// Rust source as tokens, without comments or whitespace: enough to find string literals and the macro calls and
/// arguments around them.
fn lex(src: &str) -> Vec<Tok> {
    let cs: Vec<(usize, char)> = src.char_indices().collect();
    let at = |i: usize| cs.get(i).map(|&(_, c)| c);
    let pos = |i: usize| cs.get(i).map_or(src.len(), |&(p, _)| p);
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(c) = at(i) {
        let start = pos(i);
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == Some('/') {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            let mut depth = 0;
            loop {
                match (at(i), at(i + 1)) {
                    (Some('/'), Some('*')) => {
                        depth += 1;
                        i += 2;
                    }
                    (Some('*'), Some('/')) => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    }
                    (None, _) => break,
                    _ => i += 1,
                }
            }
        } else if let Some((hashes, open)) = raw_string_start(&cs, i) {
            // r"…", r#"…"#, br"…"
            let mut j = open + 1;
            let mut text = String::new();
            while let Some(c) = at(j) {
                if c == '"' && (1..=hashes).all(|k| at(j + k) == Some('#')) {
                    break;
                }
                text.push(c);
                j += 1;
            }
            i = j + 1 + hashes;
            out.push(Tok {
                kind: Kind::Str(text),
                start,
                end: pos(i),
            });
        } else if c == '"' || (c == 'b' && at(i + 1) == Some('"')) {
            let mut j = if c == 'b' { i + 2 } else { i + 1 };
            let mut text = String::new();
            while let Some(c) = at(j) {
                match c {
                    '"' => break,
                    '\\' => {
                        j += 1;
                        match at(j) {
                            Some('n') => text.push('\n'),
                            Some('t') => text.push('\t'),
                            Some('r') => text.push('\r'),
                            Some('0') => text.push('\0'),
                            Some('x') => {
                                let hex: String = (1..=2).filter_map(|k| at(j + k)).collect();
                                text.push(u8::from_str_radix(&hex, 16).map_or('?', char::from));
                                j += 2;
                            }
                            Some('u') => {
                                let mut hex = String::new();
                                j += 2; // `u{`
                                while let Some(h) = at(j).filter(|&h| h != '}') {
                                    hex.push(h);
                                    j += 1;
                                }
                                text.push(
                                    u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .unwrap_or('?'),
                                );
                            }
                            Some('\n') => {
                                // A line continuation: the newline and the next line's indentation are not text.
                                while at(j + 1).is_some_and(char::is_whitespace) {
                                    j += 1;
                                }
                            }
                            Some(other) => text.push(other),
                            None => break,
                        }
                    }
                    c => text.push(c),
                }
                j += 1;
            }
            i = j + 1;
            out.push(Tok {
                kind: Kind::Str(text),
                start,
                end: pos(i),
            });
        } else if c == '\'' || (c == 'b' && at(i + 1) == Some('\'')) {
            let q = if c == 'b' { i + 1 } else { i };
            if at(q + 1) == Some('\\') {
                // An escaped char literal: '\'', '\\', '\n', '\u{202e}'.
                let mut j = q + 3;
                while at(j).is_some_and(|c| c != '\'') {
                    j += 1;
                }
                i = j + 1;
            } else if at(q + 2) == Some('\'') {
                i = q + 3;
            } else {
                // A lifetime or a label.
                i = q + 1;
            }
            out.push(Tok {
                kind: Kind::Other,
                start,
                end: pos(i),
            });
        } else if c.is_alphabetic() || c == '_' {
            let mut j = i;
            while at(j).is_some_and(|c| c.is_alphanumeric() || c == '_') {
                j += 1;
            }
            let word: String = cs[i..j].iter().map(|&(_, c)| c).collect();
            i = j;
            out.push(Tok {
                kind: Kind::Ident(word),
                start,
                end: pos(i),
            });
        } else if c.is_ascii_digit() {
            while at(i).is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                // `1..n` is a range, not a number's decimal point.
                if at(i) == Some('.') && at(i + 1) == Some('.') {
                    break;
                }
                i += 1;
            }
            out.push(Tok {
                kind: Kind::Other,
                start,
                end: pos(i),
            });
        } else {
            i += 1;
            out.push(Tok {
                kind: Kind::Punct(c),
                start,
                end: pos(i),
            });
        }
    }
    out
}

/// At `i`, a raw string's start: the number of `#` and the index of its opening quote.
fn raw_string_start(cs: &[(usize, char)], i: usize) -> Option<(usize, usize)> {
    let at = |i: usize| cs.get(i).map(|&(_, c)| c);
    let r = match (at(i), at(i + 1)) {
        (Some('r'), _) => i,
        (Some('b'), Some('r')) => i + 1,
        _ => return None,
    };
    if i > 0 && at(i - 1).is_some_and(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let mut j = r + 1;
    while at(j) == Some('#') {
        j += 1;
    }
    (at(j) == Some('"')).then_some((j - r - 1, j))
}

/// The tokens of a file's code outside `#[cfg(test)] mod … { … }` (a unit test spells out commands to compare).
fn non_test(toks: Vec<Tok>) -> Vec<Tok> {
    let is = |t: Option<&Tok>, k: &Kind| t.is_some_and(|t| &t.kind == k);
    let ident = |s: &str| Kind::Ident(s.to_string());
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let cfg_test = [
            Kind::Punct('#'),
            Kind::Punct('['),
            ident("cfg"),
            Kind::Punct('('),
            ident("test"),
            Kind::Punct(')'),
            Kind::Punct(']'),
        ];
        let attr = cfg_test
            .iter()
            .enumerate()
            .all(|(k, kind)| is(toks.get(i + k), kind));
        if attr && is(toks.get(i + 7), &ident("mod")) && is(toks.get(i + 9), &Kind::Punct('{')) {
            let mut depth = 0;
            let mut j = i + 9;
            while j < toks.len() {
                match toks[j].kind {
                    Kind::Punct('{') => depth += 1,
                    Kind::Punct('}') => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
        } else {
            out.push(toks[i].clone());
            i += 1;
        }
    }
    out
}

/// For every token, the index of the innermost bracket that contains it; for every opener, its closer.
fn nesting(toks: &[Tok]) -> (Vec<Option<usize>>, BTreeMap<usize, usize>) {
    let mut parent = Vec::with_capacity(toks.len());
    let mut close = BTreeMap::new();
    let mut stack: Vec<usize> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.kind {
            Kind::Punct(')' | ']' | '}') => {
                if let Some(o) = stack.pop() {
                    close.insert(o, i);
                }
                parent.push(stack.last().copied());
            }
            _ => {
                parent.push(stack.last().copied());
                if matches!(t.kind, Kind::Punct('(' | '[' | '{')) {
                    stack.push(i);
                }
            }
        }
    }
    (parent, close)
}

/// The arguments of the group opened at `open`: token index ranges split at its own commas.
fn arguments(
    toks: &[Tok],
    parent: &[Option<usize>],
    open: usize,
    close: usize,
) -> Vec<(usize, usize)> {
    let mut args = Vec::new();
    let mut from = open + 1;
    for i in open + 1..close {
        if toks[i].kind == Kind::Punct(',') && parent[i] == Some(open) {
            args.push((from, i));
            from = i + 1;
        }
    }
    if from < close {
        args.push((from, close));
    }
    args
}

/// Which arguments of a macro are format strings (all of them string literals), or `None` for a macro whose format
/// string is its first literal argument (tracing's, after the fields).
fn format_positions(name: &str) -> Option<Option<&'static [usize]>> {
    match name {
        "format" | "print" | "println" | "eprint" | "eprintln" | "panic" | "format_args"
        | "unreachable" | "todo" | "unimplemented" | "bail" | "anyhow" => Some(Some(&[0])),
        "write" | "writeln" | "assert" | "debug_assert" | "ensure" => Some(Some(&[1])),
        "assert_eq" | "assert_ne" | "debug_assert_eq" | "debug_assert_ne" => Some(Some(&[2])),
        // The phrasebook's pair: `l!(lang, "한국어 {}", "English {}", args…)`.
        "l" => Some(Some(&[1, 2])),
        "info" | "warn" | "error" | "debug" | "trace" => Some(None),
        _ => None,
    }
}

/// What a format string's `{…}` names.
#[derive(Debug, PartialEq)]
enum Slot {
    Position(usize),
    Name(String),
}

/// The interpolations of a format string, each with where it is in the text.
fn slots(fmt: &str) -> Vec<(usize, Slot)> {
    let mut out = Vec::new();
    let mut next = 0;
    let mut chars = fmt.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
            }
            '{' => {
                let mut inner = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    inner.push(c);
                }
                let arg = inner.split(':').next().unwrap_or_default().trim();
                let slot = if arg.is_empty() {
                    next += 1;
                    Slot::Position(next - 1)
                } else if let Ok(n) = arg.parse() {
                    Slot::Position(n)
                } else {
                    Slot::Name(arg.to_string())
                };
                out.push((i, slot));
            }
            _ => {}
        }
    }
    out
}

/// Whether the tokens of an expression can only give a shell-safe word: a shell.rs helper's result (`shell::word(…)`,
/// `shell::quote(…)`, `shell::remote_word(…)`), a rendered `Command` (`….render()`), a literal, or a choice between
/// literals (`if … { "-- " } else { "" }`).
fn proven(toks: &[Tok], close: &BTreeMap<usize, usize>, from: usize, to: usize) -> bool {
    let mut from = from;
    while from < to && toks[from].kind == Kind::Punct('&') {
        from += 1;
    }
    let expr = &toks[from..to];
    let kinds: Vec<&Kind> = expr.iter().map(|t| &t.kind).collect();
    let id = |k: &Kind, s: &str| matches!(k, Kind::Ident(x) if x == s);
    // `….render()`
    if let [.., Kind::Punct('.'), m, Kind::Punct('('), Kind::Punct(')')] = kinds.as_slice() {
        if id(m, "render") {
            return true;
        }
    }
    // A literal.
    if let [Kind::Str(_)] = kinds.as_slice() {
        return true;
    }
    // `if … { "a" } else { "b" }`
    if let [first, .., Kind::Punct('{'), Kind::Str(_), Kind::Punct('}'), e, Kind::Punct('{'), Kind::Str(_), Kind::Punct('}')] =
        kinds.as_slice()
    {
        if id(first, "if") && id(e, "else") {
            return true;
        }
    }
    // `shell::word(…)` and its siblings (bare inside shell.rs), the call being the whole expression.
    let mut path = Vec::new();
    let mut i = 0;
    while let Some(Kind::Ident(seg)) = kinds.get(i) {
        path.push(seg.as_str());
        if kinds.get(i + 1) == Some(&&Kind::Punct(':'))
            && kinds.get(i + 2) == Some(&&Kind::Punct(':'))
        {
            i += 3;
        } else {
            i += 1;
            break;
        }
    }
    let call_is_whole =
        kinds.get(i) == Some(&&Kind::Punct('(')) && close.get(&(from + i)).copied() == Some(to - 1);
    let helper = matches!(path.last(), Some(&("word" | "quote" | "remote_word")))
        && (path.len() == 1 || path[path.len() - 2] == "shell");
    call_is_whole && helper
}

/// A raw command found in a file: its line and what is wrong.
#[derive(Debug, Clone)]
struct Finding {
    line: usize,
    literal: String,
    problem: String,
    expr: String,
}

/// The raw commands of one file's source.
fn scan(src: &str) -> Vec<Finding> {
    let toks = non_test(lex(src));
    let (parent, close) = nesting(&toks);
    let line_of = |byte: usize| src[..byte].matches('\n').count() + 1;
    let text_of = |from: usize, to: usize| -> String {
        if from >= to {
            String::new()
        } else {
            src[toks[from].start..toks[to - 1].end].to_string()
        }
    };
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        let Kind::Str(lit) = &t.kind else { continue };
        let Some(cmd) = command_start(lit) else {
            continue;
        };
        let mut found = |problem: String, expr: String| {
            out.push(Finding {
                line: line_of(t.start),
                literal: lit.clone(),
                problem,
                expr,
            })
        };
        // The call or macro around the literal.
        let group = parent[i].filter(|&o| matches!(toks[o].kind, Kind::Punct('(' | '[' | '{')));
        let callee = group.and_then(|o| {
            let bang = o >= 2 && toks[o - 1].kind == Kind::Punct('!');
            let name = match toks.get(o.wrapping_sub(if bang { 2 } else { 1 }))?.kind {
                Kind::Ident(ref n) => n.clone(),
                _ => return None,
            };
            Some((o, bang, name))
        });
        let has_slots = !slots(lit).is_empty();
        let format = callee.as_ref().and_then(|(o, bang, name)| {
            let positions = bang.then(|| format_positions(name)).flatten();
            let args = arguments(
                &toks,
                &parent,
                *o,
                close.get(o).copied().unwrap_or(toks.len()),
            );
            let literal_arg =
                |&(a, b): &(usize, usize)| b == a + 1 && matches!(toks[a].kind, Kind::Str(_));
            let fmt_args: Vec<usize> = match positions {
                Some(Some(ps)) => ps
                    .iter()
                    .copied()
                    .filter(|&p| args.get(p).is_some_and(literal_arg))
                    .collect(),
                Some(None) => args.iter().position(literal_arg).into_iter().collect(),
                None => Vec::new(),
            };
            let mine = args.iter().position(|&(a, b)| a <= i && i < b)?;
            fmt_args.contains(&mine).then(|| {
                let values = args[fmt_args.iter().max().copied().unwrap_or(0) + 1..].to_vec();
                (name.clone(), values)
            })
        });
        match format {
            Some((_, values)) => {
                let mut named = BTreeMap::new();
                let mut positional = Vec::new();
                for &(a, b) in &values {
                    match (
                        &toks[a].kind,
                        toks.get(a + 1).map(|t| &t.kind),
                        toks.get(a + 2).map(|t| &t.kind),
                    ) {
                        (Kind::Ident(n), Some(Kind::Punct('=')), Some(k))
                            if *k != Kind::Punct('=') && b > a + 2 =>
                        {
                            named.insert(n.clone(), (a + 2, b));
                        }
                        _ => positional.push((a, b)),
                    }
                }
                for (at, slot) in slots(lit) {
                    if at < cmd {
                        continue;
                    }
                    let arg = match &slot {
                        Slot::Position(n) => positional.get(*n).copied(),
                        Slot::Name(n) => named.get(n).copied(),
                    };
                    match arg {
                        Some((a, b)) if proven(&toks, &close, a, b) => {}
                        Some((a, b)) => found(
                            "a value interpolated into a command without shell.rs".into(),
                            text_of(a, b),
                        ),
                        None => found(
                            "a variable captured into a command without shell.rs".into(),
                            match slot {
                                Slot::Name(n) => n,
                                Slot::Position(n) => format!("argument {n}"),
                            },
                        ),
                    }
                }
            }
            None if has_slots && callee.as_ref().is_some_and(|(_, bang, _)| *bang) => found(
                "a command with interpolations in a macro this test does not know".into(),
                callee.map(|(_, _, n)| format!("{n}!")).unwrap_or_default(),
            ),
            None => {
                // Our own command words are fine (`Command::new("aws ec2 stop-instances")`); a command that ends
                // where a value would be appended is built by hand.
                let builder = callee.as_ref().is_some_and(|(_, bang, n)| {
                    !bang && ["new", "lit", "runs"].contains(&n.as_str())
                });
                let open_ended = lit.ends_with([' ', '\'', '"', '=']) || lit.ends_with("$(");
                if open_ended && !builder {
                    found(
                        "a command literal that ends where a value would be appended by hand"
                            .into(),
                        String::new(),
                    );
                }
            }
        }
    }
    out
}

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

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every raw command of the library, the CLI and the functions, as `file: finding`.
fn findings() -> Vec<(String, Finding)> {
    let root = workspace();
    let mut files = Vec::new();
    rust_files(&root.join("shared/src"), &mut files);
    rust_files(&root.join("cli/src"), &mut files);
    if let Ok(functions) = std::fs::read_dir(root.join("functions")) {
        for f in functions.flatten() {
            rust_files(&f.path().join("src"), &mut files);
        }
    }
    files.sort();
    assert!(files.len() > 50, "the sources were found: {}", files.len());
    let mut out = Vec::new();
    // `#[cfg(test)] mod tests;` files (`remediation/tests.rs`) are unit tests, which spell commands out to compare.
    files.retain(|f| f.file_name().is_none_or(|n| n != "tests.rs"));
    for f in files {
        let src = std::fs::read_to_string(&f).expect("source file");
        let rel = f
            .strip_prefix(&root)
            .unwrap_or(&f)
            .to_string_lossy()
            .replace('\\', "/");
        out.extend(scan(&src).into_iter().map(|x| (rel.clone(), x)));
    }
    out
}

#[test]
fn every_printed_command_takes_its_values_only_through_the_shell_quoting() {
    let all = findings();
    let allowed = |file: &str, f: &Finding| {
        ALLOWED
            .iter()
            .any(|(af, lit, expr, _)| *af == file && f.literal.contains(lit) && f.expr == *expr)
    };
    let pending = |file: &str, f: &Finding| {
        PENDING
            .iter()
            .any(|(pf, lit, _)| *pf == file && f.literal.contains(lit))
    };
    let raw: Vec<String> = all
        .iter()
        .filter(|(file, f)| !allowed(file, f) && !pending(file, f))
        .map(|(file, f)| {
            format!(
                "{file}:{}: {} ({}) in {:?}",
                f.line, f.problem, f.expr, f.literal
            )
        })
        .collect();
    assert!(
        raw.is_empty(),
        "commands built without shell.rs (use report::shell::Command, or shell::word/quote for one value):\n{}",
        raw.join("\n")
    );
    for (file, lit, todo) in PENDING {
        assert!(
            all.iter()
                .any(|(f, x)| f == file && x.literal.contains(lit)),
            "{file} no longer builds {lit:?} by hand ({todo}): remove it from PENDING"
        );
    }
    for (file, lit, expr, why) in ALLOWED {
        assert!(
            all.iter()
                .any(|(f, x)| f == file && x.literal.contains(lit) && x.expr == *expr),
            "the exception {file} {lit:?} {expr} ({why}) matches nothing: remove it from ALLOWED"
        );
    }
}

#[test]
fn the_scan_finds_the_raw_commands_it_is_for_and_passes_quoted_ones() {
    // Finding 7: the covered incident's look-back record, as it was.
    let covered = r#"
        fn covered(by: &str) -> String {
            // format!("ec2ops incidents show {by}") in a comment is no code.
            format!("This incident was reported in its AZ's one AZ-EVENT report: ec2ops incidents show '{by}'")
        }"#;
    let recover = r#"
        fn note(id: &str, region: &str, e: &str) -> String {
            format!("StartInstances failed ({e}): run `aws ec2 start-instances --instance-ids {id} --region {region}`")
        }"#;
    let phrase = r#"fn f(lang: Language, id: &str) -> String {
            l!(lang, "재부팅: {}", "Reboot: aws ec2 reboot-instances --instance-ids {}", id)
        }"#;
    let positional =
        r#"fn f(k: &str) -> String { format!("{}: ec2ops incidents show {}", "x", k) }"#;
    let concatenated = r#"fn f(id: &str) -> String {
            let mut s = String::from("aws ec2 start-instances --instance-ids ");
            s.push_str(id);
            s
        }"#;
    let unknown_macro =
        r#"fn f(id: &str) -> String { my_format!("aws ec2 start-instances --instance-ids {id}") }"#;
    for (what, src) in [
        ("inline capture", covered),
        ("several captures", recover),
        ("the phrasebook", phrase),
        ("a positional value", positional),
        ("concatenation", concatenated),
        ("an unknown macro", unknown_macro),
    ] {
        assert!(!scan(src).is_empty(), "{what} not found in {src}");
    }
    assert_eq!(scan(covered).len(), 1, "{:?}", scan(covered));
    assert_eq!(scan(recover).len(), 2, "{:?}", scan(recover));

    let quoted = r#"
        fn show(k: &str, path: &str, c: &Command, id: &str) -> Vec<String> {
            vec![
                format!("ec2ops incidents show {}", shell::word(k)),
                format!("ec2ops incidents show {key}", key = &shell::quote(k)),
                format!("du -xh {}{} 2>/dev/null", if path.starts_with('-') { "-- " } else { "" }, shell::remote_word("MOUNT_PATH", path)),
                format!("[{}] aws ec2 describe-instances {}", id, c.render()),
                format!("the reboot of {id}: ec2ops ran it"),
                Command::new("aws ec2 start-instances").arg("--instance-ids", "INSTANCE_ID", id).render(),
                l!(lang, "{}분", "{} minutes", n),
                format!("{} {}", 'a', "aws ec2 describe-instances"),
            ]
        }
        #[cfg(test)]
        mod tests {
            fn spelled_out(id: &str) -> String { format!("aws ec2 start-instances --instance-ids {id}") }
        }"#;
    assert!(scan(quoted).is_empty(), "{:?}", scan(quoted));
    // A value through a helper, but a second one raw, is still found.
    let half = r#"fn f(k: &str, r: &str) -> String { format!("ec2ops incidents show {} --region {}", shell::word(k), word_of(r)) }"#;
    let f = scan(half);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].expr, "word_of(r)");
}

#[test]
fn command_text_is_recognised_by_its_program_and_operation() {
    assert_eq!(command_start("run `aws ec2 start-instances --x`"), Some(5));
    assert_eq!(command_start("ec2ops incidents show KEY"), Some(0));
    assert_eq!(command_start("x | sudo tee"), Some(4));
    for sub in ["respond", "incidents"] {
        assert!(
            ec2ops_subcommands().iter().any(|s| s == sub),
            "{sub} in {:?}",
            ec2ops_subcommands()
        );
    }
    for prose in [
        "ec2ops ran {} at {}",
        "[{}] ec2ops digest: {} incidents",
        "the aws console",
        "via aws.cloudwatch",
        "daws ec2 x",
    ] {
        assert_eq!(command_start(prose), None, "{prose}");
    }
}
