//! Findings: pure analyzers over a parsed snapshot and its graph. Each finding has a
//! severity, the resource, evidence (status fields, events, a log excerpt) and the kubectl
//! command a person would run to see it for themselves.

mod context;
mod finding;
mod objects;
mod platform;
mod pods;

use crate::kube::graph::Graph;
use crate::kube::state::ClusterState;
use context::Ctx;

pub use finding::{AnalyzeOptions, Finding, FindingKind, Severity};

/// Every finding, most severe first.
pub fn analyze(state: &ClusterState, graph: &Graph, opts: &AnalyzeOptions) -> Vec<Finding> {
    let ctx = Ctx::new(state, graph, opts);
    let mut out = Vec::new();
    out.extend(platform::node_findings(&ctx));
    out.extend(pods::pod_findings(&ctx));
    out.extend(objects::workload_findings(&ctx));
    out.extend(objects::service_findings(&ctx));
    out.extend(platform::storage_and_batch_findings(&ctx));
    out.extend(platform::hpa_findings(&ctx));
    sort_findings(&mut out);
    out
}

/// Most severe first, then by kind, then by resource.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.resource.cmp(&b.resource))
    });
}
