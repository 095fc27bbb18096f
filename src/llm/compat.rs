//! What OpenAI-compatible servers do differently, and how the chat client copes.
//!
//! - Request shapes: a server may refuse `stream_options` or `parallel_tool_calls`, or
//!   streaming when tools are offered, or answer a streaming request with one JSON body.
//!   The client steps down a ladder of request shapes ([`SHAPES`]) and remembers the
//!   first one the server takes.
//! - Tool calls in other forms: the legacy `function_call` field (joined in the
//!   accumulator), or written into the text (`<tool_call>{…}</tool_call>`,
//!   `[TOOL_CALLS] […]`, `<|python_tag|>{…}`, or a bare `{"name": …, "arguments": …}`
//!   naming an offered tool) are turned into tool calls.
//! - Arguments sent as a JSON string holding the object are unwrapped.
//! - Limits: a reply cut at the length limit, a prompt the server silently truncated,
//!   and a prompt over the context window are each reported with what to change.

use std::sync::atomic::Ordering;

use serde_json::Value;

use super::chat::{
    ChatMessage, Completion, LlmClient, LlmError, Tier, ToolDefinition, WireFunction, WireToolCall,
    prompt_chars,
};
use super::stream::{Accumulator, Chunk};
use super::wire::{SHAPES, Shape};

impl LlmClient {
    /// One chat completion, streamed when the server allows it. `on_delta` sees each
    /// text fragment as it arrives. Messages must already be redacted. A refused
    /// request shape is retried plainer; the shape that worked is kept for the next
    /// request and said once in the completion's notes.
    pub async fn stream_chat(
        &self,
        tier: Tier,
        messages: &[ChatMessage],
        tools: &[ToolDefinition],
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Completion, LlmError> {
        let slot = &self.shape[usize::from(!tools.is_empty())];
        let first = slot.load(Ordering::Relaxed).min(SHAPES.len() - 1);
        let mut refused = Vec::new();
        for (level, shape) in SHAPES.iter().enumerate().skip(first) {
            let result = if shape.stream {
                self.send_streaming(tier, messages, tools, *shape, on_delta)
                    .await
            } else {
                self.send_whole(tier, messages, tools, *shape, on_delta)
                    .await
            };
            match result {
                Ok(mut c) => {
                    if level != first {
                        slot.store(level, Ordering::Relaxed);
                        c.notes.push(format!(
                            "{} refused {} ({}); triage uses {} with it from now on",
                            self.base_url(),
                            SHAPES[first].describe(),
                            refused.join("; "),
                            shape.describe()
                        ));
                    }
                    let offered: Vec<&str> =
                        tools.iter().map(|t| t.function.name.as_str()).collect();
                    tidy(&mut c, &offered, prompt_chars(messages, tools));
                    return Ok(c);
                }
                Err(e) => {
                    let e = context_error(e);
                    if !refused_shape(&e) || level + 1 == SHAPES.len() {
                        return Err(e);
                    }
                    tracing::warn!("{} refused {}: {e}", self.base_url(), shape.describe());
                    refused.push(e.to_string());
                }
            }
        }
        Err(LlmError::Client("no request shape left to try".into()))
    }

    /// One non-streaming chat completion: the whole reply in one JSON body.
    async fn send_whole(
        &self,
        tier: Tier,
        messages: &[ChatMessage],
        tools: &[ToolDefinition],
        shape: Shape,
        on_delta: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<Completion, LlmError> {
        let request = self.request(tier, messages, tools, shape)?;
        let chat = self.client.chat();
        let reply = chat.create_byot::<_, Chunk>(request);
        // The whole generation arrives at once, within the read timeout.
        let chunk = match tokio::time::timeout(self.read_timeout, reply).await {
            Ok(r) => r.map_err(|e| self.http_error(e))?,
            Err(_) => {
                return Err(LlmError::Timeout {
                    base_url: self.base_url().to_string(),
                    secs: self.read_timeout.as_secs(),
                });
            }
        };
        let mut acc = Accumulator::default();
        acc.push(chunk, on_delta);
        if acc.finish_reason.is_none() && acc.received() == 0 {
            return Err(LlmError::Garbage {
                base_url: self.base_url().to_string(),
                message: "a reply with no message".into(),
            });
        }
        Ok(acc.finish(prompt_chars(messages, tools)))
    }
}

/// Whether an error says the server did not take this request's shape (so a plainer
/// one may work) rather than that the server is down, the key is wrong or the model
/// is unknown. A 500 counts only when it names part of the request (servers raise on
/// options their templates do not handle); a bare one was already retried.
pub fn refused_shape(err: &LlmError) -> bool {
    match err {
        LlmError::Http {
            status: Some(code),
            message,
            ..
        } => match *code {
            400 | 405 | 415 | 422 | 501 => true,
            500 => {
                let m = message.to_lowercase();
                [
                    "stream",
                    "tool",
                    "option",
                    "parallel",
                    "field",
                    "support",
                    "attribute",
                    "template",
                ]
                .iter()
                .any(|w| m.contains(w))
            }
            _ => false,
        },
        // An error body that is not OpenAI's error object (FastAPI's `{"detail": …}`).
        LlmError::Http {
            status: None,
            message,
            ..
        } => message.contains("failed to deserialize"),
        // A reply with no stream chunk at all: the server ignored `stream` and sent JSON.
        LlmError::Cut { chars: 0, .. } => true,
        _ => false,
    }
}

/// A context-window error from the server, with what to change.
pub fn context_error(err: LlmError) -> LlmError {
    let LlmError::Http {
        base_url, message, ..
    } = &err
    else {
        return err;
    };
    let lower = message.to_lowercase();
    let about_context = lower.contains("context_length_exceeded")
        || (lower.contains("context") || lower.contains("n_ctx"))
            && ["exceed", "too long", "too large", "maximum", "overflow"]
                .iter()
                .any(|w| lower.contains(w));
    if !about_context {
        return err;
    }
    LlmError::Context {
        base_url: base_url.clone(),
        message: message.clone(),
    }
}

/// Post-process a finished reply: text-form tool calls, string-wrapped arguments, and
/// notes on limits. `offered` are the tool names the request carried.
pub fn tidy(c: &mut Completion, offered: &[&str], prompt_chars: usize) {
    if c.tool_calls.is_empty()
        && !offered.is_empty()
        && let Some((rest, calls)) = text_tool_calls(&c.content, offered)
    {
        c.notes.push(format!(
            "the model wrote {} tool call(s) as text instead of using the tools API; \
             they were read from the text (a server flag may be missing: see docs/models.md)",
            calls.len()
        ));
        c.content = rest;
        c.tool_calls = calls;
    }
    for call in &mut c.tool_calls {
        unwrap_string_arguments(&mut call.function);
    }
    if c.finish_reason.as_deref() == Some("length") {
        c.notes.push(
            "the model's reply was cut at its length limit (finish_reason=length); the answer \
             may be incomplete: raise the server's context size or max tokens"
                .into(),
        );
    }
    let sent = super::stream::estimate_tokens(prompt_chars);
    if !c.usage.estimated && sent > 2000 && c.usage.prompt_tokens * 2 < sent {
        c.notes.push(format!(
            "the server counted {} prompt tokens for about {sent} sent: it probably cut the \
             prompt to fit a small context window (Ollama's default num_ctx); raise it to \
             16384 or more",
            c.usage.prompt_tokens
        ));
    }
}

/// `"{\"a\":1}"` (an object sent as a JSON string) becomes `{"a":1}`.
fn unwrap_string_arguments(f: &mut WireFunction) {
    if let Ok(Value::String(inner)) = serde_json::from_str::<Value>(f.arguments.trim())
        && matches!(serde_json::from_str::<Value>(&inner), Ok(Value::Object(_)))
    {
        f.arguments = inner;
    }
}

/// Tool calls written into the reply text. Tagged forms are taken whatever tool they
/// name (an unknown name goes back to the model as an error); a bare JSON object only
/// when it names an offered tool, so an answer that quotes JSON stays an answer.
pub fn text_tool_calls(content: &str, offered: &[&str]) -> Option<(String, Vec<WireToolCall>)> {
    for (open, close) in [
        ("<tool_call>", Some("</tool_call>")),
        ("<function_call>", Some("</function_call>")),
        ("[TOOL_CALLS]", None),
        ("<|python_tag|>", None),
    ] {
        let Some(start) = content.find(open) else {
            continue;
        };
        let mut calls = Vec::new();
        let mut rest = content[..start].to_string();
        let mut tail = &content[start..];
        while let Some(at) = tail.find(open) {
            rest.push_str(&tail[..at]);
            let body_start = at + open.len();
            let (body, after) = match close.and_then(|c| tail[body_start..].find(c)) {
                Some(end) => (
                    &tail[body_start..body_start + end],
                    &tail[body_start + end + close.map_or(0, str::len)..],
                ),
                None => (&tail[body_start..], ""),
            };
            calls.extend(calls_in(body, None));
            tail = after;
        }
        rest.push_str(tail);
        if !calls.is_empty() {
            return Some((rest.trim().to_string(), number(calls)));
        }
    }
    let body = strip_fence(content.trim());
    let calls = calls_in(body, Some(offered));
    (!calls.is_empty()).then(|| (String::new(), number(calls)))
}

fn strip_fence(text: &str) -> &str {
    let Some(inner) = text.strip_prefix("```") else {
        return text;
    };
    let inner = inner.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    inner.strip_suffix("```").unwrap_or(inner).trim()
}

/// The calls in one JSON text: an object or an array of objects with a name and
/// arguments (`arguments`, `parameters` or `args`), possibly under `function`.
fn calls_in(body: &str, only: Option<&[&str]>) -> Vec<WireFunction> {
    let items = match serde_json::from_str::<Value>(body.trim()) {
        Ok(Value::Array(items)) => items,
        Ok(v @ Value::Object(_)) => vec![v],
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for item in items {
        let item = item.get("function").cloned().unwrap_or(item);
        let Some(name) = item.get("name").and_then(Value::as_str) else {
            return Vec::new();
        };
        if only.is_some_and(|names| !names.contains(&name)) {
            return Vec::new();
        }
        let args = ["arguments", "parameters", "args"]
            .iter()
            .find_map(|k| item.get(*k))
            .cloned()
            .unwrap_or(Value::Object(Default::default()));
        let arguments = match args {
            Value::String(s) => s,
            other => other.to_string(),
        };
        out.push(WireFunction {
            name: name.to_string(),
            arguments,
        });
    }
    out
}

fn number(functions: Vec<WireFunction>) -> Vec<WireToolCall> {
    functions
        .into_iter()
        .enumerate()
        .map(|(i, function)| WireToolCall {
            id: format!("call_text_{i}"),
            kind: "function".into(),
            function,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFERED: &[&str] = &["search_code", "kube_findings"];

    #[test]
    fn hermes_tags_become_calls_and_leave_the_prose() {
        let text = "Let me look.\n<tool_call>\n{\"name\": \"search_code\", \"arguments\": {\"query\": \"retry\"}}\n</tool_call>";
        let (rest, calls) = text_tool_calls(text, OFFERED).unwrap();
        assert_eq!(rest, "Let me look.");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].function.name, "search_code");
        assert_eq!(calls[0].function.arguments, "{\"query\":\"retry\"}");
    }

    #[test]
    fn mistral_and_llama_forms_are_read() {
        let (_, calls) = text_tool_calls(
            "[TOOL_CALLS] [{\"name\": \"kube_findings\", \"arguments\": {}}, {\"name\": \"search_code\", \"arguments\": \"{\\\"query\\\": \\\"x\\\"}\"}]",
            OFFERED,
        )
        .unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[1].function.arguments, "{\"query\": \"x\"}");
        assert_ne!(calls[0].id, calls[1].id);
        let (_, calls) = text_tool_calls(
            "<|python_tag|>{\"name\": \"search_code\", \"parameters\": {\"query\": \"y\"}}",
            OFFERED,
        )
        .unwrap();
        assert_eq!(calls[0].function.arguments, "{\"query\":\"y\"}");
    }

    #[test]
    fn bare_json_counts_only_when_it_names_an_offered_tool() {
        let fenced = "```json\n{\"name\": \"search_code\", \"arguments\": {\"query\": \"z\"}}\n```";
        assert!(text_tool_calls(fenced, OFFERED).is_some());
        assert!(text_tool_calls("{\"name\": \"rm_rf\", \"arguments\": {}}", OFFERED).is_none());
        assert!(text_tool_calls("{\"status\": \"ok\"}", OFFERED).is_none());
        assert!(text_tool_calls("The pod is crash-looping.", OFFERED).is_none());
        // A tagged call to an unknown tool is still a call: the loop answers it with an error.
        let (_, calls) =
            text_tool_calls("<tool_call>{\"name\": \"rm_rf\"}</tool_call>", OFFERED).unwrap();
        assert_eq!(calls[0].function.name, "rm_rf");
        assert_eq!(calls[0].function.arguments, "{}");
    }

    #[test]
    fn tidy_unwraps_string_arguments_and_notes_limits() {
        let mut c = Completion {
            content: "partial".into(),
            tool_calls: vec![WireToolCall {
                id: "a".into(),
                kind: "function".into(),
                function: WireFunction {
                    name: "search_code".into(),
                    arguments: "\"{\\\"query\\\":\\\"q\\\"}\"".into(),
                },
            }],
            finish_reason: Some("length".into()),
            ..Default::default()
        };
        c.usage.prompt_tokens = 1000;
        tidy(&mut c, OFFERED, 40_000);
        assert_eq!(c.tool_calls[0].function.arguments, "{\"query\":\"q\"}");
        assert!(c.notes.iter().any(|n| n.contains("finish_reason=length")));
        assert!(
            c.notes.iter().any(|n| n.contains("num_ctx")),
            "{:?}",
            c.notes
        );
    }

    #[test]
    fn only_shape_errors_step_down() {
        let http = |status, message: &str| LlmError::Http {
            base_url: "u".into(),
            status,
            message: message.into(),
        };
        assert!(refused_shape(&http(
            Some(400),
            "stream_options not supported"
        )));
        assert!(refused_shape(&http(
            Some(500),
            "'dict object' has no attribute 'content'"
        )));
        assert!(!refused_shape(&http(Some(500), "scripted 500")));
        assert!(!refused_shape(&http(Some(401), "bad key")));
        assert!(!refused_shape(&http(Some(404), "no such model")));
        assert!(!refused_shape(&http(None, "connection refused")));
        let e = context_error(http(
            Some(400),
            "the request exceeds the available context size",
        ));
        assert!(matches!(e, LlmError::Context { .. }));
        assert!(e.to_string().contains("16384"), "{e}");
    }
}
