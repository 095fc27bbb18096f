//! The columns `kubectl get` prints for each resource type, and one object's cells.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::text::{
    age, human_duration, n, node_roles, node_status, or_none, parse_time, pod_ready, pod_restarts,
    pod_status, s, service_ports,
};
use crate::kube::resources::ResourceType;

/// A column: name, type, priority (1: shown only with `-o wide`).
pub type Column = (&'static str, &'static str, i32);

/// The columns and one object's cells.
type Row = (Vec<Column>, Vec<Value>);

/// The columns for a type and the cells of `obj` (`Value::Null` for the columns alone).
pub fn columns_and_cells(t: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Row {
    let name = json!(s(obj, "/metadata/name"));
    match t.plural {
        "pods" => pods(obj, name, now),
        "deployments" => deployments(obj, name, now),
        "replicasets" => replicasets(obj, name, now),
        "nodes" => nodes(obj, name, now),
        "services" => services(obj, name, now),
        "events" => events(obj, name, now),
        "jobs" => jobs(obj, name, now),
        "cronjobs" => cronjobs(obj, name, now),
        "namespaces" => namespaces(obj, name, now),
        "statefulsets" => statefulsets(obj, name, now),
        "daemonsets" => daemonsets(obj, name, now),
        "persistentvolumeclaims" => pvcs(obj, name, now),
        "horizontalpodautoscalers" => hpas(obj, name, now),
        "ingresses" => ingresses(obj, name, now),
        _ => other(obj, name, now),
    }
}

fn pods(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn deployments(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn replicasets(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn nodes(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn services(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn events(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
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

fn jobs(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
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

fn cronjobs(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
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

fn namespaces(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
        vec![
            ("Name", "string", 0),
            ("Status", "string", 0),
            ("Age", "string", 0),
        ],
        vec![name, json!(s(obj, "/status/phase")), json!(age(obj, now))],
    )
}

fn statefulsets(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn daemonsets(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
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
    )
}

fn pvcs(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
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

fn hpas(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
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

fn ingresses(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
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

fn other(obj: &Value, name: Value, now: DateTime<Utc>) -> Row {
    (
        vec![("Name", "string", 0), ("Age", "string", 0)],
        vec![name, json!(age(obj, now))],
    )
}
