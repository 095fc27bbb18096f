//! What the status bar knows about the world: filled by the launcher, refreshed through
//! [`crate::tui::AppEvent::Status`], and partly by the agent's `SessionStarted`.

/// The repo index as the launcher sees it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum IndexState {
    #[default]
    Unknown,
    /// No index yet: search falls back to plain text.
    Missing,
    /// Indexing in the background (percent done when known).
    Building { percent: Option<u8> },
    /// Ready; `files` indexed, `lexical_only` when no embeddings are available.
    Ready { files: usize, lexical_only: bool },
    /// Older than the working tree.
    Stale,
}

/// Which cluster the tools read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClusterState {
    /// No kube context configured.
    #[default]
    None,
    Live {
        context: String,
        namespace: Option<String>,
    },
    /// A recorded snapshot served over loopback.
    Replay { file: String },
    /// Configured but not answering.
    Unreachable { context: String, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusInfo {
    /// Repository name for display (not the full path).
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub index: IndexState,
    pub cluster: ClusterState,
    /// `None` is the offline planner.
    pub model: Option<String>,
    /// Read-only mode refuses write actions even when approved.
    pub read_only: bool,
}

impl Default for StatusInfo {
    fn default() -> Self {
        Self {
            repo: None,
            branch: None,
            index: IndexState::Unknown,
            cluster: ClusterState::None,
            model: None,
            read_only: true,
        }
    }
}

impl StatusInfo {
    /// Fold in what the agent announced when its session started. The launcher's fuller
    /// view (branch, index, unreachable reasons) is kept where the agent says nothing new.
    pub fn apply_session(
        &mut self,
        repo: Option<&str>,
        model: Option<&str>,
        cluster: Option<&str>,
        namespace: Option<&str>,
        read_only: bool,
    ) {
        if let Some(repo) = repo {
            let name = repo
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or(repo);
            self.repo = Some(name.to_string());
        }
        self.model = model.map(str::to_string);
        self.read_only = read_only;
        self.cluster = match cluster {
            Some(c) => match c.strip_prefix("replay:") {
                Some(file) => ClusterState::Replay {
                    file: file.to_string(),
                },
                None => ClusterState::Live {
                    context: c.to_string(),
                    namespace: namespace.map(str::to_string),
                },
            },
            None => match &self.cluster {
                // The agent cannot read a cluster; keep the launcher's reason if it had one.
                ClusterState::Unreachable { .. } => self.cluster.clone(),
                _ => ClusterState::None,
            },
        };
    }
}
