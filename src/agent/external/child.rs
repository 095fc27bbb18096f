//! A stdio MCP server as a child process: started with only the environment its config
//! names, in its own process group (killed with everything it started when triage is
//! done with it), with its stderr tail kept for error messages, and its stdout watched
//! for lines that are not JSON-RPC, which the SDK would skip in silence and leave a call
//! waiting for an answer that never comes.

use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncBufReadExt, AsyncRead, ReadBuf};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::watch;

use crate::config::McpServerConfig;

/// Variables every server gets from triage's environment; anything else must be named.
const BASE_ENV: &[&str] = &["PATH", "HOME", "USER", "LANG", "TMPDIR"];
/// Bytes of stderr kept for messages.
const STDERR_TAIL: usize = 2048;
/// Bytes of a bad stdout line quoted in a message.
const QUOTE: usize = 120;

/// Something that makes every call in flight on this server fail: it exited, or it
/// wrote something that is not JSON-RPC. Each fault bumps the generation.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    pub generation: u64,
    pub message: Option<String>,
    /// The process is gone: later calls fail at once.
    pub exited: bool,
}

/// The running process, killed (with its process group) when dropped.
pub struct ChildServer {
    pub faults: watch::Receiver<Fault>,
    stderr: Arc<Mutex<String>>,
    kill: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ChildServer {
    /// How the process ended, once it has (waiting at most `wait` for it).
    pub async fn exit_message(&self, wait: std::time::Duration) -> Option<String> {
        let mut rx = self.faults.clone();
        tokio::time::timeout(wait, rx.wait_for(|f| f.exited))
            .await
            .ok()?
            .ok()?
            .message
            .clone()
    }

    /// The last lines the server wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot start `{command}` for MCP server `{server}`: {source}")]
pub struct SpawnError {
    server: String,
    command: String,
    source: std::io::Error,
}

/// Start the server's command. Returns its stdout (watched) and stdin for the transport.
pub fn spawn(
    cfg: &McpServerConfig,
    default_cwd: Option<&Path>,
) -> Result<(WatchedStdout, ChildStdin, ChildServer), SpawnError> {
    let command = cfg.command.clone().unwrap_or_default();
    let mut cmd = tokio::process::Command::new(&command);
    let inherited = BASE_ENV
        .iter()
        .copied()
        .chain(cfg.env_from.iter().map(String::as_str));
    cmd.args(&cfg.args)
        .env_clear()
        .envs(inherited.filter_map(|k| std::env::var_os(k).map(|v| (k, v))))
        .envs(&cfg.env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(dir) = cfg.cwd.as_deref().or(default_cwd) {
        cmd.current_dir(dir);
    }
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = cmd.spawn().map_err(|source| SpawnError {
        server: cfg.name.clone(),
        command: command.clone(),
        source,
    })?;
    let io_error = |what: &str| SpawnError {
        server: cfg.name.clone(),
        command: command.clone(),
        source: std::io::Error::other(format!("no {what} pipe")),
    };
    let stdin = child.stdin.take().ok_or_else(|| io_error("stdin"))?;
    let stdout = child.stdout.take().ok_or_else(|| io_error("stdout"))?;
    let stderr_pipe = child.stderr.take();
    let (fault_tx, faults) = watch::channel(Fault::default());
    let fault_tx = Arc::new(fault_tx);
    let stderr = Arc::new(Mutex::new(String::new()));
    if let Some(pipe) = stderr_pipe {
        tokio::spawn(keep_tail(pipe, stderr.clone(), cfg.name.clone()));
    }
    let (kill, killed) = tokio::sync::oneshot::channel();
    tokio::spawn(watch_exit(
        child,
        killed,
        fault_tx.clone(),
        stderr.clone(),
        cfg.name.clone(),
    ));
    let watched = WatchedStdout {
        inner: stdout,
        line: Vec::new(),
        faults: fault_tx,
        server: cfg.name.clone(),
    };
    Ok((
        watched,
        stdin,
        ChildServer {
            faults,
            stderr,
            kill: Some(kill),
        },
    ))
}

/// Wait for the process to exit (reporting it) or for triage to let go of it (killing
/// its process group).
async fn watch_exit(
    mut child: tokio::process::Child,
    killed: tokio::sync::oneshot::Receiver<()>,
    faults: Arc<watch::Sender<Fault>>,
    stderr: Arc<Mutex<String>>,
    server: String,
) {
    tokio::select! {
        status = child.wait() => {
            // Let the stderr reader take in the last words.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
            let tail = stderr.lock().map(|s| s.clone()).unwrap_or_default();
            let tail = tail.trim();
            let mut message = format!("MCP server `{server}` exited ({status})");
            if !tail.is_empty() {
                message.push_str(&format!("; its stderr ends: {}", last_line(tail)));
            }
            faults.send_modify(|f| {
                f.generation += 1;
                f.message = Some(message);
                f.exited = true;
            });
        }
        _ = killed => {
            crate::agent::actions::kill_tree(&mut child);
            let _ = child.wait().await;
        }
    }
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or(text)
}

async fn keep_tail(pipe: tokio::process::ChildStderr, tail: Arc<Mutex<String>>, server: String) {
    let mut lines = tokio::io::BufReader::new(pipe).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(target: "triage::mcp", "{server} stderr: {line}");
        if let Ok(mut t) = tail.lock() {
            t.push_str(&line);
            t.push('\n');
            if t.len() > STDERR_TAIL {
                let mut cut = t.len() - STDERR_TAIL;
                while !t.is_char_boundary(cut) {
                    cut += 1;
                }
                t.drain(..cut);
            }
        }
    }
}

/// The server's stdout as the transport reads it, with each complete line checked: a
/// line that is not a JSON-RPC 2.0 message is a fault.
pub struct WatchedStdout {
    inner: ChildStdout,
    line: Vec<u8>,
    faults: Arc<watch::Sender<Fault>>,
    server: String,
}

impl WatchedStdout {
    fn check(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b != b'\n' {
                // Only the start of a line is needed to tell JSON from noise.
                if self.line.len() < 64 * 1024 {
                    self.line.push(b);
                }
                continue;
            }
            let line = std::mem::take(&mut self.line);
            if let Some(why) = malformed(&line) {
                let quoted: String = String::from_utf8_lossy(&line).chars().take(QUOTE).collect();
                let message = format!(
                    "MCP server `{}` broke the protocol ({why}): {quoted:?}",
                    self.server
                );
                tracing::warn!("{message}");
                self.faults.send_modify(|f| {
                    f.generation += 1;
                    f.message = Some(message);
                });
            }
        }
    }
}

/// Why a stdout line is not a JSON-RPC 2.0 message; `None` when it is one (or blank).
pub fn malformed(line: &[u8]) -> Option<&'static str> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(trimmed) {
        Ok(v) if v.get("jsonrpc").and_then(|j| j.as_str()) == Some("2.0") => None,
        Ok(_) => Some("JSON that is not a JSON-RPC 2.0 message"),
        Err(_) if trimmed.len() >= 64 * 1024 => None,
        Err(_) => Some("not JSON"),
    }
}

impl AsyncRead for WatchedStdout {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let fresh = buf.filled()[before..].to_vec();
            this.check(&fresh);
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_json_rpc_lines_pass() {
        assert_eq!(
            malformed(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"),
            None
        );
        assert_eq!(malformed(b"   "), None);
        assert_eq!(malformed(b"{not json"), Some("not JSON"));
        assert_eq!(malformed(b"Starting server..."), Some("not JSON"));
        assert!(malformed(b"{\"id\":1}").is_some());
        assert!(malformed(b"[1,2]").is_some());
    }
}
