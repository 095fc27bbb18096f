//! What is generated from the clap definition itself: shell completions, man pages and
//! the version line (with the commit and the enabled features).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::CommandFactory;

use super::args::Cli;

/// `0.1.0 (commit 1a2b3c4d5e6f, features: s3)`. The commit is the one `scripts/install`
/// built from (`TRIAGE_GIT_COMMIT` at build time), `unknown` otherwise.
pub fn version_line() -> String {
    let features: Vec<&str> = [("s3", cfg!(feature = "s3"))]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(name, _)| name)
        .collect();
    format!(
        "{} (commit {}, features: {})",
        env!("CARGO_PKG_VERSION"),
        option_env!("TRIAGE_GIT_COMMIT")
            .filter(|c| !c.is_empty())
            .unwrap_or("unknown"),
        if features.is_empty() {
            "none".to_string()
        } else {
            features.join(", ")
        }
    )
}

/// The clap command with the version line filled in.
pub fn command() -> clap::Command {
    let version: &'static str = version_line().leak();
    Cli::command().version(version)
}

/// `triage completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<ExitCode> {
    let mut cmd = command();
    clap_complete::generate(shell, &mut cmd, "triage", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// `triage man`: the top page on stdout, or every page into `out_dir`.
pub fn man(out_dir: Option<&Path>) -> Result<ExitCode> {
    let cmd = command();
    match out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?;
            eprintln!(
                "wrote man pages into {} (man -l {}/triage.1)",
                dir.display(),
                dir.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
