//! The offline planner: triage's embedded default. With no model configured it runs the
//! same playbooks, deterministically, over the same tools, and produces the same kinds of
//! checkpoints and a plain answer with a confidence. It is a state machine over
//! `Investigation::planner_step`, so a budget stop resumes where it left off.

pub mod alert;
mod answer;
pub mod clues;
pub mod confidence;
mod deps;
pub mod diagnosis;
pub mod for_model;
pub mod hypotheses;
mod incident;
mod issue;
pub mod objects;
mod report;
mod scope;
mod service;
pub mod statement;
pub mod symptoms;
pub mod timeline;
mod verify;
pub mod walk;
pub mod world;

use super::exec::{Exec, Stop, answer_from};
use crate::index::localize::RankedFile;
use crate::kube::{Finding, WorkloadLink};
use crate::memory::Check;
use crate::protocol::{Answer, Event, Evidence, EvidenceKind, Playbook};
pub use verify::{Checked, judge, verify};

use answer::answer_from_memory;
use incident::incident_step;
use issue::issue_step;
use service::service_step;

/// What the planner has learned so far.
#[derive(Debug, Clone, Default)]
pub struct PlannerState {
    /// Workloads the engineer said to leave alone.
    pub excluded: Vec<String>,
    /// A workload the engineer pointed at.
    pub focus: Option<String>,
    pub findings: Vec<Finding>,
    pub links: Vec<WorkloadLink>,
    pub target: Option<Target>,
    pub hypothesis: Option<Hypothesis>,
    /// Issue playbook: ranked files.
    pub files: Vec<RankedFile>,
    pub notes: Vec<String>,
    pub cluster_unavailable: Option<String>,
    /// Recalled memories that could not be checked (listed, not relied on).
    pub memories: Vec<Evidence>,
    /// Memories checked at the start and found wrong today: (id, what the check saw).
    pub rejected: Vec<(String, String)>,
    /// Commands a correction kept back: (command, memory id, what it says).
    pub withheld: Vec<(String, String, String)>,
    /// Hyphenated names the request mentions (`checkout-api`), workloads or not.
    pub request_names: Vec<String>,
    /// Whether recalled memories were checked (once per investigation).
    pub memory_checked: bool,
    /// The memory the answer came from, when one held.
    pub from_memory: Option<String>,
    /// The alert as parsed.
    pub alert: Option<alert::Alert>,
    /// Everything the walk read.
    pub world: world::World,
    /// The timeline, the ranked hypotheses and the confidence.
    pub diagnosis: Option<diagnosis::Diagnosis>,
}

#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Finding kinds about it, worst first.
    pub kinds: Vec<String>,
    pub pods: Vec<String>,
    pub summaries: Vec<String>,
    pub paths: Vec<String>,
    pub named_in_request: bool,
    /// The object the alert named, when it is not the workload itself (a pod, a
    /// Service, a claim, an autoscaler).
    pub alerted: Option<crate::kube::state::ResourceRef>,
}

impl Target {
    pub fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Hypothesis {
    pub text: String,
    pub confidence: f32,
    /// (command, rationale), read commands first.
    pub actions: Vec<(String, String)>,
    /// What would confirm it.
    pub check: Check,
    pub evidence: Vec<Evidence>,
}

pub async fn run(exec: &mut Exec<'_>) -> Result<Answer, Stop> {
    // Everything recalled is listed in the answer unless it was checked, used or applied.
    for h in exec.inv.recalled.clone() {
        if !exec
            .inv
            .planner
            .memories
            .iter()
            .any(|e| e.reference == h.memory.id)
        {
            exec.inv
                .planner
                .memories
                .push(crate::agent::recall::evidence(&h.memory));
        }
    }
    if exec.inv.playbook == Playbook::Incident
        && exec.inv.planner_step == 0
        && !exec.inv.planner.memory_checked
    {
        exec.inv.planner.memory_checked = true;
        let wider = ["without memory", "look wider", "full sweep"]
            .iter()
            .any(|w| exec.inv.request.to_lowercase().contains(w));
        if !wider && let Some(held) = crate::agent::recall::check_recalled(exec).await? {
            return Ok(answer_from_memory(exec, held));
        }
    }
    loop {
        apply_feedback(exec);
        exec.check_budget()?;
        let step = exec.inv.planner_step;
        let done = match exec.inv.playbook {
            Playbook::Incident => incident_step(exec, step).await?,
            Playbook::Issue | Playbook::General => issue_step(exec, step).await?,
            Playbook::Service => service_step(exec, step).await?,
        };
        if let Some(answer) = done {
            return Ok(answer);
        }
        exec.inv.planner_step += 1;
    }
}

/// Feedback outranks observations: "ignore X", "X is expected", "leave X alone" drop a
/// workload; "focus on X", "look at X", "check X" point at one. Either re-scopes.
pub(super) fn apply_feedback(exec: &mut Exec<'_>) {
    let texts = exec.take_feedback();
    for text in texts {
        let lower = text.to_lowercase();
        let names = workload_names(&exec.inv.planner);
        let mentioned: Vec<String> = names
            .into_iter()
            .filter(|n| lower.contains(&n.to_lowercase()))
            .collect();
        let negative = [
            "ignore",
            "not ",
            "n't",
            "skip",
            "expected",
            "leave",
            "known",
            "fine",
            "normal",
            "unrelated",
            "reject",
        ]
        .iter()
        .any(|w| lower.contains(w));
        let st = &mut exec.inv.planner;
        st.notes.push(format!("feedback: {text}"));
        if mentioned.is_empty() {
            continue;
        }
        if negative {
            st.excluded.extend(mentioned.iter().cloned());
            if st
                .target
                .as_ref()
                .is_some_and(|t| mentioned.contains(&t.name))
            {
                st.target = None;
                st.hypothesis = None;
                exec.inv.planner_step = 0;
            }
        } else {
            st.focus = mentioned.first().cloned();
            st.target = None;
            st.hypothesis = None;
            exec.inv.planner_step = 0;
        }
    }
}

pub(super) fn workload_names(st: &PlannerState) -> Vec<String> {
    let mut names: Vec<String> = st
        .findings
        .iter()
        .map(|f| f.resource.name.clone())
        .collect();
    names.sort();
    names.dedup();
    // Longest first so "checkout-api-canary" wins over "checkout-api".
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
}

pub(super) fn ev(
    kind: EvidenceKind,
    reference: impl Into<String>,
    detail: impl Into<String>,
) -> Evidence {
    Evidence {
        kind,
        reference: reference.into(),
        detail: detail.into(),
        call: None,
    }
}

/// Commits in the evidence, each once, in the order they were found.
pub(super) fn commits_seen<'e>(exec: &'e Exec<'_>, max: usize) -> Vec<&'e Evidence> {
    let mut out: Vec<&Evidence> = Vec::new();
    for e in exec
        .inv
        .evidence
        .iter()
        .filter(|e| e.kind == EvidenceKind::Commit)
    {
        if !out.iter().any(|o| o.reference == e.reference) {
            out.push(e);
        }
        if out.len() == max {
            break;
        }
    }
    out
}

pub(super) fn finish(exec: &mut Exec<'_>, text: String, confidence: Option<f32>) -> Answer {
    let text = format!(
        "{text}\n_Offline planner (no model configured): rules over the same tools; check the evidence before acting._"
    );
    for line in text.split_inclusive('\n') {
        exec.emit(Event::TokenDelta {
            text: line.to_string(),
        });
    }
    exec.emit(Event::MessageDone { text: text.clone() });
    answer_from(exec, text, confidence)
}
