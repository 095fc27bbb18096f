//! Errors of the Kubernetes part. Each message says what was attempted and where: the
//! file and field of a kubeconfig, the problem in a snapshot, the verb and resource of a
//! request.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Everything that can stop a Kubernetes command.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot read kubeconfig {}: {source}", path.display())]
    KubeconfigRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed kubeconfig {}: {field}: {message}", path.display())]
    Kubeconfig {
        path: PathBuf,
        field: String,
        message: String,
    },
    #[error(
        "no Kubernetes configuration: no kubeconfig at {looked}, and not running inside a cluster ({in_cluster})"
    )]
    NoConfig { looked: String, in_cluster: String },
    #[error("cannot set up the Kubernetes client for {server}: {message}")]
    Client { server: String, message: String },
    #[error("cannot read snapshot {}: {source}", path.display())]
    SnapshotRead {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("malformed snapshot {}: {problem}", path.display())]
    Snapshot { path: PathBuf, problem: String },
    #[error("cannot write snapshot {}: {source}", path.display())]
    SnapshotWrite {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("replay server cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("the cluster at {server} is unreachable: {reason}")]
    Unreachable { server: String, reason: String },
    #[error(transparent)]
    Read(Box<ReadError>),
}

impl From<ReadError> for KubeError {
    fn from(e: ReadError) -> Self {
        KubeError::Read(Box::new(e))
    }
}

/// Why a read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadErrorKind {
    /// 401: the credentials were rejected.
    Unauthorized,
    /// 403: the user lacks the verb on the resource.
    Forbidden,
    /// 404: no such object, or the API group is not served.
    NotFound,
    /// 410: the resourceVersion (of a watch or a continue token) is too old.
    Gone,
    /// No answer within the request timeout.
    Timeout,
    /// No connection to the API server.
    Unreachable,
    /// Stopped by the read-only guard before leaving the process.
    Refused,
    /// Anything else (5xx, a malformed answer).
    Other,
}

/// A request that failed: the verb, the resource, where, and what the server said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ReadError {
    /// `list`, `get`, `watch`, `logs`, `discovery`, or an HTTP method for writes.
    pub verb: String,
    /// `pods`, `deployments.apps`, `pods/log`.
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: ReadErrorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    pub message: String,
}

impl ReadError {
    pub fn new(verb: &str, resource: &str, namespace: Option<&str>, name: Option<&str>) -> Self {
        Self {
            verb: verb.to_string(),
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.map(str::to_string),
            kind: ReadErrorKind::Other,
            code: None,
            message: String::new(),
        }
    }

    pub fn with(
        mut self,
        kind: ReadErrorKind,
        code: Option<u16>,
        message: impl Into<String>,
    ) -> Self {
        self.kind = kind;
        self.code = code;
        self.message = message.into();
        self
    }

    /// Classify a client error.
    pub fn from_kube(
        err: &kube::Error,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let base = Self::new(verb, resource, namespace, name);
        match err {
            kube::Error::Api(status) => {
                let code = status.code;
                let kind = match code {
                    401 => ReadErrorKind::Unauthorized,
                    403 => ReadErrorKind::Forbidden,
                    404 => ReadErrorKind::NotFound,
                    410 => ReadErrorKind::Gone,
                    504 | 408 => ReadErrorKind::Timeout,
                    _ => ReadErrorKind::Other,
                };
                let message = if status.message.is_empty() {
                    status.reason.clone()
                } else {
                    status.message.clone()
                };
                base.with(kind, Some(code), message)
            }
            other => {
                if let Some(refused) = find_in_chain::<super::guard::GuardRefused>(other) {
                    return base.with(ReadErrorKind::Refused, None, refused.to_string());
                }
                let text = chain_text(other);
                let kind = if chain_has_io_kind(other, |k| {
                    matches!(
                        k,
                        std::io::ErrorKind::ConnectionRefused
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::AddrNotAvailable
                            | std::io::ErrorKind::HostUnreachable
                            | std::io::ErrorKind::NetworkUnreachable
                            | std::io::ErrorKind::NotConnected
                    )
                }) || text.contains("dns error")
                    || text.contains("error trying to connect")
                    || text.contains("client error (Connect)")
                {
                    ReadErrorKind::Unreachable
                } else if chain_has_io_kind(other, |k| k == std::io::ErrorKind::TimedOut) {
                    ReadErrorKind::Timeout
                } else {
                    ReadErrorKind::Other
                };
                base.with(kind, None, text)
            }
        }
    }

    /// Where the request pointed, in words.
    fn place(&self) -> String {
        let mut s = String::new();
        if let Some(name) = &self.name {
            s.push_str(&format!(" `{name}`"));
        }
        match &self.namespace {
            Some(ns) => s.push_str(&format!(" in namespace {ns}")),
            None => s.push_str(" (all namespaces or cluster-scoped)"),
        }
        s
    }

    /// A sentence for people: what failed, why, and what it means for the rest.
    pub fn describe(&self) -> String {
        let what = format!("{} {}{}", self.verb, self.resource, self.place());
        match self.kind {
            ReadErrorKind::Unauthorized => format!(
                "unauthorized (401) to {what}: the API server rejected the kubeconfig credentials; refresh the token or check the user of the context ({})",
                self.message
            ),
            ReadErrorKind::Forbidden => format!(
                "forbidden (403): missing permission `{}` on `{}`{}; continuing with what can be read ({})",
                self.verb,
                self.resource,
                self.place(),
                self.message
            ),
            ReadErrorKind::NotFound => format!("not found (404): {what} ({})", self.message),
            ReadErrorKind::Gone => format!(
                "gone (410): {what}: the resourceVersion is too old, a fresh list is needed ({})",
                self.message
            ),
            ReadErrorKind::Timeout => format!("timed out: {what} ({})", self.message),
            ReadErrorKind::Unreachable => {
                format!(
                    "cluster unreachable while trying to {what}: {}",
                    self.message
                )
            }
            ReadErrorKind::Refused => {
                format!("refused by the read-only guard: {}", self.message)
            }
            ReadErrorKind::Other => match self.code {
                Some(code) => format!("{what} failed ({code}): {}", self.message),
                None => format!("{what} failed: {}", self.message),
            },
        }
    }
}

fn find_in_chain<'a, T: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        cur = e.source();
    }
    None
}

fn chain_has_io_kind(
    err: &(dyn std::error::Error + 'static),
    pred: impl Fn(std::io::ErrorKind) -> bool,
) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && pred(io.kind())
        {
            return true;
        }
        cur = e.source();
    }
    false
}

/// The error and its sources on one line, without repeats.
pub fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}
