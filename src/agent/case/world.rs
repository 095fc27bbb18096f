//! What the investigation has read so far, typed: the objects (latest read wins), the
//! objects that were asked for by name and do not exist, events, log tails and commits.
//! The walk fills it through the executor; the timeline, the hypotheses and the checks
//! read it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;

use super::objects;
use crate::agent::tools::ToolData;
use crate::agent::tools::data::{CommitSummary, KubeObject, LogTail};
use crate::kube::source::EventSummary;
use crate::kube::state::ResourceRef;

/// One read the walk asks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Read {
    /// One object by name (`resource` as kubectl takes it: `deployments`, `configmaps`).
    Get {
        resource: &'static str,
        namespace: Option<String>,
        name: String,
    },
    /// A list, optionally by label selector.
    List {
        resource: &'static str,
        namespace: Option<String>,
        selector: Option<String>,
    },
    /// A list of every namespace (`kubectl get RESOURCE -A`).
    ListAll { resource: &'static str },
    Logs {
        namespace: Option<String>,
        pod: String,
        container: Option<String>,
        previous: bool,
    },
    /// Events of a namespace, or those about one object.
    Events {
        namespace: Option<String>,
        about: Option<(String, String)>,
    },
    /// The pods on one node, in every namespace.
    PodsOnNode { node: String },
    /// Commits, optionally touching a path.
    GitLog {
        path: Option<String>,
        since_days: u64,
    },
}

impl Read {
    /// The tool call that makes this read.
    pub fn call(&self) -> (&'static str, serde_json::Value) {
        use serde_json::json;
        match self {
            Read::Get {
                resource,
                namespace,
                name,
            } => (
                "kube_get",
                json!({"resource": resource, "namespace": namespace, "name": name}),
            ),
            Read::List {
                resource,
                namespace,
                selector,
            } => {
                let mut args = json!({"resource": resource, "namespace": namespace});
                if let Some(s) = selector {
                    args["selector"] = json!(s);
                }
                ("kube_get", args)
            }
            Read::ListAll { resource } => (
                "kube_get",
                json!({"resource": resource, "all_namespaces": true}),
            ),
            Read::Logs {
                namespace,
                pod,
                container,
                previous,
            } => {
                let mut args = json!({"pod": pod, "namespace": namespace, "previous": previous});
                if let Some(c) = container {
                    args["container"] = json!(c);
                }
                ("kube_logs", args)
            }
            Read::Events { namespace, about } => {
                let mut args = json!({"namespace": namespace});
                if let Some((kind, name)) = about {
                    args["kind"] = json!(kind);
                    args["name"] = json!(name);
                }
                ("kube_events", args)
            }
            Read::PodsOnNode { node } => ("kube_get", json!({"resource": "pods", "node": node})),
            Read::GitLog { path, since_days } => {
                let mut args = json!({"since_days": since_days, "max": 20});
                if let Some(p) = path {
                    args["path"] = json!(p);
                }
                ("git_log", args)
            }
        }
    }
}

/// Everything read, typed.
#[derive(Debug, Clone, Default)]
pub struct World {
    /// "Now" of the data (a replay's recording time).
    pub now: DateTime<Utc>,
    /// The namespace the investigation started in.
    pub namespace: Option<String>,
    objects: BTreeMap<ResourceRef, KubeObject>,
    /// Objects asked for by name that do not exist, with what the API said.
    pub missing: BTreeMap<ResourceRef, String>,
    /// Kinds that cannot be read here (not served, forbidden), with why.
    pub unreadable: BTreeMap<String, String>,
    pub events: Vec<EventSummary>,
    pub logs: Vec<LogTail>,
    pub commits: Vec<CommitSummary>,
    /// Reads made so far (each is made once).
    pub done: Vec<Read>,
}

/// The kind of a `kube_get` resource name.
pub fn kind_of(resource: &str) -> String {
    crate::kube::resources::resolve(resource)
        .map(|t| t.kind.to_string())
        .unwrap_or_else(|| match resource {
            "networkpolicies" => "NetworkPolicy".into(),
            "storageclasses" => "StorageClass".into(),
            "persistentvolumes" => "PersistentVolume".into(),
            "serviceaccounts" => "ServiceAccount".into(),
            other => other.to_string(),
        })
}

/// The kubectl resource name of a kind.
pub fn resource_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Deployment" => "deployments",
        "StatefulSet" => "statefulsets",
        "DaemonSet" => "daemonsets",
        "ReplicaSet" => "replicasets",
        "Job" => "jobs",
        "CronJob" => "cronjobs",
        "Service" => "services",
        "Node" => "nodes",
        "PersistentVolumeClaim" => "persistentvolumeclaims",
        "PersistentVolume" => "persistentvolumes",
        "StorageClass" => "storageclasses",
        "HorizontalPodAutoscaler" => "horizontalpodautoscalers",
        "Ingress" => "ingresses",
        "ConfigMap" => "configmaps",
        "Secret" => "secrets",
        "ServiceAccount" => "serviceaccounts",
        "NetworkPolicy" => "networkpolicies",
        "Pod" => "pods",
        "Certificate" => "certificates",
        "CertificateRequest" => "certificaterequests",
        "Issuer" => "issuers",
        "ClusterIssuer" => "clusterissuers",
        "Order" => "orders",
        "Challenge" => "challenges",
        "GatewayClass" => "gatewayclasses",
        "Gateway" => "gateways",
        "HTTPRoute" => "httproutes",
        "IngressRoute" => "ingressroutes",
        "Middleware" => "middlewares",
        _ => return None,
    })
}

impl World {
    pub fn new(now: DateTime<Utc>, namespace: Option<String>) -> Self {
        Self {
            now,
            namespace,
            ..Self::default()
        }
    }

    /// Take in objects of one kind as a list read would (for tests of what reads it).
    #[cfg(test)]
    pub fn absorb_objects(&mut self, kind: &str, items: Vec<serde_json::Value>) {
        let data = ToolData::Objects(
            items
                .into_iter()
                .map(|v| KubeObject::parse(kind, v))
                .collect(),
        );
        self.absorb(&Read::ListAll { resource: "all" }, Ok(&data));
    }

    /// Whether a read was made already.
    pub fn has_read(&self, read: &Read) -> bool {
        self.done.contains(read)
    }

    /// Take in what a read returned (or why it failed).
    pub fn absorb(&mut self, read: &Read, result: Result<&ToolData, &str>) {
        self.done.push(read.clone());
        match (read, result) {
            (_, Ok(ToolData::Objects(items))) => {
                for o in items {
                    self.objects.insert(o.reference(), o.clone());
                }
            }
            (_, Ok(ToolData::Events(events))) => {
                for e in events {
                    if !self.events.iter().any(|x| {
                        x.about == e.about && x.reason == e.reason && x.message == e.message
                    }) {
                        self.events.push(e.clone());
                    }
                }
            }
            (_, Ok(ToolData::Logs(tail))) => self.logs.push(tail.clone()),
            (_, Ok(ToolData::Commits(commits))) => {
                for c in commits {
                    if !self.commits.iter().any(|x| x.id == c.id) {
                        self.commits.push(c.clone());
                    }
                }
            }
            (
                Read::Get {
                    resource,
                    namespace,
                    name,
                },
                Err(e),
            ) if is_not_found(e) => {
                let kind = kind_of(resource);
                self.missing.insert(
                    ResourceRef::new(&kind, namespace.as_deref(), name),
                    e.trim_start_matches("error: ").to_string(),
                );
            }
            (
                Read::Get { resource, .. }
                | Read::List { resource, .. }
                | Read::ListAll { resource },
                Err(e),
            ) => {
                self.unreadable
                    .insert(kind_of(resource), e.trim_start_matches("error: ").into());
            }
            _ => {}
        }
    }

    pub fn get(&self, kind: &str, namespace: Option<&str>, name: &str) -> Option<&KubeObject> {
        self.objects.get(&ResourceRef::new(kind, namespace, name))
    }

    /// Whether an object was asked for and found missing.
    pub fn is_missing(&self, kind: &str, namespace: Option<&str>, name: &str) -> bool {
        self.missing
            .contains_key(&ResourceRef::new(kind, namespace, name))
    }

    pub fn all(&self) -> impl Iterator<Item = &KubeObject> {
        self.objects.values()
    }

    /// Objects of one kind, in one namespace (or cluster-scoped when `None`... or any
    /// namespace when `any_ns`).
    pub fn of_kind<'w>(
        &'w self,
        kind: &'w str,
        namespace: Option<&'w str>,
    ) -> impl Iterator<Item = &'w KubeObject> + 'w {
        self.objects.values().filter(move |o| {
            o.kind() == kind && (namespace.is_none() || o.namespace() == namespace)
        })
    }

    pub fn pods<'w>(&'w self, namespace: Option<&'w str>) -> impl Iterator<Item = &'w Pod> + 'w {
        self.of_kind("Pod", namespace).filter_map(|o| match o {
            KubeObject::Pod(p) => Some(p.as_ref()),
            _ => None,
        })
    }

    /// The pods of a workload read so far.
    pub fn pods_of<'w>(
        &'w self,
        workload: &'w str,
        namespace: Option<&'w str>,
    ) -> impl Iterator<Item = &'w Pod> + 'w {
        self.pods(namespace)
            .filter(move |p| objects::is_pod_of(p, workload))
    }

    /// Events about one object, newest first.
    pub fn events_about<'w>(
        &'w self,
        kind: &'w str,
        name: &'w str,
    ) -> impl Iterator<Item = &'w EventSummary> + 'w {
        self.events
            .iter()
            .filter(move |e| e.about.kind == kind && e.about.name == name)
    }

    /// The log tails of a pod.
    pub fn logs_of<'w>(&'w self, pod: &'w str) -> impl Iterator<Item = &'w LogTail> + 'w {
        self.logs.iter().filter(move |l| l.pod == pod)
    }
}

/// Whether a tool error says the object does not exist.
pub fn is_not_found(e: &str) -> bool {
    let e = e.to_ascii_lowercase();
    (e.contains("not found") || e.contains("404") || e.contains("notfound"))
        && !e.contains("unknown resource type")
}
