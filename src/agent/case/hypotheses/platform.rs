//! The platform around the target: TLS Secrets for certificate alerts, noisy
//! neighbours on its nodes, its autoscaler at its maximum, its nodes down or under
//! pressure.

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::super::clues::Cause;
use super::super::objects;
use super::super::timeline::NEAR_MINUTES;
use super::batch::scheduled_load;
use super::candidate::{Candidate, Facts, symptoms_of};
use super::lookup::replica_sets;
use super::resolve::{owner_of, target_ref};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;
use crate::kube::state::opt_time;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// An alert about expiring or failing certificates: the TLS Secrets that serve the
/// target (an Ingress's `tls`, or mounted by its pods). Their data is never read, so
/// only the alert and the names point at them.
pub(super) fn certificates(e: &Facts<'_>) -> Vec<Candidate> {
    if e.alert.symptom != super::super::alert::AlertSymptom::Expiry {
        return Vec::new();
    }
    let t = e.target;
    let ns = t.namespace.as_deref();
    let mut names: Vec<(String, String)> = Vec::new();
    for o in e.world.of_kind("Ingress", ns) {
        let KubeObject::Ingress(ing) = o else {
            continue;
        };
        let routes_target =
            o.name() == t.name || t.alerted.as_ref().is_some_and(|a| a.name == o.name());
        for tls in ing.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
            if let Some(secret) = &tls.secret_name
                && (routes_target
                    || tls
                        .hosts
                        .iter()
                        .flatten()
                        .any(|h| e.alert.words().contains(h.as_str())))
            {
                names.push((
                    secret.clone(),
                    format!(
                        "Ingress {} serves {} with it",
                        o.name(),
                        tls.hosts.clone().unwrap_or_default().join(", ")
                    ),
                ));
            }
        }
    }
    if let Some(spec) = e
        .world
        .get(&t.kind, ns, &t.name)
        .and_then(objects::template)
    {
        for r in objects::spec_refs(spec)
            .into_iter()
            .filter(|r| r.kind == "Secret")
        {
            if let Some(KubeObject::Secret(s)) = e.world.get("Secret", ns, &r.name)
                && s.type_.as_deref() == Some("kubernetes.io/tls")
            {
                names.push((r.name.clone(), format!("{} mounts it ({})", t.name, r.via)));
            }
        }
    }
    names.dedup();
    names
        .into_iter()
        .map(|(name, how)| {
            let r = ResourceRef::new("Secret", ns, &name);
            Candidate::new(
                Cause::Certificate,
                r.clone(),
                format!("its certificate is the one the alert says expires or fails; {how}"),
                0.55,
            )
            .because(EvidenceKind::Resource, r.to_string(), how)
            .explaining([0])
            .checked_by(Check::Present {
                resource: r.to_string(),
                key: None,
            })
        })
        .collect()
}

/// A latency or error alert on a healthy target, and another workload's pod that
/// started near the alert on the same node with no CPU or memory limit: it may take
/// what the target needs.
pub(super) fn neighbours(e: &Facts<'_>) -> Vec<Candidate> {
    use super::super::alert::AlertSymptom;
    if e.observations.target_troubled()
        || !matches!(
            e.alert.symptom,
            AlertSymptom::Latency | AlertSymptom::Errors | AlertSymptom::Saturation
        )
    {
        return Vec::new();
    }
    let t = e.target;
    let nodes: Vec<&str> = e
        .world
        .pods_of(&t.name, t.namespace.as_deref())
        .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
        .collect();
    let mut out: Vec<Candidate> = Vec::new();
    for p in e.world.pods(None) {
        let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_deref()) else {
            continue;
        };
        if !nodes.contains(&node) || objects::is_pod_of(p, &t.name) {
            continue;
        }
        let Some(started) = objects::created(&p.metadata) else {
            continue;
        };
        let before = (e.start - started).num_minutes();
        if !(-10..=NEAR_MINUTES).contains(&before) {
            continue;
        }
        if !unlimited(p, &["cpu", "memory"]) {
            continue;
        }
        let (pod, owner) = pod_and_owner(e, p);
        if out.iter().any(|c| c.culprit == owner) {
            continue;
        }
        // Batch work (a Job's pod) without a CPU limit takes every core it can get.
        let batch = objects::controller(&p.metadata).is_some_and(|(k, _)| k == "Job")
            && unlimited(p, &["cpu"]);
        out.push(
            Candidate::new(
                Cause::NoisyNeighbour,
                owner,
                format!(
                    "started {} on node {node} with no {} limit",
                    started.format("%H:%M"),
                    if unlimited(p, &["cpu"]) {
                        "CPU"
                    } else {
                        "memory"
                    }
                ),
                if batch { 0.6 } else { 0.45 },
            )
            .because(
                EvidenceKind::Resource,
                pod.to_string(),
                format!("on {node}, no limits"),
            )
            .explaining([0])
            .via(ResourceRef::new("Node", None, node)),
        );
    }
    out
}

/// The resource a node condition says is short, as a container limit names it.
fn pressured_resource(condition: &str) -> Option<&'static str> {
    match condition {
        "MemoryPressure" => Some("memory"),
        "DiskPressure" => Some("ephemeral-storage"),
        _ => None,
    }
}

/// A node of the target's pods under memory or disk pressure, and another workload's
/// pod (any namespace) that started on it in the hour and a half before the pressure
/// with no limit on that resource: the pressure is where it shows, the unlimited pod
/// is why. Named directly only when it is the one such pod; the candidate's first link
/// is the node, so it takes over what the node's pressure explained.
pub(super) fn pressure_neighbours(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let mine: Vec<&str> = e
        .world
        .pods_of(&t.name, t.namespace.as_deref())
        .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
        .collect();
    let mut out = Vec::new();
    for o in e.world.of_kind("Node", None) {
        let KubeObject::Node(n) = o else { continue };
        if !mine.contains(&o.name()) {
            continue;
        }
        for c in n.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
            let Some(resource) = pressured_resource(&c.type_).filter(|_| c.status == "True") else {
                continue;
            };
            let since = opt_time(c.last_transition_time.as_ref()).unwrap_or(e.start);
            let hogs = unlimited_pods_before(e, o.name(), resource, since);
            let specificity = if hogs.len() == 1 { 0.9 } else { 0.45 };
            for (owner, pod, started) in hogs {
                out.push(
                    Candidate::new(
                        Cause::NoisyNeighbour,
                        owner,
                        format!(
                            "started {} with no {resource} limit and takes the node's {resource}: {} since {}",
                            started.format("%H:%M"),
                            c.type_,
                            since.format("%H:%M")
                        ),
                        specificity,
                    )
                    .because(
                        EvidenceKind::Resource,
                        o.reference().to_string(),
                        format!("{}=True since {}", c.type_, since.format("%H:%M")),
                    )
                    .because(
                        EvidenceKind::Resource,
                        pod.to_string(),
                        format!("started {} on {}, no {resource} limit", started.format("%H:%M"), o.name()),
                    )
                    .explaining([0])
                    .via(o.reference()),
                );
            }
        }
    }
    out
}

/// Pods of other workloads on `node` that started within [`NEAR_MINUTES`] before
/// `since` with no limit on `resource`: (owner, pod, started).
fn unlimited_pods_before(
    e: &Facts<'_>,
    node: &str,
    resource: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> Vec<(ResourceRef, ResourceRef, chrono::DateTime<chrono::Utc>)> {
    let mut out: Vec<(ResourceRef, ResourceRef, chrono::DateTime<chrono::Utc>)> = Vec::new();
    for p in e.world.pods(None) {
        let spec = p.spec.as_ref();
        if spec.and_then(|s| s.node_name.as_deref()) != Some(node)
            || objects::is_pod_of(p, &e.target.name)
        {
            continue;
        }
        let Some(started) = objects::created(&p.metadata) else {
            continue;
        };
        if !(0..=NEAR_MINUTES).contains(&(since - started).num_minutes()) {
            continue;
        }
        if !unlimited(p, &[resource]) {
            continue;
        }
        let (pod, owner) = pod_and_owner(e, p);
        if !out.iter().any(|(o, _, _)| *o == owner) {
            out.push((owner, pod, started));
        }
    }
    out
}

/// Whether a container of `p` has no limit on one of `resources`.
fn unlimited(p: &Pod, resources: &[&str]) -> bool {
    p.spec.iter().flat_map(|s| s.containers.iter()).any(|c| {
        c.resources
            .as_ref()
            .and_then(|r| r.limits.as_ref())
            .is_none_or(|l| resources.iter().any(|r| !l.contains_key(*r)))
    })
}

/// A pod's reference and the workload it belongs to (the pod itself without one).
fn pod_and_owner(e: &Facts<'_>, p: &Pod) -> (ResourceRef, ResourceRef) {
    let pod = ResourceRef::new(
        "Pod",
        p.metadata.namespace.as_deref(),
        objects::name(&p.metadata),
    );
    let owner = owner_of(e.world, &pod).unwrap_or(pod.clone());
    (pod, owner)
}

/// The target's autoscaler at its maximum while the target is healthy: it cannot add
/// the replicas the load needs.
pub(super) fn autoscaler(e: &Facts<'_>) -> Option<Candidate> {
    let t = e.target;
    let o = e.world.of_kind("HorizontalPodAutoscaler", t.namespace.as_deref()).find(|o| {
        matches!(o, KubeObject::HorizontalPodAutoscaler(h) if h.spec.as_ref().is_some_and(|s| s.scale_target_ref.name == t.name))
    })?;
    let KubeObject::HorizontalPodAutoscaler(h) = o else {
        return None;
    };
    let (spec, st) = (h.spec.as_ref()?, h.status.as_ref()?);
    let current = st.current_replicas.unwrap_or(0);
    if current < spec.max_replicas {
        return None;
    }
    let metrics: Vec<String> = st
        .current_metrics
        .iter()
        .flatten()
        .filter_map(|m| {
            let r = m.resource.as_ref()?;
            Some(format!("{} at {}%", r.name, r.current.average_utilization?))
        })
        .collect();
    let ids = super::candidate::seen_on(e.observations, &o.reference());
    Some(
        Candidate::new(
            Cause::AutoscalerAtMax,
            o.reference(),
            format!(
                "runs {current} replicas, its maximum (maxReplicas {}){}",
                spec.max_replicas,
                if metrics.is_empty() {
                    String::new()
                } else {
                    format!(", {}", metrics.join(", "))
                }
            ),
            // Load from a scheduled job that started near the alert explains the
            // autoscaler's ceiling better than the ceiling explains the alert.
            if e.observations.target_troubled() || !scheduled_load(e).is_empty() {
                0.35
            } else {
                0.6
            },
        )
        .because(
            EvidenceKind::Resource,
            o.reference().to_string(),
            format!(
                "currentReplicas {current} = maxReplicas {}",
                spec.max_replicas
            ),
        )
        .explaining(ids.into_iter().chain([0]))
        .checked_by(Check::AtMaximum {
            hpa: o.name().to_string(),
        }),
    )
}

/// Nodes of the target's pods that are not ready or under pressure.
pub(super) fn nodes(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let pods: Vec<&Pod> = e.world.pods_of(&t.name, t.namespace.as_deref()).collect();
    let mut out = Vec::new();
    for o in e.world.of_kind("Node", None) {
        let KubeObject::Node(n) = o else { continue };
        let on: Vec<&Pod> = pods
            .iter()
            .copied()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(o.name()))
            .collect();
        if on.is_empty() {
            continue;
        }
        for c in n.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
            let (cause, bad) = match c.type_.as_str() {
                "Ready" => (Cause::NodeNotReady, c.status != "True"),
                "MemoryPressure" | "DiskPressure" | "PIDPressure" => {
                    (Cause::NodePressure, c.status == "True")
                }
                _ => continue,
            };
            if !bad {
                continue;
            }
            // A node under pressure is where the resource ran out, not what used it up:
            // the condition names no consumer, so it points at the node, no more.
            let specificity = if cause == Cause::NodePressure {
                0.6
            } else {
                0.85
            };
            out.push(
                Candidate::new(
                    cause,
                    o.reference(),
                    format!(
                        "{}={} ({}): {}",
                        c.type_,
                        c.status,
                        c.reason.as_deref().unwrap_or(""),
                        c.message.as_deref().unwrap_or("")
                    ),
                    specificity,
                )
                .because(
                    EvidenceKind::Resource,
                    o.reference().to_string(),
                    format!("{} of {}'s pods run there", on.len(), t.name),
                )
                .explaining(symptoms_of(e, &on))
                .checked_by(Check::NodeCondition {
                    node: o.name().to_string(),
                    condition: c.type_.clone(),
                }),
            );
        }
    }
    out
}

/// CPU in cores from a quantity (`500m`, `2`, `1.5`).
fn cores(q: &str) -> Option<f64> {
    match q.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok().map(|m| m / 1000.0),
        None => q.parse().ok(),
    }
}

/// The largest CPU limit among a pod spec's containers (`None`: no container has one).
fn cpu_limit(spec: Option<&PodSpec>) -> Option<(f64, String)> {
    spec?
        .containers
        .iter()
        .filter_map(|c| {
            let q = c.resources.as_ref()?.limits.as_ref()?.get("cpu")?;
            Some((cores(&q.0)?, q.0.clone()))
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// How directly a runtime told to use more CPUs than its limit names throttling.
const THREADS_OVER_LIMIT: f32 = 0.9;

/// Runtime settings that size thread pools by CPU count (`-XX:ActiveProcessorCount`,
/// `-XX:ParallelGCThreads`, `GOMAXPROCS`): the largest count and the settings, when
/// the count is at least twice the CPU limit.
fn threads_over_limit(spec: Option<&PodSpec>, limit: f64) -> Option<(u32, String)> {
    const FLAGS: [&str; 4] = [
        "-XX:ActiveProcessorCount=",
        "-XX:ParallelGCThreads=",
        "-XX:ConcGCThreads=",
        "-XX:CICompilerCount=",
    ];
    let mut most = 0;
    let mut said = Vec::new();
    for env in spec?.containers.iter().flat_map(|c| c.env.iter().flatten()) {
        let value = env.value.as_deref().unwrap_or_default();
        let mut counts: Vec<(u32, String)> = value
            .split_whitespace()
            .filter_map(|w| {
                let n = FLAGS.iter().find_map(|f| w.strip_prefix(f))?.parse().ok()?;
                Some((n, w.to_string()))
            })
            .collect();
        if env.name == "GOMAXPROCS"
            && let Ok(n) = value.trim().parse()
        {
            counts.push((n, format!("GOMAXPROCS={n}")));
        }
        for (n, w) in counts {
            most = most.max(n);
            said.push(format!("{} {w}", env.name));
        }
    }
    (f64::from(most) >= 2.0 * limit && most > 1).then(|| (most, said.join(", ")))
}

/// A latency or saturation alert on a target that is not crashing, whose containers run
/// under a CPU limit: the CFS quota throttles them when the load needs more. Named
/// directly when the serving revision cut the limit below the previous revision's (that
/// rollout is its change), or when its runtime is told to run more threads than the
/// limit gives CPUs (latent until the load comes: no change dates it).
pub(super) fn cpu_throttling(e: &Facts<'_>) -> Option<Candidate> {
    use super::super::alert::AlertSymptom;
    let t = e.target;
    let crashing = e.world.pods_of(&t.name, t.namespace.as_deref()).any(|p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Pending")
            || objects::container_troubles(p)
                .iter()
                .any(|c| c.state == "waiting")
    });
    if t.kind != "Deployment"
        || crashing
        || !matches!(
            e.alert.symptom,
            AlertSymptom::Latency | AlertSymptom::Saturation
        )
    {
        return None;
    }
    let ns = t.namespace.as_deref();
    let sets = replica_sets(e.world, ns, &t.name);
    let spec = match sets.first() {
        Some(rs) => objects::rs_spec(rs),
        None => e
            .world
            .get(&t.kind, ns, &t.name)
            .and_then(objects::template),
    };
    let (now, shown) = cpu_limit(spec)?;
    let before = sets.get(1).and_then(|rs| cpu_limit(objects::rs_spec(rs)));
    let r = target_ref(t);
    let (detail, specificity) = match &before {
        Some((was, was_shown)) if *was > now => (
            format!(
                "its CPU limit was cut from {was_shown} to {shown} in revision {}, so the CFS quota throttles its containers under load",
                sets.first().map_or(0, |rs| objects::revision(&rs.metadata))
            ),
            0.75,
        ),
        _ => match threads_over_limit(spec, now) {
            Some((n, said)) => (
                format!(
                    "its runtime is told to use {n} CPUs ({said}) under a CPU limit of {shown}: its GC and worker threads exceed the CFS quota, which throttles them (long pauses under load)"
                ),
                THREADS_OVER_LIMIT,
            ),
            None => (
                format!(
                    "its containers run under a CPU limit of {shown}; the CFS quota throttles them when the load needs more"
                ),
                0.35,
            ),
        },
    };
    // Nothing crashes: what the pods show (slow probes, slow requests) is the slowness.
    let pods: Vec<&Pod> = e.world.pods_of(&t.name, ns).collect();
    let mut c = Candidate::new(Cause::CpuThrottled, r.clone(), detail, specificity)
        .because(
            EvidenceKind::Resource,
            r.to_string(),
            format!("limits.cpu {shown}"),
        )
        .explaining(symptoms_of(e, &pods).into_iter().chain([0]));
    let cut = before.as_ref().is_some_and(|(was, _)| *was > now);
    if let Some(rs) = sets.first().filter(|_| cut) {
        c.change = e
            .timeline
            .iter()
            .filter(|ch| ch.kind == "rollout" && ch.reference.ends_with(&format!("/{}", t.name)))
            .filter(|ch| ch.what.contains(objects::name(&rs.metadata)))
            .max_by_key(|ch| ch.at)
            .cloned();
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(env: &[(&str, &str)]) -> PodSpec {
        serde_json::from_value(serde_json::json!({"containers": [{"name": "app",
            "env": env.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect::<Vec<_>>()}]}))
        .unwrap()
    }

    #[test]
    fn runtimes_told_more_cpus_than_their_limit_are_named() {
        let jvm = spec(&[("JAVA_TOOL_OPTIONS", "-Xmx1g -XX:ParallelGCThreads=16")]);
        let (n, said) = threads_over_limit(Some(&jvm), 2.0).unwrap();
        assert_eq!(n, 16);
        assert!(
            said.contains("JAVA_TOOL_OPTIONS -XX:ParallelGCThreads=16"),
            "{said}"
        );
        assert!(threads_over_limit(Some(&jvm), 10.0).is_none());
        let go = spec(&[("GOMAXPROCS", "8")]);
        assert!(threads_over_limit(Some(&go), 1.0).is_some());
        assert!(threads_over_limit(Some(&spec(&[("GOMAXPROCS", "1")])), 1.0).is_none());
        assert!(threads_over_limit(Some(&spec(&[("OTHER", "16")])), 1.0).is_none());
    }
}
