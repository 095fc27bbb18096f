//! The model client: async-openai against any OpenAI-compatible endpoint, streaming.
//!
//! Requests and stream chunks are our own serde types (async-openai's `byot` calls) so a
//! server that omits optional fields (Ollama, vLLM, llama.cpp differ) still parses. Retries
//! on 429/5xx/connect errors honour `Retry-After` (async-openai's retry middleware);
//! connect and per-read timeouts come from the HTTP client.

use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::middleware::ReqwestService;
use async_openai::middleware::retry::OpenAIRetryLayer;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::config::LlmConfig;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("model endpoint {base_url}: {message}")]
    Http { base_url: String, message: String },
    #[error(
        "the model stream from {base_url} stopped before the answer finished ({chars} characters received)"
    )]
    Cut { base_url: String, chars: usize },
    #[error(
        "the model stream from {base_url} sent a chunk that is not a chat completion: {message}"
    )]
    Garbage { base_url: String, message: String },
    #[error("no chunk from {base_url} for {secs} s")]
    Timeout { base_url: String, secs: u64 },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Which model a request goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Reasoning: the agent loop.
    Main,
    /// Bulk work: summaries, synthetic questions.
    Fast,
}

/// One chat message on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tool_calls: Vec<WireToolCall>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl ChatMessage {
    pub fn system(text: impl Into<String>) -> Self {
        Self::plain(Role::System, text)
    }
    pub fn user(text: impl Into<String>) -> Self {
        Self::plain(Role::User, text)
    }
    pub fn assistant(text: impl Into<String>, tool_calls: Vec<WireToolCall>) -> Self {
        let text = text.into();
        Self {
            role: Role::Assistant,
            content: (!text.is_empty() || tool_calls.is_empty()).then_some(text),
            tool_calls,
            tool_call_id: None,
        }
    }
    pub fn tool(call_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: Some(text.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }
    fn plain(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(text.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    /// Characters of text in the message, for token estimates.
    pub fn chars(&self) -> usize {
        self.content.as_deref().map_or(0, str::len)
            + self
                .tool_calls
                .iter()
                .map(|c| c.function.name.len() + c.function.arguments.len())
                .sum::<usize>()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: WireFunction,
}

fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFunction {
    pub name: String,
    /// JSON text, exactly as the model wrote it (it may be malformed).
    pub arguments: String,
}

/// A tool the model may call.
#[derive(Debug, Clone, Serialize)]
pub struct ToolDefinition {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub function: FunctionDefinition,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionDefinition {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tools: &'a [ToolDefinition],
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// A stream chunk, with every field optional: servers differ in what they send.
#[derive(Debug, Default, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Default, Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<Delta>,
    /// Some servers send a whole message instead of deltas in the last chunk.
    #[serde(default)]
    message: Option<Delta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Delta {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Debug, Default, Deserialize)]
struct ToolCallDelta {
    #[serde(default)]
    index: Option<usize>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<FunctionDelta>,
}

#[derive(Debug, Default, Deserialize)]
struct FunctionDelta {
    #[serde(default)]
    name: Option<String>,
    /// Usually a string fragment; some servers send the whole arguments as an object.
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Token counts of one request.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// True when the server sent no usage and these are estimates (4 characters a token).
    pub estimated: bool,
}

/// A finished model turn.
#[derive(Debug, Clone, Default)]
pub struct Completion {
    pub content: String,
    pub tool_calls: Vec<WireToolCall>,
    pub usage: Usage,
    pub finish_reason: Option<String>,
}

/// The JSON object in a reply (models wrap it in prose or code fences at times).
pub fn json_object(content: &str) -> Option<&str> {
    let (s, e) = (content.find('{')?, content.rfind('}')?);
    (s < e).then(|| &content[s..=e])
}

/// A chat client for one endpoint with two model tiers.
#[derive(Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    base_url: String,
    model: String,
    fast_model: String,
    read_timeout: Duration,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish()
    }
}

/// The model named by config or `OPENAI_MODEL`; `None` means the offline planner.
pub fn configured_model(cfg: &LlmConfig) -> Option<String> {
    cfg.model
        .clone()
        .or_else(|| std::env::var("OPENAI_MODEL").ok())
        .filter(|m| !m.trim().is_empty())
}

impl LlmClient {
    /// `None` when no model is configured: triage then runs its offline planner.
    pub fn from_config(cfg: &LlmConfig) -> Result<Option<Self>, LlmError> {
        let Some(model) = configured_model(cfg) else {
            return Ok(None);
        };
        let base_url = cfg
            .base_url
            .clone()
            .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
            .unwrap_or_else(|| "https://api.openai.com/v1".into());
        let api_key = std::env::var(&cfg.api_key_env).unwrap_or_default();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(cfg.connect_timeout_secs.max(1)))
            // A backstop: the stream's own timeout (below) fires first and says so.
            .read_timeout(Duration::from_secs(cfg.read_timeout_secs.max(1) + 5))
            .build()
            .map_err(|e| LlmError::Client(e.to_string()))?;
        let service = tower::ServiceBuilder::new()
            .layer(OpenAIRetryLayer::new(cfg.max_retries as usize))
            .service(ReqwestService::new(http));
        let config = OpenAIConfig::new()
            .with_api_base(base_url.trim_end_matches('/'))
            .with_api_key(api_key);
        let client = Client::with_config(config).with_http_service(service);
        let fast_model = cfg.fast_model.clone().unwrap_or_else(|| model.clone());
        Ok(Some(Self {
            client,
            base_url,
            model,
            fast_model,
            read_timeout: Duration::from_secs(cfg.read_timeout_secs.max(1)),
        }))
    }

    pub fn model(&self, tier: Tier) -> &str {
        match tier {
            Tier::Main => &self.model,
            Tier::Fast => &self.fast_model,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One system and one user message, no tools, the whole reply at once. The user
    /// text must already be redacted.
    pub async fn complete(
        &self,
        tier: Tier,
        system: &str,
        user: String,
    ) -> Result<Completion, LlmError> {
        let messages = [ChatMessage::system(system), ChatMessage::user(user)];
        self.stream_chat(tier, &messages, &[], &|_: &str| {}).await
    }

    /// Stream one chat completion. `on_delta` sees each text fragment as it arrives.
    /// Messages must already be redacted.
    pub async fn stream_chat(
        &self,
        tier: Tier,
        messages: &[ChatMessage],
        tools: &[ToolDefinition],
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Completion, LlmError> {
        // Serialized up front: the request future then owns everything it sends.
        let request = serde_json::to_value(ChatRequest {
            model: self.model(tier),
            messages,
            tools,
            stream: true,
            stream_options: StreamOptions {
                include_usage: true,
            },
            parallel_tool_calls: (!tools.is_empty()).then_some(true),
        })
        .map_err(|e| LlmError::Client(e.to_string()))?;
        let http_err = |e: async_openai::error::OpenAIError| LlmError::Http {
            base_url: self.base_url.clone(),
            message: e.to_string(),
        };
        let mut stream = self
            .client
            .chat()
            .create_stream_byot::<_, Chunk>(request)
            .await
            .map_err(http_err)?;
        let mut acc = Accumulator::default();
        loop {
            let next = match tokio::time::timeout(self.read_timeout, stream.next()).await {
                Ok(next) => next,
                Err(_) => {
                    return Err(LlmError::Timeout {
                        base_url: self.base_url.clone(),
                        secs: self.read_timeout.as_secs(),
                    });
                }
            };
            let Some(item) = next else { break };
            let chunk = match item {
                Ok(chunk) => chunk,
                Err(async_openai::error::OpenAIError::JSONDeserialize(e, _)) => {
                    return Err(LlmError::Garbage {
                        base_url: self.base_url.clone(),
                        message: e.to_string(),
                    });
                }
                Err(e) if acc.received() > 0 => {
                    tracing::warn!("model stream error after partial answer: {e}");
                    return Err(LlmError::Cut {
                        base_url: self.base_url.clone(),
                        chars: acc.received(),
                    });
                }
                Err(e) => return Err(http_err(e)),
            };
            acc.push(chunk, on_delta);
        }
        if acc.finish_reason.is_none() {
            return Err(LlmError::Cut {
                base_url: self.base_url.clone(),
                chars: acc.received(),
            });
        }
        let prompt_chars: usize = messages.iter().map(ChatMessage::chars).sum::<usize>()
            + serde_json::to_string(tools).map_or(0, |s| s.len());
        Ok(acc.finish(prompt_chars))
    }
}

/// Folds stream chunks into a completion.
#[derive(Default)]
struct Accumulator {
    content: String,
    /// Tool calls by stream index, in order of first appearance.
    calls: Vec<(usize, WireToolCall)>,
    usage: Option<WireUsage>,
    finish_reason: Option<String>,
}

impl Accumulator {
    fn received(&self) -> usize {
        self.content.len()
            + self
                .calls
                .iter()
                .map(|(_, c)| c.function.arguments.len())
                .sum::<usize>()
    }

    fn push(&mut self, chunk: Chunk, on_delta: &(dyn Fn(&str) + Send + Sync)) {
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        for choice in chunk.choices {
            for delta in [choice.delta, choice.message].into_iter().flatten() {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    on_delta(&text);
                    self.content.push_str(&text);
                }
                for (pos, tc) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                    self.push_call(pos, tc);
                }
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
        }
    }

    fn push_call(&mut self, pos: usize, tc: ToolCallDelta) {
        // Servers that omit `index` send each call whole; a new id also starts a new call.
        let index = tc.index.unwrap_or(usize::MAX - pos);
        let starts_new = match self.calls.iter().find(|(i, _)| *i == index) {
            None => true,
            Some((_, existing)) => tc
                .id
                .as_deref()
                .is_some_and(|id| !id.is_empty() && id != existing.id && !existing.id.is_empty()),
        };
        let index = if starts_new && self.calls.iter().any(|(i, _)| *i == index) {
            usize::MAX - 1000 - self.calls.len()
        } else {
            index
        };
        if starts_new {
            let n = self.calls.len();
            self.calls.push((
                index,
                WireToolCall {
                    id: tc.id.clone().unwrap_or_else(|| format!("call_{n}")),
                    kind: function_type(),
                    function: WireFunction {
                        name: String::new(),
                        arguments: String::new(),
                    },
                },
            ));
        }
        let Some((_, call)) = self.calls.iter_mut().find(|(i, _)| *i == index) else {
            return;
        };
        if let Some(id) = tc.id.filter(|id| !id.is_empty()) {
            call.id = id;
        }
        if let Some(f) = tc.function {
            if let Some(name) = f.name {
                call.function.name.push_str(&name);
            }
            match f.arguments {
                Some(serde_json::Value::String(s)) => call.function.arguments.push_str(&s),
                Some(serde_json::Value::Null) | None => {}
                Some(other) => call.function.arguments.push_str(&other.to_string()),
            }
        }
    }

    fn finish(self, prompt_chars: usize) -> Completion {
        let completion_chars = self.received();
        let (usage, estimated) = match self.usage {
            Some(u) => (
                u,
                u.prompt_tokens.is_none() || u.completion_tokens.is_none(),
            ),
            None => (WireUsage::default(), true),
        };
        Completion {
            content: self.content,
            tool_calls: self.calls.into_iter().map(|(_, c)| c).collect(),
            usage: Usage {
                prompt_tokens: usage
                    .prompt_tokens
                    .unwrap_or_else(|| estimate_tokens(prompt_chars)),
                completion_tokens: usage
                    .completion_tokens
                    .unwrap_or_else(|| estimate_tokens(completion_chars)),
                estimated,
            },
            finish_reason: self.finish_reason,
        }
    }
}

/// About four characters a token for English and code.
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(json: serde_json::Value) -> Chunk {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn tool_call_deltas_split_across_chunks_are_joined() {
        let mut acc = Accumulator::default();
        let seen = std::sync::Mutex::new(String::new());
        let on = |s: &str| seen.lock().unwrap().push_str(s);
        let on: &(dyn Fn(&str) + Send + Sync) = &on;
        acc.push(
            chunk(serde_json::json!({"choices":[{"delta":{"content":"Look"}}]})),
            on,
        );
        acc.push(
            chunk(serde_json::json!({"choices":[{"delta":{"tool_calls":[
            {"index":0,"id":"a","function":{"name":"search_","arguments":"{\"que"}},
            {"index":1,"id":"b","function":{"name":"kube_findings","arguments":"{}"}}]}}]})),
            on,
        );
        acc.push(chunk(serde_json::json!({"choices":[{"delta":{"tool_calls":[
            {"index":0,"function":{"name":"code","arguments":"ry\":\"x\"}"}}]},"finish_reason":"tool_calls"}]})), on);
        let c = acc.finish(100);
        assert_eq!(*seen.lock().unwrap(), "Look");
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].function.name, "search_code");
        assert_eq!(c.tool_calls[0].function.arguments, "{\"query\":\"x\"}");
        assert_eq!(c.tool_calls[1].id, "b");
        assert!(c.usage.estimated);
        assert_eq!(c.usage.prompt_tokens, 25);
    }

    #[test]
    fn whole_calls_without_index_and_object_arguments_are_accepted() {
        let mut acc = Accumulator::default();
        acc.push(
            chunk(serde_json::json!({"choices":[{"message":{"tool_calls":[
            {"function":{"name":"read_file","arguments":{"path":"a.rs"}}},
            {"function":{"name":"git_log","arguments":"{}"}}]},"finish_reason":"stop"}],
            "usage":{"prompt_tokens":7,"completion_tokens":3}})),
            &|_| {},
        );
        let c = acc.finish(0);
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].function.arguments, "{\"path\":\"a.rs\"}");
        assert_ne!(c.tool_calls[0].id, c.tool_calls[1].id);
        assert_eq!(c.usage.prompt_tokens, 7);
        assert!(!c.usage.estimated);
    }
}
