//! The static embedding table: distilled from the real sentence model (with its
//! vocabulary cut to the most frequent words so the test distills in seconds), cached,
//! re-distilled when the cached file is damaged, and used by `triage index` and
//! `triage search` end to end.

use std::path::Path;

use triage::llm::static_embed::StaticTable;

use crate::common::{Fixture, test_model_dir};

/// Vocabulary ids kept: specials, unused slots, characters and the ~6,000 most frequent
/// words and word pieces.
const KEEP: u64 = 8000;

/// A model folder with the real weights and a tokenizer whose vocabulary stops at `KEEP`.
fn small_model(into: &Path) {
    let src = test_model_dir();
    for f in ["config.json", "model.safetensors"] {
        std::os::unix::fs::symlink(src.join(f), into.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(src.join("tokenizer.json")).unwrap();
    let mut tok: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vocab = tok["model"]["vocab"].as_object_mut().unwrap();
    vocab.retain(|_, id| id.as_u64().is_some_and(|i| i < KEEP));
    std::fs::write(into.join("tokenizer.json"), tok.to_string()).unwrap();
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn a_distilled_table_ranks_related_code_first_and_is_cached() {
    let model = tempfile::tempdir().unwrap();
    small_model(model.path());
    let cache = tempfile::tempdir().unwrap();
    let table = StaticTable::load_or_distill(model.path(), Some(cache.path())).unwrap();
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");

    let query = "the payment is charged twice when the card is declined".to_string();
    let texts = vec![
        query.clone(),
        "def chargeCard(payment, card):\n    if card.declined:\n        retry_payment(payment)"
            .to_string(),
        "def draw_circle(canvas, radius):\n    canvas.arc(0, 0, radius, color='blue')".to_string(),
    ];
    let v = table.embed(&texts).unwrap();
    assert!(v.iter().all(|x| x.len() == table.dim));
    let (related, unrelated) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    assert!(
        related > unrelated + 0.1,
        "related {related}, unrelated {unrelated}"
    );
    // Words split out of identifiers meet the same words in prose.
    let ident = table
        .embed(&["retryPayment".into(), "retry payment".into()])
        .unwrap();
    assert!(cosine(&ident[0], &ident[1]) > 0.99);

    // The second load reads the cache and gives the same vectors.
    let again = StaticTable::load_or_distill(model.path(), Some(cache.path())).unwrap();
    assert_eq!(again.embed(&texts).unwrap(), v);

    // A damaged cache file is distilled again, not trusted.
    let bytes = std::fs::read(&cached[0]).unwrap();
    std::fs::write(&cached[0], &bytes[..bytes.len() / 2]).unwrap();
    let healed = StaticTable::load_or_distill(model.path(), Some(cache.path())).unwrap();
    assert_eq!(healed.embed(&texts).unwrap(), v);
    assert_eq!(std::fs::read(&cached[0]).unwrap().len(), bytes.len());
}

#[test]
fn index_and_search_use_the_static_table() {
    let model = tempfile::tempdir().unwrap();
    small_model(model.path());
    let cache = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let f = Fixture::shop();
    f.git_init();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(args)
            .current_dir(f.root())
            .env("XDG_CACHE_HOME", cache.path())
            .env("XDG_CONFIG_HOME", state.path().join("config"))
            .env("XDG_STATE_HOME", state.path().join("state"))
            .env("XDG_DATA_HOME", state.path().join("data"))
            .env("TRIAGE_EMBED_PROVIDER", "static")
            .env("TRIAGE_EMBED_MODEL", model.path())
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(out.status.success(), "{args:?}: {stdout}\n{stderr}");
        stdout
    };
    let indexed = run(&["index"]);
    assert!(indexed.contains("static table"), "{indexed}");
    let found = run(&["search", "--json", "bill the customer's credit card"]);
    let json: serde_json::Value = serde_json::from_str(&found).unwrap();
    assert_eq!(json["mode"], "hybrid", "{json:#}");
    assert!(
        cache.path().join("triage/models/static").is_dir(),
        "the table is cached under XDG_CACHE_HOME"
    );
}
