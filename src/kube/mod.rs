//! Kubernetes context: a read-only client, the cluster graph, findings, record and replay.

pub mod cli;
