//! Symbols from tree-sitter tags queries: definitions with line ranges, parents and doc
//! comments, and references where the query gives them.
//!
//! The queries use the tree-sitter tags conventions (`@name` with `@definition.KIND` or
//! `@reference.KIND`) and run straight on a query cursor: one tag per name node, the
//! earliest pattern winning, as `tree-sitter tags` does.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};
use tree_sitter::{Parser, Query, QueryCursor, StreamingIterator};

use super::lang::{CODE_LANGS, Lang};

#[derive(Debug, thiserror::Error)]
pub enum SyntaxError {
    #[error("tags query for {lang} ({origin}) does not compile: {message}")]
    Query {
        lang: &'static str,
        origin: String,
        message: String,
    },
    #[error("cannot read tags query {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A definition found in a file. Lines are 1-based and inclusive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub kind: String,
    pub start_line: u32,
    pub end_line: u32,
    /// First line of the doc comment or attributes above the definition.
    pub doc_start_line: u32,
    pub parent: Option<String>,
    pub doc: Option<String>,
}

/// A reference (call, type use) found in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub name: String,
    pub kind: String,
    pub line: u32,
}

#[derive(Debug, Default, Clone)]
pub struct Parsed {
    pub definitions: Vec<Definition>,
    pub references: Vec<Reference>,
}

/// A compiled tags query.
pub struct TagsQuery {
    language: tree_sitter::Language,
    query: Query,
    /// Index of the `@name` capture.
    name: u32,
    /// Per capture index: `(is_definition, kind)` for `@definition.KIND` and
    /// `@reference.KIND` captures.
    roles: Vec<Option<(bool, String)>>,
}

impl TagsQuery {
    fn new(language: tree_sitter::Language, source: &str) -> Result<Self, String> {
        let query = Query::new(&language, source).map_err(|e| e.to_string())?;
        let mut name = None;
        let mut roles = Vec::new();
        for (i, capture) in query.capture_names().iter().enumerate() {
            if *capture == "name" {
                name = Some(i as u32);
            }
            roles.push(if let Some(kind) = capture.strip_prefix("definition.") {
                Some((true, kind.to_string()))
            } else {
                capture
                    .strip_prefix("reference.")
                    .map(|kind| (false, kind.to_string()))
            });
        }
        let name = name.ok_or("the query has no @name capture")?;
        Ok(Self {
            language,
            query,
            name,
            roles,
        })
    }
}

/// One thread's parser and query cursor, reused from file to file.
pub struct ParseContext {
    parser: Parser,
    cursor: QueryCursor,
}

impl ParseContext {
    pub fn new() -> Self {
        Self {
            parser: Parser::new(),
            cursor: QueryCursor::new(),
        }
    }
}

impl Default for ParseContext {
    fn default() -> Self {
        Self::new()
    }
}

/// A tag before deduplication: name range, pattern, role.
struct RawTag<'q> {
    name: std::ops::Range<usize>,
    node: std::ops::Range<usize>,
    pattern: usize,
    is_definition: bool,
    kind: &'q str,
}

/// A compiled query, or where its source came from and why it does not compile.
type Compiled = Result<Arc<TagsQuery>, (String, String)>;

/// Compiled tags queries, one per language, compiled on first use.
pub struct SyntaxEngine {
    override_dir: Option<PathBuf>,
    configs: HashMap<Lang, OnceLock<Compiled>>,
}

impl SyntaxEngine {
    /// `override_dir` is `<config dir>/queries`: a `<lang>/tags.scm` there replaces the
    /// bundled query for that language.
    pub fn new(override_dir: Option<PathBuf>) -> Self {
        let configs = CODE_LANGS.iter().map(|l| (*l, OnceLock::new())).collect();
        Self {
            override_dir,
            configs,
        }
    }

    /// Compile every language's query now (tests, and `check_overrides`).
    pub fn check_all(&self) -> Result<(), SyntaxError> {
        for lang in CODE_LANGS {
            self.config(lang)?;
        }
        Ok(())
    }

    /// Compile the user's override queries now, so that a broken one is reported before
    /// any work. Bundled queries compile on first use (a test checks every one), which
    /// keeps a small refresh from paying for languages it does not touch.
    pub fn check_overrides(&self) -> Result<(), SyntaxError> {
        let Some(root) = &self.override_dir else {
            return Ok(());
        };
        for lang in CODE_LANGS {
            let has_override = lang
                .query_dir()
                .is_some_and(|d| root.join(d).join("tags.scm").exists());
            if has_override {
                self.config(lang)?;
            }
        }
        Ok(())
    }

    fn query_source(&self, lang: Lang) -> Result<(String, String), SyntaxError> {
        let dir = lang.query_dir().unwrap_or("none");
        if let Some(root) = &self.override_dir {
            let path = root.join(dir).join("tags.scm");
            if path.exists() {
                let text = std::fs::read_to_string(&path).map_err(|source| SyntaxError::Read {
                    path: path.clone(),
                    source,
                })?;
                return Ok((text, path.display().to_string()));
            }
        }
        Ok((
            lang.bundled_tags_query().unwrap_or_default().to_string(),
            format!("bundled index/queries/{dir}/tags.scm"),
        ))
    }

    fn config(&self, lang: Lang) -> Result<Arc<TagsQuery>, SyntaxError> {
        let Some(cell) = self.configs.get(&lang) else {
            return Err(SyntaxError::Query {
                lang: lang.name(),
                origin: "none".into(),
                message: "not a parsed language".into(),
            });
        };
        if let Some(compiled) = cell.get() {
            return compiled
                .clone()
                .map_err(|(origin, message)| SyntaxError::Query {
                    lang: lang.name(),
                    origin,
                    message,
                });
        }
        let (src, origin) = self.query_source(lang)?;
        let compiled = cell.get_or_init(|| {
            let grammar = lang
                .grammar()
                .ok_or_else(|| (origin.clone(), "no grammar".to_string()))?;
            TagsQuery::new(grammar, &src)
                .map(Arc::new)
                .map_err(|message| (origin.clone(), message))
        });
        compiled
            .clone()
            .map_err(|(origin, message)| SyntaxError::Query {
                lang: lang.name(),
                origin,
                message,
            })
    }

    /// Parse one file. `None` when the language has no grammar.
    pub fn parse(
        &self,
        ctx: &mut ParseContext,
        lang: Lang,
        source: &str,
    ) -> Result<Option<Parsed>, SyntaxError> {
        if lang.grammar().is_none() {
            return Ok(None);
        }
        let config = self.config(lang)?;
        let bytes = source.as_bytes();
        let mut parsed = Parsed::default();
        let tree = match ctx.parser.set_language(&config.language) {
            Ok(()) => ctx.parser.parse(bytes, None),
            Err(_) => None,
        };
        // A file the parser gives up on is still chunked by lines.
        let Some(tree) = tree else {
            return Ok(Some(parsed));
        };
        let mut tags: Vec<RawTag> = Vec::new();
        let mut matches = ctx.cursor.matches(&config.query, tree.root_node(), bytes);
        while let Some(m) = matches.next() {
            let mut name = None;
            let mut role = None;
            for c in m.captures {
                if c.index == config.name {
                    name = Some(c.node.byte_range());
                } else if let Some(Some((is_def, kind))) = config.roles.get(c.index as usize) {
                    role = Some((c.node.byte_range(), *is_def, kind.as_str()));
                }
            }
            if let (Some(name), Some((node, is_definition, kind))) = (name, role) {
                tags.push(RawTag {
                    node: node.start.min(name.start)..node.end.max(name.end),
                    name,
                    pattern: m.pattern_index,
                    is_definition,
                    kind,
                });
            }
        }
        // One tag per name node: the earliest pattern wins.
        tags.sort_by_key(|t| (t.name.end, t.name.start, t.pattern));
        tags.dedup_by_key(|t| (t.name.end, t.name.start));
        let lines = LineIndex::new(bytes);
        let source_lines: Vec<&str> = source.lines().collect();
        for tag in tags {
            let name = String::from_utf8_lossy(&bytes[tag.name.clone()]).into_owned();
            let kind = tag.kind.to_string();
            if tag.is_definition {
                let start_line = lines.line_of(tag.node.start);
                let end_line = lines
                    .line_of(tag.node.end.saturating_sub(1))
                    .max(start_line);
                let (doc_start_line, doc) = doc_comment(lang, &source_lines, start_line, end_line);
                parsed.definitions.push(Definition {
                    name,
                    kind,
                    start_line,
                    end_line,
                    doc_start_line,
                    parent: None,
                    doc,
                });
            } else {
                parsed.references.push(Reference {
                    name,
                    kind,
                    line: lines.line_of(tag.name.start),
                });
            }
        }
        assign_parents(lang, &source_lines, &mut parsed.definitions);
        Ok(Some(parsed))
    }
}

/// Byte offset → 1-based line.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(bytes: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_iter(b'\n', bytes).map(|i| i + 1));
        Self { starts }
    }

    fn line_of(&self, byte: usize) -> u32 {
        let idx = match self.starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        (idx + 1) as u32
    }
}

fn memchr_iter(needle: u8, haystack: &[u8]) -> impl Iterator<Item = usize> + '_ {
    memchr::memchr_iter(needle, haystack)
}

/// Innermost enclosing definition is the parent; Go methods take their receiver type.
fn assign_parents(lang: Lang, lines: &[&str], defs: &mut [Definition]) {
    defs.sort_by(|a, b| {
        a.start_line
            .cmp(&b.start_line)
            .then(b.end_line.cmp(&a.end_line))
    });
    let mut stack: Vec<(u32, String)> = Vec::new();
    for def in defs.iter_mut() {
        while stack.last().is_some_and(|(end, _)| *end < def.start_line) {
            stack.pop();
        }
        def.parent = stack.last().map(|(_, name)| name.clone());
        if lang == Lang::Go && def.kind == "method" && def.parent.is_none() {
            def.parent = lines
                .get(def.start_line as usize - 1)
                .and_then(|l| go_receiver(l));
        }
        stack.push((def.end_line, def.name.clone()));
    }
}

fn go_receiver(line: &str) -> Option<String> {
    let rest = line
        .trim_start()
        .strip_prefix("func")?
        .trim_start()
        .strip_prefix('(')?;
    let recv = rest.split(')').next()?;
    let ty = recv.split_whitespace().last()?.trim_start_matches('*');
    let ty = ty.split('[').next()?;
    (!ty.is_empty()).then(|| ty.to_string())
}

const MAX_DOC_CHARS: usize = 600;

/// The doc comment of a definition: comment lines right above it (skipping attributes
/// and decorators), or a Python docstring right below its signature.
fn doc_comment(
    lang: Lang,
    lines: &[&str],
    start_line: u32,
    end_line: u32,
) -> (u32, Option<String>) {
    let mut first = start_line;
    let mut doc_lines = Vec::new();
    let mut i = start_line as usize - 1; // 0-based index of the definition line
    while i > 0 {
        let prev = lines.get(i - 1).map(|l| l.trim()).unwrap_or("");
        let is_attr = prev.starts_with("#[") || (prev.starts_with('@') && lang != Lang::Go);
        let is_comment = match lang {
            Lang::Python => prev.starts_with('#'),
            _ => {
                prev.starts_with("//")
                    || prev.starts_with("/*")
                    || prev.starts_with('*')
                    || prev.ends_with("*/")
            }
        };
        if is_attr {
            i -= 1;
            first = i as u32 + 1;
            continue;
        }
        if !is_comment || prev.is_empty() {
            break;
        }
        doc_lines.push(strip_comment(prev));
        i -= 1;
        first = i as u32 + 1;
    }
    doc_lines.reverse();
    if lang == Lang::Python
        && doc_lines.is_empty()
        && let Some(doc) = python_docstring(lines, start_line, end_line)
    {
        return (first, Some(doc));
    }
    let doc = doc_lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (first, (!doc.is_empty()).then(|| truncate(doc)))
}

fn strip_comment(line: &str) -> String {
    line.trim_start_matches('/')
        .trim_start_matches('!')
        .trim_start_matches('#')
        .trim_start_matches("/*")
        .trim_start_matches('*')
        .trim_end_matches("*/")
        .trim()
        .to_string()
}

fn python_docstring(lines: &[&str], start_line: u32, end_line: u32) -> Option<String> {
    let body_start = (start_line as usize - 1..end_line as usize)
        .find(|&i| lines.get(i).is_some_and(|l| l.trim_end().ends_with(':')))?
        + 1;
    let first = (body_start..end_line as usize).find(|&i| !lines[i].trim().is_empty())?;
    let text = lines[first].trim();
    let text = text.trim_start_matches(['r', 'u', 'b', 'R', 'U', 'B']);
    let quote = ["\"\"\"", "'''", "\"", "'"]
        .into_iter()
        .find(|q| text.starts_with(q))?;
    let mut doc = String::new();
    let mut rest = &text[quote.len()..];
    let mut i = first;
    loop {
        if let Some(end) = rest.find(quote) {
            doc.push_str(&rest[..end]);
            break;
        }
        doc.push_str(rest.trim());
        doc.push(' ');
        i += 1;
        if i >= end_line as usize || doc.len() > MAX_DOC_CHARS {
            break;
        }
        rest = lines[i].trim();
    }
    let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    (!doc.is_empty()).then(|| truncate(doc))
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_DOC_CHARS {
        let mut cut = MAX_DOC_CHARS;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Where user overrides of the bundled queries live.
pub fn override_dir() -> Option<PathBuf> {
    crate::config::config_dir().map(|d| d.join("queries"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(lang: Lang, src: &str) -> Parsed {
        let engine = SyntaxEngine::new(None);
        let mut ctx = ParseContext::new();
        engine.parse(&mut ctx, lang, src).unwrap().unwrap()
    }

    fn names(p: &Parsed) -> Vec<(String, String, Option<String>)> {
        p.definitions
            .iter()
            .map(|d| (d.name.clone(), d.kind.clone(), d.parent.clone()))
            .collect()
    }

    #[test]
    fn every_bundled_query_compiles() {
        SyntaxEngine::new(None).check_all().unwrap();
    }

    #[test]
    fn rust_definitions_parents_docs_and_calls() {
        let src = "/// Loads the config.\n#[derive(Debug)]\npub struct Config {\n    a: u32,\n}\n\nimpl Config {\n    /// Parse it.\n    pub fn parse(s: &str) -> Self {\n        helper(s)\n    }\n}\n\nfn helper(s: &str) -> Config { todo() }\n";
        let p = parse(Lang::Rust, src);
        let n = names(&p);
        assert!(
            n.contains(&("Config".into(), "struct".into(), None)),
            "{n:?}"
        );
        assert!(
            n.contains(&("parse".into(), "method".into(), Some("Config".into()))),
            "{n:?}"
        );
        assert!(
            n.contains(&("helper".into(), "function".into(), None)),
            "{n:?}"
        );
        let cfg = p.definitions.iter().find(|d| d.kind == "struct").unwrap();
        assert_eq!(
            (cfg.doc_start_line, cfg.start_line, cfg.end_line),
            (1, 3, 5)
        );
        assert_eq!(cfg.doc.as_deref(), Some("Loads the config."));
        assert!(
            p.references
                .iter()
                .any(|r| r.name == "helper" && r.line == 10)
        );
    }

    #[test]
    fn python_methods_and_docstrings() {
        let src = "import os\n\nclass Server:\n    \"\"\"Serves HTTP.\"\"\"\n\n    @property\n    def port(self):\n        '''The port\n        number.'''\n        return int(os.environ['PORT'])\n\ndef main():\n    Server().port\n";
        let p = parse(Lang::Python, src);
        let n = names(&p);
        assert!(
            n.contains(&("Server".into(), "class".into(), None)),
            "{n:?}"
        );
        assert!(
            n.contains(&("port".into(), "method".into(), Some("Server".into()))),
            "{n:?}"
        );
        assert!(
            n.contains(&("main".into(), "function".into(), None)),
            "{n:?}"
        );
        let server = p.definitions.iter().find(|d| d.name == "Server").unwrap();
        assert_eq!(server.doc.as_deref(), Some("Serves HTTP."));
        let port = p.definitions.iter().find(|d| d.name == "port").unwrap();
        assert_eq!(port.doc.as_deref(), Some("The port number."));
        assert_eq!(port.doc_start_line, 6);
    }

    #[test]
    fn go_methods_take_receiver_as_parent() {
        let src = "package main\n\n// Server serves.\ntype Server struct {\n\tport int\n}\n\ntype Store interface {\n\tGet(k string) string\n}\n\nfunc (s *Server) Start() error {\n\treturn listen(s.port)\n}\n";
        let n = names(&parse(Lang::Go, src));
        assert!(
            n.contains(&("Server".into(), "struct".into(), None)),
            "{n:?}"
        );
        assert!(
            n.contains(&("Store".into(), "interface".into(), None)),
            "{n:?}"
        );
        assert!(
            n.contains(&("Get".into(), "method".into(), Some("Store".into()))),
            "{n:?}"
        );
        assert!(
            n.contains(&("Start".into(), "method".into(), Some("Server".into()))),
            "{n:?}"
        );
    }

    #[test]
    fn js_ts_tsx_java() {
        let js = "class Cart {\n  total() { return sum(this.items); }\n}\nconst addItem = (c, i) => c.items.push(i);\nfunction checkout() {}\n";
        let n = names(&parse(Lang::JavaScript, js));
        for want in ["Cart", "total", "addItem", "checkout"] {
            assert!(n.iter().any(|(name, _, _)| name == want), "{want}: {n:?}");
        }
        let ts = "interface Order { id: string }\ntype Id = string;\nenum Color { Red }\nexport class Api {\n  fetch(id: Id): Order { return get(id); }\n}\n";
        let n = names(&parse(Lang::TypeScript, ts));
        assert!(
            n.contains(&("Order".into(), "interface".into(), None)),
            "{n:?}"
        );
        assert!(
            n.contains(&("fetch".into(), "method".into(), Some("Api".into()))),
            "{n:?}"
        );
        let tsx = "export function Button(props: Props) {\n  return <button onClick={props.onClick}>ok</button>;\n}\n";
        let n = names(&parse(Lang::Tsx, tsx));
        assert!(
            n.contains(&("Button".into(), "function".into(), None)),
            "{n:?}"
        );
        let java = "package a;\n/** A repo. */\npublic class Repo {\n  public Repo() {}\n  public int count() { return list().size(); }\n}\n";
        let p = parse(Lang::Java, java);
        let n = names(&p);
        assert!(
            n.contains(&("count".into(), "method".into(), Some("Repo".into()))),
            "{n:?}"
        );
        let repo = p
            .definitions
            .iter()
            .find(|d| d.name == "Repo" && d.kind == "class")
            .unwrap();
        assert_eq!(repo.doc.as_deref(), Some("A repo."));
    }

    #[test]
    fn broken_override_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("rust")).unwrap();
        std::fs::write(dir.path().join("rust/tags.scm"), "(no_such_node) @name").unwrap();
        let engine = SyntaxEngine::new(Some(dir.path().to_path_buf()));
        let err = engine.check_overrides().unwrap_err().to_string();
        assert!(
            err.contains("rust/tags.scm") && err.contains("rust"),
            "{err}"
        );
        // Other languages still work.
        let mut ctx = ParseContext::new();
        assert!(
            engine
                .parse(&mut ctx, Lang::Python, "def f(): pass\n")
                .is_ok()
        );
    }
}
