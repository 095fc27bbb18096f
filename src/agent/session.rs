//! A session: the task that owns the agent. It receives [`Op`]s, runs turns (model or
//! offline planner), handles approvals, and emits [`Event`]s to the view and the trace.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::actions::{ApprovalQueue, DecisionOutcome, NextStep};
use super::audit::{AuditLog, AuditRecord};
use super::exec::{Exec, Investigation, Stop};
use super::external::{ExternalTools, PendingCalls};
use super::llm::LlmClient;
use super::redact::Redactor;
use super::tools::{ToolContext, ToolSpec};
use super::{llm_loop, planner, playbook};
use crate::config::{AgentConfig, LoadedConfig};
use crate::kube::source::ClusterSource;
use crate::protocol::{Answer, Budget, Decision, ErrorKind, Event, Op, Stage, TurnStatus};
use crate::trace::{RecordBody, TraceWriter};

/// What a session runs against.
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

/// State every turn and the router share.
pub struct Shared {
    pub id: String,
    pub tools: ToolContext,
    pub specs: Vec<ToolSpec>,
    pub llm: Option<LlmClient>,
    pub redactor: Arc<Redactor>,
    pub agent: AgentConfig,
    pub feedback: Mutex<VecDeque<(u64, String)>>,
    pub observations: Mutex<Vec<String>>,
    pub actions: Mutex<ApprovalQueue>,
    /// Tools other programs serve, and the calls of them waiting for a decision.
    pub external: Option<Arc<dyn ExternalTools>>,
    pub external_calls: PendingCalls,
    learned: Mutex<super::learn::Learned>,
    events: mpsc::UnboundedSender<Event>,
    /// The session's own op queue, for decisions an earlier approval already made
    /// (weak: the session ends when the view drops its sender).
    own_ops: mpsc::WeakUnboundedSender<Op>,
    trace: Option<TraceWriter>,
    audit: Option<AuditLog>,
    exec_env: Vec<(String, String)>,
    feedback_seq: AtomicU64,
    call_seq: AtomicU64,
}

impl Shared {
    pub fn emit(&self, event: Event) {
        if let Some(t) = &self.trace {
            t.write(RecordBody::Event {
                event: event.clone(),
            });
        }
        let _ = self.events.send(event);
    }

    /// Approve a proposal that an approval for the session already covers; it is decided
    /// in order with the user's own decisions, and audited as pre-approved.
    pub fn approve_for_session(&self, action: crate::protocol::ActionId) {
        if let Some(ops) = self.own_ops.upgrade() {
            let _ = ops.send(Op::Approve {
                action,
                scope: crate::protocol::ApprovalScope::Session,
            });
        }
    }

    /// The next tool-call number of the session, from 1.
    pub fn next_call_seq(&self) -> u64 {
        self.call_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// What the session learned about its last investigation.
    pub fn learned(&self) -> super::learn::Learned {
        self.learned.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn record(&self, body: RecordBody) {
        if let Some(t) = &self.trace {
            t.write(body);
        }
    }

    /// An audit record as it may be stored: redacted, unless the user keeps raw output.
    fn at_rest(&self, record: AuditRecord) -> AuditRecord {
        if self.agent.keep_raw_output {
            record
        } else {
            record.redacted(&self.redactor)
        }
    }

    fn audit(&self, record: &AuditRecord) {
        if let Some(a) = &self.audit
            && let Err(e) = a.append(record)
        {
            self.emit(Event::Error {
                kind: ErrorKind::Action,
                message: format!("cannot write the audit log: {e}"),
                recoverable: true,
            });
        }
    }

    fn queue_feedback(&self, text: String) {
        let id = self.feedback_seq.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut q) = self.feedback.lock() {
            q.push_back((id, text.clone()));
        }
        self.emit(Event::FeedbackQueued { id, text });
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
        .map(|l| l.model(super::llm::Tier::Main).to_string());
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
        specs: super::tools::specs(&cfg.config.config),
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

async fn router(
    shared: Arc<Shared>,
    mut ops: mpsc::UnboundedReceiver<Op>,
    repo_root: Option<PathBuf>,
) {
    let mut idle: Option<Investigation> = None;
    // Branches left behind by forks, oldest first.
    let mut branches: Vec<Investigation> = Vec::new();
    let mut running: Option<(Turn, CancellationToken)> = None;
    loop {
        let op = tokio::select! {
            op = ops.recv() => op,
            inv = wait_turn(&mut running), if running.is_some() => {
                running = None;
                match inv {
                    Ok(inv) => idle = Some(inv),
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
        match op {
            Op::Shutdown => break,
            Op::Submit { text } if running.is_some() => shared.queue_feedback(text),
            Op::Submit { text } => {
                let (pb, reason) = playbook::route(&text);
                let inv = match idle.take() {
                    // A follow-up keeps the conversation (and its budget) going.
                    Some(mut prev) if shared.llm.is_some() && !prev.messages.is_empty() => {
                        prev.request = text.clone();
                        prev.exhausted = false;
                        prev.messages
                            .push(super::llm::ChatMessage::user(text.clone()));
                        prev
                    }
                    _ => Investigation::new(pb, text.clone(), budget_of(&shared.agent)),
                };
                shared.emit(Event::PlaybookChosen {
                    playbook: inv.playbook,
                    reason,
                });
                running = Some(spawn_turn(shared.clone(), inv));
            }
            Op::Feedback { text } => shared.queue_feedback(text),
            Op::Cancel => {
                if let Some((_, cancel)) = &running {
                    cancel.cancel();
                }
            }
            Op::Continue => match idle.take() {
                Some(mut inv) if running.is_none() => {
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
                        .is_some_and(|m| m.role != super::llm::Role::User)
                    {
                        inv.messages.push(super::llm::ChatMessage::user(
                            "Continue the investigation from where it stopped.",
                        ));
                    }
                    running = Some(spawn_turn(shared.clone(), inv));
                }
                other => {
                    idle = other;
                    shared.emit(Event::Error {
                        kind: ErrorKind::Budget,
                        message: "nothing to continue: no stopped investigation".into(),
                        recoverable: true,
                    });
                }
            },
            Op::Rewind { checkpoint } => match (&mut idle, &running) {
                (Some(inv), None) if inv.has_checkpoint(checkpoint) => {
                    inv.rewind(checkpoint);
                    shared.emit(Event::Rewound { checkpoint });
                }
                _ => shared.emit(Event::Error {
                    kind: ErrorKind::Internal,
                    message: format!(
                        "cannot rewind to checkpoint {checkpoint}: {}",
                        if running.is_some() {
                            "cancel the running investigation first"
                        } else {
                            "no such checkpoint"
                        }
                    ),
                    recoverable: true,
                }),
            },
            Op::Fork { checkpoint } => match (&idle, &running) {
                (Some(inv), None) if inv.has_checkpoint(checkpoint) => {
                    let mut branch = inv.clone();
                    branch.rewind(checkpoint);
                    if let Some(old) = idle.replace(branch) {
                        branches.push(old);
                    }
                    shared.emit(Event::Forked {
                        checkpoint,
                        kept_branch: branches.len(),
                    });
                }
                _ => shared.emit(Event::Error {
                    kind: ErrorKind::Internal,
                    message: format!(
                        "cannot fork from checkpoint {checkpoint}: {}",
                        if running.is_some() {
                            "cancel the running investigation first"
                        } else {
                            "no such checkpoint"
                        }
                    ),
                    recoverable: true,
                }),
            },
            op @ (Op::Approve { .. } | Op::Reject { .. } | Op::EditAction { .. }) => {
                decide(&shared, &op, repo_root.as_deref());
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
    }
    if let Some((turn, cancel)) = running {
        cancel.cancel();
        let _ = turn.await;
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
        super::recall::at_start(&mut exec).await;
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
        let episode = record_episode(&exec).await;
        let last_memory = exec.inv.planner.from_memory.clone().or(episode);
        if let Ok(mut l) = shared.learned.lock() {
            *l = super::learn::Learned {
                scope: super::learn::suggested_scope(exec.inv),
                last_memory,
            };
        }
    }
    exec.emit(Event::TurnComplete { status, answer });
    if status == TurnStatus::Answered {
        super::learn::propose_procedure(shared, exec.inv).await;
    }
}

/// A finished investigation becomes an episodic memory on its own: the trigger, its
/// scope, the hypothesis it reached, the suggested action and what it cost. Only
/// investigations that reached a hypothesis are kept; the outcome is unknown until a
/// later investigation confirms it, so the episode's confidence is discounted.
async fn record_episode(exec: &Exec<'_>) -> Option<String> {
    let inv = &*exec.inv;
    // An answer a memory gave was recorded on that memory.
    if inv.planner.from_memory.is_some() {
        return None;
    }
    let hypothesis = inv
        .checkpoints
        .iter()
        .rev()
        .map(|c| &c.checkpoint)
        .find(|c| c.stage == Stage::Hypothesis)?;
    let verified = inv
        .checkpoints
        .iter()
        .rev()
        .map(|c| &c.checkpoint)
        .find(|c| c.stage == Stage::Verified)
        .map(|c| c.summary.clone());
    let Ok(store) = exec.shared.tools.memory().await else {
        return None;
    };
    let best = inv.best_confidence().unwrap_or(hypothesis.confidence);
    let suggested = inv
        .checkpoints
        .iter()
        .rev()
        .map(|c| &c.checkpoint)
        .find(|c| c.stage == Stage::SuggestedAction)
        .map(|c| c.summary.clone());
    let scope = super::learn::suggested_scope(inv);
    let cut = |s: &str| -> String {
        let s = s.split(" (log:").next().unwrap_or(s);
        s.chars().take(160).collect()
    };
    let request = inv.request.lines().next().unwrap_or("").trim().to_string();
    let mut text = format!(
        "{request} → {} (confidence {best:.2})",
        cut(&hypothesis.summary)
    );
    if let Some(v) = verified {
        text.push_str(&format!("; checked: {}", cut(&v)));
    }
    if let Some(s) = suggested {
        text.push_str(&format!("; {}", cut(&s)));
    }
    text.push_str(&format!(
        "; {} tool calls, {} ms",
        inv.usage.tool_calls, inv.usage.wall_ms
    ));
    let mut m = crate::memory::Memory::new(
        crate::memory::MemoryKind::Episodic,
        text,
        scope,
        &format!("session:{}", exec.shared.id),
    );
    // What the offline planner concluded, in a form the next investigation can check
    // with one read.
    if let (Some(t), Some(h)) = (&inv.planner.target, &inv.planner.hypothesis)
        && h.check != crate::memory::Check::None
    {
        m.claim = Some(crate::memory::Claim {
            resource: t.reference(),
            hypothesis: cut(&h.text),
            check: h.check.clone(),
            actions: h.actions.clone(),
            expected: false,
        });
    }
    // One episode per alert and workload: the same investigation again (at another
    // time of day) replaces it.
    let key: String = request
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect();
    m.id = format!(
        "ep-{}",
        &blake3::hash(format!("{}\n{key}", m.scope.service.as_deref().unwrap_or("")).as_bytes())
            .to_hex()[..8]
    );
    m.confidence = (best * 0.8).clamp(0.05, 0.9);
    if let Err(e) = store.upsert(std::slice::from_ref(&m)).await {
        tracing::warn!("cannot record the episode: {e}");
        return None;
    }
    Some(m.id)
}

/// An approval decision: emit it, audit it, and run an approved command.
fn decide(shared: &Arc<Shared>, op: &Op, repo_root: Option<&std::path::Path>) {
    if let Op::EditAction { action, .. } = op
        && shared.external_calls.contains(*action)
    {
        shared.emit(Event::Error {
            kind: ErrorKind::Action,
            message: format!(
                "action {action} is a tool call, not a command line, and cannot be edited; reject it with the change you want as the reason"
            ),
            recoverable: true,
        });
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

/// The answer for a finished turn: text, the confidence of the best checkpoint, and the
/// evidence it rests on.
pub fn answer_from(exec: &Exec<'_>, text: String, confidence: Option<f32>) -> Answer {
    let confidence = confidence
        .or_else(|| exec.inv.best_confidence())
        .unwrap_or(0.3);
    let evidence = exec
        .inv
        .checkpoints
        .iter()
        .rev()
        .find(|c| c.checkpoint.stage != Stage::Partial)
        .map(|c| c.checkpoint.evidence.clone())
        .unwrap_or_default();
    Answer {
        text,
        confidence,
        evidence,
        memories: exec.inv.memories_used.clone(),
    }
}
