//! Dependencies and load that live outside the alerted workload's namespace, replayed
//! from recorded incidents: the walk lists Services or Jobs of every namespace (one read
//! each, shown like any other), and the answer names what it found there.

use std::path::Path;

use crate::common::ask_replay;

/// The commands the walk ran and the answer, for an alert replayed on a scenario.
fn ask(scenario: &str, namespace: &str, alert: &str) -> (Vec<String>, String) {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/incidents")
        .join(scenario)
        .join("snapshot.json");
    ask_replay(&snapshot, namespace, alert)
}

#[test]
fn a_broker_reached_through_a_secret_is_found_in_another_namespace() {
    let alert = "[FIRING:1] IngressHigh5xxRate\nLabels:\n - alertname = IngressHigh5xxRate\n - exported_namespace = media\n \
                 - exported_service = uploader\n - ingress = media-web\n - namespace = ingress-nginx\n\
                 Annotations:\n - summary = More than 5% of requests to media/uploader fail with 5xx\n\
                 Starts at: 2025-07-05 08:19:40 +0000 UTC";
    let (commands, answer) = ask("rabbitmq-disk-alarm", "media", alert);
    assert!(
        commands.iter().any(|c| c == "kubectl get services -A"),
        "{commands:?}"
    );
    // The broker's own pods and namespace are read once found.
    assert!(
        commands.iter().any(|c| c.contains("-n data")),
        "{commands:?}"
    );
    assert!(commands.len() <= 40, "{}", commands.len());
    let head = answer.lines().next().unwrap_or_default();
    assert_eq!(head, "## StatefulSet/data/rabbitmq", "{answer}");
    assert!(answer.contains("connection blocked"), "{answer}");
}

#[test]
fn load_from_a_job_in_another_namespace_is_named_and_left_alone() {
    let alert = "[FIRING:1] KubeHpaMaxedOut\nLabels:\n - alertname = KubeHpaMaxedOut\n \
                 - horizontalpodautoscaler = payment-gateway\n - job = kube-state-metrics\n - namespace = payments\n\
                 Annotations:\n - summary = HPA is running at max replicas\n\
                 Starts at: 2025-07-29 14:23:10 +0000 UTC";
    let (commands, answer) = ask("loadtest-expected", "payments", alert);
    assert!(
        commands.iter().any(|c| c == "kubectl get jobs -A"),
        "{commands:?}"
    );
    // What configures the client: the script it runs names the target's Ingress host.
    assert!(
        commands
            .iter()
            .any(|c| c == "kubectl get configmaps k6-checkout-peak -n loadtest"),
        "{commands:?}"
    );
    assert!(answer.contains("k6-checkout-peak"), "{answer}");
    assert!(answer.contains("api.acme-pay.com"), "{answer}");
    assert!(answer.contains("nothing to change"), "{answer}");
    assert!(!answer.contains("kubectl patch"), "{answer}");
}

#[test]
fn a_cache_known_only_by_cluster_ip_is_found_in_another_namespace_and_not_ruled_out() {
    let alert = "[FIRING:1] ThumbnailLatencyHigh\nLabels:\n - alertname = ThumbnailLatencyHigh\n - job = thumbnailer\n \
                 - namespace = media\n - service = thumbnailer\n\
                 Annotations:\n - summary = Thumbnail rendering is slow\n\
                 Starts at: 2025-07-11 14:58:40 +0000 UTC";
    let (commands, answer) = ask("thumbnail-cache-refused", "media", alert);
    assert!(
        commands.iter().any(|c| c == "kubectl get services -A"),
        "{commands:?}"
    );
    let head = answer.lines().next().unwrap_or_default();
    assert_eq!(head, "## StatefulSet/data/redis-cache", "{answer}");
    assert!(answer.contains("FATAL CONFIG FILE ERROR"), "{answer}");
    // A StatefulSet is not checked by reading a Deployment of that name.
    assert!(!answer.contains("Ruled out"), "{answer}");
}
