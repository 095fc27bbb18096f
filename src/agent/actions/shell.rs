//! Everyday programs: the ones that only read with the flags listed, and the reasons the
//! others are writes (they change files, run other programs, or print credentials).

use super::rules::{
    ActionKind, Classification, Danger, Flag, Scan, Syntax, holds_credentials, read, scan, write,
};

/// A program that only reads when used with these flags.
struct Reader {
    names: &'static [&'static str],
    flags: &'static [Flag],
    dangers: &'static [Danger],
    syntax: Syntax,
    max_operands: Option<usize>,
}

const COMBINED: Syntax = Syntax {
    numeric_short: false,
    combined: true,
};
const COUNTS: Syntax = Syntax {
    numeric_short: true,
    combined: true,
};
const PLAIN: Syntax = Syntax {
    numeric_short: false,
    combined: false,
};

const CAT: &[Flag] = &[
    ("-n", false),
    ("-b", false),
    ("-A", false),
    ("-e", false),
    ("-E", false),
    ("-s", false),
    ("-T", false),
    ("-v", false),
    ("-t", false),
    ("-u", false),
    ("--number", false),
];
const HEAD_TAIL: &[Flag] = &[
    ("-n", true),
    ("-c", true),
    ("-q", false),
    ("-v", false),
    ("-f", false),
    ("-F", false),
    ("--follow", false),
    ("--lines", true),
    ("--bytes", true),
    ("-s", true),
    ("--retry", false),
];
const GREP: &[Flag] = &[
    ("-i", false),
    ("-v", false),
    ("-n", false),
    ("-c", false),
    ("-l", false),
    ("-L", false),
    ("-r", false),
    ("-R", false),
    ("-E", false),
    ("-F", false),
    ("-P", false),
    ("-G", false),
    ("-w", false),
    ("-x", false),
    ("-o", false),
    ("-h", false),
    ("-H", false),
    ("-s", false),
    ("-q", false),
    ("-a", false),
    ("-I", false),
    ("-z", false),
    ("-Z", false),
    ("-A", true),
    ("-B", true),
    ("-C", true),
    ("-e", true),
    ("-f", true),
    ("-m", true),
    ("--include", true),
    ("--exclude", true),
    ("--exclude-dir", true),
    ("--color", false),
    ("--colour", false),
    ("--line-buffered", false),
    ("--max-count", true),
    ("--ignore-case", false),
    ("--recursive", false),
    ("--line-number", false),
    ("--count", false),
    ("--files-with-matches", false),
    ("--invert-match", false),
    ("--word-regexp", false),
    ("--only-matching", false),
    ("--extended-regexp", false),
    ("--fixed-strings", false),
    ("--context", true),
    ("--after-context", true),
    ("--before-context", true),
];
const RG: &[Flag] = &[
    ("-i", false),
    ("-S", false),
    ("-s", false),
    ("-n", false),
    ("-N", false),
    ("-l", false),
    ("-c", false),
    ("-w", false),
    ("-x", false),
    ("-v", false),
    ("-F", false),
    ("-e", true),
    ("-g", true),
    ("--glob", true),
    ("-t", true),
    ("--type", true),
    ("-T", true),
    ("--type-not", true),
    ("--hidden", false),
    ("--no-ignore", false),
    ("-u", false),
    ("-A", true),
    ("-B", true),
    ("-C", true),
    ("-m", true),
    ("--max-count", true),
    ("--max-depth", true),
    ("-o", false),
    ("--json", false),
    ("--files", false),
    ("--sort", true),
    ("--color", true),
    ("-H", false),
    ("--no-heading", false),
    ("-U", false),
    ("--multiline", false),
    ("--max-filesize", true),
    ("--smart-case", false),
    ("--ignore-case", false),
    ("--fixed-strings", false),
    ("--count", false),
    ("--files-with-matches", false),
    ("--context", true),
    ("--trim", false),
    ("-P", false),
    ("--pcre2", false),
    ("--stats", false),
    ("-0", false),
    ("--vimgrep", false),
];
const RG_DANGER: &[Danger] = &[
    ("--pre", "runs a program on every file"),
    ("--pre-glob", "runs a program on every file"),
    ("-z", "runs decompression programs"),
    ("--search-zip", "runs decompression programs"),
];
const LS: &[Flag] = &[
    ("-l", false),
    ("-a", false),
    ("-A", false),
    ("-h", false),
    ("-t", false),
    ("-r", false),
    ("-S", false),
    ("-1", false),
    ("-d", false),
    ("-R", false),
    ("-i", false),
    ("-F", false),
    ("-n", false),
    ("-s", false),
    ("-c", false),
    ("-u", false),
    ("--color", false),
    ("--full-time", false),
    ("--group-directories-first", false),
    ("--human-readable", false),
    ("--all", false),
    ("-L", false),
];
const WC: &[Flag] = &[
    ("-l", false),
    ("-w", false),
    ("-c", false),
    ("-m", false),
    ("-L", false),
];
const JQ: &[Flag] = &[
    ("-r", false),
    ("-c", false),
    ("-S", false),
    ("-e", false),
    ("-s", false),
    ("-n", false),
    ("-M", false),
    ("-C", false),
    ("-j", false),
    ("-a", false),
    ("--raw-output", false),
    ("--compact-output", false),
    ("--tab", false),
    ("--indent", true),
    ("--slurp", false),
    ("--sort-keys", false),
    ("--exit-status", false),
    ("--null-input", false),
];
const ECHO: &[Flag] = &[("-n", false), ("-e", false), ("-E", false)];
const DATE: &[Flag] = &[
    ("-u", false),
    ("--utc", false),
    ("-R", false),
    ("-I", false),
    ("--iso-8601", false),
    ("-d", true),
    ("--date", true),
    ("--rfc-3339", true),
];
const DATE_DANGER: &[Danger] = &[
    ("-s", "sets the system clock"),
    ("--set", "sets the system clock"),
];
const UNAME: &[Flag] = &[
    ("-a", false),
    ("-s", false),
    ("-n", false),
    ("-r", false),
    ("-v", false),
    ("-m", false),
    ("-p", false),
    ("-o", false),
];
const DF_DU: &[Flag] = &[
    ("-h", false),
    ("-i", false),
    ("-T", false),
    ("-s", false),
    ("-c", false),
    ("-a", false),
    ("-d", true),
    ("--max-depth", true),
    ("-x", false),
    ("-k", false),
    ("-m", false),
    ("--human-readable", false),
    ("--summarize", false),
    ("-l", false),
    ("-P", false),
];
const FREE: &[Flag] = &[
    ("-h", false),
    ("-m", false),
    ("-g", false),
    ("-k", false),
    ("-b", false),
    ("-t", false),
    ("-w", false),
];
const PS: &[Flag] = &[
    ("-e", false),
    ("-f", false),
    ("-F", false),
    ("-A", false),
    ("-a", false),
    ("-u", true),
    ("-p", true),
    ("-o", true),
    ("--sort", true),
    ("-l", false),
    ("-L", false),
    ("-H", false),
    ("--forest", false),
    ("-C", true),
    ("-w", false),
    ("-x", false),
];
const FIND: &[Flag] = &[
    ("-name", true),
    ("-iname", true),
    ("-type", true),
    ("-path", true),
    ("-ipath", true),
    ("-maxdepth", true),
    ("-mindepth", true),
    ("-mtime", true),
    ("-mmin", true),
    ("-newer", true),
    ("-size", true),
    ("-user", true),
    ("-group", true),
    ("-perm", true),
    ("-empty", false),
    ("-print", false),
    ("-print0", false),
    ("-not", false),
    ("-o", false),
    ("-a", false),
    ("-and", false),
    ("-or", false),
    ("-L", false),
    ("-P", false),
    ("-H", false),
    ("-regex", true),
    ("-iregex", true),
    ("-readable", false),
    ("-executable", false),
    ("-xdev", false),
    ("-follow", false),
];
const FIND_DANGER: &[Danger] = &[
    ("-exec", "runs a program for each file"),
    ("-execdir", "runs a program for each file"),
    ("-ok", "runs a program for each file"),
    ("-okdir", "runs a program for each file"),
    ("-delete", "deletes files"),
    ("-fprint", "writes a file"),
    ("-fprint0", "writes a file"),
    ("-fprintf", "writes a file"),
    ("-fls", "writes a file"),
];
const SORT: &[Flag] = &[
    ("-r", false),
    ("-n", false),
    ("-k", true),
    ("-t", true),
    ("-u", false),
    ("-h", false),
    ("-V", false),
    ("-f", false),
    ("-b", false),
    ("-g", false),
    ("-s", false),
    ("-M", false),
];
const SORT_DANGER: &[Danger] = &[
    ("-o", "writes a file"),
    ("--output", "writes a file"),
    ("--compress-program", "runs a program"),
];
const UNIQ: &[Flag] = &[
    ("-c", false),
    ("-d", false),
    ("-u", false),
    ("-i", false),
    ("-f", true),
    ("-s", true),
];
const CUT: &[Flag] = &[
    ("-d", true),
    ("-f", true),
    ("-c", true),
    ("-b", true),
    ("-s", false),
    ("--complement", false),
];
const STAT: &[Flag] = &[
    ("-c", true),
    ("--format", true),
    ("-L", false),
    ("-f", false),
    ("-t", false),
];
const DIG: &[Flag] = &[
    ("-t", true),
    ("-x", true),
    ("-p", true),
    ("-4", false),
    ("-6", false),
];
const BASE64: &[Flag] = &[
    ("-d", false),
    ("--decode", false),
    ("-w", true),
    ("-i", false),
];
const SS: &[Flag] = &[
    ("-t", false),
    ("-u", false),
    ("-l", false),
    ("-n", false),
    ("-p", false),
    ("-a", false),
    ("-s", false),
    ("-4", false),
    ("-6", false),
    ("-x", false),
    ("-e", false),
    ("-m", false),
    ("-r", false),
    ("-o", false),
    ("-i", false),
];
const NONE: &[Flag] = &[];
const NO_DANGER: &[Danger] = &[];

const fn reader(names: &'static [&'static str], flags: &'static [Flag], syntax: Syntax) -> Reader {
    Reader {
        names,
        flags,
        dangers: NO_DANGER,
        syntax,
        max_operands: None,
    }
}

const READERS: &[Reader] = &[
    reader(&["cat", "tac", "nl"], CAT, COMBINED),
    reader(&["head", "tail"], HEAD_TAIL, COUNTS),
    reader(&["grep", "egrep", "fgrep", "zgrep"], GREP, COMBINED),
    Reader {
        names: &["rg"],
        flags: RG,
        dangers: RG_DANGER,
        syntax: COMBINED,
        max_operands: None,
    },
    reader(&["ls"], LS, COMBINED),
    reader(&["wc"], WC, COMBINED),
    reader(&["jq"], JQ, COMBINED),
    reader(&["echo"], ECHO, COMBINED),
    reader(&["printf"], NONE, PLAIN),
    Reader {
        names: &["date"],
        flags: DATE,
        dangers: DATE_DANGER,
        syntax: PLAIN,
        max_operands: Some(1),
    },
    Reader {
        names: &[
            "pwd", "whoami", "id", "uptime", "hostname", "groups", "tty", "nproc", "arch",
        ],
        flags: NONE,
        dangers: NO_DANGER,
        syntax: PLAIN,
        max_operands: Some(0),
    },
    reader(&["uname"], UNAME, COMBINED),
    reader(&["df", "du"], DF_DU, COMBINED),
    reader(&["free"], FREE, COMBINED),
    reader(&["ps"], PS, COMBINED),
    Reader {
        names: &["find"],
        flags: FIND,
        dangers: FIND_DANGER,
        syntax: PLAIN,
        max_operands: None,
    },
    Reader {
        names: &["sort"],
        flags: SORT,
        dangers: SORT_DANGER,
        syntax: COMBINED,
        max_operands: None,
    },
    Reader {
        names: &["uniq"],
        flags: UNIQ,
        dangers: NO_DANGER,
        syntax: COMBINED,
        // A second operand is the file uniq writes.
        max_operands: Some(1),
    },
    reader(&["cut"], CUT, PLAIN),
    reader(&["stat", "file"], STAT, PLAIN),
    reader(&["which", "type"], NONE, PLAIN),
    reader(&["dig", "nslookup", "host", "getent"], DIG, PLAIN),
    reader(&["base64"], BASE64, PLAIN),
    reader(&["ss", "netstat"], SS, COMBINED),
];

/// Why programs that are never reads are writes.
fn effect(program: &str) -> &'static str {
    match program {
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "fish" | "python" | "python3" | "perl"
        | "ruby" | "node" | "php" | "lua" | "awk" | "gawk" | "sed" | "osascript" => {
            "runs a script, which can do anything"
        }
        "env" | "printenv" | "set" | "export" => {
            "prints or sets environment variables, which hold credentials"
        }
        "sudo" | "doas" | "su" | "runuser" => "runs a command as another user",
        "xargs" | "timeout" | "nice" | "nohup" | "watch" | "time" | "exec" | "eval" | "command"
        | "builtin" | "source" | "." | "strace" | "setsid" | "stdbuf" | "chroot" | "unshare" => {
            "runs another command"
        }
        "rm" | "mv" | "cp" | "chmod" | "chown" | "mkdir" | "rmdir" | "touch" | "ln" | "dd"
        | "truncate" | "tee" | "install" | "shred" | "tar" | "unzip" | "gzip" | "gunzip" => {
            "changes files"
        }
        "kill" | "pkill" | "killall" | "systemctl" | "service" | "reboot" | "shutdown" | "halt"
        | "crontab" | "mount" | "umount" | "iptables" | "ip" | "sysctl" => {
            "changes the running system"
        }
        "less" | "more" | "vi" | "vim" | "nvim" | "nano" | "emacs" | "man" => {
            "is interactive and can run commands from inside it"
        }
        "ssh" | "scp" | "rsync" | "nc" | "ncat" | "netcat" | "telnet" | "socat" | "wget"
        | "ftp" | "sftp" | "openssl" => "connects to other machines or writes files",
        "docker" | "podman" | "nerdctl" | "crictl" | "terraform" | "aws" | "gcloud" | "az"
        | "kustomize" | "argocd" | "flux" | "istioctl" | "k9s" | "stern" => {
            "is a tool triage does not classify yet"
        }
        _ => "is not a program triage knows to only read",
    }
}

pub fn classify(program: &str, args: &[&str]) -> Classification {
    let kind = ActionKind::Shell;
    let Some(r) = READERS.iter().find(|r| r.names.contains(&program)) else {
        return write(
            kind,
            format!("`{program}` {}; treated as a write", effect(program)),
        );
    };
    match scan(args, &[r.flags], r.dangers, r.syntax) {
        Scan::Operands(ops) if r.max_operands.is_some_and(|m| ops.len() > m) => write(
            kind,
            format!(
                "`{program}` with {} operands can change something (at most {} expected); treated as a write",
                ops.len(),
                r.max_operands.unwrap_or(0)
            ),
        ),
        Scan::Operands(ops) if PRINTS_CONTENTS.contains(&program) => {
            match ops.iter().find_map(|op| holds_credentials(op)) {
                Some(what) => write(
                    kind,
                    format!("`{program}` would print {what}; treated as a write"),
                ),
                None => read(
                    kind,
                    program,
                    format!("`{program}` only reads, and every flag is known to only read"),
                ),
            }
        }
        Scan::Operands(_) => read(
            kind,
            program,
            format!("`{program}` only reads, and every flag is known to only read"),
        ),
        Scan::Write(why) => write(kind, format!("`{program}` with {why}; treated as a write")),
    }
}

/// Readers that print what the files they are given contain.
const PRINTS_CONTENTS: &[&str] = &[
    "cat", "tac", "nl", "head", "tail", "grep", "egrep", "fgrep", "zgrep", "rg", "jq", "sort",
    "uniq", "cut", "base64",
];
