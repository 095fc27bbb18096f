//! The request guard: a tower layer on the Kubernetes client that lets through reads
//! (get, list, watch, logs, discovery) and nothing else, unless the request is part of an
//! action the user approved. Every client triage builds has it as its outermost layer, so
//! it sees each request before authentication and before anything leaves the process.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use http::{Method, Request};
use tower::{BoxError, Layer, Service};

/// A request the guard stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {path} is not a read and no approved action covers it")]
pub struct GuardRefused {
    pub method: String,
    pub path: String,
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

    /// Decide on one request.
    pub fn check(&self, method: &Method, path: &str) -> Result<(), GuardRefused> {
        if is_read(method, path) {
            self.state.passed.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
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
            path: path.to_string(),
        };
        tracing::warn!(method = %method, path, "kube guard: refused a request that is not a read");
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

/// Whether a request only reads: GET or HEAD, and not one of the subresources that act on
/// a running container or tunnel to it (exec, attach, portforward, proxy).
pub fn is_read(method: &Method, path: &str) -> bool {
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let rest: &[&str] = match segs.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        // Discovery (/api, /apis, /apis/<group>), /version, /openapi, /healthz …
        _ => return true,
    };
    let rest = match rest {
        ["namespaces", _ns, tail @ ..] if !tail.is_empty() => tail,
        other => other,
    };
    match rest {
        ["proxy", ..] => false,
        [_plural, _name, sub, ..] => !matches!(*sub, "exec" | "attach" | "portforward" | "proxy"),
        _ => true,
    }
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
        match self.guard.check(req.method(), req.uri().path()) {
            Ok(()) => {
                let fut = self.inner.call(req);
                Box::pin(async move { fut.await.map_err(Into::into) })
            }
            Err(refused) => Box::pin(std::future::ready(Err(Box::new(refused) as BoxError))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pass_and_writes_do_not() {
        assert!(is_read(&Method::GET, "/api/v1/namespaces/shop/pods"));
        assert!(is_read(
            &Method::GET,
            "/api/v1/namespaces/shop/pods/web-0/log"
        ));
        assert!(is_read(&Method::GET, "/apis/apps/v1/deployments"));
        assert!(is_read(&Method::GET, "/apis"));
        assert!(is_read(&Method::GET, "/version"));
        assert!(is_read(&Method::GET, "/api/v1/namespaces/shop"));
        assert!(is_read(
            &Method::GET,
            "/api/v1/namespaces/shop/services/proxy"
        ));
        assert!(!is_read(
            &Method::GET,
            "/api/v1/namespaces/shop/pods/web-0/exec"
        ));
        assert!(!is_read(
            &Method::GET,
            "/api/v1/namespaces/shop/pods/web-0/portforward"
        ));
        assert!(!is_read(
            &Method::GET,
            "/api/v1/namespaces/shop/services/web/proxy/x"
        ));
        assert!(!is_read(
            &Method::DELETE,
            "/api/v1/namespaces/shop/pods/web-0"
        ));
        assert!(!is_read(&Method::POST, "/api/v1/namespaces/shop/pods"));
        assert!(!is_read(
            &Method::PATCH,
            "/apis/apps/v1/namespaces/shop/deployments/web"
        ));
    }

    /// The shapes a kube-rs watcher sends (`triage watch` keeps its picture with them):
    /// a paginated list, then `GET <collection>?watch=true&resourceVersion=…` on the same
    /// collection path, namespaced or cluster-wide, metadata-only for Secrets.
    #[test]
    fn watcher_lists_and_watches_pass() {
        for path in [
            "/api/v1/namespaces/shop/pods",
            "/api/v1/namespaces/shop/events",
            "/api/v1/namespaces/shop/secrets",
            "/apis/apps/v1/namespaces/shop/deployments",
            "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
            "/api/v1/nodes",
            "/api/v1/pods",
        ] {
            assert!(is_read(&Method::GET, path), "{path}");
        }
    }

    #[test]
    fn approval_covers_exact_request_while_alive() {
        let guard = RequestGuard::new();
        let path = "/api/v1/namespaces/shop/pods/web-0";
        assert!(guard.check(&Method::DELETE, path).is_err());
        {
            let _ok =
                guard.approve(ApprovedAction::new("delete web-0").allow(Method::DELETE, path));
            assert!(guard.check(&Method::DELETE, path).is_ok());
            assert!(
                guard
                    .check(&Method::DELETE, "/api/v1/namespaces/shop/pods/web-1")
                    .is_err()
            );
        }
        assert!(guard.check(&Method::DELETE, path).is_err());
        assert_eq!(guard.refused().len(), 3);
    }
}
