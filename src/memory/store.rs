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

mod vectors;

use super::types::{Memory, MemoryHit, MemoryStatus, RecallQuery, glob_matches, pattern_in};

const TABLE: &str = "memories";
/// Vectors of memories (id, embedder, vector), derived from their text: rebuilt when the
/// embedder changes, filled in for memories written without one.
const VECTORS: &str = "memory_vectors";
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

/// What full-text and vector search see of a memory: its text and scope words.
fn search_text(m: &Memory) -> String {
    format!("{} {}", m.text, m.scope.words())
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
    db: Connection,
    table: Table,
    /// The embedder for memory vectors, when one is configured (loaded on first use).
    vectors: Option<crate::llm::embed::EmbedSpec>,
    embedder: tokio::sync::OnceCell<Option<crate::llm::embed::Embedder>>,
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
        let uri = configured_uri(cfg).ok_or_else(|| MemoryError::Open {
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
        if !cfg!(feature = "s3") && (uri.starts_with("s3://") || uri.starts_with("s3a://")) {
            return Err(MemoryError::Open {
                uri: uri.to_string(),
                message: "this triage was built without S3 support; install it with \
                          `scripts/install --features s3` (or `cargo install --features s3`)"
                    .into(),
            });
        }
        if !uri.contains("://") {
            // Memories hold what investigations saw: private to the user.
            crate::config::private::tighten_tree(std::path::Path::new(uri)).map_err(|e| {
                MemoryError::Open {
                    uri: uri.to_string(),
                    message: e.to_string(),
                }
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
            vectors: None,
            embedder: tokio::sync::OnceCell::new(),
        })
    }

    /// Recall by meaning too: memories get vectors from this embedder (loaded on first
    /// use), and a recall adds their cosine similarity to the query.
    pub fn with_vectors(mut self, spec: crate::llm::embed::EmbedSpec) -> Self {
        self.vectors = Some(spec);
        self
    }

    /// Insert or replace rows by id. LanceDB commits are optimistic; a conflict with
    /// another writer is retried, so concurrent processes lose nothing.
    async fn merge_by_id(&self, table: &Table, batch: RecordBatch) -> Result<(), MemoryError> {
        let mut last = None;
        for attempt in 0..5 {
            let schema = batch.schema();
            let reader = RecordBatchIterator::new(vec![Ok(batch.clone())], schema);
            let mut merge = table.merge_insert(&["id"]);
            merge
                .when_matched_update_all(None)
                .when_not_matched_insert_all();
            match merge.execute(Box::new(reader)).await {
                Ok(_) => return Ok(()),
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(std::time::Duration::from_millis(20 << attempt)).await;
                    let _ = table.checkout_latest().await;
                }
            }
        }
        Err(self.io(last.map_or_else(String::new, |e| e.to_string())))
    }

    /// Run a query and collect its batches.
    async fn rows(&self, q: impl ExecutableQuery) -> Result<Vec<RecordBatch>, MemoryError> {
        q.execute()
            .await
            .map_err(|e| self.io(e))?
            .try_collect()
            .await
            .map_err(|e| self.io(e))
    }

    async fn has_table(&self, name: &str) -> Result<bool, MemoryError> {
        let names = self
            .db
            .table_names()
            .execute()
            .await
            .map_err(|e| self.io(e))?;
        Ok(names.iter().any(|n| n == name))
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
                col(&|m| search_text(m)),
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
        self.merge_by_id(&self.table, self.batch(memories)?).await?;
        self.ensure_fts().await;
        // Vectors are derived: a failure to embed loses no memory.
        let refs: Vec<&Memory> = memories.iter().collect();
        if let Err(e) = self.write_vectors(&refs).await {
            tracing::warn!("memory vectors: {e}");
        }
        // The files LanceDB just wrote follow the umask; make them private too.
        if !self.uri.contains("://")
            && let Err(e) = crate::config::private::tighten_tree(std::path::Path::new(&self.uri))
        {
            tracing::warn!("memory files: {e}");
        }
        Ok(())
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
        let batches = self
            .rows(self.table.query().select(Select::columns(&["id", "json"])))
            .await?;
        let mut all = self.parse(&batches)?;
        all.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(all)
    }

    pub async fn get(&self, id: &str) -> Result<Memory, MemoryError> {
        let batches = self
            .rows(
                self.table
                    .query()
                    .only_if(format!("id = '{}'", id.replace('\'', "''")))
                    .select(Select::columns(&["id", "json"])),
            )
            .await?;
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
        if self.has_table(VECTORS).await?
            && let Ok(t) = self.db.open_table(VECTORS).execute().await
            && let Err(e) = t
                .delete(&format!("id = '{}'", id.replace('\'', "''")))
                .await
        {
            tracing::warn!("memory vectors: {e}");
        }
        Ok(())
    }

    /// Active memories that match the query's scope or words, best first, with why.
    #[allow(clippy::too_many_lines)] // scope, word and vector matches and their scoring
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
        let active: Vec<&Memory> = all
            .iter()
            .filter(|m| m.status == MemoryStatus::Active)
            .collect();
        // By meaning too, when memories have an embedder; without one, by words only.
        let similar = match self.similarities(&q.text, &active).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("memory vectors: {e}");
                Default::default()
            }
        };
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
            // An alert name or pattern (`Kube*CrashLooping`) must appear in the request.
            if let Some(alert) = &m.scope.alert {
                if pattern_in(alert, &lower) {
                    score += 0.3;
                    why.push(format!("alert {alert}"));
                } else {
                    conflict = true;
                }
            }
            // Path globs must match a path the query is about (or one the request names);
            // a query about no paths does not conflict with them.
            if !m.scope.paths.is_empty() {
                let named: Vec<&str> = q
                    .scope
                    .paths
                    .iter()
                    .map(String::as_str)
                    .chain(q.text.split_whitespace())
                    .collect();
                match m
                    .scope
                    .paths
                    .iter()
                    .find(|g| named.iter().any(|p| glob_matches(g, p)))
                {
                    Some(g) => {
                        score += 0.3;
                        why.push(format!("path {g}"));
                    }
                    None if !q.scope.paths.is_empty() => conflict = true,
                    None => {}
                }
            }
            if conflict {
                continue;
            }
            if let Some(rank) = text_rank.get(&m.id) {
                score += 0.4 / (1.0 + *rank as f32);
                why.push("words match".into());
            }
            if let Some(sim) = similar.get(&m.id) {
                score += 0.4 * sim;
                why.push(format!("similar {sim:.2}"));
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

/// The memory database named by config, or the per-user default.
pub fn configured_uri(cfg: &crate::config::MemoryConfig) -> Option<String> {
    cfg.uri.clone().or_else(default_uri)
}

#[cfg(test)]
mod tests;
