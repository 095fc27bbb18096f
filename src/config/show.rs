//! `triage config`: the effective configuration, key by key, with where each value came
//! from, and what an untrusted repository file tried to set.

use std::fmt::Write as _;

use super::types::{LoadedConfig, TrustState};

/// Keys whose values may be credentials: shown as set or not, never printed.
fn hidden(key: &str) -> bool {
    key.starts_with("memory.storage_options")
}

/// The report `triage config` prints.
pub fn describe(loaded: &LoadedConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "layers (later wins): defaults");
    for s in &loaded.sources {
        let _ = writeln!(out, "  {}", s.display());
    }
    let env: Vec<&String> = loaded
        .origins
        .values()
        .filter(|o| o.starts_with('$'))
        .collect();
    if !env.is_empty() {
        let _ = writeln!(out, "  environment ({} variables)", env.len());
    }
    match &loaded.repo_trust {
        Some(TrustState::Trusted) => {
            let _ = writeln!(out, "repository file: trusted");
        }
        Some(state) => {
            let why = if *state == TrustState::Changed {
                "changed since it was trusted"
            } else {
                "not trusted"
            };
            let _ = writeln!(
                out,
                "repository file: {why}; only repository facts apply (`triage trust` to change that)"
            );
        }
        None => {}
    }
    let table = toml::Table::try_from(&loaded.config).unwrap_or_default();
    let _ = writeln!(out);
    for (section, keys) in &table {
        let Some(keys) = keys.as_table() else {
            continue;
        };
        for (key, value) in keys {
            let dotted = format!("{section}.{key}");
            let shown = if hidden(&dotted) {
                format!(
                    "({} keys, values hidden)",
                    value.as_table().map_or(0, |t| t.len())
                )
            } else {
                value.to_string()
            };
            let origin = loaded
                .origins
                .get(&dotted)
                .map(String::as_str)
                .unwrap_or("default");
            let _ = writeln!(out, "{dotted} = {shown}    # {origin}");
        }
    }
    if !loaded.ignored.is_empty() {
        let _ = writeln!(
            out,
            "\nignored from the untrusted repository file: {}",
            loaded.ignored.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_names_its_origin_and_secrets_stay_hidden() {
        let mut loaded = LoadedConfig::default();
        loaded
            .config
            .memory
            .storage_options
            .insert("aws_secret_access_key".into(), "wJalrXUtnFEMI".into());
        loaded.origins.insert(
            "memory.storage_options".into(),
            "/home/u/.config/triage/config.toml".into(),
        );
        loaded.origins.insert(
            "index.max_file_size".into(),
            "$TRIAGE_INDEX_MAX_FILE_SIZE".into(),
        );
        loaded.ignored = vec!["llm.base_url".into()];
        loaded.repo_trust = Some(TrustState::Untrusted);
        let text = describe(&loaded);
        assert!(!text.contains("wJalrXUtnFEMI"), "{text}");
        assert!(text.contains("memory.storage_options = (1 keys, values hidden)    # /home/u/.config/triage/config.toml"), "{text}");
        assert!(
            text.contains("index.max_file_size = 1048576    # $TRIAGE_INDEX_MAX_FILE_SIZE"),
            "{text}"
        );
        assert!(
            text.contains("llm.api_key_env = \"OPENAI_API_KEY\"    # default"),
            "{text}"
        );
        assert!(
            text.contains("ignored from the untrusted repository file: llm.base_url"),
            "{text}"
        );
        assert!(text.contains("not trusted"), "{text}");
    }
}
