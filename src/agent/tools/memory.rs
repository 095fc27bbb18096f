//! `recall_memory`: what triage learned before, as hypotheses to verify.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolError, ToolOutput, arg, quote, req_str, str_arg, u64_arg};
use crate::memory::{RecallQuery, Scope};
use crate::protocol::{Evidence, EvidenceKind};

pub fn tools() -> Vec<Tool> {
    vec![Tool {
        name: "recall_memory",
        description: "Recall what was learned before (runbooks, past investigations, corrections from engineers) that matches this text and scope. Each memory is a hypothesis: verify it with a tool call before relying on it.",
        parameters: json!({"type":"object","properties":{
            "text":{"type":"string"},
            "service":{"type":"string"},
            "namespace":{"type":"string"},
            "top":{"type":"integer","minimum":1,"maximum":10}},"required":["text"]}),
        timeout: None,
        human: |args| {
            format!(
                "triage memory list  # matching {}",
                quote(arg(args, "text"))
            )
        },
        run: Some(|ctx, args| Box::pin(recall(ctx, args))),
    }]
}

async fn recall(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let text = req_str(args, "text")?;
    let store = ctx.memory().await?;
    let scope = Scope {
        service: str_arg(args, "service").map(str::to_string),
        namespace: str_arg(args, "namespace").map(str::to_string),
        ..Scope::default()
    };
    let hits = store
        .recall(
            &RecallQuery {
                text: text.to_string(),
                scope,
            },
            u64_arg(args, "top").unwrap_or(5).clamp(1, 10) as usize,
        )
        .await
        .map_err(|e| ToolError::Failed(e.to_string()))?;
    let mut out = String::new();
    for h in &hits {
        let _ = writeln!(
            out,
            "{} [{} {:.2}, {}] {}\n   scope: {}; matched: {}",
            h.memory.id,
            h.memory.kind.as_str(),
            h.score,
            h.memory.source,
            h.memory.text,
            h.memory.scope,
            h.why
        );
    }
    if hits.is_empty() {
        out.push_str("no memories match\n");
    }
    Ok(ToolOutput {
        summary: format!("{} memories", hits.len()),
        text: out,
        evidence: hits
            .iter()
            .map(|h| Evidence {
                kind: EvidenceKind::Memory,
                reference: h.memory.id.clone(),
                detail: format!(
                    "{} ({})",
                    h.memory
                        .text
                        .lines()
                        .map(|l| l.trim_start_matches('#').trim())
                        .find(|l| !l.is_empty())
                        .unwrap_or(""),
                    h.memory.source
                ),
                call: None,
            })
            .collect(),
        data: serde_json::to_value(&hits).unwrap_or(Value::Null),
    })
}
