//! The answer when a recalled memory holds, and the parts every incident answer shares:
//! the suggested commands and the memories set aside or left unverified.

use std::fmt::Write as _;

use super::scope::request_mentions;
use crate::agent::case::state::PlannerState;
use crate::agent::case::target::Target;
use crate::agent::exec::{Exec, answer_from};
use crate::protocol::{Answer, Event, Evidence, EvidenceKind, Stage, confidence_label};

/// The suggested commands, and those a correction kept back.
pub(super) fn suggestions(st: &PlannerState, actions: &[(String, String)], s: &mut String) {
    let withheld = |cmd: &str| st.withheld.iter().find(|w| w.0 == cmd);
    if actions.iter().any(|(cmd, _)| withheld(cmd).is_none()) {
        let _ = writeln!(s, "\n**Suggested (nothing runs until you approve):**");
        for (cmd, why) in actions.iter().filter(|(cmd, _)| withheld(cmd).is_none()) {
            let _ = writeln!(s, "- `{cmd}`: {why}");
        }
    }
    for (cmd, id, says) in actions.iter().filter_map(|(cmd, _)| withheld(cmd)) {
        let _ = writeln!(
            s,
            "\n**Not suggested, as a correction says:** `{cmd}` (`{id}`: {says})"
        );
    }
}

/// Memories checked and found wrong today, and those that could not be checked.
pub(super) fn memory_notes(st: &PlannerState, s: &mut String) {
    if !st.rejected.is_empty() {
        let _ = writeln!(s, "\n**Memories checked and set aside (wrong today):**");
        for (id, why) in &st.rejected {
            let _ = writeln!(s, "- `{id}`: {why}");
        }
    }
    // Those checked, used or applied are said above.
    let unverified: Vec<&Evidence> = st
        .memories
        .iter()
        .filter(|m| {
            st.from_memory.as_deref() != Some(m.reference.as_str())
                && !st.rejected.iter().any(|(id, _)| id == &m.reference)
                && !st.withheld.iter().any(|w| w.1 == m.reference)
        })
        .collect();
    if !unverified.is_empty() {
        let _ = writeln!(
            s,
            "\n**Memories that may apply (not verified, not relied on):**"
        );
        for m in unverified {
            let _ = writeln!(s, "- `{}` {}", m.reference, m.detail);
        }
    }
}

/// The most an answer from a memory that held is stated at.
pub(super) const FROM_MEMORY_CEILING: f32 = 0.85;

/// The answer when a recalled memory held today: its cause, what the check saw, and the
/// note that nothing else was looked at.
pub(super) fn answer_from_memory(exec: &mut Exec<'_>, held: super::recall::Held) -> Answer {
    let super::recall::Held {
        memory: m,
        claim,
        checked,
    } = held;
    exec.inv.planner.from_memory = Some(m.id.clone());
    // What the investigation was about, for the scope of what is learned next.
    let (kind, ns, name) = claim.parts();
    exec.inv.planner.target = Some(Target {
        kind: kind.to_string(),
        namespace: ns.map(str::to_string),
        name: name.to_string(),
        named_in_request: request_mentions(&exec.inv.request, name),
        ..Target::default()
    });
    let mem_ev = super::recall::evidence(&m);
    let base = m.confidence.clamp(0.3, 0.8);
    exec.checkpoint(
        Stage::ScopeFound,
        format!("{} (from memory {}: {})", claim.resource, m.id, m.title()),
        base,
        vec![mem_ev.clone()],
    );
    exec.checkpoint(
        Stage::Hypothesis,
        claim.hypothesis.clone(),
        base,
        vec![mem_ev.clone()],
    );
    let confidence = (base + 0.15).min(FROM_MEMORY_CEILING);
    let mut evidence = checked.evidence.clone();
    evidence.push(mem_ev);
    exec.checkpoint(
        Stage::Verified,
        checked.detail.clone(),
        confidence,
        evidence.clone(),
    );
    if !claim.expected {
        suggest(exec, &claim.actions, confidence, evidence);
    }
    let mut s = String::new();
    let _ = writeln!(s, "## {}\n", claim.resource);
    if claim.expected {
        let _ = writeln!(
            s,
            "**Expected, leave it alone:** {}. Nothing to do; no action is proposed.\n",
            claim.hypothesis
        );
    } else {
        let _ = writeln!(s, "**Likely cause:** {}\n", claim.hypothesis);
    }
    let _ = writeln!(
        s,
        "**Confidence:** {} ({confidence:.2})\n",
        confidence_label(confidence)
    );
    let _ = writeln!(
        s,
        "**From memory** `{}` ({}, {}; confirmed {}x, contradicted {}x): {}\n",
        m.id,
        m.kind.as_str(),
        m.source,
        m.confirmations,
        m.contradictions,
        m.title()
    );
    let _ = writeln!(s, "**Checked today:** {}", checked.detail);
    if !claim.expected && !claim.actions.is_empty() {
        suggestions(&exec.inv.planner, &claim.actions, &mut s);
    }
    let st = exec.inv.planner.clone();
    memory_notes(&st, &mut s);
    let _ = writeln!(
        s,
        "\nOnly this memory was checked; the full sweep was skipped. Ask again with \"without memory\" to run it."
    );
    finish(exec, s, Some(confidence))
}

/// Propose each action (nothing runs without a keypress) and checkpoint the last.
pub(super) fn suggest(
    exec: &mut Exec<'_>,
    actions: &[(String, String)],
    confidence: f32,
    evidence: Vec<Evidence>,
) {
    // What a person said not to do here is not proposed, and the answer says so.
    let mut kept: Vec<&(String, String)> = Vec::new();
    for a in actions {
        match super::recall::forbidding(&exec.inv.recalled, &a.0) {
            Some(hit) => {
                let id = hit.memory.id.clone();
                exec.emit(Event::MemoryHit {
                    memory: id.clone(),
                    kind: hit.memory.kind.as_str().to_string(),
                    score: hit.score,
                    why: format!("{}; applied: `{}` not proposed", hit.why, a.0),
                    used: true,
                });
                if !exec.inv.memories_used.contains(&id) {
                    exec.inv.memories_used.push(id.clone());
                }
                exec.inv
                    .planner
                    .withheld
                    .push((a.0.clone(), id, hit.memory.title().to_string()));
            }
            None => kept.push(a),
        }
    }
    for (cmd, why) in &kept {
        exec.propose(cmd, why);
    }
    if let Some((cmd, _)) = kept.last() {
        exec.checkpoint(
            Stage::SuggestedAction,
            format!("suggest: {cmd}"),
            confidence,
            evidence,
        );
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
