//! Tools from outside triage (the MCP servers in the user's config), offered to the model
//! beside triage's own. The executor sees them through [`ExternalTools`]; [`mcp`] holds
//! the one source there is, the MCP hub a session is opened with ([`McpHub`]).
//!
//! A tool its source marks read-only runs like any of triage's tools: live in the tools
//! pane, capped, redacted before the model sees it. Any other tool is an action: calling
//! it only proposes it (classified write, with the reason), and it runs after the user
//! approves it, like a command, with the decision and the result in the audit log.

pub mod child;
pub mod mcp;
pub mod tool;

pub use mcp::McpHub;
pub use tool::{ExternalTool, ExternalTools, PendingCalls};

use std::time::{Duration, Instant};

use serde_json::Value;

use super::actions::{Classification, ExecOutput};
use super::exec::Exec;
use crate::llm::chat::{FunctionDefinition, ToolDefinition};
use crate::protocol::ProposedAction;

/// The model's view of the external tools.
pub async fn definitions(exec: &Exec<'_>) -> Vec<ToolDefinition> {
    let Some(ext) = exec.shared.external.as_ref() else {
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
pub async fn find(exec: &Exec<'_>, name: &str) -> Option<ExternalTool> {
    let ext = exec.shared.external.as_ref()?;
    ext.tools().await.into_iter().find(|t| t.name == name)
}

/// A call of a tool that is not read-only: propose it as a write action.
pub fn propose(exec: &mut Exec<'_>, tool: &ExternalTool, args: Value) -> String {
    let Some(ext) = exec.shared.external.as_ref() else {
        return "error: external tools are not available".into();
    };
    let command = ext.command(&tool.name, &args);
    let reason = format!(
        "{} is not marked read-only by its server (readOnlyHint), so it is treated as a write",
        tool.origin
    );
    let rationale = format!("the agent called {} ({})", tool.name, tool.origin);
    let proposal = match exec.shared.actions.lock() {
        Ok(mut q) => q.propose_classified(
            &command,
            &rationale,
            Classification::write_call(&command, reason),
        ),
        Err(_) => return "error: could not record the proposal".into(),
    };
    exec.shared
        .external_calls
        .insert(proposal.id, tool.name.clone(), args);
    let id = proposal.id;
    let preapproved = proposal.preapproved_by.is_some();
    exec.emit(crate::protocol::Event::ActionProposed { action: proposal });
    // The same call approved earlier for the session runs without asking again.
    if preapproved {
        exec.shared.approve_for_session(id);
    }
    format!(
        "{} changes things, so it was proposed as action {id} (write); the engineer decides whether it runs. Do not assume it ran.",
        tool.name
    )
}

/// Run an approved call, in the shape of a command's output for events and the audit.
pub async fn run_approved(
    ext: &dyn ExternalTools,
    proposal: &ProposedAction,
    name: &str,
    args: &Value,
    timeout: Duration,
) -> Result<ExecOutput, String> {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, ext.call(name, args)).await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let (exit_code, stdout, stderr, timed_out) = match result {
        Ok(Ok(out)) => (Some(0), out.text, String::new(), false),
        Ok(Err(e)) => (Some(1), String::new(), format!("{e}"), false),
        Err(_) => (
            None,
            String::new(),
            format!(
                "[no answer from {} after {} ms: timeout]",
                proposal.command,
                timeout.as_millis()
            ),
            true,
        ),
    };
    Ok(ExecOutput {
        exit_code,
        stdout,
        stderr,
        duration_ms,
        timed_out,
    })
}
