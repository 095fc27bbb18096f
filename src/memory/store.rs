//! The memory table: one row per memory (the memory as JSON plus the columns recall
//! filters and searches on), a full-text index over text and scope words.

use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchIterator, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::index::Index;
use lancedb::index::scalar::{FtsIndexBuilder, FullTextSearchQuery};
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::{Connection, Table};

use super::{Memory, MemoryHit, MemoryStatus, RecallQuery};

const TABLE: &str = "memories";

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("cannot open the memory database at {uri}: {message}")]
    Open { uri: String, message: String },
    #[error(
        "the memory database at {uri} is unreadable ({message}); it was left as is: move it aside to start over"
    )]
    Corrupt { uri: String, message: String },
    #[error("memory database {uri}: {message}")]
    Io { uri: String, message: String },
    #[error("no memory {0}")]
    NotFound(String),
    #[error("memory {id} in {uri} is not valid: {message}")]
    BadRow {
        uri: String,
        id: String,
        message: String,
    },
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("search_text", DataType::Utf8, false),
        Field::new("json", DataType::Utf8, false),
    ]))
}

pub struct MemoryStore {
    uri: String,
    #[allow(dead_code)]
    db: Connection,
    table: Table,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("uri", &self.uri)
            .finish()
    }
}

/// The per-user default: `$XDG_DATA_HOME/triage/memory`.
pub fn default_uri() -> Option<String> {
    dirs::data_dir().map(|d| d.join("triage").join("memory").display().to_string())
}

impl MemoryStore {
    /// Open (creating when absent) the memory database at `uri`. A database that exists
    /// but cannot be read is an error, never a silent reset.
    pub async fn open(uri: &str) -> Result<Self, MemoryError> {
        Self::open_with(uri, &Default::default()).await
    }

    /// The memory database config names (`memory.uri` or the per-user default), with its
    /// object-store settings.
    pub async fn from_config(cfg: &crate::config::MemoryConfig) -> Result<Self, MemoryError> {
        let uri = super::configured_uri(cfg).ok_or_else(|| MemoryError::Open {
            uri: "(none)".into(),
            message: "no data directory for memories: set memory.uri".into(),
        })?;
        Self::open_with(&uri, &cfg.storage_options).await
    }

    /// Open `uri` with object-store settings (`aws_endpoint`, `aws_region`, …).
    pub async fn open_with(
        uri: &str,
        options: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, MemoryError> {
        if !uri.contains("://") {
            std::fs::create_dir_all(uri).map_err(|e| MemoryError::Open {
                uri: uri.to_string(),
                message: e.to_string(),
            })?;
        }
        // Other processes (another triage, `triage memory`) write here too: every read
        // checks for their commits, so a read-modify-write never works on a stale copy.
        let db = lancedb::connect(uri)
            .read_consistency_interval(std::time::Duration::ZERO)
            .storage_options(options.iter().map(|(k, v)| (k.clone(), v.clone())))
            .execute()
            .await
            .map_err(|e| MemoryError::Open {
                uri: uri.to_string(),
                message: e.to_string(),
            })?;
        let names = db
            .table_names()
            .execute()
            .await
            .map_err(|e| MemoryError::Corrupt {
                uri: uri.to_string(),
                message: e.to_string(),
            })?;
        let table = if names.iter().any(|n| n == TABLE) {
            let t = db
                .open_table(TABLE)
                .execute()
                .await
                .map_err(|e| MemoryError::Corrupt {
                    uri: uri.to_string(),
                    message: e.to_string(),
                })?;
            t.count_rows(None).await.map_err(|e| MemoryError::Corrupt {
                uri: uri.to_string(),
                message: e.to_string(),
            })?;
            t
        } else {
            match db.create_empty_table(TABLE, schema()).execute().await {
                Ok(t) => t,
                // Another process created it first.
                Err(_) => {
                    db.open_table(TABLE)
                        .execute()
                        .await
                        .map_err(|e| MemoryError::Corrupt {
                            uri: uri.to_string(),
                            message: e.to_string(),
                        })?
                }
            }
        };
        Ok(Self {
            uri: uri.to_string(),
            db,
            table,
        })
    }

    pub fn uri(&self) -> &str {
        &self.uri
    }

    fn io(&self, e: impl std::fmt::Display) -> MemoryError {
        MemoryError::Io {
            uri: self.uri.clone(),
            message: e.to_string(),
        }
    }

    fn batch(&self, memories: &[Memory]) -> Result<RecordBatch, MemoryError> {
        let col = |f: &dyn Fn(&Memory) -> String| -> Arc<StringArray> {
            Arc::new(StringArray::from_iter_values(memories.iter().map(f)))
        };
        let json: Vec<String> = memories
            .iter()
            .map(|m| serde_json::to_string(m).unwrap_or_default())
            .collect();
        RecordBatch::try_new(
            schema(),
            vec![
                col(&|m| m.id.clone()),
                col(&|m| m.kind.as_str().to_string()),
                col(&|m| m.status.as_str().to_string()),
                col(&|m| format!("{} {}", m.text, m.scope.words())),
                Arc::new(StringArray::from_iter_values(json)),
            ],
        )
        .map_err(|e| self.io(e))
    }

    /// Insert or replace memories by id. LanceDB commits are optimistic; a conflict with
    /// another writer is retried, so concurrent processes lose nothing.
    pub async fn upsert(&self, memories: &[Memory]) -> Result<(), MemoryError> {
        if memories.is_empty() {
            return Ok(());
        }
        let mut last = None;
        for attempt in 0..5 {
            let batch = self.batch(memories)?;
            let reader = RecordBatchIterator::new(vec![Ok(batch)], schema());
            let mut merge = self.table.merge_insert(&["id"]);
            merge
                .when_matched_update_all(None)
                .when_not_matched_insert_all();
            match merge.execute(Box::new(reader)).await {
                Ok(_) => {
                    self.ensure_fts().await;
                    return Ok(());
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                    let _ = self.table.checkout_latest().await;
                }
            }
        }
        Err(self.io(last.map_or_else(String::new, |e| e.to_string())))
    }

    /// Rebuilt on every write: memories are few, and the index then covers them all.
    async fn ensure_fts(&self) {
        if let Err(e) = self
            .table
            .create_index(
                &["search_text"],
                Index::FTS(
                    FtsIndexBuilder::default()
                        .stem(true)
                        .remove_stop_words(true),
                ),
            )
            .replace(true)
            .execute()
            .await
        {
            tracing::warn!("memory full-text index: {e}");
        }
    }

    fn parse(&self, batches: &[RecordBatch]) -> Result<Vec<Memory>, MemoryError> {
        let mut out = Vec::new();
        for b in batches {
            let (Some(ids), Some(json)) = (
                b.column_by_name("id")
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>()),
                b.column_by_name("json")
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>()),
            ) else {
                return Err(MemoryError::Corrupt {
                    uri: self.uri.clone(),
                    message: "the memories table lacks its id or json column".into(),
                });
            };
            for i in 0..b.num_rows() {
                let m: Memory =
                    serde_json::from_str(json.value(i)).map_err(|e| MemoryError::BadRow {
                        uri: self.uri.clone(),
                        id: ids.value(i).to_string(),
                        message: e.to_string(),
                    })?;
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Every memory, newest first.
    pub async fn list(&self) -> Result<Vec<Memory>, MemoryError> {
        let _ = self.table.checkout_latest().await;
        let batches: Vec<RecordBatch> = self
            .table
            .query()
            .select(Select::columns(&["id", "json"]))
            .execute()
            .await
            .map_err(|e| self.io(e))?
            .try_collect()
            .await
            .map_err(|e| self.io(e))?;
        let mut all = self.parse(&batches)?;
        all.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub async fn get(&self, id: &str) -> Result<Memory, MemoryError> {
        let batches: Vec<RecordBatch> = self
            .table
            .query()
            .only_if(format!("id = '{}'", id.replace('\'', "''")))
            .select(Select::columns(&["id", "json"]))
            .execute()
            .await
            .map_err(|e| self.io(e))?
            .try_collect()
            .await
            .map_err(|e| self.io(e))?;
        self.parse(&batches)?
            .into_iter()
            .next()
            .ok_or_else(|| MemoryError::NotFound(id.to_string()))
    }

    pub async fn forget(&self, id: &str) -> Result<(), MemoryError> {
        self.get(id).await?;
        self.table
            .delete(&format!("id = '{}'", id.replace('\'', "''")))
            .await
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Active memories that match the query's scope or words, best first, with why.
    pub async fn recall(&self, q: &RecallQuery, top: usize) -> Result<Vec<MemoryHit>, MemoryError> {
        let all = self.list().await?;
        let mut text_rank: std::collections::HashMap<String, usize> = Default::default();
        if !q.text.trim().is_empty() && !all.is_empty() {
            let rows: Vec<RecordBatch> = match self
                .table
                .query()
                .full_text_search(FullTextSearchQuery::new(q.text.clone()))
                .select(Select::columns(&["id"]))
                .limit(50)
                .execute()
                .await
            {
                Ok(s) => s.try_collect().await.unwrap_or_default(),
                Err(e) => {
                    tracing::warn!("memory full-text search: {e}");
                    Vec::new()
                }
            };
            for b in &rows {
                if let Some(ids) = b
                    .column_by_name("id")
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                {
                    for i in 0..b.num_rows() {
                        let n = text_rank.len();
                        text_rank.entry(ids.value(i).to_string()).or_insert(n);
                    }
                }
            }
        }
        let lower = q.text.to_lowercase();
        let mut hits = Vec::new();
        for m in all {
            if m.status != MemoryStatus::Active {
                continue;
            }
            let mut why = Vec::new();
            let mut score = 0.0f32;
            // A scope field that is set must not contradict the query's.
            let fields = [
                ("service", &m.scope.service, &q.scope.service),
                ("namespace", &m.scope.namespace, &q.scope.namespace),
                ("cluster", &m.scope.cluster, &q.scope.cluster),
            ];
            let mut conflict = false;
            for (name, mine, theirs) in fields {
                match (mine, theirs) {
                    (Some(a), Some(b)) if a == b => {
                        score += 0.3;
                        why.push(format!("{name} {a}"));
                    }
                    (Some(a), _) if lower.contains(&a.to_lowercase()) => {
                        score += 0.25;
                        why.push(format!("{name} {a} named"));
                    }
                    (Some(_), Some(_)) => conflict = true,
                    _ => {}
                }
            }
            if let Some(alert) = &m.scope.alert {
                if lower.contains(&alert.to_lowercase()) {
                    score += 0.3;
                    why.push(format!("alert {alert}"));
                } else {
                    conflict = true;
                }
            }
            if conflict {
                continue;
            }
            if let Some(rank) = text_rank.get(&m.id) {
                score += 0.4 / (1.0 + *rank as f32);
                why.push("words match".into());
            }
            if score > 0.0 {
                let score = score * (0.5 + m.confidence / 2.0);
                hits.push(MemoryHit {
                    why: why.join(", "),
                    memory: m,
                    score,
                });
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits.truncate(top);
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{MemoryKind, Scope};
    use super::*;

    #[tokio::test]
    async fn memories_round_trip_and_recall_by_scope_and_words() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::open(dir.path().to_str().unwrap())
            .await
            .unwrap();
        let mut scope = Scope::default();
        scope.set("service=orders-worker").unwrap();
        let backfill = Memory::new(
            MemoryKind::Correction,
            "Consumer lag at 17:00 is the analytics backfill CronJob; leave it alone",
            scope,
            "user",
        );
        let other = Memory::new(
            MemoryKind::Procedural,
            "Roll back checkout-api when a release needs new config",
            Scope::default(),
            "runbook:docs/runbooks/checkout-api.md",
        );
        store
            .upsert(&[backfill.clone(), other.clone()])
            .await
            .unwrap();
        assert_eq!(store.list().await.unwrap().len(), 2);
        assert_eq!(store.get(&backfill.id).await.unwrap(), backfill);

        let hits = store
            .recall(
                &RecallQuery {
                    text: "orders-worker consumer lag alert".into(),
                    scope: Scope::default(),
                },
                5,
            )
            .await
            .unwrap();
        assert_eq!(hits[0].memory.id, backfill.id);
        assert!(
            hits[0].why.contains("service orders-worker"),
            "{}",
            hits[0].why
        );

        // Another service's memory does not leak into this one.
        let mut q = RecallQuery {
            text: "consumer lag".into(),
            scope: Scope::default(),
        };
        q.scope.service = Some("checkout-api".into());
        let hits = store.recall(&q, 5).await.unwrap();
        assert!(hits.iter().all(|h| h.memory.id != backfill.id));

        let mut retired = backfill.clone();
        retired.status = MemoryStatus::Retired;
        store.upsert(&[retired]).await.unwrap();
        assert_eq!(store.list().await.unwrap().len(), 2, "replaced, not added");
        store.forget(&other.id).await.unwrap();
        assert!(matches!(
            store.get(&other.id).await,
            Err(MemoryError::NotFound(_))
        ));
    }
}
