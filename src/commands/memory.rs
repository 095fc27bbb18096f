//! `triage memory list | show | add | edit | forget | export | import`.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use super::args::{GlobalArgs, MemoryArgs, MemoryCommand};
use crate::memory::{Memory, MemoryKind, MemoryStatus, Scope};

/// `memory edit`'s changes, each checked.
fn apply_edit(
    m: &mut Memory,
    text: Option<&str>,
    kind: Option<&str>,
    scope: &[String],
    status: Option<&str>,
    confidence: Option<f32>,
) -> Result<()> {
    // A person looked at it and changed it: it counts as confirmed.
    m.reviewed = true;
    if let Some(t) = text {
        m.text = t.to_string();
    }
    if let Some(k) = kind {
        m.kind = MemoryKind::parse(k).map_err(anyhow::Error::msg)?;
    }
    if !scope.is_empty() {
        m.scope = parse_scope(scope)?;
    }
    if let Some(s) = status {
        m.status = match s {
            "proposed" => MemoryStatus::Proposed,
            "active" => MemoryStatus::Active,
            "retired" => MemoryStatus::Retired,
            other => bail!("unknown status {other:?}; use proposed, active or retired"),
        };
    }
    if let Some(c) = confidence {
        if !(0.0..=1.0).contains(&c) {
            bail!("confidence {c} is outside 0..1");
        }
        m.confidence = c;
    }
    Ok(())
}

fn parse_scope(pairs: &[String]) -> Result<Scope> {
    let mut scope = Scope::default();
    for p in pairs {
        scope.set(p).map_err(anyhow::Error::msg)?;
    }
    Ok(scope)
}

pub async fn run(global: &GlobalArgs, args: &MemoryArgs) -> Result<ExitCode> {
    let (config, root) = super::config_and_git_root(global)?;
    run_in(args, &config.config, root.as_deref()).await
}

/// One memory in `triage memory list`: whether anyone confirmed it, and its first line.
fn list_line(out: &mut impl Write, m: &Memory) -> std::io::Result<()> {
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
    )
}

async fn run_in(
    args: &MemoryArgs,
    config: &crate::config::Config,
    repo_root: Option<&std::path::Path>,
) -> Result<ExitCode> {
    let uri = crate::memory::configured_uri(&config.memory)
        .context("no data directory for memories: set memory.uri in config")?;
    let store = crate::memory::open(config).await?;
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    match &args.command {
        MemoryCommand::List { json } => print_list(&mut out, &store.list().await?, &uri, *json)?,
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
            apply_edit(
                &mut m,
                text.as_deref(),
                kind.as_deref(),
                scope,
                status.as_deref(),
                *confidence,
            )?;
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
            let r = crate::memory::runbooks::sync(&store, root, &config.memory.runbooks).await?;
            writeln!(
                out,
                "runbooks in {}: {} added, {} updated, {} removed, {} unchanged",
                config.memory.runbooks, r.added, r.updated, r.removed, r.unchanged
            )?;
        }
        MemoryCommand::Import {
            file: Some(file), ..
        } => import_file(&store, file, &mut out).await?,
        MemoryCommand::Import {
            file: None,
            slack,
            channel,
            postmortem,
            json,
        } => {
            if slack.is_empty() && postmortem.is_empty() {
                bail!(
                    "import what? a JSON export (triage memory import FILE), a Slack export (--slack DIR|ZIP) or postmortems (--postmortem PATH)"
                );
            }
            let report = crate::memory::import::import(&store, slack, channel, postmortem).await?;
            print_import(&mut out, &report, *json)?;
        }
        MemoryCommand::Confirm { ids } => {
            for line in crate::memory::import::confirm(&store, ids).await? {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `memory import FILE`: memories from a JSON export, added or replaced.
async fn import_file(
    store: &crate::memory::MemoryStore,
    file: &std::path::Path,
    out: &mut impl Write,
) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let memories: Vec<Memory> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a memory export (a JSON array from `triage memory export`)",
            file.display()
        )
    })?;
    store.upsert(&memories).await?;
    writeln!(out, "imported {} memories", memories.len())?;
    Ok(())
}

fn print_import(
    out: &mut impl Write,
    r: &crate::memory::import::ImportReport,
    json: bool,
) -> Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, r)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "read {} threads and {} postmortems: {} incidents, {} proposed, {} already confirmed",
        r.threads_read,
        r.postmortems_read,
        r.incidents,
        r.proposed.len(),
        r.kept.len()
    )?;
    for p in &r.proposed {
        writeln!(
            out,
            "\nproposed {} [{}] from {}\n  {}",
            p.id, p.scope, p.origin, p.text
        )?;
    }
    if !r.proposed.is_empty() {
        let ids: Vec<&str> = r.proposed.iter().map(|p| p.id.as_str()).collect();
        writeln!(
            out,
            "\nnothing is recalled until you confirm it: triage memory confirm {}",
            ids.join(" ")
        )?;
    }
    for p in &r.problems {
        writeln!(out, "skipped: {p}")?;
    }
    Ok(())
}

/// `memory list`: every memory, as JSON or one line each.
fn print_list(out: &mut impl Write, all: &[Memory], uri: &str, json: bool) -> Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, all)?;
        writeln!(out)?;
    } else if all.is_empty() {
        writeln!(out, "no memories in {uri}")?;
    }
    if !json {
        for m in all {
            list_line(out, m)?;
        }
    }
    Ok(())
}
