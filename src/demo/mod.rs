//! `triage demo`: a bundled shop repository with a little history and a recorded incident
//! snapshot (checkout-api 1.4.3 crash-loops on a missing setting). Everything runs
//! offline: the replay server stands in for the cluster, the offline planner for a model.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The recorded `shop` namespace the demo replays.
pub const SNAPSHOT: &str = include_str!("../../tests/fixtures/kube/shop.json");

/// What the demo suggests typing first.
pub const FIRST_QUESTION: &str = "checkout-api 5xx since 11:50";

const CONFIG_GO: &str = include_str!("repo/services/checkout-api/cmd/checkout-api/config.go");
const CHANGELOG: &str = include_str!("repo/CHANGELOG.md");
const CHECKOUT_YAML: &str = include_str!("repo/deploy/k8s/checkout-api.yaml");

const FILES: &[(&str, &str)] = &[
    ("README.md", include_str!("repo/README.md")),
    (
        "services/checkout-api/cmd/checkout-api/main.go",
        include_str!("repo/services/checkout-api/cmd/checkout-api/main.go"),
    ),
    (
        "services/checkout-api/internal/payments/client.go",
        include_str!("repo/services/checkout-api/internal/payments/client.go"),
    ),
    (
        "services/checkout-api/Dockerfile",
        include_str!("repo/services/checkout-api/Dockerfile"),
    ),
    (
        "services/orders-worker/worker.py",
        include_str!("repo/services/orders-worker/worker.py"),
    ),
    (
        "deploy/k8s/orders-worker.yaml",
        include_str!("repo/deploy/k8s/orders-worker.yaml"),
    ),
    (
        "deploy/k8s/payments.yaml",
        include_str!("repo/deploy/k8s/payments.yaml"),
    ),
    (
        "docs/runbooks/checkout-api.md",
        include_str!("repo/docs/runbooks/checkout-api.md"),
    ),
];

/// The 1.4.2 config: a hard-coded payments timeout.
fn config_go_142() -> String {
    let start = CONFIG_GO.find("\traw, err := requiredEnv").unwrap_or(0);
    let end = CONFIG_GO
        .find("\treturn cfg, nil")
        .unwrap_or(CONFIG_GO.len());
    if start == 0 {
        return CONFIG_GO.to_string();
    }
    format!(
        "{}\tcfg.PaymentsTimeout = 3000 * time.Millisecond\n{}",
        &CONFIG_GO[..start],
        &CONFIG_GO[end..]
    )
    .replace("\t\"strconv\"\n", "")
}

fn changelog_before_143() -> String {
    match CHANGELOG.find("## checkout-api 1.4.2") {
        Some(i) => format!("# Changelog\n\n{}", &CHANGELOG[i..]),
        None => CHANGELOG.to_string(),
    }
}

/// Where the demo lives: the user's cache dir, one folder per triage version.
pub fn default_dir() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("triage")
        .join(format!("demo-{}", env!("CARGO_PKG_VERSION")))
}

/// The demo repository and snapshot, created on first use (or again with `fresh`).
pub struct Demo {
    pub repo: PathBuf,
    pub snapshot: PathBuf,
}

pub fn prepare(dir: &Path, fresh: bool) -> Result<Demo> {
    let repo = dir.join("shop");
    let snapshot = dir.join("shop-incident.json");
    if fresh && dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    if !repo.join(".git").is_dir() {
        if repo.exists() {
            std::fs::remove_dir_all(&repo)
                .with_context(|| format!("cannot clear {}", repo.display()))?;
        }
        build_repo(&repo)?;
    }
    std::fs::write(&snapshot, SNAPSHOT)
        .with_context(|| format!("cannot write {}", snapshot.display()))?;
    Ok(Demo { repo, snapshot })
}

fn write(root: &Path, rel: &str, text: &str) -> Result<()> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
}

fn git(root: &Path, args: &[&str], date: &str) -> Result<()> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .env("GIT_AUTHOR_NAME", "Dana Ops")
        .env("GIT_AUTHOR_EMAIL", "dana@shop.example")
        .env("GIT_COMMITTER_NAME", "Dana Ops")
        .env("GIT_COMMITTER_EMAIL", "dana@shop.example")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .context("cannot run git (the demo needs it to build its repository)")?;
    if !out.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Three commits: the services, the orders-worker batch change, and checkout-api 1.4.3,
/// which made `PAYMENTS_TIMEOUT_MS` required 40 minutes before the snapshot.
fn build_repo(root: &Path) -> Result<()> {
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    for (rel, text) in FILES {
        write(root, rel, text)?;
    }
    let worker = root.join("services/orders-worker/worker.py");
    let worker_text = std::fs::read_to_string(&worker)?;
    write(
        root,
        "services/orders-worker/worker.py",
        &worker_text.replace("\"12000\"", "\"2000\""),
    )?;
    write(
        root,
        "services/checkout-api/cmd/checkout-api/config.go",
        &config_go_142(),
    )?;
    write(root, "CHANGELOG.md", &changelog_before_143())?;
    write(
        root,
        "deploy/k8s/checkout-api.yaml",
        &CHECKOUT_YAML.replace(":1.4.3", ":1.4.2"),
    )?;
    let d1 = "2025-05-02T09:00:00Z";
    git(root, &["init", "-q", "-b", "main"], d1)?;
    git(root, &["add", "-A"], d1)?;
    git(
        root,
        &[
            "commit",
            "-q",
            "-m",
            "shop services: checkout-api, orders-worker, payments manifests",
        ],
        d1,
    )?;
    let d2 = "2025-05-28T15:10:00Z";
    write(root, "services/orders-worker/worker.py", &worker_text)?;
    git(root, &["add", "-A"], d2)?;
    git(
        root,
        &[
            "commit",
            "-q",
            "-m",
            "orders-worker 2.1.0: build invoices in batches of 12000 (#41)",
        ],
        d2,
    )?;
    let d3 = "2025-06-01T11:20:00Z";
    write(
        root,
        "services/checkout-api/cmd/checkout-api/config.go",
        CONFIG_GO,
    )?;
    write(root, "CHANGELOG.md", CHANGELOG)?;
    write(root, "deploy/k8s/checkout-api.yaml", CHECKOUT_YAML)?;
    git(root, &["add", "-A"], d3)?;
    git(
        root,
        &[
            "commit",
            "-q",
            "-m",
            "checkout-api 1.4.3: configurable payments timeout (#57)\n\nPAYMENTS_TIMEOUT_MS replaces the hard-coded 3 s and must be set.",
        ],
        d3,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_crash_in_the_snapshot_points_at_the_bundled_code() {
        // The replayed log says config.go:57 panics in mustLoadConfig; the bundled file agrees.
        assert!(SNAPSHOT.contains("config.go:57"));
        let line57 = CONFIG_GO.lines().nth(56).unwrap();
        assert!(
            line57.contains("panic(\"config: missing required setting"),
            "{line57}"
        );
        let old = config_go_142();
        assert!(!old.contains("PAYMENTS_TIMEOUT_MS") && old.contains("3000 * time.Millisecond"));
    }

    #[test]
    fn the_demo_repository_has_the_incident_commit() {
        let dir = tempfile::tempdir().unwrap();
        let demo = prepare(dir.path(), false).unwrap();
        let log = Command::new("git")
            .args(["log", "--format=%s", "--", "services/checkout-api"])
            .current_dir(&demo.repo)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&log.stdout);
        assert!(log.starts_with("checkout-api 1.4.3"), "{log}");
        assert!(demo.snapshot.is_file());
        // Preparing again keeps the repository.
        prepare(dir.path(), false).unwrap();
    }
}
