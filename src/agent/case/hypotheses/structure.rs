//! Candidates that come from how objects relate rather than from one message: a new
//! revision that fails where the old one serves, references to objects that do not
//! exist; and the gathering of every structural candidate (routing, policies, platform,
//! batch and baseline live beside this file).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::super::clues::Cause;
use super::super::objects;
use super::candidate::{Candidate, Facts, symptoms_of, troubled};
use super::lookup::replica_sets;
use super::resolve::target_ref;
use super::{
    autoscalers, batch, callers, certs, flood, limits, paths, platform, policy, preempt, routing,
    words,
};
use crate::kube::state::ResourceRef;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

pub fn candidates(e: &Facts<'_>) -> Vec<Candidate> {
    let mut out = Vec::new();
    out.extend(rollout(e));
    out.extend(missing_refs(e));
    out.extend(words::mounted_files(e));
    out.extend(words::refusals(e));
    out.extend(routing::services(e));
    out.extend(routing::ingresses(e));
    out.extend(routing::ingress_tls(e));
    out.extend(super::gateway::routes(e));
    out.extend(limits::edge_limits(e));
    out.extend(limits::schedule(e));
    out.extend(limits::node_group(e));
    out.extend(platform::certificates(e));
    out.extend(certs::certificates(e));
    out.extend(platform::neighbours(e));
    out.extend(platform::pressure_neighbours(e));
    out.extend(platform::cpu_throttling(e));
    out.extend(policy::network_policies(e));
    out.extend(platform::autoscaler(e));
    out.extend(autoscalers::orphaned(e));
    out.extend(autoscalers::ambiguous(e));
    out.extend(paths::ingress_paths(e));
    out.extend(platform::nodes(e));
    out.extend(preempt::preemption(e));
    out.extend(batch::batch(e));
    out.extend(batch::rerun_completed(e));
    out.extend(batch::scheduled_load(e));
    out.extend(callers::outside_load(e));
    out.extend(flood::callers(e));
    out.extend(batch::recent_changes(e));
    out.extend(batch::nothing_wrong(e));
    out
}

/// A new revision failing where the previous one serves, unless the new revision is
/// the same template (a restart) or the previous one fails the same way.
fn rollout(e: &Facts<'_>) -> Option<Candidate> {
    let t = e.target;
    if t.kind != "Deployment" {
        return None;
    }
    let ns = t.namespace.as_deref();
    let sets = replica_sets(e.world, ns, &t.name);
    let (new, old) = (*sets.first()?, *sets.get(1)?);
    let created = objects::created(&new.metadata)?;
    if created < e.start - chrono::Duration::hours(24) {
        return None;
    }
    let pods_of = |rs: &ReplicaSet| -> Vec<&Pod> {
        let rs_name = objects::name(&rs.metadata);
        e.world
            .pods(ns)
            .filter(|p| match objects::controller(&p.metadata) {
                Some((_, owner)) => owner == rs_name,
                None => objects::named_for(objects::name(&p.metadata), rs_name),
            })
            .collect()
    };
    let new_pods = pods_of(new);
    let old_pods = pods_of(old);
    let new_failing: Vec<&Pod> = new_pods.iter().copied().filter(|p| troubled(p)).collect();
    if new_failing.is_empty() {
        return None;
    }
    let (nrev, orev) = (
        objects::revision(&new.metadata),
        objects::revision(&old.metadata),
    );
    let diff = template_diff(objects::rs_spec(old), objects::rs_spec(new));
    let workload = target_ref(t);
    let mut c = Candidate::new(
        Cause::BadRollout,
        workload,
        format!(
            "revision {nrev} fails to start while revision {orev} ran; {}",
            if diff.is_empty() {
                "same template".to_string()
            } else {
                diff.join("; ")
            }
        ),
        if diff.is_empty() { 0.2 } else { 0.65 },
    )
    .because(
        EvidenceKind::Resource,
        format!("ReplicaSet/{}", objects::name(&new.metadata)),
        format!(
            "revision {nrev}: {} of {} pods failing",
            new_failing.len(),
            new_pods.len()
        ),
    )
    .explaining(symptoms_of(e, &new_failing))
    .checked_by(Check::NewReplicaSetFailing);
    let old_failing = old_pods.iter().filter(|p| troubled(p)).count();
    if diff.is_empty() {
        c.ruled_out = Some(format!(
            "not the rollout itself: revision {nrev} runs the same template as revision {orev} (a restart), so what changed is outside the Deployment"
        ));
    } else if old_failing > 0 && old_failing == old_pods.len() {
        c.ruled_out = Some(format!(
            "not the rollout: the previous revision {orev} fails the same way ({old_failing} of {} pods)",
            old_pods.len()
        ));
    } else {
        c = c.because(
            EvidenceKind::Resource,
            format!("ReplicaSet/{}", objects::name(&old.metadata)),
            format!(
                "revision {orev}: {} of {} pods serving",
                old_pods.len() - old_failing,
                old_pods.len()
            ),
        );
    }
    Some(c)
}

/// What differs between two pod templates, in words.
pub fn template_diff(old: Option<&PodSpec>, new: Option<&PodSpec>) -> Vec<String> {
    let (Some(old), Some(new)) = (old, new) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in &new.containers {
        let Some(o) = old.containers.iter().find(|o| o.name == c.name) else {
            out.push(format!("container {} added", c.name));
            continue;
        };
        if o.image != c.image {
            out.push(format!(
                "image {} → {}",
                o.image.as_deref().unwrap_or("?"),
                c.image.as_deref().unwrap_or("?")
            ));
        }
        let env = |c: &k8s_openapi::api::core::v1::Container| -> BTreeMap<String, String> {
            c.env
                .iter()
                .flatten()
                .map(|e| {
                    (
                        e.name.clone(),
                        e.value
                            .clone()
                            .unwrap_or_else(|| "(from a reference)".into()),
                    )
                })
                .collect()
        };
        let (eo, en) = (env(o), env(c));
        for (k, v) in &en {
            match eo.get(k) {
                None => out.push(format!("env {k} added")),
                Some(ov) if ov != v => out.push(format!("env {k}: {ov:?} → {v:?}")),
                _ => {}
            }
        }
        for k in eo.keys().filter(|k| !en.contains_key(*k)) {
            out.push(format!("env {k} removed"));
        }
        if o.command != c.command || o.args != c.args {
            out.push("command or arguments changed".into());
        }
        if o.readiness_probe != c.readiness_probe
            || o.liveness_probe != c.liveness_probe
            || o.startup_probe != c.startup_probe
        {
            out.push("probes changed".into());
        }
        if o.resources != c.resources {
            out.push("resources changed".into());
        }
        if o.ports != c.ports {
            out.push("ports changed".into());
        }
        if o.env_from != c.env_from || o.volume_mounts != c.volume_mounts {
            out.push("configuration sources changed".into());
        }
    }
    if old.node_selector != new.node_selector
        || old.affinity != new.affinity
        || old.tolerations != new.tolerations
    {
        out.push("scheduling constraints changed".into());
    }
    if old.volumes != new.volumes {
        out.push("volumes changed".into());
    }
    if old.service_account_name != new.service_account_name {
        out.push("service account changed".into());
    }
    out
}

/// References the target's pods need that came back "not found".
fn missing_refs(e: &Facts<'_>) -> Vec<Candidate> {
    let t = e.target;
    let ns = t.namespace.as_deref();
    let Some(spec) = e
        .world
        .get(&t.kind, ns, &t.name)
        .and_then(objects::template)
    else {
        return Vec::new();
    };
    // A missing reference stops pods from starting; pods that run and are ready show
    // it existed when they started, so alone it does not explain the alert.
    let not_started: Vec<&Pod> = e
        .world
        .pods_of(&t.name, ns)
        .filter(|p| !objects::pod_ready(p) && troubled(p))
        .collect();
    let explained = symptoms_of(e, &not_started);
    let specificity = if not_started.is_empty() { 0.25 } else { 0.8 };
    objects::spec_refs(spec)
        .into_iter()
        .filter(|r| !r.optional && e.world.is_missing(r.kind, ns, &r.name))
        .map(|r| {
            let culprit = ResourceRef::new(r.kind, ns, &r.name);
            Candidate::new(
                Cause::MissingConfig,
                culprit.clone(),
                format!("does not exist ({} of {} refers to it)", r.via, t.name),
                specificity,
            )
            .explaining(explained.iter().copied())
            .because(EvidenceKind::Resource, culprit.to_string(), "not found")
            .explaining([0])
            .checked_by(Check::Missing {
                resource: culprit.to_string(),
            })
            .via(target_ref(t))
        })
        .collect()
}
