//! `triage search`: full-text, vector and symbol matches, grouped by file.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::args::{GlobalArgs, SearchArgs};
use crate::index::{embedder_for, search, store};

pub async fn run(global: &GlobalArgs, args: &SearchArgs) -> Result<ExitCode> {
    let (loc, cfg) = super::repo_and_config(global)?;
    let store = store::Store::open(&loc.index_dir).await?;
    let embedder = embedder_for(&store, &cfg.config).await?;
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
