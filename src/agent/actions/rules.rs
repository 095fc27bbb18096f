//! The shared parts of the command classifier: what a command is, the refusals (shell
//! syntax, environment assignments, invisible characters) and the word scanner the
//! per-program tables use.

use crate::protocol::ActionClass;

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
            family: format!("call {}", normalize(call)),
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

pub(super) fn refuse(kind: ActionKind, why: impl Into<String>) -> Classification {
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

/// The form of a command that session approvals compare: words re-quoted canonically,
/// so `kubectl  get   pods` and `kubectl get 'pods'` are the same command.
pub fn normalize(command: &str) -> String {
    match shell_words::split(command.trim()) {
        Ok(words) => shell_words::join(words),
        Err(_) => command.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// A verb (one or two words) that only reads: its flags and how many operands it takes.
pub(super) struct Verb {
    pub(super) words: &'static [&'static str],
    pub(super) flags: &'static [Flag],
    pub(super) max_operands: Option<usize>,
}

pub(super) const fn verb(words: &'static [&'static str], flags: &'static [Flag]) -> Verb {
    Verb {
        words,
        flags,
        max_operands: None,
    }
}

pub(super) const fn verb_n(
    words: &'static [&'static str],
    flags: &'static [Flag],
    max: usize,
) -> Verb {
    Verb {
        words,
        flags,
        max_operands: Some(max),
    }
}

/// A program with subcommands (`helm list`, `git log`, `triage search`).
pub(super) struct Tool {
    pub name: &'static str,
    pub globals: &'static [Flag],
    /// Flags that are dangerous before the verb.
    pub global_dangers: &'static [Danger],
    /// Flags that are dangerous after it.
    pub dangers: &'static [Danger],
    pub verbs: &'static [Verb],
    pub syntax: Syntax,
    /// Why a verb that is not listed is a write.
    pub effect: &'static str,
}

pub(super) const NO_FLAGS: &[Flag] = &[];

/// Whether a path names where credentials are kept (by the conventions of the tools that
/// keep them), and what it holds.
pub(super) fn holds_credentials(path: &str) -> Option<&'static str> {
    let p = path.to_ascii_lowercase();
    let parts: Vec<&str> = p.split('/').filter(|c| !c.is_empty()).collect();
    const DIRS: &[&str] = &[
        ".ssh",
        ".aws",
        ".kube",
        ".gnupg",
        ".docker",
        ".azure",
        "gcloud",
        ".password-store",
    ];
    if parts.iter().any(|c| DIRS.contains(c)) {
        return Some("a credentials directory's files");
    }
    if p.contains("run/secrets") || parts.contains(&"serviceaccount") {
        return Some("mounted secrets");
    }
    let name = parts.last().copied().unwrap_or("");
    const FILES: &[&str] = &[
        "shadow",
        "gshadow",
        ".netrc",
        ".pgpass",
        ".git-credentials",
        ".npmrc",
        ".pypirc",
        "credentials",
        "credentials.json",
        "kubeconfig",
        "environ",
        ".htpasswd",
        ".vault-token",
    ];
    const KEYS: &[&str] = &[
        ".pem",
        ".key",
        ".p12",
        ".pfx",
        ".jks",
        ".keystore",
        ".kubeconfig",
    ];
    let env_file = name == ".env" || name.starts_with(".env.") || name == ".envrc";
    let private_key = name.starts_with("id_") && !name.ends_with(".pub");
    (FILES.contains(&name) || KEYS.iter().any(|k| name.ends_with(k)) || env_file || private_key)
        .then_some("a file that holds credentials")
}
