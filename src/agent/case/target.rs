//! What every step of the planner names: the object under investigation, the hypothesis
//! about it, and a piece of evidence. Plain data.

use crate::memory::Check;
use crate::protocol::{Evidence, EvidenceKind};

#[derive(Debug, Clone, Default)]
pub struct Target {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Finding kinds about it, worst first.
    pub kinds: Vec<String>,
    pub pods: Vec<String>,
    pub summaries: Vec<String>,
    pub paths: Vec<String>,
    pub named_in_request: bool,
    /// The object the alert named, when it is not the workload itself (a pod, a
    /// Service, a claim, an autoscaler).
    pub alerted: Option<crate::kube::state::ResourceRef>,
}

impl Target {
    pub fn reference(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Hypothesis {
    pub text: String,
    pub confidence: f32,
    /// (command, rationale), read commands first.
    pub actions: Vec<(String, String)>,
    /// What would confirm it.
    pub check: Check,
    pub evidence: Vec<Evidence>,
}

/// One piece of evidence.
pub fn ev(kind: EvidenceKind, reference: impl Into<String>, detail: impl Into<String>) -> Evidence {
    Evidence {
        kind,
        reference: reference.into(),
        detail: detail.into(),
        call: None,
    }
}
