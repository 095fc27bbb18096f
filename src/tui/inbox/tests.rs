//! The inbox reducer and its golden screens, step by step.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::render::render;
use super::state::{InboxState, RowState};
use crate::protocol::watch::{Logged, WatchEvent};
use crate::tui::Theme;

fn at(secs: u32, event: WatchEvent) -> Logged {
    Logged {
        t: format!("2025-06-01T12:{:02}:{:02}.000Z", secs / 60, secs % 60),
        event,
    }
}

fn queued(id: &str, request: &str, position: usize) -> WatchEvent {
    WatchEvent::InvestigationQueued {
        investigation: id.into(),
        group_key: format!("{{}}:{{alertname=\"{id}\"}}"),
        request: request.into(),
        position,
        queued: position,
        running: 0,
    }
}

fn started(id: &str, session: &str) -> WatchEvent {
    WatchEvent::InvestigationStarted {
        investigation: id.into(),
        session: session.into(),
        request: String::new(),
        waited_ms: 5,
    }
}

fn step1() -> Vec<Logged> {
    vec![
        at(
            0,
            WatchEvent::Listening {
                address: "127.0.0.1:9099".into(),
                path: "/alertmanager".into(),
                cluster: Some("replay:shop.json".into()),
                threshold: 0.8,
            },
        ),
        at(
            1,
            WatchEvent::ClusterSynced {
                types: 17,
                objects: 64,
                resyncs: 0,
            },
        ),
        at(
            10,
            queued(
                "inv-120010-a1b2c3",
                "KubePodCrashLooping: checkout-api restarts (namespace=shop, deployment=checkout-api); severity critical",
                1,
            ),
        ),
        at(11, started("inv-120010-a1b2c3", "20250601-120011-ab12")),
        at(
            12,
            queued(
                "inv-120012-d4e5f6",
                "KubeDeploymentReplicasMismatch: payments (namespace=shop, deployment=payments); severity warning",
                1,
            ),
        ),
        at(
            13,
            queued(
                "inv-120013-0a0b0c",
                "TargetDown: frontend scrape failing (namespace=shop, service=frontend)",
                2,
            ),
        ),
    ]
}

fn step2() -> Vec<Logged> {
    vec![
        at(
            14,
            WatchEvent::Notified {
                investigation: "inv-120010-a1b2c3".into(),
                session: "20250601-120011-ab12".into(),
                confidence: 0.85,
                threshold: 0.8,
                threshold_from: "default".into(),
                summary: "Bad rollout of checkout-api: revision 7 (1.4.3) crashes at start-up"
                    .into(),
                targets: vec![
                    "slack webhook https://hooks.slack.com".into(),
                    "inbox".into(),
                ],
                stale: None,
            },
        ),
        at(15, started("inv-120012-d4e5f6", "20250601-120015-cd34")),
        at(
            16,
            WatchEvent::InvestigationJoined {
                investigation: "inv-120010-a1b2c3".into(),
                fingerprint: "4f2a9c".into(),
                reason: "repeat".into(),
            },
        ),
        at(
            17,
            WatchEvent::Quiet {
                investigation: "inv-120012-d4e5f6".into(),
                session: Some("20250601-120015-cd34".into()),
                confidence: Some(0.3),
                threshold: 0.8,
                reason: "confidence 0.30 is below the threshold 0.80 (default)".into(),
                summary: Some("No problem found for payments".into()),
            },
        ),
        at(
            20,
            WatchEvent::InvestigationClosed {
                investigation: "inv-120012-d4e5f6".into(),
                note: "resolved after 0.1 min; it had been kept quiet".into(),
            },
        ),
        at(
            21,
            WatchEvent::PayloadRejected {
                status: 400,
                reason: "alerts[0]: labels.alertname is missing".into(),
            },
        ),
    ]
}

fn screen(state: &InboxState, w: u16, h: u16) -> String {
    let theme = Theme::bundled("default", true).unwrap();
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal
        .draw(|f| render(state, &theme, f.area(), f.buffer_mut()))
        .unwrap();
    terminal.backend().to_string()
}

fn assert_inbox(name: &str, state: &InboxState) {
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(state, w, h));
        });
    }
}

#[test]
fn the_inbox_follows_the_stream_step_by_step() {
    let mut state = InboxState::default();
    assert_inbox("inbox_step0_empty", &state);
    for l in step1() {
        state.apply(&l);
    }
    assert_eq!(state.count(RowState::Running), 1);
    assert_eq!(state.count(RowState::Queued), 2);
    assert_inbox("inbox_step1_queued", &state);
    for l in step2() {
        state.apply(&l);
    }
    assert_eq!(state.count(RowState::Notified), 1);
    assert_eq!(state.count(RowState::Quiet), 1);
    assert_eq!(state.rejected, 1);
    // The newest row is selected; move to the notified one.
    state.select_next();
    state.select_next();
    assert_eq!(
        state.selected_row().map(|r| r.investigation.as_str()),
        Some("inv-120010-a1b2c3")
    );
    assert_eq!(state.selected_row().map(|r| r.joined), Some(1));
    assert_inbox("inbox_step2_notified_and_quiet", &state);
}

#[test]
fn reading_a_log_twice_does_not_repeat_rows() {
    let mut state = InboxState::default();
    for l in step1().iter().chain(step1().iter()) {
        state.apply(l);
    }
    assert_eq!(state.len(), 3);
}
