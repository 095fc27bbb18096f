//! Reading the layers and merging them, with where each key came from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::trust;
use super::types::{Config, ConfigError, LoadedConfig, user_config_path};

/// Load and merge every layer. `explicit` replaces the user config file when given.
/// Warnings (an untrusted repository file and the keys it could not set) go to stderr
/// and stay in [`LoadedConfig::warnings`].
pub fn load(
    explicit: Option<&Path>,
    repo_root: Option<&Path>,
) -> Result<LoadedConfig, ConfigError> {
    let mut merged = toml::Table::new();
    let mut loaded = LoadedConfig::default();
    let user = explicit.map(Path::to_path_buf).or_else(user_config_path);
    if let Some(path) = user {
        // An explicitly named file must exist; the default location may be absent.
        if explicit.is_some() || path.exists() {
            let layer = read_layer(&path)?.1;
            note_origins(&mut loaded.origins, &layer, &path.display().to_string());
            deep_merge(&mut merged, layer);
            loaded.sources.push(path);
        }
    }
    if let Some(root) = repo_root {
        let path = root.join(".triage.toml");
        if path.exists() {
            repo_layer(&mut merged, &mut loaded, root, &path)?;
        }
    }
    apply_env(
        &mut merged,
        with_openai_aliases(std::env::vars()),
        &mut loaded.origins,
    )?;
    loaded.config =
        Config::deserialize(toml::Value::Table(merged)).map_err(|e| ConfigError::Invalid {
            path: loaded
                .sources
                .last()
                .cloned()
                .unwrap_or_else(|| PathBuf::from("<environment>")),
            message: e.to_string(),
        })?;
    loaded
        .config
        .mcp
        .validate()
        .map_err(|message| ConfigError::Invalid {
            // The layer that set the servers (the user's file, or a trusted repository's).
            path: loaded
                .origins
                .get("mcp.servers")
                .map(PathBuf::from)
                .or_else(|| loaded.sources.first().cloned())
                .unwrap_or_else(|| PathBuf::from("<environment>")),
            message,
        })?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Ok(loaded)
}

fn read_layer(path: &Path) -> Result<(String, toml::Table), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table = parse_layer(&text).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    Ok((text, table))
}

/// The repository's `.triage.toml`: all of it when trusted, its facts otherwise.
fn repo_layer(
    merged: &mut toml::Table,
    loaded: &mut LoadedConfig,
    root: &Path,
    path: &Path,
) -> Result<(), ConfigError> {
    let (text, layer) = read_layer(path)?;
    if let Some(dir) = layer
        .get("memory")
        .and_then(|m| m.get("runbooks"))
        .and_then(toml::Value::as_str)
    {
        trust::check_runbooks_path(dir).map_err(|message| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
    }
    let state = match trust::TrustList::load_default() {
        Ok(list) => list.state(root, &text),
        Err(e) => {
            loaded
                .warnings
                .push(format!("{e}; {} is treated as untrusted", path.display()));
            trust::TrustState::Untrusted
        }
    };
    let (mut layer, gated) = match state {
        trust::TrustState::Trusted => (layer, Vec::new()),
        _ => trust::split(layer),
    };
    append_redact_patterns(merged, &mut layer);
    note_origins(&mut loaded.origins, &layer, &path.display().to_string());
    deep_merge(merged, layer);
    if !gated.is_empty() {
        let keys: Vec<String> = gated.into_iter().map(|(k, _)| k).collect();
        let why = if state == trust::TrustState::Changed {
            "changed since you trusted it"
        } else {
            "not trusted"
        };
        loaded.warnings.push(format!(
            "{} is {why}: ignoring {} (only index, history, memory.runbooks and agent.redact_patterns apply); run `triage trust` in {} to use them",
            path.display(),
            keys.join(", "),
            root.display()
        ));
        loaded.ignored = keys;
    }
    loaded.repo_trust = Some(state);
    loaded.sources.push(path.to_path_buf());
    Ok(())
}

/// A repository adds redaction patterns to the user's; it never replaces them.
fn append_redact_patterns(merged: &toml::Table, layer: &mut toml::Table) {
    let earlier = merged
        .get("agent")
        .and_then(|a| a.get("redact_patterns"))
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(toml::Value::Array(patterns)) = layer
        .get_mut("agent")
        .and_then(|a| a.as_table_mut())
        .and_then(|a| a.get_mut("redact_patterns"))
    {
        let mut all = earlier;
        for p in patterns.drain(..) {
            if !all.contains(&p) {
                all.push(p);
            }
        }
        *patterns = all;
    }
}

/// Record `source` as the origin of every `section.key` in a layer.
fn note_origins(origins: &mut BTreeMap<String, String>, layer: &toml::Table, source: &str) {
    for (section, value) in layer {
        match value {
            toml::Value::Table(keys) => {
                for key in keys.keys() {
                    origins.insert(format!("{section}.{key}"), source.to_string());
                }
            }
            _ => {
                origins.insert(section.clone(), source.to_string());
            }
        }
    }
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
    origins: &mut BTreeMap<String, String>,
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
        origins.insert(format!("{section}.{key}"), format!("${var}"));
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
mod tests {
    use super::*;

    #[test]
    fn openai_variables_beat_files_and_triage_variables_beat_them() {
        let mut origins = BTreeMap::new();
        let mut t = parse_layer("[llm]\nmodel = \"from-file\"\n").unwrap();
        let vars = [("OPENAI_MODEL".to_string(), "from-env".to_string())];
        apply_env(&mut t, with_openai_aliases(vars.into_iter()), &mut origins).unwrap();
        let c = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(c.llm.model.as_deref(), Some("from-env"));

        let mut t = toml::Table::new();
        let vars = [
            ("TRIAGE_LLM_MODEL".to_string(), "triage".to_string()),
            ("OPENAI_MODEL".to_string(), "openai".to_string()),
        ];
        apply_env(&mut t, with_openai_aliases(vars.into_iter()), &mut origins).unwrap();
        let c = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(c.llm.model.as_deref(), Some("triage"));
    }

    #[test]
    fn unknown_key_names_key_and_valid_fields() {
        let err = parse_layer("[index]\nmax_file_sise = 3\n").unwrap_err();
        assert!(err.contains("max_file_sise"), "{err}");
        assert!(err.contains("max_file_size"), "{err}");
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn bad_enum_value_lists_choices() {
        let err = parse_layer("[embed]\nprovider = \"gpu\"\n").unwrap_err();
        assert!(err.contains("gpu") && err.contains("openai"), "{err}");
    }

    #[test]
    fn layers_merge_key_by_key() {
        let mut t = parse_layer("[index]\nmax_file_size = 10\nexclude = [\"a\"]\n").unwrap();
        deep_merge(&mut t, parse_layer("[index]\nexclude = [\"b\"]\n").unwrap());
        let c = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(c.index.max_file_size, 10);
        assert_eq!(c.index.exclude, vec!["b".to_string()]);
    }

    #[test]
    fn env_overrides_and_rejects_bad_values() {
        let mut t = toml::Table::new();
        let mut origins = BTreeMap::new();
        apply_env(
            &mut t,
            [
                ("TRIAGE_INDEX_MAX_FILE_SIZE".to_string(), "42".to_string()),
                ("TRIAGE_EMBED_MODEL".to_string(), "/m".to_string()),
                ("TRIAGE_LOG".to_string(), "debug".to_string()),
            ]
            .into_iter(),
            &mut origins,
        )
        .unwrap();
        assert_eq!(
            origins.get("index.max_file_size").map(String::as_str),
            Some("$TRIAGE_INDEX_MAX_FILE_SIZE")
        );
        let c = Config::deserialize(toml::Value::Table(t)).unwrap();
        assert_eq!(c.index.max_file_size, 42);
        assert_eq!(c.embed.model_dir, Some(PathBuf::from("/m")));

        let err = apply_env(
            &mut toml::Table::new(),
            [("TRIAGE_EMBED_PROVIDER".to_string(), "gpu".to_string())].into_iter(),
            &mut origins,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("TRIAGE_EMBED_PROVIDER") && err.contains("gpu"),
            "{err}"
        );
        let err = apply_env(
            &mut toml::Table::new(),
            [("TRIAGE_INDEX_MAX_FILE_SIZE".to_string(), "big".to_string())].into_iter(),
            &mut origins,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("whole number"), "{err}");
        let err = apply_env(
            &mut toml::Table::new(),
            [("TRIAGE_INDEX_MAX_FILE_SISE".to_string(), "1".to_string())].into_iter(),
            &mut origins,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("max_file_sise"), "{err}");
    }
}
