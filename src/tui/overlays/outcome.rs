//! What a key did to the open dialog, for the app to carry out.

use crate::tui::event::UiOutput;
use crate::tui::keymap::Context;

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not this dialog's key: the global bindings get it.
    Pass,
    /// Handled; the dialog stays open.
    Stay,
    /// Handled; the dialog closes, then these go out.
    Close(Vec<UiOutput>),
    /// The help screen for these contexts takes the dialog's place (what the dialog was
    /// deciding stays pending).
    Help(Vec<Context>),
    /// The memory browser opens at once (it fills when the listing arrives), then these
    /// go out.
    MemoryBrowser(Vec<UiOutput>),
    /// Preview another file of a checkpoint's evidence.
    Evidence {
        checkpoint: Option<u64>,
        index: usize,
    },
}
