//! The index in LanceDB: tables `files`, `chunks` (full-text indexed, optional vectors)
//! and `symbols`. Every write is a LanceDB version, so an interrupted run leaves the last
//! committed state readable; `meta.json` records the schema and the embedder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch,
    StringArray, UInt32Array, UInt64Array, cast::AsArray, types::Float32Type,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures::TryStreamExt;
use lancedb::index::Index;
use lancedb::index::scalar::{BTreeIndexBuilder, BitmapIndexBuilder, FtsIndexBuilder};
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::table::OptimizeAction;
use lancedb::{Connection, Table};
use serde::{Deserialize, Serialize};

/// Bumped whenever a table's shape or the chunking changes: an index with another
/// version is rebuilt.
pub const SCHEMA_VERSION: u32 = 3;

pub const FILES: &str = "files";
pub const CHUNKS: &str = "chunks";
pub const SYMBOLS: &str = "symbols";
pub const COMMITS: &str = "commits";
pub const EDGES: &str = "edges";
pub const QUESTIONS: &str = "questions";

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

/// Stored state of one file, to decide what a run must redo.
#[derive(Debug, Clone, PartialEq)]
pub struct FileState {
    pub hash: String,
    pub size: u64,
    pub mtime_ns: i64,
}

#[derive(Debug, Clone)]
pub struct FileRow {
    pub path: String,
    pub hash: String,
    pub lang: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub chunks: u32,
    pub lossy: bool,
}

#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub id: String,
    pub path: String,
    pub lang: String,
    pub symbol: Option<String>,
    pub symbols: String,
    pub kind: String,
    pub parent: Option<String>,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
    pub search_text: String,
}

#[derive(Debug, Clone)]
pub struct SymbolRow {
    pub name: String,
    pub kind: String,
    /// `def` or `ref`.
    pub role: &'static str,
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub parent: Option<String>,
    pub doc: Option<String>,
}

/// How an index was opened.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "snake_case")]
pub enum OpenState {
    Existing,
    Created,
    /// Rebuilt from scratch, with the reason (schema change, embedder change, corruption).
    Rebuilt(String),
}

pub struct Store {
    pub dir: PathBuf,
    pub db: Connection,
    pub files: Table,
    pub chunks: Table,
    pub symbols: Table,
    pub commits: Table,
    pub edges: Table,
    pub questions: Table,
    pub meta: Meta,
}

fn db_dir(dir: &Path) -> PathBuf {
    dir.join("lance")
}

fn meta_path(dir: &Path) -> PathBuf {
    dir.join("meta.json")
}

pub fn files_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, false),
        Field::new("hash", DataType::Utf8, false),
        Field::new("lang", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("mtime_ns", DataType::Int64, false),
        Field::new("chunks", DataType::UInt32, false),
        Field::new("lossy", DataType::Boolean, false),
    ]))
}

pub fn chunks_schema(dim: Option<usize>) -> SchemaRef {
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

pub fn commits_schema() -> SchemaRef {
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

pub fn questions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("symbol", DataType::Utf8, true),
        Field::new("start_line", DataType::UInt32, false),
        Field::new("end_line", DataType::UInt32, false),
        Field::new("question", DataType::Utf8, false),
    ]))
}

pub fn edges_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("src", DataType::Utf8, false),
        Field::new("dst", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("weight", DataType::Float32, false),
        Field::new("layer", DataType::Utf8, false),
        Field::new("observed_at", DataType::Int64, false),
    ]))
}

pub fn symbols_schema() -> SchemaRef {
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
pub fn fts_params() -> FtsIndexBuilder {
    FtsIndexBuilder::code()
        .split_identifiers(true)
        .preserve_original(true)
        .stem(true)
        .remove_stop_words(true)
}

impl Store {
    /// Open the index for reading (search). Errors say what to run when it is missing.
    pub async fn open(dir: &Path) -> Result<Store> {
        let meta = read_meta(dir)
            .with_context(|| format!("no index at {} (run `triage index` first)", dir.display()))?;
        let db = connect(dir).await?;
        let [files, chunks, symbols, commits, edges, questions] =
            open_tables(&db).await.with_context(|| {
                format!(
                    "the index at {} is unreadable; run `triage index` to rebuild it",
                    dir.display()
                )
            })?;
        Ok(Store {
            dir: dir.to_path_buf(),
            db,
            files,
            chunks,
            symbols,
            commits,
            edges,
            questions,
            meta,
        })
    }

    /// Open for writing, creating or rebuilding as needed: a schema or embedder change,
    /// `rebuild`, or an unreadable index (corrupt, half-written) start from scratch.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn open_for_write(
        dir: &Path,
        embedder: Option<EmbedderMeta>,
        rebuild: bool,
    ) -> Result<(Store, OpenState)> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create index dir {}", dir.display()))?;
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
            match open_tables(&db).await {
                Ok([files, chunks, symbols, commits, edges, questions]) => {
                    let mut meta = wanted;
                    if let Some(Ok(m)) = existing {
                        meta.head = m.head;
                        meta.in_progress = m.in_progress;
                        meta.history_head = m.history_head;
                    }
                    return Ok((
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
                        },
                        OpenState::Existing,
                    ));
                }
                Err(e) => {
                    let reason = format!("index unreadable ({e:#})");
                    return Self::create(dir, wanted, Some(reason)).await;
                }
            }
        }
        Self::create(dir, wanted, rebuild_reason).await
    }

    async fn create(dir: &Path, meta: Meta, reason: Option<String>) -> Result<(Store, OpenState)> {
        let lance = db_dir(dir);
        if lance.exists() {
            std::fs::remove_dir_all(&lance)
                .with_context(|| format!("cannot remove the old index at {}", lance.display()))?;
        }
        let _ = std::fs::remove_file(meta_path(dir));
        let db = connect(dir).await?;
        let dim = meta.embedder.as_ref().map(|e| e.dim);
        let files = db
            .create_empty_table(FILES, files_schema())
            .execute()
            .await?;
        let chunks = db
            .create_empty_table(CHUNKS, chunks_schema(dim))
            .execute()
            .await?;
        let symbols = db
            .create_empty_table(SYMBOLS, symbols_schema())
            .execute()
            .await?;
        let commits = db
            .create_empty_table(COMMITS, commits_schema())
            .execute()
            .await?;
        let edges = db
            .create_empty_table(EDGES, edges_schema())
            .execute()
            .await?;
        let questions = db
            .create_empty_table(QUESTIONS, questions_schema())
            .execute()
            .await?;
        write_meta(dir, &meta)?;
        let state = match reason {
            Some(r) => OpenState::Rebuilt(r),
            None => OpenState::Created,
        };
        Ok((
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
            },
            state,
        ))
    }

    pub fn save_meta(&self) -> Result<()> {
        write_meta(&self.dir, &self.meta)
    }

    /// Whether the previous run was killed while writing.
    pub fn meta_in_progress(&self) -> bool {
        self.meta.in_progress
    }

    pub fn set_in_progress(&mut self, on: bool) -> Result<()> {
        self.meta.in_progress = on;
        write_meta(&self.dir, &self.meta)
    }

    pub fn has_vectors(&self) -> bool {
        self.meta.embedder.is_some()
    }

    /// Stored state of every file.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn file_states(&self) -> Result<HashMap<String, FileState>> {
        let batches: Vec<RecordBatch> = self
            .files
            .query()
            .select(Select::columns(&["path", "hash", "size", "mtime_ns"]))
            .execute()
            .await?
            .try_collect()
            .await?;
        let mut out = HashMap::new();
        for b in &batches {
            let path = str_col(b, "path")?;
            let hash = str_col(b, "hash")?;
            let size = b
                .column_by_name("size")
                .and_then(|c| c.as_any().downcast_ref::<UInt64Array>())
                .context("files.size")?;
            let mtime = b
                .column_by_name("mtime_ns")
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                .context("files.mtime_ns")?;
            for i in 0..b.num_rows() {
                out.insert(
                    path.value(i).to_string(),
                    FileState {
                        hash: hash.value(i).to_string(),
                        size: size.value(i),
                        mtime_ns: mtime.value(i),
                    },
                );
            }
        }
        Ok(out)
    }

    /// Remove every chunk and symbol of these files (changed, new or deleted).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_content(&self, paths: &[String]) -> Result<()> {
        for part in paths.chunks(500) {
            let pred = in_list("path", part);
            tokio::try_join!(
                self.chunks.delete(pred.as_str()),
                self.symbols.delete(pred.as_str()),
                self.questions.delete(pred.as_str()),
            )?;
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_files(&self, paths: &[String]) -> Result<()> {
        for part in paths.chunks(500) {
            self.files.delete(in_list("path", part).as_str()).await?;
        }
        Ok(())
    }

    /// Remove everything (a first run that was interrupted left partial rows).
    pub async fn clear_content(&self) -> Result<()> {
        self.chunks.delete("true").await?;
        self.symbols.delete("true").await?;
        self.questions.delete("true").await?;
        Ok(())
    }

    /// Vectors of these files' chunks, keyed by the hash of what was embedded: read
    /// before a changed file's chunks are replaced, so chunks whose text did not change
    /// keep their vector instead of waiting to be embedded again.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reusable_vectors(&self, paths: &[String]) -> Result<VectorReuse> {
        let mut out = VectorReuse::default();
        let Some(dim) = self.meta.embedder.as_ref().map(|e| e.dim) else {
            return Ok(out);
        };
        for part in paths.chunks(500) {
            let batches: Vec<RecordBatch> = self
                .chunks
                .query()
                .only_if(format!("{} AND vector IS NOT NULL", in_list("path", part)))
                .select(Select::columns(&["path", "symbol", "text", "vector"]))
                .execute()
                .await?
                .try_collect()
                .await?;
            for b in &batches {
                let (path, symbol, text) = (
                    str_col(b, "path")?,
                    str_col(b, "symbol")?,
                    str_col(b, "text")?,
                );
                let vectors = b
                    .column_by_name("vector")
                    .and_then(|c| c.as_fixed_size_list_opt())
                    .context("chunks.vector missing")?;
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

    /// Append chunks; those `reuse` knows keep their vector, the rest wait for one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_chunks(&self, rows: &[ChunkRow], reuse: &VectorReuse) -> Result<usize> {
        if rows.is_empty() {
            return Ok(0);
        }
        let dim = self.meta.embedder.as_ref().map(|e| e.dim);
        let vectors: Vec<Option<&Vec<f32>>> = rows
            .iter()
            .map(|r| {
                reuse
                    .vectors
                    .get(&VectorReuse::key(&r.path, r.symbol.as_deref(), &r.text))
            })
            .collect();
        let reused = vectors.iter().filter(|v| v.is_some()).count();
        let batch = chunk_batch(rows, dim, (reused > 0).then_some(vectors.as_slice()))?;
        self.chunks.add(batch).execute().await?;
        Ok(reused)
    }

    /// Symbol rows matching a filter (`role = 'def' AND ...`), at most `limit`.
    pub async fn symbol_rows(&self, filter: &str, limit: Option<usize>) -> Result<Vec<SymbolRow>> {
        let mut q = self
            .symbols
            .query()
            .only_if(filter)
            .select(Select::columns(&[
                "name",
                "kind",
                "role",
                "path",
                "start_line",
                "end_line",
                "parent",
                "doc",
            ]));
        if let Some(limit) = limit {
            q = q.limit(limit);
        }
        let batches: Vec<RecordBatch> = q.execute().await?.try_collect().await?;
        let mut out = Vec::new();
        for b in &batches {
            let (name, kind, role, path) = (
                str_col(b, "name")?,
                str_col(b, "kind")?,
                str_col(b, "role")?,
                str_col(b, "path")?,
            );
            let (s, e) = (u32_col(b, "start_line")?, u32_col(b, "end_line")?);
            let (parent, doc) = (str_col(b, "parent")?, str_col(b, "doc")?);
            for i in 0..b.num_rows() {
                out.push(SymbolRow {
                    name: name.value(i).to_string(),
                    kind: kind.value(i).to_string(),
                    role: if role.value(i) == "def" { "def" } else { "ref" },
                    path: path.value(i).to_string(),
                    start_line: s.value(i),
                    end_line: e.value(i),
                    parent: opt_str(parent, i),
                    doc: opt_str(doc, i),
                });
            }
        }
        Ok(out)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_symbols(&self, rows: &[SymbolRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            symbols_schema(),
            vec![
                strings(rows.iter().map(|r| r.name.as_str())),
                strings(rows.iter().map(|r| r.name.to_lowercase())),
                strings(rows.iter().map(|r| r.kind.as_str())),
                strings(rows.iter().map(|r| r.role)),
                strings(rows.iter().map(|r| r.path.as_str())),
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.start_line),
                )),
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.end_line),
                )),
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|r| r.parent.as_deref()),
                )),
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|r| r.doc.as_deref()),
                )),
            ],
        )?;
        self.symbols.add(batch).execute().await?;
        Ok(())
    }

    /// Insert or replace file rows (by path). `fresh`: none of them exist yet, so a plain
    /// append does (much cheaper than a merge).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn upsert_files(&self, rows: &[FileRow], fresh: bool) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            files_schema(),
            vec![
                strings(rows.iter().map(|r| r.path.as_str())),
                strings(rows.iter().map(|r| r.hash.as_str())),
                strings(rows.iter().map(|r| r.lang.as_str())),
                Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.size))),
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.mtime_ns),
                )),
                Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.chunks))),
                Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.lossy)))),
            ],
        )?;
        if fresh {
            self.files.add(batch).execute().await?;
            return Ok(());
        }
        let schema = batch.schema();
        let reader = arrow_array::RecordBatchIterator::new(vec![Ok(batch)], schema);
        let mut merge = self.files.merge_insert(&["path"]);
        merge
            .when_matched_update_all(None)
            .when_not_matched_insert_all();
        merge.execute(Box::new(reader)).await?;
        Ok(())
    }

    /// Build or refresh the secondary indexes. A full-text index is (re)built when it is
    /// missing or when many rows are not covered yet; otherwise the few new rows are
    /// searched without it (LanceDB searches unindexed rows too).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_indexes(&self, force: bool) -> Result<IndexMaintenance> {
        let commit_fts = FtsIndexBuilder::default()
            .stem(true)
            .remove_stop_words(true);
        Ok(IndexMaintenance {
            fts_rebuilt: ensure_index(
                &self.chunks,
                "search_text",
                "search_text_idx",
                Index::FTS(fts_params()),
                200,
                force,
            )
            .await?,
            question_index_rebuilt: ensure_index(
                &self.questions,
                "question",
                "question_idx",
                Index::FTS(fts_params()),
                200,
                force,
            )
            .await?,
            commit_index_rebuilt: ensure_index(
                &self.commits,
                "search_text",
                "commit_text_idx",
                Index::FTS(commit_fts),
                200,
                force,
            )
            .await?,
            symbol_index_rebuilt: ensure_index(
                &self.symbols,
                "name_lc",
                "name_lc_idx",
                Index::BTree(BTreeIndexBuilder::default()),
                2000,
                force,
            )
            .await?
                // Name lookups keep only definitions (`name_lc IN .. AND role = 'def'`);
                // indexing the role too cut a refresh's lookup on rust-tree from about
                // 100 to 60 ms.
                | ensure_index(
                    &self.symbols,
                    "role",
                    "role_idx",
                    Index::Bitmap(BitmapIndexBuilder::default()),
                    2000,
                    force,
                )
                .await?,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_questions(&self, rows: &[crate::index::questions::QuestionRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            questions_schema(),
            vec![
                strings(rows.iter().map(|r| r.chunk_id.as_str())),
                strings(rows.iter().map(|r| r.path.as_str())),
                Arc::new(StringArray::from_iter(
                    rows.iter().map(|r| r.symbol.as_deref()),
                )),
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.start_line),
                )),
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.end_line),
                )),
                strings(rows.iter().map(|r| r.question.as_str())),
            ],
        )?;
        self.questions.add(batch).execute().await?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_commits(&self, rows: &[crate::index::history::CommitInfo]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // A run killed before recording the new history head adds these again.
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        for part in ids.chunks(500) {
            self.commits.delete(in_list("id", part).as_str()).await?;
        }
        let batch = RecordBatch::try_new(
            commits_schema(),
            vec![
                strings(rows.iter().map(|r| r.id.as_str())),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.time))),
                strings(rows.iter().map(|r| r.author.as_str())),
                strings(rows.iter().map(|r| r.email.as_str())),
                strings(rows.iter().map(|r| r.summary.as_str())),
                strings(rows.iter().map(|r| r.body.as_str())),
                Arc::new(Int64Array::from_iter(
                    rows.iter().map(|r| r.pr.map(|p| p as i64)),
                )),
                strings(rows.iter().map(|r| r.files.join("\n"))),
                Arc::new(UInt32Array::from_iter_values(
                    rows.iter().map(|r| r.files.len() as u32),
                )),
                strings(rows.iter().map(|r| format!("{}\n{}", r.summary, r.body))),
            ],
        )?;
        self.commits.add(batch).execute().await?;
        Ok(())
    }

    pub async fn clear_commits(&self) -> Result<()> {
        self.commits.delete("true").await?;
        Ok(())
    }

    /// Remove the edges of these kinds that start at these nodes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_edges_from(&self, kinds: &[&str], srcs: &[String]) -> Result<()> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        for part in srcs.chunks(500) {
            let pred = format!("{} AND {}", in_list("kind", &kinds), in_list("src", part));
            self.edges.delete(pred.as_str()).await?;
        }
        Ok(())
    }

    /// Remove the edges of these kinds that end at these nodes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_edges_to(&self, kinds: &[&str], dsts: &[String]) -> Result<()> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        for part in dsts.chunks(500) {
            let pred = format!("{} AND {}", in_list("kind", &kinds), in_list("dst", part));
            self.edges.delete(pred.as_str()).await?;
        }
        Ok(())
    }

    /// Replace every edge of these kinds.
    pub async fn replace_edges(
        &self,
        kinds: &[&str],
        rows: &[crate::index::graph::Edge],
    ) -> Result<()> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        self.edges.delete(in_list("kind", &kinds).as_str()).await?;
        self.add_edges(rows).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_edges(&self, rows: &[crate::index::graph::Edge]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            edges_schema(),
            vec![
                strings(rows.iter().map(|r| r.src.as_str())),
                strings(rows.iter().map(|r| r.dst.as_str())),
                strings(rows.iter().map(|r| r.kind)),
                Arc::new(Float32Array::from_iter_values(
                    rows.iter().map(|r| r.weight),
                )),
                strings(rows.iter().map(|r| r.layer)),
                Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.observed_at),
                )),
            ],
        )?;
        self.edges.add(batch).execute().await?;
        Ok(())
    }

    /// Chunks still waiting for a vector (full rows, to be written back with one).
    pub async fn pending_vectors(&self, limit: usize) -> Result<Vec<RecordBatch>> {
        Ok(self
            .chunks
            .query()
            .only_if("vector IS NULL")
            .limit(limit)
            .execute()
            .await?
            .try_collect()
            .await?)
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

    /// Write vectors for rows read by `pending_vectors` (one commit).
    pub async fn write_vectors(&self, rows: &RecordBatch, vectors: &[Vec<f32>]) -> Result<()> {
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
                    rows.column_by_name(field.name())
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

    /// Compact small fragments left by many small writes and drop old versions'
    /// files (keeping the last hour for readers that are still open).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn compact(&self) -> Result<()> {
        for t in [
            &self.files,
            &self.chunks,
            &self.symbols,
            &self.commits,
            &self.edges,
        ] {
            t.optimize(OptimizeAction::Compact {
                options: Default::default(),
                remap_options: None,
            })
            .await?;
            t.optimize(OptimizeAction::Prune {
                older_than: Some(chrono::TimeDelta::hours(1)),
                delete_unverified: Some(false),
                error_if_tagged_old_versions: Some(false),
            })
            .await?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct IndexMaintenance {
    pub fts_rebuilt: bool,
    pub question_index_rebuilt: bool,
    pub commit_index_rebuilt: bool,
    pub symbol_index_rebuilt: bool,
}

/// Build `index` on `column` when it is missing, or rebuild it when many rows are not
/// covered yet (more than `slack` and a tenth of the indexed ones); otherwise the few
/// new rows are searched without it (LanceDB searches unindexed rows too). A rebuild
/// compacts first, so the index covers few, large fragments.
async fn ensure_index(
    table: &Table,
    column: &str,
    name: &str,
    index: Index,
    slack: usize,
    force: bool,
) -> Result<bool> {
    let stats = table.index_stats(name).await.ok().flatten();
    let needed = match &stats {
        None => table.count_rows(None).await? > 0,
        Some(s) => force || s.num_unindexed_rows > slack.max(s.num_indexed_rows / 10),
    };
    if !needed {
        return Ok(false);
    }
    if stats.is_some() {
        table
            .optimize(OptimizeAction::Compact {
                options: Default::default(),
                remap_options: None,
            })
            .await?;
    }
    table
        .create_index(&[column], index)
        .name(name.to_string())
        .replace(true)
        .execute()
        .await?;
    Ok(true)
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

async fn connect(dir: &Path) -> Result<Connection> {
    let uri = db_dir(dir);
    let uri = uri
        .to_str()
        .with_context(|| format!("index dir {} is not valid UTF-8", uri.display()))?;
    lancedb::connect(uri)
        .execute()
        .await
        .with_context(|| format!("cannot open LanceDB at {uri}"))
}

async fn open_tables(db: &Connection) -> Result<[Table; 6]> {
    let mut tables = Vec::new();
    for name in [FILES, CHUNKS, SYMBOLS, COMMITS, EDGES, QUESTIONS] {
        let t = db
            .open_table(name)
            .execute()
            .await
            .with_context(|| format!("table {name}"))?;
        // Opening reads only the manifest; read a row too, so a half-written or
        // damaged table is caught here rather than in the middle of a run.
        t.count_rows(None)
            .await
            .with_context(|| format!("table {name}"))?;
        t.query()
            .limit(1)
            .execute()
            .await?
            .try_collect::<Vec<_>>()
            .await
            .with_context(|| format!("table {name}"))?;
        tables.push(t);
    }
    tables
        .try_into()
        .map_err(|_| anyhow::anyhow!("expected six tables"))
}

fn read_meta(dir: &Path) -> Result<Meta> {
    let path = meta_path(dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid index metadata", path.display()))
}

fn write_meta(dir: &Path, meta: &Meta) -> Result<()> {
    let path = meta_path(dir);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(meta)?)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// `col IN ('a', 'b')` with quotes escaped.
pub fn in_list(col: &str, values: &[String]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|v| format!("'{}'", v.replace('\'', "''")))
        .collect();
    format!("{col} IN ({})", items.join(", "))
}

fn strings<S: AsRef<str>>(it: impl Iterator<Item = S>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(it))
}

fn vector_array(vectors: &[Vec<f32>], dim: usize) -> Result<FixedSizeListArray> {
    let all: Vec<Option<&Vec<f32>>> = vectors.iter().map(Some).collect();
    optional_vector_array(&all, dim)
}

/// Vectors that outlive their chunk rows, keyed by what was embedded.
#[derive(Debug, Default)]
pub struct VectorReuse {
    vectors: HashMap<[u8; 32], Vec<f32>>,
}

impl VectorReuse {
    /// The hash of a chunk's embedding input (path, symbol and text).
    fn key(path: &str, symbol: Option<&str>, text: &str) -> [u8; 32] {
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

/// A vector column with a null for each row that has no vector yet.
fn optional_vector_array(vectors: &[Option<&Vec<f32>>], dim: usize) -> Result<FixedSizeListArray> {
    let mut flat = Vec::with_capacity(vectors.len() * dim);
    for v in vectors {
        match v {
            Some(v) => {
                anyhow::ensure!(
                    v.len() == dim,
                    "embedding has {} dimensions, expected {dim}",
                    v.len()
                );
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

fn chunk_batch(
    rows: &[ChunkRow],
    dim: Option<usize>,
    vectors: Option<&[Option<&Vec<f32>>]>,
) -> Result<RecordBatch> {
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

/// A string column of a result batch.
pub fn str_col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .with_context(|| format!("column {name} missing or not text"))
}

pub fn u32_col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a UInt32Array> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<UInt32Array>())
        .with_context(|| format!("column {name} missing or not u32"))
}

pub fn f32_col<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a Float32Array> {
    b.column_by_name(name)
        .map(|c| c.as_primitive::<Float32Type>())
}

/// An optional string value.
pub fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}
