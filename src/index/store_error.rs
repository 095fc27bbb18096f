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
}
