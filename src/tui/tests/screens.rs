//! Golden screens: the incident flow step by step, every pane (focused and zoomed) and
//! every dialog, at 80×24 and 120×40.

use super::scenario::*;
use super::{app, assert_screens, feed, press, type_text};
use crate::protocol::{Decision, Event, TurnStatus};
use crate::tui::event::PreviewContent;
use crate::tui::state::{ClusterState, IndexState, StatusInfo};
use crate::tui::{App, AppEvent};

/// The incident up to the proposed rollback, with the approval dialog deferred.
fn investigated() -> App {
    let mut app = app();
    feed(&mut app, [session_started()]);
    type_text(&mut app, QUESTION);
    press(&mut app, "<Enter>");
    feed(
        &mut app,
        [playbook(), kube_findings_started(), budget(3_200, 1)],
    );
    feed(&mut app, [kube_findings_finished(), checkpoint_scope()]);
    feed(&mut app, git_log());
    feed(&mut app, search_code());
    feed(&mut app, [memory_hit(), budget(18_400, 3)]);
    feed(
        &mut app,
        [
            Event::TokenDelta {
                text: ANSWER_PART1.into(),
            },
            Event::TokenDelta {
                text: ANSWER_PART2.into(),
            },
            Event::TokenDelta {
                text: ANSWER_PART3.into(),
            },
            Event::MessageDone {
                text: format!("{ANSWER_PART1}{ANSWER_PART2}{ANSWER_PART3}"),
            },
            checkpoint_hypothesis(),
            rollback_proposed(),
            budget(24_900, 3),
        ],
    );
    app
}

#[test]
fn incident_timeline_in_the_transcript() {
    let mut app = app();
    feed(&mut app, [session_started()]);
    type_text(&mut app, QUESTION);
    press(&mut app, "<Enter>");
    feed(
        &mut app,
        [playbook(), kube_findings_started(), budget(3_200, 1)],
    );
    feed(&mut app, [kube_findings_finished(), checkpoint_scope()]);
    feed(&mut app, git_log());
    feed(&mut app, [timeline()]);
    assert_screens!("incident_step3b_timeline", app);
}

#[test]
fn welcome() {
    assert_screens!("welcome", app());
}

#[test]
fn incident_flow_step_by_step() {
    let mut app = app();
    feed(&mut app, [session_started()]);
    type_text(&mut app, QUESTION);
    press(&mut app, "<Enter>");
    assert_screens!("incident_step1_start", app);

    feed(
        &mut app,
        [playbook(), kube_findings_started(), budget(3_200, 1)],
    );
    app.handle_app_event(AppEvent::Tick);
    assert_screens!("incident_step2_tool_running", app);

    feed(&mut app, [kube_findings_finished(), checkpoint_scope()]);
    feed(&mut app, git_log());
    feed(&mut app, search_code());
    assert_screens!("incident_step3_tools_done", app);

    feed(&mut app, [memory_hit(), budget(18_400, 3)]);
    assert_screens!("incident_step4_memory_hit", app);

    feed(
        &mut app,
        [
            Event::TokenDelta {
                text: ANSWER_PART1.into(),
            },
            Event::TokenDelta {
                text: ANSWER_PART2.into(),
            },
        ],
    );
    assert_screens!("incident_step5_streaming", app);

    feed(
        &mut app,
        [
            Event::TokenDelta {
                text: ANSWER_PART3.into(),
            },
            Event::MessageDone {
                text: format!("{ANSWER_PART1}{ANSWER_PART2}{ANSWER_PART3}"),
            },
            checkpoint_hypothesis(),
        ],
    );
    assert_screens!("incident_step6_message_done", app);

    feed(&mut app, [rollback_proposed(), budget(24_900, 3)]);
    assert_screens!("incident_step7_action_proposed", app);

    // The engineer reads the dialog before deciding (keys in its first moments are not
    // decisions).
    app.settle_dialog();
    press(&mut app, "n");
    type_text(
        &mut app,
        "backfill is the cause; pausing the CronJob instead",
    );
    assert_screens!("incident_step8_reject_reason", app);

    press(&mut app, "<Enter>");
    feed(
        &mut app,
        [
            Event::ActionDecided {
                action: 1,
                decision: Decision::Rejected {
                    reason: "backfill is the cause; pausing the CronJob instead".into(),
                },
            },
            turn_complete(),
        ],
    );
    assert_screens!("incident_step9_turn_complete", app);

    // The rejection reason comes back as a proposed correction: one key keeps it.
    feed(&mut app, [correction_proposed()]);
    assert_screens!("incident_step10_remember", app);
}

#[test]
fn feedback_while_running() {
    let mut app = app();
    feed(&mut app, [session_started()]);
    type_text(&mut app, QUESTION);
    press(&mut app, "<Enter>");
    feed(&mut app, [playbook(), kube_findings_started()]);
    type_text(&mut app, "ignore the canary pods");
    press(&mut app, "<Enter>");
    feed(
        &mut app,
        [Event::FeedbackQueued {
            id: 1,
            text: "ignore the canary pods".into(),
        }],
    );
    type_text(&mut app, "also check");
    press(&mut app, "<A-Enter>");
    type_text(&mut app, "the ingress");
    assert_screens!("composer_feedback_while_running", app);
}

fn zoomed_on(key: &str) -> App {
    let mut app = investigated();
    press(&mut app, "<Esc>"); // the approval dialog: decide later
    press(&mut app, "<Esc>"); // the composer: to the panes
    press(&mut app, key);
    press(&mut app, "z");
    app
}

#[test]
fn pane_transcript() {
    let mut app = zoomed_on("1");
    press(&mut app, "o");
    assert_screens!("pane_transcript_zoomed", app);
}

#[test]
fn pane_tools() {
    let mut app = zoomed_on("2");
    press(&mut app, "k");
    assert_screens!("pane_tools_zoomed", app);
}

#[test]
fn pane_memory() {
    assert_screens!("pane_memory_zoomed", zoomed_on("3"));
}

#[test]
fn pane_checkpoints() {
    assert_screens!("pane_checkpoints_zoomed", zoomed_on("4"));
}

#[test]
fn pane_actions() {
    assert_screens!("pane_actions_zoomed", zoomed_on("5"));
}

#[test]
fn side_panes_focused_unzoomed() {
    let mut app = investigated();
    press(&mut app, "<Esc>");
    press(&mut app, "<Esc>");
    press(&mut app, "4");
    assert_screens!("panes_checkpoints_focused", app);
}

#[test]
fn status_line_variants() {
    let mut app = investigated();
    press(&mut app, "<Esc>");
    let mut out = String::new();
    let variants: Vec<(&str, StatusInfo, Option<TurnStatus>)> = vec![
        ("live, read-only", status(), None),
        (
            "write mode, replay, offline, indexing",
            StatusInfo {
                read_only: false,
                cluster: ClusterState::Replay {
                    file: "recordings/checkout-5xx.json".into(),
                },
                model: None,
                index: IndexState::Building { percent: Some(42) },
                ..status()
            },
            None,
        ),
        (
            "unreachable, no index, budget spent",
            StatusInfo {
                cluster: ClusterState::Unreachable {
                    context: "prod-eu".into(),
                    reason: "connection refused".into(),
                },
                index: IndexState::Missing,
                ..status()
            },
            Some(TurnStatus::BudgetExhausted),
        ),
    ];
    for (name, st, turn) in variants {
        app.state.notice = None;
        app.handle_app_event(AppEvent::Status(st));
        if let Some(status) = turn {
            feed(
                &mut app,
                [Event::TurnComplete {
                    status,
                    answer: None,
                }],
            );
        }
        for w in [80u16, 120] {
            let text = super::screen(&app, w, 24);
            let last = text.lines().last().unwrap_or_default().to_string();
            out.push_str(&format!("{name} @ {w}\n{last}\n"));
        }
    }
    app.handle_app_event(AppEvent::Notice("namespace is now shop-canary".into()));
    for w in [80u16, 120] {
        let text = super::screen(&app, w, 24);
        let last = text.lines().last().unwrap_or_default().to_string();
        out.push_str(&format!("notice @ {w}\n{last}\n"));
    }
    insta::with_settings!({
        snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!("pane_status_variants", out);
    });
}

#[test]
fn overlay_approval() {
    let app = investigated();
    assert_screens!("overlay_approval_read_only", app);
}

#[test]
fn overlay_approval_write_mode_and_edit() {
    let mut app = app();
    let mut st = status();
    st.read_only = false;
    app.handle_app_event(AppEvent::Status(st));
    let mut ev = rollback_proposed();
    if let Event::ActionProposed { action } = &mut ev {
        action.blocked_by_read_only = false;
    }
    feed(&mut app, [ev]);
    assert_screens!("overlay_approval_write", app);
    app.settle_dialog();
    press(&mut app, "e");
    for _ in 0.." -n shop".len() {
        press(&mut app, "<Backspace>");
    }
    type_text(&mut app, " -n shop-canary");
    assert_screens!("overlay_approval_edit", app);
}

#[test]
fn overlay_help() {
    let mut app = investigated();
    press(&mut app, "<Esc>");
    press(&mut app, "<Esc>");
    press(&mut app, "?");
    assert_screens!("overlay_help_panes", app);
}

#[test]
fn overlay_palette() {
    let mut app = investigated();
    press(&mut app, "<Esc>");
    press(&mut app, "<C-p>");
    assert_screens!("overlay_palette_empty", app);
    type_text(&mut app, "m");
    assert_screens!("overlay_palette_filtered", app);
}

#[test]
fn overlay_filter() {
    let mut app = investigated();
    press(&mut app, "<Esc>");
    press(&mut app, "<Esc>");
    press(&mut app, "2");
    press(&mut app, "/");
    type_text(&mut app, "git");
    assert_screens!("overlay_filter_tools", app);
}

#[test]
fn overlay_preview() {
    let mut app = investigated();
    press(&mut app, "<Esc>");
    press(&mut app, "<Esc>");
    press(&mut app, "4");
    press(&mut app, "p");
    assert_screens!("overlay_preview_loading", app);
    app.handle_app_event(AppEvent::Preview(PreviewContent {
        path: "services/checkout/src/db.rs".into(),
        start: 40,
        end: 72,
        first_line: 38,
        text: Ok(db_rs_region()),
    }));
    assert_screens!("overlay_preview", app);
}
