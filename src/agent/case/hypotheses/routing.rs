//! Routing: Services whose selector matches no pod or whose target port no container
//! declares, and Ingresses that send traffic to Services or ports that do not exist or
//! name a TLS Secret that does not exist.

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::super::clues::Cause;
use super::super::deps;
use super::super::deps::failing_hosts;
use super::super::objects;
use super::candidate::{Candidate, Facts};
use super::resolve::workload_behind;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// Services in front of the target or its dependencies that select no pods, or whose
/// target port no container listens on.
pub(super) fn services(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let w = e.world;
    let mut names: Vec<ResourceRef> = Vec::new();
    let labels = w
        .get(&t.kind, t.namespace.as_deref(), &t.name)
        .and_then(objects::template_labels)
        .unwrap_or_default();
    for o in w.of_kind("Service", t.namespace.as_deref()) {
        if let KubeObject::Service(s) = o {
            let sel = s
                .spec
                .as_ref()
                .and_then(|sp| sp.selector.clone())
                .unwrap_or_default();
            // Services meant for the target: selecting it, or named after it.
            let for_target = (!sel.is_empty() && crate::kube::selector::map_selects(&sel, &labels))
                || o.name() == t.name;
            if for_target {
                names.push(o.reference());
            }
        }
    }
    for host in failing_hosts(w, t) {
        if let Some(svc) = deps::service_for(w, &host, t.namespace.as_deref()) {
            names.push(svc);
        }
    }
    names.sort();
    names.dedup();
    names
        .iter()
        .filter_map(|svc| service_problem(e, svc))
        .collect()
}

#[allow(clippy::too_many_lines)] // a Service's selector, ports and endpoints checked in turn
fn service_problem(e: &Facts<'_>, svc: &ResourceRef) -> Option<Candidate> {
    let w = e.world;
    let KubeObject::Service(s) = w.get("Service", svc.namespace.as_deref(), &svc.name)? else {
        return None;
    };
    let spec = s.spec.as_ref()?;
    let sel = spec.selector.clone().filter(|s| !s.is_empty())?;
    let selected: Vec<&Pod> = w
        .pods(svc.namespace.as_deref())
        .filter(|p| crate::kube::selector::map_selects(&sel, &objects::labels(&p.metadata)))
        .collect();
    let selector = sel
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    if selected.is_empty() {
        // Pods that look meant for it: named like it, or sharing most labels.
        let near = w
            .pods(svc.namespace.as_deref())
            .find(|p| objects::named_for(objects::name(&p.metadata), &svc.name));
        let detail = match near {
            Some(p) => format!(
                "its selector {selector} matches no pod; pods such as {} carry {}",
                objects::name(&p.metadata),
                objects::labels(&p.metadata)
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            None => format!("its selector {selector} matches no pod, so it has no endpoints"),
        };
        return Some(
            Candidate::new(
                Cause::ServiceMisrouted,
                svc.clone(),
                detail,
                if near.is_some() { 0.85 } else { 0.5 },
            )
            .because(
                EvidenceKind::Resource,
                svc.to_string(),
                format!("selector {selector}: 0 pods"),
            )
            .explaining([0])
            .checked_by(Check::ServiceEmpty {
                service: svc.name.clone(),
            }),
        );
    }
    // Ports: a numeric target port no selected container declares, or a name none has.
    let ready: Vec<&&Pod> = selected.iter().filter(|p| objects::pod_ready(p)).collect();
    if ready.is_empty() {
        return None;
    }
    for port in spec.ports.iter().flatten() {
        let target = port.target_port.as_ref();
        let declared = |p: &Pod| -> bool {
            p.spec.as_ref().is_some_and(|s| {
                s.containers
                    .iter()
                    .flat_map(|c| c.ports.iter().flatten())
                    .any(|cp| match target {
                        Some(IntOrString::Int(n)) => cp.container_port == *n,
                        Some(IntOrString::String(name)) => {
                            cp.name.as_deref() == Some(name.as_str())
                        }
                        None => cp.container_port == port.port,
                    })
            })
        };
        let any_ports = ready.iter().any(|p| {
            p.spec.as_ref().is_some_and(|s| {
                s.containers
                    .iter()
                    .any(|c| c.ports.as_ref().is_some_and(|v| !v.is_empty()))
            })
        });
        if any_ports && !ready.iter().any(|p| declared(p)) {
            let tp = match target {
                Some(IntOrString::Int(n)) => n.to_string(),
                Some(IntOrString::String(s)) => s.clone(),
                None => port.port.to_string(),
            };
            let listens: Vec<String> = ready
                .iter()
                .flat_map(|p| {
                    p.spec
                        .iter()
                        .flat_map(|s| s.containers.iter().flat_map(|c| c.ports.iter().flatten()))
                })
                .map(|cp| cp.container_port.to_string())
                .collect();
            return Some(
                Candidate::new(
                    Cause::ServiceMisrouted,
                    svc.clone(),
                    format!(
                        "its targetPort {tp} is not a port the pods listen on ({})",
                        listens.join(", ")
                    ),
                    0.85,
                )
                .because(
                    EvidenceKind::Resource,
                    svc.to_string(),
                    format!("port {} → targetPort {tp}", port.port),
                )
                .explaining([0])
                .checked_by(Check::Present {
                    resource: svc.to_string(),
                    key: None,
                }),
            );
        }
    }
    None
}

/// Ingresses that route to a Service that does not exist or to a port it does not
/// have: the target itself when the alert named an Ingress, or those in front of the
/// target's Services.
pub(super) fn ingresses(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let w = e.world;
    let ns = t.namespace.as_deref();
    let services: Vec<&KubeObject> = w.of_kind("Service", ns).collect();
    let mut out = Vec::new();
    for o in w.of_kind("Ingress", ns) {
        let KubeObject::Ingress(ing) = o else {
            continue;
        };
        let Some(spec) = ing.spec.as_ref() else {
            continue;
        };
        let backends = spec
            .rules
            .iter()
            .flatten()
            .flat_map(|r| r.http.iter().flat_map(|h| h.paths.iter()))
            .filter_map(|p| p.backend.service.as_ref())
            .chain(
                spec.default_backend
                    .iter()
                    .filter_map(|b| b.service.as_ref()),
            );
        let mut problems = Vec::new();
        let mut ours = o.name() == t.name
            || t.alerted
                .as_ref()
                .is_some_and(|a| a.kind == "Ingress" && a.name == o.name());
        for b in backends {
            let svc = services.iter().find_map(|s| match s {
                KubeObject::Service(sv) if s.name() == b.name => Some(sv),
                _ => None,
            });
            ours |= svc.is_some_and(|_| {
                workload_behind(w, &ResourceRef::new("Service", ns, &b.name))
                    .is_some_and(|d| d.name == t.name)
            }) || b.name == t.name;
            let Some(sv) = svc else {
                problems.push(format!("its backend Service {} does not exist", b.name));
                continue;
            };
            let ports: Vec<&k8s_openapi::api::core::v1::ServicePort> = sv
                .spec
                .iter()
                .flat_map(|s| s.ports.iter().flatten())
                .collect();
            if let Some(p) = &b.port {
                let found = ports.iter().any(|sp| {
                    p.number.is_some_and(|n| sp.port == n)
                        || p.name
                            .as_deref()
                            .is_some_and(|n| sp.name.as_deref() == Some(n))
                });
                if !found {
                    let want = p
                        .number
                        .map(|n| n.to_string())
                        .or(p.name.clone())
                        .unwrap_or_default();
                    let have: Vec<String> = ports.iter().map(|sp| sp.port.to_string()).collect();
                    problems.push(format!(
                        "it sends to port {want} of Service {}, which serves {}",
                        b.name,
                        have.join(", ")
                    ));
                }
            }
        }
        if ours && !problems.is_empty() {
            out.push(
                Candidate::new(
                    Cause::IngressBackend,
                    o.reference(),
                    problems.join("; "),
                    0.85,
                )
                .because(EvidenceKind::Resource, o.reference().to_string(), "backend")
                .explaining([0])
                .checked_by(Check::Present {
                    resource: o.reference().to_string(),
                    key: None,
                }),
            );
        }
    }
    out
}

/// The Ingress the alert reached the target through, whose TLS Secret does not exist in
/// its namespace (an Ingress uses only Secrets of its own): the controller serves its
/// default certificate for those hosts, which clients do not trust.
pub(super) fn ingress_tls(e: &Facts<'_>) -> Vec<Candidate> {
    let Some(ing) = e.target.alerted.as_ref().filter(|a| a.kind == "Ingress") else {
        return Vec::new();
    };
    let ns = ing.namespace.as_deref();
    let Some(KubeObject::Ingress(i)) = e.world.get("Ingress", ns, &ing.name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for tls in i.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
        let Some(secret) = tls.secret_name.as_deref() else {
            continue;
        };
        let r = ResourceRef::new("Secret", ns, secret);
        if !e.world.is_missing("Secret", ns, secret) {
            out.extend(names_other_hosts(e, ing, &r));
            continue;
        }
        let hosts = tls.hosts.clone().unwrap_or_default().join(", ");
        out.push(
            Candidate::new(
                Cause::Certificate,
                ing.clone(),
                format!(
                    "its TLS Secret {secret} is not found in namespace {} (an Ingress uses Secrets of its own namespace only), so the controller serves its default (fake) certificate for {hosts}",
                    ns.unwrap_or("default")
                ),
                0.9,
            )
            .because(EvidenceKind::Resource, r.to_string(), "not found")
            .explaining([0])
            .checked_by(Check::Missing {
                resource: r.to_string(),
            }),
        );
    }
    out
}

/// A TLS Secret that exists but whose certificate does not name the host it serves, as
/// the controller says when it loads it (ingress-nginx: `Unexpected error validating SSL
/// certificate "ns/secret" for server "host": x509: certificate is valid for …, not host`):
/// the controller serves its default certificate for that host instead.
fn names_other_hosts(e: &Facts<'_>, ing: &ResourceRef, secret: &ResourceRef) -> Option<Candidate> {
    static RE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"certificate is valid for ([^\n]+?), not ([A-Za-z0-9.*-]+)").ok()
    });
    let re = RE.as_ref()?;
    let quoted = format!(
        "\"{}/{}\"",
        secret.namespace.as_deref().unwrap_or("default"),
        secret.name
    );
    let (line, c) = e.world.logs.iter().find_map(|tail| {
        tail.text
            .lines()
            .filter(|l| l.contains(&quoted))
            .find_map(|l| re.captures(l).map(|c| (l.trim().to_string(), c)))
    })?;
    let (valid, host) = (c[1].to_string(), c[2].to_string());
    // A wildcard stands for exactly one label: `*.example.tv` covers `a.example.tv`,
    // not `a.b.example.tv`.
    let wildcard = wildcard_too_shallow(&valid, &host);
    let why = if wildcard {
        " (a wildcard covers a single label only)"
    } else {
        ""
    };
    Some(
        Candidate::new(
            Cause::Certificate,
            ing.clone(),
            format!(
                "its TLS Secret {} holds a certificate valid for {valid}, not {host}{why}, so the controller serves its default (fake) certificate for {host} and clients fail TLS verification",
                secret.name
            ),
            0.9,
        )
        .because(EvidenceKind::Log, "ingress controller", line)
        .explaining([0])
        .checked_by(Check::Present {
            resource: secret.to_string(),
            key: None,
        }),
    )
}

/// Whether a wildcard among the names a certificate is valid for would cover `host` but
/// for the number of labels: `*.example.tv` stands for one label, not `a.b.example.tv`.
fn wildcard_too_shallow(valid: &str, host: &str) -> bool {
    valid.split(", ").any(|v| {
        v.strip_prefix("*.").is_some_and(|base| {
            host.strip_suffix(base)
                .and_then(|h| h.strip_suffix('.'))
                .is_some_and(|rest| rest.contains('.'))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::wildcard_too_shallow;

    #[test]
    fn a_wildcard_covers_one_label() {
        assert!(wildcard_too_shallow(
            "*.example.tv, example.tv",
            "upload.eu.example.tv"
        ));
        assert!(!wildcard_too_shallow(
            "*.example.tv, example.tv",
            "upload.example.tv"
        ));
        assert!(!wildcard_too_shallow(
            "api.example.tv",
            "upload.eu.example.tv"
        ));
    }
}
