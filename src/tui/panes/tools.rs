//! Tool calls: a spinner while running, then status, duration and a one-line summary.
//! The selected row in a focused pane shows the equivalent command a person could run.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Ctx, PaneId, Row, format_duration, matches, pane_block, render_empty, render_rows};
use crate::protocol::ToolStatus;
use crate::tui::state::{ToolRow, ToolState};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_lines};

/// Indices into `state.tools` that pass the pane's filter.
pub fn visible(ctx: &Ctx) -> Vec<usize> {
    let f = ctx.view.filter(PaneId::Tools);
    ctx.state
        .tools
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            matches(
                f,
                &[&t.tool, &t.command, t.summary.as_deref().unwrap_or("")],
            )
        })
        .map(|(i, _)| i)
        .collect()
}

/// Icon and its scope for a tool's state.
pub fn status_icon(ctx: &Ctx, state: ToolState) -> (&'static str, &'static str) {
    match state {
        ToolState::Running => (
            super::SPINNER[ctx.state.spinner % super::SPINNER.len()],
            "tool.status.running",
        ),
        ToolState::Finished(ToolStatus::Ok) => ("✓", "tool.status.ok"),
        ToolState::Finished(ToolStatus::Error) => ("✗", "tool.status.error"),
        ToolState::Finished(ToolStatus::TimedOut) => ("✗", "tool.status.timed_out"),
        ToolState::Finished(ToolStatus::Cancelled) => ("–", "tool.status.cancelled"),
    }
}

fn status_word(state: ToolState) -> Option<&'static str> {
    match state {
        ToolState::Running => Some("running"),
        ToolState::Finished(ToolStatus::Ok) => None,
        ToolState::Finished(ToolStatus::Error) => Some("failed"),
        ToolState::Finished(ToolStatus::TimedOut) => Some("timed out"),
        ToolState::Finished(ToolStatus::Cancelled) => Some("cancelled"),
    }
}

/// The header line of one tool call; with `summary` the summary follows on the same line.
pub fn header(ctx: &Ctx, t: &ToolRow, name_width: usize, summary: bool) -> Line<'static> {
    let (icon, scope) = status_icon(ctx, t.state);
    let mut spans = vec![
        Span::styled(format!("{icon} "), ctx.style(scope)),
        Span::styled(format!("{:<name_width$}", t.tool), ctx.style("tool.name")),
    ];
    let dur = t.duration_ms.map(format_duration).unwrap_or_default();
    spans.push(Span::styled(
        format!(" {dur:>6}"),
        ctx.style("tool.duration"),
    ));
    if let Some(word) = status_word(t.state) {
        spans.push(Span::styled(format!(" {word}"), ctx.style(scope)));
    }
    if summary && let Some(text) = &t.summary {
        spans.push(Span::styled(format!(" {text}"), ctx.style("ui.text")));
    }
    if t.truncated {
        spans.push(Span::styled(" (cut)", ctx.style("tool.truncated")));
    }
    Line::from(spans)
}

/// The command and arguments of a tool call, for details and expanded transcript rows.
pub fn details(t: &ToolRow) -> Vec<RichLine> {
    let mut lines = Vec::new();
    if let Some(summary) = &t.summary {
        lines.push(
            RichLine::plain(summary.clone(), "ui.text")
                .with_prefix(vec![RichSpan::new("  ", "ui.text")]),
        );
    }
    if !t.command.is_empty() {
        lines.push(
            RichLine::new(vec![RichSpan::new(t.command.clone(), "tool.command")])
                .with_prefix(vec![RichSpan::new("  $ ", "tool.command")])
                .wrap(WrapMode::Char),
        );
    }
    if t.truncated {
        lines.push(
            RichLine::plain("output was cut before the model saw it", "tool.truncated")
                .with_prefix(vec![RichSpan::new("  ", "ui.text")]),
        );
    }
    lines
}

pub fn render(ctx: &Ctx, area: Rect, buf: &mut Buffer) {
    let rows_idx = visible(ctx);
    let running = ctx
        .state
        .tools
        .iter()
        .filter(|t| t.state == ToolState::Running)
        .count();
    let badge = match (ctx.state.tools.len(), running) {
        (0, _) => None,
        (n, 0) => Some(n.to_string()),
        (n, r) => Some(format!("{n} · {r} running")),
    };
    let block = pane_block(ctx, PaneId::Tools, badge);
    let inner = block.inner(area);
    block.render(area, buf);
    if rows_idx.is_empty() {
        let text = if ctx.state.tools.is_empty() {
            "No tool calls yet"
        } else {
            "No tool call matches the filter"
        };
        render_empty(ctx, text, inner, buf);
        return;
    }
    let focused = ctx.focused(PaneId::Tools);
    let selected = if focused {
        super::selected_index(ctx, PaneId::Tools, rows_idx.len())
    } else {
        None
    };
    let name_width = rows_idx
        .iter()
        .map(|i| ctx.state.tools[*i].tool.chars().count())
        .max()
        .unwrap_or(0)
        .min(usize::from(inner.width / 3).max(4));
    let mut compact = Vec::with_capacity(rows_idx.len());
    let mut full = Vec::with_capacity(rows_idx.len());
    for i in &rows_idx {
        let t = &ctx.state.tools[*i];
        compact.push(Row {
            lines: vec![header(ctx, t, name_width, true)],
        });
        let mut lines = vec![header(ctx, t, name_width, false)];
        lines.extend(wrap_lines(&details(t), ctx.theme, inner.width));
        full.push(Row { lines });
    }
    // Rows opened from the transcript or with `o` stay open.
    for (pos, i) in rows_idx.iter().enumerate() {
        if ctx.view.expanded_tools.contains(&ctx.state.tools[*i].call) {
            compact[pos] = Row {
                lines: full[pos].lines.clone(),
            };
        }
    }
    let rows = super::fit(compact, full, selected, usize::from(inner.height));
    render_rows(&rows, selected, ctx.style("ui.selection"), inner, buf);
}
