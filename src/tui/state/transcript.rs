//! Transcript entries: the session's timeline as the user reads it. Tool calls,
//! checkpoints and actions are referenced by id so their latest state shows in place.

use crate::protocol::{
    ActionId, Answer, CallId, CheckpointId, Decision, ErrorKind, Playbook, TimelineEntry,
    TurnStatus,
};
use crate::tui::widgets::markdown::render_markdown;
use crate::tui::widgets::rich::RichLine;

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    User {
        text: String,
    },
    /// Assistant text; `lines` is its Markdown, rendered when the text changes.
    Assistant {
        text: String,
        done: bool,
        lines: Vec<RichLine>,
    },
    Playbook {
        playbook: Playbook,
        reason: String,
    },
    Tool {
        call: CallId,
    },
    Feedback {
        id: u64,
    },
    Checkpoint {
        id: CheckpointId,
    },
    Action {
        id: ActionId,
    },
    Decision {
        action: ActionId,
        decision: Decision,
    },
    ActionOutput {
        action: ActionId,
        command: String,
        exit_code: Option<i32>,
        stdout: String,
        stderr: String,
        duration_ms: u64,
    },
    Error {
        kind: ErrorKind,
        message: String,
        recoverable: bool,
    },
    TurnEnd {
        status: TurnStatus,
        answer: Option<Answer>,
    },
    /// The changes around the alert's start.
    Timeline {
        start: Option<String>,
        entries: Vec<TimelineEntry>,
    },
}

impl Entry {
    pub fn assistant(text: String, done: bool) -> Entry {
        let lines = render_markdown(&text);
        Entry::Assistant { text, done, lines }
    }

    /// Whether the entry has output that `toggle_tool_output` shows or hides.
    pub fn is_collapsible(&self) -> bool {
        matches!(self, Entry::Tool { .. } | Entry::ActionOutput { .. })
    }
}
