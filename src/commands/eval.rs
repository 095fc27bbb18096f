//! `triage eval localize | incidents | mine`: measure triage on suites and scenarios.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::args::{EvalArgs, EvalCommand, GlobalArgs};
use crate::eval::incidents;
use crate::eval::{EvalModel, LocalizeOptions, Split, localize, print_report};
use crate::index::localize::Signals;
use crate::repo::RepoLocation;

pub async fn run(global: &GlobalArgs, args: EvalArgs) -> Result<ExitCode> {
    match args.command {
        EvalCommand::Incidents {
            dir,
            memory,
            offline,
            split,
            as_watch,
            fit,
            json,
        } => {
            let opts = incidents::Options {
                memory: memory.into(),
                offline,
                progress: !json,
                split: split.into(),
                as_watch,
            };
            run_incidents(global, &dir, &opts, json, fit.as_deref()).await
        }
        EvalCommand::Localize {
            suite,
            json,
            signals,
            no_embed,
            llm,
            llm_questions,
            evidence,
            split,
        } => {
            let signals = Signals::parse(&signals)?;
            anyhow::ensure!(
                !llm_questions || signals.llm_questions,
                "--llm-questions writes model questions that these signals do not use: add llm_questions to --signals"
            );
            let mut loaded = crate::config::load(global.config.as_deref(), None)?;
            global.apply(&mut loaded);
            let mut config = loaded.config;
            if no_embed || !signals.vectors {
                config.embed.provider = crate::config::EmbedProvider::None;
            }
            let model = if llm || llm_questions {
                Some(EvalModel::from_config(&config, llm, llm_questions)?)
            } else {
                None
            };
            let mut evidence = match evidence {
                Some(path) => Some(std::io::BufWriter::new(
                    std::fs::File::create(&path)
                        .with_context(|| format!("creating {}", path.display()))?,
                )),
                None => None,
            };
            let opts = LocalizeOptions {
                signals,
                split: split.as_deref().map(parse_split).transpose()?,
                progress: !json,
                model: model.as_ref(),
            };
            let report = localize(
                &suite,
                &config,
                &opts,
                evidence.as_mut().map(|w| w as &mut dyn Write),
            )
            .await?;
            if let Some(mut w) = evidence {
                w.flush()?;
            }
            let mut out = std::io::stdout().lock();
            if json {
                serde_json::to_writer_pretty(&mut out, &report)?;
                writeln!(out)?;
            } else {
                print_report(&mut out, &report)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        EvalCommand::Mine { out, limit } => {
            let loc = RepoLocation::resolve(global.repo.as_deref(), None)?;
            anyhow::ensure!(loc.is_git, "{} is not a git repository", loc.root.display());
            let n = crate::eval::mine::mine(&loc.root, &out, limit)?;
            eprintln!("wrote {n} instances to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_split(s: &str) -> Result<Split> {
    match s {
        "tune" => Ok(Split::Tune),
        "held-out" => Ok(Split::HeldOut),
        other => anyhow::bail!("unknown split {other:?}; valid: tune, held-out"),
    }
}

async fn run_incidents(
    global: &GlobalArgs,
    dir: &Path,
    opts: &incidents::Options,
    json: bool,
    fit: Option<&Path>,
) -> Result<ExitCode> {
    let report = incidents::run(global.config.as_deref(), dir, opts).await?;
    if let Some(path) = fit {
        let samples = incidents::fit::samples(&report.scenarios);
        anyhow::ensure!(
            !samples.is_empty(),
            "--fit: no answer of the tune half recorded its confidence features (run with --split tune or all, --offline)"
        );
        let source = format!(
            "triage eval incidents {} --split tune --offline --memory {:?}{}: {} answers of the tune half",
            dir.display(),
            opts.memory,
            if opts.as_watch { " --as-watch" } else { "" },
            samples.len()
        );
        let f = incidents::fit::fit(samples, &source);
        f.write(path)?;
        eprintln!(
            "fitted on {} answers: lambda {}, leave-one-out log-loss {:.3} (base rate {:.3}), mean left-out curve right {:.2} / wrong {:.2}; wrote {}\n{}",
            f.samples.len(),
            f.lambda,
            f.loo_log_loss,
            f.base_log_loss,
            f.loo_mean_right,
            f.loo_mean_wrong,
            path.display(),
            f.constants()
        );
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        incidents::print(&mut out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}
