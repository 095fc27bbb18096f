//! "Remember this?": a memory the agent proposes (a correction from a rejection or
//! `/remember`, a procedure from a steered session). `y` keeps it, `e` edits its text
//! first, `n` discards it, Esc decides later. It is stored as `proposed` meanwhile and
//! never recalled until kept.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;

use super::dialog::{hint_line, render_dialog};
use super::outcome::Outcome;
use crate::protocol::Op;
use crate::tui::event::UiOutput;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::panes::Ctx;
use crate::tui::state::{AppState, NoticeLevel};
use crate::tui::widgets::rich::{RichLine, RichSpan, wrap_lines};
use crate::tui::widgets::text_input::TextInput;

#[derive(Debug, Clone, PartialEq)]
pub struct RememberOverlay {
    pub memory: String,
    /// Editing the text before keeping it.
    pub edit: Option<TextInput>,
}

impl RememberOverlay {
    pub fn new(memory: String) -> Self {
        Self { memory, edit: None }
    }

    /// The keymap contexts (deciding, or editing the text), and whether printable keys
    /// type.
    pub fn contexts(&self) -> (Vec<Context>, bool) {
        match self.edit {
            None => (vec![Context::Approval], false),
            Some(_) => (vec![Context::Prompt, Context::Input], true),
        }
    }

    /// A key on the dialog: keep the memory (as proposed or edited), discard it, or
    /// leave it for later.
    pub fn handle(&mut self, action: Action, state: &mut AppState, keymap: &Keymap) -> Outcome {
        let memory = self.memory.clone();
        match (&self.edit, action) {
            (None, Action::ApproveOnce | Action::ApproveSession) => {
                Outcome::Close(vec![UiOutput::Op(Op::ConfirmMemory { memory, text: None })])
            }
            (None, Action::EditAction) => {
                let text = state
                    .proposals
                    .iter()
                    .find(|p| p.memory == memory)
                    .map(|p| p.text.clone())
                    .unwrap_or_default();
                self.edit = Some(TextInput::multi_line().with_text(text.trim_end()));
                Outcome::Stay
            }
            (None, Action::Reject) => {
                Outcome::Close(vec![UiOutput::Op(Op::DiscardMemory { memory })])
            }
            (None, Action::Defer | Action::Close) => {
                let key = keymap
                    .hint(&[Context::Global], Action::Decide)
                    .map(|k| format!(": press {k} to decide"))
                    .unwrap_or_default();
                state.notify(
                    NoticeLevel::Info,
                    format!("memory {memory} waits (kept as proposed){key}"),
                );
                Outcome::Close(Vec::new())
            }
            (Some(input), Action::Submit) => {
                let text = input.text().trim().to_string();
                Outcome::Close(vec![UiOutput::Op(Op::ConfirmMemory {
                    memory,
                    text: Some(text),
                })])
            }
            (Some(_), Action::Close) => {
                self.edit = None;
                Outcome::Stay
            }
            (
                _,
                Action::FocusNext
                | Action::FocusPrev
                | Action::Zoom
                | Action::Palette
                | Action::Decide,
            ) => Outcome::Stay,
            _ => Outcome::Pass,
        }
    }
}

pub fn render(ctx: &Ctx, ov: &RememberOverlay, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let p = ctx.state.proposals.iter().find(|p| p.memory == ov.memory)?;
    let width = area.width.saturating_sub(4).clamp(20, 88).min(area.width);
    let inner_w = width.saturating_sub(4).max(1);
    let mut rich = Vec::new();
    if ov.edit.is_none() {
        for l in p.text.lines() {
            rich.push(RichLine::plain(l.to_string(), "ui.text"));
        }
        rich.push(RichLine::blank());
    }
    rich.push(
        RichLine::plain(p.scope.clone(), "ui.text")
            .with_prefix(vec![RichSpan::new("Applies to: ", "ui.text.strong")]),
    );
    rich.push(
        RichLine::plain(p.source.clone(), "ui.text.dim")
            .with_prefix(vec![RichSpan::new("From: ", "ui.text.strong")]),
    );
    rich.push(RichLine::blank());
    let mut lines = wrap_lines(&rich, ctx.theme, inner_w);
    let keys = |c: Context, a: Action| ctx.keymap.hint(&[c], a);
    let mut input = None;
    match &ov.edit {
        None => lines.push(hint_line(
            ctx,
            &[
                (keys(Context::Approval, Action::ApproveOnce), "keep"),
                (keys(Context::Approval, Action::EditAction), "edit"),
                (keys(Context::Approval, Action::Reject), "discard"),
                (keys(Context::Approval, Action::Defer), "later"),
            ],
        )),
        Some(text) => {
            lines.extend(wrap_lines(
                &[RichLine::plain(
                    "Edit the memory; it is kept as you write it.",
                    "ui.text.strong",
                )],
                ctx.theme,
                inner_w,
            ));
            let rows = text.height(inner_w.saturating_sub(2)).clamp(1, 6);
            input = Some((lines.len(), rows, text));
            lines.extend((0..rows).map(|_| Line::default()));
            lines.push(hint_line(
                ctx,
                &[
                    (keys(Context::Prompt, Action::Submit), "keep"),
                    (keys(Context::Prompt, Action::Close), "back"),
                ],
            ));
        }
    }
    let avail = usize::from(area.height.saturating_sub(2));
    if lines.len() > avail {
        let drop = lines.len() - avail;
        lines.drain(..drop.min(lines.len()));
        input = input.map(|(at, rows, t)| (at.saturating_sub(drop), rows, t));
    }
    render_dialog(
        ctx,
        area,
        buf,
        width,
        format!("Remember this? ({})", p.kind),
        lines,
        input,
    )
}
