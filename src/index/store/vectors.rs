//! Chunks waiting for a vector: read in commits, embedded above the store, written back
//! with their vectors.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, RecordBatch, StringArray, UInt32Array, cast::AsArray, types::Float32Type,
};
use lancedb::query::{QueryBase, Select};

use super::error::IndexError;
use super::schema::{CHUNKS, chunks_schema, in_list, opt_str, vector_array};
use super::tables::Store;
use crate::index::rows::EmbedInput;

/// Chunks read without a vector, as stored, to be written back with one.
pub struct PendingChunks {
    rows: RecordBatch,
    /// The index they were read from (for errors).
    dir: PathBuf,
}

impl PendingChunks {
    pub fn len(&self) -> usize {
        self.rows.num_rows()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What to embed for each chunk, in order.
    pub fn inputs(&self) -> Result<Vec<EmbedInput>, IndexError> {
        let b = &self.rows;
        let (paths, symbols, texts) =
            (self.text("path")?, self.text("symbol")?, self.text("text")?);
        Ok((0..b.num_rows())
            .map(|i| EmbedInput {
                path: paths.value(i).to_string(),
                symbol: opt_str(symbols, i),
                text: texts.value(i).to_string(),
            })
            .collect())
    }

    /// Only the chunks at these positions.
    pub fn only(&self, positions: &[u32]) -> Result<PendingChunks, IndexError> {
        let rows = arrow_select::take::take_record_batch(
            &self.rows,
            &UInt32Array::from(positions.to_vec()),
        )
        .map_err(|source| IndexError::Rows {
            table: CHUNKS,
            dir: self.dir.clone(),
            source: Box::new(source),
        })?;
        Ok(PendingChunks {
            rows,
            dir: self.dir.clone(),
        })
    }

    fn text(&self, column: &'static str) -> Result<&StringArray, IndexError> {
        self.rows
            .column_by_name(column)
            .and_then(|c| c.as_any().downcast_ref::<StringArray>())
            .ok_or_else(|| IndexError::Column {
                table: CHUNKS,
                column,
                kind: "text",
                dir: self.dir.clone(),
            })
    }
}

impl Store {
    /// Chunks still waiting for a vector, at most `limit`.
    pub async fn pending_vectors(&self, limit: usize) -> Result<Vec<PendingChunks>, IndexError> {
        let q = self.chunks.query().only_if("vector IS NULL").limit(limit);
        let batches = self.read(CHUNKS, q).await?;
        Ok(batches
            .into_iter()
            .map(|rows| PendingChunks {
                rows,
                dir: self.dir.clone(),
            })
            .collect())
    }

    pub async fn count_pending_vectors(&self) -> Result<usize, IndexError> {
        if !self.has_vectors() {
            return Ok(0);
        }
        self.chunks
            .count_rows(Some("vector IS NULL".into()))
            .await
            .map_err(|e| self.read_error(CHUNKS, e))
    }

    /// Write one vector per pending chunk, in order (one commit).
    pub async fn write_vectors(
        &self,
        pending: &PendingChunks,
        vectors: &[Vec<f32>],
    ) -> Result<(), IndexError> {
        let dim =
            self.meta
                .embedder
                .as_ref()
                .map(|e| e.dim)
                .ok_or_else(|| IndexError::NoVectors {
                    dir: self.dir.clone(),
                })?;
        let schema = chunks_schema(Some(dim));
        let mut columns: Vec<ArrayRef> = Vec::new();
        for field in schema.fields() {
            if field.name() == "vector" {
                let vectors =
                    vector_array(vectors, dim).map_err(|e| self.batch_error(CHUNKS, e))?;
                columns.push(Arc::new(vectors));
            } else {
                // The pending rows were read with every column of the table.
                let column = pending.rows.column_by_name(field.name()).cloned();
                columns.push(column.ok_or_else(|| IndexError::Column {
                    table: CHUNKS,
                    column: "(every column of the chunks table)",
                    kind: "stored",
                    dir: self.dir.clone(),
                })?);
            }
        }
        let batch = RecordBatch::try_new(schema.clone(), columns)
            .map_err(|e| self.batch_error(CHUNKS, e.into()))?;
        let reader = arrow_array::RecordBatchIterator::new(vec![Ok(batch)], schema);
        let mut merge = self.chunks.merge_insert(&["id"]);
        merge.when_matched_update_all(None);
        merge
            .execute(Box::new(reader))
            .await
            .map_err(|e| self.write_error(CHUNKS, e))?;
        Ok(())
    }

    /// Vectors of these files' chunks, keyed by the hash of what was embedded: read
    /// before a changed file's chunks are replaced, so chunks whose text did not change
    /// keep their vector instead of waiting to be embedded again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reusable_vectors(&self, paths: &[String]) -> Result<VectorReuse, IndexError> {
        let mut out = VectorReuse::default();
        let Some(dim) = self.meta.embedder.as_ref().map(|e| e.dim) else {
            return Ok(out);
        };
        for part in paths.chunks(500) {
            let q = self
                .chunks
                .query()
                .only_if(format!("{} AND vector IS NOT NULL", in_list("path", part)))
                .select(Select::columns(&["path", "symbol", "text", "vector"]));
            let batches = self.read(CHUNKS, q).await?;
            for b in &batches {
                let (path, symbol, text) = (
                    self.text(b, CHUNKS, "path")?,
                    self.text(b, CHUNKS, "symbol")?,
                    self.text(b, CHUNKS, "text")?,
                );
                let vectors = b
                    .column_by_name("vector")
                    .and_then(|c| c.as_fixed_size_list_opt())
                    .ok_or_else(|| IndexError::Column {
                        table: CHUNKS,
                        column: "vector",
                        kind: "vector",
                        dir: self.dir.clone(),
                    })?;
                for i in 0..b.num_rows() {
                    let v = vectors.value(i);
                    let v = v.as_primitive::<Float32Type>().values().to_vec();
                    if v.len() == dim {
                        let key = VectorReuse::key(
                            path.value(i),
                            opt_str(symbol, i).as_deref(),
                            text.value(i),
                        );
                        out.vectors.insert(key, v);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Vectors that outlive their chunk rows, keyed by what was embedded.
#[derive(Debug, Default)]
pub struct VectorReuse {
    pub(super) vectors: HashMap<[u8; 32], Vec<f32>>,
}

impl VectorReuse {
    /// The hash of a chunk's embedding input (path, symbol and text).
    pub(super) fn key(path: &str, symbol: Option<&str>, text: &str) -> [u8; 32] {
        let input = crate::llm::embed::embed_text(path, symbol, text);
        *blake3::hash(input.as_bytes()).as_bytes()
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}
