//! One `triage index` run: walk, find what changed, parse and chunk it in parallel,
//! commit the lexical index, then embed in resumable batches.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

mod embed;
mod parse;

use super::rows::{ChunkRow, FileRow, QuestionRow, SymbolRow};
use super::store::{OpenState, Store};
use super::syntax::SyntaxEngine;
use super::walk::{self, SkipReason};
use crate::config::Config;
use crate::llm::embed::{EmbedSpec, Purpose};
use crate::repo::RepoLocation;
use embed::embed_pending;
use parse::{Outcome, Parsed, parse_all};

/// Files written per commit: a kill loses at most this much work.
const WRITE_BATCH_FILES: usize = 1000;

#[derive(Debug, Clone, Default)]
pub struct IndexOptions {
    pub embed: bool,
    pub rebuild: bool,
    /// Draw progress bars on stderr (when it is a terminal).
    pub progress: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct IndexSummary {
    pub repo: String,
    pub index_dir: String,
    pub git: bool,
    pub index: Option<OpenState>,
    pub files: FileCounts,
    pub chunks: usize,
    pub symbols: usize,
    pub skipped: BTreeMap<SkipReason, usize>,
    pub skipped_examples: BTreeMap<SkipReason, Vec<String>>,
    pub embeddings: EmbedSummary,
    pub timings_ms: BTreeMap<&'static str, u64>,
    pub warnings: Vec<String>,
    pub history: Option<HistorySummary>,
    pub graph: Option<super::graph::GraphStats>,
    /// When the ranking weights were fitted in this run: on what, and what moved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<super::profile::FitReport>,
    /// With `--llm-questions`: what the model wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_questions: Option<super::llm_questions::LlmQuestionsSummary>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct HistorySummary {
    pub head: Option<String>,
    /// Commits added in this run.
    pub added: usize,
    /// Commits in the index.
    pub commits: usize,
    pub incremental: bool,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct FileCounts {
    /// Files in the index after the run.
    pub indexed: usize,
    /// Parsed in this run (new or changed content).
    pub parsed: usize,
    /// Unchanged since the last run (not read).
    pub unchanged: usize,
    /// Modified time changed but content did not (read, not parsed).
    pub touched: usize,
    /// Removed from the index (deleted, or now excluded).
    pub removed: usize,
    /// Indexed with invalid UTF-8 replaced.
    pub lossy_utf8: usize,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct EmbedSummary {
    /// Embedder id, or null when search is lexical only.
    pub embedder: Option<String>,
    pub embedded: usize,
    /// Chunks of changed files that kept their vector (their text did not change).
    pub reused: usize,
    pub pending: usize,
    pub chunks_per_sec: Option<f64>,
}

#[allow(clippy::too_many_lines)] // the index run's phases, in order
pub async fn run_index(
    loc: &RepoLocation,
    config: &Config,
    opts: &IndexOptions,
) -> Result<IndexSummary> {
    let t_all = Instant::now();
    let mut summary = IndexSummary {
        repo: loc.root.display().to_string(),
        index_dir: loc.index_dir.display().to_string(),
        git: loc.is_git,
        ..Default::default()
    };
    if !loc.is_git {
        summary
            .warnings
            .push("not a git repository: history features are off".into());
    }
    std::fs::create_dir_all(&loc.index_dir)
        .with_context(|| format!("cannot create index dir {}", loc.index_dir.display()))?;
    let _lock = lock(&loc.index_dir)?;

    let engine = SyntaxEngine::new(super::syntax::override_dir());
    engine.check_overrides()?;

    // An embedding endpoint that is down must not block the lexical index.
    let known = super::store::stored_embedder(&loc.index_dir);
    let spec = match EmbedSpec::resolve(&config.embed, known.as_ref(), Purpose::Code).await {
        Ok(spec) => spec,
        Err(e) if config.embed.provider == crate::config::EmbedProvider::Openai => {
            summary
                .warnings
                .push(format!("embeddings off for this run: {e:#}"));
            None
        }
        Err(e) => return Err(e),
    };
    let (mut store, state) = Store::open_for_write(
        &loc.index_dir,
        spec.as_ref().map(|s| s.meta.clone()),
        opts.rebuild,
    )
    .await?;
    if let OpenState::Rebuilt(reason) = &state {
        summary.warnings.push(format!("index rebuilt: {reason}"));
    }
    summary.index = Some(state);

    // --- walk
    let t = Instant::now();
    let root = loc.root.clone();
    let index_dir = loc.index_dir.clone();
    let icfg = config.index.clone();
    let walked = tokio::task::spawn_blocking(move || walk::walk(&root, &index_dir, &icfg))
        .await
        .context("walker failed")??;
    summary.skipped = walked.skipped.clone();
    summary.skipped_examples = walked.skipped_examples.clone();
    summary.timings_ms.insert("walk", ms(t));

    // --- what changed
    let t = Instant::now();
    let stored = store.file_states().await?;
    let interrupted = store.meta_in_progress();
    let mut to_read = Vec::new();
    for f in &walked.files {
        match stored.get(&f.rel) {
            Some(s) if s.size == f.size && s.mtime_ns == f.mtime_ns => summary.files.unchanged += 1,
            _ => to_read.push(f.clone()),
        }
    }
    let kept: HashSet<&str> = walked.files.iter().map(|f| f.rel.as_str()).collect();
    let removed: Vec<String> = stored
        .keys()
        .filter(|p| !kept.contains(p.as_str()))
        .cloned()
        .collect();
    summary.timings_ms.insert("diff", ms(t));

    // --- parse and chunk
    let t = Instant::now();
    let bar = progress_bar(opts.progress, to_read.len() as u64, "parsing");
    let outcomes = parse_all(
        &engine,
        &to_read,
        &stored,
        config.index.max_chunk_lines,
        &bar,
    );
    bar.finish_and_clear();
    summary.timings_ms.insert("parse", ms(t));

    // --- store
    let t = Instant::now();
    let mut parsed = Vec::new();
    let mut touched = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Parsed(p) => parsed.push(p),
            Outcome::Touched(f) => touched.push(f),
            Outcome::Skipped(reason, what) => {
                *summary.skipped.entry(reason).or_default() += 1;
                let ex = summary.skipped_examples.entry(reason).or_default();
                if ex.len() < 5 {
                    ex.push(what);
                }
            }
        }
    }
    // Files that can no longer be indexed (now binary, unreadable) leave the index too.
    let parsed_or_touched: HashSet<&str> = parsed
        .iter()
        .map(|p| p.file.path.as_str())
        .chain(touched.iter().map(|f| f.path.as_str()))
        .collect();
    let mut removed = removed;
    removed.extend(
        to_read
            .iter()
            .filter(|f| !parsed_or_touched.contains(f.rel.as_str()) && stored.contains_key(&f.rel))
            .map(|f| f.rel.clone()),
    );
    summary.files.parsed = parsed.len();
    summary.files.touched = touched.len();
    summary.files.removed = removed.len();
    summary.files.lossy_utf8 = parsed.iter().filter(|p| p.file.lossy).count();

    let writes = !parsed.is_empty() || !removed.is_empty() || !touched.is_empty();
    if writes {
        store.set_in_progress(true)?;
    }
    if interrupted && stored.is_empty() {
        // A first run was killed after writing content but before any file row.
        store.clear_content().await?;
    }
    let mut stale: Vec<String> = removed.clone();
    stale.extend(
        parsed
            .iter()
            .filter(|p| stored.contains_key(&p.file.path) || interrupted)
            .map(|p| p.file.path.clone()),
    );
    // Chunks of a changed file whose text did not change keep their vectors.
    let changed: Vec<String> = parsed
        .iter()
        .filter(|p| stored.contains_key(&p.file.path))
        .map(|p| p.file.path.clone())
        .collect();
    let reuse = if changed.is_empty() {
        super::store::VectorReuse::default()
    } else {
        store.reusable_vectors(&changed).await?
    };
    // Nothing stored yet and no killed run to clean up: rows can be appended.
    let fresh = stored.is_empty() && !interrupted;
    let now = chrono::Utc::now().timestamp();
    let files_changed = !parsed.is_empty() || !removed.is_empty();
    // A few changed files update their own edges, alongside the writes (the update reads
    // only other files' rows); many, a new index or a killed run rebuild them afterwards.
    let many = (parsed.len() + removed.len()) * 10 > stored.len().max(1);
    let rebuild_graph =
        interrupted || (files_changed && (many || summary.index != Some(OpenState::Existing)));
    let write = write_files(
        &store,
        &parsed,
        &touched,
        &stale,
        &removed,
        &reuse,
        fresh,
        opts.progress,
    );
    let ast = async {
        if !files_changed || rebuild_graph {
            return Ok((None, 0));
        }
        let t = Instant::now();
        let changed: Vec<String> = parsed
            .iter()
            .map(|p| p.file.path.clone())
            .chain(removed.iter().cloned())
            .collect();
        let symbols: Vec<SymbolRow> = parsed
            .iter()
            .flat_map(|p| p.symbols.iter().cloned())
            .collect();
        let stats = super::graph::update_ast(&store, &changed, &removed, &symbols, now).await?;
        anyhow::Ok((Some(stats), ms(t)))
    };
    let (reused, (ast_stats, ast_ms)) = tokio::try_join!(write, ast)?;
    summary.embeddings.reused += reused;
    summary.timings_ms.insert("store", ms(t));

    // --- history and graph
    let t = Instant::now();
    let mut history_changed = false;
    if loc.is_git {
        let root = loc.root.clone();
        let since = store.meta.history_head.clone();
        let hcfg = config.history.clone();
        let scan = tokio::task::spawn_blocking(move || {
            super::history::scan(&root, since.as_deref(), &hcfg, now)
        })
        .await
        .context("history walk failed")?;
        match scan {
            Ok(scan) => {
                summary.warnings.extend(scan.notes.iter().cloned());
                if !scan.incremental {
                    store.clear_commits().await?;
                }
                history_changed = !scan.commits.is_empty() || !scan.incremental || interrupted;
                store.add_commits(&scan.commits).await?;
                store.meta.history_head = scan.head.clone();
                store.save_meta()?;
                summary.history = Some(HistorySummary {
                    head: scan.head,
                    added: scan.commits.len(),
                    commits: store.count_commits().await?,
                    incremental: scan.incremental,
                });
            }
            // A broken repository loses history, not the index.
            Err(e) => summary.warnings.push(format!("history not indexed: {e:#}")),
        }
    }
    summary.timings_ms.insert("history", ms(t));
    let t = Instant::now();
    if history_changed && !writes {
        store.set_in_progress(true)?;
    }
    if rebuild_graph || ast_stats.is_some() || history_changed {
        let mut stats = ast_stats.unwrap_or_default();
        if rebuild_graph {
            stats = super::graph::rebuild_ast(&store, now).await?;
        }
        if history_changed {
            let h = super::graph::rebuild_history(&store, config.history.max_files_per_commit, now)
                .await?;
            stats.co_change = h.co_change;
            stats.changed_in = h.changed_in;
            stats.authored_by = h.authored_by;
            stats.owns = h.owns;
        }
        summary.graph = Some(stats);
    }
    // The incremental update overlapped the store phase; it counts here too.
    summary.timings_ms.insert("graph", ms(t) + ast_ms);

    let t = Instant::now();
    store.ensure_indexes(false).await?;
    if store.meta_in_progress() {
        store.set_in_progress(false)?;
    }
    summary.timings_ms.insert("fts", ms(t));

    // --- what the repository's own history says about ranking
    let t = Instant::now();
    if loc.is_git && (history_changed || store.load_profile()?.needs_fit()) {
        match super::learn::refresh(&store, &loc.root).await {
            Ok(fit) => summary.learned = fit,
            Err(e) => summary.warnings.push(format!("ranking not fitted: {e:#}")),
        }
    }
    summary.timings_ms.insert("learn", ms(t));

    // --- embeddings, after the lexical index is committed
    let t = Instant::now();
    if let Some(spec) = &spec {
        summary.embeddings.embedder = Some(spec.meta.id.clone());
        let pending = store.count_pending_vectors().await?;
        if opts.embed && pending > 0 {
            let mut done = 0;
            let result = match spec.load().await {
                Ok(embedder) => {
                    embed_pending(
                        &store,
                        &embedder,
                        embedder.batch_size(config.embed.batch_size),
                        progress_bar(opts.progress, pending as u64, "embedding"),
                        &mut done,
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                // What was embedded is committed; the rest waits for the next run.
                summary.warnings.push(format!(
                    "embedding stopped: {e:#}; run `triage index` again to continue"
                ));
            }
            summary.embeddings.embedded = done;
            let secs = t.elapsed().as_secs_f64();
            if secs > 0.0 && done > 0 {
                summary.embeddings.chunks_per_sec =
                    Some((done as f64 / secs * 10.0).round() / 10.0);
            }
            if done > 0 {
                store.compact().await?;
                store.ensure_indexes(false).await?;
            }
        }
        summary.embeddings.pending = store.count_pending_vectors().await?;
    }
    summary.timings_ms.insert("embed", ms(t));

    summary.files.indexed = store.count_files().await?;
    summary.chunks = store.count_chunks().await?;
    summary.symbols = store.count_definitions().await?;
    summary.timings_ms.insert("total", ms(t_all));
    Ok(summary)
}

/// Replace the stored rows of the changed files: stale content out, new content in, the
/// three content tables written side by side, and file rows last (until they land, the
/// next run redoes these files). Returns how many chunks kept their vectors.
#[allow(clippy::too_many_arguments)]
async fn write_files(
    store: &Store,
    parsed: &[Parsed],
    touched: &[FileRow],
    stale: &[String],
    removed: &[String],
    reuse: &super::store::VectorReuse,
    fresh: bool,
    progress: bool,
) -> Result<usize> {
    if !stale.is_empty() {
        store.delete_content(stale).await?;
    }
    if !removed.is_empty() {
        store.delete_files(removed).await?;
    }
    let mut reused = 0;
    let bar = progress_bar(progress, parsed.len() as u64, "writing");
    for batch in parsed.chunks(WRITE_BATCH_FILES) {
        let chunks: Vec<ChunkRow> = batch
            .iter()
            .flat_map(|p| p.chunks.iter().cloned())
            .collect();
        let symbols: Vec<SymbolRow> = batch
            .iter()
            .flat_map(|p| p.symbols.iter().cloned())
            .collect();
        let questions: Vec<QuestionRow> = batch
            .iter()
            .flat_map(|p| p.questions.iter().cloned())
            .collect();
        let (n, (), ()) = tokio::try_join!(
            store.add_chunks(&chunks, reuse),
            store.add_symbols(&symbols),
            store.add_questions(&questions),
        )?;
        reused += n;
        let files: Vec<FileRow> = batch.iter().map(|p| p.file.clone()).collect();
        store.upsert_files(&files, fresh).await?;
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    store.upsert_files(touched, false).await?;
    Ok(reused)
}

fn ms(t: Instant) -> u64 {
    t.elapsed().as_millis() as u64
}

fn progress_bar(enabled: bool, len: u64, what: &'static str) -> ProgressBar {
    if !enabled || len == 0 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(what);
    bar
}

/// Advisory lock so two `triage index` runs on one index wait for each other.
fn lock(dir: &std::path::Path) -> Result<std::fs::File> {
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!(
                "waiting for another triage run to finish with {}",
                dir.display()
            );
            file.lock()
                .with_context(|| format!("cannot lock {}", path.display()))?;
            Ok(file)
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}
