//! The candidate for an autoscaler tied to the target whose scale target does not
//! exist (`case::autoscalers` says which are tied): the target runs without autoscaling.

use super::super::autoscalers::{missing_target, named_for};
use super::super::clues::{self, Cause};
use super::candidate::{Candidate, Facts};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// An autoscaler tied to the target whose scale target does not exist: the target runs
/// without autoscaling.
pub(super) fn orphaned(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let mut out = Vec::new();
    for o in e
        .world
        .of_kind("HorizontalPodAutoscaler", t.namespace.as_deref())
    {
        let KubeObject::HorizontalPodAutoscaler(h) = o else {
            continue;
        };
        let (Some(spec), Some((why, msg))) = (h.spec.as_ref(), missing_target(e.world, h)) else {
            continue;
        };
        if !named_for(e.world, t, h) {
            continue;
        }
        let r = &spec.scale_target_ref;
        let current = h
            .status
            .as_ref()
            .and_then(|s| s.current_replicas)
            .unwrap_or(0);
        let ids = super::candidate::seen_on(e.observations, &o.reference());
        out.push(
            Candidate::new(
                Cause::MissingConfig,
                o.reference(),
                format!(
                    "scales {} {}, which does not exist (scaleTargetRef not found: {why}), so {} {} runs at {current} replicas without autoscaling; point its scaleTargetRef at {}",
                    r.kind, r.name, t.kind, t.name, t.name
                ),
                0.85,
            )
            .because(EvidenceKind::Resource, o.reference().to_string(), clues::cut(msg, 160))
            .explaining(ids.into_iter().chain([0]))
            .checked_by(Check::Missing {
                resource: ResourceRef::new(&r.kind, t.namespace.as_deref(), &r.name).to_string(),
            }),
        );
    }
    out
}

/// Two autoscalers for one workload (a KEDA ScaledObject's HPA beside the chart's): the
/// HPA controller acts on neither (`ScalingActive=False`, `AmbiguousSelector`), so the
/// target keeps its replica count whatever the load.
pub(super) fn ambiguous(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let hpas: Vec<&KubeObject> = e
        .world
        .of_kind("HorizontalPodAutoscaler", t.namespace.as_deref())
        .filter(|o| {
            matches!(o, KubeObject::HorizontalPodAutoscaler(h)
                if h.spec.as_ref().is_some_and(|s| s.scale_target_ref.name == t.name))
        })
        .collect();
    let Some((o, msg, current)) = hpas.iter().find_map(|o| {
        let KubeObject::HorizontalPodAutoscaler(h) = o else {
            return None;
        };
        let st = h.status.as_ref()?;
        let c =
            st.conditions.iter().flatten().find(|c| {
                c.status == "False" && c.reason.as_deref() == Some("AmbiguousSelector")
            })?;
        Some((
            *o,
            c.message.clone().unwrap_or_default(),
            st.current_replicas.unwrap_or(0),
        ))
    }) else {
        return Vec::new();
    };
    let others: Vec<String> = hpas
        .iter()
        .filter(|x| x.name() != o.name())
        .map(|x| format!("HorizontalPodAutoscaler {}", x.name()))
        .collect();
    let with = if others.is_empty() {
        "another autoscaler".to_string()
    } else {
        others.join(" and ")
    };
    let ids = super::candidate::seen_on(e.observations, &o.reference());
    vec![
        Candidate::new(
            Cause::MissingConfig,
            o.reference(),
            format!(
                "and {with} both scale {} {} (multiple HPAs, an ambiguous selector: {}), so the HPA controller acts on neither and {} stays at {current} replicas; keep one of the two",
                t.kind,
                t.name,
                clues::cut(&msg, 140),
                t.name
            ),
            0.85,
        )
        .because(EvidenceKind::Resource, o.reference().to_string(), clues::cut(&msg, 160))
        .explaining(ids.into_iter().chain([0]))
        .checked_by(Check::Present {
            resource: o.reference().to_string(),
            key: None,
        }),
    ]
}
