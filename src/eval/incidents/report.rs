//! The report of an eval run: one row per scenario, a summary per split, a table per
//! family, as JSON or text. Each piece is a small function so more summaries can join.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use super::calibration::{Calibration, Outcome, calibrate};
use super::scenario::{Expected, Family};
use super::split::{Half, Split};

/// Below this stated confidence an answer that is not right counts as quiet: it said it
/// was unsure rather than stating a wrong cause (the planner's own threshold).
pub const QUIET_BELOW: f32 = crate::agent::case::confidence::UNSURE;

/// How an answer fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Culprit and cause named (and no unwanted change proposed).
    Right,
    /// Stated with confidence, and only the culprit or only the cause is right.
    Partly,
    /// Stated with confidence, and neither is right.
    Wrong,
    /// Not right, but stated as unsure (confidence below [`QUIET_BELOW`]) or not at all.
    Quiet,
}

impl Verdict {
    pub fn of(correct: bool, culprit: bool, cause: bool, confidence: Option<f32>) -> Self {
        if correct {
            Self::Right
        } else if confidence.is_none_or(|c| c < QUIET_BELOW) {
            Self::Quiet
        } else if culprit || cause {
            Self::Partly
        } else {
            Self::Wrong
        }
    }
}

/// How memory is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryMode {
    /// No memories at all.
    Off,
    /// The scenario's prior memories, a first pass, then the repeat pass.
    Warm,
}

/// One run of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub correct: bool,
    pub verdict: Verdict,
    /// The stated cause names the culprit.
    pub culprit: bool,
    /// The stated cause states the expected cause.
    pub cause: bool,
    /// Why it was scored wrong.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<String>,
    pub status: String,
    pub tool_calls: u32,
    pub tokens: u64,
    pub wall_ms: u64,
    pub confidence: Option<f32>,
    /// The evidence features the confidence was computed from, when the answer
    /// recorded them (the offline planner's incident answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<f32>>,
    /// The answer's first lines (heading and cause).
    pub answer: String,
    /// The whole answer (evidence, rivals, timeline), to read a miss.
    pub full_answer: String,
    /// Memories the answer relied on.
    pub memories_used: Vec<String>,
    /// Memories checked and found wrong.
    pub memories_rejected: Vec<String>,
    pub write_actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<Family>,
    /// The half of the split it belongs to (none without a split file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub split: Option<Half>,
    pub expected: Expected,
    /// The scored run: the only run with `--memory off`, the repeat with `warm`.
    #[serde(flatten)]
    pub run: RunResult,
    /// With `--memory warm`: the first run, with only the prior memories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_pass: Option<RunResult>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub scenarios: usize,
    /// Right answers (culprit, cause, no unwanted change) over scenarios.
    pub accuracy: f64,
    /// Answers naming the culprit, over scenarios.
    pub culprit: f64,
    /// Answers stating the cause, over scenarios.
    pub cause: f64,
    pub tool_calls: u32,
    pub tokens: u64,
    pub wall_ms: u64,
    /// Answers by verdict.
    pub right: usize,
    pub partly: usize,
    pub wrong: usize,
    pub quiet: usize,
    /// Stated confidence against being right.
    pub calibration: Calibration,
}

impl Summary {
    pub fn of<'a>(runs: impl Iterator<Item = &'a RunResult>) -> Self {
        let mut s = Summary::default();
        let (mut correct, mut culprit, mut cause) = (0usize, 0usize, 0usize);
        let mut outcomes = Vec::new();
        for r in runs {
            s.scenarios += 1;
            match r.verdict {
                Verdict::Right => s.right += 1,
                Verdict::Partly => s.partly += 1,
                Verdict::Wrong => s.wrong += 1,
                Verdict::Quiet => s.quiet += 1,
            }
            outcomes.push(Outcome {
                right: r.correct,
                confidence: r.confidence.unwrap_or(0.0),
            });
            correct += usize::from(r.correct);
            culprit += usize::from(r.culprit);
            cause += usize::from(r.cause);
            s.tool_calls += r.tool_calls;
            s.tokens += r.tokens;
            s.wall_ms += r.wall_ms;
        }
        let rate = |n: usize| {
            if s.scenarios == 0 {
                0.0
            } else {
                n as f64 / s.scenarios as f64
            }
        };
        s.calibration = calibrate(&outcomes);
        s.accuracy = rate(correct);
        s.culprit = rate(culprit);
        s.cause = rate(cause);
        s
    }
}

/// One family's results in one half.
#[derive(Debug, Clone, Serialize)]
pub struct FamilyRow {
    pub family: String,
    pub split: String,
    #[serde(flatten)]
    pub summary: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub memory: MemoryMode,
    /// `offline` (the planner) or the model's name.
    pub agent: String,
    pub split: Split,
    /// Every scenario run.
    pub summary: Summary,
    /// Per half of the split (`tune`, `holdout`), when the directory has one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub splits: BTreeMap<String, Summary>,
    pub families: Vec<FamilyRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_pass: Option<Summary>,
    pub scenarios: Vec<ScenarioResult>,
}

impl Report {
    pub fn new(
        memory: MemoryMode,
        agent: String,
        split: Split,
        scenarios: Vec<ScenarioResult>,
    ) -> Self {
        let first_pass = (memory == MemoryMode::Warm)
            .then(|| Summary::of(scenarios.iter().filter_map(|r| r.first_pass.as_ref())));
        Report {
            memory,
            agent,
            split,
            summary: Summary::of(scenarios.iter().map(|r| &r.run)),
            splits: split_summaries(&scenarios),
            families: family_rows(&scenarios),
            first_pass,
            scenarios,
        }
    }
}

/// A summary per half, for the halves that have scenarios.
pub fn split_summaries(results: &[ScenarioResult]) -> BTreeMap<String, Summary> {
    [Half::Tune, Half::Holdout]
        .into_iter()
        .filter(|h| results.iter().any(|r| r.split == Some(*h)))
        .map(|h| {
            let runs = results
                .iter()
                .filter(|r| r.split == Some(h))
                .map(|r| &r.run);
            (h.as_str().to_string(), Summary::of(runs))
        })
        .collect()
}

/// A summary per family and half (`all` for scenarios outside a split).
pub fn family_rows(results: &[ScenarioResult]) -> Vec<FamilyRow> {
    let mut groups: BTreeMap<(String, String), Vec<&RunResult>> = BTreeMap::new();
    for r in results {
        let family = r.family.map_or("unclassified", Family::as_str).to_string();
        let half = r.split.map_or("all", Half::as_str).to_string();
        groups.entry((family, half)).or_default().push(&r.run);
    }
    groups
        .into_iter()
        .map(|((family, split), runs)| FamilyRow {
            family,
            split,
            summary: Summary::of(runs.into_iter()),
        })
        .collect()
}

/// The text report.
pub fn print(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    writeln!(
        out,
        "agent: {}, memory: {:?}, split: {:?}",
        r.agent, r.memory, r.split
    )?;
    print_scenarios(out, &r.scenarios)?;
    print_summaries(out, r)?;
    print_calibration(out, r)?;
    print_families(out, &r.families)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn print_scenarios(out: &mut impl Write, results: &[ScenarioResult]) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<32} {:<7} {:<17} {:<5} {:<7} {:<5} {:>4} {:>5} {:>6}  misses",
        "scenario", "split", "family", "right", "culprit", "cause", "conf", "calls", "ms"
    )?;
    for s in results {
        writeln!(
            out,
            "{:<32} {:<7} {:<17} {:<5} {:<7} {:<5} {:>4} {:>5} {:>6}  {}",
            s.name,
            s.split.map_or("-", Half::as_str),
            s.family.map_or("-", Family::as_str),
            match s.run.verdict {
                Verdict::Right => "ok",
                Verdict::Partly => "part",
                Verdict::Wrong => "WRONG",
                Verdict::Quiet => "quiet",
            },
            yes_no(s.run.culprit),
            yes_no(s.run.cause),
            s.run
                .confidence
                .map_or("-".to_string(), |c| format!("{c:.2}")),
            s.run.tool_calls,
            s.run.wall_ms,
            s.run.misses.join("; ")
        )?;
    }
    Ok(())
}

fn summary_line(out: &mut impl Write, label: &str, s: &Summary) -> std::io::Result<()> {
    writeln!(
        out,
        "{label}: {} scenarios, accuracy {:.2} (culprit {:.2}, cause {:.2}), {} tool calls, {} tokens, {} ms",
        s.scenarios, s.accuracy, s.culprit, s.cause, s.tool_calls, s.tokens, s.wall_ms
    )?;
    writeln!(
        out,
        "  right {} / partly {} / wrong {} / quiet {}; {}",
        s.right,
        s.partly,
        s.wrong,
        s.quiet,
        s.calibration.summary()
    )
}

fn print_calibration(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    let halves = r.splits.iter().map(|(h, s)| (h.as_str(), s));
    let rows: Vec<(&str, &Summary)> = if r.splits.len() > 1 || r.splits.is_empty() {
        halves.chain([("all", &r.summary)]).collect()
    } else {
        halves.collect()
    };
    writeln!(out, "calibration (answers, right in each confidence band):")?;
    for (label, s) in rows {
        let cells: Vec<String> = s
            .calibration
            .bins
            .iter()
            .map(|b| format!("{:.1}-{:.1}: {}/{}", b.low, b.high, b.right, b.answers))
            .collect();
        writeln!(out, "  {label:<8} {}", cells.join("   "))?;
    }
    Ok(())
}

fn print_summaries(out: &mut impl Write, r: &Report) -> std::io::Result<()> {
    for (half, s) in &r.splits {
        summary_line(out, half, s)?;
    }
    if let Some(f) = &r.first_pass {
        summary_line(out, "first pass", f)?;
    }
    let label = if r.first_pass.is_some() {
        "repeat"
    } else {
        "total"
    };
    summary_line(out, label, &r.summary)
}

fn print_families(out: &mut impl Write, rows: &[FamilyRow]) -> std::io::Result<()> {
    writeln!(out, "by family (right / culprit / cause of n):")?;
    let mut by_family: BTreeMap<&str, Vec<&FamilyRow>> = BTreeMap::new();
    for row in rows {
        by_family.entry(&row.family).or_default().push(row);
    }
    for (family, rows) in by_family {
        let cells: Vec<String> = rows
            .iter()
            .map(|row| {
                let s = &row.summary;
                let n = s.scenarios as f64;
                format!(
                    "{} {}/{}/{} of {}",
                    row.split,
                    (s.accuracy * n).round(),
                    (s.culprit * n).round(),
                    (s.cause * n).round(),
                    s.scenarios
                )
            })
            .collect();
        writeln!(out, "  {family:<18} {}", cells.join("   "))?;
    }
    Ok(())
}
