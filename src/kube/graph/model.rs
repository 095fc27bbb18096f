//! The graph's types: nodes with what triage knows of each kind, edges with their layer
//! and observation time, events; and the lookups the analyzers use.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::kube::state::ResourceRef;

/// How sure an edge is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// Read from the API: owner references, selectors, object references.
    Certain,
    /// Guessed from text: a config value naming a service.
    Inferred,
}

/// What an edge means, read as "from <relation> to".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Owner reference: Deployment → ReplicaSet → Pod, CronJob → Job → Pod.
    Owns,
    /// Label selector: Service → Pod.
    Selects,
    /// Pod → Node.
    RunsOn,
    /// Pod → ConfigMap / Secret / PVC, through a volume or an env reference.
    Uses,
    /// Ingress → Service.
    Routes,
    /// HPA → workload.
    Scales,
    /// A config value or env value that names a service.
    Mentions,
}

#[derive(Debug, Clone, Serialize)]
pub struct Edge {
    pub from: ResourceRef,
    pub to: ResourceRef,
    pub relation: Relation,
    pub layer: Layer,
    pub observed_at: DateTime<Utc>,
    /// Through what: a volume name, an env variable, a config key, a host/path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// A container, as the pod status reports it.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerInfo {
    pub name: String,
    pub image: String,
    pub ready: bool,
    /// `running`, `waiting: CrashLoopBackOff`, `terminated: Completed`.
    pub state: String,
    pub restart_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_termination_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_finished_at: Option<DateTime<Utc>>,
}

/// A config value that names a service or a host.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigReference {
    pub key: String,
    pub value: String,
}

/// What the graph keeps about each object.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeDetail {
    Namespace {
        phase: Option<String>,
    },
    Node {
        ready: Option<bool>,
        pressure: Vec<String>,
        unschedulable: bool,
        kubelet_version: Option<String>,
    },
    Workload {
        desired: i32,
        ready: i32,
        available: i32,
        updated: i32,
        images: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        revision: Option<String>,
    },
    Pod {
        phase: Option<String>,
        status: String,
        node: Option<String>,
        containers: Vec<ContainerInfo>,
    },
    Service {
        service_type: String,
        selector: BTreeMap<String, String>,
        ports: Vec<String>,
        ready_endpoints: usize,
    },
    Ingress {
        hosts: Vec<String>,
        /// Its paths with their types and backends, for matching a request to a backend.
        #[serde(skip)]
        paths: crate::kube::ingress_paths::Paths,
    },
    ConfigMap {
        keys: Vec<String>,
        references: Vec<ConfigReference>,
    },
    Secret {
        secret_type: Option<String>,
    },
    Hpa {
        min: i32,
        max: i32,
        current: i32,
        desired: i32,
        target: String,
    },
    Job {
        images: Vec<String>,
        active: i32,
        succeeded: i32,
        failed: i32,
        failed_reason: Option<String>,
        start_time: Option<DateTime<Utc>>,
    },
    CronJob {
        images: Vec<String>,
        schedule: String,
        suspend: bool,
        last_schedule: Option<DateTime<Utc>>,
        last_success: Option<DateTime<Utc>>,
    },
    Pvc {
        phase: Option<String>,
        storage_class: Option<String>,
        volume: Option<String>,
    },
    EndpointSlice {
        service: Option<String>,
        ready: usize,
        not_ready: usize,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    #[serde(flatten)]
    pub id: ResourceRef,
    pub observed_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub detail: NodeDetail,
}

/// An event, attached to the object it is about.
#[derive(Debug, Clone, Serialize)]
pub struct EventInfo {
    pub about: ResourceRef,
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Graph {
    pub as_of: DateTime<Utc>,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<Edge>,
    pub events: Vec<EventInfo>,
    /// Node index by reference.
    #[serde(skip)]
    index: HashMap<ResourceRef, usize>,
    /// Edge indexes by the position of their source and target nodes.
    #[serde(skip)]
    out_edges: Vec<Vec<usize>>,
    #[serde(skip)]
    in_edges: Vec<Vec<usize>>,
}

impl GraphNode {
    /// Container images of a workload, job or cronjob.
    pub fn images(&self) -> &[String] {
        match &self.detail {
            NodeDetail::Workload { images, .. }
            | NodeDetail::Job { images, .. }
            | NodeDetail::CronJob { images, .. } => images,
            NodeDetail::Pod { .. } => &[],
            _ => &[],
        }
    }
}

impl Graph {
    pub fn node(&self, id: &ResourceRef) -> Option<&GraphNode> {
        self.index.get(id).map(|i| &self.nodes[*i])
    }

    /// Edges leaving an object of the graph.
    pub fn edges_from<'a>(&'a self, id: &ResourceRef) -> impl Iterator<Item = &'a Edge> + 'a {
        self.index
            .get(id)
            .and_then(|i| self.out_edges.get(*i))
            .into_iter()
            .flatten()
            .map(move |e| &self.edges[*e])
    }

    /// Edges arriving at an object of the graph.
    pub fn edges_to<'a>(&'a self, id: &ResourceRef) -> impl Iterator<Item = &'a Edge> + 'a {
        self.index
            .get(id)
            .and_then(|i| self.in_edges.get(*i))
            .into_iter()
            .flatten()
            .map(move |e| &self.edges[*e])
    }

    /// Rebuild the edge indexes (after edges were added).
    pub fn reindex(&mut self) {
        self.out_edges = vec![Vec::new(); self.nodes.len()];
        self.in_edges = vec![Vec::new(); self.nodes.len()];
        for (i, e) in self.edges.iter().enumerate() {
            if let Some(from) = self.index.get(&e.from) {
                self.out_edges[*from].push(i);
            }
            if let Some(to) = self.index.get(&e.to) {
                self.in_edges[*to].push(i);
            }
        }
    }

    /// Workloads people deploy: Deployments, StatefulSets, DaemonSets, CronJobs and Jobs
    /// without an owner.
    pub fn workloads(&self) -> impl Iterator<Item = &GraphNode> {
        self.nodes.iter().filter(|n| {
            matches!(
                n.id.kind.as_str(),
                "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob"
            ) || (n.id.kind == "Job" && !self.edges_to(&n.id).any(|e| e.relation == Relation::Owns))
        })
    }

    /// An empty graph as of `as_of`.
    pub(super) fn new(as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            ..Self::default()
        }
    }

    pub(super) fn add(
        &mut self,
        id: ResourceRef,
        observed_at: DateTime<Utc>,
        meta: &ObjectMeta,
        detail: NodeDetail,
    ) {
        self.index.insert(id.clone(), self.nodes.len());
        self.nodes.push(GraphNode {
            id,
            observed_at,
            labels: meta.labels.clone().unwrap_or_default(),
            detail,
        });
    }
}
