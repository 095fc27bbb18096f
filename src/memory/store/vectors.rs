//! Memory vectors: derived from each memory's text by the configured embedder, kept in
//! their own table (rebuilt when the embedder changes), and added to recall as cosine
//! similarity.

use std::sync::Arc;

use arrow_array::{FixedSizeListArray, Float32Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use lancedb::Table;
use lancedb::query::{QueryBase, Select};

use super::{MemoryError, MemoryStore, VECTORS, search_text};
use crate::memory::types::Memory;

/// Below this cosine similarity a memory is not "similar".
const MIN_SIMILARITY: f32 = 0.35;

fn vector_schema(dim: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("embedder", DataType::Utf8, false),
        Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dim as i32,
            ),
            false,
        ),
    ]))
}

impl MemoryStore {
    async fn embedder(&self) -> Option<&crate::llm::embed::Embedder> {
        let spec = self.vectors.as_ref()?;
        self.embedder
            .get_or_init(|| async {
                spec.load()
                    .await
                    .map_err(|e| tracing::warn!("memory vectors are off: {e:#}"))
                    .ok()
            })
            .await
            .as_ref()
    }

    /// The vectors table for `dim`-sized vectors; one of another size (an earlier
    /// embedder) is dropped, since vectors are derived from the text.
    async fn vector_table(&self, dim: usize) -> Result<Table, MemoryError> {
        if self.has_table(VECTORS).await? {
            let t = self
                .db
                .open_table(VECTORS)
                .execute()
                .await
                .map_err(|e| self.io(e))?;
            let schema = t.schema().await.map_err(|e| self.io(e))?;
            let same = schema.field_with_name("vector").ok().is_some_and(
                |f| matches!(f.data_type(), DataType::FixedSizeList(_, n) if *n as usize == dim),
            );
            if same {
                return Ok(t);
            }
            self.db
                .drop_table(VECTORS, &[])
                .await
                .map_err(|e| self.io(e))?;
        }
        let schema = vector_schema(dim);
        match self.db.create_empty_table(VECTORS, schema).execute().await {
            Ok(t) => Ok(t),
            // Another process created it first.
            Err(_) => self
                .db
                .open_table(VECTORS)
                .execute()
                .await
                .map_err(|e| self.io(e)),
        }
    }

    /// Embed and store the vectors of these memories (replacing older ones).
    pub(super) async fn write_vectors(&self, memories: &[&Memory]) -> Result<(), MemoryError> {
        let Some(embedder) = self.embedder().await else {
            return Ok(());
        };
        if memories.is_empty() {
            return Ok(());
        }
        let texts: Vec<String> = memories.iter().map(|m| search_text(m)).collect();
        let vectors = embedder
            .embed(texts)
            .await
            .map_err(|e| self.io(format!("embedding memories: {e:#}")))?;
        let dim = embedder.dim();
        let table = self.vector_table(dim).await?;
        let mut flat = Vec::with_capacity(vectors.len() * dim);
        for v in &vectors {
            if v.len() != dim {
                return Err(self.io(format!(
                    "the embedder returned {} dimensions, expected {dim}",
                    v.len()
                )));
            }
            flat.extend_from_slice(v);
        }
        let batch = RecordBatch::try_new(
            vector_schema(dim),
            vec![
                Arc::new(StringArray::from_iter_values(
                    memories.iter().map(|m| m.id.clone()),
                )),
                Arc::new(StringArray::from_iter_values(
                    memories.iter().map(|_| embedder.id()),
                )),
                Arc::new(
                    FixedSizeListArray::try_new(
                        Arc::new(Field::new("item", DataType::Float32, true)),
                        dim as i32,
                        Arc::new(Float32Array::from(flat)),
                        None,
                    )
                    .map_err(|e| self.io(e))?,
                ),
            ],
        )
        .map_err(|e| self.io(e))?;
        self.merge_by_id(&table, batch).await
    }

    /// Cosine similarity of each memory to `text`, for those at least [`MIN_SIMILARITY`]
    /// alike. Memories written without vectors get them now.
    pub(super) async fn similarities(
        &self,
        text: &str,
        active: &[&Memory],
    ) -> Result<std::collections::HashMap<String, f32>, MemoryError> {
        let mut out = std::collections::HashMap::new();
        let Some(embedder) = self.embedder().await else {
            return Ok(out);
        };
        if active.is_empty() || text.trim().is_empty() {
            return Ok(out);
        }
        let table = self.vector_table(embedder.dim()).await?;
        let have: Vec<RecordBatch> = self
            .rows(
                table
                    .query()
                    .only_if(format!(
                        "embedder = '{}'",
                        embedder.id().replace('\'', "''")
                    ))
                    .select(Select::columns(&["id"])),
            )
            .await?;
        let mut known = std::collections::HashSet::new();
        for b in &have {
            if let Some(ids) = b
                .column_by_name("id")
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            {
                known.extend((0..b.num_rows()).map(|i| ids.value(i).to_string()));
            }
        }
        let missing: Vec<&Memory> = active
            .iter()
            .copied()
            .filter(|m| !known.contains(&m.id))
            .collect();
        self.write_vectors(&missing).await?;
        let query = embedder
            .embed(vec![text.to_string()])
            .await
            .map_err(|e| self.io(format!("embedding the query: {e:#}")))?;
        let Some(query) = query.into_iter().next() else {
            return Ok(out);
        };
        let _ = table.checkout_latest().await;
        let hits: Vec<RecordBatch> = self
            .rows(
                table
                    .vector_search(query)
                    .map_err(|e| self.io(e))?
                    .column("vector")
                    .distance_type(lancedb::DistanceType::Cosine)
                    .select(Select::columns(&["id"]))
                    .limit(active.len().max(10)),
            )
            .await?;
        for b in &hits {
            let (Some(ids), Some(dist)) = (
                b.column_by_name("id")
                    .and_then(|c| c.as_any().downcast_ref::<StringArray>()),
                b.column_by_name("_distance")
                    .and_then(|c| c.as_any().downcast_ref::<Float32Array>()),
            ) else {
                continue;
            };
            for i in 0..b.num_rows() {
                let sim = 1.0 - dist.value(i);
                if sim >= MIN_SIMILARITY {
                    out.insert(ids.value(i).to_string(), sim);
                }
            }
        }
        Ok(out)
    }
}
