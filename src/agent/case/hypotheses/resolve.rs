//! From a clue to the object at fault: a missing ConfigMap key is the ConfigMap's, an
//! image that does not exist is the rollout's, a host that refuses is its Service's and
//! so its pods' (`host.rs`), a setting the application cannot parse is the ConfigMap key
//! that feeds that variable.

use super::super::clues::{Cause, Clue, Subject};
use super::super::deps;
use super::super::objects;
use super::super::target::Target;
use super::candidate::{Candidate, Facts};
use super::host::{from_host, kind_of};
use super::lookup::{
    claim_of, heaviest_container, hpa_of, limits, node_of, nodes_with_taint, pressure_of,
    pull_secret, role_of, service_account, setting_source, short_reason,
};
pub use super::lookup::{owner_of, workload_behind};
use crate::kube::state::ResourceRef;
use crate::memory::Check;

pub fn target_ref(t: &Target) -> ResourceRef {
    ResourceRef::new(&t.kind, t.namespace.as_deref(), &t.name)
}

/// What every candidate drawn from one clue shares: the facts, the clue, the symptom
/// it came with, and the workload its source belongs to.
struct From<'a, 'f> {
    e: &'a Facts<'f>,
    clue: &'a Clue,
    symptom: usize,
    owner: ResourceRef,
}

impl From<'_, '_> {
    /// A candidate with the clue as its first link, explaining its symptom.
    fn base(&self, cause: Cause, culprit: ResourceRef, detail: String) -> Candidate {
        Candidate::new(cause, culprit, detail, self.clue.specificity)
            .because(
                kind_of(self.clue.origin),
                self.clue.source.to_string(),
                self.clue.text.clone(),
            )
            .explaining([self.symptom])
    }

    /// The check that the target's pods still fail this way.
    fn pods_show(&self) -> Check {
        Check::PodsShow {
            reason: short_reason(self.clue),
        }
    }
}

/// The candidates one clue supports.
pub fn from_clue(e: &Facts<'_>, clue: &Clue, symptom: usize) -> Vec<Candidate> {
    let workload = target_ref(e.target);
    // Clues from a dependency's pods are that dependency's.
    let owner = owner_of(e.world, &clue.source).unwrap_or(workload);
    let f = From {
        e,
        clue,
        symptom,
        owner,
    };
    match (&clue.cause, &clue.subject) {
        (Cause::CloudPermission, _) => vec![cloud_permission(&f)],
        (cause, Subject::Object { .. }) => vec![named_object(&f, *cause)],
        (Cause::ImageNotFound | Cause::ImageAuth | Cause::RegistryUnreachable, subject)
        | (Cause::RateLimited, subject @ Subject::Image(_)) => vec![image(&f, subject)],
        (
            Cause::InsufficientResources
            | Cause::NodeAffinity
            | Cause::NodesUnschedulable
            | Cause::UnboundVolume,
            _,
        ) => vec![unschedulable(&f)],
        (Cause::UntoleratedTaint, Subject::Taint(taint)) => vec![taint_of(&f, taint)],
        (Cause::Evicted, Subject::Setting { key, value }) => {
            vec![own_limit(&f, key, value.as_deref())]
        }
        (Cause::Evicted | Cause::NodePressure | Cause::NodeNotReady, subject) => {
            node_trouble(&f, subject)
        }
        (
            Cause::OutOfMemory
            | Cause::CpuThrottled
            | Cause::ProbeFailing
            | Cause::ListenAddress
            | Cause::AppCrash,
            _,
        ) => vec![own_failure(&f)],
        (Cause::DiskFull | Cause::VolumeMount, _) => {
            let culprit = claim_of(e.world, e.target).unwrap_or(f.owner.clone());
            vec![
                f.base(clue.cause, culprit, clue.text.clone())
                    .checked_by(f.pods_show())
                    .via(f.owner.clone()),
            ]
        }
        (Cause::AutoscalerAtMax | Cause::AutoscalerMetrics, _) => vec![autoscaler(&f)],
        // A Job's back-off or deadline is a condition of the Job; its pods show it as
        // containers that ended with an error, whatever their reason.
        (Cause::JobFailed, _) => vec![
            f.base(clue.cause, f.owner.clone(), clue.text.clone())
                .checked_by(Check::PodsShow {
                    reason: String::new(),
                }),
        ],
        (Cause::CronJobNotRunning, _) => vec![
            f.base(clue.cause, f.owner.clone(), clue.text.clone())
                .checked_by(f.pods_show()),
        ],
        (Cause::BadConfigValue | Cause::MissingConfig, Subject::Setting { key, value }) => {
            vec![setting(&f, key, value.as_deref())]
        }
        (_, Subject::Host { host, port }) => from_host(e, clue, symptom, &f.owner, host, *port),
        (
            Cause::ConnectionRefused
            | Cause::ConnectionTimeout
            | Cause::UpstreamErrors
            | Cause::TooManyConnections
            | Cause::Credentials
            | Cause::RateLimited
            | Cause::Certificate
            | Cause::DnsUnavailable
            | Cause::NameNotFound,
            Subject::None,
        ) => {
            // A connection error without a host: look for one on the line.
            match deps::peers(&clue.text).first() {
                Some(p) => from_host(e, clue, symptom, &f.owner, &p.host, p.port),
                None => {
                    let mut c = f.base(clue.cause, f.owner.clone(), clue.text.clone());
                    c.specificity *= 0.6;
                    vec![c]
                }
            }
        }
        (cause, _) => vec![
            f.base(*cause, f.owner.clone(), clue.text.clone())
                .checked_by(f.pods_show()),
        ],
    }
}

/// A message naming an object (and perhaps a key): that object, checked by a read.
fn named_object(f: &From<'_, '_>, cause: Cause) -> Candidate {
    let Subject::Object {
        kind,
        namespace,
        name,
        key,
    } = &f.clue.subject
    else {
        return f.base(cause, f.owner.clone(), f.clue.text.clone());
    };
    let ns = f
        .clue
        .source
        .namespace
        .clone()
        .or(f.e.target.namespace.clone());
    let cluster_scoped = matches!(*kind, "StorageClass" | "Node" | "PersistentVolume");
    let namespace = if cluster_scoped {
        None
    } else {
        namespace.as_deref().or(ns.as_deref())
    };
    let r = ResourceRef::new(kind, namespace, name);
    let detail = match (cause, key) {
        (Cause::MissingConfig, Some(k)) => format!("has no key {k}"),
        (Cause::MissingConfig, None) | (Cause::ServiceAccountMissing, _) => "does not exist".into(),
        (Cause::Provisioning, _) => "does not exist; the claim cannot be provisioned".into(),
        _ => f.clue.text.clone(),
    };
    let check = match (cause, key) {
        (Cause::MissingConfig, Some(k)) if *kind == "ConfigMap" => Check::ConfigKey {
            configmap: name.clone(),
            key: k.clone(),
            value: None,
        },
        (Cause::MissingConfig | Cause::ServiceAccountMissing | Cause::Provisioning, None) => {
            Check::Missing {
                resource: r.to_string(),
            }
        }
        _ => f.pods_show(),
    };
    f.base(cause, r, detail)
        .checked_by(check)
        .via(f.owner.clone())
}

/// An image that cannot be pulled: the rollout's, or the pull Secret's when the registry
/// refuses the credentials.
fn image(f: &From<'_, '_>, subject: &Subject) -> Candidate {
    let image = match subject {
        Subject::Image(i) => i.clone(),
        _ => String::new(),
    };
    // Without a pull Secret the kubelet pulls with the node's own credentials (its
    // instance role, a credential provider): a refusal is the node's, not the workload's.
    let node = match (f.clue.cause, pull_secret(f.e.world, f.e.target)) {
        (Cause::ImageAuth, None) => node_of(f.e.world, &f.clue.source),
        _ => None,
    };
    // A pull Secret the pods name but their namespace lacks: the kubelet warns and pulls
    // without credentials, so the registry's refusal is the Secret's absence.
    let absent = match (f.clue.cause, pull_secret(f.e.world, f.e.target)) {
        (Cause::ImageAuth, Some(s))
            if f.e
                .world
                .is_missing("Secret", s.namespace.as_deref(), &s.name) =>
        {
            Some(s)
        }
        _ => None,
    };
    let detail = match f.clue.cause {
        Cause::ImageNotFound => format!("image {image} does not exist in the registry"),
        Cause::ImageAuth if absent.is_some() => {
            let s = absent.as_ref().map_or(String::new(), |s| s.name.clone());
            let ns = f.e.target.namespace.as_deref().unwrap_or("default");
            format!(
                "the pull Secret {s} the pods name does not exist in namespace {ns}, so the kubelet pulls {image} without credentials"
            )
        }
        Cause::ImageAuth if node.is_some() => format!(
            "the registry refuses the node's own pull credentials (its instance role or credential provider; the pods have no pull Secret) for {image}"
        ),
        Cause::ImageAuth => {
            format!("the registry refuses to serve {image} with the pull credentials")
        }
        Cause::RateLimited => {
            format!("the registry rate-limits pulls of {image} (toomanyrequests)")
        }
        _ => format!("the registry of {image} cannot be reached"),
    };
    let culprit = match (f.clue.cause, node) {
        (Cause::ImageAuth, Some(n)) => n,
        (Cause::ImageAuth, None) => pull_secret(f.e.world, f.e.target).unwrap_or(f.owner.clone()),
        _ => f.owner.clone(),
    };
    f.base(f.clue.cause, culprit, detail)
        .checked_by(f.pods_show())
        .via(f.owner.clone())
}

/// The scheduler finds no place: the workload's requests, or its unbound claim.
fn unschedulable(f: &From<'_, '_>) -> Candidate {
    let culprit = match f.clue.cause {
        Cause::UnboundVolume => claim_of(f.e.world, f.e.target).unwrap_or(f.owner.clone()),
        _ => f.owner.clone(),
    };
    f.base(f.clue.cause, culprit, f.clue.text.clone())
        .checked_by(Check::Unschedulable)
        .via(f.owner.clone())
}

/// A taint the pods do not tolerate: the nodes that carry it.
fn taint_of(f: &From<'_, '_>, taint: &str) -> Candidate {
    let nodes = nodes_with_taint(f.e.world, taint);
    let culprit = nodes.first().cloned().unwrap_or(f.owner.clone());
    let mut c = f
        .base(
            Cause::UntoleratedTaint,
            culprit,
            format!("taint {{{taint}}} not tolerated"),
        )
        .checked_by(Check::Unschedulable)
        .via(f.owner.clone());
    for n in nodes.into_iter().skip(1).take(2) {
        c = c.via(n);
    }
    c
}

/// A node evicting, under pressure or down: the node, and the neighbour the kubelet names
/// as the heaviest user.
fn node_trouble(f: &From<'_, '_>, subject: &Subject) -> Vec<Candidate> {
    let w = f.e.world;
    let node = node_of(w, &f.clue.source);
    let resource = match subject {
        Subject::Resource(r) => r.clone(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    if let Some(n) = &node {
        let check = Check::NodeCondition {
            node: n.name.clone(),
            condition: if f.clue.cause == Cause::NodeNotReady {
                "Ready".into()
            } else {
                pressure_of(&resource)
            },
        };
        let mut c = f
            .base(f.clue.cause, n.clone(), format!("node short of {resource}"))
            .checked_by(check)
            .via(f.owner.clone());
        // The kubelet names no pod for process IDs (it does for memory and disk): the
        // node is where, not what, and the pod holding them is still to be found.
        if resource == "pids" || f.clue.text.contains("PIDPressure") {
            c.detail.push_str(
                ": a pod on it holds too many processes (the kubelet does not say which; critical pods it never evicts)",
            );
            c.specificity = c.specificity.min(0.6);
        }
        out.push(c);
    }
    // "Container X was using 3Gi, request is 0": the neighbour that took it.
    if let Some(hog) = heaviest_container(&f.clue.text)
        && let Some(p) = w.pods(None).find(|p| {
            p.spec
                .as_ref()
                .is_some_and(|s| s.containers.iter().any(|c| c.name == hog))
                && objects::name(&p.metadata) != f.clue.source.name
        })
        && let Some(hog_owner) = owner_of(
            w,
            &ResourceRef::new(
                "Pod",
                p.metadata.namespace.as_deref(),
                objects::name(&p.metadata),
            ),
        )
        && hog_owner.name != f.e.target.name
    {
        let mut c = f.base(
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
        out.push(c.via(f.owner.clone()));
    }
    out
}

/// The workload's own containers fail: killed at the memory limit, throttled, probed
/// out, unable to listen or crashing.
fn own_failure(f: &From<'_, '_>) -> Candidate {
    let w = f.e.world;
    let check = match f.clue.cause {
        Cause::OutOfMemory => Check::OomAtLimit,
        _ => f.pods_show(),
    };
    let container = container_named(&f.clue.text);
    let detail = match f.clue.cause {
        Cause::OutOfMemory => limits(w, &f.owner, "memory", container.as_deref())
            .unwrap_or_else(|| f.clue.text.clone()),
        Cause::CpuThrottled => {
            limits(w, &f.owner, "cpu", container.as_deref()).unwrap_or_else(|| f.clue.text.clone())
        }
        _ => f.clue.text.clone(),
    };
    f.base(f.clue.cause, f.owner.clone(), detail)
        .checked_by(check)
}

/// Pods evicted for going over a limit of their own (ephemeral storage: the writable
/// layer, logs and emptyDir scratch space): the workload's usage or its limit, not the
/// node.
fn own_limit(f: &From<'_, '_>, key: &str, value: Option<&str>) -> Candidate {
    let detail = format!(
        "its pods use more local disk than their {key}{} (writable layer, logs and emptyDir scratch space), so the kubelet evicts them",
        value.map(|v| format!(" of {v}")).unwrap_or_default()
    );
    f.base(Cause::Evicted, f.owner.clone(), detail)
        .checked_by(Check::PodsShow {
            reason: "Evicted".into(),
        })
}

/// An autoscaler at its maximum or without metrics; metrics-server when the resource
/// metrics API itself does not answer.
fn autoscaler(f: &From<'_, '_>) -> Candidate {
    let w = f.e.world;
    let hpa = hpa_of(w, f.e.target).unwrap_or(f.owner.clone());
    let api_down = f.clue.cause == Cause::AutoscalerMetrics
        && (f.clue.text.contains("metrics API") || f.clue.text.contains("metrics.k8s.io"));
    let culprit = if api_down
        && w.get("Deployment", Some("kube-system"), "metrics-server")
            .is_some()
    {
        ResourceRef::new("Deployment", Some("kube-system"), "metrics-server")
    } else {
        hpa.clone()
    };
    f.base(f.clue.cause, culprit, f.clue.text.clone())
        .checked_by(Check::Present {
            resource: hpa.to_string(),
            key: None,
        })
        .via(hpa)
        .via(f.owner.clone())
}

/// The cloud refuses a call: the ServiceAccount, with its role or without one; the role
/// named when a controller called for the target (a provisioner, on its claim).
fn cloud_permission(f: &From<'_, '_>) -> Candidate {
    if let Subject::Object { kind, name, .. } = &f.clue.subject
        && f.clue.source.kind != "Pod"
    {
        let (role, why) = (ResourceRef::new(kind, None, name), &f.clue.text);
        let c = f.base(Cause::CloudPermission, role, format!("refused: {why}"));
        return c.via(f.clue.source.clone()).via(f.owner.clone());
    }
    let sa = service_account(f.e.world, f.e.target, &f.owner);
    let detail = match role_of(f.e.world, &sa) {
        Some(r) => format!("its role {r} is refused: {}", f.clue.text),
        None => format!(
            "it carries no cloud role annotation (IRSA / workload identity), so the pods run without the role: {}",
            f.clue.text
        ),
    };
    f.base(Cause::CloudPermission, sa.clone(), detail)
        .checked_by(Check::Present {
            resource: sa.to_string(),
            key: None,
        })
        .via(f.owner.clone())
}

/// A setting the application cannot use: the ConfigMap or Secret key that feeds it, or
/// the workload itself when nothing does.
fn setting(f: &From<'_, '_>, key: &str, value: Option<&str>) -> Candidate {
    match setting_source(f.e.world, &f.owner, key, value) {
        Some((r, k)) => {
            let detail = match value {
                Some(v) => format!("{k} holds {v:?}, which the application cannot use"),
                None => format!("{k} is missing or empty"),
            };
            let check = match &r.kind[..] {
                "ConfigMap" => Check::ConfigKey {
                    configmap: r.name.clone(),
                    key: k.clone(),
                    value: value.map(str::to_string),
                },
                _ => Check::Present {
                    resource: r.to_string(),
                    key: Some(k.clone()),
                },
            };
            f.base(f.clue.cause, r, detail)
                .checked_by(check)
                .via(f.owner.clone())
        }
        None => {
            let detail = match value {
                Some(v) if !key.is_empty() => format!("setting {key} is {v:?}"),
                Some(v) => format!("a setting holds {v:?}"),
                None => format!("setting {key} is not set"),
            };
            let mut c = f.base(f.clue.cause, f.owner.clone(), detail);
            c.specificity *= 0.7;
            c.checked_by(f.pods_show())
        }
    }
}

/// The container a status message was read from (`… (container NAME)`).
fn container_named(text: &str) -> Option<String> {
    let (_, rest) = text.rsplit_once("(container ")?;
    let name = rest.split(')').next()?;
    (!name.is_empty()).then(|| name.to_string())
}
