//! Where triage keeps the models it can fetch, and fetching them: the sentence model for
//! semantic search lives in `$XDG_CACHE_HOME/triage/models/all-MiniLM-L6-v2` (the folder
//! `scripts/setup` and `scripts/install` fill too), so a fetched model is found without
//! any configuration.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The sentence model triage uses when nothing else is configured.
pub const EMBED_MODEL_NAME: &str = "all-MiniLM-L6-v2";

/// Where `triage model fetch` downloads from by default.
pub const EMBED_MODEL_URL: &str =
    "https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main";

/// The files a local sentence model folder holds.
pub const EMBED_MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no cache folder for models: set XDG_CACHE_HOME or HOME, or pass --dir")]
    NoCacheDir,
    #[error("cannot download {url}: {message}")]
    Download { url: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a model file: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// `$XDG_CACHE_HOME/triage/models` (or the platform's cache folder).
pub fn models_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(dirs::cache_dir)
        .map(|d| d.join("triage").join("models"))
}

/// Where the default sentence model is looked for and fetched to.
pub fn embed_model_dir() -> Option<PathBuf> {
    models_dir().map(|d| d.join(EMBED_MODEL_NAME))
}

/// Whether `dir` holds every file of a sentence model.
pub fn is_complete(dir: &Path) -> bool {
    EMBED_MODEL_FILES.iter().all(|f| dir.join(f).is_file())
}

/// Where a model comes from: a base URL the file names are appended to, or a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Url(String),
    Folder(PathBuf),
}

impl Source {
    /// `http(s)://…` is a URL; anything else a folder.
    pub fn parse(text: &str) -> Source {
        if text.starts_with("http://") || text.starts_with("https://") {
            Source::Url(text.trim_end_matches('/').to_string())
        } else {
            Source::Folder(PathBuf::from(text))
        }
    }
}

/// Bring the model's files from `source` into `dest`. The files land in a sibling folder
/// first and replace `dest` only once all of them are complete, so an interrupted fetch
/// never leaves a half model where triage looks. `progress` hears each file and its size.
pub async fn fetch(
    source: &Source,
    dest: &Path,
    progress: &dyn Fn(&str, u64),
) -> Result<(), FetchError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FetchError::Io { path, source }
    };
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io(&partial))?;
    match source {
        Source::Folder(dir) => {
            for name in EMBED_MODEL_FILES {
                let (from, to) = (dir.join(name), partial.join(name));
                let n = std::fs::copy(&from, &to).map_err(io(&from))?;
                progress(name, n);
            }
        }
        Source::Url(base) => {
            crate::tls::ensure_crypto_provider();
            let http = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| FetchError::Download {
                    url: base.clone(),
                    message: e.to_string(),
                })?;
            for name in EMBED_MODEL_FILES {
                let url = format!("{base}/{name}");
                let n = download(&http, &url, &partial.join(name)).await?;
                progress(name, n);
            }
        }
    }
    check_config(&partial.join("config.json"))?;
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(io(dest))?;
    }
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::rename(&partial, dest).map_err(io(dest))
}

async fn download(http: &reqwest::Client, url: &str, to: &Path) -> Result<u64, FetchError> {
    use std::io::Write;
    let err = |message: String| FetchError::Download {
        url: url.to_string(),
        message,
    };
    let mut resp = http.get(url).send().await.map_err(|e| err(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(err(format!("HTTP {}", resp.status())));
    }
    let mut file = std::fs::File::create(to).map_err(|source| FetchError::Io {
        path: to.to_path_buf(),
        source,
    })?;
    let mut n = 0u64;
    while let Some(bytes) = resp.chunk().await.map_err(|e| err(e.to_string()))? {
        file.write_all(&bytes).map_err(|source| FetchError::Io {
            path: to.to_path_buf(),
            source,
        })?;
        n += bytes.len() as u64;
    }
    if n == 0 {
        return Err(err("empty file".into()));
    }
    Ok(n)
}

/// A model folder's config must be JSON naming a hidden size (BERT family).
fn check_config(path: &Path) -> Result<(), FetchError> {
    let text = std::fs::read(path).map_err(|source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let value: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| FetchError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if value.get("hidden_size").and_then(|v| v.as_u64()).is_none() {
        return Err(FetchError::Invalid {
            path: path.to_path_buf(),
            message: "no `hidden_size`: not a sentence model config".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_as_url_or_folder() {
        assert_eq!(
            Source::parse("https://example.test/m/"),
            Source::Url("https://example.test/m".into())
        );
        assert_eq!(
            Source::parse("/models/minilm"),
            Source::Folder("/models/minilm".into())
        );
    }

    #[tokio::test]
    async fn a_folder_without_a_model_leaves_the_destination_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let (src, dest) = (tmp.path().join("src"), tmp.path().join("dest"));
        std::fs::create_dir_all(&src).unwrap();
        std::fs::create_dir_all(&dest).unwrap();
        std::fs::write(dest.join("keep"), "x").unwrap();
        std::fs::write(src.join("config.json"), "{}").unwrap();
        let err = fetch(&Source::Folder(src.clone()), &dest, &|_, _| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("tokenizer.json"), "{err}");
        assert!(dest.join("keep").exists());
        for f in EMBED_MODEL_FILES {
            std::fs::write(src.join(f), "{}").unwrap();
        }
        let err = fetch(&Source::Folder(src), &dest, &|_, _| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains("hidden_size"), "{err}");
        assert!(dest.join("keep").exists());
    }
}
