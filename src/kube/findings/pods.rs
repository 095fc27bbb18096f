//! Pod-level analyzers: container states, probes, scheduling; grouped by workload.

use std::collections::BTreeMap;

use chrono::Duration;
use k8s_openapi::api::core::v1::{
    Container, ContainerStateTerminated, ContainerStatus, Event, Pod, PodStatus,
};

use super::context::{Ctx, ago, one_line};
use super::finding::{Finding, FindingKind, Severity};
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

/// The pod an analyzer looks at, with what every check of it needs.
struct At<'c, 'a> {
    ctx: &'c Ctx<'a>,
    pod: &'a Pod,
    ns: &'a str,
    name: &'a str,
    describe: String,
}

impl<'a> At<'_, 'a> {
    fn issue(
        &self,
        kind: FindingKind,
        severity: Severity,
        container: &str,
        detail: String,
        evidence: Vec<String>,
    ) -> PodIssue<'a> {
        PodIssue {
            kind,
            severity,
            pod: self.pod,
            container: container.to_string(),
            detail,
            evidence,
            command: self.describe.clone(),
        }
    }

    /// The pod's events with one of these reasons, as evidence lines.
    fn events(&self, max: usize, reasons: &[&str]) -> Vec<String> {
        self.ctx
            .event_lines("Pod", Some(self.ns), self.name, max, |e| {
                e.reason.as_deref().is_some_and(|r| reasons.contains(&r))
            })
    }
}

/// One container's status, read once for every check.
struct ContainerView<'a> {
    cs: &'a ContainerStatus,
    name: &'a str,
    wait_reason: &'a str,
    wait_msg: &'a str,
    /// The previous instance's termination.
    last: Option<&'a ContainerStateTerminated>,
    /// The current termination, if the container is not running.
    now: Option<&'a ContainerStateTerminated>,
    /// `lastState.terminated: …` as an evidence line.
    last_line: Option<String>,
    spec: Option<&'a Container>,
}

impl<'a> ContainerView<'a> {
    fn new(at: &At<'_, 'a>, cs: &'a ContainerStatus) -> Self {
        let state = cs.state.as_ref();
        let waiting = state.and_then(|s| s.waiting.as_ref());
        let last = cs.last_state.as_ref().and_then(|l| l.terminated.as_ref());
        let last_line = last.map(|t| {
            let when = opt_time(t.finished_at.as_ref())
                .map(|f| format!(" finishedAt={} ({})", f.to_rfc3339(), ago(at.ctx.now, f)))
                .unwrap_or_default();
            format!(
                "lastState.terminated: reason={} exitCode={}{when}",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
            )
        });
        Self {
            cs,
            name: cs.name.as_str(),
            wait_reason: waiting
                .and_then(|w| w.reason.as_deref())
                .unwrap_or_default(),
            wait_msg: waiting
                .and_then(|w| w.message.as_deref())
                .unwrap_or_default(),
            last,
            now: state.and_then(|s| s.terminated.as_ref()),
            last_line,
            spec: container_spec(at.pod, &cs.name),
        }
    }

    /// `state.waiting.message: …`, when there is one.
    fn wait_message(&self) -> Option<String> {
        (!self.wait_msg.is_empty())
            .then(|| format!("state.waiting.message: {}", one_line(self.wait_msg, 300)))
    }

    /// The termination that was an OOM kill, now or last time.
    fn oom(&self) -> Option<&'a ContainerStateTerminated> {
        [self.last, self.now]
            .into_iter()
            .flatten()
            .find(|t| t.reason.as_deref() == Some("OOMKilled"))
    }
}

fn pod_issues<'a>(ctx: &Ctx<'a>, p: &'a Pod) -> Vec<PodIssue<'a>> {
    let Some(status) = p.status.as_ref() else {
        return Vec::new();
    };
    let (ns, name) = (pod_ns(p), pod_name(p));
    let at = At {
        ctx,
        pod: p,
        ns,
        name,
        describe: format!("kubectl describe pod -n {ns} {name}"),
    };
    let mut out = Vec::new();
    let mut crashlooping: Vec<&str> = Vec::new();
    for cs in status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
    {
        let c = ContainerView::new(&at, cs);
        if let Some(issue) = crash_loop(&at, &c) {
            crashlooping.push(c.name);
            out.push(issue);
        }
        out.extend(oom_killed(&at, &c));
        out.extend(image_pull(&at, &c));
        out.extend(config_error(&at, &c));
        out.extend(restart_spike(&at, &c));
    }
    out.extend(probe_failures(&at));
    let not_ready = not_ready(&at, status, &out, &crashlooping);
    out.extend(not_ready);
    let pending = pending(&at, status, &out);
    out.extend(pending);
    out
}

fn crash_loop<'a>(at: &At<'_, 'a>, c: &ContainerView<'a>) -> Option<PodIssue<'a>> {
    if c.wait_reason != "CrashLoopBackOff" {
        return None;
    }
    let (ns, name, cname) = (at.ns, at.name, c.name);
    let mut ev = vec![format!(
        "pod {name}: container {cname} state.waiting.reason=CrashLoopBackOff restartCount={}",
        c.cs.restart_count
    )];
    ev.extend(c.last_line.clone());
    ev.extend(c.wait_message());
    ev.extend(at.events(2, &["BackOff", "Unhealthy", "Killing"]));
    ev.extend(at.ctx.log_excerpt(ns, name, cname, true));
    let exit = c
        .last
        .map(|t| {
            format!(
                "; last exit {} (code {})",
                t.reason.as_deref().unwrap_or("?"),
                t.exit_code
            )
        })
        .unwrap_or_default();
    let mut issue = at.issue(
        FindingKind::CrashLoopBackOff,
        Severity::Critical,
        cname,
        format!(
            "container {cname} is crash-looping ({} restarts{exit})",
            c.cs.restart_count
        ),
        ev,
    );
    issue.command = format!("kubectl logs -n {ns} {name} -c {cname} --previous");
    Some(issue)
}

fn oom_killed<'a>(at: &At<'_, 'a>, c: &ContainerView<'a>) -> Option<PodIssue<'a>> {
    let t = c.oom()?;
    let (name, cname) = (at.name, c.name);
    let limit = quantity(c.spec, "limits", "memory");
    let mut ev = vec![format!(
        "pod {name}: container {cname} terminated with reason=OOMKilled exitCode={} restartCount={}",
        t.exit_code, c.cs.restart_count
    )];
    if let Some(f) = opt_time(t.finished_at.as_ref()) {
        ev.push(format!(
            "killed at {} ({})",
            f.to_rfc3339(),
            ago(at.ctx.now, f)
        ));
    }
    ev.push(format!(
        "resources: memory limit {}, request {}",
        limit.clone().unwrap_or_else(|| "none".into()),
        quantity(c.spec, "requests", "memory").unwrap_or_else(|| "none".into())
    ));
    ev.extend(at.ctx.log_excerpt(at.ns, name, cname, true));
    let detail = match &limit {
        Some(l) => format!("container {cname} was OOMKilled (memory limit {l})"),
        None => format!("container {cname} was OOMKilled (no memory limit; the node ran out)"),
    };
    Some(at.issue(FindingKind::OomKilled, Severity::Error, cname, detail, ev))
}

fn image_pull<'a>(at: &At<'_, 'a>, c: &ContainerView<'a>) -> Option<PodIssue<'a>> {
    let reason = c.wait_reason;
    if !matches!(
        reason,
        "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull"
    ) {
        return None;
    }
    let image = c
        .spec
        .and_then(|s| s.image.clone())
        .unwrap_or_else(|| c.cs.image.clone());
    let mut ev = vec![format!(
        "pod {}: container {} state.waiting.reason={reason} image={image}",
        at.name, c.name
    )];
    ev.extend(c.wait_message());
    ev.extend(at.events(
        2,
        &["Failed", "BackOff", "InspectFailed", "ErrImageNeverPull"],
    ));
    let detail = format!("cannot pull image {image} ({reason})");
    Some(at.issue(
        FindingKind::ImagePullBackOff,
        Severity::Error,
        c.name,
        detail,
        ev,
    ))
}

fn config_error<'a>(at: &At<'_, 'a>, c: &ContainerView<'a>) -> Option<PodIssue<'a>> {
    let reason = c.wait_reason;
    if !matches!(
        reason,
        "CreateContainerConfigError" | "CreateContainerError" | "RunContainerError"
    ) {
        return None;
    }
    let mut ev = vec![format!(
        "pod {}: container {} state.waiting.reason={reason}",
        at.name, c.name
    )];
    ev.extend(c.wait_message());
    ev.extend(at.events(2, &["Failed"]));
    let detail = format!(
        "container {} cannot start: {reason}: {}",
        c.name,
        one_line(c.wait_msg, 160)
    );
    Some(at.issue(
        FindingKind::ContainerConfigError,
        Severity::Error,
        c.name,
        detail,
        ev,
    ))
}

/// Restarts without a crash loop or OOM: a spike if recent.
fn restart_spike<'a>(at: &At<'_, 'a>, c: &ContainerView<'a>) -> Option<PodIssue<'a>> {
    let opts = &at.ctx.opts;
    let t = c.last?;
    let f = opt_time(t.finished_at.as_ref())?;
    if c.wait_reason == "CrashLoopBackOff"
        || c.oom().is_some()
        || c.cs.restart_count < opts.restart_spike_threshold
        || at.ctx.now - f > opts.restart_spike_window
    {
        return None;
    }
    let (ns, name, cname) = (at.ns, at.name, c.name);
    let mut ev = vec![format!(
        "pod {name}: container {cname} restartCount={}",
        c.cs.restart_count
    )];
    ev.extend(c.last_line.clone());
    ev.extend(at.events(2, &["Unhealthy", "Killing", "BackOff"]));
    ev.extend(at.ctx.log_excerpt(ns, name, cname, true));
    let detail = format!(
        "container {cname} restarted {} times, last {} ({})",
        c.cs.restart_count,
        ago(at.ctx.now, f),
        t.reason.as_deref().unwrap_or("?")
    );
    let mut issue = at.issue(
        FindingKind::RestartSpike,
        Severity::Warning,
        cname,
        detail,
        ev,
    );
    issue.command = format!("kubectl logs -n {ns} {name} -c {cname} --previous");
    Some(issue)
}

/// Probe failures the kubelet reported as events, by probe and container.
fn probe_failures<'a>(at: &At<'_, 'a>) -> Vec<PodIssue<'a>> {
    let mut probes: BTreeMap<(String, String), Vec<&Event>> = BTreeMap::new();
    for e in at.ctx.events_for("Pod", Some(at.ns), at.name) {
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
    probes
        .into_iter()
        .map(|((probe, c), events)| {
            let ev: Vec<String> = std::iter::once(format!(
                "pod {}: {probe} probe failures reported for container {c}",
                at.name
            ))
            .chain(events.iter().take(2).map(|e| at.ctx.event_line(e)))
            .collect();
            let detail = format!("{} probe failing for container {c}", probe.to_lowercase());
            at.issue(FindingKind::ProbeFailing, Severity::Warning, &c, detail, ev)
        })
        .collect()
}

/// Running but not ready for a while, with a readiness probe and no probe events.
fn not_ready<'a>(
    at: &At<'_, 'a>,
    status: &PodStatus,
    found: &[PodIssue<'a>],
    crashlooping: &[&str],
) -> Vec<PodIssue<'a>> {
    let now = at.ctx.now;
    let mut out = Vec::new();
    for cs in status.container_statuses.iter().flatten() {
        let started = cs
            .state
            .as_ref()
            .and_then(|s| s.running.as_ref())
            .and_then(|r| opt_time(r.started_at.as_ref()));
        let has_probe =
            container_spec(at.pod, &cs.name).is_some_and(|c| c.readiness_probe.is_some());
        let reported = |issues: &[PodIssue<'a>]| {
            issues
                .iter()
                .any(|i| i.kind == FindingKind::ProbeFailing && i.container == cs.name)
        };
        if let Some(started) = started
            && !cs.ready
            && has_probe
            && now - started > Duration::minutes(2)
            && !reported(found)
            && !reported(&out)
            && !crashlooping.contains(&cs.name.as_str())
        {
            let evidence = vec![format!(
                "pod {}: container {} running since {} ({}), ready=false",
                at.name,
                cs.name,
                started.to_rfc3339(),
                ago(now, started)
            )];
            let detail = format!("container {} is running but not ready", cs.name);
            out.push(at.issue(
                FindingKind::ProbeFailing,
                Severity::Warning,
                &cs.name,
                detail,
                evidence,
            ));
        }
    }
    out
}

/// Pending: unschedulable, or stuck before its containers start.
fn pending<'a>(
    at: &At<'_, 'a>,
    status: &PodStatus,
    found: &[PodIssue<'a>],
) -> Option<PodIssue<'a>> {
    let (p, name, now) = (at.pod, at.name, at.ctx.now);
    if status.phase.as_deref() != Some("Pending") || p.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let created = opt_time(p.metadata.creation_timestamp.as_ref()).unwrap_or(now);
    let age = now - created;
    let sched = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False");
    let other_issue = found.iter().any(|i| {
        matches!(
            i.kind,
            FindingKind::ImagePullBackOff
                | FindingKind::ContainerConfigError
                | FindingKind::CrashLoopBackOff
        )
    });
    if let Some(cond) = sched {
        let severity = if age > at.ctx.opts.pending_grace {
            Severity::Error
        } else {
            Severity::Warning
        };
        let msg = cond.message.clone().unwrap_or_default();
        let mut ev = vec![format!(
            "pod {name}: phase=Pending for {}, condition PodScheduled=False reason={}",
            human_duration(age.num_seconds()),
            cond.reason.as_deref().unwrap_or("?")
        )];
        if !msg.is_empty() {
            ev.push(format!("scheduler: {}", one_line(&msg, 400)));
        }
        ev.extend(at.events(2, &["FailedScheduling"]));
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
        let detail = format!("pod cannot be scheduled: {reason}");
        return Some(at.issue(FindingKind::Pending, severity, "", detail, ev));
    }
    if other_issue || age <= at.ctx.opts.pending_grace {
        return None;
    }
    let mut ev = vec![format!(
        "pod {name}: phase=Pending for {} on node {}",
        human_duration(age.num_seconds()),
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .unwrap_or("?")
    )];
    ev.extend(at.ctx.event_lines("Pod", Some(at.ns), name, 3, |e| {
        e.type_.as_deref() == Some("Warning")
    }));
    let detail = "pod is scheduled but its containers have not started".to_string();
    Some(at.issue(FindingKind::Pending, Severity::Warning, "", detail, ev))
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
