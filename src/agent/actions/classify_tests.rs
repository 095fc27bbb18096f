//! The classifier against its table (`classifier_table.tsv`), and properties: whatever
//! is added to a read that is not known to only read makes it a write.

use super::*;

const TABLE: &str = include_str!("classifier_table.tsv");

/// (expected, command, words the reason must hold), from the table.
fn table() -> Vec<(char, &'static str, &'static str)> {
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(3, '\t');
            let class = parts.next().and_then(|c| c.chars().next()).unwrap_or('?');
            (
                class,
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            )
        })
        .collect()
}

fn expected(c: &Classification) -> char {
    match (c.class, &c.refused) {
        (_, Some(_)) => 'X',
        (ActionClass::Read, None) => 'R',
        (ActionClass::Write, None) => 'W',
    }
}

#[test]
fn the_table_of_commands() {
    let rows = table();
    let mut failures = Vec::new();
    for (class, command, reason) in &rows {
        let c = classify(command, &[]);
        if expected(&c) != *class || !c.reason.contains(reason) {
            failures.push(format!(
                "{command:?}: expected {class} with {reason:?}, got {} {:?}",
                expected(&c),
                c.reason
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {}:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    let count = |k: char| rows.iter().filter(|r| r.0 == k).count();
    assert!(rows.len() >= 200, "{} commands", rows.len());
    assert!(count('R') >= 60 && count('W') >= 100 && count('X') >= 20);
    for program in ["kubectl", "helm", "git", "curl", "triage", "cat", "grep"] {
        assert!(
            rows.iter().filter(|r| r.1.starts_with(program)).count() >= 5,
            "{program} is thin in the table"
        );
    }
}

/// A tiny deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// Words no read accepts: flags that are unknown or known to write, connect elsewhere
/// or run code, and shell syntax.
const POISON: &[&str] = &[
    "--server=http://203.0.113.9",
    "-s",
    "--kubeconfig=/tmp/kc",
    "--token=x",
    "--as=admin",
    "--raw",
    "--output-directory=/tmp",
    "-o/tmp/x",
    "--dry-run=none",
    "--exec",
    "--pre=./x",
    "--post-renderer=./x",
    "-c",
    "--upload-file=x",
    "--data=x",
    "--frobnicate",
    "-Z9",
    "--write",
    "--repo=/tmp",
    "--config=/tmp/x",
    "-L",
    "--output=/tmp/x",
    "--ext-diff",
    "--cache-dir=/tmp",
    "--log-file=/tmp/x",
    "--kube-apiserver=http://x",
    "-exec",
    "-delete",
    "--textconv",
];

const SYNTAX: &[&str] = &[
    "; rm -rf /",
    "| sh",
    "&& reboot",
    "> /etc/passwd",
    "$(id)",
    "`id`",
    "$HOME",
    "& ",
    "< /etc/shadow",
    "$'\\x41'",
    "(x)",
];

#[test]
fn anything_unknown_added_to_a_read_makes_it_a_write() {
    let reads: Vec<&str> = table()
        .into_iter()
        .filter(|r| r.0 == 'R')
        .map(|r| r.1)
        .collect();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut writes = 0;
    let mut cases = 0;
    while cases < 4000 {
        let base = *rng.pick(&reads);
        let mut words: Vec<String> = shell_words::split(base).unwrap();
        // Never between a flag and its value: the inserted word would be that value.
        let at = 1 + (rng.next() as usize) % words.len();
        // Nor after `--`, where every word is an operand (a path) by definition.
        if words[at - 1].starts_with('-') || words[..at].iter().any(|w| w == "--") {
            continue;
        }
        let (mutation, expect) = match rng.next() % 5 {
            0 | 1 => {
                let p = *rng.pick(POISON);
                // A flag the program happens to accept is not poison for it.
                words.insert(at, p.to_string());
                (shell_words::join(&words), 'W')
            }
            2 => (format!("{base} {}", rng.pick(SYNTAX)), 'X'),
            3 => (format!("EVIL_{}=1 {base}", rng.next() % 100), 'X'),
            _ => (format!("./{base}"), 'W'),
        };
        let c = classify(&mutation, &[]);
        cases += 1;
        if expect == 'W' && c.class == ActionClass::Write {
            writes += 1;
        }
        match expect {
            'X' => assert!(c.refused.is_some(), "{mutation:?} was not refused: {c:?}"),
            _ if c.class == ActionClass::Read => {
                // The only acceptable read: the inserted word is a flag that this program
                // knows to only read (`-s` is curl's silent, `-c` grep's count).
                assert!(
                    harmless_somewhere(&words[at]),
                    "{mutation:?} stayed a read: {}",
                    c.reason
                );
            }
            _ => {}
        }
    }
    assert!(writes > 1500, "{writes} mutations became writes");
}

/// Poison words that some program takes as a flag that only reads.
fn harmless_somewhere(word: &str) -> bool {
    matches!(
        word,
        "-s" | "-c" | "-L" | "-o/tmp/x" | "--output=/tmp/x" | "--raw" | "-exec"
    )
}

#[test]
fn a_read_family_names_program_verb_and_what_is_read() {
    let fam = |c: &str| classify(c, &[]).family;
    assert_eq!(fam("kubectl get pods -n shop"), "kubectl get pods");
    assert_eq!(
        fam("kubectl -n x get deploy/web -o yaml"),
        "kubectl get deploy"
    );
    assert_eq!(fam("kubectl logs web-0"), "kubectl logs");
    assert_eq!(fam("git log -5"), "git log");
    assert_eq!(fam("helm get values x"), "helm get values");
    assert_eq!(
        fam("curl -s http://localhost:9090/metrics"),
        "curl localhost:9090"
    );
    // A write's family is the exact command.
    assert_eq!(
        fam("kubectl  rollout undo 'deploy/web'"),
        "kubectl rollout undo deploy/web"
    );
}

#[test]
fn a_users_allowlist_adds_operands_never_flags() {
    let allow = [
        "jq".to_string(),
        "curl -sf http://metrics.example/".to_string(),
    ];
    assert_eq!(
        classify("jq .items data.json", &allow).class,
        ActionClass::Read
    );
    assert_eq!(
        classify("curl -sf http://metrics.example/ -o /tmp/x", &allow).class,
        ActionClass::Write
    );
    assert!(classify("jq . x | sh", &allow).refused.is_some());
    assert_eq!(classify("./jq . x", &allow).class, ActionClass::Write);
}

#[test]
fn kinds() {
    assert_eq!(
        classify("kubectl get pods | wc -l", &[]).kind,
        ActionKind::Kubectl
    );
    assert_eq!(classify("git apply x.diff", &[]).kind, ActionKind::Patch);
    assert_eq!(classify("patch -p1 < x.diff", &[]).kind, ActionKind::Patch);
    assert_eq!(classify("git log", &[]).kind, ActionKind::Shell);
}
