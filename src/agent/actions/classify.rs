//! Read or write, by allowlist. A command is a read only when its program is known by
//! name (not a path), every word of it is understood, its verb only reads, and every
//! flag is one known not to change the target, the credentials, an output file or the
//! code that runs. Anything else is a write; a command that cannot be run safely at all
//! (shell syntax, environment assignments, invisible characters) is refused outright.
//!
//! The per-program tables live in [`super::programs`], [`super::git`] and
//! [`super::kubectl`]; the shared parts (the refusals and the word scanner) in
//! [`super::rules`].

use crate::protocol::ActionClass;

use super::rules::{
    ActionKind, Classification, is_assignment, normalize, read, refuse, unsafe_syntax, write,
};
use super::{kubectl, programs};

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
        c.family = normalize(trimmed);
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

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
