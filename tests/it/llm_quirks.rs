//! What real OpenAI-compatible servers do differently (llama.cpp, Ollama, vLLM, older
//! proxies), played by the scripted loopback server: refused request shapes, replies that
//! are not streamed, tool calls in the legacy field or in the text, string-wrapped
//! arguments, cut and empty replies, context overflow. Each run ends with an answer or a
//! clear error, never a hang.

use serde_json::{Value, json};
use triage::protocol::{ErrorKind, Event, Op, TurnStatus};

use crate::agent::{errors, llm_config, send, start, status, tool_names, until_done};
use crate::llm_server::{self, LlmServer, Reply};

async fn ask(server: &LlmServer) -> Vec<Event> {
    let mut s = start(llm_config(&server.url), false).await;
    send(
        &s,
        Op::Submit {
            text: "where is the card charged?".into(),
        },
    );
    until_done(&mut s.handle).await
}

fn streams(body: &Value) -> bool {
    body["stream"].as_bool().unwrap_or(false)
}

fn has_tools(body: &Value) -> bool {
    body["tools"].as_array().is_some_and(|t| !t.is_empty())
}

fn answer(events: &[Event]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            Event::TurnComplete { answer, .. } => answer.as_ref().map(|a| a.text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn streaming_with_tools_refused_falls_back_to_whole_replies_and_remembers() {
    let server = LlmServer::with_script(|_, body| {
        if streams(body) && has_tools(body) {
            return llm_server::error(400, "streaming is not supported with tools");
        }
        let answered = llm_server::messages(body)
            .iter()
            .any(|m| m["role"] == "tool");
        if answered {
            llm_server::whole("charge_card in checkout/payments.py", &[])
        } else {
            llm_server::whole(
                "",
                &[("c1", "search_code", json!({"query": "charge card"}))],
            )
        }
    })
    .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    assert_eq!(tool_names(&events), ["search_code"]);
    assert!(answer(&events).contains("payments.py"));
    let errs = errors(&events);
    assert!(
        errs.iter()
            .any(|(k, m, r)| *k == ErrorKind::Llm && *r && m.contains("non-streaming")),
        "{errs:?}"
    );
    // Refused twice (with and without stream_options), then whole replies only.
    let shapes: Vec<bool> = server.requests().iter().map(|r| streams(&r.body)).collect();
    assert_eq!(shapes, [true, true, false, false], "{shapes:?}");
    assert!(server.requests()[1].body.get("stream_options").is_none());
}

#[tokio::test]
async fn refused_stream_options_are_dropped_and_the_answer_still_streams() {
    let server = LlmServer::with_script(|_, body| {
        if body.get("stream_options").is_some() || body.get("parallel_tool_calls").is_some() {
            // FastAPI's validation error: not OpenAI's error object.
            return Reply::Json {
                code: 422,
                body: json!({"detail": [{"loc": ["body", "stream_options"], "msg": "extra fields not permitted"}]}),
            };
        }
        llm_server::text(&["The card is charged in ", "payments.py."], None)
    })
    .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    assert!(answer(&events).contains("payments.py"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::TokenDelta { text } if text == "payments.py."))
    );
    assert!(server.requests().iter().all(|r| streams(&r.body)));
}

#[tokio::test]
async fn a_json_body_in_reply_to_a_stream_request_is_read_as_a_whole_reply() {
    let server =
        LlmServer::with_script(|_, _| llm_server::whole("Nothing is wrong with checkout.", &[]))
            .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    assert!(answer(&events).contains("Nothing is wrong"));
}

#[tokio::test]
async fn legacy_function_call_deltas_run_the_tool() {
    let server = LlmServer::with_script(|n, _| match n {
        0 => llm_server::chunks(vec![
            json!({"choices":[{"index":0,"delta":{"function_call":{"name":"search_code","arguments":""}}}]}),
            json!({"choices":[{"index":0,"delta":{"function_call":{"arguments":"{\"query\": "}}}]}),
            json!({"choices":[{"index":0,"delta":{"function_call":{"arguments":"\"charge\"}"}}}]}),
            json!({"choices":[{"index":0,"delta":{},"finish_reason":"function_call"}]}),
        ]),
        _ => llm_server::text(&["found it"], None),
    })
    .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    assert_eq!(tool_names(&events), ["search_code"]);
}

#[tokio::test]
async fn tool_calls_written_as_text_are_run_and_said() {
    let server = LlmServer::with_script(|n, _| match n {
        0 => llm_server::text(
            &[
                "I will search.\n<tool_call>\n{\"name\": \"search_code\", ",
                "\"arguments\": {\"query\": \"charge\"}}\n</tool_call>",
            ],
            None,
        ),
        1 => llm_server::text(&["```json\n{\"name\": \"read_file\", \"arguments\": \"{\\\"path\\\": \\\"checkout/payments.py\\\"}\"}\n```"], None),
        _ => llm_server::text(&["charge_card is in checkout/payments.py"], None),
    })
    .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    assert_eq!(tool_names(&events), ["search_code", "read_file"]);
    let errs = errors(&events);
    assert!(
        errs.iter().any(|(_, m, _)| m.contains("as text")),
        "{errs:?}"
    );
    // The model is shown its calls as tool calls, with the tool results after them.
    let msgs = llm_server::messages(&server.requests()[1].body);
    let assistant = msgs.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(
        assistant["tool_calls"][0]["function"]["name"],
        "search_code"
    );
    assert!(msgs.iter().any(|m| m["role"] == "tool"));
}

#[tokio::test]
async fn a_reply_cut_at_the_length_limit_is_answered_and_flagged() {
    let server = LlmServer::with_script(|_, _| {
        llm_server::chunks(vec![
            json!({"choices":[{"index":0,"delta":{"content":"The rollout of checkout-api"}}]}),
            json!({"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}),
        ])
    })
    .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    let errs = errors(&events);
    assert!(
        errs.iter()
            .any(|(_, m, _)| m.contains("finish_reason=length")),
        "{errs:?}"
    );
}

#[tokio::test]
async fn a_prompt_over_the_context_window_fails_with_the_fix() {
    let server = LlmServer::with_script(|_, _| {
        llm_server::error(
            400,
            "the request exceeds the available context size, try increasing it",
        )
    })
    .await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Failed);
    let errs = errors(&events);
    assert!(
        errs.iter()
            .any(|(_, m, r)| !r && m.contains("context window") && m.contains("-c")),
        "{errs:?}"
    );
    // A context error is not a shape problem: no plainer request is tried.
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn empty_replies_are_asked_again_then_reported() {
    let server = LlmServer::with_script(|_, _| llm_server::text(&[], None)).await;
    let events = ask(&server).await;
    assert_eq!(status(&events), TurnStatus::Failed);
    let errs = errors(&events);
    assert!(
        errs.iter().any(|(_, m, r)| !r && m.contains("empty reply")),
        "{errs:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_reply_that_never_ends_is_cut_at_the_reply_limit() {
    // A base model that ignores max_tokens and streams until its window is full.
    let server = LlmServer::with_script(|_, _| Reply::Stream {
        chunks: (0..5000)
            .map(|_| json!({"choices":[{"index":0,"delta":{"content":"and then "}}]}))
            .collect(),
        cut: false,
        delay: std::time::Duration::from_millis(1),
    })
    .await;
    let mut config = llm_config(&server.url);
    config.llm.max_reply_tokens = 32;
    let mut s = start(config, false).await;
    send(
        &s,
        Op::Submit {
            text: "where is the card charged?".into(),
        },
    );
    let events = until_done(&mut s.handle).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    assert!(answer(&events).len() < 200, "{}", answer(&events).len());
    let errs = errors(&events);
    assert!(
        errs.iter()
            .any(|(_, m, _)| m.contains("finish_reason=length")),
        "{errs:?}"
    );
    assert_eq!(server.requests()[0].body["max_tokens"], 32);
}
