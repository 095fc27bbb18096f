//! Running `triage mcp`: the server over stdio (the default) or Streamable HTTP on a
//! loopback address, with the repository's index refreshed in the background.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};

use super::server::{IndexStatus, ServeState, Sources, TriageServer};
use crate::config::Config;
use crate::kube::source::ClusterSource;
use crate::llm::redact::Redactor;
use crate::repo::RepoLocation;

/// How clients reach the server.
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    Stdio,
    /// Streamable HTTP at `http://ADDR/mcp`; loopback addresses only.
    Http(SocketAddr),
}

/// What `triage mcp` serves.
pub struct Serve {
    pub repo: Option<RepoLocation>,
    pub config: Config,
    pub cluster: Option<Arc<ClusterSource>>,
    /// Why there is no cluster, when there is none.
    pub cluster_note: Option<String>,
    pub transport: Transport,
    /// Bring the index up to date in the background (off: serve it as it is).
    pub refresh: bool,
}

pub async fn serve(s: Serve) -> Result<()> {
    if let Transport::Http(addr) = s.transport
        && !addr.ip().is_loopback()
    {
        bail!(
            "--http serves on a loopback address only (127.0.0.1:PORT or [::1]:PORT); {addr} is not one"
        );
    }
    let redactor = Redactor::from_env(&s.config.agent).context("the redaction rules")?;
    let git = s.repo.filter(|l| l.is_git);
    let status = match &git {
        None => IndexStatus::NoRepository,
        Some(_) if !s.refresh => IndexStatus::Ready,
        Some(l) => IndexStatus::Refreshing {
            first: !l.index_dir.is_dir(),
        },
    };
    let state = ServeState::new(
        Sources {
            repo_root: git.as_ref().map(|l| l.root.clone()),
            index_dir: git.as_ref().map(|l| l.index_dir.clone()),
            config: s.config.clone(),
            cluster: s.cluster,
            cluster_note: s.cluster_note,
        },
        redactor,
        status,
    );
    if let Some(loc) = git.filter(|_| s.refresh) {
        tokio::spawn(refresh(state.clone(), loc, s.config));
    }
    match s.transport {
        Transport::Stdio => {
            let running = TriageServer::new(state)
                .serve(rmcp::transport::stdio())
                .await
                .context("the MCP handshake on stdio failed")?;
            running.waiting().await.context("the MCP server stopped")?;
        }
        Transport::Http(addr) => serve_http(state, addr).await?,
    }
    Ok(())
}

/// Bring the index (lexically: fast) and the repository's runbooks up to date, then
/// point the tools at the new version. Said on stderr, which MCP clients show as the
/// server's log.
async fn refresh(state: Arc<ServeState>, loc: RepoLocation, config: Config) {
    eprintln!(
        "triage mcp: refreshing the index of {} in the background",
        loc.root.display()
    );
    let t0 = Instant::now();
    let opts = crate::index::IndexOptions {
        embed: false,
        rebuild: false,
        progress: false,
    };
    let result = crate::index::run_index(&loc, &config, &opts).await;
    if let Err(e) = crate::memory::sync_repo_runbooks(&config.memory, &loc.root).await {
        tracing::warn!("runbooks not synced: {e}");
    }
    match result {
        Ok(summary) => {
            eprintln!(
                "triage mcp: index up to date in {} ms ({} chunks)",
                t0.elapsed().as_millis(),
                summary.chunks
            );
            state.refreshed(Ok(serde_json::to_value(&summary).unwrap_or_default()));
        }
        Err(e) => {
            eprintln!("triage mcp: the index refresh failed: {e:#}; serving the last good version");
            state.refreshed(Err(format!("{e:#}")));
        }
    }
}

async fn serve_http(state: Arc<ServeState>, addr: SocketAddr) -> Result<()> {
    let shutdown = tokio_util::sync::CancellationToken::new();
    // Loopback hosts only (the default), and no browser page may call it.
    let config = StreamableHttpServerConfig::default()
        .enforce_origin_validation()
        .with_cancellation_token(shutdown.child_token());
    let service = StreamableHttpService::new(
        move || Ok(TriageServer::new(state.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let app = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let bound = listener.local_addr().unwrap_or(addr);
    eprintln!("triage mcp: serving Streamable HTTP at http://{bound}/mcp");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            shutdown.cancel();
        })
        .await
        .context("the HTTP server failed")
}
