//! Dialogs drawn over the panes. Each owns its small state; keys reach the open one first.

pub mod approval;
pub mod filter;
pub mod help;
pub mod palette;
pub mod preview;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use crate::tui::panes::Ctx;

pub use approval::{ApprovalMode, ApprovalOverlay};
pub use filter::FilterOverlay;
pub use help::HelpOverlay;
pub use palette::PaletteOverlay;
pub use preview::PreviewOverlay;

#[derive(Debug, Clone)]
pub enum Overlay {
    Approval(ApprovalOverlay),
    Help(HelpOverlay),
    Palette(PaletteOverlay),
    Filter(FilterOverlay),
    Preview(PreviewOverlay),
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
