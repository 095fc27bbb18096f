//! `diagnose`: the offline planner's diagnosis as one tool for the model-driven loop (the
//! session runs it, through the executor, so its reads show like any other).

use std::time::Duration;

use serde_json::{Value, json};

use super::{ToolSpec, str_arg};

pub const DIAGNOSE: &str = "diagnose";

pub fn spec(t: Duration) -> ToolSpec {
    ToolSpec {
        name: DIAGNOSE,
        description: "Diagnose an alert with triage's rules: resolve its target, walk what it depends on (pods, events, logs, ConfigMaps, Secrets, volumes, nodes, Services, NetworkPolicies, autoscalers, Jobs, DNS, dependencies), build the change timeline, and rank competing causes with their evidence and a confidence. Call it first for an alert; then check what it could not decide.",
        parameters: json!({"type":"object","properties":{
            "alert":{"type":"string","description":"the alert text (default: the request)"},
            "target":{"type":"string","description":"a workload to focus on"}}}),
        timeout: t.max(Duration::from_secs(60)),
    }
}

pub fn human_command(name: &str, args: &Value) -> Option<String> {
    (name == DIAGNOSE).then(|| {
        let alert = str_arg(args, "alert").unwrap_or("<the request>");
        format!("triage ask --offline {}", super::quote(alert))
    })
}
