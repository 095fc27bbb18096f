//! `triage mcp`: triage's read-only tools for other agents over the Model Context
//! Protocol, on the official SDK (`rmcp`). [`server`] answers the protocol (the tool
//! registry's read tools, resources, prompts); [`serve`] runs it on stdio or loopback
//! HTTP with a background index refresh. The other direction (MCP servers in the user's
//! config as tools for triage's agent) is the agent's: `agent::external`.

pub mod serve;
pub mod server;
