//! The run loop: one `tokio::select!` over terminal input, app events and, only while a
//! tool runs, a spinner tick. Redraws are coalesced: a change marks the app dirty and the
//! screen is drawn at most once per frame interval (~60 fps), never on an idle loop.

use std::io;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures::{Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc::{Receiver, Sender};
use tokio::time::{Instant, MissedTickBehavior};

use super::app::App;
use super::event::{AppEvent, Request, UiOutput};
use crate::protocol::Op;

/// Shortest time between two frames.
const FRAME: Duration = Duration::from_millis(16);
/// Spinner speed.
const TICK: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("reading terminal input failed: {0}")]
    Input(#[source] io::Error),
    #[error("drawing to the terminal failed: {0}")]
    Draw(String),
}

/// Run the TUI on a real terminal until the user quits or the input ends. Ops go to the
/// agent; palette commands and preview reads go to the launcher as [`Request`]s. When
/// the agent's event channel closes the UI stays up (the user can still read and quit).
pub async fn run<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    events: Receiver<AppEvent>,
    ops: Sender<Op>,
    requests: Sender<Request>,
) -> Result<(), RunError> {
    run_with_input(terminal, app, EventStream::new(), events, ops, requests).await
}

/// [`run`] with any source of terminal events (tests feed a scripted stream).
pub async fn run_with_input<B, S>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    mut input: S,
    mut events: Receiver<AppEvent>,
    ops: Sender<Op>,
    requests: Sender<Request>,
) -> Result<(), RunError>
where
    B: Backend,
    S: Stream<Item = io::Result<TermEvent>> + Unpin,
{
    if let Ok(size) = terminal.size() {
        app.resize(size.width, size.height);
    }
    draw(terminal, app)?;
    let mut last_draw = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut events_open = true;
    let mut input_open = true;

    loop {
        let redraw_at = app.is_dirty().then_some(last_draw + FRAME);
        let ticking = app.needs_tick();
        tokio::select! {
            maybe = input.next(), if input_open => match maybe {
                Some(Ok(ev)) => {
                    if handle_terminal_event(app, ev, &ops, &requests).await {
                        break;
                    }
                }
                Some(Err(e)) => return Err(RunError::Input(e)),
                None => input_open = false,
            },
            ev = events.recv(), if events_open => match ev {
                Some(ev) => app.handle_app_event(ev),
                None => {
                    events_open = false;
                    app.handle_app_event(AppEvent::Notice(
                        "the agent stopped; you can still read and quit".into(),
                    ));
                }
            },
            _ = tick.tick(), if ticking => app.handle_app_event(AppEvent::Tick),
            _ = sleep_until(redraw_at), if redraw_at.is_some() => {
                draw(terminal, app)?;
                last_draw = Instant::now();
            }
            else => break,
        }
    }
    Ok(())
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

fn draw<B: Backend>(terminal: &mut Terminal<B>, app: &mut App) -> Result<(), RunError> {
    terminal
        .draw(|frame| app.render(frame))
        .map_err(|e| RunError::Draw(e.to_string()))?;
    app.mark_drawn();
    Ok(())
}

/// Returns true when the app should quit.
async fn handle_terminal_event(
    app: &mut App,
    ev: TermEvent,
    ops: &Sender<Op>,
    requests: &Sender<Request>,
) -> bool {
    let outputs = match ev {
        TermEvent::Key(key) => app.handle_key(key),
        TermEvent::Paste(text) => {
            app.handle_paste(&text);
            Vec::new()
        }
        TermEvent::Resize(w, h) => {
            app.resize(w, h);
            Vec::new()
        }
        _ => Vec::new(),
    };
    let mut quit = false;
    for out in outputs {
        match out {
            UiOutput::Op(op) => {
                if ops.send(op).await.is_err() {
                    app.handle_app_event(AppEvent::Notice(
                        "the agent is not running; nothing was sent".into(),
                    ));
                }
            }
            UiOutput::Command(c) => {
                let _ = requests.send(Request::Command(c)).await;
            }
            UiOutput::PreviewRequest { path, start, end } => {
                let _ = requests.send(Request::Preview { path, start, end }).await;
            }
            UiOutput::Quit => quit = true,
        }
    }
    quit
}
