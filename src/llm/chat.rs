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

pub use super::stream::estimate_tokens;
use super::stream::{Accumulator, Chunk};
use super::wire::Shape;
pub use super::wire::{Completion, Usage, WireFunction, WireToolCall};
use crate::config::LlmConfig;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("model endpoint {base_url}: {message}")]
    Http {
        base_url: String,
        /// The HTTP status, when the server answered with one.
        status: Option<u16>,
        message: String,
    },
    #[error(
        "the prompt does not fit the context window of the model at {base_url} ({message}): \
         start the server with a larger one, 16384 tokens or more (llama.cpp -c, Ollama \
         num_ctx, vLLM --max-model-len)"
    )]
    Context { base_url: String, message: String },
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
    /// Content is always sent, empty beside tool calls: chat templates that read
    /// `message.content` (llama-cpp-python's) fail on a message without it.
    pub fn assistant(text: impl Into<String>, tool_calls: Vec<WireToolCall>) -> Self {
        Self {
            role: Role::Assistant,
            content: Some(text.into()),
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
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
}

#[derive(Debug, Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// The JSON object in a reply (models wrap it in prose or code fences at times).
pub fn json_object(content: &str) -> Option<&str> {
    let (s, e) = (content.find('{')?, content.rfind('}')?);
    (s < e).then(|| &content[s..=e])
}

/// A chat client for one endpoint with two model tiers.
#[derive(Clone)]
pub struct LlmClient {
    pub(super) client: Client<OpenAIConfig>,
    base_url: String,
    model: String,
    fast_model: String,
    pub(super) read_timeout: Duration,
    /// Longest reply in tokens: asked for, and enforced while reading.
    pub(super) max_reply_tokens: u32,
    /// The request shape each kind of request settled on (without, with tools): an
    /// index into `wire::SHAPES`, shared by clones.
    pub(super) shape: std::sync::Arc<[std::sync::atomic::AtomicUsize; 2]>,
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
        crate::tls::ensure_crypto_provider();
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
            max_reply_tokens: cfg.max_reply_tokens.max(16),
            shape: Default::default(),
        }))
    }

    pub fn model(&self, tier: Tier) -> &str {
        match tier {
            Tier::Main => &self.model,
            Tier::Fast => &self.fast_model,
        }
    }

    /// The same endpoint with the fast model in the main role (background work).
    pub fn on_fast_tier(&self) -> Self {
        let mut c = self.clone();
        c.model = c.fast_model.clone();
        c
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

    /// The request body for one shape. Serialized up front: the request future then owns
    /// everything it sends.
    pub(super) fn request(
        &self,
        tier: Tier,
        messages: &[ChatMessage],
        tools: &[ToolDefinition],
        shape: Shape,
    ) -> Result<serde_json::Value, LlmError> {
        let extra = shape.optional_fields;
        serde_json::to_value(ChatRequest {
            model: self.model(tier),
            messages,
            tools,
            stream: shape.stream,
            stream_options: (extra && shape.stream).then_some(StreamOptions {
                include_usage: true,
            }),
            parallel_tool_calls: (extra && !tools.is_empty()).then_some(true),
            max_tokens: extra.then_some(self.max_reply_tokens),
        })
        .map_err(|e| LlmError::Client(e.to_string()))
    }

    pub(super) fn http_error(&self, e: async_openai::error::OpenAIError) -> LlmError {
        let status = match &e {
            async_openai::error::OpenAIError::ApiError(r) => Some(r.status_code.as_u16()),
            async_openai::error::OpenAIError::Reqwest(r) => r.status().map(|s| s.as_u16()),
            _ => None,
        };
        LlmError::Http {
            base_url: self.base_url.clone(),
            status,
            message: e.to_string(),
        }
    }

    /// One streamed chat completion in the given shape. `on_delta` sees each text
    /// fragment as it arrives. Messages must already be redacted.
    pub(super) async fn send_streaming(
        &self,
        tier: Tier,
        messages: &[ChatMessage],
        tools: &[ToolDefinition],
        shape: Shape,
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Completion, LlmError> {
        let request = self.request(tier, messages, tools, shape)?;
        let http_err = |e| self.http_error(e);
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
            // A server that ignores max_tokens would stream until its window is full.
            if acc.received() as u64 > u64::from(self.max_reply_tokens) * 4 {
                acc.finish_reason = Some("length".into());
                break;
            }
        }
        if acc.finish_reason.is_none() {
            return Err(LlmError::Cut {
                base_url: self.base_url.clone(),
                chars: acc.received(),
            });
        }
        Ok(acc.finish(prompt_chars(messages, tools)))
    }
}

/// Characters a request sends, for token estimates.
pub(super) fn prompt_chars(messages: &[ChatMessage], tools: &[ToolDefinition]) -> usize {
    messages.iter().map(ChatMessage::chars).sum::<usize>()
        + serde_json::to_string(tools).map_or(0, |s| s.len())
}
