//! Pods that ran until the scheduler preempted them for a pod of higher priority: their
//! replacements find no room because the preemptor took it. The workload to look at is
//! the preemptor's (its priority class and its requests), not the target's own
//! requests, which fitted until then.

use k8s_openapi::api::core::v1::Pod;

use super::super::clues::Cause;
use super::super::objects;
use super::super::world::World;
use super::candidate::{Candidate, Facts, symptoms_of};
use super::resolve::{owner_of, target_ref};
use crate::kube::source::EventSummary;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// What a `Preempted` event names: the preemptor (a pod's uid, or `namespace/name`)
/// and the node (`Preempted by pod 5f1c… on node ip-10-0-1-2`,
/// `Preempted by falco/falco-x2k on node n1`).
pub fn preemptor(message: &str) -> Option<(&str, Option<&str>)> {
    let rest = message.strip_prefix("Preempted by ")?;
    let rest = rest.strip_prefix("pod ").unwrap_or(rest);
    let by = rest.split_whitespace().next()?;
    let node = rest
        .split_once(" on node ")
        .and_then(|(_, n)| n.split_whitespace().next());
    Some((by.trim_end_matches([',', '.', ';']), node))
}

/// `Preempted` events about the target's pods.
pub fn preempted<'w>(w: &'w World, workload: &'w str) -> impl Iterator<Item = &'w EventSummary> {
    w.events.iter().filter(move |e| {
        e.reason == "Preempted"
            && e.about.kind == "Pod"
            && objects::named_for(&e.about.name, workload)
    })
}

/// The pod a `Preempted` event names, among the pods read.
fn preempting_pod<'w>(w: &'w World, by: &str) -> Option<&'w Pod> {
    let (ns, name) = by.split_once('/').unwrap_or(("", by));
    w.pods(None).find(|p| {
        p.metadata.uid.as_deref() == Some(by)
            || (!ns.is_empty()
                && p.metadata.namespace.as_deref() == Some(ns)
                && objects::name(&p.metadata) == name)
    })
}

/// The requests of a pod's containers, `cpu 1, memory 512Mi`.
fn requests(p: &Pod) -> String {
    let mut parts = Vec::new();
    for c in p.spec.iter().flat_map(|s| s.containers.iter()) {
        for (k, q) in c
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .into_iter()
            .flatten()
        {
            parts.push(format!("{k} {}", q.0));
        }
    }
    parts.join(", ")
}

/// The target's pods preempted by pods of one workload: that workload took their room.
pub(super) fn preemption(e: &Facts<'_>) -> Option<Candidate> {
    let t = e.target;
    let mut victims: Vec<&str> = Vec::new();
    let mut nodes: Vec<&str> = Vec::new();
    let mut by: Option<(&Pod, ResourceRef)> = None;
    for ev in preempted(e.world, &t.name) {
        let Some((who, node)) = preemptor(&ev.message) else {
            continue;
        };
        let Some(p) = preempting_pod(e.world, who) else {
            continue;
        };
        let pod = ResourceRef::new(
            "Pod",
            p.metadata.namespace.as_deref(),
            objects::name(&p.metadata),
        );
        let owner = owner_of(e.world, &pod).unwrap_or(pod);
        if by.as_ref().is_some_and(|(_, o)| *o != owner) {
            continue;
        }
        by.get_or_insert((p, owner));
        if !victims.contains(&ev.about.name.as_str()) {
            victims.push(&ev.about.name);
        }
        if let Some(n) = node.filter(|n| !nodes.contains(n)) {
            nodes.push(n);
        }
    }
    let (pod, owner) = by?;
    let spec = pod.spec.as_ref();
    let priority = spec
        .and_then(|s| s.priority_class_name.clone())
        .or_else(|| spec.and_then(|s| s.priority).map(|p| p.to_string()))
        .unwrap_or_else(|| "a higher one".into());
    let pending: Vec<&Pod> = e
        .world
        .pods_of(&t.name, t.namespace.as_deref())
        .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending"))
        .collect();
    let asks = requests(pod);
    let detail = format!(
        "its pods preempted {} of {}'s pods on {} (priority {priority}{}); the replacements find no room",
        victims.len(),
        t.name,
        nodes.join(", "),
        if asks.is_empty() {
            String::new()
        } else {
            format!(", requests {asks}")
        },
    );
    let c = Candidate::new(Cause::InsufficientResources, owner, detail, 0.95)
        .because(
            EvidenceKind::Event,
            ResourceRef::new(
                "Pod",
                t.namespace.as_deref(),
                victims.first().copied().unwrap_or_default(),
            )
            .to_string(),
            "Preempted by a pod of higher priority",
        )
        .explaining(symptoms_of(e, &pending))
        .checked_by(Check::Unschedulable)
        .via(target_ref(t));
    Some(c)
}

/// The target's own "not enough room" gives way to the workload that preempted its pods.
pub(super) fn rule_out_own_requests(out: &mut [Candidate], t: &super::super::target::Target) {
    let Some(p) = out.iter().find(|c| {
        c.cause == Cause::InsufficientResources && c.culprit.name != t.name && c.ruled_out.is_none()
    }) else {
        return;
    };
    let why = format!(
        "not {}'s own requests: its pods ran until {} {} preempted them",
        t.name, p.culprit.kind, p.culprit.name
    );
    let taken = p.explains.clone();
    for c in out.iter_mut().filter(|c| {
        c.cause == Cause::InsufficientResources && c.culprit.name == t.name && c.ruled_out.is_none()
    }) {
        c.ruled_out = Some(why.clone());
        c.explains.retain(|i| !taken.contains(i));
    }
}

#[cfg(test)]
mod tests {
    use super::preemptor;

    #[test]
    fn a_preempted_event_names_the_preemptor_and_the_node() {
        assert_eq!(
            preemptor("Preempted by pod f9893d0b-b2d2 on node ip-10-20-33-41.ec2.internal"),
            Some(("f9893d0b-b2d2", Some("ip-10-20-33-41.ec2.internal")))
        );
        assert_eq!(
            preemptor("Preempted by kube-system/agent-x2k on node n1"),
            Some(("kube-system/agent-x2k", Some("n1")))
        );
        assert_eq!(preemptor("Killing: Stopping container"), None);
    }
}
