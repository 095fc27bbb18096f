//! The read-only Kubernetes client: configuration from the user's kubeconfig (like
//! kubectl: `KUBECONFIG`, `--context`, the context's namespace) or the in-cluster service
//! account, the request guard as the outermost layer, per-request timeouts, a concurrency
//! limit, and paginated lists.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use kube::api::LogParams;
use kube::client::ClientBuilder;
use kube::core::params::{ListParams, WatchParams};
use kube::core::{Request, WatchEvent};
use serde_json::Value;
use tokio::sync::Semaphore;

use super::error::{KubeError, ReadError, ReadErrorKind, chain_text};
use super::guard::RequestGuard;
use super::names::{self, NameKind};
use super::resources::{self, ResourceType};
use crate::config::KubeConfig;

/// Limits of every request.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Whole-request timeout (connect, send, read the answer).
    pub request_timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Items per page of a list.
    pub page_size: u32,
    pub log_tail_lines: i64,
    pub log_tail_bytes: i64,
    /// Most containers whose logs a scan or a recording fetches.
    pub max_log_containers: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self::from(&KubeConfig::default())
    }
}

impl From<&KubeConfig> for ClientOptions {
    fn from(c: &KubeConfig) -> Self {
        Self {
            request_timeout: Duration::from_secs(c.request_timeout_secs.max(1)),
            concurrency: c.concurrency.max(1),
            page_size: 500,
            log_tail_lines: c.log_tail_lines.max(1),
            log_tail_bytes: c.log_tail_bytes.max(1),
            max_log_containers: 50,
        }
    }
}

/// A page of a list, or a whole list.
#[derive(Debug, Clone, Default)]
pub struct ListResult {
    pub items: Vec<Value>,
    pub resource_version: Option<String>,
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Ask for metadata only (PartialObjectMetadataList): used for secrets.
    pub metadata_only: bool,
}

/// A watch that ended: the events seen and the last resourceVersion.
#[derive(Debug, Clone, Default)]
pub struct WatchOutcome {
    /// (type, object) pairs: ADDED, MODIFIED, DELETED.
    pub events: Vec<(String, Value)>,
    pub resource_version: Option<String>,
}

/// The guarded client with its limits. Every request of the Kubernetes part goes through
/// one of these.
#[derive(Clone)]
pub struct KubeClient {
    client: kube::Client,
    guard: RequestGuard,
    limit: Arc<Semaphore>,
    options: ClientOptions,
    server: String,
}

impl std::fmt::Debug for KubeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeClient")
            .field("server", &self.server)
            .field("options", &self.options)
            .finish()
    }
}

impl KubeClient {
    /// Build a client for `config` with the guard as its outermost layer.
    pub fn new(mut config: kube::Config, options: ClientOptions) -> Result<Self, KubeError> {
        install_crypto_provider();
        let server = config.cluster_url.to_string();
        config.connect_timeout = Some(options.request_timeout.min(Duration::from_secs(10)));
        let guard = RequestGuard::new();
        let builder = ClientBuilder::try_from(config).map_err(|e| KubeError::Client {
            server: server.clone(),
            message: chain_text(&e),
        })?;
        let client = builder.with_layer(&guard).build();
        Ok(Self {
            client,
            guard,
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
            options,
            server,
        })
    }

    /// The guarded kube client, for typed `Api<K>` calls.
    pub fn raw(&self) -> &kube::Client {
        &self.client
    }

    pub fn guard(&self) -> &RequestGuard {
        &self.guard
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    /// Run one request under the concurrency limit and the timeout.
    pub(super) async fn run<T, F>(
        &self,
        what: impl Fn() -> ReadError,
        fut: F,
    ) -> Result<T, ReadError>
    where
        F: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
        match tokio::time::timeout(self.options.request_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let base = what();
                Err(ReadError::from_kube(
                    &e,
                    &base.verb,
                    &base.resource,
                    base.namespace.as_deref(),
                    base.name.as_deref(),
                ))
            }
            Err(_) => Err(what().with(
                ReadErrorKind::Timeout,
                None,
                format!(
                    "no answer from {} within {:?}",
                    self.server, self.options.request_timeout
                ),
            )),
        }
    }

    /// `/version`.
    pub async fn version(&self) -> Result<Value, ReadError> {
        let what = || ReadError::new("get", "/version", None, None);
        let req = http::Request::get("/version")
            .body(Vec::new())
            .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
        let text = self.run(what, self.client.request_text(req)).await?;
        serde_json::from_str(&text)
            .map_err(|e| what().with(ReadErrorKind::Other, None, format!("not JSON: {e}")))
    }

    /// List every object of a type, page by page (`limit`/`continue`). A continue token
    /// that expired (410) restarts the list once.
    pub async fn list(
        &self,
        t: &ResourceType,
        namespace: Option<&str>,
        q: &ListQuery,
    ) -> Result<ListResult, ReadError> {
        let ns = if t.namespaced { namespace } else { None };
        let resource = resource_name(t);
        let what = || ReadError::new("list", &resource, ns, None);
        if let Some(e) = checked(what, &[(NameKind::Namespace, ns)]) {
            return Err(e);
        }
        let path = t.list_path(ns);
        let mut out = ListResult::default();
        let mut token: Option<String> = None;
        let mut restarted = false;
        loop {
            let mut lp = ListParams::default().limit(self.options.page_size);
            if let Some(l) = &q.label_selector {
                lp = lp.labels(l);
            }
            if let Some(f) = &q.field_selector {
                lp = lp.fields(f);
            }
            if let Some(tk) = &token {
                lp = lp.continue_token(tk);
            }
            let req = if q.metadata_only {
                Request::new(&path).list_metadata(&lp)
            } else {
                Request::new(&path).list(&lp)
            }
            .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
            let page = match self.run(what, self.client.request_text(req)).await {
                Ok(text) => text,
                Err(e) if e.kind == ReadErrorKind::Gone && token.is_some() && !restarted => {
                    tracing::info!("continue token for {resource} expired; listing again");
                    restarted = true;
                    token = None;
                    out = ListResult::default();
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut page: Value = serde_json::from_str(&page).map_err(|e| {
                what().with(
                    ReadErrorKind::Other,
                    None,
                    format!("answer is not JSON: {e}"),
                )
            })?;
            out.resource_version = page
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
            if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
                out.items.extend(items);
            }
            token = page
                .pointer("/metadata/continue")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// One object.
    pub async fn get(
        &self,
        t: &ResourceType,
        namespace: Option<&str>,
        name: &str,
    ) -> Result<Value, ReadError> {
        let ns = if t.namespaced { namespace } else { None };
        let resource = resource_name(t);
        let what = || ReadError::new("get", &resource, ns, Some(name));
        if let Some(e) = checked(
            what,
            &[(NameKind::Namespace, ns), (NameKind::Object, Some(name))],
        ) {
            return Err(e);
        }
        let request = Request::new(t.list_path(ns));
        // A Secret's values are never fetched: its metadata is all triage reads.
        let req = if *t == resources::SECRETS {
            request.get_metadata(name, &Default::default())
        } else {
            request.get(name, &Default::default())
        }
        .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
        let text = self.run(what, self.client.request_text(req)).await?;
        serde_json::from_str(&text).map_err(|e| {
            what().with(
                ReadErrorKind::Other,
                None,
                format!("answer is not JSON: {e}"),
            )
        })
    }

    /// A bounded log tail (lines and bytes from the options).
    pub async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<String, ReadError> {
        let what = || ReadError::new("get", "pods/log", Some(namespace), Some(pod));
        if let Some(e) = checked(
            what,
            &[
                (NameKind::Namespace, Some(namespace)),
                (NameKind::Object, Some(pod)),
                (NameKind::Container, container),
            ],
        ) {
            return Err(e);
        }
        let lp = LogParams {
            container: container.map(str::to_string),
            previous,
            tail_lines: Some(self.options.log_tail_lines),
            limit_bytes: Some(self.options.log_tail_bytes),
            ..LogParams::default()
        };
        let req = Request::new(resources::PODS.list_path(Some(namespace)))
            .logs(pod, &lp)
            .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
        self.run(what, self.client.request_text(req)).await
    }

    /// Watch a type from `resource_version` for at most `timeout_secs`. A resourceVersion
    /// the server no longer has ends in a `Gone` (410) error.
    pub async fn watch(
        &self,
        t: &ResourceType,
        namespace: Option<&str>,
        resource_version: &str,
        timeout_secs: u32,
    ) -> Result<WatchOutcome, ReadError> {
        let ns = if t.namespaced { namespace } else { None };
        let resource = resource_name(t);
        let what = || ReadError::new("watch", &resource, ns, None);
        if let Some(e) = checked(what, &[(NameKind::Namespace, ns)]) {
            return Err(e);
        }
        let wp = WatchParams::default().timeout(timeout_secs);
        let req = Request::new(t.list_path(ns))
            .watch(&wp, resource_version)
            .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|e| what().with(ReadErrorKind::Other, None, e.to_string()))?;
        let budget = Duration::from_secs(timeout_secs as u64) + self.options.request_timeout;
        let stream = async {
            let stream = self
                .client
                .request_events::<Value>(req)
                .await
                .map_err(|e| ReadError::from_kube(&e, "watch", &resource, ns, None))?;
            futures::pin_mut!(stream);
            let mut out = WatchOutcome {
                events: Vec::new(),
                resource_version: Some(resource_version.to_string()),
            };
            while let Some(ev) = stream
                .try_next()
                .await
                .map_err(|e| ReadError::from_kube(&e, "watch", &resource, ns, None))?
            {
                let (ty, obj) = match ev {
                    WatchEvent::Added(o) => ("ADDED", o),
                    WatchEvent::Modified(o) => ("MODIFIED", o),
                    WatchEvent::Deleted(o) => ("DELETED", o),
                    WatchEvent::Bookmark(b) => {
                        out.resource_version = Some(b.metadata.resource_version.clone());
                        continue;
                    }
                    WatchEvent::Error(status) => {
                        return Err(ReadError::from_kube(
                            &kube::Error::Api(status),
                            "watch",
                            &resource,
                            ns,
                            None,
                        ));
                    }
                };
                if let Some(rv) = obj
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                {
                    out.resource_version = Some(rv.to_string());
                }
                out.events.push((ty.to_string(), obj));
            }
            Ok(out)
        };
        match tokio::time::timeout(budget, stream).await {
            Ok(r) => r,
            Err(_) => Err(what().with(
                ReadErrorKind::Timeout,
                None,
                format!("watch did not end within {budget:?}"),
            )),
        }
    }
}

/// Every name that goes into a request path is a valid Kubernetes name, or nothing is
/// requested.
fn checked(what: impl Fn() -> ReadError, parts: &[(NameKind, Option<&str>)]) -> Option<ReadError> {
    parts.iter().find_map(|(kind, value)| {
        let m = names::check(*kind, (*value)?).err()?;
        Some(what().with(ReadErrorKind::Refused, None, m))
    })
}

/// rustls needs a process-wide crypto provider when more than one is compiled in.
pub(crate) fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err only when another thread installed one first, which is just as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// `pods`, or `deployments.apps` for named groups, as RBAC messages spell them.
pub fn resource_name(t: &ResourceType) -> String {
    if t.group.is_empty() {
        t.plural.to_string()
    } else {
        format!("{}.{}", t.plural, t.group)
    }
}
