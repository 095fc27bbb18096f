//! The repository index: walk → syntax (tree-sitter tags) → chunks → store (LanceDB)
//! → embeddings → search.

pub mod chunk;
pub mod embed;
pub mod fusion;
pub mod graph;
pub mod history;
pub mod lang;
pub mod learn;
pub mod llm_questions;
pub mod localize;
pub mod pipeline;
pub mod profile;
pub mod questions;
pub mod rerank;
pub mod search;
pub mod signals;
pub mod store;
pub mod store_query;
pub mod syntax;
pub mod walk;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;

use crate::cli::{GlobalArgs, IndexArgs, IssueArgs, RelatedArgs, SearchArgs};
use crate::config::{self, LoadedConfig};
use crate::repo::RepoLocation;
pub use pipeline::{IndexOptions, IndexSummary, run_index};
pub use search::{SearchResult, search};

/// Resolve the repository and load its configuration.
pub fn context(global: &GlobalArgs) -> Result<(RepoLocation, LoadedConfig)> {
    let loc = RepoLocation::resolve(global.repo.as_deref(), global.index_dir.as_deref())?;
    let cfg = config::load(global.config.as_deref(), Some(&loc.root))?;
    Ok((loc, cfg))
}

pub async fn cmd_index(global: &GlobalArgs, args: &IndexArgs) -> Result<ExitCode> {
    let (loc, cfg) = context(global)?;
    let opts = IndexOptions {
        embed: !args.no_embed,
        rebuild: args.rebuild,
        progress: !args.json && std::io::stderr().is_terminal(),
    };
    let mut summary = run_index(&loc, &cfg.config, &opts).await?;
    if args.llm_questions {
        let llm = crate::agent::llm::LlmClient::from_config(&cfg.config.llm)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--llm-questions needs a model: set [llm] model (or OPENAI_MODEL) and the endpoint"
            )
        })?;
        let redactor = crate::agent::redact::Redactor::from_env(&cfg.config.agent)?;
        let store = store::Store::open(&loc.index_dir).await?;
        summary.llm_questions =
            Some(llm_questions::run(&store, &llm, &redactor, &cfg.config.llm).await?);
    }
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        print_summary(&mut out, &summary)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(out: &mut impl Write, s: &IndexSummary) -> Result<()> {
    for w in &s.warnings {
        writeln!(out, "note: {w}")?;
    }
    writeln!(
        out,
        "indexed {} files ({} parsed, {} unchanged, {} touched, {} removed), {} chunks, {} symbols in {} ms",
        s.files.indexed,
        s.files.parsed,
        s.files.unchanged,
        s.files.touched,
        s.files.removed,
        s.chunks,
        s.symbols,
        s.timings_ms.get("total").copied().unwrap_or(0)
    )?;
    if !s.skipped.is_empty() {
        let parts: Vec<String> = s
            .skipped
            .iter()
            .map(|(r, n)| {
                format!(
                    "{n} {}",
                    serde_json::to_value(r)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        writeln!(out, "skipped: {}", parts.join(", "))?;
    }
    if s.files.lossy_utf8 > 0 {
        writeln!(
            out,
            "{} files had invalid UTF-8 (replaced)",
            s.files.lossy_utf8
        )?;
    }
    match &s.embeddings.embedder {
        None => writeln!(out, "embeddings: none (search is lexical + structural)")?,
        Some(id) => {
            write!(out, "embeddings: {id}, {} embedded", s.embeddings.embedded)?;
            if let Some(r) = s.embeddings.chunks_per_sec {
                write!(out, " ({r} chunks/s)")?;
            }
            if s.embeddings.reused > 0 {
                write!(out, ", {} kept (text unchanged)", s.embeddings.reused)?;
            }
            if s.embeddings.pending > 0 {
                write!(
                    out,
                    ", {} pending (run again to continue)",
                    s.embeddings.pending
                )?;
            }
            writeln!(out)?;
        }
    }
    if let Some(q) = &s.llm_questions {
        write!(
            out,
            "model questions ({}): {} definitions done ({} from the cache), {} requests, {} tokens",
            q.model, q.done, q.cached, q.requests, q.tokens
        )?;
        if q.pending > 0 {
            write!(out, ", {} pending (run again to continue)", q.pending)?;
        }
        writeln!(out)?;
        for w in &q.warnings {
            writeln!(out, "warning: {w}")?;
        }
    }
    Ok(())
}

/// Load the embedder an index was built with, when the config can provide it.
pub async fn embedder_for(
    store: &store::Store,
    config: &config::Config,
    index_dir: &std::path::Path,
) -> Result<Option<embed::Embedder>> {
    let Some(meta) = &store.meta.embedder else {
        return Ok(None);
    };
    match pipeline::EmbedSpec::resolve(config, index_dir).await {
        Ok(Some(spec)) if spec.meta.id == meta.id => Ok(Some(spec.load().await?)),
        _ => Ok(None),
    }
}

pub async fn cmd_issue(global: &GlobalArgs, args: &IssueArgs) -> Result<ExitCode> {
    use std::io::Read;
    let (loc, cfg) = context(global)?;
    let text = match (&args.text_file, args.text.is_empty()) {
        (Some(p), _) if p.as_os_str() != "-" => std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("cannot read issue text {}: {e}", p.display()))?,
        (None, false) => args.text.join(" "),
        _ => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s)?;
            s
        }
    };
    if text.trim().is_empty() {
        anyhow::bail!(
            "the issue text is empty: pass --text-file FILE, the text, or pipe it on stdin"
        );
    }
    let signals = localize::Signals::parse(&args.signals)?;
    let store = store::Store::open(&loc.index_dir).await?;
    let embedder = if signals.vectors {
        embedder_for(&store, &cfg.config, &loc.index_dir).await?
    } else {
        None
    };
    if args.llm {
        return issue_with_model(&store, embedder.as_ref(), &cfg.config, &text, args, signals)
            .await;
    }
    let result =
        localize::rank_files_for_issue(&store, embedder.as_ref(), &text, args.top, signals).await?;
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_files(&mut out, &result.files)
}

/// `triage issue --llm`: the offline ranking, then the model's; a model failure is a
/// warning and the offline ranking stands.
async fn issue_with_model(
    store: &store::Store,
    embedder: Option<&embed::Embedder>,
    config: &config::Config,
    text: &str,
    args: &IssueArgs,
    signals: localize::Signals,
) -> Result<ExitCode> {
    let llm = crate::agent::llm::LlmClient::from_config(&config.llm)?.ok_or_else(|| {
        anyhow::anyhow!(
            "--llm needs a model: set [llm] model (or OPENAI_MODEL) and the endpoint ([llm] base_url or OPENAI_BASE_URL)"
        )
    })?;
    let redactor = crate::agent::redact::Redactor::from_env(&config.agent)?;
    let want = args.top.max(config.llm.rerank_candidates);
    let offline = localize::rank_files_for_issue(store, embedder, text, want, signals).await?;
    let outcome = rerank::rerank(
        store,
        &llm,
        &redactor,
        text,
        &offline.files,
        config.llm.rerank_candidates,
        config.llm.rerank_max_tokens,
    )
    .await;
    let top =
        |files: &[localize::RankedFile]| files.iter().take(args.top).cloned().collect::<Vec<_>>();
    let (files, llm_json) = match &outcome {
        Ok((files, info)) => (top(files), serde_json::to_value(info)?),
        Err(why) => {
            eprintln!("warning: {why}; showing the offline ranking");
            (
                top(&offline.files),
                serde_json::json!({"model": llm.model(crate::agent::llm::Tier::Main), "error": why}),
            )
        }
    };
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({
                "files": files,
                "offline_files": top(&offline.files),
                "llm": llm_json,
                "parsed": offline.parsed,
                "signals": offline.signals,
                "elapsed_ms": offline.elapsed_ms,
            }),
        )?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Ok((_, info)) = &outcome {
        writeln!(
            out,
            "reranked by {} from {} skeletons ({} + {} tokens{}, {} ms)",
            info.model,
            info.files_sent,
            info.prompt_tokens,
            info.completion_tokens,
            if info.estimated { ", estimated" } else { "" },
            info.ms
        )?;
        for f in &info.functions {
            writeln!(out, "  look at {} in {}: {}", f.name, f.path, f.why)?;
        }
    }
    print_files(&mut out, &files)
}

fn print_files(out: &mut impl std::io::Write, files: &[localize::RankedFile]) -> Result<ExitCode> {
    if files.is_empty() {
        writeln!(out, "no candidate files (is the repository indexed?)")?;
    }
    for (i, f) in files.iter().enumerate() {
        writeln!(out, "{:>2}. {}  (score {:.4})", i + 1, f.path, f.score)?;
        for s in f.symbols.iter().take(3) {
            writeln!(
                out,
                "      {} {}  lines {}-{}",
                s.kind, s.name, s.start_line, s.end_line
            )?;
        }
        writeln!(out, "      why: {}", f.reasons.join("; "))?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn cmd_related(global: &GlobalArgs, args: &RelatedArgs) -> Result<ExitCode> {
    let (loc, _) = context(global)?;
    let store = store::Store::open(&loc.index_dir).await?;
    let path = args.path.trim_start_matches("./");
    let n = store
        .files
        .count_rows(Some(format!("path = '{}'", path.replace('\'', "''"))))
        .await?;
    anyhow::ensure!(
        n > 0,
        "{path} is not in the index (paths are relative to the repository root)"
    );
    let graph = graph::FileGraph::load(&store).await?;
    let related = graph.related(path, args.hops.max(1), args.top);
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    if args.json {
        let files: Vec<serde_json::Value> = related
            .iter()
            .map(|(p, s, why)| serde_json::json!({"path": p, "score": s, "via": why}))
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"path": path, "related": files}),
        )?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if related.is_empty() {
        writeln!(out, "no related files for {path}")?;
    }
    for (i, (p, s, why)) in related.iter().enumerate() {
        writeln!(out, "{:>2}. {p}  ({s:.3}, {why})", i + 1)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn cmd_search(global: &GlobalArgs, args: &SearchArgs) -> Result<ExitCode> {
    let (loc, cfg) = context(global)?;
    let store = store::Store::open(&loc.index_dir).await?;
    let embedder = embedder_for(&store, &cfg.config, &loc.index_dir).await?;
    let query = args.query.join(" ");
    let result = search(&store, embedder.as_ref(), &query, args.top).await?;
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for n in &result.notes {
        writeln!(out, "note: {n}")?;
    }
    if result.files.is_empty() {
        writeln!(out, "no matches for {query:?}")?;
    }
    for (i, f) in result.files.iter().enumerate() {
        writeln!(out, "{:>2}. {}  (score {:.4})", i + 1, f.path, f.score)?;
        for c in f.chunks.iter().take(3) {
            let what = match &c.symbol {
                Some(s) => format!("{} {s}", c.kind),
                None => c.kind.clone(),
            };
            writeln!(
                out,
                "      {}:{}-{}  {what}",
                f.path, c.start_line, c.end_line
            )?;
        }
        writeln!(out, "      why: {}", f.reasons.join("; "))?;
    }
    Ok(ExitCode::SUCCESS)
}
