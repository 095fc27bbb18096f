//! One fusion for issue ranking: each signal's list counts by rank, then what a
//! maintainer knows about the repository is added: a file several signals agree on or
//! rank first counts more, a test or doc hit passes part of its evidence to the source
//! file it exercises, files that are not source count less, and files that past fixes
//! changed count more than those they never reached; last, a file the history usually
//! changes with one of the first few follows it (`cochange`). The weights are learned
//! (see `Weights`) and refitted per repository (`learn`).

use std::collections::HashMap;

use super::cochange::follow_partners;
pub use super::profile::Weights;
use super::profile::{FixCounts, RepoProfile, Role};
use super::ranking::{RankedFile, RankedSymbol};
use super::signals::Hit;

/// A signal's hit at rank r (from 1) counts `RANK_K / (RANK_K + r)` of its weight: 1
/// for the first, halving by rank 6.
pub const RANK_K: f32 = 5.0;

/// Every signal's list for one issue (an empty list for a signal that is off).
#[derive(Debug, Clone, Default)]
pub struct SignalHits {
    pub frames: Vec<Hit>,
    pub paths: Vec<Hit>,
    pub symbols: Vec<Hit>,
    pub fulltext: Vec<Hit>,
    pub files: Vec<Hit>,
    pub questions: Vec<Hit>,
    pub llm_questions: Vec<Hit>,
    pub vectors: Vec<Hit>,
    pub history: Vec<Hit>,
    pub path_words: Vec<Hit>,
}

#[derive(Default)]
struct Evidence {
    score: f32,
    /// The same without the signals' weights: what a test or doc passes on.
    raw: f32,
    reasons: Vec<String>,
    /// Each symbol the hits named, with the evidence that named it.
    symbols: Vec<(RankedSymbol, f32)>,
}

/// A definition that holds others (a class, a file-level chunk) says less about where
/// the change goes than a function in it.
fn specificity(kind: &str) -> f32 {
    match kind {
        "function" | "method" | "constructor" | "macro" => 1.0,
        _ => 0.5,
    }
}

/// A file's symbols, best supported first.
fn ranked_symbols(mut symbols: Vec<(RankedSymbol, f32)>) -> Vec<RankedSymbol> {
    symbols.sort_by(|a, b| b.1.total_cmp(&a.1));
    symbols.into_iter().map(|(s, _)| s).collect()
}

/// Fuse the lists into one ranking, best first.
pub fn fuse(
    hits: &SignalHits,
    w: &Weights,
    profile: &RepoProfile,
    fixes: &FixCounts,
) -> Vec<RankedFile> {
    let mut ev: HashMap<&str, Evidence> = HashMap::new();
    let lists: [(&[Hit], f32); 10] = [
        (&hits.frames, w.frames),
        (&hits.paths, w.paths),
        (&hits.symbols, w.symbols),
        (&hits.fulltext, w.fulltext),
        (&hits.files, w.files),
        (&hits.questions, w.questions),
        (&hits.llm_questions, w.llm_questions),
        (&hits.vectors, w.vectors),
        (&hits.history, w.history),
        (&hits.path_words, w.path_words),
    ];
    for (list, weight) in lists {
        if weight <= 0.0 {
            continue;
        }
        for (rank, h) in list.iter().enumerate() {
            let e = ev.entry(h.path.as_str()).or_default();
            let by_rank = h.strength * RANK_K / (RANK_K + (rank + 1) as f32);
            e.score += weight * by_rank + w.agreement;
            e.raw += by_rank;
            if rank == 0 {
                e.score += w.first;
            }
            if !e.reasons.contains(&h.reason) {
                e.reasons.push(h.reason.clone());
            }
            for s in &h.symbols {
                let support = weight * by_rank * specificity(&s.kind);
                match e.symbols.iter_mut().find(|(x, _)| x == s) {
                    Some((_, v)) => *v += support,
                    None => e.symbols.push((s.clone(), support)),
                }
            }
        }
    }
    // A test or doc hit is evidence for the source it exercises.
    let mut passed: Vec<(String, f32, String)> = Vec::new();
    if w.transfer > 0.0 {
        for (path, e) in &ev {
            if profile.role(path).is_secondary() {
                for subject in profile.subjects(path) {
                    passed.push((subject, e.raw * w.transfer, path.to_string()));
                }
            }
        }
    }
    let mut files: Vec<RankedFile> = ev
        .into_iter()
        .map(|(path, e)| RankedFile {
            path: path.to_string(),
            score: e.score,
            reasons: e.reasons,
            symbols: ranked_symbols(e.symbols),
        })
        .collect();
    for (subject, score, from) in passed {
        let reason = format!("exercised by {from}");
        match files.iter_mut().find(|f| f.path == subject) {
            Some(f) => {
                f.score += score;
                f.reasons.push(reason);
            }
            None => files.push(RankedFile {
                path: subject,
                score,
                reasons: vec![reason],
                symbols: Vec::new(),
            }),
        }
    }
    for f in &mut files {
        let role = profile.role(&f.path);
        let penalty = match role {
            Role::Source => 0.0,
            Role::Config => w.config,
            _ => w.secondary,
        };
        if penalty > 0.0 {
            f.score -= penalty;
            f.reasons
                .push(format!("{} file (ranked below source)", role.label()));
        }
        let n = fixes.around(&f.path);
        if n > 0.0 {
            f.score += w.prior * n.ln_1p().ln_1p();
        }
    }
    files.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.path.cmp(&b.path)));
    follow_partners(&mut files, fixes.partners());
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(p: &str) -> Hit {
        Hit {
            path: p.into(),
            strength: 1.0,
            reason: format!("found {p}"),
            symbols: Vec::new(),
        }
    }

    fn profile() -> RepoProfile {
        RepoProfile::new(
            [
                "pkg/cart.py",
                "tests/test_cart.py",
                "docs/cart.md",
                "pkg/tax.py",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            "",
        )
    }

    #[test]
    fn tests_rank_below_source_and_pass_their_evidence_to_it() {
        let hits = SignalHits {
            fulltext: vec![
                hit("tests/test_cart.py"),
                hit("pkg/tax.py"),
                hit("pkg/cart.py"),
            ],
            ..Default::default()
        };
        let w = Weights {
            prior: 0.0,
            transfer: 1.0,
            ..Weights::default()
        };
        let ranked = fuse(&hits, &w, &profile(), &FixCounts::default());
        let order: Vec<&str> = ranked.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order[0], "pkg/cart.py", "{order:?}");
        assert_eq!(*order.last().unwrap(), "tests/test_cart.py", "{order:?}");
        assert!(ranked[0].reasons.iter().any(|r| r.contains("exercised by")));
    }

    #[test]
    fn a_file_that_changes_with_the_first_follows_it() {
        let hits = SignalHits {
            fulltext: vec![hit("pkg/cart.py"), hit("docs/cart.md"), hit("pkg/tax.py")],
            path_words: vec![hit("pkg/cart.py")],
            ..Default::default()
        };
        let w = Weights::default();
        let plain = FixCounts::default();
        let order = |fixes: &FixCounts| -> Vec<String> {
            fuse(&hits, &w, &profile(), fixes)
                .into_iter()
                .map(|f| f.path)
                .collect()
        };
        assert_eq!(order(&plain)[..2], ["pkg/cart.py", "pkg/tax.py"]);
        let partners = FixCounts::default().with_partners(
            [(
                "pkg/cart.py".to_string(),
                vec!["pkg/checkout.py".to_string()],
            )]
            .into_iter()
            .collect(),
        );
        assert_eq!(
            order(&partners)[..3],
            ["pkg/cart.py", "pkg/checkout.py", "pkg/tax.py"]
        );
    }

    #[test]
    fn the_prior_favours_files_past_fixes_changed() {
        let hits = SignalHits {
            fulltext: vec![hit("pkg/tax.py"), hit("pkg/cart.py")],
            ..Default::default()
        };
        let fixes = FixCounts::from_counts(
            [("pkg/cart.py".to_string(), 9)].into_iter().collect(),
            &profile(),
        );
        let off = fuse(
            &hits,
            &Weights {
                prior: 0.0,
                ..Weights::default()
            },
            &profile(),
            &fixes,
        );
        assert_eq!(off[0].path, "pkg/tax.py");
        let on = fuse(
            &hits,
            &Weights {
                prior: 4.0,
                ..Weights::default()
            },
            &profile(),
            &fixes,
        );
        assert_eq!(on[0].path, "pkg/cart.py");
    }
}
