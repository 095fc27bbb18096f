//! Key handling per context: composer, approval, panes, palette, filter, help, quitting.

use super::scenario::*;
use super::{app, app_with, feed, op, press, running, type_text};
use crate::protocol::{Event, Op, TurnStatus};
use crate::tui::event::{AppCommand, PreviewContent};
use crate::tui::overlays::Overlay;
use crate::tui::panes::PaneId;
use crate::tui::state::Entry;
use crate::tui::{AppEvent, UiOutput};

#[test]
fn composer_types_and_submits() {
    let mut app = app();
    assert!(
        type_text(&mut app, "q? :/ jk").is_empty(),
        "letters type, they do not act"
    );
    assert_eq!(app.composer_text(), "q? :/ jk");
    for _ in 0..8 {
        press(&mut app, "<Backspace>");
    }
    type_text(&mut app, QUESTION);
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::Submit {
            text: QUESTION.into()
        })
    );
    assert_eq!(app.composer_text(), "");
    assert!(matches!(&app.state.transcript[0], Entry::User { text } if text == QUESTION));
    assert!(app.state.is_running());
    // An empty composer sends nothing.
    feed(
        &mut app,
        [Event::TurnComplete {
            status: TurnStatus::Answered,
            answer: None,
        }],
    );
    assert!(press(&mut app, "<Enter>").is_empty());
}

#[test]
fn composer_newlines_history_and_editing() {
    let mut app = app();
    type_text(&mut app, "first");
    press(&mut app, "<A-Enter>");
    type_text(&mut app, "second");
    assert_eq!(app.composer_text(), "first\nsecond");
    press(&mut app, "<C-w>");
    assert_eq!(app.composer_text(), "first\n");
    press(&mut app, "<C-j>");
    type_text(&mut app, "x");
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::Submit {
            text: "first\n\nx".into()
        })
    );
    feed(
        &mut app,
        [Event::TurnComplete {
            status: TurnStatus::Answered,
            answer: None,
        }],
    );
    press(&mut app, "<Up>");
    assert_eq!(app.composer_text(), "first\n\nx");
    press(&mut app, "<Down>");
    press(&mut app, "<Down>");
    press(&mut app, "<Down>");
    assert_eq!(app.composer_text(), "");
}

#[test]
fn text_while_running_is_feedback() {
    let mut app = running();
    type_text(&mut app, "ignore the canary pods");
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::Feedback {
            text: "ignore the canary pods".into()
        })
    );
    // It shows when the agent queues it, not twice.
    assert!(
        !app.state
            .transcript
            .iter()
            .any(|e| matches!(e, Entry::User { text } if text.contains("canary")))
    );
    feed(
        &mut app,
        [Event::FeedbackQueued {
            id: 1,
            text: "ignore the canary pods".into(),
        }],
    );
    assert!(
        app.state
            .transcript
            .iter()
            .any(|e| matches!(e, Entry::Feedback { id: 1 }))
    );
}

#[test]
fn a_command_longer_than_the_window_is_never_cut_silently_nor_approved_unseen() {
    let mut app = running();
    let mut ev = rollback_proposed();
    let long = format!(
        "kubectl annotate deploy/checkout-api -n shop {}end-of-command=1",
        "note=checked ".repeat(300)
    );
    if let Event::ActionProposed { action } = &mut ev {
        action.command = long;
        action.blocked_by_read_only = false;
    }
    app.resize(80, 24);
    feed(&mut app, [kube_findings_finished(), ev]);
    app.settle_dialog();
    let shown = super::screen(&app, 80, 24);
    assert!(
        shown.contains("more lines of the command are not shown"),
        "{shown}"
    );
    assert!(press(&mut app, "y").is_empty());
    let notice = app
        .state
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("do not fit"), "{notice}");
    // With room for all of it, the whole command shows and can be approved.
    app.resize(200, 60);
    let shown = super::screen(&app, 200, 60);
    assert!(!shown.contains("not shown"), "{shown}");
    assert!(matches!(
        press(&mut app, "y").as_slice(),
        [UiOutput::Op(Op::Approve { .. })]
    ));
}

#[test]
fn panes_focus_cycle_zoom_and_selection() {
    let mut app = running();
    feed(&mut app, git_log());
    assert_eq!(app.view.focus, PaneId::Composer);
    press(&mut app, "<Tab>");
    assert_eq!(app.view.focus, PaneId::Transcript);
    press(&mut app, "<Tab>");
    assert_eq!(app.view.focus, PaneId::Tools);
    press(&mut app, "<S-Tab>");
    press(&mut app, "<S-Tab>");
    assert_eq!(app.view.focus, PaneId::Composer);
    press(&mut app, "<S-Tab>");
    assert_eq!(app.view.focus, PaneId::Actions);

    press(&mut app, "2");
    press(&mut app, "z");
    assert!(app.view.zoomed);
    press(&mut app, "z");
    assert!(!app.view.zoomed);
    // Two tools: the newest is selected; k goes up, j back down (and follows again).
    press(&mut app, "k");
    assert_eq!(app.view.selected.get(&PaneId::Tools), Some(&0));
    press(&mut app, "j");
    assert_eq!(app.view.selected.get(&PaneId::Tools), None);
    press(&mut app, "<Enter>");
    assert!(app.view.expanded_tools.contains("c2"));
    // Esc goes back to the composer; `i` too.
    press(&mut app, "<Esc>");
    assert_eq!(app.view.focus, PaneId::Composer);
}

#[test]
fn transcript_scrolls_and_follows_again_at_the_bottom() {
    let mut app = crate::tui::bench::long_transcript_app(200);
    app.resize(80, 24);
    press(&mut app, "<Esc>");
    assert_eq!(app.view.focus, PaneId::Transcript);
    press(&mut app, "<PageUp>");
    assert!(app.view.transcript_top.is_some());
    press(&mut app, "<Home>");
    assert_eq!(app.view.transcript_top, Some(0));
    press(&mut app, "<End>");
    assert_eq!(app.view.transcript_top, None);
}

#[test]
fn vim_keymap_pages_with_ctrl_d_and_jumps_with_g() {
    let mut app = app_with("vim", "default");
    let mut long = crate::tui::bench::long_transcript_app(200);
    std::mem::swap(&mut app.state, &mut long.state);
    app.resize(80, 24);
    press(&mut app, "<Esc>");
    press(&mut app, "<C-u>");
    let top = app.view.transcript_top.unwrap();
    press(&mut app, "<C-d>");
    assert!(app.view.transcript_top.is_none_or(|t| t > top));
    press(&mut app, "g");
    assert_eq!(app.view.transcript_top, Some(0));
    press(&mut app, "G");
    assert_eq!(app.view.transcript_top, None);
    press(&mut app, "l");
    assert_eq!(app.view.focus, PaneId::Tools);
}

#[test]
fn palette_runs_commands() {
    let mut app = app();
    press(&mut app, "<C-p>");
    type_text(&mut app, "ns shop");
    assert_eq!(
        press(&mut app, "<Enter>"),
        vec![UiOutput::Command(AppCommand::Namespace {
            name: Some("shop".into())
        })]
    );
    assert!(app.overlay().is_none());

    press(&mut app, "<Esc>");
    press(&mut app, ":");
    type_text(&mut app, "se");
    press(&mut app, "<Tab>");
    match app.overlay() {
        Some(Overlay::Palette(p)) => assert_eq!(p.input.text(), "sessions "),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        press(&mut app, "<Enter>"),
        vec![UiOutput::Command(AppCommand::Sessions)]
    );

    press(&mut app, ":");
    type_text(&mut app, "q");
    assert_eq!(
        press(&mut app, "<Enter>"),
        vec![UiOutput::Op(Op::Shutdown), UiOutput::Quit]
    );
}

#[test]
fn the_memory_browser_opens_at_once_and_fills_when_the_list_arrives() {
    let mut app = app();
    press(&mut app, "<C-p>");
    type_text(&mut app, "memory lag");
    assert_eq!(
        press(&mut app, "<Enter>"),
        vec![UiOutput::Command(AppCommand::Memory {
            query: Some("lag".into())
        })]
    );
    assert!(matches!(app.overlay(), Some(Overlay::Preview(p)) if p.content.is_none()));
    app.handle_app_event(AppEvent::Preview(PreviewContent {
        path: crate::tui::app::MEMORIES.into(),
        start: 1,
        end: 1,
        first_line: 1,
        text: Ok("1 memories\n\nm-1 · correction · active · confidence 0.80\n  lag at 17:00 is the backfill".into()),
    }));
    match app.overlay() {
        Some(Overlay::Preview(p)) => assert_eq!(p.line_count(), 4),
        other => panic!("{other:?}"),
    }
    let screen = super::screen(&app, 100, 30);
    assert!(screen.contains("lag at 17:00 is the backfill"), "{screen}");
    press(&mut app, "<Esc>");
    assert!(app.overlay().is_none());
}

#[test]
fn filter_narrows_the_focused_pane() {
    let mut app = running();
    feed(&mut app, [kube_findings_finished()]);
    feed(&mut app, git_log());
    feed(&mut app, search_code());
    press(&mut app, "<Esc>");
    press(&mut app, "2");
    press(&mut app, "/");
    type_text(&mut app, "GIT");
    assert_eq!(app.view.filter(PaneId::Tools), Some("GIT"));
    press(&mut app, "<Enter>");
    assert!(app.overlay().is_none());
    assert_eq!(app.view.filter(PaneId::Tools), Some("GIT"));
    let ctx = crate::tui::panes::Ctx {
        state: &app.state,
        view: &app.view,
        theme: app.theme(),
        keymap: app.keymap(),
    };
    assert_eq!(crate::tui::panes::tools::visible(&ctx), vec![1]);
    // Esc in the pane clears the filter; a second Esc goes to the composer.
    press(&mut app, "<Esc>");
    assert_eq!(app.view.filter(PaneId::Tools), None);
    press(&mut app, "/");
    type_text(&mut app, "x");
    press(&mut app, "<Esc>");
    assert_eq!(app.view.filter(PaneId::Tools), None);
}

#[test]
fn help_lists_the_active_contexts() {
    let mut app = app();
    press(&mut app, "<F1>");
    match app.overlay() {
        Some(Overlay::Help(h)) => assert_eq!(
            h.contexts,
            [
                crate::tui::keymap::Context::Composer,
                crate::tui::keymap::Context::Input,
                crate::tui::keymap::Context::Global
            ]
        ),
        other => panic!("{other:?}"),
    }
    press(&mut app, "j");
    press(&mut app, "<Esc>");
    assert!(app.overlay().is_none());
}

#[test]
fn ctrl_c_cancels_a_run_and_quits_when_idle() {
    let mut app = running();
    assert_eq!(press(&mut app, "<C-c>"), op(Op::Cancel));
    feed(
        &mut app,
        [Event::TurnComplete {
            status: TurnStatus::Cancelled,
            answer: None,
        }],
    );
    assert_eq!(
        press(&mut app, "<C-c>"),
        vec![UiOutput::Op(Op::Shutdown), UiOutput::Quit]
    );
}

#[test]
fn quitting_during_a_run_takes_two_presses() {
    let mut app = running();
    press(&mut app, "<Esc>");
    assert!(press(&mut app, "q").is_empty());
    assert!(app.state.notice.as_ref().unwrap().text.contains("again"));
    assert_eq!(
        press(&mut app, "q"),
        vec![UiOutput::Op(Op::Shutdown), UiOutput::Quit]
    );
    // Any other key disarms it.
    let mut app = running();
    press(&mut app, "<Esc>");
    press(&mut app, "q");
    press(&mut app, "j");
    assert!(press(&mut app, "q").is_empty());
}

#[test]
fn a_quit_armed_during_a_run_is_withdrawn_when_the_run_ends() {
    let mut app = running();
    press(&mut app, "<C-q>");
    assert!(app.state.notice.as_ref().unwrap().text.contains("again"));
    feed(
        &mut app,
        [Event::TurnComplete {
            status: TurnStatus::Answered,
            answer: None,
        }],
    );
    let notice = &app.state.notice.as_ref().unwrap().text;
    assert!(notice.contains("run finished"), "{notice}");
    assert!(!notice.contains("again"), "{notice}");
    // Nothing is left to cancel, so one press quits.
    assert_eq!(
        press(&mut app, "<C-q>"),
        vec![UiOutput::Op(Op::Shutdown), UiOutput::Quit]
    );
}

#[test]
fn continue_after_a_budget_stop() {
    let mut app = running();
    assert!(press(&mut app, "<F5>").is_empty());
    feed(
        &mut app,
        [Event::TurnComplete {
            status: TurnStatus::BudgetExhausted,
            answer: None,
        }],
    );
    assert_eq!(press(&mut app, "<F5>"), op(Op::Continue));
    assert!(app.state.is_running());
}

#[test]
fn rewind_asks_twice_and_fork_goes_to_the_launcher() {
    let mut app = running();
    feed(&mut app, [checkpoint_scope(), checkpoint_hypothesis()]);
    press(&mut app, "<Esc>");
    assert!(
        press(&mut app, "r").is_empty(),
        "only from the checkpoints pane"
    );
    press(&mut app, "4");
    press(&mut app, "k");
    assert!(press(&mut app, "r").is_empty());
    assert_eq!(press(&mut app, "r"), op(Op::Rewind { checkpoint: 1 }));
    assert_eq!(press(&mut app, "f"), op(Op::Fork { checkpoint: 1 }));
}

#[test]
fn preview_requests_a_region_and_drops_stale_answers() {
    let mut app = running();
    feed(&mut app, [checkpoint_hypothesis()]);
    press(&mut app, "<Esc>");
    press(&mut app, "4");
    assert_eq!(
        press(&mut app, "p"),
        vec![UiOutput::PreviewRequest {
            path: "services/checkout/src/db.rs".into(),
            start: 40,
            end: 72
        }]
    );
    let answer = |path: &str| PreviewContent {
        path: path.into(),
        start: 40,
        end: 72,
        first_line: 38,
        text: Ok(db_rs_region()),
    };
    app.handle_app_event(AppEvent::Preview(answer("other.rs")));
    assert!(matches!(app.overlay(), Some(Overlay::Preview(p)) if p.content.is_none()));
    app.handle_app_event(AppEvent::Preview(answer("services/checkout/src/db.rs")));
    assert!(matches!(app.overlay(), Some(Overlay::Preview(p)) if p.content.is_some()));
    press(&mut app, "j");
    press(&mut app, "q");
    assert!(app.overlay().is_none());
}

#[test]
fn key_releases_are_ignored() {
    let mut app = app();
    let mut ev = crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('x'),
        crossterm::event::KeyModifiers::NONE,
    );
    ev.kind = crossterm::event::KeyEventKind::Release;
    assert!(app.handle_key(ev).is_empty());
    assert_eq!(app.composer_text(), "");
}

#[test]
fn paste_goes_to_the_composer() {
    let mut app = app();
    press(&mut app, "<Esc>");
    app.handle_paste("line one\r\nline two");
    assert_eq!(app.view.focus, PaneId::Composer);
    assert_eq!(app.composer_text(), "line one\nline two");
}
