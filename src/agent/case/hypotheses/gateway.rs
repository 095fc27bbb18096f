//! Routes of other ingress controllers (Gateway API HTTPRoutes, Traefik IngressRoutes):
//! a route that is the target, or the one the alert reached the target through, sends
//! traffic where nothing can serve it (`case/routes.rs`): the route is the object to
//! change. A route whose backends resolve is no cause; what is wrong is then behind it.

use super::super::clues::Cause;
use super::super::routes;
use super::candidate::{Candidate, Facts};
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// A candidate for the target route, or the alerted one, that cannot reach its backends.
pub(super) fn routes(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let mut refs = Vec::new();
    if routes::KINDS.contains(&t.kind.as_str()) {
        refs.push((t.kind.clone(), t.namespace.clone(), t.name.clone()));
    }
    if let Some(a) = t
        .alerted
        .as_ref()
        .filter(|a| routes::KINDS.contains(&a.kind.as_str()))
    {
        refs.push((a.kind.clone(), a.namespace.clone(), a.name.clone()));
    }
    refs.dedup();
    let mut out = Vec::new();
    for (kind, ns, name) in refs {
        let Some(r) = e
            .world
            .get(&kind, ns.as_deref(), &name)
            .and_then(routes::route)
        else {
            continue;
        };
        let problems = routes::problems(e.world, &r);
        if problems.is_empty() {
            continue;
        }
        let culprit = r.reference.clone();
        let mut c = Candidate::new(
            Cause::IngressBackend,
            culprit.clone(),
            problems.join("; "),
            0.85,
        )
        .because(
            EvidenceKind::Resource,
            culprit.to_string(),
            format!("routes {} to its backends", r.hosts.join(", ")),
        )
        .explaining([0])
        .checked_by(Check::Present {
            resource: culprit.to_string(),
            key: None,
        });
        if let Some(u) = &r.unresolved {
            c = c.because(EvidenceKind::Resource, culprit.to_string(), u.clone());
        }
        out.push(c);
    }
    out
}
