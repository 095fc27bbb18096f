//! The read-only Kubernetes client: configuration from the user's kubeconfig (like
//! kubectl: `KUBECONFIG`, `--context`, the context's namespace) or the in-cluster service
//! account, the request guard as the outermost layer, per-request timeouts, a concurrency
//! limit, and paginated lists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use kube::api::LogParams;
use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
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

/// A loaded kubeconfig context.
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: kube::Config,
    /// The context used (none in-cluster).
    pub context: Option<String>,
    /// The kubeconfig files read (empty in-cluster).
    pub files: Vec<PathBuf>,
}

/// The kubeconfig files kubectl would read: `$KUBECONFIG` (a path list), else
/// `~/.kube/config`. Missing files are skipped, as kubectl does.
pub fn kubeconfig_paths() -> (Vec<PathBuf>, String) {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(v) => {
            let all: Vec<PathBuf> = std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect();
            let looked = all
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(":");
            (
                all.into_iter().filter(|p| p.exists()).collect(),
                format!("$KUBECONFIG={looked}"),
            )
        }
        None => {
            let path = dirs::home_dir()
                .unwrap_or_default()
                .join(".kube")
                .join("config");
            let looked = path.display().to_string();
            (
                if path.exists() {
                    vec![path]
                } else {
                    Vec::new()
                },
                looked,
            )
        }
    }
}

/// Load a context from kubeconfig files, or the in-cluster config when there are none.
pub async fn load_config(context: Option<&str>) -> Result<LoadedConfig, KubeError> {
    let (files, looked) = kubeconfig_paths();
    if files.is_empty() {
        return match kube::Config::incluster() {
            Ok(config) => Ok(LoadedConfig {
                config,
                context: None,
                files,
            }),
            Err(e) => Err(KubeError::NoConfig {
                looked,
                in_cluster: chain_text(&e),
            }),
        };
    }
    load_kubeconfig_files(&files, context).await
}

/// Where each named entry was first defined.
#[derive(Default)]
struct Origins {
    contexts: HashMap<String, PathBuf>,
    clusters: HashMap<String, PathBuf>,
    users: HashMap<String, PathBuf>,
}

/// Load `context` (default: `current-context`) from these files, merged like kubectl.
/// Errors name the file and the field.
#[allow(clippy::too_many_lines)] // kubectl's merge rules, field by field
pub async fn load_kubeconfig_files(
    files: &[PathBuf],
    context: Option<&str>,
) -> Result<LoadedConfig, KubeError> {
    let mut merged = Kubeconfig::default();
    let mut origins = Origins::default();
    let mut current_from: Option<PathBuf> = None;
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| KubeError::KubeconfigRead {
            path: path.clone(),
            source,
        })?;
        let kc = Kubeconfig::from_yaml(&text).map_err(|e| parse_error(path, &text, &e))?;
        for c in &kc.contexts {
            origins
                .contexts
                .entry(c.name.clone())
                .or_insert_with(|| path.clone());
        }
        for c in &kc.clusters {
            origins
                .clusters
                .entry(c.name.clone())
                .or_insert_with(|| path.clone());
        }
        for u in &kc.auth_infos {
            origins
                .users
                .entry(u.name.clone())
                .or_insert_with(|| path.clone());
        }
        if kc.current_context.is_some() && current_from.is_none() {
            current_from = Some(path.clone());
        }
        merged = merged.merge(kc).map_err(|e| KubeError::Kubeconfig {
            path: path.clone(),
            field: "apiVersion/kind".into(),
            message: e.to_string(),
        })?;
    }
    let first = files.first().cloned().unwrap_or_default();
    let names = |list: Vec<&String>| list.into_iter().cloned().collect::<Vec<_>>().join(", ");
    let context_name = match context
        .map(str::to_string)
        .or_else(|| merged.current_context.clone())
    {
        Some(c) if !c.is_empty() => c,
        _ => {
            return Err(KubeError::Kubeconfig {
                path: first,
                field: "current-context".into(),
                message: format!(
                    "not set; pass --context (contexts: {})",
                    names(merged.contexts.iter().map(|c| &c.name).collect())
                ),
            });
        }
    };
    let Some(ctx) = merged
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
    else {
        let (path, field) = match (context, &current_from) {
            (None, Some(p)) => (p.clone(), "current-context"),
            _ => (first.clone(), "contexts"),
        };
        return Err(KubeError::Kubeconfig {
            path,
            field: field.into(),
            message: format!(
                "no context named `{context_name}` (contexts: {})",
                names(merged.contexts.iter().map(|c| &c.name).collect())
            ),
        });
    };
    let ctx_file = origins
        .contexts
        .get(&context_name)
        .cloned()
        .unwrap_or(first.clone());
    let Some(cluster) = merged
        .clusters
        .iter()
        .find(|c| c.name == ctx.cluster)
        .and_then(|c| c.cluster.clone())
    else {
        return Err(KubeError::Kubeconfig {
            path: ctx_file,
            field: format!("contexts[name={context_name}].context.cluster"),
            message: format!(
                "names cluster `{}`, which is not defined (clusters: {})",
                ctx.cluster,
                names(merged.clusters.iter().map(|c| &c.name).collect())
            ),
        });
    };
    let cluster_file = origins
        .clusters
        .get(&ctx.cluster)
        .cloned()
        .unwrap_or(first.clone());
    let server_field = format!("clusters[name={}].cluster.server", ctx.cluster);
    match cluster.server.as_deref() {
        None | Some("") => {
            return Err(KubeError::Kubeconfig {
                path: cluster_file,
                field: server_field,
                message: "is missing".into(),
            });
        }
        Some(server) => {
            let ok = server
                .parse::<http::Uri>()
                .ok()
                .is_some_and(|u| u.scheme().is_some() && u.host().is_some());
            if !ok {
                return Err(KubeError::Kubeconfig {
                    path: cluster_file,
                    field: server_field,
                    message: format!("`{server}` is not a URL like https://host:6443"),
                });
            }
        }
    }
    let user = ctx.user.clone().unwrap_or_default();
    let user_file = origins
        .users
        .get(&user)
        .cloned()
        .unwrap_or(ctx_file.clone());
    let options = KubeConfigOptions {
        context: Some(context_name.clone()),
        cluster: None,
        user: None,
    };
    let mut config = kube::Config::from_custom_kubeconfig(merged, &options)
        .await
        .map_err(|e| {
            let (path, field) = match &e {
                KubeconfigError::LoadCertificateAuthority(_)
                | KubeconfigError::ParseCertificates(_) => (
                    cluster_file.clone(),
                    format!(
                        "clusters[name={}].cluster.certificate-authority(-data)",
                        ctx.cluster
                    ),
                ),
                KubeconfigError::LoadClientCertificate(_) => (
                    user_file.clone(),
                    format!("users[name={user}].user.client-certificate(-data)"),
                ),
                KubeconfigError::LoadClientKey(_) => (
                    user_file.clone(),
                    format!("users[name={user}].user.client-key(-data)"),
                ),
                KubeconfigError::ParseProxyUrl(_) => (
                    cluster_file.clone(),
                    format!("clusters[name={}].cluster.proxy-url", ctx.cluster),
                ),
                _ => (ctx_file.clone(), format!("contexts[name={context_name}]")),
            };
            KubeError::Kubeconfig {
                path,
                field,
                message: chain_text(&e),
            }
        })?;
    if config.proxy_url.is_some() {
        // This build's client has no proxy support (kube's `http-proxy`/`socks5` features).
        if cluster.proxy_url.as_deref().is_some_and(|p| !p.is_empty()) {
            return Err(KubeError::Kubeconfig {
                path: cluster_file,
                field: format!("clusters[name={}].cluster.proxy-url", ctx.cluster),
                message: "proxies are not supported by this build of triage; reach the API server \
                          directly (for example through `kubectl proxy` and a context pointing at it)"
                    .into(),
            });
        }
        tracing::warn!(
            proxy = ?config.proxy_url,
            "ignoring HTTPS_PROXY for the Kubernetes API server: this build connects directly"
        );
        config.proxy_url = None;
    }
    config.apply_debug_overrides();
    Ok(LoadedConfig {
        config,
        context: Some(context_name),
        files: files.to_vec(),
    })
}

/// A YAML error with the field it points at, found from the line the parser reports.
fn parse_error(path: &Path, text: &str, err: &KubeconfigError) -> KubeError {
    let message = chain_text(err);
    let line = find_line_number(&message);
    let field = line
        .and_then(|l| yaml_path_at(text, l))
        .unwrap_or_else(|| "(document)".to_string());
    let first_line = message
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string();
    KubeError::Kubeconfig {
        path: path.to_path_buf(),
        field,
        message: first_line,
    }
}

/// The first `line N` (or `N:M` location) mentioned in a parser message.
fn find_line_number(message: &str) -> Option<usize> {
    let lower = message.to_ascii_lowercase();
    if let Some(pos) = lower.find("line ") {
        let digits: String = lower[pos + 5..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        if let Ok(n) = digits.parse() {
            return Some(n);
        }
    }
    // `-->  3:7` style locations.
    for token in lower.split_whitespace() {
        if let Some((l, c)) = token.split_once(':')
            && !l.is_empty()
            && l.chars().all(|ch| ch.is_ascii_digit())
            && !c.is_empty()
            && c.chars().all(|ch| ch.is_ascii_digit())
        {
            return l.parse().ok();
        }
    }
    None
}

/// The dotted path of the key on (or enclosing) a 1-based line of a YAML block document:
/// `clusters[0].cluster.server`.
pub fn yaml_path_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let indent = |l: &str| l.len() - l.trim_start().len();
    let is_dash = |l: &str| {
        let t = l.trim_start();
        t == "-" || t.starts_with("- ")
    };
    let key_of = |l: &str| -> Option<String> {
        let t = l.trim_start().trim_start_matches('-').trim_start();
        let (k, _) = t.split_once(':')?;
        let k = k.trim().trim_matches('"').trim_matches('\'');
        if k.is_empty() || k.contains(' ') {
            None
        } else {
            Some(k.to_string())
        }
    };
    // The position of the list item starting at `i` among its siblings.
    let index_of = |i: usize, ind: usize| -> String {
        let mut n = 0;
        for l in lines[..i].iter().rev() {
            if blank(l) {
                continue;
            }
            let li = indent(l);
            if li < ind || (li == ind && !is_dash(l)) {
                break;
            }
            if li == ind {
                n += 1;
            }
        }
        format!("[{n}]")
    };
    let mut idx = line.checked_sub(1)?.min(lines.len().checked_sub(1)?);
    while idx > 0 && blank(lines[idx]) {
        idx -= 1;
    }
    let target = lines[idx];
    let mut parts: Vec<String> = Vec::new();
    parts.extend(key_of(target));
    let mut cur = indent(target);
    let mut list_at = None;
    if is_dash(target) {
        parts.push(index_of(idx, cur));
        list_at = Some(cur);
    }
    for i in (0..idx).rev() {
        let l = lines[i];
        if blank(l) {
            continue;
        }
        let ind = indent(l);
        if is_dash(l) {
            if ind < cur {
                if ind + 2 < cur {
                    parts.extend(key_of(l));
                }
                parts.push(index_of(i, ind));
                cur = ind;
                list_at = Some(ind);
            }
        } else if (ind < cur || (list_at == Some(ind) && ind == cur))
            && let Some(k) = key_of(l)
        {
            parts.push(k);
            cur = ind;
            list_at = None;
            if ind == 0 {
                break;
            }
        }
    }
    parts.reverse();
    let mut out = String::new();
    for p in parts {
        if !p.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(&p);
    }
    if out.is_empty() { None } else { Some(out) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_paths_name_the_field() {
        let text = "apiVersion: v1\nclusters:\n- cluster:\n    server: 12\n  name: a\n- cluster:\n    server: [oops\n  name: b\ncontexts: []\n";
        assert_eq!(
            yaml_path_at(text, 4).as_deref(),
            Some("clusters[0].cluster.server")
        );
        assert_eq!(
            yaml_path_at(text, 7).as_deref(),
            Some("clusters[1].cluster.server")
        );
        assert_eq!(yaml_path_at(text, 9).as_deref(), Some("contexts"));
        assert_eq!(find_line_number("invalid type at line 7 column 3"), Some(7));
        assert_eq!(find_line_number(" --> <input>:4:13"), None);
        assert_eq!(find_line_number("error\n --> 4:13"), Some(4));
    }
}
