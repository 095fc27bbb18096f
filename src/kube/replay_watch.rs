//! The replay server's state, which can change while it serves: tests (and demos) apply,
//! delete and expire objects; watches stream the changes as an API server does (history
//! after the asked resourceVersion, then live events until `timeoutSeconds`), and
//! [`ReplayState::expire_watches`] ends every watch with a 410 the way a compacted etcd
//! does, so clients must list again.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::resources::{self, ResourceType};
use super::snapshot::{ContainerLogs, Snapshot, log_key};
use super::table;

/// Changes kept for watches that resume from an older resourceVersion.
const HISTORY: usize = 10_000;

/// One change, as a watch event.
#[derive(Debug)]
pub(crate) struct Change {
    rv: u64,
    key: String,
    kind: &'static str,
    object: Value,
}

#[derive(Debug, Clone)]
enum Notice {
    Change(Arc<Change>),
    Expire,
}

/// What the server serves right now.
#[derive(Debug)]
pub(crate) struct Served {
    /// Items of each type sorted by namespace and name, by type key.
    pub items: HashMap<String, Vec<Value>>,
    pub logs: BTreeMap<String, ContainerLogs>,
    pub rv: u64,
    history: VecDeque<Arc<Change>>,
    /// A watch from a resourceVersion below this gets 410 Gone.
    compacted: u64,
}

/// The served cluster state; shared by the server and whoever changes it.
#[derive(Debug)]
pub struct ReplayState {
    served: RwLock<Served>,
    notices: broadcast::Sender<Notice>,
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn sort_key(o: &Value) -> (String, String) {
    (
        meta_str(o, "namespace").to_string(),
        meta_str(o, "name").to_string(),
    )
}

impl ReplayState {
    pub(crate) fn new(snapshot: &Snapshot) -> Self {
        let mut items = HashMap::new();
        for t in resources::SERVED_TYPES {
            // An add-on the recorded cluster did not have is not served (404), as there.
            if resources::add_on(t).is_some() && !snapshot.objects.contains_key(&t.key()) {
                continue;
            }
            let mut list: Vec<Value> = snapshot.objects_of(t).to_vec();
            list.sort_by_key(sort_key);
            items.insert(t.key(), list);
        }
        let rv = snapshot.resource_version();
        let (notices, _) = broadcast::channel(4096);
        Self {
            served: RwLock::new(Served {
                items,
                logs: snapshot.logs.clone(),
                rv,
                history: VecDeque::new(),
                compacted: rv,
            }),
            notices,
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, Served> {
        self.served
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Served> {
        self.served
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.read().rv
    }

    /// Add or replace an object (matched by namespace and name); watches see ADDED or
    /// MODIFIED. Returns the new resourceVersion.
    pub fn apply(&self, t: &ResourceType, mut object: Value) -> u64 {
        let mut s = self.write();
        s.rv += 1;
        let rv = s.rv;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        let key = sort_key(&object);
        let list = s.items.entry(t.key()).or_default();
        let kind = match list.iter().position(|o| sort_key(o) == key) {
            Some(i) => {
                list[i] = object.clone();
                "MODIFIED"
            }
            None => {
                list.push(object.clone());
                list.sort_by_key(sort_key);
                "ADDED"
            }
        };
        self.record(&mut s, t, kind, object);
        rv
    }

    /// Remove an object; watches see DELETED. Returns the new resourceVersion, or `None`
    /// when there was no such object.
    pub fn delete(&self, t: &ResourceType, namespace: Option<&str>, name: &str) -> Option<u64> {
        let mut s = self.write();
        let list = s.items.get_mut(&t.key())?;
        let i = list.iter().position(|o| {
            meta_str(o, "name") == name && meta_str(o, "namespace") == namespace.unwrap_or("")
        })?;
        let mut object = list.remove(i);
        s.rv += 1;
        let rv = s.rv;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        self.record(&mut s, t, "DELETED", object);
        Some(rv)
    }

    /// Replace a container's log tails.
    pub fn set_logs(&self, namespace: &str, pod: &str, container: &str, logs: ContainerLogs) {
        self.write()
            .logs
            .insert(log_key(namespace, pod, container), logs);
    }

    /// End every open watch with a 410 ERROR event and forget the history, so a watch
    /// resuming from any earlier resourceVersion is answered 410 too and the client must
    /// list again. With `change`, that change is applied unannounced first: only a fresh
    /// list shows it.
    pub fn expire_watches(&self, change: Option<(&ResourceType, Value)>) {
        let mut s = self.write();
        if let Some((t, mut object)) = change {
            s.rv += 1;
            let rv = s.rv;
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                meta.insert("resourceVersion".into(), json!(rv.to_string()));
            }
            let key = sort_key(&object);
            let list = s.items.entry(t.key()).or_default();
            list.retain(|o| sort_key(o) != key);
            list.push(object);
            list.sort_by_key(sort_key);
        }
        s.rv += 1;
        s.compacted = s.rv;
        s.history.clear();
        let _ = self.notices.send(Notice::Expire);
    }

    fn record(&self, s: &mut Served, t: &ResourceType, kind: &'static str, object: Value) {
        let change = Arc::new(Change {
            rv: s.rv,
            key: t.key(),
            kind,
            object,
        });
        s.history.push_back(change.clone());
        while s.history.len() > HISTORY {
            if let Some(old) = s.history.pop_front() {
                s.compacted = old.rv + 1;
            }
        }
        // Sent under the write lock: a watch that subscribes under the read lock sees
        // each change exactly once, from the history or live.
        let _ = self.notices.send(Notice::Change(change));
    }
}

/// What a watch asks for.
pub(crate) struct WatchRequest {
    pub t: &'static ResourceType,
    pub namespace: Option<String>,
    /// Label and field selectors.
    pub selects: Box<dyn Fn(&Value) -> bool + Send + Sync>,
    /// `None` or 0: start with the current objects as ADDED.
    pub resource_version: Option<u64>,
    pub timeout: Duration,
    /// `as=PartialObjectMetadata`: objects carry their metadata only.
    pub metadata_only: bool,
}

impl WatchRequest {
    fn wants(&self, c: &Change) -> bool {
        c.key == self.t.key()
            && (!self.t.namespaced
                || self
                    .namespace
                    .as_deref()
                    .is_none_or(|ns| meta_str(&c.object, "namespace") == ns))
            && (self.selects)(&c.object)
    }

    fn line(&self, kind: &str, object: &Value) -> Bytes {
        let object = if self.metadata_only {
            json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": object.get("metadata").cloned().unwrap_or(Value::Null),
            })
        } else {
            table::with_type(object, self.t)
        };
        let mut s = json!({"type": kind, "object": object}).to_string();
        s.push('\n');
        Bytes::from(s)
    }
}

fn gone_line(asked: u64, current: u64) -> Bytes {
    let status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("too old resource version: {asked} ({current})"),
        "reason": "Expired",
        "code": 410,
    });
    let mut s = json!({"type": "ERROR", "object": status}).to_string();
    s.push('\n');
    Bytes::from(s)
}

/// The streamed answer to a watch.
pub(crate) fn watch_response(state: &Arc<ReplayState>, req: WatchRequest) -> Response {
    let req = Arc::new(req);
    let mut first: Vec<Bytes> = Vec::new();
    let (rx, current) = {
        let s = state.read();
        let rx = state.notices.subscribe();
        match req.resource_version.filter(|rv| *rv != 0) {
            Some(asked) if asked < s.compacted => {
                first.push(gone_line(asked, s.rv));
                return stream_response(first, None, req);
            }
            Some(asked) => {
                for c in s.history.iter().filter(|c| c.rv > asked && req.wants(c)) {
                    first.push(req.line(c.kind, &c.object));
                }
            }
            None => {
                for o in s.items.get(&req.t.key()).into_iter().flatten() {
                    let c = Change {
                        rv: 0,
                        key: req.t.key(),
                        kind: "ADDED",
                        object: o.clone(),
                    };
                    if req.wants(&c) {
                        first.push(req.line("ADDED", o));
                    }
                }
            }
        }
        (rx, s.rv)
    };
    stream_response(first, Some((rx, current)), req)
}

fn stream_response(
    first: Vec<Bytes>,
    live: Option<(broadcast::Receiver<Notice>, u64)>,
    req: Arc<WatchRequest>,
) -> Response {
    let head = futures::stream::iter(first.into_iter().map(Ok::<Bytes, Infallible>));
    let deadline = tokio::time::Instant::now() + req.timeout;
    let body = match live {
        None => Body::from_stream(head),
        Some((rx, current)) => Body::from_stream(futures::StreamExt::chain(
            head,
            live_stream(rx, current, deadline, req),
        )),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn live_stream(
    rx: broadcast::Receiver<Notice>,
    current: u64,
    deadline: tokio::time::Instant,
    req: Arc<WatchRequest>,
) -> impl futures::Stream<Item = Result<Bytes, Infallible>> {
    futures::stream::unfold(Some(rx), move |rx| {
        let req = req.clone();
        async move {
            let mut rx = rx?;
            loop {
                let notice = tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => return None,
                    n = rx.recv() => n,
                };
                match notice {
                    Ok(Notice::Change(c)) if req.wants(&c) => {
                        return Some((Ok(req.line(c.kind, &c.object)), Some(rx)));
                    }
                    Ok(Notice::Change(_)) => {}
                    Ok(Notice::Expire) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(gone_line(current, current + 1)), None));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    })
}
