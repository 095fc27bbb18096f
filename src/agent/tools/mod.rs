//! The agent's tools: one registry entry each (name, description, JSON schema, timeout,
//! the command a person would run, and the read itself). Tools only read; actions are
//! proposed through `propose_action` and run by the session after the user approves.

use std::sync::LazyLock;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::Config;

mod args;
mod code;
mod context;
mod entry;
mod git;
mod kube;
mod memory;
mod tool;

use args::str_arg;
pub use context::ToolContext;
pub use entry::{Run, Tool};
pub use tool::{ToolError, ToolOutput, ToolSpec};

/// Tools the session handles itself (they change the investigation, not the world).
pub const SAVE_CHECKPOINT: &str = "save_checkpoint";
pub const PROPOSE_ACTION: &str = "propose_action";

/// Every tool, in the order the pane lists them.
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

/// Cut `text` to `max` characters on a line boundary, saying so in the text itself.
pub fn cap_output(text: &str, max: usize) -> (String, bool) {
    if text.len() <= max {
        return (text.to_string(), false);
    }
    let mut cut = max.min(text.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    if let Some(nl) = text[..cut].rfind('\n').filter(|&n| n > max / 2) {
        cut = nl;
    }
    let shown_lines = text[..cut].lines().count();
    let total_lines = text.lines().count();
    (
        format!(
            "{}\n[output truncated: showing {shown_lines} of {total_lines} lines ({cut} of {} characters); ask for a narrower range or query]",
            &text[..cut],
            text.len()
        ),
        true,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_output_says_how_much_was_cut() {
        let text: String = (0..200).map(|i| format!("line {i}\n")).collect();
        let (out, cut) = cap_output(&text, 300);
        assert!(cut);
        assert!(out.contains("[output truncated: showing"), "{out}");
        assert!(out.contains("of 200 lines"), "{out}");
        assert!(out.len() < 450);
        let (same, cut) = cap_output("short", 300);
        assert!(!cut);
        assert_eq!(same, "short");
    }

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
