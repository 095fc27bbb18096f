//! Scan of a generated 2,000-pod snapshot (20 namespaces × 10 deployments × 10 pods,
//! 50 nodes, services, endpoint slices, config maps, events; about 5% of pods in
//! trouble). Prints the median of several runs for:
//!
//! - `analyze`: parse the snapshot objects, build the graph, run every analyzer (pure);
//! - `scan --replay`: the whole command path — the replay server on loopback, the real
//!   client listing every type page by page and fetching log tails, then `analyze`;
//! - `load`: reading and checking the snapshot file.
//!
//! Run: `cargo bench --bench kube_scan` (add `--profile dev` to reuse the debug build).

// A measurement harness: a failed setup step may panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use triage::kube::state::ClusterState;
use triage::kube::{
    AnalyzeOptions, ClientOptions, ClusterSource, ReplayOptions, Scope, Snapshot, analyze_snapshot,
    findings, graph, scan,
};

const NAMESPACES: usize = 20;
const DEPLOYMENTS: usize = 10;
const PODS_PER_DEPLOYMENT: usize = 10;
const NODES: usize = 50;

fn ts(minutes_ago: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z").unwrap();
    (base - chrono::Duration::minutes(minutes_ago))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn uid(parts: &[&str]) -> String {
    let h = blake3::hash(parts.join("/").as_bytes()).to_hex();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// A snapshot shaped like a recording of a mid-size cluster.
#[allow(clippy::too_many_lines)] // every kind of object the scan reads, generated in one place
fn generate() -> Snapshot {
    let mut snap = Snapshot::new(
        chrono::DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .unwrap()
            .into(),
    );
    snap.all_namespaces = true;
    let mut rv = 1_000_000u64;
    let mut next_rv = || {
        rv += 3;
        rv.to_string()
    };
    let mut push = |key: &str, v: Value| snap.objects.entry(key.to_string()).or_default().push(v);
    for n in 0..NODES {
        let name = format!("node-{n:03}");
        let ready = n != 7;
        push(
            "v1/nodes",
            json!({
                "metadata": {"name": name, "uid": uid(&[&name]), "resourceVersion": next_rv(), "creationTimestamp": ts(60 * 24 * 90),
                             "labels": {"kubernetes.io/hostname": name, "node-role.kubernetes.io/worker": ""}},
                "spec": {"podCIDR": format!("10.{}.{}.0/24", n / 200, n % 200)},
                "status": {
                    "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                    "allocatable": {"cpu": "7800m", "memory": "31Gi", "pods": "110"},
                    "conditions": [
                        {"type": "MemoryPressure", "status": if n == 11 { "True" } else { "False" }, "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": ts(1), "lastTransitionTime": ts(9000)},
                        {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": ts(1), "lastTransitionTime": ts(9000)},
                        {"type": "Ready", "status": if ready { "True" } else { "Unknown" }, "reason": if ready { "KubeletReady" } else { "NodeStatusUnknown" }, "message": "kubelet is posting ready status", "lastHeartbeatTime": ts(if ready { 1 } else { 15 }), "lastTransitionTime": ts(9000)}
                    ],
                    "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b", "kernelVersion": "6.1.0", "osImage": "Linux", "containerRuntimeVersion": "containerd://1.7.27",
                                 "kubeletVersion": "v1.33.1", "kubeProxyVersion": "", "operatingSystem": "linux", "architecture": "amd64"}
                }
            }),
        );
    }
    let mut events = Vec::new();
    for ns_i in 0..NAMESPACES {
        let ns = format!("team-{ns_i:02}");
        push(
            "v1/namespaces",
            json!({"metadata": {"name": ns, "uid": uid(&[&ns]), "resourceVersion": next_rv(), "creationTimestamp": ts(500_000)}, "status": {"phase": "Active"}}),
        );
        for d in 0..DEPLOYMENTS {
            let app = format!("svc-{d:02}");
            let image = format!("registry.example.com/{ns}/{app}:1.{d}.0");
            let labels = json!({"app": app, "app.kubernetes.io/name": app});
            let container = json!({
                "name": "app", "image": image, "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
                "env": [{"name": "UPSTREAM", "value": format!("http://svc-{:02}.{ns}.svc.cluster.local:8080", (d + 1) % DEPLOYMENTS)},
                        {"name": "CONFIG", "valueFrom": {"configMapKeyRef": {"name": format!("{app}-config"), "key": "mode"}}}],
                "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
                "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}
            });
            let template = json!({"metadata": {"labels": labels}, "spec": {"containers": [container.clone()]}});
            let crashing = d == 3 && ns_i % 2 == 0;
            let ready_pods = if crashing {
                PODS_PER_DEPLOYMENT - 2
            } else {
                PODS_PER_DEPLOYMENT
            };
            push(
                "apps/v1/deployments",
                json!({
                    "metadata": {"name": app, "namespace": ns, "uid": uid(&[&ns, "deploy", &app]), "resourceVersion": next_rv(), "generation": 4,
                                 "creationTimestamp": ts(100_000), "labels": labels, "annotations": {"deployment.kubernetes.io/revision": "4"}},
                    "spec": {"replicas": PODS_PER_DEPLOYMENT, "selector": {"matchLabels": {"app": app}}, "template": template, "progressDeadlineSeconds": 600},
                    "status": {"observedGeneration": 4, "replicas": PODS_PER_DEPLOYMENT, "updatedReplicas": PODS_PER_DEPLOYMENT, "readyReplicas": ready_pods,
                               "availableReplicas": ready_pods, "unavailableReplicas": PODS_PER_DEPLOYMENT - ready_pods,
                               "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "message": "Deployment has minimum availability."},
                                              {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "message": "ok"}]}
                }),
            );
            for (rev, hash, age) in [
                (3, "aaaa1111", 20_000),
                (4, "bbbb2222", if crashing { 20 } else { 10_000 }),
            ] {
                let rs = format!("{app}-{hash}");
                let mut c = container.clone();
                c["image"] = json!(format!("registry.example.com/{ns}/{app}:1.{d}.{}", rev - 4));
                push(
                    "apps/v1/replicasets",
                    json!({
                        "metadata": {"name": rs, "namespace": ns, "uid": uid(&[&ns, "rs", &rs]), "resourceVersion": next_rv(), "creationTimestamp": ts(age),
                                     "labels": {"app": app, "pod-template-hash": hash}, "annotations": {"deployment.kubernetes.io/revision": rev.to_string()},
                                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": uid(&[&ns, "deploy", &app]), "controller": true}]},
                        "spec": {"replicas": if rev == 4 { PODS_PER_DEPLOYMENT } else { 0 }, "selector": {"matchLabels": {"app": app, "pod-template-hash": hash}},
                                 "template": {"metadata": {"labels": {"app": app, "pod-template-hash": hash}}, "spec": {"containers": [c]}}},
                        "status": {"replicas": if rev == 4 { PODS_PER_DEPLOYMENT } else { 0 }, "readyReplicas": if rev == 4 { ready_pods } else { 0 }}
                    }),
                );
            }
            let rs = format!("{app}-bbbb2222");
            let mut endpoints = Vec::new();
            for p in 0..PODS_PER_DEPLOYMENT {
                let pod = format!("{rs}-{p:05}");
                let node = format!("node-{:03}", (ns_i * 97 + d * 13 + p) % NODES);
                let ip = format!("10.{}.{}.{}", ns_i, d, p + 2);
                let broken = crashing && p < 2;
                let oom = d == 5 && p == 0 && ns_i % 4 == 0;
                let pending = d == 7 && p == 9 && ns_i % 5 == 0;
                let state = if broken {
                    json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}})
                } else {
                    json!({"running": {"startedAt": ts(600)}})
                };
                let last = if broken {
                    json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": ts(3), "finishedAt": ts(2)}})
                } else if oom {
                    json!({"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": ts(30), "finishedAt": ts(10)}})
                } else {
                    json!({})
                };
                let status = if pending {
                    json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                           "message": "0/50 nodes are available: 50 Insufficient cpu."}]})
                } else {
                    json!({
                        "phase": "Running", "podIP": ip, "hostIP": "10.0.0.1", "startTime": ts(10_000),
                        "conditions": [{"type": "Ready", "status": if broken { "False" } else { "True" }}, {"type": "PodScheduled", "status": "True"}],
                        "containerStatuses": [{"name": "app", "image": image, "imageID": "sha256:0", "ready": !broken,
                                               "restartCount": if broken { 12 } else if oom { 2 } else { 0 }, "state": state, "lastState": last}]
                    })
                };
                let mut spec = json!({"containers": [container.clone()]});
                if !pending {
                    spec["nodeName"] = json!(node);
                }
                push(
                    "v1/pods",
                    json!({
                        "metadata": {"name": pod, "namespace": ns, "uid": uid(&[&ns, "pod", &pod]), "resourceVersion": next_rv(), "creationTimestamp": ts(10_000),
                                     "labels": {"app": app, "pod-template-hash": "bbbb2222"},
                                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "uid": uid(&[&ns, "rs", &rs]), "controller": true}]},
                        "spec": spec, "status": status
                    }),
                );
                if !pending {
                    endpoints.push(json!({"addresses": [ip], "conditions": {"ready": !broken}, "nodeName": node,
                                          "targetRef": {"kind": "Pod", "name": pod, "namespace": ns}}));
                }
                if broken || pending || p % 4 == 0 {
                    let reason = if broken {
                        "BackOff"
                    } else if pending {
                        "FailedScheduling"
                    } else {
                        "Pulled"
                    };
                    events.push(json!({
                        "metadata": {"name": format!("{pod}.{reason}"), "namespace": ns, "uid": uid(&[&ns, "ev", &pod]), "resourceVersion": next_rv(), "creationTimestamp": ts(30)},
                        "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod, "apiVersion": "v1"},
                        "reason": reason, "message": format!("{reason} for {pod}"), "type": if reason == "Pulled" { "Normal" } else { "Warning" },
                        "count": 3, "firstTimestamp": ts(30), "lastTimestamp": ts(1), "source": {"component": "kubelet"}
                    }));
                }
            }
            // Service svc-09 selects nothing: no endpoints.
            let selector = if d == 9 {
                json!({"app": "gone"})
            } else {
                json!({"app": app})
            };
            push(
                "v1/services",
                json!({
                    "metadata": {"name": app, "namespace": ns, "uid": uid(&[&ns, "svc", &app]), "resourceVersion": next_rv(), "creationTimestamp": ts(100_000)},
                    "spec": {"type": "ClusterIP", "selector": selector, "ports": [{"port": 8080, "protocol": "TCP"}], "clusterIP": "172.20.0.1"}
                }),
            );
            push(
                "discovery.k8s.io/v1/endpointslices",
                json!({
                    "metadata": {"name": format!("{app}-x1"), "namespace": ns, "uid": uid(&[&ns, "es", &app]), "resourceVersion": next_rv(),
                                 "labels": {"kubernetes.io/service-name": app}},
                    "addressType": "IPv4", "endpoints": if d == 9 { json!([]) } else { json!(endpoints) }, "ports": [{"port": 8080, "protocol": "TCP"}]
                }),
            );
            push(
                "v1/configmaps",
                json!({
                    "metadata": {"name": format!("{app}-config"), "namespace": ns, "uid": uid(&[&ns, "cm", &app]), "resourceVersion": next_rv()},
                    "data": {"mode": "prod", "DOWNSTREAM_URL": format!("http://svc-{:02}:8080", (d + 2) % DEPLOYMENTS), "app.properties": "timeout=5s\nretries=3\n"}
                }),
            );
            push(
                "v1/secrets",
                json!({"metadata": {"name": format!("{app}-creds"), "namespace": ns, "uid": uid(&[&ns, "sec", &app]), "resourceVersion": next_rv()}, "type": "Opaque"}),
            );
        }
        push(
            "autoscaling/v2/horizontalpodautoscalers",
            json!({
                "metadata": {"name": "svc-00", "namespace": ns, "uid": uid(&[&ns, "hpa"]), "resourceVersion": next_rv()},
                "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "svc-00", "apiVersion": "apps/v1"}, "minReplicas": 2, "maxReplicas": 10,
                         "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
                "status": {"currentReplicas": 10, "desiredReplicas": 10, "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 88}}}]}
            }),
        );
        push(
            "batch/v1/cronjobs",
            json!({
                "metadata": {"name": "nightly", "namespace": ns, "uid": uid(&[&ns, "cj"]), "resourceVersion": next_rv(), "creationTimestamp": ts(200_000)},
                "spec": {"schedule": "0 2 * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "job", "image": format!("registry.example.com/{ns}/nightly:1")}], "restartPolicy": "Never"}}}}},
                "status": {"lastScheduleTime": if ns_i % 3 == 0 { ts(60 * 24 * 3) } else { ts(600) }}
            }),
        );
    }
    snap.events = events;
    let pods = snap.objects.get("v1/pods").map(Vec::len).unwrap_or(0);
    assert_eq!(pods, NAMESPACES * DEPLOYMENTS * PODS_PER_DEPLOYMENT);
    snap
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[allow(clippy::too_many_lines)] // each measurement in turn, printed as it finishes
fn main() {
    // `cargo bench` passes --bench; under `cargo test --all-targets` one quick pass checks
    // that the bench still works.
    let measuring = std::env::args().any(|a| a == "--bench");
    let (many, few) = if measuring { (9, 5) } else { (1, 1) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let snapshot = generate();
    let text = serde_json::to_string(&snapshot).expect("serialize");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench-2000-pods.json");
    std::fs::write(&path, &text).expect("write snapshot");
    println!(
        "snapshot: {} pods, {} objects, {} events, {:.1} MB",
        snapshot.objects["v1/pods"].len(),
        snapshot.object_count(),
        snapshot.events.len(),
        text.len() as f64 / 1e6
    );

    let opts = AnalyzeOptions::default();
    let mut findings = 0;
    let analyze: Vec<Duration> = (0..many)
        .map(|_| {
            let t = Instant::now();
            let a = analyze_snapshot(&snapshot, &opts);
            findings = a.findings.len();
            t.elapsed()
        })
        .collect();

    // The phases of `analyze`.
    let (mut parse, mut build, mut run) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..many {
        let t = Instant::now();
        let state = ClusterState::from_snapshot(&snapshot);
        parse.push(t.elapsed());
        let t = Instant::now();
        let g = graph::build(&state);
        build.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(findings::analyze(&state, &g, &opts));
        run.push(t.elapsed());
    }

    let load: Vec<Duration> = (0..few)
        .map(|_| {
            let t = Instant::now();
            let s = Snapshot::load(&path).expect("load");
            std::hint::black_box(s);
            t.elapsed()
        })
        .collect();

    let client = ClientOptions {
        request_timeout: Duration::from_secs(30),
        ..ClientOptions::default()
    };
    let mut record_only = Vec::new();
    let full: Vec<Duration> = (0..few)
        .map(|_| {
            runtime.block_on(async {
                let source = ClusterSource::replay(
                    snapshot.clone(),
                    None,
                    client.clone(),
                    ReplayOptions::default(),
                )
                .await
                .expect("replay server");
                let t = Instant::now();
                let recorded = triage::kube::record(&source, &Scope::AllNamespaces)
                    .await
                    .expect("record");
                record_only.push(t.elapsed());
                std::hint::black_box(recorded);
                let t = Instant::now();
                let report = scan(&source, &Scope::AllNamespaces).await.expect("scan");
                assert!(report.errors.is_empty(), "{:?}", report.errors);
                assert_eq!(report.findings.len(), findings);
                t.elapsed()
            })
        })
        .collect();

    println!("findings: {findings}");
    println!(
        "analyze (parse objects, graph, findings)  median {}",
        ms(median(analyze))
    );
    println!(
        "  of which: parse into typed objects       median {}",
        ms(median(parse))
    );
    println!(
        "            build the graph                median {}",
        ms(median(build))
    );
    println!(
        "            run the analyzers              median {}",
        ms(median(run))
    );
    println!(
        "scan --replay (server + client + analyze)  median {}",
        ms(median(full))
    );
    println!(
        "  of which: record through the client      median {}",
        ms(median(record_only))
    );
    println!(
        "load snapshot file                         median {}",
        ms(median(load))
    );
}
