//! `triage issue --llm` and `eval localize --llm` against a scripted OpenAI-compatible
//! server on loopback: the model's order and functions, both rankings in the JSON,
//! skeletons only (and no secrets) in the prompt, the offline ranking when the model
//! fails or times out.

use std::time::Duration;

use serde_json::Value;

use crate::agent::triage_async;
use crate::common::*;
use crate::llm_server::{self, LlmServer, Reply};

const ISSUE: &str = "Refunds fail: the payment provider times out and the order is charged twice. Our token is password=hunter2secret";

pub(crate) async fn indexed_shop() -> Fixture {
    let f = Fixture::shop();
    f.git_init();
    assert!(triage(&["index"], f.root()).status.success());
    f
}

async fn issue_llm(
    f: &Fixture,
    server: &LlmServer,
    extra_env: &[(&str, &str)],
) -> (std::process::Output, Value) {
    let mut env = vec![
        ("TRIAGE_LLM_BASE_URL", server.url.as_str()),
        ("TRIAGE_LLM_MODEL", "scripted"),
        ("TRIAGE_LLM_API_KEY_ENV", "TRIAGE_TEST_UNSET_KEY"),
        ("TRIAGE_LLM_MAX_RETRIES", "0"),
    ];
    env.extend_from_slice(extra_env);
    let out = triage_async(
        &["issue", "--llm", "--json", "--top", "3", ISSUE],
        f.root(),
        &env,
    )
    .await;
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out, v)
}

pub(crate) fn paths(v: &Value) -> Vec<String> {
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
    let (out, v) = issue_llm(&f, &server, &[]).await;
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
        // A line inside a function (indented), not a top-level constant, which the
        // skeleton shows as a definition.
        .filter(|l| l.starts_with(char::is_whitespace))
        .map(str::trim)
        .find(|l| l.starts_with("return ") || l.contains(" = "))
        .unwrap();
    assert!(
        !sent.contains(body_line),
        "function bodies stay out: {body_line}"
    );
}

#[tokio::test]
async fn a_failing_or_garbled_model_leaves_the_offline_ranking_with_a_warning() {
    let f = indexed_shop().await;
    // A model that never sends its answer: no chunk within the read timeout.
    let silent = Reply::Stream {
        chunks: vec![serde_json::json!({"choices":[{"index":0,"delta":{"content":"{}"}}]})],
        cut: false,
        delay: Duration::from_secs(600),
    };
    for (reply, why) in [
        (
            Reply::Status {
                code: 500,
                retry_after: None,
            },
            "500",
        ),
        (Reply::Garbage, "not a chat completion"),
        (
            llm_server::text(&["I would look at the payments module."], None),
            "did not reply with JSON",
        ),
        (
            llm_server::text(&["{\"files\": [\"made/up.py\"]}"], None),
            "named none of the",
        ),
        (silent, "no chunk from"),
    ] {
        let server = LlmServer::start(vec![reply.clone()]).await;
        let (out, v) = issue_llm(&f, &server, &[("TRIAGE_LLM_READ_TIMEOUT_SECS", "1")]).await;
        assert!(out.status.success(), "{reply:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("warning:") && stderr.contains("offline ranking"),
            "{stderr}"
        );
        assert!(stderr.contains(why), "{why}: {stderr}");
        assert_eq!(v["files"], v["offline_files"], "{reply:?}");
        assert!(!paths(&v["files"]).is_empty(), "the offline answer stands");
        assert!(v["llm"]["error"].as_str().unwrap().contains(why), "{v:#}");
        assert_eq!(server.requests().len(), 1, "{reply:?}");
    }
    // Without a model configured, --llm says what to set.
    let out = triage(&["issue", "--llm", ISSUE], f.root());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--llm needs a model"));
}

#[tokio::test]
async fn eval_localize_scores_the_offline_ranking_and_the_models_side_by_side() {
    let f = indexed_shop().await;
    let offline = triage(
        &[
            "issue",
            "--json",
            "--top",
            "3",
            "--signals",
            "fulltext,structure",
            ISSUE,
        ],
        f.root(),
    );
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap();
    let second = paths(&offline["files"])[1].clone();
    // Gold is the offline second; the model puts it first. The suite lives outside the
    // repository, so it is not indexed with it.
    let suite_dir = tempfile::tempdir().unwrap();
    let suite = suite_dir.path().join("suite.jsonl");
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
