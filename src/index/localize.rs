//! Issue → files: name the files and functions most likely to need a change, each with
//! its reasons. Exact evidence (paths, stack frames, symbol names) weighs most; then
//! full-text, similar past changes, vectors, and graph neighbours, fused by rank.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use std::time::Instant;

use anyhow::Result;
use arrow_array::{Array, RecordBatch};
use futures::TryStreamExt;
use lancedb::index::scalar::FullTextSearchQuery;
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use regex::Regex;
use serde::Serialize;

use super::graph::FileGraph;
use super::search::query_words;
use super::store::{Store, in_list, str_col, u32_col};
use crate::llm::embed::Embedder;

const RRF_K: f32 = 60.0;
const CANDIDATES: usize = 60;
/// Nearest chunks that count as semantic evidence, and the weight of each file they
/// name. Sentence-model similarity on code is noisy: at full weight it pulls unrelated
/// tests, docs and config into the top five. On the four mined suites (README) the
/// nearest 10 at half the weight of full text raised Acc@5 and MRR over the nearest 20
/// at full weight, at some cost in Acc@1; `eval localize --evidence` and
/// `scripts/fusion-replay` compare such settings.
const VECTOR_CANDIDATES: usize = 10;
const VECTOR_WEIGHT: f32 = 0.5;
const CHUNK_COLUMNS: [&str; 6] = ["path", "symbol", "kind", "start_line", "end_line", "text"];
/// Longest issue text sent to full-text search (stack traces can be huge).
const MAX_QUERY_CHARS: usize = 4000;

/// Which signals to use; all by default. `triage eval` turns them off to measure each.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Signals {
    pub fulltext: bool,
    pub structure: bool,
    pub history: bool,
    pub graph: bool,
    /// Offline questions (derived from identifiers, docs, messages).
    pub questions: bool,
    /// Model-written questions (`index --llm-questions`), told apart by their `llm:`
    /// chunk id so the eval can measure each kind alone.
    pub llm_questions: bool,
    pub vectors: bool,
}

/// The default is what the localization evals support (see the README): past changes
/// and graph neighbours lowered accuracy on the suites measured, and offline questions
/// did not clearly help, so those are opt-in.
impl Default for Signals {
    fn default() -> Self {
        Self {
            fulltext: true,
            structure: true,
            history: false,
            graph: false,
            questions: false,
            llm_questions: false,
            vectors: true,
        }
    }
}

impl Signals {
    /// Parse `fulltext,structure,history,graph,questions,llm_questions,vectors` (or
    /// `all`).
    pub fn parse(s: &str) -> Result<Signals> {
        if s == "default" {
            return Ok(Signals::default());
        }
        if s == "all" {
            return Ok(Signals {
                fulltext: true,
                structure: true,
                history: true,
                graph: true,
                questions: true,
                llm_questions: true,
                vectors: true,
            });
        }
        let mut out = Signals {
            fulltext: false,
            structure: false,
            history: false,
            graph: false,
            questions: false,
            llm_questions: false,
            vectors: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "fulltext" => out.fulltext = true,
                "structure" => out.structure = true,
                "history" => out.history = true,
                "graph" => out.graph = true,
                "questions" => out.questions = true,
                "llm_questions" => out.llm_questions = true,
                "vectors" => out.vectors = true,
                other => anyhow::bail!(
                    "unknown signal {other:?}; valid: fulltext, structure, history, graph, questions, llm_questions, vectors, default, all"
                ),
            }
        }
        Ok(out)
    }
}

/// A stack frame found in the issue text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub path: String,
    pub line: Option<u32>,
    pub function: Option<String>,
}

/// What was parsed exactly from the issue before any fuzzy matching.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IssueParse {
    pub paths: Vec<String>,
    pub frames: Vec<Frame>,
    pub symbols: Vec<String>,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueResult {
    pub files: Vec<RankedFile>,
    pub parsed: IssueParse,
    pub signals: Signals,
    pub elapsed_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankedFile {
    pub path: String,
    pub score: f32,
    pub reasons: Vec<String>,
    pub symbols: Vec<RankedSymbol>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedSymbol {
    pub name: String,
    pub kind: String,
    pub start_line: u32,
    pub end_line: u32,
}

static FRAME_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Python: File "app/models.py", line 42, in save
        r#"File "([^"]+)", line (\d+)(?:, in (\w+))?"#,
        // Java: at com.shop.Cart.add(Cart.java:42)
        r"at (?:[\w$]+\.)*([\w$<>]+)\(([\w$]+\.(?:java|kt|scala)):(\d+)\)",
        // JavaScript: at fn (/srv/app/src/cart.js:10:5) or at /srv/app/src/cart.js:10:5
        r"at (?:([\w$.<>]+) \()?([^\s()]+\.(?:js|mjs|cjs|ts|tsx|jsx)):(\d+)(?::\d+)?\)?",
        // Rust panics and backtraces: at src/main.rs:10:5 / panicked at src/lib.rs:3:9
        r"(?:at |panicked at )([\w./-]+\.rs):(\d+)(?::\d+)?",
        // Go: /home/u/app/server.go:123 +0x1d
        r"([\w./-]+\.go):(\d+)",
    ]
    .iter()
    .filter_map(|p| Regex::new(p).ok())
    .collect()
});

static PATH_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s`'(\[])((?:[\w.-]+/)*[\w.-]+\.(?:rs|py|go|js|mjs|cjs|jsx|ts|tsx|java|kt|rb|c|h|cc|cpp|hpp|cs|php|md|ya?ml|toml|json|sh|sql|proto))\b").ok()
});

static QUOTED_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"["'`]([^"'`\n]{8,160})["'`]"#).ok());

/// Parse the exact parts of an issue: paths, stack frames, code-like symbols, error
/// messages.
pub fn parse_issue(text: &str) -> IssueParse {
    let mut p = IssueParse::default();
    for (i, re) in FRAME_PATTERNS.iter().enumerate() {
        for c in re.captures_iter(text) {
            let get = |n: usize| c.get(n).map(|m| m.as_str().to_string());
            let frame = match i {
                0 => Frame {
                    path: get(1).unwrap_or_default(),
                    line: get(2).and_then(|l| l.parse().ok()),
                    function: get(3),
                },
                1 => Frame {
                    path: get(2).unwrap_or_default(),
                    line: get(3).and_then(|l| l.parse().ok()),
                    function: get(1),
                },
                2 => Frame {
                    path: get(2).unwrap_or_default(),
                    line: get(3).and_then(|l| l.parse().ok()),
                    function: get(1).map(|f| f.rsplit('.').next().unwrap_or(&f).to_string()),
                },
                _ => Frame {
                    path: get(1).unwrap_or_default(),
                    line: get(2).and_then(|l| l.parse().ok()),
                    function: None,
                },
            };
            if !frame.path.is_empty() && !p.frames.contains(&frame) {
                p.frames.push(frame);
            }
        }
    }
    if let Some(re) = PATH_RE.as_ref() {
        for c in re.captures_iter(text) {
            let path = c[1].trim_start_matches("./").to_string();
            if !p.paths.contains(&path) && !p.frames.iter().any(|f| f.path.ends_with(&path)) {
                p.paths.push(path);
            }
        }
    }
    // Code-like tokens: snake_case, camelCase/PascalCase with an inner capital,
    // `backticked`, or called like `name(`.
    for raw in text.split(|c: char| c.is_whitespace() || ",;\"'<>[]{}".contains(c)) {
        let backticked = raw.starts_with('`');
        let called = raw.contains('(');
        let tok =
            raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '_' && c != '.' && c != ':');
        for part in tok.split(['.', ':', '(']) {
            let part = part.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
            if part.len() < 3
                || !part
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
            {
                continue;
            }
            let snake = part.contains('_') && part.chars().any(|c| c.is_alphabetic());
            let camel = part.chars().skip(1).any(|c| c.is_uppercase())
                && part.chars().any(|c| c.is_lowercase());
            if (snake || camel || backticked || called) && !p.symbols.iter().any(|s| s == part) {
                p.symbols.push(part.to_string());
            }
        }
    }
    for f in &p.frames {
        if let Some(func) = &f.function
            && !p.symbols.contains(func)
        {
            p.symbols.push(func.clone());
        }
    }
    if let Some(re) = QUOTED_RE.as_ref() {
        for c in re.captures_iter(text) {
            let m = c[1].trim().to_string();
            if m.contains(' ') && !p.errors.contains(&m) {
                p.errors.push(m);
            }
        }
    }
    for line in text.lines() {
        let l = line.trim();
        if let Some(idx) = l
            .find("Error:")
            .or_else(|| l.find("Exception:"))
            .or_else(|| l.find("panicked at"))
        {
            let msg = l[idx..]
                .split_once(':')
                .map(|(_, m)| m.trim())
                .unwrap_or("")
                .to_string();
            if msg.len() >= 8 && !p.errors.contains(&msg) {
                p.errors.push(msg);
            }
        }
    }
    p.symbols.truncate(64);
    p
}

/// Per-file evidence gathered from all signals.
#[derive(Default)]
struct Evidence {
    score: f32,
    reasons: Vec<String>,
    symbols: Vec<RankedSymbol>,
}

impl Evidence {
    fn add(&mut self, weight: f32, rank: usize, reason: String) {
        self.score += weight / (RRF_K + rank as f32);
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }

    fn symbol(&mut self, s: RankedSymbol) {
        if !self.symbols.contains(&s) {
            self.symbols.push(s);
        }
    }
}

/// Rank the files an issue most likely needs changed in.
#[allow(clippy::too_many_lines)] // every ranking signal and their fusion in one place
pub async fn rank_files_for_issue(
    store: &Store,
    embedder: Option<&Embedder>,
    text: &str,
    top: usize,
    signals: Signals,
) -> Result<IssueResult> {
    let t = Instant::now();
    let parsed = parse_issue(text);
    let mut ev: HashMap<String, Evidence> = HashMap::new();
    let mut query: String = text.chars().take(MAX_QUERY_CHARS).collect();
    if query.trim().is_empty() {
        query = "-".into();
    }
    let words = query_words(&query);
    let mut paths = IndexedPaths::default();

    if store.chunks.count_rows(None).await? == 0 {
        return Ok(IssueResult {
            files: Vec::new(),
            parsed,
            signals,
            elapsed_ms: 0.0,
        });
    }

    // Exact: paths and stack frames.
    if signals.structure && (!parsed.paths.is_empty() || !parsed.frames.is_empty()) {
        let all_paths = paths.get(store).await?;
        for (rank, f) in parsed.frames.iter().enumerate() {
            for p in match_paths(all_paths, &f.path) {
                let e = ev.entry(p.clone()).or_default();
                let at = f.line.map(|l| format!(":{l}")).unwrap_or_default();
                e.add(4.0, rank + 1, format!("stack frame: {}{at}", f.path));
                if let Some(line) = f.line
                    && let Some(sym) = enclosing_symbol(store, &p, line).await?
                {
                    e.symbol(sym);
                }
            }
        }
        for (rank, path) in parsed.paths.iter().enumerate() {
            for p in match_paths(all_paths, path) {
                ev.entry(p)
                    .or_default()
                    .add(3.0, rank + 1, format!("path named: {path}"));
            }
        }
    }

    // Exact: symbol definitions.
    if signals.structure && !parsed.symbols.is_empty() {
        let lc: Vec<String> = parsed.symbols.iter().map(|s| s.to_lowercase()).collect();
        let rows = store
            .symbol_rows(
                &format!("{} AND role = 'def'", in_list("name_lc", &lc)),
                Some(300),
            )
            .await?;
        // A name defined in many files is weak evidence for each.
        let mut per_name: HashMap<String, usize> = HashMap::new();
        for r in &rows {
            *per_name.entry(r.name.to_lowercase()).or_default() += 1;
        }
        for r in rows {
            let name_lc = r.name.to_lowercase();
            let n = per_name[&name_lc];
            let rank = lc.iter().position(|x| *x == name_lc).unwrap_or(0) + n;
            let evd = ev.entry(r.path).or_default();
            evd.add(
                2.0 / n.min(4) as f32,
                rank,
                format!("symbol: {} ({})", r.name, r.kind),
            );
            evd.symbol(RankedSymbol {
                name: r.name,
                kind: r.kind,
                start_line: r.start_line,
                end_line: r.end_line,
            });
        }
    }

    // Full-text over chunks.
    if signals.fulltext {
        let rows = collect(
            store
                .chunks
                .query()
                .full_text_search(FullTextSearchQuery::new(query.clone()))
                .select(Select::columns(&CHUNK_COLUMNS))
                .limit(CANDIDATES),
        )
        .await?;
        chunk_hits(&rows, &words, &mut ev, 1.0, |matched, rank| {
            if matched.is_empty() {
                format!("text match (#{rank})")
            } else {
                format!("text: {}", matched.join(", "))
            }
        })?;
    }

    // Synthetic questions: short documents, so a focused match ranks high. Offline and
    // model-written ones are separate signals (the model's have a `llm:` chunk id).
    for (on, only, label) in [
        (signals.questions, "chunk_id NOT LIKE 'llm:%'", "question"),
        (
            signals.llm_questions,
            "chunk_id LIKE 'llm:%'",
            "model question",
        ),
    ] {
        if !on || store.questions.count_rows(Some(only.to_string())).await? == 0 {
            continue;
        }
        let rows = collect(
            store
                .questions
                .query()
                .full_text_search(FullTextSearchQuery::new(query.clone()))
                .only_if(only)
                .select(Select::columns(&[
                    "path",
                    "symbol",
                    "start_line",
                    "end_line",
                    "question",
                ]))
                .limit(CANDIDATES),
        )
        .await?;
        let mut seen: HashSet<String> = HashSet::new();
        let mut rank = 0;
        for b in &rows {
            let (path, question) = (str_col(b, "path")?, str_col(b, "question")?);
            for i in 0..b.num_rows() {
                if !seen.insert(path.value(i).to_string()) {
                    continue;
                }
                rank += 1;
                ev.entry(path.value(i).to_string()).or_default().add(
                    0.7,
                    rank,
                    format!("{label}: {}", question.value(i)),
                );
            }
        }
    }

    // Vectors.
    if signals.vectors
        && let Some(embedder) = embedder
        && store.has_vectors()
        && let Some(v) = embedder
            .embed(vec![query.clone()])
            .await?
            .into_iter()
            .next()
    {
        let rows = store
            .nearest_chunks(v, &CHUNK_COLUMNS, VECTOR_CANDIDATES)
            .await?;
        chunk_hits(&rows, &[], &mut ev, VECTOR_WEIGHT, |_, rank| {
            format!("semantic match (#{rank})")
        })?;
    }

    // Similar past changes: commits whose message matches, and the files they touched.
    if signals.history && store.commits.count_rows(None).await? > 0 {
        let indexed = paths.set(store).await?;
        let rows = collect(
            store
                .commits
                .query()
                .full_text_search(FullTextSearchQuery::new(query.clone()))
                .select(Select::columns(&[
                    "id", "summary", "pr", "files", "n_files",
                ]))
                .limit(10),
        )
        .await?;
        let mut rank = 0;
        for b in &rows {
            let (id, summary, files) = (
                str_col(b, "id")?,
                str_col(b, "summary")?,
                str_col(b, "files")?,
            );
            let pr = b.column_by_name("pr").and_then(|c| {
                c.as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .cloned()
            });
            for i in 0..b.num_rows() {
                rank += 1;
                let touched: Vec<&str> = files
                    .value(i)
                    .split('\n')
                    .filter(|f| indexed.contains(*f))
                    .collect();
                if touched.is_empty() || touched.len() > 20 {
                    continue;
                }
                let pr_txt = pr
                    .as_ref()
                    .filter(|a| !a.is_null(i))
                    .map(|a| format!(" #{}", a.value(i)))
                    .unwrap_or_default();
                let short = &id.value(i)[..id.value(i).len().min(8)];
                let summary: String = summary.value(i).chars().take(72).collect();
                for f in &touched {
                    // A past change re-ranks candidates found by other signals; on its own
                    // it mostly drags in files that change with everything.
                    let Some(e) = ev.get_mut(*f) else { continue };
                    let w = 0.3 / (touched.len() as f32).sqrt();
                    e.add(
                        w,
                        rank,
                        format!("similar past change {short}{pr_txt}: {summary}"),
                    );
                }
            }
        }
    }

    // Graph expansion around the strongest candidates.
    if signals.graph && !ev.is_empty() {
        let graph = FileGraph::load(store).await?;
        if !graph.is_empty() {
            let mut seeds: Vec<(String, f32)> =
                ev.iter().map(|(p, e)| (p.clone(), e.score)).collect();
            seeds.sort_by(|a, b| b.1.total_cmp(&a.1));
            seeds.truncate(3);
            let seeds: HashMap<String, f32> = seeds.into_iter().collect();
            let indexed = paths.set(store).await?;
            for (path, (score, why)) in graph.expand(&seeds, 1, 0.15) {
                // History edges can name files that no longer exist; and like past
                // changes, neighbours only re-rank candidates other signals found.
                if !indexed.contains(&path) {
                    continue;
                }
                let Some(e) = ev.get_mut(&path) else { continue };
                e.score += score;
                let reason = format!("related: {why}");
                if !e.reasons.contains(&reason) {
                    e.reasons.push(reason);
                }
            }
        }
    }

    let mut files: Vec<RankedFile> = ev
        .into_iter()
        .map(|(path, mut e)| {
            // The file to change is usually source; tests, docs and changelogs follow it.
            if signals.structure
                && let Some(kind) = secondary_kind(&path)
            {
                e.score *= SECONDARY_WEIGHT;
                e.reasons.push(format!("{kind} file (ranked below source)"));
            }
            RankedFile {
                path,
                score: e.score,
                reasons: e.reasons,
                symbols: e.symbols,
            }
        })
        .collect();
    files.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.path.cmp(&b.path)));
    files.truncate(top);
    for f in &mut files {
        f.symbols.truncate(5);
    }
    Ok(IssueResult {
        files,
        parsed,
        signals,
        elapsed_ms: (t.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
    })
}

/// Score multiplier for tests, docs and changelogs.
const SECONDARY_WEIGHT: f32 = 0.6;

/// `test`, `docs` or `changelog` for files that accompany a change rather than carry it.
pub fn secondary_kind(path: &str) -> Option<&'static str> {
    let lc = path.to_lowercase();
    let name = lc.rsplit('/').next().unwrap_or(&lc);
    let dirs: Vec<&str> = lc.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    if dirs.iter().any(|s| {
        matches!(
            *s,
            "test" | "tests" | "testing" | "__tests__" | "spec" | "testdata" | "fixtures"
        )
    }) || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("test.java")
    {
        return Some("test");
    }
    if name.starts_with("changes") || name.starts_with("changelog") || name.starts_with("news") {
        return Some("changelog");
    }
    if dirs
        .iter()
        .any(|s| matches!(*s, "docs" | "doc" | "examples"))
        || [".md", ".rst", ".txt", ".adoc"]
            .iter()
            .any(|e| name.ends_with(e))
    {
        return Some("docs");
    }
    None
}

async fn collect(q: lancedb::query::Query) -> Result<Vec<RecordBatch>> {
    Ok(q.execute().await?.try_collect().await?)
}

/// Chunk results → per-file evidence at the rank of each file's best chunk.
fn chunk_hits(
    rows: &[RecordBatch],
    words: &[String],
    ev: &mut HashMap<String, Evidence>,
    weight: f32,
    reason: impl Fn(&[&str], usize) -> String,
) -> Result<()> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut rank = 0;
    for b in rows {
        let (path, symbol, kind, text) = (
            str_col(b, "path")?,
            str_col(b, "symbol")?,
            str_col(b, "kind")?,
            str_col(b, "text")?,
        );
        let (s, e) = (u32_col(b, "start_line")?, u32_col(b, "end_line")?);
        for i in 0..b.num_rows() {
            let p = path.value(i).to_string();
            let evd = ev.entry(p.clone()).or_default();
            if !symbol.is_null(i) {
                evd.symbol(RankedSymbol {
                    name: symbol.value(i).to_string(),
                    kind: kind.value(i).to_string(),
                    start_line: s.value(i),
                    end_line: e.value(i),
                });
            }
            if !seen.insert(p) {
                continue;
            }
            rank += 1;
            let lc = text.value(i).to_lowercase();
            let matched: Vec<&str> = words
                .iter()
                .filter(|w| lc.contains(w.as_str()))
                .map(String::as_str)
                .take(6)
                .collect();
            evd.add(weight, rank, reason(&matched, rank));
        }
    }
    Ok(())
}

/// The indexed file paths, read from the store at most once per ranking.
#[derive(Default)]
struct IndexedPaths {
    list: Option<Vec<String>>,
    set: Option<HashSet<String>>,
}

impl IndexedPaths {
    async fn get(&mut self, store: &Store) -> Result<&[String]> {
        if self.list.is_none() {
            self.list = Some(indexed_paths(store).await?);
        }
        Ok(self.list.as_deref().unwrap_or_default())
    }

    async fn set(&mut self, store: &Store) -> Result<&HashSet<String>> {
        if self.set.is_none() {
            let set = self.get(store).await?.iter().cloned().collect();
            self.set = Some(set);
        }
        Ok(self.set.get_or_insert_with(HashSet::new))
    }
}

async fn indexed_paths(store: &Store) -> Result<Vec<String>> {
    let rows = collect(store.files.query().select(Select::columns(&["path"]))).await?;
    let mut out = Vec::new();
    for b in &rows {
        let p = str_col(b, "path")?;
        out.extend((0..b.num_rows()).map(|i| p.value(i).to_string()));
    }
    Ok(out)
}

/// Indexed files a mentioned path refers to: exact, or the longest suffix match
/// (absolute paths from another machine, `./` prefixes, Java class file names).
fn match_paths(all: &[String], mentioned: &str) -> Vec<String> {
    let m = mentioned.trim_start_matches("./");
    if all.iter().any(|p| p == m) {
        return vec![m.to_string()];
    }
    let parts: Vec<&str> = m.split('/').filter(|s| !s.is_empty()).collect();
    for take in (1..=parts.len()).rev() {
        let suffix = parts[parts.len() - take..].join("/");
        let hits: Vec<String> = all
            .iter()
            .filter(|p| {
                p.ends_with(&suffix)
                    && (p.len() == suffix.len() || p.as_bytes()[p.len() - suffix.len() - 1] == b'/')
            })
            .cloned()
            .collect();
        if !hits.is_empty() {
            return if hits.len() <= 3 { hits } else { Vec::new() };
        }
    }
    Vec::new()
}

async fn enclosing_symbol(store: &Store, path: &str, line: u32) -> Result<Option<RankedSymbol>> {
    let rows = collect(
        store
            .symbols
            .query()
            .only_if(format!(
                "path = '{}' AND role = 'def' AND start_line <= {line} AND end_line >= {line}",
                path.replace('\'', "''")
            ))
            .select(Select::columns(&["name", "kind", "start_line", "end_line"])),
    )
    .await?;
    let mut best: Option<RankedSymbol> = None;
    for b in &rows {
        let (name, kind) = (str_col(b, "name")?, str_col(b, "kind")?);
        let (s, e) = (u32_col(b, "start_line")?, u32_col(b, "end_line")?);
        for i in 0..b.num_rows() {
            let span = e.value(i) - s.value(i);
            if best
                .as_ref()
                .is_none_or(|b| span < b.end_line - b.start_line)
            {
                best = Some(RankedSymbol {
                    name: name.value(i).to_string(),
                    kind: kind.value(i).to_string(),
                    start_line: s.value(i),
                    end_line: e.value(i),
                });
            }
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_and_model_questions_are_separate_signals() {
        let s = Signals::parse("fulltext,llm_questions").unwrap();
        assert!(s.llm_questions && !s.questions);
        let s = Signals::parse("questions").unwrap();
        assert!(s.questions && !s.llm_questions);
        let all = Signals::parse("all").unwrap();
        assert!(all.questions && all.llm_questions);
        assert!(!Signals::default().llm_questions);
        let e = Signals::parse("llm-questions").unwrap_err().to_string();
        assert!(e.contains("llm_questions"), "{e}");
    }

    #[test]
    fn parses_frames_from_five_languages() {
        let text = r#"
Traceback (most recent call last):
  File "/srv/shop/checkout/api.py", line 14, in post
ValueError: cart is empty
thread 'main' panicked at worker/src/main.rs:22:9:
goroutine 1 [running]:
main.handler()
	/home/ci/gateway/server.go:12 +0x1d
java.lang.NullPointerException
	at shop.InvoiceService.createInvoice(InvoiceService.java:6)
TypeError: x is undefined
    at formatPrice (/app/web/src/legacy.js:2:10)
"#;
        let p = parse_issue(text);
        let paths: Vec<&str> = p.frames.iter().map(|f| f.path.as_str()).collect();
        for want in [
            "/srv/shop/checkout/api.py",
            "worker/src/main.rs",
            "/home/ci/gateway/server.go",
            "InvoiceService.java",
            "/app/web/src/legacy.js",
        ] {
            assert!(paths.contains(&want), "{want}: {paths:?}");
        }
        let py = p
            .frames
            .iter()
            .find(|f| f.path.ends_with("api.py"))
            .unwrap();
        assert_eq!((py.line, py.function.as_deref()), (Some(14), Some("post")));
        assert!(
            p.symbols.contains(&"createInvoice".to_string()),
            "{:?}",
            p.symbols
        );
        assert!(
            p.errors.iter().any(|e| e == "cart is empty"),
            "{:?}",
            p.errors
        );
    }

    #[test]
    fn parses_paths_and_code_tokens() {
        let p = parse_issue(
            "Timeout in `charge_card` (see checkout/payments.py); CartStore.itemCount() is wrong",
        );
        assert_eq!(p.paths, vec!["checkout/payments.py"]);
        for s in ["charge_card", "CartStore", "itemCount"] {
            assert!(p.symbols.contains(&s.to_string()), "{s}: {:?}", p.symbols);
        }
        assert!(!p.symbols.contains(&"Timeout".to_string()));
    }

    #[test]
    fn path_suffix_matching() {
        let all = vec![
            "checkout/api.py".to_string(),
            "web/api.py".to_string(),
            "src/shop/InvoiceService.java".to_string(),
        ];
        assert_eq!(
            match_paths(&all, "/srv/x/checkout/api.py"),
            vec!["checkout/api.py"]
        );
        assert_eq!(
            match_paths(&all, "InvoiceService.java"),
            vec!["src/shop/InvoiceService.java"]
        );
        assert_eq!(match_paths(&all, "api.py").len(), 2);
        assert!(match_paths(&all, "nothing.py").is_empty());
    }
}
