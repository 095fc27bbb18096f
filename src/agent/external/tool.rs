//! What the executor and the session know of tools other programs serve: the tool, the
//! source that serves them ([`ExternalTools`]), and the calls waiting for a decision.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::Value;

use crate::agent::tools::{ToolError, ToolOutput};
use crate::protocol::ActionId;

/// A tool another program serves.
#[derive(Debug, Clone)]
pub struct ExternalTool {
    /// The name the model calls, namespaced by its source (`mcp__metrics__query`).
    pub name: String,
    pub description: String,
    /// JSON schema of its arguments.
    pub parameters: Value,
    /// Whether its source marks it read-only; anything else needs the user's approval.
    pub read_only: bool,
    pub timeout: Duration,
    /// Where it comes from, for the approval dialog (`MCP server metrics, tool restart`).
    pub origin: String,
}

/// Tools served by other programs (MCP servers: `external::McpHub`).
pub trait ExternalTools: Send + Sync {
    /// Start the sources (once; later calls wait for the first). Returns one message per
    /// source that failed to start; the session reports each and goes on without it.
    fn start(&self) -> BoxFuture<'_, Vec<String>>;
    /// The tools on offer, once started.
    fn tools(&self) -> BoxFuture<'_, Vec<ExternalTool>>;
    /// Call a tool by its namespaced name.
    fn call<'a>(
        &'a self,
        name: &'a str,
        args: &'a Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>>;
    /// What a person would type to make the same call, for the tools pane and approvals.
    fn command(&self, name: &str, args: &Value) -> String;
}

/// Calls of external tools waiting for the user's decision, by action id.
#[derive(Default)]
pub struct PendingCalls(Mutex<HashMap<ActionId, (String, Value)>>);

impl PendingCalls {
    pub fn insert(&self, action: ActionId, name: String, args: Value) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(action, (name, args));
        }
    }

    pub fn contains(&self, action: ActionId) -> bool {
        self.0.lock().is_ok_and(|m| m.contains_key(&action))
    }

    pub fn take(&self, action: ActionId) -> Option<(String, Value)> {
        self.0.lock().ok().and_then(|mut m| m.remove(&action))
    }
}
