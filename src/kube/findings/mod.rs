//! Findings: pure analyzers over a parsed snapshot and its graph. Each finding has a
//! severity, the resource, evidence (status fields, events, a log excerpt) and the kubectl
//! command a person would run to see it for themselves.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Serialize};

use super::graph::Graph;
use super::resources;
use super::snapshot::log_key;
use super::state::{ClusterState, ResourceRef, opt_time, time};
use super::table::human_duration;

mod objects;
mod pods;

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
/// Every finding, most severe first.
pub fn analyze(state: &ClusterState, graph: &Graph, opts: &AnalyzeOptions) -> Vec<Finding> {
    let ctx = Ctx::new(state, graph, opts);
    let mut out = Vec::new();
    out.extend(objects::node_findings(&ctx));
    out.extend(pods::pod_findings(&ctx));
    out.extend(objects::workload_findings(&ctx));
    out.extend(objects::service_findings(&ctx));
    out.extend(objects::storage_and_batch_findings(&ctx));
    out.extend(objects::hpa_findings(&ctx));
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
