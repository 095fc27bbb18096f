//! The view's model of a session, built only from [`Event`]s (and the launcher's status).
//! [`AppState::apply`] is the reducer; panes render from this and nothing else.

mod status;
mod transcript;

pub use status::{ClusterState, IndexState, StatusInfo};
pub use transcript::Entry;

use crate::protocol::{
    ActionId, ApprovalScope, Budget, BudgetUsage, CallId, Checkpoint, Decision, ErrorKind, Event,
    Playbook, ProposedAction, ToolStatus, TurnStatus,
};
use crate::tui::widgets::markdown::render_markdown;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunState {
    #[default]
    Idle,
    Running,
    /// The last turn ended without an answer (budget, cancel, failure).
    Stopped(TurnStatus),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolState {
    Running,
    Finished(ToolStatus),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolRow {
    pub call: CallId,
    pub tool: String,
    /// The equivalent command a person could run.
    pub command: String,
    pub arguments: serde_json::Value,
    pub state: ToolState,
    pub duration_ms: Option<u64>,
    pub summary: Option<String>,
    pub truncated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryRow {
    pub memory: String,
    pub kind: String,
    pub score: f32,
    pub why: String,
    pub used: bool,
}

/// A decision the user made here and sent, before the agent confirms it.
#[derive(Debug, Clone, PartialEq)]
pub enum SentDecision {
    Approve(ApprovalScope),
    Reject(String),
    Edit(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ActionRow {
    pub proposal: ProposedAction,
    pub decision: Option<Decision>,
    pub sent: Option<SentDecision>,
    pub outcome: Option<ActionOutcome>,
}

impl ActionRow {
    /// Waiting for the user: neither decided by the agent nor answered here.
    pub fn is_pending(&self) -> bool {
        self.decision.is_none() && self.sent.is_none()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeedbackRow {
    pub id: u64,
    pub text: String,
    pub applied: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    pub kind: ErrorKind,
    pub message: String,
    pub recoverable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Info,
    Warning,
    Error,
}

/// A memory the agent proposes keeping.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryProposal {
    pub memory: String,
    pub kind: String,
    pub text: String,
    pub scope: String,
    pub source: String,
}

/// One line for the status bar, until the next key press.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String,
}

#[derive(Debug, Clone, Default)]
pub struct AppState {
    pub session: Option<String>,
    pub playbook: Option<Playbook>,
    pub transcript: Vec<Entry>,
    pub tools: Vec<ToolRow>,
    pub memory: Vec<MemoryRow>,
    /// Memories the agent proposes, waiting for keep / edit / discard.
    pub proposals: Vec<MemoryProposal>,
    pub checkpoints: Vec<Checkpoint>,
    pub actions: Vec<ActionRow>,
    pub feedback: Vec<FeedbackRow>,
    pub budget_limit: Option<Budget>,
    pub budget_used: BudgetUsage,
    pub status: StatusInfo,
    pub errors: Vec<ErrorRow>,
    pub run: RunState,
    pub notice: Option<Notice>,
    /// Spinner frame, advanced by ticks while a tool runs.
    pub spinner: usize,
    /// Index in `transcript` of the assistant message being streamed.
    streaming: Option<usize>,
}

impl AppState {
    pub fn new(status: StatusInfo) -> Self {
        Self {
            status,
            ..Self::default()
        }
    }

    /// The reducer: fold one agent event into the model.
    #[allow(clippy::too_many_lines)] // the reducer: one arm per Event
    pub fn apply(&mut self, ev: &Event) {
        match ev {
            Event::SessionStarted {
                session,
                repo,
                model,
                cluster,
                namespace,
                read_only,
                budget,
            } => {
                self.session = Some(session.clone());
                self.status.apply_session(
                    repo.as_deref(),
                    model.as_deref(),
                    cluster.as_deref(),
                    namespace.as_deref(),
                    *read_only,
                );
                self.budget_limit = Some(*budget);
            }
            Event::PlaybookChosen { playbook, reason } => {
                self.run = RunState::Running;
                self.playbook = Some(*playbook);
                self.push(Entry::Playbook {
                    playbook: *playbook,
                    reason: reason.clone(),
                });
            }
            Event::TokenDelta { text } => {
                self.run = RunState::Running;
                self.stream(text);
            }
            Event::MessageDone { text } => self.finish_message(text),
            Event::ToolCallStarted {
                call,
                tool,
                arguments,
                command,
            } => {
                self.run = RunState::Running;
                self.close_stream();
                self.tools.push(ToolRow {
                    call: call.clone(),
                    tool: tool.clone(),
                    command: command.clone(),
                    arguments: arguments.clone(),
                    state: ToolState::Running,
                    duration_ms: None,
                    summary: None,
                    truncated: false,
                });
                self.push(Entry::Tool { call: call.clone() });
            }
            Event::ToolCallFinished {
                call,
                tool,
                status,
                duration_ms,
                summary,
                truncated,
            } => {
                let idx = match self.tools.iter().position(|t| &t.call == call) {
                    Some(i) => i,
                    None => {
                        // A finish without a start (a resumed trace): show it anyway.
                        self.tools.push(ToolRow {
                            call: call.clone(),
                            tool: tool.clone(),
                            command: String::new(),
                            arguments: serde_json::Value::Null,
                            state: ToolState::Running,
                            duration_ms: None,
                            summary: None,
                            truncated: false,
                        });
                        self.push(Entry::Tool { call: call.clone() });
                        self.tools.len() - 1
                    }
                };
                let row = &mut self.tools[idx];
                row.state = ToolState::Finished(*status);
                row.duration_ms = Some(*duration_ms);
                row.summary = Some(summary.clone());
                row.truncated = *truncated;
            }
            Event::MemoryHit {
                memory,
                kind,
                score,
                why,
                used,
            } => {
                let row = MemoryRow {
                    memory: memory.clone(),
                    kind: kind.clone(),
                    score: *score,
                    why: why.clone(),
                    used: *used,
                };
                match self.memory.iter_mut().find(|m| &m.memory == memory) {
                    Some(existing) => *existing = row,
                    None => self.memory.push(row),
                }
            }
            Event::CheckpointSaved { checkpoint } => {
                self.close_stream();
                match self.checkpoints.iter_mut().find(|c| c.id == checkpoint.id) {
                    Some(existing) => *existing = checkpoint.clone(),
                    None => {
                        self.checkpoints.push(checkpoint.clone());
                        self.push(Entry::Checkpoint { id: checkpoint.id });
                    }
                }
            }
            Event::Forked {
                checkpoint,
                kept_branch,
            } => {
                self.close_stream();
                self.checkpoints.retain(|c| c.id <= *checkpoint);
                self.notify(
                    NoticeLevel::Info,
                    format!(
                        "forked from checkpoint {checkpoint} (previous branch kept as #{kept_branch}); continue to go on"
                    ),
                );
            }
            Event::Rewound { checkpoint } => {
                self.close_stream();
                // Later checkpoints no longer count; the transcript keeps them as history.
                self.checkpoints.retain(|c| c.id <= *checkpoint);
                self.notify(
                    NoticeLevel::Info,
                    format!("rewound to checkpoint {checkpoint}; continue to go on from there"),
                );
            }
            Event::ActionProposed { action } => {
                self.close_stream();
                self.actions.push(ActionRow {
                    proposal: action.clone(),
                    decision: None,
                    sent: None,
                    outcome: None,
                });
                self.push(Entry::Action { id: action.id });
            }
            Event::ActionDecided { action, decision } => {
                if let Some(row) = self.action_mut(*action) {
                    row.decision = Some(decision.clone());
                }
                self.push(Entry::Decision {
                    action: *action,
                    decision: decision.clone(),
                });
            }
            Event::ActionOutput {
                action,
                command,
                exit_code,
                stdout,
                stderr,
                duration_ms,
            } => {
                if let Some(row) = self.action_mut(*action) {
                    row.outcome = Some(ActionOutcome {
                        exit_code: *exit_code,
                        duration_ms: *duration_ms,
                    });
                }
                self.push(Entry::ActionOutput {
                    action: *action,
                    command: command.clone(),
                    exit_code: *exit_code,
                    stdout: stdout.clone(),
                    stderr: stderr.clone(),
                    duration_ms: *duration_ms,
                });
            }
            Event::FeedbackQueued { id, text } => {
                self.feedback.push(FeedbackRow {
                    id: *id,
                    text: text.clone(),
                    applied: false,
                });
                self.push(Entry::Feedback { id: *id });
            }
            Event::FeedbackApplied { id } => {
                if let Some(f) = self.feedback.iter_mut().find(|f| f.id == *id) {
                    f.applied = true;
                }
            }
            Event::MemoryProposed {
                memory,
                kind,
                text,
                scope,
                source,
            } => {
                self.proposals.retain(|p| &p.memory != memory);
                self.proposals.push(MemoryProposal {
                    memory: memory.clone(),
                    kind: kind.clone(),
                    text: text.clone(),
                    scope: scope.clone(),
                    source: source.clone(),
                });
            }
            Event::MemoryUpdated {
                memory,
                status,
                detail,
            } => {
                self.proposals.retain(|p| &p.memory != memory);
                self.notify(
                    NoticeLevel::Info,
                    format!("memory {memory} {status}: {detail}"),
                );
            }
            Event::BudgetUpdate { used, limit } => {
                self.budget_used = *used;
                self.budget_limit = Some(*limit);
            }
            Event::Error {
                kind,
                message,
                recoverable,
            } => {
                self.close_stream();
                self.errors.push(ErrorRow {
                    kind: *kind,
                    message: message.clone(),
                    recoverable: *recoverable,
                });
                self.push(Entry::Error {
                    kind: *kind,
                    message: message.clone(),
                    recoverable: *recoverable,
                });
                self.notice = Some(Notice {
                    level: if *recoverable {
                        NoticeLevel::Warning
                    } else {
                        NoticeLevel::Error
                    },
                    text: format!("{}: {message}", error_kind_label(*kind)),
                });
            }
            Event::Timeline { start, entries } => {
                self.close_stream();
                self.push(Entry::Timeline {
                    start: start.clone(),
                    entries: entries.clone(),
                });
            }
            Event::TurnComplete { status, answer } => {
                self.close_stream();
                self.run = match status {
                    TurnStatus::Answered => RunState::Idle,
                    other => RunState::Stopped(*other),
                };
                // Tools still marked running were cut off with the turn.
                for t in &mut self.tools {
                    if t.state == ToolState::Running {
                        t.state = ToolState::Finished(ToolStatus::Cancelled);
                    }
                }
                self.push(Entry::TurnEnd {
                    status: *status,
                    answer: answer.clone(),
                });
            }
        }
    }

    /// The user sent a message: it shows at once, before the agent answers.
    pub fn user_message(&mut self, text: &str) {
        self.close_stream();
        self.push(Entry::User {
            text: text.to_string(),
        });
        self.run = RunState::Running;
    }

    /// A run resumed with [`crate::protocol::Op::Continue`].
    pub fn resumed(&mut self) {
        self.run = RunState::Running;
    }

    pub fn is_running(&self) -> bool {
        self.run == RunState::Running
    }

    /// Whether anything animates (the spinner only turns while a tool runs).
    pub fn tool_running(&self) -> bool {
        self.tools.iter().any(|t| t.state == ToolState::Running)
    }

    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
    }

    pub fn action(&self, id: ActionId) -> Option<&ActionRow> {
        self.actions.iter().find(|a| a.proposal.id == id)
    }

    pub fn action_mut(&mut self, id: ActionId) -> Option<&mut ActionRow> {
        self.actions.iter_mut().find(|a| a.proposal.id == id)
    }

    pub fn pending_actions(&self) -> impl Iterator<Item = &ActionRow> {
        self.actions.iter().filter(|a| a.is_pending())
    }

    pub fn tool(&self, call: &str) -> Option<&ToolRow> {
        self.tools.iter().find(|t| t.call == call)
    }

    pub fn notify(&mut self, level: NoticeLevel, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
        });
    }

    fn push(&mut self, entry: Entry) {
        self.transcript.push(entry);
    }

    fn stream(&mut self, delta: &str) {
        if let Some(Entry::Assistant { text, done, lines }) =
            self.streaming.and_then(|i| self.transcript.get_mut(i))
            && !*done
        {
            text.push_str(delta);
            *lines = render_markdown(text);
            return;
        }
        self.push(Entry::assistant(delta.to_string(), false));
        self.streaming = Some(self.transcript.len() - 1);
    }

    fn finish_message(&mut self, full: &str) {
        if let Some(Entry::Assistant { text, done, lines }) = self
            .streaming
            .take()
            .and_then(|i| self.transcript.get_mut(i))
        {
            if !full.is_empty() {
                *text = full.to_string();
            }
            *done = true;
            *lines = render_markdown(text);
            return;
        }
        self.push(Entry::assistant(full.to_string(), true));
    }

    /// Something else happened mid-message: the next delta starts a new message.
    fn close_stream(&mut self) {
        if let Some(Entry::Assistant { done, .. }) = self
            .streaming
            .take()
            .and_then(|i| self.transcript.get_mut(i))
        {
            *done = true;
        }
    }
}

pub fn error_kind_label(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Llm => "model endpoint",
        ErrorKind::ModelOutput => "model output",
        ErrorKind::Tool => "tool",
        ErrorKind::Cluster => "cluster",
        ErrorKind::Index => "index",
        ErrorKind::Action => "action",
        ErrorKind::Budget => "budget",
        ErrorKind::Memory => "memory",
        ErrorKind::Internal => "internal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ActionClass, Stage};

    #[test]
    fn deltas_assemble_into_one_message_that_message_done_settles() {
        let mut s = AppState::default();
        s.apply(&Event::TokenDelta {
            text: "The back".into(),
        });
        s.apply(&Event::TokenDelta {
            text: "fill **saturates**".into(),
        });
        assert_eq!(s.transcript.len(), 1);
        match &s.transcript[0] {
            Entry::Assistant { text, done, .. } => {
                assert_eq!(text, "The backfill **saturates**");
                assert!(!done);
            }
            other => panic!("{other:?}"),
        }
        s.apply(&Event::MessageDone {
            text: "The backfill **saturates** the DB.".into(),
        });
        match &s.transcript[0] {
            Entry::Assistant { text, done, lines } => {
                assert_eq!(text, "The backfill **saturates** the DB.");
                assert!(done);
                assert_eq!(lines[0].text(), "The backfill saturates the DB.");
            }
            other => panic!("{other:?}"),
        }
        // The next delta is a new message.
        s.apply(&Event::TokenDelta {
            text: "Next".into(),
        });
        assert_eq!(s.transcript.len(), 2);
    }

    #[test]
    fn tools_run_then_finish_and_a_tool_call_closes_the_stream() {
        let mut s = AppState::default();
        s.apply(&Event::TokenDelta {
            text: "Checking".into(),
        });
        s.apply(&Event::ToolCallStarted {
            call: "c1".into(),
            tool: "kube_findings".into(),
            arguments: serde_json::json!({"namespace": "shop"}),
            command: "triage kube findings -n shop".into(),
        });
        assert!(s.tool_running() && s.is_running());
        s.apply(&Event::TokenDelta {
            text: "More".into(),
        });
        assert_eq!(s.transcript.len(), 3, "{:?}", s.transcript);
        s.apply(&Event::ToolCallFinished {
            call: "c1".into(),
            tool: "kube_findings".into(),
            status: ToolStatus::Ok,
            duration_ms: 840,
            summary: "3 findings".into(),
            truncated: false,
        });
        assert!(!s.tool_running());
        assert_eq!(s.tools[0].summary.as_deref(), Some("3 findings"));
    }

    #[test]
    fn actions_move_from_pending_to_decided() {
        let mut s = AppState::default();
        s.apply(&Event::ActionProposed {
            action: ProposedAction {
                id: 1,
                command: "kubectl rollout undo deploy/checkout-api -n shop".into(),
                class: ActionClass::Write,
                class_reason: "rollout undo changes the cluster".into(),
                rationale: "bad rollout".into(),
                blocked_by_read_only: true,
                refused: None,
                family: String::new(),
                preapproved_by: None,
            },
        });
        assert_eq!(s.pending_actions().count(), 1);
        s.action_mut(1).unwrap().sent = Some(SentDecision::Approve(ApprovalScope::Once));
        assert_eq!(s.pending_actions().count(), 0);
        s.apply(&Event::ActionDecided {
            action: 1,
            decision: Decision::Refused {
                why: "read-only mode".into(),
            },
        });
        assert!(matches!(
            s.actions[0].decision,
            Some(Decision::Refused { .. })
        ));
    }

    #[test]
    fn checkpoints_feedback_budget_and_turns() {
        let mut s = AppState::default();
        s.user_message("checkout-api 5xx since 14:05");
        assert!(s.is_running());
        let cp = Checkpoint {
            id: 1,
            stage: Stage::ScopeFound,
            summary: "checkout-api in shop".into(),
            confidence: 0.6,
            evidence: vec![],
            tool_calls: 1,
        };
        s.apply(&Event::CheckpointSaved {
            checkpoint: cp.clone(),
        });
        s.apply(&Event::CheckpointSaved {
            checkpoint: Checkpoint {
                confidence: 0.8,
                ..cp
            },
        });
        assert_eq!(s.checkpoints.len(), 1);
        assert_eq!(s.checkpoints[0].confidence, 0.8);
        s.apply(&Event::FeedbackQueued {
            id: 7,
            text: "ignore the canary".into(),
        });
        s.apply(&Event::FeedbackApplied { id: 7 });
        assert!(s.feedback[0].applied);
        s.apply(&Event::TurnComplete {
            status: TurnStatus::BudgetExhausted,
            answer: None,
        });
        assert_eq!(s.run, RunState::Stopped(TurnStatus::BudgetExhausted));
        s.resumed();
        assert!(s.is_running());
    }
}
