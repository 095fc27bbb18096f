//! `triage watch` end to end: a real Alertmanager (Debian's prometheus-alertmanager,
//! installed by scripts/setup) on loopback posts to the watch's receiver, which
//! investigates against a replayed cluster and notifies a loopback webhook receiver only
//! when sure. No timings are asserted: every wait polls with a generous deadline.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::watch_support::{Alertmanager, DEADLINE, Hook, Watch, http, payload};

fn alert(labels: Value, summary: &str, ends_at: Option<&str>) -> Value {
    let mut a = json!({
        "labels": labels,
        "annotations": {"summary": summary},
        "startsAt": "2025-06-01T11:50:00Z",
        "generatorURL": "http://prometheus.example/graph",
    });
    if let Some(e) = ends_at {
        a["endsAt"] = json!(e);
    }
    a
}

fn crash(pod: &str, ends_at: Option<&str>) -> Value {
    alert(
        json!({"alertname": "KubePodCrashLooping", "namespace": "shop",
               "deployment": "checkout-api", "pod": pod, "severity": "critical"}),
        &format!("Pod shop/{pod} is crash looping"),
        ends_at,
    )
}

fn nothing_wrong(ends_at: Option<&str>) -> Value {
    alert(
        json!({"alertname": "RedisHighLatency", "namespace": "shop",
               "statefulset": "redis", "severity": "warning"}),
        "redis p99 latency above 20ms",
        ends_at,
    )
}

fn past() -> String {
    (chrono::Utc::now() - chrono::Duration::seconds(1)).to_rfc3339()
}

fn token_file(dir: &Path) -> PathBuf {
    let p = dir.join("token");
    std::fs::write(&p, "s3cret-watch-token\n").unwrap();
    p
}

fn of(inv: &Value) -> String {
    inv["investigation"].as_str().unwrap().to_string()
}

/// A `[[watch.routes]]` entry for the shop namespace in the user's config.
fn shop_route(cwd: &Path, threshold: f32) {
    let config = cwd.join(".xdg-config/triage/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        format!("[[watch.routes]]\nnamespace = \"shop\"\nthreshold = {threshold}\n"),
    )
    .unwrap();
}

/// The loopback webhook got the notification, linking its session.
fn expect_notification(hook: &Hook, session: &str) {
    let deadline = Instant::now() + DEADLINE;
    while hook.bodies().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the webhook receiver got nothing"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = &hook.bodies()[0];
    assert_eq!(sent["kind"], "triage.notification", "{sent}");
    assert_eq!(sent["session"], session);
    assert_eq!(
        sent["links"]["command"],
        format!("triage sessions show {session}")
    );
    assert_eq!(sent["alerts"][0]["alertname"], "KubePodCrashLooping");
    assert!(
        sent["answer"].as_str().unwrap().contains("checkout-api"),
        "{sent}"
    );
}

/// `triage sessions list` shows what the watch did with each session.
fn expect_sessions(cwd: &Path, notified: &str, quiet: &str) {
    let out = crate::common::triage(&["sessions", "list", "--json"], cwd);
    let sessions: Value = serde_json::from_slice(&out.stdout).unwrap();
    let watch_of = |id: &str| {
        sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["watch"].as_str())
            .map(str::to_string)
    };
    assert!(
        watch_of(notified).unwrap().starts_with("notified 0."),
        "{sessions}"
    );
    assert!(watch_of(quiet).unwrap().starts_with("quiet"), "{sessions}");
}

/// Offline, the default threshold is above anything the planner states: it says so.
fn expect_offline_warning(watch: &Watch) {
    let warned = watch.wait("warning", |e| e["type"] == "warning");
    assert!(
        warned["message"]
            .as_str()
            .unwrap()
            .contains("sends nothing"),
        "{warned}"
    );
}

#[test]
fn alertmanager_groups_repeats_resolves_and_notifies_only_when_sure() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let token = token_file(cwd);
    let hook = Hook::start();
    // The default threshold keeps the offline planner quiet; this team hears about shop
    // alerts from 0.7, the healthy redis included.
    shop_route(cwd, 0.7);
    let watch = Watch::start(
        cwd,
        &[
            "--token-file",
            token.to_str().unwrap(),
            "--notify-webhook",
            &hook.url(),
        ],
        &[],
    );
    expect_offline_warning(&watch);
    let am = Alertmanager::start(cwd, &watch.url(), &token, "['alertname', 'namespace']");

    am.post(&json!([
        crash("checkout-api-7c9d6f5b8-k2x9p", None),
        nothing_wrong(None)
    ]));
    let queued = watch.wait_n("investigation_queued", 2, |e| {
        e["type"] == "investigation_queued"
    });
    let crash_inv = of(queued
        .iter()
        .find(|q| {
            q["request"]
                .as_str()
                .unwrap()
                .starts_with("KubePodCrashLooping")
        })
        .unwrap());
    let quiet_inv = of(queued
        .iter()
        .find(|q| {
            q["request"]
                .as_str()
                .unwrap()
                .starts_with("RedisHighLatency")
        })
        .unwrap());

    // The incident is sent, with its confidence and a link to its session.
    let notified = watch.wait("notified", |e| e["type"] == "notified");
    assert_eq!(of(&notified), crash_inv);
    assert!(
        notified["confidence"].as_f64().unwrap() >= 0.7,
        "{notified}"
    );
    assert_eq!(
        notified["threshold_from"], "route namespace=shop",
        "{notified}"
    );
    let session = notified["session"].as_str().unwrap().to_string();
    expect_notification(&hook, &session);

    // Nothing is wrong with redis: investigated, kept quiet, nothing sent.
    let quiet = watch.wait("quiet", |e| e["type"] == "quiet" && of(e) == quiet_inv);
    assert!(quiet["session"].is_string(), "{quiet}");
    assert!(
        quiet["reason"]
            .as_str()
            .unwrap()
            .contains("below the threshold 0.70 (route namespace=shop)"),
        "{quiet}"
    );

    // Alertmanager repeats the firing group, and a second pod joins it: the same
    // investigation, no second investigation or notification.
    watch.wait("a repeat", |e| {
        e["type"] == "investigation_joined" && of(e) == crash_inv && e["reason"] == "repeat"
    });
    am.post(&json!([crash("checkout-api-7c9d6f5b8-m4n7q", None)]));
    watch.wait("a new alert of the group", |e| {
        e["type"] == "investigation_joined" && of(e) == crash_inv && e["reason"] == "new_alert"
    });

    // Resolved: the investigation closes with a note.
    let ended = past();
    am.post(&json!([
        crash("checkout-api-7c9d6f5b8-k2x9p", Some(&ended)),
        crash("checkout-api-7c9d6f5b8-m4n7q", Some(&ended)),
    ]));
    let closed = watch.wait("investigation_closed", |e| {
        e["type"] == "investigation_closed" && of(e) == crash_inv
    });
    assert!(
        closed["note"]
            .as_str()
            .unwrap()
            .contains("it had been notified"),
        "{closed}"
    );

    let opened = watch.all(|e| e["type"] == "investigation_queued");
    assert_eq!(opened.len(), 2, "one investigation per group: {opened:#?}");
    assert_eq!(
        watch.all(|e| e["type"] == "notified").len(),
        1,
        "repeats do not notify again"
    );
    assert_eq!(hook.bodies().len(), 1);

    // Both sessions are in `triage sessions`, with what the watch did.
    let quiet_session = quiet["session"].as_str().unwrap();
    expect_sessions(cwd, &session, quiet_session);
}

#[test]
fn bad_webhook_calls_are_refused_and_the_watch_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let token = token_file(cwd);
    let watch = Watch::start(
        cwd,
        &["--token-file", token.to_str().unwrap()],
        &[("TRIAGE_WATCH_MAX_BODY_BYTES", "4096")],
    );
    let auth = [("Authorization", "Bearer s3cret-watch-token")];
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        http(&watch.addr, "POST", "/alertmanager", headers, body)
    };
    let good = serde_json::to_vec(&payload("PaymentsDown", 1)).unwrap();
    assert_eq!(post(&[], &good).0, 401);
    assert_eq!(post(&[("Authorization", "Bearer wrong")], &good).0, 401);
    let (status, body) = post(&auth, b"{\"version\": \"4\", \"alerts\": [");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("not JSON"), "{body}");
    let (status, body) = post(
        &auth,
        br#"{"version":"3","groupKey":"g","status":"firing","alerts":[]}"#,
    );
    assert_eq!(status, 400);
    assert!(
        body.contains("version \\\"3\\\"") || body.contains("version"),
        "{body}"
    );
    let mut no_name = payload("X", 1);
    no_name["alerts"][0]["labels"] = json!({"namespace": "shop"});
    let (status, body) = post(&auth, &serde_json::to_vec(&no_name).unwrap());
    assert_eq!(status, 400);
    assert!(
        body.contains("alerts[0]: labels.alertname is missing"),
        "{body}"
    );
    let big = serde_json::to_vec(&payload("Huge", 60)).unwrap();
    assert!(big.len() > 4096);
    assert_eq!(post(&auth, &big).0, 413);

    // Every refusal is an event; a good call after them is investigated.
    let rejected = watch.wait_n("payload_rejected", 6, |e| e["type"] == "payload_rejected");
    let codes: Vec<u64> = rejected
        .iter()
        .map(|e| e["status"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, vec![401, 401, 400, 400, 400, 413]);
    let (status, body) = post(&auth, &good);
    assert_eq!(status, 200, "{body}");
    let done = watch.wait("an outcome", |e| {
        e["type"] == "notified" || e["type"] == "quiet"
    });
    assert!(done["session"].is_string(), "{done}");
    assert_eq!(watch.all(|e| e["type"] == "investigation_queued").len(), 1);
}

#[test]
fn a_burst_of_200_alerts_is_queued_and_investigated_within_the_daily_budget() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let token = token_file(cwd);
    let watch = Watch::start(
        cwd,
        &["--token-file", token.to_str().unwrap()],
        &[
            ("TRIAGE_WATCH_CONCURRENCY", "4"),
            ("TRIAGE_WATCH_DAILY_INVESTIGATIONS", "200"),
        ],
    );
    // Every alert its own group: 200 webhook calls.
    let am = Alertmanager::start(cwd, &watch.url(), &token, "['...']");
    let burst: Vec<Value> = (0..200)
        .map(|i| {
            alert(
                json!({"alertname": format!("Burst{i:03}"), "namespace": "shop",
                       "deployment": "payments", "severity": "warning"}),
                "payments has no available replicas",
                None,
            )
        })
        .collect();
    am.post(&Value::Array(burst));
    let queued = watch.wait_n("investigation_queued", 200, |e| {
        e["type"] == "investigation_queued"
    });
    // The queue said what waited, and never ran more than 4 at once.
    assert!(
        queued.iter().any(|q| q["position"].as_u64().unwrap() > 1),
        "nothing waited"
    );
    assert!(queued.iter().all(|q| q["running"].as_u64().unwrap() <= 4));
    let outcomes = watch.wait_n("outcomes", 200, |e| {
        e["type"] == "notified" || e["type"] == "quiet"
    });
    let mut ids: Vec<String> = outcomes.iter().map(of).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "each investigation ends once");
    // None was skipped: all 200 ran within the day's budget, each with a session.
    assert!(
        outcomes.iter().all(|o| o["session"].is_string()),
        "{:#?}",
        outcomes
            .iter()
            .filter(|o| !o["session"].is_string())
            .collect::<Vec<_>>()
    );
    let names: std::collections::BTreeSet<String> = watch
        .all(|e| e["type"] == "alert_received")
        .iter()
        .map(|e| e["alertname"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), 200, "every alert arrived");
}

#[test]
fn past_the_daily_budget_alerts_are_recorded_not_investigated() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let watch = Watch::start(cwd, &[], &[("TRIAGE_WATCH_DAILY_INVESTIGATIONS", "2")]);
    for i in 0..4 {
        let body = serde_json::to_vec(&payload(&format!("PaymentsDown{i}"), 1)).unwrap();
        assert_eq!(
            http(&watch.addr, "POST", "/alertmanager", &[], &body).0,
            200
        );
    }
    let outcomes = watch.wait_n("outcomes", 4, |e| {
        e["type"] == "notified" || e["type"] == "quiet"
    });
    let skipped: Vec<&Value> = outcomes
        .iter()
        .filter(|o| {
            o["reason"]
                .as_str()
                .is_some_and(|r| r.contains("daily budget is spent"))
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{outcomes:#?}");
    assert!(skipped.iter().all(|o| o["session"].is_null()));
    assert_eq!(watch.all(|e| e["type"] == "investigation_started").len(), 2);
}
