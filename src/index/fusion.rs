//! One fusion for issue ranking: weighted reciprocal-rank fusion of the signals'
//! lists, then what a maintainer knows about the repository: a test or doc hit passes
//! part of its evidence to the source file it exercises, files that are not source
//! rank below those that are, and files that past fixes changed rank above those they
//! never reached. The weights are fitted per repository (`learn`).

use std::collections::HashMap;

pub use super::profile::Weights;
use super::profile::{FixCounts, RepoProfile, Role};
use super::ranking::{RankedFile, RankedSymbol};
use super::signals::Hit;

const RRF_K: f32 = 60.0;

/// Every signal's list for one issue (an empty list for a signal that is off).
#[derive(Debug, Clone, Default)]
pub struct SignalHits {
    pub frames: Vec<Hit>,
    pub paths: Vec<Hit>,
    pub symbols: Vec<Hit>,
    pub fulltext: Vec<Hit>,
    pub questions: Vec<Hit>,
    pub llm_questions: Vec<Hit>,
    pub vectors: Vec<Hit>,
    pub history: Vec<Hit>,
    pub path_words: Vec<Hit>,
}

#[derive(Default)]
struct Evidence {
    score: f32,
    reasons: Vec<String>,
    symbols: Vec<RankedSymbol>,
}

/// Fuse the lists into one ranking, best first.
pub fn fuse(
    hits: &SignalHits,
    w: &Weights,
    profile: &RepoProfile,
    fixes: &FixCounts,
) -> Vec<RankedFile> {
    let mut ev: HashMap<&str, Evidence> = HashMap::new();
    let lists: [(&[Hit], f32); 9] = [
        (&hits.frames, w.frames),
        (&hits.paths, w.paths),
        (&hits.symbols, w.symbols),
        (&hits.fulltext, w.fulltext),
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
            e.score += weight * h.strength / (RRF_K + (rank + 1) as f32);
            if !e.reasons.contains(&h.reason) {
                e.reasons.push(h.reason.clone());
            }
            for s in &h.symbols {
                if !e.symbols.contains(s) {
                    e.symbols.push(s.clone());
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
                    passed.push((subject, e.score * w.transfer, path.to_string()));
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
            symbols: e.symbols,
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
        if role != Role::Source && w.secondary < 1.0 {
            f.score *= w.secondary;
            f.reasons
                .push(format!("{} file (ranked below source)", role.label()));
        }
        let n = fixes.around(&f.path);
        if w.prior > 0.0 && n > 0.0 {
            f.score *= (1.0 + n.ln_1p()).powf(w.prior);
        }
    }
    files.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.path.cmp(&b.path)));
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
            ..Weights::default()
        };
        let ranked = fuse(&hits, &w, &profile(), &FixCounts::default());
        let order: Vec<&str> = ranked.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order[0], "pkg/cart.py", "{order:?}");
        assert_eq!(*order.last().unwrap(), "tests/test_cart.py", "{order:?}");
        assert!(ranked[0].reasons.iter().any(|r| r.contains("exercised by")));
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
                prior: 1.0,
                ..Weights::default()
            },
            &profile(),
            &fixes,
        );
        assert_eq!(on[0].path, "pkg/cart.py");
    }
}
