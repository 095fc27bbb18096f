//! Confidence from the evidence, not from which rule fired: how much of the symptoms the
//! cause explains, how directly its evidence names it, what the checking read found,
//! how far ahead of the runner-up it is, how close its change was to the alert, and how
//! old the data is. One logistic curve over these, its weights set by hand (not fitted)
//! while reading answers of the incident suite's tuning half (docs/diagnosis.md).

use chrono::{DateTime, Utc};

use super::hypotheses::Candidate;
use super::timeline;

/// Below this the answer says it is unsure and what to check next.
pub const UNSURE: f32 = 0.45;
/// Two candidates closer than this in score are reported together.
pub const CLOSE: f32 = 0.08;

/// What the number was computed from, for the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub confidence: f32,
    pub explained: f32,
    pub specificity: f32,
    /// Confirmed (1), contradicted (-1) or not checked (0).
    pub verified: f32,
    pub margin: f32,
    pub proximity: f32,
    pub staleness: f32,
}

/// Weights of the confidence curve.
const BIAS: f32 = -2.8;
const W_EXPLAINED: f32 = 1.6;
const W_SPECIFIC: f32 = 2.6;
const W_VERIFIED: f32 = 1.6;
const W_MARGIN: f32 = 2.4;
const W_NEAR: f32 = 0.6;
const W_STALE: f32 = 1.5;
/// The ceiling a candidate's specificity allows: `base + slope · specificity`.
const SPECIFIC_CAP_BASE: f32 = 0.45;
const SPECIFIC_CAP_SLOPE: f32 = 0.5;
/// Never this sure or this unsure from rules alone.
const CEILING: f32 = 0.93;
/// Without a fresh read that confirms the cause itself (not merely that its object
/// exists), an answer stays below "high".
const UNCONFIRMED_CEILING: f32 = 0.79;
const FLOOR: f32 = 0.05;

/// The confidence in `top`, given the runner-up and the checking read.
pub fn assess(
    top: &Candidate,
    runner: Option<&Candidate>,
    symptoms: usize,
    verified: f32,
    start: DateTime<Utc>,
    data_at: DateTime<Utc>,
) -> Assessment {
    let explained = top.explains.len() as f32 / symptoms.max(1) as f32;
    let margin = (top.score - runner.map_or(0.0, |r| r.score)).clamp(0.0, 1.0);
    let proximity = top
        .change
        .as_ref()
        .map_or(0.3, |c| timeline::proximity(c.at, start));
    let staleness = staleness(start, data_at);
    let z = BIAS
        + W_EXPLAINED * explained
        + W_SPECIFIC * top.specificity
        + W_VERIFIED * verified
        + W_MARGIN * margin
        + W_NEAR * proximity
        - W_STALE * staleness;
    // No more sure than the most direct evidence allows: a cause no message names is
    // never stated with high confidence, however well it fits.
    let mut cap = (SPECIFIC_CAP_BASE + SPECIFIC_CAP_SLOPE * top.specificity).min(CEILING);
    if verified < 1.0 {
        cap = cap.min(UNCONFIRMED_CEILING);
    }
    let confidence = (1.0 / (1.0 + (-z).exp())).clamp(FLOOR, cap.max(FLOOR));
    Assessment {
        confidence,
        explained,
        specificity: top.specificity,
        verified,
        margin,
        proximity,
        staleness,
    }
}

/// How stale the data is for this alert (0–1): read before the alert started, or many
/// hours after it.
pub fn staleness(start: DateTime<Utc>, data_at: DateTime<Utc>) -> f32 {
    let after = (data_at - start).num_minutes();
    if after < 0 {
        (-after as f32 / 30.0).min(1.0)
    } else if after > 6 * 60 {
        0.3
    } else {
        0.0
    }
}

impl Assessment {
    /// The reasons for the number, in words.
    pub fn reasons(&self, symptoms: usize, explained: usize) -> String {
        let mut parts = vec![format!("explains {explained} of {symptoms} symptoms")];
        parts.push(
            match self.verified {
                v if v > 0.0 => "confirmed by a fresh read",
                v if v < 0.0 => "contradicted by a fresh read",
                _ => "not checked by a fresh read",
            }
            .to_string(),
        );
        parts.push(if self.specificity >= 0.85 {
            "the evidence names it directly".into()
        } else if self.specificity >= 0.6 {
            "the evidence points at it".into()
        } else {
            "the evidence is indirect".into()
        });
        if self.margin < CLOSE {
            parts.push("another cause fits about as well".into());
        } else if self.margin >= 0.2 {
            parts.push("well ahead of the next candidate".into());
        }
        if self.staleness > 0.0 {
            parts.push("the data is not from the alert's time".into());
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::planner::clues::Cause;
    use crate::kube::state::ResourceRef;

    fn cand(spec: f32, explains: usize, score: f32) -> Candidate {
        let mut c = Candidate::new(
            Cause::MissingConfig,
            ResourceRef::new("ConfigMap", Some("shop"), "c"),
            "",
            spec,
        )
        .explaining(0..explains);
        c.score = score;
        c
    }

    #[test]
    fn more_evidence_means_more_confidence_and_a_close_rival_less() {
        let now = chrono::Utc::now();
        let strong = cand(1.0, 4, 0.8);
        let weak = cand(0.3, 1, 0.3);
        let a = assess(&strong, Some(&weak), 5, 1.0, now, now);
        let b = assess(&weak, Some(&cand(0.3, 1, 0.29)), 5, 0.0, now, now);
        assert!(a.confidence >= 0.8, "{a:?}");
        assert!(b.confidence < UNSURE, "{b:?}");
        let contradicted = assess(&strong, Some(&weak), 5, -1.0, now, now);
        assert!(
            contradicted.confidence < a.confidence - 0.2,
            "{contradicted:?}"
        );
        // Unchecked, however well it fits, an answer stays below "high".
        let unchecked = assess(&strong, Some(&weak), 5, 0.0, now, now);
        assert!(unchecked.confidence < 0.8, "{unchecked:?}");
        // A close rival and stale data each cost confidence.
        let mid = cand(0.6, 4, 0.8);
        let alone = assess(&mid, Some(&weak), 5, 0.0, now, now);
        let close = assess(&mid, Some(&cand(0.6, 4, 0.79)), 5, 0.0, now, now);
        assert!(
            close.confidence < alone.confidence - 0.1,
            "{close:?} {alone:?}"
        );
        let stale = assess(
            &mid,
            Some(&weak),
            5,
            0.0,
            now,
            now - chrono::Duration::minutes(40),
        );
        assert!(stale.confidence < alone.confidence - 0.1, "{stale:?}");
    }
}
