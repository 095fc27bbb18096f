//! Dialogs drawn over the panes. Each owns its small state; keys reach the open one first.

pub mod approval;
pub mod dialog;
pub mod filter;
pub mod help;
pub mod outcome;
pub mod palette;
pub mod preview;
pub mod remember;

use crate::tui::keymap::Context;

pub use approval::{ApprovalMode, ApprovalOverlay};
pub use filter::FilterOverlay;
pub use help::HelpOverlay;
pub use outcome::Outcome;
pub use palette::PaletteOverlay;
pub use preview::PreviewOverlay;
pub use remember::RememberOverlay;

#[derive(Debug, Clone)]
pub enum Overlay {
    Approval(ApprovalOverlay),
    Help(HelpOverlay),
    Palette(PaletteOverlay),
    Filter(FilterOverlay),
    Preview(PreviewOverlay),
    Remember(RememberOverlay),
}

impl Overlay {
    /// The keymap contexts a key is looked up in while this dialog is open (before
    /// `global`), and whether printable keys type into it.
    pub fn contexts(&self) -> (Vec<Context>, bool) {
        match self {
            Overlay::Approval(a) => a.contexts(),
            Overlay::Remember(r) => r.contexts(),
            Overlay::Help(_) => (vec![Context::Help], false),
            Overlay::Palette(_) => (vec![Context::Palette, Context::Input], true),
            Overlay::Filter(_) => (vec![Context::Filter, Context::Input], true),
            Overlay::Preview(_) => (vec![Context::Preview], false),
        }
    }
}
