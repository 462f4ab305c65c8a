//! A test of the structure (docs/ARCHITECTURE.md): the layers import only downwards, and no
//! files import each other in a circle. It reads the `crate::` and `super::` paths in src/.

#![cfg(test)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, lowest first: each may import those before it, never those after.
const LAYERS: [&str; 7] = ["base", "message", "smtp", "report", "cli", "plan", "run"];

/// A source file and the module path it defines (`smtp::tls`).
struct Source {
    path: PathBuf,
    module: Vec<String>,
    text: String,
}

fn sources() -> Vec<Source> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            // Unit tests (`tests.rs` beside their module) may reach anywhere.
            if path.extension().is_none_or(|ext| ext != "rs") || path.ends_with("tests.rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under src/");
            let mut module: Vec<String> = relative
                .with_extension("")
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|last| last == "mod") {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            found.push(Source { path, module, text });
        }
    }
    found
}

/// The code of a file without comments and without its unit tests (`#[cfg(test)] mod …`).
fn code(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let line = line.split("//").next().unwrap_or("");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The module paths a file refers to: `crate::a::b::…` and `super::x` (resolved).
fn references(source: &Source, modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let text = code(&source.text);
    let mut found = BTreeSet::new();
    let is_dir_module = source.path.ends_with("mod.rs") || source.path.ends_with("lib.rs");
    let parent: Vec<String> = if is_dir_module {
        source.module.clone()
    } else {
        source.module[..source.module.len().saturating_sub(1)].to_vec()
    };
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", parent[..parent.len().saturating_sub(1)].to_vec()),
    ] {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().last();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let path: Vec<String> = rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .next()
                .unwrap_or("")
                .split("::")
                .filter(|part| !part.is_empty())
                .map(str::to_string)
                .collect();
            let mut full = base.clone();
            full.extend(path);
            // The longest prefix that is a module of the crate.
            while !full.is_empty() && !modules.contains(&full) {
                full.pop();
            }
            // A file's own folder module declares it and is its facade: no import.
            let ancestor = source.module.starts_with(&full);
            if !full.is_empty() && !ancestor {
                found.insert(full);
            }
        }
    }
    found
}

fn layer(module: &[String]) -> Option<usize> {
    LAYERS
        .iter()
        .position(|layer| module.first().is_some_and(|first| first == layer))
}

#[test]
fn layers_import_only_downwards_and_files_form_no_circle() {
    let sources = sources();
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut upward = Vec::new();
    for source in &sources {
        let targets = references(source, &modules);
        if let Some(own) = layer(&source.module) {
            for target in &targets {
                if layer(target).is_some_and(|theirs| theirs > own) {
                    upward.push(format!(
                        "{} imports {}",
                        source.module.join("::"),
                        target.join("::")
                    ));
                }
            }
        }
        graph.insert(source.module.clone(), targets);
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
    let mut circles = Vec::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in graph.get(&at).into_iter().flatten() {
                if next == start && path.len() > 1 {
                    circles.push(
                        path.iter()
                            .map(|m| m.join("::"))
                            .collect::<Vec<_>>()
                            .join(" -> "),
                    );
                } else if next > start && seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}
