//! Typed reads of the index: what retrieval asks the store, answered as rows rather
//! than Arrow batches, so nothing above the store builds a LanceDB query.

use std::collections::HashMap;

use arrow_array::{Array, Int64Array, RecordBatch, UInt64Array};
use lancedb::index::scalar::FullTextSearchQuery;
use lancedb::query::{QueryBase, Select};

use super::error::IndexError;
use super::schema::{CHUNKS, COMMITS, EDGES, FILES, QUESTIONS, SYMBOLS, f32_col, in_list, opt_str};
use super::tables::{IndexTable, Store, write_json};
use crate::index::profile::StoredProfile;
use crate::index::rows::ChunkText;
use crate::index::rows::{FileState, SymbolRow};

/// One chunk found by full-text or vector search.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkMatch {
    pub id: String,
    pub path: String,
    pub symbol: Option<String>,
    pub kind: String,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
    /// Cosine distance, for vector matches.
    pub distance: Option<f32>,
}

/// One indexed commit.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitRecord {
    pub id: String,
    pub time: i64,
    pub author: String,
    pub summary: String,
    pub body: String,
    pub pr: Option<i64>,
    pub files: Vec<String>,
}

/// Which commits a query reads.
#[derive(Debug, Clone, Default)]
pub struct CommitFilter {
    /// Committed at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// Committed strictly before this time.
    pub before: Option<i64>,
    /// Changing a file whose path contains this text.
    pub touching: Option<String>,
}

/// One synthetic question found by full-text search.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionMatch {
    pub path: String,
    pub symbol: Option<String>,
    pub start_line: u32,
    pub end_line: u32,
    pub question: String,
}

/// Offline questions (derived from the code) or the model-written ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionSource {
    Offline,
    Model,
}

impl QuestionSource {
    fn filter(self) -> &'static str {
        match self {
            QuestionSource::Offline => "chunk_id NOT LIKE 'llm:%'",
            QuestionSource::Model => "chunk_id LIKE 'llm:%'",
        }
    }
}

/// The learned repository profile, beside `meta.json`.
const PROFILE: &str = "profile.json";

const CHUNK_COLUMNS: [&str; 7] = [
    "id",
    "path",
    "symbol",
    "kind",
    "start_line",
    "end_line",
    "text",
];
const COMMIT_COLUMNS: [&str; 7] = ["id", "time", "author", "summary", "body", "pr", "files"];

impl Store {
    /// What was learned about the repository (empty before the first fit).
    pub fn load_profile(&self) -> Result<StoredProfile, IndexError> {
        let path = self.dir.join(PROFILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| IndexError::Json {
                what: "profile",
                path,
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredProfile::default()),
            Err(source) => Err(IndexError::File {
                action: "read",
                path,
                source,
            }),
        }
    }

    pub fn save_profile(&self, profile: &StoredProfile) -> Result<(), IndexError> {
        write_json(&self.dir.join(PROFILE), profile, "profile", false)
    }

    pub async fn count_chunks(&self) -> Result<usize, IndexError> {
        self.chunks
            .count_rows(None)
            .await
            .map_err(|e| self.read_error(CHUNKS, e))
    }

    /// Rows of `table` (from the table's metadata, no scan).
    pub async fn count_where_all(&self, table: IndexTable) -> Result<usize, IndexError> {
        let (t, name) = self.table(table);
        t.count_rows(None)
            .await
            .map_err(|e| self.read_error(name, e))
    }

    /// Rows of `table` that match a filter (a LanceDB SQL predicate over its columns).
    pub async fn count_where(
        &self,
        table: IndexTable,
        filter: String,
    ) -> Result<usize, IndexError> {
        let (t, name) = self.table(table);
        t.count_rows(Some(filter))
            .await
            .map_err(|e| self.read_error(name, e))
    }

    fn table(&self, table: IndexTable) -> (&lancedb::Table, &'static str) {
        match table {
            IndexTable::Files => (&self.files, FILES),
            IndexTable::Chunks => (&self.chunks, CHUNKS),
            IndexTable::Symbols => (&self.symbols, SYMBOLS),
            IndexTable::Commits => (&self.commits, COMMITS),
            IndexTable::Edges => (&self.edges, EDGES),
            IndexTable::Questions => (&self.questions, QUESTIONS),
        }
    }

    /// Definitions (not references) in the symbols table.
    pub async fn count_definitions(&self) -> Result<usize, IndexError> {
        self.count_where(IndexTable::Symbols, "role = 'def'".into())
            .await
    }

    /// Whether `path` (relative to the repository root) is indexed.
    pub async fn has_file(&self, path: &str) -> Result<bool, IndexError> {
        let filter = format!("path = '{}'", escape(path));
        let n = self
            .files
            .count_rows(Some(filter))
            .await
            .map_err(|e| self.read_error(FILES, e))?;
        Ok(n > 0)
    }

    pub async fn count_files(&self) -> Result<usize, IndexError> {
        self.files
            .count_rows(None)
            .await
            .map_err(|e| self.read_error(FILES, e))
    }

    pub async fn count_commits(&self) -> Result<usize, IndexError> {
        self.commits
            .count_rows(None)
            .await
            .map_err(|e| self.read_error(COMMITS, e))
    }

    pub async fn count_questions(&self, source: QuestionSource) -> Result<usize, IndexError> {
        self.questions
            .count_rows(Some(source.filter().to_string()))
            .await
            .map_err(|e| self.read_error(QUESTIONS, e))
    }

    /// Stored state of every file.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn file_states(&self) -> Result<HashMap<String, FileState>, IndexError> {
        let q = self
            .files
            .query()
            .select(Select::columns(&["path", "hash", "size", "mtime_ns"]));
        let batches = self.read(FILES, q).await?;
        let mut out = HashMap::new();
        for b in &batches {
            let path = self.text(b, FILES, "path")?;
            let hash = self.text(b, FILES, "hash")?;
            let size = self.column::<UInt64Array>(b, FILES, "size", "u64")?;
            let mtime = self.column::<Int64Array>(b, FILES, "mtime_ns", "i64")?;
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

    /// Symbol rows matching a filter (`role = 'def' AND ...`), at most `limit`.
    pub async fn symbol_rows(
        &self,
        filter: &str,
        limit: Option<usize>,
    ) -> Result<Vec<SymbolRow>, IndexError> {
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
        let batches = self.read(SYMBOLS, q).await?;
        let mut out = Vec::new();
        for b in &batches {
            let (name, kind, role, path) = (
                self.text(b, SYMBOLS, "name")?,
                self.text(b, SYMBOLS, "kind")?,
                self.text(b, SYMBOLS, "role")?,
                self.text(b, SYMBOLS, "path")?,
            );
            let (s, e) = (
                self.u32s(b, SYMBOLS, "start_line")?,
                self.u32s(b, SYMBOLS, "end_line")?,
            );
            let (parent, doc) = (
                self.text(b, SYMBOLS, "parent")?,
                self.text(b, SYMBOLS, "doc")?,
            );
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

    /// Chunks ranked by BM25 for `query`, best first.
    pub async fn chunks_matching(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<ChunkMatch>, IndexError> {
        let rows = self
            .read(
                CHUNKS,
                self.chunks
                    .query()
                    .full_text_search(FullTextSearchQuery::new(query.to_string()))
                    .select(Select::columns(&CHUNK_COLUMNS))
                    .limit(limit),
            )
            .await?;
        self.chunk_matches(&rows)
    }

    /// Files ranked by BM25 for `query`, each file one document (path and whole text,
    /// so a long file is normalized by its length), best first.
    pub async fn files_matching(
        &self,
        query: &str,
        limit: usize,
    ) -> Result<Vec<String>, IndexError> {
        let q = self
            .files
            .query()
            .full_text_search(FullTextSearchQuery::new(query.to_string()))
            .select(Select::columns(&["path"]))
            .limit(limit);
        let mut out = Vec::new();
        for b in &self.read(FILES, q).await? {
            let path = self.text(b, FILES, "path")?;
            out.extend((0..b.num_rows()).map(|i| path.value(i).to_string()));
        }
        Ok(out)
    }

    /// The `limit` chunks nearest to `vector` (cosine), among chunks that have one.
    pub async fn nearest_chunks(
        &self,
        vector: Vec<f32>,
        limit: usize,
    ) -> Result<Vec<ChunkMatch>, IndexError> {
        let q = self
            .chunks
            .vector_search(vector)
            .map_err(|e| self.read_error(CHUNKS, e))?
            .column("vector")
            .distance_type(lancedb::DistanceType::Cosine)
            .only_if("vector IS NOT NULL")
            .select(Select::columns(&CHUNK_COLUMNS))
            .limit(limit);
        let rows = self.read(CHUNKS, q).await?;
        self.chunk_matches(&rows)
    }

    /// Symbol rows whose lower-cased name is one of `names_lc`; definitions only when
    /// `defs_only`.
    pub async fn symbols_named(
        &self,
        names_lc: &[String],
        defs_only: bool,
        limit: usize,
    ) -> Result<Vec<SymbolRow>, IndexError> {
        if names_lc.is_empty() {
            return Ok(Vec::new());
        }
        let mut filter = in_list("name_lc", names_lc);
        if defs_only {
            filter.push_str(" AND role = 'def'");
        }
        self.symbol_rows(&filter, Some(limit)).await
    }

    /// The definitions in one file.
    pub async fn definitions_in(&self, path: &str) -> Result<Vec<SymbolRow>, IndexError> {
        let filter = format!("path = '{}' AND role = 'def'", escape(path));
        self.symbol_rows(&filter, None).await
    }

    /// The innermost definition around `line` of `path`.
    pub async fn definition_at(
        &self,
        path: &str,
        line: u32,
    ) -> Result<Option<SymbolRow>, IndexError> {
        let filter = format!(
            "path = '{}' AND role = 'def' AND start_line <= {line} AND end_line >= {line}",
            escape(path)
        );
        let rows = self.symbol_rows(&filter, None).await?;
        Ok(rows.into_iter().min_by_key(|r| r.end_line - r.start_line))
    }

    /// The definition named `name` in `path`, if the file defines it.
    pub async fn definition_named(
        &self,
        path: &str,
        name: &str,
    ) -> Result<Option<SymbolRow>, IndexError> {
        let filter = format!(
            "path = '{}' AND role = 'def' AND name = '{}'",
            escape(path),
            escape(name)
        );
        Ok(self.symbol_rows(&filter, Some(1)).await?.into_iter().next())
    }

    /// The chunks of one file.
    pub async fn chunk_texts(&self, path: &str) -> Result<Vec<ChunkText>, IndexError> {
        self.chunk_texts_where(&format!("path = '{}'", escape(path)))
            .await
    }

    /// Every chunk of code (not a section of prose or config).
    pub async fn code_chunk_texts(&self) -> Result<Vec<ChunkText>, IndexError> {
        self.chunk_texts_where("kind != 'section'").await
    }

    async fn chunk_texts_where(&self, filter: &str) -> Result<Vec<ChunkText>, IndexError> {
        let q = self
            .chunks
            .query()
            .only_if(filter)
            .select(Select::columns(&["path", "start_line", "end_line", "text"]));
        let rows = self.read(CHUNKS, q).await?;
        let mut out = Vec::new();
        for b in &rows {
            let (path, text) = (self.text(b, CHUNKS, "path")?, self.text(b, CHUNKS, "text")?);
            let (s, e) = (
                self.u32s(b, CHUNKS, "start_line")?,
                self.u32s(b, CHUNKS, "end_line")?,
            );
            out.extend((0..b.num_rows()).map(|i| ChunkText {
                path: path.value(i).to_string(),
                start_line: s.value(i),
                end_line: e.value(i),
                text: text.value(i).to_string(),
            }));
        }
        Ok(out)
    }

    /// Every indexed file path.
    pub async fn file_paths(&self) -> Result<Vec<String>, IndexError> {
        let rows = self
            .read(FILES, self.files.query().select(Select::columns(&["path"])))
            .await?;
        let mut out = Vec::new();
        for b in &rows {
            let p = self.text(b, FILES, "path")?;
            out.extend((0..b.num_rows()).map(|i| p.value(i).to_string()));
        }
        Ok(out)
    }

    /// Synthetic questions ranked by BM25 for `query`, best first.
    pub async fn questions_matching(
        &self,
        query: &str,
        source: QuestionSource,
        limit: usize,
    ) -> Result<Vec<QuestionMatch>, IndexError> {
        let rows = self
            .read(
                QUESTIONS,
                self.questions
                    .query()
                    .full_text_search(FullTextSearchQuery::new(query.to_string()))
                    .only_if(source.filter())
                    .select(Select::columns(&[
                        "path",
                        "symbol",
                        "start_line",
                        "end_line",
                        "question",
                    ]))
                    .limit(limit),
            )
            .await?;
        let mut out = Vec::new();
        for b in &rows {
            let (path, symbol, question) = (
                self.text(b, QUESTIONS, "path")?,
                self.text(b, QUESTIONS, "symbol")?,
                self.text(b, QUESTIONS, "question")?,
            );
            let (s, e) = (
                self.u32s(b, QUESTIONS, "start_line")?,
                self.u32s(b, QUESTIONS, "end_line")?,
            );
            for i in 0..b.num_rows() {
                out.push(QuestionMatch {
                    path: path.value(i).to_string(),
                    symbol: opt_str(symbol, i),
                    start_line: s.value(i),
                    end_line: e.value(i),
                    question: question.value(i).to_string(),
                });
            }
        }
        Ok(out)
    }

    /// Commits ranked by BM25 for `query` over their messages (best first), or all
    /// commits in the filter when `query` is `None` (in no particular order).
    pub async fn commits_matching(
        &self,
        query: Option<&str>,
        filter: &CommitFilter,
        limit: usize,
    ) -> Result<Vec<CommitRecord>, IndexError> {
        let mut q = self.commits.query();
        let mut parts = Vec::new();
        if let Some(t) = filter.since {
            parts.push(format!("time >= {t}"));
        }
        if let Some(t) = filter.before {
            parts.push(format!("time < {t}"));
        }
        if let Some(p) = &filter.touching {
            parts.push(format!("files LIKE '%{}%'", escape(p)));
        }
        if !parts.is_empty() {
            q = q.only_if(parts.join(" AND "));
        }
        if let Some(text) = query {
            q = q.full_text_search(FullTextSearchQuery::new(text.to_string()));
        }
        let rows = self
            .read(
                COMMITS,
                q.select(Select::columns(&COMMIT_COLUMNS)).limit(limit),
            )
            .await?;
        let mut out = Vec::new();
        for b in &rows {
            let (id, author, summary, body, files) = (
                self.text(b, COMMITS, "id")?,
                self.text(b, COMMITS, "author")?,
                self.text(b, COMMITS, "summary")?,
                self.text(b, COMMITS, "body")?,
                self.text(b, COMMITS, "files")?,
            );
            let time = self.column::<Int64Array>(b, COMMITS, "time", "i64")?;
            let pr = self.column::<Int64Array>(b, COMMITS, "pr", "i64")?;
            for i in 0..b.num_rows() {
                out.push(CommitRecord {
                    id: id.value(i).to_string(),
                    time: time.value(i),
                    author: author.value(i).to_string(),
                    summary: summary.value(i).to_string(),
                    body: body.value(i).to_string(),
                    pr: (!pr.is_null(i)).then(|| pr.value(i)),
                    files: file_list(files.value(i)),
                });
            }
        }
        Ok(out)
    }
}

/// A commit's stored file list (one path a line) as paths.
pub(super) fn file_list(stored: &str) -> Vec<String> {
    stored
        .split('\n')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('\'', "''")
}

impl Store {
    fn chunk_matches(&self, rows: &[RecordBatch]) -> Result<Vec<ChunkMatch>, IndexError> {
        let mut out = Vec::new();
        for b in rows {
            let (id, path, symbol, kind, text) = (
                self.text(b, CHUNKS, "id")?,
                self.text(b, CHUNKS, "path")?,
                self.text(b, CHUNKS, "symbol")?,
                self.text(b, CHUNKS, "kind")?,
                self.text(b, CHUNKS, "text")?,
            );
            let (s, e) = (
                self.u32s(b, CHUNKS, "start_line")?,
                self.u32s(b, CHUNKS, "end_line")?,
            );
            let dist = f32_col(b, "_distance");
            for i in 0..b.num_rows() {
                out.push(ChunkMatch {
                    id: id.value(i).to_string(),
                    path: path.value(i).to_string(),
                    symbol: opt_str(symbol, i),
                    kind: kind.value(i).to_string(),
                    start_line: s.value(i),
                    end_line: e.value(i),
                    text: text.value(i).to_string(),
                    distance: dist.map(|d| d.value(i)),
                });
            }
        }
        Ok(out)
    }
}
