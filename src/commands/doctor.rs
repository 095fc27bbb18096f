//! `triage doctor`: what triage finds on this machine, and for each thing that is wrong
//! or missing, what to do. Checks the configuration (files and variables in effect), the
//! repository and its index, the embedding model, the cluster, and the model endpoint.
//! Nothing is changed; only the endpoint check sends requests (two small ones).

mod check;
mod model;

pub use check::{Check, Status};

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use serde::Serialize;

use crate::config::{self, LoadedConfig};
use crate::kube::ClusterSource;
use crate::repo::RepoLocation;

/// What to check, from the command line.
#[derive(Debug, Clone, Default)]
pub struct DoctorOptions {
    pub repo: Option<PathBuf>,
    pub index_dir: Option<PathBuf>,
    pub config: Option<PathBuf>,
    /// `-m`: the model to check instead of the configured one.
    pub model: Option<String>,
    pub cluster: crate::kube::ClusterChoice,
    /// Skip the cluster check.
    pub no_cluster: bool,
    /// Skip the model endpoint check (it sends two small requests).
    pub no_model: bool,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.status == Status::Fail)
    }

    pub fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{}", self.version)?;
        for c in &self.checks {
            let mark = match c.status {
                Status::Ok => "ok  ",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
                Status::Skip => "skip",
            };
            writeln!(out, "{mark} {:<10} {}", c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(out, "     {:<10} → {fix}", "")?;
            }
        }
        Ok(())
    }
}

/// `triage doctor`: exit 1 when a check failed.
pub async fn run(
    global: &super::args::GlobalArgs,
    cluster: &super::args::ClusterArgs,
    args: &super::args::DoctorArgs,
) -> anyhow::Result<ExitCode> {
    let opts = DoctorOptions {
        repo: global.repo.clone(),
        index_dir: global.index_dir.clone(),
        config: global.config.clone(),
        model: global.model.clone(),
        cluster: cluster.choice(),
        no_cluster: args.no_cluster,
        no_model: args.no_model,
    };
    let report = check_all(&opts, format!("triage {}", super::manual::version_line())).await;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        report.print(&mut out)?;
    }
    Ok(if report.failed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Run every check. `version` is the binary's version line.
pub async fn check_all(opts: &DoctorOptions, version: String) -> Report {
    let mut checks = vec![Check::new(
        "build",
        Status::Ok,
        "protoc and the Rust toolchain are build-time needs only; nothing else is required to run",
    )];
    let loc = RepoLocation::resolve(opts.repo.as_deref(), opts.index_dir.as_deref());
    let root = loc.as_ref().ok().map(|l| l.root.clone());
    let loaded = match config::load(opts.config.as_deref(), root.as_deref()) {
        Ok(mut loaded) => {
            if let Some(m) = &opts.model {
                loaded.config.llm.model = Some(m.clone());
            }
            checks.push(config_check(&loaded));
            loaded
        }
        Err(e) => {
            checks.push(
                Check::new("config", Status::Fail, e.to_string())
                    .fix("correct the key or value named above; `triage doctor` checks again"),
            );
            LoadedConfig::default()
        }
    };
    checks.push(match &loc {
        Ok(l) => repo_check(l).await,
        Err(e) => Check::new("repository", Status::Warn, format!("{e:#}"))
            .fix("run triage inside a repository or pass --repo DIR"),
    });
    checks.push(embed_check(&loaded.config));
    checks.push(if opts.no_cluster {
        Check::new("cluster", Status::Skip, "not checked (--no-cluster)")
    } else {
        cluster_check(&opts.cluster, &loaded.config.kube).await
    });
    checks.push(if opts.no_model {
        Check::new("model", Status::Skip, "not checked (--no-model)")
    } else {
        model::check(&loaded.config.llm).await
    });
    Report { version, checks }
}

/// The files merged, in order, and the variables that override them.
fn config_check(loaded: &LoadedConfig) -> Check {
    let files = if loaded.sources.is_empty() {
        "no config file (defaults)".to_string()
    } else {
        loaded
            .sources
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" ← ")
    };
    let mut vars: Vec<String> = std::env::vars()
        .map(|(k, _)| k)
        .filter(|k| {
            (k.starts_with("TRIAGE_") && k != "TRIAGE_LOG" && k != "TRIAGE_LOG_STDERR")
                || ["OPENAI_BASE_URL", "OPENAI_MODEL", "KUBECONFIG"].contains(&k.as_str())
        })
        .collect();
    vars.sort();
    let detail = if vars.is_empty() {
        files
    } else {
        format!("{files} ← environment: {}", vars.join(", "))
    };
    Check::new("config", Status::Ok, detail)
}

async fn repo_check(loc: &RepoLocation) -> Check {
    let what = format!(
        "{} ({})",
        loc.root.display(),
        if loc.is_git {
            "git"
        } else {
            "not a git repository: no history"
        }
    );
    if !loc.index_dir.join("meta.json").is_file() {
        return Check::new("repository", Status::Warn, format!("{what}; no index yet"))
            .fix("`triage index` (ask and the TUI also index on first use)");
    }
    match crate::index::store::Store::open(&loc.index_dir).await {
        Ok(store) => {
            let vectors = store
                .meta
                .embedder
                .as_ref()
                .map_or("no vectors (lexical)".to_string(), |e| {
                    format!("vectors from {}", e.id)
                });
            let interrupted = if store.meta.in_progress {
                "; the last index run was interrupted (the next run completes it)"
            } else {
                ""
            };
            Check::new(
                "repository",
                Status::Ok,
                format!(
                    "{what}; index at {}, {vectors}{interrupted}",
                    loc.index_dir.display()
                ),
            )
        }
        Err(e) => Check::new("repository", Status::Fail, format!("{what}; {e:#}"))
            .fix("`triage index --rebuild`"),
    }
}

fn embed_check(cfg: &config::Config) -> Check {
    use crate::config::EmbedProvider;
    let e = &cfg.embed;
    match e.provider {
        EmbedProvider::None => Check::new(
            "embedder",
            Status::Ok,
            "off (embed.provider = none): search is lexical, structural and historical",
        ),
        EmbedProvider::Openai => Check::new(
            "embedder",
            Status::Ok,
            format!(
                "the /embeddings endpoint at {} (model {}); `triage index` checks it answers",
                e.base_url
                    .clone()
                    .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
                    .unwrap_or_else(|| "https://api.openai.com/v1".into()),
                e.model
            ),
        ),
        EmbedProvider::Local | EmbedProvider::Auto | EmbedProvider::Static => {
            match crate::llm::embed::find_model_dir(e) {
                Some(dir) => match crate::llm::embed::local_meta(&dir) {
                    Ok(meta) => Check::new(
                        "embedder",
                        Status::Ok,
                        format!(
                            "local model {} ({}, {}d){}",
                            dir.display(),
                            meta.id,
                            meta.dim,
                            match e.provider {
                                EmbedProvider::Auto => {
                                    ": memories use it; the code index is lexical \
                                     (embed.provider = \"static\" adds vectors)"
                                }
                                EmbedProvider::Static => ": the static table is distilled from it",
                                _ => "",
                            }
                        ),
                    ),
                    Err(err) => Check::new("embedder", Status::Fail, format!("{err:#}"))
                        .fix("`triage model fetch` replaces it"),
                },
                None => {
                    let looked: Vec<String> = crate::llm::embed::candidate_dirs(e)
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect();
                    let status =
                        if matches!(e.provider, EmbedProvider::Local | EmbedProvider::Static) {
                            Status::Fail
                        } else {
                            Status::Warn
                        };
                    Check::new(
                        "embedder",
                        status,
                        format!(
                            "no local sentence model (looked in {}): search and memory recall \
                             are lexical",
                            looked.join(", ")
                        ),
                    )
                    .fix("`triage model fetch` (90 MB), or set TRIAGE_EMBED_MODEL=DIR")
                }
            }
        }
    }
}

async fn cluster_check(args: &crate::kube::ClusterChoice, cfg: &config::KubeConfig) -> Check {
    let source = match ClusterSource::connect(args, cfg).await {
        Ok(s) => s,
        Err(e) => {
            return Check::new("cluster", Status::Warn, format!("none: {e}")).fix(
                "point KUBECONFIG (or --kubeconfig) at a kubeconfig, or use --replay FILE; \
                 the repository features work without a cluster",
            );
        }
    };
    let context = source.context().unwrap_or("in-cluster").to_string();
    match source.status().await {
        crate::kube::ClusterStatus::Reachable { server, version } => Check::new(
            "cluster",
            Status::Ok,
            format!(
                "context {context}: {server} answers{}",
                version
                    .map(|v| format!(" (Kubernetes {v})"))
                    .unwrap_or_default()
            ),
        ),
        crate::kube::ClusterStatus::Unreachable { server, reason } => Check::new(
            "cluster",
            Status::Fail,
            format!("context {context}: {server} does not answer: {reason}"),
        )
        .fix(format!(
            "check the network or VPN and credentials (`kubectl --context {context} get ns`)"
        )),
    }
}
