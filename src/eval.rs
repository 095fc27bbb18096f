//! `triage eval`: measure issue → files ranking on suites mined from real history.
//!
//! `localize` indexes each instance's repository at the instance's revision in a
//! detached worktree (so no later history is visible), ranks files for the query, and
//! scores the ranking against the gold files. `mine` writes such a suite from a
//! repository's own fix commits.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cli::{EvalArgs, EvalCommand, GlobalArgs};
use crate::config::Config;
use crate::index::lang::Lang;
use crate::index::localize::{Signals, rank_files_for_issue};
use crate::index::store::Store;
use crate::index::{IndexOptions, run_index};
use crate::repo::RepoLocation;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub repo: PathBuf,
    #[serde(default)]
    pub rev: Option<String>,
    pub query: String,
    pub gold_files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct InstanceResult {
    pub repo: String,
    pub rev: Option<String>,
    /// 1-based rank of each gold file in the ranking (null when not in the top 50).
    pub gold_ranks: Vec<Option<usize>>,
    pub top: Vec<String>,
    pub misses: Vec<String>,
    pub query_ms: f64,
    /// Commits visible to the ranking (history up to `rev` only).
    pub commits_visible: usize,
    /// With `--llm`: the gold files' ranks after the model's rerank (the offline ranks
    /// when it failed, with `llm_error` saying why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_gold_ranks: Option<Vec<Option<usize>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_error: Option<String>,
    /// With `--llm-questions`: definitions still without model questions when this
    /// instance was scored (the per-run budget stopped short).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_questions_pending: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub n: usize,
    #[serde(rename = "acc@1")]
    pub acc1: f64,
    #[serde(rename = "acc@3")]
    pub acc3: f64,
    #[serde(rename = "acc@5")]
    pub acc5: f64,
    #[serde(rename = "acc@10")]
    pub acc10: f64,
    pub mrr: f64,
    pub query_ms_p50: f64,
    pub signals: Signals,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub summary: Summary,
    /// With `--llm`: the same instances scored on the model's rerank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_summary: Option<Summary>,
    /// With `--llm-questions`: what writing model questions cost over the whole suite.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm_questions: Option<QuestionsCost>,
    pub instances: Vec<InstanceResult>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct QuestionsCost {
    pub model: String,
    pub requests: usize,
    pub tokens: u64,
    /// Instances scored while some definitions still lacked model questions.
    pub instances_with_pending: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The configured model and what the eval asks of it: `--llm` reranks each ranking,
/// `--llm-questions` writes model questions into each instance's index before ranking.
pub struct EvalModel {
    pub llm: crate::agent::llm::LlmClient,
    pub redactor: crate::agent::redact::Redactor,
    pub config: crate::config::LlmConfig,
    pub rerank: bool,
    pub questions: bool,
}

impl EvalModel {
    pub fn from_config(config: &Config, rerank: bool, questions: bool) -> Result<Self> {
        let llm = crate::agent::llm::LlmClient::from_config(&config.llm)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--llm and --llm-questions need a model: set [llm] model (or OPENAI_MODEL) and the endpoint"
            )
        })?;
        Ok(Self {
            llm,
            redactor: crate::agent::redact::Redactor::from_env(&config.agent)?,
            config: config.llm.clone(),
            rerank,
            questions,
        })
    }
}

pub async fn cmd_eval(global: &GlobalArgs, args: EvalArgs) -> Result<ExitCode> {
    match args.command {
        EvalCommand::Incidents {
            dir,
            memory,
            offline,
            split,
            json,
        } => crate::eval_incidents::cmd(global, &dir, memory, offline, split, json).await,
        EvalCommand::Localize {
            suite,
            json,
            signals,
            no_embed,
            llm,
            llm_questions,
            evidence,
        } => {
            let signals = Signals::parse(&signals)?;
            anyhow::ensure!(
                !llm_questions || signals.llm_questions,
                "--llm-questions writes model questions that these signals do not use: add llm_questions to --signals"
            );
            let mut config = crate::config::load(global.config.as_deref(), None)?.config;
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
            let report = localize(
                &suite,
                &config,
                signals,
                !json,
                model.as_ref(),
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
            let n = mine(&loc.root, &out, limit)?;
            eprintln!("wrote {n} instances to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// How many nearest chunks `--evidence` records per instance.
const EVIDENCE_NEAREST: usize = 60;

/// One instance's raw evidence for `eval localize --evidence`: every candidate the
/// non-vector signals found (score, and whether it is a test, docs or changelog file
/// whose score the structure signal already lowered), and the nearest chunks in order
/// with their cosine distances. The issue text is embedded again here, apart from the
/// timed ranking, so `query_ms` stays comparable with runs without `--evidence`.
async fn instance_evidence(
    store: &Store,
    embedder: Option<&crate::index::embed::Embedder>,
    inst: &Instance,
    signals: Signals,
) -> Result<serde_json::Value> {
    let base = rank_files_for_issue(
        store,
        None,
        &inst.query,
        usize::MAX,
        Signals {
            vectors: false,
            ..signals
        },
    )
    .await?;
    let candidates: Vec<serde_json::Value> = base
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path,
                "score": f.score,
                "secondary": signals.structure
                    && crate::index::localize::secondary_kind(&f.path).is_some(),
            })
        })
        .collect();
    let mut nearest = Vec::new();
    if let Some(embedder) = embedder.filter(|_| signals.vectors && store.has_vectors())
        && let Some(v) = embedder.embed(vec![inst.query.clone()]).await?.pop()
    {
        for b in store.nearest_chunks(v, &["path"], EVIDENCE_NEAREST).await? {
            let path = crate::index::store::str_col(&b, "path")?;
            let dist = crate::index::store::f32_col(&b, "_distance")
                .context("nearest chunks came back without _distance")?;
            for i in 0..b.num_rows() {
                nearest.push(serde_json::json!({"path": path.value(i), "distance": dist.value(i)}));
            }
        }
    }
    Ok(serde_json::json!({
        "query": inst.query,
        "rev": inst.rev,
        "gold_files": inst.gold_files,
        "candidates": candidates,
        "nearest": nearest,
    }))
}

fn print_report(out: &mut impl Write, r: &Report) -> Result<()> {
    for (i, inst) in r.instances.iter().enumerate() {
        if !inst.misses.is_empty() {
            writeln!(
                out,
                "miss #{i} {}@{}: {}",
                inst.repo,
                inst.rev.as_deref().unwrap_or("HEAD"),
                inst.misses.join(", ")
            )?;
        }
    }
    let line = |out: &mut dyn Write, label: &str, s: &Summary| {
        writeln!(
            out,
            "{label}n={}  acc@1={:.3}  acc@3={:.3}  acc@5={:.3}  acc@10={:.3}  mrr={:.3}  query p50={:.1} ms",
            s.n, s.acc1, s.acc3, s.acc5, s.acc10, s.mrr, s.query_ms_p50
        )
    };
    match &r.llm_summary {
        Some(l) => {
            line(out, "offline:  ", &r.summary)?;
            line(out, "with llm: ", l)?;
        }
        None => line(out, "", &r.summary)?,
    }
    if let Some(q) = &r.llm_questions {
        writeln!(
            out,
            "model questions ({}): {} requests, {} tokens, {} instances scored with some pending",
            q.model, q.requests, q.tokens, q.instances_with_pending
        )?;
        for w in &q.warnings {
            writeln!(out, "warning: {w}")?;
        }
    }
    Ok(())
}

pub fn read_suite(path: &Path) -> Result<Vec<Instance>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read suite {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut inst: Instance = serde_json::from_str(line).with_context(|| {
            format!(
                "{}:{}: not a suite line ({{\"repo\", \"rev\", \"query\", \"gold_files\"}})",
                path.display(),
                i + 1
            )
        })?;
        if inst.repo.is_relative() {
            inst.repo = base.join(&inst.repo);
        }
        out.push(inst);
    }
    Ok(out)
}

/// Score a suite. Instances of one repository share a worktree and an index that is
/// refreshed incrementally from revision to revision.
pub async fn localize(
    suite: &Path,
    config: &Config,
    signals: Signals,
    progress: bool,
    model: Option<&EvalModel>,
    mut evidence: Option<&mut dyn Write>,
) -> Result<Report> {
    let instances = read_suite(suite)?;
    let mut by_repo: HashMap<PathBuf, Vec<(usize, Instance)>> = HashMap::new();
    for (i, inst) in instances.into_iter().enumerate() {
        by_repo
            .entry(inst.repo.clone())
            .or_default()
            .push((i, inst));
    }
    let mut results: Vec<(usize, InstanceResult)> = Vec::new();
    let mut questions_cost = model.filter(|m| m.questions).map(|m| QuestionsCost {
        model: m.llm.model(crate::agent::llm::Tier::Fast).to_string(),
        ..Default::default()
    });
    let scratch = tempfile::tempdir()?;
    for (n, (repo, mut insts)) in by_repo.into_iter().enumerate() {
        let repo = repo
            .canonicalize()
            .with_context(|| format!("suite repo {} not found", repo.display()))?;
        // Oldest first: each refresh then only moves forward a little.
        insts.sort_by_key(|(_, inst)| {
            inst.rev
                .as_deref()
                .map(|r| commit_time(&repo, r))
                .unwrap_or(i64::MAX)
        });
        let worktree = scratch.path().join(format!("wt{n}"));
        let mut have_worktree = false;
        let count = insts.len();
        for (k, (i, inst)) in insts.into_iter().enumerate() {
            let root = match &inst.rev {
                Some(rev) => {
                    if !have_worktree {
                        git(
                            &repo,
                            &[
                                "worktree",
                                "add",
                                "--detach",
                                "-f",
                                path_str(&worktree)?,
                                rev,
                            ],
                        )?;
                        have_worktree = true;
                    } else {
                        git(&worktree, &["checkout", "-q", "--detach", "-f", rev])?;
                    }
                    worktree.clone()
                }
                None => repo.clone(),
            };
            let loc = RepoLocation {
                root: root.clone(),
                is_git: true,
                index_dir: scratch.path().join(format!("index{n}")),
            };
            if progress {
                eprint!("\r{}: {}/{count}", repo.display(), k + 1);
            }
            let indexed = run_index(
                &loc,
                config,
                &IndexOptions {
                    embed: true,
                    rebuild: false,
                    progress: false,
                },
            )
            .await?;
            let commits_visible = indexed.history.map(|h| h.commits).unwrap_or(0);
            let store = Store::open(&loc.index_dir).await?;
            // Model questions for this revision: the cache (in the scratch index) answers
            // for definitions unchanged since the previous one.
            let mut llm_questions_pending = None;
            if let (Some(m), Some(cost)) = (model, questions_cost.as_mut()) {
                let q = crate::index::llm_questions::run(&store, &m.llm, &m.redactor, &m.config)
                    .await?;
                cost.requests += q.requests;
                cost.tokens += q.tokens;
                cost.instances_with_pending += usize::from(q.pending > 0);
                for w in q.warnings {
                    if !cost.warnings.contains(&w) {
                        cost.warnings.push(w);
                    }
                }
                llm_questions_pending = Some(q.pending);
            }
            let embedder = if signals.vectors {
                crate::index::embedder_for(&store, config, &loc.index_dir).await?
            } else {
                None
            };
            let t = Instant::now();
            let ranked =
                rank_files_for_issue(&store, embedder.as_ref(), &inst.query, 50, signals).await?;
            let query_ms = t.elapsed().as_secs_f64() * 1000.0;
            if let Some(w) = evidence.as_deref_mut() {
                let line = instance_evidence(&store, embedder.as_ref(), &inst, signals).await?;
                serde_json::to_writer(&mut *w, &line)?;
                writeln!(w)?;
            }
            let top: Vec<String> = ranked.files.iter().map(|f| f.path.clone()).collect();
            let ranks_in = |top: &[String]| -> Vec<Option<usize>> {
                inst.gold_files
                    .iter()
                    .map(|g| top.iter().position(|p| p == g).map(|r| r + 1))
                    .collect()
            };
            let gold_ranks = ranks_in(&top);
            let (llm_gold_ranks, llm_error) = match model.filter(|m| m.rerank) {
                None => (None, None),
                Some(m) => match crate::index::rerank::rerank(
                    &store,
                    &m.llm,
                    &m.redactor,
                    &inst.query,
                    &ranked.files,
                    m.config.rerank_candidates,
                    m.config.rerank_max_tokens,
                )
                .await
                {
                    Ok((files, _)) => {
                        let order: Vec<String> = files.into_iter().map(|f| f.path).collect();
                        (Some(ranks_in(&order)), None)
                    }
                    Err(why) => (Some(gold_ranks.clone()), Some(why)),
                },
            };
            let misses = inst
                .gold_files
                .iter()
                .zip(&gold_ranks)
                .filter(|(_, r)| r.is_none_or(|r| r > 10))
                .map(|(g, _)| g.clone())
                .collect();
            results.push((
                i,
                InstanceResult {
                    repo: repo.display().to_string(),
                    rev: inst.rev.clone(),
                    gold_ranks,
                    top: top.into_iter().take(10).collect(),
                    misses,
                    query_ms,
                    commits_visible,
                    llm_gold_ranks,
                    llm_error,
                    llm_questions_pending,
                },
            ));
        }
        if have_worktree {
            let _ = git(
                &repo,
                &["worktree", "remove", "--force", path_str(&worktree)?],
            );
        }
    }
    if progress {
        eprintln!();
    }
    results.sort_by_key(|(i, _)| *i);
    let instances: Vec<InstanceResult> = results.into_iter().map(|(_, r)| r).collect();
    let llm_summary = model.filter(|m| m.rerank).map(|_| {
        let reranked: Vec<InstanceResult> = instances
            .iter()
            .map(|i| InstanceResult {
                gold_ranks: i.llm_gold_ranks.clone().unwrap_or_default(),
                ..i.clone()
            })
            .collect();
        summarize(&reranked, signals)
    });
    Ok(Report {
        summary: summarize(&instances, signals),
        llm_summary,
        llm_questions: questions_cost,
        instances,
    })
}

pub fn summarize(instances: &[InstanceResult], signals: Signals) -> Summary {
    let n = instances.len().max(1) as f64;
    // All gold files within the top k.
    let acc = |k: usize| {
        instances
            .iter()
            .filter(|r| {
                !r.gold_ranks.is_empty() && r.gold_ranks.iter().all(|x| x.is_some_and(|x| x <= k))
            })
            .count() as f64
            / n
    };
    let mrr = instances
        .iter()
        .map(|r| {
            r.gold_ranks
                .iter()
                .flatten()
                .min()
                .map(|&x| 1.0 / x as f64)
                .unwrap_or(0.0)
        })
        .sum::<f64>()
        / n;
    let mut times: Vec<f64> = instances.iter().map(|r| r.query_ms).collect();
    times.sort_by(|a, b| a.total_cmp(b));
    let p50 = times.get(times.len() / 2).copied().unwrap_or(0.0);
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    Summary {
        n: instances.len(),
        acc1: round(acc(1)),
        acc3: round(acc(3)),
        acc5: round(acc(5)),
        acc10: round(acc(10)),
        mrr: round(mrr),
        query_ms_p50: (p50 * 10.0).round() / 10.0,
        signals,
    }
}

/// Write a suite from fix commits: query = the commit message, gold = the source files
/// it modified, rev = its parent.
pub fn mine(root: &Path, out: &Path, limit: usize) -> Result<usize> {
    let cfg = crate::config::HistoryConfig {
        max_commits: 20_000,
        max_age_days: 20 * 365,
        ..Default::default()
    };
    let scan =
        crate::index::history::scan_with(root, None, &cfg, chrono::Utc::now().timestamp(), false)?;
    let fix = regex::Regex::new(
        r"(?i)\b(fix(e[sd])?|bug|crash(es|ed)?|error|fail(s|ed|ure)?|regression|broken|wrong|incorrect|panic)\b",
    )?;
    let pr_suffix = regex::Regex::new(r"\s*\(#\d+\)\s*$")?;
    let mut file =
        std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?;
    let mut n = 0;
    for c in &scan.commits {
        if n >= limit {
            break;
        }
        if c.summary.starts_with("Merge ")
            || c.parents > 1
            || !fix.is_match(&format!("{}\n{}", c.summary, c.body))
        {
            continue;
        }
        let gold: Vec<String> = c
            .files
            .iter()
            .filter(|f| !c.added.contains(f))
            .filter(|f| Lang::detect(Path::new(f)).is_some_and(|l| l.grammar().is_some()))
            .filter(|f| !is_test_path(f))
            .cloned()
            .collect();
        if gold.is_empty() || gold.len() > 5 {
            continue;
        }
        let parent = match git_output(root, &["rev-parse", &format!("{}^", c.id)]) {
            Ok(p) => p,
            Err(_) => continue,
        };
        let query = format!("{}\n\n{}", pr_suffix.replace(&c.summary, ""), c.body)
            .trim()
            .to_string();
        // "fix typo" says nothing a user would report.
        if query.split_whitespace().count() < 6 {
            continue;
        }
        let inst = Instance {
            repo: root.to_path_buf(),
            rev: Some(parent),
            query,
            gold_files: gold,
        };
        serde_json::to_writer(&mut file, &inst)?;
        writeln!(file)?;
        n += 1;
    }
    Ok(n)
}

fn is_test_path(p: &str) -> bool {
    let lc = p.to_lowercase();
    lc.split('/')
        .any(|s| s == "test" || s == "tests" || s == "testing" || s == "__tests__" || s == "spec")
        || lc.rsplit('/').next().is_some_and(|f| {
            f.starts_with("test_")
                || f.contains("_test.")
                || f.contains(".test.")
                || f.contains(".spec.")
                || f.ends_with("test.java")
                || f.ends_with("tests.rs")
        })
}

fn commit_time(repo: &Path, rev: &str) -> i64 {
    git_output(repo, &["show", "-s", "--format=%ct", rev])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    git_output(dir, args).map(|_| ())
}

fn git_output(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    anyhow::ensure!(
        out.status.success(),
        "git {} failed in {}: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_needs_every_gold_file_and_mrr_the_first() {
        let r = |ranks: Vec<Option<usize>>| InstanceResult {
            repo: String::new(),
            rev: None,
            gold_ranks: ranks,
            top: Vec::new(),
            misses: Vec::new(),
            query_ms: 1.0,
            commits_visible: 0,
            llm_gold_ranks: None,
            llm_error: None,
            llm_questions_pending: None,
        };
        let s = summarize(
            &[r(vec![Some(1)]), r(vec![Some(2), Some(7)]), r(vec![None])],
            Signals::default(),
        );
        assert_eq!(s.n, 3);
        assert!((s.acc1 - 0.333).abs() < 1e-9);
        assert!((s.acc5 - 0.333).abs() < 1e-9);
        assert!((s.acc10 - 0.667).abs() < 1e-9);
        assert!((s.mrr - 0.5).abs() < 1e-9);
    }

    #[test]
    fn test_paths_are_recognised() {
        for p in [
            "tests/test_api.py",
            "src/foo_test.go",
            "web/cart.test.ts",
            "pkg/FooTest.java",
            "crate/tests/it.rs",
        ] {
            assert!(is_test_path(p), "{p}");
        }
        assert!(!is_test_path("src/contest.rs"));
    }
}
