//! What the replay server's handlers share: the served snapshot and state, the injected
//! faults, and the log of requests received.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::faults::Fault;
use crate::kube::replay_watch::ReplayState;
use crate::kube::snapshot::Snapshot;

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

/// Called for each request once it is answered.
pub(super) type RequestHook = Arc<dyn Fn(&RecordedRequest) + Send + Sync>;

/// What every request handler reads.
pub(super) struct App {
    pub(super) snapshot: Snapshot,
    pub(super) addr: SocketAddr,
    pub(super) faults: Mutex<Vec<(Fault, usize)>>,
    pub(super) log: Arc<Mutex<Vec<RecordedRequest>>>,
    pub(super) on_request: Option<RequestHook>,
    /// What is served now: the snapshot, as changed since (objects, logs, versions).
    pub(super) state: Arc<ReplayState>,
}
