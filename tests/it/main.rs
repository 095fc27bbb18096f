//! The one integration test binary (one link step keeps the build fast).

// Test code: a panic here is a failed test, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent;
mod architecture;
mod canary;
mod common;
mod embed_endpoint;
mod history;
mod incidents;
mod index;
mod index_bad_input;
mod kube;
mod kube_faults;
mod kube_guard;
mod kube_kubectl;
mod learning;
mod llm_questions;
mod llm_server;
mod mcp;
mod mcp_agent;
mod memory;
mod rerank;
mod search;
mod trust;
mod tui_e2e;
