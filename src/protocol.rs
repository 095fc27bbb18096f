//! The one bus between the user and the agent.
//!
//! Views (the TUI, `triage ask`, the trace writer) send [`Op`]s and consume [`Event`]s;
//! only the agent task turns Ops into work. Everything here is plain data: serde-tagged
//! with a `type` field, no I/O, so a session can be replayed from its JSONL trace.

pub mod watch;

use serde::{Deserialize, Serialize};

/// Identifies a tool call within a session (`c1`, `c2`, … or the LLM's own call id).
pub type CallId = String;
/// Identifies a proposed action within a session.
pub type ActionId = u64;
/// Identifies a checkpoint within a session.
pub type CheckpointId = u64;

/// What the user asks of the agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Op {
    /// Start an investigation (or a follow-up question in the same session).
    Submit { text: String },
    /// Steer a running investigation; applied before its next planning step.
    Feedback { text: String },
    /// Stop now; in-flight requests are dropped and a checkpoint is kept.
    Cancel,
    /// Resume after a budget stop, with a fresh allowance of the same size.
    Continue,
    /// Run a proposed action.
    Approve {
        action: ActionId,
        scope: ApprovalScope,
    },
    /// Refuse a proposed action; the reason is kept (and can become a memory).
    Reject { action: ActionId, reason: String },
    /// Replace a proposed action's command; the edited command is classified again and
    /// proposed anew, never run directly.
    EditAction { action: ActionId, command: String },
    /// Go back to a checkpoint: later observations are dropped from the context.
    Rewind { checkpoint: CheckpointId },
    /// Branch from a checkpoint: the investigation so far is kept as a branch, and a copy
    /// rewound to the checkpoint becomes the active one.
    Fork { checkpoint: CheckpointId },
    /// `/remember …`: a rule to keep; it becomes a proposed correction to confirm.
    Remember { text: String },
    /// Keep a proposed memory (with the text edited, when given).
    ConfirmMemory {
        memory: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// Drop a proposed memory.
    DiscardMemory { memory: String },
    /// Rate the last answer: a signal for the memory it came from or made, not a verdict.
    Rate { helpful: bool },
    /// End the session.
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalScope {
    /// This action only.
    Once,
    /// This action and, for the rest of the session, later proposals of the same family:
    /// reads with the same program and verb, or the identical write.
    Session,
}

/// What the agent reports. Views render these and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    SessionStarted {
        session: String,
        /// Repository root, when launched inside one.
        repo: Option<String>,
        /// `None` means the offline planner.
        model: Option<String>,
        /// Kube context, `replay:<file>`, or `None` when no cluster is readable.
        cluster: Option<String>,
        namespace: Option<String>,
        read_only: bool,
        budget: Budget,
    },
    /// A playbook was chosen for the request, and why.
    PlaybookChosen {
        playbook: Playbook,
        reason: String,
    },
    /// Streaming answer text.
    TokenDelta {
        text: String,
    },
    /// A complete assistant message (the concatenation of its deltas).
    MessageDone {
        text: String,
    },
    ToolCallStarted {
        call: CallId,
        tool: String,
        arguments: serde_json::Value,
        /// The equivalent command a person could run (`triage search …`, `kubectl …`).
        command: String,
    },
    ToolCallFinished {
        call: CallId,
        tool: String,
        status: ToolStatus,
        duration_ms: u64,
        /// One line for the tools pane.
        summary: String,
        /// Whether the output was cut to the tool's cap before the model saw it.
        truncated: bool,
    },
    MemoryHit {
        memory: String,
        kind: String,
        score: f32,
        /// Why it matched: scope keys, words, similarity.
        why: String,
        /// Whether the answer relied on it (after verification).
        used: bool,
    },
    CheckpointSaved {
        checkpoint: Checkpoint,
    },
    /// The investigation went back to this checkpoint; later checkpoints no longer count.
    Rewound {
        checkpoint: CheckpointId,
    },
    /// A new branch starts from this checkpoint; the previous branch is kept (number
    /// `kept_branch`, counting from 1) in the session and its trace.
    Forked {
        checkpoint: CheckpointId,
        kept_branch: usize,
    },
    ActionProposed {
        action: ProposedAction,
    },
    ActionDecided {
        action: ActionId,
        decision: Decision,
    },
    ActionOutput {
        action: ActionId,
        command: String,
        exit_code: Option<i32>,
        stdout: String,
        stderr: String,
        duration_ms: u64,
    },
    FeedbackQueued {
        id: u64,
        text: String,
    },
    FeedbackApplied {
        id: u64,
    },
    /// A memory the agent suggests keeping (a correction from a rejection or
    /// `/remember`, a procedure from a steered session); stored as `proposed` until
    /// confirmed.
    MemoryProposed {
        memory: String,
        kind: String,
        text: String,
        /// The scope the agent suggests (`service=orders-worker alert=ConsumerLag`).
        scope: String,
        /// What it came from.
        source: String,
    },
    /// A memory changed status: `active` (confirmed), `discarded`, `rated`.
    MemoryUpdated {
        memory: String,
        status: String,
        detail: String,
    },
    BudgetUpdate {
        used: BudgetUsage,
        limit: Budget,
    },
    Error {
        kind: ErrorKind,
        message: String,
        recoverable: bool,
    },
    TurnComplete {
        status: TurnStatus,
        answer: Option<Answer>,
    },
    /// The changes around the alert's start, oldest first, that the diagnosis weighed.
    Timeline {
        /// When the alert started (RFC 3339), when known.
        start: Option<String>,
        entries: Vec<TimelineEntry>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Playbook {
    /// Alert text → findings → recent rollouts and commits → hypotheses → verify → action.
    Incident,
    /// Issue text → files → symbols → explanation.
    Issue,
    /// What is this service: workloads, code, owners, recent changes.
    Service,
    /// Anything else: the model picks tools freely.
    General,
}

impl Playbook {
    pub fn as_str(self) -> &'static str {
        match self {
            Playbook::Incident => "incident",
            Playbook::Issue => "issue",
            Playbook::Service => "service",
            Playbook::General => "general",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolStatus {
    Ok,
    Error,
    TimedOut,
    Cancelled,
}

/// Investigation stages, in the order a checkpoint normally reaches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    ScopeFound,
    EvidenceGathered,
    Hypothesis,
    Verified,
    SuggestedAction,
    /// Saved when a run stops early (budget, cancel, error): what was known so far.
    Partial,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::ScopeFound => "scope found",
            Stage::EvidenceGathered => "evidence gathered",
            Stage::Hypothesis => "hypothesis",
            Stage::Verified => "verified",
            Stage::SuggestedAction => "suggested action",
            Stage::Partial => "partial",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: CheckpointId,
    pub stage: Stage,
    pub summary: String,
    /// 0.0–1.0; views show it as low / medium / high with the number.
    pub confidence: f32,
    pub evidence: Vec<Evidence>,
    /// Tool calls made up to this point (what a rewind keeps).
    pub tool_calls: u32,
}

/// Something a checkpoint or answer rests on, pointing at where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub kind: EvidenceKind,
    /// `path:start-end`, a commit id, `Kind/namespace/name`, a memory id.
    pub reference: String,
    pub detail: String,
    /// The tool call that produced it.
    pub call: Option<CallId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    File,
    Commit,
    Finding,
    Resource,
    Log,
    Event,
    Memory,
    Note,
}

/// One change on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// RFC 3339.
    pub at: String,
    /// `rollout`, `restart`, `created`, `modified`, `scaled`, `job`, `commit`, `node`,
    /// `first warning`.
    pub kind: String,
    /// The object (`Kind/namespace/name`) or `commit <id>`.
    pub reference: String,
    pub what: String,
    /// Touches the target or something it depends on.
    pub relevant: bool,
}

/// How sure the agent is, in words a tired reader can take in at a glance. "high" starts
/// where the diagnosis's own gates start (0.8: a fresh read confirmed the cause), so an
/// answer held just below them never reads as high.
pub fn confidence_label(confidence: f32) -> &'static str {
    if confidence >= 0.8 {
        "high"
    } else if confidence >= 0.45 {
        "medium"
    } else {
        "low"
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedAction {
    pub id: ActionId,
    pub command: String,
    pub class: ActionClass,
    /// Why the class was chosen (`kubectl rollout undo changes the cluster`).
    pub class_reason: String,
    pub rationale: String,
    /// Whether read-only mode will refuse it if approved.
    pub blocked_by_read_only: bool,
    /// Why it can never run (shell syntax, an environment assignment, hidden characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What approving it for the session covers: a read's program and verb
    /// (`kubectl get pods`), or a write's exact command.
    #[serde(default)]
    pub family: String,
    /// The action whose approval for the session covers this one; it is then approved
    /// without asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preapproved_by: Option<ActionId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionClass {
    Read,
    Write,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Approved {
        scope: ApprovalScope,
    },
    Rejected {
        reason: String,
    },
    /// Replaced by a new proposal with this id.
    Edited {
        replaced_by: ActionId,
    },
    /// Approved, but not run: read-only mode, or the command no longer parses.
    Refused {
        why: String,
    },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub tokens: u64,
    pub tool_calls: u32,
    pub wall_secs: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Whether some counts are estimates (the server sent no usage).
    pub estimated: bool,
    pub tool_calls: u32,
    pub wall_ms: u64,
}

impl BudgetUsage {
    pub fn tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The model endpoint failed (HTTP, timeout, cut stream) after retries.
    Llm,
    /// The model answered something unusable (bad tool arguments, unknown tool).
    ModelOutput,
    Tool,
    Cluster,
    Index,
    Action,
    Budget,
    /// The memory database could not be read or written; the investigation goes on.
    Memory,
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TurnStatus {
    Answered,
    BudgetExhausted,
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    pub confidence: f32,
    pub evidence: Vec<Evidence>,
    /// Memory ids the answer relied on.
    pub memories: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_and_events_round_trip_with_a_type_tag() {
        let op = Op::Approve {
            action: 3,
            scope: ApprovalScope::Session,
        };
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["type"], "approve");
        assert_eq!(json["scope"], "session");
        assert_eq!(serde_json::from_value::<Op>(json).unwrap(), op);

        let ev = Event::ActionDecided {
            action: 3,
            decision: Decision::Rejected {
                reason: "backfill".into(),
            },
        };
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["type"], "action_decided");
        assert_eq!(json["decision"]["decision"], "rejected");
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), ev);
    }

    #[test]
    fn confidence_labels_have_fixed_edges() {
        assert_eq!(confidence_label(0.9), "high");
        assert_eq!(confidence_label(0.8), "high");
        assert_eq!(confidence_label(0.79), "medium");
        assert_eq!(confidence_label(0.5), "medium");
        assert_eq!(confidence_label(0.2), "low");
    }
}
