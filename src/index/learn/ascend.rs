//! The fit's search: each replayed past fix reduced to what the fusion's score reads,
//! scored under a weight setting (Acc@5 and MRR), and a coordinate ascent over the
//! weights the fit may move, from the defaults.

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

/// Acc@5 and MRR of `w` on replayed past fixes.
pub(super) fn replay_score(
    replay: &[Replayed<'_>],
    w: &Weights,
    profile: &RepoProfile,
) -> (f32, f32) {
    let (mut acc5, mut mrr) = (0.0, 0.0);
    for (hits, fixes, gold) in replay {
        let ranked = fuse(hits, w, profile, fixes);
        let ranks: Vec<Option<usize>> = gold
            .iter()
            .map(|g| ranked.iter().position(|f| &f.path == g).map(|r| r + 1))
            .collect();
        if ranks.iter().all(|r| r.is_some_and(|r| r <= 5)) {
            acc5 += 1.0;
        }
        if let Some(best) = ranks.iter().flatten().min() {
            mrr += 1.0 / *best as f32;
        }
    }
    let n = replay.len().max(1) as f32;
    (acc5 / n, mrr / n)
}

pub(super) fn objective(s: (f32, f32)) -> f32 {
    s.0 + s.1
}

/// Coordinate ascent from the defaults: a value must beat the current one by a whole
/// instance's worth to move a knob.
pub(super) fn ascend(replay: &[Replayed<'_>], profile: &RepoProfile) -> (Weights, (f32, f32)) {
    let defaults = Weights::default();
    let step = 1.0 / replay.len().max(1) as f32;
    let mut best = defaults;
    let mut best_score = replay_score(replay, &best, profile);
    // The second pass meets most of the first's weights again: each is scored once.
    let mut seen: Vec<(Weights, (f32, f32))> = vec![(best, best_score)];
    for _ in 0..2 {
        for knob in KNOBS {
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
                if objective(s) > objective(best_score) + step {
                    best = w;
                    best_score = s;
                }
            }
        }
    }
    (best, best_score)
}
