use std::process::ExitCode;

use clap::FromArgMatches;
use triage::commands::{self, args::Cli, args::Command};

fn main() -> ExitCode {
    let matches = commands::manual::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    triage::logging::init();
    triage::tls::ensure_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let global = &cli.global;
    let cluster = &cli.cluster;
    match cli.command {
        None => commands::tui::run(global, cluster, cli.write).await,
        Some(Command::Index(args)) => commands::index::run(global, &args).await,
        Some(Command::Search(args)) => commands::search::run(global, &args).await,
        Some(Command::Issue(args)) => commands::issue::run(global, &args).await,
        Some(Command::Related(args)) => commands::related::run(global, &args).await,
        Some(Command::Eval(args)) => commands::eval::run(global, args).await,
        Some(Command::Demo(args)) => commands::tui::demo(global, &args).await,
        Some(Command::Ask(args)) => commands::ask::run(global, cluster, &args).await,
        Some(Command::Sessions(args)) => commands::sessions::run(&args),
        Some(Command::Memory(args)) => commands::memory::run(global, &args).await,
        Some(Command::Kube(args)) => commands::kube::run(global, cluster, args).await,
        Some(Command::Doctor(args)) => commands::doctor::run(global, cluster, &args).await,
        Some(Command::Model(args)) => commands::model::run(global, &args).await,
        Some(Command::Completions { shell }) => commands::manual::completions(shell),
        Some(Command::Man { out_dir }) => commands::manual::man(out_dir.as_deref()),
        Some(Command::Mcp(args)) => commands::mcp::run(global, cluster, &args).await,
        Some(Command::Watch(args)) => commands::watch::run(global, cluster, &args).await,
        Some(Command::Trust(args)) => commands::trust::run(global, &args),
        Some(Command::Config(_)) => commands::config::run(global),
    }
}
