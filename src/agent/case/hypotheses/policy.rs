//! NetworkPolicies: which pods a policy selects, and whether its rules admit the
//! traffic the target's logs say fails (egress to a dependency or to cluster DNS,
//! ingress from the target to a dependency).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::super::clues::Cause;
use super::super::deps;
use super::super::objects;
use super::candidate::{Candidate, Facts};
use super::resolve::{target_ref, workload_behind};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// A pod as a NetworkPolicy peer sees it: labels, namespace, and the port reached.
struct Peer<'a> {
    labels: &'a BTreeMap<String, String>,
    namespace: &'a str,
    port: Option<i32>,
}

/// Whether one peer clause of a policy in `policy_ns` matches `p`.
fn peer_matches(peer: &NetworkPolicyPeer, p: &Peer<'_>, policy_ns: &str) -> bool {
    let ns_ok = match &peer.namespace_selector {
        Some(sel) => objects::selects(
            sel,
            &BTreeMap::from([(
                "kubernetes.io/metadata.name".to_string(),
                p.namespace.to_string(),
            )]),
        ),
        None => p.namespace == policy_ns,
    };
    let pod_ok = peer
        .pod_selector
        .as_ref()
        .is_none_or(|sel| objects::selects(sel, p.labels));
    peer.ip_block.is_none() && ns_ok && pod_ok
}

fn ports_allow(ports: Option<&Vec<NetworkPolicyPort>>, port: Option<i32>) -> bool {
    match (ports, port) {
        (None, _) | (_, None) => true,
        (Some(ps), Some(n)) => ps.is_empty() || ps.iter().any(|x| port_is(x, n)),
    }
}

/// Whether a policy's egress rules let its pods reach `p`.
fn egress_allows(spec: &NetworkPolicySpec, p: &Peer<'_>, policy_ns: &str) -> bool {
    spec.egress.iter().flatten().any(|r| {
        ports_allow(r.ports.as_ref(), p.port)
            && r.to
                .as_deref()
                .is_none_or(|to| to.is_empty() || to.iter().any(|x| peer_matches(x, p, policy_ns)))
    })
}

/// Whether a policy's ingress rules let `p` reach its pods.
fn ingress_allows(
    spec: &NetworkPolicySpec,
    p: &Peer<'_>,
    policy_ns: &str,
    port: Option<i32>,
) -> bool {
    spec.ingress.iter().flatten().any(|r| {
        ports_allow(r.ports.as_ref(), port)
            && r.from.as_deref().is_none_or(|from| {
                from.is_empty() || from.iter().any(|x| peer_matches(x, p, policy_ns))
            })
    })
}

/// NetworkPolicies that select the target's pods (or a dependency's) and leave out the
/// traffic that fails: egress to a dependency or to cluster DNS, ingress from the target.
#[allow(clippy::too_many_lines)] // ingress and egress rules of each policy checked in turn
pub(super) fn network_policies(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let w = e.world;
    let ns = t.namespace.as_deref().unwrap_or_default();
    let labels = w
        .get(&t.kind, Some(ns), &t.name)
        .and_then(objects::template_labels)
        .unwrap_or_default();
    let trouble: Vec<usize> = e
        .observations
        .clues
        .iter()
        .filter(|(c, _)| {
            matches!(
                c.cause,
                Cause::ConnectionTimeout
                    | Cause::DnsUnavailable
                    | Cause::UpstreamErrors
                    | Cause::ConnectionRefused
            )
        })
        .map(|(_, id)| *id)
        .collect();
    let dns_trouble = e
        .observations
        .clues
        .iter()
        .any(|(c, _)| c.cause == Cause::DnsUnavailable);
    // The dependencies the target (or a client whose log was read) fails to reach:
    // their pod labels and ports, and the client that failed.
    let mut deps_seen: Vec<Dep> = Vec::new();
    for (clue, _) in &e.observations.clues {
        // The peer the clue names, or (a connection error without one) any on its line.
        let (host, port) = match &clue.subject {
            super::super::clues::Subject::Host { host, port } => (host.clone(), *port),
            super::super::clues::Subject::None if is_conn(clue.cause) => {
                match deps::peers(&clue.text).into_iter().next() {
                    Some(p) => (p.host, p.port),
                    None => continue,
                }
            }
            _ => continue,
        };
        let (host, port) = (&host, &port);
        let Some(svc) = deps::service_for(w, host, Some(ns)) else {
            continue;
        };
        let Some(dep) = workload_behind(w, &svc) else {
            continue;
        };
        // The workload's pod labels, or (when only its pods were read) a selected pod's.
        let Some(l) = w
            .get(&dep.kind, dep.namespace.as_deref(), &dep.name)
            .and_then(objects::template_labels)
            .or_else(|| {
                w.pods_of(&dep.name, dep.namespace.as_deref())
                    .next()
                    .map(|p| objects::labels(&p.metadata))
            })
        else {
            continue;
        };
        // The Service port maps to the pods' target port; the pods' declared port is
        // what a policy names.
        let pod_port = target_port(w, &svc, port.map(i32::from));
        let client = (clue.source.kind == "Pod")
            .then(|| w.get("Pod", clue.source.namespace.as_deref(), &clue.source.name))
            .flatten()
            .and_then(objects::template_labels)
            .map(|l| {
                let who = super::resolve::owner_of(w, &clue.source)
                    .map_or_else(|| clue.source.name.clone(), |o| o.name);
                (l, clue.source.namespace.clone().unwrap_or_default(), who)
            });
        if !deps_seen.iter().any(|d| d.0 == dep) {
            deps_seen.push((dep, l, pod_port, client));
        }
    }
    let dns_labels = BTreeMap::from([("k8s-app".to_string(), "kube-dns".to_string())]);
    let mut out = Vec::new();
    for o in w.of_kind("NetworkPolicy", None) {
        let KubeObject::NetworkPolicy(np) = o else {
            continue;
        };
        let Some(spec) = np.spec.as_ref() else {
            continue;
        };
        let np_ns = np.metadata.namespace.as_deref().unwrap_or_default();
        let types = policy_types(np);
        let selects_target =
            np_ns == ns && objects::selects_pods(spec.pod_selector.as_ref(), &labels);
        let mut why = Vec::new();
        if selects_target && types.contains(&"Egress") {
            let dns = Peer {
                labels: &dns_labels,
                namespace: "kube-system",
                port: Some(53),
            };
            if dns_trouble && !egress_allows(spec, &dns, np_ns) {
                why.push(
                    "its egress rules leave out cluster DNS (port 53), so names stop resolving"
                        .to_string(),
                );
            }
            for (dep, l, port, _) in &deps_seen {
                let peer = Peer {
                    labels: l,
                    namespace: dep.namespace.as_deref().unwrap_or_default(),
                    port: *port,
                };
                if !egress_allows(spec, &peer, np_ns) {
                    why.push(format!(
                        "its egress rules do not allow {}{}",
                        dep.name,
                        port.map(|p| format!(" on port {p}")).unwrap_or_default()
                    ));
                }
            }
        }
        for (dep, l, port, client) in &deps_seen {
            let selects_dep = np_ns == dep.namespace.as_deref().unwrap_or_default()
                && objects::selects_pods(spec.pod_selector.as_ref(), l);
            // The caller whose log shows the failure: the target, or the client read.
            let (from_labels, from_ns, from_name) = match client {
                Some((cl, cns, who)) if *dep == target_ref(t) || cns != ns => {
                    (cl, cns.as_str(), format!("{who} ({cns})"))
                }
                _ => (&labels, ns, t.name.clone()),
            };
            let from = Peer {
                labels: from_labels,
                namespace: from_ns,
                port: None,
            };
            if selects_dep
                && types.contains(&"Ingress")
                && !ingress_allows(spec, &from, np_ns, *port)
            {
                why.push(format!(
                    "it selects {} and admits no ingress from {from_name}, whose calls fail",
                    dep.name
                ));
            }
        }
        if selects_target
            && types.contains(&"Ingress")
            && spec.ingress.as_ref().is_none_or(Vec::is_empty)
        {
            why.push(format!("it denies all ingress to {}", t.name));
        }
        if why.is_empty() {
            continue;
        }
        let mut c = Candidate::new(Cause::NetworkPolicy, o.reference(), why.join("; "), 0.8)
            .because(
                EvidenceKind::Resource,
                o.reference().to_string(),
                format!("policyTypes {}", types.join(",")),
            )
            .explaining(trouble.iter().copied().chain([0]))
            .checked_by(Check::Present {
                resource: o.reference().to_string(),
                key: None,
            });
        c.related.push(target_ref(t));
        out.push(c);
    }
    out
}

/// A dependency seen failing: the workload, its pod labels, the pods' port, and the
/// labels and namespace of the client whose log shows the failure.
type Dep = (
    ResourceRef,
    BTreeMap<String, String>,
    Option<i32>,
    Option<(BTreeMap<String, String>, String, String)>,
);

fn is_conn(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::ConnectionTimeout | Cause::UpstreamErrors | Cause::ConnectionRefused
    )
}

/// The pods' port behind a Service port (or the port itself).
fn target_port(
    w: &super::super::world::World,
    svc: &ResourceRef,
    port: Option<i32>,
) -> Option<i32> {
    let Some(KubeObject::Service(s)) = w.get("Service", svc.namespace.as_deref(), &svc.name) else {
        return port;
    };
    let ports = s.spec.as_ref()?.ports.as_ref()?;
    let sp = ports
        .iter()
        .find(|p| port.is_none_or(|n| p.port == n))
        .or(ports.first())?;
    match &sp.target_port {
        Some(IntOrString::Int(n)) => Some(*n),
        _ => Some(sp.port),
    }
}

fn policy_types(np: &NetworkPolicy) -> Vec<&'static str> {
    let spec = np.spec.as_ref();
    let declared: Vec<String> = spec
        .and_then(|s| s.policy_types.clone())
        .unwrap_or_default();
    let mut out = Vec::new();
    if declared.iter().any(|t| t == "Ingress") || declared.is_empty() {
        out.push("Ingress");
    }
    if declared.iter().any(|t| t == "Egress")
        || (declared.is_empty() && spec.is_some_and(|s| s.egress.is_some()))
    {
        out.push("Egress");
    }
    out
}

fn port_is(p: &NetworkPolicyPort, n: i32) -> bool {
    match &p.port {
        Some(IntOrString::Int(x)) => *x == n || p.end_port.is_some_and(|e| *x <= n && n <= e),
        // Named ports: DNS is named `dns`/`dns-tcp`; other names are taken to match.
        Some(IntOrString::String(s)) => n != 53 || s.starts_with("dns"),
        None => true,
    }
}
