//! The architecture rules the build checks, against `docs/architecture.md`:
//! - every `use crate::…` (and every inline `crate::…` or `super::…` path) goes down the
//!   layer table the doc prints; a module without a row is an error;
//! - the doc's file map names every source file, and nothing that does not exist;
//! - no import cycle between files;
//! - no source file is over 600 lines beyond an allowlist that may only shrink.
//!
//! `TRIAGE_ARCH_ROOT=DIR` points the checks at another checkout (to measure it); the
//! failure messages then list what that checkout breaks.

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use source::{import_cycles, module_cycles, read_crate, rust_files};

/// The longest a source file may be.
const MAX_LINES: usize = 600;

/// Files over the limit when the rule came in. Remove a file once it is under the limit
/// (the test says when); never add one.
const OVERSIZED: &[&str] = &[
    "src/index/syntax.rs",
    "src/kube/links.rs",
    "src/llm/redact.rs",
    "src/tui/keymap.rs",
    "src/tui/state.rs",
    "src/tui/theme.rs",
    "tests/it/agent.rs",
    "tests/it/kube.rs",
];

fn root() -> PathBuf {
    std::env::var_os("TRIAGE_ARCH_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The doc's layer table: rows `| N | `a`, `b` | … |`, top (0) to bottom.
fn layer_table(doc: &str) -> BTreeMap<String, usize> {
    let mut layers = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let Ok(n) = cells[1].parse::<usize>() else {
            continue;
        };
        for name in cells[2].split('`').skip(1).step_by(2) {
            assert!(
                layers.insert(name.to_string(), n).is_none(),
                "module `{name}` is in two rows of the layer table"
            );
        }
    }
    layers
}

#[test]
fn the_readme_prints_the_same_layer_table() {
    let root = root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let in_readme = layer_table(&readme);
    assert!(!in_readme.is_empty(), "README.md has no layer table");
    assert_eq!(in_readme, layer_table(&doc(&root)));
}

fn doc(root: &Path) -> String {
    let path = root.join("docs/architecture.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The top module a path lands in (`None` for the crate root itself).
fn top(module: &[String]) -> Option<&str> {
    module.first().map(String::as_str)
}

#[test]
fn imports_go_down_the_layer_table_in_docs_architecture() {
    let root = root();
    let layers = layer_table(&doc(&root));
    assert!(
        layers.len() >= 6,
        "docs/architecture.md has no layer table (rows `| N | `module`, … | what |`)"
    );
    let files = read_crate(&root);
    let mut wrong = Vec::new();
    for f in &files {
        let Some(from) = top(&f.module) else { continue };
        let Some(&lf) = layers.get(from) else {
            wrong.push(format!(
                "src/{}: module `{from}` has no row in the layer table",
                f.rel
            ));
            continue;
        };
        for (path, line) in &f.imports {
            let Some(to) = top(path) else { continue };
            if to == from || !files.iter().any(|g| top(&g.module) == Some(to)) {
                continue;
            }
            match layers.get(to) {
                None => wrong.push(format!(
                    "src/{}:{line}: `{to}` has no row in the layer table",
                    f.rel
                )),
                Some(&lt) if lt < lf => wrong.push(format!(
                    "src/{}:{line}: `{from}` (layer {lf}) imports up into `crate::{}` (layer {lt})",
                    f.rel,
                    path.join("::")
                )),
                Some(&lt) if lt == lf => wrong.push(format!(
                    "src/{}:{line}: `{from}` imports sideways into `crate::{}` (both layer {lf})",
                    f.rel,
                    path.join("::")
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} imports break the layer table of docs/architecture.md:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn no_import_cycles() {
    let files = read_crate(&root());
    let cycles = import_cycles(&files);
    let report: Vec<String> = cycles
        .iter()
        .map(|c| format!("  {} files: {}", c.len(), c.join(" ")))
        .collect();
    // The measurement, for `-- --nocapture`.
    eprintln!(
        "{} files, {} import cycles:\n{}",
        files.len(),
        cycles.len(),
        report.join("\n")
    );
    assert!(
        cycles.is_empty(),
        "import cycles (strongly connected files; break each at a seam):\n{}",
        report.join("\n")
    );
}

#[test]
fn no_cycles_between_sibling_modules() {
    let files = read_crate(&root());
    let cycles = module_cycles(&files);
    let report: Vec<String> = cycles
        .iter()
        .map(|c| format!("  {}", c.join(" ")))
        .collect();
    eprintln!("{} module cycles:\n{}", cycles.len(), report.join("\n"));
    assert!(
        cycles.is_empty(),
        "sibling modules that import each other (break each at a seam):\n{}",
        report.join("\n")
    );
}

#[test]
fn no_source_file_grows_over_600_lines() {
    let root = root();
    let mut paths = Vec::new();
    for dir in ["src", "tests", "benches"] {
        rust_files(&root.join(dir), &mut paths);
    }
    let lines = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let mut over: Vec<String> = paths
        .iter()
        .filter(|p| lines(p) > MAX_LINES)
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    over.sort();
    let new: Vec<&String> = over
        .iter()
        .filter(|p| !OVERSIZED.contains(&p.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "files over {MAX_LINES} lines (split them): {new:?}"
    );
    let trimmed: Vec<&&str> = OVERSIZED
        .iter()
        .filter(|p| !over.iter().any(|o| o == *p))
        .collect();
    assert!(
        trimmed.is_empty(),
        "under {MAX_LINES} lines now (or gone): remove from OVERSIZED: {trimmed:?}"
    );
}

/// The file map: the code block under `## Files`, one entry per line (`name.rs`, `dir/`,
/// or several separated by `, `), nested two spaces per level, descriptions after.
fn file_map(doc: &str) -> BTreeSet<String> {
    let block = doc
        .split("## Files")
        .nth(1)
        .and_then(|s| s.split("```").nth(1))
        .expect("docs/architecture.md has a `## Files` section with a code block");
    let mut dirs: Vec<String> = Vec::new();
    let mut out = BTreeSet::new();
    for line in block.lines().skip(1) {
        let indent = line.len() - line.trim_start().len();
        let names = line.trim_start().split("  ").next().unwrap_or("");
        let names: Vec<&str> = names.split(", ").map(str::trim).collect();
        if indent % 2 != 0
            || names
                .iter()
                .any(|n| !(n.ends_with(".rs") || n.ends_with('/')))
        {
            continue;
        }
        dirs.truncate(indent / 2);
        for n in &names {
            let path = format!("{}{n}", dirs.concat());
            out.insert(path);
        }
        if let [one] = names.as_slice()
            && one.ends_with('/')
        {
            dirs.push(one.to_string());
        }
    }
    out
}

#[test]
fn docs_architecture_maps_every_source_file() {
    let root = root();
    let map = file_map(&doc(&root));
    let mut paths = Vec::new();
    rust_files(&root.join("src"), &mut paths);
    let files: BTreeSet<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let missing: Vec<&String> = files.iter().filter(|f| !map.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "docs/architecture.md's file map does not name: {missing:?}"
    );
    let stale: Vec<&String> = map.iter().filter(|m| !root.join(m).exists()).collect();
    assert!(
        stale.is_empty(),
        "docs/architecture.md's file map names what does not exist: {stale:?}"
    );
}
