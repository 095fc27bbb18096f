//! The TUI's interface to the launcher: what comes in ([`AppEvent`]) and what goes out
//! ([`UiOutput`]). The agent's own traffic is [`crate::protocol`]; everything else the
//! launcher does for the view (switching context, loading a file region, loading a theme)
//! is a request out and an event back, so the view never does I/O.

use crate::protocol::{Event, Op};
use crate::tui::state::StatusInfo;
use crate::tui::theme::Theme;

/// Everything that can change what the TUI shows, besides keys.
#[derive(Debug, Clone)]
pub enum AppEvent {
    /// An agent event from the protocol bus.
    Agent(Event),
    /// Repo, branch, index, cluster, model and mode, as the launcher knows them now.
    Status(StatusInfo),
    /// The code region asked for by [`UiOutput::PreviewRequest`]. It echoes the request,
    /// so an answer that arrives after the user moved on is dropped.
    Preview(PreviewContent),
    /// A theme the launcher loaded for `:theme NAME`.
    Theme(Box<Theme>),
    /// A one-line message from the launcher ("namespace is now shop").
    Notice(String),
    /// Spinner frame; the run loop sends these only while a tool runs.
    Tick,
}

/// Lines of a file for the preview overlay.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewContent {
    pub path: String,
    /// The requested range, 1-based and inclusive (as in the request).
    pub start: usize,
    pub end: usize,
    /// Line number of the first line of `text` (the launcher may add context around the
    /// requested range).
    pub first_line: usize,
    /// The text, or why it could not be read.
    pub text: Result<String, String>,
}

/// What a key press asks of the world outside the view.
#[derive(Debug, Clone, PartialEq)]
pub enum UiOutput {
    /// For the agent.
    Op(Op),
    /// For the launcher.
    Command(AppCommand),
    /// Read `path` lines `start..=end` and answer with [`AppEvent::Preview`].
    PreviewRequest {
        path: String,
        start: usize,
        end: usize,
    },
    /// Leave: restore the terminal and exit (an [`Op::Shutdown`] was sent just before).
    Quit,
}

impl UiOutput {
    /// Shut the agent down, then leave.
    pub fn quit() -> Vec<UiOutput> {
        vec![UiOutput::Op(Op::Shutdown), UiOutput::Quit]
    }
}

/// Commands from the `:` palette (and a few panes) that only the launcher can carry out.
/// `None` arguments mean "show me the choices".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCommand {
    /// `:ctx [NAME]` — switch the kube context.
    Context { name: Option<String> },
    /// `:ns [NAME]` — switch the namespace.
    Namespace { name: Option<String> },
    /// `:model [NAME|offline]` — switch the model.
    Model { name: Option<String> },
    /// `:replay [FILE]` — read the cluster from a recorded snapshot.
    Replay { file: Option<String> },
    /// `:index` — refresh the repo index.
    Index,
    /// `:memory [QUERY]` — browse or search memories (answered with a preview).
    Memory { query: Option<String> },
    /// `:forget ID` — delete a memory.
    Forget { id: Option<String> },
    /// `:sessions` — list past sessions.
    Sessions,
    /// `:theme [NAME]` — load a theme; answer with [`AppEvent::Theme`].
    Theme { name: Option<String> },
}

/// Requests the run loop forwards to the launcher.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Command(AppCommand),
    Preview {
        path: String,
        start: usize,
        end: usize,
    },
}
