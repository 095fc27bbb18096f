//! triage's agent with an MCP server from the user's config: a real server on the
//! official Python SDK (tests/fixtures/mcp/tools_server.py). Its read-only tool runs in
//! an investigation like triage's own, redacted; a tool not marked read-only is an
//! action (proposed, refused in read-only mode, run after approval with writes allowed,
//! audited); servers that fail to start, break the protocol, exit mid-call or never
//! answer each give a clear error and the investigation goes on.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use triage::config::{Config, McpServerConfig};
use triage::protocol::{
    ActionClass, ApprovalScope, Decision, ErrorKind, Event, Op, ToolStatus, TurnStatus,
};

use crate::agent::{
    approve, approve_and_run, approve_for, next_event, reject, send, start, status, until_done,
};
use crate::common::*;
use crate::llm_server::{self, LlmServer};
use crate::mcp::{GH, fixture, python_sdk};

fn fixture_server(name: &str, marker: &Path) -> McpServerConfig {
    McpServerConfig {
        name: name.into(),
        command: Some("python3".into()),
        args: vec![fixture("tools_server.py").display().to_string()],
        env: [
            ("PYTHONPATH".to_string(), python_sdk()),
            ("FIXTURE_MARKER".to_string(), marker.display().to_string()),
        ]
        .into(),
        ..Default::default()
    }
}

fn config(url: &str, servers: Vec<McpServerConfig>) -> Config {
    let mut c = scripted_config(url);
    c.llm.read_timeout_secs = 10;
    c.mcp.servers = servers;
    c
}

/// A model that makes each call in turn (one per request), then answers.
async fn model_calling(calls: Vec<(&'static str, Value)>) -> LlmServer {
    LlmServer::with_script(move |n, _| match calls.get(n) {
        Some((name, args)) => {
            llm_server::tool_calls(&[(&format!("call{n}"), name, args.clone())], 2)
        }
        None => llm_server::text(&["Done."], None),
    })
    .await
}

fn finished(events: &[Event], tool: &str) -> Vec<(ToolStatus, String, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ToolCallFinished {
                tool: t,
                status,
                summary,
                duration_ms,
                ..
            } if t == tool => Some((*status, summary.clone(), *duration_ms)),
            _ => None,
        })
        .collect()
}

fn tool_message(body: &Value) -> String {
    llm_server::messages(body)
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_read_only_mcp_tool_runs_inside_an_investigation_and_is_redacted() {
    let marker = tempfile::NamedTempFile::new().unwrap();
    let model = model_calling(vec![(
        "mcp__metrics__latency_p99",
        json!({"service": "checkout-api"}),
    )])
    .await;
    let mut s = start(
        config(&model.url, vec![fixture_server("metrics", marker.path())]),
        false,
    )
    .await;
    send(
        &s,
        Op::Submit {
            text: "checkout-api is slow".into(),
        },
    );
    let events = until_done(&mut s.handle).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    // Shown live like any other call, with the command a person would use.
    let started = events.iter().find_map(|e| match e {
        Event::ToolCallStarted { tool, command, .. } if tool == "mcp__metrics__latency_p99" => {
            Some(command.clone())
        }
        _ => None,
    });
    assert_eq!(
        started.as_deref(),
        Some(r#"mcp metrics/latency_p99 '{"service":"checkout-api"}'"#)
    );
    let done = finished(&events, "mcp__metrics__latency_p99");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0, ToolStatus::Ok, "{done:?}");

    let requests = model.requests();
    // Offered namespaced, with the changing tools flagged as proposals.
    let offered = &requests[0].body["tools"];
    let describe = |name: &str| -> String {
        offered
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["function"]["name"] == name)
            .map(|t| t["function"]["description"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name} not offered: {offered}"))
    };
    assert!(!describe("mcp__metrics__latency_p99").contains("proposes"));
    assert!(describe("mcp__metrics__restart_service").contains("only proposes"));
    assert!(describe("mcp__metrics__page_owner").contains("only proposes"));
    // The model saw the result, without the token in it.
    let result = tool_message(&requests[1].body);
    assert!(result.contains("p99 2350 ms"), "{result}");
    assert!(result.contains("REDACTED"), "{result}");
    for r in &requests {
        assert!(!r.raw.contains(GH), "the token reached the model");
    }
}

/// The changing tools, called by the model; the proposals they became.
async fn propose_changes(read_only: bool, marker: &Path) -> (crate::agent::Setup, Vec<u64>) {
    let model = model_calling(vec![
        (
            "mcp__ops__restart_service",
            json!({"service": "checkout-api"}),
        ),
        (
            "mcp__ops__page_owner",
            json!({"service": "checkout-api", "message": "5xx"}),
        ),
    ])
    .await;
    let mut cfg = config(&model.url, vec![fixture_server("ops", marker)]);
    cfg.agent.read_only = read_only;
    let mut s = start(cfg, false).await;
    send(
        &s,
        Op::Submit {
            text: "checkout-api 5xx since 14:05".into(),
        },
    );
    let events = until_done(&mut s.handle).await;
    assert_eq!(status(&events), TurnStatus::Answered);
    let proposals: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::ActionProposed { action } => Some(action.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(proposals.len(), 2, "{events:?}");
    for p in &proposals {
        assert_eq!(p.class, ActionClass::Write);
        assert!(
            p.class_reason.contains("readOnlyHint"),
            "{}",
            p.class_reason
        );
        assert_eq!(p.blocked_by_read_only, read_only);
    }
    assert!(proposals[0].command.starts_with("mcp ops/restart_service "));
    // Proposing ran nothing.
    assert_eq!(std::fs::read_to_string(marker).unwrap_or_default(), "");
    std::mem::forget(model);
    (s, proposals.iter().map(|p| p.id).collect())
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one approval flow checked step by step
async fn a_changing_mcp_tool_is_an_action_refused_read_only_and_run_after_approval() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");

    // Read-only mode: approved, refused, not run; an edit is refused too.
    let (mut s, ids) = propose_changes(true, &marker).await;
    match approve(&mut s, ids[0]).await {
        Decision::Refused { why } => assert!(why.contains("--write"), "{why}"),
        other => panic!("{other:?}"),
    }
    send(
        &s,
        Op::EditAction {
            action: ids[1],
            command: "mcp ops/page_owner '{}'".into(),
        },
    );
    match next_event(&mut s.handle).await {
        Event::Error {
            kind: ErrorKind::Action,
            message,
            ..
        } => {
            assert!(message.contains("cannot be edited"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&marker).unwrap_or_default(), "");

    // Writes allowed: it runs after approval, and only the approved one.
    let (mut s, ids) = propose_changes(false, &marker).await;
    let (exit_code, stdout) = approve_and_run(&mut s, ids[0]).await;
    assert_eq!(exit_code, Some(0));
    assert!(stdout.contains("restarted checkout-api"), "{stdout}");
    reject(&mut s, ids[1], "the owners are already on the bridge").await;
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "restarted checkout-api\n"
    );

    let audit = std::fs::read_to_string(s._state.path().join("audit.jsonl")).unwrap();
    let records: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ran = records
        .iter()
        .find(|r| r["execution"].is_object())
        .expect("the run is audited");
    assert!(
        ran["command"].as_str().unwrap().contains("restart_service"),
        "{ran}"
    );
    assert_eq!(ran["class"], "write");
    assert!(
        ran["execution"]["stdout"]
            .as_str()
            .unwrap()
            .contains("restarted")
    );
    assert!(
        records
            .iter()
            .any(|r| r["command"].as_str().unwrap().contains("page_owner")
                && r["decision"]["decision"] == "rejected")
    );
}

#[tokio::test]
async fn failing_mcp_servers_give_clear_errors_and_the_investigation_goes_on() {
    let marker = tempfile::NamedTempFile::new().unwrap();
    let model = model_calling(vec![
        ("mcp__flaky__hang", json!({})),
        ("mcp__flaky__garble", json!({})),
        ("mcp__flaky__crash", json!({})),
        (
            "mcp__flaky__latency_p99",
            json!({"service": "checkout-api"}),
        ),
        ("search_code", json!({"query": "charge_card"})),
    ])
    .await;
    let mut flaky = fixture_server("flaky", marker.path());
    flaky.timeout_secs = Some(2);
    let broken = McpServerConfig {
        name: "broken".into(),
        command: Some("python3".into()),
        args: vec![
            "-c".into(),
            "import sys; sys.exit('boom: no metrics backend configured')".into(),
        ],
        ..Default::default()
    };
    let missing = McpServerConfig {
        name: "missing".into(),
        command: Some("triage-test-no-such-mcp-server".into()),
        ..Default::default()
    };
    let t0 = Instant::now();
    let mut s = start(config(&model.url, vec![broken, flaky, missing]), false).await;
    send(
        &s,
        Op::Submit {
            text: "checkout-api 5xx".into(),
        },
    );
    let events = until_done(&mut s.handle).await;
    assert_eq!(status(&events), TurnStatus::Answered, "{events:?}");
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );

    let errors: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Error {
                kind: ErrorKind::Tool,
                message,
                recoverable: true,
            } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        errors
            .iter()
            .any(|m| m.contains("`broken` did not start") && m.contains("boom")),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|m| m.contains("`missing` did not start")
            && m.contains("triage-test-no-such-mcp-server")),
        "{errors:?}"
    );
    let hang = finished(&events, "mcp__flaky__hang");
    assert_eq!(hang[0].0, ToolStatus::TimedOut, "{hang:?}");
    let garble = finished(&events, "mcp__flaky__garble");
    assert_eq!(garble[0].0, ToolStatus::Error, "{garble:?}");
    assert!(garble[0].1.contains("broke the protocol"), "{garble:?}");
    assert!(
        garble[0].2 < 1500,
        "waited {} ms for a broken answer",
        garble[0].2
    );
    let crash = finished(&events, "mcp__flaky__crash");
    assert_eq!(crash[0].0, ToolStatus::Error, "{crash:?}");
    assert!(crash[0].1.contains("exited"), "{crash:?}");
    let after = finished(&events, "mcp__flaky__latency_p99");
    assert!(after[0].1.contains("exited"), "{after:?}");
    assert_eq!(finished(&events, "search_code")[0].0, ToolStatus::Ok);
}

#[tokio::test]
async fn servers_come_from_the_user_config_never_from_the_repository() {
    let repo = Fixture::shop();
    let evil_marker = repo.root().join("evil-ran");
    repo.write(
        ".triage.toml",
        &format!(
            "[[mcp.servers]]\nname = \"evil\"\ncommand = \"sh\"\nargs = [\"-c\", \"touch {}\"]\n",
            evil_marker.display()
        ),
    );
    repo.git_init();
    repo.write(
        ".xdg-config/triage/config.toml",
        &format!(
            "[[mcp.servers]]\nname = \"metrics\"\ncommand = \"python3\"\nargs = [{:?}]\nenv = {{ PYTHONPATH = {:?}, FIXTURE_MARKER = \"/dev/null\" }}\n",
            fixture("tools_server.py").display().to_string(),
            python_sdk()
        ),
    );
    let model = LlmServer::start(vec![llm_server::text(&["Nothing to see."], None)]).await;
    let out = crate::agent::triage_async(
        &["ask", "--json", "what calls charge_card?"],
        repo.root(),
        &[
            ("OPENAI_BASE_URL", &model.url),
            ("OPENAI_MODEL", "scripted"),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let offered = model.requests()[0].body["tools"].to_string();
    assert!(offered.contains("mcp__metrics__latency_p99"), "{offered}");
    assert!(!offered.contains("mcp__evil"), "{offered}");
    assert!(
        !evil_marker.exists(),
        "a repository's config started a server"
    );
}

/// The proposals of one turn's events.
fn proposed(events: &[Event]) -> Vec<triage::protocol::ProposedAction> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ActionProposed { action } => Some(action.clone()),
            _ => None,
        })
        .collect()
}

/// Turn 1 restarts checkout-api; turn 2 asks for the same restart, then another service's.
async fn restarts_over_two_turns() -> LlmServer {
    let restart = |service: &str| ("mcp__ops__restart_service", json!({ "service": service }));
    let script = [
        Some(restart("checkout-api")),
        None,
        Some(restart("checkout-api")),
        Some(restart("payments")),
        None,
    ];
    LlmServer::with_script(move |n, _| match script.get(n).cloned().flatten() {
        Some((name, args)) => llm_server::tool_calls(&[(&format!("call{n}"), name, args)], 2),
        None => llm_server::text(&["Done."], None),
    })
    .await
}

#[tokio::test]
async fn a_changing_call_approved_for_the_session_runs_again_without_asking_and_only_that_call() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker");
    let model = restarts_over_two_turns().await;
    let mut cfg = config(&model.url, vec![fixture_server("ops", &marker)]);
    cfg.agent.read_only = false;
    let mut s = start(cfg, false).await;

    send(
        &s,
        Op::Submit {
            text: "checkout-api 5xx since 14:05".into(),
        },
    );
    let first = proposed(&until_done(&mut s.handle).await);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].preapproved_by, None);
    let decision = approve_for(&mut s, first[0].id, ApprovalScope::Session).await;
    assert!(
        matches!(
            decision,
            Decision::Approved {
                scope: ApprovalScope::Session
            }
        ),
        "{decision:?}"
    );
    assert!(matches!(
        next_event(&mut s.handle).await,
        Event::ActionOutput {
            exit_code: Some(0),
            ..
        }
    ));

    send(
        &s,
        Op::Submit {
            text: "it is failing again".into(),
        },
    );
    let mut events = until_done(&mut s.handle).await;
    // The covered call is decided by the session's approval, in order with the user's
    // own decisions; give it the time to run.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !events
        .iter()
        .any(|e| matches!(e, Event::ActionOutput { .. }))
        && Instant::now() < deadline
    {
        events.push(next_event(&mut s.handle).await);
    }
    let second = proposed(&events);
    assert_eq!(second.len(), 2, "{second:?}");
    let same = second
        .iter()
        .find(|p| p.command.contains("checkout-api"))
        .unwrap();
    let other = second
        .iter()
        .find(|p| p.command.contains("payments"))
        .unwrap();
    assert_eq!(same.preapproved_by, Some(first[0].id));
    assert_eq!(other.preapproved_by, None, "another call is not covered");
    let decided: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            Event::ActionDecided {
                action,
                decision: Decision::Approved { .. },
                ..
            } => Some(*action),
            _ => None,
        })
        .collect();
    assert_eq!(decided, vec![same.id], "{events:?}");
    assert_eq!(
        std::fs::read_to_string(&marker).unwrap(),
        "restarted checkout-api\nrestarted checkout-api\n",
        "the covered call ran again, the uncovered one waits"
    );

    let audit = std::fs::read_to_string(s._state.path().join("audit.jsonl")).unwrap();
    let again = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["action"] == same.id && r["execution"].is_object())
        .expect("the pre-approved run is audited");
    assert_eq!(again["preapproved_by"], first[0].id, "{again}");
}
