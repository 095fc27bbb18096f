//! Stream chunks as servers send them (every field optional) and folding them into one
//! completion: text deltas, tool-call deltas joined by index or id, the legacy
//! `function_call`, whole messages, usage or estimates.

use serde::Deserialize;

use super::wire::{Completion, Usage, WireFunction, WireToolCall, function_type};

/// A stream chunk, with every field optional: servers differ in what they send.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Chunk {
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
    /// The legacy single call (`function_call`), streamed like a tool call.
    #[serde(default)]
    function_call: Option<FunctionDelta>,
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

/// Folds stream chunks into a completion.
#[derive(Default)]
pub(super) struct Accumulator {
    content: String,
    /// Tool calls by stream index, in order of first appearance.
    calls: Vec<(usize, WireToolCall)>,
    usage: Option<WireUsage>,
    pub(super) finish_reason: Option<String>,
}

impl Accumulator {
    pub(super) fn received(&self) -> usize {
        self.content.len()
            + self
                .calls
                .iter()
                .map(|(_, c)| c.function.arguments.len())
                .sum::<usize>()
    }

    pub(super) fn push(&mut self, chunk: Chunk, on_delta: &(dyn Fn(&str) + Send + Sync)) {
        if let Some(u) = chunk.usage {
            self.usage = Some(u);
        }
        for choice in chunk.choices {
            for delta in [choice.delta, choice.message].into_iter().flatten() {
                if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                    on_delta(&text);
                    self.content.push_str(&text);
                }
                let calls = delta.tool_calls.unwrap_or_default();
                // llama-cpp-python sends each call twice, as `tool_calls` and as the
                // legacy `function_call`: the legacy field counts only on its own.
                let legacy = delta.function_call.filter(|_| calls.is_empty());
                for (pos, tc) in calls.into_iter().enumerate() {
                    self.push_call(pos, tc);
                }
                if let Some(function) = legacy {
                    let index = Some(LEGACY_CALL_INDEX);
                    let (id, function) = (None, Some(function));
                    self.push_call(
                        0,
                        ToolCallDelta {
                            index,
                            id,
                            function,
                        },
                    );
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
            // Names come in fragments, or (llama-cpp-python) whole in every chunk.
            if let Some(name) = f.name.filter(|n| *n != call.function.name) {
                call.function.name.push_str(&name);
            }
            match f.arguments {
                Some(serde_json::Value::String(s)) => call.function.arguments.push_str(&s),
                Some(serde_json::Value::Null) | None => {}
                Some(other) => call.function.arguments.push_str(&other.to_string()),
            }
        }
    }

    pub(super) fn finish(self, prompt_chars: usize) -> Completion {
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
            notes: Vec::new(),
        }
    }
}

/// The stream index the legacy `function_call` field is joined under.
const LEGACY_CALL_INDEX: usize = usize::MAX / 2;

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

    #[test]
    fn a_call_sent_in_both_fields_counts_once_and_the_legacy_field_alone_counts() {
        let mut acc = Accumulator::default();
        for args in ["{\"status\"", ": \"ok\"}"] {
            acc.push(
                chunk(serde_json::json!({"choices":[{"delta":{
                "function_call":{"name":"report_status","arguments":args},
                "tool_calls":[{"index":0,"id":"call_0","type":"function","function":{"name":"report_status","arguments":args}}]}}]})),
                &|_| {},
            );
        }
        let c = acc.finish(0);
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.tool_calls[0].function.name, "report_status");
        assert_eq!(c.tool_calls[0].function.arguments, "{\"status\": \"ok\"}");

        let mut acc = Accumulator::default();
        for delta in [
            serde_json::json!({"function_call":{"name":"git_log","arguments":""}}),
            serde_json::json!({"function_call":{"arguments":"{}"}}),
        ] {
            acc.push(
                chunk(serde_json::json!({"choices":[{"delta":delta}]})),
                &|_| {},
            );
        }
        let c = acc.finish(0);
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.tool_calls[0].function.name, "git_log");
        assert_eq!(c.tool_calls[0].function.arguments, "{}");
    }
}
