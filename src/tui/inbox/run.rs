//! The inbox on a real terminal: past investigations from the inbox log, then the live
//! stream; arrow keys select, `q` quits (and stops the watch).

use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::broadcast;

use super::render::render;
use super::state::InboxState;
use crate::protocol::watch::{Logged, WatchEvent};

/// Run the inbox until the user quits or the stream ends.
pub async fn run_live(
    mut live: broadcast::Receiver<WatchEvent>,
    past: Vec<Logged>,
) -> anyhow::Result<()> {
    let mut state = InboxState::default();
    for l in &past {
        state.apply(l);
    }
    let config = crate::config::load(None, None)
        .map(|c| c.config)
        .unwrap_or_default();
    let theme = crate::tui::Theme::load(
        &config.tui.theme,
        crate::config::config_dir().as_deref(),
        crate::tui::Theme::no_color_from_env(),
    );
    let mut guard = crate::tui::terminal::enter()?;
    let _signals = crate::tui::terminal::spawn_signal_handler()?;
    let mut input = EventStream::new();
    let mut dirty = true;
    loop {
        if dirty {
            guard
                .terminal
                .draw(|f| render(&state, &theme, f.area(), f.buffer_mut()))?;
            dirty = false;
        }
        tokio::select! {
            key = input.next() => match key {
                Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                    match (k.code, k.modifiers) {
                        (KeyCode::Char('q') | KeyCode::Esc, _) => break,
                        (KeyCode::Char('c'), m) if m.contains(KeyModifiers::CONTROL) => break,
                        (KeyCode::Down | KeyCode::Char('j'), _) => state.select_next(),
                        (KeyCode::Up | KeyCode::Char('k'), _) => state.select_prev(),
                        _ => continue,
                    }
                    dirty = true;
                }
                Some(Ok(TermEvent::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            ev = live.recv() => match ev {
                Ok(event) => {
                    let t = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    state.apply(&Logged { t, event });
                    dirty = true;
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    Ok(())
}
