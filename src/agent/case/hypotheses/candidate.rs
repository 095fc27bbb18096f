//! A candidate cause and the facts candidates are drawn from: what every family of
//! hypotheses builds and reads.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::super::alert::Alert;
use super::super::clues::Cause;
use super::super::objects;
use super::super::symptoms::Observations;
use super::super::target::{Target, ev};
use super::super::timeline::Change;
use super::super::world::World;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::{Evidence, EvidenceKind};

/// One candidate cause.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub cause: Cause,
    /// The object to change (or, for causes outside the cluster, what to look at).
    pub culprit: ResourceRef,
    /// What the culprit's problem is, in a few words (`no key PAYMENTS_URL`,
    /// `tag v3.3.0 not found`).
    pub detail: String,
    /// Symptom → … → culprit, as evidence.
    pub chain: Vec<Evidence>,
    /// Ids of the symptoms it explains.
    pub explains: BTreeSet<usize>,
    /// How directly the evidence names this cause (0–1).
    pub specificity: f32,
    /// The change that brought it, when one is dated.
    pub change: Option<Change>,
    /// The read that would confirm it now.
    pub check: Check,
    /// Other objects the chain passes through (named in the statement).
    pub related: Vec<ResourceRef>,
    /// Ranking score (0–1), set by [`super::rank`].
    pub score: f32,
    /// What a rival check found against it.
    pub ruled_out: Option<String>,
}

impl Candidate {
    pub fn new(
        cause: Cause,
        culprit: ResourceRef,
        detail: impl Into<String>,
        specificity: f32,
    ) -> Self {
        Self {
            cause,
            culprit,
            detail: detail.into(),
            chain: Vec::new(),
            explains: BTreeSet::new(),
            specificity,
            change: None,
            check: Check::None,
            related: Vec::new(),
            score: 0.0,
            ruled_out: None,
        }
    }

    pub fn because(
        mut self,
        kind: EvidenceKind,
        reference: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        self.chain.push(ev(kind, reference, detail));
        self
    }

    pub fn explaining(mut self, ids: impl IntoIterator<Item = usize>) -> Self {
        self.explains.extend(ids);
        self
    }

    pub fn checked_by(mut self, check: Check) -> Self {
        self.check = check;
        self
    }

    pub fn dated(mut self, change: Option<&Change>) -> Self {
        self.change = change.cloned();
        self
    }

    pub fn via(mut self, r: ResourceRef) -> Self {
        if !self.related.contains(&r) && r != self.culprit {
            self.related.push(r);
        }
        self
    }

    /// Same cause about the same object.
    pub(super) fn same(&self, other: &Candidate) -> bool {
        self.cause == other.cause && self.culprit == other.culprit
    }
}

/// Everything the hypotheses are drawn from.
pub struct Facts<'a> {
    pub world: &'a World,
    pub target: &'a Target,
    pub alert: &'a Alert,
    pub observations: &'a Observations,
    pub timeline: &'a [Change],
    pub start: DateTime<Utc>,
}

/// Symptom ids seen on these pods.
pub(super) fn symptoms_of(e: &Facts<'_>, pods: &[&Pod]) -> Vec<usize> {
    e.observations
        .symptoms
        .iter()
        .filter(|s| {
            s.object.kind == "Pod"
                && pods
                    .iter()
                    .any(|p| objects::name(&p.metadata) == s.object.name)
        })
        .map(|s| s.id)
        .collect()
}

/// A pod that is not serving: a container waiting or terminated in trouble, pending, or
/// running but not ready.
pub(super) fn troubled(p: &Pod) -> bool {
    !objects::container_troubles(p).is_empty()
        || p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
        || (p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
            && !objects::pod_ready(p))
}

/// Symptom ids seen on one object.
pub(super) fn seen_on(obs: &Observations, source: &ResourceRef) -> Vec<usize> {
    obs.symptoms
        .iter()
        .filter(|s| &s.object == source)
        .map(|s| s.id)
        .collect()
}
