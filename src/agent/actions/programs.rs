//! The programs besides kubectl and git that the classifier understands, as tables: the verbs
//! that only read, the flags each takes, and the flags known to write, connect elsewhere
//! or run code. A program, verb or flag not listed here makes a command a write.

use super::rules::{
    ActionKind, Classification, Danger, Flag, NO_FLAGS, Scan, Syntax, Tool, first_operand, read,
    scan, verb, verb_n, write,
};

const HELM_GLOBAL: &[Flag] = &[
    ("-n", true),
    ("--namespace", true),
    ("--kube-context", true),
    ("-h", false),
    ("--help", false),
];
const HELM_DANGER: &[Danger] = &[
    (
        "--kubeconfig",
        "loads another kubeconfig, which can name any server and run credential plugins",
    ),
    (
        "--kube-apiserver",
        "sends the request, and your credentials, to another server",
    ),
    ("--kube-token", "uses other credentials"),
    ("--kube-as-user", "impersonates another user"),
    ("--kube-as-group", "impersonates another group"),
    ("--kube-ca-file", "trusts another certificate authority"),
    (
        "--kube-insecure-skip-tls-verify",
        "turns off server verification",
    ),
    ("--registry-config", "uses other registry credentials"),
    ("--repository-config", "uses another repository list"),
    ("--repository-cache", "writes its cache elsewhere"),
    (
        "--post-renderer",
        "runs a program on the rendered manifests",
    ),
    (
        "--post-renderer-args",
        "runs a program on the rendered manifests",
    ),
    ("--dry-run", "is not trusted to make a change harmless"),
    (
        "--repo",
        "fetches from a repository URL, which could carry data out",
    ),
];
const HELM_LIST: &[Flag] = &[
    ("-A", false),
    ("--all-namespaces", false),
    ("-a", false),
    ("--all", false),
    ("-o", true),
    ("--output", true),
    ("-f", true),
    ("--filter", true),
    ("-m", true),
    ("--max", true),
    ("--offset", true),
    ("-r", false),
    ("--reverse", false),
    ("-q", false),
    ("--short", false),
    ("-d", false),
    ("--date", false),
    ("--deployed", false),
    ("--failed", false),
    ("--pending", false),
    ("--superseded", false),
    ("--uninstalled", false),
    ("--uninstalling", false),
    ("-l", true),
    ("--selector", true),
    ("--time-format", true),
    ("--no-headers", false),
];
const HELM_STATUS: &[Flag] = &[
    ("-o", true),
    ("--output", true),
    ("--revision", true),
    ("--show-desc", false),
    ("--show-resources", false),
];
const HELM_HISTORY: &[Flag] = &[("--max", true), ("-o", true), ("--output", true)];
const HELM_GET: &[Flag] = &[
    ("--revision", true),
    ("-o", true),
    ("--output", true),
    ("-a", false),
    ("--all", false),
    ("--template", true),
];
const HELM_SHOW: &[Flag] = &[("--version", true), ("--devel", false)];
const HELM_SEARCH: &[Flag] = &[
    ("-o", true),
    ("--output", true),
    ("--versions", false),
    ("--devel", false),
    ("--version", true),
    ("-r", false),
    ("--regexp", false),
    ("--max-col-width", true),
];
const HELM_VERSION: &[Flag] = &[("--short", false), ("--template", true)];
const HELM_TEMPLATE: &[Flag] = &[
    ("-f", true),
    ("--values", true),
    ("--set", true),
    ("--set-string", true),
    ("--version", true),
    ("-s", true),
    ("--show-only", true),
    ("--include-crds", false),
    ("--skip-tests", false),
    ("--api-versions", true),
    ("--kube-version", true),
    ("--skip-crds", false),
    ("--devel", false),
];
const HELM_OUTPUT: &[Flag] = &[("-o", true), ("--output", true)];

const HELM: Tool = Tool {
    name: "helm",
    globals: HELM_GLOBAL,
    global_dangers: HELM_DANGER,
    dangers: HELM_DANGER,
    verbs: &[
        verb(&["list"], HELM_LIST),
        verb(&["ls"], HELM_LIST),
        verb_n(&["status"], HELM_STATUS, 1),
        verb_n(&["history"], HELM_HISTORY, 1),
        verb_n(&["hist"], HELM_HISTORY, 1),
        verb_n(&["get", "all"], HELM_GET, 1),
        verb_n(&["get", "values"], HELM_GET, 1),
        verb_n(&["get", "manifest"], HELM_GET, 1),
        verb_n(&["get", "notes"], HELM_GET, 1),
        verb_n(&["get", "hooks"], HELM_GET, 1),
        verb_n(&["get", "metadata"], HELM_GET, 1),
        verb_n(&["show", "all"], HELM_SHOW, 1),
        verb_n(&["show", "chart"], HELM_SHOW, 1),
        verb_n(&["show", "values"], HELM_SHOW, 1),
        verb_n(&["show", "readme"], HELM_SHOW, 1),
        verb_n(&["show", "crds"], HELM_SHOW, 1),
        verb(&["search", "repo"], HELM_SEARCH),
        verb(&["search", "hub"], HELM_SEARCH),
        verb_n(&["version"], HELM_VERSION, 0),
        verb_n(&["env"], NO_FLAGS, 1),
        verb_n(&["repo", "list"], HELM_OUTPUT, 0),
        verb_n(&["plugin", "list"], NO_FLAGS, 0),
        verb_n(&["dependency", "list"], NO_FLAGS, 1),
        verb_n(&["template"], HELM_TEMPLATE, 2),
        verb_n(&["lint"], HELM_TEMPLATE, 1),
    ],
    syntax: Syntax {
        numeric_short: false,
        combined: false,
    },
    effect: "installs, changes or removes releases, repositories or plugins (or is not a known helm verb)",
};

const TRIAGE_GLOBAL: &[Flag] = &[
    ("-h", false),
    ("--help", false),
    ("-V", false),
    ("--version", false),
];
const TRIAGE_DANGER: &[Danger] = &[
    ("--repo", "points triage at another repository"),
    ("--index-dir", "points triage at another index"),
    ("--config", "loads another config file"),
    ("--write", "allows approved writes"),
    (
        "--llm",
        "sends the repository's text to the configured model",
    ),
    ("--kubeconfig", "loads another kubeconfig"),
];
const TRIAGE_SEARCH: &[Flag] = &[("--top", true), ("--json", false)];
const TRIAGE_ISSUE: &[Flag] = &[
    ("--top", true),
    ("--json", false),
    ("--signals", true),
    ("--text-file", true),
];
const TRIAGE_RELATED: &[Flag] = &[("--top", true), ("--hops", true), ("--json", false)];
const TRIAGE_JSON: &[Flag] = &[("--json", false)];
const TRIAGE_KUBE: &[Flag] = &[
    ("--json", false),
    ("--graph", false),
    ("--no-links", false),
    ("--recent", true),
    ("-n", true),
    ("--namespace", true),
    ("-A", false),
    ("--all-namespaces", false),
    ("--context", true),
    ("--replay", true),
    ("-l", true),
    ("--selector", true),
    ("-c", true),
    ("--container", true),
    ("-p", false),
    ("--previous", false),
    ("--for", true),
];

const TRIAGE: Tool = Tool {
    name: "triage",
    globals: TRIAGE_GLOBAL,
    global_dangers: TRIAGE_DANGER,
    dangers: TRIAGE_DANGER,
    verbs: &[
        verb(&["search"], TRIAGE_SEARCH),
        verb(&["issue"], TRIAGE_ISSUE),
        verb_n(&["related"], TRIAGE_RELATED, 1),
        verb_n(&["sessions", "list"], TRIAGE_JSON, 0),
        verb_n(&["sessions", "show"], NO_FLAGS, 1),
        verb_n(&["sessions", "export"], NO_FLAGS, 1),
        verb_n(&["memory", "list"], TRIAGE_JSON, 0),
        verb_n(&["memory", "show"], NO_FLAGS, 1),
        verb_n(&["memory", "export"], NO_FLAGS, 0),
        verb_n(&["kube", "scan"], TRIAGE_KUBE, 0),
        verb_n(&["kube", "status"], TRIAGE_KUBE, 0),
        verb_n(&["kube", "get"], TRIAGE_KUBE, 2),
        verb_n(&["kube", "logs"], TRIAGE_KUBE, 1),
        verb_n(&["kube", "events"], TRIAGE_KUBE, 0),
        verb_n(&["config"], NO_FLAGS, 0),
        verb_n(&["help"], NO_FLAGS, 2),
    ],
    syntax: Syntax {
        numeric_short: false,
        combined: false,
    },
    effect: "changes triage's index, memories, trust or sessions, or runs the agent (or is not a known triage read)",
};

fn run_tool(tool: &Tool, args: &[&str]) -> Classification {
    let kind = ActionKind::Shell;
    let name = tool.name;
    let mut i = 0;
    while i < args.len() && args[i].starts_with('-') {
        let flag = args[i].split('=').next().unwrap_or(args[i]);
        if let Some((_, why)) = tool.global_dangers.iter().find(|(n, _)| *n == flag) {
            return write(kind, format!("{name} `{flag}` {why}"));
        }
        match tool.globals.iter().find(|(n, _)| *n == flag) {
            Some((_, true)) if !args[i].contains('=') => i += 2,
            Some(_) => i += 1,
            None => {
                return write(
                    kind,
                    format!(
                        "`{flag}` before the {name} verb is not a flag known to only read; treated as a write"
                    ),
                );
            }
        }
    }
    let rest = &args[i.min(args.len())..];
    let Some(first) = rest.first() else {
        return match name {
            "triage" if i == 0 => write(kind, "triage without a command opens the terminal UI"),
            _ => read(
                kind,
                name,
                format!("{name} without a verb only prints help"),
            ),
        };
    };
    let second = first_operand(&rest[1..], &[tool.globals]);
    // Two-word verbs first (`get values`), then one word.
    let found = tool
        .verbs
        .iter()
        .find(|v| v.words.len() == 2 && v.words[0] == *first && Some(v.words[1]) == second)
        .or_else(|| tool.verbs.iter().find(|v| v.words == [*first]));
    let Some(v) = found else {
        let what = match second {
            Some(s)
                if tool
                    .verbs
                    .iter()
                    .any(|v| v.words.len() == 2 && v.words[0] == *first) =>
            {
                format!("{first} {s}")
            }
            _ => first.to_string(),
        };
        return write(kind, format!("{name} {what} {}", tool.effect));
    };
    let family = format!("{name} {}", v.words.join(" "));
    let mut words: Vec<&str> = rest[1..].to_vec();
    if v.words.len() == 2
        && let Some(pos) = words.iter().position(|w| Some(*w) == second)
    {
        words.remove(pos);
    }
    match scan(&words, &[tool.globals, v.flags], tool.dangers, tool.syntax) {
        Scan::Operands(ops) if v.max_operands.is_some_and(|m| ops.len() > m) => write(
            kind,
            format!(
                "{family} with {} operands does more than read (at most {} expected); treated as a write",
                ops.len(),
                v.max_operands.unwrap_or(0)
            ),
        ),
        Scan::Operands(_) => {
            let reason = format!("{family} only reads, and every flag is known to only read");
            read(kind, family, reason)
        }
        Scan::Write(why) => write(kind, format!("{family} with {why}; treated as a write")),
    }
}

/// Classify a program other than kubectl.
pub fn classify(program: &str, args: &[&str]) -> Classification {
    match program {
        "helm" => run_tool(&HELM, args),
        "git" if matches!(args.first(), Some(&"apply" | &"am")) => {
            write(ActionKind::Patch, "applies a patch to files")
        }
        "git" => run_tool(&super::git::GIT, args),
        "triage" => run_tool(&TRIAGE, args),
        "patch" => write(ActionKind::Patch, "applies a patch to files"),
        "curl" => super::web::curl(args),
        _ => super::shell::classify(program, args),
    }
}
