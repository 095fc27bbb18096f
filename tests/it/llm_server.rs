//! A loopback OpenAI-compatible chat server that speaks SSE, scripted per test: content
//! and tool-call deltas split across chunks, usage, and faults (429 with Retry-After,
//! 500, a cut stream, garbage). It also answers `/embeddings` with small deterministic
//! vectors. It logs every request body as received.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{
    Router,
    extract::State,
    routing::{get, post},
};
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone, Debug)]
pub enum Reply {
    /// SSE chunks (each a JSON object), then `[DONE]` unless `cut`.
    Stream {
        chunks: Vec<Value>,
        cut: bool,
        delay: Duration,
    },
    /// An HTTP error.
    Status { code: u16, retry_after: Option<u64> },
    /// A data line that is not JSON.
    Garbage,
    /// A plain (non-SSE) JSON body with this status: a whole completion, or an error
    /// object in whatever shape the server uses.
    Json { code: u16, body: Value },
}

type Script = Arc<dyn Fn(usize, &Value) -> Reply + Send + Sync>;

#[derive(Clone)]
struct ServerState {
    script: Script,
    log: Arc<Mutex<Vec<Logged>>>,
}

#[derive(Clone, Debug)]
pub struct Logged {
    pub at: Instant,
    /// The raw body and headers as received.
    pub raw: String,
    pub body: Value,
}

pub struct LlmServer {
    pub url: String,
    log: Arc<Mutex<Vec<Logged>>>,
}

impl LlmServer {
    /// Serve replies in order; requests past the end get the last reply again.
    pub async fn start(replies: Vec<Reply>) -> LlmServer {
        let replies = Arc::new(replies);
        Self::with_script(move |n, _| replies[n.min(replies.len() - 1)].clone()).await
    }

    /// Serve whatever `script(request_number, body)` returns.
    pub async fn with_script(
        script: impl Fn(usize, &Value) -> Reply + Send + Sync + 'static,
    ) -> LlmServer {
        let state = ServerState {
            script: Arc::new(script),
            log: Arc::default(),
        };
        let log = state.log.clone();
        let app = Router::new()
            .route("/v1/chat/completions", post(chat))
            .route(
                "/v1/models",
                get(|| async {
                    axum::Json(json!({"object": "list", "data": [{"id": "scripted", "object": "model", "max_model_len": 32768}]}))
                }),
            )
            .route("/v1/embeddings", post(embeddings))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        LlmServer {
            url: format!("http://{addr}/v1"),
            log,
        }
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
}

/// Embedding requests are logged too (their `body` has `input`), and answered with an
/// 8-dimensional vector per input derived from its bytes.
async fn embeddings(State(st): State<ServerState>, headers: HeaderMap, body: String) -> Response {
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    {
        let mut raw = String::new();
        for (k, v) in &headers {
            raw.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
        }
        raw.push_str(&body);
        st.log.lock().unwrap().push(Logged {
            at: Instant::now(),
            raw,
            body: parsed.clone(),
        });
    }
    let inputs: Vec<String> = match &parsed["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|v| v.as_str().unwrap_or("").to_string())
            .collect(),
        _ => Vec::new(),
    };
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut v = [0.0f32; 8];
            for (j, b) in t.bytes().enumerate() {
                v[(j + b as usize) % 8] += 1.0;
            }
            v[0] += 1.0;
            json!({"index": i, "object": "embedding", "embedding": v})
        })
        .collect();
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"object": "list", "data": data}).to_string(),
        ))
        .unwrap()
}

async fn chat(State(st): State<ServerState>, headers: HeaderMap, body: String) -> Response {
    let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let n = {
        let mut log = st.log.lock().unwrap();
        let mut raw = String::new();
        for (k, v) in &headers {
            raw.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("")));
        }
        raw.push_str(&body);
        log.push(Logged {
            at: Instant::now(),
            raw,
            body: parsed.clone(),
        });
        // Replies are scripted by chat request number; embedding requests do not count.
        log.iter().filter(|l| l.body.get("input").is_none()).count() - 1
    };
    match (st.script)(n, &parsed) {
        Reply::Status { code, retry_after } => {
            let mut r = Response::builder().status(StatusCode::from_u16(code).unwrap());
            if let Some(s) = retry_after {
                r = r.header("retry-after", s.to_string());
            }
            r.header("content-type", "application/json")
                .body(Body::from(
                    json!({"error": {"message": format!("scripted {code}"), "type": if code == 429 {"rate_limit_exceeded"} else {"server_error"}, "code": null}}).to_string(),
                ))
                .unwrap()
        }
        Reply::Json { code, body } => Response::builder()
            .status(StatusCode::from_u16(code).unwrap())
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        Reply::Garbage => sse(vec!["data: {not json\n\n".to_string()], Duration::ZERO),
        Reply::Stream { chunks, cut, delay } => {
            let mut frames: Vec<String> = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
            if !cut {
                frames.push("data: [DONE]\n\n".into());
            }
            sse(frames, delay)
        }
    }
}

fn sse(frames: Vec<String>, delay: Duration) -> Response {
    let stream = futures::stream::unfold(frames.into_iter(), move |mut it| async move {
        let frame = it.next()?;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        Some((Ok::<_, std::io::Error>(frame), it))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

/// A text answer streamed in pieces, with a finish reason and (optionally) usage.
pub fn text(pieces: &[&str], usage: Option<(u64, u64)>) -> Reply {
    let mut chunks: Vec<Value> = pieces
        .iter()
        .map(|p| json!({"choices":[{"index":0,"delta":{"content":p}}]}))
        .collect();
    chunks.push(json!({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}));
    if let Some((p, c)) = usage {
        chunks.push(json!({"choices":[],"usage":{"prompt_tokens":p,"completion_tokens":c,"total_tokens":p+c}}));
    }
    Reply::Stream {
        chunks,
        cut: false,
        delay: Duration::ZERO,
    }
}

/// Tool calls with their arguments split into `split` pieces across chunks, interleaved.
pub fn tool_calls(calls: &[(&str, &str, Value)], split: usize) -> Reply {
    tool_calls_raw(
        &calls
            .iter()
            .map(|(id, name, args)| (*id, *name, args.to_string()))
            .collect::<Vec<_>>(),
        split,
    )
}

/// Like `tool_calls`, with the argument text as given (it may be malformed).
pub fn tool_calls_raw(calls: &[(&str, &str, String)], split: usize) -> Reply {
    let mut chunks = Vec::new();
    for (i, (id, name, _)) in calls.iter().enumerate() {
        chunks.push(json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":i,"id":id,"type":"function","function":{"name":name,"arguments":""}}]}}]}));
    }
    let parts: Vec<Vec<String>> = calls
        .iter()
        .map(|(_, _, args)| {
            let chars: Vec<char> = args.chars().collect();
            let size = chars.len().div_ceil(split.max(1)).max(1);
            chars.chunks(size).map(|c| c.iter().collect()).collect()
        })
        .collect();
    let rounds = parts.iter().map(Vec::len).max().unwrap_or(0);
    for r in 0..rounds {
        for (i, p) in parts.iter().enumerate() {
            if let Some(piece) = p.get(r) {
                chunks.push(json!({"choices":[{"index":0,"delta":{"tool_calls":[{"index":i,"function":{"arguments":piece}}]}}]}));
            }
        }
    }
    chunks.push(json!({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}));
    Reply::Stream {
        chunks,
        cut: false,
        delay: Duration::ZERO,
    }
}

/// A whole (non-streaming) completion: text and tool calls in one message.
pub fn whole(content: &str, calls: &[(&str, &str, Value)]) -> Reply {
    let calls: Vec<Value> = calls
        .iter()
        .map(|(id, name, args)| json!({"id": id, "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
        .collect();
    let mut message = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    let finish = if message.get("tool_calls").is_some() {
        "tool_calls"
    } else {
        "stop"
    };
    Reply::Json {
        code: 200,
        body: json!({"id": "c", "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}),
    }
}

/// An error body in OpenAI's shape.
pub fn error(code: u16, message: &str) -> Reply {
    Reply::Json {
        code,
        body: json!({"error": {"message": message, "type": "invalid_request_error", "code": null}}),
    }
}

/// Chunks as given, then `[DONE]`.
pub fn chunks(chunks: Vec<Value>) -> Reply {
    Reply::Stream {
        chunks,
        cut: false,
        delay: Duration::ZERO,
    }
}

/// The messages of a logged request.
pub fn messages(body: &Value) -> Vec<Value> {
    body["messages"].as_array().cloned().unwrap_or_default()
}
