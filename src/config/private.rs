//! Files that may hold secrets at rest (session traces, the audit log, snapshots, the
//! trust list, memories): directories are created `0700` and files `0600`, and a path
//! whose last component is a symbolic link is refused, so a repository cannot point
//! triage's writes somewhere else.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A private file or directory that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PrivateError {
    #[error(
        "{path} is a symbolic link (to {target}); triage does not write through links: remove it or point triage at a real directory"
    )]
    Symlink { path: PathBuf, target: String },
    #[error("{path} exists and is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Refuse `path` when it is a symbolic link (a missing path is fine).
pub fn refuse_symlink(path: &Path) -> Result<(), PrivateError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(PrivateError::Symlink {
            path: path.to_path_buf(),
            target: std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_else(|_| "?".into()),
        }),
        _ => Ok(()),
    }
}

/// Create `dir` (and missing parents) and make it `0700`. The directory itself must not
/// be a symbolic link.
pub fn create_dir(dir: &Path) -> Result<(), PrivateError> {
    refuse_symlink(dir)?;
    if dir.exists() && !dir.is_dir() {
        return Err(PrivateError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| PrivateError::Create {
        path: dir.to_path_buf(),
        source,
    })?;
    set_mode(dir, 0o700).map_err(|source| PrivateError::Create {
        path: dir.to_path_buf(),
        source,
    })
}

/// Create the directory `path` goes in when it is missing (`0700`); an existing one is
/// left as it is (it may be the user's own, like the current directory).
fn ensure_parent(path: &Path) -> Result<&Path, PrivateError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    refuse_symlink(dir)?;
    if !dir.exists() {
        create_dir(dir)?;
    }
    Ok(dir)
}

/// Open `path` for appending, creating it `0600` (and its directory `0700` when
/// missing).
pub fn open_append(path: &Path) -> Result<File, PrivateError> {
    ensure_parent(path)?;
    refuse_symlink(path)?;
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(path).map_err(|source| PrivateError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    // A file made before this version (or by a wider umask) is tightened too.
    set_mode(path, 0o600).map_err(|source| PrivateError::Create {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file)
}

/// Write `bytes` to `path` as a `0600` file (its directory made `0700` when missing),
/// replacing it whole: the text goes to a temporary file beside it first, so a crash
/// leaves the old file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), PrivateError> {
    let dir = ensure_parent(path)?;
    refuse_symlink(path)?;
    let err = |source| PrivateError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    // NamedTempFile is created 0600 already; the rename keeps that mode.
    tmp.write_all(bytes).map_err(err)?;
    tmp.flush().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Make an existing directory tree private: the directory `0700`, files in it `0600`.
/// Used for stores whose files another library writes (LanceDB).
pub fn tighten_tree(dir: &Path) -> Result<(), PrivateError> {
    create_dir(dir)?;
    let entries = std::fs::read_dir(dir).map_err(|source| PrivateError::Create {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let Ok(meta) = std::fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if meta.is_dir() {
            tighten_tree(&entry.path())?;
        } else if meta.is_file() {
            let _ = set_mode(&entry.path(), 0o600);
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn files_are_0600_in_0700_directories() {
        let root = tempfile::tempdir().unwrap();
        let log = root.path().join("state/triage/audit.jsonl");
        let mut f = open_append(&log).unwrap();
        f.write_all(b"x\n").unwrap();
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(log.parent().unwrap()), 0o700);

        let snap = root.path().join("snaps/one.json");
        write(&snap, b"{}").unwrap();
        write(&snap, b"{\"a\":1}").unwrap();
        assert_eq!(mode(&snap), 0o600);
        assert_eq!(std::fs::read_to_string(&snap).unwrap(), "{\"a\":1}");

        // A file made earlier with a wide mode is tightened when opened again.
        let wide = root.path().join("wide.jsonl");
        std::fs::write(&wide, "").unwrap();
        std::fs::set_permissions(&wide, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_append(&wide).unwrap();
        assert_eq!(mode(&wide), 0o600);
    }

    #[test]
    fn symbolic_links_are_refused_with_their_target() {
        let root = tempfile::tempdir().unwrap();
        let elsewhere = root.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let link = root.path().join(".triage");
        std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
        let err = create_dir(&link).unwrap_err().to_string();
        assert!(
            err.contains(".triage") && err.contains("elsewhere"),
            "{err}"
        );
        let err = open_append(&link.join("x")).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let file_link = root.path().join("audit.jsonl");
        std::os::unix::fs::symlink(elsewhere.join("f"), &file_link).unwrap();
        assert!(open_append(&file_link).is_err());
        assert!(write(&file_link, b"x").is_err());
        assert!(!elsewhere.join("f").exists());
    }
}
