//! The watch inbox: every investigation `triage watch` opened, notified or kept quiet,
//! newest first, with the selected one in detail. A reducer over the watch's events
//! (live, or read back from the inbox log) and a pure render.

mod render;
mod run;
mod state;

pub use render::render;
pub use run::run_live;
pub use state::{InboxState, Row, RowState};

#[cfg(test)]
mod tests;
