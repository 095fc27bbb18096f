//! Read or write, by allowlist. A command is a read only when its program is known by
//! name (not a path), every word of it is understood, its verb only reads, and every
//! flag is one known not to change the target, the credentials, an output file or the
//! code that runs. Anything else is a write; a command that cannot be run safely at all
//! (shell syntax, environment assignments, invisible characters) is refused outright.
//!
//! The per-program tables live in [`super::programs`], [`super::git`] and
//! [`super::kubectl`]; this file has the shared parts: the refusals and the word scanner.

use crate::protocol::ActionClass;

use super::{kubectl, programs};

/// What a command is, by the program it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Kubectl,
    Shell,
    Patch,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub class: ActionClass,
    /// One line a person can check: which rule decided, and why.
    pub reason: String,
    pub kind: ActionKind,
    /// Why the command can never run, when it cannot (it is then also a write).
    pub refused: Option<String>,
    /// What "approve for the session" covers: for a read, its program and verb
    /// (`kubectl get`); for a write, this exact command.
    pub family: String,
}

/// A flag a program accepts: its spelling and whether it takes a value.
pub type Flag = (&'static str, bool);

/// Flags known to change the target, the credentials, an output file or what runs,
/// with the reason shown to the user.
pub type Danger = (&'static str, &'static str);

/// The words of a command read against flag tables: operands in order, or the first
/// word that decides it is a write.
pub(super) enum Scan<'a> {
    Operands(Vec<&'a str>),
    Write(String),
}

/// How a program reads its flags.
#[derive(Clone, Copy, Default)]
pub(super) struct Syntax {
    /// `-20` means a count (`git log -20`, `head -5`).
    pub numeric_short: bool,
    /// Single-letter flags may be combined (`ls -la`, `grep -rn`).
    pub combined: bool,
}

pub(super) fn lookup<'t>(tables: &[&'t [Flag]], name: &str) -> Option<&'t Flag> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|(n, _)| *n == name)
}

pub(super) fn danger(dangers: &[Danger], name: &str) -> Option<String> {
    dangers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(n, why)| format!("`{n}` {why}"))
}

/// Read `words` (after the program and its verb) against the allowed flags.
pub(super) fn scan<'a>(
    words: &[&'a str],
    tables: &[&[Flag]],
    dangers: &[Danger],
    syntax: Syntax,
) -> Scan<'a> {
    let mut operands = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        i += 1;
        if w == "--" {
            operands.extend_from_slice(&words[i..]);
            break;
        }
        if !w.starts_with('-') || w == "-" {
            operands.push(w);
            continue;
        }
        if syntax.numeric_short && w[1..].bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (name, inline) = match w.split_once('=') {
            Some((n, v)) if n.starts_with("--") || n.len() == 2 => (n, Some(v)),
            _ => (w, None),
        };
        if let Some(why) = danger(dangers, name) {
            return Scan::Write(why);
        }
        match lookup(tables, name) {
            Some((_, true)) if inline.is_none() => {
                if i >= words.len() {
                    return Scan::Write(format!("`{name}` lacks its value"));
                }
                i += 1;
            }
            Some(_) => {}
            None if !name.starts_with("--") && name.len() > 2 => {
                // `-nshop` (a short flag and its value) or `-la` (short flags together).
                let Some(first) = name.get(..2) else {
                    return Scan::Write(format!("`{w}` is not a flag known to only read"));
                };
                if let Some(why) = danger(dangers, first) {
                    return Scan::Write(why);
                }
                match lookup(tables, first) {
                    Some((_, true)) => {}
                    _ if syntax.combined => {
                        for c in name[1..].chars() {
                            let one = format!("-{c}");
                            if let Some(why) = danger(dangers, &one) {
                                return Scan::Write(why);
                            }
                            if !matches!(lookup(tables, &one), Some((_, false))) {
                                return Scan::Write(format!(
                                    "`{w}` is not a flag known to only read"
                                ));
                            }
                        }
                    }
                    _ => {
                        return Scan::Write(format!("`{w}` is not a flag known to only read"));
                    }
                }
            }
            None => return Scan::Write(format!("`{name}` is not a flag known to only read")),
        }
    }
    Scan::Operands(operands)
}

pub(super) fn read(
    kind: ActionKind,
    family: impl Into<String>,
    reason: impl Into<String>,
) -> Classification {
    Classification {
        class: ActionClass::Read,
        reason: reason.into(),
        kind,
        refused: None,
        family: family.into(),
    }
}

impl Classification {
    /// A write its caller decided on (a tool call rather than a command line, such as an
    /// MCP tool not marked read-only): approving it for the session covers this exact
    /// call only.
    pub fn write_call(call: &str, reason: impl Into<String>) -> Self {
        Classification {
            family: format!("call {}", super::normalize(call)),
            ..write(ActionKind::Shell, reason)
        }
    }
}

pub(super) fn write(kind: ActionKind, reason: impl Into<String>) -> Classification {
    Classification {
        class: ActionClass::Write,
        reason: reason.into(),
        kind,
        refused: None,
        family: String::new(),
    }
}

fn refuse(kind: ActionKind, why: impl Into<String>) -> Classification {
    let why = why.into();
    Classification {
        class: ActionClass::Write,
        reason: format!("refused: {why}"),
        kind,
        refused: Some(why),
        family: String::new(),
    }
}

/// Shell syntax triage will not run: anything outside single quotes that a shell would
/// expand, chain, redirect or substitute, and characters that hide what a command says.
pub fn unsafe_syntax(command: &str) -> Option<String> {
    if let Some(c) = command
        .chars()
        .find(|c| (c.is_control() && *c != ' ') || is_invisible(*c))
    {
        return Some(format!(
            "it contains the invisible or control character U+{:04X}, which can hide what the command does",
            c as u32
        ));
    }
    let mut chars = command.chars().peekable();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        if single {
            single = c != '\'';
            continue;
        }
        let what = match c {
            '\\' if !double => {
                chars.next();
                continue;
            }
            '\'' if !double => {
                single = true;
                continue;
            }
            '"' => {
                double = !double;
                continue;
            }
            '`' => "backticks (command substitution)",
            '$' if chars.peek() == Some(&'(') => "`$(…)` (command substitution)",
            '$' if chars.peek() == Some(&'\'') && !double => "`$'…'` (escape-quoted text)",
            '$' => "`$` (a variable or expansion the shell would fill in)",
            _ if double => continue,
            ';' | '&' | '|' => "shell operators (`;`, `&`, `|`) that chain commands",
            '>' | '<' => "redirections (`>`, `<`)",
            '(' | ')' => "subshells or process substitution (`(`, `)`)",
            _ => continue,
        };
        return Some(format!(
            "it uses {what}; triage runs one program, without a shell"
        ));
    }
    None
}

/// Characters that render as nothing or reorder text (zero-width, bidi controls).
fn is_invisible(c: char) -> bool {
    matches!(c as u32, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xFEFF | 0x00AD)
}

pub(super) fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit()
    })
}

/// Decide whether `command` reads or writes. Unknown means write: a read misfiled as a
/// write costs one approval, the reverse could cost production.
pub fn classify(command: &str, shell_allowlist: &[String]) -> Classification {
    let trimmed = command.trim();
    let kind_guess = guess_kind(trimmed);
    if trimmed.is_empty() {
        return refuse(kind_guess, "the command is empty");
    }
    if let Some(why) = unsafe_syntax(trimmed) {
        return refuse(kind_guess, why);
    }
    let argv = match shell_words::split(trimmed) {
        Ok(argv) => argv,
        Err(e) => return refuse(kind_guess, format!("it cannot be parsed ({e})")),
    };
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    let Some((&program, args)) = words.split_first() else {
        return refuse(kind_guess, "the command is empty");
    };
    if is_assignment(program) {
        return refuse(
            kind_guess,
            format!(
                "it sets an environment variable before the program (`{}=…`), which can change what the program runs or where it connects",
                program.split('=').next().unwrap_or("")
            ),
        );
    }
    if program.contains('/') {
        return write(
            kind_guess,
            format!(
                "the program is a path (`{program}`), not a known program found by name; treated as a write"
            ),
        );
    }
    let mut c = match program {
        "kubectl" => kubectl::classify(args),
        _ => programs::classify(program, args),
    };
    if c.class == ActionClass::Write
        && c.refused.is_none()
        && let Some(entry) = allowlisted(&words, shell_allowlist)
    {
        c = read(
            ActionKind::Shell,
            entry.clone(),
            format!("matches agent.shell_allowlist entry `{entry}`"),
        );
    }
    if c.class == ActionClass::Write && c.family.is_empty() {
        c.family = super::normalize(trimmed);
    }
    c
}

/// The kind shown before a command is understood: by its first word that is not an
/// assignment.
fn guess_kind(command: &str) -> ActionKind {
    let first = command
        .split_whitespace()
        .find(|w| !is_assignment(w))
        .unwrap_or("");
    let name = first.rsplit('/').next().unwrap_or(first);
    let second = command.split_whitespace().nth(1).unwrap_or("");
    match name {
        "kubectl" => ActionKind::Kubectl,
        "patch" => ActionKind::Patch,
        "git" if second == "apply" || second == "am" => ActionKind::Patch,
        _ => ActionKind::Shell,
    }
}

/// A user's allowlist entry (from their own config) covers a command that starts with
/// its words and adds only operands, never flags.
fn allowlisted<'e>(words: &[&str], allowlist: &'e [String]) -> Option<&'e String> {
    allowlist.iter().find(|entry| {
        let Ok(prefix) = shell_words::split(entry) else {
            return false;
        };
        !prefix.is_empty()
            && prefix.len() <= words.len()
            && prefix.iter().zip(words).all(|(p, w)| p == w)
            && words[prefix.len()..].iter().all(|w| !w.starts_with('-'))
    })
}

/// The first operand of `words`, skipping flags and the values of those in `tables`.
pub(super) fn first_operand<'a>(words: &[&'a str], tables: &[&[Flag]]) -> Option<&'a str> {
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        if !w.starts_with('-') {
            return Some(w);
        }
        let takes_value = !w.contains('=') && matches!(lookup(tables, w), Some((_, true)));
        i += if takes_value { 2 } else { 1 };
    }
    None
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
