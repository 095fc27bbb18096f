//! `triage eval mine`: a localization suite from a repository's own fix commits.
//!
//! Each instance is what a reporter could have written before the fix (the commit's
//! message with the names of the files it changed removed, as `learn` replays them), the repository at the
//! fix's parent, and the gold: the non-test source files the fix modified, with the
//! line ranges it changed in them (old side), so function-level accuracy can be
//! scored too. Every instance carries its split, fixed by the fix commit's id, so a
//! suite can be tuned on one half and reported on the other.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::index::lang::Lang;
use crate::index::learn::{is_fix, issue_text};

/// Which half of a mined suite an instance belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Split {
    /// Settings may be chosen by looking at these.
    Tune,
    /// Only ever reported.
    HeldOut,
}

impl Split {
    /// The split of a fix commit: a commit id is a hash, so its first hex digit is as
    /// good as a coin. `0`–`7` tune, `8`–`f` held out.
    pub fn of_commit(id: &str) -> Split {
        match id.chars().next().and_then(|c| c.to_digit(16)) {
            Some(d) if d < 8 => Split::Tune,
            _ => Split::HeldOut,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Split::Tune => "tune",
            Split::HeldOut => "held-out",
        }
    }
}

/// One suite line.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub repo: PathBuf,
    #[serde(default)]
    pub rev: Option<String>,
    pub query: String,
    pub gold_files: Vec<String>,
    /// The fix commit the instance was mined from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// Per gold file, the line ranges `[first, last]` the fix changed, numbered as at
    /// `rev` (a pure insertion after line n is `[n, n]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gold_lines: BTreeMap<String, Vec<[u32; 2]>>,
}

/// Write a suite from fix commits, newest first.
pub fn mine(root: &Path, out: &Path, limit: usize) -> Result<usize> {
    let cfg = crate::config::HistoryConfig {
        max_commits: 20_000,
        max_age_days: 20 * 365,
        ..Default::default()
    };
    let scan =
        crate::index::history::scan_with(root, None, &cfg, chrono::Utc::now().timestamp(), false)?;
    let mut file =
        std::fs::File::create(out).with_context(|| format!("cannot write {}", out.display()))?;
    let mut n = 0;
    for c in &scan.commits {
        if n >= limit {
            break;
        }
        if c.summary.starts_with("Merge ") || c.parents > 1 || !is_fix(&c.summary, &c.body) {
            continue;
        }
        let gold: Vec<String> = c
            .files
            .iter()
            .filter(|f| !c.added.contains(f))
            .filter(|f| Lang::detect(Path::new(f)).is_some_and(|l| l.grammar().is_some()))
            .filter(|f| !is_test_path(f))
            .cloned()
            .collect();
        if gold.is_empty() || gold.len() > 5 {
            continue;
        }
        let Ok(parent) = git_output(root, &["rev-parse", &format!("{}^", c.id)]) else {
            continue;
        };
        let query = issue_text(&c.summary, &c.body, &gold);
        // "fix typo" says nothing a user would report.
        if query.split_whitespace().count() < 6 {
            continue;
        }
        let gold_lines = changed_lines(root, &parent, &c.id, &gold)?;
        let inst = Instance {
            repo: root.to_path_buf(),
            rev: Some(parent),
            query,
            gold_files: gold,
            fix: Some(c.id.clone()),
            split: Some(Split::of_commit(&c.id)),
            gold_lines,
        };
        serde_json::to_writer(&mut file, &inst)?;
        writeln!(file)?;
        n += 1;
    }
    Ok(n)
}

/// The old-side line ranges a commit changed in each of `files` (`git diff -U0`).
fn changed_lines(
    root: &Path,
    parent: &str,
    fix: &str,
    files: &[String],
) -> Result<BTreeMap<String, Vec<[u32; 2]>>> {
    let mut args = vec![
        "diff",
        "-U0",
        "--no-color",
        "--no-renames",
        parent,
        fix,
        "--",
    ];
    args.extend(files.iter().map(String::as_str));
    let diff = git_output(root, &args)?;
    Ok(parse_hunks(&diff))
}

/// `--- a/path` then `@@ -start,count +… @@` lines → old-side ranges per path.
pub fn parse_hunks(diff: &str) -> BTreeMap<String, Vec<[u32; 2]>> {
    let mut out: BTreeMap<String, Vec<[u32; 2]>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in diff.lines() {
        if let Some(p) = line.strip_prefix("--- ") {
            current = p.strip_prefix("a/").map(str::to_string);
        } else if let (Some(rest), Some(path)) = (line.strip_prefix("@@ -"), &current) {
            let old = rest.split_whitespace().next().unwrap_or("");
            let (start, count) = match old.split_once(',') {
                Some((s, c)) => (s.parse::<u32>().ok(), c.parse::<u32>().ok()),
                None => (old.parse::<u32>().ok(), Some(1)),
            };
            if let (Some(start), Some(count)) = (start, count) {
                // A pure insertion (`-n,0`) lands after line n.
                let first = start.max(1);
                let last = (start + count.saturating_sub(1)).max(first);
                out.entry(path.clone()).or_default().push([first, last]);
            }
        }
    }
    out
}

/// Test files by the discovery conventions of the languages indexed: a `test`,
/// `tests`, `testing`, `__tests__` or `spec` folder, or a name such as `test_x.py`,
/// `x_test.go`, `x.test.ts`, `x.spec.js`, `XTest.java`, `tests.rs`.
pub fn is_test_path(p: &str) -> bool {
    let lc = p.to_lowercase();
    lc.split('/')
        .any(|s| s == "test" || s == "tests" || s == "testing" || s == "__tests__" || s == "spec")
        || lc.rsplit('/').next().is_some_and(|f| {
            f.starts_with("test_")
                || f.contains("_test.")
                || f.contains(".test.")
                || f.contains(".spec.")
                || f.ends_with("test.java")
                || f.ends_with("tests.rs")
        })
}

pub fn git_output(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    anyhow::ensure!(
        out.status.success(),
        "git {} failed in {}: {}",
        args.join(" "),
        dir.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_paths_are_recognised() {
        for p in [
            "tests/test_api.py",
            "src/foo_test.go",
            "web/cart.test.ts",
            "pkg/FooTest.java",
            "crate/tests/it.rs",
        ] {
            assert!(is_test_path(p), "{p}");
        }
        assert!(!is_test_path("src/contest.rs"));
    }

    #[test]
    fn the_split_follows_the_commit_id() {
        assert_eq!(Split::of_commit("0abc"), Split::Tune);
        assert_eq!(Split::of_commit("7fff"), Split::Tune);
        assert_eq!(Split::of_commit("8000"), Split::HeldOut);
        assert_eq!(Split::of_commit("f00d"), Split::HeldOut);
        let json = serde_json::to_string(&Split::HeldOut).unwrap();
        assert_eq!(json, "\"held-out\"");
    }

    #[test]
    fn hunks_give_old_side_ranges() {
        let diff = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -10,3 +10,4 @@ def f():\n-a\n@@ -40,0 +42,2 @@\n+b\n@@ -7 +8 @@\n-c\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1,3 @@\n";
        let h = parse_hunks(diff);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x.py"], vec![[10, 12], [40, 40], [7, 7]]);
    }
}
