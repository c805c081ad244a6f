//! The shape of the code, checked so it stays as it was made: modules import each other
//! in layers (no circle of more than three files), no file is a room too big to live
//! in, and the live side's errors are typed.

use super::support::root;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `src`, by module path (`live/worker`, `alert`, ...).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = root().join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            (parts.join("/"), f)
        })
        .collect()
}

/// The code of a file without its tests and comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// The module paths a `crate::` or `super::` path starting at `rest` names: `a::b::C`,
/// or a group `a::{b::C, d}`.
fn paths_at(rest: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut segs = prefix;
    let mut s = rest;
    loop {
        let ident: String = s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if ident.is_empty() {
            if let Some(group) = s.strip_prefix('{') {
                let mut depth = 0;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            paths_at(item.trim(), segs.clone(), out);
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                paths_at(item.trim(), segs.clone(), out);
                return;
            }
            break;
        }
        s = &s[ident.len()..];
        segs.push(ident);
        match s.strip_prefix("::") {
            Some(next) => s = next,
            None => break,
        }
    }
    out.push(segs);
}

/// Which files each file imports (by `crate::`, `super::`, or a child module it uses).
fn imports(modules: &BTreeMap<String, PathBuf>) -> BTreeMap<String, BTreeSet<String>> {
    let resolve = |segs: &[String]| -> Option<String> {
        (1..=segs.len()).rev().map(|n| segs[..n].join("/")).find(|m| modules.contains_key(m))
    };
    let mut edges = BTreeMap::new();
    for (module, path) in modules {
        if path.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = code(path);
        let own: Vec<String> =
            if module.is_empty() { Vec::new() } else { module.split('/').map(String::from).collect() };
        let is_dir_module = matches!(path.file_stem().and_then(|s| s.to_str()), Some("mod" | "lib"));
        // `super` is the module above this one, whether it is a file or a directory.
        let parent: Vec<String> = own[..own.len().saturating_sub(1)].to_vec();
        let mut found = Vec::new();
        for (i, _) in text.match_indices("crate::") {
            paths_at(&text[i + 7..], Vec::new(), &mut found);
        }
        for (i, _) in text.match_indices("super::") {
            if text[..i].ends_with("::") {
                continue;
            }
            paths_at(&text[i + 7..], parent.clone(), &mut found);
        }
        // A directory module that uses its own children.
        if is_dir_module {
            for line in text.lines() {
                let line = line.trim();
                let Some(child) = line.strip_prefix("pub mod ").or_else(|| line.strip_prefix("mod ")) else { continue };
                let child = child.trim_end_matches(';');
                if child == "tests" || child.contains('{') {
                    continue;
                }
                let uses = text.contains(&format!("{child}::"));
                if uses {
                    let mut segs = own.clone();
                    segs.push(child.to_string());
                    found.push(segs);
                }
            }
        }
        let mut deps: BTreeSet<String> = found.iter().filter_map(|s| resolve(s)).collect();
        deps.remove(module);
        deps.remove("");
        edges.insert(module.clone(), deps);
    }
    edges
}

/// The strongly connected components of the import graph (Tarjan).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut component = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            t.out.push(component);
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_import_circle_is_longer_than_three_files() {
    let modules = modules();
    let edges = imports(&modules);
    // The check finds circles: the live module importing its worker is an edge.
    assert!(edges["live"].contains("live/worker"), "{:?}", edges["live"]);
    assert!(edges["live/worker"].contains("engine"), "{:?}", edges["live/worker"]);
    let big: Vec<Vec<String>> = circles(&edges).into_iter().filter(|c| c.len() > 3).collect();
    assert!(big.is_empty(), "files importing each other in a circle: {big:?}");
}

#[test]
fn no_source_file_is_over_700_lines() {
    let long: Vec<(String, usize)> = modules()
        .values()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap().lines().count()))
        .filter(|(_, n)| *n > 700)
        .collect();
    assert!(long.is_empty(), "files over 700 lines: {long:?}");
}

#[test]
fn the_live_side_returns_typed_errors_not_strings() {
    let offenders: Vec<String> = modules()
        .into_iter()
        .filter(|(m, _)| m.starts_with("live") || m == "service" || m.starts_with("dashboard"))
        .filter(|(_, p)| string_errors(&code(p)))
        .map(|(m, _)| m)
        .collect();
    assert!(offenders.is_empty(), "Result<_, String> in {offenders:?}");
}

/// Whether the code has a `Result<T, String>`.
fn string_errors(code: &str) -> bool {
    code.match_indices("Result<").any(|(i, _)| {
        let (mut depth, mut args, mut arg) = (0, Vec::new(), String::new());
        for c in code[i + 7..].chars() {
            match c {
                '<' | '(' => depth += 1,
                '>' | ')' if depth == 0 => break,
                '>' | ')' => depth -= 1,
                ',' if depth == 0 => {
                    args.push(std::mem::take(&mut arg));
                    continue;
                }
                _ => {}
            }
            arg.push(c);
        }
        args.push(arg);
        args.get(1).is_some_and(|e| e.trim() == "String")
    })
}

#[test]
fn string_errors_are_found_and_maps_of_strings_are_not() {
    assert!(string_errors("fn f() -> Result<Vec<u8>, String> {"));
    assert!(string_errors("type R = std::result::Result<(), String>;"));
    assert!(!string_errors("fn f() -> Result<HashMap<String, String>, LiveError> {"));
}
