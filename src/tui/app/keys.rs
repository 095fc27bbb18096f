//! Key dispatch: find the action for a key in the active contexts, then carry it out for
//! whatever has the focus (a dialog, the composer, a pane).

use crossterm::event::{KeyEvent, KeyEventKind};

use super::App;
use crate::protocol::{ApprovalScope, Op, TurnStatus};
use crate::tui::event::UiOutput;
use crate::tui::keymap::{Action, Context, KeySpec};
use crate::tui::overlays::palette::PaletteResult;
use crate::tui::overlays::{
    ApprovalMode, ApprovalOverlay, FilterOverlay, HelpOverlay, Overlay, PaletteOverlay,
    PreviewOverlay, RememberOverlay,
};
use crate::tui::panes::{self, PaneId};
use crate::tui::state::{NoticeLevel, RunState, SentDecision};
use crate::tui::widgets::text_input::TextInput;

type Out = Vec<UiOutput>;

/// The preview "path" of the memory browser.
pub const MEMORIES: &str = "memories";

pub(super) fn handle_key(app: &mut App, key: KeyEvent) -> Out {
    if key.kind == KeyEventKind::Release {
        return Vec::new();
    }
    app.dirty = true;
    app.state.notice = None;
    let (contexts, text_field) = key_contexts(app);
    let action = app.keymap.resolve(&contexts, &key);
    let armed = app.armed.take();
    match action {
        Some(a) => dispatch(app, a, armed),
        None => {
            if text_field && let Some(c) = KeySpec::printable(&key) {
                if let Some(input) = app.active_input() {
                    input.insert_char(c);
                }
                app.after_edit();
                return Vec::new();
            }
            match app.keymap.resolve(&[Context::Global], &key) {
                Some(a) => dispatch(app, a, armed),
                None => Vec::new(),
            }
        }
    }
}

/// The contexts a key is looked up in before `global`, and whether printable keys type.
pub(super) fn key_contexts(app: &App) -> (Vec<Context>, bool) {
    match &app.overlay {
        Some(Overlay::Approval(a)) => match a.mode {
            ApprovalMode::Choose => (vec![Context::Approval], false),
            _ => (vec![Context::Prompt, Context::Input], true),
        },
        Some(Overlay::Remember(r)) => match r.edit {
            None => (vec![Context::Approval], false),
            Some(_) => (vec![Context::Prompt, Context::Input], true),
        },
        Some(Overlay::Help(_)) => (vec![Context::Help], false),
        Some(Overlay::Palette(_)) => (vec![Context::Palette, Context::Input], true),
        Some(Overlay::Filter(_)) => (vec![Context::Filter, Context::Input], true),
        Some(Overlay::Preview(_)) => (vec![Context::Preview], false),
        None if app.view.focus == PaneId::Composer => {
            (vec![Context::Composer, Context::Input], true)
        }
        None => (vec![Context::Panes], false),
    }
}

/// Contexts shown on the help screen: the active ones and `global`.
pub(super) fn help_contexts(app: &App) -> Vec<Context> {
    let (mut c, _) = key_contexts(app);
    c.push(Context::Global);
    c
}

fn dispatch(app: &mut App, action: Action, armed: Option<(Action, u64)>) -> Out {
    // Text editing first: it means the same in every field.
    if let Some(out) = edit(app, action) {
        return out;
    }
    let handled = match &app.overlay {
        Some(Overlay::Approval(_)) => approval(app, action),
        Some(Overlay::Remember(_)) => remember(app, action),
        Some(Overlay::Help(_)) => help(app, action),
        Some(Overlay::Palette(_)) => palette(app, action),
        Some(Overlay::Filter(_)) => filter(app, action),
        Some(Overlay::Preview(_)) => preview(app, action),
        None if app.view.focus == PaneId::Composer => composer(app, action),
        None => pane(app, action, armed),
    };
    match handled {
        Some(out) => out,
        None => global(app, action, armed),
    }
}

fn edit(app: &mut App, action: Action) -> Option<Out> {
    let input = app.active_input()?;
    let changed = match action {
        Action::CursorLeft => {
            input.left();
            false
        }
        Action::CursorRight => {
            input.right();
            false
        }
        Action::WordLeft => {
            input.word_left();
            false
        }
        Action::WordRight => {
            input.word_right();
            false
        }
        Action::LineStart => {
            input.line_start();
            false
        }
        Action::LineEnd => {
            input.line_end();
            false
        }
        Action::DeleteBack => {
            input.delete_back();
            true
        }
        Action::DeleteForward => {
            input.delete_forward();
            true
        }
        Action::DeleteWord => {
            input.delete_word();
            true
        }
        Action::ClearLine => {
            input.clear_line();
            true
        }
        Action::Newline => {
            input.newline();
            true
        }
        _ => return None,
    };
    if changed {
        app.after_edit();
    }
    Some(Vec::new())
}

fn approval(app: &mut App, action: Action) -> Option<Out> {
    if let Some(Overlay::Approval(ov)) = &app.overlay {
        let now = std::time::Instant::now();
        let refused =
            crate::tui::overlays::approval::refuse_decision(&app.ctx(), ov, app.size, action, now);
        if let Some(why) = refused {
            app.state.notify(NoticeLevel::Warning, why);
            return Some(Vec::new());
        }
    }
    let Some(Overlay::Approval(ov)) = &mut app.overlay else {
        return None;
    };
    let id = ov.action;
    match (&mut ov.mode, action) {
        (ApprovalMode::Choose, Action::ApproveOnce | Action::ApproveSession) => {
            let scope = if action == Action::ApproveOnce {
                ApprovalScope::Once
            } else {
                ApprovalScope::Session
            };
            app.overlay = None;
            if let Some(row) = app.state.action_mut(id) {
                row.sent = Some(SentDecision::Approve(scope));
            }
            Some(vec![UiOutput::Op(Op::Approve { action: id, scope })])
        }
        (ApprovalMode::Choose, Action::Reject) => {
            ov.mode = ApprovalMode::Reason(TextInput::single_line());
            Some(Vec::new())
        }
        (ApprovalMode::Choose, Action::EditAction) => {
            let cmd = app
                .state
                .action(id)
                .map(|a| a.proposal.command.clone())
                .unwrap_or_default();
            if let Some(Overlay::Approval(ov)) = &mut app.overlay {
                ov.mode = ApprovalMode::Edit(TextInput::single_line().with_text(&cmd));
            }
            Some(Vec::new())
        }
        (ApprovalMode::Choose, Action::Defer | Action::Close) => {
            app.overlay = None;
            let key = app
                .keymap
                .hint(&[Context::Global], Action::Decide)
                .map(|k| format!("press {k} or "))
                .unwrap_or_default();
            app.state.notify(
                NoticeLevel::Info,
                format!("action #{id} waits: {key}open it in the actions pane to decide"),
            );
            Some(Vec::new())
        }
        (ApprovalMode::Reason(input), Action::Submit) => {
            let reason = input.text().trim().to_string();
            app.overlay = None;
            if let Some(row) = app.state.action_mut(id) {
                row.sent = Some(SentDecision::Reject(reason.clone()));
            }
            Some(vec![UiOutput::Op(Op::Reject { action: id, reason })])
        }
        (ApprovalMode::Edit(input), Action::Submit) => {
            let command = input.text().trim().to_string();
            let original = app.state.action(id).map(|a| a.proposal.command.as_str());
            if command.is_empty() || Some(command.as_str()) == original {
                app.state.notify(
                    NoticeLevel::Warning,
                    "the command is unchanged: edit it, or Esc to go back",
                );
                return Some(Vec::new());
            }
            app.overlay = None;
            if let Some(row) = app.state.action_mut(id) {
                row.sent = Some(SentDecision::Edit(command.clone()));
            }
            Some(vec![UiOutput::Op(Op::EditAction {
                action: id,
                command,
            })])
        }
        (ApprovalMode::Reason(_) | ApprovalMode::Edit(_), Action::Close) => {
            ov.mode = ApprovalMode::Choose;
            Some(Vec::new())
        }
        (_, Action::Help) => {
            let contexts = help_contexts(app);
            // Help replaces the dialog; the action stays pending.
            app.overlay = Some(Overlay::Help(HelpOverlay::new(contexts)));
            Some(Vec::new())
        }
        // Focus moves and zoom make no sense under a dialog.
        (
            _,
            Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Palette | Action::Decide,
        ) => Some(Vec::new()),
        _ => None,
    }
}

fn remember(app: &mut App, action: Action) -> Option<Out> {
    let Some(Overlay::Remember(ov)) = &mut app.overlay else {
        return None;
    };
    let memory = ov.memory.clone();
    match (&ov.edit, action) {
        (None, Action::ApproveOnce | Action::ApproveSession) => {
            app.overlay = None;
            Some(vec![UiOutput::Op(Op::ConfirmMemory { memory, text: None })])
        }
        (None, Action::EditAction) => {
            let text = app
                .state
                .proposals
                .iter()
                .find(|p| p.memory == memory)
                .map(|p| p.text.clone())
                .unwrap_or_default();
            ov.edit = Some(TextInput::multi_line().with_text(text.trim_end()));
            Some(Vec::new())
        }
        (None, Action::Reject) => {
            app.overlay = None;
            Some(vec![UiOutput::Op(Op::DiscardMemory { memory })])
        }
        (None, Action::Defer | Action::Close) => {
            app.overlay = None;
            let key = app
                .keymap
                .hint(&[Context::Global], Action::Decide)
                .map(|k| format!(": press {k} to decide"))
                .unwrap_or_default();
            app.state.notify(
                NoticeLevel::Info,
                format!("memory {memory} waits (kept as proposed){key}"),
            );
            Some(Vec::new())
        }
        (Some(input), Action::Submit) => {
            let text = input.text().trim().to_string();
            app.overlay = None;
            Some(vec![UiOutput::Op(Op::ConfirmMemory {
                memory,
                text: Some(text),
            })])
        }
        (Some(_), Action::Close) => {
            ov.edit = None;
            Some(Vec::new())
        }
        (
            _,
            Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Palette | Action::Decide,
        ) => Some(Vec::new()),
        _ => None,
    }
}

fn scroll_overlay(scroll: &mut usize, action: Action, page: usize, max: usize) -> bool {
    match action {
        Action::ScrollDown | Action::SelectNext => *scroll = (*scroll + 1).min(max),
        Action::ScrollUp | Action::SelectPrev => *scroll = scroll.saturating_sub(1),
        Action::PageDown => *scroll = (*scroll + page).min(max),
        Action::PageUp => *scroll = scroll.saturating_sub(page),
        Action::ScrollTop => *scroll = 0,
        Action::ScrollBottom => *scroll = max,
        _ => return false,
    }
    true
}

fn help(app: &mut App, action: Action) -> Option<Out> {
    let page = usize::from(app.size.height.saturating_sub(6)).max(1);
    let total = match &app.overlay {
        Some(Overlay::Help(h)) => crate::tui::overlays::help::line_count(&app.ctx(), h),
        _ => return None,
    };
    let Some(Overlay::Help(h)) = &mut app.overlay else {
        return None;
    };
    let max = total.saturating_sub(page);
    if scroll_overlay(&mut h.scroll, action, page, max) {
        return Some(Vec::new());
    }
    match action {
        Action::Close | Action::Help => {
            app.overlay = None;
            Some(Vec::new())
        }
        Action::FocusNext | Action::FocusPrev | Action::Zoom => Some(Vec::new()),
        _ => None,
    }
}

fn palette(app: &mut App, action: Action) -> Option<Out> {
    let Some(Overlay::Palette(p)) = &mut app.overlay else {
        return None;
    };
    match action {
        Action::SelectNext | Action::HistoryNext => p.select_next(),
        Action::SelectPrev | Action::HistoryPrev => p.select_prev(),
        Action::Complete => p.complete(),
        Action::Close => app.overlay = None,
        Action::Submit => {
            let result = p.run();
            app.overlay = None;
            return Some(match result {
                PaletteResult::Command(c) => {
                    // The memory browser opens at once and fills when the list arrives.
                    if matches!(c, crate::tui::event::AppCommand::Memory { .. }) {
                        app.overlay = Some(Overlay::Preview(PreviewOverlay::new(
                            MEMORIES.to_string(),
                            1,
                            1,
                        )));
                    }
                    vec![UiOutput::Command(c)]
                }
                PaletteResult::Quit => quit_now(),
                PaletteResult::Unknown(text) => {
                    app.state.notify(
                        NoticeLevel::Warning,
                        format!("no command \"{text}\": try ctx, ns, model, replay, index, memory, forget, sessions, theme, quit"),
                    );
                    Vec::new()
                }
            });
        }
        Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Palette => {}
        _ => return None,
    }
    Some(Vec::new())
}

fn filter(app: &mut App, action: Action) -> Option<Out> {
    let Some(Overlay::Filter(f)) = &app.overlay else {
        return None;
    };
    let pane = f.pane;
    match action {
        Action::Submit => {
            app.overlay = None;
            if app.view.filter(pane).is_none() {
                app.view.filters.remove(&pane);
            }
        }
        Action::Close => {
            app.overlay = None;
            app.view.filters.remove(&pane);
            app.view.selected.remove(&pane);
        }
        Action::FocusNext | Action::FocusPrev | Action::Zoom | Action::Palette => {}
        _ => return None,
    }
    Some(Vec::new())
}

fn preview(app: &mut App, action: Action) -> Option<Out> {
    let page = usize::from(app.size.height.saturating_mul(8) / 10)
        .saturating_sub(3)
        .max(1);
    let Some(Overlay::Preview(p)) = &mut app.overlay else {
        return None;
    };
    let max = p.line_count().saturating_sub(page);
    if scroll_overlay(&mut p.scroll, action, page, max) {
        return Some(Vec::new());
    }
    match action {
        Action::Close => {
            app.overlay = None;
            Some(Vec::new())
        }
        Action::Preview => {
            let (cp, next) = (p.checkpoint, p.evidence_index + 1);
            Some(open_preview(app, cp, next))
        }
        Action::FocusNext | Action::FocusPrev | Action::Zoom => Some(Vec::new()),
        _ => None,
    }
}

fn composer(app: &mut App, action: Action) -> Option<Out> {
    match action {
        Action::Submit => {
            let Some(text) = app.composer.submit() else {
                return Some(Vec::new());
            };
            // Slash commands about memory work while a run is going, too.
            let trimmed = text.trim();
            if let Some(rule) = trimmed.strip_prefix("/remember") {
                let rule = rule.trim().to_string();
                if rule.is_empty() {
                    app.state.notify(
                        NoticeLevel::Warning,
                        "/remember what? e.g. /remember lag at 17:00 is the backfill",
                    );
                    return Some(Vec::new());
                }
                return Some(vec![UiOutput::Op(Op::Remember { text: rule })]);
            }
            if trimmed == "/helpful" || trimmed == "/wrong" {
                return Some(vec![UiOutput::Op(Op::Rate {
                    helpful: trimmed == "/helpful",
                })]);
            }
            if app.state.is_running() {
                // The agent echoes it as FeedbackQueued; the transcript shows it then.
                return Some(vec![UiOutput::Op(Op::Feedback { text })]);
            }
            app.state.user_message(&text);
            app.view.transcript_top = None;
            Some(vec![UiOutput::Op(Op::Submit { text })])
        }
        Action::HistoryPrev => {
            app.composer.history_prev();
            Some(Vec::new())
        }
        Action::HistoryNext => {
            app.composer.history_next();
            Some(Vec::new())
        }
        Action::PageUp | Action::PageDown | Action::ScrollTop | Action::ScrollBottom => {
            scroll_transcript(app, action);
            Some(Vec::new())
        }
        Action::Close => {
            app.view.focus = PaneId::Transcript;
            Some(Vec::new())
        }
        _ => None,
    }
}

fn pane(app: &mut App, action: Action, armed: Option<(Action, u64)>) -> Option<Out> {
    let focus = app.view.focus;
    match action {
        Action::SelectNext
        | Action::SelectPrev
        | Action::ScrollUp
        | Action::ScrollDown
        | Action::PageUp
        | Action::PageDown
        | Action::ScrollTop
        | Action::ScrollBottom => {
            if focus == PaneId::Transcript {
                scroll_transcript(app, action);
            } else {
                move_selection(app, focus, action);
            }
        }
        Action::Open => return Some(open(app, focus)),
        Action::ToggleToolOutput => toggle_output(app, focus),
        Action::Preview => return Some(open_preview(app, None, 0)),
        Action::Rewind | Action::Fork => return Some(checkpoint_action(app, action, armed)),
        Action::Filter => {
            let current = app.view.filter(focus).map(str::to_string);
            app.overlay = Some(Overlay::Filter(FilterOverlay::new(
                focus,
                current.as_deref(),
            )));
        }
        Action::Close => {
            if app.view.filters.remove(&focus).is_none() {
                app.view.focus = PaneId::Composer;
            }
        }
        _ => return None,
    }
    Some(Vec::new())
}

fn global(app: &mut App, action: Action, armed: Option<(Action, u64)>) -> Out {
    match action {
        Action::Quit => {
            if app.state.is_running() && armed.map(|a| a.0) != Some(Action::Quit) {
                app.armed = Some((Action::Quit, 0));
                let key = app
                    .keymap
                    .hint(&help_contexts(app), Action::Quit)
                    .unwrap_or_else(|| "it".into());
                app.state.notify(
                    NoticeLevel::Warning,
                    format!("a run is active: press {key} again to cancel it and quit"),
                );
                return Vec::new();
            }
            return quit_now();
        }
        Action::Interrupt => {
            if app.state.is_running() {
                app.state.notify(NoticeLevel::Info, "cancelling the run…");
                return vec![UiOutput::Op(Op::Cancel)];
            }
            return quit_now();
        }
        Action::CancelRun => {
            if app.state.is_running() {
                app.state.notify(NoticeLevel::Info, "cancelling the run…");
                return vec![UiOutput::Op(Op::Cancel)];
            }
            app.state.notify(NoticeLevel::Info, "no run to cancel");
        }
        Action::ContinueRun => {
            if app.state.run == RunState::Stopped(TurnStatus::BudgetExhausted) {
                app.state.resumed();
                return vec![UiOutput::Op(Op::Continue)];
            }
            app.state.notify(
                NoticeLevel::Info,
                "nothing to continue: no run stopped on its budget",
            );
        }
        Action::FocusNext | Action::FocusPrev if app.overlay.is_none() => {
            let next = if action == Action::FocusNext {
                app.view.focus.next()
            } else {
                app.view.focus.prev()
            };
            focus(app, next);
        }
        Action::FocusComposer => focus(app, PaneId::Composer),
        Action::FocusTranscript => focus(app, PaneId::Transcript),
        Action::FocusTools => focus(app, PaneId::Tools),
        Action::FocusMemory => focus(app, PaneId::Memory),
        Action::FocusCheckpoints => focus(app, PaneId::Checkpoints),
        Action::FocusActions => focus(app, PaneId::Actions),
        Action::Zoom if app.overlay.is_none() => app.view.zoomed = !app.view.zoomed,
        Action::Help => {
            let contexts = help_contexts(app);
            app.overlay = Some(Overlay::Help(HelpOverlay::new(contexts)));
        }
        Action::Palette => app.overlay = Some(Overlay::Palette(PaletteOverlay::new())),
        Action::Decide => {
            let oldest = app.state.pending_actions().next().map(|a| a.proposal.id);
            let proposal = app.state.proposals.first().map(|p| p.memory.clone());
            match (oldest, proposal) {
                (Some(id), _) => app.overlay = Some(Overlay::Approval(ApprovalOverlay::new(id))),
                (None, Some(m)) => app.overlay = Some(Overlay::Remember(RememberOverlay::new(m))),
                (None, None) => app
                    .state
                    .notify(NoticeLevel::Info, "nothing is waiting for a decision"),
            }
        }
        Action::Filter => {
            let pane = if app.view.focus == PaneId::Composer {
                PaneId::Transcript
            } else {
                app.view.focus
            };
            let current = app.view.filter(pane).map(str::to_string);
            app.overlay = Some(Overlay::Filter(FilterOverlay::new(
                pane,
                current.as_deref(),
            )));
        }
        Action::Close => app.overlay = None,
        _ => {}
    }
    Vec::new()
}

fn quit_now() -> Out {
    vec![UiOutput::Op(Op::Shutdown), UiOutput::Quit]
}

fn focus(app: &mut App, pane: PaneId) {
    app.view.focus = pane;
    if pane.is_side() {
        app.view.side_tab = pane;
    }
}

fn transcript_geometry(app: &App) -> (usize, usize) {
    let areas = app.areas();
    let rect = areas.pane(PaneId::Transcript).unwrap_or(areas.body);
    let width = panes::transcript::text_width(rect.width);
    let height = usize::from(rect.height.saturating_sub(2)).max(1);
    let total = panes::transcript::total_rows(&app.ctx(), width);
    (total, height)
}

fn scroll_transcript(app: &mut App, action: Action) {
    let (total, height) = transcript_geometry(app);
    let bottom = total.saturating_sub(height);
    let top = app.view.transcript_top.unwrap_or(bottom).min(bottom);
    let page = height.saturating_sub(1).max(1);
    let new = match action {
        Action::SelectNext | Action::ScrollDown => top + 1,
        Action::SelectPrev | Action::ScrollUp => top.saturating_sub(1),
        Action::PageDown => top + page,
        Action::PageUp => top.saturating_sub(page),
        Action::ScrollTop => 0,
        _ => bottom,
    };
    app.view.transcript_top = (new < bottom).then_some(new);
}

fn row_count(app: &App, pane: PaneId) -> usize {
    let ctx = app.ctx();
    match pane {
        PaneId::Tools => panes::tools::visible(&ctx).len(),
        PaneId::Memory => panes::memory::visible(&ctx).len(),
        PaneId::Checkpoints => panes::checkpoints::visible(&ctx).len(),
        PaneId::Actions => panes::actions::visible(&ctx).len(),
        PaneId::Transcript | PaneId::Composer => 0,
    }
}

fn move_selection(app: &mut App, pane: PaneId, action: Action) {
    let count = row_count(app, pane);
    if count == 0 {
        return;
    }
    let cur = app
        .view
        .selected
        .get(&pane)
        .copied()
        .unwrap_or(count - 1)
        .min(count - 1);
    let page = 5;
    let new = match action {
        Action::SelectNext | Action::ScrollDown => (cur + 1).min(count - 1),
        Action::SelectPrev | Action::ScrollUp => cur.saturating_sub(1),
        Action::PageDown => (cur + page).min(count - 1),
        Action::PageUp => cur.saturating_sub(page),
        Action::ScrollTop => 0,
        _ => count - 1,
    };
    if new == count - 1 {
        // The last row follows new ones as they arrive.
        app.view.selected.remove(&pane);
    } else {
        app.view.selected.insert(pane, new);
    }
}

fn open(app: &mut App, pane: PaneId) -> Out {
    match pane {
        PaneId::Actions => {
            let ctx = app.ctx();
            match panes::actions::selected(&ctx).map(|a| (a.proposal.id, a.is_pending())) {
                Some((id, true)) => {
                    app.overlay = Some(Overlay::Approval(ApprovalOverlay::new(id)));
                }
                Some((id, false)) => app.state.notify(
                    NoticeLevel::Info,
                    format!("action #{id} is already decided"),
                ),
                None => {}
            }
            Vec::new()
        }
        PaneId::Checkpoints => open_preview(app, None, 0),
        _ => {
            toggle_output(app, pane);
            Vec::new()
        }
    }
}

fn toggle_output(app: &mut App, pane: PaneId) {
    match pane {
        PaneId::Tools => {
            let ctx = app.ctx();
            let idx = panes::tools::visible(&ctx);
            let call = panes::selected_index(&ctx, PaneId::Tools, idx.len())
                .map(|pos| app.state.tools[idx[pos]].call.clone());
            if let Some(call) = call
                && !app.view.expanded_tools.remove(&call)
            {
                app.view.expanded_tools.insert(call);
            }
        }
        _ => app.view.show_tool_output = !app.view.show_tool_output,
    }
}

/// Preview the `index`-th file evidence of a checkpoint (the selected one by default).
fn open_preview(app: &mut App, checkpoint: Option<u64>, index: usize) -> Out {
    let ctx = app.ctx();
    let cp = match checkpoint {
        Some(id) => app.state.checkpoints.iter().find(|c| c.id == id),
        None if app.view.focus == PaneId::Checkpoints => panes::checkpoints::selected(&ctx),
        None => app.state.checkpoints.last(),
    };
    let Some(cp) = cp else {
        app.state
            .notify(NoticeLevel::Info, "no checkpoint to preview yet");
        return Vec::new();
    };
    let files: Vec<(String, usize, usize)> = cp
        .evidence
        .iter()
        .filter_map(panes::checkpoints::file_region)
        .collect();
    if files.is_empty() {
        let id = cp.id;
        app.state.notify(
            NoticeLevel::Info,
            format!("checkpoint #{id} has no file evidence to preview"),
        );
        return Vec::new();
    }
    let i = index % files.len();
    let (path, start, end) = files[i].clone();
    let mut ov = PreviewOverlay::new(path.clone(), start, end);
    ov.checkpoint = Some(cp.id);
    ov.evidence_index = i;
    app.overlay = Some(Overlay::Preview(ov));
    vec![UiOutput::PreviewRequest { path, start, end }]
}

fn checkpoint_action(app: &mut App, action: Action, armed: Option<(Action, u64)>) -> Out {
    if app.view.focus != PaneId::Checkpoints {
        let key = app
            .keymap
            .hint(&[Context::Panes], Action::FocusCheckpoints)
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        app.state.notify(
            NoticeLevel::Info,
            format!("select a checkpoint in the checkpoints pane{key} first"),
        );
        return Vec::new();
    }
    let ctx = app.ctx();
    let Some(id) = panes::checkpoints::selected(&ctx).map(|c| c.id) else {
        app.state.notify(NoticeLevel::Info, "no checkpoint yet");
        return Vec::new();
    };
    // Forking keeps the current branch, so one press is enough.
    if action == Action::Fork {
        app.state
            .notify(NoticeLevel::Info, format!("forking from checkpoint #{id}"));
        return vec![UiOutput::Op(Op::Fork { checkpoint: id })];
    }
    // Rewinding drops what came after: ask for the same key twice.
    if armed != Some((Action::Rewind, id)) {
        app.armed = Some((Action::Rewind, id));
        let key = app
            .keymap
            .hint(&[Context::Panes], Action::Rewind)
            .unwrap_or_else(|| "it".into());
        app.state.notify(
            NoticeLevel::Warning,
            format!(
                "rewind to checkpoint #{id}? Later observations are dropped. Press {key} again"
            ),
        );
        return Vec::new();
    }
    app.state
        .notify(NoticeLevel::Info, format!("rewinding to checkpoint #{id}"));
    vec![UiOutput::Op(Op::Rewind { checkpoint: id })]
}
