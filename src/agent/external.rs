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

use super::actions::ExecOutput;
use crate::protocol::ProposedAction;

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
