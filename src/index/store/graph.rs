//! Typed reads for the repository graph: the symbols and commits its edges are built
//! from, and the stored edges its walks load.

use arrow_array::{Array, Float32Array, Int64Array, StringArray, UInt32Array};
use lancedb::query::{QueryBase, Select};

use super::error::IndexError;
use super::query::file_list;
use super::schema::in_list;
use super::tables::Store;
use crate::index::rows::{CommitChange, EdgeRecord, SymbolUse};

impl Store {
    /// Every stored symbol occurrence: name, file, definition or reference.
    pub async fn symbol_uses(&self) -> Result<Vec<SymbolUse>, IndexError> {
        let q = self
            .symbols
            .query()
            .select(Select::columns(&["name", "path", "role"]));
        let rows = self.read("symbols", q).await?;
        let mut out = Vec::new();
        for b in &rows {
            let name = self.column::<StringArray>(b, "symbols", "name", "text")?;
            let path = self.column::<StringArray>(b, "symbols", "path", "text")?;
            let role = self.column::<StringArray>(b, "symbols", "role", "text")?;
            out.extend((0..b.num_rows()).map(|i| SymbolUse {
                name: name.value(i).to_string(),
                path: path.value(i).to_string(),
                is_def: role.value(i) == "def",
            }));
        }
        Ok(out)
    }

    /// The stored definitions of these names (lower-cased), wherever they are.
    pub async fn definitions_named(
        &self,
        names_lc: &[String],
    ) -> Result<Vec<SymbolUse>, IndexError> {
        let q = self
            .symbols
            .query()
            .only_if(format!("{} AND role = 'def'", in_list("name_lc", names_lc)))
            .select(Select::columns(&["name", "path"]));
        let rows = self.read("symbols", q).await?;
        let mut out = Vec::new();
        for b in &rows {
            let name = self.column::<StringArray>(b, "symbols", "name", "text")?;
            let path = self.column::<StringArray>(b, "symbols", "path", "text")?;
            out.extend((0..b.num_rows()).map(|i| SymbolUse {
                name: name.value(i).to_string(),
                path: path.value(i).to_string(),
                is_def: true,
            }));
        }
        Ok(out)
    }

    /// What every indexed commit changed: time, author, pull request, files.
    pub async fn commit_changes(&self) -> Result<Vec<CommitChange>, IndexError> {
        let q = self.commits.query().select(Select::columns(&[
            "time", "email", "pr", "files", "n_files",
        ]));
        let rows = self.read("commits", q).await?;
        let mut out = Vec::new();
        for b in &rows {
            let time = self.column::<Int64Array>(b, "commits", "time", "i64")?;
            let pr = self.column::<Int64Array>(b, "commits", "pr", "i64")?;
            let n = self.column::<UInt32Array>(b, "commits", "n_files", "u32")?;
            let email = self.column::<StringArray>(b, "commits", "email", "text")?;
            let files = self.column::<StringArray>(b, "commits", "files", "text")?;
            out.extend((0..b.num_rows()).map(|i| CommitChange {
                time: time.value(i),
                email: email.value(i).to_string(),
                pr: (!pr.is_null(i)).then(|| pr.value(i)),
                files: file_list(files.value(i)),
                n_files: n.value(i),
            }));
        }
        Ok(out)
    }

    /// The stored edges of these kinds.
    pub async fn edges_of_kinds(&self, kinds: &[String]) -> Result<Vec<EdgeRecord>, IndexError> {
        self.edges_where(in_list("kind", kinds)).await
    }

    /// The edges of these kinds with one end among `paths`.
    pub async fn edges_touching(
        &self,
        kinds: &[String],
        paths: &[String],
    ) -> Result<Vec<EdgeRecord>, IndexError> {
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let filter = format!(
            "{} AND ({} OR {})",
            in_list("kind", kinds),
            in_list("src", paths),
            in_list("dst", paths)
        );
        self.edges_where(filter).await
    }

    async fn edges_where(&self, filter: String) -> Result<Vec<EdgeRecord>, IndexError> {
        let q = self
            .edges
            .query()
            .only_if(filter)
            .select(Select::columns(&["src", "dst", "kind", "weight"]));
        let rows = self.read("edges", q).await?;
        let mut out = Vec::new();
        for b in &rows {
            let src = self.column::<StringArray>(b, "edges", "src", "text")?;
            let dst = self.column::<StringArray>(b, "edges", "dst", "text")?;
            let kind = self.column::<StringArray>(b, "edges", "kind", "text")?;
            let weight = self.column::<Float32Array>(b, "edges", "weight", "f32")?;
            out.extend((0..b.num_rows()).map(|i| EdgeRecord {
                src: src.value(i).to_string(),
                dst: dst.value(i).to_string(),
                kind: kind.value(i).to_string(),
                weight: weight.value(i),
            }));
        }
        Ok(out)
    }
}
