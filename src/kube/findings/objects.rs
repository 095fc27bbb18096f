//! Object-level analyzers: workloads and rollouts, and services.

use k8s_openapi::api::core::v1::Pod;

use super::context::{Ctx, ago};
use super::finding::{Finding, FindingKind, Severity};
use super::pods::pod_name;
use crate::kube::graph::{Layer, NodeDetail, Relation, pod_ready};
use crate::kube::resources;
use crate::kube::state::{ResourceRef, opt_time};

#[allow(clippy::too_many_lines)] // one analyzer per workload condition
pub(super) fn workload_findings(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    let now = ctx.now;
    for d in &ctx.state.deployments.items {
        let id = ResourceRef::of(&resources::DEPLOYMENTS, &d.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let spec = d.spec.as_ref();
        let st = d.status.clone().unwrap_or_default();
        let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
        let available = st.available_replicas.unwrap_or(0);
        let ready = st.ready_replicas.unwrap_or(0);
        let updated = st.updated_replicas.unwrap_or(0);
        let unavailable = st
            .unavailable_replicas
            .unwrap_or((desired - available).max(0));
        let counts = format!(
            "replicas: desired {desired}, updated {updated}, ready {ready}, available {available}, unavailable {unavailable}"
        );
        let conds = st.conditions.as_ref();
        let progressing = conds
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "Progressing");
        let stuck = progressing.filter(|c| {
            c.status == "False" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        });

        // ReplicaSets of this deployment, newest revision first.
        let mut sets: Vec<&k8s_openapi::api::apps::v1::ReplicaSet> = ctx
            .state
            .replicasets
            .items
            .iter()
            .filter(|rs| {
                rs.metadata.namespace == d.metadata.namespace
                    && rs.metadata.owner_references.iter().flatten().any(|o| {
                        Some(&o.uid) == d.metadata.uid.as_ref()
                            || (o.kind == "Deployment" && Some(&o.name) == d.metadata.name.as_ref())
                    })
            })
            .collect();
        let revision = |rs: &k8s_openapi::api::apps::v1::ReplicaSet| {
            rs.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("deployment.kubernetes.io/revision"))
                .and_then(|r| r.parse::<i64>().ok())
                .unwrap_or(0)
        };
        sets.sort_by_key(|rs| std::cmp::Reverse(revision(rs)));
        let images = |rs: &k8s_openapi::api::apps::v1::ReplicaSet| -> Vec<String> {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .and_then(|t| t.spec.as_ref())
                .map(|s| {
                    s.containers
                        .iter()
                        .filter_map(|c| c.image.clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        let rs_line = |rs: &k8s_openapi::api::apps::v1::ReplicaSet| {
            let st = rs.status.clone().unwrap_or_default();
            format!(
                "ReplicaSet {} (revision {}): {} ready of {}, images {}",
                rs.metadata.name.as_deref().unwrap_or_default(),
                revision(rs),
                st.ready_replicas.unwrap_or(0),
                rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0),
                images(rs).join(", ")
            )
        };

        if let Some(c) = stuck {
            let mut ev = vec![
                format!(
                    "condition Progressing=False reason=ProgressDeadlineExceeded: {}",
                    c.message.as_deref().unwrap_or_default()
                ),
                counts.clone(),
            ];
            ev.extend(sets.iter().take(2).map(|rs| rs_line(rs)));
            out.push(Finding {
                severity: Severity::Error,
                kind: FindingKind::RolloutStuck,
                resource: id.clone(),
                summary: format!(
                    "deployment {}: rollout stuck (ProgressDeadlineExceeded), {updated} of {desired} replicas updated",
                    id.name
                ),
                evidence: ev,
                command: format!("kubectl rollout status deployment/{} -n {ns}", id.name),
                observed_at: ctx.state.deployments.observed_at,
                pods: Vec::new(),
            });
        }
        if desired > 0 && (unavailable > 0 || available < desired) {
            let severity = if available == 0 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            let mut ev = vec![counts.clone()];
            if let Some(c) = conds.into_iter().flatten().find(|c| c.type_ == "Available") {
                ev.push(format!(
                    "condition Available={} reason={}: {}",
                    c.status,
                    c.reason.as_deref().unwrap_or("?"),
                    c.message.as_deref().unwrap_or_default()
                ));
            }
            out.push(Finding {
                severity,
                kind: FindingKind::UnavailableReplicas,
                resource: id.clone(),
                summary: format!(
                    "deployment {}: {available} of {desired} replicas available",
                    id.name
                ),
                evidence: ev,
                command: format!("kubectl describe deployment -n {ns} {}", id.name),
                observed_at: ctx.state.deployments.observed_at,
                pods: Vec::new(),
            });
        }
        // A rollout in the last N minutes: the newest ReplicaSet is young.
        if let Some(newest) = sets.first()
            && let Some(created) = opt_time(newest.metadata.creation_timestamp.as_ref())
            && now - created <= ctx.opts.recent_rollout
            && sets.len() > 1
        {
            let new_images = images(newest);
            let prev = sets.get(1);
            let mut ev = vec![format!(
                "new ReplicaSet {} (revision {}) created {}",
                newest.metadata.name.as_deref().unwrap_or_default(),
                revision(newest),
                ago(now, created)
            )];
            if let Some(prev) = prev {
                let old_images = images(prev);
                if old_images != new_images {
                    ev.push(format!(
                        "image: {} -> {}",
                        old_images.join(", "),
                        new_images.join(", ")
                    ));
                }
                ev.push(format!("previous {}", rs_line(prev)));
            }
            if let Some(cause) = newest
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/change-cause"))
            {
                ev.push(format!("change-cause: {cause}"));
            }
            ev.push(format!("new {}", rs_line(newest)));
            // Are the new pods healthy?
            let new_uid = newest.metadata.uid.clone();
            let new_pods: Vec<&Pod> = ctx
                .state
                .pods
                .items
                .iter()
                .filter(|p| {
                    p.metadata
                        .owner_references
                        .iter()
                        .flatten()
                        .any(|o| Some(&o.uid) == new_uid.as_ref())
                })
                .collect();
            let unhealthy: Vec<&Pod> = new_pods.iter().copied().filter(|p| !pod_ready(p)).collect();
            let severity = if unhealthy.is_empty() {
                Severity::Info
            } else {
                Severity::Warning
            };
            if !unhealthy.is_empty() {
                ev.push(format!(
                    "{} of {} pods of the new ReplicaSet are not ready: {}",
                    unhealthy.len(),
                    new_pods.len(),
                    unhealthy
                        .iter()
                        .take(5)
                        .map(|p| pod_name(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            out.push(Finding {
                severity,
                kind: FindingKind::RecentRollout,
                resource: id.clone(),
                summary: if unhealthy.is_empty() {
                    format!(
                        "deployment {}: rolled out {} (revision {})",
                        id.name,
                        ago(now, created),
                        revision(newest)
                    )
                } else {
                    format!(
                        "deployment {}: rollout {} (revision {}) and its new pods are not ready",
                        id.name,
                        ago(now, created),
                        revision(newest)
                    )
                },
                evidence: ev,
                command: format!("kubectl rollout history deployment/{} -n {ns}", id.name),
                observed_at: ctx.state.replicasets.observed_at,
                pods: unhealthy.iter().map(|p| pod_name(p).to_string()).collect(),
            });
        }
    }
    for s in &ctx.state.statefulsets.items {
        let id = ResourceRef::of(&resources::STATEFULSETS, &s.metadata);
        let desired = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let st = s.status.clone().unwrap_or_default();
        let ready = st.ready_replicas.unwrap_or(0);
        if desired > 0 && ready < desired {
            out.push(Finding {
                severity: if ready == 0 { Severity::Critical } else { Severity::Warning },
                kind: FindingKind::UnavailableReplicas,
                resource: id.clone(),
                summary: format!("statefulset {}: {ready} of {desired} replicas ready", id.name),
                evidence: vec![format!(
                    "replicas: desired {desired}, current {}, ready {ready}, updated {}; currentRevision={} updateRevision={}",
                    st.current_replicas.unwrap_or(0),
                    st.updated_replicas.unwrap_or(0),
                    st.current_revision.as_deref().unwrap_or("?"),
                    st.update_revision.as_deref().unwrap_or("?")
                )],
                command: format!("kubectl rollout status statefulset/{} {}", id.name, id.ns_flag().trim_end()),
                observed_at: ctx.state.statefulsets.observed_at,
                pods: Vec::new(),
            });
        }
    }
    for d in &ctx.state.daemonsets.items {
        let id = ResourceRef::of(&resources::DAEMONSETS, &d.metadata);
        let st = d.status.clone().unwrap_or_default();
        let unavailable = st
            .number_unavailable
            .unwrap_or((st.desired_number_scheduled - st.number_ready).max(0));
        if unavailable > 0 {
            out.push(Finding {
                severity: Severity::Warning,
                kind: FindingKind::UnavailableReplicas,
                resource: id.clone(),
                summary: format!(
                    "daemonset {}: {unavailable} of {} pods unavailable",
                    id.name, st.desired_number_scheduled
                ),
                evidence: vec![format!(
                    "desiredNumberScheduled={} numberReady={} numberUnavailable={unavailable} numberMisscheduled={}",
                    st.desired_number_scheduled, st.number_ready, st.number_misscheduled
                )],
                command: format!("kubectl describe daemonset {}{}", id.ns_flag(), id.name),
                observed_at: ctx.state.daemonsets.observed_at,
                pods: Vec::new(),
            });
        }
    }
    out
}

pub(super) fn service_findings(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    for node in ctx.graph.nodes.iter().filter(|n| n.id.kind == "Service") {
        let NodeDetail::Service {
            service_type,
            selector,
            ready_endpoints,
            ..
        } = &node.detail
        else {
            continue;
        };
        if selector.is_empty() || service_type == "ExternalName" || *ready_endpoints > 0 {
            continue;
        }
        let id = &node.id;
        let ns = id.namespace.clone().unwrap_or_default();
        let sel = selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",");
        let selected: Vec<&ResourceRef> = ctx
            .graph
            .edges_from(id)
            .filter(|e| e.relation == Relation::Selects)
            .map(|e| &e.to)
            .collect();
        let mut ev = vec![if selected.is_empty() {
            format!("selector {sel} matches no pods in namespace {ns}")
        } else {
            format!(
                "selector {sel} matches {} pods, none ready: {}",
                selected.len(),
                selected
                    .iter()
                    .take(5)
                    .map(|r| r.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }];
        for slice in ctx
            .graph
            .nodes
            .iter()
            .filter(|n| n.id.kind == "EndpointSlice" && n.id.namespace == id.namespace)
        {
            if let NodeDetail::EndpointSlice {
                service: Some(svc),
                ready,
                not_ready,
            } = &slice.detail
                && svc == &id.name
            {
                ev.push(format!(
                    "EndpointSlice {}: {ready} ready, {not_ready} not ready endpoints",
                    slice.id.name
                ));
            }
        }
        for e in ctx.graph.edges_to(id) {
            match (e.relation, e.layer) {
                (Relation::Routes, _) => ev.push(format!(
                    "routed by {} ({})",
                    e.from,
                    e.via.as_deref().unwrap_or_default()
                )),
                (Relation::Mentions, Layer::Inferred) => ev.push(format!(
                    "mentioned by {} ({}, inferred)",
                    e.from,
                    e.via.as_deref().unwrap_or_default()
                )),
                _ => {}
            }
        }
        out.push(Finding {
            severity: Severity::Error,
            kind: FindingKind::ServiceNoEndpoints,
            resource: id.clone(),
            summary: format!("service {}: no ready endpoints (selector {sel})", id.name),
            evidence: ev,
            command: format!(
                "kubectl get endpointslices -n {ns} -l kubernetes.io/service-name={}",
                id.name
            ),
            observed_at: node.observed_at,
            pods: Vec::new(),
        });
    }
    out
}
