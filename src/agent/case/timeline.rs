//! The change timeline around the alert's start: rollouts (ReplicaSet revisions, a
//! StatefulSet's update revision), restarts, objects created or modified (creation
//! times, managed-field times, taints), scaling, Job runs and commits, in order.
//! Changes that touch the target or what it depends on are marked relevant; the
//! hypotheses use them as evidence and the answer and the TUI show them.

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::objects;
use super::target::Target;
use super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::{ResourceRef, opt_time};
use crate::protocol::TimelineEntry;

/// How far before the alert's start a change is shown.
const WINDOW_HOURS: i64 = 24;
/// Changes within this many minutes before the start are "near" it.
pub const NEAR_MINUTES: i64 = 90;

/// One change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub at: DateTime<Utc>,
    /// `rollout`, `restart`, `created`, `modified`, `scaled`, `job`, `commit`, `node`,
    /// `first warning`.
    pub kind: &'static str,
    /// The object (or `commit <id>`).
    pub reference: String,
    pub what: String,
    /// Touches the target or something it depends on.
    pub relevant: bool,
    /// The object changed, for changes to cluster objects.
    pub object: Option<ResourceRef>,
}

impl Change {
    pub fn entry(&self) -> TimelineEntry {
        TimelineEntry {
            at: self.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            kind: self.kind.to_string(),
            reference: self.reference.clone(),
            what: self.what.clone(),
            relevant: self.relevant,
        }
    }
}

/// Every change the reads show, oldest first, from a day before `start` until `now`.
#[allow(clippy::too_many_lines)] // one arm per kind of change
pub fn build(w: &World, t: &Target, start: DateTime<Utc>, related: &[ResourceRef]) -> Vec<Change> {
    let mut out = Vec::new();
    let from = start - Duration::hours(WINDOW_HOURS);
    let touches = |r: &ResourceRef| {
        r.name == t.name
            || objects::named_for(&r.name, &t.name)
            || related.iter().any(|x| x.kind == r.kind && x.name == r.name)
    };
    for o in w.all() {
        let Some(meta) = o.meta() else { continue };
        let r = o.reference();
        match o {
            KubeObject::ReplicaSet(rs) => rollout(rs, &mut out),
            KubeObject::Pod(_) | KubeObject::EndpointSlice(_) => {}
            KubeObject::Node(n) => {
                for taint in n.spec.iter().flat_map(|s| s.taints.iter().flatten()) {
                    if let Some(at) = opt_time(taint.time_added.as_ref()) {
                        out.push(change(
                            at,
                            "node",
                            &r,
                            format!(
                                "taint {}={}:{} added",
                                taint.key,
                                taint.value.as_deref().unwrap_or(""),
                                taint.effect
                            ),
                        ));
                    }
                }
                for c in n.status.iter().flat_map(|s| s.conditions.iter().flatten()) {
                    let bad = (c.type_ == "Ready" && c.status != "True")
                        || (c.type_ != "Ready" && c.status == "True");
                    if let (true, Some(at)) = (bad, opt_time(c.last_transition_time.as_ref())) {
                        out.push(change(
                            at,
                            "node",
                            &r,
                            format!(
                                "{}={} ({})",
                                c.type_,
                                c.status,
                                c.reason.as_deref().unwrap_or("")
                            ),
                        ));
                    }
                }
                if n.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
                    out.extend(modified(meta, &r, "cordoned"));
                }
            }
            KubeObject::Job(j) => {
                if let Some(at) = j
                    .status
                    .as_ref()
                    .and_then(|s| opt_time(s.start_time.as_ref()))
                {
                    out.push(change(at, "job", &r, "Job started".into()));
                }
            }
            _ => {
                if let Some(at) = objects::created(meta) {
                    out.push(change(at, "created", &r, format!("{} created", r.kind)));
                }
                out.extend(modified(meta, &r, "modified"));
                if let Some(at) = restarted_at(o) {
                    out.push(change(
                        at,
                        "restart",
                        &r,
                        "rollout restart (kubectl.kubernetes.io/restartedAt)".into(),
                    ));
                }
                if let KubeObject::StatefulSet(s) = o {
                    out.extend(statefulset_rollout(w, s.as_ref(), &r));
                }
            }
        }
    }
    for e in &w.events {
        let when = e.last_seen.as_deref().and_then(parse_time);
        let first = e.first_seen.as_deref().and_then(parse_time).or(when);
        match e.reason.as_str() {
            "ScalingReplicaSet" | "SuccessfulRescale" | "SuccessfulCreate"
                if e.about.kind != "ReplicaSet" =>
            {
                if let Some(at) = when {
                    out.push(change(at, "scaled", &e.about, e.message.clone()));
                }
            }
            "Evicted" | "NodeNotReady" | "Killing" | "Preempted" | "TaintManagerEviction" => {
                if let Some(at) = first {
                    out.push(change(
                        at,
                        "node",
                        &e.about,
                        format!("{}: {}", e.reason, e.message),
                    ));
                }
            }
            _ if e.type_ == "Warning" => {
                if let Some(at) = first {
                    out.push(change(
                        at,
                        "first warning",
                        &e.about,
                        format!("{}: {}", e.reason, super::clues::cut(&e.message, 160)),
                    ));
                }
            }
            _ => {}
        }
    }
    for c in &w.commits {
        let Some(at) = DateTime::from_timestamp(c.time, 0) else {
            continue;
        };
        let relevant = c.files.iter().any(|f| {
            t.paths
                .iter()
                .any(|p| f.starts_with(p.as_str()) || p.starts_with(f.as_str()))
        }) || c.summary.to_lowercase().contains(&t.name.to_lowercase());
        out.push(Change {
            at,
            kind: "commit",
            reference: c.id[..c.id.len().min(10)].to_string(),
            what: format!("{} ({})", c.summary, c.author),
            relevant,
            object: None,
        });
    }
    for c in &mut out {
        if let Some(o) = &c.object {
            c.relevant |= touches(o);
        }
    }
    out.retain(|c| c.at >= from && c.at <= w.now.max(start));
    out.sort_by(|a, b| a.at.cmp(&b.at).then(a.reference.cmp(&b.reference)));
    out.dedup_by(|a, b| a.at == b.at && a.reference == b.reference && a.kind == b.kind);
    out
}

fn change(at: DateTime<Utc>, kind: &'static str, r: &ResourceRef, what: String) -> Change {
    Change {
        at,
        kind,
        reference: r.to_string(),
        what,
        relevant: false,
        object: Some(r.clone()),
    }
}

/// The latest write of an object after its creation, from its managed fields.
fn modified(meta: &ObjectMeta, r: &ResourceRef, what: &str) -> Option<Change> {
    let created = objects::created(meta);
    let last = meta
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.operation.as_deref() != Some("Apply") || created.is_some())
        .filter_map(|m| {
            Some((
                opt_time(m.time.as_ref())?,
                m.manager.clone().unwrap_or_default(),
            ))
        })
        .filter(|(at, _)| created.is_none_or(|c| *at > c + Duration::seconds(5)))
        .max_by_key(|(at, _)| *at)?;
    Some(change(
        last.0,
        "modified",
        r,
        format!(
            "{} {what} by {}",
            r.kind,
            if last.1.is_empty() {
                "?".into()
            } else {
                last.1
            }
        ),
    ))
}

/// A ReplicaSet is a revision: when it was created, with what image.
fn rollout(rs: &ReplicaSet, out: &mut Vec<Change>) {
    let meta = &rs.metadata;
    let (Some(at), Some((kind, owner))) = (objects::created(meta), objects::controller(meta))
    else {
        return;
    };
    let r = ResourceRef::new(kind, meta.namespace.as_deref(), owner);
    let images = objects::images(objects::rs_spec(rs)).join(", ");
    let (replicas, ready) = objects::rs_counts(rs);
    out.push(change(
        at,
        "rollout",
        &r,
        format!(
            "revision {} ({}) created: {images}; now {ready} of {replicas} ready",
            objects::revision(meta),
            objects::name(meta)
        ),
    ));
}

/// A StatefulSet mid-rollout is a revision too: dated by its update revision's first pod.
fn statefulset_rollout(w: &World, s: &StatefulSet, r: &ResourceRef) -> Option<Change> {
    let ro = super::statefulsets::rollout(w, s)?;
    let ready = |pods: &[&k8s_openapi::api::core::v1::Pod]| {
        pods.iter().filter(|p| objects::pod_ready(p)).count()
    };
    let partition = if ro.partition > 0 {
        format!(", partition {}", ro.partition)
    } else {
        String::new()
    };
    Some(change(
        ro.started?,
        "rollout",
        r,
        format!(
            "revision {} rolling out over {}: {} of {} updated pods ready, {} of {} on revision {} ready ({} replicas{partition})",
            ro.update,
            ro.current,
            ready(&ro.new_pods),
            ro.new_pods.len(),
            ready(&ro.old_pods),
            ro.old_pods.len(),
            ro.current,
            ro.replicas
        ),
    ))
}

/// `kubectl rollout restart` stamps the pod template.
fn restarted_at(o: &KubeObject) -> Option<DateTime<Utc>> {
    let template_meta = match o {
        KubeObject::Deployment(d) => d.spec.as_ref()?.template.metadata.as_ref(),
        KubeObject::StatefulSet(s) => s.spec.as_ref()?.template.metadata.as_ref(),
        KubeObject::DaemonSet(s) => s.spec.as_ref()?.template.metadata.as_ref(),
        _ => None,
    }?;
    template_meta
        .annotations
        .as_ref()?
        .get("kubectl.kubernetes.io/restartedAt")
        .and_then(|s| parse_time(s))
}

pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// How close a change is to the start, 0–1: 1 within a few minutes before it, falling
/// to 0 a day before; changes after the start count a little.
pub fn proximity(at: DateTime<Utc>, start: DateTime<Utc>) -> f32 {
    let before = (start - at).num_minutes();
    if before < -10 {
        return 0.2;
    }
    if before <= 15 {
        return 1.0;
    }
    let hours = before as f32 / 60.0;
    (1.0 - hours / WINDOW_HOURS as f32).clamp(0.0, 1.0) * 0.8
}
