//! Extended resources (`nvidia.com/gpu`, `example.com/fpga`) exist on a node only while a
//! device plugin runs there and advertises them. "Insufficient nvidia.com/gpu" when no
//! node advertises any is not a lack of room: the plugin does not run where the pods are
//! meant to go, most often because it does not tolerate those nodes' taint.

use k8s_openapi::api::core::v1::{Node, PodSpec, Taint, Toleration};

use super::super::clues::Cause;
use super::super::objects;
use super::candidate::{Candidate, Facts};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// The extended resource a scheduling message finds insufficient (`nvidia.com/gpu`), if
/// the message is about one: a name with a domain, not cpu, memory or pods.
pub fn extended(message: &str) -> Option<String> {
    message.split("Insufficient ").skip(1).find_map(|rest| {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_'))
            .collect();
        let name = name.trim_end_matches(['.', ',']).to_string();
        name.contains('/').then_some(name)
    })
}

/// Not enough room for an extended resource no node advertises gives way to the
/// DaemonSet that should advertise it on the nodes the pods select but cannot run there.
pub(super) fn behind_device_plugin(out: &mut Vec<Candidate>, e: &Facts<'_>) {
    let w = e.world;
    // The scheduler's message reads as "no room" or, when other nodes fail the selector,
    // as "the selector matches no node": either way the nodes meant for the pods lack it.
    let scheduling = |c: &Candidate| {
        matches!(c.cause, Cause::InsufficientResources | Cause::NodeAffinity)
            && c.ruled_out.is_none()
            && c.culprit.name == e.target.name
            && extended(&c.detail).is_some()
    };
    let Some(i) = out.iter().position(scheduling) else {
        return;
    };
    let Some(resource) = extended(&out[i].detail) else {
        return;
    };
    let readings: Vec<usize> = (0..out.len()).filter(|&k| scheduling(&out[k])).collect();
    let nodes: Vec<&Node> = w
        .of_kind("Node", None)
        .filter_map(|o| match o {
            KubeObject::Node(n) => Some(n.as_ref()),
            _ => None,
        })
        .collect();
    if nodes.is_empty() || nodes.iter().any(|n| advertises(n, &resource)) {
        return;
    }
    let wanted = w
        .get(
            &e.target.kind,
            e.target.namespace.as_deref(),
            &e.target.name,
        )
        .and_then(objects::template)
        .and_then(|s| s.node_selector.clone())
        .unwrap_or_default();
    let meant: Vec<&Node> = nodes
        .iter()
        .copied()
        .filter(|n| !wanted.is_empty() && selects(&wanted, n))
        .collect();
    let found = w.of_kind("DaemonSet", None).find_map(|o| {
        let spec = objects::template(o)?;
        let sel = spec.node_selector.clone().unwrap_or_default();
        meant.iter().find_map(|n| {
            if !selects(&sel, n) {
                return None;
            }
            let t = untolerated(n, spec)?;
            Some((
                ResourceRef::new("DaemonSet", o.namespace(), o.name()),
                n.metadata.name.clone().unwrap_or_default(),
                t,
            ))
        })
    });
    let Some((ds, node, taint)) = found else {
        // Still not a lack of room: say what is missing, without a culprit to name.
        out[i].detail.push_str(&format!(
            "; no node advertises {resource} at all: what advertises it (a device plugin) does not run on the nodes"
        ));
        for &k in &readings {
            out[k].specificity = out[k].specificity.min(0.6);
        }
        return;
    };
    let detail = format!(
        "no node advertises {resource}: DaemonSet {} (its node selector picks {node}, the node the pods select) does not tolerate that node's taint {taint}, so it has no pod there to advertise {resource}",
        ds.name
    );
    let mut c = Candidate::new(Cause::UntoleratedTaint, ds.clone(), detail, 0.9)
        .explaining(out[i].explains.iter().copied())
        .because(
            crate::protocol::EvidenceKind::Resource,
            format!("Node/{node}"),
            format!("taint {taint}; allocatable has no {resource}"),
        );
    c.check = out[i].check.clone();
    c.related.push(super::resolve::target_ref(e.target));
    for &k in &readings {
        out[k].ruled_out = Some(format!(
            "not a lack of room: no node advertises {resource}; DaemonSet {} does not run on {node}",
            ds.name
        ));
    }
    out.push(c);
}

fn advertises(n: &Node, resource: &str) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.allocatable.as_ref())
        .and_then(|a| a.get(resource))
        .is_some_and(|q| q.0.trim() != "0")
}

fn selects(selector: &std::collections::BTreeMap<String, String>, n: &Node) -> bool {
    let labels = n.metadata.labels.clone().unwrap_or_default();
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// The first NoSchedule or NoExecute taint of the node that the pod spec does not
/// tolerate, as `key=value:Effect`.
fn untolerated(n: &Node, spec: &PodSpec) -> Option<String> {
    let tolerations = spec.tolerations.clone().unwrap_or_default();
    n.spec
        .as_ref()?
        .taints
        .iter()
        .flatten()
        .filter(|t| t.effect != "PreferNoSchedule")
        .find(|t| !tolerations.iter().any(|x| tolerates(x, t)))
        .map(|t| match &t.value {
            Some(v) => format!("{}={v}:{}", t.key, t.effect),
            None => format!("{}:{}", t.key, t.effect),
        })
}

fn tolerates(x: &Toleration, t: &Taint) -> bool {
    let exists = x.operator.as_deref() == Some("Exists");
    let key = match x.key.as_deref() {
        None | Some("") => exists,
        Some(k) => k == t.key,
    };
    let value = exists || x.value.as_deref().unwrap_or("") == t.value.as_deref().unwrap_or("");
    let effect = x
        .effect
        .as_deref()
        .is_none_or(|e| e.is_empty() || e == t.effect);
    key && value && effect
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extended_resource_is_read_from_the_scheduler_message() {
        let m = "0/6 nodes are available: 1 Insufficient nvidia.com/gpu, 5 node(s) didn't match Pod's node affinity/selector.";
        assert_eq!(extended(m).as_deref(), Some("nvidia.com/gpu"));
        assert_eq!(
            extended("0/3 nodes are available: 3 Insufficient memory."),
            None
        );
    }

    #[test]
    fn a_toleration_for_another_key_does_not_cover_the_taint() {
        let t: Taint = serde_json::from_value(
            serde_json::json!({"key": "gpu", "value": "true", "effect": "NoSchedule"}),
        )
        .unwrap();
        let other: Toleration = serde_json::from_value(serde_json::json!({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})).unwrap();
        let same: Toleration = serde_json::from_value(
            serde_json::json!({"key": "gpu", "operator": "Equal", "value": "true"}),
        )
        .unwrap();
        let all: Toleration =
            serde_json::from_value(serde_json::json!({"operator": "Exists"})).unwrap();
        assert!(!tolerates(&other, &t));
        assert!(tolerates(&same, &t));
        assert!(tolerates(&all, &t));
    }
}
