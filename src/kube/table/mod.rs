//! Server-side tables (`meta.k8s.io/v1` `Table`), so that `kubectl get` against the replay
//! server prints the columns it prints against a real cluster, and the kubectl-style
//! helpers behind them (pod status, ages).

mod cells;
mod text;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::kube::resources::ResourceType;
use cells::{Column, columns_and_cells};
pub use text::{human_duration, pod_status};

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
