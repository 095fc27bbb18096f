//! Calibration of stated confidence against being right: confidence bins with their
//! accuracy, the mean confidence of right and of wrong answers, and the wrong answers
//! stated with high confidence. Used by `triage eval incidents` per split.

use std::fmt::Write as _;

use serde::Serialize;

/// At or above this, a wrong answer is a confident wrong answer.
pub const HIGH: f32 = 0.8;

/// Edges of the confidence bins.
const EDGES: [f32; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

/// One answer: was it right, and how sure it said it was.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Outcome {
    pub right: bool,
    pub confidence: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bin {
    /// `[low, high)`; the last bin includes 1.0.
    pub low: f32,
    pub high: f32,
    pub answers: usize,
    pub right: usize,
    pub mean_confidence: Option<f32>,
    pub accuracy: Option<f32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Calibration {
    pub answers: usize,
    pub right: usize,
    pub bins: Vec<Bin>,
    pub mean_confidence_right: Option<f32>,
    pub mean_confidence_wrong: Option<f32>,
    /// Right minus wrong (when both exist).
    pub gap: Option<f32>,
    /// Wrong answers with confidence at or above [`HIGH`].
    pub confident_wrong: usize,
    /// Expected calibration error: answer-weighted |accuracy − confidence| over bins.
    pub ece: f32,
}

fn mean(xs: impl Iterator<Item = f32>) -> Option<f32> {
    let (sum, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    (n > 0).then(|| sum / n as f32)
}

/// Calibration of a set of answers.
pub fn calibrate(outcomes: &[Outcome]) -> Calibration {
    let mut bins = Vec::new();
    let mut ece = 0.0;
    for w in EDGES.windows(2) {
        let (low, high) = (w[0], w[1]);
        let last = high >= 1.0;
        let inside: Vec<&Outcome> = outcomes
            .iter()
            .filter(|o| {
                o.confidence >= low && (o.confidence < high || last && o.confidence <= high)
            })
            .collect();
        let right = inside.iter().filter(|o| o.right).count();
        let mean_confidence = mean(inside.iter().map(|o| o.confidence));
        let accuracy = (!inside.is_empty()).then(|| right as f32 / inside.len() as f32);
        if let (Some(a), Some(c)) = (accuracy, mean_confidence) {
            ece += (a - c).abs() * inside.len() as f32 / outcomes.len().max(1) as f32;
        }
        bins.push(Bin {
            low,
            high,
            answers: inside.len(),
            right,
            mean_confidence,
            accuracy,
        });
    }
    let right_mean = mean(outcomes.iter().filter(|o| o.right).map(|o| o.confidence));
    let wrong_mean = mean(outcomes.iter().filter(|o| !o.right).map(|o| o.confidence));
    Calibration {
        answers: outcomes.len(),
        right: outcomes.iter().filter(|o| o.right).count(),
        bins,
        mean_confidence_right: right_mean,
        mean_confidence_wrong: wrong_mean,
        gap: right_mean.zip(wrong_mean).map(|(r, w)| r - w),
        confident_wrong: outcomes
            .iter()
            .filter(|o| !o.right && o.confidence >= HIGH)
            .count(),
        ece,
    }
}

fn opt(x: Option<f32>) -> String {
    x.map_or("–".to_string(), |v| format!("{v:.2}"))
}

impl Calibration {
    /// The bins as a Markdown table, then the summary line.
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "| confidence | answers | right | accuracy | mean confidence |\n|---|---|---|---|---|\n",
        );
        for b in &self.bins {
            let _ = writeln!(
                s,
                "| {:.1}–{:.1} | {} | {} | {} | {} |",
                b.low,
                b.high,
                b.answers,
                b.right,
                opt(b.accuracy),
                opt(b.mean_confidence)
            );
        }
        let _ = writeln!(s, "\n{}", self.summary());
        s
    }

    /// One line: right/total, mean confidences, gap, confident wrong answers, ECE.
    pub fn summary(&self) -> String {
        format!(
            "{} of {} right; mean confidence right {} / wrong {} (gap {}); wrong at ≥{HIGH}: {}; ECE {:.2}",
            self.right,
            self.answers,
            opt(self.mean_confidence_right),
            opt(self.mean_confidence_wrong),
            opt(self.gap),
            self.confident_wrong,
            self.ece
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(right: bool, confidence: f32) -> Outcome {
        Outcome { right, confidence }
    }

    #[test]
    fn bins_means_and_confident_mistakes() {
        let c = calibrate(&[
            o(true, 0.9),
            o(true, 0.85),
            o(false, 0.82),
            o(false, 0.3),
            o(true, 0.5),
            o(true, 1.0),
        ]);
        assert_eq!(c.answers, 6);
        assert_eq!(c.right, 4);
        let top = c.bins.last().unwrap();
        assert_eq!(
            (top.answers, top.right),
            (4, 3),
            "1.0 falls in the last bin"
        );
        assert_eq!(c.confident_wrong, 1);
        let gap = c.gap.unwrap();
        assert!((gap - (0.8125 - 0.56)).abs() < 1e-3, "{gap}");
        assert!(
            c.markdown().contains("| 0.8–1.0 | 4 | 3 | 0.75 |"),
            "{}",
            c.markdown()
        );
        let empty = calibrate(&[]);
        assert_eq!(empty.gap, None);
        assert!(empty.summary().contains("0 of 0"));
    }
}
