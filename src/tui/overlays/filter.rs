//! The `/` filter line: narrows the focused pane's rows as you type. Enter keeps the
//! filter (shown in the pane's title), Esc clears it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::dialog::hint_line;
use super::outcome::Outcome;
use crate::tui::keymap::{Action, Context};
use crate::tui::panes::{Ctx, PaneId, ViewState};
use crate::tui::widgets::text_input::TextInput;

#[derive(Debug, Clone, PartialEq)]
pub struct FilterOverlay {
    pub pane: PaneId,
    pub input: TextInput,
}

impl FilterOverlay {
    pub fn new(pane: PaneId, current: Option<&str>) -> Self {
        Self {
            pane,
            input: TextInput::single_line().with_text(current.unwrap_or("")),
        }
    }

    /// A key on the filter line: Enter keeps the filter (an empty one is dropped), Esc
    /// clears it.
    pub fn handle(&self, action: Action, view: &mut ViewState) -> Outcome {
        let pane = self.pane;
        match action {
            Action::Submit => {
                if view.filter(pane).is_none() {
                    view.filters.remove(&pane);
                }
                Outcome::Close(Vec::new())
            }
            Action::Close => {
                view.filters.remove(&pane);
                view.selected.remove(&pane);
                Outcome::Close(Vec::new())
            }
            Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Palette => Outcome::Stay,
            _ => Outcome::Pass,
        }
    }
}

/// Drawn over the status line, like a pager's search prompt.
pub fn render(ctx: &Ctx, ov: &FilterOverlay, area: Rect, buf: &mut Buffer) -> Option<Position> {
    if area.width < 4 || area.height == 0 {
        return None;
    }
    Clear.render(area, buf);
    buf.set_style(area, ctx.style("ui.statusline"));
    let label = format!("filter {}: /", ov.pane.title().to_lowercase());
    let label_w = label.chars().count() as u16;
    Line::from(Span::styled(label, ctx.style("ui.filter"))).render(area, buf);
    let keys = |a: Action| ctx.keymap.hint(&[Context::Filter], a);
    let hints = hint_line(
        ctx,
        &[
            (keys(Action::Submit), "keep"),
            (keys(Action::Close), "clear"),
        ],
    );
    let hints_w = hints.width() as u16;
    let field_x = area.x + label_w.min(area.width);
    let room = area.width.saturating_sub(label_w);
    let show_hints = room > hints_w + 12;
    let field_w = if show_hints { room - hints_w - 2 } else { room };
    if show_hints {
        hints.render(
            Rect::new(area.x + area.width - hints_w, area.y, hints_w, 1),
            buf,
        );
    }
    ov.input.render(
        Rect::new(field_x, area.y, field_w, 1),
        buf,
        ctx.style("ui.text"),
    )
}
