//! The commands layer: the clap types ([`args`]) and one file per command. Nothing below
//! this layer sees a clap type; each command turns its arguments into plain values.

pub mod args;
pub mod ask;
pub mod config;
pub mod doctor;
pub mod duration;
pub mod eval;
pub mod eval_args;
pub mod index;
pub mod issue;
pub mod kube;
mod kube_get;
pub mod manual;
pub mod mcp;
pub mod memory;
pub mod model;
pub mod related;
pub mod search;
pub mod sessions;
pub mod stdin;
pub mod trust;
pub mod tui;
pub mod watch;

use std::path::PathBuf;

use anyhow::Result;

use crate::config::LoadedConfig;
use crate::repo::RepoLocation;
use args::GlobalArgs;

/// The repository (required) and its configuration, for the commands that read an index.
fn repo_and_config(global: &GlobalArgs) -> Result<(RepoLocation, LoadedConfig)> {
    let loc = RepoLocation::resolve(global.repo.as_deref(), global.index_dir.as_deref())?;
    let mut cfg = crate::config::load(global.config.as_deref(), Some(&loc.root))?;
    global.apply(&mut cfg);
    Ok((loc, cfg))
}

/// The configuration, and the repository root when the command runs inside a git
/// repository (`kube` links findings to it, `memory sync` reads its runbooks).
fn config_and_git_root(global: &GlobalArgs) -> Result<(LoadedConfig, Option<PathBuf>)> {
    let loc = RepoLocation::resolve(global.repo.as_deref(), None).ok();
    let mut config = crate::config::load(
        global.config.as_deref(),
        loc.as_ref().map(|l| l.root.as_path()),
    )?;
    global.apply(&mut config);
    let root = loc.filter(|l| l.is_git).map(|l| l.root);
    Ok((config, root))
}
