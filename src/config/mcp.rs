//! `[mcp]`: Model Context Protocol servers whose tools the agent may call.
//!
//! A server runs code on this machine (a command) or receives the agent's arguments (a
//! URL), so a repository's `.triage.toml` adds none until the user trusts that file
//! (`triage trust`): until then its `[mcp]` section is ignored with a warning naming it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Seconds a server may take to start and list its tools before the session goes on
    /// without it.
    pub startup_timeout_secs: u64,
    /// `[[mcp.servers]]` entries, in the order their tools are offered.
    pub servers: Vec<McpServerConfig>,
}

impl Default for McpConfig {
    fn default() -> Self {
        Self {
            startup_timeout_secs: 15,
            servers: Vec::new(),
        }
    }
}

/// One server: a command speaking MCP on its stdin/stdout, or a Streamable HTTP URL.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct McpServerConfig {
    /// Short name; the server's tools are offered as `mcp__<name>__<tool>`.
    pub name: String,
    /// Program to start (looked up on PATH), with `args`.
    pub command: Option<String>,
    pub args: Vec<String>,
    /// Working directory for `command` (default: the repository root).
    pub cwd: Option<PathBuf>,
    /// A Streamable HTTP endpoint, instead of a command.
    pub url: Option<String>,
    /// Environment for `command`. Nothing else from triage's environment reaches the
    /// server except `PATH`, `HOME`, `LANG`, `TMPDIR` and the names in `env_from`.
    pub env: BTreeMap<String, String>,
    /// Variables copied from triage's own environment (a token the server needs).
    pub env_from: Vec<String>,
    /// For `url`: the environment variable holding a bearer token to send.
    pub bearer_token_env: Option<String>,
    /// Seconds one tool call may take (default: `agent.tool_timeout_secs`).
    pub timeout_secs: Option<u64>,
}

impl McpConfig {
    /// Check every server entry; the message names the entry, the key and the fix.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, s) in self.servers.iter().enumerate() {
            let at = format!("mcp.servers[{i}]");
            if s.name.is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!(
                    "{at}.name = {:?}: use letters, digits, `-` or `_` (it prefixes the server's tool names)",
                    s.name
                ));
            }
            if !seen.insert(s.name.as_str()) {
                return Err(format!(
                    "{at}.name = {:?} is used by an earlier server; names must be unique",
                    s.name
                ));
            }
            match (&s.command, &s.url) {
                (Some(c), None) if !c.trim().is_empty() => {}
                (None, Some(u)) if u.starts_with("http://") || u.starts_with("https://") => {}
                (None, Some(u)) => {
                    return Err(format!(
                        "{at}.url = {u:?}: expected an http:// or https:// URL"
                    ));
                }
                (Some(_), Some(_)) => {
                    return Err(format!("{at}: set either `command` or `url`, not both"));
                }
                _ => {
                    return Err(format!(
                        "{at} ({}): set `command` (a program speaking MCP on stdio) or `url` (a Streamable HTTP endpoint)",
                        s.name
                    ));
                }
            }
            if s.url.is_some() && (!s.env.is_empty() || !s.env_from.is_empty()) {
                return Err(format!(
                    "{at}: `env` and `env_from` apply to a `command`; a `url` server gets `bearer_token_env`"
                ));
            }
            if s.timeout_secs == Some(0) {
                return Err(format!("{at}.timeout_secs must be at least 1"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config layer with only an `[mcp]` table, as the whole config reads it.
    #[derive(Deserialize)]
    struct Layer {
        #[serde(default)]
        mcp: McpConfig,
    }

    fn parse(text: &str) -> Result<McpConfig, String> {
        let c: Layer = toml::from_str(text).map_err(|e| e.to_string())?;
        c.mcp.validate().map(|_| c.mcp)
    }

    #[test]
    fn servers_parse_with_command_or_url() {
        let c = parse(
            "[[mcp.servers]]\nname = \"metrics\"\ncommand = \"metrics-mcp\"\nargs = [\"--read-only\"]\nenv_from = [\"GRAFANA_TOKEN\"]\n\n[[mcp.servers]]\nname = \"tickets\"\nurl = \"http://127.0.0.1:9000/mcp\"\n",
        )
        .unwrap();
        assert_eq!(c.servers.len(), 2);
        assert_eq!(c.servers[0].args, ["--read-only"]);
        assert_eq!(
            c.servers[1].url.as_deref(),
            Some("http://127.0.0.1:9000/mcp")
        );
    }

    #[test]
    fn bad_entries_name_the_entry_and_the_fix() {
        let err = parse("[[mcp.servers]]\nname = \"a\"\n").unwrap_err();
        assert!(
            err.contains("mcp.servers[0]") && err.contains("`command`"),
            "{err}"
        );
        let err = parse("[[mcp.servers]]\nname = \"a b\"\ncommand = \"x\"\n").unwrap_err();
        assert!(err.contains("name"), "{err}");
        let err = parse(
            "[[mcp.servers]]\nname = \"a\"\ncommand = \"x\"\n[[mcp.servers]]\nname = \"a\"\ncommand = \"y\"\n",
        )
        .unwrap_err();
        assert!(
            err.contains("mcp.servers[1]") && err.contains("unique"),
            "{err}"
        );
        let err = parse("[[mcp.servers]]\nname = \"a\"\nurl = \"ftp://x\"\n").unwrap_err();
        assert!(err.contains("http://"), "{err}");
        let err = parse("[[mcp.servers]]\nname = \"a\"\ncomand = \"x\"\n").unwrap_err();
        assert!(err.contains("comand"), "{err}");
    }
}
