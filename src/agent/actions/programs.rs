//! The programs besides kubectl that the classifier understands, as tables: the verbs
//! that only read, the flags each takes, and the flags known to write, connect elsewhere
//! or run code. A program, verb or flag not listed here makes a command a write.

use super::classify::{
    ActionKind, Classification, Danger, Flag, Scan, Syntax, first_operand, read, scan, write,
};

/// A verb (one or two words) that only reads: its flags and how many operands it takes.
struct Verb {
    words: &'static [&'static str],
    flags: &'static [Flag],
    max_operands: Option<usize>,
}

const fn verb(words: &'static [&'static str], flags: &'static [Flag]) -> Verb {
    Verb {
        words,
        flags,
        max_operands: None,
    }
}

const fn verb_n(words: &'static [&'static str], flags: &'static [Flag], max: usize) -> Verb {
    Verb {
        words,
        flags,
        max_operands: Some(max),
    }
}

/// A program with subcommands (`helm list`, `git log`, `triage search`).
struct Tool {
    name: &'static str,
    globals: &'static [Flag],
    /// Flags that are dangerous before the verb.
    global_dangers: &'static [Danger],
    /// Flags that are dangerous after it.
    dangers: &'static [Danger],
    verbs: &'static [Verb],
    syntax: Syntax,
    /// Why a verb that is not listed is a write.
    effect: &'static str,
}

const NO_FLAGS: &[Flag] = &[];

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

const GIT_GLOBAL: &[Flag] = &[
    ("--no-pager", false),
    ("-P", false),
    ("--no-optional-locks", false),
    ("--literal-pathspecs", false),
    ("--glob-pathspecs", false),
    ("--noglob-pathspecs", false),
    ("--icase-pathspecs", false),
    ("--no-replace-objects", false),
    ("-h", false),
    ("--help", false),
];
const GIT_GLOBAL_DANGER: &[Danger] = &[
    (
        "-c",
        "sets configuration that can run programs (a pager, a diff driver, fsmonitor)",
    ),
    ("--config-env", "sets configuration that can run programs"),
    (
        "-C",
        "runs git in another directory, whose configuration may run programs",
    ),
    (
        "--git-dir",
        "reads another repository, whose configuration may run programs",
    ),
    ("--work-tree", "points git at another directory"),
    ("--exec-path", "runs git programs from another directory"),
    ("-p", "runs a pager program"),
    ("--paginate", "runs a pager program"),
];
const GIT_DANGER: &[Danger] = &[
    ("--output", "writes a file"),
    ("--ext-diff", "runs an external diff program"),
    ("--textconv", "runs text conversion programs"),
    ("-O", "opens a pager program"),
    ("--open-files-in-pager", "opens a pager program"),
    ("--upload-pack", "runs a program"),
    ("--exec", "runs a program"),
];
/// What `log`, `show`, `diff` and friends accept that only formats or filters.
const GIT_LOG: &[Flag] = &[
    ("--oneline", false),
    ("--graph", false),
    ("--decorate", false),
    ("--no-decorate", false),
    ("--stat", false),
    ("--shortstat", false),
    ("--numstat", false),
    ("--name-only", false),
    ("--name-status", false),
    ("-p", false),
    ("--patch", false),
    ("-u", false),
    ("--no-patch", false),
    ("-s", false),
    ("--format", true),
    ("--pretty", true),
    ("--abbrev-commit", false),
    ("--no-merges", false),
    ("--merges", false),
    ("--first-parent", false),
    ("--all", false),
    ("--since", true),
    ("--until", true),
    ("--after", true),
    ("--before", true),
    ("--author", true),
    ("--committer", true),
    ("--grep", true),
    ("-i", false),
    ("--regexp-ignore-case", false),
    ("--follow", false),
    ("-n", true),
    ("--max-count", true),
    ("--skip", true),
    ("--reverse", false),
    ("--date", true),
    ("-L", true),
    ("-S", true),
    ("-G", true),
    ("--no-color", false),
    ("--color", false),
    ("--word-diff", false),
    ("-w", false),
    ("--ignore-all-space", false),
    ("-b", false),
    ("--ignore-space-change", false),
    ("--cached", false),
    ("--staged", false),
    ("-M", false),
    ("--find-renames", false),
    ("--diff-filter", true),
    ("--full-history", false),
    ("--simplify-merges", false),
    ("--show-signature", false),
    ("--relative", false),
    ("--summary", false),
    ("--raw", false),
    ("--no-renames", false),
    ("--exit-code", false),
    ("--quiet", false),
    ("-q", false),
    ("--unified", true),
    ("-U", true),
    ("--minimal", false),
    ("--histogram", false),
    ("--patience", false),
    ("--dirstat", false),
    ("-z", false),
    ("--left-right", false),
    ("--cherry-pick", false),
    ("--boundary", false),
    ("--topo-order", false),
    ("--date-order", false),
    ("--branches", false),
    ("--tags", false),
    ("--remotes", false),
    ("--count", false),
    ("--no-walk", false),
    ("-e", false),
    ("--source", false),
    ("--use-mailmap", false),
    ("--abbrev", true),
    ("--no-abbrev", false),
    ("--check", false),
    ("--compact-summary", false),
    ("--color-moved", false),
];
const GIT_BLAME: &[Flag] = &[
    ("-L", true),
    ("-w", false),
    ("-M", false),
    ("-C", false),
    ("-e", false),
    ("--show-email", false),
    ("-s", false),
    ("-l", false),
    ("-t", false),
    ("--porcelain", false),
    ("--line-porcelain", false),
    ("--date", true),
    ("--since", true),
    ("--reverse", true),
    ("--first-parent", false),
    ("--root", false),
    ("--abbrev", true),
];
const GIT_STATUS: &[Flag] = &[
    ("-s", false),
    ("--short", false),
    ("-b", false),
    ("--branch", false),
    ("--porcelain", false),
    ("--long", false),
    ("-u", false),
    ("--untracked-files", true),
    ("--ignored", false),
    ("-z", false),
    ("--show-stash", false),
    ("-v", false),
];
const GIT_REFS: &[Flag] = &[
    ("--short", false),
    ("--abbrev-ref", false),
    ("--verify", false),
    ("--show-toplevel", false),
    ("--git-dir", false),
    ("--is-inside-work-tree", false),
    ("--tags", false),
    ("--always", false),
    ("--long", false),
    ("--contains", false),
    ("--heads", false),
    ("--format", true),
    ("--sort", true),
    ("--count", true),
    ("--points-at", true),
    ("--merged", true),
    ("--no-merged", true),
    ("-s", false),
    ("--hash", false),
    ("--symbolic-full-name", false),
    ("--all", false),
    ("--exact-match", false),
    ("--dirty", false),
    ("--name-only", false),
    ("--abbrev", true),
    ("-t", false),
    ("-p", false),
    ("-e", false),
    ("--batch-check", false),
    ("-v", false),
    ("-H", false),
];
const GIT_LS: &[Flag] = &[
    ("-r", false),
    ("-t", false),
    ("-l", false),
    ("--long", false),
    ("--name-only", false),
    ("-z", false),
    ("--cached", false),
    ("--others", false),
    ("-o", false),
    ("-m", false),
    ("--modified", false),
    ("-d", false),
    ("--deleted", false),
    ("--exclude-standard", false),
    ("-s", false),
    ("--stage", false),
    ("--full-name", false),
    ("--abbrev", true),
];
const GIT_GREP: &[Flag] = &[
    ("-i", false),
    ("-n", false),
    ("--line-number", false),
    ("-l", false),
    ("-c", false),
    ("-w", false),
    ("-v", false),
    ("-E", false),
    ("-F", false),
    ("-P", false),
    ("-e", true),
    ("--cached", false),
    ("-h", false),
    ("-H", false),
    ("-A", true),
    ("-B", true),
    ("-C", true),
    ("--max-depth", true),
    ("--untracked", false),
    ("--no-index", false),
    ("-I", false),
    ("--heading", false),
    ("--break", false),
    ("-q", false),
    ("--all-match", false),
];
const GIT_LIST: &[Flag] = &[
    ("-a", false),
    ("--all", false),
    ("-r", false),
    ("--remotes", false),
    ("-v", false),
    ("-vv", false),
    ("--list", false),
    ("-l", false),
    ("--contains", true),
    ("--merged", true),
    ("--no-merged", true),
    ("--sort", true),
    ("--format", true),
    ("--show-current", false),
    ("-n", true),
    ("--points-at", true),
    ("--verbose", false),
];
const GIT: Tool = Tool {
    name: "git",
    globals: GIT_GLOBAL,
    global_dangers: GIT_GLOBAL_DANGER,
    dangers: GIT_DANGER,
    verbs: &[
        verb(&["log"], GIT_LOG),
        verb(&["show"], GIT_LOG),
        verb(&["diff"], GIT_LOG),
        verb(&["whatchanged"], GIT_LOG),
        verb(&["shortlog"], GIT_LOG),
        verb(&["rev-list"], GIT_LOG),
        verb(&["blame"], GIT_BLAME),
        verb(&["annotate"], GIT_BLAME),
        verb_n(&["status"], GIT_STATUS, 16),
        verb(&["rev-parse"], GIT_REFS),
        verb(&["describe"], GIT_REFS),
        verb(&["show-ref"], GIT_REFS),
        verb(&["for-each-ref"], GIT_REFS),
        verb(&["name-rev"], GIT_REFS),
        verb(&["merge-base"], GIT_REFS),
        verb_n(&["cat-file"], GIT_REFS, 2),
        verb(&["ls-files"], GIT_LS),
        verb(&["ls-tree"], GIT_LS),
        verb(&["grep"], GIT_GREP),
        verb_n(&["branch"], GIT_LIST, 0),
        verb_n(&["tag"], GIT_LIST, 0),
        verb_n(&["remote"], GIT_LIST, 0),
        verb(&["reflog"], GIT_LOG),
        verb(&["reflog", "show"], GIT_LOG),
        verb_n(&["stash", "list"], GIT_LOG, 0),
        verb_n(&["stash", "show"], GIT_LOG, 1),
        verb_n(&["count-objects"], GIT_LIST, 0),
        verb_n(&["version"], NO_FLAGS, 0),
    ],
    syntax: Syntax {
        numeric_short: true,
        combined: false,
    },
    effect: "changes the repository, its configuration or a remote (or is not a known git read)",
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
        "git" => run_tool(&GIT, args),
        "triage" => run_tool(&TRIAGE, args),
        "patch" => write(ActionKind::Patch, "applies a patch to files"),
        "curl" => super::web::curl(args),
        _ => super::shell::classify(program, args),
    }
}
