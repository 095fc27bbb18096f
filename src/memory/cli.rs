//! `triage memory list | show | add | edit | forget | export | import`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};

use super::{Memory, MemoryKind, MemoryStatus, Scope};

#[derive(Debug, Args)]
pub struct MemoryArgs {
    #[command(subcommand)]
    pub command: MemoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum MemoryCommand {
    /// Every memory, newest first
    List {
        /// Print JSON on stdout
        #[arg(long)]
        json: bool,
    },
    /// One memory in full
    Show { id: String },
    /// Remember something
    Add {
        /// procedural, episodic or correction
        #[arg(long, default_value = "correction")]
        kind: String,
        /// Where it applies: alert=, service=, namespace=, cluster=, paths= (repeatable)
        #[arg(long = "scope", value_name = "KEY=VALUE")]
        scope: Vec<String>,
        /// The memory itself
        #[arg(required = true)]
        text: Vec<String>,
    },
    /// Change a memory's text, kind, scope, status or confidence
    Edit {
        id: String,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        kind: Option<String>,
        /// Replaces the scope when given (repeatable)
        #[arg(long = "scope", value_name = "KEY=VALUE")]
        scope: Vec<String>,
        /// proposed, active or retired
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        confidence: Option<f32>,
    },
    /// Delete a memory
    Forget { id: String },
    /// Every memory as JSON on stdout
    Export,
    /// Add or replace memories from a JSON file written by `export`
    Import { file: std::path::PathBuf },
    /// Bring the repository's runbooks (`memory.runbooks`) in as procedural memories
    Sync,
}

fn parse_scope(pairs: &[String]) -> Result<Scope> {
    let mut scope = Scope::default();
    for p in pairs {
        scope.set(p).map_err(anyhow::Error::msg)?;
    }
    Ok(scope)
}

pub async fn run(
    args: &MemoryArgs,
    config: &crate::config::Config,
    repo_root: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let uri = super::configured_uri(&config.memory)
        .context("no data directory for memories: set memory.uri in config")?;
    let store = super::open(config).await?;
    let mut out = std::io::stdout().lock();
    match &args.command {
        MemoryCommand::List { json } => {
            let all = store.list().await?;
            if *json {
                serde_json::to_writer_pretty(&mut out, &all)?;
                writeln!(out)?;
            } else if all.is_empty() {
                writeln!(out, "no memories in {uri}")?;
            }
            if !*json {
                for m in all {
                    writeln!(
                        out,
                        "{}  {:<10} {:<8} {:<11} {:.2}  checked +{} -{}  {}  [{}]",
                        m.id,
                        m.kind.as_str(),
                        m.status.as_str(),
                        if m.unconfirmed() {
                            "unconfirmed"
                        } else {
                            "confirmed"
                        },
                        m.confidence,
                        m.confirmations,
                        m.contradictions,
                        m.text.lines().next().unwrap_or(""),
                        m.scope
                    )?;
                }
            }
        }
        MemoryCommand::Show { id } => {
            let m = store.get(id).await?;
            serde_json::to_writer_pretty(&mut out, &m)?;
            writeln!(out)?;
        }
        MemoryCommand::Add { kind, scope, text } => {
            let kind = MemoryKind::parse(kind).map_err(anyhow::Error::msg)?;
            let m = Memory::new(kind, text.join(" "), parse_scope(scope)?, "user");
            store.upsert(std::slice::from_ref(&m)).await?;
            writeln!(out, "{}", m.id)?;
        }
        MemoryCommand::Edit {
            id,
            text,
            kind,
            scope,
            status,
            confidence,
        } => {
            let mut m = store.get(id).await?;
            // A person looked at it and changed it: it counts as confirmed.
            m.reviewed = true;
            if let Some(t) = text {
                m.text = t.clone();
            }
            if let Some(k) = kind {
                m.kind = MemoryKind::parse(k).map_err(anyhow::Error::msg)?;
            }
            if !scope.is_empty() {
                m.scope = parse_scope(scope)?;
            }
            if let Some(s) = status {
                m.status = match s.as_str() {
                    "proposed" => MemoryStatus::Proposed,
                    "active" => MemoryStatus::Active,
                    "retired" => MemoryStatus::Retired,
                    other => bail!("unknown status {other:?}; use proposed, active or retired"),
                };
            }
            if let Some(c) = confidence {
                if !(0.0..=1.0).contains(c) {
                    bail!("confidence {c} is outside 0..1");
                }
                m.confidence = *c;
            }
            m.updated = chrono::Utc::now().timestamp();
            store.upsert(std::slice::from_ref(&m)).await?;
            writeln!(out, "{}", m.id)?;
        }
        MemoryCommand::Forget { id } => {
            store.forget(id).await?;
            writeln!(out, "forgot {id}")?;
        }
        MemoryCommand::Export => {
            let all = store.list().await?;
            serde_json::to_writer_pretty(&mut out, &all)?;
            writeln!(out)?;
        }
        MemoryCommand::Sync => {
            let root = repo_root.context("not inside a repository: runbooks live in one")?;
            let r = super::runbooks::sync(&store, root, &config.memory.runbooks).await?;
            writeln!(
                out,
                "runbooks in {}: {} added, {} updated, {} removed, {} unchanged",
                config.memory.runbooks, r.added, r.updated, r.removed, r.unchanged
            )?;
        }
        MemoryCommand::Import { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let memories: Vec<Memory> = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not a memory export (a JSON array from `triage memory export`)",
                    file.display()
                )
            })?;
            store.upsert(&memories).await?;
            writeln!(out, "imported {} memories", memories.len())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
