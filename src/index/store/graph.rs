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
        self.edges_where(touching_filter(kinds, paths)).await
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

/// Edges of these kinds with either end among `paths`. Both ends are indexed, so the
/// `OR` of the two lists is answered from the indexes and only the kind is checked
/// on the rows they return.
fn touching_filter(kinds: &[String], paths: &[String]) -> String {
    format!(
        "({} OR {}) AND {}",
        in_list("src", paths),
        in_list("dst", paths),
        in_list("kind", kinds)
    )
}

#[cfg(test)]
mod tests {
    use lancedb::query::ExecutableQuery;

    use super::*;
    use crate::index::rows::Edge;

    fn edge(src: String, dst: String, kind: &'static str, weight: f32) -> Edge {
        Edge {
            src,
            dst,
            kind,
            weight,
            layer: "code",
            observed_at: 0,
        }
    }

    fn sorted(mut edges: Vec<EdgeRecord>) -> Vec<(String, String, String, u32)> {
        let mut out: Vec<_> = edges
            .drain(..)
            .map(|e| (e.src, e.dst, e.kind, e.weight.to_bits()))
            .collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn edges_touching_reads_the_same_edges_through_the_indexes_as_by_a_scan() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open_for_write(dir.path(), None, false)
            .await
            .unwrap();
        let kinds = ["references", "co_change", "defines"];
        let rows: Vec<Edge> = (0..3000)
            .map(|i| {
                let src = format!("src/m{}.rs", i % 97);
                let dst = if i % 13 == 0 {
                    "src/it's.rs".to_string()
                } else {
                    format!("src/m{}.rs", (i * 7) % 89)
                };
                edge(src, dst, kinds[i % 3], i as f32)
            })
            .collect();
        store.add_edges(&rows).await.unwrap();
        let want: Vec<String> = vec!["references".into(), "co_change".into()];
        let paths: Vec<String> = vec!["src/m3.rs".into(), "src/it's.rs".into()];

        let scanned = sorted(store.edges_touching(&want, &paths).await.unwrap());
        let maintenance = store.ensure_indexes(false).await.unwrap();
        assert!(maintenance.lookup_index_rebuilt);
        let plan = store
            .edges
            .query()
            .only_if(touching_filter(&want, &paths))
            .explain_plan(true)
            .await
            .unwrap();
        assert!(plan.contains("ScalarIndexQuery"), "no index in {plan}");
        let indexed = sorted(store.edges_touching(&want, &paths).await.unwrap());

        let expected: usize = rows
            .iter()
            .filter(|e| e.kind != "defines")
            .filter(|e| paths.contains(&e.src) || paths.contains(&e.dst))
            .count();
        assert!(expected > 100);
        assert_eq!(scanned.len(), expected);
        assert_eq!(indexed, scanned);
    }
}
