//! The request guard: a tower layer on the Kubernetes client that lets through only the
//! requests triage itself makes, by allowlist: `GET` of discovery, `/version`, list and
//! get of the served types, a pod's `log` and an object's `status`, with the query keys
//! those use; Secrets only as metadata. The path is decoded before it is checked, and any
//! other request is refused with an error that names it, unless it is part of an action
//! the user approved. Every client triage builds has the guard as its outermost layer,
//! so it sees each request before authentication and before anything leaves the process.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request};
use tower::{BoxError, Layer, Service};

use super::names::{is_label, is_subdomain};
use super::resources;

/// A request the guard stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {path} was refused: {why}")]
pub struct GuardRefused {
    pub method: String,
    /// The path and query as the request had them.
    pub path: String,
    pub why: String,
}

/// A change the user approved: the exact requests (method and path, without the query)
/// it may send while its [`Approval`] is alive.
#[derive(Debug, Clone)]
pub struct ApprovedAction {
    pub description: String,
    pub requests: Vec<(Method, String)>,
}

impl ApprovedAction {
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            requests: Vec::new(),
        }
    }

    /// Allow one request: e.g. `DELETE /api/v1/namespaces/shop/pods/web-0`.
    pub fn allow(mut self, method: Method, path: impl Into<String>) -> Self {
        self.requests.push((method, path.into()));
        self
    }

    fn covers(&self, method: &Method, path: &str) -> bool {
        self.requests.iter().any(|(m, p)| m == method && p == path)
    }
}

#[derive(Debug, Default)]
struct GuardState {
    next_id: AtomicU64,
    approved: Mutex<Vec<(u64, ApprovedAction)>>,
    refused: Mutex<Vec<GuardRefused>>,
    passed: AtomicU64,
}

/// The guard and its layer. Clones share state.
#[derive(Debug, Clone, Default)]
pub struct RequestGuard {
    state: Arc<GuardState>,
}

/// While alive, the requests of its action may pass; dropping it withdraws the approval.
#[derive(Debug)]
pub struct Approval {
    guard: RequestGuard,
    id: u64,
}

impl Drop for Approval {
    fn drop(&mut self) {
        if let Ok(mut list) = self.guard.state.approved.lock() {
            list.retain(|(id, _)| *id != self.id);
        }
    }
}

impl RequestGuard {
    pub fn new() -> Self {
        Self::default()
    }

    /// Let the requests of `action` through until the returned approval is dropped.
    pub fn approve(&self, action: ApprovedAction) -> Approval {
        let id = self.state.next_id.fetch_add(1, Ordering::Relaxed);
        tracing::info!(action = %action.description, "kube guard: action approved");
        if let Ok(mut list) = self.state.approved.lock() {
            list.push((id, action));
        }
        Approval {
            guard: self.clone(),
            id,
        }
    }

    /// Decide on one request: its method, path with query, and `Accept` header.
    pub fn check(
        &self,
        method: &Method,
        path_and_query: &str,
        accept: Option<&str>,
    ) -> Result<(), GuardRefused> {
        let why = match allowed_read(method, path_and_query, accept) {
            Ok(()) => {
                self.state.passed.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            Err(why) => why,
        };
        let path = path_and_query.split('?').next().unwrap_or("");
        let approved = self
            .state
            .approved
            .lock()
            .map(|list| list.iter().any(|(_, a)| a.covers(method, path)))
            .unwrap_or(false);
        if approved {
            self.state.passed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let refused = GuardRefused {
            method: method.to_string(),
            path: path_and_query.to_string(),
            why,
        };
        tracing::warn!(method = %method, path = path_and_query, why = %refused.why, "kube guard: refused");
        if let Ok(mut list) = self.state.refused.lock() {
            list.push(refused.clone());
        }
        Err(refused)
    }

    /// Requests refused so far.
    pub fn refused(&self) -> Vec<GuardRefused> {
        self.state
            .refused
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    /// Requests let through so far.
    pub fn passed(&self) -> u64 {
        self.state.passed.load(Ordering::Relaxed)
    }
}

/// `%XX` decoded (and `+` as a space when `plus` is set); `None` for a broken escape.
fn percent_decode(s: &str, plus: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// What a read path is, once its shape is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Discovery,
    List,
    Get,
    Log,
    Status,
}

/// Query keys each shape may carry.
fn query_keys(shape: Shape) -> &'static [&'static str] {
    match shape {
        Shape::Discovery => &[],
        Shape::List => &[
            "limit",
            "continue",
            "labelSelector",
            "fieldSelector",
            "resourceVersion",
            "resourceVersionMatch",
            "watch",
            "timeoutSeconds",
            "allowWatchBookmarks",
            "sendInitialEvents",
        ],
        Shape::Get | Shape::Status => &["resourceVersion"],
        Shape::Log => &[
            "container",
            "previous",
            "tailLines",
            "limitBytes",
            "timestamps",
            "sinceSeconds",
            "sinceTime",
            "follow",
        ],
    }
}

/// `name` as a namespace in a path.
fn ns_ok(ns: &str) -> Result<(), String> {
    if is_label(ns) {
        Ok(())
    } else {
        Err(format!("{ns:?} is not a namespace name"))
    }
}

/// `name` as an object name in a path.
fn name_ok(name: &str) -> Result<(), String> {
    if is_subdomain(name) {
        Ok(())
    } else {
        Err(format!("{name:?} is not an object name"))
    }
}

/// A type read in a namespace.
fn namespaced(t: &resources::ResourceType) -> Result<(), String> {
    if t.namespaced {
        Ok(())
    } else {
        Err(format!("{} are not namespaced", t.plural))
    }
}

/// A type read by name across the cluster.
fn cluster_wide(t: &resources::ResourceType) -> Result<(), String> {
    if t.namespaced {
        Err(format!(
            "{} are read in a namespace, not by name across the cluster",
            t.plural
        ))
    } else {
        Ok(())
    }
}

/// A subresource that acts on the cluster rather than reading it.
fn acting_subresource(sub: &str) -> bool {
    matches!(
        sub,
        "exec"
            | "attach"
            | "portforward"
            | "proxy"
            | "eviction"
            | "binding"
            | "ephemeralcontainers"
    )
}

/// The shape of a decoded path, and the type it reads (none for discovery); or why it is
/// not one triage uses.
pub fn shape_of(path: &str) -> Result<(Shape, Option<&'static resources::ResourceType>), String> {
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    if !path.starts_with('/') || segs.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err("it is not a plain absolute path".into());
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] | ["api"] | ["apis"] | ["api", "v1"] => return Ok((Shape::Discovery, None)),
        ["apis", group] | ["apis", group, _]
            if resources::groups().iter().any(|(g, _)| g == group) =>
        {
            return match segs.get(2) {
                Some(v)
                    if !resources::groups()
                        .iter()
                        .any(|(g, gv)| g == group && gv == v) =>
                {
                    Err(format!(
                        "API group version {group}/{v} is not one triage reads"
                    ))
                }
                _ => Ok((Shape::Discovery, None)),
            };
        }
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err("it is not an API path triage reads".into()),
    };
    let find = |plural: &str| {
        resources::by_path(group, version, plural)
            .ok_or_else(|| format!("{plural} in {group}/{version} is not a type triage reads"))
    };
    match rest {
        [plural] => Ok((Shape::List, Some(find(plural)?))),
        ["namespaces", ns, plural] => {
            ns_ok(ns)?;
            let t = find(plural)?;
            namespaced(t)?;
            Ok((Shape::List, Some(t)))
        }
        ["namespaces", ns, plural, name] => {
            ns_ok(ns)?;
            name_ok(name)?;
            let t = find(plural)?;
            namespaced(t)?;
            Ok((Shape::Get, Some(t)))
        }
        ["namespaces", ns, "pods", name, "log"] if group.is_empty() => {
            ns_ok(ns)?;
            name_ok(name)?;
            Ok((Shape::Log, Some(&resources::PODS)))
        }
        ["namespaces", ns, plural, name, "status"] => {
            ns_ok(ns)?;
            name_ok(name)?;
            let t = find(plural)?;
            namespaced(t)?;
            Ok((Shape::Status, Some(t)))
        }
        [plural, name] => {
            name_ok(name)?;
            let t = find(plural)?;
            cluster_wide(t)?;
            Ok((Shape::Get, Some(t)))
        }
        [plural, name, "status"] => {
            name_ok(name)?;
            let t = find(plural)?;
            cluster_wide(t)?;
            Ok((Shape::Status, Some(t)))
        }
        [.., sub] if acting_subresource(sub) => {
            Err(format!("the `{sub}` subresource acts on the cluster"))
        }
        _ => Err("it is not a path shape triage reads (list, get, log, status, discovery)".into()),
    }
}

/// Whether a request is one of the reads triage makes; the reason when it is not.
pub fn allowed_read(
    method: &Method,
    path_and_query: &str,
    accept: Option<&str>,
) -> Result<(), String> {
    if method != Method::GET {
        return Err(format!("{method} is not a read; triage only sends GET"));
    }
    let (raw_path, raw_query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let path = percent_decode(raw_path, false).ok_or("the path has a broken %-escape")?;
    if path != raw_path {
        return Err(format!(
            "the path is percent-encoded (it decodes to {path}); names triage reads never need encoding"
        ));
    }
    let (shape, t) = shape_of(&path)?;
    let allowed = query_keys(shape);
    for pair in raw_query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(k, true).ok_or("the query has a broken %-escape")?;
        let value = percent_decode(v, true).ok_or("the query has a broken %-escape")?;
        if !allowed.contains(&key.as_str()) {
            return Err(format!("the query key `{key}` is not one triage uses here"));
        }
        if matches!(
            key.as_str(),
            "watch"
                | "previous"
                | "follow"
                | "timestamps"
                | "allowWatchBookmarks"
                | "sendInitialEvents"
        ) && value != "true"
            && value != "false"
        {
            return Err(format!("`{key}={value}` is not a boolean"));
        }
    }
    // Secret values never leave the cluster: Secrets are read as metadata only.
    if t == Some(&resources::SECRETS)
        && !accept.is_some_and(|a| a.contains("as=PartialObjectMetadata"))
    {
        return Err("Secrets are read as metadata only (their values are never fetched)".into());
    }
    Ok(())
}

impl<S> Layer<S> for RequestGuard {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GuardService {
            inner,
            guard: self.clone(),
        }
    }
}

/// The guard wrapped around the rest of the client stack.
#[derive(Debug, Clone)]
pub struct GuardService<S> {
    inner: S,
    guard: RequestGuard,
}

impl<S, B> Service<Request<B>> for GuardService<S>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let path = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
        let accept = req
            .headers()
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok());
        match self.guard.check(req.method(), &path, accept) {
            Ok(()) => {
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Err(refused) => Box::pin(std::future::ready(Err(Box::new(refused) as BoxError))),
        }
    }
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
