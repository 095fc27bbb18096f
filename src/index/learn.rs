//! Learning the fusion from the repository's own history: past fix commits are
//! replayed as issues (their message, with the changed files' names removed, as the
//! issue; the source files they changed as the answer; history and fix counts as of
//! before each), and the weights that rank those answers best are kept if, fitted
//! without the newest third of them, they also rank that third better than the
//! defaults. Run at index time when enough new commits arrived; what was learned is in
//! the profile.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::LazyLock;

use anyhow::Result;
use futures::{StreamExt, TryStreamExt};
use regex::Regex;

mod ascend;

use super::cochange::partners;
use super::fusion::{SignalHits, Weights};
use super::lang::Lang;
use super::localize::{Signals, gather, parse_issue};
use super::profile::{FUSION_VERSION, FitReport, FixCounts, RepoProfile, Role, StoredProfile};
use super::store::Store;
use super::store::{CommitFilter, CommitRecord};
use ascend::{
    KNOBS, Knob, Replayed, Score, ascend, mean, moved, per_fix, replay_score, scores_only,
};

/// Past fixes replayed per fit (the newest).
const PAST_FIXES: usize = 80;
/// Fewer than this and the defaults stand (a third of them confirm a fit).
const MIN_PAST_FIXES: usize = 12;
/// Past fixes whose signals are read at the same time.
const REPLAY_CONCURRENCY: usize = 4;
/// Refit after this many new commits.
const REFIT_EVERY: usize = 20;
/// Read at most this many commits (the history walk keeps fewer by default).
const ALL_COMMITS: usize = 1_000_000;
/// Commits that change more files than this are reorganisations, not fixes.
const MAX_FILES: usize = 20;

static FIX_RE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(fix(e[sd])?|bug|crash(es|ed)?|error|fail(s|ed|ure)?|regression|broken|wrong|incorrect|panic)\b").ok()
});

/// Whether a commit message describes a fix.
pub fn is_fix(summary: &str, body: &str) -> bool {
    FIX_RE
        .as_ref()
        .is_some_and(|re| re.is_match(summary) || re.is_match(body))
}

/// The commit message as an issue reporter could have written it: no trailers, no
/// trailing `(#123)`, and no names of the files the fix changed (a reporter seldom
/// knows them; a committer always does).
pub fn issue_text(summary: &str, body: &str, gold: &[String]) -> String {
    let body: Vec<&str> = body
        .lines()
        .filter(|l| !is_trailer(l.trim_start()))
        .collect();
    let mut text = format!("{}\n\n{}", strip_pr_suffix(summary), body.join("\n"));
    // `fix(response): …`, `binding: …`: commit conventions that name the area changed.
    if let Some(re) = PREFIX_RE.as_ref() {
        text = re
            .replace_all(&text, |c: &regex::Captures| {
                let names_gold = |w: &str| {
                    let w = w.to_lowercase();
                    gold.iter().any(|g| {
                        g.to_lowercase()
                            .split(['/', '.'])
                            .any(|part| part.trim_start_matches('_') == w)
                    })
                };
                let kind = &c[2];
                let scope = c.get(3).map(|m| m.as_str()).unwrap_or("");
                if CONVENTIONAL.contains(&kind.to_lowercase().as_str()) || names_gold(kind) {
                    c[1].to_string()
                } else if !scope.is_empty() && names_gold(scope) {
                    format!("{}{kind}: ", &c[1])
                } else {
                    c[0].to_string()
                }
            })
            .into_owned();
    }
    for g in gold {
        let base = g.rsplit('/').next().unwrap_or(g);
        for name in [g.as_str(), base] {
            let pattern = format!(r"(^|[^\w./-])(?:[\w.-]*/)*{}\b", regex::escape(name));
            if let Ok(re) = Regex::new(&pattern) {
                text = re.replace_all(&text, "$1").into_owned();
            }
        }
    }
    text.trim().to_string()
}

/// A `kind(scope)!: ` or `area: ` prefix at the start of a line.
static PREFIX_RE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?m)^([*\s-]*)([\w.-]+)(?:\(([^)\n]*)\))?!?: ").ok());

/// Conventional-commit types.
const CONVENTIONAL: &[&str] = &[
    "fix", "feat", "chore", "refactor", "perf", "docs", "test", "tests", "build", "ci", "style",
    "revert", "bugfix", "hotfix",
];

fn strip_pr_suffix(summary: &str) -> String {
    let mut s = summary.trim_end();
    if s.ends_with(')')
        && let Some(open) = s.rfind("(#")
        && s[open + 2..s.len() - 1].chars().all(|c| c.is_ascii_digit())
    {
        s = s[..open].trim_end();
    }
    s.to_string()
}

fn is_trailer(line: &str) -> bool {
    [
        "Signed-off-by:",
        "Co-authored-by:",
        "Co-Authored-By:",
        "Reviewed-by:",
        "Change-Id:",
        "Reviewed-on:",
    ]
    .iter()
    .any(|t| line.starts_with(t))
}

/// A commit's message as (summary, body); a GitHub merge's summary is its PR title.
fn message(c: &CommitRecord) -> Option<(&str, &str)> {
    if c.summary.starts_with("Merge pull request") {
        let (title, rest) = c.body.split_once('\n').unwrap_or((c.body.as_str(), ""));
        return (!title.trim().is_empty()).then_some((title.trim(), rest));
    }
    (!c.summary.starts_with("Merge ")).then_some((c.summary.as_str(), c.body.as_str()))
}

/// One past fix replayed as an issue.
#[derive(Debug, Clone)]
pub struct PastFix {
    pub query: String,
    pub gold: Vec<String>,
    pub time: i64,
}

/// The newest past fixes that changed one to five indexed source files.
pub fn past_fixes(commits: &[CommitRecord], profile: &RepoProfile, limit: usize) -> Vec<PastFix> {
    let indexed: HashSet<&str> = profile.paths().iter().map(String::as_str).collect();
    let mut sorted: Vec<&CommitRecord> = commits.iter().collect();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.time));
    let mut out = Vec::new();
    for c in sorted {
        if out.len() >= limit {
            break;
        }
        let Some((summary, body)) = message(c) else {
            continue;
        };
        if !is_fix(summary, body) {
            continue;
        }
        let gold: Vec<String> = c
            .files
            .iter()
            .filter(|f| indexed.contains(f.as_str()))
            .filter(|f| Lang::detect(Path::new(f)).is_some_and(|l| l.grammar().is_some()))
            .filter(|f| profile.role(f) == Role::Source)
            .cloned()
            .collect();
        if gold.is_empty() || gold.len() > 5 {
            continue;
        }
        let query = issue_text(summary, body, &gold);
        if query.split_whitespace().count() < 6 {
            continue;
        }
        out.push(PastFix {
            query,
            gold,
            time: c.time,
        });
    }
    out
}

/// How many fix commits (before `before`, when given) changed each file.
pub fn fix_counts(commits: &[CommitRecord], before: Option<i64>) -> HashMap<String, u32> {
    count_changes(fix_commits(commits), before)
}

/// The commits the past-fixes prior counts: a fix's message, at most `MAX_FILES` files.
fn fix_commits(commits: &[CommitRecord]) -> Vec<&CommitRecord> {
    commits
        .iter()
        .filter(|c| c.files.len() <= MAX_FILES)
        .filter(|c| message(c).is_some_and(|(s, b)| is_fix(s, b)))
        .collect()
}

/// How many of `fixes` (before `before`, when given) changed each file.
fn count_changes(fixes: Vec<&CommitRecord>, before: Option<i64>) -> HashMap<String, u32> {
    let mut out: HashMap<String, u32> = HashMap::new();
    for c in fixes {
        if before.is_some_and(|t| c.time >= t) {
            continue;
        }
        for f in &c.files {
            *out.entry(f.clone()).or_default() += 1;
        }
    }
    out
}

/// Recompute the profile after an index run: fix counts always, the weights when
/// `REFIT_EVERY` commits arrived since the last fit. Returns the fit when one ran.
pub async fn refresh(store: &Store, root: &Path) -> Result<Option<FitReport>> {
    let mut stored = store.load_profile()?;
    let commits = store
        .commits_matching(None, &CommitFilter::default(), ALL_COMMITS)
        .await?;
    let paths = store.file_paths().await?;
    stored.gitattributes = std::fs::read_to_string(root.join(".gitattributes")).unwrap_or_default();
    stored.fix_counts = fix_counts(&commits, None);
    let profile = RepoProfile::new(paths, &stored.gitattributes);
    stored.partners = partners(&commits, &profile);
    let due = stored.needs_fit()
        || commits.len() < stored.fitted_at_commits
        || commits.len() >= stored.fitted_at_commits + REFIT_EVERY;
    let mut report = None;
    if due {
        let (weights, fit) = fit(store, &profile, &commits).await?;
        stored.weights = Some(weights);
        stored.fusion_version = FUSION_VERSION;
        stored.fitted_at_commits = commits.len();
        stored.fit = Some(fit.clone());
        report = Some(fit);
    }
    store.save_profile(&stored)?;
    Ok(report)
}

/// Fit the weights on the newest past fixes. The fit must first show it generalizes:
/// fitted on all but the newest third, it has to beat the defaults on that third (fixes
/// it never saw, the ones most like the next issue); only then is it refitted on all of
/// them and kept. Otherwise the defaults, learned across repositories, stand.
pub async fn fit(
    store: &Store,
    profile: &RepoProfile,
    commits: &[CommitRecord],
) -> Result<(Weights, FitReport)> {
    let past = past_fixes(commits, profile, PAST_FIXES);
    let mut report = FitReport {
        commits: commits.len(),
        past_fixes: past.len(),
        ..Default::default()
    };
    if past.len() < MIN_PAST_FIXES {
        return Ok((Weights::default(), report));
    }
    let signals = Signals {
        vectors: false,
        ..Signals::default()
    };
    // The past fixes' queries run a few at a time (each waits on several index
    // reads); their order, and so the fit, stays that of `past`.
    let queries: Vec<_> = past
        .iter()
        .map(|p| replay_hits(store, p, signals, profile))
        .collect();
    let hits: Vec<SignalHits> = futures::stream::iter(queries)
        .buffered(REPLAY_CONCURRENCY)
        .try_collect()
        .await?;
    let fixes = fix_commits(commits);
    let replay: Vec<Replayed<'_>> = past
        .iter()
        .zip(hits)
        .map(|(p, hits)| {
            let counts = count_changes(fixes.clone(), Some(p.time));
            (
                hits,
                FixCounts::from_counts(counts, profile),
                p.gold.as_slice(),
            )
        })
        .collect();
    let weights = choose(&replay, profile, &mut report);
    Ok((weights, report))
}

/// Every signal's list for a past fix, as of before it (scores only).
async fn replay_hits(
    store: &Store,
    p: &PastFix,
    signals: Signals,
    profile: &RepoProfile,
) -> Result<SignalHits> {
    let parsed = parse_issue(&p.query);
    let hits = gather(
        store,
        None,
        &p.query,
        &parsed,
        signals,
        Some(p.time),
        profile,
    )
    .await?;
    Ok(scores_only(hits))
}

/// How many more of the held-back fixes the fit on the older ones must rank better than
/// the defaults than it ranks worse (one more happens by chance about as often as not).
const CONFIRM_MARGIN: usize = 2;

/// The weights the replayed past fixes (newest first) support. Fitted on all but the
/// newest third, the weights must rank more of that third better than the defaults than
/// worse, by `CONFIRM_MARGIN`, and lose no first place on it; then only the weights that
/// fit moved may move again, fitted on all. Otherwise the defaults stand.
fn choose(replay: &[Replayed<'_>], profile: &RepoProfile, report: &mut FitReport) -> Weights {
    let defaults = Weights::default();
    let base = replay_score(replay, &defaults, profile);
    (report.default_acc1, report.default_acc5, report.default_mrr) =
        (base.acc1, base.acc5, base.mrr);
    (report.fitted_acc1, report.fitted_acc5, report.fitted_mrr) = (base.acc1, base.acc5, base.mrr);
    let (newest, older) = replay.split_at(replay.len() / 3);
    report.confirmed_on = newest.len();
    let all: Vec<&Knob> = KNOBS.iter().collect();
    let (trial, _) = ascend(older, profile, &all);
    let knobs = moved(&trial);
    if knobs.is_empty() {
        report.verdict = format!(
            "defaults: no weight ranks the {} older past fixes better",
            older.len()
        );
        return defaults;
    }
    let tried = per_fix(newest, &trial, profile);
    let plain = per_fix(newest, &defaults, profile);
    let better = |a: &Score, b: &Score| a.objective() > b.objective() + 1e-6;
    report.confirm_won = tried
        .iter()
        .zip(&plain)
        .filter(|(t, d)| better(t, d))
        .count();
    report.confirm_lost = tried
        .iter()
        .zip(&plain)
        .filter(|(t, d)| better(d, t))
        .count();
    let firsts_lost = mean(&tried).acc1 < mean(&plain).acc1;
    let tested = format!(
        "{}, fitted on the {} older past fixes, ranked {} of the {} newest better and {} worse",
        changes(&trial).join(", "),
        older.len(),
        report.confirm_won,
        newest.len(),
        report.confirm_lost
    );
    if report.confirm_won < report.confirm_lost + CONFIRM_MARGIN || firsts_lost {
        let why = if firsts_lost {
            "it lost first places"
        } else {
            "not enough to trust"
        };
        report.verdict = format!("defaults: {tested}: {why}");
        return defaults;
    }
    let (best, best_score) = ascend(replay, profile, &knobs);
    (report.fitted_acc1, report.fitted_acc5, report.fitted_mrr) =
        (best_score.acc1, best_score.acc5, best_score.mrr);
    report.changed = changes(&best);
    report.verdict = if report.changed.is_empty() {
        format!("defaults: {tested}, but no move holds on all of them")
    } else {
        format!("fitted: {tested}; refitted on all of them")
    };
    best
}

/// The weights `w` moves from their default, as `name default→value`.
fn changes(w: &Weights) -> Vec<String> {
    let defaults = Weights::default();
    moved(w)
        .iter()
        .map(|k| format!("{} {}→{}", k.name, (k.get)(&defaults), (k.get)(w)))
        .collect()
}

impl StoredProfile {
    /// The weights to rank with: fitted under this fusion, or the defaults.
    pub fn weights(&self) -> Weights {
        self.weights
            .filter(|_| self.fusion_version == FUSION_VERSION)
            .unwrap_or_default()
    }

    /// Never fitted, or fitted under another fusion.
    pub fn needs_fit(&self) -> bool {
        self.weights.is_none() || self.fusion_version != FUSION_VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(summary: &str, body: &str, files: &[&str], time: i64) -> CommitRecord {
        CommitRecord {
            id: format!("{time:040}"),
            time,
            author: String::new(),
            summary: summary.into(),
            body: body.into(),
            pr: None,
            files: files.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_query_loses_trailers_pr_numbers_and_the_gold_file_names() {
        let gold = vec!["httpx/_models.py".to_string(), "src/cart.rs".to_string()];
        let q = issue_text(
            "Fix header casing in _models.py (#123)",
            "The cart total in src/cart.rs and ./src/cart.rs was wrong.\nSigned-off-by: A <a@b>",
            &gold,
        );
        assert!(!q.contains("_models.py"), "{q}");
        assert!(!q.contains("cart.rs"), "{q}");
        assert!(!q.contains("#123"), "{q}");
        assert!(!q.contains("Signed-off-by"), "{q}");
        assert!(q.starts_with("Fix header casing in"), "{q}");
        assert!(q.contains("The cart total in"), "{q}");
        let q = issue_text("Fix shopping_cart.rs parsing bug", "", &gold);
        assert!(q.contains("shopping_cart.rs"), "{q}");
        // Commit conventions that name the changed area go; other prefixes stay.
        let gold = vec!["lib/response.js".to_string(), "binding/form.go".to_string()];
        let q = issue_text(
            "fix(response): set Content-Length once",
            "* fix(respond): keep it\n* test(res.send): cover it\nNote: this matters",
            &gold,
        );
        assert!(q.starts_with("set Content-Length once"), "{q}");
        assert!(q.contains("* keep it"), "{q}");
        assert!(q.contains("Note: this matters"), "{q}");
        let q = issue_text("binding: form parsing drops empty values", "", &gold);
        assert_eq!(q, "form parsing drops empty values");
        let q = issue_text("router: panic on empty path", "", &gold);
        assert_eq!(q, "router: panic on empty path");
    }

    /// Full text and past changes as given (past changes' hits weak).
    fn hits(fulltext: &[&str], history: &[&str]) -> SignalHits {
        let list = |paths: &[&str], strength: f32| -> Vec<crate::index::signals::Hit> {
            paths
                .iter()
                .map(|p| crate::index::signals::Hit {
                    path: p.to_string(),
                    strength,
                    reason: String::new(),
                    symbols: Vec::new(),
                })
                .collect()
        };
        SignalHits {
            fulltext: list(fulltext, 1.0),
            history: list(history, 0.3),
            ..Default::default()
        }
    }

    #[test]
    fn a_fit_is_kept_only_when_it_beats_the_defaults_on_the_newest_fixes() {
        let files = ["a.py", "b.py", "c.py", "d.py", "e.py", "f.py", "g.py"];
        let profile = RepoProfile::new(files.iter().map(|s| s.to_string()).collect(), "");
        let gold = vec!["a.py".to_string()];
        // Full text puts the fix behind six files past changes never named; past
        // changes name only the fix.
        let misled = || {
            hits(
                &["b.py", "c.py", "d.py", "e.py", "f.py", "g.py", "a.py"],
                &["a.py"],
            )
        };
        let replay: Vec<Replayed<'_>> = (0..12)
            .map(|_| (misled(), FixCounts::default(), gold.as_slice()))
            .collect();
        let mut report = FitReport::default();
        let w = choose(&replay, &profile, &mut report);
        assert_eq!(report.confirmed_on, 4);
        assert_eq!(w.fulltext, 0.0, "{report:?}");
        assert!(report.changed.iter().any(|c| c.starts_with("fulltext")));
        assert!(report.fitted_mrr > report.default_mrr);
        assert!(report.fitted_acc1 > report.default_acc1);
        assert_eq!((report.confirm_won, report.confirm_lost), (4, 0));
        assert!(report.verdict.starts_with("fitted: "), "{report:?}");
        // One held-back fix ranked better and none worse is no evidence: the defaults
        // stand, and the report says so.
        let replay: Vec<Replayed<'_>> = (0..12)
            .map(|i| {
                let h = if i == 0 || i >= 4 {
                    misled()
                } else {
                    hits(&["a.py"], &["a.py"])
                };
                (h, FixCounts::default(), gold.as_slice())
            })
            .collect();
        let mut report = FitReport::default();
        let w = choose(&replay, &profile, &mut report);
        assert_eq!(w, Weights::default(), "{report:?}");
        assert_eq!((report.confirm_won, report.confirm_lost), (1, 0));
        assert!(report.changed.is_empty());
        assert!(
            report.verdict.starts_with("defaults: fulltext")
                && report.verdict.ends_with("not enough to trust"),
            "{report:?}"
        );
        // The newest fixes the other way round: what the older ones taught does not
        // carry over, so the defaults stand.
        let replay: Vec<Replayed<'_>> = (0..12)
            .map(|i| {
                let h = if i < 4 {
                    hits(&["a.py"], &["b.py", "c.py"])
                } else {
                    misled()
                };
                (h, FixCounts::default(), gold.as_slice())
            })
            .collect();
        let mut report = FitReport::default();
        let w = choose(&replay, &profile, &mut report);
        assert_eq!(w, Weights::default());
        assert!(report.changed.is_empty(), "{report:?}");
        assert!(report.confirm_lost > report.confirm_won, "{report:?}");
        assert!(report.verdict.starts_with("defaults: "), "{report:?}");
    }

    #[test]
    fn past_fixes_are_source_changes_and_merges_speak_through_their_pr_title() {
        let profile = RepoProfile::new(
            ["pkg/cart.py", "tests/test_cart.py", "docs/cart.md"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            "",
        );
        let commits = vec![
            commit(
                "Fix the cart total when a coupon expires",
                "",
                &["pkg/cart.py", "tests/test_cart.py"],
                30,
            ),
            commit(
                "Merge pull request #7 from a/b",
                "Fix crash on an empty cart in checkout",
                &["pkg/cart.py"],
                20,
            ),
            commit(
                "Fix typo in the docs for carts today",
                "",
                &["docs/cart.md"],
                10,
            ),
            commit(
                "Add coupons to the cart and the checkout",
                "",
                &["pkg/cart.py"],
                5,
            ),
        ];
        let past = past_fixes(&commits, &profile, 10);
        assert_eq!(past.len(), 2, "{past:?}");
        assert_eq!(past[0].gold, vec!["pkg/cart.py"]);
        assert!(past[1].query.starts_with("Fix crash on an empty cart"));
        let counts = fix_counts(&commits, Some(25));
        assert_eq!(counts.get("pkg/cart.py"), Some(&1));
        assert_eq!(counts.get("docs/cart.md"), Some(&1));
    }
}
