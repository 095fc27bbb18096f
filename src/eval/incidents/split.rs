//! The tuning/held-out split of a scenario directory: `split.toml` beside the scenarios
//! assigns each one to `tune` (what a diagnosis engine may be tuned on) or `holdout`
//! (only ever measured). It is fixed before any tuning and checked against the
//! directory: every scenario listed, nothing listed that is not a scenario.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The file's name inside a scenario directory.
pub const SPLIT_FILE: &str = "split.toml";

/// The half a scenario belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Half {
    Tune,
    Holdout,
}

impl Half {
    pub fn as_str(self) -> &'static str {
        match self {
            Half::Tune => "tune",
            Half::Holdout => "holdout",
        }
    }
}

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Tune,
    Holdout,
    #[default]
    All,
}

impl Split {
    /// Whether a scenario in `half` (None: the directory has no split file) is run.
    pub fn includes(self, half: Option<Half>) -> bool {
        match self {
            Split::All => true,
            Split::Tune => half == Some(Half::Tune),
            Split::Holdout => half == Some(Half::Holdout),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitFile {
    scenarios: BTreeMap<String, Half>,
}

/// A directory's split, by scenario name.
#[derive(Debug, Clone, Default)]
pub struct SplitMap {
    pub file: Option<PathBuf>,
    pub halves: BTreeMap<String, Half>,
}

impl SplitMap {
    pub fn half(&self, scenario: &str) -> Option<Half> {
        self.halves.get(scenario).copied()
    }
}

/// Read `split.toml` of `dir` and check it against the scenario names. Without the file,
/// only `--split all` can run.
pub fn load(dir: &Path, names: &[&str], split: Split) -> Result<SplitMap> {
    let file = dir.join(SPLIT_FILE);
    if !file.is_file() {
        if split != Split::All {
            bail!(
                "{} is missing: --split {} needs it ([scenarios] with `<name> = \"tune\"` or `\"holdout\"` for each scenario)",
                file.display(),
                split_name(split)
            );
        }
        return Ok(SplitMap::default());
    }
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let halves =
        parse(&text, names).with_context(|| format!("{} is not a valid split", file.display()))?;
    Ok(SplitMap {
        file: Some(file),
        halves,
    })
}

/// Parse split text and check it covers exactly `names`.
pub fn parse(text: &str, names: &[&str]) -> Result<BTreeMap<String, Half>> {
    let parsed: SplitFile = toml::from_str(text)?;
    if let Some(extra) = parsed
        .scenarios
        .keys()
        .find(|k| !names.contains(&k.as_str()))
    {
        bail!("[scenarios].{extra}: there is no scenario named {extra:?}");
    }
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !parsed.scenarios.contains_key(*n))
        .collect();
    if !missing.is_empty() {
        bail!(
            "[scenarios] does not list {}: add `<name> = \"tune\"` or `\"holdout\"` for each",
            missing.join(", ")
        );
    }
    Ok(parsed.scenarios)
}

fn split_name(s: Split) -> &'static str {
    match s {
        Split::Tune => "tune",
        Split::Holdout => "holdout",
        Split::All => "all",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_must_cover_exactly_the_scenarios() {
        let names = ["a", "b"];
        let ok = parse("[scenarios]\na = \"tune\"\nb = \"holdout\"\n", &names).unwrap();
        assert_eq!(ok["b"], Half::Holdout);
        let e = format!(
            "{:#}",
            parse("[scenarios]\na = \"tune\"\n", &names).unwrap_err()
        );
        assert!(e.contains("does not list b"), "{e}");
        let e = format!(
            "{:#}",
            parse(
                "[scenarios]\na = \"tune\"\nb = \"tune\"\nc = \"tune\"\n",
                &names
            )
            .unwrap_err()
        );
        assert!(e.contains("[scenarios].c"), "{e}");
        let e = format!(
            "{:#}",
            parse("[scenarios]\na = \"tuning\"\nb = \"tune\"\n", &names).unwrap_err()
        );
        assert!(e.contains("tuning") && e.contains("holdout"), "{e}");
        let e = format!("{:#}", parse("[scenario]\n", &names).unwrap_err());
        assert!(e.contains("scenario"), "{e}");
        assert!(Split::All.includes(None));
        assert!(!Split::Tune.includes(Some(Half::Holdout)));
    }
}
