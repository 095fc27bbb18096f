//! The terminal UI: one select! loop over terminal input and agent events; panes are
//! reducers over [`crate::protocol::Event`] plus pure render functions.
//!
//! Wiring, for the launcher:
//! 1. Load [`Keymap::load`] and [`Theme::load`] from `[tui]` config, fill a [`StatusInfo`].
//! 2. Build an [`App`], enter the terminal with [`terminal::enter`] (a guard restores it
//!    on drop, on panic and on SIGTERM).
//! 3. Call [`run`] with a receiver of [`AppEvent`]s (agent events wrapped in
//!    [`AppEvent::Agent`], status updates, preview content), a sender of
//!    [`crate::protocol::Op`]s for the agent, and a sender of [`Request`]s (palette
//!    commands and preview reads) for the launcher.

pub(crate) mod app;
pub mod bench;
pub mod event;
pub mod keymap;
pub mod launch;
pub mod layout;
pub mod overlays;
pub mod panes;
mod run;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod widgets;

#[cfg(test)]
mod tests;

pub use app::App;
pub use event::{AppCommand, AppEvent, PreviewContent, Request, UiOutput};
pub use keymap::{Action, Keymap, KeymapError};
pub use run::{RunError, run, run_with_input};
pub use state::{AppState, ClusterState, IndexState, StatusInfo};
pub use theme::Theme;
