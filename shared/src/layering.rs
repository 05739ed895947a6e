//! A test of the library's shape, read from the source files (parsed with `syn`), so a new import that breaks it
//! fails here, naming the file and the import.
//!
//! Two rules:
//!
//! - **No circles.** No module imports from a module that imports it, directly or through others — among the
//!   top-level modules (`facts`, `report`, `pipeline`, …) and among the modules of each module that has any (the files
//!   `report/actions.rs`, `report/remedy.rs`, … of `report`; `memory/ledger/claims.rs`, … of `memory::ledger`).
//! - **Imports point up.** The top-level modules stand in layers, listed top to bottom below (`LAYERS` in the
//!   test): a module imports only from the layers above its own — never from its own layer, never from one below.
//!   Every top-level module stands in exactly one layer; a new module fails the test until it is placed.
//!
//!   1. Values that import nothing of the crate: `model` (the incident), `message` (the SNS message), `source`
//!      (what a read returned, or why it is missing), `insights`, `text`, `pricing`, `diagnostics` (the in-guest
//!      output), `config` (the settings), `layering` (this test; no other code) and `documentation` (the docs' checks).
//!   2. Values built on those: `evidence` (what CloudTrail, the logs and the other alarms returned, shaped for the
//!      rules and the report), `credits` (CPU credit arithmetic, over `pricing`), `silence` (the mute rules and
//!      Change Calendars read).
//!   3. `facts`: everything read for one incident, the evidence among it.
//!   4. `catalogue`: the metrics, keyed by the facts' `Role`.
//!   5. `analyze`: the findings, the priority, the recommendation.
//!   6. `remediation`: the safety envelope's decision, and the messages that verify and continue an action.
//!   7. What reads an incident in and what writes it out: `event` (parsing, the verification and continuation
//!      messages among it) and `report`.
//!   8. `ports`: the traits the application reads and acts through.
//!   9. Over the ports: `budget` (the invocation's time), `storm` (the storm ports; the digest's entries are
//!      `report`'s).
//!   10. `gather`: the reads of one incident, in rounds, under the budget.
//!   11. `pipeline`: the responder.
//!   12. The adapter in this crate: `memory` (the ledger and the storm store in memory, for tests); it implements
//!       the ports and may use anything in the domain (it reads `analyze::AZ_EVENT_INSTANCES` and stores
//!       `report::digest::DigestEntry`), and nothing in the domain imports it (the ports-and-adapters direction).
//!       The AWS adapters are the crate `ec2ops-aws` (`aws/`), which depends on this one: the crate boundary keeps
//!       that direction for them.
//!   13. `sim`: the simulation tier, over `memory` and the whole pipeline.
//!
//! What counts as an import: every path of a `use` (groups `{a, b}`, nested groups, `self`, renames, globs), every
//! path written in code, types and patterns (`crate::report::digest::render(..)` without a `use`), and every path
//! written inside a macro call (`format!("{}", crate::text::x(..))`), when it starts with `crate::`, `super::`,
//! `self::` or a name the module imported or declared. A path through a re-export counts as an import of the module
//! that defines the item (`use super::Thing` where the parent has `pub use summary::Thing` imports `summary`). Unit
//! tests (`#[cfg(test)]` items, and the `#[cfg(test)] mod tests;` files) may import anything and are not read.
//!
//! And one rule read from the manifests: **no AWS SDK in the core.** This crate, the Lambda function and the CLI
//! name no `aws-*` crate among their dependencies of any kind; only `ec2ops-aws` (`aws/Cargo.toml`) does, so the
//! SDK is called from its adapters alone, the code the IAM test reads.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use syn::buffer::{Cursor, TokenBuffer};
    use syn::ext::IdentExt;
    use syn::visit::{self, Visit};
    use syn::{Attribute, ImplItem, Item, Meta, TraitItem, UseTree};

    /// The top-level modules in layers, top to bottom (the list in the module's doc comment, with the reasons).
    const LAYERS: &[&[&str]] = &[
        &[
            "model",
            "message",
            "source",
            "insights",
            "text",
            "pricing",
            "diagnostics",
            "config",
            "layering",
            "documentation",
        ],
        &["evidence", "credits", "silence"],
        &["facts"],
        &["catalogue"],
        &["analyze"],
        &["remediation"],
        &["event", "report"],
        &["ports"],
        &["budget", "storm"],
        &["gather"],
        &["pipeline"],
        &["memory"],
        &["sim"],
    ];

    /// How many re-exports and globs a path is followed through before it is given up as unresolved.
    const DEPTH: usize = 12;

    type Module = Vec<String>;

    /// One source file: where it is (for messages), the module it is, and its text.
    struct Source {
        file: String,
        module: Module,
        text: String,
    }

    /// A path as written in a module: `segments` (`["super", "summary", "Totals"]`), unresolved.
    struct Reference {
        file: String,
        module: Module,
        segments: Vec<String>,
        text: String,
    }

    /// What the test knows of the crate: its modules, the names each declares and imports, and every path written.
    #[derive(Default)]
    struct Crate {
        modules: BTreeSet<Module>,
        /// Items a module declares (`fn`, `struct`, `const`, …), by name.
        declared: BTreeMap<Module, BTreeSet<String>>,
        /// Names a module imports (`use a::b as c` → "c" → ["a", "b"]), as written there.
        imported: BTreeMap<Module, BTreeMap<String, Vec<String>>>,
        /// Glob imports of a module (`use super::*` → ["super"]), as written there.
        globs: BTreeMap<Module, Vec<Vec<String>>>,
        references: Vec<Reference>,
    }

    /// One import between two modules of the crate: `from` the module the path is written in, `to` the item (or
    /// module) it names, from the crate's root.
    struct Import {
        file: String,
        from: Module,
        to: Vec<String>,
        text: String,
        /// Written through a name the module imports (`Role::Cpu` after `use crate::facts::Role`): that `use` is
        /// the import to name.
        derived: bool,
    }

    /// `#[cfg(test)]`, or `#[cfg(all(test, …))]`: the item exists only in unit tests.
    fn test_only(attrs: &[Attribute]) -> bool {
        fn only_in_test(meta: &Meta) -> bool {
            match meta {
                Meta::Path(p) => p.is_ident("test"),
                Meta::List(l) if l.path.is_ident("all") => l
                    .parse_args_with(
                        syn::punctuated::Punctuated::<Meta, syn::Token![,]>::parse_terminated,
                    )
                    .is_ok_and(|all| all.iter().any(only_in_test)),
                _ => false,
            }
        }
        attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<Meta>().is_ok_and(|m| only_in_test(&m))
        })
    }

    fn item_attrs(item: &Item) -> &[Attribute] {
        match item {
            Item::Const(i) => &i.attrs,
            Item::Enum(i) => &i.attrs,
            Item::ExternCrate(i) => &i.attrs,
            Item::Fn(i) => &i.attrs,
            Item::ForeignMod(i) => &i.attrs,
            Item::Impl(i) => &i.attrs,
            Item::Macro(i) => &i.attrs,
            Item::Mod(i) => &i.attrs,
            Item::Static(i) => &i.attrs,
            Item::Struct(i) => &i.attrs,
            Item::Trait(i) => &i.attrs,
            Item::TraitAlias(i) => &i.attrs,
            Item::Type(i) => &i.attrs,
            Item::Union(i) => &i.attrs,
            Item::Use(i) => &i.attrs,
            _ => &[],
        }
    }

    /// The name an item declares in its module, if any.
    fn item_name(item: &Item) -> Option<String> {
        let ident = match item {
            Item::Const(i) => &i.ident,
            Item::Enum(i) => &i.ident,
            Item::ExternCrate(i) => i.rename.as_ref().map_or(&i.ident, |(_, r)| r),
            Item::Fn(i) => &i.sig.ident,
            Item::Macro(i) => i.ident.as_ref()?,
            Item::Mod(i) => &i.ident,
            Item::Static(i) => &i.ident,
            Item::Struct(i) => &i.ident,
            Item::Trait(i) => &i.ident,
            Item::TraitAlias(i) => &i.ident,
            Item::Type(i) => &i.ident,
            Item::Union(i) => &i.ident,
            _ => return None,
        };
        Some(ident.unraw().to_string())
    }

    /// Reads one file's imports into the crate, module by module (a file may hold inline `mod x { … }`).
    struct Reader<'a> {
        file: &'a str,
        module: Module,
        krate: &'a mut Crate,
    }

    impl Reader<'_> {
        fn declare(&mut self, items: &[Item]) {
            let names = items
                .iter()
                .filter(|i| !test_only(item_attrs(i)))
                .filter_map(item_name);
            self.krate
                .declared
                .entry(self.module.clone())
                .or_default()
                .extend(names);
        }

        fn reference(&mut self, segments: Vec<String>, text: String) {
            self.krate.references.push(Reference {
                file: self.file.to_string(),
                module: self.module.clone(),
                segments,
                text,
            });
        }

        /// Every leaf of a `use` tree, as the path it names: `use a::{b, c::{self, d as e}, f::*}` → `a::b`,
        /// `a::c`, `a::d` (imported as `e`), `a::f` (a glob).
        fn use_tree(&mut self, tree: &UseTree, prefix: &mut Vec<String>) {
            match tree {
                UseTree::Path(p) => {
                    prefix.push(p.ident.unraw().to_string());
                    self.use_tree(&p.tree, prefix);
                    prefix.pop();
                }
                UseTree::Name(n) => {
                    let name = n.ident.unraw().to_string();
                    let mut path = prefix.clone();
                    if name != "self" {
                        path.push(name);
                    }
                    self.import(path.clone(), path.last().cloned());
                }
                UseTree::Rename(r) => {
                    let mut path = prefix.clone();
                    let name = r.ident.unraw().to_string();
                    if name != "self" {
                        path.push(name);
                    }
                    let alias = r.rename.unraw().to_string();
                    self.import(path, (alias != "_").then_some(alias));
                }
                UseTree::Glob(_) => {
                    self.krate
                        .globs
                        .entry(self.module.clone())
                        .or_default()
                        .push(prefix.clone());
                    self.reference(prefix.clone(), format!("use {}::*", prefix.join("::")));
                }
                UseTree::Group(g) => {
                    for t in &g.items {
                        self.use_tree(t, prefix);
                    }
                }
            }
        }

        fn import(&mut self, path: Vec<String>, name: Option<String>) {
            if path.is_empty() {
                return;
            }
            if let Some(name) = name {
                self.krate
                    .imported
                    .entry(self.module.clone())
                    .or_default()
                    .insert(name, path.clone());
            }
            let text = format!("use {}", path.join("::"));
            self.reference(path, text);
        }
    }

    impl<'ast> Visit<'ast> for Reader<'_> {
        fn visit_item(&mut self, item: &'ast Item) {
            if !test_only(item_attrs(item)) {
                visit::visit_item(self, item);
            }
        }

        fn visit_impl_item(&mut self, item: &'ast ImplItem) {
            let attrs = match item {
                ImplItem::Const(i) => &i.attrs,
                ImplItem::Fn(i) => &i.attrs,
                ImplItem::Type(i) => &i.attrs,
                ImplItem::Macro(i) => &i.attrs,
                _ => return visit::visit_impl_item(self, item),
            };
            if !test_only(attrs) {
                visit::visit_impl_item(self, item);
            }
        }

        fn visit_trait_item(&mut self, item: &'ast TraitItem) {
            let attrs = match item {
                TraitItem::Const(i) => &i.attrs,
                TraitItem::Fn(i) => &i.attrs,
                TraitItem::Type(i) => &i.attrs,
                TraitItem::Macro(i) => &i.attrs,
                _ => return visit::visit_trait_item(self, item),
            };
            if !test_only(attrs) {
                visit::visit_trait_item(self, item);
            }
        }

        fn visit_local(&mut self, l: &'ast syn::Local) {
            if !test_only(&l.attrs) {
                visit::visit_local(self, l);
            }
        }

        fn visit_arm(&mut self, a: &'ast syn::Arm) {
            if !test_only(&a.attrs) {
                visit::visit_arm(self, a);
            }
        }

        fn visit_field(&mut self, f: &'ast syn::Field) {
            if !test_only(&f.attrs) {
                visit::visit_field(self, f);
            }
        }

        fn visit_variant(&mut self, v: &'ast syn::Variant) {
            if !test_only(&v.attrs) {
                visit::visit_variant(self, v);
            }
        }

        /// An inline module is a module of its own; a `mod x;` is read from its own file.
        fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
            if let Some((_, items)) = &m.content {
                self.module.push(m.ident.unraw().to_string());
                self.krate.modules.insert(self.module.clone());
                self.declare(items);
                for item in items {
                    self.visit_item(item);
                }
                self.module.pop();
            }
        }

        fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
            if u.leading_colon.is_none() {
                self.use_tree(&u.tree, &mut Vec::new());
            }
        }

        fn visit_path(&mut self, p: &'ast syn::Path) {
            if p.leading_colon.is_none() && p.segments.len() > 1 {
                let segments: Vec<String> = p
                    .segments
                    .iter()
                    .map(|s| s.ident.unraw().to_string())
                    .collect();
                let text = segments.join("::");
                self.reference(segments, text);
            }
            visit::visit_path(self, p);
        }

        /// `pub(in crate::x)` names a module without importing from it.
        fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

        /// A macro's arguments are not parsed as code: the paths in them are read from the tokens.
        fn visit_macro(&mut self, m: &'ast syn::Macro) {
            visit::visit_macro(self, m);
            let buffer = TokenBuffer::new2(m.tokens.clone());
            let mut paths = Vec::new();
            token_paths(buffer.begin(), &mut paths);
            for segments in paths {
                let text = format!("{}!(… {} …)", path_text(&m.path), segments.join("::"));
                self.reference(segments, text);
            }
        }
    }

    fn path_text(p: &syn::Path) -> String {
        p.segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::")
    }

    /// Paths of two segments or more in a token stream (`crate :: a :: b` → ["crate", "a", "b"], `$crate` too).
    fn token_paths(mut at: Cursor, out: &mut Vec<Vec<String>>) {
        fn separator(at: Cursor) -> Option<Cursor> {
            let (first, at) = at.punct()?;
            let (second, at) = at.punct()?;
            (first.as_char() == ':' && second.as_char() == ':').then_some(at)
        }
        // How many `:` came just before: a name after `::` continues a path, it does not start one.
        let mut colons = 0;
        while !at.eof() {
            if let Some((inside, _, _, next)) = at.any_group() {
                token_paths(inside, out);
                at = next;
                colons = 0;
            } else if let Some((ident, next)) = at.ident() {
                at = next;
                if colons < 2 {
                    let mut segments = vec![ident.unraw().to_string()];
                    while let Some((ident, next)) = separator(at).and_then(|s| s.ident()) {
                        segments.push(ident.unraw().to_string());
                        at = next;
                    }
                    if segments.len() > 1 {
                        out.push(segments);
                    }
                }
                colons = 0;
            } else if let Some((punct, next)) = at.punct() {
                colons = if punct.as_char() == ':' {
                    colons + 1
                } else {
                    0
                };
                at = next;
            } else if let Some((_, next)) = at.token_tree() {
                at = next;
                colons = 0;
            } else {
                break;
            }
        }
    }

    impl Crate {
        fn read(sources: &[Source]) -> Crate {
            let mut krate = Crate::default();
            krate
                .modules
                .extend(sources.iter().map(|s| s.module.clone()));
            for s in sources {
                let file = syn::parse_file(&s.text)
                    .unwrap_or_else(|e| panic!("{}: not parsed: {e}", s.file));
                if test_only(&file.attrs) {
                    continue;
                }
                let mut reader = Reader {
                    file: &s.file,
                    module: s.module.clone(),
                    krate: &mut krate,
                };
                reader.declare(&file.items);
                for item in &file.items {
                    reader.visit_item(item);
                }
            }
            krate
        }

        /// The path `segments`, written in `module`, from the crate's root, through imports and re-exports; `None`
        /// when it names nothing of this crate (`std::…`, `serde::…`, a name from the prelude).
        fn resolve(
            &self,
            module: &[String],
            segments: &[String],
            depth: usize,
        ) -> Option<Vec<String>> {
            let (first, _) = segments.split_first()?;
            let mut at: Vec<String>;
            let mut rest = segments;
            match first.as_str() {
                "crate" => {
                    at = Vec::new();
                    rest = &rest[1..];
                }
                "self" | "super" => {
                    at = module.to_vec();
                    while let Some((s, r)) = rest.split_first() {
                        match s.as_str() {
                            "self" => {}
                            "super" => {
                                at.pop()?;
                            }
                            _ => break,
                        }
                        rest = r;
                    }
                }
                _ => {
                    at = self.find(module, first, depth)?;
                    rest = &rest[1..];
                }
            }
            for (i, segment) in rest.iter().enumerate() {
                let found = if self.modules.contains(&at) {
                    self.find(&at, segment, depth)
                } else {
                    None
                };
                match found {
                    Some(p) => at = p,
                    // A member of an item (`Enum::Variant`), or a name the test cannot see: kept as written.
                    None => {
                        at.extend(rest[i..].iter().cloned());
                        break;
                    }
                }
            }
            Some(at)
        }

        /// Where the name `name` in `module` comes from: a module or item declared there, an import, a glob.
        fn find(&self, module: &[String], name: &str, depth: usize) -> Option<Vec<String>> {
            let depth = depth.checked_sub(1)?;
            let mut here = module.to_vec();
            here.push(name.to_string());
            if self.modules.contains(&here)
                || self.declared.get(module).is_some_and(|d| d.contains(name))
            {
                return Some(here);
            }
            if let Some(path) = self.imported.get(module).and_then(|i| i.get(name)) {
                return self.resolve(module, path, depth);
            }
            self.globs
                .get(module)
                .into_iter()
                .flatten()
                .filter_map(|g| self.resolve(module, g, depth))
                .filter(|g| self.modules.contains(g))
                .find_map(|g| self.find(&g, name, depth))
        }

        /// Every path written that names something of this crate outside the module it is written in.
        fn imports(&self) -> Vec<Import> {
            self.references
                .iter()
                .filter_map(|r| {
                    let to = self.resolve(&r.module, &r.segments, DEPTH)?;
                    let first = r.segments[0].as_str();
                    let derived = !matches!(first, "crate" | "self" | "super")
                        && self
                            .imported
                            .get(&r.module)
                            .is_some_and(|i| i.contains_key(first));
                    (!to.starts_with(&r.module)).then(|| Import {
                        file: r.file.clone(),
                        from: r.module.clone(),
                        to,
                        text: r.text.clone(),
                        derived,
                    })
                })
                .collect()
        }
    }

    /// The graph among the modules of `scope` (the top-level modules when empty): `a` → `b` when something in `a`
    /// imports from `b`, with the first import found that does.
    type Graph = BTreeMap<String, BTreeMap<String, String>>;

    fn graph(krate: &Crate, imports: &[Import], scope: &[String]) -> Graph {
        let n = scope.len();
        let mut g = Graph::new();
        for m in &krate.modules {
            if m.len() > n && m.starts_with(scope) {
                g.entry(m[n].clone()).or_default();
            }
        }
        for i in imports {
            if i.from.len() > n
                && i.to.len() > n
                && i.from.starts_with(scope)
                && i.to.starts_with(scope)
            {
                let (from, to) = (&i.from[n], &i.to[n]);
                let mut target = scope.to_vec();
                target.push(to.clone());
                if from != to && krate.modules.contains(&target) {
                    g.entry(from.clone())
                        .or_default()
                        .entry(to.clone())
                        .or_insert_with(|| format!("{}: {}", i.file, i.text));
                }
            }
        }
        g
    }

    /// A circle through the graph, if any, as the list of modules on it (the first repeated at the end).
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
            for next in g.get(node).into_iter().flat_map(|e| e.keys()) {
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

    /// One circle per module that has one among its modules, each step with the import that makes it.
    fn circles(krate: &Crate) -> Vec<String> {
        let imports = krate.imports();
        let mut scopes: BTreeSet<Module> = BTreeSet::new();
        for m in &krate.modules {
            for depth in 0..m.len() {
                scopes.insert(m[..depth].to_vec());
            }
        }
        scopes
            .iter()
            .filter_map(|scope| {
                let g = graph(krate, &imports, scope);
                let c = circle(&g)?;
                let at = if scope.is_empty() {
                    "crate".to_string()
                } else {
                    scope.join("::")
                };
                let steps: Vec<String> = c
                    .windows(2)
                    .map(|w| format!("  {} → {} ({})", w[0], w[1], g[&w[0]][&w[1]]))
                    .collect();
                Some(format!("in {at}: {}\n{}", c.join(" → "), steps.join("\n")))
            })
            .collect()
    }

    /// Every import of a top-level module from one in its own layer or a layer below it, and every top-level module
    /// in no layer, in a layer that is not a module, or in two layers.
    fn layering_faults(krate: &Crate, layers: &[&[&str]]) -> Vec<String> {
        let mut faults = Vec::new();
        let mut layer_of: BTreeMap<&str, usize> = BTreeMap::new();
        for (at, layer) in layers.iter().enumerate() {
            for m in *layer {
                if layer_of.insert(m, at).is_some() {
                    faults.push(format!("`{m}` stands in two layers"));
                }
                if !krate.modules.contains(&vec![m.to_string()]) {
                    faults.push(format!("`{m}` stands in a layer but is no module"));
                }
            }
        }
        for m in krate.modules.iter().filter(|m| m.len() == 1) {
            if !layer_of.contains_key(m[0].as_str()) {
                faults.push(format!("`{}` stands in no layer", m[0]));
            }
        }
        // (file, imported module) → the imports that break the rule, those written through an imported name last.
        let mut wrong: BTreeMap<(String, String), Vec<(bool, String)>> = BTreeMap::new();
        for i in krate.imports() {
            let (Some(from), Some(to)) = (i.from.first(), i.to.first()) else {
                continue;
            };
            if from == to {
                continue;
            }
            if let (Some(&f), Some(&t)) = (layer_of.get(from.as_str()), layer_of.get(to.as_str())) {
                if t >= f {
                    let why = if t == f {
                        format!("{from} imports from {to}, in its own layer ({})", f + 1)
                    } else {
                        format!(
                            "{from} (layer {}) imports from {to} (layer {}, below it)",
                            f + 1,
                            t + 1
                        )
                    };
                    wrong
                        .entry((i.file.clone(), to.clone()))
                        .or_default()
                        .push((i.derived, format!("{}: `{}` — {why}", i.file, i.text)));
                }
            }
        }
        let mut upward = BTreeSet::new();
        for (_, mut found) in wrong {
            found.sort();
            found.dedup();
            // A path through an imported name is named only when its `use` is not (a re-export elsewhere).
            let direct = found.iter().any(|(derived, _)| !derived);
            upward.extend(
                found
                    .into_iter()
                    .filter(|(derived, _)| !direct || !derived)
                    .map(|(_, line)| line),
            );
        }
        faults.extend(upward);
        faults
    }

    /// The crate's source files, from `lib.rs` through every `mod x;` that is not a test (`x.rs` and `x/` or
    /// `x/mod.rs`).
    fn crate_sources(src: &Path) -> Vec<Source> {
        fn read(
            src: &Path,
            file: PathBuf,
            children: PathBuf,
            module: Module,
            out: &mut Vec<Source>,
        ) {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let parsed = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{}: not parsed: {e}", file.display()));
            let name = file.strip_prefix(src).unwrap_or(&file);
            out.push(Source {
                file: format!("shared/src/{}", name.display()),
                module: module.clone(),
                text,
            });
            declared(src, &parsed.items, &children, &module, out);
        }
        fn declared(
            src: &Path,
            items: &[Item],
            dir: &Path,
            module: &Module,
            out: &mut Vec<Source>,
        ) {
            for item in items {
                let Item::Mod(m) = item else { continue };
                if test_only(&m.attrs) {
                    continue;
                }
                assert!(
                    !m.attrs.iter().any(|a| a.path().is_ident("path")),
                    "module {} has a #[path]: teach the layering test to follow it",
                    m.ident
                );
                let name = m.ident.unraw().to_string();
                let mut sub = module.clone();
                sub.push(name.clone());
                match &m.content {
                    Some((_, inner)) => declared(src, inner, &dir.join(&name), &sub, out),
                    None => {
                        let flat = dir.join(format!("{name}.rs"));
                        if flat.exists() {
                            read(src, flat, dir.join(&name), sub, out);
                        } else {
                            let dir = dir.join(&name);
                            read(src, dir.join("mod.rs"), dir, sub, out);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        read(
            src,
            src.join("lib.rs"),
            src.to_path_buf(),
            Vec::new(),
            &mut out,
        );
        out
    }

    fn the_crate() -> Crate {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let sources = crate_sources(&src);
        assert!(sources.len() > 20, "source files found: {}", sources.len());
        Crate::read(&sources)
    }

    #[test]
    fn no_module_imports_from_a_module_that_imports_it() {
        let circles = circles(&the_crate());
        assert!(
            circles.is_empty(),
            "module circles:\n{}",
            circles.join("\n")
        );
    }

    #[test]
    fn no_module_imports_from_a_layer_below_its_own() {
        let faults = layering_faults(&the_crate(), LAYERS);
        assert!(faults.is_empty(), "layering:\n{}", faults.join("\n"));
    }

    /// The dependencies a manifest names that are AWS crates (`aws-sdk-*`, `aws-config`, `aws-smithy-*`,
    /// `aws-types`, …), in any dependency table, however written (`aws-sdk-ec2 = …`,
    /// `[dependencies.aws-sdk-ec2]`, `"aws-sdk-ec2".workspace = true`).
    fn aws_dependencies(manifest: &str) -> Vec<String> {
        let mut in_dependencies = false;
        let mut found = Vec::new();
        for line in manifest.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if let Some(table) = line.strip_prefix('[') {
                let table = table.trim_end_matches(']').trim();
                let is_dependencies = |t: &str| t.ends_with("dependencies");
                match table.rsplit_once('.') {
                    // `[dependencies.aws-sdk-ec2]`, `[target.'cfg(unix)'.dependencies.aws-config]`
                    Some((head, name)) if is_dependencies(head) => {
                        in_dependencies = false;
                        if name.trim_matches(['"', '\'']).starts_with("aws-") {
                            found.push(name.to_string());
                        }
                    }
                    _ => in_dependencies = is_dependencies(table),
                }
                continue;
            }
            let name = line
                .split(['=', '.'])
                .next()
                .unwrap_or_default()
                .trim()
                .trim_matches(['"', '\'']);
            if in_dependencies && name.starts_with("aws-") {
                found.push(name.to_string());
            }
        }
        found
    }

    #[test]
    fn the_core_the_function_and_the_cli_depend_on_no_aws_crate() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = Vec::new();
        for manifest in [
            "shared/Cargo.toml",
            "functions/responder/Cargo.toml",
            "cli/Cargo.toml",
        ] {
            let text = std::fs::read_to_string(root.join(manifest))
                .unwrap_or_else(|e| panic!("{manifest}: {e}"));
            found.extend(
                aws_dependencies(&text)
                    .into_iter()
                    .map(|d| format!("{manifest}: {d}")),
            );
        }
        assert!(
            found.is_empty(),
            "only ec2ops-aws (aws/) may depend on the AWS SDK; found:\n{}",
            found.join("\n")
        );
        let adapters = std::fs::read_to_string(root.join("aws/Cargo.toml")).unwrap_or_default();
        assert!(
            aws_dependencies(&adapters).contains(&"aws-sdk-ec2".to_string()),
            "the reader finds the SDK where it is: {:?}",
            aws_dependencies(&adapters)
        );
    }

    #[test]
    fn an_aws_dependency_is_found_however_the_manifest_writes_it() {
        let manifest = r#"
[package]
name = "x"
description = "aws-sdk-ec2 in a description is no dependency"

[dependencies]
serde.workspace = true
aws-config.workspace = true
"aws-smithy-types" = "1"

[dev-dependencies.aws-sdk-sqs]
version = "1"

[target.'cfg(unix)'.build-dependencies]
aws-types = { version = "1" }

[features]
aws-ish = []
"#;
        assert_eq!(
            aws_dependencies(manifest),
            vec!["aws-config", "aws-smithy-types", "aws-sdk-sqs", "aws-types"]
        );
    }

    /// Fake source files: (module path, text).
    fn fake(files: &[(&str, &str)]) -> Crate {
        let sources: Vec<Source> = files
            .iter()
            .map(|(module, text)| Source {
                file: format!("{}.rs", module.replace("::", "/")),
                module: module.split("::").map(String::from).collect(),
                text: text.to_string(),
            })
            .collect();
        Crate::read(&sources)
    }

    fn circle_in(krate: &Crate, scope: &[&str]) -> Option<Vec<String>> {
        let scope: Vec<String> = scope.iter().map(|s| s.to_string()).collect();
        circle(&graph(krate, &krate.imports(), &scope))
    }

    #[test]
    fn a_circle_through_several_modules_is_found() {
        let krate = fake(&[
            ("a", "use crate::b::X;"),
            ("b", "use crate::c::Y;"),
            ("c", "fn f() { crate::a::z() }"),
            ("d", "use crate::a::X;"),
        ]);
        assert_eq!(
            circle_in(&krate, &[]),
            Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
        );
        let krate = fake(&[
            ("a", "use crate::b::X;"),
            ("b", "use crate::c::Y;"),
            ("c", ""),
        ]);
        assert_eq!(circle_in(&krate, &[]), None);
        assert!(circles(&krate).is_empty());
    }

    #[test]
    fn a_circle_through_a_grouped_import_is_found() {
        let krate = fake(&[
            ("r", "mod x; mod y; mod z;"),
            ("r::x", "use super::{y, z};"),
            ("r::y", "use super::{x, z};"),
            ("r::z", ""),
        ]);
        assert_eq!(
            circle_in(&krate, &["r"]),
            Some(vec!["x".into(), "y".into(), "x".into()])
        );
        assert_eq!(circle_in(&krate, &[]), None);
        let found = circles(&krate);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("in r: x → y → x"), "{}", found[0]);
        assert!(found[0].contains("r/x.rs: use super::y"), "{}", found[0]);
        assert!(found[0].contains("r/y.rs: use super::x"), "{}", found[0]);
    }

    #[test]
    fn a_circle_through_a_nested_group_is_found() {
        let krate = fake(&[
            ("x", ""),
            ("x::y", "use crate::{w::f, x::z::g};"),
            ("x::z", "pub fn g() {}"),
            ("w", "use crate::{x::{y::{self}, z}};\npub fn f() {}"),
        ]);
        assert_eq!(
            circle_in(&krate, &[]),
            Some(vec!["w".into(), "x".into(), "w".into()])
        );
        assert_eq!(circle_in(&krate, &["x"]), None);
    }

    #[test]
    fn a_path_used_without_an_import_counts() {
        for code in [
            "fn f() { crate::b::g() }",
            "fn f() -> crate::b::T { todo!() }",
            "fn f(t: &dyn crate::b::Tr) {}",
            "fn f() { let _ = format!(\"{}\", crate::b::g()); }",
            "fn f() { match x { crate::b::E::V => {} } }",
            "mod inner { fn f() { super::super::b::g() } }",
        ] {
            let krate = fake(&[("a", code), ("b", "fn h() { crate::a::f() }")]);
            assert_eq!(
                circle_in(&krate, &[]),
                Some(vec!["a".into(), "b".into(), "a".into()]),
                "{code}"
            );
        }
    }

    #[test]
    fn an_import_through_a_re_export_counts_as_one_of_the_module_that_defines_it() {
        let krate = fake(&[
            ("r", "mod x; mod y; pub use y::Thing; use self::x::*;"),
            ("r::x", "pub struct Other;"),
            (
                "r::y",
                "pub struct Thing; fn f() -> super::Other { todo!() }",
            ),
            ("r::z", "use super::Thing;"),
        ]);
        let g = graph(&krate, &krate.imports(), &["r".to_string()]);
        assert!(g["z"].contains_key("y"), "{g:?}");
        assert!(g["y"].contains_key("x"), "{g:?}");
    }

    #[test]
    fn a_unit_test_may_import_anything() {
        let krate = fake(&[
            ("a", "use crate::b::X;"),
            (
                "b",
                "#[cfg(test)]\nmod tests { use crate::a::X; }\n#[cfg(test)]\nuse crate::a::Y;\n\
                 struct S;\nimpl S { #[cfg(all(test, unix))] fn f() { crate::a::g() } }",
            ),
        ]);
        assert_eq!(circle_in(&krate, &[]), None);
    }

    #[test]
    fn an_upward_import_is_found() {
        let krate = fake(&[
            ("base", ""),
            ("middle", "use crate::base::X;"),
            ("top", "fn f() { crate::middle::g() }"),
            ("adapter", "use crate::{base::Y, top::Z};"),
        ]);
        let layers: &[&[&str]] = &[&["base"], &["middle"], &["top"], &["adapter"]];
        assert_eq!(layering_faults(&krate, layers), Vec::<String>::new());
        let layers: &[&[&str]] = &[&["base"], &["top"], &["middle"], &["adapter"]];
        assert_eq!(
            layering_faults(&krate, layers),
            vec![
                "top.rs: `crate::middle::g` — top (layer 2) imports from middle (layer 3, below it)"
                    .to_string()
            ]
        );
        let layers: &[&[&str]] = &[&["adapter"], &["base"], &["middle"], &["top"]];
        let faults = layering_faults(&krate, layers);
        assert_eq!(faults.len(), 2, "{faults:?}");
        assert!(
            faults[0].starts_with("adapter.rs: `use crate::base::Y`"),
            "{faults:?}"
        );
        assert!(
            faults[1].starts_with("adapter.rs: `use crate::top::Z`"),
            "{faults:?}"
        );
    }

    #[test]
    fn an_import_from_the_same_layer_is_found() {
        let krate = fake(&[("a", "use crate::b::X;"), ("b", "")]);
        assert_eq!(
            layering_faults(&krate, &[&["a", "b"]]),
            vec!["a.rs: `use crate::b::X` — a imports from b, in its own layer (1)".to_string()]
        );
        assert_eq!(
            layering_faults(&krate, &[&["b"], &["a"]]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_wrong_import_is_named_by_its_use_not_by_each_path_through_it() {
        let krate = fake(&[
            ("b", "pub enum Role { Cpu, Disk }"),
            ("a", "use crate::b::Role;\nfn f(r: Role) -> bool { matches!(r, Role::Cpu | Role::Disk) }"),
        ]);
        assert_eq!(
            layering_faults(&krate, &[&["a"], &["b"]]),
            vec![
                "a.rs: `use crate::b::Role` — a (layer 1) imports from b (layer 2, below it)"
                    .to_string()
            ]
        );
    }

    #[test]
    fn every_top_level_module_stands_in_exactly_one_layer() {
        let krate = fake(&[("a", ""), ("b", ""), ("c", "")]);
        let layers: &[&[&str]] = &[&["a", "d"], &["b", "a"]];
        assert_eq!(
            layering_faults(&krate, layers),
            vec![
                "`d` stands in a layer but is no module".to_string(),
                "`a` stands in two layers".to_string(),
                "`c` stands in no layer".to_string(),
            ]
        );
    }
}
