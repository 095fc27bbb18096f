//! Rendering must never panic at any size, must stay readable without colour, and the run
//! loop must carry keys to Ops and back out.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

use super::scenario::*;
use super::{app, feed, press, screen, type_text};
use crate::protocol::{Event, Op};
use crate::tui::event::PreviewContent;
use crate::tui::{App, AppEvent, Keymap, Request, Theme, run_with_input};

fn states() -> Vec<(&'static str, App)> {
    let mut out = vec![("welcome", app())];
    let mut a = app();
    feed(&mut a, [session_started()]);
    type_text(&mut a, QUESTION);
    press(&mut a, "<Enter>");
    feed(
        &mut a,
        [
            playbook(),
            kube_findings_started(),
            kube_findings_finished(),
        ],
    );
    feed(&mut a, git_log());
    feed(
        &mut a,
        [memory_hit(), checkpoint_hypothesis(), rollback_proposed()],
    );
    feed(
        &mut a,
        [Event::TokenDelta {
            text: ANSWER_PART1.into(),
        }],
    );
    out.push(("approval", a.clone()));
    press(&mut a, "n");
    type_text(&mut a, "no");
    out.push(("reason", a.clone()));
    press(&mut a, "<Esc>");
    press(&mut a, "<Esc>");
    press(&mut a, "<Esc>");
    press(&mut a, "4");
    out.push(("checkpoints", a.clone()));
    press(&mut a, "z");
    out.push(("zoomed", a.clone()));
    press(&mut a, "p");
    out.push(("preview loading", a.clone()));
    a.handle_app_event(AppEvent::Preview(PreviewContent {
        path: "services/checkout/src/db.rs".into(),
        start: 40,
        end: 72,
        first_line: 38,
        text: Ok(db_rs_region()),
    }));
    out.push(("preview", a.clone()));
    press(&mut a, "q");
    press(&mut a, "?");
    out.push(("help", a.clone()));
    press(&mut a, "<Esc>");
    press(&mut a, ":");
    out.push(("palette", a.clone()));
    press(&mut a, "<Esc>");
    press(&mut a, "/");
    type_text(&mut a, "hyp");
    out.push(("filter", a));
    out
}

#[test]
fn any_size_renders_without_panicking() {
    let sizes = [
        (0, 0),
        (1, 1),
        (10, 3),
        (19, 5),
        (20, 6),
        (21, 7),
        (30, 8),
        (40, 10),
        (59, 15),
        (60, 27),
        (80, 24),
        (99, 30),
        (100, 50),
        (250, 80),
    ];
    for (name, app) in states() {
        for (w, h) in sizes {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal
                .draw(|f| app.render(f))
                .unwrap_or_else(|e| panic!("{name} at {w}x{h}: {e}"));
        }
    }
}

#[test]
fn tiny_windows_say_so() {
    let s = screen(&app(), 19, 5);
    assert!(s.contains("triage: window too"), "{s}");
}

#[test]
fn no_color_keeps_focus_and_selection_visible() {
    let mut app = App::new(
        Keymap::default_bundled(),
        Theme::bundled("default", true).unwrap(),
        status(),
    );
    feed(
        &mut app,
        [kube_findings_started(), kube_findings_finished()],
    );
    feed(&mut app, git_log());
    press(&mut app, "<Esc>");
    press(&mut app, "2");
    press(&mut app, "k");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    terminal.draw(|f| app.render(f)).unwrap();
    let buf = terminal.backend().buffer();
    let mut reversed = false;
    let mut colored = false;
    for cell in buf.content() {
        reversed |= cell.modifier.contains(Modifier::REVERSED);
        colored |=
            cell.fg != ratatui::style::Color::Reset || cell.bg != ratatui::style::Color::Reset;
    }
    assert!(reversed, "the selected row is reverse video");
    assert!(!colored, "NO_COLOR means no colour");
    // The focused pane has a thick border.
    assert!(terminal.backend().to_string().contains("┏"));
}

#[test]
fn the_long_transcript_workload_renders() {
    let (bottom, top) = crate::tui::bench::render_long_transcript();
    let text = |b: &ratatui::buffer::Buffer| -> String {
        b.content().iter().map(|c| c.symbol()).collect()
    };
    assert!(text(&bottom).contains("more rows") || text(&top).contains("more rows"));
    assert_ne!(text(&bottom), text(&top));
    let app = crate::tui::bench::long_transcript_app(1000);
    let ctx = crate::tui::panes::Ctx {
        state: &app.state,
        view: &app.view,
        theme: app.theme(),
        keymap: app.keymap(),
    };
    // 120 columns: the transcript's text is 72 wide.
    let rows = crate::tui::panes::transcript::total_rows(&ctx, 72);
    assert!((1000..1100).contains(&rows), "{rows} rows");
}

#[tokio::test]
async fn the_run_loop_sends_ops_and_quits() {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    let mut app = app();
    let key = |c: KeyCode, m: KeyModifiers| Ok(TermEvent::Key(KeyEvent::new(c, m)));
    let mut script: Vec<std::io::Result<TermEvent>> = QUESTION
        .chars()
        .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE))
        .collect();
    script.push(key(KeyCode::Enter, KeyModifiers::NONE));
    script.push(Ok(TermEvent::Resize(100, 30)));
    script.push(key(KeyCode::Char('p'), KeyModifiers::CONTROL));
    script.extend(
        "index"
            .chars()
            .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE)),
    );
    script.push(key(KeyCode::Enter, KeyModifiers::NONE));
    // Quitting during a run takes a second press.
    script.push(key(KeyCode::Char('q'), KeyModifiers::CONTROL));
    script.push(key(KeyCode::Char('q'), KeyModifiers::CONTROL));
    let (ev_tx, ev_rx) = tokio::sync::mpsc::channel(16);
    let (op_tx, mut op_rx) = tokio::sync::mpsc::channel(16);
    let (req_tx, mut req_rx) = tokio::sync::mpsc::channel(16);
    ev_tx
        .send(AppEvent::Agent(session_started()))
        .await
        .unwrap();
    run_with_input(
        &mut terminal,
        &mut app,
        futures::stream::iter(script),
        ev_rx,
        op_tx,
        req_tx,
    )
    .await
    .unwrap();
    assert_eq!(
        op_rx.recv().await,
        Some(Op::Submit {
            text: QUESTION.into()
        })
    );
    assert_eq!(op_rx.recv().await, Some(Op::Shutdown));
    assert_eq!(
        req_rx.recv().await,
        Some(Request::Command(crate::tui::AppCommand::Index))
    );
    assert_eq!(terminal.backend().buffer().area.width, 80);
    assert!(terminal.backend().to_string().contains(QUESTION));
}
