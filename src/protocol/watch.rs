//! What `triage watch` reports: one event per thing it did (an alert received, an
//! investigation queued, started, joined, closed, notified or kept quiet). The watch
//! emits them; the headless printer, the inbox log and the TUI inbox read them.

use serde::{Deserialize, Serialize};

/// One thing the watch did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WatchEvent {
    /// The receiver is up.
    Listening {
        address: String,
        path: String,
        cluster: Option<String>,
        threshold: f32,
    },
    /// The cluster picture finished a full list (at start, or after a 410 or an error).
    ClusterSynced {
        types: usize,
        objects: usize,
        resyncs: u64,
    },
    /// One alert of a webhook call.
    AlertReceived {
        group_key: String,
        fingerprint: String,
        alertname: String,
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        investigation: Option<String>,
    },
    /// A webhook call that was refused (and why).
    PayloadRejected {
        status: u16,
        reason: String,
    },
    /// A new investigation waits for a slot.
    InvestigationQueued {
        investigation: String,
        group_key: String,
        request: String,
        /// 1 = next to start.
        position: usize,
        queued: usize,
        running: usize,
    },
    InvestigationStarted {
        investigation: String,
        session: String,
        request: String,
        waited_ms: u64,
    },
    /// An alert joined an investigation already open (a repeat, another alert of the
    /// group, or a flap).
    InvestigationJoined {
        investigation: String,
        fingerprint: String,
        reason: String,
    },
    InvestigationClosed {
        investigation: String,
        note: String,
    },
    /// The answer cleared the threshold and was sent.
    Notified {
        investigation: String,
        session: String,
        confidence: f32,
        threshold: f32,
        threshold_from: String,
        summary: String,
        targets: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stale: Option<String>,
    },
    /// Nothing was sent: below the threshold, no answer, over budget, or resolved first.
    Quiet {
        investigation: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f32>,
        threshold: f32,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        summary: Option<String>,
    },
    /// A notification target could not be reached (after retries).
    NotifyFailed {
        investigation: String,
        target: String,
        error: String,
    },
    /// Something went wrong that the watch carries on after.
    Warning {
        message: String,
    },
}

impl WatchEvent {
    /// The investigation an event is about, if any.
    pub fn investigation(&self) -> Option<&str> {
        match self {
            WatchEvent::AlertReceived { investigation, .. } => investigation.as_deref(),
            WatchEvent::InvestigationQueued { investigation, .. }
            | WatchEvent::InvestigationStarted { investigation, .. }
            | WatchEvent::InvestigationJoined { investigation, .. }
            | WatchEvent::InvestigationClosed { investigation, .. }
            | WatchEvent::Notified { investigation, .. }
            | WatchEvent::Quiet { investigation, .. }
            | WatchEvent::NotifyFailed { investigation, .. } => Some(investigation),
            _ => None,
        }
    }
}

/// A line of the inbox log: the event and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// RFC 3339.
    pub t: String,
    #[serde(flatten)]
    pub event: WatchEvent,
}
