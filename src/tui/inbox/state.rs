//! The inbox's state: a reducer over the watch's events, one row per investigation.

use std::collections::HashMap;

use crate::protocol::watch::{Logged, WatchEvent};

/// Where an investigation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Queued,
    Running,
    Notified,
    Quiet,
}

impl RowState {
    pub fn label(self) -> &'static str {
        match self {
            RowState::Queued => "queued",
            RowState::Running => "running",
            RowState::Notified => "NOTIFIED",
            RowState::Quiet => "quiet",
        }
    }
}

/// One investigation in the inbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub investigation: String,
    pub request: String,
    pub state: RowState,
    pub closed: Option<String>,
    pub session: Option<String>,
    pub confidence: Option<f32>,
    pub threshold: Option<f32>,
    /// Why it stayed quiet, or the answer's heading when it was sent.
    pub detail: Option<String>,
    pub joined: u32,
    pub targets: Vec<String>,
    pub problems: Vec<String>,
    /// When it last changed (HH:MM:SS).
    pub updated: String,
}

/// The inbox: rows in the order they were opened, the selection, and the header facts.
#[derive(Debug, Clone, Default)]
pub struct InboxState {
    rows: Vec<Row>,
    index: HashMap<String, usize>,
    pub selected: usize,
    pub listening: Option<String>,
    pub cluster: Option<String>,
    pub threshold: Option<f32>,
    pub picture: Option<String>,
    pub rejected: u32,
    pub last_warning: Option<String>,
}

impl InboxState {
    /// Rows newest first (the order they are shown in).
    pub fn rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.rows().nth(self.selected)
    }

    pub fn count(&self, state: RowState) -> usize {
        self.rows.iter().filter(|r| r.state == state).count()
    }

    pub fn select_next(&mut self) {
        if self.selected + 1 < self.rows.len() {
            self.selected += 1;
        }
    }

    pub fn select_prev(&mut self) {
        self.selected = self.selected.saturating_sub(1);
    }

    fn row(&mut self, id: &str, t: &str) -> Option<&mut Row> {
        let i = *self.index.get(id)?;
        let row = self.rows.get_mut(i)?;
        row.updated = clock(t);
        Some(row)
    }

    /// Apply one logged event.
    pub fn apply(&mut self, logged: &Logged) {
        let t = logged.t.as_str();
        match &logged.event {
            WatchEvent::Listening {
                address,
                cluster,
                threshold,
                ..
            } => {
                self.listening = Some(address.clone());
                self.cluster = cluster.clone();
                self.threshold = Some(*threshold);
            }
            WatchEvent::ClusterSynced {
                objects, resyncs, ..
            } => {
                self.picture = Some(format!(
                    "{objects} objects watched{}",
                    if *resyncs > 0 {
                        format!(", {resyncs} resyncs")
                    } else {
                        String::new()
                    }
                ));
            }
            WatchEvent::PayloadRejected { .. } => self.rejected += 1,
            WatchEvent::Warning { message } => self.last_warning = Some(message.clone()),
            WatchEvent::InvestigationQueued {
                investigation,
                request,
                ..
            } => {
                // A row seen before (an inbox log read twice) is kept, not repeated.
                if self.index.contains_key(investigation) {
                    return;
                }
                self.index.insert(investigation.clone(), self.rows.len());
                self.rows.push(Row {
                    investigation: investigation.clone(),
                    request: request.clone(),
                    state: RowState::Queued,
                    closed: None,
                    session: None,
                    confidence: None,
                    threshold: None,
                    detail: None,
                    joined: 0,
                    targets: Vec::new(),
                    problems: Vec::new(),
                    updated: clock(t),
                });
                // The selection stays on the row it was on.
                if self.selected > 0 {
                    self.selected += 1;
                }
            }
            other => self.apply_to_row(other, t),
        }
    }

    fn apply_to_row(&mut self, ev: &WatchEvent, t: &str) {
        let Some(id) = ev.investigation() else { return };
        let Some(row) = self.row(id, t) else { return };
        match ev {
            WatchEvent::InvestigationStarted { session, .. } => {
                row.state = RowState::Running;
                row.session = Some(session.clone());
            }
            WatchEvent::InvestigationJoined { .. } => row.joined += 1,
            WatchEvent::InvestigationClosed { note, .. } => row.closed = Some(note.clone()),
            WatchEvent::Notified {
                session,
                confidence,
                threshold,
                summary,
                targets,
                stale,
                ..
            } => {
                row.state = RowState::Notified;
                row.session = Some(session.clone());
                row.confidence = Some(*confidence);
                row.threshold = Some(*threshold);
                row.detail = Some(summary.clone());
                row.targets = targets.clone();
                if let Some(s) = stale {
                    row.problems.push(s.clone());
                }
            }
            WatchEvent::Quiet {
                session,
                confidence,
                threshold,
                reason,
                ..
            } => {
                row.state = RowState::Quiet;
                row.session = session.clone().or(row.session.take());
                row.confidence = *confidence;
                row.threshold = Some(*threshold);
                row.detail = Some(reason.clone());
            }
            WatchEvent::NotifyFailed { target, error, .. } => {
                row.problems.push(format!("{target}: {error}"));
            }
            _ => {}
        }
    }
}

/// `HH:MM:SS` of an RFC 3339 time.
fn clock(t: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(t)
        .map(|d| d.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}
