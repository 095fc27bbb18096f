//! Key dispatch: find the action for a key in the active contexts, then carry it out for
//! whatever has the focus (a dialog, the composer, a pane).

use crossterm::event::{KeyEvent, KeyEventKind};

use super::model::App;
use crate::protocol::{Op, TurnStatus};
use crate::tui::event::UiOutput;
use crate::tui::keymap::{Action, Context, KeySpec};
use crate::tui::overlays::preview::MEMORIES;
use crate::tui::overlays::{
    ApprovalOverlay, FilterOverlay, HelpOverlay, Outcome, Overlay, PaletteOverlay, PreviewOverlay,
    RememberOverlay,
};
use crate::tui::panes::{self, PaneId};
use crate::tui::state::{NoticeLevel, RunState};

type Out = Vec<UiOutput>;

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
        Some(o) => o.contexts(),
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
        Some(_) => dialog(app, action),
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

/// A key on the open dialog, carried out here where it reaches beyond the dialog.
fn dialog(app: &mut App, action: Action) -> Option<Out> {
    // A decision too soon after the dialog opened, or on a command it cannot show whole.
    if let Some(Overlay::Approval(ov)) = &app.overlay {
        let now = std::time::Instant::now();
        let refused =
            crate::tui::overlays::approval::refuse_decision(&app.ctx(), ov, app.size, action, now);
        if let Some(why) = refused {
            app.state.notify(NoticeLevel::Warning, why);
            return Some(Vec::new());
        }
    }
    let help_lines = match &app.overlay {
        Some(Overlay::Help(h)) => crate::tui::overlays::help::line_count(&app.ctx(), h),
        _ => 0,
    };
    let outcome = match app.overlay.as_mut()? {
        Overlay::Approval(ov) => ov.handle(action, &mut app.state, &app.keymap),
        Overlay::Remember(ov) => ov.handle(action, &mut app.state, &app.keymap),
        Overlay::Help(h) => {
            let page = usize::from(app.size.height.saturating_sub(6)).max(1);
            h.handle(action, page, help_lines)
        }
        Overlay::Palette(p) => p.handle(action, &mut app.state),
        Overlay::Filter(f) => f.handle(action, &mut app.view),
        Overlay::Preview(p) => {
            let page = usize::from(app.size.height.saturating_mul(8) / 10)
                .saturating_sub(3)
                .max(1);
            p.handle(action, page)
        }
    };
    match outcome {
        Outcome::Pass => None,
        Outcome::Stay => Some(Vec::new()),
        Outcome::Close(out) => {
            app.overlay = None;
            Some(out)
        }
        Outcome::Help(contexts) => {
            app.overlay = Some(Overlay::Help(HelpOverlay::new(contexts)));
            Some(Vec::new())
        }
        Outcome::MemoryBrowser(out) => {
            app.overlay = Some(Overlay::Preview(PreviewOverlay::new(
                MEMORIES.to_string(),
                1,
                1,
            )));
            Some(out)
        }
        Outcome::Evidence { checkpoint, index } => Some(open_preview(app, checkpoint, index)),
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
            return UiOutput::quit();
        }
        Action::Interrupt => {
            if app.state.is_running() {
                app.state.notify(NoticeLevel::Info, "cancelling the run…");
                return vec![UiOutput::Op(Op::Cancel)];
            }
            return UiOutput::quit();
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
