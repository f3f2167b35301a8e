//! The crate's shape, checked from its sources: the private modules import each other
//! without a cycle, `kinds` imports none of them, and each public item has one path
//! (`cargo test -p keywright-license --test module_graph -- --nocapture` prints the
//! graph).
//!
//! An edge `a → b` is any `crate::b` written in `src/a.rs` outside comments and its
//! `#[cfg(test)]` module: `use` lines, inline paths and `serde(with = "crate::…")`
//! alike.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn src() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))
}

/// `src/<module>.rs` → its text, without `lib.rs` (the facade that names them all).
fn modules() -> BTreeMap<String, String> {
    std::fs::read_dir(src())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| p.file_stem().is_some_and(|s| s != "lib"))
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The code of a module: no comment lines, nothing from its test module on.
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") || t.starts_with("#[cfg(all(test") {
            break;
        }
        if !t.starts_with("//") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The modules `text` names as `crate::<module>`.
fn imports(text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let name: String = text[at + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        assert!(
            known.contains(&name),
            "`crate::{name}` names no module: write the module path (one path per item)"
        );
        out.insert(name);
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    modules
        .iter()
        .map(|(name, text)| {
            let mut deps = imports(&code(text), &known);
            deps.remove(name);
            (name.clone(), deps)
        })
        .collect()
}

#[test]
fn modules_form_no_cycle() {
    let graph = graph();
    for (name, deps) in &graph {
        println!(
            "{name} → {}",
            deps.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    // Kahn: take modules whose imports are all taken, until none is left.
    let mut done: Vec<String> = Vec::new();
    while done.len() < graph.len() {
        let ready: Vec<String> = graph
            .iter()
            .filter(|(name, deps)| !done.contains(name) && deps.iter().all(|d| done.contains(d)))
            .map(|(name, _)| name.clone())
            .collect();
        assert!(
            !ready.is_empty(),
            "a cycle among {:?}",
            graph
                .keys()
                .filter(|n| !done.contains(n))
                .collect::<Vec<_>>()
        );
        done.extend(ready);
    }
    println!("leaves first: {}", done.join(" "));
}

#[test]
fn kinds_imports_nothing_from_the_crate() {
    let text = std::fs::read_to_string(src().join("kinds.rs")).unwrap();
    // Not even in its tests or doc comments' code.
    let code: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| l.contains("crate::") || l.contains("super::super"))
        .collect();
    assert!(code.is_empty(), "kinds.rs imports from the crate: {code:?}");
    assert!(graph()["kinds"].is_empty());
}

/// The items `lib.rs` makes public: `pub use` names and `pub mod` names.
fn lib_exports() -> (Vec<String>, Vec<String>) {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let lib = code(&lib);
    let mut names = Vec::new();
    let mut rest = lib.as_str();
    while let Some(at) = rest.find("pub use ") {
        let stmt_end = rest[at..].find(';').unwrap() + at;
        let stmt = &rest[at + "pub use ".len()..stmt_end];
        let items = match (stmt.find('{'), stmt.rfind('}')) {
            (Some(a), Some(b)) => stmt[a + 1..b].to_owned(),
            _ => stmt.rsplit("::").next().unwrap().to_owned(),
        };
        names.extend(
            items
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
        rest = &rest[stmt_end..];
    }
    let modules = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches([';', '{', ' ']).to_owned())
        .collect();
    (names, modules)
}

#[test]
fn one_public_path_per_item() {
    let (names, public_modules) = lib_exports();
    println!("public modules: {public_modules:?}");
    println!("{} re-exported items: {names:?}", names.len());
    assert_eq!(public_modules, ["activation", "response", "issue"]);
    let mut seen = BTreeSet::new();
    for name in &names {
        assert!(seen.insert(name), "`{name}` is exported twice");
    }
    // The public modules' own items are not re-exported at the root.
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    for module in ["activation", "response"] {
        assert!(
            !code(&lib).contains(&format!("use {module}::")),
            "{module} items re-exported"
        );
        // And they re-export nothing themselves.
        let text = std::fs::read_to_string(src().join(format!("{module}.rs"))).unwrap();
        assert!(!code(&text).contains("pub use "), "{module} re-exports");
    }
    // The private modules re-export nothing either: one path, set in lib.rs.
    for (name, text) in modules() {
        let code = code(&text);
        for line in code
            .lines()
            .filter(|l| l.trim_start().starts_with("pub use "))
        {
            assert!(
                name == "keys" && line.trim() == "pub use signing::SigningKey;",
                "{name}: {line}"
            );
        }
    }
}
