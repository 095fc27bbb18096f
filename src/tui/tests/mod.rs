//! Screen tests: scripted incidents rendered with `TestBackend` and compared with golden
//! screens in the top-level `snapshots/` directory, plus key handling per context.

mod dialogs;
mod keys;
mod render;
mod scenario;
mod screens;

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::protocol::{Event, Op};
use crate::tui::keymap::KeySpec;
use crate::tui::overlays::Overlay;
use crate::tui::{App, AppEvent, Keymap, Theme, UiOutput};

/// The incident's app with the default keymap and theme.
pub fn app() -> App {
    app_with("default", "default")
}

pub fn app_with(keymap: &str, theme: &str) -> App {
    App::new(
        Keymap::bundled(keymap).unwrap().unwrap(),
        Theme::bundled(theme, false).unwrap(),
        scenario::status(),
    )
}

/// Press one key, written as in keymap files (`q`, `<C-c>`, `<S-Tab>`).
pub fn press(app: &mut App, key: &str) -> Vec<UiOutput> {
    let spec = KeySpec::parse(key).unwrap();
    let mut ev = KeyEvent::new(spec.code, spec.mods);
    ev.kind = KeyEventKind::Press;
    app.handle_key(ev)
}

/// Type text character by character.
pub fn type_text(app: &mut App, text: &str) -> Vec<UiOutput> {
    let mut out = Vec::new();
    for c in text.chars() {
        let spec = if c == ' ' {
            "<Space>".to_string()
        } else {
            c.to_string()
        };
        out.extend(press(app, &spec));
    }
    out
}

pub fn feed(app: &mut App, events: impl IntoIterator<Item = Event>) {
    for ev in events {
        app.handle_app_event(AppEvent::Agent(ev));
    }
}

/// What sending one `Op` looks like from the app.
pub fn op(o: Op) -> Vec<UiOutput> {
    vec![UiOutput::Op(o)]
}

/// The incident's app with the question asked and the first tool call running.
pub fn running() -> App {
    let mut app = app();
    feed(&mut app, [scenario::session_started()]);
    type_text(&mut app, scenario::QUESTION);
    press(&mut app, "<Enter>");
    feed(
        &mut app,
        [scenario::playbook(), scenario::kube_findings_started()],
    );
    app
}

/// A running app with the rollback proposed and its approval dialog settled.
pub fn proposed() -> App {
    let mut app = running();
    feed(
        &mut app,
        [
            scenario::kube_findings_finished(),
            scenario::rollback_proposed(),
        ],
    );
    assert!(matches!(app.overlay(), Some(Overlay::Approval(_))));
    app.settle_dialog();
    app
}

/// The screen as text, one quoted line per row.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| app.render(f)).unwrap();
    terminal.backend().to_string()
}

/// Compare the app's screen at 80×24 and 120×40 with `snapshots/<name>_<size>.snap`.
macro_rules! assert_screens {
    ($name:expr, $app:expr) => {{
        for (w, h) in [(80u16, 24u16), (120, 40)] {
            let text = $crate::tui::tests::screen(&$app, w, h);
            insta::with_settings!({
                snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots"),
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(format!("{}_{}x{}", $name, w, h), text);
            });
        }
    }};
}
pub(crate) use assert_screens;
