//! `triage config`: every effective key, where it came from, and what was ignored.

use std::process::ExitCode;

use anyhow::Result;

use super::args::GlobalArgs;

pub fn run(global: &GlobalArgs) -> Result<ExitCode> {
    let (config, _) = super::config_and_git_root(global)?;
    print!("{}", crate::config::describe(&config));
    Ok(ExitCode::SUCCESS)
}
