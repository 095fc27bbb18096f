//! The columns `kubectl get` prints for each resource type, and one object's cells: one
//! table per type, each column with how to fill it.

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

/// How one cell is filled from the object and the time of the answer.
type Cell = fn(&Value, DateTime<Utc>) -> Value;

/// A column and its cell.
struct Col(&'static str, &'static str, i32, Cell);

const NAME: Col = Col("Name", "string", 0, |o, _| json!(s(o, "/metadata/name")));
const AGE: Col = Col("Age", "string", 0, |o, now| json!(age(o, now)));

/// `ready/desired` replicas of a workload.
fn ready_of_desired(o: &Value) -> Value {
    json!(format!(
        "{}/{}",
        n(o, "/status/readyReplicas"),
        n(o, "/spec/replicas")
    ))
}

const PODS: &[Col] = &[
    NAME,
    Col("Ready", "string", 0, |o, _| json!(pod_ready(o))),
    Col("Status", "string", 0, |o, _| json!(pod_status(o))),
    Col("Restarts", "string", 0, |o, now| {
        json!(pod_restarts(o, now))
    }),
    AGE,
    Col("IP", "string", 1, |o, _| {
        json!(or_none(s(o, "/status/podIP")))
    }),
    Col("Node", "string", 1, |o, _| {
        json!(or_none(s(o, "/spec/nodeName")))
    }),
];

const DEPLOYMENTS: &[Col] = &[
    NAME,
    Col("Ready", "string", 0, |o, _| ready_of_desired(o)),
    Col("Up-to-date", "integer", 0, |o, _| {
        json!(n(o, "/status/updatedReplicas"))
    }),
    Col("Available", "integer", 0, |o, _| {
        json!(n(o, "/status/availableReplicas"))
    }),
    AGE,
];

const REPLICASETS: &[Col] = &[
    NAME,
    Col("Desired", "integer", 0, |o, _| {
        json!(n(o, "/spec/replicas"))
    }),
    Col("Current", "integer", 0, |o, _| {
        json!(n(o, "/status/replicas"))
    }),
    Col("Ready", "integer", 0, |o, _| {
        json!(n(o, "/status/readyReplicas"))
    }),
    AGE,
];

const NODES: &[Col] = &[
    NAME,
    Col("Status", "string", 0, |o, _| json!(node_status(o))),
    Col("Roles", "string", 0, |o, _| json!(node_roles(o))),
    AGE,
    Col("Version", "string", 0, |o, _| {
        json!(s(o, "/status/nodeInfo/kubeletVersion"))
    }),
];

const SERVICES: &[Col] = &[
    NAME,
    Col("Type", "string", 0, |o, _| json!(s(o, "/spec/type"))),
    Col("Cluster-IP", "string", 0, |o, _| {
        json!(or_none(s(o, "/spec/clusterIP")))
    }),
    Col("External-IP", "string", 0, |o, _| {
        json!(or_none(s(o, "/status/loadBalancer/ingress/0/ip")))
    }),
    Col("Port(s)", "string", 0, |o, _| json!(service_ports(o))),
    AGE,
];

const EVENTS: &[Col] = &[
    Col("Last Seen", "string", 0, event_last_seen),
    Col("Type", "string", 0, |o, _| json!(s(o, "/type"))),
    Col("Reason", "string", 0, |o, _| json!(s(o, "/reason"))),
    Col("Object", "string", 0, |o, _| {
        json!(format!(
            "{}/{}",
            s(o, "/involvedObject/kind").to_ascii_lowercase(),
            s(o, "/involvedObject/name")
        ))
    }),
    Col("Message", "string", 0, |o, _| json!(s(o, "/message"))),
    Col("Name", "string", 1, |o, _| json!(s(o, "/metadata/name"))),
];

fn event_last_seen(o: &Value, now: DateTime<Utc>) -> Value {
    let last = parse_time(o.get("lastTimestamp"))
        .or_else(|| parse_time(o.get("eventTime")))
        .or_else(|| parse_time(o.pointer("/metadata/creationTimestamp")));
    json!(
        last.map(|t| human_duration((now - t).num_seconds()))
            .unwrap_or_else(|| "<unknown>".into())
    )
}

const JOBS: &[Col] = &[
    NAME,
    Col("Status", "string", 0, job_status),
    Col("Completions", "string", 0, |o, _| {
        json!(format!(
            "{}/{}",
            n(o, "/status/succeeded"),
            o.pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1)
        ))
    }),
    AGE,
];

fn job_status(o: &Value, _: DateTime<Utc>) -> Value {
    let failed = o
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| s(c, "/type") == "Failed" && s(c, "/status") == "True");
    json!(if failed {
        "Failed"
    } else if n(o, "/status/succeeded") > 0 {
        "Complete"
    } else {
        "Running"
    })
}

const CRONJOBS: &[Col] = &[
    NAME,
    Col("Schedule", "string", 0, |o, _| {
        json!(s(o, "/spec/schedule"))
    }),
    Col("Suspend", "boolean", 0, |o, _| {
        json!(
            o.pointer("/spec/suspend")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        )
    }),
    Col("Active", "integer", 0, |o, _| {
        json!(
            o.pointer("/status/active")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
        )
    }),
    Col("Last Schedule", "string", 0, |o, now| {
        json!(
            parse_time(o.pointer("/status/lastScheduleTime"))
                .map(|t| human_duration((now - t).num_seconds()))
                .unwrap_or_else(|| "<none>".into())
        )
    }),
    AGE,
];

const NAMESPACES: &[Col] = &[
    NAME,
    Col("Status", "string", 0, |o, _| json!(s(o, "/status/phase"))),
    AGE,
];

const STATEFULSETS: &[Col] = &[
    NAME,
    Col("Ready", "string", 0, |o, _| ready_of_desired(o)),
    AGE,
];

const DAEMONSETS: &[Col] = &[
    NAME,
    Col("Desired", "integer", 0, |o, _| {
        json!(n(o, "/status/desiredNumberScheduled"))
    }),
    Col("Current", "integer", 0, |o, _| {
        json!(n(o, "/status/currentNumberScheduled"))
    }),
    Col("Ready", "integer", 0, |o, _| {
        json!(n(o, "/status/numberReady"))
    }),
    Col("Up-to-date", "integer", 0, |o, _| {
        json!(n(o, "/status/updatedNumberScheduled"))
    }),
    Col("Available", "integer", 0, |o, _| {
        json!(n(o, "/status/numberAvailable"))
    }),
    AGE,
];

const PVCS: &[Col] = &[
    NAME,
    Col("Status", "string", 0, |o, _| json!(s(o, "/status/phase"))),
    Col("Volume", "string", 0, |o, _| {
        json!(s(o, "/spec/volumeName"))
    }),
    Col("Capacity", "string", 0, |o, _| {
        json!(s(o, "/status/capacity/storage"))
    }),
    Col("Access Modes", "string", 0, access_modes),
    Col("StorageClass", "string", 0, |o, _| {
        json!(or_none(s(o, "/spec/storageClassName")))
    }),
    AGE,
];

fn access_modes(o: &Value, _: DateTime<Utc>) -> Value {
    let modes: Vec<&str> = o
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
    json!(modes.join(","))
}

const HPAS: &[Col] = &[
    NAME,
    Col("Reference", "string", 0, |o, _| {
        json!(format!(
            "{}/{}",
            s(o, "/spec/scaleTargetRef/kind"),
            s(o, "/spec/scaleTargetRef/name")
        ))
    }),
    Col("Targets", "string", 0, hpa_targets),
    Col("MinPods", "integer", 0, |o, _| {
        json!(
            o.pointer("/spec/minReplicas")
                .and_then(Value::as_i64)
                .unwrap_or(1)
        )
    }),
    Col("MaxPods", "integer", 0, |o, _| {
        json!(n(o, "/spec/maxReplicas"))
    }),
    Col("Replicas", "integer", 0, |o, _| {
        json!(n(o, "/status/currentReplicas"))
    }),
    AGE,
];

fn hpa_targets(o: &Value, _: DateTime<Utc>) -> Value {
    let targets: Vec<String> = o
        .pointer("/spec/metrics")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let res = m.get("resource")?;
            let metric = res.get("name")?.as_str()?;
            let target = res.pointer("/target/averageUtilization")?.as_i64()?;
            let current = o
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
    json!(if targets.is_empty() {
        "<none>".to_string()
    } else {
        targets.join(", ")
    })
}

const INGRESSES: &[Col] = &[
    NAME,
    Col("Class", "string", 0, |o, _| {
        json!(or_none(s(o, "/spec/ingressClassName")))
    }),
    Col("Hosts", "string", 0, |o, _| {
        let hosts: Vec<&str> = o
            .pointer("/spec/rules")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|r| r.get("host").and_then(Value::as_str).unwrap_or("*"))
            .collect();
        json!(hosts.join(","))
    }),
    Col("Address", "string", 0, |o, _| {
        json!(
            o.pointer("/status/loadBalancer/ingress/0/hostname")
                .or_else(|| o.pointer("/status/loadBalancer/ingress/0/ip"))
                .and_then(Value::as_str)
                .unwrap_or("")
        )
    }),
    AGE,
];

const OTHER: &[Col] = &[NAME, AGE];

/// The columns for a type and the cells of `obj` (`Value::Null` for the columns alone).
pub fn columns_and_cells(t: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Row {
    let cols = match t.plural {
        "pods" => PODS,
        "deployments" => DEPLOYMENTS,
        "replicasets" => REPLICASETS,
        "nodes" => NODES,
        "services" => SERVICES,
        "events" => EVENTS,
        "jobs" => JOBS,
        "cronjobs" => CRONJOBS,
        "namespaces" => NAMESPACES,
        "statefulsets" => STATEFULSETS,
        "daemonsets" => DAEMONSETS,
        "persistentvolumeclaims" => PVCS,
        "horizontalpodautoscalers" => HPAS,
        "ingresses" => INGRESSES,
        _ => OTHER,
    };
    (
        cols.iter().map(|c| (c.0, c.1, c.2)).collect(),
        cols.iter().map(|c| (c.3)(obj, now)).collect(),
    )
}
