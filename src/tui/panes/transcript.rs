//! The conversation and everything the agent did, in order: user messages, streamed
//! Markdown answers, tool calls (details collapsible), checkpoints, actions and their
//! output, feedback, errors, and how each turn ended.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::checkpoints::evidence_lines;
use super::{Ctx, PaneId, format_count, pane_block};
use crate::protocol::{Decision, TurnStatus, confidence_label};
use crate::tui::keymap::{Action, Context};
use crate::tui::state::{Entry, error_kind_label};
use crate::tui::widgets::rich::{RichLine, RichSpan, WrapMode, wrap_line};

/// Output lines shown before "… N more lines" when tool output is collapsed.
const COLLAPSED_OUTPUT_LINES: usize = 3;

/// Width-independent lines for one entry.
#[allow(clippy::too_many_lines)] // one arm per kind of transcript entry
pub fn entry_lines(ctx: &Ctx, entry: &Entry) -> Vec<RichLine> {
    let state = ctx.state;
    let mut out = Vec::new();
    match entry {
        Entry::User { text } => {
            for (i, line) in text.lines().enumerate() {
                let marker = if i == 0 { "› " } else { "  " };
                out.push(
                    RichLine::plain(line.to_string(), "transcript.user")
                        .with_prefix(vec![RichSpan::new(marker, "transcript.user.marker")]),
                );
            }
        }
        Entry::Assistant { lines, done, .. } => {
            for l in lines {
                let mut l = l.clone();
                l.prefix.insert(0, RichSpan::new("  ", "ui.text"));
                l.cont_prefix.insert(0, RichSpan::new("  ", "ui.text"));
                out.push(l);
            }
            if !done {
                match out.last_mut() {
                    Some(last) => last.spans.push(RichSpan::new("▍", "ui.spinner")),
                    None => out.push(RichLine::plain("  ▍", "ui.spinner")),
                }
            }
        }
        Entry::Playbook { playbook, reason } => out.push(
            RichLine::new(vec![
                RichSpan::new(
                    format!("playbook {}", playbook.as_str()),
                    "transcript.system",
                ),
                RichSpan::new(format!(" — {reason}"), "transcript.system"),
            ])
            .with_prefix(vec![RichSpan::new("▸ ", "transcript.system")]),
        ),
        Entry::Tool { call } => {
            if let Some(t) = state.tool(call) {
                let (icon, scope) = super::tools::status_icon(ctx, t.state);
                let mut spans = vec![RichSpan::new(t.tool.clone(), "tool.name")];
                if let Some(ms) = t.duration_ms {
                    spans.push(RichSpan::new(
                        format!(" {}", super::format_duration(ms)),
                        "tool.duration",
                    ));
                }
                match &t.summary {
                    Some(s) => spans.push(RichSpan::new(format!("  {s}"), "ui.text.dim")),
                    None => spans.push(RichSpan::new("  running…", "tool.status.running")),
                }
                out.push(RichLine::new(spans).with_prefix(vec![
                    RichSpan::new("  ", "ui.text"),
                    RichSpan::new(format!("{icon} "), scope),
                ]));
                if ctx.view.show_tool_output || ctx.view.expanded_tools.contains(call) {
                    if !t.command.is_empty() {
                        out.push(
                            RichLine::plain(t.command.clone(), "tool.command")
                                .with_prefix(vec![RichSpan::new("      $ ", "tool.command")])
                                .wrap(WrapMode::Char),
                        );
                    }
                    if !t.arguments.is_null() {
                        out.push(
                            RichLine::plain(t.arguments.to_string(), "ui.text.dim")
                                .with_prefix(vec![RichSpan::new("      ", "ui.text")])
                                .wrap(WrapMode::Char),
                        );
                    }
                }
            }
        }
        Entry::Feedback { id } => {
            if let Some(f) = state.feedback.iter().find(|f| f.id == *id) {
                let status = if f.applied { "applied" } else { "queued" };
                out.push(
                    RichLine::new(vec![
                        RichSpan::new(f.text.clone(), "transcript.feedback"),
                        RichSpan::new(format!("  ({status})"), "ui.text.dim"),
                    ])
                    .with_prefix(vec![RichSpan::new("↳ feedback: ", "transcript.feedback")]),
                );
            }
        }
        Entry::Checkpoint { id } => {
            if let Some(c) = state.checkpoints.iter().find(|c| c.id == *id) {
                let label = confidence_label(c.confidence);
                out.push(
                    RichLine::new(vec![
                        RichSpan::new(format!("checkpoint #{} ", c.id), "checkpoint.id"),
                        RichSpan::new(c.stage.as_str(), "checkpoint.stage"),
                        RichSpan::new(" · ", "ui.text.dim"),
                        RichSpan::new(
                            format!("{label} {:.2}", c.confidence),
                            confidence_scope(label),
                        ),
                        RichSpan::new(format!(" — {}", c.summary), "ui.text"),
                    ])
                    .with_prefix(vec![RichSpan::new("◆ ", "checkpoint.stage")]),
                );
            }
        }
        Entry::Action { id } => {
            if let Some(a) = state.action(*id) {
                let p = &a.proposal;
                let class = match p.class {
                    crate::protocol::ActionClass::Read => ("READ", "action.class.read"),
                    crate::protocol::ActionClass::Write => ("WRITE", "action.class.write"),
                };
                out.push(
                    RichLine::new(vec![
                        RichSpan::new(format!("action #{} proposed ", p.id), "action.pending"),
                        RichSpan::new(format!(" {} ", class.0), class.1),
                    ])
                    .with_prefix(vec![RichSpan::new("⚑ ", "action.pending")]),
                );
                out.push(
                    RichLine::plain(p.command.clone(), "action.command")
                        .with_prefix(vec![RichSpan::new("  $ ", "tool.command")])
                        .wrap(WrapMode::Char),
                );
                if a.is_pending() {
                    let key = ctx
                        .keymap
                        .hint(&[Context::Global], Action::Decide)
                        .unwrap_or_else(|| "the actions pane".into());
                    let mut hint = vec![RichSpan::new(
                        format!("awaiting your decision — {key} to decide"),
                        "ui.hint",
                    )];
                    if p.blocked_by_read_only {
                        hint.push(RichSpan::new(
                            " · read-only mode will refuse it",
                            "action.blocked",
                        ));
                    }
                    out.push(RichLine::new(hint).with_prefix(vec![RichSpan::new("  ", "ui.text")]));
                }
            }
        }
        Entry::Decision { action, decision } => {
            let (text, scope) = match decision {
                Decision::Approved { scope } => (
                    format!(
                        "action #{action} approved ({})",
                        match scope {
                            crate::protocol::ApprovalScope::Once => "once",
                            crate::protocol::ApprovalScope::Session => "for the session",
                        }
                    ),
                    "action.approved",
                ),
                Decision::Rejected { reason } => (
                    format!("action #{action} rejected: {reason}"),
                    "action.rejected",
                ),
                Decision::Edited { replaced_by } => (
                    format!("action #{action} edited; proposed again as #{replaced_by}"),
                    "action.edited",
                ),
                Decision::Refused { why } => {
                    (format!("action #{action} not run: {why}"), "action.refused")
                }
            };
            out.push(
                RichLine::plain(text, scope).with_prefix(vec![RichSpan::new("  ", "ui.text")]),
            );
        }
        Entry::ActionOutput {
            action,
            command,
            exit_code,
            stdout,
            stderr,
            duration_ms,
        } => {
            let code = exit_code.map_or("no exit code".to_string(), |c| format!("exit {c}"));
            let scope = if *exit_code == Some(0) {
                "action.approved"
            } else {
                "action.rejected"
            };
            out.push(
                RichLine::new(vec![
                    RichSpan::new(format!("ran action #{action}: "), "transcript.system"),
                    RichSpan::new(command.clone(), "action.command"),
                    RichSpan::new(
                        format!("  {code} in {}", super::format_duration(*duration_ms)),
                        scope,
                    ),
                ])
                .with_prefix(vec![RichSpan::new("$ ", "tool.command")])
                .wrap(WrapMode::Char),
            );
            let text: Vec<(&str, &'static str)> = stdout
                .lines()
                .map(|l| (l, "markup.code.block"))
                .chain(stderr.lines().map(|l| (l, "diagnostic.warning")))
                .collect();
            let shown = if ctx.view.show_tool_output {
                text.len()
            } else {
                text.len().min(COLLAPSED_OUTPUT_LINES)
            };
            for (l, s) in &text[..shown] {
                out.push(
                    RichLine::plain(l.to_string(), s)
                        .with_prefix(vec![RichSpan::new("  │ ", "markup.code.fence")])
                        .wrap(WrapMode::Char),
                );
            }
            if shown < text.len() {
                let key = ctx
                    .keymap
                    .hint(&[Context::Panes], Action::ToggleToolOutput)
                    .map(|k| format!(" ({k} in the transcript shows all)"))
                    .unwrap_or_default();
                out.push(RichLine::plain(
                    format!("  │ … {} more lines{key}", text.len() - shown),
                    "ui.text.dim",
                ));
            }
        }
        Entry::Error {
            kind,
            message,
            recoverable,
        } => {
            let tail = if *recoverable {
                " (retrying or continuing)"
            } else {
                ""
            };
            out.push(
                RichLine::new(vec![
                    RichSpan::new(
                        format!("{} error: ", error_kind_label(*kind)),
                        "transcript.error",
                    ),
                    RichSpan::new(message.clone(), "transcript.error"),
                    RichSpan::new(tail, "ui.text.dim"),
                ])
                .with_prefix(vec![RichSpan::new("✗ ", "transcript.error")]),
            );
        }
        Entry::TurnEnd { status, answer } => {
            let mut spans = vec![RichSpan::new("── ", "markup.rule")];
            let (word, scope) = match status {
                TurnStatus::Answered => ("answered", "tool.status.ok"),
                TurnStatus::BudgetExhausted => ("budget spent", "ui.statusline.run.stopped"),
                TurnStatus::Cancelled => ("cancelled", "ui.statusline.run.stopped"),
                TurnStatus::Failed => ("failed", "diagnostic.error"),
            };
            spans.push(RichSpan::new(word, scope));
            if let Some(a) = answer {
                let label = confidence_label(a.confidence);
                spans.push(RichSpan::new(" · ", "markup.rule"));
                spans.push(RichSpan::new(
                    format!("{label} confidence {:.2}", a.confidence),
                    confidence_scope(label),
                ));
            }
            if *status == TurnStatus::BudgetExhausted
                && let Some(k) = ctx.keymap.hint(&[Context::Global], Action::ContinueRun)
            {
                spans.push(RichSpan::new(format!(" · {k} continues"), "ui.hint"));
            }
            spans.push(RichSpan::new(" ─", "markup.rule"));
            let mut rule = RichLine::new(spans);
            rule.fill = true;
            out.push(rule);
            if let Some(a) = answer {
                out.extend(evidence_lines(&a.evidence));
            }
            let used = state.budget_used;
            let mut facts = Vec::new();
            if let Some(a) = answer
                && !a.memories.is_empty()
            {
                facts.push(plural(a.memories.len(), "memory", "memories") + " used");
            }
            if used.tokens() > 0 || used.tool_calls > 0 {
                facts.push(format!("{} tokens", format_count(used.tokens())));
                facts.push(plural(used.tool_calls as usize, "tool call", "tool calls"));
            }
            if !facts.is_empty() {
                out.push(
                    RichLine::plain(facts.join(" · "), "ui.text.dim")
                        .with_prefix(vec![RichSpan::new("  ", "ui.text")]),
                );
            }
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn confidence_scope(label: &str) -> &'static str {
    match label {
        "high" => "confidence.high",
        "medium" => "confidence.medium",
        _ => "confidence.low",
    }
}

/// Compact entries sit together without a blank line between them.
fn compact(e: &Entry) -> bool {
    matches!(
        e,
        Entry::Tool { .. }
            | Entry::Playbook { .. }
            | Entry::Decision { .. }
            | Entry::Feedback { .. }
    )
}

fn entry_text(ctx: &Ctx, e: &Entry) -> String {
    entry_lines(ctx, e)
        .iter()
        .map(RichLine::text)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The transcript's rows at `width`, last `need` rows at least (all when `need` is
/// `usize::MAX`). Returns the rows (oldest first) and whether they are all the rows.
pub fn tail_rows(ctx: &Ctx, width: u16, need: usize) -> (Vec<Line<'static>>, bool) {
    let filter = ctx.view.filter(PaneId::Transcript);
    let entries: Vec<&Entry> = ctx
        .state
        .transcript
        .iter()
        .filter(|e| {
            filter.is_none_or(|f| {
                entry_text(ctx, e)
                    .to_lowercase()
                    .contains(&f.to_lowercase())
            })
        })
        .collect();
    let mut chunks: Vec<Vec<Line<'static>>> = Vec::new();
    let mut count = 0usize;
    for (i, e) in entries.iter().enumerate().rev() {
        let mut rows = Vec::new();
        if i > 0 && !(compact(e) && compact(entries[i - 1])) {
            rows.push(Line::default());
        }
        for l in entry_lines(ctx, e) {
            wrap_line(&l, ctx.theme, width, &mut rows);
        }
        count += rows.len();
        chunks.push(rows);
        if count >= need && i > 0 {
            return (chunks.into_iter().rev().flatten().collect(), false);
        }
    }
    (chunks.into_iter().rev().flatten().collect(), true)
}

/// All rows of the transcript at `width` (for scroll limits).
pub fn total_rows(ctx: &Ctx, width: u16) -> usize {
    tail_rows(ctx, width, usize::MAX).0.len()
}

/// The width the transcript's text gets inside its border.
pub fn text_width(area_width: u16) -> u16 {
    area_width.saturating_sub(2).max(1)
}

fn welcome(ctx: &Ctx) -> Vec<RichLine> {
    let hint = |ctxs: &[Context], a: Action| ctx.keymap.hint(ctxs, a).unwrap_or_default();
    vec![
        RichLine::plain(
            "What's wrong? Describe the alert or the symptom, e.g.",
            "ui.text",
        ),
        RichLine::plain("checkout-api 5xx since 14:05", "markup.code")
            .with_prefix(vec![RichSpan::new("  › ", "transcript.user.marker")]),
        RichLine::blank(),
        RichLine::plain(
            "triage reads the cluster, the repo and past incidents, shows every step here, and changes nothing without your key press.",
            "ui.text.dim",
        ),
        RichLine::blank(),
        RichLine::new(vec![
            RichSpan::new(hint(&[Context::Composer], Action::Submit), "ui.hint.key"),
            RichSpan::new(" send    ", "ui.hint"),
            RichSpan::new(hint(&[Context::Global], Action::FocusNext), "ui.hint.key"),
            RichSpan::new(" move between panes", "ui.hint"),
        ]),
        RichLine::new(vec![
            RichSpan::new(hint(&[Context::Global], Action::Help), "ui.hint.key"),
            RichSpan::new(" keys      ", "ui.hint"),
            RichSpan::new(hint(&[Context::Global], Action::Palette), "ui.hint.key"),
            RichSpan::new(" commands (context, namespace, model…)", "ui.hint"),
        ]),
    ]
}

pub fn render(ctx: &Ctx, area: Rect, buf: &mut Buffer) {
    let badge = ctx
        .state
        .playbook
        .map(|p| format!("· {} playbook", p.as_str()));
    let mut block = pane_block(ctx, PaneId::Transcript, badge);
    let inner = block.inner(area);
    if inner.width == 0 || inner.height == 0 {
        block.render(area, buf);
        return;
    }
    let height = usize::from(inner.height);
    if ctx.state.transcript.is_empty() {
        block.render(area, buf);
        let mut rows = Vec::new();
        for l in welcome(ctx) {
            wrap_line(&l, ctx.theme, inner.width, &mut rows);
        }
        for (i, row) in rows.into_iter().take(height).enumerate() {
            row.render(Rect::new(inner.x, inner.y + i as u16, inner.width, 1), buf);
        }
        return;
    }
    let (rows, start) = match ctx.view.transcript_top {
        // Following: only the newest rows need laying out.
        None => {
            let (rows, _) = tail_rows(ctx, inner.width, height);
            let start = rows.len().saturating_sub(height);
            (rows, start)
        }
        Some(top) => {
            let (rows, _) = tail_rows(ctx, inner.width, usize::MAX);
            let start = top.min(rows.len().saturating_sub(height));
            (rows, start)
        }
    };
    let end = (start + height).min(rows.len());
    let below = rows.len() - end;
    if below > 0 {
        block = block.title_bottom(
            Line::from(Span::styled(
                format!(" ↓ {below} more rows "),
                ctx.style("ui.hint"),
            ))
            .right_aligned(),
        );
    }
    block.render(area, buf);
    for (i, row) in rows[start..end].iter().enumerate() {
        row.clone()
            .render(Rect::new(inner.x, inner.y + i as u16, inner.width, 1), buf);
    }
}
