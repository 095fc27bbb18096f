//! Autoscalers whose scale target does not exist: an HPA left pointing at a workload's
//! old name (a chart renamed the Deployment, the autoscaler is kept elsewhere) cannot
//! read the target's scale (`FailedGetScale`, `ScalingActive=False`), so the workload
//! runs at its own replica count without autoscaling. Such an HPA no longer names the
//! alert's workload by its target; it is tied to it by its own name or labels.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use super::objects;
use super::target::Target;
use super::world::World;

/// Labels that name an application (an HPA's own labels tie it to the workload they name).
const APP_LABELS: &[&str] = &[
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app",
];

/// Whether `h` is about the target: it scales the target by name, or its target is
/// missing and its name or app labels tie it to the target.
pub fn tied(w: &World, t: &Target, h: &HorizontalPodAutoscaler) -> bool {
    let Some(spec) = h.spec.as_ref() else {
        return false;
    };
    let same_ns = h.metadata.namespace.as_deref() == t.namespace.as_deref();
    spec.scale_target_ref.name == t.name
        || (same_ns && missing_target(w, h).is_some() && named_for(w, t, h))
}

/// The condition that says the HPA cannot get its target's scale, when the target is
/// also absent from what was read.
pub fn missing_target<'h>(w: &World, h: &'h HorizontalPodAutoscaler) -> Option<(String, &'h str)> {
    let spec = h.spec.as_ref()?;
    let r = &spec.scale_target_ref;
    if w.get(&r.kind, h.metadata.namespace.as_deref(), &r.name)
        .is_some()
    {
        return None;
    }
    let c = h
        .status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .find(|c| {
            c.status == "False"
                && (c.reason.as_deref() == Some("FailedGetScale")
                    || c.message
                        .as_deref()
                        .is_some_and(|m| m.contains("not found")))
        })?;
    let why = format!(
        "{}=False ({})",
        c.type_,
        c.reason.as_deref().unwrap_or_default()
    );
    Some((why, c.message.as_deref().unwrap_or_default()))
}

/// Whether an HPA's name or app labels name the target (`thumbnailer` for
/// `thumbnailer-worker`, or the same `app.kubernetes.io/name`).
pub fn named_for(w: &World, t: &Target, h: &HorizontalPodAutoscaler) -> bool {
    let name = objects::name(&h.metadata);
    let target = &h
        .spec
        .as_ref()
        .map(|s| s.scale_target_ref.name.as_str())
        .unwrap_or_default();
    let prefix = |a: &str, b: &str| a == b || a.starts_with(&format!("{b}-"));
    if prefix(&t.name, name) || prefix(&t.name, target) || prefix(name, &t.name) {
        return true;
    }
    let ours = w
        .get(&t.kind, t.namespace.as_deref(), &t.name)
        .and_then(objects::template_labels)
        .unwrap_or_default();
    let theirs = objects::labels(&h.metadata);
    APP_LABELS
        .iter()
        .any(|k| theirs.get(*k).is_some_and(|v| ours.get(*k) == Some(v)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::tools::data::KubeObject;

    #[test]
    fn an_autoscaler_whose_target_is_gone_is_tied_by_its_name_or_labels() {
        let mut w = World::new(chrono::Utc::now(), Some("media".into()));
        let hpa = |name: &str, target: &str, labels: serde_json::Value| {
            json!({"metadata": {"name": name, "namespace": "media", "labels": labels},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}, "maxReplicas": 12},
                "status": {"currentReplicas": 2, "conditions": [{"type": "AbleToScale", "status": "False",
                    "reason": "FailedGetScale",
                    "message": format!("deployments/scale.apps \"{target}\" not found")}]}})
        };
        w.absorb_objects(
            "Deployment",
            vec![json!({"metadata": {"name": "render-worker", "namespace": "media"},
                "spec": {"selector": {}, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "render"}}}}})],
        );
        w.absorb_objects(
            "HorizontalPodAutoscaler",
            vec![
                hpa("render", "render", json!({})),
                hpa(
                    "frames",
                    "frames-v1",
                    json!({"app.kubernetes.io/name": "render"}),
                ),
                hpa("encoder", "encoder", json!({})),
                hpa("live", "render-worker", json!({})),
            ],
        );
        let t = Target {
            kind: "Deployment".into(),
            namespace: Some("media".into()),
            name: "render-worker".into(),
            ..Target::default()
        };
        let tied_names: Vec<&str> = w
            .of_kind("HorizontalPodAutoscaler", Some("media"))
            .filter(|o| matches!(o, KubeObject::HorizontalPodAutoscaler(h) if tied(&w, &t, h)))
            .map(KubeObject::name)
            .collect();
        // By name (`render` for `render-worker`), by label, and by its live target; not
        // an unrelated orphan.
        assert_eq!(tied_names.len(), 3, "{tied_names:?}");
        assert!(!tied_names.contains(&"encoder"));
    }
}
