//! Proposed actions: the command, READ or WRITE, whether read-only mode will refuse it, and
//! where the decision stands. Nothing here runs anything: a decision is a key press in the
//! approval dialog, sent to the agent as an Op.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{Ctx, PaneId, Row, format_duration, matches, pane_block, render_empty, render_rows};
use crate::protocol::{ActionClass, ApprovalScope, Decision};
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{ActionRow, SentDecision};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_lines};

pub fn visible(ctx: &Ctx) -> Vec<usize> {
    let f = ctx.view.filter(PaneId::Actions);
    ctx.state
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| matches(f, &[&a.proposal.command, &a.proposal.rationale]))
        .map(|(i, _)| i)
        .collect()
}

pub fn selected<'a>(ctx: &Ctx<'a>) -> Option<&'a ActionRow> {
    let idx = visible(ctx);
    let pos = super::selected_index(ctx, PaneId::Actions, idx.len())?;
    ctx.state.actions.get(idx[pos])
}

/// ` WRITE ` / ` READ ` badge.
pub fn class_badge(ctx: &Ctx, class: ActionClass) -> Span<'static> {
    match class {
        ActionClass::Read => Span::styled(" READ ", ctx.style("action.class.read")),
        ActionClass::Write => Span::styled(" WRITE ", ctx.style("action.class.write")),
    }
}

/// Where the action stands, in a few words, with its scope.
pub fn status(row: &ActionRow) -> (String, &'static str) {
    if let Some(out) = &row.outcome {
        let code = out
            .exit_code
            .map_or("no exit code".to_string(), |c| format!("exit {c}"));
        let scope = if out.exit_code == Some(0) {
            "action.approved"
        } else {
            "action.rejected"
        };
        return (
            format!("ran: {code} in {}", format_duration(out.duration_ms)),
            scope,
        );
    }
    match (&row.decision, &row.sent) {
        (Some(Decision::Approved { scope }), _) => (
            match scope {
                ApprovalScope::Once => "approved once".into(),
                ApprovalScope::Session => match row.proposal.preapproved_by {
                    Some(by) => format!("approved for session (by #{by})"),
                    None => "approved for session".into(),
                },
            },
            "action.approved",
        ),
        (Some(Decision::Rejected { reason }), _) => {
            (format!("rejected: {reason}"), "action.rejected")
        }
        (Some(Decision::Edited { replaced_by }), _) => {
            (format!("edited → #{replaced_by}"), "action.edited")
        }
        (Some(Decision::Refused { why }), _) => (format!("refused: {why}"), "action.refused"),
        (None, Some(SentDecision::Approve(_))) => ("approval sent…".into(), "action.pending"),
        (None, Some(SentDecision::Reject(_))) => ("rejection sent…".into(), "action.pending"),
        (None, Some(SentDecision::Edit(_))) => ("edit sent…".into(), "action.pending"),
        (None, None) => ("awaiting your decision".into(), "action.pending"),
    }
}

pub fn render(ctx: &Ctx, area: Rect, buf: &mut Buffer) {
    let idx = visible(ctx);
    let pending = ctx.state.pending_actions().count();
    let badge = match (ctx.state.actions.len(), pending) {
        (0, _) => None,
        (n, 0) => Some(n.to_string()),
        (n, p) => Some(format!("{n} · {p} pending")),
    };
    let block = pane_block(ctx, PaneId::Actions, badge);
    let inner = block.inner(area);
    block.render(area, buf);
    if idx.is_empty() {
        let text = if ctx.state.actions.is_empty() {
            "No actions proposed"
        } else {
            "No action matches the filter"
        };
        render_empty(ctx, text, inner, buf);
        return;
    }
    let selected = if ctx.focused(PaneId::Actions) {
        super::selected_index(ctx, PaneId::Actions, idx.len())
    } else {
        None
    };
    let mut compact = Vec::with_capacity(idx.len());
    let mut full = Vec::with_capacity(idx.len());
    for i in &idx {
        let row = &ctx.state.actions[*i];
        let p = &row.proposal;
        let (word, scope) = status(row);
        let mut head = vec![
            Span::styled(format!("#{} ", p.id), ctx.style("checkpoint.id")),
            class_badge(ctx, p.class),
            Span::styled(format!(" {word}"), ctx.style(scope)),
        ];
        if p.blocked_by_read_only && row.is_pending() {
            head.push(Span::styled(
                " · read-only will refuse",
                ctx.style("action.blocked"),
            ));
        }
        let head = Line::from(head);
        let command = RichLine::new(vec![RichSpan::new(p.command.clone(), "action.command")])
            .with_prefix(vec![RichSpan::new("  $ ", "tool.command")])
            .wrap(WrapMode::Char);
        // The command always shows in full: nobody approves what they cannot read.
        let mut lines = vec![head.clone()];
        lines.extend(wrap_lines(
            std::slice::from_ref(&command),
            ctx.theme,
            inner.width,
        ));
        compact.push(Row { lines });

        let mut detail = vec![
            command,
            RichLine::plain(p.rationale.clone(), "ui.text")
                .with_prefix(vec![RichSpan::new("  why   ", "ui.text.dim")]),
            RichLine::plain(p.class_reason.clone(), "ui.text.dim")
                .with_prefix(vec![RichSpan::new("  class ", "ui.text.dim")]),
        ];
        if row.is_pending()
            && let Some(k) = ctx.keymap.hint(&[Context::Panes], Action::Open)
        {
            detail.push(RichLine::new(vec![
                RichSpan::new(format!("  {k}"), "ui.hint.key"),
                RichSpan::new(" to decide", "ui.hint"),
            ]));
        }
        let mut lines = vec![head];
        lines.extend(wrap_lines(&detail, ctx.theme, inner.width));
        full.push(Row { lines });
    }
    let rows = super::fit(compact, full, selected, usize::from(inner.height));
    render_rows(&rows, selected, ctx.style("ui.selection"), inner, buf);
}
