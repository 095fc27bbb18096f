//! Limits and schedules kept in objects: replaying recorded incidents, the walk reads the
//! controller that enforces a limit in its own namespace (the ingress controller's log,
//! the cluster autoscaler's status) and the answer names the object that sets it; a
//! CronJob's schedule is read in its time zone against the time the alert expected.

use std::path::{Path, PathBuf};

use crate::common::ask_replay;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/incidents")
        .join(name)
}

/// Ask about a recorded scenario as the engineer pastes its alert: the commands run and
/// the answer.
fn ask(name: &str) -> (Vec<String>, String) {
    let dir = scenario(name);
    let s = triage::eval::incidents::load_file(&dir.join("scenario.toml")).unwrap();
    let ns = s.namespace.clone().unwrap_or_default();
    ask_replay(&dir.join("snapshot.json"), &ns, &s.prompt())
}

#[test]
fn a_body_size_the_ingress_leaves_at_the_default_is_read_in_the_controllers_log() {
    let (commands, answer) = ask("upload-body-size");
    assert!(
        commands
            .iter()
            .any(|c| c.starts_with("kubectl logs ingress-nginx-controller-")
                && c.ends_with("-n ingress-nginx")),
        "{commands:?}"
    );
    let cause = answer.split("**Confidence").next().unwrap_or_default();
    assert!(cause.contains("Ingress media-upload"), "{answer}");
    assert!(cause.contains("proxy-body-size"), "{answer}");
    assert!(cause.contains("413"), "{answer}");
}

#[test]
fn a_cronjob_without_a_time_zone_runs_in_utc_after_the_time_the_alert_expects() {
    let (_, answer) = ask("regulatory-report-utc");
    let cause = answer.split("**Confidence").next().unwrap_or_default();
    assert!(cause.contains("CronJob regulatory-report"), "{answer}");
    assert!(cause.contains("no timeZone"), "{answer}");
    assert!(cause.contains("runs at 06:30 UTC"), "{answer}");
    assert!(cause.contains("after the 05:00 UTC"), "{answer}");
}

#[test]
fn pending_pods_the_cluster_autoscaler_will_not_place_name_its_node_group_at_max_size() {
    let (commands, answer) = ask("autoscaler-max-size");
    assert!(
        commands
            .iter()
            .any(|c| c == "kubectl get configmaps cluster-autoscaler-status -n kube-system"),
        "{commands:?}"
    );
    let cause = answer.split("**Confidence").next().unwrap_or_default();
    assert!(
        cause.contains("node group eks-general-20250603"),
        "{answer}"
    );
    assert!(cause.contains("max size"), "{answer}");
    // Not enough room is ruled out behind the group's limit.
    assert!(!cause.contains("not enough room"), "{answer}");
}
