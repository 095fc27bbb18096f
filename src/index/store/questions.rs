//! The model-written questions' bookkeeping: which definitions have them, and the cache
//! of the model's answers by content hash (the `llm_questions` table).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lancedb::Table;
use lancedb::query::{QueryBase, Select};

use super::error::IndexError;
use super::schema::in_list;
use super::tables::Store;

/// The cache of the model's questions, by content hash.
const CACHE: &str = "llm_questions";
/// Question rows the model wrote carry a chunk id with this prefix.
const LLM_PREFIX: &str = "llm:";

fn cache_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("hash", DataType::Utf8, false),
        Field::new("questions", DataType::Utf8, false),
    ]))
}

impl Store {
    /// The definition ids that have model-written questions (their rows' chunk ids
    /// without the `llm:` prefix), one per row.
    pub async fn llm_question_ids(&self) -> Result<Vec<String>, IndexError> {
        let q = self
            .questions
            .query()
            .only_if(format!("chunk_id LIKE '{LLM_PREFIX}%'"))
            .select(Select::columns(&["chunk_id"]));
        let rows = self.read("questions", q).await?;
        let mut out = Vec::new();
        for b in &rows {
            let c = self.column::<StringArray>(b, "questions", "chunk_id", "text")?;
            out.extend(
                (0..b.num_rows()).map(|i| c.value(i).trim_start_matches(LLM_PREFIX).to_string()),
            );
        }
        Ok(out)
    }

    /// Delete the model-written questions of these definition ids.
    pub async fn delete_llm_questions(&self, ids: &[String]) -> Result<(), IndexError> {
        for part in ids.chunks(500) {
            let chunk_ids: Vec<String> =
                part.iter().map(|id| format!("{LLM_PREFIX}{id}")).collect();
            self.questions
                .delete(&in_list("chunk_id", &chunk_ids))
                .await
                .map_err(|source| self.write_error("questions", source))?;
        }
        Ok(())
    }

    /// The cached questions by content hash (entries that are not a JSON list of
    /// strings are skipped and asked again).
    pub async fn cached_llm_questions(&self) -> Result<HashMap<String, Vec<String>>, IndexError> {
        let cache = self.question_cache().await?;
        let rows = self
            .read(
                CACHE,
                cache
                    .query()
                    .select(Select::columns(&["hash", "questions"])),
            )
            .await?;
        let mut known = HashMap::new();
        for b in &rows {
            let h = self.column::<StringArray>(b, CACHE, "hash", "text")?;
            let q = self.column::<StringArray>(b, CACHE, "questions", "text")?;
            for i in 0..b.num_rows() {
                if let Ok(qs) = serde_json::from_str::<Vec<String>>(q.value(i)) {
                    known.insert(h.value(i).to_string(), qs);
                }
            }
        }
        Ok(known)
    }

    /// Cache the model's questions for these content hashes (replacing older answers).
    pub async fn cache_llm_questions(
        &self,
        entries: &[(String, Vec<String>)],
    ) -> Result<(), IndexError> {
        if entries.is_empty() {
            return Ok(());
        }
        let json: Vec<String> = entries
            .iter()
            .map(|(_, qs)| serde_json::Value::from(qs.clone()).to_string())
            .collect();
        let batch = RecordBatch::try_new(
            cache_schema(),
            vec![
                Arc::new(StringArray::from_iter_values(
                    entries.iter().map(|e| e.0.as_str()),
                )),
                Arc::new(StringArray::from_iter_values(json)),
            ],
        )
        .map_err(|source| IndexError::Rows {
            table: CACHE,
            dir: self.dir.clone(),
            source: Box::new(source),
        })?;
        let cache = self.question_cache().await?;
        self.upsert(&cache, CACHE, "hash", batch).await
    }

    /// The cache table, created empty on first use.
    async fn question_cache(&self) -> Result<Table, IndexError> {
        let read = |source| IndexError::Read {
            table: CACHE,
            dir: self.dir.clone(),
            source: Box::new(source),
        };
        let names = self.db.table_names().execute().await.map_err(read)?;
        if names.iter().any(|n| n == CACHE) {
            return self.db.open_table(CACHE).execute().await.map_err(read);
        }
        self.db
            .create_empty_table(CACHE, cache_schema())
            .execute()
            .await
            .map_err(|source| self.write_error(CACHE, source))
    }
}
