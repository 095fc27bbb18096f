//! Memories: what triage learned, stored in their own LanceDB database (per user by
//! default; `memory.uri` may point anywhere LanceDB can). Three kinds: procedural
//! (runbooks, learned procedures), episodic (past investigations) and corrections (rules
//! a user gave). Recall matches scope first, then words; a recalled memory is a
//! hypothesis to verify, never a fact.

pub mod import;
pub mod runbooks;
mod store;
mod types;

pub use store::{MemoryError, MemoryStore, configured_uri, default_uri};
pub use types::*;

/// Bring the repository's runbooks into the memory database. Never fatal: a failure is
/// logged and returned as text for the caller to show.
pub async fn sync_repo_runbooks(
    cfg: &crate::config::MemoryConfig,
    repo_root: &std::path::Path,
) -> Result<runbooks::SyncReport, String> {
    let store = MemoryStore::from_config(cfg)
        .await
        .map_err(|e| e.to_string())?;
    runbooks::sync(&store, repo_root, &cfg.runbooks)
        .await
        .map_err(|e| {
            tracing::warn!("runbook sync: {e}");
            e.to_string()
        })
}

/// The memory database config names, with vectors from the `[embed]` model when
/// `memory.vectors` is on and a model is configured (loaded on first use).
pub async fn open(config: &crate::config::Config) -> Result<MemoryStore, MemoryError> {
    let store = MemoryStore::from_config(&config.memory).await?;
    if !config.memory.vectors {
        return Ok(store);
    }
    // Memories learn an endpoint's vector size from the endpoint.
    match crate::llm::embed::EmbedSpec::resolve(
        &config.embed,
        None,
        crate::llm::embed::Purpose::Memories,
    )
    .await
    {
        Ok(Some(spec)) => Ok(store.with_vectors(spec)),
        Ok(None) => Ok(store),
        Err(e) => {
            tracing::warn!("memory vectors are off: {e:#}");
            Ok(store)
        }
    }
}
