//! The approval dialog: the command, READ or WRITE and why, the agent's rationale, and a
//! loud note when read-only mode will refuse it. `y` approves once, `a` for the session,
//! `n` asks why and rejects, `e` edits the command (it is classified and proposed again),
//! Esc decides later. Nothing is sent until one of those keys.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::dialog::{hint_line, render_dialog};
use super::outcome::Outcome;
use crate::protocol::{ActionClass, ActionId, ApprovalScope, Op, ProposedAction};
use crate::tui::event::UiOutput;
use crate::tui::keymap::{Action, Context, Keymap};
use crate::tui::panes::Ctx;
use crate::tui::panes::actions::class_badge;
use crate::tui::state::{AppState, NoticeLevel, SentDecision};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_lines};
use crate::tui::widgets::text_input::TextInput;

#[derive(Debug, Clone, PartialEq)]
pub enum ApprovalMode {
    /// Waiting for y / a / n / e / Esc.
    Choose,
    /// Typing why it is rejected.
    Reason(TextInput),
    /// Editing the command.
    Edit(TextInput),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalOverlay {
    pub action: ActionId,
    pub mode: ApprovalMode,
}

impl ApprovalOverlay {
    pub fn new(action: ActionId) -> Self {
        Self {
            action,
            mode: ApprovalMode::Choose,
        }
    }

    /// The key context for the current mode.
    pub fn context(&self) -> Context {
        match self.mode {
            ApprovalMode::Choose => Context::Approval,
            _ => Context::Prompt,
        }
    }

    pub fn input_mut(&mut self) -> Option<&mut TextInput> {
        match &mut self.mode {
            ApprovalMode::Choose => None,
            ApprovalMode::Reason(t) | ApprovalMode::Edit(t) => Some(t),
        }
    }

    /// The keymap contexts for the current mode, and whether printable keys type.
    pub fn contexts(&self) -> (Vec<Context>, bool) {
        match self.mode {
            ApprovalMode::Choose => (vec![Context::Approval], false),
            _ => (vec![Context::Prompt, Context::Input], true),
        }
    }

    /// A key on the dialog: decide (the actions pane shows what was sent), type why or
    /// the edited command, or leave it for later.
    pub fn handle(&mut self, action: Action, state: &mut AppState, keymap: &Keymap) -> Outcome {
        let id = self.action;
        match (&mut self.mode, action) {
            (ApprovalMode::Choose, Action::ApproveOnce | Action::ApproveSession) => {
                let scope = if action == Action::ApproveOnce {
                    ApprovalScope::Once
                } else {
                    ApprovalScope::Session
                };
                if let Some(row) = state.action_mut(id) {
                    row.sent = Some(SentDecision::Approve(scope));
                }
                Outcome::Close(vec![UiOutput::Op(Op::Approve { action: id, scope })])
            }
            (ApprovalMode::Choose, Action::Reject) => {
                self.mode = ApprovalMode::Reason(TextInput::single_line());
                Outcome::Stay
            }
            (ApprovalMode::Choose, Action::EditAction) => {
                let cmd = state
                    .action(id)
                    .map(|a| a.proposal.command.clone())
                    .unwrap_or_default();
                self.mode = ApprovalMode::Edit(TextInput::single_line().with_text(&cmd));
                Outcome::Stay
            }
            (ApprovalMode::Choose, Action::Defer | Action::Close) => {
                let key = keymap
                    .hint(&[Context::Global], Action::Decide)
                    .map(|k| format!("press {k} or "))
                    .unwrap_or_default();
                state.notify(
                    NoticeLevel::Info,
                    format!("action #{id} waits: {key}open it in the actions pane to decide"),
                );
                Outcome::Close(Vec::new())
            }
            (ApprovalMode::Reason(input), Action::Submit) => {
                let reason = input.text().trim().to_string();
                if let Some(row) = state.action_mut(id) {
                    row.sent = Some(SentDecision::Reject(reason.clone()));
                }
                Outcome::Close(vec![UiOutput::Op(Op::Reject { action: id, reason })])
            }
            (ApprovalMode::Edit(input), Action::Submit) => {
                let command = input.text().trim().to_string();
                let original = state.action(id).map(|a| a.proposal.command.as_str());
                if command.is_empty() || Some(command.as_str()) == original {
                    state.notify(
                        NoticeLevel::Warning,
                        "the command is unchanged: edit it, or Esc to go back",
                    );
                    return Outcome::Stay;
                }
                if let Some(row) = state.action_mut(id) {
                    row.sent = Some(SentDecision::Edit(command.clone()));
                }
                Outcome::Close(vec![UiOutput::Op(Op::EditAction {
                    action: id,
                    command,
                })])
            }
            (ApprovalMode::Reason(_) | ApprovalMode::Edit(_), Action::Close) => {
                self.mode = ApprovalMode::Choose;
                Outcome::Stay
            }
            (_, Action::Help) => {
                let (mut contexts, _) = self.contexts();
                contexts.push(Context::Global);
                Outcome::Help(contexts)
            }
            // Focus moves and zoom make no sense under a dialog.
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

pub fn render(ctx: &Ctx, ov: &ApprovalOverlay, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let row = ctx.state.action(ov.action)?;
    let p = &row.proposal;
    let width = area.width.saturating_sub(4).clamp(20, 88).min(area.width);
    let inner_w = width.saturating_sub(4).max(1);

    let mut head = head_lines(ctx, p, inner_w);
    let mut mid = middle_lines(ctx, p, inner_w);
    let (mut foot, mut input) = foot_lines(ctx, ov, inner_w);

    let avail = usize::from(area.height.saturating_sub(2));
    if head.len() + mid.len() + foot.len() > avail {
        let keep = avail.saturating_sub(head.len() + foot.len());
        mid.truncate(keep);
        if let Some(last) = mid.last_mut() {
            *last = Line::from(Span::styled(
                "… (the actions pane shows the rest)",
                ctx.style("ui.text.dim"),
            ));
        }
        head.truncate(avail.saturating_sub(foot.len()));
        if foot.len() > avail {
            // Keep the input and the keys; drop the question above them.
            let drop = (foot.len() - avail).min(input.map_or(0, |(at, _, _)| at));
            foot.drain(..drop);
            input = input.map(|(at, rows, t)| (at - drop, rows, t));
        }
    }
    let input_at = input.map(|(at, rows, t)| (head.len() + mid.len() + at, rows, t));
    let lines: Vec<Line> = head.into_iter().chain(mid).chain(foot).collect();

    render_dialog(
        ctx,
        area,
        buf,
        width,
        format!("Action #{} — your decision", p.id),
        lines,
        input_at,
    )
}

/// Head: the command and its class. Always shown first.
fn head_lines(ctx: &Ctx, p: &ProposedAction, inner_w: u16) -> Vec<Line<'static>> {
    let mut head = wrap_lines(
        &[
            RichLine::plain(p.command.clone(), "action.command")
                .with_prefix(vec![RichSpan::new("$ ", "tool.command")])
                .wrap(WrapMode::Char),
            RichLine::blank(),
        ],
        ctx.theme,
        inner_w,
    );
    // The class badge is a styled span of its own; the reason follows it.
    let mut class_line = RichLine::plain(p.class_reason.clone(), "ui.text");
    class_line.prefix = vec![RichSpan::new(" ", "ui.text")];
    let class_rows = wrap_lines(&[class_line], ctx.theme, inner_w.saturating_sub(8).max(1));
    for (i, r) in class_rows.into_iter().enumerate() {
        let mut spans = if i == 0 {
            vec![class_badge(ctx, p.class)]
        } else {
            vec![Span::raw("        ")]
        };
        spans.extend(r.spans);
        head.push(Line::from(spans));
    }
    head
}

/// Middle: what happens if approved, then why. Cut from the end when space is short.
fn middle_lines(ctx: &Ctx, p: &ProposedAction, inner_w: u16) -> Vec<Line<'static>> {
    let mut mid_rich = Vec::new();
    let note = if p.blocked_by_read_only {
        Some(
            "READ-ONLY MODE: triage will refuse to run this even if you approve it; approving only records your decision. To run it, set [agent] read_only = false and restart.",
        )
    } else if p.class == ActionClass::Write {
        Some("This changes the world. Read the command before you approve.")
    } else {
        None
    };
    if let Some(note) = note {
        mid_rich.push(RichLine::blank());
        mid_rich.push(
            RichLine::plain(note, "action.blocked")
                .with_prefix(vec![RichSpan::new("⚠ ", "action.blocked")]),
        );
    }
    mid_rich.push(RichLine::blank());
    mid_rich.push(
        RichLine::plain(p.rationale.clone(), "ui.text")
            .with_prefix(vec![RichSpan::new("Why: ", "ui.text.strong")]),
    );
    mid_rich.push(RichLine::blank());
    wrap_lines(&mid_rich, ctx.theme, inner_w)
}

/// A text field in the dialog: the row it starts at, its rows, the field.
type Field<'a> = Option<(usize, usize, &'a TextInput)>;

/// Foot: the keys, or the question and its input. Never cut.
fn foot_lines<'a>(
    ctx: &Ctx,
    ov: &'a ApprovalOverlay,
    inner_w: u16,
) -> (Vec<Line<'static>>, Field<'a>) {
    let keys = |c: Context, a: Action| ctx.keymap.hint(&[c], a);
    let mut foot = Vec::new();
    let mut input = None;
    match &ov.mode {
        ApprovalMode::Choose => {
            foot.push(hint_line(
                ctx,
                &[
                    (keys(Context::Approval, Action::ApproveOnce), "approve once"),
                    (
                        keys(Context::Approval, Action::ApproveSession),
                        "approve for session",
                    ),
                ],
            ));
            foot.push(hint_line(
                ctx,
                &[
                    (keys(Context::Approval, Action::Reject), "reject"),
                    (keys(Context::Approval, Action::EditAction), "edit"),
                    (keys(Context::Approval, Action::Defer), "decide later"),
                ],
            ));
        }
        ApprovalMode::Reason(text) | ApprovalMode::Edit(text) => {
            let q = if matches!(ov.mode, ApprovalMode::Reason(_)) {
                "Why reject it? The reason is kept as a memory for next time."
            } else {
                "Edit the command. It is classified again and proposed anew, never run directly."
            };
            foot = wrap_lines(&[RichLine::plain(q, "ui.text.strong")], ctx.theme, inner_w);
            let rows = text.height(inner_w.saturating_sub(2)).clamp(1, 3);
            input = Some((foot.len(), rows, text));
            foot.extend((0..rows).map(|_| Line::default()));
            foot.push(hint_line(
                ctx,
                &[
                    (keys(Context::Prompt, Action::Submit), "send"),
                    (keys(Context::Prompt, Action::Close), "back"),
                ],
            ));
        }
    }
    (foot, input)
}
