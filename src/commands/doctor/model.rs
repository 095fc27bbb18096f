//! The model endpoint check: the model is listed, its context window is large enough
//! where the server says, and a tool call makes the round trip.

use std::time::Duration;

use serde_json::{Value, json};

use super::check::{Check, Status};
use crate::config::LlmConfig;
use crate::llm::chat::{
    ChatMessage, FunctionDefinition, LlmClient, Tier, ToolDefinition, configured_model,
};

/// Tokens of context triage's largest prompts need (an investigation several tool
/// results deep; `issue --llm` uses about 8,000).
pub const CONTEXT_NEEDED: u64 = 16_384;

const FIX_TOOLS: &str = "enable tool calling on the server: llama.cpp `llama-server --jinja`, \
    llama-cpp-python `--chat_format chatml-function-calling`, vLLM `--enable-auto-tool-choice \
    --tool-call-parser NAME`, Ollama a model with tool support (see docs/models.md)";

pub async fn check(cfg: &LlmConfig) -> Check {
    let Some(model) = configured_model(cfg) else {
        return Check::new(
            "model",
            Status::Skip,
            "none configured: the offline planner answers",
        )
        .fix("set OPENAI_BASE_URL and OPENAI_MODEL (or -m MODEL) for the model-driven loop; docs/models.md has recipes");
    };
    let client = match LlmClient::from_config(cfg) {
        Ok(Some(c)) => c,
        Ok(None) => return Check::new("model", Status::Skip, "none configured"),
        Err(e) => return Check::new("model", Status::Fail, e.to_string()),
    };
    let base = client.base_url().trim_end_matches('/').to_string();
    let key = std::env::var(&cfg.api_key_env).unwrap_or_default();
    let listed = match list_models(&base, &key).await {
        Ok(models) => models,
        Err(e) => {
            return Check::new("model", Status::Fail, format!("{base}: {e}")).fix(format!(
                "start the server, or correct OPENAI_BASE_URL (it ends in /v1); the key is read from ${}",
                cfg.api_key_env
            ));
        }
    };
    let mut notes = Vec::new();
    let mut status = Status::Ok;
    let mut fixes = Vec::new();
    let entry = listed
        .iter()
        .find(|m| m.get("id").and_then(Value::as_str) == Some(model.as_str()));
    if entry.is_none() && !listed.is_empty() {
        let ids: Vec<&str> = listed
            .iter()
            .filter_map(|m| m.get("id").and_then(Value::as_str))
            .take(8)
            .collect();
        notes.push(format!(
            "{model} is not listed (served: {})",
            ids.join(", ")
        ));
        status = Status::Warn;
        fixes.push("set OPENAI_MODEL (or -m) to a served model".to_string());
    } else {
        notes.push(format!("{model} listed"));
    }
    match context_size(&base, entry).await {
        Some(n) if n < CONTEXT_NEEDED => {
            notes.push(format!("context {n} tokens"));
            status = Status::Warn;
            fixes.push(format!(
                "raise the context to {CONTEXT_NEEDED} tokens or more (llama.cpp -c, vLLM --max-model-len)"
            ));
        }
        Some(n) => notes.push(format!("context {n} tokens")),
        None => notes.push(format!(
            "context size not reported (triage needs {CONTEXT_NEEDED} tokens)"
        )),
    }
    match tool_round_trip(&client).await {
        Ok(extra) => {
            notes.push("a tool call made the round trip".into());
            if !extra.is_empty() {
                status = Status::Warn;
                notes.extend(extra);
            }
        }
        Err(e) => {
            notes.push(e);
            status = Status::Fail;
            fixes.push(FIX_TOOLS.into());
        }
    }
    let check = Check::new("model", status, format!("{base}: {}", notes.join("; ")));
    if fixes.is_empty() {
        check
    } else {
        check.fix(fixes.join("; "))
    }
}

fn http() -> Result<reqwest::Client, String> {
    crate::tls::ensure_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .map_err(|e| e.to_string())
}

/// `GET /models`: the entries of `data`.
async fn list_models(base: &str, key: &str) -> Result<Vec<Value>, String> {
    let mut req = http()?.get(format!("{base}/models"));
    if !key.is_empty() {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.map_err(|e| format!("no answer ({e})"))?;
    let code = resp.status();
    let body: Value = resp
        .json()
        .await
        .map_err(|e| format!("GET /models answered {code} with no JSON ({e})"))?;
    if !code.is_success() {
        return Err(format!("GET /models answered {code}: {body}"));
    }
    Ok(body
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// The context window where the server tells it: vLLM's `max_model_len` in the model
/// list, llama.cpp's `n_ctx` from `/props` (beside `/v1`).
async fn context_size(base: &str, entry: Option<&Value>) -> Option<u64> {
    if let Some(n) = entry
        .and_then(|e| e.get("max_model_len"))
        .and_then(Value::as_u64)
    {
        return Some(n);
    }
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let props: Value = http()
        .ok()?
        .get(format!("{root}/props"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    props
        .pointer("/default_generation_settings/n_ctx")
        .or_else(|| props.get("n_ctx"))
        .and_then(Value::as_u64)
}

/// Offer one tool and ask for a call to it. `Ok` carries what the client had to work
/// around (a refused request shape, a call written as text).
async fn tool_round_trip(client: &LlmClient) -> Result<Vec<String>, String> {
    let tool = ToolDefinition {
        kind: "function",
        function: FunctionDefinition {
            name: "report_status".into(),
            description: "Report the status of the check.".into(),
            parameters: json!({"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}),
        },
    };
    let messages = [
        ChatMessage::system(
            "You are testing tool calling. Call the tool report_status with status \"ok\". Do not answer in text.",
        ),
        ChatMessage::user("Call report_status now."),
    ];
    let reply = tokio::time::timeout(
        Duration::from_secs(120),
        client.stream_chat(Tier::Main, &messages, &[tool], &|_| {}),
    )
    .await
    .map_err(|_| "the tool-call request got no reply in 120 s".to_string())?
    .map_err(|e| e.to_string())?;
    match reply.tool_calls.first() {
        Some(call) if call.function.name == "report_status" => Ok(reply.notes),
        Some(call) => Err(format!(
            "the model called {:?}, not the offered tool",
            call.function.name
        )),
        None => Err(format!(
            "no tool call came back (the model wrote: {:?})",
            reply.content.chars().take(120).collect::<String>()
        )),
    }
}
