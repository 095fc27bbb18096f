//! The [`Store`]: its tables (fields visible only inside `index/store/`), opening,
//! creating and rebuilding them, `meta.json`, and the helpers every read and write shares
//! (collecting a query, typed columns, errors that name the table).

use std::path::{Path, PathBuf};

use arrow_array::{Array, RecordBatch, StringArray, UInt32Array};
use futures::TryStreamExt;
use lancedb::query::{ExecutableQuery, QueryBase};
use lancedb::{Connection, Table};
use serde::{Deserialize, Serialize};

use super::error::IndexError;
use super::schema::{
    BatchError, CHUNKS, COMMITS, EDGES, FILES, QUESTIONS, SYMBOLS, chunks_schema, commits_schema,
    edges_schema, files_schema, questions_schema, symbols_schema,
};

/// Bumped whenever a table's shape or the chunking changes: an index with another
/// version is rebuilt.
pub const SCHEMA_VERSION: u32 = 4;

/// What an index was built with; stored in `<index dir>/meta.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub schema_version: u32,
    /// Embedder identity and vector size, when the chunks table has vectors.
    pub embedder: Option<EmbedderMeta>,
    /// Work-tree HEAD when the index was last written (when it is a git repo).
    #[serde(default)]
    pub head: Option<String>,
    /// Set while a run writes; still set at the next start means that run was killed.
    #[serde(default)]
    pub in_progress: bool,
    /// The newest commit in the `commits` table.
    #[serde(default)]
    pub history_head: Option<String>,
}

pub use crate::llm::embed::EmbedderMeta;

/// How an index was opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum OpenState {
    Existing,
    Created,
    /// Rebuilt from scratch, with the reason (schema change, embedder change, corruption).
    Rebuilt(String),
}

/// The index: its tables, read and written only through the typed functions of this
/// module's files.
pub struct Store {
    pub dir: PathBuf,
    pub(super) db: Connection,
    pub(super) files: Table,
    pub(super) chunks: Table,
    pub(super) symbols: Table,
    pub(super) commits: Table,
    pub(super) edges: Table,
    pub(super) questions: Table,
    pub meta: Meta,
}

/// The index's tables, by name (for counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexTable {
    Files,
    Chunks,
    Symbols,
    Commits,
    Edges,
    Questions,
}

fn db_dir(dir: &Path) -> PathBuf {
    dir.join("lance")
}

fn meta_path(dir: &Path) -> PathBuf {
    dir.join("meta.json")
}

impl Store {
    /// Open the index for reading (search). Errors say what to run when it is missing.
    pub async fn open(dir: &Path) -> Result<Store, IndexError> {
        let meta = read_meta(dir).map_err(|e| IndexError::Missing {
            dir: dir.to_path_buf(),
            source: Box::new(e),
        })?;
        let db = connect(dir).await?;
        let tables = open_tables(dir, &db)
            .await
            .map_err(|e| IndexError::Unreadable {
                dir: dir.to_path_buf(),
                source: Box::new(e),
            })?;
        Ok(Store::assemble(dir, db, tables, meta))
    }

    /// A store over opened tables, in the order of [`open_tables`].
    fn assemble(dir: &Path, db: Connection, tables: [Table; 6], meta: Meta) -> Store {
        let [files, chunks, symbols, commits, edges, questions] = tables;
        Store {
            dir: dir.to_path_buf(),
            db,
            files,
            chunks,
            symbols,
            commits,
            edges,
            questions,
            meta,
        }
    }

    /// Open for writing, creating or rebuilding as needed: a schema or embedder change,
    /// `rebuild`, or an unreadable index (corrupt, half-written) start from scratch.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open_for_write(
        dir: &Path,
        embedder: Option<EmbedderMeta>,
        rebuild: bool,
    ) -> Result<(Store, OpenState), IndexError> {
        std::fs::create_dir_all(dir).map_err(|source| IndexError::File {
            action: "create the index folder",
            path: dir.to_path_buf(),
            source,
        })?;
        // The index folder ignores itself.
        let gi = dir.join(".gitignore");
        if !gi.exists() {
            let _ = std::fs::write(&gi, "*\n");
        }
        let wanted = Meta {
            schema_version: SCHEMA_VERSION,
            embedder,
            head: None,
            in_progress: false,
            history_head: None,
        };
        let existing = if db_dir(dir).exists() || meta_path(dir).exists() {
            Some(read_meta(dir))
        } else {
            None
        };
        let rebuild_reason = match &existing {
            None => None,
            Some(_) if rebuild => Some("--rebuild".to_string()),
            Some(Err(e)) => Some(format!("index metadata unreadable ({e:#})")),
            Some(Ok(m)) if m.schema_version != SCHEMA_VERSION => Some(format!(
                "schema changed (v{} → v{SCHEMA_VERSION})",
                m.schema_version
            )),
            Some(Ok(m)) if m.embedder != wanted.embedder => Some(format!(
                "embedder changed ({} → {})",
                describe_embedder(&m.embedder),
                describe_embedder(&wanted.embedder)
            )),
            Some(Ok(_)) => None,
        };
        if existing.is_some() && rebuild_reason.is_none() {
            let db = connect(dir).await?;
            match open_tables(dir, &db).await {
                Ok(tables) => {
                    let mut meta = wanted;
                    if let Some(Ok(m)) = existing {
                        meta.head = m.head;
                        meta.in_progress = m.in_progress;
                        meta.history_head = m.history_head;
                    }
                    return Ok((Store::assemble(dir, db, tables, meta), OpenState::Existing));
                }
                Err(e) => {
                    let reason = format!("index unreadable ({e:#})");
                    return Self::create(dir, wanted, Some(reason)).await;
                }
            }
        }
        Self::create(dir, wanted, rebuild_reason).await
    }

    async fn create(
        dir: &Path,
        meta: Meta,
        reason: Option<String>,
    ) -> Result<(Store, OpenState), IndexError> {
        let lance = db_dir(dir);
        if lance.exists() {
            std::fs::remove_dir_all(&lance).map_err(|source| IndexError::File {
                action: "remove the old index at",
                path: lance.clone(),
                source,
            })?;
        }
        let _ = std::fs::remove_file(meta_path(dir));
        let db = connect(dir).await?;
        let dim = meta.embedder.as_ref().map(|e| e.dim);
        let create = async |name: &'static str, schema| {
            db.create_empty_table(name, schema)
                .execute()
                .await
                .map_err(|source| IndexError::Write {
                    table: name,
                    dir: dir.to_path_buf(),
                    source: Box::new(source),
                })
        };
        let files = create(FILES, files_schema()).await?;
        let chunks = create(CHUNKS, chunks_schema(dim)).await?;
        let symbols = create(SYMBOLS, symbols_schema()).await?;
        let commits = create(COMMITS, commits_schema()).await?;
        let edges = create(EDGES, edges_schema()).await?;
        let questions = create(QUESTIONS, questions_schema()).await?;
        write_meta(dir, &meta)?;
        let state = match reason {
            Some(r) => OpenState::Rebuilt(r),
            None => OpenState::Created,
        };
        let tables = [files, chunks, symbols, commits, edges, questions];
        Ok((Store::assemble(dir, db, tables, meta), state))
    }

    pub fn save_meta(&self) -> Result<(), IndexError> {
        write_meta(&self.dir, &self.meta)
    }

    /// Whether the previous run was killed while writing.
    pub fn meta_in_progress(&self) -> bool {
        self.meta.in_progress
    }

    pub fn set_in_progress(&mut self, on: bool) -> Result<(), IndexError> {
        self.meta.in_progress = on;
        write_meta(&self.dir, &self.meta)
    }

    pub fn has_vectors(&self) -> bool {
        self.meta.embedder.is_some()
    }
}

/// The embedder recorded for an existing index, if any.
pub fn stored_embedder(dir: &Path) -> Option<EmbedderMeta> {
    read_meta(dir).ok().and_then(|m| m.embedder)
}

fn describe_embedder(e: &Option<EmbedderMeta>) -> String {
    match e {
        Some(e) => format!("{} ({}d)", e.id, e.dim),
        None => "none".into(),
    }
}

async fn connect(dir: &Path) -> Result<Connection, IndexError> {
    let uri = db_dir(dir);
    let uri = uri.to_str().ok_or_else(|| IndexError::Path {
        dir: dir.to_path_buf(),
    })?;
    lancedb::connect(uri)
        .execute()
        .await
        .map_err(|source| IndexError::Connect {
            dir: dir.to_path_buf(),
            source: Box::new(source),
        })
}

async fn open_tables(dir: &Path, db: &Connection) -> Result<[Table; 6], IndexError> {
    let read = |table: &'static str| {
        move |source| IndexError::Read {
            table,
            dir: dir.to_path_buf(),
            source: Box::new(source),
        }
    };
    let open = async |name: &'static str| {
        let t = db.open_table(name).execute().await.map_err(read(name))?;
        // Opening reads only the manifest; read a row too, so a half-written or
        // damaged table is caught here rather than in the middle of a run.
        t.count_rows(None).await.map_err(read(name))?;
        t.query()
            .limit(1)
            .execute()
            .await
            .map_err(read(name))?
            .try_collect::<Vec<_>>()
            .await
            .map_err(read(name))?;
        Ok::<_, IndexError>(t)
    };
    Ok([
        open(FILES).await?,
        open(CHUNKS).await?,
        open(SYMBOLS).await?,
        open(COMMITS).await?,
        open(EDGES).await?,
        open(QUESTIONS).await?,
    ])
}

fn read_meta(dir: &Path) -> Result<Meta, IndexError> {
    let path = meta_path(dir);
    let text = std::fs::read_to_string(&path).map_err(|source| IndexError::File {
        action: "read",
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| IndexError::Json {
        what: "index metadata",
        path,
        source,
    })
}

fn write_meta(dir: &Path, meta: &Meta) -> Result<(), IndexError> {
    let path = meta_path(dir);
    write_json(&path, meta, "index metadata", true)
}

/// Write `value` as JSON to `path` through a temporary file, so a reader never sees half.
pub(super) fn write_json(
    path: &Path,
    value: &impl Serialize,
    what: &'static str,
    pretty: bool,
) -> Result<(), IndexError> {
    let tmp = path.with_extension("json.tmp");
    let bytes = if pretty {
        serde_json::to_vec_pretty(value)
    } else {
        serde_json::to_vec(value)
    }
    .map_err(|source| IndexError::Json {
        what,
        path: path.to_path_buf(),
        source,
    })?;
    let written = |result: std::io::Result<()>, path: &Path| {
        result.map_err(|source| IndexError::File {
            action: "write",
            path: path.to_path_buf(),
            source,
        })
    };
    written(std::fs::write(&tmp, bytes), &tmp)?;
    written(std::fs::rename(&tmp, path), path)
}

impl Store {
    /// Run a query on `table`, collecting its batches.
    #[tracing::instrument(level = "debug", skip(self, q))]
    pub(super) async fn read(
        &self,
        table: &'static str,
        q: impl ExecutableQuery,
    ) -> Result<Vec<RecordBatch>, IndexError> {
        q.execute()
            .await
            .map_err(|e| self.read_error(table, e))?
            .try_collect()
            .await
            .map_err(|e| self.read_error(table, e))
    }

    /// A column of a result batch, typed, or an error naming the table and column.
    pub(super) fn column<'a, T: Array + 'static>(
        &self,
        b: &'a RecordBatch,
        table: &'static str,
        column: &'static str,
        kind: &'static str,
    ) -> Result<&'a T, IndexError> {
        b.column_by_name(column)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .ok_or_else(|| IndexError::Column {
                table,
                column,
                kind,
                dir: self.dir.clone(),
            })
    }

    /// A text column of a result batch.
    pub(super) fn text<'a>(
        &self,
        b: &'a RecordBatch,
        table: &'static str,
        column: &'static str,
    ) -> Result<&'a StringArray, IndexError> {
        self.column::<StringArray>(b, table, column, "text")
    }

    /// A u32 column of a result batch.
    pub(super) fn u32s<'a>(
        &self,
        b: &'a RecordBatch,
        table: &'static str,
        column: &'static str,
    ) -> Result<&'a UInt32Array, IndexError> {
        self.column::<UInt32Array>(b, table, column, "u32")
    }

    pub(super) fn read_error(&self, table: &'static str, source: lancedb::Error) -> IndexError {
        IndexError::Read {
            table,
            dir: self.dir.clone(),
            source: Box::new(source),
        }
    }

    /// Insert `batch` into `table`, replacing the rows whose `key` matches.
    pub(super) async fn upsert(
        &self,
        table: &Table,
        name: &'static str,
        key: &str,
        batch: RecordBatch,
    ) -> Result<(), IndexError> {
        let schema = batch.schema();
        let reader = arrow_array::RecordBatchIterator::new(vec![Ok(batch)], schema);
        let mut merge = table.merge_insert(&[key]);
        merge
            .when_matched_update_all(None)
            .when_not_matched_insert_all();
        merge
            .execute(Box::new(reader))
            .await
            .map_err(|e| self.write_error(name, e))?;
        Ok(())
    }

    pub(super) fn write_error(&self, table: &'static str, source: lancedb::Error) -> IndexError {
        IndexError::Write {
            table,
            dir: self.dir.clone(),
            source: Box::new(source),
        }
    }

    pub(super) fn batch_error(&self, table: &'static str, e: BatchError) -> IndexError {
        match e {
            BatchError::Dimensions { expected, got } => IndexError::Dimensions {
                dir: self.dir.clone(),
                expected,
                got,
            },
            BatchError::Arrow(source) => IndexError::Rows {
                table,
                dir: self.dir.clone(),
                source: Box::new(source),
            },
        }
    }
}
