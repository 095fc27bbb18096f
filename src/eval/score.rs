//! Scoring a localization run: accuracy at k, MRR and function-level accuracy, over
//! all instances and per split.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use super::mine::{Instance, Split};
use crate::index::localize::{RankedFile, Signals};
use crate::index::store::Store;

#[derive(Debug, Clone, Serialize)]
pub struct InstanceResult {
    pub repo: String,
    pub rev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// 1-based rank of each gold file in the ranking (null when not in the top 50).
    pub gold_ranks: Vec<Option<usize>>,
    /// The same for the BM25 baseline (full text alone) on the same index.
    pub baseline_gold_ranks: Vec<Option<usize>>,
    /// `path::name` of the definitions enclosing the lines the fix changed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gold_functions: Vec<String>,
    /// 1-based position of the first gold function among the functions the ranking
    /// names, read file by file.
    pub function_rank: Option<usize>,
    pub baseline_function_rank: Option<usize>,
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
    /// Instances whose fix changed lines inside a definition, and the share of them
    /// with one of those definitions among the first five the ranking names.
    pub fn_n: usize,
    #[serde(rename = "fn_acc@5")]
    pub fn_acc5: f64,
    pub query_ms_p50: f64,
    pub signals: Signals,
}

/// A summary over all instances and per split.
#[derive(Debug, Clone, Serialize)]
pub struct Scores {
    pub summary: Summary,
    pub by_split: BTreeMap<&'static str, Summary>,
}

/// `path::name` of the innermost definition around each range the fix changed.
pub async fn gold_functions(store: &Store, inst: &Instance) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for (path, ranges) in &inst.gold_lines {
        let defs = store.definitions_in(path).await?;
        for [first, last] in ranges {
            let inner = defs
                .iter()
                .filter(|d| d.start_line <= *last && d.end_line >= *first)
                .filter(|d| is_function_kind(&d.kind))
                .min_by_key(|d| d.end_line - d.start_line);
            if let Some(d) = inner {
                let name = format!("{path}::{}", d.name);
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        }
    }
    Ok(out)
}

fn is_function_kind(kind: &str) -> bool {
    matches!(kind, "function" | "method" | "constructor" | "macro")
}

/// Where the first gold function comes among the functions a ranking names.
pub fn function_rank(files: &[RankedFile], gold: &[String]) -> Option<usize> {
    files
        .iter()
        .flat_map(|f| {
            // Only functions count: a doc's sections or a file's classes are not places
            // a function-level answer can be.
            f.symbols
                .iter()
                .filter(|s| is_function_kind(&s.kind))
                .map(move |s| format!("{}::{}", f.path, s.name))
        })
        .position(|named| gold.contains(&named))
        .map(|p| p + 1)
}

pub fn scores(instances: &[InstanceResult], signals: Signals) -> Scores {
    let mut by_split = BTreeMap::new();
    for split in [Split::Tune, Split::HeldOut] {
        let part: Vec<InstanceResult> = instances
            .iter()
            .filter(|i| i.split == Some(split))
            .cloned()
            .collect();
        if !part.is_empty() {
            by_split.insert(split.label(), summarize(&part, signals));
        }
    }
    Scores {
        summary: summarize(instances, signals),
        by_split,
    }
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
    let with_fns: Vec<&InstanceResult> = instances
        .iter()
        .filter(|r| !r.gold_functions.is_empty())
        .collect();
    let fn_hits = with_fns
        .iter()
        .filter(|r| r.function_rank.is_some_and(|x| x <= 5))
        .count();
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
        fn_n: with_fns.len(),
        fn_acc5: round(fn_hits as f64 / with_fns.len().max(1) as f64),
        query_ms_p50: (p50 * 10.0).round() / 10.0,
        signals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_needs_every_gold_file_and_mrr_the_first() {
        let r = |ranks: Vec<Option<usize>>| InstanceResult {
            repo: String::new(),
            rev: None,
            fix: None,
            split: None,
            baseline_gold_ranks: ranks.clone(),
            gold_functions: Vec::new(),
            function_rank: None,
            baseline_function_rank: None,
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
    fn the_function_rank_reads_the_ranking_file_by_file() {
        let sym = |name: &str| crate::index::localize::RankedSymbol {
            name: name.into(),
            kind: if name.starts_with("Section") {
                "section".into()
            } else {
                "function".into()
            },
            start_line: 1,
            end_line: 2,
        };
        let file = |path: &str, names: &[&str]| RankedFile {
            path: path.into(),
            score: 1.0,
            reasons: Vec::new(),
            symbols: names.iter().map(|n| sym(n)).collect(),
        };
        let files = vec![
            file("CHANGELOG.md", &["Section A", "Section B"]),
            file("a.py", &["f", "g"]),
            file("b.py", &["h", "charge"]),
        ];
        // A document's sections take no place among the functions.
        assert_eq!(function_rank(&files, &["b.py::charge".into()]), Some(4));
        assert_eq!(function_rank(&files, &["a.py::charge".into()]), None);
    }
}
