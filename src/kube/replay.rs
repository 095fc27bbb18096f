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

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

mod app;
mod faults;
mod reads;
mod respond;

use super::error::KubeError;
use super::replay_watch::ReplayState;
use super::resources;
use super::snapshot::Snapshot;
pub use app::RecordedRequest;
use app::{App, RequestHook};
use faults::apply_fault;
pub use faults::{Fault, FaultAction};
pub use reads::bound_log;
use reads::resource_route;
use respond::{json_response, not_found, status_response};

/// How to run the server.
#[derive(Clone, Default)]
pub struct ReplayOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    pub faults: Vec<Fault>,
    /// Called for each request once it is answered (the serve command prints them).
    pub on_request: Option<RequestHook>,
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

async fn route(
    app: &App,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    if let Some(resp) = apply_fault(&app.faults, path, &segs, watch).await {
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
