//! Opening a session: the repository and its config, a refreshed index, the cluster, the
//! model and the MCP servers the user configured become a [`SessionConfig`]. The TUI, `ask` and `eval incidents` all open
//! their sessions through [`Workspace::open_session`].

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use super::session::SessionConfig;
use crate::config::LoadedConfig;
use crate::kube::source::{ClusterChoice, ClusterSource};
use crate::llm::chat::LlmClient;
use crate::repo::RepoLocation;

/// Which repository and config to work with, as the command line says.
#[derive(Debug, Clone, Default)]
pub struct WorkspaceChoice {
    /// The repository (default: the one containing the current directory).
    pub repo: Option<PathBuf>,
    /// Where the index lives (default: `<repo>/.triage`).
    pub index_dir: Option<PathBuf>,
    /// A config file instead of the user's.
    pub config: Option<PathBuf>,
    /// Allow approved write actions (read-only by default).
    pub write: bool,
}

/// Where a session works: the repository, when there is one, and the loaded config.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub loc: Option<RepoLocation>,
    pub config: LoadedConfig,
}

/// What refreshing a repository did; neither part is fatal.
pub struct Refresh {
    pub index: Result<crate::index::IndexSummary>,
    pub runbooks: std::result::Result<crate::memory::runbooks::SyncReport, String>,
}

/// A session ready to start, and what has to live as long as it.
pub struct Opened {
    pub session: SessionConfig,
    /// The connection error, when a cluster was chosen but could not be reached.
    pub cluster_error: Option<String>,
    /// Points approved kubectl commands at the replay server; keep it while the session
    /// runs.
    pub kubeconfig: Option<tempfile::NamedTempFile>,
}

impl Workspace {
    /// Find the repository (a directory outside any repository works too, without
    /// repository features) and load the config layers.
    pub fn resolve(choice: &WorkspaceChoice) -> Result<Self> {
        let loc = RepoLocation::resolve(choice.repo.as_deref(), choice.index_dir.as_deref()).ok();
        let mut config = crate::config::load(
            choice.config.as_deref(),
            loc.as_ref().map(|l| l.root.as_path()),
        )?;
        if choice.write {
            config.config.agent.read_only = false;
        }
        Ok(Self { loc, config })
    }

    /// The repository, when it is a git repository (the index and the tools need one).
    pub fn git(&self) -> Option<&RepoLocation> {
        self.loc.as_ref().filter(|l| l.is_git)
    }

    /// Before a session: bring a missing or stale index up to date (lexically: fast) and
    /// the repository's runbooks into memory. `None` outside a git repository.
    pub async fn refresh(&self) -> Option<Refresh> {
        let loc = self.git()?;
        let config = &self.config.config;
        let opts = crate::index::pipeline::IndexOptions {
            embed: false,
            rebuild: false,
            progress: false,
        };
        let index = crate::index::pipeline::run_index(loc, config, &opts).await;
        let runbooks = crate::memory::sync_repo_runbooks(&config.memory, &loc.root).await;
        Some(Refresh { index, runbooks })
    }

    /// The configured model, `None` for the offline planner.
    pub fn llm(&self) -> Result<Option<LlmClient>> {
        Ok(LlmClient::from_config(&self.config.config.llm)?)
    }

    /// Connect to the chosen cluster (never fatal: without one the session still works
    /// on the repository) and configure a session with this model.
    pub async fn open_session(&self, cluster: &ClusterChoice, llm: Option<LlmClient>) -> Opened {
        let conn = connect_cluster(cluster, &self.config.config.kube).await;
        let git = self.git();
        let exec_env = conn
            .kubeconfig
            .iter()
            .map(|k| ("KUBECONFIG".to_string(), k.path().display().to_string()))
            .collect();
        let repo_root = git.map(|l| l.root.clone());
        let external_tools =
            super::external::mcp::McpHub::from_config(&self.config.config, repo_root.as_deref());
        let session = SessionConfig {
            external_tools,
            repo_root,
            index_dir: git.map(|l| l.index_dir.clone()),
            config: self.config.clone(),
            cluster: conn.source,
            cluster_label: conn.label,
            cluster_note: conn.note,
            llm,
            trace_dir: crate::trace::sessions_dir().ok(),
            audit_path: super::audit::AuditLog::default_path(),
            exec_env,
        };
        Opened {
            session,
            cluster_error: conn.error,
            kubeconfig: conn.kubeconfig,
        }
    }
}

/// Everything at once, for a one-shot command: the workspace, a refreshed index (a
/// failure is a warning), the cluster and the model (none when `offline`).
pub async fn open(
    choice: &WorkspaceChoice,
    cluster: &ClusterChoice,
    offline: bool,
) -> Result<Opened> {
    let ws = Workspace::resolve(choice)?;
    if let Some(Refresh { index: Err(e), .. }) = ws.refresh().await {
        tracing::warn!("cannot update the index: {e:#}");
    }
    let llm = if offline { None } else { ws.llm()? };
    Ok(ws.open_session(cluster, llm).await)
}

/// The cluster a session reads, and the kubeconfig approved kubectl commands use.
struct ClusterConnection {
    source: Option<Arc<ClusterSource>>,
    /// A context name or `replay:<file>`.
    label: Option<String>,
    /// Why there is no cluster, for the agent's tools.
    note: Option<String>,
    /// The connection error, when a cluster was configured but could not be reached.
    error: Option<String>,
    /// Points kubectl at the replay server; kept alive as long as the session.
    kubeconfig: Option<tempfile::NamedTempFile>,
}

/// Connect to the cluster the choice (or the kubeconfig) names.
async fn connect_cluster(
    cluster: &ClusterChoice,
    cfg: &crate::config::KubeConfig,
) -> ClusterConnection {
    let wants_cluster = cluster.replay.is_some()
        || cluster.context.is_some()
        || std::env::var_os("KUBECONFIG").is_some()
        || dirs::home_dir().is_some_and(|h| h.join(".kube/config").is_file());
    if !wants_cluster {
        return ClusterConnection {
            source: None,
            label: None,
            note: Some("no Kubernetes context configured".to_string()),
            error: None,
            kubeconfig: None,
        };
    }
    match ClusterSource::connect(cluster, cfg).await {
        Ok(src) => {
            let label = match &cluster.replay {
                Some(p) => format!("replay:{}", p.display()),
                None => src.context().unwrap_or("cluster").to_string(),
            };
            let kubeconfig = src.replay_server().and_then(|server| {
                replay_kubeconfig(&server.url(), src.default_scope().namespace())
                    .map_err(|e| tracing::warn!("cannot write the replay kubeconfig: {e:#}"))
                    .ok()
            });
            ClusterConnection {
                source: Some(Arc::new(src)),
                label: Some(label),
                note: None,
                error: None,
                kubeconfig,
            }
        }
        Err(e) => ClusterConnection {
            source: None,
            label: None,
            note: Some(format!("no cluster: {e}")),
            error: Some(e.to_string()),
            kubeconfig: None,
        },
    }
}

/// A kubeconfig that points kubectl at the replay server, for approved read commands.
fn replay_kubeconfig(server: &str, namespace: Option<&str>) -> Result<tempfile::NamedTempFile> {
    let mut f = tempfile::Builder::new()
        .prefix("triage-replay-")
        .suffix(".kubeconfig")
        .tempfile()?;
    writeln!(
        f,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster:\n    server: {server}\ncontexts:\n- name: replay\n  context:\n    cluster: replay\n    user: replay\n    namespace: {}\ncurrent-context: replay\nusers:\n- name: replay\n  user: {{}}",
        namespace.unwrap_or("default")
    )?;
    Ok(f)
}
