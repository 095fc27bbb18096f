//! Lineage: every session appends a JSONL trace under the XDG state dir (`sessions/`):
//! its Ops and Events, each model request and response (redacted), tool inputs and
//! outputs, the index version and a config digest. Any answer can be traced back to what
//! produced it. Traces are `0600` files in a `0700` directory, and every record passes
//! the session's scrubber (the same redaction model requests get) before it is written,
//! unless the user asked to keep raw output.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::protocol::{Event, Op};

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot write session trace {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no session {id} under {dir}")]
    NotFound { id: String, dir: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no state directory: set XDG_STATE_HOME or HOME")]
    NoStateDir,
    #[error(transparent)]
    Private(#[from] crate::config::private::PrivateError),
}

/// What every record goes through before it is written: secrets out.
pub type Scrubber = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// One line of a trace.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339 time.
    pub t: String,
    #[serde(flatten)]
    pub body: RecordBody,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
pub enum RecordBody {
    /// First line: what the session ran against.
    Meta {
        session: String,
        triage_version: String,
        repo: Option<String>,
        index: Value,
        config_digest: String,
        config_sources: Vec<String>,
        model: Option<String>,
        cluster: Option<String>,
    },
    Op {
        op: Op,
    },
    Event {
        event: Event,
    },
    LlmRequest {
        model: String,
        parameters: Value,
        /// Exactly what was sent: already redacted.
        messages: Value,
    },
    LlmResponse {
        content: String,
        tool_calls: Value,
        prompt_tokens: u64,
        completion_tokens: u64,
        estimated: bool,
        finish_reason: Option<String>,
    },
    ToolIo {
        call: String,
        tool: String,
        arguments: Value,
        /// What the model (or planner) saw, after capping.
        output: String,
    },
    /// What `triage watch` did with a background session's answer: `notified` or
    /// `quiet`, against which threshold, and why.
    Watch {
        investigation: String,
        group_key: String,
        outcome: String,
        confidence: Option<f32>,
        threshold: f32,
        reason: String,
    },
}

/// Where session traces live.
pub fn sessions_dir() -> Result<PathBuf, TraceError> {
    if let Ok(dir) = std::env::var("TRIAGE_SESSIONS_DIR")
        && !dir.is_empty()
    {
        return Ok(PathBuf::from(dir));
    }
    crate::config::state_dir()
        .map(|d| d.join("sessions"))
        .ok_or(TraceError::NoStateDir)
}

/// Appends records to one session's file. Thread-safe; each record is one whole line.
pub struct TraceWriter {
    path: PathBuf,
    file: Mutex<File>,
    scrub: Option<Scrubber>,
}

impl std::fmt::Debug for TraceWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceWriter")
            .field("path", &self.path)
            .finish()
    }
}

impl TraceWriter {
    pub fn create(dir: &Path, session: &str) -> Result<Self, TraceError> {
        let path = dir.join(format!("{session}.jsonl"));
        crate::config::private::create_dir(dir)?;
        let file = crate::config::private::open_append(&path)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            scrub: None,
        })
    }

    /// Pass every record through `scrub` before it is written.
    pub fn scrubbed_by(mut self, scrub: Scrubber) -> Self {
        self.scrub = Some(scrub);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append a record. A trace that cannot be written is logged, never fatal: the
    /// engineer's investigation matters more than its record.
    pub fn write(&self, body: RecordBody) {
        let record = Record {
            t: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            body,
        };
        let Ok(mut value) = serde_json::to_value(&record) else {
            return;
        };
        if let Some(scrub) = &self.scrub {
            value = scrub(&value);
        }
        let Ok(mut line) = serde_json::to_string(&value) else {
            return;
        };
        line.push('\n');
        if let Ok(mut f) = self.file.lock()
            && let Err(e) = f.write_all(line.as_bytes())
        {
            tracing::warn!("cannot append to {}: {e}", self.path.display());
        }
    }
}

/// A digest of the effective config, so two traces can be compared.
pub fn config_digest(config: &crate::config::Config) -> String {
    let text = toml::to_string(config).unwrap_or_default();
    blake3::hash(text.as_bytes()).to_hex()[..16].to_string()
}

/// The index a session read: HEAD it was built at, schema version, embedder.
pub fn index_version(index_dir: Option<&Path>) -> Value {
    let Some(dir) = index_dir else {
        return Value::Null;
    };
    match std::fs::read_to_string(dir.join("meta.json"))
        .ok()
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
    {
        Some(meta) => json!({
            "dir": dir.display().to_string(),
            "schema_version": meta.get("schema_version"),
            "history_head": meta.get("history_head"),
            "embedder": meta.get("embedder").and_then(|e| e.get("id")),
        }),
        None => json!({"dir": dir.display().to_string(), "state": "not indexed"}),
    }
}

/// A session as `triage sessions list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionSummary {
    pub id: String,
    pub started: String,
    pub repo: Option<String>,
    pub model: Option<String>,
    pub first_request: Option<String>,
    pub records: usize,
    pub status: Option<String>,
    /// For `triage watch` sessions: `notified 0.85` or `quiet 0.40`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watch: Option<String>,
}

pub fn read_records(path: &Path) -> Result<Vec<Record>, TraceError> {
    let file = File::open(path).map_err(|source| TraceError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|source| TraceError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // A line cut by a crash is skipped; the rest of the trace still reads.
        if let Ok(r) = serde_json::from_str::<Record>(&line) {
            out.push(r);
        }
    }
    Ok(out)
}

pub fn summarize(id: &str, records: &[Record]) -> SessionSummary {
    let mut s = SessionSummary {
        id: id.to_string(),
        started: records.first().map(|r| r.t.clone()).unwrap_or_default(),
        repo: None,
        model: None,
        first_request: None,
        records: records.len(),
        status: None,
        watch: None,
    };
    for r in records {
        match &r.body {
            RecordBody::Meta { repo, model, .. } => {
                s.repo = repo.clone();
                s.model = model.clone();
            }
            RecordBody::Op {
                op: Op::Submit { text },
            } if s.first_request.is_none() => {
                s.first_request = Some(text.lines().next().unwrap_or("").to_string());
            }
            RecordBody::Event {
                event: Event::TurnComplete { status, .. },
            } => {
                s.status = serde_json::to_value(status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string));
            }
            RecordBody::Watch {
                outcome,
                confidence,
                ..
            } => {
                s.watch = Some(match confidence {
                    Some(c) => format!("{outcome} {c:.2}"),
                    None => outcome.clone(),
                });
            }
            _ => {}
        }
    }
    s
}

/// Every session, newest first.
pub fn list(dir: &Path) -> Result<Vec<SessionSummary>, TraceError> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(out);
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "jsonl")
            && let Some(id) = path.file_stem().and_then(|s| s.to_str())
        {
            let records = read_records(&path)?;
            out.push(summarize(id, &records));
        }
    }
    out.sort_by(|a, b| b.started.cmp(&a.started));
    Ok(out)
}

/// Find a session by id or unique prefix.
pub fn find(dir: &Path, id: &str) -> Result<PathBuf, TraceError> {
    let exact = dir.join(format!("{id}.jsonl"));
    if exact.is_file() {
        return Ok(exact);
    }
    let matches: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(id) && n.ends_with(".jsonl"))
                })
                .collect()
        })
        .unwrap_or_default();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(TraceError::NotFound {
            id: id.to_string(),
            dir: dir.to_path_buf(),
        }),
    }
}

/// A new session id: time-ordered and readable (`20261122-031502-4f2a`).
pub fn new_session_id() -> String {
    let now = chrono::Utc::now();
    let salt = blake3::hash(format!("{:?}{}", now, std::process::id()).as_bytes()).to_hex();
    format!("{}-{}", now.format("%Y%m%d-%H%M%S"), &salt[..4])
}
