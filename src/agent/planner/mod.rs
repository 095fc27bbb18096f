//! The offline planner: triage's embedded default. With no model configured it runs the
//! same playbooks, deterministically, over the same tools, and produces the same kinds of
//! checkpoints and a plain answer with a confidence. It is a state machine over
//! `Investigation::planner_step`, so a budget stop resumes where it left off.

mod answer;
mod beyond;
mod certs;
mod controllers;
pub mod for_model;
mod incident;
mod issue;
pub mod recall;
mod report;
mod routes;
mod scope;
mod service;
pub mod verify;
pub mod walk;

/// The most the offline planner states about an incident: the diagnosis curve's best, or
/// an answer from a memory that held. A threshold above it is never cleared offline.
pub fn highest_confidence() -> f32 {
    crate::agent::case::confidence::highest().max(answer::FROM_MEMORY_CEILING)
}

use super::exec::{Exec, Stop};
pub use crate::agent::case::state::PlannerState;
pub use crate::agent::case::target::{Hypothesis, Target};
use crate::protocol::{Answer, Playbook};
pub use verify::{Checked, judge, verify};

use answer::answer_from_memory;
use incident::incident_step;
use issue::issue_step;
use service::service_step;

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
            exec.inv.planner.memories.push(recall::evidence(&h.memory));
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
        if !wider && let Some(held) = recall::check_recalled(exec).await? {
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
