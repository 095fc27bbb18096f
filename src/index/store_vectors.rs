//! Chunks waiting for a vector: read in commits, embedded above the store, written back
//! with their vectors.

use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase};

use super::rows::EmbedInput;
use super::store::{Store, chunks_schema, opt_str, str_col, vector_array};

/// Chunks read without a vector, as stored, to be written back with one.
pub struct PendingChunks {
    rows: RecordBatch,
}

impl PendingChunks {
    pub fn len(&self) -> usize {
        self.rows.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What to embed for each chunk, in order.
    pub fn inputs(&self) -> Result<Vec<EmbedInput>> {
        let b = &self.rows;
        let (paths, symbols, texts) = (
            str_col(b, "path")?,
            str_col(b, "symbol")?,
            str_col(b, "text")?,
        );
        Ok((0..b.num_rows())
            .map(|i| EmbedInput {
                path: paths.value(i).to_string(),
                symbol: opt_str(symbols, i),
                text: texts.value(i).to_string(),
            })
            .collect())
    }

    /// Only the chunks at these positions.
    pub fn only(&self, positions: &[u32]) -> Result<PendingChunks> {
        let rows = arrow_select::take::take_record_batch(
            &self.rows,
            &UInt32Array::from(positions.to_vec()),
        )
        .context("cannot select the chunks already embedded")?;
        Ok(PendingChunks { rows })
    }
}

impl Store {
    /// Chunks still waiting for a vector, at most `limit`.
    pub async fn pending_vectors(&self, limit: usize) -> Result<Vec<PendingChunks>> {
        let batches: Vec<RecordBatch> = self
            .chunks
            .query()
            .only_if("vector IS NULL")
            .limit(limit)
            .execute()
            .await?
            .try_collect()
            .await?;
        Ok(batches
            .into_iter()
            .map(|rows| PendingChunks { rows })
            .collect())
    }

    pub async fn count_pending_vectors(&self) -> Result<usize> {
        if !self.has_vectors() {
            return Ok(0);
        }
        Ok(self
            .chunks
            .count_rows(Some("vector IS NULL".into()))
            .await?)
    }

    /// Write one vector per pending chunk, in order (one commit).
    pub async fn write_vectors(&self, pending: &PendingChunks, vectors: &[Vec<f32>]) -> Result<()> {
        let dim = self
            .meta
            .embedder
            .as_ref()
            .map(|e| e.dim)
            .context("this index has no vector column")?;
        let schema = chunks_schema(Some(dim));
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in schema.fields() {
            if field.name() == "vector" {
                columns.push(Arc::new(vector_array(vectors, dim)?));
            } else {
                columns.push(
                    pending
                        .rows
                        .column_by_name(field.name())
                        .cloned()
                        .with_context(|| format!("chunks.{} missing", field.name()))?,
                );
            }
        }
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let reader = arrow_array::RecordBatchIterator::new(vec![Ok(batch)], schema);
        let mut merge = self.chunks.merge_insert(&["id"]);
        merge.when_matched_update_all(None);
        merge.execute(Box::new(reader)).await?;
        Ok(())
    }
}
