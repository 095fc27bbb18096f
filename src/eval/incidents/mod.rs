//! `triage eval incidents DIR`: replay incident scenarios through the agent and score
//! the answers. Each scenario is a directory with `scenario.toml` (the alert, typed or as
//! Alertmanager sent it; the snapshot; the repository, a path or commits built with git;
//! the expected root cause; optional prior memories) and the cluster snapshot. `split.toml`
//! beside them fixes which scenarios a diagnosis engine may be tuned on (`tune`) and
//! which only measure it (`holdout`); `--split` picks one half or both. With `--memory
//! off` every scenario runs against an empty memory; with `--memory warm` its prior
//! memories are loaded, it runs once (the first pass), and then again (the repeat pass,
//! after what the first taught), so the gain of memory shows in tool calls and time.

mod alert;
pub mod calibration;
pub mod fit;
mod repo;
mod report;
mod scenario;
mod score;
mod split;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

pub use alert::{Alert, Notification};
pub use repo::{Commit, RepoDescription, RepoSpec};
pub use report::{
    FamilyRow, MemoryMode, QUIET_BELOW, Report, RunResult, ScenarioResult, Summary, Verdict, print,
};
pub use scenario::{Cause, Expected, Family, PriorMemory, Scenario, load_dir, load_file};
pub use score::{Score, cause_text, score};
pub use split::{Half, SPLIT_FILE, Split, SplitMap};

use crate::agent::case::confidence::{self, Assessment};
use crate::agent::session;
use crate::kube::ClusterChoice;
use crate::llm::chat::LlmClient;
use crate::memory::{Memory, MemoryKind, MemoryStatus, MemoryStore};
use crate::protocol::{ActionClass, Event, Op, TurnStatus};

pub struct Options {
    pub memory: MemoryMode,
    pub offline: bool,
    pub progress: bool,
    pub split: Split,
    /// Ask each scenario the way `triage watch` asks about its Alertmanager notification.
    pub as_watch: bool,
}

/// The scenarios of `dir` in the chosen split, each with its half.
pub fn select(dir: &Path, split: Split) -> Result<Vec<(PathBuf, Scenario, Option<Half>)>> {
    let scenarios = load_dir(dir)?;
    let names: Vec<&str> = scenarios.iter().map(|(_, s)| s.name.as_str()).collect();
    let halves = split::load(dir, &names, split)?;
    Ok(scenarios
        .into_iter()
        .map(|(f, s)| {
            let half = halves.half(&s.name);
            (f, s, half)
        })
        .filter(|(_, _, half)| split.includes(*half))
        .collect())
}

/// Run the scenarios of `dir` in `opts.split`.
pub async fn run(config: Option<&Path>, dir: &Path, opts: &Options) -> Result<Report> {
    let scenarios = select(dir, opts.split)?;
    let base = crate::config::load(config, None)?;
    let llm = if opts.offline {
        None
    } else {
        LlmClient::from_config(&base.config.llm)?
    };
    let agent = llm.as_ref().map_or("offline".to_string(), |l| {
        l.model(crate::llm::chat::Tier::Main).to_string()
    });
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    let mut repos = Repos::new(work.path());
    let mut results = Vec::new();
    for (i, (file, s, half)) in scenarios.iter().enumerate() {
        let repo = repos
            .for_scenario(s)
            .with_context(|| format!("{}: repository", file.display()))?;
        let loc = crate::repo::RepoLocation::resolve(Some(&repo), None)
            .with_context(|| format!("{}: repository {}", file.display(), repo.display()))?;
        repos.index(&loc, &base.config).await?;
        let memory_dir = work.path().join(format!("memory-{i}"));
        let memory_uri = memory_dir.display().to_string();
        if opts.memory == MemoryMode::Warm && !s.memories.is_empty() {
            let store = MemoryStore::open(&memory_uri).await?;
            let prior: Vec<Memory> = s
                .memories
                .iter()
                .enumerate()
                .map(|(j, p)| prior_memory(&s.name, j, p))
                .collect::<Result<_>>()?;
            store.upsert(&prior).await?;
        }
        let ctx = RunContext {
            base: &base,
            loc: &loc,
            memory_uri: &memory_uri,
            trace_dir: work.path().join("sessions"),
            llm: llm.clone(),
            as_watch: opts.as_watch,
        };
        let first = run_once(&ctx, s).await?;
        let (run, first_pass) = match opts.memory {
            MemoryMode::Off => (first, None),
            MemoryMode::Warm => (run_once(&ctx, s).await?, Some(first)),
        };
        if opts.progress {
            eprintln!(
                "{:<32} {:<5} {:>2} tool calls {:>6} ms{}",
                s.name,
                if run.correct { "ok" } else { "MISS" },
                run.tool_calls,
                run.wall_ms,
                first_pass
                    .as_ref()
                    .map(|f| format!(
                        "   (first pass: {}, {} tool calls)",
                        if f.correct { "ok" } else { "MISS" },
                        f.tool_calls
                    ))
                    .unwrap_or_default()
            );
        }
        results.push(ScenarioResult {
            name: s.name.clone(),
            family: s.family,
            split: *half,
            expected: s.expected.clone(),
            run,
            first_pass,
        });
    }
    Ok(Report::new(opts.memory, agent, opts.split, results))
}

/// The repositories scenarios run in: the bundled demo (made once, on first use), paths
/// as given, and described ones built under the work directory; each indexed once.
struct Repos {
    work: PathBuf,
    demo: Option<PathBuf>,
    indexed: Vec<PathBuf>,
}

impl Repos {
    fn new(work: &Path) -> Self {
        Repos {
            work: work.to_path_buf(),
            demo: None,
            indexed: Vec::new(),
        }
    }

    fn for_scenario(&mut self, s: &Scenario) -> Result<PathBuf> {
        match &s.repo {
            Some(RepoSpec::Path(p)) => Ok(p.clone()),
            Some(RepoSpec::Described(d)) => {
                let root = self.work.join("repos").join(&s.name);
                if !root.join(".git").is_dir() {
                    d.build(&root)?;
                }
                Ok(root)
            }
            None => {
                if self.demo.is_none() {
                    let demo = crate::demo::prepare(&self.work.join("demo"), false)?;
                    self.demo = Some(demo.repo);
                }
                Ok(self.demo.clone().unwrap_or_default())
            }
        }
    }

    async fn index(
        &mut self,
        loc: &crate::repo::RepoLocation,
        config: &crate::config::Config,
    ) -> Result<()> {
        if self.indexed.contains(&loc.root) {
            return Ok(());
        }
        let opts = crate::index::pipeline::IndexOptions {
            embed: false,
            rebuild: false,
            progress: false,
        };
        crate::index::pipeline::run_index(loc, config, &opts)
            .await
            .with_context(|| format!("cannot index {}", loc.root.display()))?;
        self.indexed.push(loc.root.clone());
        Ok(())
    }
}

fn prior_memory(scenario: &str, j: usize, p: &PriorMemory) -> Result<Memory> {
    let kind = MemoryKind::parse(&p.kind).map_err(anyhow::Error::msg)?;
    let mut m = Memory::new(
        kind,
        p.text.clone(),
        p.scope.clone(),
        p.source.as_deref().unwrap_or("user"),
    );
    m.id = format!("{scenario}-{j}");
    m.claim = p.claim.clone();
    m.status = MemoryStatus::Active;
    if let Some(c) = p.confidence {
        m.confidence = c.clamp(0.0, 1.0);
    }
    Ok(m)
}

struct RunContext<'a> {
    base: &'a crate::config::LoadedConfig,
    loc: &'a crate::repo::RepoLocation,
    memory_uri: &'a str,
    trace_dir: PathBuf,
    llm: Option<LlmClient>,
    as_watch: bool,
}

/// The confidence features an answer recorded in its evidence.
fn features_of(a: &crate::protocol::Answer) -> Option<Vec<f32>> {
    a.evidence
        .iter()
        .find(|e| e.reference == confidence::NOTE)
        .and_then(|e| Assessment::parse_note(&e.detail))
        .map(|f| f.to_vec())
}

/// The first `n` non-empty lines of an answer, on one line.
fn first_lines(text: &str, n: usize) -> String {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .collect::<Vec<_>>()
        .join(" / ")
}

async fn run_once(ctx: &RunContext<'_>, s: &Scenario) -> Result<RunResult> {
    let mut config = ctx.base.clone();
    config.config.memory.uri = Some(ctx.memory_uri.to_string());
    let cluster = ClusterChoice {
        replay: Some(s.snapshot.clone()),
        namespace: s.namespace.clone(),
        ..ClusterChoice::default()
    };
    let workspace = crate::agent::open::Workspace {
        loc: Some(ctx.loc.clone()),
        config,
    };
    let conn = workspace.open_session(&cluster, ctx.llm.clone()).await;
    if let Some(e) = &conn.cluster_error {
        bail!("{}: cannot replay {}: {e}", s.name, s.snapshot.display());
    }
    let mut cfg = conn.session;
    cfg.trace_dir = Some(ctx.trace_dir.clone());
    cfg.audit_path = None;
    // Scenarios run on triage's own tools alone, whatever MCP servers the user has.
    cfg.external_tools = None;
    let started = Instant::now();
    let mut handle = session::start(cfg)?;
    let text = if ctx.as_watch {
        s.watch_prompt()
    } else {
        s.prompt()
    };
    handle.ops.send(Op::Submit { text })?;
    let mut writes = Vec::new();
    let mut used = Vec::new();
    let mut rejected = Vec::new();
    let mut tool_calls = 0;
    let mut tokens = 0;
    let mut outcome = None;
    while let Some(ev) = handle.events.recv().await {
        match ev {
            Event::ToolCallStarted { .. } => tool_calls += 1,
            Event::BudgetUpdate { used: u, .. } => tokens = u.tokens(),
            Event::ActionProposed { action } if action.class == ActionClass::Write => {
                writes.push(action.command)
            }
            Event::MemoryHit {
                memory,
                used: u,
                why,
                ..
            } => {
                if u && !used.contains(&memory) {
                    used.push(memory);
                } else if why.contains("wrong today") && !rejected.contains(&memory) {
                    rejected.push(memory);
                }
            }
            Event::TurnComplete { status, answer } => {
                outcome = Some((status, answer));
                break;
            }
            _ => {}
        }
    }
    let wall_ms = started.elapsed().as_millis() as u64;
    let _ = handle.ops.send(Op::Shutdown);
    handle.join().await;
    drop(conn.kubeconfig);
    let (status, answer) = outcome.context("the session ended without an answer")?;
    let text = answer.as_ref().map(|a| a.text.clone()).unwrap_or_default();
    let mut scored = if status == TurnStatus::Answered {
        score(&s.expected, &text, &writes)
    } else {
        Score {
            misses: vec![format!("no answer: {status:?}")],
            ..Score::default()
        }
    };
    scored.misses.dedup();
    let confidence = answer
        .as_ref()
        .map(|a| (a.confidence * 100.0).round() / 100.0);
    let features = answer.as_ref().and_then(features_of);
    Ok(RunResult {
        correct: scored.correct(),
        verdict: Verdict::of(scored.correct(), scored.culprit, scored.cause, confidence),
        culprit: scored.culprit,
        cause: scored.cause,
        misses: scored.misses,
        status: format!("{status:?}").to_lowercase(),
        tool_calls,
        tokens,
        wall_ms,
        confidence,
        features,
        answer: first_lines(&text, 3),
        full_answer: text.clone(),
        memories_used: used,
        memories_rejected: rejected,
        write_actions: writes,
    })
}
