//! `triage mcp [--http ADDR] [--context C] [-n NS] [--replay FILE]`: triage's read-only
//! tools for other agents.

use std::process::ExitCode;

use anyhow::Result;

use super::args::{GlobalArgs, McpArgs};
use crate::agent::open::Workspace;
use crate::mcp::serve::{Serve, Transport, serve};
use crate::repo::RepoLocation;

pub async fn run(global: &GlobalArgs, args: &McpArgs) -> Result<ExitCode> {
    // A repository named on the command line must exist (an agent's config may be stale).
    if let Some(repo) = &global.repo {
        RepoLocation::resolve(Some(repo), global.index_dir.as_deref())?;
    }
    let ws = Workspace::resolve(&global.workspace(false))?;
    let opened = ws.open_session(&args.cluster.choice(), None).await;
    if let Some(e) = &opened.cluster_error {
        eprintln!("triage mcp: no cluster ({e}); the kube tools will say so");
    }
    serve(Serve {
        repo: ws.loc,
        config: ws.config.config,
        cluster: opened.session.cluster,
        cluster_note: opened.session.cluster_note,
        transport: match args.http {
            Some(addr) => Transport::Http(addr),
            None => Transport::Stdio,
        },
        refresh: !args.no_refresh,
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}
