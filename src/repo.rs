//! Finding the repository and where its index lives.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The repository triage works on.
#[derive(Debug, Clone)]
pub struct RepoLocation {
    /// The work tree root (or the given directory when it is not a git repository).
    pub root: PathBuf,
    /// Whether a `.git` was found: history features are off without one.
    pub is_git: bool,
    /// Where the LanceDB index lives.
    pub index_dir: PathBuf,
}

impl RepoLocation {
    /// Resolve `--repo` (default: the current directory) to its repository root, and
    /// `--index-dir` (default: `<root>/.triage`).
    pub fn resolve(repo: Option<&Path>, index_dir: Option<&Path>) -> Result<Self> {
        let start = match repo {
            Some(p) => p.to_path_buf(),
            None => std::env::current_dir().context("cannot read the current directory")?,
        };
        let start = start
            .canonicalize()
            .with_context(|| format!("repository path {} does not exist", start.display()))?;
        if !start.is_dir() {
            anyhow::bail!("repository path {} is not a directory", start.display());
        }
        let (root, is_git) = match find_git_root(&start) {
            Some(root) => (root, true),
            None => (start, false),
        };
        let index_dir = match index_dir {
            Some(p) => p.to_path_buf(),
            None => root.join(".triage"),
        };
        // A repository could ship `.triage` as a link to somewhere else in the user's
        // home: triage never writes through one.
        if let Ok(meta) = std::fs::symlink_metadata(&index_dir)
            && meta.file_type().is_symlink()
        {
            let target = std::fs::read_link(&index_dir)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into());
            anyhow::bail!(
                "{} is a symbolic link (to {target}); triage does not write through links: remove it or pass --index-dir",
                index_dir.display()
            );
        }
        Ok(Self {
            root,
            is_git,
            index_dir,
        })
    }
}

/// The nearest ancestor (or self) holding a `.git` directory or file (worktrees,
/// submodules).
pub fn find_git_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}
