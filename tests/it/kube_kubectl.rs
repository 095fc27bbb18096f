//! End to end: kubectl (Debian's `kubernetes-client`) against `triage kube serve`.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::kube::fixture;

/// Kills the server when the test ends, however it ends.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

fn kubectl(bin: &Path, home: &Path, url: &str, args: &[&str]) -> (bool, String, String) {
    let empty = home.join("kubeconfig");
    let out = Command::new(bin)
        .arg("--server")
        .arg(url)
        .arg("--cache-dir")
        .arg(home.join("cache"))
        .arg("--request-timeout=10s")
        .args(args)
        .env("KUBECONFIG", &empty)
        .env("HOME", home)
        .output()
        .expect("kubectl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
#[allow(clippy::too_many_lines)] // one kubectl command per assertion block
fn kube_kubectl_reads_a_served_snapshot() {
    let Some(bin) = kubectl_path() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl must be installed in CI (kubernetes-client)"
        );
        eprintln!("kubectl is not on PATH; skipping the end-to-end test");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("kubeconfig"), "").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["kube", "serve", "--port", "0"])
        .arg(fixture("shop.json"))
        .env("XDG_CONFIG_HOME", home.path())
        .env("XDG_STATE_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("triage kube serve starts");
    let mut served = Served(child);
    let mut stdout = BufReader::new(served.0.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_string();
    let run = |args: &[&str]| kubectl(&bin, home.path(), &url, args);

    let (ok, out, err) = run(&["get", "pods", "-A"]);
    assert!(ok, "{err}");
    let header = out.lines().next().unwrap_or_default();
    for col in ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"] {
        assert!(header.contains(col), "{out}");
    }
    let crash = out
        .lines()
        .find(|l| l.contains("checkout-api-7c9d6f5b8-k2x9p"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        crash.starts_with("shop") && crash.contains("0/1") && crash.contains("CrashLoopBackOff"),
        "{crash}"
    );
    assert!(crash.contains("7 (90s ago)"), "{crash}");
    assert_eq!(out.lines().count(), 13, "{out}");
    let pending = out
        .lines()
        .find(|l| l.contains("recommendations-6d8f7b9c5-zt5wq"))
        .unwrap();
    assert!(pending.contains("Pending"), "{pending}");

    let (ok, out, err) = run(&["get", "deployments", "-n", "shop"]);
    assert!(ok, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("checkout-api "))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("2/3"), "{line}");

    let (ok, out, err) = run(&[
        "get",
        "pods",
        "-n",
        "shop",
        "-l",
        "app=frontend",
        "-o",
        "name",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().all(|l| l.starts_with("pod/frontend-")), "{out}");

    let (ok, out, err) = run(&[
        "get",
        "pod",
        "redis-0",
        "-n",
        "shop",
        "-o",
        "jsonpath={.status.podIP}",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out, "10.42.2.5");

    let (ok, out, err) = run(&[
        "get",
        "events",
        "-n",
        "shop",
        "--field-selector",
        "reason=FailedScheduling",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("pod/recommendations-6d8f7b9c5-zt5wq"), "{out}");

    let (ok, out, err) = run(&["get", "nodes"]);
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("node-c") && l.contains("NotReady")),
        "{out}"
    );

    let (ok, out, err) = run(&[
        "logs",
        "-n",
        "shop",
        "checkout-api-7c9d6f5b8-k2x9p",
        "--previous",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("panic: config: missing required setting PAYMENTS_TIMEOUT_MS"),
        "{out}"
    );
    let (ok, out, err) = run(&[
        "logs",
        "-n",
        "shop",
        "orders-worker-8457d9c6f-q8r2t",
        "--tail",
        "1",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");

    let (ok, out, err) = run(&["version", "-o", "json"]);
    assert!(ok, "{err}");
    assert!(out.contains("v1.33.1-eks-7308294"), "{out}");

    // Writes are refused by the server.
    let (ok, _, err) = run(&["delete", "pod", "-n", "shop", "redis-0", "--wait=false"]);
    assert!(!ok);
    assert!(
        err.contains("MethodNotAllowed") || err.contains("read-only"),
        "{err}"
    );
    let (ok, _, err) = run(&["scale", "deployment/payments", "-n", "shop", "--replicas=2"]);
    assert!(!ok, "{err}");
    // The pod is still served.
    let (ok, _, err) = run(&["get", "pod", "redis-0", "-n", "shop"]);
    assert!(ok, "{err}");

    // The server logged every request, and the refused ones as such.
    let _ = served.0.kill();
    let _ = served.0.wait();
    let mut log = String::new();
    served
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(log.contains("GET /api/v1/pods"), "{log}");
    assert!(
        log.contains("REFUSED DELETE /api/v1/namespaces/shop/pods/redis-0"),
        "{log}"
    );
    assert!(
        log.lines()
            .filter(|l| l.contains("REFUSED"))
            .all(|l| l.contains("-> 405")),
        "{log}"
    );
    assert!(
        log.lines().filter(|l| l.contains("REFUSED")).count() >= 2,
        "{log}"
    );
}
