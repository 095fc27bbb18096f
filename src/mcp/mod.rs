//! The Model Context Protocol, both ways, on the official SDK (`rmcp`):
//! - [`serve`]/[`server`]: `triage mcp` gives other agents triage's read-only tools;
//! - [`client`]: MCP servers in the user's config give triage's agent more tools.

pub mod child;
pub mod client;
pub mod cmd;
pub mod serve;
pub mod server;

pub use client::McpHub;
