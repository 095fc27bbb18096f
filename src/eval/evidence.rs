//! `eval localize --evidence`: one JSON line per instance with everything the fusion
//! saw, so fusion settings can be compared without re-indexing: each signal's list
//! (path, strength and the symbols it named, best first), the chunks full text found
//! in order, the weights in force, what the profile says about every indexed file
//! (role, past fixes around it, the source files a test or doc names), and the nearest
//! chunks with their cosine distances; last, the ranking's first files as the product
//! ranked them and the graph's links among them.

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{Value, json};

use super::mine::Instance;
use crate::index::fusion::SignalHits;
use crate::index::graph::FileGraph;
use crate::index::localize::{Signals, gather, parse_issue};
use crate::index::profile::{FixCounts, RepoProfile};
use crate::index::ranking::RankedFile;
use crate::index::signals::{CANDIDATES, Hit};
use crate::index::store::Store;
use crate::llm::embed::Embedder;

/// How many nearest chunks are recorded per instance.
const NEAREST: usize = 60;
/// How many of the ranking's first files are recorded, with the links among them.
const RANKED: usize = 20;

/// One instance's evidence. The issue text is embedded again here, apart from the
/// timed ranking, so `query_ms` stays comparable with runs without `--evidence`.
pub async fn instance_evidence(
    store: &Store,
    embedder: Option<&Embedder>,
    inst: &Instance,
    signals: Signals,
    ranked: &[RankedFile],
) -> Result<Value> {
    let stored = store.load_profile()?;
    let profile = RepoProfile::new(store.file_paths().await?, &stored.gitattributes);
    let parsed = parse_issue(&inst.query);
    let no_vectors = Signals {
        vectors: false,
        ..signals
    };
    let hits = gather(
        store,
        None,
        &inst.query,
        &parsed,
        no_vectors,
        None,
        &profile,
    )
    .await?;
    let fixes = FixCounts::from_counts(stored.fix_counts.clone(), &profile);
    let no_partners = Vec::new();
    let files: BTreeMap<&str, Value> = profile
        .paths()
        .iter()
        .map(|p| {
            let role = profile.role(p);
            let subjects = if role.is_secondary() {
                profile.subjects(p)
            } else {
                Vec::new()
            };
            (
                p.as_str(),
                json!({"role": role.label(), "fixes": fixes.around(p), "subjects": subjects,
                       "partners": stored.partners.get(p).unwrap_or(&no_partners)}),
            )
        })
        .collect();
    let chunks: Vec<Value> = store
        .chunks_matching(&inst.query, CANDIDATES)
        .await?
        .into_iter()
        .map(|c| json!({"path": c.path, "symbol": c.symbol, "kind": c.kind}))
        .collect();
    let mut nearest = Vec::new();
    if let Some(embedder) = embedder.filter(|_| signals.vectors && store.has_vectors())
        && let Some(v) = embedder.embed(vec![inst.query.clone()]).await?.pop()
    {
        for c in store.nearest_chunks(v, NEAREST).await? {
            nearest.push(json!({"path": c.path, "distance": c.distance}));
        }
    }
    // The product's ranking (after partners and the graph step) and the graph's links
    // among its first files, so steps after the fusion can be replayed too.
    let top: Vec<String> = ranked.iter().take(RANKED).map(|f| f.path.clone()).collect();
    let graph = FileGraph::load_around(store, &top).await?;
    let mut links = Vec::new();
    for a in &top {
        for (b, w, kind) in graph.links(a) {
            if top.contains(b) {
                links.push(json!([a, b, w, kind]));
            }
        }
    }
    let ranked: Vec<Value> = ranked
        .iter()
        .take(RANKED)
        .map(|f| json!([f.path, f.score, f.reasons]))
        .collect();
    Ok(json!({
        "query": inst.query,
        "rev": inst.rev,
        "fix": inst.fix,
        "split": inst.split,
        "gold_files": inst.gold_files,
        "weights": stored.weights(),
        "fit": stored.fit,
        "signals": signal_lists(&hits),
        "chunks": chunks,
        "files": files,
        "nearest": nearest,
        "ranked": ranked,
        "links": links,
    }))
}

fn signal_lists(h: &SignalHits) -> Value {
    // Each hit as [path, strength, [[symbol, kind], ...]]: the symbols let the
    // function-level ranking be replayed too.
    let list = |hits: &[Hit]| -> Vec<Value> {
        hits.iter()
            .map(|h| {
                let symbols: Vec<Value> =
                    h.symbols.iter().map(|s| json!([s.name, s.kind])).collect();
                json!([h.path, h.strength, symbols])
            })
            .collect()
    };
    json!({
        "frames": list(&h.frames),
        "paths": list(&h.paths),
        "symbols": list(&h.symbols),
        "fulltext": list(&h.fulltext),
        "files": list(&h.files),
        "questions": list(&h.questions),
        "llm_questions": list(&h.llm_questions),
        "history": list(&h.history),
        "path_words": list(&h.path_words),
    })
}
