//! Platform analyzers: nodes, storage, batch (Jobs and CronJobs) and autoscalers.

use chrono::Duration;
use serde_json::Value;

use super::context::{Ctx, ago};
use super::finding::{Finding, FindingKind, Severity};
use crate::kube::cron::Schedule;
use crate::kube::graph::Relation;
use crate::kube::resources;
use crate::kube::state::{ResourceRef, opt_time};
use crate::kube::table::human_duration;

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
