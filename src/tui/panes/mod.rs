//! One file per pane. Each pane is a pure function of the [`AppState`], the view state
//! (focus, selection, scroll, filter) and the theme, drawn into a buffer region.

pub mod actions;
pub mod checkpoints;
pub mod composer;
pub mod memory;
pub mod status;
pub mod tools;
pub mod transcript;

use std::collections::{HashMap, HashSet};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use crate::protocol::CallId;
use crate::tui::keymap::Keymap;
use crate::tui::state::AppState;
use crate::tui::theme::Theme;

/// The panes focus moves between, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaneId {
    Composer,
    Transcript,
    Tools,
    Memory,
    Checkpoints,
    Actions,
}

impl PaneId {
    pub const ORDER: [PaneId; 6] = [
        PaneId::Composer,
        PaneId::Transcript,
        PaneId::Tools,
        PaneId::Memory,
        PaneId::Checkpoints,
        PaneId::Actions,
    ];
    pub const SIDE: [PaneId; 4] = [
        PaneId::Tools,
        PaneId::Memory,
        PaneId::Checkpoints,
        PaneId::Actions,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Composer => "Message",
            PaneId::Transcript => "Transcript",
            PaneId::Tools => "Tools",
            PaneId::Memory => "Memory",
            PaneId::Checkpoints => "Checkpoints",
            PaneId::Actions => "Actions",
        }
    }

    /// Short names for the tab bar of a narrow side column.
    pub fn short(self) -> &'static str {
        match self {
            PaneId::Memory => "Mem",
            PaneId::Checkpoints => "Chk",
            PaneId::Actions => "Act",
            other => other.title(),
        }
    }

    pub fn is_side(self) -> bool {
        PaneId::SIDE.contains(&self)
    }

    pub fn next(self) -> PaneId {
        let i = PaneId::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        PaneId::ORDER[(i + 1) % PaneId::ORDER.len()]
    }

    pub fn prev(self) -> PaneId {
        let i = PaneId::ORDER.iter().position(|p| *p == self).unwrap_or(0);
        PaneId::ORDER[(i + PaneId::ORDER.len() - 1) % PaneId::ORDER.len()]
    }
}

/// Focus, selection, scroll and filters: what the user did to the view, as opposed to
/// what the agent reported ([`AppState`]).
#[derive(Debug, Clone)]
pub struct ViewState {
    pub focus: PaneId,
    pub zoomed: bool,
    /// The side pane shown when the side column is a single tabbed pane.
    pub side_tab: PaneId,
    /// First transcript row shown, once the user scrolled; `None` follows new output.
    pub transcript_top: Option<usize>,
    /// Show every tool call's command and arguments in the transcript.
    pub show_tool_output: bool,
    /// Tool calls opened one by one (from the tools pane).
    pub expanded_tools: HashSet<CallId>,
    /// Selected row per side pane, among the rows the filter lets through; `None`
    /// follows the newest row.
    pub selected: HashMap<PaneId, usize>,
    pub filters: HashMap<PaneId, String>,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            focus: PaneId::Composer,
            zoomed: false,
            side_tab: PaneId::Tools,
            transcript_top: None,
            show_tool_output: false,
            expanded_tools: HashSet::new(),
            selected: HashMap::new(),
            filters: HashMap::new(),
        }
    }
}

impl ViewState {
    pub fn filter(&self, pane: PaneId) -> Option<&str> {
        self.filters
            .get(&pane)
            .map(String::as_str)
            .filter(|f| !f.is_empty())
    }
}

/// Everything a pane needs to draw itself.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub view: &'a ViewState,
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
}

impl Ctx<'_> {
    pub fn style(&self, scope: &str) -> Style {
        self.theme.get(scope)
    }

    pub fn focused(&self, pane: PaneId) -> bool {
        self.view.focus == pane
    }
}

/// Case-insensitive substring match used by every pane's filter.
pub fn matches(query: Option<&str>, haystacks: &[&str]) -> bool {
    let Some(q) = query else { return true };
    let q = q.to_lowercase();
    haystacks.iter().any(|h| h.to_lowercase().contains(&q))
}

/// The bordered frame of a pane: a thick border and accent title when focused, a count
/// badge, and the active filter.
pub fn pane_block<'a>(ctx: &Ctx, pane: PaneId, badge: Option<String>) -> Block<'a> {
    pane_block_titled(ctx, pane, pane.title(), badge)
}

/// [`pane_block`] with a title other than the pane's name.
pub fn pane_block_titled<'a>(
    ctx: &Ctx,
    pane: PaneId,
    title_text: &str,
    badge: Option<String>,
) -> Block<'a> {
    let scope = if ctx.focused(pane) {
        "ui.pane.title.focused"
    } else {
        "ui.pane.title"
    };
    let mut spans = vec![Span::styled(format!(" {title_text} "), ctx.style(scope))];
    if let Some(b) = badge {
        spans.push(Span::styled(format!("{b} "), ctx.style("ui.pane.badge")));
    }
    pane_frame(ctx, pane, spans)
}

/// A pane's border with `title` spans.
pub fn pane_frame<'a>(ctx: &Ctx, pane: PaneId, title: Vec<Span<'a>>) -> Block<'a> {
    let focused = ctx.focused(pane);
    let border = if focused {
        "ui.pane.border.focused"
    } else {
        "ui.pane.border"
    };
    let mut block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(ctx.style(border))
        .title(Line::from(title));
    if let Some(f) = ctx.view.filter(pane) {
        block = block.title(
            Line::from(Span::styled(format!(" /{f} "), ctx.style("ui.filter"))).right_aligned(),
        );
    }
    block
}

/// A list row: its header line and, when selected in a focused pane, its details.
pub struct Row {
    pub lines: Vec<Line<'static>>,
}

/// Draw rows into `area`, keeping `selected` (or, with `None`, the newest rows) visible,
/// with the selection highlighted.
pub fn render_rows(
    rows: &[Row],
    selected: Option<usize>,
    highlight: Style,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.height == 0 || area.width == 0 || rows.is_empty() {
        return;
    }
    let height = usize::from(area.height);
    let heights: Vec<usize> = rows.iter().map(|r| r.lines.len().max(1)).collect();
    // The window: the newest rows that fit, or the rows around the selection.
    let anchor = selected.unwrap_or(rows.len() - 1).min(rows.len() - 1);
    let mut first = anchor;
    let mut used = heights[anchor];
    while first > 0 && used + heights[first - 1] <= height {
        first -= 1;
        used += heights[first];
    }
    if selected.is_some() {
        // Show rows after the selection too when there is room.
        let mut last = anchor;
        while last + 1 < rows.len() && used + heights[last + 1] <= height {
            last += 1;
            used += heights[last];
        }
    }
    let mut y = area.y;
    let bottom = area.y + area.height;
    for (i, row) in rows.iter().enumerate().skip(first) {
        for (n, line) in row.lines.iter().enumerate() {
            if y >= bottom {
                return;
            }
            let row_area = Rect::new(area.x, y, area.width, 1);
            let lit = selected == Some(i) && n == 0;
            if lit {
                buf.set_style(row_area, highlight);
            }
            line.clone().render(row_area, buf);
            if lit {
                // Patch the line's own styles with the highlight so it stays visible.
                for x in row_area.x..row_area.x + row_area.width {
                    if let Some(cell) = buf.cell_mut((x, y)) {
                        let s = cell.style().patch(highlight);
                        cell.set_style(s);
                    }
                }
            }
            y += 1;
        }
    }
}

/// Each row in its compact or full form: the selected row full, then the newest rows
/// full for as long as everything still fits in `height`.
pub fn fit(compact: Vec<Row>, full: Vec<Row>, selected: Option<usize>, height: usize) -> Vec<Row> {
    let mut use_full = vec![false; compact.len()];
    let h = |r: &Row| r.lines.len().max(1);
    let mut total: usize = compact.iter().map(h).sum();
    let order = selected
        .into_iter()
        .chain((0..compact.len()).rev().filter(|i| Some(*i) != selected));
    for i in order {
        let extra = h(&full[i]).saturating_sub(h(&compact[i]));
        if Some(i) == selected || total + extra <= height {
            use_full[i] = true;
            total += extra;
        } else {
            // Open rows stay together at the bottom; a gap of closed rows reads oddly.
            break;
        }
    }
    compact
        .into_iter()
        .zip(full)
        .zip(use_full)
        .map(|((c, f), full)| if full { f } else { c })
        .collect()
}

/// A one-line placeholder for an empty pane.
pub fn render_empty(ctx: &Ctx, text: &str, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    Line::from(Span::styled(text.to_string(), ctx.style("ui.text.dim")))
        .render(Rect::new(area.x, area.y, area.width, 1), buf);
}

/// The selected row among `count`, given the view's choice (`None` follows the newest).
pub fn selected_index(ctx: &Ctx, pane: PaneId, count: usize) -> Option<usize> {
    if count == 0 {
        return None;
    }
    Some(
        ctx.view
            .selected
            .get(&pane)
            .copied()
            .unwrap_or(count - 1)
            .min(count - 1),
    )
}

/// Spinner frames for running tools.
pub const SPINNER: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/// `840ms`, `4.2s`, `1m05s`.
pub fn format_duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// `950`, `12.3k`, `1.2M`.
pub fn format_count(n: u64) -> String {
    if n < 1000 {
        n.to_string()
    } else if n < 100_000 {
        format!("{:.1}k", n as f64 / 1000.0)
    } else if n < 1_000_000 {
        format!("{}k", n / 1000)
    } else {
        format!("{:.1}M", n as f64 / 1_000_000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focus_cycles_through_every_pane() {
        let mut p = PaneId::Composer;
        for _ in 0..PaneId::ORDER.len() {
            p = p.next();
        }
        assert_eq!(p, PaneId::Composer);
        assert_eq!(PaneId::Composer.prev(), PaneId::Actions);
    }

    #[test]
    fn formats() {
        assert_eq!(format_duration(840), "840ms");
        assert_eq!(format_duration(4210), "4.2s");
        assert_eq!(format_duration(65_000), "1m05s");
        assert_eq!(format_count(12_345), "12.3k");
        assert_eq!(format_count(200_000), "200k");
    }
}
