//! Key handling in the dialogs: approving, rejecting and editing a proposed command;
//! keeping, editing and discarding a proposed memory; proposals never taking keys typed
//! for something else.

use super::scenario::*;
use super::{app, feed, op, press, proposed, running, type_text};
use crate::protocol::{ApprovalScope, Event, Op};
use crate::tui::App;
use crate::tui::overlays::{ApprovalMode, Overlay};
use crate::tui::panes::PaneId;
use crate::tui::state::SentDecision;

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
