//! `triage eval incidents DIR`: replay incident scenarios through the agent and score
//! the answers. Each scenario is a directory with `scenario.toml` (alert, snapshot,
//! expected root cause, optional prior memories) and the cluster snapshot. With
//! `--memory off` every scenario runs against an empty memory; with `--memory warm` its
//! prior memories are loaded, it runs once (the first pass), and then again (the repeat
//! pass, after what the first taught), so the gain of memory shows in tool calls and time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::agent::llm::LlmClient;
use crate::agent::session;
use crate::cli::{ClusterArgs, GlobalArgs};
use crate::memory::{Memory, MemoryKind, MemoryStatus, MemoryStore, Scope};
use crate::protocol::{ActionClass, Event, Op, TurnStatus};

/// One scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub summary: String,
    pub alert: String,
    pub snapshot: PathBuf,
    /// A repository to investigate in (relative to the scenario); default: the bundled
    /// demo repository.
    #[serde(default)]
    pub repo: Option<PathBuf>,
    pub expected: Expected,
    #[serde(default)]
    pub memories: Vec<PriorMemory>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// Name of the object the root cause is about; the answer must name it.
    pub resource: String,
    /// Each must appear in the answer; `a|b` accepts either.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Whether proposing a change is right (false: leave it alone).
    #[serde(default = "yes")]
    pub write_actions: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorMemory {
    pub kind: String,
    pub text: String,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub confidence: Option<f32>,
    #[serde(default)]
    pub source: Option<String>,
    /// What an episode asserts, checkable with one read (as triage records them).
    #[serde(default)]
    pub claim: Option<crate::memory::Claim>,
}

/// How memory is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryMode {
    /// No memories at all.
    Off,
    /// The scenario's prior memories, a first pass, then the repeat pass.
    Warm,
}

/// One run of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub correct: bool,
    /// Why it was scored wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<String>,
    pub status: String,
    pub tool_calls: u32,
    pub tokens: u64,
    pub wall_ms: u64,
    pub confidence: Option<f32>,
    /// The answer's first lines (heading and cause).
    pub answer: String,
    /// Memories the answer relied on.
    pub memories_used: Vec<String>,
    /// Memories checked and found wrong.
    pub memories_rejected: Vec<String>,
    pub write_actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub expected: Expected,
    /// The scored run: the only run with `--memory off`, the repeat with `warm`.
    #[serde(flatten)]
    pub run: RunResult,
    /// With `--memory warm`: the first run, with only the prior memories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_pass: Option<RunResult>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub scenarios: usize,
    pub accuracy: f64,
    pub tool_calls: u32,
    pub tokens: u64,
    pub wall_ms: u64,
}

impl Summary {
    fn of<'a>(runs: impl Iterator<Item = &'a RunResult>) -> Self {
        let mut s = Summary::default();
        let mut correct = 0;
        for r in runs {
            s.scenarios += 1;
            correct += usize::from(r.correct);
            s.tool_calls += r.tool_calls;
            s.tokens += r.tokens;
            s.wall_ms += r.wall_ms;
        }
        s.accuracy = if s.scenarios == 0 {
            0.0
        } else {
            correct as f64 / s.scenarios as f64
        };
        s
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub memory: MemoryMode,
    /// `offline` (the planner) or the model's name.
    pub agent: String,
    pub summary: Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_pass: Option<Summary>,
    pub scenarios: Vec<ScenarioResult>,
}

/// Read every `*/scenario.toml` under `dir` (or `dir` itself when it is one scenario).
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Scenario)>> {
    let mut files = Vec::new();
    if dir.join("scenario.toml").is_file() {
        files.push(dir.join("scenario.toml"));
    } else {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
        for e in entries.flatten() {
            let f = e.path().join("scenario.toml");
            if f.is_file() {
                files.push(f);
            }
        }
    }
    files.sort();
    if files.is_empty() {
        bail!(
            "no scenarios in {}: expected <name>/scenario.toml files",
            dir.display()
        );
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read {}", f.display()))?;
            let mut s: Scenario = toml::from_str(&text)
                .with_context(|| format!("{} is not a valid scenario", f.display()))?;
            let base = f.parent().unwrap_or(Path::new("."));
            s.snapshot = base.join(&s.snapshot);
            s.repo = s.repo.map(|r| base.join(r));
            for m in &s.memories {
                MemoryKind::parse(&m.kind).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            }
            Ok((f, s))
        })
        .collect()
}

/// The part of an answer that states the cause: the heading and the "Likely cause" (or
/// "Expected") paragraph when the answer has them, else all of it. Evidence lists and
/// suggestions further down do not count.
pub fn cause_text(answer: &str) -> &str {
    let marker = ["**Likely cause:**", "**Expected, leave it alone:**"]
        .iter()
        .find_map(|m| answer.find(m));
    match marker {
        Some(at) => {
            let end = answer[at..].find("\n\n").map_or(answer.len(), |e| at + e);
            &answer[..end]
        }
        None => answer,
    }
}

/// Score an answer against what was expected.
pub fn score(expected: &Expected, answer: &str, write_actions: &[String]) -> Vec<String> {
    let lower = cause_text(answer).to_lowercase();
    let mut misses = Vec::new();
    if !lower.contains(&expected.resource.to_lowercase()) {
        misses.push(format!("does not name {}", expected.resource));
    }
    for k in &expected.keywords {
        if !k
            .split('|')
            .any(|alt| lower.contains(&alt.trim().to_lowercase()))
        {
            misses.push(format!("does not say {k:?}"));
        }
    }
    if !expected.write_actions && !write_actions.is_empty() {
        misses.push(format!(
            "proposes a change where none is wanted: {}",
            write_actions.join("; ")
        ));
    }
    misses
}

pub struct Options {
    pub memory: MemoryMode,
    pub offline: bool,
    pub progress: bool,
}

/// Run every scenario of `dir`.
pub async fn run(config: Option<&Path>, dir: &Path, opts: &Options) -> Result<Report> {
    let scenarios = load_dir(dir)?;
    let base = crate::config::load(config, None)?;
    let llm = if opts.offline {
        None
    } else {
        LlmClient::from_config(&base.config.llm)?
    };
    let agent = llm.as_ref().map_or("offline".to_string(), |l| {
        l.model(crate::agent::llm::Tier::Main).to_string()
    });
    let work = tempfile::tempdir().context("cannot create a temporary directory")?;
    // The bundled repository, indexed once, unless a scenario brings its own.
    let demo = crate::demo::prepare(&work.path().join("demo"), false)?;
    let mut indexed: Vec<PathBuf> = Vec::new();
    let mut results = Vec::new();
    for (i, (file, s)) in scenarios.iter().enumerate() {
        let repo = s.repo.clone().unwrap_or_else(|| demo.repo.clone());
        let loc = crate::repo::RepoLocation::resolve(Some(&repo), None)
            .with_context(|| format!("{}: repository {}", file.display(), repo.display()))?;
        if !indexed.contains(&loc.root) {
            let opts = crate::index::pipeline::IndexOptions {
                embed: false,
                rebuild: false,
                progress: false,
            };
            crate::index::pipeline::run_index(&loc, &base.config, &opts)
                .await
                .with_context(|| format!("cannot index {}", loc.root.display()))?;
            indexed.push(loc.root.clone());
        }
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
        };
        let first = run_once(&ctx, s).await?;
        let (run, first_pass) = match opts.memory {
            MemoryMode::Off => (first, None),
            MemoryMode::Warm => (run_once(&ctx, s).await?, Some(first)),
        };
        if opts.progress {
            eprintln!(
                "{:<24} {:<5} {:>2} tool calls {:>6} ms{}",
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
            expected: s.expected.clone(),
            run,
            first_pass,
        });
    }
    let summary = Summary::of(results.iter().map(|r| &r.run));
    let first_pass = (opts.memory == MemoryMode::Warm)
        .then(|| Summary::of(results.iter().filter_map(|r| r.first_pass.as_ref())));
    Ok(Report {
        memory: opts.memory,
        agent,
        summary,
        first_pass,
        scenarios: results,
    })
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
}

async fn run_once(ctx: &RunContext<'_>, s: &Scenario) -> Result<RunResult> {
    let mut config = ctx.base.clone();
    config.config.memory.uri = Some(ctx.memory_uri.to_string());
    let cluster = ClusterArgs {
        replay: Some(s.snapshot.clone()),
        ..ClusterArgs::default()
    };
    let conn = crate::headless::connect_cluster(&cluster, &config.config.kube).await;
    if let Some(e) = &conn.error {
        bail!("{}: cannot replay {}: {e}", s.name, s.snapshot.display());
    }
    let mut cfg = crate::headless::session_config(
        Some(ctx.loc.root.clone()),
        Some(ctx.loc.index_dir.clone()),
        config,
        &conn,
        ctx.llm.clone(),
    );
    cfg.trace_dir = Some(ctx.trace_dir.clone());
    cfg.audit_path = None;
    let started = Instant::now();
    let mut handle = session::start(cfg)?;
    handle.ops.send(Op::Submit {
        text: s.alert.clone(),
    })?;
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
    drop(conn);
    let (status, answer) = outcome.context("the session ended without an answer")?;
    let text = answer.as_ref().map(|a| a.text.clone()).unwrap_or_default();
    let mut misses = if status == TurnStatus::Answered {
        score(&s.expected, &text, &writes)
    } else {
        vec![format!("no answer: {status:?}")]
    };
    misses.dedup();
    Ok(RunResult {
        correct: misses.is_empty(),
        misses,
        status: format!("{status:?}").to_lowercase(),
        tool_calls,
        tokens,
        wall_ms,
        confidence: answer
            .as_ref()
            .map(|a| (a.confidence * 100.0).round() / 100.0),
        answer: text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(3)
            .collect::<Vec<_>>()
            .join(" / "),
        memories_used: used,
        memories_rejected: rejected,
        write_actions: writes,
    })
}

pub async fn cmd(
    global: &GlobalArgs,
    dir: &Path,
    memory: MemoryMode,
    offline: bool,
    json: bool,
) -> Result<ExitCode> {
    let report = run(
        global.config.as_deref(),
        dir,
        &Options {
            memory,
            offline,
            progress: !json,
        },
    )
    .await?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        print(&mut out, &report)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(out, "agent: {}, memory: {:?}", r.agent, r.memory)?;
    for s in &r.scenarios {
        writeln!(
            out,
            "{:<24} {:<5} {:>2} calls {:>6} ms  {}",
            s.name,
            if s.run.correct { "ok" } else { "MISS" },
            s.run.tool_calls,
            s.run.wall_ms,
            s.run.misses.join("; ")
        )?;
    }
    let line = |out: &mut dyn Write, label: &str, s: &Summary| {
        writeln!(
            out,
            "{label}: {} scenarios, accuracy {:.2}, {} tool calls, {} tokens, {} ms",
            s.scenarios, s.accuracy, s.tool_calls, s.tokens, s.wall_ms
        )
    };
    if let Some(f) = &r.first_pass {
        line(out, "first pass", f)?;
    }
    line(
        out,
        if r.first_pass.is_some() {
            "repeat"
        } else {
            "total"
        },
        &r.summary,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_scored_by_resource_keywords_and_unwanted_changes() {
        let e = Expected {
            resource: "analytics-backfill".into(),
            keywords: vec!["backfill".into(), "expected|leave".into()],
            write_actions: false,
        };
        assert!(score(&e, "CronJob analytics-backfill: expected run", &[]).is_empty());
        // Only the stated cause counts, not the evidence below it.
        let answer = "## Deployment/shop/orders-worker\n\n**Likely cause:** runs out of memory\n\n**Evidence:** analytics-backfill expected";
        assert_eq!(score(&e, answer, &[]).len(), 3);
        let m = score(&e, "orders-worker runs out of memory", &[]);
        assert_eq!(m.len(), 3, "{m:?}");
        let m = score(
            &e,
            "analytics-backfill: leave it",
            &["kubectl scale deployment/orders-worker --replicas=4".into()],
        );
        assert_eq!(m.len(), 1);
        assert!(m[0].contains("proposes a change"));
    }

    #[test]
    fn a_bad_scenario_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("x");
        std::fs::create_dir(&s).unwrap();
        std::fs::write(s.join("scenario.toml"), "name = \"x\"\nalert = 1\n").unwrap();
        let e = format!("{:#}", load_dir(dir.path()).unwrap_err());
        assert!(e.contains("scenario.toml is not a valid scenario"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = load_dir(empty.path()).unwrap_err().to_string();
        assert!(e.contains("no scenarios"), "{e}");
    }
}
