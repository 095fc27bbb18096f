//! Reads beyond the target's namespace. A dependency the target reaches may live in
//! another namespace, addressed only through a Secret (whose value is never read): when
//! a refusal in its protocol's words, or a host given by cluster IP, finds no Service
//! among those read, the Services of every namespace are listed once, and the walk
//! follows the match as it follows any dependency (its pods, workload, events, a log).
//! Load may come from elsewhere too: when the target is healthy and the alert is about
//! load (or its autoscaler is at its maximum), the Jobs of every namespace are listed,
//! and the ConfigMaps of those running near the alert in other namespaces are read (a
//! client's settings may name the target). The caller the target's log names most is
//! read further: its namespace's events and autoscalers (a scale-up near the alert).

use crate::agent::case::alert::{Alert, AlertSymptom};
use crate::agent::case::deps;
use crate::agent::case::objects;
use crate::agent::case::refusal::{self, configured, speaker};
use crate::agent::case::target::Target;
use crate::agent::case::timeline::NEAR_MINUTES;
use crate::agent::case::world::{Read, World};
use crate::agent::tools::data::KubeObject;

/// Clients in other namespaces whose configuration is read.
const CLIENTS_READ: usize = 2;

/// What to read outside the target's namespace, given what is known.
pub fn beyond_reads(w: &World, t: &Target, alert: &Alert, out: &mut Vec<Read>) {
    let ns = t.namespace.as_deref();
    let listed_here = w.has_read(&Read::List {
        resource: "services",
        namespace: t.namespace.clone(),
        selector: None,
    });
    if listed_here && unresolved_dependency(w, t) {
        out.push(Read::ListAll {
            resource: "services",
        });
    }
    // The events of the namespaces of the dependencies found elsewhere.
    for host in refusal::dependency_hosts(w, t) {
        if let Some(svc) = deps::service_for(w, &host, ns)
            && svc.namespace.as_deref() != ns
        {
            out.push(Read::Events {
                namespace: svc.namespace.clone(),
                about: None,
            });
        }
    }
    if under_load(w, t, alert) {
        out.push(Read::ListAll { resource: "jobs" });
        client_reads(w, t, alert, out);
        // Callers its log names by address: the pods of every namespace (address →
        // pod → owner) and the ReplicaSets (their revisions).
        if !crate::agent::case::hypotheses::client_ips(w, t).is_empty() {
            out.push(Read::ListAll { resource: "pods" });
            out.push(Read::ListAll {
                resource: "replicasets",
            });
        }
        // The caller they belong to: its namespace's events (scaling) and autoscalers.
        if let Some(c) =
            crate::agent::case::hypotheses::main_caller_of(w, t).filter(|c| c.kind == "Deployment")
        {
            out.push(Read::Events {
                namespace: c.namespace.clone(),
                about: None,
            });
            out.push(Read::List {
                resource: "horizontalpodautoscalers",
                namespace: c.namespace.clone(),
                selector: None,
            });
        }
    }
}

/// A dependency the target's logs point at that no Service read accounts for: a
/// refusal in a protocol's words with neither a configured host nor a Service speaking
/// it, or a host given by cluster IP that no Service read has.
fn unresolved_dependency(w: &World, t: &Target) -> bool {
    let refused = w
        .logs
        .iter()
        .filter(|l| objects::named_for(&l.pod, &t.name))
        .flat_map(|l| l.error_lines.iter())
        .filter(|line| deps::peers(line).is_empty())
        .filter_map(|line| refusal::refusal(line))
        .any(|p| configured(w, t, p).is_empty() && speaker(w, t, p).is_none());
    let by_ip = deps::failing_hosts(w, t).iter().any(|h| {
        h.split('.').count() == 4
            && h.split('.').all(|x| x.parse::<u8>().is_ok())
            && deps::service_for(w, h, t.namespace.as_deref()).is_none()
    });
    refused || by_ip
}

/// The target is healthy (every pod read is ready, none in trouble) and the alert is
/// about load, or the target's autoscaler runs at its maximum.
fn under_load(w: &World, t: &Target, alert: &Alert) -> bool {
    let ns = t.namespace.as_deref();
    let pods: Vec<_> = w.pods_of(&t.name, ns).collect();
    let healthy = !pods.is_empty()
        && pods
            .iter()
            .all(|p| objects::pod_ready(p) && objects::container_troubles(p).is_empty());
    let about_load = matches!(
        alert.symptom,
        AlertSymptom::Latency | AlertSymptom::Saturation | AlertSymptom::Backlog
    );
    let at_max = w.of_kind("HorizontalPodAutoscaler", ns).any(|o| {
        let KubeObject::HorizontalPodAutoscaler(h) = o else {
            return false;
        };
        let Some(spec) = h.spec.as_ref() else {
            return false;
        };
        spec.scale_target_ref.name == t.name
            && h.status.as_ref().and_then(|s| s.current_replicas) == Some(spec.max_replicas)
    });
    healthy && (about_load || at_max)
}

/// The ConfigMaps that configure Jobs of other namespaces running near the alert's start.
fn client_reads(w: &World, t: &Target, alert: &Alert, out: &mut Vec<Read>) {
    let start = alert.starts_at.unwrap_or(w.now);
    let mut jobs: Vec<&KubeObject> = w
        .of_kind("Job", None)
        .filter(|o| o.meta().and_then(|m| m.namespace.as_deref()) != t.namespace.as_deref())
        .filter(|o| {
            let KubeObject::Job(j) = o else { return false };
            let st = j.status.as_ref();
            let running = st.and_then(|s| s.active).unwrap_or(0) > 0
                && st.and_then(|s| s.completion_time.as_ref()).is_none();
            let started = st.and_then(|s| crate::kube::state::opt_time(s.start_time.as_ref()));
            running
                && started
                    .is_some_and(|s| (-10..=NEAR_MINUTES).contains(&(start - s).num_minutes()))
        })
        .collect();
    jobs.sort_by_key(|o| std::cmp::Reverse(o.meta().and_then(objects::created)));
    for o in jobs.into_iter().take(CLIENTS_READ) {
        let Some(spec) = objects::template(o) else {
            continue;
        };
        let jns = o.meta().and_then(|m| m.namespace.clone());
        for r in objects::spec_refs(spec)
            .into_iter()
            .filter(|r| r.kind == "ConfigMap" && r.name != "kube-root-ca.crt")
            .take(2)
        {
            out.push(Read::Get {
                resource: "configmaps",
                namespace: jns.clone(),
                name: r.name,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::tools::ToolData;

    fn absorb(w: &mut World, read: &Read, kind: &str, items: Vec<serde_json::Value>) {
        let data = ToolData::Objects(
            items
                .into_iter()
                .map(|v| KubeObject::parse(kind, v))
                .collect(),
        );
        w.absorb(read, Ok(&data));
    }

    #[test]
    fn a_healthy_target_at_its_maximum_reads_the_jobs_of_every_namespace() {
        let now = chrono::Utc::now();
        let ago = |m: i64| (now - chrono::Duration::minutes(m)).to_rfc3339();
        let mut w = World::new(now, Some("payments".into()));
        let t = Target {
            kind: "Deployment".into(),
            namespace: Some("payments".into()),
            name: "payment-gateway".into(),
            ..Target::default()
        };
        let alert = Alert::default();
        let pods = Read::List {
            resource: "pods",
            namespace: Some("payments".into()),
            selector: None,
        };
        absorb(
            &mut w,
            &pods,
            "Pod",
            vec![
                json!({"metadata": {"name": "payment-gateway-6f7c9-x2x9k", "namespace": "payments"},
            "spec": {"containers": [{"name": "gw"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "gw", "ready": true, "restartCount": 0, "image": "i", "imageID": "", "state": {"running": {}}}]}}),
            ],
        );
        let mut reads = Vec::new();
        beyond_reads(&w, &t, &alert, &mut reads);
        assert!(
            !reads.contains(&Read::ListAll { resource: "jobs" }),
            "not about load: {reads:?}"
        );
        let hpas = Read::List {
            resource: "horizontalpodautoscalers",
            namespace: Some("payments".into()),
            selector: None,
        };
        absorb(
            &mut w,
            &hpas,
            "HorizontalPodAutoscaler",
            vec![
                json!({"metadata": {"name": "payment-gateway", "namespace": "payments"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "payment-gateway"}, "maxReplicas": 8},
            "status": {"currentReplicas": 8, "desiredReplicas": 8}}),
            ],
        );
        let mut reads = Vec::new();
        beyond_reads(&w, &t, &alert, &mut reads);
        assert!(
            reads.contains(&Read::ListAll { resource: "jobs" }),
            "{reads:?}"
        );
        // A Job running elsewhere since shortly before: the ConfigMap it mounts.
        let job = |name: &str, started: i64, active: i32| {
            json!({"metadata": {"name": name, "namespace": "loadtest", "creationTimestamp": ago(started)},
            "spec": {"template": {"spec": {"containers": [{"name": "k6"}], "volumes": [{"name": "s", "configMap": {"name": format!("{name}-script")}}]}}},
            "status": {"startTime": ago(started), "active": active}})
        };
        absorb(
            &mut w,
            &Read::ListAll { resource: "jobs" },
            "Job",
            vec![
                job("k6-peak", 25, 1),
                job("k6-old", 600, 1),
                job("k6-done", 20, 0),
            ],
        );
        let mut reads = Vec::new();
        beyond_reads(&w, &t, &alert, &mut reads);
        let script = |n: &str| Read::Get {
            resource: "configmaps",
            namespace: Some("loadtest".into()),
            name: format!("{n}-script"),
        };
        assert!(reads.contains(&script("k6-peak")), "{reads:?}");
        assert!(
            !reads.contains(&script("k6-old")) && !reads.contains(&script("k6-done")),
            "{reads:?}"
        );
    }
}
