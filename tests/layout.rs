//! The shape of the code, checked rather than drawn: the query core's
//! modules import nothing that imports them back (no import cycle through
//! the core, also not through a module outside it), and no source or test
//! file is longer than 500 lines.
//!
//!   cargo test --test layout

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// The query path's modules (see src/lib.rs).
const CORE: &[&str] = &[
    "wire", "name", "table", "soa", "zonemap", "snapshot", "classify", "local", "chain", "splice",
    "cache", "forward", "stats", "missing", "resolve",
];

const MAX_LINES: usize = 500;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file of `src/` (`src/xfr/tsig/mod.rs` ->
/// `["xfr", "tsig"]`); empty for the crate root and the binary.
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap();
    let mut path: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().unwrap().to_string())
        .collect();
    let last = path.pop().unwrap();
    let stem = last.strip_suffix(".rs").unwrap_or(&last).to_string();
    if !matches!(stem.as_str(), "mod" | "lib" | "main") {
        path.push(stem);
    }
    path
}

/// The node a module path belongs to: a core module as a whole (its
/// submodules are its own business), and outside the core a top-level
/// module's direct submodule (`xfr::tsig`), so that an area whose parts
/// depend on the core in different ways is seen as the parts it is made of.
fn node_of(src: &Path, path: &[String]) -> Option<String> {
    let top = path.first()?;
    if CORE.contains(&top.as_str()) {
        return Some(top.clone());
    }
    match path.get(1) {
        Some(sub) if src.join(top).join(format!("{sub}.rs")).exists() => {
            Some(format!("{top}::{sub}"))
        }
        Some(sub) if src.join(top).join(sub).is_dir() => Some(format!("{top}::{sub}")),
        _ => Some(top.clone()),
    }
}

/// Module paths declared `#[cfg(test)] mod name;`: test code, not imports.
fn test_modules(src: &Path, files: &[PathBuf]) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let mut lines = text.lines().map(str::trim);
        while let Some(line) = lines.next() {
            if line == "#[cfg(test)]"
                && let Some(next) = lines.next()
                && let Some(name) = next.strip_prefix("mod ").and_then(|n| n.strip_suffix(';'))
            {
                let mut path = module_path(src, file);
                path.push(name.to_string());
                found.push(path);
            }
        }
    }
    found
}

/// The code of a file without comments and without its inline unit tests.
fn code(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            // Unit tests sit at the end of a file (or in files of their own).
            break;
        }
        let without_comment = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        code.push_str(without_comment);
        code.push('\n');
    }
    code
}

/// Every module path named from `code` (in the module at `here`) by a
/// `crate::` or `super::` path, grouped imports (`use crate::{a, b::C}`)
/// included. Paths relative to the module itself stay inside its node.
fn references(code: &str, here: &[String]) -> Vec<Vec<String>> {
    /// The `a::b::c` path at the start of `s`, and what follows it.
    fn path_at(s: &str) -> (Vec<String>, &str) {
        let mut path = Vec::new();
        let mut rest = s.trim_start();
        loop {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if len == 0 {
                return (path, rest);
            }
            path.push(rest[..len].to_string());
            rest = &rest[len..];
            match rest.strip_prefix("::") {
                Some(r) if !r.starts_with('{') => rest = r,
                _ => return (path, rest),
            }
        }
    }
    let mut found = Vec::new();
    for (at, prefix) in code
        .match_indices("crate::")
        .chain(code.match_indices("super::"))
    {
        // The later parts of `super::super::` are read with the first.
        if prefix == "super::" && code[..at].ends_with("super::") {
            continue;
        }
        let mut base: Vec<String> = match prefix {
            "crate::" => vec![],
            _ => here[..here.len().saturating_sub(1)].to_vec(),
        };
        let mut rest = &code[at + prefix.len()..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        let (head, after) = path_at(rest);
        base.extend(head);
        let group = after
            .strip_prefix("::{")
            .or_else(|| after.strip_prefix('{'));
        match group {
            Some(g) => {
                let inner = &g[..g.find('}').unwrap_or(g.len())];
                for item in inner.split(',') {
                    let mut p = base.clone();
                    p.extend(path_at(item).0);
                    found.push(p);
                }
            }
            None => found.push(base),
        }
    }
    found
}

/// Node -> nodes it imports (see [`node_of`]).
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let tests = test_modules(&src, &files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let here = module_path(&src, file);
        if tests.iter().any(|t| here.starts_with(t)) {
            continue;
        }
        let Some(node) = node_of(&src, &here) else {
            continue;
        };
        // A module holds its submodules: conservatively, it imports them.
        if let Some((parent, _)) = node.rsplit_once("::") {
            graph
                .entry(parent.to_string())
                .or_default()
                .insert(node.clone());
        }
        let text = std::fs::read_to_string(file).unwrap();
        let deps: BTreeSet<String> = references(&code(&text), &here)
            .iter()
            .filter_map(|p| node_of(&src, p))
            .filter(|n| *n != node)
            .collect();
        graph.entry(node).or_default().extend(deps);
    }
    graph
}

/// A shortest import path from `from` back to itself, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut parent: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::from([from]);
    while let Some(m) = queue.pop_front() {
        for next in graph.get(m).into_iter().flatten() {
            if next == from {
                let mut path = vec![m.to_string()];
                let mut at = m;
                while at != from {
                    at = parent[at];
                    path.push(at.to_string());
                }
                path.reverse();
                path.push(from.to_string());
                return Some(path);
            }
            if !parent.contains_key(next.as_str()) {
                parent.insert(next, m);
                queue.push_back(next);
            }
        }
    }
    None
}

#[test]
fn the_query_core_has_no_import_cycle() {
    let graph = import_graph();
    for m in CORE {
        assert!(graph.contains_key(*m), "core module {m} not found in src/");
    }
    let cycles: Vec<String> = CORE
        .iter()
        .filter_map(|m| cycle_through(&graph, m))
        .map(|path| path.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_check_sees_cycles() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("local", vec!["metrics", "wire"]),
        ("metrics", vec!["state"]),
        ("state", vec!["local"]),
        ("wire", vec![]),
    ]
    .into_iter()
    .map(|(m, deps)| (m.into(), deps.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        cycle_through(&graph, "local").unwrap().join(" -> "),
        "local -> metrics -> state -> local"
    );
    assert_eq!(cycle_through(&graph, "wire"), None);
    let text = "use crate::{wire::Query, snapshot};\n// crate::metrics in a comment\n\
                let x = crate::stats::Stats::default();\nuse super::{rr, sign::Mac};\n\
                use super::super::name;\n#[cfg(test)]\nmod tests { use crate::state; }\n";
    let here = ["xfr", "tsig", "file"].map(String::from);
    let found: BTreeSet<String> = references(&code(text), &here)
        .iter()
        .map(|p| p.join("::"))
        .collect();
    let expected = [
        "wire::Query",
        "snapshot",
        "stats::Stats::default",
        "xfr::tsig::rr",
        "xfr::tsig::sign::Mac",
        "xfr::name",
    ];
    assert_eq!(found, expected.map(String::from).into());
    let src = root().join("src");
    let node = |p: &str| node_of(&src, &p.split("::").map(String::from).collect::<Vec<_>>());
    assert_eq!(
        node("forward::udp").as_deref(),
        Some("forward"),
        "core: whole"
    );
    assert_eq!(node("xfr::tsig::Keyring").as_deref(), Some("xfr::tsig"));
    assert_eq!(node("xfr::serial").as_deref(), Some("xfr"), "a re-export");
}

#[test]
fn no_file_is_longer_than_500_lines() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| format!("{}: {lines} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern:\n{}",
        long.join("\n")
    );
}
