//! Entering and leaving the terminal: raw mode, the alternate screen and bracketed paste
//! on the way in; everything undone on the way out, whether the app returns, panics or
//! is sent SIGTERM/SIGHUP. A terminal left in raw mode at 3am is a bug report.

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type CrosstermTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Owns the terminal while the TUI runs; restores it when dropped.
pub struct TerminalGuard {
    pub terminal: CrosstermTerminal,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
        let _ = self.terminal.show_cursor();
    }
}

/// Enter raw mode and the alternate screen, with a panic hook that restores the terminal
/// before the panic message prints.
pub fn enter() -> io::Result<TerminalGuard> {
    install_panic_hook();
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(stdout, EnterAlternateScreen, EnableBracketedPaste) {
        let _ = restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(stdout)) {
        Ok(mut terminal) => {
            let _ = terminal.clear();
            Ok(TerminalGuard { terminal })
        }
        Err(e) => {
            let _ = restore();
            Err(e)
        }
    }
}

/// Undo [`enter`]. Safe to call more than once.
pub fn restore() -> io::Result<()> {
    let raw = disable_raw_mode();
    execute!(
        io::stdout(),
        DisableBracketedPaste,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    )?;
    raw
}

/// Restore the terminal first, then run the previous hook (which prints the message).
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = restore();
            previous(info);
        }));
    });
}

/// On SIGTERM or SIGHUP: restore the terminal and exit (143 or 129, as a shell would
/// report). Call from inside the tokio runtime.
pub fn spawn_signal_handler() -> io::Result<tokio::task::JoinHandle<()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    Ok(tokio::spawn(async move {
        let code = tokio::select! {
            _ = term.recv() => 143,
            _ = hup.recv() => 129,
        };
        let _ = restore();
        std::process::exit(code);
    }))
}
