//! [`App`]: the state, the keymap, the theme, focus and dialogs, with the three entry
//! points the run loop needs: [`App::handle_key`], [`App::handle_app_event`] and
//! [`App::render`]. Keys become [`UiOutput`]s; nothing here does I/O.

mod keys;
mod model;
mod render;

pub use crate::tui::overlays::preview::MEMORIES;
pub use model::App;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;

use crate::protocol::Event;
use crate::tui::event::{AppEvent, UiOutput};
use crate::tui::keymap::{Action, Keymap};
use crate::tui::overlays::{ApprovalOverlay, Overlay};
use crate::tui::panes::composer::Composer;
use crate::tui::panes::{PaneId, ViewState};
use crate::tui::state::{AppState, NoticeLevel, StatusInfo};
use crate::tui::theme::Theme;

impl App {
    pub fn new(keymap: Keymap, theme: Theme, status: StatusInfo) -> Self {
        let mut state = AppState::new(status);
        if let Some(first) = theme.warnings.first() {
            let more = theme.warnings.len() - 1;
            let tail = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            state.notify(NoticeLevel::Warning, format!("{first}{tail}"));
        }
        Self {
            state,
            view: ViewState::default(),
            keymap,
            theme,
            composer: Composer::default(),
            overlay: None,
            size: Rect::new(0, 0, 80, 24),
            dirty: true,
            armed: None,
        }
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    pub fn overlay(&self) -> Option<&Overlay> {
        self.overlay.as_ref()
    }

    /// Let an open approval dialog take decisions at once, as if it had been open for a
    /// while (tests drive keys faster than a person).
    pub fn settle_dialog(&mut self) {
        if let Some(Overlay::Approval(a)) = &mut self.overlay {
            *a = a
                .clone()
                .aged(crate::tui::overlays::approval::DECISION_DELAY);
        }
    }

    pub fn composer_text(&self) -> &str {
        self.composer.input.text()
    }

    /// Whether something changed since the last [`App::mark_drawn`].
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn mark_drawn(&mut self) {
        self.dirty = false;
    }

    /// The spinner turns only while a tool runs.
    pub fn needs_tick(&self) -> bool {
        self.state.tool_running()
    }

    pub fn resize(&mut self, width: u16, height: u16) {
        self.size = Rect::new(0, 0, width, height);
        self.dirty = true;
    }

    /// A key press; returns what the world outside the view should do.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<UiOutput> {
        keys::handle_key(self, key)
    }

    /// Bracketed paste: into the open text field, else into the composer.
    pub fn handle_paste(&mut self, text: &str) {
        self.dirty = true;
        if let Some(input) = self.active_input() {
            input.insert_str(text);
            self.after_edit();
            return;
        }
        self.overlay = None;
        self.view.focus = PaneId::Composer;
        self.composer.input.insert_str(text);
    }

    pub fn handle_app_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::Agent(ev) => self.apply_agent_event(&ev),
            AppEvent::Status(status) => {
                self.state.status = status;
                self.dirty = true;
            }
            AppEvent::Preview(content) => {
                if let Some(Overlay::Preview(p)) = &mut self.overlay
                    && p.receive(content)
                {
                    self.dirty = true;
                }
            }
            AppEvent::Theme(theme) => {
                if let Some(w) = theme.warnings.first() {
                    self.state.notify(NoticeLevel::Warning, w.clone());
                } else {
                    self.state
                        .notify(NoticeLevel::Info, format!("theme {}", theme.name));
                }
                self.theme = *theme;
                self.dirty = true;
            }
            AppEvent::Notice(text) => {
                self.state.notify(NoticeLevel::Info, text);
                self.dirty = true;
            }
            AppEvent::Tick => {
                if self.state.tool_running() {
                    self.state.tick();
                    self.dirty = true;
                }
            }
        }
    }

    fn apply_agent_event(&mut self, ev: &Event) {
        self.state.apply(ev);
        self.dirty = true;
        match ev {
            // A quit armed while the run was going now has nothing to cancel: say so
            // rather than leave the warning up.
            Event::TurnComplete { .. }
                if matches!(self.armed, Some((Action::Quit, _))) && !self.state.is_running() =>
            {
                self.armed = None;
                let key = self
                    .keymap
                    .hint(&[crate::tui::keymap::Context::Global], Action::Quit)
                    .unwrap_or_else(|| "the quit key".into());
                self.state.notify(
                    NoticeLevel::Info,
                    format!("the run finished: press {key} to quit"),
                );
            }
            Event::ActionProposed { action } => {
                self.view.side_tab = PaneId::Actions;
                // Open the dialog only when nobody is typing: a `y` meant for the
                // composer must never approve anything.
                let typing = !self.composer.input.is_empty() && self.view.focus == PaneId::Composer;
                if action.preapproved_by.is_some() {
                    // Approved for the session already: it runs without a question.
                } else if self.overlay.is_none() && !typing {
                    self.overlay = Some(Overlay::Approval(ApprovalOverlay::new(action.id)));
                } else {
                    let key = self
                        .keymap
                        .hint(&[crate::tui::keymap::Context::Global], Action::Decide)
                        .map(|k| format!(": press {k} to decide"))
                        .unwrap_or_default();
                    self.state.notify(
                        NoticeLevel::Warning,
                        format!("action #{} proposed{key}", action.id),
                    );
                }
            }
            Event::MemoryProposed { memory, .. } => {
                let typing = !self.composer.input.is_empty() && self.view.focus == PaneId::Composer;
                if self.overlay.is_none() && !typing {
                    self.overlay = Some(Overlay::Remember(
                        crate::tui::overlays::RememberOverlay::new(memory.clone()),
                    ));
                } else {
                    let key = self
                        .keymap
                        .hint(&[crate::tui::keymap::Context::Global], Action::Decide)
                        .map(|k| format!(": press {k} to keep or discard it"))
                        .unwrap_or_default();
                    self.state
                        .notify(NoticeLevel::Info, format!("memory {memory} proposed{key}"));
                }
            }
            Event::MemoryUpdated { memory, .. } => {
                if matches!(&self.overlay, Some(Overlay::Remember(r)) if &r.memory == memory) {
                    self.overlay = None;
                }
            }
            Event::ActionDecided { action, .. } => {
                if matches!(&self.overlay, Some(Overlay::Approval(a)) if a.action == *action) {
                    self.overlay = None;
                }
            }
            _ => {}
        }
    }

    /// Draw everything. Pure: reads state, writes the frame.
    pub fn render(&self, frame: &mut Frame) {
        render::render(self, frame);
    }
}
