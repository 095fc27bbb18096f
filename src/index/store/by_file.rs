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
