//! The cluster graph: objects as nodes, relations as edges. Each edge carries a layer
//! (owner references, selectors and object references are certain; a ConfigMap value
//! that mentions a service is inferred) and when it was observed.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, PodSpec, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use crate::kube::resources::{self, ResourceType};
use crate::kube::selector::map_selects;
use crate::kube::state::{ClusterState, ResourceRef, opt_time, time};

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

    fn add(
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

/// The state of one container from its status.
pub fn container_info(
    spec: Option<&Container>,
    status: Option<&ContainerStatus>,
    name: &str,
) -> ContainerInfo {
    let state = status.and_then(|s| s.state.as_ref());
    let state_text = match state {
        Some(s) if s.running.is_some() => "running".to_string(),
        Some(s) if s.waiting.is_some() => format!(
            "waiting: {}",
            s.waiting
                .as_ref()
                .and_then(|w| w.reason.clone())
                .unwrap_or_default()
        ),
        Some(s) if s.terminated.is_some() => format!(
            "terminated: {}",
            s.terminated
                .as_ref()
                .and_then(|t| t.reason.clone())
                .unwrap_or_default()
        ),
        _ => "unknown".to_string(),
    };
    let last = status
        .and_then(|s| s.last_state.as_ref())
        .and_then(|l| l.terminated.as_ref());
    ContainerInfo {
        name: name.to_string(),
        image: status
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .or_else(|| spec.and_then(|c| c.image.clone()))
            .unwrap_or_default(),
        ready: status.is_some_and(|s| s.ready),
        state: state_text,
        restart_count: status.map_or(0, |s| s.restart_count),
        last_termination_reason: last.and_then(|t| t.reason.clone()),
        last_exit_code: last.map(|t| t.exit_code),
        last_finished_at: last.and_then(|t| opt_time(t.finished_at.as_ref())),
    }
}

fn template_images(spec: Option<&PodSpec>) -> Vec<String> {
    spec.map(|s| {
        s.containers
            .iter()
            .filter_map(|c| c.image.clone())
            .collect()
    })
    .unwrap_or_default()
}

/// Whether a value looks like it names a host: a URL, `host:port`, or a dotted name.
fn host_like(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || v.len() > 500 || v.contains(char::is_whitespace) {
        return false;
    }
    v.contains("://")
        || v.split_once(':').is_some_and(|(h, p)| {
            !h.is_empty()
                && p.chars()
                    .take_while(|c| *c != '/')
                    .all(|c| c.is_ascii_digit())
                && !p.is_empty()
        })
        || (v.contains('.')
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '/'))
            && v.chars().any(|c| c.is_ascii_alphabetic()))
}

/// The host names in a value: URL hosts, `host:port`, dotted names, and a value that is
/// a single bare name. Words in prose do not count.
fn hosts_in(value: &str) -> Vec<String> {
    let tokens: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '=' | '(' | ')'))
        // `key:` in YAML and `[section]` headers are not hosts.
        .filter(|t| !t.is_empty() && !t.ends_with(':') && !t.starts_with('['))
        .collect();
    let single = tokens.len() == 1;
    tokens
        .into_iter()
        .filter(|t| single || t.contains(':') || t.contains('.'))
        .filter_map(|token| {
            let rest = token.split_once("://").map_or(token, |(_, r)| r);
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            let host = rest.split(['/', '?', '#']).next()?;
            let host = host.split(':').next()?.trim_end_matches('.');
            if host.is_empty() {
                None
            } else {
                Some(host.to_ascii_lowercase())
            }
        })
        .collect()
}

/// The service a host name refers to, from a client in `namespace`: `payments`,
/// `payments.shop`, `payments.shop.svc`, `payments.shop.svc.cluster.local`.
fn service_for_host<'a>(
    host: &str,
    namespace: &str,
    services: &'a HashMap<(String, String), ResourceRef>,
) -> Option<&'a ResourceRef> {
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name] => services.get(&(namespace.to_string(), name.to_string())),
        [name, ns] | [name, ns, "svc"] | [name, ns, "svc", ..] => {
            services.get(&(ns.to_string(), name.to_string()))
        }
        _ => None,
    }
}

/// Build the graph of a parsed snapshot.
pub fn build(state: &ClusterState) -> Graph {
    let mut g = Graph {
        as_of: state.as_of,
        ..Graph::default()
    };
    let mut by_uid: HashMap<String, ResourceRef> = HashMap::new();
    let mut remember = |meta: &ObjectMeta, id: &ResourceRef| {
        if let Some(uid) = &meta.uid {
            by_uid.insert(uid.clone(), id.clone());
        }
    };

    for ns in &state.namespaces.items {
        let id = ResourceRef::of(&resources::NAMESPACES, &ns.metadata);
        remember(&ns.metadata, &id);
        let phase = ns.status.as_ref().and_then(|s| s.phase.clone());
        g.add(
            id,
            state.namespaces.observed_at,
            &ns.metadata,
            NodeDetail::Namespace { phase },
        );
    }
    for node in &state.nodes.items {
        let id = ResourceRef::of(&resources::NODES, &node.metadata);
        remember(&node.metadata, &id);
        let conds = node.status.as_ref().and_then(|s| s.conditions.as_ref());
        let ready = conds
            .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
            .map(|c| c.status == "True");
        let pressure = conds
            .map(|c| {
                c.iter()
                    .filter(|c| c.type_ != "Ready" && c.status == "True")
                    .map(|c| c.type_.clone())
                    .collect()
            })
            .unwrap_or_default();
        let detail = NodeDetail::Node {
            ready,
            pressure,
            unschedulable: node
                .spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false),
            kubelet_version: node
                .status
                .as_ref()
                .and_then(|s| s.node_info.as_ref())
                .map(|i| i.kubelet_version.clone()),
        };
        g.add(id, state.nodes.observed_at, &node.metadata, detail);
    }
    for d in &state.deployments.items {
        let id = ResourceRef::of(&resources::DEPLOYMENTS, &d.metadata);
        remember(&d.metadata, &id);
        let st = d.status.clone().unwrap_or_default();
        let spec = d.spec.as_ref();
        let detail = NodeDetail::Workload {
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: st.ready_replicas.unwrap_or(0),
            available: st.available_replicas.unwrap_or(0),
            updated: st.updated_replicas.unwrap_or(0),
            images: template_images(spec.and_then(|s| s.template.spec.as_ref())),
            revision: annotation(&d.metadata, "deployment.kubernetes.io/revision"),
        };
        g.add(id, state.deployments.observed_at, &d.metadata, detail);
    }
    for s in &state.statefulsets.items {
        let id = ResourceRef::of(&resources::STATEFULSETS, &s.metadata);
        remember(&s.metadata, &id);
        let st = s.status.clone().unwrap_or_default();
        let spec = s.spec.as_ref();
        let detail = NodeDetail::Workload {
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: st.ready_replicas.unwrap_or(0),
            available: st.available_replicas.unwrap_or(0),
            updated: st.updated_replicas.unwrap_or(0),
            images: template_images(spec.and_then(|s| s.template.spec.as_ref())),
            revision: st.update_revision.clone(),
        };
        g.add(id, state.statefulsets.observed_at, &s.metadata, detail);
    }
    for d in &state.daemonsets.items {
        let id = ResourceRef::of(&resources::DAEMONSETS, &d.metadata);
        remember(&d.metadata, &id);
        let st = d.status.clone().unwrap_or_default();
        let detail = NodeDetail::Workload {
            desired: st.desired_number_scheduled,
            ready: st.number_ready,
            available: st.number_available.unwrap_or(0),
            updated: st.updated_number_scheduled.unwrap_or(0),
            images: template_images(d.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
            revision: None,
        };
        g.add(id, state.daemonsets.observed_at, &d.metadata, detail);
    }
    for rs in &state.replicasets.items {
        let id = ResourceRef::of(&resources::REPLICASETS, &rs.metadata);
        remember(&rs.metadata, &id);
        let st = rs.status.clone().unwrap_or_default();
        let spec = rs.spec.as_ref();
        let detail = NodeDetail::Workload {
            desired: spec.and_then(|s| s.replicas).unwrap_or(1),
            ready: st.ready_replicas.unwrap_or(0),
            available: st.available_replicas.unwrap_or(0),
            updated: st.replicas,
            images: template_images(
                spec.and_then(|s| s.template.as_ref())
                    .and_then(|t| t.spec.as_ref()),
            ),
            revision: annotation(&rs.metadata, "deployment.kubernetes.io/revision"),
        };
        g.add(id, state.replicasets.observed_at, &rs.metadata, detail);
    }
    for j in &state.jobs.items {
        let id = ResourceRef::of(&resources::JOBS, &j.metadata);
        remember(&j.metadata, &id);
        let st = j.status.clone().unwrap_or_default();
        let failed_reason = st
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed" && c.status == "True")
            .map(|c| c.reason.clone().unwrap_or_else(|| "Failed".into()));
        let detail = NodeDetail::Job {
            images: template_images(j.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
            active: st.active.unwrap_or(0),
            succeeded: st.succeeded.unwrap_or(0),
            failed: st.failed.unwrap_or(0),
            failed_reason,
            start_time: opt_time(st.start_time.as_ref()),
        };
        g.add(id, state.jobs.observed_at, &j.metadata, detail);
    }
    for c in &state.cronjobs.items {
        let id = ResourceRef::of(&resources::CRONJOBS, &c.metadata);
        remember(&c.metadata, &id);
        let st = c.status.clone().unwrap_or_default();
        let detail = NodeDetail::CronJob {
            images: template_images(
                c.spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .and_then(|j| j.template.spec.as_ref()),
            ),
            schedule: c
                .spec
                .as_ref()
                .map(|s| s.schedule.clone())
                .unwrap_or_default(),
            suspend: c.spec.as_ref().and_then(|s| s.suspend).unwrap_or(false),
            last_schedule: opt_time(st.last_schedule_time.as_ref()),
            last_success: opt_time(st.last_successful_time.as_ref()),
        };
        g.add(id, state.cronjobs.observed_at, &c.metadata, detail);
    }
    for p in &state.pvcs.items {
        let id = ResourceRef::of(&resources::PVCS, &p.metadata);
        remember(&p.metadata, &id);
        let detail = NodeDetail::Pvc {
            phase: p.status.as_ref().and_then(|s| s.phase.clone()),
            storage_class: p.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
            volume: p.spec.as_ref().and_then(|s| s.volume_name.clone()),
        };
        g.add(id, state.pvcs.observed_at, &p.metadata, detail);
    }
    for s in &state.secrets.items {
        let id = ResourceRef::of(&resources::SECRETS, &s.metadata);
        g.add(
            id,
            state.secrets.observed_at,
            &s.metadata,
            NodeDetail::Secret {
                secret_type: s.type_.clone(),
            },
        );
    }

    // Services, keyed for host lookups.
    let mut services: HashMap<(String, String), ResourceRef> = HashMap::new();
    for s in &state.services.items {
        let id = ResourceRef::of(&resources::SERVICES, &s.metadata);
        services.insert(
            (id.namespace.clone().unwrap_or_default(), id.name.clone()),
            id,
        );
    }

    // ConfigMaps: keys, and the values that name services or hosts.
    for cm in &state.configmaps.items {
        let id = ResourceRef::of(&resources::CONFIGMAPS, &cm.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let mut keys: Vec<String> = cm.data.iter().flatten().map(|(k, _)| k.clone()).collect();
        keys.extend(cm.binary_data.iter().flatten().map(|(k, _)| k.clone()));
        let mut references = Vec::new();
        for (key, value) in cm.data.iter().flatten() {
            let mut mentioned = false;
            // Whole config files as values: look at each line.
            for line in value.lines().take(2000) {
                for host in hosts_in(line) {
                    if let Some(svc) = service_for_host(&host, &ns, &services) {
                        mentioned = true;
                        g.edges.push(Edge {
                            from: id.clone(),
                            to: svc.clone(),
                            relation: Relation::Mentions,
                            layer: Layer::Inferred,
                            observed_at: state.configmaps.observed_at,
                            via: Some(key.clone()),
                        });
                    }
                }
            }
            if mentioned || host_like(value) {
                references.push(ConfigReference {
                    key: key.clone(),
                    value: value.chars().take(300).collect(),
                });
            }
        }
        g.add(
            id,
            state.configmaps.observed_at,
            &cm.metadata,
            NodeDetail::ConfigMap { keys, references },
        );
    }

    // Services → pods by selector; ready endpoints from EndpointSlices, else from pods.
    let mut slice_ready: HashMap<(String, String), (usize, bool)> = HashMap::new();
    for es in &state.endpointslices.items {
        let id = ResourceRef::of(&resources::ENDPOINTSLICES, &es.metadata);
        let svc = es
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("kubernetes.io/service-name"))
            .cloned();
        let ready = es
            .endpoints
            .iter()
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
            .count();
        let not_ready = es.endpoints.len() - ready;
        if let Some(svc) = &svc {
            let entry = slice_ready
                .entry((id.namespace.clone().unwrap_or_default(), svc.clone()))
                .or_insert((0, true));
            entry.0 += ready;
        }
        g.add(
            id,
            state.endpointslices.observed_at,
            &es.metadata,
            NodeDetail::EndpointSlice {
                service: svc,
                ready,
                not_ready,
            },
        );
    }
    let pods_by_ns: HashMap<&str, Vec<&Pod>> =
        state.pods.items.iter().fold(HashMap::new(), |mut m, p| {
            m.entry(p.metadata.namespace.as_deref().unwrap_or_default())
                .or_default()
                .push(p);
            m
        });
    for s in &state.services.items {
        let id = ResourceRef::of(&resources::SERVICES, &s.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let default_spec = ServiceSpec::default();
        let spec = s.spec.as_ref().unwrap_or(&default_spec);
        let selector = spec.selector.clone().unwrap_or_default();
        let mut ready_pods = 0;
        let no_labels = BTreeMap::new();
        if !selector.is_empty() {
            for p in pods_by_ns.get(ns.as_str()).into_iter().flatten() {
                let labels = p.metadata.labels.as_ref().unwrap_or(&no_labels);
                if map_selects(&selector, labels) {
                    if pod_ready(p) {
                        ready_pods += 1;
                    }
                    g.edges.push(Edge {
                        from: id.clone(),
                        to: ResourceRef::of(&resources::PODS, &p.metadata),
                        relation: Relation::Selects,
                        layer: Layer::Certain,
                        observed_at: state.services.observed_at.max(state.pods.observed_at),
                        via: None,
                    });
                }
            }
        }
        let ready_endpoints = match slice_ready.get(&(ns.clone(), id.name.clone())) {
            Some((n, _)) => *n,
            None => ready_pods,
        };
        let ports = spec
            .ports
            .iter()
            .flatten()
            .map(|p| format!("{}/{}", p.port, p.protocol.as_deref().unwrap_or("TCP")))
            .collect();
        let detail = NodeDetail::Service {
            service_type: spec.type_.clone().unwrap_or_else(|| "ClusterIP".into()),
            selector,
            ports,
            ready_endpoints,
        };
        g.add(id, state.services.observed_at, &s.metadata, detail);
    }

    // Pods: containers, node, volumes and env references.
    for p in &state.pods.items {
        let id = ResourceRef::of(&resources::PODS, &p.metadata);
        remember(&p.metadata, &id);
        let ns = id.namespace.clone().unwrap_or_default();
        let default_spec = PodSpec::default();
        let spec = p.spec.as_ref().unwrap_or(&default_spec);
        let statuses: &[ContainerStatus] = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        let containers = spec
            .containers
            .iter()
            .map(|c| container_info(Some(c), statuses.iter().find(|s| s.name == c.name), &c.name))
            .collect();
        let observed = state.pods.observed_at;
        if let Some(node) = &spec.node_name {
            g.edges.push(Edge {
                from: id.clone(),
                to: ResourceRef::new("Node", None, node),
                relation: Relation::RunsOn,
                layer: Layer::Certain,
                observed_at: observed,
                via: None,
            });
        }
        let uses = |kind: &str, name: &str, via: String| Edge {
            from: id.clone(),
            to: ResourceRef::new(kind, Some(&ns), name),
            relation: Relation::Uses,
            layer: Layer::Certain,
            observed_at: observed,
            via: Some(via),
        };
        let mut new_edges = Vec::new();
        for v in spec.volumes.iter().flatten() {
            if let Some(cm) = &v.config_map {
                new_edges.push(uses("ConfigMap", &cm.name, format!("volume {}", v.name)));
            }
            if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.as_ref()) {
                new_edges.push(uses("Secret", name, format!("volume {}", v.name)));
            }
            if let Some(pvc) = &v.persistent_volume_claim {
                new_edges.push(uses(
                    "PersistentVolumeClaim",
                    &pvc.claim_name,
                    format!("volume {}", v.name),
                ));
            }
            for src in v
                .projected
                .as_ref()
                .and_then(|p| p.sources.as_ref())
                .into_iter()
                .flatten()
            {
                if let Some(cm) = &src.config_map {
                    new_edges.push(uses("ConfigMap", &cm.name, format!("volume {}", v.name)));
                }
                if let Some(s) = &src.secret {
                    new_edges.push(uses("Secret", &s.name, format!("volume {}", v.name)));
                }
            }
        }
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            for ef in c.env_from.iter().flatten() {
                if let Some(cm) = &ef.config_map_ref {
                    new_edges.push(uses(
                        "ConfigMap",
                        &cm.name,
                        format!("envFrom in {}", c.name),
                    ));
                }
                if let Some(s) = &ef.secret_ref {
                    new_edges.push(uses("Secret", &s.name, format!("envFrom in {}", c.name)));
                }
            }
            for e in c.env.iter().flatten() {
                if let Some(src) = &e.value_from {
                    if let Some(r) = &src.config_map_key_ref {
                        new_edges.push(uses(
                            "ConfigMap",
                            &r.name,
                            format!("env {} in {}", e.name, c.name),
                        ));
                    }
                    if let Some(r) = &src.secret_key_ref {
                        new_edges.push(uses(
                            "Secret",
                            &r.name,
                            format!("env {} in {}", e.name, c.name),
                        ));
                    }
                }
                if let Some(value) = &e.value {
                    for host in hosts_in(value) {
                        if let Some(svc) = service_for_host(&host, &ns, &services) {
                            new_edges.push(Edge {
                                from: id.clone(),
                                to: svc.clone(),
                                relation: Relation::Mentions,
                                layer: Layer::Inferred,
                                observed_at: observed,
                                via: Some(format!("env {} in {}", e.name, c.name)),
                            });
                        }
                    }
                }
            }
        }
        g.edges.extend(new_edges);
        let detail = NodeDetail::Pod {
            phase: p.status.as_ref().and_then(|s| s.phase.clone()),
            status: pod_status_text(p),
            node: spec.node_name.clone(),
            containers,
        };
        g.add(id, observed, &p.metadata, detail);
    }

    // Owner references (after every owner has a uid on record).
    let owned: Vec<(&ObjectMeta, &ResourceType, DateTime<Utc>)> = state
        .replicasets
        .items
        .iter()
        .map(|o| {
            (
                &o.metadata,
                &resources::REPLICASETS,
                state.replicasets.observed_at,
            )
        })
        .chain(
            state
                .pods
                .items
                .iter()
                .map(|o| (&o.metadata, &resources::PODS, state.pods.observed_at)),
        )
        .chain(
            state
                .jobs
                .items
                .iter()
                .map(|o| (&o.metadata, &resources::JOBS, state.jobs.observed_at)),
        )
        .collect();
    for (meta, t, observed) in owned {
        let id = ResourceRef::of(t, meta);
        for owner in meta.owner_references.iter().flatten() {
            let from = by_uid.get(&owner.uid).cloned().unwrap_or_else(|| {
                ResourceRef::new(&owner.kind, meta.namespace.as_deref(), &owner.name)
            });
            g.edges.push(Edge {
                from,
                to: id.clone(),
                relation: Relation::Owns,
                layer: Layer::Certain,
                observed_at: observed,
                via: None,
            });
        }
    }

    // Ingresses → services.
    for ing in &state.ingresses.items {
        let id = ResourceRef::of(&resources::INGRESSES, &ing.metadata);
        let ns = id.namespace.clone().unwrap_or_default();
        let spec = ing.spec.clone().unwrap_or_default();
        let mut hosts = Vec::new();
        let observed = state.ingresses.observed_at;
        let mut route = |svc: &str, via: String| {
            g.edges.push(Edge {
                from: id.clone(),
                to: ResourceRef::new("Service", Some(&ns), svc),
                relation: Relation::Routes,
                layer: Layer::Certain,
                observed_at: observed,
                via: Some(via),
            });
        };
        if let Some(svc) = spec
            .default_backend
            .as_ref()
            .and_then(|b| b.service.as_ref())
        {
            route(&svc.name, "default backend".into());
        }
        for rule in spec.rules.iter().flatten() {
            let host = rule.host.clone().unwrap_or_else(|| "*".into());
            hosts.push(host.clone());
            for path in rule.http.iter().flat_map(|h| h.paths.iter()) {
                if let Some(svc) = &path.backend.service {
                    route(
                        &svc.name,
                        format!("{host}{}", path.path.as_deref().unwrap_or("/")),
                    );
                }
            }
        }
        g.add(id, observed, &ing.metadata, NodeDetail::Ingress { hosts });
    }

    // HPAs → their targets.
    for h in &state.hpas.items {
        let id = ResourceRef::of(&resources::HPAS, &h.metadata);
        let spec = h.spec.clone().unwrap_or_default();
        let st = h.status.clone().unwrap_or_default();
        let target = ResourceRef::new(
            &spec.scale_target_ref.kind,
            id.namespace.as_deref(),
            &spec.scale_target_ref.name,
        );
        g.edges.push(Edge {
            from: id.clone(),
            to: target.clone(),
            relation: Relation::Scales,
            layer: Layer::Certain,
            observed_at: state.hpas.observed_at,
            via: None,
        });
        let detail = NodeDetail::Hpa {
            min: spec.min_replicas.unwrap_or(1),
            max: spec.max_replicas,
            current: st.current_replicas.unwrap_or(0),
            desired: st.desired_replicas,
            target: target.to_string(),
        };
        g.add(id, state.hpas.observed_at, &h.metadata, detail);
    }

    // Events, attached to their objects.
    for e in &state.events.items {
        let io = &e.involved_object;
        let about = ResourceRef::new(
            io.kind.as_deref().unwrap_or_default(),
            io.namespace.as_deref().or(e.metadata.namespace.as_deref()),
            io.name.as_deref().unwrap_or_default(),
        );
        let last_seen = opt_time(e.last_timestamp.as_ref())
            .or_else(|| {
                e.event_time
                    .as_ref()
                    .map(|t| time(&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t.0)))
            })
            .or_else(|| opt_time(e.first_timestamp.as_ref()));
        g.events.push(EventInfo {
            about,
            type_: e.type_.clone().unwrap_or_else(|| "Normal".into()),
            reason: e.reason.clone().unwrap_or_default(),
            message: e.message.clone().unwrap_or_default(),
            count: e
                .series
                .as_ref()
                .and_then(|s| s.count)
                .or(e.count)
                .unwrap_or(1),
            last_seen,
        });
    }
    g.events.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
    g.reindex();
    g
}

fn annotation(meta: &ObjectMeta, key: &str) -> Option<String> {
    meta.annotations.as_ref().and_then(|a| a.get(key)).cloned()
}

/// Whether the pod's Ready condition is true.
pub fn pod_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

/// kubectl's STATUS column for a typed pod.
pub fn pod_status_text(p: &Pod) -> String {
    let status = p.status.as_ref();
    let mut reason = status
        .and_then(|s| s.reason.clone())
        .or_else(|| status.and_then(|s| s.phase.clone()))
        .unwrap_or_default();
    let inits = status.and_then(|s| s.init_container_statuses.as_ref());
    let mut initializing = false;
    for (i, c) in inits.into_iter().flatten().enumerate() {
        let state = c.state.as_ref();
        let term = state.and_then(|s| s.terminated.as_ref());
        if term.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        initializing = true;
        let wait = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone());
        reason = match (term, wait) {
            (Some(t), _) => match &t.reason {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", t.exit_code),
            },
            (None, Some(w)) if w != "PodInitializing" => format!("Init:{w}"),
            _ => format!("Init:{i}/{}", inits.map_or(0, Vec::len)),
        };
        break;
    }
    if !initializing {
        let mut has_running = false;
        for c in status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .rev()
        {
            let state = c.state.as_ref();
            if let Some(w) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
            {
                reason = w;
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                reason = match (&t.reason, t.signal) {
                    (Some(r), _) => r.clone(),
                    (None, Some(sig)) if sig != 0 => format!("Signal:{sig}"),
                    _ => format!("ExitCode:{}", t.exit_code),
                };
            } else if state.is_some_and(|s| s.running.is_some()) && c.ready {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if p.metadata.deletion_timestamp.is_some() {
        reason = "Terminating".into();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_services() {
        assert_eq!(
            hosts_in("http://payments.shop.svc:8080/api"),
            vec!["payments.shop.svc"]
        );
        assert_eq!(hosts_in("redis:6379"), vec!["redis"]);
        assert_eq!(hosts_in("postgres://u:p@db.shop:5432/x"), vec!["db.shop"]);
        assert_eq!(hosts_in("redis"), vec!["redis"]);
        assert!(hosts_in("we use redis for caching").is_empty());
        assert_eq!(
            hosts_in("    proxy_pass http://checkout-api:8080;"),
            vec!["checkout-api"]
        );
        let mut svcs = HashMap::new();
        svcs.insert(
            ("shop".to_string(), "payments".to_string()),
            ResourceRef::new("Service", Some("shop"), "payments"),
        );
        assert!(service_for_host("payments", "shop", &svcs).is_some());
        assert!(service_for_host("payments.shop.svc.cluster.local", "other", &svcs).is_some());
        assert!(service_for_host("payments", "other", &svcs).is_none());
        assert!(service_for_host("api.example.com", "shop", &svcs).is_none());
        assert!(host_like("https://api.example.com"));
        assert!(host_like("redis:6379"));
        assert!(host_like("payments.shop.svc.cluster.local"));
        assert!(!host_like("hello world"));
        assert!(!host_like("42"));
    }
}
