//! A cluster picture kept current by watches instead of a list per question: each type
//! is listed once and then followed with a kube-rs watch stream ([`super::follow`]: a
//! 410 Gone lists again, other errors back off and retry), and every type's age is
//! known, so an answer can say how old its data is. [`LivePicture::snapshot`] turns the
//! picture into the same [`Snapshot`] a scan records, so the analysis is unchanged.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::error::{ReadError, ReadErrorKind};
use super::follow::{Seen, follow};
use super::record::{self, LogStamp};
use super::resources;
use super::snapshot::{ContainerLogs, ListInfo, Snapshot};
use super::source::{ClusterSource, Scope};

type Key = (String, String);
type Items = BTreeMap<Key, Value>;

/// One watched type.
#[derive(Debug, Default)]
struct TypeState {
    objects: Items,
    synced: bool,
    lists: u64,
    last_ok: Option<Instant>,
    /// The error since which the type has not been current, and when it happened.
    failing: Option<(Instant, ReadError)>,
    /// Set when watching stopped for good (401/403): the type is not read at all.
    stopped: Option<ReadError>,
}

#[derive(Debug, Default)]
struct State {
    types: BTreeMap<String, TypeState>,
    logs: HashMap<String, (LogStamp, ContainerLogs)>,
    fixed: Vec<Value>,
    fixed_errors: Vec<ReadError>,
    server_version: Option<Value>,
}

/// How current one type is.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeFreshness {
    pub key: String,
    /// Zero while the watch is healthy; the time since it last was, otherwise.
    pub age: Duration,
    pub synced: bool,
    pub problem: Option<String>,
}

/// The watched picture of one scope. Dropping it stops the watches.
pub struct LivePicture {
    scope: Scope,
    stale_after: Duration,
    state: Arc<Mutex<State>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    started: Instant,
}

impl Drop for LivePicture {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl std::fmt::Debug for LivePicture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LivePicture")
            .field("scope", &self.scope)
            .finish()
    }
}

fn key_of(obj: &Value) -> Key {
    let s = |f: &str| {
        obj.pointer(&format!("/metadata/{f}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    (s("namespace"), s("name"))
}

fn strip_type(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.remove("kind");
        map.remove("apiVersion");
    }
    v
}

impl TypeState {
    /// Apply what following the type saw.
    fn apply(&mut self, seen: Seen) {
        let now = Instant::now();
        match seen {
            Seen::Failed(e) => {
                if e.kind == ReadErrorKind::Gone {
                    tracing::info!("{e}; listing again");
                } else {
                    tracing::warn!("{e}; retrying with backoff");
                }
                // A collection the server does not serve (an add-on not installed) is
                // not read at all, like one the credentials may not read.
                if matches!(
                    e.kind,
                    ReadErrorKind::Unauthorized
                        | ReadErrorKind::Forbidden
                        | ReadErrorKind::Refused
                        | ReadErrorKind::NotFound
                ) {
                    self.stopped = Some(e);
                } else if self.failing.is_none() {
                    self.failing = Some((now, e));
                }
                return;
            }
            Seen::Listed(items) => {
                self.objects = items
                    .into_iter()
                    .map(strip_type)
                    .map(|o| (key_of(&o), o))
                    .collect();
                self.synced = true;
                self.lists += 1;
            }
            Seen::Applied(o) => {
                let o = strip_type(o);
                self.objects.insert(key_of(&o), o);
            }
            Seen::Deleted(o) => {
                self.objects.remove(&key_of(&o));
            }
            Seen::Watching => {}
        }
        self.last_ok = Some(now);
        self.failing = None;
    }

    fn age(&self, started: Instant, now: Instant) -> Duration {
        match (&self.failing, self.synced) {
            (None, true) => Duration::ZERO,
            _ => now.duration_since(self.last_ok.unwrap_or(started)),
        }
    }
}

impl LivePicture {
    /// Start watching every type triage reads in `scope` (events included); data older
    /// than `stale_after` is called stale.
    pub async fn start(source: &ClusterSource, scope: &Scope, stale_after: Duration) -> Self {
        let client = source.client();
        let ns = scope.namespace().map(str::to_string);
        let state = Arc::new(Mutex::new(State::default()));
        let mut fixed = Vec::new();
        let mut fixed_errors = Vec::new();
        match client.version().await {
            Ok(v) => lock(&state).server_version = Some(v),
            Err(e) => fixed_errors.push(e),
        }
        // One namespace: its object is read once (listing namespaces needs cluster rights).
        if let Some(n) = &ns {
            match client.get(&resources::NAMESPACES, None, n).await {
                Ok(obj) => fixed.push(strip_type(obj)),
                Err(e) => fixed_errors.push(e),
            }
        }
        {
            let mut s = lock(&state);
            s.fixed = fixed;
            s.fixed_errors = fixed_errors;
        }
        let mut tasks = Vec::new();
        let types = resources::OBJECT_TYPES
            .iter()
            .chain(std::iter::once(&resources::EVENTS))
            .filter(|t| !(ns.is_some() && **t == resources::NAMESPACES));
        for t in types {
            lock(&state).types.insert(t.key(), TypeState::default());
            let (state, key) = (state.clone(), t.key());
            tasks.push(tokio::spawn(follow(
                client.clone(),
                t,
                ns.clone(),
                move |seen| {
                    if let Some(ts) = lock(&state).types.get_mut(&key) {
                        ts.apply(seen);
                    }
                },
            )));
        }
        Self {
            scope: scope.clone(),
            stale_after,
            state,
            tasks,
            started: Instant::now(),
        }
    }

    /// Keep this picture beside `source`: scans of it read the picture from then on.
    /// False when the source already has one.
    pub fn attach_to(self, source: &ClusterSource) -> bool {
        source.attach(Arc::new(self))
    }

    /// The picture kept beside `source`, if any.
    pub fn of(source: &ClusterSource) -> Option<Arc<LivePicture>> {
        source.attached::<LivePicture>()
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether this picture can answer for `scope`.
    pub fn covers(&self, scope: &Scope) -> bool {
        self.scope == Scope::AllNamespaces || &self.scope == scope
    }

    /// Wait until every type has listed once (or stopped), at most `timeout`. Returns
    /// whether all did.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let done = lock(&self.state)
                .types
                .values()
                .all(|t| t.synced || t.stopped.is_some());
            if done {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Each type's freshness.
    pub fn freshness(&self) -> Vec<TypeFreshness> {
        let now = Instant::now();
        lock(&self.state)
            .types
            .iter()
            .map(|(key, t)| TypeFreshness {
                key: key.clone(),
                age: t.age(self.started, now),
                synced: t.synced,
                problem: t
                    .stopped
                    .as_ref()
                    .or(t.failing.as_ref().map(|(_, e)| e))
                    .map(|e| e.to_string()),
            })
            .collect()
    }

    /// The age of the oldest type still watched.
    pub fn age(&self) -> Duration {
        let now = Instant::now();
        lock(&self.state)
            .types
            .values()
            .filter(|t| t.stopped.is_none())
            .map(|t| t.age(self.started, now))
            .max()
            .unwrap_or_default()
    }

    /// Full lists done after the first ones: resyncs after a 410 or an error.
    pub fn resyncs(&self) -> u64 {
        lock(&self.state)
            .types
            .values()
            .map(|t| t.lists.saturating_sub(1))
            .sum()
    }

    /// Objects held, all types together.
    pub fn object_count(&self) -> usize {
        lock(&self.state)
            .types
            .values()
            .map(|t| t.objects.len())
            .sum()
    }

    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }

    /// The picture as a snapshot, with log tails of the containers in trouble (fetched
    /// only when a container's restarts or state changed since the last fetch). Types
    /// older than the stale limit are named in the snapshot's errors.
    pub async fn snapshot(&self, source: &ClusterSource) -> Snapshot {
        let stale_after = self.stale_after;
        let now = source.now();
        let mut snap = Snapshot::new(now);
        snap.server = Some(source.client().server().to_string());
        snap.context = source.context().map(str::to_string);
        match &self.scope {
            Scope::Namespace(ns) => snap.namespaces = vec![ns.clone()],
            Scope::AllNamespaces => snap.all_namespaces = true,
        }
        let instant = Instant::now();
        {
            let s = lock(&self.state);
            snap.server_version = s.server_version.clone();
            snap.errors.extend(s.fixed_errors.iter().cloned());
            if !s.fixed.is_empty() {
                snap.objects
                    .insert(resources::NAMESPACES.key(), s.fixed.clone());
            }
            for (key, t) in &s.types {
                let age = t.age(self.started, instant);
                if let Some(e) = &t.stopped {
                    // Not installed: the snapshot says so by not having the key.
                    if e.kind != ReadErrorKind::NotFound {
                        snap.errors.push(e.clone());
                    }
                    continue;
                }
                let items: Vec<Value> = t.objects.values().cloned().collect();
                if key == &resources::EVENTS.key() {
                    snap.events = items;
                } else {
                    snap.objects.insert(key.clone(), items);
                }
                let age_chrono = chrono::Duration::from_std(age).unwrap_or_default();
                snap.lists.insert(
                    key.clone(),
                    ListInfo {
                        resource_version: None,
                        observed_at: now - age_chrono,
                    },
                );
                if age > stale_after {
                    snap.errors.push(stale_error(
                        key,
                        self.scope.namespace(),
                        age,
                        stale_after,
                        t,
                    ));
                }
            }
        }
        snap.logs = self.logs(source, snap.objects_of(&resources::PODS)).await;
        snap.sanitize();
        snap
    }

    async fn logs(
        &self,
        source: &ClusterSource,
        pods: &[Value],
    ) -> BTreeMap<String, ContainerLogs> {
        let client = source.client();
        let targets = record::log_targets(pods, client.options().max_log_containers);
        let wanted: Vec<_> = {
            let s = lock(&self.state);
            targets
                .into_iter()
                .filter(|t| {
                    s.logs
                        .get(&t.key())
                        .is_none_or(|(stamp, _)| *stamp != t.stamp())
                })
                .collect()
        };
        let (fetched, errors) = record::fetch_logs(client, wanted.clone()).await;
        for e in errors {
            tracing::debug!("log tail: {e}");
        }
        let mut s = lock(&self.state);
        for t in &wanted {
            let entry = fetched.get(&t.key()).cloned().unwrap_or_default();
            s.logs.insert(t.key(), (t.stamp(), entry));
        }
        let live: std::collections::HashSet<String> = record::log_targets(pods, usize::MAX)
            .iter()
            .map(record::LogTarget::key)
            .collect();
        s.logs.retain(|k, _| live.contains(k));
        s.logs
            .iter()
            .filter(|(_, (_, l))| l.current.is_some() || l.previous.is_some())
            .map(|(k, (_, l))| (k.clone(), l.clone()))
            .collect()
    }
}

fn stale_error(
    key: &str,
    ns: Option<&str>,
    age: Duration,
    limit: Duration,
    t: &TypeState,
) -> ReadError {
    let resource = resources::by_key(key)
        .map(super::client::resource_name)
        .unwrap_or_else(|| key.to_string());
    let why = t
        .failing
        .as_ref()
        .map(|(_, e)| format!(": {}", e.message))
        .unwrap_or_default();
    ReadError::new("watch", &resource, ns, None).with(
        ReadErrorKind::Timeout,
        None,
        format!(
            "data is stale: {} s old, past the {} s limit{why}",
            age.as_secs(),
            limit.as_secs()
        ),
    )
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
