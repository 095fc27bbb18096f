//! `triage trust [--revoke]`: trust (or stop trusting) this repository's `.triage.toml`.

use std::process::ExitCode;

use anyhow::Result;

use super::args::{GlobalArgs, TrustArgs};
use crate::repo::RepoLocation;

pub fn run(global: &GlobalArgs, args: &TrustArgs) -> Result<ExitCode> {
    let loc = RepoLocation::resolve(global.repo.as_deref(), None)?;
    let message = crate::config::trust::run_trust(&loc.root, args.revoke)?;
    println!("{message}");
    Ok(ExitCode::SUCCESS)
}
