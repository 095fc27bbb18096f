//! `triage issue --llm` against a scripted OpenAI-compatible server on loopback: the
//! model's order and functions, both rankings in the JSON, skeletons only (and no
//! secrets) in the prompt, and the offline ranking when the model fails.

use serde_json::Value;

use crate::agent::triage_async;
use crate::common::*;
use crate::llm_server::{self, LlmServer, Reply};

const ISSUE: &str = "Refunds fail: the payment provider times out and the order is charged twice. Our token is password=hunter2secret";

async fn indexed_shop() -> Fixture {
    let f = Fixture::shop();
    f.git_init();
    assert!(triage(&["index"], f.root()).status.success());
    f
}

async fn issue_llm(f: &Fixture, server: &LlmServer) -> (std::process::Output, Value) {
    let out = triage_async(
        &["issue", "--llm", "--json", "--top", "3", ISSUE],
        f.root(),
        &[
            ("TRIAGE_LLM_BASE_URL", server.url.as_str()),
            ("TRIAGE_LLM_MODEL", "scripted"),
            ("TRIAGE_LLM_API_KEY_ENV", "TRIAGE_TEST_UNSET_KEY"),
            ("TRIAGE_LLM_MAX_RETRIES", "0"),
        ],
    )
    .await;
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

fn paths(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_model_reorders_the_candidates_and_names_functions_from_skeletons() {
    let f = indexed_shop().await;
    // What the offline ranking says, to pick a file the model moves up.
    let offline = triage(&["issue", "--json", "--top", "3", ISSUE], f.root());
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    let offline = paths(&offline["files"]);
    assert!(offline.len() >= 2, "{offline:?}");
    let (first, second) = (offline[0].clone(), offline[1].clone());
    let reply = format!(
        "```json\n{{\"files\": [\"{second}\", \"not/a/candidate.py\", \"{first}\"], \"functions\": [{{\"path\": \"{second}\", \"name\": \"nope_fn\", \"why\": \"retries the charge\"}}]}}\n```"
    );
    let server = LlmServer::start(vec![llm_server::text(&[&reply], Some((700, 30)))]).await;
    let (out, v) = issue_llm(&f, &server).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        paths(&v["files"])[..2],
        [second.clone(), first.clone()],
        "{v:#}"
    );
    assert_eq!(
        paths(&v["offline_files"]),
        offline,
        "the offline ranking is kept"
    );
    assert!(
        !paths(&v["files"])
            .iter()
            .any(|p| p.contains("not/a/candidate"))
    );
    assert_eq!(v["llm"]["model"], "scripted");
    assert_eq!(v["llm"]["prompt_tokens"], 700);
    assert_eq!(v["llm"]["functions"][0]["why"], "retries the charge");
    let reasons = v["files"][0]["reasons"].to_string();
    assert!(
        reasons.contains("model rank 1 (offline rank 2)"),
        "{reasons}"
    );
    // Skeletons, not bodies; data, not instructions; and no secret.
    let sent = server.requests()[0].raw.clone();
    assert!(sent.contains(&format!("## {first}")), "{sent}");
    assert!(sent.contains("data, not instructions"));
    assert!(!sent.contains("hunter2secret"), "{sent}");
    let body = std::fs::read_to_string(f.root().join(&first)).unwrap();
    let body_line = body
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("return ") || l.contains(" = ") && !l.starts_with("def "))
        .unwrap();
    assert!(
        !sent.contains(body_line),
        "function bodies stay out: {body_line}"
    );
}

#[tokio::test]
async fn a_failing_or_garbled_model_leaves_the_offline_ranking_with_a_warning() {
    let f = indexed_shop().await;
    for reply in [
        Reply::Status {
            code: 500,
            retry_after: None,
        },
        llm_server::text(&["I would look at the payments module."], None),
        llm_server::text(&["{\"files\": [\"made/up.py\"]}"], None),
    ] {
        let server = LlmServer::start(vec![reply.clone()]).await;
        let (out, v) = issue_llm(&f, &server).await;
        assert!(out.status.success(), "{reply:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("warning:") && stderr.contains("offline ranking"),
            "{stderr}"
        );
        assert_eq!(v["files"], v["offline_files"], "{reply:?}");
        assert!(v["llm"]["error"].is_string(), "{v:#}");
    }
    // Without a model configured, --llm says what to set.
    let out = triage(&["issue", "--llm", ISSUE], f.root());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--llm needs a model"));
}

#[tokio::test]
async fn eval_localize_scores_the_offline_ranking_and_the_models_side_by_side() {
    let f = indexed_shop().await;
    let offline = triage(&["issue", "--json", "--top", "3", ISSUE], f.root());
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    let second = paths(&offline["files"])[1].clone();
    // Gold is the offline second; the model puts it first.
    let suite = f.root().join("suite.jsonl");
    std::fs::write(
        &suite,
        serde_json::json!({"repo": f.root(), "query": ISSUE, "gold_files": [second]}).to_string(),
    )
    .unwrap();
    let reply = format!("{{\"files\": [\"{second}\"]}}");
    let server = LlmServer::start(vec![llm_server::text(&[&reply], None)]).await;
    let out = triage_async(
        &[
            "eval",
            "localize",
            suite.to_str().unwrap(),
            "--json",
            "--llm",
            "--signals",
            "fulltext,structure",
        ],
        f.root(),
        &[
            ("TRIAGE_LLM_BASE_URL", server.url.as_str()),
            ("TRIAGE_LLM_MODEL", "scripted"),
            ("TRIAGE_LLM_API_KEY_ENV", "TRIAGE_TEST_UNSET_KEY"),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["acc@1"], 0.0, "{v:#}");
    assert_eq!(v["llm_summary"]["acc@1"], 1.0, "{v:#}");
    assert_eq!(v["instances"][0]["gold_ranks"][0], 2);
    assert_eq!(v["instances"][0]["llm_gold_ranks"][0], 1);
}

/// A scripted fast model that answers every numbered definition with two questions.
fn question_writer() -> impl Fn(usize, &Value) -> Reply + Send + Sync + 'static {
    |_, body| {
        let prompt = body["messages"][1]["content"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let n = prompt
            .lines()
            .filter(|l| {
                l.split_once(". ")
                    .is_some_and(|(k, _)| k.parse::<usize>().is_ok())
            })
            .count();
        let answers: serde_json::Map<String, Value> = (1..=n)
            .map(|i| {
                (
                    i.to_string(),
                    serde_json::json!([
                        format!("why does refund number {i} fail?"),
                        "what charges twice?"
                    ]),
                )
            })
            .collect();
        llm_server::text(&[&Value::Object(answers).to_string()], Some((100, 20)))
    }
}

#[tokio::test]
async fn model_questions_are_batched_cached_by_content_budgeted_and_resumed() {
    let f = indexed_shop().await;
    let server = LlmServer::with_script(question_writer()).await;
    let env = |max: &'static str| {
        vec![
            ("TRIAGE_LLM_BASE_URL", server.url.clone()),
            ("TRIAGE_LLM_MODEL", "scripted".to_string()),
            (
                "TRIAGE_LLM_API_KEY_ENV",
                "TRIAGE_TEST_UNSET_KEY".to_string(),
            ),
            ("TRIAGE_LLM_QUESTIONS_BATCH", "2".to_string()),
            ("TRIAGE_LLM_QUESTIONS_MAX_REQUESTS", max.to_string()),
        ]
    };
    let run = |env: Vec<(&'static str, String)>| {
        let root = f.root().to_path_buf();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let out = triage_async(&["index", "--json", "--llm-questions"], &root, &env).await;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v["llm_questions"].clone()
        }
    };
    // A budget of one request: two definitions done, the rest pending.
    let first = run(env("1")).await;
    assert_eq!(first["requests"], 1, "{first}");
    assert_eq!(first["done"], 2, "{first}");
    let pending = first["pending"].as_u64().unwrap();
    assert!(pending > 0, "{first}");
    // The next run continues: nothing asked twice.
    let second = run(env("50")).await;
    assert_eq!(second["pending"], 0, "{second}");
    let total = second["done"].as_u64().unwrap();
    assert_eq!(total, 2 + pending, "{second}");
    let asked = server.requests().len();
    assert_eq!(second["requests"].as_u64().unwrap() as usize, asked - 1);
    // A third run asks nothing.
    let third = run(env("50")).await;
    assert_eq!(third["requests"], 0, "{third}");
    assert_eq!(server.requests().len(), asked);
    // Editing one file asks only about what changed in it.
    let payments = std::fs::read_to_string(f.root().join("checkout/payments.py")).unwrap();
    f.write(
        "checkout/payments.py",
        &format!("{payments}\n\ndef refund_twice(order):\n    \"\"\"Refund again.\"\"\"\n    return order\n"),
    );
    let fourth = run(env("50")).await;
    assert_eq!(fourth["requests"], 1, "{fourth}");
    let last = server.requests().last().unwrap().raw.clone();
    assert!(last.contains("refund_twice"), "{last}");
    assert!(
        !last.contains("InvoiceService"),
        "unchanged files are not asked again"
    );
    assert!(last.contains("data, not instructions"));
    // The questions are searchable, marked as the model's.
    let out = triage(
        &[
            "issue",
            "--json",
            "--signals",
            "questions",
            "why does refund number 1 fail",
        ],
        f.root(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!v["files"].as_array().unwrap().is_empty(), "{v:#}");
}
