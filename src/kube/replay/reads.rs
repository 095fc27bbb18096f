//! Reads the replay server answers: get, list (selectors, pagination, tables, metadata
//! only), watch and pod logs, from the state it serves.

use std::collections::HashMap;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode, header};
use serde::Serialize;
use serde_json::{Value, json};

use super::app::App;
use super::respond::{json_response, meta_str, not_found, status_response};
use crate::kube::replay_watch::{WatchRequest, watch_response};
use crate::kube::resources::{self, ResourceType};
use crate::kube::selector::{FieldSelector, LabelSelector};
use crate::kube::snapshot::log_key;
use crate::kube::table;

enum Accept {
    Full,
    Table,
    Metadata,
}

fn accept_of(headers: &HeaderMap) -> Accept {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The first alternative the server supports wins, as on the API server.
    for alt in accept.split(',') {
        if alt.contains("as=Table") {
            return Accept::Table;
        }
        if alt.contains("as=PartialObjectMetadata") {
            return Accept::Metadata;
        }
        if alt.trim().starts_with("application/json") || alt.trim().starts_with("*/*") {
            return Accept::Full;
        }
    }
    Accept::Full
}

/// A request under `/api/v1` or `/apis/GROUP/VERSION`: a get, a list or watch, a log.
pub(super) async fn resource_route(
    app: &App,
    group: &str,
    version: &str,
    rest: &[&str],
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    watch: bool,
) -> Response {
    let unknown = || not_found("the server could not find the requested resource");
    let find = |plural: &str| {
        resources::by_path(group, version, plural)
            .filter(|t| app.state.read().items.contains_key(&t.key()))
    };
    match rest {
        ["namespaces", ns, "status"] if group.is_empty() => {
            get(app, &resources::NAMESPACES, None, ns, headers, query)
        }
        ["namespaces", ns, plural] => match find(plural) {
            Some(t) if t.namespaced => list(app, t, Some(ns), query, headers, watch).await,
            _ => unknown(),
        },
        ["namespaces", ns, plural, name] => match find(plural) {
            Some(t) if t.namespaced => get(app, t, Some(ns), name, headers, query),
            _ => unknown(),
        },
        ["namespaces", ns, "pods", name, "log"] if group.is_empty() => logs(app, ns, name, query),
        ["namespaces", ns, plural, name, "status"] => match find(plural) {
            Some(t) if t.namespaced => get(app, t, Some(ns), name, headers, query),
            _ => unknown(),
        },
        [plural] => match find(plural) {
            Some(t) => list(app, t, None, query, headers, watch).await,
            None => unknown(),
        },
        [plural, name] | [plural, name, "status"] => match find(plural) {
            Some(t) if !t.namespaced => get(app, t, None, name, headers, query),
            _ => unknown(),
        },
        _ => unknown(),
    }
}

fn get(
    app: &App,
    t: &'static ResourceType,
    ns: Option<&str>,
    name: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Response {
    let served = app.state.read();
    let found = served.items.get(&t.key()).and_then(|items| {
        items.iter().find(|o| {
            meta_str(o, "name") == name
                && (!t.namespaced || ns.is_none_or(|ns| meta_str(o, "namespace") == ns))
        })
    });
    let Some(obj) = found else {
        return status_response(
            404,
            "NotFound",
            &format!("{} \"{name}\" not found", t.plural),
            Some(json!({"name": name, "group": t.group, "kind": t.plural})),
        );
    };
    match accept_of(headers) {
        Accept::Table => {
            let include = query
                .get("includeObject")
                .map(String::as_str)
                .unwrap_or("Metadata");
            let meta = json!({"resourceVersion": served.rv.to_string()});
            json_response(
                200,
                &table::table(t, &[obj], app.snapshot.recorded_at, include, meta),
            )
        }
        Accept::Metadata => json_response(
            200,
            &json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata").cloned().unwrap_or(Value::Null),
            }),
        ),
        Accept::Full => json_response(200, &table::with_type(obj, t)),
    }
}

#[derive(Serialize)]
struct ListOut<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: Vec<ListItem<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ListItem<'a> {
    Full(&'a Value),
    Metadata { metadata: &'a Value },
}

async fn list(
    app: &App,
    t: &'static ResourceType,
    ns: Option<&str>,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    watch: bool,
) -> Response {
    let (labels, fields) = match selectors(query) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if watch {
        return watch_stream(app, t, ns, labels, fields, query, headers);
    }
    let served = app.state.read();
    let rv = served.rv;
    let empty = Vec::new();
    let all = served.items.get(&t.key()).unwrap_or(&empty);
    let matching: Vec<&Value> = all
        .iter()
        .filter(|o| !t.namespaced || ns.is_none_or(|ns| meta_str(o, "namespace") == ns))
        .filter(|o| labels.matches_object(o))
        .filter(|o| fields.matches_object(o))
        .collect();
    let offset = match continue_offset(query, rv) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<&Value> = matching.iter().skip(offset).take(limit).copied().collect();
    let next = offset.saturating_add(page.len());
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if next < matching.len() {
        meta["continue"] = json!(format!("{rv}-{next}"));
        meta["remainingItemCount"] = json!(matching.len() - next);
    }
    match accept_of(headers) {
        Accept::Table => {
            let include = query
                .get("includeObject")
                .map(String::as_str)
                .unwrap_or("Metadata");
            json_response(
                200,
                &table::table(t, &page, app.snapshot.recorded_at, include, meta),
            )
        }
        Accept::Metadata => json_response(
            200,
            &ListOut {
                kind: "PartialObjectMetadataList".into(),
                api_version: "meta.k8s.io/v1".into(),
                metadata: meta,
                items: page
                    .iter()
                    .filter_map(|o| {
                        o.get("metadata")
                            .map(|m| ListItem::Metadata { metadata: m })
                    })
                    .collect(),
            },
        ),
        Accept::Full => json_response(
            200,
            &ListOut {
                kind: format!("{}List", t.kind),
                api_version: t.api_version(),
                metadata: meta,
                items: page.into_iter().map(ListItem::Full).collect(),
            },
        ),
    }
}

/// The label and field selectors of a list or watch, or the 400 a bad one gets.
fn selectors(
    query: &HashMap<String, String>,
) -> Result<(LabelSelector, FieldSelector), Box<Response>> {
    let labels =
        match LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or("")) {
            Ok(s) => s,
            Err(e) => {
                return Err(Box::new(status_response(
                    400,
                    "BadRequest",
                    &format!("unable to parse requirement: {e}"),
                    None,
                )));
            }
        };
    let fields =
        match FieldSelector::parse(query.get("fieldSelector").map(String::as_str).unwrap_or("")) {
            Ok(s) => s,
            Err(e) => return Err(Box::new(status_response(400, "BadRequest", &e, None))),
        };
    Ok((labels, fields))
}

/// Pagination: the continue token is the offset at this snapshot's resourceVersion; one
/// from another version gets a 410, a malformed one a 400.
fn continue_offset(query: &HashMap<String, String>, rv: u64) -> Result<usize, Box<Response>> {
    match query.get("continue").filter(|c| !c.is_empty()) {
        None => Ok(0),
        Some(token) => match parse_continue(token) {
            Some((token_rv, off)) if token_rv == rv => Ok(off),
            Some(_) => Err(Box::new(status_response(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                None,
            ))),
            None => Err(Box::new(status_response(
                400,
                "BadRequest",
                &format!("invalid continue token {token:?}"),
                None,
            ))),
        },
    }
}

fn parse_continue(token: &str) -> Option<(u64, usize)> {
    let (rv, off) = token.split_once('-')?;
    Some((rv.parse().ok()?, off.parse().ok()?))
}

/// A watch: the changes after the asked resourceVersion (or the current objects as
/// ADDED), then each change as it happens, until `timeoutSeconds`.
fn watch_stream(
    app: &App,
    t: &'static ResourceType,
    ns: Option<&str>,
    labels: LabelSelector,
    fields: FieldSelector,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Response {
    let secs = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(30)
        .min(300);
    let request = WatchRequest {
        t,
        namespace: ns.map(str::to_string),
        selects: Box::new(move |o| labels.matches_object(o) && fields.matches_object(o)),
        resource_version: query
            .get("resourceVersion")
            .and_then(|v| v.parse::<u64>().ok()),
        timeout: Duration::from_secs(secs),
        metadata_only: matches!(accept_of(headers), Accept::Metadata),
    };
    watch_response(&app.state, request)
}

fn logs(app: &App, ns: &str, pod_name: &str, query: &HashMap<String, String>) -> Response {
    let served = app.state.read();
    let pod = served.items.get(&resources::PODS.key()).and_then(|items| {
        items
            .iter()
            .find(|o| meta_str(o, "name") == pod_name && meta_str(o, "namespace") == ns)
    });
    let Some(pod) = pod else {
        return status_response(
            404,
            "NotFound",
            &format!("pods \"{pod_name}\" not found"),
            Some(json!({"name": pod_name, "kind": "pods"})),
        );
    };
    let containers: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(
            pod.pointer("/spec/initContainers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let container = match query.get("container") {
        Some(c) => c.as_str(),
        None => match pod
            .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
            .and_then(Value::as_str)
        {
            Some(c) => c,
            None if containers.len() == 1 => containers[0],
            None => {
                return status_response(
                    400,
                    "BadRequest",
                    &format!(
                        "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                        containers.join(" ")
                    ),
                    None,
                );
            }
        },
    };
    if !containers.contains(&container) {
        return status_response(
            400,
            "BadRequest",
            &format!("container {container} is not valid for pod {pod_name}"),
            None,
        );
    }
    let previous = matches!(
        query.get("previous").map(String::as_str),
        Some("true" | "1")
    );
    let entry = served.logs.get(&log_key(ns, pod_name, container));
    let text = if previous {
        match entry.and_then(|e| e.previous.as_deref()) {
            Some(t) => t,
            None => {
                return status_response(
                    400,
                    "BadRequest",
                    &format!(
                        "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
                    ),
                    None,
                );
            }
        }
    } else {
        entry.and_then(|e| e.current.as_deref()).unwrap_or("")
    };
    let text = bound_log(
        text,
        query.get("tailLines").and_then(|v| v.parse().ok()),
        query.get("limitBytes").and_then(|v| v.parse().ok()),
    );
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
}

/// The last `tail_lines` lines, then the first `limit_bytes` bytes of those, as the
/// kubelet applies them.
pub fn bound_log(text: &str, tail_lines: Option<usize>, limit_bytes: Option<usize>) -> String {
    let mut out = match tail_lines {
        Some(n) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            lines[lines.len().saturating_sub(n)..].concat()
        }
        None => text.to_string(),
    };
    if let Some(limit) = limit_bytes
        && out.len() > limit
    {
        let mut cut = limit;
        while cut > 0 && !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_bounds() {
        let text = "a\nb\nc\n";
        assert_eq!(bound_log(text, Some(2), None), "b\nc\n");
        assert_eq!(bound_log(text, Some(10), Some(3)), "a\nb");
        assert_eq!(bound_log(text, None, None), text);
        assert_eq!(bound_log("héllo", None, Some(2)), "h");
    }
}
