//! kubectl as a table: the verbs (and subcommands) that only read, the flags each takes,
//! and the flags that name another server, credentials or code to run.

use super::rules::{
    ActionKind, Classification, Danger, Flag, Scan, Syntax, danger, first_operand, lookup, read,
    scan, write,
};

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

pub(super) fn classify(args: &[&str]) -> Classification {
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
        Scan::Operands(ops) if verb == "get" => match prints_more(&ops, rest) {
            Some(why) => write(kind, format!("{family} {why}; treated as a write")),
            None => read(
                kind,
                family.clone(),
                format!("{family} only reads, and every flag is known to only read"),
            ),
        },
        Scan::Operands(_) => {
            let reason = format!("{family} only reads, and every flag is known to only read");
            read(kind, family, reason)
        }
        Scan::Write(why) => write(kind, format!("{family} with {why}; treated as a write")),
    }
}

/// The output formats a `get` asks for (`-o yaml`, `-ojson`, `--output=name`).
fn output_formats<'a>(words: &[&'a str]) -> Vec<&'a str> {
    let mut formats = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if *w == "--" {
            break;
        }
        let value = match *w {
            "-o" | "--output" => words.get(i + 1).copied(),
            _ => w
                .strip_prefix("--output=")
                .or_else(|| {
                    w.strip_prefix("-o")
                        .filter(|v| !v.is_empty() && !w.starts_with("--"))
                })
                .map(|v| v.trim_start_matches('=')),
        };
        formats.extend(value);
    }
    formats
}

/// Why a `get` prints more than the cluster's state: a template read from a local file
/// (its text ends up in the output), or the values of Secrets.
fn prints_more(operands: &[&str], words: &[&str]) -> Option<&'static str> {
    let formats = output_formats(words);
    let format_name = |f: &&str| f.split('=').next().unwrap_or("").to_ascii_lowercase();
    if formats.iter().any(|f| format_name(f).ends_with("-file")) {
        return Some("reads a local file as its output template, so the file's text is printed");
    }
    let secrets = operands.iter().any(|op| {
        op.split(',').any(|r| {
            let kind = r.split('/').next().unwrap_or(r).to_ascii_lowercase();
            kind == "secret" || kind.starts_with("secret.") || kind.starts_with("secrets")
        })
    });
    let values = formats
        .iter()
        .any(|f| !matches!(format_name(f).as_str(), "wide" | "name"));
    (secrets && values).then_some("prints the values of Secrets")
}
