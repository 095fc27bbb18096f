//! Read or write, by allowlist. A command is a read only when its program is known by
//! name (not a path), every word of it is understood, its verb only reads, and every
//! flag is one known not to change the target, the credentials, an output file or the
//! code that runs. Anything else is a write; a command that cannot be run safely at all
//! (shell syntax, environment assignments, invisible characters) is refused outright.
//!
//! The per-program tables live in [`super::programs`]; this file has the shared parts: the
//! refusals, the word scanner and kubectl.

use crate::protocol::ActionClass;

use super::programs;

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

fn lookup<'t>(tables: &[&'t [Flag]], name: &str) -> Option<&'t Flag> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|(n, _)| *n == name)
}

fn danger(dangers: &[Danger], name: &str) -> Option<String> {
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
        "kubectl" => kubectl(args),
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

/// kubectl flags every verb takes that only pick a context, namespace or timeout.
const KUBECTL_GLOBAL: &[Flag] = &[
    ("-n", true),
    ("--namespace", true),
    ("--context", true),
    ("--request-timeout", true),
    ("-h", false),
    ("--help", false),
];

const KUBECTL_DANGER: &[Danger] = &[
    (
        "-s",
        "sends the request, and your credentials, to another server",
    ),
    (
        "--server",
        "sends the request, and your credentials, to another server",
    ),
    (
        "--kubeconfig",
        "loads another kubeconfig, which can name any server and run credential plugins",
    ),
    ("--token", "uses other credentials"),
    ("--as", "impersonates another user"),
    ("--as-group", "impersonates another group"),
    ("--as-uid", "impersonates another user"),
    ("--user", "uses another user's credentials"),
    ("--username", "uses other credentials"),
    ("--password", "uses other credentials"),
    ("--cluster", "talks to another cluster entry"),
    (
        "--certificate-authority",
        "trusts another certificate authority",
    ),
    ("--client-certificate", "uses other credentials"),
    ("--client-key", "uses other credentials"),
    (
        "--insecure-skip-tls-verify",
        "turns off server verification",
    ),
    (
        "--tls-server-name",
        "changes which server certificate is accepted",
    ),
    ("--cache-dir", "writes its cache to another directory"),
    ("--log-file", "writes a file"),
    ("--log-dir", "writes files"),
    ("--profile-output", "writes a file"),
    ("-v", "verbose logs can print request headers"),
    ("--v", "verbose logs can print request headers"),
    ("--vmodule", "verbose logs can print request headers"),
    (
        "--raw",
        "sends a raw request to any API path, or prints credentials",
    ),
    (
        "--dry-run",
        "is not trusted to make a change harmless: a later flag can undo it",
    ),
    ("--enable-alpha-plugins", "runs kustomize plugins"),
    ("--enable-helm", "runs helm"),
];

const GET: &[Flag] = &[
    ("-o", true),
    ("--output", true),
    ("-l", true),
    ("--selector", true),
    ("--field-selector", true),
    ("-A", false),
    ("--all-namespaces", false),
    ("-w", false),
    ("--watch", false),
    ("--watch-only", false),
    ("--output-watch-events", false),
    ("--show-labels", false),
    ("--show-kind", false),
    ("--sort-by", true),
    ("-L", true),
    ("--label-columns", true),
    ("--no-headers", false),
    ("--chunk-size", true),
    ("--ignore-not-found", false),
    ("--template", true),
    ("--allow-missing-template-keys", false),
    ("--show-managed-fields", false),
    ("--subresource", true),
    ("-f", true),
    ("--filename", true),
    ("-R", false),
    ("--recursive", false),
    ("--server-print", false),
];
const DESCRIBE: &[Flag] = &[
    ("-l", true),
    ("--selector", true),
    ("-A", false),
    ("--all-namespaces", false),
    ("--show-events", false),
    ("--chunk-size", true),
    ("-f", true),
    ("--filename", true),
    ("-R", false),
    ("--recursive", false),
];
const LOGS: &[Flag] = &[
    ("-c", true),
    ("--container", true),
    ("-f", false),
    ("--follow", false),
    ("-p", false),
    ("--previous", false),
    ("--since", true),
    ("--since-time", true),
    ("--tail", true),
    ("--timestamps", false),
    ("--all-containers", false),
    ("-l", true),
    ("--selector", true),
    ("--prefix", false),
    ("--limit-bytes", true),
    ("--max-log-requests", true),
    ("--pod-running-timeout", true),
    ("--ignore-errors", false),
    ("--all-pods", false),
];
const TOP: &[Flag] = &[
    ("--containers", false),
    ("-l", true),
    ("--selector", true),
    ("-A", false),
    ("--all-namespaces", false),
    ("--sort-by", true),
    ("--no-headers", false),
    ("--use-protocol-buffers", false),
    ("--sum", false),
    ("--show-capacity", false),
    ("--field-selector", true),
];
const EXPLAIN: &[Flag] = &[
    ("--recursive", false),
    ("--api-version", true),
    ("--output", true),
];
const API_RESOURCES: &[Flag] = &[
    ("--namespaced", false),
    ("--api-group", true),
    ("-o", true),
    ("--output", true),
    ("--verbs", true),
    ("--sort-by", true),
    ("--no-headers", false),
    ("--cached", false),
    ("--categories", true),
];
const VERSION: &[Flag] = &[("--client", false), ("-o", true), ("--output", true)];
const EVENTS: &[Flag] = &[
    ("-A", false),
    ("--all-namespaces", false),
    ("--for", true),
    ("--types", true),
    ("-w", false),
    ("--watch", false),
    ("-o", true),
    ("--output", true),
    ("--no-headers", false),
    ("--chunk-size", true),
];
const CAN_I: &[Flag] = &[
    ("-A", false),
    ("--all-namespaces", false),
    ("--list", false),
    ("--subresource", true),
    ("-q", false),
    ("--quiet", false),
    ("--no-headers", false),
];
const ROLLOUT_READ: &[Flag] = &[
    ("--revision", true),
    ("-o", true),
    ("--output", true),
    ("-l", true),
    ("--selector", true),
    ("-w", false),
    ("--watch", false),
    ("--timeout", true),
    ("-f", true),
    ("--filename", true),
];
const CONFIG_VIEW: &[Flag] = &[("--minify", false), ("-o", true), ("--output", true)];
const CONFIG_LIST: &[Flag] = &[("-o", true), ("--output", true), ("--no-headers", false)];
const WAIT: &[Flag] = &[
    ("--for", true),
    ("--timeout", true),
    ("-l", true),
    ("--selector", true),
    ("-A", false),
    ("--all-namespaces", false),
    ("--all", false),
    ("-f", true),
    ("--filename", true),
];
const NONE: &[Flag] = &[];

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

/// The flags a read verb (and subcommand) takes, or `None` when it does not only read.
fn kubectl_read(verb: &str, sub: Option<&str>) -> Option<(&'static [Flag], bool)> {
    // (flags, whether the subcommand is part of the family)
    Some(match (verb, sub) {
        ("get", _) => (GET, false),
        ("describe", _) => (DESCRIBE, false),
        ("logs", _) => (LOGS, false),
        ("top", Some("pod" | "pods" | "po" | "node" | "nodes" | "no")) => (TOP, true),
        ("explain", _) => (EXPLAIN, false),
        ("api-resources", _) => (API_RESOURCES, false),
        ("api-versions", _) | ("cluster-info", None) => (NONE, false),
        ("version", _) => (VERSION, false),
        ("events", _) => (EVENTS, false),
        ("auth", Some("can-i")) => (CAN_I, true),
        ("auth", Some("whoami")) => (VERSION, true),
        ("rollout", Some("history" | "status")) => (ROLLOUT_READ, true),
        ("config", Some("view")) => (CONFIG_VIEW, true),
        ("config", Some("get-contexts" | "current-context" | "get-clusters" | "get-users")) => {
            (CONFIG_LIST, true)
        }
        ("wait", _) => (WAIT, false),
        ("help", _) => (NONE, false),
        _ => return None,
    })
}

/// Why a kubectl verb that is not a read is a write.
fn kubectl_effect(verb: &str) -> &'static str {
    match verb {
        "exec" => "runs a command inside a container",
        "attach" => "attaches to a running container's input",
        "cp" => "copies files into or out of a container",
        "port-forward" | "proxy" => "opens network access into the cluster from this machine",
        "debug" => "starts a debugging container or node pod",
        "edit" => "opens an editor and saves changes to the cluster",
        "drain" => "evicts every pod from a node",
        "certificate" => "decides a certificate signing request",
        "diff" => "runs an external diff program and sends manifests to the server",
        "cluster-info" => "dumps cluster state into files",
        "config" => "changes the local kubeconfig",
        "auth" => "may change RBAC",
        "plugin" | "kustomize" | "completion" | "alpha" => "runs or writes local programs",
        "scale" | "autoscale" | "delete" | "apply" | "create" | "replace" | "patch" | "label"
        | "annotate" | "set" | "run" | "expose" | "cordon" | "uncordon" | "taint" | "rollout" => {
            "changes the cluster"
        }
        _ => "is not a known kubectl verb (kubectl may run a plugin of that name)",
    }
}

fn kubectl(args: &[&str]) -> Classification {
    let kind = ActionKind::Kubectl;
    // The verb is the first word that is not a global flag (or its value).
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        let (name, inline) = match args[i].split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (args[i], None),
        };
        if let Some(why) = danger(KUBECTL_DANGER, name) {
            return write(kind, format!("kubectl {why}"));
        }
        match lookup(&[KUBECTL_GLOBAL], name) {
            Some((_, true)) if inline.is_none() => i += 2,
            Some(_) => i += 1,
            None => {
                return write(
                    kind,
                    format!(
                        "`{name}` before the verb is not a kubectl flag known to only read; treated as a write"
                    ),
                );
            }
        }
    }
    let Some(&verb) = args.get(i) else {
        return read(kind, "kubectl", "kubectl without a verb only prints help");
    };
    let rest = &args[i + 1..];
    let sub = first_operand(rest, &[KUBECTL_GLOBAL]);
    let Some((flags, with_sub)) = kubectl_read(verb, sub) else {
        let what = match sub {
            Some(s) if matches!(verb, "rollout" | "config" | "auth" | "top" | "certificate") => {
                format!("{verb} {s}")
            }
            _ => verb.to_string(),
        };
        return write(kind, format!("kubectl {what} {}", kubectl_effect(verb)));
    };
    let family = match (with_sub, sub) {
        (true, Some(s)) => format!("kubectl {verb} {s}"),
        // What is read matters: approving `get pods` says nothing about `get secrets`.
        (false, Some(s)) if matches!(verb, "get" | "describe" | "explain") => {
            let what = s.split('/').next().unwrap_or(s).to_ascii_lowercase();
            format!("kubectl {verb} {what}")
        }
        _ => format!("kubectl {verb}"),
    };
    let syntax = Syntax {
        numeric_short: false,
        combined: false,
    };
    match scan(rest, &[KUBECTL_GLOBAL, flags], KUBECTL_DANGER, syntax) {
        Scan::Operands(_) => {
            let reason = format!("{family} only reads, and every flag is known to only read");
            read(kind, family, reason)
        }
        Scan::Write(why) => write(kind, format!("{family} with {why}; treated as a write")),
    }
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
