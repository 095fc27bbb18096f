//! Faults: each gives a clear message and the rest keeps working.

use std::path::Path;
use std::time::Duration;

use triage::kube::kubeconfig::load_kubeconfig_files;
use triage::kube::{
    ClientOptions, ClusterSource, ClusterStatus, Fault, FindingKind, KubeError, ReadErrorKind,
    Snapshot, scan,
};

use crate::kube::{fixture, options, replay, shop, shop_scope};

#[tokio::test]
async fn kube_fault_403_names_verb_and_resource_and_scan_carries_on() {
    let source = replay(
        shop(),
        vec![
            Fault::status(403, "/secrets"),
            Fault::status(403, "/api/v1/nodes"),
        ],
        options(),
    )
    .await;
    let report = scan(&source, &shop_scope()).await.unwrap();
    let forbidden: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.kind == ReadErrorKind::Forbidden)
        .collect();
    assert_eq!(forbidden.len(), 2, "{:?}", report.errors);
    let secrets = forbidden.iter().find(|e| e.resource == "secrets").unwrap();
    assert_eq!(secrets.verb, "list");
    assert_eq!(secrets.namespace.as_deref(), Some("shop"));
    let text = secrets.to_string();
    assert!(
        text.contains("missing permission `list` on `secrets` in namespace shop"),
        "{text}"
    );
    assert!(text.contains("cannot list resource \"secrets\""), "{text}");
    let nodes = forbidden.iter().find(|e| e.resource == "nodes").unwrap();
    assert!(nodes.to_string().contains("`list` on `nodes`"), "{nodes}");
    // Everything else was read and analyzed.
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::CrashLoopBackOff)
    );
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::NodeNotReady),
        "nodes were not readable"
    );
}

#[tokio::test]
async fn kube_fault_401_is_reported_once() {
    let source = replay(shop(), vec![Fault::status(401, "/api")], options()).await;
    let report = scan(&source, &shop_scope()).await.unwrap();
    let unauthorized: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.kind == ReadErrorKind::Unauthorized)
        .collect();
    assert_eq!(unauthorized.len(), 1, "{:?}", report.errors);
    assert!(
        unauthorized[0]
            .to_string()
            .contains("rejected the kubeconfig credentials"),
        "{}",
        unauthorized[0]
    );
    assert!(report.findings.is_empty());
    assert!(report.status.is_reachable());
}

#[tokio::test]
async fn kube_fault_404_for_a_missing_object_and_an_unserved_group() {
    let source = replay(
        shop(),
        vec![Fault::status(404, "/apis/autoscaling/")],
        options(),
    )
    .await;
    let err = source
        .kube_get("pods", Some("shop"), Some("nope-123"), None)
        .await
        .unwrap_err();
    match &err {
        KubeError::Read(e) => {
            assert_eq!(e.kind, ReadErrorKind::NotFound);
            assert_eq!(e.verb, "get");
            assert!(e.to_string().contains("pods \"nope-123\" not found"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let unknown = source
        .kube_get("widgets", None, None, None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("unknown resource type `widgets`"),
        "{unknown}"
    );

    let report = scan(&source, &shop_scope()).await.unwrap();
    let missing: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.kind == ReadErrorKind::NotFound)
        .collect();
    assert_eq!(missing.len(), 1, "{:?}", report.errors);
    assert_eq!(missing[0].resource, "horizontalpodautoscalers.autoscaling");
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::HpaAtMax)
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::OomKilled)
    );
}

#[tokio::test]
async fn kube_fault_410_on_watch_lists_again() {
    let source = replay(shop(), Vec::new(), options()).await;
    // The snapshot is far newer than resourceVersion 1: the server answers 410 Gone.
    let err = source
        .client()
        .watch(&triage::kube::resources::EVENTS, Some("shop"), "1", 2)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ReadErrorKind::Gone, "{err}");
    assert_eq!(err.verb, "watch");
    assert!(
        err.to_string().contains("too old resource version"),
        "{err}"
    );

    let (outcome, gone) = source.watch_events(Some("shop"), "1", 2).await.unwrap();
    assert_eq!(gone.map(|g| g.kind), Some(ReadErrorKind::Gone));
    assert_eq!(outcome.events.len(), 14);
    assert!(outcome.resource_version.is_some());

    // A fresh watch (no resourceVersion) gets the current objects, then ends at its timeout.
    let fresh = source
        .client()
        .watch(&triage::kube::resources::PODS, Some("shop"), "0", 1)
        .await
        .unwrap();
    assert_eq!(fresh.events.len(), 12);
    assert!(fresh.events.iter().all(|(t, _)| t == "ADDED"));

    // An injected 410 on the watch stream behaves the same.
    let source = replay(
        shop(),
        vec![Fault::status(410, "/events").on_watch()],
        options(),
    )
    .await;
    let (_, gone) = source.watch_events(Some("shop"), "0", 1).await.unwrap();
    assert_eq!(gone.map(|g| g.kind), Some(ReadErrorKind::Gone));
}

#[tokio::test]
async fn kube_fault_timeouts_are_bounded_and_named() {
    let opts = ClientOptions {
        request_timeout: Duration::from_secs(1),
        ..options()
    };
    let source = replay(
        shop(),
        vec![Fault::delay(
            Duration::from_secs(8),
            "/namespaces/shop/pods",
        )],
        opts,
    )
    .await;
    let started = std::time::Instant::now();
    let report = scan(&source, &shop_scope()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "the scan waited for the slow list: took {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let timeouts: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.kind == ReadErrorKind::Timeout)
        .collect();
    assert_eq!(timeouts.len(), 1, "{:?}", report.errors);
    assert_eq!(timeouts[0].resource, "pods");
    assert!(
        timeouts[0]
            .to_string()
            .contains("timed out: list pods in namespace shop"),
        "{}",
        timeouts[0]
    );
    // What did answer is analyzed.
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::NodeNotReady)
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::CronJobMissed)
    );
}

fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

#[tokio::test]
async fn kube_fault_unreachable_cluster_is_a_status_not_a_crash() {
    let url: http::Uri = format!("http://127.0.0.1:{}", dead_port()).parse().unwrap();
    let source = ClusterSource::from_config(kube::Config::new(url), options()).unwrap();
    match source.status().await {
        ClusterStatus::Unreachable { server, reason } => {
            assert!(server.starts_with("http://127.0.0.1:"));
            assert!(!reason.is_empty());
        }
        other => panic!("{other:?}"),
    }
    let report = scan(&source, &shop_scope()).await.unwrap();
    assert!(!report.status.is_reachable());
    assert!(report.findings.is_empty());
    let err = source.kube_get("pods", None, None, None).await.unwrap_err();
    assert!(
        matches!(&err, KubeError::Read(e) if e.kind == ReadErrorKind::Unreachable),
        "{err:?}"
    );
}

fn write_kubeconfig(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD_KUBECONFIG: &str = "apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: http://127.0.0.1:PORT
contexts:
- name: prod
  context:
    cluster: prod-cluster
    user: alice
    namespace: shop
- name: broken
  context:
    cluster: missing-cluster
    user: alice
users:
- name: alice
  user:
    token: abc
";

#[tokio::test]
#[allow(clippy::too_many_lines)] // one case per malformed field
async fn kube_fault_malformed_kubeconfig_names_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let good = write_kubeconfig(dir.path(), "good.yaml", GOOD_KUBECONFIG);
    let loaded = load_kubeconfig_files(std::slice::from_ref(&good), None)
        .await
        .unwrap();
    assert_eq!(loaded.context.as_deref(), Some("prod"));
    assert_eq!(loaded.config.default_namespace, "shop");

    let err = load_kubeconfig_files(std::slice::from_ref(&good), Some("nope"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("good.yaml")
            && err.contains("no context named `nope`")
            && err.contains("prod, broken"),
        "{err}"
    );
    let err = load_kubeconfig_files(std::slice::from_ref(&good), Some("broken"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("contexts[name=broken].context.cluster") && err.contains("missing-cluster"),
        "{err}"
    );

    let bad_type = write_kubeconfig(
        dir.path(),
        "bad-type.yaml",
        "apiVersion: v1\nkind: Config\ncurrent-context: prod\nclusters:\n- name: prod-cluster\n  cluster:\n    server: [http://x]\n",
    );
    let err = load_kubeconfig_files(std::slice::from_ref(&bad_type), None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("bad-type.yaml"), "{text}");
    match err {
        KubeError::Kubeconfig { field, .. } => {
            assert_eq!(field, "clusters[0].cluster.server", "{text}")
        }
        other => panic!("{other:?}"),
    }

    let no_server = write_kubeconfig(
        dir.path(),
        "no-server.yaml",
        &GOOD_KUBECONFIG.replace(
            "    server: http://127.0.0.1:PORT\n",
            "    insecure-skip-tls-verify: true\n",
        ),
    );
    let err = load_kubeconfig_files(std::slice::from_ref(&no_server), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-server.yaml")
            && err.contains("clusters[name=prod-cluster].cluster.server: is missing"),
        "{err}"
    );

    let bad_url = write_kubeconfig(
        dir.path(),
        "bad-url.yaml",
        &GOOD_KUBECONFIG.replace("http://127.0.0.1:PORT", "not a url"),
    );
    let err = load_kubeconfig_files(std::slice::from_ref(&bad_url), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad-url.yaml") && err.contains("cluster.server") && err.contains("not a URL"),
        "{err}"
    );

    let proxied = write_kubeconfig(
        dir.path(),
        "proxied.yaml",
        &GOOD_KUBECONFIG.replace(
            "    server: http://127.0.0.1:PORT\n",
            "    server: http://127.0.0.1:PORT\n    proxy-url: http://proxy.example.com:3128\n",
        ),
    );
    let err = load_kubeconfig_files(std::slice::from_ref(&proxied), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("proxied.yaml")
            && err.contains("clusters[name=prod-cluster].cluster.proxy-url"),
        "{err}"
    );

    let bad_ca = write_kubeconfig(
        dir.path(),
        "bad-ca.yaml",
        &GOOD_KUBECONFIG.replace(
            "    server: http://127.0.0.1:PORT\n",
            "    server: https://127.0.0.1:6443\n    certificate-authority: /nonexistent/ca.crt\n",
        ),
    );
    let err = load_kubeconfig_files(std::slice::from_ref(&bad_ca), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad-ca.yaml") && err.contains("certificate-authority"),
        "{err}"
    );
}

#[test]
fn kube_fault_cli_unreachable_and_malformed_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = write_kubeconfig(
        dir.path(),
        "config",
        &GOOD_KUBECONFIG.replace("PORT", &dead_port().to_string()),
    );
    let triage = |args: &[&str], kubeconfig: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_STATE_HOME", dir.path())
            .env_remove("TRIAGE_CONFIG")
            .output()
            .unwrap()
    };
    let out = triage(&["kube", "scan", "--no-links"], &kubeconfig);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("is unreachable") && stdout.contains("repository features keep working"),
        "{stdout}"
    );
    assert!(stderr.contains("unreachable"), "{stderr}");
    let out = triage(&["kube", "status"], &kubeconfig);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("unreachable: http://127.0.0.1:"));
    // An HTTPS_PROXY in the environment does not stop the client (it connects directly).
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["kube", "status"])
        .env("KUBECONFIG", &kubeconfig)
        .env("HTTPS_PROXY", "http://127.0.0.1:9")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("unreachable: http://127.0.0.1:"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let broken = write_kubeconfig(dir.path(), "broken", "apiVersion: v1\nclusters: 12\n");
    let out = triage(&["kube", "scan"], &broken);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("malformed kubeconfig")
            && stderr.contains("broken")
            && stderr.contains("clusters"),
        "{stderr}"
    );

    let snapshot = dir.path().join("bad.json");
    std::fs::write(&snapshot, "{\"version\": 1, \"recorded_at\": \"2025-06-01T12:00:00Z\", \"objects\": {\"v1/pods\": [{\"metadata\": {}}]}}").unwrap();
    let out = triage(&["kube", "serve", snapshot.to_str().unwrap()], &kubeconfig);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("malformed snapshot")
            && stderr.contains("bad.json")
            && stderr.contains("objects[\"v1/pods\"][0]: metadata.name is missing"),
        "{stderr}"
    );
}

#[test]
fn kube_fault_malformed_snapshots_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("not-json.json", "{\"version\": 1,", "not valid JSON"),
        (
            "v2.json",
            "{\"version\": 2, \"recorded_at\": \"2025-06-01T12:00:00Z\"}",
            "unsupported version 2",
        ),
        (
            "no-version.json",
            "{\"recorded_at\": \"2025-06-01T12:00:00Z\"}",
            "missing field `version`",
        ),
        (
            "no-time.json",
            "{\"version\": 1}",
            "missing field `recorded_at`",
        ),
        (
            "bad-key.json",
            "{\"version\": 1, \"recorded_at\": \"2025-06-01T12:00:00Z\", \"objects\": {\"v1/podz\": []}}",
            "objects[\"v1/podz\"]: unknown resource type",
        ),
        (
            "bad-event.json",
            "{\"version\": 1, \"recorded_at\": \"2025-06-01T12:00:00Z\", \"events\": [{\"metadata\": {\"name\": \"e\", \"namespace\": \"shop\"}}]}",
            "events[0]: involvedObject is missing",
        ),
        (
            "bad-log.json",
            "{\"version\": 1, \"recorded_at\": \"2025-06-01T12:00:00Z\", \"logs\": {\"shop/pod\": {}}}",
            "keys must be namespace/pod/container",
        ),
    ];
    for (name, text, want) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = Snapshot::load(&path).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
    let err = Snapshot::load(&dir.path().join("absent.json"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read snapshot") && err.contains("absent.json"),
        "{err}"
    );
    // The fixture itself is fine.
    assert!(Snapshot::load(&fixture("shop.json")).is_ok());
}
