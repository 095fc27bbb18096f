//! Writes to the index's tables: chunks, symbols, files, questions, commits and edges
//! added, replaced and deleted; the secondary indexes kept current; compaction.

use std::sync::Arc;

use arrow_array::{
    BooleanArray, Float32Array, Int64Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use lancedb::Table;
use lancedb::index::Index;
use lancedb::index::scalar::{BTreeIndexBuilder, BitmapIndexBuilder, FtsIndexBuilder};
use lancedb::table::OptimizeAction;
use serde::Serialize;

use super::error::IndexError;
use super::schema::{
    CHUNKS, COMMITS, EDGES, FILES, QUESTIONS, SYMBOLS, chunk_batch, commits_schema, edges_schema,
    files_schema, fts_params, in_list, questions_schema, strings, symbols_schema,
};
use super::tables::Store;
use super::vectors::VectorReuse;
use crate::index::rows::{ChunkRow, FileRow, SymbolRow};

impl Store {
    /// Remove every chunk and symbol of these files (changed, new or deleted).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_content(&self, paths: &[String]) -> Result<(), IndexError> {
        for part in paths.chunks(500) {
            let pred = in_list("path", part);
            let delete = async |table: &Table, name: &'static str| {
                table
                    .delete(pred.as_str())
                    .await
                    .map_err(|e| self.write_error(name, e))
            };
            tokio::try_join!(
                delete(&self.chunks, CHUNKS),
                delete(&self.symbols, SYMBOLS),
                delete(&self.questions, QUESTIONS),
            )?;
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_files(&self, paths: &[String]) -> Result<(), IndexError> {
        for part in paths.chunks(500) {
            self.files
                .delete(in_list("path", part).as_str())
                .await
                .map_err(|e| self.write_error(FILES, e))?;
        }
        Ok(())
    }

    /// Remove everything (a first run that was interrupted left partial rows).
    pub async fn clear_content(&self) -> Result<(), IndexError> {
        for (table, name) in [
            (&self.chunks, CHUNKS),
            (&self.symbols, SYMBOLS),
            (&self.questions, QUESTIONS),
        ] {
            table
                .delete("true")
                .await
                .map_err(|e| self.write_error(name, e))?;
        }
        Ok(())
    }

    /// Append chunks; those `reuse` knows keep their vector, the rest wait for one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_chunks(
        &self,
        rows: &[ChunkRow],
        reuse: &VectorReuse,
    ) -> Result<usize, IndexError> {
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
        let batch = chunk_batch(rows, dim, (reused > 0).then_some(vectors.as_slice()))
            .map_err(|e| self.batch_error(CHUNKS, e))?;
        self.chunks
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.write_error(CHUNKS, e))?;
        Ok(reused)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_symbols(&self, rows: &[SymbolRow]) -> Result<(), IndexError> {
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
        )
        .map_err(|e| self.batch_error(SYMBOLS, e.into()))?;
        self.symbols
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.write_error(SYMBOLS, e))?;
        Ok(())
    }

    /// Insert or replace file rows (by path). `fresh`: none of them exist yet, so a plain
    /// append does (much cheaper than a merge).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn upsert_files(&self, rows: &[FileRow], fresh: bool) -> Result<(), IndexError> {
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
                strings(rows.iter().map(|r| r.search_text.as_str())),
            ],
        )
        .map_err(|e| self.batch_error(FILES, e.into()))?;
        if fresh {
            self.files
                .add(batch)
                .execute()
                .await
                .map_err(|e| self.write_error(FILES, e))?;
            return Ok(());
        }
        self.upsert(&self.files, FILES, "path", batch).await
    }

    /// Build or refresh the secondary indexes. A full-text index is (re)built when it is
    /// missing or when many rows are not covered yet; otherwise the few new rows are
    /// searched without it (LanceDB searches unindexed rows too).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn ensure_indexes(&self, force: bool) -> Result<IndexMaintenance, IndexError> {
        let commit_fts = FtsIndexBuilder::default()
            .stem(true)
            .remove_stop_words(true);
        Ok(IndexMaintenance {
            fts_rebuilt: ensure_index(
                (&self.chunks, CHUNKS),
                "search_text",
                "search_text_idx",
                Index::FTS(fts_params()),
                200,
                force,
            )
            .await
            .map_err(|(t, e)| self.write_error(t, e))?,
            question_index_rebuilt: ensure_index(
                (&self.questions, QUESTIONS),
                "question",
                "question_idx",
                Index::FTS(fts_params()),
                200,
                force,
            )
            .await
            .map_err(|(t, e)| self.write_error(t, e))?,
            file_index_rebuilt: ensure_index(
                (&self.files, FILES),
                "search_text",
                "file_text_idx",
                Index::FTS(fts_params()),
                200,
                force,
            )
            .await
            .map_err(|(t, e)| self.write_error(t, e))?,
            commit_index_rebuilt: ensure_index(
                (&self.commits, COMMITS),
                "search_text",
                "commit_text_idx",
                Index::FTS(commit_fts),
                200,
                force,
            )
            .await
            .map_err(|(t, e)| self.write_error(t, e))?,
            symbol_index_rebuilt: ensure_index(
                (&self.symbols, SYMBOLS),
                "name_lc",
                "name_lc_idx",
                Index::BTree(BTreeIndexBuilder::default()),
                2000,
                force,
            )
            .await
            .map_err(|(t, e)| self.write_error(t, e))?
                // Name lookups keep only definitions (`name_lc IN .. AND role = 'def'`);
                // indexing the role too cut a refresh's lookup on rust-tree from about
                // 100 to 60 ms.
                | ensure_index(
                    (&self.symbols, SYMBOLS),
                    "role",
                    "role_idx",
                    Index::Bitmap(BitmapIndexBuilder::default()),
                    2000,
                    force,
                )
                .await
                .map_err(|(t, e)| self.write_error(t, e))?
                // A returned file's definitions (`path IN .. AND role = 'def'`) and a
                // refresh's delete of a file's rows look symbols up by path.
                | ensure_index(
                    (&self.symbols, SYMBOLS),
                    "path",
                    "symbol_path_idx",
                    Index::BTree(BTreeIndexBuilder::default()),
                    2000,
                    force,
                )
                .await
                .map_err(|(t, e)| self.write_error(t, e))?,
            lookup_index_rebuilt: self.ensure_lookup_indexes(force).await?,
        })
    }

    /// Reads by a few paths, answered from BTree indexes instead of a scan of the whole
    /// table: a query's graph step reads the edges touching a few files
    /// (`src IN .. OR dst IN ..`, and a refresh deletes edges by either end), and naming
    /// the functions of the returned files reads those files' text (`path IN ..`).
    async fn ensure_lookup_indexes(&self, force: bool) -> Result<bool, IndexError> {
        let mut rebuilt = false;
        for (table, column, name) in [
            ((&self.edges, EDGES), "src", "edge_src_idx"),
            ((&self.edges, EDGES), "dst", "edge_dst_idx"),
            ((&self.files, FILES), "path", "file_path_idx"),
        ] {
            rebuilt |= ensure_index(
                table,
                column,
                name,
                Index::BTree(BTreeIndexBuilder::default()),
                2000,
                force,
            )
            .await
            .map_err(|(t, e)| self.write_error(t, e))?;
        }
        Ok(rebuilt)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_questions(
        &self,
        rows: &[crate::index::rows::QuestionRow],
    ) -> Result<(), IndexError> {
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
        )
        .map_err(|e| self.batch_error(QUESTIONS, e.into()))?;
        self.questions
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.write_error(QUESTIONS, e))?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_commits(
        &self,
        rows: &[crate::index::history::CommitInfo],
    ) -> Result<(), IndexError> {
        if rows.is_empty() {
            return Ok(());
        }
        // A run killed before recording the new history head adds these again.
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        for part in ids.chunks(500) {
            self.commits
                .delete(in_list("id", part).as_str())
                .await
                .map_err(|e| self.write_error(COMMITS, e))?;
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
        )
        .map_err(|e| self.batch_error(COMMITS, e.into()))?;
        self.commits
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.write_error(COMMITS, e))?;
        Ok(())
    }

    pub async fn clear_commits(&self) -> Result<(), IndexError> {
        self.commits
            .delete("true")
            .await
            .map_err(|e| self.write_error(COMMITS, e))?;
        Ok(())
    }

    /// Remove the edges of these kinds that start at these nodes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_edges_from(
        &self,
        kinds: &[&str],
        srcs: &[String],
    ) -> Result<(), IndexError> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        for part in srcs.chunks(500) {
            let pred = format!("{} AND {}", in_list("kind", &kinds), in_list("src", part));
            self.edges
                .delete(pred.as_str())
                .await
                .map_err(|e| self.write_error(EDGES, e))?;
        }
        Ok(())
    }

    /// Remove the edges of these kinds that end at these nodes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_edges_to(&self, kinds: &[&str], dsts: &[String]) -> Result<(), IndexError> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        for part in dsts.chunks(500) {
            let pred = format!("{} AND {}", in_list("kind", &kinds), in_list("dst", part));
            self.edges
                .delete(pred.as_str())
                .await
                .map_err(|e| self.write_error(EDGES, e))?;
        }
        Ok(())
    }

    /// Replace every edge of these kinds.
    pub async fn replace_edges(
        &self,
        kinds: &[&str],
        rows: &[crate::index::rows::Edge],
    ) -> Result<(), IndexError> {
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        self.edges
            .delete(in_list("kind", &kinds).as_str())
            .await
            .map_err(|e| self.write_error(EDGES, e))?;
        self.add_edges(rows).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn add_edges(&self, rows: &[crate::index::rows::Edge]) -> Result<(), IndexError> {
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
        )
        .map_err(|e| self.batch_error(EDGES, e.into()))?;
        self.edges
            .add(batch)
            .execute()
            .await
            .map_err(|e| self.write_error(EDGES, e))?;
        Ok(())
    }

    /// Compact small fragments left by many small writes and drop old versions'
    /// files (keeping the last hour for readers that are still open).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn compact(&self) -> Result<(), IndexError> {
        for (t, name) in [
            (&self.files, FILES),
            (&self.chunks, CHUNKS),
            (&self.symbols, SYMBOLS),
            (&self.commits, COMMITS),
            (&self.edges, EDGES),
        ] {
            t.optimize(OptimizeAction::Compact {
                options: Default::default(),
                remap_options: None,
            })
            .await
            .map_err(|e| self.write_error(name, e))?;
            t.optimize(OptimizeAction::Prune {
                older_than: Some(chrono::TimeDelta::hours(1)),
                delete_unverified: Some(false),
                error_if_tagged_old_versions: Some(false),
            })
            .await
            .map_err(|e| self.write_error(name, e))?;
        }
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct IndexMaintenance {
    pub fts_rebuilt: bool,
    pub question_index_rebuilt: bool,
    pub file_index_rebuilt: bool,
    pub commit_index_rebuilt: bool,
    pub symbol_index_rebuilt: bool,
    pub lookup_index_rebuilt: bool,
}

/// Build `index` on `column` when it is missing, or rebuild it when many rows are not
/// covered yet (more than `slack` and a tenth of the indexed ones); otherwise the few
/// new rows are searched without it (LanceDB searches unindexed rows too). A rebuild
/// compacts first, so the index covers few, large fragments.
async fn ensure_index(
    (table, table_name): (&Table, &'static str),
    column: &str,
    name: &str,
    index: Index,
    slack: usize,
    force: bool,
) -> Result<bool, (&'static str, lancedb::Error)> {
    let failed = |e| (table_name, e);
    let stats = table.index_stats(name).await.ok().flatten();
    let needed = match &stats {
        None => table.count_rows(None).await.map_err(failed)? > 0,
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
            .await
            .map_err(failed)?;
    }
    table
        .create_index(&[column], index)
        .name(name.to_string())
        .replace(true)
        .execute()
        .await
        .map_err(failed)?;
    Ok(true)
}
