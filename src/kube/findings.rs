//! Findings: pure analyzers over a parsed snapshot and its graph. Each finding has a
//! severity, the resource, evidence (status fields, events, a log excerpt) and the kubectl
//! command a person would run to see it for themselves.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Event, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cron::Schedule;
use super::graph::{Graph, Layer, NodeDetail, Relation, pod_ready};
use super::resources;
use super::snapshot::log_key;
use super::state::{ClusterState, ResourceRef, opt_time, time};
use super::table::human_duration;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        })
    }
}

/// What a finding is about. The order is the tie-break after severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    NodeNotReady,
    CrashLoopBackOff,
    OomKilled,
    ImagePullBackOff,
    ContainerConfigError,
    Pending,
    RolloutStuck,
    UnavailableReplicas,
    ServiceNoEndpoints,
    JobFailed,
    CronJobMissed,
    PvcPending,
    ProbeFailing,
    RestartSpike,
    NodePressure,
    HpaAtMax,
    RecentRollout,
}

impl FindingKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingKind::NodeNotReady => "node_not_ready",
            FindingKind::CrashLoopBackOff => "crash_loop_back_off",
            FindingKind::OomKilled => "oom_killed",
            FindingKind::ImagePullBackOff => "image_pull_back_off",
            FindingKind::ContainerConfigError => "container_config_error",
            FindingKind::Pending => "pending",
            FindingKind::RolloutStuck => "rollout_stuck",
            FindingKind::UnavailableReplicas => "unavailable_replicas",
            FindingKind::ServiceNoEndpoints => "service_no_endpoints",
            FindingKind::JobFailed => "job_failed",
            FindingKind::CronJobMissed => "cron_job_missed",
            FindingKind::PvcPending => "pvc_pending",
            FindingKind::ProbeFailing => "probe_failing",
            FindingKind::RestartSpike => "restart_spike",
            FindingKind::NodePressure => "node_pressure",
            FindingKind::HpaAtMax => "hpa_at_max",
            FindingKind::RecentRollout => "recent_rollout",
        }
    }
}

/// One thing worth a look.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: FindingKind,
    /// The workload (or node, service, …) the finding is about.
    pub resource: ResourceRef,
    pub summary: String,
    pub evidence: Vec<String>,
    /// What a person would run to see it.
    pub command: String,
    pub observed_at: DateTime<Utc>,
    /// The pods it concerns, for pod-level findings grouped by workload.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<String>,
}

/// Thresholds of the analyzers.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// A new ReplicaSet younger than this is a recent rollout.
    pub recent_rollout: Duration,
    /// This many restarts …
    pub restart_spike_threshold: i32,
    /// … with the last one within this window is a restart spike.
    pub restart_spike_window: Duration,
    /// Pending longer than this is an error rather than a warning.
    pub pending_grace: Duration,
    /// Lines of log in an excerpt.
    pub log_excerpt_lines: usize,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            recent_rollout: Duration::minutes(60),
            restart_spike_threshold: 3,
            restart_spike_window: Duration::minutes(60),
            pending_grace: Duration::minutes(5),
            log_excerpt_lines: 5,
        }
    }
}

/// Lookups shared by the analyzers.
struct Ctx<'a> {
    state: &'a ClusterState,
    graph: &'a Graph,
    opts: &'a AnalyzeOptions,
    now: DateTime<Utc>,
    /// uid → (reference, metadata) of every object that can own pods.
    owners: HashMap<&'a str, (ResourceRef, &'a ObjectMeta)>,
    events: HashMap<(String, String, String), Vec<&'a Event>>,
    /// Pods per top-level owner.
    pods_per_owner: HashMap<ResourceRef, usize>,
}

fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    format!("{} ago", human_duration((now - t).num_seconds()))
}

impl<'a> Ctx<'a> {
    fn new(state: &'a ClusterState, graph: &'a Graph, opts: &'a AnalyzeOptions) -> Self {
        let mut owners = HashMap::new();
        let mut add = |t: &resources::ResourceType, meta: &'a ObjectMeta| {
            if let Some(uid) = meta.uid.as_deref() {
                owners.insert(uid, (ResourceRef::of(t, meta), meta));
            }
        };
        for o in &state.replicasets.items {
            add(&resources::REPLICASETS, &o.metadata);
        }
        for o in &state.deployments.items {
            add(&resources::DEPLOYMENTS, &o.metadata);
        }
        for o in &state.statefulsets.items {
            add(&resources::STATEFULSETS, &o.metadata);
        }
        for o in &state.daemonsets.items {
            add(&resources::DAEMONSETS, &o.metadata);
        }
        for o in &state.jobs.items {
            add(&resources::JOBS, &o.metadata);
        }
        for o in &state.cronjobs.items {
            add(&resources::CRONJOBS, &o.metadata);
        }
        let mut events: HashMap<(String, String, String), Vec<&Event>> = HashMap::new();
        for e in &state.events.items {
            let io = &e.involved_object;
            let key = (
                io.kind.clone().unwrap_or_default(),
                io.namespace
                    .clone()
                    .or_else(|| e.metadata.namespace.clone())
                    .unwrap_or_default(),
                io.name.clone().unwrap_or_default(),
            );
            events.entry(key).or_default().push(e);
        }
        for list in events.values_mut() {
            list.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
        }
        let mut ctx = Self {
            state,
            graph,
            opts,
            now: state.as_of,
            owners,
            events,
            pods_per_owner: HashMap::new(),
        };
        let mut counts: HashMap<ResourceRef, usize> = HashMap::new();
        for p in &state.pods.items {
            *counts.entry(ctx.top_owner(&p.metadata, "Pod")).or_default() += 1;
        }
        ctx.pods_per_owner = counts;
        ctx
    }

    /// Follow controller owner references up to the workload people deploy.
    fn top_owner(&self, meta: &ObjectMeta, kind: &str) -> ResourceRef {
        let mut current = ResourceRef::new(
            kind,
            meta.namespace.as_deref(),
            meta.name.as_deref().unwrap_or_default(),
        );
        let mut refs = meta.owner_references.as_ref();
        for _ in 0..5 {
            let Some(owner) = refs.and_then(|r| {
                r.iter()
                    .find(|o| o.controller == Some(true))
                    .or_else(|| r.first())
            }) else {
                break;
            };
            match self.owners.get(owner.uid.as_str()) {
                Some((id, m)) => {
                    current = id.clone();
                    refs = m.owner_references.as_ref();
                }
                None => {
                    current = ResourceRef::new(&owner.kind, meta.namespace.as_deref(), &owner.name);
                    break;
                }
            }
        }
        current
    }

    fn events_for(&self, kind: &str, ns: Option<&str>, name: &str) -> &[&'a Event] {
        self.events
            .get(&(
                kind.to_string(),
                ns.unwrap_or_default().to_string(),
                name.to_string(),
            ))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Up to `max` events matching `pred`, newest first, as evidence lines.
    fn event_lines(
        &self,
        kind: &str,
        ns: Option<&str>,
        name: &str,
        max: usize,
        pred: impl Fn(&Event) -> bool,
    ) -> Vec<String> {
        self.events_for(kind, ns, name)
            .iter()
            .filter(|e| pred(e))
            .take(max)
            .map(|e| self.event_line(e))
            .collect()
    }

    fn event_line(&self, e: &Event) -> String {
        let count = e
            .series
            .as_ref()
            .and_then(|s| s.count)
            .or(e.count)
            .unwrap_or(1);
        let when = event_time(e)
            .map(|t| format!(", {}", ago(self.now, t)))
            .unwrap_or_default();
        format!(
            "event {} {} (x{count}{when}): {}",
            e.type_.as_deref().unwrap_or("Normal"),
            e.reason.as_deref().unwrap_or_default(),
            one_line(e.message.as_deref().unwrap_or_default(), 300)
        )
    }

    /// The last lines of a container's log (previous instance first when asked).
    fn log_excerpt(&self, ns: &str, pod: &str, container: &str, previous: bool) -> Option<String> {
        let logs = self.state.logs.get(&log_key(ns, pod, container))?;
        let (which, text) = match (previous, &logs.previous, &logs.current) {
            (true, Some(p), _) if !p.trim().is_empty() => ("previous", p),
            (_, _, Some(c)) if !c.trim().is_empty() => ("current", c),
            (false, Some(p), _) if !p.trim().is_empty() => ("previous", p),
            _ => return None,
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let start = lines.len().saturating_sub(self.opts.log_excerpt_lines);
        // The lines that say what went wrong often sit above a stack trace: keep the last
        // few of them in front of the tail.
        let mut key: Vec<&str> = lines[..start]
            .iter()
            .copied()
            .filter(|l| is_error_line(l))
            .collect();
        key.drain(..key.len().saturating_sub(3));
        let mut body: Vec<String> = key
            .iter()
            .map(|l| format!("  {}", one_line(l, 240)))
            .collect();
        if !key.is_empty() {
            body.push("  …".into());
        }
        body.extend(
            lines[start..]
                .iter()
                .map(|l| format!("  {}", one_line(l, 240))),
        );
        let what = if key.is_empty() {
            format!("last {} lines", lines.len() - start)
        } else {
            format!("error lines and last {} lines", lines.len() - start)
        };
        Some(format!(
            "{which} log of {container} in {pod} ({what}):\n{}",
            body.join("\n")
        ))
    }
}

fn event_time(e: &Event) -> Option<DateTime<Utc>> {
    opt_time(e.last_timestamp.as_ref())
        .or_else(|| {
            e.event_time
                .as_ref()
                .map(|t| time(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.0)))
        })
        .or_else(|| opt_time(e.first_timestamp.as_ref()))
}

/// Whether a log line reports a failure.
fn is_error_line(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    [
        "panic",
        "fatal",
        "error",
        "exception",
        "traceback",
        "caused by",
        "killed",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

fn one_line(s: &str, max: usize) -> String {
    let flat = s.replace('\n', " ");
    let flat = flat.trim();
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat.to_string()
    }
}

/// A problem seen in one pod, before grouping by workload.
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

fn pod_name(p: &Pod) -> &str {
    p.metadata.name.as_deref().unwrap_or_default()
}

fn pod_ns(p: &Pod) -> &str {
    p.metadata.namespace.as_deref().unwrap_or_default()
}

fn container_spec<'p>(p: &'p Pod, name: &str) -> Option<&'p Container> {
    p.spec.as_ref()?.containers.iter().find(|c| c.name == name)
}

fn quantity(c: Option<&Container>, which: &str, res: &str) -> Option<String> {
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
fn pod_findings(ctx: &Ctx) -> Vec<Finding> {
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

fn workload_findings(ctx: &Ctx) -> Vec<Finding> {
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

fn service_findings(ctx: &Ctx) -> Vec<Finding> {
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

fn node_findings(ctx: &Ctx) -> Vec<Finding> {
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

fn storage_and_batch_findings(ctx: &Ctx) -> Vec<Finding> {
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

fn hpa_findings(ctx: &Ctx) -> Vec<Finding> {
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

/// Every finding, most severe first.
pub fn analyze(state: &ClusterState, graph: &Graph, opts: &AnalyzeOptions) -> Vec<Finding> {
    let ctx = Ctx::new(state, graph, opts);
    let mut out = Vec::new();
    out.extend(node_findings(&ctx));
    out.extend(pod_findings(&ctx));
    out.extend(workload_findings(&ctx));
    out.extend(service_findings(&ctx));
    out.extend(storage_and_batch_findings(&ctx));
    out.extend(hpa_findings(&ctx));
    sort_findings(&mut out);
    out
}

/// Most severe first, then by kind, then by resource.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.kind.cmp(&b.kind))
            .then_with(|| a.resource.cmp(&b.resource))
    });
}
