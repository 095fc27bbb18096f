//! Typed tool results: what the offline planner (and anything else that reasons over a
//! tool's answer) reads, checked by the compiler instead of looked up by string keys.
//! The model sees the tool's text; this is the same answer as data.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use crate::index::localize::IssueResult;
use crate::index::search::SearchResult;
use crate::kube::Finding;
use crate::kube::scan::ScanReport;
use crate::kube::source::EventSummary;
use crate::kube::state::ResourceRef;
use crate::memory::MemoryHit;

/// A tool's answer as data.
#[derive(Debug, Clone, Default)]
pub enum ToolData {
    /// Nothing structured (or nothing the planner reads).
    #[default]
    None,
    /// `kube_findings`: the scan and the findings the call asked for.
    Scan(ScanData),
    /// `kube_get`: the objects read, each parsed as its kind.
    Objects(Vec<KubeObject>),
    /// `kube_logs`.
    Logs(LogTail),
    /// `kube_events`, newest first.
    Events(Vec<EventSummary>),
    /// `git_log`, `similar_past_changes`: newest first.
    Commits(Vec<CommitSummary>),
    /// `issue_files`.
    Issue(Box<IssueResult>),
    /// `search_code`.
    Search(Box<SearchResult>),
    /// `related_files`.
    Related(Vec<RelatedFile>),
    /// `recall_memory`.
    Memories(Vec<MemoryHit>),
    /// Anything else, as JSON.
    Json(Value),
}

#[derive(Debug, Clone)]
pub struct ScanData {
    pub report: Arc<ScanReport>,
    /// The findings the call asked for (all, or those of one workload), worst first.
    pub findings: Vec<Finding>,
}

/// The tail of one container's log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LogTail {
    pub pod: String,
    pub namespace: Option<String>,
    pub container: Option<String>,
    pub previous: bool,
    pub text: String,
    /// Lines that look like errors, in order.
    pub error_lines: Vec<String>,
}

/// A commit as the history tools list it.
#[derive(Debug, Clone, Serialize)]
pub struct CommitSummary {
    pub id: String,
    /// Unix seconds.
    pub time: i64,
    pub author: String,
    pub summary: String,
    pub pr: Option<i64>,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RelatedFile {
    pub path: String,
    pub score: f32,
    pub via: String,
}

/// A Kubernetes object read by `kube_get`, as its type. Kinds the planner does not
/// reason about stay JSON.
#[derive(Debug, Clone)]
pub enum KubeObject {
    Pod(Box<Pod>),
    Deployment(Box<Deployment>),
    StatefulSet(Box<StatefulSet>),
    DaemonSet(Box<DaemonSet>),
    ReplicaSet(Box<ReplicaSet>),
    Job(Box<Job>),
    CronJob(Box<CronJob>),
    Service(Box<Service>),
    EndpointSlice(Box<EndpointSlice>),
    ConfigMap(Box<ConfigMap>),
    Secret(Box<Secret>),
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
    PersistentVolume(Box<PersistentVolume>),
    StorageClass(Box<StorageClass>),
    Node(Box<Node>),
    NetworkPolicy(Box<NetworkPolicy>),
    HorizontalPodAutoscaler(Box<HorizontalPodAutoscaler>),
    Ingress(Box<Ingress>),
    ServiceAccount(Box<ServiceAccount>),
    Other { kind: String, value: Value },
}

fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Option<Box<T>> {
    serde_json::from_value(value.clone()).ok().map(Box::new)
}

impl KubeObject {
    /// Parse an object of `kind` (`Pod`, `Deployment`, …). What does not parse as its
    /// kind is kept as JSON.
    pub fn parse(kind: &str, value: Value) -> Self {
        let parsed = match kind {
            "Pod" => typed(&value).map(Self::Pod),
            "Deployment" => typed(&value).map(Self::Deployment),
            "StatefulSet" => typed(&value).map(Self::StatefulSet),
            "DaemonSet" => typed(&value).map(Self::DaemonSet),
            "ReplicaSet" => typed(&value).map(Self::ReplicaSet),
            "Job" => typed(&value).map(Self::Job),
            "CronJob" => typed(&value).map(Self::CronJob),
            "Service" => typed(&value).map(Self::Service),
            "EndpointSlice" => typed(&value).map(Self::EndpointSlice),
            "ConfigMap" => typed(&value).map(Self::ConfigMap),
            "Secret" => typed(&value).map(Self::Secret),
            "PersistentVolumeClaim" => typed(&value).map(Self::PersistentVolumeClaim),
            "PersistentVolume" => typed(&value).map(Self::PersistentVolume),
            "StorageClass" => typed(&value).map(Self::StorageClass),
            "Node" => typed(&value).map(Self::Node),
            "NetworkPolicy" => typed(&value).map(Self::NetworkPolicy),
            "HorizontalPodAutoscaler" => typed(&value).map(Self::HorizontalPodAutoscaler),
            "Ingress" => typed(&value).map(Self::Ingress),
            "ServiceAccount" => typed(&value).map(Self::ServiceAccount),
            _ => None,
        };
        parsed.unwrap_or_else(|| Self::Other {
            kind: kind.to_string(),
            value,
        })
    }

    /// The object's kind (`Pod`, …).
    pub fn kind(&self) -> &str {
        match self {
            Self::Pod(_) => "Pod",
            Self::Deployment(_) => "Deployment",
            Self::StatefulSet(_) => "StatefulSet",
            Self::DaemonSet(_) => "DaemonSet",
            Self::ReplicaSet(_) => "ReplicaSet",
            Self::Job(_) => "Job",
            Self::CronJob(_) => "CronJob",
            Self::Service(_) => "Service",
            Self::EndpointSlice(_) => "EndpointSlice",
            Self::ConfigMap(_) => "ConfigMap",
            Self::Secret(_) => "Secret",
            Self::PersistentVolumeClaim(_) => "PersistentVolumeClaim",
            Self::PersistentVolume(_) => "PersistentVolume",
            Self::StorageClass(_) => "StorageClass",
            Self::Node(_) => "Node",
            Self::NetworkPolicy(_) => "NetworkPolicy",
            Self::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Self::Ingress(_) => "Ingress",
            Self::ServiceAccount(_) => "ServiceAccount",
            Self::Other { kind, .. } => kind,
        }
    }

    /// The object's metadata (`None` for kinds kept as JSON).
    pub fn meta(&self) -> Option<&ObjectMeta> {
        Some(match self {
            Self::Pod(o) => &o.metadata,
            Self::Deployment(o) => &o.metadata,
            Self::StatefulSet(o) => &o.metadata,
            Self::DaemonSet(o) => &o.metadata,
            Self::ReplicaSet(o) => &o.metadata,
            Self::Job(o) => &o.metadata,
            Self::CronJob(o) => &o.metadata,
            Self::Service(o) => &o.metadata,
            Self::EndpointSlice(o) => &o.metadata,
            Self::ConfigMap(o) => &o.metadata,
            Self::Secret(o) => &o.metadata,
            Self::PersistentVolumeClaim(o) => &o.metadata,
            Self::PersistentVolume(o) => &o.metadata,
            Self::StorageClass(o) => &o.metadata,
            Self::Node(o) => &o.metadata,
            Self::NetworkPolicy(o) => &o.metadata,
            Self::HorizontalPodAutoscaler(o) => &o.metadata,
            Self::Ingress(o) => &o.metadata,
            Self::ServiceAccount(o) => &o.metadata,
            Self::Other { .. } => return None,
        })
    }

    /// The object's name.
    pub fn name(&self) -> &str {
        match (self.meta(), self) {
            (Some(m), _) => m.name.as_deref().unwrap_or_default(),
            (None, Self::Other { value, .. }) => value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            (None, _) => "",
        }
    }

    /// `Kind/namespace/name`.
    pub fn reference(&self) -> ResourceRef {
        ResourceRef::new(self.kind(), self.namespace(), self.name())
    }

    /// The object's namespace (`None` for cluster-scoped objects).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Self::Other { value, .. } => {
                value.pointer("/metadata/namespace").and_then(Value::as_str)
            }
            _ => self.meta().and_then(|m| m.namespace.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_parse_as_their_kind_and_the_rest_stays_json() {
        let pod = KubeObject::parse(
            "Pod",
            json!({"metadata": {"name": "web-0", "namespace": "shop"},
                   "status": {"phase": "Pending"}}),
        );
        match &pod {
            KubeObject::Pod(p) => {
                assert_eq!(p.status.as_ref().unwrap().phase.as_deref(), Some("Pending"))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pod.name(), "web-0");
        let odd = KubeObject::parse("Widget", json!({"metadata": {"name": "w"}}));
        assert!(matches!(odd, KubeObject::Other { .. }));
        assert_eq!(odd.name(), "w");
        // A field of the wrong type keeps the object, as JSON.
        let bad = KubeObject::parse("Pod", json!({"metadata": {"name": 3}}));
        assert!(matches!(bad, KubeObject::Other { .. }));
    }
}
