//! Fitting the confidence curve: a logistic regression of "the answer was right" (culprit
//! and cause both named; a partly right answer is a miss) on the evidence features each
//! answer records (`agent::planner::confidence::FEATURES`), with an L2 penalty on the
//! weights (not the intercept) whose strength is picked by leave-one-out log-loss
//! (the strongest penalty within one standard error of the best). Only
//! the tuning half is fitted on; the result and the data it came from are written
//! together so the weights in `confidence.rs` can be checked against them.

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::report::ScenarioResult;
use super::split::Half;
use crate::agent::case::confidence::FEATURES;

/// Penalty strengths tried, weakest last; the strongest is near "always the base rate".
const LAMBDAS: [f64; 7] = [30.0, 10.0, 5.0, 3.0, 2.0, 1.0, 0.5];
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
    /// The penalty picked by leave-one-out (the strongest within one standard error of
    /// the best), and the log-loss it gave.
    pub lambda: f64,
    pub loo_log_loss: f64,
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

/// The log-loss of each sample predicted by a fit on all the others.
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
            log_loss(predict(b, &w, &samples[i].features), samples[i].right)
        })
        .collect()
}

/// Mean and standard error.
fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len().max(1) as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (var / n).sqrt())
}

/// Pick the penalty by leave-one-out, shrinking as much as the data allows (the
/// strongest penalty whose loss is within one standard error of the best: on a few
/// dozen answers the difference between nearby penalties is noise), and fit on all the
/// samples with it.
pub fn fit(samples: Vec<Sample>, source: &str) -> Fit {
    let scored: Vec<(f64, f64, f64)> = LAMBDAS
        .iter()
        .map(|l| {
            let (m, se) = mean_se(&leave_one_out(&samples, *l));
            (*l, m, se)
        })
        .collect();
    let best = scored
        .iter()
        .copied()
        .fold((LAMBDAS[0], f64::INFINITY, 0.0), |b, x| {
            if x.1 < b.1 { x } else { b }
        });
    let (lambda, loo_log_loss, _) = scored
        .iter()
        .copied()
        .filter(|x| x.1 <= best.1 + best.2)
        .fold(best, |b, x| if x.0 > b.0 { x } else { b });
    let rate = samples.iter().filter(|s| s.right).count() as f64 / samples.len().max(1) as f64;
    let base_log_loss =
        samples.iter().map(|s| log_loss(rate, s.right)).sum::<f64>() / samples.len().max(1) as f64;
    let (bias, weights) = fit_weights(&samples, lambda);
    Fit {
        source: source.to_string(),
        features: FEATURES.iter().map(|f| (*f).to_string()).collect(),
        lambda,
        loo_log_loss,
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

    fn sample(right: bool, x: [f32; 8]) -> Sample {
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
            data.push(sample(true, [0.5, noise, 1.0, 0.3, 0.5, 0.0, 0.0, 0.0]));
            data.push(sample(false, [0.5, noise, 0.0, 0.3, 0.5, 0.0, 0.0, 0.0]));
        }
        let f = fit(data, "test");
        assert!(f.weights[2] > 1.0, "{f:?}");
        assert!(f.weights[1].abs() < 0.3, "{:?}", f.weights);
        assert!(f.loo_log_loss < f.base_log_loss, "{f:?}");
        // More shrinkage, smaller weights.
        let (_, strong) = fit_weights(&f.samples, 30.0);
        assert!(strong[2] < f.weights[2]);
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
