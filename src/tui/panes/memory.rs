//! Memories the agent recalled: score, whether the answer used them, and why they matched.
//! Recalled memories are hypotheses to verify, so unused ones stay visible but quiet.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Ctx, PaneId, Row, matches, pane_block, render_empty, render_rows};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_lines};

pub fn visible(ctx: &Ctx) -> Vec<usize> {
    let f = ctx.view.filter(PaneId::Memory);
    ctx.state
        .memory
        .iter()
        .enumerate()
        .filter(|(_, m)| matches(f, &[&m.memory, &m.kind, &m.why]))
        .map(|(i, _)| i)
        .collect()
}

pub fn render(ctx: &Ctx, area: Rect, buf: &mut Buffer) {
    let idx = visible(ctx);
    let used = ctx.state.memory.iter().filter(|m| m.used).count();
    let badge = match ctx.state.memory.len() {
        0 => None,
        n => Some(format!("{n} · {used} used")),
    };
    let block = pane_block(ctx, PaneId::Memory, badge);
    let inner = block.inner(area);
    block.render(area, buf);
    if idx.is_empty() {
        let text = if ctx.state.memory.is_empty() {
            "No memories recalled"
        } else {
            "No memory matches the filter"
        };
        render_empty(ctx, text, inner, buf);
        return;
    }
    let selected = if ctx.focused(PaneId::Memory) {
        super::selected_index(ctx, PaneId::Memory, idx.len())
    } else {
        None
    };
    let mut compact = Vec::with_capacity(idx.len());
    let mut full = Vec::with_capacity(idx.len());
    for i in &idx {
        let m = &ctx.state.memory[*i];
        let (mark, scope, note) = if m.used {
            ("✓", "memory.used", "used by the answer")
        } else {
            ("○", "memory.unused", "recalled, not relied on")
        };
        let mark_span = Span::styled(format!("{mark} "), ctx.style(scope));
        let score = Span::styled(format!("{:.2} ", m.score), ctx.style("memory.score"));
        // Compact: the memory, then why it matched (a recalled memory is only as good
        // as its reason), one row each.
        let why = RichLine::new(vec![
            RichSpan::new(m.kind.clone(), "memory.kind"),
            RichSpan::new(format!(" · {}", m.why), "memory.why"),
        ])
        .with_prefix(vec![RichSpan::new("  ", "ui.text")]);
        let mut lines = vec![Line::from(vec![
            mark_span.clone(),
            score.clone(),
            Span::styled(m.memory.clone(), ctx.style("ui.text")),
        ])];
        lines.extend(wrap_lines(
            &[why.wrap(WrapMode::None)],
            ctx.theme,
            inner.width,
        ));
        compact.push(Row { lines });

        let mut lines = vec![Line::from(vec![
            mark_span,
            score,
            Span::styled(m.kind.clone(), ctx.style("memory.kind")),
            Span::styled(format!(" · {note}"), ctx.style(scope)),
        ])];
        let detail = [
            RichLine::plain(m.memory.clone(), "ui.text")
                .with_prefix(vec![RichSpan::new("  ", "ui.text")]),
            RichLine::plain(m.why.clone(), "memory.why")
                .with_prefix(vec![RichSpan::new("  why ", "memory.why")]),
        ];
        lines.extend(wrap_lines(&detail, ctx.theme, inner.width));
        full.push(Row { lines });
    }
    let rows = super::fit(compact, full, selected, usize::from(inner.height));
    render_rows(&rows, selected, ctx.style("ui.selection"), inner, buf);
}
