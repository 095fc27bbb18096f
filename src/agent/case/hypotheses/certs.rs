//! Certificates cert-manager manages: what keeps one from being ready or renewed, read
//! from the status of the Certificate, its requests, orders and challenges and its issuer
//! (`case/certs.rs`), as candidates whose culprit is the object to change.

use super::super::certs;
use super::super::clues::Cause;
use super::candidate::{Candidate, Facts};
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// The read that confirms a culprit: that it is still there, or, for one that does not
/// exist (an issuer a Certificate names), that it is still missing.
fn check_of(e: &Facts<'_>, culprit: &crate::kube::state::ResourceRef) -> Check {
    if e.world
        .is_missing(&culprit.kind, culprit.namespace.as_deref(), &culprit.name)
    {
        Check::Missing {
            resource: culprit.to_string(),
        }
    } else {
        Check::Present {
            resource: culprit.to_string(),
            key: None,
        }
    }
}

/// A candidate for each reason the target Certificate does not become ready or renew.
pub(super) fn certificates(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    if t.kind != "Certificate" {
        return Vec::new();
    }
    let ns = t.namespace.as_deref();
    let mut out = Vec::new();
    for trouble in certs::troubles(e.world, ns, &t.name, e.start) {
        let mut c = Candidate::new(
            Cause::Certificate,
            trouble.culprit.clone(),
            trouble.detail.clone(),
            trouble.specificity,
        )
        .explaining([0])
        .checked_by(check_of(e, &trouble.culprit));
        for (r, says) in &trouble.chain {
            c = c
                .because(EvidenceKind::Resource, r.to_string(), says.clone())
                .via(r.clone());
        }
        out.push(c);
    }
    out
}
