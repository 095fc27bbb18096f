//! Typed reads for a few named files at once: their definitions and their whole text,
//! for naming the functions of the files an issue ranking returns.

use std::collections::HashMap;

use lancedb::query::{QueryBase, Select};

use super::error::IndexError;
use super::schema::{FILES, in_list};
use super::tables::Store;
use crate::index::rows::SymbolRow;

impl Store {
    /// The definitions in these files.
    pub async fn definitions_in_files(
        &self,
        paths: &[String],
    ) -> Result<Vec<SymbolRow>, IndexError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let filter = format!("{} AND role = 'def'", in_list("path", paths));
        self.symbol_rows(&filter, None).await
    }

    /// The whole text of these files as indexed (path → text).
    pub async fn file_texts(
        &self,
        paths: &[String],
    ) -> Result<HashMap<String, String>, IndexError> {
        let mut out = HashMap::new();
        if paths.is_empty() {
            return Ok(out);
        }
        let q = self
            .files
            .query()
            .only_if(in_list("path", paths))
            .select(Select::columns(&["path", "search_text"]));
        for b in &self.read(FILES, q).await? {
            let (path, text) = (
                self.text(b, FILES, "path")?,
                self.text(b, FILES, "search_text")?,
            );
            for i in 0..b.num_rows() {
                // The searchable text is the path, a newline, then the file.
                let whole = text.value(i);
                let body = whole.split_once('\n').map(|(_, t)| t).unwrap_or("");
                out.insert(path.value(i).to_string(), body.to_string());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use lancedb::query::ExecutableQuery;

    use super::*;
    use crate::index::rows::FileRow;

    #[tokio::test]
    async fn file_texts_reads_the_same_files_through_the_path_index_as_by_a_scan() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_for_write(dir.path(), None, false)
            .await
            .unwrap();
        let rows: Vec<FileRow> = (0..2500)
            .map(|i| {
                let path = if i == 7 {
                    "src/it's.py".to_string()
                } else {
                    format!("src/m{i}.py")
                };
                FileRow {
                    search_text: format!("{path}\ndef f{i}():\n    return {i}\n"),
                    path,
                    hash: format!("{i:x}"),
                    lang: "python".into(),
                    size: 30,
                    mtime_ns: i,
                    chunks: 1,
                    lossy: false,
                }
            })
            .collect();
        store.upsert_files(&rows, true).await.unwrap();
        let paths: Vec<String> = vec!["src/m3.py".into(), "src/it's.py".into(), "gone.py".into()];

        let scanned = store.file_texts(&paths).await.unwrap();
        let maintenance = store.ensure_indexes(false).await.unwrap();
        assert!(maintenance.lookup_index_rebuilt);
        let plan = store
            .files
            .query()
            .only_if(in_list("path", &paths))
            .explain_plan(true)
            .await
            .unwrap();
        assert!(plan.contains("ScalarIndexQuery"), "no index in {plan}");
        let indexed = store.file_texts(&paths).await.unwrap();

        assert_eq!(scanned.len(), 2);
        assert_eq!(scanned["src/it's.py"], "def f7():\n    return 7\n");
        assert_eq!(indexed, scanned);
    }
}
