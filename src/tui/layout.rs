//! Where each pane goes for a given terminal size. Pure geometry, shared by rendering and
//! by key handling (page sizes).
//!
//! Wide: transcript on the left (~62%), the four side panes stacked on the right.
//! Short (under 28 rows): the side column shows one pane with a tab bar. Narrow (under
//! 60 columns): no side column; a focused side pane takes the transcript's place.
//! Zoom: the focused pane fills the body. The composer and status line always show.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::tui::panes::{PaneId, ViewState};

/// Below this the screen only says it is too small.
pub const MIN_WIDTH: u16 = 20;
pub const MIN_HEIGHT: u16 = 6;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Areas {
    /// Panes to draw in the body, with their rectangles.
    pub panes: Vec<(PaneId, Rect)>,
    /// The tab bar above a tabbed side pane.
    pub tabs: Option<Rect>,
    pub body: Rect,
    pub composer: Rect,
    pub status: Rect,
}

impl Areas {
    pub fn pane(&self, id: PaneId) -> Option<Rect> {
        self.panes.iter().find(|(p, _)| *p == id).map(|(_, r)| *r)
    }
}

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

/// The side pane the side column shows when it has room for one.
pub fn shown_side(view: &ViewState) -> PaneId {
    if view.focus.is_side() {
        view.focus
    } else {
        view.side_tab
    }
}

pub fn compute(area: Rect, view: &ViewState, composer_rows: u16) -> Areas {
    if too_small(area) {
        return Areas::default();
    }
    let composer_h = composer_rows.clamp(3, (area.height / 3).max(3));
    let [body, composer, status] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(composer_h),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut out = Areas {
        body,
        composer,
        status,
        ..Areas::default()
    };

    let main = if view.focus == PaneId::Composer {
        PaneId::Transcript
    } else {
        view.focus
    };
    if view.zoomed {
        out.panes.push((main, body));
        return out;
    }
    if body.width < 60 {
        let shown = if view.focus.is_side() {
            view.focus
        } else {
            PaneId::Transcript
        };
        out.panes.push((shown, body));
        return out;
    }
    let pct = if body.width >= 100 { 62 } else { 58 };
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(pct), Constraint::Fill(1)]).areas(body);
    out.panes.push((PaneId::Transcript, left));
    if body.height >= 24 {
        let rows = Layout::vertical([Constraint::Fill(1); 4]).split(right);
        for (id, r) in PaneId::SIDE.iter().zip(rows.iter()) {
            out.panes.push((*id, *r));
        }
    } else {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(right);
        out.tabs = Some(tabs);
        out.panes.push((shown_side(view), pane));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_screens_stack_side_panes_and_short_ones_tab_them() {
        let view = ViewState::default();
        let a = compute(Rect::new(0, 0, 120, 40), &view, 3);
        assert_eq!(a.panes.len(), 5);
        assert_eq!(a.status, Rect::new(0, 39, 120, 1));
        assert_eq!(a.pane(PaneId::Transcript).unwrap().width, 74);
        let a = compute(Rect::new(0, 0, 80, 24), &view, 3);
        assert_eq!(a.panes.len(), 2);
        assert!(a.tabs.is_some());
        let a = compute(Rect::new(0, 0, 50, 20), &view, 3);
        assert_eq!(a.panes, vec![(PaneId::Transcript, a.body)]);
    }

    #[test]
    fn zoom_fills_the_body_with_the_focused_pane() {
        let view = ViewState {
            zoomed: true,
            focus: PaneId::Tools,
            ..ViewState::default()
        };
        let a = compute(Rect::new(0, 0, 120, 40), &view, 3);
        assert_eq!(a.panes, vec![(PaneId::Tools, a.body)]);
    }
}
