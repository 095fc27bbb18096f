//! Typed accessors over the Kubernetes objects the planner reads: revisions, owners,
//! container states, times. Pure functions, shared by the walk, the timeline and the
//! checks.

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::agent::tools::data::KubeObject;
use crate::kube::state::opt_time;

/// `deployment.kubernetes.io/revision` of a ReplicaSet (0 when absent).
pub fn revision(meta: &ObjectMeta) -> i64 {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// Whether `meta` names `owner` (by name) among its owner references.
pub fn owned_by(meta: &ObjectMeta, owner: &str) -> bool {
    meta.owner_references
        .iter()
        .flatten()
        .any(|o| o.name == owner)
}

/// The controller that owns an object: (kind, name).
pub fn controller(meta: &ObjectMeta) -> Option<(&str, &str)> {
    let refs = meta.owner_references.as_ref()?;
    let o = refs
        .iter()
        .find(|o| o.controller == Some(true))
        .or_else(|| refs.first())?;
    Some((o.kind.as_str(), o.name.as_str()))
}

pub fn created(meta: &ObjectMeta) -> Option<DateTime<Utc>> {
    opt_time(meta.creation_timestamp.as_ref())
}

pub fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or_default()
}

/// The images of a pod spec's containers.
pub fn images(spec: Option<&PodSpec>) -> Vec<String> {
    crate::kube::graph::template_images(spec)
}

/// The pod template of a ReplicaSet.
pub fn rs_spec(rs: &ReplicaSet) -> Option<&PodSpec> {
    rs.spec.as_ref()?.template.as_ref()?.spec.as_ref()
}

/// (replicas, ready) of a ReplicaSet.
pub fn rs_counts(rs: &ReplicaSet) -> (i32, i32) {
    let st = rs.status.as_ref();
    (
        st.map_or(0, |s| s.replicas),
        st.and_then(|s| s.ready_replicas).unwrap_or(0),
    )
}

/// (kind, ready, desired, a revision being rolled out in words) of a Deployment or
/// StatefulSet.
pub fn replica_counts(o: &KubeObject) -> Option<(&'static str, i32, i32, String)> {
    match o {
        KubeObject::Deployment(d) => Some((
            "Deployment",
            d.status
                .as_ref()
                .and_then(|s| s.ready_replicas)
                .unwrap_or(0),
            d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
            String::new(),
        )),
        KubeObject::StatefulSet(s) => {
            let st = s.status.as_ref();
            let rolling = match (
                st.and_then(|x| x.current_revision.as_deref()),
                st.and_then(|x| x.update_revision.as_deref()),
            ) {
                (Some(cur), Some(new)) if cur != new => {
                    format!(", rolling from revision {cur} to {new}")
                }
                _ => String::new(),
            };
            Some((
                "StatefulSet",
                st.and_then(|x| x.ready_replicas).unwrap_or(0),
                s.spec.as_ref().and_then(|x| x.replicas).unwrap_or(1),
                rolling,
            ))
        }
        _ => None,
    }
}

/// The containers of a pod spec, init containers first.
pub fn all_containers(spec: &PodSpec) -> impl Iterator<Item = &Container> {
    spec.init_containers
        .iter()
        .flatten()
        .chain(&spec.containers)
}

/// Why a pod's containers are not running: `waiting` reasons (CrashLoopBackOff,
/// CreateContainerConfigError, …) with their messages, and the last terminations.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerTrouble {
    pub container: String,
    /// `waiting` or `terminated` or `last terminated`.
    pub state: &'static str,
    pub reason: String,
    pub message: String,
    pub exit_code: Option<i32>,
    pub at: Option<DateTime<Utc>>,
    pub restarts: i32,
}

/// The troubles of every container of a pod.
pub fn container_troubles(p: &Pod) -> Vec<ContainerTrouble> {
    let Some(status) = p.status.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in statuses {
        let state = cs.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref())
            && let Some(reason) = w.reason.as_deref()
            && reason != "ContainerCreating"
            && reason != "PodInitializing"
        {
            out.push(ContainerTrouble {
                container: cs.name.clone(),
                state: "waiting",
                reason: reason.to_string(),
                message: w.message.clone().unwrap_or_default(),
                exit_code: None,
                at: None,
                restarts: cs.restart_count,
            });
        }
        let terminated = [
            ("terminated", state.and_then(|s| s.terminated.as_ref())),
            (
                "last terminated",
                cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()),
            ),
        ];
        for (which, t) in terminated {
            let Some(t) = t else { continue };
            if t.exit_code == 0 && t.reason.as_deref() == Some("Completed") {
                continue;
            }
            out.push(ContainerTrouble {
                container: cs.name.clone(),
                state: which,
                reason: t.reason.clone().unwrap_or_else(|| "Error".into()),
                message: t.message.clone().unwrap_or_default(),
                exit_code: Some(t.exit_code),
                at: opt_time(t.finished_at.as_ref()),
                restarts: cs.restart_count,
            });
        }
    }
    out
}

/// Whether every container of a running pod is ready.
pub fn pod_ready(p: &Pod) -> bool {
    crate::kube::graph::pod_ready(p)
}

/// The pods among `objects`.
pub fn pods(objects: &[KubeObject]) -> impl Iterator<Item = &Pod> {
    objects.iter().filter_map(|o| match o {
        KubeObject::Pod(p) => Some(p.as_ref()),
        _ => None,
    })
}

/// The ReplicaSets among `objects`.
pub fn replicasets(objects: &[KubeObject]) -> impl Iterator<Item = &ReplicaSet> {
    objects.iter().filter_map(|o| match o {
        KubeObject::ReplicaSet(r) => Some(r.as_ref()),
        _ => None,
    })
}

/// Whether a pod name is one a controller of `workload` generates: `<workload>-<hash>-<id>`
/// (Deployment), `<workload>-<n>` (StatefulSet), `<workload>-<id>` (DaemonSet, Job),
/// `<workload>-<n>-<id>` (CronJob). `api` does not claim `api-gateway-7c9d6f5b8-x2x9k`.
pub fn named_for(pod: &str, workload: &str) -> bool {
    pod.strip_prefix(workload)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|rest| {
            let segs: Vec<&str> = rest.split('-').collect();
            segs.len() <= 2
                && segs
                    .iter()
                    .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()))
        })
}

/// Pods of a workload: by their controller (a ReplicaSet or Job of the workload, or the
/// workload itself), else by the generated name.
pub fn is_pod_of(p: &Pod, workload: &str) -> bool {
    match controller(&p.metadata) {
        Some((_, owner)) if owner == workload => true,
        Some((_, owner)) => owner
            .strip_prefix(workload)
            .and_then(|r| r.strip_prefix('-'))
            .is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
            }),
        None => named_for(name(&p.metadata), workload),
    }
}

/// The pod template of a workload object and its selector.
pub fn template(o: &KubeObject) -> Option<&PodSpec> {
    match o {
        KubeObject::Deployment(d) => d.spec.as_ref()?.template.spec.as_ref(),
        KubeObject::StatefulSet(s) => s.spec.as_ref()?.template.spec.as_ref(),
        KubeObject::DaemonSet(s) => s.spec.as_ref()?.template.spec.as_ref(),
        KubeObject::ReplicaSet(r) => rs_spec(r),
        KubeObject::Job(j) => j.spec.as_ref()?.template.spec.as_ref(),
        KubeObject::CronJob(c) => c
            .spec
            .as_ref()?
            .job_template
            .spec
            .as_ref()?
            .template
            .spec
            .as_ref(),
        KubeObject::Pod(p) => p.spec.as_ref(),
        _ => None,
    }
}

/// The label selector of a workload, as `k=v,k2=v2` (match labels only).
pub fn selector(o: &KubeObject) -> Option<String> {
    let sel = match o {
        KubeObject::Deployment(d) => &d.spec.as_ref()?.selector,
        KubeObject::StatefulSet(s) => &s.spec.as_ref()?.selector,
        KubeObject::DaemonSet(s) => &s.spec.as_ref()?.selector,
        KubeObject::ReplicaSet(r) => &r.spec.as_ref()?.selector,
        KubeObject::Service(s) => {
            let map = s.spec.as_ref()?.selector.as_ref()?;
            return (!map.is_empty()).then(|| join_labels(map));
        }
        _ => return None,
    };
    let map = sel.match_labels.as_ref()?;
    (!map.is_empty()).then(|| join_labels(map))
}

fn join_labels(map: &std::collections::BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether a Kubernetes label selector (match labels and expressions) selects `labels`.
/// The empty selector selects everything.
pub fn selects(
    sel: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let by_labels = sel
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_exprs = sel.match_expressions.iter().flatten().all(|e| {
        let values = e.values.as_deref().unwrap_or_default();
        let have = labels.get(&e.key);
        match e.operator.as_str() {
            "In" => have.is_some_and(|v| values.contains(v)),
            "NotIn" => have.is_none_or(|v| !values.contains(v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    by_labels && by_exprs
}

/// Whether a policy's pod selector (absent: every pod) selects `labels`.
pub fn selects_pods(
    sel: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector>,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    sel.is_none_or(|s| selects(s, labels))
}

/// The labels of an object's metadata.
pub fn labels(meta: &ObjectMeta) -> std::collections::BTreeMap<String, String> {
    meta.labels.clone().unwrap_or_default()
}

/// Something a pod spec refers to by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecRef {
    /// `ConfigMap`, `Secret`, `PersistentVolumeClaim`, `ServiceAccount`.
    pub kind: &'static str,
    pub name: String,
    /// The key read, for single-key references.
    pub key: Option<String>,
    /// Through what: `env PAYMENTS_URL`, `volume config`, `envFrom`, `imagePullSecrets`.
    pub via: String,
    pub optional: bool,
}

/// The ConfigMaps, Secrets, claims and service account a pod spec uses.
pub fn spec_refs(spec: &PodSpec) -> Vec<SpecRef> {
    let mut out = Vec::new();
    let mut add =
        |kind: &'static str, name: &str, key: Option<&str>, via: String, optional: Option<bool>| {
            if !name.is_empty() {
                out.push(SpecRef {
                    kind,
                    name: name.to_string(),
                    key: key.map(str::to_string),
                    via,
                    optional: optional.unwrap_or(false),
                });
            }
        };
    for c in all_containers(spec) {
        for e in c.env.iter().flatten() {
            let Some(from) = e.value_from.as_ref() else {
                continue;
            };
            if let Some(r) = &from.config_map_key_ref {
                add(
                    "ConfigMap",
                    &r.name,
                    Some(r.key.as_str()),
                    format!("env {}", e.name),
                    r.optional,
                );
            }
            if let Some(r) = &from.secret_key_ref {
                add(
                    "Secret",
                    &r.name,
                    Some(r.key.as_str()),
                    format!("env {}", e.name),
                    r.optional,
                );
            }
        }
        for e in c.env_from.iter().flatten() {
            if let Some(r) = &e.config_map_ref {
                add("ConfigMap", &r.name, None, "envFrom".into(), r.optional);
            }
            if let Some(r) = &e.secret_ref {
                add("Secret", &r.name, None, "envFrom".into(), r.optional);
            }
        }
    }
    for v in spec.volumes.iter().flatten() {
        let via = format!("volume {}", v.name);
        if let Some(cm) = &v.config_map {
            add("ConfigMap", &cm.name, None, via.clone(), cm.optional);
        }
        if let Some(s) = &v.secret {
            add(
                "Secret",
                s.secret_name.as_deref().unwrap_or_default(),
                None,
                via.clone(),
                s.optional,
            );
        }
        if let Some(c) = &v.persistent_volume_claim {
            add(
                "PersistentVolumeClaim",
                &c.claim_name,
                None,
                via.clone(),
                None,
            );
        }
        for src in v.projected.iter().flat_map(|p| p.sources.iter().flatten()) {
            if let Some(cm) = &src.config_map {
                add("ConfigMap", &cm.name, None, via.clone(), cm.optional);
            }
            if let Some(s) = &src.secret {
                add("Secret", &s.name, None, via.clone(), s.optional);
            }
        }
    }
    for s in spec.image_pull_secrets.iter().flatten() {
        add("Secret", &s.name, None, "imagePullSecrets".into(), None);
    }
    if let Some(sa) = spec
        .service_account_name
        .as_deref()
        .filter(|s| *s != "default")
    {
        add(
            "ServiceAccount",
            sa,
            None,
            "serviceAccountName".into(),
            None,
        );
    }
    out.dedup();
    out
}

/// The labels a workload puts on its pods (a pod's own labels for a pod).
pub fn template_labels(o: &KubeObject) -> Option<std::collections::BTreeMap<String, String>> {
    let meta = match o {
        KubeObject::Deployment(d) => d.spec.as_ref()?.template.metadata.as_ref(),
        KubeObject::StatefulSet(s) => s.spec.as_ref()?.template.metadata.as_ref(),
        KubeObject::DaemonSet(s) => s.spec.as_ref()?.template.metadata.as_ref(),
        KubeObject::ReplicaSet(r) => r.spec.as_ref()?.template.as_ref()?.metadata.as_ref(),
        KubeObject::Job(j) => j.spec.as_ref()?.template.metadata.as_ref(),
        KubeObject::Pod(p) => Some(&p.metadata),
        _ => None,
    }?;
    meta.labels.clone()
}

/// The scheduler's message on a pod that cannot be placed.
pub fn unscheduled_message(p: &Pod) -> Option<&str> {
    let status = p.status.as_ref()?;
    if status.phase.as_deref() != Some("Pending") {
        return None;
    }
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
        .map(|c| c.message.as_deref().unwrap_or_default())
}
