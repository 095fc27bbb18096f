//! Key bindings for where the user is, generated from the keymap's descriptions: the
//! contexts that were active when help opened, most specific first.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};
use unicode_width::UnicodeWidthStr;

use super::dialog::{centered, popup_block, scroll, title};
use super::outcome::Outcome;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::panes::Ctx;

#[derive(Debug, Clone, PartialEq)]
pub struct HelpOverlay {
    pub contexts: Vec<Context>,
    pub scroll: usize,
}

impl HelpOverlay {
    pub fn new(contexts: Vec<Context>) -> Self {
        Self {
            contexts,
            scroll: 0,
        }
    }

    /// A key on the help screen of `lines` lines, `page` of them visible: scroll, or
    /// close.
    pub fn handle(&mut self, action: Action, page: usize, lines: usize) -> Outcome {
        if scroll(&mut self.scroll, action, page, lines.saturating_sub(page)) {
            return Outcome::Stay;
        }
        match action {
            Action::Close | Action::Help => Outcome::Close(Vec::new()),
            Action::FocusNext | Action::FocusPrev | Action::Zoom => Outcome::Stay,
            _ => Outcome::Pass,
        }
    }
}

/// (heading, [(keys, description)]) per context; keys doing the same thing share a row.
pub fn sections(
    keymap: &Keymap,
    contexts: &[Context],
) -> Vec<(&'static str, Vec<(String, String)>)> {
    contexts
        .iter()
        .map(|c| {
            let mut rows: Vec<(String, String, crate::tui::keymap::Action)> = Vec::new();
            for b in keymap.bindings(*c) {
                match rows.iter_mut().find(|r| r.2 == b.action && r.1 == b.desc) {
                    Some(r) => {
                        r.0.push(' ');
                        r.0.push_str(&b.key.label());
                    }
                    None => rows.push((b.key.label(), b.desc.clone(), b.action)),
                }
            }
            (
                c.title(),
                rows.into_iter().map(|(k, d, _)| (k, d)).collect(),
            )
        })
        .filter(|(_, rows): &(_, Vec<_>)| !rows.is_empty())
        .collect()
}

pub fn lines(ctx: &Ctx, ov: &HelpOverlay) -> Vec<Line<'static>> {
    let secs = sections(ctx.keymap, &ov.contexts);
    let key_w = secs
        .iter()
        .flat_map(|(_, rows)| rows.iter().map(|(k, _)| k.width()))
        .max()
        .unwrap_or(0)
        .min(24);
    let mut out = Vec::new();
    for (i, (heading, rows)) in secs.into_iter().enumerate() {
        if i > 0 {
            out.push(Line::default());
        }
        out.push(Line::from(Span::styled(
            heading,
            ctx.style("ui.help.heading"),
        )));
        for (keys, desc) in rows {
            let pad = key_w.saturating_sub(keys.width());
            out.push(Line::from(vec![
                Span::styled(
                    format!("  {keys}{}", " ".repeat(pad)),
                    ctx.style("ui.help.key"),
                ),
                Span::styled(format!("  {desc}"), ctx.style("ui.text")),
            ]));
        }
    }
    out
}

pub fn render(ctx: &Ctx, ov: &HelpOverlay, area: Rect, buf: &mut Buffer) {
    let all = lines(ctx, ov);
    let width = area.width.saturating_sub(4).clamp(20, 76).min(area.width);
    let height = (all.len() as u16 + 2)
        .min(area.height.saturating_sub(2).max(3))
        .min(area.height);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let inner_h = usize::from(height.saturating_sub(2));
    let max_scroll = all.len().saturating_sub(inner_h);
    let scroll = ov.scroll.min(max_scroll);
    let mut block = popup_block(ctx, title(ctx, "Keys".into()));
    if max_scroll > 0 {
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(" {}/{} ", scroll + inner_h, all.len()),
                ctx.style("ui.hint"),
            ))
            .right_aligned(),
        );
    }
    let inner = block.inner(rect);
    block.render(rect, buf);
    for (i, line) in all.into_iter().skip(scroll).take(inner_h).enumerate() {
        line.render(
            Rect::new(
                inner.x + 1,
                inner.y + i as u16,
                inner.width.saturating_sub(1),
                1,
            ),
            buf,
        );
    }
}

/// Rows the help text has, for scroll limits.
pub fn line_count(ctx: &Ctx, ov: &HelpOverlay) -> usize {
    lines(ctx, ov).len()
}
