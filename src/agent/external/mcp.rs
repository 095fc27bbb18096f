//! The MCP servers in the user's config, as tools for triage's agent: each is started
//! (a command on stdio, or a Streamable HTTP URL), its tools are listed and offered as
//! `mcp__<server>__<tool>`, and calls go through the official SDK. A server that fails
//! to start, breaks the protocol, exits or stops answering costs its own tools only.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ContentBlock,
    Implementation, ResourceContents,
};
use rmcp::service::{RoleClient, RunningService, ServiceError, ServiceExt};
use serde_json::Value;
use tokio::sync::OnceCell;

use super::child::{self, ChildServer};
use super::tool::{ExternalTool, ExternalTools};
use crate::agent::tools::{ToolError, ToolOutput};
use crate::config::{Config, McpServerConfig};

/// Longest tool description passed on to the model.
const MAX_DESCRIPTION: usize = 1024;
/// Longest tool name the model APIs accept.
const MAX_NAME: usize = 64;

/// Every configured server, started on first use.
pub struct McpHub {
    servers: Vec<McpServerConfig>,
    startup_timeout: Duration,
    call_timeout: Duration,
    cwd: Option<PathBuf>,
    started: OnceCell<Started>,
}

#[derive(Default)]
struct Started {
    tools: Vec<Offered>,
    problems: Vec<String>,
}

struct Offered {
    tool: ExternalTool,
    /// The name the server knows it by.
    remote: String,
    conn: Arc<Connection>,
}

struct Connection {
    name: String,
    service: RunningService<RoleClient, ClientConfig>,
    /// The process, for stdio servers: dropped after the service, which kills it.
    child: Option<ChildServer>,
}

impl McpHub {
    /// The hub for `config`'s `[[mcp.servers]]`; `None` when there are none. Commands
    /// start in `repo_root` unless their entry names a `cwd`.
    pub fn from_config(
        config: &Config,
        repo_root: Option<&Path>,
    ) -> Option<Arc<dyn ExternalTools>> {
        if config.mcp.servers.is_empty() {
            return None;
        }
        Some(Arc::new(McpHub {
            servers: config.mcp.servers.clone(),
            startup_timeout: Duration::from_secs(config.mcp.startup_timeout_secs.max(1)),
            call_timeout: Duration::from_secs(config.agent.tool_timeout_secs.max(1)),
            cwd: repo_root.map(Path::to_path_buf),
            started: OnceCell::new(),
        }))
    }

    async fn started(&self) -> &Started {
        self.started
            .get_or_init(|| async {
                let all = futures::future::join_all(self.servers.iter().map(|s| self.start_one(s)));
                let mut started = Started::default();
                for result in all.await {
                    match result {
                        Ok(mut tools) => started.tools.append(&mut tools),
                        Err(problem) => started.problems.push(problem),
                    }
                }
                started
            })
            .await
    }

    async fn start_one(&self, cfg: &McpServerConfig) -> Result<Vec<Offered>, String> {
        let timeout = self.startup_timeout;
        let (pipes, child_server) = match &cfg.url {
            Some(_) => (None, None),
            None => {
                let (stdout, stdin, child) = child::spawn(cfg, self.cwd.as_deref())
                    .map_err(|e| start_problem(&cfg.name, &e.to_string(), ""))?;
                (Some((stdout, stdin)), Some(child))
            }
        };
        let connect = async {
            let service = match (pipes, &cfg.url) {
                (Some(pipes), _) => client_config()
                    .serve(pipes)
                    .await
                    .map_err(|e| format!("the MCP handshake failed: {e}"))?,
                (None, Some(url)) => connect_http(cfg, url).await?,
                (None, None) => return Err("neither a command nor a URL".to_string()),
            };
            let tools = service
                .peer()
                .list_all_tools()
                .await
                .map_err(|e| format!("listing its tools failed: {e}"))?;
            Ok::<_, String>((service, tools))
        };
        // A process that dies while starting fails at once, not at the timeout.
        let mut faults = child_server.as_ref().map(|c| c.faults.clone());
        let died = async {
            let exited = match faults.as_mut() {
                Some(rx) => rx
                    .wait_for(|f| f.exited)
                    .await
                    .ok()
                    .map(|f| f.message.clone().unwrap_or_default()),
                None => None,
            };
            match exited {
                Some(message) => message,
                None => std::future::pending().await,
            }
        };
        let result = tokio::select! {
            r = tokio::time::timeout(timeout, connect) => r,
            why = died => return Err(start_problem(&cfg.name, &why, "")),
        };
        let stderr = child_server
            .as_ref()
            .map(ChildServer::stderr_tail)
            .unwrap_or_default();
        let (service, tools) = match result {
            Ok(Ok(ok)) => ok,
            Ok(Err(why)) => return Err(start_problem(&cfg.name, &why, &stderr)),
            Err(_) => {
                let why = format!("no answer within {} s", timeout.as_secs());
                return Err(start_problem(&cfg.name, &why, &stderr));
            }
        };
        let conn = Arc::new(Connection {
            name: cfg.name.clone(),
            service,
            child: child_server,
        });
        let call_timeout = cfg
            .timeout_secs
            .map_or(self.call_timeout, Duration::from_secs);
        let mut used = std::collections::HashSet::new();
        Ok(tools
            .into_iter()
            .map(|t| {
                let name = unique_name(&namespaced(&cfg.name, &t.name), &mut used);
                let read_only = t.annotations.as_ref().and_then(|a| a.read_only_hint) == Some(true);
                let description: String = t
                    .description
                    .as_deref()
                    .unwrap_or("")
                    .chars()
                    .take(MAX_DESCRIPTION)
                    .collect();
                Offered {
                    tool: ExternalTool {
                        name,
                        description: format!("[MCP server {}] {description}", cfg.name),
                        parameters: Value::Object((*t.input_schema).clone()),
                        read_only,
                        timeout: call_timeout,
                        origin: format!("MCP server `{}` tool `{}`", cfg.name, t.name),
                    },
                    remote: t.name.to_string(),
                    conn: conn.clone(),
                }
            })
            .collect())
    }
}

fn client_config() -> ClientConfig {
    ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("triage", env!("CARGO_PKG_VERSION")),
    )
}

async fn connect_http(
    cfg: &McpServerConfig,
    url: &str,
) -> Result<RunningService<RoleClient, ClientConfig>, String> {
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    crate::kube::client::install_crypto_provider();
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_string());
    if let Some(var) = &cfg.bearer_token_env {
        let token = std::env::var(var)
            .map_err(|_| format!("bearer_token_env names {var}, which is not set"))?;
        config = config.auth_header(token);
    }
    client_config()
        .serve(StreamableHttpClientTransport::from_config(config))
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))
}

fn start_problem(server: &str, why: &str, stderr: &str) -> String {
    let mut message = format!(
        "MCP server `{server}` did not start ({why}); its tools are left out and the investigation goes on"
    );
    if let Some(line) = stderr.trim().lines().last() {
        message.push_str(&format!("; its stderr ends: {line}"));
    }
    message
}

/// `mcp__<server>__<tool>`, in the characters model APIs accept for a function name.
pub fn namespaced(server: &str, tool: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("mcp__{}__{}", clean(server), clean(tool))
}

/// Cut to the length limit and make unique among `used`, with a short hash when needed.
fn unique_name(name: &str, used: &mut std::collections::HashSet<String>) -> String {
    let mut out: String = name.chars().take(MAX_NAME).collect();
    if out.len() < name.len() || used.contains(&out) {
        let hash = blake3::hash(name.as_bytes()).to_hex();
        out = format!(
            "{}_{}",
            &name[..MAX_NAME.min(name.len()).saturating_sub(9)],
            &hash[..8]
        );
    }
    used.insert(out.clone());
    out
}

impl ExternalTools for McpHub {
    fn start(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async move { self.started().await.problems.clone() })
    }

    fn tools(&self) -> BoxFuture<'_, Vec<ExternalTool>> {
        Box::pin(async move {
            self.started()
                .await
                .tools
                .iter()
                .map(|o| o.tool.clone())
                .collect()
        })
    }

    fn call<'a>(
        &'a self,
        name: &'a str,
        args: &'a Value,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let started = self.started().await;
            let offered = started
                .tools
                .iter()
                .find(|o| o.tool.name == name)
                .ok_or_else(|| ToolError::BadArguments(format!("unknown tool {name}")))?;
            call(&offered.conn, &offered.remote, args).await
        })
    }

    fn command(&self, name: &str, args: &Value) -> String {
        let shown = self
            .started
            .get()
            .and_then(|s| s.tools.iter().find(|o| o.tool.name == name))
            .map_or_else(
                || name.to_string(),
                |o| format!("{}/{}", o.conn.name, o.remote),
            );
        format!(
            "mcp {} {}",
            shell_words::quote(&shown),
            shell_words::quote(&args.to_string())
        )
    }
}

/// One call, failing as soon as the server exits or writes something that is not
/// JSON-RPC, rather than waiting for an answer that cannot come.
async fn call(conn: &Connection, remote: &str, args: &Value) -> Result<ToolOutput, ToolError> {
    let arguments = match args {
        Value::Object(m) => m.clone(),
        _ => {
            return Err(ToolError::BadArguments(
                "arguments must be a JSON object".into(),
            ));
        }
    };
    let mut faults = conn.child.as_ref().map(|c| c.faults.clone());
    if let Some(rx) = faults.as_mut() {
        let now = rx.borrow_and_update();
        if now.exited {
            return Err(ToolError::Unavailable(now.message.clone().unwrap_or_else(
                || format!("MCP server `{}` is not running", conn.name),
            )));
        }
    }
    let fault = async {
        let changed = match faults.as_mut() {
            Some(rx) => match rx.changed().await {
                Ok(()) => Some(rx.borrow().message.clone()),
                Err(_) => None,
            },
            None => None,
        };
        match changed {
            Some(message) => message,
            None => std::future::pending().await,
        }
    };
    let params = CallToolRequestParams::new(remote.to_string()).with_arguments(arguments);
    tokio::select! {
        result = conn.service.peer().call_tool(params) => match result {
            Ok(r) => output(&conn.name, r),
            // The pipe closes a moment before the exit is seen: say how it ended.
            Err(ServiceError::TransportClosed) if conn.child.is_some() => {
                let exited = match &conn.child {
                    Some(child) => child.exit_message(Duration::from_millis(500)).await,
                    None => None,
                };
                Err(ToolError::Failed(exited.unwrap_or_else(|| {
                    service_error(conn, &ServiceError::TransportClosed)
                })))
            }
            Err(e) => Err(ToolError::Failed(service_error(conn, &e))),
        },
        message = fault => Err(ToolError::Failed(message.unwrap_or_else(|| {
            format!("MCP server `{}` failed during the call", conn.name)
        }))),
    }
}

fn service_error(conn: &Connection, e: &ServiceError) -> String {
    let mut message = match e {
        ServiceError::McpError(err) => format!(
            "MCP server `{}` refused the call: {} (code {})",
            conn.name, err.message, err.code.0
        ),
        ServiceError::TransportClosed => {
            format!("MCP server `{}` closed the connection", conn.name)
        }
        other => format!("MCP server `{}`: {other}", conn.name),
    };
    if let Some(line) = conn
        .child
        .as_ref()
        .map(ChildServer::stderr_tail)
        .and_then(|t| t.trim().lines().last().map(str::to_string))
    {
        message.push_str(&format!("; its stderr ends: {line}"));
    }
    message
}

/// A call's result as tool output: text blocks as they are, other content named.
fn output(server: &str, result: CallToolResult) -> Result<ToolOutput, ToolError> {
    let mut text = String::new();
    for block in &result.content {
        let piece = match block {
            ContentBlock::Text(t) => t.text.clone(),
            ContentBlock::Image(i) => format!("[image ({}) not shown]", i.mime_type),
            ContentBlock::Audio(a) => format!("[audio ({}) not shown]", a.mime_type),
            ContentBlock::Resource(r) => match &r.resource {
                ResourceContents::TextResourceContents { uri, text, .. } => {
                    format!("{uri}:\n{text}")
                }
                ResourceContents::BlobResourceContents { uri, .. } => {
                    format!("[binary resource {uri} not shown]")
                }
                _ => "[resource not shown]".to_string(),
            },
            ContentBlock::ResourceLink(l) => format!("[resource {} ({})]", l.uri, l.name),
            _ => "[content not shown]".to_string(),
        };
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&piece);
    }
    if text.is_empty()
        && let Some(v) = &result.structured_content
    {
        text = serde_json::to_string_pretty(v).unwrap_or_default();
    }
    if result.is_error == Some(true) {
        return Err(ToolError::Failed(format!(
            "MCP server `{server}` reported an error: {}",
            text.trim()
        )));
    }
    let summary: String = text
        .lines()
        .next()
        .unwrap_or("(empty)")
        .chars()
        .take(80)
        .collect();
    Ok(ToolOutput {
        summary,
        data: result.structured_content.clone().unwrap_or(Value::Null),
        text,
        evidence: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_namespaced_valid_and_unique() {
        assert_eq!(
            namespaced("metrics", "query.range"),
            "mcp__metrics__query_range"
        );
        let mut used = std::collections::HashSet::new();
        let a = unique_name(&namespaced("m", "a b"), &mut used);
        let b = unique_name(&namespaced("m", "a/b"), &mut used);
        assert_eq!(a, "mcp__m__a_b");
        assert_ne!(a, b);
        let long = unique_name(&namespaced("m", &"x".repeat(100)), &mut used);
        assert!(long.len() <= MAX_NAME, "{long}");
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        );
    }

    #[test]
    fn error_results_fail_and_other_content_is_named() {
        let ok: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [{"type": "text", "text": "p99 420ms"},
                        {"type": "image", "data": "AAAA", "mimeType": "image/png"}]}))
        .unwrap();
        let out = output("m", ok).unwrap();
        assert_eq!(out.text, "p99 420ms\n[image (image/png) not shown]");
        let err: CallToolResult = serde_json::from_value(serde_json::json!({
            "content": [{"type": "text", "text": "no such service"}], "isError": true}))
        .unwrap();
        let e = output("m", err).unwrap_err().to_string();
        assert!(
            e.contains("reported an error") && e.contains("no such service"),
            "{e}"
        );
    }
}
