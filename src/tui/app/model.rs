//! The [`App`] itself: what the view holds (state, view state, keymap, theme, composer,
//! the open dialog) and the helpers key handling and drawing share.

use ratatui::layout::Rect;

use crate::tui::keymap::{Action, Keymap};
use crate::tui::layout::{self, Areas};
use crate::tui::overlays::Overlay;
use crate::tui::panes::composer::Composer;
use crate::tui::panes::{Ctx, PaneId, ViewState};
use crate::tui::state::AppState;
use crate::tui::theme::Theme;

#[derive(Clone)]
pub struct App {
    pub state: AppState,
    pub view: ViewState,
    pub(super) keymap: Keymap,
    pub(super) theme: Theme,
    pub(super) composer: Composer,
    pub(super) overlay: Option<Overlay>,
    /// The terminal's size, for page lengths (the run loop keeps it current).
    pub(super) size: Rect,
    pub(super) dirty: bool,
    /// A key that needs a second press (quit during a run, rewind), and what it targets.
    pub(super) armed: Option<(Action, u64)>,
}

impl App {
    pub(super) fn ctx(&self) -> Ctx<'_> {
        Ctx {
            state: &self.state,
            view: &self.view,
            theme: &self.theme,
            keymap: &self.keymap,
        }
    }

    pub(super) fn areas_for(&self, area: Rect) -> Areas {
        let width = area.width;
        layout::compute(area, &self.view, self.composer.height(width))
    }

    pub(super) fn areas(&self) -> Areas {
        self.areas_for(self.size)
    }

    pub(super) fn active_input(
        &mut self,
    ) -> Option<&mut crate::tui::widgets::text_input::TextInput> {
        match &mut self.overlay {
            Some(Overlay::Approval(a)) => a.input_mut(),
            Some(Overlay::Remember(r)) => r.edit.as_mut(),
            Some(Overlay::Palette(p)) => Some(&mut p.input),
            Some(Overlay::Filter(f)) => Some(&mut f.input),
            Some(_) => None,
            None if self.view.focus == PaneId::Composer => Some(&mut self.composer.input),
            None => None,
        }
    }

    /// After a text field changed: live filters and palette selection follow it.
    pub(super) fn after_edit(&mut self) {
        match &mut self.overlay {
            Some(Overlay::Filter(f)) => {
                let text = f.input.text().to_string();
                self.view.filters.insert(f.pane, text);
                self.view.selected.remove(&f.pane);
                if f.pane == PaneId::Transcript {
                    self.view.transcript_top = None;
                }
            }
            Some(Overlay::Palette(p)) => p.edited(),
            _ => {}
        }
    }
}
