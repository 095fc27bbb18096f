//! The one integration test binary (one link step keeps the build fast).

// Test code: a panic here is a failed test, helpers included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent;
mod alert_scope;
mod architecture;
mod beyond_namespace;
mod canary;
mod cli_kube;
mod cli_setup;
mod common;
mod diagnose_model;
mod embed_endpoint;
mod history;
mod incidents;
mod index;
mod index_bad_input;
mod kube;
mod kube_certs;
mod kube_faults;
mod kube_guard;
mod kube_kubectl;
mod kube_routes;
mod learning;
mod limits;
mod llm_questions;
mod llm_quirks;
mod llm_server;
mod mcp;
mod mcp_agent;
mod memory;
mod memory_import;
#[cfg(feature = "s3")]
mod memory_s3;
mod rerank;
mod search;
mod static_embed;
mod trust;
mod tui_e2e;
mod watch;
mod watch_picture;
mod watch_support;
