//! The snapshot format: what `triage kube record` writes and what `--replay` and
//! `triage kube serve` read.
//!
//! ```json
//! {
//!   "version": 1,
//!   "recorded_at": "2025-06-01T12:00:00Z",
//!   "context": "prod-eu", "server": "https://…", "server_version": { /version },
//!   "namespaces": ["shop"], "all_namespaces": false,
//!   "objects": { "v1/pods": [ raw objects as the API returned them ], "apps/v1/deployments": [ … ] },
//!   "events": [ raw core/v1 events ],
//!   "logs": { "shop/checkout-api-7c9d-x2x/api": { "current": "…", "previous": "…", "truncated": false } },
//!   "lists": { "v1/pods": { "resource_version": "123", "observed_at": "…" } },
//!   "errors": [ reads that failed while recording ]
//! }
//! ```
//!
//! Secrets are kept as names only: `data`, `stringData` and the last-applied annotation
//! (which holds the data too) are removed when recording and again when loading.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{KubeError, ReadError};
use super::resources::{self, ResourceType};

/// The snapshot format this build reads and writes.
pub const SNAPSHOT_VERSION: u32 = 1;

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A recorded cluster state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    pub version: u32,
    pub recorded_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The `/version` answer of the recorded cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<Value>,
    /// Namespaces recorded (empty with `all_namespaces`).
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub all_namespaces: bool,
    /// Raw objects by type key (`v1/pods`, `apps/v1/deployments`).
    #[serde(default)]
    pub objects: BTreeMap<String, Vec<Value>>,
    /// Raw core/v1 events.
    #[serde(default)]
    pub events: Vec<Value>,
    /// Bounded log tails by `namespace/pod/container`.
    #[serde(default)]
    pub logs: BTreeMap<String, ContainerLogs>,
    /// When each type was listed and at which resourceVersion.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, ListInfo>,
    /// Reads that failed while recording (forbidden types, timeouts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ReadError>,
}

/// The log tails of one container.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ContainerLogs {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// Whether a tail was cut at the line or byte bound.
    #[serde(default)]
    pub truncated: bool,
}

/// How one type was listed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ListInfo {
    #[serde(default)]
    pub resource_version: Option<String>,
    pub observed_at: DateTime<Utc>,
}

/// The key of a container's logs.
pub fn log_key(namespace: &str, pod: &str, container: &str) -> String {
    format!("{namespace}/{pod}/{container}")
}

impl Snapshot {
    pub fn new(recorded_at: DateTime<Utc>) -> Self {
        Self {
            version: SNAPSHOT_VERSION,
            recorded_at,
            context: None,
            server: None,
            server_version: None,
            namespaces: Vec::new(),
            all_namespaces: false,
            objects: BTreeMap::new(),
            events: Vec::new(),
            logs: BTreeMap::new(),
            lists: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    /// The raw objects of one type.
    pub fn objects_of(&self, t: &ResourceType) -> &[Value] {
        if *t == resources::EVENTS {
            return &self.events;
        }
        self.objects.get(&t.key()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Objects of every type plus events.
    pub fn object_count(&self) -> usize {
        self.objects.values().map(Vec::len).sum::<usize>() + self.events.len()
    }

    /// The newest resourceVersion in the snapshot (numeric ones; "1" when there is none).
    pub fn resource_version(&self) -> u64 {
        let from_lists = self
            .lists
            .values()
            .filter_map(|l| l.resource_version.as_deref()?.parse::<u64>().ok());
        let from_objects = self
            .objects
            .values()
            .flatten()
            .chain(self.events.iter())
            .filter_map(|o| {
                o.pointer("/metadata/resourceVersion")?
                    .as_str()?
                    .parse::<u64>()
                    .ok()
            });
        from_lists.chain(from_objects).max().unwrap_or(1)
    }

    /// When a type was observed (its list time, else the recording time).
    pub fn observed_at(&self, t: &ResourceType) -> DateTime<Utc> {
        self.lists
            .get(&t.key())
            .map(|l| l.observed_at)
            .unwrap_or(self.recorded_at)
    }

    /// Remove what must never be stored: secret data, and bookkeeping noise.
    pub fn sanitize(&mut self) {
        for (key, items) in self.objects.iter_mut() {
            let is_secret = *key == resources::SECRETS.key();
            for item in items.iter_mut() {
                sanitize_object(item, is_secret);
            }
        }
        for e in self.events.iter_mut() {
            sanitize_object(e, false);
        }
    }

    /// Read and check a snapshot file. Errors name the file and the problem.
    pub fn load(path: &Path) -> Result<Self, KubeError> {
        let text = std::fs::read_to_string(path).map_err(|source| KubeError::SnapshotRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text).map_err(|problem| KubeError::Snapshot {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// Parse and check snapshot text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let Some(map) = value.as_object() else {
            return Err("the top level must be a JSON object".into());
        };
        match map.get("version") {
            None => return Err("missing field `version` (expected 1)".into()),
            Some(Value::Number(n)) if n.as_u64() == Some(SNAPSHOT_VERSION as u64) => {}
            Some(other) => {
                return Err(format!(
                    "unsupported version {other}; this triage reads snapshot version {SNAPSHOT_VERSION}"
                ));
            }
        }
        let mut snap: Snapshot = serde_json::from_value(value).map_err(|e| e.to_string())?;
        snap.validate()?;
        snap.sanitize();
        Ok(snap)
    }

    /// Check the structure the replay server and the analyzers rely on.
    pub fn validate(&self) -> Result<(), String> {
        for (key, items) in &self.objects {
            let Some(t) = resources::by_key(key) else {
                let known: Vec<String> = resources::OBJECT_TYPES.iter().map(|t| t.key()).collect();
                return Err(format!(
                    "objects[{key:?}]: unknown resource type (known: {})",
                    known.join(", ")
                ));
            };
            if *t == resources::EVENTS {
                return Err(format!(
                    "objects[{key:?}]: events belong in the top-level `events` list"
                ));
            }
            for (i, item) in items.iter().enumerate() {
                check_object(item, t).map_err(|p| format!("objects[{key:?}][{i}]: {p}"))?;
            }
        }
        for (i, item) in self.events.iter().enumerate() {
            check_object(item, &resources::EVENTS).map_err(|p| format!("events[{i}]: {p}"))?;
            if item
                .get("involvedObject")
                .and_then(Value::as_object)
                .is_none()
            {
                return Err(format!("events[{i}]: involvedObject is missing"));
            }
        }
        for key in self.logs.keys() {
            let parts: Vec<&str> = key.split('/').collect();
            if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
                return Err(format!(
                    "logs[{key:?}]: keys must be namespace/pod/container"
                ));
            }
        }
        Ok(())
    }

    /// Write the snapshot as JSON, readable by its owner only (`0600`).
    pub fn save(&self, path: &Path) -> Result<(), KubeError> {
        let err = |source| KubeError::SnapshotWrite {
            path: path.to_path_buf(),
            source,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| err(std::io::Error::other(e)))?;
        crate::config::private::write(path, (text + "\n").as_bytes())
            .map_err(|e| err(std::io::Error::other(e.to_string())))
    }

    /// Scrub what a recording must not keep at rest: container environment values
    /// (whole for secret-looking names, secret formats in the others) and secrets in log
    /// tails. Names, hosts and structure stay, so the analysis works the same.
    pub fn redact(&mut self, redactor: &crate::llm::redact::Redactor) {
        for items in self.objects.values_mut() {
            for item in items.iter_mut() {
                for env in env_lists(item) {
                    *env = redactor.redact_json(env);
                }
            }
        }
        for logs in self.logs.values_mut() {
            for text in [&mut logs.current, &mut logs.previous]
                .into_iter()
                .flatten()
            {
                *text = redactor.redact(text).text;
            }
        }
    }
}

/// The `env` lists of every container in an object: a pod's, or a workload's pod
/// template's (CronJobs nest one more level).
fn env_lists(item: &mut Value) -> Vec<&mut Value> {
    let pointer = [
        "/spec",
        "/spec/template/spec",
        "/spec/jobTemplate/spec/template/spec",
    ]
    .into_iter()
    .find(|p| {
        item.pointer(p)
            .is_some_and(|s| s.get("containers").is_some())
    });
    let Some(spec) = pointer
        .and_then(|p| item.pointer_mut(p))
        .and_then(Value::as_object_mut)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, list) in spec.iter_mut() {
        if !matches!(
            key.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        ) {
            continue;
        }
        for c in list.as_array_mut().into_iter().flatten() {
            if let Some(env) = c.get_mut("env") {
                out.push(env);
            }
        }
    }
    out
}

fn check_object(item: &Value, t: &ResourceType) -> Result<(), String> {
    let Some(obj) = item.as_object() else {
        return Err("not a JSON object".into());
    };
    let Some(meta) = obj.get("metadata").and_then(Value::as_object) else {
        return Err("metadata is missing".into());
    };
    match meta.get("name").and_then(Value::as_str) {
        Some(n) if !n.is_empty() => {}
        _ => return Err("metadata.name is missing".into()),
    }
    if t.namespaced
        && meta
            .get("namespace")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(format!(
            "metadata.namespace is missing on a namespaced {} `{}`",
            t.kind,
            meta.get("name").and_then(Value::as_str).unwrap_or_default()
        ));
    }
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && kind != t.kind
    {
        return Err(format!("kind {kind} is stored under the {} list", t.kind));
    }
    Ok(())
}

/// Keep of each managed-fields entry only who wrote the object, how and when (the
/// change timeline reads the times); the field sets are bookkeeping noise.
pub fn summarize_managed_fields(meta: &mut serde_json::Map<String, Value>) {
    let Some(Value::Array(entries)) = meta.get_mut("managedFields") else {
        meta.remove("managedFields");
        return;
    };
    for e in entries.iter_mut() {
        if let Some(o) = e.as_object_mut() {
            o.retain(|k, _| matches!(k.as_str(), "manager" | "operation" | "time" | "subresource"));
        }
    }
    entries.retain(|e| e.get("time").is_some());
    if entries.is_empty() {
        meta.remove("managedFields");
    }
}

/// Strip secret data (for secrets) and managed fields down to their writers and times
/// (for everything).
pub fn sanitize_object(item: &mut Value, is_secret: bool) {
    let Some(obj) = item.as_object_mut() else {
        return;
    };
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        summarize_managed_fields(meta);
        if is_secret && let Some(ann) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            ann.remove(LAST_APPLIED);
        }
    }
    if is_secret {
        obj.remove("data");
        obj.remove("stringData");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> Value {
        json!({
            "version": 1,
            "recorded_at": "2025-06-01T12:00:00Z",
            "namespaces": ["shop"],
            "objects": {
                "v1/secrets": [{
                    "metadata": {"name": "db", "namespace": "shop",
                        "annotations": {LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}"}},
                    "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"
                }]
            }
        })
    }

    #[test]
    fn load_strips_secret_data() {
        let snap = Snapshot::parse(&minimal().to_string()).unwrap();
        let text = serde_json::to_string(&snap).unwrap();
        assert!(!text.contains("aHVudGVyMg"), "{text}");
        // Managed fields keep who wrote and when, not the field sets.
        let mut v = minimal();
        v["objects"]["v1/secrets"][0]["metadata"]["managedFields"] = serde_json::json!([
            {"manager": "kubectl-edit", "operation": "Update", "time": "2025-06-01T11:58:00Z",
             "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:password": {}}}}]);
        let snap = Snapshot::parse(&v.to_string()).unwrap();
        let m = &snap.objects_of(&resources::SECRETS)[0]["metadata"]["managedFields"][0];
        assert_eq!(m["manager"], "kubectl-edit");
        assert_eq!(m["time"], "2025-06-01T11:58:00Z");
        assert!(m.get("fieldsV1").is_none(), "{m}");
        assert_eq!(snap.objects_of(&resources::SECRETS).len(), 1);
    }

    #[test]
    fn problems_are_named() {
        let err = Snapshot::parse("{").unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");

        let mut v = minimal();
        v["version"] = json!(2);
        let err = Snapshot::parse(&v.to_string()).unwrap_err();
        assert!(err.contains("unsupported version 2"), "{err}");

        let mut v = minimal();
        v.as_object_mut().unwrap().remove("recorded_at");
        let err = Snapshot::parse(&v.to_string()).unwrap_err();
        assert!(err.contains("recorded_at"), "{err}");

        let mut v = minimal();
        v["objects"]["v1/podz"] = json!([]);
        let err = Snapshot::parse(&v.to_string()).unwrap_err();
        assert!(
            err.contains("v1/podz") && err.contains("unknown resource type"),
            "{err}"
        );

        let mut v = minimal();
        v["objects"]["v1/pods"] = json!([{"metadata": {"name": "a"}}]);
        let err = Snapshot::parse(&v.to_string()).unwrap_err();
        assert!(
            err.contains("objects[\"v1/pods\"][0]") && err.contains("namespace"),
            "{err}"
        );
    }
}
