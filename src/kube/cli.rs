//! `triage kube …` commands.

use clap::{Args, Subcommand};

use crate::cli::ClusterArgs;

#[derive(Debug, Args)]
pub struct KubeArgs {
    #[command(subcommand)]
    pub command: KubeCommand,
}

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Scan the cluster for findings, most severe first
    Scan {
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(args: KubeArgs, _config: &crate::config::Config) -> anyhow::Result<()> {
    match args.command {
        KubeCommand::Scan { .. } => anyhow::bail!("triage kube scan is not available yet"),
    }
}
