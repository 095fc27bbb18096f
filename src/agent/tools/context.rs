//! What tools read from: the repository index, the memory database and the cluster,
//! each opened once per session and shared by concurrent calls.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::OnceCell;

use super::tool::ToolError;
use crate::config::Config;
use crate::index::store::Store;
use crate::kube::scan::ScanReport;
use crate::kube::source::ClusterSource;

/// Everything tools read from. Shared by concurrent calls.
pub struct ToolContext {
    pub repo_root: Option<PathBuf>,
    pub index_dir: Option<PathBuf>,
    pub config: Config,
    pub cluster: Option<Arc<ClusterSource>>,
    /// Why there is no cluster, when there is none.
    pub cluster_note: Option<String>,
    store: OnceCell<Option<Arc<Store>>>,
    memory: OnceCell<Result<Arc<crate::memory::MemoryStore>, String>>,
    scan: tokio::sync::Mutex<Option<Arc<ScanReport>>>,
}

impl ToolContext {
    pub fn new(
        repo_root: Option<PathBuf>,
        index_dir: Option<PathBuf>,
        config: Config,
        cluster: Option<Arc<ClusterSource>>,
        cluster_note: Option<String>,
    ) -> Self {
        Self {
            repo_root,
            index_dir,
            config,
            cluster,
            cluster_note,
            store: OnceCell::new(),
            memory: OnceCell::new(),
            scan: tokio::sync::Mutex::new(None),
        }
    }

    /// The repo index, opened once; `None` when there is no index.
    pub async fn store(&self) -> Result<Arc<Store>, ToolError> {
        if self.index_dir.is_none() {
            return Err(ToolError::Unavailable(
                "not inside a git repository: start triage in one, or pass --repo DIR".into(),
            ));
        }
        let store = self
            .store
            .get_or_init(|| async {
                let dir = self.index_dir.as_ref()?;
                match Store::open(dir).await {
                    Ok(s) => Some(Arc::new(s)),
                    Err(e) => {
                        tracing::warn!("cannot open the index at {}: {e:#}", dir.display());
                        None
                    }
                }
            })
            .await;
        store.clone().ok_or_else(|| {
            ToolError::Unavailable(
                "the repository is not indexed (run `triage index` in it first)".into(),
            )
        })
    }

    /// The memory database, opened once.
    pub async fn memory(&self) -> Result<Arc<crate::memory::MemoryStore>, ToolError> {
        let store = self
            .memory
            .get_or_init(|| async {
                crate::memory::open(&self.config)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await;
        store.clone().map_err(ToolError::Unavailable)
    }

    pub fn repo_root(&self) -> Result<&PathBuf, ToolError> {
        self.repo_root
            .as_ref()
            .ok_or_else(|| ToolError::Unavailable("not inside a git repository".into()))
    }

    pub fn cluster(&self) -> Result<&ClusterSource, ToolError> {
        self.cluster.as_deref().ok_or_else(|| {
            ToolError::Unavailable(
                self.cluster_note
                    .clone()
                    .unwrap_or_else(|| "no Kubernetes cluster is configured".into()),
            )
        })
    }

    /// "Now" for time windows: a replay's recording time, so a postmortem reads the
    /// repository as it was around the incident.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.cluster
            .as_ref()
            .map_or_else(chrono::Utc::now, |c| c.now())
    }

    /// The cluster scan, read once per session (findings change slowly next to an
    /// investigation; `refresh` reads again).
    pub async fn scan(&self, refresh: bool) -> Result<Arc<ScanReport>, ToolError> {
        let mut guard = self.scan.lock().await;
        if let Some(report) = guard.as_ref().filter(|_| !refresh) {
            return Ok(report.clone());
        }
        let cluster = self.cluster()?;
        let mut report = crate::kube::scan::scan(cluster, cluster.default_scope()).await?;
        if let Some(root) = self.repo_root.clone() {
            let graph = report.full_graph.clone();
            report.links = tokio::task::spawn_blocking(move || {
                crate::kube::links::link_workloads(&root, &graph)
            })
            .await
            .unwrap_or_default();
        }
        let report = Arc::new(report);
        *guard = Some(report.clone());
        Ok(report)
    }
}
