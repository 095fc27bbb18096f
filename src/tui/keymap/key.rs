//! Key strings as keymap files write them (`q`, `<C-c>`, `<S-Tab>`, `<F1>`, `<Space>`) and
//! their match against crossterm key events.

use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key with its modifiers, normalised so that a parsed spec and a terminal event compare
/// equal: characters carry their own case (Shift is dropped), and Shift-Tab is `BackTab`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyParseError {
    #[error("the key is empty")]
    Empty,
    #[error("unknown modifier `{0}-` (use C- for Ctrl, A- or M- for Alt, S- for Shift)")]
    Modifier(String),
    #[error(
        "unknown key name `{0}` (names: Enter, Esc, Tab, Space, Backspace, Delete, Insert, Home, End, PageUp, PageDown, Up, Down, Left, Right, F1–F12, Lt, Gt)"
    )]
    Name(String),
    #[error("`{0}` has more than one character; wrap named keys in <…>, e.g. <Enter>")]
    Bare(String),
}

impl KeySpec {
    pub const fn new(code: KeyCode, mods: KeyModifiers) -> Self {
        Self { code, mods }
    }

    /// Parse `q`, `?`, `<Enter>`, `<C-x>`, `<A-Enter>`, `<S-Tab>`, `<F1>`, `<Space>`.
    pub fn parse(s: &str) -> Result<KeySpec, KeyParseError> {
        if s.is_empty() {
            return Err(KeyParseError::Empty);
        }
        let inner = match s.strip_prefix('<').and_then(|r| r.strip_suffix('>')) {
            Some(inner) if !inner.is_empty() => inner,
            _ => {
                let mut chars = s.chars();
                return match (chars.next(), chars.next()) {
                    (Some(c), None) => Ok(KeySpec::new(KeyCode::Char(c), KeyModifiers::NONE)),
                    _ => Err(KeyParseError::Bare(s.to_string())),
                };
            }
        };
        let mut mods = KeyModifiers::NONE;
        let mut rest = inner;
        // `<C-->` binds Ctrl and minus: a modifier prefix needs something after its dash.
        while let Some((prefix, tail)) = rest.split_once('-') {
            if tail.is_empty() || prefix.chars().count() != 1 {
                break;
            }
            mods |= match prefix {
                "C" | "c" => KeyModifiers::CONTROL,
                "A" | "a" | "M" | "m" => KeyModifiers::ALT,
                "S" | "s" => KeyModifiers::SHIFT,
                other => return Err(KeyParseError::Modifier(other.to_string())),
            };
            rest = tail;
        }
        let code = parse_name(rest)?;
        Ok(KeySpec::normalize(code, mods))
    }

    /// The spec a terminal event matches.
    pub fn from_event(ev: &KeyEvent) -> KeySpec {
        KeySpec::normalize(ev.code, ev.modifiers)
    }

    fn normalize(code: KeyCode, mods: KeyModifiers) -> KeySpec {
        let mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        match code {
            KeyCode::BackTab => KeySpec::new(KeyCode::BackTab, mods - KeyModifiers::SHIFT),
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                KeySpec::new(KeyCode::BackTab, mods - KeyModifiers::SHIFT)
            }
            KeyCode::Char(c) => {
                // Terminals report Shift with upper-case letters and symbols; the char
                // already says it. Ctrl-letters arrive lower-case.
                let c = if mods.contains(KeyModifiers::CONTROL) && c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c
                };
                KeySpec::new(KeyCode::Char(c), mods - KeyModifiers::SHIFT)
            }
            code => KeySpec::new(code, mods),
        }
    }

    /// A plain character a text field should insert (no Ctrl or Alt).
    pub fn printable(ev: &KeyEvent) -> Option<char> {
        match ev.code {
            KeyCode::Char(c)
                if !ev
                    .modifiers
                    .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
            {
                Some(c)
            }
            _ => None,
        }
    }

    /// Friendly label for hints and the help screen: `Ctrl-c`, `Shift-Tab`, `Enter`, `?`.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("Ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("Alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) || self.code == KeyCode::BackTab {
            out.push_str("Shift-");
        }
        let name = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::BackTab | KeyCode::Tab => "Tab".to_string(),
            KeyCode::PageUp => "PgUp".to_string(),
            KeyCode::PageDown => "PgDn".to_string(),
            KeyCode::Up => "↑".to_string(),
            KeyCode::Down => "↓".to_string(),
            KeyCode::Left => "←".to_string(),
            KeyCode::Right => "→".to_string(),
            _ => self.name(),
        };
        out.push_str(&name);
        out
    }

    fn name(&self) -> String {
        match self.code {
            KeyCode::Enter => "Enter".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab | KeyCode::BackTab => "Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Delete => "Delete".into(),
            KeyCode::Insert => "Insert".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PageUp".into(),
            KeyCode::PageDown => "PageDown".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Char(' ') => "Space".into(),
            KeyCode::Char('<') => "Lt".into(),
            KeyCode::Char('>') => "Gt".into(),
            KeyCode::Char(c) => c.to_string(),
            other => format!("{other:?}"),
        }
    }
}

/// The canonical keymap spelling: `q`, `<C-c>`, `<S-Tab>`.
impl fmt::Display for KeySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain_char = matches!(self.code, KeyCode::Char(c) if c != ' ' && c != '<' && c != '>');
        if plain_char && self.mods.is_empty() {
            return write!(f, "{}", self.name());
        }
        f.write_str("<")?;
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("C-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("A-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) || self.code == KeyCode::BackTab {
            f.write_str("S-")?;
        }
        write!(f, "{}>", self.name())
    }
}

fn parse_name(name: &str) -> Result<KeyCode, KeyParseError> {
    let mut chars = name.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return Ok(KeyCode::Char(c));
    }
    let lower = name.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "enter" | "cr" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" | "bs" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pageup" | "pgup" => KeyCode::PageUp,
        "pagedown" | "pgdn" | "pgdown" => KeyCode::PageDown,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "lt" => KeyCode::Char('<'),
        "gt" => KeyCode::Char('>'),
        "minus" => KeyCode::Char('-'),
        _ => match lower.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            Some(n) if (1..=24).contains(&n) => KeyCode::F(n),
            _ => return Err(KeyParseError::Name(name.to_string())),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("q", KeyCode::Char('q'), KeyModifiers::NONE),
            ("?", KeyCode::Char('?'), KeyModifiers::NONE),
            (":", KeyCode::Char(':'), KeyModifiers::NONE),
            ("/", KeyCode::Char('/'), KeyModifiers::NONE),
            ("G", KeyCode::Char('G'), KeyModifiers::NONE),
            ("<Enter>", KeyCode::Enter, KeyModifiers::NONE),
            ("<Esc>", KeyCode::Esc, KeyModifiers::NONE),
            ("<Tab>", KeyCode::Tab, KeyModifiers::NONE),
            ("<S-Tab>", KeyCode::BackTab, KeyModifiers::NONE),
            ("<C-x>", KeyCode::Char('x'), KeyModifiers::CONTROL),
            ("<A-x>", KeyCode::Char('x'), KeyModifiers::ALT),
            ("<A-Enter>", KeyCode::Enter, KeyModifiers::ALT),
            ("<F1>", KeyCode::F(1), KeyModifiers::NONE),
            ("<Up>", KeyCode::Up, KeyModifiers::NONE),
            ("<Space>", KeyCode::Char(' '), KeyModifiers::NONE),
            ("<C-->", KeyCode::Char('-'), KeyModifiers::CONTROL),
            (
                "<C-A-d>",
                KeyCode::Char('d'),
                KeyModifiers::CONTROL | KeyModifiers::ALT,
            ),
        ];
        for (s, code, mods) in cases {
            assert_eq!(KeySpec::parse(s), Ok(KeySpec::new(code, mods)), "{s}");
        }
    }

    #[test]
    fn rejects_bad_keys_with_a_reason() {
        assert_eq!(KeySpec::parse(""), Err(KeyParseError::Empty));
        assert!(matches!(
            KeySpec::parse("enter"),
            Err(KeyParseError::Bare(_))
        ));
        assert!(matches!(
            KeySpec::parse("<X-a>"),
            Err(KeyParseError::Modifier(_))
        ));
        assert!(matches!(
            KeySpec::parse("<Entr>"),
            Err(KeyParseError::Name(_))
        ));
        assert!(matches!(
            KeySpec::parse("<F99>"),
            Err(KeyParseError::Name(_))
        ));
    }

    #[test]
    fn events_match_parsed_specs() {
        let m = |s: &str, e: KeyEvent| {
            assert_eq!(KeySpec::parse(s).ok(), Some(KeySpec::from_event(&e)), "{s}")
        };
        m("G", ev(KeyCode::Char('G'), KeyModifiers::SHIFT));
        m("?", ev(KeyCode::Char('?'), KeyModifiers::SHIFT));
        m("<S-Tab>", ev(KeyCode::BackTab, KeyModifiers::SHIFT));
        m("<C-c>", ev(KeyCode::Char('c'), KeyModifiers::CONTROL));
        m(
            "<C-c>",
            ev(
                KeyCode::Char('C'),
                KeyModifiers::CONTROL | KeyModifiers::SHIFT,
            ),
        );
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "q",
            "<C-c>",
            "<S-Tab>",
            "<F1>",
            "<Space>",
            "<A-Enter>",
            "<Lt>",
            "<PageDown>",
        ] {
            let k = KeySpec::parse(s).unwrap();
            assert_eq!(k.to_string(), s);
            assert_eq!(KeySpec::parse(&k.to_string()).unwrap(), k);
        }
        assert_eq!(KeySpec::parse("<C-c>").unwrap().label(), "Ctrl-c");
        assert_eq!(KeySpec::parse("<S-Tab>").unwrap().label(), "Shift-Tab");
    }
}
