//! Lookups the resolution of clues shares: the workload behind a Service or a pod, a
//! pod's node, the target's claim, autoscaler, account, pull secret and limits, and the
//! ConfigMap or Secret key that feeds a setting.

use k8s_openapi::api::apps::v1::ReplicaSet;

use super::super::clues::Clue;
use super::super::objects;
use super::super::target::Target;
use super::super::world::World;
use crate::agent::tools::data::KubeObject;
use crate::kube::state::ResourceRef;

/// The workload a Service's selector picks, among the pods read.
pub fn workload_behind(w: &World, svc: &ResourceRef) -> Option<ResourceRef> {
    let KubeObject::Service(s) = w.get("Service", svc.namespace.as_deref(), &svc.name)? else {
        return None;
    };
    let sel = s.spec.as_ref()?.selector.as_ref()?;
    let pod = w
        .pods(svc.namespace.as_deref())
        .find(|p| crate::kube::selector::map_selects(sel, &objects::labels(&p.metadata)))?;
    owner_of(
        w,
        &ResourceRef::new(
            "Pod",
            pod.metadata.namespace.as_deref(),
            objects::name(&pod.metadata),
        ),
    )
}

/// The workload a pod belongs to (through its ReplicaSet or Job), when the pod was read.
pub fn owner_of(w: &World, pod: &ResourceRef) -> Option<ResourceRef> {
    if pod.kind != "Pod" {
        return None;
    }
    let KubeObject::Pod(p) = w.get("Pod", pod.namespace.as_deref(), &pod.name)? else {
        return None;
    };
    let (kind, name) = objects::controller(&p.metadata)?;
    let ns = pod.namespace.as_deref();
    let (kind, name) = match kind {
        "ReplicaSet" => match w
            .get("ReplicaSet", ns, name)
            .and_then(|o| o.meta())
            .and_then(objects::controller)
        {
            Some((k, n)) => (k.to_string(), n.to_string()),
            // Without the ReplicaSet, its name less the hash is the Deployment's.
            None => (
                "Deployment".to_string(),
                name.rsplit_once('-').map_or(name, |(d, _)| d).to_string(),
            ),
        },
        "Job" => match w
            .get("Job", ns, name)
            .and_then(|o| o.meta())
            .and_then(objects::controller)
        {
            Some((k, n)) => (k.to_string(), n.to_string()),
            None => ("Job".to_string(), name.to_string()),
        },
        k => (k.to_string(), name.to_string()),
    };
    Some(ResourceRef::new(&kind, ns, &name))
}

pub(super) fn node_of(w: &World, source: &ResourceRef) -> Option<ResourceRef> {
    if source.kind == "Node" {
        return Some(source.clone());
    }
    let KubeObject::Pod(p) = w.get("Pod", source.namespace.as_deref(), &source.name)? else {
        return None;
    };
    let node = p.spec.as_ref()?.node_name.as_deref()?;
    Some(ResourceRef::new("Node", None, node))
}

pub(super) fn pressure_of(resource: &str) -> String {
    match resource {
        "memory" => "MemoryPressure",
        "pid" | "pids" => "PIDPressure",
        _ => "DiskPressure",
    }
    .to_string()
}

/// The container an eviction message says used the most.
pub(super) fn heaviest_container(text: &str) -> Option<String> {
    let at = text.find("Container ")?;
    let rest = &text[at + "Container ".len()..];
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    (!name.is_empty() && rest[name.len()..].trim_start().starts_with("was using")).then_some(name)
}

pub(super) fn nodes_with_taint(w: &World, taint: &str) -> Vec<ResourceRef> {
    let key = taint.split([':', '=']).next().unwrap_or(taint).trim();
    w.of_kind("Node", None)
        .filter(|o| match o {
            KubeObject::Node(n) => n
                .spec
                .iter()
                .flat_map(|s| s.taints.iter().flatten())
                .any(|t| t.key == key),
            _ => false,
        })
        .map(KubeObject::reference)
        .collect()
}

pub(super) fn target_spec<'w>(
    w: &'w World,
    t: &Target,
) -> Option<&'w k8s_openapi::api::core::v1::PodSpec> {
    w.get(&t.kind, t.namespace.as_deref(), &t.name)
        .and_then(objects::template)
}

pub(super) fn pull_secret(w: &World, t: &Target) -> Option<ResourceRef> {
    let spec = target_spec(w, t)?;
    let name = spec
        .image_pull_secrets
        .iter()
        .flatten()
        .next()?
        .name
        .clone();
    Some(ResourceRef::new("Secret", t.namespace.as_deref(), &name))
}

/// `memory limit 512Mi (request 256Mi) of container api`.
pub(super) fn limits(
    w: &World,
    owner: &ResourceRef,
    resource: &str,
    container: Option<&str>,
) -> Option<String> {
    let spec = w
        .get(&owner.kind, owner.namespace.as_deref(), &owner.name)
        .and_then(objects::template)?;
    // The container the message names (a sidecar, not the main one), else the first.
    let named: Vec<&k8s_openapi::api::core::v1::Container> = spec
        .containers
        .iter()
        .filter(|c| container.is_none_or(|n| c.name == n))
        .collect();
    let list = if named.is_empty() {
        spec.containers.iter().collect()
    } else {
        named
    };
    list.into_iter().find_map(|c| {
        let r = c.resources.as_ref()?;
        let limit = r
            .limits
            .as_ref()
            .and_then(|l| l.get(resource))
            .map(|q| q.0.clone());
        let request = r
            .requests
            .as_ref()
            .and_then(|l| l.get(resource))
            .map(|q| q.0.clone());
        let limit = limit.or_else(|| admitted_default(w, owner, resource, &c.name));
        (limit.is_some() || request.is_some()).then(|| {
            let tmpfs = if resource == "memory" {
                memory_backed_mounts(spec, c)
            } else {
                String::new()
            };
            format!(
                "{resource} limit {} (request {}) of container {}{tmpfs}",
                limit.unwrap_or_else(|| "none".into()),
                request.unwrap_or_else(|| "none".into()),
                c.name
            )
        })
    })
}

/// A limit the workload's template does not set but its pods have: admission gave it,
/// a LimitRange's default (the pod says so in `kubernetes.io/limit-ranger`), so it
/// applies to every pod created since the LimitRange, whatever the workload says.
fn admitted_default(
    w: &World,
    owner: &ResourceRef,
    resource: &str,
    container: &str,
) -> Option<String> {
    let set = format!("{resource} limit for container {container}");
    w.pods_of(&owner.name, owner.namespace.as_deref()).find_map(|p| {
        let note = p.metadata.annotations.as_ref()?.get("kubernetes.io/limit-ranger")?;
        if !note.contains(&set) {
            return None;
        }
        let c = p.spec.as_ref()?.containers.iter().find(|c| c.name == container)?;
        let q = c.resources.as_ref()?.limits.as_ref()?.get(resource)?;
        Some(format!(
            "{}, a default the namespace's LimitRange set when the pod was admitted (kubernetes.io/limit-ranger: the workload itself sets none)",
            q.0
        ))
    })
}

/// The container's mounts of memory-backed emptyDir volumes (tmpfs), in words: files
/// written there are charged to the container's memory, so they count against its
/// memory limit like the heap does.
fn memory_backed_mounts(
    spec: &k8s_openapi::api::core::v1::PodSpec,
    c: &k8s_openapi::api::core::v1::Container,
) -> String {
    let tmpfs: Vec<&str> = spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| {
            v.empty_dir
                .as_ref()
                .is_some_and(|e| e.medium.as_deref() == Some("Memory"))
        })
        .map(|v| v.name.as_str())
        .collect();
    let mounts: Vec<String> = c
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| tmpfs.contains(&m.name.as_str()))
        .map(|m| format!("emptyDir {} at {}", m.name, m.mount_path))
        .collect();
    if mounts.is_empty() {
        return String::new();
    }
    format!(
        ", which also holds the files written to its memory-backed (tmpfs, medium: Memory) {}",
        mounts.join(" and ")
    )
}

/// The cloud role a ServiceAccount's annotation names (EKS, GKE, Azure).
pub(super) fn role_of(w: &World, sa: &ResourceRef) -> Option<String> {
    let meta = w
        .get("ServiceAccount", sa.namespace.as_deref(), &sa.name)?
        .meta()?;
    let ann = meta.annotations.as_ref()?;
    [
        "eks.amazonaws.com/role-arn",
        "iam.gke.io/gcp-service-account",
        "azure.workload.identity/client-id",
    ]
    .iter()
    .find_map(|k| ann.get(*k).cloned())
}

/// The claim the target's pods mount (StatefulSet claims included).
pub(super) fn claim_of(w: &World, t: &Target) -> Option<ResourceRef> {
    let ns = t.namespace.as_deref();
    let pod_specs = w.pods_of(&t.name, ns).filter_map(|p| p.spec.as_ref());
    target_spec(w, t)
        .into_iter()
        .chain(pod_specs)
        .flat_map(objects::spec_refs)
        .find(|r| r.kind == "PersistentVolumeClaim")
        .map(|r| ResourceRef::new(r.kind, ns, &r.name))
}

pub(super) fn hpa_of(w: &World, t: &Target) -> Option<ResourceRef> {
    w.of_kind("HorizontalPodAutoscaler", t.namespace.as_deref())
        .find(|o| matches!(o, KubeObject::HorizontalPodAutoscaler(h) if h.spec.as_ref().is_some_and(|s| s.scale_target_ref.name == t.name)))
        .map(KubeObject::reference)
}

pub(super) fn service_account(w: &World, t: &Target, owner: &ResourceRef) -> ResourceRef {
    let name = w
        .get(&owner.kind, owner.namespace.as_deref(), &owner.name)
        .and_then(objects::template)
        .or_else(|| target_spec(w, t))
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".into());
    ResourceRef::new("ServiceAccount", owner.namespace.as_deref(), &name)
}

/// Which ConfigMap or Secret key feeds a setting: an env variable's `valueFrom`, an
/// `envFrom` source holding the key, or (with only a value) a key holding that value.
pub(super) fn setting_source(
    w: &World,
    owner: &ResourceRef,
    key: &str,
    value: Option<&str>,
) -> Option<(ResourceRef, String)> {
    let ns = owner.namespace.as_deref();
    let spec = w
        .get(&owner.kind, ns, &owner.name)
        .and_then(objects::template)?;
    for c in objects::all_containers(spec) {
        for env in c
            .env
            .iter()
            .flatten()
            .filter(|e| !key.is_empty() && e.name == key)
        {
            let from = env.value_from.as_ref()?;
            if let Some(r) = &from.config_map_key_ref {
                return Some((ResourceRef::new("ConfigMap", ns, &r.name), r.key.clone()));
            }
            if let Some(r) = &from.secret_key_ref {
                return Some((ResourceRef::new("Secret", ns, &r.name), r.key.clone()));
            }
        }
    }
    for r in objects::spec_refs(spec) {
        let Some(KubeObject::ConfigMap(cm)) = w.get(r.kind, ns, &r.name) else {
            continue;
        };
        for (k, v) in cm.data.iter().flatten() {
            let key_match =
                !key.is_empty() && k == key && r.key.as_deref().is_none_or(|rk| rk == key);
            let value_match = value.is_some_and(|val| !val.is_empty() && v == val);
            if key_match || value_match {
                return Some((ResourceRef::new("ConfigMap", ns, &r.name), k.clone()));
            }
        }
    }
    None
}

/// The ConfigMap key of the workload whose value names `host`.
pub(super) fn config_naming(w: &World, owner: &ResourceRef, host: &str) -> Option<ResourceRef> {
    let ns = owner.namespace.as_deref();
    let spec = w
        .get(&owner.kind, ns, &owner.name)
        .and_then(objects::template)?;
    objects::spec_refs(spec)
        .into_iter()
        .find_map(|r| match w.get(r.kind, ns, &r.name) {
            Some(KubeObject::ConfigMap(cm))
                if cm.data.iter().flatten().any(|(_, v)| v.contains(host)) =>
            {
                Some(ResourceRef::new("ConfigMap", ns, &r.name))
            }
            _ => None,
        })
}

/// The reason word a check looks for again (`CrashLoopBackOff`, `ImagePullBackOff`).
pub(super) fn short_reason(clue: &Clue) -> String {
    clue.text
        .split_whitespace()
        .next()
        .filter(|w| {
            w.chars().next().is_some_and(char::is_uppercase) && w.chars().all(char::is_alphanumeric)
        })
        .unwrap_or_default()
        .to_string()
}

/// The CA bundle a workload's pods trust: a ConfigMap or Secret its pod template mounts
/// or reads whose keys hold CA certificates (`ca.crt`, `ca-bundle.pem`, `*.pem`) or whose
/// name says it is one (`…-ca`, `trust…`, `…bundle`). A Secret of type
/// `kubernetes.io/tls` is what the pods serve with, not what they trust; the cluster's
/// own `kube-root-ca.crt` verifies only the API server.
pub(super) fn trust_bundle(w: &World, workload: &ResourceRef) -> Option<ResourceRef> {
    let ns = workload.namespace.as_deref();
    let spec = w
        .get(&workload.kind, ns, &workload.name)
        .and_then(objects::template)?;
    let ca_key = |k: &str| {
        let k = k.to_lowercase();
        k.starts_with("ca") || k.contains("bundle") || k.ends_with(".pem") || k.contains("trust")
    };
    let ca_name = |n: &str| {
        let n = n.to_lowercase();
        n.split(['-', '.', '_']).any(|p| {
            matches!(
                p,
                "ca" | "cacert" | "cacerts" | "trust" | "bundle" | "truststore"
            )
        })
    };
    objects::spec_refs(spec)
        .into_iter()
        .filter(|r| matches!(r.kind, "ConfigMap" | "Secret") && r.name != "kube-root-ca.crt")
        .find(|r| match w.get(r.kind, ns, &r.name) {
            Some(KubeObject::ConfigMap(cm)) => {
                ca_name(&r.name) || cm.data.iter().flatten().any(|(k, _)| ca_key(k))
            }
            Some(KubeObject::Secret(s)) => {
                s.type_.as_deref() != Some("kubernetes.io/tls")
                    && (ca_name(&r.name) || s.data.iter().flatten().any(|(k, _)| ca_key(k)))
            }
            _ => ca_name(&r.name),
        })
        .map(|r| ResourceRef::new(r.kind, ns, &r.name))
}

/// The ReplicaSets a Deployment owns, newest revision first.
pub(super) fn replica_sets<'w>(
    w: &'w World,
    ns: Option<&'w str>,
    deployment: &str,
) -> Vec<&'w ReplicaSet> {
    let mut sets: Vec<&ReplicaSet> = w
        .of_kind("ReplicaSet", ns)
        .filter_map(|o| match o {
            KubeObject::ReplicaSet(r) if objects::owned_by(&r.metadata, deployment) => {
                Some(r.as_ref())
            }
            _ => None,
        })
        .collect();
    sets.sort_by_key(|r| std::cmp::Reverse(objects::revision(&r.metadata)));
    sets
}

#[cfg(test)]
mod limit_tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_limit_the_template_lacks_is_read_from_the_pods_limit_ranger_note() {
        let mut w = World::new(chrono::Utc::now(), Some("media".into()));
        w.absorb_objects(
            "Deployment",
            vec![json!({"metadata": {"name": "ingest", "namespace": "media"},
                "spec": {"selector": {"matchLabels": {"app": "ingest"}}, "template": {"metadata": {"labels": {"app": "ingest"}},
                    "spec": {"containers": [{"name": "ingest", "resources": {"requests": {"memory": "384Mi"}}}]}}}})],
        );
        w.absorb_objects(
            "Pod",
            vec![json!({"metadata": {"name": "ingest-7d9f8b6c5-x2k4p", "namespace": "media", "labels": {"app": "ingest"},
                    "annotations": {"kubernetes.io/limit-ranger": "LimitRanger plugin set: memory limit for container ingest"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "ingest-7d9f8b6c5", "uid": "u", "controller": true}]},
                "spec": {"containers": [{"name": "ingest", "resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "384Mi"}}}]}})],
        );
        let d = ResourceRef::new("Deployment", Some("media"), "ingest");
        let said = limits(&w, &d, "memory", None).unwrap();
        assert!(
            said.starts_with("memory limit 512Mi, a default the namespace's LimitRange"),
            "{said}"
        );
        assert!(
            said.contains("(request 384Mi) of container ingest"),
            "{said}"
        );
    }
}
