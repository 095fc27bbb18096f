//! The issue playbook: issue text → ranked files → the top functions → an answer.

use std::fmt::Write as _;

use serde_json::json;

use super::answer::{commits_seen, finish};
use crate::agent::exec::{Exec, Stop};
use crate::agent::tools::ToolData;
use crate::protocol::{Answer, Stage, confidence_label};

#[allow(clippy::too_many_lines)] // the issue playbook's steps in order, one match arm each
pub(super) async fn issue_step(exec: &mut Exec<'_>, step: usize) -> Result<Option<Answer>, Stop> {
    match step {
        0 => {
            let text = exec.inv.request.clone();
            let r = exec
                .tool("issue_files", json!({"text": text, "top": 8}))
                .await?;
            let files = match &r.output {
                Ok(out) => match &out.data {
                    ToolData::Issue(result) => result.files.clone(),
                    _ => Vec::new(),
                },
                Err(e) => {
                    let e = e.trim_start_matches("error: ").to_string();
                    exec.inv.planner.notes.push(format!("unavailable: {e}"));
                    Vec::new()
                }
            };
            let exact = files.first().is_some_and(|f| {
                f.reasons
                    .iter()
                    .any(|r| r.contains("frame") || r.contains("path") || r.contains("mentioned"))
            });
            let confidence = match (files.is_empty(), exact) {
                (true, _) => 0.1,
                (false, true) => 0.7,
                (false, false) => 0.4,
            };
            let evidence = match &r.output {
                Ok(out) => out.evidence.iter().take(3).cloned().collect(),
                Err(_) => Vec::new(),
            };
            let names: Vec<&str> = files.iter().take(3).map(|f| f.path.as_str()).collect();
            exec.checkpoint(
                Stage::ScopeFound,
                if names.is_empty() {
                    "no candidate files in the index".to_string()
                } else {
                    format!("candidates: {}", names.join(", "))
                },
                confidence,
                evidence,
            );
            exec.inv.planner.files = files;
            Ok(None)
        }
        1 => {
            let files = exec.inv.planner.files.clone();
            // Nothing was found to read: go straight to the answer, which says why.
            if files.is_empty() {
                return Ok(None);
            }
            let mut calls = Vec::new();
            for f in files.iter().take(2) {
                let path = f.path.as_str();
                let args = match f.symbols.first() {
                    Some(sym) => {
                        let start = sym.start_line.max(1);
                        let end = sym.end_line.max(start).min(start + 59);
                        json!({"path": path, "start_line": start, "end_line": end})
                    }
                    None => json!({"path": path, "start_line": 1, "end_line": 40}),
                };
                calls.push(("read_file".to_string(), args));
            }
            calls.push((
                "similar_past_changes".to_string(),
                json!({"text": exec.inv.request.clone(), "max": 5}),
            ));
            if let Some(top) = files.first().map(|f| f.path.as_str()) {
                calls.push(("related_files".to_string(), json!({"path": top, "top": 5})));
            }
            let planned = calls
                .into_iter()
                .map(|(name, args)| crate::agent::exec::PlannedCall {
                    id: exec.new_call_id(),
                    name,
                    args,
                })
                .collect();
            let results = exec.tools(planned).await?;
            let mut evidence = Vec::new();
            for r in &results {
                if let Ok(out) = &r.output {
                    evidence.extend(out.evidence.iter().take(2).cloned());
                    if let ToolData::Related(related) = &out.data {
                        exec.inv.planner.notes.extend(
                            related
                                .iter()
                                .take(3)
                                .map(|r| format!("related: {} ({})", r.path, r.via)),
                        );
                    }
                }
            }
            let conf = exec.inv.best_confidence().unwrap_or(0.3);
            exec.checkpoint(
                Stage::EvidenceGathered,
                format!("read the top functions; {} related facts", evidence.len()),
                conf,
                evidence,
            );
            Ok(None)
        }
        _ => {
            let text = issue_answer(exec);
            let conf = exec.inv.best_confidence();
            if let Some(f) = exec.inv.planner.files.first() {
                let path = f.path.clone();
                let sym = f
                    .symbols
                    .first()
                    .map(|s| format!(" ({})", s.name))
                    .unwrap_or_default();
                exec.checkpoint(
                    Stage::Hypothesis,
                    format!("start with {path}{sym}"),
                    conf.unwrap_or(0.3),
                    exec.inv.evidence.iter().take(4).cloned().collect(),
                );
            }
            Ok(Some(finish(exec, text, conf)))
        }
    }
}

pub(super) fn issue_answer(exec: &Exec<'_>) -> String {
    let st = &exec.inv.planner;
    let mut s = String::new();
    if let Some(why) = &st.cluster_unavailable {
        let _ = writeln!(
            s,
            "The cluster could not be read ({why}); this is what the code says.\n"
        );
    }
    if st.files.is_empty() {
        let why = exec
            .inv
            .planner
            .notes
            .iter()
            .find(|n| n.starts_with("unavailable: "))
            .map(|n| n.trim_start_matches("unavailable: ").to_string());
        match why {
            Some(why) => {
                let _ = writeln!(s, "The code could not be searched: {why}.");
            }
            None => {
                let _ = writeln!(s, "Nothing in the index matches this text.");
            }
        }
        return s;
    }
    let conf = exec.inv.best_confidence().unwrap_or(0.3);
    let _ = writeln!(
        s,
        "## Where to look\n\n**Confidence:** {} ({conf:.2})\n",
        confidence_label(conf)
    );
    for (i, f) in st.files.iter().take(5).enumerate() {
        let reasons: Vec<&str> = f.reasons.iter().take(3).map(String::as_str).collect();
        let _ = writeln!(s, "{}. `{}`: {}", i + 1, f.path, reasons.join("; "));
        for sym in f.symbols.iter().take(2) {
            let _ = writeln!(
                s,
                "   - {} `{}` lines {}-{}",
                sym.kind, sym.name, sym.start_line, sym.end_line
            );
        }
    }
    let commits = commits_seen(exec, 3);
    if !commits.is_empty() {
        let _ = writeln!(s, "\n**Similar past changes:**");
        for c in commits {
            let _ = writeln!(s, "- `{}` {}", c.reference, c.detail);
        }
    }
    let related: Vec<&String> = st
        .notes
        .iter()
        .filter(|n| n.starts_with("related:"))
        .collect();
    if !related.is_empty() {
        let _ = writeln!(s, "\n**Often changed together:**");
        for r in related {
            let _ = writeln!(s, "- {}", r.trim_start_matches("related: "));
        }
    }
    s
}
