//! A scenario's repository: a path to an existing one, or a `[repo]` table (files and
//! dated commits with authors and messages) that is built as a git repository at eval
//! time, so the history the agent reads is the one the scenario describes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path};
use std::process::Command;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// `repo = "path"` or a `[repo]` table.
#[derive(Debug, Clone)]
pub enum RepoSpec {
    Path(std::path::PathBuf),
    Described(RepoDescription),
}

impl<'de> Deserialize<'de> for RepoSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Spec;
        impl<'de> Visitor<'de> for Spec {
            type Value = RepoSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path to a repository, or a [repo] table with [[repo.commits]]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RepoSpec, E> {
                Ok(RepoSpec::Path(v.into()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RepoSpec, A::Error> {
                RepoDescription::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RepoSpec::Described)
            }
        }
        d.deserialize_any(Spec)
    }
}

/// A repository described commit by commit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoDescription {
    /// The branch the commits go on.
    #[serde(default = "main_branch")]
    pub branch: String,
    /// Oldest first; the first one holds the initial tree.
    pub commits: Vec<Commit>,
}

fn main_branch() -> String {
    "main".to_string()
}

/// One commit: the files it writes (whole contents) and the files it deletes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// Author and commit date (RFC 3339).
    pub date: DateTime<Utc>,
    /// `Name <email>`.
    pub author: String,
    pub message: String,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub delete: Vec<String>,
}

impl Commit {
    /// (name, email) of `Name <email>`.
    fn author_parts(&self) -> Option<(&str, &str)> {
        let (name, rest) = self.author.split_once('<')?;
        let email = rest.strip_suffix('>')?;
        let name = name.trim();
        (!name.is_empty() && email.contains('@')).then_some((name, email))
    }
}

impl RepoDescription {
    /// Check what building relies on; the message names the commit and the key.
    pub fn check(&self) -> Result<(), String> {
        if self.commits.is_empty() {
            return Err("commits: at least one [[repo.commits]] is needed".into());
        }
        for (i, c) in self.commits.iter().enumerate() {
            if c.author_parts().is_none() {
                return Err(format!(
                    "commits[{i}].author = {:?}: expected \"Name <email>\"",
                    c.author
                ));
            }
            if c.message.trim().is_empty() {
                return Err(format!("commits[{i}].message is empty"));
            }
            if c.files.is_empty() && c.delete.is_empty() {
                return Err(format!(
                    "commits[{i}] changes nothing (no files, no delete)"
                ));
            }
            for p in c.files.keys().chain(&c.delete) {
                if !is_plain_relative(p) {
                    return Err(format!(
                        "commits[{i}]: {p:?} must be a relative path inside the repository"
                    ));
                }
            }
            if i > 0 && c.date < self.commits[i - 1].date {
                return Err(format!(
                    "commits[{i}].date {} is before the commit above it ({})",
                    c.date,
                    self.commits[i - 1].date
                ));
            }
        }
        Ok(())
    }

    /// Build the repository at `root` (which must not exist yet or be empty).
    pub fn build(&self, root: &Path) -> Result<()> {
        std::fs::create_dir_all(root)
            .with_context(|| format!("cannot create {}", root.display()))?;
        git(root, &["init", "-q", "-b", self.branch.as_str()], None)?;
        for (i, c) in self.commits.iter().enumerate() {
            for (rel, text) in &c.files {
                let p = root.join(rel);
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                std::fs::write(&p, text)
                    .with_context(|| format!("cannot write {}", p.display()))?;
            }
            for rel in &c.delete {
                let p = root.join(rel);
                std::fs::remove_file(&p).with_context(|| {
                    format!("commits[{i}]: cannot delete {rel}: not in the repository")
                })?;
            }
            git(root, &["add", "-A"], None)?;
            git(
                root,
                &["commit", "-q", "--allow-empty", "-m", c.message.as_str()],
                Some(c),
            )
            .with_context(|| format!("commits[{i}] ({})", first_line(&c.message)))?;
        }
        Ok(())
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

fn is_plain_relative(p: &str) -> bool {
    let path = Path::new(p);
    !p.is_empty()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
        && path
            .components()
            .next()
            .is_some_and(|c| c.as_os_str() != ".git")
}

/// Run git in `root` with no user or system configuration; commits get the author and
/// date of `commit`.
fn git(root: &Path, args: &[&str], commit: Option<&Commit>) -> Result<()> {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(root)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some(c) = commit {
        let (name, email) = c
            .author_parts()
            .unwrap_or(("unknown", "unknown@example.com"));
        let date = c.date.to_rfc3339();
        for (k, v) in [
            ("GIT_AUTHOR_NAME", name),
            ("GIT_AUTHOR_EMAIL", email),
            ("GIT_COMMITTER_NAME", name),
            ("GIT_COMMITTER_EMAIL", email),
            ("GIT_AUTHOR_DATE", date.as_str()),
            ("GIT_COMMITTER_DATE", date.as_str()),
        ] {
            cmd.env(k, v);
        }
    }
    let out = cmd
        .output()
        .context("cannot run git (scenario repositories are built with it)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.first().copied().unwrap_or_default(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(date: &str, files: &[(&str, &str)]) -> Commit {
        Commit {
            date: date.parse().unwrap(),
            author: "Dana Ops <dana@example.com>".into(),
            message: "change".into(),
            files: files
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            delete: Vec::new(),
        }
    }

    #[test]
    fn bad_descriptions_name_the_commit_and_the_key() {
        let repo = |commits| RepoDescription {
            branch: main_branch(),
            commits,
        };
        assert!(repo(vec![]).check().unwrap_err().contains("commits"));
        let mut c = commit("2025-06-01T10:00:00Z", &[("a.txt", "a")]);
        c.author = "dana".into();
        assert!(
            repo(vec![c])
                .check()
                .unwrap_err()
                .contains("commits[0].author")
        );
        let c = commit("2025-06-01T10:00:00Z", &[("../escape", "x")]);
        assert!(repo(vec![c]).check().unwrap_err().contains("relative path"));
        let c = commit("2025-06-01T10:00:00Z", &[(".git/config", "x")]);
        assert!(repo(vec![c]).check().is_err());
        let late = commit("2025-06-02T10:00:00Z", &[("a.txt", "a")]);
        let early = commit("2025-06-01T10:00:00Z", &[("a.txt", "b")]);
        let e = repo(vec![late, early]).check().unwrap_err();
        assert!(e.contains("commits[1].date"), "{e}");
    }
}
