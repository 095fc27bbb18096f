//! The dependency walk: from the alert's target, read what its health depends on, round
//! by round, each read through the executor (so it shows in the Tools pane and the
//! trace). Each round asks only for what the previous ones showed to matter: the
//! target's pods and events first; then its ConfigMaps, Secrets, claims, service
//! account, Services, policies, autoscaler, nodes and logs; then what those lead to (a
//! claim's StorageClass, a host its logs cannot reach, cluster DNS, a Job's pods).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Pod;

use crate::agent::case::alert::Alert;
use crate::agent::case::clues::{self, Cause, Origin};
use crate::agent::case::hypotheses::preempt;
use crate::agent::case::refusal::dependency_hosts;
use crate::agent::case::target::Target;
use crate::agent::case::world::{Read, World, resource_of};
use crate::agent::case::{deps, objects};
use crate::agent::exec::{Exec, PlannedCall, Stop};
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// Reads the walk may spend, all rounds together.
pub const MAX_READS: usize = 32;
const MAX_ROUNDS: usize = 5;
/// Log tails read per round.
const MAX_LOGS: usize = 3;

/// Walk from the target until nothing new is worth reading or the reads are spent.
pub async fn walk(exec: &mut Exec<'_>, target: &Target, alert: &Alert) -> Result<(), Stop> {
    for _ in 0..MAX_ROUNDS {
        let world = &exec.inv.planner.world;
        let room = MAX_READS.saturating_sub(world.done.len());
        let mut reads = next_reads(world, target, alert);
        reads.truncate(room);
        if reads.is_empty() {
            break;
        }
        run(exec, reads).await?;
    }
    Ok(())
}

/// Make reads side by side and take in what they returned.
pub async fn run(exec: &mut Exec<'_>, reads: Vec<Read>) -> Result<(), Stop> {
    let planned: Vec<PlannedCall> = reads
        .iter()
        .map(|r| {
            let (name, args) = r.call();
            PlannedCall {
                id: exec.new_call_id(),
                name: name.to_string(),
                args,
            }
        })
        .collect();
    let results = exec.tools(planned).await?;
    for (read, r) in reads.iter().zip(&results) {
        let outcome = match &r.output {
            Ok(out) => Ok(&out.data),
            Err(e) => Err(e.as_str()),
        };
        exec.inv.planner.world.absorb(read, outcome);
    }
    Ok(())
}

/// What to read next, given what is known. Reads already made are left out.
pub fn next_reads(w: &World, t: &Target, alert: &Alert) -> Vec<Read> {
    let mut out = Vec::new();
    let ns = t.namespace.clone();
    target_reads(w, t, &mut out);
    if let Some(obj) = w.get(&t.kind, ns.as_deref(), &t.name) {
        spec_reads(w, obj, &mut out);
        cluster_reads(w, t, obj, &mut out);
    }
    log_reads(w, t, alert, &mut out);
    node_pod_reads(w, t, alert, &mut out);
    storage_reads(w, &mut out);
    dependency_reads(w, t, &mut out);
    super::beyond::beyond_reads(w, t, alert, &mut out);
    dns_reads(w, &mut out);
    platform_reads(w, &mut out);
    super::controllers::reads(w, t, alert, &mut out);
    super::certs::reads(w, t, &mut out);
    super::routes::reads(w, t, &mut out);
    let mut seen = BTreeSet::new();
    out.retain(|r| !w.has_read(r) && seen.insert(r.clone()));
    out
}

fn get(resource: &'static str, ns: Option<&str>, name: &str) -> Read {
    Read::Get {
        resource,
        namespace: ns.map(str::to_string),
        name: name.to_string(),
    }
}

fn list(resource: &'static str, ns: Option<&str>, selector: Option<&str>) -> Read {
    Read::List {
        resource,
        namespace: ns.map(str::to_string),
        selector: selector.map(str::to_string),
    }
}

/// The target itself, every pod and event of its namespace, the ReplicaSets (revision
/// history) and the commits of its files.
fn target_reads(_w: &World, t: &Target, out: &mut Vec<Read>) {
    let ns = t.namespace.as_deref();
    if let Some(resource) = resource_of(&t.kind) {
        let namespace = if t.kind == "Node" { None } else { ns };
        out.push(get(resource, namespace, &t.name));
    }
    out.push(list("pods", ns, None));
    out.push(Read::Events {
        namespace: t.namespace.clone(),
        about: None,
    });
    out.push(list("replicasets", ns, None));
    for path in t.paths.iter().take(2) {
        out.push(Read::GitLog {
            path: Some(path.clone()),
            since_days: 14,
        });
    }
    out.push(Read::GitLog {
        path: None,
        since_days: 3,
    });
}

/// What the target's pod template names: ConfigMaps, Secrets, claims, its account.
fn spec_reads(w: &World, obj: &KubeObject, out: &mut Vec<Read>) {
    let Some(spec) = objects::template(obj) else {
        return;
    };
    let ns = obj.meta().and_then(|m| m.namespace.as_deref());
    let mut refs = objects::spec_refs(spec);
    // Pods of the workload may run an older template: their references count too.
    if let Some(name) = obj.meta().and_then(|m| m.name.as_deref()) {
        for p in w.pods_of(name, ns) {
            if let Some(s) = p.spec.as_ref() {
                refs.extend(objects::spec_refs(s));
            }
        }
    }
    for r in refs {
        let resource = match r.kind {
            "ConfigMap" => "configmaps",
            "Secret" => "secrets",
            "PersistentVolumeClaim" => "persistentvolumeclaims",
            "ServiceAccount" => "serviceaccounts",
            _ => continue,
        };
        out.push(get(resource, ns, &r.name));
    }
}

/// Services, endpoints, policies, autoscalers, nodes and Jobs around the target.
fn cluster_reads(w: &World, t: &Target, obj: &KubeObject, out: &mut Vec<Read>) {
    let ns = t.namespace.as_deref();
    out.push(list("services", ns, None));
    out.push(list("endpointslices", ns, None));
    out.push(list("networkpolicies", ns, None));
    out.push(list("ingresses", ns, None));
    if matches!(t.kind.as_str(), "Deployment" | "StatefulSet") {
        out.push(list("horizontalpodautoscalers", ns, None));
    }
    // The TLS Secrets of the Ingress the alert reached the target through.
    if let Some(a) = t.alerted.as_ref().filter(|a| a.kind == "Ingress")
        && let Some(KubeObject::Ingress(i)) = w.get("Ingress", a.namespace.as_deref(), &a.name)
    {
        for tls in i.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
            if let Some(secret) = &tls.secret_name {
                out.push(get("secrets", a.namespace.as_deref(), secret));
            }
        }
    }
    // Jobs and CronJobs: scheduled load near the alert, runs on the timeline.
    out.push(list("jobs", ns, None));
    out.push(list("cronjobs", ns, None));
    let pods: Vec<&Pod> = w.pods_of(&t.name, ns).collect();
    let node_trouble = pods.iter().any(|p| {
        let st = p.status.as_ref();
        let phase = st.and_then(|s| s.phase.as_deref());
        matches!(phase, Some("Pending" | "Failed" | "Unknown"))
            || st.and_then(|s| s.reason.as_deref()).is_some()
            || !objects::pod_ready(p)
    }) || t.kind == "Node"
        || matches!(obj, KubeObject::DaemonSet(_));
    if node_trouble || w.events.iter().any(|e| e.about.kind == "Node") {
        out.push(list("nodes", None, None));
    }
    // An extended resource (a GPU) no node has: the DaemonSets, of every namespace, that
    // should advertise it (device plugins).
    if pods.iter().any(|p| {
        objects::unscheduled_message(p)
            .is_some_and(|m| crate::agent::case::hypotheses::devices::extended(m).is_some())
    }) {
        out.push(list("daemonsets", None, None));
    }
    // Nodes in trouble: their own events (evictions, pressure, NotReady).
    for n in w.of_kind("Node", None) {
        if let KubeObject::Node(node) = n
            && node_in_trouble(node)
        {
            out.push(Read::Events {
                namespace: t.namespace.clone(),
                about: Some(("Node".into(), n.name().to_string())),
            });
        }
    }
}

/// Nodes whose pods of every namespace are read (at most this many).
const NODES_LISTED: usize = 2;

/// What else runs where the target runs, whatever its namespace: on the nodes of its
/// pods that are NotReady or under pressure (who was evicted, who took the memory),
/// on a node the alert is about, and, when the alert is about slowness or saturation,
/// on the nodes its pods share (a neighbour taking the CPU).
fn node_pod_reads(w: &World, t: &Target, alert: &Alert, out: &mut Vec<Read>) {
    use crate::agent::case::alert::AlertSymptom;
    let mut nodes: Vec<String> = Vec::new();
    if t.kind == "Node" {
        nodes.push(t.name.clone());
    }
    let mine: Vec<String> = w
        .pods_of(&t.name, t.namespace.as_deref())
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .collect();
    for n in w.of_kind("Node", None) {
        if let KubeObject::Node(node) = n
            && node_in_trouble(node)
            && mine.iter().any(|m| m == n.name())
        {
            nodes.push(n.name().to_string());
        }
    }
    // Where its pods were preempted: the preemptor runs there.
    nodes.extend(
        preempt::preempted(w, &t.name)
            .filter_map(|e| preempt::preemptor(&e.message)?.1)
            .map(str::to_string),
    );
    if matches!(
        alert.symptom,
        AlertSymptom::Latency | AlertSymptom::Saturation
    ) {
        nodes.extend(mine);
    }
    let mut seen = BTreeSet::new();
    nodes.retain(|n| seen.insert(n.clone()));
    out.extend(
        nodes
            .into_iter()
            .take(NODES_LISTED)
            .map(|node| Read::PodsOnNode { node }),
    );
}

fn node_in_trouble(n: &k8s_openapi::api::core::v1::Node) -> bool {
    n.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .any(|c| {
            (c.type_ == "Ready" && c.status != "True") || (c.type_ != "Ready" && c.status == "True")
        })
}

/// Log tails: the failing containers of the target (the crashed instance when it
/// restarted), and a healthy pod when the alert is about errors or slowness, or when
/// nothing else failed.
fn log_reads(w: &World, t: &Target, alert: &Alert, out: &mut Vec<Read>) {
    let ns = t.namespace.as_deref();
    let mut logs = Vec::new();
    let pods: Vec<&Pod> = w.pods_of(&t.name, ns).collect();
    for p in &pods {
        for c in objects::container_troubles(p) {
            if c.reason == "ContainerCreating"
                || c.state == "waiting" && !c.reason.contains("CrashLoop")
            {
                continue;
            }
            logs.push(Read::Logs {
                namespace: t.namespace.clone(),
                pod: objects::name(&p.metadata).to_string(),
                container: Some(c.container.clone()),
                previous: c.restarts > 0,
            });
        }
    }
    let failing = !logs.is_empty();
    if (!failing || alert.symptom.reads_logs())
        && let Some(p) = pods.iter().find(|p| objects::pod_ready(p))
    {
        logs.push(Read::Logs {
            namespace: t.namespace.clone(),
            pod: objects::name(&p.metadata).to_string(),
            container: None,
            previous: false,
        });
    }
    // A Job's latest pod, for a CronJob or Job target.
    if matches!(t.kind.as_str(), "CronJob" | "Job") {
        let mut job_pods: Vec<&Pod> = w
            .pods(ns)
            .filter(|p| {
                objects::controller(&p.metadata).is_some_and(|(k, owner)| {
                    k == "Job" && (owner == t.name || objects::named_for(owner, &t.name))
                })
            })
            .collect();
        job_pods.sort_by_key(|p| objects::created(&p.metadata));
        if let Some(p) = job_pods.last() {
            logs.push(Read::Logs {
                namespace: t.namespace.clone(),
                pod: objects::name(&p.metadata).to_string(),
                container: None,
                previous: false,
            });
        }
    }
    logs.retain(|r| !w.has_read(r));
    logs.truncate(MAX_LOGS);
    out.extend(logs);
}

/// A claim's StorageClass and volume.
fn storage_reads(w: &World, out: &mut Vec<Read>) {
    for o in w.of_kind("PersistentVolumeClaim", None) {
        let KubeObject::PersistentVolumeClaim(c) = o else {
            continue;
        };
        let spec = c.spec.as_ref();
        if let Some(sc) = spec.and_then(|s| s.storage_class_name.as_deref()) {
            out.push(get("storageclasses", None, sc));
        }
        if let Some(pv) = spec.and_then(|s| s.volume_name.as_deref()) {
            out.push(get("persistentvolumes", None, pv));
        }
    }
}

/// The hosts the target's logs fail to reach or that refuse its work: their Services'
/// pods and workload and, when those fail, their logs.
fn dependency_reads(w: &World, t: &Target, out: &mut Vec<Read>) {
    let ns = t.namespace.as_deref();
    let mut services: Vec<ResourceRef> = Vec::new();
    for host in dependency_hosts(w, t) {
        if let Some(svc) = deps::service_for(w, &host, ns) {
            services.push(svc);
        } else if let Some((name, sns)) = deps::cluster_name(&host)
            && !w.is_missing("Service", sns.as_deref().or(ns), &name)
        {
            out.push(get("services", sns.as_deref().or(ns), &name));
        }
    }
    for svc in services {
        let Some(KubeObject::Service(s)) = w.get("Service", svc.namespace.as_deref(), &svc.name)
        else {
            continue;
        };
        let Some(sel) = s.spec.as_ref().and_then(|sp| sp.selector.as_ref()) else {
            continue;
        };
        let svc_ns = svc.namespace.as_deref();
        if svc_ns != ns {
            let selector = sel
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            out.push(list("pods", svc_ns, Some(&selector)));
            out.push(list("endpointslices", svc_ns, None));
            // Policies there may refuse the caller's traffic.
            out.push(list("networkpolicies", svc_ns, None));
        }
        // The workload behind it: its settings.
        if let Some(dep) = crate::agent::case::hypotheses::workload_behind(w, &svc)
            && let Some(resource) = resource_of(&dep.kind)
        {
            out.push(get(resource, svc_ns, &dep.name));
        }
        // The dependency's failing pods: one crashed container's log.
        let failing = w
            .pods(svc_ns)
            .filter(|p| crate::kube::selector::map_selects(sel, &objects::labels(&p.metadata)))
            .find_map(|p| {
                let c = objects::container_troubles(p).into_iter().next()?;
                Some(Read::Logs {
                    namespace: svc.namespace.clone(),
                    pod: objects::name(&p.metadata).to_string(),
                    container: Some(c.container),
                    previous: c.restarts > 0,
                })
            });
        out.extend(failing.filter(|r| !w.has_read(r)));
    }
}

/// When names do not resolve, cluster DNS: its pods, Deployment, configuration and log.
fn dns_reads(w: &World, out: &mut Vec<Read>) {
    let dns_trouble = w.logs.iter().any(|tail| {
        tail.error_lines.iter().any(|l| {
            let src = ResourceRef::new("Pod", tail.namespace.as_deref(), &tail.pod);
            clues::read(l, &src, Origin::Log, None)
                .iter()
                .any(|c| c.cause == Cause::DnsUnavailable)
        })
    });
    if !dns_trouble {
        return;
    }
    let ks = Some("kube-system");
    out.push(list("pods", ks, Some("k8s-app=kube-dns")));
    out.push(get("deployments", ks, "coredns"));
    out.push(get("configmaps", ks, "coredns"));
    out.push(Read::Events {
        namespace: Some("kube-system".into()),
        about: None,
    });
    if let Some(p) = w.pods(ks).find(|p| {
        objects::labels(&p.metadata)
            .get("k8s-app")
            .map(String::as_str)
            == Some("kube-dns")
    }) {
        out.push(platform_log(p));
    }
}

/// The log of a platform component's pod: the crashed instance when it restarts.
fn platform_log(p: &Pod) -> Read {
    let restarting = p
        .status
        .iter()
        .flat_map(|s| s.container_statuses.iter().flatten())
        .any(|c| c.restart_count > 0 && !c.ready);
    Read::Logs {
        namespace: p.metadata.namespace.clone(),
        pod: objects::name(&p.metadata).to_string(),
        container: None,
        previous: restarting,
    }
}

/// Platform pieces a message points at: metrics-server when autoscalers cannot read
/// metrics, the namespace's Secrets (names and types only) when certificates fail.
fn platform_reads(w: &World, out: &mut Vec<Read>) {
    let says = |needle: &str| {
        w.events.iter().any(|e| e.message.contains(needle))
            || w.of_kind("HorizontalPodAutoscaler", None).any(|o| match o {
                KubeObject::HorizontalPodAutoscaler(h) => h
                    .status
                    .iter()
                    .flat_map(|s| s.conditions.iter().flatten())
                    .any(|c| c.message.as_deref().is_some_and(|m| m.contains(needle))),
                _ => false,
            })
    };
    if says("metrics API") || says("metrics.k8s.io") {
        out.push(get("deployments", Some("kube-system"), "metrics-server"));
        out.push(list(
            "pods",
            Some("kube-system"),
            Some("k8s-app=metrics-server"),
        ));
        // What metrics-server itself says about why it does not serve.
        if let Some(p) = w.pods_of("metrics-server", Some("kube-system")).next() {
            out.push(platform_log(p));
        }
    }
    let tls_trouble = w.logs.iter().any(|l| {
        l.error_lines
            .iter()
            .any(|x| x.contains("x509") || x.to_ascii_lowercase().contains("certificate"))
    });
    if tls_trouble {
        out.push(list("secrets", w.namespace.as_deref(), None));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::tools::ToolData;

    fn target() -> Target {
        Target {
            kind: "Deployment".into(),
            namespace: Some("shop".into()),
            name: "checkout-api".into(),
            ..Target::default()
        }
    }

    fn objects(kind: &str, items: Vec<serde_json::Value>) -> ToolData {
        ToolData::Objects(
            items
                .into_iter()
                .map(|v| KubeObject::parse(kind, v))
                .collect(),
        )
    }

    #[test]
    fn each_round_reads_what_the_last_one_showed_to_matter() {
        let t = target();
        let alert = Alert::default();
        let mut w = World::new(chrono::Utc::now(), Some("shop".into()));
        let first = next_reads(&w, &t, &alert);
        assert!(first.contains(&get("deployments", Some("shop"), "checkout-api")));
        assert!(first.contains(&list("pods", Some("shop"), None)));
        assert!(
            first
                .iter()
                .any(|r| matches!(r, Read::Events { about: None, .. }))
        );
        for r in &first {
            w.absorb(r, Err("error: not read in this test"));
        }
        // The Deployment names a ConfigMap key and a Secret; one pod crash-loops.
        let deploy = json!({"metadata": {"name": "checkout-api", "namespace": "shop"},
            "spec": {"selector": {"matchLabels": {"app": "checkout-api"}},
                "template": {"metadata": {"labels": {"app": "checkout-api"}}, "spec": {"containers": [{"name": "api",
                    "env": [{"name": "PAYMENTS_URL", "valueFrom": {"configMapKeyRef": {"name": "checkout-config", "key": "PAYMENTS_URL"}}},
                            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}]}}}});
        let pod = json!({"metadata": {"name": "checkout-api-7c9d6f5b8-x2x9k", "namespace": "shop", "labels": {"app": "checkout-api"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-api-7c9d6f5b8", "uid": "u", "controller": true}]},
            "spec": {"containers": [{"name": "api"}], "nodeName": "node-a"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "api", "ready": false, "restartCount": 4, "image": "i", "imageID": "",
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}, "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}}]}});
        w.done.clear();
        w.absorb(
            &get("deployments", Some("shop"), "checkout-api"),
            Ok(&objects("Deployment", vec![deploy])),
        );
        w.absorb(
            &list("pods", Some("shop"), None),
            Ok(&objects("Pod", vec![pod])),
        );
        let second = next_reads(&w, &t, &alert);
        assert!(
            second.contains(&get("configmaps", Some("shop"), "checkout-config")),
            "{second:?}"
        );
        assert!(
            second.contains(&get("secrets", Some("shop"), "db")),
            "{second:?}"
        );
        assert!(second.contains(&list("networkpolicies", Some("shop"), None)));
        assert!(
            second.contains(&list("nodes", None, None)),
            "a pod is not ready: {second:?}"
        );
        assert!(
            second.contains(&Read::Logs {
                namespace: Some("shop".into()),
                pod: "checkout-api-7c9d6f5b8-x2x9k".into(),
                container: Some("api".into()),
                previous: true,
            }),
            "the crashed instance's log: {second:?}"
        );
        // Reads made are not asked for again; a missing Secret is remembered.
        w.absorb(
            &get("secrets", Some("shop"), "db"),
            Err("error: secrets \"db\" not found"),
        );
        assert!(w.is_missing("Secret", Some("shop"), "db"));
        assert!(!next_reads(&w, &t, &alert).contains(&get("secrets", Some("shop"), "db")));
    }

    #[test]
    fn pods_belong_to_their_own_workload_only() {
        assert!(objects::named_for(
            "checkout-api-7c9d6f5b8-x2x9k",
            "checkout-api"
        ));
        assert!(objects::named_for("postgres-0", "postgres"));
        assert!(objects::named_for("backup-29012345-abcde", "backup"));
        assert!(!objects::named_for("api-gateway-7c9d6f5b8-x2x9k", "api"));
        assert!(!objects::named_for("checkout-api", "checkout-api"));
    }
}
