//! Reading a cluster into a [`Snapshot`]: every type triage knows, page by page and in
//! parallel under the client's limits, then bounded log tails of the containers that are
//! in trouble (previous logs for the ones that restarted). Reads that fail are kept in
//! the snapshot's `errors` and the rest carries on.

use std::collections::BTreeMap;

use chrono::Utc;
use futures::{FutureExt, StreamExt};
use serde_json::Value;

use super::client::ListQuery;
use super::error::{KubeError, ReadError, ReadErrorKind};
use super::resources::{self, ResourceType};
use super::snapshot::{ContainerLogs, ListInfo, Snapshot, log_key};
use super::source::{ClusterSource, Origin, Scope};

/// A type and its list (items and resourceVersion), or why it could not be read.
type ListOutcome = (
    &'static ResourceType,
    Result<(Vec<Value>, Option<String>), ReadError>,
);
/// A log target, its current tail, and its previous tail when asked for.
type LogOutcome = (
    LogTarget,
    Result<String, ReadError>,
    Option<Result<String, ReadError>>,
);

/// A container whose logs are worth fetching, and how urgently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LogTarget {
    priority: u8,
    restarts: std::cmp::Reverse<i64>,
    namespace: String,
    pod: String,
    container: String,
    previous: bool,
}

/// What a container's logs were fetched for: its restarts and its trouble. A fetched
/// tail stays good until one of them changes.
pub(crate) type LogStamp = (u8, i64);

impl LogTarget {
    /// The snapshot's key of this container's logs.
    pub(crate) fn key(&self) -> String {
        log_key(&self.namespace, &self.pod, &self.container)
    }

    pub(crate) fn stamp(&self) -> LogStamp {
        (self.priority, self.restarts.0)
    }
}

/// Containers in trouble: crash-looping, restarted, terminated with an error, or running
/// but not ready.
pub(crate) fn log_targets(pods: &[Value], max: usize) -> Vec<LogTarget> {
    let mut out = Vec::new();
    for pod in pods {
        let ns = pod
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let name = pod
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let statuses = ["/status/initContainerStatuses", "/status/containerStatuses"]
            .iter()
            .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
            .flatten();
        for cs in statuses {
            let container = cs.get("name").and_then(Value::as_str).unwrap_or_default();
            let restarts = cs.get("restartCount").and_then(Value::as_i64).unwrap_or(0);
            let ready = cs.get("ready").and_then(Value::as_bool).unwrap_or(false);
            let waiting = cs
                .pointer("/state/waiting/reason")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let running = cs.pointer("/state/running").is_some();
            let term_code = cs
                .pointer("/state/terminated/exitCode")
                .and_then(Value::as_i64);
            let priority = if waiting == "CrashLoopBackOff" {
                0
            } else if term_code.is_some_and(|c| c != 0)
                || cs.pointer("/lastState/terminated").is_some() && restarts > 0
            {
                1
            } else if running && !ready {
                2
            } else {
                continue;
            };
            out.push(LogTarget {
                priority,
                restarts: std::cmp::Reverse(restarts),
                namespace: ns.to_string(),
                pod: name.to_string(),
                container: container.to_string(),
                previous: restarts > 0,
            });
        }
    }
    out.sort();
    out.truncate(max);
    out
}

fn is_truncated(text: &str, lines: i64, bytes: i64) -> bool {
    text.len() as i64 >= bytes || text.lines().count() as i64 >= lines
}

/// Read everything in `scope` into a snapshot.
#[allow(clippy::too_many_lines)] // one read per resource type, in order
pub async fn record(source: &ClusterSource, scope: &Scope) -> Result<Snapshot, KubeError> {
    let client = source.client();
    let concurrency = client.options().concurrency.max(1);
    let mut snap = Snapshot::new(source.now());
    snap.server = Some(client.server().to_string());
    snap.context = source.context().map(str::to_string);
    if let Origin::Replay { recorded_from, .. } = source.origin() {
        // A recording of a replay keeps the cluster it came from.
        snap.server = recorded_from.clone();
    }
    match scope {
        Scope::Namespace(ns) => snap.namespaces = vec![ns.clone()],
        Scope::AllNamespaces => snap.all_namespaces = true,
    }

    match client.version().await {
        Ok(v) => snap.server_version = Some(v),
        Err(e) if matches!(e.kind, ReadErrorKind::Unreachable | ReadErrorKind::Timeout) => {
            return Err(KubeError::Unreachable {
                server: client.server().to_string(),
                reason: e.message,
            });
        }
        Err(e) => snap.errors.push(e),
    }

    // Lists: namespaced types in the scope, cluster-scoped ones whole. With one namespace,
    // that namespace object is read on its own (listing namespaces needs cluster rights).
    let ns = scope.namespace();
    let mut types: Vec<&'static ResourceType> = resources::OBJECT_TYPES.iter().collect();
    types.push(&resources::EVENTS);
    // Futures built in a loop and boxed (not in a stream closure): the scan future then
    // stays `Send` for callers that spawn it.
    let mut reads = Vec::new();
    for t in types {
        reads.push(
            async move {
                let res = if *t == resources::NAMESPACES && ns.is_some() {
                    client
                        .get(t, None, ns.unwrap_or_default())
                        .await
                        .map(|obj| (vec![obj], None))
                } else {
                    let q = ListQuery {
                        metadata_only: *t == resources::SECRETS,
                        ..ListQuery::default()
                    };
                    client
                        .list(t, ns, &q)
                        .await
                        .map(|l| (l.items, l.resource_version))
                };
                (t, res)
            }
            .boxed(),
        );
    }
    let results: Vec<ListOutcome> = futures::stream::iter(reads)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut unauthorized = false;
    for (t, res) in results {
        match res {
            Ok((mut items, rv)) => {
                for item in &mut items {
                    // Lists come without kind/apiVersion per item; keep them as returned
                    // but drop what a single get adds, so both look alike.
                    if let Some(map) = item.as_object_mut() {
                        map.remove("kind");
                        map.remove("apiVersion");
                    }
                }
                snap.lists.insert(
                    t.key(),
                    ListInfo {
                        resource_version: rv,
                        observed_at: source.now(),
                    },
                );
                if *t == resources::EVENTS {
                    snap.events = items;
                } else {
                    snap.objects.insert(t.key(), items);
                }
            }
            // An add-on's types on a cluster without it: absent, which is what the
            // snapshot says by not having the key.
            Err(e) if e.kind == ReadErrorKind::NotFound && resources::add_on(t).is_some() => {
                tracing::debug!("{}", resources::not_installed(t));
            }
            Err(e) => {
                // One 401 says it all: the credentials are refused for everything.
                if e.kind == ReadErrorKind::Unauthorized {
                    if unauthorized {
                        continue;
                    }
                    unauthorized = true;
                }
                snap.errors.push(e);
            }
        }
    }

    // Log tails of containers in trouble.
    let targets = log_targets(
        snap.objects_of(&resources::PODS),
        client.options().max_log_containers,
    );
    let (logs, errors) = fetch_logs(client, targets).await;
    snap.logs = logs;
    snap.errors.extend(errors);
    snap.sanitize();
    match crate::llm::redact::Redactor::from_env(&crate::config::AgentConfig::default()) {
        Ok(redactor) => snap.redact(&redactor),
        // The built-in rules are tested to compile; without them nothing is kept.
        Err(e) => {
            return Err(KubeError::Snapshot {
                path: std::path::PathBuf::from("<recording>"),
                problem: format!("cannot redact the recording: {e}"),
            });
        }
    }
    tracing::debug!(
        objects = snap.object_count(),
        logs = snap.logs.len(),
        errors = snap.errors.len(),
        took_ms = (Utc::now() - source.now()).num_milliseconds(),
        "cluster recorded"
    );
    Ok(snap)
}

/// Bounded log tails of `targets` (previous ones for containers that restarted). A
/// container with no such instance (400) is skipped; one error of each other kind is
/// returned (a missing `get pods/log` right fails every container the same way).
pub(crate) async fn fetch_logs(
    client: &super::client::KubeClient,
    targets: Vec<LogTarget>,
) -> (BTreeMap<String, ContainerLogs>, Vec<ReadError>) {
    let opts = client.options().clone();
    let concurrency = opts.concurrency.max(1);
    let fetched: Vec<LogOutcome> = futures::stream::iter(targets)
        .map(|t| async move {
            let current = client
                .logs(&t.namespace, &t.pod, Some(&t.container), false)
                .await;
            let previous = if t.previous {
                Some(
                    client
                        .logs(&t.namespace, &t.pod, Some(&t.container), true)
                        .await,
                )
            } else {
                None
            };
            (t, current, previous)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut logs = BTreeMap::new();
    let mut errors = Vec::new();
    let mut log_error_kinds: Vec<ReadErrorKind> = Vec::new();
    for (t, current, previous) in fetched {
        let mut entry = ContainerLogs::default();
        for (res, slot) in [(Some(current), 0), (previous, 1)] {
            match res {
                Some(Ok(text)) => {
                    entry.truncated |=
                        is_truncated(&text, opts.log_tail_lines, opts.log_tail_bytes);
                    if slot == 0 {
                        entry.current = Some(text);
                    } else {
                        entry.previous = Some(text);
                    }
                }
                // 400: no such instance (a container that never ran, or no previous one).
                Some(Err(e)) if e.code == Some(400) => {}
                Some(Err(e)) if !log_error_kinds.contains(&e.kind) => {
                    log_error_kinds.push(e.kind);
                    errors.push(e);
                }
                Some(Err(_)) | None => {}
            }
        }
        if entry.current.is_some() || entry.previous.is_some() {
            logs.insert(t.key(), entry);
        }
    }
    (logs, errors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crashlooping_containers_come_first() {
        let pods = vec![
            json!({"metadata": {"namespace": "a", "name": "ok"}, "status": {"containerStatuses": [
                {"name": "c", "ready": true, "restartCount": 0, "state": {"running": {}}}]}}),
            json!({"metadata": {"namespace": "a", "name": "slow"}, "status": {"containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 0, "state": {"running": {}}}]}}),
            json!({"metadata": {"namespace": "a", "name": "crash"}, "status": {"containerStatuses": [
                {"name": "c", "ready": false, "restartCount": 9, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                 "lastState": {"terminated": {"exitCode": 1}}}]}}),
        ];
        let t = log_targets(&pods, 10);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].pod, "crash");
        assert!(t[0].previous);
        assert_eq!(t[1].pod, "slow");
        assert!(!t[1].previous);
        assert_eq!(log_targets(&pods, 1).len(), 1);
    }
}
