//! One investigation's state and the executor both planners (model and offline) share:
//! every tool call, checkpoint, proposal and feedback step goes through here, so budgets,
//! cancellation, events and the trace behave the same either way.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::external::tool::ExternalTools;
use super::shared::Shared;
use super::tools::{self, ToolData, ToolError, ToolOutput};
use crate::llm::chat::ChatMessage;
use crate::protocol::{
    Answer, Budget, BudgetUsage, CallId, Checkpoint, CheckpointId, Event, Evidence, Playbook,
    ProposedAction, Stage, ToolStatus,
};
use crate::trace::RecordBody;

/// Why a turn stopped before its answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    Cancelled,
    Budget(String),
    Failed(String),
}

/// A checkpoint and what a rewind to it keeps.
#[derive(Debug, Clone)]
pub struct SavedCheckpoint {
    pub checkpoint: Checkpoint,
    pub messages_len: usize,
    pub evidence_len: usize,
    pub planner_step: usize,
}

/// Everything one investigation knows; owned by the running turn, handed back after.
#[derive(Debug, Clone)]
pub struct Investigation {
    pub playbook: Playbook,
    pub request: String,
    /// The model conversation (system prompt first). Unused offline.
    pub messages: Vec<ChatMessage>,
    pub checkpoints: Vec<SavedCheckpoint>,
    pub evidence: Vec<Evidence>,
    pub usage: BudgetUsage,
    pub limit: Budget,
    /// Feedback applied so far, newest last (the offline planner reads it).
    pub feedback: Vec<String>,
    /// Where the offline planner is.
    pub planner_step: usize,
    /// Planner scratch state, kept across budget stops.
    pub planner: super::case::state::PlannerState,
    pub memories_used: Vec<String>,
    /// What was recalled at the start.
    pub recalled: Vec<crate::memory::MemoryHit>,
    /// The commands equivalent to each tool call, in order (for learned procedures).
    pub steps: Vec<String>,
    /// Set when a budget stopped the last turn; `continue` clears it.
    pub exhausted: bool,
    next_checkpoint: CheckpointId,
}

impl Investigation {
    pub fn new(playbook: Playbook, request: String, limit: Budget) -> Self {
        Self {
            playbook,
            request,
            messages: Vec::new(),
            checkpoints: Vec::new(),
            evidence: Vec::new(),
            usage: BudgetUsage::default(),
            limit,
            feedback: Vec::new(),
            planner_step: 0,
            planner: Default::default(),
            memories_used: Vec::new(),
            recalled: Vec::new(),
            steps: Vec::new(),
            exhausted: false,
            next_checkpoint: 1,
        }
    }

    pub fn best_confidence(&self) -> Option<f32> {
        self.checkpoints
            .iter()
            .rev()
            .find(|c| c.checkpoint.stage != Stage::Partial)
            .map(|c| c.checkpoint.confidence)
    }

    pub fn has_checkpoint(&self, id: CheckpointId) -> bool {
        self.checkpoints.iter().any(|c| c.checkpoint.id == id)
    }

    /// Drop everything after checkpoint `id`. Returns false when there is no such checkpoint.
    pub fn rewind(&mut self, id: CheckpointId) -> bool {
        let Some(pos) = self.checkpoints.iter().position(|c| c.checkpoint.id == id) else {
            return false;
        };
        let saved = self.checkpoints[pos].clone();
        self.checkpoints.truncate(pos + 1);
        self.messages.truncate(saved.messages_len);
        self.evidence.truncate(saved.evidence_len);
        self.planner_step = saved.planner_step;
        self.exhausted = false;
        true
    }
}

/// The executor for one turn.
pub struct Exec<'a> {
    pub shared: &'a Shared,
    pub inv: &'a mut Investigation,
    pub cancel: &'a CancellationToken,
    turn_started: Instant,
    wall_base_ms: u64,
}

/// A tool call as planned.
#[derive(Debug, Clone)]
pub struct PlannedCall {
    pub id: CallId,
    pub name: String,
    pub args: Value,
}

/// What a tool call produced, as the planner sees it.
#[derive(Debug, Clone)]
pub struct CallResult {
    pub id: CallId,
    pub name: String,
    /// `Err` holds the error text the model is shown.
    pub output: Result<ToolOutput, String>,
    /// The capped text for the model (or the error text).
    pub text: String,
}

impl<'a> Exec<'a> {
    pub fn new(
        shared: &'a Shared,
        inv: &'a mut Investigation,
        cancel: &'a CancellationToken,
    ) -> Self {
        let wall_base_ms = inv.usage.wall_ms;
        Self {
            shared,
            inv,
            cancel,
            turn_started: Instant::now(),
            wall_base_ms,
        }
    }

    pub fn emit(&self, event: Event) {
        self.shared.emit(event);
    }

    fn update_wall(&mut self) {
        self.inv.usage.wall_ms = self.wall_base_ms + self.turn_started.elapsed().as_millis() as u64;
    }

    pub fn emit_budget(&mut self) {
        self.update_wall();
        self.emit(Event::BudgetUpdate {
            used: self.inv.usage,
            limit: self.inv.limit,
        });
    }

    /// Wall time left in the budget (`None`: no time limit).
    pub fn wall_left(&mut self) -> Option<std::time::Duration> {
        self.update_wall();
        let (used, limit) = (self.inv.usage.wall_ms, self.inv.limit.wall_secs * 1000);
        (limit > 0).then(|| std::time::Duration::from_millis(limit.saturating_sub(used)))
    }

    /// Whether the investigation may go on; the reason when it may not.
    pub fn check_budget(&mut self) -> Result<(), Stop> {
        if self.cancel.is_cancelled() {
            return Err(Stop::Cancelled);
        }
        self.update_wall();
        let (u, l) = (self.inv.usage, self.inv.limit);
        if l.tokens > 0 && u.tokens() >= l.tokens {
            return Err(Stop::Budget(format!(
                "token budget reached ({} of {})",
                u.tokens(),
                l.tokens
            )));
        }
        if l.tool_calls > 0 && u.tool_calls >= l.tool_calls {
            return Err(Stop::Budget(format!(
                "tool-call budget reached ({} of {})",
                u.tool_calls, l.tool_calls
            )));
        }
        if l.wall_secs > 0 && u.wall_ms >= l.wall_secs * 1000 {
            return Err(Stop::Budget(format!(
                "time budget reached ({} s)",
                l.wall_secs
            )));
        }
        Ok(())
    }

    /// Feedback typed since the last step, marked applied. It goes to the model as an
    /// instruction that outranks earlier observations, and to the offline planner's state.
    pub fn take_feedback(&mut self) -> Vec<String> {
        let queued: Vec<(u64, String)> = match self.shared.feedback.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let mut out = Vec::new();
        for (id, text) in queued {
            self.emit(Event::FeedbackApplied { id });
            self.inv.feedback.push(text.clone());
            out.push(text);
        }
        out
    }

    /// Outputs of actions the user approved since the last step.
    pub fn take_observations(&mut self) -> Vec<String> {
        match self.shared.observations.lock() {
            Ok(mut q) => q.drain(..).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// A call id unique in the session (views and the trace key tool calls by it, across
    /// investigations).
    pub fn new_call_id(&mut self) -> CallId {
        format!("c{}", self.shared.next_call_seq())
    }

    /// Run one tool (offline planner).
    pub async fn tool(&mut self, name: &str, args: Value) -> Result<CallResult, Stop> {
        let id = self.new_call_id();
        let mut out = self
            .tools(vec![PlannedCall {
                id,
                name: name.to_string(),
                args,
            }])
            .await?;
        out.pop()
            .ok_or_else(|| Stop::Failed("tool call produced no result".into()))
    }

    /// Run read-only tools concurrently, each with its timeout; emit their events and
    /// record their evidence. Calls beyond the tool-call budget are not run.
    pub async fn tools(&mut self, calls: Vec<PlannedCall>) -> Result<Vec<CallResult>, Stop> {
        self.check_budget()?;
        let room = match self.inv.limit.tool_calls {
            0 => usize::MAX,
            l => l.saturating_sub(self.inv.usage.tool_calls) as usize,
        };
        let specs = &self.shared.specs;
        // Only calls of tools other programs serve wait for those programs to start.
        let builtin = |name: &str| specs.iter().any(|s| s.name == name);
        let external = match &self.shared.external {
            Some(ext) if calls.iter().any(|c| !builtin(&c.name)) => ext.tools().await,
            _ => Vec::new(),
        };
        let external = &external;
        let cap = self.shared.agent.tool_output_chars.max(500);
        let finished: Mutex<HashSet<CallId>> = Mutex::new(HashSet::new());
        let mut results: Vec<Option<CallResult>> = vec![None; calls.len()];
        let mut runnable = Vec::new();
        for (i, call) in calls.iter().enumerate() {
            if i >= room {
                let text =
                    "not run: the tool-call budget for this investigation is used up".to_string();
                results[i] = Some(CallResult {
                    id: call.id.clone(),
                    name: call.name.clone(),
                    output: Err(text.clone()),
                    text,
                });
                continue;
            }
            let command = match (
                &self.shared.external,
                external.iter().any(|t| t.name == call.name),
            ) {
                (Some(ext), true) => ext.command(&call.name, &call.args),
                _ => tools::registry::human_command(&call.name, &call.args),
            };
            self.inv.steps.push(command.clone());
            self.emit(Event::ToolCallStarted {
                call: call.id.clone(),
                tool: call.name.clone(),
                arguments: call.args.clone(),
                command,
            });
            runnable.push(i);
        }
        self.inv.usage.tool_calls += runnable.len() as u32;
        let shared = self.shared;
        let finished_ref = &finished;
        let futs = runnable.iter().map(|&i| {
            let call = &calls[i];
            let ext_tool = external.iter().find(|t| t.name == call.name);
            let timeout = specs
                .iter()
                .find(|s| s.name == call.name)
                .map(|s| s.timeout)
                .or(ext_tool.map(|t| t.timeout))
                .unwrap_or(Duration::from_secs(20));
            let ext = ext_tool.and(shared.external.as_deref());
            async move {
                let result = run_call(shared, call, ext, timeout, cap).await;
                if let Ok(mut f) = finished_ref.lock() {
                    f.insert(call.id.clone());
                }
                (i, result)
            }
        });
        let done = tokio::select! {
            done = futures::future::join_all(futs) => done,
            _ = self.cancel.cancelled() => {
                let finished = finished.lock().map(|f| f.clone()).unwrap_or_default();
                for &i in &runnable {
                    if !finished.contains(&calls[i].id) {
                        self.emit(Event::ToolCallFinished {
                            call: calls[i].id.clone(),
                            tool: calls[i].name.clone(),
                            status: ToolStatus::Cancelled,
                            duration_ms: 0,
                            summary: "cancelled".into(),
                            truncated: false,
                        });
                    }
                }
                return Err(Stop::Cancelled);
            }
        };
        for (i, mut r) in done {
            self.take_result(&mut r);
            results[i] = Some(r);
        }
        self.emit_budget();
        Ok(results.into_iter().flatten().collect())
    }

    /// What a finished call adds to the investigation: memory hits shown as such, and its
    /// evidence, tied to the call.
    fn take_result(&mut self, r: &mut CallResult) {
        if let Ok(out) = &r.output
            && let ToolData::Memories(hits) = &out.data
        {
            for h in hits {
                self.emit(Event::MemoryHit {
                    memory: h.memory.id.clone(),
                    kind: h.memory.kind.as_str().to_string(),
                    score: h.score,
                    why: h.why.clone(),
                    used: false,
                });
            }
        }
        if let Ok(out) = &mut r.output {
            for e in &mut out.evidence {
                e.call = Some(r.id.clone());
            }
            self.inv.evidence.extend(out.evidence.iter().cloned());
        }
    }

    pub fn checkpoint(
        &mut self,
        stage: Stage,
        summary: impl Into<String>,
        confidence: f32,
        evidence: Vec<Evidence>,
    ) -> CheckpointId {
        let id = self.inv.next_checkpoint;
        self.inv.next_checkpoint += 1;
        let checkpoint = Checkpoint {
            id,
            stage,
            summary: summary.into(),
            confidence: confidence.clamp(0.0, 1.0),
            evidence,
            tool_calls: self.inv.usage.tool_calls,
        };
        self.inv.checkpoints.push(SavedCheckpoint {
            checkpoint: checkpoint.clone(),
            messages_len: self.inv.messages.len(),
            evidence_len: self.inv.evidence.len(),
            planner_step: self.inv.planner_step,
        });
        self.emit(Event::CheckpointSaved { checkpoint });
        id
    }

    /// Checkpoint what is known when a run stops early.
    pub fn partial_checkpoint(&mut self, why: &str) {
        let last = self
            .inv
            .checkpoints
            .iter()
            .rev()
            .find(|c| c.checkpoint.stage != Stage::Partial)
            .map(|c| c.checkpoint.clone());
        let (summary, confidence) = match &last {
            Some(c) => (
                format!(
                    "stopped ({why}); last: {} — {}",
                    c.stage.as_str(),
                    c.summary
                ),
                c.confidence,
            ),
            None => (format!("stopped ({why}) before a first finding"), 0.0),
        };
        let evidence: Vec<Evidence> = self.inv.evidence.iter().rev().take(8).cloned().collect();
        self.checkpoint(Stage::Partial, summary, confidence, evidence);
    }

    /// Propose an action; it only runs if the user approves it.
    pub fn propose(&mut self, command: &str, rationale: &str) -> Option<ProposedAction> {
        let proposal = match self.shared.actions.lock() {
            Ok(mut q) => q.propose(command, rationale),
            Err(_) => return None,
        };
        self.emit(Event::ActionProposed {
            action: proposal.clone(),
        });
        if proposal.preapproved_by.is_some() {
            self.shared.approve_for_session(proposal.id);
        }
        Some(proposal)
    }
}

/// Run one read-only tool call within its timeout (one of triage's tools, or, with
/// `external`, the program serving it); emit its finish and record its I/O.
async fn run_call(
    shared: &Shared,
    call: &PlannedCall,
    external: Option<&dyn ExternalTools>,
    timeout: Duration,
    cap: usize,
) -> CallResult {
    let t0 = Instant::now();
    let run: BoxFuture<'_, Result<ToolOutput, ToolError>> = match external {
        Some(ext) => ext.call(&call.name, &call.args),
        None => Box::pin(tools::registry::run(&shared.tools, &call.name, &call.args)),
    };
    let res = tokio::time::timeout(timeout, run).await;
    let duration_ms = t0.elapsed().as_millis() as u64;
    let (status, output, text, truncated) = match res {
        Ok(Ok(out)) => {
            let (text, truncated) = tools::cap_output(&out.text, cap);
            (ToolStatus::Ok, Ok(out), text, truncated)
        }
        Ok(Err(e)) => {
            let text = format!("error: {e}");
            (ToolStatus::Error, Err(text.clone()), text, false)
        }
        Err(_) => {
            let text = format!(
                "error: {} timed out after {} s",
                call.name,
                timeout.as_secs()
            );
            (ToolStatus::TimedOut, Err(text.clone()), text, false)
        }
    };
    let summary = match &output {
        Ok(o) => o.summary.clone(),
        Err(e) => e.clone(),
    };
    shared.emit(Event::ToolCallFinished {
        call: call.id.clone(),
        tool: call.name.clone(),
        status,
        duration_ms,
        summary,
        truncated,
    });
    shared.record(RecordBody::ToolIo {
        call: call.id.clone(),
        tool: call.name.clone(),
        arguments: call.args.clone(),
        output: text.clone(),
    });
    CallResult {
        id: call.id.clone(),
        name: call.name.clone(),
        output,
        text,
    }
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
