//! `index --llm-questions` and `eval localize --llm-questions` against a scripted
//! OpenAI-compatible server on loopback: model questions batched, cached by content,
//! budgeted, resumed after an interruption, scored as their own signal, and never in the
//! way of search.

use std::time::Duration;

use serde_json::Value;

use crate::agent::{triage_async, triage_command};
use crate::common::*;
use crate::llm_server::{self, LlmServer, Reply};
use crate::rerank::{indexed_shop, paths};

/// The numbered definitions of a questions request: (number, symbol, path).
fn asked(body: &Value) -> Vec<(usize, String, String)> {
    let prompt = body["messages"][1]["content"].as_str().unwrap_or("");
    prompt
        .lines()
        .filter_map(|l| {
            let (n, rest) = l.split_once(". ")?;
            let (head, path) = rest.strip_suffix(':')?.rsplit_once(" in ")?;
            let (_kind, symbol) = head.split_once(' ')?;
            Some((n.parse().ok()?, symbol.to_string(), path.to_string()))
        })
        .collect()
}

/// A scripted fast model that answers every numbered definition with `questions(number,
/// symbol, path)`, reporting 100 + 20 tokens per request.
fn question_writer_with(
    questions: impl Fn(usize, &str, &str) -> Vec<String> + Send + Sync + 'static,
) -> impl Fn(usize, &Value) -> Reply + Send + Sync + 'static {
    move |_, body| {
        let answers: serde_json::Map<String, Value> = asked(body)
            .into_iter()
            .map(|(n, symbol, path)| {
                (
                    n.to_string(),
                    serde_json::json!(questions(n, &symbol, &path)),
                )
            })
            .collect();
        llm_server::text(&[&Value::Object(answers).to_string()], Some((100, 20)))
    }
}

/// Two questions per definition.
fn question_writer() -> impl Fn(usize, &Value) -> Reply + Send + Sync + 'static {
    question_writer_with(|i, _, _| {
        vec![
            format!("why does refund number {i} fail?"),
            "what charges twice?".into(),
        ]
    })
}

/// The environment of an `index --llm-questions` run against `server`.
fn questions_env(
    server: &LlmServer,
    extra: &[(&'static str, &str)],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("TRIAGE_LLM_BASE_URL", server.url.clone()),
        ("TRIAGE_LLM_MODEL", "scripted".to_string()),
        (
            "TRIAGE_LLM_API_KEY_ENV",
            "TRIAGE_TEST_UNSET_KEY".to_string(),
        ),
        ("TRIAGE_LLM_MAX_RETRIES", "0".to_string()),
        ("TRIAGE_LLM_QUESTIONS_BATCH", "2".to_string()),
    ];
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

/// `triage index --json --llm-questions`: its `llm_questions` summary.
async fn index_with_questions(root: &std::path::Path, env: &[(&'static str, String)]) -> Value {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = triage_async(&["index", "--json", "--llm-questions"], root, &env).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["llm_questions"].clone()
}

/// `triage issue --json --signals SIGNALS TEXT`, offline.
fn issue_with(root: &std::path::Path, signals: &str, text: &str) -> Value {
    let out = triage(&["issue", "--json", "--signals", signals, text], root);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn search_finds(root: &std::path::Path, query: &str) -> Vec<String> {
    let out = triage(&["search", "--json", query], root);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    paths(&v["files"])
}

#[tokio::test]
async fn model_questions_are_batched_cached_by_content_budgeted_and_resumed() {
    let f = indexed_shop().await;
    let server = LlmServer::with_script(question_writer()).await;
    let env = |max: &str| questions_env(&server, &[("TRIAGE_LLM_QUESTIONS_MAX_REQUESTS", max)]);
    // A budget of one request: two definitions done, the rest pending.
    let first = index_with_questions(f.root(), &env("1")).await;
    assert_eq!(first["requests"], 1, "{first}");
    assert_eq!(first["done"], 2, "{first}");
    assert_eq!(asked(&server.requests()[0].body).len(), 2, "a batch of two");
    let pending = first["pending"].as_u64().unwrap();
    assert!(pending > 0, "{first}");
    assert!(
        first["warnings"].to_string().contains("1 requests per run"),
        "{first}"
    );
    // The next run continues: nothing asked twice.
    let second = index_with_questions(f.root(), &env("50")).await;
    assert_eq!(second["pending"], 0, "{second}");
    let total = second["done"].as_u64().unwrap();
    assert_eq!(total, 2 + pending, "{second}");
    let asked_in_all: usize = server.requests().iter().map(|r| asked(&r.body).len()).sum();
    assert_eq!(asked_in_all as u64, total, "each definition asked once");
    let asked_n = server.requests().len();
    assert_eq!(second["requests"].as_u64().unwrap() as usize, asked_n - 1);
    // A third run asks nothing.
    let third = index_with_questions(f.root(), &env("50")).await;
    assert_eq!(third["requests"], 0, "{third}");
    assert_eq!(third["done"], second["done"], "{third}");
    assert_eq!(server.requests().len(), asked_n);
    // Editing one file asks only about what changed in it; its unchanged definitions
    // come from the cache.
    let payments = std::fs::read_to_string(f.root().join("checkout/payments.py")).unwrap();
    f.write(
        "checkout/payments.py",
        &format!("{payments}\n\ndef refund_twice(order):\n    \"\"\"Refund again.\"\"\"\n    return order\n"),
    );
    let fourth = index_with_questions(f.root(), &env("50")).await;
    assert_eq!(fourth["requests"], 1, "{fourth}");
    assert!(fourth["cached"].as_u64().unwrap() >= 1, "{fourth}");
    let last = server.requests().last().unwrap().clone();
    let last_asked: Vec<String> = asked(&last.body).into_iter().map(|a| a.1).collect();
    assert_eq!(last_asked, ["refund_twice"], "{}", last.raw);
    assert!(last.raw.contains("data, not instructions"));
    // The questions are searchable, marked as the model's: the `llm_questions` signal
    // finds them, the offline `questions` signal does not.
    let issue = |signals: &str| issue_with(f.root(), signals, "why does refund number 1 fail");
    let model = issue("llm_questions");
    assert!(!model["files"].as_array().unwrap().is_empty(), "{model:#}");
    assert!(
        model["files"][0]["reasons"]
            .to_string()
            .contains("model question: why does refund number 1 fail?"),
        "{model:#}"
    );
    let offline = issue("questions").to_string();
    assert!(!offline.contains("refund number"), "{offline}");
}

#[tokio::test]
async fn search_works_while_model_questions_are_written_and_an_interrupted_run_resumes() {
    let f = indexed_shop().await;
    // The first batch is answered; the second never is (until the run is killed).
    let writer = question_writer();
    let server = LlmServer::with_script(move |n, body| {
        if n == 0 {
            writer(n, body)
        } else {
            Reply::Stream {
                chunks: Vec::new(),
                cut: false,
                delay: Duration::from_secs(600),
            }
        }
    })
    .await;
    let env = questions_env(&server, &[("TRIAGE_LLM_READ_TIMEOUT_SECS", "600")]);
    let env_ref: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut run = triage_command(&["index", "--json", "--llm-questions"], f.root(), &env_ref)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait (bounded) for the run to be stuck on its second request.
    for _ in 0..1200 {
        if server.requests().len() >= 2 {
            break;
        }
        assert!(run.try_wait().unwrap().is_none(), "the run ended early");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        server.requests().len(),
        2,
        "the second batch is being asked"
    );
    // Meanwhile, search and issue work, and the first batch is already searchable.
    assert!(search_finds(f.root(), "charge card").contains(&"checkout/payments.py".to_string()));
    let v = issue_with(f.root(), "llm_questions", "why does refund number 1 fail");
    let first_batch: Vec<(usize, String, String)> = asked(&server.requests()[0].body);
    assert_eq!(v["files"][0]["path"], first_batch[0].2.as_str(), "{v:#}");
    // Interrupted mid-request; the next run asks only about what is left.
    run.kill().await.unwrap();
    let server2 = LlmServer::with_script(question_writer()).await;
    let second = index_with_questions(f.root(), &questions_env(&server2, &[])).await;
    assert_eq!(second["pending"], 0, "{second}");
    let asked_again: Vec<(String, String)> = server2
        .requests()
        .iter()
        .flat_map(|r| asked(&r.body))
        .map(|(_, s, p)| (s, p))
        .collect();
    for (_, s, p) in &first_batch {
        assert!(
            !asked_again.contains(&(s.clone(), p.clone())),
            "{s} in {p} was asked again"
        );
    }
    assert_eq!(
        asked_again.len() as u64,
        second["done"].as_u64().unwrap() - first_batch.len() as u64,
        "{second}"
    );
}

#[tokio::test]
async fn a_dead_endpoint_or_a_spent_token_budget_stops_model_questions_and_search_still_works() {
    let f = Fixture::shop();
    // Secrets in code are redacted before any batch is sent.
    f.write(
        "checkout/db.py",
        "def connect_orders_db():\n    \"\"\"Open the orders database.\"\"\"\n    password = \"hunter2secret\"\n    key = \"AKIAZ7Q3M4X8P2L5K9TR\"\n    return (password, key)\n",
    );
    f.git_init();
    assert!(triage(&["index"], f.root()).status.success());
    // A failing endpoint: one request, then the run stops; the index is fine.
    let dead = LlmServer::start(vec![Reply::Status {
        code: 500,
        retry_after: None,
    }])
    .await;
    let q = index_with_questions(f.root(), &questions_env(&dead, &[])).await;
    assert_eq!(
        dead.requests().len(),
        1,
        "no request after the endpoint failed"
    );
    assert_eq!(q["requests"], 1, "{q}");
    assert_eq!(q["done"], 0, "{q}");
    assert!(q["pending"].as_u64().unwrap() > 2, "{q}");
    assert!(
        q["warnings"]
            .to_string()
            .contains("wait for the next run: the model failed"),
        "{q}"
    );
    assert!(search_finds(f.root(), "charge card").contains(&"checkout/payments.py".to_string()));
    // A token budget: 120 tokens per request against a cap of 200 stops after two.
    let server = LlmServer::with_script(question_writer()).await;
    let q = index_with_questions(
        f.root(),
        &questions_env(&server, &[("TRIAGE_LLM_QUESTIONS_MAX_TOKENS", "200")]),
    )
    .await;
    assert_eq!(q["requests"], 2, "{q}");
    assert_eq!(q["tokens"], 240, "{q}");
    assert_eq!(q["done"], 4, "{q}");
    assert!(q["pending"].as_u64().unwrap() > 0, "{q}");
    assert!(
        q["warnings"].to_string().contains("200 tokens per run"),
        "{q}"
    );
    // The rest, and the secret never reaches the server.
    let q = index_with_questions(f.root(), &questions_env(&server, &[])).await;
    assert_eq!(q["pending"], 0, "{q}");
    let log: String = server.requests().iter().map(|r| r.raw.clone()).collect();
    assert!(
        log.contains("connect_orders_db"),
        "the definition was asked about"
    );
    assert!(!log.contains("hunter2secret"), "{log}");
    assert!(!log.contains("AKIAZ7Q3M4X8P2L5K9TR"), "{log}");
    assert!(search_finds(f.root(), "charge card").contains(&"checkout/payments.py".to_string()));
}

#[tokio::test]
async fn identical_definitions_are_asked_about_once() {
    let f = Fixture::empty();
    // Redefinitions: same file, same text, so the same content hash, in two batches.
    f.write(
        "app/handlers.py",
        &"def handle(event):\n    return event\n\n\n".repeat(4),
    );
    f.git_init();
    assert!(triage(&["index"], f.root()).status.success());
    let server = LlmServer::with_script(question_writer()).await;
    let env = questions_env(&server, &[]);
    let q = index_with_questions(f.root(), &env).await;
    assert_eq!(q["requests"], 1, "asked once for all four: {q}");
    assert_eq!(q["done"], 4, "{q}");
    assert_eq!(asked(&server.requests()[0].body).len(), 1);
    // A row of no current definition (an older id scheme) is dropped on the next run.
    let store = triage::index::store::Store::open(&f.location().index_dir)
        .await
        .unwrap();
    store
        .add_questions(&[triage::index::questions::QuestionRow {
            chunk_id: "llm:0123456789abcdef".into(),
            path: "app/handlers.py".into(),
            symbol: Some("handle".into()),
            start_line: 1,
            end_line: 2,
            question: "which widget frobnicates the retired gizmo?".into(),
        }])
        .await
        .unwrap();
    let stale = |root| issue_with(root, "llm_questions", "widget frobnicates gizmo").to_string();
    assert!(stale(f.root()).contains("retired gizmo"));
    let again = index_with_questions(f.root(), &env).await;
    assert_eq!(again["requests"], 0, "{again}");
    assert_eq!(again["done"], 4, "{again}");
    assert!(!stale(f.root()).contains("retired gizmo"));
}

#[tokio::test]
async fn eval_localize_writes_model_questions_and_scores_them_as_their_own_signal() {
    let f = Fixture::shop();
    f.git_init();
    let suite = f.root().join("suite.jsonl");
    std::fs::write(
        &suite,
        serde_json::json!({"repo": f.root(), "query": "a customer was billed two times", "gold_files": ["checkout/payments.py"]}).to_string(),
    )
    .unwrap();
    let server = LlmServer::with_script(question_writer_with(|_, symbol, _| {
        if symbol == "charge_card" {
            vec!["why was a customer billed two times?".into()]
        } else {
            vec![format!("what does {symbol} do?")]
        }
    }))
    .await;
    let eval = |signals: &'static str| {
        let url = server.url.clone();
        let suite = suite.clone();
        let root = f.root().to_path_buf();
        async move {
            triage_async(
                &[
                    "eval",
                    "localize",
                    suite.to_str().unwrap(),
                    "--json",
                    "--llm-questions",
                    "--signals",
                    signals,
                ],
                &root,
                &[
                    ("TRIAGE_LLM_BASE_URL", url.as_str()),
                    ("TRIAGE_LLM_MODEL", "scripted"),
                    ("TRIAGE_LLM_API_KEY_ENV", "TRIAGE_TEST_UNSET_KEY"),
                ],
            )
            .await
        }
    };
    let out = eval("llm_questions").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"][0]["gold_ranks"][0], 1, "{v:#}");
    assert_eq!(v["instances"][0]["llm_questions_pending"], 0, "{v:#}");
    assert_eq!(v["llm_questions"]["model"], "scripted");
    assert!(
        v["llm_questions"]["requests"].as_u64().unwrap() >= 1,
        "{v:#}"
    );
    assert_eq!(v["summary"]["signals"]["llm_questions"], true);
    // Writing questions that the chosen signals would not use is refused.
    let asked = server.requests().len();
    let out = eval("fulltext,questions").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("add llm_questions to --signals"));
    assert_eq!(server.requests().len(), asked);
}
