//! The incident answer: the cause and its object, how sure and why, the evidence chain,
//! the rivals ruled out (or still close), the change timeline, where in the code, what
//! to run, and what to check next when unsure.

use std::fmt::Write as _;

use super::answer::{commits_seen, memory_notes, suggestions};
use crate::agent::case::confidence::UNSURE;
use crate::agent::case::diagnosis::Diagnosis;
use crate::agent::case::statement::{needs_change, sentence};
use crate::agent::case::target::Target;
use crate::agent::exec::Exec;
use crate::protocol::confidence_label;

/// Changes listed in the answer.
const TIMELINE_ROWS: usize = 8;

#[allow(clippy::too_many_lines)] // the answer's sections in the order they are read
pub(super) fn incident_answer(exec: &Exec<'_>, t: Option<&Target>) -> String {
    let st = &exec.inv.planner;
    let mut s = String::new();
    let (Some(t), Some(d), Some(top)) = (
        t,
        st.diagnosis.as_ref(),
        st.diagnosis.as_ref().and_then(Diagnosis::top),
    ) else {
        let _ = writeln!(
            s,
            "No failing workload matches this request ({} findings in the namespace{}).",
            st.findings.len(),
            if st.excluded.is_empty() {
                String::new()
            } else {
                format!("; left alone as you asked: {}", st.excluded.join(", "))
            }
        );
        memory_notes(st, &mut s);
        return s;
    };
    let unsure = d.confidence < UNSURE;
    let _ = writeln!(s, "## {}\n", top.culprit);
    let rivals = d.close_rivals();
    let lead = if unsure {
        "**Likely cause (unsure):**"
    } else {
        "**Likely cause:**"
    };
    let said = sentence(top, t);
    let _ = write!(s, "{lead} {said}");
    if !rivals.is_empty() {
        let stop = if said.ends_with('.') { "" } else { "." };
        let _ = write!(
            s,
            "{stop} Two causes fit about equally; the other is listed below."
        );
    }
    let _ = writeln!(s, "\n");
    let reasons = d
        .assessment
        .as_ref()
        .map(|a| a.reasons(d.observations.symptoms.len(), top.explains.len()))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "**Confidence:** {} ({:.2}): {reasons}\n",
        confidence_label(d.confidence),
        d.confidence
    );
    if !rivals.is_empty() {
        let _ = writeln!(s, "**Also fits:**");
        for r in &rivals {
            let _ = writeln!(s, "- {} (`{}`)", sentence(r, t), r.culprit);
        }
        s.push('\n');
    }
    let _ = writeln!(s, "**Evidence:**");
    for e in d.evidence.iter().take(7) {
        let _ = writeln!(s, "- `{}` {}", e.reference, e.detail);
    }
    let ruled: Vec<&String> = d
        .candidates
        .iter()
        .filter_map(|c| c.ruled_out.as_ref())
        .take(3)
        .collect();
    if !ruled.is_empty() {
        let _ = writeln!(s, "\n**Ruled out:**");
        for r in ruled {
            let _ = writeln!(s, "- {r}");
        }
    }
    timeline(d, &mut s);
    if let Some(f) = st.files.first() {
        let _ = write!(s, "\n**Where in the code:** `{}`", f.path);
        if let Some(sym) = f.symbols.first() {
            let _ = write!(
                s,
                " {} `{}` (lines {}-{})",
                sym.kind, sym.name, sym.start_line, sym.end_line
            );
        }
        s.push('\n');
    }
    let commits = commits_seen(exec, 3);
    if !commits.is_empty() && st.files.is_empty() {
        let _ = writeln!(s, "\n**Recent commits to its code:**");
        for c in commits {
            let _ = writeln!(s, "- `{}` {}", c.reference, c.detail);
        }
    }
    if unsure {
        check_next(d, t, &mut s);
    } else if !needs_change(top.cause) {
        let _ = writeln!(
            s,
            "\nNothing to change: no action is proposed beyond a look."
        );
    }
    if !d.actions.is_empty() {
        suggestions(st, &d.actions, &mut s);
    }
    if !st.excluded.is_empty() {
        let _ = writeln!(s, "\nLeft alone as you asked: {}.", st.excluded.join(", "));
    }
    memory_notes(st, &mut s);
    s
}

/// The changes around the start, relevant ones first.
fn timeline(d: &Diagnosis, s: &mut String) {
    if d.timeline.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "\n**Changes around the start ({}):**",
        d.start.format("%Y-%m-%d %H:%M UTC")
    );
    let mut rows: Vec<_> = d.timeline.iter().filter(|c| c.relevant).collect();
    rows.truncate(TIMELINE_ROWS);
    let room = TIMELINE_ROWS.saturating_sub(rows.len());
    rows.extend(d.timeline.iter().filter(|c| !c.relevant).rev().take(room));
    rows.sort_by_key(|c| c.at);
    for c in rows {
        let mark = if c.relevant { "" } else { " (unrelated)" };
        let _ = writeln!(
            s,
            "- {} {} `{}`: {}{mark}",
            c.at.format("%m-%d %H:%M"),
            c.kind,
            c.reference,
            c.what
        );
    }
}

/// When unsure: the leading candidates and the reads that would tell them apart.
fn check_next(d: &Diagnosis, t: &Target, s: &mut String) {
    let _ = writeln!(s, "\n**Not sure.** Check next:");
    for c in d
        .candidates
        .iter()
        .filter(|c| c.ruled_out.is_none())
        .take(3)
    {
        let cmd = crate::agent::case::statement::actions(c, t, false)
            .into_iter()
            .next()
            .map(|(cmd, _)| format!(": `{cmd}`"))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "- whether {} ({:?}, score {:.2}){cmd}",
            c.culprit, c.cause, c.score
        );
    }
}
