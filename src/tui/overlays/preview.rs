//! Code preview of a file region named by evidence (`path:start-end`). The launcher reads
//! the file and sends the text back ([`crate::tui::AppEvent::Preview`]); until then the
//! dialog says it is loading. The requested lines are marked in the gutter.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use super::dialog::{centered, popup_block, scroll, title};
use super::outcome::Outcome;
use crate::protocol::CheckpointId;
use crate::tui::event::PreviewContent;
use crate::tui::keymap::Action;
use crate::tui::panes::Ctx;
use crate::tui::widgets::highlight::{HlState, Lang, highlight_line};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_line};

/// The preview "path" of the memory browser.
pub const MEMORIES: &str = "memories";

#[derive(Debug, Clone, PartialEq)]
pub struct PreviewOverlay {
    pub path: String,
    pub start: usize,
    pub end: usize,
    pub content: Option<PreviewContent>,
    /// First text line shown (index into the content's lines).
    pub scroll: usize,
    /// Where the request came from, so `p` can step to the next file of the evidence.
    pub checkpoint: Option<CheckpointId>,
    pub evidence_index: usize,
}

impl PreviewOverlay {
    pub fn new(path: String, start: usize, end: usize) -> Self {
        Self {
            path,
            start,
            end,
            content: None,
            scroll: 0,
            checkpoint: None,
            evidence_index: 0,
        }
    }

    /// Accept content only if it answers this request.
    pub fn receive(&mut self, content: PreviewContent) -> bool {
        if content.path != self.path || content.start != self.start || content.end != self.end {
            return false;
        }
        // Start two lines above the requested range.
        self.scroll = self
            .start
            .saturating_sub(content.first_line)
            .saturating_sub(2);
        self.content = Some(content);
        true
    }

    pub fn line_count(&self) -> usize {
        match &self.content {
            Some(PreviewContent { text: Ok(t), .. }) => t.lines().count(),
            _ => 0,
        }
    }

    /// A key on the preview, `page` lines visible: scroll, close, or show the next file
    /// of the checkpoint's evidence.
    pub fn handle(&mut self, action: Action, page: usize) -> Outcome {
        let max = self.line_count().saturating_sub(page);
        if scroll(&mut self.scroll, action, page, max) {
            return Outcome::Stay;
        }
        match action {
            Action::Close => Outcome::Close(Vec::new()),
            Action::Preview => Outcome::Evidence {
                checkpoint: self.checkpoint,
                index: self.evidence_index + 1,
            },
            Action::FocusNext | Action::FocusPrev | Action::Zoom => Outcome::Stay,
            _ => Outcome::Pass,
        }
    }
}

pub fn render(ctx: &Ctx, ov: &PreviewOverlay, area: Rect, buf: &mut Buffer) {
    let width = (area.width.saturating_mul(9) / 10).max(20).min(area.width);
    let height = (area.height.saturating_mul(8) / 10).max(5).min(area.height);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let range = if ov.start == ov.end {
        format!("{}:{}", ov.path, ov.start)
    } else {
        format!("{}:{}-{}", ov.path, ov.start, ov.end)
    };
    let mut block = popup_block(ctx, title(ctx, range));
    let inner_h = usize::from(height.saturating_sub(2));
    let total = ov.line_count();
    if total > inner_h {
        let shown_to = (ov.scroll + inner_h).min(total);
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(" {shown_to}/{total} "),
                ctx.style("ui.hint"),
            ))
            .right_aligned(),
        );
    }
    let inner = block.inner(rect);
    block.render(rect, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let text = match &ov.content {
        None => {
            Line::from(Span::styled("loading…", ctx.style("ui.text.dim"))).render(inner, buf);
            return;
        }
        Some(PreviewContent { text: Err(e), .. }) => {
            Line::from(Span::styled(
                format!("cannot show {}: {e}", ov.path),
                ctx.style("diagnostic.error"),
            ))
            .render(inner, buf);
            return;
        }
        Some(PreviewContent {
            text: Ok(t),
            first_line,
            ..
        }) => (t, *first_line),
    };
    let (body, first_line) = text;
    let lang = Lang::from_path(&ov.path);
    let last_no = first_line + body.lines().count().max(1) - 1;
    let gutter_w = last_no.to_string().len();
    let mut st = HlState::default();
    let mut rows = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let spans = highlight_line(&lang, line, &mut st);
        if i < ov.scroll {
            continue;
        }
        let no = first_line + i;
        let in_range = (ov.start..=ov.end).contains(&no);
        let (mark, scope) = if in_range {
            ("▌", "code.lineno.focus")
        } else {
            (" ", "code.lineno")
        };
        let l = RichLine {
            prefix: vec![RichSpan::new(format!("{no:>gutter_w$}{mark} "), scope)],
            cont_prefix: vec![RichSpan::new(format!("{:>gutter_w$}{mark} ", ""), scope)],
            spans,
            wrap: WrapMode::Char,
            fill: false,
        };
        wrap_line(&l, ctx.theme, inner.width, &mut rows);
        if rows.len() >= usize::from(inner.height) {
            break;
        }
    }
    for (i, row) in rows.into_iter().take(usize::from(inner.height)).enumerate() {
        row.render(Rect::new(inner.x, inner.y + i as u16, inner.width, 1), buf);
    }
}
