//! Faults injected into the replay server (for tests of error handling): a status or a
//! delay on matching requests, answered as the API server words each status.

use std::sync::Mutex;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde_json::json;

use super::respond::{status_body, status_response};
use crate::kube::resources::{self, ResourceType};

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

/// The first injected fault matching this request, applied: a delay (then `None`: answer
/// normally) or the status to answer with.
pub(super) async fn apply_fault(
    faults: &Mutex<Vec<(Fault, usize)>>,
    path: &str,
    segs: &[&str],
    watch: bool,
) -> Option<Response> {
    let action = {
        let mut faults = faults.lock().ok()?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_targets() {
        let segs = ["api", "v1", "namespaces", "shop", "secrets"];
        let t = describe_target(&segs, false);
        assert_eq!(t.verb, "list");
        assert_eq!(t.t.map(|t| t.plural), Some("secrets"));
        assert_eq!(t.namespace, Some("shop"));
    }
}
