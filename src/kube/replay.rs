//! The replay server: a snapshot served on loopback in the shape of the Kubernetes API
//! (discovery, `/version`, get and list with label and field selectors and pagination,
//! watch, pod logs, server-side tables for kubectl), so the same client code runs against
//! it as against a cluster, and `kubectl --server http://127.0.0.1:PORT` works too.
//!
//! It records every request it receives. It is read-only: any other method is answered
//! `405 MethodNotAllowed` and logged as a mutation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::error::KubeError;
use super::replay_watch::{ReplayState, WatchRequest, watch_response};
use super::resources::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::snapshot::{Snapshot, log_key};
use super::table;

/// A request the server received.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RecordedRequest {
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    /// Not a read: answered 405.
    pub mutating: bool,
}

impl std::fmt::Display for RecordedRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = if self.query.is_empty() {
            String::new()
        } else {
            format!("?{}", self.query)
        };
        if self.mutating {
            write!(
                f,
                "REFUSED {} {}{} -> {} (mutating request)",
                self.method, self.path, q, self.status
            )
        } else {
            write!(f, "{} {}{} -> {}", self.method, self.path, q, self.status)
        }
    }
}

/// What an injected fault does.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Answer with this HTTP status and a `Status` body.
    Status(u16),
    /// Wait this long before answering normally.
    Delay(Duration),
}

/// A fault injected into matching requests (for tests of error handling).
#[derive(Debug, Clone)]
pub struct Fault {
    /// Applies to paths containing this text.
    pub path_contains: String,
    /// Only to watch requests.
    pub watch_only: bool,
    /// Only this many times (then the server behaves normally).
    pub times: Option<usize>,
    pub action: FaultAction,
}

impl Fault {
    pub fn status(code: u16, path_contains: &str) -> Self {
        Self {
            path_contains: path_contains.to_string(),
            watch_only: false,
            times: None,
            action: FaultAction::Status(code),
        }
    }

    pub fn delay(delay: Duration, path_contains: &str) -> Self {
        Self {
            path_contains: path_contains.to_string(),
            watch_only: false,
            times: None,
            action: FaultAction::Delay(delay),
        }
    }

    pub fn on_watch(mut self) -> Self {
        self.watch_only = true;
        self
    }

    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }
}

type RequestHook = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// How to run the server.
#[derive(Clone, Default)]
pub struct ReplayOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub faults: Vec<Fault>,
    /// Called for each request once it is answered (the serve command prints them).
    pub on_request: Option<RequestHook>,
}

struct App {
    snapshot: Snapshot,
    addr: SocketAddr,
    faults: Mutex<Vec<(Fault, usize)>>,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    on_request: Option<RequestHook>,
    /// What is served now: the snapshot, as changed since (objects, logs, versions).
    state: Arc<ReplayState>,
}

/// A running replay server. Dropping it stops the server.
pub struct ReplayServer {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    recorded_at: DateTime<Utc>,
    state: Arc<ReplayState>,
    app: Arc<App>,
}

impl ReplayServer {
    /// Serve `snapshot` on 127.0.0.1.
    pub async fn start(snapshot: Snapshot, options: ReplayOptions) -> Result<Self, KubeError> {
        let bind = format!("127.0.0.1:{}", options.port);
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .map_err(|source| KubeError::Bind {
                addr: bind.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| KubeError::Bind {
            addr: bind.clone(),
            source,
        })?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(ReplayState::new(&snapshot));
        let recorded_at = snapshot.recorded_at;
        let app = Arc::new(App {
            snapshot,
            addr,
            faults: Mutex::new(options.faults.into_iter().map(|f| (f, 0)).collect()),
            log: log.clone(),
            on_request: options.on_request,
            state: state.clone(),
        });
        let router = Router::new().fallback(handle).with_state(app.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
            if let Err(e) = served {
                tracing::warn!("replay server stopped: {e}");
            }
        });
        Ok(Self {
            addr,
            log,
            shutdown: Some(tx),
            task: Some(task),
            recorded_at,
            state,
            app,
        })
    }

    /// Add a fault while serving (it applies to requests from now on).
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut faults) = self.app.faults.lock() {
            faults.push((fault, 0));
        }
    }

    /// The served state, to change while serving (tests, demos): watches see each change.
    pub fn state(&self) -> &Arc<ReplayState> {
        &self.state
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// When the served snapshot was recorded.
    pub fn recorded_at(&self) -> DateTime<Utc> {
        self.recorded_at
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// The requests that tried to change something.
    pub fn mutating_requests(&self) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.mutating).collect()
    }

    /// Run until the server stops.
    pub async fn wait(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Stop accepting requests.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let path = uri.path().to_string();
    let query_text = uri.query().unwrap_or("").to_string();
    let query: HashMap<String, String> = Query::<HashMap<String, String>>::try_from_uri(&uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let mutating = method != Method::GET && method != Method::HEAD;
    let response = if mutating {
        status_response(
            405,
            "MethodNotAllowed",
            &format!(
                "the triage replay server is read-only: {method} {path} was refused and logged"
            ),
            None,
        )
    } else {
        route(&app, &path, &query, &headers).await
    };
    let recorded = RecordedRequest {
        at: Utc::now(),
        method: method.to_string(),
        path,
        query: query_text,
        status: response.status().as_u16(),
        mutating,
    };
    if mutating {
        tracing::warn!("replay server refused a mutating request: {recorded}");
    }
    if let Some(hook) = &app.on_request {
        hook(&recorded);
    }
    if let Ok(mut log) = app.log.lock() {
        log.push(recorded);
    }
    response
}

fn json_response(code: u16, value: &impl Serialize) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_vec(value) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

fn status_body(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut v = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        v["details"] = d;
    }
    v
}

fn status_response(code: u16, reason: &str, message: &str, details: Option<Value>) -> Response {
    json_response(code, &status_body(code, reason, message, details))
}

fn not_found(message: &str) -> Response {
    status_response(404, "NotFound", message, None)
}

/// What a request is after, for fault messages.
struct Target<'a> {
    verb: &'static str,
    t: Option<&'static ResourceType>,
    namespace: Option<&'a str>,
}

fn describe_target<'a>(segs: &[&'a str], watch: bool) -> Target<'a> {
    let (group, version, rest): (&str, &str, &[&'a str]) = match segs {
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => {
            return Target {
                verb: "get",
                t: None,
                namespace: None,
            };
        }
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() => (Some(*ns), tail),
        other => (None, other),
    };
    let t = rest
        .first()
        .and_then(|p| resources::by_path(group, version, p));
    let verb = match (rest.len(), watch) {
        (_, true) => "watch",
        (1, false) => "list",
        _ => "get",
    };
    Target { verb, t, namespace }
}

async fn apply_fault(app: &App, path: &str, segs: &[&str], watch: bool) -> Option<Response> {
    let action = {
        let mut faults = app.faults.lock().ok()?;
        let hit = faults.iter_mut().find(|(f, used)| {
            path.contains(&f.path_contains)
                && (!f.watch_only || watch)
                && f.times.is_none_or(|n| *used < n)
        })?;
        hit.1 += 1;
        hit.0.action.clone()
    };
    match action {
        FaultAction::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        FaultAction::Status(code) => {
            let target = describe_target(segs, watch);
            let plural = target.t.map(|t| t.plural).unwrap_or("resource");
            let group = target.t.map(|t| t.group).unwrap_or("");
            let place = match target.namespace {
                Some(ns) => format!(" in the namespace \"{ns}\""),
                None => " at the cluster scope".to_string(),
            };
            let (reason, message) = match code {
                401 => ("Unauthorized", "Unauthorized".to_string()),
                403 => (
                    "Forbidden",
                    format!(
                        "{plural} is forbidden: User \"replay-user\" cannot {} resource \"{plural}\" in API group \"{group}\"{place}",
                        target.verb
                    ),
                ),
                404 => (
                    "NotFound",
                    "the server could not find the requested resource".to_string(),
                ),
                410 => ("Expired", "too old resource version".to_string()),
                500 => ("InternalError", "Internal error occurred".to_string()),
                503 => (
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request".to_string(),
                ),
                _ => ("Unknown", format!("injected fault {code}")),
            };
            if code == 410 && watch {
                // A watch that has gone stale answers 200 with one ERROR event, as the API
                // server does.
                let event =
                    json!({"type": "ERROR", "object": status_body(410, reason, &message, None)});
                let mut line = event.to_string();
                line.push('\n');
                return Some(
                    (
                        StatusCode::OK,
                        [(header::CONTENT_TYPE, "application/json")],
                        line,
                    )
                        .into_response(),
                );
            }
            let details = target
                .t
                .map(|t| json!({"kind": t.plural, "group": t.group}));
            Some(status_response(code, reason, &message, details))
        }
    }
}

async fn route(
    app: &App,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    if let Some(resp) = apply_fault(app, path, &segs, watch).await {
        return resp;
    }
    match segs.as_slice() {
        [] => json_response(
            200,
            &json!({"paths": ["/api", "/api/v1", "/apis", "/version"]}),
        ),
        ["version"] => json_response(200, &version_info(app)),
        ["healthz" | "readyz" | "livez"] => (StatusCode::OK, "ok").into_response(),
        ["api"] => json_response(
            200,
            &json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": app.addr.to_string()}],
            }),
        ),
        ["apis"] => {
            let groups: Vec<Value> = resources::groups()
                .into_iter()
                .map(|(g, v)| group_doc(g, v))
                .collect();
            json_response(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            )
        }
        ["api", "v1"] => json_response(200, &resource_list("", "v1")),
        ["apis", g] => match resources::groups().into_iter().find(|(name, _)| name == g) {
            Some((g, v)) => json_response(200, &group_doc(g, v)),
            None => not_found("the server could not find the requested resource"),
        },
        ["apis", g, v] => {
            if resources::groups()
                .iter()
                .any(|(name, ver)| name == g && ver == v)
            {
                json_response(200, &resource_list(g, v))
            } else {
                not_found("the server could not find the requested resource")
            }
        }
        ["api", "v1", rest @ ..] => {
            resource_route(app, "", "v1", rest, query, headers, watch).await
        }
        ["apis", g, v, rest @ ..] => resource_route(app, g, v, rest, query, headers, watch).await,
        _ => not_found("the server could not find the requested resource"),
    }
}

fn version_info(app: &App) -> Value {
    app.snapshot.server_version.clone().unwrap_or_else(|| {
        json!({
            "major": "1",
            "minor": "33",
            "gitVersion": "v1.33.0+triage-replay",
            "gitCommit": "",
            "gitTreeState": "clean",
            "buildDate": app.snapshot.recorded_at.to_rfc3339(),
            "goVersion": "",
            "compiler": "",
            "platform": "linux/amd64",
        })
    })
}

fn group_doc(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": [gv.clone()],
        "preferredVersion": gv,
    })
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut out = Vec::new();
    for t in resources::SERVED_TYPES
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        out.push(json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": ["get", "list", "watch"],
            "shortNames": t.short_names,
        }));
        out.push(json!({
            "name": format!("{}/status", t.plural),
            "singularName": "",
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": ["get"],
        }));
        if t.plural == "pods" {
            out.push(json!({
                "name": "pods/log",
                "singularName": "",
                "namespaced": true,
                "kind": "Pod",
                "verbs": ["get"],
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out})
}

enum Accept {
    Full,
    Table,
    Metadata,
}

fn accept_of(headers: &HeaderMap) -> Accept {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first alternative the server supports wins, as on the API server.
    for alt in accept.split(',') {
        if alt.contains("as=Table") {
            return Accept::Table;
        }
        if alt.contains("as=PartialObjectMetadata") {
            return Accept::Metadata;
        }
        if alt.trim().starts_with("application/json") || alt.trim().starts_with("*/*") {
            return Accept::Full;
        }
    }
    Accept::Full
}

async fn resource_route(
    app: &App,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    watch: bool,
) -> Response {
    let unknown = || not_found("the server could not find the requested resource");
    let find = |plural: &str| resources::by_path(group, version, plural);
    match rest {
        ["namespaces", ns, "status"] if group.is_empty() => {
            get(app, &resources::NAMESPACES, None, ns, headers, query)
        }
        ["namespaces", ns, plural] => match find(plural) {
            Some(t) if t.namespaced => list(app, t, Some(ns), query, headers, watch).await,
            _ => unknown(),
        },
        ["namespaces", ns, plural, name] => match find(plural) {
            Some(t) if t.namespaced => get(app, t, Some(ns), name, headers, query),
            _ => unknown(),
        },
        ["namespaces", ns, "pods", name, "log"] if group.is_empty() => logs(app, ns, name, query),
        ["namespaces", ns, plural, name, "status"] => match find(plural) {
            Some(t) if t.namespaced => get(app, t, Some(ns), name, headers, query),
            _ => unknown(),
        },
        [plural] => match find(plural) {
            Some(t) => list(app, t, None, query, headers, watch).await,
            None => unknown(),
        },
        [plural, name] | [plural, name, "status"] => match find(plural) {
            Some(t) if !t.namespaced => get(app, t, None, name, headers, query),
            _ => unknown(),
        },
        _ => unknown(),
    }
}

fn get(
    app: &App,
    t: &'static ResourceType,
    ns: Option<&str>,
    name: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    let served = app.state.read();
    let found = served.items.get(&t.key()).and_then(|items| {
        items.iter().find(|o| {
            meta_str(o, "name") == name
                && (!t.namespaced || ns.is_none_or(|ns| meta_str(o, "namespace") == ns))
        })
    });
    let Some(obj) = found else {
        return status_response(
            404,
            "NotFound",
            &format!("{} \"{name}\" not found", t.plural),
            Some(json!({"name": name, "group": t.group, "kind": t.plural})),
        );
    };
    match accept_of(headers) {
        Accept::Table => {
            let include = query
                .get("includeObject")
                .map(String::as_str)
                .unwrap_or("Metadata");
            let meta = json!({"resourceVersion": served.rv.to_string()});
            json_response(
                200,
                &table::table(t, &[obj], app.snapshot.recorded_at, include, meta),
            )
        }
        Accept::Metadata => json_response(
            200,
            &json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or(Value::Null),
            }),
        ),
        Accept::Full => json_response(200, &table::with_type(obj, t)),
    }
}

#[derive(Serialize)]
struct ListOut<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: Vec<ListItem<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ListItem<'a> {
    Full(&'a Value),
    Metadata { metadata: &'a Value },
}

async fn list(
    app: &App,
    t: &'static ResourceType,
    ns: Option<&str>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    watch: bool,
) -> Response {
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if watch {
        return watch_stream(app, t, ns, labels, fields, query, headers);
    }
    let served = app.state.read();
    let rv = served.rv;
    let empty = Vec::new();
    let all = served.items.get(&t.key()).unwrap_or(&empty);
    let matching: Vec<&Value> = all
        .iter()
        .filter(|o| !t.namespaced || ns.is_none_or(|ns| meta_str(o, "namespace") == ns))
        .filter(|o| labels.matches_object(o))
        .filter(|o| fields.matches_object(o))
        .collect();
    let offset = match continue_offset(query, rv) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<&Value> = matching.iter().skip(offset).take(limit).copied().collect();
    let next = offset.saturating_add(page.len());
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if next < matching.len() {
        meta["continue"] = json!(format!("{rv}-{next}"));
        meta["remainingItemCount"] = json!(matching.len() - next);
    }
    match accept_of(headers) {
        Accept::Table => {
            let include = query
                .get("includeObject")
                .map(String::as_str)
                .unwrap_or("Metadata");
            json_response(
                200,
                &table::table(t, &page, app.snapshot.recorded_at, include, meta),
            )
        }
        Accept::Metadata => json_response(
            200,
            &ListOut {
                kind: "PartialObjectMetadataList".into(),
                api_version: "meta.k8s.io/v1".into(),
                metadata: meta,
                items: page
                    .iter()
                    .filter_map(|o| {
                        o.get("metadata")
                            .map(|m| ListItem::Metadata { metadata: m })
                    })
                    .collect(),
            },
        ),
        Accept::Full => json_response(
            200,
            &ListOut {
                kind: format!("{}List", t.kind),
                api_version: t.api_version(),
                metadata: meta,
                items: page.into_iter().map(ListItem::Full).collect(),
            },
        ),
    }
}

/// The label and field selectors of a list or watch, or the 400 a bad one gets.
fn selectors(
    query: &HashMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), Box<Response>> {
    let labels =
        match LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or("")) {
            Ok(s) => s,
            Err(e) => {
                return Err(Box::new(status_response(
                    400,
                    "BadRequest",
                    &format!("unable to parse requirement: {e}"),
                    None,
                )));
            }
        };
    let fields =
        match FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or("")) {
            Ok(s) => s,
            Err(e) => return Err(Box::new(status_response(400, "BadRequest", &e, None))),
        };
    Ok((labels, fields))
}

/// Pagination: the continue token is the offset at this snapshot's resourceVersion; one
/// from another version gets a 410, a malformed one a 400.
fn continue_offset(query: &HashMap<String, String>, rv: u64) -> Result<usize, Box<Response>> {
    match query.get("continue").filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(token) => match parse_continue(token) {
            Some((token_rv, off)) if token_rv == rv => Ok(off),
            Some(_) => Err(Box::new(status_response(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                None,
            ))),
            None => Err(Box::new(status_response(
                400,
                "BadRequest",
                &format!("invalid continue token {token:?}"),
                None,
            ))),
        },
    }
}

fn parse_continue(token: &str) -> Option<(u64, usize)> {
    let (rv, off) = token.split_once('-')?;
    Some((rv.parse().ok()?, off.parse().ok()?))
}

/// A watch: the changes after the asked resourceVersion (or the current objects as
/// ADDED), then each change as it happens, until `timeoutSeconds`.
fn watch_stream(
    app: &App,
    t: &'static ResourceType,
    ns: Option<&str>,
    labels: LabelSelector,
    fields: FieldSelector,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let secs = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30)
        .min(300);
    let request = WatchRequest {
        t,
        namespace: ns.map(str::to_string),
        selects: Box::new(move |o| labels.matches_object(o) && fields.matches_object(o)),
        resource_version: query
            .get("resourceVersion")
            .and_then(|v| v.parse::<u64>().ok()),
        timeout: Duration::from_secs(secs),
        metadata_only: matches!(accept_of(headers), Accept::Metadata),
    };
    watch_response(&app.state, request)
}

fn logs(app: &App, ns: &str, pod_name: &str, query: &HashMap<String, String>) -> Response {
    let served = app.state.read();
    let pod = served.items.get(&resources::PODS.key()).and_then(|items| {
        items
            .iter()
            .find(|o| meta_str(o, "name") == pod_name && meta_str(o, "namespace") == ns)
    });
    let Some(pod) = pod else {
        return status_response(
            404,
            "NotFound",
            &format!("pods \"{pod_name}\" not found"),
            Some(json!({"name": pod_name, "kind": "pods"})),
        );
    };
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            pod.pointer("/spec/initContainers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let container = match query.get("container") {
        Some(c) => c.as_str(),
        None => match pod
            .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
            .and_then(Value::as_str)
        {
            Some(c) => c,
            None if containers.len() == 1 => containers[0],
            None => {
                return status_response(
                    400,
                    "BadRequest",
                    &format!(
                        "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                        containers.join(" ")
                    ),
                    None,
                );
            }
        },
    };
    if !containers.contains(&container) {
        return status_response(
            400,
            "BadRequest",
            &format!("container {container} is not valid for pod {pod_name}"),
            None,
        );
    }
    let previous = matches!(
        query.get("previous").map(String::as_str),
        Some("true" | "1")
    );
    let entry = served.logs.get(&log_key(ns, pod_name, container));
    let text = if previous {
        match entry.and_then(|e| e.previous.as_deref()) {
            Some(t) => t,
            None => {
                return status_response(
                    400,
                    "BadRequest",
                    &format!(
                        "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
                    ),
                    None,
                );
            }
        }
    } else {
        entry.and_then(|e| e.current.as_deref()).unwrap_or("")
    };
    let text = bound_log(
        text,
        query.get("tailLines").and_then(|v| v.parse().ok()),
        query.get("limitBytes").and_then(|v| v.parse().ok()),
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

/// The last `tail_lines` lines, then the first `limit_bytes` bytes of those, as the
/// kubelet applies them.
pub fn bound_log(text: &str, tail_lines: Option<usize>, limit_bytes: Option<usize>) -> String {
    let mut out = match tail_lines {
        Some(n) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(n)..].concat()
        }
        None => text.to_string(),
    };
    if let Some(limit) = limit_bytes
        && out.len() > limit
    {
        let mut cut = limit;
        while cut > 0 && !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bounds() {
        let text = "a\nb\nc\n";
        assert_eq!(bound_log(text, Some(2), None), "b\nc\n");
        assert_eq!(bound_log(text, Some(10), Some(3)), "a\nb");
        assert_eq!(bound_log(text, None, None), text);
        assert_eq!(bound_log("héllo", None, Some(2)), "h");
    }

    #[test]
    fn fault_targets() {
        let segs = ["api", "v1", "namespaces", "shop", "secrets"];
        let t = describe_target(&segs, false);
        assert_eq!(t.verb, "list");
        assert_eq!(t.t.map(|t| t.plural), Some("secrets"));
        assert_eq!(t.namespace, Some("shop"));
    }
}
