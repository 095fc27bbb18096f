//! The audit log: one JSON line per decision and per execution, appended to a file that
//! outlives the session. The file is opened in append mode and each record is written
//! with a single `write`, so several triage processes can share it and their records
//! interleave as whole lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::agent::actions::ExecOutput;
use crate::llm::redact::Redactor;
use crate::protocol::{ActionClass, ActionId, Decision, ProposedAction};

/// Bytes of each output stream kept in a record.
pub const OUTPUT_EXCERPT: usize = 2 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot create the audit log directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the audit log {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write to the audit log {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the audit log {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not an audit record: {source}")]
    Parse {
        path: PathBuf,
        line: usize,
        source: serde_json::Error,
    },
    #[error("cannot encode an audit record: {0}")]
    Encode(serde_json::Error),
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339, UTC.
    pub time: DateTime<Utc>,
    pub session: String,
    pub action: ActionId,
    pub command: String,
    pub class: ActionClass,
    pub decision: Decision,
    /// Approved without a question: the action whose approval for the session covered
    /// this one's family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preapproved_by: Option<ActionId>,
    /// What an approval for the session covers (`kubectl get pods`, or the exact write).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub family: String,
    /// Present on the record written after an approved command ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<AuditExecution>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditExecution {
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub timed_out: bool,
    /// The first [`OUTPUT_EXCERPT`] bytes (cut at a character boundary).
    pub stdout: String,
    pub stderr: String,
}

impl AuditRecord {
    /// A decision on a proposed action.
    pub fn decided(session: &str, action: &ProposedAction, decision: &Decision) -> Self {
        Self {
            time: Utc::now(),
            session: session.to_string(),
            action: action.id,
            command: action.command.clone(),
            class: action.class,
            decision: decision.clone(),
            preapproved_by: action.preapproved_by,
            family: action.family.clone(),
            execution: None,
        }
    }

    /// The same record, with what running the command produced.
    pub fn with_execution(mut self, output: &ExecOutput) -> Self {
        self.time = Utc::now();
        self.execution = Some(AuditExecution {
            exit_code: output.exit_code,
            duration_ms: output.duration_ms,
            timed_out: output.timed_out,
            stdout: excerpt(&output.stdout).to_string(),
            stderr: excerpt(&output.stderr).to_string(),
        });
        self
    }

    /// Scrub the command and output excerpts, for logs that must not hold secrets at
    /// rest. Placeholders in the file cannot be mapped back later.
    pub fn redacted(mut self, redactor: &Redactor) -> Self {
        self.command = redactor.redact(&self.command).text;
        if let Some(e) = &mut self.execution {
            e.stdout = redactor.redact(&e.stdout).text;
            e.stderr = redactor.redact(&e.stderr).text;
        }
        self
    }
}

fn excerpt(text: &str) -> &str {
    if text.len() <= OUTPUT_EXCERPT {
        return text;
    }
    let mut end = OUTPUT_EXCERPT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An append-only JSONL file of [`AuditRecord`]s.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl AuditLog {
    /// `audit.jsonl` in triage's state directory, when there is one.
    pub fn default_path() -> Option<PathBuf> {
        crate::config::state_dir().map(|d| d.join("audit.jsonl"))
    }

    /// Open (creating it and its directory if needed) the log at `path` for appending:
    /// a `0600` file in a `0700` directory.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, AuditError> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::config::private::create_dir(dir).map_err(|e| AuditError::CreateDir {
                path: dir.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })?;
        }
        let file = crate::config::private::open_append(&path).map_err(|e| AuditError::Open {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(Self {
            path,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append one record as one line.
    pub fn append(&self, record: &AuditRecord) -> Result<(), AuditError> {
        let mut line = serde_json::to_vec(record).map_err(AuditError::Encode)?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(&line)
            .and_then(|()| file.flush())
            .map_err(|source| AuditError::Write {
                path: self.path.clone(),
                source,
            })
    }

    /// Every record in the log at `path`, oldest first.
    pub fn read(path: &Path) -> Result<Vec<AuditRecord>, AuditError> {
        let file = File::open(path).map_err(|source| AuditError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut records = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| AuditError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            if line.trim().is_empty() {
                continue;
            }
            let record = serde_json::from_str(&line).map_err(|source| AuditError::Parse {
                path: path.to_path_buf(),
                line: i + 1,
                source,
            })?;
            records.push(record);
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AgentConfig;
    use crate::protocol::ApprovalScope;

    fn proposal(id: ActionId, command: &str, class: ActionClass) -> ProposedAction {
        ProposedAction {
            id,
            command: command.into(),
            class,
            class_reason: "test".into(),
            rationale: "test".into(),
            blocked_by_read_only: false,
            refused: None,
            family: String::new(),
            preapproved_by: None,
        }
    }

    #[test]
    fn records_round_trip_and_append_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/audit.jsonl");

        let undo = proposal(
            1,
            "kubectl -n shop rollout undo deploy/checkout-api",
            ActionClass::Write,
        );
        let refused = AuditRecord::decided(
            "s1",
            &undo,
            &Decision::Refused {
                why: "read-only".into(),
            },
        );
        let pods = proposal(2, "kubectl -n shop get pods", ActionClass::Read);
        let approved = Decision::Approved {
            scope: ApprovalScope::Once,
        };
        let ran = AuditRecord::decided("s1", &pods, &approved).with_execution(&ExecOutput {
            exit_code: Some(0),
            stdout: "é".repeat(OUTPUT_EXCERPT),
            stderr: String::new(),
            duration_ms: 41,
            timed_out: false,
        });
        {
            let log = AuditLog::open(&path).unwrap();
            log.append(&refused).unwrap();
            log.append(&ran).unwrap();
        }
        let rejected = AuditRecord::decided(
            "s2",
            &undo,
            &Decision::Rejected {
                reason: "backfill running".into(),
            },
        );
        AuditLog::open(&path).unwrap().append(&rejected).unwrap();

        let records = AuditLog::read(&path).unwrap();
        assert_eq!(records, vec![refused, ran.clone(), rejected]);
        let execution = ran.execution.unwrap();
        assert_eq!(execution.stdout.len(), OUTPUT_EXCERPT);
        assert_eq!(execution.exit_code, Some(0));

        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["session"], "s1");
        assert_eq!(first["class"], "write");
        assert_eq!(first["decision"]["decision"], "refused");
        assert!(first.get("execution").is_none());
        assert!(
            DateTime::parse_from_rfc3339(first["time"].as_str().unwrap()).is_ok(),
            "{first}"
        );
    }

    #[test]
    fn records_can_be_scrubbed_before_writing() {
        let redactor = Redactor::new(&AgentConfig::default()).unwrap();
        let cmd = proposal(
            3,
            "curl -H 'Authorization: Bearer 8f14e45fceea167a5a36' http://x",
            ActionClass::Write,
        );
        let record = AuditRecord::decided(
            "s1",
            &cmd,
            &Decision::Approved {
                scope: ApprovalScope::Once,
            },
        )
        .with_execution(&ExecOutput {
            exit_code: Some(0),
            stdout: "password=hunter2\n".into(),
            stderr: String::new(),
            duration_ms: 5,
            timed_out: false,
        })
        .redacted(&redactor);
        assert!(
            !record.command.contains("8f14e45fceea167a5a36"),
            "{}",
            record.command
        );
        assert_eq!(
            record.execution.unwrap().stdout,
            "password=[REDACTED:password#1]\n"
        );
    }

    #[test]
    fn a_broken_line_is_reported_with_its_number() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        std::fs::write(&path, "{\"not\": \"a record\"}\n").unwrap();
        let err = AuditLog::read(&path).unwrap_err().to_string();
        assert!(err.contains("audit.jsonl:1"), "{err}");
    }
}
