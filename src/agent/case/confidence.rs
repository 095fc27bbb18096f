//! Confidence from the evidence, not from which rule fired: how much of the symptoms the
//! cause explains, how directly its evidence names it, what the checking read found,
//! how far ahead of the runner-up it is, how close its change was to the alert, how old
//! the data is, whether the cause is a generic one and whether the alert named its
//! target. All of it is recorded with the answer; a logistic curve over the two that
//! carry the signal on a few dozen incidents (how directly the evidence names the cause,
//! and whether the cause is only a generic symptom) has its weights fitted on the
//! incident suite's tuning half (`triage eval incidents --split tune --fit FILE`; the
//! data and the fit are in `tests/fixtures/incidents/confidence-fit.json`,
//! docs/evaluation.md). The rest caps it, by rules a fit on a few dozen incidents cannot
//! be trusted to learn: no answer is "high" unless a fresh read confirmed it, it stands
//! clear of its runner-up, its evidence names the cause, and the alert named what it is
//! about; a read that contradicted the cause leaves the answer unsure.

use chrono::{DateTime, Utc};

use super::clues::Cause;
use super::hypotheses::Candidate;
use super::symptoms::Observations;
use super::timeline;

/// Below this the answer says it is unsure and what to check next.
pub const UNSURE: f32 = 0.45;
/// Two candidates closer than this in score are reported together.
pub const CLOSE: f32 = 0.08;

/// The reference of the answer's evidence note that holds the features.
pub const NOTE: &str = "confidence features";

/// The evidence recorded with every answer, in the order of [`Assessment::evidence`].
pub const EVIDENCE: [&str; 8] = [
    "explained",
    "specificity",
    "verified",
    "margin",
    "proximity",
    "staleness",
    "generic",
    "guessed",
];

/// The evidence the curve is fitted on, in the order of [`WEIGHTS`]: few, because a
/// few dozen answers support few weights (leave-one-out on the tuning half, with more of
/// them, predicts worse).
pub const FEATURES: [&str; 2] = ["specificity", "generic"];

/// Fitted on the tuning half (`tests/fixtures/incidents/confidence-fit.json`): the
/// intercept, then one weight per feature of [`FEATURES`]. A test refits from that file
/// and checks these are its result.
pub const BIAS: f32 = -0.17;
pub const WEIGHTS: [f32; 2] = [3.43, -1.45];

/// The ceiling a candidate's specificity allows: `base + slope · specificity`.
const SPECIFIC_CAP_BASE: f32 = 0.45;
const SPECIFIC_CAP_SLOPE: f32 = 0.5;
/// Never this sure from rules alone: a suite of a few dozen incidents, where the best
/// band was right 13 times in 14, supports no more.
const CEILING: f32 = 0.88;
/// Without a fresh read that confirms the cause itself (not merely that its object
/// exists), an answer stays below "high".
const UNCONFIRMED_CEILING: f32 = 0.79;
/// With a runner-up about as good, blaming another object.
const CLOSE_CEILING: f32 = 0.7;
/// When the only evidence is a generic symptom (a crash, errors, a recent change, a
/// failed Job, healthy pods) or the alert named nothing and a finding stood in.
const GENERIC_CEILING: f32 = 0.6;
/// A fresh read contradicted the cause: unsure, whatever else fits.
const CONTRADICTED_CEILING: f32 = 0.4;
const FLOOR: f32 = 0.05;
/// A cause whose every dated symptom ended this long before the alert started, with none
/// still current, is what went wrong earlier, not what the alert reports.
const STALE_MINUTES: i64 = 30;
/// Below this share of the symptoms explained, the cause accounts for only part of
/// what is wrong.
const PARTIAL: f32 = 0.75;
/// This many symptoms beyond the alert, none of them explained, leave a cause that fits
/// only the alert no better than a generic one.
const UNACCOUNTED: usize = 2;

/// What the number was computed from, for the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub confidence: f32,
    /// The curve's value before the caps.
    pub fitted: f32,
    pub explained: f32,
    pub specificity: f32,
    /// Confirmed (1), weakly confirmed (0.4), contradicted (-1) or not checked (0).
    pub verified: f32,
    pub margin: f32,
    pub proximity: f32,
    pub staleness: f32,
    /// The cause class names no subject of its own (1) or does (0).
    pub generic: f32,
    /// The alert named nothing and the most severe finding stood in (1).
    pub guessed: f32,
    /// The culprit is where the chain stops, not the object to change: a host outside
    /// the cluster, or a workload named only as a dependency that fails.
    pub open_chain: bool,
    /// How the cause is tied to what was seen at the alert's time.
    pub grounding: Grounding,
}

/// Whether what a cause explains was seen when the alert fired: a rule can fire on a
/// real signal that is not this incident's (a container killed days ago, warnings that
/// stopped before the alert began, a client whose load the target shows no sign of).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grounding {
    /// Every symptom it explains beyond the alert is dated, and the newest ended more
    /// than [`STALE_MINUTES`] before the alert started: it is over.
    pub stale: bool,
    /// The cause is an activity rather than a fault (load from a Job, a neighbour on the
    /// node) and the target shows no effect of it beyond the alert itself (no autoscaler
    /// at its maximum, no pressure, no failing pod): the link was inferred, not read.
    pub unobserved: bool,
    /// The cause accounts for nothing seen beyond the alert while at least
    /// [`UNACCOUNTED`] other symptoms go unexplained: what was seen is another
    /// trouble's, and this cause only fits the alert's words.
    pub unaccounted: bool,
}

/// How `top` is tied to the symptoms observed, given when the alert started.
pub fn grounding(top: &Candidate, obs: &Observations, start: DateTime<Utc>) -> Grounding {
    let seen: Vec<_> = obs
        .symptoms
        .iter()
        .filter(|s| s.id > 0 && top.explains.contains(&s.id))
        .collect();
    let newest = seen.iter().map(|s| s.at).try_fold(None, |newest, at| {
        // An undated symptom (a waiting container, a log line) is current.
        at.map(|at| newest.max(Some(at)))
    });
    let others = obs.symptoms.iter().filter(|s| s.id > 0).count();
    Grounding {
        stale: matches!(newest, Some(Some(at)) if (start - at).num_minutes() > STALE_MINUTES),
        unobserved: seen.is_empty()
            && matches!(top.cause, Cause::ScheduledLoad | Cause::NoisyNeighbour),
        unaccounted: seen.is_empty() && others >= UNACCOUNTED,
    }
}

/// Causes that say what is observed rather than why: the answer rests on a generic
/// symptom.
pub fn generic(cause: Cause) -> bool {
    matches!(
        cause,
        Cause::AppCrash
            | Cause::UpstreamErrors
            | Cause::JobFailed
            | Cause::RecentChange
            | Cause::NothingWrong
    )
}

/// The logistic curve over a feature vector.
pub fn curve(features: &[f32; FEATURES.len()]) -> f32 {
    let z = BIAS
        + WEIGHTS
            .iter()
            .zip(features)
            .map(|(w, x)| w * x)
            .sum::<f32>();
    1.0 / (1.0 + (-z).exp())
}

/// The most the curve can state: every feature that raises it at its best, the others
/// at their least (every feature lies in 0..=1).
pub fn highest() -> f32 {
    curve(&WEIGHTS.map(|w| if w > 0.0 { 1.0 } else { 0.0 })).min(CEILING)
}

/// The confidence in `top`, given the runner-up, the checking read, and whether the
/// alert named the target.
pub fn assess(
    top: &Candidate,
    runner: Option<&Candidate>,
    symptoms: usize,
    verified: f32,
    (start, data_at): (DateTime<Utc>, DateTime<Utc>),
    named: bool,
) -> Assessment {
    let explained = top.explains.len() as f32 / symptoms.max(1) as f32;
    let margin = (top.score - runner.map_or(0.0, |r| r.score)).clamp(0.0, 1.0);
    let proximity = top
        .change
        .as_ref()
        .map_or(0.3, |c| timeline::proximity(c.at, start));
    let mut a = Assessment {
        confidence: 0.0,
        fitted: 0.0,
        explained,
        specificity: top.specificity,
        verified,
        margin,
        proximity,
        staleness: staleness(start, data_at),
        generic: f32::from(u8::from(generic(top.cause))),
        guessed: f32::from(u8::from(!named)),
        open_chain: top.culprit.kind == "Host"
            || (top.cause == Cause::DependencyDown && !top.detail.contains("; its pods")),
        grounding: Grounding::default(),
    };
    a.fitted = curve(&a.features());
    a.confidence = a.fitted.clamp(FLOOR, a.cap().max(FLOOR));
    a
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
    /// Take in how the cause is tied to the symptoms, and cap the number accordingly.
    pub fn grounded(mut self, g: Grounding) -> Self {
        self.grounding = g;
        self.confidence = self.fitted.clamp(FLOOR, self.cap().max(FLOOR));
        self
    }

    /// The curve's features, in the order of [`FEATURES`].
    pub fn features(&self) -> [f32; FEATURES.len()] {
        let all = self.evidence();
        FEATURES.map(|f| {
            EVIDENCE
                .iter()
                .position(|e| *e == f)
                .map_or(0.0, |i| all[i])
        })
    }

    /// All the evidence, in the order of [`EVIDENCE`].
    pub fn evidence(&self) -> [f32; 8] {
        [
            self.explained,
            self.specificity,
            self.verified,
            self.margin,
            self.proximity,
            self.staleness,
            self.generic,
            self.guessed,
        ]
    }

    /// The highest confidence the evidence allows, whatever the curve says: no more
    /// sure than the most direct evidence, and "high" only when a fresh read confirmed
    /// the cause, no other object fits about as well, the cause is more than a generic
    /// symptom, and the alert named what it is about.
    pub fn cap(&self) -> f32 {
        let mut cap = (SPECIFIC_CAP_BASE + SPECIFIC_CAP_SLOPE * self.specificity).min(CEILING);
        // Unconfirmed, explaining only part of the symptoms, or stopping short of the
        // object at the end of the chain: never "high".
        if self.verified < 1.0 || self.explained < PARTIAL || self.open_chain {
            cap = cap.min(UNCONFIRMED_CEILING);
        }
        if self.margin < CLOSE {
            cap = cap.min(CLOSE_CEILING);
        }
        if self.generic > 0.0 || self.guessed > 0.0 {
            cap = cap.min(GENERIC_CEILING);
        }
        // An activity whose effect on the target nothing read shows: no better than a
        // generic symptom.
        if self.grounding.unobserved || self.grounding.unaccounted {
            cap = cap.min(GENERIC_CEILING);
        }
        // What it rests on was over before the alert began, or a fresh read contradicted
        // it: unsure, whatever else fits.
        if self.verified < 0.0 || self.grounding.stale {
            cap = cap.min(CONTRADICTED_CEILING);
        }
        cap
    }

    /// The evidence as `name=value` pairs: recorded with the answer (its lineage), and
    /// what `eval incidents --fit` fits the curve on.
    pub fn note(&self) -> String {
        EVIDENCE
            .iter()
            .zip(self.evidence())
            .map(|(n, v)| format!("{n}={v:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The curve's features back from [`Assessment::note`]; `None` unless every one is
    /// there.
    pub fn parse_note(note: &str) -> Option<[f32; FEATURES.len()]> {
        let mut out = [f32::NAN; FEATURES.len()];
        for pair in note.split_whitespace() {
            let (name, value) = pair.split_once('=')?;
            if let Some(i) = FEATURES.iter().position(|f| *f == name) {
                out[i] = value.parse().ok()?;
            }
        }
        out.iter().all(|v| v.is_finite()).then_some(out)
    }

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
        if self.generic > 0.0 {
            parts.push("the cause is a generic symptom, not a named one".into());
        }
        if self.guessed > 0.0 {
            parts.push("the alert names no object; the worst finding stood in".into());
        }
        if self.grounding.stale {
            parts.push("what it rests on ended well before the alert started".into());
        }
        if self.grounding.unobserved {
            parts.push("nothing observed beyond the alert ties it to the alert".into());
        }
        if self.grounding.unaccounted {
            parts.push("it accounts for none of what was seen beyond the alert".into());
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::case::clues::Cause;
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
    fn caps_keep_uncorroborated_answers_below_high_whatever_the_curve() {
        let now = chrono::Utc::now();
        let at = (now, now);
        let strong = cand(1.0, 4, 0.8);
        let weak = cand(0.3, 1, 0.3);
        let a = assess(&strong, Some(&weak), 5, 1.0, at, true);
        assert!(a.confidence <= a.cap() && a.cap() >= 0.85, "{a:?}");
        let contradicted = assess(&strong, Some(&weak), 5, -1.0, at, true);
        assert!(contradicted.confidence < UNSURE, "{contradicted:?}");
        // Unchecked, or only weakly, however well it fits: below "high".
        for v in [0.0, 0.4] {
            let unchecked = assess(&strong, Some(&weak), 5, v, at, true);
            assert!(unchecked.confidence < 0.8, "{unchecked:?}");
        }
        // A rival blaming another object about as well: at most 0.7.
        let close = assess(&strong, Some(&cand(1.0, 4, 0.77)), 5, 1.0, at, true);
        assert!(close.confidence <= 0.7, "{close:?}");
        // A generic symptom as the cause, or a target the alert did not name: 0.6.
        let mut crash = strong.clone();
        crash.cause = Cause::AppCrash;
        let generic = assess(&crash, Some(&weak), 5, 1.0, at, true);
        assert!(
            generic.confidence <= 0.6 && generic.generic == 1.0,
            "{generic:?}"
        );
        let guessed = assess(&strong, Some(&weak), 5, 1.0, at, false);
        assert!(guessed.confidence <= 0.6, "{guessed:?}");
        // Indirect evidence never reaches high.
        let indirect = assess(&weak, None, 5, 1.0, at, true);
        assert!(indirect.confidence < 0.65, "{indirect:?}");
    }

    fn observed(at: &[Option<chrono::DateTime<chrono::Utc>>]) -> Observations {
        use super::super::symptoms::Symptom;
        let mut obs = Observations::default();
        for (id, at) in std::iter::once(None).chain(at.iter().copied()).enumerate() {
            obs.symptoms.push(Symptom {
                id,
                object: ResourceRef::new("Pod", Some("shop"), "p"),
                what: if id == 0 {
                    "the alert".into()
                } else {
                    "OOMKilled".into()
                },
                at,
                dependency: false,
            });
        }
        obs
    }

    #[test]
    fn a_cause_whose_evidence_ended_before_the_alert_is_never_high() {
        let start = chrono::Utc::now();
        let strong = cand(1.0, 2, 0.8);
        let weak = cand(0.3, 1, 0.3);
        let judged = |obs: &Observations| {
            assess(&strong, Some(&weak), 2, 1.0, (start, start), true)
                .grounded(grounding(&strong, obs, start))
        };
        // Killed three days before the alert, running since: over, so unsure.
        let old = judged(&observed(&[Some(start - chrono::Duration::days(3))]));
        assert!(old.grounding.stale && old.confidence < UNSURE, "{old:?}");
        assert!(old.reasons(2, 2).contains("ended well before"), "{old:?}");
        // Killed two minutes before it started, or still failing (undated): high.
        for at in [Some(start - chrono::Duration::minutes(2)), None] {
            let now = judged(&observed(&[at]));
            assert!(!now.grounding.stale && now.confidence >= 0.8, "{now:?}");
        }
        // One current symptom among old ones keeps the cause current.
        let mut both = strong.clone();
        both.explains.insert(2);
        let mixed = grounding(
            &both,
            &observed(&[Some(start - chrono::Duration::days(3)), None]),
            start,
        );
        assert!(!mixed.stale, "{mixed:?}");
    }

    #[test]
    fn load_the_target_shows_no_effect_of_is_no_more_than_a_generic_symptom() {
        let start = chrono::Utc::now();
        let mut load = cand(0.9, 1, 0.8);
        load.cause = Cause::ScheduledLoad;
        let weak = cand(0.3, 1, 0.3);
        let judged = |c: &Candidate, obs: &Observations| {
            assess(c, Some(&weak), 1, 1.0, (start, start), true).grounded(grounding(c, obs, start))
        };
        // It explains only the alert: the load was inferred, not seen.
        let alone = judged(&load, &observed(&[]));
        assert!(
            alone.grounding.unobserved && alone.confidence <= 0.6,
            "{alone:?}"
        );
        // Its effect is read on the target (an autoscaler at its maximum): not capped by it.
        let mut seen = load.clone();
        seen.explains.insert(1);
        let with_effect = judged(&seen, &observed(&[None]));
        assert!(
            !with_effect.grounding.unobserved && with_effect.confidence > 0.6,
            "{with_effect:?}"
        );
        // A fault read in an object (a missing key) needs no effect beyond the alert.
        let fault = cand(1.0, 1, 0.8);
        assert!(!judged(&fault, &observed(&[])).grounding.unobserved);
    }

    #[test]
    fn no_features_in_range_give_more_than_highest() {
        let steps: [f32; 4] = [0.0, 0.3, 0.5, 1.0];
        let n = FEATURES.len();
        let mut seen: f32 = 0.0;
        for i in 0..4usize.pow(n as u32) {
            let f: [f32; FEATURES.len()] =
                std::array::from_fn(|k| steps[(i / 4usize.pow(k as u32)) % 4]);
            seen = seen.max(curve(&f).min(CEILING));
        }
        assert!(seen <= highest() + 1e-6, "{seen} > {}", highest());
        assert!(seen >= highest() - 1e-6, "highest() is not reached: {seen}");
    }

    #[test]
    fn the_features_note_reads_back() {
        let now = chrono::Utc::now();
        let a = assess(&cand(0.85, 3, 0.7), None, 4, 1.0, (now, now), true);
        let note = a.note();
        assert!(note.starts_with("explained=0.750 specificity=0.850 verified=1.000"));
        assert_eq!(Assessment::parse_note(&note), Some(a.features()));
        assert_eq!(Assessment::parse_note("explained=0.5"), None);
        assert!((curve(&a.features()) - a.fitted).abs() < 1e-6);
    }
}
