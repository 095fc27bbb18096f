//! StatefulSet revisions: a StatefulSet updates its pods one ordinal at a time (highest
//! first, down to its partition), so during a rollout its status names two revisions
//! (`currentRevision`, `updateRevision`) and each pod carries its own in the
//! `controller-revision-hash` label. Pods of the update revision failing while those of
//! the current one serve is a bad rollout, as a new ReplicaSet failing is for a
//! Deployment; the two revisions' templates are compared through their pods' specs. A
//! partitioned canary whose updated pods serve is no cause.

use k8s_openapi::api::core::v1::{Pod, PodSpec};

use super::super::clues::Cause;
use super::super::objects;
use super::super::statefulsets::rollout;
use super::candidate::{Candidate, Facts, symptoms_of, troubled};
use super::resolve::target_ref;
use super::structure::template_diff;
use crate::agent::tools::data::KubeObject;
use crate::memory::Check;
use crate::protocol::EvidenceKind;

/// A pod's spec less what differs between any two pods of one StatefulSet: its own
/// claims and the projected service-account token.
fn template_part(p: &Pod) -> Option<PodSpec> {
    let mut spec = p.spec.clone()?;
    let own = |name: &str| name.starts_with("kube-api-access-");
    if let Some(v) = spec.volumes.as_mut() {
        v.retain(|v| v.persistent_volume_claim.is_none() && !own(&v.name));
    }
    for c in &mut spec.containers {
        if let Some(m) = c.volume_mounts.as_mut() {
            m.retain(|m| !own(&m.name));
        }
    }
    Some(spec)
}

/// The update revision's pods fail while the current revision's serve.
pub(super) fn statefulset_rollout(e: &Facts<'_>) -> Option<Candidate> {
    let t = e.target;
    if t.kind != "StatefulSet" {
        return None;
    }
    let ns = t.namespace.as_deref();
    let KubeObject::StatefulSet(s) = e.world.get("StatefulSet", ns, &t.name)? else {
        return None;
    };
    let r = rollout(e.world, s.as_ref())?;
    let failing: Vec<&Pod> = r.new_pods.iter().copied().filter(|p| troubled(p)).collect();
    if failing.is_empty() {
        return None;
    }
    let diff = match (r.old_pods.first(), r.new_pods.first()) {
        (Some(o), Some(n)) => template_diff(template_part(o).as_ref(), template_part(n).as_ref()),
        _ => Vec::new(),
    };
    let names = |pods: &[&Pod]| {
        pods.iter()
            .map(|p| objects::name(&p.metadata))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let partition = if r.partition > 0 {
        format!(" (partition {}: ordinals below it stay)", r.partition)
    } else {
        String::new()
    };
    let detail = format!(
        "update revision {} fails to start ({}) while revision {} serves ({}); the rolling update stops there{partition}; {}",
        r.update,
        names(&failing),
        r.current,
        if r.old_pods.is_empty() {
            "no pods".to_string()
        } else {
            names(&r.old_pods)
        },
        if diff.is_empty() {
            "same template".to_string()
        } else {
            diff.join("; ")
        }
    );
    let mut c = Candidate::new(
        Cause::BadRollout,
        target_ref(t),
        detail,
        if diff.is_empty() { 0.2 } else { 0.65 },
    )
    .because(
        EvidenceKind::Resource,
        format!("StatefulSet/{}", t.name),
        format!(
            "revision {}: {} of {} updated pods failing",
            r.update,
            failing.len(),
            r.new_pods.len()
        ),
    )
    .explaining(symptoms_of(e, &failing))
    .checked_by(Check::PodsShow {
        reason: String::new(),
    });
    let old_failing = r.old_pods.iter().filter(|p| troubled(p)).count();
    if diff.is_empty() {
        c.ruled_out = Some(format!(
            "not the rollout itself: revision {} runs the same template as revision {}, so what changed is outside the StatefulSet",
            r.update, r.current
        ));
    } else if old_failing > 0 && old_failing == r.old_pods.len() {
        c.ruled_out = Some(format!(
            "not the rollout: the current revision {} fails the same way ({old_failing} of {} pods)",
            r.current,
            r.old_pods.len()
        ));
    } else if !r.old_pods.is_empty() {
        c = c.because(
            EvidenceKind::Resource,
            format!("StatefulSet/{}", t.name),
            format!(
                "revision {}: {} of {} pods serving",
                r.current,
                r.old_pods.len() - old_failing,
                r.old_pods.len()
            ),
        );
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::case::statefulsets::REVISION_LABEL;
    use crate::agent::case::world::World;

    fn pod(name: &str, rev: &str, args: &str, ready: bool) -> serde_json::Value {
        let state = if ready {
            json!({"running": {"startedAt": "2025-09-16T08:00:00Z"}})
        } else {
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}})
        };
        json!({"metadata": {"name": name, "namespace": "payments",
                "labels": {"app": "nats", REVISION_LABEL: rev},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "nats", "uid": "u", "controller": true}]},
            "spec": {"containers": [{"name": "nats", "image": "nats:2", "args": [args],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": format!("data-{name}")}}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
                "containerStatuses": [{"name": "nats", "ready": ready, "restartCount": if ready { 0 } else { 9 }, "image": "nats:2", "imageID": "", "state": state}]}})
    }

    #[test]
    fn pods_of_the_update_revision_failing_are_a_bad_rollout_of_the_statefulset() {
        let mut w = World::new(chrono::Utc::now(), Some("payments".into()));
        w.absorb_objects(
            "StatefulSet",
            vec![json!({"metadata": {"name": "nats", "namespace": "payments"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nats"}}, "serviceName": "nats",
                    "template": {"metadata": {"labels": {"app": "nats"}}, "spec": {"containers": [{"name": "nats"}]}}},
                "status": {"replicas": 3, "currentRevision": "nats-old", "updateRevision": "nats-new"}})],
        );
        w.absorb_objects(
            "Pod",
            vec![
                pod("nats-0", "nats-old", "--a", true),
                pod("nats-1", "nats-old", "--a", true),
                pod("nats-2", "nats-new", "--b", false),
            ],
        );
        let KubeObject::StatefulSet(s) = w.get("StatefulSet", Some("payments"), "nats").unwrap()
        else {
            panic!()
        };
        let r = rollout(&w, s.as_ref()).unwrap();
        assert_eq!((r.old_pods.len(), r.new_pods.len()), (2, 1));
        let (o, n) = (template_part(r.old_pods[0]), template_part(r.new_pods[0]));
        // Their own claims differ; only the arguments count.
        assert_eq!(
            template_diff(o.as_ref(), n.as_ref()),
            ["command or arguments changed"]
        );
    }
}
