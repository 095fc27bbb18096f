//! What an import reports when a file cannot be read.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("slack export {}: {file}: {problem}", export.display())]
    Slack {
        export: PathBuf,
        file: String,
        problem: String,
    },
    #[error("postmortem {}: {problem}", file.display())]
    Postmortem { file: PathBuf, problem: String },
    #[error(transparent)]
    Store(#[from] crate::memory::MemoryError),
}
