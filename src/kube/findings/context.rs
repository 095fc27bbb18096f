//! What every analyzer reads: the snapshot, its graph and the options, with lookups by
//! owner and by object (events, log excerpts), and the wording helpers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::finding::AnalyzeOptions;
use crate::kube::graph::Graph;
use crate::kube::resources;
use crate::kube::snapshot::log_key;
use crate::kube::state::{ClusterState, ResourceRef, opt_time, time};
use crate::kube::table::human_duration;

/// Lookups shared by the analyzers.
pub(super) struct Ctx<'a> {
    pub(super) state: &'a ClusterState,
    pub(super) graph: &'a Graph,
    pub(super) opts: &'a AnalyzeOptions,
    pub(super) now: DateTime<Utc>,
    /// uid → (reference, metadata) of every object that can own pods.
    pub(super) owners: HashMap<&'a str, (ResourceRef, &'a ObjectMeta)>,
    pub(super) events: HashMap<(String, String, String), Vec<&'a Event>>,
    /// Pods per top-level owner.
    pub(super) pods_per_owner: HashMap<ResourceRef, usize>,
}

pub(super) fn ago(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    format!("{} ago", human_duration((now - t).num_seconds()))
}

impl<'a> Ctx<'a> {
    pub(super) fn new(state: &'a ClusterState, graph: &'a Graph, opts: &'a AnalyzeOptions) -> Self {
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
    pub(super) fn top_owner(&self, meta: &ObjectMeta, kind: &str) -> ResourceRef {
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

    pub(super) fn events_for(&self, kind: &str, ns: Option<&str>, name: &str) -> &[&'a Event] {
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
    pub(super) fn event_lines(
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

    pub(super) fn event_line(&self, e: &Event) -> String {
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
    pub(super) fn log_excerpt(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Option<String> {
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

pub(super) fn event_time(e: &Event) -> Option<DateTime<Utc>> {
    opt_time(e.last_timestamp.as_ref())
        .or_else(|| {
            e.event_time
                .as_ref()
                .map(|t| time(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.0)))
        })
        .or_else(|| opt_time(e.first_timestamp.as_ref()))
}

/// Whether a log line reports a failure.
pub(super) fn is_error_line(line: &str) -> bool {
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

pub(super) fn one_line(s: &str, max: usize) -> String {
    let flat = s.replace('\n', " ");
    let flat = flat.trim();
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    } else {
        flat.to_string()
    }
}
