//! Text piped on standard input, read the way a person expects: on a terminal, say that
//! triage is waiting for it; from a pipe, take everything until it ends, but do not hang
//! on a pipe that stays open and silent.

use std::io::{IsTerminal, Read};
use std::sync::mpsc;
use std::time::Duration;

/// Most bytes read from stdin (the rest is dropped with a note).
const MAX_BYTES: usize = 1 << 20;
/// A pipe silent this long is taken as finished.
const IDLE: Duration = Duration::from_secs(10);

/// Whether stdin is a pipe or a file rather than the terminal.
pub fn is_piped() -> bool {
    !std::io::stdin().is_terminal()
}

/// Read stdin for a command that needs text: on a terminal, tell the user how to end
/// the input first.
pub fn read_all(what: &str) -> anyhow::Result<String> {
    if !is_piped() {
        eprintln!("reading {what} from stdin; end it with Ctrl-D (or pass it as an argument)");
    }
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s)?;
    Ok(s)
}

/// Whatever a pipe brings, for a command whose input is optional (`ask`): read until the
/// pipe ends, it has been silent for 10 s, or 1 MB arrived. Empty on a terminal.
pub fn read_piped() -> String {
    if !is_piped() {
        return String::new();
    }
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buf = [0u8; 8192];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let mut bytes = Vec::new();
    loop {
        match rx.recv_timeout(IDLE) {
            Ok(chunk) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() >= MAX_BYTES {
                    eprintln!("note: stdin is longer than 1 MB; the rest is left out");
                    bytes.truncate(MAX_BYTES);
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !bytes.is_empty() || !std::io::stdin().is_terminal() {
                    eprintln!("note: stdin was silent for 10 s; going on with what arrived");
                }
                break;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
