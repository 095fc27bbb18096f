//! Text from outside (commit messages, logs, model answers, command output) printed to a
//! terminal must not drive it: escape sequences can rewrite the screen, set the window
//! title, write to the clipboard or hide text, and bidi controls reorder what is shown.
//! [`SafeWriter`] passes printable text, newlines and tabs, and drops the rest, even when
//! a sequence is split across writes.

use std::io::{self, Write};

/// Where the filter is inside an escape sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Text,
    /// After ESC.
    Esc,
    /// After ESC [ (or CSI): parameters until a final byte.
    Csi,
    /// A string (OSC, DCS, APC, PM, SOS) until BEL or ESC \.
    Str,
    /// ESC seen inside a string.
    StrEsc,
}

/// A writer that strips control characters and escape sequences from what it passes on.
pub struct SafeWriter<W: Write> {
    inner: W,
    state: State,
    /// The start of a UTF-8 character cut by the end of a write.
    pending: Vec<u8>,
}

impl<W: Write> SafeWriter<W> {
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            state: State::Text,
            pending: Vec::new(),
        }
    }

    fn filter(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(buf);
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let len = utf8_len(b);
            if i + len > bytes.len() {
                self.pending = bytes[i..].to_vec();
                return;
            }
            let ch = std::str::from_utf8(&bytes[i..i + len])
                .ok()
                .and_then(|s| s.chars().next());
            i += len;
            let Some(c) = ch else {
                continue;
            };
            self.state = match (self.state, c) {
                (State::Text, '\u{1b}') => State::Esc,
                (State::Text, '\u{9b}') => State::Csi,
                (State::Text, '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}') => State::Str,
                (State::Text, c) => {
                    if keep(c) {
                        let mut tmp = [0u8; 4];
                        out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    }
                    State::Text
                }
                (State::Esc, '[') => State::Csi,
                (State::Esc, ']' | 'P' | 'X' | '^' | '_') => State::Str,
                // Two-byte sequences (ESC c, ESC 7, ESC ( B …): the next byte ends them,
                // except intermediates, which wait for one more.
                (State::Esc, ' '..='/') => State::Esc,
                (State::Esc, _) => State::Text,
                (State::Csi, '\u{40}'..='\u{7e}') => State::Text,
                (State::Csi, _) => State::Csi,
                (State::Str, '\u{7}' | '\u{9c}') => State::Text,
                (State::Str, '\u{1b}') => State::StrEsc,
                (State::Str, _) => State::Str,
                (State::StrEsc, '\\') => State::Text,
                (State::StrEsc, _) => State::Str,
            };
        }
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// Printable text, newlines and tabs; never C0/C1 controls, DEL or bidi controls.
fn keep(c: char) -> bool {
    match c {
        '\n' | '\t' => true,
        c if c.is_control() => false,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => false,
        _ => true,
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len());
        self.filter(buf, &mut out);
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// `text` with control characters and escape sequences removed.
pub fn clean(text: &str) -> String {
    let mut w = SafeWriter::new(Vec::new());
    let _ = w.write_all(text.as_bytes());
    String::from_utf8_lossy(&w.into_inner()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_are_dropped() {
        let cases = [
            ("plain text\nline two\tcol", "plain text\nline two\tcol"),
            ("\u{1b}[2J\u{1b}[Hscreen cleared", "screen cleared"),
            ("red \u{1b}[31;1mbold\u{1b}[0m end", "red bold end"),
            ("title\u{1b}]0;pwned\u{7}after", "titleafter"),
            ("clip\u{1b}]52;c;ZWNobyBwd25lZA==\u{1b}\\after", "clipafter"),
            (
                "link \u{1b}]8;;http://evil\u{1b}\\text\u{1b}]8;;\u{1b}\\",
                "link text",
            ),
            ("dcs\u{1b}Pq#0;2;0;0;0\u{1b}\\done", "dcsdone"),
            ("c1 csi \u{9b}31mred", "c1 csi red"),
            ("over\rwrite", "overwrite"),
            ("bell\u{7} back\u{8}space del\u{7f}", "bell backspace del"),
            (
                "bidi \u{202e}gnp.exe\u{202c} \u{2066}x\u{2069}",
                "bidi gnp.exe x",
            ),
            ("reset\u{1b}c done", "reset done"),
            ("charset\u{1b}(B ok", "charset ok"),
            ("unicode é ✓ 漢字", "unicode é ✓ 漢字"),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn sequences_split_across_writes_are_still_dropped() {
        let text = "a\u{1b}]0;evil title\u{7}b\u{1b}[31mc é\u{202e}d";
        for split in 0..text.len() {
            let mut w = SafeWriter::new(Vec::new());
            w.write_all(&text.as_bytes()[..split]).unwrap();
            w.write_all(&text.as_bytes()[split..]).unwrap();
            let got = String::from_utf8(w.into_inner()).unwrap();
            assert_eq!(got, "abc éd", "split at {split}");
        }
    }
}
