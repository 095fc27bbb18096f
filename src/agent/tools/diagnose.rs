//! `diagnose`: the offline planner's diagnosis as one tool for the model-driven loop (the
//! session runs it, through the executor, so its reads show like any other).

use std::time::Duration;

use serde_json::{Value, json};

use super::{Tool, str_arg};

pub const DIAGNOSE: &str = "diagnose";

/// The registry entry: run by the session (it walks the cluster through the executor).
pub fn tool() -> Tool {
    Tool {
        name: DIAGNOSE,
        description: "Diagnose an alert with triage's rules: resolve its target, walk what it depends on (pods, events, logs, ConfigMaps, Secrets, volumes, nodes, Services, NetworkPolicies, autoscalers, Jobs, DNS, dependencies), build the change timeline, and rank competing causes with their evidence and a confidence. Call it first for an alert; then check what it could not decide.",
        parameters: json!({"type":"object","properties":{
            "alert":{"type":"string","description":"the alert text (default: the request)"},
            "target":{"type":"string","description":"a workload to focus on"}}}),
        timeout: Some(Duration::from_secs(60)),
        human: human_command,
        run: None,
    }
}

fn human_command(args: &Value) -> String {
    let alert = str_arg(args, "alert").unwrap_or("<the request>");
    format!("triage ask --offline {}", super::quote(alert))
}
