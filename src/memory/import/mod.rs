//! `triage memory import`: past incidents as proposed episodes. A Slack export's threads
//! and Markdown postmortems are read, the incident threads found, and each becomes an
//! episodic memory (alert, service, what was found, what was done, pull requests) in the
//! `proposed` state: recall ignores it until a person confirms it, and once confirmed it
//! is still a hypothesis that a read checks before anything relies on it.

pub mod error;
pub mod extract;
pub mod postmortem;
pub mod slack;

use std::path::PathBuf;

use serde::Serialize;

pub use self::error::ImportError;
use self::extract::{Discussion, Incident};
use super::{Check, Claim, Memory, MemoryKind, MemoryStatus, MemoryStore, Scope};

/// What an import did.
#[derive(Debug, Default, Serialize)]
pub struct ImportReport {
    pub threads_read: usize,
    pub postmortems_read: usize,
    /// Discussions that looked like incidents.
    pub incidents: usize,
    /// New or updated proposals, waiting for a person.
    pub proposed: Vec<Proposed>,
    /// Proposals already confirmed (or retired) by a person, left as they are.
    pub kept: Vec<String>,
    /// Files that could not be read; the rest was imported.
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Proposed {
    pub id: String,
    pub scope: String,
    pub text: String,
    pub origin: String,
}

/// The episode an incident proposes. Its id comes from its source, so importing the same
/// export again updates the proposal instead of adding another.
pub fn episode(d: &Discussion, i: &Incident) -> Memory {
    let what = i
        .alert
        .clone()
        .unwrap_or_else(|| d.title.chars().take(80).collect());
    let mut text = match &i.service {
        Some(s) => format!("{what} on {s}"),
        None => what,
    };
    if !i.found.is_empty() {
        text.push_str(&format!("; found: {}", i.found.join("; ")));
    }
    if !i.done.is_empty() {
        text.push_str(&format!("; done: {}", i.done.join("; ")));
    }
    if !i.prs.is_empty() {
        text.push_str(&format!("; PRs: {}", i.prs.join(" ")));
    }
    text.push_str(&format!(" (from {})", d.origin));
    let scope = Scope {
        alert: i.alert.clone(),
        service: i.service.clone(),
        namespace: i.namespace.clone(),
        ..Scope::default()
    };
    let mut m = Memory::new(
        MemoryKind::Episodic,
        text,
        scope,
        &format!("import:{}", d.source),
    );
    m.id = format!("im-{}", &blake3::hash(d.source.as_bytes()).to_hex()[..8]);
    m.status = MemoryStatus::Proposed;
    m.confidence = 0.5;
    if let (Some(service), false) = (&i.service, i.check == Check::None) {
        let resource = match &i.namespace {
            Some(ns) => format!("Deployment/{ns}/{service}"),
            None => format!("Deployment/{service}"),
        };
        m.claim = Some(Claim {
            resource,
            hypothesis: i
                .found
                .first()
                .or(i.done.first())
                .cloned()
                .unwrap_or_default(),
            check: i.check.clone(),
            actions: Vec::new(),
            expected: false,
        });
    }
    m
}

/// Read the sources and store a proposal for each incident found.
pub async fn import(
    store: &MemoryStore,
    slack_exports: &[PathBuf],
    channels: &[String],
    postmortems: &[PathBuf],
) -> Result<ImportReport, ImportError> {
    let mut report = ImportReport::default();
    let mut found: Vec<(Discussion, Incident)> = Vec::new();
    for export in slack_exports {
        let read = slack::read(export, channels)?;
        report.threads_read += read.threads;
        report.problems.extend(read.problems);
        for d in read.discussions {
            if let Some(i) = extract::extract(&d, false) {
                found.push((d, i));
            }
        }
    }
    for path in postmortems {
        for file in postmortem::files(path)? {
            report.postmortems_read += 1;
            let d = postmortem::read(&file)?;
            match extract::extract(&d, true) {
                Some(i) => found.push((d, i)),
                None => report.problems.push(format!(
                    "{}: no cause or resolution found (sections such as \"Root cause\" and \"Resolution\")",
                    file.display()
                )),
            }
        }
    }
    report.incidents = found.len();
    let existing = store.list().await?;
    let mut writes = Vec::new();
    for (d, i) in &found {
        let m = episode(d, i);
        if existing
            .iter()
            .any(|e| e.id == m.id && e.status != MemoryStatus::Proposed)
        {
            report.kept.push(m.id.clone());
            continue;
        }
        report.proposed.push(Proposed {
            id: m.id.clone(),
            scope: m.scope.to_string(),
            text: m.text.clone(),
            origin: d.origin.clone(),
        });
        writes.push(m);
    }
    if !writes.is_empty() {
        store.upsert(&writes).await?;
    }
    Ok(report)
}

/// A person keeps proposed memories: they become active (recall finds them; they are
/// still checked before an answer relies on them).
pub async fn confirm(store: &MemoryStore, ids: &[String]) -> Result<Vec<String>, ImportError> {
    let mut out = Vec::new();
    let mut writes = Vec::new();
    for id in ids {
        let mut m = store.get(id).await?;
        match m.status {
            MemoryStatus::Proposed => {
                m.status = MemoryStatus::Active;
                m.updated = chrono::Utc::now().timestamp();
                out.push(format!("confirmed {} ({})", m.id, m.title()));
                writes.push(m);
            }
            other => out.push(format!("{} is already {}", m.id, other.as_str())),
        }
    }
    if !writes.is_empty() {
        store.upsert(&writes).await?;
    }
    Ok(out)
}
