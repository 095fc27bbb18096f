//! The repository index: walk → syntax (tree-sitter tags) → chunks → store (LanceDB)
//! → embeddings → search.

pub mod chunk;
pub mod cochange;
pub mod functions;
pub mod fusion;
pub mod graph;
pub mod history;
pub mod lang;
pub mod learn;
pub mod llm_questions;
pub mod localize;
pub mod pipeline;
pub mod profile;
pub mod questions;
pub mod ranking;
pub mod rerank;
pub mod rows;
pub mod search;
pub mod signals;
pub mod store;
pub mod syntax;
pub mod walk;

use anyhow::Result;

use crate::config;
pub use pipeline::{IndexOptions, IndexSummary, run_index};
pub use search::{SearchResult, search};

/// Load the embedder an index was built with, when the config can provide it.
pub async fn embedder_for(
    store: &store::Store,
    config: &config::Config,
) -> Result<Option<crate::llm::embed::Embedder>> {
    let Some(meta) = &store.meta.embedder else {
        return Ok(None);
    };
    match crate::llm::embed::EmbedSpec::resolve(
        &config.embed,
        Some(meta),
        crate::llm::embed::Purpose::Code,
    )
    .await
    {
        Ok(Some(spec)) if spec.meta.id == meta.id => Ok(Some(spec.load().await?)),
        _ => Ok(None),
    }
}
