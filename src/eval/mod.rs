//! `triage eval`: measure issue → files ranking on suites mined from real history.
//!
//! `localize` indexes each instance's repository at the instance's revision in a
//! detached worktree (so no later history is visible), ranks files for the query, and
//! scores the ranking against the gold files. `mine` writes such a suite from a
//! repository's own fix commits.

pub mod evidence;
pub mod incidents;
pub mod mine;
pub mod score;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::config::Config;
use crate::index::localize::{Signals, rank_files_for_issue};
use crate::index::store::Store;
use crate::index::{IndexOptions, run_index};
use crate::repo::RepoLocation;
use mine::git_output;

pub use mine::{Instance, Split};
pub use score::{InstanceResult, Scores, Summary, summarize};
use score::{function_rank, gold_functions, scores};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub summary: Summary,
    /// The same per split (`tune`, `held-out`) when the suite records them.
    pub by_split: BTreeMap<&'static str, Summary>,
    /// Plain BM25 (the full-text signal alone) on the same indexes.
    pub baseline: Scores,
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
    pub llm: crate::llm::chat::LlmClient,
    pub redactor: crate::llm::redact::Redactor,
    pub config: crate::config::LlmConfig,
    pub rerank: bool,
    pub questions: bool,
}

impl EvalModel {
    pub fn from_config(config: &Config, rerank: bool, questions: bool) -> Result<Self> {
        let llm = crate::llm::chat::LlmClient::from_config(&config.llm)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--llm and --llm-questions need a model: set [llm] model (or OPENAI_MODEL) and the endpoint"
            )
        })?;
        Ok(Self {
            llm,
            redactor: crate::llm::redact::Redactor::from_env(&config.agent)?,
            config: config.llm.clone(),
            rerank,
            questions,
        })
    }
}

pub fn print_report(out: &mut impl Write, r: &Report) -> Result<()> {
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
            "{label:<18}n={:<3} acc@1={:.3}  acc@3={:.3}  acc@5={:.3}  acc@10={:.3}  mrr={:.3}  fn acc@5={:.3} (n={})  query p50={:.1} ms",
            s.n, s.acc1, s.acc3, s.acc5, s.acc10, s.mrr, s.fn_acc5, s.fn_n, s.query_ms_p50
        )
    };
    for (name, scores) in [
        ("", (&r.summary, &r.by_split)),
        ("bm25 ", (&r.baseline.summary, &r.baseline.by_split)),
    ] {
        line(out, &format!("{name}all"), scores.0)?;
        for (split, s) in scores.1 {
            line(out, &format!("{name}{split}"), s)?;
        }
    }
    if let Some(l) = &r.llm_summary {
        line(out, "with llm", l)?;
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

/// How a suite is scored.
pub struct LocalizeOptions<'a> {
    pub signals: Signals,
    /// Only instances of this split (all when `None`).
    pub split: Option<Split>,
    pub progress: bool,
    pub model: Option<&'a EvalModel>,
}

/// Score a suite. Instances of one repository share a worktree and an index that is
/// refreshed incrementally from revision to revision.
#[allow(clippy::too_many_lines)] // the per-instance loop: worktree, index, rank, score, evidence
pub async fn localize(
    suite: &Path,
    config: &Config,
    opts: &LocalizeOptions<'_>,
    mut evidence: Option<&mut dyn Write>,
) -> Result<Report> {
    let (signals, model) = (opts.signals, opts.model);
    let instances = read_suite(suite)?;
    let mut by_repo: HashMap<PathBuf, Vec<(usize, Instance)>> = HashMap::new();
    for (i, inst) in instances.into_iter().enumerate() {
        if opts.split.is_some_and(|s| inst.split != Some(s)) {
            continue;
        }
        by_repo
            .entry(inst.repo.clone())
            .or_default()
            .push((i, inst));
    }
    let mut results: Vec<(usize, InstanceResult)> = Vec::new();
    let mut questions_cost = model.filter(|m| m.questions).map(|m| QuestionsCost {
        model: m.llm.model(crate::llm::chat::Tier::Fast).to_string(),
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
            if opts.progress {
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
                crate::index::embedder_for(&store, config).await?
            } else {
                None
            };
            let t = Instant::now();
            let ranked =
                rank_files_for_issue(&store, embedder.as_ref(), &inst.query, 50, signals).await?;
            let query_ms = t.elapsed().as_secs_f64() * 1000.0;
            let baseline =
                rank_files_for_issue(&store, None, &inst.query, 50, Signals::bm25()).await?;
            if let Some(w) = evidence.as_deref_mut() {
                let line = evidence::instance_evidence(
                    &store,
                    embedder.as_ref(),
                    &inst,
                    signals,
                    &ranked.files,
                )
                .await?;
                serde_json::to_writer(&mut *w, &line)?;
                writeln!(w)?;
            }
            let gold_functions = gold_functions(&store, &inst).await?;
            let top: Vec<String> = ranked.files.iter().map(|f| f.path.clone()).collect();
            let ranks_in = |top: &[String]| -> Vec<Option<usize>> {
                inst.gold_files
                    .iter()
                    .map(|g| top.iter().position(|p| p == g).map(|r| r + 1))
                    .collect()
            };
            let gold_ranks = ranks_in(&top);
            let baseline_top: Vec<String> = baseline.files.iter().map(|f| f.path.clone()).collect();
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
                    fix: inst.fix.clone(),
                    split: inst.split,
                    gold_ranks,
                    baseline_gold_ranks: ranks_in(&baseline_top),
                    function_rank: function_rank(&ranked.files, &gold_functions),
                    baseline_function_rank: function_rank(&baseline.files, &gold_functions),
                    gold_functions,
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
    if opts.progress {
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
    let baseline: Vec<InstanceResult> = instances
        .iter()
        .map(|i| InstanceResult {
            gold_ranks: i.baseline_gold_ranks.clone(),
            function_rank: i.baseline_function_rank,
            ..i.clone()
        })
        .collect();
    let ours = scores(&instances, signals);
    Ok(Report {
        summary: ours.summary,
        by_split: ours.by_split,
        baseline: scores(&baseline, Signals::bm25()),
        llm_summary,
        llm_questions: questions_cost,
        instances,
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
