//! A snapshot parsed into k8s-openapi types: the plain data the graph and the analyzers
//! work on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, PersistentVolumeClaim, Pod, Secret, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::resources::{self, ResourceType};
use super::snapshot::{ContainerLogs, Snapshot};

/// Kind, namespace and name of an object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceRef {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ResourceRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind: kind.to_string(),
            namespace: namespace.filter(|n| !n.is_empty()).map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The reference of an object of type `t` with this metadata.
    pub fn of(t: &ResourceType, meta: &ObjectMeta) -> Self {
        Self::new(
            t.kind,
            meta.namespace.as_deref(),
            meta.name.as_deref().unwrap_or_default(),
        )
    }

    /// `deployment/checkout-api`, as kubectl takes it.
    pub fn kubectl(&self) -> String {
        let ty = resources::by_kind(&self.kind)
            .map(|t| t.singular.to_string())
            .unwrap_or_else(|| self.kind.to_ascii_lowercase());
        format!("{ty}/{}", self.name)
    }

    /// `-n shop ` or nothing for cluster-scoped objects.
    pub fn ns_flag(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("-n {ns} "),
            None => String::new(),
        }
    }
}

impl std::fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// A k8s timestamp as chrono.
pub fn time(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

pub fn opt_time(t: Option<&Time>) -> Option<DateTime<Utc>> {
    t.map(time)
}

/// Objects of one type with the time they were listed.
#[derive(Debug, Clone)]
pub struct Typed<T> {
    pub items: Vec<T>,
    pub observed_at: DateTime<Utc>,
}

impl<T> Default for Typed<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            observed_at: DateTime::<Utc>::default(),
        }
    }
}

/// The parsed snapshot.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub as_of: DateTime<Utc>,
    pub namespaces: Typed<Namespace>,
    pub nodes: Typed<Node>,
    pub pods: Typed<Pod>,
    pub services: Typed<Service>,
    pub configmaps: Typed<ConfigMap>,
    pub secrets: Typed<Secret>,
    pub pvcs: Typed<PersistentVolumeClaim>,
    pub deployments: Typed<Deployment>,
    pub statefulsets: Typed<StatefulSet>,
    pub daemonsets: Typed<DaemonSet>,
    pub replicasets: Typed<ReplicaSet>,
    pub jobs: Typed<Job>,
    pub cronjobs: Typed<CronJob>,
    pub ingresses: Typed<Ingress>,
    pub hpas: Typed<HorizontalPodAutoscaler>,
    pub endpointslices: Typed<EndpointSlice>,
    pub events: Typed<Event>,
    pub logs: BTreeMap<String, ContainerLogs>,
    /// Objects that did not parse as their type (skipped), with the reason.
    pub problems: Vec<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(
    snap: &Snapshot,
    t: &ResourceType,
    problems: &mut Vec<String>,
) -> Typed<T> {
    let mut items = Vec::new();
    for (i, v) in snap.objects_of(t).iter().enumerate() {
        match T::deserialize(v) {
            Ok(obj) => items.push(obj),
            Err(e) => {
                let name = v
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                problems.push(format!("{}[{i}] `{name}` skipped: {e}", t.key()));
            }
        }
    }
    Typed {
        items,
        observed_at: snap.observed_at(t),
    }
}

impl ClusterState {
    pub fn from_snapshot(snap: &Snapshot) -> Self {
        // Pods are most of a snapshot: parse them on a second thread meanwhile.
        let (pods, pod_problems, mut state) = std::thread::scope(|scope| {
            let pods = scope.spawn(|| {
                let mut problems = Vec::new();
                let pods = parse::<Pod>(snap, &resources::PODS, &mut problems);
                (pods, problems)
            });
            let state = Self::without_pods(snap);
            match pods.join() {
                Ok((pods, problems)) => (pods, problems, state),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        state.pods = pods;
        state.problems.extend(pod_problems);
        state
    }

    fn without_pods(snap: &Snapshot) -> Self {
        let mut p = Vec::new();
        let mut state = Self {
            as_of: snap.recorded_at,
            namespaces: parse(snap, &resources::NAMESPACES, &mut p),
            nodes: parse(snap, &resources::NODES, &mut p),
            pods: Typed::default(),
            services: parse(snap, &resources::SERVICES, &mut p),
            configmaps: parse(snap, &resources::CONFIGMAPS, &mut p),
            secrets: parse(snap, &resources::SECRETS, &mut p),
            pvcs: parse(snap, &resources::PVCS, &mut p),
            deployments: parse(snap, &resources::DEPLOYMENTS, &mut p),
            statefulsets: parse(snap, &resources::STATEFULSETS, &mut p),
            daemonsets: parse(snap, &resources::DAEMONSETS, &mut p),
            replicasets: parse(snap, &resources::REPLICASETS, &mut p),
            jobs: parse(snap, &resources::JOBS, &mut p),
            cronjobs: parse(snap, &resources::CRONJOBS, &mut p),
            ingresses: parse(snap, &resources::INGRESSES, &mut p),
            hpas: parse(snap, &resources::HPAS, &mut p),
            endpointslices: parse(snap, &resources::ENDPOINTSLICES, &mut p),
            events: parse(snap, &resources::EVENTS, &mut p),
            logs: snap.logs.clone(),
            problems: Vec::new(),
        };
        // Secrets never carry data past this point, whatever the input held.
        for s in &mut state.secrets.items {
            s.data = None;
            s.string_data = None;
        }
        state.problems = p;
        state
    }
}
