//! `triage mcp [--http ADDR] [--context C] [-n NS] [--replay FILE]`: the command line
//! resolved into what the server serves.

use std::process::ExitCode;

use anyhow::Result;

use super::serve::{Serve, Transport, serve};
use crate::cli::{GlobalArgs, McpArgs};
use crate::repo::RepoLocation;

pub async fn cmd_mcp(global: &GlobalArgs, args: &McpArgs) -> Result<ExitCode> {
    let loc = match &global.repo {
        // A repository named on the command line must exist.
        Some(repo) => Some(RepoLocation::resolve(
            Some(repo),
            global.index_dir.as_deref(),
        )?),
        None => RepoLocation::resolve(None, global.index_dir.as_deref()).ok(),
    };
    let config = crate::config::load(
        global.config.as_deref(),
        loc.as_ref().map(|l| l.root.as_path()),
    )?;
    let conn = crate::headless::connect_cluster(&args.cluster, &config.config.kube).await;
    if let Some(e) = &conn.error {
        eprintln!("triage mcp: no cluster ({e}); the kube tools will say so");
    }
    serve(Serve {
        repo: loc,
        config: config.config,
        cluster: conn.source,
        cluster_note: conn.note,
        transport: match args.http {
            Some(addr) => Transport::Http(addr),
            None => Transport::Stdio,
        },
        refresh: !args.no_refresh,
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
