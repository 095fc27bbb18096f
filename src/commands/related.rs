//! `triage related`: files related to a file through references and co-change.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use super::args::{GlobalArgs, RelatedArgs};
use crate::index::{graph, store};

pub async fn run(global: &GlobalArgs, args: &RelatedArgs) -> Result<ExitCode> {
    let (loc, _) = super::repo_and_config(global)?;
    let store = store::Store::open(&loc.index_dir).await?;
    let path = args.path.trim_start_matches("./");
    anyhow::ensure!(
        store.has_file(path).await?,
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
