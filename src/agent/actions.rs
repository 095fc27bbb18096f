//! Proposed actions: what kind of command each is (read or write, and why), the queue of
//! proposals waiting for the user, and running an approved command.
//!
//! The agent only ever proposes. Nothing here runs a command the user did not approve,
//! once or for the session; read-only mode refuses writes even when approved.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::config::AgentConfig;
use crate::protocol::{ActionClass, ActionId, ApprovalScope, Decision, Op, ProposedAction};

mod classify;
mod exec;
mod git;
mod kubectl;
mod programs;
pub mod remembered;
mod rules;
mod shell;
mod web;
pub use classify::classify;
pub use exec::{ExecError, ExecOutput, OUTPUT_CAP, execute, kill_tree};
pub use rules::{ActionKind, Classification, normalize, unsafe_syntax};
pub use web::internal_host;

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no proposed action {0}")]
    UnknownAction(ActionId),
    #[error("action {0} was already decided")]
    AlreadyDecided(ActionId),
    #[error("{0} is not a decision on an action (expected approve, reject or edit_action)")]
    NotADecision(&'static str),
    #[error("the edit of action {0} is empty; reject the action instead")]
    EmptyEdit(ActionId),
}

/// What the agent does after a decision.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    /// Run this command and report its output.
    Run(String),
    /// Nothing to run.
    Skip,
    /// The edited command, proposed anew: announce it and wait for its own decision.
    Propose(ProposedAction),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DecisionOutcome {
    pub action: ActionId,
    /// For the `ActionDecided` event.
    pub decision: Decision,
    pub next: NextStep,
}

/// Proposals waiting for the user, and what the user allowed for the session.
#[derive(Debug, Clone)]
pub struct ApprovalQueue {
    read_only: bool,
    shell_allowlist: Vec<String>,
    next_id: ActionId,
    pending: BTreeMap<ActionId, ProposedAction>,
    decided: HashSet<ActionId>,
    /// Families approved for the session, and the action whose approval did it.
    session_approved: HashMap<String, ActionId>,
}

impl ApprovalQueue {
    pub fn new(read_only: bool, shell_allowlist: Vec<String>) -> Self {
        Self {
            read_only,
            shell_allowlist,
            next_id: 1,
            pending: BTreeMap::new(),
            decided: HashSet::new(),
            session_approved: HashMap::new(),
        }
    }

    pub fn from_config(config: &AgentConfig) -> Self {
        Self::new(config.read_only, config.shell_allowlist.clone())
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn classify(&self, command: &str) -> Classification {
        classify(command, &self.shell_allowlist)
    }

    /// Classify `command` and queue it for a decision. A proposal in a family the user
    /// approved for the session says which approval covers it.
    pub fn propose(&mut self, command: &str, rationale: &str) -> ProposedAction {
        let c = self.classify(command);
        self.propose_classified(command, rationale, c)
    }

    /// Queue an action whose class its caller decided (a tool call that is not a
    /// command line, such as an MCP tool not marked read-only).
    pub fn propose_classified(
        &mut self,
        command: &str,
        rationale: &str,
        c: Classification,
    ) -> ProposedAction {
        let id = self.next_id;
        self.next_id += 1;
        let blocked_by_read_only = self.read_only && c.class == ActionClass::Write;
        let preapproved_by = match (&c.refused, blocked_by_read_only) {
            (None, false) => self.session_approved.get(&c.family).copied(),
            _ => None,
        };
        let action = ProposedAction {
            id,
            command: command.trim().to_string(),
            class: c.class,
            class_reason: c.reason,
            rationale: rationale.to_string(),
            blocked_by_read_only,
            refused: c.refused,
            family: c.family,
            preapproved_by,
        };
        self.pending.insert(id, action.clone());
        action
    }

    pub fn pending(&self) -> impl Iterator<Item = &ProposedAction> {
        self.pending.values()
    }

    pub fn get(&self, id: ActionId) -> Option<&ProposedAction> {
        self.pending.get(&id)
    }

    /// Whether a proposal of `command` now would be approved without asking: its family
    /// was approved for the session. Never true for a write in read-only mode, nor for a
    /// command that cannot run.
    pub fn is_preapproved(&self, command: &str) -> bool {
        let c = self.classify(command);
        c.refused.is_none()
            && !(self.read_only && c.class == ActionClass::Write)
            && self.session_approved.contains_key(&c.family)
    }

    /// Apply the user's `Approve`, `Reject` or `EditAction` to a pending proposal.
    pub fn decide(&mut self, op: &Op) -> Result<DecisionOutcome, ActionError> {
        let (id, choice) = match op {
            Op::Approve { action, scope } => (*action, Choice::Approve(*scope)),
            Op::Reject { action, reason } => (*action, Choice::Reject(reason)),
            Op::EditAction { action, command } => (*action, Choice::Edit(command)),
            other => return Err(ActionError::NotADecision(op_name(other))),
        };
        if matches!(choice, Choice::Edit(command) if command.trim().is_empty())
            && self.pending.contains_key(&id)
        {
            return Err(ActionError::EmptyEdit(id));
        }
        let Some(action) = self.pending.remove(&id) else {
            return Err(if self.decided.contains(&id) {
                ActionError::AlreadyDecided(id)
            } else {
                ActionError::UnknownAction(id)
            });
        };
        self.decided.insert(id);
        let (decision, next) = match choice {
            Choice::Approve(scope) => self.approve(&action, scope),
            Choice::Reject(reason) => (
                Decision::Rejected {
                    reason: reason.to_string(),
                },
                NextStep::Skip,
            ),
            Choice::Edit(command) => {
                let replacement = self.propose(command, &action.rationale);
                (
                    Decision::Edited {
                        replaced_by: replacement.id,
                    },
                    NextStep::Propose(replacement),
                )
            }
        };
        Ok(DecisionOutcome {
            action: id,
            decision,
            next,
        })
    }

    fn approve(&mut self, action: &ProposedAction, scope: ApprovalScope) -> (Decision, NextStep) {
        if let Some(why) = &action.refused {
            let why = format!("`{}` cannot be run safely: {why}", action.command);
            return (Decision::Refused { why }, NextStep::Skip);
        }
        if self.read_only && action.class == ActionClass::Write {
            let why = format!(
                "`{}` is a write ({}) and triage is in read-only mode: run with --write, or set agent.read_only = false in config",
                action.command, action.class_reason
            );
            return (Decision::Refused { why }, NextStep::Skip);
        }
        if let Err(e) = shell_words::split(&action.command) {
            return (
                Decision::Refused {
                    why: format!("the command does not parse: {e}"),
                },
                NextStep::Skip,
            );
        }
        if scope == ApprovalScope::Session && !action.family.is_empty() {
            let by = action.preapproved_by.unwrap_or(action.id);
            self.session_approved
                .entry(action.family.clone())
                .or_insert(by);
        }
        (
            Decision::Approved { scope },
            NextStep::Run(action.command.clone()),
        )
    }
}

/// The user's answer, taken apart once.
enum Choice<'a> {
    Approve(ApprovalScope),
    Reject(&'a str),
    Edit(&'a str),
}

fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Submit { .. } => "submit",
        Op::Feedback { .. } => "feedback",
        Op::Cancel => "cancel",
        Op::Continue => "continue",
        Op::Approve { .. } => "approve",
        Op::Reject { .. } => "reject",
        Op::EditAction { .. } => "edit_action",
        Op::Rewind { .. } => "rewind",
        Op::Fork { .. } => "fork",
        Op::Remember { .. } => "remember",
        Op::ConfirmMemory { .. } => "confirm_memory",
        Op::DiscardMemory { .. } => "discard_memory",
        Op::Rate { .. } => "rate",
        Op::Shutdown => "shutdown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approve(action: ActionId, scope: ApprovalScope) -> Op {
        Op::Approve { action, scope }
    }

    #[test]
    fn read_only_refuses_approved_writes_and_says_how_to_allow_them() {
        let mut q = ApprovalQueue::new(true, Vec::new());
        let undo = q.propose(
            "kubectl -n shop rollout undo deploy/checkout-api",
            "bad deploy at 14:02",
        );
        assert_eq!(undo.class, ActionClass::Write);
        assert!(undo.blocked_by_read_only);
        let out = q.decide(&approve(undo.id, ApprovalScope::Session)).unwrap();
        let Decision::Refused { why } = &out.decision else {
            panic!("{out:?}");
        };
        assert!(
            why.contains("run with --write, or set agent.read_only = false in config"),
            "{why}"
        );
        assert_eq!(out.next, NextStep::Skip);
        assert!(!q.is_preapproved("kubectl -n shop rollout undo deploy/checkout-api"));

        // Reads still run in read-only mode.
        let get = q.propose("kubectl get pods", "look");
        assert!(!get.blocked_by_read_only);
        let out = q.decide(&approve(get.id, ApprovalScope::Once)).unwrap();
        assert_eq!(out.next, NextStep::Run("kubectl get pods".into()));
    }

    #[test]
    fn approve_once_versus_for_the_session() {
        let mut q = ApprovalQueue::new(false, Vec::new());
        let a = q.propose("kubectl rollout restart deploy/web", "stuck pods");
        assert!(!a.blocked_by_read_only);
        let out = q.decide(&approve(a.id, ApprovalScope::Once)).unwrap();
        assert_eq!(
            out.decision,
            Decision::Approved {
                scope: ApprovalScope::Once
            }
        );
        assert_eq!(
            out.next,
            NextStep::Run("kubectl rollout restart deploy/web".into())
        );
        assert!(!q.is_preapproved("kubectl rollout restart deploy/web"));

        let b = q.propose("kubectl rollout restart deploy/web", "still stuck");
        q.decide(&approve(b.id, ApprovalScope::Session)).unwrap();
        // The same command, however spaced or quoted, needs no new question...
        assert!(q.is_preapproved("kubectl  rollout restart 'deploy/web'"));
        let c = q.propose("kubectl rollout restart deploy/web", "third time");
        assert!(q.is_preapproved(&c.command));
        let out = q.decide(&approve(c.id, ApprovalScope::Session)).unwrap();
        assert!(matches!(out.next, NextStep::Run(_)));
        // ...but a different one does.
        assert!(!q.is_preapproved("kubectl rollout restart deploy/api"));
    }

    #[test]
    fn reject_keeps_the_reason_and_double_decisions_fail() {
        let mut q = ApprovalQueue::new(false, Vec::new());
        let a = q.propose("kubectl scale deploy/web --replicas=0", "stop the bleeding");
        let out = q
            .decide(&Op::Reject {
                action: a.id,
                reason: "backfill is running".into(),
            })
            .unwrap();
        assert_eq!(
            out.decision,
            Decision::Rejected {
                reason: "backfill is running".into()
            }
        );
        assert_eq!(out.next, NextStep::Skip);
        assert!(q.get(a.id).is_none());
        let again = q.decide(&approve(a.id, ApprovalScope::Once)).unwrap_err();
        assert!(
            matches!(again, ActionError::AlreadyDecided(id) if id == a.id),
            "{again}"
        );
        let unknown = q.decide(&approve(99, ApprovalScope::Once)).unwrap_err();
        assert!(
            matches!(unknown, ActionError::UnknownAction(99)),
            "{unknown}"
        );
        let not_decision = q.decide(&Op::Cancel).unwrap_err();
        assert!(
            not_decision.to_string().contains("cancel"),
            "{not_decision}"
        );
    }

    #[test]
    fn edit_replaces_the_proposal_and_classifies_again() {
        let mut q = ApprovalQueue::new(true, Vec::new());
        let a = q.propose("kubectl rollout undo deploy/web", "bad deploy");
        let out = q
            .decide(&Op::EditAction {
                action: a.id,
                command: "kubectl rollout history deploy/web".into(),
            })
            .unwrap();
        let NextStep::Propose(b) = &out.next else {
            panic!("{out:?}");
        };
        assert_eq!(out.decision, Decision::Edited { replaced_by: b.id });
        assert_ne!(b.id, a.id);
        assert_eq!(b.class, ActionClass::Read);
        assert!(!b.blocked_by_read_only);
        assert_eq!(b.rationale, "bad deploy");
        assert!(q.get(a.id).is_none());
        assert_eq!(q.pending().map(|p| p.id).collect::<Vec<_>>(), vec![b.id]);
        // The edit is proposed, not run: it waits for its own approval.
        let run = q.decide(&approve(b.id, ApprovalScope::Once)).unwrap();
        assert_eq!(
            run.next,
            NextStep::Run("kubectl rollout history deploy/web".into())
        );

        let c = q.propose("kubectl get pods", "");
        let empty = q
            .decide(&Op::EditAction {
                action: c.id,
                command: "  ".into(),
            })
            .unwrap_err();
        assert!(matches!(empty, ActionError::EmptyEdit(_)));
        assert!(
            q.get(c.id).is_some(),
            "a failed edit leaves the proposal pending"
        );
    }
}
