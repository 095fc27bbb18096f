//! Memory recall: 500 memories (corrections, episodes, runbooks over 25 services), then
//! 50 recalls, by scope and words only, and with vectors from the test sentence model
//! (`$TRIAGE_TEST_MODEL`, default `~/.cache/triage-models/all-MiniLM-L6-v2`). Prints
//! p50/p95 of one recall and the time to write the 500 memories.
//!
//! Run: `cargo bench --bench memory` (add `--profile dev` to reuse the debug build).

// A measurement harness: a failed setup step may panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use triage::memory::{Memory, MemoryKind, RecallQuery, Scope};

const MEMORIES: usize = 500;
const QUERIES: usize = 50;

fn memories() -> Vec<Memory> {
    let causes = [
        "consumer lag after the nightly analytics backfill; leave it alone",
        "5xx after a rollout that needs a new setting; roll back",
        "OOMKilled while loading a large batch; raise the limit or shrink the batch",
        "pods pending: the node group is at its maximum",
        "connection refused to the database after a failover",
    ];
    (0..MEMORIES)
        .map(|i| {
            let kind = [
                MemoryKind::Correction,
                MemoryKind::Episodic,
                MemoryKind::Procedural,
            ][i % 3];
            let service = format!("svc-{}", i % 25);
            let mut m = Memory::new(
                kind,
                format!("{service}: {} (case {i})", causes[i % causes.len()]),
                Scope {
                    service: Some(service),
                    namespace: Some("shop".into()),
                    ..Scope::default()
                },
                "bench",
            );
            m.id = format!("m-{i:04}");
            m
        })
        .collect()
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

async fn run(label: &str, vectors: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = triage::config::Config::default();
    config.memory.uri = Some(dir.path().join("m").display().to_string());
    config.memory.vectors = vectors;
    config.embed.provider = triage::config::EmbedProvider::Local;
    config.embed.model_dir = Some(
        std::env::var_os("TRIAGE_TEST_MODEL")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                dirs::home_dir()
                    .unwrap()
                    .join(".cache/triage-models/all-MiniLM-L6-v2")
            }),
    );
    let store = triage::memory::open(&config).await.unwrap();
    let all = memories();
    let t = Instant::now();
    for chunk in all.chunks(50) {
        store.upsert(chunk).await.unwrap();
    }
    let write = t.elapsed();
    // The first recall loads nothing new (the model loaded with the first write).
    let mut times = Vec::new();
    for i in 0..QUERIES {
        let q = RecallQuery {
            text: format!("svc-{} kafka backlog every evening", i % 25),
            scope: Scope {
                namespace: Some("shop".into()),
                ..Scope::default()
            },
        };
        let t = Instant::now();
        let hits = store.recall(&q, 5).await.unwrap();
        times.push(t.elapsed());
        assert!(!hits.is_empty());
    }
    println!(
        "{label:<22} write {MEMORIES}: {:>7.0} ms   recall p50 {:>6.1} ms  p95 {:>6.1} ms",
        write.as_secs_f64() * 1000.0,
        pct(times.clone(), 0.5),
        pct(times, 0.95)
    );
}

#[tokio::main]
async fn main() {
    run("scope + words", false).await;
    run("scope + words + vectors", true).await;
}
