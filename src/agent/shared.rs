//! What a session's turns, its router and its learning share: the tools and their
//! context, the model, the redactor, the approval queue, queued feedback, the event and
//! trace sinks, and what the last investigation taught.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::actions::ApprovalQueue;
use super::audit::{AuditLog, AuditRecord};
use super::external::tool::{ExternalTools, PendingCalls};
use super::tools::{ToolContext, ToolSpec};
use crate::config::AgentConfig;
use crate::llm::chat::LlmClient;
use crate::llm::redact::Redactor;
use crate::memory::Scope;
use crate::protocol::{ActionId, ApprovalScope, ErrorKind, Event, Op};
use crate::trace::{RecordBody, TraceWriter};

/// What the session learned about the last investigation, for suggestions.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    /// The scope the last investigation was about.
    pub scope: Scope,
    /// The memory the last answer came from or was recorded as.
    pub last_memory: Option<String>,
}

/// State every turn and the router share.
pub struct Shared {
    pub id: String,
    pub tools: ToolContext,
    pub specs: Vec<ToolSpec>,
    pub llm: Option<LlmClient>,
    pub redactor: std::sync::Arc<Redactor>,
    pub agent: AgentConfig,
    pub feedback: Mutex<VecDeque<(u64, String)>>,
    pub observations: Mutex<Vec<String>>,
    pub actions: Mutex<ApprovalQueue>,
    /// Tools other programs serve, and the calls of them waiting for a decision.
    pub external: Option<std::sync::Arc<dyn ExternalTools>>,
    pub external_calls: PendingCalls,
    pub(super) learned: Mutex<Learned>,
    pub(super) events: mpsc::UnboundedSender<Event>,
    /// The session's own op queue, for decisions an earlier approval already made
    /// (weak: the session ends when the view drops its sender).
    pub(super) own_ops: mpsc::WeakUnboundedSender<Op>,
    pub(super) trace: Option<TraceWriter>,
    pub(super) audit: Option<AuditLog>,
    pub(super) exec_env: Vec<(String, String)>,
    pub(super) feedback_seq: AtomicU64,
    pub(super) call_seq: AtomicU64,
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
    pub fn approve_for_session(&self, action: ActionId) {
        if let Some(ops) = self.own_ops.upgrade() {
            let _ = ops.send(Op::Approve {
                action,
                scope: ApprovalScope::Session,
            });
        }
    }

    /// The next tool-call number of the session, from 1.
    pub fn next_call_seq(&self) -> u64 {
        self.call_seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// What the session learned about its last investigation.
    pub fn learned(&self) -> Learned {
        self.learned.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn set_learned(&self, learned: Learned) {
        if let Ok(mut l) = self.learned.lock() {
            *l = learned;
        }
    }

    pub fn record(&self, body: RecordBody) {
        if let Some(t) = &self.trace {
            t.write(body);
        }
    }

    /// An audit record as it may be stored: redacted, unless the user keeps raw output.
    pub fn at_rest(&self, record: AuditRecord) -> AuditRecord {
        if self.agent.keep_raw_output {
            record
        } else {
            record.redacted(&self.redactor)
        }
    }

    pub fn audit(&self, record: &AuditRecord) {
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

    pub fn queue_feedback(&self, text: String) {
        let id = self.feedback_seq.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut q) = self.feedback.lock() {
            q.push_back((id, text.clone()));
        }
        self.emit(Event::FeedbackQueued { id, text });
    }
}
