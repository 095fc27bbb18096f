//! Drawing the whole screen from the app's state: panes, composer, status line, then the
//! open dialog on top.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::model::App;
use crate::tui::layout;
use crate::tui::overlays::{self, Overlay};
use crate::tui::panes::{self, Ctx, PaneId};

pub(super) fn render(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let ctx = app.ctx();
    let buf = frame.buffer_mut();
    if layout::too_small(area) {
        Line::from(Span::styled(
            "triage: window too small",
            ctx.style("ui.text.dim"),
        ))
        .render(area, buf);
        return;
    }
    let areas = app.areas_for(area);
    for (pane, rect) in &areas.panes {
        render_pane(&ctx, *pane, *rect, buf);
    }
    if let Some(tabs) = areas.tabs {
        render_tabs(&ctx, layout::shown_side(&app.view), tabs, buf);
    }
    let mut cursor = panes::composer::render(&ctx, &app.composer, areas.composer, buf);
    panes::status::render(&ctx, areas.status, buf);

    if let Some(ov) = &app.overlay {
        cursor = match ov {
            Overlay::Approval(a) => overlays::approval::render(&ctx, a, area, buf),
            Overlay::Remember(r) => overlays::remember::render(&ctx, r, area, buf),
            Overlay::Help(h) => {
                overlays::help::render(&ctx, h, area, buf);
                None
            }
            Overlay::Palette(p) => overlays::palette::render(&ctx, p, area, buf),
            Overlay::Filter(f) => overlays::filter::render(&ctx, f, areas.status, buf),
            Overlay::Preview(p) => {
                overlays::preview::render(&ctx, p, area, buf);
                None
            }
        };
    }
    if let Some(pos) = cursor {
        frame.set_cursor_position(pos);
    }
}

fn render_pane(ctx: &Ctx, pane: PaneId, rect: Rect, buf: &mut ratatui::buffer::Buffer) {
    match pane {
        PaneId::Transcript => panes::transcript::render(ctx, rect, buf),
        PaneId::Tools => panes::tools::render(ctx, rect, buf),
        PaneId::Memory => panes::memory::render(ctx, rect, buf),
        PaneId::Checkpoints => panes::checkpoints::render(ctx, rect, buf),
        PaneId::Actions => panes::actions::render(ctx, rect, buf),
        PaneId::Composer => {}
    }
}

/// The tab bar of a single side pane: every side pane with its count; the shown one lit.
fn render_tabs(ctx: &Ctx, shown: PaneId, area: Rect, buf: &mut ratatui::buffer::Buffer) {
    let st = ctx.state;
    let mut spans = Vec::new();
    for (i, pane) in PaneId::SIDE.iter().enumerate() {
        let (count, alert) = match pane {
            PaneId::Tools => (st.tools.len(), st.tool_running()),
            PaneId::Memory => (st.memory.len(), false),
            PaneId::Checkpoints => (st.checkpoints.len(), false),
            PaneId::Actions => (st.actions.len(), st.pending_actions().next().is_some()),
            _ => (0, false),
        };
        if i > 0 {
            spans.push(Span::styled("│", ctx.style("ui.pane.border")));
        }
        let scope = if *pane == shown {
            "ui.tab.active"
        } else {
            "ui.tab"
        };
        let mark = if alert { "!" } else { "" };
        spans.push(Span::styled(
            format!("{} {count}{mark}", pane.short()),
            ctx.style(scope),
        ));
    }
    // Fit: drop to initials when the names do not fit.
    let line = Line::from(spans.clone());
    if line.width() > usize::from(area.width) {
        spans = spans
            .into_iter()
            .map(|s| {
                let short: String = s
                    .content
                    .split(' ')
                    .enumerate()
                    .map(|(i, w)| {
                        if i == 0 {
                            w.chars().take(1).collect()
                        } else {
                            w.to_string()
                        }
                    })
                    .collect::<Vec<String>>()
                    .join("");
                Span::styled(short, s.style)
            })
            .collect();
    }
    Line::from(spans).centered().render(area, buf);
}
