//! Certificates cert-manager manages: what keeps one from being ready or renewed, read
//! from the status of the Certificate, its requests, orders and challenges and its issuer
//! (`case/certs.rs`), as candidates whose culprit is the object to change.

use super::super::certs;
use super::super::clues::Cause;
use super::candidate::{Candidate, Facts};
use crate::memory::Check;
use crate::protocol::EvidenceKind;

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
        .checked_by(Check::Present {
            resource: trouble.culprit.to_string(),
            key: None,
        });
        for (r, says) in &trouble.chain {
            c = c
                .because(EvidenceKind::Resource, r.to_string(), says.clone())
                .via(r.clone());
        }
        out.push(c);
    }
    out
}
