//! Markdown runbooks from a folder in the repository (default `docs/runbooks`) kept in
//! sync as procedural memories: one memory per file, replaced when the file changes and
//! removed when it is deleted.

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

/// Ingest `<repo_root>/<dir>/**/*.md`. A missing folder is not an error: nothing to sync
/// (and runbook memories from files that are gone are removed).
pub async fn sync(
    store: &MemoryStore,
    repo_root: &Path,
    dir: &str,
) -> Result<SyncReport, MemoryError> {
    let folder = repo_root.join(dir);
    let mut files = Vec::new();
    if folder.is_dir() {
        for entry in ignore::WalkBuilder::new(&folder).build().flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "md") && p.is_file() {
                files.push(p.to_path_buf());
            }
        }
    }
    files.sort();
    let existing: Vec<Memory> = store
        .list()
        .await?
        .into_iter()
        .filter(|m| m.source.starts_with("runbook:"))
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
                m.id = format!("rb-{}", &blake3::hash(rel.as_bytes()).to_hex()[..8]);
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
}
