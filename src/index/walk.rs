//! Walking the work tree: `.gitignore`/`.ignore` and hidden-file rules, vendored and
//! generated globs, size limits; every skipped file is counted by reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};
use serde::Serialize;

use super::lang::Lang;
use crate::config::IndexConfig;

/// Vendored and generated files: never worth indexing.
pub const VENDORED_GLOBS: &[&str] = &[
    "vendor/",
    "third_party/",
    "node_modules/",
    "bower_components/",
    "dist/",
    "target/",
    "__pycache__/",
    ".venv/",
    "venv/",
    "*.min.js",
    "*.min.css",
    "*.map",
    "*.pb.go",
    "*_pb2.py",
    "*_pb2_grpc.py",
    "*.generated.*",
    "*.lock",
    "package-lock.json",
    "pnpm-lock.yaml",
    "go.sum",
];

/// Why a file was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    TooLarge,
    Binary,
    Unreadable,
    NonUtf8Path,
    Symlink,
    UnknownType,
    WalkError,
}

/// A file the walk kept, before its content is read.
#[derive(Debug, Clone)]
pub struct WalkedFile {
    /// Path relative to the repo root, with `/` separators.
    pub rel: String,
    pub abs: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub lang: Lang,
}

#[derive(Debug, Default)]
pub struct WalkResult {
    pub files: Vec<WalkedFile>,
    pub skipped: BTreeMap<SkipReason, usize>,
    /// A few examples per reason, for the summary and for error messages.
    pub skipped_examples: BTreeMap<SkipReason, Vec<String>>,
}

impl WalkResult {
    fn skip(&mut self, reason: SkipReason, what: String) {
        *self.skipped.entry(reason).or_default() += 1;
        let ex = self.skipped_examples.entry(reason).or_default();
        if ex.len() < 5 {
            ex.push(what);
        }
    }
}

/// Walk `root` in parallel. `index_dir` is always excluded.
pub fn walk(root: &Path, index_dir: &Path, config: &IndexConfig) -> anyhow::Result<WalkResult> {
    let mut overrides = OverrideBuilder::new(root);
    let mut globs: Vec<String> = Vec::new();
    if !config.include_vendored {
        globs.extend(VENDORED_GLOBS.iter().map(|g| g.to_string()));
    }
    globs.extend(config.exclude.iter().cloned());
    for g in &globs {
        overrides
            .add(&format!("!{g}"))
            .map_err(|e| anyhow::anyhow!("invalid exclude glob {g:?} in [index] exclude: {e}"))?;
    }
    let overrides = overrides.build()?;
    let index_dir = index_dir.to_path_buf();
    let result = Mutex::new(WalkResult::default());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    WalkBuilder::new(root)
        .overrides(overrides)
        .require_git(false)
        .follow_links(false)
        .threads(threads)
        .filter_entry(move |e| e.path() != index_dir && e.file_name() != ".git")
        .build_parallel()
        .run(|| {
            let result = &result;
            let max = config.max_file_size;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    Err(err) => {
                        if let Ok(mut r) = result.lock() {
                            r.skip(SkipReason::WalkError, err.to_string());
                        }
                        return WalkState::Continue;
                    }
                };
                let Some(ft) = entry.file_type() else {
                    return WalkState::Continue;
                };
                if ft.is_dir() {
                    return WalkState::Continue;
                }
                let outcome = classify(root, entry.path(), ft.is_symlink(), max);
                if let Ok(mut r) = result.lock() {
                    match outcome {
                        Ok(f) => r.files.push(f),
                        Err((reason, what)) => r.skip(reason, what),
                    }
                }
                WalkState::Continue
            })
        });
    let mut result = result
        .into_inner()
        .map_err(|_| anyhow::anyhow!("walker thread panicked"))?;
    result.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(result)
}

fn classify(
    root: &Path,
    path: &Path,
    is_symlink: bool,
    max_size: u64,
) -> Result<WalkedFile, (SkipReason, String)> {
    let shown = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned();
    if is_symlink {
        return Err((SkipReason::Symlink, shown));
    }
    let Some(rel) = path.strip_prefix(root).ok().and_then(|p| p.to_str()) else {
        return Err((SkipReason::NonUtf8Path, shown));
    };
    let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
    let Some(lang) = Lang::detect(path) else {
        return Err((SkipReason::UnknownType, shown));
    };
    let meta =
        std::fs::metadata(path).map_err(|e| (SkipReason::Unreadable, format!("{shown}: {e}")))?;
    if meta.len() > max_size {
        return Err((
            SkipReason::TooLarge,
            format!("{shown} ({} bytes > {max_size})", meta.len()),
        ));
    }
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    Ok(WalkedFile {
        rel,
        abs: path.to_path_buf(),
        size: meta.len(),
        mtime_ns,
        lang,
    })
}

/// The content of a walked file, or why it cannot be indexed.
pub enum FileContent {
    Text { text: String, lossy: bool },
    Skip(SkipReason, String),
}

/// Read a file: binary content (a NUL byte in the first 8 KiB) is skipped; invalid UTF-8
/// is decoded lossily and counted.
pub fn read_content(file: &WalkedFile) -> (FileContent, Option<Vec<u8>>) {
    let bytes = match std::fs::read(&file.abs) {
        Ok(b) => b,
        Err(e) => {
            return (
                FileContent::Skip(SkipReason::Unreadable, format!("{}: {e}", file.rel)),
                None,
            );
        }
    };
    let head = &bytes[..bytes.len().min(8192)];
    if head.contains(&0) {
        return (
            FileContent::Skip(SkipReason::Binary, file.rel.clone()),
            Some(bytes),
        );
    }
    let content = match std::str::from_utf8(&bytes) {
        Ok(s) => FileContent::Text {
            text: s.to_string(),
            lossy: false,
        },
        Err(_) => FileContent::Text {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            lossy: true,
        },
    };
    (content, Some(bytes))
}
