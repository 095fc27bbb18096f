//! Pod-level analyzers: container states, probes, scheduling; grouped by workload.

use std::collections::BTreeMap;

use chrono::Duration;
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event, Pod};

use super::{Ctx, Finding, FindingKind, Severity, ago, one_line};
use crate::kube::state::{ResourceRef, opt_time};
use crate::kube::table::human_duration;

struct PodIssue<'a> {
    kind: FindingKind,
    severity: Severity,
    pod: &'a Pod,
    container: String,
    /// The headline of the issue for this pod.
    detail: String,
    evidence: Vec<String>,
    command: String,
}

pub(super) fn pod_name(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or_default()
}

fn pod_ns(p: &Pod) -> &str {
    p.metadata.namespace.as_deref().unwrap_or_default()
}

fn container_spec<'p>(p: &'p Pod, name: &str) -> Option<&'p Container> {
    p.spec.as_ref()?.containers.iter().find(|c| c.name == name)
}

pub(super) fn quantity(c: Option<&Container>, which: &str, res: &str) -> Option<String> {
    let r = c?.resources.as_ref()?;
    let map = if which == "limits" {
        r.limits.as_ref()
    } else {
        r.requests.as_ref()
    };
    map?.get(res).map(|q| q.0.clone())
}

fn pod_issues<'a>(ctx: &Ctx<'a>, p: &'a Pod) -> Vec<PodIssue<'a>> {
    let mut out = Vec::new();
    let ns = pod_ns(p);
    let name = pod_name(p);
    let now = ctx.now;
    let Some(status) = p.status.as_ref() else {
        return out;
    };
    let statuses: Vec<&ContainerStatus> = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .collect();
    let describe = format!("kubectl describe pod -n {ns} {name}");
    let mut crashlooping: Vec<&str> = Vec::new();
    for cs in &statuses {
        let c = cs.name.as_str();
        let state = cs.state.as_ref();
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let wait_reason = waiting
            .and_then(|w| w.reason.as_deref())
            .unwrap_or_default();
        let wait_msg = waiting
            .and_then(|w| w.message.as_deref())
            .unwrap_or_default();
        let last = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref());
        let term_now = state.and_then(|s| s.terminated.as_ref());
        let last_line = last.map(|t| {
            let when = opt_time(t.finished_at.as_ref())
                .map(|f| format!(" finishedAt={} ({})", f.to_rfc3339(), ago(now, f)))
                .unwrap_or_default();
            format!(
                "lastState.terminated: reason={} exitCode={}{when}",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
            )
        });
        let spec = container_spec(p, c);

        if wait_reason == "CrashLoopBackOff" {
            crashlooping.push(c);
            let mut ev = vec![format!(
                "pod {name}: container {c} state.waiting.reason=CrashLoopBackOff restartCount={}",
                cs.restart_count
            )];
            ev.extend(last_line.clone());
            if !wait_msg.is_empty() {
                ev.push(format!(
                    "state.waiting.message: {}",
                    one_line(wait_msg, 300)
                ));
            }
            ev.extend(ctx.event_lines("Pod", Some(ns), name, 2, |e| {
                matches!(
                    e.reason.as_deref(),
                    Some("BackOff" | "Unhealthy" | "Killing")
                )
            }));
            ev.extend(ctx.log_excerpt(ns, name, c, true));
            let exit = last
                .map(|t| {
                    format!(
                        "; last exit {} (code {})",
                        t.reason.as_deref().unwrap_or("?"),
                        t.exit_code
                    )
                })
                .unwrap_or_default();
            out.push(PodIssue {
                kind: FindingKind::CrashLoopBackOff,
                severity: Severity::Critical,
                pod: p,
                container: c.to_string(),
                detail: format!(
                    "container {c} is crash-looping ({} restarts{exit})",
                    cs.restart_count
                ),
                evidence: ev,
                command: format!("kubectl logs -n {ns} {name} -c {c} --previous"),
            });
        }

        let oom = [last, term_now]
            .into_iter()
            .flatten()
            .find(|t| t.reason.as_deref() == Some("OOMKilled"));
        if let Some(t) = oom {
            let limit = quantity(spec, "limits", "memory");
            let mut ev = vec![format!(
                "pod {name}: container {c} terminated with reason=OOMKilled exitCode={} restartCount={}",
                t.exit_code, cs.restart_count
            )];
            if let Some(f) = opt_time(t.finished_at.as_ref()) {
                ev.push(format!("killed at {} ({})", f.to_rfc3339(), ago(now, f)));
            }
            ev.push(format!(
                "resources: memory limit {}, request {}",
                limit.clone().unwrap_or_else(|| "none".into()),
                quantity(spec, "requests", "memory").unwrap_or_else(|| "none".into())
            ));
            ev.extend(ctx.log_excerpt(ns, name, c, true));
            out.push(PodIssue {
                kind: FindingKind::OomKilled,
                severity: Severity::Error,
                pod: p,
                container: c.to_string(),
                detail: match &limit {
                    Some(l) => format!("container {c} was OOMKilled (memory limit {l})"),
                    None => {
                        format!("container {c} was OOMKilled (no memory limit; the node ran out)")
                    }
                },
                evidence: ev,
                command: describe.clone(),
            });
        }

        if matches!(
            wait_reason,
            "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull"
        ) {
            let image = spec
                .and_then(|s| s.image.clone())
                .unwrap_or_else(|| cs.image.clone());
            let mut ev = vec![format!(
                "pod {name}: container {c} state.waiting.reason={wait_reason} image={image}"
            )];
            if !wait_msg.is_empty() {
                ev.push(format!(
                    "state.waiting.message: {}",
                    one_line(wait_msg, 300)
                ));
            }
            ev.extend(ctx.event_lines("Pod", Some(ns), name, 2, |e| {
                matches!(
                    e.reason.as_deref(),
                    Some("Failed" | "BackOff" | "InspectFailed" | "ErrImageNeverPull")
                )
            }));
            out.push(PodIssue {
                kind: FindingKind::ImagePullBackOff,
                severity: Severity::Error,
                pod: p,
                container: c.to_string(),
                detail: format!("cannot pull image {image} ({wait_reason})"),
                evidence: ev,
                command: describe.clone(),
            });
        }

        if matches!(
            wait_reason,
            "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError"
        ) {
            let mut ev = vec![format!(
                "pod {name}: container {c} state.waiting.reason={wait_reason}"
            )];
            if !wait_msg.is_empty() {
                ev.push(format!(
                    "state.waiting.message: {}",
                    one_line(wait_msg, 300)
                ));
            }
            ev.extend(ctx.event_lines("Pod", Some(ns), name, 2, |e| {
                e.reason.as_deref() == Some("Failed")
            }));
            out.push(PodIssue {
                kind: FindingKind::ContainerConfigError,
                severity: Severity::Error,
                pod: p,
                container: c.to_string(),
                detail: format!(
                    "container {c} cannot start: {wait_reason}: {}",
                    one_line(wait_msg, 160)
                ),
                evidence: ev,
                command: describe.clone(),
            });
        }

        // Restarts without a crash loop or OOM: a spike if recent.
        if wait_reason != "CrashLoopBackOff"
            && oom.is_none()
            && cs.restart_count >= ctx.opts.restart_spike_threshold
            && let Some(t) = last
            && let Some(f) = opt_time(t.finished_at.as_ref())
            && now - f <= ctx.opts.restart_spike_window
        {
            let mut ev = vec![format!(
                "pod {name}: container {c} restartCount={}",
                cs.restart_count
            )];
            ev.extend(last_line.clone());
            ev.extend(ctx.event_lines("Pod", Some(ns), name, 2, |e| {
                matches!(
                    e.reason.as_deref(),
                    Some("Unhealthy" | "Killing" | "BackOff")
                )
            }));
            ev.extend(ctx.log_excerpt(ns, name, c, true));
            out.push(PodIssue {
                kind: FindingKind::RestartSpike,
                severity: Severity::Warning,
                pod: p,
                container: c.to_string(),
                detail: format!(
                    "container {c} restarted {} times, last {} ({})",
                    cs.restart_count,
                    ago(now, f),
                    t.reason.as_deref().unwrap_or("?")
                ),
                evidence: ev,
                command: format!("kubectl logs -n {ns} {name} -c {c} --previous"),
            });
        }
    }

    // Probes: failures the kubelet reported as events, by container.
    let mut probes: BTreeMap<(String, String), Vec<&Event>> = BTreeMap::new();
    for e in ctx.events_for("Pod", Some(ns), name) {
        if e.reason.as_deref() != Some("Unhealthy") {
            continue;
        }
        let msg = e.message.as_deref().unwrap_or_default();
        let probe = ["Readiness", "Liveness", "Startup"]
            .into_iter()
            .find(|p| msg.starts_with(&format!("{p} probe")))
            .unwrap_or("Readiness");
        let container = e
            .involved_object
            .field_path
            .as_deref()
            .and_then(|f| f.split_once('{'))
            .and_then(|(_, rest)| rest.strip_suffix('}'))
            .unwrap_or("?")
            .to_string();
        probes
            .entry((probe.to_string(), container))
            .or_default()
            .push(e);
    }
    for ((probe, c), events) in probes {
        let ev: Vec<String> = std::iter::once(format!(
            "pod {name}: {probe} probe failures reported for container {c}"
        ))
        .chain(events.iter().take(2).map(|e| ctx.event_line(e)))
        .collect();
        out.push(PodIssue {
            kind: FindingKind::ProbeFailing,
            severity: Severity::Warning,
            pod: p,
            container: c.clone(),
            detail: format!("{} probe failing for container {c}", probe.to_lowercase()),
            evidence: ev,
            command: describe.clone(),
        });
    }
    // Running but not ready for a while, with a readiness probe and no probe events.
    for cs in status.container_statuses.iter().flatten() {
        let started = cs
            .state
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .and_then(|r| opt_time(r.started_at.as_ref()));
        let has_probe = container_spec(p, &cs.name).is_some_and(|c| c.readiness_probe.is_some());
        if let Some(started) = started
            && !cs.ready
            && has_probe
            && now - started > Duration::minutes(2)
            && !out
                .iter()
                .any(|i| i.kind == FindingKind::ProbeFailing && i.container == cs.name)
            && !crashlooping.contains(&cs.name.as_str())
        {
            out.push(PodIssue {
                kind: FindingKind::ProbeFailing,
                severity: Severity::Warning,
                pod: p,
                container: cs.name.clone(),
                detail: format!("container {} is running but not ready", cs.name),
                evidence: vec![format!(
                    "pod {name}: container {} running since {} ({}), ready=false",
                    cs.name,
                    started.to_rfc3339(),
                    ago(now, started)
                )],
                command: describe.clone(),
            });
        }
    }

    // Pending: unschedulable, or stuck before its containers start.
    if status.phase.as_deref() == Some("Pending") && p.metadata.deletion_timestamp.is_none() {
        let created = opt_time(p.metadata.creation_timestamp.as_ref()).unwrap_or(now);
        let age = now - created;
        let severity = if age > ctx.opts.pending_grace {
            Severity::Error
        } else {
            Severity::Warning
        };
        let sched = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False");
        let other_issue = out.iter().any(|i| {
            matches!(
                i.kind,
                FindingKind::ImagePullBackOff
                    | FindingKind::ContainerConfigError
                    | FindingKind::CrashLoopBackOff
            )
        });
        if let Some(cond) = sched {
            let msg = cond.message.clone().unwrap_or_default();
            let mut ev = vec![format!(
                "pod {name}: phase=Pending for {}, condition PodScheduled=False reason={}",
                human_duration(age.num_seconds()),
                cond.reason.as_deref().unwrap_or("?")
            )];
            if !msg.is_empty() {
                ev.push(format!("scheduler: {}", one_line(&msg, 400)));
            }
            ev.extend(ctx.event_lines("Pod", Some(ns), name, 2, |e| {
                e.reason.as_deref() == Some("FailedScheduling")
            }));
            let requests: Vec<String> = p
                .spec
                .iter()
                .flat_map(|s| s.containers.iter())
                .map(|c| {
                    format!(
                        "{}: cpu {}, memory {}",
                        c.name,
                        quantity(Some(c), "requests", "cpu").unwrap_or_else(|| "-".into()),
                        quantity(Some(c), "requests", "memory").unwrap_or_else(|| "-".into())
                    )
                })
                .collect();
            if !requests.is_empty() {
                ev.push(format!("requests: {}", requests.join("; ")));
            }
            let reason = if msg.is_empty() {
                cond.reason.clone().unwrap_or_default()
            } else {
                one_line(&msg, 200)
            };
            out.push(PodIssue {
                kind: FindingKind::Pending,
                severity,
                pod: p,
                container: String::new(),
                detail: format!("pod cannot be scheduled: {reason}"),
                evidence: ev,
                command: describe.clone(),
            });
        } else if !other_issue && age > ctx.opts.pending_grace {
            let mut ev = vec![format!(
                "pod {name}: phase=Pending for {} on node {}",
                human_duration(age.num_seconds()),
                p.spec
                    .as_ref()
                    .and_then(|s| s.node_name.as_deref())
                    .unwrap_or("?")
            )];
            ev.extend(ctx.event_lines("Pod", Some(ns), name, 3, |e| {
                e.type_.as_deref() == Some("Warning")
            }));
            out.push(PodIssue {
                kind: FindingKind::Pending,
                severity: Severity::Warning,
                pod: p,
                container: String::new(),
                detail: "pod is scheduled but its containers have not started".into(),
                evidence: ev,
                command: describe.clone(),
            });
        }
    }
    out
}

/// Group pod issues by (kind, workload, container) into findings.
pub(super) fn pod_findings(ctx: &Ctx) -> Vec<Finding> {
    let mut groups: BTreeMap<(FindingKind, ResourceRef, String), Vec<PodIssue>> = BTreeMap::new();
    for p in &ctx.state.pods.items {
        for issue in pod_issues(ctx, p) {
            let owner = ctx.top_owner(&p.metadata, "Pod");
            groups
                .entry((issue.kind, owner, issue.container.clone()))
                .or_default()
                .push(issue);
        }
    }
    let mut out = Vec::new();
    for ((kind, owner, _container), issues) in groups {
        let Some(first) = issues.first() else {
            continue;
        };
        let total = ctx
            .pods_per_owner
            .get(&owner)
            .copied()
            .unwrap_or(issues.len());
        let severity = issues
            .iter()
            .map(|i| i.severity)
            .max()
            .unwrap_or(first.severity);
        let summary = if owner.kind == "Pod" {
            format!("{}: {}", owner.name, first.detail)
        } else {
            format!(
                "{} {}: {} ({} of {} pods)",
                owner.kind.to_lowercase(),
                owner.name,
                first.detail,
                issues.len(),
                total
            )
        };
        let mut evidence = first.evidence.clone();
        for other in issues.iter().skip(1).take(4) {
            evidence.push(format!(
                "also pod {}: {}",
                pod_name(other.pod),
                other.detail
            ));
        }
        if issues.len() > 5 {
            evidence.push(format!("… and {} more pods", issues.len() - 5));
        }
        out.push(Finding {
            severity,
            kind,
            resource: owner,
            summary,
            evidence,
            command: first.command.clone(),
            observed_at: ctx.state.pods.observed_at,
            pods: issues.iter().map(|i| pod_name(i.pod).to_string()).collect(),
        });
    }
    out
}
