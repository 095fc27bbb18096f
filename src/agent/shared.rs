//! What a session's turns, its router and its learning share: the tools and their
//! context, the model, the redactor, the approval queue, queued feedback, the event and
//! trace sinks, and what the last investigation taught.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tokio::sync::mpsc;

use super::actions::{ApprovalQueue, Classification};
use super::audit::{AuditLog, AuditRecord};
use super::external::tool::{ExternalTool, ExternalTools, PendingCalls};
use super::tools::{ToolContext, ToolSpec};
use crate::config::AgentConfig;
use crate::llm::chat::{FunctionDefinition, LlmClient, ToolDefinition};
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

/// The tools from outside triage (MCP servers), as the model-driven loop offers and calls them.
impl Shared {
    /// The model's view of the external tools.
    pub async fn external_definitions(&self) -> Vec<ToolDefinition> {
        let Some(ext) = self.external.as_ref() else {
            return Vec::new();
        };
        ext.tools()
            .await
            .into_iter()
            .map(|t| ToolDefinition {
                kind: "function",
                function: FunctionDefinition {
                    description: if t.read_only {
                        t.description
                    } else {
                        format!(
                            "{} (Changes things: calling it only proposes it to the engineer, who decides whether it runs.)",
                            t.description
                        )
                    },
                    name: t.name,
                    parameters: t.parameters,
                },
            })
            .collect()
    }

    /// The external tool called `name`, when the session has one.
    pub async fn external_tool(&self, name: &str) -> Option<ExternalTool> {
        let ext = self.external.as_ref()?;
        ext.tools().await.into_iter().find(|t| t.name == name)
    }

    /// A call of a tool that is not read-only: propose it as a write action.
    pub fn propose_external(&self, tool: &ExternalTool, args: Value) -> String {
        let Some(ext) = self.external.as_ref() else {
            return "error: external tools are not available".into();
        };
        let command = ext.command(&tool.name, &args);
        let reason = format!(
            "{} is not marked read-only by its server (readOnlyHint), so it is treated as a write",
            tool.origin
        );
        let rationale = format!("the agent called {} ({})", tool.name, tool.origin);
        let proposal = match self.actions.lock() {
            Ok(mut q) => q.propose_classified(
                &command,
                &rationale,
                Classification::write_call(&command, reason),
            ),
            Err(_) => return "error: could not record the proposal".into(),
        };
        self.external_calls
            .insert(proposal.id, tool.name.clone(), args);
        let id = proposal.id;
        let preapproved = proposal.preapproved_by.is_some();
        self.emit(crate::protocol::Event::ActionProposed { action: proposal });
        // The same call approved earlier for the session runs without asking again.
        if preapproved {
            self.approve_for_session(id);
        }
        format!(
            "{} changes things, so it was proposed as action {id} (write); the engineer decides whether it runs. Do not assume it ran.",
            tool.name
        )
    }
}
