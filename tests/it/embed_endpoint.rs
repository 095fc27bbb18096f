//! Embeddings from an OpenAI-compatible `/embeddings` endpoint, served on loopback.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use serde_json::{Value, json};
use triage::index::store::{IndexTable, Store};

use crate::common::*;

const DIM: usize = 16;

#[derive(Clone, Default)]
struct Endpoint {
    requests: Arc<AtomicUsize>,
    inputs: Arc<AtomicUsize>,
    /// Requests after this many fail with 500 (usize::MAX: never).
    fail_after: Arc<AtomicUsize>,
}

/// A bag-of-words vector: deterministic, and similar texts get similar vectors.
fn vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let h = blake3::hash(w.to_lowercase().as_bytes());
        v[h.as_bytes()[0] as usize % DIM] += 1.0;
    }
    v
}

async fn embeddings(
    State(ep): State<Endpoint>,
    Json(req): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let n = ep.requests.fetch_add(1, Ordering::SeqCst);
    if n >= ep.fail_after.load(Ordering::SeqCst) {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"message": "model crashed", "type": "server_error"}})),
        );
    }
    let inputs: Vec<String> = match &req["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": {"message": "bad input"}})),
            );
        }
    };
    ep.inputs.fetch_add(inputs.len(), Ordering::SeqCst);
    // Some servers (Ollama, llama.cpp) omit `usage` and `object`; leave them out.
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev() // out of order on purpose: clients must sort by index
        .map(|(i, t)| json!({"index": i, "object": "embedding", "embedding": vector(t)}))
        .collect();
    (
        StatusCode::OK,
        Json(json!({"object": "list", "model": req["model"], "data": data})),
    )
}

async fn serve(ep: Endpoint) -> String {
    let app = Router::new()
        .route("/v1/embeddings", post(embeddings))
        .with_state(ep);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/v1")
}

fn openai_config(base: &str) -> triage::config::Config {
    let mut c = triage::config::Config::default();
    c.embed.provider = triage::config::EmbedProvider::Openai;
    c.embed.base_url = Some(base.to_string());
    c.embed.model = "test-embed".into();
    c.embed.batch_size = 4;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_and_search_with_an_openai_compatible_endpoint() {
    let ep = Endpoint::default();
    ep.fail_after.store(usize::MAX, Ordering::SeqCst);
    let base = serve(ep.clone()).await;
    let f = Fixture::shop();
    let loc = f.location();
    let cfg = openai_config(&base);
    let s = index(&loc, &cfg).await;
    assert_eq!(
        s.warnings,
        vec!["not a git repository: history features are off"]
    );
    assert_eq!(s.embeddings.embedder.as_deref(), Some("openai:test-embed"));
    assert_eq!((s.embeddings.embedded, s.embeddings.pending), (s.chunks, 0));
    // One probe for the vector size, then every chunk once.
    assert_eq!(ep.inputs.load(Ordering::SeqCst), s.chunks + 1);

    let store = Store::open(&loc.index_dir).await.unwrap();
    assert_eq!(store.meta.embedder.as_ref().unwrap().dim, DIM);
    // The embedder the index recorded, as search and issue load it.
    let embedder = triage::index::embedder_for(&store, &cfg)
        .await
        .unwrap()
        .unwrap();
    let r = triage::index::search(&store, Some(&embedder), "invoice service order", 3)
        .await
        .unwrap();
    assert_eq!(r.mode, "hybrid");
    let java = r
        .files
        .iter()
        .take(2)
        .find(|f| f.path.ends_with("InvoiceService.java"))
        .unwrap_or_else(|| panic!("{:#?}", r.files));
    assert!(
        java.reasons.iter().any(|x| x.starts_with("semantic:")),
        "{:?}",
        java.reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_never_loses_the_lexical_index() {
    let ep = Endpoint::default();
    // The size probe and two batches of two succeed, then the model falls over.
    ep.fail_after.store(3, Ordering::SeqCst);
    let base = serve(ep.clone()).await;
    let f = Fixture::shop();
    let loc = f.location();
    let mut cfg = openai_config(&base);
    cfg.embed.batch_size = 2;
    let s = index(&loc, &cfg).await;
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("embedding stopped") && w.contains("500")),
        "{:?}",
        s.warnings
    );
    assert_eq!(s.files.indexed, SHOP_FILES.len());
    assert_eq!(s.embeddings.embedded, 4, "{:?}", s.embeddings);
    assert_eq!(s.embeddings.pending, s.chunks - 4);
    let store = Store::open(&loc.index_dir).await.unwrap();
    let r = triage::index::search(&store, None, "charge_card", 3)
        .await
        .unwrap();
    assert_eq!(r.files[0].path, "checkout/payments.py");

    // The endpoint recovers: the next run finishes the rest only.
    ep.fail_after.store(usize::MAX, Ordering::SeqCst);
    let before = ep.inputs.load(Ordering::SeqCst);
    let s2 = index(&loc, &cfg).await;
    assert!(
        !s2.warnings.iter().any(|w| w.contains("embedding")),
        "{:?}",
        s2.warnings
    );
    assert_eq!(s2.embeddings.pending, 0);
    assert_eq!(
        ep.inputs.load(Ordering::SeqCst) - before,
        s.embeddings.pending
    );

    // Unreachable from the start: lexical index, with a warning that says why.
    let f2 = Fixture::shop();
    let s = index(&f2.location(), &openai_config("http://127.0.0.1:9/v1")).await;
    assert!(
        s.warnings.iter().any(|w| w.contains("embeddings off")),
        "{:?}",
        s.warnings
    );
    assert_eq!(s.files.indexed, SHOP_FILES.len());
}

/// A Python module of `n` functions, each long enough to be its own chunk; `edited`
/// changes the body of the function with that index.
fn module(n: usize, edited: Option<usize>) -> String {
    let mut s = String::from("\"\"\"Billing helpers.\"\"\"\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "def step_{i}(order):\n    \"\"\"Step {i} of billing.\"\"\"\n"
        ));
        for l in 0..10 {
            let op = if edited == Some(i) { "-" } else { "+" };
            s.push_str(&format!("    order.total = order.total {op} {l}\n"));
        }
        s.push_str("    return order\n\n\n");
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_file_embeds_only_the_chunks_whose_text_changed() {
    let ep = Endpoint::default();
    ep.fail_after.store(usize::MAX, Ordering::SeqCst);
    let base = serve(ep.clone()).await;
    let f = Fixture::shop();
    f.write("billing/steps.py", &module(6, None));
    let loc = f.location();
    let cfg = openai_config(&base);
    let first = index(&loc, &cfg).await;
    assert_eq!(first.embeddings.pending, 0);
    let store = Store::open(&loc.index_dir).await.unwrap();
    let in_file = store
        .count_where(IndexTable::Chunks, "path = 'billing/steps.py'".into())
        .await
        .unwrap();
    assert!(in_file >= 6, "{in_file} chunks");

    // One function's body changes: only its chunk is sent to the model again.
    f.write("billing/steps.py", &module(6, Some(3)));
    let before = ep.inputs.load(Ordering::SeqCst);
    let second = index(&loc, &cfg).await;
    assert_eq!(second.files.parsed, 1);
    assert_eq!(second.embeddings.embedded, 1, "{:?}", second.embeddings);
    assert_eq!(second.embeddings.reused, in_file - 1);
    assert_eq!(second.embeddings.pending, 0);
    assert_eq!(ep.inputs.load(Ordering::SeqCst) - before, 1);
    // Every chunk of the file has a vector, and search still finds the edited one.
    assert_eq!(
        store
            .count_where(
                IndexTable::Chunks,
                "path = 'billing/steps.py' AND vector IS NOT NULL".into()
            )
            .await
            .unwrap(),
        in_file
    );

    // Renaming the file changes what is embedded (the path is part of it).
    std::fs::rename(
        f.root().join("billing/steps.py"),
        f.root().join("billing/stages.py"),
    )
    .unwrap();
    let third = index(&loc, &cfg).await;
    assert_eq!(third.embeddings.reused, 0);
    assert_eq!(third.embeddings.embedded, in_file);
}
