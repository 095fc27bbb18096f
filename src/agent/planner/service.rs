//! The service playbook: what a service is, where its code is, what changed lately.

use std::fmt::Write as _;

use serde_json::json;

use super::answer::{commits_seen, finish};
use crate::agent::exec::{Exec, Stop};
use crate::agent::tools::ToolData;
use crate::index::localize::RankedFile;
use crate::protocol::{Answer, Stage};

pub(super) async fn service_step(exec: &mut Exec<'_>, step: usize) -> Result<Option<Answer>, Stop> {
    match step {
        0 => {
            if let Ok(r) = exec.tool("kube_findings", json!({})).await
                && let Ok(out) = r.output
                && let ToolData::Scan(scan) = out.data
            {
                exec.inv.planner.findings = scan.findings;
                exec.inv.planner.links = scan.report.links.clone();
            }
            let request = exec.inv.request.clone();
            let words: Vec<String> = request
                .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                .filter(|w| w.len() >= 4)
                .map(str::to_lowercase)
                .filter(|w| {
                    ![
                        "what", "does", "tell", "about", "context", "service", "explain",
                        "describe", "where", "owns",
                    ]
                    .contains(&w.as_str())
                })
                .collect();
            let query = words.join(" ");
            let mut evidence = Vec::new();
            if !query.is_empty()
                && let Ok(r) = exec
                    .tool("search_code", json!({"query": query, "top": 5}))
                    .await
                && let Ok(out) = r.output
            {
                evidence.extend(out.evidence.iter().cloned());
                if let ToolData::Search(result) = &out.data {
                    exec.inv.planner.files = result
                        .files
                        .iter()
                        .map(|f| RankedFile {
                            path: f.path.clone(),
                            score: f.score,
                            reasons: f.reasons.clone(),
                            symbols: Vec::new(),
                        })
                        .collect();
                }
            }
            let conf = if evidence.is_empty() { 0.2 } else { 0.5 };
            exec.checkpoint(
                Stage::ScopeFound,
                format!(
                    "{} files and {} findings mention it",
                    exec.inv.planner.files.len(),
                    exec.inv.planner.findings.len()
                ),
                conf,
                evidence,
            );
            Ok(None)
        }
        1 => {
            let top: Option<String> = exec.inv.planner.files.first().map(|f| f.path.clone());
            if let Some(p) = top {
                let dir = p.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or(p);
                let _ = exec.tool("git_log", json!({"path": dir, "max": 5})).await?;
            }
            Ok(None)
        }
        _ => {
            let mut s = String::from("## Service context\n\n");
            for (i, f) in exec.inv.planner.files.iter().take(5).enumerate() {
                let _ = writeln!(s, "{}. `{}`", i + 1, f.path);
            }
            let commits = commits_seen(exec, 5);
            if !commits.is_empty() {
                let _ = writeln!(s, "\n**Recent changes:**");
                for c in commits {
                    let _ = writeln!(s, "- `{}` {}", c.reference, c.detail);
                }
            }
            let conf = exec.inv.best_confidence();
            Ok(Some(finish(exec, s, conf)))
        }
    }
}
