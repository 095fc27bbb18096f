//! What the chat client, its stream folding and its compatibility layer share: the wire
//! types of a finished turn and the request shapes a server may take.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: WireFunction,
}

pub(super) fn function_type() -> String {
    "function".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireFunction {
    pub name: String,
    /// JSON text, exactly as the model wrote it (it may be malformed).
    pub arguments: String,
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
    /// What the client worked around or noticed (a refused request shape, tool calls
    /// read from text, a cut reply), for the caller to show.
    pub notes: Vec<String>,
}

/// One way of asking: what the request carries besides the messages and tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub stream: bool,
    /// `stream_options.include_usage` and `parallel_tool_calls`.
    pub optional_fields: bool,
}

/// From the richest request to the plainest; the client moves down when refused.
pub const SHAPES: [Shape; 3] = [
    Shape {
        stream: true,
        optional_fields: true,
    },
    Shape {
        stream: true,
        optional_fields: false,
    },
    Shape {
        stream: false,
        optional_fields: false,
    },
];

impl Shape {
    pub fn describe(self) -> &'static str {
        match (self.stream, self.optional_fields) {
            (true, true) => "streaming with usage",
            (true, false) => "streaming without stream_options",
            (false, _) => "non-streaming requests",
        }
    }
}
