//! Typed reads of the index: what retrieval asks the store, answered as rows rather
//! than Arrow batches, so nothing above the store builds a LanceDB query.

use anyhow::{Context, Result};
use arrow_array::{Array, Int64Array, RecordBatch};
use futures::TryStreamExt;
use lancedb::index::scalar::FullTextSearchQuery;
use lancedb::query::{ExecutableQuery, QueryBase, Select};

use super::profile::StoredProfile;
use super::store::{Store, SymbolRow, f32_col, in_list, opt_str, str_col, u32_col};

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
    pub fn load_profile(&self) -> Result<StoredProfile> {
        let path = self.dir.join(PROFILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid profile", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoredProfile::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    pub fn save_profile(&self, profile: &StoredProfile) -> Result<()> {
        let path = self.dir.join(PROFILE);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(profile)?)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    pub async fn count_chunks(&self) -> Result<usize> {
        Ok(self.chunks.count_rows(None).await?)
    }

    pub async fn count_commits(&self) -> Result<usize> {
        Ok(self.commits.count_rows(None).await?)
    }

    pub async fn count_questions(&self, source: QuestionSource) -> Result<usize> {
        Ok(self
            .questions
            .count_rows(Some(source.filter().to_string()))
            .await?)
    }

    /// Chunks ranked by BM25 for `query`, best first.
    pub async fn chunks_matching(&self, query: &str, limit: usize) -> Result<Vec<ChunkMatch>> {
        let rows = collect(
            self.chunks
                .query()
                .full_text_search(FullTextSearchQuery::new(query.to_string()))
                .select(Select::columns(&CHUNK_COLUMNS))
                .limit(limit),
        )
        .await?;
        chunk_matches(&rows)
    }

    /// The `limit` chunks nearest to `vector` (cosine), among chunks that have one.
    pub async fn nearest_chunks(&self, vector: Vec<f32>, limit: usize) -> Result<Vec<ChunkMatch>> {
        let rows: Vec<RecordBatch> = self
            .chunks
            .vector_search(vector)?
            .column("vector")
            .distance_type(lancedb::DistanceType::Cosine)
            .only_if("vector IS NOT NULL")
            .select(Select::columns(&CHUNK_COLUMNS))
            .limit(limit)
            .execute()
            .await?
            .try_collect()
            .await?;
        chunk_matches(&rows)
    }

    /// Symbol rows whose lower-cased name is one of `names_lc`; definitions only when
    /// `defs_only`.
    pub async fn symbols_named(
        &self,
        names_lc: &[String],
        defs_only: bool,
        limit: usize,
    ) -> Result<Vec<SymbolRow>> {
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
    pub async fn definitions_in(&self, path: &str) -> Result<Vec<SymbolRow>> {
        let filter = format!("path = '{}' AND role = 'def'", escape(path));
        self.symbol_rows(&filter, None).await
    }

    /// The innermost definition around `line` of `path`.
    pub async fn definition_at(&self, path: &str, line: u32) -> Result<Option<SymbolRow>> {
        let filter = format!(
            "path = '{}' AND role = 'def' AND start_line <= {line} AND end_line >= {line}",
            escape(path)
        );
        let rows = self.symbol_rows(&filter, None).await?;
        Ok(rows.into_iter().min_by_key(|r| r.end_line - r.start_line))
    }

    /// Every indexed file path.
    pub async fn file_paths(&self) -> Result<Vec<String>> {
        let rows = collect(self.files.query().select(Select::columns(&["path"]))).await?;
        let mut out = Vec::new();
        for b in &rows {
            let p = str_col(b, "path")?;
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
    ) -> Result<Vec<QuestionMatch>> {
        let rows = collect(
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
                str_col(b, "path")?,
                str_col(b, "symbol")?,
                str_col(b, "question")?,
            );
            let (s, e) = (u32_col(b, "start_line")?, u32_col(b, "end_line")?);
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
    ) -> Result<Vec<CommitRecord>> {
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
        let rows = collect(q.select(Select::columns(&COMMIT_COLUMNS)).limit(limit)).await?;
        let mut out = Vec::new();
        for b in &rows {
            let (id, author, summary, body, files) = (
                str_col(b, "id")?,
                str_col(b, "author")?,
                str_col(b, "summary")?,
                str_col(b, "body")?,
                str_col(b, "files")?,
            );
            let time = i64_col(b, "time")?;
            let pr = i64_col(b, "pr")?;
            for i in 0..b.num_rows() {
                out.push(CommitRecord {
                    id: id.value(i).to_string(),
                    time: time.value(i),
                    author: author.value(i).to_string(),
                    summary: summary.value(i).to_string(),
                    body: body.value(i).to_string(),
                    pr: (!pr.is_null(i)).then(|| pr.value(i)),
                    files: files
                        .value(i)
                        .split('\n')
                        .filter(|f| !f.is_empty())
                        .map(str::to_string)
                        .collect(),
                });
            }
        }
        Ok(out)
    }
}

fn escape(s: &str) -> String {
    s.replace('\'', "''")
}

fn i64_col<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a Int64Array> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
        .with_context(|| format!("column {name} missing or not i64"))
}

async fn collect(q: lancedb::query::Query) -> Result<Vec<RecordBatch>> {
    Ok(q.execute().await?.try_collect().await?)
}

fn chunk_matches(rows: &[RecordBatch]) -> Result<Vec<ChunkMatch>> {
    let mut out = Vec::new();
    for b in rows {
        let (id, path, symbol, kind, text) = (
            str_col(b, "id")?,
            str_col(b, "path")?,
            str_col(b, "symbol")?,
            str_col(b, "kind")?,
            str_col(b, "text")?,
        );
        let (s, e) = (u32_col(b, "start_line")?, u32_col(b, "end_line")?);
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
