use std::process::ExitCode;

use clap::Parser;
use triage::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    triage::logging::init();
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
    let global = cli.global;
    match cli.command {
        None => {
            triage::tui::launch::run(triage::tui::launch::Launch {
                global,
                cluster: cli.cluster,
                write: cli.write,
                prefill: None,
                offline: false,
            })
            .await
        }
        Some(Command::Index(args)) => triage::index::cmd_index(&global, &args).await,
        Some(Command::Search(args)) => triage::index::cmd_search(&global, &args).await,
        Some(Command::Issue(args)) => triage::index::cmd_issue(&global, &args).await,
        Some(Command::Related(args)) => triage::index::cmd_related(&global, &args).await,
        Some(Command::Eval(args)) => triage::eval::cmd_eval(&global, args).await,
        Some(Command::Demo(args)) => {
            let demo = triage::demo::prepare(&triage::demo::default_dir(), args.fresh)?;
            if args.headless {
                triage::headless::cmd_demo_headless(&global, &demo, args.json).await
            } else {
                triage::tui::launch::run(triage::tui::launch::Launch {
                    global: triage::cli::GlobalArgs {
                        repo: Some(demo.repo.clone()),
                        ..global
                    },
                    cluster: triage::cli::ClusterArgs {
                        replay: Some(demo.snapshot.clone()),
                        ..Default::default()
                    },
                    write: false,
                    prefill: Some(triage::demo::FIRST_QUESTION.to_string()),
                    offline: true,
                })
                .await
            }
        }
        Some(Command::Ask(args)) => triage::headless::cmd_ask(&global, &args).await,
        Some(Command::Sessions(args)) => triage::headless::cmd_sessions(&args),
        Some(Command::Memory(args)) => {
            let loc = triage::repo::RepoLocation::resolve(global.repo.as_deref(), None).ok();
            let config = triage::config::load(
                global.config.as_deref(),
                loc.as_ref().map(|l| l.root.as_path()),
            )?;
            let root = loc.as_ref().filter(|l| l.is_git).map(|l| l.root.as_path());
            triage::memory::cli::run(&args, &config.config, root).await
        }
        Some(Command::Mcp(args)) => triage::mcp::cmd::cmd_mcp(&global, &args).await,
        Some(Command::Kube(args)) => {
            let loc = triage::repo::RepoLocation::resolve(global.repo.as_deref(), None).ok();
            let config = triage::config::load(
                global.config.as_deref(),
                loc.as_ref().map(|l| l.root.as_path()),
            )?;
            let repo = loc.as_ref().filter(|l| l.is_git).map(|l| l.root.as_path());
            triage::kube::cli::run_in(args, &config.config, repo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Trust(args)) => {
            let loc = triage::repo::RepoLocation::resolve(global.repo.as_deref(), None)?;
            println!(
                "{}",
                triage::config::trust::run_trust(&loc.root, args.revoke)?
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Config(_)) => {
            let loc = triage::repo::RepoLocation::resolve(global.repo.as_deref(), None).ok();
            let config = triage::config::load(
                global.config.as_deref(),
                loc.as_ref().map(|l| l.root.as_path()),
            )?;
            print!("{}", triage::config::describe(&config));
            Ok(ExitCode::SUCCESS)
        }
    }
}
