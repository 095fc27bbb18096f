//! The configuration types and where their files live.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::mcp::McpConfig;
use super::watch::WatchConfig;

/// Everything that can go wrong while loading configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config in {path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("invalid value for environment variable {var}={value:?}: {message}")]
    Env {
        var: String,
        value: String,
        message: String,
    },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub index: IndexConfig,
    pub embed: EmbedConfig,
    pub history: HistoryConfig,
    pub kube: KubeConfig,
    pub llm: LlmConfig,
    pub agent: AgentConfig,
    pub tui: TuiConfig,
    pub memory: MemoryConfig,
    pub watch: WatchConfig,
    /// MCP servers whose tools the agent may call (user config only).
    pub mcp: McpConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Extra globs (gitignore syntax, relative to the repo root) that are never indexed.
    pub exclude: Vec<String>,
    /// Skip the built-in vendored/generated globs (vendor/, node_modules/, *.min.js, …).
    pub include_vendored: bool,
    /// Chunks longer than this many lines are split, keeping their signature as a header.
    pub max_chunk_lines: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            max_file_size: 1024 * 1024,
            exclude: Vec::new(),
            include_vendored: false,
            max_chunk_lines: 120,
        }
    }
}

/// Where embeddings come from.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum EmbedProvider {
    /// A local model if one can be found, otherwise none.
    #[default]
    Auto,
    /// A local sentence model (candle) from a Hugging Face folder.
    Local,
    /// A static table distilled once from the local sentence model: a lookup per token
    /// instead of a forward pass per chunk.
    Static,
    /// An OpenAI-compatible `/embeddings` endpoint.
    Openai,
    /// No embeddings: search is lexical, structural and historical.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedConfig {
    pub provider: EmbedProvider,
    /// Folder with tokenizer.json, config.json and model.safetensors.
    pub model_dir: Option<PathBuf>,
    /// Base URL of an OpenAI-compatible API (default: `OPENAI_BASE_URL`).
    pub base_url: Option<String>,
    /// Model name for the `/embeddings` endpoint.
    pub model: String,
    /// Chunks per embedding batch; each batch is committed on its own.
    pub batch_size: usize,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        Self {
            provider: EmbedProvider::Auto,
            model_dir: None,
            base_url: None,
            model: "text-embedding-3-small".into(),
            batch_size: 16,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// Most commits to walk on first-parent history.
    pub max_commits: usize,
    /// Oldest commit to walk, in days.
    pub max_age_days: u32,
    /// Commits touching more files than this are kept but left out of co-change counts.
    pub max_files_per_commit: usize,
    /// Regexes with one capture group for the PR number, tried on the summary and body.
    pub pr_patterns: Vec<String>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            max_commits: 5000,
            max_age_days: 3 * 365,
            max_files_per_commit: 50,
            pr_patterns: default_pr_patterns(),
        }
    }
}

/// PR number patterns tried on the summary, then the body: GitHub merge commits,
/// squash merges `(#123)`, GitLab `See merge request group/proj!123`.
pub fn default_pr_patterns() -> Vec<String> {
    vec![
        r"Merge pull request #(\d+)".into(),
        r"\(#(\d+)\)\s*$".into(),
        r"See merge request [\w./-]*!(\d+)".into(),
    ]
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct KubeConfig {
    /// Kubeconfig context to use instead of the current one.
    pub context: Option<String>,
    /// Namespace to use instead of the context's.
    pub namespace: Option<String>,
    /// Per-request timeout in seconds.
    pub request_timeout_secs: u64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Lines of log tail per container.
    pub log_tail_lines: i64,
    /// Bytes of log tail per container.
    pub log_tail_bytes: i64,
}

impl Default for KubeConfig {
    fn default() -> Self {
        Self {
            context: None,
            namespace: None,
            request_timeout_secs: 10,
            concurrency: 8,
            log_tail_lines: 200,
            log_tail_bytes: 64 * 1024,
        }
    }
}

/// The model endpoint. With no `model` (and no `OPENAI_MODEL`), the offline planner runs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LlmConfig {
    /// Base URL of an OpenAI-compatible API (default: `OPENAI_BASE_URL`, then OpenAI).
    pub base_url: Option<String>,
    /// Environment variable holding the API key (the key itself never goes in a file).
    pub api_key_env: String,
    /// Reasoning model; unset means offline (also read from `OPENAI_MODEL`).
    pub model: Option<String>,
    /// Bulk-work model (questions, summaries); defaults to `model`.
    pub fast_model: Option<String>,
    pub connect_timeout_secs: u64,
    /// Longest wait for the next streamed chunk.
    pub read_timeout_secs: u64,
    /// Retries on 429, 5xx and connection errors (honouring `Retry-After`).
    pub max_retries: u32,
    /// Longest reply, in tokens: sent as `max_tokens`, and a reply that runs past it
    /// (a server that ignores it) is cut by triage.
    pub max_reply_tokens: u32,
    /// `triage issue --llm`: offline candidates the model reranks.
    pub rerank_candidates: usize,
    /// `triage issue --llm`: prompt budget in tokens (skeletons stop there).
    pub rerank_max_tokens: usize,
    /// `triage index --llm-questions`: definitions per request.
    pub questions_batch: usize,
    /// `triage index --llm-questions`: requests per run (the rest waits for the next).
    pub questions_max_requests: usize,
    /// `triage index --llm-questions`: prompt + completion tokens per run; no request is
    /// sent once they are spent.
    pub questions_max_tokens: u64,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            base_url: None,
            api_key_env: "OPENAI_API_KEY".into(),
            model: None,
            fast_model: None,
            connect_timeout_secs: 10,
            read_timeout_secs: 60,
            max_retries: 3,
            max_reply_tokens: 4096,
            rerank_candidates: 20,
            rerank_max_tokens: 6000,
            questions_batch: 20,
            questions_max_requests: 50,
            questions_max_tokens: 200_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Refuse to run write actions even when approved (the default).
    pub read_only: bool,
    /// Per-investigation budget: prompt + completion tokens.
    pub max_tokens: u64,
    pub max_tool_calls: u32,
    pub max_wall_secs: u64,
    /// Characters of one tool's output the model sees before it is cut.
    pub tool_output_chars: usize,
    pub tool_timeout_secs: u64,
    /// Extra regexes whose matches are redacted before anything reaches the model.
    pub redact_patterns: Vec<String>,
    /// Shell command prefixes treated as reads (e.g. `curl -s http://localhost`).
    pub shell_allowlist: Vec<String>,
    /// Keep tool and action output unredacted in session traces and the audit log
    /// (model requests are redacted regardless).
    pub keep_raw_output: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            read_only: true,
            max_tokens: 200_000,
            max_tool_calls: 40,
            max_wall_secs: 600,
            tool_output_chars: 6_000,
            tool_timeout_secs: 20,
            redact_patterns: Vec::new(),
            shell_allowlist: Vec::new(),
            keep_raw_output: false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TuiConfig {
    /// Bundled keymap (`default`, `vim`) or a file in the config dir's `keymaps/`.
    pub keymap: String,
    /// Bundled theme (`default`, `dark`, `light`, `high-contrast`) or one in `themes/`.
    pub theme: String,
}

impl Default for TuiConfig {
    fn default() -> Self {
        Self {
            keymap: "default".into(),
            theme: "default".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryConfig {
    /// Any LanceDB URI (a folder, `s3://bucket/prefix`); default: the per-user data dir.
    pub uri: Option<String>,
    /// Folder of Markdown runbooks in the repository, kept in sync as procedural memories.
    pub runbooks: String,
    /// Object-store settings for a remote `uri` (`aws_endpoint`, `aws_region`,
    /// `aws_allow_http`, …). Credentials are best left to the usual `AWS_*` variables,
    /// which are read too.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub storage_options: std::collections::BTreeMap<String, String>,
    /// Recall by meaning too, with the `[embed]` model, when one is configured.
    pub vectors: bool,
}

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            uri: None,
            runbooks: "docs/runbooks".into(),
            storage_options: Default::default(),
            vectors: true,
        }
    }
}

/// What the trust list says about one repository file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustState {
    Trusted,
    /// Never trusted.
    Untrusted,
    /// Trusted once, with other content: it changed since.
    Changed,
}

/// The files that were merged, in order, for display and for the config digest.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    pub config: Config,
    pub sources: Vec<PathBuf>,
    /// Where each dotted key that is not a default came from: a file or `$VARIABLE`.
    pub origins: BTreeMap<String, String>,
    /// Keys of an untrusted repository file that were ignored.
    pub ignored: Vec<String>,
    /// The repository file's trust, when there is one.
    pub repo_trust: Option<TrustState>,
    /// What the user should know about how the config was read (printed on stderr).
    pub warnings: Vec<String>,
}

/// The user's config file: `$TRIAGE_CONFIG`, else `$XDG_CONFIG_HOME/triage/config.toml`.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRIAGE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    config_dir().map(|d| d.join("config.toml"))
}

/// `$XDG_CONFIG_HOME/triage` (or the platform's equivalent).
pub fn config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(dirs::config_dir)
        .map(|d| d.join("triage"))
}

/// `$XDG_STATE_HOME/triage` (sessions, logs).
pub fn state_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(dirs::state_dir)
        .or_else(|| dirs::home_dir().map(|h| h.join(".local/state")))
        .map(|d| d.join("triage"))
}
