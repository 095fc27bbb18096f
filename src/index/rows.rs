//! The rows the index stores, as plain values: what the pipeline, the graph and the
//! questions hand to the store and what its typed queries return.

/// Stored state of one file, to decide what a run must redo.
#[derive(Debug, Clone, PartialEq)]
pub struct FileState {
    pub hash: String,
    pub size: u64,
    pub mtime_ns: i64,
}

#[derive(Debug, Clone)]
pub struct FileRow {
    pub path: String,
    pub hash: String,
    pub lang: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub chunks: u32,
    pub lossy: bool,
    /// The path and the whole text: the file as one document for full-text search.
    pub search_text: String,
}

#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub id: String,
    pub path: String,
    pub lang: String,
    pub symbol: Option<String>,
    pub symbols: String,
    pub kind: String,
    pub parent: Option<String>,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
    pub search_text: String,
}

#[derive(Debug, Clone)]
pub struct SymbolRow {
    pub name: String,
    pub kind: String,
    /// `def` or `ref`.
    pub role: &'static str,
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub parent: Option<String>,
    pub doc: Option<String>,
}

/// A synthetic question that leads to a chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRow {
    pub chunk_id: String,
    pub path: String,
    pub symbol: Option<String>,
    pub start_line: u32,
    pub end_line: u32,
    pub question: String,
}

/// One edge of the repository graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub src: String,
    pub dst: String,
    pub kind: &'static str,
    pub weight: f32,
    pub layer: &'static str,
    pub observed_at: i64,
}

/// A symbol's name where it occurs, as the graph reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolUse {
    pub name: String,
    pub path: String,
    /// A definition (`def`), not a reference.
    pub is_def: bool,
}

/// What one commit changed, as the history edges read it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitChange {
    /// Seconds since the epoch.
    pub time: i64,
    pub email: String,
    pub pr: Option<i64>,
    pub files: Vec<String>,
    /// Files the commit changed, before any cap on the stored list.
    pub n_files: u32,
}

/// A stored edge between two nodes, with its kind and weight.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRecord {
    pub src: String,
    pub dst: String,
    pub kind: String,
    pub weight: f32,
}

/// A chunk's text and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkText {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub text: String,
}

/// What a chunk waiting for a vector is embedded from.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedInput {
    pub path: String,
    pub symbol: Option<String>,
    pub text: String,
}
