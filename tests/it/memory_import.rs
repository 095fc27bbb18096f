//! `triage memory import`: a Slack export (folder and zip) and two postmortems become
//! proposed episodes that recall ignores until a person confirms them; once confirmed,
//! each is still checked with one read before an answer relies on it.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use triage::memory::{MemoryStatus, MemoryStore, RecallQuery};

use crate::common::triage;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn memory_uri(cwd: &Path) -> String {
    cwd.join(".xdg-data/triage/memory").display().to_string()
}

fn import(cwd: &Path, args: &[&str]) -> Value {
    let mut all = vec!["memory", "import", "--json"];
    all.extend_from_slice(args);
    let out = triage(&all, cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn proposed_ids(report: &Value) -> Vec<(String, String)> {
    report["proposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn id_about(ids: &[(String, String)], word: &str) -> String {
    ids.iter()
        .find(|(_, t)| t.contains(word))
        .unwrap_or_else(|| panic!("no proposal about {word}: {ids:?}"))
        .0
        .clone()
}

async fn recalled(cwd: &Path, text: &str) -> Vec<String> {
    let store = MemoryStore::open(&memory_uri(cwd)).await.unwrap();
    store
        .recall(
            &RecallQuery {
                text: text.into(),
                scope: Default::default(),
            },
            10,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.memory.id)
        .collect()
}

/// The export folder zipped the way Slack hands it out (deflated entries).
fn zip_export(dir: &Path, to: &Path) {
    let file = std::fs::File::create(to).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                zip.start_file(name, opts).unwrap();
                zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
            }
        }
    }
    zip.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_incidents_are_proposed_and_recalled_only_after_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let report = import(
        cwd,
        &[
            "--slack",
            fixture("slack-export").to_str().unwrap(),
            "--postmortem",
            fixture("postmortems").to_str().unwrap(),
        ],
    );
    // Two incident threads in #incidents, two postmortems; lunch, a plain message and a
    // broken coffee machine are not incidents.
    assert_eq!(report["postmortems_read"], 2, "{report}");
    assert_eq!(report["incidents"], 4, "{report}");
    let ids = proposed_ids(&report);
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(
        !ids.iter()
            .any(|(_, t)| t.contains("coffee") || t.contains("lunch")),
        "{ids:?}"
    );
    let checkout = id_about(&ids, "checkout-api");
    let (_, checkout_text) = ids.iter().find(|(i, _)| *i == checkout).unwrap();
    // Alert, service, what was found, what was done (from a reply on the next day), PR.
    for want in [
        "KubePodCrashLooping on checkout-api",
        "PAYMENTS_TIMEOUT_MS",
        "Rolled back",
        "https://github.com/acme/shop/pull/481",
        "#incidents thread, 2025-06-01",
    ] {
        assert!(checkout_text.contains(want), "{want:?} in {checkout_text}");
    }
    let payments = id_about(&ids, "payments");
    let frontend = id_about(&ids, "frontend");

    // Stored as proposed; recall does not see them.
    let store = MemoryStore::open(&memory_uri(cwd)).await.unwrap();
    for (id, _) in &ids {
        assert_eq!(store.get(id).await.unwrap().status, MemoryStatus::Proposed);
    }
    let query = "KubePodCrashLooping on checkout-api: pods restarting";
    assert!(recalled(cwd, query).await.is_empty());

    // A person confirms one; recall finds it, and only it.
    let out = triage(&["memory", "confirm", &checkout], cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("confirmed {checkout}")));
    assert_eq!(recalled(cwd, query).await, vec![checkout.clone()]);
    assert!(recalled(cwd, "payments has no endpoints").await.is_empty());

    // Importing the same export again, zipped: the confirmed one is left as it is, the
    // others are updated in place, nothing is duplicated.
    let zip = cwd.join("export.zip");
    zip_export(&fixture("slack-export"), &zip);
    let again = import(cwd, &["--slack", zip.to_str().unwrap()]);
    assert_eq!(
        again["kept"],
        serde_json::json!([checkout.clone()]),
        "{again}"
    );
    assert_eq!(proposed_ids(&again).len(), 1, "{again}");
    let all = store.list().await.unwrap();
    assert_eq!(all.iter().filter(|m| m.id.starts_with("im-")).count(), 4);
    assert_eq!(
        store.get(&checkout).await.unwrap().status,
        MemoryStatus::Active
    );
    let _ = (payments, frontend);
}

fn memory_hits(stdout: &[u8], id: &str) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["type"] == "memory_hit" && e["memory"] == id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_import_is_still_checked_before_it_is_relied_on() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let report = import(
        cwd,
        &["--postmortem", fixture("postmortems").to_str().unwrap()],
    );
    let ids = proposed_ids(&report);
    let payments = id_about(&ids, "payments");
    let frontend = id_about(&ids, "frontend");
    let out = triage(&["memory", "confirm", &payments, &frontend], cwd);
    assert!(out.status.success());
    let shop = fixture("kube/shop.json");

    // payments is at zero replicas in the replay: the remembered cause holds today.
    let out = triage(
        &[
            "ask",
            "--json",
            "--replay",
            shop.to_str().unwrap(),
            "KubeDeploymentReplicasMismatch firing: payments has no available replicas",
        ],
        cwd,
    );
    let hits = memory_hits(&out.stdout, &payments);
    let last = hits
        .last()
        .unwrap_or_else(|| panic!("no hit for {payments}"));
    assert_eq!(last["used"], true, "{hits:?}");
    assert!(
        last["why"].as_str().unwrap().contains("holds today"),
        "{last}"
    );

    // frontend's last restart was not an OOM kill: the postmortem's cause is set aside.
    let out = triage(
        &[
            "ask",
            "--json",
            "--replay",
            shop.to_str().unwrap(),
            "KubePodCrashLooping firing: frontend pods restarting",
        ],
        cwd,
    );
    let hits = memory_hits(&out.stdout, &frontend);
    let last = hits
        .last()
        .unwrap_or_else(|| panic!("no hit for {frontend}"));
    assert_eq!(last["used"], false, "{hits:?}");
    assert!(
        last["why"].as_str().unwrap().contains("wrong today"),
        "{last}"
    );
}

#[test]
fn a_file_that_is_not_an_export_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("notes.txt");
    std::fs::write(&bogus, "hello").unwrap();
    let out = triage(
        &["memory", "import", "--slack", bogus.to_str().unwrap()],
        dir.path(),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("notes.txt"), "{err}");
    assert!(err.contains("not a folder or a zip file"), "{err}");
}
