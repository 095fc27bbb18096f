//! Issue → files: name the files and functions most likely to need a change, each with
//! its reasons. Exact evidence (paths, stack frames, symbol names) weighs most; then
//! full-text, similar past changes, vectors, and graph neighbours, fused by rank.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use std::time::Instant;

use anyhow::Result;
use regex::Regex;
use serde::Serialize;

use super::fusion::{SignalHits, Weights, fuse};
use super::graph::FileGraph;
use super::profile::{FixCounts, RepoProfile, Role};
pub use super::ranking::{Frame, IssueParse, RankedFile, RankedSymbol};
use super::search::query_words;
use super::signals::{self, Hit};
use super::store::QuestionSource;
use super::store::{Store, SymbolRow};
use crate::llm::embed::Embedder;

/// Longest issue text sent to full-text search (stack traces can be huge).
const MAX_QUERY_CHARS: usize = 4000;

/// Returned files whose functions are matched against the issue (the rest keep the
/// symbols the signals named).
const NAMED_FILES: usize = 10;

/// The first files whose graph neighbours are lifted, and the share of a first file's
/// score a linked file gains (times the link's weight).
const GRAPH_SEEDS: usize = 3;
const GRAPH_DAMPING: f32 = 0.15;

/// Which signals to use; all by default. `triage eval` turns them off to measure each.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Signals {
    pub fulltext: bool,
    /// Whole files as documents for full text (each file's length normalizes its
    /// matches, so a huge file does not win on volume).
    pub files: bool,
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

/// What `triage issue` runs: every offline signal whose weight is fitted per
/// repository (a signal that does not help there gets weight 0), the graph neighbours
/// of the first three files, and vectors when an embedder is configured. Model
/// questions are opt-in.
impl Default for Signals {
    fn default() -> Self {
        Self {
            fulltext: true,
            files: true,
            structure: true,
            history: true,
            graph: true,
            questions: true,
            llm_questions: false,
            vectors: true,
        }
    }
}

impl Signals {
    /// Plain BM25: the full-text signal alone, the baseline evaluations compare with.
    pub fn bm25() -> Signals {
        Signals {
            fulltext: true,
            ..Signals::none()
        }
    }

    fn none() -> Signals {
        Signals {
            fulltext: false,
            files: false,
            structure: false,
            history: false,
            graph: false,
            questions: false,
            llm_questions: false,
            vectors: false,
        }
    }

    /// Parse `fulltext,files,structure,history,graph,questions,llm_questions,vectors`
    /// (or `all`).
    pub fn parse(s: &str) -> Result<Signals> {
        if s == "default" {
            return Ok(Signals::default());
        }
        if s == "all" {
            return Ok(Signals {
                fulltext: true,
                files: true,
                structure: true,
                history: true,
                graph: true,
                questions: true,
                llm_questions: true,
                vectors: true,
            });
        }
        let mut out = Signals::none();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "fulltext" => out.fulltext = true,
                "files" => out.files = true,
                "structure" => out.structure = true,
                "history" => out.history = true,
                "graph" => out.graph = true,
                "questions" => out.questions = true,
                "llm_questions" => out.llm_questions = true,
                "vectors" => out.vectors = true,
                other => anyhow::bail!(
                    "unknown signal {other:?}; valid: fulltext, files, structure, history, graph, questions, llm_questions, vectors, default, all"
                ),
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct IssueResult {
    pub files: Vec<RankedFile>,
    pub parsed: IssueParse,
    pub signals: Signals,
    pub elapsed_ms: f64,
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

/// Rank the files an issue most likely needs changed in.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rank_files_for_issue(
    store: &Store,
    embedder: Option<&Embedder>,
    text: &str,
    top: usize,
    signals: Signals,
) -> Result<IssueResult> {
    let t = Instant::now();
    let parsed = parse_issue(text);
    let (chunks, paths) = tokio::try_join!(store.count_chunks(), store.file_paths())?;
    if chunks == 0 {
        return Ok(IssueResult {
            files: Vec::new(),
            parsed,
            signals,
            elapsed_ms: 0.0,
        });
    }
    let stored = store.load_profile()?;
    let profile = RepoProfile::new(paths, &stored.gitattributes);
    let hits = gather(store, embedder, text, &parsed, signals, None, &profile).await?;
    // Without the structure signal, nothing the repository knows counts: no fitted
    // weights, no prior, no partners (the BM25 baseline is the full-text list alone).
    let (weights, partners) = if signals.structure {
        (stored.weights(), stored.partners)
    } else {
        (unfitted(), HashMap::new())
    };
    let fixes = FixCounts::from_counts(stored.fix_counts, &profile).with_partners(partners);
    let mut files = fuse(&hits, &weights, &profile, &fixes);
    if signals.graph && !files.is_empty() {
        expand_by_graph(store, &profile, &mut files).await?;
    }
    files.truncate(top);
    super::functions::name_functions(store, text, &parsed.symbols, &mut files, NAMED_FILES).await?;
    for f in &mut files {
        f.symbols.truncate(super::functions::PER_FILE);
    }
    Ok(IssueResult {
        files,
        parsed,
        signals,
        elapsed_ms: (t.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
    })
}

/// Without structure, neither the repository's fit nor its knowledge (roles, past
/// fixes, agreement) bends the ranking: each list counts as it comes.
fn unfitted() -> Weights {
    Weights {
        prior: 0.0,
        secondary: 0.0,
        config: 0.0,
        transfer: 0.0,
        first: 0.0,
        agreement: 0.0,
        ..Weights::default()
    }
}

/// Every signal's list for an issue. `before` hides commits from that time on (for
/// replaying past fixes as they were reported).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn gather(
    store: &Store,
    embedder: Option<&Embedder>,
    text: &str,
    parsed: &IssueParse,
    signals: Signals,
    before: Option<i64>,
    profile: &RepoProfile,
) -> Result<SignalHits> {
    let mut query: String = text.chars().take(MAX_QUERY_CHARS).collect();
    if query.trim().is_empty() {
        query = "-".into();
    }
    let words = query_words(&query);
    let all = profile.paths();
    let indexed: HashSet<&str> = all.iter().map(String::as_str).collect();
    let query = query.as_str();
    // The retrievers read different tables and nothing of each other: they run together.
    let (frames, symbols, fulltext, files, questions, llm_questions, vectors, history) = tokio::try_join!(
        when(signals.structure, signals::frames(store, parsed, all)),
        when(
            signals.structure,
            signals::symbol_definitions(store, parsed)
        ),
        when(signals.fulltext, signals::fulltext(store, query, &words)),
        when(signals.files, signals::whole_files(store, query)),
        when(
            signals.questions,
            signals::questions(store, query, QuestionSource::Offline)
        ),
        when(
            signals.llm_questions,
            signals::questions(store, query, QuestionSource::Model)
        ),
        async {
            match embedder {
                Some(embedder) if signals.vectors && store.has_vectors() => {
                    signals::vectors(store, embedder, query).await
                }
                _ => Ok(Vec::new()),
            }
        },
        when(
            signals.history,
            signals::past_changes(store, query, before, &indexed)
        ),
    )?;
    let (paths, path_words) = if signals.structure {
        (
            signals::paths_named(parsed, all),
            signals::path_words(&words, all),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let hits = SignalHits {
        frames,
        paths,
        symbols,
        fulltext,
        files,
        questions,
        llm_questions,
        vectors,
        history,
        path_words,
    };
    Ok(hits)
}

/// A signal's list when it is on (the future is not run when off).
async fn when(on: bool, list: impl Future<Output = Result<Vec<Hit>>>) -> Result<Vec<Hit>> {
    if on { list.await } else { Ok(Vec::new()) }
}

/// Neighbours of the three strongest files by references and co-change; they only
/// re-rank files other signals found, each below the file that lifted it.
#[tracing::instrument(level = "debug", skip_all)]
async fn expand_by_graph(
    store: &Store,
    profile: &RepoProfile,
    files: &mut [RankedFile],
) -> Result<()> {
    // One hop: the seeds' own links are all the expansion reads.
    let paths: Vec<String> = files
        .iter()
        .take(GRAPH_SEEDS)
        .map(|f| f.path.clone())
        .collect();
    let graph = FileGraph::load_around(store, &paths).await?;
    if graph.is_empty() {
        return Ok(());
    }
    let indexed: HashSet<&str> = profile.paths().iter().map(String::as_str).collect();
    graph.lift_neighbours(files, GRAPH_SEEDS, GRAPH_DAMPING, &indexed);
    Ok(())
}

impl From<SymbolRow> for RankedSymbol {
    fn from(r: SymbolRow) -> Self {
        RankedSymbol {
            name: r.name,
            kind: r.kind,
            start_line: r.start_line,
            end_line: r.end_line,
        }
    }
}

/// `test`, `docs`, `changelog`, `vendored` or `generated` for files that accompany a
/// change rather than carry it (by path conventions alone).
pub fn secondary_kind(path: &str) -> Option<&'static str> {
    let role = super::profile::role_by_convention(path);
    (role != Role::Source).then(|| role.label())
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
        // Whole files are part of what `triage issue` runs, not of the BM25 baseline.
        assert!(Signals::default().files && !Signals::bm25().files);
        assert!(Signals::parse("files").unwrap().files);
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
    fn without_structure_the_full_text_order_stands() {
        let hit = |p: &str| super::super::signals::Hit {
            path: p.into(),
            strength: 1.0,
            reason: String::new(),
            symbols: Vec::new(),
        };
        let hits = SignalHits {
            fulltext: vec![hit("tests/test_cart.py"), hit("pkg/cart.py")],
            ..Default::default()
        };
        let profile = RepoProfile::new(vec!["pkg/cart.py".into(), "tests/test_cart.py".into()], "");
        let fixes = FixCounts::from_counts(
            [("pkg/cart.py".to_string(), 9)].into_iter().collect(),
            &profile,
        );
        let order = |w: &Weights| -> Vec<String> {
            fuse(&hits, w, &profile, &fixes)
                .into_iter()
                .map(|f| f.path)
                .collect()
        };
        assert_eq!(order(&unfitted()), ["tests/test_cart.py", "pkg/cart.py"]);
        assert_eq!(order(&Weights::default())[0], "pkg/cart.py");
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
}
