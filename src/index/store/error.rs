//! Errors at the index store's boundary: which table, which step, and where the index
//! lives, so a broken or outdated index says what to do about it.

use std::path::PathBuf;

/// What went wrong reading or writing the index (sources boxed: the error stays small
/// on the happy path).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A query against a table failed (missing files, a corrupt fragment).
    #[error("cannot read the {table} table of the index at {}: {source}", dir.display())]
    Read {
        table: &'static str,
        dir: PathBuf,
        #[source]
        source: Box<lancedb::Error>,
    },
    /// A write to a table failed; what was already stored is untouched.
    #[error("cannot write to the {table} table of the index at {}: {source}", dir.display())]
    Write {
        table: &'static str,
        dir: PathBuf,
        #[source]
        source: Box<lancedb::Error>,
    },
    /// A table's rows do not have the column a query expects: the index was written by
    /// another version of triage.
    #[error(
        "the {table} table of the index at {} has no {kind} column `{column}`; run `triage index --rebuild`",
        dir.display()
    )]
    Column {
        table: &'static str,
        column: &'static str,
        kind: &'static str,
        dir: PathBuf,
    },
    /// Rows could not be turned into a batch for a write.
    #[error("cannot build rows for the {table} table of the index at {}: {source}", dir.display())]
    Rows {
        table: &'static str,
        dir: PathBuf,
        #[source]
        source: Box<arrow_schema::ArrowError>,
    },
    /// Nothing is indexed here yet (or the index's metadata is gone).
    #[error("no index at {} (run `triage index` first)", dir.display())]
    Missing {
        dir: PathBuf,
        #[source]
        source: Box<IndexError>,
    },
    /// The index's tables cannot be opened or read back.
    #[error("the index at {} is unreadable; run `triage index` to rebuild it", dir.display())]
    Unreadable {
        dir: PathBuf,
        #[source]
        source: Box<IndexError>,
    },
    /// The LanceDB folder cannot be opened.
    #[error("cannot open LanceDB at {}: {source}", dir.display())]
    Connect {
        dir: PathBuf,
        #[source]
        source: Box<lancedb::Error>,
    },
    /// A file or folder of the index (metadata, profile, the tables' folder) cannot be
    /// read, written or removed.
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON file of the index does not parse (or cannot be written as JSON).
    #[error("{} is not valid {what}: {source}", path.display())]
    Json {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The index folder's path is not UTF-8 (LanceDB takes a string).
    #[error("index dir {} is not valid UTF-8", dir.display())]
    Path { dir: PathBuf },
    /// Vectors that do not fit the index's vector column.
    #[error("embedding has {got} dimensions, the index at {} expects {expected}", dir.display())]
    Dimensions {
        dir: PathBuf,
        expected: usize,
        got: usize,
    },
    /// Vectors written to an index built without an embedder.
    #[error("the index at {} has no vector column", dir.display())]
    NoVectors { dir: PathBuf },
}
