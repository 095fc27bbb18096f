//! Where `triage watch`'s events go: printed as text or as JSON lines, appended to the
//! inbox log, and sent to live subscribers (the TUI inbox).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tokio::sync::broadcast;

pub use crate::protocol::watch::{Logged, WatchEvent};

/// One event as one line of text.
pub fn human(ev: &WatchEvent) -> String {
    match ev {
        WatchEvent::Listening {
            address,
            path,
            cluster,
            threshold,
        } => format!(
            "listening on http://{address}{path} · cluster {} · threshold {threshold:.2}",
            cluster.as_deref().unwrap_or("none")
        ),
        WatchEvent::ClusterSynced {
            types,
            objects,
            resyncs,
        } => format!(
            "cluster picture current: {objects} objects of {types} types, kept by watches{}",
            if *resyncs > 0 {
                format!(" ({resyncs} resyncs)")
            } else {
                String::new()
            }
        ),
        WatchEvent::AlertReceived {
            alertname,
            status,
            fingerprint,
            ..
        } => format!("alert {status}: {alertname} ({fingerprint})"),
        WatchEvent::PayloadRejected { status, reason } => {
            format!("rejected a webhook call ({status}): {reason}")
        }
        WatchEvent::InvestigationQueued {
            investigation,
            request,
            position,
            queued,
            running,
            ..
        } => format!(
            "{investigation} queued at {position} of {queued} ({running} running): {request}"
        ),
        WatchEvent::InvestigationStarted {
            investigation,
            session,
            waited_ms,
            ..
        } => format!("{investigation} started: session {session} (waited {waited_ms} ms)"),
        WatchEvent::InvestigationJoined {
            investigation,
            fingerprint,
            reason,
        } => format!("{investigation} joined by {fingerprint} ({reason})"),
        WatchEvent::InvestigationClosed {
            investigation,
            note,
        } => {
            format!("{investigation} closed: {note}")
        }
        WatchEvent::Warning { message } => format!("warning: {message}"),
        other => outcome(other),
    }
}

/// An investigation's outcome as one line of text.
fn outcome(ev: &WatchEvent) -> String {
    match ev {
        WatchEvent::Notified {
            investigation,
            session,
            confidence,
            threshold,
            summary,
            targets,
            stale,
            ..
        } => format!(
            "{investigation} NOTIFIED ({confidence:.2} ≥ {threshold:.2}) to {}: {summary} · triage sessions show {session}{}",
            if targets.is_empty() {
                "the inbox".to_string()
            } else {
                targets.join(", ")
            },
            stale
                .as_deref()
                .map(|s| format!(" · {s}"))
                .unwrap_or_default()
        ),
        WatchEvent::Quiet {
            investigation,
            session,
            confidence,
            threshold,
            reason,
            ..
        } => format!(
            "{investigation} quiet ({} vs {threshold:.2}): {reason}{}",
            confidence.map_or("no answer".into(), |c| format!("{c:.2}")),
            session
                .as_deref()
                .map(|s| format!(" · triage sessions show {s}"))
                .unwrap_or_default()
        ),
        WatchEvent::NotifyFailed {
            investigation,
            target,
            error,
        } => format!("{investigation}: could not notify {target}: {error}"),
        _ => String::new(),
    }
}

/// Where events go: stdout (text or JSON lines), the inbox log, and live subscribers.
pub struct EventSink {
    json: bool,
    stdout: bool,
    log: Option<Mutex<std::fs::File>>,
    log_path: Option<PathBuf>,
    live: broadcast::Sender<WatchEvent>,
}

impl EventSink {
    /// `log`: the inbox log to append to (created 0600 if missing).
    pub fn new(json: bool, stdout: bool, log: Option<&Path>) -> Self {
        let file = log.and_then(|p| match open_log(p) {
            Ok(f) => Some(Mutex::new(f)),
            Err(e) => {
                tracing::warn!("cannot open the watch inbox log {}: {e}", p.display());
                None
            }
        });
        let (live, _) = broadcast::channel(1024);
        Self {
            json,
            stdout,
            log: file,
            log_path: log.map(Path::to_path_buf),
            live,
        }
    }

    pub fn log_path(&self) -> Option<&Path> {
        self.log_path.as_deref()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<WatchEvent> {
        self.live.subscribe()
    }

    pub fn emit(&self, event: WatchEvent) {
        let logged = Logged {
            t: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event,
        };
        let line = serde_json::to_string(&logged).unwrap_or_default();
        if let Some(f) = &self.log
            && let Ok(mut f) = f.lock()
        {
            let _ = writeln!(f, "{line}");
        }
        if self.stdout {
            let mut out = std::io::stdout().lock();
            let _ = if self.json {
                serde_json::to_writer(&mut out, &logged.event)
                    .map_err(std::io::Error::other)
                    .and_then(|()| writeln!(out))
            } else {
                writeln!(out, "{}", human(&logged.event))
            };
            let _ = out.flush();
        }
        tracing::info!(target: "triage::watch", "{}", human(&logged.event));
        let _ = self.live.send(logged.event);
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// The inbox log's default place: `$XDG_STATE_HOME/triage/watch/inbox.jsonl`.
pub fn default_log_path() -> Option<PathBuf> {
    crate::config::state_dir().map(|d| d.join("watch").join("inbox.jsonl"))
}

/// Every event of an inbox log, oldest first (lines that do not parse are skipped).
pub fn read_log(path: &Path) -> std::io::Result<Vec<Logged>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_tagged_and_logged_with_their_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w/inbox.jsonl");
        let sink = EventSink::new(true, false, Some(&path));
        let mut rx = sink.subscribe();
        sink.emit(WatchEvent::Quiet {
            investigation: "inv-1".into(),
            session: Some("s1".into()),
            confidence: Some(0.4),
            threshold: 0.8,
            reason: "below the threshold".into(),
            summary: None,
        });
        let back = read_log(&path).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].event.investigation(), Some("inv-1"));
        let json = serde_json::to_value(&back[0]).unwrap();
        assert_eq!(json["type"], "quiet");
        assert!(json["t"].as_str().is_some());
        assert!(rx.try_recv().is_ok());
        assert!(human(&back[0].event).contains("quiet (0.40 vs 0.80)"));
    }
}
