//! The tables' shapes and the Arrow columns written to them: schemas, the full-text
//! tokenizer, row batches and vector columns.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, StringArray, UInt32Array,
    cast::AsArray, types::Float32Type,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use lancedb::index::scalar::FtsIndexBuilder;

use crate::index::rows::ChunkRow;

pub(super) const FILES: &str = "files";
pub(super) const CHUNKS: &str = "chunks";
pub(super) const SYMBOLS: &str = "symbols";
pub(super) const COMMITS: &str = "commits";
pub(super) const EDGES: &str = "edges";
pub(super) const QUESTIONS: &str = "questions";

/// Why rows could not become a batch.
#[derive(Debug)]
pub(super) enum BatchError {
    /// A vector of another size than the column's.
    Dimensions {
        expected: usize,
        got: usize,
    },
    Arrow(ArrowError),
}

impl From<ArrowError> for BatchError {
    fn from(e: ArrowError) -> Self {
        BatchError::Arrow(e)
    }
}

pub(super) fn files_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("hash", DataType::Utf8, false),
        Field::new("lang", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("mtime_ns", DataType::Int64, false),
        Field::new("chunks", DataType::UInt32, false),
        Field::new("lossy", DataType::Boolean, false),
        Field::new("search_text", DataType::Utf8, false),
    ]))
}

pub(super) fn chunks_schema(dim: Option<usize>) -> SchemaRef {
    let mut fields = vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("lang", DataType::Utf8, false),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("symbols", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("parent", DataType::Utf8, true),
        Field::new("start_line", DataType::UInt32, false),
        Field::new("end_line", DataType::UInt32, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("search_text", DataType::Utf8, false),
    ];
    if let Some(dim) = dim {
        fields.push(Field::new(
            "vector",
            DataType::FixedSizeList(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dim as i32,
            ),
            true,
        ));
    }
    Arc::new(Schema::new(fields))
}

pub(super) fn commits_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("time", DataType::Int64, false),
        Field::new("author", DataType::Utf8, false),
        Field::new("email", DataType::Utf8, false),
        Field::new("summary", DataType::Utf8, false),
        Field::new("body", DataType::Utf8, false),
        Field::new("pr", DataType::Int64, true),
        Field::new("files", DataType::Utf8, false),
        Field::new("n_files", DataType::UInt32, false),
        Field::new("search_text", DataType::Utf8, false),
    ]))
}

pub(super) fn questions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("start_line", DataType::UInt32, false),
        Field::new("end_line", DataType::UInt32, false),
        Field::new("question", DataType::Utf8, false),
    ]))
}

pub(super) fn edges_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("src", DataType::Utf8, false),
        Field::new("dst", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("weight", DataType::Float32, false),
        Field::new("layer", DataType::Utf8, false),
        Field::new("observed_at", DataType::Int64, false),
    ]))
}

pub(super) fn symbols_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("name_lc", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("start_line", DataType::UInt32, false),
        Field::new("end_line", DataType::UInt32, false),
        Field::new("parent", DataType::Utf8, true),
        Field::new("doc", DataType::Utf8, true),
    ]))
}

/// Tokenizer for code: identifiers split on snake_case and camelCase (the whole
/// identifier kept too), paths split on separators, English stemming for prose.
pub(super) fn fts_params() -> FtsIndexBuilder {
    FtsIndexBuilder::code()
        .split_identifiers(true)
        .preserve_original(true)
        .stem(true)
        .remove_stop_words(true)
}

/// `col IN ('a', 'b')` with quotes escaped.
pub(super) fn in_list(col: &str, values: &[String]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect();
    format!("{col} IN ({})", items.join(", "))
}

pub(super) fn strings<S: AsRef<str>>(it: impl Iterator<Item = S>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

pub(super) fn vector_array(
    vectors: &[Vec<f32>],
    dim: usize,
) -> Result<FixedSizeListArray, BatchError> {
    let all: Vec<Option<&Vec<f32>>> = vectors.iter().map(Some).collect();
    optional_vector_array(&all, dim)
}

/// A vector column with a null for each row that has no vector yet.
fn optional_vector_array(
    vectors: &[Option<&Vec<f32>>],
    dim: usize,
) -> Result<FixedSizeListArray, BatchError> {
    let mut flat = Vec::with_capacity(vectors.len() * dim);
    for v in vectors {
        match v {
            Some(v) => {
                if v.len() != dim {
                    return Err(BatchError::Dimensions {
                        expected: dim,
                        got: v.len(),
                    });
                }
                flat.extend_from_slice(v);
            }
            None => flat.extend(std::iter::repeat_n(0.0, dim)),
        }
    }
    let nulls = vectors
        .iter()
        .any(Option::is_none)
        .then(|| arrow_buffer::NullBuffer::from_iter(vectors.iter().map(Option::is_some)));
    Ok(FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        dim as i32,
        Arc::new(Float32Array::from(flat)),
        nulls,
    )?)
}

pub(super) fn chunk_batch(
    rows: &[ChunkRow],
    dim: Option<usize>,
    vectors: Option<&[Option<&Vec<f32>>]>,
) -> Result<RecordBatch, BatchError> {
    let mut columns: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| r.id.as_str())),
        strings(rows.iter().map(|r| r.path.as_str())),
        strings(rows.iter().map(|r| r.lang.as_str())),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.symbol.as_deref()),
        )),
        strings(rows.iter().map(|r| r.symbols.as_str())),
        strings(rows.iter().map(|r| r.kind.as_str())),
        Arc::new(StringArray::from_iter(
            rows.iter().map(|r| r.parent.as_deref()),
        )),
        Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.start_line),
        )),
        Arc::new(UInt32Array::from_iter_values(
            rows.iter().map(|r| r.end_line),
        )),
        strings(rows.iter().map(|r| r.text.as_str())),
        strings(rows.iter().map(|r| r.search_text.as_str())),
    ];
    if let Some(dim) = dim {
        let arr = match vectors {
            Some(v) => optional_vector_array(v, dim)?,
            None => FixedSizeListArray::new_null(
                Arc::new(Field::new("item", DataType::Float32, true)),
                dim as i32,
                rows.len(),
            ),
        };
        columns.push(Arc::new(arr));
    }
    Ok(RecordBatch::try_new(chunks_schema(dim), columns)?)
}

pub(super) fn f32_col<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a Float32Array> {
    b.column_by_name(name)
        .map(|c| c.as_primitive::<Float32Type>())
}

/// An optional string value.
pub(super) fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}
