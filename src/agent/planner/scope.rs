//! Scope: which object the alert is about (its labels and words resolved against the
//! cluster), with the most severe finding as a last resort when it names nothing.

use crate::agent::case::alert::{Alert, is_monitoring};
use crate::agent::case::state::PlannerState;
use crate::agent::case::target::Target;
use crate::kube::graph::{Graph, NodeDetail, Relation};
use crate::kube::ingress_paths::{self, Served};
use crate::kube::state::ResourceRef;
use crate::kube::{FindingKind, Severity};

pub(super) fn severity_rank(s: Severity) -> u32 {
    match s {
        Severity::Critical => 4,
        Severity::Error => 3,
        Severity::Warning => 2,
        Severity::Info => 1,
    }
}

/// Words of the request that could name a workload (`checkout-api`, `orders`).
pub(super) fn request_mentions(request: &str, name: &str) -> bool {
    let req = request.to_lowercase();
    let name = name.to_lowercase();
    if req.contains(&name) {
        return true;
    }
    // "checkout 5xx" names checkout-api: the first segment, when it is distinctive.
    name.split('-')
        .next()
        .filter(|head| head.len() >= 4)
        .is_some_and(|head| req.split(|c: char| !c.is_alphanumeric()).any(|w| w == head))
}

/// First name segments several workloads of the graph share (a team's or product's
/// prefix): alone, such a word names none of them.
pub(super) fn shared_heads(graph: &Graph) -> Vec<String> {
    let mut heads: Vec<String> = graph
        .workloads()
        .filter_map(|n| n.id.name.split('-').next().map(str::to_string))
        .collect();
    heads.sort();
    let mut out: Vec<String> = heads
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0].clone())
        .collect();
    out.dedup();
    out
}

/// The workload whose name's leading `-` segments a word of the text shares most,
/// when exactly one does (empty when none or several tie).
fn closest_partial(graph: &Graph, text: &str) -> Vec<String> {
    let words: Vec<&str> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let overlap = |name: &str| {
        words
            .iter()
            .map(|w| {
                name.split('-')
                    .zip(w.split('-'))
                    .take_while(|(a, b)| a.eq_ignore_ascii_case(b))
                    .count()
            })
            .max()
            .unwrap_or(0)
    };
    let mut scored: Vec<(usize, String)> = graph
        .workloads()
        .map(|n| (overlap(&n.id.name), n.id.name.clone()))
        .filter(|(o, _)| *o > 0)
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [(best, name), rest @ ..] if rest.first().is_none_or(|(o, _)| o < best) => {
            vec![name.clone()]
        }
        _ => Vec::new(),
    }
}

pub(super) fn pick_target(st: &PlannerState, request: &str, shared: &[String]) -> Option<Target> {
    let mut best: Option<(u32, Target)> = None;
    for f in &st.findings {
        let r = &f.resource;
        let name = r.name.clone();
        if name.is_empty() || st.excluded.iter().any(|e| e == &name) {
            continue;
        }
        let named = request_mentions(request, &name)
            && (request.to_lowercase().contains(&name.to_lowercase())
                || !shared
                    .iter()
                    .any(|h| name.split('-').next() == Some(h.as_str())));
        let focused = st.focus.as_deref() == Some(name.as_str());
        let fk = f.kind.as_str().to_string();
        // Recent rollouts alone are context, not a problem.
        let base = if f.kind == FindingKind::RecentRollout {
            0
        } else {
            severity_rank(f.severity)
        };
        let score = base + if named { 10 } else { 0 } + if focused { 20 } else { 0 };
        let entry = best.get_or_insert_with(|| (0, Target::default()));
        if entry.1.name == name && entry.1.kind == r.kind {
            entry.1.kinds.push(fk);
            continue;
        }
        if score > entry.0 {
            *entry = (
                score,
                Target {
                    kind: r.kind.clone(),
                    namespace: r.namespace.clone(),
                    name,
                    kinds: vec![fk],
                    pods: Vec::new(),
                    summaries: Vec::new(),
                    paths: Vec::new(),
                    named_in_request: named || focused,
                    alerted: None,
                },
            );
        }
    }
    let (score, mut t) = best?;
    if score == 0 {
        return None;
    }
    // Collect every finding about the target (the loop above saw them in severity order).
    t.kinds.clear();
    for f in &st.findings {
        if f.resource.name == t.name && f.resource.kind == t.kind {
            t.kinds.push(f.kind.as_str().to_string());
            t.summaries.push(f.summary.clone());
            for p in &f.pods {
                if !t.pods.contains(p) {
                    t.pods.push(p.clone());
                }
            }
        }
    }
    for l in &st.links {
        if l.workload.name == t.name {
            t.paths = l.paths.iter().take(6).map(|p| p.path.clone()).collect();
        }
    }
    Some(t)
}

/// The object the alert is about, resolved against the cluster's inventory (the scan's
/// graph): a pod becomes its workload, a Service the workload it selects, an autoscaler
/// its target, a claim the workload mounting it. Label values that name nothing in the
/// cluster, or name monitoring, are ignored. Returns the target and what named it.
pub(super) fn from_alert(
    graph: &Graph,
    alert: &Alert,
    request: &str,
    excluded: &[String],
) -> Option<(Target, String)> {
    let mut best: Option<(f32, Target, String)> = None;
    let mut consider = |score: f32, t: Target, why: String| {
        if excluded.contains(&t.name) {
            return;
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, t, why));
        }
    };
    let ns_hint = alert.namespace();
    for (value, kind, trust) in alert.object_hints() {
        for node in graph.nodes.iter().filter(|n| {
            n.id.name == value
                && kind.is_none_or(|k| k == n.id.kind)
                && ns_hint.is_none_or(|ns| n.id.namespace.as_deref().is_none_or(|x| x == ns))
        }) {
            // An Ingress with no backend workload is its own target.
            let w = workload_of(graph, &node.id)
                .or_else(|| (node.id.kind == "Ingress").then(|| node.id.clone()));
            if let Some(w) = w {
                let mut t = target_of(&w);
                t.alerted = Some(node.id.clone());
                t.named_in_request = true;
                // An Ingress may route to several backends: a label naming the backend
                // itself is more specific.
                let trust = if node.id.kind == "Ingress" {
                    trust * 0.9
                } else {
                    trust
                };
                consider(trust, t, format!("the alert's label names {}", node.id));
            }
        }
    }
    // Names written in the alert's words (summary, description, free text).
    let text = format!("{request}\n{}", alert.words()).to_lowercase();
    let closest = closest_partial(graph, &text);
    for node in graph.workloads() {
        if request_mentions(&text, &node.id.name) && !is_monitoring(&node.id.name) {
            let exact = text.contains(&node.id.name.to_lowercase());
            // Named in part ("checkout 5xx", "risk-events-bq"): only the workload whose
            // leading segments the words share most, alone; a prefix several share
            // equally (a team's, as in a `team` label) names none of them.
            if !exact && !closest.iter().any(|c| c == &node.id.name) {
                continue;
            }
            let mut t = target_of(&node.id);
            t.named_in_request = true;
            // Longer names are more specific ("checkout-api-canary" over "checkout-api").
            let score = if exact { 0.6 } else { 0.35 } + node.id.name.len() as f32 / 1000.0;
            consider(score, t, format!("the alert names {}", node.id.name));
        }
    }
    for node in graph.nodes.iter().filter(|n| {
        matches!(
            n.id.kind.as_str(),
            "Service" | "PersistentVolumeClaim" | "HorizontalPodAutoscaler" | "Node" | "Ingress"
        )
    }) {
        if text.contains(&node.id.name.to_lowercase())
            && node.id.name.len() >= 4
            && !is_monitoring(&node.id.name)
            && let Some(w) = workload_of(graph, &node.id)
        {
            let mut t = target_of(&w);
            t.alerted = Some(node.id.clone());
            t.named_in_request = true;
            consider(0.3, t, format!("the alert names {}", node.id));
        }
    }
    // A host the alert probes (blackbox, synthetic checks) served by an Ingress: the
    // backend of the path the probed URL matches, or the Ingress itself when no path
    // and no default backend serves it.
    let probed = ingress_paths::urls(&text);
    for node in graph.nodes.iter().filter(|n| n.id.kind == "Ingress") {
        let NodeDetail::Ingress { hosts, paths } = &node.detail else {
            continue;
        };
        if let Some((t, why)) = probed_backend(graph, &node.id, paths, &probed) {
            consider(0.55, t, why);
            continue;
        }
        let ingress_only = || node.id.clone();
        if let Some(h) = hosts
            .iter()
            .find(|h| !h.is_empty() && text.contains(&h.to_lowercase()))
        {
            let w = workload_of(graph, &node.id).unwrap_or_else(ingress_only);
            let mut t = target_of(&w);
            t.alerted = Some(node.id.clone());
            t.named_in_request = true;
            consider(
                0.55,
                t,
                format!("the alert names host {h}, served by {}", node.id),
            );
        }
    }
    best.map(|(_, t, why)| (t, why))
}

/// The target an Ingress gives the URLs the alert probes on its hosts: the backend the
/// paths send them to (per the Ingress spec), or the Ingress itself when no path and no
/// default backend serves them or they go to different backends.
fn probed_backend(
    graph: &Graph,
    id: &ResourceRef,
    paths: &ingress_paths::Paths,
    probed: &[(String, String)],
) -> Option<(Target, String)> {
    let served: Vec<(&String, &String, Option<&str>)> = probed
        .iter()
        .filter(|(h, _)| ingress_paths::serves_host(paths, h))
        .map(|(h, p)| {
            let service = match ingress_paths::serve(paths, h, p) {
                Served::Path(_, x) => Some(x.service.as_str()),
                Served::Default(s) => Some(s),
                Served::Nothing => None,
            };
            (h, p, service)
        })
        .collect();
    let (host, path, service) = served.first().copied()?;
    // URLs sent to different backends have only the Ingress in common.
    let one = served.iter().all(|(_, _, s)| *s == service);
    let w = service
        .filter(|_| one)
        .and_then(|s| {
            let svc = ResourceRef::new("Service", id.namespace.as_deref(), s);
            workload_of(graph, &svc)
        })
        .unwrap_or_else(|| id.clone());
    let mut t = target_of(&w);
    t.alerted = Some(id.clone());
    t.named_in_request = true;
    let via = match service {
        _ if !one => "among others sent to different backends".to_string(),
        Some(s) => format!("sent to Service {s}"),
        None => "which no path of it serves".to_string(),
    };
    Some((t, format!("the alert probes {host}{path}, {via} by {id}")))
}

fn target_of(id: &ResourceRef) -> Target {
    Target {
        kind: id.kind.clone(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
        ..Target::default()
    }
}

/// The workload behind an object: owners followed up from a pod, the pods a Service
/// selects, an autoscaler's target, the workload mounting a claim, a Job's CronJob. A
/// node stays a node.
pub(super) fn workload_of(graph: &Graph, id: &ResourceRef) -> Option<ResourceRef> {
    let owner = |id: &ResourceRef| {
        graph
            .edges_to(id)
            .find(|e| e.relation == Relation::Owns)
            .map(|e| e.from.clone())
    };
    let top = |mut id: ResourceRef| {
        for _ in 0..4 {
            match owner(&id) {
                Some(o) => id = o,
                None => break,
            }
        }
        id
    };
    match id.kind.as_str() {
        "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob" | "Node" => Some(id.clone()),
        "Pod" | "ReplicaSet" | "Job" => Some(top(id.clone())),
        "Service" => graph
            .edges_from(id)
            .find(|e| e.relation == Relation::Selects)
            .map(|e| top(e.to.clone())),
        "HorizontalPodAutoscaler" => graph
            .edges_from(id)
            .find(|e| e.relation == Relation::Scales)
            .map(|e| e.to.clone()),
        "Ingress" => graph
            .edges_from(id)
            .find(|e| e.relation == Relation::Routes)
            .and_then(|e| workload_of(graph, &e.to)),
        "PersistentVolumeClaim" | "ConfigMap" | "Secret" => graph
            .edges_to(id)
            .find(|e| e.relation == Relation::Uses)
            .map(|e| top(e.from.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::{Finding, ResourceRef};

    fn finding(kind: &str, sev: &str, name: &str) -> Finding {
        Finding {
            severity: serde_json::from_value(serde_json::json!(sev)).unwrap(),
            kind: serde_json::from_value(serde_json::json!(kind)).unwrap(),
            resource: ResourceRef::new("Deployment", Some("shop"), name),
            summary: format!("{name} {kind}"),
            evidence: Vec::new(),
            command: String::new(),
            observed_at: chrono::DateTime::default(),
            pods: vec![format!("{name}-abc")],
        }
    }

    #[test]
    fn the_named_workload_wins_over_a_more_severe_one() {
        let st = PlannerState {
            findings: vec![
                finding("node_not_ready", "critical", "node-c"),
                finding("oom_killed", "error", "orders-worker"),
                finding("crash_loop_back_off", "critical", "checkout-api"),
                finding("rollout_stuck", "error", "checkout-api"),
            ],
            ..Default::default()
        };
        let t = pick_target(&st, "orders backlog growing since 11:50", &[]).unwrap();
        assert_eq!(t.name, "orders-worker");
        assert!(t.named_in_request);
        let t = pick_target(&st, "checkout-api 5xx since 14:05", &[]).unwrap();
        assert_eq!(t.name, "checkout-api");
        assert_eq!(t.kinds, vec!["crash_loop_back_off", "rollout_stuck"]);
    }

    #[test]
    fn excluded_workloads_are_not_picked() {
        let st = PlannerState {
            findings: vec![
                finding("oom_killed", "error", "orders-worker"),
                finding("crash_loop_back_off", "critical", "checkout-api"),
            ],
            excluded: vec!["checkout-api".into()],
            ..Default::default()
        };
        assert_eq!(pick_target(&st, "5xx", &[]).unwrap().name, "orders-worker");
    }
    #[test]
    fn a_prefix_several_workloads_share_names_none_of_them() {
        let mut g = Graph::default();
        for name in [
            "media-api",
            "media-ingest",
            "risk-api",
            "risk-events-replay",
        ] {
            g.nodes.push(crate::kube::graph::GraphNode {
                id: ResourceRef::new("Deployment", Some("ns"), name),
                observed_at: chrono::DateTime::default(),
                labels: Default::default(),
                detail: NodeDetail::Workload {
                    desired: 1,
                    ready: 1,
                    available: 1,
                    updated: 1,
                    images: Vec::new(),
                    revision: None,
                },
            });
        }
        assert!(closest_partial(&g, "team media queue transcode.requests").is_empty());
        assert_eq!(
            closest_partial(&g, "subscription risk-events-bq backlog team risk"),
            ["risk-events-replay"]
        );
        assert_eq!(shared_heads(&g), ["media", "risk"]);
    }
}
