//! Tools over git history (gix) and the indexed commits.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::ToolData;
use super::data::CommitSummary;
use super::{Tool, ToolContext, ToolError, ToolOutput, arg, quote, req_str, str_arg, u64_arg};
use crate::index::store::{CommitFilter, CommitRecord};
use crate::protocol::{Evidence, EvidenceKind};

/// Lines of diff `git_show` returns per file before it summarises the rest.
const DIFF_LINES_PER_FILE: usize = 80;

pub fn tools() -> Vec<Tool> {
    vec![
        Tool {
            name: "git_log",
            description: "Recent commits (first-parent), optionally only those touching a path, newer than `since_days`. Shows id, date, author, PR and summary.",
            parameters: json!({"type":"object","properties":{
                "path":{"type":"string","description":"file or directory, relative to the repo root"},
                "since_days":{"type":"integer","minimum":0},
                "max":{"type":"integer","minimum":1,"maximum":50}}}),
            timeout: None,
            human: |args| {
                let mut cmd = format!(
                    "git log --first-parent -n {}",
                    u64_arg(args, "max").unwrap_or(15)
                );
                if let Some(d) = u64_arg(args, "since_days") {
                    let _ = write!(cmd, " --since='{d} days ago'");
                }
                if let Some(p) = str_arg(args, "path") {
                    let _ = write!(cmd, " -- {}", quote(p));
                }
                cmd
            },
            run: Some(|ctx, args| Box::pin(git_log(ctx, args))),
        },
        Tool {
            name: "git_show",
            description: "One commit: message, author, changed files and the diff (cut per file).",
            parameters: json!({"type":"object","properties":{
                "commit":{"type":"string"},
                "path":{"type":"string","description":"only this file's diff"}},"required":["commit"]}),
            timeout: None,
            human: |args| match str_arg(args, "path") {
                Some(p) => format!("git show {} -- {}", quote(arg(args, "commit")), quote(p)),
                None => format!("git show {}", quote(arg(args, "commit"))),
            },
            run: Some(|ctx, args| Box::pin(in_repo(ctx, args, git_show))),
        },
        Tool {
            name: "blame",
            description: "Which commit last changed each line of a range of a file.",
            parameters: json!({"type":"object","properties":{
                "path":{"type":"string"},
                "start_line":{"type":"integer","minimum":1},
                "end_line":{"type":"integer","minimum":1}},"required":["path","start_line","end_line"]}),
            timeout: None,
            human: |args| {
                format!(
                    "git blame -L {},{} {}",
                    u64_arg(args, "start_line").unwrap_or(1),
                    u64_arg(args, "end_line").unwrap_or(1),
                    quote(arg(args, "path"))
                )
            },
            run: Some(|ctx, args| Box::pin(in_repo(ctx, args, blame))),
        },
        Tool {
            name: "similar_past_changes",
            description: "Past commits and PRs whose messages match a description, with the files they touched.",
            parameters: json!({"type":"object","properties":{
                "text":{"type":"string"},
                "max":{"type":"integer","minimum":1,"maximum":20}},"required":["text"]}),
            timeout: None,
            human: |args| format!("git log --grep={}", quote(arg(args, "text"))),
            run: Some(|ctx, args| Box::pin(similar_past_changes(ctx, args))),
        },
    ]
}

/// A tool that reads the repository with gix, off the async threads.
async fn in_repo(
    ctx: &ToolContext,
    args: &Value,
    tool: fn(&std::path::Path, &Value) -> Result<ToolOutput, ToolError>,
) -> Result<ToolOutput, ToolError> {
    let (root, args) = (ctx.repo_root()?.clone(), args.clone());
    blocking(move || tool(&root, &args)).await
}

async fn blocking(
    f: impl FnOnce() -> Result<ToolOutput, ToolError> + Send + 'static,
) -> Result<ToolOutput, ToolError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ToolError::Failed(format!("git task failed: {e}")))?
}

fn open(root: &std::path::Path) -> Result<gix::Repository, ToolError> {
    gix::open(root).map_err(|e| {
        ToolError::Failed(format!(
            "cannot open git repository {}: {e}",
            root.display()
        ))
    })
}

fn day(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

async fn commit_rows(
    ctx: &ToolContext,
    filter: &CommitFilter,
    fts: Option<&str>,
    limit: usize,
) -> Result<Vec<CommitRecord>, ToolError> {
    let store = ctx.store().await?;
    Ok(store.commits_matching(fts, filter, limit).await?)
}

impl From<CommitRecord> for CommitSummary {
    fn from(c: CommitRecord) -> Self {
        Self {
            id: c.id,
            time: c.time,
            author: c.author,
            summary: c.summary,
            pr: c.pr,
            files: c.files,
        }
    }
}

fn commit_line(c: &CommitRecord) -> String {
    let pr = c.pr.map(|p| format!(" (PR #{p})")).unwrap_or_default();
    format!(
        "{} {} {}{pr}: {}",
        &c.id[..c.id.len().min(10)],
        day(c.time),
        c.author,
        c.summary
    )
}

async fn git_log(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let max = u64_arg(args, "max").unwrap_or(15).clamp(1, 50) as usize;
    let path = str_arg(args, "path").map(|p| p.trim_start_matches("./").trim_end_matches('/'));
    let mut filter = CommitFilter {
        touching: path.map(str::to_string),
        ..Default::default()
    };
    if let Some(days) = u64_arg(args, "since_days") {
        let now = ctx.now().timestamp();
        filter.since = Some(now - (days as i64) * 86_400);
        filter.before = Some(now + 1);
    }
    let mut commits = commit_rows(ctx, &filter, None, 5_000).await?;
    if let Some(p) = path {
        // LIKE matched substrings; keep exact files and files under the directory.
        let dir = format!("{p}/");
        commits.retain(|c| c.files.iter().any(|f| f == p || f.starts_with(&dir)));
    }
    commits.sort_by_key(|c| std::cmp::Reverse(c.time));
    commits.truncate(max);
    let mut text = String::new();
    for c in &commits {
        let _ = writeln!(text, "{}", commit_line(c));
    }
    if commits.is_empty() {
        text.push_str("no commits\n");
    }
    Ok(ToolOutput {
        summary: format!(
            "{} commits{}",
            commits.len(),
            path.map(|p| format!(" touching {p}")).unwrap_or_default()
        ),
        text,
        evidence: commits
            .iter()
            .take(5)
            .map(|c| Evidence {
                kind: EvidenceKind::Commit,
                reference: c.id[..c.id.len().min(10)].to_string(),
                detail: format!("{} {}", day(c.time), c.summary),
                call: None,
            })
            .collect(),
        data: ToolData::Commits(commits.into_iter().map(CommitSummary::from).collect()),
    })
}

async fn similar_past_changes(ctx: &ToolContext, args: &Value) -> Result<ToolOutput, ToolError> {
    let query = req_str(args, "text")?;
    let max = u64_arg(args, "max").unwrap_or(8).clamp(1, 20) as usize;
    let query: String = query.chars().take(2_000).collect();
    let commits = commit_rows(ctx, &CommitFilter::default(), Some(&query), max).await?;
    let mut text = String::new();
    for c in &commits {
        let _ = writeln!(text, "{}", commit_line(c));
        let shown: Vec<&str> = c.files.iter().take(6).map(String::as_str).collect();
        let more = c.files.len().saturating_sub(shown.len());
        let _ = writeln!(
            text,
            "   files: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            }
        );
    }
    if commits.is_empty() {
        text.push_str("no similar past changes\n");
    }
    Ok(ToolOutput {
        summary: format!("{} similar past changes", commits.len()),
        text,
        evidence: commits
            .iter()
            .take(3)
            .map(|c| Evidence {
                kind: EvidenceKind::Commit,
                reference: c.id[..c.id.len().min(10)].to_string(),
                detail: c.summary.clone(),
                call: None,
            })
            .collect(),
        data: ToolData::Commits(commits.into_iter().map(CommitSummary::from).collect()),
    })
}

fn git_show(root: &std::path::Path, args: &Value) -> Result<ToolOutput, ToolError> {
    let spec = req_str(args, "commit")?;
    let only = str_arg(args, "path").map(|p| p.trim_start_matches("./").to_string());
    let repo = open(root)?;
    let commit = repo
        .rev_parse_single(spec)
        .map_err(|e| ToolError::BadArguments(format!("no commit {spec}: {e}")))?
        .object()
        .map_err(|e| ToolError::Failed(e.to_string()))?
        .try_into_commit()
        .map_err(|e| ToolError::BadArguments(format!("{spec} is not a commit: {e}")))?;
    let id = commit.id().to_string();
    let message = commit.message_raw_sloppy().to_string();
    let (author, time) = match commit.author() {
        Ok(a) => (
            format!("{} <{}>", a.name, a.email),
            a.time().map(|t| t.seconds).unwrap_or(0),
        ),
        Err(_) => (String::new(), 0),
    };
    let changes = changed_blobs(&repo, &commit)
        .map_err(|e| ToolError::Failed(format!("cannot diff {spec}: {e}")))?;
    let blob = |id: Option<gix::ObjectId>| -> String {
        id.and_then(|id| repo.find_object(id).ok())
            .map(|o| String::from_utf8_lossy(&o.data).into_owned())
            .unwrap_or_default()
    };
    let mut text = format!("commit {id}\nAuthor: {author}\nDate:   {}\n\n", day(time));
    for line in message.trim_end().lines() {
        let _ = writeln!(text, "    {line}");
    }
    text.push('\n');
    let mut files = Vec::new();
    for (path, old, new) in &changes {
        if only.as_ref().is_some_and(|o| o != path) {
            continue;
        }
        files.push(path.clone());
        write_diff(&mut text, path, &blob(*old), &blob(*new));
    }
    let summary_line = message.lines().next().unwrap_or("").to_string();
    Ok(ToolOutput {
        summary: format!("{} {} ({} files)", &id[..10], summary_line, changes.len()),
        text,
        evidence: vec![Evidence {
            kind: EvidenceKind::Commit,
            reference: id[..10].to_string(),
            detail: summary_line.clone(),
            call: None,
        }],
        data: ToolData::Json(
            json!({"id": id, "author": author, "time": time, "message": message, "files": files}),
        ),
    })
}

/// A changed blob: its path, and the old and new contents' ids.
type BlobChange = (String, Option<gix::ObjectId>, Option<gix::ObjectId>);

/// The blobs a commit changed against its first parent (or the empty tree).
fn changed_blobs(
    repo: &gix::Repository,
    commit: &gix::Commit<'_>,
) -> Result<Vec<BlobChange>, Box<dyn std::error::Error + Send + Sync>> {
    let tree = commit.tree()?;
    let parent_tree = match commit.parent_ids().next() {
        Some(p) => p.object()?.into_commit().tree()?,
        None => repo.empty_tree(),
    };
    let mut changes: Vec<BlobChange> = Vec::new();
    parent_tree
        .changes()?
        .options(|o| {
            o.track_path().track_rewrites(None);
        })
        .for_each_to_obtain_tree(&tree, |change| {
            use gix::object::tree::diff::Change;
            if change.entry_mode().is_blob() {
                let path = change.location().to_string();
                let (old, new) = match change {
                    Change::Addition { id, .. } => (None, Some(id.detach())),
                    Change::Deletion { id, .. } => (Some(id.detach()), None),
                    Change::Modification {
                        previous_id, id, ..
                    } => (Some(previous_id.detach()), Some(id.detach())),
                    Change::Rewrite { source_id, id, .. } => {
                        (Some(source_id.detach()), Some(id.detach()))
                    }
                };
                changes.push((path, old, new));
            }
            Ok(std::ops::ControlFlow::Continue(()))
        })?;
    Ok(changes)
}

/// One file's unified diff, cut after `DIFF_LINES_PER_FILE` lines.
fn write_diff(text: &mut String, path: &str, a: &str, b: &str) {
    if a.contains('\0') || b.contains('\0') {
        let _ = writeln!(text, "--- {path}: binary file changed");
        return;
    }
    let diff = similar::TextDiff::from_lines(a, b);
    let unified = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string();
    let total = unified.lines().count();
    for line in unified.lines().take(DIFF_LINES_PER_FILE) {
        let _ = writeln!(text, "{line}");
    }
    if total > DIFF_LINES_PER_FILE {
        let _ = writeln!(
            text,
            "[{} more diff lines in {path}; ask for this path alone]",
            total - DIFF_LINES_PER_FILE
        );
    }
}

fn blame(root: &std::path::Path, args: &Value) -> Result<ToolOutput, ToolError> {
    let path = req_str(args, "path")?.trim_start_matches("./").to_string();
    let start = u64_arg(args, "start_line").unwrap_or(1).max(1) as u32;
    let end = (u64_arg(args, "end_line").unwrap_or(start as u64) as u32).max(start);
    let end = end.min(start + 199);
    let repo = open(root)?;
    let head = repo
        .head_id()
        .map_err(|e| ToolError::Failed(format!("repository has no HEAD: {e}")))?
        .detach();
    let ranges = gix::blame::BlameRanges::from_one_based_inclusive_range(start..=end)
        .map_err(|e| ToolError::BadArguments(format!("bad line range {start}-{end}: {e}")))?;
    let outcome = repo
        .blame_file(
            path.as_str().into(),
            head,
            gix::repository::blame_file::Options {
                ranges,
                ..Default::default()
            },
        )
        .map_err(|e| ToolError::Failed(format!("cannot blame {path}: {e}")))?;
    let mut text = String::new();
    let mut data = Vec::new();
    let mut commits: Vec<String> = Vec::new();
    for (entry, lines) in outcome.entries_with_lines() {
        let cid = entry.commit_id;
        let (who, when, subject) = match repo.find_commit(cid) {
            Ok(c) => (
                c.author().map(|a| a.name.to_string()).unwrap_or_default(),
                c.time().map(|t| t.seconds).unwrap_or(0),
                c.message_raw_sloppy()
                    .to_string()
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            ),
            Err(_) => (String::new(), 0, String::new()),
        };
        let short = cid.to_string()[..10].to_string();
        if !commits.contains(&short) {
            commits.push(short.clone());
            data.push(
                json!({"commit": cid.to_string(), "author": who, "time": when, "summary": subject}),
            );
        }
        for (k, line) in lines.iter().enumerate() {
            let n = entry.start_in_blamed_file as usize + k + 1;
            let _ = writeln!(
                text,
                "{short} ({who} {}) {n:>5}  {}",
                day(when),
                String::from_utf8_lossy(line.as_ref()).trim_end()
            );
        }
    }
    Ok(ToolOutput {
        summary: format!("{path}:{start}-{end} from {} commits", commits.len()),
        text,
        evidence: commits
            .iter()
            .map(|c| Evidence {
                kind: EvidenceKind::Commit,
                reference: c.clone(),
                detail: format!("last changed {path}:{start}-{end}"),
                call: None,
            })
            .collect(),
        data: ToolData::Json(Value::Array(data)),
    })
}
