//! Building the graph of a parsed snapshot: the nodes of each kind, in a fixed order, then
//! the relations that span kinds (owners, routes, scaling) and the events.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Pod, PodSpec, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::hosts::{host_like, hosts_in, service_for_host};
use super::model::{ConfigReference, Edge, EventInfo, Graph, Layer, NodeDetail, Relation};
use super::pods::{container_info, pod_ready, pod_status_text};
use super::refs::{PodRefs, Services};
use crate::kube::ingress_paths;
use crate::kube::resources::{self, ResourceType};
use crate::kube::selector::map_selects;
use crate::kube::state::{ClusterState, ResourceRef, opt_time, time};

/// Build the graph of a parsed snapshot.
pub fn build(state: &ClusterState) -> Graph {
    let mut b = Builder {
        g: Graph::new(state.as_of),
        by_uid: HashMap::new(),
    };
    b.namespaces_and_nodes(state);
    b.workloads(state);
    b.batch(state);
    b.storage(state);
    let services = services_by_name(state);
    b.configmaps(state, &services);
    b.services(state);
    for p in &state.pods.items {
        b.pod(p, state.pods.observed_at, &services);
    }
    b.owners(state);
    b.ingresses(state);
    b.hpas(state);
    b.events(state);
    let mut g = b.g;
    g.events.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
    g.reindex();
    g
}

struct Builder {
    g: Graph,
    /// Objects by uid, for owner references.
    by_uid: HashMap<String, ResourceRef>,
}

impl Builder {
    /// Add a node that owners may refer to by uid.
    fn add_owned(
        &mut self,
        id: ResourceRef,
        observed_at: DateTime<Utc>,
        meta: &ObjectMeta,
        detail: NodeDetail,
    ) {
        if let Some(uid) = &meta.uid {
            self.by_uid.insert(uid.clone(), id.clone());
        }
        self.g.add(id, observed_at, meta, detail);
    }

    fn namespaces_and_nodes(&mut self, state: &ClusterState) {
        for ns in &state.namespaces.items {
            let id = ResourceRef::of(&resources::NAMESPACES, &ns.metadata);
            let phase = ns.status.as_ref().and_then(|s| s.phase.clone());
            let detail = NodeDetail::Namespace { phase };
            self.add_owned(id, state.namespaces.observed_at, &ns.metadata, detail);
        }
        for node in &state.nodes.items {
            let id = ResourceRef::of(&resources::NODES, &node.metadata);
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
            self.add_owned(id, state.nodes.observed_at, &node.metadata, detail);
        }
    }

    /// Deployments, StatefulSets, DaemonSets and ReplicaSets.
    fn workloads(&mut self, state: &ClusterState) {
        for d in &state.deployments.items {
            let id = ResourceRef::of(&resources::DEPLOYMENTS, &d.metadata);
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
            self.add_owned(id, state.deployments.observed_at, &d.metadata, detail);
        }
        for s in &state.statefulsets.items {
            let id = ResourceRef::of(&resources::STATEFULSETS, &s.metadata);
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
            self.add_owned(id, state.statefulsets.observed_at, &s.metadata, detail);
        }
        for d in &state.daemonsets.items {
            let id = ResourceRef::of(&resources::DAEMONSETS, &d.metadata);
            let st = d.status.clone().unwrap_or_default();
            let detail = NodeDetail::Workload {
                desired: st.desired_number_scheduled,
                ready: st.number_ready,
                available: st.number_available.unwrap_or(0),
                updated: st.updated_number_scheduled.unwrap_or(0),
                images: template_images(d.spec.as_ref().and_then(|s| s.template.spec.as_ref())),
                revision: None,
            };
            self.add_owned(id, state.daemonsets.observed_at, &d.metadata, detail);
        }
        for rs in &state.replicasets.items {
            let id = ResourceRef::of(&resources::REPLICASETS, &rs.metadata);
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
            self.add_owned(id, state.replicasets.observed_at, &rs.metadata, detail);
        }
    }

    /// Jobs and CronJobs.
    fn batch(&mut self, state: &ClusterState) {
        for j in &state.jobs.items {
            let id = ResourceRef::of(&resources::JOBS, &j.metadata);
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
            self.add_owned(id, state.jobs.observed_at, &j.metadata, detail);
        }
        for c in &state.cronjobs.items {
            let id = ResourceRef::of(&resources::CRONJOBS, &c.metadata);
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
            self.add_owned(id, state.cronjobs.observed_at, &c.metadata, detail);
        }
    }

    /// PersistentVolumeClaims and Secrets (their type only, never their data).
    fn storage(&mut self, state: &ClusterState) {
        for p in &state.pvcs.items {
            let id = ResourceRef::of(&resources::PVCS, &p.metadata);
            let detail = NodeDetail::Pvc {
                phase: p.status.as_ref().and_then(|s| s.phase.clone()),
                storage_class: p.spec.as_ref().and_then(|s| s.storage_class_name.clone()),
                volume: p.spec.as_ref().and_then(|s| s.volume_name.clone()),
            };
            self.add_owned(id, state.pvcs.observed_at, &p.metadata, detail);
        }
        for s in &state.secrets.items {
            let id = ResourceRef::of(&resources::SECRETS, &s.metadata);
            let detail = NodeDetail::Secret {
                secret_type: s.type_.clone(),
            };
            self.g
                .add(id, state.secrets.observed_at, &s.metadata, detail);
        }
    }

    /// ConfigMaps: keys, and the values that name services or hosts.
    fn configmaps(&mut self, state: &ClusterState, services: &Services) {
        let observed_at = state.configmaps.observed_at;
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
                        if let Some(svc) = service_for_host(&host, &ns, services) {
                            mentioned = true;
                            self.g.edges.push(Edge {
                                from: id.clone(),
                                to: svc.clone(),
                                relation: Relation::Mentions,
                                layer: Layer::Inferred,
                                observed_at,
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
            let detail = NodeDetail::ConfigMap { keys, references };
            self.g.add(id, observed_at, &cm.metadata, detail);
        }
    }

    /// EndpointSlices, then Services → pods by selector, with ready endpoints from the
    /// slices (else from the pods).
    fn services(&mut self, state: &ClusterState) {
        let slice_ready = self.endpoint_slices(state);
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
                        self.g.edges.push(Edge {
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
                Some(n) => *n,
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
            self.g
                .add(id, state.services.observed_at, &s.metadata, detail);
        }
    }

    /// EndpointSlice nodes; returns the ready endpoints per (namespace, service).
    fn endpoint_slices(&mut self, state: &ClusterState) -> HashMap<(String, String), usize> {
        let mut slice_ready: HashMap<(String, String), usize> = HashMap::new();
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
                *slice_ready
                    .entry((id.namespace.clone().unwrap_or_default(), svc.clone()))
                    .or_insert(0) += ready;
            }
            let detail = NodeDetail::EndpointSlice {
                service: svc,
                ready,
                not_ready,
            };
            self.g
                .add(id, state.endpointslices.observed_at, &es.metadata, detail);
        }
        slice_ready
    }

    /// A pod: its containers, and edges to its node, volumes and env references.
    fn pod(&mut self, p: &Pod, observed: DateTime<Utc>, services: &Services) {
        let id = ResourceRef::of(&resources::PODS, &p.metadata);
        let default_spec = PodSpec::default();
        let spec = p.spec.as_ref().unwrap_or(&default_spec);
        let statuses = p
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        let containers = spec
            .containers
            .iter()
            .map(|c| container_info(Some(c), statuses.iter().find(|s| s.name == c.name), &c.name))
            .collect();
        if let Some(node) = &spec.node_name {
            self.g.edges.push(Edge {
                from: id.clone(),
                to: ResourceRef::new("Node", None, node),
                relation: Relation::RunsOn,
                layer: Layer::Certain,
                observed_at: observed,
                via: None,
            });
        }
        let refs = PodRefs {
            pod: &id,
            ns: id.namespace.clone().unwrap_or_default(),
            observed,
            services,
        };
        let mut edges: Vec<Edge> = spec
            .volumes
            .iter()
            .flatten()
            .flat_map(|v| refs.volume(v))
            .collect();
        for c in spec
            .containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
        {
            edges.extend(refs.container(c));
        }
        self.g.edges.extend(edges);
        let detail = NodeDetail::Pod {
            phase: p.status.as_ref().and_then(|s| s.phase.clone()),
            status: pod_status_text(p),
            node: spec.node_name.clone(),
            containers,
        };
        self.add_owned(id, observed, &p.metadata, detail);
    }

    /// Owner references (after every owner has a uid on record).
    fn owners(&mut self, state: &ClusterState) {
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
                let from = self.by_uid.get(&owner.uid).cloned().unwrap_or_else(|| {
                    ResourceRef::new(&owner.kind, meta.namespace.as_deref(), &owner.name)
                });
                self.g.edges.push(Edge {
                    from,
                    to: id.clone(),
                    relation: Relation::Owns,
                    layer: Layer::Certain,
                    observed_at: observed,
                    via: None,
                });
            }
        }
    }

    /// Ingresses → services.
    fn ingresses(&mut self, state: &ClusterState) {
        for ing in &state.ingresses.items {
            let id = ResourceRef::of(&resources::INGRESSES, &ing.metadata);
            let ns = id.namespace.clone().unwrap_or_default();
            let spec = ing.spec.clone().unwrap_or_default();
            let mut hosts = Vec::new();
            let observed = state.ingresses.observed_at;
            let edges = &mut self.g.edges;
            let mut route = |svc: &str, via: String| {
                edges.push(Edge {
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
            let paths = ingress_paths::of(ing);
            let detail = NodeDetail::Ingress { hosts, paths };
            self.g.add(id, observed, &ing.metadata, detail);
        }
    }

    /// HPAs → their targets.
    fn hpas(&mut self, state: &ClusterState) {
        for h in &state.hpas.items {
            let id = ResourceRef::of(&resources::HPAS, &h.metadata);
            let spec = h.spec.clone().unwrap_or_default();
            let st = h.status.clone().unwrap_or_default();
            let target = ResourceRef::new(
                &spec.scale_target_ref.kind,
                id.namespace.as_deref(),
                &spec.scale_target_ref.name,
            );
            self.g.edges.push(Edge {
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
            self.g.add(id, state.hpas.observed_at, &h.metadata, detail);
        }
    }

    /// Events, attached to their objects.
    fn events(&mut self, state: &ClusterState) {
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
            self.g.events.push(EventInfo {
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
    }
}

/// Services by (namespace, name).
fn services_by_name(state: &ClusterState) -> Services {
    state
        .services
        .items
        .iter()
        .map(|s| {
            let id = ResourceRef::of(&resources::SERVICES, &s.metadata);
            (
                (id.namespace.clone().unwrap_or_default(), id.name.clone()),
                id,
            )
        })
        .collect()
}

/// The images of a pod template's containers.
pub fn template_images(spec: Option<&PodSpec>) -> Vec<String> {
    spec.map(|s| {
        s.containers
            .iter()
            .filter_map(|c| c.image.clone())
            .collect()
    })
    .unwrap_or_default()
}

fn annotation(meta: &ObjectMeta, key: &str) -> Option<String> {
    meta.annotations.as_ref().and_then(|a| a.get(key)).cloned()
}
