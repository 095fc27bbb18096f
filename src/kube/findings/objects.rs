//! Object-level analyzers: workloads and rollouts, services, nodes, storage, batch, HPAs.

use chrono::Duration;
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

use super::context::{Ctx, ago};
use super::finding::{Finding, FindingKind, Severity};
use super::pods::pod_name;
use crate::kube::cron::Schedule;
use crate::kube::graph::{Layer, NodeDetail, Relation, pod_ready};
use crate::kube::resources;
use crate::kube::state::{ResourceRef, opt_time};
use crate::kube::table::human_duration;

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

pub(super) fn node_findings(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    let now = ctx.now;
    for n in &ctx.state.nodes.items {
        let id = ResourceRef::of(&resources::NODES, &n.metadata);
        let conds = n.status.as_ref().and_then(|s| s.conditions.as_ref());
        let pods_on: Vec<&ResourceRef> = ctx
            .graph
            .edges_to(&id)
            .filter(|e| e.relation == Relation::RunsOn)
            .map(|e| &e.from)
            .collect();
        let command = format!("kubectl describe node {}", id.name);
        for c in conds.into_iter().flatten() {
            let heartbeat = opt_time(c.last_heartbeat_time.as_ref())
                .map(|t| format!(", last heartbeat {}", ago(now, t)))
                .unwrap_or_default();
            let line = format!(
                "condition {}={} reason={}{heartbeat}: {}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or("?"),
                c.message.as_deref().unwrap_or_default()
            );
            if c.type_ == "Ready" && c.status != "True" {
                let mut ev = vec![line];
                ev.push(format!("{} pods scheduled on it", pods_on.len()));
                ev.extend(ctx.event_lines("Node", None, &id.name, 2, |_| true));
                out.push(Finding {
                    severity: Severity::Critical,
                    kind: FindingKind::NodeNotReady,
                    resource: id.clone(),
                    summary: format!(
                        "node {} is NotReady (Ready={}, reason {})",
                        id.name,
                        c.status,
                        c.reason.as_deref().unwrap_or("unknown")
                    ),
                    evidence: ev,
                    command: command.clone(),
                    observed_at: ctx.state.nodes.observed_at,
                    pods: Vec::new(),
                });
            } else if matches!(
                c.type_.as_str(),
                "MemoryPressure" | "DiskPressure" | "PIDPressure" | "NetworkUnavailable"
            ) && c.status == "True"
            {
                out.push(Finding {
                    severity: Severity::Warning,
                    kind: FindingKind::NodePressure,
                    resource: id.clone(),
                    summary: format!("node {}: {}", id.name, c.type_),
                    evidence: vec![line, format!("{} pods scheduled on it", pods_on.len())],
                    command: command.clone(),
                    observed_at: ctx.state.nodes.observed_at,
                    pods: Vec::new(),
                });
            }
        }
        if n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
            out.push(Finding {
                severity: Severity::Info,
                kind: FindingKind::NodePressure,
                resource: id.clone(),
                summary: format!("node {} is cordoned (unschedulable)", id.name),
                evidence: vec!["spec.unschedulable=true".into()],
                command,
                observed_at: ctx.state.nodes.observed_at,
                pods: Vec::new(),
            });
        }
    }
    out
}

#[allow(clippy::too_many_lines)] // one analyzer per storage and batch condition
pub(super) fn storage_and_batch_findings(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    let now = ctx.now;
    for pvc in &ctx.state.pvcs.items {
        if pvc.status.as_ref().and_then(|s| s.phase.as_deref()) != Some("Pending") {
            continue;
        }
        let id = ResourceRef::of(&resources::PVCS, &pvc.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let spec = pvc.spec.clone().unwrap_or_default();
        let size = spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_else(|| "?".into());
        let events = ctx.events_for("PersistentVolumeClaim", Some(&ns), &id.name);
        let waiting_for_consumer = events
            .iter()
            .all(|e| e.reason.as_deref() == Some("WaitForFirstConsumer"))
            && !events.is_empty();
        let used_by: Vec<String> = ctx
            .graph
            .edges_to(&id)
            .filter(|e| e.relation == Relation::Uses)
            .map(|e| e.from.name.clone())
            .collect();
        let mut ev = vec![format!(
            "phase=Pending storageClassName={} request {size}",
            spec.storage_class_name.as_deref().unwrap_or("<default>")
        )];
        ev.extend(events.iter().take(3).map(|e| ctx.event_line(e)));
        if !used_by.is_empty() {
            ev.push(format!("used by pods: {}", used_by.join(", ")));
        }
        let created = opt_time(pvc.metadata.creation_timestamp.as_ref()).unwrap_or(now);
        out.push(Finding {
            severity: if waiting_for_consumer && used_by.is_empty() {
                Severity::Info
            } else {
                Severity::Error
            },
            kind: FindingKind::PvcPending,
            resource: id.clone(),
            summary: format!(
                "pvc {}: Pending for {}",
                id.name,
                human_duration((now - created).num_seconds())
            ),
            evidence: ev,
            command: format!("kubectl describe pvc -n {ns} {}", id.name),
            observed_at: ctx.state.pvcs.observed_at,
            pods: Vec::new(),
        });
    }
    for j in &ctx.state.jobs.items {
        let st = j.status.clone().unwrap_or_default();
        let Some(failed) = st
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed" && c.status == "True")
        else {
            continue;
        };
        let id = ResourceRef::of(&resources::JOBS, &j.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let owner = ctx.top_owner(&j.metadata, "Job");
        let mut ev = vec![format!(
            "condition Failed=True reason={}: {}",
            failed.reason.as_deref().unwrap_or("?"),
            failed.message.as_deref().unwrap_or_default()
        )];
        ev.push(format!(
            "failed pods {}, succeeded {}, backoffLimit {}",
            st.failed.unwrap_or(0),
            st.succeeded.unwrap_or(0),
            j.spec.as_ref().and_then(|s| s.backoff_limit).unwrap_or(6)
        ));
        if let Some(t) = opt_time(failed.last_transition_time.as_ref()) {
            ev.push(format!("failed at {} ({})", t.to_rfc3339(), ago(now, t)));
        }
        if owner != id {
            ev.push(format!("created by {owner}"));
        }
        ev.extend(ctx.event_lines("Job", Some(&ns), &id.name, 2, |e| {
            e.type_.as_deref() == Some("Warning")
        }));
        out.push(Finding {
            severity: Severity::Error,
            kind: FindingKind::JobFailed,
            resource: id.clone(),
            summary: format!(
                "job {}: failed ({})",
                id.name,
                failed.reason.as_deref().unwrap_or("Failed")
            ),
            evidence: ev,
            command: format!("kubectl describe job -n {ns} {}", id.name),
            observed_at: ctx.state.jobs.observed_at,
            pods: Vec::new(),
        });
    }
    for cj in &ctx.state.cronjobs.items {
        let Some(spec) = cj.spec.as_ref() else {
            continue;
        };
        if spec.suspend == Some(true) {
            continue;
        }
        let id = ResourceRef::of(&resources::CRONJOBS, &cj.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let command = format!("kubectl get jobs -n {ns} --sort-by=.metadata.creationTimestamp");
        let schedule = match Schedule::parse(&spec.schedule) {
            Ok(s) => s,
            Err(e) => {
                out.push(Finding {
                    severity: Severity::Warning,
                    kind: FindingKind::CronJobMissed,
                    resource: id.clone(),
                    summary: format!(
                        "cronjob {}: cannot read schedule `{}`: {e}",
                        id.name, spec.schedule
                    ),
                    evidence: vec![format!("spec.schedule={}", spec.schedule)],
                    command: format!("kubectl describe cronjob -n {ns} {}", id.name),
                    observed_at: ctx.state.cronjobs.observed_at,
                    pods: Vec::new(),
                });
                continue;
            }
        };
        let st = cj.status.clone().unwrap_or_default();
        let last = opt_time(st.last_schedule_time.as_ref());
        let created = opt_time(cj.metadata.creation_timestamp.as_ref()).unwrap_or(now);
        let tz = spec
            .time_zone
            .clone()
            .or(schedule.time_zone.clone())
            .filter(|t| t != "UTC" && t != "Etc/UTC");
        // Leave the controller a few minutes; with a time zone, allow for any UTC offset.
        let deadline = Duration::seconds(spec.starting_deadline_seconds.unwrap_or(300).max(60));
        let slack = if tz.is_some() {
            Duration::hours(14)
        } else {
            Duration::zero()
        };
        let Some(expected) = schedule.previous(now - deadline - slack) else {
            continue;
        };
        let baseline = last.unwrap_or(created);
        if expected <= baseline || expected < created {
            continue;
        }
        let mut ev = vec![
            format!(
                "spec.schedule=\"{}\"{}",
                spec.schedule,
                tz.as_ref()
                    .map(|t| format!(" timeZone={t} (evaluated in UTC with a 14h margin)"))
                    .unwrap_or_default()
            ),
            match last {
                Some(l) => format!(
                    "status.lastScheduleTime={} ({})",
                    l.to_rfc3339(),
                    ago(now, l)
                ),
                None => "status.lastScheduleTime is unset: it never ran".to_string(),
            },
            match opt_time(st.last_successful_time.as_ref()) {
                Some(l) => format!(
                    "status.lastSuccessfulTime={} ({})",
                    l.to_rfc3339(),
                    ago(now, l)
                ),
                None => "status.lastSuccessfulTime is unset: no run succeeded".to_string(),
            },
        ];
        if let Some(active) = st.active.as_ref().filter(|a| !a.is_empty()) {
            ev.push(format!(
                "{} jobs still active (concurrencyPolicy {})",
                active.len(),
                spec.concurrency_policy.as_deref().unwrap_or("Allow")
            ));
        }
        ev.extend(ctx.event_lines("CronJob", Some(&ns), &id.name, 2, |e| {
            e.type_.as_deref() == Some("Warning")
        }));
        out.push(Finding {
            severity: Severity::Error,
            kind: FindingKind::CronJobMissed,
            resource: id.clone(),
            summary: format!(
                "cronjob {}: missed its run due {} ({}); last scheduled {}",
                id.name,
                expected.format("%Y-%m-%d %H:%M UTC"),
                ago(now, expected),
                last.map(|l| ago(now, l)).unwrap_or_else(|| "never".into())
            ),
            evidence: ev,
            command,
            observed_at: ctx.state.cronjobs.observed_at,
            pods: Vec::new(),
        });
    }
    out
}

fn metric_lines(
    spec: Option<&Vec<k8s_openapi::api::autoscaling::v2::MetricSpec>>,
    status: Option<&Vec<k8s_openapi::api::autoscaling::v2::MetricStatus>>,
) -> Vec<String> {
    let spec = spec
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or(Value::Null);
    let status = status
        .and_then(|s| serde_json::to_value(s).ok())
        .unwrap_or(Value::Null);
    let mut out = Vec::new();
    for m in spec.as_array().into_iter().flatten() {
        let Some(res) = m.get("resource") else {
            continue;
        };
        let name = res.get("name").and_then(Value::as_str).unwrap_or("?");
        let target = res
            .pointer("/target/averageUtilization")
            .map(|v| format!("{v}%"))
            .or_else(|| res.pointer("/target/averageValue").map(|v| v.to_string()))
            .unwrap_or_else(|| "?".into());
        let current = status
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("resource"))
            .find(|r| r.get("name").and_then(Value::as_str) == Some(name))
            .and_then(|r| {
                r.pointer("/current/averageUtilization")
                    .map(|v| format!("{v}%"))
                    .or_else(|| r.pointer("/current/averageValue").map(|v| v.to_string()))
            })
            .unwrap_or_else(|| "unknown".into());
        out.push(format!("metric {name}: current {current}, target {target}"));
    }
    out
}

pub(super) fn hpa_findings(ctx: &Ctx) -> Vec<Finding> {
    let mut out = Vec::new();
    for h in &ctx.state.hpas.items {
        let Some(spec) = h.spec.as_ref() else {
            continue;
        };
        let st = h.status.clone().unwrap_or_default();
        let current = st.current_replicas.unwrap_or(0);
        if spec.max_replicas <= 0 || current < spec.max_replicas {
            continue;
        }
        let id = ResourceRef::of(&resources::HPAS, &h.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let mut ev = vec![format!(
            "currentReplicas={current} desiredReplicas={} maxReplicas={} minReplicas={}",
            st.desired_replicas,
            spec.max_replicas,
            spec.min_replicas.unwrap_or(1)
        )];
        ev.extend(metric_lines(
            spec.metrics.as_ref(),
            st.current_metrics.as_ref(),
        ));
        for c in st
            .conditions
            .iter()
            .flatten()
            .filter(|c| c.type_ == "ScalingLimited" && c.status == "True")
        {
            ev.push(format!(
                "condition ScalingLimited=True reason={}: {}",
                c.reason.as_deref().unwrap_or("?"),
                c.message.as_deref().unwrap_or_default()
            ));
        }
        out.push(Finding {
            severity: Severity::Warning,
            kind: FindingKind::HpaAtMax,
            resource: id.clone(),
            summary: format!(
                "hpa {}: pinned at its maximum of {} replicas ({}/{})",
                id.name, spec.max_replicas, spec.scale_target_ref.kind, spec.scale_target_ref.name
            ),
            evidence: ev,
            command: format!("kubectl describe hpa -n {ns} {}", id.name),
            observed_at: ctx.state.hpas.observed_at,
            pods: Vec::new(),
        });
    }
    out
}
