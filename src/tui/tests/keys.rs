//! Key handling per context: composer, approval, panes, palette, filter, help, quitting.

use super::scenario::*;
use super::{app, app_with, feed, press, type_text};
use crate::protocol::{ApprovalScope, Event, Op, TurnStatus};
use crate::tui::event::{AppCommand, PreviewContent};
use crate::tui::overlays::{ApprovalMode, Overlay};
use crate::tui::panes::PaneId;
use crate::tui::state::{Entry, SentDecision};
use crate::tui::{App, AppEvent, UiOutput};

fn op(o: Op) -> Vec<UiOutput> {
    vec![UiOutput::Op(o)]
}

fn running() -> App {
    let mut app = app();
    feed(&mut app, [session_started()]);
    type_text(&mut app, QUESTION);
    press(&mut app, "<Enter>");
    feed(&mut app, [playbook(), kube_findings_started()]);
    app
}

fn proposed() -> App {
    let mut app = running();
    feed(&mut app, [kube_findings_finished(), rollback_proposed()]);
    assert!(matches!(app.overlay(), Some(Overlay::Approval(_))));
    app.settle_dialog();
    app
}

#[test]
fn a_key_typed_as_the_dialog_opens_decides_nothing() {
    let mut app = running();
    feed(&mut app, [kube_findings_finished(), rollback_proposed()]);
    for key in ["y", "a", "n", "e"] {
        assert!(press(&mut app, key).is_empty(), "{key} decided at once");
        assert!(
            matches!(app.overlay(), Some(Overlay::Approval(a)) if a.mode == ApprovalMode::Choose),
            "{key} changed the dialog"
        );
        assert!(app.state.actions[0].sent.is_none());
    }
    let notice = app
        .state
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("just opened"), "{notice}");
    app.settle_dialog();
    assert_eq!(
        press(&mut app, "y"),
        op(Op::Approve {
            action: 1,
            scope: ApprovalScope::Once
        })
    );
}

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
fn approval_y_approves_once() {
    let mut app = proposed();
    assert_eq!(
        press(&mut app, "y"),
        op(Op::Approve {
            action: 1,
            scope: ApprovalScope::Once
        })
    );
    assert!(app.overlay().is_none());
    assert_eq!(
        app.state.actions[0].sent,
        Some(SentDecision::Approve(ApprovalScope::Once))
    );
}

#[test]
fn approval_a_approves_for_the_session() {
    let mut app = proposed();
    assert_eq!(
        press(&mut app, "a"),
        op(Op::Approve {
            action: 1,
            scope: ApprovalScope::Session
        })
    );
}

#[test]
fn approval_n_asks_why_then_rejects() {
    let mut app = proposed();
    assert!(press(&mut app, "n").is_empty());
    // In the reason field, y and a are just letters.
    assert!(type_text(&mut app, "yes, a backfill").is_empty());
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::Reject {
            action: 1,
            reason: "yes, a backfill".into()
        })
    );
    assert!(app.overlay().is_none());
}

#[test]
fn approval_esc_in_the_reason_goes_back_to_the_choice() {
    let mut app = proposed();
    press(&mut app, "n");
    press(&mut app, "<Esc>");
    assert!(matches!(app.overlay(), Some(Overlay::Approval(a)) if a.mode == ApprovalMode::Choose));
}

#[test]
fn approval_e_edits_the_command() {
    let mut app = proposed();
    press(&mut app, "e");
    // An unchanged command is not sent.
    assert!(press(&mut app, "<Enter>").is_empty());
    press(&mut app, "<C-u>");
    type_text(
        &mut app,
        "kubectl rollout pause deploy/checkout-api -n shop",
    );
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::EditAction {
            action: 1,
            command: "kubectl rollout pause deploy/checkout-api -n shop".into()
        })
    );
}

#[test]
fn approval_esc_defers_and_f2_reopens() {
    let mut app = proposed();
    assert!(press(&mut app, "<Esc>").is_empty());
    assert!(app.overlay().is_none());
    assert!(app.state.notice.as_ref().unwrap().text.contains("F2"));
    assert_eq!(app.state.pending_actions().count(), 1);
    press(&mut app, "<F2>");
    assert!(matches!(app.overlay(), Some(Overlay::Approval(a)) if a.action == 1));
}

#[test]
fn a_proposal_never_opens_under_the_users_typing() {
    let mut app = running();
    type_text(&mut app, "why");
    feed(&mut app, [rollback_proposed()]);
    assert!(app.overlay().is_none());
    assert!(
        app.state
            .notice
            .as_ref()
            .unwrap()
            .text
            .contains("action #1 proposed")
    );
    // This `y` goes to the composer, not to an approval.
    assert!(type_text(&mut app, "y").is_empty());
    assert_eq!(app.composer_text(), "whyy");
}

fn remembering() -> App {
    let mut app = app();
    feed(&mut app, [session_started(), correction_proposed()]);
    assert!(matches!(app.overlay(), Some(Overlay::Remember(_))));
    app
}

#[test]
fn a_proposed_memory_is_kept_with_y() {
    let mut app = remembering();
    assert_eq!(
        press(&mut app, "y"),
        op(Op::ConfirmMemory {
            memory: "m-1a2b3c4d".into(),
            text: None
        })
    );
    assert!(app.overlay().is_none());
}

#[test]
fn a_proposed_memory_is_edited_with_e_then_kept() {
    let mut app = remembering();
    assert!(press(&mut app, "e").is_empty());
    press(&mut app, "<C-u>");
    // In the text field y and n are letters.
    type_text(&mut app, "lag at 17:00 is the backfill; say nothing");
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::ConfirmMemory {
            memory: "m-1a2b3c4d".into(),
            text: Some("lag at 17:00 is the backfill; say nothing".into())
        })
    );
}

#[test]
fn a_proposed_memory_is_discarded_with_n_and_waits_with_esc() {
    let mut app = remembering();
    assert!(press(&mut app, "<Esc>").is_empty());
    assert!(app.overlay().is_none());
    assert!(app.state.notice.as_ref().unwrap().text.contains("waits"));
    press(&mut app, "<F2>");
    assert!(matches!(app.overlay(), Some(Overlay::Remember(_))));
    assert_eq!(
        press(&mut app, "n"),
        op(Op::DiscardMemory {
            memory: "m-1a2b3c4d".into()
        })
    );
    feed(
        &mut app,
        [Event::MemoryUpdated {
            memory: "m-1a2b3c4d".into(),
            status: "discarded".into(),
            detail: "not kept".into(),
        }],
    );
    assert!(app.state.proposals.is_empty());
}

#[test]
fn slash_remember_and_ratings_go_to_the_agent() {
    let mut app = app();
    feed(&mut app, [session_started()]);
    type_text(
        &mut app,
        "/remember payments is scaled down at night on purpose",
    );
    assert_eq!(
        press(&mut app, "<Enter>"),
        op(Op::Remember {
            text: "payments is scaled down at night on purpose".into()
        })
    );
    type_text(&mut app, "/wrong");
    assert_eq!(press(&mut app, "<Enter>"), op(Op::Rate { helpful: false }));
    assert!(
        app.state.transcript.is_empty(),
        "commands are not questions"
    );
}

#[test]
fn approval_from_the_actions_pane() {
    let mut app = proposed();
    press(&mut app, "<Esc>");
    press(&mut app, "<Esc>");
    press(&mut app, "5");
    assert_eq!(app.view.focus, PaneId::Actions);
    press(&mut app, "<Enter>");
    assert!(matches!(app.overlay(), Some(Overlay::Approval(_))));
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
