//! `triage kube …` commands.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::args::{ClusterArgs, GlobalArgs, KubeArgs, KubeCommand};
use crate::config::KubeConfig;
use crate::kube::findings::{AnalyzeOptions, Severity};
use crate::kube::links::{self, WorkloadLink};
use crate::kube::replay::{ReplayOptions, ReplayServer};
use crate::kube::scan::{self, ScanReport};
use crate::kube::snapshot::Snapshot;
use crate::kube::source::{ClusterSource, ClusterStatus};
use crate::kube::state::ResourceRef;
use crate::kube::{error::KubeError, record};

/// `triage kube …`, linking findings to the repository it runs in (if any). The
/// cluster flags are global: given before or after `kube`.
pub async fn run(
    global: &GlobalArgs,
    cluster: &ClusterArgs,
    args: KubeArgs,
) -> anyhow::Result<std::process::ExitCode> {
    let (config, repo) = super::config_and_git_root(global)?;
    run_in(args, cluster, &config.config, repo.as_deref()).await?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Run a command, linking findings to the repository at `repo` (if any).
pub async fn run_in(
    args: KubeArgs,
    cluster: &ClusterArgs,
    config: &crate::config::Config,
    repo: Option<&Path>,
) -> anyhow::Result<()> {
    let kube = &config.kube;
    match args.command {
        KubeCommand::Scan {
            json,
            graph,
            no_links,
            recent,
        } => scan_cmd(cluster, json, graph, no_links, recent, kube, repo).await,
        KubeCommand::Record { output_file } => record_cmd(cluster, &output_file, kube).await,
        KubeCommand::Serve { file, port } => serve(&file, port).await,
        KubeCommand::Status => status_cmd(cluster, kube).await,
        KubeCommand::Get {
            resource,
            name,
            selector,
            output,
        } => {
            get_cmd(
                cluster,
                &resource,
                name.as_deref(),
                selector.as_deref(),
                output,
                kube,
            )
            .await
        }
        KubeCommand::Logs {
            pod,
            container,
            previous,
            tail,
            since,
            follow,
        } => {
            let opts = crate::kube::LogOptions {
                container,
                previous,
                tail_lines: tail.filter(|t| *t >= 0),
                all_lines: tail.is_some_and(|t| t < 0),
                since,
                follow,
            };
            logs_cmd(cluster, &pod, &opts, kube).await
        }
        KubeCommand::Events { about } => events_cmd(cluster, about.as_deref(), kube).await,
    }
}

/// `kube scan`: findings, most severe first, linked to the repository's files.
async fn scan_cmd(
    cluster: &ClusterArgs,
    json: bool,
    graph: bool,
    no_links: bool,
    recent: Duration,
    kube: &KubeConfig,
    repo: Option<&Path>,
) -> anyhow::Result<()> {
    let source = ClusterSource::connect(&cluster.choice(), kube).await?;
    let scope = source.default_scope().clone();
    let opts = AnalyzeOptions {
        recent_rollout: chrono::Duration::from_std(recent).unwrap_or(chrono::Duration::MAX),
        ..AnalyzeOptions::default()
    };
    let mut report = scan::scan_with(&source, &scope, &opts).await?;
    if !no_links && let Some(root) = repo {
        let root = root.to_path_buf();
        let g = report.full_graph.clone();
        report.links = tokio::task::spawn_blocking(move || links::link_workloads(&root, &g))
            .await
            .unwrap_or_default();
    }
    if graph {
        report.graph = Some(report.full_graph.clone());
    }
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print_report(&mut out, &report)?;
    }
    out.flush()?;
    if let ClusterStatus::Unreachable { server, reason } = &report.status {
        return Err(KubeError::Unreachable {
            server: server.clone(),
            reason: reason.clone(),
        }
        .into());
    }
    Ok(())
}

/// `kube record`: a snapshot of the scope to a file.
async fn record_cmd(cluster: &ClusterArgs, output: &Path, kube: &KubeConfig) -> anyhow::Result<()> {
    let source = ClusterSource::connect(&cluster.choice(), kube).await?;
    let scope = source.default_scope().clone();
    let snapshot = record::record(&source, &scope).await?;
    snapshot.save(output)?;
    eprintln!(
        "recorded {} objects, {} events, {} log tails from {} ({scope}) to {}",
        snapshot.object_count() - snapshot.events.len(),
        snapshot.events.len(),
        snapshot.logs.len(),
        source.origin(),
        output.display()
    );
    for e in &snapshot.errors {
        eprintln!("  could not read: {e}");
    }
    Ok(())
}

/// `kube status`: whether the cluster answers.
async fn status_cmd(cluster: &ClusterArgs, kube: &KubeConfig) -> anyhow::Result<()> {
    let source = ClusterSource::connect(&cluster.choice(), kube).await?;
    match source.status().await {
        ClusterStatus::Reachable { server, version } => {
            println!(
                "reachable: {server} ({}) via {}",
                version.as_deref().unwrap_or("version unknown"),
                source.origin()
            );
            Ok(())
        }
        ClusterStatus::Unreachable { server, reason } => {
            println!("unreachable: {server} via {}: {reason}", source.origin());
            Err(KubeError::Unreachable { server, reason }.into())
        }
    }
}

/// `kube get`: objects as a kubectl-style table, or in the chosen output format.
async fn get_cmd(
    cluster: &ClusterArgs,
    resource: &str,
    name: Option<&str>,
    selector: Option<&str>,
    output: Option<super::args::GetOutput>,
    kube: &KubeConfig,
) -> anyhow::Result<()> {
    let source = ClusterSource::connect(&cluster.choice(), kube).await?;
    let ns = scope_ns(&source, cluster);
    let value = source
        .kube_get(resource, ns.as_deref(), name, selector)
        .await?;
    let t = crate::kube::resources::resolve(resource)
        .with_context(|| format!("unknown resource type `{resource}`"))?;
    let text = super::kube_get::render(t, &value, output, ns.is_none(), source.now())?;
    print!("{text}");
    Ok(())
}

/// `kube logs`: a log tail, or the log followed.
async fn logs_cmd(
    cluster: &ClusterArgs,
    pod: &str,
    opts: &crate::kube::LogOptions,
    kube: &KubeConfig,
) -> anyhow::Result<()> {
    let source = ClusterSource::connect(&cluster.choice(), kube).await?;
    let ns = scope_ns(&source, cluster);
    super::kube_get::print_logs(&source, ns.as_deref(), pod, opts).await
}

/// `kube events`: events, newest first.
async fn events_cmd(
    cluster: &ClusterArgs,
    about: Option<&str>,
    kube: &KubeConfig,
) -> anyhow::Result<()> {
    let source = ClusterSource::connect(&cluster.choice(), kube).await?;
    let ns = scope_ns(&source, cluster);
    let about = match about {
        Some(a) => {
            let (kind, name) = a
                .split_once('/')
                .with_context(|| format!("--for takes KIND/NAME, got `{a}`"))?;
            let t = crate::kube::resources::resolve(kind)
                .with_context(|| format!("unknown kind `{kind}`"))?;
            Some(ResourceRef::new(t.kind, ns.as_deref(), name))
        }
        None => None,
    };
    let events = source.kube_events(ns.as_deref(), about.as_ref()).await?;
    let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
    for e in events {
        writeln!(
            out,
            "{}  {:<8} {:<20} {:<40} {}",
            e.last_seen.as_deref().unwrap_or("-"),
            e.type_,
            e.reason,
            e.about.kubectl(),
            e.message
        )?;
    }
    Ok(())
}

fn scope_ns(source: &ClusterSource, args: &ClusterArgs) -> Option<String> {
    if args.all_namespaces {
        None
    } else {
        source.default_scope().namespace().map(str::to_string)
    }
}

async fn serve(file: &Path, port: u16) -> anyhow::Result<()> {
    let snapshot = Snapshot::load(file)?;
    let summary = format!(
        "{} ({} objects, {} log tails, recorded {}{})",
        file.display(),
        snapshot.object_count(),
        snapshot.logs.len(),
        snapshot.recorded_at.format("%Y-%m-%d %H:%M:%S UTC"),
        snapshot
            .context
            .as_deref()
            .map(|c| format!(", context {c}"))
            .unwrap_or_default()
    );
    let options = ReplayOptions {
        port,
        faults: Vec::new(),
        on_request: Some(Arc::new(|r| {
            eprintln!("{} {r}", r.at.format("%H:%M:%S%.3f"))
        })),
    };
    let server = ReplayServer::start(snapshot, options).await?;
    let url = server.url();
    {
        let mut out = crate::term_safe::SafeWriter::new(std::io::stdout().lock());
        writeln!(out, "serving {summary} on {url}")?;
        writeln!(out, "try: kubectl --server {url} get pods -A")?;
        out.flush()?;
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = server.wait() => {}
    }
    Ok(())
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "CRITICAL",
        Severity::Error => "ERROR",
        Severity::Warning => "WARNING",
        Severity::Info => "INFO",
    }
}

/// The report for people.
pub fn print_report(out: &mut impl Write, report: &ScanReport) -> std::io::Result<()> {
    match &report.status {
        ClusterStatus::Reachable { server, version } => writeln!(
            out,
            "cluster {server} ({}) · {} · {} · as of {}",
            version.as_deref().unwrap_or("version unknown"),
            report.source,
            report.scope,
            report.as_of.format("%Y-%m-%d %H:%M:%S UTC")
        )?,
        ClusterStatus::Unreachable { server, reason } => {
            writeln!(
                out,
                "cluster {server} is unreachable ({}): {reason}",
                report.source
            )?;
            writeln!(
                out,
                "nothing was read; repository features keep working without it"
            )?;
            return Ok(());
        }
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    writeln!(
        out,
        "{} findings: {} critical, {} error, {} warning, {} info",
        report.findings.len(),
        count(Severity::Critical),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info)
    )?;
    let links = links::by_workload(&report.links);
    for f in &report.findings {
        writeln!(out)?;
        writeln!(
            out,
            "{:<8} {}  {}",
            severity_label(f.severity),
            f.kind.as_str(),
            f.resource
        )?;
        writeln!(out, "  {}", f.summary)?;
        for e in &f.evidence {
            let mut lines = e.lines();
            if let Some(first) = lines.next() {
                writeln!(out, "  - {first}")?;
            }
            for l in lines {
                writeln!(out, "    {l}")?;
            }
        }
        writeln!(out, "  $ {}", f.command)?;
        if let Some(link) = links.get(&f.resource) {
            print_link(out, link)?;
        }
    }
    if !report.errors.is_empty() {
        writeln!(out)?;
        writeln!(out, "could not read ({}):", report.errors.len())?;
        for e in &report.errors {
            writeln!(out, "  - {e}")?;
        }
    }
    if !report.problems.is_empty() {
        writeln!(out)?;
        writeln!(out, "skipped objects ({}):", report.problems.len())?;
        for p in report.problems.iter().take(20) {
            writeln!(out, "  - {p}")?;
        }
    }
    Ok(())
}

fn print_link(out: &mut impl Write, link: &WorkloadLink) -> std::io::Result<()> {
    let paths: Vec<String> = link
        .paths
        .iter()
        .take(6)
        .map(|p| format!("{} ({})", p.path, p.reason))
        .collect();
    writeln!(out, "  code: {}", paths.join(", "))?;
    for c in link.recent_commits.iter().take(3) {
        writeln!(
            out,
            "  commit {} {} {} — {}",
            c.id,
            c.date.get(..10).unwrap_or(&c.date),
            c.author,
            c.subject
        )?;
    }
    Ok(())
}
