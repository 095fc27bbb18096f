//! Configuration: defaults ← `config.toml` in the XDG config dir ← `.triage.toml` at the
//! repo root ← `TRIAGE_*` environment variables. Every layer is validated on its own so
//! that an error names the file (or variable), the key and what would be valid.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod mcp;
pub mod watch;
pub use mcp::{McpConfig, McpServerConfig};
pub use watch::WatchConfig;

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

/// The files that were merged, in order, for display and for the config digest.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    pub config: Config,
    pub sources: Vec<PathBuf>,
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

/// Load and merge every layer. `explicit` replaces the user config file when given.
pub fn load(
    explicit: Option<&Path>,
    repo_root: Option<&Path>,
) -> Result<LoadedConfig, ConfigError> {
    let mut merged = toml::Table::new();
    let mut sources = Vec::new();
    let user = explicit.map(Path::to_path_buf).or_else(user_config_path);
    if let Some(path) = user {
        // An explicitly named file must exist; the default location may be absent.
        if explicit.is_some() || path.exists() {
            merge_file(&mut merged, &path)?;
            sources.push(path);
        }
    }
    if let Some(root) = repo_root {
        let path = root.join(".triage.toml");
        if path.exists() {
            let mut layer = read_layer(&path)?;
            mcp::strip_untrusted(&mut layer, &path);
            deep_merge(&mut merged, layer);
            sources.push(path);
        }
    }
    apply_env(&mut merged, with_openai_aliases(std::env::vars()))?;
    let config =
        Config::deserialize(toml::Value::Table(merged)).map_err(|e| ConfigError::Invalid {
            path: sources
                .last()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("<environment>")),
            message: e.to_string(),
        })?;
    config
        .mcp
        .validate()
        .map_err(|message| ConfigError::Invalid {
            path: sources
                .first()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("<environment>")),
            message,
        })?;
    Ok(LoadedConfig { config, sources })
}

fn merge_file(into: &mut toml::Table, path: &Path) -> Result<(), ConfigError> {
    deep_merge(into, read_layer(path)?);
    Ok(())
}

fn read_layer(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_layer(&text).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    })
}

/// Parse one layer and check it on its own, so errors point at this layer's text.
pub fn parse_layer(text: &str) -> Result<toml::Table, String> {
    // Deserializing into `Config` from text gives messages with line, column and the
    // valid field names for unknown keys.
    toml::from_str::<Config>(text).map_err(|e| e.to_string().trim_end().to_string())?;
    text.parse::<toml::Table>().map_err(|e| e.to_string())
}

fn deep_merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(dst)), toml::Value::Table(src)) => deep_merge(dst, src),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// `OPENAI_MODEL` and `OPENAI_BASE_URL` are environment too, so they beat the files'
/// `[llm] model` and `base_url`; `TRIAGE_LLM_MODEL` and `TRIAGE_LLM_BASE_URL` beat them.
fn with_openai_aliases(
    vars: impl Iterator<Item = (String, String)>,
) -> impl Iterator<Item = (String, String)> {
    let mut vars: Vec<(String, String)> = vars.collect();
    let aliases: Vec<(String, String)> = vars
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .filter_map(|(k, v)| match k.as_str() {
            "OPENAI_MODEL" => Some(("TRIAGE_LLM_MODEL".to_string(), v.clone())),
            "OPENAI_BASE_URL" => Some(("TRIAGE_LLM_BASE_URL".to_string(), v.clone())),
            _ => None,
        })
        .collect();
    vars.retain(|(k, _)| k != "OPENAI_MODEL" && k != "OPENAI_BASE_URL");
    aliases.into_iter().chain(vars)
}

/// Environment overrides: `TRIAGE_<SECTION>_<KEY>`, e.g. `TRIAGE_INDEX_MAX_FILE_SIZE=2000000`
/// or `TRIAGE_EMBED_PROVIDER=none`. `TRIAGE_EMBED_MODEL` is a shorthand for
/// `embed.model_dir`. Unknown `TRIAGE_*` variables that look like config keys are errors.
fn apply_env(
    into: &mut toml::Table,
    vars: impl Iterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let defaults = toml::Table::try_from(Config::default()).unwrap_or_default();
    for (var, value) in vars {
        let Some(rest) = var.strip_prefix("TRIAGE_") else {
            continue;
        };
        let (section, key) = if rest == "EMBED_MODEL" {
            ("embed".to_string(), "model_dir".to_string())
        } else {
            let lower = rest.to_ascii_lowercase();
            let Some((section, key)) = lower.split_once('_') else {
                continue;
            };
            // Only sections that exist are config; other TRIAGE_* variables (TRIAGE_CONFIG,
            // TRIAGE_LOG) belong to other parts of the program.
            if !matches!(
                section,
                "index"
                    | "embed"
                    | "history"
                    | "kube"
                    | "llm"
                    | "agent"
                    | "tui"
                    | "memory"
                    | "watch"
            ) {
                continue;
            }
            (section.to_string(), key.to_string())
        };
        let template = defaults
            .get(&section)
            .and_then(|s| s.as_table())
            .and_then(|t| t.get(&key));
        let parsed = parse_env_value(&section, &key, &value, template).map_err(|message| {
            ConfigError::Env {
                var: var.clone(),
                value: value.clone(),
                message,
            }
        })?;
        let table = into
            .entry(section)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if let toml::Value::Table(t) = table {
            t.insert(key, parsed);
        }
    }
    Ok(())
}

fn parse_env_value(
    section: &str,
    key: &str,
    value: &str,
    template: Option<&toml::Value>,
) -> Result<toml::Value, String> {
    let v = match template {
        Some(toml::Value::Integer(_)) => value
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| format!("`{section}.{key}` takes a whole number"))?,
        Some(toml::Value::Boolean(_)) => match value.trim() {
            "1" | "true" | "yes" => toml::Value::Boolean(true),
            "0" | "false" | "no" => toml::Value::Boolean(false),
            _ => return Err(format!("`{section}.{key}` takes true or false")),
        },
        Some(toml::Value::Array(_)) => toml::Value::Array(
            value
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| toml::Value::String(s.trim().to_string()))
                .collect(),
        ),
        _ => toml::Value::String(value.to_string()),
    };
    // Check the single value in context so a bad enum value is reported here.
    let mut section_table = toml::Table::new();
    section_table.insert(key.to_string(), v.clone());
    let mut root = toml::Table::new();
    root.insert(section.to_string(), toml::Value::Table(section_table));
    Config::deserialize(toml::Value::Table(root)).map_err(|e| e.to_string())?;
    Ok(v)
}

#[cfg(test)]
mod tests;
