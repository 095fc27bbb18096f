//! The registry: every tool once, in the order the tools pane lists them. The model's
//! tool list, the commands shown for each call and the calls themselves all come from it.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};

use super::{
    PROPOSE_ACTION, SAVE_CHECKPOINT, Tool, ToolContext, ToolError, ToolOutput, ToolSpec, code, git,
    kube, memory, str_arg,
};
use crate::config::Config;

static REGISTRY: LazyLock<Vec<Tool>> = LazyLock::new(|| {
    let mut all = code::tools();
    all.extend(git::tools());
    all.extend(kube::tools());
    all.extend(memory::tools());
    all.extend(session_tools());
    all
});

/// The registry entry of a tool.
pub fn find(name: &str) -> Option<&'static Tool> {
    REGISTRY.iter().find(|t| t.name == name)
}

/// Every tool the model can call, with this config's timeouts.
pub fn specs(config: &Config) -> Vec<ToolSpec> {
    let default = Duration::from_secs(config.agent.tool_timeout_secs.max(1));
    REGISTRY
        .iter()
        .map(|t| ToolSpec {
            name: t.name,
            description: t.description,
            parameters: t.parameters.clone(),
            timeout: t.timeout.unwrap_or(default),
        })
        .collect()
}

/// Tools the session handles itself (they change the investigation, not the world).
fn session_tools() -> Vec<Tool> {
    vec![
        Tool {
            name: SAVE_CHECKPOINT,
            description: "Record progress: the stage reached, a one-line summary, your confidence (0-1) and the evidence (file:lines, commit ids, Kind/ns/name) it rests on.",
            parameters: json!({"type":"object","properties":{
                "stage":{"type":"string","enum":["scope_found","evidence_gathered","hypothesis","verified","suggested_action"]},
                "summary":{"type":"string"},
                "confidence":{"type":"number","minimum":0,"maximum":1},
                "evidence":{"type":"array","items":{"type":"string"}}},
                "required":["stage","summary","confidence"]}),
            timeout: None,
            human: |_| format!("({SAVE_CHECKPOINT})"),
            run: None,
        },
        Tool {
            name: PROPOSE_ACTION,
            description: "Suggest a command for the engineer (kubectl, shell, or a patch). It is only shown to them; it runs only if they approve it. Say why.",
            parameters: json!({"type":"object","properties":{
                "command":{"type":"string"},
                "rationale":{"type":"string"}},
                "required":["command","rationale"]}),
            timeout: None,
            human: |args| str_arg(args, "command").unwrap_or_default().to_string(),
            run: None,
        },
    ]
}

/// The command a person would run to see what a tool saw.
pub fn human_command(name: &str, args: &Value) -> String {
    match find(name) {
        Some(t) => (t.human)(args),
        None => format!("({name})"),
    }
}

/// Run a read-only tool.
pub async fn run(ctx: &ToolContext, name: &str, args: &Value) -> Result<ToolOutput, ToolError> {
    if !args.is_object() {
        return Err(ToolError::BadArguments(
            "arguments must be a JSON object".into(),
        ));
    }
    match find(name).and_then(|t| t.run) {
        Some(run) => run(ctx, args).await,
        None => Err(ToolError::BadArguments(format!("unknown tool {name}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_schema_and_a_human_command() {
        let cfg = Config::default();
        let specs = specs(&cfg);
        let mut names: Vec<&str> = specs.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), specs.len(), "duplicate tool names");
        for s in &specs {
            assert_eq!(s.parameters["type"], "object", "{}", s.name);
            let cmd = human_command(
                s.name,
                &json!({"query":"q","path":"a.rs","command":"kubectl get pods","resource":"pods","pod":"p","commit":"abc","text":"t"}),
            );
            assert!(!cmd.is_empty(), "{}", s.name);
        }
        assert_eq!(
            human_command("search_code", &json!({"query":"db timeout"})),
            "triage search 'db timeout'"
        );
    }
}
