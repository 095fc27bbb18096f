//! A session: the task that owns the agent. It receives [`Op`]s, runs turns (model or
//! offline planner), handles approvals, and emits [`Event`]s to the view and the trace.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::actions::{ApprovalQueue, DecisionOutcome, NextStep};
use super::audit::{AuditLog, AuditRecord};
use super::exec::{Exec, Investigation, Stop};
use super::external::tool::{ExternalTools, PendingCalls};
use super::shared::{Learned, Shared};
use super::tools::ToolContext;
use super::{llm_loop, planner, playbook};
use crate::config::{AgentConfig, LoadedConfig};
use crate::kube::source::ClusterSource;
use crate::llm::chat::LlmClient;
use crate::llm::redact::Redactor;
use crate::protocol::{Budget, Decision, ErrorKind, Event, Op, TurnStatus};
use crate::trace::{RecordBody, TraceWriter};

/// What a session runs against.
#[derive(Clone)]
pub struct SessionConfig {
    pub repo_root: Option<PathBuf>,
    pub index_dir: Option<PathBuf>,
    pub config: LoadedConfig,
    pub cluster: Option<Arc<ClusterSource>>,
    /// How the cluster is shown: a context name, `replay:<file>`.
    pub cluster_label: Option<String>,
    /// Why there is no cluster, when there is none.
    pub cluster_note: Option<String>,
    pub llm: Option<LlmClient>,
    /// Where traces go (default: the XDG state dir's `sessions/`); `None` in
    /// `SessionConfig::trace` disables them.
    pub trace_dir: Option<PathBuf>,
    pub audit_path: Option<PathBuf>,
    /// Extra environment for approved commands (e.g. KUBECONFIG pointing at a replay).
    pub exec_env: Vec<(String, String)>,
    /// Tools other programs serve (MCP servers in the user's config).
    pub external_tools: Option<Arc<dyn ExternalTools>>,
}

/// The view's side of a session.
pub struct SessionHandle {
    pub id: String,
    pub ops: mpsc::UnboundedSender<Op>,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub trace_path: Option<PathBuf>,
    task: tokio::task::JoinHandle<()>,
}

impl SessionHandle {
    /// Wait for the session task to end (after `Op::Shutdown` or the ops sender drops).
    pub async fn join(self) {
        let _ = self.task.await;
    }
}

/// Start a session task.
pub fn start(cfg: SessionConfig) -> anyhow::Result<SessionHandle> {
    let id = crate::trace::new_session_id();
    let agent = cfg.config.config.agent.clone();
    let redactor = Arc::new(Redactor::from_env(&agent)?);
    let trace = match &cfg.trace_dir {
        Some(dir) if agent.keep_raw_output => Some(TraceWriter::create(dir, &id)?),
        Some(dir) => {
            let r = redactor.clone();
            let scrub: crate::trace::Scrubber = Arc::new(move |v| r.redact_json(v));
            Some(TraceWriter::create(dir, &id)?.scrubbed_by(scrub))
        }
        None => None,
    };
    let trace_path = trace.as_ref().map(|t| t.path().to_path_buf());
    let audit = match &cfg.audit_path {
        Some(p) => Some(AuditLog::open(p)?),
        None => None,
    };
    let model = cfg
        .llm
        .as_ref()
        .map(|l| l.model(crate::llm::chat::Tier::Main).to_string());
    if let Some(t) = &trace {
        t.write(RecordBody::Meta {
            session: id.clone(),
            triage_version: env!("CARGO_PKG_VERSION").to_string(),
            repo: cfg.repo_root.as_ref().map(|p| p.display().to_string()),
            index: crate::trace::index_version(cfg.index_dir.as_deref()),
            config_digest: crate::trace::config_digest(&cfg.config.config),
            config_sources: cfg
                .config
                .sources
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            model: model.clone(),
            cluster: cfg.cluster_label.clone(),
        });
    }
    let namespace = cfg
        .cluster
        .as_ref()
        .and_then(|c| c.default_scope().namespace().map(str::to_string));
    let tools = ToolContext::new(
        cfg.repo_root.clone(),
        cfg.index_dir.clone(),
        cfg.config.config.clone(),
        cfg.cluster.clone(),
        cfg.cluster_note.clone(),
    );
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (op_tx, op_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        id: id.clone(),
        specs: super::tools::registry::specs(&cfg.config.config),
        tools,
        llm: cfg.llm,
        redactor,
        actions: Mutex::new(ApprovalQueue::new(
            agent.read_only,
            agent.shell_allowlist.clone(),
        )),
        agent,
        external: cfg.external_tools,
        external_calls: PendingCalls::default(),
        feedback: Mutex::new(VecDeque::new()),
        observations: Mutex::new(Vec::new()),
        learned: Mutex::new(Default::default()),
        events: ev_tx,
        own_ops: op_tx.downgrade(),
        trace,
        audit,
        exec_env: cfg.exec_env,
        feedback_seq: AtomicU64::new(0),
        call_seq: AtomicU64::new(0),
    });
    shared.emit(Event::SessionStarted {
        session: id.clone(),
        repo: cfg.repo_root.as_ref().map(|p| p.display().to_string()),
        model,
        cluster: cfg.cluster_label,
        namespace,
        read_only: shared.agent.read_only,
        budget: budget_of(&shared.agent),
    });
    start_external(&shared);
    let task = tokio::spawn(router(shared, op_rx, cfg.repo_root));
    Ok(SessionHandle {
        id,
        ops: op_tx,
        events: ev_rx,
        trace_path,
        task,
    })
}

/// Start the external tool sources in the background; a source that fails is reported
/// and the session goes on without it. Turns wait for the start before offering tools.
fn start_external(shared: &Arc<Shared>) {
    let Some(ext) = shared.external.clone() else {
        return;
    };
    let shared = Arc::downgrade(shared);
    tokio::spawn(async move {
        for problem in ext.start().await {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            shared.emit(Event::Error {
                kind: ErrorKind::Tool,
                message: problem,
                recoverable: true,
            });
        }
    });
}

fn budget_of(a: &AgentConfig) -> Budget {
    Budget {
        tokens: a.max_tokens,
        tool_calls: a.max_tool_calls,
        wall_secs: a.max_wall_secs,
    }
}

type Turn = tokio::task::JoinHandle<Investigation>;

/// The session's investigations, as the router keeps them.
#[derive(Default)]
struct Turns {
    /// The last investigation, between turns.
    idle: Option<Investigation>,
    /// Branches left behind by forks, oldest first.
    branches: Vec<Investigation>,
    running: Option<(Turn, CancellationToken)>,
}

async fn router(
    shared: Arc<Shared>,
    mut ops: mpsc::UnboundedReceiver<Op>,
    repo_root: Option<PathBuf>,
) {
    let mut turns = Turns::default();
    loop {
        let op = tokio::select! {
            op = ops.recv() => op,
            inv = wait_turn(&mut turns.running), if turns.running.is_some() => {
                turns.running = None;
                match inv {
                    Ok(inv) => turns.idle = Some(inv),
                    Err(e) => shared.emit(Event::Error {
                        kind: ErrorKind::Internal,
                        message: format!("the investigation task failed: {e}"),
                        recoverable: true,
                    }),
                }
                continue;
            }
        };
        let Some(op) = op else { break };
        shared.record(RecordBody::Op { op: op.clone() });
        if !turns.handle(&shared, op, repo_root.as_deref()) {
            break;
        }
    }
    if let Some((turn, cancel)) = turns.running {
        cancel.cancel();
        let _ = turn.await;
    }
}

impl Turns {
    /// Carry out one op; false when the session should end.
    fn handle(
        &mut self,
        shared: &Arc<Shared>,
        op: Op,
        repo_root: Option<&std::path::Path>,
    ) -> bool {
        match op {
            Op::Shutdown => return false,
            Op::Submit { text } if self.running.is_some() => shared.queue_feedback(text),
            Op::Submit { text } => self.submit(shared, text),
            Op::Feedback { text } => shared.queue_feedback(text),
            Op::Cancel => {
                if let Some((_, cancel)) = &self.running {
                    cancel.cancel();
                }
            }
            Op::Continue => self.resume(shared),
            Op::Rewind { checkpoint } => self.rewind(shared, checkpoint),
            Op::Fork { checkpoint } => self.fork(shared, checkpoint),
            op @ (Op::Approve { .. } | Op::Reject { .. } | Op::EditAction { .. }) => {
                decide(shared, &op, repo_root);
            }
            Op::Remember { text } => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    super::learn::propose_correction(&shared, &text, "user").await;
                });
            }
            Op::ConfirmMemory { memory, text } => {
                let shared = shared.clone();
                tokio::spawn(async move { super::learn::confirm(&shared, &memory, text).await });
            }
            Op::DiscardMemory { memory } => {
                let shared = shared.clone();
                tokio::spawn(async move { super::learn::discard(&shared, &memory).await });
            }
            Op::Rate { helpful } => {
                let shared = shared.clone();
                tokio::spawn(async move { super::learn::rate(&shared, helpful).await });
            }
        }
        true
    }

    fn submit(&mut self, shared: &Arc<Shared>, text: String) {
        let (pb, reason) = playbook::route(&text);
        let inv = match self.idle.take() {
            // A follow-up keeps the conversation (and its budget) going.
            Some(mut prev) if shared.llm.is_some() && !prev.messages.is_empty() => {
                prev.request = text.clone();
                prev.exhausted = false;
                prev.messages
                    .push(crate::llm::chat::ChatMessage::user(text.clone()));
                prev
            }
            _ => Investigation::new(pb, text.clone(), budget_of(&shared.agent)),
        };
        shared.emit(Event::PlaybookChosen {
            playbook: inv.playbook,
            reason,
        });
        self.running = Some(spawn_turn(shared.clone(), inv));
    }

    /// `continue`: the stopped investigation gets another budget on top of what it used.
    fn resume(&mut self, shared: &Arc<Shared>) {
        match self.idle.take() {
            Some(mut inv) if self.running.is_none() => {
                let base = budget_of(&shared.agent);
                inv.limit = Budget {
                    tokens: inv.usage.tokens() + base.tokens,
                    tool_calls: inv.usage.tool_calls + base.tool_calls,
                    wall_secs: inv.usage.wall_ms / 1000 + base.wall_secs,
                };
                inv.exhausted = false;
                if inv
                    .messages
                    .last()
                    .is_some_and(|m| m.role != crate::llm::chat::Role::User)
                {
                    inv.messages.push(crate::llm::chat::ChatMessage::user(
                        "Continue the investigation from where it stopped.",
                    ));
                }
                self.running = Some(spawn_turn(shared.clone(), inv));
            }
            other => {
                self.idle = other;
                shared.emit(Event::Error {
                    kind: ErrorKind::Budget,
                    message: "nothing to continue: no stopped investigation".into(),
                    recoverable: true,
                });
            }
        }
    }

    fn rewind(&mut self, shared: &Shared, checkpoint: u64) {
        match (&mut self.idle, &self.running) {
            (Some(inv), None) if inv.has_checkpoint(checkpoint) => {
                inv.rewind(checkpoint);
                shared.emit(Event::Rewound { checkpoint });
            }
            _ => self.refuse(shared, "rewind to", checkpoint),
        }
    }

    /// Continue from a checkpoint on a new branch; the current one is kept.
    fn fork(&mut self, shared: &Shared, checkpoint: u64) {
        match (&self.idle, &self.running) {
            (Some(inv), None) if inv.has_checkpoint(checkpoint) => {
                let mut branch = inv.clone();
                branch.rewind(checkpoint);
                if let Some(old) = self.idle.replace(branch) {
                    self.branches.push(old);
                }
                shared.emit(Event::Forked {
                    checkpoint,
                    kept_branch: self.branches.len(),
                });
            }
            _ => self.refuse(shared, "fork from", checkpoint),
        }
    }

    fn refuse(&self, shared: &Shared, what: &str, checkpoint: u64) {
        shared.emit(Event::Error {
            kind: ErrorKind::Internal,
            message: format!(
                "cannot {what} checkpoint {checkpoint}: {}",
                if self.running.is_some() {
                    "cancel the running investigation first"
                } else {
                    "no such checkpoint"
                }
            ),
            recoverable: true,
        });
    }
}

async fn wait_turn(
    running: &mut Option<(Turn, CancellationToken)>,
) -> Result<Investigation, tokio::task::JoinError> {
    match running {
        Some((turn, _)) => turn.await,
        None => std::future::pending().await,
    }
}

fn spawn_turn(shared: Arc<Shared>, mut inv: Investigation) -> (Turn, CancellationToken) {
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let handle = tokio::spawn(async move {
        run_turn(&shared, &mut inv, &token).await;
        inv
    });
    (handle, cancel)
}

async fn run_turn(shared: &Shared, inv: &mut Investigation, cancel: &CancellationToken) {
    let mut exec = Exec::new(shared, inv, cancel);
    if exec.inv.checkpoints.is_empty() && exec.inv.usage.tool_calls == 0 {
        super::planner::recall::at_start(&mut exec).await;
    }
    let result = match &shared.llm {
        Some(llm) => llm_loop::run(&mut exec, llm).await,
        None => planner::run(&mut exec).await,
    };
    let (status, answer) = match result {
        Ok(answer) => (TurnStatus::Answered, Some(answer)),
        Err(stop) => {
            let (status, why) = match &stop {
                Stop::Cancelled => (TurnStatus::Cancelled, "cancelled".to_string()),
                Stop::Budget(why) => (TurnStatus::BudgetExhausted, why.clone()),
                Stop::Failed(why) => (TurnStatus::Failed, why.clone()),
            };
            match &stop {
                Stop::Budget(why) => exec.emit(Event::Error {
                    kind: ErrorKind::Budget,
                    message: format!("{why}; `continue` extends it"),
                    recoverable: true,
                }),
                Stop::Failed(why) => exec.emit(Event::Error {
                    kind: ErrorKind::Llm,
                    message: why.clone(),
                    recoverable: false,
                }),
                Stop::Cancelled => {}
            }
            exec.partial_checkpoint(&why);
            exec.inv.exhausted = matches!(stop, Stop::Budget(_));
            (status, None)
        }
    };
    exec.emit_budget();
    if status == TurnStatus::Answered {
        let episode = super::learn::record_episode(&exec).await;
        let last_memory = exec.inv.planner.from_memory.clone().or(episode);
        shared.set_learned(Learned {
            scope: super::learn::suggested_scope(exec.inv),
            last_memory,
        });
    }
    exec.emit(Event::TurnComplete { status, answer });
    if status == TurnStatus::Answered {
        super::learn::propose_procedure(shared, exec.inv).await;
    }
}

/// An edit of a proposed tool call (another program's tool, not a command line) is
/// refused with an error saying what to do instead; true when `op` was one.
fn refuse_tool_call_edit(shared: &Shared, op: &Op) -> bool {
    let Op::EditAction { action, .. } = op else {
        return false;
    };
    if !shared.external_calls.contains(*action) {
        return false;
    }
    shared.emit(Event::Error {
        kind: ErrorKind::Action,
        message: format!(
            "action {action} is a tool call, not a command line, and cannot be edited; reject it with the change you want as the reason"
        ),
        recoverable: true,
    });
    true
}

/// An approval decision: emit it, audit it, and run an approved command.
fn decide(shared: &Arc<Shared>, op: &Op, repo_root: Option<&std::path::Path>) {
    if refuse_tool_call_edit(shared, op) {
        return;
    }
    let (proposal, outcome) = match shared.actions.lock() {
        Ok(mut q) => {
            let id = match op {
                Op::Approve { action, .. }
                | Op::Reject { action, .. }
                | Op::EditAction { action, .. } => *action,
                _ => return,
            };
            (q.get(id).cloned(), q.decide(op))
        }
        Err(_) => return,
    };
    let outcome: DecisionOutcome = match (proposal.as_ref(), outcome) {
        (Some(_), Ok(o)) => o,
        (_, Err(e)) => {
            shared.emit(Event::Error {
                kind: ErrorKind::Action,
                message: e.to_string(),
                recoverable: true,
            });
            return;
        }
        (None, Ok(_)) => return,
    };
    let Some(proposal) = proposal else { return };
    shared.emit(Event::ActionDecided {
        action: outcome.action,
        decision: outcome.decision.clone(),
    });
    let record = AuditRecord::decided(&shared.id, &proposal, &outcome.decision);
    shared.audit(&shared.at_rest(record.clone()));
    if let Decision::Rejected { reason } = &outcome.decision {
        shared.queue_feedback(format!("I rejected `{}`: {reason}", proposal.command));
        // The reason is a rule worth keeping: proposed, for one key to confirm.
        let shared = shared.clone();
        let reason = reason.clone();
        let source = format!("user: rejected `{}`", proposal.command);
        tokio::spawn(async move {
            super::learn::propose_correction(&shared, &reason, &source).await;
        });
    }
    // A decided tool call leaves the pending table whatever the decision was.
    let external_call = shared.external_calls.take(outcome.action);
    let command = match outcome.next {
        NextStep::Run(command) => command,
        NextStep::Propose(p) => {
            shared.emit(Event::ActionProposed { action: p });
            return;
        }
        NextStep::Skip => return,
    };
    let cwd = repo_root
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let shared = shared.clone();
    let action = outcome.action;
    tokio::spawn(async move {
        let timeout = Duration::from_secs(shared.agent.tool_timeout_secs.max(30));
        let out = match (external_call, &shared.external) {
            (Some((name, args)), Some(ext)) => {
                super::external::run_approved(ext.as_ref(), &proposal, &name, &args, timeout).await
            }
            (Some(_), None) => Err("the tool's server is no longer available".to_string()),
            (None, _) => super::actions::execute(&command, &shared.exec_env, &cwd, timeout)
                .await
                .map_err(|e| e.to_string()),
        };
        let out = match out {
            Ok(out) => out,
            Err(message) => {
                shared.emit(Event::Error {
                    kind: ErrorKind::Action,
                    message,
                    recoverable: true,
                });
                return;
            }
        };
        shared.audit(&shared.at_rest(record.with_execution(&out)));
        if let Ok(mut obs) = shared.observations.lock() {
            obs.push(format!(
                "The engineer approved and ran `{command}` (exit {}):\n{}{}",
                out.exit_code.map_or("none".to_string(), |c| c.to_string()),
                out.stdout,
                out.stderr
            ));
        }
        shared.emit(Event::ActionOutput {
            action,
            command,
            exit_code: out.exit_code,
            stdout: out.stdout,
            stderr: out.stderr,
            duration_ms: out.duration_ms,
        });
    });
}
