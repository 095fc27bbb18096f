//! triage: a terminal copilot for engineers on call and for repo triage.
//!
//! Data flows one way: sources (repo index, cluster, memory) → agent → events → views.

pub mod agent;
pub mod commands;
pub mod config;
pub mod demo;
pub mod eval;
pub mod headless;
pub mod index;
pub mod kube;
pub mod llm;
pub mod logging;
pub mod mcp;
pub mod memory;
pub mod protocol;
pub mod repo;
pub mod term_safe;
pub mod tls;
pub mod trace;
pub mod tui;
pub mod watch;
