//! kubectl habits of `triage kube`: cluster flags before or after the command,
//! `--kubeconfig`, `get` as a kubectl table or `-o json|yaml|wide|name`, `record
//! --output-file`, `logs --tail --since -f`, and kubectl-style durations.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::kube::fixture;

/// The binary with every user-level location inside `home` and no ambient cluster,
/// model or config.
pub fn triage(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_triage"));
    for (var, sub) in [
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
    ] {
        c.env(var, home.join(sub));
    }
    c.env("HOME", home)
        .env("TRIAGE_EMBED_PROVIDER", "none")
        .env_remove("KUBECONFIG")
        .env_remove("OPENAI_MODEL")
        .env_remove("OPENAI_BASE_URL")
        .env_remove("TRIAGE_CONFIG")
        .env_remove("TRIAGE_LLM_MODEL")
        .stdin(Stdio::null())
        .current_dir(home);
    c
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn run(home: &Path, args: &[&str]) -> (bool, String, String) {
    let out = triage(home).args(args).output().unwrap();
    let (o, e) = text(&out);
    (out.status.success(), o, e)
}

fn shop() -> String {
    fixture("shop.json").display().to_string()
}

#[test]
fn cluster_flags_work_before_and_after_the_command() {
    let home = tempfile::tempdir().unwrap();
    let shop = shop();
    let before = run(
        home.path(),
        &[
            "--replay", &shop, "-n", "shop", "kube", "get", "deploy", "-o", "name",
        ],
    );
    let after = run(
        home.path(),
        &[
            "kube", "get", "deploy", "-o", "name", "--replay", &shop, "-n", "shop",
        ],
    );
    assert!(before.0, "{}", before.2);
    assert_eq!(before.1, after.1);
    assert!(
        before.1.lines().any(|l| l == "deployment/checkout-api"),
        "{}",
        before.1
    );
    // The namespace given before the command is the one read.
    let other = run(
        home.path(),
        &[
            "--replay",
            &shop,
            "-n",
            "kube-system",
            "kube",
            "get",
            "deploy",
            "-o",
            "name",
        ],
    );
    assert!(!other.1.contains("checkout-api"), "{}", other.1);
}

#[test]
fn get_prints_a_kubectl_table_and_the_other_formats() {
    let home = tempfile::tempdir().unwrap();
    let shop = shop();
    let (ok, table, err) = run(
        home.path(),
        &["kube", "get", "pods", "-A", "--replay", &shop],
    );
    assert!(ok, "{err}");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    let crash = table
        .lines()
        .find(|l| l.contains("checkout-api-7c9d6f5b8-k2x9p"))
        .unwrap();
    assert!(
        crash.starts_with("shop ") && crash.contains("0/1") && crash.contains("CrashLoopBackOff"),
        "{crash}"
    );
    // Columns line up: every row starts its NAME where the header does.
    let name_at = table.lines().next().unwrap().find("NAME ").unwrap();
    for l in table.lines().skip(1) {
        let b = l.as_bytes();
        assert!(b[name_at - 1] == b' ' && b[name_at] != b' ', "{table}");
    }

    let (_, wide, _) = run(
        home.path(),
        &[
            "kube", "get", "pods", "-n", "shop", "-o", "wide", "--replay", &shop,
        ],
    );
    let wide_header = wide.lines().next().unwrap();
    assert!(
        wide_header.contains("IP") && wide_header.contains("NODE"),
        "{wide_header}"
    );

    let (_, json, _) = run(
        home.path(),
        &[
            "kube", "get", "pods", "-n", "shop", "-o", "json", "--replay", &shop,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["kind"], "List");
    assert_eq!(v["items"][0]["kind"], "Pod");

    let (_, yaml, _) = run(
        home.path(),
        &[
            "kube",
            "get",
            "deploy",
            "checkout-api",
            "-n",
            "shop",
            "-o",
            "yaml",
            "--replay",
            &shop,
        ],
    );
    assert!(
        yaml.contains("kind: Deployment") && yaml.contains("name: checkout-api"),
        "{yaml}"
    );

    let (ok, _, err) = run(
        home.path(),
        &["kube", "get", "pods", "-o", "xml", "--replay", &shop],
    );
    assert!(!ok && err.contains("json") && err.contains("yaml"), "{err}");
}

#[test]
fn get_matches_kubectl_against_the_same_snapshot() {
    let Some(kubectl) = crate::kube_kubectl::kubectl_path() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl must be installed in CI"
        );
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let served = crate::kube_kubectl::Served::start(home.path(), &fixture("shop.json"));
    let (ok, theirs, err) =
        crate::kube_kubectl::kubectl(&kubectl, home.path(), &served.1, &["get", "pods", "-A"]);
    assert!(ok, "{err}");
    let (ok, ours, err) = run(
        home.path(),
        &["kube", "get", "pods", "-A", "--replay", &shop()],
    );
    assert!(ok, "{err}");
    assert_eq!(ours, theirs);
}

#[test]
fn record_writes_its_file_with_output_file_and_o_is_a_format_flag() {
    let home = tempfile::tempdir().unwrap();
    let shop = shop();
    let out = home.path().join("snap.json");
    let (ok, _, err) = run(
        home.path(),
        &[
            "kube",
            "record",
            "--output-file",
            out.to_str().unwrap(),
            "--replay",
            &shop,
        ],
    );
    assert!(ok, "{err}");
    assert!(out.is_file());
    let (ok, _, err) = run(
        home.path(),
        &["kube", "record", "-o", "x.json", "--replay", &shop],
    );
    assert!(!ok && err.contains("--output-file"), "{err}");
}

#[test]
fn logs_take_tail_since_and_follow() {
    let home = tempfile::tempdir().unwrap();
    let shop = shop();
    let pod = "checkout-api-7c9d6f5b8-k2x9p";
    let (ok, all, err) = run(
        home.path(),
        &["kube", "logs", pod, "-n", "shop", "--replay", &shop],
    );
    assert!(ok, "{err}");
    assert!(all.lines().count() > 2, "{all}");
    let (_, two, _) = run(
        home.path(),
        &[
            "kube", "logs", pod, "-n", "shop", "--tail", "2", "--replay", &shop,
        ],
    );
    assert_eq!(two.lines().count(), 2, "{two}");
    assert!(all.ends_with(&two), "the tail is the end of the log");
    // Following a replay prints the log and ends with the stream.
    let (ok, followed, err) = run(
        home.path(),
        &["kube", "logs", pod, "-n", "shop", "-f", "--replay", &shop],
    );
    assert!(ok, "{err}");
    assert_eq!(followed.trim_end(), all.trim_end());
    let (ok, _, err) = run(
        home.path(),
        &["kube", "logs", pod, "--since", "1h30m", "--replay", &shop],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        home.path(),
        &["kube", "logs", pod, "--since", "90", "--replay", &shop],
    );
    assert!(
        !ok && err.contains("needs a unit") && err.contains("1h30m"),
        "{err}"
    );
}

#[test]
fn scan_takes_kubectl_durations() {
    let home = tempfile::tempdir().unwrap();
    let shop = shop();
    let (ok, _, err) = run(
        home.path(),
        &[
            "kube",
            "scan",
            "--no-links",
            "--recent",
            "1h30m",
            "--replay",
            &shop,
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        home.path(),
        &["kube", "scan", "--recent", "60", "--replay", &shop],
    );
    assert!(!ok && err.contains("invalid duration"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubeconfig_flag_names_the_file_to_use() {
    let home = tempfile::tempdir().unwrap();
    let snapshot = triage::kube::Snapshot::load(&fixture("shop.json")).unwrap();
    let server = triage::kube::ReplayServer::start(
        snapshot,
        triage::kube::ReplayOptions {
            port: 0,
            faults: Vec::new(),
            on_request: None,
        },
    )
    .await
    .unwrap();
    let kubeconfig: PathBuf = home.path().join("other-config");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: replay\nclusters:\n- name: r\n  cluster:\n    server: {}\ncontexts:\n- name: replay\n  context:\n    cluster: r\n    user: u\n    namespace: shop\nusers:\n- name: u\n  user: {{}}\n",
            server.url()
        ),
    )
    .unwrap();
    let h = home.path().to_path_buf();
    let k = kubeconfig.display().to_string();
    let (ok, out, err) = tokio::task::spawn_blocking(move || {
        run(
            &h,
            &["kube", "get", "deploy", "-o", "name", "--kubeconfig", &k],
        )
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert!(out.contains("deployment/checkout-api"), "{out}");
    let h = home.path().to_path_buf();
    let (ok, _, err) = tokio::task::spawn_blocking(move || {
        run(
            &h,
            &["--kubeconfig", "/nonexistent/kubeconfig", "kube", "status"],
        )
    })
    .await
    .unwrap();
    assert!(!ok && err.contains("/nonexistent/kubeconfig"), "{err}");
}
