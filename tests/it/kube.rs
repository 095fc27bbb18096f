//! The Kubernetes part against the replay server: the real client reads the `shop`
//! fixture through loopback HTTP; findings, graph, links, guard, record/replay.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::Method;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use triage::kube::graph::NodeDetail;
use triage::kube::{
    AnalyzeOptions, ApprovedAction, ClientOptions, ClusterSource, ClusterStatus, Fault,
    FindingKind, Layer, ReadError, ReadErrorKind, Relation, ReplayOptions, ReplayServer,
    ResourceRef, Scope, Severity, Snapshot, analyze_snapshot, link_workloads, scan,
};

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kube")
        .join(name)
}

pub fn shop() -> Snapshot {
    Snapshot::load(&fixture("shop.json")).expect("the shop fixture loads")
}

pub fn options() -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    }
}

pub async fn replay(
    snapshot: Snapshot,
    faults: Vec<Fault>,
    options: ClientOptions,
) -> ClusterSource {
    ClusterSource::replay(
        snapshot,
        None,
        options,
        ReplayOptions {
            faults,
            ..ReplayOptions::default()
        },
    )
    .await
    .expect("replay server starts")
}

pub fn shop_scope() -> Scope {
    Scope::Namespace("shop".into())
}

fn r(kind: &str, ns: Option<&str>, name: &str) -> ResourceRef {
    ResourceRef::new(kind, ns, name)
}

fn find<'a>(
    findings: &'a [triage::kube::Finding],
    kind: FindingKind,
    resource: &ResourceRef,
) -> &'a triage::kube::Finding {
    findings
        .iter()
        .find(|f| f.kind == kind && &f.resource == resource)
        .unwrap_or_else(|| {
            let all: Vec<String> = findings
                .iter()
                .map(|f| format!("{:?} {}", f.kind, f.resource))
                .collect();
            panic!(
                "no {kind:?} finding for {resource}; have:\n{}",
                all.join("\n")
            )
        })
}

fn evidence(f: &triage::kube::Finding) -> String {
    f.evidence.join("\n")
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one assertion block per incident in the snapshot
async fn kube_scan_of_replayed_shop_finds_each_incident() {
    let source = replay(shop(), Vec::new(), options()).await;
    let report = scan(&source, &shop_scope()).await.unwrap();
    assert!(report.status.is_reachable(), "{:?}", report.status);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let f = &report.findings;
    let ns = Some("shop");

    let crash = find(
        f,
        FindingKind::CrashLoopBackOff,
        &r("Deployment", ns, "checkout-api"),
    );
    assert_eq!(crash.severity, Severity::Critical);
    assert_eq!(crash.pods.len(), 2, "{:?}", crash.pods);
    assert!(crash.summary.contains("2 of 4 pods"), "{}", crash.summary);
    assert!(
        evidence(crash).contains("panic: config: missing required setting PAYMENTS_TIMEOUT_MS"),
        "{crash:#?}"
    );
    assert!(
        evidence(crash).contains("event Warning BackOff"),
        "{crash:#?}"
    );
    assert!(
        crash
            .command
            .starts_with("kubectl logs -n shop checkout-api-7c9d6f5b8-")
            && crash.command.ends_with("-c api --previous"),
        "{}",
        crash.command
    );

    let oom = find(
        f,
        FindingKind::OomKilled,
        &r("Deployment", ns, "orders-worker"),
    );
    assert_eq!(oom.severity, Severity::Error);
    assert!(
        oom.summary.contains("memory limit 256Mi"),
        "{}",
        oom.summary
    );
    assert_eq!(oom.pods, vec!["orders-worker-8457d9c6f-q8r2t"]);

    let pending = find(
        f,
        FindingKind::Pending,
        &r("Deployment", ns, "recommendations"),
    );
    assert_eq!(pending.severity, Severity::Error);
    assert!(
        pending.summary.contains("2 Insufficient memory"),
        "{}",
        pending.summary
    );
    assert!(
        evidence(pending).contains("event Warning FailedScheduling (x12"),
        "{pending:#?}"
    );
    assert!(evidence(pending).contains("memory 6Gi"), "{pending:#?}");

    let stuck = find(
        f,
        FindingKind::RolloutStuck,
        &r("Deployment", ns, "checkout-api"),
    );
    assert!(
        stuck
            .command
            .contains("kubectl rollout status deployment/checkout-api -n shop")
    );
    let rollout = find(
        f,
        FindingKind::RecentRollout,
        &r("Deployment", ns, "checkout-api"),
    );
    assert_eq!(rollout.severity, Severity::Warning);
    assert!(
        evidence(rollout).contains(
            "image: registry.example.com/shop/checkout-api:1.4.2 -> registry.example.com/shop/checkout-api:1.4.3"
        ),
        "{rollout:#?}"
    );
    assert!(rollout.summary.contains("12m ago"), "{}", rollout.summary);

    let no_ep = find(
        f,
        FindingKind::ServiceNoEndpoints,
        &r("Service", ns, "payments"),
    );
    assert!(
        evidence(no_ep).contains("selector app=payments matches no pods"),
        "{no_ep:#?}"
    );
    assert!(
        evidence(no_ep)
            .contains("mentioned by ConfigMap/shop/checkout-config (PAYMENTS_URL, inferred)"),
        "{no_ep:#?}"
    );
    assert!(
        evidence(no_ep).contains("routed by Ingress/shop/shop (shop.example.com/api/pay)"),
        "{no_ep:#?}"
    );

    let node = find(f, FindingKind::NodeNotReady, &r("Node", None, "node-c"));
    assert_eq!(node.severity, Severity::Critical);
    assert!(node.command == "kubectl describe node node-c");

    let pvc = find(
        f,
        FindingKind::PvcPending,
        &r("PersistentVolumeClaim", ns, "reports-data"),
    );
    assert!(
        evidence(pvc).contains("storageclass.storage.k8s.io \"fast-ssd\" not found"),
        "{pvc:#?}"
    );

    find(
        f,
        FindingKind::JobFailed,
        &r("Job", ns, "checkout-db-migrate-7"),
    );
    let cron_job = find(
        f,
        FindingKind::JobFailed,
        &r("Job", ns, "nightly-report-29141400"),
    );
    assert!(
        evidence(cron_job).contains("created by CronJob/shop/nightly-report"),
        "{cron_job:#?}"
    );
    let cron = find(
        f,
        FindingKind::CronJobMissed,
        &r("CronJob", ns, "nightly-report"),
    );
    assert!(
        cron.summary.contains("due 2025-06-01 02:00 UTC"),
        "{}",
        cron.summary
    );
    assert!(
        cron.summary.contains("last scheduled 3d10h ago"),
        "{}",
        cron.summary
    );

    let hpa = find(
        f,
        FindingKind::HpaAtMax,
        &r("HorizontalPodAutoscaler", ns, "frontend"),
    );
    assert!(
        evidence(hpa).contains("metric cpu: current 92%, target 70%"),
        "{hpa:#?}"
    );
    assert!(
        evidence(hpa).contains("ScalingLimited=True reason=TooManyReplicas"),
        "{hpa:#?}"
    );

    let spike = find(
        f,
        FindingKind::RestartSpike,
        &r("Deployment", ns, "frontend"),
    );
    assert!(evidence(spike).contains("upstream timed out"), "{spike:#?}");
    let probe = find(
        f,
        FindingKind::ProbeFailing,
        &r("Deployment", ns, "frontend"),
    );
    assert!(
        probe
            .summary
            .contains("liveness probe failing for container web"),
        "{}",
        probe.summary
    );

    find(
        f,
        FindingKind::UnavailableReplicas,
        &r("DaemonSet", ns, "log-shipper"),
    );
    let unavailable = find(
        f,
        FindingKind::UnavailableReplicas,
        &r("Deployment", ns, "recommendations"),
    );
    assert_eq!(unavailable.severity, Severity::Warning);

    // Healthy things stay quiet.
    assert!(
        !f.iter().any(|x| x.resource.name == "redis"),
        "redis is healthy"
    );
    assert!(
        !f.iter()
            .any(|x| x.resource == r("Service", ns, "checkout-api")),
        "checkout-api has ready endpoints"
    );

    // Most severe first.
    for pair in f.windows(2) {
        assert!(
            pair[0].severity >= pair[1].severity,
            "{:?} before {:?}",
            pair[0],
            pair[1]
        );
    }
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(f.iter().all(|x| x.observed_at == report.as_of));

    // Everything went through the API: paginated lists and log tails, never a write.
    let server = source.replay_server().unwrap();
    let requests = server.requests();
    assert!(server.mutating_requests().is_empty());
    assert!(
        requests
            .iter()
            .any(|q| q.path == "/api/v1/namespaces/shop/pods" && q.query.contains("limit=500"))
    );
    assert!(
        requests
            .iter()
            .any(|q| q.path.ends_with("/log") && q.query.contains("previous=true"))
    );
    assert!(requests.iter().any(|q| q.path == "/api/v1/namespaces/shop"));
    assert!(requests.iter().all(|q| q.method == "GET"));
}

#[test]
#[allow(clippy::too_many_lines)] // one assertion block per kind of edge
fn kube_graph_edges_carry_layers_and_observation_times() {
    let snap = shop();
    let analysis = analyze_snapshot(&snap, &AnalyzeOptions::default());
    let g = &analysis.graph;
    let ns = Some("shop");
    let edge = |from: ResourceRef, to: ResourceRef, rel: Relation| {
        g.edges
            .iter()
            .find(|e| e.from == from && e.to == to && e.relation == rel)
            .unwrap_or_else(|| panic!("no {rel:?} edge {from} -> {to}"))
    };
    let owns = edge(
        r("Deployment", ns, "checkout-api"),
        r("ReplicaSet", ns, "checkout-api-7c9d6f5b8"),
        Relation::Owns,
    );
    assert_eq!(owns.layer, Layer::Certain);
    assert_eq!(owns.observed_at, snap.recorded_at);
    edge(
        r("ReplicaSet", ns, "checkout-api-7c9d6f5b8"),
        r("Pod", ns, "checkout-api-7c9d6f5b8-k2x9p"),
        Relation::Owns,
    );
    assert_eq!(
        edge(
            r("Service", ns, "checkout-api"),
            r("Pod", ns, "checkout-api-5f6b8c9d4-abcde"),
            Relation::Selects
        )
        .layer,
        Layer::Certain
    );
    let mention = edge(
        r("ConfigMap", ns, "checkout-config"),
        r("Service", ns, "payments"),
        Relation::Mentions,
    );
    assert_eq!(mention.layer, Layer::Inferred);
    assert_eq!(mention.via.as_deref(), Some("PAYMENTS_URL"));
    let nginx = edge(
        r("ConfigMap", ns, "frontend-config"),
        r("Service", ns, "checkout-api"),
        Relation::Mentions,
    );
    assert_eq!(nginx.layer, Layer::Inferred);
    edge(
        r("ConfigMap", ns, "checkout-config"),
        r("Service", ns, "redis"),
        Relation::Mentions,
    );
    let secret = edge(
        r("Pod", ns, "checkout-api-5f6b8c9d4-abcde"),
        r("Secret", ns, "checkout-db"),
        Relation::Uses,
    );
    assert_eq!(secret.via.as_deref(), Some("envFrom in api"));
    edge(
        r("Pod", ns, "checkout-api-5f6b8c9d4-abcde"),
        r("ConfigMap", ns, "checkout-config"),
        Relation::Uses,
    );
    edge(
        r("Pod", ns, "checkout-api-5f6b8c9d4-abcde"),
        r("Node", None, "node-a"),
        Relation::RunsOn,
    );
    edge(
        r("Ingress", ns, "shop"),
        r("Service", ns, "payments"),
        Relation::Routes,
    );
    edge(
        r("HorizontalPodAutoscaler", ns, "frontend"),
        r("Deployment", ns, "frontend"),
        Relation::Scales,
    );
    edge(
        r("CronJob", ns, "nightly-report"),
        r("Job", ns, "nightly-report-29141400"),
        Relation::Owns,
    );
    edge(
        r("StatefulSet", ns, "redis"),
        r("Pod", ns, "redis-0"),
        Relation::Owns,
    );

    // ConfigMaps keep keys, and values only where they name services or hosts.
    let cm = g.node(&r("ConfigMap", ns, "checkout-config")).unwrap();
    let NodeDetail::ConfigMap { keys, references } = &cm.detail else {
        panic!("{cm:?}")
    };
    assert_eq!(keys.len(), 4);
    let referenced: Vec<&str> = references.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(referenced, vec!["PAYMENTS_URL", "REDIS_ADDR"]);

    // Secrets are names only.
    let text = serde_json::to_string(g).unwrap();
    assert!(text.contains("\"checkout-db\""));
    assert!(!text.contains("\"data\""), "graph JSON has no secret data");

    // Events hang off their objects.
    assert!(g.events.iter().any(
        |e| e.about == r("Pod", ns, "recommendations-6d8f7b9c5-zt5wq")
            && e.reason == "FailedScheduling"
    ));
    assert!(
        g.workloads()
            .any(|w| w.id == r("CronJob", ns, "nightly-report"))
    );
    assert!(
        !g.workloads()
            .any(|w| w.id == r("Job", ns, "nightly-report-29141400")),
        "owned jobs are not workloads"
    );
}

#[tokio::test]
async fn kube_guard_refuses_writes_before_they_reach_the_server() {
    let source = replay(shop(), Vec::new(), options()).await;
    let client = source.client();
    let pods: Api<Pod> = Api::namespaced(client.raw().clone(), "shop");
    let victim = "checkout-api-7c9d6f5b8-k2x9p";

    let err = pods
        .delete(victim, &DeleteParams::default())
        .await
        .unwrap_err();
    let read = ReadError::from_kube(&err, "delete", "pods", Some("shop"), Some(victim));
    assert_eq!(read.kind, ReadErrorKind::Refused, "{read}");
    assert!(
        read.to_string()
            .contains("DELETE /api/v1/namespaces/shop/pods/checkout-api-7c9d6f5b8-k2x9p"),
        "{read}"
    );

    let deployments: Api<Deployment> = Api::namespaced(client.raw().clone(), "shop");
    let patch = json!({"spec": {"replicas": 0}});
    let err = deployments
        .patch(
            "checkout-api",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap_err();
    assert_eq!(
        ReadError::from_kube(&err, "patch", "deployments", None, None).kind,
        ReadErrorKind::Refused
    );

    // Reads still pass.
    assert_eq!(
        pods.list(&Default::default()).await.unwrap().items.len(),
        12
    );

    let server = source.replay_server().unwrap();
    assert!(
        server.mutating_requests().is_empty(),
        "{:?}",
        server.mutating_requests()
    );
    assert!(server.requests().iter().all(|r| r.method == "GET"));
    assert_eq!(client.guard().refused().len(), 2);

    // An approved action lets exactly its request out (and the read-only server refuses it).
    let path = format!("/api/v1/namespaces/shop/pods/{victim}");
    {
        let _approval = client.guard().approve(
            ApprovedAction::new("delete a crash-looping pod").allow(Method::DELETE, &path),
        );
        let err = pods
            .delete(victim, &DeleteParams::default())
            .await
            .unwrap_err();
        let read = ReadError::from_kube(&err, "delete", "pods", Some("shop"), Some(victim));
        assert_eq!(read.code, Some(405), "{read}");
        let other = pods
            .delete("frontend-7b5d9c8f6-p9d2s", &DeleteParams::default())
            .await
            .unwrap_err();
        assert_eq!(
            ReadError::from_kube(&other, "delete", "pods", None, None).kind,
            ReadErrorKind::Refused
        );
    }
    let err = pods
        .delete(victim, &DeleteParams::default())
        .await
        .unwrap_err();
    assert_eq!(
        ReadError::from_kube(&err, "delete", "pods", None, None).kind,
        ReadErrorKind::Refused
    );
    let mutations = server.mutating_requests();
    assert_eq!(mutations.len(), 1, "{mutations:?}");
    assert_eq!(mutations[0].method, "DELETE");
    assert_eq!(mutations[0].status, 405);
}

/// One raw HTTP/1.1 request, to talk to the server without any client in between.
pub async fn raw_http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn kube_replay_server_answers_mutations_405_and_logs_them() {
    let server = ReplayServer::start(shop(), ReplayOptions::default())
        .await
        .unwrap();
    let addr = server.addr();
    for (method, path) in [
        ("POST", "/api/v1/namespaces/shop/pods"),
        (
            "PUT",
            "/apis/apps/v1/namespaces/shop/deployments/checkout-api",
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/shop/deployments/checkout-api/scale",
        ),
        ("DELETE", "/api/v1/namespaces/shop/pods/redis-0"),
    ] {
        let (status, body) = raw_http(addr, method, path, "{}").await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["kind"], "Status");
        assert_eq!(v["reason"], "MethodNotAllowed");
    }
    let (status, _) = raw_http(addr, "GET", "/api/v1/namespaces/shop/pods/redis-0", "").await;
    assert_eq!(status, 200);
    let mutations = server.mutating_requests();
    assert_eq!(mutations.len(), 4);
    assert!(mutations.iter().all(|m| m.status == 405 && m.mutating));
    assert_eq!(server.requests().len(), 5);
    // The object is still there.
    let (_, body) = raw_http(addr, "GET", "/api/v1/namespaces/shop/pods/redis-0", "").await;
    let pod: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["apiVersion"], "v1");
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one assertion block per API feature served
async fn kube_replay_serves_discovery_selectors_pagination_and_logs() {
    let mut opts = options();
    opts.page_size = 5;
    opts.log_tail_lines = 3;
    let source = replay(shop(), Vec::new(), opts).await;
    let client = source.client();
    let server = source.replay_server().unwrap();

    let version = client.version().await.unwrap();
    assert_eq!(version["gitVersion"], "v1.33.1-eks-7308294");
    let groups = client.raw().list_api_groups().await.unwrap();
    assert!(groups.groups.iter().any(|g| g.name == "apps"));
    let core = client.raw().list_core_api_resources("v1").await.unwrap();
    assert!(core.resources.iter().any(|r| r.name == "pods/log"));

    // 12 pods in pages of 5.
    let pods = source
        .kube_get("pods", Some("shop"), None, None)
        .await
        .unwrap();
    assert_eq!(pods.as_array().unwrap().len(), 12);
    let pages = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/namespaces/shop/pods")
        .count();
    assert_eq!(pages, 3);
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.query.contains("continue="))
    );

    let frontend = source
        .kube_get("po", Some("shop"), None, Some("app=frontend"))
        .await
        .unwrap();
    assert_eq!(frontend.as_array().unwrap().len(), 3);
    let q = triage::kube::client::ListQuery {
        field_selector: Some("status.phase=Pending".into()),
        ..Default::default()
    };
    let pending = client
        .list(&triage::kube::resources::PODS, Some("shop"), &q)
        .await
        .unwrap();
    assert_eq!(pending.items.len(), 1);
    assert_eq!(
        pending.items[0]["metadata"]["name"],
        "recommendations-6d8f7b9c5-zt5wq"
    );
    let in_set = source
        .kube_get(
            "pods",
            Some("shop"),
            None,
            Some("app in (redis, payments),!canary"),
        )
        .await
        .unwrap();
    assert_eq!(in_set.as_array().unwrap().len(), 1);

    let deploy = source
        .kube_get("deploy", Some("shop"), Some("checkout-api"), None)
        .await
        .unwrap();
    assert_eq!(deploy["kind"], "Deployment");
    assert_eq!(deploy["status"]["unavailableReplicas"], 2);
    let nodes = source.kube_get("nodes", None, None, None).await.unwrap();
    assert_eq!(nodes.as_array().unwrap().len(), 3);

    // Secrets come back as metadata only.
    let secrets = source
        .kube_get("secrets", Some("shop"), None, None)
        .await
        .unwrap();
    assert_eq!(secrets.as_array().unwrap().len(), 3);
    assert!(
        secrets
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("data").is_none() && s.get("type").is_none())
    );

    // Log tails are bounded by lines.
    let logs = source
        .kube_logs(
            Some("shop"),
            "checkout-api-7c9d6f5b8-k2x9p",
            Some("api"),
            true,
        )
        .await
        .unwrap();
    assert_eq!(logs.lines().count(), 3, "{logs}");
    assert!(logs.contains("main.go:31"), "{logs}");
    let err = source
        .kube_logs(Some("shop"), "redis-0", None, true)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("previous terminated container"), "{err}");

    let events = source
        .kube_events(
            None,
            Some(&r("Pod", Some("shop"), "recommendations-6d8f7b9c5-zt5wq")),
        )
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].reason, "FailedScheduling");
    assert!(server.mutating_requests().is_empty());
}

#[tokio::test]
async fn kube_record_then_replay_round_trips_without_secret_data() {
    // A source that holds secret data (as a live cluster would).
    let mut snap = shop();
    let secrets = snap.objects.get_mut("v1/secrets").unwrap();
    secrets[0]["data"] = json!({"password": "c3VwZXItc2VjcmV0LXZhbHVl"});
    secrets[0]["stringData"] = json!({"token": "plain-secret-token"});
    secrets[0]["metadata"]["annotations"] = json!({
        "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"c3VwZXItc2VjcmV0LXZhbHVl\"}}"
    });
    let source = replay(snap, Vec::new(), options()).await;
    let recorded = triage::kube::record(&source, &shop_scope()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out/shop-recorded.json");
    recorded.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains("c3VwZXItc2VjcmV0LXZhbHVl"),
        "secret data leaked into the snapshot"
    );
    assert!(
        !text.contains("plain-secret-token"),
        "secret data leaked into the snapshot"
    );
    assert!(text.contains("\"checkout-db\""), "secret names are kept");

    let loaded = Snapshot::load(&path).unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.namespaces, vec!["shop".to_string()]);
    assert_eq!(loaded.objects_of(&triage::kube::resources::PODS).len(), 12);
    assert_eq!(loaded.events.len(), 14);
    assert!(
        loaded
            .logs
            .contains_key("shop/checkout-api-7c9d6f5b8-k2x9p/api")
    );
    assert!(
        loaded.logs["shop/checkout-api-7c9d6f5b8-k2x9p/api"]
            .previous
            .is_some()
    );
    assert_eq!(loaded.recorded_at, shop().recorded_at);

    // Scanning the recording finds what scanning the original finds.
    let key = |f: &triage::kube::Finding| (f.kind, f.resource.clone(), f.severity);
    let original: Vec<_> = analyze_snapshot(&shop(), &AnalyzeOptions::default())
        .findings
        .iter()
        .map(key)
        .collect();
    let again = replay(loaded, Vec::new(), options()).await;
    let report = scan(&again, &shop_scope()).await.unwrap();
    let replayed: Vec<_> = report.findings.iter().map(key).collect();
    assert_eq!(original, replayed);
}

#[tokio::test]
async fn kube_replay_flag_goes_through_cluster_args() {
    use clap::Parser;
    let replay = fixture("shop.json");
    let cli = triage::commands::args::Cli::try_parse_from([
        "triage".as_ref(),
        "--replay".as_ref(),
        replay.as_os_str(),
    ])
    .unwrap();
    let args = cli.cluster.choice();
    let source = ClusterSource::connect(&args, &triage::config::KubeConfig::default())
        .await
        .unwrap();
    assert_eq!(source.default_scope(), &shop_scope());
    assert_eq!(source.context(), Some("prod-eu"));
    match source.status().await {
        ClusterStatus::Reachable { version, .. } => {
            assert_eq!(version.as_deref(), Some("v1.33.1-eks-7308294"))
        }
        other => panic!("{other:?}"),
    }
    let all = ClusterSource::connect(
        &triage::kube::ClusterChoice {
            all_namespaces: true,
            ..args
        },
        &triage::config::KubeConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(all.default_scope(), &Scope::AllNamespaces);
    let report = scan(&all, &Scope::AllNamespaces).await.unwrap();
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::CrashLoopBackOff)
    );
}

fn git(dir: &Path, args: &[&str]) -> bool {
    std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // a repository built and linked step by step
async fn kube_links_map_workloads_to_repo_files_and_commits() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    if !git(root, &["init", "-q"]) {
        eprintln!("git is not available; skipping the commit part of the link test");
    }
    write(
        root,
        "services/checkout-api/Dockerfile",
        "FROM golang:1.24 AS build\nCOPY . /src\n",
    );
    write(
        root,
        "services/checkout-api/cmd/checkout-api/main.go",
        "package main\n\nfunc main() {}\n",
    );
    write(
        root,
        ".github/workflows/checkout.yml",
        "jobs:\n  build:\n    steps:\n      - run: docker build -t registry.example.com/shop/checkout-api:${{ github.sha }} services/checkout-api\n",
    );
    write(
        root,
        "deploy/helm/checkout-api/Chart.yaml",
        "apiVersion: v2\nname: checkout-api\nversion: 1.4.3\n",
    );
    write(
        root,
        "deploy/k8s/orders-worker.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: orders-worker\n  namespace: shop\nspec:\n  replicas: 2\n",
    );
    write(
        root,
        "deploy/kustomize/prod/kustomization.yaml",
        "resources:\n- ../../base\nimages:\n- name: registry.example.com/shop/frontend\n  newTag: 3.2.0\n",
    );
    write(
        root,
        "web/src/api.ts",
        "export const API = 'http://checkout-api:8080/api';\n",
    );
    write(
        root,
        "README.md",
        "checkout-api and orders-worker live here\n",
    );
    let have_git =
        git(root, &["add", "-A"]) && git(root, &["commit", "-q", "-m", "Initial import"]);
    if have_git {
        write(
            root,
            "services/checkout-api/cmd/checkout-api/config.go",
            "package main\n// PAYMENTS_TIMEOUT_MS is required\n",
        );
        assert!(git(root, &["add", "-A"]));
        assert!(git(
            root,
            &[
                "commit",
                "-q",
                "-m",
                "checkout: require PAYMENTS_TIMEOUT_MS"
            ]
        ));
    }

    // The graph of a scan through the replay server, as `triage kube scan` links it.
    let source = replay(shop(), Vec::new(), options()).await;
    let report = scan(&source, &shop_scope()).await.unwrap();
    let links = link_workloads(root, &report.full_graph);
    let get = |name: &str| {
        links
            .iter()
            .find(|l| l.workload.name == name)
            .unwrap_or_else(|| panic!("no link for {name}: {links:#?}"))
    };
    let checkout = get("checkout-api");
    let path = |p: &str| {
        checkout
            .paths
            .iter()
            .find(|x| x.path == p)
            .unwrap_or_else(|| panic!("{p} not in {checkout:#?}"))
    };
    assert_eq!(path(".github/workflows/checkout.yml").layer, Layer::Certain);
    assert_eq!(
        path("services/checkout-api/Dockerfile").layer,
        Layer::Inferred
    );
    assert_eq!(
        path("deploy/helm/checkout-api/Chart.yaml").layer,
        Layer::Inferred
    );
    assert_eq!(path("web/src/api.ts").layer, Layer::Inferred);
    assert!(
        checkout
            .images
            .contains(&"registry.example.com/shop/checkout-api:1.4.3".to_string())
    );
    assert!(!checkout.paths.iter().any(|p| p.path == "README.md"));

    let worker = get("orders-worker");
    assert_eq!(worker.paths.len(), 1);
    assert_eq!(worker.paths[0].path, "deploy/k8s/orders-worker.yaml");
    assert_eq!(worker.paths[0].layer, Layer::Certain);
    assert!(
        get("frontend")
            .paths
            .iter()
            .any(|p| p.path == "deploy/kustomize/prod/kustomization.yaml")
    );

    if have_git {
        assert_eq!(
            checkout.recent_commits[0].subject,
            "checkout: require PAYMENTS_TIMEOUT_MS"
        );
        assert_eq!(checkout.recent_commits.len(), 2);
        assert_eq!(worker.recent_commits.len(), 1);
        assert_eq!(worker.recent_commits[0].subject, "Initial import");
    }
}

#[test]
fn kube_scan_json_shape_is_stable() {
    // The JSON of `triage kube scan --json` for the fixture, through the binary.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["kube", "scan", "--json", "--no-links", "--replay"])
        .arg(fixture("shop.json"))
        .env("XDG_CONFIG_HOME", tempfile::tempdir().unwrap().path())
        .env("XDG_STATE_HOME", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"]["state"], "reachable");
    assert_eq!(v["scope"]["namespace"], "shop");
    assert_eq!(v["as_of"], "2025-06-01T12:00:00Z");
    assert_eq!(v["counts"]["Pod"], 12);
    let first = &v["findings"][0];
    for key in [
        "severity",
        "kind",
        "resource",
        "summary",
        "evidence",
        "command",
        "observed_at",
    ] {
        assert!(first.get(key).is_some(), "finding lacks {key}: {first}");
    }
    assert_eq!(first["severity"], "critical");
    assert!(v["errors"].as_array().unwrap().is_empty());
    assert!(v.get("graph").is_none());

    let text = std::process::Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["kube", "scan", "--no-links", "--replay"])
        .arg(fixture("shop.json"))
        .env("XDG_CONFIG_HOME", tempfile::tempdir().unwrap().path())
        .env("XDG_STATE_HOME", tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("CRITICAL crash_loop_back_off  Deployment/shop/checkout-api"),
        "{text}"
    );
    assert!(text.contains("$ kubectl describe node node-c"), "{text}");
}

/// The pods on one node in every namespace: one list request with a `spec.nodeName`
/// field selector, through the guard, and only that node's pods come back.
#[tokio::test]
async fn pods_on_a_node_are_listed_across_namespaces_by_field_selector() {
    let source = replay(shop(), Vec::new(), options()).await;
    let all = source
        .kube_get("pods", Some("shop"), None, None)
        .await
        .unwrap();
    let node = all.as_array().unwrap()[0]["spec"]["nodeName"]
        .as_str()
        .unwrap()
        .to_string();
    let want = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["spec"]["nodeName"] == node.as_str())
        .count();
    let on_node = source.pods_on_node(&node).await.unwrap();
    let on_node = on_node.as_array().unwrap();
    assert_eq!(on_node.len(), want);
    assert!(on_node.len() < all.as_array().unwrap().len());
    assert!(
        on_node
            .iter()
            .all(|p| p["spec"]["nodeName"] == node.as_str())
    );
    let server = source.replay_server().unwrap();
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v1/pods" && r.query.contains("fieldSelector=spec.nodeName"))
    );
}
