//! Embeddings behind one interface: a local sentence model through candle, any
//! OpenAI-compatible `/embeddings` endpoint, or none.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::config::{EmbedConfig, EmbedProvider};

pub use super::local_model::{EmbedderMeta, LocalModel, load_local, local_meta};

/// The embedder the config names, known without loading the model.
pub struct EmbedSpec {
    pub meta: EmbedderMeta,
    source: EmbedSource,
}

enum EmbedSource {
    Local(PathBuf),
    Static(PathBuf),
    OpenAi(EmbedConfig),
}

/// What the vectors are for, which decides what `provider = "auto"` means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The code index: thousands of chunks, and on the localization suites vectors did
    /// not improve the ranking, so `auto` embeds nothing (an explicit provider does).
    Code,
    /// Memories: a few hundred short texts, so `auto` uses a local model when found.
    Memories,
}

impl EmbedSpec {
    /// The configured embedder for `purpose`, `None` when there is none. `known` is the
    /// embedder an existing index recorded: an endpoint's vector size is asked once, then
    /// reused.
    pub async fn resolve(
        cfg: &EmbedConfig,
        known: Option<&EmbedderMeta>,
        purpose: Purpose,
    ) -> Result<Option<EmbedSpec>> {
        match cfg.provider {
            EmbedProvider::None => Ok(None),
            EmbedProvider::Auto if purpose == Purpose::Code => Ok(None),
            EmbedProvider::Openai => {
                let id = format!("openai:{}", cfg.model);
                let dim = match known.filter(|m| m.id == id) {
                    Some(m) => m.dim,
                    None => OpenAiEmbedder::connect(cfg, None).await?.dim,
                };
                Ok(Some(EmbedSpec {
                    meta: EmbedderMeta { id, dim },
                    source: EmbedSource::OpenAi(cfg.clone()),
                }))
            }
            EmbedProvider::Static => {
                let dir = find_model_dir(cfg).ok_or_else(|| Self::local_error(cfg))?;
                let meta = EmbedderMeta {
                    id: super::static_embed::static_id(&dir)?,
                    dim: local_meta(&dir)?.dim,
                };
                Ok(Some(EmbedSpec {
                    meta,
                    source: EmbedSource::Static(dir),
                }))
            }
            EmbedProvider::Local | EmbedProvider::Auto => {
                let Some(dir) = find_model_dir(cfg) else {
                    if cfg.provider == EmbedProvider::Local {
                        // Let the loader produce the detailed error.
                        return Err(Self::local_error(cfg));
                    }
                    return Ok(None);
                };
                let meta = local_meta(&dir)?;
                Ok(Some(EmbedSpec {
                    meta,
                    source: EmbedSource::Local(dir),
                }))
            }
        }
    }

    fn local_error(cfg: &EmbedConfig) -> anyhow::Error {
        anyhow::anyhow!(
            "embed.provider = \"{}\" but no model folder was found (looked in {}); set \
             TRIAGE_EMBED_MODEL or embed.model_dir to a folder with tokenizer.json, config.json \
             and model.safetensors",
            if cfg.provider == EmbedProvider::Static {
                "static"
            } else {
                "local"
            },
            candidate_dirs(cfg)
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    pub async fn load(&self) -> Result<Embedder> {
        match &self.source {
            EmbedSource::Local(dir) => {
                let dir = dir.clone();
                let model = tokio::task::spawn_blocking(move || load_local(&dir))
                    .await
                    .context("model loading failed")??;
                Ok(Embedder::Local(Arc::new(model)))
            }
            EmbedSource::Static(dir) => {
                let dir = dir.clone();
                let table = tokio::task::spawn_blocking(move || {
                    super::static_embed::StaticTable::load_or_distill(
                        &dir,
                        super::static_embed::cache_dir().as_deref(),
                    )
                })
                .await
                .context("embedding table loading failed")??;
                Ok(Embedder::Static(Arc::new(table)))
            }
            EmbedSource::OpenAi(cfg) => Ok(Embedder::OpenAi(Arc::new(
                OpenAiEmbedder::connect(cfg, Some(self.meta.dim)).await?,
            ))),
        }
    }
}

/// The embedding back end in use.
#[derive(Clone)]
pub enum Embedder {
    Local(Arc<LocalModel>),
    Static(Arc<super::static_embed::StaticTable>),
    OpenAi(Arc<OpenAiEmbedder>),
}

impl Embedder {
    pub fn id(&self) -> String {
        match self {
            Embedder::Local(m) => m.id.clone(),
            Embedder::Static(t) => t.id.clone(),
            Embedder::OpenAi(o) => format!("openai:{}", o.model),
        }
    }

    pub fn dim(&self) -> usize {
        match self {
            Embedder::Local(m) => m.dim,
            Embedder::Static(t) => t.dim,
            Embedder::OpenAi(o) => o.dim,
        }
    }

    /// Embed a batch; vectors are L2-normalised.
    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        match self {
            Embedder::Local(m) => {
                let m = m.clone();
                tokio::task::spawn_blocking(move || m.embed(&texts))
                    .await
                    .context("embedding task failed")?
            }
            Embedder::Static(t) => t.embed(&texts),
            Embedder::OpenAi(o) => o.embed(texts).await,
        }
    }

    /// Inputs per call: a table lookup is cheap, so it takes many more than a model.
    pub fn batch_size(&self, configured: usize) -> usize {
        match self {
            Embedder::Static(_) => configured.max(512),
            _ => configured,
        }
    }
}

/// Where a local model may be: the configured folder (also set by `TRIAGE_EMBED_MODEL`),
/// then triage's model cache (`triage model fetch`), then the Hugging Face cache for
/// sentence-transformers/all-MiniLM-L6-v2.
pub fn candidate_dirs(cfg: &EmbedConfig) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(d) = &cfg.model_dir {
        out.push(d.clone());
        return out;
    }
    out.extend(super::models::embed_model_dir());
    let hub = std::env::var_os("HF_HUB_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HF_HOME").map(|h| PathBuf::from(h).join("hub")))
        .or_else(|| dirs::home_dir().map(|h| h.join(".cache/huggingface/hub")));
    if let Some(hub) = hub {
        let snapshots = hub.join("models--sentence-transformers--all-MiniLM-L6-v2/snapshots");
        if let Ok(entries) = std::fs::read_dir(&snapshots) {
            out.extend(entries.flatten().map(|e| e.path()));
        } else {
            out.push(snapshots);
        }
    }
    out
}

/// The first candidate folder that holds a complete model.
pub fn find_model_dir(cfg: &EmbedConfig) -> Option<PathBuf> {
    candidate_dirs(cfg).into_iter().find(|d| {
        ["tokenizer.json", "config.json", "model.safetensors"]
            .iter()
            .all(|f| d.join(f).is_file())
    })
}

/// An OpenAI-compatible `/embeddings` endpoint. Text leaves the machine here, so it is
/// redacted first, like every model request.
pub struct OpenAiEmbedder {
    client: async_openai::Client<async_openai::config::OpenAIConfig>,
    redactor: crate::llm::redact::Redactor,
    pub model: String,
    pub dim: usize,
}

impl OpenAiEmbedder {
    /// `dim`: the vector size when already known; otherwise one small request asks.
    pub async fn connect(cfg: &EmbedConfig, dim: Option<usize>) -> Result<Self> {
        let base = cfg
            .base_url
            .clone()
            .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
            .unwrap_or_else(|| "https://api.openai.com/v1".into());
        let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();
        let config = async_openai::config::OpenAIConfig::new()
            .with_api_base(base.clone())
            .with_api_key(key);
        // Bounded waits: a stuck endpoint fails the batch instead of hanging the run.
        crate::tls::ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .context("cannot build the HTTP client")?;
        let redactor =
            crate::llm::redact::Redactor::from_env(&crate::config::AgentConfig::default())?;
        let mut me = Self {
            client: async_openai::Client::with_config(config).with_http_client(http),
            redactor,
            model: cfg.model.clone(),
            dim: 0,
        };
        if let Some(dim) = dim.filter(|d| *d > 0) {
            me.dim = dim;
            return Ok(me);
        }
        // One small request tells the vector size (and that the endpoint answers).
        let probe = me
            .embed(vec!["dimension probe".into()])
            .await
            .with_context(|| {
                format!(
                    "embedding endpoint {base} (model {}) did not answer",
                    cfg.model
                )
            })?;
        me.dim = probe.first().map(Vec::len).unwrap_or(0);
        anyhow::ensure!(
            me.dim > 0,
            "embedding endpoint {base} returned an empty vector"
        );
        Ok(me)
    }

    pub async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
        use async_openai::types::embeddings::CreateEmbeddingRequestArgs;
        let n = texts.len();
        let texts: Vec<String> = texts.iter().map(|t| self.redactor.redact(t).text).collect();
        let req = CreateEmbeddingRequestArgs::default()
            .model(self.model.clone())
            .input(texts)
            .build()?;
        // Servers differ in what they fill in (Ollama and llama.cpp omit `usage`), so
        // only the fields used here are required.
        let resp: LenientEmbeddings = self.client.embeddings().create_byot(&req).await?;
        let mut data = resp.data;
        data.sort_by_key(|d| d.index.unwrap_or(u32::MAX));
        anyhow::ensure!(
            data.len() == n,
            "embedding endpoint returned {} vectors for {n} inputs",
            data.len()
        );
        Ok(data
            .into_iter()
            .map(|d| {
                let norm = d
                    .embedding
                    .iter()
                    .map(|x| x * x)
                    .sum::<f32>()
                    .sqrt()
                    .max(1e-12);
                d.embedding.into_iter().map(|x| x / norm).collect()
            })
            .collect())
    }
}

#[derive(serde::Deserialize)]
struct LenientEmbeddings {
    data: Vec<LenientEmbedding>,
}

#[derive(serde::Deserialize)]
struct LenientEmbedding {
    #[serde(default)]
    index: Option<u32>,
    embedding: Vec<f32>,
}

/// The text embedded for a chunk: where it is and what it defines, then its code.
pub fn embed_text(path: &str, symbol: Option<&str>, text: &str) -> String {
    let mut s = String::with_capacity(text.len().min(2000) + 64);
    s.push_str(path);
    if let Some(sym) = symbol {
        s.push(' ');
        s.push_str(sym);
    }
    s.push('\n');
    // The tokenizer truncates anyway; cutting here saves tokenizing long chunks.
    let mut cut = text.len().min(2000);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    s.push_str(&text[..cut]);
    s
}
