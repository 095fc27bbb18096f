//! Git history with gix: first-parent commits (bounded, incremental), authors through
//! the mailmap, PR numbers from messages, and the files each commit changed.

use std::path::Path;

use anyhow::{Context, Result};
use regex::Regex;
use serde::Serialize;

use crate::config::HistoryConfig;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommitInfo {
    pub id: String,
    /// Seconds since the epoch (commit time).
    pub time: i64,
    pub author: String,
    pub email: String,
    pub summary: String,
    pub body: String,
    pub pr: Option<u64>,
    /// Paths changed against the first parent (no rename detection).
    pub files: Vec<String>,
    /// Of those, the paths the commit added (they did not exist before it).
    pub added: Vec<String>,
    pub parents: usize,
}

#[derive(Debug, Default)]
pub struct HistoryScan {
    /// Newest first.
    pub commits: Vec<CommitInfo>,
    pub head: Option<String>,
    /// The walk met the previously indexed HEAD (so `commits` are only the new ones).
    pub incremental: bool,
    pub notes: Vec<String>,
}

pub use crate::config::default_pr_patterns;

pub fn pr_number(patterns: &[Regex], summary: &str, body: &str) -> Option<u64> {
    for text in [summary, body] {
        for re in patterns {
            if let Some(n) = re
                .captures(text)
                .and_then(|c| c.get(1))
                .and_then(|m| m.as_str().parse().ok())
            {
                return Some(n);
            }
        }
    }
    None
}

/// Walk first-parent history from HEAD back to `since` (exclusive), at most
/// `max_commits`, no older than `max_age_days`.
pub fn scan(
    root: &Path,
    since: Option<&str>,
    cfg: &HistoryConfig,
    now: i64,
) -> Result<HistoryScan> {
    scan_with(root, since, cfg, now, true)
}

/// `scan`, optionally following every parent (for mining fix commits that merges hide).
pub fn scan_with(
    root: &Path,
    since: Option<&str>,
    cfg: &HistoryConfig,
    now: i64,
    first_parent: bool,
) -> Result<HistoryScan> {
    let repo = gix::open(root)
        .with_context(|| format!("cannot open git repository {}", root.display()))?;
    let mut out = HistoryScan::default();
    if repo.is_shallow().unwrap_or(false) {
        out.notes
            .push("shallow clone: history stops at the shallow boundary".into());
    }
    if root.join(".gitmodules").is_file() {
        out.notes
            .push("submodules are not indexed (their commits show as changed entries only)".into());
    }
    let head_id = match repo.head_id() {
        Ok(id) => id.detach(),
        Err(_) => {
            out.notes.push("repository has no commits yet".into());
            return Ok(out);
        }
    };
    out.head = Some(head_id.to_string());
    if since == Some(head_id.to_string().as_str()) {
        out.incremental = true;
        return Ok(out);
    }
    let patterns: Vec<Regex> = cfg
        .pr_patterns
        .iter()
        .map(|p| {
            Regex::new(p).with_context(|| format!("invalid regex {p:?} in [history] pr_patterns"))
        })
        .collect::<Result<_>>()?;
    let mailmap = repo.open_mailmap();
    // Age is counted back from the newest commit (or now, if that is in the future), so
    // a checkout of an old revision sees the history that was recent then.
    let head_time = repo
        .find_commit(head_id)
        .ok()
        .and_then(|c| c.time().ok())
        .map_or(now, |t| t.seconds);
    let cutoff = head_time.min(now) - i64::from(cfg.max_age_days) * 86_400;
    let mut cache = repo
        .diff_resource_cache_for_tree_diff()
        .map_err(|e| anyhow::anyhow!("cannot prepare tree diffs: {e}"))?;
    let mut platform = repo.rev_walk([head_id]);
    if first_parent {
        platform = platform.first_parent_only();
    }
    let walk = platform
        .all()
        .map_err(|e| anyhow::anyhow!("cannot walk history: {e}"))?;
    for info in walk {
        let info = match info {
            Ok(i) => i,
            // A shallow boundary or a missing object ends the walk, not the run.
            Err(e) => {
                out.notes.push(format!("history walk stopped early: {e}"));
                break;
            }
        };
        let id = info.id.to_string();
        if since == Some(id.as_str()) {
            out.incremental = true;
            break;
        }
        if out.commits.len() >= cfg.max_commits {
            break;
        }
        let commit = info
            .object()
            .map_err(|e| anyhow::anyhow!("cannot read commit {id}: {e}"))?;
        let time = commit.time().map(|t| t.seconds).unwrap_or(0);
        if time < cutoff {
            break;
        }
        let (author, email) = match commit.author() {
            Ok(sig) => {
                let s = mailmap.resolve(sig);
                (s.name.to_string(), s.email.to_string())
            }
            Err(_) => (String::new(), String::new()),
        };
        let message = commit.message_raw_sloppy().to_string();
        let (summary, body) = match message.split_once('\n') {
            Some((s, b)) => (s.trim().to_string(), b.trim().to_string()),
            None => (message.trim().to_string(), String::new()),
        };
        let pr = pr_number(&patterns, &summary, &body);
        let (files, added) = changed_files(&repo, &commit, &mut cache).unwrap_or_default();
        cache.clear_resource_cache_keep_allocation();
        out.commits.push(CommitInfo {
            id,
            time,
            author,
            email,
            summary,
            body,
            pr,
            files,
            added,
            parents: commit.parent_ids().count(),
        });
    }
    Ok(out)
}

fn changed_files(
    repo: &gix::Repository,
    commit: &gix::Commit<'_>,
    cache: &mut gix::diff::blob::Platform,
) -> Result<(Vec<String>, Vec<String>)> {
    let tree = commit.tree().map_err(|e| anyhow::anyhow!("{e}"))?;
    let parent_tree = match commit.parent_ids().next() {
        Some(p) => p
            .object()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_commit()
            .tree()
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        None => repo.empty_tree(),
    };
    let mut files = Vec::new();
    let mut added = Vec::new();
    parent_tree
        .changes()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .options(|o| {
            o.track_path().track_rewrites(None);
        })
        .for_each_to_obtain_tree_with_cache(&tree, cache, |change| {
            if change.entry_mode().is_blob() {
                let path = change.location().to_string();
                if matches!(change, gix::object::tree::diff::Change::Addition { .. }) {
                    added.push(path.clone());
                }
                files.push(path);
            }
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((files, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pr_numbers_from_merge_and_squash_messages() {
        let pats: Vec<Regex> = default_pr_patterns()
            .iter()
            .map(|p| Regex::new(p).unwrap())
            .collect();
        assert_eq!(
            pr_number(&pats, "Merge pull request #42 from a/b", ""),
            Some(42)
        );
        assert_eq!(
            pr_number(&pats, "Fix checkout timeout (#1234)", ""),
            Some(1234)
        );
        assert_eq!(
            pr_number(&pats, "Fix", "See merge request shop/api!77"),
            Some(77)
        );
        assert_eq!(
            pr_number(&pats, "Bump version to 1.2 (#x)", "refs #9 in text"),
            None
        );
    }
}
