//! The message box: multi-line input with history. While a run is active, what is sent is
//! feedback that steers the run's next step, and the frame says so.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Ctx, PaneId, pane_frame};
use crate::tui::keymap::{Action, Context};
use crate::tui::widgets::text_input::TextInput;

#[derive(Debug, Clone, Default)]
pub struct Composer {
    pub input: TextInput,
    history: Vec<String>,
    /// Position in `history` while browsing it; `None` is the draft.
    browsing: Option<usize>,
    draft: String,
}

impl Composer {
    /// Previous message, unless the cursor can move up a line first.
    pub fn history_prev(&mut self) {
        if self.input.up() || self.history.is_empty() {
            return;
        }
        let pos = match self.browsing {
            None => {
                self.draft = self.input.text().to_string();
                self.history.len() - 1
            }
            Some(p) => p.saturating_sub(1),
        };
        self.browsing = Some(pos);
        self.input.set(&self.history[pos]);
    }

    /// Next message (or back to the draft), unless the cursor can move down a line first.
    pub fn history_next(&mut self) {
        if self.input.down() {
            return;
        }
        match self.browsing {
            None => {}
            Some(p) if p + 1 < self.history.len() => {
                self.browsing = Some(p + 1);
                self.input.set(&self.history[p + 1]);
            }
            Some(_) => {
                self.browsing = None;
                let draft = std::mem::take(&mut self.draft);
                self.input.set(&draft);
            }
        }
    }

    /// The trimmed text to send, remembered in history; `None` when there is nothing.
    pub fn submit(&mut self) -> Option<String> {
        let text = self.input.text().trim().to_string();
        if text.is_empty() {
            return None;
        }
        self.input.take();
        self.browsing = None;
        self.draft.clear();
        if self.history.last() != Some(&text) {
            self.history.push(text.clone());
        }
        Some(text)
    }

    /// Rows the composer wants, borders included: 1–6 rows of text.
    pub fn height(&self, width: u16) -> u16 {
        let rows = self
            .input
            .height(width.saturating_sub(2).max(1))
            .clamp(1, 6);
        rows as u16 + 2
    }
}

pub fn render(ctx: &Ctx, composer: &Composer, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let running = ctx.state.is_running();
    let queued = ctx.state.feedback.iter().filter(|f| !f.applied).count();
    let badge = (queued > 0).then(|| format!("{queued} queued"));
    let mut title = if running {
        vec![
            Span::styled(" Feedback ", ctx.style("ui.composer.feedback")),
            Span::styled("steers the running investigation ", ctx.style("ui.hint")),
        ]
    } else {
        let focused = ctx.focused(PaneId::Composer);
        let scope = if focused {
            "ui.pane.title.focused"
        } else {
            "ui.pane.title"
        };
        vec![Span::styled(" Message ", ctx.style(scope))]
    };
    if let Some(b) = badge {
        title.push(Span::styled(format!("· {b} "), ctx.style("ui.pane.badge")));
    }
    let title_w: usize = title.iter().map(|s| s.width()).sum();
    let mut block = pane_frame(ctx, PaneId::Composer, title);
    let hint = |a: Action| ctx.keymap.hint(&[Context::Composer], a);
    if let (Some(send), Some(nl)) = (hint(Action::Submit), hint(Action::Newline)) {
        let hints = Line::from(vec![
            Span::styled(format!(" {send}"), ctx.style("ui.hint.key")),
            Span::styled(
                if running { " steer · " } else { " send · " },
                ctx.style("ui.hint"),
            ),
            Span::styled(nl, ctx.style("ui.hint.key")),
            Span::styled(" new line ", ctx.style("ui.hint")),
        ]);
        // Only when both titles fit on the border without overlapping.
        if title_w + hints.width() + 4 <= usize::from(area.width) {
            block = block.title(hints.right_aligned());
        }
    }
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return None;
    }
    if composer.input.is_empty() {
        let placeholder = if running {
            "Steer the run, e.g. \"ignore the canary pods\" (applied before its next step)"
        } else if ctx.state.transcript.is_empty() {
            "Describe the incident, e.g. checkout-api 5xx since 14:05"
        } else {
            "Ask a follow-up"
        };
        Line::from(Span::styled(
            placeholder,
            ctx.style("ui.composer.placeholder"),
        ))
        .render(Rect::new(inner.x, inner.y, inner.width, 1), buf);
    }
    let pos = composer.input.render(inner, buf, ctx.style("ui.text"));
    ctx.focused(PaneId::Composer).then_some(pos).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_browses_back_and_returns_to_the_draft() {
        let mut c = Composer::default();
        c.input.set("first");
        c.submit();
        c.input.set("second");
        c.submit();
        c.input.set("draft");
        c.history_prev();
        assert_eq!(c.input.text(), "second");
        c.history_prev();
        assert_eq!(c.input.text(), "first");
        c.history_prev();
        assert_eq!(c.input.text(), "first");
        c.history_next();
        assert_eq!(c.input.text(), "second");
        c.history_next();
        assert_eq!(c.input.text(), "draft");
    }

    #[test]
    fn blank_messages_are_not_sent() {
        let mut c = Composer::default();
        c.input.set("  \n ");
        assert_eq!(c.submit(), None);
    }
}
