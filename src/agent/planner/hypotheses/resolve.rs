//! From a clue to the object at fault: a missing ConfigMap key is the ConfigMap's, an
//! image that does not exist is the rollout's, a host that refuses is its Service's and
//! so its pods', a setting the application cannot parse is the ConfigMap key that feeds
//! that variable.

use super::super::clues::{Cause, Clue, Origin, Subject};
use super::super::deps;
use super::super::objects;
use super::super::target::Target;
use super::super::world::World;
use super::candidate::{Candidate, Facts};
use super::lookup::{
    claim_of, config_naming, heaviest_container, hpa_of, limits, node_of, nodes_with_taint,
    pressure_of, pull_secret, role_of, service_account, setting_source, short_reason,
};
pub use super::lookup::{owner_of, workload_behind};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

pub fn target_ref(t: &Target) -> ResourceRef {
    ResourceRef::new(&t.kind, t.namespace.as_deref(), &t.name)
}

fn kind_of(o: Origin) -> EvidenceKind {
    match o {
        Origin::Log => EvidenceKind::Log,
        Origin::Event => EvidenceKind::Event,
        Origin::Status | Origin::Scheduler => EvidenceKind::Resource,
    }
}

/// The candidates one clue supports.
#[allow(clippy::too_many_lines)] // one arm per class of clue, in the order of `Cause`
pub fn from_clue(e: &Facts<'_>, clue: &Clue, symptom: usize) -> Vec<Candidate> {
    let t = e.target;
    let w = e.world;
    let workload = target_ref(t);
    // Clues from a dependency's pods are that dependency's.
    let owner = owner_of(w, &clue.source).unwrap_or_else(|| workload.clone());
    let base = |cause: Cause, culprit: ResourceRef, detail: String| {
        Candidate::new(cause, culprit, detail, clue.specificity)
            .because(
                kind_of(clue.origin),
                clue.source.to_string(),
                clue.text.clone(),
            )
            .explaining([symptom])
    };
    let ns = clue.source.namespace.clone().or(t.namespace.clone());
    let mut out = Vec::new();
    match (&clue.cause, &clue.subject) {
        (
            cause,
            Subject::Object {
                kind,
                namespace,
                name,
                key,
            },
        ) => {
            let cluster_scoped = matches!(*kind, "StorageClass" | "Node" | "PersistentVolume");
            let namespace = if cluster_scoped {
                None
            } else {
                namespace.as_deref().or(ns.as_deref())
            };
            let r = ResourceRef::new(kind, namespace, name);
            let detail = match (cause, key) {
                (Cause::MissingConfig, Some(k)) => format!("has no key {k}"),
                (Cause::MissingConfig, None) | (Cause::ServiceAccountMissing, _) => {
                    "does not exist".into()
                }
                (Cause::Provisioning, _) => {
                    "does not exist; the claim cannot be provisioned".into()
                }
                _ => clue.text.clone(),
            };
            let check = match (cause, key) {
                (Cause::MissingConfig, Some(k)) if *kind == "ConfigMap" => Check::ConfigKey {
                    configmap: name.clone(),
                    key: k.clone(),
                    value: None,
                },
                (
                    Cause::MissingConfig | Cause::ServiceAccountMissing | Cause::Provisioning,
                    None,
                ) => Check::Missing {
                    resource: r.to_string(),
                },
                _ => Check::PodsShow {
                    reason: short_reason(clue),
                },
            };
            out.push(base(*cause, r, detail).checked_by(check).via(owner));
        }
        (Cause::ImageNotFound | Cause::ImageAuth | Cause::RegistryUnreachable, subject)
        | (Cause::RateLimited, subject @ Subject::Image(_)) => {
            let image = match subject {
                Subject::Image(i) => i.clone(),
                _ => String::new(),
            };
            let detail = match clue.cause {
                Cause::ImageNotFound => format!("image {image} does not exist in the registry"),
                Cause::ImageAuth => {
                    format!("the registry refuses to serve {image} with the pull credentials")
                }
                Cause::RateLimited => {
                    format!("the registry rate-limits pulls of {image} (toomanyrequests)")
                }
                _ => format!("the registry of {image} cannot be reached"),
            };
            let culprit = match clue.cause {
                Cause::ImageAuth => pull_secret(w, t).unwrap_or(owner.clone()),
                _ => owner.clone(),
            };
            out.push(
                base(clue.cause, culprit, detail)
                    .checked_by(Check::PodsShow {
                        reason: short_reason(clue),
                    })
                    .via(owner),
            );
        }
        (
            Cause::InsufficientResources
            | Cause::NodeAffinity
            | Cause::NodesUnschedulable
            | Cause::UnboundVolume,
            _,
        ) => {
            let culprit = match clue.cause {
                Cause::UnboundVolume => claim_of(w, t).unwrap_or(owner.clone()),
                _ => owner.clone(),
            };
            out.push(
                base(clue.cause, culprit, clue.text.clone())
                    .checked_by(Check::Unschedulable)
                    .via(owner),
            );
        }
        (Cause::UntoleratedTaint, Subject::Taint(taint)) => {
            let nodes = nodes_with_taint(w, taint);
            let culprit = nodes.first().cloned().unwrap_or(owner.clone());
            let mut c = base(
                Cause::UntoleratedTaint,
                culprit,
                format!("taint {{{taint}}} not tolerated"),
            )
            .checked_by(Check::Unschedulable)
            .via(owner);
            for n in nodes.into_iter().skip(1).take(2) {
                c = c.via(n);
            }
            out.push(c);
        }
        (Cause::Evicted | Cause::NodePressure | Cause::NodeNotReady, subject) => {
            let node = node_of(w, &clue.source);
            let resource = match subject {
                Subject::Resource(r) => r.clone(),
                _ => String::new(),
            };
            if let Some(n) = &node {
                let check = Check::NodeCondition {
                    node: n.name.clone(),
                    condition: if clue.cause == Cause::NodeNotReady {
                        "Ready".into()
                    } else {
                        pressure_of(&resource)
                    },
                };
                out.push(
                    base(clue.cause, n.clone(), format!("node short of {resource}"))
                        .checked_by(check)
                        .via(owner.clone()),
                );
            }
            // "Container X was using 3Gi, request is 0": the neighbour that took it.
            if let Some(hog) = heaviest_container(&clue.text)
                && let Some(p) = w.pods(None).find(|p| {
                    p.spec
                        .as_ref()
                        .is_some_and(|s| s.containers.iter().any(|c| c.name == hog))
                        && objects::name(&p.metadata) != clue.source.name
                })
                && let Some(hog_owner) = owner_of(
                    w,
                    &ResourceRef::new(
                        "Pod",
                        p.metadata.namespace.as_deref(),
                        objects::name(&p.metadata),
                    ),
                )
                && hog_owner.name != t.name
            {
                let mut c = base(
                    Cause::NoisyNeighbour,
                    hog_owner,
                    format!(
                        "uses the node's {resource} without a request that covers it (container {hog})"
                    ),
                );
                c.specificity = 0.85;
                if let Some(n) = node {
                    c = c.via(n);
                }
                out.push(c.via(owner));
            }
        }
        (
            Cause::OutOfMemory
            | Cause::CpuThrottled
            | Cause::ProbeFailing
            | Cause::ListenAddress
            | Cause::AppCrash,
            _,
        ) => {
            let check = match clue.cause {
                Cause::OutOfMemory => Check::OomAtLimit,
                _ => Check::PodsShow {
                    reason: short_reason(clue),
                },
            };
            let detail = match clue.cause {
                Cause::OutOfMemory => {
                    limits(w, &owner, "memory").unwrap_or_else(|| clue.text.clone())
                }
                Cause::CpuThrottled => {
                    limits(w, &owner, "cpu").unwrap_or_else(|| clue.text.clone())
                }
                _ => clue.text.clone(),
            };
            out.push(base(clue.cause, owner.clone(), detail).checked_by(check));
        }
        (Cause::DiskFull | Cause::VolumeMount, _) => {
            let culprit = claim_of(w, t).unwrap_or(owner.clone());
            out.push(
                base(clue.cause, culprit, clue.text.clone())
                    .checked_by(Check::PodsShow {
                        reason: short_reason(clue),
                    })
                    .via(owner),
            );
        }
        (Cause::AutoscalerAtMax | Cause::AutoscalerMetrics, _) => {
            let hpa = hpa_of(w, t).unwrap_or(owner.clone());
            // The resource metrics API itself does not answer: metrics-server is down.
            let api_down = clue.cause == Cause::AutoscalerMetrics
                && (clue.text.contains("metrics API") || clue.text.contains("metrics.k8s.io"));
            let culprit = if api_down
                && w.get("Deployment", Some("kube-system"), "metrics-server")
                    .is_some()
            {
                ResourceRef::new("Deployment", Some("kube-system"), "metrics-server")
            } else {
                hpa.clone()
            };
            out.push(
                base(clue.cause, culprit, clue.text.clone())
                    .checked_by(Check::Present {
                        resource: hpa.to_string(),
                        key: None,
                    })
                    .via(hpa)
                    .via(owner),
            );
        }
        (Cause::JobFailed | Cause::CronJobNotRunning, _) => {
            out.push(
                base(clue.cause, owner.clone(), clue.text.clone()).checked_by(Check::PodsShow {
                    reason: short_reason(clue),
                }),
            );
        }
        (Cause::CloudPermission, _) => {
            let sa = service_account(w, t, &owner);
            let detail = match role_of(w, &sa) {
                Some(r) => format!("its role {r} is refused: {}", clue.text),
                None => format!(
                    "it carries no cloud role annotation (IRSA / workload identity), so the pods run without the role: {}",
                    clue.text
                ),
            };
            out.push(
                base(Cause::CloudPermission, sa.clone(), detail)
                    .checked_by(Check::Present {
                        resource: sa.to_string(),
                        key: None,
                    })
                    .via(owner),
            );
        }
        (Cause::BadConfigValue | Cause::MissingConfig, Subject::Setting { key, value }) => {
            match setting_source(w, &owner, key, value.as_deref()) {
                Some((r, k)) => {
                    let detail = match value {
                        Some(v) => format!("{k} holds {v:?}, which the application cannot use"),
                        None => format!("{k} is missing or empty"),
                    };
                    let check = match (&r.kind[..], value) {
                        ("ConfigMap", v) => Check::ConfigKey {
                            configmap: r.name.clone(),
                            key: k.clone(),
                            value: v.clone(),
                        },
                        _ => Check::Present {
                            resource: r.to_string(),
                            key: Some(k.clone()),
                        },
                    };
                    out.push(base(clue.cause, r, detail).checked_by(check).via(owner));
                }
                None => {
                    let detail = match value {
                        Some(v) if !key.is_empty() => format!("setting {key} is {v:?}"),
                        Some(v) => format!("a setting holds {v:?}"),
                        None => format!("setting {key} is not set"),
                    };
                    let mut c = base(clue.cause, owner, detail);
                    c.specificity *= 0.7;
                    out.push(c.checked_by(Check::PodsShow {
                        reason: short_reason(clue),
                    }));
                }
            }
        }
        (_, Subject::Host { host, port }) => {
            out.extend(from_host(e, clue, symptom, &owner, host, *port))
        }
        (
            cause @ (Cause::ConnectionRefused
            | Cause::ConnectionTimeout
            | Cause::UpstreamErrors
            | Cause::TooManyConnections
            | Cause::Credentials
            | Cause::RateLimited
            | Cause::Certificate
            | Cause::DnsUnavailable
            | Cause::NameNotFound),
            Subject::None,
        ) => {
            // A connection error without a host: look for one on the line.
            let peers = deps::peers(&clue.text);
            match peers.first() {
                Some(p) => out.extend(from_host(e, clue, symptom, &owner, &p.host, p.port)),
                None => {
                    let mut c = base(*cause, owner, clue.text.clone());
                    c.specificity *= 0.6;
                    out.push(c);
                }
            }
        }
        (cause, _) => {
            out.push(
                base(*cause, owner, clue.text.clone()).checked_by(Check::PodsShow {
                    reason: short_reason(clue),
                }),
            );
        }
    }
    out
}

/// A host the workload cannot use: the Service behind it and what is wrong there.
fn from_host(
    e: &Facts<'_>,
    clue: &Clue,
    symptom: usize,
    owner: &ResourceRef,
    host: &str,
    port: Option<u16>,
) -> Vec<Candidate> {
    let w = e.world;
    let ns = owner.namespace.as_deref();
    let base = |cause: Cause, culprit: ResourceRef, detail: String| {
        Candidate::new(cause, culprit, detail, clue.specificity)
            .because(
                kind_of(clue.origin),
                clue.source.to_string(),
                clue.text.clone(),
            )
            .explaining([symptom])
            .via(owner.clone())
    };
    let hostport = match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let mut out = Vec::new();
    if matches!(clue.cause, Cause::DnsUnavailable) {
        let dns = ResourceRef::new("Deployment", Some("kube-system"), "coredns");
        out.push(
            base(
                Cause::DnsUnavailable,
                dns.clone(),
                format!("names such as {host} do not resolve: the cluster DNS does not answer"),
            )
            .checked_by(Check::PodsShow {
                reason: "kube-dns".into(),
            }),
        );
        return out;
    }
    match deps::service_for(w, host, ns) {
        Some(svc) => {
            let dep = workload_behind(w, &svc);
            let detail = format!("{} ({hostport}) {}", svc.name, what_fails(clue.cause));
            let culprit = match clue.cause {
                Cause::Certificate => tls_secret(w, &svc, dep.as_ref())
                    .or(dep.clone())
                    .unwrap_or(svc.clone()),
                _ => dep.clone().unwrap_or(svc.clone()),
            };
            let cause = match clue.cause {
                Cause::Certificate
                | Cause::Credentials
                | Cause::TooManyConnections
                | Cause::RateLimited
                | Cause::NameNotFound => clue.cause,
                _ => Cause::DependencyDown,
            };
            let mut c = base(cause, culprit, detail).via(svc.clone());
            c.check = match &dep {
                Some(d) => Check::DependencyDown {
                    service: d.name.clone(),
                },
                None => Check::ServiceEmpty {
                    service: svc.name.clone(),
                },
            };
            out.push(c);
        }
        None => {
            // Not a Service of the cluster: a name that does not exist here, or
            // something outside.
            let (cause, culprit) = match (clue.cause, deps::cluster_name(host)) {
                (Cause::NameNotFound | Cause::ConnectionRefused, Some((name, sns))) => (
                    Cause::NameNotFound,
                    config_naming(w, owner, host).unwrap_or_else(|| {
                        ResourceRef::new("Service", sns.as_deref().or(ns), &name)
                    }),
                ),
                (cause, _) => (cause, ResourceRef::new("Host", None, host)),
            };
            let detail = format!("{hostport} {}", what_fails(clue.cause));
            let mut c = base(cause, culprit, detail);
            c.specificity *= 0.85;
            out.push(c);
        }
    }
    out
}

/// The TLS Secret a Service's workload serves with: one its pods mount, else one named
/// after the Service.
fn tls_secret(w: &World, svc: &ResourceRef, dep: Option<&ResourceRef>) -> Option<ResourceRef> {
    let ns = svc.namespace.as_deref();
    let is_tls = |name: &str| match w.get("Secret", ns, name) {
        Some(KubeObject::Secret(s)) => s.type_.as_deref() == Some("kubernetes.io/tls"),
        _ => name.contains("tls") || name.contains("cert"),
    };
    let mounted = dep
        .and_then(|d| w.get(&d.kind, d.namespace.as_deref(), &d.name))
        .and_then(objects::template)
        .map(objects::spec_refs)
        .unwrap_or_default()
        .into_iter()
        .find(|r| r.kind == "Secret" && is_tls(&r.name))
        .map(|r| ResourceRef::new("Secret", ns, &r.name));
    mounted.or_else(|| {
        w.of_kind("Secret", ns)
            .find(|o| o.name().contains(&svc.name) && is_tls(o.name()))
            .map(KubeObject::reference)
    })
}

fn what_fails(cause: Cause) -> &'static str {
    match cause {
        Cause::ConnectionRefused => "refuses connections",
        Cause::ConnectionTimeout => "does not answer in time",
        Cause::UpstreamErrors => "answers with errors",
        Cause::Certificate => "presents a certificate that is expired or not trusted",
        Cause::Credentials => "rejects the credentials",
        Cause::TooManyConnections => "has no connections left",
        Cause::RateLimited => "limits the request rate",
        Cause::NameNotFound => "does not resolve",
        _ => "fails",
    }
}
