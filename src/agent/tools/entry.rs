//! One tool, as the registry holds it.

use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use super::context::ToolContext;
use super::tool::{ToolError, ToolOutput};

/// A tool: everything about it in one entry.
pub struct Tool {
    pub name: &'static str,
    /// What the model reads to decide when to call it.
    pub description: &'static str,
    /// The JSON schema of its arguments.
    pub parameters: Value,
    /// Its own time limit; `None` takes the configured `agent.tool_timeout_secs`.
    pub timeout: Option<Duration>,
    /// The command a person would run to see what the tool saw.
    pub human: fn(&Value) -> String,
    /// Read and answer; `None` for the tools the session handles itself.
    pub run: Option<Run>,
}

/// How a tool runs: its arguments are a JSON object.
pub type Run =
    for<'a> fn(&'a ToolContext, &'a Value) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
