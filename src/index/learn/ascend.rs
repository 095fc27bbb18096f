//! The fit's search: each replayed past fix reduced to what the fusion's score reads,
//! scored under a weight setting (Acc@1, Acc@5 and the first gold file's reciprocal
//! rank), and a coordinate ascent over the weights the fit may move, from the defaults.

use crate::index::fusion::{SignalHits, Weights, fuse};
use crate::index::profile::{FixCounts, RepoProfile};

/// One weight the fit may move.
pub(super) struct Knob {
    pub(super) name: &'static str,
    pub(super) get: fn(&Weights) -> f32,
    pub(super) set: fn(&mut Weights, f32),
}

/// The values a knob may take, as multiples of its default: off, half, as learned
/// across repositories, double.
const MULTIPLES: &[f32] = &[0.0, 0.5, 1.0, 2.0];

macro_rules! knob {
    ($name:ident) => {
        Knob {
            name: stringify!($name),
            get: |w| w.$name,
            set: |w, v| w.$name = v,
        }
    };
}

pub(super) const KNOBS: &[Knob] = &[
    knob!(fulltext),
    knob!(files),
    knob!(symbols),
    knob!(history),
    knob!(path_words),
    knob!(questions),
    knob!(first),
    knob!(agreement),
    knob!(prior),
    knob!(secondary),
    knob!(transfer),
];

/// The knobs whose value in `w` is not their default.
pub(super) fn moved(w: &Weights) -> Vec<&'static Knob> {
    let defaults = Weights::default();
    KNOBS
        .iter()
        .filter(|k| (k.get)(w) != (k.get)(&defaults))
        .collect()
}

/// A replayed fix's lists as far as the fit reads them: the reasons and symbols of
/// each hit only explain a ranking, and copying them is most of what a fusion costs.
pub(super) fn scores_only(mut hits: SignalHits) -> SignalHits {
    for list in [
        &mut hits.frames,
        &mut hits.paths,
        &mut hits.symbols,
        &mut hits.fulltext,
        &mut hits.files,
        &mut hits.questions,
        &mut hits.llm_questions,
        &mut hits.vectors,
        &mut hits.history,
        &mut hits.path_words,
    ] {
        for h in list.iter_mut() {
            h.reason.clear();
            h.symbols.clear();
        }
    }
    hits
}

/// One past fix as the fusion saw it: every signal's list, the fix counts before it,
/// and the files it changed.
pub(super) type Replayed<'a> = (SignalHits, FixCounts, &'a [String]);

/// How a weight setting ranks replayed past fixes: the share with every changed file
/// first (one file) or in the first five, and the mean reciprocal rank of the best
/// ranked changed file.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct Score {
    pub(super) acc1: f32,
    pub(super) acc5: f32,
    pub(super) mrr: f32,
}

impl Score {
    /// What the fit maximizes: first places count as much as the top five, and the
    /// reciprocal rank separates near misses.
    pub(super) fn objective(&self) -> f32 {
        self.acc1 + self.acc5 + self.mrr
    }
}

/// Each replayed fix's score under `w`, in order.
pub(super) fn per_fix(replay: &[Replayed<'_>], w: &Weights, profile: &RepoProfile) -> Vec<Score> {
    replay
        .iter()
        .map(|(hits, fixes, gold)| {
            let ranked = fuse(hits, w, profile, fixes);
            let ranks: Vec<Option<usize>> = gold
                .iter()
                .map(|g| ranked.iter().position(|f| &f.path == g).map(|r| r + 1))
                .collect();
            let within = |k: usize| {
                if ranks.iter().all(|r| r.is_some_and(|r| r <= k)) {
                    1.0
                } else {
                    0.0
                }
            };
            Score {
                acc1: within(1),
                acc5: within(5),
                mrr: ranks
                    .iter()
                    .flatten()
                    .min()
                    .map_or(0.0, |r| 1.0 / *r as f32),
            }
        })
        .collect()
}

/// The mean of per-fix scores.
pub(super) fn mean(scores: &[Score]) -> Score {
    let n = scores.len().max(1) as f32;
    let sum = |f: fn(&Score) -> f32| scores.iter().map(f).sum::<f32>() / n;
    Score {
        acc1: sum(|s| s.acc1),
        acc5: sum(|s| s.acc5),
        mrr: sum(|s| s.mrr),
    }
}

/// Acc@1, Acc@5 and MRR of `w` on replayed past fixes.
pub(super) fn replay_score(replay: &[Replayed<'_>], w: &Weights, profile: &RepoProfile) -> Score {
    mean(&per_fix(replay, w, profile))
}

/// Coordinate ascent from the defaults over `knobs`: a value must beat the current one
/// by a whole instance's worth to move a knob.
pub(super) fn ascend(
    replay: &[Replayed<'_>],
    profile: &RepoProfile,
    knobs: &[&Knob],
) -> (Weights, Score) {
    let defaults = Weights::default();
    let step = 1.0 / replay.len().max(1) as f32;
    let mut best = defaults;
    let mut best_score = replay_score(replay, &best, profile);
    // The second pass meets most of the first's weights again: each is scored once.
    let mut seen: Vec<(Weights, Score)> = vec![(best, best_score)];
    for _ in 0..2 {
        for knob in knobs {
            for &m in MULTIPLES {
                let mut w = best;
                (knob.set)(&mut w, m * (knob.get)(&defaults));
                let s = match seen.iter().find(|(x, _)| *x == w) {
                    Some((_, s)) => *s,
                    None => {
                        let s = replay_score(replay, &w, profile);
                        seen.push((w, s));
                        s
                    }
                };
                if s.objective() > best_score.objective() + step {
                    best = w;
                    best_score = s;
                }
            }
        }
    }
    (best, best_score)
}
