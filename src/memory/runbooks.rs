//! Markdown runbooks from a folder in the repository (default `docs/runbooks`) kept in
//! sync as procedural memories: one memory per file, replaced when the file changes and
//! removed when it is deleted. Each memory records the repository it came from, and a
//! sync only ever touches its own repository's runbooks: several repositories share one
//! memory store. Files are read only inside the repository (a link out is skipped).

use std::path::Path;

use super::store::{MemoryError, MemoryStore};
use super::types::{Memory, MemoryKind, Scope};

/// Longest runbook text kept in a memory; the rest is in the file it names.
const MAX_CHARS: usize = 4_000;

#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
}

fn source_of(rel: &str) -> String {
    format!("runbook:{rel}")
}

/// The repository's identity in the store: its canonical path on this machine (a path
/// another repository cannot claim, unlike a remote URL it could copy).
fn repo_key(root: &Path) -> String {
    std::fs::canonicalize(root)
        .unwrap_or_else(|_| root.to_path_buf())
        .display()
        .to_string()
}

/// The Markdown files of the runbook folder that really are inside the repository.
fn runbook_files(root: &Path, dir: &str) -> Vec<std::path::PathBuf> {
    let Ok(canonical_root) = std::fs::canonicalize(root) else {
        return Vec::new();
    };
    let folder = root.join(dir);
    let inside = |p: &Path| std::fs::canonicalize(p).is_ok_and(|c| c.starts_with(&canonical_root));
    if !folder.is_dir() || !inside(&folder) {
        return Vec::new();
    }
    let mut files: Vec<std::path::PathBuf> = ignore::WalkBuilder::new(&folder)
        .build()
        .flatten()
        .map(|e| e.path().to_path_buf())
        .filter(|p| p.extension().is_some_and(|e| e == "md") && p.is_file() && inside(p))
        .collect();
    files.sort();
    files
}

/// Ingest `<repo_root>/<dir>/**/*.md`. A missing folder is not an error: nothing to sync
/// (and runbook memories from files that are gone are removed).
pub async fn sync(
    store: &MemoryStore,
    repo_root: &Path,
    dir: &str,
) -> Result<SyncReport, MemoryError> {
    let files = runbook_files(repo_root, dir);
    let repo = repo_key(repo_root);
    // This repository's runbooks only: another repository's (or one synced before
    // runbooks recorded their repository) are never updated or removed from here.
    let existing: Vec<Memory> = store
        .list()
        .await?
        .into_iter()
        .filter(|m| m.source.starts_with("runbook:") && m.repo.as_deref() == Some(repo.as_str()))
        .collect();
    let mut report = SyncReport::default();
    let mut seen = Vec::new();
    let mut writes = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(repo_root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let text: String = text.chars().take(MAX_CHARS).collect();
        let source = source_of(&rel);
        seen.push(source.clone());
        match existing.iter().find(|m| m.source == source) {
            Some(m) if m.text == text => report.unchanged += 1,
            Some(m) => {
                let mut m = m.clone();
                m.text = text;
                m.updated = chrono::Utc::now().timestamp();
                writes.push(m);
                report.updated += 1;
            }
            None => {
                let mut m = Memory::new(
                    MemoryKind::Procedural,
                    text,
                    Scope {
                        paths: vec![rel.clone()],
                        ..Scope::default()
                    },
                    &source,
                );
                m.id = format!(
                    "rb-{}",
                    &blake3::hash(format!("{repo}\n{rel}").as_bytes()).to_hex()[..12]
                );
                m.repo = Some(repo.clone());
                // A written runbook is trusted more than an inferred memory.
                m.confidence = 0.7;
                writes.push(m);
                report.added += 1;
            }
        }
    }
    store.upsert(&writes).await?;
    for m in existing.iter().filter(|m| !seen.contains(&m.source)) {
        store.forget(&m.id).await?;
        report.removed += 1;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::types::RecallQuery;

    #[tokio::test]
    async fn runbooks_are_ingested_updated_and_removed_with_their_files() {
        let repo = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let store = MemoryStore::open(db.path().to_str().unwrap())
            .await
            .unwrap();
        let rb = repo.path().join("docs/runbooks");
        std::fs::create_dir_all(&rb).unwrap();
        std::fs::write(
            rb.join("checkout-api.md"),
            "# checkout-api\n\n5xx after a rollout: roll back first.\n",
        )
        .unwrap();
        std::fs::write(
            rb.join("orders.md"),
            "# orders\n\nConsumer lag at 17:00 is the backfill.\n",
        )
        .unwrap();
        let r = sync(&store, repo.path(), "docs/runbooks").await.unwrap();
        assert_eq!((r.added, r.updated, r.removed), (2, 0, 0));
        let hits = store
            .recall(
                &RecallQuery {
                    text: "checkout-api 5xx rollout".into(),
                    scope: Scope::default(),
                },
                3,
            )
            .await
            .unwrap();
        assert_eq!(
            hits[0].memory.source,
            "runbook:docs/runbooks/checkout-api.md"
        );
        assert_eq!(hits[0].memory.kind, MemoryKind::Procedural);

        std::fs::write(
            rb.join("checkout-api.md"),
            "# checkout-api\n\n5xx: check PAYMENTS_TIMEOUT_MS.\n",
        )
        .unwrap();
        std::fs::remove_file(rb.join("orders.md")).unwrap();
        let r = sync(&store, repo.path(), "docs/runbooks").await.unwrap();
        assert_eq!((r.added, r.updated, r.removed), (0, 1, 1));
        let all = store.list().await.unwrap();
        assert_eq!(all.len(), 1);
        assert!(all[0].text.contains("PAYMENTS_TIMEOUT_MS"));
        let r = sync(&store, repo.path(), "docs/runbooks").await.unwrap();
        assert_eq!(r.unchanged, 1);
    }

    /// Two repositories share one memory store (the per-user default): syncing one
    /// never deletes or overwrites the other's runbooks, even at the same paths.
    #[tokio::test]
    async fn syncing_one_repository_leaves_another_repositorys_runbooks_alone() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let store = MemoryStore::open(db.path().to_str().unwrap())
            .await
            .unwrap();
        for (repo, text) in [
            (&a, "# deploy\n\nRepository A: roll back.\n"),
            (&b, "# deploy\n\nRepository B: scale up.\n"),
        ] {
            let rb = repo.path().join("docs/runbooks");
            std::fs::create_dir_all(&rb).unwrap();
            std::fs::write(rb.join("deploy.md"), text).unwrap();
        }
        std::fs::write(a.path().join("docs/runbooks/only-a.md"), "# only a\n").unwrap();
        sync(&store, a.path(), "docs/runbooks").await.unwrap();
        let r = sync(&store, b.path(), "docs/runbooks").await.unwrap();
        assert_eq!((r.added, r.updated, r.removed), (1, 0, 0), "{r:?}");
        let texts = |all: Vec<Memory>| -> Vec<String> {
            let mut t: Vec<String> = all.into_iter().map(|m| m.text).collect();
            t.sort();
            t
        };
        let all = texts(store.list().await.unwrap());
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all.iter().any(|t| t.contains("Repository A")), "{all:?}");
        assert!(all.iter().any(|t| t.contains("Repository B")), "{all:?}");
        // B loses a runbook: only B's memory goes.
        std::fs::remove_file(b.path().join("docs/runbooks/deploy.md")).unwrap();
        let r = sync(&store, b.path(), "docs/runbooks").await.unwrap();
        assert_eq!(r.removed, 1);
        let all = texts(store.list().await.unwrap());
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(all.iter().any(|t| t.contains("Repository A")), "{all:?}");
        assert!(all.iter().any(|t| t.contains("only a")), "{all:?}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_runbook_linking_out_of_the_repository_is_not_read() {
        let repo = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let db = tempfile::tempdir().unwrap();
        let store = MemoryStore::open(db.path().to_str().unwrap())
            .await
            .unwrap();
        std::fs::write(
            outside.path().join("id_rsa.md"),
            "-----BEGIN OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap();
        let rb = repo.path().join("docs/runbooks");
        std::fs::create_dir_all(&rb).unwrap();
        std::os::unix::fs::symlink(outside.path().join("id_rsa.md"), rb.join("key.md")).unwrap();
        std::os::unix::fs::symlink(outside.path(), repo.path().join("ops")).unwrap();
        std::fs::write(rb.join("real.md"), "# real\n").unwrap();
        let r = sync(&store, repo.path(), "docs/runbooks").await.unwrap();
        assert_eq!(r.added, 1, "{r:?}");
        let r = sync(&store, repo.path(), "ops").await.unwrap();
        assert_eq!(r.added, 0, "{r:?}");
        let all = store.list().await.unwrap();
        assert!(
            all.iter().all(|m| !m.text.contains("PRIVATE KEY")),
            "{all:?}"
        );
    }
}
