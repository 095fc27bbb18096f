//! `triage index`: build or refresh the repository's index (files, AST chunks, symbols,
//! history, embeddings), then optionally the model's questions.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;

use super::args::{GlobalArgs, IndexArgs};
use crate::index::{IndexOptions, IndexSummary, llm_questions, run_index, store};

pub async fn run(global: &GlobalArgs, args: &IndexArgs) -> Result<ExitCode> {
    let (loc, cfg) = super::repo_and_config(global)?;
    let opts = IndexOptions {
        embed: !args.no_embed,
        rebuild: args.rebuild,
        progress: !args.json && std::io::stderr().is_terminal(),
    };
    let mut summary = run_index(&loc, &cfg.config, &opts).await?;
    if args.llm_questions {
        let llm = crate::llm::chat::LlmClient::from_config(&cfg.config.llm)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--llm-questions needs a model: set [llm] model (or OPENAI_MODEL) and the endpoint"
            )
        })?;
        let redactor = crate::llm::redact::Redactor::from_env(&cfg.config.agent)?;
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
        print_embedder(&mut out, &summary, &cfg.config.embed, args.no_embed)?;
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
        None => {}
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

/// Which embedder is in use, where its model is, and how to get one when there is none.
fn print_embedder(
    out: &mut impl Write,
    s: &IndexSummary,
    cfg: &crate::config::EmbedConfig,
    skipped: bool,
) -> Result<()> {
    use crate::config::EmbedProvider;
    use crate::llm::embed;
    match (&s.embeddings.embedder, cfg.provider) {
        (Some(id), EmbedProvider::Local) if id.starts_with("local:") => {
            if let Some(dir) = embed::find_model_dir(cfg) {
                writeln!(out, "embedder: local model {}", dir.display())?;
            }
        }
        (Some(id), EmbedProvider::Static) if id.starts_with("static:") => {
            if let Some(dir) = embed::find_model_dir(cfg) {
                writeln!(
                    out,
                    "embedder: static table distilled from {}",
                    dir.display()
                )?;
            }
        }
        (Some(_), _) => {}
        (None, _) if skipped => writeln!(out, "embeddings: skipped (--no-embed)")?,
        (None, EmbedProvider::None) => writeln!(
            out,
            "embeddings: off (embed.provider = none): search is lexical + structural"
        )?,
        (None, _) => match embed::find_model_dir(cfg) {
            Some(dir) => writeln!(
                out,
                "embeddings: off by default (they did not improve ranking): search is lexical \
                 + structural; embed.provider = \"static\" adds hybrid search with {}",
                dir.display()
            )?,
            None => writeln!(
                out,
                "embeddings: off by default: search is lexical + structural; `triage model \
                 fetch` (90 MB) and embed.provider = \"static\" add hybrid search"
            )?,
        },
    }
    Ok(())
}
