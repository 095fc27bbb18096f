//! The one integration test binary (one link step keeps the build fast).

mod agent;
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
mod llm_server;
mod mcp;
mod mcp_agent;
mod memory;
mod rerank;
mod search;
mod trust;
mod tui_e2e;
