//! The repository index: walk → syntax → chunks → store (LanceDB) → embeddings → search.

use std::process::ExitCode;

use crate::cli::{GlobalArgs, IndexArgs, SearchArgs};

pub async fn cmd_index(_global: &GlobalArgs, _args: &IndexArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}

pub async fn cmd_search(_global: &GlobalArgs, _args: &SearchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
