//! The approval dialog: the whole command (wrapped, never cut without saying so), READ or
//! WRITE and why, what approving for the session covers, the agent's rationale, and a
//! loud note when read-only mode (or the command's own syntax) will refuse it. `y`
//! approves once, `a` for the session, `n` asks why and rejects, `e` edits the command
//! (it is classified and proposed again), Esc decides later. Nothing is sent until one of
//! those keys, and no key pressed in the first [`DECISION_DELAY`] after the dialog opens
//! counts: it was meant for whatever had the focus before.

use std::time::{Duration, Instant};

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

/// How long after opening the dialog ignores decision keys.
pub const DECISION_DELAY: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalOverlay {
    pub action: ActionId,
    pub mode: ApprovalMode,
    opened_at: Instant,
}

impl ApprovalOverlay {
    pub fn new(action: ActionId) -> Self {
        Self {
            action,
            mode: ApprovalMode::Choose,
            opened_at: Instant::now(),
        }
    }

    /// As if it had been open for `age` (tests, and a dialog reopened from the pane).
    pub fn aged(mut self, age: Duration) -> Self {
        self.opened_at = self.opened_at.checked_sub(age).unwrap_or(self.opened_at);
        self
    }

    /// Whether a key at `now` may decide: not within [`DECISION_DELAY`] of opening.
    pub fn accepts_decisions(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.opened_at) >= DECISION_DELAY
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

/// What is refused about deciding now, if anything: a key too soon after opening, or an
/// approval of a command the window cannot show whole. Rejecting and editing stay
/// possible when the command is cut (editing shows all of it).
pub fn refuse_decision(
    ctx: &Ctx,
    ov: &ApprovalOverlay,
    area: Rect,
    action: Action,
    now: Instant,
) -> Option<String> {
    if ov.mode != ApprovalMode::Choose {
        return None;
    }
    let deciding = matches!(
        action,
        Action::ApproveOnce | Action::ApproveSession | Action::Reject | Action::EditAction
    );
    if deciding && !ov.accepts_decisions(now) {
        return Some(format!(
            "the dialog for action #{} just opened: that key was not taken as a decision; press it again",
            ov.action
        ));
    }
    let approving = matches!(action, Action::ApproveOnce | Action::ApproveSession);
    let hidden = dialog(ctx, ov, area)?.hidden_command_rows;
    (approving && hidden > 0).then(|| {
        format!(
            "{hidden} lines of the command do not fit: enlarge the window to read it all before approving (or press e to read and edit it)"
        )
    })
}

/// The dialog's lines, where its input goes, and how many command rows did not fit.
struct Dialog<'a> {
    width: u16,
    lines: Vec<Line<'static>>,
    input_at: Option<(usize, usize, &'a TextInput)>,
    hidden_command_rows: usize,
}

pub fn render(ctx: &Ctx, ov: &ApprovalOverlay, area: Rect, buf: &mut Buffer) -> Option<Position> {
    let d = dialog(ctx, ov, area)?;
    let id = ov.action;
    render_dialog(
        ctx,
        area,
        buf,
        d.width,
        format!("Action #{id} — your decision"),
        d.lines,
        d.input_at,
    )
}

fn dialog<'a>(ctx: &Ctx, ov: &'a ApprovalOverlay, area: Rect) -> Option<Dialog<'a>> {
    let row = ctx.state.action(ov.action)?;
    let p = &row.proposal;
    let width = area.width.saturating_sub(4).clamp(20, 88).min(area.width);
    let inner_w = width.saturating_sub(4).max(1);

    let (mut head, command_rows) = head_lines(ctx, p, inner_w);
    let mut mid = middle_lines(ctx, p, inner_w);
    let (mut foot, mut input) = foot_lines(ctx, ov, inner_w);

    let avail = usize::from(area.height.saturating_sub(2));
    let mut hidden = 0;
    if head.len() + mid.len() + foot.len() > avail {
        let keep = avail.saturating_sub(head.len() + foot.len());
        mid.truncate(keep);
        if let Some(last) = mid.last_mut() {
            *last = Line::from(Span::styled(
                "… (the actions pane shows the rest)",
                ctx.style("ui.text.dim"),
            ));
        }
        if head.len() + foot.len() > avail {
            hidden = cut_command(
                ctx,
                &mut head,
                command_rows,
                avail.saturating_sub(foot.len()),
            );
        }
        if foot.len() > avail {
            // Keep the input and the keys; drop the question above them.
            let drop = (foot.len() - avail).min(input.map_or(0, |(at, _, _)| at));
            foot.drain(..drop);
            input = input.map(|(at, rows, t)| (at - drop, rows, t));
        }
    }
    let input_at = input.map(|(at, rows, t)| (head.len() + mid.len() + at, rows, t));
    let lines: Vec<Line<'static>> = head.into_iter().chain(mid).chain(foot).collect();
    Some(Dialog {
        width,
        lines,
        input_at,
        hidden_command_rows: hidden,
    })
}

/// The command itself does not fit in `rows`: say so on its last visible row, never cut
/// it silently (approving is refused until it fits). Returns the hidden command rows.
fn cut_command(
    ctx: &Ctx,
    head: &mut Vec<Line<'static>>,
    command_rows: usize,
    rows: usize,
) -> usize {
    let keep = rows.max(1);
    if command_rows < keep {
        head.truncate(keep);
        return 0;
    }
    let shown = keep - 1;
    let hidden = command_rows - shown;
    head.truncate(shown);
    head.push(Line::from(Span::styled(
        format!("⚠ {hidden} more lines of the command are not shown: enlarge the window"),
        ctx.style("action.blocked"),
    )));
    hidden
}

/// Head: the command, its class and what approving for the session covers. Always shown
/// first. Also returns how many rows the command itself takes.
fn head_lines(ctx: &Ctx, p: &ProposedAction, inner_w: u16) -> (Vec<Line<'static>>, usize) {
    let mut head = wrap_lines(
        &[RichLine::plain(p.command.clone(), "action.command")
            .with_prefix(vec![RichSpan::new("$ ", "tool.command")])
            .wrap(WrapMode::Char)],
        ctx.theme,
        inner_w,
    );
    let command_rows = head.len();
    head.push(Line::default());
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
    let covers = match (p.class, p.family.is_empty()) {
        (ActionClass::Read, false) => format!("For the session: later `{} …` reads too", p.family),
        _ => "For the session: this exact command only".to_string(),
    };
    head.extend(wrap_lines(
        &[RichLine::plain(covers, "ui.text.dim")],
        ctx.theme,
        inner_w,
    ));
    (head, command_rows)
}

/// Middle: what happens if approved, then why. Cut from the end when space is short.
fn middle_lines(ctx: &Ctx, p: &ProposedAction, inner_w: u16) -> Vec<Line<'static>> {
    let mut mid_rich = Vec::new();
    let refused = p
        .refused
        .as_ref()
        .map(|why| format!("REFUSED: {why}. It will not run, whatever you choose; edit it into a single plain command."));
    let note = if let Some(r) = refused.as_deref() {
        Some(r)
    } else if p.blocked_by_read_only {
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
