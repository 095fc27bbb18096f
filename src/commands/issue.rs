//! `triage issue`: the files and functions an issue is about, ranked with their reasons;
//! `--llm` has the configured model rerank them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::args::{GlobalArgs, IssueArgs};
use crate::config;
use crate::index::{embedder_for, localize, rerank, store};
use crate::llm::embed;

pub async fn run(global: &GlobalArgs, args: &IssueArgs) -> Result<ExitCode> {
    let (loc, cfg) = super::repo_and_config(global)?;
    let text = match (&args.text_file, args.text.is_empty()) {
        (Some(p), _) if p.as_os_str() != "-" => std::fs::read_to_string(p)
            .map_err(|e| anyhow::anyhow!("cannot read issue text {}: {e}", p.display()))?,
        (None, false) => args.text.join(" "),
        _ => super::stdin::read_all("the issue")?,
    };
    if text.trim().is_empty() {
        anyhow::bail!(
            "the issue text is empty: pass --text-file FILE, the text, or pipe it on stdin"
        );
    }
    let signals = localize::Signals::parse(&args.signals)?;
    let store = store::Store::open(&loc.index_dir).await?;
    let embedder = if signals.vectors {
        embedder_for(&store, &cfg.config).await?
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
    let llm = crate::llm::chat::LlmClient::from_config(&config.llm)?.ok_or_else(|| {
        anyhow::anyhow!(
            "--llm needs a model: set [llm] model (or OPENAI_MODEL) and the endpoint ([llm] base_url or OPENAI_BASE_URL)"
        )
    })?;
    let redactor = crate::llm::redact::Redactor::from_env(&config.agent)?;
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
                serde_json::json!({"model": llm.model(crate::llm::chat::Tier::Main), "error": why}),
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
