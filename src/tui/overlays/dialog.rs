//! What every dialog draws with: a centred bordered popup, its title, a line of key
//! hints, and an optional text field; and how scrolling dialogs move.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use crate::tui::keymap::Action;
use crate::tui::panes::Ctx;

/// Draw a dialog: `lines` in a bordered popup of `width` centred in `area`, with a text
/// field (`› ` and the input) over the blank rows at `input` = (row, rows, field).
/// Returns where the cursor goes.
pub fn render_dialog(
    ctx: &Ctx,
    area: Rect,
    buf: &mut ratatui::buffer::Buffer,
    width: u16,
    heading: String,
    lines: Vec<Line>,
    input: Option<(usize, usize, &crate::tui::widgets::text_input::TextInput)>,
) -> Option<ratatui::layout::Position> {
    use ratatui::widgets::{Clear, Widget};
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let block = popup_block(ctx, title(ctx, heading));
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 0));
    block.render(rect, buf);
    for (i, line) in lines
        .into_iter()
        .enumerate()
        .take(usize::from(inner.height))
    {
        line.render(Rect::new(inner.x, inner.y + i as u16, inner.width, 1), buf);
    }
    let (row, rows, text) = input?;
    if row >= usize::from(inner.height) || inner.width < 3 {
        return None;
    }
    let y = inner.y + row as u16;
    let h = (rows as u16).min(inner.height - row as u16);
    Line::from(Span::styled("› ", ctx.style("ui.hint.key")))
        .render(Rect::new(inner.x, y, 2, 1), buf);
    let field = Rect::new(inner.x + 2, y, inner.width - 2, h);
    text.render(field, buf, ctx.style("ui.text"))
}

/// A `width`×`height` rectangle centred in `area` (clamped to it).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

pub fn popup_block<'a>(ctx: &Ctx, title: Line<'a>) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Thick)
        .border_style(ctx.style("ui.popup.border"))
        .style(ctx.style("ui.popup"))
        .title(title)
}

pub fn title<'a>(ctx: &Ctx, text: String) -> Line<'a> {
    Line::from(Span::styled(
        format!(" {text} "),
        ctx.style("ui.popup.title"),
    ))
}

/// `key label` pairs as one hint line: "y approve once · n reject".
pub fn hint_line(ctx: &Ctx, hints: &[(Option<String>, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, label) in hints {
        let Some(key) = key else { continue };
        if !spans.is_empty() {
            spans.push(Span::styled("  ", ctx.style("ui.hint")));
        }
        spans.push(Span::styled(key.clone(), ctx.style("ui.hint.key")));
        spans.push(Span::styled(format!(" {label}"), ctx.style("ui.hint")));
    }
    Line::from(spans)
}

/// Scroll a dialog's text for a movement key; false when `action` is not one.
pub fn scroll(scroll: &mut usize, action: Action, page: usize, max: usize) -> bool {
    match action {
        Action::ScrollDown | Action::SelectNext => *scroll = (*scroll + 1).min(max),
        Action::ScrollUp | Action::SelectPrev => *scroll = scroll.saturating_sub(1),
        Action::PageDown => *scroll = (*scroll + page).min(max),
        Action::PageUp => *scroll = scroll.saturating_sub(page),
        Action::ScrollTop => *scroll = 0,
        Action::ScrollBottom => *scroll = max,
        _ => return false,
    }
    true
}
