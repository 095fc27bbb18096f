//! The model-driven loop starts from the same diagnosis as the offline planner: for an
//! alert it is offered `diagnose`, the walk's reads show as tool calls, the model
//! receives the ranked causes, and the answer carries the diagnosis's confidence and
//! evidence when the model states none of its own.

use serde_json::{Value, json};
use triage::protocol::{Event, Op, TurnStatus};

use crate::agent::{llm_config, start, status, tool_names, until_done};
use crate::llm_server::{self, LlmServer};

const ALERT: &str = "checkout-api 5xx since 14:05";

fn tool_offered(body: &Value, name: &str) -> bool {
    body["tools"]
        .as_array()
        .is_some_and(|t| t.iter().any(|d| d["function"]["name"] == name))
}

#[tokio::test]
async fn the_model_loop_calls_diagnose_and_its_result_reaches_the_answer() {
    let server = LlmServer::start(vec![
        llm_server::tool_calls(&[("call_d", "diagnose", json!({"alert": ALERT}))], 1),
        llm_server::text(&["The rollout of checkout-api is the likely cause."], None),
    ])
    .await;
    let mut s = start(llm_config(&server.url), true).await;
    s.handle
        .ops
        .send(Op::Submit { text: ALERT.into() })
        .unwrap();
    let events = until_done(&mut s.handle).await;
    assert_eq!(status(&events), TurnStatus::Answered, "{events:?}");

    let requests = server.requests();
    assert!(
        tool_offered(&requests[0].body, "diagnose"),
        "{:?}",
        requests[0].body["tools"]
    );
    // The model called only diagnose: every read of the turn is the walk's, each shown
    // as a tool call of its own (the scan, the target, its pods, events and logs).
    let tools = tool_names(&events);
    assert_eq!(
        tools.first().map(String::as_str),
        Some("kube_findings"),
        "{tools:?}"
    );
    assert!(
        tools.iter().filter(|t| *t == "kube_get").count() >= 3,
        "{tools:?}"
    );
    assert!(tools.iter().any(|t| t == "kube_logs"), "{tools:?}");

    // The model receives the ranked causes with the confidence the rules computed.
    let result = llm_server::messages(&requests[1].body)
        .into_iter()
        .find(|m| m["role"] == "tool" && m["tool_call_id"] == "call_d")
        .and_then(|m| m["content"].as_str().map(str::to_string))
        .unwrap();
    assert!(result.contains("Hypotheses, best first:"), "{result}");
    assert!(result.contains("checkout-api"), "{result}");
    let stated: f32 = result
        .split("Confidence in the first: ")
        .nth(1)
        .and_then(|r| r.get(..4))
        .and_then(|n| n.parse().ok())
        .unwrap();

    // The model stated no confidence: the answer carries the diagnosis's, and its
    // evidence.
    let answer = events
        .iter()
        .find_map(|e| match e {
            Event::TurnComplete { answer, .. } => answer.clone(),
            _ => None,
        })
        .unwrap();
    assert!(
        (answer.confidence - stated).abs() < 0.006,
        "{} vs {stated}",
        answer.confidence
    );
    assert!(!answer.evidence.is_empty());
    assert!(
        answer
            .evidence
            .iter()
            .any(|e| result.contains(&e.reference)),
        "{:?}",
        answer.evidence
    );
}
