//! Following one resource type: list it, then watch from the list's resourceVersion with
//! kube-rs's watch stream (bookmarks keep the version current); when the server answers
//! 410 Gone the version is too old and the type is listed again, other errors are retried
//! with exponential backoff, and 401/403 end the following (nothing would change).

use std::time::Duration;

use futures::StreamExt;
use kube::core::params::WatchParams;
use kube::core::{Request, WatchEvent};
use serde_json::Value;

use super::client::{KubeClient, ListQuery, resource_name};
use super::error::{ReadError, ReadErrorKind};
use super::resources::{self, ResourceType};

/// Seconds a watch request asks the server to keep it open.
const WATCH_SECS: u32 = 290;

/// What following a type sees.
#[derive(Debug)]
pub enum Seen {
    /// A complete list: the type's objects now (a first list, or a resync).
    Listed(Vec<Value>),
    Applied(Value),
    Deleted(Value),
    /// A read failed; following goes on after a pause unless the error is fatal.
    Failed(ReadError),
    /// A watch is established (the server answered; changes follow as they happen).
    Watching,
}

/// Exponential backoff with jitter: 0.5 s doubling to 30 s, reset on success.
#[derive(Debug, Default)]
struct Backoff {
    attempt: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let base = 500u64.saturating_mul(1 << self.attempt.min(6)).min(30_000);
        self.attempt += 1;
        // Jitter from the clock's nanoseconds: enough to spread many watches apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::from(d.subsec_nanos()));
        Duration::from_millis(base / 2 + nanos % (base / 2 + 1))
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

fn fatal(t: &ResourceType, e: &ReadError) -> bool {
    matches!(
        e.kind,
        ReadErrorKind::Unauthorized | ReadErrorKind::Forbidden | ReadErrorKind::Refused
    ) || (e.kind == ReadErrorKind::NotFound && resources::add_on(t).is_some())
}

/// Follow `t` in `namespace` until a fatal error (reported through `seen` first) or the
/// task is dropped.
pub async fn follow(
    client: KubeClient,
    t: &'static ResourceType,
    namespace: Option<String>,
    mut seen: impl FnMut(Seen),
) {
    let ns = namespace.as_deref().filter(|_| t.namespaced);
    let metadata_only = *t == resources::SECRETS;
    let mut backoff = Backoff::default();
    loop {
        let q = ListQuery {
            metadata_only,
            ..ListQuery::default()
        };
        let mut version = match client.list(t, ns, &q).await {
            Ok(list) => {
                seen(Seen::Listed(list.items));
                backoff.reset();
                list.resource_version.unwrap_or_default()
            }
            Err(e) => {
                let stop = fatal(t, &e);
                seen(Seen::Failed(e));
                if stop {
                    return;
                }
                tokio::time::sleep(backoff.next()).await;
                continue;
            }
        };
        // Watch until the version is gone; then list again.
        loop {
            match watch_once(&client, t, ns, &mut version, metadata_only, &mut seen).await {
                Ok(()) => backoff.reset(),
                Err(e) if e.kind == ReadErrorKind::Gone => {
                    seen(Seen::Failed(e));
                    break;
                }
                Err(e) => {
                    let stop = fatal(t, &e);
                    seen(Seen::Failed(e));
                    if stop {
                        return;
                    }
                    tokio::time::sleep(backoff.next()).await;
                }
            }
        }
    }
}

/// One watch request, to its end (the server's timeout) or its first error.
async fn watch_once(
    client: &KubeClient,
    t: &'static ResourceType,
    ns: Option<&str>,
    version: &mut String,
    metadata_only: bool,
    seen: &mut impl FnMut(Seen),
) -> Result<(), ReadError> {
    let resource = resource_name(t);
    let err = |e: &kube::Error| ReadError::from_kube(e, "watch", &resource, ns, None);
    let mut wp = WatchParams::default().timeout(WATCH_SECS);
    wp.bookmarks = true;
    let request = Request::new(t.list_path(ns));
    let req = if metadata_only {
        request.watch_metadata(&wp, version)
    } else {
        request.watch(&wp, version)
    }
    .map_err(|e| {
        ReadError::new("watch", &resource, ns, None).with(ReadErrorKind::Other, None, e.to_string())
    })?;
    let stream = client
        .raw()
        .request_events::<Value>(req)
        .await
        .map_err(|e| err(&e))?;
    futures::pin_mut!(stream);
    seen(Seen::Watching);
    // A connection that went away without a word would hang forever: a watch outliving
    // its own timeout is given up and started again.
    let idle = Duration::from_secs(u64::from(WATCH_SECS) + 30);
    loop {
        let Ok(next) = tokio::time::timeout(idle, stream.next()).await else {
            return Err(ReadError::new("watch", &resource, ns, None).with(
                ReadErrorKind::Timeout,
                None,
                format!("no word from the watch for {} s", idle.as_secs()),
            ));
        };
        let Some(ev) = next else { break };
        let ev = ev.map_err(|e| err(&e))?;
        let (obj, deleted) = match ev {
            WatchEvent::Added(o) | WatchEvent::Modified(o) => (o, false),
            WatchEvent::Deleted(o) => (o, true),
            WatchEvent::Bookmark(b) => {
                *version = b.metadata.resource_version;
                continue;
            }
            WatchEvent::Error(status) => return Err(err(&kube::Error::Api(status))),
        };
        if let Some(rv) = obj
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
        {
            *version = rv.to_string();
        }
        seen(if deleted {
            Seen::Deleted(obj)
        } else {
            Seen::Applied(obj)
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_and_resets() {
        let mut b = Backoff::default();
        let first = b.next();
        assert!(first <= Duration::from_millis(500) && first >= Duration::from_millis(250));
        for _ in 0..10 {
            b.next();
        }
        let capped = b.next();
        assert!(capped <= Duration::from_secs(30) && capped >= Duration::from_secs(15));
        b.reset();
        assert!(b.next() <= Duration::from_millis(500));
    }
}
