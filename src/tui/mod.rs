//! The terminal UI: one select! loop over terminal input and agent events; panes are
//! reducers over [`crate::protocol::Event`] plus pure render functions.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod keymap;
pub mod theme;

pub use keymap::{Action, Keymap, KeymapError};
pub use theme::Theme;
