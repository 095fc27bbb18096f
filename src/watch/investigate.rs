//! One background investigation: a session like `ask`'s (the same planner or model, the
//! same tools, trace and memory), read-only, within its share of the daily budget.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use crate::agent::external::ExternalTools;
use crate::agent::session::{self, SessionConfig};
use crate::config::LoadedConfig;
use crate::kube::source::ClusterSource;
use crate::llm::chat::LlmClient;
use crate::protocol::{Answer, BudgetUsage, Event, Op, TurnStatus};

use super::queue::Allowance;

/// What every background session is made of.
#[derive(Clone)]
pub struct SessionBase {
    pub repo_root: Option<PathBuf>,
    pub index_dir: Option<PathBuf>,
    pub config: LoadedConfig,
    pub cluster: Option<Arc<ClusterSource>>,
    pub cluster_label: Option<String>,
    pub cluster_note: Option<String>,
    pub llm: Option<LlmClient>,
    pub trace_dir: Option<PathBuf>,
    pub audit_path: Option<PathBuf>,
    pub exec_env: Vec<(String, String)>,
    pub external_tools: Option<Arc<dyn ExternalTools>>,
}

impl SessionBase {
    /// Take what a resolved session would run with.
    pub fn from_session(cfg: SessionConfig) -> Self {
        Self {
            repo_root: cfg.repo_root,
            index_dir: cfg.index_dir,
            config: cfg.config,
            cluster: cfg.cluster,
            cluster_label: cfg.cluster_label,
            cluster_note: cfg.cluster_note,
            llm: cfg.llm,
            trace_dir: cfg.trace_dir,
            audit_path: cfg.audit_path,
            exec_env: cfg.exec_env,
            external_tools: cfg.external_tools,
        }
    }

    /// A session's configuration: read-only whatever the config says (nobody is there to
    /// approve anything), and a budget no larger than what today has left.
    pub fn session(&self, allowance: Allowance) -> SessionConfig {
        let mut config = self.config.clone();
        let agent = &mut config.config.agent;
        agent.read_only = true;
        agent.max_tokens = agent.max_tokens.min(allowance.tokens);
        agent.max_tool_calls = agent.max_tool_calls.min(allowance.tool_calls);
        SessionConfig {
            repo_root: self.repo_root.clone(),
            index_dir: self.index_dir.clone(),
            config,
            cluster: self.cluster.clone(),
            cluster_label: self.cluster_label.clone(),
            cluster_note: self.cluster_note.clone(),
            llm: self.llm.clone(),
            trace_dir: self.trace_dir.clone(),
            audit_path: self.audit_path.clone(),
            exec_env: self.exec_env.clone(),
            external_tools: self.external_tools.clone(),
        }
    }
}

/// How a background investigation ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub session: String,
    pub trace: Option<PathBuf>,
    pub status: Option<TurnStatus>,
    pub answer: Option<Answer>,
    pub usage: BudgetUsage,
}

/// Run one investigation to its end. `started` is called with the session id as soon as
/// the session exists.
pub async fn investigate(
    base: &SessionBase,
    allowance: Allowance,
    request: String,
    started: impl FnOnce(&str),
) -> Result<Finished> {
    let mut handle = session::start(base.session(allowance))?;
    started(&handle.id);
    handle.ops.send(Op::Submit { text: request })?;
    let mut finished = Finished {
        session: handle.id.clone(),
        trace: handle.trace_path.clone(),
        status: None,
        answer: None,
        usage: BudgetUsage::default(),
    };
    while let Some(ev) = handle.events.recv().await {
        match ev {
            Event::BudgetUpdate { used, .. } => finished.usage = used,
            Event::TurnComplete { status, answer } => {
                finished.status = Some(status);
                finished.answer = answer;
                break;
            }
            _ => {}
        }
    }
    let _ = handle.ops.send(Op::Shutdown);
    handle.join().await;
    Ok(finished)
}

/// The answer's heading: its first non-empty line without Markdown marks.
pub fn heading(answer: &Answer) -> String {
    answer
        .text
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches('#')
                .trim()
                .trim_matches('*')
                .trim()
        })
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}
