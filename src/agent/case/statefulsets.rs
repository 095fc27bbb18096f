//! A StatefulSet mid-rollout, read from its status and its pods: its two revisions
//! (`currentRevision`, `updateRevision`), the pods on each (their
//! `controller-revision-hash` label), its partition, and when the update revision's
//! first pod was created. The hypotheses and the timeline both read it.

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;

use super::objects;
use super::world::World;

/// The label a StatefulSet's pods carry their revision in.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// A StatefulSet in the middle of a rollout: its two revisions, its pods on each, and
/// when the update revision's first pod was created.
pub struct Rollout<'w> {
    pub current: String,
    pub update: String,
    pub partition: i32,
    pub replicas: i32,
    pub old_pods: Vec<&'w Pod>,
    pub new_pods: Vec<&'w Pod>,
    pub started: Option<DateTime<Utc>>,
}

/// The rollout a StatefulSet's status shows (its two revisions differ), with its pods.
pub fn rollout<'w>(w: &'w World, s: &'w StatefulSet) -> Option<Rollout<'w>> {
    let st = s.status.as_ref()?;
    let (current, update) = (st.current_revision.clone()?, st.update_revision.clone()?);
    if current == update {
        return None;
    }
    let name = s.metadata.name.as_deref()?;
    let ns = s.metadata.namespace.as_deref();
    let on = |rev: &str| -> Vec<&'w Pod> {
        let rev = rev.to_string();
        w.pods_of(name, ns)
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(REVISION_LABEL))
                    .is_some_and(|h| *h == rev)
            })
            .collect()
    };
    let new_pods = on(&update);
    let started = new_pods
        .iter()
        .filter_map(|p| objects::created(&p.metadata))
        .min();
    let spec = s.spec.as_ref();
    Some(Rollout {
        old_pods: on(&current),
        new_pods,
        current,
        update,
        partition: spec
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.rolling_update.as_ref())
            .and_then(|r| r.partition)
            .unwrap_or(0),
        replicas: spec.and_then(|s| s.replicas).unwrap_or(1),
        started,
    })
}
