//! The layout's rules, read from the source: dependencies point one way.
//!
//! Every `crate::a::b` path in `src/` (outside `#[cfg(test)]` code and comments) is an edge from
//! the module that writes it to the module it names. The layers, top to bottom:
//!
//! | layer | modules | may use |
//! |---|---|---|
//! | entry | `main`, `cli` | everything |
//! | tools | `bench`, `eval`, `testkit` | everything below `cli` |
//! | composition | `app` | everything below it |
//! | edge | `http` | `inbox` and below |
//! | inbox | `inbox` | `features` and below |
//! | features | `features` | `ai`, `slack` and below |
//! | language / Slack | `ai`, `slack` | `config`, `telemetry` and below — never each other |
//! | settings | `config`, `telemetry` | `platform` and below |
//! | platform | `platform` | `model` |
//! | domain | `model` | nothing |
//!
//! Inside `features`, `ai`, `platform`, `slack` and `inbox`, the sub-modules must not form a cycle
//! either. `slack_morphism` is named only under `src/slack/` and `src/http/`, and nothing on the
//! serving path names `testkit` or `bench`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Rank of each top-level module: an edge must go to a strictly lower rank (or stay inside the
/// module). `ai` and `slack` share a rank, so neither may use the other.
const LAYERS: &[(&str, u32)] = &[
    ("main", 90),
    ("lib", 90),
    ("cli", 90),
    ("bench", 80),
    ("eval", 80),
    ("testkit", 70),
    ("app", 60),
    ("http", 50),
    ("inbox", 40),
    ("features", 30),
    ("ai", 20),
    ("slack", 20),
    ("config", 12),
    ("telemetry", 12),
    ("platform", 10),
    ("model", 0),
];

/// Folders whose children must not form a cycle among themselves.
const ACYCLIC_INSIDE: &[&str] = &["features", "ai", "platform", "slack", "inbox", "model"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/features/briefing/agent.rs` → `["features", "briefing", "agent"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("a file under src/");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code that ships: comments dropped, and everything from the first `#[cfg(test)]` on (test
/// modules sit at the end of their files) or a `tests.rs` file left out.
fn shipped_code(file: &Path, text: &str) -> String {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let mut out = String::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") {
            continue;
        }
        let code = match line.find("//") {
            // A trailing comment, unless the `//` is inside a string (a URL).
            Some(at) if !line[..at].contains('"') => &line[..at],
            _ => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    out
}

/// Every `crate::x::y…` path in `code`, as its segments; `super::…` paths are resolved against
/// `module` (the file's own module; `is_mod_rs` when the file is a folder's `mod.rs`).
fn crate_paths(code: &str, module: &[String], is_mod_rs: bool) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for (prefix, base) in [("crate::", 0usize), ("super::", 1)] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let mut segments: Vec<String> = rest[..end]
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if base == 1 {
                // `super` of a file `a/b/c.rs` is `a::b`; of `a/b/mod.rs` (module `a::b`), `a`.
                let mut up = 1 + usize::from(is_mod_rs);
                while segments.first().is_some_and(|s| s == "super") {
                    segments.remove(0);
                    up += 1;
                }
                if up > module.len() {
                    continue;
                }
                let mut resolved = module[..module.len() + 1 - up].to_vec();
                resolved.extend(segments);
                segments = resolved;
            }
            if !segments.is_empty() {
                paths.push(segments);
            }
        }
    }
    paths
}

struct Source {
    module: Vec<String>,
    file: PathBuf,
    code: String,
    /// Every module path the shipped code names.
    paths: Vec<Vec<String>>,
}

fn sources() -> Vec<Source> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("a readable source file");
            let module = module_of(&src, &file);
            let code = shipped_code(&file, &text);
            let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
            Source {
                paths: crate_paths(&code, &module, is_mod_rs),
                module,
                code,
                file,
            }
        })
        .collect()
}

/// Edges between modules `depth` segments deep (`depth` 1: top level), with the files that
/// make each one.
fn edges(sources: &[Source], depth: usize) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for s in sources {
        if s.module.len() < depth {
            continue;
        }
        let from = s.module[..depth].join("::");
        for path in &s.paths {
            if path.len() < depth {
                continue;
            }
            // Only modules: a path that ends in a type or function at this depth is a re-export.
            let to = path[..depth].join("::");
            if to != from && (depth == 1 || path[..depth - 1] == s.module[..depth - 1]) {
                edges
                    .entry((from.clone(), to))
                    .or_default()
                    .insert(s.file.display().to_string());
            }
        }
    }
    edges
}

fn layer(module: &str) -> u32 {
    LAYERS
        .iter()
        .find(|(name, _)| *name == module)
        .map(|(_, rank)| *rank)
        .unwrap_or_else(|| {
            panic!("src/{module} is in no layer: add it to LAYERS in tests/layout.rs")
        })
}

#[test]
fn dependencies_point_down_the_layers() {
    let sources = sources();
    let mut wrong = Vec::new();
    for ((from, to), files) in edges(&sources, 1) {
        if layer(&to) >= layer(&from) {
            wrong.push(format!("{from} → {to} (in {files:?})"));
        }
    }
    assert!(
        wrong.is_empty(),
        "edges against the layers:\n{}",
        wrong.join("\n")
    );
}

/// A cycle in a graph, if any (depth-first search keeping the path).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()) {
                Some(1) => {
                    let start = path.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, state, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if !state.contains_key(node)
            && let Some(cycle) = visit(node, graph, &mut state, &mut Vec::new())
        {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_cycles_among_modules_at_any_folder_level() {
    let sources = sources();
    for depth in 1..=3 {
        let edges = edges(&sources, depth);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges.keys() {
            let top = from.split("::").next().unwrap_or_default();
            if depth == 1 || ACYCLIC_INSIDE.contains(&top) {
                graph.entry(from.clone()).or_default().insert(to.clone());
            }
        }
        if let Some(cycle) = find_cycle(&graph) {
            let detail: Vec<String> = cycle
                .windows(2)
                .map(|w| {
                    let files = &edges[&(w[0].clone(), w[1].clone())];
                    format!("{} → {} (in {files:?})", w[0], w[1])
                })
                .collect();
            panic!("a cycle at depth {depth}:\n{}", detail.join("\n"));
        }
    }
}

#[test]
fn only_the_slack_edge_names_slack_morphism() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|s| s.code.contains("slack_morphism::"))
        .filter(|s| !matches!(s.module[0].as_str(), "slack" | "http"))
        .map(|s| s.file.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "slack_morphism outside src/slack and src/http: {offenders:?}"
    );
}

#[test]
fn nothing_on_the_serving_path_names_the_test_and_bench_scaffolding() {
    let offenders: Vec<String> = sources()
        .iter()
        .filter(|s| {
            !matches!(
                s.module[0].as_str(),
                "testkit" | "bench" | "eval" | "cli" | "main"
            )
        })
        .filter(|s| s.paths.iter().any(|p| p[0] == "testkit" || p[0] == "bench"))
        .map(|s| s.file.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "the serving path names testkit or bench: {offenders:?}"
    );
}
