//! An alert whose labels name an object in another namespace than the kube context's:
//! the target is resolved there (one read in that namespace), not replaced by the worst
//! finding of the namespace that was scanned.

use std::path::Path;

use serde_json::Value;

use crate::common::{git, triage};

#[test]
fn an_alert_naming_a_pod_in_another_namespace_is_diagnosed_there() {
    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/incidents/noisy-feature-backfill/snapshot.json");
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    let alert =
        "[FIRING:1] KubePodNotReady {namespace=\"ledger\", pod=\"ledger-service-ttb8hz897-2fk9h\"}";
    let out = triage(
        &[
            "ask",
            "--json",
            "--replay",
            snapshot.to_str().unwrap(),
            "-n",
            "payments",
            alert,
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let commands: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "tool_call_started")
        .filter_map(|e| e["command"].as_str())
        .collect();
    assert!(
        commands
            .iter()
            .any(|c| c.contains("ledger-service-ttb8hz897-2fk9h") && c.contains("-n ledger")),
        "{commands:?}"
    );
    // The walk reads the target's namespace, not the context's.
    assert!(
        commands.contains(&"kubectl get pods -n ledger"),
        "{commands:?}"
    );
    let answer = events
        .iter()
        .find(|e| e["type"] == "turn_complete")
        .and_then(|e| e["answer"]["text"].as_str())
        .unwrap();
    assert!(!answer.starts_with("No failing workload"), "{answer}");
    assert!(answer.contains("ledger-service"), "{answer}");
}
