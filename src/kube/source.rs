//! `ClusterSource`: where cluster data comes from — a live cluster through the user's
//! kubeconfig (or the in-cluster service account), or a snapshot served by the replay
//! server. Either way the same guarded client reads it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::client::{ClientOptions, KubeClient, ListQuery, WatchOutcome};
use super::error::{KubeError, ReadError, ReadErrorKind};
use super::kubeconfig;
use super::replay::{ReplayOptions, ReplayServer};
use super::resources::{self, ResourceType};
use super::snapshot::Snapshot;
use super::state::ResourceRef;
use crate::config::KubeConfig;

/// Which cluster to read: a kubeconfig context (default: the current one) or a recorded
/// snapshot, and a namespace (default: the context's) or all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterChoice {
    /// A kubeconfig file instead of `$KUBECONFIG` / `~/.kube/config`.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    /// A snapshot file to serve and read instead of a live cluster.
    pub replay: Option<PathBuf>,
}

/// Which namespaces to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Namespace(String),
    AllNamespaces,
}

impl Scope {
    /// The namespace to put in URLs (none for all namespaces).
    pub fn namespace(&self) -> Option<&str> {
        match self {
            Scope::Namespace(ns) => Some(ns),
            Scope::AllNamespaces => None,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::Namespace(ns) => write!(f, "namespace {ns}"),
            Scope::AllNamespaces => f.write_str("all namespaces"),
        }
    }
}

/// Where the connection came from.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Origin {
    Kubeconfig {
        files: Vec<PathBuf>,
        context: Option<String>,
    },
    InCluster,
    Replay {
        file: Option<PathBuf>,
        /// The API server the snapshot was recorded from.
        #[serde(skip_serializing_if = "Option::is_none")]
        recorded_from: Option<String>,
    },
    Url,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Kubeconfig { files, context } => {
                let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "context {} from {}",
                    context.as_deref().unwrap_or("?"),
                    files.join(":")
                )
            }
            Origin::InCluster => f.write_str("in-cluster service account"),
            Origin::Replay {
                file,
                recorded_from,
            } => {
                f.write_str("replay")?;
                if let Some(p) = file {
                    write!(f, " of {}", p.display())?;
                }
                if let Some(server) = recorded_from {
                    write!(f, " (recorded from {server})")?;
                }
                Ok(())
            }
            Origin::Url => f.write_str("explicit URL"),
        }
    }
}

/// Whether the cluster answers.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ClusterStatus {
    Reachable {
        server: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    Unreachable {
        server: String,
        reason: String,
    },
}

impl ClusterStatus {
    pub fn is_reachable(&self) -> bool {
        matches!(self, ClusterStatus::Reachable { .. })
    }
}

/// An event, as the agent's tools show it.
#[derive(Debug, Clone, Serialize)]
pub struct EventSummary {
    pub about: ResourceRef,
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
    /// When it was first seen (for a repeated event, the first of the series).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

/// A cluster to read: live or replayed.
pub struct ClusterSource {
    client: KubeClient,
    origin: Origin,
    default_scope: Scope,
    replay: Option<ReplayServer>,
    /// Replays read as of their recording time.
    fixed_now: Option<DateTime<Utc>>,
    context: Option<String>,
    /// A picture kept current by watches (`triage watch`): scans read it instead of
    /// listing again.
    /// What is kept beside this source for its lifetime (the watched picture), set once.
    attached: std::sync::OnceLock<std::sync::Arc<dyn std::any::Any + Send + Sync>>,
}

impl std::fmt::Debug for ClusterSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSource")
            .field("origin", &self.origin)
            .field("server", &self.client.server())
            .finish()
    }
}

impl ClusterSource {
    /// Connect as the choice and the config say: a replay file, else the kubeconfig
    /// (context, namespace, all namespaces), else the in-cluster service account.
    pub async fn connect(args: &ClusterChoice, cfg: &KubeConfig) -> Result<Self, KubeError> {
        let options = ClientOptions::from(cfg);
        if let Some(file) = &args.replay {
            let mut source = Self::replay_file(file, options).await?;
            if let Some(ns) = &args.namespace {
                source.default_scope = Scope::Namespace(ns.clone());
            }
            if args.all_namespaces {
                source.default_scope = Scope::AllNamespaces;
            }
            return Ok(source);
        }
        let context = args.context.as_deref().or(cfg.context.as_deref());
        let loaded = match &args.kubeconfig {
            Some(file) => {
                kubeconfig::load_kubeconfig_files(std::slice::from_ref(file), context).await?
            }
            None => kubeconfig::load_config(context).await?,
        };
        let namespace = args
            .namespace
            .clone()
            .or_else(|| cfg.namespace.clone())
            .unwrap_or_else(|| loaded.config.default_namespace.clone());
        let mut config = loaded.config;
        config.default_namespace = namespace.clone();
        let origin = if loaded.files.is_empty() {
            Origin::InCluster
        } else {
            Origin::Kubeconfig {
                files: loaded.files,
                context: loaded.context.clone(),
            }
        };
        Ok(Self {
            client: KubeClient::new(config, options)?,
            origin,
            default_scope: if args.all_namespaces {
                Scope::AllNamespaces
            } else {
                Scope::Namespace(namespace)
            },
            replay: None,
            fixed_now: None,
            context: loaded.context,
            attached: Default::default(),
        })
    }

    /// Serve a snapshot file on loopback and read it through the client.
    pub async fn replay_file(path: &Path, options: ClientOptions) -> Result<Self, KubeError> {
        let snapshot = Snapshot::load(path)?;
        Self::replay(
            snapshot,
            Some(path.to_path_buf()),
            options,
            ReplayOptions::default(),
        )
        .await
    }

    /// Serve a snapshot on loopback (with these server options) and read it through the
    /// client.
    pub async fn replay(
        snapshot: Snapshot,
        file: Option<PathBuf>,
        options: ClientOptions,
        replay: ReplayOptions,
    ) -> Result<Self, KubeError> {
        let default_scope = match (snapshot.all_namespaces, snapshot.namespaces.as_slice()) {
            (false, [one]) => Scope::Namespace(one.clone()),
            _ => Scope::AllNamespaces,
        };
        let context = snapshot.context.clone();
        let recorded_from = snapshot.server.clone();
        let server = ReplayServer::start(snapshot, replay).await?;
        let url: http::Uri =
            server
                .url()
                .parse()
                .map_err(|e: http::uri::InvalidUri| KubeError::Client {
                    server: server.url(),
                    message: e.to_string(),
                })?;
        let mut config = kube::Config::new(url);
        if let Scope::Namespace(ns) = &default_scope {
            config.default_namespace = ns.clone();
        }
        Ok(Self {
            client: KubeClient::new(config, options)?,
            origin: Origin::Replay {
                file,
                recorded_from,
            },
            default_scope,
            fixed_now: Some(server.recorded_at()),
            replay: Some(server),
            context,
            attached: Default::default(),
        })
    }

    /// Read the API server at `config.cluster_url` (tests, proxies).
    pub fn from_config(config: kube::Config, options: ClientOptions) -> Result<Self, KubeError> {
        let ns = config.default_namespace.clone();
        Ok(Self {
            client: KubeClient::new(config, options)?,
            origin: Origin::Url,
            default_scope: Scope::Namespace(ns),
            replay: None,
            fixed_now: None,
            context: None,
            attached: Default::default(),
        })
    }

    pub fn client(&self) -> &KubeClient {
        &self.client
    }

    pub fn origin(&self) -> &Origin {
        &self.origin
    }

    pub fn context(&self) -> Option<&str> {
        self.context.as_deref()
    }

    /// The namespaces the command line asked for (or the context's namespace).
    pub fn default_scope(&self) -> &Scope {
        &self.default_scope
    }

    /// The replay server behind a replay source.
    pub fn replay_server(&self) -> Option<&ReplayServer> {
        self.replay.as_ref()
    }

    /// Keep `value` beside this source for as long as it lives (the watched picture);
    /// false when something is already attached.
    pub fn attach(&self, value: std::sync::Arc<dyn std::any::Any + Send + Sync>) -> bool {
        self.attached.set(value).is_ok()
    }

    /// What is attached, when it is a `T`.
    pub fn attached<T: std::any::Any + Send + Sync>(&self) -> Option<std::sync::Arc<T>> {
        self.attached
            .get()
            .cloned()
            .and_then(|a| a.downcast::<T>().ok())
    }

    /// "Now" for analysis: the recording time of a replay, the clock otherwise.
    pub fn now(&self) -> DateTime<Utc> {
        self.fixed_now.unwrap_or_else(Utc::now)
    }

    /// Ask `/version`: reachable, or why not.
    pub async fn status(&self) -> ClusterStatus {
        let server = self.client.server().to_string();
        match self.client.version().await {
            Ok(v) => ClusterStatus::Reachable {
                server,
                version: v
                    .get("gitVersion")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
            Err(e) if matches!(e.kind, ReadErrorKind::Unreachable | ReadErrorKind::Timeout) => {
                ClusterStatus::Unreachable {
                    server,
                    reason: e.message,
                }
            }
            // Any HTTP answer means something is listening.
            Err(_) => ClusterStatus::Reachable {
                server,
                version: None,
            },
        }
    }

    /// `kubectl get RESOURCE [NAME]`: one object, or the list (raw JSON items).
    pub async fn kube_get(
        &self,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Value, KubeError> {
        let t = resolve(resource)?;
        let ns = namespace.or(self.default_scope.namespace());
        match name {
            Some(name) => Ok(self.client.get(t, ns, name).await?),
            None => {
                let q = ListQuery {
                    label_selector: label_selector.map(str::to_string),
                    metadata_only: *t == resources::SECRETS,
                    ..ListQuery::default()
                };
                let list = self
                    .client
                    .list(t, ns, &q)
                    .await
                    .map_err(|e| absent(t, e))?;
                Ok(Value::Array(list.items))
            }
        }
    }

    /// `kubectl get RESOURCE -A`: the list across every namespace (raw JSON items).
    pub async fn kube_list_all(
        &self,
        resource: &str,
        label_selector: Option<&str>,
    ) -> Result<Value, KubeError> {
        let t = resolve(resource)?;
        let q = ListQuery {
            label_selector: label_selector.map(str::to_string),
            metadata_only: *t == resources::SECRETS,
            ..ListQuery::default()
        };
        let list = self
            .client
            .list(t, None, &q)
            .await
            .map_err(|e| absent(t, e))?;
        Ok(Value::Array(list.items))
    }

    /// The pods on one node, in every namespace (`kubectl get pods -A --field-selector
    /// spec.nodeName=NODE`): what else runs where a workload is evicted or starved.
    pub async fn pods_on_node(&self, node: &str) -> Result<Value, KubeError> {
        let q = ListQuery {
            field_selector: Some(format!("spec.nodeName={node}")),
            ..ListQuery::default()
        };
        let list = self.client.list(&resources::PODS, None, &q).await?;
        Ok(Value::Array(list.items))
    }

    /// `kubectl logs POD [-c C] [--previous]`, bounded by the configured lines and bytes.
    pub async fn kube_logs(
        &self,
        namespace: Option<&str>,
        pod: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<String, KubeError> {
        let ns = namespace
            .or(self.default_scope.namespace())
            .unwrap_or(self.client.default_namespace())
            .to_string();
        Ok(self.client.logs(&ns, pod, container, previous).await?)
    }

    /// Events in a namespace (or all), optionally only those about one object; newest first.
    pub async fn kube_events(
        &self,
        namespace: Option<&str>,
        about: Option<&ResourceRef>,
    ) -> Result<Vec<EventSummary>, KubeError> {
        let ns = about
            .and_then(|r| r.namespace.as_deref())
            .or(namespace)
            .or(self.default_scope.namespace());
        let field_selector = about.map(|r| {
            format!(
                "involvedObject.kind={},involvedObject.name={}",
                r.kind, r.name
            )
        });
        let q = ListQuery {
            field_selector,
            ..ListQuery::default()
        };
        let list = self.client.list(&resources::EVENTS, ns, &q).await?;
        let mut out: Vec<EventSummary> = list.items.iter().map(event_summary).collect();
        out.sort_by(|a, b| b.last_seen.cmp(&a.last_seen));
        Ok(out)
    }

    /// Watch events from a resourceVersion for up to `timeout_secs`. When the server no
    /// longer has that version (410 Gone), list again and report the list as the current
    /// state, as a client-go informer does.
    pub async fn watch_events(
        &self,
        namespace: Option<&str>,
        resource_version: &str,
        timeout_secs: u32,
    ) -> Result<(WatchOutcome, Option<ReadError>), KubeError> {
        match self
            .client
            .watch(
                &resources::EVENTS,
                namespace,
                resource_version,
                timeout_secs,
            )
            .await
        {
            Ok(w) => Ok((w, None)),
            Err(e) if e.kind == ReadErrorKind::Gone => {
                tracing::info!("{e}; listing events again");
                let list = self
                    .client
                    .list(&resources::EVENTS, namespace, &ListQuery::default())
                    .await?;
                let outcome = WatchOutcome {
                    events: list
                        .items
                        .into_iter()
                        .map(|o| ("ADDED".to_string(), o))
                        .collect(),
                    resource_version: list.resource_version,
                };
                Ok((outcome, Some(e)))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A 404 on the collection of an add-on's type: the add-on is not installed, said so.
fn absent(t: &ResourceType, e: ReadError) -> ReadError {
    if e.kind == ReadErrorKind::NotFound && resources::add_on(t).is_some() {
        let message = resources::not_installed(t);
        ReadError { message, ..e }
    } else {
        e
    }
}

fn resolve(resource: &str) -> Result<&'static ResourceType, KubeError> {
    resources::resolve(resource).ok_or_else(|| {
        KubeError::from(ReadError::new("get", resource, None, None).with(
            ReadErrorKind::NotFound,
            None,
            format!(
                "unknown resource type `{resource}` (known: {})",
                resources::SERVED_TYPES.iter().map(|t| t.plural).collect::<Vec<_>>().join(", ")
            ),
        ))
    })
}

fn event_summary(e: &Value) -> EventSummary {
    let s = |p: &str| {
        e.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let ns = s("/involvedObject/namespace");
    EventSummary {
        about: ResourceRef::new(
            &s("/involvedObject/kind"),
            Some(&ns),
            &s("/involvedObject/name"),
        ),
        type_: s("/type"),
        reason: s("/reason"),
        message: s("/message"),
        count: e.get("count").and_then(Value::as_i64).unwrap_or(1),
        last_seen: [
            "/lastTimestamp",
            "/eventTime",
            "/firstTimestamp",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str).map(str::to_string)),
        first_seen: [
            "/firstTimestamp",
            "/eventTime",
            "/metadata/creationTimestamp",
        ]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str).map(str::to_string)),
    }
}
