//! Reading the crate's sources: each file's module path and every crate path it names
//! (comments and strings blanked first), resolved to absolute module paths; and the
//! import cycles between files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub(super) fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/`-relative path → module path (`agent/tools/mod.rs` → `agent::tools`).
pub(super) fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code with comments, strings and character literals blanked (lines kept).
pub(super) fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let end = literal_end(&c, i);
        if end > i {
            out.extend(
                c[i..end]
                    .iter()
                    .map(|&ch| if ch == '\n' { '\n' } else { ' ' }),
            );
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Where a comment, string or character literal starting at `i` ends (`i` when none
/// starts there).
pub(super) fn literal_end(c: &[char], i: usize) -> usize {
    let at = |k: usize| c.get(k).copied();
    let after_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
    match (at(i), at(i + 1)) {
        (Some('/'), Some('/')) => (i..c.len()).find(|&j| c[j] == '\n').unwrap_or(c.len()),
        (Some('/'), Some('*')) => {
            let (mut depth, mut j) = (1, i + 2);
            while j < c.len() && depth > 0 {
                match (c[j], at(j + 1)) {
                    ('/', Some('*')) => (depth, j) = (depth + 1, j + 2),
                    ('*', Some('/')) => (depth, j) = (depth - 1, j + 2),
                    _ => j += 1,
                }
            }
            j.min(c.len())
        }
        (Some('"'), _) => {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            (j + 1).min(c.len())
        }
        (Some('r'), _) | (Some('b'), Some('r')) if !after_ident => {
            raw_string_end(c, i).unwrap_or(i)
        }
        (Some('\''), Some('\\')) => (i + 2..c.len())
            .find(|&j| c[j] == '\'')
            .map_or(c.len(), |j| j + 1),
        (Some('\''), _) if at(i + 2) == Some('\'') => i + 3,
        _ => i,
    }
}

/// The end of a raw string (`r"…"`, `r#"…"#`, `br"…"`) starting at `i`, if one does.
pub(super) fn raw_string_end(c: &[char], i: usize) -> Option<usize> {
    let k = if c[i] == 'b' { i + 2 } else { i + 1 };
    let hashes = c[k..].iter().take_while(|&&ch| ch == '#').count();
    if c.get(k + hashes) != Some(&'"') {
        return None;
    }
    let closes = |j: usize| c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#'));
    let end = (k + hashes + 1..c.len()).find(|&j| closes(j));
    Some(end.map_or(c.len(), |j| j + 1 + hashes))
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Path,
    Punct(char),
}

pub(super) fn tokens(code: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = code.chars().collect();
    let (mut out, mut line, mut i) = (Vec::new(), 1, 0);
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((Tok::Ident(c[start..i].iter().collect()), line));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// A `use` tree from `toks[*pos]` on: every path it names (globs and renames end a path).
pub(super) fn use_tree(
    toks: &[(Tok, usize)],
    pos: &mut usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) {
    let mut path = prefix.to_vec();
    while let Some((t, _)) = toks.get(*pos) {
        match t {
            Tok::Path => *pos += 1,
            Tok::Punct('{') => {
                *pos += 1;
                while !matches!(toks.get(*pos), None | Some((Tok::Punct('}'), _))) {
                    use_tree(toks, pos, &path, out);
                    if matches!(toks.get(*pos), Some((Tok::Punct(','), _))) {
                        *pos += 1;
                    }
                }
                *pos += 1;
                return;
            }
            Tok::Ident(s) if s == "as" => {
                *pos += 2;
                break;
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                *pos += 1;
            }
            Tok::Punct('*') => {
                *pos += 1;
                break;
            }
            Tok::Punct(_) => break,
        }
    }
    out.push(path);
}

/// A path as written in a module (`crate::…`, `super::…`, `self::…`, `child::…`) made
/// absolute; `None` for paths into other crates.
pub(super) fn absolute(
    p: &[String],
    cur: &[String],
    crate_name: &str,
    modules: &BTreeSet<Vec<String>>,
) -> Option<Vec<String>> {
    let first = p.first()?;
    if first == "crate" || first == crate_name {
        return Some(p[1..].to_vec());
    }
    if first == "super" || first == "self" {
        let mut m = cur.to_vec();
        let mut k = 0;
        while k < p.len() && (p[k] == "super" || p[k] == "self") {
            if p[k] == "super" {
                m.pop();
            }
            k += 1;
        }
        m.extend_from_slice(&p[k..]);
        return Some(m);
    }
    // `use child::x` names a child module of the current one.
    let child = [cur, std::slice::from_ref(first)].concat();
    modules.contains(&child).then(|| [cur, p].concat())
}

/// One file's crate paths, each made absolute (segments after `crate`), with its line.
pub(super) fn crate_paths(
    code: &str,
    file_module: &[String],
    crate_name: &str,
    modules: &BTreeSet<Vec<String>>,
) -> Vec<(Vec<String>, usize)> {
    let toks = tokens(code);
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`): (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let cur: Vec<String> = file_module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        let line = toks[i].1;
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
                i += 1;
            }
            Tok::Ident(k) if k == "mod" => {
                if let (Some((Tok::Ident(name), _)), Some((Tok::Punct('{'), _))) =
                    (toks.get(i + 1), toks.get(i + 2))
                {
                    depth += 1;
                    inline.push((name.clone(), depth));
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(k) if k == "use" => {
                i += 1;
                let mut paths = Vec::new();
                use_tree(&toks, &mut i, &[], &mut paths);
                out.extend(
                    paths
                        .iter()
                        .filter_map(|p| absolute(p, &cur, crate_name, modules))
                        .map(|p| (p, line)),
                );
            }
            // A path: `crate::…`, `super::…`, or `child::…` for a child module of the
            // current one (not the tail of a longer path).
            Tok::Ident(k)
                if toks.get(i + 1).is_some_and(|t| t.0 == Tok::Path)
                    && (i == 0 || toks[i - 1].0 != Tok::Path)
                    && (k == "crate"
                        || k == crate_name
                        || k == "super"
                        || modules
                            .contains(&[cur.as_slice(), std::slice::from_ref(k)].concat())) =>
            {
                let mut p = vec![k.clone()];
                i += 1;
                while let (Some((Tok::Path, _)), Some((Tok::Ident(s), _))) =
                    (toks.get(i), toks.get(i + 1))
                {
                    p.push(s.clone());
                    i += 2;
                }
                out.extend(absolute(&p, &cur, crate_name, modules).map(|p| (p, line)));
            }
            _ => i += 1,
        }
    }
    out
}

/// A source file and what it imports.
pub(super) struct File {
    pub(super) rel: String,
    pub(super) module: Vec<String>,
    pub(super) imports: Vec<(Vec<String>, usize)>,
}

pub(super) fn read_crate(root: &Path) -> Vec<File> {
    let src = root.join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    let rels: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    let modules: BTreeSet<Vec<String>> = rels
        .iter()
        .filter(|r| *r != "main.rs")
        .map(|r| module_of(r))
        .collect();
    paths
        .iter()
        .zip(rels)
        .map(|(p, rel)| {
            let text = std::fs::read_to_string(p).unwrap();
            // The binary reaches the library as `triage::`.
            let (module, crate_name) = if rel == "main.rs" {
                (vec!["main".to_string()], "triage")
            } else {
                (module_of(&rel), "crate")
            };
            let imports = crate_paths(&strip(&text), &module, crate_name, &modules);
            File {
                rel,
                module,
                imports,
            }
        })
        .collect()
}

/// Strongly connected components (more than one file) of the file import graph.
pub(super) fn import_cycles(files: &[File]) -> Vec<Vec<String>> {
    let by_module: BTreeMap<&[String], usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.as_slice(), i))
        .collect();
    let edges: Vec<BTreeSet<usize>> = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            imported_modules(f, &by_module)
                .filter(|&j| j != i)
                .collect()
        })
        .collect();
    let mut out: Vec<Vec<String>> = strongly_connected(&edges)
        .into_iter()
        .map(|comp| {
            let mut names: Vec<String> = comp
                .iter()
                .map(|&w| format!("src/{}", files[w].rel))
                .collect();
            names.sort();
            names
        })
        .collect();
    out.sort();
    out
}

/// The files a file imports, by the longest module prefix of each path.
fn imported_modules<'a>(
    f: &'a File,
    by_module: &'a BTreeMap<&[String], usize>,
) -> impl Iterator<Item = usize> + 'a {
    f.imports.iter().filter_map(|(p, _)| {
        (0..=p.len())
            .rev()
            .find_map(|k| by_module.get(&p[..k]).copied())
    })
}

/// Cycles between sibling modules: for every folder, its children (files and
/// sub-folders, each taken whole) and the imports between them. A file-level graph can be
/// free of cycles while two folders still import each other through different files.
pub(super) fn module_cycles(files: &[File]) -> Vec<Vec<String>> {
    let by_module: BTreeMap<&[String], usize> = files
        .iter()
        .enumerate()
        .map(|(i, f)| (f.module.as_slice(), i))
        .collect();
    let mut nodes: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut pairs = BTreeSet::new();
    for f in files {
        for j in imported_modules(f, &by_module) {
            let (m, t) = (&f.module, &files[j].module);
            let common = m.iter().zip(t).take_while(|(a, b)| a == b).count();
            if common >= m.len() || common >= t.len() {
                continue; // a module and its own descendants or ancestors
            }
            let mut id = |k: &[String]| {
                let n = nodes.len();
                *nodes.entry(k.to_vec()).or_insert(n)
            };
            pairs.insert((id(&m[..=common]), id(&t[..=common])));
        }
    }
    let mut edges = vec![BTreeSet::new(); nodes.len()];
    for (a, b) in pairs {
        edges[a].insert(b);
    }
    let names: BTreeMap<usize, String> =
        nodes.into_iter().map(|(k, v)| (v, k.join("::"))).collect();
    let mut out: Vec<Vec<String>> = strongly_connected(&edges)
        .into_iter()
        .map(|comp| {
            let mut c: Vec<String> = comp.iter().map(|w| names[w].clone()).collect();
            c.sort();
            c
        })
        .collect();
    out.sort();
    out
}

/// Tarjan's algorithm, iteratively: the components of more than one node.
fn strongly_connected(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    let n = edges.len();
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, Vec<usize>)> =
            vec![(start, edges[start].iter().copied().collect())];
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on[start] = true;
        while let Some((v, todo)) = work.last_mut() {
            let v = *v;
            if let Some(w) = todo.pop() {
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on[w] = true;
                    work.push((w, edges[w].iter().copied().collect()));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some((parent, _)) = work.last() {
                low[*parent] = low[*parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut comp = Vec::new();
                while let Some(w) = stack.pop() {
                    on[w] = false;
                    comp.push(w);
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    out.push(comp);
                }
            }
        }
    }
    out
}
