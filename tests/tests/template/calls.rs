//! The AWS operations the adapters call, read from their source (`aws/src/*.rs`, the crate `ec2ops-aws`): the half
//! of the IAM test that reads code. `main.rs` compares what it finds with what the template grants.

use std::collections::{BTreeMap, BTreeSet};

/// SDK crate (`aws_sdk_<crate>`) → IAM service prefix, where the two differ; every other crate's name is its prefix
/// (ec2, cloudwatch, sns, sqs, dynamodb, scheduler, ssm, lambda, …).
pub(super) const IAM_PREFIX: &[(&str, &str)] = &[
    ("cloudwatchlogs", "logs"),
    ("elasticloadbalancingv2", "elasticloadbalancing"),
    ("eventbridge", "events"),
    ("sfn", "states"),
];

/// DynamoDB `TransactWriteItems` is no IAM action: each element of the transaction is authorized as the item action
/// it performs. The element kinds are read from the adapter that builds the transaction: the builder type
/// (`Put::builder()`) or the setter right after `TransactWriteItem::builder()` (`.put(…)`, `.set_put(…)`).
pub(super) const TRANSACTION_ELEMENTS: &[(&str, &str, &str)] = &[
    ("Put", "put", "dynamodb:PutItem"),
    ("Update", "update", "dynamodb:UpdateItem"),
    (
        "ConditionCheck",
        "condition_check",
        "dynamodb:ConditionCheckItem",
    ),
    ("Delete", "delete", "dynamodb:DeleteItem"),
];

/// Actions a call needs besides its own, with the reason (AWS's "dependent actions", and the keys of encrypted
/// resources). They count as called whenever the call is.
pub(super) const DEPENDENT: &[(&str, &[&str], &str)] = &[
    (
        "scheduler:CreateSchedule",
        &["iam:PassRole"],
        "the schedule's target names the role Scheduler invokes the function with",
    ),
    (
        "ec2:StartInstances",
        &["kms:CreateGrant"],
        "starting an instance whose EBS volumes use a customer-managed KMS key",
    ),
    (
        "sns:Publish",
        &["kms:GenerateDataKey", "kms:Decrypt"],
        "publishing to the KMS-encrypted report topic",
    ),
];

/// Granted ahead of the adapter that calls it: template.yaml grants these for adapter code that lands separately.
/// An action here must be granted and must not yet be called; once the code calls it the tests fail until it is
/// removed from this list, so the list only ever shrinks to empty.
pub(super) const PENDING: &[&str] = &[];

pub(super) const ADAPTERS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../aws/src");

/// The adapters' source files, subdirectories included: (path under aws/src, text), sorted by path.
pub(super) fn adapter_sources() -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("aws/src") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let name = path
                    .strip_prefix(ADAPTERS_DIR)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((
                    name,
                    std::fs::read_to_string(&path).expect("adapter source"),
                ));
            }
        }
    }
    let mut files = Vec::new();
    walk(std::path::Path::new(ADAPTERS_DIR), &mut files);
    files.sort();
    assert!(!files.is_empty(), "no adapter source in {ADAPTERS_DIR}");
    files
}

pub(super) fn adapter_source(name: &str) -> String {
    std::fs::read_to_string(format!("{ADAPTERS_DIR}/{name}")).expect("adapter source")
}

pub(super) fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// Rust source without comments, with string and char literals emptied and (unless `keep_space`) all whitespace
/// dropped, so that a call chain split over lines reads as one run
/// (`self.client.describe_instances().instance_ids(id).send()`) and nothing inside a comment or a string is taken
/// for code.
pub(super) fn squeeze(src: &str, keep_space: bool) -> Vec<char> {
    let b: Vec<char> = src.chars().collect();
    let at = |i: usize| b.get(i).copied();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let raw_hashes = if c == 'r' && (i == 0 || !is_ident(b[i - 1])) {
            let mut n = 0;
            while at(i + 1 + n) == Some('#') {
                n += 1;
            }
            (at(i + 1 + n) == Some('"')).then_some(n)
        } else {
            None
        };
        if c == '/' && at(i + 1) == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && at(i + 1) == Some('/')) {
                i += 1;
            }
            i += 2;
        } else if let Some(n) = raw_hashes {
            i += n + 2;
            while i < b.len() && !(b[i] == '"' && (1..=n).all(|k| at(i + k) == Some('#'))) {
                i += 1;
            }
            i += n + 1;
            out.extend(['"', '"']);
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.extend(['"', '"']);
        } else if c == '\'' && at(i + 1) == Some('\\') {
            // An escaped char ('\n', '\'', '\u{…}'): step over the escaped character, then to the closing quote.
            i += 3;
            while i < b.len() && b[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && at(i + 2) == Some('\'') {
            i += 3;
        } else {
            if keep_space || !c.is_whitespace() {
                out.push(c);
            }
            i += 1;
        }
    }
    out
}

pub(super) fn find_all(code: &[char], needle: &str) -> Vec<usize> {
    let n: Vec<char> = needle.chars().collect();
    (0..code.len().saturating_sub(n.len() - 1))
        .filter(|&i| code[i..i + n.len()] == n[..])
        .collect()
}

pub(super) fn text(code: &[char]) -> String {
    code.iter().collect()
}

/// The identifier that ends just before `end`.
pub(super) fn ident_before(code: &[char], end: usize) -> (usize, String) {
    let mut k = end;
    while k > 0 && is_ident(code[k - 1]) {
        k -= 1;
    }
    (k, text(&code[k..end]))
}

/// The method calls of the chain that ends just before `end` (the `.` of its `.send()`), first to last, and the text
/// of its receiver (`self.client`). Field accesses and `?` are stepped over; a function or macro call, or anything
/// else, ends the chain.
pub(super) fn chain_before(code: &[char], end: usize) -> (String, Vec<String>) {
    let mut methods = Vec::new();
    let mut i = end;
    let mut receiver_end = end;
    while i > 0 {
        match code[i - 1] {
            ')' => {
                let mut depth = 0;
                let mut j = i - 1;
                loop {
                    match code[j] {
                        ')' => depth += 1,
                        '(' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    if j == 0 {
                        return (String::new(), methods);
                    }
                    j -= 1;
                }
                let (k, name) = ident_before(code, j);
                if name.is_empty() || k == 0 || code[k - 1] != '.' {
                    break;
                }
                methods.push(name);
                i = k - 1;
                receiver_end = i;
            }
            '?' => i -= 1,
            c if is_ident(c) => {
                let (k, _) = ident_before(code, i);
                i = k;
                if k > 0 && code[k - 1] == '.' {
                    i = k - 1;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    methods.reverse();
    (text(&code[i..receiver_end]), methods)
}

/// Arguments of the call whose `(` is at `open`, split at top-level commas.
pub(super) fn call_args(code: &[char], open: usize) -> Vec<String> {
    let mut args = vec![String::new()];
    let mut depth = 0;
    for &c in &code[open..] {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        if depth >= 1 && !(depth == 1 && c == '(') {
            args.last_mut().unwrap().push(c);
        }
    }
    args
}

/// A macro metavariable in operation position (`$self.client.$call()`): the operations are the matching argument of
/// every invocation of the macro that contains it.
pub(super) fn macro_operations(
    code: &[char],
    at: usize,
    metavar: &str,
) -> Result<Vec<String>, String> {
    let def = find_all(code, "macro_rules!")
        .into_iter()
        .rfind(|&d| d < at)
        .ok_or_else(|| format!("{metavar} outside a macro_rules!"))?;
    let name = {
        let start = def + "macro_rules!".len();
        let mut k = start;
        while k < code.len() && is_ident(code[k]) {
            k += 1;
        }
        text(&code[start..k])
    };
    let matcher_open = code[def..]
        .iter()
        .position(|&c| c == '(')
        .map(|p| def + p)
        .ok_or_else(|| format!("macro {name}: no matcher"))?;
    let position = call_args(code, matcher_open)
        .iter()
        .position(|p| p.starts_with(&format!("{metavar}:")))
        .ok_or_else(|| format!("macro {name}: {metavar} is not a parameter of its first rule"))?;
    let mut ops = Vec::new();
    for call in find_all(code, &format!("{name}!(")) {
        if call > 0 && is_ident(code[call - 1]) {
            continue;
        }
        let args = call_args(code, call + name.len() + 1);
        let op = args
            .get(position)
            .filter(|a| !a.is_empty() && a.chars().all(is_ident))
            .ok_or_else(|| format!("{name}!(…): argument {position} is not an operation name"))?;
        ops.push(op.clone());
    }
    if ops.is_empty() {
        return Err(format!("macro {name} calls {metavar} but is never invoked"));
    }
    Ok(ops)
}

/// `describe_instance_status` → `DescribeInstanceStatus`.
pub(super) fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// The `aws_sdk_<crate>` crates a file names.
pub(super) fn sdk_crates(code: &[char]) -> BTreeSet<String> {
    find_all(code, "aws_sdk_")
        .into_iter()
        .filter(|&i| i == 0 || !is_ident(code[i - 1]))
        .map(|i| {
            let start = i + "aws_sdk_".len();
            let mut k = start;
            while k < code.len() && (code[k].is_ascii_alphanumeric() || code[k] == '_') {
                k += 1;
            }
            text(&code[start..k])
        })
        .collect()
}

pub(super) fn iam_prefix(sdk_crate: &str) -> String {
    IAM_PREFIX
        .iter()
        .find(|(c, _)| *c == sdk_crate)
        .map_or(sdk_crate, |(_, p)| p)
        .to_string()
}

/// IAM action → where the adapters need it (`cloudwatch.rs: list_metrics`).
pub(super) type Needs = BTreeMap<String, BTreeSet<String>>;

/// Every IAM action the given adapter sources need. A call is an SDK fluent-builder chain ending in `.send()`
/// (paginators included: `op().into_paginator().send()` calls `op`), or any `client.<op>(…)`; its service is the
/// file's SDK crate (with several, the one its receiver names, then the one the file is named after). Whatever
/// cannot be read is returned as a problem, so a new way of calling AWS fails the test instead of going unseen.
pub(super) fn derive_needs(files: &[(String, String)]) -> Result<Needs, Vec<String>> {
    let mut needs = Needs::new();
    let mut problems = Vec::new();
    for (file, src) in files {
        let code = squeeze(src, false);
        // With the spaces kept: `use aws_sdk_sqs as sqs;` must not read as the crate `sqsassqs`.
        let crates = sdk_crates(&squeeze(src, true));
        // The file's own name, or its directory's for a mod.rs: the service a file is about.
        let stem = {
            let path = std::path::Path::new(file.as_str());
            match path.file_stem().and_then(|s| s.to_str()) {
                Some("mod") => path
                    .parent()
                    .and_then(|p| p.file_name())
                    .and_then(|s| s.to_str())
                    .unwrap_or("mod"),
                other => other.unwrap_or_default(),
            }
        };
        let mut calls: Vec<(String, String)> = Vec::new(); // (receiver, op)
        for end in find_all(&code, ".send()") {
            let (receiver, methods) = chain_before(&code, end);
            let op = methods
                .iter()
                .find(|m| !matches!(m.as_str(), "clone" | "as_ref"))
                .cloned();
            match op {
                Some(op) if op.starts_with('$') => match macro_operations(&code, end, &op) {
                    Ok(ops) => calls.extend(ops.into_iter().map(|o| (receiver.clone(), o))),
                    Err(e) => problems.push(format!("{file}: {e}")),
                },
                Some(op) if op != "send" => calls.push((receiver, op)),
                _ => problems.push(format!(
                    "{file}: cannot tell which operation `{receiver}.send()` calls - write the call as one \
                     chain from the client to .send()"
                )),
            }
        }
        for at in find_all(&code, "client.") {
            if at > 0 && is_ident(code[at - 1]) {
                continue;
            }
            let start = at + "client.".len();
            let mut k = start;
            while k < code.len() && is_ident(code[k]) {
                k += 1;
            }
            let op = text(&code[start..k]);
            if code.get(k) == Some(&'(') && !op.starts_with('$') && op != "clone" {
                calls.push(("client".into(), op));
            }
        }
        for (receiver, op) in calls {
            let service = if crates.len() == 1 {
                crates.first().cloned()
            } else {
                let named: Vec<&String> = crates
                    .iter()
                    .filter(|c| receiver.to_lowercase().contains(c.as_str()))
                    .collect();
                match named.as_slice() {
                    [one] => Some((*one).clone()),
                    _ => crates.get(stem).cloned(),
                }
            };
            let Some(service) = service else {
                problems.push(format!(
                    "{file}: `{receiver}.{op}()` - which service? The file names the SDK crates {crates:?}; \
                     name the client field after its crate or move the call to <crate>.rs"
                ));
                continue;
            };
            let prefix = iam_prefix(&service);
            let origin = format!("{file}: {op}");
            let mut actions = Vec::new();
            if prefix == "dynamodb" && op == "transact_write_items" {
                let kinds: Vec<&str> = TRANSACTION_ELEMENTS
                    .iter()
                    .filter(|(ty, setter, _)| {
                        let by_type = find_all(&code, &format!("{ty}::builder("))
                            .into_iter()
                            .any(|i| i == 0 || !is_ident(code[i - 1]));
                        let by_setter = [format!(".{setter}("), format!(".set_{setter}(")]
                            .iter()
                            .any(|s| {
                                !find_all(&code, &format!("TransactWriteItem::builder(){s}"))
                                    .is_empty()
                            });
                        by_type || by_setter
                    })
                    .map(|(_, _, action)| *action)
                    .collect();
                if kinds.is_empty() {
                    problems.push(format!(
                        "{file}: transact_write_items, but no element kind (Put/Update/ConditionCheck/Delete) \
                         found - see TRANSACTION_ELEMENTS"
                    ));
                }
                actions.extend(kinds.into_iter().map(str::to_string));
            } else {
                actions.push(format!("{prefix}:{}", pascal(&op)));
            }
            for action in actions {
                if let Some((_, more, why)) = DEPENDENT.iter().find(|(a, _, _)| *a == action) {
                    for m in *more {
                        needs
                            .entry(m.to_string())
                            .or_default()
                            .insert(format!("{origin} ({why})"));
                    }
                }
                needs.entry(action).or_default().insert(origin.clone());
            }
        }
    }
    if problems.is_empty() {
        Ok(needs)
    } else {
        Err(problems)
    }
}

pub(super) fn adapter_needs() -> Needs {
    derive_needs(&adapter_sources()).unwrap_or_else(|problems| {
        panic!(
            "cannot read the AWS calls of aws/src:\n  {}",
            problems.join("\n  ")
        )
    })
}
