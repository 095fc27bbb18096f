//! AST-aware chunks: one per definition (a large one split with its signature kept as a
//! header, small neighbours merged), a file-level chunk for module docs, imports and
//! top-level code; prose and config split by sections.

use super::lang::Lang;
use super::syntax::Definition;

/// Neighbouring definitions shorter than this are merged.
const SMALL_LINES: u32 = 8;
/// A merged group stops growing at this size.
const MERGED_LINES: u32 = 40;
/// The header kept from a large definition's first lines.
const HEADER_LINES: usize = 3;

#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub symbol: Option<String>,
    /// Every symbol defined in the chunk (several when neighbours were merged).
    pub symbols: Vec<String>,
    pub kind: String,
    pub parent: Option<String>,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
}

pub struct Chunker {
    pub max_lines: u32,
}

impl Chunker {
    pub fn new(max_lines: usize) -> Self {
        Self {
            max_lines: max_lines.max(10) as u32,
        }
    }

    /// Chunks for a parsed code file.
    pub fn code(&self, source: &str, defs: &[Definition]) -> Vec<Chunk> {
        let lines: Vec<&str> = source.lines().collect();
        let n = lines.len() as u32;
        if n == 0 {
            return Vec::new();
        }
        let tree = Tree::build(defs, n);
        let mut out = Vec::new();
        let mut covered = vec![false; n as usize + 1];
        for &root in &tree.roots {
            let d = &defs[root];
            for l in d.doc_start_line..=d.end_line.min(n) {
                covered[l as usize] = true;
            }
            self.emit(&lines, defs, &tree, root, &mut out);
        }
        let mut chunks = merge_small(out, &lines);
        chunks.extend(self.uncovered(&lines, &covered));
        chunks.sort_by_key(|c| (c.start_line, c.end_line));
        chunks
    }

    fn emit(
        &self,
        lines: &[&str],
        defs: &[Definition],
        tree: &Tree,
        i: usize,
        out: &mut Vec<Chunk>,
    ) {
        let d = &defs[i];
        let start = d.doc_start_line.min(d.start_line).max(1);
        let end = d.end_line.min(lines.len() as u32);
        let size = end + 1 - start;
        let base = Chunk {
            symbol: Some(d.name.clone()),
            symbols: vec![d.name.clone()],
            kind: d.kind.clone(),
            parent: d.parent.clone(),
            start_line: start,
            end_line: end,
            text: String::new(),
        };
        if size <= self.max_lines {
            out.push(Chunk {
                text: slice(lines, start, end),
                ..base
            });
            return;
        }
        let children = &tree.children[i];
        if !children.is_empty() {
            // The container's own header (signature, fields) up to its first member.
            let first_child = defs[children[0]].doc_start_line.max(start + 1);
            let header_end = (first_child - 1).min(start + self.max_lines - 1);
            out.push(Chunk {
                end_line: header_end,
                text: slice(lines, start, header_end),
                ..base
            });
            for &c in children {
                self.emit(lines, defs, tree, c, out);
            }
            return;
        }
        // A long leaf: windows that each repeat the signature as a header.
        let sig_end = (d.start_line + HEADER_LINES as u32 - 1).min(end);
        let header = slice(lines, d.start_line, sig_end);
        let body_lines = self.max_lines - HEADER_LINES as u32;
        let mut s = start;
        while s <= end {
            let e = (s + body_lines - 1).min(end);
            let text = if s <= sig_end {
                slice(lines, s, e)
            } else {
                format!("{header}\n    …\n{}", slice(lines, s, e))
            };
            out.push(Chunk {
                start_line: s,
                end_line: e,
                text,
                ..base.clone()
            });
            s = e + 1;
        }
    }

    /// Lines outside every top-level definition: module docs, imports, top-level code.
    fn uncovered(&self, lines: &[&str], covered: &[bool]) -> Vec<Chunk> {
        let mut out = Vec::new();
        let mut cur: Vec<u32> = Vec::new();
        let flush = |cur: &mut Vec<u32>, out: &mut Vec<Chunk>| {
            let content: Vec<u32> = cur
                .iter()
                .copied()
                .filter(|&l| !lines[l as usize - 1].trim().is_empty())
                .collect();
            if let (Some(&first), Some(&last)) = (content.first(), content.last()) {
                let mut text = String::new();
                let mut prev = first;
                for &l in &content {
                    if l > prev + 1 {
                        text.push_str("…\n");
                    }
                    text.push_str(lines[l as usize - 1]);
                    text.push('\n');
                    prev = l;
                }
                out.push(Chunk {
                    symbol: None,
                    symbols: Vec::new(),
                    kind: "file".into(),
                    parent: None,
                    start_line: first,
                    end_line: last,
                    text,
                });
            }
            cur.clear();
        };
        for l in 1..=lines.len() as u32 {
            if covered[l as usize] {
                continue;
            }
            cur.push(l);
            let non_blank = cur
                .iter()
                .filter(|&&x| !lines[x as usize - 1].trim().is_empty())
                .count();
            if non_blank as u32 >= self.max_lines {
                flush(&mut cur, &mut out);
            }
        }
        flush(&mut cur, &mut out);
        out
    }

    /// Chunks for prose and config: sections by headings, documents, tables, stages,
    /// functions; fixed windows otherwise.
    pub fn sections(&self, lang: Lang, source: &str) -> Vec<Chunk> {
        let lines: Vec<&str> = source.lines().collect();
        if lines.is_empty() {
            return Vec::new();
        }
        let boundary: fn(&str, &str) -> Option<String> = match lang {
            Lang::Markdown => markdown_heading,
            Lang::Yaml => yaml_boundary,
            Lang::Toml => toml_table,
            Lang::Dockerfile => docker_stage,
            Lang::Shell => shell_function,
            _ => |_, _| None,
        };
        let mut starts: Vec<(u32, Option<String>)> = vec![(1, None)];
        let mut prev = "";
        for (i, line) in lines.iter().enumerate() {
            if let Some(title) = boundary(line, prev) {
                if i == 0 {
                    starts[0].1 = Some(title);
                } else {
                    starts.push((i as u32 + 1, Some(title)));
                }
            }
            prev = line;
        }
        let n = lines.len() as u32;
        let mut sections = Vec::new();
        for (k, (start, title)) in starts.iter().enumerate() {
            let end = starts.get(k + 1).map(|(s, _)| s - 1).unwrap_or(n);
            let title = match (lang, title) {
                (Lang::Yaml, _) => {
                    yaml_title(&lines[*start as usize - 1..end as usize]).or(title.clone())
                }
                _ => title.clone(),
            };
            let mut s = *start;
            while s <= end {
                let e = (s + self.max_lines - 1).min(end);
                let text = slice(&lines, s, e);
                if !text.trim().is_empty() && text.trim() != "---" {
                    sections.push(Chunk {
                        symbol: title.clone(),
                        symbols: title.iter().cloned().collect(),
                        kind: "section".into(),
                        parent: None,
                        start_line: s,
                        end_line: e,
                        text,
                    });
                }
                s = e + 1;
            }
        }
        merge_small(sections, &lines)
    }
}

fn slice(lines: &[&str], start: u32, end: u32) -> String {
    let (s, e) = (start as usize - 1, (end as usize).min(lines.len()));
    if s >= e {
        return String::new();
    }
    let mut text = lines[s..e].join("\n");
    text.push('\n');
    text
}

/// Merge runs of small adjacent chunks into one, keeping every symbol.
fn merge_small(chunks: Vec<Chunk>, lines: &[&str]) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::with_capacity(chunks.len());
    for c in chunks {
        let size = c.end_line + 1 - c.start_line;
        if let Some(last) = out.last_mut() {
            let last_size = last.end_line + 1 - last.start_line;
            let gap = c.start_line.saturating_sub(last.end_line + 1);
            let adjacent = gap <= 2 && c.start_line > last.end_line;
            if adjacent
                && size < SMALL_LINES
                && last_size < MERGED_LINES
                && (last_size < SMALL_LINES || last.symbols.len() > 1)
                && last.parent == c.parent
            {
                last.end_line = c.end_line;
                last.text = slice(lines, last.start_line, last.end_line);
                last.symbols.extend(c.symbols);
                continue;
            }
        }
        out.push(c);
    }
    out
}

fn markdown_heading(line: &str, _prev: &str) -> Option<String> {
    let t = line.trim_start();
    if t.starts_with('#') && t.trim_start_matches('#').starts_with(' ') {
        return Some(t.trim_start_matches('#').trim().to_string());
    }
    None
}

fn yaml_boundary(line: &str, _prev: &str) -> Option<String> {
    if line.trim_end() == "---" {
        return Some(String::new());
    }
    let first = line.chars().next()?;
    if first.is_whitespace() || first == '-' || first == '#' {
        return None;
    }
    let (key, _) = line.split_once(':')?;
    // Only top-level keys of large documents start sections; `kind:`/`metadata:` of a
    // manifest stay together (see `yaml_title`).
    if matches!(
        key,
        "apiVersion" | "kind" | "metadata" | "spec" | "data" | "status"
    ) {
        return None;
    }
    Some(key.trim_matches(['"', '\'']).to_string())
}

/// A Kubernetes manifest's section is named `Kind/name`.
fn yaml_title(lines: &[&str]) -> Option<String> {
    let kind = lines
        .iter()
        .find_map(|l| l.strip_prefix("kind:"))
        .map(|k| k.trim().to_string())?;
    let name = lines
        .iter()
        .skip_while(|l| !l.starts_with("metadata:"))
        .find_map(|l| l.trim_start().strip_prefix("name:"))
        .map(|n| n.trim().trim_matches(['"', '\'']).to_string());
    Some(match name {
        Some(n) => format!("{kind}/{n}"),
        None => kind,
    })
}

fn toml_table(line: &str, _prev: &str) -> Option<String> {
    let t = line.trim();
    (t.starts_with('[') && t.ends_with(']')).then(|| t.trim_matches(['[', ']']).to_string())
}

fn docker_stage(line: &str, _prev: &str) -> Option<String> {
    let t = line.trim();
    let upper = t.get(..5)?.to_ascii_uppercase();
    (upper == "FROM ").then(|| t[5..].trim().to_string())
}

fn shell_function(line: &str, _prev: &str) -> Option<String> {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("function ") {
        return rest
            .split(|c: char| c == '(' || c == '{' || c.is_whitespace())
            .next()
            .map(str::to_string);
    }
    let (name, rest) = t.split_once("()")?;
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ':');
    (valid && rest.trim_start().starts_with('{')).then(|| name.to_string())
}

/// Containment tree of definitions (by line ranges).
struct Tree {
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
}

impl Tree {
    fn build(defs: &[Definition], n: u32) -> Tree {
        let mut order: Vec<usize> = (0..defs.len())
            .filter(|&i| defs[i].start_line <= n)
            .collect();
        order.sort_by(|&a, &b| {
            defs[a]
                .start_line
                .cmp(&defs[b].start_line)
                .then(defs[b].end_line.cmp(&defs[a].end_line))
        });
        let mut children = vec![Vec::new(); defs.len()];
        let mut roots = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut last_end = 0;
        for i in order {
            while stack
                .last()
                .is_some_and(|&s| defs[s].end_line < defs[i].start_line)
            {
                stack.pop();
            }
            match stack.last() {
                Some(&p) => children[p].push(i),
                None => {
                    // Overlapping roots (e.g. a Go `type (...)` group) are skipped.
                    if defs[i].start_line <= last_end {
                        continue;
                    }
                    roots.push(i);
                    last_end = defs[i].end_line;
                }
            }
            stack.push(i);
        }
        Tree { roots, children }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, kind: &str, s: u32, e: u32) -> Definition {
        Definition {
            name: name.into(),
            kind: kind.into(),
            start_line: s,
            end_line: e,
            doc_start_line: s,
            parent: None,
            doc: None,
        }
    }

    fn numbered(n: usize) -> String {
        (1..=n).map(|i| format!("line {i}\n")).collect()
    }

    #[test]
    fn one_chunk_per_definition_plus_file_chunk() {
        let src = numbered(60);
        let defs = vec![def("a", "function", 5, 25), def("b", "function", 30, 55)];
        let chunks = Chunker::new(80).code(&src, &defs);
        let got: Vec<_> = chunks
            .iter()
            .map(|c| (c.symbol.clone(), c.start_line, c.end_line))
            .collect();
        assert_eq!(
            got,
            vec![
                (None, 1, 60),
                (Some("a".into()), 5, 25),
                (Some("b".into()), 30, 55)
            ]
        );
        let file = &chunks[0];
        assert!(file.text.contains("line 4\n") && file.text.contains("line 56\n"));
        assert!(!file.text.contains("line 10\n"));
    }

    #[test]
    fn large_definition_split_with_signature_header() {
        let src = numbered(300);
        let defs = vec![def("big", "function", 1, 300)];
        let chunks = Chunker::new(80).code(&src, &defs);
        assert!(chunks.len() >= 4, "{}", chunks.len());
        for c in &chunks {
            assert!(c.end_line + 1 - c.start_line <= 80);
            assert!(
                c.text.starts_with("line 1\n"),
                "header kept: {}",
                &c.text[..20]
            );
            assert_eq!(c.symbol.as_deref(), Some("big"));
        }
        assert_eq!(chunks.last().unwrap().end_line, 300);
    }

    #[test]
    fn large_container_emits_header_and_members() {
        let src = numbered(200);
        let defs = vec![
            def("Cart", "class", 1, 200),
            def("add", "method", 10, 90),
            def("total", "method", 100, 190),
        ];
        let chunks = Chunker::new(80).code(&src, &defs);
        let got: Vec<_> = chunks
            .iter()
            .map(|c| {
                (
                    c.symbol.clone().unwrap_or_default(),
                    c.start_line,
                    c.end_line,
                )
            })
            .collect();
        assert!(got.contains(&("Cart".into(), 1, 9)), "{got:?}");
        assert!(
            got.iter().any(|(s, a, _)| s == "add" && *a == 10),
            "{got:?}"
        );
        assert!(
            got.iter().any(|(s, _, b)| s == "total" && *b == 190),
            "{got:?}"
        );
    }

    #[test]
    fn small_neighbours_merge() {
        let src = numbered(30);
        let defs = vec![
            def("a", "function", 1, 3),
            def("b", "function", 5, 7),
            def("c", "function", 9, 11),
        ];
        let chunks = Chunker::new(80).code(&src, &defs);
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        let merged = chunks
            .iter()
            .find(|c| c.symbol.as_deref() == Some("a"))
            .unwrap();
        assert_eq!(merged.symbols, vec!["a", "b", "c"]);
        assert_eq!((merged.start_line, merged.end_line), (1, 11));
    }

    #[test]
    fn markdown_yaml_toml_docker_shell_sections() {
        let c = Chunker::new(80);
        let md = "# Title\nintro\n\n## Install\nrun it, with many words to make it long enough\nmore\nmore\nmore\nmore\nmore\n\n## Use\nuse it\nmore\nmore\nmore\nmore\nmore\nmore\n";
        let s = c.sections(Lang::Markdown, md);
        let titles: Vec<_> = s.iter().flat_map(|c| c.symbols.clone()).collect();
        assert!(
            titles.contains(&"Install".to_string()) && titles.contains(&"Use".to_string()),
            "{titles:?}"
        );
        let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout-api\nspec:\n  replicas: 2\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: checkout\n";
        let s = c.sections(Lang::Yaml, yaml);
        let titles: Vec<_> = s.iter().flat_map(|c| c.symbols.clone()).collect();
        assert!(
            titles.contains(&"Deployment/checkout-api".to_string()),
            "{titles:?}"
        );
        assert!(
            titles.contains(&"Service/checkout".to_string()),
            "{titles:?}"
        );
        let toml = "[package]\nname = \"x\"\n\n[dependencies]\nserde = \"1\"\n";
        let titles: Vec<_> = c
            .sections(Lang::Toml, toml)
            .iter()
            .flat_map(|c| c.symbols.clone())
            .collect();
        assert_eq!(titles, vec!["package", "dependencies"]);
        let docker =
            "FROM rust:1 AS build\nRUN cargo build\nFROM debian\nCOPY --from=build /app /app\n";
        let titles: Vec<_> = c
            .sections(Lang::Dockerfile, docker)
            .iter()
            .flat_map(|c| c.symbols.clone())
            .collect();
        assert_eq!(titles, vec!["rust:1 AS build", "debian"]);
        let sh = "#!/bin/sh\nset -e\ndeploy() {\n  kubectl apply -f k8s\n}\nfunction rollback {\n  kubectl rollout undo\n}\n";
        let titles: Vec<_> = c
            .sections(Lang::Shell, sh)
            .iter()
            .flat_map(|c| c.symbols.clone())
            .collect();
        assert!(
            titles.contains(&"deploy".to_string()) && titles.contains(&"rollback".to_string()),
            "{titles:?}"
        );
    }
}
