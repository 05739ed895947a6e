//! The catalogue (`shared/src/catalogue.rs`) is the one place a metric is spelled. Read from the library's source
//! with `syn`: no string literal outside the catalogue — in code or in a macro's arguments (`l!`, `format!`,
//! `json!`) — may hold a metric name of [`ec2ops::catalogue::METRICS`] as a word; the code names it through the
//! catalogue's constant. Unit tests (`#[cfg(test)]` items and `tests.rs` files) and doc comments may quote names.
//! A literal in a file owned by another change waits in [`PENDING`].

use std::path::{Path, PathBuf};

use syn::buffer::{Cursor, TokenBuffer};
use syn::visit::{self, Visit};
use syn::{Attribute, Lit};

/// Metric names spelled in files owned by another change, to be replaced by the catalogue's constant there: (file,
/// metric, where). The test fails when one is no longer found, so the entry is removed with the fix.
const PENDING: &[(&str, &str, &str)] = &[
    (
        "shared/src/model.rs",
        "StatusCheckFailed",
        "claims_check_failure: a prefix of the status metrics (model is a value above the catalogue's layer)",
    ),
];

/// The words of a literal that are metric names.
fn metric_words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| ec2ops::catalogue::METRICS.contains(w))
        .map(str::to_string)
        .collect()
}

/// `#[cfg(test)]` or `#[cfg(all(test, …))]`.
fn test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && match &a.meta {
                syn::Meta::List(l) => l
                    .tokens
                    .to_string()
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|w| w == "test"),
                _ => false,
            }
    })
}

#[derive(Default)]
struct Spelled {
    /// `(metric, the literal holding it)`.
    found: Vec<(String, String)>,
}

impl Spelled {
    fn literal(&mut self, text: &str) {
        for m in metric_words(text) {
            self.found.push((m, text.to_string()));
        }
    }

    fn tokens(&mut self, mut at: Cursor) {
        while !at.eof() {
            if let Some((inside, _, _, next)) = at.any_group() {
                self.tokens(inside);
                at = next;
            } else if let Some((lit, next)) = at.literal() {
                if let Lit::Str(s) = Lit::new(lit) {
                    self.literal(&s.value());
                }
                at = next;
            } else if let Some((_, next)) = at.token_tree() {
                at = next;
            } else {
                break;
            }
        }
    }
}

impl<'ast> Visit<'ast> for Spelled {
    // Doc comments quote names on purpose.
    fn visit_attribute(&mut self, _: &'ast Attribute) {}

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !test_only(&m.attrs) {
            visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !test_only(&f.attrs) {
            visit::visit_item_fn(self, f);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !test_only(&f.attrs) {
            visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_lit_str(&mut self, s: &'ast syn::LitStr) {
        self.literal(&s.value());
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        visit::visit_macro(self, m);
        let buffer = TokenBuffer::new2(m.tokens.clone());
        self.tokens(buffer.begin());
    }
}

/// The metric names a source spells outside its unit tests, with the literal each is in.
fn spelled_in(src: &str) -> Result<Vec<(String, String)>, syn::Error> {
    let file = syn::parse_file(src)?;
    let mut v = Spelled::default();
    v.visit_file(&file);
    Ok(v.found)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_metric_name_is_spelled_outside_the_catalogue() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    // The AWS adapters' crate too (`aws/`, beside this one).
    sources(&root.join("../aws/src"), &mut files);
    files.sort();
    assert!(files.len() > 50, "the library's sources: {}", files.len());
    let mut found = Vec::new();
    let mut pending_seen = vec![false; PENDING.len()];
    for path in files {
        let rel = match path.strip_prefix(root) {
            Ok(p) => format!("shared/{}", p.to_string_lossy().replace('\\', "/")),
            Err(_) => path.to_string_lossy().replace('\\', "/"),
        };
        // The catalogue spells them; a `#[cfg(test)] mod tests;` file is a unit test.
        if rel == "shared/src/catalogue.rs" || rel.ends_with("/tests.rs") {
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        let spelled = spelled_in(&src).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for (metric, literal) in spelled {
            match PENDING
                .iter()
                .position(|(f, m, _)| *f == rel && *m == metric)
            {
                Some(i) => pending_seen[i] = true,
                None => found.push(format!("{rel}: {metric} in {literal:?}")),
            }
        }
    }
    assert!(
        found.is_empty(),
        "metric names spelled outside shared/src/catalogue.rs (use its constant):\n{}",
        found.join("\n")
    );
    let fixed: Vec<_> = PENDING
        .iter()
        .zip(pending_seen)
        .filter(|(_, seen)| !seen)
        .map(|(p, _)| format!("{p:?}"))
        .collect();
    assert!(
        fixed.is_empty(),
        "no longer spelled there, remove from PENDING:\n{}",
        fixed.join("\n")
    );
}

#[test]
fn the_scan_finds_a_metric_name_in_code_and_in_a_macro_but_not_in_docs_or_unit_tests() {
    let src = r#"
        /// Reads CPUUtilization (a doc comment may name it).
        fn headline(metric: &str, lang: Language) -> String {
            if metric == "CPUUtilization" {
                return l!(lang, "높은 CPU", "High CPU on {}", "NetworkIn");
            }
            format!("{} mem_used_percent", json!({"m": ["disk_used_percent"]}))
        }
        #[cfg(test)]
        mod tests {
            fn t() { assert_eq!(family(Some("BurstBalance")), "EBS"); }
        }
    "#;
    let found: Vec<String> = spelled_in(src)
        .expect("parses")
        .into_iter()
        .map(|(m, _)| m)
        .collect();
    assert_eq!(
        found,
        [
            "CPUUtilization",
            "NetworkIn",
            "mem_used_percent",
            "disk_used_percent"
        ]
    );
    // Part of a longer word is not the metric.
    assert!(metric_words("x_CPUUtilizationMax NetworkInterface").is_empty());
    assert_eq!(
        metric_words("alarm on StatusCheckFailed_System."),
        ["StatusCheckFailed_System"]
    );
}
