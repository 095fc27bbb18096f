//! Fitting the confidence curve: a logistic regression of "the answer was right" (culprit
//! and cause both named; a partly right answer is a miss) on the evidence features each
//! answer records (`agent::case::confidence::FEATURES`), with an L2 penalty on the
//! weights (not the intercept) whose strength is picked by leave-one-out log-loss. Only
//! the tuning half is fitted on; the result and the data it came from are written
//! together so the weights in `confidence.rs` can be checked against them.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::report::ScenarioResult;
use super::split::Half;
use crate::agent::case::confidence::FEATURES;

/// Penalty strengths tried, weakest last. None is so strong that every answer gets the
/// base rate: a curve that says the same for every answer says nothing.
const LAMBDAS: [f64; 6] = [5.0, 3.0, 2.0, 1.0, 0.5, 0.25];
const STEPS: usize = 4000;

/// One answer: its features and whether it was right.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub scenario: String,
    pub right: bool,
    pub features: Vec<f32>,
}

/// The fitted curve and what it was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// How the data was produced.
    pub source: String,
    pub features: Vec<String>,
    /// The penalty picked by leave-one-out, and the log-loss it gave.
    pub lambda: f64,
    pub loo_log_loss: f64,
    /// The mean probability the curve, fitted without it, gives a right answer and a
    /// wrong (or partly right) one.
    pub loo_mean_right: f64,
    pub loo_mean_wrong: f64,
    /// Log-loss of the base rate alone, for comparison.
    pub base_log_loss: f64,
    pub bias: f64,
    pub weights: Vec<f64>,
    pub samples: Vec<Sample>,
}

/// The tuning half's answers that recorded their features.
pub fn samples(results: &[ScenarioResult]) -> Vec<Sample> {
    results
        .iter()
        .filter(|r| r.split == Some(Half::Tune))
        .filter_map(|r| {
            r.run.features.as_ref().map(|f| Sample {
                scenario: r.name.clone(),
                right: r.run.correct,
                features: f.clone(),
            })
        })
        .collect()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn predict(bias: f64, weights: &[f64], x: &[f32]) -> f64 {
    sigmoid(
        bias + weights
            .iter()
            .zip(x)
            .map(|(w, v)| w * f64::from(*v))
            .sum::<f64>(),
    )
}

/// Penalized maximum likelihood by gradient descent (convex: one optimum).
pub fn fit_weights(samples: &[Sample], lambda: f64) -> (f64, Vec<f64>) {
    let dims = FEATURES.len();
    let n = samples.len().max(1) as f64;
    let (mut bias, mut w) = (0.0, vec![0.0; dims]);
    let rate = 0.5;
    for _ in 0..STEPS {
        let mut gb = 0.0;
        let mut gw = vec![0.0; dims];
        for s in samples {
            let err = predict(bias, &w, &s.features) - f64::from(u8::from(s.right));
            gb += err;
            for (g, x) in gw.iter_mut().zip(&s.features) {
                *g += err * f64::from(*x);
            }
        }
        bias -= rate * gb / n;
        for (wi, g) in w.iter_mut().zip(&gw) {
            *wi -= rate * (g + lambda * *wi) / n;
        }
    }
    (bias, w)
}

fn log_loss(p: f64, right: bool) -> f64 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    if right { -p.ln() } else { -(1.0 - p).ln() }
}

/// Each sample's probability predicted by a fit on all the others.
fn leave_one_out(samples: &[Sample], lambda: f64) -> Vec<f64> {
    (0..samples.len())
        .map(|i| {
            let rest: Vec<Sample> = samples
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, s)| s.clone())
                .collect();
            let (b, w) = fit_weights(&rest, lambda);
            predict(b, &w, &samples[i].features)
        })
        .collect()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    sum / n.max(1) as f64
}

/// Pick the penalty with the least leave-one-out log-loss and fit on all the samples
/// with it.
pub fn fit(samples: Vec<Sample>, source: &str) -> Fit {
    let loss = |p: &[f64]| mean(p.iter().zip(&samples).map(|(p, s)| log_loss(*p, s.right)));
    let (lambda, loo) = LAMBDAS
        .iter()
        .map(|l| (*l, leave_one_out(&samples, *l)))
        .fold(None::<(f64, Vec<f64>)>, |best, x| match best {
            Some(b) if loss(&b.1) <= loss(&x.1) => Some(b),
            _ => Some(x),
        })
        .unwrap_or((LAMBDAS[0], Vec::new()));
    let loo_mean = |right: bool| {
        mean(
            loo.iter()
                .zip(&samples)
                .filter(|(_, s)| s.right == right)
                .map(|(p, _)| *p),
        )
    };
    let rate = mean(samples.iter().map(|s| f64::from(u8::from(s.right))));
    let base_log_loss = mean(samples.iter().map(|s| log_loss(rate, s.right)));
    let (bias, weights) = fit_weights(&samples, lambda);
    Fit {
        source: source.to_string(),
        features: FEATURES.iter().map(|f| (*f).to_string()).collect(),
        lambda,
        loo_log_loss: loss(&loo),
        loo_mean_right: loo_mean(true),
        loo_mean_wrong: loo_mean(false),
        base_log_loss,
        bias,
        weights,
        samples,
    }
}

impl Fit {
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("{}: not a confidence fit", path.display()))
    }

    /// The weights as they go into `confidence.rs`, rounded to two places.
    pub fn constants(&self) -> String {
        let w: Vec<String> = self.weights.iter().map(|w| format!("{w:.2}")).collect();
        format!(
            "pub const BIAS: f32 = {:.2};\npub const WEIGHTS: [f32; {}] = [{}];",
            self.bias,
            w.len(),
            w.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::case::confidence::{BIAS, WEIGHTS};

    fn sample(right: bool, x: [f32; 2]) -> Sample {
        Sample {
            scenario: String::new(),
            right,
            features: x.to_vec(),
        }
    }

    #[test]
    fn the_fit_finds_the_feature_that_separates_and_shrinks_the_rest() {
        let mut data = Vec::new();
        for i in 0..8 {
            let noise = (i % 3) as f32 / 3.0;
            data.push(sample(true, [1.0, noise]));
            data.push(sample(false, [0.0, noise]));
        }
        let f = fit(data, "test");
        assert!(f.weights[0] > 1.0, "{f:?}");
        assert!(f.weights[1].abs() < 0.3, "{:?}", f.weights);
        assert!(f.loo_log_loss < f.base_log_loss, "{f:?}");
        assert!(f.loo_mean_right > f.loo_mean_wrong + 0.2, "{f:?}");
        // More shrinkage, smaller weights.
        let (_, strong) = fit_weights(&f.samples, 30.0);
        assert!(strong[0] < f.weights[0]);
    }

    /// The weights in `confidence.rs` are the fit recorded beside the incident suite:
    /// refitting its data gives them back.
    #[test]
    fn the_confidence_weights_are_the_recorded_fit() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/incidents/confidence-fit.json");
        let recorded = Fit::read(&path).unwrap();
        assert_eq!(recorded.features, FEATURES);
        assert!(
            recorded
                .samples
                .iter()
                .all(|s| s.features.len() == FEATURES.len())
        );
        // The curve predicts better than the base rate on answers it was not fitted on,
        // and tells right answers from wrong ones there.
        assert!(
            recorded.loo_log_loss < recorded.base_log_loss,
            "{recorded:?}"
        );
        assert!(
            recorded.loo_mean_right > recorded.loo_mean_wrong + 0.1,
            "{recorded:?}"
        );
        let (bias, weights) = fit_weights(&recorded.samples, recorded.lambda);
        assert!((bias - recorded.bias).abs() < 1e-6);
        assert!((f64::from(BIAS) - bias).abs() < 0.006, "{bias} vs {BIAS}");
        for (i, (w, c)) in weights.iter().zip(WEIGHTS).enumerate() {
            assert!(
                (f64::from(c) - w).abs() < 0.006,
                "{}: {w:.3} fitted, {c} in confidence.rs",
                FEATURES[i]
            );
        }
    }
}
