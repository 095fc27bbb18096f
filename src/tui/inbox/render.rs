//! Drawing the inbox: a header, the investigations newest first, the selected one in
//! detail, and the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget, Wrap};

use super::state::{InboxState, Row, RowState};
use crate::tui::theme::Theme;

/// Draw the whole inbox into `area`.
pub fn render(state: &InboxState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let detail_height = if area.height >= 32 { 12 } else { 8 };
    let [header, counts, list, detail, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(detail_height),
        Constraint::Length(1),
    ])
    .areas(area);
    header_line(state, theme).render(header, buf);
    counts_line(state, theme).render(counts, buf);
    render_list(state, theme, list, buf);
    render_detail(state, theme, detail, buf);
    Line::from(vec![
        Span::styled("↑/↓", theme.get("ui.hint.key")),
        Span::styled(" select  ", theme.get("ui.hint")),
        Span::styled("q", theme.get("ui.hint.key")),
        Span::styled(" quit (stops watching)", theme.get("ui.hint")),
    ])
    .render(hints, buf);
}

fn header_line<'a>(state: &'a InboxState, theme: &Theme) -> Line<'a> {
    let dim = theme.get("ui.text.dim");
    let mut spans = vec![Span::styled(" triage watch", theme.get("ui.text.strong"))];
    let mut part = |text: String| {
        spans.push(Span::styled(" · ", dim));
        spans.push(Span::raw(text));
    };
    match &state.listening {
        Some(a) => part(format!("http://{a}/alertmanager")),
        None => part("starting".into()),
    }
    part(format!(
        "cluster {}",
        state.cluster.as_deref().unwrap_or("none")
    ));
    if let Some(t) = state.threshold {
        part(format!("threshold {t:.2}"));
    }
    Line::from(spans)
}

fn counts_line<'a>(state: &'a InboxState, theme: &Theme) -> Line<'a> {
    let dim = theme.get("ui.text.dim");
    let mut spans = vec![
        Span::raw(" "),
        Span::styled(
            format!("{} notified", state.count(RowState::Notified)),
            state_style(theme, RowState::Notified),
        ),
        Span::styled(" · ", dim),
        Span::raw(format!("{} quiet", state.count(RowState::Quiet))),
        Span::styled(" · ", dim),
        Span::raw(format!("{} running", state.count(RowState::Running))),
        Span::styled(" · ", dim),
        Span::raw(format!("{} queued", state.count(RowState::Queued))),
    ];
    if let Some(p) = &state.picture {
        spans.push(Span::styled(" · ", dim));
        spans.push(Span::styled(p.clone(), dim));
    }
    if state.rejected > 0 {
        spans.push(Span::styled(" · ", dim));
        spans.push(Span::styled(
            format!("{} rejected", state.rejected),
            theme.get("ui.statusline.warning"),
        ));
    }
    Line::from(spans)
}

fn state_style(theme: &Theme, s: RowState) -> Style {
    match s {
        RowState::Notified => theme.get("ui.statusline.error"),
        RowState::Running => theme.get("ui.statusline.run.active"),
        RowState::Queued => theme.get("ui.statusline.warning"),
        RowState::Quiet => theme.get("ui.text.dim"),
    }
}

fn pane_block<'a>(theme: &Theme, title: &'a str) -> Block<'a> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.get("ui.pane.border"))
        .title(Span::styled(
            format!(" {title} "),
            theme.get("ui.pane.title"),
        ))
}

fn row_line<'a>(row: &'a Row, theme: &Theme, width: usize) -> Line<'a> {
    let confidence = row
        .confidence
        .map_or("  -  ".to_string(), |c| format!("{c:.2} "));
    let mark = if row.closed.is_some() { "✓" } else { " " };
    // Time, state, confidence and mark take this many columns.
    let head = row.updated.chars().count() + 1 + 8 + 1 + confidence.chars().count() + 2;
    let room = width.saturating_sub(head);
    let text: String = row.request.chars().take(room).collect();
    let style = if row.closed.is_some() {
        theme.get("ui.text.dim")
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::styled(row.updated.clone(), theme.get("ui.text.dim")),
        Span::raw(" "),
        Span::styled(
            format!("{:<8}", row.state.label()),
            state_style(theme, row.state),
        ),
        Span::raw(format!(" {confidence}{mark} ")),
        Span::styled(text, style),
    ])
}

fn render_list(state: &InboxState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let title = format!("Inbox ({})", state.len());
    let block = pane_block(theme, &title);
    let inner = block.inner(area);
    block.render(area, buf);
    if state.is_empty() {
        Line::styled(
            "no alerts yet: point an Alertmanager webhook receiver here",
            theme.get("ui.text.dim"),
        )
        .render(inner, buf);
        return;
    }
    let height = usize::from(inner.height);
    // Keep the selection in view.
    let skip = state.selected.saturating_sub(height.saturating_sub(1));
    for (i, row) in state.rows().enumerate().skip(skip).take(height) {
        let y = inner.y + (i - skip) as u16;
        let line_area = Rect::new(inner.x, y, inner.width, 1);
        let mut line = row_line(row, theme, usize::from(inner.width));
        if i == state.selected {
            line = line.patch_style(theme.get("ui.selection"));
        }
        line.render(line_area, buf);
    }
}

fn render_detail(state: &InboxState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let block = pane_block(theme, "Investigation");
    let Some(row) = state.selected_row() else {
        block.render(area, buf);
        return;
    };
    let dim = theme.get("ui.text.dim");
    let mut lines = vec![Line::from(vec![
        Span::styled(row.investigation.clone(), theme.get("ui.text.strong")),
        Span::raw("  "),
        Span::styled(row.state.label(), state_style(theme, row.state)),
        Span::raw(match (row.confidence, row.threshold) {
            (Some(c), Some(t)) => format!(" confidence {c:.2}, threshold {t:.2}"),
            (None, Some(t)) => format!(" no answer, threshold {t:.2}"),
            _ => String::new(),
        }),
    ])];
    lines.push(Line::raw(row.request.clone()));
    if let Some(d) = &row.detail {
        let label = if row.state == RowState::Notified {
            "answer: "
        } else {
            "why: "
        };
        lines.push(Line::from(vec![
            Span::styled(label, dim),
            Span::raw(d.clone()),
        ]));
    }
    if !row.targets.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("sent to: ", dim),
            Span::raw(row.targets.join(", ")),
        ]));
    }
    for p in &row.problems {
        lines.push(Line::styled(p.clone(), theme.get("ui.statusline.warning")));
    }
    if let Some(s) = &row.session {
        lines.push(Line::from(vec![
            Span::styled("session: ", dim),
            Span::styled(
                format!("triage sessions show {s}"),
                theme.get("ui.hint.key"),
            ),
        ]));
    }
    if row.joined > 0 {
        lines.push(Line::styled(
            format!(
                "{} alerts joined it (repeats, flaps, more of the group)",
                row.joined
            ),
            dim,
        ));
    }
    if let Some(c) = &row.closed {
        lines.push(Line::styled(format!("closed: {c}"), dim));
    }
    Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .render(area, buf);
}
