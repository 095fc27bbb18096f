//! `triage model fetch|path`: the sentence model (memory recall, and the code index's vectors
//! when `embed.provider` asks), fetched into the cache folder triage searches by itself.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::args::{GlobalArgs, ModelArgs, ModelCommand};
use crate::llm::{embed, models};

pub async fn run(global: &GlobalArgs, args: &ModelArgs) -> Result<ExitCode> {
    match &args.command {
        ModelCommand::Fetch { from, dir, force } => {
            let dest = match dir {
                Some(d) => d.clone(),
                None => models::embed_model_dir().context(
                    "no cache folder for models (set XDG_CACHE_HOME or HOME, or pass --dir)",
                )?,
            };
            if models::is_complete(&dest) && !force {
                eprintln!(
                    "{} is already there ({}); --force fetches it again",
                    models::EMBED_MODEL_NAME,
                    dest.display()
                );
                return Ok(ExitCode::SUCCESS);
            }
            let source = models::Source::parse(from.as_deref().unwrap_or(models::EMBED_MODEL_URL));
            eprintln!(
                "fetching {} into {}",
                models::EMBED_MODEL_NAME,
                dest.display()
            );
            models::fetch(&source, &dest, &|name, bytes| {
                eprintln!("  {name} ({:.1} MB)", bytes as f64 / 1e6)
            })
            .await?;
            let meta = embed::local_meta(&dest)?;
            println!("{} ({}, {} dimensions)", dest.display(), meta.id, meta.dim);
            if dir.is_some() {
                eprintln!("point triage at it: TRIAGE_EMBED_MODEL={}", dest.display());
            } else {
                eprintln!("`triage index` now embeds with it");
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelCommand::Path => {
            let (cfg, _) = super::config_and_git_root(global)?;
            let e = &cfg.config.embed;
            match embed::find_model_dir(e) {
                Some(dir) => println!("{}", dir.display()),
                None => {
                    let looked: Vec<String> = embed::candidate_dirs(e)
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    eprintln!(
                        "no embedding model (looked in {}): search is lexical; `triage model fetch` gets one",
                        looked.join(", ")
                    );
                    return Ok(ExitCode::FAILURE);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
