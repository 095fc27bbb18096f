//! The agent's tools: each has a JSON schema, a timeout and an output cap, and reports
//! the command a person would run to see the same thing. Tools only read; actions are
//! proposed through `propose_action` and run by the session after the user approves.
//! Each tool is one [`Tool`] entry in the [`registry`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::config::Config;
use crate::index::store::Store;
use crate::kube::scan::ScanReport;
use crate::kube::source::ClusterSource;
use crate::protocol::Evidence;
pub use data::ToolData;

mod code;
pub mod data;
pub mod diagnose;
mod git;
mod kube;
mod memory;
pub mod registry;

/// A tool: everything about it in one entry.
pub struct Tool {
    pub name: &'static str,
    /// What the model reads to decide when to call it.
    pub description: &'static str,
    /// The JSON schema of its arguments.
    pub parameters: Value,
    /// Its own time limit; `None` takes the configured `agent.tool_timeout_secs`.
    pub timeout: Option<Duration>,
    /// The command a person would run to see what the tool saw.
    pub human: fn(&Value) -> String,
    /// Read and answer; `None` for the tools the session handles itself.
    pub run: Option<Run>,
}

/// How a tool runs: its arguments are a JSON object.
pub type Run =
    for<'a> fn(&'a ToolContext, &'a Value) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;

/// A tool's description for the model and the tools pane.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
    pub timeout: Duration,
}

/// What a tool returns.
#[derive(Debug, Clone, Default)]
pub struct ToolOutput {
    /// What the model sees (capped by the session).
    pub text: String,
    /// One line for the tools pane.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// The same answer as typed data (what the offline planner reads).
    pub data: ToolData,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("bad arguments: {0}")]
    BadArguments(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

impl From<anyhow::Error> for ToolError {
    fn from(e: anyhow::Error) -> Self {
        ToolError::Failed(format!("{e:#}"))
    }
}

impl From<crate::index::store::IndexError> for ToolError {
    fn from(e: crate::index::store::IndexError) -> Self {
        ToolError::Failed(format!("{:#}", anyhow::Error::from(e)))
    }
}

impl From<crate::kube::error::KubeError> for ToolError {
    fn from(e: crate::kube::error::KubeError) -> Self {
        ToolError::Failed(e.to_string())
    }
}

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

/// Tools the session handles itself (they change the investigation, not the world).
pub const SAVE_CHECKPOINT: &str = "save_checkpoint";
pub const PROPOSE_ACTION: &str = "propose_action";

/// Cut `text` to `max` characters on a line boundary, saying so in the text itself.
pub fn cap_output(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(nl) = text[..cut].rfind('\n').filter(|&n| n > max / 2) {
        cut = nl;
    }
    let shown_lines = text[..cut].lines().count();
    let total_lines = text.lines().count();
    (
        format!(
            "{}\n[output truncated: showing {shown_lines} of {total_lines} lines ({cut} of {} characters); ask for a narrower range or query]",
            &text[..cut],
            text.len()
        ),
        true,
    )
}

pub(crate) fn str_arg<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// An argument's text, empty when it is missing (for displayed commands).
pub(crate) fn arg<'a>(args: &'a Value, key: &str) -> &'a str {
    str_arg(args, key).unwrap_or("")
}

pub(crate) fn req_str<'a>(args: &'a Value, key: &str) -> Result<&'a str, ToolError> {
    str_arg(args, key).ok_or_else(|| ToolError::BadArguments(format!("`{key}` is required")))
}

pub(crate) fn u64_arg(args: &Value, key: &str) -> Option<u64> {
    match args.get(key)? {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn bool_arg(args: &Value, key: &str) -> bool {
    match args.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Shell-quote an argument for a displayed command.
pub(crate) fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_says_how_much_was_cut() {
        let text: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let (out, cut) = cap_output(&text, 300);
        assert!(cut);
        assert!(out.contains("[output truncated: showing"), "{out}");
        assert!(out.contains("of 200 lines"), "{out}");
        assert!(out.len() < 450);
        let (same, cut) = cap_output("short", 300);
        assert!(!cut);
        assert_eq!(same, "short");
    }
}
