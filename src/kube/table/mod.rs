//! Server-side tables (`meta.k8s.io/v1` `Table`), so that `kubectl get` against the replay
//! server prints the columns it prints against a real cluster, and the kubectl-style
//! helpers behind them (pod status, ages).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::kube::resources::ResourceType;

/// kubectl's human duration: `45s`, `3m20s`, `12m`, `5h3m`, `2d4h`, `400d`, `3y`.
pub fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return "<invalid>".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let mins = secs / 60;
    if mins < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{mins}m")
        } else {
            format!("{mins}m{s}s")
        };
    }
    if mins < 180 {
        return format!("{mins}m");
    }
    let hours = mins / 60;
    if hours < 8 {
        let m = mins % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{days}d")
        } else {
            format!("{days}d{h}h")
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        let d = days % 365;
        return if d == 0 {
            format!("{years}y")
        } else {
            format!("{years}y{d}d")
        };
    }
    format!("{years}y")
}

fn parse_time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v?.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn age(obj: &Value, now: DateTime<Utc>) -> String {
    match parse_time(obj.pointer("/metadata/creationTimestamp")) {
        Some(t) => human_duration((now - t).num_seconds()),
        None => "<unknown>".into(),
    }
}

fn s<'a>(obj: &'a Value, ptr: &str) -> &'a str {
    obj.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn n(obj: &Value, ptr: &str) -> i64 {
    obj.pointer(ptr).and_then(Value::as_i64).unwrap_or(0)
}

/// The STATUS column of `kubectl get pods`.
pub fn pod_status(pod: &Value) -> String {
    let mut reason = s(pod, "/status/reason").to_string();
    if reason.is_empty() {
        reason = s(pod, "/status/phase").to_string();
    }
    let empty = Vec::new();
    let inits = pod
        .pointer("/status/initContainerStatuses")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut initializing = false;
    for (i, c) in inits.iter().enumerate() {
        let exit = c
            .pointer("/state/terminated/exitCode")
            .and_then(Value::as_i64);
        if exit == Some(0) {
            continue;
        }
        initializing = true;
        let term_reason = s(c, "/state/terminated/reason");
        let wait_reason = s(c, "/state/waiting/reason");
        reason = if let Some(code) = exit {
            if term_reason.is_empty() {
                format!("Init:ExitCode:{code}")
            } else {
                format!("Init:{term_reason}")
            }
        } else if !wait_reason.is_empty() && wait_reason != "PodInitializing" {
            format!("Init:{wait_reason}")
        } else {
            format!("Init:{i}/{}", inits.len())
        };
        break;
    }
    if !initializing {
        let statuses = pod
            .pointer("/status/containerStatuses")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        let mut has_running = false;
        for c in statuses.iter().rev() {
            let wait_reason = s(c, "/state/waiting/reason");
            let term = c.pointer("/state/terminated");
            if !wait_reason.is_empty() {
                reason = wait_reason.to_string();
            } else if let Some(t) = term {
                let r = s(t, "/reason");
                reason = if !r.is_empty() {
                    r.to_string()
                } else if n(t, "/signal") != 0 {
                    format!("Signal:{}", n(t, "/signal"))
                } else {
                    format!("ExitCode:{}", n(t, "/exitCode"))
                };
            } else if c.pointer("/state/running").is_some()
                && c.get("ready") == Some(&Value::Bool(true))
            {
                has_running = true;
            }
        }
        if reason == "Completed" && has_running {
            reason = "Running".into();
        }
    }
    if pod.pointer("/metadata/deletionTimestamp").is_some() {
        reason = "Terminating".into();
    }
    reason
}

fn pod_ready(pod: &Value) -> String {
    let total = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(Vec::len)
        .unwrap_or(0);
    let ready = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter(|c| c.get("ready") == Some(&Value::Bool(true)))
                .count()
        })
        .unwrap_or(0);
    format!("{ready}/{total}")
}

fn pod_restarts(pod: &Value, now: DateTime<Utc>) -> String {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array);
    let mut total = 0;
    let mut last: Option<DateTime<Utc>> = None;
    for c in statuses.into_iter().flatten() {
        total += n(c, "/restartCount");
        if let Some(t) = parse_time(c.pointer("/lastState/terminated/finishedAt")) {
            last = Some(last.map_or(t, |l: DateTime<Utc>| l.max(t)));
        }
    }
    match last {
        Some(t) if total > 0 => {
            format!("{total} ({} ago)", human_duration((now - t).num_seconds()))
        }
        _ => total.to_string(),
    }
}

fn node_status(node: &Value) -> String {
    let mut ready = "Unknown".to_string();
    for c in node
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if s(c, "/type") == "Ready" {
            ready = if s(c, "/status") == "True" {
                "Ready".into()
            } else {
                "NotReady".into()
            };
        }
    }
    if node.pointer("/spec/unschedulable").and_then(Value::as_bool) == Some(true) {
        ready.push_str(",SchedulingDisabled");
    }
    ready
}

fn node_roles(node: &Value) -> String {
    let mut roles: Vec<&str> = node
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    if roles.is_empty() {
        "<none>".into()
    } else {
        roles.join(",")
    }
}

fn service_ports(svc: &Value) -> String {
    let ports: Vec<String> = svc
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let port = n(p, "/port");
            let proto = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            match p.get("nodePort").and_then(Value::as_i64) {
                Some(np) => format!("{port}:{np}/{proto}"),
                None => format!("{port}/{proto}"),
            }
        })
        .collect();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

fn or_none(v: &str) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v.to_string()
    }
}

type Column = (&'static str, &'static str, i32);

fn columns_and_cells(
    t: &ResourceType,
    obj: &Value,
    now: DateTime<Utc>,
) -> (Vec<Column>, Vec<Value>) {
    let name = json!(s(obj, "/metadata/name"));
    match t.plural {
        "pods" => (
            vec![
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Status", "string", 0),
                ("Restarts", "string", 0),
                ("Age", "string", 0),
                ("IP", "string", 1),
                ("Node", "string", 1),
            ],
            vec![
                name,
                json!(pod_ready(obj)),
                json!(pod_status(obj)),
                json!(pod_restarts(obj, now)),
                json!(age(obj, now)),
                json!(or_none(s(obj, "/status/podIP"))),
                json!(or_none(s(obj, "/spec/nodeName"))),
            ],
        ),
        "deployments" => (
            vec![
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Up-to-date", "integer", 0),
                ("Available", "integer", 0),
                ("Age", "string", 0),
            ],
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(obj, "/status/readyReplicas"),
                    n(obj, "/spec/replicas")
                )),
                json!(n(obj, "/status/updatedReplicas")),
                json!(n(obj, "/status/availableReplicas")),
                json!(age(obj, now)),
            ],
        ),
        "replicasets" => (
            vec![
                ("Name", "string", 0),
                ("Desired", "integer", 0),
                ("Current", "integer", 0),
                ("Ready", "integer", 0),
                ("Age", "string", 0),
            ],
            vec![
                name,
                json!(n(obj, "/spec/replicas")),
                json!(n(obj, "/status/replicas")),
                json!(n(obj, "/status/readyReplicas")),
                json!(age(obj, now)),
            ],
        ),
        "nodes" => (
            vec![
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Roles", "string", 0),
                ("Age", "string", 0),
                ("Version", "string", 0),
            ],
            vec![
                name,
                json!(node_status(obj)),
                json!(node_roles(obj)),
                json!(age(obj, now)),
                json!(s(obj, "/status/nodeInfo/kubeletVersion")),
            ],
        ),
        "services" => (
            vec![
                ("Name", "string", 0),
                ("Type", "string", 0),
                ("Cluster-IP", "string", 0),
                ("External-IP", "string", 0),
                ("Port(s)", "string", 0),
                ("Age", "string", 0),
            ],
            vec![
                name,
                json!(s(obj, "/spec/type")),
                json!(or_none(s(obj, "/spec/clusterIP"))),
                json!(or_none(s(obj, "/status/loadBalancer/ingress/0/ip"))),
                json!(service_ports(obj)),
                json!(age(obj, now)),
            ],
        ),
        "events" => {
            let last = parse_time(obj.get("lastTimestamp"))
                .or_else(|| parse_time(obj.get("eventTime")))
                .or_else(|| parse_time(obj.pointer("/metadata/creationTimestamp")));
            let last_seen = last
                .map(|t| human_duration((now - t).num_seconds()))
                .unwrap_or_else(|| "<unknown>".into());
            let object = format!(
                "{}/{}",
                s(obj, "/involvedObject/kind").to_ascii_lowercase(),
                s(obj, "/involvedObject/name")
            );
            (
                vec![
                    ("Last Seen", "string", 0),
                    ("Type", "string", 0),
                    ("Reason", "string", 0),
                    ("Object", "string", 0),
                    ("Message", "string", 0),
                    ("Name", "string", 1),
                ],
                vec![
                    json!(last_seen),
                    json!(s(obj, "/type")),
                    json!(s(obj, "/reason")),
                    json!(object),
                    json!(s(obj, "/message")),
                    name,
                ],
            )
        }
        "jobs" => {
            let status = if obj
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|c| s(c, "/type") == "Failed" && s(c, "/status") == "True")
            {
                "Failed"
            } else if n(obj, "/status/succeeded") > 0 {
                "Complete"
            } else {
                "Running"
            };
            (
                vec![
                    ("Name", "string", 0),
                    ("Status", "string", 0),
                    ("Completions", "string", 0),
                    ("Age", "string", 0),
                ],
                vec![
                    name,
                    json!(status),
                    json!(format!(
                        "{}/{}",
                        n(obj, "/status/succeeded"),
                        obj.pointer("/spec/completions")
                            .and_then(Value::as_i64)
                            .unwrap_or(1)
                    )),
                    json!(age(obj, now)),
                ],
            )
        }
        "cronjobs" => {
            let last = parse_time(obj.pointer("/status/lastScheduleTime"))
                .map(|t| human_duration((now - t).num_seconds()))
                .unwrap_or_else(|| "<none>".into());
            (
                vec![
                    ("Name", "string", 0),
                    ("Schedule", "string", 0),
                    ("Suspend", "boolean", 0),
                    ("Active", "integer", 0),
                    ("Last Schedule", "string", 0),
                    ("Age", "string", 0),
                ],
                vec![
                    name,
                    json!(s(obj, "/spec/schedule")),
                    json!(
                        obj.pointer("/spec/suspend")
                            .and_then(Value::as_bool)
                            .unwrap_or(false)
                    ),
                    json!(
                        obj.pointer("/status/active")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len)
                    ),
                    json!(last),
                    json!(age(obj, now)),
                ],
            )
        }
        "namespaces" => (
            vec![
                ("Name", "string", 0),
                ("Status", "string", 0),
                ("Age", "string", 0),
            ],
            vec![name, json!(s(obj, "/status/phase")), json!(age(obj, now))],
        ),
        "statefulsets" => (
            vec![
                ("Name", "string", 0),
                ("Ready", "string", 0),
                ("Age", "string", 0),
            ],
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    n(obj, "/status/readyReplicas"),
                    n(obj, "/spec/replicas")
                )),
                json!(age(obj, now)),
            ],
        ),
        "daemonsets" => (
            vec![
                ("Name", "string", 0),
                ("Desired", "integer", 0),
                ("Current", "integer", 0),
                ("Ready", "integer", 0),
                ("Up-to-date", "integer", 0),
                ("Available", "integer", 0),
                ("Age", "string", 0),
            ],
            vec![
                name,
                json!(n(obj, "/status/desiredNumberScheduled")),
                json!(n(obj, "/status/currentNumberScheduled")),
                json!(n(obj, "/status/numberReady")),
                json!(n(obj, "/status/updatedNumberScheduled")),
                json!(n(obj, "/status/numberAvailable")),
                json!(age(obj, now)),
            ],
        ),
        "persistentvolumeclaims" => {
            let modes: Vec<&str> = obj
                .pointer("/spec/accessModes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|m| match m {
                    "ReadWriteOnce" => "RWO",
                    "ReadOnlyMany" => "ROX",
                    "ReadWriteMany" => "RWX",
                    "ReadWriteOncePod" => "RWOP",
                    other => other,
                })
                .collect();
            (
                vec![
                    ("Name", "string", 0),
                    ("Status", "string", 0),
                    ("Volume", "string", 0),
                    ("Capacity", "string", 0),
                    ("Access Modes", "string", 0),
                    ("StorageClass", "string", 0),
                    ("Age", "string", 0),
                ],
                vec![
                    name,
                    json!(s(obj, "/status/phase")),
                    json!(s(obj, "/spec/volumeName")),
                    json!(s(obj, "/status/capacity/storage")),
                    json!(modes.join(",")),
                    json!(or_none(s(obj, "/spec/storageClassName"))),
                    json!(age(obj, now)),
                ],
            )
        }
        "horizontalpodautoscalers" => {
            let targets: Vec<String> = obj
                .pointer("/spec/metrics")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|m| {
                    let res = m.get("resource")?;
                    let metric = res.get("name")?.as_str()?;
                    let target = res.pointer("/target/averageUtilization")?.as_i64()?;
                    let current = obj
                        .pointer("/status/currentMetrics")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("resource"))
                        .find(|c| c.get("name").and_then(Value::as_str) == Some(metric))
                        .and_then(|c| c.pointer("/current/averageUtilization"))
                        .and_then(Value::as_i64)
                        .map(|c| format!("{c}%"))
                        .unwrap_or_else(|| "<unknown>".into());
                    Some(format!("{metric}: {current}/{target}%"))
                })
                .collect();
            (
                vec![
                    ("Name", "string", 0),
                    ("Reference", "string", 0),
                    ("Targets", "string", 0),
                    ("MinPods", "integer", 0),
                    ("MaxPods", "integer", 0),
                    ("Replicas", "integer", 0),
                    ("Age", "string", 0),
                ],
                vec![
                    name,
                    json!(format!(
                        "{}/{}",
                        s(obj, "/spec/scaleTargetRef/kind"),
                        s(obj, "/spec/scaleTargetRef/name")
                    )),
                    json!(if targets.is_empty() {
                        "<none>".to_string()
                    } else {
                        targets.join(", ")
                    }),
                    json!(
                        obj.pointer("/spec/minReplicas")
                            .and_then(Value::as_i64)
                            .unwrap_or(1)
                    ),
                    json!(n(obj, "/spec/maxReplicas")),
                    json!(n(obj, "/status/currentReplicas")),
                    json!(age(obj, now)),
                ],
            )
        }
        "ingresses" => {
            let hosts: Vec<&str> = obj
                .pointer("/spec/rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| r.get("host").and_then(Value::as_str).unwrap_or("*"))
                .collect();
            let address = obj
                .pointer("/status/loadBalancer/ingress/0/hostname")
                .or_else(|| obj.pointer("/status/loadBalancer/ingress/0/ip"))
                .and_then(Value::as_str)
                .unwrap_or("");
            (
                vec![
                    ("Name", "string", 0),
                    ("Class", "string", 0),
                    ("Hosts", "string", 0),
                    ("Address", "string", 0),
                    ("Age", "string", 0),
                ],
                vec![
                    name,
                    json!(or_none(s(obj, "/spec/ingressClassName"))),
                    json!(hosts.join(",")),
                    json!(address),
                    json!(age(obj, now)),
                ],
            )
        }
        _ => (
            vec![("Name", "string", 0), ("Age", "string", 0)],
            vec![name, json!(age(obj, now))],
        ),
    }
}

/// A `Table` for these objects. `include_object` is the `includeObject` query parameter:
/// `None`, `Object`, or (default) `Metadata`.
pub fn table(
    t: &ResourceType,
    items: &[&Value],
    now: DateTime<Utc>,
    include_object: &str,
    list_meta: Value,
) -> Value {
    let mut columns: Vec<Column> = columns_and_cells(t, &Value::Null, now).0;
    let rows: Vec<Value> = items
        .iter()
        .map(|obj| {
            let (cols, cells) = columns_and_cells(t, obj, now);
            columns = cols;
            let object = match include_object {
                "None" => Value::Null,
                "Object" => with_type(obj, t),
                _ => json!({
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": obj.get("metadata").cloned().unwrap_or(Value::Null),
                }),
            };
            json!({"cells": cells, "object": object})
        })
        .collect();
    let column_definitions: Vec<Value> = columns
        .iter()
        .map(|(name, ty, priority)| {
            json!({
                "name": name,
                "type": ty,
                "format": if *name == "Name" { "name" } else { "" },
                "description": "",
                "priority": priority,
            })
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

/// The object with `kind` and `apiVersion` set (list items come without them).
pub fn with_type(obj: &Value, t: &ResourceType) -> Value {
    let mut out = obj.clone();
    if let Some(map) = out.as_object_mut() {
        map.entry("kind").or_insert_with(|| json!(t.kind));
        map.entry("apiVersion")
            .or_insert_with(|| json!(t.api_version()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(12 * 60), "12m");
        assert_eq!(human_duration(5 * 3600 + 180), "5h3m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 4 * 3600), "3d4h");
        assert_eq!(human_duration(40 * 86400), "40d");
    }

    #[test]
    fn pod_status_prefers_waiting_reason() {
        let pod = json!({
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 3,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        });
        assert_eq!(pod_status(&pod), "CrashLoopBackOff");
        let pod = json!({"status": {"phase": "Pending"}});
        assert_eq!(pod_status(&pod), "Pending");
    }
}
