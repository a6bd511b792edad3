//! The layering of the crate's top-level modules, checked: dependencies point one way, down
//! the layers of docs/ARCHITECTURE.md, and no two modules depend on each other through any
//! path. A `use crate::x` or `crate::x::` in a module's code (its `#[cfg(test)]` items and
//! `tests.rs` files left out: tests may reach anywhere) is a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// Each top-level module's layer: a module may use modules of a lower layer, or of its own
/// layer as long as that makes no cycle.
const LAYERS: &[(&str, u8)] = &[
    // Leaf helpers.
    ("cert", 0),
    ("digest", 0),
    ("env", 0),
    ("error", 0),
    ("fsutil", 0),
    ("log", 0),
    ("secret", 0),
    ("time", 0),
    // Alibaba Cloud: signing, the HTTP client, one file per product; and a cluster's API
    // server, as a client meets it.
    ("aliyun", 1),
    ("apiserver", 1),
    // The domain: where credentials come from, the cache, kubeconfigs, the client protocol.
    ("cache", 2),
    ("credentials", 2),
    ("exec_credential", 2),
    ("kubeconfig", 2),
    // The command line, then settings resolved from it and the environment.
    ("cli", 3),
    ("config", 4),
    // The use cases, and the surface the fuzz targets drive.
    ("commands", 5),
    ("fuzzing", 6),
];

/// Test-only modules, outside the layering.
const TEST_ONLY: &[&str] = &["conformance", "fuzz", "layers"];

fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .filter_map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let name = match name.strip_suffix(".rs") {
                Some(stem) => stem.to_string(),
                None if entry.path().is_dir() => name,
                None => return None,
            };
            (!["main", "lib", "testdata"].contains(&name.as_str())).then_some(name)
        })
        .collect();
    let mut deps = BTreeMap::new();
    for module in &modules {
        let mut found = BTreeSet::new();
        for file in rust_files(&src.join(module), &src.join(format!("{module}.rs"))) {
            if file.file_name().is_some_and(|name| name == "tests.rs") {
                continue;
            }
            let code = without_test_items(&std::fs::read_to_string(&file).unwrap());
            for name in referenced_modules(&code) {
                if modules.contains(&name) && &name != module {
                    found.insert(name);
                }
            }
        }
        deps.insert(module.clone(), found);
    }
    deps
}

fn rust_files(dir: &Path, file: &Path) -> Vec<std::path::PathBuf> {
    if file.is_file() {
        return vec![file.to_path_buf()];
    }
    let mut files = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// `code` without the items marked `#[cfg(test)]`: each such item, up to the `;` that ends it
/// or the `}` that closes its first `{` (a `mod tests { ... }`, a test-only function or
/// constant anywhere in the file). Braces in strings are not told apart: a test item whose
/// strings hold unbalanced braces would cut short, and the test below would show it.
fn without_test_items(code: &str) -> String {
    const MARK: &str = "#[cfg(test)]";
    let mut kept = String::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        kept.push_str(&rest[..at]);
        let item = &rest[at + MARK.len()..];
        let mut depth = 0usize;
        let mut end = item.len();
        for (i, c) in item.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 1 => {
                    end = i + 1;
                    break;
                }
                '}' => depth = depth.saturating_sub(1),
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &item[end..];
    }
    kept.push_str(rest);
    kept
}

/// The names after `crate::`, alone or in a `use crate::{a, b::c}` group.
fn referenced_modules(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find("};").unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            names.insert(name);
        }
    }
    names
}

#[test]
fn modules_depend_one_way_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let deps = dependencies(&src);
    let layer = |module: &str| LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l);
    let graph = deps.iter().fold(String::new(), |mut graph, (m, d)| {
        let names: Vec<&str> = d.iter().map(String::as_str).collect();
        let _ = writeln!(graph, "{m} -> {}", names.join(", "));
        graph
    });
    for (module, used) in &deps {
        if TEST_ONLY.contains(&module.as_str()) {
            continue;
        }
        let own = layer(module).unwrap_or_else(|| {
            panic!("module `{module}` has no layer in src/layers.rs: give it one\n{graph}")
        });
        for dep in used {
            let theirs = layer(dep).unwrap_or_else(|| panic!("`{dep}` has no layer\n{graph}"));
            assert!(
                theirs <= own,
                "`{module}` (layer {own}) uses `{dep}` (layer {theirs}): dependencies point down\n{graph}"
            );
        }
    }
    // No cycle, within a layer or through several.
    if let Some(cycle) = find_cycle(&deps) {
        panic!("a dependency cycle: {}\n{graph}", cycle.join(" -> "));
    }
}

/// A cycle in the graph, if there is one: a depth-first search that meets a module already on
/// its path.
fn find_cycle(deps: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<&str>> {
    fn visit<'a>(
        module: &'a str,
        deps: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(at) = path.iter().position(|m| *m == module) {
            let mut cycle = path[at..].to_vec();
            cycle.push(module);
            return Some(cycle);
        }
        if !done.insert(module) {
            return None;
        }
        path.push(module);
        for dep in deps.get(module).into_iter().flatten() {
            if let Some(cycle) = visit(dep, deps, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    deps.keys()
        .find_map(|module| visit(module, deps, &mut Vec::new(), &mut done))
}

#[test]
fn a_cycle_is_found_however_long() {
    let graph = |edges: &[(&str, &str)]| {
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in edges {
            deps.entry((*from).into()).or_default().insert((*to).into());
            deps.entry((*to).into()).or_default();
        }
        deps
    };
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    let cycle = graph(&[("a", "b"), ("b", "c"), ("c", "a")]);
    assert_eq!(find_cycle(&cycle), Some(vec!["a", "b", "c", "a"]));
}

#[test]
fn the_check_sees_uses_and_groups() {
    let code =
        "use crate::aliyun::Client;\nuse crate::{cert, log::verbose};\nlet x = crate::time::now();";
    let names: Vec<String> = referenced_modules(code).into_iter().collect();
    assert_eq!(names, ["aliyun", "cert", "log", "time"]);
}

/// Only the test-only items go: code after a test-only item in the middle of a file counts.
#[test]
fn test_items_are_left_out_and_the_rest_is_read() {
    let code = "use crate::a;\n#[cfg(test)]\nconst X: &[&str] = &[\"x\"];\nuse crate::b;\n\
                #[cfg(test)]\nfn f() { if x { crate::c::y(); } }\nuse crate::d;\n\
                #[cfg(test)]\nmod tests {\n    use crate::e;\n}\n";
    let names: Vec<String> = referenced_modules(&without_test_items(code))
        .into_iter()
        .collect();
    assert_eq!(names, ["a", "b", "d"]);
}
