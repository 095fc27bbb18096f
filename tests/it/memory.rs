//! `triage memory`: add, list, edit, forget, export/import round trip, bad input, and a
//! corrupt database that is reported rather than reset.

use serde_json::Value;

use crate::common::*;

pub(crate) fn mem(
    args: &[&str],
    cwd: &std::path::Path,
    uri: &std::path::Path,
) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .arg("memory")
        .args(args)
        .current_dir(cwd)
        .env("XDG_CONFIG_HOME", cwd.join(".xdg-config"))
        .env("TRIAGE_MEMORY_URI", uri)
        .output()
        .unwrap()
}

pub(crate) fn stdout(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn memories_can_be_added_edited_exported_imported_and_forgotten() {
    let f = Fixture::empty();
    let a = f.root().join("a");
    let id = stdout(&mem(
        &[
            "add",
            "--kind",
            "correction",
            "--scope",
            "service=orders-worker",
            "--scope",
            "alert=ConsumerLag",
            "lag at 17:00 is the analytics backfill; leave it alone",
        ],
        f.root(),
        &a,
    ))
    .trim()
    .to_string();
    assert!(id.starts_with("m-"));
    stdout(&mem(
        &[
            "add",
            "--kind",
            "procedural",
            "roll back before fixing forward",
        ],
        f.root(),
        &a,
    ));
    stdout(&mem(
        &["edit", &id, "--confidence", "0.9", "--status", "active"],
        f.root(),
        &a,
    ));
    let shown: Value = serde_json::from_str(&stdout(&mem(&["show", &id], f.root(), &a))).unwrap();
    assert_eq!(shown["scope"]["service"], "orders-worker");
    assert_eq!(shown["scope"]["alert"], "ConsumerLag");
    assert!((shown["confidence"].as_f64().unwrap() - 0.9).abs() < 1e-6);

    // Export from one database, import into another: the same memories, exactly.
    let exported = stdout(&mem(&["export"], f.root(), &a));
    let file = f.root().join("export.json");
    std::fs::write(&file, &exported).unwrap();
    let b = f.root().join("b");
    stdout(&mem(&["import", file.to_str().unwrap()], f.root(), &b));
    let again = stdout(&mem(&["export"], f.root(), &b));
    let (x, y): (Value, Value) = (
        serde_json::from_str(&exported).unwrap(),
        serde_json::from_str(&again).unwrap(),
    );
    assert_eq!(x, y);
    assert_eq!(x.as_array().unwrap().len(), 2);

    stdout(&mem(&["forget", &id], f.root(), &b));
    let listed: Value =
        serde_json::from_str(&stdout(&mem(&["list", "--json"], f.root(), &b))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn bad_memory_input_says_what_and_where() {
    let f = Fixture::empty();
    let a = f.root().join("a");
    let o = mem(&["add", "--scope", "team=payments", "x"], f.root(), &a);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown scope key \"team\""));
    let o = mem(&["add", "--kind", "rumour", "x"], f.root(), &a);
    assert!(String::from_utf8_lossy(&o.stderr).contains("procedural, episodic or correction"));
    let bad = f.root().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"an export\"}").unwrap();
    let o = mem(&["import", bad.to_str().unwrap()], f.root(), &a);
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a memory export"));
    let o = mem(&["show", "m-nope"], f.root(), &a);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no memory m-nope"));
}

#[test]
fn a_corrupt_memory_database_is_an_error_not_a_reset() {
    let f = Fixture::empty();
    let a = f.root().join("a");
    let id = stdout(&mem(&["add", "keep me"], f.root(), &a))
        .trim()
        .to_string();
    // Damage the table's manifests.
    let table = a.join("memories.lance");
    for e in walk(&table) {
        if e.to_string_lossy().contains("_versions") && e.is_file() {
            std::fs::write(&e, b"garbage").unwrap();
        }
    }
    let o = mem(&["list"], f.root(), &a);
    assert!(
        !o.status.success(),
        "a damaged database must not read as empty"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("memory database") && err.contains("left as is"),
        "{err}"
    );
    // Nothing was replaced: the damaged files are still there for recovery.
    assert!(table.exists());
    let _ = id;
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn memory_sync_brings_in_the_repositorys_runbooks() {
    let f = Fixture::shop();
    f.write(
        "docs/runbooks/payments.md",
        "# payments\n\nNo endpoints: check whether the deployment was scaled to zero.\n",
    );
    f.git_init();
    let db = f.root().join(".mem");
    let out = stdout(&mem(&["sync"], f.root(), &db));
    assert!(out.contains("1 added, 0 updated, 0 removed"), "{out}");
    let listed: Value =
        serde_json::from_str(&stdout(&mem(&["list", "--json"], f.root(), &db))).unwrap();
    assert_eq!(listed[0]["kind"], "procedural");
    assert_eq!(listed[0]["source"], "runbook:docs/runbooks/payments.md");
    let again = stdout(&mem(&["sync"], f.root(), &db));
    assert!(again.contains("1 unchanged"), "{again}");
}

#[test]
fn two_processes_adding_memories_at_once_lose_nothing() {
    let f = Fixture::empty();
    let db = f.root().join("shared");
    // Create the database first, as the first run of triage would.
    stdout(&mem(&["list"], f.root(), &db));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let root = f.root().to_path_buf();
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..8 {
                    stdout(&mem(
                        &["add", &format!("writer {w} memory {i}")],
                        &root,
                        &db,
                    ));
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let listed: Value =
        serde_json::from_str(&stdout(&mem(&["list", "--json"], f.root(), &db))).unwrap();
    let texts: std::collections::HashSet<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 16, "{texts:?}");
}

#[tokio::test]
async fn memories_are_recalled_by_meaning_with_an_embedding_model() {
    use triage::memory::{Memory, MemoryKind, RecallQuery, Scope};
    let f = Fixture::empty();
    let mut config = triage::config::Config::default();
    config.memory.uri = Some(f.root().join("m").display().to_string());
    config.embed.provider = triage::config::EmbedProvider::Local;
    config.embed.model_dir = Some(test_model_dir());
    let store = triage::memory::open(&config).await.unwrap();
    let backfill = Memory::new(
        MemoryKind::Correction,
        "Consumer lag at 17:00 is the nightly analytics backfill; leave it alone",
        Scope::default(),
        "user",
    );
    let tls = Memory::new(
        MemoryKind::Procedural,
        "Rotate the ingress TLS certificate before it expires",
        Scope::default(),
        "user",
    );
    store
        .upsert(&[backfill.clone(), tls.clone()])
        .await
        .unwrap();
    // No word in common with the backfill memory, the same meaning.
    let q = RecallQuery {
        text: "the kafka queue is backing up every evening".into(),
        scope: Scope::default(),
    };
    let hits = store.recall(&q, 5).await.unwrap();
    let first = hits.first().expect("recalled by meaning");
    assert_eq!(first.memory.id, backfill.id, "{hits:?}");
    assert!(first.why.contains("similar"), "{}", first.why);
    assert!(!first.why.contains("words match"), "{}", first.why);

    // Without vectors the same question finds nothing; a memory written by such a
    // process gets its vector at the next recall with a model.
    config.memory.vectors = false;
    let plain = triage::memory::open(&config).await.unwrap();
    assert!(plain.recall(&q, 5).await.unwrap().is_empty());
    let late = Memory::new(
        MemoryKind::Correction,
        "Kafka consumers fall behind every evening while the nightly export runs",
        Scope::default(),
        "user",
    );
    plain.upsert(std::slice::from_ref(&late)).await.unwrap();
    let hits = store.recall(&q, 5).await.unwrap();
    let late_hit = hits
        .iter()
        .find(|h| h.memory.id == late.id)
        .expect("recalled");
    assert!(late_hit.why.contains("similar"), "{}", late_hit.why);

    // Forgetting removes it from recall by meaning too.
    store.forget(&backfill.id).await.unwrap();
    let hits = store.recall(&q, 5).await.unwrap();
    assert!(hits.iter().all(|h| h.memory.id != backfill.id));
}
