//! What the model is told about a tool, and what running one returns.

use std::time::Duration;

use serde_json::Value;

use crate::protocol::Evidence;

/// A tool's description for the model and the tools pane.
#[derive(Debug, Clone)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
    pub timeout: Duration,
}

/// What a tool returns.
#[derive(Debug, Clone, Default)]
pub struct ToolOutput {
    /// What the model sees (capped by the session).
    pub text: String,
    /// One line for the tools pane.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// Structured result for the offline planner.
    pub data: Value,
}

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("bad arguments: {0}")]
    BadArguments(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

impl From<anyhow::Error> for ToolError {
    fn from(e: anyhow::Error) -> Self {
        ToolError::Failed(format!("{e:#}"))
    }
}

impl From<crate::kube::error::KubeError> for ToolError {
    fn from(e: crate::kube::error::KubeError) -> Self {
        ToolError::Failed(e.to_string())
    }
}
