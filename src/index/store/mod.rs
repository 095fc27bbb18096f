//! The index in LanceDB: tables `files`, `chunks` (full-text indexed, optional vectors),
//! `symbols`, `commits`, `edges` and `questions`, private to this module and its files.
//! Every write is a LanceDB version, so an interrupted run leaves the last committed
//! state readable; `meta.json` records the schema and the embedder. Everything outside
//! reads and writes the row types of `index/rows.rs` through typed functions, and gets
//! an [`IndexError`] saying which table of which index failed.

mod by_file;
mod error;
mod graph;
mod query;
mod questions;
mod schema;
mod tables;
mod vectors;
mod write;

pub use crate::index::rows::{ChunkRow, FileRow, FileState, SymbolRow};
pub use error::IndexError;
pub use query::{ChunkMatch, CommitFilter, CommitRecord, QuestionMatch, QuestionSource};
pub use tables::{
    EmbedderMeta, IndexTable, Meta, OpenState, SCHEMA_VERSION, Store, stored_embedder,
};
pub use vectors::{PendingChunks, VectorReuse};
pub use write::IndexMaintenance;
